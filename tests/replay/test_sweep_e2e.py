"""Sweeps on a real local Ray: every trial byte-identical to the same replay run alone.

Ray starts once for the module (a few seconds on a 2-CPU machine). The grid tests use the first
three days of the FTX minute bars (a trial is a fraction of a second); walk-forward runs on the
whole month.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import FTX, SMA, need

from daemon.cli import main
from daemon.replay import JOURNAL_NAME, ReplayConfig, replay
from daemon.sweep.run import RayPool, SweepConfig, SweepResult, run_sweep
from daemon.sweep.spec import SweepError, parse_grid, parse_objective, parse_walk_forward
from engines.units import NS_PER_DAY

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def pool() -> Iterator[RayPool]:
    started = RayPool(workers=2)
    yield started
    started.close()


@pytest.fixture(scope="module")
def bars(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The FTX file's first three days (4,320 bars), under a data file name of its own."""
    with gzip.open(need(FTX), "rt") as src:
        lines = src.read().splitlines(keepends=True)[: 1 + 3 * 1440]
    path = tmp_path_factory.mktemp("data") / "ftx_BTC-PERP_bars1m_20211231-20220103.csv.gz"
    with gzip.GzipFile(path, "wb", mtime=0) as out:
        out.write("".join(lines).encode())
    return path


def _config(data: Path, out: Path, grid: list[str], **kw: object) -> SweepConfig:
    objective = str(kw.pop("objective", "total_return"))
    walk = kw.pop("walk_forward", None)
    seed = int(kw.pop("seed", 0))  # type: ignore[call-overload]
    return SweepConfig(
        base=ReplayConfig(
            strategy=SMA,
            data=(data,),
            out=out,
            cash=Decimal(10_000),
            fee_bps=Decimal(10),
            quiet=True,
            seed=seed,
        ),
        axes=parse_grid(grid),
        objective=parse_objective(objective, ("total_return", "sharpe", "max_drawdown")),
        walk_forward=None if walk is None else parse_walk_forward(str(walk)),
        workers=2,
        **kw,  # type: ignore[arg-type]
    )


def _single_replay(data: Path, out: Path, params: dict[str, str], seed: int = 0) -> bytes:
    """The same trial run alone, by the ``vibetrading replay`` command."""
    argv = ["replay", str(SMA), "--data", str(data), "--out", str(out), "--quiet", "--json"]
    argv += ["--cash", "10000", "--fee-bps", "10", "--seed", str(seed)]
    for name, value in params.items():
        argv += ["--param", f"{name}={value}"]
    assert main(argv) == 0
    return (out / JOURNAL_NAME).read_bytes()


def test_twenty_trials_each_equal_to_its_single_replay(
    pool: RayPool, bars: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    progress = io.StringIO()
    result = run_sweep(
        _config(bars, tmp_path / "sweep", ["fast=3..7", "slow=20,30,40,50"]), pool=pool, stream=progress
    )
    assert len(result.rows) == 20
    assert all(r["status"] == "ok" for r in result.rows), [r["error"] for r in result.rows]
    digests = set()
    for row in result.rows:
        alone = _single_replay(bars, tmp_path / f"alone{row['trial']}", row["params"])
        trial = (tmp_path / "sweep" / row["out"] / JOURNAL_NAME).read_bytes()
        assert trial == alone, row["params"]
        digests.add(row["journal_sha256"])
    assert len(digests) == 20  # the parameters reached the strategy: every trial traded differently
    # best/ is the best trial's replay directory
    assert result.best is not None
    best = next(r for r in result.rows if r["trial"] == result.best)
    values = [Decimal(r["report"]["total_return"]) for r in result.rows]
    assert Decimal(best["report"]["total_return"]) == max(values)
    assert (tmp_path / "sweep" / "best" / JOURNAL_NAME).read_bytes() == (
        tmp_path / "sweep" / best["out"] / JOURNAL_NAME
    ).read_bytes()
    assert {"results.csv", "results.json", "sweep.html", "best"} <= {
        p.name for p in (tmp_path / "sweep").iterdir()
    }
    lines = progress.getvalue().splitlines()
    assert lines[-1].startswith("sweep: 20/20 done, 0 running, 0 failed, best total_return ")


def test_a_failing_trial_is_reported_and_the_sweep_goes_on(pool: RayPool, bars: Path, tmp_path: Path) -> None:
    progress = io.StringIO()
    result = run_sweep(_config(bars, tmp_path / "sweep", ["slow=1,30"]), pool=pool, stream=progress)
    failed, ok = result.rows
    assert failed["status"] == "error" and failed["error"].startswith("VT111")
    assert "slow" in failed["error"] and failed["out"] is None and "report" not in failed
    assert ok["status"] == "ok" and result.best == 1
    saved = json.loads((tmp_path / "sweep" / "results.json").read_text())
    assert [t["status"] for t in saved["trials"]] == ["error", "ok"]
    rows = list(csv.DictReader((tmp_path / "sweep" / "results.csv").open()))
    assert rows[0]["error"].startswith("VT111") and rows[1]["journal_sha256"] == ok["journal_sha256"]
    assert "1 failed" in progress.getvalue().splitlines()[-1]


def test_walk_forward_on_the_ftx_month(pool: RayPool, tmp_path: Path) -> None:
    cfg = _config(need(FTX), tmp_path / "wf", ["fast=5,20"], walk_forward="14d/7d")
    result = run_sweep(cfg, pool=pool, stream=io.StringIO())
    # the month holds two 14-day trains each followed by a 7-day test (days 14-21 and 21-28)
    assert len(result.windows) == 2
    train = [r for r in result.rows if r["phase"] == "train"]
    tests = [r for r in result.rows if r["phase"] == "test"]
    assert len(train) == 4 and len(tests) == 2
    assert all(r["status"] == "ok" for r in result.rows)
    for window, test in zip(result.windows, tests, strict=True):
        assert window["train_end_ns"] - window["train_start_ns"] == 14 * NS_PER_DAY
        assert window["test_end_ns"] - window["train_end_ns"] == 7 * NS_PER_DAY
        mine = [r for r in train if r["window"] == window["window"]]
        chosen = max(mine, key=lambda r: Decimal(r["report"]["total_return"]))
        assert window["chosen"] == chosen["params"] == test["params"]
        # the test trial replays its test window only
        assert window["train_end_ns"] <= test["report"]["first_ts_ns"]
        assert test["report"]["last_ts_ns"] < window["test_end_ns"]
        # and is the same replay as one run alone over that window
        alone = replay(
            ReplayConfig(
                strategy=SMA,
                data=(FTX,),
                out=tmp_path / f"alone{test['trial']}",
                params=tuple(f"{k}={v}" for k, v in test["params"].items()),
                cash=Decimal(10_000),
                fee_bps=Decimal(10),
                quiet=True,
                start_ns=window["train_end_ns"],
                end_ns=window["test_end_ns"],
            )
        )
        assert alone.report.journal_sha256 == test["journal_sha256"]
    assert result.best in {t["trial"] for t in tests}


def _optuna(pool: RayPool, bars: Path, out: Path, seed: int) -> SweepResult:
    cfg = _config(bars, out, ["fast=2..15", "slow=20,30,40"], search="optuna", trials=4, seed=seed)
    return run_sweep(cfg, pool=pool, stream=io.StringIO())


def test_optuna_is_reproducible_with_its_seed(pool: RayPool, bars: Path, tmp_path: Path) -> None:
    first = _optuna(pool, bars, tmp_path / "a", seed=7)
    again = _optuna(pool, bars, tmp_path / "b", seed=7)
    other = _optuna(pool, bars, tmp_path / "c", seed=8)

    def picks(result: SweepResult) -> list[tuple[dict[str, str], str | None]]:
        return [(r["params"], r.get("journal_sha256")) for r in result.rows]

    assert len(first.rows) == 4 and all(r["phase"] == "optuna" for r in first.rows)
    assert picks(first) == picks(again)
    assert [r["params"] for r in first.rows] != [r["params"] for r in other.rows]


def test_walk_forward_with_an_optuna_search_on_each_train_window(
    pool: RayPool, bars: Path, tmp_path: Path
) -> None:
    def sweep(out: str) -> SweepResult:
        grid = ["fast=2..15", "slow=20,30"]
        cfg = _config(bars, tmp_path / out, grid, walk_forward="12h/12h", search="optuna", trials=2)
        return run_sweep(cfg, pool=pool, stream=io.StringIO())

    result = sweep("a")
    assert len(result.windows) == 4  # three days: trains start every 12 h, the last test ends at 60 h
    train = [r for r in result.rows if r["phase"] == "train"]
    tests = [r for r in result.rows if r["phase"] == "test"]
    assert len(train) == 8 and len(tests) == 4
    assert [r["trial"] for r in result.rows] == list(range(12))
    assert all(r["status"] == "ok" for r in result.rows), [r.get("error") for r in result.rows]
    for window, test in zip(result.windows, tests, strict=True):
        mine = [r for r in train if r["window"] == window["window"]]
        assert len(mine) == 2
        for r in mine:  # each train trial replays its train window only
            assert window["train_start_ns"] <= r["report"]["first_ts_ns"]
            assert r["report"]["last_ts_ns"] < window["train_end_ns"]
        chosen = max(mine, key=lambda r: Decimal(r["report"]["total_return"]))
        assert window["chosen"] == chosen["params"] == test["params"]
        assert window["train_end_ns"] <= test["report"]["first_ts_ns"]
    # each window's search is seeded on its own, and the whole is reproducible
    assert len({tuple(sorted(r["params"].items())) for r in train}) > 2
    again = sweep("b")
    assert [(r["params"], r["journal_sha256"]) for r in again.rows] == [
        (r["params"], r["journal_sha256"]) for r in result.rows
    ]


def test_cli_sweep_and_its_errors(
    pool: RayPool, bars: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli"
    argv = ["sweep", str(SMA), "--data", str(bars), "--grid", "fast=5,10", "--out", str(out), "--quiet"]
    assert main([*argv, "--grid", "slow=30", "--objective", "max_drawdown:min", "--fee-bps", "10"]) == 0
    printed = capsys.readouterr().out
    assert "trials     2 (0 failed)" in printed and "best       trial" in printed
    assert "<svg" not in (out / "sweep.html").read_text()  # one parameter swept: no heatmap
    assert main([*argv, "--grid", "sloow=1", "--force"]) == 1
    err = capsys.readouterr().err
    assert "no parameter 'sloow'" in err and "hint:" in err
    with pytest.raises(SweepError, match="needs --trials"):
        run_sweep(_config(bars, tmp_path / "x", ["fast=5"], search="optuna"), pool=pool)
