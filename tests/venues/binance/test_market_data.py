"""The market-data client on the Binance emulator: quotes and trades on the combined stream (USD-M on
its two paths), reconnect and resubscribe, a larger subscription, bars from closed klines, and the
typed errors of a subscription that cannot be."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal as D

import pytest

from adapters.binance.config import BinanceConfig
from adapters.binance.emulator import serve_binance
from adapters.binance.market_data import BinanceMarketData, DepthBook
from adapters.binance.parsers import BinanceParser, SymbolMap
from adapters.binance.rest import Market
from adapters.binance.schemas import DepthSnapshot, DepthUpdate
from adapters.binance.ws import BinanceWsError
from adapters.emulator import EmulatorOptions, RunningEmulator, parse_faults
from adapters.ports import MarketEvent
from adapters.transport import Backoff
from adapters.venue_errors import UnknownVenueSymbolError
from engines.model.enums import Side
from engines.model.events import Bar, QuoteTick, TradeTick

MINUTE = 60 * 10**9
SYMBOLS = ("binance-spot:BTCUSDT", "binance-spot:ETHUSDT", "binance-usdm:BTCUSDT")


class Feed:
    def __init__(self, emulator: RunningEmulator, client: BinanceMarketData) -> None:
        self.emulator = emulator
        self.client = client
        self.events: list[MarketEvent] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for event in self.client.events():
            self.events.append(event)

    async def until(self, check: Callable[[], bool], timeout_s: float = 2.0) -> None:
        async with asyncio.timeout(timeout_s):
            while not check():
                await asyncio.sleep(0.01)


@pytest.fixture
async def feed() -> AsyncIterator[Callable[..., Awaitable[Feed]]]:
    made: list[Feed] = []

    async def make(market: Market = "spot", faults: str = "") -> Feed:
        options = EmulatorOptions(walk=False, symbols=SYMBOLS, faults=parse_faults(faults), seed=3)
        emulator = await serve_binance(options)
        config = BinanceConfig.for_emulator(emulator.http_root, emulator.ws_root)
        client = BinanceMarketData(
            config, market, connect_timeout_s=1.0, backoff=Backoff(base_s=0.01, cap_s=0.05, attempts=3)
        )
        made.append(Feed(emulator, client))
        return made[-1]

    yield make
    for f in made:
        await f.client.close()
        await f._reader
        await f.emulator.close()


@pytest.mark.parametrize("market", ["spot", "usdm"])
async def test_quotes_and_trades_arrive_as_engine_events(
    feed: Callable[..., Awaitable[Feed]], market: Market
) -> None:
    f = await feed(market)
    symbol = f"binance-{market}:BTCUSDT"
    await f.client.subscribe([symbol], bar_interval_ns=MINUTE)
    f.emulator.exchange.quote(symbol, D(43000), D("43000.1"), D(2), D(3))
    f.emulator.exchange.trade(symbol, D("43000.1"), D("0.5"), Side.BUY)
    await f.until(lambda: len(f.events) >= 2)
    # USD-M quotes and trades come on two connections: their order between them is not defined
    quote = next(e for e in f.events if isinstance(e, QuoteTick))
    trade = next(e for e in f.events if isinstance(e, TradeTick))
    assert isinstance(quote, QuoteTick) and (quote.instrument, quote.bid, quote.ask_size) == (
        symbol,
        D(43000),
        D(3),
    )
    assert isinstance(trade, TradeTick) and (trade.price, trade.size, trade.aggressor) == (
        D("43000.1"),
        D("0.5"),
        Side.BUY,
    )
    # USD-M's book streams are on /public, the rest on /market (the wrong path is silently empty)
    assert set(f.client.connections) == ({""} if market == "spot" else {"/public", "/market"})


async def test_a_dropped_stream_reconnects_and_resubscribes(feed: Callable[..., Awaitable[Feed]]) -> None:
    f = await feed("spot", "drop-ws=0.3")
    await f.client.subscribe(["binance-spot:BTCUSDT"], trades=False)
    for i in range(60):
        f.emulator.exchange.quote("binance-spot:BTCUSDT", D(43000 + i), D(43001 + i), D(1), D(1))
        await asyncio.sleep(0.01)
    await f.until(lambda: f.client.reconnects >= 2 and len(f.events) >= 10)
    assert f.emulator.exchange.state()["faults"]["injected"]["drop-ws"] >= 2
    # quotes keep coming after the reconnects: the new connections asked for the same streams
    last = f.events[-1]
    assert isinstance(last, QuoteTick) and last.bid > D(43000)


async def test_a_larger_subscription_reconnects_with_every_stream(
    feed: Callable[..., Awaitable[Feed]],
) -> None:
    f = await feed("spot")
    await f.client.subscribe(["binance-spot:BTCUSDT"], trades=False)
    await f.client.subscribe(["binance-spot:ETHUSDT"], quotes=False)
    f.emulator.exchange.quote("binance-spot:BTCUSDT", D(43000), D(43001), D(1), D(1))
    f.emulator.exchange.trade("binance-spot:ETHUSDT", D(2000), D(1), Side.SELL)
    await f.until(lambda: {type(e) for e in f.events} == {QuoteTick, TradeTick})
    assert {e.instrument for e in f.events} == {"binance-spot:BTCUSDT", "binance-spot:ETHUSDT"}


async def test_subscriptions_that_cannot_be_are_typed_errors(feed: Callable[..., Awaitable[Feed]]) -> None:
    f = await feed("usdm")
    with pytest.raises(UnknownVenueSymbolError):
        await f.client.subscribe(["binance-spot:BTCUSDT"])
    with pytest.raises(BinanceWsError) as caught:
        await f.client.subscribe(["binance-usdm:BTCUSDT"], bar_interval_ns=10**9)  # 1s: spot only
    assert caught.value.code == "VT804"
    with pytest.raises(BinanceWsError):
        await f.client.subscribe(["binance-usdm:BTCUSDT"], bar_interval_ns=7 * MINUTE)


def test_a_closed_kline_is_a_bar_and_an_open_one_is_nothing() -> None:
    parser = BinanceParser(SymbolMap("binance-spot", ["BNBBTC"]))

    def kline(closed: bool) -> bytes:
        return (
            b'{"stream":"bnbbtc@kline_1m","data":{"e":"kline","E":1672515782136,"s":"BNBBTC","k":{'
            b'"t":1672515780000,"T":1672515839999,"s":"BNBBTC","i":"1m","f":100,"L":200,"o":"0.0010",'
            b'"c":"0.0020","h":"0.0025","l":"0.0015","v":"1000","n":100,"x":'
            + (b"true" if closed else b"false")
            + b',"q":"1.0000","V":"500","Q":"0.500","B":"123456"}}}'
        )

    assert parser.market_event(kline(False), 5) is None
    bar = parser.market_event(kline(True), 5)
    assert isinstance(bar, Bar)
    assert (bar.ts_event, bar.interval_ns, bar.open, bar.high, bar.low, bar.close, bar.volume) == (
        1672515840000 * 10**6,
        MINUTE,
        D("0.0010"),
        D("0.0025"),
        D("0.0015"),
        D("0.0020"),
        D(1000),
    )


def _diff(first: int, last: int, prev: int | None = None, bid: str = "1", qty: str = "1") -> DepthUpdate:
    return DepthUpdate(
        event_type="depthUpdate",
        event_time=1,
        symbol="BTCUSDT",
        first_update_id=first,
        last_update_id=last,
        bids=((D(bid), D(qty)),),
        asks=(),
        prev_last_update_id=prev,
    )


SNAPSHOT = DepthSnapshot(last_update_id=100, bids=((D(1), D(5)), (D("0.9"), D(1))), asks=((D(2), D(1)),))


def test_spot_depth_diffs_connect_to_the_snapshot_and_a_gap_is_detected() -> None:
    book = DepthBook("BTCUSDT", futures=False)
    assert book.on_diff(_diff(95, 99))  # before the snapshot: buffered, then dropped as older
    assert book.on_diff(_diff(99, 102, qty="7"))  # straddles lastUpdateId + 1
    assert book.on_snapshot(SNAPSHOT) and book.synced
    assert (book.bids[D(1)], book.last_update_id) == (D(7), 102)
    assert book.on_diff(_diff(103, 105, bid="0.9", qty="0"))  # level removed
    assert D("0.9") not in book.bids and book.best() == (D(1), D(2))
    assert not book.on_diff(_diff(107, 110))  # 106 is missing: a gap
    assert (book.synced, book.gaps) == (False, 1)
    assert book.on_diff(_diff(111, 112))  # buffered until the resync
    assert book.on_snapshot(DepthSnapshot(last_update_id=110, bids=(), asks=()))
    assert (book.synced, book.last_update_id) == (True, 112)


def test_usdm_depth_diffs_chain_by_pu() -> None:
    book = DepthBook("BTCUSDT", futures=True)
    assert book.on_snapshot(SNAPSHOT)
    assert not book.on_diff(_diff(101, 105, prev=99))  # must contain lastUpdateId (U <= 100 <= u)
    assert book.on_snapshot(SNAPSHOT)
    assert book.on_diff(_diff(98, 104, prev=97))
    assert book.on_diff(_diff(105, 108, prev=104))
    assert not book.on_diff(_diff(110, 111, prev=109))  # pu says an event was missed
    assert book.gaps == 2
