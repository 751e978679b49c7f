"""The append-only journal: every event, in order, with a sequence number and a checksum per record.

Two stores implement :class:`JournalStore`: :class:`FileJournal` (the real one) and
:class:`MemoryJournal` (the same bytes, kept in memory). Both write the format that docs/journal.md
describes::

    file    = header record*
    header  = b"VTJ1" | u16 LE format version (1) | u16 LE reserved (0)          8 bytes
    record  = u32 LE payload length | u32 LE zlib.crc32(payload) | payload
    payload = msgpack of one event (engines.events.Codec, ``type`` tag inside)

Record ``i`` (counted from 0) holds the event with ``seq == i + 1``: the journal stamps sequence
numbers itself on :meth:`JournalStore.append`. Every way a file can be damaged is a
:class:`JournalError` with a code in the VT6xx range naming the file, the record index and its byte
offset. :func:`verify` reports such damage without raising; :func:`export_jsonl` writes the events as
JSON lines. Only regular files are opened (VT606 for a pipe, a device or a socket, which could block
or never end), and every operating-system error is a :class:`JournalError` (VT605) naming the file
and the reason.

Replay appends in batches (records are buffered and written every ``batch_records`` records or on
:meth:`~JournalStore.flush`). With ``durable=True`` :meth:`~JournalStore.append` returns only after the
bytes are fsynced, blocking its caller. The live daemon uses
:class:`daemon.journal_writer.JournalWriter` instead: appends stay buffered and synchronous, and an
awaited barrier (write + fdatasync in the writer's thread, shared by every intent waiting together)
puts an order intent on disk before the request that it describes is sent (DESIGN.md sections 5, 6
and 8).
"""

from __future__ import annotations

import abc
import contextlib
import errno
import hashlib
import io
import os
import stat
import struct
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Final, Protocol, Self, TextIO, TypeVar

import msgspec

from engines.errors import VibeError
from engines.events import AnyEvent, Event, with_seq

try:  # advisory single-writer lock; absent on Windows, where the journal runs unlocked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "FORMAT_VERSION",
    "HEADER",
    "HEADER_SIZE",
    "MAGIC",
    "MAX_RECORD_BYTES",
    "RECORD_HEADER_SIZE",
    "FileJournal",
    "JournalError",
    "JournalStore",
    "MemoryJournal",
    "VerifyReport",
    "export_jsonl",
    "file_sha256",
    "verify",
    "verify_bytes",
]

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


# ── record scanning (shared by the stores, verify and export) ──────────────────────────────────


class _HasSeq(Protocol):
    @property
    def seq(self) -> int: ...


class _SeqOnly(msgspec.Struct):
    """Decodes just the ``seq`` of a payload: how opening checks continuity without full decoding."""

    seq: int


_T = TypeVar("_T", bound=_HasSeq)
_Decode = Callable[[memoryview], _T]

_EVENT_DECODER: Final[msgspec.msgpack.Decoder[AnyEvent]] = msgspec.msgpack.Decoder(AnyEvent)
_SEQ_DECODER: Final[msgspec.msgpack.Decoder[_SeqOnly]] = msgspec.msgpack.Decoder(_SeqOnly)


class _ZeroLength(Exception):
    """A record header with length 0: either a zero-filled torn tail or a corrupt header."""

    def __init__(self, offset: int, record: int) -> None:
        super().__init__(offset, record)
        self.offset = offset
        self.record = record


def _parse(
    buf: bytes,
    out: list[_T],
    *,
    base: int,
    index: int,
    from_index: int,
    decode: _Decode[_T],
    final: bool,
    name: str,
) -> tuple[int, int]:
    """Check and decode the complete records in ``buf`` (which starts at file offset ``base``).

    Appends the decoded events to ``out`` (so that the caller keeps those before a failure) and
    returns the number of bytes consumed and the index of the next record. Records before
    ``from_index`` are checksummed but not decoded. With ``final`` the buffer runs to the end of the
    journal and an incomplete record is a torn tail (VT601).
    """
    view = memoryview(buf)
    size = len(buf)
    unpack = _RECORD.unpack_from
    crc32 = zlib.crc32
    append = out.append
    pos = 0
    while pos + RECORD_HEADER_SIZE <= size:
        length, stored = unpack(buf, pos)
        start = pos + RECORD_HEADER_SIZE
        stop = start + length
        if length == 0:
            raise _ZeroLength(base + pos, index)
        if length > MAX_RECORD_BYTES:  # before reading or buffering anything for it
            raise JournalError(
                BAD_LENGTH,
                f"implausible record length {length}: a record holds 1 to {MAX_RECORD_BYTES} bytes",
                path=name,
                record=index,
                offset=base + pos,
            )
        if stop > size:
            if final:
                raise JournalError(
                    TRUNCATED,
                    f"truncated record: needs {RECORD_HEADER_SIZE + length} bytes, "
                    f"the journal ends after {size - pos}",
                    path=name,
                    record=index,
                    offset=base + pos,
                )
            break
        payload = view[start:stop]
        actual = crc32(payload)
        if actual != stored:
            raise JournalError(
                CHECKSUM,
                f"checksum mismatch: stored 0x{stored:08x}, computed 0x{actual:08x}",
                path=name,
                record=index,
                offset=base + pos,
            )
        if index >= from_index:
            try:
                event = decode(payload)
            except msgspec.DecodeError as exc:
                raise JournalError(
                    UNDECODABLE,
                    f"undecodable payload ({length} bytes): {exc}",
                    path=name,
                    record=index,
                    offset=base + pos,
                ) from None
            if event.seq != index + 1:
                raise JournalError(
                    SEQUENCE,
                    f"sequence gap or disorder: seq {event.seq}, expected {index + 1}",
                    path=name,
                    record=index,
                    offset=base + pos,
                )
            append(event)
        index += 1
        pos = stop
    if final and pos != size:
        raise JournalError(
            TRUNCATED,
            f"truncated record header: {size - pos} trailing bytes, a record header has {RECORD_HEADER_SIZE}",
            path=name,
            record=index,
            offset=base + pos,
        )
    return pos, index


def _check_header(head: bytes, name: str) -> None:
    """Raise VT600 unless ``head`` (the first 8 bytes, or all of a shorter file) is a journal header."""
    if len(head) < HEADER_SIZE:
        if HEADER.startswith(head):
            raise JournalError(
                TRUNCATED,
                f"truncated file header: {len(head)} of {HEADER_SIZE} bytes",
                path=name,
                offset=0,
            )
        raise JournalError(
            NOT_A_JOURNAL,
            f"not a journal: {len(head)} bytes, too short for the {HEADER_SIZE}-byte header",
            path=name,
            offset=0,
        )
    magic, version, reserved = _FILE_HEADER.unpack_from(head)
    if magic != MAGIC:
        raise JournalError(
            NOT_A_JOURNAL, f"not a journal: magic {magic!r}, expected {MAGIC!r}", path=name, offset=0
        )
    if version != FORMAT_VERSION or reserved != 0:
        raise JournalError(
            NOT_A_JOURNAL,
            f"unsupported journal format version {version} (reserved {reserved}); "
            f"this build reads version {FORMAT_VERSION}",
            path=name,
            offset=0,
        )


def _scan(
    f: IO[bytes],
    name: str,
    end: int,
    decode: _Decode[_T],
    from_index: int = 0,
) -> Iterator[list[_T]]:
    """Yield the decoded records of ``f`` from just after the header up to byte ``end``, in batches."""
    f.seek(HEADER_SIZE)
    pending = b""
    base = HEADER_SIZE  # file offset of pending[0]
    read_to = HEADER_SIZE
    index = 0
    need = 0
    while True:
        want = min(max(_READ_CHUNK, need - len(pending)), end - read_to)
        data = f.read(want) if want > 0 else b""
        read_to += len(data)
        final = not data or read_to >= end
        pending = pending + data if pending else data
        events: list[_T] = []
        error: JournalError | None = None
        try:
            used, index = _parse(
                pending,
                events,
                base=base,
                index=index,
                from_index=from_index,
                decode=decode,
                final=final,
                name=name,
            )
        except JournalError as exc:
            error = exc
        except _ZeroLength as zero:
            error = _zero_length_error(f, name, zero, end)
        if events:  # the intact events before any damage
            yield events
        if error is not None:
            raise error
        if final:
            return
        base += used
        pending = pending[used:]
        # a record longer than one chunk: read at least the rest of it next time
        if len(pending) >= RECORD_HEADER_SIZE:
            need = RECORD_HEADER_SIZE + _RECORD.unpack_from(pending)[0]
        else:
            need = 0


def _zero_length_error(f: IO[bytes], name: str, zero: _ZeroLength, end: int) -> JournalError:
    """A zero-filled tail is a torn write (VT601, repairable); zeros followed by data are corruption."""
    f.seek(zero.offset)
    pos = zero.offset
    while pos < end:  # in chunks: the tail may be a sparse file far larger than memory
        chunk = f.read(min(_READ_CHUNK, end - pos))
        if not chunk:
            break
        if chunk.count(0) != len(chunk):
            return JournalError(
                BAD_LENGTH,
                "implausible record length 0 followed by data: a record holds at least 1 byte",
                path=name,
                record=zero.record,
                offset=zero.offset,
            )
        pos += len(chunk)
    return JournalError(
        TRUNCATED,
        f"zero-filled tail of {pos - zero.offset} bytes (a torn write)",
        path=name,
        record=zero.record,
        offset=zero.offset,
    )


def _size(f: IO[bytes]) -> int:
    return f.seek(0, os.SEEK_END)


def _open_scan(f: IO[bytes], name: str) -> tuple[int, int]:
    """Check the header and every record's length, checksum and ``seq``: (last_seq, valid end)."""
    size = _size(f)
    f.seek(0)
    _check_header(f.read(HEADER_SIZE), name)
    last = 0
    for batch in _scan(f, name, size, _SEQ_DECODER.decode):
        last = batch[-1].seq
    return last, size


def _open_or_repair(f: IO[bytes], name: str, repair: bool) -> tuple[int, int, int]:
    """(last_seq, end of the valid records, bytes to drop). A torn tail raises VT601 unless ``repair``."""
    try:
        last, end = _open_scan(f, name)
    except JournalError as exc:
        if exc.code != TRUNCATED or not repair:
            raise
        assert exc.offset is not None
        size = _size(f)
        if exc.offset == 0:  # a torn file header: nothing was ever journalled
            return 0, 0, size
        return exc.record or 0, exc.offset, size - exc.offset
    return last, end, 0


# ── opening files ──────────────────────────────────────────────────────────────────────────────

_NONBLOCK: Final = getattr(os, "O_NONBLOCK", 0)
_OPEN_FLAGS: Final = _NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


def _os_error(name: str, what: str, exc: OSError) -> JournalError:
    """VT605: ``str(error)`` names the file (``path``) and the message the operating system's reason."""
    return JournalError(IO_ERROR, f"{what}: {exc.strerror or exc}", path=name)


def _not_regular(name: str, mode: int) -> JournalError:
    if stat.S_ISDIR(mode):
        # what open() says of a directory opened for writing, so that readers and FileJournal agree
        return JournalError(IO_ERROR, f"cannot open: {os.strerror(errno.EISDIR)}", path=name)
    if stat.S_ISFIFO(mode):
        kind = "a pipe (FIFO)"
    elif stat.S_ISCHR(mode):
        kind = "a character device"
    elif stat.S_ISBLK(mode):
        kind = "a block device"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    else:  # pragma: no cover - doors, whiteouts and the like
        kind = f"a special file ({stat.filemode(mode)})"
    return JournalError(
        NOT_A_FILE, f"not a regular file but {kind}; only a regular file can hold a journal", path=name
    )


def _open_regular(path: str | os.PathLike[str], name: str, flags: int) -> int:
    """Open ``path`` only if it is a regular file (or absent, when ``flags`` has ``O_CREAT``).

    A pipe blocks ``open`` until a writer comes and a device such as /dev/zero never ends, so both are
    refused (VT606) from ``stat``, before anything is opened. The path can be swapped between
    ``stat`` and ``open``, so it is opened non-blocking (a pipe then opens at once) and its
    descriptor checked again.
    """
    try:
        mode: int | None = os.stat(path).st_mode
    except FileNotFoundError as exc:
        if not flags & os.O_CREAT:
            raise _os_error(name, "cannot open", exc) from None
        mode = None
    except OSError as exc:
        raise _os_error(name, "cannot open", exc) from None
    if mode is not None and not stat.S_ISREG(mode):
        raise _not_regular(name, mode)
    try:
        fd = os.open(path, flags | _OPEN_FLAGS, 0o644)
    except OSError as exc:
        raise _os_error(name, "cannot open", exc) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(name, mode)
        if _NONBLOCK:
            os.set_blocking(fd, True)
    except OSError as exc:
        os.close(fd)
        raise _os_error(name, "cannot open", exc) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_reader(path: str | os.PathLike[str], name: str) -> IO[bytes]:
    fd = _open_regular(path, name, os.O_RDONLY)
    try:
        return open(fd, "rb")
    except OSError as exc:
        os.close(fd)
        raise _os_error(name, "cannot open", exc) from None


def _sha256(f: IO[bytes], size: int) -> str:
    """The SHA-256 of the first ``size`` bytes: a file appended to meanwhile is hashed as it was measured."""
    f.seek(0)
    digest = hashlib.sha256()
    left = size
    while left > 0:
        chunk = f.read(min(_READ_CHUNK, left))
        if not chunk:  # the file shrank
            break
        digest.update(chunk)
        left -= len(chunk)
    return digest.hexdigest()


# ── the stores ─────────────────────────────────────────────────────────────────────────────────


class _Journal(abc.ABC):
    """What both stores share: sequence stamping and record encoding."""

    _name: str
    _last_seq: int
    _closed: bool

    def __init__(self) -> None:
        self._encode = msgspec.msgpack.Encoder().encode  # the same bytes as Codec.to_msgpack
        self._failed: JournalError | None = None

    @property
    def last_seq(self) -> int:
        return self._last_seq

    @property
    def name(self) -> str:
        return self._name

    def _check_open(self) -> None:
        if self._closed:
            raise JournalError(IO_ERROR, "the journal is closed", path=self._name)
        if self._failed is not None:
            raise JournalError(
                IO_ERROR,
                f"the journal failed earlier and refuses further writes: {self._failed.message}",
                path=self._name,
            )

    def _records(self, events: Sequence[Event]) -> tuple[list[Event], list[bytes]]:
        """Stamp and encode ``events``: the stamped events and the record bytes, header and payload."""
        start = self._last_seq + 1
        encode = self._encode
        pack = _RECORD.pack
        if len(events) == 1:
            event = with_seq(events[0], start)
            payload = encode(event)
            if len(payload) > MAX_RECORD_BYTES:
                self._too_large(payload)
            return [event], [pack(len(payload), zlib.crc32(payload)), payload]
        stamped = [with_seq(e, s) for s, e in enumerate(events, start)]
        payloads = list(map(encode, stamped))
        lengths = list(map(len, payloads))
        if max(lengths) > MAX_RECORD_BYTES:
            self._too_large(max(payloads, key=len))
        parts: list[bytes] = [b""] * (2 * len(payloads))
        parts[0::2] = map(pack, lengths, map(zlib.crc32, payloads))
        parts[1::2] = payloads
        return stamped, parts

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store; each store says what closing means for it."""

    def _too_large(self, payload: bytes) -> None:
        raise JournalError(
            IO_ERROR,
            f"an event encodes to {len(payload)} bytes, above the record limit of {MAX_RECORD_BYTES}",
            path=self._name,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _check_from_seq(from_seq: int) -> None:
    if from_seq < 1:
        raise ValueError(f"from_seq counts from 1, got {from_seq}")


class MemoryJournal(_Journal):
    """A journal held in memory as the exact bytes a :class:`FileJournal` would write.

    ``MemoryJournal(image)`` opens an existing image (for example a file's bytes) with the same checks
    as :class:`FileJournal`; :meth:`image` returns the bytes so far.
    """

    def __init__(self, image: bytes | None = None, *, name: str = "<memory>", repair: bool = False) -> None:
        super().__init__()
        self._name = name
        self._closed = False
        self.repaired_bytes = 0
        if not image:
            self._image = bytearray(HEADER)
            self._last_seq = 0
            return
        last, end, dropped = _open_or_repair(io.BytesIO(image), name, repair)
        self._image = bytearray(image[:end] if end else HEADER)
        self._last_seq = last
        self.repaired_bytes = dropped

    def image(self) -> bytes:
        """The journal's bytes: identical to the file a FileJournal would hold after the same appends."""
        return bytes(self._image)

    def append(self, events: Sequence[Event]) -> list[Event]:
        if self._closed or self._failed is not None:
            self._check_open()
        if not events:
            return []
        stamped, parts = self._records(events)
        self._image += b"".join(parts)
        self._last_seq += len(stamped)
        return stamped

    def read(self, from_seq: int = 1) -> Iterator[AnyEvent]:
        _check_from_seq(from_seq)
        self._check_open()
        return self._read(self.image(), from_seq)

    def _read(self, image: bytes, from_seq: int) -> Iterator[AnyEvent]:
        f = io.BytesIO(image)
        for batch in _scan(f, self._name, len(image), _EVENT_DECODER.decode, from_seq - 1):
            yield from batch

    def flush(self) -> None:
        self._check_open()

    def sync(self) -> None:
        self._check_open()

    def close(self) -> None:
        self._closed = True


class FileJournal(_Journal):
    """The journal file: one writer at a time (an advisory ``flock``), any number of readers.

    Records are buffered and written every ``batch_records`` records and on :meth:`flush`. With
    ``durable=True`` every :meth:`append` writes and fsyncs before it returns. Opening an existing file
    checks every record (length, checksum, sequence) and appends after the last one; a torn tail (a
    truncated last record, or a zero-filled tail, from a crash mid-write) raises VT601 unless
    ``repair=True``, which truncates it (``repaired_bytes`` says how many bytes went). Any other damage
    raises its code and is never repaired automatically.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durable: bool = False,
        batch_records: int = 4096,
        repair: bool = False,
    ) -> None:
        super().__init__()
        if batch_records < 1:
            raise ValueError(f"batch_records must be at least 1, got {batch_records}")
        self._path = Path(path)
        self._name = str(path)
        self._durable = durable
        self._batch = batch_records
        self._parts: list[bytes] = []
        self._pending = 0
        self._dirty = False
        self._closed = True  # until the file is open
        self._last_seq = 0
        self.repaired_bytes = 0
        fd = _open_regular(self._path, self._name, os.O_RDWR | os.O_CREAT)
        self._fd = fd
        try:
            self._lock()
            self._open_existing(repair)
        except BaseException:
            os.close(fd)
            raise
        self._closed = False

    @property
    def path(self) -> Path:
        return self._path

    @property
    def durable(self) -> bool:
        return self._durable

    def _io_error(self, what: str, exc: OSError) -> JournalError:
        return _os_error(self._name, what, exc)

    def _lock(self) -> None:
        if fcntl is None:  # pragma: no cover
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise JournalError(
                IO_ERROR,
                "the journal is open for writing by another FileJournal (locked)",
                path=self._name,
            ) from None
        except OSError as exc:
            raise self._io_error("cannot lock", exc) from None

    def _open_existing(self, repair: bool) -> None:
        fd = self._fd
        step = "cannot read"  # what failed, for the message
        try:
            with open(fd, "rb", closefd=False) as f:
                size = _size(f)
                created = size == 0
                if not created:
                    last, end, dropped = _open_or_repair(f, self._name, repair)
                    self._last_seq = last
                    self.repaired_bytes = dropped
                    if dropped:
                        step = "cannot truncate the torn tail"
                        os.ftruncate(fd, end)
                        os.fsync(fd)
                    created = end == 0
            if created:  # a new file, or a torn file header
                step = "cannot write the file header"
                os.lseek(fd, 0, os.SEEK_SET)
                _write_all(fd, HEADER)
                if self._durable or self.repaired_bytes:
                    os.fsync(fd)
                    step = f"cannot fsync the directory {self._path.parent}"
                    _fsync_dir(self._path)
                else:
                    self._dirty = True  # the header is fsynced by the first sync() or close()
            os.lseek(fd, 0, os.SEEK_END)
        except OSError as exc:
            raise self._io_error(step, exc) from None

    def append(self, events: Sequence[Event]) -> list[Event]:
        if self._closed or self._failed is not None:
            self._check_open()
        if not events:
            return []
        stamped, parts = self._records(events)
        self._parts += parts
        self._pending += len(stamped)
        self._last_seq += len(stamped)
        if self._durable:
            self.sync()
        elif self._pending >= self._batch:
            self._write()
        return stamped

    def _write(self) -> None:
        self._write_parts(self._take_parts())

    # The three steps of a write, apart for daemon.journal_writer.JournalWriter: it calls append on
    # the event loop and takes the buffer under its lock (_take_parts, which does no I/O), then
    # writes and syncs what it took in its own thread, outside that lock (_write_parts, _sync_written).

    def _take_parts(self) -> list[bytes]:
        """Detach the buffered records (header and payload parts, in order); the caller writes them."""
        parts = self._parts
        self._parts = []
        self._pending = 0
        return parts

    def _write_parts(self, parts: list[bytes]) -> None:
        """Write records taken with :meth:`_take_parts` at the end of the file; VT605 fails the store."""
        if not parts:
            return
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        self._dirty = True
        try:
            _write_all(self._fd, data)
        except OSError as exc:
            self._failed = self._io_error("write failed", exc)
            raise self._failed from None

    def _sync_written(self, *, data_only: bool = False) -> None:
        """fsync (``data_only``: fdatasync where there is one) if anything was written since the last."""
        if not self._dirty:
            return
        try:
            if data_only and hasattr(os, "fdatasync"):  # enough for appends: the new size is synced too
                os.fdatasync(self._fd)
            else:
                os.fsync(self._fd)
        except OSError as exc:  # never retry a failed fsync: the page cache may have dropped the data
            self._failed = self._io_error("fsync failed", exc)
            raise self._failed from None
        self._dirty = False

    def flush(self) -> None:
        self._check_open()
        self._write()

    def sync(self) -> None:
        self._check_open()
        self._write()
        self._sync_written()

    def _sync_directory(self) -> None:
        """fsync the directory, so that the file's name survives a crash (durable mode does it on create)."""
        try:
            _fsync_dir(self._path)
        except OSError as exc:
            raise self._io_error(f"cannot fsync the directory {self._path.parent}", exc) from None

    def read(self, from_seq: int = 1) -> Iterator[AnyEvent]:
        """Every event with ``seq >= from_seq``: flushes first, then reads the file up to its current end.

        Records before ``from_seq`` are checksummed but not decoded; events appended while the iterator
        runs are not included.
        """
        _check_from_seq(from_seq)
        self.flush()
        try:
            end = os.fstat(self._fd).st_size
        except OSError as exc:
            raise self._io_error("read failed", exc) from None
        return self._read(end, from_seq)

    def _read(self, end: int, from_seq: int) -> Iterator[AnyEvent]:
        # a second descriptor, so that reading leaves the append position alone
        with _open_reader(self._path, self._name) as f:
            try:
                mine = os.fstat(self._fd)
                theirs = os.fstat(f.fileno())
                if (mine.st_dev, mine.st_ino) != (theirs.st_dev, theirs.st_ino):
                    raise JournalError(
                        IO_ERROR, "the journal file was moved or replaced while open", path=self._name
                    )
                for batch in _scan(f, self._name, end, _EVENT_DECODER.decode, from_seq - 1):
                    yield from batch
            except OSError as exc:
                raise self._io_error("read failed", exc) from None

    def close(self) -> None:
        if self._closed:
            return
        try:
            if self._failed is None:
                self.sync()
        except BaseException:
            self._closed = True
            with contextlib.suppress(OSError):  # the error already raised is the one to report
                os.close(self._fd)
            raise
        self._closed = True
        try:
            os.close(self._fd)
        except OSError as exc:  # NFS and some FUSE file systems report a failed write only here
            raise self._io_error("close failed", exc) from None


def _write_all(fd: int, data: bytes) -> None:
    written = os.write(fd, data)
    if written < len(data):  # a short write (a signal, a full disk): finish it or raise
        with memoryview(data) as view:
            while written < len(data):
                n = os.write(fd, view[written:])
                if n == 0:  # no local file system does this, but one that did would spin here forever
                    raise OSError(errno.EIO, "the file system accepted 0 bytes of a write")
                written += n


def _fsync_dir(path: Path) -> None:
    """Make a new file's directory entry durable. Raises OSError: durable mode promises it."""
    if os.name == "nt":  # pragma: no cover - directories cannot be opened, and NTFS needs no such fsync
        return
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


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
