"""Paper mode against a venue: its market data from the emulator, matching by the local simulated
venue, and not one order reaching the venue."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

import aiohttp
import pytest

from adapters.binance.emulator import serve_binance
from adapters.bybit.emulator import serve_bybit
from adapters.emulator import EmulatorOptions
from adapters.paper import PaperVenue
from adapters.registry import market_data_for
from engines.markets.specs import spec_for
from engines.model.commands import SubmitOrder
from engines.model.enums import OrderType, Side
from engines.model.events import OrderAccepted


@pytest.mark.parametrize(
    ("serve", "venue", "symbol"),
    [(serve_binance, "binance", "binance-usdm:BTCUSDT"), (serve_bybit, "bybit", "bybit-spot:BTCUSDT")],
)
async def test_paper_trades_on_the_venues_quotes_and_sends_nothing(
    serve: object, venue: str, symbol: str
) -> None:
    async with await serve(EmulatorOptions(walk=True, walk_interval_s=0.01, seed=2)) as emu:  # type: ignore[operator]
        market = market_data_for(venue, [symbol], rest_url=emu.http_root, ws_url=emu.ws_root)
        paper = PaperVenue(venue, market, [spec_for(symbol)], {"USDT": D(100_000)})
        await paper.subscribe([symbol], trades=False)
        stream = paper.events()
        async with asyncio.timeout(5):
            await anext(stream)  # the first quote gives the paper venue its price
            order = SubmitOrder(
                ts_event=0,
                ts_init=0,
                strategy="paper",
                venue=venue,
                client_order_id="paper-00000001",
                instrument=symbol,
                side=Side.BUY,
                order_type=OrderType.MARKET,
                quantity=D("0.01"),
            )
            assert isinstance((await paper.execution.submit(order))[0], OrderAccepted)
            while sum(f.last_qty for f in await paper.execution.fills_since(None)) < order.quantity:
                await anext(stream)  # a taker fills up to each quote's size
        fills = await paper.execution.fills_since(None)
        assert sum(f.last_qty for f in fills) == D("0.01")
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{emu.http_root}/_emulator/state") as resp,
        ):
            state = await resp.json()
        await paper.close()
    account = next(iter(state["accounts"].values()))
    assert account["orders"] == [] and account["creates"] == []  # no order left the process
