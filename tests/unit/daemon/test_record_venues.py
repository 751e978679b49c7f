"""``vibetrading record`` against the emulators: a venue's real stream, through our market-data
clients, to data files the replay reads back."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path

import pytest

from adapters.binance.emulator import serve_binance
from adapters.bybit.emulator import serve_bybit
from adapters.emulator import EmulatorOptions
from adapters.registry import MergedMarketData, VenueSetupError, market_data_for
from daemon.data.csvfiles import read_events
from daemon.record import record
from engines.model.events import QuoteTick, TradeTick

REPO = Path(__file__).resolve().parents[3]
FAST_WALK = EmulatorOptions(walk=True, walk_interval_s=0.005, seed=4)


@pytest.mark.parametrize(
    ("serve", "venue", "symbols"),
    [
        (serve_binance, "binance", ["binance-spot:BTCUSDT", "binance-usdm:BTCUSDT"]),
        (serve_bybit, "bybit", ["bybit-spot:BTCUSDT", "bybit-linear:ETHUSDT"]),
    ],
)
@pytest.mark.parametrize("kind", ["quotes", "trades"])
async def test_a_recording_of_each_market_replays(
    serve: object, venue: str, symbols: list[str], kind: str, tmp_path: Path
) -> None:
    async with await serve(FAST_WALK) as emu:  # type: ignore[operator]
        client = market_data_for(venue, symbols, rest_url=emu.http_root, ws_url=emu.ws_root)
        out = tmp_path / f"{symbols[0].replace(':', '_')}_{kind}_20261203.csv.gz"
        done = await record(client, symbols, kind, str(out), duration_s=1.0, log=io.StringIO())  # type: ignore[arg-type]
    assert [path.name.split("_")[:3] for path, _, _ in done] == [
        [s.split(":")[0], s.split(":")[1], kind] for s in symbols
    ]
    for (path, rows, _), symbol in zip(done, symbols, strict=True):
        events = list(read_events(path))
        assert len(events) == rows > 0, path
        kind_type = QuoteTick if kind == "quotes" else TradeTick
        assert all(isinstance(e, kind_type) and e.instrument == symbol for e in events)


async def test_binance_across_markets_is_one_merged_client() -> None:
    client = market_data_for("binance", ["binance-spot:BTCUSDT", "binance-usdm:BTCUSDT"])
    assert isinstance(client, MergedMarketData)
    await client.close()
    with pytest.raises(
        VenueSetupError, match="binance serves binance-spot, binance-usdm; not bybit-spot"
    ) as err:
        market_data_for("binance", ["bybit-spot:BTCUSDT"])
    assert err.value.code == "VT811"
    with pytest.raises(VenueSetupError, match="both --rest-url and --ws-url"):
        market_data_for("bybit", ["bybit-spot:BTCUSDT"], rest_url="http://127.0.0.1:1")


async def test_the_record_command_end_to_end(tmp_path: Path) -> None:
    async with await serve_binance(FAST_WALK) as emu:
        out = tmp_path / "binance-spot_BTCUSDT_quotes_20261203.csv.gz"
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from daemon.cli import entrypoint; entrypoint()",
            "record",
            "binance",
            "--symbol",
            "binance-spot:BTCUSDT",
            "--kind",
            "quotes",
            "--out",
            str(out),
            "--duration",
            "1",
            "--rest-url",
            emu.http_root,
            "--ws-url",
            emu.ws_root,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        async with asyncio.timeout(30):
            stdout, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr.decode()
    assert stdout.decode().startswith(f"wrote {out}: ")
    assert len(list(read_events(out))) > 10
