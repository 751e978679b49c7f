"""Which prices an instrument accepts: the tick at a price, the tick grid, safe rounding onto it,
and the daily price band.

Every function takes the instrument's spec. ``tick_scheme == "krx"`` applies KRX's tick bands and
daily limit (:mod:`engines.markets.krx`); any other scheme has one fixed tick, ``tick_size``, and no
daily limit. Every answer is computed under ``TICK_GRID_CONTEXT`` (:mod:`engines.decimals`), so no
answer depends on the caller's thread context.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from engines.decimals import TICK_GRID_CONTEXT
from engines.markets.krx import KRX_PRICE_LIMIT, KRX_TICK_BANDS, krx_tick
from engines.model.enums import Side
from engines.model.instruments import InstrumentSpec

__all__ = ["daily_price_band", "on_tick_grid", "round_to_tick", "tick_at"]

_D = Decimal


def tick_at(spec: InstrumentSpec, price: Decimal) -> Decimal:
    """The tick size that applies at ``price``: banded for ``tick_scheme == "krx"``, else fixed."""
    if spec.tick_scheme == "krx":
        return krx_tick(price)
    return spec.tick_size


def on_tick_grid(spec: InstrumentSpec, price: Decimal) -> bool:
    """Whether ``price`` is a positive multiple of the tick that applies at it."""
    if not price.is_finite() or price <= 0:
        return False
    tick = tick_at(spec, price)
    if tick <= 0:
        return True
    try:
        return TICK_GRID_CONTEXT.remainder(price, tick) == 0
    except InvalidOperation:  # the quotient has more digits than the context: far off any grid
        return False


def round_to_tick(spec: InstrumentSpec, price: Decimal, side: Side) -> Decimal:
    """``price`` moved onto the tick grid the safe way: a buy rounds down, a sell rounds up.

    A buy never pays more and a sell never asks less than ``price``. The grid is the one that
    applies at the answer, so a price rounded across a KRX band edge lands on the new band's grid
    (a sell at 1,999.5 becomes 2,000, a multiple of the 5 KRW tick that starts there). A price on
    the grid is returned as is; otherwise the answer has the tick's exponent. ``ValueError`` for a
    price that is not positive and finite, and for a buy below the smallest tick (no positive grid
    price is at or below it).
    """
    if not price.is_finite() or price <= 0:
        raise ValueError(f"price must be positive and finite, not {price}")
    ctx = TICK_GRID_CONTEXT
    px = price
    # Each step lands on a multiple of the tick at the price it started from; on the KRX bands
    # that is on the grid at once (every band starts on a multiple of the ticks on both sides of
    # it). The loop re-checks against the tick at the answer, for any other banded scheme.
    for _ in range(len(KRX_TICK_BANDS) + 2):
        tick = tick_at(spec, px)
        if tick <= 0:
            return px
        try:
            rest = ctx.remainder(px, tick)
        except InvalidOperation:
            raise ValueError(f"{price} is too far from the tick grid of {spec.symbol}") from None
        if rest == 0:
            return px
        down = ctx.subtract(px, rest)
        px = ctx.quantize(down if side is Side.BUY else ctx.add(down, tick), tick)
        if px <= 0:
            raise ValueError(f"no price of the tick grid of {spec.symbol} is at or below {price}")
    raise ValueError(f"{price} does not settle on the grid of {spec.symbol}")  # pragma: no cover


def daily_price_band(spec: InstrumentSpec, base: Decimal) -> tuple[Decimal, Decimal] | None:
    """The lowest and highest price a day with this ``base`` price may trade at, or None.

    For ``tick_scheme == "krx"``: ``base × 0.7`` rounded up and ``base × 1.3`` rounded down to the
    tick grid (inward, so both stay within ±30 %); e.g. base 71,100: [49,800, 92,400]. None for
    any other scheme (no daily limit) and for a base price that gives no band.
    """
    if spec.tick_scheme != "krx" or not base.is_finite() or base <= 0:
        return None
    ctx = TICK_GRID_CONTEXT
    try:
        low = round_to_tick(spec, ctx.multiply(base, ctx.subtract(_D(1), KRX_PRICE_LIMIT)), Side.SELL)
        high = round_to_tick(spec, ctx.multiply(base, ctx.add(_D(1), KRX_PRICE_LIMIT)), Side.BUY)
    except ValueError:
        return None
    return ctx.quantize(low, tick_at(spec, low)), ctx.quantize(high, tick_at(spec, high))
