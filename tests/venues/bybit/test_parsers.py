"""Bybit v5 parsers on messages written as Bybit sends them (v5 docs' examples, extended with the
fields Bybit has added since, plus an unknown field each to prove they are accepted)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from adapters.bybit.errors import BybitRequestError, BybitWsError
from adapters.bybit.parsers import BybitParser, SymbolMap, decode_result, fill_reports, status_reports
from adapters.bybit.schemas import CreateResult, ExecutionList, OrderList
from adapters.venue_errors import Outcome, UnknownVenueSymbolError, VenueMessageError
from engines.model.commands import QueryOrder
from engines.model.enums import Liquidity, OrderType, ReportedStatus, Side
from engines.model.events import (
    FillReport,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    QuoteTick,
    TradeTick,
)

TS_INIT = 42
MS = 1_000_000
SYMBOLS = SymbolMap.from_symbols(["bybit-spot:BTCUSDT", "bybit-linear:BTCUSDT", "bybit-linear:XRPUSDT"])


def parser() -> BybitParser:
    return BybitParser(SYMBOLS)


def enc(obj: object) -> bytes:
    return json.dumps(obj).encode()


# ── public ──────────────────────────────────────────────────────────────────────────────────────

TRADE = {
    "topic": "publicTrade.BTCUSDT",
    "type": "snapshot",
    "ts": 1672304486868,
    "data": [
        {
            "T": 1672304486865,
            "s": "BTCUSDT",
            "S": "Buy",
            "v": "0.001",
            "p": "16578.50",
            "L": "PlusTick",
            "i": "20f43950-d8dd-5b31-9112-a178eb6023af",
            "BT": False,
            "seq": 1783284617,
            "RPI": False,
        },
        {
            "T": 1672304486866,
            "s": "BTCUSDT",
            "S": "Sell",
            "v": "0.300",
            "p": "16578.00",
            "i": "t-2",
            "BT": False,
        },
    ],
    "futureField": {"x": 1},
}


def test_public_trade_to_trade_ticks() -> None:
    events = parser().public("linear", enc(TRADE), TS_INIT)
    assert events == [
        TradeTick(
            ts_event=1672304486865 * MS,
            ts_init=TS_INIT,
            instrument="bybit-linear:BTCUSDT",
            price=Decimal("16578.50"),
            size=Decimal("0.001"),
            aggressor=Side.BUY,
            trade_id="20f43950-d8dd-5b31-9112-a178eb6023af",
        ),
        TradeTick(
            ts_event=1672304486866 * MS,
            ts_init=TS_INIT,
            instrument="bybit-linear:BTCUSDT",
            price=Decimal("16578.00"),
            size=Decimal("0.300"),
            aggressor=Side.SELL,
            trade_id="t-2",
        ),
    ]
    first = events[0]
    assert isinstance(first, TradeTick)
    assert str(first.price) == "16578.50"  # exact digits, no float on the way


def test_spot_stream_maps_to_spot_symbol() -> None:
    (tick,) = parser().public("spot", enc(TRADE), TS_INIT)[:1]
    assert isinstance(tick, TradeTick)
    assert tick.instrument == "bybit-spot:BTCUSDT"


def book(kind: str, b: list[list[str]], a: list[list[str]], u: int, cts: int | None = 1672304484976) -> bytes:
    msg: dict[str, object] = {
        "topic": "orderbook.1.BTCUSDT",
        "type": kind,
        "ts": 1672304484978,
        "data": {"s": "BTCUSDT", "b": b, "a": a, "u": u, "seq": 7961638724, "new": "x"},
    }
    if cts is not None:
        msg["cts"] = cts
    return enc(msg)


def test_orderbook_snapshot_to_quote_with_cts() -> None:
    (q,) = parser().public(
        "spot", book("snapshot", [["16493.50", "0.006"]], [["16611.00", "0.029"]], 18521288), 7
    )
    assert q == QuoteTick(
        ts_event=1672304484976 * MS,
        ts_init=7,
        instrument="bybit-spot:BTCUSDT",
        bid=Decimal("16493.50"),
        bid_size=Decimal("0.006"),
        ask=Decimal("16611.00"),
        ask_size=Decimal("0.029"),
    )


def test_orderbook_delta_updates_one_side_and_ts_falls_back_to_ts() -> None:
    p = parser()
    p.public("linear", book("snapshot", [["100.0", "1"]], [["101.0", "2"]], 10), 0)
    (q,) = p.public("linear", book("delta", [], [["100.5", "3"]], 11, cts=None), 0)
    assert isinstance(q, QuoteTick)
    assert (q.bid, q.bid_size, q.ask, q.ask_size) == (
        Decimal("100.0"),
        Decimal(1),
        Decimal("100.5"),
        Decimal(3),
    )
    assert q.ts_event == 1672304484978 * MS
    # a side emptied: no quote until it comes back
    assert p.public("linear", book("delta", [["100.0", "0"]], [], 12), 0) == []
    (q2,) = p.public("linear", book("delta", [["99.5", "4"]], [], 13), 0)
    assert isinstance(q2, QuoteTick)
    assert q2.bid == Decimal("99.5")
    assert q2.ask == Decimal("100.5")


def test_orderbook_u_equal_1_resets_the_book() -> None:
    p = parser()
    p.public("linear", book("snapshot", [["100.0", "1"]], [["101.0", "2"]], 10), 0)
    # after a service restart (u=1) the old ask must not survive
    assert p.public("linear", book("delta", [["100.0", "1"]], [], 1), 0) == []


@pytest.mark.parametrize(
    "frame",
    [
        {"success": True, "ret_msg": "pong", "conn_id": "0970e817", "op": "ping"},
        {"success": True, "ret_msg": "", "conn_id": "c1", "req_id": "", "op": "subscribe"},
        {"req_id": "", "op": "pong", "args": ["1675418560633"], "conn_id": "cfcb4ocsvfriu23r3er0-1b"},
        {"success": True, "ret_msg": "", "op": "auth", "conn_id": "cejreaspqfh3sjdnldmg-p"},
        {"op": "pong"},
        {"topic": "tickers.BTCUSDT", "type": "snapshot", "ts": 1, "data": {"symbol": "BTCUSDT"}},
    ],
)
def test_frames_without_events_give_nothing(frame: dict[str, object]) -> None:
    assert parser().public("spot", enc(frame), 0) == []
    assert parser().private(enc(frame), 0) == []


def test_refused_auth_or_subscribe_raises() -> None:
    with pytest.raises(BybitWsError) as info:
        parser().private(enc({"success": False, "ret_msg": "Params Error", "op": "auth", "conn_id": "x"}), 0)
    assert info.value.code == "VT804"
    assert info.value.op == "auth"


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"topic":"publicTrade.BTCUSDT","data":[{"T":1,"s":"BTCUSDT","S":"Buy","v":"x","p":"1","i":"a"}]}',
        b'{"topic":"publicTrade.BTCUSDT","data":[{"T":1,"s":"BTCUSDT","S":"Up","v":"1","p":"1","i":"a"}]}',
        b'{"topic":"publicTrade.BTCUSDT","data":[{"s":"BTCUSDT","S":"Buy","v":"1","p":"1","i":"a"}]}',
        b'{"topic":"orderbook.1.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT","b":[["1"]],"a":[],"u":1}}',
    ],
)
def test_malformed_public_is_a_typed_error(raw: bytes) -> None:
    with pytest.raises(VenueMessageError) as info:
        parser().public("spot", raw, 0)
    assert info.value.code == "VT800"


def test_unmapped_symbol_is_a_typed_error() -> None:
    msg = dict(TRADE, data=[dict(TRADE["data"][0], s="ETHUSDT")])  # type: ignore[call-overload]
    with pytest.raises(UnknownVenueSymbolError):
        parser().public("spot", enc(msg), 0)


# ── private: order ──────────────────────────────────────────────────────────────────────────────


def order_row(status: str, **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "symbol": "BTCUSDT",
        "orderId": "fd4300ae-7847-404e-b947-b46980a4d140",
        "side": "Buy",
        "orderType": "Limit",
        "cancelType": "UNKNOWN",
        "price": "72.5",
        "qty": "1",
        "orderIv": "",
        "timeInForce": "GTC",
        "orderStatus": status,
        "orderLinkId": "vt-s1-7",
        "lastPriceOnCreated": "",
        "reduceOnly": False,
        "leavesQty": "1",
        "leavesValue": "72.5",
        "cumExecQty": "0",
        "cumExecValue": "0",
        "avgPrice": "",
        "blockTradeId": "",
        "positionIdx": 0,
        "cumExecFee": "0",
        "closedPnl": "0",
        "createdTime": "1672364262444",
        "updatedTime": "1672364262457",
        "rejectReason": "EC_NoError",
        "stopOrderType": "",
        "tpslMode": "",
        "triggerPrice": "",
        "takeProfit": "",
        "stopLoss": "",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": 0,
        "triggerBy": "",
        "closeOnTrigger": False,
        "category": "linear",
        "placeType": "",
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "feeCurrency": "",
        "brandNewField": [1, 2],
    }
    row.update(kw)
    return row


def order_frame(*rows: dict[str, object]) -> bytes:
    return enc(
        {"id": "5923240c6880ab-c59f", "topic": "order", "creationTime": 1672364262474, "data": list(rows)}
    )


def test_order_new_is_accepted() -> None:
    (ev,) = parser().private(order_frame(order_row("New")), TS_INIT)
    assert ev == OrderAccepted(
        ts_event=1672364262457 * MS,
        ts_init=TS_INIT,
        client_order_id="vt-s1-7",
        venue_order_id="fd4300ae-7847-404e-b947-b46980a4d140",
    )


def test_order_rejected() -> None:
    (ev,) = parser().private(
        order_frame(order_row("Rejected", rejectReason="EC_PostOnlyWillTakeLiquidity")), 0
    )
    assert ev == OrderRejected(
        ts_event=1672364262457 * MS,
        ts_init=0,
        client_order_id="vt-s1-7",
        reason="EC_PostOnlyWillTakeLiquidity",
        code="EC_PostOnlyWillTakeLiquidity",
    )


@pytest.mark.parametrize("status", ["Cancelled", "PartiallyFilledCanceled"])
def test_order_cancelled_by_user(status: str) -> None:
    (ev,) = parser().private(order_frame(order_row(status, cancelType="CancelByUser", leavesQty="0")), 0)
    assert ev == OrderCanceled(
        ts_event=1672364262457 * MS, ts_init=0, client_order_id="vt-s1-7", reason="CancelByUser"
    )


def test_ioc_rest_canceled_by_the_venue_is_expired() -> None:
    row = order_row("PartiallyFilledCanceled", timeInForce="IOC", cancelType="UNKNOWN", cumExecQty="0.4")
    (ev,) = parser().private(order_frame(row), 0)
    assert ev == OrderExpired(ts_event=1672364262457 * MS, ts_init=0, client_order_id="vt-s1-7")


@pytest.mark.parametrize("status", ["Created", "PartiallyFilled", "Filled", "Triggered", "Active"])
def test_order_messages_never_make_fills(status: str) -> None:
    row = order_row(status, cumExecQty="1", leavesQty="0", avgPrice="72.5")
    # Bybit may send Filled twice when a cancel races a fill: still no event from either
    assert parser().private(order_frame(row, row), 0) == []


def test_order_without_link_id_is_named_by_order_id() -> None:
    (ev,) = parser().private(order_frame(order_row("New", orderLinkId="")), 0)
    assert isinstance(ev, OrderAccepted)
    assert ev.client_order_id == "fd4300ae-7847-404e-b947-b46980a4d140"


# ── private: execution ──────────────────────────────────────────────────────────────────────────


def exec_row(**kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "category": "linear",
        "symbol": "XRPUSDT",
        "execFee": "0.005061",
        "execId": "7e2ae69c-4edf-5800-a352-893d52b446aa",
        "execPrice": "0.3374",
        "execQty": "25",
        "execType": "Trade",
        "execValue": "8.435",
        "isMaker": False,
        "feeRate": "0.0006",
        "tradeIv": "",
        "markIv": "",
        "blockTradeId": "",
        "markPrice": "0.3391",
        "indexPrice": "",
        "underlyingPrice": "",
        "leavesQty": "75",
        "orderId": "f6e324ff-99c2-4e89-9739-3086e47f9381",
        "orderLinkId": "vt-s1-8",
        "orderPrice": "0.3207",
        "orderQty": "100",
        "orderType": "Market",
        "stopOrderType": "UNKNOWN",
        "side": "Sell",
        "execTime": "1672364174443",
        "isLeverage": "0",
        "closedSize": "",
        "seq": 4688002127,
        "extraFees": "",
    }
    row.update(kw)
    return row


def exec_frame(*rows: dict[str, object]) -> bytes:
    return enc(
        {"id": "592324803b2785-26fa", "topic": "execution", "creationTime": 1672364174455, "data": list(rows)}
    )


def test_execution_to_fill_with_cum_from_order_qty_minus_leaves() -> None:
    (ev,) = parser().private(exec_frame(exec_row()), TS_INIT)
    assert ev == OrderFilled(
        ts_event=1672364174443 * MS,
        ts_init=TS_INIT,
        client_order_id="vt-s1-8",
        instrument="bybit-linear:XRPUSDT",
        side=Side.SELL,
        trade_id="7e2ae69c-4edf-5800-a352-893d52b446aa",
        last_qty=Decimal(25),
        last_px=Decimal("0.3374"),
        cum_qty=Decimal(25),
        fee=Decimal("0.005061"),
        fee_currency="USDT",
        liquidity=Liquidity.TAKER,
    )


def test_execution_prefers_cum_exec_qty_and_fee_currency_when_present() -> None:
    row = exec_row(cumExecQty="30", feeCurrency="USDC", isMaker=True, execFee="-0.001")
    (ev,) = parser().private(exec_frame(row), 0)
    assert isinstance(ev, OrderFilled)
    assert ev.cum_qty == Decimal(30)
    assert ev.fee_currency == "USDC"
    assert ev.fee == Decimal("-0.001")  # a maker rebate stays negative
    assert ev.liquidity is Liquidity.MAKER


@pytest.mark.parametrize(("side", "coin"), [("Buy", "BTC"), ("Sell", "USDT")])
def test_spot_fee_currency_without_the_field(side: str, coin: str) -> None:
    row = exec_row(category="spot", symbol="BTCUSDT", side=side)
    (ev,) = parser().private(exec_frame(row), 0)
    assert isinstance(ev, OrderFilled)
    assert ev.instrument == "bybit-spot:BTCUSDT"
    assert ev.fee_currency == coin


def test_non_trade_executions_are_not_fills() -> None:
    assert parser().private(exec_frame(exec_row(execType="Funding", orderLinkId="")), 0) == []


def test_execution_without_any_cumulative_is_a_typed_error() -> None:
    with pytest.raises(VenueMessageError):
        parser().private(exec_frame(exec_row(leavesQty="")), 0)


def test_execution_fast_is_refused() -> None:
    frame = enc({"topic": "execution.fast", "creationTime": 1, "data": []})
    with pytest.raises(VenueMessageError):
        parser().private(frame, 0)


# ── REST ────────────────────────────────────────────────────────────────────────────────────────


def envelope(result: object, ret_code: int = 0, msg: str = "OK") -> bytes:
    return enc(
        {"retCode": ret_code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": 1672211918471}
    )


def test_create_ack_decodes() -> None:
    res, t = decode_result(
        envelope({"orderId": "1321003749386327552", "orderLinkId": "vt-s1-9"}), CreateResult
    )
    assert (res.orderId, res.orderLinkId, t) == ("1321003749386327552", "vt-s1-9", 1672211918471)


def test_business_error_with_http_200_raises_classified() -> None:
    with pytest.raises(BybitRequestError) as info:
        decode_result(envelope({}, 110072, "OrderLinkedID is duplicate"), CreateResult)
    assert info.value.outcome is Outcome.DUPLICATE
    assert info.value.ret_code == 110072


def test_non_bybit_error_body_is_classified_by_http_status() -> None:
    with pytest.raises(BybitRequestError) as info:
        decode_result(b"<html>502 Bad Gateway</html>", CreateResult, http_status=502)
    assert info.value.outcome is Outcome.UNKNOWN


QUERY = QueryOrder(
    ts_event=0,
    ts_init=0,
    strategy="s1",
    venue="bybit",
    client_order_id="vt-s1-7",
    instrument="bybit-linear:BTCUSDT",
    side=Side.BUY,
    order_type=OrderType.LIMIT,
    quantity=Decimal(1),
)


def test_order_list_rows_to_status_reports() -> None:
    rows = [
        order_row("PartiallyFilled", cumExecQty="0.4", leavesQty="0.6", avgPrice="72.5"),
        order_row("Filled", orderLinkId="vt-s1-6", cumExecQty="1", leavesQty="0", avgPrice="72.4"),
    ]
    for row in rows:
        del row["category"]  # REST lists give the category once, on the result
    body = envelope({"category": "linear", "list": rows, "nextPageCursor": "page_args%3D1"})
    result, t = decode_result(body, OrderList)
    assert result.nextPageCursor == "page_args%3D1"
    first, second = status_reports(result.rows, result.category, SYMBOLS, TS_INIT, server_time_ms=t)
    assert first.client_order_id == "vt-s1-7"
    assert first.venue == "bybit"
    assert first.instrument == "bybit-linear:BTCUSDT"
    assert (first.side, first.order_type, first.quantity) == (Side.BUY, OrderType.LIMIT, Decimal(1))
    assert first.status is ReportedStatus.PARTIALLY_FILLED
    assert first.filled_qty == Decimal("0.4")
    assert (first.price, first.avg_px) == (Decimal("72.5"), Decimal("72.5"))
    assert first.venue_order_id == "fd4300ae-7847-404e-b947-b46980a4d140"
    assert first.ts_event == 1672364262457 * MS
    assert first.reason is None
    assert first.external is False
    assert second.status is ReportedStatus.FILLED
    assert second.filled_qty == Decimal(1)


@pytest.mark.parametrize(
    ("status", "extra", "reported"),
    [
        ("New", {}, ReportedStatus.ACCEPTED),
        ("Untriggered", {}, ReportedStatus.ACCEPTED),
        ("Cancelled", {"cancelType": "CancelByUser"}, ReportedStatus.CANCELED),
        ("Deactivated", {}, ReportedStatus.CANCELED),
        ("Cancelled", {"timeInForce": "FOK"}, ReportedStatus.EXPIRED),
        ("Rejected", {"rejectReason": "EC_NoEnoughQtyToFill"}, ReportedStatus.REJECTED),
    ],
)
def test_status_mapping(status: str, extra: dict[str, object], reported: ReportedStatus) -> None:
    rows = decode_result(envelope({"category": "linear", "list": [order_row(status, **extra)]}), OrderList)[0]
    (rep,) = status_reports(rows.rows, "linear", SYMBOLS, 0)
    assert rep.status is reported


def test_empty_list_for_the_link_id_is_not_found() -> None:
    result, t = decode_result(envelope({"category": "linear", "list": [], "nextPageCursor": ""}), OrderList)
    (rep,) = status_reports(result.rows, result.category, SYMBOLS, TS_INIT, query=QUERY, server_time_ms=t)
    assert rep.status is ReportedStatus.NOT_FOUND
    assert rep.client_order_id == "vt-s1-7"
    assert (rep.instrument, rep.side, rep.order_type, rep.quantity) == (
        "bybit-linear:BTCUSDT",
        Side.BUY,
        OrderType.LIMIT,
        Decimal(1),
    )
    assert rep.filled_qty == 0
    assert rep.ts_event == 1672211918471 * MS


def test_execution_list_rows_to_fill_reports() -> None:
    row = exec_row()
    del row["category"]
    result, _ = decode_result(
        envelope({"category": "linear", "list": [row], "nextPageCursor": "c2"}), ExecutionList
    )
    (rep,) = fill_reports(result.rows, result.category, SYMBOLS, TS_INIT)
    assert type(rep) is FillReport
    assert rep.trade_id == "7e2ae69c-4edf-5800-a352-893d52b446aa"
    assert (rep.last_qty, rep.last_px, rep.cum_qty) == (Decimal(25), Decimal("0.3374"), Decimal(25))
    assert result.nextPageCursor == "c2"
