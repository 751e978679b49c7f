"""Market data for an emulator: a recording played at ``speed`` times real time, or a seeded random
walk; both restamped with wall time, since an emulator's clock is the wall clock.

A recording keeps its spacing (divided by ``speed``) and its prices; its timestamps are shifted so
that its first event happens when play starts. The random walk quotes every instrument each
``interval_s``: a mid that moves by whole ticks (a seeded ``random.Random``), a one-tick spread,
and a trade at the touch every few quotes.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Final

import msgspec

from adapters.emulator.exchange import Exchange, MarketEvent
from engines.model.enums import Side
from engines.model.events import QuoteTick, TradeTick
from engines.model.instruments import InstrumentSpec

__all__ = ["START_PRICES", "drive", "paced", "random_walk"]

#: where the walk starts, by base asset (other KRW stocks at 50,000 KRW, anything else at 100)
START_PRICES: Final[Mapping[str, Decimal]] = {
    "BTC": Decimal(43_000),
    "ETH": Decimal(2_300),
    "005930": Decimal(55_000),  # Samsung Electronics
    "000660": Decimal(120_000),  # SK hynix
}
#: a KRX stock at 100 KRW made an account of 100M KRW buy a million shares in hundreds of
#: executions, which no desk sees and which Kiwoom's paced listings took minutes to read back
_KRW_START: Final = Decimal(50_000)


def random_walk(specs: Iterable[InstrumentSpec], seed: int) -> Iterator[list[MarketEvent]]:
    """Endless rounds of one quote per instrument (and a trade every fourth round), unstamped
    (``ts_event`` 0: :func:`drive` stamps each round when it is played)."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible market, not security
    specs = sorted(specs, key=lambda s: s.symbol)
    mids = {
        s.symbol: START_PRICES.get(s.base, _KRW_START if s.quote == "KRW" else Decimal(100)) for s in specs
    }
    step = 0
    while True:
        round_: list[MarketEvent] = []
        for spec in specs:
            mid = mids[spec.symbol] + spec.tick_size * rng.randint(-3, 3)
            mid = max(mid, spec.tick_size * 10)
            mids[spec.symbol] = mid
            size = spec.lot_size * rng.randint(100, 10_000)
            round_.append(
                QuoteTick(
                    ts_event=0,
                    ts_init=0,
                    instrument=spec.symbol,
                    bid=mid,
                    bid_size=size,
                    ask=mid + spec.tick_size,
                    ask_size=size,
                )
            )
            if step % 4 == 3:
                aggressor = Side.BUY if rng.random() < 0.5 else Side.SELL
                round_.append(
                    TradeTick(
                        ts_event=0,
                        ts_init=0,
                        instrument=spec.symbol,
                        price=mid + spec.tick_size if aggressor is Side.BUY else mid,
                        size=spec.lot_size * rng.randint(1, 100),
                        aggressor=aggressor,
                        trade_id="",
                    )
                )
        step += 1
        yield round_


async def paced(
    events: Iterable[MarketEvent], speed: float, now_ns: Callable[[], int] = time.time_ns
) -> AsyncIterator[MarketEvent]:
    """A recording at ``speed`` times real time, restamped so that its first event is now."""
    first: int | None = None
    start = time.monotonic()
    for event in events:
        if first is None:
            first = event.ts_event
        due = start + (event.ts_event - first) / 1e9 / speed
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        now = now_ns()
        yield msgspec.structs.replace(event, ts_event=now, ts_init=now)


async def drive(
    exchange: Exchange,
    *,
    recording: Iterable[MarketEvent] | None,
    speed: float,
    seed: int,
    interval_s: float,
) -> None:
    """Feed the exchange until cancelled (or until a recording ends), stamped on the exchange's clock:
    a KRX broker's emulator shifts it into a session, and its orders and its market must agree."""
    if recording is not None:
        async for played in paced(recording, speed, exchange.clock.now_ns):
            if played.instrument not in exchange.specs:
                continue
            if isinstance(played, TradeTick) and not played.trade_id:
                exchange.feed(msgspec.structs.replace(played, trade_id=str(exchange.next_market_trade_id())))
            else:
                exchange.feed(played)
        return
    for round_ in random_walk(exchange.specs.values(), seed):
        now = exchange.clock.now_ns()
        for event in round_:
            if isinstance(event, TradeTick):
                trade_id = str(exchange.next_market_trade_id())
                exchange.feed(msgspec.structs.replace(event, ts_event=now, ts_init=now, trade_id=trade_id))
            else:
                exchange.feed(msgspec.structs.replace(event, ts_event=now, ts_init=now))
        await asyncio.sleep(interval_s)
