"""Conformance: ccxt's async ``bybit`` against the Bybit emulator. ccxt signs compact JSON (pybit signs
JSON with spaces), rounds to the markets' precision from ``instruments-info`` and reads every answer
through its own parsers; a failure here is a bug of the emulator unless noted as a ccxt quirk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from adapters.bybit.emulator import serve_bybit
from adapters.emulator import EmulatorOptions, RunningEmulator

ccxt = pytest.importorskip("ccxt.async_support")

KEY, SECRET = "vibetrading-test-key", "vibetrading-test-secret"
D = Decimal


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    async with await serve_bybit(EmulatorOptions(walk=False)) as running:
        yield running


@pytest.fixture
async def exchange(emu: RunningEmulator) -> AsyncIterator[Any]:
    ex = ccxt.bybit(
        {
            "apiKey": KEY,
            "secret": SECRET,
            "timeout": 2_000,
            "enableRateLimit": False,
            "options": {
                # what is_unified_enabled() would learn from user/query-api and account/info
                "enableUnifiedAccount": True,
                "enableUnifiedMargin": False,
                "unifiedMarginStatus": 5,
                "fetchMarkets": {"types": ["spot", "linear"]},
            },
        }
    )
    ex.urls["api"] = dict.fromkeys(ex.urls["api"], emu.http_root)
    try:
        yield ex
    finally:
        await ex.close()


async def test_ccxt_load_markets(exchange: Any) -> None:
    markets = await exchange.load_markets()
    spot, linear = markets["BTC/USDT"], markets["BTC/USDT:USDT"]
    assert spot["spot"] and spot["precision"]["price"] == 0.01 and spot["limits"]["cost"]["min"] == 1
    assert linear["swap"] and linear["linear"] and linear["precision"]["amount"] == 0.001
    assert linear["limits"]["cost"]["min"] == 5 and linear["active"]


async def test_ccxt_probes_the_account_when_not_told(emu: RunningEmulator) -> None:
    ex = ccxt.bybit({"apiKey": KEY, "secret": SECRET, "timeout": 2_000, "enableRateLimit": False})
    ex.urls["api"] = dict.fromkeys(ex.urls["api"], emu.http_root)
    try:
        assert await ex.is_unified_enabled() == [False, True]
        assert ex.options["unifiedMarginStatus"] == 5
    finally:
        await ex.close()


@pytest.mark.parametrize(
    ("symbol", "engine", "ask"),
    [("BTC/USDT", "bybit-spot:BTCUSDT", "43000.01"), ("BTC/USDT:USDT", "bybit-linear:BTCUSDT", "43000.1")],
)
async def test_ccxt_order_round_trip(
    emu: RunningEmulator, exchange: Any, symbol: str, engine: str, ask: str
) -> None:
    amount = 0.01
    emu.exchange.quote(engine, D("43000"), D(ask), D(1), D(1))
    await exchange.load_markets()
    tag = "s" if engine.startswith("bybit-spot") else "l"
    created = await exchange.create_order(
        symbol, "limit", "buy", amount, 42000, {"clientOrderId": f"cc-{tag}-1"}
    )
    assert created["id"] and created["clientOrderId"] == f"cc-{tag}-1"
    fetched = await exchange.fetch_order(created["id"], symbol, {"acknowledged": True})
    assert fetched["status"] == "open" and fetched["amount"] == amount and fetched["price"] == 42000
    assert fetched["clientOrderId"] == f"cc-{tag}-1" and fetched["filled"] == 0
    open_one = await exchange.fetch_open_order(created["id"], symbol)
    assert open_one["id"] == created["id"]
    (listed,) = await exchange.fetch_open_orders(symbol)
    assert listed["id"] == created["id"] and listed["side"] == "buy" and listed["type"] == "limit"
    canceled = await exchange.cancel_order(created["id"], symbol)
    assert canceled["id"] == created["id"]
    after = await exchange.fetch_order(created["id"], symbol, {"acknowledged": True})
    assert after["status"] == "canceled"
    assert await exchange.fetch_open_orders(symbol) == []
    with pytest.raises(ccxt.OrderNotFound):
        await exchange.cancel_order(created["id"], symbol)

    taker = await exchange.create_order(
        symbol, "limit", "buy", amount, float(ask), {"clientOrderId": f"cc-{tag}-2"}
    )
    filled = await exchange.fetch_order(taker["id"], symbol, {"acknowledged": True})
    assert filled["status"] == "closed" and filled["filled"] == amount and filled["average"] == float(ask)
    (trade,) = await exchange.fetch_my_trades(symbol)
    assert trade["order"] == taker["id"] and trade["amount"] == amount and trade["price"] == float(ask)
    assert trade["side"] == "buy" and trade["takerOrMaker"] == "taker" and trade["fee"]["cost"] > 0

    with pytest.raises(
        ccxt.InvalidOrder
    ):  # a reused orderLinkId (ccxt files 110072/170141 under InvalidOrder)
        await exchange.create_order(symbol, "limit", "buy", amount, 42000, {"clientOrderId": f"cc-{tag}-2"})

    balance = await exchange.fetch_balance()
    assert balance["USDT"]["total"] < 100_000 and balance["USDT"]["free"] <= balance["USDT"]["total"]
    assert balance["BTC"]["total"] >= 1


async def test_ccxt_market_orders(emu: RunningEmulator, exchange: Any) -> None:
    emu.exchange.quote("bybit-spot:BTCUSDT", D("43000"), D("43000.01"), D(1), D(1))
    emu.exchange.quote("bybit-linear:BTCUSDT", D("43000"), D("43000.1"), D(1), D(1))
    await exchange.load_markets()
    sold = await exchange.create_order("BTC/USDT", "market", "sell", 0.01, None, {"clientOrderId": "m-s"})
    spot = await exchange.fetch_order(sold["id"], "BTC/USDT", {"acknowledged": True})
    assert spot["status"] == "closed" and spot["filled"] == 0.01 and spot["average"] == 43000
    bought = await exchange.create_order(
        "BTC/USDT:USDT", "market", "buy", 0.02, None, {"clientOrderId": "m-l"}
    )
    linear = await exchange.fetch_order(bought["id"], "BTC/USDT:USDT", {"acknowledged": True})
    assert linear["status"] == "closed" and linear["filled"] == 0.02
    (position,) = await exchange.fetch_positions(["BTC/USDT:USDT"])
    assert position["side"] == "long" and position["contracts"] == 0.02
