"""The order book: every order of a run by client order id, the fold of the journal's order events.

Folding is two-phase, so that a driver can validate a fact before it journals it (DESIGN.md
section 2): :meth:`Orders.check` computes what an event does and raises what :meth:`Orders.apply`
would raise, changing nothing; :meth:`Orders.commit` stores it. ``apply`` is ``commit(check())``.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from engines.errors import OrderStateError
from engines.model.enums import Side
from engines.model.events import OrderEvent, OrderFilled, OrderStatusReport, OrderSubmitted
from engines.orders.order import Order, illegal

__all__ = ["OrderPlan", "Orders"]


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
                raise illegal(order, event, "for a client order id that is already in use")
            return OrderPlan(cid, None, Order.from_submitted(event))
        if order is None:
            if isinstance(event, OrderStatusReport) and event.external:
                return OrderPlan(cid, None, Order.adopted(event))
            raise OrderStateError(f"order {cid!r}: {type(event).__name__} for an unknown order")
        if order.is_duplicate(event):
            return OrderPlan(cid, order, None, duplicate_fill=isinstance(event, OrderFilled))
        updated = order.apply(event)
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

    def unfolded_fills(self, venue: str, instrument: str) -> Decimal:
        """The signed quantity the venue reported filled (``filled_qty``, the truth) that no fill
        folded yet carries (``executed_qty``): fills known to exist, still on their way."""
        total = Decimal(0)
        for order in self._orders.values():
            if (
                order.venue == venue
                and order.instrument == instrument
                and order.filled_qty > order.executed_qty
            ):
                gap = order.filled_qty - order.executed_qty
                total += gap if order.side is Side.BUY else -gap
        return total

    def has_unfolded_fills(self, venue: str) -> bool:
        """Whether any of ``venue``'s orders was reported filled beyond the fills folded."""
        return any(o.venue == venue and o.filled_qty > o.executed_qty for o in self._orders.values())

    def venue_order_ids(self) -> dict[str, dict[str, str]]:
        """By venue, each order's venue order id by client id (the brokers' order number map)."""
        out: dict[str, dict[str, str]] = {}
        for order in self._orders.values():
            if order.venue_order_id is not None:
                out.setdefault(order.venue, {})[order.client_order_id] = order.venue_order_id
        return out

    def fill_totals(self, venue: str) -> dict[str, tuple[Decimal, Decimal]]:
        """Each of ``venue``'s orders with fills folded: client id → (quantity, notional) they sum to.
        A broker that tells fills as the growth of an order's totals starts from these after a restart."""
        return {
            o.client_order_id: (o.executed_qty, o.notional)
            for o in self._orders.values()
            if o.venue == venue and o.executed_qty > 0
        }

    def __len__(self) -> int:
        return len(self._orders)

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._orders
