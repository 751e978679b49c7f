"""What every venue adapter shares about a venue's answers: the outcome classes and the typed errors
for messages an adapter cannot read (docs/venues.md).

Each venue keeps its own code table (``adapters/<venue>/errors.py``, ``classify``); the outcome a
table gives, and the errors below, are the same for every venue, so the daemon handles them once.
"""

from __future__ import annotations

from enum import StrEnum

from engines.errors import VibeError

__all__ = [
    "InstrumentFilterError",
    "Outcome",
    "RateBudgetError",
    "UnknownVenueSymbolError",
    "UnknownVenueValueError",
    "UnresolvedOrderError",
    "VenueHaltedError",
    "VenueMessageError",
    "VenueRefusal",
]


class Outcome(StrEnum):
    """What a venue's answer means for the order it was about (docs/venues.md, Outcomes)."""

    OK = "ok"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    BACK_OFF = "back_off"
    HALT = "halt"
    DUPLICATE = "duplicate"
    CLOCK = "clock"


class VenueMessageError(VibeError):
    """A venue message is malformed: not JSON, a required field missing or of the wrong type."""

    code = "VT800"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(
            message,
            hint=hint
            or "The venue sent a message its documented protocol does not allow; record it "
            "(`vibetrading venue decode` reproduces it) and compare with adapters/<venue>/schemas.py.",
        )


class UnknownVenueSymbolError(VibeError):
    """A venue message names a symbol that the run's symbol mapping does not hold."""

    code = "VT801"

    def __init__(self, message: str) -> None:
        super().__init__(message, hint="Subscribe only to the symbols of the run's universe.")


class UnknownVenueValueError(VibeError):
    """A field holds a value the adapter has no mapping for (a status or order type the venue added)."""

    code = "VT802"

    def __init__(self, message: str) -> None:
        super().__init__(message, hint="The venue added a value the adapter does not know; report it.")


class VenueRefusal(VibeError):
    """Base of each venue's ``VenueRequestError`` (VT803): the venue refused a request, and
    ``outcome`` (from the venue's code table) says what to do next. Venue-independent code (the
    unknown-outcome resolver, the daemon) handles every venue's refusals through this class."""

    code = "VT803"
    outcome: Outcome = Outcome.UNKNOWN
    retry_after_s: float | None = None


class VenueHaltedError(VibeError):
    """Nothing more is sent to the venue: it refused the key, the signature or the IP, or banned the
    IP (HTTP 418 / 403) until a time the message states."""

    code = "VT806"

    def __init__(self, venue: str, reason: str) -> None:
        self.venue = venue
        self.reason = reason
        super().__init__(f"{venue}: halted, no request is sent: {reason}")


class UnresolvedOrderError(VibeError):
    """An order's outcome is still unknown after the bounded queries for it; nothing was resent."""

    code = "VT807"

    def __init__(self, venue: str, client_order_id: str, attempts: int, last_error: str) -> None:
        self.client_order_id = client_order_id
        super().__init__(
            f"{venue}: order {client_order_id} still unknown after {attempts} queries "
            f"(last: {last_error}); it was not resent"
        )


class InstrumentFilterError(VibeError):
    """An order breaks the venue's instrument filters (zero after rounding to the step, below the
    minimum quantity or notional); it was not sent."""

    code = "VT809"


class RateBudgetError(VibeError):
    """A request would exceed the venue's rate budget within the time it was allowed to wait."""

    code = "VT810"
