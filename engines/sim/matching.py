"""How the simulated venue's working orders meet market events: the fills against quotes, trades and
bars, and the orders' ends (filled, canceled by time in force, expired).

:class:`Matcher` is the execution half of :class:`~engines.sim.venue.SimVenue`: the venue checks and
accepts orders and hands each market event's working orders to :meth:`Matcher.quote`,
:meth:`Matcher.trade` or :meth:`Matcher.bar`, in acceptance order (the matching priority). Every
call runs under ``SIM_CONTEXT`` (the venue installs it). docs/sim.md states each rule with worked
numbers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from engines.clock import Clock
from engines.markets.sessions import trading_day, trading_day_end
from engines.model.enums import Liquidity, Side, TimeInForce
from engines.model.events import (
    Bar,
    OrderCanceled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    QuoteTick,
    TradeTick,
)
from engines.sim.fees import fee
from engines.sim.reservations import Reservations
from engines.sim.rules import positive
from engines.sim.working import ClosedOrder, WorkingOrder

__all__ = ["Matcher"]

_ZERO: Final = Decimal(0)
_IMMEDIATE: Final = (TimeInForce.IOC, TimeInForce.FOK)


class Matcher:
    """Fills working orders against market events and ends them, for one venue.

    ``working`` and ``closed`` are the venue's own dicts (working orders in acceptance order, and how
    ended orders ended): the matcher moves an order from one to the other when it ends.
    """

    def __init__(
        self,
        working: dict[str, WorkingOrder],
        closed: dict[str, ClosedOrder],
        reservations: Reservations,
        *,
        fee_bps: Decimal | None,
        clock: Clock,
    ) -> None:
        self._working = working
        self._closed = closed
        self._reservations = reservations
        self._fee_bps = fee_bps
        self._clock = clock
        self._trades = 0

    # ── market events ──

    def quote(self, q: QuoteTick, orders: list[WorkingOrder], out: list[OrderEvent]) -> None:
        """Takers fill at the touch up to the displayed size, resting limits at their limit when the
        quote crosses them; IOC and FOK act on the first quote the order sees."""
        ask_ok = positive(q.ask) and positive(q.ask_size)
        bid_ok = positive(q.bid) and positive(q.bid_size)
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

    def trade(
        self, t: TradeTick, orders: list[WorkingOrder], out: list[OrderEvent], *, takers_here: bool
    ) -> None:
        """Resting limits fill at their limit on a trade strictly through them, up to its size; with
        ``takers_here`` (no quotes for the instrument yet), takers fill at the trade price.

        With quotes for the instrument, quotes decide what a taker gets; trades only fill resting
        limits they print through.
        """
        if not positive(t.price):
            return
        size_left = t.size if positive(t.size) else _ZERO
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

    def bar(self, b: Bar, orders: list[WorkingOrder], out: list[OrderEvent]) -> None:
        """Market orders fill in full at the bar's open; limits and stops by the bar's range; a DAY
        order lives for the one bar it was placed for."""
        if not all(positive(x) for x in (b.open, b.high, b.low, b.close)):
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
                self.close(o, "expired")
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
        o: WorkingOrder,
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

    def _fill(self, o: WorkingOrder, qty: Decimal, px: Decimal, liquidity: Liquidity, ts: int) -> OrderFilled:
        o.filled += qty
        self._trades += 1
        fee_paid, currency = fee(o.spec, qty, px, liquidity, o.cmd.side, fee_bps=self._fee_bps)
        if o.remaining == 0:
            self.close(o, "filled")
        else:
            self._reservations.update(o)
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
            fee=fee_paid,
            fee_currency=currency,
            liquidity=liquidity,
        )

    def _cancel_rest(self, o: WorkingOrder, ts: int, out: list[OrderEvent], reason: str) -> None:
        self.close(o, "canceled")
        out.append(
            OrderCanceled(
                ts_event=ts,
                ts_init=self._clock.ts_init(ts),
                client_order_id=o.cmd.client_order_id,
                reason=reason,
            )
        )

    def close(self, o: WorkingOrder, status: str) -> None:
        """End a working order: it leaves the working orders and releases what it holds."""
        del self._working[o.cmd.client_order_id]
        self._closed[o.cmd.client_order_id] = ClosedOrder(status, o.cmd, o.filled, o.venue_order_id)
        self._reservations.release(o)

    def _expired_day(self, o: WorkingOrder, ts: int, out: list[OrderEvent]) -> bool:
        """On tick data a DAY order ends when its instrument's trading day turns."""
        if o.cmd.time_in_force is not TimeInForce.DAY or trading_day(o.cmd.instrument, ts) <= o.day:
            return False
        at = trading_day_end(o.cmd.instrument, o.day)
        self.close(o, "expired")
        out.append(
            OrderExpired(ts_event=at, ts_init=self._clock.ts_init(at), client_order_id=o.cmd.client_order_id)
        )
        return True
