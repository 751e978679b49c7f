"""Conformance: ccxt's async ``binance`` against the Binance emulator, spot and linear (USD-M).

ccxt signs its own way (urlencoded query or body), derives precision and limits from
``exchangeInfo`` and reads every answer through its own parsers: a failure here is an emulator bug
unless noted as a ccxt quirk. It is pointed at loopback by rewriting ``urls['api']``; the options
keep it off the sapi endpoints the emulator does not serve.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from adapters.binance.emulator import serve_binance
from adapters.emulator import TEST_KEYS, EmulatorOptions, RunningEmulator

ccxt = pytest.importorskip("ccxt.async_support")

KEY, SECRET = next(iter(TEST_KEYS.items()))
D = Decimal


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    async with await serve_binance(EmulatorOptions(walk=False)) as running:
        running.exchange.quote("binance-spot:BTCUSDT", D("43000.00"), D("43000.01"), D(5), D(5))
        running.exchange.quote("binance-usdm:BTCUSDT", D("43000.0"), D("43000.1"), D(5), D(5))
        yield running


@pytest.fixture
async def exchange(emu: RunningEmulator) -> AsyncIterator[Any]:
    ex = ccxt.binance(
        {
            "apiKey": KEY,
            "secret": SECRET,
            "timeout": 2_000,
            "enableRateLimit": False,
            "options": {
                "fetchMarkets": {"types": ["spot", "linear"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
            },
        }
    )
    root = emu.http_root
    api = ex.urls["api"]
    for name, url in list(api.items()):
        if isinstance(url, str):
            path = url.split("binance.com", 1)[1]  # keep the venue's path, replace the host
            api[name] = f"{root}{path}"
    try:
        yield ex
    finally:
        await ex.close()


async def test_load_markets(exchange: Any) -> None:
    markets = await exchange.load_markets()
    spot, linear = markets["BTC/USDT"], markets["BTC/USDT:USDT"]
    assert spot["spot"] and spot["active"] and spot["precision"]["price"] == 0.01
    assert spot["precision"]["amount"] == 0.00001 and spot["limits"]["cost"]["min"] == 5
    assert linear["linear"] and linear["swap"] and linear["precision"]["amount"] == 0.001
    assert linear["limits"]["cost"]["min"] == 100
    assert "ETH/USDT" in markets and "ETH/USDT:USDT" in markets


async def test_spot_orders(exchange: Any) -> None:
    await exchange.load_markets()
    placed = await exchange.create_order(
        "BTC/USDT", "limit", "buy", 0.001, 42000, {"clientOrderId": "ccxt-spot-1"}
    )
    assert placed["status"] == "open" and placed["clientOrderId"] == "ccxt-spot-1"
    fetched = await exchange.fetch_order(placed["id"], "BTC/USDT")
    assert fetched["id"] == placed["id"] and fetched["price"] == 42000 and fetched["amount"] == 0.001
    opened = await exchange.fetch_open_orders("BTC/USDT")
    assert [o["id"] for o in opened] == [placed["id"]]
    canceled = await exchange.cancel_order(placed["id"], "BTC/USDT")
    assert canceled["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        await exchange.cancel_order(placed["id"], "BTC/USDT")
    market = await exchange.create_order(
        "BTC/USDT", "market", "sell", 0.002, None, {"clientOrderId": "ccxt-spot-2"}
    )
    assert market["status"] == "closed" and market["filled"] == 0.002 and market["average"] == 43000
    assert len(market["trades"]) == 1
    trades = await exchange.fetch_my_trades("BTC/USDT")
    assert len(trades) == 1 and trades[0]["order"] == market["id"] and trades[0]["side"] == "sell"
    assert trades[0]["price"] == 43000 and trades[0]["amount"] == 0.002
    balance = await exchange.fetch_balance()
    assert balance["BTC"]["free"] == pytest.approx(0.998)
    with pytest.raises(ccxt.InsufficientFunds):
        await exchange.create_order("BTC/USDT", "limit", "buy", 10, 42000, {"clientOrderId": "ccxt-spot-3"})


async def test_linear_orders(exchange: Any) -> None:
    await exchange.load_markets()
    symbol = "BTC/USDT:USDT"
    placed = await exchange.create_order(symbol, "limit", "buy", 0.01, 42000, {"clientOrderId": "ccxt-lin-1"})
    assert placed["status"] == "open" and placed["clientOrderId"] == "ccxt-lin-1"
    fetched = await exchange.fetch_order(placed["id"], symbol)
    assert fetched["status"] == "open" and fetched["amount"] == 0.01
    assert [o["id"] for o in await exchange.fetch_open_orders(symbol)] == [placed["id"]]
    canceled = await exchange.cancel_order(placed["id"], symbol)
    assert canceled["status"] == "canceled"
    market = await exchange.create_order(
        symbol, "market", "buy", 0.004, None, {"clientOrderId": "ccxt-lin-2"}
    )
    assert market["status"] == "closed" and market["filled"] == 0.004 and market["average"] == 43000.1
    trades = await exchange.fetch_my_trades(symbol)
    assert len(trades) == 1 and trades[0]["order"] == market["id"] and trades[0]["amount"] == 0.004
    balance = await exchange.fetch_balance({"type": "future"})
    assert balance["USDT"]["total"] > 0
    # ccxt quirk: it picks its USD-M error table by the URL's host (fapi.binance.com), so on
    # loopback -4164 falls through to the generic ExchangeError; the code is what counts.
    with pytest.raises(ccxt.ExchangeError, match="-4164"):
        await exchange.create_order(symbol, "limit", "buy", 0.001, 42000, {"clientOrderId": "ccxt-lin-3"})
