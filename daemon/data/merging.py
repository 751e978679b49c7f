"""Merging sources into one time-ordered stream.

Two sources that overlap in time for one stream are refused (VT512) while merging.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from heapq import heapify, heappop, heapreplace
from itertools import islice, pairwise
from typing import Final, NamedTuple

from daemon.data.cells import _iso
from daemon.data.csvfiles import _header, _panel_symbols, read_events
from daemon.data.errors import DataError
from daemon.data.files import _TICK_KINDS, _UNIT_NS, DataSource
from engines.model.events import MarketEvent
from engines.units import NS_PER_DAY

# ── merging sources ─────────────────────────────────────────────────────────────────────────────

_StreamKey = tuple[str, str, int]
"""A stream: ``(symbol, kind, interval_ns)``, kind ``quotes``, ``trades`` or ``bars``."""
_NO_LIMIT: Final = 1 << 64  # above every int64 ts_event


class _Limit(NamedTuple):
    """A feed's events must have ``ts_event < bound``: ``feed``'s ``key`` stream begins at ``begins``."""

    bound: int
    feed: int
    key: _StreamKey
    begins: int


class _Feed(NamedTuple):
    """One source of a merge: its events, and what is known of its streams for the overlap check.

    ``streams`` maps each stream the source holds to its ``(first, last)`` ``ts_event`` when known
    (a fixture's manifest, a scanned long panel), or to None when the stream spans the whole source
    (a tick or bar file, a wide panel: every row is in every stream), whose first event is then
    its head and whose end is found while merging. ``streams`` None is an event iterable the
    merge knows nothing about: it is not checked. ``scan`` reads a long panel's streams, only when
    another source could share them (its symbols are known only by reading it).
    """

    label: str
    events: Iterable[MarketEvent]
    streams: dict[_StreamKey, tuple[int, int] | None] | None
    venue: str = ""
    scan: Callable[[], dict[_StreamKey, tuple[int, int] | None]] | None = None


def _csv_feed(src: DataSource, events: Iterable[MarketEvent], keep: frozenset[str] | None = None) -> _Feed:
    """The feed of a CSV file, its streams known from the name (a wide panel: from its header)."""

    def kept(symbols: Iterable[str]) -> list[str]:
        return [s for s in symbols if keep is None or s in keep]

    if src.kind == "dailyohlcv":

        def scan() -> dict[_StreamKey, tuple[int, int] | None]:
            ranges: dict[_StreamKey, tuple[int, int] | None] = {}
            for e in read_events(src.path):
                key = (e.instrument, "bars", NS_PER_DAY)
                if keep is None or e.instrument in keep:
                    seen = ranges.get(key)
                    ranges[key] = (e.ts_event, e.ts_event) if seen is None else (seen[0], e.ts_event)
            return ranges

        return _Feed(src.path, events, {}, src.venue, scan)
    if src.kind == "dailyclose":
        symbols = kept(_panel_symbols(src, _header(src)))
        return _Feed(src.path, events, dict.fromkeys([(s, "bars", NS_PER_DAY) for s in symbols]))
    key = (src.symbol, src.kind if src.kind in _TICK_KINDS else "bars", src.interval_ns)
    return _Feed(src.path, events, dict.fromkeys([key] if kept([src.symbol]) else []))


def _length(interval_ns: int) -> str:
    """A bar length as file names write it (``1m``, ``5s``, ``1d``)."""
    for unit in "dhms":
        if interval_ns % _UNIT_NS[unit] == 0:
            return f"{interval_ns // _UNIT_NS[unit]}{unit}"
    return f"{interval_ns}ns"


def _overlap(feeds: tuple[_Feed, _Feed], key: _StreamKey, begins: int, runs_to: int) -> DataError:
    """VT512: ``feeds[0]`` has rows of stream ``key`` at ``runs_to``, ``feeds[1]``'s begin at ``begins``."""
    symbol, kind, interval = key
    what = f"{symbol} {kind}{_length(interval) if interval else ''}"
    a, b = feeds[0].label, feeds[1].label
    if kind == "bars" and runs_to == begins:
        detail = f"both hold a bar closing at {_iso(begins)} ({begins})"
    elif runs_to == begins:
        detail = (
            f"they meet at {_iso(begins)} ({begins}) but {b} is given first; give {a} first to keep "
            "the rows of that instant in file order"
        )
    else:
        detail = (
            f"{b} begins at {_iso(begins)} ({begins}) and {a} still has rows at {_iso(runs_to)} ({runs_to})"
        )
    return DataError(
        f"{a} and {b} overlap in time for {what}: {detail}; the merge would interleave or repeat them",
        code="VT512",
        file=a,
    )


def _limits(feeds: Sequence[_Feed], heads: Sequence[MarketEvent | None]) -> list[_Limit]:
    """Per feed: the ``ts_event`` its events must stay below, and why (the other feed, the stream).

    Two feeds sharing a stream must not overlap in ``(ts_event, feed index)`` order: the one that
    begins first must end before the other begins (a tick stream may end at the very instant the
    next begins when it is given first; a bar stream may not: a bar closing at the same time in two
    sources is the same bar twice). Where both ends are known (manifests, a scanned panel) this is
    checked here; a feed whose end is only found by reading it gets a limit the merge enforces as
    it goes, at no cost per event: the limit bounds the feed's runs like the other feeds' heads do.
    """
    limits = [_Limit(_NO_LIMIT, -1, ("", "", 0), 0)] * len(feeds)
    resolved = [f.streams for f in feeds]
    day_venues = {
        key[0].partition(":")[0]
        for f in feeds
        for key in (f.streams or {})
        if key[1:] == ("bars", NS_PER_DAY)
    }
    panels = [f.venue for f in feeds if f.scan is not None]
    for i, f in enumerate(feeds):
        # a long panel's symbols are known only by reading it: read it first only when another
        # source could share them (day bars of the same venue)
        if f.scan is not None and (f.venue in day_venues or panels.count(f.venue) > 1):
            resolved[i] = f.scan()
    by_key: dict[_StreamKey, list[tuple[int, int, int | None]]] = {}
    for i, streams in enumerate(resolved):
        head = heads[i]
        if not streams or head is None:
            continue
        for key, known in streams.items():
            first, last = (head.ts_event, None) if known is None else known
            by_key.setdefault(key, []).append((first, i, last))
    for key, spans in by_key.items():
        spans.sort()
        for (_, early, last), (begins, late, _) in pairwise(spans):
            # every event of the early feed's stream must sort before (begins, late)
            bound = begins + (1 if early < late and key[1] != "bars" else 0)
            if last is not None:
                if last >= bound:
                    raise _overlap((feeds[early], feeds[late]), key, begins, last)
            elif bound < limits[early].bound:
                limits[early] = _Limit(bound, late, key, begins)
    return limits


def _merge_feeds(feeds: Sequence[_Feed]) -> Iterator[MarketEvent]:
    if len(feeds) == 1:
        return iter(feeds[0].events)
    return _kway(feeds)


def _kway(feeds: Sequence[_Feed]) -> Iterator[MarketEvent]:
    """The k-way merge by ``(ts_event, feed index, order in the feed)``, run by run.

    The feed with the least head yields every event that sorts before the next feed's head (and
    below its own limit, see :func:`_limits`) in one tight loop; the heap moves once per run, not
    once per event, which makes this about twice as fast as ``heapq.merge``. A feed reaching its
    limit is VT512.
    """
    iters = [iter(f.events) for f in feeds]
    heads: list[MarketEvent | None] = [next(it, None) for it in iters]
    limits = _limits(feeds, heads)
    heap = [(e.ts_event, i) for i, e in enumerate(heads) if e is not None]
    heapify(heap)

    def overlap(i: int, ts: int) -> DataError:
        limit = limits[i]
        return _overlap((feeds[i], feeds[limit.feed]), limit.key, limit.begins, ts)

    while heap:
        ts, i = heap[0]
        own = limits[i].bound
        if ts >= own:
            raise overlap(i, ts)
        if len(heap) > 1:
            ts2, i2 = heap[1] if len(heap) == 2 or heap[1] < heap[2] else heap[2]
            bound = min(ts2 + 1 if i < i2 else ts2, own)  # on a tie the lower index goes first
        else:
            bound = own
        head = heads[i]
        assert head is not None  # a feed is on the heap while it has a head
        yield head
        for e in iters[i]:
            ts = e.ts_event
            if ts < bound:
                yield e
                continue
            if ts >= own:
                raise overlap(i, ts)
            heads[i] = e
            heapreplace(heap, (ts, i))
            break
        else:
            heads[i] = None
            heappop(heap)


def batched(events: Iterable[MarketEvent], size: int) -> Iterator[list[MarketEvent]]:
    """Consecutive lists of ``size`` events (the last one shorter), as the replay consumes them."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    it = iter(events)
    while batch := list(islice(it, size)):
        yield batch
