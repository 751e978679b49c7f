"""Test strategy with one resting order: on its first quote, one limit buy ``offset`` below the bid,
which rests at the venue until the market comes down to it. Recovery tests move the market while the
daemon is stopped (a fill nobody watches); stop-policy tests keep it resting (a random walk moves a
few ticks a step, never ``offset``) so that a stop finds exactly one open order to cancel or leave."""

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
