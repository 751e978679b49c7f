"""One order as the fold of its events: :class:`Order`, frozen and replaced on every event.

An order moves by the table of :mod:`engines.orders.table`, whose docstring gives the reasons of its
rows (fills after the end, repeated requests, unknown outcomes, status reports). Fills
(:class:`~engines.model.events.OrderFilled`, and :class:`~engines.model.events.FillReport`, which is
one) follow three rules on top of the table:

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

**Adoption.** A report with ``external=True`` for a client order id the journal never saw creates
the order (``external=True``, no strategy) in the status it reports (:meth:`Order.adopted`). Any
other event for an unknown id is still an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final, TypeAlias

import msgspec

from engines.decimals import AVG_PX_CONTEXT, ORDER_SUM_CONTEXT
from engines.errors import OrderStateError
from engines.model.enums import OrderType, ReportedStatus, Side, TimeInForce
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
from engines.orders.table import (
    BEFORE_CANCEL,
    BEFORE_UNKNOWN,
    NOT_FOUND_AT_VENUE,
    TRANSITIONS,
    Fill,
    OrderStatus,
    R,
    Report,
    S,
    Trigger,
)

__all__ = ["Order", "illegal"]

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
            raise illegal(found, event, "adopts an order the venue says it does not have")
        return found

    @property
    def avg_px(self) -> Decimal | None:
        """Quantity-weighted price of the fills seen, None before the first; exact unless the
        division does not terminate, then rounded to 28 significant digits."""
        if self.executed_qty == 0:
            return None
        return AVG_PX_CONTEXT.divide(self.notional, self.executed_qty)

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
                raise illegal(self, event, f"but the venue already acknowledged it as {venue_order_id!r}")
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
            raise illegal(
                self,
                event,
                f"{event.trade_id!r} with last_qty {event.last_qty}, cum_qty {event.cum_qty}, "
                f"last_px {event.last_px}: last_qty must be positive and all finite",
            )
        filled = max(self.filled_qty, event.cum_qty)
        status, before_cancel, before_unknown = self._next(
            Fill.FULL if filled == self.quantity else Fill.PARTIAL, event
        )
        # Sums are exact or raise (Inexact is trapped), never silently rounded.
        try:
            executed = ORDER_SUM_CONTEXT.add(self.executed_qty, event.last_qty)
            notional = ORDER_SUM_CONTEXT.add(
                self.notional, ORDER_SUM_CONTEXT.multiply(event.last_qty, event.last_px)
            )
        except ArithmeticError as exc:
            raise illegal(self, event, f"{event.trade_id!r} cannot be summed exactly") from exc
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
        raise illegal(self, event, f"{event.trade_id!r} {why}")

    def _report(self, event: OrderStatusReport) -> Order:
        reported, filled = event.status, event.filled_qty
        if not (_positive(event.quantity) and filled.is_finite() and filled >= 0):
            raise illegal(
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
            raise illegal(
                self,
                event,
                f"is for {event.side} {event.quantity} {event.instrument} at {event.venue}, not "
                f"{self.side} {self.quantity} {self.instrument} at {self.venue}",
            )
        venue_order_id = self.venue_order_id
        if event.venue_order_id is not None:
            if reported is ReportedStatus.NOT_FOUND:
                raise illegal(self, event, f"not_found names a venue order id {event.venue_order_id!r}")
            if venue_order_id is None:
                venue_order_id = event.venue_order_id
            elif venue_order_id != event.venue_order_id:
                raise illegal(
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
            raise illegal(self, event, f"overfills: filled_qty {filled} > quantity {quantity}")
        if filled != 0 and reported in _NEVER_EXECUTED:
            raise illegal(self, event, f"{reported} with filled_qty {filled}: it never executed")
        if reported in _WORKING:
            if filled == quantity:
                raise illegal(self, event, f"{reported} with all of {quantity} filled")
            return R.PARTIALLY_FILLED if filled > 0 or self.filled_qty > 0 else R.ACCEPTED
        if reported is not ReportedStatus.NOT_FOUND and filled < self.filled_qty:
            raise illegal(
                self,
                event,
                f"{reported} with filled_qty {filled}, below the {self.filled_qty} already filled",
            )
        if reported is ReportedStatus.FILLED and filled != quantity:
            raise illegal(self, event, f"filled with filled_qty {filled} of {quantity}")
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
            raise illegal(self, event, "is not a legal transition")
        before = self.before_unknown
        if before is None:
            raise illegal(self, event, "but the order lost its status before the unknown outcome")
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
            raise illegal(self, event, f"has no meaning for {target}")
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
            raise illegal(self, event, what)
        if status is S.PENDING_CANCEL and before_cancel is None:
            raise illegal(self, event, "but the order lost its status before the cancel request")
        if target is BEFORE_CANCEL and before_cancel is not None:
            return before_cancel, None
        if not isinstance(target, OrderStatus):
            raise illegal(self, event, f"leads to the {target.value} from {status.name}, which it lacks")
        if status is S.PENDING_CANCEL and before_cancel is not None:
            if trigger in _ABOUT_THE_CANCEL:
                # a repeated request, or a timeout: the cancel is still the question
                return target, (before_cancel if target is S.PENDING_CANCEL or target is S.UNKNOWN else None)
            below = TRANSITIONS.get((before_cancel, trigger))
            if not isinstance(below, OrderStatus):
                raise illegal(
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


def illegal(order: Order, event: OrderEvent, why: str) -> OrderStateError:
    what = type(event).__name__
    if isinstance(event, OrderStatusReport):
        what += f"({event.status})"
    return OrderStateError(f"order {order.client_order_id!r} in status {order.status.name}: {what} {why}")
