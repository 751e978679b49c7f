"""The kernel's held quotes (issue 14, replay speed): on a quiet simulated venue the kernel hands a
run of quotes to the venue and the ledger only when something could read them. The journal, the
ledger and the venue's remembered prices must be those of the tick-by-tick fold, whatever the
stream: quotes with unusable prices (zero, negative, NaN, infinite), trades, quotes of an instrument
the strategy does not trade, several quotes at one instant, orders that rest and fill later, a
strategy that reads its equity (a mark) on every quote, and any split into batches.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.journal import MemoryJournal
from engines.clock import ReplayClock
from engines.errors import VibeError
from engines.kernel import Kernel, make_engine
from engines.ledger import Ledger
from engines.markets.specs import spec_for
from engines.model.enums import Side
from engines.model.events import Event, MarketEvent, QuoteTick, RunStarted, TradeTick
from engines.orders.book import Orders
from engines.sdk import Context, Params, Signal, SingleAssetStrategy, TargetPosition
from engines.sim.venue import SimVenue
from engines.strategy.declaration import declare

D = Decimal
T0 = 1_704_067_200 * 10**9
MS = 1_000_000
USDM, OTHER = "binance-usdm:BTCUSDT", "binance-usdm:ETHUSDT"


class FlipParams(Params, frozen=True, kw_only=True):
    symbol: str = USDM


class Flip(SingleAssetStrategy[FlipParams]):
    """Reads its equity on every quote (a mark read mid-run) and flips its position now and then."""

    name = "flip"

    def on_quote(self, ctx: Context, quote: QuoteTick) -> Signal:
        ctx.log(f"equity {ctx.equity}")
        if quote.ts_event // MS % 7 == 3:
            return TargetPosition(D("0.01") if ctx.position(USDM) == 0 else D(0))
        if quote.ts_event // MS % 97 == 50 and quote.bid == D(0):
            raise RuntimeError("a strategy that fails on a quote")
        return None


class TickByTickVenue(SimVenue):
    """A simulated venue the kernel cannot ask whether it is quiet: every quote goes the long way."""

    market_quiet = None  # type: ignore[assignment]


def kernel_with(venue_cls: type[SimVenue]) -> Kernel:
    spec = declare({"STRATEGY": Flip}, source="", filename="strategy.py", overrides={})
    specs = {s: spec_for(s) for s in (USDM, OTHER)}
    ledger, orders, clock = Ledger(), Orders(), ReplayClock()
    venue = venue_cls(specs, ledger, clock=clock, latency_ns={USDM: 3 * MS})
    engine = make_engine(spec, ledger, orders, currency="USDT", specs=specs, clock=clock)
    kernel = Kernel(
        engine,
        ledger=ledger,
        orders=orders,
        journal=MemoryJournal(),
        venue=venue,
        universe=(USDM, OTHER),
        currency="USDT",
        clock=clock,
        sample_ns=5 * MS,
    )
    run = RunStarted(
        ts_event=T0,
        ts_init=T0,
        run_id="t",
        strategy=spec.name,
        strategy_type=spec.strategy_type,
        mode="backtest",
        venues=("test",),
        params={},
        strategy_sha256="0" * 64,
    )
    kernel.begin(run, [specs[s] for s in sorted(specs)], D(1_000_000))
    return kernel


PRICES = ["60000", "60000.1", "60001.5", "59999.9", "0", "-1", "NaN", "Infinity"]
step = st.tuples(
    st.sampled_from(["quote", "quote", "quote", "quote", "trade", "other"]),
    st.integers(min_value=0, max_value=3),  # ms to the next event: 0 = the same instant
    st.sampled_from(PRICES),
    st.sampled_from(PRICES[:4]),
)


def stream(steps: list[tuple[str, int, str, str]]) -> list[MarketEvent]:
    ts = T0
    out: list[MarketEvent] = []
    for kind, gap, bid, ask in steps:
        ts += gap * MS
        if kind == "trade":
            out.append(
                TradeTick(
                    ts_event=ts,
                    ts_init=ts,
                    instrument=USDM,
                    price=D(ask),
                    size=D(1),
                    aggressor=Side.BUY,
                    trade_id=f"t{len(out)}",
                )
            )
        else:
            symbol = OTHER if kind == "other" else USDM
            out.append(
                QuoteTick(
                    ts_event=ts,
                    ts_init=ts,
                    instrument=symbol,
                    bid=D(bid),
                    bid_size=D(5),
                    ask=D(ask),
                    ask_size=D(5),
                )
            )
    return out


def run(venue_cls: type[SimVenue], events: list[MarketEvent], cuts: list[int]) -> tuple[object, ...]:
    kernel = kernel_with(venue_cls)
    failed = None
    bounds = sorted({0, len(events), *(c % (len(events) + 1) for c in cuts)})
    try:
        for a, b in itertools.pairwise(bounds):
            kernel.step_batch(events[a:b])
    except VibeError as exc:
        failed = str(exc)
    else:
        kernel.finish("t")
    venue = kernel.venue
    assert isinstance(venue, SimVenue)
    venue._note_unnoted()
    journal = kernel.journal
    assert isinstance(journal, MemoryJournal)
    events_out: list[Event] = list(journal.read())
    return (
        failed,
        events_out,
        kernel.ledger.snapshot(),
        dict(venue._bid_ref),
        dict(venue._ask_ref),
        sorted(venue._quoted),
        kernel.last_ts,
        kernel.next_sample,
        kernel.clock.now_ns(),
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(step, min_size=1, max_size=120), st.lists(st.integers(min_value=0), max_size=4))
def test_held_quotes_leave_the_journal_and_state_of_the_tick_by_tick_fold(
    steps: list[tuple[str, int, str, str]], cuts: list[int]
) -> None:
    events = stream(steps)
    assert run(SimVenue, events, cuts) == run(TickByTickVenue, events, cuts)


def test_the_held_path_is_taken_and_still_trades() -> None:
    """A guard on the test above: the fast path runs (the ledger's pull is installed while it
    steps) and the stream makes orders rest and fill."""
    steps = [("quote", 1, "60000", "60000.1")] * 40
    events = stream(steps)
    pulls: list[bool] = []
    kernel = kernel_with(SimVenue)
    ledger = kernel.ledger
    original = ledger.equity

    def spy(currency: str) -> Decimal:
        pulls.append(ledger.pull is not None)
        return original(currency)

    ledger.equity = spy  # type: ignore[method-assign]
    kernel.step_batch(events)
    assert pulls and all(pulls)
    assert ledger.pull is None  # not left behind after the batch
    journal = kernel.journal
    assert isinstance(journal, MemoryJournal)
    kinds = {type(e).__name__ for e in journal.read()}
    assert "StrategyFailed" not in kinds
    assert {"OrderSubmitted", "OrderFilled", "MarkPrice"} <= kinds
    held = run(SimVenue, events, [7, 19])
    assert held[0] is None  # the run did not fail
    assert held == run(TickByTickVenue, events, [7, 19])


def test_apply_last_quote_refuses_what_is_not_a_quote() -> None:
    trade = TradeTick(
        ts_event=T0, ts_init=T0, instrument=USDM, price=D(1), size=D(1), aggressor=Side.BUY, trade_id="x"
    )
    with pytest.raises(TypeError):
        Ledger().apply_last_quote([trade], 0, 1)
