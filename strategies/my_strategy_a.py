"""My strategy A: the one file a strategy author edits.

To switch the strategy type, edit the one line ``STRATEGY_TYPE = ...`` just below the imports:

    STRATEGY_TYPE = "single"      # one symbol: SMA cross on daily bars of Samsung Electronics
    STRATEGY_TYPE = "portfolio"   # a universe: equal weights over six KOSPI stocks, monthly
    STRATEGY_TYPE = "arbitrage"   # 2-3 legs: Binance spot vs USD-M perpetual spread

Each example below is complete and passes ``vibetrading validate``. Override any parameter on the
command line, e.g. ``--param fast=10`` or ``--param symbol=krx:000660``. This file runs inside the
strategy sandbox (docs/sandbox.md): import only the SDK and pure standard-library modules, and take
time, holdings and randomness from ``ctx``.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Literal

from engines.sdk import (
    SMA,
    ArbIntent,
    ArbitrageParams,
    ArbitrageStrategy,
    Bar,
    Bounds,
    Context,
    LegOrder,
    Params,
    PortfolioStrategy,
    Side,
    Signal,
    SingleAssetStrategy,
    Snapshot,
    TargetPosition,
    Weights,
    compare,
)

STRATEGY_TYPE = "single"  # ← the one-line switch: "single" | "portfolio" | "arbitrage"


# ── single: one symbol ──────────────────────────────────────────────────────────────────────────


class SmaCrossParams(Params, frozen=True, kw_only=True):
    symbol: str = "krx:005930"
    fast: Annotated[int, Bounds(ge=1)] = 5
    slow: Annotated[int, Bounds(ge=2)] = 20
    size: Annotated[Decimal, Bounds(gt=0)] = Decimal(10)


class SmaCrossA(SingleAssetStrategy[SmaCrossParams]):
    """Long ``size`` while the fast SMA of the close is above the slow one; flat otherwise.

    The averages are the SDK's ``SMA`` (docs/indicators.md), compared exactly by ``compare``. A tie
    keeps the side seen before it, so below, equal, above counts as a cross here (the SDK's ``Cross``
    calls that a touch; use it for the stricter rule).
    """

    name = "my_strategy_a_single"

    def on_start(self, ctx: Context) -> None:
        self.fast = SMA(self.params.fast)
        self.slow = SMA(self.params.slow)
        self.was_above: bool | None = None

    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        self.fast.update(bar.close)
        self.slow.update(bar.close)
        relation = compare(self.fast, self.slow)  # None while warming up, else -1, 0 or 1
        if not relation:
            return None
        above = relation > 0
        crossed = self.was_above is not None and above != self.was_above
        self.was_above = above
        if not crossed:
            return None
        return TargetPosition(self.params.size if above else Decimal(0))


# ── portfolio: a universe with target weights ───────────────────────────────────────────────────


class EqualWeightParams(Params, frozen=True, kw_only=True):
    universe: str = "krx:005380,krx:005930,krx:015760,krx:035420,krx:051910,krx:068270"
    schedule: Literal["daily", "weekly", "monthly"] = "monthly"
    cash_buffer: Annotated[Decimal, Bounds(ge=0, lt=1)] = Decimal("0.02")


class EqualWeightA(PortfolioStrategy[EqualWeightParams]):
    """Equal weights over the universe, keeping ``cash_buffer`` of equity in cash."""

    name = "my_strategy_a_portfolio"

    def rebalance(self, ctx: Context, bars: Mapping[str, Bar]) -> Weights:
        invested = Decimal(1) - self.params.cash_buffer
        weight = (invested / len(self.universe)).quantize(Decimal("0.000001"), rounding="ROUND_DOWN")
        return {symbol: weight for symbol in self.universe}


# ── arbitrage: 2-3 aligned legs ─────────────────────────────────────────────────────────────────


class SpreadArbParams(ArbitrageParams, frozen=True, kw_only=True):
    legs: str = "binance-spot:BTCUSDT,binance-usdm:BTCUSDT"
    entry_bps: Annotated[Decimal, Bounds(gt=0)] = Decimal(1)
    exit_bps: Annotated[Decimal, Bounds(ge=0)] = Decimal("0.2")
    size: Annotated[Decimal, Bounds(gt=0)] = Decimal("0.002")  # base units (BTC), >= every leg's minimum


class SpreadArbA(ArbitrageStrategy[SpreadArbParams]):
    """Sell the rich leg and buy the cheap one when their mids differ by more than ``entry_bps``;
    buy back and sell out, in reverse order, once that pair's spread is below ``exit_bps``.

    A spot leg cannot be sold short, so an entry whose rich leg is spot waits. Quantities are in
    base units for every leg: the engine converts them into contracts for inverse legs.
    """

    name = "my_strategy_a_arbitrage"

    def on_start(self, ctx: Context) -> None:
        self.pair: tuple[str, str] | None = None  # (rich, cheap) of the last entry

    def on_snapshot(self, ctx: Context, snapshot: Snapshot) -> ArbIntent | None:
        mids = {symbol: snapshot.mid(symbol) for symbol in self.universe}
        size = self.params.size
        if self.pair is not None and all(ctx.position(symbol) != 0 for symbol in self.pair):
            rich, cheap = self.pair
            if (mids[rich] - mids[cheap]) / mids[cheap] * 10_000 < self.params.exit_bps:
                self.pair = None
                return ArbIntent(
                    (
                        LegOrder(symbol=rich, side=Side.BUY, quantity=size),
                        LegOrder(symbol=cheap, side=Side.SELL, quantity=size),
                    )
                )
            return None
        rich = max(self.universe, key=lambda s: mids[s])
        cheap = min(self.universe, key=lambda s: mids[s])
        spread_bps = (mids[rich] - mids[cheap]) / mids[cheap] * 10_000
        if spread_bps <= self.params.entry_bps or rich.split(":", 1)[0].endswith("-spot"):
            return None
        self.pair = (rich, cheap)
        return ArbIntent(
            (
                LegOrder(symbol=rich, side=Side.SELL, quantity=size),
                LegOrder(symbol=cheap, side=Side.BUY, quantity=size),
            )
        )


STRATEGY = {"single": SmaCrossA, "portfolio": EqualWeightA, "arbitrage": SpreadArbA}.get(STRATEGY_TYPE)
