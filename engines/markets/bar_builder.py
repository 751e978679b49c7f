"""Time bars built from trades, for venues that stream trades but no bars (KIS, Kiwoom) or not at the
interval a strategy needs.

A bar covers ``[open, open + interval)`` on the trade's exchange time and is known when it closes, so
it is stamped ``ts_event = open + interval`` (the convention of every :class:`~engines.model.events.Bar`).
It closes when the first trade of a later interval arrives, or when the driver says time has passed
its end (:meth:`BarBuilder.close_until`, from a timer): a quiet market still closes its bars. An
interval with no trade makes no bar (there is no price to give it). Pure and deterministic: the same
trades in the same order give the same bars.
"""

from __future__ import annotations

from decimal import Decimal

from engines.model.events import Bar, TradeTick

__all__ = ["BarBuilder"]


class _Open:
    __slots__ = ("close", "high", "low", "open", "start", "volume")

    def __init__(self, start: int, trade: TradeTick) -> None:
        self.start = start
        self.open = self.high = self.low = self.close = trade.price
        self.volume: Decimal = trade.size

    def add(self, trade: TradeTick) -> None:
        price = trade.price
        if price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price
        self.close = price
        self.volume += trade.size


class BarBuilder:
    """Bars of ``interval_ns`` per instrument; feed it trades in arrival order."""

    def __init__(self, interval_ns: int) -> None:
        if interval_ns <= 0:
            raise ValueError(f"a bar interval must be positive, got {interval_ns}")
        self.interval_ns = interval_ns
        self._open: dict[str, _Open] = {}

    def on_trade(self, trade: TradeTick, ts_init: int) -> list[Bar]:
        """Fold a trade; returns the bar it closed (its instrument's previous interval), if any.

        A trade older than the open bar's interval (a late delivery) joins the open bar rather than
        reopening a closed one: bars only move forward.
        """
        start = trade.ts_event - trade.ts_event % self.interval_ns
        current = self._open.get(trade.instrument)
        if current is None:
            self._open[trade.instrument] = _Open(start, trade)
            return []
        if start <= current.start:
            current.add(trade)
            return []
        self._open[trade.instrument] = _Open(start, trade)
        return [self._bar(trade.instrument, current, ts_init)]

    def close_until(self, now_ns: int, ts_init: int) -> list[Bar]:
        """Close every open bar whose interval ended at or before ``now_ns`` (exchange time)."""
        done = [(s, b) for s, b in self._open.items() if b.start + self.interval_ns <= now_ns]
        for symbol, _ in done:
            del self._open[symbol]
        return [self._bar(symbol, bar, ts_init) for symbol, bar in sorted(done, key=lambda x: x[0])]

    def _bar(self, instrument: str, bar: _Open, ts_init: int) -> Bar:
        end = bar.start + self.interval_ns
        return Bar(
            ts_event=end,
            ts_init=max(ts_init, end),
            instrument=instrument,
            open=bar.open,
            high=bar.high,
            low=bar.low,
            close=bar.close,
            volume=bar.volume,
            interval_ns=self.interval_ns,
        )
