"""The execution client's own rules: the KRX validator before anything leaves, unknown outcomes never
resent, finding an order without its number (and refusing to guess), the notice stream (PING echoed,
fills once, reconnect then reconcile)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from adapters.emulator.faults import parse_faults
from adapters.emulator.options import TEST_API_KEY, TEST_API_SECRET, EmulatorOptions
from adapters.emulator.server import RunningEmulator
from adapters.kiwoom.config import KiwoomConfig
from adapters.kiwoom.emulator import KiwoomLimits, serve_kiwoom, venue_of
from adapters.kiwoom.errors import KiwoomAmbiguousOrderError
from adapters.kiwoom.execution import KiwoomExecutionClient, trde_tp
from adapters.transport import Backoff
from engines.model.commands import QueryOrder, SubmitOrder
from engines.model.enums import OrderType, ReportedStatus, Side, TimeInForce
from engines.model.events import OrderAccepted, OrderFilled, OrderRejected, OrderStatusUnknown

SYMBOL = "krx:005930"
BID, ASK = D(70000), D(70100)


async def _emulator(**kw: object) -> RunningEmulator:
    faults = kw.pop("faults", "")
    options = EmulatorOptions(walk=False, symbols=(SYMBOL,), faults=parse_faults(str(faults)), hang_s=1.0)
    emu = await serve_kiwoom(options, limits=KiwoomLimits(per_window=200), **kw)  # type: ignore[arg-type]
    emu.exchange.quote(SYMBOL, BID, ASK, D(100), D(100))
    return emu


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    emu = await _emulator()
    try:
        yield emu
    finally:
        await emu.close()


def _client(emu: RunningEmulator, tmp_path: Path, **kw: object) -> KiwoomExecutionClient:
    cfg = KiwoomConfig.for_emulator(emu.http_root, emu.ws_root, rate_per_s=100.0, rate_burst=100)
    return KiwoomExecutionClient(
        cfg, TEST_API_KEY, TEST_API_SECRET, token_dir=tmp_path, timeout_s=kw.pop("timeout_s", 2.0),  # type: ignore[arg-type]
        clock_ns=emu.exchange.clock.now_ns, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def _order(cid: str, price: D | None = D(60000), *, qty: D = D(1), ts: int = 0, **kw: object) -> SubmitOrder:
    return SubmitOrder(
        ts_event=ts, ts_init=ts, strategy="t", venue="kiwoom", client_order_id=cid, instrument=SYMBOL,
        side=Side.BUY, order_type=OrderType.LIMIT if price is not None else OrderType.MARKET,
        quantity=qty, price=price, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def _query(cmd: SubmitOrder) -> QueryOrder:
    return QueryOrder(
        ts_event=cmd.ts_event, ts_init=cmd.ts_init, strategy="t", venue="kiwoom",
        client_order_id=cmd.client_order_id, instrument=SYMBOL, side=cmd.side, order_type=cmd.order_type,
        quantity=cmd.quantity,
    )  # fmt: skip


async def _until(predicate: object, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.02)


async def test_krx_validator_refuses_before_anything_is_sent(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    client = _client(emulator, tmp_path)
    off_tick = await client.submit(_order("c1", D(70001)))
    fractional = await client.submit(_order("c2", qty=D("1.5")))
    await client.close()
    assert isinstance(off_tick[0], OrderRejected) and off_tick[0].code == "VT142"
    assert isinstance(fractional[0], OrderRejected) and fractional[0].code == "VT141"
    assert "kt10000" not in venue_of(emulator).requests
    assert trde_tp(OrderType.STOP, TimeInForce.DAY) is None  # no such Kiwoom order: VT993, unsent
    assert (trde_tp(OrderType.MARKET, TimeInForce.FOK), trde_tp(OrderType.LIMIT, TimeInForce.IOC)) == (
        "23",
        "10",
    )


async def test_unknown_outcome_is_never_resent_and_found_by_its_terms(tmp_path: Path) -> None:
    emu = await _emulator(faults="accept-then-timeout=1")
    try:
        client = _client(emu, tmp_path, timeout_s=0.5)
        cmd = _order("c1", ts=emu.exchange.clock.now_ns())
        answers = await client.submit(cmd)
        assert isinstance(answers[0], OrderStatusUnknown)
        assert venue_of(emu).requests.count("kt10000") == 1
        report = await client.query(_query(cmd))
        assert report.status is ReportedStatus.ACCEPTED and report.venue_order_id
        # the match is now the map: a second submit under the id is a duplicate, never a new order
        again = await client.submit(cmd)
        assert venue_of(emu).requests.count("kt10000") == 1
        assert again[0].client_order_id == "c1"
        await client.close()
    finally:
        await emu.close()


async def test_after_a_restart_the_map_finds_the_order_and_a_tie_is_refused(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    now = emulator.exchange.clock.now_ns()
    first = _client(emulator, tmp_path, private_stream=False)
    a, b = _order("a", ts=now), _order("b", ts=now)  # the same terms
    accepted = (await first.submit(a))[0]
    await first.submit(b)
    await first.close()
    assert isinstance(accepted, OrderAccepted)

    restarted = _client(
        emulator, tmp_path, private_stream=False, order_numbers={"a": accepted.venue_order_id}
    )
    report = await restarted.query(_query(a))
    assert report.status is ReportedStatus.ACCEPTED and report.venue_order_id == accepted.venue_order_id
    # "b" is not in the map, but only one unmapped order has its terms: found
    assert (await restarted.query(_query(b))).status is ReportedStatus.ACCEPTED
    await restarted.close()

    blind = _client(emulator, tmp_path, private_stream=False)  # no map at all: two candidates for "a"
    with pytest.raises(KiwoomAmbiguousOrderError) as caught:
        await blind.query(_query(a))
    assert caught.value.code == "VT992"
    other = _order("z", D(55000), qty=D(7), ts=now)  # no order of 7 shares: not found, may be sent
    assert (await blind.query(_query(other))).status is ReportedStatus.NOT_FOUND
    await blind.close()


async def test_pings_are_echoed_and_duplicate_notices_fold_once(tmp_path: Path) -> None:
    emu = await _emulator(faults="dup-fill=1", ping_interval_s=0.05)
    try:
        client = _client(emu, tmp_path)
        await client.connect()
        cmd = _order("c1", None, qty=D(2))
        await client.submit(cmd)
        await asyncio.sleep(0.4)  # several pings: unanswered twice would close the connection
        assert client.stream.pings >= 3 and client.stream.connects == 1
        events = await _drain(client)
        fills = [e for e in events if isinstance(e, OrderFilled)]
        assert [f.cum_qty for f in fills] == [D(2)]
    finally:
        await emu.close()


async def test_a_fill_missed_while_disconnected_is_delivered_once(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    client = _client(emulator, tmp_path, reconnect=Backoff(base_s=0.2, cap_s=0.2, attempts=5))
    await client.connect()
    cmd = _order("c1", D(60000), qty=D(3))
    assert isinstance((await client.submit(cmd))[0], OrderAccepted)
    await client.stream.drop()
    emulator.exchange.quote(SYMBOL, D(59900), D(60000), D(10), D(10))  # fills while the stream is down
    await _until(lambda: client.reconciles >= 1)
    events = await _drain(client)
    fills = [e for e in events if isinstance(e, OrderFilled)]
    assert len(fills) == 1 and fills[0].cum_qty == D(3) and fills[0].client_order_id == "c1"


async def _drain(client: KiwoomExecutionClient) -> list[object]:
    await client.close()
    async with asyncio.timeout(3):
        return [e async for e in client.events()]


async def test_a_restart_reads_the_lists_once_for_all_its_queries(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    """Kiwoom's per-api-id limit makes each reading of the two lists take a second per page: a
    recovery that read them again for every order it queried did not finish."""
    now = emulator.exchange.clock.now_ns()
    first = _client(emulator, tmp_path, private_stream=False)
    cmds = [_order(f"o{i}", D(60000 - 100 * i), ts=now) for i in range(5)]
    numbers = {}
    for cmd in cmds:
        answer = (await first.submit(cmd))[0]
        assert isinstance(answer, OrderAccepted)
        numbers[cmd.client_order_id] = answer.venue_order_id
    await first.close()

    restarted = _client(emulator, tmp_path, private_stream=False, order_numbers=numbers)
    for cmd in cmds:
        assert (await restarted.query(_query(cmd))).status is ReportedStatus.ACCEPTED
    assert restarted.listings == 1
    # a submit drops the reading: the next query sees the lists anew
    fresh = _order("o9", D(55000), ts=emulator.exchange.clock.now_ns())
    assert isinstance((await restarted.submit(fresh))[0], OrderAccepted)
    assert (await restarted.query(_query(fresh))).status is ReportedStatus.ACCEPTED
    assert restarted.listings == 2
    await restarted.fills_since(None)  # promises every execution so far: always a reading of its own
    assert restarted.listings == 3
    await restarted.close()


async def test_a_query_never_answers_from_a_reading_older_than_its_create(tmp_path: Path) -> None:
    """An outcome-unknown create is resolved only by a reading begun after its answer was due: an
    older reading would not list it, and a not_found from it would let the caller send it again."""
    emu = await _emulator(faults="accept-then-timeout=1")
    try:
        client = _client(emu, tmp_path, timeout_s=0.3, private_stream=False)
        await client.fills_since(None)  # a reading from before the create
        cmd = _order("c1", ts=emu.exchange.clock.now_ns())
        assert isinstance((await client.submit(cmd))[0], OrderStatusUnknown)
        assert (await client.query(_query(cmd))).status is ReportedStatus.ACCEPTED
        assert client.listings == 2
        await client.close()
    finally:
        await emu.close()
