"""A client-side rate budget: requests wait for room in a sliding window, never burst past it.

Each venue states its limits as weights per window (Binance: 6000 request weight per minute on
spot, 2400 on USD-M; Bybit: requests per second per endpoint). :class:`RateBudget` keeps what was
spent in the window here and corrects it by what the venue says was used (``X-MBX-USED-WEIGHT-1M``,
``X-Bapi-Limit-Status``): the larger of the two counts, since other processes may share the key.
A 429 pauses the budget for ``Retry-After``; an IP ban (418, 403) halts it, and every later request
raises :class:`~adapters.venue_errors.VenueHaltedError` at once, so a banned venue is not hammered.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from adapters.venue_errors import RateBudgetError, VenueHaltedError

__all__ = ["RateBudget"]


class RateBudget:
    """``limit`` units of weight per ``window_s`` seconds, for the venue (or endpoint) ``name``."""

    def __init__(
        self, name: str, *, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit <= 0 or window_s <= 0:
            raise ValueError("a rate budget needs a positive limit and window")
        self.name = name
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._spent: deque[tuple[float, int]] = deque()  # (time, weight), oldest first
        # the sum of _spent's weights, kept as they come and go: a request must not cost a pass over
        # the window (6000 entries a minute at Binance's spot limit)
        self._total = 0
        self._paused_until = 0.0
        self.halted: str | None = None

    def used(self) -> int:
        """The weight spent in the current window."""
        self._expire(self._clock())
        return self._total

    def wait_for(self, weight: int) -> float:
        """Seconds until ``weight`` fits (0.0: it fits now). Raises when halted."""
        if self.halted is not None:
            raise VenueHaltedError(self.name, self.halted)
        if weight > self.limit:
            raise RateBudgetError(f"{self.name}: a request of weight {weight} exceeds the limit {self.limit}")
        now = self._clock()
        self._expire(now)
        wait = max(0.0, self._paused_until - now)
        room = self.limit - self._total
        if room >= weight:
            return wait
        # the oldest spends must leave the window until the weight fits
        freed = room
        for spent_at, spent in self._spent:
            freed += spent
            if freed >= weight:
                return max(wait, spent_at + self.window_s - now)
        return max(wait, self.window_s)  # pragma: no cover - weight <= limit always fits eventually

    def try_take(self, weight: int = 1) -> bool:
        """Spend ``weight`` now if it fits."""
        if self.wait_for(weight) > 0.0:
            return False
        self._spend(self._clock(), weight)
        return True

    async def take(self, weight: int = 1, *, timeout: float) -> None:
        """Wait for room, then spend ``weight``; :class:`RateBudgetError` (VT810) when the wait would
        be longer than ``timeout`` seconds (nothing spent)."""
        deadline = self._clock() + timeout
        while True:
            wait = self.wait_for(weight)
            if wait <= 0.0:
                self._spend(self._clock(), weight)
                return
            if self._clock() + wait > deadline:
                raise RateBudgetError(
                    f"{self.name}: weight {weight} would wait {wait:.3f} s for the rate budget "
                    f"({self.used()}/{self.limit} per {self.window_s:g} s), more than {timeout:g} s"
                )
            await asyncio.sleep(wait)

    def observe_used(self, used: int) -> None:
        """The venue says ``used`` weight was spent in its window: count at least that much."""
        now = self._clock()
        self._expire(now)
        missing = used - self._total
        if missing > 0:
            self._spend(now, missing)

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (a 429's ``Retry-After``)."""
        self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))

    def halt(self, reason: str) -> None:
        """Send nothing more; every later request raises :class:`VenueHaltedError` with ``reason``."""
        self.halted = reason

    def _spend(self, at: float, weight: int) -> None:
        self._spent.append((at, weight))
        self._total += weight

    def _expire(self, now: float) -> None:
        horizon = now - self.window_s
        spent = self._spent
        while spent and spent[0][0] <= horizon:
            self._total -= spent.popleft()[1]
