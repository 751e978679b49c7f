"""The arbitrage engine: aligned snapshots in, legs out in their order, one arbitrage at a time.

docs/arbitrage.md is the account for users; in short (DESIGN.md section 4):

* **Alignment.** The engine keeps the latest :class:`~engines.events.QuoteTick` of every leg. Each
  quote of a leg, once every leg has had one, makes a *snapshot*. It is **aligned** when the
  exchange timestamps of the legs' latest quotes lie within ``window_ms`` of each other
  (``max - min <= window_ms * 1e6``, integer nanoseconds) and only then is
  ``on_snapshot`` called. Otherwise it is **stale**: counted, never shown to the strategy, and
  journalled coalesced as :class:`~engines.events.SnapshotSkipped` (``count`` stale snapshots,
  ``spread_ns`` the widest spread among them). A pending count is journalled when 1 s of exchange
  time has passed since its first stale snapshot (checked on each stale snapshot and in
  :meth:`ArbitrageEngine.on_time`), just before the first order of an arbitrage (so the journal
  shows what was skipped before a trade), and by :meth:`ArbitrageEngine.finish`.
* **One arbitrage in flight.** While an arbitrage has legs to send or orders working, snapshots
  are not evaluated (nor counted as stale: ``snapshots_busy`` counts them). After a halt the
  strategy is never called again.
* **Ordering.** The legs of the intent go out strictly in the intent's order, one
  :class:`~engines.events.SubmitOrder` at a time, each carrying ``arb_id``, ``leg`` and
  ``aligned_ts_ns``. Leg ``i + 1`` is released only when leg ``i`` is ``filled`` in full (default)
  or ``accepted`` by the venue (``next_leg_on``). Every order of an arbitrage (entry, hedge,
  unwind) is canceled if it is still working ``leg_timeout_ms`` of exchange time after it was sent.
* **Leg failure** (rejected, or canceled or expired before it filled in full) follows ``policy``:
  ``unwind`` reverses what the legs filled with market orders in reverse leg order, one at a time
  (outcome ``unwound``); ``hedge`` sends the failed leg's remainder as a market order, at most
  ``hedge_retries`` times per leg (outcome ``hedged``), then falls back to unwinding; ``halt``
  journals :class:`~engines.events.StrategyHalted` (code VT343) and stops the strategy, leaving
  working orders and filled legs as they are. An unwind order gets :data:`UNWIND_ATTEMPTS`
  attempts per leg; if the leg is still not flat, the strategy halts (code VT344). Every intent
  ends with exactly one :class:`~engines.events.ArbitrageResolved`.
* **Sizes.** ``LegOrder.quantity`` is in base units. Spot and equity legs trade it as is, linear
  contracts ``quantity / multiplier`` contracts, inverse contracts
  ``quantity * touch / multiplier`` (the touch of the side the leg takes in the triggering
  snapshot: the ask for a buy, the bid for a sell). The result is floored to the lot size; below
  one lot or ``min_qty`` is :class:`ArbitrageError` VT340, raised before any leg is sent. A limit
  becomes a LIMIT IOC order at the limit rounded onto the tick grid the safe way (buys down,
  sells up); no limit is a MARKET order.

The engine reads order statuses and filled quantities from :class:`~engines.orders.Orders`, so the
run loop must fold every order event into it before handing the event to :meth:`handle` (the
replay's ``Session.record`` does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Final

from engines.clock import REPLAY_CLOCK, Clock
from engines.contract import check_arbitrage
from engines.engine import OrderIds, Outgoing, StrategyRuntime
from engines.errors import VibeError
from engines.events import (
    ArbitrageResolved,
    CancelOrder,
    Event,
    LegPolicy,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderType,
    QuoteTick,
    Side,
    SnapshotSkipped,
    StrategyHalted,
    StrategyLog,
    SubmitOrder,
    TimeInForce,
)
from engines.instruments import InstrumentKind, InstrumentSpec
from engines.ledger import Ledger
from engines.orders import Orders, OrderStatus
from engines.router import StrategySpec
from engines.sdk import ArbitrageParams, LegOrder, Snapshot
from engines.specs import UnknownInstrumentError, round_to_tick

__all__ = [
    "OUTCOMES",
    "SKIP_FLUSH_NS",
    "UNWIND_ATTEMPTS",
    "ArbitrageEngine",
    "ArbitrageError",
    "venue_quantity",
]

#: The outcomes an arbitrage can end with, one ArbitrageResolved each.
OUTCOMES: Final = ("filled", "unwound", "hedged", "halted")
#: Stale snapshots are journalled at least this often (exchange time), coalesced in between.
SKIP_FLUSH_NS: Final = 1_000_000_000
#: Market orders an unwind sends per leg before it gives up and halts the strategy (VT344).
UNWIND_ATTEMPTS: Final = 3

_NS_PER_MS: Final = 1_000_000
_NEVER: Final = 1 << 62
_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
# Fixed, so that no size depends on the caller's thread context; FLOOR is what lot rounding wants.
_CTX: Final = Context(
    prec=60,
    rounding=ROUND_FLOOR,
    Emin=-999_999,
    Emax=999_999,
    capitals=1,
    clamp=0,
    flags=[],
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

_HINTS: Final = {
    "VT340": "Raise the leg quantity: it must convert to at least one lot and the instrument's min_qty "
    "(inverse legs: quantity × price / multiplier contracts, e.g. 100 USD per BTCUSD-PERP contract).",
    "VT341": "The leg's quote or limit gives no usable price; check the data for an empty side, "
    "or give a limit of at least one tick.",
    "VT342": "Fix the arbitrage parameters or the legs' instrument specs (see docs/arbitrage.md).",
}

# Roles of an arbitrage's orders.
_ENTRY: Final = "entry"
_HEDGE: Final = "hedge"
_UNWIND: Final = "unwind"
# How far a leg has got: what the release of the next leg waits for.
_WAITING: Final = 0
_ACCEPTED: Final = 1
_DONE: Final = 2

_ORDER_EVENTS: Final = (
    OrderAccepted,
    OrderRejected,
    OrderFilled,
    OrderCanceled,
    OrderExpired,
    OrderCancelRejected,
)

_OrderEvent = OrderAccepted | OrderRejected | OrderFilled | OrderCanceled | OrderExpired | OrderCancelRejected


class ArbitrageError(VibeError):
    """An arbitrage intent or configuration the engine cannot trade (VT340-VT342)."""

    code = "VT340"

    def __init__(self, message: str, *, code: str = "VT340") -> None:
        super().__init__(message, code=code, hint=_HINTS.get(code))


@dataclass(slots=True)
class _Leg:
    """One leg of the arbitrage in flight, in venue units (contracts for inverse legs)."""

    index: int
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    price: Decimal | None
    time_in_force: TimeInForce
    state: int = _WAITING
    filled: Decimal = _ZERO  # by its entry and hedge orders
    unwound: Decimal = _ZERO  # by its unwind orders
    hedges: int = 0
    unwinds: int = 0


@dataclass(slots=True)
class _Working:
    """An order of the arbitrage that has not reached a terminal status."""

    leg: _Leg
    role: str
    deadline: int
    canceling: bool = False


@dataclass(slots=True)
class _Arb:
    arb_id: str
    aligned: tuple[int, ...]
    legs: list[_Leg]
    released: int = 0
    unwinding: bool = False
    notes: list[str] | None = None

    def note(self, text: str) -> None:
        if self.notes is None:
            self.notes = []
        self.notes.append(text)

    @property
    def reason(self) -> str:
        return "; ".join(self.notes) if self.notes else ""


def venue_quantity(spec: InstrumentSpec, leg: LegOrder, quote: QuoteTick) -> Decimal:
    """The order quantity, in the venue's units, of a leg of ``leg.quantity`` base units.

    Spot and equity: the quantity; linear: ``quantity / multiplier`` contracts; inverse:
    ``quantity * touch / multiplier`` contracts, the touch being the ask for a buy and the bid for a
    sell. Floored to the lot size. Raises :class:`ArbitrageError` VT340 when that leaves less than
    one lot or less than ``min_qty``, VT341 when an inverse leg's touch is not a positive price.
    """
    qty = leg.quantity
    if spec.kind is InstrumentKind.INVERSE:
        px = quote.ask if leg.side is Side.BUY else quote.bid
        if not (px.is_finite() and px > 0):
            raise ArbitrageError(
                f"leg {leg.symbol}: no {'ask' if leg.side is Side.BUY else 'bid'} to convert "
                f"{qty} base units into contracts (quote {quote.bid} / {quote.ask})",
                code="VT341",
            )
        qty = _CTX.divide(_CTX.multiply(qty, px), spec.multiplier)
    elif spec.kind is InstrumentKind.LINEAR and spec.multiplier != _ONE:
        qty = _CTX.divide(qty, spec.multiplier)
    lot = spec.lot_size
    if lot > 0:
        floored = _CTX.multiply(_CTX.divide_int(qty, lot), lot)
        if floored != qty or qty is not leg.quantity:  # a quantity already on the grid keeps its digits
            qty = floored
    if qty <= 0 or qty < spec.min_qty:
        unit = "contracts" if spec.kind in (InstrumentKind.INVERSE, InstrumentKind.LINEAR) else "units"
        raise ArbitrageError(
            f"leg {leg.symbol} {leg.side} {leg.quantity}: {qty} {unit} after conversion and rounding "
            f"down to the lot {lot} (minimum {max(lot, spec.min_qty)})",
            code="VT340",
        )
    return qty


def _limit_on_grid(spec: InstrumentSpec, leg: LegOrder, limit: Decimal) -> Decimal:
    """The limit on the tick grid, rounded the safe way (:func:`engines.specs.round_to_tick`): a buy
    down, a sell up, so the order never pays more or asks less than the strategy said."""
    try:
        return round_to_tick(spec, limit, leg.side)
    except ValueError as exc:
        raise ArbitrageError(f"leg {leg.symbol} {leg.side}: limit {limit}: {exc}", code="VT341") from None


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
        params = spec.params
        if not isinstance(params, ArbitrageParams):
            raise ArbitrageError(
                f"strategy {spec.name!r}: parameters {type(params).__name__} do not derive from "
                "ArbitrageParams",
                code="VT342",
            )
        if params.window_ms < 0:
            raise ArbitrageError(
                f"strategy {spec.name!r}: window_ms {params.window_ms} is negative", code="VT342"
            )
        legs = tuple(spec.universe)
        self._specs: dict[str, InstrumentSpec] = {}
        for symbol in legs:
            leg_spec = specs.get(symbol)
            if leg_spec is None:
                raise UnknownInstrumentError(f"no instrument spec for leg {symbol!r} of {spec.name!r}")
            if not (leg_spec.multiplier.is_finite() and leg_spec.multiplier > 0):
                raise ArbitrageError(
                    f"leg {symbol}: multiplier {leg_spec.multiplier} is not positive", code="VT342"
                )
            self._specs[symbol] = leg_spec
        self.runtime = StrategyRuntime(spec, ledger, currency, seed, venues=venues, clock=clock)
        self.ledger = ledger
        self.orders = orders
        self.legs = legs
        self.window_ns: int = params.window_ms * _NS_PER_MS
        self.policy = LegPolicy(params.policy)
        self.next_leg_on: str = params.next_leg_on
        self.hedge_retries: int = params.hedge_retries
        self.timeout_ns: int = params.leg_timeout_ms * _NS_PER_MS
        self._gate = _DONE if params.next_leg_on == "filled" else _ACCEPTED
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
        self._arb: _Arb | None = None
        self._working: dict[str, _Working] = {}
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
        built: list[_Leg] = []
        for j, leg in enumerate(legs):  # every leg converted before any is sent: fail fast
            spec = self._specs[leg.symbol]
            qty = venue_quantity(spec, leg, quotes[leg.symbol])
            if leg.limit is None:
                order_type, price, tif = OrderType.MARKET, None, TimeInForce.GTC
            else:
                order_type, price, tif = (
                    OrderType.LIMIT,
                    _limit_on_grid(spec, leg, leg.limit),
                    TimeInForce.IOC,
                )
            built.append(_Leg(j, leg.symbol, leg.side, qty, order_type, price, tif))
        self._arbs += 1
        arb = _Arb(f"{self._name}-{self._arbs}", tuple(self._ts), built)
        self._clock = max(self._clock, ts)
        self._flush_skipped(ts)
        self._arb = arb
        self._blocked = True
        self._advance(arb)

    def _advance(self, arb: _Arb) -> None:
        """Send the arbitrage's next order if its state allows one, or resolve it."""
        if arb.unwinding:
            if self._working:
                return  # every order of the arbitrage ends before anything is reversed
            for leg in reversed(arb.legs):
                open_qty = _CTX.subtract(leg.filled, leg.unwound)
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
                self._submit(arb, leg, _UNWIND, side=leg.side.opposite, qty=open_qty)
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
                    _ENTRY,
                    side=leg.side,
                    qty=leg.quantity,
                    order_type=leg.order_type,
                    price=leg.price,
                )
            return
        if not self._working and all(leg.state == _DONE for leg in legs):
            self._resolve(arb, "hedged" if any(leg.hedges for leg in legs) else "filled")

    def _submit(
        self,
        arb: _Arb,
        leg: _Leg,
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
        self._working[cid] = _Working(leg, role, deadline)
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
                time_in_force=leg.time_in_force if role == _ENTRY else TimeInForce.GTC,
                arb_id=arb.arb_id,
                leg=leg.index,
                aligned_ts_ns=arb.aligned,
            )
        )

    def _on_order(
        self,
        event: _OrderEvent,
        working: _Working,
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
            if working.role == _UNWIND:
                leg.unwound = _CTX.add(leg.unwound, order.filled_qty)
            else:
                leg.filled = _CTX.add(leg.filled, order.filled_qty)
                if status is OrderStatus.FILLED:
                    leg.state = _DONE
                elif not arb.unwinding:
                    self._leg_failed(arb, leg, self._why(event, working, order.filled_qty, order.quantity))
                    if self._arb is None:  # halted
                        return
        elif (
            working.role != _UNWIND
            and leg.state == _WAITING
            and (order.venue_order_id is not None or order.filled_qty > 0)
        ):
            leg.state = _ACCEPTED
        self._advance(arb)

    def _why(
        self,
        event: OrderAccepted | OrderRejected | OrderFilled | OrderCanceled | OrderExpired,
        working: _Working,
        filled: Decimal,
        quantity: Decimal,
    ) -> str:
        leg = working.leg
        what = f"leg {leg.index} ({leg.symbol} {leg.side}"
        what += ")" if working.role == _ENTRY else f", {working.role})"
        if isinstance(event, OrderRejected):
            how = f"rejected ({event.code}: {event.reason})" if event.code else f"rejected ({event.reason})"
        elif isinstance(event, OrderCanceled):
            how = f"canceled ({event.reason})" if event.reason else "canceled"
        elif isinstance(event, OrderExpired):
            how = "expired"
        else:  # a fill or an ack that found the order already ended
            how = "ended"
        return f"{what} {how}, filled {filled} of {quantity}"

    def _leg_failed(self, arb: _Arb, leg: _Leg, why: str) -> None:
        leg.state = _WAITING
        arb.note(why)
        if self.policy is LegPolicy.HALT:
            arb.note("policy halt")
            self._halt(arb, "VT343")
            return
        if self.policy is LegPolicy.HEDGE:
            if leg.hedges < self.hedge_retries:
                leg.hedges += 1
                arb.note(f"hedge {leg.hedges} of leg {leg.index}")
                remaining = _CTX.subtract(leg.quantity, leg.filled)
                self._submit(arb, leg, _HEDGE, side=leg.side, qty=remaining)
                return
            arb.note(f"{leg.hedges} hedge(s) of leg {leg.index} spent: unwinding")
        arb.unwinding = True

    def _resolve(self, arb: _Arb, outcome: str) -> None:
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

    def _halt(self, arb: _Arb, code: str) -> None:
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
