"""What a fill costs at the simulated venue: ``bps / 10_000 * notional``, and the rate a buy reserves.

``bps`` is the commission (the spec's maker or taker rate, or the venue's ``fee_bps`` for every
spec), plus on a sell the spec's ``sell_tax_bps``: ``fee_bps`` replaces the commission, never the
tax. A fee is exact when its quotient terminates within 60 digits, else (inverse contracts) rounded
half-even to :data:`FEE_QUANTUM`. Every function runs under ``SIM_CONTEXT`` (the venue installs it).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

from engines.decimals import SIM_DIVISION_CONTEXT
from engines.model.enums import Liquidity, Side
from engines.model.instruments import InstrumentKind, InstrumentSpec

__all__ = ["FEE_QUANTUM", "divide", "fee", "reserve_rate"]

FEE_QUANTUM: Final = Decimal("1e-18")
"""A fee whose exact value does not terminate (inverse contracts) is rounded half-even to this."""

_ZERO: Final = Decimal(0)
_BPS: Final = Decimal(10_000)


def divide(dividend: Decimal, divisor: Decimal) -> Decimal:
    """Exact when the quotient terminates within 60 digits, else rounded half-even to 1e-18."""
    quotient = SIM_DIVISION_CONTEXT.divide(dividend, divisor)
    rounded = quotient.quantize(FEE_QUANTUM, rounding=ROUND_HALF_EVEN, context=SIM_DIVISION_CONTEXT)
    # An inexact 05UP quotient never ends in 0, so it equals its quantized self only when exact.
    return quotient if rounded == quotient else rounded


def fee(
    spec: InstrumentSpec,
    qty: Decimal,
    px: Decimal,
    liquidity: Liquidity,
    side: Side,
    *,
    fee_bps: Decimal | None,
) -> tuple[Decimal, str]:
    """The fee of a fill of ``qty`` at ``px``, and its currency (see the module docstring)."""
    if fee_bps is not None:
        bps = fee_bps
    else:
        bps = spec.maker_fee_bps if liquidity is Liquidity.MAKER else spec.taker_fee_bps
    if side is Side.SELL and spec.sell_tax_bps:
        bps += spec.sell_tax_bps
    if spec.kind is InstrumentKind.INVERSE:
        return divide(qty * spec.multiplier * bps, px * _BPS), spec.settle
    return divide(qty * px * spec.multiplier * bps, _BPS), spec.quote


def reserve_rate(spec: InstrumentSpec, fee_bps: Decimal | None) -> Decimal:
    """The fee rate a buy must be able to pay: the higher of maker and taker, at least 0."""
    bps = max(spec.maker_fee_bps, spec.taker_fee_bps) if fee_bps is None else fee_bps
    return max(bps, _ZERO) / _BPS
