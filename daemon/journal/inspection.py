"""Reading a journal from outside a run: its sha256, ``verify`` and ``export --format jsonl``."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Callable, Generator, Iterator
from typing import IO, TextIO

import msgspec

from daemon.journal.files import _open_reader, _os_error, _sha256
from daemon.journal.format import HEADER_SIZE, NOT_A_JOURNAL, JournalError, JournalStore, VerifyReport
from daemon.journal.scan import _EVENT_DECODER, _check_header, _scan
from daemon.journal.stores import FileJournal, MemoryJournal
from engines.model.events import AnyEvent

# ── inspection ─────────────────────────────────────────────────────────────────────────────────


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The hex SHA-256 of the whole file (how replays are compared byte for byte)."""
    name = str(path)
    with _open_reader(path, name) as f:
        try:
            return _sha256(f, os.fstat(f.fileno()).st_size)
        except OSError as exc:
            raise _os_error(name, "cannot read", exc) from None


def _verify_stream(f: IO[bytes], name: str, size: int, sha256: Callable[[], str]) -> VerifyReport:
    records = last = 0
    error: JournalError | None = None
    try:
        f.seek(0)
        _check_header(f.read(HEADER_SIZE), name)
        for batch in _scan(f, name, size, _EVENT_DECODER.decode):
            records += len(batch)
            last = batch[-1].seq
    except JournalError as exc:
        # the records before the damage are intact, and their seqs are 1..n
        records = last = exc.record if exc.record is not None else 0
        error = exc
    # a file that is not a journal is not hashed: it may be a disk image of many GiB, and its
    # digest would compare nothing
    digest = "" if error is not None and error.code == NOT_A_JOURNAL else sha256()
    return VerifyReport(
        path=name,
        ok=error is None,
        records=records,
        last_seq=last,
        bytes=size,
        sha256=digest,
        error=None if error is None else _error_dict(error),
    )


def _error_dict(error: JournalError) -> dict[str, str | int | None]:
    return {
        "code": error.code,
        "message": error.message,
        "hint": error.hint,
        "record": error.record,
        "offset": error.offset,
    }


def verify(path: str | os.PathLike[str]) -> VerifyReport:
    """Read the whole journal and report its state and the first damage, never raising for damage.

    Checks the header, and every record's length, checksum, payload and sequence number. A path that
    is not a regular file is reported with VT606 without being opened, an unreadable file with VT605.
    """
    name = str(path)
    try:
        with _open_reader(path, name) as f:
            size = os.fstat(f.fileno()).st_size
            return _verify_stream(f, name, size, lambda: _sha256(f, size))
    except JournalError as exc:
        error = exc
    except OSError as exc:
        error = _os_error(name, "cannot read", exc)
    return VerifyReport(
        path=name,
        ok=False,
        records=0,
        last_seq=0,
        bytes=0,
        sha256="",
        error=_error_dict(error),
    )


def verify_bytes(data: bytes, *, name: str = "<memory>") -> VerifyReport:
    """:func:`verify` for a journal image held in memory (:meth:`MemoryJournal.image`)."""
    return _verify_stream(io.BytesIO(data), name, len(data), lambda: hashlib.sha256(data).hexdigest())


def _file_batches(path: str | os.PathLike[str], name: str) -> Generator[list[AnyEvent], None, None]:
    """The events of a journal file in batches; an OS error reading it is VT605 naming it."""
    with _open_reader(path, name) as f:
        try:
            size = os.fstat(f.fileno()).st_size
            _check_header(f.read(HEADER_SIZE), name)
            yield from _scan(f, name, size, _EVENT_DECODER.decode)
        except OSError as exc:
            raise _os_error(name, "cannot read", exc) from None


def read_events(path: str | os.PathLike[str]) -> Iterator[AnyEvent]:
    """Every event of a journal file, without taking its lock (a stopped daemon's journal, another
    run's). A record being written at that moment reads as torn (VT601): read a running daemon's
    journal through its own commands instead."""
    for batch in _file_batches(path, os.fspath(path)):
        yield from batch


def export_jsonl(path: str | os.PathLike[str], out: TextIO) -> int:
    """Write every event as one JSON object per line (``type`` first), in ``seq`` order.

    Returns the number of events written. Raises :class:`JournalError` on damage, after writing the
    events before it, and for an error reading the journal (VT605). An error writing ``out`` is not
    the journal's and propagates unchanged: ``BrokenPipeError`` when the reader of a pipe has gone
    (``export | head -1``), ``OSError`` for a full disk.
    """
    name = str(path)
    encoder = msgspec.json.Encoder()
    count = 0
    # closing(): the file is closed at once if writing fails, not when the traceback is collected
    with contextlib.closing(_file_batches(path, name)) as batches:
        for batch in batches:
            out.write(encoder.encode_lines(batch).decode())
            count += len(batch)
    return count


def _conforms(file: FileJournal, memory: MemoryJournal) -> tuple[JournalStore, JournalStore]:
    """Never called: mypy checks here that both stores implement the port."""
    return file, memory
