"""Conformance: Bybit's own Python client, pybit (requests + websocket-client, synchronous), against
the Bybit emulator. pybit signs its JSON with spaces and sends ``X-BAPI-SIGN-TYPE: 2``; a failure
here is a bug of the emulator unless noted as a quirk of pybit.

pybit blocks, so each call runs in a thread (``asyncio.to_thread``) while the emulator serves on the
test's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from adapters.bybit.emulator import serve_bybit
from adapters.emulator import EmulatorOptions, RunningEmulator

pybit_http = pytest.importorskip("pybit.unified_trading")
pybit_exceptions = pytest.importorskip("pybit.exceptions")
pybit_stream = pytest.importorskip("pybit._websocket_stream")

KEY, SECRET = "vibetrading-test-key", "vibetrading-test-secret"
D = Decimal
T = TypeVar("T")


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    async with await serve_bybit(EmulatorOptions(walk=False)) as running:
        yield running


def session(emu: RunningEmulator) -> Any:
    http = pybit_http.HTTP(api_key=KEY, api_secret=SECRET, timeout=2, max_retries=1, retry_delay=0)
    http.endpoint = emu.http_root
    return http


async def call(fn: Callable[..., T], **kwargs: Any) -> T:
    return await asyncio.wait_for(asyncio.to_thread(fn, **kwargs), 3)


@pytest.mark.parametrize(("category", "ask"), [("spot", "43000.01"), ("linear", "43000.1")])
async def test_pybit_rest_round_trip(emu: RunningEmulator, category: str, ask: str) -> None:
    symbol, bid, qty = f"bybit-{category}:BTCUSDT", "43000", "0.01"
    http = session(emu)
    emu.exchange.quote(symbol, D(bid), D(ask), D(1), D(1))
    placed = await call(
        http.place_order,
        category=category,
        symbol="BTCUSDT",
        side="Buy",
        orderType="Limit",
        qty=qty,
        price="42000",
        orderLinkId=f"pybit-{category}",
    )
    assert placed["retCode"] == 0
    oid = placed["result"]["orderId"]
    open_orders = await call(http.get_open_orders, category=category, symbol="BTCUSDT")
    (row,) = open_orders["result"]["list"]
    assert row["orderId"] == oid and row["orderStatus"] == "New" and row["qty"] == qty
    canceled = await call(http.cancel_order, category=category, symbol="BTCUSDT", orderId=oid)
    assert canceled["result"]["orderId"] == oid
    # an order that ended cannot be cancelled: pybit raises on the retCode
    with pytest.raises(pybit_exceptions.InvalidRequestError) as refused:
        await call(http.cancel_order, category=category, symbol="BTCUSDT", orderId=oid)
    assert refused.value.status_code == (170213 if category == "spot" else 110001)
    taker = await call(
        http.place_order,
        category=category,
        symbol="BTCUSDT",
        side="Buy",
        orderType="Limit",
        qty=qty,
        price=ask,
        timeInForce="IOC",
        orderLinkId=f"pybit-{category}-2",
    )
    executions = await call(http.get_executions, category=category, symbol="BTCUSDT", limit=10)
    (fill,) = executions["result"]["list"]
    assert (
        fill["orderId"] == taker["result"]["orderId"] and fill["execQty"] == qty and fill["execPrice"] == ask
    )
    wallet = await call(http.get_wallet_balance, accountType="UNIFIED", coin="USDT")
    (usdt,) = wallet["result"]["list"][0]["coin"]
    assert D(usdt["walletBalance"]) < D(100_000)


async def test_pybit_rejects_surface_as_bybit_codes(emu: RunningEmulator) -> None:
    http = session(emu)
    emu.exchange.quote("bybit-linear:BTCUSDT", D("43000"), D("43000.1"))
    order = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "price": "42000"}
    await call(http.place_order, qty="0.01", orderLinkId="same", **order)
    with pytest.raises(pybit_exceptions.InvalidRequestError) as dup:
        await call(http.place_order, qty="0.01", orderLinkId="same", **order)
    assert dup.value.status_code == 110072
    wrong = pybit_http.HTTP(api_key=KEY, api_secret="not-the-secret", timeout=2, max_retries=1)
    wrong.endpoint = emu.http_root
    with pytest.raises(pybit_exceptions.InvalidRequestError) as sign:
        await call(wrong.get_open_orders, category="linear", symbol="BTCUSDT")
    assert sign.value.status_code == 10004


async def test_pybit_private_websocket_sees_the_fill(
    emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pybit_http, "PRIVATE_WSS", emu.ws_root + "/v5/private")
    # pybit quirk: subscribe() sends first and records its req_id after, so an ack that beats that
    # (easy on loopback) raises KeyError in pybit's thread and pybit drops the connection
    manager = pybit_stream._V5WebSocketManager
    original = manager._process_subscription_message

    def tolerant(self: Any, message: dict[str, Any]) -> None:
        if message.get("req_id") not in self.subscriptions:
            return
        original(self, message)

    monkeypatch.setattr(manager, "_process_subscription_message", tolerant)
    frames: queue.Queue[dict[str, Any]] = queue.Queue()

    def open_stream() -> Any:
        # pybit quirk: with retries=1 it raises even after connecting (it checks the count left, not
        # the connection), so two attempts is the smallest bound that works
        ws = pybit_http.WebSocket(
            channel_type="private",
            testnet=False,
            api_key=KEY,
            api_secret=SECRET,
            retries=2,
            restart_on_error=False,
            private_auth_expire=5,
        )
        ws.order_stream(frames.put)
        ws.execution_stream(frames.put)
        return ws

    ws = await asyncio.wait_for(asyncio.to_thread(open_stream), 3)
    try:
        http = session(emu)
        emu.exchange.quote("bybit-linear:BTCUSDT", D("43000"), D("43000.1"), D(1), D(1))
        # pybit subscribes from its own thread and tells nobody when the server has agreed: small
        # probe fills show when both topics are live (the execution topic was subscribed last)
        live = False
        for attempt in range(20):
            await call(
                http.place_order,
                category="linear",
                symbol="BTCUSDT",
                side="Buy",
                orderType="Market",
                qty="0.001",
                orderLinkId=f"probe-{attempt}",
            )
            with contextlib.suppress(queue.Empty):
                while not live:
                    live = (await asyncio.to_thread(frames.get, True, 0.1))["topic"] == "execution"
            if live:
                break
        assert live
        placed = await call(
            http.place_order,
            category="linear",
            symbol="BTCUSDT",
            side="Sell",
            orderType="Market",
            qty="0.01",
            orderLinkId="pybit-ws",
        )
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and not any(
            f["topic"] == "order" and f["data"][0]["orderStatus"] == "Filled" for f in seen
        ):
            try:
                frame = await asyncio.to_thread(frames.get, True, 0.2)
            except queue.Empty:
                continue
            if frame["data"][0]["orderLinkId"] == "pybit-ws":
                seen.append(frame)
        topics = [(f["topic"], f["data"][0].get("orderStatus", "")) for f in seen]
        assert topics == [("order", "New"), ("execution", ""), ("order", "Filled")]
        execution = seen[1]["data"][0]
        assert execution["orderId"] == placed["result"]["orderId"] and execution["execQty"] == "0.01"
        assert seen[2]["data"][0]["cumExecQty"] == "0.01" and seen[2]["data"][0]["avgPrice"] == "43000"
    finally:
        await asyncio.wait_for(asyncio.to_thread(ws.exit), 3)
