"""The venue's clock as seen from here: an offset measured from the venue's time endpoint.

Signed requests carry the venue's time (``timestamp``, ``X-BAPI-TIMESTAMP``); a local clock that
drifts past the receive window gets every request refused (-1021, 10002). The offset is the venue's
time minus the midpoint of the local send and receive times of a time request; a refusal for the
window resyncs it (and the request's order is queried, never resent).
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["ClockOffset", "WallClock"]


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class ClockOffset:
    """``now_ms()`` is the local wall clock corrected to the venue's."""

    def __init__(self, *, wall_ms: Callable[[], int] = _wall_ms) -> None:
        self._wall_ms = wall_ms
        self.offset_ms = 0
        self.round_trip_ms: int | None = None

    def local_ms(self) -> int:
        return self._wall_ms()

    def now_ms(self) -> int:
        return self._wall_ms() + self.offset_ms

    def update(self, server_ms: int, sent_ms: int, received_ms: int) -> None:
        """Set the offset from a time request sent at ``sent_ms`` and answered at ``received_ms``
        (local times) with the venue's ``server_ms``."""
        self.offset_ms = server_ms - (sent_ms + received_ms) // 2
        self.round_trip_ms = max(0, received_ms - sent_ms)


class WallClock:
    """The realtime :class:`~engines.clock.Clock` of the live edge (paper trading, emulators):
    ``now_ns`` is the wall clock; an event arriving now is stamped ``ts_init`` now (never before its
    own ``ts_event``)."""

    def now_ns(self) -> int:
        return time.time_ns()

    def ts_init(self, ts_event: int) -> int:
        return max(ts_event, time.time_ns())
