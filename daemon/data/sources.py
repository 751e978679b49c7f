"""What the replay and ``data import`` use.

``--data`` arguments checked, described and opened as one time-ordered stream of batches.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Literal

import msgspec

from daemon.data.cache import BuildPolicy, DataCache, cached_batches
from daemon.data.csvfiles import _header, _panel_symbols, read_events
from daemon.data.errors import DataError
from daemon.data.files import DataSource, _not_regular, _stat, describe
from daemon.data.fixture import (
    DEFAULT_BATCH,
    DEFAULT_CHUNK,
    EVENTS_NAME,
    Compression,
    Manifest,
    SourceFile,
    _file_sha256,
    _fixture_feed,
    _write_fixture,
    read_fixture_chunks,
    read_manifest,
)
from daemon.data.merging import _csv_feed, _Feed, _merge_feeds, batched
from engines.model.events import MarketEvent
from engines.model.instruments import parse_symbol

# ── what the replay command uses ────────────────────────────────────────────────────────────────


class SourceInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Identity of one ``--data`` argument, for the run's provenance."""

    path: str
    format: Literal["csv", "fixture"]
    sha256: str
    """The CSV file's sha256, or a fixture's ``events.vtm`` sha256 as its manifest records it."""
    bytes: int


class _Input:
    """One data path, ``stat``-ed once: a CSV file or a fixture directory, and what identifies it."""

    __slots__ = ("_digest", "manifest", "path", "source", "st")

    def __init__(self, path: str, st: os.stat_result, source: DataSource | None, manifest: Manifest | None):
        self.path = path
        self.st = st
        self.source = source
        self.manifest = manifest
        self._digest: tuple[str, int] | None = None

    def csv(self) -> DataSource:
        assert self.source is not None, "a fixture, not a CSV file"
        return self.source

    def digest(self) -> tuple[str, int]:
        """sha256 and bytes: the CSV file's (read once, when first asked), or a fixture's events.vtm."""
        if self.manifest is not None:
            return self.manifest.events_sha256, self.manifest.events_bytes
        if self._digest is None:
            self._digest = _file_sha256(self.path)
        return self._digest

    def info(self) -> SourceInfo:
        sha, size = self.digest()
        return SourceInfo(
            path=self.path, format="csv" if self.manifest is None else "fixture", sha256=sha, bytes=size
        )


def _inspect(path: str, *, fixtures: bool = True) -> _Input:
    """What a data path is, without opening anything but a fixture's manifest.

    A directory is a fixture (manifest checked, VT509; its files regular, VT514); a regular file a
    CSV file (name checked, VT501); anything else (FIFO, socket, device) is VT514.
    """
    st = _stat(path)
    if fixtures and stat.S_ISDIR(st.st_mode):
        manifest = read_manifest(path)
        events = os.path.join(path, EVENTS_NAME)
        mode = _stat(events, "VT509").st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(events, mode)
        return _Input(path, st, None, manifest)
    if not stat.S_ISREG(st.st_mode):
        raise _not_regular(path, st.st_mode)
    return _Input(path, st, describe(path), None)


def _inspect_all(paths: Iterable[str | os.PathLike[str]]) -> list[_Input]:
    inputs = [_inspect(os.fspath(p)) for p in paths]
    if not inputs:
        raise DataError("no market data given", code="VT506")
    _refuse_duplicates(inputs)
    return inputs


def _refuse_duplicates(inputs: Sequence[_Input]) -> None:
    """VT511 when the same data comes twice: one path twice, two paths to one file or directory (a
    link), two files with one sha256 (a copy), two fixtures with one events.vtm, or a CSV file that
    a fixture given beside it was imported from (its events are in the fixture already).

    A file is hashed only when its size equals another's (a copy has the same size), so sources of
    distinct sizes, the usual case, are told apart by ``stat`` alone.
    """

    def twice(a: _Input, b: _Input, why: str) -> DataError:
        a, b = sorted((a, b), key=inputs.index)
        return DataError(
            f"the same data is given twice: {a.path} and {b.path} {why}", code="VT511", file=b.path
        )

    nodes: dict[tuple[int, int], _Input] = {}
    for inp in inputs:
        other = nodes.setdefault((inp.st.st_dev, inp.st.st_ino), inp)
        if other is not inp:
            if other.path == inp.path:
                raise DataError(
                    f"the same data is given twice: {inp.path} is named twice", code="VT511", file=inp.path
                )
            raise twice(other, inp, f"are the same {'directory' if inp.manifest else 'file'}")
    by_size: dict[int, list[_Input]] = {}
    for inp in inputs:
        if inp.manifest is None:
            by_size.setdefault(inp.st.st_size, []).append(inp)
    for group in by_size.values():
        if len(group) > 1:
            by_sha: dict[str, _Input] = {}
            for inp in group:
                other = by_sha.setdefault(inp.digest()[0], inp)
                if other is not inp:
                    raise twice(other, inp, f"have the same content (sha256 {inp.digest()[0]})")
    by_events: dict[str, _Input] = {}
    for inp in inputs:
        if inp.manifest is not None:
            other = by_events.setdefault(inp.manifest.events_sha256, inp)
            if other is not inp:
                raise twice(
                    other, inp, f"hold the same events (events.vtm sha256 {inp.manifest.events_sha256})"
                )
            for f in inp.manifest.created_from:
                for csv_file in by_size.get(f.bytes, []) if f.events else ():
                    if csv_file.digest()[0] == f.sha256:
                        raise twice(
                            inp,
                            csv_file,
                            f"overlap: the fixture was imported from {f.file} (sha256 {f.sha256}), this file",
                        )


def check_sources(paths: Iterable[str | os.PathLike[str]]) -> list[SourceInfo]:
    """Identify every ``--data`` argument, in order, and refuse bad sets before any event is read.

    VT506 for none, VT500 for a path that cannot be read, VT514 for one that is not a regular file
    (or a fixture directory), VT501 for a bad file name, VT509 for a bad fixture manifest and VT511
    for the same data given twice. Every CSV file is hashed once (the run's provenance).
    """
    return [inp.info() for inp in _inspect_all(paths)]


def describe_source(path: str | os.PathLike[str]) -> SourceInfo:
    """Identify a CSV data file (name checked, VT501) or a fixture directory (manifest checked, VT509)."""
    return _inspect(os.fspath(path)).info()


def _input_batches(inp: _Input, batch_size: int, cache: Cache) -> Iterator[list[MarketEvent]]:
    if inp.manifest is not None:
        return read_fixture_chunks(inp.path)
    cached = _cached(inp, cache) if batch_size == DEFAULT_BATCH else None
    return cached if cached is not None else batched(read_events(inp.path), batch_size)


def _input_feed(inp: _Input, cache: Cache) -> _Feed:
    if inp.manifest is not None:
        return _fixture_feed(inp.path, inp.manifest)
    cached = _cached(inp, cache)
    events = read_events(inp.path) if cached is None else chain.from_iterable(cached)
    return _csv_feed(inp.csv(), events)


def _cached(inp: _Input, cache: Cache) -> Iterator[list[MarketEvent]] | None:
    if cache is None:
        return None
    store, build = cache
    return cached_batches(store, inp.path, inp.csv(), inp.digest(), build=build)


def load_any(
    path_or_dir: str | os.PathLike[str], *, batch_size: int = DEFAULT_BATCH
) -> Iterator[list[MarketEvent]]:
    """Batches of events from a CSV data file or a fixture directory (a fixture keeps its chunks)."""
    return _input_batches(_inspect(os.fspath(path_or_dir)), batch_size, None)


#: a data cache and what to do on a miss (daemon/data/cache.py), or None: parse every CSV file
Cache = tuple[DataCache, BuildPolicy] | None


def sources_from_args(
    paths: Iterable[str | os.PathLike[str]],
    *,
    batch_size: int = DEFAULT_BATCH,
    cache: DataCache | None = None,
    build: BuildPolicy = "background",
) -> Iterator[list[MarketEvent]]:
    """The replay's input: every ``--data`` path merged into one time-ordered stream of batches.

    The paths are checked like :func:`check_sources` does (VT511 and the rest) before anything is
    read. One path is read as it is (a fixture in its own chunks). Several are merged by
    ``(ts_event, argument order, row order)``, refusing sources that overlap in time for one stream
    (VT512), and cut into batches of ``batch_size``. With a ``cache``, a CSV file whose decoded
    events it holds is read from there (the same events, in the same batches); on a miss ``build``
    says whether to start a builder in the background, build now, or neither.
    """
    inputs = _inspect_all(paths)
    policy: Cache = None if cache is None else (cache, build)
    if len(inputs) == 1:
        return _input_batches(inputs[0], batch_size, policy)
    return batched(_merge_feeds([_input_feed(inp, policy) for inp in inputs]), batch_size)


def warm_cache(paths: Iterable[str | os.PathLike[str]], cache: DataCache) -> int:
    """Build, in this process, the cache entries the CSV files among ``paths`` are worth (a sweep does
    this before its trials, which then all read the entries); how many entries there are for them."""
    held = 0
    for inp in _inspect_all(paths):
        if inp.manifest is None and cached_batches(cache, inp.path, inp.csv(), inp.digest(), build="now"):
            held += 1
    return held


def symbols_in(path: str | os.PathLike[str]) -> frozenset[str]:
    """The symbols a ``--data`` argument holds, read cheaply: a fixture's manifest, a tick or bar
    file's name, a wide panel's header; only a long daily panel is scanned (its symbol column).

    The replay checks its universe against this before it starts, so a leg or symbol with no data
    fails fast (VT510) instead of silently never trading.
    """
    inp = _inspect(os.fspath(path))
    if inp.manifest is not None:
        return frozenset(s.symbol for s in inp.manifest.streams)
    src = inp.csv()
    if src.kind == "dailyclose":
        return frozenset(_panel_symbols(src, _header(src)))
    if src.kind == "dailyohlcv":
        return frozenset(event.instrument for event in read_events(src.path))
    return frozenset({src.symbol})


def merge(
    sources: Iterable[str | os.PathLike[str] | Iterable[MarketEvent]],
) -> Iterator[MarketEvent]:
    """Merge several streams (paths or event iterables) by ``(ts_event, source index, row order)``.

    Each source must already be in time order (CSV files are checked, VT505). Events with equal
    timestamps come from the earlier source first and keep their order within a source: rows are
    never re-sorted on the timestamp alone. Paths (CSV files or fixture directories) are checked
    like :func:`sources_from_args` does: the same data twice is VT511, two sources overlapping in
    time for one stream VT512 (docs/data.md, "Merging"). Event iterables are merged unchecked.
    """
    items = [_inspect(os.fspath(s)) if isinstance(s, str | os.PathLike) else s for s in sources]
    _refuse_duplicates([item for item in items if isinstance(item, _Input)])
    return _merge_feeds(
        [
            _input_feed(item, None) if isinstance(item, _Input) else _Feed(f"source {k + 1}", item, None)
            for k, item in enumerate(items)
        ]
    )


def import_files(
    paths: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    name: str,
    source: str,
    licence: str,
    instruments: Iterable[str] | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    compression: Compression = "none",
) -> Manifest:
    """Validate and merge CSV data files into a fixture directory (``manifest.json``, ``events.vtm``).

    ``instruments`` keeps only those symbols (``venue:instrument``); each must have rows (VT506).
    The manifest records every source file's name, sha256 and the events taken from it, and per
    stream its symbol, kind, row count and first and last ``ts_event``.
    """
    inputs = [_inspect(os.fspath(p), fixtures=False) for p in paths]
    if not inputs:
        raise DataError("no data files to import", code="VT506", file=os.fspath(out_dir))
    _refuse_duplicates(inputs)
    keep = None if instruments is None else frozenset(str(parse_symbol(s)) for s in instruments)
    sources = [inp.csv() for inp in inputs]
    hashes = [inp.digest() for inp in inputs]
    counts = [0] * len(sources)

    def taken(index: int, src: DataSource) -> Iterator[MarketEvent]:
        for event in read_events(src.path):
            if keep is None or event.instrument in keep:
                counts[index] += 1
                yield event

    def created_from() -> tuple[SourceFile, ...]:
        return tuple(
            SourceFile(file=Path(src.path).name, sha256=sha, bytes=size, kind=src.kind, events=count)
            for src, (sha, size), count in zip(sources, hashes, counts, strict=True)
        )

    return _write_fixture(
        _merge_feeds([_csv_feed(src, taken(i, src), keep) for i, src in enumerate(sources)]),
        out_dir,
        name=name,
        source=source,
        licence=licence,
        created_from=created_from,
        require=keep or frozenset(),
        chunk_size=chunk_size,
        compression=compression,
    )
