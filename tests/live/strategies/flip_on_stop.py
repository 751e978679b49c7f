"""Test strategy for live sessions: alternates between holding ``size`` and flat every ``every``
quotes, so a session against an emulator trades within a second or two; its on_stop logs a line."""

from decimal import Decimal

from engines.sdk import Context, Params, QuoteTick, Signal, SingleAssetStrategy, TargetPosition


class FlipParams(Params, frozen=True, kw_only=True):
    symbol: str = "binance-spot:BTCUSDT"
    every: int = 3
    size: Decimal = Decimal("0.01")


class FlipThenSayBye(SingleAssetStrategy[FlipParams]):
    name = "flip"

    def on_stop(self, ctx: Context) -> None:
        ctx.log(f"stopping after {self.quotes} quotes, long={self.long}")

    def on_start(self, ctx: Context) -> None:
        self.quotes = 0
        self.long = False

    def on_quote(self, ctx: Context, quote: QuoteTick) -> Signal:
        self.quotes += 1
        if self.quotes % self.params.every:
            return None
        self.long = not self.long
        return TargetPosition(self.params.size if self.long else Decimal(0))


STRATEGY = FlipThenSayBye
