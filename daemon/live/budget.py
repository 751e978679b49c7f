"""The strategy call budget: a kernel step that runs too long is stopped, not waited for.

The kernel runs on the event loop's thread, so a strategy stuck in a loop would freeze the health
endpoints, the venue streams and the watchdog with it. Each step is therefore armed with a one-shot
``ITIMER_REAL`` alarm; when it fires, its handler raises :class:`OverBudget` in the step (a
``BaseException``, so no strategy's ``except Exception`` swallows it and the engine's guards let it
through). The session then halts the strategy with a typed error and keeps serving ``/readyz`` to
say so.

The alarm interrupts Python code only: a single C call that never returns to the interpreter (a huge
integer power) runs to its end; its overrun is still measured, and halts the strategy when it is
over. Off the main thread (tests that run a session in a thread) there is no alarm, only the
measurement.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

__all__ = ["CallBudget", "OverBudget"]


class OverBudget(BaseException):
    """A kernel step ran past the strategy call budget."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"a strategy call ran past its budget of {seconds * 1000:g} ms")
        self.seconds = seconds


class CallBudget:
    """Arms an alarm around each step; :attr:`overruns` counts the steps stopped or measured over."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.overruns = 0
        self._armed = False
        self._previous: object = None
        self._alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")

    def install(self) -> None:
        if self._alarm:
            self._previous = signal.signal(signal.SIGALRM, self._on_alarm)

    def uninstall(self) -> None:
        if self._alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous if callable(self._previous) else signal.SIG_DFL)

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if self._armed:
            self._armed = False
            self.overruns += 1
            raise OverBudget(self.seconds)

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Run one step under the budget; raises :class:`OverBudget` when it runs past it."""
        start = time.perf_counter()
        if self._alarm:
            self._armed = True
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        try:
            yield
        finally:
            if self._alarm:
                self._armed = False
                signal.setitimer(signal.ITIMER_REAL, 0)
        if time.perf_counter() - start > self.seconds:
            self.overruns += 1
            raise OverBudget(self.seconds)
