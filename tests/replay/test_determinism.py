"""Identical inputs give a byte-identical journal and report: across runs and across event loops."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import DATA, REPO, SMA, need, run_replay

OUTPUTS = ("journal.vtj", "report.json", "trades.csv", "equity.csv", "report.html")


def digests(out: Path) -> dict[str, str]:
    return {name: hashlib.sha256((out / name).read_bytes()).hexdigest() for name in OUTPUTS}


@pytest.mark.parametrize("loops", [("asyncio", "asyncio"), ("asyncio", "uvloop")])
def test_quote_replay_is_byte_identical(tmp_path: Path, loops: tuple[str, str]) -> None:
    data = need(DATA / "binance-spot_BTCUSDT_quotes_20240808.csv.gz")
    strategy = REPO / "tests" / "replay" / "strategies" / "mid_sma.py"
    runs = [
        run_replay(tmp_path / f"run{i}", strategy, [data], loop=loop, fee_bps="2", cash="100000")
        for i, loop in enumerate(loops)
    ]
    assert runs[0].report.fills > 0, "the determinism check needs a run that trades"
    assert digests(tmp_path / "run0") == digests(tmp_path / "run1")
    assert (
        runs[0].report.journal_sha256
        == hashlib.sha256((tmp_path / "run0" / "journal.vtj").read_bytes()).hexdigest()
    )


def test_bar_replay_is_byte_identical_under_uvloop(tmp_path: Path) -> None:
    data = need(DATA / "ftx_BTC-PERP_bars1m_20211231-20220201.csv.gz")
    run_replay(tmp_path / "a", SMA, [data], loop="asyncio")
    run_replay(tmp_path / "b", SMA, [data], loop="uvloop")
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
