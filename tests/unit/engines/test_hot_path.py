"""The replay's hot-path shortcuts (issue 14, replay speed) answer exactly what the long way answers.

* ``SMA.update`` keeps its sum and value when the observation leaving the window equals the one
  entering it with the same exponent: the values and sums, digit for digit (``str``), equal a fresh
  exact sum of the window divided once, over streams full of repeats in several spellings.
* ``Cross.update`` reuses its last relation and products when its indicators kept their objects: it
  equals the definition recomputed from scratch in Fractions, operands switching between
  indicators, numbers and None included.
* ``Context.position`` reads the ledger's live quantities: the same Decimal as
  ``Ledger.position(symbol).qty`` after every fill, and 0 for a symbol never traded.
* The kernel does not close instants for an engine that never acts on time, nor drains an empty
  outbox, yet settles one that holds something at the next instant as before.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from engines.clock import ReplayClock
from engines.indicators import EXACT_CONTEXT, SMA, VALUE_CONTEXT, Cross, Operand
from engines.kernel import Kernel
from engines.ledger import Ledger
from engines.model.enums import Side
from engines.model.events import (
    CashAdjusted,
    Event,
    InstrumentDefined,
    MarketEvent,
    OrderFilled,
    QuoteTick,
    StrategyLog,
)
from engines.model.instruments import InstrumentKind, InstrumentSpec
from engines.orders.book import Orders
from engines.sdk import Context
from engines.strategy.runtime import LedgerAccount, Outgoing

D = Decimal
#: few values, several spellings of each (1 and 1.0 and 1.00, 0 and -0 and 0.0): repeats galore
SPELLINGS = ["1", "1.0", "1.00", "2", "2.0", "0", "-0", "0.0", "-0.00", "-1.5", "-1.50", "3.25", "0.1"]
spelled = st.sampled_from([D(s) for s in SPELLINGS])


@settings(max_examples=300, deadline=None)
@given(st.lists(spelled, min_size=1, max_size=80), st.integers(min_value=1, max_value=6))
def test_sma_values_and_sums_are_digit_for_digit_the_long_way(values: list[Decimal], period: int) -> None:
    """The long way: every observation subtracted and added, exactly, and the sum divided once.

    (A running sum keeps the smallest exponent it ever took in, so 1.0 then 1 is 1.0: the digits are
    the running sum's, and the number is the window's.)
    """
    sma = SMA(period)
    window: deque[Decimal] = deque()
    running = D(0)
    for x in values:
        got = sma.update(x)
        window.append(x)
        if len(window) > period:
            running = EXACT_CONTEXT.subtract(running, window.popleft())
        running = EXACT_CONTEXT.add(running, x)
        if len(window) < period:
            assert got is None and sma.value is None and sma.sum is None
            continue
        expected = VALUE_CONTEXT.divide(running, D(period))
        assert str(sma.sum) == str(running)
        assert running == sum(window, D(0))
        assert str(got) == str(expected) == str(sma.value)


def _exact(x: Operand, sums: dict[int, Fraction]) -> Fraction | None:
    if x is None:
        return None
    if isinstance(x, SMA):
        return sums.get(id(x))
    assert isinstance(x, (Decimal, int))
    return Fraction(x)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(spelled, st.sampled_from(["fs", "sf", "f5", "ff", "n", "fs", "fs", "fs"])),
        min_size=1,
        max_size=120,
    )
)
def test_cross_equals_its_definition_recomputed_in_fractions(steps: list[tuple[Decimal, str]]) -> None:
    fast, slow = SMA(2), SMA(4)
    windows: dict[int, deque[Decimal]] = {id(fast): deque(maxlen=2), id(slow): deque(maxlen=4)}
    cross = Cross()
    previous: int | None = None
    for x, pair in steps:
        fast.update(x)
        slow.update(x)
        sums: dict[int, Fraction] = {}
        for key, w in windows.items():
            w.append(x)
            if len(w) == w.maxlen:
                sums[key] = sum((Fraction(v) for v in w), Fraction(0)) / len(w)
        operands: dict[str, tuple[Operand, Operand]] = {
            "fs": (fast, slow),
            "sf": (slow, fast),
            "f5": (fast, 5),
            "ff": (fast, fast),
            "n": (None, slow),
        }
        a, b = operands[pair]
        got = cross.update(a, b)
        ea, eb = _exact(a, sums), _exact(b, sums)
        relation = None if ea is None or eb is None else (ea > eb) - (ea < eb)
        if relation is None or previous is None:
            expected = None
        else:
            expected = int(previous < 0 < relation) - int(previous > 0 > relation)
        assert got == expected == cross.value
        assert cross.relation == relation
        previous = relation


SYMBOL = "test:ABC"
SPEC = InstrumentSpec(
    symbol=SYMBOL,
    kind=InstrumentKind.SPOT,
    base="ABC",
    quote="USD",
    settle="USD",
    tick_size=D("0.01"),
    lot_size=D("0.001"),
)


def _fill(n: int, side: Side, qty: str) -> OrderFilled:
    return OrderFilled(
        ts_event=n,
        ts_init=n,
        client_order_id=f"c-{n}",
        instrument=SYMBOL,
        side=side,
        trade_id=f"t-{n}",
        last_qty=D(qty),
        last_px=D("10.5"),
        cum_qty=D(qty),
        fee=D(0),
        fee_currency="USD",
    )


def test_context_position_is_the_ledgers_qty_after_every_fill() -> None:
    ledger = Ledger()
    ctx = Context("s", LedgerAccount(ledger, "USD"))
    assert ctx.position(SYMBOL) == 0 and str(ctx.position(SYMBOL)) == "0"
    ledger.apply(InstrumentDefined(ts_event=0, ts_init=0, spec=SPEC))
    ledger.apply(CashAdjusted(ts_event=0, ts_init=0, currency="USD", amount=D(1000), reason="t"))
    for n, (side, qty) in enumerate(
        [(Side.BUY, "1.000"), (Side.BUY, "0.5"), (Side.SELL, "1.5"), (Side.SELL, "2"), (Side.BUY, "2.000")],
        start=1,
    ):
        ledger.apply(_fill(n, side, qty))
        held = ctx.position(SYMBOL)
        assert held is ledger.position(SYMBOL).qty
    assert str(ctx.position(SYMBOL)) == str(ledger.position(SYMBOL).qty) == "0.000"
    assert ctx.position("test:OTHER") == ledger.position("test:OTHER").qty == 0


class _Journal:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def append(self, events: Sequence[Event]) -> Sequence[Event]:
        self.events.extend(events)
        return events


class _QuietVenue:
    def submit(self, cmd: object, at_ns: int) -> Sequence[Event]:
        return ()

    def cancel(self, cmd: object, at_ns: int) -> Sequence[Event]:
        return ()

    def query(self, cmd: object, at_ns: int) -> Sequence[Event]:
        return ()

    def on_market(self, event: MarketEvent) -> Sequence[Event]:
        return ()


class _Engine:
    """Counts the kernel's calls; its outbox is filled by the test between steps (a live fact's
    on_fill would)."""

    def __init__(self, *, acts_on_time: bool) -> None:
        self.acts_on_time = acts_on_time
        self.outbox: list[Outgoing] = []
        self.calls: list[str] = []

    def start(self, now_ns: int) -> None: ...

    def handle(self, event: Event) -> None:
        self.calls.append(f"handle {event.ts_event}")

    def on_time(self, now_ns: int) -> None:
        self.calls.append(f"on_time {now_ns}")

    def next_deadline(self) -> int | None:
        self.calls.append("next_deadline")
        return None

    def finish(self, now_ns: int) -> None: ...

    def drain(self) -> Sequence[Outgoing]:
        self.calls.append("drain")
        out = self.outbox.copy()
        self.outbox.clear()
        return out


def _quote(ts: int) -> QuoteTick:
    return QuoteTick(
        ts_event=ts, ts_init=ts, instrument=SYMBOL, bid=D(10), bid_size=D(1), ask=D(11), ask_size=D(1)
    )


def _kernel(engine: _Engine) -> tuple[Kernel, _Journal]:
    journal = _Journal()
    kernel = Kernel(
        engine,
        ledger=Ledger(),
        orders=Orders(),
        journal=journal,
        venue=_QuietVenue(),
        universe=[SYMBOL],
        currency="USD",
        clock=ReplayClock(),
        sample_ns=None,
    )
    return kernel, journal


def test_an_engine_that_never_acts_on_time_is_not_asked_at_instants_and_an_empty_outbox_not_drained() -> None:
    engine = _Engine(acts_on_time=False)
    kernel, _ = _kernel(engine)
    kernel.step_batch([_quote(1), _quote(1), _quote(2), _quote(3)])
    assert engine.calls == ["handle 1", "handle 1", "handle 2", "handle 3"]
    timed = _Engine(acts_on_time=True)
    kernel, _ = _kernel(timed)
    kernel.step_batch([_quote(1), _quote(2)])
    # a timed engine closes each instant (settle drains whatever on_time asked for)
    assert timed.calls == ["handle 1", "on_time 1", "drain", "next_deadline", "handle 2"]


def test_what_an_engine_left_in_its_outbox_is_settled_at_the_next_instant_before_the_venue_sees_it() -> None:
    engine = _Engine(acts_on_time=False)
    kernel, journal = _kernel(engine)
    kernel.step_batch([_quote(1)])
    # a fact folded between batches (a live venue's answer) made the engine want to say something
    note = StrategyLog(ts_event=1, ts_init=1, strategy="s", message="late")
    engine.outbox.append(note)
    kernel.step_batch([_quote(2)])
    # drained at the instant (its fact folded, which the engine sees), drained again till quiet
    assert engine.calls == ["handle 1", "drain", "handle 1", "drain", "handle 2"]
    assert journal.events == [note]
