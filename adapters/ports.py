"""What the daemon needs from any venue: the two ports every venue package implements.

* :class:`ExecutionClient`: orders (submit, cancel, query by client id), what the venue holds (open
  orders, fills since a cursor, balances, positions) and an async stream of order and fill events.
* :class:`MarketDataClient`: subscriptions to quotes, trades and bars, and an async stream of them.

What crosses a port is the engine's own msgspec types: commands
(:class:`~engines.model.commands.SubmitOrder`, :class:`~engines.model.commands.CancelOrder`,
:class:`~engines.model.commands.QueryOrder`) in, events (:mod:`engines.model.events`) out, plus the
two small account structs below. Wire messages never leave a venue package.

Rules every implementation keeps (DESIGN.md sections 5, 7 and 8):

* **Every network await has a timeout.** A read (query, open orders, fills, balances, positions)
  whose timeout expires raises :class:`TimeoutError`; a venue's refusal of a read raises the
  package's ``VenueRequestError`` (VT803), a malformed answer ``VenueMessageError`` (VT800).
* **An unknown outcome is an event, not an exception.** A submit or cancel whose outcome is not
  known (timeout, 5xx, lost connection, a code not in the venue's table) returns
  :class:`~engines.model.events.OrderStatusUnknown`; the caller resolves it with :meth:`query`.
* **A create is never retried.** :meth:`ExecutionClient.submit` sends the order at most once; only a
  query that answers ``not_found`` lets the caller send it again.
* **Every answer is also on the stream.** Each fact a call returns is delivered once on
  :meth:`ExecutionClient.events` as well, in the order the venue made them; fills are identified by
  their trade id, so a consumer that sees a fill twice (stream and ``fills_since``) folds it once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from decimal import Decimal
from typing import Protocol, runtime_checkable

import msgspec

from engines.model.commands import CancelOrder, QueryOrder, SubmitOrder
from engines.model.events import (
    Bar,
    FillReport,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderStatusReport,
    OrderStatusUnknown,
    QuoteTick,
    TradeTick,
)

__all__ = [
    "Balance",
    "Balances",
    "CancelAnswer",
    "ExecutionClient",
    "ExecutionEvent",
    "MarketDataClient",
    "MarketEvent",
    "PositionAmount",
    "Positions",
    "SubmitAnswer",
]

_ZERO = Decimal(0)

SubmitAnswer = OrderAccepted | OrderRejected | OrderFilled | OrderStatusUnknown | OrderStatusReport
"""What a submit answers at once: accepted or rejected (a live venue may return the fills that came
with its ack), unknown, or the venue's report of the order when it already had one with this client
id (a duplicate answer: the order was queried, never failed)."""

CancelAnswer = OrderCanceled | OrderCancelRejected | OrderStatusUnknown
"""What a cancel answers at once: canceled, refused (unknown order, already ended), or unknown."""

ExecutionEvent = (
    OrderAccepted
    | OrderRejected
    | OrderFilled
    | OrderCanceled
    | OrderCancelRejected
    | OrderExpired
    | OrderStatusUnknown
    | OrderStatusReport
    | FillReport
)
"""What an execution client's stream carries."""

MarketEvent = QuoteTick | TradeTick | Bar
"""What a market-data client's stream carries."""


class Balance(msgspec.Struct, frozen=True, kw_only=True):
    """One asset: ``free`` can be spent, ``locked`` is held by working orders."""

    free: Decimal = _ZERO
    locked: Decimal = _ZERO

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


class Balances(msgspec.Struct, frozen=True, kw_only=True):
    """The account's assets at a venue, by asset (``USDT``, ``BTC``, ``KRW``)."""

    assets: dict[str, Balance] = msgspec.field(default_factory=dict)

    def get(self, asset: str) -> Balance:
        """The asset's balance; zero when the venue holds none of it."""
        return self.assets.get(asset, Balance())


class PositionAmount(msgspec.Struct, frozen=True, kw_only=True):
    """One instrument's position: signed ``qty`` (negative is short) and its average entry price."""

    qty: Decimal
    avg_px: Decimal


class Positions(msgspec.Struct, frozen=True, kw_only=True):
    """The open positions at a venue, by symbol (``binance-usdm:BTCUSDT``); flat ones are left out."""

    positions: dict[str, PositionAmount] = msgspec.field(default_factory=dict)


@runtime_checkable
class ExecutionClient(Protocol):
    """Orders at one venue. Every method is a coroutine; none blocks the loop."""

    async def submit(self, cmd: SubmitOrder) -> Sequence[SubmitAnswer]:
        """Send the order, once, under ``cmd.client_order_id`` (the engine's deterministic id).

        Returns the facts known when the request completes: ``OrderAccepted`` or ``OrderRejected``
        (a client id the venue already has is rejected or reported duplicate, never a second live
        order), or ``OrderStatusUnknown`` when the outcome is not known. Never retries the create and
        never raises for the venue's answer or a transport failure.
        """
        ...

    async def cancel(self, cmd: CancelOrder) -> Sequence[CancelAnswer]:
        """Cancel the order ``cmd.client_order_id``.

        Returns ``OrderCanceled``, ``OrderCancelRejected`` (an order the venue does not have or that
        already ended), or ``OrderStatusUnknown``. Never raises for the venue's answer or a transport
        failure.
        """
        ...

    async def query(self, cmd: QueryOrder) -> OrderStatusReport:
        """The order's state at the venue by client id; ``status`` ``not_found`` for an order the
        venue never had (the one answer that lets the caller send it again).

        Raises :class:`TimeoutError` or the venue's typed request error; safe to repeat.
        """
        ...

    async def open_orders(self) -> Sequence[OrderStatusReport]:
        """Every order working at the venue (accepted or partially filled), oldest first."""
        ...

    async def fills_since(self, cursor: str | None) -> Sequence[FillReport]:
        """The fills after the one whose trade id is ``cursor`` (all fills for None), oldest first,
        each once. Passing the last trade id returned gives nothing until a new fill happens."""
        ...

    async def balances(self) -> Balances:
        """The account's assets, free and locked."""
        ...

    async def positions(self) -> Positions:
        """The open positions (derivatives, and spot holdings where the venue reports them so)."""
        ...

    def events(self) -> AsyncIterator[ExecutionEvent]:
        """The stream of the venue's order and fill events: every fact once, in the venue's order,
        including those the calls above returned. One consumer; it ends after :meth:`close`."""
        ...

    async def close(self) -> None:
        """Release connections and end :meth:`events`. Working orders stay at the venue."""
        ...


@runtime_checkable
class MarketDataClient(Protocol):
    """Market data from one venue."""

    async def subscribe(
        self,
        symbols: Iterable[str],
        *,
        quotes: bool = True,
        trades: bool = True,
        bar_interval_ns: int | None = None,
    ) -> None:
        """Subscribe to ``symbols``: quotes and trades as asked, bars of ``bar_interval_ns`` when set.

        Raises :class:`TimeoutError` or the venue's typed error (VT804 for a refused subscription);
        a symbol outside the venue's mapping is VT801.
        """
        ...

    def events(self) -> AsyncIterator[MarketEvent]:
        """The stream of quotes, trades and bars of the subscribed symbols, in the order received.
        One consumer; it ends after :meth:`close` (or, for a recording, at its end)."""
        ...

    async def close(self) -> None:
        """Unsubscribe, release connections and end :meth:`events`."""
        ...
