"""Instrument precision from ``/v5/market/instruments-info``: round an order to the venue's tick and
step, and refuse one the venue would refuse (below the minimum quantity or order value) before it is sent.

Rounding never makes an order bigger or more expensive than asked: a quantity rounds down to the step,
a buy price down to the tick, a sell price up. Bybit states the step as ``basePrecision`` (spot) or
``qtyStep`` (linear) and the minimum order value as ``minOrderAmt`` (spot) or ``minNotionalValue``
(linear).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Final

import msgspec

from adapters.bybit.schemas import InstrumentRow, InstrumentsInfo
from adapters.venue_errors import InstrumentFilterError, VenueMessageError
from engines.model.enums import Side
from engines.model.instruments import InstrumentSpec

__all__ = ["InstrumentFilter", "filters_from_info", "wire_decimal"]

_ZERO: Final = Decimal(0)


def wire_decimal(value: Decimal) -> str:
    """A decimal as Bybit reads it: plain digits, no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return text


def _dec(text: str, field: str, symbol: str, *, required: bool = False) -> Decimal:
    if text == "":
        if required:
            raise VenueMessageError(f"bybit instruments-info {symbol}: {field} is missing")
        return _ZERO
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise VenueMessageError(
            f"bybit instruments-info {symbol}: {field}={text!r} is not a decimal"
        ) from None
    if not value.is_finite() or value < 0:
        raise VenueMessageError(f"bybit instruments-info {symbol}: {field}={text!r} is not a valid size")
    return value


class InstrumentFilter(msgspec.Struct, frozen=True, kw_only=True):
    """One instrument's precision and minimums (``symbol`` is Bybit's name, ``BTCUSDT``)."""

    symbol: str
    tick_size: Decimal
    qty_step: Decimal
    min_qty: Decimal = _ZERO
    max_qty: Decimal = _ZERO  # 0: no maximum known
    min_notional: Decimal = _ZERO

    @classmethod
    def from_row(cls, row: InstrumentRow) -> InstrumentFilter:
        lot, price = row.lotSizeFilter, row.priceFilter
        step_text = lot.qtyStep or lot.basePrecision
        tick = _dec(price.tickSize, "priceFilter.tickSize", row.symbol, required=True)
        step = _dec(step_text, "lotSizeFilter.qtyStep/basePrecision", row.symbol, required=True)
        if tick == 0 or step == 0:
            raise VenueMessageError(f"bybit instruments-info {row.symbol}: a zero tick or step")
        return cls(
            symbol=row.symbol,
            tick_size=tick,
            qty_step=step,
            min_qty=_dec(lot.minOrderQty, "minOrderQty", row.symbol),
            max_qty=_dec(lot.maxOrderQty, "maxOrderQty", row.symbol),
            min_notional=_dec(lot.minOrderAmt or lot.minNotionalValue, "minOrderAmt", row.symbol),
        )

    @classmethod
    def from_spec(cls, name: str, spec: InstrumentSpec) -> InstrumentFilter:
        """From the engine's static spec (a fallback when instruments-info is not loaded)."""
        return cls(
            symbol=name,
            tick_size=spec.tick_size,
            qty_step=spec.lot_size,
            min_qty=spec.min_qty,
            min_notional=spec.min_notional,
        )

    def round_qty(self, qty: Decimal) -> Decimal:
        return (qty / self.qty_step).to_integral_value(rounding=ROUND_FLOOR) * self.qty_step

    def round_price(self, price: Decimal, side: Side) -> Decimal:
        mode = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
        return (price / self.tick_size).to_integral_value(rounding=mode) * self.tick_size

    def prepare(
        self, side: Side, qty: Decimal, price: Decimal | None, reference_px: Decimal | None = None
    ) -> tuple[Decimal, Decimal | None]:
        """The quantity and price to send, rounded; :class:`InstrumentFilterError` (VT809) for an
        order the venue would refuse. ``reference_px`` prices a market order's notional check (none:
        the check is left to the venue)."""
        rounded_qty = self.round_qty(qty)
        rounded_px = None if price is None else self.round_price(price, side)
        if rounded_qty <= 0:
            raise InstrumentFilterError(
                f"bybit {self.symbol}: quantity {qty} is zero after rounding to the step {self.qty_step}",
                hint="Size orders at least one quantity step.",
            )
        if rounded_px is not None and rounded_px <= 0:
            raise InstrumentFilterError(
                f"bybit {self.symbol}: price {price} is zero after rounding to the tick {self.tick_size}",
                hint="Price orders at least one tick.",
            )
        if rounded_qty < self.min_qty:
            raise InstrumentFilterError(
                f"bybit {self.symbol}: quantity {rounded_qty} is below the minimum {self.min_qty}",
                hint="Raise the order size to the instrument's minimum order quantity.",
            )
        if self.max_qty and rounded_qty > self.max_qty:
            raise InstrumentFilterError(
                f"bybit {self.symbol}: quantity {rounded_qty} is above the maximum {self.max_qty}",
                hint="Split the order.",
            )
        px = rounded_px if rounded_px is not None else reference_px
        if px is not None and self.min_notional and rounded_qty * px < self.min_notional:
            raise InstrumentFilterError(
                f"bybit {self.symbol}: order value {rounded_qty * px} "
                f"is below the minimum {self.min_notional}",
                hint="Raise the order size so quantity times price reaches the minimum order value.",
            )
        return rounded_qty, rounded_px


def filters_from_info(info: InstrumentsInfo) -> dict[str, InstrumentFilter]:
    """Bybit name → filter, for every row of an instruments-info answer."""
    return {row.symbol: InstrumentFilter.from_row(row) for row in info.rows}
