"""CSV reading: the normalised ``../shared/data`` files, validated row by row while streaming.

docs/data.md is the contract this module enforces.
"""

from __future__ import annotations

import csv
import gzip
import os
import zlib
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Final, Protocol

from daemon.data.cells import (
    _DATE,
    _DATE_RE,
    _DEC,
    _ESCAPED_RE,
    _ID,
    _SIDE,
    _SIDES,
    _SYM,
    _TS,
    _TS_FIRST,
    _TS_LAST,
    _TS_MAX,
    _backwards,
    _bad_row,
    _cell_reason,
    _check_header,
    _escaped,
    _is_dec,
    _is_ts_text,
    _show,
    _ts_error,
    _width_error,
)
from daemon.data.errors import DataError
from daemon.data.files import (
    DataSource,
    _open_text,
    _os_reason,
    describe,
)
from engines.errors import InvalidSymbolError
from engines.model.events import Bar, MarketEvent, QuoteTick, TradeTick
from engines.model.instruments import parse_symbol
from engines.units import NS_PER_DAY

# ── CSV reading ─────────────────────────────────────────────────────────────────────────────────

QUOTE_COLUMNS: Final = ("ts_ns", "bid", "bid_qty", "ask", "ask_qty")
TRADE_COLUMNS: Final = ("ts_ns", "price", "qty", "aggressor", "trade_id")
BAR_COLUMNS: Final = ("ts_ns", "open", "high", "low", "close", "volume")
OHLCV_COLUMNS: Final = ("date", "symbol", "open", "high", "low", "close", "volume")


_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_ZERO: Final = Decimal(0)
_READ_ERRORS: Final = (OSError, EOFError, zlib.error, UnicodeDecodeError, csv.Error)


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
                # _ts_cell inlined (half the rows of a quote stream start a new instant): ASCII digits,
                # at most 19 of them, within int64
                if not (ts_s.isdigit() and ts_s.isascii()) or len(ts_s) > 19:
                    raise _BadCell
                ts = int(ts_s)
                if ts > _TS_MAX:
                    raise _BadCell
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
        return (date.fromisoformat(text).toordinal() - _EPOCH_ORDINAL) * NS_PER_DAY
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
        close_ts = opened + NS_PER_DAY
        yield Bar(
            ts_event=close_ts,
            ts_init=close_ts,
            instrument=symbol,
            open=o,
            high=h,
            low=lo,
            close=c,
            volume=v,
            interval_ns=NS_PER_DAY,
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
        close_ts = opened + NS_PER_DAY
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
                interval_ns=NS_PER_DAY,
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


def _header(src: DataSource) -> list[str]:
    try:
        with _open_text(src.path) as f:
            line = f.readline()
    except _READ_ERRORS as exc:
        raise DataError(
            f"cannot read the file: {_describe_exc(exc)}", code="VT500", file=src.path, line=1
        ) from exc
    return line.rstrip("\r\n").split(",")
