"""The market data layer refuses bad inputs with a typed error instead of replaying them or hanging.

* the same data given twice (a path twice, a link, a copy, a fixture beside a file it was imported
  from) is VT511, before any event is read;
* two sources overlapping in time for one stream are VT512 (fixtures from their manifests, CSV
  files while merging); sources that merely meet are accepted in time order only;
* a ts_ns outside 1990..2100 (seconds or milliseconds instead of nanoseconds) is VT513 at its line;
* a FIFO, a device or a directory where a data file is expected is VT514, and is never opened;
* a byte that is not UTF-8 is reported at the line that holds it;
* a file-system error while reading is a DataError naming the path and the OS reason.

Each test was run once against the code before these checks and failed there (or hung, which the
``no_hang`` guard turns into a failure).
"""

from __future__ import annotations

import builtins
import errno
import gzip
import os
import random
import shutil
import signal
from collections.abc import Callable, Iterator
from decimal import Decimal
from itertools import combinations
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from daemon import data
from daemon.cli import main
from daemon.data import DataError, merging
from engines.errors import ERROR_CODES
from engines.model.events import Bar, MarketEvent, QuoteTick, TradeTick

T0 = 1_723_161_257_000_000_000  # 2024-08-08T23:54:17Z
MS = 1_000_000
MINUTE = 60 * 10**9
REPO = Path(__file__).resolve().parents[3]
SMA_CROSS = REPO / "strategies" / "examples" / "sma_cross.py"


def write(path: Path, text: str | bytes, *, compress: bool = True) -> Path:
    raw = text.encode() if isinstance(text, str) else text
    path.write_bytes(gzip.compress(raw, mtime=0) if compress else raw)
    return path


def quotes(directory: Path, name: str, times: list[int], *, compress: bool = True) -> Path:
    rows = "".join(f"{t},100.0,1,100.5,2\n" for t in times)
    return write(directory / name, "ts_ns,bid,bid_qty,ask,ask_qty\n" + rows, compress=compress)


def trades(directory: Path, name: str, times: list[int], tag: str = "t") -> Path:
    rows = "".join(f"{t},100.0,1,buy,{tag}{k}\n" for k, t in enumerate(times))
    return write(directory / name, "ts_ns,price,qty,aggressor,trade_id\n" + rows)


def bars(directory: Path, name: str, opens: list[int]) -> Path:
    rows = "".join(f"{t},10,11,9,10,5\n" for t in opens)
    return write(directory / name, "ts_ns,open,high,low,close,volume\n" + rows)


def fixture(directory: Path, name: str, files: list[Path]) -> Path:
    out = directory / name
    data.import_files(files, out, name=name, source="hand-written", licence="CC0-1.0")
    return out


def every_event(paths: list[Path]) -> list[MarketEvent]:
    return [e for batch in data.sources_from_args(paths) for e in batch]


def refused(code: str, call: Callable[[], object]) -> DataError:
    """The DataError of ``call()``, iterated to the end when it returns an iterator."""
    with pytest.raises(DataError) as info:
        result = call()
        if isinstance(result, Iterator):
            for _ in result:
                pass
    error = info.value
    assert error.code == code, str(error)
    assert error.hint == ERROR_CODES[code].hint
    return error


class Hung(Exception):
    """The guarded call blocked (the old code opened the FIFO and waited for a writer)."""


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Fail a test that blocks for 5 s instead of letting it hang the suite (SIGALRM, main thread)."""

    def alarm(signum: int, frame: FrameType | None) -> None:
        raise Hung("blocked for 5 s: a FIFO was opened")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 5)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ── VT511: the same data given twice ────────────────────────────────────────────────────────────


def test_the_same_path_twice_is_vt511_before_any_event_is_read(tmp_path: Path) -> None:
    path = quotes(tmp_path, "sim_X_quotes_1.csv.gz", [T0, T0 + 1])
    # raised by the call itself, not by the iterator: nothing is read or merged
    error = refused("VT511", lambda: data.sources_from_args([path, path]))
    assert str(path) in error.message and "twice" in error.message
    assert refused("VT511", lambda: data.check_sources([path, path])).file == str(path)


def test_a_link_to_a_file_given_beside_it_is_vt511(tmp_path: Path) -> None:
    path = quotes(tmp_path, "sim_X_quotes_1.csv.gz", [T0, T0 + 1])
    link = tmp_path / "sim_X_quotes_2.csv.gz"
    link.symlink_to(path)
    hard = tmp_path / "sim_X_quotes_3.csv.gz"
    os.link(path, hard)
    for other in (link, hard):
        error = refused("VT511", lambda other=other: data.sources_from_args([path, other]))
        assert str(path) in error.message and str(other) in error.message
        assert "same file" in error.message


def test_a_copy_with_the_same_sha256_is_vt511(tmp_path: Path) -> None:
    path = quotes(tmp_path, "sim_X_quotes_1.csv.gz", [T0, T0 + 1])
    copy = tmp_path / "copies" / "sim_X_quotes_1.csv.gz"
    copy.parent.mkdir()
    shutil.copyfile(path, copy)
    error = refused("VT511", lambda: data.check_sources([path, copy]))
    assert str(path) in error.message and str(copy) in error.message and "sha256" in error.message
    refused("VT511", lambda: data.sources_from_args([path, copy]))


def test_files_of_one_size_with_different_bytes_are_not_duplicates(tmp_path: Path) -> None:
    a = quotes(tmp_path, "sim_A_quotes_1.csv", [T0, T0 + 1], compress=False)
    b = quotes(tmp_path, "sim_B_quotes_1.csv", [T0, T0 + 2], compress=False)
    assert a.stat().st_size == b.stat().st_size
    infos = data.check_sources([a, b])
    assert infos == [data.describe_source(a), data.describe_source(b)]
    assert len(every_event([a, b])) == 4


def test_a_fixture_twice_or_copied_is_vt511(tmp_path: Path) -> None:
    fx = fixture(tmp_path, "fx", [quotes(tmp_path, "sim_X_quotes_1.csv.gz", [T0, T0 + 1])])
    link = tmp_path / "fx-link"
    link.symlink_to(fx, target_is_directory=True)
    copy = tmp_path / "fx-copy"
    shutil.copytree(fx, copy)
    assert "same directory" in refused("VT511", lambda: data.check_sources([fx, link])).message
    assert "same events" in refused("VT511", lambda: data.sources_from_args([fx, copy])).message


def test_a_file_beside_a_fixture_imported_from_it_is_vt511(tmp_path: Path) -> None:
    source = quotes(tmp_path, "sim_X_quotes_1.csv.gz", [T0, T0 + 1])
    other = trades(tmp_path, "sim_Y_trades_1.csv.gz", [T0 + 5])
    fx = fixture(tmp_path, "fx", [source, other])
    for args in ([fx, source], [source, fx]):
        error = refused("VT511", lambda args=args: data.sources_from_args(args))
        assert str(fx) in error.message and str(source) in error.message


def test_the_replay_refuses_the_same_data_twice_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opens = [T0 - T0 % MINUTE + k * MINUTE for k in range(40)]
    path = bars(tmp_path, "ftx_BTC-PERP_bars1m_1.csv.gz", opens)
    out = tmp_path / "run"
    args = ["replay", str(SMA_CROSS), "--data", str(path), "--data", str(path), "--quiet", "--out", str(out)]
    assert main(args) == 1
    assert "VT511" in capsys.readouterr().err
    assert not out.exists()


# ── VT512: sources overlapping in time for one stream ───────────────────────────────────────────


def test_two_csv_files_overlapping_for_one_instrument_are_vt512(tmp_path: Path) -> None:
    early = quotes(tmp_path, "sim_X_quotes_a.csv.gz", [T0 + k * MS for k in range(100)])
    late = quotes(tmp_path, "sim_X_quotes_b.csv.gz", [T0 + k * MS for k in range(50, 150)])
    for args in ([early, late], [late, early]):
        error = refused("VT512", lambda args=args: every_event(args))
        assert str(early) in error.message and str(late) in error.message
        assert "sim:X quotes" in error.message
    refused("VT512", lambda: data.merge([early, late]))


def test_a_file_inside_another_ones_range_is_vt512(tmp_path: Path) -> None:
    outer = trades(tmp_path, "sim_X_trades_a.csv.gz", [T0, T0 + 1000])
    inner = trades(tmp_path, "sim_X_trades_b.csv.gz", [T0 + 10, T0 + 20])
    refused("VT512", lambda: every_event([outer, inner]))
    refused("VT512", lambda: every_event([inner, outer]))


def test_quotes_and_trades_of_one_instrument_are_separate_streams(tmp_path: Path) -> None:
    q = quotes(tmp_path, "sim_X_quotes_1.csv.gz", [T0 + k for k in range(50)])
    t = trades(tmp_path, "sim_X_trades_1.csv.gz", [T0 + k for k in range(0, 50, 2)])
    b1 = bars(tmp_path, "sim_X_bars1m_1.csv.gz", [T0 + k * MINUTE for k in range(5)])
    b5 = bars(tmp_path, "sim_X_bars5m_1.csv.gz", [T0 + k * 5 * MINUTE for k in range(2)])
    assert len(every_event([q, t, b1, b5])) == 50 + 25 + 5 + 2


def test_consecutive_files_merge_into_the_whole(tmp_path: Path) -> None:
    times = [T0 + k // 3 for k in range(90)]  # ties of three
    whole = trades(tmp_path, "sim_X_trades_all.csv.gz", times)
    # cut inside a tie group: the first part ends at the instant the second begins
    first = trades(tmp_path, "sim_X_trades_a.csv.gz", times[:40])
    second = trades(tmp_path, "sim_X_trades_b.csv.gz", times[40:])
    # the trade ids number the rows of each file: compare (time, price) and the order of ids instead
    merged = every_event([first, second])
    assert [e.ts_event for e in merged] == [e.ts_event for e in data.read_events(whole)]
    assert [e.trade_id for e in merged if isinstance(e, TradeTick)] == [f"t{k}" for k in range(40)] + [
        f"t{k}" for k in range(50)
    ]
    # apart by a gap: fine in either order
    later = trades(tmp_path, "sim_X_trades_c.csv.gz", [T0 + 1000, T0 + 1001])
    assert len(every_event([later, whole])) == 92


def test_files_that_meet_in_the_wrong_order_are_vt512(tmp_path: Path) -> None:
    first = trades(tmp_path, "sim_X_trades_a.csv.gz", [T0, T0 + 5, T0 + 5])
    second = trades(tmp_path, "sim_X_trades_b.csv.gz", [T0 + 5, T0 + 9])
    assert len(every_event([first, second])) == 5
    error = refused("VT512", lambda: every_event([second, first]))
    assert "give" in error.message and "first" in error.message


def test_bar_files_may_not_share_a_bar(tmp_path: Path) -> None:
    first = bars(tmp_path, "sim_X_bars1m_a.csv.gz", [T0, T0 + MINUTE])
    next_bar = bars(tmp_path, "sim_X_bars1m_b.csv.gz", [T0 + 2 * MINUTE, T0 + 3 * MINUTE])
    same_bar = bars(tmp_path, "sim_X_bars1m_c.csv.gz", [T0 + MINUTE, T0 + 2 * MINUTE])
    assert len(every_event([first, next_bar])) == 4
    error = refused("VT512", lambda: every_event([first, same_bar]))
    assert "bars1m" in error.message and "bar closing" in error.message


def test_overlapping_fixtures_are_vt512_from_their_manifests(tmp_path: Path) -> None:
    a = fixture(tmp_path, "a", [quotes(tmp_path, "sim_X_quotes_a.csv.gz", [T0, T0 + 100])])
    b = fixture(tmp_path, "b", [quotes(tmp_path, "sim_X_quotes_b.csv.gz", [T0 + 50, T0 + 150])])
    stream = data.sources_from_args([a, b])
    # refused on the first read, before a single event is handed out
    error = refused("VT512", lambda: next(stream))
    assert str(a) in error.message and str(b) in error.message and "sim:X" in error.message


def test_a_fixture_and_a_csv_file_overlapping_are_vt512(tmp_path: Path) -> None:
    fx = fixture(tmp_path, "fx", [quotes(tmp_path, "sim_X_quotes_a.csv.gz", [T0, T0 + 100])])
    inside = quotes(tmp_path, "sim_X_quotes_b.csv.gz", [T0 + 50])
    after = quotes(tmp_path, "sim_X_quotes_c.csv.gz", [T0 + 200])
    refused("VT512", lambda: every_event([fx, inside]))
    refused("VT512", lambda: every_event([inside, fx]))
    assert len(every_event([fx, after])) == 3


def test_daily_panels_overlapping_for_a_symbol_are_vt512(tmp_path: Path) -> None:
    wide_a = write(tmp_path / "us_A_dailyclose_1.csv.gz", "date,AAA,BBB\n2020-01-02,1,2\n2020-01-03,1,2\n")
    wide_b = write(tmp_path / "us_B_dailyclose_1.csv.gz", "date,CCC,AAA\n2020-01-03,3,1\n2020-01-06,3,1\n")
    wide_c = write(tmp_path / "us_C_dailyclose_1.csv.gz", "date,AAA\n2020-01-06,1\n")
    assert "us:AAA" in refused("VT512", lambda: every_event([wide_a, wide_b])).message
    assert len(every_event([wide_a, wide_c])) == 5
    header = "date,symbol,open,high,low,close,volume\n"
    long_a = write(tmp_path / "us_L_dailyohlcv_1.csv.gz", header + "2020-01-02,AAA,1,1,1,1,1\n")
    assert "us:AAA" in refused("VT512", lambda: every_event([wide_a, long_a])).message


def test_long_panels_are_checked_per_symbol_not_per_file(tmp_path: Path) -> None:
    header = "date,symbol,open,high,low,close,volume\n"
    a = write(
        tmp_path / "krx_A_dailyohlcv_1.csv.gz",
        header + "2020-01-02,111,1,1,1,1,1\n2020-01-02,222,1,1,1,1,1\n2020-01-09,222,1,1,1,1,1\n",
    )
    # the files' date ranges overlap, but 111 ends on 01-02 here and starts on 01-06 there
    b = write(
        tmp_path / "krx_B_dailyohlcv_1.csv.gz",
        header + "2020-01-06,111,1,1,1,1,1\n2020-01-07,333,1,1,1,1,1\n",
    )
    assert len(every_event([a, b])) == 5
    c = write(tmp_path / "krx_C_dailyohlcv_1.csv.gz", header + "2020-01-06,222,1,1,1,1,1\n")
    assert "krx:222" in refused("VT512", lambda: every_event([a, c])).message


def test_import_refuses_overlapping_files(tmp_path: Path) -> None:
    early = quotes(tmp_path, "sim_X_quotes_a.csv.gz", [T0, T0 + 100])
    late = quotes(tmp_path, "sim_X_quotes_b.csv.gz", [T0 + 50, T0 + 150])
    refused("VT512", lambda: fixture(tmp_path, "fx", [early, late]))
    assert not (tmp_path / "fx" / data.MANIFEST_NAME).exists()
    # only the instruments kept count
    other = quotes(tmp_path, "sim_Y_quotes_b.csv.gz", [T0 + 50])
    m = data.import_files(
        [early, other], tmp_path / "fy", name="y", source="s", licence="MIT", instruments=["sim:Y"]
    )
    assert m.events == 1


def test_the_overlap_check_agrees_with_its_definition() -> None:
    """Random sets of sources, some with known ranges (like a manifest), some found while merging
    (like a CSV file): VT512 exactly when, for one stream, a tick source's events do not form one
    run in the merged order, or two bar sources' closed time ranges intersect."""
    rng = random.Random(20240808)
    one = Decimal(1)

    def event(key: tuple[str, str, int], ts: int) -> MarketEvent:
        if key[1] == "bars":
            prices = dict(open=one, high=one, low=one, close=one, volume=one)
            return Bar(ts_event=ts, ts_init=ts, instrument=key[0], interval_ns=key[2], **prices)
        return QuoteTick(
            ts_event=ts, ts_init=ts, instrument=key[0], bid=one, bid_size=one, ask=one, ask_size=one
        )

    def overlaps(sources: list[tuple[tuple[str, str, int], list[int]]]) -> bool:
        merged = sorted((ts, i) for i, (_, times) in enumerate(sources) for ts in times)  # the merge order
        for key in {k for k, _ in sources}:
            mine = [i for i, (k, _) in enumerate(sources) if k == key]
            if key[1] == "bars":
                spans = [(sources[i][1][0], sources[i][1][-1]) for i in mine]
                if any(a[0] <= b[1] and b[0] <= a[1] for a, b in combinations(spans, 2)):
                    return True
            else:
                order = [i for _, i in merged if i in mine]
                runs = [i for n, i in enumerate(order) if n == 0 or order[n - 1] != i]
                if len(runs) != len(set(runs)):
                    return True
        return False

    verdicts = set()
    for _ in range(3000):
        sources = []
        for _ in range(rng.randint(2, 4)):
            symbol, kind = rng.choice(["sim:A", "sim:B"]), rng.choice(["quotes", "bars"])
            t = T0 + rng.randint(0, 10)
            times = [t := t + rng.choice([0, 1, 3]) for _ in range(rng.randint(1, 5))]
            sources.append(((symbol, kind, MINUTE if kind == "bars" else 0), times))
        feeds = [
            merging._Feed(
                f"f{i}",
                [event(key, ts) for ts in times],
                {key: (times[0], times[-1]) if rng.random() < 0.4 else None},
            )
            for i, (key, times) in enumerate(sources)
        ]
        try:
            list(merging._merge_feeds(feeds))
            refused_it = False
        except DataError as error:
            assert error.code == "VT512"
            refused_it = True
        assert refused_it == overlaps(sources), sources
        verdicts.add(refused_it)
    assert verdicts == {True, False}


# ── VT513: timestamps outside the plausible range ───────────────────────────────────────────────


@pytest.mark.parametrize(
    ("name", "rows", "line", "unit"),
    [
        ("sim_X_quotes_1.csv.gz", "1723161257,1,1,2,1\n", 2, "seconds"),
        ("sim_X_trades_1.csv.gz", "1723161257000,1,1,buy,a\n", 2, "milliseconds"),
        ("sim_X_bars1m_1.csv.gz", "1723161240,1,1,1,1,1\n", 2, "seconds"),
        ("sim_X_quotes_1.csv.gz", "1723161257000000000,1,1,2,1\n4102444800000000001,1,1,2,1\n", 3, None),
        ("sim_X_trades_1.csv.gz", "1723161257000000000,1,1,buy,a\n1723161258000,1,1,buy,b\n", 3, "milli"),
    ],
    ids=["quotes-in-seconds", "trades-in-ms", "bars-in-seconds", "after-2100", "ms-after-a-good-row"],
)
def test_a_timestamp_outside_1990_to_2100_is_vt513_at_its_line(
    tmp_path: Path, name: str, rows: str, line: int, unit: str | None
) -> None:
    header = {"quotes": "ts_ns,bid,bid_qty,ask,ask_qty", "trades": "ts_ns,price,qty,aggressor,trade_id"}
    kind = data.describe(name).kind
    path = write(tmp_path / name, header.get(kind, "ts_ns,open,high,low,close,volume") + "\n" + rows)
    error = refused("VT513", lambda: data.read_events(path))
    assert (error.file, error.line) == (str(path), line)
    if unit is not None:
        assert unit in error.message
    assert "1e9" in error.hint and "1e6" in error.hint


def test_the_range_ends_are_accepted(tmp_path: Path) -> None:
    first, last = 631_152_000 * 10**9, 4_102_444_800 * 10**9  # 1990-01-01, 2100-01-01
    path = quotes(tmp_path, "sim_X_quotes_1.csv.gz", [first, last])
    assert [e.ts_event for e in data.read_events(path)] == [first, last]
    refused("VT513", lambda: data.read_events(quotes(tmp_path, "sim_Y_quotes_1.csv.gz", [first - 1])))


def test_import_refuses_timestamps_in_seconds(tmp_path: Path) -> None:
    path = quotes(tmp_path, "sim_X_quotes_1.csv.gz", [1_723_161_257, 1_723_161_258])
    error = refused("VT513", lambda: fixture(tmp_path, "fx", [path]))
    assert (error.file, error.line) == (str(path), 2)
    assert not (tmp_path / "fx" / data.EVENTS_NAME).exists()


# ── VT514: not a regular file ───────────────────────────────────────────────────────────────────


@pytest.mark.usefixtures("no_hang")
def test_a_fifo_named_like_a_data_file_is_vt514_and_never_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "binance-spot_BTCUSDT_trades_2024.csv.gz"
    os.mkfifo(fifo)
    good = trades(tmp_path, "binance-usdm_BTCUSDT_trades_2024.csv.gz", [T0])
    calls: list[Callable[[], object]] = [
        lambda: data.describe_source(fifo),
        lambda: data.check_sources([good, fifo]),
        lambda: data.symbols_in(fifo),
        lambda: data.sources_from_args([fifo]),
        lambda: data.sources_from_args([good, fifo]),
        lambda: data.load_any(fifo),
        lambda: data.read_events(fifo),
        lambda: data.import_files([fifo], tmp_path / "fx", name="x", source="x", licence="MIT"),
    ]
    for call in calls:
        error = refused("VT514", call)
        assert error.file == str(fifo)
        assert "FIFO" in error.message


@pytest.mark.usefixtures("no_hang")
def test_a_fixture_whose_files_are_not_regular_is_vt514(tmp_path: Path) -> None:
    fx = fixture(tmp_path, "fx", [quotes(tmp_path, "sim_X_quotes_1.csv.gz", [T0])])
    events = fx / data.EVENTS_NAME
    events.unlink()
    os.mkfifo(events)
    for call in (lambda: data.sources_from_args([fx]), lambda: data.describe_source(fx)):
        assert refused("VT514", call).file == str(events)
    manifest = fx / data.MANIFEST_NAME
    manifest.unlink()
    os.mkfifo(manifest)
    assert refused("VT514", lambda: data.read_manifest(fx)).file == str(manifest)


def test_a_device_or_a_directory_named_like_a_data_file_is_vt514(tmp_path: Path) -> None:
    device = tmp_path / "sim_X_quotes_1.csv"
    device.symlink_to(os.devnull)
    assert "character device" in refused("VT514", lambda: data.read_events(device)).message
    directory = tmp_path / "sim_Y_quotes_1.csv.gz"
    directory.mkdir()
    assert "directory" in refused("VT514", lambda: data.read_events(directory)).message
    args = dict(name="x", source="x", licence="MIT")
    refused("VT514", lambda: data.import_files([directory], tmp_path / "fx", **args))  # type: ignore[arg-type]


# ── a byte that is not UTF-8 is reported at its own line ────────────────────────────────────────


def rows_with_a_bad_byte(n: int, bad_line: int, cell: str) -> bytes:
    """A quotes file of ``n`` rows with byte 0xff in ``cell`` of (1-based, header = 1) ``bad_line``."""
    lines = [b"ts_ns,bid,bid_qty,ask,ask_qty"]
    for k in range(1, n + 1):
        bid = b"100.0\xff" if cell == "bid" and k + 1 == bad_line else b"100.0"
        lines.append(b"%d,%s,1,100.5,2" % (T0 + k, bid))
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_a_bad_byte_on_line_102_is_reported_on_line_102(tmp_path: Path, compress: bool) -> None:
    name = "sim_X_quotes_1.csv" + (".gz" if compress else "")
    path = write(tmp_path / name, rows_with_a_bad_byte(300, 102, "bid"), compress=compress)
    seen: list[MarketEvent] = []
    error = refused("VT500", lambda: seen.extend(data.read_events(path)))
    assert (error.file, error.line) == (str(path), 102)
    assert "not UTF-8" in error.message and "0xff" in error.message and "'bid'" in error.message
    assert len(seen) == 100  # the rows before it came out, as for any other error


def test_a_bad_byte_in_a_trade_id_is_reported_at_its_line(tmp_path: Path) -> None:
    rows = [b"ts_ns,price,qty,aggressor,trade_id"]
    rows += [b"%d,1,1,buy,id%d" % (T0 + k, k) for k in range(1, 400)]
    rows[250] = b"%d,1,1,buy,id\xe9" % (T0 + 250)  # Latin-1 e-acute: a trade id is free text
    # a quoted trade id over two lines, the bad byte on the second: line 351 holds it
    rows[349] = b'%d,1,1,buy,"a\nb\xfe"' % (T0 + 349)
    path = write(tmp_path / "sim_X_trades_1.csv.gz", b"\n".join(rows) + b"\n")
    assert refused("VT500", lambda: data.read_events(path)).line == 251
    rows[250] = b"%d,1,1,buy,id250" % (T0 + 250)
    path = write(tmp_path / "sim_X_trades_1.csv.gz", b"\n".join(rows) + b"\n")
    assert refused("VT500", lambda: data.read_events(path)).line == 351


def test_a_bad_byte_in_a_header_is_line_1(tmp_path: Path) -> None:
    path = write(tmp_path / "us_X_dailyclose_1.csv.gz", b"date,A\xffB\n2020-01-02,1\n")
    error = refused("VT500", lambda: data.read_events(path))
    assert (error.line, "not UTF-8" in error.message) == (1, True)
    assert refused("VT500", lambda: data.symbols_in(path)).line == 1


# ── file-system errors are typed, never a traceback ─────────────────────────────────────────────


def deny(monkeypatch: pytest.MonkeyPatch, target: Path) -> None:
    """Opening ``target`` fails with EACCES, as for a file without read permission (the tests run
    as root, for whom chmod does not deny anything)."""
    real_os_open, real_open = os.open, builtins.open

    def check(path: Any) -> None:
        if isinstance(path, str | os.PathLike) and Path(path) == target:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    def os_open(path: Any, *args: Any, **kwargs: Any) -> int:
        check(path)
        return real_os_open(path, *args, **kwargs)

    def open_(path: Any, *args: Any, **kwargs: Any) -> Any:
        check(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", open_)


def test_permission_denied_is_a_data_error_naming_path_and_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    panel = write(tmp_path / "us_X_dailyclose_1.csv.gz", "date,A\n2020-01-02,1\n")
    deny(monkeypatch, panel)
    for call in (
        lambda: data.symbols_in(panel),
        lambda: data.read_events(panel),
        lambda: data.describe_source(panel),
        lambda: data.sources_from_args([panel]),
    ):
        error = refused("VT500", call)
        assert error.file == str(panel)
        assert "permission denied" in error.message.lower()


def test_an_unreadable_panel_header_is_a_data_error(tmp_path: Path) -> None:
    panel = write(tmp_path / "us_X_dailyclose_1.csv.gz", "date,A\n2020-01-02,1\n", compress=False)
    error = refused("VT500", lambda: data.symbols_in(panel))
    assert (error.file, "gzip" in error.message) == (str(panel), True)


def test_a_file_that_vanishes_before_it_is_read_is_a_data_error(tmp_path: Path) -> None:
    fx = fixture(tmp_path, "fx", [quotes(tmp_path, "sim_X_quotes_1.csv.gz", [T0, T0 + 1])])
    chunks = data.read_fixture_chunks(fx)  # checked: the manifest and the sha of events.vtm
    (fx / data.EVENTS_NAME).unlink()
    error = refused("VT509", lambda: chunks)
    assert error.file == str(fx / data.EVENTS_NAME) and "no such file" in error.message
    csv_file = quotes(tmp_path, "sim_Y_quotes_1.csv.gz", [T0])
    stream = data.sources_from_args([csv_file])
    csv_file.unlink()
    assert "no such file" in refused("VT500", lambda: stream).message


@pytest.mark.usefixtures("no_hang")
def test_a_data_error_is_all_the_cli_prints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "ftx_BTC-PERP_bars1m_1.csv.gz"
    os.mkfifo(fifo)
    out = tmp_path / "run"
    assert main(["replay", str(SMA_CROSS), "--data", str(fifo), "--quiet", "--out", str(out)]) == 1
    printed = capsys.readouterr()
    assert printed.out == ""
    # the error line and its hint, nothing else
    error, hint = printed.err.splitlines()
    assert error.startswith(f"error: {fifo}: VT514 not a regular file: it is a FIFO")
    assert hint == f"  hint: {ERROR_CODES['VT514'].hint}"
    assert not out.exists()


def test_events_read_back_are_unchanged(tmp_path: Path) -> None:
    """The checks change nothing that passes them: every kind reads as before."""
    q = quotes(tmp_path, "sim_Q_quotes_1.csv.gz", [T0, T0, T0 + 1])
    b = bars(tmp_path, "sim_B_bars1m_1.csv.gz", [T0, T0 + MINUTE])
    events = every_event([q, b])
    assert [type(e) for e in events] == [QuoteTick, QuoteTick, QuoteTick, Bar, Bar]
    assert events[-1].ts_event == T0 + 2 * MINUTE
