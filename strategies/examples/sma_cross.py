"""SMA cross, long only: the reference single-asset strategy whose replay is checked trade by trade.

Rules (exactly):

* ``fast`` and ``slow`` are simple moving averages of the close, in exact decimal arithmetic (the
  comparison cross-multiplies the sums, so no division ever rounds);
* at bar t, when flat, enter if ``fast[t-1] < slow[t-1]`` and ``fast[t] > slow[t]`` (below, then
  equal, then above is not a cross); when long, exit if ``fast[t-1] > slow[t-1]`` and
  ``fast[t] < slow[t]``;
* the market order fills at the open of bar t+1 (the simulated venue's bar rule), so a signal on the
  last bar never fills.

Run it: ``vibetrading replay strategies/examples/sma_cross.py --data FILE --param size=0.01``.
"""

from collections import deque
from decimal import Decimal
from typing import Annotated

from engines.sdk import Bar, Bounds, Context, Params, Signal, SingleAssetStrategy, TargetPosition


class SmaCrossParams(Params, frozen=True, kw_only=True):
    symbol: str = "ftx:BTC-PERP"
    fast: Annotated[int, Bounds(ge=1)] = 10
    slow: Annotated[int, Bounds(ge=2)] = 30
    size: Annotated[Decimal, Bounds(gt=0)] = Decimal("0.01")


class SmaCross(SingleAssetStrategy[SmaCrossParams]):
    name = "sma_cross"

    def on_start(self, ctx: Context) -> None:
        self.closes: deque[Decimal] = deque(maxlen=max(self.params.fast, self.params.slow))
        self.fast_sum = Decimal(0)
        self.slow_sum = Decimal(0)
        # sign of (fast - slow) at the previous bar: -1 below, 0 equal, +1 above, None undefined
        self.previous: int | None = None

    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        relation = self._update(bar.close)
        previous, self.previous = self.previous, relation
        if relation is None or previous is None:
            return None
        held = ctx.position(bar.instrument)
        if held == 0 and previous < 0 and relation > 0:
            return TargetPosition(self.params.size)
        if held > 0 and previous > 0 and relation < 0:
            return TargetPosition(Decimal(0))
        return None

    def _update(self, close: Decimal) -> int | None:
        """Push a close; return the sign of fast - slow once both averages are defined."""
        fast_n, slow_n = self.params.fast, self.params.slow
        closes = self.closes
        # the close leaving each window, read before the append evicts it
        if len(closes) >= fast_n:
            self.fast_sum -= closes[-fast_n]
        if len(closes) >= slow_n:
            self.slow_sum -= closes[-slow_n]
        closes.append(close)
        self.fast_sum += close
        self.slow_sum += close
        if len(closes) < max(fast_n, slow_n):
            return None
        # fast_sum/fast_n vs slow_sum/slow_n, compared exactly by cross-multiplying
        diff = self.fast_sum * slow_n - self.slow_sum * fast_n
        return (diff > 0) - (diff < 0)


STRATEGY = SmaCross
