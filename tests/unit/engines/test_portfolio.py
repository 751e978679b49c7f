"""The portfolio engine: schedules, sizing, two-phase ordering, buffer, drift, typed errors, real data.

The engine is driven by :class:`Harness`, which steps the simulated venue, the ledger, the order
book and the engine exactly as ``daemon.replay.Session`` does (venue first, then the mark, then the
engine; ``on_time`` when exchange time moves on; every answer folded before the engine sees it),
without a journal. One test runs the real ``Session`` over the bundled KOSPI fixture and checks that
it submits the same orders as the harness.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import pytest

from engines.errors import ContractViolation, DeclarationError, VibeError
from engines.kernel import Kernel
from engines.ledger import Ledger
from engines.markets.specs import spec_for
from engines.model.codec import with_seq
from engines.model.commands import CancelOrder, SubmitOrder
from engines.model.enums import OrderType, Side, TimeInForce
from engines.model.events import (
    Bar,
    CashAdjusted,
    Event,
    InstrumentDefined,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    Rebalanced,
    StrategyLog,
)
from engines.model.instruments import InstrumentSpec
from engines.orders.book import Orders
from engines.portfolio import MAX_SELL_WAIT, PortfolioEngine, period_key
from engines.sdk import Context, Params, PortfolioStrategy, Weights
from engines.sim.venue import SimVenue
from engines.strategy.declaration import StrategySpec, declare
from engines.strategy.runtime import StrategyError

D = Decimal
DAY = 86_400 * 10**9
EPOCH = date(1970, 1, 1).toordinal()
A, B, C = "krx:000010", "krx:000020", "krx:000030"
REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared" / "data"
KOSPI_FIXTURE = REPO / "replay_fixtures" / "krx-kospi6-daily"
SP500 = SHARED / "us-equities_SP500-20_dailyclose_20000103-20221228.csv.gz"
EXAMPLE = REPO / "strategies" / "examples" / "rebalance.py"

# ── the engine in the kernel, as the replay runs it ─────────────────────────────────────────────


class FactList:
    """A journal port that keeps every fact, and a venue port's commands, in the order they came."""

    def __init__(self) -> None:
        self.facts: list[object] = []

    def append(self, events: Sequence[Event]) -> Sequence[Event]:
        stamped = [with_seq(e, len(self.facts) + 1) for e in events]
        self.facts.extend(stamped)
        return stamped


class RecordingVenue:
    """The simulated venue behind a venue port that also lists each command it is sent."""

    def __init__(self, venue: SimVenue, facts: FactList) -> None:
        self.venue = venue
        self.facts = facts
        self.on_market = venue.on_market

    def submit(self, cmd: SubmitOrder, at_ns: int) -> Sequence[Event]:
        self.facts.facts.append(cmd)
        return self.venue.submit(cmd, at_ns)

    def cancel(self, cmd: CancelOrder, at_ns: int) -> Sequence[Event]:
        self.facts.facts.append(cmd)
        return self.venue.cancel(cmd, at_ns)


class Harness:
    """The PortfolioEngine in the kernel (engines/kernel.py), with every command and fact kept."""

    def __init__(
        self,
        spec: StrategySpec,
        cash: Decimal,
        *,
        specs: Mapping[str, InstrumentSpec] | None = None,
        fee_bps: Decimal | None = None,
        on_fill: Callable[[Harness], None] | None = None,
    ) -> None:
        self.specs = dict(specs) if specs is not None else {s: spec_for(s) for s in spec.universe}
        self.currency = self.specs[spec.universe[0]].quote
        self.ledger = Ledger()
        self.orders = Orders()
        self.journal = FactList()
        self.engine = PortfolioEngine(
            spec, self.ledger, self.orders, currency=self.currency, specs=self.specs
        )
        if on_fill is not None:
            # the engine handles a fact after the ledger and the order book folded it: the place
            # to check invariants after every fill
            handle = self.engine.handle

            def observed(event: Event) -> None:
                handle(event)
                if type(event) is OrderFilled:
                    on_fill(self)

            self.engine.handle = observed  # type: ignore[method-assign]
        self.kernel = Kernel(
            self.engine,
            ledger=self.ledger,
            orders=self.orders,
            journal=self.journal,
            venue=RecordingVenue(SimVenue(self.specs, self.ledger, fee_bps=fee_bps), self.journal),
            universe=spec.universe,
            currency=self.currency,
            sample_ns=None,
        )
        for s in sorted(self.specs):
            self.kernel.record(InstrumentDefined(ts_event=0, ts_init=0, spec=self.specs[s]))
        self.kernel.record(
            CashAdjusted(ts_event=0, ts_init=0, currency=self.currency, amount=cash, reason="t")
        )
        self.engine.start(0)
        self.kernel.settle(0)

    @property
    def facts(self) -> list[object]:
        return self.journal.facts

    def step(self, event: Bar) -> None:
        self.kernel.step_batch([event])

    def run(self, events: Iterable[Bar]) -> Harness:
        self.kernel.step_batch(list(events))
        self.finish()
        return self

    def finish(self) -> None:
        if self.kernel.last_ts:
            self.engine.on_time(self.kernel.last_ts)
            self.kernel.settle(self.kernel.last_ts)

    # ── what tests look at ──

    def of(self, kind: type[Any]) -> list[Any]:
        return [f for f in self.facts if type(f) is kind]

    def submits(self, side: Side | None = None) -> list[SubmitOrder]:
        return [s for s in self.of(SubmitOrder) if side is None or s.side is side]

    def logs(self) -> list[str]:
        return [log.message for log in self.of(StrategyLog)]

    def qty(self, symbol: str) -> Decimal:
        return self.ledger.position(symbol).qty


# ── strategies and data ─────────────────────────────────────────────────────────────────────────


class P(Params, frozen=True, kw_only=True):
    universe: str = f"{A},{B},{C}"
    schedule: str = "monthly"
    cash_buffer: Decimal = D(0)
    drift_threshold: Decimal = D(0)


Rule = Callable[[Context, Mapping[str, Bar]], object]


class Scripted(PortfolioStrategy[P]):
    """Returns what ``rule`` says; records when it was called and what it saw."""

    rule: ClassVar[Rule] = staticmethod(lambda ctx, bars: {})
    calls: ClassVar[list[int]] = []
    seen: ClassVar[list[dict[str, Bar]]] = []

    def rebalance(self, ctx: Context, bars: Mapping[str, Bar]) -> Weights:
        Scripted.calls.append(ctx.now_ns)
        Scripted.seen.append(dict(bars))
        return Scripted.rule(ctx, bars)  # type: ignore[return-value]


class Capped(Scripted):
    max_weight = D("0.4")


class Raises(PortfolioStrategy[P]):
    def rebalance(self, ctx: Context, bars: Mapping[str, Bar]) -> Weights:
        return {A: D(1) / D(0)}


def strategy(cls: type[Any] = Scripted, rule: Rule | None = None, **params: str) -> StrategySpec:
    Scripted.calls = []
    Scripted.seen = []
    if rule is not None:
        Scripted.rule = staticmethod(rule)  # type: ignore[assignment]
    return declare({"STRATEGY": cls}, source="", filename="strategy.py", overrides=params)


def weights(**w: str) -> Rule:
    symbols = {"a": A, "b": B, "c": C}
    return lambda ctx, bars: {symbols[k]: D(v) for k, v in w.items()}


def day(y: int, m: int, d: int) -> int:
    """00:00 UTC of a date, in ns: the open of that date's daily bar."""
    return (date(y, m, d).toordinal() - EPOCH) * DAY


def bar(symbol: str, opened: int, close: str, open_: str | None = None) -> Bar:
    """A daily bar of the date opening at ``opened``, stamped at the next midnight like daemon/data/ does."""
    c, o = D(close), D(open_ if open_ is not None else close)
    return Bar(
        ts_event=opened + DAY,
        ts_init=opened + DAY,
        instrument=symbol,
        open=o,
        high=max(o, c),
        low=min(o, c),
        close=c,
        volume=D(1),
        interval_ns=DAY,
    )


def daily(dates: Iterable[int], prices: Mapping[str, str | list[str]]) -> Iterator[Bar]:
    """Bars of every symbol at every date; a list gives one close per date (open = close)."""
    for i, opened in enumerate(dates):
        for symbol, px in prices.items():
            close = px[i] if isinstance(px, list) else px
            if close:
                yield bar(symbol, opened, close)


def weekdays(start: date, end: date) -> list[int]:
    out = []
    for ordinal in range(start.toordinal(), end.toordinal() + 1):
        if date.fromordinal(ordinal).weekday() < 5:
            out.append((ordinal - EPOCH) * DAY)
    return out


def rebalance_dates(h: Harness) -> list[date]:
    """The trading date (bar open) of each instant the strategy was called at."""
    return [date.fromordinal(EPOCH + (ts - DAY) // DAY) for ts in Scripted.calls]


# ── schedules ───────────────────────────────────────────────────────────────────────────────────

# Thursday 2019-12-26 to Monday 2020-01-06: ISO week 2020-W01 starts on Monday 2019-12-30, so the year
# turns inside a week and a month turns inside the same week.
YEAR_END = [
    day(2019, 12, 26),
    day(2019, 12, 27),
    day(2019, 12, 30),
    day(2019, 12, 31),
    day(2020, 1, 2),
    day(2020, 1, 3),
    day(2020, 1, 6),
]


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (
            "daily",
            [
                (2019, 12, 26),
                (2019, 12, 27),
                (2019, 12, 30),
                (2019, 12, 31),
                (2020, 1, 2),
                (2020, 1, 3),
                (2020, 1, 6),
            ],
        ),
        ("weekly", [(2019, 12, 26), (2019, 12, 30), (2020, 1, 6)]),
        ("monthly", [(2019, 12, 26), (2020, 1, 2)]),
        (
            "on_demand",
            [
                (2019, 12, 26),
                (2019, 12, 27),
                (2019, 12, 30),
                (2019, 12, 31),
                (2020, 1, 2),
                (2020, 1, 3),
                (2020, 1, 6),
            ],
        ),
    ],
)
def test_schedule_rebalances_on_the_first_instant_of_each_period(
    schedule: str, expected: list[tuple[int, int, int]]
) -> None:
    spec = strategy(rule=weights(a="0.3", b="0.3", c="0.3"), schedule=schedule)
    h = Harness(spec, D(10_000_000)).run(daily(YEAR_END, {A: "10000", B: "20000", C: "5000"}))
    assert rebalance_dates(h) == [date(*d) for d in expected]
    assert [r.ts_event for r in h.of(Rebalanced)] == Scripted.calls


def test_the_period_is_the_date_of_the_bar_open_not_of_its_midnight_stamp() -> None:
    # The bar of Friday 31 January is stamped Saturday 1 February 00:00 UTC: still January. The first
    # February rebalance is at the bar of Monday 3 February, stamped Tuesday 00:00.
    dates = [day(2020, 1, 30), day(2020, 1, 31), day(2020, 2, 3), day(2020, 2, 4)]
    spec = strategy(rule=weights(a="0.5", b="0.5"))
    Harness(spec, D(1_000_000)).run(daily(dates, {A: "100", B: "100", C: "100"}))
    assert Scripted.calls == [day(2020, 1, 31), day(2020, 2, 4)]
    assert period_key("monthly", day(2020, 1, 31)) != period_key("monthly", day(2020, 2, 1))
    assert period_key("weekly", day(2019, 12, 29)) != period_key("weekly", day(2019, 12, 30))  # Sun, Mon
    assert period_key("weekly", day(2019, 12, 30)) == period_key("weekly", day(2020, 1, 5))  # Mon..Sun


def test_an_instant_without_bars_never_rebalances() -> None:
    spec = strategy(rule=weights(a="0.5"), schedule="on_demand")
    h = Harness(spec, D(1_000_000))
    h.engine.on_time(day(2020, 1, 2))  # exchange time moved, but no bar of the universe came
    assert Scripted.calls == []
    assert h.engine.drain() == ()


def test_on_demand_none_skips_the_rebalance_and_an_empty_mapping_goes_to_cash() -> None:
    answers: list[object] = [{A: D("0.5")}, None, None, {}, None]

    def rule(ctx: Context, bars: Mapping[str, Bar]) -> object:
        return answers.pop(0)

    dates = weekdays(date(2020, 3, 2), date(2020, 3, 6))
    spec = strategy(rule=rule, schedule="on_demand")
    h = Harness(spec, D(1_000_000)).run(daily(dates, {A: "1000", B: "1000", C: "1000"}))
    assert len(Scripted.calls) == 5
    # three rebalances stated: the buy, the empty mapping (sell everything) and nothing for the Nones
    assert [r.ts_event for r in h.of(Rebalanced)] == [Scripted.calls[0], Scripted.calls[3]]
    buy, sell = h.submits()
    assert (buy.side, buy.quantity, sell.side, sell.quantity) == (Side.BUY, D(500), Side.SELL, D(500))
    assert sell.ts_event == Scripted.calls[3]
    assert h.qty(A) == 0


def test_unknown_schedule_is_a_typed_parameter_error() -> None:
    spec = strategy(schedule="hourly")
    with pytest.raises(DeclarationError) as err:
        Harness(spec, D(1_000))
    assert err.value.code == "VT111"
    assert "hourly" in err.value.message


# ── sizing ──────────────────────────────────────────────────────────────────────────────────────


def test_targets_round_down_to_whole_shares() -> None:
    # equity 1,000,000 KRW: A 0.5 / 30,000 = 16.67 shares -> 16; B 0.5 / 70,000 = 7.14 -> 7
    spec = strategy(rule=weights(a="0.5", b="0.5"))
    dates = weekdays(date(2020, 3, 2), date(2020, 3, 4))
    h = Harness(spec, D(1_000_000), fee_bps=D(0)).run(daily(dates, {A: "30000", B: "70000", C: "1000"}))
    buys = h.submits(Side.BUY)
    assert [(s.instrument, s.quantity) for s in buys] == [(A, D(16)), (B, D(7))]
    assert all(s.quantity == s.quantity.to_integral_value() for s in buys)
    assert all((s.order_type, s.time_in_force) == (OrderType.MARKET, TimeInForce.DAY) for s in buys)
    assert (h.qty(A), h.qty(B)) == (D(16), D(7))
    assert h.ledger.cash("KRW") == D(1_000_000) - 16 * 30_000 - 7 * 70_000


def test_targets_round_toward_zero_to_a_coarser_lot() -> None:
    specs = {s: msgspec.structs.replace(spec_for(s), lot_size=D(10), min_qty=D(10)) for s in (A, B, C)}
    spec = strategy(rule=weights(a="0.5", b="0.5"))
    dates = weekdays(date(2020, 3, 2), date(2020, 3, 4))
    h = Harness(spec, D(1_000_000), specs=specs).run(daily(dates, {A: "3000", B: "70000", C: "1000"}))
    # A: 166.67 shares -> 160; B: 7.14 shares -> 0 lots, no order
    assert [(s.instrument, s.quantity) for s in h.submits()] == [(A, D(160))]


def test_market_orders_fill_at_the_next_open() -> None:
    spec = strategy(rule=weights(a="0.5"))
    dates = weekdays(date(2020, 3, 2), date(2020, 3, 3))
    events = [bar(A, dates[0], "1000"), bar(A, dates[1], "1100", open_="990")]
    h = Harness(spec, D(1_000_000), fee_bps=D(0)).run(events)
    (fill,) = h.of(OrderFilled)
    assert (fill.last_qty, fill.last_px, fill.ts_event) == (D(500), D(990), dates[1])


# ── two phases: sells first, buys once they are terminal ────────────────────────────────────────


def switch_a_to_b(b_closes: list[str]) -> Harness:
    """Everything in A in February, everything in B from March: one sell, then one buy."""
    months = iter([{A: D("0.9")}, {B: D("0.9")}])
    dates = [day(2020, 2, 27), day(2020, 2, 28), day(2020, 3, 2), day(2020, 3, 3), day(2020, 3, 4)]
    spec = strategy(rule=lambda ctx, bars: next(months))
    prices: dict[str, str | list[str]] = {A: "1000", B: b_closes, C: "1000"}
    return Harness(spec, D(1_000_000)).run(daily(dates, prices))


def test_sells_go_first_and_buys_wait_until_the_sells_are_filled() -> None:
    h = switch_a_to_b(["1000"] * 5)
    march = day(2020, 3, 2) + DAY  # the instant of the first March bar
    sell = next(s for s in h.submits() if s.side is Side.SELL)
    buy = next(s for s in h.submits() if s.instrument == B)
    assert sell.ts_event == march
    # at the rebalance instant only the sell is out; the buy goes at the next instant, after the
    # sell's fill has been folded (its fill is stamped at the next bar's open, the rebalance instant)
    fills = {f.client_order_id: f for f in h.of(OrderFilled)}
    assert buy.ts_event == march + DAY
    assert h.facts.index(fills[sell.client_order_id]) < h.facts.index(buy)
    assert h.of(OrderRejected) == []
    # sized by the plan at the rebalance: 0.9 x equity / 1000 (equity after a flat month: cash + A)
    assert buy.quantity == h.qty(B) == D(899)  # 0.9 * 999,9xx / 1000 rounds down
    assert h.qty(A) == 0
    (_, second) = h.of(Rebalanced)
    assert (second.ts_event, second.orders) == (march, 2)
    assert second.weights == {A: D(0), B: D("0.9"), C: D(0)}


def test_buys_are_scaled_down_to_the_cash_that_is_free() -> None:
    # B jumps 30% between the rebalance close and the buy instant: the planned buy no longer fits in
    # the cash, so it is scaled down (never rejected, never more than the plan)
    h = switch_a_to_b(["1000", "1000", "1000", "1300", "1300"])
    buy = next(s for s in h.submits() if s.instrument == B)
    plan_qty = D(899)
    assert buy.quantity < plan_qty
    assert h.of(OrderRejected) == []
    assert any("scaled by" in m for m in h.logs())
    assert h.ledger.cash("KRW") >= 0


def test_a_rebalance_with_no_sells_buys_at_once() -> None:
    spec = strategy(rule=weights(a="0.5", b="0.5"))
    dates = weekdays(date(2020, 3, 2), date(2020, 3, 3))
    h = Harness(spec, D(1_000_000)).run(daily(dates, {A: "1000", B: "1000", C: "1000"}))
    assert {s.ts_event for s in h.submits()} == {dates[0] + DAY}


def test_buys_go_after_the_wait_when_a_sell_cannot_fill_and_stale_orders_are_canceled() -> None:
    # A has no bar after the March rebalance: its sell stays working. After MAX_SELL_WAIT instants the
    # buys go with the cash that is free; at the April rebalance the stale sell is canceled.
    months = iter([{A: D("0.5"), B: D("0.4")}, {A: D("0"), B: D("0.2"), C: D("0.5")}, {C: D("0.5")}])
    spec = strategy(rule=lambda ctx, bars: next(months))
    feb = [day(2020, 2, 27), day(2020, 2, 28)]
    march = weekdays(date(2020, 3, 2), date(2020, 3, 31))
    april = [day(2020, 4, 1), day(2020, 4, 2)]
    events = list(daily(feb, {A: "1000", B: "1000", C: "1000"}))
    events += [bar(A, march[0], "1000"), *daily(march, {B: "1000", C: "1000"})]
    events += list(daily(april, {B: "1000", C: "1000"}))
    events.sort(key=lambda e: e.ts_event)
    h = Harness(spec, D(1_000_000)).run(events)
    sell_a = next(s for s in h.submits() if s.instrument == A and s.side is Side.SELL)
    buy_c = next(s for s in h.submits() if s.instrument == C)
    assert sell_a.ts_event == march[0] + DAY
    assert buy_c.ts_event == march[MAX_SELL_WAIT] + DAY  # instants are trading days
    assert any("still working after" in m for m in h.logs())
    (cancel,) = h.of(CancelOrder)
    assert cancel.client_order_id == sell_a.client_order_id
    assert cancel.ts_event == day(2020, 4, 1) + DAY
    # the April plan sells A again, afresh: that new order is the only one still working
    (working,) = h.orders.open_orders()
    assert (working.instrument, working.side, working.client_order_id) == (
        A,
        Side.SELL,
        [s for s in h.submits() if s.instrument == A][-1].client_order_id,
    )


# ── cash buffer and drift ───────────────────────────────────────────────────────────────────────


def test_cash_buffer_caps_the_invested_fraction() -> None:
    spec = strategy(rule=weights(a="0.5", b="0.5"), cash_buffer="0.1")
    dates = weekdays(date(2020, 3, 2), date(2020, 3, 3))
    h = Harness(spec, D(1_000_000), fee_bps=D(0)).run(daily(dates, {A: "1000", B: "1000", C: "1000"}))
    # 0.5 and 0.5 are scaled to 0.45 each: 450 shares, 100,000 KRW stays in cash
    assert [s.quantity for s in h.submits()] == [D(450), D(450)]
    assert h.ledger.cash("KRW") == D(100_000)


def test_cash_buffer_leaves_weights_already_below_the_cap_alone() -> None:
    spec = strategy(rule=weights(a="0.4", b="0.4"), cash_buffer="0.1")
    dates = weekdays(date(2020, 3, 2), date(2020, 3, 3))
    h = Harness(spec, D(1_000_000), fee_bps=D(0)).run(daily(dates, {A: "1000", B: "1000", C: "1000"}))
    assert [s.quantity for s in h.submits()] == [D(400), D(400)]


@pytest.mark.parametrize(("threshold", "trades_a"), [("0", True), ("0.01", True), ("0.05", False)])
def test_drift_threshold_skips_symbols_close_to_their_target(threshold: str, trades_a: bool) -> None:
    # Feb: 500 A and 500 B at 1000. By March A is at 1090: weight 545,000 / 1,045,000 = 0.5215,
    # 0.0215 away from 0.5. B (0.478) is as far the other way.
    spec = strategy(rule=weights(a="0.5", b="0.5"), drift_threshold=threshold)
    dates = [day(2020, 2, 27), day(2020, 2, 28), day(2020, 3, 2), day(2020, 3, 3)]
    prices: dict[str, str | list[str]] = {A: ["1000", "1000", "1090", "1090"], B: "1000", C: "1000"}
    h = Harness(spec, D(1_000_000), fee_bps=D(0)).run(daily(dates, prices))
    march = [s for s in h.submits() if s.ts_event >= day(2020, 3, 2) + DAY]
    assert any(s.instrument == A for s in march) is trades_a
    assert any(s.instrument == B for s in march) is trades_a
    assert h.of(Rebalanced)[-1].orders == (2 if trades_a else 0)


def test_invalid_buffer_and_threshold_are_parameter_errors() -> None:
    for name, value in (("cash_buffer", "1"), ("cash_buffer", "-0.1"), ("drift_threshold", "-1")):
        with pytest.raises(DeclarationError) as err:
            Harness(strategy(**{name: value}), D(1_000))
        assert err.value.code == "VT111"
        assert name in err.value.message


# ── prices, errors ──────────────────────────────────────────────────────────────────────────────


def test_symbols_without_a_price_are_skipped_and_logged() -> None:
    spec = strategy(rule=weights(a="0.3", b="0.3", c="0.3"))
    dates = weekdays(date(2020, 3, 2), date(2020, 3, 3))
    h = Harness(spec, D(1_000_000)).run(daily(dates, {A: "1000", B: "1000"}))
    assert set(Scripted.seen[0]) == {A, B}  # the strategy sees the latest bar of priced symbols
    assert [s.instrument for s in h.submits()] == [A, B]
    assert any(C in m and "no price" in m for m in h.logs())
    (rebalanced,) = h.of(Rebalanced)
    assert rebalanced.weights[C] == D("0.3")
    assert rebalanced.orders == 2


@pytest.mark.parametrize(
    ("cls", "answer", "code", "symbol"),
    [
        (Scripted, {"krx:999999": D("0.1")}, "VT310", "krx:999999"),
        (Scripted, {A: D("NaN")}, "VT311", A),
        (Capped, {A: D("0.5")}, "VT312", A),
        (Scripted, {A: D("0.6"), B: D("0.6")}, "VT313", None),
        (Scripted, {B: D("-0.1")}, "VT314", B),
        (Scripted, [D(1)], "VT315", None),
    ],
)
def test_weights_that_break_the_contract_are_typed_errors(
    cls: type[Any], answer: object, code: str, symbol: str | None
) -> None:
    spec = strategy(cls, rule=lambda ctx, bars: answer)
    dates = weekdays(date(2020, 3, 2), date(2020, 3, 3))
    h = Harness(spec, D(1_000_000))
    with pytest.raises(ContractViolation) as err:
        h.run(daily(dates, {A: "1000", B: "1000", C: "1000"}))
    assert err.value.code == code
    assert spec.name in err.value.message
    assert f"ts {dates[0] + DAY}" in err.value.message
    if symbol is not None:
        assert symbol in err.value.message
    assert h.submits() == []


def test_an_exception_in_rebalance_is_a_strategy_error() -> None:
    spec = strategy(Raises)
    dates = weekdays(date(2020, 3, 2), date(2020, 3, 3))
    with pytest.raises(StrategyError) as err:
        Harness(spec, D(1_000_000)).run(daily(dates, {A: "1000", B: "1000", C: "1000"}))
    assert err.value.code == "VT330"
    assert "Raises" in err.value.message
    assert "DivisionByZero" in err.value.message or "ZeroDivision" in err.value.message


def test_inverse_instruments_are_refused() -> None:
    specs = {s: spec_for(s) for s in (A, B, C)}
    specs[C] = msgspec.structs.replace(spec_for("binance-coinm:BTCUSD-PERP"), symbol=C, quote="KRW")
    with pytest.raises(VibeError) as err:
        Harness(strategy(), D(1_000), specs=specs)
    assert C in err.value.message


# ── determinism, the real runner ────────────────────────────────────────────────────────────────


def kospi_bars() -> Iterator[Bar]:
    from daemon import data

    for event in data.read_fixture(KOSPI_FIXTURE):
        assert isinstance(event, Bar)
        yield event


def example(**params: str) -> StrategySpec:
    from daemon.preflight import load_strategy

    return load_strategy(EXAMPLE, params=[f"{k}={v}" for k, v in params.items()]).spec


_DETERMINISM_SCRIPT = """
import hashlib, sys
sys.path.insert(0, sys.argv[1])
from decimal import Decimal
import test_portfolio as t
from engines.model.codec import Codec
codec = Codec()
h = t.Harness(t.example(schedule="weekly", cash_buffer="0.01"), Decimal(10_000_000), fee_bps=Decimal(15))
h.run(t.kospi_bars())
digest = hashlib.sha256(b"".join(codec.to_json(f) + b"\\n" for f in h.facts))
print(len(h.facts), digest.hexdigest())
"""


def test_same_inputs_give_the_same_commands_and_facts_in_any_process() -> None:
    # two interpreters with different string-hash seeds: no output may depend on set or hash order
    import os
    import subprocess
    import sys

    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run(
            [sys.executable, "-c", _DETERMINISM_SCRIPT, str(Path(__file__).parent)],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            check=True,
        )
        outputs.add(proc.stdout)
    (only,) = outputs
    assert int(only.split()[0]) > 1000


def test_the_replay_driver_submits_what_the_harness_submits() -> None:
    """The replay driver wires its own kernel (file journal, options): it decides the same orders."""
    from daemon import replay
    from daemon.journal import MemoryJournal
    from daemon.preflight import LoadedStrategy
    from engines.model.events import RunStarted

    spec = example()
    specs = {s: spec_for(s) for s in spec.universe}
    journal = MemoryJournal()
    cfg = replay.ReplayConfig(strategy=EXAMPLE, data=(), out=Path("unused"))
    kernel = replay._kernel(LoadedStrategy(spec, "0" * 64), specs, journal, cfg)
    assert isinstance(kernel.engine, PortfolioEngine)
    bars = list(kospi_bars())
    run = RunStarted(
        ts_event=bars[0].ts_event,
        ts_init=bars[0].ts_event,
        run_id="t",
        strategy=spec.name,
        strategy_type="portfolio",
        mode="backtest",
        venues=("sim",),
        params={},
        strategy_sha256="0" * 64,
    )
    kernel.begin(run, [specs[s] for s in sorted(specs)], D(10_000_000))
    for i in range(0, len(bars), 4096):
        kernel.step_batch(bars[i : i + 4096])
    kernel.finish("t")
    journalled = [e for e in journal.read() if isinstance(e, OrderSubmitted)]
    h = Harness(spec, D(10_000_000)).run(bars)
    key = [(s.ts_event, s.client_order_id, s.instrument, s.side, s.quantity) for s in h.submits()]
    assert [(s.ts_event, s.client_order_id, s.instrument, s.side, s.quantity) for s in journalled] == key
    assert len([e for e in journal.read() if isinstance(e, Rebalanced)]) == len(h.of(Rebalanced))


# ── real data ───────────────────────────────────────────────────────────────────────────────────


class Invariants:
    """Checks after every fill: whole non-negative share positions, cash never below zero."""

    def __init__(self, universe: Iterable[str], currency: str) -> None:
        self.universe = tuple(universe)
        self.currency = currency
        self.fills = 0
        self.min_cash: Decimal | None = None

    def __call__(self, h: Harness) -> None:
        self.fills += 1
        cash = h.ledger.cash(self.currency)
        self.min_cash = cash if self.min_cash is None else min(self.min_cash, cash)
        for symbol in self.universe:
            qty = h.qty(symbol)
            assert qty >= 0 and qty == qty.to_integral_value(), (symbol, qty)


def months_between(first: date, last: date) -> list[tuple[int, int]]:
    out = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def check_real_run(h: Harness, check: Invariants, bars_first: int, bars_last: int) -> None:
    assert check.fills > 0
    assert check.min_cash is not None and check.min_cash >= 0
    assert h.ledger.cash(h.currency) >= 0
    assert h.of(OrderRejected) == []
    rebalances = h.of(Rebalanced)
    # one rebalance per month, at the first instant of the month
    months = [date.fromordinal(EPOCH + (r.ts_event - DAY) // DAY) for r in rebalances]
    first = date.fromordinal(EPOCH + (bars_first - DAY) // DAY)
    last = date.fromordinal(EPOCH + (bars_last - DAY) // DAY)
    assert [(d.year, d.month) for d in months] == months_between(first, last)
    for r in rebalances:
        assert sum(r.weights.values(), D(0)) <= 1
        assert D(0) <= r.turnover <= 2
    # holdings are worth at most the equity: the weights actually held sum to at most 1
    equity = h.ledger.equity(h.currency)
    held = sum((h.qty(s) * (h.ledger.mark(s) or D(0)) for s in check.universe), D(0))
    assert held <= equity


def test_kospi_six_monthly_keeps_whole_shares_and_positive_cash() -> None:
    spec = example()
    check = Invariants(spec.universe, "KRW")
    h = Harness(spec, D(10_000_000), on_fill=check)
    bars = list(kospi_bars())
    h.run(bars)
    check_real_run(h, check, bars[0].ts_event, bars[-1].ts_event)
    assert len(h.of(Rebalanced)) == 48  # 2016-01 .. 2019-12
    assert all(h.qty(s) > 0 for s in spec.universe)


def test_sp500_twenty_monthly_in_usd(shared_data: Path) -> None:
    from daemon import data

    if not SP500.exists():
        pytest.skip(f"{SP500} is missing")
    with gzip.open(SP500, "rt") as fh:
        header = fh.readline().strip().split(",")[1:]
    universe = ",".join(f"us-equities:{t}" for t in header)
    spec = example(universe=universe)
    assert len(spec.universe) == 20
    check = Invariants(spec.universe, "USD")
    h = Harness(spec, D(1_000_000), on_fill=check)
    first = last = 0
    for event in data.read_events(SP500):
        assert isinstance(event, Bar)
        first = first or event.ts_event
        last = event.ts_event
        h.step(event)
    h.finish()
    assert h.currency == "USD"
    check_real_run(h, check, first, last)
    assert len(h.of(Rebalanced)) == 276  # 2000-01 .. 2022-12
