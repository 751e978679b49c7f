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
rules, the error codes VT500 to VT514 and the fixture format.

Every path is ``stat``-ed before it is opened and only regular files are read (VT514), so a FIFO
named like a data file cannot hang a replay. :func:`check_sources` (and :func:`sources_from_args`)
refuse the same data given twice (VT511) before any event is read; the merge refuses two sources
whose times overlap for one stream (VT512).
"""

from __future__ import annotations

import csv
import errno
import gzip
import hashlib
import io
import os
import re
import stat
import struct
import sys
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from heapq import heapify, heappop, heapreplace
from itertools import chain, islice, pairwise
from pathlib import Path
from typing import Final, Literal, NamedTuple, Protocol, TextIO

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
    "check_sources",
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
    "symbols_in",
    "write_fixture",
]

# ── errors ──────────────────────────────────────────────────────────────────────────────────────


class DataError(VibeError):
    """A data file or fixture breaks the data contract (codes VT500 to VT514, docs/data.md)."""

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


# ── opening files ───────────────────────────────────────────────────────────────────────────────


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if exc.strerror:
        name = errno.errorcode.get(exc.errno or 0)
        return f"{exc.strerror[0].lower()}{exc.strerror[1:]}" + (f" ({name})" if name else "")
    return str(exc) or type(exc).__name__


def _unreadable(path: str, exc: OSError, code: str = "VT500") -> DataError:
    return DataError(f"cannot read the file: {_os_reason(exc)}", code=code, file=path)


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return f"of file type {stat.S_IFMT(mode):#o}"


def _not_regular(path: str, mode: int) -> DataError:
    return DataError(
        f"not a regular file: it is {_file_kind(mode)}; data is read from regular files only",
        code="VT514",
        file=path,
    )


def _stat(path: str, code: str = "VT500") -> os.stat_result:
    """``os.stat`` (following links) with the OS error as a DataError naming the path."""
    try:
        return os.stat(path)
    except OSError as exc:
        raise _unreadable(path, exc, code) from exc


def _open_binary(path: str, code: str = "VT500") -> io.BufferedReader:
    """Open a data file for reading; anything but a regular file is VT514 and is never opened.

    Opening a FIFO waits for a writer, forever, hence the ``stat`` first. The open itself is
    non-blocking and checked again with ``fstat``, so a FIFO swapped in after the ``stat`` is
    refused too instead of hanging.
    """
    mode = _stat(path, code).st_mode
    if not stat.S_ISREG(mode):
        raise _not_regular(path, mode)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise _unreadable(path, exc, code) from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, mode)
        os.set_blocking(fd, True)
        return open(fd, "rb")
    except OSError as exc:
        os.close(fd)
        raise _unreadable(path, exc, code) from exc
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def _open_text(path: str) -> Iterator[TextIO]:
    """A data file as text: gunzipped when named ``.gz``, a BOM dropped, bad bytes kept as escapes."""
    with _open_binary(path) as raw:
        stream = raw
        if path.endswith(".gz"):
            stream = io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), buffer_size=1 << 16)
        with io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="") as text:
            yield text


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
# The plausible range of ts_ns (inclusive): a time in seconds or milliseconds is decades before it.
_TS_FIRST: Final = 631_152_000 * SECOND_NS  # 1990-01-01T00:00:00Z
_TS_LAST: Final = 4_102_444_800 * SECOND_NS  # 2100-01-01T00:00:00Z
_TS_UNITS: Final = (("seconds", 10**9, "1e9"), ("milliseconds", 10**6, "1e6"), ("microseconds", 10**3, "1e3"))
_READ_ERRORS: Final = (OSError, EOFError, zlib.error, UnicodeDecodeError, csv.Error)
# Bytes that are not UTF-8 decode to these lone surrogates (errors="surrogateescape"), so a bad
# byte reaches the row that holds it and is reported at its own line, not at the line the reader
# had reached when the decoder's read-ahead met it.
_ESCAPED_RE: Final = re.compile("[\udc80-\udcff]")

_is_dec = _DEC_RE.fullmatch


def _show(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _iso(ts_ns: int) -> str:
    """A UTC epoch-ns time as ISO 8601 for messages (any int64, also implausible ones)."""
    try:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ts_ns // 1000)
    except OverflowError:
        return "out of the calendar"
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _implausible(src: DataSource, line: int, ts: int, what: str = "ts_ns") -> DataError:
    side = "before 1990-01-01" if ts < _TS_FIRST else "after 2100-01-01"
    guess = ""
    for unit, scale, factor in _TS_UNITS:
        if _TS_FIRST <= ts * scale <= _TS_LAST:
            guess = f"; read as {unit} it is {_iso(ts * scale)}: multiply by {factor}"
            break
    return DataError(
        f"{what} {ts} ({_iso(ts)}) is {side}, not UTC epoch nanoseconds{guess}",
        code="VT513",
        file=src.path,
        line=line,
    )


def _ts_error(src: DataSource, line: int, ts: int, last: int, what: str = "ts_ns") -> DataError:
    """A row's ts_ns is below the previous one or above the plausible range: say which."""
    if _TS_FIRST <= ts <= _TS_LAST:
        return _backwards(src, line, what, ts, last)
    return _implausible(src, line, ts, what)


def _escaped(
    src: DataSource, line: int, columns: Sequence[str] | None, cells: Sequence[str]
) -> DataError | None:
    """VT500 at the exact line when a cell holds a byte that is not UTF-8, else None.

    ``line`` is the reader's line, the last of the row; a quoted cell may span lines, so the line
    breaks after the bad byte are counted back. ``columns`` None means the cells are the header.
    """
    for k, text in enumerate(cells):
        if text.isascii():
            continue
        bad = _ESCAPED_RE.search(text)
        if bad is None:
            continue
        rest = text[bad.start() :] + "".join(cells[k + 1 :])
        breaks = rest.count("\n") + rest.count("\r") - rest.count("\r\n")
        if columns is None:
            where = "in the header"
        elif k < len(columns):
            where = f"in column {columns[k]!r}"
        else:
            where = f"in cell {k + 1}"
        return DataError(
            f"not UTF-8 text: byte 0x{ord(bad.group()) - 0xDC00:02x} {where}",
            code="VT500",
            file=src.path,
            line=line - breaks,
        )
    return None


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
    """The error for the first cell of ``row`` that fails its check (a byte not UTF-8 first)."""
    escaped = _escaped(src, line, columns, row)
    if escaped is not None:
        return escaped
    for column, check, text in zip(columns, checks, row, strict=True):
        reason = _cell_reason(text, check)
        if reason is not None:
            return DataError(
                f"column {column!r}: {_show(text)} {reason}", code="VT504", file=src.path, line=line
            )
    raise AssertionError("no bad cell in a row reported as bad")  # pragma: no cover


def _width_error(src: DataSource, line: int, row: Sequence[str], expected: int) -> DataError:
    escaped = _escaped(src, line, (), row)
    if escaped is not None:
        return escaped
    cells = len(row)
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
    escaped = _escaped(src, 1, None, header)
    if escaped is not None:
        raise escaped
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
    last = _TS_FIRST  # the floor of the plausible range: one compare checks order and range
    last_s: str | None = None  # the previous row's ts_ns cell: ties skip the parse
    for row in reader:
        if len(row) != 5:
            raise _width_error(src, reader.line_num, row, 5)
        ts_s, bid_s, bid_qty_s, ask_s, ask_qty_s = row
        try:
            bid = cached(bid_s) or parse(bid_s)
            bid_qty = cached(bid_qty_s) or parse(bid_qty_s)
            ask = cached(ask_s) or parse(ask_s)
            ask_qty = cached(ask_qty_s) or parse(ask_qty_s)
            if ts_s != last_s:
                ts = _ts_cell(ts_s)
                if ts < last or ts > _TS_LAST:
                    raise _ts_error(src, reader.line_num, ts, last)
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
    last = _TS_FIRST
    last_s: str | None = None  # the previous row's ts_ns cell: ties skip the parse
    for row in reader:
        if len(row) != 5:
            raise _width_error(src, reader.line_num, row, 5)
        ts_s, price_s, qty_s, side_s, trade_id = row
        try:
            price = cached(price_s) or parse(price_s)
            qty = cached(qty_s) or parse(qty_s)
            side = sides[side_s]
            # the one free-text cell: the others' grammars already refuse an escaped bad byte
            if not trade_id or (not trade_id.isascii() and _ESCAPED_RE.search(trade_id)):
                raise _BadCell
            if ts_s != last_s:
                ts = _ts_cell(ts_s)
                if ts < last or ts > _TS_LAST:
                    raise _ts_error(src, reader.line_num, ts, last)
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
    last = _TS_FIRST
    for row in reader:
        if len(row) != 6:
            raise _width_error(src, reader.line_num, row, 6)
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
        if ts < last or ts > _TS_LAST:
            raise _ts_error(src, reader.line_num, ts, last, "ts_ns (bar open)")
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
            raise _width_error(src, reader.line_num, row, 7)
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
    escaped = _escaped(src, 1, None, header)
    if escaped is not None:
        raise escaped
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
            raise _width_error(src, reader.line_num, row, width)
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
    if isinstance(exc, gzip.BadGzipFile):
        return f"not a valid gzip file ({exc})"
    if isinstance(exc, EOFError):
        return f"the gzip stream is truncated ({exc})"
    if isinstance(exc, zlib.error):
        return f"the gzip stream is corrupt ({exc})"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    if isinstance(exc, OSError):
        return _os_reason(exc)
    return str(exc) or type(exc).__name__


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
                key = (e.instrument, "bars", DAY_NS)
                if keep is None or e.instrument in keep:
                    seen = ranges.get(key)
                    ranges[key] = (e.ts_event, e.ts_event) if seen is None else (seen[0], e.ts_event)
            return ranges

        return _Feed(src.path, events, {}, src.venue, scan)
    if src.kind == "dailyclose":
        symbols = kept(_panel_symbols(src, _header(src)))
        return _Feed(src.path, events, dict.fromkeys([(s, "bars", DAY_NS) for s in symbols]))
    key = (src.symbol, src.kind if src.kind in _TICK_KINDS else "bars", src.interval_ns)
    return _Feed(src.path, events, dict.fromkeys([key] if kept([src.symbol]) else []))


def _fixture_feed(path: str, manifest: Manifest) -> _Feed:
    streams: dict[_StreamKey, tuple[int, int] | None] = {
        (s.symbol, s.kind, s.interval_ns): (s.first_ts_ns, s.last_ts_ns) for s in manifest.streams
    }
    return _Feed(path, read_fixture(path), streams)


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
        key[0].partition(":")[0] for f in feeds for key in (f.streams or {}) if key[1:] == ("bars", DAY_NS)
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
            _input_feed(item) if isinstance(item, _Input) else _Feed(f"source {k + 1}", item, None)
            for k, item in enumerate(items)
        ]
    )


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


def _file_sha256(path: str, code: str = "VT500") -> tuple[str, int]:
    with _open_binary(path, code) as fh:
        try:
            digest = hashlib.file_digest(fh, "sha256")
        except OSError as exc:
            raise _unreadable(path, exc, code) from exc
        return digest.hexdigest(), fh.tell()


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


def _input_batches(inp: _Input, batch_size: int) -> Iterator[list[MarketEvent]]:
    if inp.manifest is not None:
        return read_fixture_chunks(inp.path)
    return batched(read_events(inp.path), batch_size)


def _input_feed(inp: _Input) -> _Feed:
    if inp.manifest is not None:
        return _fixture_feed(inp.path, inp.manifest)
    return _csv_feed(inp.csv(), read_events(inp.path))


def load_any(
    path_or_dir: str | os.PathLike[str], *, batch_size: int = DEFAULT_BATCH
) -> Iterator[list[MarketEvent]]:
    """Batches of events from a CSV data file or a fixture directory (a fixture keeps its chunks)."""
    return _input_batches(_inspect(os.fspath(path_or_dir)), batch_size)


def sources_from_args(
    paths: Iterable[str | os.PathLike[str]], *, batch_size: int = DEFAULT_BATCH
) -> Iterator[list[MarketEvent]]:
    """The replay's input: every ``--data`` path merged into one time-ordered stream of batches.

    The paths are checked like :func:`check_sources` does (VT511 and the rest) before anything is
    read. One path is read as it is (a fixture in its own chunks). Several are merged by
    ``(ts_event, argument order, row order)``, refusing sources that overlap in time for one stream
    (VT512), and cut into batches of ``batch_size``.
    """
    inputs = _inspect_all(paths)
    if len(inputs) == 1:
        return _input_batches(inputs[0], batch_size)
    return batched(_merge_feeds([_input_feed(inp) for inp in inputs]), batch_size)


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


def _header(src: DataSource) -> list[str]:
    try:
        with _open_text(src.path) as f:
            line = f.readline()
    except _READ_ERRORS as exc:
        raise DataError(
            f"cannot read the file: {_describe_exc(exc)}", code="VT500", file=src.path, line=1
        ) from exc
    return line.rstrip("\r\n").split(",")
