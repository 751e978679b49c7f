"""The pure layer: Kiwoom's string numbers, codes, sides, rows and notices."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from adapters.kiwoom.parsers import (
    Notice,
    code_of,
    fill_report,
    kst_ns,
    number,
    open_order_report,
    price,
    quantity,
    side_of,
    symbol_of,
    trade_id,
)
from adapters.kiwoom.schemas import FillRow, OpenOrderRow
from adapters.venue_errors import UnknownVenueValueError, VenueMessageError
from engines.model.enums import OrderType, ReportedStatus, Side


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("000000070000", D(70000)),
        ("+70000", D(70000)),
        ("-70800", D(-70800)),
        ("0", D(0)),
        ("12.5", D("12.5")),
    ],
)
def test_numbers_read_exactly(text: str, value: D) -> None:
    assert number(text, "x") == value


@pytest.mark.parametrize("text", ["", " 1", "7O000", "1e5", "+-1", "1.", ".5", "NaN", "1,000", "70000원"])
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(VenueMessageError):
        number(text, "x")


def test_prices_are_absolute_and_quantities_never_negative() -> None:
    assert price("-70800") == D(70800)
    assert price("+000070100") == D(70100)
    assert quantity("+0000000010") == D(10)
    assert quantity("") == 0
    with pytest.raises(VenueMessageError):
        quantity("-3")


def test_codes_and_sides() -> None:
    assert code_of("krx:005930") == "005930"
    with pytest.raises(UnknownVenueValueError):
        code_of("bybit-spot:BTCUSDT")
    assert symbol_of("A005930") == "krx:005930"
    assert symbol_of("005930_NX") == "krx:005930"
    with pytest.raises(VenueMessageError):
        symbol_of("59")
    assert side_of("+매수") is Side.BUY
    assert side_of("-매도정정") is Side.SELL
    assert side_of("2") is Side.BUY and side_of("1") is Side.SELL
    with pytest.raises(UnknownVenueValueError):
        side_of("?")


def test_kst_times() -> None:
    assert kst_ns("20261203", "090000") == 1_796_256_000 * 10**9  # 00:00 UTC
    assert kst_ns("20261203", "") == 0
    assert kst_ns("2026120", "090000") == 0


def test_open_order_row_reports_partial_fill() -> None:
    row = OpenOrderRow(
        ord_no="0000012", stk_cd="005930", ord_qty="000000000010", ord_pric="000000070000",
        oso_qty="000000000004", cntr_pric="+70000", cntr_qty="6", io_tp_nm="+매수", trde_tp="보통",
    )  # fmt: skip
    report = open_order_report(row, "cid-1", 5)
    assert report.status is ReportedStatus.PARTIALLY_FILLED
    assert (report.filled_qty, report.price, report.avg_px) == (D(6), D(70000), D(70000))
    assert report.instrument == "krx:005930" and report.order_type is OrderType.LIMIT
    assert report.venue_order_id == "0000012"
    bad = OpenOrderRow(ord_no="1", stk_cd="005930", ord_qty="1", oso_qty="2", io_tp_nm="+매수")
    with pytest.raises(VenueMessageError):
        open_order_report(bad, "cid", 0)


def test_fill_row_ids_by_cumulative_quantity() -> None:
    row = FillRow(
        ord_no="0000012", stk_cd="005930", io_tp_nm="-매도", ord_qty="000000000010", oso_qty="000000000007",
        cntr_qty="000000000003", cntr_pric="-70800", tdy_trde_cmsn="31.8", tdy_trde_tax="424",
        ord_tm="101500",
    )  # fmt: skip
    fill = fill_report(row, "cid-1", 7, day="20261203")
    assert fill.trade_id == trade_id("0000012", D(3)) == "0000012-3"
    assert (fill.last_qty, fill.last_px, fill.cum_qty, fill.fee) == (D(3), D(70800), D(3), D("455.8"))
    assert fill.side is Side.SELL and fill.fee_currency == "KRW"
    assert fill.ts_event == kst_ns("20261203", "101500")
    with pytest.raises(VenueMessageError):
        fill_report(FillRow(ord_no="1", stk_cd="005930", io_tp_nm="+매수", cntr_qty="0"), "c", 0)


def test_execution_notice_fid_map() -> None:
    values = {
        "9203": "0000012", "9001": "A005930", "913": "체결", "905": "+매수", "907": "2", "900": "10",
        "902": "4", "910": "+70100", "911": "6", "914": "+70100", "915": "2", "938": "21", "939": "0",
    }  # fmt: skip
    notice = Notice(values)
    assert notice.is_fill and notice.cum_qty == D(6) and notice.last_qty == D(2)
    assert notice.last_px == D(70100) and notice.side is Side.BUY and notice.fee == D(21)
    cancel = Notice({**values, "913": "확인", "9203": "9000001", "904": "0000012", "915": "", "911": ""})
    assert cancel.is_cancel and not cancel.is_fill and cancel.orig_ord_no == "0000012"
    assert not Notice({**values, "913": "확인", "904": "0000000"}).is_cancel
    with pytest.raises(VenueMessageError):
        Notice({**values, "9203": ""})
