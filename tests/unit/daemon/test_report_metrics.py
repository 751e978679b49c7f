"""The report's metrics against a second, straightforward computation written here (floats and
Fractions, no shared code), on hand-made curves and on a real replay's outputs."""

from __future__ import annotations

import csv
import json
import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from daemon import report_metrics as rm
from daemon.cli import main

REPO = Path(__file__).resolve().parents[3]
FIXTURE = REPO / "replay_fixtures" / "krx-kospi6-daily"
DAY = 86_400 * 10**9
YEAR = 365 * DAY


def independent(ts: list[int], eq: list[float], pnls: list[Fraction], held: list[int]) -> dict[str, object]:
    """Textbook definitions (docs/report.md), computed with floats and Fractions."""
    rets = [eq[i] / eq[i - 1] - 1 for i in range(1, len(eq)) if eq[i - 1]]
    n = len(rets)
    mean = sum(rets) / n
    sd = math.sqrt(sum((r - mean) ** 2 for r in rets) / (n - 1))
    gaps = sorted(ts[i] - ts[i - 1] for i in range(1, len(ts)))
    per_year = YEAR / gaps[len(gaps) // 2]
    down = math.sqrt(sum(r * r for r in rets if r < 0) / n)
    peak, mdd = eq[0], 0.0
    for e in eq:
        peak = max(peak, e)
        mdd = max(mdd, (peak - e) / peak)
    years = (ts[-1] - ts[0]) / YEAR
    cagr = (eq[-1] / eq[0]) ** (1 / years) - 1
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p < 0]
    return {
        "volatility": sd * math.sqrt(per_year),
        "sharpe": mean / sd * math.sqrt(per_year),
        "sortino": mean / down * math.sqrt(per_year),
        "cagr": cagr,
        "calmar": cagr / mdd,
        "max_drawdown": mdd,
        "win_rate": Fraction(len(wins), len(pnls)),
        "profit_factor": sum(wins) / -sum(losses),
        "best_trade": max(pnls),
        "worst_trade": min(pnls),
        "avg_trade": sum(pnls) / len(pnls),
        "avg_holding_ns": sum(held) / len(held),
    }


def curve_of(ts: list[int], eq: list[float]) -> list[rm.Sample]:
    peak, out = Decimal(0), []
    for t, e in zip(ts, eq, strict=True):
        d = Decimal(str(e))
        peak = max(peak, d)
        out.append(rm.Sample(t, d, (peak - d) / peak))
    return out


def close(text: str | None, value: float, rel: float = 1e-8) -> bool:
    assert text is not None
    return math.isclose(float(text), value, rel_tol=rel, abs_tol=1e-9)


def test_metrics_equal_the_textbook_computation_on_a_made_up_curve() -> None:
    ts = [i * DAY for i in range(120)]
    eq = [100.0]
    for i in range(1, 120):
        eq.append(round(eq[-1] * (1 + (0.013 if i % 3 else -0.021) + (0.004 if i % 7 == 0 else 0)), 6))
    pnls = [Fraction(5), Fraction(-2), Fraction(7, 2), Fraction(-1, 4)]
    held = [DAY, 2 * DAY, 3 * DAY + 1, 5]
    trades = [rm.Trade(0, h, Decimal(p.numerator) / p.denominator) for p, h in zip(pnls, held, strict=True)]
    m = rm.compute(
        curve_of(ts, eq),
        trades,
        initial=Decimal(str(eq[0])),
        final=Decimal(str(eq[-1])),
        first_ts_ns=ts[0],
        last_ts_ns=ts[-1],
    )
    want = independent(ts, eq, pnls, held)
    for key in ("volatility", "sharpe", "sortino", "cagr", "calmar", "max_drawdown"):
        assert close(getattr(m, key), float(want[key])), key  # type: ignore[arg-type]
    assert Fraction(m.win_rate or "") == want["win_rate"]  # 2 of 4: exact at 10 places
    assert close(m.profit_factor, float(want["profit_factor"]))  # type: ignore[arg-type]
    assert Fraction(m.best_trade or "") == want["best_trade"]
    assert Fraction(m.worst_trade or "") == want["worst_trade"]
    assert Fraction(m.avg_trade or "") == want["avg_trade"]  # 6.25 / 4: exact at 10 places
    assert m.avg_holding_ns == round(Fraction(sum(held), len(held)))
    assert m.omitted == {}


def test_drawdown_duration_is_peak_to_recovery_and_open_at_the_end() -> None:
    ts = [0, 1, 2, 3, 4, 5, 6, 7]
    eq = [10.0, 12.0, 9.0, 11.0, 12.0, 11.9, 11.5, 11.8]
    m = rm.compute(
        curve_of(ts, eq), [], initial=Decimal(10), final=Decimal("11.8"), first_ts_ns=0, last_ts_ns=7
    )
    # deepest: 12 -> 9 (25%), from t=1 back to 12 at t=4; the last one (12 -> 11.5) never recovers
    assert (m.max_drawdown_duration_ns, m.max_drawdown_recovered, m.longest_drawdown_ns) == (3, True, 3)
    eq2 = [10.0, 9.0, 8.0, 9.5]
    m2 = rm.compute(
        curve_of(ts[:4], eq2), [], initial=Decimal(10), final=Decimal("9.5"), first_ts_ns=0, last_ts_ns=3
    )
    assert (m2.max_drawdown_duration_ns, m2.max_drawdown_recovered) == (3, False)


def test_a_short_run_has_no_annualised_figures_and_says_why() -> None:
    ts = [i * 60 * 10**9 for i in range(6)]
    eq = [100.0, 99.0, 101.0, 98.0, 97.5, 99.0]
    m = rm.compute(
        curve_of(ts, eq), [], initial=Decimal(100), final=Decimal(99), first_ts_ns=0, last_ts_ns=ts[-1]
    )
    for key in rm.ANNUALISED:
        assert getattr(m, key) is None
        assert "30 days" in m.omitted[key]
    for key in ("win_rate", "profit_factor", "avg_trade", "best_trade", "worst_trade", "avg_holding_ns"):
        assert getattr(m, key) is None, key  # no trades: null, not 0
        assert m.omitted[key] == rm.NO_TRADES


def test_no_losing_trade_leaves_the_profit_factor_null_with_its_reason() -> None:
    trades = [rm.Trade(0, 1, Decimal(1)), rm.Trade(0, 1, Decimal(0))]
    m = rm.compute([], trades, initial=Decimal(1), final=Decimal(1), first_ts_ns=0, last_ts_ns=0)
    assert m.profit_factor is None and "no losing" in m.omitted["profit_factor"]
    assert m.win_rate == "0.5000000000"


def test_monthly_returns_chain_month_ends() -> None:
    jan31 = 1_706_659_200 * 10**9  # 2024-01-31 00:00 UTC
    curve = curve_of([jan31, jan31 + 2 * DAY, jan31 + 40 * DAY], [110.0, 99.0, 118.8])
    assert rm.monthly_returns(curve, Decimal(100)) == {
        "2024-01": "0.1000000000",
        "2024-02": "-0.1000000000",
        "2024-03": "0.2000000000",
    }


@pytest.fixture(scope="module")
def kospi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kospi") / "run"
    argv = ["replay", "strategies/my_strategy_a.py", "--data", str(FIXTURE), "--cash", "10000000"]
    assert main([*argv, "--fee-bps", "15", "--quiet", "--out", str(out)]) == 0
    return out


def test_a_real_runs_report_equals_the_independent_computation_from_its_csv_files(kospi: Path) -> None:
    report = json.loads((kospi / "report.json").read_text())
    with (kospi / "equity.csv").open() as f:
        rows = list(csv.DictReader(f))
    with (kospi / "trades.csv").open() as f:
        trades = list(csv.DictReader(f))
    ts = [int(r["ts_ns"]) for r in rows]
    eq = [float(r["equity"]) for r in rows]
    pnls = [Fraction(t["pnl"]) for t in trades]
    held = [int(t["exit_ts_ns"]) - int(t["entry_ts_ns"]) for t in trades]
    want = independent(ts, eq, pnls, held)
    # CAGR runs over the run's span (first to last event), from the initial capital
    years = (report["last_ts_ns"] - report["first_ts_ns"]) / YEAR
    want["cagr"] = (float(report["final_equity"]) / float(report["initial_equity"])) ** (1 / years) - 1
    want["calmar"] = float(want["cagr"]) / float(want["max_drawdown"])  # type: ignore[arg-type]
    for key in ("volatility", "sharpe", "sortino", "cagr", "calmar", "max_drawdown", "profit_factor"):
        assert close(report[key], float(want[key]), rel=1e-7), key  # type: ignore[arg-type]
    assert Fraction(report["best_trade"]) == want["best_trade"]
    assert Fraction(report["worst_trade"]) == want["worst_trade"]
    assert abs(Fraction(report["avg_trade"]) - want["avg_trade"]) <= Fraction(1, 2 * 10**10)  # type: ignore[operator]
    assert report["avg_holding_ns"] == round(Fraction(sum(held), len(held)))
    assert report["metrics_omitted"] == {}
    settings = report["settings"]
    assert settings["fee_bps"] == "15" and settings["cash"] == "10000000" and settings["seed"] == 0
    manifest = json.loads((FIXTURE / "manifest.json").read_text())
    assert [d["name"] for d in settings["data"]] == ["krx-kospi6-daily"]
    assert settings["data"][0]["sha256"] in json.dumps(manifest) or len(settings["data"][0]["sha256"]) == 64


def test_the_journals_run_record_holds_the_settings(kospi: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["journal", "export", str(kospi), "--format", "jsonl"]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["type"] == "RunStarted"
    report = json.loads((kospi / "report.json").read_text())
    assert first["settings"] == report["settings"]
    assert first["settings"]["data"][0]["sha256"] == first["data_sha256"][0]
