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
``429``                  refuses a request with the venue's rate-limit answer (Binance HTTP 429 -1003 with
                         ``Retry-After``, Bybit 10006, KIS EGW00201, Kiwoom 1700), without processing it
``418``                  bans the caller's IP for :attr:`Faults.ban_s` (Binance HTTP 418 "banned until"),
                         refusing this request and every one until the ban ends
``clock-skew``           moves the venue's clock :attr:`Faults.skew_ms` away (sign drawn) for
                         :attr:`Faults.skew_s`: timestamps fall outside the receive window (Binance -1021,
                         Bybit 10002) until the client measures the venue's time again
``token-expiry``         expires the access token the request carries (KIS EGW00123, Kiwoom 8005); the
                         next token request is answered at once, as for a token issued a day ago
``stale-quote``          holds back one symbol's market data for :attr:`Faults.stale_s` while every other
                         stream and the connection go on (one arbitrage leg goes stale)
``stall-ws``             silences a market-data WebSocket for good without closing it: no data (and no
                         answer to the client's own pings where the venue pings in messages)
``delay-ms``             waits this many milliseconds before every answer (not a probability)
=======================  ==================================================================================

The last six take effect for a while (a ban, a skewed clock, a stale symbol, a stalled connection); their
durations are attributes of :class:`Faults` (short by default, so a seeded run recovers), and
:meth:`Faults.force` makes the next draws of a kind hit, for a test that wants one fault now.

Every draw comes from one ``random.Random(seed)``, in the order requests and messages arrive, so the
same seed and the same traffic spoil the same requests. Each draw is counted in :attr:`Faults.injected`,
which ``GET /_emulator/state`` reports.
"""

from __future__ import annotations

import random
import time
from typing import Final

import msgspec

from engines.errors import VibeError

__all__ = ["KINDS", "EmulatorConfigError", "FaultSpec", "Faults", "parse_faults"]

KINDS: Final = (
    "timeout",
    "5xx",
    "accept-then-timeout",
    "reset",
    "drop-ws",
    "dup-fill",
    "out-of-order",
    "429",
    "418",
    "clock-skew",
    "token-expiry",
    "stale-quote",
    "stall-ws",
)


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
        #: when each kind last struck (time.monotonic), for tests that time what follows
        self.last_at: dict[str, float] = {}
        self._forced: dict[str, int] = {}
        #: how long a ``418`` ban lasts: short, so a restarted client is served again
        self.ban_s = 1.0
        #: the ``Retry-After`` a ``429`` names, in whole seconds as the venues write it
        self.retry_after_s = 1
        #: how far a ``clock-skew`` moves the venue's clock: beyond any receive window a client uses
        self.skew_ms = 10_000
        self.skew_s = 3.0
        self.stale_s = 2.0
        self._skew: tuple[float, int] | None = None  # (until, ms)
        self._stale_until: dict[str, float] = {}

    def roll(self, kind: str) -> bool:
        """Whether to inject ``kind`` now; a kind with no probability draws nothing (so adding one
        kind to a spec does not shift the draws of traffic it never touches)."""
        forced = self._forced.get(kind, 0)
        if forced:
            self._forced[kind] = forced - 1
            hit = True
        else:
            p = self.spec.probabilities.get(kind, 0.0)
            if p <= 0.0:
                return False
            hit = self._rng.random() < p
        if hit:
            self.injected[kind] += 1
            self.last_at[kind] = time.monotonic()
        return hit

    def force(self, kind: str, times: int = 1) -> None:
        """The next ``times`` draws of ``kind`` hit, whatever the spec (they draw no random number)."""
        if kind not in KINDS:
            raise EmulatorConfigError(f"unknown fault kind {kind!r}", hint=_HINT)
        self._forced[kind] = self._forced.get(kind, 0) + times

    def clock_skew_ms(self, *, roll: bool) -> int:
        """How far the venue's clock is off now (0 unless a ``clock-skew`` is under way); ``roll``
        (a signed request's time check) may start one, a read of the venue's time never does."""
        now = time.monotonic()
        if self._skew is not None and now >= self._skew[0]:
            self._skew = None
        if self._skew is None and roll and self.roll("clock-skew"):
            sign = 1 if self._rng.random() < 0.5 else -1
            self._skew = (now + self.skew_s, sign * self.skew_ms)
        return 0 if self._skew is None else self._skew[1]

    def stale(self, symbol: str) -> bool:
        """Whether ``symbol``'s market data is held back now (a ``stale-quote`` under way or drawn
        on this event)."""
        now = time.monotonic()
        until = self._stale_until.get(symbol)
        if until is not None:
            if now < until:
                return True
            del self._stale_until[symbol]
        if self.roll("stale-quote"):
            self._stale_until[symbol] = now + self.stale_s
            return True
        return False

    @property
    def delay_s(self) -> float:
        return self.spec.delay_ms / 1000.0
