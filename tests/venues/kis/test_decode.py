"""``venue decode kis``'s parser: pipe frames, acks and their keys, encrypted notices, REST bodies."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from adapters.kis.decode import KisDecoder
from adapters.kis.errors import KisRequestError, KisWsError
from adapters.kis.parsers import NOTICE_FIELDS, encrypt
from adapters.venue_errors import VenueMessageError
from engines.model.enums import ReportedStatus, Side
from engines.model.events import (
    FillReport,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderStatusReport,
    QuoteTick,
    TradeTick,
)

KEY, IV = "abcdefghijklmnopqrstuvwxyz012345", "0123456789abcdef"


def _notice(**kw: str) -> str:
    values = dict.fromkeys(NOTICE_FIELDS, "")
    values.update({"ODER_NO": "0000000007", "SELN_BYOV_CLS": "02", "STCK_SHRN_ISCD": "005930",
                   "CNTG_QTY": "4", "CNTG_UNPR": "70000", "CNTG_YN": "2", "RFUS_YN": "0",
                   "RCTF_CLS": "0", "ODER_QTY": "10"})  # fmt: skip
    values.update(kw)
    return "^".join(values[name] for name in NOTICE_FIELDS)


def _ack() -> bytes:
    return json.dumps({
        "header": {"tr_id": "H0STCNI0", "tr_key": "hts", "encrypt": "N"},
        "body": {"rt_cd": "0", "msg_cd": "OPSP0000", "msg1": "SUBSCRIBE SUCCESS",
                 "output": {"iv": IV, "key": KEY}},
    }).encode()  # fmt: skip


def test_encrypted_notices_need_the_ack_key_of_an_earlier_line() -> None:
    decoder = KisDecoder()
    accepted = f"1|H0STCNI0|001|{encrypt(_notice(CNTG_YN='1', CNTG_QTY='10'), KEY, IV)}".encode()
    with pytest.raises(VenueMessageError):
        decoder.events(accepted)
    assert decoder.events(_ack()) == []
    (event,) = decoder.events(accepted)
    assert isinstance(event, OrderAccepted) and event.venue_order_id == "0000000007"
    two = _notice() + "^" + _notice(CNTG_QTY="6", CNTG_UNPR="70100")
    fills = decoder.events(f"1|H0STCNI0|002|{encrypt(two, KEY, IV)}".encode())
    assert [type(f) for f in fills] == [OrderFilled, OrderFilled]
    assert [(f.last_qty, f.cum_qty, f.trade_id) for f in fills if isinstance(f, OrderFilled)] == [
        (D(4), D(4), "0000000007-4"),
        (D(6), D(10), "0000000007-10"),
    ]
    (canceled,) = decoder.events(f"0|H0STCNI0|001|{_notice(CNTG_YN='1', RCTF_CLS='2')}".encode())
    assert isinstance(canceled, OrderCanceled)


def test_market_frames() -> None:
    trade = ["0"] * 46
    trade[0], trade[1], trade[2], trade[12], trade[21] = "005930", "093000", "70100", "7", "1"
    book = ["0"] * 59
    book[0], book[3], book[13], book[23], book[33] = "005930", "70100", "70000", "40", "30"
    decoder = KisDecoder()
    (t,) = decoder.events(("0|H0STCNT0|001|" + "^".join(trade)).encode())
    (q,) = decoder.events(("0|H0STASP0|001|" + "^".join(book)).encode())
    assert isinstance(t, TradeTick) and (t.price, t.size, t.aggressor, t.trade_id) == (
        D(70100), D(7), Side.BUY, "005930-093000-1",
    )  # fmt: skip
    assert isinstance(q, QuoteTick) and (q.bid, q.ask, q.bid_size, q.ask_size) == (
        D(70000),
        D(70100),
        D(30),
        D(40),
    )
    assert decoder.events(b'{"header":{"tr_id":"PINGPONG","datetime":"20260105093000"}}') == []


def test_rest_bodies() -> None:
    rows = {"rt_cd": "0", "msg_cd": "KIOK0460", "msg1": "", "output1": [
        {"ORD_DT": "20260105", "ODNO": "0000000007", "ORGN_ODNO": "", "SLL_BUY_DVSN_CD": "02",
         "PDNO": "005930", "ORD_QTY": "10", "ORD_UNPR": "70100", "ORD_TMD": "093000",
         "TOT_CCLD_QTY": "10", "AVG_PRVS": "70100",
         "TOT_CCLD_AMT": "701000", "CNCL_YN": "N", "RMN_QTY": "0", "RJCT_QTY": "0", "ORD_DVSN_CD": "00"},
    ]}  # fmt: skip
    line = json.dumps({"rest": "GET /uapi/domestic-stock/v1/trading/inquire-daily-ccld?CANO=1", "body": rows})
    report, fill = KisDecoder().events(line.encode())
    assert isinstance(report, OrderStatusReport) and report.status is ReportedStatus.FILLED
    assert (
        isinstance(fill, FillReport) and fill.trade_id == "20260105-0000000007-10" and fill.last_px == 70100
    )
    assert report.ts_event == fill.ts_event > 0
    order = {"rest": "POST /uapi/domestic-stock/v1/trading/order-cash",
             "body": {"rt_cd": "0", "msg_cd": "APBK0013", "msg1": "",
                      "output": {"ODNO": "0000000008"}}}  # fmt: skip
    (accepted,) = KisDecoder().events(json.dumps(order).encode())
    assert isinstance(accepted, OrderAccepted) and accepted.venue_order_id == "0000000008"


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (b'{"rest": "POST /uapi/domestic-stock/v1/trading/order-cash", "body": {"rt_cd": "1", '
         b'"msg_cd": "APBK0952", "msg1": "cash"}}', KisRequestError),
        (b'{"rest": "GET /uapi/nowhere", "body": {"rt_cd": "0"}}', VenueMessageError),
        (b'{"header": {"tr_id": "H0STCNT0", "tr_key": "005930"}, "body": {"rt_cd": "1", '
         b'"msg_cd": "OPSP0008", "msg1": "MAX SUBSCRIBE OVER"}}', KisWsError),
        (b"{not json", VenueMessageError),
        (b"0|H0STXXX0|001|a^b", VenueMessageError),
        (b"0|H0STCNT0|001|005930^093000", VenueMessageError),
    ],
)  # fmt: skip
def test_lines_that_cannot_be_read_are_typed_errors(line: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        KisDecoder().events(line)
