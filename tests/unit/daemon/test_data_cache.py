"""The decoded-data cache (daemon/data/cache.py): the same batches as the CSV reader, the same journal,
content-keyed, never stale, never failing a replay, bounded, and built off the replay's path."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from daemon import data
from daemon.data.cache import CACHE_ENV, DataCache, cached_batches
from daemon.data.fixture import DEFAULT_BATCH, EVENTS_NAME
from daemon.data.merging import batched
from daemon.replay import ReplayConfig, replay
from engines.model.events import MarketEvent

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "data"
#: one file of each kind the cache takes: quotes, trades, bars
FILES = [
    "binance-usdm_BTCUSDT_quotes_20240808.csv.gz",
    "binance-spot_BTCUSDT_trades_20240808.csv.gz",
    "ftx_BTC-PERP_bars1m_20211231-20220201.csv.gz",
]
STRATEGY = REPO / "tests" / "bench" / "strategies" / "sma_mid_indicators.py"


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not beside the repository")
    return SHARED


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def csv_batches(path: Path) -> list[list[MarketEvent]]:
    return list(batched(data.read_events(path), DEFAULT_BATCH))


def lookup(cache: DataCache, path: Path) -> Iterator[list[MarketEvent]] | None:
    return cache.lookup(data.describe(path), sha256(path))


@pytest.mark.parametrize("name", FILES)
def test_an_entry_gives_the_csv_readers_batches(tmp_path: Path, shared: Path, name: str) -> None:
    path = shared / name
    cache = DataCache(tmp_path / "cache", min_bytes=0)
    assert lookup(cache, path) is None
    entry = cache.build(str(path), sha256(path))
    assert entry is not None and (entry / EVENTS_NAME).is_file()
    hit = lookup(cache, path)
    assert hit is not None
    assert list(hit) == csv_batches(path)  # the same events, cut into the same batches
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")]  # no leftovers


def test_a_replay_from_the_cache_writes_the_same_journal_and_report(
    tmp_path: Path, shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = shared / FILES[0]
    cache = DataCache(tmp_path / "cache", min_bytes=0)
    monkeypatch.setattr(DataCache, "from_env", classmethod(lambda cls: cache))

    def run(out: str, **kw: object) -> bytes:
        cfg = ReplayConfig(
            strategy=STRATEGY,
            data=(path,),
            out=tmp_path / out,
            cash=Decimal(1_000_000),
            fee_bps=Decimal(4),
            quiet=True,
            **kw,  # type: ignore[arg-type]
        )
        replay(cfg)
        return (tmp_path / out / "journal.vtj").read_bytes() + (tmp_path / out / "report.json").read_bytes()

    parsed = run("parsed", data_cache=False)
    assert cache.entries() == []  # --no-data-cache neither reads nor fills the cache
    filled = run("filled", data_cache_build="now")
    assert len(cache.entries()) == 1

    def no_csv(*args: object) -> None:
        raise AssertionError("the CSV file was parsed although the cache holds it")

    monkeypatch.setattr("daemon.data.sources.read_events", no_csv)
    cached = run("cached")
    assert parsed == filled == cached


def test_the_key_follows_the_content_and_the_name(tmp_path: Path, shared: Path) -> None:
    source = shared / FILES[0]
    copy = tmp_path / FILES[0]
    copy.write_bytes(source.read_bytes())
    cache = DataCache(tmp_path / "cache", min_bytes=0)
    assert cache.build(str(copy), sha256(copy)) is not None
    assert lookup(cache, copy) is not None
    # one row's size changed: a new key, no stale hit
    text = gzip.decompress(copy.read_bytes()).decode().splitlines()
    first = text[1].split(",")
    first[2] = str(Decimal(first[2]) + 1)
    text[1] = ",".join(first)
    copy.write_bytes(gzip.compress(("\n".join(text) + "\n").encode()))
    assert lookup(cache, copy) is None
    # the same bytes under another name (another instrument): another key
    renamed = tmp_path / FILES[0].replace("binance-usdm", "binance-spot")
    renamed.write_bytes(source.read_bytes())
    assert lookup(cache, renamed) is None


def test_a_broken_entry_is_removed_and_the_csv_parsed(tmp_path: Path, shared: Path) -> None:
    path = shared / FILES[0]
    cache = DataCache(tmp_path / "cache", min_bytes=0)
    entry = cache.build(str(path), sha256(path))
    assert entry is not None
    events = entry / EVENTS_NAME
    blob = bytearray(events.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    events.write_bytes(bytes(blob))
    assert lookup(cache, path) is None
    assert not entry.exists()
    src = data.describe(path)
    got = cached_batches(cache, str(path), src, (sha256(path), path.stat().st_size), build="no")
    assert got is None  # the caller parses the file


def test_a_file_with_a_data_error_is_never_cached(tmp_path: Path, shared: Path) -> None:
    bad = tmp_path / FILES[0]
    rows = gzip.decompress((shared / FILES[0]).read_bytes()).decode().splitlines()
    rows[100] = rows[100].replace(",", ",x", 1)
    bad.write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))
    cache = DataCache(tmp_path / "cache", min_bytes=0)
    assert cache.build(str(bad), sha256(bad)) is None
    assert list((tmp_path / "cache").iterdir()) == []


def test_small_files_and_daily_panels_are_not_cached(tmp_path: Path, shared: Path) -> None:
    cache = DataCache(tmp_path / "cache")  # the default threshold: 1 MiB
    for name in (FILES[0], "krx_KOSPI-6_dailyohlcv_20160104-20191230.csv.gz"):
        path = shared / name
        digest = (sha256(path), path.stat().st_size)
        assert cached_batches(cache, str(path), data.describe(path), digest, build="now") is None
    assert not (tmp_path / "cache").exists()


def test_least_recently_used_entries_go_first(tmp_path: Path, shared: Path) -> None:
    cache = DataCache(tmp_path / "cache", min_bytes=0, max_bytes=1 << 40)
    built = []
    for name in FILES:
        entry = cache.build(str(shared / name), sha256(shared / name))
        assert entry is not None
        os.utime(entry, (time.time() - 100 + len(built), time.time() - 100 + len(built)))
        built.append(entry)
    assert lookup(cache, shared / FILES[0]) is not None  # used now: the most recent
    sizes = {e: s for e, s, _ in cache.entries()}
    cache.max_bytes = sizes[built[0]] + sizes[built[2]]
    cache.evict()
    assert [e for e, _, _ in cache.entries()] == [built[2], built[0]]


def test_a_background_builder_fills_the_entry_once(tmp_path: Path, shared: Path) -> None:
    path = shared / FILES[0]
    cache = DataCache(tmp_path / "cache", min_bytes=0)
    assert cache.build_in_background(str(path), sha256(path))
    assert not cache.build_in_background(str(path), sha256(path))  # one builder per entry
    deadline = time.monotonic() + 120
    while lookup(cache, path) is None:
        assert time.monotonic() < deadline, "the background builder wrote no entry in 120 s"
        time.sleep(0.2)
    while any(p.name.endswith(".lock") for p in (tmp_path / "cache").iterdir()):
        assert time.monotonic() < deadline, "the builder left its lock"
        time.sleep(0.1)
    hit = lookup(cache, path)
    assert hit is not None and list(hit) == csv_batches(path)


def test_warm_cache_builds_the_entries_a_sweep_reads(tmp_path: Path, shared: Path) -> None:
    cache = DataCache(tmp_path / "cache", min_bytes=0)
    paths = [shared / name for name in FILES]
    assert data.warm_cache(paths, cache) == 3
    merged = list(data.sources_from_args(paths, cache=cache, build="no"))
    assert merged == list(data.sources_from_args(paths))


def test_the_data_cache_command_lists_and_clears(tmp_path: Path, shared: Path) -> None:
    root = tmp_path / "cache"
    path = shared / FILES[0]
    assert DataCache(root, min_bytes=0).build(str(path), sha256(path)) is not None
    env = {**os.environ, CACHE_ENV: str(root)}

    def cli(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "daemon.cli", "data", "cache", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout

    listing = cli()
    assert "1 entries" in listing and FILES[0] in listing
    assert "removed 1 entries" in cli("--clear")
    assert "0 entries" in cli()
    env[CACHE_ENV] = "off"
    assert "the data cache is off" in cli()


def test_where_the_cache_lives(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from daemon.data.cache import default_root

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert default_root() == tmp_path / "mine"
    for off in ("off", "OFF", "0", ""):
        monkeypatch.setenv(CACHE_ENV, off)
        assert default_root() is None and DataCache.from_env() is None
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_root() == tmp_path / "xdg" / "vibetrading" / "data"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_root() == tmp_path / "home" / ".cache" / "vibetrading" / "data"

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    assert default_root() is None  # a service account with no home replays without a cache
