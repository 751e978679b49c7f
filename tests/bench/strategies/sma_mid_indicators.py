"""Same-workload benchmark on the SDK's indicators: the rules of sma_mid_hand.py, with SMA and Cross.

``Cross`` compares the two averages exactly (their sums cross-multiplied) and calls below, equal, above
no cross, which is the rule sma_mid_hand.py spells out by hand; the two must trade identically.
"""

from decimal import Decimal

from engines.sdk import (
    SMA,
    Context,
    Cross,
    Mid,
    Params,
    QuoteTick,
    Signal,
    SingleAssetStrategy,
    TargetPosition,
)


class SmaMidParams(Params, frozen=True, kw_only=True):
    symbol: str = "binance-usdm:BTCUSDT"
    fast: int = 10
    slow: int = 30
    size: Decimal = Decimal("0.002")


class SmaMidIndicators(SingleAssetStrategy[SmaMidParams]):
    name = "sma_mid_indicators"

    def on_start(self, ctx: Context) -> None:
        self.mid = Mid()
        self.fast = SMA(self.params.fast)
        self.slow = SMA(self.params.slow)
        self.cross = Cross()

    def on_quote(self, ctx: Context, quote: QuoteTick) -> Signal:
        mid = self.mid.update(quote)
        self.fast.update(mid)
        self.slow.update(mid)
        crossed = self.cross.update(self.fast, self.slow)
        if not crossed:
            return None
        held = ctx.position(quote.instrument)
        if crossed > 0 and held == 0:
            return TargetPosition(self.params.size)
        if crossed < 0 and held > 0:
            return TargetPosition(Decimal(0))
        return None


STRATEGY = SmaMidIndicators
