"""How a CSV data error is told: the row, the cell, the reason and the hint (docs/data.md).

Every helper here builds a :class:`~daemon.data.errors.DataError` naming the file and the line, so a
user finds the bad row without reading the reader.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Final

from daemon.data.errors import DataError
from daemon.data.files import DataSource
from engines.errors import InvalidSymbolError
from engines.model.enums import Side
from engines.model.instruments import parse_symbol
from engines.units import NS_PER_SECOND

_TS = "ts"  # integer UTC epoch ns
_DEC = "decimal"  # finite non-negative decimal
_SIDE = "side"  # buy | sell
_ID = "id"  # non-empty string
_DATE = "date"  # YYYY-MM-DD
_SYM = "symbol"  # instrument of a long panel
_DEC_RE: Final = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TS_MAX: Final = (1 << 63) - 1  # ts_ns is an int64
_SIDES: Final = {"buy": Side.BUY, "sell": Side.SELL}
# The plausible range of ts_ns (inclusive): a time in seconds or milliseconds is decades before it.
_TS_FIRST: Final = 631_152_000 * NS_PER_SECOND  # 1990-01-01T00:00:00Z
_TS_LAST: Final = 4_102_444_800 * NS_PER_SECOND  # 2100-01-01T00:00:00Z
_TS_UNITS: Final = (("seconds", 10**9, "1e9"), ("milliseconds", 10**6, "1e6"), ("microseconds", 10**3, "1e3"))
# Bytes that are not UTF-8 decode to these lone surrogates (errors="surrogateescape"), so a bad
# byte reaches the row that holds it and is reported at its own line, not at the line the reader
# had reached when the decoder's read-ahead met it.
_ESCAPED_RE: Final = re.compile("[\udc80-\udcff]")
_is_dec = _DEC_RE.fullmatch


def _is_ts_text(text: str) -> bool:
    """ASCII digits within int64 (a 19-digit number can overflow it)."""
    if not (text.isdigit() and text.isascii()):
        return False
    return len(text) < 19 or (len(text) == 19 and int(text) <= _TS_MAX)


# ── CSV reading ─────────────────────────────────────────────────────────────────────────────────


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
