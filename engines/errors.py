"""Typed errors of the pure core.

Every error the user can cause carries a stable ``code`` (documented in docs/errors.md), a one-line
``hint`` saying what to do, and where known the file and line it applies to. The CLI prints these and
never a traceback.
"""

from __future__ import annotations


class VibeError(Exception):
    """Base of every typed error: a stable code, a message, a hint and an optional location."""

    code = "VT000"
    hint = "See docs/errors.md for this code."

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        file: str | None = None,
        line: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint
        if code is not None:
            self.code = code
        self.file = file
        self.line = line

    def where(self) -> str:
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def __str__(self) -> str:
        where = self.where()
        prefix = f"{where}: " if where else ""
        return f"{prefix}{self.code} {self.message}"


class InvalidSymbolError(VibeError):
    code = "VT120"
    hint = "Write symbols as venue:instrument, for example binance-spot:BTCUSDT or krx:005930."


class OrderStateError(VibeError):
    """An event asked the order state machine for a transition its table does not allow."""

    code = "VT400"
    hint = "The event stream is inconsistent with the order's state; check the venue feed."


class LedgerError(VibeError):
    code = "VT410"
    hint = "The ledger cannot fold this event; the journal is inconsistent."
