"""Instrument precision from exchangeInfo: rounding toward the order's intent, VT809 before sending."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from adapters.binance.filters import SymbolFilters, format_decimal, parse_exchange_info
from adapters.binance.parsers import SymbolMap
from adapters.venue_errors import InstrumentFilterError, VenueMessageError
from engines.markets.specs import spec_for
from engines.model.enums import OrderType, Side

# spot exchangeInfo (rest-api.md), BTCUSDT's filters as Binance lists them, other fields trimmed
SPOT_INFO = (
    b'{"timezone":"UTC","serverTime":1565246363776,"rateLimits":[],"exchangeFilters":[],"symbols":['
    b'{"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","filters":['
    b'{"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000","tickSize":"0.01000000"},'
    b'{"filterType":"LOT_SIZE","minQty":"0.00001000","maxQty":"9000.00000000","stepSize":"0.00001000"},'
    b'{"filterType":"ICEBERG_PARTS","limit":10},'
    b'{"filterType":"MARKET_LOT_SIZE","minQty":"0.00000000","maxQty":"120.0","stepSize":"0.00000000"},'
    b'{"filterType":"NOTIONAL","minNotional":"5.00000000","applyMinToMarket":true,'
    b'"maxNotional":"9000000.00000000","applyMaxToMarket":false,"avgPriceMins":5},'
    b'{"filterType":"MAX_NUM_ORDERS","maxNumOrders":200}]},'
    b'{"symbol":"ETHBTC","status":"TRADING","filters":[]}]}'
)
# USD-M exchangeInfo: MIN_NOTIONAL says "notional"
USDM_INFO = (
    b'{"symbols":[{"symbol":"BTCUSDT","pair":"BTCUSDT","contractType":"PERPETUAL","filters":['
    b'{"filterType":"PRICE_FILTER","minPrice":"556.80","maxPrice":"4529764","tickSize":"0.10"},'
    b'{"filterType":"LOT_SIZE","minQty":"0.001","maxQty":"1000","stepSize":"0.001"},'
    b'{"filterType":"MARKET_LOT_SIZE","minQty":"0.001","maxQty":"120","stepSize":"0.001"},'
    b'{"filterType":"MIN_NOTIONAL","notional":"100"},'
    b'{"filterType":"PERCENT_PRICE","multiplierUp":"1.0500","multiplierDown":"0.9500"}]}]}'
)


def spot() -> SymbolFilters:
    return parse_exchange_info(SPOT_INFO, SymbolMap("binance-spot", ["BTCUSDT"])).get("BTCUSDT")


def test_exchange_info_gives_the_mapped_symbols_filters() -> None:
    f = spot()
    assert (f.tick_size, f.step_size, f.min_qty, f.min_notional) == (
        D("0.01"),
        D("0.00001"),
        D("0.00001"),
        D(5),
    )
    assert f.notional_applies_to_market
    usdm = parse_exchange_info(USDM_INFO, SymbolMap("binance-usdm", ["BTCUSDT"])).get("BTCUSDT")
    assert (usdm.tick_size, usdm.step_size, usdm.min_notional, usdm.min_price) == (
        D("0.1"),
        D("0.001"),
        D(100),
        D("556.8"),
    )
    # the spec tables of engines/ agree with what the venue publishes
    spec = spec_for("binance-usdm:BTCUSDT")
    assert (spec.tick_size, spec.lot_size, spec.min_notional) == (
        usdm.tick_size,
        usdm.step_size,
        usdm.min_notional,
    )


def test_a_mapped_symbol_missing_from_exchange_info_is_an_error() -> None:
    with pytest.raises(VenueMessageError, match="ETHUSDT"):
        parse_exchange_info(SPOT_INFO, SymbolMap("binance-spot", ["BTCUSDT", "ETHUSDT"]))
    with pytest.raises(VenueMessageError):
        parse_exchange_info(b"<html>", SymbolMap("binance-spot", ["BTCUSDT"]))


def test_rounding_follows_the_orders_intent() -> None:
    f = spot()
    qty, px, _ = f.apply(side=Side.BUY, order_type=OrderType.LIMIT, qty=D("0.0123456"), price=D("43000.129"))
    assert (qty, px) == (D("0.01234"), D("43000.12"))  # qty down, buy price down
    qty, px, trigger = f.apply(
        side=Side.SELL,
        order_type=OrderType.STOP_LIMIT,
        qty=D("0.0123456"),
        price=D("43000.121"),
        trigger_price=D("43000.001"),
    )
    assert (qty, px, trigger) == (D("0.01234"), D("43000.13"), D("43000.01"))  # sell price up
    assert format_decimal(px) == "43000.13"
    assert format_decimal(D("1E-5")) == "0.00001"
    assert format_decimal(D("100.000")) == "100"


@pytest.mark.parametrize(
    ("qty", "price", "match"),
    [
        (D("0.000001"), D(43000), "quantity is zero"),
        (D(10000), D(43000), "above the maximum"),
        (D("0.0001"), D(43000), "notional 4.3"),  # 4.3 USDT < 5
        (D("0.01"), D("0.001"), "price is zero"),
        (D("0.01"), D(2_000_000), "above the maximum"),
    ],
)
def test_an_order_that_cannot_be_valid_is_vt809(qty: D, price: D, match: str) -> None:
    with pytest.raises(InstrumentFilterError, match=match) as caught:
        spot().apply(side=Side.BUY, order_type=OrderType.LIMIT, qty=qty, price=price)
    assert caught.value.code == "VT809"


def test_min_qty_and_market_notional() -> None:
    f = SymbolFilters.from_spec("BTCUSDT", spec_for("binance-usdm:BTCUSDT"))
    with pytest.raises(InstrumentFilterError, match="quantity is zero"):
        f.apply(side=Side.BUY, order_type=OrderType.MARKET, qty=D("0.0009"), price=None)
    coarse = SymbolFilters(symbol="BTCUSDT", step_size=D("0.001"), min_qty=D("0.002"))
    with pytest.raises(InstrumentFilterError, match=r"0\.001 is below the minimum 0\.002"):
        coarse.apply(side=Side.SELL, order_type=OrderType.LIMIT, qty=D("0.0019"), price=D(1))
    # a market order's notional is checked against a reference price when one is given
    with pytest.raises(InstrumentFilterError, match="notional"):
        f.apply(
            side=Side.BUY, order_type=OrderType.MARKET, qty=D("0.001"), price=None, reference_price=D(43000)
        )
    assert f.apply(side=Side.BUY, order_type=OrderType.MARKET, qty=D("0.0031"), price=None)[0] == D("0.003")
