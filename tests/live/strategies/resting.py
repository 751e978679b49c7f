"""Test strategy for the stop policy: one limit buy far below the market on the first quote, which
rests at the venue for the whole session (the random walk moves a few ticks a step, never ``offset``),
so that a stop finds exactly one open order to cancel or leave."""

from decimal import Decimal

from engines.sdk import Context, OrderIntent, OrderType, Params, QuoteTick, Side, Signal, SingleAssetStrategy


class RestingParams(Params, frozen=True, kw_only=True):
    symbol: str = "binance-spot:BTCUSDT"
    offset: Decimal = Decimal(500)
    size: Decimal = Decimal("0.001")


class Resting(SingleAssetStrategy[RestingParams]):
    name = "resting"

    def on_start(self, ctx: Context) -> None:
        self.placed = False

    def on_quote(self, ctx: Context, quote: QuoteTick) -> Signal:
        if self.placed:
            return None
        self.placed = True
        limit = quote.bid - self.params.offset
        return [
            OrderIntent(side=Side.BUY, quantity=self.params.size, order_type=OrderType.LIMIT, limit=limit)
        ]


STRATEGY = Resting
