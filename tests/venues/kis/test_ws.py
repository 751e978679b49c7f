"""The KIS WebSocket against the emulator: encrypted execution notices, PINGPONG, one session per
app key, the registration cap, and a reconnect followed by reconciliation (each missed fill once)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from adapters.emulator import RunningEmulator
from adapters.emulator.faults import parse_faults
from adapters.emulator.options import TEST_API_KEY, TEST_API_SECRET, EmulatorOptions
from adapters.kis.config import KisConfig
from adapters.kis.emulator import serve_kis, venue_of
from adapters.kis.emulator_rest import KisLimits
from adapters.kis.errors import KisRegistrationCapError, KisSessionInUseError
from adapters.kis.execution import KisExecutionClient
from adapters.kis.ws import MAX_REGISTRATIONS, KisWebSocket
from adapters.ports import ExecutionEvent
from adapters.transport import Backoff
from engines.model.commands import SubmitOrder
from engines.model.enums import OrderType, Side
from engines.model.events import OrderAccepted, OrderCanceled, OrderFilled

SYMBOL = "krx:005930"


async def _emulator(limits: KisLimits | None = None, faults: str = "") -> RunningEmulator:
    emulator = await serve_kis(
        EmulatorOptions(walk=False, symbols=(SYMBOL,), faults=parse_faults(faults)), limits=limits
    )
    emulator.exchange.quote(SYMBOL, D(70_000), D(70_100), D(1000), D(1000))
    return emulator


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    emulator = await _emulator(KisLimits(ping_interval_s=0.05))
    yield emulator
    await emulator.close()


def _client(emulator: RunningEmulator, cache: Path) -> KisExecutionClient:
    return KisExecutionClient(
        KisConfig.for_emulator(emulator.http_root, emulator.ws_root),
        TEST_API_KEY,
        TEST_API_SECRET,
        symbols=[SYMBOL],
        cache_dir=cache,
        timeout_s=1.0,
        clock_ns=emulator.exchange.clock.now_ns,
        reconnect=Backoff(base_s=0.05, cap_s=0.2, attempts=20),
    )


def _order(cid: str, order_type: OrderType = OrderType.MARKET, price: D | None = None) -> SubmitOrder:
    return SubmitOrder(
        ts_event=0, ts_init=0, strategy="t", venue="kis", client_order_id=cid, instrument=SYMBOL,
        side=Side.BUY, order_type=order_type, quantity=D(10), price=price,
    )  # fmt: skip


async def _until(
    events: AsyncIterator[ExecutionEvent], wanted: type, timeout: float = 3.0
) -> list[ExecutionEvent]:
    seen: list[ExecutionEvent] = []
    async with asyncio.timeout(timeout):
        async for event in events:
            seen.append(event)
            if isinstance(event, wanted):
                return seen
    return seen


async def test_notices_tell_acceptance_fills_and_cancels(emu: RunningEmulator, tmp_path: Path) -> None:
    client = _client(emu, tmp_path)
    events = aiter(client.events())
    try:
        (accepted,) = await client.submit(_order("m1"))
        assert isinstance(accepted, OrderAccepted)
        seen = await _until(events, OrderFilled)  # no fills_since call: the notice brought it
        fill = seen[-1]
        assert isinstance(fill, OrderFilled) and fill.cum_qty == 10 and fill.last_px == 70_100
        assert client.stream is not None and "H0STCNI0" in client.stream.keys  # the ack's AES key
        await client.submit(_order("l1", OrderType.LIMIT, D(50_000)))
        record = emu.exchange.find(TEST_API_KEY, client_id="0000000002")
        assert record is not None
        await emu.exchange.cancel(TEST_API_KEY, record)
        seen = await _until(events, OrderCanceled)  # canceled at the broker, not by us: told by notice
        assert isinstance(seen[-1], OrderCanceled) and seen[-1].client_order_id == "l1"
    finally:
        await client.close()


async def test_pingpong_is_echoed(emu: RunningEmulator, tmp_path: Path) -> None:
    client = _client(emu, tmp_path)
    try:
        await client.connect()
        await asyncio.sleep(0.3)
        assert client.stream is not None and client.stream.pongs >= 2
        assert venue_of(emu._runner.app).ws_sessions[TEST_API_KEY].pongs >= 2
    finally:
        await client.close()


async def test_one_session_per_app_key(emu: RunningEmulator, tmp_path: Path) -> None:
    first, second = _client(emu, tmp_path), _client(emu, tmp_path)
    try:
        await first.connect()
        with pytest.raises(KisSessionInUseError) as raised:
            await second.connect()
        assert raised.value.code == "VT983"
    finally:
        await first.close()
        await second.close()


async def test_the_registration_cap(tmp_path: Path) -> None:
    emulator = await _emulator(KisLimits(ws_registrations=2))
    client = _client(emulator, tmp_path)
    try:
        await client.connect()  # the notices: registration 1
        stream = client.stream
        assert stream is not None
        await stream.subscribe("H0STCNT0", "005930")
        with pytest.raises(KisRegistrationCapError):  # the emulator's cap, answered OPSP0008
            await stream.subscribe("H0STASP0", "005930")
    finally:
        await client.close()
        await emulator.close()


async def test_the_client_refuses_registration_42_before_sending() -> None:
    sent: list[str] = []

    async def approval() -> str:
        sent.append("asked")
        return "k"

    stream = KisWebSocket("ws://127.0.0.1:9/", approval, lambda tr, n, p: None)
    stream.subscriptions.extend(("H0STCNT0", f"{i:06d}") for i in range(MAX_REGISTRATIONS))
    with pytest.raises(KisRegistrationCapError) as raised:
        await stream.subscribe("H0STCNT0", "999999")
    assert raised.value.code == "VT982" and sent == []


async def test_a_dropped_stream_reconnects_and_reconciles_each_missed_fill_once(tmp_path: Path) -> None:
    emulator = await _emulator(faults="drop-ws=1.0")  # every notice closes the connection instead
    client = _client(emulator, tmp_path)
    events = aiter(client.events())
    try:
        await client.submit(_order("m1"))
        seen = await _until(events, OrderFilled, timeout=5.0)
        assert client.reconciles >= 1
        await asyncio.sleep(0.3)  # more reconnects and reconciles: still one fill
        await client.fills_since(None)
        await client.close()
        rest = [e async for e in events]
        fills = [e for e in seen + rest if isinstance(e, OrderFilled)]
        assert len(fills) == 1 and fills[0].cum_qty == 10
    finally:
        await client.close()
        await emulator.close()


async def test_a_repeated_fill_notice_is_one_fill(tmp_path: Path) -> None:
    emulator = await _emulator(faults="dup-fill=1.0")  # every fill notice sent twice
    client = _client(emulator, tmp_path)
    events = aiter(client.events())
    try:
        await client.submit(_order("m1"))
        seen = await _until(events, OrderFilled)
        await asyncio.sleep(0.3)  # the second notice's read
        await client.close()
        fills = [e for e in seen + [e async for e in events] if isinstance(e, OrderFilled)]
        assert [f.cum_qty for f in fills] == [10]
        assert emulator.exchange.faults.injected["dup-fill"] >= 1
    finally:
        await client.close()
        await emulator.close()
