"""What a strategy author reaches for after the first strategy: cancels, open orders, a history
window, ``on_fill`` / ``on_stop``, a warning for a hook the data never calls, ints for Decimals.

Most tests run a strategy through the kernel with the simulated venue (the replay's own path), so
what they check is what the journal of a replay holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.journal import MemoryJournal
from engines.clock import ReplayClock
from engines.errors import ContractViolation, DeclarationError
from engines.kernel import Kernel, make_engine
from engines.ledger import Ledger
from engines.markets.specs import spec_for
from engines.model.commands import CancelOrder as CancelCommand
from engines.model.commands import QueryOrder, SubmitOrder
from engines.model.enums import OrderType, Side
from engines.model.events import (
    Bar,
    Event,
    MarketEvent,
    OrderCanceled,
    OrderCancelRejected,
    OrderFilled,
    OrderPendingCancel,
    OrderSubmitted,
    QuoteTick,
    Rebalanced,
    RunFinished,
    RunStarted,
    StrategyLog,
)
from engines.orders.book import Orders
from engines.sdk import (
    ArbitrageParams,
    ArbitrageStrategy,
    CancelAll,
    CancelOrder,
    Context,
    Fill,
    LegOrder,
    OpenOrder,
    OrderIntent,
    Params,
    PortfolioStrategy,
    Signal,
    SingleAssetStrategy,
    Snapshot,
    TargetPosition,
    Weights,
)
from engines.sim.venue import SimVenue
from engines.strategy.contract import check_single, check_weights
from engines.strategy.declaration import declare
from engines.strategy.runtime import StrategyError

D = Decimal
SYM = "binance-spot:BTCUSDT"
KRX_A, KRX_B = "krx:005930", "krx:000660"


class P(Params, frozen=True, kw_only=True):
    symbol: str = SYM


def bar(ts: int, close: int = 100, symbol: str = SYM, low: int | None = None) -> Bar:
    c = D(close)
    return Bar(
        ts_event=ts,
        ts_init=ts,
        instrument=symbol,
        open=c,
        high=c + 1,
        low=D(low) if low is not None else c - 1,
        close=c,
        volume=D(10),
        interval_ns=1,
    )


def quote(ts: int, symbol: str = SYM) -> QuoteTick:
    return QuoteTick(
        ts_event=ts, ts_init=ts, instrument=symbol, bid=D(100), bid_size=D(5), ask=D(101), ask_size=D(5)
    )


class LaterVenue:
    """A venue that answers nothing at once, as a live one: the test records its answers."""

    def __init__(self) -> None:
        self.sent: list[SubmitOrder | CancelCommand | QueryOrder] = []

    def submit(self, cmd: SubmitOrder, at_ns: int) -> list[Event]:
        self.sent.append(cmd)
        return []

    def cancel(self, cmd: CancelCommand, at_ns: int) -> list[Event]:
        self.sent.append(cmd)
        return []

    def query(self, cmd: QueryOrder, at_ns: int) -> list[Event]:
        self.sent.append(cmd)
        return []

    def on_market(self, event: MarketEvent) -> list[Event]:
        return []


def run_kernel(
    cls: type, venue: object = "sim", overrides: Mapping[str, str] | None = None, cash: int = 100_000
) -> Kernel:
    spec = declare({"STRATEGY": cls}, source="", filename="strategy.py", overrides=dict(overrides or {}))
    specs = {s: spec_for(s) for s in spec.universe}
    clock = ReplayClock()
    ledger, orders = Ledger(), Orders()
    port = SimVenue(specs, ledger, clock=clock) if venue == "sim" else venue
    currency = specs[spec.universe[0]].quote
    engine = make_engine(spec, ledger, orders, currency=currency, specs=specs, clock=clock)
    kernel = Kernel(
        engine,
        ledger=ledger,
        orders=orders,
        journal=MemoryJournal(),
        venue=port,  # type: ignore[arg-type]
        universe=spec.universe,
        currency=currency,
        clock=clock,
    )
    run = RunStarted(
        ts_event=1,
        ts_init=1,
        run_id="t",
        strategy=spec.name,
        strategy_type=spec.strategy_type,
        mode="backtest",
        venues=("sim",),
        params={},
        strategy_sha256="0" * 64,
    )
    kernel.begin(run, [specs[s] for s in sorted(specs)], D(cash))
    return kernel


def journal(kernel: Kernel) -> list[Event]:
    assert isinstance(kernel.journal, MemoryJournal)
    return list(kernel.journal.read())


def logs(kernel: Kernel) -> list[str]:
    return [e.message for e in journal(kernel) if isinstance(e, StrategyLog)]


# ── cancels: an RSI-style exit while a protective stop rests ────────────────────────────────────


class StopThenExit(SingleAssetStrategy[P]):
    """Buys 1, protects it with a stop, then exits on an "overbought" bar (close >= 120)."""

    exit_style = "list"

    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        held = ctx.position(SYM)
        if bar.ts_event == 2:
            return [OrderIntent(side=Side.BUY, quantity=1)]  # type: ignore[arg-type]
        if bar.ts_event == 3:
            return [OrderIntent(side=Side.SELL, quantity=1, order_type=OrderType.STOP, stop=90)]  # type: ignore[arg-type]
        if bar.close >= 120 and held > 0:
            if self.exit_style == "list":
                return [CancelAll(), OrderIntent(side=Side.SELL, quantity=held)]
            if self.exit_style == "target-only":
                return TargetPosition(0)  # type: ignore[arg-type]
            if ctx.open_orders():  # "cancel-then-target": cancel now, target on the next bar
                return [CancelAll()]
            return TargetPosition(0)  # type: ignore[arg-type]
        return None


def _exit_run(style: str) -> Kernel:
    StopThenExit.exit_style = style
    k = run_kernel(StopThenExit)
    k.step_batch([bar(2), bar(3), bar(4), bar(5, close=125), bar(6, close=126), bar(7, close=126)])
    k.finish("t")
    return k


def test_an_exit_cancels_the_resting_stop_and_goes_flat_in_one_signal() -> None:
    k = _exit_run("list")
    events = journal(k)
    (stop,) = [e for e in events if isinstance(e, OrderSubmitted) and e.order_type is OrderType.STOP]
    assert [type(e) for e in events if getattr(e, "client_order_id", None) == stop.client_order_id][-2:] == [
        OrderPendingCancel,
        OrderCanceled,
    ]
    # the cancel went out before the sell: the spot venue took the sell (the stop no longer offered it)
    assert k.ledger.position(SYM).qty == 0
    assert not k.orders.open_orders()
    sells = [e for e in events if isinstance(e, OrderFilled) and e.side is Side.SELL]
    assert [f.last_qty for f in sells] == [D(1)]


def test_without_a_cancel_target_zero_nets_against_the_stop_and_stays_long() -> None:
    # the failure the cancel intent exists for: TargetPosition(0) counts the stop as the exit
    k = _exit_run("target-only")
    assert k.ledger.position(SYM).qty == 1
    assert len(k.orders.open_orders()) == 1


def test_after_cancel_all_a_later_target_zero_sells() -> None:
    k = _exit_run("cancel-then-target")
    assert k.ledger.position(SYM).qty == 0
    assert not k.orders.open_orders()


class TargetAfterCancel(SingleAssetStrategy[P]):
    """On a venue that answers later: a cancel on its way takes the stop out of the netting."""

    def on_quote(self, ctx: Context, quote: QuoteTick) -> Signal:
        if quote.ts_event == 2:
            return [CancelAll()]
        return TargetPosition(0)  # type: ignore[arg-type]


def test_an_order_being_canceled_is_not_working_and_counts_again_if_the_cancel_is_refused() -> None:
    venue = LaterVenue()
    k = run_kernel(TargetAfterCancel, venue)
    fill = OrderFilled(
        ts_event=1,
        ts_init=1,
        client_order_id="x-entry",
        instrument=SYM,
        side=Side.BUY,
        trade_id="t1",
        last_qty=D(1),
        last_px=D(100),
        cum_qty=D(1),
        fee=D(0),
        fee_currency="USDT",
    )
    k.record(
        OrderSubmitted(
            ts_event=1,
            ts_init=1,
            strategy="TargetAfterCancel",
            client_order_id="x-entry",
            instrument=SYM,
            side=Side.BUY,
            order_type=OrderType.MARKET,
            quantity=D(1),
        )
    )
    k.record(fill)
    k.record(
        OrderSubmitted(
            ts_event=1,
            ts_init=1,
            strategy="TargetAfterCancel",
            client_order_id="x-stop",
            instrument=SYM,
            side=Side.SELL,
            order_type=OrderType.STOP,
            quantity=D(1),
            trigger_price=D(90),
        )
    )
    k.step_batch([quote(2)])
    (cancel,) = venue.sent
    assert isinstance(cancel, CancelCommand) and cancel.client_order_id == "x-stop"
    k.step_batch([quote(3)])  # the cancel is not confirmed, yet the stop is no longer the exit
    sell = venue.sent[-1]
    assert isinstance(sell, SubmitOrder) and (sell.side, sell.quantity) == (Side.SELL, D(1))
    # the venue refuses the cancel: the stop works again beside the market sell, so the target of 0
    # sees 0 - 1 - (-2) = +1 and buys 1 back rather than leave two exits working
    k.record(OrderCancelRejected(ts_event=4, ts_init=4, client_order_id="x-stop", reason="too late"))
    sent = len(venue.sent)
    k.step_batch([quote(5)])
    back = venue.sent[-1]
    assert isinstance(back, SubmitOrder) and (back.side, back.quantity) == (Side.BUY, D(1))
    assert len(venue.sent) == sent + 1


class CancelStranger(SingleAssetStrategy[P]):
    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        return [CancelOrder("not-mine")]


def test_a_cancel_of_an_order_that_is_not_the_strategys_is_a_contract_violation() -> None:
    k = run_kernel(CancelStranger)
    with pytest.raises(ContractViolation) as exc:
        k.step_batch([bar(2)])
    assert exc.value.code == "VT300" and "not-mine" in exc.value.message


# ── open orders ─────────────────────────────────────────────────────────────────────────────────


class Watcher(SingleAssetStrategy[P]):
    """Places a limit buy and a stop, records what ctx.open_orders() shows, cancels the limit by id."""

    seen: list[tuple[OpenOrder, ...]] = []

    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        shown = ctx.open_orders()
        Watcher.seen.append(shown)
        if bar.ts_event == 2:
            return [
                OrderIntent(side=Side.BUY, quantity=2, order_type=OrderType.LIMIT, limit=50),  # type: ignore[arg-type]
                OrderIntent(side=Side.BUY, quantity=1),  # type: ignore[arg-type]
            ]
        if bar.ts_event == 3:
            return [OrderIntent(side=Side.SELL, quantity=1, order_type=OrderType.STOP, stop=80)]  # type: ignore[arg-type]
        if bar.ts_event == 4:
            (limit,) = [o for o in shown if o.order_type is OrderType.LIMIT]
            return [CancelOrder(limit.client_order_id)]
        return None


def test_open_orders_show_what_works_after_submit_fill_and_cancel() -> None:
    Watcher.seen = []
    k = run_kernel(Watcher)
    k.step_batch([bar(2), bar(3), bar(4), bar(5)])
    at2, at3, at4, at5 = Watcher.seen
    assert at2 == ()
    # the market buy filled at bar 2; the limit at 50 rests
    (limit,) = at3
    assert (limit.symbol, limit.side, limit.order_type) == (SYM, Side.BUY, OrderType.LIMIT)
    assert (limit.quantity, limit.filled, limit.remaining, limit.limit, limit.stop) == (
        D(2),
        D(0),
        D(2),
        D(50),
        None,
    )
    assert not limit.canceling
    assert [o.order_type for o in at4] == [OrderType.LIMIT, OrderType.STOP]
    assert at4[1].stop == D(80) and at4[1].limit is None and at4[1].side is Side.SELL
    # the limit was canceled by its id: the stop alone is left
    assert [o.order_type for o in at5] == [OrderType.STOP]
    with pytest.raises((AttributeError, TypeError)):
        at5[0].quantity = D(9)  # type: ignore[misc]
    assert k.engine.runtime.ctx.open_orders("binance-spot:ETHUSDT") == ()  # type: ignore[attr-defined]


# ── history ─────────────────────────────────────────────────────────────────────────────────────


class Lookback(SingleAssetStrategy[P]):
    history = 3
    windows: list[tuple[int, ...]] = []

    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        Lookback.windows.append(tuple(int(b.close) for b in ctx.history(SYM, 3)))
        assert ctx.history(SYM, 1) == (bar,)  # the bar being handled is the newest
        return None


def test_history_keeps_the_declared_number_of_bars_oldest_first() -> None:
    Lookback.windows = []
    k = run_kernel(Lookback)
    k.step_batch([bar(t, close=100 + t) for t in range(2, 7)])
    assert Lookback.windows == [(102,), (102, 103), (102, 103, 104), (103, 104, 105), (104, 105, 106)]
    window = k.engine.runtime.ctx._windows[SYM]  # type: ignore[attr-defined]
    assert window.maxlen == 3 and len(window) == 3  # memory stays bounded


class TooFar(SingleAssetStrategy[P]):
    history = 2

    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        ctx.history(SYM, 5)
        return None


class NoHistory(SingleAssetStrategy[P]):
    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        ctx.history(SYM, 1)
        return None


@pytest.mark.parametrize("cls", [TooFar, NoHistory])
def test_asking_for_more_history_than_declared_stops_the_strategy(cls: type) -> None:
    k = run_kernel(cls)
    with pytest.raises(StrategyError, match="declare history"):
        k.step_batch([bar(2)])


def test_a_strategy_without_history_keeps_no_bars() -> None:
    k = run_kernel(StopThenExit)
    k.step_batch([bar(2), bar(3)])
    assert k.engine.runtime.ctx._windows == {}  # type: ignore[attr-defined]


class HistoryParams(Params, frozen=True, kw_only=True):
    symbol: str = SYM
    history: int = 4


class ByParam(SingleAssetStrategy[HistoryParams]):
    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        return None


def test_history_can_be_a_parameter_and_is_checked() -> None:
    k = run_kernel(ByParam, overrides={"history": "2"})
    assert k.engine.runtime.ctx._window(SYM).maxlen == 2  # type: ignore[attr-defined]
    with pytest.raises(DeclarationError) as exc:
        run_kernel(ByParam, overrides={"history": "1000001"})
    assert exc.value.code == "VT111"


class PortP(Params, frozen=True, kw_only=True):
    universe: str = f"{KRX_A},{KRX_B}"
    schedule: str = "daily"


class Momentum(PortfolioStrategy[PortP]):
    history = 2
    seen: list[dict[str, tuple[int, ...]]] = []

    def rebalance(self, ctx: Context, bars: Mapping[str, Bar]) -> Weights | None:
        Momentum.seen.append({s: tuple(int(b.close) for b in ctx.history(s, 2)) for s in self.universe})
        # an int weight, taken as Decimal(1)
        return {KRX_A: 1} if len(ctx.history(KRX_A, 2)) == 2 else None  # type: ignore[dict-item]


DAY = 86_400 * 10**9


def test_a_portfolio_rebalance_sees_the_window_of_every_symbol() -> None:
    Momentum.seen = []
    k = run_kernel(Momentum, cash=10_000_000)
    days = [(d + 1) * DAY for d in range(3)]
    k.step_batch(
        [b for d, ts in enumerate(days) for b in (bar(ts, 1000 + d, KRX_A), bar(ts, 2000 + d, KRX_B))]
    )
    k.finish("t")
    assert Momentum.seen[0] == {KRX_A: (1000,), KRX_B: (2000,)}
    assert Momentum.seen[-1] == {KRX_A: (1001, 1002), KRX_B: (2001, 2002)}
    # {KRX_A: 1} was taken as Decimal(1): a rebalance journalled with it, and a buy of KRX_A sent
    rebalanced = [e for e in journal(k) if isinstance(e, Rebalanced)]
    assert rebalanced and rebalanced[0].weights == {KRX_A: D(1), KRX_B: D(0)}
    assert {e.instrument for e in journal(k) if isinstance(e, OrderSubmitted)} == {KRX_A}


# ── on_fill and on_stop ─────────────────────────────────────────────────────────────────────────


class FillCounter(SingleAssetStrategy[P]):
    fills: list[Fill] = []

    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        if bar.ts_event == 2:
            return [OrderIntent(side=Side.BUY, quantity=2)]  # type: ignore[arg-type]
        return None

    def on_fill(self, ctx: Context, fill: Fill) -> Signal:
        FillCounter.fills.append(fill)
        ctx.log(f"filled {fill.quantity} at {fill.price}")
        # protect the position as soon as it exists: a stop for what was just bought
        return [OrderIntent(side=Side.SELL, quantity=fill.quantity, order_type=OrderType.STOP, stop=50)]  # type: ignore[arg-type]

    def on_stop(self, ctx: Context) -> None:
        ctx.log(f"stopping with {len(ctx.open_orders())} open order(s)")


def test_on_fill_is_called_once_per_fill_and_its_signal_is_carried_out() -> None:
    FillCounter.fills = []
    k = run_kernel(FillCounter)
    k.step_batch([bar(2), bar(3), bar(4)])
    k.finish("t")
    events = journal(k)
    filled = [e for e in events if isinstance(e, OrderFilled)]
    assert len(filled) == 1 and len(FillCounter.fills) == 1
    (fill,) = FillCounter.fills
    assert (fill.client_order_id, fill.side, fill.quantity, fill.order_filled) == (
        filled[0].client_order_id,
        Side.BUY,
        D(2),
        D(2),
    )
    assert fill.price == filled[0].last_px and fill.ts_ns == filled[0].ts_event
    (stop,) = [e for e in events if isinstance(e, OrderSubmitted) and e.order_type is OrderType.STOP]
    assert stop.quantity == D(2)
    # on_stop's line is journalled once, before the end of the run
    assert logs(k)[-1] == "stopping with 1 open order(s)"
    assert isinstance(events[-1], RunFinished) and isinstance(events[-2], StrategyLog)
    assert sum(1 for m in logs(k) if m.startswith("stopping")) == 1


def test_a_duplicate_fill_is_not_shown_twice() -> None:
    FillCounter.fills = []
    k = run_kernel(FillCounter, LaterVenue())
    k.step_batch([bar(2)])
    (intent,) = [e for e in journal(k) if isinstance(e, OrderSubmitted)]
    fill = OrderFilled(
        ts_event=3,
        ts_init=3,
        client_order_id=intent.client_order_id,
        instrument=SYM,
        side=Side.BUY,
        trade_id="t1",
        last_qty=D(1),
        last_px=D(100),
        cum_qty=D(1),
        fee=D(0),
        fee_currency="USDT",
    )
    k.record(fill)
    k.settle(3)
    k.record(fill)  # the stream resends it
    k.record(msgspec_replace(fill, trade_id="t2", cum_qty=D(2)))
    k.settle(3)
    assert [f.order_filled for f in FillCounter.fills] == [D(1), D(2)]


def msgspec_replace(event: OrderFilled, **changes: object) -> OrderFilled:
    import msgspec

    return msgspec.structs.replace(event, **changes)


class Chatty(SingleAssetStrategy[P]):
    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        return None

    def on_stop(self, ctx: Context) -> None:
        ctx.log("bye")
        return TargetPosition(1)  # type: ignore[arg-type, return-value]


class Failing(SingleAssetStrategy[P]):
    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        return None

    def on_stop(self, ctx: Context) -> None:
        raise RuntimeError("boom")


def test_on_stop_may_only_log_and_its_failures_are_journalled_not_raised() -> None:
    k = run_kernel(Chatty)
    k.step_batch([bar(2)])
    k.finish("t")
    assert logs(k)[-2:] == ["bye", "[engine] on_stop returned TargetPosition: ignored (on_stop may only log)"]
    assert not [e for e in journal(k) if isinstance(e, OrderSubmitted)]
    k = run_kernel(Failing)
    k.step_batch([bar(2)])
    k.finish("t")
    assert "RuntimeError: boom" in logs(k)[-1] and logs(k)[-1].startswith("[engine] on_stop failed")
    assert isinstance(journal(k)[-1], RunFinished)


class PortFills(PortfolioStrategy[PortP]):
    fills: list[Fill] = []

    def rebalance(self, ctx: Context, bars: Mapping[str, Bar]) -> Weights | None:
        return {KRX_A: D("0.5"), KRX_B: D("0.4")}

    def on_fill(self, ctx: Context, fill: Fill) -> None:
        PortFills.fills.append(fill)

    def on_stop(self, ctx: Context) -> None:
        ctx.log(f"fills: {len(PortFills.fills)}")


def test_a_portfolio_gets_on_fill_per_fill_and_on_stop_once() -> None:
    PortFills.fills = []
    k = run_kernel(PortFills, cash=10_000_000)
    k.step_batch([b for ts in (DAY, 2 * DAY) for b in (bar(ts, 1000, KRX_A), bar(ts, 2000, KRX_B))])
    k.finish("t")
    filled = [e for e in journal(k) if isinstance(e, OrderFilled)]
    assert filled and [f.client_order_id for f in PortFills.fills] == [e.client_order_id for e in filled]
    assert logs(k)[-1] == f"fills: {len(filled)}"


class ArbP(ArbitrageParams, frozen=True, kw_only=True):
    legs: str = "binance-spot:BTCUSDT,binance-usdm:BTCUSDT"


class ArbFills(ArbitrageStrategy[ArbP]):
    fills: list[str] = []

    def on_snapshot(self, ctx: Context, snapshot: Snapshot) -> None:
        return None

    def on_fill(self, ctx: Context, fill: Fill) -> None:
        ArbFills.fills.append(fill.client_order_id)


class ArbHistory(ArbFills):
    history = 5


def test_an_arbitrage_may_define_on_fill_but_not_history() -> None:
    k = run_kernel(ArbFills)
    assert k.engine._on_fill is not None  # type: ignore[attr-defined]
    with pytest.raises(DeclarationError) as exc:
        run_kernel(ArbHistory)
    assert exc.value.code == "VT111"


# ── the warning about a hook the data never calls ───────────────────────────────────────────────


class QuotesOnBars(SingleAssetStrategy[P]):
    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        return None

    def on_quote(self, ctx: Context, quote: QuoteTick) -> Signal:
        return None


def test_a_hook_the_data_never_calls_is_warned_about_at_the_end() -> None:
    k = run_kernel(QuotesOnBars)
    k.step_batch([bar(2), bar(3)])
    k.finish("t")
    warnings = [m for m in logs(k) if "warning" in m]
    assert warnings == [
        f"[engine] warning: on_quote is defined but the data had no quotes for {SYM}, so it was never called"
    ]
    k = run_kernel(QuotesOnBars)
    k.step_batch([bar(2), quote(3)])
    k.finish("t")
    assert not [m for m in logs(k) if "warning" in m]


class NeverRebalanced(PortfolioStrategy[PortP]):
    def rebalance(self, ctx: Context, bars: Mapping[str, Bar]) -> Weights | None:
        return None


def test_a_portfolio_that_never_saw_a_bar_is_warned_about() -> None:
    k = run_kernel(NeverRebalanced)
    k.step_batch([quote(2, KRX_A)])
    k.finish("t")
    assert any("rebalance is defined but the data had no bars" in m for m in logs(k))


# ── ints where a Decimal is meant ───────────────────────────────────────────────────────────────


def test_ints_are_taken_as_decimals_and_bools_are_refused() -> None:
    target = TargetPosition(1)  # type: ignore[arg-type]
    assert type(target.quantity) is Decimal and check_single("s", 1, target) == TargetPosition(D(1))
    intent = OrderIntent(side=Side.BUY, quantity=3, order_type=OrderType.LIMIT, limit=10)  # type: ignore[arg-type]
    assert (type(intent.quantity), type(intent.limit)) == (Decimal, Decimal)
    assert check_single("s", 1, [intent]) == (intent,)
    leg = LegOrder(symbol="a:b", side=Side.SELL, quantity=2, limit=7)  # type: ignore[arg-type]
    assert (type(leg.quantity), type(leg.limit)) == (Decimal, Decimal)
    weights = check_weights(
        "s", 1, {"a:x": 1}, ["a:x", "a:y"], min_weight=D(0), max_weight=D(1), allow_short=False
    )
    assert weights == {"a:x": D(1), "a:y": D(0)} and type(weights["a:x"]) is Decimal
    for refused in (TargetPosition(True), [OrderIntent(side=Side.BUY, quantity=True)]):  # type: ignore[arg-type]
        with pytest.raises(ContractViolation) as exc:
            check_single("s", 1, refused)
        assert exc.value.code == "VT301"
    with pytest.raises(ContractViolation) as exc:
        check_weights("s", 1, {"a:x": True}, ["a:x"], min_weight=D(0), max_weight=D(1), allow_short=False)
    assert exc.value.code == "VT311"
    with pytest.raises(ContractViolation):
        check_single("s", 1, TargetPosition(1.5))  # type: ignore[arg-type]


class IntTarget(SingleAssetStrategy[P]):
    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        return TargetPosition(1)  # type: ignore[arg-type]


def test_an_int_target_trades_in_a_run() -> None:
    k = run_kernel(IntTarget)
    k.step_batch([bar(2), bar(3)])
    assert k.ledger.position(SYM).qty == 1


def test_type_checkers_take_ints_where_a_decimal_is_meant(tmp_path: Path) -> None:
    """``mypy --strict`` on a strategy: an int passes where a Decimal is meant, a float does not."""
    import subprocess
    import sys

    snippet = tmp_path / "ints.py"
    snippet.write_text(
        "from decimal import Decimal\n"
        "from engines.sdk import LegOrder, OrderIntent, Side, TargetPosition, Weights\n"
        "a = TargetPosition(1)\n"
        "b = OrderIntent(side=Side.BUY, quantity=1, limit=100, stop=99)\n"
        "c = LegOrder(symbol='binance-spot:BTCUSDT', side=Side.SELL, quantity=2, limit=3)\n"
        "held: Decimal = a.quantity\n"
        "w: Weights = {'krx:005930': 1, 'krx:000660': Decimal('0.5')}\n"
        "d = TargetPosition(1.5)\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(snippet)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[3],
        check=False,
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and f"{snippet.name}:8:" in errors[0] and '"float"' in errors[0], done.stdout
