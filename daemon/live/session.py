"""The live driver of the kernel: one paper or live trading session, from start to a clean stop.

The same kernel, engines and strategy as a replay; what differs is only the clock (the wall clock)
and the venue port (commands go on ordered per-venue queues, answers come back as events). A session:

1. opens its journal in the state directory (the writer's lock keeps a second daemon out) and folds
   it by **re-driving** it through a fresh kernel (daemon/live/redrive.py): the state after a
   restart is exactly the state before it, strategy included;
2. connects the venues and **reconciles** (daemon/live/reconcile.py): every order not terminal is
   queried by client id, fills since the last one journalled are fetched, and orders or positions
   the journal cannot account for stop trading before the first order (``--adopt-venue-state``
   accepts them, journalled);
3. trades: market events step the kernel (and are journalled, so that a re-drive sees them), venue
   facts are recorded, timers fire from the wall clock, each step under the strategy call budget;
4. on stop (SIGTERM, SIGINT): no new order leaves, open orders are canceled or left as configured,
   the journal is flushed, and :meth:`run` returns 0.

Every fact goes through :meth:`LiveSession.deliver`, which drops what changes nothing (the same
answer from the request and from the stream, a stale report) before the kernel records it: order
state only moves forward, and a fill is folded once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Final

from adapters.capabilities import Mode
from adapters.paper import PaperVenue
from adapters.ports import MarketDataClient
from adapters.transport.budget import RateBudget
from adapters.transport.clock import ClockOffset, WallClock
from daemon.config import RiskSection, ValidatedConfig
from daemon.health import (
    ACCOUNT_STREAM,
    CLOCK_OFFSET,
    MARKET_STREAM,
    NO_UNKNOWN_ORDERS,
    NOT_HALTED,
    RATE_LIMIT,
    RECONCILED,
    Flag,
    Freshness,
    HealthServer,
    clock_offset_check,
    rate_limit_check,
)
from daemon.journal.format import JournalError
from daemon.journal.writer import JournalWriter
from daemon.live.budget import CallBudget, OverBudget
from daemon.live.crash import crash_point
from daemon.live.port import LiveVenuePort, SubmissionQueue
from daemon.live.reconcile import READ_TIMEOUT_S, Reconciler
from daemon.live.redrive import ReDriveJournal, redrive
from daemon.live.venues import LiveVenue, build_venues
from daemon.logs import bind_context, get_logger
from daemon.metrics import Metrics
from daemon.sdnotify import Notifier
from engines.clock import Clock
from engines.errors import OrderStateError, VibeError
from engines.kernel import JournalPort, Kernel, VenuePort, make_engine
from engines.ledger import Ledger
from engines.markets.specs import spec_for
from engines.model.commands import CancelOrder, QueryOrder
from engines.model.events import (
    ORDER_EVENTS,
    Event,
    MarketEvent,
    OrderFilled,
    OrderSubmitted,
    RunFinished,
    RunStarted,
    TimerFired,
    TradingHalted,
    TradingResumed,
)
from engines.model.instruments import InstrumentSpec, market_of
from engines.orders.book import Orders
from engines.orders.table import OrderStatus
from engines.risk import RiskGate, RiskLimits
from engines.strategy.declaration import StrategySpec
from engines.units import NS_PER_SECOND

__all__ = ["JOURNAL_NAME", "LiveSession", "SessionOptions"]

JOURNAL_NAME: Final = "journal.vtj"
#: readiness checks that describe a deliberate state: false keeps /readyz false, never stops the
#: watchdog (a restart would not change them)
DELIBERATE: Final = frozenset({NOT_HALTED, RECONCILED, "strategy", RATE_LIMIT})
TIMER_POLL_S: Final = 0.05
SUPERVISOR_S: Final = 1.0


class SessionOptions:
    """What the command line adds to the configuration."""

    def __init__(
        self,
        *,
        adopt_venue_state: bool = False,
        listen: str | None = None,
        durable: bool = True,
        paper_cash: Decimal = Decimal(100_000),
        market_max_age_s: float = 30.0,
        environ: Mapping[str, str] | None = None,
        notifier: Notifier | None = None,
        venue_clock: Clock | None = None,
    ) -> None:
        self.adopt_venue_state = adopt_venue_state
        self.listen = listen
        self.durable = durable
        self.paper_cash = paper_cash
        self.market_max_age_s = market_max_age_s
        self.environ = environ
        self.notifier = notifier or Notifier(None)
        #: what the paper venue and the brokers' KRX checks read the time from (tests shift it into
        #: a market's session); None: the wall clock
        self.venue_clock = venue_clock


class _ObservedJournal:
    """The writer as the kernel's journal port: every appended fact is also folded by the session."""

    def __init__(self, writer: JournalWriter, observe: Callable[[Event], None]) -> None:
        self._writer = writer
        self._observe = observe

    def append(self, events: Sequence[Event]) -> Sequence[Event]:
        stamped: list[Event] = self._writer.append(events)
        for event in stamped:
            if type(event) is OrderSubmitted:
                self._writer.kick()  # its request waits for this commit: start it at once
            self._observe(event)
        return stamped


class LiveSession:
    """One strategy trading on its venues in paper or live mode (see the module docstring)."""

    def __init__(self, validated: ValidatedConfig, options: SessionOptions | None = None) -> None:
        self.options = options or SessionOptions()
        self.config = validated.config
        self.loaded = validated.loaded
        self.routes = dict(validated.routes)
        spec = self.loaded.spec
        self.specs: dict[str, InstrumentSpec] = {s: spec_for(s) for s in spec.universe}
        self.currency = self.specs[spec.universe[0]].quote
        self.clock = WallClock()
        self.metrics = Metrics()
        self.budget = CallBudget(self.config.runtime.strategy_call_budget_ms / 1000)
        self.log = get_logger(strategy=spec.name, mode=self.config.mode.value)
        self.state_dir = self.config.state_dir
        self.halted: str | None = None  # why trading is halted, None while it is not
        self.engine_failed: str | None = None
        self.reconciled = Flag(False, "not reconciled yet")
        self.first_market = asyncio.Event()
        self.market_fresh: dict[str, Freshness] = {}
        self.ready = asyncio.Event()
        self.fatal: BaseException | None = None
        self.kernel: Kernel | None = None
        self.writer: JournalWriter | None = None
        self.venues: dict[str, LiveVenue] = {}
        self.queues: dict[str, SubmissionQueue] = {}
        self.port: LiveVenuePort | None = None
        self.gate: RiskGate | None = None
        self.health: HealthServer | None = None
        self.run_id = ""
        self.dropped_events = 0
        self.stopping = False
        self.redriving = False
        self.journal_failed: str | None = None
        self._stream_states: dict[tuple[str, str], Callable[[], tuple[bool, int]]] = {}
        self._reconnects_seen: dict[tuple[str, str], int] = {}
        self.last_trades: dict[tuple[str, str], str] = {}

    # ── facts ──────────────────────────────────────────────────────────────────────────────────

    def observe(self, event: Event) -> None:
        """Fold what the session itself keeps from a journalled fact (a halt survives a restart)."""
        if self.gate is not None:
            self.gate.observe(event)
        if isinstance(event, TradingHalted):
            self.halted = f"{event.source}: {event.reason}"
            self.metrics.halted.set(1)
        elif isinstance(event, TradingResumed):
            self.halted = None
            self.metrics.halted.set(0)
        else:
            self._track(event)

    def _track(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.run_id = event.run_id
        elif isinstance(event, OrderFilled):
            self.last_trades[(self._venue_of(event.client_order_id), market_of(event.instrument))] = (
                event.trade_id
            )

    def _venue_of(self, client_order_id: str) -> str:
        order = self.kernel.orders.get(client_order_id) if self.kernel is not None else None
        return order.venue if order is not None else ""

    def last_trade_id(self, venue: str, markets: set[str]) -> str | None:
        """The last trade id journalled on these markets of ``venue`` (the fills cursor)."""
        found = [self.last_trades[(venue, m)] for m in sorted(markets) if (venue, m) in self.last_trades]
        return found[-1] if len(found) == 1 else None

    def deliver(self, fact: Event, venue: str) -> None:
        """A venue's fact: dropped if it changes nothing, else recorded and acted on."""
        kernel = self.kernel
        assert kernel is not None
        if isinstance(fact, ORDER_EVENTS):
            try:
                plan = kernel.orders.check(fact)  # type: ignore[arg-type]
            except OrderStateError as exc:
                self.dropped_events += 1
                order = kernel.orders.get(getattr(fact, "client_order_id", ""))
                if order is not None and order.status.is_terminal:
                    # news an ended order no longer needs (its end again, from the other channel)
                    self.log.debug("venue_event_stale", venue=venue, fact=type(fact).__name__)
                    return
                self.log.warning("venue_event_dropped", venue=venue, fact=type(fact).__name__, why=str(exc))
                return
            if plan.after is None:
                if plan.duplicate_fill:
                    self.metrics.duplicate_fills_dropped.labels(venue).inc()
                return
            if isinstance(fact, OrderFilled):
                crash_point("fill_fold")
                self.metrics.fills.labels(venue).inc()
        self._step(lambda: self._record_and_settle(kernel, fact))

    def _record_and_settle(self, kernel: Kernel, fact: Event) -> None:
        kernel.record(fact)
        self.metrics.events.labels("fact").inc()
        if self.engine_failed is None:
            kernel.settle(max(kernel.last_ts, fact.ts_event))

    def record_own(self, fact: Event) -> None:
        """A fact the session states itself (a halt, a timer): recorded like a venue's."""
        kernel = self.kernel
        assert kernel is not None
        self._step(lambda: self._record_and_settle(kernel, fact))

    def on_market(self, event: MarketEvent, arrived: float) -> None:
        if self.stopping:
            return  # a stop has begun: no new decision
        kernel = self.kernel
        assert kernel is not None and self.port is not None
        fresh = self.market_fresh.get(event.instrument)
        if fresh is not None:
            fresh.mark()
        self.metrics.events.labels("market").inc()
        self.port.origin = arrived
        crash_point("market_step")
        try:
            self._step(lambda: kernel.step_batch([event]))
        finally:
            self.port.origin = None
        self.first_market.set()

    def journal_failure(self, exc: VibeError) -> None:
        """The journal writer failed (a full disk, an I/O error): nothing may happen that the journal
        cannot record, so trading stops here, in memory (it cannot be journalled), ``/readyz`` and
        ``/healthz`` say why, and the process exits non-zero when it is stopped."""
        if self.journal_failed is None:
            self.journal_failed = f"{exc.code}: {exc.message}"
            self.log.error("journal_failed", error=self.journal_failed)
            self.metrics.halted.set(1)

    def _step(self, step: Callable[[], None]) -> None:
        """One kernel step under the strategy call budget. A strategy that fails or overruns halts
        trading (journalled) and its engine is not called again; the process keeps serving."""
        writer = self.writer
        if writer is not None and writer.error is not None and not self.redriving:
            self.journal_failure(writer.error)
        if self.journal_failed is not None:
            return  # no fold may run ahead of the journal: the venue's facts wait for the next start
        if self.engine_failed is not None:
            kernel = self.kernel
            assert kernel is not None
            # facts still fold (fills of orders out before the failure), the engine no longer acts
            engine, kernel.engine = kernel.engine, _Inert()  # type: ignore[assignment]
            try:
                step()
            finally:
                kernel.engine = engine
            return
        atomic = self.writer.step() if self.writer is not None else contextlib.nullcontext()
        try:
            with atomic, self.budget.guard():
                step()
        except OverBudget as exc:
            self._engine_failure(str(exc), "VT972")
        except JournalError as exc:
            self.journal_failure(exc)
        except VibeError as exc:
            self._engine_failure(f"{exc.code}: {exc.message}", exc.code)

    def _engine_failure(self, reason: str, code: str) -> None:
        self.engine_failed = reason
        self.log.error("strategy_halted", reason=reason, code=code)
        now = self.clock.now_ns()
        kernel = self.kernel
        assert kernel is not None
        kernel.engine.drain()  # what a half-run step asked for is not sent
        if self.redriving:
            return  # the journal holds the halt this failure made live; the re-drive folds it next
        halt = TradingHalted(ts_event=now, ts_init=now, reason=reason, source="daemon", code=code)
        kernel.record(halt)

    # ── halts ──────────────────────────────────────────────────────────────────────────────────

    def halt(self, reason: str, source: str = "operator", code: str = "") -> None:
        if self.halted is not None:
            return
        now = self.clock.now_ns()
        self.record_own(TradingHalted(ts_event=now, ts_init=now, reason=reason, source=source, code=code))

    def resume(self, source: str = "operator") -> None:
        if self.halted is None:
            return
        now = self.clock.now_ns()
        self.record_own(TradingResumed(ts_event=now, ts_init=now, source=source))

    def blocked(self) -> str | None:
        """Why no new order may leave now, or None."""
        if self.stopping:
            return "the daemon is stopping"
        if self.journal_failed is not None:
            return f"the journal cannot be written ({self.journal_failed})"
        if self.halted is not None:
            return f"trading halted ({self.halted})"
        if not self.reconciled.check()[0]:
            return "not reconciled"
        return None

    async def _catch_up_fills(self, client_order_id: str) -> None:
        """Fetch the fills a status report says an order has and no fill folded carries yet.

        A report resolving an unknown outcome can say "expired, 0.001 filled" while the fill itself
        was lost (its stream down, the process gone when it came). Left alone, the journal would
        hold a position the venue does not until the next start's reconciliation."""
        kernel = self.kernel
        assert kernel is not None
        order = kernel.orders.get(client_order_id)
        if order is None or order.filled_qty <= order.executed_qty:
            return
        client = self.venues[order.venue].execution_for(order.instrument)
        try:
            async with asyncio.timeout(READ_TIMEOUT_S):
                # from the start: the missing fill may be older than the last one journalled (told
                # out of order, then lost); what is already folded is dropped by its trade id
                fills = await client.fills_since(None)
        except (VibeError, TimeoutError) as exc:
            self.log.warning("fills_catch_up_failed", client_order_id=client_order_id, error=str(exc))
            return  # the next start's reconciliation reads them
        for fill in fills:
            if fill.client_order_id in kernel.orders:
                self.deliver(fill, order.venue)

    def _query_for(self, client_order_id: str) -> QueryOrder | None:
        kernel = self.kernel
        assert kernel is not None
        order = kernel.orders.get(client_order_id)
        if order is None or order.status.is_terminal:
            return None
        now = self.clock.now_ns()
        # A broker that takes no client id matches the order by its time among other terms: on the
        # venue's clock, which tests shift into a KRX session
        venue_now = self.options.venue_clock.now_ns() if self.options.venue_clock is not None else now
        return QueryOrder(
            ts_event=venue_now,
            ts_init=now,
            strategy=order.strategy,
            venue=order.venue,
            client_order_id=order.client_order_id,
            instrument=order.instrument,
            side=order.side,
            order_type=order.order_type,
            quantity=order.quantity,
        )

    def unknown_orders(self) -> int:
        kernel = self.kernel
        if kernel is None:
            return 0
        return sum(1 for o in kernel.orders.open_orders() if o.status is OrderStatus.UNKNOWN)

    # ── the run ────────────────────────────────────────────────────────────────────────────────

    async def run(self, stop: asyncio.Event) -> int:
        """Trade until ``stop`` is set; return the exit status (0 after a clean stop)."""
        notifier = self.options.notifier
        self.state_dir.mkdir(exist_ok=True)
        writer = JournalWriter(self.state_dir / JOURNAL_NAME, repair=True)
        self.writer = writer
        self.budget.install()
        try:
            notifier.status("folding the journal")
            recorded: list[Event] = list(writer.read())
            self._build(writer, recorded)
            await self._serve_health()
            try:
                return await self._trade(stop, recorded)
            finally:
                await self._close()
        finally:
            self.budget.uninstall()
            with contextlib.suppress(VibeError):
                await writer.close()

    def _build(self, writer: JournalWriter, recorded: list[Event]) -> None:
        spec = self.loaded.spec
        # the port holds the queues' dict: filled once the venues are built, after the re-drive
        # (nothing is sent while re-driving), so that they are built knowing the journal's orders
        self.queues = {}
        self.port = LiveVenuePort(self.queues)
        journal = ReDriveJournal(recorded, self.observe)
        self.kernel, self.gate = live_kernel(
            spec,
            self.specs,
            self.routes,
            port=self.port,
            journal=journal,
            limits=risk_limits(self.config.risk),
            clock=self.clock,
        )
        if recorded:
            started = time.perf_counter()
            self.redriving = True
            try:
                folded = redrive(self.kernel, journal, step=self._step)
            finally:
                self.redriving = False
            self.log.info("journal_folded", events=folded, seconds=round(time.perf_counter() - started, 3))
        self.venues = build_venues(
            self.config.mode,
            self.config.venues,
            self.routes,
            self.specs,
            paper_cash=self.options.paper_cash,
            state_dir=self.state_dir,
            bar_seconds=self.config.market.bar_seconds,
            order_numbers=self.kernel.orders.venue_order_ids(),
            fills_known={name: self.kernel.orders.fill_totals(name) for name in self.config.venues},
            environ=self.options.environ,
            clock=self.options.venue_clock,
        )
        durable: Callable[[], Awaitable[None]] = writer.barrier if self.options.durable else _no_wait
        for name, venue in self.venues.items():
            self.queues[name] = SubmissionQueue(
                venue,
                durable=durable,
                deliver=self.deliver,
                query_for=self._query_for,
                clock=self.clock,
                metrics=self.metrics,
                blocked=self.blocked,
                on_journal_failure=self.journal_failure,
                catch_up=self._catch_up_fills,
            )
        self.kernel.journal = _ObservedJournal(writer, self.observe)
        if recorded and self.config.mode is Mode.PAPER:
            self._restore_paper(self.kernel.ledger)
        self.port.sending = True
        for symbol in spec.universe:
            self.market_fresh[symbol] = Freshness(symbol, self.options.market_max_age_s)

    def _restore_paper(self, ledger: Ledger) -> None:
        """A paper venue lives in memory: give it back what the journal says the account holds."""
        cash = {self.currency: ledger.cash(self.currency)}
        for venue in self.venues.values():
            paper = venue.market
            if isinstance(paper, PaperVenue):
                held = {s: (ledger.position(s).qty, ledger.position(s).avg_px) for s in venue.symbols}
                paper.restore(held, cash)

    async def _serve_health(self) -> None:
        writer = self.writer
        assert writer is not None
        health = HealthServer(
            journal_alive=lambda: writer.error is None and not writer.closed,
            listen=self.options.listen or self.config.health.listen,
            metrics=self.metrics,
        )
        checks = health.readiness
        checks.register(RECONCILED, self.reconciled.check)
        checks.register(NO_UNKNOWN_ORDERS, self._unknown_check)
        checks.register(NOT_HALTED, self._halt_check)
        checks.register("strategy", self._strategy_check)
        for symbol, fresh in self.market_fresh.items():
            checks.register(f"{MARKET_STREAM}:{symbol}", fresh.check)
        health.on_scrape.append(self._refresh_gauges)
        from daemon.live.control import install_control  # noqa: PLC0415 - it types against this module

        install_control(health.app, self)  # POST /halt and /resume, before the server binds
        await health.start()
        self.health = health
        self.log.info("health_listening", url=health.url)

    def _register_venue_checks(self) -> None:
        """Per live venue client: its clock offset against the receive window, and no rate-limit ban
        (paper venues sign nothing and have neither)."""
        if self.health is None or self.config.mode is Mode.PAPER:
            return
        checks = self.health.readiness
        for name, venue in sorted(self.venues.items()):
            window = self.config.venues[name].recv_window_ms or 5000
            budgets: list[RateBudget] = []
            for market, client in sorted(venue.executions.items()):
                rest = getattr(client, "rest", None)
                clock = getattr(rest, "clock", None)
                if isinstance(clock, ClockOffset):
                    checks.register(f"{CLOCK_OFFSET}:{market}", clock_offset_check(clock, window))
                budget = getattr(rest, "budget", None)
                if isinstance(budget, RateBudget):
                    budgets.append(budget)
            checks.register(f"{RATE_LIMIT}:{name}", rate_limit_check(budgets))
            for market, client in sorted(venue.executions.items()):
                state = getattr(client, "account_stream", None)
                if callable(state):
                    checks.register(f"{ACCOUNT_STREAM}:{market}", functools.partial(_stream_check, state))
                    self._stream_states[(name, market)] = state

    def _unknown_check(self) -> tuple[bool, str]:
        n = self.unknown_orders()
        return (True, "none") if n == 0 else (False, f"{n} order(s) in unknown state, being queried")

    def _halt_check(self) -> tuple[bool, str]:
        if self.journal_failed is not None:
            return False, f"the journal cannot be written: {self.journal_failed}"
        return (True, "trading") if self.halted is None else (False, self.halted)

    def _strategy_check(self) -> tuple[bool, str]:
        return (True, "running") if self.engine_failed is None else (False, self.engine_failed)

    def _refresh_gauges(self) -> None:
        for venue in self.venues.values():
            for symbol in venue.symbols:
                age = self.market_fresh[symbol].age()
                if age is not None:
                    self.metrics.stream_message_age.labels(venue.name, "market").set(age)
        for name in self.venues:
            unknown = 0
            if self.kernel is not None:
                unknown = sum(
                    1
                    for o in self.kernel.orders.open_orders()
                    if o.status is OrderStatus.UNKNOWN and o.venue == name
                )
            self.metrics.orders_unknown.labels(name).set(unknown)
        for (venue_name, _market), state in self._stream_states.items():
            _, reconnects = state()
            seen = self._reconnects_seen.get((venue_name, _market), 0)
            if reconnects > seen:
                self.metrics.reconnects.labels(venue_name, "account").inc(reconnects - seen)
                self._reconnects_seen[(venue_name, _market)] = reconnects
        writer = self.writer
        if writer is not None:
            while writer.commit_seconds:
                self.metrics.journal_commit.observe(writer.commit_seconds.popleft())

    async def _trade(self, stop: asyncio.Event, recorded: list[Event]) -> int:
        notifier = self.options.notifier
        kernel = self.kernel
        assert kernel is not None and self.writer is not None
        notifier.status("connecting to the venues")
        for venue in self.venues.values():
            await venue.start()
        self._register_venue_checks()
        if not recorded:
            self._begin(kernel, await self._starting_cash())
        bind_context(run=self.run_id)  # every line from here on names the run it belongs to
        running: list[asyncio.Task[None]] = []
        feeding: list[asyncio.Task[None]] = []  # what makes decisions: stopped first at a stop
        async with asyncio.TaskGroup() as tasks:
            for venue in self.venues.values():
                for client in venue.unique_executions():
                    running.append(
                        tasks.create_task(self._pump_execution(venue.name, client), name=f"exec-{venue.name}")
                    )
            notifier.status("reconciling with the venues")
            await Reconciler(self).run(adopt=self.options.adopt_venue_state)
            queue_tasks = [
                tasks.create_task(queue.run(), name=f"queue-{queue.venue.name}")
                for queue in self.queues.values()
            ]
            running.extend(queue_tasks)
            for venue in self.venues.values():
                feeding.append(tasks.create_task(self._pump_market(venue), name=f"market-{venue.name}"))
            feeding.append(tasks.create_task(self._timers(stop), name="timers"))
            running.append(tasks.create_task(self._supervise(stop), name="supervisor"))
            await self._await_ready(stop)
            await stop.wait()
            notifier.stopping("stopping: no new orders")
            self.stopping = True
            # in this order: no new decision (market data and timers stop), every intent gets its
            # outcome (the queues drain), open orders are canceled or left, and only then the end
            # is journalled: nothing of this session comes after its RunFinished
            for task in feeding:
                task.cancel()
            await asyncio.wait(feeding)
            await self._drain_queues(queue_tasks)
            await self._stop_trading(stop_reason="stopped", pumps=running)
        return 1 if self.journal_failed is not None else 0

    async def _starting_cash(self) -> Decimal:
        """The run's capital: the paper cash, or in live mode what the venues hold of the session's
        currency (free and locked, summed over the venues)."""
        if self.config.mode is Mode.PAPER:
            return self.options.paper_cash
        total = Decimal(0)
        for venue in self.venues.values():
            for client in venue.unique_executions():
                async with asyncio.timeout(10.0):
                    total += (await client.balances()).get(self.currency).total
        return total

    def _begin(self, kernel: Kernel, cash: Decimal) -> None:
        spec = self.loaded.spec
        now = self.clock.now_ns()
        mode = self.config.mode
        self.run_id = f"{mode.value}-{spec.name}-{now}"
        kernel.begin(
            RunStarted(
                ts_event=now,
                ts_init=now,
                run_id=self.run_id,
                strategy=spec.name,
                strategy_type=spec.strategy_type,
                mode=mode.value,
                venues=tuple(sorted(self.venues)),
                params=spec.params_as_strings(),
                strategy_sha256=self.loaded.source_sha256,
            ),
            [self.specs[s] for s in sorted(self.specs)],
            cash,
        )

    async def _await_ready(self, stop: asyncio.Event) -> None:
        """READY=1 once reconciled and the first market data arrived (or stop first)."""
        waiter = asyncio.ensure_future(self.first_market.wait())
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        stopper.cancel()
        if self.first_market.is_set():
            self.ready.set()
            self.options.notifier.ready(f"trading {self.loaded.spec.name} ({self.config.mode.value})")
            self.log.info("ready", run_id=self.run_id, halted=self.halted)

    async def _pump_market(self, venue: LiveVenue) -> None:
        market: MarketDataClient = venue.market
        wanted = self.config.market
        bars = None if wanted.bar_seconds is None else wanted.bar_seconds * NS_PER_SECOND
        await market.subscribe(
            venue.symbols, quotes=wanted.quotes, trades=wanted.trades, bar_interval_ns=bars
        )
        async for event in market.events():
            self.on_market(event, time.perf_counter())

    async def _pump_execution(self, venue: str, client: object) -> None:
        async for fact in client.events():  # type: ignore[attr-defined]
            self.deliver(fact, venue)

    async def _timers(self, stop: asyncio.Event) -> None:
        kernel = self.kernel
        assert kernel is not None
        while not stop.is_set():
            deadline = kernel.next_deadline()
            now = self.clock.now_ns()
            if deadline is not None and deadline < now and self.engine_failed is None:
                self._step(functools.partial(_fire_timers, kernel, now))
                continue
            wait = TIMER_POLL_S if deadline is None else min(TIMER_POLL_S, max(0.0, (deadline - now) / 1e9))
            await asyncio.sleep(wait)

    async def _supervise(self, stop: asyncio.Event) -> None:
        """Every second (or half the watchdog interval): retry unresolved orders, and send
        ``WATCHDOG=1`` while the conditions ``/healthz`` and ``/readyz`` check pass, so that systemd
        restarts a session that is wedged (loop stalled, journal writer dead, a market stream or a
        venue clock gone bad, an order stuck unknown). The readiness checks that describe a deliberate
        state are left out: a halt, a reconciliation refusal, a halted strategy and a rate-limit ban
        would come back after a restart (and a ban would get worse), so they keep ``/readyz`` false
        without killing the process."""
        notifier = self.options.notifier
        interval = notifier.watchdog_interval()
        period = SUPERVISOR_S if interval is None else min(SUPERVISOR_S, interval / 2)
        while not stop.is_set():
            for queue in self.queues.values():
                queue.retry_unresolved()
            if interval is not None and self.health is not None and self.watchdog_ok():
                notifier.watchdog()
            await asyncio.sleep(period)

    def watchdog_ok(self) -> bool:
        """What the watchdog supervisor checks (see :meth:`_supervise`)."""
        health = self.health
        if health is None:
            return False
        if not all(r.ok for r in health.liveness.evaluate().values()):
            return False
        readiness = health.readiness.evaluate()
        return all(r.ok for name, r in readiness.items() if name.partition(":")[0] not in DELIBERATE)

    async def _drain_queues(self, tasks: list[asyncio.Task[None]], timeout_s: float = 10.0) -> None:
        """Let each queue finish what it holds: a request in flight gets its answer, a queued intent
        is refused locally (the session is stopping), so no intent is left without an outcome."""
        for queue in self.queues.values():
            await queue.stop()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout_s)
            for task in pending:
                self.log.warning("queue_not_drained", task=task.get_name())

    async def _stop_trading(self, stop_reason: str, pumps: Sequence[asyncio.Task[None]] = ()) -> None:
        """No new order; cancel or leave the open ones; stop the account streams; journal the end of
        this session (what a venue says after it is found by the next start's reconciliation)."""
        kernel = self.kernel
        assert kernel is not None and self.port is not None
        self.port.sending = False
        if self.config.stop.on_stop == "cancel":
            await self.cancel_open_orders()
        for task in pumps:
            task.cancel()
        if pumps:
            await asyncio.wait(pumps)
        if self.journal_failed is not None:
            return  # nothing more can be journalled; the next start reconciles what happened since
        now = self.clock.now_ns()
        # the strategy's on_stop (its lines journalled), as a replay's end calls it; a re-drive
        # meets them just before this RunFinished and calls it again at the same time
        self._step(lambda: kernel.stop_strategy(now))
        kernel.record(RunFinished(ts_event=now, ts_init=now, run_id=self.run_id, reason=stop_reason))
        if self.writer is not None:
            await self.writer.barrier()

    async def cancel_open_orders(self, timeout_s: float = 5.0) -> int:
        """Cancel every open order at its venue now (the stop policy, ``POST /halt`` with
        ``cancel_open``); returns how many cancels were sent. Each answer is folded as it comes."""
        kernel = self.kernel
        assert kernel is not None
        sent = 0
        for order in kernel.orders.open_orders():
            queue = self.queues.get(order.venue)
            if queue is None or order.status is OrderStatus.SUBMITTED:
                continue  # an intent the queue has not sent is refused there, never canceled
            now = self.clock.now_ns()
            cancel = CancelOrder(
                ts_event=now,
                ts_init=now,
                strategy=order.strategy,
                venue=order.venue,
                client_order_id=order.client_order_id,
                instrument=order.instrument,
            )
            sent += 1
            try:
                async with asyncio.timeout(timeout_s):
                    await queue.cancel_now(cancel)
            except TimeoutError:
                self.log.warning("cancel_timed_out", client_order_id=order.client_order_id)
        return sent

    async def _close(self) -> None:
        if self.health is not None:
            await self.health.stop()
        for venue in self.venues.values():
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5.0):
                    await venue.close()


def live_kernel(
    spec: StrategySpec,
    specs: Mapping[str, InstrumentSpec],
    routes: Mapping[str, str],
    *,
    port: VenuePort,
    journal: JournalPort,
    limits: RiskLimits,
    clock: Clock,
) -> tuple[Kernel, RiskGate]:
    """A kernel wired as every live session wires it (and as ``replay --journal`` must, to re-drive
    one): the risk gate in front of the venue port, market events journalled, equity sampled each
    second."""
    ledger, orders = Ledger(), Orders()
    currency = specs[spec.universe[0]].quote
    gate = RiskGate(port, limits, ledger=ledger, orders=orders, currency=currency, clock=clock, specs=specs)
    engine = make_engine(spec, ledger, orders, currency=currency, specs=specs, venues=routes, clock=clock)
    kernel = Kernel(
        engine,
        ledger=ledger,
        orders=orders,
        journal=journal,
        venue=gate,
        universe=spec.universe,
        currency=currency,
        clock=clock,
        sample_ns=NS_PER_SECOND,
        journal_market=True,
    )
    return kernel, gate


def risk_limits(risk: RiskSection) -> RiskLimits:
    """The configuration's ``[risk]`` table as the gate's limits (a table's ``default`` key is the
    default for what it does not name)."""
    positions = risk.max_position
    rates = risk.max_orders_per_second
    position_table = dict(positions) if isinstance(positions, dict) else {}
    rate_table = dict(rates) if isinstance(rates, dict) else {}
    return RiskLimits(
        max_order_notional=risk.max_order_notional,
        position_limits={k: v for k, v in position_table.items() if k != "default"},
        default_position_limit=position_table.get("default") if isinstance(positions, dict) else positions,
        max_open_orders=risk.max_open_orders,
        orders_per_second={k: v for k, v in rate_table.items() if k != "default"},
        default_orders_per_second=rate_table.get("default") if isinstance(rates, dict) else rates,
        daily_loss_limit=risk.daily_loss_limit,
    )


def _stream_check(state: Callable[[], tuple[bool, int]]) -> tuple[bool, str]:
    connected, reconnects = state()
    return connected, f"{'connected' if connected else 'disconnected'}, {reconnects} reconnect(s)"


def _fire_timers(kernel: Kernel, now: int) -> None:
    kernel.record(TimerFired(ts_event=now, ts_init=now))
    kernel.fire_timers(now)


class _Inert:
    """The engine of a failed strategy: facts still fold, nothing acts on them."""

    def handle(self, event: Event) -> None:
        pass

    def on_time(self, now_ns: int) -> None:
        pass

    def next_deadline(self) -> int | None:
        return None

    def finish(self, now_ns: int) -> None:
        pass

    def start(self, now_ns: int) -> None:
        pass

    def drain(self) -> list[object]:
        return []


async def _no_wait() -> None:
    return None
