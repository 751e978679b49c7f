"""Record scanning, shared by the stores, verify and export.

Every way a file can be damaged is a typed error naming the record and its byte offset.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Final, Protocol, TypeVar

import msgspec

from daemon.journal.format import (
    _FILE_HEADER,
    _READ_CHUNK,
    _RECORD,
    BAD_LENGTH,
    CHECKSUM,
    FORMAT_VERSION,
    HEADER,
    HEADER_SIZE,
    MAGIC,
    MAX_RECORD_BYTES,
    NOT_A_JOURNAL,
    RECORD_HEADER_SIZE,
    SEQUENCE,
    TRUNCATED,
    UNDECODABLE,
    JournalError,
)
from engines.model.events import AnyEvent

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
