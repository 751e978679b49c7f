"""The clock port: how the pure core learns what time it is, without reading a clock itself.

Every fact carries two times: ``ts_event``, when it happened at the venue (exchange time), and
``ts_init``, when this process created it. The core always knows ``ts_event`` (it is acting on an
event); ``ts_init`` is the clock's business:

* the **replay clock** (backtest) has no time of its own: a fact made while acting at exchange time
  ``t`` is created at ``t``, so two replays of the same inputs write the same bytes;
* the **realtime clock** (paper and live, in daemon/) answers with the wall clock.

Drivers also read :meth:`Clock.now_ns` to decide when timers are due: the replay driver in exchange
time between events, the live driver on the wall clock.
"""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    def now_ns(self) -> int:
        """The current time of this clock, UTC epoch nanoseconds."""
        ...

    def ts_init(self, ts_event: int) -> int:
        """The ``ts_init`` of a fact created now while acting at exchange time ``ts_event``."""
        ...


class ReplayClock:
    """Exchange time, moved forward by the replay driver as it hands over events and fires timers."""

    __slots__ = ("_now",)

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def now_ns(self) -> int:
        return self._now

    def ts_init(self, ts_event: int) -> int:
        return ts_event

    def advance(self, to_ns: int) -> None:
        """Move to ``to_ns``; time never goes back (a late fact does not rewind the run)."""
        if to_ns > self._now:  # noqa: PLR1730 - not max(): a call at every new instant of a replay
            self._now = to_ns


REPLAY_CLOCK: ReplayClock = ReplayClock()
"""A replay clock for code that only stamps facts (its ``ts_init`` needs no state)."""
