"""The order state machine (DESIGN.md section 5).

One explicit table, :data:`TRANSITIONS`, says which event may move an order from which status to
which. Anything it does not list raises :class:`~engines.errors.OrderStateError`, changing nothing.

Fills follow three rules on top of the table:

* **Dedup by trade id.** A fill whose ``trade_id`` the order has already applied is a duplicate.
  It is ignored in any status, terminal ones included: venues resend the last execution on
  reconnect, and reconciliation fetches fills that the stream already delivered.
* **The venue's ``cum_qty`` is the truth** for ``filled_qty``. A ``cum_qty`` above the order
  quantity is an overfill. A new trade id whose ``cum_qty`` is *below* the known ``filled_qty`` is
  a late fill, overtaken in delivery by a later one (two streams, or a reconciliation). It is
  recorded (its trade id; its quantity and price in ``avg_px``) but ``filled_qty`` never goes down.
* **Executions never exceed the truth.** In a consistent stream the fills seen add up to at most
  the largest ``cum_qty`` seen, whatever the delivery order. A fill that breaks this is an error,
  not a guess (DESIGN.md section 6: a mismatch we cannot explain stops trading).
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
    OrderSubmitted,
    OrderType,
    Side,
    TimeInForce,
)


class OrderStatus(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL: Final = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


class Fill(StrEnum):
    """An OrderFilled takes one of two rows: where it leads depends on ``cum_qty`` vs quantity."""

    PARTIAL = "OrderFilled(partial)"
    FULL = "OrderFilled(full)"


class Restore(Enum):
    """The target of a rejected cancel: whatever the order was before the request."""

    BEFORE_CANCEL = "status before the cancel request"


Trigger: TypeAlias = type[Event] | Fill

S = OrderStatus
BEFORE_CANCEL: Final = Restore.BEFORE_CANCEL

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
    # Working at the venue. A cancel we did not ask for (venue-side, another session) is legal.
    (S.ACCEPTED, Fill.PARTIAL): S.PARTIALLY_FILLED,
    (S.ACCEPTED, Fill.FULL): S.FILLED,
    (S.ACCEPTED, OrderPendingCancel): S.PENDING_CANCEL,
    (S.ACCEPTED, OrderCanceled): S.CANCELED,
    (S.ACCEPTED, OrderExpired): S.EXPIRED,
    # The ack row is the ack that a fill overtook; an order is acknowledged at most once.
    (S.PARTIALLY_FILLED, OrderAccepted): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, Fill.PARTIAL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, Fill.FULL): S.FILLED,
    (S.PARTIALLY_FILLED, OrderPendingCancel): S.PENDING_CANCEL,
    (S.PARTIALLY_FILLED, OrderCanceled): S.CANCELED,
    (S.PARTIALLY_FILLED, OrderExpired): S.EXPIRED,
    # Our cancel is in flight. An ack, a reject or a fill is news about the order beneath the
    # request: it must also be legal from the status before the request, which it moves on.
    (S.PENDING_CANCEL, OrderAccepted): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, OrderRejected): S.REJECTED,
    (S.PENDING_CANCEL, Fill.PARTIAL): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, Fill.FULL): S.FILLED,
    (S.PENDING_CANCEL, OrderCancelRejected): BEFORE_CANCEL,
    (S.PENDING_CANCEL, OrderCanceled): S.CANCELED,
    (S.PENDING_CANCEL, OrderExpired): S.EXPIRED,
    # FILLED, CANCELED, REJECTED and EXPIRED have no rows: they are terminal.
}

_CANCEL_OUTCOMES: Final[frozenset[Trigger]] = frozenset({OrderCancelRejected, OrderCanceled, OrderExpired})
_ZERO: Final = Decimal(0)
# Fixed contexts, so that no result depends on the caller's thread context. Sums are exact or
# raise (Inexact is trapped), never silently rounded; only avg_px's division may round.
_EXACT: Final = Context(prec=60, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact, Overflow])
_AVG: Final = Context(prec=28, rounding=ROUND_HALF_EVEN, Emax=MAX_EMAX, Emin=MIN_EMIN)


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
    status: OrderStatus = OrderStatus.SUBMITTED
    before_cancel: OrderStatus | None = None
    venue_order_id: str | None = None
    filled_qty: Decimal = _ZERO
    # Sums over the fills actually seen; with a fill still missing they trail filled_qty.
    executed_qty: Decimal = _ZERO
    notional: Decimal = _ZERO
    trade_ids: frozenset[str] = frozenset()

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
        )

    @property
    def avg_px(self) -> Decimal | None:
        """Quantity-weighted price of the fills seen, None before the first; exact unless the
        division does not terminate, then rounded to 28 significant digits."""
        if self.executed_qty == 0:
            return None
        return _AVG.divide(self.notional, self.executed_qty)

    def is_duplicate(self, event: OrderEvent) -> bool:
        return isinstance(event, OrderFilled) and event.trade_id in self.trade_ids

    def apply(self, event: OrderEvent) -> Order:
        """The order after ``event``: itself for a duplicate fill; OrderStateError if illegal."""
        if self.is_duplicate(event):
            return self
        if isinstance(event, OrderFilled):
            return self._fill(event)
        status, before_cancel = self._next(type(event), event)
        venue_order_id = self.venue_order_id
        if isinstance(event, OrderAccepted):
            if venue_order_id is not None:
                raise _illegal(self, event, f"but the venue already acknowledged it as {venue_order_id!r}")
            venue_order_id = event.venue_order_id
        return msgspec.structs.replace(
            self, status=status, before_cancel=before_cancel, venue_order_id=venue_order_id
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
        status, before_cancel = self._next(Fill.FULL if filled == self.quantity else Fill.PARTIAL, event)
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
                filled_qty=filled,
                executed_qty=executed,
                notional=notional,
                trade_ids=self.trade_ids | {event.trade_id},
            )
        raise _illegal(self, event, f"{event.trade_id!r} {why}")

    def _next(self, trigger: Trigger, event: OrderEvent) -> tuple[OrderStatus, OrderStatus | None]:
        """The next (status, before_cancel) by the table."""
        target = TRANSITIONS.get((self.status, trigger))
        if target is None:
            raise _illegal(self, event, "is not a legal transition")
        if target is BEFORE_CANCEL:
            assert self.before_cancel is not None  # set whenever status is PENDING_CANCEL
            return self.before_cancel, None
        if trigger is OrderPendingCancel:
            return target, self.status
        if self.status is S.PENDING_CANCEL and trigger not in _CANCEL_OUTCOMES:
            assert self.before_cancel is not None
            beneath = TRANSITIONS.get((self.before_cancel, trigger))
            if not isinstance(beneath, OrderStatus):
                raise _illegal(
                    self,
                    event,
                    f"is not legal from {self.before_cancel.name}, the status before the cancel",
                )
            return target, (beneath if target is S.PENDING_CANCEL else None)
        return target, None


def _illegal(order: Order, event: OrderEvent, why: str) -> OrderStateError:
    return OrderStateError(
        f"order {order.client_order_id!r} in status {order.status.name}: {type(event).__name__} {why}"
    )


class Orders:
    """Every order of a run by client order id: the fold of the journal's order events."""

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        # Open ids in submission order: a dict is the ordered set the stdlib lacks.
        self._open: dict[str, None] = {}
        self.duplicate_fills = 0
        self.late_fills = 0

    def apply(self, event: OrderEvent) -> bool:
        """Fold one event in; False for an ignored duplicate fill. A raise changes nothing."""
        cid = event.client_order_id
        order = self._orders.get(cid)
        if isinstance(event, OrderSubmitted):
            if order is not None:
                raise _illegal(order, event, "for a client order id that is already in use")
            self._orders[cid] = Order.from_submitted(event)
            self._open[cid] = None
            return True
        if order is None:
            raise OrderStateError(f"order {cid!r}: {type(event).__name__} for an unknown order")
        if order.is_duplicate(event):
            self.duplicate_fills += 1
            return False
        updated = order.apply(event)
        if isinstance(event, OrderFilled) and event.cum_qty < order.filled_qty:
            self.late_fills += 1
        self._orders[cid] = updated
        if updated.status.is_terminal:
            self._open.pop(cid, None)
        return True

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
