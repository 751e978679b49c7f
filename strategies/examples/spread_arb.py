"""Spread arbitrage between 2 or 3 legs of one asset: sell the rich leg, buy the cheap one.

Rules (exactly), on every aligned snapshot (docs/arbitrage.md):

* the mids are ``(bid + ask) / 2``; the *rich* leg has the highest mid, the *cheap* leg the lowest
  (ties go to the earlier leg of ``legs``);
* **entry**, when nothing is held: if ``(rich - cheap) / cheap * 10_000 > entry_bps``, send two legs,
  in this order: sell ``size`` of the rich leg, then buy ``size`` of the cheap leg. A spot market
  (its name ends in ``-spot``) cannot be sold short, so an entry whose rich leg is spot is skipped;
* **exit**, while the pair entered is held: when the same pair's spread
  ``(entered rich - entered cheap) / entered cheap * 10_000`` is below ``exit_bps``, send the two legs
  back in reverse order: buy back the rich leg, then sell the cheap leg, ``size`` each;
* after sending an intent, wait ``cooldown_ms`` of exchange time before the next one, so a failing
  leg (for example a rejected order) is not retried on every quote.

``size`` is in base units (BTC); the engine converts it into contracts for inverse legs
(``size × touch / 100`` for ``binance-coinm:BTCUSD-PERP``), so an exit of an inverse leg is converted
again at the exit price and may differ from the entry by a contract. Held means a non-zero position
in both legs of the pair: after an ``unwound`` outcome the legs are flat and the strategy looks for an
entry again. The comparisons cross-multiply, so no division runs on the per-snapshot path.

Run it: ``vibetrading replay strategies/examples/spread_arb.py --data SPOT_QUOTES --data USDM_QUOTES``.
"""

from decimal import Decimal
from typing import Annotated

from engines.sdk import (
    ArbIntent,
    ArbitrageParams,
    ArbitrageStrategy,
    Bounds,
    Context,
    LegOrder,
    Side,
    Snapshot,
)

_BPS = Decimal(10_000)


class SpreadArbParams(ArbitrageParams, frozen=True, kw_only=True):
    legs: str = "binance-spot:BTCUSDT,binance-usdm:BTCUSDT"
    # On the recorded Binance day spot sits about 3.7 bps above the perpetual and cannot be sold
    # short; 1 bp catches the moments the perpetual is the rich leg.
    entry_bps: Annotated[Decimal, Bounds(gt=0)] = Decimal(1)
    exit_bps: Annotated[Decimal, Bounds(ge=0)] = Decimal("0.2")
    size: Annotated[Decimal, Bounds(gt=0)] = Decimal("0.002")
    cooldown_ms: Annotated[int, Bounds(ge=0)] = 1_000


class SpreadArb(ArbitrageStrategy[SpreadArbParams]):
    name = "spread_arb"

    def on_start(self, ctx: Context) -> None:
        params = self.params
        if params.exit_bps >= params.entry_bps:
            ctx.log(f"exit_bps {params.exit_bps} >= entry_bps {params.entry_bps}: exits at once")
        self.entry_bps = params.entry_bps
        self.exit_bps = params.exit_bps
        self.cooldown_ns = params.cooldown_ms * 1_000_000
        self.spot = {symbol: symbol.split(":", 1)[0].endswith("-spot") for symbol in self.universe}
        self.pair: tuple[str, str] | None = None  # (rich, cheap) of the entry sent last
        self.quiet_until = 0

    def on_snapshot(self, ctx: Context, snapshot: Snapshot) -> ArbIntent | None:
        now = ctx.now_ns
        if now < self.quiet_until:
            return None
        quotes = snapshot.quotes
        pair = self.pair
        if pair is not None and (ctx.position(pair[0]) == 0 or ctx.position(pair[1]) == 0):
            self.pair = pair = None  # the entry did not fill (unwound), or the exit did
        if pair is None:
            # twice the mids (bid + ask): the ratios are the same and nothing is divided
            rich = cheap = ""
            high = low = Decimal(0)
            for symbol, q in quotes.items():
                twice_mid = q.bid + q.ask
                if not rich or twice_mid > high:
                    rich, high = symbol, twice_mid
                if not cheap or twice_mid < low:
                    cheap, low = symbol, twice_mid
            # (rich - cheap) / cheap * 10_000 > entry_bps, cross-multiplied
            if (high - low) * _BPS <= self.entry_bps * low:
                return None
            if self.spot[rich]:
                return None  # flat, and a spot leg cannot be sold short
            self.pair = (rich, cheap)
            return self._send(now, (rich, Side.SELL), (cheap, Side.BUY))
        rich, cheap = pair
        r, c = quotes[rich], quotes[cheap]
        low = c.bid + c.ask
        if (r.bid + r.ask - low) * _BPS >= self.exit_bps * low:
            return None
        return self._send(now, (rich, Side.BUY), (cheap, Side.SELL))

    def _send(self, now: int, *legs: tuple[str, Side]) -> ArbIntent:
        self.quiet_until = now + self.cooldown_ns
        size = self.params.size
        return ArbIntent(tuple(LegOrder(symbol=symbol, side=side, quantity=size) for symbol, side in legs))


STRATEGY = SpreadArb
