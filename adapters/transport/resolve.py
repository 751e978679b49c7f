"""Resolving an unknown order outcome: query the venue by client id, with bounded backoff.

A submit whose answer was lost (timeout, 5xx, -1007, 10016, a dropped connection) may or may not
have made an order. Sending it again could make two; so the order is queried by its client id until
the venue answers, at most ``backoff.attempts`` times. The answer decides: ``not_found`` is the only
one that allows a new create, and the caller makes that decision, not this function.
"""

from __future__ import annotations

import asyncio
import random

from adapters.ports import ExecutionClient
from adapters.transport.backoff import Backoff
from adapters.venue_errors import Outcome, UnresolvedOrderError, VenueRefusal
from engines.model.commands import QueryOrder
from engines.model.events import OrderStatusReport

__all__ = ["resolve_unknown"]

_RETRYABLE = frozenset({Outcome.UNKNOWN, Outcome.BACK_OFF, Outcome.CLOCK})


async def resolve_unknown(
    client: ExecutionClient,
    query: QueryOrder,
    *,
    backoff: Backoff | None = None,
    rng: random.Random | None = None,
) -> OrderStatusReport:
    """The venue's report of the order ``query`` names.

    Retries a query that timed out or that the venue answered with a retryable refusal (unknown,
    back off, clock); a final refusal (halt, rejected) propagates. After the last attempt,
    :class:`~adapters.venue_errors.UnresolvedOrderError` (VT807).
    """
    backoff = backoff or Backoff()
    last = "no answer"
    delays = backoff.delays(rng)
    for attempt in range(backoff.attempts + 1):
        try:
            return await client.query(query)
        except TimeoutError:
            last = "timeout"
        except VenueRefusal as refusal:
            if refusal.outcome not in _RETRYABLE:
                raise
            last = f"{refusal.code} {refusal.outcome}: {refusal.message}"
            if refusal.retry_after_s:
                await asyncio.sleep(refusal.retry_after_s)
        if attempt < backoff.attempts:
            await asyncio.sleep(next(delays))
    raise UnresolvedOrderError(query.venue, query.client_order_id, backoff.attempts + 1, last)
