"""Market data files to event streams: the CSV data contract, typed data errors, the replay fixture.

Two ways in, one stream out (``engines.events`` ``QuoteTick | TradeTick | Bar``):

* **CSV** (the normalised files of ``../shared/data``): ``<venue>_<instrument>_<kind>_<period>.csv.gz``
  (or plain ``.csv``), read row by row and validated while streaming, so an error can come after some
  events were yielded. :func:`describe` parses the name, :func:`read_events` streams one file and
  :func:`merge` several, ordered by ``(ts_event, file index, row)``.
* **Fixture** (the replay's fast path): a directory with ``manifest.json`` and ``events.vtm``, a merged
  and validated stream in length-prefixed msgpack chunks, written by :func:`import_files` and read by
  :func:`read_fixture_chunks`. A chunk is columnar: one table of the decimal strings it uses, one of
  its symbols, and per event kind one column per field holding table indexes, so each distinct
  price string is parsed into a ``Decimal`` once per chunk rather than once per field.

docs/data.md is the contract: required columns per kind, timestamp conventions, ordering and tie
rules, the error codes VT500 to VT509 and the fixture format.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import heapq
import io
import os
import re
import struct
import sys
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from itertools import chain, islice
from operator import attrgetter
from pathlib import Path
from typing import Final, Literal, Protocol, TextIO

import msgspec

from engines.errors import InvalidSymbolError, VibeError
from engines.events import SCHEMA_VERSION, Bar, MarketEvent, QuoteTick, Side, TradeTick
from engines.instruments import parse_symbol

__all__ = [
    "DAY_NS",
    "DEFAULT_BATCH",
    "DEFAULT_CHUNK",
    "EVENTS_MAGIC",
    "EVENTS_NAME",
    "FIXTURE_FORMAT",
    "MANIFEST_NAME",
    "Compression",
    "DataError",
    "DataSource",
    "Manifest",
    "SourceFile",
    "SourceInfo",
    "StreamInfo",
    "batched",
    "describe",
    "describe_source",
    "import_files",
    "load_any",
    "merge",
    "read_events",
    "read_fixture",
    "read_fixture_chunks",
    "read_manifest",
    "sources_from_args",
    "write_fixture",
]

# ── errors ──────────────────────────────────────────────────────────────────────────────────────


class DataError(VibeError):
    """A data file or fixture breaks the data contract (codes VT500 to VT509, docs/data.md)."""

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


# ── file names ──────────────────────────────────────────────────────────────────────────────────

SECOND_NS: Final = 1_000_000_000
DAY_NS: Final = 86_400 * SECOND_NS
_UNIT_NS: Final = {"s": SECOND_NS, "m": 60 * SECOND_NS, "h": 3_600 * SECOND_NS, "d": DAY_NS}
_NAME_RE: Final = re.compile(r"^([^_]+)_([^_]+)_([^_]+)_([^_]+?)\.csv(?:\.gz)?$")
_BARS_RE: Final = re.compile(r"^bars([1-9][0-9]{0,5})([smhd])$")
_TICK_KINDS: Final = ("trades", "quotes")
_PANEL_KINDS: Final = ("dailyohlcv", "dailyclose")


class DataSource(msgspec.Struct, frozen=True, kw_only=True):
    """What a data file's name says: ``<venue>_<instrument>_<kind>_<period>.csv[.gz]``."""

    path: str
    venue: str
    instrument: str
    kind: str
    period: str
    interval_ns: int = 0
    """The bar length for bar kinds and daily panels; 0 for ticks."""

    @property
    def symbol(self) -> str:
        return f"{self.venue}:{self.instrument}"


def describe(path: str | os.PathLike[str]) -> DataSource:
    """Parse a data file's name; a name off the pattern or an unsupported kind is VT501."""
    text = os.fspath(path)
    name = Path(text).name
    match = _NAME_RE.match(name)
    if match is None:
        raise DataError(
            f"file name {name!r} is not <venue>_<instrument>_<kind>_<period>.csv.gz",
            code="VT501",
            file=text,
        )
    venue, instrument, kind, period = match.groups()
    try:
        parse_symbol(f"{venue}:{instrument}")
    except InvalidSymbolError:
        raise DataError(
            f"file name {name!r}: {venue}:{instrument} is not a valid venue:instrument",
            code="VT501",
            file=text,
        ) from None
    interval_ns = 0
    bars = _BARS_RE.match(kind)
    if bars is not None:
        interval_ns = int(bars.group(1)) * _UNIT_NS[bars.group(2)]
    elif kind in _PANEL_KINDS:
        interval_ns = DAY_NS
    elif kind not in _TICK_KINDS:
        raise DataError(
            f"unsupported kind {kind!r} in file name {name!r}; supported: trades, quotes, "
            "bars<N>s/m/h/d, dailyohlcv, dailyclose",
            code="VT501",
            file=text,
        )
    return DataSource(
        path=text,
        venue=venue,
        instrument=instrument,
        kind=kind,
        period=period,
        interval_ns=interval_ns,
    )


# ── CSV reading ─────────────────────────────────────────────────────────────────────────────────

QUOTE_COLUMNS: Final = ("ts_ns", "bid", "bid_qty", "ask", "ask_qty")
TRADE_COLUMNS: Final = ("ts_ns", "price", "qty", "aggressor", "trade_id")
BAR_COLUMNS: Final = ("ts_ns", "open", "high", "low", "close", "volume")
OHLCV_COLUMNS: Final = ("date", "symbol", "open", "high", "low", "close", "volume")

_TS = "ts"  # integer UTC epoch ns
_DEC = "decimal"  # finite non-negative decimal
_SIDE = "side"  # buy | sell
_ID = "id"  # non-empty string
_DATE = "date"  # YYYY-MM-DD
_SYM = "symbol"  # instrument of a long panel

_DEC_RE: Final = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SIDES: Final = {"buy": Side.BUY, "sell": Side.SELL}
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_ZERO: Final = Decimal(0)
_TS_MAX: Final = (1 << 63) - 1  # ts_ns is an int64
_READ_ERRORS: Final = (OSError, EOFError, zlib.error, UnicodeDecodeError, csv.Error)

_is_dec = _DEC_RE.fullmatch


def _open_text(path: str) -> TextIO:
    if path.endswith(".gz"):
        return io.TextIOWrapper(
            io.BufferedReader(gzip.GzipFile(path, "rb"), buffer_size=1 << 16),
            encoding="utf-8-sig",
            newline="",
        )
    return open(path, encoding="utf-8-sig", newline="")


def _show(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _cell_reason(text: str, check: str) -> str | None:
    """Why one cell fails its check, or None when it passes."""
    if check == _TS:
        if _is_ts_text(text):
            return None
        if text == "":
            return "is empty"
        return "is not an integer timestamp in UTC epoch nanoseconds (0 to 2**63-1)"
    if check == _DEC:
        if _is_dec(text):
            return None
        if text.strip() == "":
            return "is empty"
        try:
            value = Decimal(text)
        except ArithmeticError:
            return "is not a decimal number"
        if not value.is_finite():
            return "is not a finite number"
        if value.is_signed():
            return "is negative"
        return "is not a plain decimal (digits and one point; no sign, space or underscore)"
    if check == _SIDE:
        return None if text in _SIDES else "is not an aggressor side (buy or sell)"
    if check == _ID:
        return None if text else "is empty"
    if check == _DATE:
        if text == "":
            return "is empty"
        if _DATE_RE.fullmatch(text) is None:
            return "is not a date YYYY-MM-DD"
        try:
            date.fromisoformat(text)
        except ValueError:
            return "is not a calendar date"
        return None
    if check == _SYM:
        if text == "":
            return "is empty"
        try:
            parse_symbol(f"x:{text}")
        except InvalidSymbolError:
            return "is not a valid instrument code"
        return None
    raise AssertionError(check)  # pragma: no cover


def _bad_row(
    src: DataSource, line: int, columns: Sequence[str], checks: Sequence[str], row: Sequence[str]
) -> DataError:
    """The error for the first cell of ``row`` that fails its check."""
    for column, check, text in zip(columns, checks, row, strict=True):
        reason = _cell_reason(text, check)
        if reason is not None:
            return DataError(
                f"column {column!r}: {_show(text)} {reason}", code="VT504", file=src.path, line=line
            )
    raise AssertionError("no bad cell in a row reported as bad")  # pragma: no cover


def _width_error(src: DataSource, line: int, cells: int, expected: int) -> DataError:
    what = "short" if cells < expected else "long"
    return DataError(
        f"row too {what}: {cells} cells, the header has {expected}",
        code="VT503",
        file=src.path,
        line=line,
    )


def _backwards(src: DataSource, line: int, what: str, now: object, before: object) -> DataError:
    return DataError(
        f"{what} {now} is before the previous row's {before}; rows must be in time order",
        code="VT505",
        file=src.path,
        line=line,
    )


def _check_header(src: DataSource, header: Sequence[str], expected: Sequence[str]) -> None:
    if list(header) == list(expected):
        return
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    if missing:
        detail = f"missing column(s) {', '.join(missing)}"
    elif extra:
        detail = f"unknown column(s) {', '.join(extra)}"
    else:
        detail = "columns out of order"
    raise DataError(
        f"{detail}: the header is {','.join(header)!r}, a {src.kind} file needs {','.join(expected)!r}",
        code="VT502",
        file=src.path,
        line=1,
    )


_CACHE_MAX: Final = 1 << 16


class _BadCell(Exception):
    """A cell failed its check; the row reader turns it into the VT504 naming the first bad cell."""


def _decimal_parsers() -> tuple[Callable[[str], Decimal | None], Callable[[str], Decimal]]:
    """``(cached, parse)`` for decimal cells: a lookup of strings already seen, and the checked parse.

    Prices repeat row after row (the same bid for many quotes); a ``Decimal`` is immutable, so
    rows share one object per distinct string and a repeated cell costs one dict lookup. ``parse``
    raises :class:`_BadCell` for a cell that is not a plain finite non-negative decimal.
    """
    cache: dict[str, Decimal] = {}

    def parse(text: str) -> Decimal:
        if _is_dec(text) is None:
            raise _BadCell
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        value = cache[text] = Decimal(text)
        return value

    return cache.get, parse


def _is_ts_text(text: str) -> bool:
    """ASCII digits within int64 (a 19-digit number can overflow it)."""
    if not (text.isdigit() and text.isascii()):
        return False
    return len(text) < 19 or (len(text) == 19 and int(text) <= _TS_MAX)


class _CsvRows(Protocol):
    """What the row readers need of ``csv.reader``: rows, and the physical line number of the last."""

    @property
    def line_num(self) -> int: ...

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


_RowReader = Callable[[DataSource, _CsvRows, list[str]], Iterator[MarketEvent]]


def _ts_cell(text: str) -> int:
    if not _is_ts_text(text):
        raise _BadCell
    return int(text)


def _quotes(src: DataSource, reader: _CsvRows, header: list[str]) -> Iterator[QuoteTick]:
    _check_header(src, header, QUOTE_COLUMNS)
    checks = (_TS, _DEC, _DEC, _DEC, _DEC)
    instrument = src.symbol
    cached, parse = _decimal_parsers()
    last = -1
    last_s: str | None = None  # the previous row's ts_ns cell: ties skip the parse
    for row in reader:
        if len(row) != 5:
            raise _width_error(src, reader.line_num, len(row), 5)
        ts_s, bid_s, bid_qty_s, ask_s, ask_qty_s = row
        try:
            bid = cached(bid_s) or parse(bid_s)
            bid_qty = cached(bid_qty_s) or parse(bid_qty_s)
            ask = cached(ask_s) or parse(ask_s)
            ask_qty = cached(ask_qty_s) or parse(ask_qty_s)
            if ts_s != last_s:
                ts = _ts_cell(ts_s)
                if ts < last:
                    raise _backwards(src, reader.line_num, "ts_ns", ts, last)
                last, last_s = ts, ts_s
        except _BadCell:
            raise _bad_row(src, reader.line_num, QUOTE_COLUMNS, checks, row) from None
        if bid > ask:
            raise DataError(
                f"crossed quote: bid {bid_s} > ask {ask_s}", code="VT507", file=src.path, line=reader.line_num
            )
        yield QuoteTick(
            ts_event=last,
            ts_init=last,
            instrument=instrument,
            bid=bid,
            bid_size=bid_qty,
            ask=ask,
            ask_size=ask_qty,
        )


def _trades(src: DataSource, reader: _CsvRows, header: list[str]) -> Iterator[TradeTick]:
    _check_header(src, header, TRADE_COLUMNS)
    checks = (_TS, _DEC, _DEC, _SIDE, _ID)
    instrument = src.symbol
    sides = _SIDES
    cached, parse = _decimal_parsers()
    last = -1
    last_s: str | None = None  # the previous row's ts_ns cell: ties skip the parse
    for row in reader:
        if len(row) != 5:
            raise _width_error(src, reader.line_num, len(row), 5)
        ts_s, price_s, qty_s, side_s, trade_id = row
        try:
            price = cached(price_s) or parse(price_s)
            qty = cached(qty_s) or parse(qty_s)
            side = sides[side_s]
            if not trade_id:
                raise _BadCell
            if ts_s != last_s:
                ts = _ts_cell(ts_s)
                if ts < last:
                    raise _backwards(src, reader.line_num, "ts_ns", ts, last)
                last, last_s = ts, ts_s
        except (_BadCell, KeyError):
            raise _bad_row(src, reader.line_num, TRADE_COLUMNS, checks, row) from None
        yield TradeTick(
            ts_event=last,
            ts_init=last,
            instrument=instrument,
            price=price,
            size=qty,
            aggressor=side,
            trade_id=trade_id,
        )


def _bar_error(
    src: DataSource, line: int, ohlc: tuple[Decimal, Decimal, Decimal, Decimal], what: str = "bar"
) -> DataError:
    o, h, lo, c = ohlc
    return DataError(
        f"inconsistent {what}: open {o}, high {h}, low {lo}, close {c} (needs low <= open, close <= high)",
        code="VT508",
        file=src.path,
        line=line,
    )


def _bars(src: DataSource, reader: _CsvRows, header: list[str]) -> Iterator[Bar]:
    _check_header(src, header, BAR_COLUMNS)
    checks = (_TS, _DEC, _DEC, _DEC, _DEC, _DEC)
    instrument = src.symbol
    interval = src.interval_ns
    cached, parse = _decimal_parsers()
    last = -1
    for row in reader:
        if len(row) != 6:
            raise _width_error(src, reader.line_num, len(row), 6)
        ts_s, o_s, h_s, l_s, c_s, v_s = row
        try:
            o = cached(o_s) or parse(o_s)
            h = cached(h_s) or parse(h_s)
            lo = cached(l_s) or parse(l_s)
            c = cached(c_s) or parse(c_s)
            v = cached(v_s) or parse(v_s)
            ts = _ts_cell(ts_s)
        except _BadCell:
            raise _bad_row(src, reader.line_num, BAR_COLUMNS, checks, row) from None
        if ts < last:
            raise _backwards(src, reader.line_num, "ts_ns (bar open)", ts, last)
        last = ts
        if not (lo <= o <= h and lo <= c <= h):
            raise _bar_error(src, reader.line_num, (o, h, lo, c))
        close_ts = ts + interval
        yield Bar(
            ts_event=close_ts,
            ts_init=close_ts,
            instrument=instrument,
            open=o,
            high=h,
            low=lo,
            close=c,
            volume=v,
            interval_ns=interval,
        )


def _day_cell(text: str) -> int:
    """UTC epoch ns of 00:00 UTC on an ISO date ``YYYY-MM-DD``."""
    if _DATE_RE.fullmatch(text) is None:
        raise _BadCell
    try:
        return (date.fromisoformat(text).toordinal() - _EPOCH_ORDINAL) * DAY_NS
    except ValueError:
        raise _BadCell from None


def _daily_ohlcv(src: DataSource, reader: _CsvRows, header: list[str]) -> Iterator[Bar]:
    _check_header(src, header, OHLCV_COLUMNS)
    checks = (_DATE, _SYM, _DEC, _DEC, _DEC, _DEC, _DEC)
    cached, parse = _decimal_parsers()
    symbols: dict[str, str] = {}
    last_day: str | None = None
    opened = 0
    for row in reader:
        if len(row) != 7:
            raise _width_error(src, reader.line_num, len(row), 7)
        d_s, sym_s, o_s, h_s, l_s, c_s, v_s = row
        try:
            if d_s != last_day:
                day = _day_cell(d_s)
                if last_day is not None and day < opened:
                    raise _backwards(src, reader.line_num, "date", d_s, last_day)
                opened, last_day = day, d_s
            symbol = symbols.get(sym_s)
            if symbol is None:
                if _cell_reason(sym_s, _SYM) is not None:
                    raise _BadCell
                symbol = symbols[sym_s] = f"{src.venue}:{sym_s}"
            o = cached(o_s) or parse(o_s)
            h = cached(h_s) or parse(h_s)
            lo = cached(l_s) or parse(l_s)
            c = cached(c_s) or parse(c_s)
            v = cached(v_s) or parse(v_s)
        except _BadCell:
            raise _bad_row(src, reader.line_num, OHLCV_COLUMNS, checks, row) from None
        if not (lo <= o <= h and lo <= c <= h):
            raise _bar_error(src, reader.line_num, (o, h, lo, c), f"bar of {sym_s}")
        close_ts = opened + DAY_NS
        yield Bar(
            ts_event=close_ts,
            ts_init=close_ts,
            instrument=symbol,
            open=o,
            high=h,
            low=lo,
            close=c,
            volume=v,
            interval_ns=DAY_NS,
        )


def _panel_symbols(src: DataSource, header: list[str]) -> list[str]:
    """The symbols of a wide panel's header ``date,SYM1,SYM2,...`` (VT502 when it is not one)."""
    if not header or header[0] != "date":
        raise DataError(
            f"the first column of a dailyclose file must be 'date', not {_show(header[0] if header else '')}",
            code="VT502",
            file=src.path,
            line=1,
        )
    names = header[1:]
    if not names:
        raise DataError(
            "a dailyclose file needs one column per symbol after 'date'", code="VT502", file=src.path, line=1
        )
    symbols: list[str] = []
    for name in names:
        try:
            symbols.append(str(parse_symbol(f"{src.venue}:{name}")))
        except InvalidSymbolError:
            raise DataError(
                f"column {_show(name)} is not a valid instrument code", code="VT502", file=src.path, line=1
            ) from None
    if len(set(symbols)) != len(symbols):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f"duplicate column(s) {', '.join(dupes)}", code="VT502", file=src.path, line=1)
    return symbols


def _daily_close(src: DataSource, reader: _CsvRows, header: list[str]) -> Iterator[Bar]:
    symbols = _panel_symbols(src, header)
    width = len(header)
    checks = (_DATE, *([_DEC] * len(symbols)))
    cached, parse = _decimal_parsers()
    zero = _ZERO
    last_day: str | None = None
    opened = 0
    for row in reader:
        if len(row) != width:
            raise _width_error(src, reader.line_num, len(row), width)
        d_s = row[0]
        try:
            day = _day_cell(d_s)
            values = [cached(text) or parse(text) for text in row[1:]]
        except _BadCell:
            raise _bad_row(src, reader.line_num, header, checks, row) from None
        if last_day is not None and day < opened:
            raise _backwards(src, reader.line_num, "date", d_s, last_day)
        opened, last_day = day, d_s
        close_ts = opened + DAY_NS
        for symbol, value in zip(symbols, values, strict=True):
            yield Bar(
                ts_event=close_ts,
                ts_init=close_ts,
                instrument=symbol,
                open=value,
                high=value,
                low=value,
                close=value,
                volume=zero,
                interval_ns=DAY_NS,
            )


def _row_reader(src: DataSource) -> _RowReader:
    if src.kind == "quotes":
        return _quotes
    if src.kind == "trades":
        return _trades
    if src.kind == "dailyohlcv":
        return _daily_ohlcv
    if src.kind == "dailyclose":
        return _daily_close
    return _bars


def read_events(path: str | os.PathLike[str]) -> Iterator[MarketEvent]:
    """Stream one CSV data file as events, in file order, validating every row as it goes.

    The name is checked now (VT501); the contents while iterating (VT500 and VT502 to VT508), so
    an error can come after some events were yielded.
    """
    src = describe(path)
    return _stream(src, _row_reader(src))


def _stream(src: DataSource, rows: _RowReader) -> Iterator[MarketEvent]:
    reader: _CsvRows | None = None
    try:
        with _open_text(src.path) as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise DataError("the file is empty: no header, no rows", code="VT506", file=src.path, line=1)
            header_line = reader.line_num
            yield from rows(src, reader, header)
            if reader.line_num == header_line:
                raise DataError(
                    "the file has a header but no data rows",
                    code="VT506",
                    file=src.path,
                    line=reader.line_num,
                )
    except _READ_ERRORS as exc:
        line = None if reader is None else reader.line_num + 1
        raise DataError(
            f"cannot read the file: {_describe_exc(exc)}", code="VT500", file=src.path, line=line
        ) from exc


def _describe_exc(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, gzip.BadGzipFile):
        return f"not a valid gzip file ({exc})"
    if isinstance(exc, EOFError):
        return f"the gzip stream is truncated ({exc})"
    if isinstance(exc, zlib.error):
        return f"the gzip stream is corrupt ({exc})"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    return str(exc) or type(exc).__name__


_event_ts = attrgetter("ts_event")


def merge(
    sources: Iterable[str | os.PathLike[str] | Iterable[MarketEvent]],
) -> Iterator[MarketEvent]:
    """Merge several streams (paths or event iterables) by ``(ts_event, source index, row order)``.

    Each source must already be in time order (CSV files are checked, VT505). Events with equal
    timestamps come from the earlier source first and keep their order within a source: rows are
    never re-sorted on the timestamp alone (``heapq.merge`` breaks key ties by iterable index).
    """
    streams = [read_events(s) if isinstance(s, str | os.PathLike) else iter(s) for s in sources]
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams, key=_event_ts)


def batched(events: Iterable[MarketEvent], size: int) -> Iterator[list[MarketEvent]]:
    """Consecutive lists of ``size`` events (the last one shorter), as the replay consumes them."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    it = iter(events)
    while batch := list(islice(it, size)):
        yield batch


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
_QUOTE, _TRADE, _BAR = 0, 1, 2
_SIDE_CODES: Final = {Side.BUY: 0, Side.SELL: 1}
_SIDES_BY_CODE: Final = (Side.BUY, Side.SELL)


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


class _Chunk(msgspec.Struct, frozen=True, array_like=True):
    """One chunk of events.vtm: two tables, then per event kind one binary column per field.

    ``kinds`` holds one byte per event in stream order (0 quote, 1 trade, 2 bar). Each column is
    a little-endian array (``_QUOTE_COLUMNS`` and so on give the layouts): ``ts_event`` as int64
    (``ts_init`` equals it for market data), the symbol and every decimal as a uint32 index into
    ``symbols`` and ``decimals``, the aggressor as a byte (0 buy, 1 sell). Trade ids are strings.
    """

    kinds: bytes
    decimals: list[str]
    symbols: list[str]
    quotes: tuple[bytes, ...]
    trades: tuple[bytes, ...]
    trade_ids: list[str]
    bars: tuple[bytes, ...]


_U32: Final = "I" if array("I").itemsize == 4 else "L"
_SWAP: Final = sys.byteorder != "little"
# ts_event, symbol, bid, bid_size, ask, ask_size
_QUOTE_COLUMNS: Final = ("q", _U32, _U32, _U32, _U32, _U32)
# ts_event, symbol, price, size, aggressor
_TRADE_COLUMNS: Final = ("q", _U32, _U32, _U32, "B")
# ts_event, symbol, open, high, low, close, volume, interval_ns
_BAR_COLUMNS: Final = ("q", _U32, _U32, _U32, _U32, _U32, _U32, "q")
_chunk_encoder: Final = msgspec.msgpack.Encoder()
_chunk_decoder: Final = msgspec.msgpack.Decoder(_Chunk)


def _pack(codes: Sequence[str], columns: Sequence[list[int]]) -> tuple[bytes, ...]:
    out = []
    for code, values in zip(codes, columns, strict=True):
        packed = array(code, values)
        if _SWAP:  # pragma: no cover - big-endian hosts
            packed.byteswap()
        out.append(packed.tobytes())
    return tuple(out)


def _unpack(codes: Sequence[str], blobs: Sequence[bytes], rows: int) -> list[array[int]]:
    if len(blobs) != len(codes):
        raise ValueError(f"{len(blobs)} columns where {len(codes)} were expected")
    out = []
    for code, blob in zip(codes, blobs, strict=True):
        column = array(code)
        column.frombytes(blob)
        if _SWAP:  # pragma: no cover - big-endian hosts
            column.byteswap()
        if len(column) != rows:
            raise ValueError(f"a column holds {len(column)} values for {rows} events")
        out.append(column)
    return out


def _encode_chunk(events: Sequence[MarketEvent]) -> bytes:
    kinds = bytearray()
    decimals: dict[str, int] = {}
    symbols: dict[str, int] = {}
    q: tuple[list[int], ...] = tuple([] for _ in _QUOTE_COLUMNS)
    t: tuple[list[int], ...] = tuple([] for _ in _TRADE_COLUMNS)
    t_ids: list[str] = []
    b: tuple[list[int], ...] = tuple([] for _ in _BAR_COLUMNS)

    def dec(value: Decimal) -> int:
        text = str(value)  # exact: Decimal(str(d)) has d's digits and exponent
        index = decimals.get(text)
        if index is None:
            index = decimals[text] = len(decimals)
        return index

    def sym(text: str) -> int:
        index = symbols.get(text)
        if index is None:
            index = symbols[text] = len(symbols)
        return index

    def put(columns: tuple[list[int], ...], values: tuple[int, ...]) -> None:
        for column, value in zip(columns, values, strict=True):
            column.append(value)

    for e in events:
        if e.ts_init != e.ts_event or e.seq != 0 or e.schema != SCHEMA_VERSION:
            raise ValueError(f"not a market data event as read from a file: {e!r}")
        if isinstance(e, QuoteTick):
            kinds.append(_QUOTE)
            put(q, (e.ts_event, sym(e.instrument), dec(e.bid), dec(e.bid_size), dec(e.ask), dec(e.ask_size)))
        elif isinstance(e, TradeTick):
            kinds.append(_TRADE)
            put(t, (e.ts_event, sym(e.instrument), dec(e.price), dec(e.size), _SIDE_CODES[e.aggressor]))
            t_ids.append(e.trade_id)
        elif isinstance(e, Bar):
            kinds.append(_BAR)
            put(
                b,
                (
                    e.ts_event,
                    sym(e.instrument),
                    dec(e.open),
                    dec(e.high),
                    dec(e.low),
                    dec(e.close),
                    dec(e.volume),
                    e.interval_ns,
                ),
            )
        else:
            raise TypeError(f"not a market event: {type(e).__name__}")
    chunk = _Chunk(
        kinds=bytes(kinds),
        decimals=list(decimals),
        symbols=list(symbols),
        quotes=_pack(_QUOTE_COLUMNS, q),
        trades=_pack(_TRADE_COLUMNS, t),
        trade_ids=t_ids,
        bars=_pack(_BAR_COLUMNS, b),
    )
    return _chunk_encoder.encode(chunk)


def _decode_chunk(chunk: _Chunk, count: int) -> list[MarketEvent]:
    """Build the events of one decoded chunk: the hot loop of the replay's fast path.

    Each distinct decimal string of the chunk becomes one shared ``Decimal`` (they are immutable),
    and each event is one struct construction from table lookups.
    """
    kinds = chunk.kinds
    n_quotes, n_trades, n_bars = kinds.count(_QUOTE), kinds.count(_TRADE), kinds.count(_BAR)
    if len(kinds) != count or n_quotes + n_trades + n_bars != count or len(chunk.trade_ids) != n_trades:
        raise ValueError("the chunk's columns do not match its event count")
    D = list(map(Decimal, chunk.decimals))
    S = chunk.symbols
    quotes: list[MarketEvent] = []
    trades: list[MarketEvent] = []
    bars: list[MarketEvent] = []
    if n_quotes:
        quotes = [
            QuoteTick(
                ts_event=ts,
                ts_init=ts,
                instrument=S[s],
                bid=D[bid],
                bid_size=D[bid_size],
                ask=D[ask],
                ask_size=D[ask_size],
            )
            for ts, s, bid, bid_size, ask, ask_size in zip(  # noqa: B905 - lengths checked
                *_unpack(_QUOTE_COLUMNS, chunk.quotes, n_quotes)
            )
        ]
        if n_quotes == count:
            return quotes
    if n_trades:
        sides = _SIDES_BY_CODE
        trades = [
            TradeTick(
                ts_event=ts,
                ts_init=ts,
                instrument=S[s],
                price=D[price],
                size=D[size],
                aggressor=sides[side],
                trade_id=trade_id,
            )
            for ts, s, price, size, side, trade_id in zip(  # noqa: B905 - lengths checked
                *_unpack(_TRADE_COLUMNS, chunk.trades, n_trades), chunk.trade_ids
            )
        ]
        if n_trades == count:
            return trades
    if n_bars:
        bars = [
            Bar(
                ts_event=ts,
                ts_init=ts,
                instrument=S[s],
                open=D[o],
                high=D[h],
                low=D[lo],
                close=D[c],
                volume=D[v],
                interval_ns=interval,
            )
            for ts, s, o, h, lo, c, v, interval in zip(  # noqa: B905 - lengths checked
                *_unpack(_BAR_COLUMNS, chunk.bars, n_bars)
            )
        ]
        if n_bars == count:
            return bars
    take = (iter(quotes).__next__, iter(trades).__next__, iter(bars).__next__)
    return [take[k]() for k in kinds]


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


def _file_sha256(path: str) -> tuple[str, int]:
    try:
        with open(path, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256")
            return digest.hexdigest(), fh.tell()
    except OSError as exc:
        raise DataError(f"cannot read the file: {_describe_exc(exc)}", code="VT500", file=path) from exc


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
    sources = [describe(p) for p in paths]
    if not sources:
        raise DataError("no data files to import", code="VT506", file=os.fspath(out_dir))
    keep = None if instruments is None else frozenset(str(parse_symbol(s)) for s in instruments)
    hashes = [_file_sha256(src.path) for src in sources]
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
        merge([taken(i, src) for i, src in enumerate(sources)]),
        out_dir,
        name=name,
        source=source,
        licence=licence,
        created_from=created_from,
        require=keep or frozenset(),
        chunk_size=chunk_size,
        compression=compression,
    )


def _manifest_error(path: Path, message: str) -> DataError:
    return DataError(message, code="VT509", file=str(path))


def read_manifest(fixture_dir: str | os.PathLike[str]) -> Manifest:
    """Read and check a fixture's ``manifest.json`` (VT509 when absent, malformed or inconsistent)."""
    path = Path(fixture_dir) / MANIFEST_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _manifest_error(path, f"not a fixture: {fixture_dir} has no {MANIFEST_NAME}") from None
    except OSError as exc:
        raise _manifest_error(path, f"cannot read the manifest: {exc}") from exc
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
        digest, size = _file_sha256(str(path))
    except DataError:
        raise _manifest_error(path, f"the fixture's {EVENTS_NAME} is missing or unreadable") from None
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
    total = chunks = 0
    decode = _chunk_decoder.decode
    frame_size = _FRAME.size
    with open(path, "rb") as fh:
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


# ── what the replay command uses ────────────────────────────────────────────────────────────────


class SourceInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Identity of one ``--data`` argument, for the run's provenance."""

    path: str
    format: Literal["csv", "fixture"]
    sha256: str
    """The CSV file's sha256, or a fixture's ``events.vtm`` sha256 as its manifest records it."""
    bytes: int


def describe_source(path: str | os.PathLike[str]) -> SourceInfo:
    """Identify a CSV data file (name checked, VT501) or a fixture directory (manifest checked, VT509)."""
    text = os.fspath(path)
    if Path(text).is_dir():
        m = read_manifest(text)
        return SourceInfo(path=text, format="fixture", sha256=m.events_sha256, bytes=m.events_bytes)
    describe(text)
    digest, size = _file_sha256(text)
    return SourceInfo(path=text, format="csv", sha256=digest, bytes=size)


def load_any(
    path_or_dir: str | os.PathLike[str], *, batch_size: int = DEFAULT_BATCH
) -> Iterator[list[MarketEvent]]:
    """Batches of events from a CSV data file or a fixture directory (a fixture keeps its chunks)."""
    if Path(path_or_dir).is_dir():
        return read_fixture_chunks(path_or_dir)
    return batched(read_events(path_or_dir), batch_size)


def sources_from_args(
    paths: Iterable[str | os.PathLike[str]], *, batch_size: int = DEFAULT_BATCH
) -> Iterator[list[MarketEvent]]:
    """The replay's input: every ``--data`` path merged into one time-ordered stream of batches.

    One path is read as it is (a fixture in its own chunks). Several are merged by
    ``(ts_event, argument order, row order)`` and cut into batches of ``batch_size``.
    """
    items = list(paths)
    if not items:
        raise DataError("no market data given", code="VT506")
    if len(items) == 1:
        return load_any(items[0], batch_size=batch_size)
    streams = [read_fixture(p) if Path(p).is_dir() else read_events(p) for p in items]
    return batched(merge(streams), batch_size)


def symbols_in(path: str | os.PathLike[str]) -> frozenset[str]:
    """The symbols a ``--data`` argument holds, read cheaply: a fixture's manifest, a tick or bar
    file's name, a wide panel's header; only a long daily panel is scanned (its symbol column).

    The replay checks its universe against this before it starts, so a leg or symbol with no data
    fails fast (VT510) instead of silently never trading.
    """
    text = os.fspath(path)
    if Path(text).is_dir():
        return frozenset(s.symbol for s in read_manifest(text).streams)
    src = describe(text)
    if src.kind == "dailyclose":
        return frozenset(_panel_symbols(src, _header(src)))
    if src.kind == "dailyohlcv":
        return frozenset(event.instrument for event in read_events(text))
    return frozenset({src.symbol})


def _header(src: DataSource) -> list[str]:
    with _open_text(src.path) as f:
        line = f.readline()
    return line.rstrip("\r\n").split(",")
