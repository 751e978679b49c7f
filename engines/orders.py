"""The order state machine (DESIGN.md sections 5 and 8).

One explicit table, :data:`TRANSITIONS`, says which event may move an order from which status to
which. Anything it does not list raises :class:`~engines.errors.OrderStateError`, changing nothing.
A row whose target is the status it starts from is legal and leaves the status as it is (a stale
report, a repeated request, news a terminal order no longer needs).

Fills (:class:`~engines.events.OrderFilled`, and :class:`~engines.events.FillReport`, which is one)
follow three rules on top of the table:

* **Dedup by trade id.** A fill whose ``trade_id`` the order has already applied is a duplicate,
  whichever kind delivered either. It is ignored in any status, terminal ones included: venues
  resend the last execution on reconnect, and reconciliation fetches fills that the stream
  already delivered. An ack with the venue order id the order already has is a duplicate too.
* **The venue's ``cum_qty`` is the truth** for ``filled_qty``. A ``cum_qty`` above the order
  quantity is an overfill. A new trade id whose ``cum_qty`` is *below* the known ``filled_qty`` is
  a late fill, overtaken in delivery by a later one (two streams, or a reconciliation). It is
  recorded (its trade id; its quantity and price in ``avg_px``) but ``filled_qty`` never goes down.
* **Executions never exceed the truth.** In a consistent stream the fills seen add up to at most
  the largest ``cum_qty`` seen, whatever the delivery order. A fill that breaks this is an error,
  not a guess (DESIGN.md section 6: a mismatch we cannot explain stops trading).

A real venue answers late, and over two channels (a REST response, a WebSocket stream):

* **Fills after the end.** A REST cancel ack often beats the WebSocket fill that happened before
  the cancel. A fill on a CANCELED order is legal when it fits the quantity: it records the
  execution; a fill that completes the order makes it FILLED (the venue's cumulative quantity is
  the truth, whatever the ack said), a partial one keeps it CANCELED, since the venue has closed
  the rest. NautilusTrader's order table has the same CANCELED + fill rows ("real world
  possibility"), but sends a partial fill back to PARTIALLY_FILLED, an open status: here it would
  list among the open orders an order the venue has already closed, so it stays CANCELED. EXPIRED
  gets the same rows: an expiry is the venue canceling the rest by time in force (an IOC's rest,
  a DAY order at the close), and the fills before it travel on the other channel just the same.
  A FILLED order takes a fill too, when it fits the gap between its fills seen and its
  ``filled_qty`` (a report, or a later ``cum_qty``, told of fills still missing): reconciliation
  fetches them. A REJECTED order never executed: a fill for it stays an error.
* **Repeated requests.** A cancel requested again while one is pending changes nothing.
* **Unknown outcomes.** :class:`~engines.events.OrderStatusUnknown` (a request timed out, a 5xx,
  the connection dropped) moves a live order to UNKNOWN and remembers the status before it in
  ``before_unknown``. ACCEPTED and PARTIALLY_FILLED orders take it too: with the stream lost, a
  working order may have filled or been canceled unseen. On a terminal order it changes nothing
  (its state no longer depends on any request). While UNKNOWN, an event is news about the order
  beneath: it must be legal from ``before_unknown`` (by the same table), which it moves on. The
  order leaves UNKNOWN when the news answers the question: an ack (the create arrived), a cancel
  reject, an end (canceled, expired, rejected, a fill that completes it) or a status report. A
  partial fill, a cancel request or another timeout leave it UNKNOWN.
* **Status reports** (:class:`~engines.events.OrderStatusReport`) take the row of the status they
  report. The venue's working statuses differ only in how much is filled, so which of ACCEPTED and
  PARTIALLY_FILLED applies is decided by the larger of the report's ``filled_qty`` and the
  order's, as ``cum_qty`` decides between a partial and a full fill; a ``canceled`` or ``expired``
  report whose ``filled_qty`` is the whole quantity is a FILLED report. State only moves forward:
  a report that would move an order back (``accepted`` for a filled order: a stale REST read) has
  a row to the status it finds, i.e. it is ignored, not an error; a terminal order stays terminal
  (except CANCELED or EXPIRED to FILLED, as for fills). From UNKNOWN, a report moves the order to
  whatever the venue reports, when that is legal from the status before the unknown. ``not_found``
  for an order never acknowledged whose outcome is UNKNOWN means that the venue never got it: it is
  REJECTED with the reason :data:`NOT_FOUND_AT_VENUE`, the one proof that allows the caller to send
  a new order. Outside UNKNOWN it proves nothing (the create may still be on its way) and changes
  nothing; for an order the venue acknowledged it is an error. A report's ``filled_qty`` is the
  truth like ``cum_qty``: above the fills seen, it raises ``filled_qty`` and leaves the gap
  (``executed_qty < filled_qty``) for reconciliation to fetch. A final report (filled, canceled,
  expired, rejected) below the fills seen is an error.
* **Adoption.** A report with ``external=True`` for a client order id the journal never saw
  creates the order (``external=True``, no strategy) in the status it reports. Any other event for
  an unknown id is still an error.

Folding is two-phase, so that a driver can validate a fact before it journals it (DESIGN.md
section 2): :meth:`Orders.check` computes what an event does and raises what :meth:`Orders.apply`
would raise, changing nothing; :meth:`Orders.commit` stores it. ``apply`` is ``commit(check())``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_EVEN, Context, Decimal, Inexact, Overflow
from enum import Enum, StrEnum
from typing import Final, TypeAlias

import msgspec

from engines.errors import OrderStateError
from engines.events import (
    Event,
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
    OrderType,
    ReportedStatus,
    Side,
    TimeInForce,
)

__all__ = [
    "NOT_FOUND_AT_VENUE",
    "TERMINAL",
    "TRANSITIONS",
    "Fill",
    "Order",
    "OrderPlan",
    "OrderStatus",
    "Orders",
    "Report",
    "Restore",
    "Trigger",
]


class OrderStatus(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    #: a request's outcome is unknown until a query answers; the order may be working
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL: Final = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)

#: the reason of an order REJECTED because the venue, queried after an unknown outcome, never had it
NOT_FOUND_AT_VENUE: Final = "not found at the venue"


class Fill(StrEnum):
    """A fill takes one of two rows: where it leads depends on ``cum_qty`` vs quantity."""

    PARTIAL = "OrderFilled(partial)"
    FULL = "OrderFilled(full)"


class Report(StrEnum):
    """An OrderStatusReport takes the row of the status it reports (see the module docstring for
    how ``filled_qty`` picks between the working statuses)."""

    ACCEPTED = "OrderStatusReport(accepted)"
    PARTIALLY_FILLED = "OrderStatusReport(partially_filled)"
    FILLED = "OrderStatusReport(filled)"
    CANCELED = "OrderStatusReport(canceled)"
    EXPIRED = "OrderStatusReport(expired)"
    REJECTED = "OrderStatusReport(rejected)"
    NOT_FOUND = "OrderStatusReport(not_found)"


class Restore(Enum):
    """Targets that depend on what the order was before an overlay status."""

    #: the status before the cancel request (a rejected cancel)
    BEFORE_CANCEL = "status before the cancel request"
    #: the status before the unknown outcome, as the event moves it (the news that resolves it)
    BEFORE_UNKNOWN = "status before the unknown outcome, moved on by the event"


Trigger: TypeAlias = type[Event] | Fill | Report

S = OrderStatus
R = Report
BEFORE_CANCEL: Final = Restore.BEFORE_CANCEL
BEFORE_UNKNOWN: Final = Restore.BEFORE_UNKNOWN

TRANSITIONS: Final[Mapping[tuple[OrderStatus, Trigger], OrderStatus | Restore]] = {
    # The venue has not answered yet. Its fills may overtake its ack; an IOC or FOK may come back
    # canceled or expired with no separate ack.
    (S.SUBMITTED, OrderAccepted): S.ACCEPTED,
    (S.SUBMITTED, OrderRejected): S.REJECTED,
    (S.SUBMITTED, Fill.PARTIAL): S.PARTIALLY_FILLED,
    (S.SUBMITTED, Fill.FULL): S.FILLED,
    (S.SUBMITTED, OrderPendingCancel): S.PENDING_CANCEL,
    (S.SUBMITTED, OrderCanceled): S.CANCELED,
    (S.SUBMITTED, OrderExpired): S.EXPIRED,
    (S.SUBMITTED, OrderStatusUnknown): S.UNKNOWN,  # the create timed out
    # A report finds the answers we missed (reconciliation after a restart). A not_found proves
    # nothing while the create may still be on its way: only after a declared unknown outcome.
    (S.SUBMITTED, R.ACCEPTED): S.ACCEPTED,
    (S.SUBMITTED, R.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.SUBMITTED, R.FILLED): S.FILLED,
    (S.SUBMITTED, R.CANCELED): S.CANCELED,
    (S.SUBMITTED, R.EXPIRED): S.EXPIRED,
    (S.SUBMITTED, R.REJECTED): S.REJECTED,
    (S.SUBMITTED, R.NOT_FOUND): S.SUBMITTED,
    # Working at the venue. A cancel we did not ask for (venue-side, another session) is legal.
    (S.ACCEPTED, Fill.PARTIAL): S.PARTIALLY_FILLED,
    (S.ACCEPTED, Fill.FULL): S.FILLED,
    (S.ACCEPTED, OrderPendingCancel): S.PENDING_CANCEL,
    (S.ACCEPTED, OrderCanceled): S.CANCELED,
    (S.ACCEPTED, OrderExpired): S.EXPIRED,
    (S.ACCEPTED, OrderStatusUnknown): S.UNKNOWN,  # the stream dropped: it may have moved unseen
    (S.ACCEPTED, R.ACCEPTED): S.ACCEPTED,
    (S.ACCEPTED, R.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.ACCEPTED, R.FILLED): S.FILLED,
    (S.ACCEPTED, R.CANCELED): S.CANCELED,
    (S.ACCEPTED, R.EXPIRED): S.EXPIRED,
    # The ack row is the ack that a fill overtook; an order is acknowledged at most once.
    (S.PARTIALLY_FILLED, OrderAccepted): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, Fill.PARTIAL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, Fill.FULL): S.FILLED,
    (S.PARTIALLY_FILLED, OrderPendingCancel): S.PENDING_CANCEL,
    (S.PARTIALLY_FILLED, OrderCanceled): S.CANCELED,
    (S.PARTIALLY_FILLED, OrderExpired): S.EXPIRED,
    (S.PARTIALLY_FILLED, OrderStatusUnknown): S.UNKNOWN,
    (S.PARTIALLY_FILLED, R.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, R.FILLED): S.FILLED,
    (S.PARTIALLY_FILLED, R.CANCELED): S.CANCELED,
    (S.PARTIALLY_FILLED, R.EXPIRED): S.EXPIRED,
    # Our cancel is in flight. An ack, a reject, a fill or a working report is news about the
    # order beneath the request: it must also be legal from the status before the request, which
    # it moves on. Asking again changes nothing; a timeout makes the outcome unknown.
    (S.PENDING_CANCEL, OrderAccepted): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, OrderRejected): S.REJECTED,
    (S.PENDING_CANCEL, Fill.PARTIAL): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, Fill.FULL): S.FILLED,
    (S.PENDING_CANCEL, OrderPendingCancel): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, OrderCancelRejected): BEFORE_CANCEL,
    (S.PENDING_CANCEL, OrderCanceled): S.CANCELED,
    (S.PENDING_CANCEL, OrderExpired): S.EXPIRED,
    (S.PENDING_CANCEL, OrderStatusUnknown): S.UNKNOWN,  # the cancel timed out
    (S.PENDING_CANCEL, R.ACCEPTED): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, R.PARTIALLY_FILLED): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, R.FILLED): S.FILLED,
    (S.PENDING_CANCEL, R.CANCELED): S.CANCELED,
    (S.PENDING_CANCEL, R.EXPIRED): S.EXPIRED,
    (S.PENDING_CANCEL, R.REJECTED): S.REJECTED,
    (S.PENDING_CANCEL, R.NOT_FOUND): S.PENDING_CANCEL,
    # The outcome of a request is unknown. Every event must also be legal from the status before
    # (see the module docstring); UNKNOWN rows say where the answer leads.
    (S.UNKNOWN, OrderAccepted): BEFORE_UNKNOWN,
    (S.UNKNOWN, OrderRejected): S.REJECTED,
    (S.UNKNOWN, Fill.PARTIAL): S.UNKNOWN,
    (S.UNKNOWN, Fill.FULL): S.FILLED,
    (S.UNKNOWN, OrderPendingCancel): S.UNKNOWN,
    (S.UNKNOWN, OrderCancelRejected): BEFORE_UNKNOWN,
    (S.UNKNOWN, OrderCanceled): S.CANCELED,
    (S.UNKNOWN, OrderExpired): S.EXPIRED,
    (S.UNKNOWN, OrderStatusUnknown): S.UNKNOWN,  # the query timed out too: nothing changes
    (S.UNKNOWN, R.ACCEPTED): S.ACCEPTED,
    (S.UNKNOWN, R.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.UNKNOWN, R.FILLED): S.FILLED,
    (S.UNKNOWN, R.CANCELED): S.CANCELED,
    (S.UNKNOWN, R.EXPIRED): S.EXPIRED,
    (S.UNKNOWN, R.REJECTED): S.REJECTED,
    (S.UNKNOWN, R.NOT_FOUND): S.REJECTED,  # never acknowledged: the venue never got it
    # Terminal. Fills that happened before the end may arrive after it (see the module docstring);
    # reports and timeouts leave the status as it is, except the venue's truth of a full fill.
    (S.FILLED, Fill.FULL): S.FILLED,  # a missing fill, fetched by reconciliation
    (S.FILLED, OrderStatusUnknown): S.FILLED,
    (S.FILLED, R.PARTIALLY_FILLED): S.FILLED,  # stale
    (S.FILLED, R.FILLED): S.FILLED,
    (S.FILLED, R.NOT_FOUND): S.FILLED,  # archived
    (S.CANCELED, Fill.PARTIAL): S.CANCELED,
    (S.CANCELED, Fill.FULL): S.FILLED,
    (S.CANCELED, OrderStatusUnknown): S.CANCELED,
    (S.CANCELED, R.ACCEPTED): S.CANCELED,  # stale
    (S.CANCELED, R.PARTIALLY_FILLED): S.CANCELED,  # stale
    (S.CANCELED, R.FILLED): S.FILLED,
    (S.CANCELED, R.CANCELED): S.CANCELED,
    (S.CANCELED, R.EXPIRED): S.CANCELED,  # ended either way
    (S.CANCELED, R.NOT_FOUND): S.CANCELED,  # archived
    (S.EXPIRED, Fill.PARTIAL): S.EXPIRED,
    (S.EXPIRED, Fill.FULL): S.FILLED,
    (S.EXPIRED, OrderStatusUnknown): S.EXPIRED,
    (S.EXPIRED, R.ACCEPTED): S.EXPIRED,  # stale
    (S.EXPIRED, R.PARTIALLY_FILLED): S.EXPIRED,  # stale
    (S.EXPIRED, R.FILLED): S.FILLED,
    (S.EXPIRED, R.CANCELED): S.EXPIRED,  # ended either way
    (S.EXPIRED, R.EXPIRED): S.EXPIRED,
    (S.EXPIRED, R.NOT_FOUND): S.EXPIRED,  # archived
    # A rejected order never existed at the venue: a report that it works, ended otherwise or
    # executed contradicts the rejection (and a not_found proof that let the caller send anew).
    (S.REJECTED, OrderStatusUnknown): S.REJECTED,
    (S.REJECTED, R.REJECTED): S.REJECTED,
    (S.REJECTED, R.NOT_FOUND): S.REJECTED,
}

# Events about the cancel request itself: from PENDING_CANCEL they need no row beneath it.
_ABOUT_THE_CANCEL: Final[frozenset[Trigger]] = frozenset(
    {OrderCancelRejected, OrderCanceled, OrderExpired, OrderPendingCancel, OrderStatusUnknown}
)
_REPORT_OF: Final[Mapping[ReportedStatus, Report]] = {
    ReportedStatus.ACCEPTED: R.ACCEPTED,
    ReportedStatus.PARTIALLY_FILLED: R.PARTIALLY_FILLED,
    ReportedStatus.FILLED: R.FILLED,
    ReportedStatus.CANCELED: R.CANCELED,
    ReportedStatus.EXPIRED: R.EXPIRED,
    ReportedStatus.REJECTED: R.REJECTED,
    ReportedStatus.NOT_FOUND: R.NOT_FOUND,
}
_WORKING: Final = frozenset({ReportedStatus.ACCEPTED, ReportedStatus.PARTIALLY_FILLED})
_NEVER_EXECUTED: Final = frozenset({ReportedStatus.REJECTED, ReportedStatus.NOT_FOUND})
_ZERO: Final = Decimal(0)
# Fixed contexts, so that no result depends on the caller's thread context. Sums are exact or
# raise (Inexact is trapped), never silently rounded; only avg_px's division may round.
_EXACT: Final = Context(prec=60, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact, Overflow])
_AVG: Final = Context(prec=28, rounding=ROUND_HALF_EVEN, Emax=MAX_EMAX, Emin=MIN_EMIN)

# (status, before_cancel, before_unknown)
_Next: TypeAlias = tuple[OrderStatus, OrderStatus | None, OrderStatus | None]


def _positive(x: Decimal) -> bool:
    return x.is_finite() and x > 0


class Order(msgspec.Struct, frozen=True, kw_only=True):
    """One order: the fold of its events so far.

    Frozen, and replaced on every event: a transition builds the whole next state before anything
    is stored, so an event that raises cannot leave a half-applied order behind, and whoever holds
    an ``Order`` holds a consistent snapshot. The price is a copy of ``trade_ids`` per fill, small
    for the handful of fills an order usually has.
    """

    client_order_id: str
    strategy: str
    instrument: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    arb_id: str | None = None
    leg: int | None = None
    aligned_ts_ns: tuple[int, ...] | None = None
    #: where the order was routed (the venue to query about it)
    venue: str = "sim"
    status: OrderStatus = OrderStatus.SUBMITTED
    #: set while a cancel request is pending, beneath UNKNOWN too: the status the cancel would undo
    before_cancel: OrderStatus | None = None
    #: set while UNKNOWN: the status before the outcome became unknown, moved on by news since
    before_unknown: OrderStatus | None = None
    #: why the order came to its status, when the event said (a reject or cancel reason, why the
    #: outcome is unknown, NOT_FOUND_AT_VENUE); empty otherwise
    reason: str = ""
    venue_order_id: str | None = None
    filled_qty: Decimal = _ZERO
    # Sums over the fills actually seen; with a fill still missing they trail filled_qty.
    executed_qty: Decimal = _ZERO
    notional: Decimal = _ZERO
    trade_ids: frozenset[str] = frozenset()
    #: found at the venue by reconciliation, never submitted by this journal (no strategy)
    external: bool = False

    @classmethod
    def from_submitted(cls, event: OrderSubmitted) -> Order:
        if not _positive(event.quantity):
            raise OrderStateError(
                f"order {event.client_order_id!r}: OrderSubmitted with quantity {event.quantity}, "
                "which is not positive"
            )
        return cls(
            client_order_id=event.client_order_id,
            strategy=event.strategy,
            instrument=event.instrument,
            side=event.side,
            order_type=event.order_type,
            quantity=event.quantity,
            price=event.price,
            trigger_price=event.trigger_price,
            time_in_force=event.time_in_force,
            reduce_only=event.reduce_only,
            arb_id=event.arb_id,
            leg=event.leg,
            aligned_ts_ns=event.aligned_ts_ns,
            venue=event.venue,
        )

    @classmethod
    def adopted(cls, event: OrderStatusReport) -> Order:
        """The order an external report found at the venue, in the status it reports."""
        if not event.external:
            raise OrderStateError(
                f"order {event.client_order_id!r}: OrderStatusReport for an unknown order, not "
                "marked external"
            )
        found = cls(
            client_order_id=event.client_order_id,
            strategy="",
            instrument=event.instrument,
            side=event.side,
            order_type=event.order_type,
            quantity=event.quantity,
            price=event.price,
            venue=event.venue,
            external=True,
        )._report(event)
        if found.status is S.SUBMITTED:
            raise _illegal(found, event, "adopts an order the venue says it does not have")
        return found

    @property
    def avg_px(self) -> Decimal | None:
        """Quantity-weighted price of the fills seen, None before the first; exact unless the
        division does not terminate, then rounded to 28 significant digits."""
        if self.executed_qty == 0:
            return None
        return _AVG.divide(self.notional, self.executed_qty)

    @property
    def live_status(self) -> OrderStatus:
        """The status beneath the overlays (UNKNOWN, then PENDING_CANCEL): what the order was last
        known to be doing at the venue."""
        status = self.status
        if status is S.UNKNOWN and self.before_unknown is not None:
            status = self.before_unknown
        if status is S.PENDING_CANCEL and self.before_cancel is not None:
            status = self.before_cancel
        return status

    def is_duplicate(self, event: OrderEvent) -> bool:
        """A fill whose trade id was applied, or an ack with the venue order id already known."""
        if isinstance(event, OrderFilled):
            return event.trade_id in self.trade_ids
        return isinstance(event, OrderAccepted) and event.venue_order_id == self.venue_order_id

    def apply(self, event: OrderEvent) -> Order:
        """The order after ``event``: itself if it changes nothing; OrderStateError if illegal."""
        return self if self.is_duplicate(event) else self._apply(event)

    def _apply(self, event: OrderEvent) -> Order:
        """:meth:`apply` for an event that is not a duplicate."""
        if isinstance(event, OrderFilled):
            return self._fill(event)
        if isinstance(event, OrderStatusReport):
            return self._report(event)
        status, before_cancel, before_unknown = self._next(type(event), event)
        venue_order_id = self.venue_order_id
        if isinstance(event, OrderAccepted):
            if venue_order_id is not None:
                raise _illegal(self, event, f"but the venue already acknowledged it as {venue_order_id!r}")
            venue_order_id = event.venue_order_id
        if (
            status is self.status
            and before_cancel is self.before_cancel
            and before_unknown is self.before_unknown
            and venue_order_id == self.venue_order_id
        ):
            return self
        return msgspec.structs.replace(
            self,
            status=status,
            before_cancel=before_cancel,
            before_unknown=before_unknown,
            reason=self.reason if status is self.status else _reason(event),
            venue_order_id=venue_order_id,
        )

    def _fill(self, event: OrderFilled) -> Order:
        if not (_positive(event.last_qty) and event.cum_qty.is_finite() and event.last_px.is_finite()):
            raise _illegal(
                self,
                event,
                f"{event.trade_id!r} with last_qty {event.last_qty}, cum_qty {event.cum_qty}, "
                f"last_px {event.last_px}: last_qty must be positive and all finite",
            )
        filled = max(self.filled_qty, event.cum_qty)
        status, before_cancel, before_unknown = self._next(
            Fill.FULL if filled == self.quantity else Fill.PARTIAL, event
        )
        try:
            executed = _EXACT.add(self.executed_qty, event.last_qty)
            notional = _EXACT.add(self.notional, _EXACT.multiply(event.last_qty, event.last_px))
        except ArithmeticError as exc:
            raise _illegal(self, event, f"{event.trade_id!r} cannot be summed exactly") from exc
        if event.instrument != self.instrument or event.side != self.side:
            why = f"is for {event.side} {event.instrument}, not {self.side} {self.instrument}"
        elif event.cum_qty > self.quantity:
            why = f"overfills: cum_qty {event.cum_qty} > quantity {self.quantity}"
        elif event.cum_qty < event.last_qty:
            why = f"has cum_qty {event.cum_qty} < its own last_qty {event.last_qty}"
        elif executed > filled:
            why = f"brings the fills seen to {executed}, above the venue's cum_qty {filled}"
        else:
            return msgspec.structs.replace(
                self,
                status=status,
                before_cancel=before_cancel,
                before_unknown=before_unknown,
                reason=self.reason if status is self.status else "",
                filled_qty=filled,
                executed_qty=executed,
                notional=notional,
                trade_ids=self.trade_ids | {event.trade_id},
            )
        raise _illegal(self, event, f"{event.trade_id!r} {why}")

    def _report(self, event: OrderStatusReport) -> Order:
        reported, filled = event.status, event.filled_qty
        if not (_positive(event.quantity) and filled.is_finite() and filled >= 0):
            raise _illegal(
                self,
                event,
                f"{reported} with quantity {event.quantity}, filled_qty {filled}: the quantity must "
                "be positive, filled_qty finite and not negative",
            )
        if (event.venue, event.instrument, event.side, event.quantity) != (
            self.venue,
            self.instrument,
            self.side,
            self.quantity,
        ):
            raise _illegal(
                self,
                event,
                f"is for {event.side} {event.quantity} {event.instrument} at {event.venue}, not "
                f"{self.side} {self.quantity} {self.instrument} at {self.venue}",
            )
        venue_order_id = self.venue_order_id
        if event.venue_order_id is not None:
            if reported is ReportedStatus.NOT_FOUND:
                raise _illegal(self, event, f"not_found names a venue order id {event.venue_order_id!r}")
            if venue_order_id is None:
                venue_order_id = event.venue_order_id
            elif venue_order_id != event.venue_order_id:
                raise _illegal(
                    self,
                    event,
                    f"names venue order id {event.venue_order_id!r}, but the venue acknowledged it as "
                    f"{venue_order_id!r}",
                )
        status, before_cancel, before_unknown = self._next(self._report_trigger(event), event)
        filled = max(self.filled_qty, filled)
        if (
            status is self.status
            and before_cancel is self.before_cancel
            and before_unknown is self.before_unknown
            and venue_order_id == self.venue_order_id
            and filled == self.filled_qty
        ):
            return self
        if status is self.status:
            reason = self.reason
        elif reported is ReportedStatus.NOT_FOUND:
            reason = NOT_FOUND_AT_VENUE
        else:
            reason = event.reason or ""
        return msgspec.structs.replace(
            self,
            status=status,
            before_cancel=before_cancel,
            before_unknown=before_unknown,
            reason=reason,
            venue_order_id=venue_order_id,
            filled_qty=filled,
        )

    def _report_trigger(self, event: OrderStatusReport) -> Report:
        """The row a (validated) report takes; OrderStateError if it contradicts itself or the
        fills seen."""
        reported, filled, quantity = event.status, event.filled_qty, self.quantity
        if filled > quantity:
            raise _illegal(self, event, f"overfills: filled_qty {filled} > quantity {quantity}")
        if filled != 0 and reported in _NEVER_EXECUTED:
            raise _illegal(self, event, f"{reported} with filled_qty {filled}: it never executed")
        if reported in _WORKING:
            if filled == quantity:
                raise _illegal(self, event, f"{reported} with all of {quantity} filled")
            return R.PARTIALLY_FILLED if filled > 0 or self.filled_qty > 0 else R.ACCEPTED
        if reported is not ReportedStatus.NOT_FOUND and filled < self.filled_qty:
            raise _illegal(
                self,
                event,
                f"{reported} with filled_qty {filled}, below the {self.filled_qty} already filled",
            )
        if reported is ReportedStatus.FILLED and filled != quantity:
            raise _illegal(self, event, f"filled with filled_qty {filled} of {quantity}")
        if filled == quantity:  # canceled or expired with nothing left: filled
            return R.FILLED
        return _REPORT_OF[reported]

    def _next(self, trigger: Trigger, event: OrderEvent) -> _Next:
        """The next (status, before_cancel, before_unknown) by the table."""
        if self.status is not S.UNKNOWN:
            status, before_cancel = self._step(self.status, self.before_cancel, trigger, event, "")
            return status, before_cancel, (self.status if status is S.UNKNOWN else None)
        target = TRANSITIONS.get((S.UNKNOWN, trigger))
        if target is None:
            raise _illegal(self, event, "is not a legal transition")
        before = self.before_unknown
        if before is None:
            raise _illegal(self, event, "but the order lost its status before the unknown outcome")
        if trigger is OrderStatusUnknown:
            return S.UNKNOWN, self.before_cancel, before
        beneath, before_cancel = self._step(
            before, self.before_cancel, trigger, event, "the status before the unknown outcome"
        )
        if target is S.UNKNOWN and not beneath.is_terminal:
            return S.UNKNOWN, before_cancel, beneath
        if target is BEFORE_UNKNOWN or target is S.UNKNOWN:
            return beneath, before_cancel, None
        if not isinstance(target, OrderStatus):
            raise _illegal(self, event, f"has no meaning for {target}")
        return target, None, None

    def _step(
        self,
        status: OrderStatus,
        before_cancel: OrderStatus | None,
        trigger: Trigger,
        event: OrderEvent,
        beneath: str,
    ) -> tuple[OrderStatus, OrderStatus | None]:
        """The next (status, before_cancel) of an order in ``status`` (not UNKNOWN), by the table.

        ``beneath`` names ``status`` in messages when it is not the order's own status.
        """
        target = TRANSITIONS.get((status, trigger))
        if target is None:
            what = f"is not legal from {status.name}, {beneath}" if beneath else "is not a legal transition"
            raise _illegal(self, event, what)
        if status is S.PENDING_CANCEL and before_cancel is None:
            raise _illegal(self, event, "but the order lost its status before the cancel request")
        if target is BEFORE_CANCEL and before_cancel is not None:
            return before_cancel, None
        if not isinstance(target, OrderStatus):
            raise _illegal(self, event, f"leads to the {target.value} from {status.name}, which it lacks")
        if status is S.PENDING_CANCEL and before_cancel is not None:
            if trigger in _ABOUT_THE_CANCEL:
                # a repeated request, or a timeout: the cancel is still the question
                return target, (before_cancel if target is S.PENDING_CANCEL or target is S.UNKNOWN else None)
            below = TRANSITIONS.get((before_cancel, trigger))
            if not isinstance(below, OrderStatus):
                raise _illegal(
                    self, event, f"is not legal from {before_cancel.name}, the status before the cancel"
                )
            return target, (below if target is S.PENDING_CANCEL else None)
        if trigger is OrderPendingCancel:
            return target, status
        return target, None


def _reason(event: OrderEvent) -> str:
    # a cancel reject's reason is about the request, not about the status it returns to
    if isinstance(event, OrderRejected | OrderCanceled | OrderStatusUnknown):
        return event.reason
    return ""


def _illegal(order: Order, event: OrderEvent, why: str) -> OrderStateError:
    what = type(event).__name__
    if isinstance(event, OrderStatusReport):
        what += f"({event.status})"
    return OrderStateError(f"order {order.client_order_id!r} in status {order.status.name}: {what} {why}")


class OrderPlan(msgspec.Struct, frozen=True, gc=False):
    """What one event does to the order book: computed by :meth:`Orders.check`, stored by
    :meth:`Orders.commit`, valid until anything else is committed for the same order."""

    client_order_id: str
    #: the order the plan was computed from; None when the event creates it
    before: Order | None
    #: the order to store; None when the event changes nothing (a duplicate, a stale report, a
    #: repeated request)
    after: Order | None
    duplicate_fill: bool = False
    late_fill: bool = False


class Orders:
    """Every order of a run by client order id: the fold of the journal's order events."""

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        # Open ids in submission order: a dict is the ordered set the stdlib lacks.
        self._open: dict[str, None] = {}
        self.duplicate_fills = 0
        self.late_fills = 0

    def check(self, event: OrderEvent) -> OrderPlan:
        """What ``event`` would do, changing nothing: raises exactly what :meth:`apply` would."""
        cid = event.client_order_id
        order = self._orders.get(cid)
        if isinstance(event, OrderSubmitted):
            if order is not None:
                raise _illegal(order, event, "for a client order id that is already in use")
            return OrderPlan(cid, None, Order.from_submitted(event))
        if order is None:
            if isinstance(event, OrderStatusReport) and event.external:
                return OrderPlan(cid, None, Order.adopted(event))
            raise OrderStateError(f"order {cid!r}: {type(event).__name__} for an unknown order")
        if order.is_duplicate(event):
            return OrderPlan(cid, order, None, duplicate_fill=isinstance(event, OrderFilled))
        updated = order._apply(event)
        if updated is order:
            return OrderPlan(cid, order, None)
        if isinstance(event, OrderFilled) and event.cum_qty < order.filled_qty:
            return OrderPlan(cid, order, updated, late_fill=True)
        return OrderPlan(cid, order, updated)

    def commit(self, event: OrderEvent, plan: OrderPlan) -> bool:
        """Store what :meth:`check` computed for ``event`` (the same event, or the journal's stamped
        copy of it); False if it changes nothing. A plan computed before another commit to the same
        order is stale and raises, changing nothing."""
        cid = plan.client_order_id
        before = plan.before
        if event.client_order_id != cid or self._orders.get(cid) is not before:
            raise OrderStateError(
                f"order {cid!r}: a plan for {type(event).__name__} {event.client_order_id!r} that is "
                "stale or for another order: check and commit one event at a time"
            )
        if plan.duplicate_fill:
            self.duplicate_fills += 1
        after = plan.after
        if after is None:
            return False
        if plan.late_fill:
            self.late_fills += 1
        self._orders[cid] = after
        if after.status.is_terminal:
            self._open.pop(cid, None)
        elif before is None:
            self._open[cid] = None
        return True

    def apply(self, event: OrderEvent) -> bool:
        """Fold one event in: ``commit(event, check(event))``. False if it changed nothing (a
        duplicate fill or ack, a stale report, a repeated request). A raise changes nothing."""
        return self.commit(event, self.check(event))

    def get(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def open_orders(self, strategy: str | None = None) -> list[Order]:
        """Orders not yet terminal, in submission order; optionally one strategy's only."""
        orders = (self._orders[cid] for cid in self._open)
        return [o for o in orders if strategy is None or o.strategy == strategy]

    def __len__(self) -> int:
        return len(self._orders)

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._orders
