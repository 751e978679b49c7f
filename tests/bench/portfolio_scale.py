"""Portfolio engine at scale: 500 symbols x 20 years of daily bars, rebalanced monthly.

The 500 series are built from the 20 real S&P 500 series of ../shared/data (us-equities dailyclose,
2000-2022): variant ``k`` (0..24) of ticker ``T`` is ``us-equities:T-kk``, whose close on a date is
T's close ``k`` trading days earlier times ``1 + k/25``: scaled and shifted copies, so the series
differ in level and in timing, and a shifted variant has no price for its first ``k`` days (the
engine's "no price yet" path). The stream is generated date by date from a 25-row ring buffer: the
panel is never held in memory.

Each bar goes through the kernel (engines/kernel.py) exactly as in a replay: the simulated venue
matches working orders against it (fills folded into the ledger, the order book and the engine), the
ledger takes its mark, the engine handles it; when exchange time moves on, the engine's ``on_time``
runs and what it asks for is dispatched until it is quiet. The journal port only counts (no file):
the figure is the kernel, the engine, the venue and the ledger. The strategy is
strategies/examples/rebalance.py (equal weight, loaded through the sandbox like any strategy).

    python tests/bench/portfolio_scale.py [--years 20] [--variants 25] [--schedule monthly] [--json FILE]

Prints seconds, bars/s, the seconds spent in rebalance instants, orders and fills, and the peak RSS.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from daemon import data  # noqa: E402
from daemon.preflight import load_strategy  # noqa: E402
from engines.kernel import Kernel  # noqa: E402
from engines.ledger import Ledger  # noqa: E402
from engines.markets.specs import spec_for  # noqa: E402
from engines.model.events import (  # noqa: E402
    Bar,
    CashAdjusted,
    Event,
    InstrumentDefined,
    OrderFilled,
    OrderPendingCancel,
    OrderRejected,
    OrderSubmitted,
    Rebalanced,
    StrategyLog,
)
from engines.orders.book import Orders  # noqa: E402
from engines.portfolio import PortfolioEngine  # noqa: E402
from engines.sim.venue import SimVenue  # noqa: E402

SOURCE = REPO.parent / "shared" / "data" / "us-equities_SP500-20_dailyclose_20000103-20221228.csv.gz"
STRATEGY = REPO / "strategies" / "examples" / "rebalance.py"
DAY_NS = 86_400 * 10**9
TRADING_DAYS_PER_YEAR = 252


def tickers() -> list[str]:
    with gzip.open(SOURCE, "rt") as fh:
        return fh.readline().strip().split(",")[1:]


def universe(variants: int) -> list[str]:
    return [f"us-equities:{t}-{k:02d}" for t in tickers() for k in range(variants)]


def expanded(variants: int, days: int) -> Iterator[Bar]:
    """The expanded panel, one date at a time: at most ``variants`` dates of 20 closes are held."""
    names = tickers()
    scales = [Decimal(1) + Decimal(k) / Decimal(variants) for k in range(variants)]
    symbols = [[f"us-equities:{t}-{k:02d}" for k in range(variants)] for t in names]
    history: deque[list[Decimal]] = deque(maxlen=variants)  # newest first
    row: list[Decimal] = []
    ts = 0
    seen = 0

    def emit(ts: int, row: list[Decimal]) -> Iterator[Bar]:
        history.appendleft(row)
        for i, per_ticker in enumerate(symbols):
            for k, symbol in enumerate(per_ticker):
                if k >= len(history):
                    break  # variant k has no price for its first k days
                px = history[k][i] * scales[k]
                yield Bar(
                    ts_event=ts,
                    ts_init=ts,
                    instrument=symbol,
                    open=px,
                    high=px,
                    low=px,
                    close=px,
                    volume=Decimal(0),
                    interval_ns=DAY_NS,
                )

    for event in data.read_events(SOURCE):
        assert isinstance(event, Bar)
        if event.ts_event != ts and row:
            yield from emit(ts, row)
            seen += 1
            if seen == days:
                return
            row = []
        ts = event.ts_event
        row.append(event.close)
    if row and seen < days:
        yield from emit(ts, row)


class CountingJournal:
    """A journal port that keeps nothing: it numbers the facts and counts them by kind."""

    def __init__(self, ledger: Ledger, cash: Decimal) -> None:
        self.ledger = ledger
        self.seq = 0
        self.counts = {"orders": 0, "fills": 0, "rejects": 0, "cancels": 0, "rebalances": 0, "logs": 0}
        self._kinds = {
            OrderSubmitted: "orders",
            OrderFilled: "fills",
            OrderRejected: "rejects",
            OrderPendingCancel: "cancels",
            Rebalanced: "rebalances",
            StrategyLog: "logs",
        }
        self.min_cash = cash

    def append(self, events: Sequence[Event]) -> Sequence[Event]:
        for event in events:
            self.seq += 1
            kind = self._kinds.get(type(event))
            if kind is not None:
                self.counts[kind] += 1
                if kind == "fills":  # the cash before this fill is folded; the last one is read below
                    self.min_cash = min(self.min_cash, self.ledger.cash("USD"))
        return events


class Harness:
    """The PortfolioEngine in the kernel (engines/kernel.py), as the replay runs it, without a file."""

    def __init__(self, symbols: list[str], schedule: str, cash: Decimal) -> None:
        params = [f"universe={','.join(symbols)}", f"schedule={schedule}"]
        spec = load_strategy(STRATEGY, params=params).spec
        specs = {s: spec_for(s) for s in spec.universe}
        self.ledger = Ledger()
        orders = Orders()
        self.journal = CountingJournal(self.ledger, cash)
        engine = PortfolioEngine(spec, self.ledger, orders, currency="USD", specs=specs)
        self.rebalance_seconds = 0.0
        on_time = engine.on_time

        def timed(now_ns: int) -> None:
            started = time.perf_counter()
            on_time(now_ns)
            self.rebalance_seconds += time.perf_counter() - started

        engine.on_time = timed  # type: ignore[method-assign]
        self.kernel = Kernel(
            engine,
            ledger=self.ledger,
            orders=orders,
            journal=self.journal,
            venue=SimVenue(specs, self.ledger),
            universe=spec.universe,
            currency="USD",
            sample_ns=None,
        )
        for s in sorted(specs):
            self.kernel.record(InstrumentDefined(ts_event=0, ts_init=0, spec=specs[s]))
        self.kernel.record(CashAdjusted(ts_event=0, ts_init=0, currency="USD", amount=cash, reason="bench"))
        engine.start(0)
        self.kernel.settle(0)

    @property
    def counts(self) -> dict[str, int]:
        return self.journal.counts

    @property
    def min_cash(self) -> Decimal:
        return min(self.journal.min_cash, self.ledger.cash("USD"))

    def run(self, bars: Iterator[Bar]) -> int:
        step = self.kernel.step_batch
        batch: list[Bar] = []
        for bar in bars:
            batch.append(bar)
            if len(batch) == 4096:
                step(batch)
                batch = []
        step(batch)
        self.kernel.finish("bench")
        return self.kernel.market_events


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--years", type=float, default=20.0, help="years of trading days (252 a year)")
    parser.add_argument(
        "--variants", type=int, default=25, help="copies of each of the 20 series (500 at 25)"
    )
    parser.add_argument("--schedule", default="monthly", choices=("daily", "weekly", "monthly", "on_demand"))
    parser.add_argument("--cash", default="100000000", help="initial USD")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if not SOURCE.exists():
        sys.exit(f"{SOURCE} is missing (../shared/data beside the repository)")
    days = int(args.years * TRADING_DAYS_PER_YEAR)
    symbols = universe(args.variants)
    harness = Harness(symbols, args.schedule, Decimal(args.cash))
    started = time.perf_counter()
    bars = harness.run(expanded(args.variants, days))
    seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    equity = harness.ledger.equity("USD")
    figures = {
        "symbols": len(symbols),
        "days": days,
        "bars": bars,
        "schedule": args.schedule,
        "seconds": round(seconds, 3),
        "bars_per_s": round(bars / seconds),
        "rebalance_instant_seconds": round(harness.rebalance_seconds, 3),
        "peak_rss_mb": round(rss_mb, 1),
        **harness.counts,
        "min_cash": str(harness.min_cash),
        "final_equity": str(equity),
    }
    for key, value in figures.items():
        print(f"{key:>26}: {value}")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
