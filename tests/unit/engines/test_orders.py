"""The order state machine: its table, fill dedup, cum_qty truth, and the Orders fold."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, localcontext
from typing import Any

import pytest

from engines.errors import OrderStateError
from engines.model.enums import OrderType, ReportedStatus, Side
from engines.model.events import (
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
from engines.orders.table import TRANSITIONS, Fill, OrderStatus, Report, Trigger

S = OrderStatus
CID = "s1-0001"
QTY = Decimal(10)


def submitted(cid: str = CID, qty: Decimal = QTY, strategy: str = "s1") -> OrderSubmitted:
    return OrderSubmitted(
        ts_event=1,
        ts_init=1,
        strategy=strategy,
        client_order_id=cid,
        instrument="binance-spot:BTCUSDT",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=qty,
        price=Decimal("100"),
        arb_id="arb-7",
        leg=1,
        aligned_ts_ns=(5, 9),
    )


def fill(
    trade_id: str,
    last_qty: Decimal | int,
    cum_qty: Decimal | int,
    last_px: Decimal | int = 100,
    cid: str = CID,
    **kw: Any,
) -> OrderFilled:
    fields: dict[str, Any] = {
        "instrument": "binance-spot:BTCUSDT",
        "side": Side.BUY,
        "fee": Decimal(0),
        "fee_currency": "USDT",
    }
    fields.update(kw)
    return OrderFilled(
        ts_event=2,
        ts_init=2,
        client_order_id=cid,
        trade_id=trade_id,
        last_qty=Decimal(last_qty),
        cum_qty=Decimal(cum_qty),
        last_px=Decimal(last_px),
        **fields,
    )


def accepted(cid: str = CID, venue_order_id: str | None = None) -> OrderAccepted:
    vid = "V-" + cid if venue_order_id is None else venue_order_id
    return OrderAccepted(ts_event=2, ts_init=2, client_order_id=cid, venue_order_id=vid)


def rejected(cid: str = CID) -> OrderRejected:
    return OrderRejected(ts_event=2, ts_init=2, client_order_id=cid, reason="insufficient balance")


def pending_cancel(cid: str = CID) -> OrderPendingCancel:
    return OrderPendingCancel(ts_event=2, ts_init=2, client_order_id=cid)


def cancel_rejected(cid: str = CID) -> OrderCancelRejected:
    return OrderCancelRejected(ts_event=2, ts_init=2, client_order_id=cid, reason="too late")


def canceled(cid: str = CID) -> OrderCanceled:
    return OrderCanceled(ts_event=2, ts_init=2, client_order_id=cid)


def expired(cid: str = CID) -> OrderExpired:
    return OrderExpired(ts_event=2, ts_init=2, client_order_id=cid)


def unknown(cid: str = CID) -> OrderStatusUnknown:
    return OrderStatusUnknown(ts_event=2, ts_init=2, client_order_id=cid, reason="timeout")


def report(status: ReportedStatus, filled: Decimal | int, cid: str = CID, **kw: Any) -> OrderStatusReport:
    fields: dict[str, Any] = {
        "venue": "sim",
        "instrument": "binance-spot:BTCUSDT",
        "side": Side.BUY,
        "order_type": OrderType.LIMIT,
        "quantity": QTY,
    }
    fields.update(kw)
    return OrderStatusReport(
        ts_event=3, ts_init=3, client_order_id=cid, status=status, filled_qty=Decimal(filled), **fields
    )


def book_after(*events: OrderEvent) -> Orders:
    book = Orders()
    for event in (submitted(), *events):
        book.apply(event)
    return book


def current(book: Orders, cid: str = CID) -> Order:
    order = book.get(cid)
    assert order is not None
    return order


# Paths that bring an order to a status, named for what they exercise.
PATHS: dict[str, tuple[OrderEvent, ...]] = {
    "submitted": (),
    "accepted": (accepted(),),
    "partially_filled": (accepted(), fill("t1", 2, 2)),
    "filled_before_ack": (fill("t1", 2, 2),),
    "pending_cancel": (pending_cancel(),),
    "filled": (accepted(), fill("t1", 10, 10)),
    "filled_with_gap": (accepted(), fill("t2", 4, 10)),  # a fill of 6 is still missing
    "canceled": (accepted(), canceled()),
    "rejected": (rejected(),),
    "expired": (accepted(), expired()),
    "unknown": (unknown(),),  # the create timed out
    "cancel_unknown": (accepted(), pending_cancel(), unknown()),  # the cancel timed out
}


def trigger_event(trigger: Trigger, order: Order) -> OrderEvent:
    """A fresh event of the trigger's kind for ``order``: fills take the next trade id, acks a new
    venue order id, reports the quantity that makes the report take the trigger's row."""
    if trigger is Fill.PARTIAL:
        return fill("t-next", 1, order.filled_qty + 1)
    if trigger is Fill.FULL:
        return fill("t-next", order.quantity - order.executed_qty, order.quantity)
    if isinstance(trigger, Report):
        working = min(order.filled_qty + 1, order.quantity - 1)
        reports: dict[Report, tuple[ReportedStatus, Decimal]] = {
            Report.ACCEPTED: (ReportedStatus.ACCEPTED, Decimal(0)),
            Report.PARTIALLY_FILLED: (ReportedStatus.PARTIALLY_FILLED, working),
            Report.FILLED: (ReportedStatus.FILLED, order.quantity),
            Report.CANCELED: (ReportedStatus.CANCELED, order.filled_qty),
            Report.EXPIRED: (ReportedStatus.EXPIRED, order.filled_qty),
            Report.REJECTED: (ReportedStatus.REJECTED, Decimal(0)),
            Report.NOT_FOUND: (ReportedStatus.NOT_FOUND, Decimal(0)),
        }
        return report(*reports[trigger])
    makers: dict[Trigger, Callable[[], OrderEvent]] = {
        OrderAccepted: lambda: accepted(venue_order_id="V-next"),
        OrderRejected: rejected,
        OrderPendingCancel: pending_cancel,
        OrderCancelRejected: cancel_rejected,
        OrderCanceled: canceled,
        OrderExpired: expired,
        OrderStatusUnknown: unknown,
    }
    return makers[trigger]()


# The specification, written out independently of the module's table: (path, event, next status).
LEGAL: list[tuple[str, Trigger, OrderStatus]] = [
    ("submitted", OrderAccepted, S.ACCEPTED),
    ("submitted", OrderRejected, S.REJECTED),
    ("submitted", Fill.PARTIAL, S.PARTIALLY_FILLED),
    ("submitted", Fill.FULL, S.FILLED),
    ("submitted", OrderPendingCancel, S.PENDING_CANCEL),
    ("submitted", OrderCanceled, S.CANCELED),
    ("submitted", OrderExpired, S.EXPIRED),
    ("accepted", Fill.PARTIAL, S.PARTIALLY_FILLED),
    ("accepted", Fill.FULL, S.FILLED),
    ("accepted", OrderPendingCancel, S.PENDING_CANCEL),
    ("accepted", OrderCanceled, S.CANCELED),
    ("accepted", OrderExpired, S.EXPIRED),
    ("filled_before_ack", OrderAccepted, S.PARTIALLY_FILLED),
    ("partially_filled", Fill.PARTIAL, S.PARTIALLY_FILLED),
    ("partially_filled", Fill.FULL, S.FILLED),
    ("partially_filled", OrderPendingCancel, S.PENDING_CANCEL),
    ("partially_filled", OrderCanceled, S.CANCELED),
    ("partially_filled", OrderExpired, S.EXPIRED),
    ("pending_cancel", OrderAccepted, S.PENDING_CANCEL),
    ("pending_cancel", OrderRejected, S.REJECTED),
    ("pending_cancel", Fill.PARTIAL, S.PENDING_CANCEL),
    ("pending_cancel", Fill.FULL, S.FILLED),
    ("pending_cancel", OrderCancelRejected, S.SUBMITTED),
    ("pending_cancel", OrderCanceled, S.CANCELED),
    ("pending_cancel", OrderExpired, S.EXPIRED),
    # ── a real venue: late answers, timeouts, queries, reconciliation ──
    # a repeated cancel request changes nothing
    ("pending_cancel", OrderPendingCancel, S.PENDING_CANCEL),
    # a timeout: the create, the stream (working orders), the cancel, the query
    ("submitted", OrderStatusUnknown, S.UNKNOWN),
    ("accepted", OrderStatusUnknown, S.UNKNOWN),
    ("partially_filled", OrderStatusUnknown, S.UNKNOWN),
    ("pending_cancel", OrderStatusUnknown, S.UNKNOWN),
    ("unknown", OrderStatusUnknown, S.UNKNOWN),
    # ... and a terminal order's state no longer depends on any request
    ("filled", OrderStatusUnknown, S.FILLED),
    ("canceled", OrderStatusUnknown, S.CANCELED),
    ("rejected", OrderStatusUnknown, S.REJECTED),
    ("expired", OrderStatusUnknown, S.EXPIRED),
    # news while unknown: legal from the status before, which it moves on
    ("unknown", OrderAccepted, S.ACCEPTED),
    ("unknown", OrderRejected, S.REJECTED),
    ("unknown", Fill.PARTIAL, S.UNKNOWN),
    ("unknown", Fill.FULL, S.FILLED),
    ("unknown", OrderPendingCancel, S.UNKNOWN),
    ("cancel_unknown", OrderCancelRejected, S.ACCEPTED),
    ("unknown", OrderCanceled, S.CANCELED),
    ("unknown", OrderExpired, S.EXPIRED),
    # a report answers the query: whatever the venue says, if legal from the status before
    ("unknown", Report.ACCEPTED, S.ACCEPTED),
    ("unknown", Report.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    ("unknown", Report.FILLED, S.FILLED),
    ("unknown", Report.CANCELED, S.CANCELED),
    ("unknown", Report.EXPIRED, S.EXPIRED),
    ("unknown", Report.REJECTED, S.REJECTED),
    ("unknown", Report.NOT_FOUND, S.REJECTED),
    # reports outside UNKNOWN (reconciliation): forward, or ignored when stale
    ("submitted", Report.ACCEPTED, S.ACCEPTED),
    ("submitted", Report.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    ("submitted", Report.FILLED, S.FILLED),
    ("submitted", Report.CANCELED, S.CANCELED),
    ("submitted", Report.EXPIRED, S.EXPIRED),
    ("submitted", Report.REJECTED, S.REJECTED),
    ("submitted", Report.NOT_FOUND, S.SUBMITTED),
    ("accepted", Report.ACCEPTED, S.ACCEPTED),
    ("accepted", Report.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    ("accepted", Report.FILLED, S.FILLED),
    ("accepted", Report.CANCELED, S.CANCELED),
    ("accepted", Report.EXPIRED, S.EXPIRED),
    ("partially_filled", Report.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    ("partially_filled", Report.FILLED, S.FILLED),
    ("partially_filled", Report.CANCELED, S.CANCELED),
    ("partially_filled", Report.EXPIRED, S.EXPIRED),
    ("pending_cancel", Report.ACCEPTED, S.PENDING_CANCEL),
    ("pending_cancel", Report.PARTIALLY_FILLED, S.PENDING_CANCEL),
    ("pending_cancel", Report.FILLED, S.FILLED),
    ("pending_cancel", Report.CANCELED, S.CANCELED),
    ("pending_cancel", Report.EXPIRED, S.EXPIRED),
    ("pending_cancel", Report.REJECTED, S.REJECTED),
    ("pending_cancel", Report.NOT_FOUND, S.PENDING_CANCEL),
    # terminal: fills from before the end, the venue's truth of a full fill, stale reports
    ("filled_with_gap", Fill.FULL, S.FILLED),
    ("filled", Report.PARTIALLY_FILLED, S.FILLED),
    ("filled", Report.FILLED, S.FILLED),
    ("filled", Report.NOT_FOUND, S.FILLED),
    ("canceled", Fill.PARTIAL, S.CANCELED),
    ("canceled", Fill.FULL, S.FILLED),
    ("canceled", Report.ACCEPTED, S.CANCELED),
    ("canceled", Report.PARTIALLY_FILLED, S.CANCELED),
    ("canceled", Report.FILLED, S.FILLED),
    ("canceled", Report.CANCELED, S.CANCELED),
    ("canceled", Report.EXPIRED, S.CANCELED),
    ("canceled", Report.NOT_FOUND, S.CANCELED),
    ("expired", Fill.PARTIAL, S.EXPIRED),
    ("expired", Fill.FULL, S.FILLED),
    ("expired", Report.ACCEPTED, S.EXPIRED),
    ("expired", Report.PARTIALLY_FILLED, S.EXPIRED),
    ("expired", Report.FILLED, S.FILLED),
    ("expired", Report.CANCELED, S.EXPIRED),
    ("expired", Report.EXPIRED, S.EXPIRED),
    ("expired", Report.NOT_FOUND, S.EXPIRED),
    ("rejected", Report.REJECTED, S.REJECTED),
    ("rejected", Report.NOT_FOUND, S.REJECTED),
]


def _name(trigger: Trigger) -> str:
    return trigger.value if isinstance(trigger, Fill | Report) else trigger.__name__


def test_table_has_exactly_the_specified_rows() -> None:
    specified = {(current(book_after(*PATHS[path])).status, t) for path, t, _ in LEGAL}
    assert specified == set(TRANSITIONS)


@pytest.mark.parametrize(("path", "trigger", "expected"), LEGAL, ids=[f"{p}-{_name(t)}" for p, t, _ in LEGAL])
def test_legal_transition_reaches_the_specified_status(
    path: str, trigger: Trigger, expected: OrderStatus
) -> None:
    book = book_after(*PATHS[path])
    before = current(book)
    changed = book.apply(trigger_event(trigger, before))
    assert current(book).status is expected
    # True exactly when the order changed (a stale report or a repeated request changes nothing)
    assert changed is (current(book) is not before)


ILLEGAL: list[tuple[str, Trigger]] = [
    ("submitted", OrderCancelRejected),
    ("accepted", OrderAccepted),  # under another venue order id: the same one is a duplicate
    ("accepted", OrderRejected),
    ("accepted", OrderCancelRejected),
    ("partially_filled", OrderAccepted),  # acknowledged already
    ("partially_filled", OrderRejected),
    ("partially_filled", OrderCancelRejected),
    # the venue acknowledged it, then says it never had it, or rejected it: unexplained
    ("accepted", Report.REJECTED),
    ("accepted", Report.NOT_FOUND),
    ("partially_filled", Report.REJECTED),
    ("partially_filled", Report.NOT_FOUND),
    # news while unknown that is not legal from the status before the unknown outcome
    ("unknown", OrderCancelRejected),
    ("cancel_unknown", OrderRejected),
    ("cancel_unknown", Report.REJECTED),
    ("cancel_unknown", Report.NOT_FOUND),
]


@pytest.mark.parametrize(("path", "trigger"), ILLEGAL, ids=[f"{p}-{_name(t)}" for p, t in ILLEGAL])
def test_illegal_transition_raises_and_changes_nothing(path: str, trigger: Trigger) -> None:
    book = book_after(*PATHS[path])
    before = current(book)
    event = trigger_event(trigger, before)
    with pytest.raises(OrderStateError) as raised:
        book.apply(event)
    message = str(raised.value)
    assert CID in message
    assert before.status.name in message
    assert type(event).__name__ in message
    assert current(book) is before


@pytest.mark.parametrize("trigger", [OrderAccepted, OrderRejected], ids=_name)
def test_pending_cancel_admits_ack_or_reject_only_if_legal_beneath(trigger: Trigger) -> None:
    book = book_after(accepted(), pending_cancel())
    before = current(book)
    with pytest.raises(OrderStateError, match="before the cancel"):
        book.apply(trigger_event(trigger, before))
    assert current(book) is before


TERMINAL_PATHS = ["filled", "canceled", "rejected", "expired"]
EVERY_TRIGGER: list[Trigger] = [
    OrderAccepted,
    OrderRejected,
    Fill.PARTIAL,
    Fill.FULL,
    OrderPendingCancel,
    OrderCancelRejected,
    OrderCanceled,
    OrderExpired,
    OrderStatusUnknown,
    *Report,
]
# Rows a report cannot take from a status: its filled_qty makes it take another (a working report
# for an order with fills is a partially_filled one; a canceled one with all filled, a filled one).
UNREACHABLE: set[tuple[str, Trigger]] = {
    ("filled", Report.ACCEPTED),
    ("filled", Report.CANCELED),
    ("filled", Report.EXPIRED),
}
SPECIFIED = {(p, t) for p, t, _ in LEGAL}
NO_ROW = [(p, t) for p in TERMINAL_PATHS for t in EVERY_TRIGGER if (p, t) not in SPECIFIED | UNREACHABLE]


@pytest.mark.parametrize(("path", "trigger"), NO_ROW, ids=[f"{p}-{_name(t)}" for p, t in NO_ROW])
def test_terminal_status_rejects_every_event_it_has_no_row_for(path: str, trigger: Trigger) -> None:
    book = book_after(*PATHS[path])
    before = current(book)
    assert before.status.is_terminal
    with pytest.raises(OrderStateError, match=before.status.name):
        book.apply(trigger_event(trigger, before))
    assert current(book) is before
    assert book.open_orders() == []


@pytest.mark.parametrize("path", TERMINAL_PATHS)
def test_terminal_status_stays_terminal_except_a_late_full_fill(path: str) -> None:
    """Every row out of a terminal status leads to itself, or to FILLED from CANCELED or EXPIRED."""
    status = current(book_after(*PATHS[path])).status
    for (start, _), target in TRANSITIONS.items():
        if start is status:
            assert target is status or (target is S.FILLED and status in (S.CANCELED, S.EXPIRED))


@pytest.mark.parametrize("path", TERMINAL_PATHS)
def test_terminal_status_rejects_a_resubmission(path: str) -> None:
    book = book_after(*PATHS[path])
    before = current(book)
    with pytest.raises(OrderStateError, match="already in use"):
        book.apply(submitted())
    assert current(book) is before


def test_terminal_order_ignores_a_resent_final_fill() -> None:
    book = book_after(*PATHS["filled"])
    before = current(book)
    assert book.apply(fill("t1", 10, 10)) is False
    assert current(book) is before
    assert book.duplicate_fills == 1


# ── fills ───────────────────────────────────────────────────────────────────────────────────────


def test_duplicate_trade_id_is_ignored_and_counted() -> None:
    book = book_after(accepted(), fill("t1", 3, 3, last_px=101))
    before = current(book)
    assert book.apply(fill("t1", 3, 3, last_px=101)) is False
    # The same trade id with different numbers is still the same execution.
    assert book.apply(fill("t1", 5, 8, last_px=99)) is False
    assert current(book) is before
    assert book.duplicate_fills == 2
    assert before.filled_qty == 3
    assert before.trade_ids == frozenset({"t1"})


def test_trade_ids_are_deduplicated_per_order() -> None:
    book = book_after(submitted("other"))
    assert book.apply(fill("t1", 1, 1)) is True
    assert book.apply(fill("t1", 1, 1, cid="other")) is True
    assert book.duplicate_fills == 0


def test_cum_qty_is_the_truth_when_fills_are_missing() -> None:
    book = book_after(accepted())
    book.apply(fill("t3", 1, 4, last_px=102))  # t1 and t2 never arrived (yet)
    order = current(book)
    assert order.filled_qty == 4
    assert order.executed_qty == 1
    assert order.avg_px == Decimal(102)
    assert order.status is S.PARTIALLY_FILLED


def test_late_fill_is_recorded_but_filled_qty_never_goes_down() -> None:
    book = book_after(accepted(), fill("t2", 2, 5, last_px=102))
    assert book.apply(fill("t1", 3, 3, last_px=100)) is True
    order = current(book)
    assert order.filled_qty == 5
    assert order.trade_ids == frozenset({"t1", "t2"})
    assert order.executed_qty == 5
    assert order.avg_px == Decimal("100.8")  # (2*102 + 3*100) / 5
    assert book.late_fills == 1
    assert order.status is S.PARTIALLY_FILLED


def test_fills_that_exceed_the_venue_cum_qty_raise() -> None:
    book = book_after(accepted(), fill("t1", 2, 2))
    before = current(book)
    with pytest.raises(OrderStateError, match="above the venue's cum_qty"):
        book.apply(fill("t2", 2, 3))
    assert current(book) is before


def test_overfill_raises_and_changes_nothing() -> None:
    book = book_after(accepted(), fill("t1", 8, 8))
    before = current(book)
    with pytest.raises(OrderStateError, match="overfills") as raised:
        book.apply(fill("t2", 3, 11))
    assert CID in str(raised.value)
    assert current(book) is before


@pytest.mark.parametrize(
    ("last_qty", "cum_qty", "last_px"),
    [
        ("0", "1", "100"),
        ("-1", "1", "100"),
        ("NaN", "1", "100"),
        ("1", "NaN", "100"),
        ("1", "1", "sNaN"),
        ("1", "Infinity", "100"),
        ("2", "1", "100"),  # a cum_qty that does not include its own fill
    ],
)
def test_malformed_fill_raises(last_qty: str, cum_qty: str, last_px: str) -> None:
    book = book_after(accepted())
    before = current(book)
    with pytest.raises(OrderStateError):
        book.apply(fill("t1", Decimal(last_qty), Decimal(cum_qty), Decimal(last_px)))
    assert current(book) is before


@pytest.mark.parametrize(
    "wrong", [{"side": Side.SELL}, {"instrument": "binance-spot:ETHUSDT"}], ids=["side", "instr"]
)
def test_fill_for_another_side_or_instrument_raises(wrong: dict[str, Any]) -> None:
    book = book_after(accepted())
    with pytest.raises(OrderStateError, match="is for"):
        book.apply(fill("t1", 1, 1, **wrong))


def test_fill_that_cannot_be_summed_exactly_raises() -> None:
    book = Orders()
    book.apply(submitted(qty=Decimal("2E+20")))
    book.apply(fill("t1", Decimal("1E+20"), Decimal("1E+20")))
    before = current(book)
    with pytest.raises(OrderStateError, match="exactly"):
        book.apply(fill("t2", Decimal("1E-60"), Decimal("1E+20")))
    assert current(book) is before


def test_avg_px_is_the_exact_quantity_weighted_price() -> None:
    book = book_after(accepted())
    assert current(book).avg_px is None
    book.apply(fill("t1", Decimal("1"), Decimal("1"), Decimal("100.1")))
    book.apply(fill("t2", Decimal("2"), Decimal("3"), Decimal("100.4")))
    assert current(book).avg_px == Decimal("100.3")
    assert current(book).notional == Decimal("300.9")


def test_avg_px_does_not_depend_on_the_callers_decimal_context() -> None:
    book = book_after(accepted(), fill("t1", 1, 1, 1), fill("t2", 2, 3, 2))
    expected = Decimal(5) / Decimal(3)  # default context: 28 digits
    with localcontext() as ctx:
        ctx.prec = 5
        assert current(book).avg_px == expected


def test_full_fill_is_filled_with_the_venue_quantity() -> None:
    book = book_after(accepted(), fill("t1", 4, 4))
    book.apply(fill("t2", 6, 10))
    order = current(book)
    assert order.status is S.FILLED
    assert order.filled_qty == order.quantity
    assert book.open_orders() == []


# ── fill before ack, cancel rejected ────────────────────────────────────────────────────────────


def test_fill_before_ack_then_the_ack_keeps_partially_filled() -> None:
    book = book_after(fill("t1", 2, 2))
    assert current(book).status is S.PARTIALLY_FILLED
    assert current(book).venue_order_id is None
    book.apply(accepted())
    assert current(book).status is S.PARTIALLY_FILLED
    assert current(book).venue_order_id == "V-" + CID


def test_full_fill_before_ack_is_filled() -> None:
    book = book_after(fill("t1", 10, 10))
    assert current(book).status is S.FILLED


@pytest.mark.parametrize(
    ("path", "during", "back_to"),
    [
        ("submitted", (), S.SUBMITTED),
        ("accepted", (), S.ACCEPTED),
        ("partially_filled", (), S.PARTIALLY_FILLED),
        ("accepted", (fill("t1", 1, 1),), S.PARTIALLY_FILLED),
        ("submitted", (accepted(),), S.ACCEPTED),
        ("submitted", (fill("t1", 1, 1), accepted()), S.PARTIALLY_FILLED),
    ],
    ids=["submitted", "accepted", "partial", "fill-during", "ack-during", "fill-ack-during"],
)
def test_cancel_rejected_returns_to_the_status_before_the_request(
    path: str, during: tuple[OrderEvent, ...], back_to: OrderStatus
) -> None:
    book = book_after(*PATHS[path], pending_cancel(), *during)
    assert current(book).status is S.PENDING_CANCEL
    book.apply(cancel_rejected())
    assert current(book).status is back_to
    assert current(book).before_cancel is None


def test_full_fill_during_pending_cancel_is_filled() -> None:
    book = book_after(accepted(), pending_cancel(), fill("t1", 10, 10))
    assert current(book).status is S.FILLED
    with pytest.raises(OrderStateError):
        book.apply(canceled())


# ── the Orders fold ─────────────────────────────────────────────────────────────────────────────


def test_submit_opens_an_order_with_the_intent_fields() -> None:
    order = current(book_after())
    assert order.status is S.SUBMITTED
    assert (order.strategy, order.instrument, order.side) == ("s1", "binance-spot:BTCUSDT", "buy")
    assert (order.order_type, order.quantity, order.price) == ("limit", QTY, Decimal(100))
    assert (order.arb_id, order.leg, order.aligned_ts_ns) == ("arb-7", 1, (5, 9))
    assert order.filled_qty == 0
    assert order.trade_ids == frozenset()


@pytest.mark.parametrize("qty", ["0", "-1", "NaN", "Infinity"])
def test_submit_with_a_non_positive_quantity_raises(qty: str) -> None:
    book = Orders()
    with pytest.raises(OrderStateError, match="quantity"):
        book.apply(submitted(qty=Decimal(qty)))
    assert CID not in book


def test_unknown_client_order_id_raises() -> None:
    with pytest.raises(OrderStateError, match="unknown") as raised:
        Orders().apply(accepted("nobody"))
    assert "nobody" in str(raised.value)
    assert "OrderAccepted" in str(raised.value)


def test_duplicate_submit_raises_and_keeps_the_first() -> None:
    book = book_after(accepted())
    before = current(book)
    with pytest.raises(OrderStateError, match="already in use"):
        book.apply(submitted(qty=Decimal(99)))
    assert current(book) is before
    assert len(book) == 1


def test_open_orders_are_in_submission_order_without_terminal_ones() -> None:
    book = Orders()
    for cid, strategy in [("c", "s1"), ("a", "s2"), ("b", "s1")]:
        book.apply(submitted(cid, strategy=strategy))
    book.apply(accepted("b"))
    book.apply(rejected("a"))
    assert [o.client_order_id for o in book.open_orders()] == ["c", "b"]
    assert [o.client_order_id for o in book.open_orders("s2")] == []
    book.apply(canceled("c"))
    assert [o.client_order_id for o in book.open_orders("s1")] == ["b"]
    assert book.get("a") is not None
    assert book.get("zzz") is None
    assert len(book) == 3


def test_order_apply_is_pure() -> None:
    order = Order.from_submitted(submitted())
    after = order.apply(accepted())
    assert order.status is S.SUBMITTED
    assert after.status is S.ACCEPTED
    assert after.apply(fill("t1", 1, 1)).apply(fill("t1", 1, 1)).filled_qty == 1


def test_unfolded_fills_are_what_a_report_says_filled_beyond_the_fills_folded() -> None:
    """Reconciliation counts them as explained: the venue reported them, their fills are on the way."""
    book = book_after(
        accepted(venue_order_id="v1"), fill("t1", 2, 2), report(ReportedStatus.PARTIALLY_FILLED, 7)
    )
    assert book.unfolded_fills("sim", "binance-spot:BTCUSDT") == Decimal(5)
    assert book.unfolded_fills("sim", "binance-spot:ETHUSDT") == 0
    assert book.unfolded_fills("binance", "binance-spot:BTCUSDT") == 0
    # what makes a start read the venue's fills from the beginning, not after the last journalled
    assert book.has_unfolded_fills("sim") and not book.has_unfolded_fills("binance")
    book.apply(fill("t2", 5, 7))
    assert book.unfolded_fills("sim", "binance-spot:BTCUSDT") == 0
    assert not book.has_unfolded_fills("sim")
