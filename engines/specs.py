"""Default instrument specs by symbol or market pattern, for the simulated venue and the ledger.

:func:`spec_for` answers "what are the tick, lot, minimums, multiplier and fees of this symbol?"
from a small built-in table, with per-symbol ``overrides`` taking precedence. A market the table
does not know raises :class:`UnknownInstrumentError` (VT135) rather than guessing.

Where the numbers come from
---------------------------
Venue filters change over time; these are the published values at the time of writing, and the
point of ``overrides`` (and of the journal's ``InstrumentDefined`` events) is that a run can pin
its own. "Assumption" marks a number no source in this repository confirms.

* ``binance-spot:BTCUSDT``: Binance spot ``GET /api/v3/exchangeInfo`` filters for BTCUSDT
  (``PRICE_FILTER.tickSize`` 0.01, ``LOT_SIZE.stepSize``/``minQty`` 0.00001, ``NOTIONAL.minNotional``
  5; see shared/venues/crypto.md "Errors" and "Specs" for the filter names). The recorded data in
  shared/data (binance-spot BTCUSDT trades and quotes) is consistent with them: prices have 2
  decimals, quantities 5. Fees 10/10 bps: Binance's regular-user spot rate (assumption: no BNB
  discount, no VIP tier).
* ``binance-usdm:BTCUSDT``: USD-M futures exchangeInfo for BTCUSDT (tick 0.10, step and min qty
  0.001, ``MIN_NOTIONAL`` 100 USDT; -4164 in shared/venues/crypto.md is that filter's error). The
  recorded USD-M data has 1-decimal prices and 3-decimal quantities. Fees 2/5 bps: regular USD-M
  tier (assumption).
* ``binance-coinm:BTCUSD-PERP``: COIN-M BTCUSD_PERP, one contract = 100 USD, margined and settled
  in BTC, tick 0.1, lot and min qty 1 contract, no min notional. Fees 2/5 bps (assumption: regular
  COIN-M tier). ``BTCUSD_PERP`` (the exchange's spelling) is accepted as an alias; shared/data
  writes it ``BTCUSD-PERP`` because ``_`` separates file-name fields.
* ``bybit-spot:<BASE>USDT``: Bybit v5 ``/v5/market/instruments-info?category=spot`` for BTCUSDT
  (tick 0.01, ``basePrecision`` 0.000001, ``minOrderAmt`` 1 USDT). **Assumption:** every other
  ``<BASE>USDT`` gets the same filters, which is right only for BTCUSDT; pass an override for
  others. Fees 10/10 bps: Bybit's non-VIP spot rate (assumption).
* ``bybit-linear:<BASE>USDT``: Bybit v5 instruments-info ``category=linear`` for BTCUSDT (tick
  0.10, ``qtyStep``/``minOrderQty`` 0.001, ``minNotionalValue`` 5 USDT); the same assumption for
  other bases. Fees 2/5.5 bps: non-VIP derivatives rate (assumption).
* ``ftx:BTC-PERP``: FTX (defunct) BTC-PERP, USD-margined: ``priceIncrement`` 1, ``sizeIncrement``
  0.0001. The shared/data FTX bars are whole-dollar prices, consistent with tick 1. Fees 2/7 bps:
  FTX's tier-1 rate (assumption, from memory of the venue's fee page; the venue no longer exists).
* ``krx:<6 digits>``: KRX rules in shared/venues/korea.md: lot 1 share, the tick bands of
  2023-01-25 (``tick_scheme="krx"``, see :func:`krx_tick`). ``tick_size`` 1 is only the smallest
  band. Fees 1.5 bps: a typical online brokerage commission (assumption; KIS and Kiwoom publish
  rates around 0.014-0.015 %). **Not modelled:** the sell-side securities transaction tax (it needs
  a side-dependent fee the spec has no field for) and the 5 KRW tick of ETFs/ETNs/ELWs.
* ``us-equities:<ticker>``: US equities quoted in USD, tick 0.01 (Reg NMS sub-penny rule for
  prices of 1 USD and above), lot 1 share (assumption: no fractional shares). Fees 0
  (assumption: commission-free broker; regulatory fees not modelled).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Context, Decimal, InvalidOperation
from typing import Final

import msgspec

from engines.errors import VibeError
from engines.instruments import InstrumentKind, InstrumentSpec, parse_symbol

__all__ = [
    "DEFAULT_SPECS",
    "KRX_TICK_BANDS",
    "UnknownInstrumentError",
    "krx_tick",
    "on_tick_grid",
    "spec_for",
    "tick_at",
]

_D = Decimal


class UnknownInstrumentError(VibeError):
    """No spec is known for a symbol: neither an override nor the built-in table covers it."""

    code = "VT135"


_HINT: Final = (
    "Pass an InstrumentSpec for the symbol as an override, or use a market the built-in table "
    "covers (see engines/specs.py)."
)


# ── exact symbols ────────────────────────────────────────────────────────────────────────────────

_BINANCE_SPOT_BTCUSDT: Final = InstrumentSpec(
    symbol="binance-spot:BTCUSDT",
    kind=InstrumentKind.SPOT,
    base="BTC",
    quote="USDT",
    settle="USDT",
    tick_size=_D("0.01"),
    lot_size=_D("0.00001"),
    min_qty=_D("0.00001"),
    min_notional=_D("5"),
    maker_fee_bps=_D("10"),
    taker_fee_bps=_D("10"),
)

_BINANCE_USDM_BTCUSDT: Final = InstrumentSpec(
    symbol="binance-usdm:BTCUSDT",
    kind=InstrumentKind.LINEAR,
    base="BTC",
    quote="USDT",
    settle="USDT",
    tick_size=_D("0.1"),
    lot_size=_D("0.001"),
    min_qty=_D("0.001"),
    min_notional=_D("100"),
    maker_fee_bps=_D("2"),
    taker_fee_bps=_D("5"),
)

_BINANCE_COINM_BTCUSD_PERP: Final = InstrumentSpec(
    symbol="binance-coinm:BTCUSD-PERP",
    kind=InstrumentKind.INVERSE,
    base="BTC",
    quote="USD",
    settle="BTC",
    tick_size=_D("0.1"),
    lot_size=_D("1"),
    min_qty=_D("1"),
    multiplier=_D("100"),
    maker_fee_bps=_D("2"),
    taker_fee_bps=_D("5"),
)

_FTX_BTC_PERP: Final = InstrumentSpec(
    symbol="ftx:BTC-PERP",
    kind=InstrumentKind.LINEAR,
    base="BTC",
    quote="USD",
    settle="USD",
    tick_size=_D("1"),
    lot_size=_D("0.0001"),
    min_qty=_D("0.0001"),
    maker_fee_bps=_D("2"),
    taker_fee_bps=_D("7"),
)

DEFAULT_SPECS: Final[Mapping[str, InstrumentSpec]] = {
    s.symbol: s
    for s in (_BINANCE_SPOT_BTCUSDT, _BINANCE_USDM_BTCUSDT, _BINANCE_COINM_BTCUSD_PERP, _FTX_BTC_PERP)
}
"""The exactly-named symbols of the table (patterns are in :func:`spec_for`)."""

_ALIASES: Final[Mapping[str, str]] = {
    "binance-coinm:BTCUSD_PERP": "binance-coinm:BTCUSD-PERP",
}


# ── market patterns ──────────────────────────────────────────────────────────────────────────────


def _bybit_spot(symbol: str, base: str) -> InstrumentSpec:
    return InstrumentSpec(
        symbol=symbol,
        kind=InstrumentKind.SPOT,
        base=base,
        quote="USDT",
        settle="USDT",
        tick_size=_D("0.01"),
        lot_size=_D("0.000001"),
        min_qty=_D("0.000001"),
        min_notional=_D("1"),
        maker_fee_bps=_D("10"),
        taker_fee_bps=_D("10"),
    )


def _bybit_linear(symbol: str, base: str) -> InstrumentSpec:
    return InstrumentSpec(
        symbol=symbol,
        kind=InstrumentKind.LINEAR,
        base=base,
        quote="USDT",
        settle="USDT",
        tick_size=_D("0.1"),
        lot_size=_D("0.001"),
        min_qty=_D("0.001"),
        min_notional=_D("5"),
        maker_fee_bps=_D("2"),
        taker_fee_bps=_D("5.5"),
    )


def _krx(symbol: str, code: str) -> InstrumentSpec:
    return InstrumentSpec(
        symbol=symbol,
        kind=InstrumentKind.EQUITY,
        base=code,
        quote="KRW",
        settle="KRW",
        tick_size=_D("1"),
        lot_size=_D("1"),
        min_qty=_D("1"),
        maker_fee_bps=_D("1.5"),
        taker_fee_bps=_D("1.5"),
        tick_scheme="krx",
    )


def _us_equity(symbol: str, ticker: str) -> InstrumentSpec:
    return InstrumentSpec(
        symbol=symbol,
        kind=InstrumentKind.EQUITY,
        base=ticker,
        quote="USD",
        settle="USD",
        tick_size=_D("0.01"),
        lot_size=_D("1"),
        min_qty=_D("1"),
    )


# market -> (instrument pattern whose group 1 is the base, factory(symbol, base))
_PATTERNS: Final[Mapping[str, tuple[re.Pattern[str], Callable[[str, str], InstrumentSpec]]]] = {
    "bybit-spot": (re.compile(r"^([A-Z0-9]{1,20})USDT$"), _bybit_spot),
    "bybit-linear": (re.compile(r"^([A-Z0-9]{1,20})USDT$"), _bybit_linear),
    "krx": (re.compile(r"^([0-9]{6})$"), _krx),
    "us-equities": (re.compile(r"^([A-Z][A-Z0-9.-]{0,9})$"), _us_equity),
}


def spec_for(symbol: str, *, overrides: Mapping[str, InstrumentSpec] | None = None) -> InstrumentSpec:
    """The spec of ``symbol``: an override if given, else the built-in table.

    Raises :class:`~engines.errors.InvalidSymbolError` (VT120) for text that is not a symbol and
    :class:`UnknownInstrumentError` (VT135) for a symbol nothing covers. The spec returned for a
    pattern match or an alias carries ``symbol`` exactly as asked for (normalised by
    :func:`~engines.instruments.parse_symbol`), so that it keys the ledger under that name.
    """
    parsed = parse_symbol(symbol)
    name = str(parsed)
    if overrides is not None and name in overrides:
        return overrides[name]
    known = DEFAULT_SPECS.get(_ALIASES.get(name, name))
    if known is not None:
        return known if known.symbol == name else _renamed(known, name)
    pattern = _PATTERNS.get(parsed.market)
    if pattern is not None:
        regex, factory = pattern
        match = regex.match(parsed.instrument)
        if match is not None:
            return factory(name, match.group(1))
    raise UnknownInstrumentError(f"no instrument spec for symbol {name!r}", hint=_HINT)


def _renamed(spec: InstrumentSpec, symbol: str) -> InstrumentSpec:
    return msgspec.structs.replace(spec, symbol=symbol)


# ── tick grids ───────────────────────────────────────────────────────────────────────────────────

KRX_TICK_BANDS: Final[tuple[tuple[Decimal, Decimal], ...]] = (
    (_D(2_000), _D(1)),
    (_D(5_000), _D(5)),
    (_D(20_000), _D(10)),
    (_D(50_000), _D(50)),
    (_D(200_000), _D(100)),
    (_D(500_000), _D(500)),
)
"""(upper bound, exclusive; tick) for KRX stocks since 2023-01-25; at or above 500,000: 1,000 KRW."""

_KRX_TOP_TICK: Final = _D(1_000)

# A fixed context, so that no answer depends on the caller's thread context.
_GRID_CONTEXT: Final = Context(prec=60, Emin=-999_999, Emax=999_999, traps=[InvalidOperation])


def krx_tick(price: Decimal) -> Decimal:
    """The KRX tick size for a price in KRW (shared/venues/korea.md, "KRX rules")."""
    for bound, tick in KRX_TICK_BANDS:
        if price < bound:
            return tick
    return _KRX_TOP_TICK


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
        return _GRID_CONTEXT.remainder(price, tick) == 0
    except InvalidOperation:  # the quotient has more digits than the context: far off any grid
        return False
