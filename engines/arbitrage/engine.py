"""The arbitrage engine: aligned snapshots in, legs out in their order, one arbitrage at a time.

docs/arbitrage.md is the account for users; in short (DESIGN.md section 4):

* **Alignment.** The engine keeps the latest :class:`~engines.model.events.QuoteTick` of every leg. Each
  quote of a leg, once every leg has had one, makes a *snapshot*. It is **aligned** when the
  exchange timestamps of the legs' latest quotes lie within ``window_ms`` of each other
  (``max - min <= window_ms * 1e6``, integer nanoseconds) and only then is
  ``on_snapshot`` called. Otherwise it is **stale**: counted, never shown to the strategy, and
  journalled coalesced as :class:`~engines.model.events.SnapshotSkipped` (``count`` stale snapshots,
  ``spread_ns`` the widest spread among them). A pending count is journalled when 1 s of exchange
  time has passed since its first stale snapshot (checked on each stale snapshot and in
  :meth:`ArbitrageEngine.on_time`), just before the first order of an arbitrage (so the journal
  shows what was skipped before a trade), and by :meth:`ArbitrageEngine.finish`.
* **One arbitrage in flight.** While an arbitrage has legs to send or orders working, snapshots
  are not evaluated (nor counted as stale: ``snapshots_busy`` counts them). After a halt the
  strategy is never called again.
* **Ordering.** The legs of the intent go out strictly in the intent's order, one
  :class:`~engines.model.commands.SubmitOrder` at a time, each carrying ``arb_id``, ``leg`` and
  ``aligned_ts_ns``. Leg ``i + 1`` is released only when leg ``i`` is ``filled`` in full (default)
  or ``accepted`` by the venue (``next_leg_on``). Every order of an arbitrage (entry, hedge,
  unwind) is canceled if it is still working ``leg_timeout_ms`` of exchange time after it was sent.
* **Leg failure** (rejected, or canceled or expired before it filled in full) follows ``policy``:
  ``unwind`` reverses what the legs filled with market orders in reverse leg order, one at a time
  (outcome ``unwound``); ``hedge`` sends the failed leg's remainder as a market order, at most
  ``hedge_retries`` times per leg (outcome ``hedged``), then falls back to unwinding; ``halt``
  journals :class:`~engines.model.events.StrategyHalted` (code VT343) and stops the strategy, leaving
  working orders and filled legs as they are. An unwind order gets :data:`UNWIND_ATTEMPTS`
  attempts per leg; if the leg is still not flat, the strategy halts (code VT344). Every intent
  ends with exactly one :class:`~engines.model.events.ArbitrageResolved`.
* **Sizes.** ``LegOrder.quantity`` is in base units. Spot and equity legs trade it as is, linear
  contracts ``quantity / multiplier`` contracts, inverse contracts
  ``quantity * touch / multiplier`` (the touch of the side the leg takes in the triggering
  snapshot: the ask for a buy, the bid for a sell). The result is floored to the lot size; below
  one lot or ``min_qty`` is :class:`ArbitrageError` VT340, raised before any leg is sent. A limit
  becomes a LIMIT IOC order at the limit rounded onto the tick grid the safe way (buys down,
  sells up); no limit is a MARKET order.

The engine reads order statuses and filled quantities from :class:`~engines.orders.book.Orders`, so the
run loop must fold every order event into it before handing the event to :meth:`handle` (the
kernel's ``Kernel.record`` does). Sizing and the state of each leg are :mod:`engines.arbitrage.legs`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Final

from engines.arbitrage.legs import (
    ACCEPTED,
    DONE,
    ENTRY,
    HEDGE,
    UNWIND,
    WAITING,
    Arbitrage,
    ArbitrageError,
    ArbOrder,
    Leg,
    checked_params,
    describe_failure,
    leg_specs,
    limit_on_grid,
    venue_quantity,
)
from engines.clock import REPLAY_CLOCK, Clock
from engines.decimals import LEG_SIZE_CONTEXT
from engines.errors import ContractViolation, DeclarationError
from engines.ledger import Ledger
from engines.model.commands import CancelOrder, SubmitOrder
from engines.model.enums import LegPolicy, OrderType, Side, TimeInForce
from engines.model.events import (
    ArbitrageResolved,
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    QuoteTick,
    SnapshotSkipped,
    StrategyHalted,
    StrategyLog,
)
from engines.model.instruments import InstrumentSpec
from engines.orders.book import Orders
from engines.orders.table import OrderStatus
from engines.sdk import LegOrder, Snapshot
from engines.strategy.contract import check_arbitrage
from engines.strategy.declaration import StrategySpec
from engines.strategy.runtime import OrderIds, Outgoing, StrategyRuntime, fill_of
from engines.units import NS_PER_MS, NS_PER_SECOND

__all__ = ["OUTCOMES", "SKIP_FLUSH_NS", "UNWIND_ATTEMPTS", "ArbitrageEngine"]

#: The outcomes an arbitrage can end with, one ArbitrageResolved each.
OUTCOMES: Final = ("filled", "unwound", "hedged", "halted")
#: Stale snapshots are journalled at least this often (exchange time), coalesced in between.
SKIP_FLUSH_NS: Final = NS_PER_SECOND
#: Market orders an unwind sends per leg before it gives up and halts the strategy (VT344).
UNWIND_ATTEMPTS: Final = 3

_NEVER: Final = 1 << 62

_ORDER_EVENTS: Final = (
    OrderAccepted,
    OrderRejected,
    OrderFilled,
    OrderCanceled,
    OrderExpired,
    OrderCancelRejected,
)

_OrderEvent = OrderAccepted | OrderRejected | OrderFilled | OrderCanceled | OrderExpired | OrderCancelRejected


class ArbitrageEngine:
    """The sans-I/O engine of one arbitrage strategy (see the module docstring)."""

    __slots__ = (
        "_arb",
        "_arbs",
        "_blocked",
        "_clock",
        "_ctx",
        "_deadline",
        "_gate",
        "_hook",
        "_ids",
        "_index",
        "_latest",
        "_name",
        "_on_fill",
        "_out",
        "_skip_count",
        "_skip_since",
        "_skip_spread",
        "_specs",
        "_ts",
        "_two",
        "_working",
        "halted",
        "hedge_retries",
        "ledger",
        "legs",
        "next_leg_on",
        "orders",
        "policy",
        "quotes_halted",
        "quotes_waiting",
        "runtime",
        "snapshots_aligned",
        "snapshots_busy",
        "snapshots_stale",
        "timeout_ns",
        "window_ns",
    )

    def __init__(
        self,
        spec: StrategySpec,
        ledger: Ledger,
        orders: Orders,
        *,
        currency: str,
        specs: Mapping[str, InstrumentSpec],
        seed: int = 0,
        venues: Mapping[str, str] | None = None,
        clock: Clock = REPLAY_CLOCK,
    ) -> None:
        if spec.strategy_type != "arbitrage":
            raise ValueError(f"ArbitrageEngine runs arbitrage strategies, not {spec.strategy_type}")
        params = checked_params(spec.name, spec.params)
        legs = tuple(spec.universe)
        self._specs: dict[str, InstrumentSpec] = leg_specs(spec.name, legs, specs)
        self.runtime = StrategyRuntime(
            spec, ledger, currency, seed, venues=venues, clock=clock, orders=orders
        )
        if self.runtime.ctx._window(legs[0]) is not None:
            raise DeclarationError(
                f"strategy {spec.name!r}: history keeps bars, and an arbitrage sees quotes only",
                code="VT111",
                hint="Drop history from the arbitrage; keep what it needs of past snapshots itself.",
            )
        self._on_fill = (
            self.runtime.strategy.on_fill  # type: ignore[attr-defined]
            if self.runtime.overrides("on_fill")
            else None
        )
        self.ledger = ledger
        self.orders = orders
        self.legs = legs
        self.window_ns: int = params.window_ms * NS_PER_MS
        self.policy = LegPolicy(params.policy)
        self.next_leg_on: str = params.next_leg_on
        self.hedge_retries: int = params.hedge_retries
        self.timeout_ns: int = params.leg_timeout_ms * NS_PER_MS
        self._gate = DONE if params.next_leg_on == "filled" else ACCEPTED
        self._name = spec.name
        self._ids = OrderIds(spec.name)
        self._hook = self.runtime.strategy.on_snapshot  # type: ignore[attr-defined]
        self._ctx = self.runtime.ctx
        self._index = {symbol: i for i, symbol in enumerate(legs)}
        self._two = len(legs) == 2
        # The latest quote of each leg (in declared order once all are in) and its exchange time.
        self._latest: dict[str, QuoteTick] = {}
        self._ts: list[int] = [0] * len(legs)
        self._blocked = True  # not every leg quoted, an arbitrage in flight, or halted
        self.halted = False
        self._arb: Arbitrage | None = None
        self._working: dict[str, ArbOrder] = {}
        self._deadline = _NEVER
        self._clock = 0  # the latest exchange time seen: what the engine's own records are stamped
        self._arbs = 0
        self._skip_count = 0
        self._skip_spread = 0
        self._skip_since = 0
        self._out: list[Outgoing] = []
        # figures for reports and tests
        self.snapshots_aligned = 0
        self.snapshots_stale = 0
        self.snapshots_busy = 0
        self.quotes_waiting = 0  # quotes before every leg had one: no snapshot yet
        self.quotes_halted = 0  # quotes after the strategy halted: nothing evaluated

    # ── the engine interface ──

    def start(self, now_ns: int) -> None:
        self.runtime.call(self.runtime.strategy.on_start, now_ns)
        self._out.extend(self.runtime.drain_logs(now_ns))

    def handle(self, event: Event) -> None:
        """Fold one journalled event: a quote of a leg may call the strategy, an order event of the
        arbitrage in flight may release its next order. Everything else is ignored."""
        if type(event) is QuoteTick:
            # the hot path: integer comparisons, and one dict copy per aligned snapshot
            symbol = event.instrument
            i = self._index.get(symbol)
            if i is None:
                return
            ts = event.ts_event
            self._latest[symbol] = event
            tss = self._ts
            tss[i] = ts
            if self._blocked and not self._unblocked():
                return
            if self._two:
                spread = tss[0] - tss[1]
                if spread < 0:
                    spread = -spread
            else:
                spread = max(tss) - min(tss)
            if spread > self.window_ns:  # stale: counted, coalesced, never shown
                self.snapshots_stale += 1
                if not self._skip_count:
                    self._skip_since = ts
                    self._skip_spread = spread
                elif spread > self._skip_spread:
                    self._skip_spread = spread
                self._skip_count += 1
                if ts - self._skip_since >= SKIP_FLUSH_NS:
                    self._flush_skipped(ts)
                return
            self.snapshots_aligned += 1
            ctx = self._ctx
            ctx.now_ns = ts
            try:  # runtime.call, inlined
                output = self._hook(ctx, Snapshot(self._latest.copy(), ts))
            except Exception as exc:
                raise self.runtime.failure(exc, ts) from None
            if output is not None or ctx.logs:
                self._decided(output, ts)
        elif isinstance(event, _ORDER_EVENTS):
            if self._on_fill is not None and isinstance(event, OrderFilled):
                self._filled(event)
            working = self._working.get(event.client_order_id)
            if working is not None:
                self._on_order(event, working)

    def next_deadline(self) -> int | None:
        """The earliest leg timeout of the arbitrage in flight: it fires with no quote arriving."""
        return None if self._deadline == _NEVER else self._deadline

    def on_time(self, now_ns: int) -> None:
        """Exchange time has moved past ``now_ns``: journal a stale count pending for 1 s or more, and
        cancel orders of the arbitrage working longer than ``leg_timeout_ms``."""
        if self._skip_count and now_ns - self._skip_since >= SKIP_FLUSH_NS:
            self._flush_skipped(now_ns)
        if now_ns >= self._deadline:
            self._expire(now_ns)

    def drain(self) -> Sequence[Outgoing]:
        if not self._out:
            return ()
        out, self._out = self._out, []
        return out

    def finish(self, now_ns: int) -> None:
        """The end of the data or of the session: journal what is still pending.

        The pending stale count becomes a SnapshotSkipped; a leg that never had a quote, or an
        arbitrage still in flight, is stated in a StrategyLog (an arbitrage in flight gets no
        ArbitrageResolved: its orders are still working and the journal shows them open).
        """
        self._clock = max(self._clock, now_ns)
        self._flush_skipped(now_ns)
        missing = [symbol for symbol in self.legs if symbol not in self._latest]
        if missing:
            self._log(now_ns, f"no snapshot evaluated: no quote ever for {', '.join(missing)}")
        arb = self._arb
        if arb is not None:
            working = ", ".join(f"{cid} (leg {w.leg.index}, {w.role})" for cid, w in self._working.items())
            self._log(
                now_ns,
                f"arbitrage {arb.arb_id} unresolved at the end: "
                f"{working or 'no order working'}; {arb.reason or 'no leg failed'}",
            )

    def stop(self, now_ns: int) -> None:
        """The run ends: ``on_stop`` (it may only log)."""
        self._out.extend(self.runtime.stop(now_ns))

    def _filled(self, event: OrderFilled) -> None:
        """``on_fill`` for an execution of one of the strategy's orders; it may only log."""
        order = self.orders.get(event.client_order_id)
        if order is None or order.strategy != self._name or self._on_fill is None:
            return
        now = event.ts_event
        returned = self.runtime.call(self._on_fill, now, fill_of(event))
        if returned is not None:
            raise ContractViolation(
                f"strategy {self._name!r} at ts {now}: on_fill returned {type(returned).__name__}; "
                "an arbitrage's on_fill may only log (the engine works the legs)",
                code="VT320",
            )
        self._out.extend(self.runtime.drain_logs(now))

    # ── figures ──

    @property
    def in_flight(self) -> str | None:
        """The id of the arbitrage in flight, if any."""
        return self._arb.arb_id if self._arb is not None else None

    @property
    def arbitrages(self) -> int:
        """How many intents the engine has opened."""
        return self._arbs

    # ── snapshots ──

    def _unblocked(self) -> bool:
        """Whether a quote that found the engine blocked may be evaluated after all."""
        if self.halted:
            self.quotes_halted += 1
            return False
        if self._arb is not None:
            self.snapshots_busy += 1
            return False
        latest = self._latest
        if len(latest) < len(self.legs):
            self.quotes_waiting += 1
            return False
        if tuple(latest) != self.legs:
            self._latest = {symbol: latest[symbol] for symbol in self.legs}  # declared order
        self._blocked = False
        return True

    def _flush_skipped(self, now: int) -> None:
        if self._skip_count:
            self._out.append(
                SnapshotSkipped(
                    ts_event=now,
                    ts_init=self.runtime.clock.ts_init(now),
                    strategy=self._name,
                    spread_ns=self._skip_spread,
                    count=self._skip_count,
                )
            )
            self._skip_count = 0
            self._skip_spread = 0

    def _decided(self, output: object, ts: int) -> None:
        """What an aligned snapshot's strategy call said: its log lines, then its intent."""
        runtime = self.runtime
        if self._ctx.logs:
            self._out.extend(runtime.drain_logs(ts))
        if output is not None:
            legs = check_arbitrage(runtime.name, ts, output, self.legs)
            if legs:
                self._open(legs, self._latest, ts)

    # ── an arbitrage's life ──

    def _open(self, legs: tuple[LegOrder, ...], quotes: Mapping[str, QuoteTick], ts: int) -> None:
        built: list[Leg] = []
        for j, leg in enumerate(legs):  # every leg converted before any is sent: fail fast
            spec = self._specs[leg.symbol]
            qty = venue_quantity(spec, leg, quotes[leg.symbol])
            if leg.limit is None:
                order_type, price, tif = OrderType.MARKET, None, TimeInForce.GTC
            else:
                order_type, price, tif = (
                    OrderType.LIMIT,
                    limit_on_grid(spec, leg, leg.limit),
                    TimeInForce.IOC,
                )
            built.append(Leg(j, leg.symbol, leg.side, qty, order_type, price, tif))
        self._arbs += 1
        arb = Arbitrage(f"{self._name}-{self._arbs}", tuple(self._ts), built)
        self._clock = max(self._clock, ts)
        self._flush_skipped(ts)
        self._arb = arb
        self._blocked = True
        self._advance(arb)

    def _advance(self, arb: Arbitrage) -> None:
        """Send the arbitrage's next order if its state allows one, or resolve it."""
        if arb.unwinding:
            if self._working:
                return  # every order of the arbitrage ends before anything is reversed
            for leg in reversed(arb.legs):
                open_qty = LEG_SIZE_CONTEXT.subtract(leg.filled, leg.unwound)
                if open_qty <= 0:
                    continue
                if leg.unwinds >= UNWIND_ATTEMPTS:
                    arb.note(
                        f"unwind of leg {leg.index} ({leg.symbol}) failed after {leg.unwinds} attempts, "
                        f"{open_qty} still open"
                    )
                    self._halt(arb, "VT344")
                    return
                leg.unwinds += 1
                self._submit(arb, leg, UNWIND, side=leg.side.opposite, qty=open_qty)
                return
            self._resolve(arb, "unwound")
            return
        legs = arb.legs
        k = arb.released
        if k < len(legs):
            if k == 0 or legs[k - 1].state >= self._gate:
                leg = legs[k]
                arb.released = k + 1
                self._submit(
                    arb,
                    leg,
                    ENTRY,
                    side=leg.side,
                    qty=leg.quantity,
                    order_type=leg.order_type,
                    price=leg.price,
                )
            return
        if not self._working and all(leg.state == DONE for leg in legs):
            self._resolve(arb, "hedged" if any(leg.hedges for leg in legs) else "filled")

    def _submit(
        self,
        arb: Arbitrage,
        leg: Leg,
        role: str,
        *,
        side: Side,
        qty: Decimal,
        order_type: OrderType = OrderType.MARKET,
        price: Decimal | None = None,
    ) -> None:
        now = self._clock
        cid = self._ids.next()
        deadline = now + self.timeout_ns
        self._working[cid] = ArbOrder(leg, role, deadline)
        self._deadline = min(self._deadline, deadline)
        self._out.append(
            SubmitOrder(
                ts_event=now,
                ts_init=self.runtime.clock.ts_init(now),
                strategy=self._name,
                venue=self.runtime.venues[leg.symbol],
                client_order_id=cid,
                instrument=leg.symbol,
                side=side,
                order_type=order_type,
                quantity=qty,
                price=price,
                time_in_force=leg.time_in_force if role == ENTRY else TimeInForce.GTC,
                arb_id=arb.arb_id,
                leg=leg.index,
                aligned_ts_ns=arb.aligned,
            )
        )

    def _on_order(
        self,
        event: _OrderEvent,
        working: ArbOrder,
    ) -> None:
        arb = self._arb
        assert arb is not None  # orders are tracked only while their arbitrage is in flight
        self._clock = max(self._clock, event.ts_event)
        cid = event.client_order_id
        if isinstance(event, OrderCancelRejected):
            # the order is still working (its end is on the way, or the cancel lost a race)
            working.canceling = False
            working.deadline = self._clock + self.timeout_ns
            self._deadline = min(self._deadline, working.deadline)
            return
        order = self.orders.get(cid)
        if order is None:
            raise ArbitrageError(
                f"order {cid!r} of {arb.arb_id} is not in the order book: fold order events into "
                "Orders before handing them to the engine",
                code="VT342",
            )
        leg = working.leg
        status = order.status
        if status.is_terminal:
            del self._working[cid]
            if working.role == UNWIND:
                leg.unwound = LEG_SIZE_CONTEXT.add(leg.unwound, order.filled_qty)
            else:
                leg.filled = LEG_SIZE_CONTEXT.add(leg.filled, order.filled_qty)
                if status is OrderStatus.FILLED:
                    leg.state = DONE
                elif not arb.unwinding:
                    self._leg_failed(
                        arb, leg, describe_failure(event, working, order.filled_qty, order.quantity)
                    )
                    if self._arb is None:  # halted
                        return
        elif (
            working.role != UNWIND
            and leg.state == WAITING
            and (order.venue_order_id is not None or order.filled_qty > 0)
        ):
            leg.state = ACCEPTED
        self._advance(arb)

    def _leg_failed(self, arb: Arbitrage, leg: Leg, why: str) -> None:
        leg.state = WAITING
        arb.note(why)
        if self.policy is LegPolicy.HALT:
            arb.note("policy halt")
            self._halt(arb, "VT343")
            return
        if self.policy is LegPolicy.HEDGE:
            if leg.hedges < self.hedge_retries:
                leg.hedges += 1
                arb.note(f"hedge {leg.hedges} of leg {leg.index}")
                remaining = LEG_SIZE_CONTEXT.subtract(leg.quantity, leg.filled)
                self._submit(arb, leg, HEDGE, side=leg.side, qty=remaining)
                return
            arb.note(f"{leg.hedges} hedge(s) of leg {leg.index} spent: unwinding")
        arb.unwinding = True

    def _resolve(self, arb: Arbitrage, outcome: str) -> None:
        now = self._clock
        self._out.append(
            ArbitrageResolved(
                ts_event=now,
                ts_init=self.runtime.clock.ts_init(now),
                strategy=self._name,
                arb_id=arb.arb_id,
                outcome=outcome,
                reason=arb.reason,
            )
        )
        self._arb = None
        self._working.clear()
        self._deadline = _NEVER
        self._blocked = self.halted

    def _halt(self, arb: Arbitrage, code: str) -> None:
        """Resolve the arbitrage as halted and stop the strategy. Orders still working are left."""
        self.halted = True
        self._resolve(arb, "halted")
        now = self._clock
        self._out.append(
            StrategyHalted(
                ts_event=now,
                ts_init=self.runtime.clock.ts_init(now),
                strategy=self._name,
                reason=f"arbitrage {arb.arb_id}: {arb.reason}",
                code=code,
            )
        )

    def _expire(self, now: int) -> None:
        self._clock = max(self._clock, now)
        deadline = _NEVER
        for cid, working in self._working.items():
            if working.canceling:
                continue
            if working.deadline <= now:
                working.canceling = True
                self._out.append(
                    CancelOrder(
                        ts_event=now,
                        ts_init=self.runtime.clock.ts_init(now),
                        strategy=self._name,
                        venue=self.runtime.venues[working.leg.symbol],
                        client_order_id=cid,
                        instrument=working.leg.symbol,
                    )
                )
            elif working.deadline < deadline:
                deadline = working.deadline
        self._deadline = deadline

    def _log(self, now: int, message: str) -> None:
        self._out.append(
            StrategyLog(
                ts_event=now,
                ts_init=self.runtime.clock.ts_init(now),
                strategy=self._name,
                message=f"[arbitrage engine] {message}",
            )
        )
