"""The commands: what engines ask a venue to do (submit, cancel, query an order).

A command is not a fact: the journal records what it leads to (the intent
:class:`~engines.model.events.OrderSubmitted`, the venue's answers), never the command itself. It is a
:class:`~engines.model.events.Record` like an event, so the one codec encodes both.
"""

from __future__ import annotations

from decimal import Decimal

from engines.model.enums import OrderType, Side, TimeInForce
from engines.model.events import Record


class Command(Record, frozen=True, kw_only=True):
    strategy: str
    #: the venue the command goes to: routing is decided once, by the run's configuration, and
    #: carried on every command, never guessed from the symbol on the way out
    venue: str


class SubmitOrder(Command, frozen=True, kw_only=True):
    client_order_id: str
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


class CancelOrder(Command, frozen=True, kw_only=True):
    client_order_id: str
    instrument: str


class QueryOrder(Command, frozen=True, kw_only=True):
    """Ask the venue for an order's state by client id: how an unknown outcome is resolved (never by
    sending the order again). The answer comes back as an
    :class:`~engines.model.events.OrderStatusReport`.

    It names the order as the journal knows it, so that a venue that has no such order can still
    answer with a ``not_found`` report for exactly this order.
    """

    client_order_id: str
    instrument: str
    side: Side
    order_type: OrderType
    quantity: Decimal


AnyCommand = SubmitOrder | CancelOrder | QueryOrder
