"""BybitMarketData against the Bybit emulator: quotes from orderbook.1, trades from publicTrade, a book
gap resynced from a fresh snapshot, a dropped connection resubscribed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal as D

import msgspec
import pytest

from adapters.bybit.config import BybitConfig
from adapters.bybit.emulator import serve_bybit
from adapters.bybit.market_data import BybitMarketData
from adapters.bybit.schemas import Frame
from adapters.emulator import EmulatorOptions, RunningEmulator
from adapters.ports import MarketEvent
from adapters.transport import Backoff
from adapters.venue_errors import UnknownVenueSymbolError
from engines.model.enums import Side
from engines.model.events import QuoteTick, TradeTick

SPOT = "bybit-spot:BTCUSDT"
LINEAR = "bybit-linear:ETHUSDT"


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    async with await serve_bybit(EmulatorOptions(walk=False)) as running:
        yield running


@pytest.fixture
async def md(emulator: RunningEmulator) -> AsyncIterator[BybitMarketData]:
    client = BybitMarketData(
        BybitConfig.for_emulator(emulator.http_root, emulator.ws_root),
        symbols=[SPOT, LINEAR],
        timeout_s=1.0,
        reconnect=Backoff(base_s=0.01, cap_s=0.05, attempts=10),
    )
    try:
        yield client
    finally:
        await client.close()


async def next_of(
    stream: AsyncIterator[MarketEvent], kind: type[MarketEvent], timeout: float = 2.0
) -> MarketEvent:
    async with asyncio.timeout(timeout):
        async for event in stream:
            if isinstance(event, kind):
                return event
    raise AssertionError("stream ended")


async def test_quotes_and_trades_of_both_categories(emulator: RunningEmulator, md: BybitMarketData) -> None:
    await md.subscribe([SPOT, LINEAR])
    stream = md.events()
    emulator.exchange.quote(SPOT, D("43000.0"), D("43000.1"), D("1.5"), D("2"))
    quote = await next_of(stream, QuoteTick)
    assert isinstance(quote, QuoteTick)
    assert (quote.instrument, quote.bid, quote.ask, quote.bid_size, quote.ask_size) == (
        SPOT,
        D("43000.0"),
        D("43000.1"),
        D("1.5"),
        D("2"),
    )
    emulator.exchange.trade(LINEAR, D("2500.5"), D("0.3"), Side.SELL)
    trade = await next_of(stream, TradeTick)
    assert isinstance(trade, TradeTick)
    assert (trade.instrument, trade.price, trade.size, trade.aggressor) == (
        LINEAR,
        D("2500.5"),
        D("0.3"),
        Side.SELL,
    )


async def test_a_book_gap_resyncs_from_a_fresh_snapshot(
    emulator: RunningEmulator, md: BybitMarketData
) -> None:
    await md.subscribe([SPOT], trades=False)
    stream = md.events()
    emulator.exchange.quote(SPOT, D("100"), D("101"))
    await next_of(stream, QuoteTick)
    stale = {
        "topic": "orderbook.1.BTCUSDT",
        "type": "delta",
        "ts": 1,
        "data": {"s": "BTCUSDT", "b": [["1", "1"]], "a": [], "u": 10**9, "seq": 1},
    }
    resubscribed: list[str] = []
    ws = md.streams["spot"]
    original = ws.resubscribe

    async def spy(topic: str) -> None:
        resubscribed.append(topic)
        await original(topic)

    ws.resubscribe = spy  # type: ignore[method-assign]
    md._on_frame("spot", msgspec.json.decode(json.dumps(stale).encode(), type=Frame))
    assert md.books["spot"].gaps == 1
    # the resubscription's snapshot rebuilds the book: the first quote after the gap is the venue's
    quote = await next_of(stream, QuoteTick)
    assert isinstance(quote, QuoteTick) and (quote.bid, quote.ask) == (D("100"), D("101"))
    assert resubscribed == ["orderbook.1.BTCUSDT"]
    emulator.exchange.quote(SPOT, D("102"), D("103"))
    quote = await next_of(stream, QuoteTick)
    assert isinstance(quote, QuoteTick) and (quote.bid, quote.ask) == (D("102"), D("103"))


async def test_a_dropped_connection_resubscribes(emulator: RunningEmulator, md: BybitMarketData) -> None:
    await md.subscribe([SPOT], trades=False)
    stream = md.events()
    await md.streams["spot"].drop()
    async with asyncio.timeout(2.0):
        while md.streams["spot"].connects < 2:
            await asyncio.sleep(0.01)
    emulator.exchange.quote(SPOT, D("200"), D("201"))
    quote = await next_of(stream, QuoteTick)
    assert isinstance(quote, QuoteTick) and quote.ask == D("201")


async def test_bars_of_an_interval_bybit_does_not_publish_are_refused(md: BybitMarketData) -> None:
    with pytest.raises(UnknownVenueSymbolError):
        await md.subscribe([SPOT], bar_interval_ns=7 * 10**9)
