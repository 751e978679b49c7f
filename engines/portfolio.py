"""The portfolio engine: target weights over a universe, rebalanced on a schedule, in two phases.

The engine keeps the latest :class:`~engines.model.events.Bar` of every universe symbol. When exchange time
moves past an instant that had bars (:meth:`PortfolioEngine.on_time`) and that instant starts a new
schedule period, it calls the strategy's ``rebalance(ctx, bars)``, checks the weights against the
portfolio contract and turns them into market orders:

* **Period of an instant**: the UTC date of its bars' *open* (``ts_event - interval_ns``): daily bars
  are stamped at the next midnight UTC, so a bar's open is its trading date. ``daily`` starts a
  period on every new date (on daily bars: every instant), ``weekly`` on a new ISO week (Monday),
  ``monthly`` on a new calendar month, ``on_demand`` at every instant with bars. The first instant
  with bars always starts one.
* **Sizing**: ``target = weight * equity / (close * multiplier)``, rounded toward zero to the
  instrument's lot (whole shares on KRX and US equities); the order is ``target - held - working``.
  A cash buffer caps the gross weight at ``1 - cash_buffer``; a drift threshold skips symbols whose
  current weight is within it of the target.
* **Two phases, sells first**: the sells go at the rebalance instant. The buys go at the first later
  instant at which every sell of the rebalance is terminal (filled, expired or rejected; their fills
  have passed through :meth:`PortfolioEngine.handle`), sized to the cash actually free then and
  never above the plan. A rebalance with no sells buys at once.

docs/portfolio.md states every rule with its reasons. Pure and deterministic: stdlib and msgspec only,
exact :class:`~decimal.Decimal` under a fixed context.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any, Final, cast

from engines.clock import REPLAY_CLOCK, Clock
from engines.decimals import PORTFOLIO_CONTEXT
from engines.errors import CapabilityError, ContractViolation, DeclarationError
from engines.ledger import Ledger
from engines.markets.specs import UnknownInstrumentError
from engines.model.commands import CancelOrder, SubmitOrder
from engines.model.enums import OrderType, Side, TimeInForce
from engines.model.events import ORDER_EVENTS, Bar, Event, OrderEvent, OrderFilled, Rebalanced
from engines.model.instruments import InstrumentKind, InstrumentSpec
from engines.orders.book import Orders
from engines.sdk import PortfolioStrategy
from engines.strategy.contract import check_weights
from engines.strategy.declaration import StrategySpec
from engines.strategy.runtime import OrderIds, Outgoing, StrategyRuntime, fill_of
from engines.units import NS_PER_DAY, NS_PER_MS

__all__ = [
    "DEFAULT_SCHEDULE",
    "MAX_SELL_WAIT",
    "SCHEDULES",
    "PortfolioEngine",
    "period_key",
]

SCHEDULES: Final = ("daily", "weekly", "monthly", "on_demand")
DEFAULT_SCHEDULE: Final = "monthly"
MAX_SELL_WAIT: Final = 5
"""Instants the buy phase waits for the sells of its rebalance; then it buys with the cash that is free."""

_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
_BPS: Final = Decimal(10_000)
_TURNOVER_QUANTUM: Final = Decimal("1e-12")


def period_key(schedule: str, open_ns: int) -> int:
    """The schedule period an instant whose bars opened at ``open_ns`` belongs to (UTC).

    ``daily``: the day number; ``weekly``: the ISO week, Monday to Sunday, counted from the week of
    1970-01-01 (a Thursday); ``monthly``: ``year * 12 + month``. ``on_demand`` has no periods: -1.
    """
    day = open_ns // NS_PER_DAY
    if schedule == "daily":
        return day
    if schedule == "weekly":
        return (day + 3) // 7  # day 0 is a Thursday: day -3 is the Monday of its week
    if schedule == "monthly":
        d = date.fromordinal(_EPOCH_ORDINAL + day)
        return d.year * 12 + d.month
    return -1


def period_start(schedule: str, key: int) -> int:
    """The UTC epoch ns at which period ``key`` of ``schedule`` begins (the inverse of period_key)."""
    if schedule == "daily":
        return key * NS_PER_DAY
    if schedule == "weekly":
        return (key * 7 - 3) * NS_PER_DAY  # the Monday that starts ISO week ``key``
    if schedule == "monthly":
        year, month = divmod(key - 1, 12)
        return (date(year, month + 1, 1).toordinal() - _EPOCH_ORDINAL) * NS_PER_DAY
    raise ValueError(f"schedule {schedule!r} has no periods")


def _floor(x: Decimal, lot: Decimal) -> Decimal:
    """``x`` rounded toward zero to a whole number of lots (as is when ``lot`` is not positive)."""
    if lot <= 0:
        return x
    return (x / lot).to_integral_value(rounding=ROUND_DOWN) * lot


@dataclass(slots=True)
class _Sent:
    """An order this engine asked for and has not seen terminal yet."""

    symbol: str
    side: Side
    quantity: Decimal
    ts_ns: int
    canceling: bool = False


@dataclass(slots=True)
class _Rebalance:
    """A rebalance whose sells are out and whose buys wait for them."""

    ts_ns: int
    sells: set[str]
    buys: list[tuple[str, Decimal]]
    waited: int = 0


@dataclass(slots=True)
class _Plan:
    sells: list[tuple[str, Decimal]] = field(default_factory=list)
    buys: list[tuple[str, Decimal]] = field(default_factory=list)
    notional: Decimal = _ZERO
    unpriced: list[str] = field(default_factory=list)
    too_small: list[str] = field(default_factory=list)


def _setting(params: object, cls: type[Any], name: str) -> object:
    """A parameter if the Params class declares it, else a class attribute, else None."""
    if name in getattr(type(params), "__struct_fields__", ()):
        return getattr(params, name)
    return getattr(cls, name, None)


def _fraction(value: object, name: str, strategy: str, *, upper: Decimal | None) -> Decimal:
    if value is None:
        return _ZERO
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise DeclarationError(
            f"strategy {strategy!r}: {name} must be a Decimal, not {type(value).__name__}", code="VT111"
        )
    fraction = Decimal(value)
    if not fraction.is_finite() or fraction < 0 or (upper is not None and fraction >= upper):
        bounds = f"within [0, {upper})" if upper is not None else "finite and at least 0"
        raise DeclarationError(f"strategy {strategy!r}: {name} {value} must be {bounds}", code="VT111")
    return fraction


class PortfolioEngine:
    """Rebalances a portfolio strategy's universe to its target weights (see the module docstring)."""

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
        if spec.strategy_type != "portfolio":
            raise ValueError(f"PortfolioEngine runs portfolio strategies, not {spec.strategy_type}")
        self.runtime = StrategyRuntime(
            spec, ledger, currency, seed, venues=venues, clock=clock, orders=orders
        )
        strategy = self.runtime.strategy
        assert isinstance(strategy, PortfolioStrategy)  # the declaration checked the type
        self._strategy: PortfolioStrategy[Any] = strategy
        self.name = spec.name
        self.universe = spec.universe
        self.ledger = ledger
        self.orders = orders
        self.currency = currency
        self.ids = OrderIds(spec.name)
        self.specs = self._check_specs(specs)
        cls = spec.cls
        schedule = _setting(spec.params, cls, "schedule")
        schedule = DEFAULT_SCHEDULE if schedule is None else str(schedule)
        if schedule not in SCHEDULES:
            raise DeclarationError(
                f"strategy {self.name!r}: schedule {schedule!r} is not one of {', '.join(SCHEDULES)}",
                code="VT111",
                hint="Set schedule to daily, weekly, monthly or on_demand.",
            )
        self.schedule = schedule
        self.rebalance_by_ns = self._rebalance_by(_setting(spec.params, cls, "rebalance_by_ms"))
        self.cash_buffer = _fraction(
            _setting(spec.params, cls, "cash_buffer"), "cash_buffer", self.name, upper=_ONE
        )
        self.drift_threshold = _fraction(
            _setting(spec.params, cls, "drift_threshold"), "drift_threshold", self.name, upper=None
        )
        self.min_weight: Decimal = getattr(cls, "min_weight", _ZERO)
        self.max_weight: Decimal = getattr(cls, "max_weight", _ONE)
        self.allow_short: bool = bool(getattr(cls, "allow_short", False))
        self._members = frozenset(self.universe)
        self._out: list[Outgoing] = []
        self._latest: dict[str, Bar] = {}
        self._bar_ts = -1  # the instant of the latest bar, and the open of that bar
        self._bar_open = 0
        self._period: int | None = None
        self._live: dict[str, _Sent] = {}
        self._pending: _Rebalance | None = None
        self._rates = {
            s: max(sp.maker_fee_bps, sp.taker_fee_bps, _ZERO) / _BPS for s, sp in self.specs.items()
        }
        ctx = self.runtime.ctx
        # the bar window of each symbol when the strategy declares history; None costs nothing
        self._windows: dict[str, deque[Bar]] | None = None
        if ctx._window(self.universe[0]) is not None:
            self._windows = {s: w for s in self.universe if (w := ctx._window(s)) is not None}
        self._on_fill = strategy.on_fill if self.runtime.overrides("on_fill") else None

    def _rebalance_by(self, value: object) -> int | None:
        """``rebalance_by_ms``: how long into a period the rebalance may wait for the period's first bar.

        None (the default) waits for the bar however long it takes. A value makes the schedule a
        timer: on a quiet market the rebalance happens that long after the period starts, on the
        latest bars known.
        """
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise DeclarationError(
                f"strategy {self.name!r}: rebalance_by_ms {value!r} must be a whole number of "
                "milliseconds >= 0",
                code="VT111",
            )
        if self.schedule == "on_demand":
            raise DeclarationError(
                f"strategy {self.name!r}: rebalance_by_ms needs a periodic schedule, not on_demand",
                code="VT111",
                hint="Set schedule to daily, weekly or monthly, or drop rebalance_by_ms.",
            )
        return value * NS_PER_MS

    def _check_specs(self, specs: Mapping[str, InstrumentSpec]) -> dict[str, InstrumentSpec]:
        out: dict[str, InstrumentSpec] = {}
        for symbol in self.universe:
            spec = specs.get(symbol)
            if spec is None:
                raise UnknownInstrumentError(f"strategy {self.name!r}: no instrument spec for {symbol!r}")
            if spec.kind is InstrumentKind.INVERSE or spec.quote != self.currency:
                raise CapabilityError(
                    f"strategy {self.name!r}: {symbol} is a {spec.kind} instrument quoted in {spec.quote}; "
                    f"a portfolio trades spot, equity and linear instruments quoted in {self.currency}",
                    hint="Build the universe from instruments quoted in one currency (no inverse contracts).",
                )
            out[symbol] = spec
        return out

    # ── the engine protocol ──

    def start(self, now_ns: int) -> None:
        self.runtime.call(self.runtime.strategy.on_start, now_ns)
        self._out.extend(self.runtime.drain_logs(now_ns))

    def handle(self, event: Event) -> None:
        """Keep the latest bar per symbol; note when an order of a rebalance reaches a terminal state."""
        if type(event) is Bar:
            symbol = event.instrument
            if symbol in self._members:
                self._latest[symbol] = event
                if self._windows is not None:
                    self._windows[symbol].append(event)
                ts = event.ts_event
                if ts != self._bar_ts:
                    self._bar_ts = ts
                    self._bar_open = ts - event.interval_ns
            return
        if isinstance(event, ORDER_EVENTS):
            cid = cast(OrderEvent, event).client_order_id
            if self._on_fill is not None and isinstance(event, OrderFilled):
                self._filled(event)
            if cid in self._live:
                order = self.orders.get(cid)
                if order is not None and order.status.is_terminal:
                    del self._live[cid]
                    if self._pending is not None:
                        self._pending.sells.discard(cid)

    def finish(self, now_ns: int) -> None:
        """Every decision was journalled as it was made; a rebalance the data never allowed (no bar
        of the universe ever came) is worth a warning."""
        if self._period is None:
            self._log(
                now_ns,
                "[engine] warning: rebalance is defined but the data had no bars for the universe, "
                "so it was never called",
            )

    def stop(self, now_ns: int) -> None:
        """The run ends: ``on_stop`` (it may only log)."""
        self._out.extend(self.runtime.stop(now_ns))

    def _filled(self, event: OrderFilled) -> None:
        """``on_fill`` for an execution of one of the strategy's orders; it may only log."""
        order = self.orders.get(event.client_order_id)
        if order is None or order.strategy != self.name or self._on_fill is None:
            return
        now = event.ts_event
        returned = self.runtime.call(self._on_fill, now, fill_of(event))
        if returned is not None:
            raise ContractViolation(
                f"strategy {self.name!r} at ts {now}: on_fill returned {type(returned).__name__}; "
                "a portfolio's on_fill may only log (orders come from rebalance)",
                code="VT315",
            )
        self._out.extend(self.runtime.drain_logs(now))

    def next_deadline(self) -> int | None:
        """With ``rebalance_by_ms``, the time the next period's rebalance is due without a bar."""
        if self.rebalance_by_ns is None or self._period is None:
            return None
        # keys are consecutive integers for every schedule (a December's year * 12 + 12, plus one,
        # is the next January's)
        return period_start(self.schedule, self._period + 1) + self.rebalance_by_ns

    def on_time(self, now_ns: int) -> None:
        """Every event stamped ``now_ns`` is in: run a waiting buy phase, then rebalance if one is due."""
        if self._pending is not None:
            self._advance(now_ns)
        if self._bar_ts != now_ns:
            due = self.next_deadline()
            if due is not None and now_ns >= due and self._latest:
                # a quiet market: the period's rebalance is due and its first bar has not come
                self._period = period_key(self.schedule, now_ns - self.rebalance_by_ns)  # type: ignore[operator]
                self._rebalance(now_ns)
            return  # no bar at this instant: nothing more to decide on
        key = period_key(self.schedule, self._bar_open)
        if self.schedule != "on_demand" and key == self._period:
            return
        self._period = key
        self._rebalance(now_ns)

    def drain(self) -> Sequence[Outgoing]:
        if not self._out:
            return ()
        out, self._out = self._out, []
        return out

    # ── rebalancing ──

    def _rebalance(self, now: int) -> None:
        runtime = self.runtime
        bars = {s: self._latest[s] for s in self.universe if s in self._latest}
        output = runtime.call(self._strategy.rebalance, now, bars)
        self._out.extend(runtime.drain_logs(now))
        if output is None:  # the strategy skips this rebalance (docs/portfolio.md)
            return
        weights = check_weights(
            self.name,
            now,
            output,
            self.universe,
            min_weight=self.min_weight,
            max_weight=self.max_weight,
            allow_short=self.allow_short,
        )
        if self._pending is not None:
            self._log(
                now,
                f"rebalance of ts {self._pending.ts_ns} superseded: {len(self._pending.sells)} sell(s) "
                "still working, its buys are dropped",
            )
            self._pending = None
        cancels = self._cancel_stale(now)
        with localcontext(PORTFOLIO_CONTEXT):
            equity = self.ledger.equity(self.currency)
            if equity <= 0:
                self._log(now, f"equity is {equity} {self.currency}: nothing to rebalance")
                self._out.extend(cancels)
                return
            plan = self._plan(weights, equity)
            turnover = (plan.notional / equity).quantize(_TURNOVER_QUANTUM, rounding=ROUND_HALF_EVEN)
        if plan.unpriced:
            self._log(now, f"no price yet for {', '.join(plan.unpriced)}: not traded at this rebalance")
        if plan.too_small:
            self._log(now, f"orders below the venue minimum skipped: {', '.join(plan.too_small)}")
        self._out.append(
            Rebalanced(
                ts_event=now,
                ts_init=self.runtime.clock.ts_init(now),
                strategy=self.name,
                weights=weights,
                orders=len(plan.sells) + len(plan.buys),
                turnover=turnover,
            )
        )
        self._out.extend(cancels)
        sells = {self._submit(symbol, Side.SELL, qty, now) for symbol, qty in plan.sells}
        pending = _Rebalance(now, sells, plan.buys)
        if sells:
            self._pending = pending
        else:
            self._buy(pending, now)

    def _cancel_stale(self, now: int) -> list[Outgoing]:
        """Cancel what earlier rebalances left working: it was sized for other prices and weights."""
        out: list[Outgoing] = []
        for cid, sent in self._live.items():
            if sent.ts_ns < now and not sent.canceling:
                sent.canceling = True
                out.append(
                    CancelOrder(
                        ts_event=now,
                        ts_init=self.runtime.clock.ts_init(now),
                        strategy=self.name,
                        venue=self.runtime.venues[sent.symbol],
                        client_order_id=cid,
                        instrument=sent.symbol,
                    )
                )
        return out

    def _working(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Per symbol, the (buy, sell) quantity still working in this engine's orders."""
        working: dict[str, tuple[Decimal, Decimal]] = {}
        for cid, sent in self._live.items():
            if sent.canceling:
                continue
            order = self.orders.get(cid)
            left = sent.quantity - (order.filled_qty if order is not None else _ZERO)
            buy, sell = working.get(sent.symbol, (_ZERO, _ZERO))
            working[sent.symbol] = (buy + left, sell) if sent.side is Side.BUY else (buy, sell + left)
        return working

    def _plan(self, weights: Mapping[str, Decimal], equity: Decimal) -> _Plan:
        """Orders that move the holdings to the weights, in universe order (runs under PORTFOLIO_CONTEXT)."""
        plan = _Plan()
        gross = sum((abs(w) for w in weights.values()), _ZERO)
        cap = _ONE - self.cash_buffer
        scale = cap / gross if gross > cap else _ONE
        working = self._working()
        drift = self.drift_threshold
        for symbol in self.universe:
            weight = weights[symbol] * scale
            held = self.ledger.position(symbol).qty
            buying, selling = working.get(symbol, (_ZERO, _ZERO))
            bar = self._latest.get(symbol)
            if bar is None or not bar.close.is_finite() or bar.close <= 0:
                if weight != 0 or held != 0:
                    plan.unpriced.append(symbol)
                continue
            spec = self.specs[symbol]
            unit = bar.close * spec.multiplier
            current = held + buying - selling
            if drift > 0 and abs(current * unit / equity - weight) <= drift:
                continue
            delta = _floor(weight * equity / unit, spec.lot_size) - current
            if delta > 0:
                qty = _floor(delta, spec.lot_size)
                side_orders = plan.buys
            elif delta < 0:
                qty = _floor(-delta, spec.lot_size)
                if spec.settles_in_cash:
                    qty = min(qty, held - selling)  # a cash instrument cannot be sold short
                side_orders = plan.sells
            else:
                continue
            if qty <= 0:
                continue
            if qty < spec.min_qty or qty * unit < spec.min_notional:
                plan.too_small.append(symbol)
                continue
            side_orders.append((symbol, qty))
            plan.notional += qty * unit
        return plan

    def _advance(self, now: int) -> None:
        """The buy phase of the waiting rebalance, once its sells are terminal (or waited for enough)."""
        pending = self._pending
        assert pending is not None
        if pending.sells:
            pending.waited += 1
            if pending.waited < MAX_SELL_WAIT:
                return
            self._log(
                now,
                f"{len(pending.sells)} sell(s) of the rebalance at ts {pending.ts_ns} still working after "
                f"{MAX_SELL_WAIT} instants: buying with the cash that is free",
            )
        self._pending = None
        self._buy(pending, now)

    def _buy(self, pending: _Rebalance, now: int) -> None:
        """Submit the planned buys, scaled down pro rata to the cash free now, never above the plan."""
        if not pending.buys:
            return
        with localcontext(PORTFOLIO_CONTEXT):
            lines: list[tuple[str, Decimal, Decimal]] = []
            total = _ZERO
            for symbol, qty in pending.buys:
                bar = self._latest[symbol]
                unit_cost = bar.close * self.specs[symbol].multiplier * (_ONE + self._rates[symbol])
                lines.append((symbol, qty, unit_cost))
                total += qty * unit_cost
            budget = self.ledger.cash(self.currency) - self._reserved()
            if total > budget:
                factor = max(budget, _ZERO) / total
                self._log(
                    now,
                    f"buys of the rebalance at ts {pending.ts_ns} need {total} {self.currency} with fees, "
                    f"{budget} is free: scaled by {factor.quantize(Decimal('1e-6'), rounding=ROUND_DOWN)}",
                )
                lines = [
                    (symbol, _floor(qty * factor, self.specs[symbol].lot_size), unit_cost)
                    for symbol, qty, unit_cost in lines
                ]
            for symbol, qty, _cost in lines:
                spec = self.specs[symbol]
                if (
                    qty <= 0
                    or qty < spec.min_qty
                    or qty * self._latest[symbol].close * spec.multiplier < spec.min_notional
                ):
                    continue
                self._submit(symbol, Side.BUY, qty, now)

    def _reserved(self) -> Decimal:
        """Cash the venue holds for this engine's working buys (at the latest close, with fees)."""
        total = _ZERO
        for cid, sent in self._live.items():
            if sent.side is not Side.BUY:
                continue
            order = self.orders.get(cid)
            left = sent.quantity - (order.filled_qty if order is not None else _ZERO)
            bar = self._latest[sent.symbol]
            total += left * bar.close * self.specs[sent.symbol].multiplier * (_ONE + self._rates[sent.symbol])
        return total

    def _submit(self, symbol: str, side: Side, qty: Decimal, now: int) -> str:
        cid = self.ids.next()
        self._live[cid] = _Sent(symbol, side, qty, now)
        self._out.append(
            SubmitOrder(
                ts_event=now,
                ts_init=self.runtime.clock.ts_init(now),
                strategy=self.name,
                venue=self.runtime.venues[symbol],
                client_order_id=cid,
                instrument=symbol,
                side=side,
                order_type=OrderType.MARKET,
                quantity=qty,
                time_in_force=TimeInForce.DAY,
            )
        )
        return cid

    def _log(self, now: int, message: str) -> None:
        self.runtime.ctx.log(message)
        self._out.extend(self.runtime.drain_logs(now))
