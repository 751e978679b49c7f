"""What every venue client shares below its protocol: bounded backoff with jitter, a client-side rate
budget, the venue clock offset, and the resolution of an unknown order outcome by query
(docs/venues.md, Transport)."""

from adapters.transport.backoff import Backoff
from adapters.transport.budget import RateBudget
from adapters.transport.clock import ClockOffset, WallClock
from adapters.transport.resolve import resolve_unknown

__all__ = ["Backoff", "ClockOffset", "RateBudget", "WallClock", "resolve_unknown"]
