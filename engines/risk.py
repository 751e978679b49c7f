"""Pre-trade risk limits and the trading halt: a venue port that refuses what breaks a limit.

:class:`RiskGate` wraps the venue port the kernel sends orders to. The kernel journals the intent
(``OrderSubmitted``) before it calls ``submit``, so a refused order is journalled like any other: its
intent, then the :class:`~engines.model.events.OrderRejected` the gate answers at once, with a
``VT96x`` code and a reason that gives the numbers. A refused order never reaches the venue.

The checks, in this order (the first one broken refuses the order):

1. **halt** (VT966): while a :class:`~engines.model.events.TradingHalted` is in force no order
   leaves, whoever halted (the operator, the daemon, this gate). Cancels and queries always go out:
   a halt must never keep an order working that the operator wants gone.
2. **daily loss** (VT965): equity in the session currency at the opening of the UTC day, minus
   equity now. When it reaches the limit the order is refused *and* the gate answers a
   ``TradingHalted`` (``source="risk"``) after the reject and is halted from then on: a loss limit
   that refused only the orders which happen to arrive would let the next one through.
3. **order notional** (VT960, VT961): quantity × price (× the contract multiplier when the spec is
   known; an inverse contract's notional is quantity × multiplier, price-free), valued at the
   order's limit price, else the ledger's mark, else its stop price. An order nothing values is
   refused rather than passed unchecked.
4. **position per symbol** (VT962): the worst case on the order's side, the position plus the
   remaining quantity of every open order on that symbol and side, this one included (buy: position
   + open buys; sell: position − open sells), against the symbol's limit. Summing both sides into
   one net figure would let a sell make room for a buy that could fill alone. An order that does
   not move that worst case away from zero (it reduces) is always let through.
5. **open orders** (VT963): the orders open now, this one excluded; refused when it would be one
   more than the limit.
6. **orders per second per venue** (VT964): the orders this gate let through to the venue in the
   second up to the order's time (exchange time, so a replay decides the same way every time).

**State as a fold.** The halt is journalled (``TradingHalted``, ``TradingResumed``) and the driver
hands every journalled event to :meth:`RiskGate.observe`, on a restart too, so ``halted`` is a fold
of the journal and a halt survives restarts. The daily baseline follows the same events when the
driver calls ``observe`` after folding each one into the ledger: the day opens at the first event
(or check) stamped in it, cash moved in or out (``CashAdjusted``) shifts the baseline instead of
counting as profit or loss, and a resume counts the loss again from the equity at that moment (an
operator who resumes has seen the loss; otherwise the next order would halt again at once). The
rate window is not journalled: a restart starts it empty, which only ever lets fewer orders wait.

Limits are per session; a symbol or venue without its own limit takes the default, and a limit
that is None is not checked. Every figure is an exact :class:`~decimal.Decimal`; nothing here reads
a clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, localcontext
from typing import Final, Protocol

import msgspec

from engines.clock import Clock
from engines.decimals import RESERVATION_CONTEXT
from engines.errors import VibeError
from engines.ledger import Ledger
from engines.model.commands import CancelOrder, QueryOrder, SubmitOrder
from engines.model.enums import Side
from engines.model.events import (
    CashAdjusted,
    Event,
    MarketEvent,
    OrderRejected,
    TradingHalted,
    TradingResumed,
)
from engines.model.instruments import InstrumentKind, InstrumentSpec
from engines.orders.book import Orders
from engines.units import NS_PER_DAY, NS_PER_SECOND

__all__ = ["RISK_SOURCE", "WINDOW_NS", "Port", "RiskGate", "RiskLimits", "RiskLimitsError", "RiskRefusal"]

RISK_SOURCE: Final = "risk"
"""The ``source`` of a :class:`TradingHalted` this gate journals."""

WINDOW_NS: Final = NS_PER_SECOND
"""The span of the order rate window."""

_ZERO: Final = Decimal(0)


class RiskLimitsError(VibeError):
    """A limit outside its range (a negative amount, a NaN, a zero daily loss)."""

    code = "VT967"


def _check_amount(name: str, value: Decimal, *, positive: bool = False) -> None:
    # is_finite first: comparing a NaN traps instead of answering.
    if not value.is_finite() or value < 0 or (positive and value == 0):
        wanted = "above 0" if positive else "at least 0"
        raise RiskLimitsError(f"risk limit {name} = {value}: must be a finite amount {wanted}")


def _check_count(name: str, value: int) -> None:
    if value < 0:
        raise RiskLimitsError(f"risk limit {name} = {value}: must be a count of at least 0")


class RiskLimits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The pre-trade limits of a session. None (or a symbol or venue absent from its table with no
    default) means that limit is not checked; amounts are in the session currency."""

    #: the most one order may be worth (quantity × price × multiplier)
    max_order_notional: Decimal | None = None
    #: per symbol: the most the position may reach on either side, open orders counted
    position_limits: dict[str, Decimal] = msgspec.field(default_factory=dict)
    default_position_limit: Decimal | None = None
    #: the most orders open at once, all symbols
    max_open_orders: int | None = None
    #: per venue: the most orders sent in any one second
    orders_per_second: dict[str, int] = msgspec.field(default_factory=dict)
    default_orders_per_second: int | None = None
    #: the loss from the day's opening equity at which trading halts
    daily_loss_limit: Decimal | None = None

    def __post_init__(self) -> None:
        if self.max_order_notional is not None:
            _check_amount("max_order_notional", self.max_order_notional)
        for symbol, limit in self.position_limits.items():
            _check_amount(f"position_limits[{symbol!r}]", limit)
        if self.default_position_limit is not None:
            _check_amount("default_position_limit", self.default_position_limit)
        if self.max_open_orders is not None:
            _check_count("max_open_orders", self.max_open_orders)
        for venue, count in self.orders_per_second.items():
            _check_count(f"orders_per_second[{venue!r}]", count)
        if self.default_orders_per_second is not None:
            _check_count("default_orders_per_second", self.default_orders_per_second)
        if self.daily_loss_limit is not None:
            _check_amount("daily_loss_limit", self.daily_loss_limit, positive=True)

    def any_set(self) -> bool:
        """Whether any limit is checked at all (a driver may then skip the gate)."""
        return bool(
            self.max_order_notional is not None
            or self.position_limits
            or self.default_position_limit is not None
            or self.max_open_orders is not None
            or self.orders_per_second
            or self.default_orders_per_second is not None
            or self.daily_loss_limit is not None
        )

    def position_limit(self, symbol: str) -> Decimal | None:
        return self.position_limits.get(symbol, self.default_position_limit)

    def rate_limit(self, venue: str) -> int | None:
        return self.orders_per_second.get(venue, self.default_orders_per_second)


class Port(Protocol):
    """What the gate wraps: the shape of :class:`engines.kernel.VenuePort`, restated here because
    the kernel sits above this module (the gate is handed to it, not the other way round)."""

    def submit(self, cmd: SubmitOrder, at_ns: int) -> Sequence[Event]: ...

    def cancel(self, cmd: CancelOrder, at_ns: int) -> Sequence[Event]: ...

    def query(self, cmd: QueryOrder, at_ns: int) -> Sequence[Event]: ...

    def on_market(self, event: MarketEvent) -> Sequence[Event]: ...


class RiskRefusal(msgspec.Struct, frozen=True):
    """Why the gate refuses an order: the ``VT96x`` code, the reason (journalled as ``risk: reason``
    on the reject, and as is on a halt, whose ``source`` says ``risk``), and whether it halts."""

    code: str
    reason: str
    halts: bool = False


def _day(ts_ns: int) -> int:
    return ts_ns // NS_PER_DAY


class RiskGate:
    """A venue port that lets an order through only within the limits, and not at all while halted."""

    def __init__(
        self,
        inner: Port,
        limits: RiskLimits,
        *,
        ledger: Ledger,
        orders: Orders,
        currency: str,
        clock: Clock,
        specs: Mapping[str, InstrumentSpec] | None = None,
    ) -> None:
        self.inner = inner
        self.limits = limits
        self.ledger = ledger
        self.orders = orders
        self.currency = currency
        self.clock = clock
        self.specs: Mapping[str, InstrumentSpec] = specs if specs is not None else {}
        self.halted = False
        #: who halted and why ("source: reason"), while halted; None otherwise
        self.halt_reason: str | None = None
        # The UTC day the loss is counted in, and the equity it is counted from.
        self._day: int | None = None
        self._baseline = _ZERO
        # Per venue: the times of the orders let through within the last window.
        self._sent: dict[str, list[int]] = {}

    # ── the halt, as a fold of the journal ──

    def observe(self, event: Event) -> None:
        """Fold one journalled event, after the ledger has folded it. Idempotent for the halt: the
        gate's own ``TradingHalted`` comes back here too."""
        if self.limits.daily_loss_limit is not None:
            day = _day(event.ts_event)
            if self._day is None or day > self._day:
                self._open_day(day)
            elif isinstance(event, CashAdjusted) and event.currency == self.currency:
                # money moved in or out is not a trading result: the ledger's equity has it already
                self._baseline += event.amount
        if isinstance(event, TradingHalted):
            self.halted = True
            self.halt_reason = f"{event.source}: {event.reason}" if event.source else event.reason
        elif isinstance(event, TradingResumed):
            self.halted = False
            self.halt_reason = None
            if self._day is not None:
                self._baseline = self.ledger.equity(self.currency)

    def _open_day(self, day: int) -> None:
        self._day = day
        self._baseline = self.ledger.equity(self.currency)

    # ── the port ──

    def submit(self, cmd: SubmitOrder, at_ns: int) -> Sequence[Event]:
        refusal = self.check(cmd, at_ns)
        if refusal is None:
            self._note_sent(cmd.venue, at_ns)
            return self.inner.submit(cmd, at_ns)
        ts_init = self.clock.ts_init(at_ns)
        facts: list[Event] = [
            OrderRejected(
                ts_event=at_ns,
                ts_init=ts_init,
                client_order_id=cmd.client_order_id,
                reason=f"{RISK_SOURCE}: {refusal.reason}",
                code=refusal.code,
            )
        ]
        if refusal.halts:
            facts.append(
                TradingHalted(
                    ts_event=at_ns,
                    ts_init=ts_init,
                    reason=refusal.reason,
                    source=RISK_SOURCE,
                    code=refusal.code,
                )
            )
            # halted at once, not when the driver hands the event back: an order the kernel sends
            # before then must not slip through
            self.halted = True
            self.halt_reason = f"{RISK_SOURCE}: {refusal.reason}"
        return facts

    def cancel(self, cmd: CancelOrder, at_ns: int) -> Sequence[Event]:
        return self.inner.cancel(cmd, at_ns)

    def query(self, cmd: QueryOrder, at_ns: int) -> Sequence[Event]:
        return self.inner.query(cmd, at_ns)

    def on_market(self, event: MarketEvent) -> Sequence[Event]:
        return self.inner.on_market(event)

    # ── the checks ──

    def check(self, cmd: SubmitOrder, at_ns: int) -> RiskRefusal | None:
        """The first limit ``cmd`` breaks at ``at_ns``, or None; changes nothing but the day's
        opening (the first check of a day is its opening when no event opened it)."""
        if self.halted:
            return RiskRefusal(
                "VT966",
                f"trading is halted ({self.halt_reason}); no new order leaves until it is resumed",
            )
        with localcontext(RESERVATION_CONTEXT):
            return (
                self._check_daily_loss(at_ns)
                or self._check_notional(cmd)
                or self._check_position(cmd)
                or self._check_open_orders(cmd)
                or self._check_rate(cmd, at_ns)
            )

    def _check_daily_loss(self, at_ns: int) -> RiskRefusal | None:
        limit = self.limits.daily_loss_limit
        if limit is None:
            return None
        day = _day(at_ns)
        if self._day is None or day > self._day:
            self._open_day(day)
        equity = self.ledger.equity(self.currency)
        loss = self._baseline - equity
        if loss < limit:
            return None
        return RiskRefusal(
            "VT965",
            f"daily loss {loss} {self.currency} (equity {self._baseline} at the day's opening, "
            f"{equity} now) reached the daily loss limit {limit} {self.currency}; trading is halted",
            halts=True,
        )

    def _check_notional(self, cmd: SubmitOrder) -> RiskRefusal | None:
        limit = self.limits.max_order_notional
        if limit is None:
            return None
        spec = self.specs.get(cmd.instrument)
        multiplier = spec.multiplier if spec is not None else Decimal(1)
        if spec is not None and spec.kind is InstrumentKind.INVERSE:
            # an inverse contract is worth its face value in the quote currency, whatever the price
            notional = cmd.quantity * multiplier
            valued = f"{cmd.quantity} contracts × {multiplier}"
        else:
            price, what = self._valuation_price(cmd)
            if price is None:
                return RiskRefusal(
                    "VT961",
                    f"{cmd.order_type} order for {cmd.quantity} {cmd.instrument} has no limit "
                    "price and the symbol has no mark yet, so its notional cannot be checked against "
                    f"max_order_notional {limit}",
                )
            notional = cmd.quantity * price * multiplier
            valued = f"{cmd.quantity} × {price} ({what})" + (f" × {multiplier}" if multiplier != 1 else "")
        if notional <= limit:
            return None
        return RiskRefusal(
            "VT960",
            f"order notional {notional} ({valued}) for {cmd.instrument} is above max_order_notional {limit}",
        )

    def _valuation_price(self, cmd: SubmitOrder) -> tuple[Decimal | None, str]:
        if cmd.price is not None:
            return cmd.price, "limit price"
        mark = self.ledger.mark(cmd.instrument)
        if mark is not None:
            return mark, "mark"
        if cmd.trigger_price is not None:
            return cmd.trigger_price, "stop price"
        return None, ""

    def _check_position(self, cmd: SubmitOrder) -> RiskRefusal | None:
        symbol = cmd.instrument
        limit = self.limits.position_limit(symbol)
        if limit is None:
            return None
        position = self.ledger.position(symbol).qty
        buying = cmd.side is Side.BUY
        same_side = _ZERO
        for order in self.orders.open_orders():
            if order.instrument != symbol or order.client_order_id == cmd.client_order_id:
                continue
            if (order.side is Side.BUY) == buying:
                same_side += order.quantity - order.filled_qty
        # this order is counted from the command: it may not be in the book yet, and it has no fills
        without = position + same_side if buying else position - same_side
        projected = without + cmd.quantity if buying else without - cmd.quantity
        if abs(projected) <= limit or abs(projected) <= abs(without):
            return None
        side = "buy" if buying else "sell"
        return RiskRefusal(
            "VT962",
            f"{side} {cmd.quantity} {symbol} could take the position to {projected} (position "
            f"{position}, open {side}s {same_side}), beyond the position limit {limit}",
        )

    def _check_open_orders(self, cmd: SubmitOrder) -> RiskRefusal | None:
        limit = self.limits.max_open_orders
        if limit is None:
            return None
        open_now = sum(1 for o in self.orders.open_orders() if o.client_order_id != cmd.client_order_id)
        if open_now < limit:
            return None
        return RiskRefusal(
            "VT963",
            f"{open_now} orders are open, max_open_orders is {limit}; this one would be one more",
        )

    def _check_rate(self, cmd: SubmitOrder, at_ns: int) -> RiskRefusal | None:
        limit = self.limits.rate_limit(cmd.venue)
        if limit is None:
            return None
        since = at_ns - WINDOW_NS
        # an order stamped after this one (a leg released by a later fact) counts too: it was sent
        recent = sum(1 for t in self._sent.get(cmd.venue, ()) if t > since)
        if recent < limit:
            return None
        return RiskRefusal(
            "VT964",
            f"{recent} orders went to {cmd.venue} in the last second, its limit is {limit} per second",
        )

    def _note_sent(self, venue: str, at_ns: int) -> None:
        if self.limits.rate_limit(venue) is None:
            return
        sent = self._sent.setdefault(venue, [])
        sent.append(at_ns)
        # keep only what can still count: the window ends at the latest time seen
        horizon = max(sent) - WINDOW_NS
        sent[:] = [t for t in sent if t > horizon]
