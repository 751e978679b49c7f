"""What every venue adapter shares about a venue's answers: the outcome classes and the typed errors
for messages an adapter cannot read (docs/venues.md).

Each venue keeps its own code table (``adapters/<venue>/errors.py``, ``classify``); the outcome a
table gives, and the errors below, are the same for every venue, so the daemon handles them once.
"""

from __future__ import annotations

from enum import StrEnum

from engines.errors import VibeError

__all__ = ["Outcome", "UnknownVenueSymbolError", "UnknownVenueValueError", "VenueMessageError"]


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
