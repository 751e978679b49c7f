"""Building a venue's clients by name: what the CLI (``record``) and the daemon call instead of
knowing each venue package.

A venue's market-data clients are per market (Binance spot and USD-M are separate hosts; Bybit's
public streams are per category), while a user names symbols of any of the venue's markets.
:func:`market_data_for` builds one client per market the symbols need and, when there are several,
joins them in a :class:`MergedMarketData` whose one stream carries every market's events in the
order they arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from pathlib import Path
from typing import Final, Literal

from adapters.ports import MarketDataClient, MarketEvent
from adapters.transport.stream import EventStream
from engines.errors import VibeError
from engines.markets.bar_builder import BarBuilder
from engines.model.events import TradeTick
from engines.model.instruments import market_of

__all__ = [
    "KEYED_MARKET_DATA",
    "MARKETS_OF",
    "STREAMS_BARS",
    "BarsFromTrades",
    "MergedMarketData",
    "VenueSetupError",
    "market_data_for",
]

Environment = Literal["production", "test"]

#: the markets of each venue whose clients exist
MARKETS_OF: Final[dict[str, tuple[str, ...]]] = {
    "binance": ("binance-spot", "binance-usdm"),
    "bybit": ("bybit-spot", "bybit-linear"),
    "kis": ("krx",),
    "kiwoom": ("krx",),
}

#: venues whose market data needs the account's key (the brokers' streams are not public)
KEYED_MARKET_DATA: Final = frozenset({"kis", "kiwoom"})

#: venues that stream bars; for the others, bars are built from their trades (:class:`BarsFromTrades`)
STREAMS_BARS: Final = frozenset({"binance", "bybit"})


class VenueSetupError(VibeError):
    """A venue's client cannot be built as asked: an unknown venue, or a symbol of another venue."""

    code = "VT811"


def market_data_for(
    venue: str,
    symbols: Sequence[str],
    *,
    environment: Environment = "production",
    rest_url: str | None = None,
    ws_url: str | None = None,
    keys: tuple[str, str] | None = None,
    token_dir: Path | None = None,
    clock_ns: Callable[[], int] = time.time_ns,
) -> MarketDataClient:
    """A market-data client of ``venue`` for ``symbols``. ``rest_url``/``ws_url`` point it at
    other roots (an emulator: ``http://127.0.0.1:PORT``, ``ws://127.0.0.1:PORT``). The brokers
    (:data:`KEYED_MARKET_DATA`) need ``keys`` (app key, secret) and cache their token in ``token_dir``;
    their frames carry a time of day only, dated by ``clock_ns`` (the venue's clock: a drill shifts it
    into a KRX session, and the paper venue that matches against these quotes reads the same clock)."""
    if venue not in MARKETS_OF:
        raise VenueSetupError(f"no market-data client for venue {venue!r}; choose {', '.join(MARKETS_OF)}")
    markets = list(dict.fromkeys(market_of(s) for s in symbols))
    foreign = [m for m in markets if m not in MARKETS_OF[venue]]
    if foreign:
        raise VenueSetupError(
            f"{venue} serves {', '.join(MARKETS_OF[venue])}; not {', '.join(foreign)}",
            hint="Name symbols as MARKET:INSTRUMENT, e.g. binance-spot:BTCUSDT or bybit-linear:BTCUSDT.",
        )
    if (rest_url is None) != (ws_url is None):
        raise VenueSetupError("give both --rest-url and --ws-url, or neither")
    clients: dict[str, MarketDataClient] = {}
    if venue in KEYED_MARKET_DATA:
        if keys is None:
            raise VenueSetupError(
                f"{venue} market data needs the account's app key, even in paper mode",
                hint=f"Set [venues.{venue}] credentials in the run configuration.",
            )
        return _broker_market_data(
            venue,
            environment=environment,
            rest_url=rest_url,
            ws_url=ws_url,
            keys=keys,
            token_dir=token_dir,
            clock_ns=clock_ns,
        )
    if venue == "binance":
        from adapters.binance.config import BinanceConfig  # noqa: PLC0415
        from adapters.binance.market_data import BinanceMarketData  # noqa: PLC0415

        config = (
            BinanceConfig.for_emulator(rest_url, ws_url, environment=environment)
            if rest_url is not None and ws_url is not None
            else BinanceConfig(environment=environment)
        )
        for market in markets:
            clients[market] = BinanceMarketData(config, "spot" if market == "binance-spot" else "usdm")
    else:
        from adapters.bybit.config import BybitConfig  # noqa: PLC0415
        from adapters.bybit.market_data import BybitMarketData  # noqa: PLC0415

        # one client serves both categories (a public connection each)
        return BybitMarketData(
            BybitConfig(environment=environment, rest_url=rest_url, ws_url=ws_url), symbols=symbols
        )
    if len(clients) == 1:
        return next(iter(clients.values()))
    return MergedMarketData(clients)


def _broker_market_data(
    venue: str,
    *,
    environment: Environment,
    rest_url: str | None,
    ws_url: str | None,
    keys: tuple[str, str],
    token_dir: Path | None,
    clock_ns: Callable[[], int],
) -> MarketDataClient:
    if venue == "kis":
        from adapters.kis.config import KisConfig  # noqa: PLC0415
        from adapters.kis.market_data import KisMarketData  # noqa: PLC0415

        kis = KisConfig(environment=environment, rest_url=rest_url, ws_url=ws_url)
        return KisMarketData(kis, keys[0], keys[1], cache_dir=token_dir, clock_ns=clock_ns)
    from adapters.kiwoom.config import KiwoomConfig  # noqa: PLC0415
    from adapters.kiwoom.market_data import KiwoomMarketData  # noqa: PLC0415

    kiwoom = KiwoomConfig(environment=environment, rest_url=rest_url, ws_url=ws_url)
    return KiwoomMarketData(kiwoom, keys[0], keys[1], token_dir=token_dir, clock_ns=clock_ns)


class BarsFromTrades:
    """A market-data client that adds bars built from its trades (:class:`~engines.markets.bar_builder.
    BarBuilder`), for a venue that streams no bars of the interval asked for.

    A bar closes on the first trade of a later interval, or on time: a timer closes bars whose end
    has passed on the venue's clock, estimated as the last trade's exchange time plus the wall time
    since it arrived (a venue's clock, or an emulator's shifted one, is not ours).
    """

    def __init__(self, inner: MarketDataClient, *, poll_s: float = 0.1) -> None:
        self._inner = inner
        self._poll_s = poll_s
        self._builder: BarBuilder | None = None
        self._want_trades = True
        self._out: EventStream[MarketEvent] = EventStream()
        self._tasks: list[asyncio.Task[None]] = []
        self._offset_ns: int | None = None  # venue time − wall time, from the last trade
        self._closed = False

    async def subscribe(
        self,
        symbols: Iterable[str],
        *,
        quotes: bool = True,
        trades: bool = True,
        bar_interval_ns: int | None = None,
    ) -> None:
        if bar_interval_ns is None:
            await self._inner.subscribe(symbols, quotes=quotes, trades=trades)
        else:
            self._builder = BarBuilder(bar_interval_ns)
            self._want_trades = trades
            await self._inner.subscribe(symbols, quotes=quotes, trades=True)
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._pump(), name="bars-from-trades")]
            if self._builder is not None:
                self._tasks.append(asyncio.create_task(self._clock(), name="bars-on-time"))

    async def _pump(self) -> None:
        try:
            async for event in self._inner.events():
                builder = self._builder
                if builder is not None and isinstance(event, TradeTick):
                    now = time.time_ns()
                    self._offset_ns = event.ts_event - now
                    for bar in builder.on_trade(event, now):
                        self._out.put(bar)
                    if not self._want_trades:
                        continue
                self._out.put(event)
        except Exception as exc:  # handed to the consumer, which raises it
            self._out.fail(exc)

    async def _clock(self) -> None:
        builder = self._builder
        assert builder is not None
        while not self._closed:
            await asyncio.sleep(self._poll_s)
            if self._offset_ns is None:
                continue
            now = time.time_ns()
            for bar in builder.close_until(now + self._offset_ns, now):
                self._out.put(bar)

    def events(self) -> AsyncIterator[MarketEvent]:
        return aiter(self._out)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._inner.close()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._out.end()


class MergedMarketData:
    """Several markets' clients as one :class:`~adapters.ports.MarketDataClient`: a subscription
    goes to the client of each symbol's market, and one stream carries every client's events."""

    def __init__(self, clients: dict[str, MarketDataClient]) -> None:
        self._clients = clients
        self._out: EventStream[MarketEvent] = EventStream()
        self._pumps: list[asyncio.Task[None]] = []
        self._closed = False

    async def subscribe(
        self,
        symbols: Iterable[str],
        *,
        quotes: bool = True,
        trades: bool = True,
        bar_interval_ns: int | None = None,
    ) -> None:
        by_market: dict[str, list[str]] = {}
        for symbol in symbols:
            by_market.setdefault(market_of(symbol), []).append(symbol)
        for market, wanted in by_market.items():
            client = self._clients.get(market)
            if client is None:
                raise VenueSetupError(f"no client for market {market!r} in this merge")
            await client.subscribe(wanted, quotes=quotes, trades=trades, bar_interval_ns=bar_interval_ns)
        if not self._pumps:
            self._pumps = [
                asyncio.create_task(self._pump(client), name=f"market-data-{market}")
                for market, client in self._clients.items()
            ]

    async def _pump(self, client: MarketDataClient) -> None:
        try:
            async for event in client.events():
                self._out.put(event)
        except Exception as exc:  # handed to the consumer, which raises it
            self._out.fail(exc)

    def events(self) -> AsyncIterator[MarketEvent]:
        return aiter(self._out)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for client in self._clients.values():
            await client.close()
        for pump in self._pumps:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        self._out.end()
