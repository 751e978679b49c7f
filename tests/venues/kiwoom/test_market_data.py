"""Trades (0B) and the top of the book (0D), parsed and streamed from the emulator."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

import pytest

from adapters.emulator.options import TEST_API_KEY, TEST_API_SECRET, EmulatorOptions
from adapters.kiwoom.config import KiwoomConfig
from adapters.kiwoom.emulator import serve_kiwoom
from adapters.kiwoom.market_data import KiwoomMarketData, quote_tick, trade_tick
from adapters.kiwoom.schemas import RealItem
from adapters.venue_errors import VenueMessageError
from engines.model.enums import Side
from engines.model.events import QuoteTick, TradeTick

NOW = 1_796_256_000 * 10**9  # 2026-12-03 09:00 KST


def test_trade_push() -> None:
    item = RealItem(type="0B", item="005930", values={"20": "091500", "10": "-70800", "15": "-25"})
    tick = trade_tick(item, NOW, 3)
    assert (tick.price, tick.size, tick.aggressor) == (D(70800), D(25), Side.SELL)
    assert tick.ts_event == NOW + 15 * 60 * 10**9 and tick.trade_id == "005930-091500-3"
    assert (
        trade_tick(RealItem(type="0B", item="005930", values={"10": "+1", "15": "+2"}), NOW, 1).aggressor
        is Side.BUY
    )
    with pytest.raises(VenueMessageError):
        trade_tick(RealItem(type="0B", item="005930", values={"10": "x", "15": "1"}), NOW, 1)


def test_book_push() -> None:
    values = {"21": "090001", "41": "+70100", "51": "-70000", "61": "000120", "71": "000300"}
    tick = quote_tick(RealItem(type="0D", item="005930", values=values), NOW)
    assert tick is not None
    assert (tick.bid, tick.bid_size, tick.ask, tick.ask_size) == (D(70000), D(300), D(70100), D(120))
    assert quote_tick(RealItem(type="0D", item="005930", values={**values, "41": ""}), NOW) is None


async def test_stream_from_the_emulator(tmp_path: Path) -> None:
    emu = await serve_kiwoom(EmulatorOptions(walk=False, symbols=("krx:005930",)))
    try:
        md = KiwoomMarketData(
            KiwoomConfig.for_emulator(emu.http_root, emu.ws_root),
            TEST_API_KEY,
            TEST_API_SECRET,
            token_dir=tmp_path,
        )
        await md.subscribe(["krx:005930"])
        emu.exchange.quote("krx:005930", D(70000), D(70100), D(5), D(6))
        emu.exchange.trade("krx:005930", D(70100), D(2), Side.BUY)
        got: list[object] = []
        async with asyncio.timeout(3):
            async for event in md.events():
                got.append(event)
                if len(got) == 2:
                    break
        await md.close()
        quote, trade = got
        assert isinstance(quote, QuoteTick) and (quote.bid, quote.ask_size) == (D(70000), D(6))
        assert isinstance(trade, TradeTick) and (trade.price, trade.size, trade.aggressor) == (
            D(70100),
            D(2),
            Side.BUY,
        )
    finally:
        await emu.close()
