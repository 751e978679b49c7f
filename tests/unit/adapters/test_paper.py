"""Paper trading: a venue's market data, matched by the local simulated venue; no order leaves."""

from __future__ import annotations

import itertools
import time
from decimal import Decimal as D
from pathlib import Path

import msgspec

from adapters.paper import PaperVenue
from adapters.sim.market_data import ReplayMarketData
from daemon.data.csvfiles import read_events
from engines.markets.specs import spec_for
from engines.model.commands import SubmitOrder
from engines.model.enums import OrderType, Side
from engines.model.events import OrderAccepted, OrderRejected, QuoteTick

SPOT = "binance-spot:BTCUSDT"


def buy(cid: str) -> SubmitOrder:
    return SubmitOrder(
        ts_event=0,
        ts_init=0,
        strategy="paper",
        venue="binance",
        client_order_id=cid,
        instrument=SPOT,
        side=Side.BUY,
        order_type=OrderType.MARKET,
        quantity=D("0.01"),
    )


def live_stream(shared_data: Path, n: int) -> list[QuoteTick]:
    """Recorded quotes restamped one millisecond apart from a second from now, as a live stream's."""
    recorded = itertools.islice(read_events(shared_data / "binance-spot_BTCUSDT_quotes_20240808.csv.gz"), n)
    start = time.time_ns() + 10**9
    out = []
    for k, q in enumerate(recorded):
        assert isinstance(q, QuoteTick)
        out.append(msgspec.structs.replace(q, ts_event=start + k * 10**6, ts_init=start + k * 10**6))
    return out


async def test_paper_orders_fill_on_the_venues_next_quote_before_it_is_passed_on(shared_data: Path) -> None:
    quotes = live_stream(shared_data, 20)
    paper = PaperVenue("binance", ReplayMarketData(quotes), [spec_for(SPOT)], {"USDT": D(10_000)})
    await paper.subscribe([SPOT], trades=False)
    # before any quote the venue has no price: a market order is refused, as the backtest refuses it
    assert isinstance((await paper.execution.submit(buy("p-0")))[0], OrderRejected)
    stream = paper.events()
    first = await anext(stream)
    assert first is quotes[0]
    assert isinstance((await paper.execution.submit(buy("p-1")))[0], OrderAccepted)
    second = await anext(stream)
    fills = await paper.execution.fills_since(None)  # matched before the quote was passed on
    assert [(f.client_order_id, f.last_px, f.ts_event) for f in fills] == [
        ("p-1", second.ask, second.ts_event)
    ]
    rest = [event async for event in stream]
    assert [first, second, *rest] == quotes  # every market event passes through, in order
    balances = await paper.execution.balances()
    assert balances.get("BTC").total == D("0.01")
    assert balances.get("USDT").total == D(10_000) - second.ask * D("0.01") - fills[0].fee
    await paper.close()
