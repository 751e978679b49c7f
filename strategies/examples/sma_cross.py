"""SMA cross, long only: the reference single-asset strategy whose replay is checked trade by trade.

Rules (exactly):

* ``fast`` and ``slow`` are simple moving averages of the close (the SDK's ``SMA``), in exact decimal
  arithmetic (``Cross`` compares them by cross-multiplying their sums, so no division ever rounds);
* at bar t, when flat, enter if ``fast[t-1] < slow[t-1]`` and ``fast[t] > slow[t]`` (below, then
  equal, then above is not a cross); when long, exit if ``fast[t-1] > slow[t-1]`` and
  ``fast[t] < slow[t]``;
* the market order fills at the open of bar t+1 (the simulated venue's bar rule), so a signal on the
  last bar never fills.

Run it: ``vibetrading replay strategies/examples/sma_cross.py --data FILE --param size=0.01``.
"""

from decimal import Decimal
from typing import Annotated

from engines.sdk import SMA, Bar, Bounds, Context, Cross, Params, Signal, SingleAssetStrategy, TargetPosition


class SmaCrossParams(Params, frozen=True, kw_only=True):
    symbol: str = "ftx:BTC-PERP"
    fast: Annotated[int, Bounds(ge=1)] = 10
    slow: Annotated[int, Bounds(ge=2)] = 30
    size: Annotated[Decimal, Bounds(gt=0)] = Decimal("0.01")


class SmaCross(SingleAssetStrategy[SmaCrossParams]):
    name = "sma_cross"

    def on_start(self, ctx: Context) -> None:
        self.fast = SMA(self.params.fast)
        self.slow = SMA(self.params.slow)
        # 1 when fast goes from below slow to above it between two bars, -1 the other way; a touch
        # (below, equal, above) is not a cross; None until both averages are defined
        self.cross = Cross()

    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        self.fast.update(bar.close)
        self.slow.update(bar.close)
        crossed = self.cross.update(self.fast, self.slow)
        if not crossed:
            return None
        held = ctx.position(bar.instrument)
        if held == 0 and crossed > 0:
            return TargetPosition(self.params.size)
        if held > 0 and crossed < 0:
            return TargetPosition(Decimal(0))
        return None


STRATEGY = SmaCross
