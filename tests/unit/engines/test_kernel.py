"""The kernel under a driver that is not the replay: a fake realtime clock, a venue that answers
later; and timers that fire on a quiet market, under the replay driver's step loop and on their own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

import msgspec
import pytest

from daemon.journal import MemoryJournal
from engines.clock import ReplayClock
from engines.errors import OrderStateError
from engines.kernel import Kernel, make_engine
from engines.ledger import Ledger
from engines.markets.specs import spec_for
from engines.model.commands import CancelOrder, QueryOrder, SubmitOrder
from engines.model.enums import Side
from engines.model.events import (
    Bar,
    Event,
    FillReport,
    MarketEvent,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderPendingCancel,
    OrderStatusReport,
    OrderStatusUnknown,
    OrderSubmitted,
    QuoteTick,
    Rebalanced,
    RunStarted,
)
from engines.orders.book import Orders
from engines.sdk import (
    ArbIntent,
    ArbitrageParams,
    ArbitrageStrategy,
    Context,
    LegOrder,
    Params,
    PortfolioStrategy,
    Signal,
    SingleAssetStrategy,
    Snapshot,
    TargetPosition,
    Weights,
)
from engines.sim.venue import SimVenue
from engines.strategy.declaration import declare

MS = 1_000_000
DAY = 86_400 * 10**9
T0 = 1_704_067_200 * 10**9  # 2024-01-01T00:00:00Z
SPOT, USDM = "binance-spot:BTCUSDT", "binance-usdm:BTCUSDT"
D = Decimal


class WallClock:
    """A realtime clock whose wall time the test sets: ts_init is the wall, not the venue's time."""

    def __init__(self, now_ns: int) -> None:
        self.now = now_ns

    def now_ns(self) -> int:
        return self.now

    def ts_init(self, ts_event: int) -> int:
        return self.now


class LaterVenue:
    """A venue port that answers nothing at once: the test records its answers when it likes."""

    def __init__(self) -> None:
        self.sent: list[SubmitOrder | CancelOrder | QueryOrder] = []

    def submit(self, cmd: SubmitOrder, at_ns: int) -> Sequence[Event]:
        self.sent.append(cmd)
        return ()

    def cancel(self, cmd: CancelOrder, at_ns: int) -> Sequence[Event]:
        self.sent.append(cmd)
        return ()

    def query(self, cmd: QueryOrder, at_ns: int) -> Sequence[Event]:
        self.sent.append(cmd)
        return ()

    def on_market(self, event: MarketEvent) -> Sequence[Event]:
        return ()


def quote(symbol: str, ts: int, bid: str = "60000", ask: str = "60000.1") -> QuoteTick:
    return QuoteTick(
        ts_event=ts, ts_init=ts, instrument=symbol, bid=D(bid), bid_size=D(5), ask=D(ask), ask_size=D(5)
    )


def kernel_for(cls: type, venue: object, clock: object) -> Kernel:
    """A kernel for ``cls``; ``venue`` is a venue port, or "sim" for a simulated venue on its ledger."""
    spec = declare({"STRATEGY": cls}, source="", filename="strategy.py", overrides={})
    specs = {s: spec_for(s) for s in spec.universe}
    ledger, orders = Ledger(), Orders()
    if venue == "sim":
        venue = SimVenue(specs, ledger, clock=clock)  # type: ignore[arg-type]
    currency = specs[spec.universe[0]].quote
    engine = make_engine(spec, ledger, orders, currency=currency, specs=specs, clock=clock)  # type: ignore[arg-type]
    kernel = Kernel(
        engine,
        ledger=ledger,
        orders=orders,
        journal=MemoryJournal(),
        venue=venue,  # type: ignore[arg-type]
        universe=spec.universe,
        currency=currency,
        clock=clock,  # type: ignore[arg-type]
    )
    run = RunStarted(
        ts_event=T0,
        ts_init=T0,
        run_id="t",
        strategy=spec.name,
        strategy_type=spec.strategy_type,
        mode="paper",
        venues=("test",),
        params={},
        strategy_sha256="0" * 64,
    )
    kernel.begin(run, [specs[s] for s in sorted(specs)], D(1_000_000))
    return kernel


def journal(kernel: Kernel) -> list[Event]:
    assert isinstance(kernel.journal, MemoryJournal)
    return list(kernel.journal.read())


# ── a live-like driver ──────────────────────────────────────────────────────────────────────────


class BuyOnceParams(Params, frozen=True, kw_only=True):
    symbol: str = SPOT


class BuyHalf(SingleAssetStrategy[BuyOnceParams]):
    name = "buy_half"

    def on_quote(self, ctx: Context, quote: QuoteTick) -> Signal:
        return TargetPosition(D("0.5"))


def test_a_venue_that_answers_later_gets_the_intent_journalled_first_stamped_by_the_wall_clock() -> None:
    venue, clock = LaterVenue(), WallClock(T0 + 5 * MS)
    k = kernel_for(BuyHalf, venue, clock)
    clock.now = T0 + 7 * MS  # the wall clock runs ahead of the venue's timestamps
    k.step_batch([quote(SPOT, T0 + 1 * MS)])
    (cmd,) = venue.sent
    assert isinstance(cmd, SubmitOrder) and cmd.venue == "sim" and cmd.quantity == D("0.5")
    (intent,) = [e for e in journal(k) if isinstance(e, OrderSubmitted)]
    assert (intent.ts_event, intent.ts_init) == (T0 + 1 * MS, T0 + 7 * MS)
    assert intent.client_order_id == cmd.client_order_id
    # the venue answers later; the driver records its facts as they arrive
    k.step_batch([quote(SPOT, T0 + 2 * MS)])
    assert len(venue.sent) == 1  # the order is working: TargetPosition nets it, nothing is resent
    k.record(
        OrderAccepted(
            ts_event=T0 + 3 * MS, ts_init=clock.now, client_order_id=cmd.client_order_id, venue_order_id="v1"
        )
    )
    k.record(
        OrderFilled(
            ts_event=T0 + 4 * MS,
            ts_init=clock.now,
            client_order_id=cmd.client_order_id,
            instrument=SPOT,
            side=Side.BUY,
            trade_id="t1",
            last_qty=D("0.5"),
            last_px=D("60000.1"),
            cum_qty=D("0.5"),
            fee=D(0),
            fee_currency="USDT",
        )
    )
    assert k.ledger.position(SPOT).qty == D("0.5")
    k.step_batch([quote(SPOT, T0 + 5 * MS)])
    assert len(venue.sent) == 1  # at its target: nothing more


# ── timers ──────────────────────────────────────────────────────────────────────────────────────


class TimeoutLegs(ArbitrageParams, frozen=True, kw_only=True):
    legs: str = f"{SPOT},{USDM}"
    leg_timeout_ms: int = 100


class EnterOnce(ArbitrageStrategy[TimeoutLegs]):
    name = "enter_once"

    def on_start(self, ctx: Context) -> None:
        self.done = False

    def on_snapshot(self, ctx: Context, snapshot: Snapshot) -> ArbIntent | None:
        if self.done:
            return None
        self.done = True
        return ArbIntent(
            (
                LegOrder(symbol=SPOT, side=Side.BUY, quantity=D("0.01"), limit=D("59000")),
                LegOrder(symbol=USDM, side=Side.SELL, quantity=D("0.01"), limit=D("61000")),
            )
        )


def test_a_leg_timeout_fires_on_its_deadline_with_no_quote_arriving() -> None:
    venue, clock = LaterVenue(), WallClock(T0)
    k = kernel_for(EnterOnce, venue, clock)
    k.step_batch([quote(SPOT, T0 + 1 * MS), quote(USDM, T0 + 1 * MS)])
    k.settle(T0 + 1 * MS)
    (first,) = venue.sent
    assert isinstance(first, SubmitOrder) and first.instrument == SPOT
    deadline = k.next_deadline()
    assert deadline == T0 + 101 * MS
    # nothing arrives; the live driver's timer wakes at the deadline
    assert k.fire_timers(deadline) == 0  # strictly before: not yet
    assert k.fire_timers(deadline + 1) == 1
    cancel = venue.sent[-1]
    assert isinstance(cancel, CancelOrder) and cancel.client_order_id == first.client_order_id
    (pending,) = [e for e in journal(k) if isinstance(e, OrderPendingCancel)]
    assert pending.ts_event == deadline
    assert k.next_deadline() is None


def test_the_replay_loop_fires_a_leg_timeout_at_its_deadline_not_at_the_next_quote() -> None:
    k = kernel_for(EnterOnce, "sim", ReplayClock())
    # the limit buy rests (59000 < the ask); the market is then quiet for 10 s
    k.step_batch([quote(SPOT, T0 + 1 * MS), quote(USDM, T0 + 1 * MS)])
    k.step_batch([quote(SPOT, T0 + 10_000 * MS), quote(USDM, T0 + 10_000 * MS)])
    canceled = [e for e in journal(k) if isinstance(e, OrderPendingCancel | OrderCanceled)]
    assert canceled and canceled[0].ts_event == T0 + 101 * MS


class Two(Params, frozen=True, kw_only=True):
    universe: str = "krx:005930,krx:000660"


class DailyBy25h(PortfolioStrategy[Two]):
    """Daily bars close at the next midnight: a period's first bar comes a day after it starts, so a
    deadline that waits for it is over a day long."""

    name = "daily_by_25h"
    schedule = "daily"
    rebalance_by_ms = 25 * 3_600_000

    def rebalance(self, ctx: Context, bars: Mapping[str, Bar]) -> Weights:
        return {s: D("0.4") for s in bars}


class DailyOnBars(DailyBy25h):
    name = "daily_on_bars"
    rebalance_by_ms = None


def daily_bar(symbol: str, day: date, close: str = "70000") -> Bar:
    opened = (day.toordinal() - date(1970, 1, 1).toordinal()) * DAY
    return Bar(
        ts_event=opened + DAY,
        ts_init=opened + DAY,
        instrument=symbol,
        open=D(close),
        high=D(close),
        low=D(close),
        close=D(close),
        volume=D(1),
        interval_ns=DAY,
    )


def rebalance_days(cls: type) -> list[date]:
    k = kernel_for(cls, "sim", ReplayClock())
    for day in (date(2024, 1, 2), date(2024, 1, 8)):  # a quiet week between
        k.step_batch([daily_bar(s, day) for s in sorted(k.universe)])
    k.finish("t")
    stamps = [e.ts_event for e in journal(k) if isinstance(e, Rebalanced)]
    return [date.fromordinal(date(1970, 1, 1).toordinal() + ts // DAY) for ts in stamps]


def test_a_daily_rebalance_with_a_deadline_happens_on_time_on_a_quiet_market() -> None:
    # the Jan 2 bar closes at Jan 3 00:00; then no bar until the Jan 8 bar (Jan 9 00:00)
    assert rebalance_days(DailyBy25h) == [
        date(2024, 1, 3),
        date(2024, 1, 4),
        date(2024, 1, 5),
        date(2024, 1, 6),
        date(2024, 1, 7),
        date(2024, 1, 8),
        date(2024, 1, 9),
    ]


def test_without_a_deadline_a_schedule_waits_for_the_periods_first_bar() -> None:
    assert rebalance_days(DailyOnBars) == [date(2024, 1, 3), date(2024, 1, 9)]


# ── validate, then journal, then fold ───────────────────────────────────────────────────────────


def fill(cid: str, trade_id: str, qty: str, cum: str, px: str = "60000.1") -> OrderFilled:
    return OrderFilled(
        ts_event=T0 + 4 * MS,
        ts_init=T0 + 4 * MS,
        client_order_id=cid,
        instrument=SPOT,
        side=Side.BUY,
        trade_id=trade_id,
        last_qty=D(qty),
        last_px=D(px),
        cum_qty=D(cum),
        fee=D(0),
        fee_currency="USDT",
    )


def test_a_fact_the_folds_refuse_is_never_journalled() -> None:
    venue = LaterVenue()
    k = kernel_for(BuyHalf, venue, ReplayClock())
    k.step_batch([quote(SPOT, T0 + 1 * MS)])
    (cmd,) = venue.sent
    before = journal(k)
    overfill = fill(cmd.client_order_id, "t1", "0.7", "0.7")  # more than the order's 0.5
    with pytest.raises(OrderStateError):
        k.record(overfill)
    assert journal(k) == before  # a restart folds this journal without meeting the bad fill
    assert k.ledger.position(SPOT).qty == 0


def test_a_fill_seen_twice_is_journalled_and_folded_once() -> None:
    venue = LaterVenue()
    k = kernel_for(BuyHalf, venue, ReplayClock())
    k.step_batch([quote(SPOT, T0 + 1 * MS)])
    (cmd,) = venue.sent
    first = fill(cmd.client_order_id, "t1", "0.2", "0.2")
    assert k.record(first) is not None
    assert k.record(first) is None  # the stream resent it
    assert k.record(FillReport(**msgspec.structs.asdict(first))) is None  # and reconciliation found it
    assert [e for e in journal(k) if isinstance(e, OrderFilled)] == [journal(k)[-1]]
    assert k.ledger.position(SPOT).qty == D("0.2")
    assert k.duplicate_fills == 2


def test_an_unknown_outcome_is_resolved_by_a_query_to_the_simulated_venue() -> None:
    k = kernel_for(BuyHalf, "sim", ReplayClock())
    k.step_batch([quote(SPOT, T0 + 1 * MS)])
    (intent,) = [e for e in journal(k) if isinstance(e, OrderSubmitted)]
    cid = intent.client_order_id
    # the market order waits for the next quote; say the ack had been lost: the outcome is unknown
    k.record(
        OrderStatusUnknown(ts_event=T0 + 2 * MS, ts_init=T0 + 2 * MS, client_order_id=cid, reason="timeout")
    )
    assert k.orders.get(cid).status.value == "unknown"  # type: ignore[union-attr]
    ask = QueryOrder(
        ts_event=T0 + 2 * MS,
        ts_init=T0 + 2 * MS,
        strategy="buy_half",
        venue="sim",
        client_order_id=cid,
        instrument=SPOT,
        side=Side.BUY,
        order_type=intent.order_type,
        quantity=intent.quantity,
    )
    k.dispatch([ask], T0 + 2 * MS)
    report = journal(k)[-1]
    assert isinstance(report, OrderStatusReport)
    assert (report.status, report.filled_qty, report.venue_order_id) == ("accepted", D(0), "SIM-1")
    assert k.orders.get(cid).status.value == "accepted"  # type: ignore[union-attr]
    k.step_batch([quote(SPOT, T0 + 3 * MS)])
    assert k.orders.get(cid).status.value == "filled"  # type: ignore[union-attr]
    k.dispatch([msgspec.structs.replace(ask, ts_event=T0 + 4 * MS)], T0 + 4 * MS)
    done = journal(k)[-1]
    assert isinstance(done, OrderStatusReport) and (done.status, done.filled_qty) == ("filled", D("0.5"))
    never = msgspec.structs.replace(ask, client_order_id="never-sent")
    (missing,) = k.venue.query(never, T0 + 3 * MS)
    assert isinstance(missing, OrderStatusReport) and missing.status == "not_found"


def test_the_replay_clock_follows_the_instants_the_kernel_reaches() -> None:
    clock = ReplayClock()
    k = kernel_for(BuyHalf, "sim", clock)
    k.step_batch([quote(SPOT, T0 + 1 * MS), quote(SPOT, T0 + 1 * MS), quote(SPOT, T0 + 9 * MS)])
    assert clock.now_ns() == T0 + 9 * MS
