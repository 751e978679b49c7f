"""What the KRX rules remember of an instrument's market data: the closes of its trading days.

A KRX order's daily price band is ±30 % of the previous trading day's close, and the venue knows
that close only from the data it has seen: :func:`record` keeps, per instrument, what a
:class:`Tape` needs to price it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engines.decimals import SIM_CONTEXT
from engines.markets.krx import krx_day
from engines.model.events import Bar, QuoteTick, TradeTick
from engines.sim.rules import positive
from engines.units import NS_PER_DAY

__all__ = ["Tape", "record"]


@dataclass(slots=True)
class Tape:
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
            if positive(price):
                return price
        quote = self.quote
        if quote is not None:
            bid_ok, ask_ok = positive(quote.bid), positive(quote.ask)
            if bid_ok and ask_ok:
                return SIM_CONTEXT.divide(SIM_CONTEXT.add(quote.bid, quote.ask), 2)
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
        return isinstance(latest, Bar) and latest.interval_ns >= NS_PER_DAY


def record(tapes: dict[str, Tape], event: TradeTick | QuoteTick | Bar) -> None:
    """Keep the events that give the closes of a KRX instrument's days (see :class:`Tape`)."""
    day = krx_day(event.ts_event - event.interval_ns if type(event) is Bar else event.ts_event)
    tape = tapes.get(event.instrument)
    if tape is None:
        tape = tapes[event.instrument] = Tape(day, event)
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
