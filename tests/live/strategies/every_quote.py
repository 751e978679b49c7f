"""Test strategy for latency benches: decides on every quote, alternating its target between holding
``size`` and flat, so each quote becomes exactly one market order."""

from decimal import Decimal

from engines.sdk import Context, Params, QuoteTick, Signal, SingleAssetStrategy, TargetPosition


class EveryQuoteParams(Params, frozen=True, kw_only=True):
    symbol: str = "binance-spot:BTCUSDT"
    size: Decimal = Decimal("0.01")


class EveryQuote(SingleAssetStrategy[EveryQuoteParams]):
    name = "every_quote"

    def on_start(self, ctx: Context) -> None:
        self.long = False

    def on_quote(self, ctx: Context, quote: QuoteTick) -> Signal:
        self.long = not self.long
        return TargetPosition(self.params.size if self.long else Decimal(0))


STRATEGY = EveryQuote
