"""Test strategy for the call budget: trades once, then spins forever on its ``stuck_at``-th quote."""

from decimal import Decimal

from engines.sdk import Context, Params, QuoteTick, Signal, SingleAssetStrategy, TargetPosition


class SpinParams(Params, frozen=True, kw_only=True):
    symbol: str = "binance-spot:BTCUSDT"
    stuck_at: int = 5


class Spin(SingleAssetStrategy[SpinParams]):
    name = "spin"

    def on_start(self, ctx: Context) -> None:
        self.quotes = 0

    def on_quote(self, ctx: Context, quote: QuoteTick) -> Signal:
        self.quotes += 1
        if self.quotes == 1:
            return TargetPosition(Decimal("0.01"))
        while self.quotes >= self.params.stuck_at:
            self.quotes += 1
        return None


STRATEGY = Spin
