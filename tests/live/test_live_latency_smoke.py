"""The live latency bench (tests/bench/live_latency.py) runs end to end with a tiny n: a live session
against the Binance emulator decides on every quote, each order reaches the emulator, and the bench
prints its table, the fsync cost and the loopback figures (and writes them as JSON)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "live_latency.py"
N = 50


def test_live_latency_bench_prints_its_figures(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    args = ["--n", str(N), "--warmup", "5", "--scale-n", "50", "--timeout", "5", "--deadline", "30"]
    proc = subprocess.run(
        [sys.executable, str(BENCH), *args, "--dir", str(tmp_path), "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    stdout = proc.stdout
    assert "p50 µs" in stdout and "p99 µs" in stdout and "max µs" in stdout
    for loop in ("asyncio", "uvloop"):
        assert f"fsync cost added ({loop})" in stdout
        assert f"{loop}: aiohttp HTTP round trip" in stdout
    assert "write + fdatasync" in stdout
    figures = json.loads(out.read_text())
    rows = figures["results"]
    assert {(r["loop"], r["durable"]) for r in rows} == {
        ("asyncio", False),
        ("asyncio", True),
        ("uvloop", False),
        ("uvloop", True),
    }
    for row in rows:
        assert row["n"] == N
        assert 0 < row["p50_us"] <= row["p99_us"] <= row["max_us"]
        assert row["p50_us"] < row["publish_p50_us"]  # the frame leaves after it is published
        assert all(v > 0 for v in row["segments_p50_us"].values())
    assert figures["scale_p50_us"]["fdatasync"] > 0
