"""The kernel: the session fold that the replay driver and the live driver share.

One :class:`Kernel` holds what a running strategy folds — the journal, the ledger, the order book and
the per-type engine — and steps them the same way whatever drives it:

* **record** a fact: validate it against the order book and the ledger, append it to the journal,
  then fold it into ledger, orders and engine. A fact either side would refuse is never journalled,
  so a journal never holds an event that would fail the next fold (a restart replays it).
* **market events** go to the venue port first (a simulated venue matches against them and its fills
  are folded before anyone sees the event), then to the ledger's marks, then to the engine.
* the engine's **outgoing** commands go to the venue port: the intent (``OrderSubmitted``) is
  recorded before the port sees the order. The simulated venue answers at once (its facts come
  back from the call); a live venue answers later, and the live driver records its facts as they
  arrive.
* **timers**: an engine says when it must act even if no data arrives (:meth:`Engine.next_deadline`).
  The driver calls :meth:`Kernel.fire_timers` with the time it is about to reach: the replay driver
  in exchange time between instants, the live driver from a timer on the wall clock.

The kernel is pure: no I/O, no clock of its own (the :class:`~engines.clock.Clock` port stamps
``ts_init``), no await. daemon/ owns the loops, the timers and the I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Final, Protocol

from engines.arbitrage.engine import ArbitrageEngine
from engines.clock import REPLAY_CLOCK, Clock
from engines.ledger import Ledger
from engines.model.codec import submitted
from engines.model.commands import CancelOrder, QueryOrder, SubmitOrder
from engines.model.events import (
    ORDER_EVENTS,
    Bar,
    CashAdjusted,
    Event,
    InstrumentDefined,
    MarketEvent,
    MarkPrice,
    OrderPendingCancel,
    QuoteTick,
    RunFinished,
    RunStarted,
)
from engines.model.instruments import InstrumentSpec
from engines.orders.book import Orders
from engines.portfolio import PortfolioEngine
from engines.single import SingleAssetEngine
from engines.strategy.declaration import StrategySpec
from engines.strategy.runtime import Outgoing
from engines.units import NS_PER_SECOND


class Engine(Protocol):
    """A per-type engine: sans-I/O, driven only through these calls (DESIGN.md section 2).

    Two optional attributes let the kernel's hot loop skip calls that would do nothing (read with
    ``getattr``, so an engine without them is driven in full): ``acts_on_time = False`` promises that
    ``on_time`` does nothing and ``next_deadline`` is always None, and ``outbox`` is the one list that
    ``drain`` empties and returns the contents of, for its whole life (empty: nothing to drain).
    """

    def start(self, now_ns: int) -> None: ...

    def handle(self, event: Event) -> None: ...

    def on_time(self, now_ns: int) -> None:
        """Time has moved past ``now_ns``: every event stamped ``now_ns`` was handled."""

    def next_deadline(self) -> int | None:
        """The next time the engine must act even if nothing arrives (a schedule, a leg timeout)."""

    def finish(self, now_ns: int) -> None:
        """The data or the session has ended at ``now_ns``: journal what is still pending."""

    def drain(self) -> Sequence[Outgoing]: ...


ENGINES: Final[dict[str, type[SingleAssetEngine] | type[PortfolioEngine] | type[ArbitrageEngine]]] = {
    "single": SingleAssetEngine,
    "portfolio": PortfolioEngine,
    "arbitrage": ArbitrageEngine,
}
"""The declared type picks its engine (the declaration checked it); nothing else can."""


def make_engine(
    spec: StrategySpec,
    ledger: Ledger,
    orders: Orders,
    *,
    currency: str,
    specs: Mapping[str, InstrumentSpec],
    seed: int = 0,
    venues: Mapping[str, str] | None = None,
    clock: Clock = REPLAY_CLOCK,
) -> Engine:
    """The engine of the strategy's declared type. Its constructor checks every setting it reads,
    so building one is also the complete preflight of a declaration's parameters."""
    engine = ENGINES[spec.strategy_type]
    return engine(spec, ledger, orders, currency=currency, specs=specs, seed=seed, venues=venues, clock=clock)


class VenuePort(Protocol):
    """Where commands go. Each call returns the facts the venue answers at once (a simulated venue
    answers everything at once; a live venue returns nothing and answers later, as events)."""

    def submit(self, cmd: SubmitOrder, at_ns: int) -> Sequence[Event]: ...

    def cancel(self, cmd: CancelOrder, at_ns: int) -> Sequence[Event]: ...

    def query(self, cmd: QueryOrder, at_ns: int) -> Sequence[Event]: ...

    def on_market(self, event: MarketEvent) -> Sequence[Event]:
        """A market event reached the process: a simulated venue matches against it."""
        ...


class JournalPort(Protocol):
    """The journal as the kernel needs it: append stamps each event's ``seq`` and returns them."""

    def append(self, events: Sequence[Event]) -> Sequence[Event]: ...


def _ignore(ts_ns: int) -> None:
    """A clock that keeps its own time (the wall clock) is not moved by the data."""


class Kernel:
    """The state one strategy session folds, stepped per fact and per market event."""

    def __init__(
        self,
        engine: Engine,
        *,
        ledger: Ledger,
        orders: Orders,
        journal: JournalPort,
        venue: VenuePort,
        universe: Iterable[str],
        currency: str,
        clock: Clock = REPLAY_CLOCK,
        sample_ns: int | None = NS_PER_SECOND,
        journal_market: bool = False,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.orders = orders
        self.journal = journal
        self.venue = venue
        self.clock = clock
        self.universe = frozenset(universe)
        self.currency = currency
        #: equity is sampled (MarkPrice per universe symbol) on tick streams every ``sample_ns``;
        #: None samples nothing (bars always journal their close)
        self.sample_ns = sample_ns
        #: journal every market event too (a live session, so that it can be re-driven); a replay
        #: does not, its data files are the record
        self.journal_market = journal_market
        self.next_sample = 0 if sample_ns is not None else 2**63
        self.market_events = 0
        self.duplicate_fills = 0
        self.last_ts = 0
        self._bars = False
        # a replay clock follows the data: it is moved to each instant as the kernel reaches it
        self._advance: Callable[[int], None] = getattr(clock, "advance", _ignore)

    # ── facts ──

    def record(self, event: Event) -> Event | None:
        """Validate a fact, journal it, then fold it everywhere: nothing acts on a fact the journal
        lacks, and the journal never holds a fact the folds refuse. Returns the journalled fact, or
        None for a fill already folded (deduplicated by trade id), which is dropped."""
        plan = None
        if isinstance(event, ORDER_EVENTS):
            plan = self.orders.check(event)  # type: ignore[arg-type]
            if plan.duplicate_fill:
                # the same execution again (a resent stream message, a reconciliation): folded once,
                # journalled once, so a fold of the journal never counts it twice
                self.duplicate_fills += 1
                return None
        writes = self.ledger.check(event)
        (stamped,) = self.journal.append([event])
        if writes is None:
            self.ledger.apply(stamped)  # a mark, or a fact the ledger has no writes for
        else:
            self.ledger.commit(writes)
        if plan is not None:
            self.orders.commit(stamped, plan)  # type: ignore[arg-type]
        self.engine.handle(stamped)
        return stamped

    def begin(self, run: RunStarted, specs: Iterable[InstrumentSpec], cash: Decimal) -> None:
        """Journal the run's start, its instruments and its capital, then start the strategy."""
        ts, ts_init = run.ts_event, self.clock.ts_init(run.ts_event)
        self.record(run)
        for spec in specs:
            self.record(InstrumentDefined(ts_event=ts, ts_init=ts_init, spec=spec))
        self.record(
            CashAdjusted(
                ts_event=ts, ts_init=ts_init, currency=self.currency, amount=cash, reason="initial capital"
            )
        )
        self.engine.start(ts)
        self.settle(ts)

    # ── market events ──

    def step_batch(self, batch: Sequence[MarketEvent]) -> None:
        """Step every event of a batch: the replay's hot loop, so its lookups are hoisted.

        Per event, in this order: at a new instant the previous one is closed (``on_time``) and the
        timers due strictly before the new one fire; the venue matches working orders against the
        event (its fills are journalled and folded before anyone sees the event); the ledger takes
        its price; a tick stream is sampled for equity on whole ``sample_ns`` boundaries; the engine
        handles it, and what the engine asks for is dispatched.

        An engine that says it never acts on time (``acts_on_time = False``: its ``on_time`` does
        nothing and it has no deadline) is not asked at each instant, and one that shows its
        ``outbox`` is drained only when that holds something: a replay reaches an instant about
        every other quote, and on a quiet tick these calls were most of the kernel's own time.
        Such an engine, with a venue that says when it is quiet, is stepped by :meth:`_step_held`.
        """
        quiet: Callable[[], bool] | None = getattr(self.venue, "market_quiet", None)
        timed: bool = getattr(self.engine, "acts_on_time", True)
        outbox: list[Outgoing] | None = getattr(self.engine, "outbox", None)
        if quiet is not None and outbox is not None and not timed and not self.journal_market:
            self._step_held(batch, quiet, outbox)
            return
        on_market = self.venue.on_market
        apply_mark = self.ledger.apply
        handle = self.engine.handle
        on_time = self.engine.on_time
        next_deadline = self.engine.next_deadline
        drain = self.engine.drain
        settle = self.settle
        record = self.record
        next_sample = self.next_sample
        sample_ns = self.sample_ns or 1
        journal_market = self.journal_market
        instant = self.last_ts
        advance = self._advance
        for event in batch:
            now = event.ts_event
            if now != instant:
                # every event of the previous instant is in: engines that act on whole instants
                # (a portfolio rebalancing on all of a day's bars) act now, before the venue sees
                # the next instant, so their market orders fill on it
                if instant:
                    if timed:
                        on_time(instant)
                        settle(instant)
                        deadline = next_deadline()
                        if deadline is not None and deadline < now:
                            self.last_ts = instant
                            self.fire_timers(now)
                    elif outbox is None or outbox:
                        settle(instant)
                instant = now
                advance(now)
            facts = on_market(event)
            if facts:
                for fact in facts:
                    record(fact)
            if journal_market:
                self.journal.append([event])
            is_bar = type(event) is Bar
            if not is_bar and now >= next_sample:
                self.sample(now)
                next_sample = now - now % sample_ns + sample_ns
            apply_mark(event)
            handle(event)
            if outbox is None or outbox:
                outgoing = drain()
                if outgoing:
                    self.dispatch(outgoing, now)
                    settle(now)
            if is_bar:
                self._bars = True
                record(
                    MarkPrice(
                        ts_event=now,
                        ts_init=self.clock.ts_init(now),
                        instrument=event.instrument,
                        price=event.close,  # type: ignore[union-attr]
                    )
                )
        self.next_sample = next_sample
        self.market_events += len(batch)
        self.last_ts = instant

    def _step_held(
        self, batch: Sequence[MarketEvent], quiet: Callable[[], bool], outbox: list[Outgoing]
    ) -> None:
        """:meth:`step_batch` for an engine that acts on events only, with a venue that can say when
        it is quiet (no working order: a quote would only be remembered).

        On a quiet venue the quotes of one instrument are held back from the venue and the ledger
        (which would each keep only the latest) and handed over, the last one to the venue and the
        last usable one to the ledger, when anything could read them: before a sample, a command, a
        settle, an event of another kind or instrument, the end of the batch, and whenever the
        ledger is asked for a mark (its ``pull``; the quote being handled counts as applied, as it
        is in :meth:`step_batch`). Every read sees the state a tick-by-tick fold would have, so the
        journal is the same; on a quiet tick the kernel saves the two calls. The clock is moved the
        same way, before anything could read it (nothing in engines/ reads ``now_ns``; ``ts_init``
        of a replay clock does not depend on it), not at each instant.
        """
        ledger = self.ledger
        on_market = self.venue.on_market
        apply_mark = ledger.apply
        handle = self.engine.handle
        # an engine may offer a handler for quotes alone, its lookups bound once per batch
        quote_handler: Callable[[], Callable[[QuoteTick], None]] | None = getattr(
            self.engine, "quote_handler", None
        )
        handle_quote = handle if quote_handler is None else quote_handler()
        drain = self.engine.drain
        settle = self.settle
        record = self.record
        next_sample = self.next_sample
        sample_ns = self.sample_ns or 1
        instant = self.last_ts
        advance = self._advance
        held: str | None = None  # the instrument whose quotes batch[start:...] are held back
        start = 0
        i = 0

        def hand_over(stop: int) -> None:
            nonlocal held
            if held is not None:
                held = None
                if stop > start:
                    on_market(batch[stop - 1])  # quiet: remembered, nothing to match
                    ledger.apply_last_quote(batch, start, stop)

        def pull() -> None:
            hand_over(i + 1)

        ledger.pull = pull
        deferring = quiet()
        try:
            for i, event in enumerate(batch):  # ``i`` is also read by pull()
                now = event.ts_event
                if now != instant:
                    if instant and outbox:
                        hand_over(i)
                        advance(instant)
                        settle(instant)
                        deferring = quiet()
                    instant = now
                if deferring and type(event) is QuoteTick:
                    if now >= next_sample:
                        hand_over(i)
                        advance(now)
                        self.sample(now)
                        next_sample = now - now % sample_ns + sample_ns
                    if event.instrument != held:
                        hand_over(i)
                        held = event.instrument
                        start = i
                    handle_quote(event)
                    if outbox:
                        hand_over(i + 1)
                        advance(now)
                        outgoing = drain()
                        if outgoing:
                            self.dispatch(outgoing, now)
                            settle(now)
                        deferring = quiet()
                    continue
                hand_over(i)
                advance(now)
                facts = on_market(event)
                if facts:
                    for fact in facts:
                        record(fact)
                is_bar = type(event) is Bar
                if not is_bar and now >= next_sample:
                    self.sample(now)
                    next_sample = now - now % sample_ns + sample_ns
                apply_mark(event)
                handle(event)
                if outbox:
                    outgoing = drain()
                    if outgoing:
                        self.dispatch(outgoing, now)
                        settle(now)
                if is_bar:
                    self._bars = True
                    record(
                        MarkPrice(
                            ts_event=now,
                            ts_init=self.clock.ts_init(now),
                            instrument=event.instrument,
                            price=event.close,  # type: ignore[union-attr]
                        )
                    )
                deferring = quiet()
        finally:
            # also when the strategy failed on quote i: it counts as applied, as it would have been
            hand_over(i + 1)
            advance(instant)
            ledger.pull = None
        self.next_sample = next_sample
        self.market_events += len(batch)
        self.last_ts = instant

    def fire_timers(self, until_ns: int) -> int:
        """Let the engine act at each of its deadlines strictly before ``until_ns``, in order.

        Returns how many fired. A deadline at ``until_ns`` itself is not fired: the driver is about
        to hand over what happens at that instant, and the instant's close covers it.
        """
        fired = 0
        while (deadline := self.engine.next_deadline()) is not None and deadline < until_ns:
            if fired and deadline <= self.last_ts:
                break  # an engine that does not move its deadline past the last one must not spin
            at = max(deadline, self.last_ts)
            self._advance(at)
            self.engine.on_time(at)
            self.settle(at)
            self.last_ts = at
            fired += 1
        return fired

    def next_deadline(self) -> int | None:
        return self.engine.next_deadline()

    # ── commands ──

    def settle(self, now: int) -> None:
        """Dispatch what the engine asks for until it asks for nothing more.

        A venue answer journalled during dispatch (an ack, a fill) may make the engine ask for more
        (the next leg of an arbitrage), so this drains again until the engine is quiet.
        """
        drain = self.engine.drain
        while outgoing := drain():
            self.dispatch(outgoing, now)

    def sample(self, now: int) -> None:
        ts_init = self.clock.ts_init(now)
        for symbol in sorted(self.universe):
            mark = self.ledger.mark(symbol)
            if mark is not None:
                self.record(MarkPrice(ts_event=now, ts_init=ts_init, instrument=symbol, price=mark))

    def dispatch(self, outgoing: Sequence[Outgoing], now: int) -> None:
        venue = self.venue
        for item in outgoing:
            if isinstance(item, SubmitOrder):
                # an order released by a fact stamped later than now (an ack after latency) leaves
                # at that fact's time, so latencies add up across an arbitrage's legs
                at = max(now, item.ts_event)
                self.record(submitted(item))
                for fact in venue.submit(item, at):
                    self.record(fact)
            elif isinstance(item, CancelOrder):
                order = self.orders.get(item.client_order_id)
                if order is None or order.status.is_terminal:
                    continue  # it ended before the cancel went out: there is nothing to cancel
                at = max(now, item.ts_event)
                self.record(
                    OrderPendingCancel(
                        ts_event=at, ts_init=self.clock.ts_init(at), client_order_id=item.client_order_id
                    )
                )
                for fact in venue.cancel(item, at):
                    self.record(fact)
            elif isinstance(item, QueryOrder):
                for fact in venue.query(item, max(now, item.ts_event)):
                    self.record(fact)
            else:
                self.record(item)  # a fact the engine states: a log, a halt, a rebalance, ...

    # ── the end ──

    def stop_strategy(self, now_ns: int) -> None:
        """The strategy's ``on_stop``, its lines journalled: called once as a run ends, before its
        ``RunFinished``. An engine without ``stop`` (a failed strategy's stand-in) has nothing to say."""
        stop: Callable[[int], None] | None = getattr(self.engine, "stop", None)
        if stop is not None:
            stop(now_ns)
            self.settle(now_ns)

    def finish(self, run_id: str, reason: str = "end of data") -> None:
        """Close the last instant, let the engine journal what is pending, tell the strategy the run
        stops, and journal the end."""
        last = self.last_ts
        if last:
            self.engine.on_time(last)
            self.settle(last)
            self.engine.finish(last)
            self.settle(last)
        self.stop_strategy(last)
        if not self._bars and last and self.sample_ns is not None:
            self.sample(last)
        self.record(
            RunFinished(ts_event=last, ts_init=self.clock.ts_init(last), run_id=run_id, reason=reason)
        )
