"""Random event sequences through Orders keep the state machine's invariants.

The machine models a venue that executes each order in its own order (cum_qty rises with every
fill) but delivers fills late, out of order, or twice, on the stream or by reconciliation; whose
requests time out; which answers queries with status reports, stale ones included; and which has
orders the journal never saw. It does not restate the transition table: it checks properties any
correct table must have, above all that state only moves forward.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from hypothesis import event as label
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from engines.errors import OrderStateError
from engines.model.enums import OrderType, ReportedStatus, Side
from engines.model.events import (
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
from engines.orders.table import OrderStatus

S = OrderStatus
STEP = Decimal("0.01")
INSTRUMENT = "bybit-linear:ETHUSDT"


def submitted(cid: str, quantity: Decimal) -> OrderSubmitted:
    return OrderSubmitted(
        ts_event=0,
        ts_init=0,
        strategy="prop",
        client_order_id=cid,
        instrument=INSTRUMENT,
        side=Side.SELL,
        order_type=OrderType.MARKET,
        quantity=quantity,
    )


def filled(
    cid: str,
    trade_id: str,
    last_qty: Decimal,
    cum_qty: Decimal,
    px: Decimal,
    *,
    kind: type[OrderFilled] = OrderFilled,
) -> OrderFilled:
    return kind(
        ts_event=0,
        ts_init=0,
        client_order_id=cid,
        instrument=INSTRUMENT,
        side=Side.SELL,
        trade_id=trade_id,
        last_qty=last_qty,
        last_px=px,
        cum_qty=cum_qty,
        fee=Decimal(0),
        fee_currency="USDT",
    )


def status_report(
    cid: str, quantity: Decimal, status: ReportedStatus, filled_qty: Decimal, *, external: bool = False
) -> OrderStatusReport:
    return OrderStatusReport(
        ts_event=0,
        ts_init=0,
        client_order_id=cid,
        venue="sim",
        instrument=INSTRUMENT,
        side=Side.SELL,
        order_type=OrderType.MARKET,
        quantity=quantity,
        status=status,
        filled_qty=filled_qty,
        venue_order_id=None if status is ReportedStatus.NOT_FOUND else cid,
        external=external,
    )


def as_kind(fill: OrderFilled, kind: type[OrderFilled]) -> OrderFilled:
    """The same execution, delivered by the stream (OrderFilled) or by reconciliation (FillReport)."""
    return kind(**{f: getattr(fill, f) for f in fill.__struct_fields__})


# Forward order of what an order does at the venue (beneath UNKNOWN and PENDING_CANCEL).
RANK = {S.SUBMITTED: 0, S.ACCEPTED: 1, S.PARTIALLY_FILLED: 2}


def rank(status: OrderStatus) -> int:
    return 3 if status.is_terminal else RANK[status]


@dataclass
class Venue:
    """What the venue did to one order, and which of its fills and reports we have applied."""

    quantity: Decimal
    cum: Decimal = Decimal(0)
    trades: int = 0
    withheld: list[OrderFilled] = field(default_factory=list)
    applied: list[OrderFilled] = field(default_factory=list)
    #: the cum_qty after each execution: what a stale report may still show
    history: list[Decimal] = field(default_factory=lambda: [Decimal(0)])
    #: the largest filled_qty of a report applied
    reported: Decimal = Decimal(0)


class OrdersMachine(RuleBasedStateMachine):
    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.book = Orders()
        self.venues: dict[str, Venue] = {}
        self.last_filled: dict[str, Decimal] = {}
        self.duplicates = 0

    # ── helpers ────────────────────────────────────────────────────────────────────────────────

    def _get(self, cid: str) -> Order:
        order = self.book.get(cid)
        assert order is not None
        return order

    def _apply(self, event: OrderEvent) -> bool | None:
        """Apply and check what must hold whatever the table says; None if it raised."""
        cid = event.client_order_id
        before = self.book.get(cid)
        open_before = self.book.open_orders()
        counters = (self.book.duplicate_fills, self.book.late_fills)
        duplicate = isinstance(event, OrderFilled) and any(
            f.trade_id == event.trade_id for f in self.venues[cid].applied
        )
        # check changes nothing and raises what apply raises
        try:
            self.book.check(event)
        except OrderStateError as exc:
            checked: str | None = str(exc)
        else:
            checked = None
        assert self.book.get(cid) is before
        assert (self.book.duplicate_fills, self.book.late_fills) == counters
        try:
            result = self.book.apply(event)
        except OrderStateError as exc:
            label(f"{type(event).__name__} raised")
            assert str(exc) == checked
            assert cid in str(exc)
            assert self.book.get(cid) is before
            assert self.book.open_orders() == open_before
            assert (self.book.duplicate_fills, self.book.late_fills) == counters
            return None
        assert checked is None
        late = isinstance(event, OrderFilled) and before is not None and event.cum_qty < before.filled_qty
        label(f"{type(event).__name__} {'ignored' if duplicate else 'late' if late else 'applied'}")
        if duplicate:
            self.duplicates += 1
            assert result is False
            assert self.book.get(cid) is before
            return result
        after = self.book.get(cid)
        assert after is not None
        assert result is (after is not before)
        if before is not None:
            self._moves_forward(event, before, after)
        if isinstance(event, OrderStatusReport):
            self.venues[cid].reported = max(self.venues[cid].reported, event.filled_qty)
        return result

    @staticmethod
    def _moves_forward(event: OrderEvent, before: Order, after: Order) -> None:
        """State only moves forward: filled_qty never goes down, a terminal order stays terminal
        (but for a late full fill of a canceled or expired one), the live status never goes back."""
        assert after.filled_qty >= before.filled_qty
        if before.status.is_terminal:
            assert after.status is before.status or (
                after.status is S.FILLED and before.status in (S.CANCELED, S.EXPIRED)
            ), f"{type(event).__name__} moved {before.status} to {after.status}"
        assert rank(after.live_status) >= rank(before.live_status), (
            f"{type(event).__name__} moved {before.live_status} back to {after.live_status}"
        )
        if after.status is S.UNKNOWN and before.status is not S.UNKNOWN:
            assert isinstance(event, OrderStatusUnknown)
        if before.status is S.UNKNOWN and isinstance(event, OrderStatusReport):
            assert after.status is not S.UNKNOWN, "a report answers the query"

    def _deliver(self, fill: OrderFilled) -> None:
        venue = self.venues[fill.client_order_id]
        before = self._get(fill.client_order_id)
        applied = self._apply(fill)
        # A fill that the venue really made is legal in every status but REJECTED: after the end it
        # is a fill that happened before the end (or one that reconciliation found missing).
        assert (applied is None) == (before.status is S.REJECTED)
        if applied:
            venue.applied.append(fill)

    # ── rules ──────────────────────────────────────────────────────────────────────────────────

    @initialize(target=orders, units=st.integers(1, 60))
    def first_order(self, units: int) -> str:
        return self._open(units)

    @rule(target=orders, units=st.integers(1, 60))
    def submit(self, units: int) -> str:
        return self._open(units)

    def _open(self, units: int) -> str:
        cid = f"o{len(self.venues)}"
        self.venues[cid] = Venue(quantity=units * STEP)
        self.last_filled[cid] = Decimal(0)
        assert self.book.apply(submitted(cid, units * STEP)) is True
        return cid

    @rule(cid=orders)
    def accept(self, cid: str) -> None:
        before = self._get(cid)
        applied = self._apply(OrderAccepted(ts_event=0, ts_init=0, client_order_id=cid, venue_order_id=cid))
        if applied:
            assert self._get(cid).venue_order_id == cid
        if before.venue_order_id is None and not before.status.is_terminal:
            # the first ack of a live order is always legal, and answers an unknown outcome
            assert applied
            assert self._get(cid).status is not S.UNKNOWN

    @rule(cid=orders)
    def request_cancel(self, cid: str) -> None:
        if self._apply(OrderPendingCancel(ts_event=0, ts_init=0, client_order_id=cid)):
            after = self._get(cid)
            # while the outcome of another request is unknown, the cancel is pending beneath it
            assert S.PENDING_CANCEL in (after.status, after.before_unknown)

    @rule(cid=orders)
    def reject_cancel(self, cid: str) -> None:
        before = self._get(cid)
        applied = self._apply(OrderCancelRejected(ts_event=0, ts_init=0, client_order_id=cid, reason="no"))
        pending = S.PENDING_CANCEL in (before.status, before.before_unknown)
        assert bool(applied) == pending
        if applied:
            assert self._get(cid).status is before.before_cancel

    # One rule for the three endings, so that orders live long enough to see fills and cancels.
    @rule(cid=orders, ending=st.sampled_from([S.CANCELED, S.EXPIRED, S.REJECTED]))
    def venue_ends_order(self, cid: str, ending: OrderStatus) -> None:
        event: OrderEvent
        if ending is S.CANCELED:
            event = OrderCanceled(ts_event=0, ts_init=0, client_order_id=cid)
        elif ending is S.EXPIRED:
            event = OrderExpired(ts_event=0, ts_init=0, client_order_id=cid)
        else:
            event = OrderRejected(ts_event=0, ts_init=0, client_order_id=cid, reason="no")
        if self._apply(event):
            assert self._get(cid).status is ending

    @rule(cid=orders)
    def request_times_out(self, cid: str) -> None:
        before = self._get(cid)
        if self._apply(OrderStatusUnknown(ts_event=0, ts_init=0, client_order_id=cid, reason="timeout")):
            after = self._get(cid)
            assert after.status is S.UNKNOWN
            assert after.before_unknown is before.status
        else:
            # a terminal order's state depends on no request; another timeout changes nothing
            assert before.status.is_terminal or before.status is S.UNKNOWN
            assert self._get(cid) is before

    @rule(
        cid=orders,
        status=st.sampled_from(ReportedStatus),
        stale=st.booleans(),
    )
    def venue_reports(self, cid: str, status: ReportedStatus, stale: bool) -> None:
        """The venue answers a query with what it knows (a stale read shows an older cum_qty)."""
        venue = self.venues[cid]
        cum = venue.history[0 if stale else -1]
        if status in (ReportedStatus.REJECTED, ReportedStatus.NOT_FOUND) and cum > 0:
            status = ReportedStatus.CANCELED
        if status is ReportedStatus.FILLED or (
            cum == venue.quantity and status is not ReportedStatus.CANCELED
        ):
            if venue.cum < venue.quantity:
                return  # the venue has not executed all of it
            status, cum = ReportedStatus.FILLED, venue.quantity
        before = self._get(cid)
        applied = self._apply(status_report(cid, venue.quantity, status, cum))
        if status is ReportedStatus.FILLED and before.status is not S.REJECTED:
            assert applied is not None, "the venue's truth of a full fill is legal unless rejected"
            assert self._get(cid).status is S.FILLED
        ended = before.status in (S.FILLED, S.CANCELED, S.EXPIRED)
        if stale and ended and status in (ReportedStatus.ACCEPTED, ReportedStatus.PARTIALLY_FILLED):
            # a stale report is ignored, not an error (it may still name the venue order id)
            after = self._get(cid)
            assert applied is not None
            assert (after.status, after.filled_qty) == (before.status, before.filled_qty)

    @rule(
        target=orders,
        units=st.integers(1, 60),
        filled_units=st.integers(0, 60),
        status=st.sampled_from(ReportedStatus),
    )
    def reconciliation_finds_an_external_order(
        self, units: int, filled_units: int, status: ReportedStatus
    ) -> str:
        cid = f"x{len(self.venues)}"
        quantity = units * STEP
        cum = min(filled_units, units) * STEP
        if status in (ReportedStatus.REJECTED, ReportedStatus.NOT_FOUND):
            cum = Decimal(0)
        elif status is ReportedStatus.FILLED or cum == quantity:
            status, cum = ReportedStatus.FILLED, quantity
        venue = Venue(quantity=quantity, cum=cum, history=[cum])
        self.venues[cid] = venue
        self.last_filled[cid] = Decimal(0)
        if cum > 0:  # the executions behind the report, for reconciliation to fetch
            venue.trades = 1
            venue.withheld.append(filled(cid, f"{cid}-t1", cum, cum, STEP, kind=FillReport))
        report = status_report(cid, quantity, status, cum, external=True)
        if status is ReportedStatus.NOT_FOUND:
            with pytest.raises(OrderStateError):
                self.book.apply(report)
            assert cid not in self.book
            # nothing to adopt: the id stays unused, as an order submitted and never heard of
            assert self.book.apply(submitted(cid, quantity)) is True
        else:
            assert self.book.apply(report) is True
            order = self._get(cid)
            assert order.external
            assert order.strategy == ""
            assert order.filled_qty == cum
            assert order.executed_qty == 0
            venue.reported = cum
        return cid

    @rule(
        cid=orders,
        units=st.integers(1, 15),
        px=st.integers(1, 9999),
        delivery=st.sampled_from(["now", "withheld", "overtaken", "reconciled"]),
    )
    def venue_fills(self, cid: str, units: int, px: int, delivery: str) -> None:
        fill = self._venue_fill(cid, units, px)
        if fill is None:
            return
        if delivery == "now":
            self._deliver(fill)
        elif delivery == "reconciled":
            self._deliver(as_kind(fill, FillReport))
        elif delivery == "withheld":
            self.venues[cid].withheld.append(fill)
        else:
            later = self._venue_fill(cid, units, px + 1)
            if later is not None:
                self._deliver(later)
            self._deliver(fill)

    def _venue_fill(self, cid: str, units: int, px: int) -> OrderFilled | None:
        """The venue's next execution of the order, or None once it has executed all of it."""
        venue = self.venues[cid]
        qty = min(units * STEP, venue.quantity - venue.cum)
        if qty <= 0:
            return None
        venue.cum += qty
        venue.trades += 1
        venue.history.append(venue.cum)
        return filled(cid, f"{cid}-t{venue.trades}", qty, venue.cum, px * STEP)

    @precondition(lambda self: any(v.withheld for v in self.venues.values()))
    @rule(data=st.data())
    def deliver_late(self, data: st.DataObject) -> None:
        venue = data.draw(st.sampled_from([v for v in self.venues.values() if v.withheld]))
        self._deliver(venue.withheld.pop(data.draw(st.integers(0, len(venue.withheld) - 1))))

    @precondition(lambda self: any(v.applied for v in self.venues.values()))
    @rule(data=st.data(), kind=st.sampled_from([OrderFilled, FillReport]))
    def redeliver(self, data: st.DataObject, kind: type[OrderFilled]) -> None:
        """The stream resends, or reconciliation fetches a fill already seen: either kind is a
        duplicate of either."""
        venue = data.draw(st.sampled_from([v for v in self.venues.values() if v.applied]))
        assert self._apply(as_kind(data.draw(st.sampled_from(venue.applied)), kind)) is False

    # One rule for every event that must raise whatever the status, for the same reason.
    @rule(
        cid=orders,
        kind=st.sampled_from(
            [
                "overfill",
                "zero",
                "negative",
                "resubmit",
                "ghost",
                "ghost_report",
                "report_overfill",
                "report_other",
            ]
        ),
    )
    def malformed(self, cid: str, kind: str) -> None:
        quantity = self.venues[cid].quantity
        events: dict[str, OrderEvent] = {
            "overfill": filled(cid, f"{cid}-bad", quantity + STEP, quantity + STEP, STEP),
            "zero": filled(cid, f"{cid}-bad", Decimal(0), STEP, STEP),
            "negative": filled(cid, f"{cid}-bad", -STEP, STEP, STEP),
            "resubmit": submitted(cid, quantity),
            "ghost": OrderCanceled(ts_event=0, ts_init=0, client_order_id="ghost"),
            # a report for an id the journal never saw, not marked external
            "ghost_report": status_report("ghost", quantity, ReportedStatus.ACCEPTED, Decimal(0)),
            "report_overfill": status_report(cid, quantity, ReportedStatus.CANCELED, quantity + STEP),
            "report_other": status_report(cid, quantity + STEP, ReportedStatus.ACCEPTED, Decimal(0)),
        }
        event = events[kind]
        if event.client_order_id == "ghost":
            self.venues.setdefault("ghost", Venue(quantity=quantity))
            with pytest.raises(OrderStateError, match="unknown order"):
                self.book.apply(event)
            del self.venues["ghost"]
            return
        assert self._apply(event) is None, f"a {kind} event was applied"

    # ── invariants ─────────────────────────────────────────────────────────────────────────────

    @invariant()
    def every_order_is_consistent(self) -> None:
        for cid, venue in self.venues.items():
            order = self.book.get(cid)
            assert order is not None
            assert 0 <= order.filled_qty <= order.quantity
            assert order.filled_qty >= self.last_filled[cid], "filled_qty went down"
            self.last_filled[cid] = order.filled_qty
            assert (order.status is S.FILLED) == (order.filled_qty == order.quantity)
            # cum_qty and reports are the truth; every applied fill is counted once, and the fills
            # seen never exceed the truth (a gap is fills still missing).
            truth = max((f.cum_qty for f in venue.applied), default=Decimal(0))
            assert order.filled_qty == max(truth, venue.reported)
            assert order.trade_ids == {f.trade_id for f in venue.applied}
            assert order.executed_qty == sum((f.last_qty for f in venue.applied), Decimal(0))
            assert order.executed_qty <= order.filled_qty
            assert order.notional == sum((f.last_qty * f.last_px for f in venue.applied), Decimal(0))
            self._status_matches_the_facts(order)

    @staticmethod
    def _status_matches_the_facts(order: Order) -> None:
        status = order.status
        assert (order.before_unknown is None) == (status is not S.UNKNOWN)
        assert order.before_unknown is not S.UNKNOWN
        beneath_unknown = order.before_unknown if status is S.UNKNOWN else status
        assert (order.before_cancel is None) == (beneath_unknown is not S.PENDING_CANCEL)
        if status is S.REJECTED:
            assert order.filled_qty == 0
        if status.is_terminal:
            return
        # The live status (beneath UNKNOWN and a pending cancel) follows from fills and ack alone.
        live = order.live_status
        if order.filled_qty > 0:
            assert live is S.PARTIALLY_FILLED
        elif order.venue_order_id is not None:
            assert live is S.ACCEPTED
        else:
            assert live is S.SUBMITTED

    @invariant()
    def open_orders_are_the_live_ones_in_submission_order(self) -> None:
        live = [cid for cid in self.venues if not self._get(cid).status.is_terminal]
        assert [o.client_order_id for o in self.book.open_orders()] == live

    @invariant()
    def duplicates_are_counted(self) -> None:
        assert self.book.duplicate_fills == self.duplicates


OrdersMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=50, deadline=None)
TestOrdersStateful = OrdersMachine.TestCase


# ── plain fuzz: anything goes in, only OrderStateError comes out ─────────────────────────────────

_ids = st.sampled_from(["a", "b", "c"])
_qty = st.one_of(
    st.decimals(min_value=-1, max_value=12, places=2),
    st.decimals(allow_nan=True, allow_infinity=True),
)
_base = {"ts_event": st.just(0), "ts_init": st.just(0), "client_order_id": _ids}
_events = st.one_of(
    st.builds(
        OrderSubmitted,
        **_base,
        strategy=st.just("fuzz"),
        instrument=st.just(INSTRUMENT),
        side=st.sampled_from(Side),
        order_type=st.sampled_from(OrderType),
        quantity=_qty,
    ),
    st.builds(OrderAccepted, **_base, venue_order_id=st.sampled_from(["v1", "v2"])),
    st.builds(OrderRejected, **_base, reason=st.just("r")),
    st.builds(
        OrderFilled,
        **_base,
        instrument=st.sampled_from([INSTRUMENT, "other"]),
        side=st.sampled_from(Side),
        trade_id=st.sampled_from(["t1", "t2", "t3", "t4"]),
        last_qty=_qty,
        last_px=_qty,
        cum_qty=_qty,
        fee=st.just(Decimal(0)),
        fee_currency=st.just("USDT"),
    ),
    st.builds(OrderPendingCancel, **_base),
    st.builds(OrderCancelRejected, **_base, reason=st.just("r")),
    st.builds(OrderCanceled, **_base),
    st.builds(OrderExpired, **_base),
    st.builds(OrderStatusUnknown, **_base, reason=st.just("timeout")),
    st.builds(
        OrderStatusReport,
        **_base,
        venue=st.sampled_from(["sim", "other"]),
        instrument=st.sampled_from([INSTRUMENT, "other"]),
        side=st.sampled_from(Side),
        order_type=st.sampled_from(OrderType),
        quantity=_qty,
        status=st.sampled_from(ReportedStatus),
        filled_qty=_qty,
        venue_order_id=st.sampled_from([None, "v1", "v2"]),
        external=st.booleans(),
    ),
    st.builds(
        FillReport,
        **_base,
        instrument=st.sampled_from([INSTRUMENT, "other"]),
        side=st.sampled_from(Side),
        trade_id=st.sampled_from(["t1", "t2", "t3", "t4"]),
        last_qty=_qty,
        last_px=_qty,
        cum_qty=_qty,
        fee=st.just(Decimal(0)),
        fee_currency=st.just("USDT"),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_events, max_size=40))
def test_any_event_sequence_applies_or_raises_order_state_error(events: list[OrderEvent]) -> None:
    book = Orders()
    for event in events:
        before = book.get(event.client_order_id)
        try:
            book.check(event)
        except OrderStateError:
            assert book.get(event.client_order_id) is before
            with pytest.raises(OrderStateError):
                book.apply(event)
            assert book.get(event.client_order_id) is before
            continue
        result = book.apply(event)
        assert isinstance(result, bool)
        order = book.get(event.client_order_id)
        assert order is not None
        assert 0 <= order.filled_qty <= order.quantity
