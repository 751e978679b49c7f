"""Test strategy: SMA cross on the quote mid, trading often enough to exercise fills and fees."""

from collections import deque
from decimal import Decimal

from engines.sdk import Context, Params, QuoteTick, Signal, SingleAssetStrategy, TargetPosition


class MidSmaParams(Params, frozen=True, kw_only=True):
    symbol: str = "binance-spot:BTCUSDT"
    fast: int = 20
    slow: int = 200
    size: Decimal = Decimal("0.01")


class MidSma(SingleAssetStrategy[MidSmaParams]):
    name = "mid_sma"

    def on_start(self, ctx: Context) -> None:
        self.mids: deque[Decimal] = deque(maxlen=self.params.slow)
        self.fast_sum = Decimal(0)
        self.slow_sum = Decimal(0)
        self.above: bool | None = None

    def on_quote(self, ctx: Context, quote: QuoteTick) -> Signal:
        # bid + ask is twice the mid: the cross compares ratios of sums, so the 2 cancels out and
        # no division (the slow Decimal operation) is needed
        mid = quote.bid + quote.ask
        mids = self.mids
        if len(mids) >= self.params.fast:
            self.fast_sum -= mids[-self.params.fast]
        if len(mids) == self.params.slow:
            self.slow_sum -= mids[0]
        mids.append(mid)
        self.fast_sum += mid
        self.slow_sum += mid
        if len(mids) < self.params.slow:
            return None
        diff = self.fast_sum * self.params.slow - self.slow_sum * self.params.fast
        if diff == 0:
            return None
        above = diff > 0
        if above == self.above:
            return None
        self.above = above
        return TargetPosition(self.params.size if above else Decimal(0))


STRATEGY = MidSma
