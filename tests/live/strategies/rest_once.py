"""Test strategy for recovery: on its first quote, one limit buy ``offset`` below the bid, which
rests at the venue until the market comes down to it (the test moves the market while the daemon
is stopped, so the fill happens while nobody watches)."""

from decimal import Decimal

from engines.sdk import Context, OrderIntent, OrderType, Params, QuoteTick, Side, Signal, SingleAssetStrategy


class RestOnceParams(Params, frozen=True, kw_only=True):
    symbol: str = "binance-spot:BTCUSDT"
    offset: Decimal = Decimal(100)
    size: Decimal = Decimal("0.01")


class RestOnce(SingleAssetStrategy[RestOnceParams]):
    name = "rest_once"

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


STRATEGY = RestOnce
