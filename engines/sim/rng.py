"""Deterministic injected rejects: every n-th order that passes the checks, or a seeded random draw.

The draws come from SplitMix64, seeded by the venue's ``seed``: the same calls in the same order
reject the same orders, on every run and every platform.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Final

from engines.decimals import SIM_CONTEXT

__all__ = ["InjectedRejects", "splitmix64"]

_MASK64: Final = (1 << 64) - 1
_TWO64: Final = Decimal(1 << 64)


def splitmix64(state: int) -> tuple[int, int]:
    """One step of SplitMix64: ``(next_state, output)``, both unsigned 64-bit integers."""
    state = (state + 0x9E3779B97F4A7C15) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, z ^ (z >> 31)


class InjectedRejects:
    """Rejects injected into the orders that pass every check: ``every=n`` rejects every n-th one,
    ``prob`` rejects each with that probability, drawn from a SplitMix64 stream seeded by ``seed``."""

    def __init__(self, *, seed: int, every: int | None, prob: Decimal | None) -> None:
        if every is not None and every < 1:
            raise ValueError(f"reject_every must be at least 1, not {every}")
        self._every = every
        self._threshold: int | None = None
        if prob is not None:
            if not (prob.is_finite() and 0 <= prob <= 1):
                raise ValueError(f"reject_prob must be within [0, 1], not {prob}")
            with localcontext(SIM_CONTEXT):
                self._threshold = int(prob * _TWO64)
        self._rng = seed & _MASK64
        self._passed = 0

    def next(self) -> str | None:
        """Why the order that has just passed every check is rejected, or None: counted over every
        such order, so each one draws whether or not ``every`` rejects it."""
        self._passed += 1
        draw: int | None = None
        if self._threshold is not None:
            self._rng, draw = splitmix64(self._rng)
        if self._every is not None and self._passed % self._every == 0:
            return f"injected reject: order {self._passed} of every {self._every}"
        if draw is not None and self._threshold is not None and draw < self._threshold:
            return "injected reject: random draw"
        return None
