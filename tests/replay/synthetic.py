"""Synthetic market data and strategies for tests that need a stream longer than the replay's queue.

The replay hands batches of 4,096 events to the engine through a queue of 8 batches, so a stream of
60,000 events is past the queue's depth: a hand-off that waits on a dead reader shows as a hang.
"""

from __future__ import annotations

import gzip
from pathlib import Path

START_NS = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z
MINUTE_NS = 60 * 10**9
PAST_QUEUE = 60_000


def write_bars(directory: Path, market: str, instrument: str, rows: int = PAST_QUEUE) -> Path:
    """Minute bars of a gentle saw-tooth around 100, in the shared/data bar format."""
    path = directory / f"{market}_{instrument}_bars1m_20240101-20240201.csv.gz"
    lines = ["ts_ns,open,high,low,close,volume"]
    for i in range(rows):
        price = 100 + (i % 50) - 25 if i % 100 < 50 else 100 - (i % 50) + 25
        lines.append(f"{START_NS + i * MINUTE_NS},{price},{price + 1},{price - 1},{price},10")
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=1))
    return path


def write_quotes(
    directory: Path, market: str, instrument: str, rows: int = PAST_QUEUE // 2, bid: str = "100.00"
) -> Path:
    """Quotes 10 ms apart, one tick wide around ``bid``, in the shared/data quote format."""
    path = directory / f"{market}_{instrument}_quotes_20240101.csv.gz"
    ask = f"{float(bid) + 0.01:.2f}"
    lines = ["ts_ns,bid,bid_qty,ask,ask_qty"]
    lines.extend(f"{START_NS + i * 10_000_000},{bid},5,{ask},5" for i in range(rows))
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=1))
    return path


SINGLE_RAISES = """
from engines.sdk import Bar, Context, Params, Signal, SingleAssetStrategy


class P(Params, frozen=True, kw_only=True):
    symbol: str = "binance-spot:BTCUSDT"


class Raises(SingleAssetStrategy[P]):
    name = "raises"

    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        if ctx.now_ns > {at}:
            raise ValueError("the strategy's own bug")
        return None


STRATEGY = Raises
"""

PORTFOLIO_BREAKS_CONTRACT = """
from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

from engines.sdk import Bar, Context, Params, PortfolioStrategy, Weights


class P(Params, frozen=True, kw_only=True):
    universe: str = "binance-spot:BTCUSDT,binance-usdm:BTCUSDT"
    schedule: Literal["daily", "weekly", "monthly", "on_demand"] = "daily"


class Breaks(PortfolioStrategy[P]):
    name = "breaks"

    def rebalance(self, ctx: Context, bars: Mapping[str, Bar]) -> Weights:
        if ctx.now_ns > {at}:
            return {{"binance-spot:BTCUSDT": Decimal(2)}}
        return {{}}


STRATEGY = Breaks
"""

ARBITRAGE_RAISES = """
from engines.sdk import ArbIntent, ArbitrageParams, ArbitrageStrategy, Context, Snapshot


class P(ArbitrageParams, frozen=True, kw_only=True):
    legs: str = "binance-spot:BTCUSDT,binance-usdm:BTCUSDT"


class Raises(ArbitrageStrategy[P]):
    name = "raises"

    def on_snapshot(self, ctx: Context, snapshot: Snapshot) -> ArbIntent | None:
        if ctx.now_ns > {at}:
            raise ValueError("the strategy's own bug")
        return None


STRATEGY = Raises
"""

SINGLE_SPINS = """
from engines.sdk import Bar, Context, Params, Signal, SingleAssetStrategy


class P(Params, frozen=True, kw_only=True):
    symbol: str = "binance-spot:BTCUSDT"


class Spins(SingleAssetStrategy[P]):
    name = "spins"

    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        n = 0
        while True:
            n += 1


STRATEGY = Spins
"""

SINGLE_NOOP = """
from engines.sdk import Bar, Context, Params, Signal, SingleAssetStrategy


class P(Params, frozen=True, kw_only=True):
    symbol: str = "binance-spot:BTCUSDT"


class Noop(SingleAssetStrategy[P]):
    name = "noop"

    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        return None


STRATEGY = Noop
"""


def strategy(directory: Path, name: str, template: str, *, at_ns: int = START_NS) -> Path:
    path = directory / f"{name}.py"
    path.write_text(template.format(at=at_ns) if "{at}" in template else template)
    return path
