"""Helpers for replay tests: run the real replay command into a temporary directory."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.replay import ReplayConfig, ReplayResult, replay

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
FTX = DATA / "ftx_BTC-PERP_bars1m_20211231-20220201.csv.gz"
SMA = REPO / "strategies" / "examples" / "sma_cross.py"

sys.path.insert(0, str(Path(__file__).parent))


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared/data beside the repository)")
    return path


def run_replay(
    out: Path, strategy: Path, data: list[Path], *, params: tuple[str, ...] = (), **kw: object
) -> ReplayResult:
    cfg = ReplayConfig(
        strategy=strategy,
        data=tuple(data),
        out=out,
        params=params,
        cash=Decimal(str(kw.pop("cash", "10000"))),
        fee_bps=Decimal(str(kw.pop("fee_bps", "10"))),
        quiet=True,
        **kw,  # type: ignore[arg-type]
    )
    return replay(cfg)
