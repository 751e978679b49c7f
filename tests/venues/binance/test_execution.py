"""The execution client's rules, against the Binance emulator (and, for the stream gate, frames fed
directly): the client id on the wire, unknown outcomes never resent, duplicates queried, fills once
(duplicated by the venue, or missed while the stream was down), -1021, precision and VT809."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal as D
from typing import Any

import msgspec
import pytest

from adapters.binance.config import BinanceConfig
from adapters.binance.emulator import BinanceLimits, serve_binance
from adapters.binance.execution import BinanceExecutionClient, UserStreamKind
from adapters.binance.rest import Market
from adapters.emulator import EmulatorOptions, RunningEmulator, parse_faults
from adapters.emulator.options import TEST_API_KEY, TEST_API_SECRET
from adapters.ports import ExecutionEvent
from adapters.transport import Backoff
from adapters.venue_errors import InstrumentFilterError
from engines.model.commands import QueryOrder, SubmitOrder
from engines.model.enums import OrderType, ReportedStatus, Side
from engines.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderStatusReport,
    OrderStatusUnknown,
)

BID, ASK = D("43000.0"), D("43000.1")
FAST = Backoff(base_s=0.01, cap_s=0.05, attempts=3)


class Rig:
    """An emulator, a started client on it, and the client's stream read into ``events``."""

    def __init__(self, emulator: RunningEmulator, client: BinanceExecutionClient, symbol: str) -> None:
        self.emulator = emulator
        self.client = client
        self.symbol = symbol
        self.events: list[ExecutionEvent] = []
        self._reader = asyncio.create_task(self._read())
        self._n = 0

    async def _read(self) -> None:
        async for event in self.client.events():
            self.events.append(event)

    def order(
        self, side: Side = Side.BUY, price: D | None = D("30000"), qty: D = D("0.01"), cid: str | None = None
    ) -> SubmitOrder:
        self._n += 1
        return SubmitOrder(
            ts_event=0,
            ts_init=0,
            strategy="t",
            venue="binance",
            client_order_id=cid or f"t-{self._n:08d}",
            instrument=self.symbol,
            side=side,
            order_type=OrderType.LIMIT if price is not None else OrderType.MARKET,
            quantity=qty,
            price=price,
        )

    def query(self, cmd: SubmitOrder) -> QueryOrder:
        return QueryOrder(
            ts_event=0,
            ts_init=0,
            strategy="t",
            venue="binance",
            client_order_id=cmd.client_order_id,
            instrument=cmd.instrument,
            side=cmd.side,
            order_type=cmd.order_type,
            quantity=cmd.quantity,
        )

    def state(self) -> dict[str, Any]:
        account: dict[str, Any] = self.emulator.exchange.state()["accounts"][TEST_API_KEY]
        return account

    def creates(self, cid: str) -> int:
        return sum(1 for c in self.state()["creates"] if c["client_id"] == cid)

    def fills(self) -> list[OrderFilled]:
        return [e for e in self.events if isinstance(e, OrderFilled)]

    async def until(self, check: Callable[[], bool], timeout_s: float = 2.0) -> None:
        async with asyncio.timeout(timeout_s):
            while not check():
                await asyncio.sleep(0.01)


RigFactory = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def rig() -> AsyncIterator[RigFactory]:
    made: list[Rig] = []

    async def make(
        market: Market = "spot",
        faults: str = "",
        user_stream: UserStreamKind = "ws-api",
        limits: BinanceLimits | None = None,
        **client_kw: Any,
    ) -> Rig:
        symbol = f"binance-{market}:BTCUSDT"
        options = EmulatorOptions(
            walk=False, symbols=(symbol,), faults=parse_faults(faults), seed=1, hang_s=2.0
        )
        emulator = await serve_binance(options, limits=limits)
        emulator.exchange.quote(symbol, BID, ASK, D(1), D(1))
        config = BinanceConfig.for_emulator(emulator.http_root, emulator.ws_root)
        client_kw.setdefault("timeout_s", 0.3)
        client = BinanceExecutionClient(
            config,
            TEST_API_KEY,
            TEST_API_SECRET,
            market,
            [symbol],
            connect_timeout_s=1.0,
            user_stream=user_stream,
            backoff=FAST,
            **client_kw,
        )
        try:
            await client.start()
        except BaseException:
            await emulator.close()
            raise
        made.append(Rig(emulator, client, symbol))
        return made[-1]

    yield make
    for r in made:
        await r.client.close()
        await r._reader
        await r.emulator.close()


@pytest.mark.parametrize("market", ["spot", "usdm"])
async def test_the_engines_client_id_is_sent_as_new_client_order_id(rig: RigFactory, market: Market) -> None:
    r = await rig(market)
    cmd = r.order(cid="strat-a-00000042")
    (accepted,) = await r.client.submit(cmd)
    assert isinstance(accepted, OrderAccepted) and accepted.client_order_id == cmd.client_order_id
    (order,) = r.state()["orders"]
    assert order["client_id"] == "strat-a-00000042" and str(order["order_id"]) == accepted.venue_order_id


@pytest.mark.parametrize(
    ("faults", "made"),
    [("timeout=1", 0), ("5xx=1", 0), ("reset=1", 0), ("accept-then-timeout=1", 1)],
)
async def test_an_unknown_outcome_is_reported_and_never_resent(
    rig: RigFactory, faults: str, made: int
) -> None:
    r = await rig("spot", faults)
    cmd = r.order()
    answers = await r.client.submit(cmd)
    assert [type(a) for a in answers] == [OrderStatusUnknown]
    await asyncio.sleep(0.1)
    assert r.creates(cmd.client_order_id) == made  # at most the one create; the client did not retry
    report = await r.client.query(r.query(cmd))  # queries are not faulted: the caller resolves it
    assert report.status is (ReportedStatus.ACCEPTED if made else ReportedStatus.NOT_FOUND)
    assert r.creates(cmd.client_order_id) == made
    assert r.events[: len(answers)] == list(answers)


async def test_minus_1007_is_unknown_too(rig: RigFactory) -> None:
    r = await rig("usdm", "5xx=1")  # the emulator alternates HTTP 503 and HTTP 408 -1007
    first, second = r.order(), r.order()
    (a,) = await r.client.submit(first)
    (b,) = await r.client.submit(second)
    assert isinstance(a, OrderStatusUnknown) and "503" in a.reason
    assert isinstance(b, OrderStatusUnknown) and "-1007" in b.reason
    assert r.state()["creates"] == []


@pytest.mark.parametrize("market", ["spot", "usdm"])
async def test_a_duplicate_client_id_is_queried_not_failed(rig: RigFactory, market: Market) -> None:
    r = await rig(market)
    cmd = r.order()
    (accepted,) = await r.client.submit(cmd)
    assert isinstance(accepted, OrderAccepted)
    (answer,) = await r.client.submit(cmd)  # a resend after a restart, say
    assert isinstance(answer, OrderStatusReport)
    assert (answer.client_order_id, answer.status, answer.venue_order_id) == (
        cmd.client_order_id,
        ReportedStatus.ACCEPTED,
        accepted.venue_order_id,
    )
    assert r.creates(cmd.client_order_id) == 1
    assert len(r.state()["orders"]) == 1


@pytest.mark.parametrize("market", ["spot", "usdm"])
async def test_a_fill_the_venue_sends_twice_is_published_once(rig: RigFactory, market: Market) -> None:
    r = await rig(market, "dup-fill=1")
    cmd = r.order(price=D(42000))
    await r.client.submit(cmd)
    r.emulator.exchange.quote(r.symbol, D("41999.9"), D(42000), D(1), D(1))  # the ask comes down to it
    await r.until(lambda: bool(r.fills()))
    await asyncio.sleep(0.2)  # the duplicate has had time to arrive
    assert r.emulator.exchange.state()["faults"]["injected"]["dup-fill"] >= 1
    (fill,) = r.fills()
    assert (fill.client_order_id, fill.cum_qty) == (cmd.client_order_id, cmd.quantity)


@pytest.mark.parametrize("market", ["spot", "usdm"])
async def test_fills_missed_while_the_stream_was_down_are_reconciled_once(
    rig: RigFactory, market: Market
) -> None:
    # every user-stream message closes the connection instead: the stream delivers nothing at all
    r = await rig(market, "drop-ws=1", user_stream="listen-key")
    cmd = r.order(price=D(42000))
    await r.client.submit(cmd)
    r.emulator.exchange.quote(r.symbol, D("41999.9"), D(42000), D(1), D(1))
    await r.until(lambda: bool(r.fills()))
    assert r.client.user_stream is not None and r.client.user_stream.reconnects >= 1
    second = r.order(price=D(41000))
    await r.client.submit(second)
    r.emulator.exchange.quote(r.symbol, D("40999.9"), D(41000), D(1), D(1))
    await r.until(lambda: len(r.fills()) == 2)
    await asyncio.sleep(0.2)  # more reconnects and reconciliations come and find nothing new
    trade_ids = [f.trade_id for f in r.fills()]
    venue_ids = [str(f["trade_id"]) for f in r.state()["fills"]]
    assert trade_ids == venue_ids  # each exactly once, in the venue's order
    assert [f.client_order_id for f in r.fills()] == [cmd.client_order_id, second.client_order_id]
    assert r.client.recovered_fills == 2 and r.client.reconciles >= 2


async def test_minus_1021_resyncs_and_queries_never_resends(rig: RigFactory) -> None:
    r = await rig("spot")
    r.client.rest.clock.offset_ms = -60_000  # our clock a minute behind: outside the receive window
    cmd = r.order()
    (answer,) = await r.client.submit(cmd)
    assert isinstance(answer, OrderStatusUnknown) and "-1021" in answer.reason
    assert abs(r.client.rest.clock.offset_ms) < 1000  # measured again
    assert r.creates(cmd.client_order_id) == 0
    assert (await r.client.query(r.query(cmd))).status is ReportedStatus.NOT_FOUND


async def test_prices_and_quantities_are_rounded_and_vt809_is_never_sent(rig: RigFactory) -> None:
    r = await rig("spot")
    cmd = r.order(price=D("30000.129"), qty=D("0.0123456"))
    (accepted,) = await r.client.submit(cmd)
    assert isinstance(accepted, OrderAccepted)
    (order,) = r.state()["orders"]
    assert (D(order["price"]), D(order["quantity"])) == (D("30000.12"), D("0.01234"))
    tiny = r.order(price=D(30000), qty=D("0.0001"))  # 3 USDT: below the 5 USDT minimum notional
    sent = r.client.rest.sent
    with pytest.raises(InstrumentFilterError) as caught:
        await r.client.submit(tiny)
    assert caught.value.code == "VT809"
    assert r.creates(tiny.client_order_id) == 0 and r.client.rest.sent == sent  # no request at all


async def test_a_stale_report_never_moves_an_order_backwards() -> None:
    client = BinanceExecutionClient(
        BinanceConfig.for_emulator("http://127.0.0.1:9", "ws://127.0.0.1:9"),
        "k",
        "s",
        "spot",
        ["binance-spot:ETHBTC"],
        user_stream="none",
    )

    def report(x: str, status: str, cum: str, trade: int = -1, last: str = "0") -> bytes:
        return msgspec.json.encode(
            {
                "e": "executionReport",
                "E": 1,
                "s": "ETHBTC",
                "c": "cid-1",
                "S": "BUY",
                "o": "LIMIT",
                "f": "GTC",
                "q": "1",
                "p": "0.1",
                "x": x,
                "X": status,
                "i": 7,
                "l": last,
                "z": cum,
                "L": "0.1",
                "T": 2,
                "t": trade,
            }
        )

    frames = [
        report("NEW", "NEW", "0"),
        report("TRADE", "PARTIALLY_FILLED", "0.4", 11, "0.4"),
        report("TRADE", "PARTIALLY_FILLED", "0.4", 11, "0.4"),  # the same trade again
        report("NEW", "NEW", "0"),  # a stale ack after the fill
        report("CANCELED", "CANCELED", "0.4"),
        report("CANCELED", "CANCELED", "0.4"),
        report("NEW", "NEW", "0"),  # and after the end
    ]
    for frame in frames:
        client._on_user_frame(frame)
    await client.close()
    stream = [e async for e in client.events()]
    assert [type(e) for e in stream] == [OrderAccepted, OrderFilled, OrderCanceled]


@pytest.mark.parametrize("market", ["spot", "usdm"])
async def test_the_listen_key_is_kept_alive_and_an_expired_one_renewed(
    rig: RigFactory, market: Market
) -> None:
    limits = BinanceLimits(listen_key_ttl_s=0.3, listen_key_sweep_s=0.05)
    kept = await rig(market, user_stream="listen-key", limits=limits, keepalive_s=0.1)
    lapsed = await rig(market, user_stream="listen-key", limits=limits, keepalive_s=60.0)
    await asyncio.sleep(0.8)  # more than two key lifetimes
    assert kept.client.user_stream is not None and lapsed.client.user_stream is not None
    assert kept.client.user_stream.reconnects == 0  # PUT every 0.1 s: the key never expired
    # listenKeyExpired: a new key, a new connection, a reconciliation
    assert lapsed.client.user_stream.requested_cuts >= 1 and lapsed.client.user_stream.reconnects >= 1
    assert lapsed.client.reconciles >= 1
    # and the renewed stream works: a fill arrives on it
    cmd = lapsed.order(price=D(42000))
    await lapsed.client.submit(cmd)
    lapsed.emulator.exchange.quote(lapsed.symbol, D("41999.9"), D(42000), D(1), D(1))
    await lapsed.until(lambda: bool(lapsed.fills()))
