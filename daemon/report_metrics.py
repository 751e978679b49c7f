"""The standard performance figures of a run, from the two facts the report folds out of the journal:
the sampled equity curve and the round trips. Definitions and the short-run rule: docs/report.md.

Everything is Decimal arithmetic under :data:`~engines.decimals.REPORT_CONTEXT`, so a figure is the
same digits wherever it is computed. A figure that does not exist for a run is ``None`` (JSON null)
and, where the reason is not simply "no round trips", ``omitted`` says why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from itertools import pairwise

import msgspec

from engines.decimals import REPORT_CONTEXT
from engines.units import NS_PER_DAY, NS_PER_SECOND

_CTX = REPORT_CONTEXT
RATIO_PLACES = Decimal("1e-10")
NS_PER_YEAR = 365 * NS_PER_DAY
#: an annualised figure needs at least this much exchange time and this many equity returns: below
#: either, a year's extrapolation of a few minutes is noise (a 6-minute run once showed a Sharpe of -526)
MIN_ANNUALISED_DAYS = 30
MIN_ANNUALISED_RETURNS = 30
ANNUALISED = ("cagr", "volatility", "sharpe", "sortino", "calmar")
NO_TRADES = "no round trip closed"


class Sample(msgspec.Struct, frozen=True):
    """One point of the equity curve, as the metrics need it."""

    ts_ns: int
    equity: Decimal
    drawdown: Decimal


class Trade(msgspec.Struct, frozen=True):
    """One round trip, as the metrics need it."""

    entry_ts_ns: int
    exit_ts_ns: int
    pnl: Decimal


class Metrics(msgspec.Struct, frozen=True, kw_only=True):
    cagr: str | None
    volatility: str | None
    sharpe: str | None
    sortino: str | None
    calmar: str | None
    max_drawdown: str
    max_drawdown_duration_ns: int
    max_drawdown_recovered: bool
    longest_drawdown_ns: int
    win_rate: str | None
    profit_factor: str | None
    avg_trade: str | None
    best_trade: str | None
    worst_trade: str | None
    avg_holding_ns: int | None
    monthly_returns: dict[str, str]
    omitted: dict[str, str]


def ratio(value: Decimal) -> str:
    return format(value.quantize(RATIO_PLACES, context=_CTX), "f")


def money(value: Decimal) -> str:
    """Exact, in plain notation, without the trailing zeros that exact arithmetic accumulates."""
    return format(value.normalize(_CTX), "f") if value else "0"


def returns_of(curve: Sequence[Sample]) -> list[Decimal]:
    """Per-sample simple returns; a sample after a zero equity starts no return."""
    return [_CTX.divide(b.equity - a.equity, a.equity) for a, b in pairwise(curve) if a.equity]


def periods_per_year(curve: Sequence[Sample]) -> Decimal:
    """Samples per 365-day year, one sample every median gap (the upper median for an even count)."""
    gaps = sorted(b.ts_ns - a.ts_ns for a, b in pairwise(curve))
    step = gaps[len(gaps) // 2] or 1
    return _CTX.divide(Decimal(NS_PER_YEAR), Decimal(step))


def compute(
    curve: Sequence[Sample],
    trades: Sequence[Trade],
    *,
    initial: Decimal,
    final: Decimal,
    first_ts_ns: int,
    last_ts_ns: int,
) -> Metrics:
    omitted: dict[str, str] = {}
    max_dd = max((p.drawdown for p in curve), default=Decimal(0))
    dd_duration, recovered, longest = drawdown_durations(curve)
    a = _annualised(curve, initial, final, span_ns=last_ts_ns - first_ts_ns, max_dd=max_dd, omitted=omitted)
    t = _trade_figures(trades, omitted)
    return Metrics(
        cagr=a.cagr,
        volatility=a.volatility,
        sharpe=a.sharpe,
        sortino=a.sortino,
        calmar=a.calmar,
        max_drawdown=ratio(max_dd),
        max_drawdown_duration_ns=dd_duration,
        max_drawdown_recovered=recovered,
        longest_drawdown_ns=longest,
        win_rate=t.win_rate,
        profit_factor=t.profit_factor,
        avg_trade=t.avg_trade,
        best_trade=t.best_trade,
        worst_trade=t.worst_trade,
        avg_holding_ns=t.avg_holding_ns,
        monthly_returns=monthly_returns(curve, initial),
        omitted=dict(sorted(omitted.items())),
    )


class _Annual(msgspec.Struct):
    cagr: str | None = None
    volatility: str | None = None
    sharpe: str | None = None
    sortino: str | None = None
    calmar: str | None = None


class _Trades(msgspec.Struct):
    win_rate: str | None = None
    profit_factor: str | None = None
    avg_trade: str | None = None
    best_trade: str | None = None
    worst_trade: str | None = None
    avg_holding_ns: int | None = None


def _annualised(
    curve: Sequence[Sample],
    initial: Decimal,
    final: Decimal,
    *,
    span_ns: int,
    max_dd: Decimal,
    omitted: dict[str, str],
) -> _Annual:
    out = _Annual()
    returns = returns_of(curve)
    days = _CTX.divide(Decimal(span_ns), Decimal(NS_PER_DAY))
    if span_ns < MIN_ANNUALISED_DAYS * NS_PER_DAY or len(returns) < MIN_ANNUALISED_RETURNS:
        reason = (
            f"the run spans {_days_text(days)} and {len(returns)} equity returns; annualised figures "
            f"need at least {MIN_ANNUALISED_DAYS} days and {MIN_ANNUALISED_RETURNS} returns"
        )
        omitted.update(dict.fromkeys(ANNUALISED, reason))
        return out
    if initial > 0 and final > 0:
        years = _CTX.divide(Decimal(span_ns), Decimal(NS_PER_YEAR))
        growth = _CTX.power(_CTX.divide(final, initial), _CTX.divide(Decimal(1), years))
        cagr = growth - 1
        out.cagr = ratio(cagr)
        if max_dd > 0:
            out.calmar = ratio(_CTX.divide(cagr, max_dd))
        else:
            omitted["calmar"] = "no drawdown: CAGR / max drawdown is unbounded"
    else:
        omitted["cagr"] = omitted["calmar"] = "the equity did not stay above zero"
    n = len(returns)
    mean = _CTX.divide(sum(returns, Decimal(0)), n)
    var = _CTX.divide(sum(((r - mean) ** 2 for r in returns), Decimal(0)), n - 1)
    root_periods = periods_per_year(curve).sqrt(_CTX)
    if var == 0:
        omitted["volatility"] = omitted["sharpe"] = omitted["sortino"] = "the equity never changed"
        return out
    stdev = var.sqrt(_CTX)
    out.volatility = ratio(_CTX.multiply(stdev, root_periods))
    out.sharpe = ratio(_CTX.multiply(_CTX.divide(mean, stdev), root_periods))
    downside = _CTX.divide(sum((r * r for r in returns if r < 0), Decimal(0)), n)
    if downside == 0:
        omitted["sortino"] = "no sample lost money: the downside deviation is zero"
    else:
        out.sortino = ratio(_CTX.multiply(_CTX.divide(mean, downside.sqrt(_CTX)), root_periods))
    return out


def _days_text(days: Decimal) -> str:
    if days < 1:  # "0.00 days" would hide a 6-minute run's length
        minutes = _CTX.multiply(days, Decimal(1440))
        return format(minutes.quantize(Decimal("0.1"), context=_CTX), "f") + " minutes"
    return format(days.quantize(Decimal("0.01"), context=_CTX), "f") + " days"


def drawdown_durations(curve: Sequence[Sample]) -> tuple[int, bool, int]:
    """(the deepest drawdown's duration, whether it recovered, the longest drawdown's duration).

    A drawdown lasts from the last sample at its peak to the first sample back at or above that
    peak, or to the last sample if the equity never got back there. On equal depths the first counts.
    """
    if not curve:
        return 0, True, 0
    peak, peak_ts = curve[0].equity, curve[0].ts_ns
    depth = Decimal(0)
    deepest: tuple[Decimal, int, bool] = (Decimal(0), 0, True)
    longest = 0
    for p in curve:
        if p.equity >= peak:
            if depth > 0:
                duration = p.ts_ns - peak_ts
                longest = max(longest, duration)
                if depth > deepest[0]:
                    deepest = (depth, duration, True)
            peak, peak_ts, depth = p.equity, p.ts_ns, Decimal(0)
        else:
            depth = max(depth, p.drawdown)
    if depth > 0:
        duration = curve[-1].ts_ns - peak_ts
        longest = max(longest, duration)
        if depth > deepest[0]:
            deepest = (depth, duration, False)
    return deepest[1], deepest[2], longest


def _trade_figures(trades: Sequence[Trade], omitted: dict[str, str]) -> _Trades:
    if not trades:
        omitted.update(dict.fromkeys(msgspec.structs.asdict(_Trades()), NO_TRADES))
        return _Trades()
    n = len(trades)
    pnls = [t.pnl for t in trades]
    gains = sum((p for p in pnls if p > 0), Decimal(0))
    losses = -sum((p for p in pnls if p < 0), Decimal(0))
    held = sum(t.exit_ts_ns - t.entry_ts_ns for t in trades)
    if losses:
        profit_factor: str | None = ratio(_CTX.divide(gains, losses))
    else:
        profit_factor = None
        omitted["profit_factor"] = "no losing round trip: gross profit / gross loss is unbounded"
    return _Trades(
        win_rate=ratio(_CTX.divide(sum(p > 0 for p in pnls), n)),
        profit_factor=profit_factor,
        avg_trade=money(_CTX.divide(sum(pnls, Decimal(0)), n).quantize(RATIO_PLACES, context=_CTX)),
        best_trade=money(max(pnls)),
        worst_trade=money(min(pnls)),
        # whole nanoseconds, rounded half-even
        avg_holding_ns=int(_CTX.divide(Decimal(held), n).to_integral_value(context=_CTX)),
    )


def month_of(ts_ns: int) -> str:
    """The UTC calendar month of an exchange timestamp, as ``YYYY-MM``."""
    return dt.datetime.fromtimestamp(ts_ns // NS_PER_SECOND, tz=dt.UTC).strftime("%Y-%m")


def monthly_returns(curve: Sequence[Sample], initial: Decimal) -> dict[str, str]:
    """Each UTC month's return: its last sampled equity over the previous month's last (the initial
    equity for the first month), minus one. A month without a sample has no entry."""
    month_end: dict[str, Decimal] = {}
    for p in curve:
        month_end[month_of(p.ts_ns)] = p.equity
    out: dict[str, str] = {}
    base = initial
    for month, equity in month_end.items():
        out[month] = ratio(_CTX.divide(equity - base, base)) if base else ratio(Decimal(0))
        base = equity
    return out
