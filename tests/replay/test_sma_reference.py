"""The SMA-cross replay equals an independent backtester (backtrader) trade by trade and to the cent."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from decimal import Decimal
from pathlib import Path

import pytest
import reference_backtrader
from conftest import FTX, SMA, need, run_replay

from daemon.replay import read_journal
from engines.model.events import OrderFilled

CENT = Decimal("0.01")


def _ours(
    out: Path, data: Path, fast: int, slow: int
) -> tuple[Decimal, list[tuple[str, Decimal, dt.datetime]]]:
    result = run_replay(out, SMA, [data], params=(f"fast={fast}", f"slow={slow}", "size=0.01"))
    fills = [
        (e.side.value, e.last_px, dt.datetime.fromtimestamp(e.ts_event / 1e9, tz=dt.UTC).replace(tzinfo=None))
        for e in read_journal(out / "journal.vtj")
        if isinstance(e, OrderFilled)
    ]
    return Decimal(result.report.final_equity), fills


def _theirs(data: Path, fast: int, slow: int) -> tuple[Decimal, list[tuple[str, Decimal, dt.datetime]]]:
    res = reference_backtrader.run(data, fast=fast, slow=slow, size="0.01", cash="10000", fee_bps="10")
    fills = [(side, Decimal(repr(px)), when) for side, px, _size, when in res["fills"]]  # type: ignore[attr-defined]
    return Decimal(repr(res["final_equity"])), fills


def _assert_same(ours: tuple[Decimal, list[object]], theirs: tuple[Decimal, list[object]]) -> None:
    equity, fills = ours
    ref_equity, ref_fills = theirs
    assert fills == ref_fills
    assert equity.quantize(CENT) == ref_equity.quantize(CENT)


@pytest.mark.slow
def test_sma_cross_on_ftx_matches_backtrader_trade_by_trade(tmp_path: Path) -> None:
    data = need(FTX)
    ours = _ours(tmp_path / "run", data, 10, 30)
    assert len(ours[1]) > 1000
    _assert_same(ours, _theirs(data, 10, 30))


def _write_bars(path: Path, closes: list[str]) -> Path:
    with gzip.open(path, "wt", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["ts_ns", "open", "high", "low", "close", "volume"])
        for i, close in enumerate(closes):
            px = Decimal(close)
            writer.writerow(
                [1_700_000_000_000_000_000 + i * 60_000_000_000, close, px + 1, px - 1, close, "1"]
            )
    return path


def test_below_equal_above_is_not_a_cross_in_either_backtester(tmp_path: Path) -> None:
    # fast=1, slow=2: fast - slow has the sign of close[t] - close[t-1]
    closes = ["100", "99", "99", "100", "101", "100", "99", "98", "99", "100", "100", "99", "101", "102"]
    data = _write_bars(tmp_path / "ftx_BTC-PERP_bars1m_synthetic.csv.gz", closes)
    ours = _ours(tmp_path / "run", data, 1, 2)
    theirs = _theirs(data, 1, 2)
    _assert_same(ours, theirs)
    # 99 → 99 → 100 goes below → equal → above: no entry there; the first entry is 98 → 99
    assert ours[1][0][0] == "buy"
    assert ours[1][0][1] == Decimal("100")  # filled at the next bar's open after 98 → 99
