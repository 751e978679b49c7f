"""Conformance: python-binance (``AsyncClient``, ``BinanceSocketManager``) against the Binance emulator.

python-binance is an independent client: whatever it cannot read or sign the way it reads and signs
Binance is an emulator bug. It is pointed at loopback by subclassing (the URL class attributes) and by
setting the socket manager's stream roots; ``create()`` pings and reads the server time first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from binance import AsyncClient, BinanceSocketManager
from binance.exceptions import BinanceAPIException

from adapters.binance.emulator import serve_binance
from adapters.emulator import TEST_KEYS, EmulatorOptions, RunningEmulator

KEY, SECRET = next(iter(TEST_KEYS.items()))
D = Decimal


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    async with await serve_binance(EmulatorOptions(walk=False)) as running:
        running.exchange.quote("binance-spot:BTCUSDT", D("43000.00"), D("43000.01"), D(5), D(5))
        running.exchange.quote("binance-usdm:BTCUSDT", D("43000.0"), D("43000.1"), D(5), D(5))
        yield running


@pytest.fixture
async def client(emu: RunningEmulator) -> AsyncIterator[AsyncClient]:
    class Loopback(AsyncClient):  # type: ignore[misc]
        API_URL = f"{emu.http_root}/api"
        FUTURES_URL = f"{emu.http_root}/fapi"
        WS_API_URL = f"{emu.ws_root}/ws-api/v3"

    client = await asyncio.wait_for(Loopback.create(KEY, SECRET), 5)
    # A quirk of python-binance: closing a socket waits for the read loop's recv() to time out
    # (TIMEOUT, 10 s); a short one keeps teardown fast and changes nothing else here.
    client.ws_api.TIMEOUT = 1.0
    try:
        yield client
    finally:
        await client.close_connection()


def _sockets(client: AsyncClient, emu: RunningEmulator) -> BinanceSocketManager:
    manager = BinanceSocketManager(client)
    manager.STREAM_URL = f"{emu.ws_root}/"
    manager.FSTREAM_URL = f"{emu.ws_root}/"
    return manager


def _short(stream: Any) -> Any:
    stream.TIMEOUT = 0.3  # see the fixture: teardown waits this long
    return stream


async def _next(stream: Any, kind: str, key: str = "e") -> dict[str, Any]:
    for _ in range(10):
        msg = await asyncio.wait_for(stream.recv(), 2)
        if msg.get(key) == kind:
            return msg  # type: ignore[no-any-return]
    raise AssertionError(f"no {kind} event")


async def test_spot_orders_trades_account(client: AsyncClient) -> None:
    placed = await client.create_order(
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.001",
        price="42000.00",
        newClientOrderId="pb-spot-1",
    )
    assert placed["status"] == "NEW" and placed["clientOrderId"] == "pb-spot-1"
    got = await client.get_order(symbol="BTCUSDT", origClientOrderId="pb-spot-1")
    assert got["orderId"] == placed["orderId"] and got["status"] == "NEW"
    assert [o["orderId"] for o in await client.get_open_orders(symbol="BTCUSDT")] == [placed["orderId"]]
    canceled = await client.cancel_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert canceled["status"] == "CANCELED" and canceled["origClientOrderId"] == "pb-spot-1"
    with pytest.raises(BinanceAPIException) as refused:
        await client.cancel_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert refused.value.code == -2011
    market = await client.create_order(symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.002")
    assert market["status"] == "FILLED" and len(market["fills"]) == 1
    trades = await client.get_my_trades(symbol="BTCUSDT")
    assert [t["id"] for t in trades] == [market["fills"][0]["tradeId"]]
    account = await client.get_account()
    btc = next(b for b in account["balances"] if b["asset"] == "BTC")
    assert D(btc["free"]) == D("0.998")
    with pytest.raises(BinanceAPIException) as broke:
        await client.create_order(
            symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="10", price="42000.00"
        )
    assert broke.value.code == -2010 and "insufficient balance" in broke.value.message


async def test_futures_orders_trades_balance(client: AsyncClient) -> None:
    placed = await client.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010", price="42000.0"
    )
    assert placed["status"] == "NEW"
    got = await client.futures_get_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert got["clientOrderId"] == placed["clientOrderId"]
    assert [o["orderId"] for o in await client.futures_get_open_orders(symbol="BTCUSDT")] == [
        placed["orderId"]
    ]
    canceled = await client.futures_cancel_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert canceled["status"] == "CANCELED"
    filled = await client.futures_create_order(
        symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.004", newOrderRespType="RESULT"
    )
    assert filled["status"] == "FILLED" and D(filled["avgPrice"]) == D("43000.0")
    trades = await client.futures_account_trades(symbol="BTCUSDT")
    assert len(trades) == 1 and trades[0]["side"] == "SELL" and D(trades[0]["qty"]) == D("0.004")
    balances = await client.futures_account_balance()
    assert [b["asset"] for b in balances] == ["USDT"]
    account = await client.futures_account()
    assert any(D(p["positionAmt"]) == D("-0.004") for p in account["positions"])
    with pytest.raises(BinanceAPIException) as duplicate:
        await client.futures_create_order(
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.010",
            price="42000.0",
            newClientOrderId="pb-f-dup",
        )
        await client.futures_create_order(
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.010",
            price="42000.0",
            newClientOrderId="pb-f-dup",
        )
    assert duplicate.value.code == -4116


async def test_spot_user_socket_sees_the_fill(client: AsyncClient, emu: RunningEmulator) -> None:
    sockets = _sockets(client, emu)
    async with _short(sockets.user_socket()) as stream:
        placed = await client.create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001")
        new = await _next(stream, "executionReport")
        assert new["x"] == "NEW" and new["i"] == placed["orderId"]
        fill = await _next(stream, "executionReport")
        assert (fill["x"], fill["X"], fill["z"]) == ("TRADE", "FILLED", "0.00100000")


async def test_futures_user_socket_sees_the_fill(client: AsyncClient, emu: RunningEmulator) -> None:
    sockets = _sockets(client, emu)
    async with _short(sockets.futures_user_socket()) as stream:
        await client.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.003")
        for _ in range(4):
            update = await _next(stream, "ORDER_TRADE_UPDATE")
            if update["o"]["x"] == "TRADE":
                break
        assert update["o"]["X"] == "FILLED" and update["o"]["z"] == "0.003"


async def test_market_sockets(client: AsyncClient, emu: RunningEmulator) -> None:
    sockets = _sockets(client, emu)
    async with _short(sockets.symbol_book_ticker_socket("BTCUSDT")) as stream:
        await asyncio.sleep(0.05)
        emu.exchange.quote("binance-spot:BTCUSDT", D("43001.00"), D("43001.01"), D(2), D(3))
        ticker = await asyncio.wait_for(stream.recv(), 2)
        assert ticker["s"] == "BTCUSDT" and ticker["b"] == "43001.00000000"
