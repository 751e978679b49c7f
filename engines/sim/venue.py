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
* **Rejects** carry a short code (:class:`~engines.sim.rules.RejectCode`); injected rejects are
  deterministic.

The venue is this class and its parts: :mod:`engines.sim.rules` (reject codes, an order's own
terms), :mod:`engines.sim.reservations` (what working orders hold, the account checks),
:mod:`engines.sim.matching` (fills against quotes, trades and bars), :mod:`engines.sim.fees`,
:mod:`engines.sim.tape` (the closes KRX's daily limits are based on), :mod:`engines.sim.rng`
(injected rejects) and :mod:`engines.sim.working` (the venue's orders).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, localcontext
from typing import Final

from engines.clock import REPLAY_CLOCK, Clock
from engines.decimals import SIM_CONTEXT
from engines.ledger import Ledger
from engines.markets.krx import in_regular_session, krx_day
from engines.markets.krx_validator import KrxOrderError, check_krx_order
from engines.markets.prices import daily_price_band
from engines.markets.sessions import trading_day
from engines.model.commands import CancelOrder, QueryOrder, SubmitOrder
from engines.model.enums import OrderType, ReportedStatus, Side
from engines.model.events import (
    Bar,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderRejected,
    OrderStatusReport,
    QuoteTick,
    TradeTick,
)
from engines.model.instruments import InstrumentSpec, market_of
from engines.sim.matching import Matcher
from engines.sim.reservations import Reservations
from engines.sim.rng import InjectedRejects
from engines.sim.rules import Refusal, RejectCode, check_notional, check_terms, order_prices, positive
from engines.sim.tape import Tape, record
from engines.sim.working import ClosedOrder, WorkingOrder

__all__ = ["SimVenue"]

_ZERO: Final = Decimal(0)
_NOTHING: Final[tuple[OrderEvent, ...]] = ()
# The sim's reject code for each rule of the KRX order validator it applies (VT140: INVALID_PRICE).
_KRX_REJECTS: Final = {
    "VT141": RejectCode.LOT_SIZE,
    "VT142": RejectCode.TICK_SIZE,
    "VT143": RejectCode.PRICE_LIMIT,
}


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
        if fee_bps is not None and not fee_bps.is_finite():
            raise ValueError(f"fee_bps must be finite, not {fee_bps}")
        if isinstance(latency_ns, int):
            self._latency_default, self._latency = latency_ns, {}
        else:
            self._latency_default, self._latency = 0, dict(latency_ns)
        if min([self._latency_default, *self._latency.values()]) < 0:
            raise ValueError("latency_ns must not be negative")
        self._injected = InjectedRejects(seed=seed, every=reject_every, prob=reject_prob)

        self._working: dict[str, WorkingOrder] = {}  # in acceptance order: the matching priority
        # client order id -> how it ended, for cancel answers and status queries
        self._closed: dict[str, ClosedOrder] = {}
        # What the working orders hold, kept as they come and go; and the matching of them.
        self._reservations = Reservations(self._working, account, fee_bps)
        self._matcher = Matcher(self._working, self._closed, self._reservations, fee_bps=fee_bps, clock=clock)
        self._orders_accepted = 0
        self._bid_ref: dict[str, Decimal] = {}
        self._ask_ref: dict[str, Decimal] = {}
        self._quoted: set[str] = set()  # instruments that have had a quote: quotes make takers
        # Market events seen while no order was working, per instrument, latest only: their
        # prices are noted when an order needs them, not on every tick of a quiet replay.
        self._unnoted: dict[str, TradeTick | QuoteTick | Bar] = {}
        # Instruments under the KRX rules (price limits, session), and the closes of their days.
        self._krx = frozenset(s for s, spec in self._specs.items() if spec.tick_scheme == "krx")
        self._tapes: dict[str, Tape] = {}

    # ── commands ──

    def submit(self, cmd: SubmitOrder, now_ns: int) -> list[OrderEvent]:
        """Accept (``venue_order_id`` ``SIM-<n>``) or reject the order, stamped at its arrival."""
        with localcontext(SIM_CONTEXT):
            ts = now_ns + self._latency_for(cmd.instrument)
            refusal = self._check(cmd, ts)
            if refusal is None:
                injected = self._injected.next()
                if injected is not None:
                    refusal = RejectCode.INJECTED, injected
            if refusal is not None:
                code, reason = refusal
                if code is not RejectCode.DUPLICATE_ORDER_ID:
                    self._closed[cmd.client_order_id] = ClosedOrder("rejected", cmd, _ZERO, None)
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
            order = self._working[cmd.client_order_id] = WorkingOrder(
                cmd=cmd,
                spec=spec,
                active_ns=ts,
                day=trading_day(cmd.instrument, ts),
                reserve_px=self._check_price(cmd) or _ZERO,
                triggered=cmd.order_type not in (OrderType.STOP, OrderType.STOP_LIMIT),
                venue_order_id=f"SIM-{self._orders_accepted}",
            )
            self._reservations.hold(order)
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
        self._matcher.close(order, "canceled")
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

    def held_cash(self, quote: str) -> Decimal:
        """The cash in ``quote``, fee included, that the working cash-settled buys hold."""
        with localcontext(SIM_CONTEXT):
            return self._reservations.reserved_cash(quote)

    def held_qty(self, instrument: str) -> Decimal:
        """The quantity of ``instrument`` that the working sells hold."""
        with localcontext(SIM_CONTEXT):
            return self._reservations.reserved_qty(instrument)

    # ── market data ──

    def on_market(self, event: TradeTick | QuoteTick | Bar) -> Sequence[OrderEvent]:
        """Match the working orders of ``event.instrument`` against it, in acceptance order.

        Call it before the event reaches any strategy, so that an order placed in reaction to an
        event never fills against that same event.
        """
        if self._krx and event.instrument in self._krx:
            record(self._tapes, event)
        if not self._working:  # the common case in a replay: nothing to match
            instrument = event.instrument
            self._unnoted[instrument] = event
            if type(event) is QuoteTick and instrument not in self._quoted:
                self._quoted.add(instrument)
            return _NOTHING
        self._note_unnoted()
        with localcontext(SIM_CONTEXT):
            out: list[OrderEvent] = []
            orders = [o for o in self._working.values() if o.cmd.instrument == event.instrument]
            if isinstance(event, Bar):
                self._matcher.bar(event, orders, out)
            elif isinstance(event, QuoteTick):
                self._matcher.quote(event, orders, out)
            else:
                self._matcher.trade(event, orders, out, takers_here=event.instrument not in self._quoted)
            self._note_prices(event)
            return out

    def market_quiet(self) -> bool:
        """True while a market event would only be remembered, not matched (no working order, no
        KRX tape to keep): until an order arrives, only the latest quote per instrument matters, so
        a caller may hand over just that one (:meth:`on_market` with it) before the next command."""
        return not self._working and not self._krx

    def _note_unnoted(self) -> None:
        if self._unnoted:
            pending, self._unnoted = self._unnoted, {}
            for event in pending.values():
                self._note_prices(event)

    def _note_prices(self, event: TradeTick | QuoteTick | Bar) -> None:
        """Remember the touch (or the last price) that market orders are checked against."""
        instrument = event.instrument
        if isinstance(event, QuoteTick):
            self._quoted.add(instrument)
            if positive(event.bid):
                self._bid_ref[instrument] = event.bid
            if positive(event.ask):
                self._ask_ref[instrument] = event.ask
            return
        price = event.close if isinstance(event, Bar) else event.price
        if positive(price):
            self._bid_ref[instrument] = self._ask_ref[instrument] = price

    # ── checks ──

    def _latency_for(self, instrument: str) -> int:
        if instrument in self._latency:
            return self._latency[instrument]
        return self._latency.get(market_of(instrument), self._latency_default)

    def _check_price(self, cmd: SubmitOrder) -> Decimal | None:
        """The price the checks value the order at: its limit, its stop, or the last touch."""
        if cmd.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            return cmd.price
        if cmd.order_type is OrderType.STOP:
            return cmd.trigger_price
        self._note_unnoted()
        refs = self._ask_ref if cmd.side is Side.BUY else self._bid_ref
        return refs.get(cmd.instrument)

    def _check(self, cmd: SubmitOrder, ts: int) -> Refusal | None:
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
        wanted = order_prices(cmd)
        refusal = check_terms(cmd, spec, wanted)
        if refusal is not None:
            return refusal
        if krx and wanted:
            refusal = self._check_price_limits(cmd.instrument, spec, ts, wanted)
            if refusal is not None:
                return refusal
        if krx:
            refusal = self._check_krx_order(cmd, spec, ts)
            if refusal is not None:
                return refusal
        px = self._check_price(cmd)
        if px is None:
            return RejectCode.NO_PRICE, f"no price yet for {cmd.instrument} to value a market order"
        refusal = check_notional(cmd, spec, px)
        if refusal is not None:
            return refusal
        return self._reservations.check(cmd, spec, px)

    def _krx_closed(self, instrument: str, ts: int) -> bool:
        """Whether ``ts`` is outside KRX's regular session; never on daily bars (see docs/sim.md)."""
        tape = self._tapes.get(instrument)
        if tape is not None and tape.daily:
            return False
        return not in_regular_session(ts)

    def _check_krx_order(self, cmd: SubmitOrder, spec: InstrumentSpec, ts: int) -> Refusal | None:
        """The KRX order validator's own-terms rules (lot, tick incl. the 5 KRW of the ETFs it
        knows, daily limit), after the checks above. Not its calendar and sessions: orders on daily
        bars arrive at bar timestamps (00:00 UTC), in no particular KRX session: see docs/krx.md."""
        tape = self._tapes.get(cmd.instrument)
        base = None if tape is None else tape.base_for(krx_day(ts))
        try:
            check_krx_order(
                spec, cmd.side, cmd.order_type, cmd.quantity, cmd.price, ts, base_price=base, sessions=False
            )
        except KrxOrderError as err:
            return _KRX_REJECTS.get(err.code, RejectCode.INVALID_PRICE), err.message
        return None

    def _check_price_limits(
        self,
        instrument: str,
        spec: InstrumentSpec,
        ts: int,
        wanted: list[tuple[str, Decimal | None]],
    ) -> Refusal | None:
        """Limit and stop prices within the daily band of the day the order arrives on.

        No band is known before the venue has seen a price of an earlier day.
        """
        tape = self._tapes.get(instrument)
        base = None if tape is None else tape.base_for(krx_day(ts))
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

    # ── for tests ──

    def _running_reservations(self) -> tuple[dict[str, Decimal | None], dict[str, Decimal | None]]:
        """For tests: the running sums by quote currency and by instrument (None: scan needed)."""
        return self._reservations.running()

    def _recompute_reservations(self) -> tuple[dict[str, Decimal | None], dict[str, Decimal | None]]:
        """For tests: what :meth:`_running_reservations` must equal, recomputed from scratch."""
        return self._reservations.recompute()
