"""The order state machine's table: the statuses, the triggers, and :data:`TRANSITIONS`.

One explicit table, :data:`TRANSITIONS`, says which event may move an order from which status to
which. Anything it does not list raises :class:`~engines.errors.OrderStateError`, changing nothing.
A row whose target is the status it starts from is legal and leaves the status as it is (a stale
report, a repeated request, news a terminal order no longer needs). An
:class:`~engines.orders.order.Order` moves by it (DESIGN.md sections 5 and 8).

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
* **Unknown outcomes.** :class:`~engines.model.events.OrderStatusUnknown` (a request timed out, a 5xx,
  the connection dropped) moves a live order to UNKNOWN and remembers the status before it in
  ``before_unknown``. ACCEPTED and PARTIALLY_FILLED orders take it too: with the stream lost, a
  working order may have filled or been canceled unseen. On a terminal order it changes nothing
  (its state no longer depends on any request). While UNKNOWN, an event is news about the order
  beneath: it must be legal from ``before_unknown`` (by the same table), which it moves on. The
  order leaves UNKNOWN when the news answers the question: an ack (the create arrived), a cancel
  reject, an end (canceled, expired, rejected, a fill that completes it) or a status report. A
  partial fill, a cancel request or another timeout leave it UNKNOWN.
* **Status reports** (:class:`~engines.model.events.OrderStatusReport`) take the row of the status they
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
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum, StrEnum
from typing import Final, TypeAlias

from engines.model.events import (
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderExpired,
    OrderPendingCancel,
    OrderRejected,
    OrderStatusUnknown,
)

__all__ = [
    "BEFORE_CANCEL",
    "BEFORE_UNKNOWN",
    "NOT_FOUND_AT_VENUE",
    "TERMINAL",
    "TRANSITIONS",
    "Fill",
    "OrderStatus",
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
