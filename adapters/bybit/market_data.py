""":class:`BybitMarketData`: the market-data port on Bybit v5's public streams.

One public connection per category (``/v5/public/spot``, ``/v5/public/linear``), opened on the first
subscription to one of its symbols. Quotes come from ``orderbook.1.{symbol}`` through a
:class:`~adapters.bybit.ws.BookKeeper` (a gap in ``u`` forgets the book and resubscribes, so the next
snapshot rebuilds it), trades from ``publicTrade.{symbol}``, bars from ``kline.{interval}.{symbol}``
when a bar closes (``confirm``) and the interval is one Bybit publishes.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Final, TypeVar

import msgspec

from adapters.bybit.config import BybitConfig, Category
from adapters.bybit.errors import BybitWsError
from adapters.bybit.parsers import SymbolMap, trade_ticks
from adapters.bybit.schemas import Frame, KlineRow, TradeRow
from adapters.bybit.ws import BookKeeper, BybitWebSocket
from adapters.ports import MarketEvent
from adapters.transport import Backoff
from adapters.transport.stream import EventStream
from adapters.venue_errors import UnknownVenueSymbolError, VenueMessageError
from engines.model.events import Bar

__all__ = ["KLINE_INTERVALS", "BybitMarketData"]

_T = TypeVar("_T")
_MINUTE: Final = 60 * 10**9
#: bar length (ns) → Bybit's kline interval name
KLINE_INTERVALS: Final = {
    **{m * _MINUTE: str(m) for m in (1, 3, 5, 15, 30, 60, 120, 240, 360, 720)},
    1440 * _MINUTE: "D",
    7 * 1440 * _MINUTE: "W",
}
_trades_dec: Final = msgspec.json.Decoder(list[TradeRow])
_klines_dec: Final = msgspec.json.Decoder(list[KlineRow])


class BybitMarketData:
    """A :class:`~adapters.ports.MarketDataClient` on Bybit's public streams."""

    def __init__(
        self,
        config: BybitConfig,
        *,
        symbols: Iterable[str] | SymbolMap = (),
        ping_interval_s: float = 20.0,
        stale_after_s: float | None = None,
        timeout_s: float = 5.0,
        reconnect: Backoff | None = None,
        rng: random.Random | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self.symbols = symbols if isinstance(symbols, SymbolMap) else SymbolMap.from_symbols(symbols)
        self._options = (ping_interval_s, stale_after_s, timeout_s, reconnect, rng)
        self._clock_ns = clock_ns
        self.streams: dict[str, BybitWebSocket] = {}
        self.books: dict[str, BookKeeper] = {}
        self._out: EventStream[MarketEvent] = EventStream()
        self._resyncs: set[asyncio.Task[None]] = set()
        self._bar_intervals: dict[str, int] = {}  # kline interval name → ns
        self._closed = False

    async def subscribe(
        self,
        symbols: Iterable[str],
        *,
        quotes: bool = True,
        trades: bool = True,
        bar_interval_ns: int | None = None,
    ) -> None:
        interval = None
        if bar_interval_ns is not None:
            interval = KLINE_INTERVALS.get(bar_interval_ns)
            if interval is None:
                raise UnknownVenueSymbolError(
                    f"bybit publishes no {bar_interval_ns} ns bars: use one of "
                    f"{sorted(KLINE_INTERVALS)} ns, or build bars from trades"
                )
            self._bar_intervals[interval] = bar_interval_ns
        by_category: dict[Category, list[str]] = {}
        for symbol in symbols:
            ins = self.symbols.to_venue(symbol)
            topics = by_category.setdefault(ins.category, [])
            if quotes:
                topics.append(f"orderbook.1.{ins.name}")
            if trades:
                topics.append(f"publicTrade.{ins.name}")
            if interval is not None:
                topics.append(f"kline.{interval}.{ins.name}")
        for category, topics in by_category.items():
            stream = await self._stream(category)
            await stream.subscribe(topics)

    def events(self) -> AsyncIterator[MarketEvent]:
        return aiter(self._out)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in list(self._resyncs):
            task.cancel()
        for stream in self.streams.values():
            await stream.close()
        self._out.end()

    # ── internals ──

    async def _stream(self, category: Category) -> BybitWebSocket:
        stream = self.streams.get(category)
        if stream is not None:
            return stream
        ping, stale, timeout, backoff, rng = self._options
        self.books[category] = BookKeeper(category, self.symbols)
        stream = BybitWebSocket(
            self.config.endpoints().ws_public(category),
            lambda frame, raw: self._on_frame(category, frame),
            name=f"bybit-{category}-public",
            ping_interval_s=ping,
            stale_after_s=stale,
            connect_timeout_s=timeout,
            op_timeout_s=timeout,
            backoff=backoff,
            rng=rng,
            on_failure=self._out.fail,
        )
        self.streams[category] = stream
        await stream.start()
        return stream

    def _on_frame(self, category: Category, frame: Frame) -> None:
        topic = frame.topic
        ts_init = self._clock_ns()
        if topic.startswith("orderbook."):
            quotes, resync = self.books[category].apply(frame, ts_init)
            for quote in quotes:
                self._publish(quote)
            if resync is not None:
                self._resync(category, resync)
        elif topic.startswith("publicTrade."):
            rows = _decode(_trades_dec, frame.data, "publicTrade data")
            for tick in trade_ticks(rows, category, self.symbols, ts_init):
                self._publish(tick)
        elif topic.startswith("kline."):
            _, interval, name = topic.split(".", 2)
            interval_ns = self._bar_intervals.get(interval)
            if interval_ns is None:
                return
            instrument = self.symbols.to_engine(category, name)
            for row in _decode(_klines_dec, frame.data, "kline data"):
                if row.confirm:
                    self._publish(
                        Bar(
                            ts_event=(row.end + 1) * 1_000_000,  # Bybit's end is the last ms of the bar
                            ts_init=ts_init,
                            instrument=instrument,
                            open=row.open,
                            high=row.high,
                            low=row.low,
                            close=row.close,
                            volume=row.volume,
                            interval_ns=interval_ns,
                        )
                    )

    def _resync(self, category: Category, topic: str) -> None:
        stream = self.streams[category]
        task = asyncio.get_running_loop().create_task(self._resubscribe(stream, topic))
        self._resyncs.add(task)
        task.add_done_callback(self._resyncs.discard)

    async def _resubscribe(self, stream: BybitWebSocket, topic: str) -> None:
        try:
            await stream.resubscribe(topic)
        except (ConnectionError, TimeoutError, BybitWsError, OSError):
            # the connection is going: the reconnect subscribes every topic again, snapshot first
            await stream.drop()

    def _publish(self, event: MarketEvent) -> None:
        if not self._closed:
            self._out.put(event)


def _decode(decoder: msgspec.json.Decoder[_T], raw: msgspec.Raw, what: str) -> _T:
    try:
        return decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise VenueMessageError(f"bybit {what} malformed: {exc}") from None
