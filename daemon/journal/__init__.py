"""The append-only journal: every event, in order, with a sequence number and a checksum per record.

Two stores implement :class:`JournalStore`: :class:`FileJournal` (the real one) and
:class:`MemoryJournal` (the same bytes, kept in memory). Both write the format that docs/journal.md
describes::

    file    = header record*
    header  = b"VTJ1" | u16 LE format version (1) | u16 LE reserved (0)          8 bytes
    record  = u32 LE payload length | u32 LE zlib.crc32(payload) | payload
    payload = msgpack of one event (engines.model.codec.Codec, ``type`` tag inside)

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
:class:`daemon.journal.writer.JournalWriter` instead: appends stay buffered and synchronous, and an
awaited barrier (write + fdatasync in the writer's thread, shared by every intent waiting together)
puts an order intent on disk before the request that it describes is sent (DESIGN.md sections 5, 6
and 8).

This package's public API is the names below. Its modules: ``format`` (the file layout, codes and
the store protocol), ``scan`` (reading records), ``files`` (opening only regular files), ``stores``
(the memory and file stores), ``inspection`` (sha256, verify, export), ``writer`` (the live
writer: group commit and the durable barrier).
"""

from __future__ import annotations

from daemon.journal.format import (
    FORMAT_VERSION,
    HEADER,
    HEADER_SIZE,
    MAGIC,
    MAX_RECORD_BYTES,
    RECORD_HEADER_SIZE,
    JournalError,
    JournalStore,
    VerifyReport,
)
from daemon.journal.inspection import export_jsonl, file_sha256, read_events, verify, verify_bytes
from daemon.journal.stores import FileJournal, MemoryJournal

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
    "read_events",
    "verify",
    "verify_bytes",
]
