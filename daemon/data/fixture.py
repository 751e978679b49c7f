"""The replay fixture: ``manifest.json`` and ``events.vtm``, written by an import and read by the replay."""

from __future__ import annotations

import hashlib
import os
import re
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Final, Literal

import msgspec

from daemon.data.chunks import _chunk_decoder, _decode_chunk, _encode_chunk
from daemon.data.errors import DataError
from daemon.data.files import _open_binary, _unreadable
from daemon.data.merging import _Feed, _StreamKey, batched
from engines.model.events import MarketEvent, QuoteTick, TradeTick

# ── fixture format ──────────────────────────────────────────────────────────────────────────────

FIXTURE_FORMAT: Final = "vibetrading-fixture"
FIXTURE_VERSION: Final = 1
MANIFEST_NAME: Final = "manifest.json"
EVENTS_NAME: Final = "events.vtm"
EVENTS_MAGIC: Final = b"VTM\x01"
DEFAULT_CHUNK: Final = 4096
DEFAULT_BATCH: Final = 4096
Compression = Literal["none", "zlib"]
_CODECS: Final[dict[str, int]] = {"none": 0, "zlib": 1}
_FRAME: Final = struct.Struct("<BxxxII")  # codec, payload bytes, events in the chunk
_HEX64: Final = re.compile(r"[0-9a-f]{64}")


class SourceFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One CSV file a fixture was imported from."""

    file: str
    sha256: str
    bytes: int
    kind: str
    events: int


class StreamInfo(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One stream in a fixture: a symbol's quotes, trades, or bars of one length."""

    symbol: str
    kind: str
    interval_ns: int
    rows: int
    first_ts_ns: int
    last_ts_ns: int


class Manifest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``manifest.json`` of a fixture directory: provenance, licence, streams and the events file."""

    format: str
    version: int
    name: str
    source: str
    licence: str
    created_from: tuple[SourceFile, ...]
    streams: tuple[StreamInfo, ...]
    events_file: str
    events_sha256: str
    events_bytes: int
    events: int
    chunks: int
    chunk_size: int
    compression: str


def _stream_key(e: MarketEvent) -> tuple[str, str, int]:
    if isinstance(e, QuoteTick):
        return (e.instrument, "quotes", 0)
    if isinstance(e, TradeTick):
        return (e.instrument, "trades", 0)
    return (e.instrument, "bars", e.interval_ns)


def _check_meta(name: str, source: str, licence: str, chunk_size: int, compression: str) -> None:
    for field, value in (("name", name), ("source", source), ("licence", licence)):
        if not value.strip():
            raise DataError(f"a fixture needs a non-empty {field}", code="VT509")
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    if compression not in _CODECS:
        raise ValueError(f"compression must be one of {', '.join(_CODECS)}")


def _write_atomic(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _write_fixture(
    events: Iterable[MarketEvent],
    out_dir: str | os.PathLike[str],
    *,
    name: str,
    source: str,
    licence: str,
    created_from: Callable[[], tuple[SourceFile, ...]],
    require: frozenset[str],
    chunk_size: int,
    compression: Compression,
) -> Manifest:
    _check_meta(name, source, licence, chunk_size, compression)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    events_path = out / EVENTS_NAME
    partial = out / f".{EVENTS_NAME}.partial"
    codec = _CODECS[compression]
    sha = hashlib.sha256()
    stats: dict[tuple[str, str, int], list[int]] = {}  # rows, first ts, last ts
    total = chunks = size = 0
    last_ts: int | None = None
    try:
        with open(partial, "wb") as fh:

            def put(data: bytes) -> None:
                nonlocal size
                fh.write(data)
                sha.update(data)
                size += len(data)

            put(EVENTS_MAGIC)
            for batch in batched(events, chunk_size):
                for e in batch:
                    ts = e.ts_event
                    if last_ts is not None and ts < last_ts:
                        raise DataError(
                            f"event {total + 1} at ts {ts} is before the previous event's {last_ts}; "
                            "a fixture holds one time-ordered stream",
                            code="VT505",
                            file=str(events_path),
                        )
                    last_ts = ts
                    total += 1
                    key = _stream_key(e)
                    entry = stats.get(key)
                    if entry is None:
                        stats[key] = [1, ts, ts]
                    else:
                        entry[0] += 1
                        entry[2] = ts
                payload = _encode_chunk(batch)
                if codec:
                    payload = zlib.compress(payload, 6)
                put(_FRAME.pack(codec, len(payload), len(batch)))
                put(payload)
                chunks += 1
        if total == 0:
            raise DataError("no events to write: the sources hold no rows", code="VT506", file=str(out))
        missing = require - {key[0] for key in stats}
        if missing:
            raise DataError(
                f"no rows for {', '.join(sorted(missing))} in the given files",
                code="VT506",
                file=str(out),
            )
        os.replace(partial, events_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    manifest = Manifest(
        format=FIXTURE_FORMAT,
        version=FIXTURE_VERSION,
        name=name,
        source=source,
        licence=licence,
        created_from=created_from(),
        streams=tuple(
            StreamInfo(
                symbol=symbol, kind=kind, interval_ns=interval, rows=rows, first_ts_ns=first, last_ts_ns=last
            )
            for (symbol, kind, interval), (rows, first, last) in sorted(stats.items())
        ),
        events_file=EVENTS_NAME,
        events_sha256=sha.hexdigest(),
        events_bytes=size,
        events=total,
        chunks=chunks,
        chunk_size=chunk_size,
        compression=compression,
    )
    _write_atomic(out / MANIFEST_NAME, msgspec.json.format(msgspec.json.encode(manifest), indent=2) + b"\n")
    return manifest


def write_fixture(
    events: Iterable[MarketEvent],
    out_dir: str | os.PathLike[str],
    *,
    name: str,
    source: str,
    licence: str,
    created_from: Sequence[SourceFile] = (),
    chunk_size: int = DEFAULT_CHUNK,
    compression: Compression = "none",
) -> Manifest:
    """Write a time-ordered stream of market events as a fixture directory; returns its manifest.

    ``events.vtm`` is written to a temporary name and renamed, then ``manifest.json`` likewise, so
    a failure (for example a data error half-way through a CSV) leaves any previous fixture intact.
    """
    frozen = tuple(created_from)
    return _write_fixture(
        events,
        out_dir,
        name=name,
        source=source,
        licence=licence,
        created_from=lambda: frozen,
        require=frozenset(),
        chunk_size=chunk_size,
        compression=compression,
    )


def _file_sha256(path: str, code: str = "VT500") -> tuple[str, int]:
    with _open_binary(path, code) as fh:
        try:
            digest = hashlib.file_digest(fh, "sha256")
        except OSError as exc:
            raise _unreadable(path, exc, code) from exc
        return digest.hexdigest(), fh.tell()


def _manifest_error(path: Path, message: str) -> DataError:
    return DataError(message, code="VT509", file=str(path))


def read_manifest(fixture_dir: str | os.PathLike[str]) -> Manifest:
    """Read and check a fixture's ``manifest.json`` (VT509 when absent, malformed or inconsistent)."""
    path = Path(fixture_dir) / MANIFEST_NAME
    try:
        fh = _open_binary(str(path), "VT509")
    except DataError as exc:
        if isinstance(exc.__cause__, FileNotFoundError):
            raise _manifest_error(path, f"not a fixture: {fixture_dir} has no {MANIFEST_NAME}") from None
        raise
    with fh:
        try:
            raw = fh.read()
        except OSError as exc:
            raise _unreadable(str(path), exc, "VT509") from exc
    try:
        m = msgspec.json.decode(raw, type=Manifest)
    except msgspec.ValidationError as exc:
        raise _manifest_error(path, f"manifest does not match the fixture schema: {exc}") from None
    except msgspec.DecodeError as exc:
        raise _manifest_error(path, f"manifest is not valid JSON: {exc}") from None
    problems: list[str] = []
    if m.format != FIXTURE_FORMAT:
        problems.append(f"format is {m.format!r}, not {FIXTURE_FORMAT!r}")
    if m.version != FIXTURE_VERSION:
        problems.append(f"version {m.version} is not supported (this reader knows {FIXTURE_VERSION})")
    for field in ("name", "source", "licence"):
        if not getattr(m, field).strip():
            problems.append(f"{field} is empty")
    if m.events_file != EVENTS_NAME:
        problems.append(f"events_file must be {EVENTS_NAME!r}")
    if m.compression not in _CODECS:
        problems.append(f"compression {m.compression!r} is not one of {', '.join(_CODECS)}")
    if _HEX64.fullmatch(m.events_sha256) is None:
        problems.append("events_sha256 is not a sha256 hex digest")
    if m.events < 1 or m.chunks < 1 or m.chunk_size < 1 or m.events_bytes < len(EVENTS_MAGIC):
        problems.append("events, chunks, chunk_size and events_bytes must be positive")
    if sum(s.rows for s in m.streams) != m.events:
        problems.append(f"the streams' rows do not add up to events ({m.events})")
    if problems:
        raise _manifest_error(path, "manifest invalid: " + "; ".join(problems))
    return m


def _verify_events(fixture_dir: Path, m: Manifest) -> Path:
    path = fixture_dir / EVENTS_NAME
    try:
        digest, size = _file_sha256(str(path), "VT509")
    except DataError as exc:
        if exc.code != "VT509":
            raise
        raise _manifest_error(
            path, f"the fixture's {EVENTS_NAME} is missing or unreadable: {exc.message}"
        ) from None
    if size != m.events_bytes or digest != m.events_sha256:
        raise _manifest_error(
            path,
            f"{EVENTS_NAME} does not match the manifest: sha256 {digest} ({size} bytes), "
            f"manifest says {m.events_sha256} ({m.events_bytes} bytes)",
        )
    return path


def read_fixture_chunks(fixture_dir: str | os.PathLike[str]) -> Iterator[list[MarketEvent]]:
    """The fixture's events in the chunks they were written in (``chunk_size`` each, the last shorter).

    The manifest and the sha256 of ``events.vtm`` are checked before this returns (VT509).
    """
    directory = Path(fixture_dir)
    manifest = read_manifest(directory)
    path = _verify_events(directory, manifest)
    return _iter_chunks(path, manifest)


def _iter_chunks(path: Path, m: Manifest) -> Iterator[list[MarketEvent]]:
    try:
        yield from _read_chunks(path, m)
    except OSError as exc:  # a read failing under us: a disk error, a file system gone
        raise _unreadable(str(path), exc, "VT509") from exc


def _read_chunks(path: Path, m: Manifest) -> Iterator[list[MarketEvent]]:
    total = chunks = 0
    decode = _chunk_decoder.decode
    frame_size = _FRAME.size
    with _open_binary(str(path), "VT509") as fh:
        if fh.read(len(EVENTS_MAGIC)) != EVENTS_MAGIC:
            raise _manifest_error(path, f"{EVENTS_NAME} does not start with the fixture magic")
        while header := fh.read(frame_size):
            try:
                if len(header) != frame_size:
                    raise ValueError("truncated chunk header")
                codec, length, count = _FRAME.unpack(header)
                payload = fh.read(length)
                if len(payload) != length:
                    raise ValueError("truncated chunk")
                if codec == 1:
                    payload = zlib.decompress(payload)
                elif codec != 0:
                    raise ValueError(f"unknown codec {codec}")
                events = _decode_chunk(decode(payload), count)
            except (ValueError, IndexError, ArithmeticError, zlib.error, msgspec.MsgspecError) as exc:
                raise _manifest_error(path, f"chunk {chunks + 1} is corrupt: {exc}") from None
            total += count
            chunks += 1
            yield events
    if total != m.events or chunks != m.chunks:
        raise _manifest_error(
            path,
            f"{EVENTS_NAME} holds {total} events in {chunks} chunks, "
            f"the manifest says {m.events} in {m.chunks}",
        )


def read_fixture(fixture_dir: str | os.PathLike[str]) -> Iterator[MarketEvent]:
    """The fixture's events one by one (checked like :func:`read_fixture_chunks`)."""
    return chain.from_iterable(read_fixture_chunks(fixture_dir))


def _fixture_feed(path: str, manifest: Manifest) -> _Feed:
    streams: dict[_StreamKey, tuple[int, int] | None] = {
        (s.symbol, s.kind, s.interval_ns): (s.first_ts_ns, s.last_ts_ns) for s in manifest.streams
    }
    return _Feed(path, read_fixture(path), streams)
