"""Binance parsers on recorded messages: every field of every event asserted."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from adapters.binance.errors import VenueRequestError
from adapters.binance.parsers import USDM, BinanceParser, StreamControl, SymbolMap
from adapters.binance.schemas import BookTicker, ExecutionReport
from adapters.venue_errors import Outcome, UnknownVenueSymbolError, UnknownVenueValueError, VenueMessageError
from engines.model.commands import QueryOrder
from engines.model.enums import Liquidity, OrderType, ReportedStatus, Side
from engines.model.events import (
    FillReport,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderStatusReport,
    QuoteTick,
    TradeTick,
)
from tests.venues.binance import messages as m

TS_INIT = 1_700_000_000_000_000_000
MS = 1_000_000


@pytest.fixture
def spot() -> BinanceParser:
    return BinanceParser(
        SymbolMap.of(
            "binance-spot",
            [
                "binance-spot:BNBUSDT",
                "binance-spot:BNBBTC",
                "binance-spot:ETHBTC",
                "binance-spot:BTCUSDT",
                "binance-spot:LTCBTC",
                "binance-usdm:XRPUSDT",
            ],
        )
    )


@pytest.fixture
def usdm() -> BinanceParser:
    return BinanceParser(SymbolMap(USDM, ["BNBUSDT", "BTCUSDT"]))


def _with_extra(raw: bytes) -> bytes:
    """The message with fields Binance might add tomorrow, scalar and nested."""
    assert raw.endswith(b"}")
    return raw[:-1] + b',"zz":1,"newField":{"x":[1,2,"3"]},"Zq":"0.1"}'


# ── symbol map ──


def test_symbol_map_both_ways_and_only_its_market(spot: BinanceParser) -> None:
    assert spot.symbols.instrument("BTCUSDT") == "binance-spot:BTCUSDT"
    assert spot.symbols.venue_symbol("binance-spot:BTCUSDT") == "BTCUSDT"
    with pytest.raises(UnknownVenueSymbolError) as err:
        spot.symbols.instrument("XRPUSDT")  # listed, but for binance-usdm
    assert err.value.code == "VT801"
    with pytest.raises(UnknownVenueSymbolError):
        spot.symbols.venue_symbol("binance-usdm:XRPUSDT")


# ── market data ──


def test_spot_book_ticker_has_no_time_so_ts_event_is_ts_init(spot: BinanceParser) -> None:
    q = spot.quote(m.SPOT_BOOK_TICKER, TS_INIT)
    assert q == QuoteTick(
        ts_event=TS_INIT,
        ts_init=TS_INIT,
        instrument="binance-spot:BNBUSDT",
        bid=Decimal("25.35190000"),
        bid_size=Decimal("31.21000000"),
        ask=Decimal("25.36520000"),
        ask_size=Decimal("40.66000000"),
    )
    assert str(q.bid) == "25.35190000"  # exact, trailing zeros kept: no float on the way


def test_usdm_book_ticker_uses_transaction_time(usdm: BinanceParser) -> None:
    q = usdm.quote(m.USDM_BOOK_TICKER, TS_INIT)
    assert q is not None
    assert q.ts_event == 1568014460891 * MS  # T, not E (1568014460893)
    assert q.ts_init == TS_INIT
    assert q.instrument == "binance-usdm:BNBUSDT"
    assert (q.bid, q.bid_size, q.ask, q.ask_size) == (
        Decimal("25.35190000"),
        Decimal("31.21000000"),
        Decimal("25.36520000"),
        Decimal("40.66000000"),
    )


def test_spot_trade_buyer_is_maker_means_seller_aggressor(spot: BinanceParser) -> None:
    assert spot.trade(m.SPOT_TRADE, TS_INIT) == TradeTick(
        ts_event=1672515782136 * MS,
        ts_init=TS_INIT,
        instrument="binance-spot:BNBBTC",
        price=Decimal("0.001"),
        size=Decimal("100"),
        aggressor=Side.SELL,
        trade_id="12345",
    )


def test_usdm_trade_buyer_taker_and_non_market_trades_skipped(usdm: BinanceParser) -> None:
    t = usdm.trade(m.USDM_TRADE, TS_INIT)
    assert t is not None
    assert (t.aggressor, t.trade_id, t.instrument, t.ts_event) == (
        Side.BUY,
        "12345",
        "binance-usdm:BTCUSDT",
        1672515782136 * MS,
    )
    assert usdm.trade(m.USDM_TRADE.replace(b'"MARKET"', b'"INSURANCE_FUND"'), TS_INIT) is None


def test_agg_trade_uses_the_aggregate_id(usdm: BinanceParser) -> None:
    assert usdm.agg_trade(m.USDM_AGG_TRADE, TS_INIT) == TradeTick(
        ts_event=123456785 * MS,
        ts_init=TS_INIT,
        instrument="binance-usdm:BTCUSDT",
        price=Decimal("0.001"),
        size=Decimal("100"),
        aggressor=Side.SELL,
        trade_id="5933014",
    )


def test_market_frame_dispatches_raw_and_combined_frames(spot: BinanceParser, usdm: BinanceParser) -> None:
    assert spot.market_frame(m.SPOT_BOOK_TICKER, TS_INIT) == spot.quote(m.SPOT_BOOK_TICKER, TS_INIT)
    wrapped = b'{"stream":"bnbusdt@bookTicker","data":' + m.SPOT_BOOK_TICKER + b"}"
    assert spot.market_frame(wrapped, TS_INIT) == spot.quote(m.SPOT_BOOK_TICKER, TS_INIT)
    assert spot.market_frame(m.SPOT_TRADE, TS_INIT) == spot.trade(m.SPOT_TRADE, TS_INIT)
    assert usdm.market_frame(m.USDM_AGG_TRADE, TS_INIT) == usdm.agg_trade(m.USDM_AGG_TRADE, TS_INIT)
    assert usdm.market_frame(m.USDM_BOOK_TICKER, TS_INIT) == usdm.quote(m.USDM_BOOK_TICKER, TS_INIT)
    kline = b'{"e":"kline","E":1,"s":"BNBUSDT","k":{"t":1}}'
    assert spot.market_frame(kline, TS_INIT) is None


@pytest.mark.parametrize(
    "frame", [m.SUBSCRIBE_ACK, b'{"result":null,"id":"abc"}', b'{"id":7,"status":200,"result":{}}']
)
def test_frames_without_an_event_give_nothing(spot: BinanceParser, frame: bytes) -> None:
    assert spot.quote(frame, TS_INIT) is None
    assert spot.trade(frame, TS_INIT) is None
    assert spot.market_frame(frame, TS_INIT) is None
    assert spot.user_frame(frame, TS_INIT) is None


@pytest.mark.parametrize(
    "frame",
    [
        b"not json",
        b'{"u":1,"s":"BNBUSDT","b":"abc","B":"1","a":"1","A":"1"}',  # not a decimal
        b'{"u":1,"s":"BNBUSDT","b":"1","B":"1","a":"1"}',  # A missing
        b'{"error":{"code":2,"msg":"Invalid request"},"id":1}',  # a stream error is not silence
        b"[]",
    ],
)
def test_malformed_market_frames_raise_typed_errors(spot: BinanceParser, frame: bytes) -> None:
    with pytest.raises(VenueMessageError) as err:
        spot.quote(frame, TS_INIT)
    assert err.value.code == "VT800"


def test_unknown_symbol_in_a_quote_is_typed(spot: BinanceParser) -> None:
    with pytest.raises(UnknownVenueSymbolError):
        spot.quote(m.SPOT_BOOK_TICKER.replace(b"BNBUSDT", b"DOGEUSDT"), TS_INIT)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("quote", m.SPOT_BOOK_TICKER),
        ("quote", m.USDM_BOOK_TICKER),
        ("trade", m.SPOT_TRADE),
        ("agg_trade", m.USDM_AGG_TRADE),
        ("execution_report", m.EXECUTION_REPORT_TRADE),
        ("order_trade_update", m.ORDER_TRADE_UPDATE_TRADE),
        ("user_frame", m.EXECUTION_REPORT_CANCELED),
        ("status_report", m.QUERY_ORDER),
        ("new_order_events", m.NEW_ORDER_FULL),
    ],
)
def test_unknown_fields_are_accepted(spot: BinanceParser, usdm: BinanceParser, name: str, raw: bytes) -> None:
    parser = usdm if name in ("agg_trade", "order_trade_update") or b'"E":1568014460893' in raw else spot
    fn = getattr(parser, name)
    assert fn(_with_extra(raw), TS_INIT) == fn(raw, TS_INIT)


# ── user data: spot executionReport ──


def test_execution_report_new_is_accepted(spot: BinanceParser) -> None:
    assert spot.execution_report(m.EXECUTION_REPORT_NEW, TS_INIT) == OrderAccepted(
        ts_event=1499405658657 * MS,
        ts_init=TS_INIT,
        client_order_id="mUvoqJxFIILMdfAW5iGSOW",
        venue_order_id="4293153",
    )


def test_execution_report_trade_is_a_fill(spot: BinanceParser) -> None:
    assert spot.execution_report(m.EXECUTION_REPORT_TRADE, TS_INIT) == OrderFilled(
        ts_event=1499405658699 * MS,
        ts_init=TS_INIT,
        client_order_id="mUvoqJxFIILMdfAW5iGSOW",
        instrument="binance-spot:ETHBTC",
        side=Side.BUY,
        trade_id="28457",
        last_qty=Decimal("0.40000000"),
        last_px=Decimal("0.10264410"),
        cum_qty=Decimal("0.40000000"),
        fee=Decimal("0.00040000"),
        fee_currency="ETH",
        liquidity=Liquidity.MAKER,
    )


def test_duplicate_trade_message_gives_the_same_trade_id(spot: BinanceParser) -> None:
    first = spot.execution_report(m.EXECUTION_REPORT_TRADE, TS_INIT)
    again = spot.execution_report(m.EXECUTION_REPORT_TRADE, TS_INIT + 5)  # resent on reconnect
    assert isinstance(first, OrderFilled) and isinstance(again, OrderFilled)
    assert first.trade_id == again.trade_id == "28457"
    assert msgspec.structs.replace(again, ts_init=TS_INIT) == first


def test_cancel_reports_the_original_client_id_from_C(spot: BinanceParser) -> None:
    assert spot.execution_report(m.EXECUTION_REPORT_CANCELED, TS_INIT) == OrderCanceled(
        ts_event=1499405658999 * MS, ts_init=TS_INIT, client_order_id="mUvoqJxFIILMdfAW5iGSOW"
    )


@pytest.mark.parametrize(
    ("x", "status"),
    [(b"EXPIRED", b"EXPIRED"), (b"EXPIRED", b"EXPIRED_IN_MATCH"), (b"TRADE_PREVENTION", b"EXPIRED_IN_MATCH")],
)
def test_expired_and_expired_in_match(spot: BinanceParser, x: bytes, status: bytes) -> None:
    raw = m.EXECUTION_REPORT_NEW.replace(b'"x":"NEW","X":"NEW"', b'"x":"' + x + b'","X":"' + status + b'"')
    assert spot.execution_report(raw, TS_INIT) == OrderExpired(
        ts_event=1499405658657 * MS, ts_init=TS_INIT, client_order_id="mUvoqJxFIILMdfAW5iGSOW"
    )


def test_rejected_carries_the_reject_reason(spot: BinanceParser) -> None:
    raw = m.EXECUTION_REPORT_NEW.replace(
        b'"x":"NEW","X":"NEW","r":"NONE"', b'"x":"REJECTED","X":"REJECTED","r":"INSUFFICIENT_BALANCES"'
    )
    assert spot.execution_report(raw, TS_INIT) == OrderRejected(
        ts_event=1499405658657 * MS,
        ts_init=TS_INIT,
        client_order_id="mUvoqJxFIILMdfAW5iGSOW",
        reason="INSUFFICIENT_BALANCES",
    )


def test_unknown_execution_type_is_typed_and_replaced_is_silent(spot: BinanceParser) -> None:
    with pytest.raises(UnknownVenueValueError) as err:
        spot.execution_report(m.EXECUTION_REPORT_NEW.replace(b'"x":"NEW"', b'"x":"TELEPORTED"'), TS_INIT)
    assert err.value.code == "VT802"
    assert (
        spot.execution_report(m.EXECUTION_REPORT_NEW.replace(b'"x":"NEW"', b'"x":"REPLACED"'), TS_INIT)
        is None
    )


def test_execution_report_accepts_a_decoded_struct(spot: BinanceParser) -> None:
    decoded = msgspec.json.decode(m.EXECUTION_REPORT_TRADE, type=ExecutionReport)
    assert spot.execution_report(decoded, TS_INIT) == spot.execution_report(m.EXECUTION_REPORT_TRADE, TS_INIT)


def test_user_frame_unwraps_the_websocket_api_envelope(spot: BinanceParser) -> None:
    wrapped = b'{"subscriptionId":0,"event":' + m.EXECUTION_REPORT_TRADE + b"}"
    assert spot.user_frame(wrapped, TS_INIT) == spot.execution_report(m.EXECUTION_REPORT_TRADE, TS_INIT)
    account = b'{"e":"outboundAccountPosition","E":1564034571105,"u":1564034571073,"B":[]}'
    assert spot.user_frame(account, TS_INIT) is None


def test_user_frame_control_events(spot: BinanceParser, usdm: BinanceParser) -> None:
    assert usdm.user_frame(m.LISTEN_KEY_EXPIRED, TS_INIT) == StreamControl(
        kind="listen_key_expired", ts_event=1576653824250 * MS
    )
    terminated = b'{"subscriptionId":0,"event":{"e":"eventStreamTerminated","E":1728973001334}}'
    assert spot.user_frame(terminated, TS_INIT) == StreamControl(
        kind="stream_terminated", ts_event=1728973001334 * MS
    )
    error = (
        b'{"id":"x","status":401,'
        b'"error":{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}}'
    )
    control = spot.user_frame(error, TS_INIT)
    assert isinstance(control, StreamControl) and control.kind == "error" and "-2015" in control.detail


# ── user data: USD-M ORDER_TRADE_UPDATE ──


def test_order_trade_update_new(usdm: BinanceParser) -> None:
    assert usdm.order_trade_update(m.ORDER_TRADE_UPDATE_NEW, TS_INIT) == OrderAccepted(
        ts_event=1568879465650 * MS, ts_init=TS_INIT, client_order_id="TEST", venue_order_id="8886774"
    )
    assert usdm.user_frame(m.ORDER_TRADE_UPDATE_NEW, TS_INIT) == usdm.order_trade_update(
        m.ORDER_TRADE_UPDATE_NEW, TS_INIT
    )


def test_order_trade_update_trade(usdm: BinanceParser) -> None:
    assert usdm.order_trade_update(m.ORDER_TRADE_UPDATE_TRADE, TS_INIT) == OrderFilled(
        ts_event=1568879465698 * MS,
        ts_init=TS_INIT,
        client_order_id="TEST",
        instrument="binance-usdm:BTCUSDT",
        side=Side.SELL,
        trade_id="698759",
        last_qty=Decimal("0.002"),
        last_px=Decimal("7100.5"),
        cum_qty=Decimal("0.002"),
        fee=Decimal("0.00568040"),
        fee_currency="USDT",
        liquidity=Liquidity.TAKER,
    )


def test_order_trade_update_without_commission_fields(usdm: BinanceParser) -> None:
    raw = m.ORDER_TRADE_UPDATE_TRADE.replace(b'"N":"USDT","n":"0.00568040",', b"")
    e = usdm.order_trade_update(raw, TS_INIT)
    assert isinstance(e, OrderFilled) and (e.fee, e.fee_currency) == (Decimal(0), "")


@pytest.mark.parametrize(("x", "cls"), [(b"CANCELED", OrderCanceled), (b"EXPIRED", OrderExpired)])
def test_order_trade_update_end_states(usdm: BinanceParser, x: bytes, cls: type) -> None:
    raw = m.ORDER_TRADE_UPDATE_NEW.replace(b'"x":"NEW","X":"NEW"', b'"x":"' + x + b'","X":"' + x + b'"')
    assert usdm.order_trade_update(raw, TS_INIT) == cls(
        ts_event=1568879465650 * MS, ts_init=TS_INIT, client_order_id="TEST"
    )


# ── REST ──


def test_new_order_ack_is_accepted(spot: BinanceParser) -> None:
    assert spot.new_order_events(m.NEW_ORDER_ACK, TS_INIT) == [
        OrderAccepted(
            ts_event=1507725176595 * MS,
            ts_init=TS_INIT,
            client_order_id="6gCrw2kRUAF9CvJDGP16IP",
            venue_order_id="28",
        )
    ]


def test_new_order_result_without_fills_leaves_them_to_the_stream(spot: BinanceParser) -> None:
    assert spot.new_order_events(m.NEW_ORDER_RESULT, TS_INIT) == spot.new_order_events(
        m.NEW_ORDER_ACK, TS_INIT
    )


def test_new_order_full_gives_taker_fills_with_running_cum(spot: BinanceParser) -> None:
    events = spot.new_order_events(m.NEW_ORDER_FULL, TS_INIT)
    assert isinstance(events[0], OrderAccepted)
    fills = events[1:]
    assert [f.trade_id for f in fills if isinstance(f, OrderFilled)] == ["56", "57", "58", "59", "60"]
    assert fills[0] == OrderFilled(
        ts_event=1507725176595 * MS,
        ts_init=TS_INIT,
        client_order_id="6gCrw2kRUAF9CvJDGP16IP",
        instrument="binance-spot:BTCUSDT",
        side=Side.SELL,
        trade_id="56",
        last_qty=Decimal("1.00000000"),
        last_px=Decimal("4000.00000000"),
        cum_qty=Decimal("1.00000000"),
        fee=Decimal("4.00000000"),
        fee_currency="USDT",
        liquidity=Liquidity.TAKER,
    )
    cums = [f.cum_qty for f in fills if isinstance(f, OrderFilled)]
    assert cums == [Decimal(x) for x in ("1", "6", "8", "9", "10")]


def test_new_order_ioc_expired_ends_the_order(spot: BinanceParser) -> None:
    raw = m.NEW_ORDER_FULL.replace(b'"status":"FILLED"', b'"status":"EXPIRED"')
    events = spot.new_order_events(raw, TS_INIT)
    assert events[-1] == OrderExpired(
        ts_event=1507725176595 * MS, ts_init=TS_INIT, client_order_id="6gCrw2kRUAF9CvJDGP16IP"
    )
    assert len(events) == 7


def test_cancel_response_uses_the_original_client_id(spot: BinanceParser) -> None:
    assert spot.cancel_events(m.CANCEL_ORDER, TS_INIT) == [
        OrderCanceled(ts_event=1684804350068 * MS, ts_init=TS_INIT, client_order_id="myOrder1")
    ]


def test_query_order_is_a_status_report(spot: BinanceParser) -> None:
    query = QueryOrder(
        ts_event=0,
        ts_init=0,
        strategy="s",
        venue="binance",
        client_order_id="myOrder1",
        instrument="binance-spot:LTCBTC",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal(1),
    )
    assert spot.query_response(200, m.QUERY_ORDER, query, TS_INIT) == OrderStatusReport(
        ts_event=1499827319559 * MS,
        ts_init=TS_INIT,
        client_order_id="myOrder1",
        venue="binance",
        instrument="binance-spot:LTCBTC",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal("1.0"),
        status=ReportedStatus.ACCEPTED,
        filled_qty=Decimal("0.0"),
        venue_order_id="1",
        price=Decimal("0.1"),
        avg_px=None,
    )


@pytest.mark.parametrize(
    ("status", "reported"),
    [
        ("NEW", ReportedStatus.ACCEPTED),
        ("PARTIALLY_FILLED", ReportedStatus.PARTIALLY_FILLED),
        ("FILLED", ReportedStatus.FILLED),
        ("CANCELED", ReportedStatus.CANCELED),
        ("EXPIRED", ReportedStatus.EXPIRED),
        ("EXPIRED_IN_MATCH", ReportedStatus.EXPIRED),
        ("REJECTED", ReportedStatus.REJECTED),
    ],
)
def test_query_status_mapping(spot: BinanceParser, status: str, reported: ReportedStatus) -> None:
    raw = m.QUERY_ORDER.replace(b'"status":"NEW"', f'"status":"{status}"'.encode())
    assert spot.status_report(raw, TS_INIT).status is reported


def test_status_report_avg_px_from_quote_quantity(spot: BinanceParser) -> None:
    raw = m.QUERY_ORDER.replace(
        b'"executedQty":"0.0","cummulativeQuoteQty":"0.0","status":"NEW"',
        b'"executedQty":"0.4","cummulativeQuoteQty":"0.04","status":"PARTIALLY_FILLED"',
    )
    r = spot.status_report(raw, TS_INIT)
    assert (r.filled_qty, r.avg_px) == (Decimal("0.4"), Decimal("0.1"))


def test_query_order_does_not_exist_is_not_found(spot: BinanceParser) -> None:
    query = QueryOrder(
        ts_event=0,
        ts_init=0,
        strategy="s",
        venue="binance",
        client_order_id="vt-s-7",
        instrument="binance-spot:BTCUSDT",
        side=Side.SELL,
        order_type=OrderType.MARKET,
        quantity=Decimal("0.5"),
    )
    assert spot.query_response(400, m.ORDER_DOES_NOT_EXIST, query, TS_INIT) == OrderStatusReport(
        ts_event=TS_INIT,
        ts_init=TS_INIT,
        client_order_id="vt-s-7",
        venue="binance",
        instrument="binance-spot:BTCUSDT",
        side=Side.SELL,
        order_type=OrderType.MARKET,
        quantity=Decimal("0.5"),
        status=ReportedStatus.NOT_FOUND,
        filled_qty=Decimal(0),
        reason="Order does not exist.",
    )


def test_query_other_errors_raise_with_their_outcome(spot: BinanceParser) -> None:
    query = QueryOrder(
        ts_event=0,
        ts_init=0,
        strategy="s",
        venue="binance",
        client_order_id="c",
        instrument="binance-spot:BTCUSDT",
        side=Side.SELL,
        order_type=OrderType.MARKET,
        quantity=Decimal("0.5"),
    )
    with pytest.raises(VenueRequestError) as err:
        spot.query_response(
            400,
            b'{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}',
            query,
            TS_INIT,
        )
    assert (err.value.code, err.value.venue_code, err.value.outcome) == ("VT803", -1021, Outcome.CLOCK)
    with pytest.raises(VenueRequestError) as err:
        spot.query_response(502, b"<html>Bad Gateway</html>", query, TS_INIT)
    assert err.value.outcome is Outcome.UNKNOWN


def test_usdm_query_order_maps_futures_types(usdm: BinanceParser) -> None:
    r = usdm.status_report(m.USDM_QUERY_ORDER, TS_INIT)
    assert (r.client_order_id, r.instrument, r.side, r.order_type, r.quantity, r.status, r.filled_qty) == (
        "abc",
        "binance-usdm:BTCUSDT",
        Side.BUY,
        OrderType.STOP,
        Decimal("0.40"),
        ReportedStatus.ACCEPTED,
        Decimal(0),
    )
    assert (r.venue_order_id, r.price, r.avg_px, r.ts_event) == ("1917641", None, None, 1579276756075 * MS)
    stop_limit = usdm.status_report(
        m.USDM_QUERY_ORDER.replace(b'"type":"TRAILING_STOP_MARKET"', b'"type":"STOP"'), TS_INIT
    )
    assert stop_limit.order_type is OrderType.STOP_LIMIT  # USD-M STOP is a stop-limit
    with pytest.raises(UnknownVenueValueError):
        usdm.status_report(
            m.USDM_QUERY_ORDER.replace(b'"type":"TRAILING_STOP_MARKET"', b'"type":"MOON"'), TS_INIT
        )


def test_my_trades_rows_are_fill_reports(spot: BinanceParser) -> None:
    out = spot.fill_reports(m.MY_TRADES, TS_INIT, {100234: "vt-s-1"}, {100234: Decimal("3")})
    assert out.missing_order_ids == ()
    assert out.fills == (
        FillReport(
            ts_event=1499865549590 * MS,
            ts_init=TS_INIT,
            client_order_id="vt-s-1",
            instrument="binance-spot:BNBBTC",
            side=Side.BUY,
            trade_id="28457",
            last_qty=Decimal("12.00000000"),
            last_px=Decimal("4.00000100"),
            cum_qty=Decimal("15.00000000"),
            fee=Decimal("10.10000000"),
            fee_currency="BNB",
            liquidity=Liquidity.TAKER,
        ),
    )


def test_user_trades_rows_and_missing_client_ids(usdm: BinanceParser) -> None:
    out = usdm.fill_reports(m.USER_TRADES, TS_INIT, {25851813: "vt-f-1"})
    (f,) = out.fills
    assert (f.side, f.liquidity, f.fee, f.cum_qty, f.trade_id, f.instrument) == (
        Side.SELL,
        Liquidity.TAKER,
        Decimal("-0.07819010"),
        Decimal("0.002"),
        "698759",
        "binance-usdm:BTCUSDT",
    )
    assert usdm.fill_reports(m.USER_TRADES, TS_INIT, {}).missing_order_ids == (25851813,)


def test_quote_from_a_decoded_struct(spot: BinanceParser) -> None:
    decoded = msgspec.json.decode(m.SPOT_BOOK_TICKER, type=BookTicker)
    assert spot.quote_from(decoded, TS_INIT) == spot.quote(m.SPOT_BOOK_TICKER, TS_INIT)
