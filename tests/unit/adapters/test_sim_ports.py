"""The sim package against the ports: :class:`ReplayMarketData` filters and ends its recording, and
both sim clients are the protocols of adapters/ports.py."""

from __future__ import annotations

from decimal import Decimal as D

from adapters.ports import ExecutionClient, MarketDataClient, MarketEvent
from adapters.sim.execution import SimExecutionClient
from adapters.sim.market_data import ReplayMarketData
from engines.ledger import Ledger
from engines.model.enums import Side
from engines.model.events import Bar, QuoteTick, TradeTick
from engines.sim.venue import SimVenue

BTC, ETH = "binance-spot:BTCUSDT", "binance-spot:ETHUSDT"
MIN = 60 * 10**9


def quote(symbol: str, t: int) -> QuoteTick:
    return QuoteTick(
        ts_event=t, ts_init=t, instrument=symbol, bid=D(1), bid_size=D(1), ask=D(2), ask_size=D(1)
    )


def trade(symbol: str, t: int) -> TradeTick:
    return TradeTick(
        ts_event=t, ts_init=t, instrument=symbol, price=D(1), size=D(1), aggressor=Side.BUY, trade_id=f"t{t}"
    )


def bar(symbol: str, t: int, interval: int) -> Bar:
    one = D(1)
    return Bar(
        ts_event=t,
        ts_init=t,
        instrument=symbol,
        open=one,
        high=one,
        low=one,
        close=one,
        volume=one,
        interval_ns=interval,
    )


RECORDING: list[MarketEvent] = [
    quote(BTC, 1),
    trade(ETH, 2),
    bar(BTC, 3, MIN),
    trade(BTC, 4),
    bar(BTC, 5, 5 * MIN),
    quote(ETH, 6),
]


def test_both_sim_clients_are_the_ports() -> None:
    assert isinstance(ReplayMarketData([]), MarketDataClient)
    assert isinstance(SimExecutionClient(SimVenue({}, Ledger()), Ledger()), ExecutionClient)


async def test_replay_delivers_only_what_is_subscribed_in_order() -> None:
    md = ReplayMarketData(RECORDING)
    await md.subscribe([BTC], trades=False, bar_interval_ns=MIN)
    assert [e async for e in md.events()] == [RECORDING[0], RECORDING[2]]


async def test_replay_delivers_nothing_unsubscribed_and_stops_at_close() -> None:
    md = ReplayMarketData(RECORDING)
    assert [e async for e in md.events()] == []
    md = ReplayMarketData(RECORDING)
    await md.subscribe([BTC, ETH])
    seen = []
    async for event in md.events():
        seen.append(event)
        if len(seen) == 2:
            await md.close()
    assert seen == [RECORDING[0], RECORDING[1]]
