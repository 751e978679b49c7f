""":class:`ReplayMarketData`: the market-data port over a recording (tests and rehearsal)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator

from adapters.ports import MarketEvent
from engines.model.events import Bar, QuoteTick, TradeTick

__all__ = ["ReplayMarketData"]


class ReplayMarketData:
    """A :class:`~adapters.ports.MarketDataClient` that plays market events in the order given.

    The stream delivers the events of the subscribed symbols and kinds (bars only of the subscribed
    interval), and ends at the end of the recording or at :meth:`close`. Nothing is delivered for
    a symbol before it is subscribed.
    """

    def __init__(self, events: Iterable[MarketEvent]) -> None:
        self._source: Iterator[MarketEvent] = iter(events)
        self._quotes: set[str] = set()
        self._trades: set[str] = set()
        self._bars: dict[str, int] = {}
        self._closed = False

    async def subscribe(
        self,
        symbols: Iterable[str],
        *,
        quotes: bool = True,
        trades: bool = True,
        bar_interval_ns: int | None = None,
    ) -> None:
        for symbol in symbols:
            if quotes:
                self._quotes.add(symbol)
            if trades:
                self._trades.add(symbol)
            if bar_interval_ns is not None:
                self._bars[symbol] = bar_interval_ns

    def events(self) -> AsyncIterator[MarketEvent]:
        return self._stream()

    async def _stream(self) -> AsyncIterator[MarketEvent]:
        for event in self._source:
            if self._closed:
                return
            if self._wanted(event):
                yield event

    def _wanted(self, event: MarketEvent) -> bool:
        if isinstance(event, QuoteTick):
            return event.instrument in self._quotes
        if isinstance(event, TradeTick):
            return event.instrument in self._trades
        assert isinstance(event, Bar)
        return self._bars.get(event.instrument) == event.interval_ns

    async def close(self) -> None:
        self._closed = True
