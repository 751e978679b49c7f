"""The simulated venue: pure, deterministic matching of orders against recorded market data.

:class:`SimVenue` serves replay and paper trading. It takes commands (:meth:`SimVenue.submit`,
:meth:`SimVenue.cancel`) and market events (:meth:`SimVenue.on_market`) and answers with the
order events a venue would send. It reads the account (a :class:`~engines.ledger.Ledger`) to
refuse orders the account cannot pay for, and never changes it: the caller folds the returned
events into the journal, the ledger and the order book like any venue's.

docs/sim.md states every rule with worked numbers; in short:

* **Time.** An order submitted at ``now_ns`` reaches the venue at ``now_ns + latency`` (per
  market). Its ack or reject, and a cancel's answer, are stamped with that time. It can fill only
  against quotes and trades with ``ts_event`` at or after it, and against bars whose *open*
  (``ts_event - interval_ns``) is at or after it. Every event carries ``ts_init == ts_event``.
* **Bars**: market orders fill in full at the next bar's open; limits and stops by the bar's range.
* **Quotes**: takers fill at the touch up to the displayed size, resting limits at their limit
  when a quote crosses them; IOC and FOK act on the first quote the order sees.
* **Trades**: resting limits fill at their limit on a trade strictly through them, up to its size;
  with no quotes for the instrument, takers fill at the trade price, up to its size.
* **Fees** ``bps / 10_000 * notional``, exact or rounded half-even to 1e-18 (inverse contracts);
  sells add the spec's ``sell_tax_bps`` (the KRX securities transaction tax).
* **KRX rules** (``tick_scheme == "krx"``): banded ticks, daily limits of ±30 % of the previous
  session's close (``PRICE_LIMIT``), the regular session 09:00-15:30 KST on tick data
  (``MARKET_CLOSED``).
* **Rejects** carry a short code (:class:`RejectCode`); injected rejects are deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_05UP,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from enum import StrEnum
from typing import Final, NamedTuple

from engines.clock import REPLAY_CLOCK, Clock
from engines.events import (
    Bar,
    CancelOrder,
    Liquidity,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderStatusReport,
    OrderType,
    QueryOrder,
    QuoteTick,
    ReportedStatus,
    Side,
    SubmitOrder,
    TimeInForce,
    TradeTick,
)
from engines.instruments import InstrumentKind, InstrumentSpec
from engines.ledger import Ledger
from engines.specs import daily_price_band, on_tick_grid, tick_at

__all__ = [
    "FEE_QUANTUM",
    "KRX_SESSION_NS",
    "TRADING_DAY_OFFSET_NS",
    "RejectCode",
    "SimVenue",
    "splitmix64",
]


class RejectCode(StrEnum):
    """The ``code`` of every :class:`~engines.events.OrderRejected` the sim sends."""

    DUPLICATE_ORDER_ID = "DUPLICATE_ORDER_ID"
    UNKNOWN_INSTRUMENT = "UNKNOWN_INSTRUMENT"
    MARKET_CLOSED = "MARKET_CLOSED"
    INVALID_QTY = "INVALID_QTY"
    INVALID_PRICE = "INVALID_PRICE"
    LOT_SIZE = "LOT_SIZE"
    MIN_QTY = "MIN_QTY"
    TICK_SIZE = "TICK_SIZE"
    PRICE_LIMIT = "PRICE_LIMIT"
    NO_PRICE = "NO_PRICE"
    MIN_NOTIONAL = "MIN_NOTIONAL"
    INSUFFICIENT_CASH = "INSUFFICIENT_CASH"
    INSUFFICIENT_POSITION = "INSUFFICIENT_POSITION"
    REDUCE_ONLY = "REDUCE_ONLY"
    INJECTED = "INJECTED"


def _context(rounding: str) -> Context:
    # Every field spelled out: Context() fills omitted ones from decimal.DefaultContext.
    return Context(
        prec=60,
        rounding=rounding,
        Emin=-999_999,
        Emax=999_999,
        capitals=1,
        clamp=0,
        flags=[],
        traps=[InvalidOperation, DivisionByZero, Overflow],
    )


_CONTEXT: Final = _context(ROUND_HALF_EVEN)
# Divide under ROUND_05UP with digits to spare, then quantize half-even: correctly rounded.
_DIVISION_CONTEXT: Final = _context(ROUND_05UP)
# The running sums of what working orders hold (see _Held): sums and differences of finite
# Decimals never round under it.
_EXACT: Final = Context(
    prec=MAX_PREC,
    rounding=ROUND_HALF_EVEN,
    Emin=MIN_EMIN,
    Emax=MAX_EMAX,
    capitals=1,
    clamp=0,
    flags=[],
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

FEE_QUANTUM: Final = Decimal("1e-18")
"""A fee whose exact value does not terminate (inverse contracts) is rounded half-even to this."""

_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
_BPS: Final = Decimal(10_000)
_MASK64: Final = (1 << 64) - 1
_TWO64: Final = Decimal(1 << 64)

_NS_PER_HOUR: Final = 3_600 * 10**9
_NS_PER_DAY: Final = 24 * _NS_PER_HOUR

TRADING_DAY_OFFSET_NS: Final[Mapping[str, int]] = {
    "krx": 9 * _NS_PER_HOUR,  # KST, UTC+9: the day turns at 00:00 KST
    "us-equities": -5 * _NS_PER_HOUR,  # EST; under EDT the turn is 01:00 local, still no session
}
"""Offset from UTC of the clock whose midnight ends a DAY order on tick data; other markets: UTC."""

_KST_OFFSET_NS: Final = 9 * _NS_PER_HOUR
KRX_SESSION_NS: Final = (9 * _NS_PER_HOUR, 15 * _NS_PER_HOUR + 30 * 60 * 10**9)
"""KRX's regular session, [09:00, 15:30) KST, as ns after local midnight."""
_EPOCH_WEEKDAY: Final = 3  # 1970-01-01 was a Thursday (Monday = 0)

_IMMEDIATE: Final = (TimeInForce.IOC, TimeInForce.FOK)
_NOTHING: Final[tuple[OrderEvent, ...]] = ()


def splitmix64(state: int) -> tuple[int, int]:
    """One step of SplitMix64: ``(next_state, output)``, both unsigned 64-bit integers."""
    state = (state + 0x9E3779B97F4A7C15) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, z ^ (z >> 31)


def _valid(x: Decimal) -> bool:
    # is_finite first: comparing a NaN traps instead of answering.
    return x.is_finite() and x > 0


def _multiple(x: Decimal, step: Decimal) -> bool:
    """Whether ``x`` is a whole multiple of ``step`` (any ``x`` when ``step`` is not positive)."""
    if step <= 0:
        return True
    try:
        return _CONTEXT.remainder(x, step) == 0
    except InvalidOperation:  # the quotient needs more than 60 digits: not on any sane grid
        return False


def _market_of(instrument: str) -> str:
    return instrument.split(":", 1)[0]


def _divide(dividend: Decimal, divisor: Decimal) -> Decimal:
    """Exact when the quotient terminates within 60 digits, else rounded half-even to 1e-18."""
    quotient = _DIVISION_CONTEXT.divide(dividend, divisor)
    rounded = quotient.quantize(FEE_QUANTUM, rounding=ROUND_HALF_EVEN, context=_DIVISION_CONTEXT)
    # An inexact 05UP quotient never ends in 0, so it equals its quantized self only when exact.
    return quotient if rounded == quotient else rounded


@dataclass(slots=True)
class _Held:
    """The running sum of what the working orders of one group hold: the cash (with the fee
    reservation) of the cash-settled buys of one quote currency, or the quantity of the sells of
    one instrument.

    :meth:`value` is ``sum(terms, Decimal(0))`` under ``_CONTEXT`` exactly as a scan of the working
    orders computes it, digits and exponent alike: the exact sum of the terms, carried at the
    exponent such a sum has, ``min(0, exponents of the terms)``. ``total`` is the exact sum of the
    regular terms (finite and not signed), ``exponents`` counts them by exponent; ``irregular``
    counts the other terms, which only a scan can add up as the scan does.
    """

    total: Decimal = _ZERO
    exponents: dict[int, int] = field(default_factory=dict)
    irregular: int = 0

    def add(self, term: Decimal) -> None:
        if term.is_finite() and not term.is_signed():
            exponents = self.exponents
            exponent = int(term.as_tuple().exponent)
            exponents[exponent] = exponents.get(exponent, 0) + 1
            self.total = _EXACT.add(self.total, term)
        else:
            self.irregular += 1

    def remove(self, term: Decimal) -> None:
        if term.is_finite() and not term.is_signed():
            exponents = self.exponents
            exponent = int(term.as_tuple().exponent)
            left = exponents[exponent] - 1
            if left:
                exponents[exponent] = left
            else:
                del exponents[exponent]
            self.total = _EXACT.subtract(self.total, term)
        else:
            self.irregular -= 1

    def value(self) -> Decimal | None:
        """The scan's sum, or None when only a scan can tell what it is.

        With terms that are all finite and not signed, every partial sum of the scan lies between
        0 and the total and is a multiple of ``10**exponent``: when the total has at most
        ``_CONTEXT.prec`` digits at that exponent, no step of the scan rounds, and its sum is the
        exact total at that exponent. Otherwise (more digits, or an irregular term) it is None.
        """
        if self.irregular:
            return None
        exponent = min(min(self.exponents, default=0), 0)
        total = self.total
        if total and total.adjusted() - exponent >= _CONTEXT.prec:
            return None
        return total.quantize(Decimal((0, (1,), exponent)), context=_EXACT)


class _Closed(NamedTuple):
    """An order that ended: what a cancel or a status query is answered with afterwards."""

    status: str  # a ReportedStatus value: filled, canceled, expired or rejected
    cmd: SubmitOrder
    filled: Decimal
    venue_order_id: str | None


@dataclass(slots=True)
class _Order:
    """A working order, as the venue sees it (mutable: it lives only inside the venue)."""

    cmd: SubmitOrder
    spec: InstrumentSpec
    active_ns: int
    day: int
    reserve_px: Decimal  # the price the reject checks used: cash and position stay reserved at it
    filled: Decimal = _ZERO
    triggered: bool = True  # False for a stop order until its stop is hit
    fresh: bool = True  # not yet evaluated against the book since it arrived (or triggered)
    # What the order holds while it works (see SimVenue._hold): its term in ``group``'s running
    # sum, and for a buy the factor ``1 + reserve rate`` of that term. No group: it holds nothing.
    group: _Held | None = None
    held: Decimal = _ZERO
    factor: Decimal = _ONE
    venue_order_id: str = ""

    @property
    def remaining(self) -> Decimal:
        return self.cmd.quantity - self.filled

    @property
    def is_buy(self) -> bool:
        return self.cmd.side is Side.BUY

    @property
    def takes(self) -> bool:
        """A market order, or a triggered stop-market: takes whatever price the book offers."""
        return self.cmd.order_type in (OrderType.MARKET, OrderType.STOP)

    @property
    def limit(self) -> Decimal:
        assert self.cmd.price is not None  # checked at submit for LIMIT and STOP_LIMIT
        return self.cmd.price

    @property
    def stop(self) -> Decimal:
        assert self.cmd.trigger_price is not None  # checked at submit for STOP and STOP_LIMIT
        return self.cmd.trigger_price


@dataclass(slots=True)
class _Tape:
    """What the KRX rules remember of an instrument's data: the closes of its trading days (KST).

    An event's day is the KST date of its ``ts_event``, or of its open for a bar. The events are
    kept as they come and priced only when a day turns or an order asks for its band, so that the
    replay's fast path pays a few integer operations per KRX event. A day's close is the price of
    its last trade or bar; with no trade that day, of its last quote: the mid, or the one side a
    quote locked at a limit shows.
    """

    day: int
    latest: TradeTick | QuoteTick | Bar  # the latest event of ``day``: bars of a day skip the session
    trade: TradeTick | Bar | None = None  # the day's last trade or bar
    quote: QuoteTick | None = None  # the day's last quote
    base: Decimal | None = None  # the close of the last earlier day with a price

    def close(self) -> Decimal | None:
        """The close of :attr:`day` so far, else the close of the day before it."""
        trade = self.trade
        if trade is not None:
            price = trade.close if isinstance(trade, Bar) else trade.price
            if _valid(price):
                return price
        quote = self.quote
        if quote is not None:
            bid_ok, ask_ok = _valid(quote.bid), _valid(quote.ask)
            if bid_ok and ask_ok:
                return _CONTEXT.divide(_CONTEXT.add(quote.bid, quote.ask), 2)
            if bid_ok or ask_ok:
                return quote.bid if bid_ok else quote.ask
        return self.base

    def base_for(self, day: int) -> Decimal | None:
        """The base price of ``day``: the close of the last day before it the tape has seen."""
        if day > self.day:
            return self.close()
        if day == self.day:
            return self.base
        return None  # a day before the data: unknown

    @property
    def daily(self) -> bool:
        """Whether the latest event is a bar of one day or more (no session check on those)."""
        latest = self.latest
        return isinstance(latest, Bar) and latest.interval_ns >= _NS_PER_DAY


class SimVenue:
    """A deterministic venue: the same calls in the same order give the same events, always.

    ``specs`` maps each tradable symbol to its spec. ``account`` is read (cash and positions)
    for the reject checks and never written. ``fee_bps`` replaces both the maker and the taker
    rate of every spec. ``latency_ns`` is one latency for all, or a mapping from symbol or market
    to latency (symbol first, then market, else 0). ``seed`` seeds the SplitMix64 stream that
    ``reject_prob`` draws from; ``reject_every=n`` rejects every n-th order that passes the checks.
    """

    def __init__(
        self,
        specs: Mapping[str, InstrumentSpec],
        account: Ledger,
        *,
        fee_bps: Decimal | None = None,
        latency_ns: int | Mapping[str, int] = 0,
        seed: int = 0,
        reject_every: int | None = None,
        reject_prob: Decimal | None = None,
        clock: Clock = REPLAY_CLOCK,
    ) -> None:
        self._specs: dict[str, InstrumentSpec] = dict(specs)
        # stamps ts_init of the venue's answers: exchange time in a backtest, the wall clock in paper
        self._clock = clock
        self._account = account
        if fee_bps is not None and not fee_bps.is_finite():
            raise ValueError(f"fee_bps must be finite, not {fee_bps}")
        self._fee_bps = fee_bps
        if isinstance(latency_ns, int):
            self._latency_default, self._latency = latency_ns, {}
        else:
            self._latency_default, self._latency = 0, dict(latency_ns)
        if min([self._latency_default, *self._latency.values()]) < 0:
            raise ValueError("latency_ns must not be negative")
        if reject_every is not None and reject_every < 1:
            raise ValueError(f"reject_every must be at least 1, not {reject_every}")
        self._reject_every = reject_every
        self._reject_threshold: int | None = None
        if reject_prob is not None:
            if not (reject_prob.is_finite() and 0 <= reject_prob <= 1):
                raise ValueError(f"reject_prob must be within [0, 1], not {reject_prob}")
            with localcontext(_CONTEXT):
                self._reject_threshold = int(reject_prob * _TWO64)
        self._rng = seed & _MASK64

        self._working: dict[str, _Order] = {}  # in acceptance order: the matching priority
        # client order id -> how it ended, for cancel answers and status queries
        self._closed: dict[str, _Closed] = {}
        # What the working orders hold, kept as they come and go (see _check_account): the cash
        # of cash-settled buys by quote currency, the quantity of sells by instrument.
        self._cash_held: dict[str, _Held] = {}
        self._qty_held: dict[str, _Held] = {}
        self._orders_accepted = 0
        self._trades = 0
        self._passed_checks = 0
        self._bid_ref: dict[str, Decimal] = {}
        self._ask_ref: dict[str, Decimal] = {}
        self._quoted: set[str] = set()  # instruments that have had a quote: quotes make takers
        # Market events seen while no order was working, per instrument, latest only: their
        # prices are noted when an order needs them, not on every tick of a quiet replay.
        self._unnoted: dict[str, TradeTick | QuoteTick | Bar] = {}
        # Instruments under the KRX rules (price limits, session), and the closes of their days.
        self._krx = frozenset(s for s, spec in self._specs.items() if spec.tick_scheme == "krx")
        self._tapes: dict[str, _Tape] = {}

    # ── commands ──

    def submit(self, cmd: SubmitOrder, now_ns: int) -> list[OrderEvent]:
        """Accept (``venue_order_id`` ``SIM-<n>``) or reject the order, stamped at its arrival."""
        with localcontext(_CONTEXT):
            ts = now_ns + self._latency_for(cmd.instrument)
            refusal = self._check(cmd, ts)
            if refusal is None:
                refusal = self._injected()
            if refusal is not None:
                code, reason = refusal
                if code is not RejectCode.DUPLICATE_ORDER_ID:
                    self._closed[cmd.client_order_id] = _Closed("rejected", cmd, _ZERO, None)
                return [
                    OrderRejected(
                        ts_event=ts,
                        ts_init=self._clock.ts_init(ts),
                        client_order_id=cmd.client_order_id,
                        reason=reason,
                        code=code.value,
                    )
                ]
            spec = self._specs[cmd.instrument]
            self._orders_accepted += 1
            order = self._working[cmd.client_order_id] = _Order(
                cmd=cmd,
                spec=spec,
                active_ns=ts,
                day=self._trading_day(cmd.instrument, ts),
                reserve_px=self._check_price(cmd) or _ZERO,
                triggered=cmd.order_type not in (OrderType.STOP, OrderType.STOP_LIMIT),
                venue_order_id=f"SIM-{self._orders_accepted}",
            )
            self._hold(order)
            return [
                OrderAccepted(
                    ts_event=ts,
                    ts_init=self._clock.ts_init(ts),
                    client_order_id=cmd.client_order_id,
                    venue_order_id=order.venue_order_id,
                )
            ]

    def cancel(self, cmd: CancelOrder, now_ns: int) -> list[OrderEvent]:
        """Cancel a working order at once (no fill can race it), stamped at the request's arrival."""
        ts = now_ns + self._latency_for(cmd.instrument)
        cid = cmd.client_order_id
        order = self._working.get(cid)
        if order is None or order.cmd.instrument != cmd.instrument:
            closed = self._closed.get(cid)
            if order is not None:
                reason = f"order is for {order.cmd.instrument}, not {cmd.instrument}"
            elif closed is not None:
                reason = f"order is already {closed.status}"
            else:
                reason = "unknown order"
            return [
                OrderCancelRejected(
                    ts_event=ts, ts_init=self._clock.ts_init(ts), client_order_id=cid, reason=reason
                )
            ]
        self._close(order, "canceled")
        return [
            OrderCanceled(
                ts_event=ts, ts_init=self._clock.ts_init(ts), client_order_id=cid, reason="canceled"
            )
        ]

    def query(self, cmd: QueryOrder, now_ns: int) -> list[OrderStatusReport]:
        """The order's state as the venue knows it, stamped at the request's arrival: working,
        how it ended, or ``not_found`` for an order the venue never had."""
        ts = now_ns + self._latency_for(cmd.instrument)
        cid = cmd.client_order_id
        working, closed = self._working.get(cid), self._closed.get(cid)
        venue_order_id: str | None
        if working is not None:
            sent, filled, venue_order_id = working.cmd, working.filled, working.venue_order_id
            status = ReportedStatus.PARTIALLY_FILLED if filled else ReportedStatus.ACCEPTED
        elif closed is not None:
            sent, filled, venue_order_id = closed.cmd, closed.filled, closed.venue_order_id
            status = ReportedStatus(closed.status)
        else:
            return [
                OrderStatusReport(
                    ts_event=ts,
                    ts_init=self._clock.ts_init(ts),
                    client_order_id=cid,
                    venue=cmd.venue,
                    instrument=cmd.instrument,
                    side=cmd.side,
                    order_type=cmd.order_type,
                    quantity=cmd.quantity,
                    status=ReportedStatus.NOT_FOUND,
                    filled_qty=_ZERO,
                )
            ]
        return [
            OrderStatusReport(
                ts_event=ts,
                ts_init=self._clock.ts_init(ts),
                client_order_id=cid,
                venue=sent.venue,
                instrument=sent.instrument,
                side=sent.side,
                order_type=sent.order_type,
                quantity=sent.quantity,
                status=status,
                filled_qty=filled,
                venue_order_id=venue_order_id,
                price=sent.price,
            )
        ]

    def open_orders(self) -> list[str]:
        """Client order ids of the working orders, in acceptance order."""
        return list(self._working)

    # ── market data ──

    def on_market(self, event: TradeTick | QuoteTick | Bar) -> Sequence[OrderEvent]:
        """Match the working orders of ``event.instrument`` against it, in acceptance order.

        Call it before the event reaches any strategy, so that an order placed in reaction to an
        event never fills against that same event.
        """
        if event.instrument in self._krx:
            self._record_day(event)
        if not self._working:  # the common case in a replay: nothing to match
            self._unnoted[event.instrument] = event
            if type(event) is QuoteTick:
                self._quoted.add(event.instrument)
            return _NOTHING
        self._note_unnoted()
        with localcontext(_CONTEXT):
            out: list[OrderEvent] = []
            orders = [o for o in self._working.values() if o.cmd.instrument == event.instrument]
            if isinstance(event, Bar):
                self._match_bar(event, orders, out)
            elif isinstance(event, QuoteTick):
                self._match_quote(event, orders, out)
            else:
                self._match_trade(event, orders, out)
            self._note_prices(event)
            return out

    def _note_unnoted(self) -> None:
        if self._unnoted:
            pending, self._unnoted = self._unnoted, {}
            for event in pending.values():
                self._note_prices(event)

    def _record_day(self, event: TradeTick | QuoteTick | Bar) -> None:
        """Keep the events that give the closes of a KRX instrument's days (see :class:`_Tape`)."""
        if type(event) is Bar:
            day = (event.ts_event - event.interval_ns + _KST_OFFSET_NS) // _NS_PER_DAY
        else:
            day = (event.ts_event + _KST_OFFSET_NS) // _NS_PER_DAY
        tape = self._tapes.get(event.instrument)
        if tape is None:
            tape = self._tapes[event.instrument] = _Tape(day, event)
        elif tape.day != day:
            if day < tape.day:  # older than what was seen: it cannot change a close any more
                return
            tape.base = tape.close()
            tape.day, tape.trade, tape.quote = day, None, None
        tape.latest = event
        if isinstance(event, QuoteTick):
            tape.quote = event
        else:
            tape.trade = event

    def _note_prices(self, event: TradeTick | QuoteTick | Bar) -> None:
        """Remember the touch (or the last price) that market orders are checked against."""
        instrument = event.instrument
        if isinstance(event, QuoteTick):
            self._quoted.add(instrument)
            if _valid(event.bid):
                self._bid_ref[instrument] = event.bid
            if _valid(event.ask):
                self._ask_ref[instrument] = event.ask
            return
        price = event.close if isinstance(event, Bar) else event.price
        if _valid(price):
            self._bid_ref[instrument] = self._ask_ref[instrument] = price

    def _match_quote(self, q: QuoteTick, orders: list[_Order], out: list[OrderEvent]) -> None:
        ask_ok = _valid(q.ask) and _valid(q.ask_size)
        bid_ok = _valid(q.bid) and _valid(q.bid_size)
        # Displayed size left at each touch: our own orders consume it in priority order.
        left = {Side.BUY: q.ask_size if ask_ok else _ZERO, Side.SELL: q.bid_size if bid_ok else _ZERO}
        for o in orders:
            if self._expired_day(o, q.ts_event, out) or q.ts_event < o.active_ns:
                continue
            buy = o.is_buy
            touch, touch_ok = (q.ask, ask_ok) if buy else (q.bid, bid_ok)
            if not o.triggered:
                if not (touch_ok and (touch >= o.stop if buy else touch <= o.stop)):
                    continue
                o.triggered, o.fresh = True, True
            was_fresh = o.fresh
            if o.takes:
                if not touch_ok:  # nothing to take: wait, unless it is immediate-or-nothing
                    if was_fresh and o.cmd.time_in_force in _IMMEDIATE:
                        self._take(o, q.ts_event, out, fresh=True, crosses=False)
                    continue
                o.fresh = False
                filled = self._take(
                    o,
                    q.ts_event,
                    out,
                    fresh=was_fresh,
                    crosses=True,
                    px=touch,
                    avail=left[o.cmd.side],
                    liquidity=Liquidity.TAKER,
                )
            else:
                crosses = touch_ok and (touch <= o.limit if buy else touch >= o.limit)
                o.fresh = False
                if was_fresh:
                    filled = self._take(
                        o,
                        q.ts_event,
                        out,
                        fresh=True,
                        crosses=crosses,
                        px=touch,
                        avail=left[o.cmd.side],
                        liquidity=Liquidity.TAKER,
                    )
                elif crosses:
                    filled = self._take(
                        o,
                        q.ts_event,
                        out,
                        fresh=False,
                        crosses=True,
                        px=o.limit,
                        avail=left[o.cmd.side],
                        liquidity=Liquidity.MAKER,
                    )
                else:
                    continue
            left[o.cmd.side] -= filled

    def _match_trade(self, t: TradeTick, orders: list[_Order], out: list[OrderEvent]) -> None:
        if not _valid(t.price):
            return
        size_left = t.size if _valid(t.size) else _ZERO
        # With quotes for the instrument, quotes decide what a taker gets; trades only fill
        # resting limits they print through.
        takers_here = t.instrument not in self._quoted
        for o in orders:
            if self._expired_day(o, t.ts_event, out) or t.ts_event < o.active_ns:
                continue
            buy = o.is_buy
            if not o.triggered:
                if not (t.price >= o.stop if buy else t.price <= o.stop):
                    continue
                o.triggered, o.fresh = True, True
            was_fresh = o.fresh
            if o.takes or was_fresh:
                if not takers_here:
                    continue
                o.fresh = False
                crosses = o.takes or (t.price <= o.limit if buy else t.price >= o.limit)
                filled = self._take(
                    o,
                    t.ts_event,
                    out,
                    fresh=was_fresh,
                    crosses=crosses,
                    px=t.price,
                    avail=size_left,
                    liquidity=Liquidity.TAKER,
                )
            elif (t.price < o.limit) if buy else (t.price > o.limit):
                filled = self._take(
                    o,
                    t.ts_event,
                    out,
                    fresh=False,
                    crosses=True,
                    px=o.limit,
                    avail=size_left,
                    liquidity=Liquidity.MAKER,
                )
            else:
                continue
            size_left -= filled

    def _match_bar(self, b: Bar, orders: list[_Order], out: list[OrderEvent]) -> None:
        if not all(_valid(x) for x in (b.open, b.high, b.low, b.close)):
            return
        open_ns, close_ns = b.ts_event - b.interval_ns, b.ts_event
        for o in orders:
            if open_ns < o.active_ns:  # arrived after this bar opened: wait for the next one
                continue
            buy = o.is_buy
            was_fresh = o.fresh
            trigger_px: Decimal | None = None
            if not o.triggered and (b.high >= o.stop if buy else b.low <= o.stop):
                o.triggered, was_fresh = True, True
                trigger_px = max(b.open, o.stop) if buy else min(b.open, o.stop)
            if o.triggered:
                o.fresh = False
                if trigger_px is not None:
                    # A stop hit in this bar: it trades at the stop, or at the open if it gapped.
                    at = open_ns if trigger_px == b.open else close_ns
                    crosses = o.takes or (trigger_px <= o.limit if buy else trigger_px >= o.limit)
                    self._take(
                        o,
                        at,
                        out,
                        fresh=True,
                        crosses=crosses,
                        px=trigger_px,
                        liquidity=Liquidity.TAKER,
                    )
                elif o.takes:
                    self._take(
                        o,
                        open_ns,
                        out,
                        fresh=was_fresh,
                        crosses=True,
                        px=b.open,
                        liquidity=Liquidity.TAKER,
                    )
                else:
                    at_open = b.open <= o.limit if buy else b.open >= o.limit
                    touched = b.low <= o.limit if buy else b.high >= o.limit
                    px = min(b.open, o.limit) if buy else max(b.open, o.limit)
                    immediate = was_fresh and o.cmd.time_in_force in _IMMEDIATE
                    if immediate:
                        touched = at_open  # immediate-or-nothing: only the open is immediate
                    self._take(
                        o,
                        open_ns if at_open or immediate else close_ns,
                        out,
                        fresh=was_fresh,
                        crosses=touched,
                        px=px,
                        liquidity=Liquidity.TAKER if was_fresh and at_open else Liquidity.MAKER,
                    )
            # A DAY order lives for the one bar it was placed for.
            if o.cmd.time_in_force is TimeInForce.DAY and o.cmd.client_order_id in self._working:
                self._close(o, "expired")
                out.append(
                    OrderExpired(
                        ts_event=close_ns,
                        ts_init=self._clock.ts_init(close_ns),
                        client_order_id=o.cmd.client_order_id,
                    )
                )

    # ── execution ──

    def _take(
        self,
        o: _Order,
        ts: int,
        out: list[OrderEvent],
        *,
        fresh: bool,
        crosses: bool,
        px: Decimal = _ZERO,
        avail: Decimal | None = None,
        liquidity: Liquidity = Liquidity.TAKER,
    ) -> Decimal:
        """Fill what ``avail`` allows (None: all) at ``px`` if ``crosses``, then apply IOC/FOK.

        The quantity is floored to the lot size. On the order's first evaluation (``fresh``),
        FOK fills all or is canceled with nothing, and IOC cancels whatever it could not fill.
        Returns the quantity filled.
        """
        tif = o.cmd.time_in_force
        qty = _ZERO
        if crosses:
            qty = o.remaining if avail is None else min(o.remaining, max(avail, _ZERO))
            lot = o.spec.lot_size
            if lot > 0 and qty % lot != 0:
                qty -= qty % lot
        if fresh and tif is TimeInForce.FOK and qty < o.remaining:
            self._cancel_rest(o, ts, out, "fok: not fully fillable at once")
            return _ZERO
        if qty > 0:
            out.append(self._fill(o, qty, px, liquidity, ts))
        if fresh and tif is TimeInForce.IOC and o.cmd.client_order_id in self._working:
            self._cancel_rest(o, ts, out, "ioc: remainder canceled")
        return qty

    def _fill(self, o: _Order, qty: Decimal, px: Decimal, liquidity: Liquidity, ts: int) -> OrderFilled:
        o.filled += qty
        self._trades += 1
        fee, currency = self._fee(o.spec, qty, px, liquidity, o.cmd.side)
        if o.remaining == 0:
            self._close(o, "filled")
        elif o.group is not None:
            o.group.remove(o.held)
            o.held = self._holding(o)
            o.group.add(o.held)
        return OrderFilled(
            ts_event=ts,
            ts_init=self._clock.ts_init(ts),
            client_order_id=o.cmd.client_order_id,
            instrument=o.cmd.instrument,
            side=o.cmd.side,
            trade_id=f"SIM-T{self._trades}",
            last_qty=qty,
            last_px=px,
            cum_qty=o.filled,
            fee=fee,
            fee_currency=currency,
            liquidity=liquidity,
        )

    def _fee(
        self, spec: InstrumentSpec, qty: Decimal, px: Decimal, liquidity: Liquidity, side: Side
    ) -> tuple[Decimal, str]:
        """``bps / 10_000 * notional`` and its currency (see the module docstring).

        ``bps`` is the commission (the maker or taker rate, or ``fee_bps``), plus on a sell the
        spec's ``sell_tax_bps``: ``fee_bps`` replaces the commission, never the tax.
        """
        if self._fee_bps is not None:
            bps = self._fee_bps
        else:
            bps = spec.maker_fee_bps if liquidity is Liquidity.MAKER else spec.taker_fee_bps
        if side is Side.SELL and spec.sell_tax_bps:
            bps += spec.sell_tax_bps
        if spec.kind is InstrumentKind.INVERSE:
            return _divide(qty * spec.multiplier * bps, px * _BPS), spec.settle
        return _divide(qty * px * spec.multiplier * bps, _BPS), spec.quote

    def _cancel_rest(self, o: _Order, ts: int, out: list[OrderEvent], reason: str) -> None:
        self._close(o, "canceled")
        out.append(
            OrderCanceled(
                ts_event=ts,
                ts_init=self._clock.ts_init(ts),
                client_order_id=o.cmd.client_order_id,
                reason=reason,
            )
        )

    def _close(self, o: _Order, status: str) -> None:
        del self._working[o.cmd.client_order_id]
        self._closed[o.cmd.client_order_id] = _Closed(status, o.cmd, o.filled, o.venue_order_id)
        if o.group is not None:
            o.group.remove(o.held)
            o.group = None

    # ── what working orders hold ──

    def _hold(self, o: _Order) -> None:
        """Count the order just accepted into the running sum of its group (see _check_account)."""
        if o.is_buy:
            if not o.spec.settles_in_cash:
                return
            o.factor = _CONTEXT.add(_ONE, self._reserve_rate(o.spec))
            group = self._cash_held.get(o.spec.quote)
            if group is None:
                group = self._cash_held[o.spec.quote] = _Held()
        else:
            group = self._qty_held.get(o.cmd.instrument)
            if group is None:
                group = self._qty_held[o.cmd.instrument] = _Held()
        o.group, o.held = group, self._holding(o)
        group.add(o.held)

    @staticmethod
    def _holding(o: _Order) -> Decimal:
        """The order's term in its group's sum, computed as a scan of the working orders would."""
        c = _CONTEXT
        remaining = c.subtract(o.cmd.quantity, o.filled)
        if not o.is_buy:
            return remaining
        return c.multiply(c.multiply(c.multiply(remaining, o.reserve_px), o.spec.multiplier), o.factor)

    def _reserved_cash(self, quote: str) -> Decimal:
        """The cash, fee included, that the working cash-settled buys in ``quote`` hold."""
        group = self._cash_held.get(quote)
        if group is None:
            return _ZERO
        value = group.value()
        return self._scan_cash(quote) if value is None else value

    def _reserved_qty(self, instrument: str) -> Decimal:
        """The quantity of ``instrument`` that the working sells hold."""
        group = self._qty_held.get(instrument)
        if group is None:
            return _ZERO
        value = group.value()
        return self._scan_qty(instrument) if value is None else value

    def _scan_cash(self, quote: str) -> Decimal:
        """:meth:`_reserved_cash` from scratch, over every working order (run under _CONTEXT)."""
        return sum(
            (
                o.remaining * o.reserve_px * o.spec.multiplier * (_ONE + self._reserve_rate(o.spec))
                for o in self._working.values()
                if o.is_buy and o.spec.settles_in_cash and o.spec.quote == quote
            ),
            _ZERO,
        )

    def _scan_qty(self, instrument: str) -> Decimal:
        """:meth:`_reserved_qty` from scratch, over every working order (run under _CONTEXT)."""
        return sum(
            (o.remaining for o in self._working.values() if not o.is_buy and o.cmd.instrument == instrument),
            _ZERO,
        )

    def _running_reservations(self) -> tuple[dict[str, Decimal | None], dict[str, Decimal | None]]:
        """For tests: the running sums by quote currency and by instrument (None: scan needed)."""
        cash = {q: g.value() for q, g in self._cash_held.items()}
        qty = {i: g.value() for i, g in self._qty_held.items()}
        return cash, qty

    def _recompute_reservations(self) -> tuple[dict[str, Decimal | None], dict[str, Decimal | None]]:
        """For tests: what :meth:`_running_reservations` must equal, recomputed from scratch."""
        with localcontext(_CONTEXT):
            cash: dict[str, Decimal | None] = {q: self._scan_cash(q) for q in self._cash_held}
            qty: dict[str, Decimal | None] = {i: self._scan_qty(i) for i in self._qty_held}
        return cash, qty

    def _expired_day(self, o: _Order, ts: int, out: list[OrderEvent]) -> bool:
        """On tick data a DAY order ends when its instrument's trading day turns."""
        if o.cmd.time_in_force is not TimeInForce.DAY or self._trading_day(o.cmd.instrument, ts) <= o.day:
            return False
        offset = TRADING_DAY_OFFSET_NS.get(_market_of(o.cmd.instrument), 0)
        at = (o.day + 1) * _NS_PER_DAY - offset
        self._close(o, "expired")
        out.append(
            OrderExpired(ts_event=at, ts_init=self._clock.ts_init(at), client_order_id=o.cmd.client_order_id)
        )
        return True

    @staticmethod
    def _trading_day(instrument: str, ts: int) -> int:
        return (ts + TRADING_DAY_OFFSET_NS.get(_market_of(instrument), 0)) // _NS_PER_DAY

    # ── checks ──

    def _latency_for(self, instrument: str) -> int:
        if instrument in self._latency:
            return self._latency[instrument]
        return self._latency.get(_market_of(instrument), self._latency_default)

    def _check_price(self, cmd: SubmitOrder) -> Decimal | None:
        """The price the checks value the order at: its limit, its stop, or the last touch."""
        if cmd.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            return cmd.price
        if cmd.order_type is OrderType.STOP:
            return cmd.trigger_price
        self._note_unnoted()
        refs = self._ask_ref if cmd.side is Side.BUY else self._bid_ref
        return refs.get(cmd.instrument)

    def _check(self, cmd: SubmitOrder, ts: int) -> tuple[RejectCode, str] | None:
        """The first rule the order arriving at ``ts`` breaks, as (code, reason); None if none."""
        cid = cmd.client_order_id
        if cid in self._working or cid in self._closed:
            return RejectCode.DUPLICATE_ORDER_ID, f"client order id {cid!r} already used"
        spec = self._specs.get(cmd.instrument)
        if spec is None:
            return RejectCode.UNKNOWN_INSTRUMENT, f"{cmd.instrument} is not traded on this venue"
        krx = cmd.instrument in self._krx
        if krx and self._krx_closed(cmd.instrument, ts):
            return (
                RejectCode.MARKET_CLOSED,
                f"{cmd.instrument}: the order arrives outside the regular session"
                " (09:00-15:30 KST, Monday to Friday)",
            )
        qty = cmd.quantity
        if not _valid(qty):
            return RejectCode.INVALID_QTY, f"quantity {qty} is not positive"
        wanted: list[tuple[str, Decimal | None]] = []
        if cmd.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            wanted.append(("limit price", cmd.price))
        if cmd.order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
            wanted.append(("stop price", cmd.trigger_price))
        for what, value in wanted:
            if value is None or not _valid(value):
                return RejectCode.INVALID_PRICE, f"{cmd.order_type} order needs a positive {what}"
        if not _multiple(qty, spec.lot_size):
            return RejectCode.LOT_SIZE, f"quantity {qty} is not a multiple of the lot {spec.lot_size}"
        if qty < spec.min_qty:
            return RejectCode.MIN_QTY, f"quantity {qty} is below the minimum {spec.min_qty}"
        for what, value in wanted:
            assert value is not None
            if not on_tick_grid(spec, value):
                tick = tick_at(spec, value)
                return RejectCode.TICK_SIZE, f"{what} {value} is not a multiple of the tick {tick}"
        if krx and wanted:
            refusal = self._check_price_limits(cmd.instrument, spec, ts, wanted)
            if refusal is not None:
                return refusal
        px = self._check_price(cmd)
        if px is None:
            return RejectCode.NO_PRICE, f"no price yet for {cmd.instrument} to value a market order"
        if spec.kind is InstrumentKind.INVERSE:
            notional = qty * spec.multiplier  # contracts are denominated in the quote currency
        else:
            notional = qty * px * spec.multiplier
        if notional < spec.min_notional:
            return (
                RejectCode.MIN_NOTIONAL,
                f"notional {notional} {spec.quote} is below the minimum {spec.min_notional}",
            )
        if spec.settles_in_cash:
            return self._check_account(cmd, spec, px)
        if cmd.reduce_only:
            pos = self._account.position(cmd.instrument).qty
            if pos == 0 or (pos > 0) == (cmd.side is Side.BUY) or qty > abs(pos):
                return (
                    RejectCode.REDUCE_ONLY,
                    f"reduce-only {cmd.side} of {qty} would not reduce the position of {pos}",
                )
        return None

    def _krx_closed(self, instrument: str, ts: int) -> bool:
        """Whether ``ts`` is outside KRX's regular session; never on daily bars (see docs/sim.md)."""
        tape = self._tapes.get(instrument)
        if tape is not None and tape.daily:
            return False
        local = ts + _KST_OFFSET_NS
        weekday = (local // _NS_PER_DAY + _EPOCH_WEEKDAY) % 7
        opens, closes = KRX_SESSION_NS
        return weekday >= 5 or not opens <= local % _NS_PER_DAY < closes

    def _check_price_limits(
        self,
        instrument: str,
        spec: InstrumentSpec,
        ts: int,
        wanted: list[tuple[str, Decimal | None]],
    ) -> tuple[RejectCode, str] | None:
        """Limit and stop prices within the daily band of the day the order arrives on.

        No band is known before the venue has seen a price of an earlier day.
        """
        tape = self._tapes.get(instrument)
        base = None if tape is None else tape.base_for((ts + _KST_OFFSET_NS) // _NS_PER_DAY)
        band = None if base is None else daily_price_band(spec, base)
        if band is None:
            return None
        low, high = band
        for what, value in wanted:
            assert value is not None
            if not low <= value <= high:
                return (
                    RejectCode.PRICE_LIMIT,
                    f"{what} {value} is outside the daily price limits [{low}, {high}]"
                    f" (±30% of the previous close {base})",
                )
        return None

    def _check_account(
        self, cmd: SubmitOrder, spec: InstrumentSpec, px: Decimal
    ) -> tuple[RejectCode, str] | None:
        """Spot and equity: a buy needs its cash and fee, a sell the position (no shorting).

        What the venue's other working orders would take is reserved: a second order cannot spend
        the same cash or sell the same shares. The reserved sums are kept as orders are accepted,
        filled, canceled and expire (see :class:`_Held`), not summed over every working order on
        every submit; they equal that sum to the digit (``_recompute_reservations`` recomputes it).
        """
        qty = cmd.quantity
        if cmd.side is Side.BUY:
            cost = qty * px * spec.multiplier * (_ONE + self._reserve_rate(spec))
            reserved = self._reserved_cash(spec.quote)
            available = self._account.cash(spec.quote) - reserved
            if cost > available:
                return (
                    RejectCode.INSUFFICIENT_CASH,
                    f"needs {cost} {spec.quote} with fees, {available} available",
                )
            return None
        held = self._account.position(cmd.instrument).qty
        reserved = self._reserved_qty(cmd.instrument)
        if qty > held - reserved:
            return (
                RejectCode.INSUFFICIENT_POSITION,
                f"sells {qty} of {cmd.instrument}, {held - reserved} held and not already offered",
            )
        return None

    def _reserve_rate(self, spec: InstrumentSpec) -> Decimal:
        """The fee rate a buy must be able to pay: the higher of maker and taker, at least 0."""
        fee_bps = self._fee_bps
        bps = max(spec.maker_fee_bps, spec.taker_fee_bps) if fee_bps is None else fee_bps
        return max(bps, _ZERO) / _BPS

    def _injected(self) -> tuple[RejectCode, str] | None:
        """Deterministic injected rejects, counted over the orders that pass every check."""
        self._passed_checks += 1
        draw: int | None = None
        if self._reject_threshold is not None:
            self._rng, draw = splitmix64(self._rng)
        if self._reject_every is not None and self._passed_checks % self._reject_every == 0:
            return (
                RejectCode.INJECTED,
                f"injected reject: order {self._passed_checks} of every {self._reject_every}",
            )
        if draw is not None and self._reject_threshold is not None and draw < self._reject_threshold:
            return RejectCode.INJECTED, "injected reject: random draw"
        return None
