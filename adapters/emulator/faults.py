"""Seeded fault injection: which request or message an emulator spoils, and how.

A spec is ``kind=probability`` pairs separated by commas, plus ``delay-ms=N``:
``timeout=0.02,5xx=0.01,accept-then-timeout=0.01,drop-ws=0.005,dup-fill=0.01,delay-ms=20``.

=======================  ==================================================================================
kind                     the emulator
=======================  ==================================================================================
``timeout``              holds the request without processing it and never answers (the client times out)
``5xx``                  answers HTTP 503 with the venue's server-error body, without processing the request
``accept-then-timeout``  processes the request (the order is live at the venue), then never answers
``reset``                closes the connection without an answer, before processing
``drop-ws``              closes a WebSocket connection instead of sending a message on it
``dup-fill``             sends a fill event on the user stream twice
``out-of-order``         sends a fill event before the order's ack on the user stream
``delay-ms``             waits this many milliseconds before every answer (not a probability)
=======================  ==================================================================================

Every draw comes from one ``random.Random(seed)``, in the order requests and messages arrive, so the
same seed and the same traffic spoil the same requests. Each draw is counted in :attr:`Faults.injected`,
which ``GET /_emulator/state`` reports.
"""

from __future__ import annotations

import random
from typing import Final

import msgspec

from engines.errors import VibeError

__all__ = ["KINDS", "EmulatorConfigError", "FaultSpec", "Faults", "parse_faults"]

KINDS: Final = ("timeout", "5xx", "accept-then-timeout", "reset", "drop-ws", "dup-fill", "out-of-order")


class EmulatorConfigError(VibeError):
    """An emulator option does not parse (--faults, --keys, --balance, --data)."""

    code = "VT808"


class FaultSpec(msgspec.Struct, frozen=True, kw_only=True):
    """The probability of each fault kind (0 to 1) and a fixed delay before every answer."""

    probabilities: dict[str, float] = msgspec.field(default_factory=dict)
    delay_ms: int = 0

    def render(self) -> str:
        parts = [f"{kind}={p:g}" for kind, p in sorted(self.probabilities.items())]
        if self.delay_ms:
            parts.append(f"delay-ms={self.delay_ms}")
        return ",".join(parts) or "none"


def parse_faults(text: str) -> FaultSpec:
    """A :class:`FaultSpec` from ``kind=p,...`` (empty or ``none``: no faults)."""
    text = text.strip()
    if text in ("", "none"):
        return FaultSpec()
    probabilities: dict[str, float] = {}
    delay_ms = 0
    for part in text.split(","):
        kind, sep, value = part.strip().partition("=")
        if not sep:
            raise EmulatorConfigError(f"--faults: {part!r} is not KIND=VALUE", hint=_HINT)
        if kind == "delay-ms":
            if not value.isdigit() or int(value) > 60_000:
                raise EmulatorConfigError(f"--faults: delay-ms={value!r} is not 0..60000", hint=_HINT)
            delay_ms = int(value)
            continue
        if kind not in KINDS:
            raise EmulatorConfigError(f"--faults: unknown fault kind {kind!r}", hint=_HINT)
        try:
            p = float(value)
        except ValueError:
            p = -1.0
        if not 0.0 <= p <= 1.0:
            raise EmulatorConfigError(f"--faults: {kind}={value!r} is not a probability 0..1", hint=_HINT)
        probabilities[kind] = p
    return FaultSpec(probabilities=probabilities, delay_ms=delay_ms)


_HINT: Final = f"Kinds: {', '.join(KINDS)} (each =probability 0..1), and delay-ms=N."


class Faults:
    """The seeded dice of one emulator."""

    def __init__(self, spec: FaultSpec, seed: int) -> None:
        self.spec = spec
        self._rng = random.Random(seed)  # noqa: S311 - reproducible faults, not security
        self.injected: dict[str, int] = dict.fromkeys(KINDS, 0)

    def roll(self, kind: str) -> bool:
        """Whether to inject ``kind`` now; a kind with no probability draws nothing (so adding one
        kind to a spec does not shift the draws of traffic it never touches)."""
        p = self.spec.probabilities.get(kind, 0.0)
        if p <= 0.0:
            return False
        hit = self._rng.random() < p
        if hit:
            self.injected[kind] += 1
        return hit

    @property
    def delay_s(self) -> float:
        return self.spec.delay_ms / 1000.0
