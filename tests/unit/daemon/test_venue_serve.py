"""``vibetrading venue serve``: a real process on loopback that prints its URLs, serves the venue's
protocol and the state route, plays data files, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from daemon.cli import main

REPO = Path(__file__).resolve().parents[3]


async def _start(*args: str) -> tuple[asyncio.subprocess.Process, dict[str, str], list[str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from daemon.cli import entrypoint; entrypoint()",
        "venue",
        "serve",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    lines: list[str] = []
    urls: dict[str, str] = {}
    async with asyncio.timeout(20):
        while "balances" not in urls:
            line = (await proc.stdout.readline()).decode()
            if not line:
                assert proc.stderr is not None
                pytest.fail(f"serve ended early: {lines} {(await proc.stderr.read()).decode()}")
            lines.append(line.rstrip())
            key, _, value = line.strip().partition(" ")
            urls[key] = value.strip()
    return proc, urls, lines


async def _stop(proc: asyncio.subprocess.Process) -> str:
    proc.send_signal(signal.SIGTERM)
    async with asyncio.timeout(10):
        out, _ = await proc.communicate()
    assert proc.returncode == 0
    return out.decode()


@pytest.mark.parametrize(("venue", "time_path"), [("binance", "/api/v3/time"), ("bybit", "/v5/market/time")])
async def test_serve_prints_its_urls_serves_the_venue_and_stops_on_sigterm(
    venue: str, time_path: str
) -> None:
    proc, urls, lines = await _start(venue, "--port", "0", "--seed", "3", "--faults", "5xx=0.5,delay-ms=1")
    try:
        assert lines[0] == f"{venue} emulator serving"
        rest = urls["rest"]
        assert rest.startswith("http://127.0.0.1:") and urls["websocket"] == rest.replace("http", "ws")
        assert "5xx=0.5" in urls["faults"] and "(seed 3)" in urls["faults"]
        async with aiohttp.ClientSession() as session:
            async with asyncio.timeout(5), session.get(rest + time_path) as resp:
                assert resp.status == 200
            async with asyncio.timeout(5), session.get(urls["state"]) as resp:
                state = await resp.json()
        assert state["venue"] == venue
        assert list(state["accounts"]) == ["vibetrading-test-key"]
    finally:
        out = await _stop(proc)
    assert out.strip().endswith(f"{venue} emulator stopped")


async def test_serve_plays_data_files(shared_data: Path) -> None:
    data = shared_data / "binance-usdm_BTCUSDT_quotes_20240808.csv.gz"
    proc, urls, _ = await _start("binance", "--data", str(data), "--speed", "50", "--balance", "USDT=500")
    try:
        assert urls["market"] == "1 data file(s) at 50x"
        assert "binance-usdm:BTCUSDT" in urls["symbols"]
        assert urls["balances"] == "USDT=500"
        async with (
            aiohttp.ClientSession() as session,
            asyncio.timeout(5),
            session.get(urls["rest"] + "/fapi/v1/ticker/bookTicker", params={"symbol": "BTCUSDT"}) as resp,
        ):
            book = await resp.json()
        assert 50_000 < float(book["bidPrice"]) < 70_000  # the recording's prices, not the walk's
    finally:
        await _stop(proc)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["binance", "--faults", "boom=0.1"], "unknown fault kind 'boom'"),
        (["binance", "--balance", "USDT"], "expected ASSET=AMOUNT"),
        (["bybit", "--symbol", "binance-spot:BTCUSDT"], "serves bybit-spot, bybit-linear only"),
        (["binance", "--speed", "0"], "--speed 0.0: must be above 0"),
        (["binance", "--keys", "/nonexistent/keys.json"], "--keys /nonexistent/keys.json"),
    ],
)
def test_bad_options_are_typed_errors(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["venue", "serve", *args]) == 1
    err = capsys.readouterr().err
    assert "VT808" in err and message in err


def test_data_of_another_venue_is_refused(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = shared_data / "binance-spot_BTCUSDT_trades_20240808.csv.gz"
    assert main(["venue", "serve", "bybit", "--data", str(data)]) == 1
    assert "serves bybit-spot, bybit-linear only" in capsys.readouterr().err


def test_keys_file_names_the_accounts(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"alice": "s1", "bob": "s2"}))
    from daemon.venue_serve import ServeArgs

    assert sorted(ServeArgs("binance", keys=str(keys)).keys) == ["alice", "bob"]
