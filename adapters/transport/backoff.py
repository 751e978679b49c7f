"""Bounded exponential backoff with full jitter (a reconnect or a status query never loops forever).

Full jitter (a uniform draw below the exponential ceiling) spreads the clients a venue outage
disconnected at once; the draw comes from a ``random.Random`` the caller owns, so a seeded test or
the chaos harness sees the same delays every run.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Annotated

import msgspec

__all__ = ["Backoff"]


class Backoff(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``attempts`` delays, the ``i``-th drawn from ``[0, min(cap_s, base_s * factor**i)]``."""

    base_s: Annotated[float, msgspec.Meta(gt=0)] = 0.05
    factor: Annotated[float, msgspec.Meta(ge=1)] = 2.0
    cap_s: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    attempts: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 8

    def ceiling(self, attempt: int) -> float:
        """The largest delay before attempt ``attempt`` (0-based)."""
        return float(min(self.cap_s, self.base_s * self.factor**attempt))

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """The delays to sleep before each retry, ``attempts`` of them, then the iterator ends."""
        draw = (rng or random.Random()).uniform  # noqa: S311 - jitter, not security
        for attempt in range(self.attempts):
            yield draw(0.0, self.ceiling(attempt))
