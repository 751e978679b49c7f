"""Instrument precision from Binance's ``exchangeInfo``: an order's price and quantity rounded to the
symbol's tick and step, and checked against its minimums before the order is sent.

Binance refuses an order that breaks a filter (-1013 ``Filter failure: PRICE_FILTER``, ``LOT_SIZE``,
``NOTIONAL``; -1111 precision; USD-M -4164 notional). Such a refusal costs a request and a weight;
worse, an engine that sends ``0.000015`` BTC where the step is ``0.00001`` would learn of it only from
the venue. So the client rounds and checks first, and an order it cannot make valid is
:class:`~adapters.venue_errors.InstrumentFilterError` (VT809), never sent.

Rounding always errs on the side of the order's intent: a quantity rounds **down** to the step (never
trade more than asked), a buy price **down** and a sell price **up** to the tick (never pay more, or
take less, than the limit the engine set).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Final

import msgspec

from adapters.binance.parsers import SymbolMap
from adapters.binance.schemas import ExchangeInfo, SymbolInfo
from adapters.venue_errors import InstrumentFilterError, VenueMessageError
from engines.model.enums import OrderType, Side
from engines.model.instruments import InstrumentSpec

__all__ = ["InstrumentFilters", "SymbolFilters", "format_decimal", "parse_exchange_info"]

_ZERO: Final = Decimal(0)
_EXCHANGE_INFO: Final = msgspec.json.Decoder(ExchangeInfo)


class SymbolFilters(msgspec.Struct, frozen=True, kw_only=True):
    """One symbol's filters. A zero ``tick_size``/``step_size`` means the venue set none (no rounding);
    ``min_notional`` applies to market orders only when ``notional_applies_to_market``."""

    symbol: str  # the venue's symbol: BTCUSDT
    tick_size: Decimal = _ZERO
    min_price: Decimal = _ZERO
    max_price: Decimal = _ZERO
    step_size: Decimal = _ZERO
    min_qty: Decimal = _ZERO
    max_qty: Decimal = _ZERO
    market_step_size: Decimal = _ZERO
    market_min_qty: Decimal = _ZERO
    market_max_qty: Decimal = _ZERO
    min_notional: Decimal = _ZERO
    notional_applies_to_market: bool = True

    @classmethod
    def from_info(cls, info: SymbolInfo) -> SymbolFilters:
        fields: dict[str, Decimal | bool] = {}
        for f in info.filters:
            kind = f.filter_type
            if kind == "PRICE_FILTER":
                fields["tick_size"] = f.tick_size or _ZERO
                fields["min_price"] = f.min_price or _ZERO
                fields["max_price"] = f.max_price or _ZERO
            elif kind == "LOT_SIZE":
                fields["step_size"] = f.step_size or _ZERO
                fields["min_qty"] = f.min_qty or _ZERO
                fields["max_qty"] = f.max_qty or _ZERO
            elif kind == "MARKET_LOT_SIZE":
                fields["market_step_size"] = f.step_size or _ZERO
                fields["market_min_qty"] = f.min_qty or _ZERO
                fields["market_max_qty"] = f.max_qty or _ZERO
            elif kind in ("NOTIONAL", "MIN_NOTIONAL"):
                minimum = f.min_notional if f.min_notional is not None else f.notional
                fields["min_notional"] = minimum or _ZERO
                applies = f.apply_min_to_market if f.apply_min_to_market is not None else f.apply_to_market
                fields["notional_applies_to_market"] = True if applies is None else applies
        return cls(symbol=info.symbol, **fields)  # type: ignore[arg-type]

    @classmethod
    def from_spec(cls, venue_symbol: str, spec: InstrumentSpec) -> SymbolFilters:
        """The filters an engine spec states (engines/markets/specs.py): for tests and for a venue
        whose exchangeInfo is not loaded yet."""
        return cls(
            symbol=venue_symbol,
            tick_size=spec.tick_size,
            step_size=spec.lot_size,
            min_qty=spec.min_qty,
            min_notional=spec.min_notional,
        )

    def round_qty(self, qty: Decimal, order_type: OrderType) -> Decimal:
        step = self.market_step_size if order_type is OrderType.MARKET and self.market_step_size else None
        return _to_step(qty, step or self.step_size, ROUND_FLOOR)

    def round_price(self, price: Decimal, side: Side) -> Decimal:
        return _to_step(price, self.tick_size, ROUND_FLOOR if side is Side.BUY else ROUND_CEILING)

    def apply(
        self,
        *,
        side: Side,
        order_type: OrderType,
        qty: Decimal,
        price: Decimal | None,
        trigger_price: Decimal | None = None,
        reference_price: Decimal | None = None,
    ) -> tuple[Decimal, Decimal | None, Decimal | None]:
        """``(qty, price, trigger_price)`` rounded; :class:`InstrumentFilterError` (VT809) when the
        order cannot be made valid. ``reference_price`` (the market's last price) checks a market
        order's notional when the filter applies to market orders; without it that check is left
        to the venue."""
        rounded_qty = self.round_qty(qty, order_type)
        rounded_px = None if price is None else self.round_price(price, side)
        rounded_trigger = None if trigger_price is None else self.round_price(trigger_price, side)
        what = f"binance {self.symbol} {side} {order_type} qty {qty}" + (f" @ {price}" if price else "")
        if rounded_qty <= 0:
            raise InstrumentFilterError(f"{what}: quantity is zero at the step {self.step_size}")
        market = order_type is OrderType.MARKET
        min_qty = self.market_min_qty if market and self.market_min_qty else self.min_qty
        max_qty = self.market_max_qty if market and self.market_max_qty else self.max_qty
        if rounded_qty < min_qty:
            raise InstrumentFilterError(f"{what}: quantity {rounded_qty} is below the minimum {min_qty}")
        if max_qty and rounded_qty > max_qty:
            raise InstrumentFilterError(f"{what}: quantity {rounded_qty} is above the maximum {max_qty}")
        for label, px in (("price", rounded_px), ("trigger price", rounded_trigger)):
            if px is None:
                continue
            if px <= 0:
                raise InstrumentFilterError(f"{what}: {label} is zero at the tick {self.tick_size}")
            if self.min_price and px < self.min_price:
                raise InstrumentFilterError(f"{what}: {label} {px} is below the minimum {self.min_price}")
            if self.max_price and px > self.max_price:
                raise InstrumentFilterError(f"{what}: {label} {px} is above the maximum {self.max_price}")
        notional_px = rounded_px if rounded_px is not None else reference_price
        if market and not self.notional_applies_to_market:
            notional_px = None
        if self.min_notional and notional_px is not None and rounded_qty * notional_px < self.min_notional:
            raise InstrumentFilterError(
                f"{what}: notional {rounded_qty * notional_px} is below the minimum {self.min_notional}"
            )
        return rounded_qty, rounded_px, rounded_trigger


class InstrumentFilters:
    """The filters of one market's mapped symbols, by venue symbol."""

    def __init__(self, filters: Iterable[SymbolFilters]) -> None:
        self._by_symbol: dict[str, SymbolFilters] = {f.symbol: f for f in filters}

    def __contains__(self, venue_symbol: object) -> bool:
        return venue_symbol in self._by_symbol

    def get(self, venue_symbol: str) -> SymbolFilters:
        try:
            return self._by_symbol[venue_symbol]
        except KeyError:
            raise InstrumentFilterError(
                f"binance {venue_symbol}: no instrument filters (not in exchangeInfo); the order was not sent"
            ) from None

    @property
    def symbols(self) -> Mapping[str, SymbolFilters]:
        return self._by_symbol


def parse_exchange_info(raw: bytes, symbols: SymbolMap) -> InstrumentFilters:
    """The filters of the mapped symbols from an exchangeInfo body; other symbols are skipped, and a
    mapped symbol missing from it is an error (the order would be sent blind)."""
    try:
        info = _EXCHANGE_INFO.decode(raw)
    except msgspec.DecodeError as exc:
        raise VenueMessageError(f"binance exchangeInfo malformed ({exc}): {raw[:200]!r}") from None
    wanted = set(symbols.venue_symbols)
    found = [SymbolFilters.from_info(s) for s in info.symbols if s.symbol in wanted]
    missing = wanted - {f.symbol for f in found}
    if missing:
        raise VenueMessageError(
            f"binance exchangeInfo has no {', '.join(sorted(missing))} ({symbols.market})",
            hint="Check the symbol names of the run's universe against the venue's exchangeInfo.",
        )
    return InstrumentFilters(found)


def format_decimal(value: Decimal) -> str:
    """A decimal as Binance takes it: plain notation, no exponent, no trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if not step:
        return value
    return (value / step).to_integral_value(rounding=rounding) * step
