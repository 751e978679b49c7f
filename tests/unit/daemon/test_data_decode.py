"""The bulk CSV decode against the strict row reader and ``csv.reader``: same events, same errors.

``daemon.data.csvfiles`` reads a block of rows a column at a time and hands the block to the strict
row reader when any bulk check fails; ``daemon.data.lines`` splits plain text itself and leaves the
rest of a file with a quote or a carriage return to ``csv.reader``. These tests hold both shortcuts
to what they replace: random files, valid and broken in many ways, read with and without them.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon import data
from daemon.data import csvfiles, lines
from daemon.data.errors import DataError
from engines.model.events import MarketEvent

T0 = 1_723_161_257_000_000_000
DAY0 = date(2000, 1, 3)
HEADERS = {
    "sim_X_quotes_1": "ts_ns,bid,bid_qty,ask,ask_qty",
    "sim_X_trades_1": "ts_ns,price,qty,aggressor,trade_id",
    "sim_X_bars1m_1": "ts_ns,open,high,low,close,volume",
    "krx_X_dailyohlcv_1": "date,symbol,open,high,low,close,volume",
    "us_X_dailyclose_1": "date,A,B",
}
# what a mutation inserts: separators, line ends, quotes, bytes that are not UTF-8, look-alike digits
INSERTS = [",", "", '"', "\r", "\r\n", "\n", "x", "-", " ", "0", "9" * 20, "\udcff", "nan", "\ufeff", "00"]
INSERTS += ["\x00", "1e", ".", "\u0663", "1.2.3", "e5", "+1"]

CELLS = [*INSERTS, "0.01", "999999", "1e9", str(T0 - 1), str(T0 + 10**12), "2019-12-31", "sell", "B"]


def insert(draw: st.DrawFn, text: str) -> str:
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(st.sampled_from(INSERTS)) + text[at:]


def delete(draw: st.DrawFn, text: str) -> str:
    at = draw(st.integers(0, len(text)))
    return text[:at] + text[at + draw(st.integers(1, 3)) :]


def move_comma(draw: st.DrawFn, text: str) -> str:
    """One row a cell short and another a cell long: the cell count of the block stays right."""
    commas = [k for k, c in enumerate(text) if c == ","]
    if not commas:
        return text
    at = draw(st.sampled_from(commas))
    text = text[:at] + text[at + 1 :]
    to = draw(st.integers(0, len(text)))
    return text[:to] + "," + text[to:]


def swap_lines(draw: st.DrawFn, text: str) -> str:
    rows = text.split("\n")
    a, b = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(rows) - 1))
    rows[a], rows[b] = rows[b], rows[a]
    return "\n".join(rows)


def replace_cell(draw: st.DrawFn, text: str) -> str:
    """One cell of one row replaced: a crossed quote, a bar out of its range, a time out of order..."""
    rows = text.split("\n")
    k = draw(st.integers(0, len(rows) - 1))
    cells = rows[k].split(",")
    cells[draw(st.integers(0, len(cells) - 1))] = draw(st.sampled_from(CELLS))
    rows[k] = ",".join(cells)
    return "\n".join(rows)


EDITS = [insert, delete, move_comma, swap_lines, replace_cell]
Outcome = tuple[list[MarketEvent], tuple[str, str, int | None, str | None] | None]


def valid_rows(draw: st.DrawFn, name: str, n: int) -> list[str]:
    pick = draw
    rows: list[str] = []
    ts = T0
    for k in range(n):
        if name.endswith("quotes_1"):
            ts += pick(st.sampled_from([0, 0, 1, 1000]))
            bid = pick(st.sampled_from(["100.0", "100.5", "101", "99.25", "0.1", "1e2", "7.", ".5"]))
            ask = pick(st.sampled_from(["101.0", "102", "101.50", "1.5E2"]))
            rows.append(f"{ts},{bid},{pick(st.sampled_from(['1', '2.5', '0.001']))},{ask},1")
        elif name.endswith("trades_1"):
            ts += pick(st.sampled_from([0, 1, 1000]))
            side = pick(st.sampled_from(["buy", "sell"]))
            rows.append(f"{ts},{pick(st.sampled_from(['100.0', '101', '99.5']))},0.2,{side},id{k}")
        elif name.endswith("bars1m_1"):
            ts += 60 * 10**9
            lo, hi = pick(st.sampled_from([90, 95])), pick(st.sampled_from([105, 110]))
            rows.append(f"{ts},{pick(st.integers(lo, hi))},{hi},{lo},{pick(st.integers(lo, hi - 1))}.5,{k}")
        elif name.endswith("dailyohlcv_1"):
            day = DAY0 + timedelta(days=k // 3)
            rows.append(f"{day.isoformat()},{pick(st.sampled_from(['A', 'B']))},1,2,1,2,{k}")
        else:
            day = DAY0 + timedelta(days=k)
            rows.append(f"{day.isoformat()},{pick(st.sampled_from(['1', '2.5']))},3")
    return rows


@st.composite
def files(draw: st.DrawFn, *, broken: bool) -> tuple[str, str]:
    """A data file's name and text: rows of its kind, then (``broken``) a few random edits."""
    name = draw(st.sampled_from(sorted(HEADERS)))
    n = draw(st.sampled_from([1, 2, 7, 40, 3000]))
    text = HEADERS[name] + "\n" + "\n".join(valid_rows(draw, name, n)) + draw(st.sampled_from(["\n", ""]))
    if broken:
        for _ in range(draw(st.integers(1, 3))):
            text = draw(st.sampled_from(EDITS))(draw, text)
    return name, text


def write(tmp_path: Path, name: str, text: str, compress: bool) -> Path:
    raw = text.encode("utf-8", "surrogateescape")
    path = tmp_path / (name + (".csv.gz" if compress else ".csv"))
    path.write_bytes(gzip.compress(raw, mtime=0) if compress else raw)
    return path


def outcome(path: Path) -> Outcome:
    """The events read before the end or the error, and the error's code, message, line and file."""
    seen: list[MarketEvent] = []
    try:
        seen.extend(data.read_events(path))
    except DataError as exc:
        return seen, (exc.code, exc.message, exc.line, exc.file)
    return seen, None


def strict_outcome(path: Path, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    with monkeypatch.context() as m:
        for kind in (csvfiles._Reader, *csvfiles._Reader.__subclasses__()):
            m.setattr(kind, "bulk", lambda self, block, out: False)
        return outcome(path)


SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(file=files(broken=False), compress=st.booleans())
def test_bulk_and_strict_read_valid_files_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file: tuple[str, str], compress: bool
) -> None:
    path = write(tmp_path, *file, compress)
    bulk = outcome(path)
    assert bulk[1] is None, bulk[1]
    assert bulk == strict_outcome(path, monkeypatch)


@SETTINGS
@given(file=files(broken=True), compress=st.booleans())
def test_bulk_and_strict_refuse_broken_files_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file: tuple[str, str], compress: bool
) -> None:
    """Every error the strict reader raises comes from the bulk read too: code, message, line, and
    the events of the rows before it."""
    path = write(tmp_path, *file, compress)
    assert outcome(path) == strict_outcome(path, monkeypatch)


def csv_rows(text: str) -> list[tuple[list[str], int]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    return [(row, reader.line_num) for row in reader]


def split_rows(
    text: str, block_chars: int, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[list[str], int]]:
    with monkeypatch.context() as m:
        m.setattr(lines, "BLOCK_CHARS", block_chars)
        reader = lines.LineReader(io.StringIO(text, newline=""))
        for block in reader.blocks():
            yield from block.pairs()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(alphabet=st.sampled_from(list('ab,\n\r" \ufeff\x00')), max_size=120),
    block_chars=st.sampled_from([1, 2, 3, 7, 64]),
)
def test_line_blocks_give_the_rows_and_lines_of_csv_reader(
    monkeypatch: pytest.MonkeyPatch, text: str, block_chars: int
) -> None:
    """Bulk splitting where no quote or carriage return is in sight, ``csv.reader`` on the physical
    lines after one: rows and line numbers as ``csv.reader`` gives them for the whole text."""
    assert list(split_rows(text, block_chars, monkeypatch)) == csv_rows(text)


def test_a_line_over_the_field_limit_is_left_to_csv_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    long = "x" * 200
    text = f"a,b\n1,{long}\n"
    limit = csv.field_size_limit(100)
    try:
        with pytest.raises(csv.Error, match="field larger than field limit"):
            list(split_rows(text, 16, monkeypatch))
    finally:
        csv.field_size_limit(limit)


def test_a_quoted_cell_over_two_lines_keeps_its_line_numbers(tmp_path: Path) -> None:
    rows = [f"{T0 + k},1,1,buy,id{k}" for k in range(5000)]
    rows[4000] = f'{T0 + 4000},1,1,buy,"two\nlines"'
    rows[4500] = f"{T0 + 4500},1,1,hold,x"
    path = write(tmp_path, "sim_X_trades_1", "ts_ns,price,qty,aggressor,trade_id\n" + "\n".join(rows), True)
    seen, error = outcome(path)
    assert error is not None and error[0] == "VT504" and error[2] == 4503  # header, 4500 rows, 1 break
    assert len(seen) == 4500
    assert seen[4000].trade_id == "two\nlines"  # type: ignore[union-attr]


def test_a_timestamp_with_leading_zeros_is_read_by_the_strict_reader(tmp_path: Path) -> None:
    """JSON refuses a leading zero; the contract does not (19 digits at most): the block is read row
    by row and gives the same events."""
    first = 900_000_000_000_000_000  # 1998: 18 digits, so a leading zero still fits in 19
    rows = [f"{first + k},1,1,2,1" for k in range(100)] + [f"0{first + 100},1,1,2,1"]
    path = write(tmp_path, "sim_X_quotes_1", HEADERS["sim_X_quotes_1"] + "\n" + "\n".join(rows), False)
    seen, error = outcome(path)
    assert error is None
    assert [e.ts_event for e in seen] == [first + k for k in range(101)]


def test_decimals_are_checked_whatever_the_context_traps(tmp_path: Path) -> None:
    """With InvalidOperation not trapped, Decimal("1.2.3") is NaN: the bulk check must not take it."""
    import decimal

    text = HEADERS["sim_X_bars1m_1"] + f"\n{T0},1,2,1,2,1\n{T0 + 60 * 10**9},1,2,1,2,1.2.3\n"
    path = write(tmp_path, "sim_X_bars1m_1", text, False)
    with decimal.localcontext() as ctx:
        ctx.traps[decimal.InvalidOperation] = False
        seen, error = outcome(path)
    assert error is not None and (error[0], error[2]) == ("VT504", 3)
    assert "'volume'" in error[1] and len(seen) == 1


def plain_rows(name: str, n: int) -> list[str]:
    """``n`` valid rows of a tick, bar or wide panel file, times rising (ticks with ties)."""
    rows = []
    for k in range(n):
        ts = T0 + (k // 2) * 1000
        if name.endswith("quotes_1"):
            rows.append(f"{ts},{100 + k % 3}.5,{k % 7 + 1},{103 + k % 2},0.{k % 10}")
        elif name.endswith("trades_1"):
            rows.append(f"{ts},{100 + k % 3}.5,{k % 7 + 1},{('buy', 'sell')[k % 2]},id{k}")
        elif name.endswith("dailyclose_1"):
            rows.append(f"{(DAY0 + timedelta(days=k)).isoformat()},{k % 3}.5,{k}")
        else:
            rows.append(f"{T0 + k * 60 * 10**9},{100 + k % 3},110,90,{101 + k % 5}.25,{k}")
    return rows


# (file, column, cell): one row's cell replaced; column None replaces the whole row
VIOLATIONS = [
    ("sim_X_quotes_1", 3, "0.01"),  # crossed
    ("sim_X_quotes_1", 1, "1e9"),  # crossed, in exponent form
    ("sim_X_quotes_1", 0, "1"),  # implausible time
    ("sim_X_quotes_1", 0, str(T0 - 10**9)),  # backwards
    ("sim_X_quotes_1", 0, "9" * 20),
    ("sim_X_quotes_1", 0, "0" + str(T0)[:18]),  # leading zero, 19 digits, but backwards
    ("sim_X_quotes_1", 0, ""),
    ("sim_X_quotes_1", 0, "\u0663"),
    ("sim_X_quotes_1", 2, "1.2.3"),
    ("sim_X_quotes_1", 2, "-1"),
    ("sim_X_quotes_1", 2, "nan"),
    ("sim_X_quotes_1", 2, " 1"),
    ("sim_X_quotes_1", 4, "1e"),
    ("sim_X_quotes_1", 4, "7\udcff"),
    ("sim_X_quotes_1", 2, "1,5"),  # a cell too many
    ("sim_X_quotes_1", None, ""),  # a blank line
    ("sim_X_quotes_1", None, f"{T0 + 10**12},1,1,2"),  # a cell short
    ("sim_X_trades_1", 3, "hold"),
    ("sim_X_trades_1", 4, ""),
    ("sim_X_trades_1", 4, "id\u00e9"),  # valid: a trade id is free text
    ("sim_X_trades_1", 4, "id\udcff"),
    ("sim_X_trades_1", 1, "1.2.3"),
    ("sim_X_trades_1", 0, str(T0 - 10**9)),
    ("sim_X_bars1m_1", 2, "95"),  # high below open or close
    ("sim_X_bars1m_1", 3, "101"),  # low above open
    ("sim_X_bars1m_1", 4, "200"),  # close above high
    ("sim_X_bars1m_1", 5, "-1"),
    ("sim_X_bars1m_1", 0, str(T0)),  # the first bar's open again: backwards
    ("sim_X_bars1m_1", 1, "100."),  # valid: a point and no digits after it
    ("us_X_dailyclose_1", 0, "2020-13-01"),
    ("us_X_dailyclose_1", 0, DAY0.isoformat()),  # backwards but on the first two rows
    ("us_X_dailyclose_1", 0, "20000103"),
    ("us_X_dailyclose_1", 1, "-1"),
    ("us_X_dailyclose_1", 2, ""),
    ("us_X_dailyclose_1", None, "2099-01-01,1"),
]


@pytest.mark.parametrize("row", [0, 1, 1337, 2999])
@pytest.mark.parametrize(("name", "column", "cell"), VIOLATIONS)
def test_one_bad_cell_is_refused_alike_wherever_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, name: str, column: int | None, cell: str, row: int
) -> None:
    """Each check of the bulk path against the strict reader, at the first row of a block, inside one
    and at the end of the file (3,000 rows span several blocks)."""
    rows = plain_rows(name, 3000)
    if column is None:
        rows[row] = cell
    else:
        cells = rows[row].split(",")
        cells[column] = cell
        rows[row] = ",".join(cells)
    path = write(tmp_path, name, HEADERS[name] + "\n" + "\n".join(rows) + "\n", row % 2 == 0)
    assert outcome(path) == strict_outcome(path, monkeypatch)
