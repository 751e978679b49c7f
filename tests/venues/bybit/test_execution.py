"""BybitExecutionClient: against the Bybit emulator (faults included) and, for answers the emulator
does not give, a loopback server answering exactly what the test says."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal as D
from typing import Any

import aiohttp
import msgspec
import pytest

from adapters.bybit.config import BybitConfig, Category
from adapters.bybit.emulator import serve_bybit
from adapters.bybit.emulator_rest import exec_id
from adapters.bybit.execution import BybitExecutionClient
from adapters.bybit.schemas import Frame
from adapters.emulator import EmulatorOptions, RunningEmulator, parse_faults
from adapters.emulator.options import TEST_API_KEY, TEST_API_SECRET
from adapters.ports import ExecutionEvent
from adapters.transport import Backoff, resolve_unknown
from adapters.venue_errors import InstrumentFilterError
from engines.model.commands import CancelOrder, QueryOrder, SubmitOrder
from engines.model.enums import OrderType, ReportedStatus, Side
from engines.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderStatusReport,
    OrderStatusUnknown,
)
from tests.venues.bybit.fake_server import KEY, SECRET, FakeBybit, code, ok

SPOT = "bybit-spot:BTCUSDT"
LINEAR = "bybit-linear:BTCUSDT"
BID, ASK = D("43000.0"), D("43000.1")


def submit(
    cid: str,
    *,
    symbol: str = SPOT,
    order_type: OrderType = OrderType.LIMIT,
    qty: D = D("0.01"),
    price: D | None = D("30000"),
) -> SubmitOrder:
    return SubmitOrder(
        ts_event=0,
        ts_init=0,
        strategy="t",
        venue="bybit",
        client_order_id=cid,
        instrument=symbol,
        side=Side.BUY,
        order_type=order_type,
        quantity=qty,
        price=price if order_type is OrderType.LIMIT else None,
    )


def query_of(cmd: SubmitOrder) -> QueryOrder:
    return QueryOrder(
        ts_event=0,
        ts_init=0,
        strategy="t",
        venue="bybit",
        client_order_id=cmd.client_order_id,
        instrument=cmd.instrument,
        side=cmd.side,
        order_type=cmd.order_type,
        quantity=cmd.quantity,
    )


@dataclass
class Rig:
    emulator: RunningEmulator
    client: BybitExecutionClient
    symbol: str

    def quote(self, ask_size: D = D(1)) -> None:
        self.emulator.exchange.quote(self.symbol, BID, ASK, D(1), ask_size)

    async def state(self) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.emulator.http_root + "/_emulator/state") as resp,
        ):
            state: dict[str, Any] = await resp.json()
        return state

    async def account(self) -> dict[str, Any]:
        account: dict[str, Any] = (await self.state())["accounts"][TEST_API_KEY]
        return account

    async def drain(self) -> list[ExecutionEvent]:
        await self.client.close()
        return [e async for e in self.client.events()]


RigFactory = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def rig() -> AsyncIterator[RigFactory]:
    made: list[Rig] = []

    async def make(
        faults: str = "", *, category: Category = "spot", seed: int = 1, timeout_s: float = 0.5
    ) -> Rig:
        symbol = SPOT if category == "spot" else LINEAR
        options = EmulatorOptions(walk=False, faults=parse_faults(faults), seed=seed, hang_s=2.0)
        emulator = await serve_bybit(options)
        client = BybitExecutionClient(
            BybitConfig.for_emulator(emulator.http_root, emulator.ws_root),
            TEST_API_KEY,
            TEST_API_SECRET,
            category=category,
            symbols=[symbol],
            timeout_s=timeout_s,
            reconnect=Backoff(base_s=0.01, cap_s=0.05, attempts=20),
        )
        made.append(Rig(emulator, client, symbol))
        made[-1].quote()
        await client.connect()
        return made[-1]

    yield make
    for r in made:
        await r.client.close()
        await r.emulator.close()


async def until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


# ── ids, precision, filters ──


async def test_order_link_id_is_the_engine_client_id(rig: RigFactory) -> None:
    r = await rig()
    cmd = submit("strat-00000042")
    (accepted,) = await r.client.submit(cmd)
    assert isinstance(accepted, OrderAccepted)
    orders = (await r.account())["orders"]
    assert [o["client_id"] for o in orders] == ["strat-00000042"]


async def test_price_and_quantity_are_rounded_to_tick_and_step(rig: RigFactory) -> None:
    r = await rig(category="linear")
    await r.client.submit(submit("c1", symbol=LINEAR, qty=D("0.0129"), price=D("30000.19")))
    (order,) = (await r.account())["orders"]
    assert (D(order["quantity"]), D(order["price"])) == (D("0.012"), D("30000.1"))


async def test_below_the_minimum_is_vt809_and_never_sent(rig: RigFactory) -> None:
    r = await rig(category="linear")
    with pytest.raises(InstrumentFilterError) as info:
        await r.client.submit(submit("c1", symbol=LINEAR, qty=D("0.0001")))
    assert info.value.code == "VT809"
    with pytest.raises(InstrumentFilterError, match="order value"):
        await r.client.submit(submit("c2", symbol=LINEAR, qty=D("0.001"), price=D("1000")))
    assert (await r.account())["creates"] == []


# ── unknown outcomes: never a second create ──


@pytest.mark.parametrize("fault", ["timeout", "5xx", "reset", "accept-then-timeout"])
async def test_unknown_outcome_is_reported_and_never_resent(rig: RigFactory, fault: str) -> None:
    r = await rig(f"{fault}=1", timeout_s=0.3)
    answers = []
    cmds = [submit(f"c{i}") for i in range(3 if fault == "5xx" else 1)]  # 5xx: 10016, 502, 503 in turn
    for cmd in cmds:
        answers.extend(await r.client.submit(cmd))
    assert all(isinstance(a, OrderStatusUnknown) for a in answers) and len(answers) == len(cmds)
    creates = (await r.account())["creates"]
    placed = [c["client_id"] for c in creates]
    assert len(placed) == len(set(placed))  # at most one create per id reached the venue
    if fault == "accept-then-timeout":
        assert placed == ["c0"]
    else:
        assert placed == []
    # the caller resolves it by query, which the faults do not touch
    report = await resolve_unknown(r.client, query_of(cmds[0]), backoff=Backoff(base_s=0.01, attempts=3))
    expected = ReportedStatus.ACCEPTED if fault == "accept-then-timeout" else ReportedStatus.NOT_FOUND
    assert report.status is expected


async def test_duplicate_link_id_is_queried_not_failed(rig: RigFactory) -> None:
    r = await rig()
    cmd = submit("c1")
    await r.client.submit(cmd)
    (again,) = await r.client.submit(cmd)
    assert isinstance(again, OrderStatusReport)
    assert (again.status, again.client_order_id) == (ReportedStatus.ACCEPTED, "c1")
    assert [c["outcome"] for c in (await r.account())["creates"]] == ["accepted"]


# ── fills: each once ──


async def test_dup_fill_fault_gives_each_fill_once(rig: RigFactory) -> None:
    r = await rig("dup-fill=1")
    cmd = submit("m1", order_type=OrderType.MARKET)
    await r.client.submit(cmd)
    await until(lambda: r.client._seen_execs != set())
    await asyncio.sleep(0.1)  # the duplicate arrives right behind the first
    stream = await r.drain()
    fills = [e for e in stream if isinstance(e, OrderFilled)]
    assert len(fills) == 1 and fills[0].cum_qty == cmd.quantity
    assert r.emulator.exchange.faults.injected["dup-fill"] >= 1  # the venue did send it twice


async def test_missed_fills_after_a_dropped_stream_are_delivered_once(rig: RigFactory) -> None:
    r = await rig("drop-ws=1")  # every push closes the private stream instead of arriving
    cmds = [submit(f"m{i}", order_type=OrderType.MARKET) for i in range(3)]
    for cmd in cmds:
        await r.client.submit(cmd)
    trades = [t["trade_id"] for t in (await r.account())["fills"]]
    assert len(trades) == 3

    def delivered() -> set[str]:
        return r.client._seen_execs

    await until(lambda: len(delivered()) == 3)
    assert r.client.reconciles >= 1
    stream = await r.drain()
    fills = [e for e in stream if isinstance(e, OrderFilled)]
    assert sorted(f.trade_id for f in fills) == sorted(exec_id(t) for t in trades)  # each exactly once
    assert r.emulator.exchange.faults.injected["drop-ws"] >= 1


async def test_fills_since_pages_oldest_first(rig: RigFactory) -> None:
    r = await rig()
    for i in range(3):
        await r.client.submit(submit(f"m{i}", order_type=OrderType.MARKET))
    every = await r.client.fills_since(None)
    assert [f.client_order_id for f in every] == ["m0", "m1", "m2"]
    assert await r.client.fills_since(every[-1].trade_id) == []
    assert [f.client_order_id for f in await r.client.fills_since(every[0].trade_id)] == ["m1", "m2"]


# ── the stream's state machine, on frames as Bybit sends them ──


def frame(topic: str, rows: list[dict[str, Any]]) -> tuple[Frame, bytes]:
    raw = json.dumps({"topic": topic, "id": "x", "creationTime": 1, "data": rows}).encode()
    return msgspec.json.decode(raw, type=Frame), raw


def order_row(status: str, cum: str, leaves: str, updated: int) -> dict[str, Any]:
    return {
        "category": "linear",
        "symbol": "BTCUSDT",
        "orderId": "o-1",
        "orderLinkId": "c-1",
        "side": "Buy",
        "orderType": "Limit",
        "price": "43000",
        "qty": "0.02",
        "timeInForce": "GTC",
        "orderStatus": status,
        "cancelType": "UNKNOWN",
        "rejectReason": "EC_NoError",
        "avgPrice": "43000",
        "leavesQty": leaves,
        "cumExecQty": cum,
        "createdTime": "1700000000000",
        "updatedTime": str(updated),
    }


def exec_row(exec_id: str, qty: str, leaves: str) -> dict[str, Any]:
    return {
        "category": "linear",
        "symbol": "BTCUSDT",
        "execId": exec_id,
        "orderId": "o-1",
        "orderLinkId": "c-1",
        "side": "Buy",
        "execPrice": "43000",
        "execQty": qty,
        "execFee": "0.1",
        "execTime": "1700000000100",
        "execType": "Trade",
        "isMaker": False,
        "orderQty": "0.02",
        "leavesQty": leaves,
        "feeCurrency": "USDT",
    }


def offline_client() -> BybitExecutionClient:
    return BybitExecutionClient(
        BybitConfig(rest_url="http://127.0.0.1:9"), KEY, SECRET, category="linear", symbols=[LINEAR]
    )


async def test_two_filled_messages_and_a_repeated_execution_fold_once() -> None:
    client = offline_client()
    feed = client._on_frame
    feed(*frame("order", [order_row("New", "0", "0.02", 1700000000000)]))
    feed(*frame("execution", [exec_row("e1", "0.01", "0.01")]))
    feed(*frame("execution", [exec_row("e1", "0.01", "0.01")]))  # told twice
    feed(*frame("execution", [exec_row("e2", "0.01", "0")]))
    # a cancel raced the fill: Bybit sends Filled twice; a stale New arrives late
    feed(*frame("order", [order_row("Filled", "0.02", "0", 1700000000200)]))
    feed(*frame("order", [order_row("Filled", "0.02", "0", 1700000000201)]))
    feed(*frame("order", [order_row("New", "0", "0.02", 1700000000000)]))
    await client.close()
    stream = [e async for e in client.events()]
    assert [type(e).__name__ for e in stream] == ["OrderAccepted", "OrderFilled", "OrderFilled"]
    fills = [e for e in stream if isinstance(e, OrderFilled)]
    assert [(f.trade_id, f.cum_qty) for f in fills] == [("e1", D("0.01")), ("e2", D("0.02"))]


async def test_a_fill_before_the_ack_is_told_after_an_accept() -> None:
    client = offline_client()
    client._on_frame(*frame("execution", [exec_row("e1", "0.02", "0")]))
    client._on_frame(*frame("order", [order_row("New", "0", "0.02", 1700000000000)]))
    client._on_frame(*frame("order", [order_row("Cancelled", "0.02", "0", 1700000000300)]))
    await client.close()
    stream = [e async for e in client.events()]
    assert [type(e).__name__ for e in stream] == ["OrderAccepted", "OrderFilled", "OrderCanceled"]
    assert isinstance(stream[0], OrderAccepted) and stream[0].venue_order_id == "o-1"


async def test_a_late_ack_never_moves_an_ended_order_back() -> None:
    client = offline_client()
    client._on_frame(*frame("order", [order_row("Cancelled", "0", "0", 1700000000300)]))
    client._on_frame(*frame("order", [order_row("New", "0", "0.02", 1700000000000)]))  # stale
    client._on_frame(*frame("order", [order_row("Cancelled", "0", "0", 1700000000301)]))  # repeated
    await client.close()
    stream = [e async for e in client.events()]
    assert [type(e).__name__ for e in stream] == ["OrderCanceled"]


# ── answers the emulator does not give: a loopback server ──


@pytest.fixture
async def fake() -> AsyncIterator[FakeBybit]:
    server = await FakeBybit().start()
    try:
        yield server
    finally:
        await server.close()


def rest_only(fake: FakeBybit) -> BybitExecutionClient:
    return BybitExecutionClient(
        BybitConfig(rest_url=fake.url),
        KEY,
        SECRET,
        category="spot",
        symbols=[SPOT],
        timeout_s=0.3,
        private_stream=False,
    )


INFO = ok(
    {
        "category": "spot",
        "list": [
            {
                "symbol": "BTCUSDT",
                "lotSizeFilter": {"basePrecision": "0.000001", "minOrderQty": "0.000048", "minOrderAmt": "1"},
                "priceFilter": {"tickSize": "0.01"},
            }
        ],
    }
)
ROW = {
    "symbol": "BTCUSDT",
    "orderId": "o-9",
    "orderLinkId": "c1",
    "side": "Buy",
    "orderType": "Limit",
    "price": "30000",
    "qty": "0.01",
    "orderStatus": "New",
    "cumExecQty": "0",
    "createdTime": "1",
    "updatedTime": "2",
}


@pytest.mark.parametrize(
    ("ret_code", "kind"),
    [(10016, OrderStatusUnknown), (10007, OrderStatusUnknown), (10006, OrderStatusUnknown)],
)
async def test_create_answers_that_leave_the_outcome_unknown(
    fake: FakeBybit, ret_code: int, kind: type[object]
) -> None:
    fake.answers["/v5/market/instruments-info"] = [INFO]
    fake.answers["/v5/order/create"] = [code(ret_code, "x")]
    client = rest_only(fake)
    try:
        (answer,) = await client.submit(submit("c1"))
        assert isinstance(answer, kind)
        assert fake.count("/v5/order/create") == 1
    finally:
        await client.close()


async def test_10014_duplicate_request_is_answered_by_the_query(fake: FakeBybit) -> None:
    fake.answers["/v5/market/instruments-info"] = [INFO]
    fake.answers["/v5/order/create"] = [code(10014, "invalid duplicate request")]
    fake.answers["/v5/order/realtime"] = [ok({"category": "spot", "list": [ROW]})]
    client = rest_only(fake)
    try:
        (answer,) = await client.submit(submit("c1"))
        assert isinstance(answer, OrderStatusReport) and answer.status is ReportedStatus.ACCEPTED
        assert answer.venue_order_id == "o-9"
        assert fake.count("/v5/order/create") == 1
    finally:
        await client.close()


async def test_10002_resyncs_the_clock_and_the_order_is_queried_not_resent(fake: FakeBybit) -> None:
    fake.answers["/v5/market/instruments-info"] = [INFO]
    fake.answers["/v5/order/create"] = [code(10002, "timestamp outside the recv window")]
    fake.answers["/v5/order/realtime"] = [ok({"category": "spot", "list": []})]
    fake.answers["/v5/order/history"] = [ok({"category": "spot", "list": []})]
    client = rest_only(fake)
    try:
        await client.connect()
        syncs = client.rest.clock_syncs
        cmd = submit("c1")
        (answer,) = await client.submit(cmd)
        assert isinstance(answer, OrderStatusUnknown)
        assert client.rest.clock_syncs == syncs + 1
        report = await resolve_unknown(client, query_of(cmd), backoff=Backoff(base_s=0.01, attempts=2))
        assert report.status is ReportedStatus.NOT_FOUND
        assert fake.count("/v5/order/create") == 1
    finally:
        await client.close()


async def test_a_business_refusal_is_rejected_by_ret_code(fake: FakeBybit) -> None:
    fake.answers["/v5/market/instruments-info"] = [INFO]
    fake.answers["/v5/order/create"] = [code(170131, "Insufficient balance.")]
    client = rest_only(fake)
    try:
        (answer,) = await client.submit(submit("c1"))
        assert type(answer).__name__ == "OrderRejected"
        assert getattr(answer, "code", "") == "170131"
    finally:
        await client.close()


async def test_cancel_of_an_order_gone_is_refused_and_a_timeout_unknown(fake: FakeBybit) -> None:
    fake.answers["/v5/market/instruments-info"] = [INFO]
    fake.answers["/v5/order/cancel"] = [code(170213, "Order does not exist."), "hang"]
    client = rest_only(fake)
    cancel = CancelOrder(
        ts_event=0, ts_init=0, strategy="t", venue="bybit", client_order_id="c1", instrument=SPOT
    )
    try:
        (refused,) = await client.cancel(cancel)
        assert type(refused).__name__ == "OrderCancelRejected"
        (unknown,) = await client.cancel(cancel)
        assert isinstance(unknown, OrderStatusUnknown)
        assert not isinstance(unknown, OrderCanceled)
    finally:
        await client.close()
