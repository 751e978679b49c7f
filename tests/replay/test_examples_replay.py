"""The portfolio and arbitrage examples replayed on real data through the real command.

Each test reads the run's journal back (`vibetrading journal export`) and checks the invariants the
design promises: whole-share KRX positions and sells before buys for the portfolio; strictly ordered,
aligned and resolved legs for the arbitrage, with each leg-failure policy's deterministic outcome.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from collections import defaultdict
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import DATA, REPO, need

from daemon.cli import main

FIXTURE = REPO / "replay_fixtures" / "krx-kospi6-daily"
REBALANCE = REPO / "strategies" / "examples" / "rebalance.py"
SPREAD_ARB = REPO / "strategies" / "examples" / "spread_arb.py"
SPOT = DATA / "binance-spot_BTCUSDT_quotes_20240808.csv.gz"
USDM = DATA / "binance-usdm_BTCUSDT_quotes_20240808.csv.gz"


def replay(out: Path, strategy: Path, data: list[Path], *extra: str) -> dict[str, object]:
    argv = ["replay", str(strategy), "--out", str(out), "--quiet"]
    for path in data:
        argv += ["--data", str(path)]
    assert main([*argv, *extra]) == 0
    return json.loads((out / "report.json").read_text())  # type: ignore[no-any-return]


def export(out: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    capsys.readouterr()
    assert main(["journal", "export", str(out), "--format", "jsonl"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_rebalance_on_kospi_keeps_whole_shares_and_sells_before_buys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = replay(tmp_path / "run", REBALANCE, [FIXTURE], "--cash", "10000000", "--fee-bps", "15")
    assert report["rebalances"] == 48  # monthly, 2016-01 to 2019-12
    assert Decimal(str(report["min_cash"])) >= 0
    events = export(tmp_path / "run", capsys)
    fills = [e for e in events if e["type"] == "OrderFilled"]
    assert fills and all(
        Decimal(str(f["last_qty"])) == Decimal(str(f["last_qty"])).to_integral() for f in fills
    )
    rebalances = [e for e in events if e["type"] == "Rebalanced"]
    assert len(rebalances) == 48
    assert all(sum(Decimal(w) for w in r["weights"].values()) <= 1 for r in rebalances)  # type: ignore[attr-defined]
    # within a rebalance the sells are submitted before the buys
    seq_of = {e["seq"]: e for e in events}
    bounds = [r["seq"] for r in rebalances] + [len(events) + 1]
    for start, end in pairwise(bounds):
        sides = [
            seq_of[s]["side"] for s in range(start, end) if seq_of.get(s, {}).get("type") == "OrderSubmitted"
        ]  # type: ignore[arg-type, call-overload]
        assert sides == sorted(sides, key=lambda side: side != "sell"), sides


def test_rebalance_on_the_sp500_panel_replays_in_usd(tmp_path: Path) -> None:
    data = need(DATA / "us-equities_SP500-20_dailyclose_20000103-20221228.csv.gz")
    universe = "us-equities:AAPL,us-equities:MSFT,us-equities:JNJ,us-equities:XOM,us-equities:KO"
    report = replay(
        tmp_path / "run", REBALANCE, [data], "--param", f"universe={universe}", "--cash", "1000000"
    )
    assert report["currency"] == "USD"
    assert int(report["rebalances"]) > 250  # type: ignore[call-overload]
    assert report["rejected_orders"] == 0


def _arb_run(tmp_path: Path, name: str, *extra: str) -> dict[str, object]:
    return replay(tmp_path / name, SPREAD_ARB, [need(SPOT), need(USDM)], "--cash", "100000", *extra)


def _check_arbitrage_journal(
    events: list[dict[str, object]], window_ms: int, n_legs: int = 2
) -> dict[str, str]:
    submitted: dict[str, list[dict[str, object]]] = defaultdict(list)
    status: dict[str, str] = {}
    resolved: dict[str, str] = {}
    for e in events:
        kind = e["type"]
        if kind == "OrderSubmitted":
            assert e["arb_id"] is not None, "every order of an arbitrage carries its audit fields"
            aligned = e["aligned_ts_ns"]
            assert isinstance(aligned, list) and len(aligned) == n_legs
            assert max(aligned) - min(aligned) <= window_ms * 1_000_000
            legs = submitted[str(e["arb_id"])]
            if legs and int(e["leg"]) > int(legs[-1]["leg"]):  # type: ignore[call-overload]
                # a later leg goes only after the previous leg's order ended filled (the default
                # next_leg_on); unwinds go back down the legs, after a failure
                assert status[str(legs[-1]["client_order_id"])] == "filled"
            legs.append(e)
        elif kind == "OrderFilled":
            status[str(e["client_order_id"])] = "filled"
        elif kind in ("OrderRejected", "OrderCanceled", "OrderExpired"):
            status[str(e["client_order_id"])] = kind
        elif kind == "ArbitrageResolved":
            assert str(e["arb_id"]) not in resolved, "an intent resolves once"
            resolved[str(e["arb_id"])] = str(e["outcome"])
    assert set(resolved) == set(submitted)
    return resolved


def test_spread_arb_on_binance_spot_and_perp_keeps_order_alignment_and_audit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _arb_run(tmp_path, "run")
    assert report["arbitrages"] == {"filled": 6}
    assert int(report["stale_snapshots"]) > 0  # type: ignore[call-overload]
    events = export(tmp_path / "run", capsys)
    outcomes = _check_arbitrage_journal(events, window_ms=50)
    assert set(outcomes.values()) == {"filled"}
    first = next(e for e in events if e["type"] == "OrderSubmitted")
    assert {"arb_id", "leg", "aligned_ts_ns"} <= first.keys()


@pytest.mark.parametrize(
    ("policy", "outcome"), [("unwind", "unwound"), ("hedge", "hedged"), ("halt", "halted")]
)
def test_each_leg_failure_policy_has_its_deterministic_outcome(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], policy: str, outcome: str
) -> None:
    extra = ("--param", f"policy={policy}", "--reject-every", "2", "--latency-ms", "20")
    first = _arb_run(tmp_path, "a", *extra)
    second = _arb_run(tmp_path, "b", *extra)
    assert first == {**second, "journal_sha256": first["journal_sha256"]}
    assert first["journal_sha256"] == second["journal_sha256"]
    arbitrages = first["arbitrages"]
    assert isinstance(arbitrages, dict) and set(arbitrages) == {outcome}
    events = export(tmp_path / "a", capsys)
    _check_arbitrage_journal(events, window_ms=50)
    if policy == "halt":
        assert any(e["type"] == "StrategyHalted" for e in events)
    if policy == "unwind":
        # after an unwind the arbitrage's legs are flat again
        net: dict[str, Decimal] = defaultdict(Decimal)
        for e in events:
            if e["type"] == "OrderFilled":
                sign = 1 if e["side"] == "buy" else -1
                net[str(e["instrument"])] += sign * Decimal(str(e["last_qty"]))
        assert all(v == 0 for v in net.values()), net


def test_arbitrage_replay_is_identical_under_uvloop(tmp_path: Path) -> None:
    a = _arb_run(tmp_path, "a", "--loop", "asyncio")
    b = _arb_run(tmp_path, "b", "--loop", "uvloop")
    for name in ("journal.vtj", "report.json", "equity.csv", "trades.csv"):
        digests = {hashlib.sha256((tmp_path / run / name).read_bytes()).hexdigest() for run in ("a", "b")}
        assert len(digests) == 1, name
    assert a == b


def test_an_arbitrage_leg_without_data_fails_fast(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["replay", str(SPREAD_ARB), "--data", str(need(SPOT)), "--out", str(tmp_path / "run"), "--quiet"]
    assert main(argv) == 1
    assert "VT510" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_an_arbitrage_leg_on_a_venue_that_cannot_serve_it_is_refused_before_the_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    legs = "binance-spot:BTCUSDT,bybit-linear:BTCUSDT"
    rc = main(
        [
            "validate",
            str(SPREAD_ARB),
            "--param",
            f"legs={legs}",
            "--venue",
            "binance",
            "--mode",
            "live",
            "--json",
        ]
    )
    assert rc == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] in {"VT131", "VT133"}


def test_a_zero_size_leg_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(SPREAD_ARB), "--param", "size=0", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "VT111"


def _synthetic_inverse_quotes(path: Path, offset: str) -> Path:
    """COIN-M BTCUSD-PERP quotes made from the USD-M ones: prices shifted, sizes in contracts."""
    with gzip.open(need(USDM), "rt", newline="") as src, gzip.open(path, "wt", newline="") as dst:
        rows = csv.reader(src)
        out = csv.writer(dst, lineterminator="\n")
        out.writerow(next(rows))
        for ts, bid, _bid_qty, ask, _ask_qty in rows:
            out.writerow([ts, Decimal(bid) + Decimal(offset), "100", Decimal(ask) + Decimal(offset), "100"])
    return path


def test_three_legs_with_an_inverse_contract_keep_the_invariants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    coinm = _synthetic_inverse_quotes(tmp_path / "binance-coinm_BTCUSD-PERP_quotes_synthetic.csv.gz", "3")
    legs = "binance-spot:BTCUSDT,binance-usdm:BTCUSDT,binance-coinm:BTCUSD-PERP"
    report = replay(
        tmp_path / "run",
        SPREAD_ARB,
        [need(SPOT), need(USDM), coinm],
        "--param",
        f"legs={legs}",
        "--cash",
        "100000",
    )
    arbitrages = report["arbitrages"]
    assert isinstance(arbitrages, dict) and arbitrages.get("filled", 0) > 0
    events = export(tmp_path / "run", capsys)
    _check_arbitrage_journal(events, window_ms=50, n_legs=3)
    inverse = [
        e for e in events if e["type"] == "OrderFilled" and e["instrument"] == "binance-coinm:BTCUSD-PERP"
    ]
    assert inverse, "the inverse leg traded"
    # 0.002 BTC at about 61,650 USD is 1.23 contracts of 100 USD: rounded down to 1 contract
    assert {Decimal(str(e["last_qty"])) for e in inverse} == {Decimal(1)}
    assert all(e["fee_currency"] == "BTC" for e in inverse)
    by_currency = report["equity_by_currency"]
    assert isinstance(by_currency, dict) and set(by_currency) == {"BTC", "USDT"}
    assert by_currency["USDT"] == report["final_equity"]
