"""The typed error of the data layer: every way a data file or fixture breaks the contract (VT500-VT514)."""

from __future__ import annotations

from engines.errors import VibeError

# ── errors ──────────────────────────────────────────────────────────────────────────────────────


class DataError(VibeError):
    """A data file or fixture breaks the data contract (codes VT500 to VT514, docs/data.md)."""

    code = "VT500"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        file: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        resolved = code if code is not None else type(self).code
        super().__init__(message, hint=hint, file=file, line=line, code=resolved)
