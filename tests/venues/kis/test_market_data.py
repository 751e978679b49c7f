"""KIS market data against the emulator: H0STCNT0 trades and H0STASP0 books become TradeTick and
QuoteTick, on a session of their own or on the execution client's (KIS allows one per app key)."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

import pytest

from adapters.emulator.options import TEST_API_KEY, TEST_API_SECRET, EmulatorOptions
from adapters.kis.config import KisConfig
from adapters.kis.emulator import serve_kis
from adapters.kis.errors import KisWsError
from adapters.kis.execution import KisExecutionClient
from adapters.kis.market_data import KisMarketData
from adapters.kis.parsers import split_records, trade_of
from adapters.ports import MarketEvent
from adapters.venue_errors import VenueMessageError
from engines.model.enums import Side
from engines.model.events import QuoteTick, TradeTick

SYMBOL = "krx:005930"


async def _two(events: object) -> list[MarketEvent]:
    out: list[MarketEvent] = []
    async with asyncio.timeout(3.0):
        async for event in events:  # type: ignore[attr-defined]
            out.append(event)
            if len(out) == 2:
                break
    return out


@pytest.mark.parametrize("shared", [False, True])
async def test_trades_and_quotes(tmp_path: Path, shared: bool) -> None:
    emulator = await serve_kis(EmulatorOptions(walk=False, symbols=(SYMBOL,)))
    config = KisConfig.for_emulator(emulator.http_root, emulator.ws_root)
    execution = KisExecutionClient(
        config, TEST_API_KEY, TEST_API_SECRET, symbols=[SYMBOL], cache_dir=tmp_path
    )
    market: KisMarketData | None = None
    try:
        if shared:
            await execution.connect()
        market = KisMarketData(
            config, TEST_API_KEY, TEST_API_SECRET, timeout_s=2.0, stream=execution.stream if shared else None
        )
        await market.subscribe([SYMBOL])
        emulator.exchange.quote(SYMBOL, D(70_000), D(70_100), D(30), D(40))
        emulator.exchange.trade(SYMBOL, D(70_100), D(7), Side.BUY)
        quote, trade = await _two(market.events())
        assert isinstance(quote, QuoteTick) and (quote.bid, quote.ask, quote.bid_size, quote.ask_size) == (
            D(70_000), D(70_100), D(30), D(40),
        )  # fmt: skip
        assert isinstance(trade, TradeTick) and (trade.price, trade.size, trade.aggressor) == (
            D(70_100), D(7), Side.BUY,
        )  # fmt: skip
        assert trade.instrument == SYMBOL and trade.trade_id.startswith("005930-")
        with pytest.raises(KisWsError):
            await market.subscribe([SYMBOL], bar_interval_ns=60_000_000_000)
    finally:
        if market is not None:
            await market.close()
        await execution.close()
        await emulator.close()


def test_records_with_extra_fields_parse_and_short_ones_do_not() -> None:
    fields = ["0"] * 48
    fields[0], fields[1], fields[2], fields[12], fields[21] = "005930", "093000", "70100", "3", "5"
    (record,) = split_records("^".join(fields), 1, 46, "t")
    tick = trade_of(record, 1, "x")
    assert (tick.price, tick.size, tick.aggressor) == (D(70_100), D(3), Side.SELL)
    with pytest.raises(VenueMessageError):
        split_records("^".join(fields[:40]), 1, 46, "t")
