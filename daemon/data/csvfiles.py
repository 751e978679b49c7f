"""CSV reading: the normalised ``../shared/data`` files, validated row by row while streaming.

docs/data.md is the contract this module enforces.

Rows come in blocks of about 64 KiB (:mod:`daemon.data.lines`). A tick, bar or wide-panel block is
first checked and built a column at a time: one split of the block into cells, the timestamps checked
by one ``isdigit``, parsed by one JSON decode and ordered by one ``sorted``, each distinct decimal
string parsed once, the structs built in one comprehension. When any of those checks fails the block
is read again row by row by the strict reader, which yields the good rows before the bad one and
raises the error the file always had, at its line. The bulk checks accept a block only if the strict
reader would accept every row of it and build the same events, so they change the speed, never the
outcome.
"""

from __future__ import annotations

import abc
import csv
import gzip
import os
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator
from datetime import date
from decimal import Context, Decimal, InvalidOperation
from itertools import chain, repeat
from operator import gt
from typing import Final

import msgspec

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
from daemon.data.lines import Block, LineReader
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
# Decimal(text, context) reports a malformed string through that context, not the thread's (which
# may not trap it and return NaN); the value is exact whatever the context's precision.
_STRICT: Final = Context(traps=[InvalidOperation])
_Rows = Iterable[tuple[list[str], int]]
"""``(row, line)`` pairs: the cells of a row and the physical line it ends on."""


class _BadCell(Exception):
    """A cell failed its check; the row reader turns it into the VT504 naming the first bad cell."""


class _Decimals:
    """Decimal cells parsed once per distinct string, checked before they are cached.

    Prices repeat row after row (the same bid for many quotes); a ``Decimal`` is immutable, so
    rows share one object per distinct string and a repeated cell costs one dict lookup. Only
    strings that passed the decimal check are ever cached.
    """

    __slots__ = ("cache",)

    def __init__(self) -> None:
        self.cache: dict[str, Decimal] = {}

    def parse(self, text: str) -> Decimal:
        """One cell: raises :class:`_BadCell` for a cell that is not a plain finite non-negative decimal."""
        if _is_dec(text) is None:
            raise _BadCell
        cache = self.cache
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        value = cache[text] = Decimal(text)
        return value

    def column(self, cells: list[str]) -> list[Decimal] | None:
        """A whole column's values, or None when a cell fails its check (the strict reader says which)."""
        cache = self.cache
        try:
            return list(map(cache.__getitem__, cells))
        except KeyError:
            pass  # a string not seen yet (a membership test would compare Decimals with None: slow)
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        new = list(set(cells).difference(cache))
        # Strings of ASCII digits and points are plain decimals exactly when Decimal() takes them
        # (one point at most, a digit at least): one isdigit for all, then no regex per string.
        digits = "".join(new).replace(".", "")
        try:
            if not (digits.isdigit() and digits.isascii()):
                raise ArithmeticError
            cache.update(zip(new, map(Decimal, new, repeat(_STRICT)), strict=True))
        except ArithmeticError:
            for text in new:
                if _is_dec(text) is None:
                    return None
                cache[text] = Decimal(text)
        return list(map(cache.__getitem__, cells))


def _ts_cell(text: str) -> int:
    if not _is_ts_text(text):
        raise _BadCell
    return int(text)


_INTS: Final = msgspec.json.Decoder(list[int])


def _columns(block: Block, width: int, last: int) -> tuple[list[str], list[int]] | None:
    """Every cell of a bulk block, row after row, and its ts_ns column as ints, when each line has
    ``width`` cells and every ts_ns is plausible and none below ``last`` or the one before it.

    Each line break becomes ``,\\n``, so one split yields every cell and the line breaks sit at the
    start of cells. The rows are whole exactly when the ts_ns cells (every ``width``-th) hold all
    of them: one per cell after the first (a cell cannot start with two). The ts_ns cells are then
    ASCII digits (one ``isdigit`` over the column) parsed by one JSON decode, sorted, and the last at
    most the range's end (so also within int64). Else None: the strict reader reads the block.
    """
    text, lines = block.text, block.count
    if text is None:
        return None
    cells = text.replace("\n", ",\n").split(",")
    if len(cells) != width * lines:
        return None
    ts_cells = cells[0::width]
    joined = "".join(ts_cells)
    digits = joined.replace("\n", "")
    if len(joined) - len(digits) != lines - 1 or not (digits.isdigit() and digits.isascii()):
        return None
    try:
        # JSON numbers are ASCII digits without leading zeros: a cell of more than 19 digits either
        # fails here or is above the range's end below; an empty cell fails here
        stamps = _INTS.decode(f"[{','.join(ts_cells)}]")
    except msgspec.DecodeError:
        return None
    if stamps[0] < last or stamps[-1] > _TS_LAST or stamps != sorted(stamps):
        return None
    return cells, stamps


class _Reader(abc.ABC):
    """One kind of file: its header, a bulk path for a block (optional) and the strict row reader."""

    columns: tuple[str, ...] = ()

    def __init__(self, src: DataSource, header: list[str]) -> None:
        _check_header(src, header, self.columns)
        self.src = src
        self.decimals = _Decimals()

    def bulk(self, block: Block, out: list[MarketEvent]) -> bool:
        """Append the block's events to ``out`` when every row passes the bulk checks; else False and
        ``out`` untouched, nothing of the reader's state changed."""
        return False

    @abc.abstractmethod
    def rows(self, rows: _Rows, out: list[MarketEvent]) -> None:
        """The strict reader: append each row's event to ``out``, raise at the first bad row."""


class _Quotes(_Reader):
    columns = QUOTE_COLUMNS

    def __init__(self, src: DataSource, header: list[str]) -> None:
        super().__init__(src, header)
        self.last = _TS_FIRST  # the floor of the plausible range: one compare checks order and range
        self.last_s: str | None = None  # the previous row's ts_ns cell: ties skip the parse

    def bulk(self, block: Block, out: list[MarketEvent]) -> bool:
        columns = _columns(block, 5, self.last)
        if columns is None:
            return False
        cells, stamps = columns
        column = self.decimals.column
        bids, bid_sizes, asks, ask_sizes = (column(cells[k::5]) for k in range(1, 5))
        if bids is None or bid_sizes is None or asks is None or ask_sizes is None:
            return False
        if any(map(gt, bids, asks)):
            return False
        instrument = self.src.symbol
        out += [
            QuoteTick(
                ts_event=ts,
                ts_init=ts,
                instrument=instrument,
                bid=bid,
                bid_size=bid_size,
                ask=ask,
                ask_size=ask_size,
            )
            for ts, bid, bid_size, ask, ask_size in zip(stamps, bids, bid_sizes, asks, ask_sizes)  # noqa: B905 - one length
        ]
        self.last, self.last_s = stamps[-1], cells[-5].lstrip("\n")
        return True

    def rows(self, rows: _Rows, out: list[MarketEvent]) -> None:
        src = self.src
        checks = (_TS, _DEC, _DEC, _DEC, _DEC)
        instrument = src.symbol
        cache = self.decimals.cache
        cached, parse = cache.get, self.decimals.parse
        last, last_s = self.last, self.last_s
        append = out.append
        try:
            for row, line in rows:
                if len(row) != 5:
                    raise _width_error(src, line, row, 5)
                ts_s, bid_s, bid_qty_s, ask_s, ask_qty_s = row
                try:
                    bid = cached(bid_s) or parse(bid_s)
                    bid_qty = cached(bid_qty_s) or parse(bid_qty_s)
                    ask = cached(ask_s) or parse(ask_s)
                    ask_qty = cached(ask_qty_s) or parse(ask_qty_s)
                    if ts_s != last_s:
                        # _ts_cell inlined (half the rows of a quote stream start a new instant): ASCII
                        # digits, at most 19 of them, within int64
                        if not (ts_s.isdigit() and ts_s.isascii()) or len(ts_s) > 19:
                            raise _BadCell
                        ts = int(ts_s)
                        if ts > _TS_MAX:
                            raise _BadCell
                        if ts < last or ts > _TS_LAST:
                            raise _ts_error(src, line, ts, last)
                        last, last_s = ts, ts_s
                except _BadCell:
                    raise _bad_row(src, line, QUOTE_COLUMNS, checks, row) from None
                if bid > ask:
                    raise DataError(
                        f"crossed quote: bid {bid_s} > ask {ask_s}", code="VT507", file=src.path, line=line
                    )
                append(
                    QuoteTick(
                        ts_event=last,
                        ts_init=last,
                        instrument=instrument,
                        bid=bid,
                        bid_size=bid_qty,
                        ask=ask,
                        ask_size=ask_qty,
                    )
                )
        finally:
            self.last, self.last_s = last, last_s


class _Trades(_Reader):
    columns = TRADE_COLUMNS

    def __init__(self, src: DataSource, header: list[str]) -> None:
        super().__init__(src, header)
        self.last = _TS_FIRST
        self.last_s: str | None = None  # the previous row's ts_ns cell: ties skip the parse

    def bulk(self, block: Block, out: list[MarketEvent]) -> bool:
        columns = _columns(block, 5, self.last)
        if columns is None:
            return False
        cells, stamps = columns
        column = self.decimals.column
        prices, sizes = column(cells[1::5]), column(cells[2::5])
        if prices is None or sizes is None:
            return False
        side_cells = cells[3::5]
        if not _SIDES.keys() >= set(side_cells):
            return False
        sides = list(map(_SIDES.__getitem__, side_cells))
        ids = cells[4::5]
        # ASCII ids hold no escaped bad byte; any other is left to the strict reader
        if min(map(len, ids)) == 0 or not "".join(ids).isascii():
            return False
        instrument = self.src.symbol
        out += [
            TradeTick(
                ts_event=ts,
                ts_init=ts,
                instrument=instrument,
                price=price,
                size=size,
                aggressor=side,
                trade_id=trade_id,
            )
            for ts, price, size, side, trade_id in zip(stamps, prices, sizes, sides, ids)  # noqa: B905 - one length
        ]
        self.last, self.last_s = stamps[-1], cells[-5].lstrip("\n")
        return True

    def rows(self, rows: _Rows, out: list[MarketEvent]) -> None:
        src = self.src
        checks = (_TS, _DEC, _DEC, _SIDE, _ID)
        instrument = src.symbol
        sides = _SIDES
        cached, parse = self.decimals.cache.get, self.decimals.parse
        last, last_s = self.last, self.last_s
        append = out.append
        try:
            for row, line in rows:
                if len(row) != 5:
                    raise _width_error(src, line, row, 5)
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
                            raise _ts_error(src, line, ts, last)
                        last, last_s = ts, ts_s
                except (_BadCell, KeyError):
                    raise _bad_row(src, line, TRADE_COLUMNS, checks, row) from None
                append(
                    TradeTick(
                        ts_event=last,
                        ts_init=last,
                        instrument=instrument,
                        price=price,
                        size=qty,
                        aggressor=side,
                        trade_id=trade_id,
                    )
                )
        finally:
            self.last, self.last_s = last, last_s


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


class _Bars(_Reader):
    columns = BAR_COLUMNS

    def __init__(self, src: DataSource, header: list[str]) -> None:
        super().__init__(src, header)
        self.last = _TS_FIRST

    def bulk(self, block: Block, out: list[MarketEvent]) -> bool:
        columns = _columns(block, 6, self.last)
        if columns is None:
            return False
        cells, stamps = columns
        column = self.decimals.column
        opens, highs, lows, closes, volumes = (column(cells[k::6]) for k in range(1, 6))
        if opens is None or highs is None or lows is None or closes is None or volumes is None:
            return False
        # low <= open, close <= high on every row
        if any(map(gt, lows, opens)) or any(map(gt, opens, highs)):
            return False
        if any(map(gt, lows, closes)) or any(map(gt, closes, highs)):
            return False
        instrument = self.src.symbol
        interval = self.src.interval_ns
        out += [
            Bar(
                ts_event=ts + interval,
                ts_init=ts + interval,
                instrument=instrument,
                open=o,
                high=h,
                low=lo,
                close=c,
                volume=v,
                interval_ns=interval,
            )
            for ts, o, h, lo, c, v in zip(stamps, opens, highs, lows, closes, volumes)  # noqa: B905 - one length
        ]
        self.last = stamps[-1]
        return True

    def rows(self, rows: _Rows, out: list[MarketEvent]) -> None:
        src = self.src
        checks = (_TS, _DEC, _DEC, _DEC, _DEC, _DEC)
        instrument = src.symbol
        interval = src.interval_ns
        cached, parse = self.decimals.cache.get, self.decimals.parse
        last = self.last
        append = out.append
        try:
            for row, line in rows:
                if len(row) != 6:
                    raise _width_error(src, line, row, 6)
                ts_s, o_s, h_s, l_s, c_s, v_s = row
                try:
                    o = cached(o_s) or parse(o_s)
                    h = cached(h_s) or parse(h_s)
                    lo = cached(l_s) or parse(l_s)
                    c = cached(c_s) or parse(c_s)
                    v = cached(v_s) or parse(v_s)
                    ts = _ts_cell(ts_s)
                except _BadCell:
                    raise _bad_row(src, line, BAR_COLUMNS, checks, row) from None
                if ts < last or ts > _TS_LAST:
                    raise _ts_error(src, line, ts, last, "ts_ns (bar open)")
                last = ts
                if not (lo <= o <= h and lo <= c <= h):
                    raise _bar_error(src, line, (o, h, lo, c))
                close_ts = ts + interval
                append(
                    Bar(
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
                )
        finally:
            self.last = last


def _day_cell(text: str) -> int:
    """UTC epoch ns of 00:00 UTC on an ISO date ``YYYY-MM-DD``."""
    if _DATE_RE.fullmatch(text) is None:
        raise _BadCell
    try:
        return (date.fromisoformat(text).toordinal() - _EPOCH_ORDINAL) * NS_PER_DAY
    except ValueError:
        raise _BadCell from None


class _DailyOhlcv(_Reader):
    columns = OHLCV_COLUMNS

    def __init__(self, src: DataSource, header: list[str]) -> None:
        super().__init__(src, header)
        self.symbols: dict[str, str] = {}
        self.last_day: str | None = None
        self.opened = 0

    def rows(self, rows: _Rows, out: list[MarketEvent]) -> None:
        src = self.src
        checks = (_DATE, _SYM, _DEC, _DEC, _DEC, _DEC, _DEC)
        cached, parse = self.decimals.cache.get, self.decimals.parse
        symbols = self.symbols
        last_day, opened = self.last_day, self.opened
        append = out.append
        try:
            for row, line in rows:
                if len(row) != 7:
                    raise _width_error(src, line, row, 7)
                d_s, sym_s, o_s, h_s, l_s, c_s, v_s = row
                try:
                    if d_s != last_day:
                        day = _day_cell(d_s)
                        if last_day is not None and day < opened:
                            raise _backwards(src, line, "date", d_s, last_day)
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
                    raise _bad_row(src, line, OHLCV_COLUMNS, checks, row) from None
                if not (lo <= o <= h and lo <= c <= h):
                    raise _bar_error(src, line, (o, h, lo, c), f"bar of {sym_s}")
                close_ts = opened + NS_PER_DAY
                append(
                    Bar(
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
                )
        finally:
            self.last_day, self.opened = last_day, opened


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


class _DailyClose(_Reader):
    def __init__(self, src: DataSource, header: list[str]) -> None:
        self.src = src
        self.decimals = _Decimals()
        self.header = header
        self.symbols = _panel_symbols(src, header)
        self.last_day: str | None = None
        self.opened = 0

    def bulk(self, block: Block, out: list[MarketEvent]) -> bool:
        text, lines = block.text, block.count
        width = len(self.header)
        if text is None:
            return False
        cells = text.replace("\n", ",\n").split(",")
        if len(cells) != width * lines:
            return False
        dates = cells[0::width]
        if "".join(dates).count("\n") != lines - 1:  # whole rows: see _columns
            return False
        dates = [d.lstrip("\n") for d in dates]
        try:
            days = [_day_cell(d) for d in dates]
        except _BadCell:
            return False
        if (self.last_day is not None and days[0] < self.opened) or days != sorted(days):
            return False
        column = self.decimals.column
        values = [column(cells[k::width]) for k in range(1, width)]
        if None in values:
            return False
        symbols, zero, day = self.symbols, _ZERO, NS_PER_DAY
        out += [
            Bar(
                ts_event=opened + day,
                ts_init=opened + day,
                instrument=symbol,
                open=value,
                high=value,
                low=value,
                close=value,
                volume=zero,
                interval_ns=day,
            )
            for opened, row in zip(days, zip(*values))  # noqa: B905 - one length
            for symbol, value in zip(symbols, row)  # noqa: B905 - one length
        ]
        self.opened, self.last_day = days[-1], dates[-1]
        return True

    def rows(self, rows: _Rows, out: list[MarketEvent]) -> None:
        src, header, symbols = self.src, self.header, self.symbols
        width = len(header)
        checks = (_DATE, *([_DEC] * len(symbols)))
        cached, parse = self.decimals.cache.get, self.decimals.parse
        zero = _ZERO
        last_day, opened = self.last_day, self.opened
        append = out.append
        try:
            for row, line in rows:
                if len(row) != width:
                    raise _width_error(src, line, row, width)
                d_s = row[0]
                try:
                    day = _day_cell(d_s)
                    values = [cached(text) or parse(text) for text in row[1:]]
                except _BadCell:
                    raise _bad_row(src, line, header, checks, row) from None
                if last_day is not None and day < opened:
                    raise _backwards(src, line, "date", d_s, last_day)
                opened, last_day = day, d_s
                close_ts = opened + NS_PER_DAY
                for symbol, value in zip(symbols, values, strict=True):
                    append(
                        Bar(
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
                    )
        finally:
            self.last_day, self.opened = last_day, opened


def _reader_kind(src: DataSource) -> Callable[[DataSource, list[str]], _Reader]:
    if src.kind == "quotes":
        return _Quotes
    if src.kind == "trades":
        return _Trades
    if src.kind == "dailyohlcv":
        return _DailyOhlcv
    if src.kind == "dailyclose":
        return _DailyClose
    return _Bars


def read_events(path: str | os.PathLike[str]) -> Iterator[MarketEvent]:
    """Stream one CSV data file as events, in file order, validating every row as it goes.

    The name is checked now (VT501); the contents while iterating (VT500 and VT502 to VT508), so
    an error can come after some events were yielded: every event of the rows before the bad one.
    """
    src = describe(path)
    return _events(_event_blocks(src, _reader_kind(src)))


def _events(blocks: Generator[list[MarketEvent], None, None]) -> Iterator[MarketEvent]:
    # a generator (not itertools.chain): closing it closes the file at once
    try:
        for block in blocks:
            yield from block
    finally:
        blocks.close()


def _event_blocks(
    src: DataSource, kind: Callable[[DataSource, list[str]], _Reader]
) -> Generator[list[MarketEvent], None, None]:
    """The events of one file a block at a time; at an error, first the events of the rows before it."""
    lines: LineReader | None = None
    try:
        with _open_text(src.path) as fh:
            lines = LineReader(fh)
            blocks = lines.blocks()
            block = next(blocks, None)
            if block is None:
                raise DataError("the file is empty: no header, no rows", code="VT506", file=src.path, line=1)
            header, header_line = next(block.pairs())
            reader = kind(src, header)
            empty = True
            for rows in chain((block.drop_first(),), blocks):
                if not len(rows):
                    continue
                empty = False
                out: list[MarketEvent] = []
                if not reader.bulk(rows, out):
                    try:
                        reader.rows(rows.pairs(), out)
                    except DataError:
                        if out:
                            yield out
                        raise
                yield out
            if empty:
                raise DataError(
                    "the file has a header but no data rows", code="VT506", file=src.path, line=header_line
                )
    except _READ_ERRORS as exc:
        line = None if lines is None else lines.line_num + 1
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
