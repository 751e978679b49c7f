""":class:`BinanceMarketData`: the market-data port (:class:`adapters.ports.MarketDataClient`) on
Binance spot or USD-M: ``bookTicker`` as quotes, ``trade`` as trades, closed ``kline`` bars as bars.

Streams are named in the URL of a combined stream (``/stream?streams=a/b/c``: frames arrive wrapped
``{"stream", "data"}``), so a reconnect resubscribes by itself: the URL is rebuilt from the current
subscriptions on every attempt, and a new :meth:`~BinanceMarketData.subscribe` reconnects with the
larger set. USD-M serves its market streams on two paths, ``/public`` (the book: ``bookTicker``,
depth) and ``/market`` (trades, klines); a stream on the wrong path is silently empty, so the client
keeps one connection per path.

Each connection is a :class:`~adapters.binance.ws.WsConnection`: connect timeout, jittered backoff,
a stream silent for ``stale_after_s`` treated as dead, the planned cut before Binance's 24 h one.
A gap while reconnecting is a gap: quotes and trades are not replayed (``reconnects`` counts them).

:class:`DepthBook` keeps a local order book from a snapshot and the depth diff stream, with
Binance's gap detection (``U``/``u``, USD-M ``pu``). The port has no book event yet, so it is not
wired into the client's subscriptions (a later session: a ``depth`` subscription that resyncs from
``/api/v3/depth`` or ``/fapi/v1/depth`` on every gap).
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from typing import Final

from adapters.binance.config import BinanceConfig
from adapters.binance.parsers import SPOT, USDM, BinanceParser, SymbolMap
from adapters.binance.rest import Market
from adapters.binance.schemas import DepthSnapshot, DepthUpdate
from adapters.binance.ws import BinanceWsError, WsConnection
from adapters.ports import MarketEvent
from adapters.transport import Backoff
from adapters.transport.stream import EventStream
from adapters.venue_errors import UnknownVenueSymbolError
from engines.model.instruments import market_of

__all__ = ["KLINE_INTERVALS", "BinanceMarketData", "DepthBook", "kline_interval"]

_S: Final = 1_000_000_000
#: Binance's kline intervals by length in ns (``1s`` is spot only)
KLINE_INTERVALS: Final[dict[int, str]] = {
    _S: "1s",
    60 * _S: "1m",
    180 * _S: "3m",
    300 * _S: "5m",
    900 * _S: "15m",
    1800 * _S: "30m",
    3600 * _S: "1h",
    7200 * _S: "2h",
    14400 * _S: "4h",
    21600 * _S: "6h",
    28800 * _S: "8h",
    43200 * _S: "12h",
    86400 * _S: "1d",
    259200 * _S: "3d",
    604800 * _S: "1w",
}
_BOOK_STREAMS: Final = ("@bookTicker", "@depth")


def kline_interval(interval_ns: int, market: Market) -> str:
    """Binance's name of a bar interval; :class:`BinanceWsError` (VT804) for one it has no stream of."""
    name = KLINE_INTERVALS.get(interval_ns)
    if name is None or (name == "1s" and market != "spot"):
        raise BinanceWsError(
            f"binance {market} has no kline stream of {interval_ns} ns",
            hint=f"Bar intervals Binance streams: {', '.join(KLINE_INTERVALS.values())} (1s on spot only).",
        )
    return name


class BinanceMarketData:
    """Quotes, trades and bars of one Binance market; one consumer of :meth:`events`."""

    def __init__(
        self,
        config: BinanceConfig,
        market: Market = "spot",
        *,
        venue: str = "binance",
        connect_timeout_s: float = 10.0,
        stale_after_s: float | None = 60.0,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.market: Market = market
        self.venue = venue
        self._name = SPOT if market == "spot" else USDM
        self.connect_timeout_s = connect_timeout_s
        self.stale_after_s = stale_after_s
        self._backoff = backoff
        self._rng = rng
        self._symbols: list[str] = []  # venue symbols, in subscription order
        self._parser = BinanceParser(SymbolMap(self._name, ()), venue)
        self._streams: dict[str, list[str]] = {}  # path → stream names
        self._connections: dict[str, WsConnection] = {}
        self._urls: dict[str, UrlOf] = {}
        self._out: EventStream[MarketEvent] = EventStream()
        self._closed = False
        #: frames that carried no event the port uses (acks, other streams, open klines)
        self.ignored = 0

    @property
    def connections(self) -> dict[str, WsConnection]:
        return dict(self._connections)

    @property
    def reconnects(self) -> int:
        return sum(c.reconnects for c in self._connections.values())

    async def subscribe(
        self,
        symbols: Iterable[str],
        *,
        quotes: bool = True,
        trades: bool = True,
        bar_interval_ns: int | None = None,
    ) -> None:
        wanted: list[str] = []
        for symbol in symbols:
            if market_of(symbol) != self._name or ":" not in symbol:
                raise UnknownVenueSymbolError(f"{symbol!r} is not a {self._name} symbol")
            wanted.append(symbol.split(":", 1)[1])
        interval = None if bar_interval_ns is None else kline_interval(bar_interval_ns, self.market)
        for venue_symbol in wanted:
            if venue_symbol not in self._symbols:
                self._symbols.append(venue_symbol)
            low = venue_symbol.lower()
            if quotes:
                self._add(f"{low}@bookTicker")
            if trades:
                self._add(f"{low}@trade")
            if interval is not None:
                self._add(f"{low}@kline_{interval}")
        self._parser = BinanceParser(SymbolMap(self._name, self._symbols), self.venue)
        for path in self._streams:
            connection = self._connections.get(path)
            if connection is None:
                url = self._urls[path] = self._url_of(path)
                connection = self._connections[path] = WsConnection(
                    f"{self.venue}-{self.market}-market{path}",
                    url,
                    on_message=self._on_frame,
                    connect_timeout_s=self.connect_timeout_s,
                    stale_after_s=self.stale_after_s,
                    backoff=self._backoff,
                    rng=self._rng,
                )
                await connection.start(timeout_s=self.connect_timeout_s)
            elif self._urls[path].last != self._streams[path]:
                connection.reconnect("subscriptions changed")
                await connection.wait_open(self.connect_timeout_s)

    def _add(self, stream: str) -> None:
        path = ""
        if self.market == "usdm":
            path = "/public" if stream.endswith(_BOOK_STREAMS) else "/market"
        streams = self._streams.setdefault(path, [])
        if stream not in streams:
            streams.append(stream)

    def _url_of(self, path: str) -> UrlOf:
        root = self.config.urls.spot_ws_stream if self.market == "spot" else self.config.urls.usdm_ws
        return UrlOf(self._streams, root, path)

    def _on_frame(self, data: bytes) -> None:
        event = self._parser.market_event(data, time.time_ns())
        if event is None:
            self.ignored += 1
            return
        if not self._closed:
            self._out.put(event)

    def events(self) -> AsyncIterator[MarketEvent]:
        return aiter(self._out)

    async def close(self) -> None:
        for connection in self._connections.values():
            await connection.close()
        self._connections.clear()
        if not self._closed:
            self._closed = True
            self._out.end()


class UrlOf:
    """The combined-stream URL of one path, built from the subscriptions at each connect."""

    def __init__(self, streams: dict[str, list[str]], root: str, path: str) -> None:
        self._streams = streams
        self._root = root
        self._path = path
        self.last: list[str] = []

    async def __call__(self) -> str:
        self.last = list(self._streams.get(self._path, []))
        return f"{self._root}{self._path}/stream?streams={'/'.join(self.last)}"


class DepthBook:
    """One symbol's order book kept from a REST snapshot and the ``depth`` diff stream, with Binance's
    gap rules (spot ``web-socket-streams.md``, USD-M "How to manage a local order book"):

    * diffs that arrive before the snapshot are buffered; once it is in, those with
      ``u <= lastUpdateId`` are dropped and the first one applied must straddle it
      (spot ``U <= lastUpdateId + 1 <= u``; USD-M ``U <= lastUpdateId <= u``);
    * after that each diff must follow the previous one (spot ``U == previous u + 1``; USD-M
      ``pu == previous u``). Anything else is a gap: the book is no longer true, :meth:`on_diff`
      answers False, and the owner fetches a new snapshot (:attr:`synced` is False until then).

    Quantities are absolute: a level with quantity 0 is removed.
    """

    MAX_BUFFER: Final = 10_000

    def __init__(self, symbol: str, *, futures: bool) -> None:
        self.symbol = symbol
        self.futures = futures
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.last_update_id: int | None = None
        self.synced = False
        self.gaps = 0
        self._buffer: list[DepthUpdate] = []

    def on_snapshot(self, snapshot: DepthSnapshot) -> bool:
        """Start from ``snapshot`` and apply the buffered diffs; False when they do not connect to it
        (a newer snapshot is needed)."""
        self.bids = {p: q for p, q in snapshot.bids if q}
        self.asks = {p: q for p, q in snapshot.asks if q}
        self.last_update_id = snapshot.last_update_id
        self.synced = False
        buffered, self._buffer = self._buffer, []
        connected = True
        for diff in buffered:  # after a gap the rest are buffered again, for the next snapshot
            connected = self.on_diff(diff) and connected
        return connected

    def on_diff(self, diff: DepthUpdate) -> bool:
        """Apply one diff; False on a gap (the book is then unsynced and waits for a snapshot)."""
        last = self.last_update_id
        if last is None:  # no snapshot yet: keep it for when the snapshot comes
            if len(self._buffer) < self.MAX_BUFFER:
                self._buffer.append(diff)
            return True
        if diff.last_update_id <= last:
            return True  # older than the book: already in it
        if not self.synced:
            low = last if self.futures else last + 1
            if not diff.first_update_id <= low <= diff.last_update_id:
                return self._gap()
        elif self.futures:
            if diff.prev_last_update_id != last:
                return self._gap()
        elif diff.first_update_id != last + 1:
            return self._gap()
        for side, levels in ((self.bids, diff.bids), (self.asks, diff.asks)):
            for price, qty in levels:
                if qty:
                    side[price] = qty
                else:
                    side.pop(price, None)
        self.last_update_id = diff.last_update_id
        self.synced = True
        return True

    def _gap(self) -> bool:
        self.gaps += 1
        self.synced = False
        self.last_update_id = None  # buffer from here until the next snapshot
        return False

    def best(self) -> tuple[Decimal | None, Decimal | None]:
        """The best bid and ask (None for an empty side)."""
        return (max(self.bids) if self.bids else None, min(self.asks) if self.asks else None)
