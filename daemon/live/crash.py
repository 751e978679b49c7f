"""Named crash points: where the chaos harness kills the daemon with SIGKILL, at a hit count it chooses.

``VIBETRADING_CRASH_AT=POINT:N`` (read once, at import) makes the N-th pass through POINT kill the
process on the spot: no ``finally``, no flush, exactly what a power cut or an OOM kill does. Unset,
:func:`crash_point` is one global read and a return. The points are the moments where a crash is
hardest to recover from:

=====================  ============================================================================
point                  the daemon is
=====================  ============================================================================
``intent_durable``     past the journal's barrier for an intent, before its request is sent
``answer_received``    holding the venue's answer to a request, before any of it is journalled
``fill_fold``          about to journal and fold a fill
``reconcile``          in reconciliation, after its first query to a venue
``market_step``        stepping a market event through the strategy
=====================  ============================================================================

A harness that names a point that does not exist gets a ``ValueError`` at start, not a run that
never crashes.
"""

from __future__ import annotations

import os
import signal
from typing import Final

__all__ = ["POINTS", "crash_point"]

POINTS: Final = frozenset({"intent_durable", "answer_received", "fill_fold", "reconcile", "market_step"})
ENV: Final = "VIBETRADING_CRASH_AT"


def _target() -> tuple[str, int] | None:
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return None
    point, _, count = raw.partition(":")
    if point not in POINTS or not count.isdigit() or int(count) < 1:
        raise ValueError(f"{ENV}={raw!r}: expected POINT:N with POINT one of {', '.join(sorted(POINTS))}")
    return point, int(count)


_TARGET: Final = _target()
_hits = 0


def crash_point(name: str) -> None:
    """Kill the process here if the harness asked for this point and this is the hit it named."""
    global _hits  # noqa: PLW0603 - one counter per process, on purpose
    if _TARGET is None or _TARGET[0] != name:
        return
    _hits += 1
    if _hits >= _TARGET[1]:
        os.kill(os.getpid(), signal.SIGKILL)
