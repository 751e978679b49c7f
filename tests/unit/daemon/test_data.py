"""Market data files to events: the real shared files, the data contract's errors, merge order and
the binary fixture (round trip and tamper detection).

The shared files are read from ../shared/data beside the repository (never copied into it); those
tests skip when it is absent. The malformed files are written by hand into tmp_path.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from itertools import islice, pairwise
from pathlib import Path

import msgspec
import pytest

from daemon import data
from daemon.data import DataError, chunks, fixture
from engines.errors import ERROR_CODES
from engines.model.enums import Side
from engines.model.events import Bar, MarketEvent, QuoteTick, TradeTick

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
SPOT_QUOTES = "binance-spot_BTCUSDT_quotes_20240808.csv.gz"
SPOT_TRADES = "binance-spot_BTCUSDT_trades_20240808.csv.gz"
USDM_QUOTES = "binance-usdm_BTCUSDT_quotes_20240808.csv.gz"
USDM_TRADES = "binance-usdm_BTCUSDT_trades_20240808.csv.gz"
FTX_BARS = "ftx_BTC-PERP_bars1m_20211231-20220201.csv.gz"
SP500 = "us-equities_SP500-20_dailyclose_20000103-20221228.csv.gz"
KOSPI = "krx_KOSPI-6_dailyohlcv_20160104-20191230.csv.gz"
ECB = "ecb_USDKRW_dailyref_19990104-20261030.csv.gz"

MINUTE = 60 * 10**9
DAY = 86_400 * 10**9
T0 = 1_723_161_257_000_000_000


def shared(name: str) -> Path:
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"{path} is not there (../shared/data beside the repository)")
    return path


def write(directory: Path, name: str, text: str, *, compress: bool = True) -> Path:
    path = directory / name
    raw = text.encode()
    path.write_bytes(gzip.compress(raw, mtime=0) if compress else raw)
    return path


def quotes_csv(*rows: str) -> str:
    return "\n".join(["ts_ns,bid,bid_qty,ask,ask_qty", *rows]) + "\n"


def trades_csv(*rows: str) -> str:
    return "\n".join(["ts_ns,price,qty,aggressor,trade_id", *rows]) + "\n"


def bars_csv(*rows: str) -> str:
    return "\n".join(["ts_ns,open,high,low,close,volume", *rows]) + "\n"


def at(offset: int, cells: str) -> str:
    """A row whose ts_ns is ``offset`` nanoseconds after T0 (a plausible UTC epoch-ns time)."""
    return f"{T0 + offset},{cells}"


def as_json(events: list[MarketEvent]) -> bytes:
    """Type tags and exact decimal strings included: equal bytes means the same events, digit for digit."""
    return msgspec.json.encode(events)


# ── the real shared files ───────────────────────────────────────────────────────────────────────

DOCUMENTED_ROWS = [
    (SPOT_QUOTES, QuoteTick, 27_729),
    (SPOT_TRADES, TradeTick, 9_684),
    (USDM_QUOTES, QuoteTick, 65_878),
    (USDM_TRADES, TradeTick, 21_278),
    (FTX_BARS, Bar, 45_031),
    (KOSPI, Bar, 5_868),
]


@pytest.mark.parametrize(("name", "kind", "rows"), DOCUMENTED_ROWS, ids=[r[0] for r in DOCUMENTED_ROWS])
def test_each_shared_file_yields_one_event_per_documented_row(name: str, kind: type, rows: int) -> None:
    events = list(data.read_events(shared(name)))
    assert len(events) == rows
    assert all(type(e) is kind for e in events)
    assert all(a.ts_event <= b.ts_event for a, b in pairwise(events))


def test_shared_quotes_keep_the_exact_source_strings() -> None:
    first = next(data.read_events(shared(SPOT_QUOTES)))
    assert first == QuoteTick(
        ts_event=1723161257008000000,
        ts_init=1723161257008000000,
        instrument="binance-spot:BTCUSDT",
        bid=Decimal("61824.00000000"),
        bid_size=Decimal("0.35168000"),
        ask=Decimal("61824.01000000"),
        ask_size=Decimal("6.33934000"),
    )
    assert str(first.bid) == "61824.00000000"  # trailing zeros kept, not re-rendered


def test_shared_trades_carry_aggressor_and_trade_id() -> None:
    first = next(data.read_events(shared(USDM_TRADES)))
    assert isinstance(first, TradeTick)
    assert (first.instrument, first.ts_event, str(first.price), str(first.size)) == (
        "binance-usdm:BTCUSDT",
        1723161257002000000,
        "61800.10",
        "0.050",
    )
    assert first.aggressor is Side.BUY
    assert first.trade_id == "5266583970"


def test_wide_daily_panel_gives_a_bar_per_symbol_per_date() -> None:
    events = list(data.read_events(shared(SP500)))
    assert len(events) == 5_785 * 20  # README: 5,785 rows of 20 symbols
    first_day = events[:20]
    assert [e.instrument for e in first_day][:3] == ["us-equities:AAPL", "us-equities:AMD", "us-equities:BAC"]
    aapl = first_day[0]
    assert isinstance(aapl, Bar)
    # 2000-01-03 opens at 00:00 UTC; the bar is known at the next midnight
    assert aapl.ts_event == 946_857_600 * 10**9 + DAY
    assert aapl.interval_ns == DAY
    assert aapl.open == aapl.high == aapl.low == aapl.close == Decimal("0.849")
    assert aapl.volume == 0


def test_long_daily_panel_names_each_row_symbol_with_the_venue() -> None:
    events = list(data.read_events(shared(KOSPI)))
    counts: dict[str, int] = {}
    for e in events:
        counts[e.instrument] = counts.get(e.instrument, 0) + 1
    assert counts == {
        "krx:005380": 979,
        "krx:005930": 976,
        "krx:015760": 979,
        "krx:035420": 976,
        "krx:051910": 979,
        "krx:068270": 979,
    }
    first = events[0]
    assert isinstance(first, Bar)
    assert first.ts_event == 1_451_865_600 * 10**9 + DAY  # 2016-01-04 + 1 day
    assert (str(first.open), str(first.volume)) == ("147500.0", "445332.0")


def test_shared_bar_file_stamps_each_bar_at_its_close() -> None:
    first = next(data.read_events(shared(FTX_BARS)))
    assert isinstance(first, Bar)
    # README: the first bar opens 2021-12-31T23:00Z (ts_ns 1640991600000000000)
    assert first.ts_event == 1_640_991_600_000_000_000 + MINUTE
    assert first.interval_ns == MINUTE
    assert str(first.volume) == "2300413.7295"


def test_ecb_reference_rates_are_an_unsupported_kind() -> None:
    with pytest.raises(DataError) as info:
        data.read_events(shared(ECB))
    assert info.value.code == "VT501"
    assert "dailyref" in info.value.message


# ── file names ──────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("name", "symbol", "kind", "interval"),
    [
        (SPOT_QUOTES, "binance-spot:BTCUSDT", "quotes", 0),
        ("ftx_BTC-PERP_bars1m_20211231-20220201.csv", "ftx:BTC-PERP", "bars1m", MINUTE),
        ("bybit_ETHUSDT_bars5s_20240101.csv.gz", "bybit:ETHUSDT", "bars5s", 5 * 10**9),
        ("bybit_ETHUSDT_bars1h_20240101.csv.gz", "bybit:ETHUSDT", "bars1h", 60 * MINUTE),
        (KOSPI, "krx:KOSPI-6", "dailyohlcv", DAY),
    ],
)
def test_describe_reads_venue_instrument_kind_and_bar_length(
    name: str, symbol: str, kind: str, interval: int
) -> None:
    src = data.describe(Path("/somewhere") / name)
    assert (src.symbol, src.kind, src.interval_ns) == (symbol, kind, interval)
    assert src.path == f"/somewhere/{name}"


@pytest.mark.parametrize(
    "name",
    [
        "quotes.csv.gz",
        "binance-spot_BTCUSDT_quotes.csv.gz",
        "binance-spot_BTCUSDT_quotes_2024_extra.csv.gz",
        "binance-spot_BTCUSDT_quotes_20240808.parquet",
        "binance-spot_BTCUSDT_depth_20240808.csv.gz",
        "binance-spot_BTCUSDT_bars0m_20240808.csv.gz",
        "Binance_BTCUSDT_quotes_20240808.csv.gz",
    ],
)
def test_a_name_off_the_pattern_is_vt501(name: str) -> None:
    with pytest.raises(DataError) as info:
        data.describe(name)
    assert info.value.code == "VT501"
    assert info.value.file == name


# ── timestamps and ordering ─────────────────────────────────────────────────────────────────────


def test_bar_ts_event_is_the_close_of_the_bar(tmp_path: Path) -> None:
    path = write(
        tmp_path, "sim_X_bars5m_1.csv.gz", bars_csv(at(0, "1,2,1,2,10"), at(5 * MINUTE, "2,3,2,3,0"))
    )
    first, second = data.read_events(path)
    assert isinstance(first, Bar)
    close = T0 + 5 * MINUTE
    assert (first.ts_event, first.ts_init, first.interval_ns) == (close, close, 5 * MINUTE)
    assert second.ts_event == T0 + 10 * MINUTE


def test_tick_ts_event_and_ts_init_are_the_file_ts(tmp_path: Path) -> None:
    path = write(tmp_path, "sim_X_trades_1.csv", trades_csv(at(7, "1.5,2,sell,a")), compress=False)
    (tick,) = data.read_events(path)
    assert (tick.ts_event, tick.ts_init, tick.seq) == (T0 + 7, T0 + 7, 0)


def test_merge_orders_by_ts_then_file_then_row_and_never_resorts_ties(tmp_path: Path) -> None:
    a = write(
        tmp_path,
        "sim_A_quotes_1.csv.gz",
        quotes_csv(at(1, "1,1,2,1"), at(2, "1,2,2,1"), at(2, "1,3,2,1"), at(3, "1,4,2,1")),
    )
    b = write(
        tmp_path,
        "sim_B_trades_1.csv.gz",
        trades_csv(at(2, "5,1,buy,b1"), at(2, "5,1,buy,b2"), at(3, "5,1,buy,b3")),
    )

    def label(e: MarketEvent) -> str:
        return f"q{e.bid_size}" if isinstance(e, QuoteTick) else str(getattr(e, "trade_id", "?"))

    assert [label(e) for e in data.merge([a, b])] == ["q1", "q2", "q3", "b1", "b2", "q4", "b3"]
    assert [label(e) for e in data.merge([b, a])] == ["q1", "b1", "b2", "q2", "q3", "b3", "q4"]


def test_merge_is_stable_over_many_ties() -> None:
    """A key holding only ts_event is enough: heapq.merge breaks ties by iterable, then position."""

    def stream(tag: str, n: int) -> Iterator[MarketEvent]:
        for i in range(n):
            yield TradeTick(
                ts_event=i // 50,
                ts_init=i // 50,
                instrument="sim:X",
                price=Decimal(1),
                size=Decimal(1),
                aggressor=Side.BUY,
                trade_id=f"{tag}{i}",
            )

    merged = [e.trade_id for e in data.merge([stream("a", 500), stream("b", 500), stream("c", 500)])]  # type: ignore[union-attr]
    expected = [f"{tag}{i}" for t in range(10) for tag in "abc" for i in range(t * 50, t * 50 + 50)]
    assert merged == expected


def test_shared_spot_and_perp_streams_merge_in_time_order() -> None:
    merged = list(data.merge([shared(SPOT_QUOTES), shared(USDM_QUOTES)]))
    assert len(merged) == 27_729 + 65_878
    assert all(a.ts_event <= b.ts_event for a, b in pairwise(merged))


# ── the data contract: one error code per way a file can be wrong ───────────────────────────────


def raised(path: Path) -> tuple[DataError, list[MarketEvent]]:
    """The DataError that reading ``path`` ends with, and the events yielded before it."""
    seen: list[MarketEvent] = []
    with pytest.raises(DataError) as info:
        seen.extend(data.read_events(path))
    return info.value, seen


MALFORMED = [
    # (id, file name, contents, code, line)
    ("missing-column", "sim_X_quotes_1.csv.gz", "ts_ns,bid,bid_qty,ask\n1,1,1,1\n", "VT502", 1),
    (
        "columns-out-of-order",
        "sim_X_quotes_1.csv.gz",
        "ts_ns,ask,ask_qty,bid,bid_qty\n1,2,1,1,1\n",
        "VT502",
        1,
    ),
    ("unknown-column", "sim_X_trades_1.csv.gz", "ts_ns,price,qty,aggressor,trade_id,x\n", "VT502", 1),
    (
        "ts-backwards",
        "sim_X_quotes_1.csv.gz",
        quotes_csv(at(5, "1,1,2,1"), at(5, "1,1,2,1"), at(4, "1,1,2,1")),
        "VT505",
        4,
    ),
    ("nan", "sim_X_quotes_1.csv.gz", quotes_csv(at(1, "1,1,2,1"), at(2, "NaN,1,2,1")), "VT504", 3),
    ("infinity", "sim_X_trades_1.csv.gz", trades_csv("1,inf,1,buy,a"), "VT504", 2),
    (
        "negative-price",
        "sim_X_trades_1.csv.gz",
        trades_csv(at(1, "1,1,buy,a"), at(2, "-1,1,buy,b")),
        "VT504",
        3,
    ),
    ("negative-size", "sim_X_quotes_1.csv.gz", quotes_csv("1,1,-0.5,2,1"), "VT504", 2),
    ("garbage", "sim_X_bars1m_1.csv.gz", bars_csv("0,1,2,1,abc,1"), "VT504", 2),
    ("empty-cell", "sim_X_quotes_1.csv.gz", quotes_csv(at(1, "1,1,2,1"), at(2, "1,,2,1")), "VT504", 3),
    ("underscore", "sim_X_quotes_1.csv.gz", quotes_csv("1,1_000,1,2000,1"), "VT504", 2),
    ("ts-not-integer", "sim_X_quotes_1.csv.gz", quotes_csv("1.5,1,1,2,1"), "VT504", 2),
    ("ts-above-int64", "sim_X_quotes_1.csv.gz", quotes_csv("9223372036854775808,1,1,2,1"), "VT504", 2),
    ("ts-non-ascii-digits", "sim_X_trades_1.csv.gz", trades_csv("\u0661\u0662,1,1,buy,a"), "VT504", 2),
    ("empty-ts-first-row", "sim_X_quotes_1.csv.gz", quotes_csv(",1,1,2,1"), "VT504", 2),
    ("bad-aggressor", "sim_X_trades_1.csv.gz", trades_csv("1,1,1,BUY,a"), "VT504", 2),
    ("empty-trade-id", "sim_X_trades_1.csv.gz", trades_csv("1,1,1,buy,"), "VT504", 2),
    ("short-row", "sim_X_quotes_1.csv.gz", quotes_csv(at(1, "1,1,2,1"), at(2, "1,1,2")), "VT503", 3),
    ("long-row", "sim_X_trades_1.csv.gz", trades_csv("1,1,1,buy,a,extra"), "VT503", 2),
    ("blank-line", "sim_X_quotes_1.csv.gz", quotes_csv(at(1, "1,1,2,1"), "", at(2, "1,1,2,1")), "VT503", 3),
    ("header-only", "sim_X_quotes_1.csv.gz", "ts_ns,bid,bid_qty,ask,ask_qty\n", "VT506", 1),
    ("empty-file", "sim_X_quotes_1.csv.gz", "", "VT506", 1),
    (
        "crossed-quote",
        "sim_X_quotes_1.csv.gz",
        quotes_csv(at(1, "1,1,2,1"), at(2, "2.5,1,2.4,1")),
        "VT507",
        3,
    ),
    (
        "high-below-close",
        "sim_X_bars1m_1.csv.gz",
        bars_csv(at(0, "1,2,1,2,1"), at(MINUTE, "1,2,1,3,1")),
        "VT508",
        3,
    ),
    ("low-above-open", "sim_X_bars1m_1.csv.gz", bars_csv(at(0, "1,2,1.5,2,1")), "VT508", 2),
    (
        "bad-date",
        "krx_X_dailyohlcv_1.csv.gz",
        "date,symbol,open,high,low,close,volume\n2016-13-01,A,1,1,1,1,1\n",
        "VT504",
        2,
    ),
    (
        "date-backwards",
        "krx_X_dailyohlcv_1.csv.gz",
        "date,symbol,open,high,low,close,volume\n2016-01-05,A,1,1,1,1,1\n2016-01-04,A,1,1,1,1,1\n",
        "VT505",
        3,
    ),
    ("wide-empty-value", "us_X_dailyclose_1.csv.gz", "date,A,B\n2000-01-03,1,\n", "VT504", 2),
    ("wide-bad-symbol", "us_X_dailyclose_1.csv.gz", "date,A,B C\n2000-01-03,1,2\n", "VT502", 1),
    ("wide-no-date", "us_X_dailyclose_1.csv.gz", "day,A\n2000-01-03,1\n", "VT502", 1),
]


@pytest.mark.parametrize(
    ("name", "text", "code", "line"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_file_raises_its_code_with_file_and_line(
    tmp_path: Path, name: str, text: str, code: str, line: int
) -> None:
    path = write(tmp_path, name, text)
    error, _ = raised(path)
    assert (error.code, error.line) == (code, line), str(error)
    assert error.file == str(path)
    assert f"{path}:{line}: {code}" in str(error)
    assert error.hint == ERROR_CODES[code].hint


def test_bad_cell_message_names_the_column_and_value(tmp_path: Path) -> None:
    error, seen = raised(
        write(tmp_path, "sim_X_quotes_1.csv.gz", quotes_csv(at(1, "1,1,2,1"), at(2, "1,nan,2,1")))
    )
    assert "'bid_qty'" in error.message and "'nan'" in error.message and "not a finite" in error.message
    assert len(seen) == 1  # validation streams: the good row came out before the error


def test_negative_value_is_named_negative(tmp_path: Path) -> None:
    error, _ = raised(write(tmp_path, "sim_X_trades_1.csv.gz", trades_csv("1,-5,1,buy,a")))
    assert "negative" in error.message


def test_non_gzip_bytes_under_a_gz_name_are_vt500(tmp_path: Path) -> None:
    path = write(tmp_path, "sim_X_quotes_1.csv.gz", quotes_csv("1,1,1,2,1"), compress=False)
    error, _ = raised(path)
    assert (error.code, error.line) == ("VT500", 1)
    assert "gzip" in error.message


def test_truncated_gzip_is_vt500_after_the_rows_before_the_cut(tmp_path: Path) -> None:
    rows = [at(i, f"{i}.5,1,{i + 1},1") for i in range(1, 3001)]
    full = gzip.compress(quotes_csv(*rows).encode(), mtime=0)
    path = tmp_path / "sim_X_quotes_1.csv.gz"
    path.write_bytes(full[: len(full) * 2 // 3])
    error, seen = raised(path)
    assert error.code == "VT500"
    assert "truncated" in error.message
    assert len(seen) > 0
    assert error.line == len(seen) + 2  # header, the rows read, then the line that was cut


def test_missing_file_is_vt500(tmp_path: Path) -> None:
    error, _ = raised(tmp_path / "sim_X_quotes_1.csv.gz")
    assert error.code == "VT500"
    assert "no such file" in error.message


def test_every_data_code_has_a_title_and_hint() -> None:
    codes = [f"VT50{i}" for i in range(10)]
    for code in codes:
        entry = ERROR_CODES[code]
        assert entry.title and entry.hint.endswith("."), code
        assert DataError("x", code=code).hint == entry.hint


# ── fixtures ────────────────────────────────────────────────────────────────────────────────────


def mixed_files(tmp_path: Path) -> list[Path]:
    """Quotes, trades and bars with ties across files and decimal strings that must survive as written."""
    return [
        write(
            tmp_path,
            "sim_A_quotes_1.csv.gz",
            quotes_csv(*[f"{T0 + i // 3},1.{i:03d}0,0.500,2,1E-7" for i in range(400)]),
        ),
        write(
            tmp_path,
            "sim_B_trades_1.csv.gz",
            trades_csv(*[f"{T0 + i},1.{i},0.00{i},{'buy' if i % 2 else 'sell'},t{i}" for i in range(120)]),
        ),
        write(
            tmp_path,
            "sim_C_bars1s_1.csv.gz",
            bars_csv(*[f"{T0 + i - 10**9},{i}.0,{i + 1}.00,{i},{i},0" for i in range(0, 150, 3)]),
        ),
    ]


@pytest.mark.parametrize("compression", ["none", "zlib"])
def test_fixture_round_trip_equals_the_csv_stream(tmp_path: Path, compression: data.Compression) -> None:
    files = mixed_files(tmp_path)
    manifest = data.import_files(
        files,
        tmp_path / "fx",
        name="mixed",
        source="hand-written",
        licence="CC0-1.0",
        chunk_size=64,
        compression=compression,
    )
    expected = list(data.merge(files))
    chunks = list(data.read_fixture_chunks(tmp_path / "fx"))
    assert [len(c) for c in chunks[:-1]] == [64] * (len(chunks) - 1)
    got = [e for chunk in chunks for e in chunk]
    assert got == expected
    assert as_json(got) == as_json(expected)
    assert manifest.events == len(expected) == 400 + 120 + 50
    assert {(s.symbol, s.kind, s.rows) for s in manifest.streams} == {
        ("sim:A", "quotes", 400),
        ("sim:B", "trades", 120),
        ("sim:C", "bars", 50),
    }
    bars = next(s for s in manifest.streams if s.kind == "bars")
    assert (bars.interval_ns, bars.first_ts_ns, bars.last_ts_ns) == (10**9, T0, T0 + 147)


def test_shared_binance_fixture_round_trip_and_manifest(tmp_path: Path) -> None:
    files = [shared(SPOT_QUOTES), shared(SPOT_TRADES), shared(USDM_QUOTES), shared(USDM_TRADES)]
    manifest = data.import_files(
        files, tmp_path / "fx", name="binance-20240808", source="hftbacktest examples", licence="MIT"
    )
    assert as_json(list(data.read_fixture(tmp_path / "fx"))) == as_json(list(data.merge(files)))
    on_disk = json.loads((tmp_path / "fx" / data.MANIFEST_NAME).read_text())
    assert on_disk["licence"] == "MIT"
    assert [f["file"] for f in on_disk["created_from"]] == [f.name for f in files]
    assert on_disk["created_from"][0]["sha256"] == (
        "c3b2a84f231fb60583024728a00ec40d17ebadf59d297d0d1638b3eb20503fe6"  # README table
    )
    assert {s.symbol: s.rows for s in manifest.streams if s.kind == "quotes"} == {
        "binance-spot:BTCUSDT": 27_729,
        "binance-usdm:BTCUSDT": 65_878,
    }


def test_import_is_deterministic(tmp_path: Path) -> None:
    files = mixed_files(tmp_path)
    for out in ("a", "b"):
        data.import_files(files, tmp_path / out, name="m", source="s", licence="CC0-1.0", compression="zlib")
    for name in (data.MANIFEST_NAME, data.EVENTS_NAME):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_import_keeps_only_the_given_instruments(tmp_path: Path) -> None:
    manifest = data.import_files(
        [shared(KOSPI)],
        tmp_path / "fx",
        name="samsung",
        source="rltrader",
        licence="MIT",
        instruments=["krx:005930"],
    )
    assert [(s.symbol, s.rows) for s in manifest.streams] == [("krx:005930", 976)]
    assert manifest.created_from[0].events == 976
    with pytest.raises(DataError) as info:
        data.import_files(
            [shared(KOSPI)], tmp_path / "fx2", name="x", source="x", licence="MIT", instruments=["krx:000000"]
        )
    assert info.value.code == "VT506"


def test_failed_import_leaves_the_previous_fixture_untouched(tmp_path: Path) -> None:
    good = write(tmp_path, "sim_X_quotes_1.csv.gz", quotes_csv(at(1, "1,1,2,1"), at(2, "1,1,2,1")))
    data.import_files([good], tmp_path / "fx", name="x", source="x", licence="MIT")
    before = {p.name: p.read_bytes() for p in (tmp_path / "fx").iterdir()}
    bad = write(
        tmp_path,
        "sim_Y_quotes_1.csv.gz",
        quotes_csv(*[at(i, "1,1,2,1") for i in range(5000)], at(1, "1,1,0,1")),
    )
    with pytest.raises(DataError) as info:
        data.import_files([bad], tmp_path / "fx", name="x", source="x", licence="MIT", chunk_size=100)
    assert info.value.code == "VT505"
    assert {p.name: p.read_bytes() for p in (tmp_path / "fx").iterdir()} == before


@pytest.fixture
def fixture_dir(tmp_path: Path) -> Path:
    out = tmp_path / "fx"
    data.import_files(mixed_files(tmp_path), out, name="m", source="s", licence="CC0-1.0", chunk_size=50)
    return out


def edit_manifest(fixture_dir: Path, change: dict[str, object], drop: str | None = None) -> None:
    path = fixture_dir / data.MANIFEST_NAME
    doc = json.loads(path.read_text())
    doc.update(change)
    if drop is not None:
        del doc[drop]
    path.write_text(json.dumps(doc))


def vt509(fixture_dir: Path) -> DataError:
    with pytest.raises(DataError) as info:
        list(data.read_fixture(fixture_dir))
    assert info.value.code == "VT509", str(info.value)
    return info.value


def test_a_flipped_byte_in_events_is_caught_by_the_sha(fixture_dir: Path) -> None:
    path = fixture_dir / data.EVENTS_NAME
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    assert "does not match the manifest" in vt509(fixture_dir).message


def test_truncated_events_file_is_vt509(fixture_dir: Path) -> None:
    path = fixture_dir / data.EVENTS_NAME
    size = path.stat().st_size
    path.write_bytes(path.read_bytes()[:-10])
    error = vt509(fixture_dir)
    assert error.file == str(path)
    # the message shows the cut: the file's size against the size the manifest recorded
    assert f"({size - 10} bytes), manifest says" in error.message and f"({size} bytes)" in error.message


@pytest.mark.parametrize("field", ["licence", "events_sha256", "streams", "source"])
def test_manifest_missing_a_field_is_vt509(fixture_dir: Path, field: str) -> None:
    edit_manifest(fixture_dir, {}, drop=field)
    assert field in vt509(fixture_dir).message


@pytest.mark.parametrize(
    "change",
    [
        {"events_sha256": "0" * 64},
        {"licence": ""},
        {"version": 2},
        {"events": 1},
        {"events_file": "../elsewhere.vtm"},
        {"surprise": True},
    ],
    ids=["sha", "empty-licence", "version", "event-count", "events-path", "unknown-field"],
)
def test_tampered_manifest_is_vt509(fixture_dir: Path, change: dict[str, object]) -> None:
    edit_manifest(fixture_dir, change)
    assert vt509(fixture_dir).code == "VT509"


def test_a_crafted_chunk_with_a_matching_sha_is_still_vt509(fixture_dir: Path) -> None:
    """Consistent sha, inconsistent content: the decoder checks the columns against the counts."""
    path = fixture_dir / data.EVENTS_NAME
    chunk = chunks._Chunk(
        kinds=b"\x00" * 5,  # five quotes announced ...
        decimals=["1"],
        symbols=["sim:X"],
        quotes=tuple(bytes(4 * 8 if i == 0 else 4 * 4) for i in range(6)),  # ... four in the columns
        trades=tuple(b"" for _ in range(5)),
        trade_ids=[],
        bars=tuple(b"" for _ in range(8)),
    )
    payload = msgspec.msgpack.encode(chunk)
    bogus = data.EVENTS_MAGIC + fixture._FRAME.pack(0, len(payload), 5) + payload
    path.write_bytes(bogus)
    edit_manifest(
        fixture_dir,
        {"events_sha256": hashlib.sha256(bogus).hexdigest(), "events_bytes": len(bogus)},
    )
    assert "chunk 1 is corrupt" in vt509(fixture_dir).message


def test_a_directory_without_manifest_is_vt509(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        data.read_fixture_chunks(tmp_path)
    assert info.value.code == "VT509"


# ── what the replay command calls ───────────────────────────────────────────────────────────────


def test_load_any_and_sources_from_args_accept_csv_and_fixture_alike(
    fixture_dir: Path, tmp_path: Path
) -> None:
    files = mixed_files(tmp_path)  # the same bytes the fixture was imported from
    expected = as_json(list(data.merge(files)))
    from_fixture = [e for batch in data.load_any(fixture_dir) for e in batch]
    from_args = [e for batch in data.sources_from_args(files, batch_size=7) for e in batch]
    assert as_json(from_fixture) == as_json(from_args) == expected
    batches = list(data.load_any(files[0], batch_size=128))
    assert [len(b) for b in batches] == [128, 128, 128, 16]
    # a fixture and a CSV file of another stream merged: the fixture's events first on ties
    # (argument order). Not one of the files the fixture holds: that would be its data twice (VT511).
    other = write(
        tmp_path, "sim_D_trades_1.csv.gz", trades_csv(*[at(i, f"1,1,buy,d{i}") for i in range(120)])
    )
    both = [e for batch in data.sources_from_args([fixture_dir, other]) for e in batch]
    assert len(both) == 570 + 120
    assert all(a.ts_event <= b.ts_event for a, b in pairwise(both))
    at_t0 = [e.instrument for e in both if e.ts_event == T0]
    assert len(at_t0) > 2 and at_t0.index("sim:D") == len(at_t0) - 1


def test_sources_from_args_needs_at_least_one_source() -> None:
    with pytest.raises(DataError) as info:
        data.sources_from_args([])
    assert info.value.code == "VT506"


def test_describe_source_identifies_files_and_fixtures(fixture_dir: Path, tmp_path: Path) -> None:
    csv_file = next(tmp_path.glob("sim_A_quotes_1.csv.gz"))
    info = data.describe_source(csv_file)
    assert (info.format, info.bytes) == ("csv", csv_file.stat().st_size)
    assert info.sha256 == hashlib.sha256(csv_file.read_bytes()).hexdigest()
    fx = data.describe_source(fixture_dir)
    assert fx.format == "fixture"
    assert fx.sha256 == hashlib.sha256((fixture_dir / data.EVENTS_NAME).read_bytes()).hexdigest()


def test_reading_stops_cleanly_when_the_consumer_stops(tmp_path: Path) -> None:
    path = write(tmp_path, "sim_X_quotes_1.csv.gz", quotes_csv(*[at(i, "1,1,2,1") for i in range(100)]))

    def open_fds() -> set[str]:
        return set(os.listdir("/proc/self/fd"))

    before = open_fds()
    stream = data.read_events(path)
    assert len(list(islice(stream, 5))) == 5
    assert len(open_fds() - before) == 1  # the file is open while the consumer reads
    stream.close()  # type: ignore[attr-defined]
    assert open_fds() == before  # closing the stream closed the file
    assert next(stream, None) is None
