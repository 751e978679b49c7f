"""The journal file format: header, record layout, limits, error codes and the store protocol.

docs/journal.md describes the format byte by byte.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Final, Protocol, Self

import msgspec

from engines.errors import VibeError
from engines.model.events import AnyEvent, Event

MAGIC: Final = b"VTJ1"
FORMAT_VERSION: Final = 1
_FILE_HEADER: Final = struct.Struct("<4sHH")
HEADER: Final = _FILE_HEADER.pack(MAGIC, FORMAT_VERSION, 0)
HEADER_SIZE: Final = _FILE_HEADER.size  # 8
_RECORD: Final = struct.Struct("<II")
RECORD_HEADER_SIZE: Final = _RECORD.size  # 8
MAX_RECORD_BYTES: Final = 16 * 1024 * 1024
"""A length field above this is implausible (VT607), not a record: real events are under a few KiB.

Checked before anything is read or allocated for the record, so a random or hostile length costs
nothing; far enough above any real event that raising it would never be needed."""

_READ_CHUNK: Final = 1 << 20

# codes: the lead registers titles and hints in engines.errors.ERROR_CODES
NOT_A_JOURNAL: Final = "VT600"
TRUNCATED: Final = "VT601"
CHECKSUM: Final = "VT602"
UNDECODABLE: Final = "VT603"
SEQUENCE: Final = "VT604"
IO_ERROR: Final = "VT605"
NOT_A_FILE: Final = "VT606"
BAD_LENGTH: Final = "VT607"


class JournalError(VibeError):
    """The journal is not readable or writable as it stands.

    ``path`` is the file (or the memory store's name), ``record`` the 0-based index of the record at
    fault (it should hold ``seq == record + 1``; ``None`` for the file header or an I/O failure) and
    ``offset`` the byte offset in the file where that record (or header) starts. ``str(error)``
    names all three.
    """

    code = IO_ERROR

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        path: str,
        record: int | None = None,
        offset: int | None = None,
        hint: str | None = None,
    ) -> None:
        if record is not None:
            where = f"record {record} at byte {offset}: "
        elif offset is not None:
            where = f"byte {offset}: "
        else:
            where = ""
        super().__init__(where + detail, hint=hint, file=path, code=code)
        self.path = path
        self.record = record
        self.offset = offset
        self.detail = detail


class JournalStore(Protocol):
    """Where events go, in order. ``read`` yields what ``append`` returned, across reopenings."""

    @property
    def last_seq(self) -> int:
        """The ``seq`` of the last appended event; 0 for an empty journal."""
        ...

    def append(self, events: Sequence[Event]) -> list[Event]:
        """Stamp ``seq`` = last_seq + 1, + 2, ... on ``events`` and append them; return the stamped events."""
        ...

    def read(self, from_seq: int = 1) -> Iterator[AnyEvent]:
        """Every event with ``seq >= from_seq``, in order, including ones not flushed yet."""
        ...

    def flush(self) -> None:
        """Hand buffered records to the operating system."""
        ...

    def sync(self) -> None:
        """Flush, then make everything appended so far durable (fsync)."""
        ...

    def close(self) -> None:
        """Sync and release the store; further appends raise VT605. Idempotent."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class VerifyReport(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`verify` found. On damage, ``records`` and ``last_seq`` count the intact prefix."""

    path: str
    ok: bool
    records: int
    last_seq: int
    bytes: int
    sha256: str
    error: dict[str, str | int | None] | None = None
