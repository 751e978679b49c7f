"""Random event sequences through Orders keep the state machine's invariants.

The machine models a venue that executes each order in its own order (cum_qty rises with every
fill) but delivers fills late, out of order, or twice. It does not restate the transition table:
it checks properties any correct table must have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

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
from engines.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderPendingCancel,
    OrderRejected,
    OrderSubmitted,
    OrderType,
    Side,
)
from engines.orders import Order, Orders, OrderStatus

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


def filled(cid: str, trade_id: str, last_qty: Decimal, cum_qty: Decimal, px: Decimal) -> OrderFilled:
    return OrderFilled(
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


@dataclass
class Venue:
    """What the venue did to one order, and which of its fills we have applied."""

    quantity: Decimal
    cum: Decimal = Decimal(0)
    trades: int = 0
    withheld: list[OrderFilled] = field(default_factory=list)
    applied: list[OrderFilled] = field(default_factory=list)


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
        try:
            result = self.book.apply(event)
        except OrderStateError as exc:
            label(f"{type(event).__name__} raised")
            assert cid in str(exc)
            assert self.book.get(cid) is before
            assert self.book.open_orders() == open_before
            assert (self.book.duplicate_fills, self.book.late_fills) == counters
            return None
        late = isinstance(event, OrderFilled) and before is not None and event.cum_qty < before.filled_qty
        label(f"{type(event).__name__} {'ignored' if duplicate else 'late' if late else 'applied'}")
        if duplicate:
            self.duplicates += 1
            assert result is False
            assert self.book.get(cid) is before
            return result
        assert result is True
        assert before is not None
        assert not before.status.is_terminal, f"{type(event).__name__} left {before.status} state"
        return result

    def _deliver(self, fill: OrderFilled) -> None:
        venue = self.venues[fill.client_order_id]
        before = self._get(fill.client_order_id)
        applied = self._apply(fill)
        # A fill that the venue really made is legal in every status that is not terminal.
        assert (applied is None) == before.status.is_terminal
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
        if self._apply(OrderAccepted(ts_event=0, ts_init=0, client_order_id=cid, venue_order_id=cid)):
            assert self._get(cid).venue_order_id == cid

    @rule(cid=orders)
    def request_cancel(self, cid: str) -> None:
        if self._apply(OrderPendingCancel(ts_event=0, ts_init=0, client_order_id=cid)):
            assert self._get(cid).status is S.PENDING_CANCEL

    @rule(cid=orders)
    def reject_cancel(self, cid: str) -> None:
        before = self._get(cid)
        applied = self._apply(OrderCancelRejected(ts_event=0, ts_init=0, client_order_id=cid, reason="no"))
        assert bool(applied) == (before.status is S.PENDING_CANCEL)

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

    @rule(
        cid=orders,
        units=st.integers(1, 15),
        px=st.integers(1, 9999),
        delivery=st.sampled_from(["now", "withheld", "overtaken"]),
    )
    def venue_fills(self, cid: str, units: int, px: int, delivery: str) -> None:
        fill = self._venue_fill(cid, units, px)
        if fill is None:
            return
        if delivery == "now":
            self._deliver(fill)
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
        return filled(cid, f"{cid}-t{venue.trades}", qty, venue.cum, px * STEP)

    @precondition(lambda self: any(v.withheld for v in self.venues.values()))
    @rule(data=st.data())
    def deliver_late(self, data: st.DataObject) -> None:
        venue = data.draw(st.sampled_from([v for v in self.venues.values() if v.withheld]))
        self._deliver(venue.withheld.pop(data.draw(st.integers(0, len(venue.withheld) - 1))))

    @precondition(lambda self: any(v.applied for v in self.venues.values()))
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        venue = data.draw(st.sampled_from([v for v in self.venues.values() if v.applied]))
        assert self._apply(data.draw(st.sampled_from(venue.applied))) is False

    # One rule for every event that must raise whatever the status, for the same reason.
    @rule(cid=orders, kind=st.sampled_from(["overfill", "zero", "negative", "resubmit", "ghost"]))
    def malformed(self, cid: str, kind: str) -> None:
        quantity = self.venues[cid].quantity
        events: dict[str, OrderEvent] = {
            "overfill": filled(cid, f"{cid}-bad", quantity + STEP, quantity + STEP, STEP),
            "zero": filled(cid, f"{cid}-bad", Decimal(0), STEP, STEP),
            "negative": filled(cid, f"{cid}-bad", -STEP, STEP, STEP),
            "resubmit": submitted(cid, quantity),
            "ghost": OrderCanceled(ts_event=0, ts_init=0, client_order_id="ghost"),
        }
        assert self._apply(events[kind]) is None, f"a {kind} event was applied"

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
            # cum_qty is the truth; every applied fill is counted once.
            assert order.filled_qty == max((f.cum_qty for f in venue.applied), default=0)
            assert order.trade_ids == {f.trade_id for f in venue.applied}
            assert order.executed_qty == sum((f.last_qty for f in venue.applied), Decimal(0))
            assert order.notional == sum((f.last_qty * f.last_px for f in venue.applied), Decimal(0))
            self._status_matches_the_facts(order)

    @staticmethod
    def _status_matches_the_facts(order: Order) -> None:
        status = order.status
        assert (order.before_cancel is None) == (status is not S.PENDING_CANCEL)
        if status is S.REJECTED:
            assert order.filled_qty == 0
            assert order.venue_order_id is None
        if status.is_terminal:
            return
        # The live status (beneath a pending cancel, if any) follows from fills and ack alone.
        live = order.before_cancel if status is S.PENDING_CANCEL else status
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
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_events, max_size=40))
def test_any_event_sequence_applies_or_raises_order_state_error(events: list[OrderEvent]) -> None:
    book = Orders()
    for event in events:
        before = book.get(event.client_order_id)
        try:
            result = book.apply(event)
        except OrderStateError:
            assert book.get(event.client_order_id) is before
            continue
        assert isinstance(result, bool)
        order = book.get(event.client_order_id)
        assert order is not None
        assert 0 <= order.filled_qty <= order.quantity
