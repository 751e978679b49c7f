"""Benchmark strategy: sees every quote, never trades (the replay's own cost)."""

from engines.sdk import Context, Params, QuoteTick, Signal, SingleAssetStrategy


class NoopParams(Params, frozen=True, kw_only=True):
    symbol: str = "binance-usdm:BTCUSDT"


class Noop(SingleAssetStrategy[NoopParams]):
    name = "noop"

    def on_quote(self, ctx: Context, quote: QuoteTick) -> Signal:
        return None


STRATEGY = Noop
