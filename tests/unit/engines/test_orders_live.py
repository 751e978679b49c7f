"""The order machine at a real venue: late answers, timeouts, queries, reconciliation, adoption.

Each test names the rule it pins down; removing the rule (a table row, a check) makes it fail.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from engines.errors import OrderStateError
from engines.model.codec import Codec
from engines.model.enums import OrderType, ReportedStatus, Side
from engines.model.events import (
    Event,
    FillReport,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderPendingCancel,
    OrderRejected,
    OrderStatusReport,
    OrderStatusUnknown,
    OrderSubmitted,
)
from engines.orders.book import Orders
from engines.orders.order import Order
from engines.orders.table import NOT_FOUND_AT_VENUE, OrderStatus

S = OrderStatus
RS = ReportedStatus
CID = "s1-0007"
QTY = Decimal(10)
SYMBOL = "binance-spot:BTCUSDT"


def submitted(cid: str = CID) -> OrderSubmitted:
    return OrderSubmitted(
        ts_event=1,
        ts_init=1,
        strategy="s1",
        client_order_id=cid,
        instrument=SYMBOL,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=QTY,
        price=Decimal(100),
        venue="binance",
    )


def fill(
    trade_id: str,
    last_qty: int | str,
    cum_qty: int | str,
    *,
    kind: type[OrderFilled] = OrderFilled,
    cid: str = CID,
) -> OrderFilled:
    return kind(
        ts_event=2,
        ts_init=2,
        client_order_id=cid,
        instrument=SYMBOL,
        side=Side.BUY,
        trade_id=trade_id,
        last_qty=Decimal(last_qty),
        last_px=Decimal(100),
        cum_qty=Decimal(cum_qty),
        fee=Decimal(0),
        fee_currency="USDT",
    )


def reconciled(trade_id: str, last_qty: int | str, cum_qty: int | str, cid: str = CID) -> OrderFilled:
    return fill(trade_id, last_qty, cum_qty, kind=FillReport, cid=cid)


def accepted(vid: str = "V-1") -> OrderAccepted:
    return OrderAccepted(ts_event=2, ts_init=2, client_order_id=CID, venue_order_id=vid)


def pending_cancel() -> OrderPendingCancel:
    return OrderPendingCancel(ts_event=2, ts_init=2, client_order_id=CID)


def canceled() -> OrderCanceled:
    return OrderCanceled(ts_event=3, ts_init=3, client_order_id=CID, reason="user")


def expired() -> OrderExpired:
    return OrderExpired(ts_event=3, ts_init=3, client_order_id=CID)


def unknown(reason: str = "create timed out") -> OrderStatusUnknown:
    return OrderStatusUnknown(ts_event=3, ts_init=3, client_order_id=CID, reason=reason)


def report(status: RS, filled: int | str = 0, *, cid: str = CID, **kw: Any) -> OrderStatusReport:
    fields: dict[str, Any] = {
        "venue": "binance",
        "instrument": SYMBOL,
        "side": Side.BUY,
        "order_type": OrderType.LIMIT,
        "quantity": QTY,
        "venue_order_id": None if status is RS.NOT_FOUND else "V-1",
    }
    fields.update(kw)
    return OrderStatusReport(
        ts_event=4, ts_init=4, client_order_id=cid, status=status, filled_qty=Decimal(filled), **fields
    )


def book_after(*events: OrderEvent) -> Orders:
    book = Orders()
    for event in (submitted(), *events):
        book.apply(event)
    return book


def order_of(book: Orders, cid: str = CID) -> Order:
    order = book.get(cid)
    assert order is not None
    return order


def refused(book: Orders, event: OrderEvent, match: str = "") -> OrderStateError:
    """Apply ``event``, which must raise OrderStateError and change nothing."""
    before = book.get(event.client_order_id)
    open_before = book.open_orders()
    with pytest.raises(OrderStateError, match=match) as raised:
        book.apply(event)
    assert book.get(event.client_order_id) is before
    assert book.open_orders() == open_before
    return raised.value


# ── the new facts in the codec ──────────────────────────────────────────────────────────────────


NEW_FACTS: list[Event] = [
    OrderStatusUnknown(ts_event=5, ts_init=6, client_order_id="c-1", reason="HTTP 504", seq=3),
    OrderStatusReport(
        ts_event=7,
        ts_init=8,
        client_order_id="c-1",
        venue="bybit",
        instrument="bybit-linear:ETHUSDT",
        side=Side.SELL,
        order_type=OrderType.STOP_LIMIT,
        quantity=Decimal("0.50"),
        status=RS.PARTIALLY_FILLED,
        filled_qty=Decimal("0.100"),
        venue_order_id="v-9",
        price=Decimal("2500.10"),
        avg_px=Decimal("2500.0999999999999999999999999999"),
        reason="reconciled",
        external=True,
    ),
    OrderStatusReport(
        ts_event=7,
        ts_init=8,
        client_order_id="c-2",
        venue="kis",
        instrument="krx:005930",
        side=Side.BUY,
        order_type=OrderType.MARKET,
        quantity=Decimal(3),
        status=RS.NOT_FOUND,
        filled_qty=Decimal(0),
    ),
    FillReport(
        ts_event=9,
        ts_init=10,
        client_order_id="c-1",
        instrument="bybit-linear:ETHUSDT",
        side=Side.SELL,
        trade_id="f-77",
        last_qty=Decimal("0.100"),
        last_px=Decimal("2500.10"),
        cum_qty=Decimal("0.100"),
        fee=Decimal("-0.00001"),
        fee_currency="USDT",
    ),
]


@pytest.mark.parametrize("fact", NEW_FACTS, ids=lambda f: type(f).__name__)
@pytest.mark.parametrize("encoding", ["json", "msgpack"])
def test_new_facts_round_trip_exactly(fact: Event, encoding: str) -> None:
    codec = Codec()
    if encoding == "json":
        back = codec.from_json(codec.to_json(fact))
    else:
        back = codec.from_msgpack(codec.to_msgpack(fact))
    assert type(back) is type(fact)
    assert back == fact
    # Decimal digits (trailing zeros, 32 significant digits) survive: money is never a float
    for name in fact.__struct_fields__:
        value = getattr(fact, name)
        if isinstance(value, Decimal):
            assert str(getattr(back, name)) == str(value)


def test_a_fill_report_is_tagged_apart_but_is_a_fill() -> None:
    report_ = NEW_FACTS[-1]
    encoded = Codec().to_json(report_)
    assert encoded.startswith(b'{"type":"FillReport"')
    assert isinstance(report_, OrderFilled)
    same_fields = {f: getattr(report_, f) for f in report_.__struct_fields__}
    assert OrderFilled(**same_fields) != report_  # a different fact, the same execution


def test_a_reported_status_outside_the_set_does_not_decode() -> None:
    encoded = Codec().to_json(NEW_FACTS[2]).replace(b'"not_found"', b'"pending_new"')
    with pytest.raises(msgspec.ValidationError, match="status"):
        Codec().from_json(encoded)


# ── fills after the end ─────────────────────────────────────────────────────────────────────────


def test_a_fill_that_overtook_the_cancel_ack_is_recorded_and_keeps_canceled() -> None:
    book = book_after(accepted(), pending_cancel(), canceled())
    assert book.apply(fill("t1", 3, 3)) is True
    order = order_of(book)
    assert order.status is S.CANCELED
    assert (order.filled_qty, order.executed_qty, order.trade_ids) == (3, 3, frozenset({"t1"}))
    assert order.reason == "user"
    assert book.open_orders() == []


def test_a_late_fill_that_completes_a_canceled_order_makes_it_filled() -> None:
    book = book_after(accepted(), canceled(), fill("t1", 3, 3))
    book.apply(fill("t2", 7, 10))
    assert order_of(book).status is S.FILLED
    assert order_of(book).reason == ""
    assert book.open_orders() == []


@pytest.mark.parametrize("end", [canceled(), expired()], ids=["canceled", "expired"])
def test_a_fill_after_the_end_must_still_fit_the_quantity(end: OrderEvent) -> None:
    book = book_after(accepted(), fill("t1", 8, 8), end)
    refused(book, fill("t2", 3, 11), "overfills")
    refused(book, fill("t2", 3, 8), "above the venue's cum_qty")


def test_a_fill_after_an_expiry_is_recorded_like_one_after_a_cancel() -> None:
    book = book_after(accepted(), expired(), fill("t1", 4, 4))
    assert order_of(book).status is S.EXPIRED
    assert order_of(book).filled_qty == 4
    book.apply(fill("t2", 6, 10))
    assert order_of(book).status is S.FILLED


def test_a_rejected_order_takes_no_fill() -> None:
    book = book_after(OrderRejected(ts_event=2, ts_init=2, client_order_id=CID, reason="margin"))
    assert order_of(book).reason == "margin"
    refused(book, fill("t1", 1, 1), "REJECTED")


def test_a_filled_order_takes_only_the_fills_still_missing() -> None:
    book = book_after(accepted(), fill("t2", 4, 10))  # cum_qty says 6 are missing
    assert order_of(book).status is S.FILLED
    refused(book, fill("t3", 7, 10), "above the venue's cum_qty")
    assert book.apply(reconciled("t1", 6, 6)) is True
    assert order_of(book).executed_qty == 10
    refused(book, fill("t9", 1, 10), "above the venue's cum_qty")


# ── repeated cancel requests ────────────────────────────────────────────────────────────────────


def test_a_repeated_cancel_request_changes_nothing() -> None:
    book = book_after(accepted(), fill("t1", 2, 2), pending_cancel())
    before = order_of(book)
    assert book.apply(pending_cancel()) is False
    assert order_of(book) is before
    assert before.before_cancel is S.PARTIALLY_FILLED
    book.apply(OrderCancelRejected(ts_event=3, ts_init=3, client_order_id=CID, reason="too late"))
    assert order_of(book).status is S.PARTIALLY_FILLED


# ── unknown outcomes ────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("path", "beneath"),
    [
        ((), S.SUBMITTED),
        ((accepted(),), S.ACCEPTED),
        ((accepted(), fill("t1", 1, 1)), S.PARTIALLY_FILLED),
        ((accepted(), pending_cancel()), S.PENDING_CANCEL),
    ],
    ids=["create", "stream-accepted", "stream-partial", "cancel"],
)
def test_a_timeout_makes_a_live_order_unknown_and_remembers_its_status(
    path: tuple[OrderEvent, ...], beneath: OrderStatus
) -> None:
    book = book_after(*path)
    before = order_of(book)
    assert book.apply(unknown("HTTP 504")) is True
    order = order_of(book)
    assert order.status is S.UNKNOWN
    assert order.before_unknown is beneath
    assert order.before_cancel is before.before_cancel
    assert order.reason == "HTTP 504"
    assert order.filled_qty == before.filled_qty
    assert book.open_orders() == [order]


def test_another_timeout_while_unknown_changes_nothing() -> None:
    book = book_after(unknown("create timed out"))
    before = order_of(book)
    assert book.apply(unknown("query timed out")) is False
    assert order_of(book) is before


@pytest.mark.parametrize(
    "path",
    [
        (accepted(), fill("t1", 10, 10)),
        (accepted(), canceled()),
        (OrderRejected(ts_event=2, ts_init=2, client_order_id=CID, reason="r"),),
        (accepted(), expired()),
    ],
    ids=["filled", "canceled", "rejected", "expired"],
)
def test_a_timeout_on_a_terminal_order_changes_nothing(path: tuple[OrderEvent, ...]) -> None:
    book = book_after(*path)
    before = order_of(book)
    assert book.apply(unknown()) is False
    assert order_of(book) is before


def test_the_late_ack_of_a_timed_out_create_resolves_it() -> None:
    book = book_after(unknown())
    book.apply(accepted("V-7"))
    order = order_of(book)
    assert (order.status, order.before_unknown, order.venue_order_id) == (S.ACCEPTED, None, "V-7")
    assert order.reason == ""


def test_partial_fills_keep_unknown_and_move_the_status_beneath() -> None:
    book = book_after(unknown(), fill("t1", 2, 2))
    order = order_of(book)
    assert (order.status, order.before_unknown, order.filled_qty) == (S.UNKNOWN, S.PARTIALLY_FILLED, 2)
    book.apply(accepted())  # the ack a fill overtook: resolves to what the fill made of it
    assert order_of(book).status is S.PARTIALLY_FILLED


def test_a_fill_that_completes_an_unknown_order_makes_it_filled() -> None:
    book = book_after(unknown(), reconciled("t1", 10, 10))
    assert order_of(book).status is S.FILLED
    assert order_of(book).before_unknown is None


def test_the_cancel_outcome_of_a_timed_out_cancel_resolves_it() -> None:
    book = book_after(accepted(), pending_cancel(), unknown("cancel timed out"))
    book.apply(OrderCancelRejected(ts_event=4, ts_init=4, client_order_id=CID, reason="unknown order"))
    order = order_of(book)
    assert (order.status, order.before_cancel, order.before_unknown) == (S.ACCEPTED, None, None)
    book = book_after(accepted(), pending_cancel(), unknown("cancel timed out"), canceled())
    assert order_of(book).status is S.CANCELED


def test_news_while_unknown_must_be_legal_from_the_status_before() -> None:
    book = book_after(accepted(), unknown())
    rejected = OrderRejected(ts_event=4, ts_init=4, client_order_id=CID, reason="r")
    refused(book, rejected, "not legal from ACCEPTED, the status before the unknown outcome")
    refused(book, OrderCancelRejected(ts_event=4, ts_init=4, client_order_id=CID, reason="r"), "ACCEPTED")


def test_a_cancel_requested_while_unknown_waits_beneath_it() -> None:
    book = book_after(unknown(), pending_cancel())
    order = order_of(book)
    assert (order.status, order.before_unknown, order.before_cancel) == (
        S.UNKNOWN,
        S.PENDING_CANCEL,
        S.SUBMITTED,
    )
    book.apply(report(RS.ACCEPTED))
    order = order_of(book)
    assert (order.status, order.before_unknown, order.before_cancel) == (S.ACCEPTED, None, None)


# ── status reports ──────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("reported", "filled", "expected"),
    [
        (RS.ACCEPTED, 0, S.ACCEPTED),
        (RS.PARTIALLY_FILLED, 4, S.PARTIALLY_FILLED),
        (RS.ACCEPTED, 4, S.PARTIALLY_FILLED),  # filled_qty decides between the working statuses
        (RS.FILLED, 10, S.FILLED),
        (RS.CANCELED, 4, S.CANCELED),
        (RS.CANCELED, 10, S.FILLED),  # nothing was left to cancel
        (RS.EXPIRED, 0, S.EXPIRED),
        (RS.REJECTED, 0, S.REJECTED),
    ],
)
def test_a_report_resolves_an_unknown_order_to_what_the_venue_says(
    reported: RS, filled: int, expected: OrderStatus
) -> None:
    book = book_after(unknown())
    book.apply(report(reported, filled, reason="venue says so"))
    order = order_of(book)
    assert (order.status, order.before_unknown, order.filled_qty) == (expected, None, filled)
    assert order.venue_order_id == "V-1"
    assert order.executed_qty == 0  # the fills behind the report are for reconciliation to fetch
    assert order.reason == "venue says so"


def test_not_found_after_a_timed_out_create_proves_the_venue_never_got_it() -> None:
    book = book_after(unknown())
    assert book.apply(report(RS.NOT_FOUND)) is True
    order = order_of(book)
    assert order.status is S.REJECTED
    assert order.reason == NOT_FOUND_AT_VENUE
    assert book.open_orders() == []


def test_not_found_after_a_timed_out_cancel_of_a_never_acknowledged_order_proves_it_too() -> None:
    book = book_after(pending_cancel(), unknown("cancel timed out"))
    book.apply(report(RS.NOT_FOUND))
    assert order_of(book).status is S.REJECTED


def test_not_found_without_a_timeout_proves_nothing_and_changes_nothing() -> None:
    book = book_after()
    before = order_of(book)
    assert book.apply(report(RS.NOT_FOUND)) is False
    assert order_of(book) is before


@pytest.mark.parametrize(
    "path",
    [
        (accepted(), unknown()),
        (unknown(), fill("t1", 1, 1)),
        (accepted(),),
        (accepted(), pending_cancel(), unknown()),
    ],
    ids=["acknowledged-unknown", "filled-unknown", "acknowledged", "acknowledged-cancel-unknown"],
)
def test_not_found_for_an_order_the_venue_knew_is_an_error(path: tuple[OrderEvent, ...]) -> None:
    book = book_after(*path)
    refused(book, report(RS.NOT_FOUND), "not_found")


def test_a_report_moves_a_known_order_forward_when_reconciling() -> None:
    book = book_after()
    book.apply(report(RS.ACCEPTED))
    assert (order_of(book).status, order_of(book).venue_order_id) == (S.ACCEPTED, "V-1")
    book.apply(report(RS.CANCELED, 2))
    order = order_of(book)
    assert (order.status, order.filled_qty, order.executed_qty) == (S.CANCELED, 2, 0)


@pytest.mark.parametrize(
    ("path", "stale"),
    [
        ((accepted(), fill("t1", 10, 10)), report(RS.ACCEPTED)),
        ((accepted(), fill("t1", 10, 10)), report(RS.PARTIALLY_FILLED, 4)),
        ((accepted(), canceled()), report(RS.ACCEPTED)),
        ((accepted(), expired()), report(RS.ACCEPTED)),
        ((accepted(), canceled()), report(RS.EXPIRED)),
        ((accepted(), fill("t1", 5, 5)), report(RS.ACCEPTED, 2)),
        ((accepted(), fill("t1", 5, 5)), report(RS.PARTIALLY_FILLED, 3)),
        ((accepted(), pending_cancel()), report(RS.ACCEPTED)),
    ],
    ids=[
        "filled-accepted",
        "filled-partial",
        "canceled-accepted",
        "expired-accepted",
        "canceled-expired",
        "partial-lower",
        "partial-lower-partial",
        "pending-cancel-accepted",
    ],
)
def test_a_stale_report_is_ignored_not_an_error(
    path: tuple[OrderEvent, ...], stale: OrderStatusReport
) -> None:
    book = book_after(*path)
    before = order_of(book)
    assert book.apply(stale) is False
    assert order_of(book) is before


def test_a_report_above_the_fills_seen_keeps_the_venue_truth_and_exposes_the_gap() -> None:
    book = book_after(accepted(), fill("t1", 2, 2))
    book.apply(report(RS.PARTIALLY_FILLED, 5))
    order = order_of(book)
    assert (order.filled_qty, order.executed_qty) == (5, 2)
    # reconciliation fetches the missing fills, since the last trade id it knows
    book.apply(reconciled("t2", 3, 5))
    assert order_of(book).executed_qty == 5
    refused(book, reconciled("t3", 1, 5), "above the venue's cum_qty")


def test_a_filled_report_with_no_fills_seen_leaves_them_all_to_fetch() -> None:
    book = book_after(unknown())
    book.apply(report(RS.FILLED, 10))
    assert (order_of(book).status, order_of(book).executed_qty) == (S.FILLED, 0)
    book.apply(reconciled("t1", 4, 4))
    book.apply(reconciled("t2", 6, 10))
    assert order_of(book).executed_qty == 10
    assert order_of(book).avg_px == 100


@pytest.mark.parametrize("end", [canceled(), expired()], ids=["canceled", "expired"])
def test_a_filled_report_for_an_ended_order_makes_it_filled(end: OrderEvent) -> None:
    book = book_after(accepted(), fill("t1", 3, 3), end)
    book.apply(report(RS.FILLED, 10))
    assert order_of(book).status is S.FILLED


@pytest.mark.parametrize(
    ("path", "bad", "match"),
    [
        ((accepted(), fill("t1", 5, 5)), report(RS.CANCELED, 3), "below the 5 already filled"),
        ((accepted(), fill("t1", 5, 5)), report(RS.REJECTED), "below the 5 already filled"),
        ((accepted(),), report(RS.ACCEPTED, 10), "all of 10 filled"),
        ((accepted(),), report(RS.FILLED, 9), "filled_qty 9 of 10"),
        ((accepted(),), report(RS.REJECTED, 1), "never executed"),
        ((unknown(),), report(RS.NOT_FOUND, 1), "never executed"),
        ((unknown(),), report(RS.NOT_FOUND, venue_order_id="V-1"), "venue order id"),
        ((accepted(),), report(RS.CANCELED, 11), "overfills"),
        ((accepted(),), report(RS.ACCEPTED, "NaN"), "finite"),
        ((accepted(),), report(RS.ACCEPTED, -1), "not negative"),
        ((accepted(),), report(RS.ACCEPTED, quantity=Decimal("sNaN")), "positive"),
        ((accepted(),), report(RS.ACCEPTED, quantity=Decimal(11)), "is for"),
        ((accepted(),), report(RS.ACCEPTED, side=Side.SELL), "is for"),
        ((accepted(),), report(RS.ACCEPTED, instrument="binance-spot:ETHUSDT"), "is for"),
        ((accepted(),), report(RS.ACCEPTED, venue="bybit"), "is for"),
        ((accepted(),), report(RS.ACCEPTED, venue_order_id="V-2"), "acknowledged it as 'V-1'"),
        (
            (OrderRejected(ts_event=2, ts_init=2, client_order_id=CID, reason="r"),),
            report(RS.ACCEPTED),
            "REJECTED",
        ),
        ((unknown(), report(RS.NOT_FOUND)), report(RS.CANCELED), "REJECTED"),
        ((accepted(), canceled()), report(RS.REJECTED), "CANCELED"),
    ],
    ids=[
        "final-below-fills",
        "rejected-below-fills",
        "working-all-filled",
        "filled-short",
        "rejected-with-fills",
        "not-found-with-fills",
        "not-found-with-id",
        "overfill",
        "nan",
        "negative",
        "snan-quantity",
        "other-quantity",
        "other-side",
        "other-instrument",
        "other-venue",
        "other-venue-order-id",
        "rejected-then-working",
        "not-found-then-existing",
        "canceled-then-rejected",
    ],
)
def test_a_report_that_contradicts_itself_or_the_facts_is_an_error(
    path: tuple[OrderEvent, ...], bad: OrderStatusReport, match: str
) -> None:
    book = book_after(*path)
    error = refused(book, bad, match)
    assert CID in str(error)
    assert error.code == "VT400"


def test_the_stream_ack_after_a_report_is_a_duplicate() -> None:
    book = book_after(unknown(), report(RS.ACCEPTED))
    before = order_of(book)
    assert book.apply(accepted("V-1")) is False
    assert order_of(book) is before
    refused(book, accepted("V-2"), "is not a legal transition")


# ── adoption ────────────────────────────────────────────────────────────────────────────────────


def test_an_external_report_adopts_an_order_the_journal_never_saw() -> None:
    book = Orders()
    assert (
        book.apply(report(RS.PARTIALLY_FILLED, 4, cid="manual-1", external=True, price=Decimal(99))) is True
    )
    order = order_of(book, "manual-1")
    assert order.external
    assert (order.strategy, order.venue, order.instrument, order.quantity, order.price) == (
        "",
        "binance",
        SYMBOL,
        QTY,
        Decimal(99),
    )
    assert (order.status, order.filled_qty, order.executed_qty) == (S.PARTIALLY_FILLED, 4, 0)
    assert book.open_orders() == [order]
    assert book.open_orders("s1") == []
    # its fills come next, then it goes on like any order
    book.apply(reconciled("m1", 4, 4, cid="manual-1"))
    book.apply(report(RS.CANCELED, 4, cid="manual-1"))
    assert order_of(book, "manual-1").status is S.CANCELED
    assert book.open_orders() == []


def test_an_external_report_of_an_ended_order_adopts_it_closed() -> None:
    book = Orders()
    book.apply(report(RS.FILLED, 10, cid="manual-2", external=True))
    assert order_of(book, "manual-2").status is S.FILLED
    assert book.open_orders() == []


def test_a_report_for_an_unknown_id_not_marked_external_is_still_an_error() -> None:
    book = Orders()
    with pytest.raises(OrderStateError, match="unknown order"):
        book.apply(report(RS.ACCEPTED, cid="nobody"))
    assert "nobody" not in book


def test_an_external_not_found_adopts_nothing() -> None:
    book = Orders()
    with pytest.raises(OrderStateError, match="does not have"):
        book.apply(report(RS.NOT_FOUND, cid="nobody", external=True))
    assert len(book) == 0


def test_an_external_report_for_a_known_order_is_a_report() -> None:
    book = book_after()
    book.apply(report(RS.ACCEPTED, external=True))
    assert order_of(book).status is S.ACCEPTED
    assert not order_of(book).external


# ── fills seen twice: the stream and the reconciliation ────────────────────────────────────────


@pytest.mark.parametrize("first", [OrderFilled, FillReport], ids=lambda k: k.__name__)
def test_a_fill_seen_on_the_stream_and_by_reconciliation_folds_once(first: type[OrderFilled]) -> None:
    second = FillReport if first is OrderFilled else OrderFilled
    book = book_after(accepted(), fill("t1", 3, 3, kind=first))
    before = order_of(book)
    assert book.apply(fill("t1", 3, 3, kind=second)) is False
    assert order_of(book) is before
    assert book.duplicate_fills == 1
    assert before.executed_qty == 3


# ── invariants are errors, never asserts ────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("broken", "event", "match"),
    [
        (
            {"status": S.PENDING_CANCEL},
            OrderCancelRejected(ts_event=1, ts_init=1, client_order_id=CID, reason="x"),
            "before the cancel",
        ),
        ({"status": S.PENDING_CANCEL}, fill("t1", 1, 1), "before the cancel"),
        ({"status": S.UNKNOWN}, accepted(), "before the unknown"),
    ],
    ids=["cancel-reject", "fill-in-pending-cancel", "unknown"],
)
def test_a_broken_invariant_raises_a_typed_error(
    broken: dict[str, Any], event: OrderEvent, match: str
) -> None:
    order = msgspec.structs.replace(Order.from_submitted(submitted()), **broken)
    with pytest.raises(OrderStateError, match=match):
        order.apply(event)
