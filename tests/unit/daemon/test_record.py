"""``vibetrading record``'s writer: the shared data format, atomic files, and a round trip through
the data reader (a recording replays as what was streamed)."""

from __future__ import annotations

import asyncio
import io
import itertools
from decimal import Decimal as D
from pathlib import Path

import pytest

from adapters.sim.market_data import ReplayMarketData
from daemon.data.csvfiles import read_events
from daemon.record import Recorder, RecordError, output_paths, record
from engines.model.enums import Side
from engines.model.events import QuoteTick, TradeTick

SPOT = "binance-spot:BTCUSDT"
T0 = 1_764_720_000_000_000_000


@pytest.mark.parametrize("kind", ["quotes", "trades"])
async def test_a_recording_reads_back_as_the_stream_it_recorded(
    shared_data: Path, tmp_path: Path, kind: str
) -> None:
    source = shared_data / f"binance-spot_BTCUSDT_{kind}_20240808.csv.gz"
    streamed = list(itertools.islice(read_events(source), 2000))
    out = tmp_path / f"binance-spot_BTCUSDT_{kind}_20261203.csv.gz"
    log = io.StringIO()
    done = await record(ReplayMarketData(streamed), [SPOT], kind, str(out), duration_s=10, log=log)  # type: ignore[arg-type]
    assert done == [(out, 2000, 0)]
    assert list(read_events(out)) == streamed  # exact strings, same order, same times
    assert not list(tmp_path.glob("*.partial"))


def test_several_symbols_get_one_data_named_file_each(tmp_path: Path) -> None:
    out = tmp_path / "binance-spot_BTCUSDT_quotes_20261203.csv.gz"
    paths = output_paths(str(out), ["binance-spot:BTCUSDT", "binance-usdm:ETHUSDT"], "quotes")
    assert [p.name for p in paths.values()] == [
        "binance-spot_BTCUSDT_quotes_20261203.csv.gz",
        "binance-usdm_ETHUSDT_quotes_20261203.csv.gz",
    ]
    with pytest.raises(RecordError, match="name the file as the data files are named") as err:
        output_paths(str(tmp_path / "mine.csv.gz"), ["binance-spot:BTCUSDT", "bybit-spot:BTCUSDT"], "quotes")
    assert err.value.code == "VT730"
    with pytest.raises(RecordError, match=r"must end in \.csv\.gz"):
        output_paths(str(tmp_path / "mine.csv"), [SPOT], "quotes")


def test_a_venue_clock_stepping_back_is_clamped_and_counted(tmp_path: Path) -> None:
    recorder = Recorder("trades", {SPOT: tmp_path / "binance-spot_BTCUSDT_trades_1.csv.gz"})
    recorder.open()
    for ts, tid in [(T0 + 2_000, "1"), (T0 + 1_000, "2"), (T0 + 3_000, "3")]:
        recorder.write(
            TradeTick(
                ts_event=ts,
                ts_init=ts,
                instrument=SPOT,
                price=D("1.50"),
                size=D("2"),
                aggressor=Side.SELL,
                trade_id=tid,
            )
        )
    assert not recorder.write(  # another kind is not written
        QuoteTick(ts_event=1, ts_init=1, instrument=SPOT, bid=D(1), bid_size=D(1), ask=D(2), ask_size=D(1))
    )
    [(path, rows, clamped)] = recorder.finish()
    assert (rows, clamped) == (3, 1)
    assert [e.ts_event - T0 for e in read_events(path)] == [2_000, 2_000, 3_000]


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "x.csv.gz"
    out.write_bytes(b"precious")
    with pytest.raises(RecordError, match="exists"):
        Recorder("quotes", {SPOT: out}).open()
    assert out.read_bytes() == b"precious"


async def test_stop_ends_a_recording_cleanly(tmp_path: Path) -> None:
    class Endless(ReplayMarketData):
        async def _stream(self):  # type: ignore[no-untyped-def,override]
            k = 0
            while not self._closed:
                k += 1
                yield QuoteTick(
                    ts_event=k, ts_init=k, instrument=SPOT, bid=D(1), bid_size=D(1), ask=D(2), ask_size=D(1)
                )
                await asyncio.sleep(0)

    stop = asyncio.Event()
    out = tmp_path / "q.csv.gz"
    task = asyncio.create_task(
        record(Endless([]), [SPOT], "quotes", str(out), duration_s=None, log=io.StringIO(), stop=stop)
    )
    await asyncio.sleep(0.05)
    stop.set()
    [(path, rows, _)] = await asyncio.wait_for(task, 2)
    assert path == out and rows > 0
