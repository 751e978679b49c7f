"""The backtest report, computed by folding the journal: nothing in it comes from anywhere else.

Equity is sampled after each run of ``MarkPrice`` events (the replay writes one per universe symbol
at every sample point: each bar close, or every ``sample_ns`` of exchange time for tick data).
Numbers are exact Decimals rendered as strings; ratios are rounded half-even to 10 places, so the
report is byte-identical wherever it is computed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal

import msgspec

from daemon import report_metrics
from engines.decimals import REPORT_CONTEXT
from engines.ledger import Ledger
from engines.model.events import (
    ArbitrageResolved,
    CashAdjusted,
    Event,
    InstrumentDefined,
    MarkPrice,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    Rebalanced,
    RunSettings,
    RunStarted,
    SnapshotSkipped,
)

RATIO_PLACES = report_metrics.RATIO_PLACES
_CTX = REPORT_CONTEXT
NS_PER_YEAR = report_metrics.NS_PER_YEAR


class RoundTrip(msgspec.Struct, frozen=True, kw_only=True):
    """A position opened from flat and closed back to flat (a flip closes one and opens the next)."""

    symbol: str
    side: str
    quantity: Decimal
    entry_ts_ns: int
    exit_ts_ns: int
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal
    fees: Decimal


class EquityPoint(msgspec.Struct, frozen=True):
    ts_ns: int
    equity: Decimal
    cash: Decimal
    drawdown: Decimal
    exposed: bool


class Report(msgspec.Struct, frozen=True, kw_only=True):
    strategy: str
    strategy_type: str
    currency: str
    initial_equity: str
    final_equity: str
    total_return: str
    max_drawdown: str
    #: null, with the reason in ``metrics_omitted``, for a run too short to annualise (docs/report.md)
    sharpe: str | None
    exposure: str
    #: null without round trips
    win_rate: str | None
    round_trips: int
    orders: int
    rejected_orders: int
    fills: int
    fees: str
    events: int
    min_cash: str
    journal_sha256: str
    journal_records: int
    first_ts_ns: int
    last_ts_ns: int
    #: portfolio strategies: rebalances done and their summed turnover (traded notional / equity)
    rebalances: int
    turnover: str
    #: arbitrage strategies: stale snapshots skipped, and how each intent ended
    stale_snapshots: int
    arbitrages: dict[str, int]
    #: equity in every currency the run holds, unconverted (an inverse leg settles in its base)
    equity_by_currency: dict[str, str]
    #: what a reader must not miss: a run that never traded, every order rejected
    warnings: list[str] = msgspec.field(default_factory=list)
    # ── the standard metrics (docs/report.md); null when they do not exist for the run ──
    cagr: str | None = None
    volatility: str | None = None
    sortino: str | None = None
    calmar: str | None = None
    max_drawdown_duration_ns: int = 0
    max_drawdown_recovered: bool = True
    longest_drawdown_ns: int = 0
    profit_factor: str | None = None
    avg_trade: str | None = None
    best_trade: str | None = None
    worst_trade: str | None = None
    avg_holding_ns: int | None = None
    #: why each null metric above is null
    metrics_omitted: dict[str, str] = msgspec.field(default_factory=dict)
    #: UTC month (YYYY-MM) -> the month's return
    monthly_returns: dict[str, str] = msgspec.field(default_factory=dict)
    #: buying the universe in equal parts at its first marks and holding it (no fees)
    benchmark_return: str | None = None
    #: the strategy's parameters and source sha256, from the run record
    params: dict[str, str] = msgspec.field(default_factory=dict)
    strategy_sha256: str = ""
    #: the run record's settings and data files; null for a journal written without them
    settings: RunSettings | None = None


class Series(msgspec.Struct, frozen=True, kw_only=True):
    """What the charts draw beside the equity curve, one value per equity sample."""

    benchmark: list[Decimal]
    #: the last mark of each symbol at each sample (None before its first mark)
    prices: dict[str, list[Decimal | None]]


class RunReport(msgspec.Struct, frozen=True, kw_only=True):
    report: Report
    curve: list[EquityPoint]
    trips: list[RoundTrip]
    series: Series


class _OpenTrip(msgspec.Struct):
    entry_ts: int
    entry_cost: Decimal  # sum of |qty| * price over the entries, for the average entry price
    entry_qty: Decimal
    fees: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)


class _TripTracker:
    """Turns fills into round trips, per symbol: flat → open → flat (a flip closes and reopens)."""

    def __init__(self) -> None:
        self.trips: list[RoundTrip] = []
        self._open: dict[str, _OpenTrip] = {}

    def fill(self, f: OrderFilled, before: Decimal, after: Decimal, pnl: Decimal) -> None:
        trip = self._open.get(f.instrument)
        if trip is None or before == 0:
            trip = self._open[f.instrument] = _OpenTrip(f.ts_event, Decimal(0), Decimal(0))
        adds = before == 0 or (before > 0) == (f.side.sign > 0)
        if adds:
            trip.entry_cost += f.last_px * f.last_qty
            trip.entry_qty += f.last_qty
            trip.fees += f.fee
            return
        closing = min(f.last_qty, abs(before))
        closing_fee = _CTX.divide(f.fee * closing, f.last_qty)
        trip.fees += closing_fee
        trip.realized += pnl
        if after != 0 and (after > 0) == (before > 0):
            return  # a partial close: the trip goes on
        self.trips.append(
            RoundTrip(
                symbol=f.instrument,
                side="long" if before > 0 else "short",
                quantity=trip.entry_qty,
                entry_ts_ns=trip.entry_ts,
                exit_ts_ns=f.ts_event,
                entry_price=_CTX.divide(trip.entry_cost, trip.entry_qty),
                exit_price=f.last_px,
                pnl=trip.realized - trip.fees,
                fees=trip.fees,
            )
        )
        del self._open[f.instrument]
        if after != 0:
            rest = abs(after)
            self._open[f.instrument] = _OpenTrip(f.ts_event, f.last_px * rest, rest, f.fee - closing_fee)


def build(
    events: Iterable[Event],
    *,
    currency: str,
    market_events: int,
    journal_sha256: str,
) -> tuple[Report, list[EquityPoint], list[RoundTrip]]:
    run = build_run(events, currency=currency, market_events=market_events, journal_sha256=journal_sha256)
    return run.report, run.curve, run.trips


def build_run(
    events: Iterable[Event],
    *,
    currency: str,
    market_events: int,
    journal_sha256: str,
) -> RunReport:
    ledger = Ledger()
    trips = _TripTracker()
    curve: list[EquityPoint] = []
    strategy = strategy_type = ""
    orders = rejected = fills = records = 0
    min_cash: Decimal | None = None
    initial: Decimal | None = None
    peak = Decimal(0)
    pending_sample = False
    pending_ts = 0
    first_ts = last_ts = 0
    traded: set[str] = set()
    rebalances = stale = 0
    turnover = Decimal(0)
    outcomes: dict[str, int] = {}
    settings: RunSettings | None = None
    params: dict[str, str] = {}
    strategy_sha = ""
    symbols: list[str] = []
    marks: dict[str, Decimal] = {}
    first_marks: dict[str, Decimal] = {}
    benchmark: list[Decimal] = []
    prices: dict[str, list[Decimal | None]] = {}

    def sample(ts: int) -> None:
        nonlocal peak
        equity = ledger.equity(currency)
        peak = max(peak, equity)
        drawdown = _CTX.divide(peak - equity, peak) if peak > 0 else Decimal(0)
        exposed = any(ledger.position(s).qty != 0 for s in traded)
        curve.append(EquityPoint(ts, equity, ledger.cash(currency), drawdown, exposed))
        benchmark.append(_buy_and_hold(initial or Decimal(0), symbols, first_marks, marks))
        for symbol in symbols:
            prices[symbol].append(marks.get(symbol))

    for event in events:
        records += 1
        # an instant with marks is sampled once every fact stamped at or before it is folded
        if pending_sample and event.ts_event > pending_ts:
            sample(pending_ts)
            pending_sample = False
        if first_ts == 0:
            first_ts = event.ts_event
        last_ts = max(last_ts, event.ts_event)
        if isinstance(event, OrderFilled):
            before = ledger.position(event.instrument)
            ledger.apply(event)
            after = ledger.position(event.instrument)
            trips.fill(event, before.qty, after.qty, after.realized_pnl - before.realized_pnl)
            fills += 1
            traded.add(event.instrument)
        else:
            ledger.apply(event)
        match event:
            case RunStarted():
                strategy, strategy_type = event.strategy, event.strategy_type
                params, strategy_sha = dict(sorted(event.params.items())), event.strategy_sha256
                if isinstance(event.settings, RunSettings):
                    settings = event.settings
            case InstrumentDefined() if event.spec.symbol not in prices:
                symbols.append(event.spec.symbol)
                prices[event.spec.symbol] = [None] * len(curve)
            case CashAdjusted() if initial is None:
                initial = ledger.equity(currency)
            case OrderSubmitted():
                orders += 1
            case OrderRejected():
                rejected += 1
            case Rebalanced():
                rebalances += 1
                turnover += event.turnover
            case SnapshotSkipped():
                stale += event.count
            case ArbitrageResolved():
                outcomes[event.outcome] = outcomes.get(event.outcome, 0) + 1
            case MarkPrice():
                pending_sample, pending_ts = True, event.ts_event
                marks[event.instrument] = event.price
                first_marks.setdefault(event.instrument, event.price)
            case _:
                pass
        if isinstance(event, CashAdjusted | OrderFilled):
            cash = ledger.cash(currency)
            min_cash = cash if min_cash is None else min(min_cash, cash)
    if pending_sample:
        sample(pending_ts)

    start = initial if initial is not None else Decimal(0)
    final = ledger.equity(currency)
    metrics = report_metrics.compute(
        [report_metrics.Sample(p.ts_ns, p.equity, p.drawdown) for p in curve],
        [report_metrics.Trade(t.entry_ts_ns, t.exit_ts_ns, t.pnl) for t in trips.trips],
        initial=start,
        final=final,
        first_ts_ns=first_ts,
        last_ts_ns=last_ts,
    )
    report = Report(
        strategy=strategy,
        strategy_type=strategy_type,
        currency=currency,
        initial_equity=_money(start),
        final_equity=_money(final),
        total_return=_ratio(_CTX.divide(final - start, start) if start else Decimal(0)),
        max_drawdown=metrics.max_drawdown,
        sharpe=metrics.sharpe,
        exposure=_ratio(_CTX.divide(sum(p.exposed for p in curve), len(curve)) if curve else Decimal(0)),
        win_rate=metrics.win_rate,
        round_trips=len(trips.trips),
        orders=orders,
        rejected_orders=rejected,
        fills=fills,
        fees=_money(ledger.fees(currency)),
        events=market_events,
        min_cash=_money(min_cash if min_cash is not None else Decimal(0)),
        journal_sha256=journal_sha256,
        journal_records=records,
        first_ts_ns=first_ts,
        last_ts_ns=last_ts,
        rebalances=rebalances,
        turnover=_ratio(turnover),
        stale_snapshots=stale,
        arbitrages=dict(sorted(outcomes.items())),
        equity_by_currency={c: _money(ledger.equity(c)) for c in sorted(ledger.snapshot().cash)},
        warnings=_warnings(orders=orders, rejected=rejected, fills=fills),
        cagr=metrics.cagr,
        volatility=metrics.volatility,
        sortino=metrics.sortino,
        calmar=metrics.calmar,
        max_drawdown_duration_ns=metrics.max_drawdown_duration_ns,
        max_drawdown_recovered=metrics.max_drawdown_recovered,
        longest_drawdown_ns=metrics.longest_drawdown_ns,
        profit_factor=metrics.profit_factor,
        avg_trade=metrics.avg_trade,
        best_trade=metrics.best_trade,
        worst_trade=metrics.worst_trade,
        avg_holding_ns=metrics.avg_holding_ns,
        metrics_omitted=metrics.omitted,
        monthly_returns=metrics.monthly_returns,
        benchmark_return=_ratio(_CTX.divide(benchmark[-1] - start, start)) if benchmark and start else None,
        params=params,
        strategy_sha256=strategy_sha,
        settings=settings,
    )
    return RunReport(
        report=report, curve=curve, trips=trips.trips, series=Series(benchmark=benchmark, prices=prices)
    )


def _buy_and_hold(
    initial: Decimal, symbols: list[str], first: dict[str, Decimal], marks: dict[str, Decimal]
) -> Decimal:
    """The initial equity split equally over the universe at each symbol's first mark, held: a symbol
    not marked yet holds its part in cash."""
    if not symbols:
        return initial
    growth = sum(
        (_CTX.divide(marks[s], first[s]) if first.get(s) else Decimal(1) for s in symbols),
        Decimal(0),
    )
    return _CTX.divide(_CTX.multiply(initial, growth), len(symbols))


def _warnings(*, orders: int, rejected: int, fills: int) -> list[str]:
    if orders == 0:
        return ["the strategy sent no orders: check its signals and parameters against the data"]
    if rejected == orders:
        return [
            f"every order was rejected ({rejected} of {orders}): the journal's OrderRejected reasons "
            "say why (cash, lot size, price limits, injected rejects)"
        ]
    if fills == 0:
        return [f"no order filled ({orders} sent, {rejected} rejected)"]
    return []


def display(value: object) -> str:
    """A report value as a person reads it: lists and maps without Python's brackets and quotes,
    structs as their fields, null as "n/a" (never "None")."""
    if isinstance(value, msgspec.Struct):
        value = msgspec.to_builtins(value)
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "; ".join(map(display, value)) if value else "none"
    if isinstance(value, dict):
        return ", ".join(f"{k} {display(v)}" for k, v in value.items()) if value else "none"
    return str(value)


def _ratio(value: Decimal) -> str:
    return format(value.quantize(RATIO_PLACES, context=_CTX), "f")


def _money(value: Decimal) -> str:
    """Exact, in plain notation, without the trailing zeros that exact arithmetic accumulates."""
    return format(value.normalize(_CTX), "f") if value else "0"


def render_json(report: Report) -> bytes:
    return msgspec.json.format(msgspec.json.encode(report), indent=2) + b"\n"


def render_trades_csv(trips: list[RoundTrip]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    fields = [f.name for f in msgspec.structs.fields(RoundTrip)]
    writer.writerow(fields)
    for t in trips:
        writer.writerow([getattr(t, name) for name in fields])
    return out.getvalue()


def render_equity_csv(curve: list[EquityPoint]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["ts_ns", "equity", "cash", "drawdown", "exposed"])
    for p in curve:
        writer.writerow(
            [p.ts_ns, p.equity, p.cash, p.drawdown.quantize(RATIO_PLACES, context=_CTX), int(p.exposed)]
        )
    return out.getvalue()
