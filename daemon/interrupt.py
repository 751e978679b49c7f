"""SIGINT and SIGTERM end a run cleanly, even while a strategy call is spinning.

A handler installed with ``loop.add_signal_handler`` runs only when the event loop gets control
back, which a strategy stuck in a loop never gives it. A Python-level handler runs between two
bytecodes of whatever the main thread executes, so it raises :class:`Interrupted` inside the
strategy call itself; the run's ``finally`` clauses then remove its work directory. The first
signal restores the default actions, so a second one ends the process at once (the next run
sweeps what that leaves).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Final

HANDLED: Final = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """A run was stopped by a signal; a BaseException so that no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum


def _raise(signum: int, frame: FrameType | None) -> None:
    for sig in HANDLED:
        signal.signal(sig, signal.SIG_DFL)
    raise Interrupted(signum)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in HANDLED}
    for sig in HANDLED:
        signal.signal(sig, _raise)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[asyncio.Event]:
    """Within the block, SIGINT and SIGTERM set ``stop`` (for long-running commands that wait on the
    loop: ``venue serve``, ``record``); the handlers are removed when the block ends, however it ends.
    A loop without signal support (not the main thread, Windows) just never sets it."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in HANDLED:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        yield stop
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
