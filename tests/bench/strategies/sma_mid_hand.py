"""Same-workload benchmark, today's way: SMA fast/slow cross on the quote mid, kept by hand.

Written the way strategies/examples/sma_cross.py keeps its averages (a deque and two running sums, the
comparison cross-multiplied so nothing rounds); long only: enter ``size`` when the fast average crosses
from strictly below to strictly above the slow one while flat, leave when it crosses back while long.
"""

from collections import deque
from decimal import Decimal

from engines.sdk import Context, Params, QuoteTick, Signal, SingleAssetStrategy, TargetPosition


class SmaMidParams(Params, frozen=True, kw_only=True):
    symbol: str = "binance-usdm:BTCUSDT"
    fast: int = 10
    slow: int = 30
    size: Decimal = Decimal("0.002")


class SmaMidHand(SingleAssetStrategy[SmaMidParams]):
    name = "sma_mid_hand"

    def on_start(self, ctx: Context) -> None:
        self.mids: deque[Decimal] = deque(maxlen=max(self.params.fast, self.params.slow))
        self.fast_sum = Decimal(0)
        self.slow_sum = Decimal(0)
        # sign of (fast - slow) at the previous quote: -1 below, 0 equal, +1 above, None undefined
        self.previous: int | None = None

    def on_quote(self, ctx: Context, quote: QuoteTick) -> Signal:
        mid = (quote.bid + quote.ask) / 2
        fast_n, slow_n = self.params.fast, self.params.slow
        mids = self.mids
        # the mid leaving each window, read before the append evicts it
        if len(mids) >= fast_n:
            self.fast_sum -= mids[-fast_n]
        if len(mids) >= slow_n:
            self.slow_sum -= mids[-slow_n]
        mids.append(mid)
        self.fast_sum += mid
        self.slow_sum += mid
        if len(mids) < max(fast_n, slow_n):
            return None
        diff = self.fast_sum * slow_n - self.slow_sum * fast_n
        relation = (diff > 0) - (diff < 0)
        previous, self.previous = self.previous, relation
        if previous is None:
            return None
        held = ctx.position(quote.instrument)
        if held == 0 and previous < 0 < relation:
            return TargetPosition(self.params.size)
        if held > 0 and previous > 0 > relation:
            return TargetPosition(Decimal(0))
        return None


STRATEGY = SmaMidHand
