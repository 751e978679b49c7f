"""Commands out to the venues: the kernel's venue port for a live session, and one ordered submission
queue per venue.

The kernel is synchronous: :class:`LiveVenuePort` only puts each command on its venue's
:class:`SubmissionQueue` and answers nothing at once (a live venue answers later, as events). The
queue's task sends the commands one at a time, in the order the engine issued them (an arbitrage's
legs never race each other), and each one only after the journal has made its intent durable: the
writer's barrier covers every event appended before it, so the ``OrderSubmitted`` that the kernel
recorded before handing the command over is on disk before the request leaves.

What a venue answers goes back through ``deliver`` (the session's one entry for venue facts). A
request whose outcome is not known (the client said so, our own timeout, an exception we cannot
classify) is resolved by querying the order by its client id, never by sending it again; an order
still unresolved after the bounded queries stays UNKNOWN, is retried later, and keeps ``/readyz``
false.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Final, Literal, NamedTuple

from adapters.transport.backoff import Backoff
from adapters.transport.resolve import resolve_unknown
from adapters.venue_errors import UnresolvedOrderError, VenueRefusal
from daemon.live.crash import crash_point
from daemon.live.venues import LiveVenue
from daemon.logs import get_logger
from daemon.metrics import Metrics
from engines.clock import Clock
from engines.errors import VibeError
from engines.model.commands import CancelOrder, QueryOrder, SubmitOrder
from engines.model.events import (
    Event,
    MarketEvent,
    OrderCancelRejected,
    OrderRejected,
    OrderStatusUnknown,
)

__all__ = ["LiveVenuePort", "Outbound", "SubmissionQueue"]

#: our own bound on a request, above the clients' own timeouts: past it the outcome is unknown
REQUEST_TIMEOUT_S: Final = 15.0
#: how often an order still unknown after its bounded queries is queried again
RETRY_UNRESOLVED_S: Final = 5.0
#: and how many times, at most, before it is left for the operator (``/readyz`` stays false)
RETRY_UNRESOLVED_MAX: Final = 720

Kind = Literal["submit", "cancel", "query"]
Deliver = Callable[[Event, str], None]


class Outbound(NamedTuple):
    kind: Kind
    command: SubmitOrder | CancelOrder | QueryOrder
    #: ``time.perf_counter()`` when the market event that caused it arrived (tick→order latency)
    origin: float | None


class SubmissionQueue:
    """One venue's commands, sent strictly in order, each after the journal made its intent durable."""

    def __init__(
        self,
        venue: LiveVenue,
        *,
        durable: Callable[[], Awaitable[None]],
        deliver: Deliver,
        query_for: Callable[[str], QueryOrder | None],
        clock: Clock,
        metrics: Metrics,
        blocked: Callable[[], str | None] = lambda: None,
        on_journal_failure: Callable[[VibeError], None] = lambda exc: None,
        resolve_backoff: Backoff | None = None,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
        catch_up: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.venue = venue
        self._durable = durable
        self._deliver = deliver
        self._query_for = query_for
        self._catch_up = catch_up
        self._blocked = blocked
        self._on_journal_failure = on_journal_failure
        self._clock = clock
        self._metrics = metrics
        self._backoff = resolve_backoff or Backoff(base_s=0.05, cap_s=1.0, attempts=8)
        self._timeout = request_timeout_s
        self._queue: asyncio.Queue[Outbound | None] = asyncio.Queue()
        self._log = get_logger(venue=venue.name)
        #: orders whose outcome is still unknown after the bounded queries: client id → retries left
        self.unresolved: dict[str, int] = {}
        self.sent = 0

    def put(self, item: Outbound) -> None:
        self._queue.put_nowait(item)

    def pending(self) -> int:
        return self._queue.qsize()

    async def stop(self) -> None:
        """Let what is queued go out, then end :meth:`run`."""
        self._queue.put_nowait(None)

    async def run(self) -> None:
        while (item := await self._queue.get()) is not None:
            try:
                await self._durable()
            except VibeError as exc:  # the journal cannot make the intent durable: nothing leaves
                self._on_journal_failure(exc)
                continue
            if item.kind == "submit":
                assert isinstance(item.command, SubmitOrder)
                why = self._blocked()
                if why is not None:  # halted or stopping since the engine asked: it never leaves
                    cid = item.command.client_order_id
                    self._metrics.orders.labels(self.venue.name, "refused").inc()
                    self._deliver(self._rejected(cid, f"not sent: {why}", "VT973"), self.venue.name)
                    continue
                crash_point("intent_durable")
                await self._submit(item.command, item.origin)
            elif item.kind == "cancel":
                assert isinstance(item.command, CancelOrder)
                await self._cancel(item.command)
            else:
                assert isinstance(item.command, QueryOrder)
                await self.resolve(item.command.client_order_id)

    # ── the three requests ──

    async def _submit(self, cmd: SubmitOrder, origin: float | None) -> None:
        client = self.venue.execution_for(cmd.instrument)
        if origin is not None:
            self._metrics.tick_to_order_latency.labels(self.venue.name).observe(time.perf_counter() - origin)
        self.sent += 1
        try:
            async with asyncio.timeout(self._timeout):
                answers: Sequence[Event] = await client.submit(cmd)
        except TimeoutError:
            answers = [self._unknown(cmd.client_order_id, f"no answer within {self._timeout:g} s")]
        except VenueRefusal as refusal:
            answers = [self._unknown(cmd.client_order_id, f"{refusal.code}: {refusal.message}")]
        except VibeError as exc:  # refused before sending (a filter, an unmapped symbol): never left
            answers = [self._rejected(cmd.client_order_id, exc.message, exc.code)]
        except Exception as exc:  # the request may have left: only a query can tell
            answers = [self._unknown(cmd.client_order_id, f"{type(exc).__name__}: {exc}")]
        crash_point("answer_received")
        # one count per request, by its first answer (an ack may come with its fills)
        self._metrics.orders.labels(self.venue.name, _result(answers[0]) if answers else "unknown").inc()
        unknown = False
        for fact in answers:
            unknown = unknown or isinstance(fact, OrderStatusUnknown)
            self._deliver(fact, self.venue.name)
        if unknown:
            await self.resolve(cmd.client_order_id)

    async def cancel_now(self, cmd: CancelOrder) -> None:
        """Cancel outside the queue's order (the stop policy, once the queue no longer sends)."""
        await self._cancel(cmd)

    async def _cancel(self, cmd: CancelOrder) -> None:
        client = self.venue.execution_for(cmd.instrument)
        try:
            async with asyncio.timeout(self._timeout):
                answers: Sequence[Event] = await client.cancel(cmd)
        except TimeoutError:
            answers = [self._unknown(cmd.client_order_id, f"cancel: no answer within {self._timeout:g} s")]
        except VibeError as exc:
            now = self._clock.now_ns()
            answers = [
                OrderCancelRejected(
                    ts_event=now, ts_init=now, client_order_id=cmd.client_order_id, reason=exc.message
                )
            ]
        except Exception as exc:
            answers = [self._unknown(cmd.client_order_id, f"cancel: {type(exc).__name__}: {exc}")]
        unknown = False
        for fact in answers:
            unknown = unknown or isinstance(fact, OrderStatusUnknown)
            self._deliver(fact, self.venue.name)
        if unknown:
            await self.resolve(cmd.client_order_id)

    async def resolve(self, client_order_id: str) -> bool:
        """Query the order until the venue answers (bounded); deliver the report. False if unresolved."""
        query = self._query_for(client_order_id)
        if query is None:
            self.unresolved.pop(client_order_id, None)
            return True
        client = self.venue.execution_for(query.instrument)
        try:
            report = await resolve_unknown(client, query, backoff=self._backoff)
        except (UnresolvedOrderError, VenueRefusal, TimeoutError) as exc:
            left = self.unresolved.get(client_order_id, RETRY_UNRESOLVED_MAX) - 1
            self._log.warning(
                "order_unresolved", client_order_id=client_order_id, error=str(exc), retries_left=left
            )
            if left > 0:
                self.unresolved[client_order_id] = left
            return False
        self.unresolved.pop(client_order_id, None)
        self._deliver(report, self.venue.name)
        if self._catch_up is not None:
            # a report can say an order filled (in part) whose fills never reached us: an answer lost
            # with its order, a stream down meanwhile. They are fetched now, not at the next start.
            await self._catch_up(client_order_id)
        return True

    def retry_unresolved(self) -> None:
        """Query again every order left unknown (the supervisor calls this every few seconds)."""
        for cid in list(self.unresolved):
            query = self._query_for(cid)
            if query is not None:
                self._queue.put_nowait(Outbound("query", query, None))

    # ── facts made here ──

    def _unknown(self, cid: str, reason: str) -> OrderStatusUnknown:
        now = self._clock.now_ns()
        return OrderStatusUnknown(ts_event=now, ts_init=now, client_order_id=cid, reason=reason)

    def _rejected(self, cid: str, reason: str, code: str) -> OrderRejected:
        now = self._clock.now_ns()
        return OrderRejected(ts_event=now, ts_init=now, client_order_id=cid, reason=reason, code=code)


def _result(fact: Event) -> str:
    name = type(fact).__name__
    return {
        "OrderAccepted": "accepted",
        "OrderRejected": "rejected",
        "OrderFilled": "accepted",
        "OrderStatusUnknown": "unknown",
        "OrderStatusReport": "duplicate",
    }.get(name, "other")


class LiveVenuePort:
    """The kernel's venue port in a live session: commands go on their venue's queue; nothing is
    answered at once. While :attr:`sending` is False (re-folding the journal at start) nothing goes
    out: those commands were sent, or not, by the session that journalled them, and reconciliation
    finds out which."""

    def __init__(self, queues: Mapping[str, SubmissionQueue]) -> None:
        self.queues = queues
        self.sending = False
        #: set by the session while it steps a market event: when that event arrived
        self.origin: float | None = None

    def _put(self, kind: Kind, cmd: SubmitOrder | CancelOrder | QueryOrder) -> Sequence[Event]:
        if self.sending:
            self.queues[cmd.venue].put(Outbound(kind, cmd, self.origin))
        return ()

    def submit(self, cmd: SubmitOrder, at_ns: int) -> Sequence[Event]:
        return self._put("submit", cmd)

    def cancel(self, cmd: CancelOrder, at_ns: int) -> Sequence[Event]:
        return self._put("cancel", cmd)

    def query(self, cmd: QueryOrder, at_ns: int) -> Sequence[Event]:
        return self._put("query", cmd)

    def on_market(self, event: MarketEvent) -> Sequence[Event]:
        return ()
