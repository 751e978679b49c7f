"""The report's figures recomputed here, independently, from the run's outputs and its journal.

Each figure follows its definition in docs/replay.md (the `report.json` keys table), computed with
exact fractions (and, for the Sharpe ratio's sums, 80-digit decimals), then rounded as the report
documents: ratios half-even to 10 places, money exact. The inputs are what a user of the run has:

* ``equity.csv``: the sampled equity curve (``total_return`` aside, every curve figure uses it);
* ``trades.csv``: the round trips, themselves rebuilt here from the journal's fills;
* the journal, read back with ``vibetrading journal export DIR --format jsonl``.

Where docs/replay.md leaves a choice open, the choice made here is stated next to the code; the
last test checks the sampled curve itself against the journal.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from itertools import pairwise
from math import isqrt
from pathlib import Path

import pytest
from conftest import DATA, FTX, REPO, SMA

from daemon.cli import main

FIXTURE = REPO / "replay_fixtures" / "krx-kospi6-daily"
CANONICAL = REPO / "strategies" / "my_strategy_a.py"
REBALANCE = REPO / "strategies" / "examples" / "rebalance.py"
SPREAD_ARB = REPO / "strategies" / "examples" / "spread_arb.py"
SPOT = DATA / "binance-spot_BTCUSDT_quotes_20240808.csv.gz"
USDM = DATA / "binance-usdm_BTCUSDT_quotes_20240808.csv.gz"

#: the canonical runs checked: (strategy, data, options)
RUNS: dict[str, tuple[Path, list[Path], list[str]]] = {
    "single-kospi": (CANONICAL, [FIXTURE], ["--cash", "10000000", "--fee-bps", "15"]),
    "single-sma-ftx": (SMA, [FTX], ["--param", "size=0.01", "--cash", "10000", "--fee-bps", "10"]),
    "portfolio-kospi": (REBALANCE, [FIXTURE], ["--cash", "10000000"]),
    "arbitrage-hedge": (
        SPREAD_ARB,
        [SPOT, USDM],
        ["--param", "policy=hedge", "--reject-every", "2", "--latency-ms", "20"],
    ),
}
NS_PER_YEAR = 365 * 86_400 * 10**9  # docs/replay.md says "samples per year": a year of 365 days here
PLACES = 10
_30_DAYS_NS = 30 * 86_400 * 10**9  # docs/report.md: the shortest run given annualised figures


# ── exact rounding ───────────────────────────────────────────────────────────────────────────────


def half_even(x: Fraction, places: int = PLACES) -> int:
    """x * 10**places rounded half-even to an integer."""
    scaled = x * 10**places
    floor = scaled.numerator // scaled.denominator
    rest = scaled - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1):
        floor += 1
    return floor


def ratio_text(units: int, places: int = PLACES) -> str:
    """``units`` / 10**places written as the report writes a ratio: plain, exactly ``places`` decimals."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**places)
    return f"{sign}{whole}.{frac:0{places}d}"


def ratio(x: Fraction) -> str:
    return ratio_text(half_even(x))


def sqrt_ratio(square: Fraction, negative: bool) -> str:
    """sqrt(square), negated if asked, rounded half-even to 10 places: exact, by integer square root."""
    scaled = square * 10 ** (2 * PLACES)
    k = isqrt(scaled.numerator // scaled.denominator)  # floor(sqrt(square) * 10**10)
    half = Fraction(2 * k + 1, 2) ** 2  # (k + 1/2)**2
    if scaled > half or (scaled == half and k % 2 == 1):
        k += 1
    return ratio_text(-k if negative else k)


def money(text: str) -> Fraction:
    return Fraction(Decimal(text))


# ── the run and its outputs ──────────────────────────────────────────────────────────────────────


@dataclass
class Outputs:
    report: dict[str, object]
    equity: list[dict[str, str]]
    trades: list[dict[str, str]]
    journal: list[dict[str, object]]

    @property
    def currency(self) -> str:
        return str(self.report["currency"])

    def of(self, *types: str) -> list[dict[str, object]]:
        return [e for e in self.journal if e["type"] in types]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module", params=sorted(RUNS))
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    strategy, data, options = RUNS[request.param]
    for path in data:
        if not path.exists():
            pytest.skip(f"{path} is not available (../shared/data beside the repository)")
    out = tmp_path_factory.mktemp(request.param) / "run"
    argv = ["replay", str(strategy), *[a for p in data for a in ("--data", str(p))], *options]
    assert main([*argv, "--quiet", "--out", str(out)]) == 0
    exported = io.StringIO()
    with contextlib.redirect_stdout(exported):
        assert main(["journal", "export", str(out), "--format", "jsonl"]) == 0
    outputs = Outputs(
        report=json.loads((out / "report.json").read_text()),
        equity=read_csv(out / "equity.csv"),
        trades=read_csv(out / "trades.csv"),
        journal=[json.loads(line) for line in exported.getvalue().splitlines()],
    )
    assert outputs.report["fills"], "a run without fills would check nothing"
    return outputs


# ── the journal, folded here ─────────────────────────────────────────────────────────────────────


def multipliers(run: Outputs) -> dict[str, Fraction]:
    specs = {}
    for e in run.of("InstrumentDefined"):
        spec: dict[str, str] = e["spec"]  # type: ignore[assignment]
        # an inverse contract is valued in its settle currency: not what these runs trade
        assert spec["kind"] in ("spot", "equity", "linear"), spec
        assert spec["quote"] == spec["settle"] == run.currency, spec
        specs[spec["symbol"]] = Fraction(spec["multiplier"])
    return specs


def signed(fill: dict[str, object]) -> Fraction:
    qty = Fraction(str(fill["last_qty"]))
    return qty if fill["side"] == "buy" else -qty


def initial_capital(run: Outputs) -> Fraction:
    return sum(
        (Fraction(str(e["amount"])) for e in run.of("CashAdjusted") if e["currency"] == run.currency),
        Fraction(0),
    )


class Book:
    """Cash and positions from the journal: a fill moves its notional and its fee, a mark prices.

    Equity = cash + sum(position * mark * multiplier). For spot and equities that is the definition;
    for a linear contract it is the same number as cash + unrealised PnL, as the notional it moves
    here comes back in full when the position is marked or closed.
    """

    def __init__(self, run: Outputs) -> None:
        self.currency = run.currency
        self.mult = multipliers(run)
        self.cash = Fraction(0)
        self.pos: dict[str, Fraction] = defaultdict(Fraction)
        self.marks: dict[str, Fraction] = {}

    def apply(self, e: dict[str, object]) -> None:
        kind = e["type"]
        if kind == "CashAdjusted" and e["currency"] == self.currency:
            self.cash += Fraction(str(e["amount"]))
        elif kind == "MarkPrice":
            self.marks[str(e["instrument"])] = Fraction(str(e["price"]))
        elif kind == "OrderFilled":
            symbol, qty = str(e["instrument"]), signed(e)
            self.cash -= qty * Fraction(str(e["last_px"])) * self.mult[symbol]
            if e["fee_currency"] == self.currency:
                self.cash -= Fraction(str(e["fee"]))
            self.pos[symbol] += qty

    def equity(self) -> Fraction:
        held = {s: q for s, q in self.pos.items() if q}
        assert set(held) <= set(self.marks), f"a position without a mark: {held}"
        return self.cash + sum((q * self.marks[s] * self.mult[s] for s, q in held.items()), Fraction(0))

    def exposed(self) -> bool:
        return any(self.pos.values())


def curve_from_journal(run: Outputs) -> list[tuple[int, Fraction, bool]]:
    """Equity and exposure at each sample time T of equity.csv: the state once every fact stamped
    at or before T is folded (docs/replay.md: bars are sampled at every bar close)."""
    events = sorted(run.journal, key=lambda e: (int(e["ts_event"]), int(e["seq"])))  # type: ignore[call-overload]
    book, i, curve = Book(run), 0, []
    for row in run.equity:
        ts = int(row["ts_ns"])
        while i < len(events) and int(events[i]["ts_event"]) <= ts:  # type: ignore[call-overload]
            book.apply(events[i])
            i += 1
        curve.append((ts, book.equity(), book.exposed()))
    return curve


@dataclass
class Trip:
    symbol: str
    side: str
    quantity: Fraction
    entry_ts_ns: int
    exit_ts_ns: int
    entry_cost: Fraction  # sum of qty * price of the entries
    exit_value: Fraction  # sum of qty * price of the exits
    flow: Fraction  # cash the trip's fills moved (sells in, buys out), multiplier applied
    fees: Fraction

    @property
    def pnl(self) -> Fraction:
        return self.flow - self.fees


def round_trips(run: Outputs) -> list[Trip]:
    """flat -> position -> flat, per symbol, from the fills; a fill that crosses zero closes the trip
    with the part that reaches flat (its fee pro rata) and opens the next with the rest."""
    mult = multipliers(run)
    open_: dict[str, Trip] = {}
    held: dict[str, Fraction] = defaultdict(Fraction)
    done: list[Trip] = []
    for f in run.of("OrderFilled"):
        symbol, qty = str(f["instrument"]), signed(f)
        px, fee, ts = Fraction(str(f["last_px"])), Fraction(str(f["fee"])), int(f["ts_event"])  # type: ignore[call-overload]
        before = held[symbol]
        held[symbol] = after = before + qty
        if before == 0 or (before > 0) == (qty > 0):  # opens or adds
            side = "long" if qty > 0 else "short"
            trip = open_.setdefault(symbol, Trip(symbol, side, Fraction(0), ts, 0, *[Fraction(0)] * 4))
            trip.quantity += abs(qty)
            trip.entry_cost += abs(qty) * px
            trip.flow -= qty * px * mult[symbol]
            trip.fees += fee
            continue
        closing = min(abs(qty), abs(before))
        part = closing / abs(qty)
        trip = open_[symbol]
        trip.exit_value += closing * px
        trip.flow -= (qty * part) * px * mult[symbol]
        trip.fees += fee * part
        if after != 0 and (after > 0) == (before > 0):
            continue  # a partial close
        trip.exit_ts_ns = ts
        done.append(open_.pop(symbol))
        if after != 0:  # a flip: the rest opens the next trip
            rest = abs(after)
            open_[symbol] = Trip(
                symbol,
                "long" if after > 0 else "short",
                rest,
                ts,
                0,
                rest * px,
                Fraction(0),
                -after * px * mult[symbol],
                fee - fee * part,
            )
    return done


# ── the figures ──────────────────────────────────────────────────────────────────────────────────


def max_drawdown(curve: list[Fraction]) -> Fraction:
    """The largest fall from a running peak of the sampled equity, as a fraction of that peak."""
    peak, worst = curve[0], Fraction(0)
    for equity in curve:
        peak = max(peak, equity)
        if peak > 0:
            worst = max(worst, (peak - equity) / peak)
    return worst


def median(values: list[int]) -> Fraction:
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return Fraction(ordered[mid])
    return Fraction(ordered[mid - 1] + ordered[mid], 2)


def sharpe(stamps: list[int], curve: list[Fraction]) -> str:
    """mean / standard deviation of the per-sample returns x sqrt(samples per year), one sample
    every median gap, no risk-free rate (docs/replay.md). Choices the docs leave open: the sample
    standard deviation (n - 1), a 365-day year, a return only after a non-zero equity, 0 without
    at least two returns or without variance."""
    with localcontext() as ctx:
        ctx.prec = 80
        equities = [Decimal(e.numerator) / Decimal(e.denominator) for e in curve]
        returns = [b / a - 1 for a, b in pairwise(equities) if a]
        if len(returns) < 2:
            return ratio_text(0)
        mean = sum(returns, Decimal(0)) / len(returns)
        variance = sum(((r - mean) ** 2 for r in returns), Decimal(0)) / (len(returns) - 1)
    if variance == 0:
        return ratio_text(0)
    per_year = Fraction(NS_PER_YEAR) / median([b - a for a, b in pairwise(stamps)])
    # sharpe = mean / sqrt(variance) * sqrt(per_year), so sharpe**2 = mean**2 * per_year / variance
    square = Fraction(mean) ** 2 * per_year / Fraction(variance)
    return sqrt_ratio(square, negative=mean < 0)


def expected(run: Outputs) -> dict[str, object]:
    equity = [money(row["equity"]) for row in run.equity]
    stamps = [int(row["ts_ns"]) for row in run.equity]
    # final equity: every fact of the journal folded, positions at their last mark
    book = Book(run)
    for e in run.journal:
        book.apply(e)
    initial, final = initial_capital(run), book.equity()
    exposed = [x for _, _, x in curve_from_journal(run)]
    pnls = [money(row["pnl"]) for row in run.trades]
    return {
        "initial_equity": initial,
        "final_equity": final,
        "total_return": ratio(final / initial - 1),
        "max_drawdown": ratio(max_drawdown(equity)),
        # docs/report.md: null for a run under 30 days or 30 returns (the arbitrage runs span minutes)
        "sharpe": sharpe(stamps, equity)
        if stamps[-1] - stamps[0] >= _30_DAYS_NS and len(stamps) > 30
        else None,
        "exposure": ratio(Fraction(sum(exposed), len(exposed))),
        "win_rate": ratio(Fraction(sum(p > 0 for p in pnls), len(pnls))) if pnls else None,
        "round_trips": len(round_trips(run)),
        "fees": sum(
            (Fraction(str(f["fee"])) for f in run.of("OrderFilled") if f["fee_currency"] == run.currency),
            Fraction(0),
        ),
    }


def reported(run: Outputs) -> dict[str, object]:
    r = run.report
    figures: dict[str, object] = {key: r[key] for key in ("total_return", "max_drawdown", "sharpe")}
    figures |= {key: r[key] for key in ("exposure", "win_rate", "round_trips")}
    for key in ("initial_equity", "final_equity", "fees"):
        figures[key] = money(str(r[key]))
    return figures


# ── the tests ────────────────────────────────────────────────────────────────────────────────────


def test_the_report_figures_equal_their_independent_computation(run: Outputs) -> None:
    assert reported(run) == expected(run)


def test_trades_csv_holds_the_round_trips_of_the_journal(run: Outputs) -> None:
    """Each row: symbol, side, quantity, entry and exit time, PnL net of fees, fees, exactly; the
    entry price is the quantity-weighted average of the entries, the exit price that of the exits."""
    trips = round_trips(run)
    assert len(run.trades) == len(trips) == run.report["round_trips"]
    for row, trip in zip(run.trades, trips, strict=True):
        assert (row["symbol"], row["side"], money(row["quantity"])) == (trip.symbol, trip.side, trip.quantity)
        assert (int(row["entry_ts_ns"]), int(row["exit_ts_ns"])) == (trip.entry_ts_ns, trip.exit_ts_ns)
        assert (money(row["pnl"]), money(row["fees"])) == (trip.pnl, trip.fees), row
        exited = trip.quantity  # a trip exits what it entered
        for column, value in (("entry_price", trip.entry_cost), ("exit_price", trip.exit_value)):
            average = value / exited
            # the report divides with 50 significant digits: equal to the last of them
            assert abs(money(row[column]) - average) <= average * Fraction(1, 10**48), (column, row)


def test_equity_csv_drawdown_column_is_the_fall_from_the_running_peak(run: Outputs) -> None:
    peak = Fraction(0)
    for row in run.equity:
        equity = money(row["equity"])
        peak = max(peak, equity)
        assert money(row["drawdown"]) == Fraction(half_even((peak - equity) / peak), 10**PLACES), row


SAMPLING_BUG = (
    "report.build samples an instant T when the first event stamped after T arrives, in journal "
    "order; a portfolio run journals the fills of the next bars (stamped at their open = T) between "
    "the MarkPrice events of T+1, so the sample of T holds the fills of the symbols before the "
    "first of those marks and not the others: the curve depends on universe order"
)


def test_equity_csv_is_the_journals_equity_at_each_sample(
    request: pytest.FixtureRequest, run: Outputs
) -> None:
    """equity.csv's equity and exposed columns at T are the account once every fact stamped at or
    before T is folded (docs/replay.md: bars are sampled at every close, ticks every --sample-ms)."""
    if run.report["strategy_type"] == "portfolio":
        request.applymarker(pytest.mark.xfail(reason=SAMPLING_BUG, strict=True))
    mine = curve_from_journal(run)
    theirs = [(int(r["ts_ns"]), money(r["equity"]), r["exposed"] == "1") for r in run.equity]
    differ = [(a, b) for a, b in zip(theirs, mine, strict=True) if a != b]
    assert not differ, f"{len(differ)} of {len(mine)} samples differ; first (csv, journal): {differ[0]}"
