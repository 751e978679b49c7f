"""Instrument precision from instruments-info: rounding to tick and step, VT809 before sending."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from adapters.bybit.filters import InstrumentFilter, filters_from_info, wire_decimal
from adapters.bybit.parsers import decode_result
from adapters.bybit.schemas import InstrumentsInfo
from adapters.venue_errors import InstrumentFilterError, VenueMessageError
from engines.model.enums import Side

# as Bybit documents them (v5 market/instrument), with an unknown field each
SPOT = {
    "retCode": 0,
    "retMsg": "OK",
    "result": {
        "category": "spot",
        "list": [
            {
                "symbol": "BTCUSDT",
                "baseCoin": "BTC",
                "quoteCoin": "USDT",
                "innovation": "0",
                "status": "Trading",
                "marginTrading": "both",
                "lotSizeFilter": {
                    "basePrecision": "0.000001",
                    "quotePrecision": "0.00000001",
                    "minOrderQty": "0.000048",
                    "maxOrderQty": "71.73956243",
                    "minOrderAmt": "1",
                    "maxOrderAmt": "2000000",
                },
                "priceFilter": {"tickSize": "0.01"},
                "riskParameters": {"limitParameter": "0.05", "marketParameter": "0.05"},
                "brandNew": True,
            }
        ],
    },
    "retExtInfo": {},
    "time": 1672712468011,
}
LINEAR = {
    "retCode": 0,
    "retMsg": "OK",
    "result": {
        "category": "linear",
        "list": [
            {
                "symbol": "BTCUSDT",
                "contractType": "LinearPerpetual",
                "status": "Trading",
                "baseCoin": "BTC",
                "quoteCoin": "USDT",
                "settleCoin": "USDT",
                "priceFilter": {"minPrice": "0.10", "maxPrice": "199999.80", "tickSize": "0.10"},
                "lotSizeFilter": {
                    "maxOrderQty": "100.000",
                    "maxMktOrderQty": "100.000",
                    "minOrderQty": "0.001",
                    "qtyStep": "0.001",
                    "postOnlyMaxOrderQty": "1000.000",
                    "minNotionalValue": "5",
                },
                "unifiedMarginTrade": True,
            }
        ],
        "nextPageCursor": "",
    },
    "retExtInfo": {},
    "time": 1707186451514,
}


def load(doc: dict[str, object]) -> InstrumentFilter:
    info, _ = decode_result(json.dumps(doc).encode(), InstrumentsInfo)
    return filters_from_info(info)["BTCUSDT"]


def test_spot_filter_reads_base_precision_and_min_order_amount() -> None:
    f = load(SPOT)
    assert (f.tick_size, f.qty_step, f.min_qty, f.min_notional) == (
        D("0.01"),
        D("0.000001"),
        D("0.000048"),
        D("1"),
    )


def test_linear_filter_reads_qty_step_and_min_notional_value() -> None:
    f = load(LINEAR)
    assert (f.tick_size, f.qty_step, f.min_qty, f.max_qty, f.min_notional) == (
        D("0.10"),
        D("0.001"),
        D("0.001"),
        D("100"),
        D("5"),
    )


def test_rounding_never_makes_an_order_bigger_or_dearer() -> None:
    f = load(LINEAR)
    qty, px = f.prepare(Side.BUY, D("0.0129"), D("43000.19"))
    assert (qty, px) == (D("0.012"), D("43000.1"))
    qty, px = f.prepare(Side.SELL, D("0.0129"), D("43000.11"))
    assert (qty, px) == (D("0.012"), D("43000.2"))  # a sell never asks less than told
    assert wire_decimal(qty) == "0.012" and wire_decimal(D("30000.00")) == "30000"


@pytest.mark.parametrize(
    ("doc", "qty", "price", "what"),
    [
        (LINEAR, D("0.0009"), D("43000"), "zero after rounding"),
        (SPOT, D("0.000047"), None, "below the minimum"),
        (SPOT, D("0.00005"), D("10"), "order value"),
        (LINEAR, D("0.2"), D("0.01"), "price .* zero after rounding"),
        (LINEAR, D("101"), D("43000"), "above the maximum"),
    ],
)
def test_an_order_the_venue_would_refuse_is_vt809(
    doc: dict[str, object], qty: D, price: D | None, what: str
) -> None:
    with pytest.raises(InstrumentFilterError, match=what) as info:
        load(doc).prepare(Side.BUY, qty, price)
    assert info.value.code == "VT809"


def test_market_order_notional_uses_the_reference_price() -> None:
    f = load(LINEAR)
    assert f.prepare(Side.BUY, D("0.001"), None) == (D("0.001"), None)  # no price: the venue checks
    with pytest.raises(InstrumentFilterError, match="order value"):
        f.prepare(Side.BUY, D("0.001"), None, reference_px=D("4000"))


def test_a_row_without_tick_is_a_malformed_message() -> None:
    doc = json.loads(json.dumps(SPOT))
    doc["result"]["list"][0]["priceFilter"] = {}
    with pytest.raises(VenueMessageError):
        load(doc)
