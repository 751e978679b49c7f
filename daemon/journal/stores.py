"""The two journal stores: :class:`MemoryJournal` and :class:`FileJournal`.

The file store writes in batches, or durably on every append (``durable=True``).
"""

from __future__ import annotations

import abc
import contextlib
import errno
import io
import os
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import msgspec

from daemon.journal.files import _open_reader, _open_regular, _os_error
from daemon.journal.format import _RECORD, HEADER, IO_ERROR, MAX_RECORD_BYTES, JournalError
from daemon.journal.scan import _EVENT_DECODER, _open_or_repair, _scan, _size
from engines.model.codec import with_seq
from engines.model.events import AnyEvent, Event

try:  # advisory single-writer lock; absent on Windows, where the journal runs unlocked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


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

    # The three steps of a write, apart for daemon.journal.writer.JournalWriter: it calls append on
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
