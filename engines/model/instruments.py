"""Symbols (``venue:instrument``) and the static facts about an instrument that pricing needs.

A symbol names a *market* (where the instrument is listed: ``krx``, ``binance-spot``, ``binance-usdm``),
not the broker that routes the order (``kis``, ``kiwoom``, ``binance``); the capability matrix in
adapters/ maps one to the other.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum

import msgspec

from engines.errors import InvalidSymbolError

_MARKET = r"[a-z][a-z0-9-]{0,31}"
_INSTRUMENT = r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}"
_SYMBOL_RE = re.compile(rf"^({_MARKET}):({_INSTRUMENT})$")


class Symbol(msgspec.Struct, frozen=True):
    market: str
    instrument: str

    def __str__(self) -> str:
        return f"{self.market}:{self.instrument}"


def parse_symbol(text: str) -> Symbol:
    """Parse ``venue:instrument``; anything else is an :class:`InvalidSymbolError`."""
    match = _SYMBOL_RE.match(text.strip())
    if match is None:
        raise InvalidSymbolError(f"{text!r} is not a symbol of the form venue:instrument")
    return Symbol(match.group(1), match.group(2))


def market_of(symbol: str) -> str:
    """The market part of a symbol (``krx`` of ``krx:005930``), without checking the rest."""
    return symbol.split(":", 1)[0]


def split_symbols(text: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """A universe written as ``a,b,c`` (or already a sequence) as a tuple of normalised symbols."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    symbols = tuple(str(parse_symbol(p)) for p in parts if p.strip())
    return symbols


class InstrumentKind(StrEnum):
    """How a fill settles: spot and equity move the full notional; derivatives move only PnL."""

    SPOT = "spot"
    EQUITY = "equity"
    LINEAR = "linear"
    INVERSE = "inverse"


class InstrumentSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What the ledger and the simulated venue need to know about one tradable instrument.

    ``multiplier`` is the contract size: 1 for spot and equities, the base amount per contract for
    linear contracts, and the quote (USD) value per contract for inverse contracts, whose PnL is
    ``qty * multiplier * (1/entry - 1/exit)`` in the base currency.
    """

    symbol: str
    kind: InstrumentKind
    base: str
    quote: str
    settle: str
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)
    multiplier: Decimal = Decimal(1)
    maker_fee_bps: Decimal = Decimal(0)
    taker_fee_bps: Decimal = Decimal(0)
    #: a tax on the notional of sells, on top of the fee (KRX securities transaction tax)
    sell_tax_bps: Decimal = Decimal(0)
    tick_scheme: str = "fixed"

    @property
    def settles_in_cash(self) -> bool:
        return self.kind in (InstrumentKind.SPOT, InstrumentKind.EQUITY)
