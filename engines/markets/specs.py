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
* ``binance-coinm:ETHUSD-PERP`` (alias ``ETHUSD_PERP``): COIN-M ETHUSD_PERP, one contract = 10 USD
  (``contractSize`` 10 in ``/dapi/v1/exchangeInfo``), settled in ETH, lot and min qty 1 contract,
  no min notional. **Assumption:** tick 0.01 (from memory of the exchange's ``PRICE_FILTER``; no
  source in this repository confirms it). Fees 2/5 bps as for BTCUSD-PERP (assumption).
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
  2023-01-25 (``tick_scheme="krx"``, see :func:`~engines.markets.krx.krx_tick`; the sim also
  applies the daily price limits and the session to this scheme). ``tick_size`` 1 is only the
  smallest band. Commission 1.5 bps on both sides: **assumption**, a typical online brokerage rate
  (KIS and Kiwoom publish rates around 0.014-0.015 % including exchange fees; an account's rate may
  differ). ``sell_tax_bps`` 20: the securities transaction tax on sells of KOSPI shares from
  2026-01-01, 0.05 % plus the 0.15 % special tax for rural development (KOSDAQ: 0.20 % with no
  special tax, the same total). Source: Ministry of Economy and Finance, enforcement-decree
  amendment announced 2025-12-01 (reported by Chosun Biz and Yonhap, 2025-12-01); **verify**
  before relying on it. It is the rate of the settlement date, so it depends on the year:
  :data:`~engines.markets.krx.KRX_SELL_TAX_BPS` has the history and
  :func:`~engines.markets.krx.krx_sell_tax_bps` the rate of a date, for an override when
  replaying older data (2016-2019 KOSPI: 30 bps until 2019-06-02, then 25). **Not modelled:** the
  5 KRW tick of ETFs/ETNs/ELWs (and their exemption from the tax), KONEX (0.10 %), brokers'
  rounding of commission and tax down to whole won.
* ``us-equities:<ticker>``: US equities quoted in USD, tick 0.01 (Reg NMS sub-penny rule for
  prices of 1 USD and above), lot 1 share (assumption: no fractional shares). Fees 0
  (assumption: commission-free broker; regulatory fees, the SEC fee and FINRA TAF on sells, not
  modelled).

:func:`list_specs` gives every row of the table (a pattern by one example symbol) and
:func:`spec_table` renders it as the Markdown table of docs/sim.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Final, NamedTuple

import msgspec

from engines.errors import VibeError
from engines.markets.krx import KRX_SELL_TAX_BPS
from engines.model.instruments import InstrumentKind, InstrumentSpec, parse_symbol

__all__ = [
    "DEFAULT_SPECS",
    "InstrumentFields",
    "SpecRow",
    "UnknownInstrumentError",
    "UserInstruments",
    "list_specs",
    "spec_for",
    "spec_table",
]

_D = Decimal


class UnknownInstrumentError(VibeError):
    """No spec is known for a symbol: neither an override nor the built-in table covers it."""

    code = "VT135"


def _hint(market: str) -> str:
    # the fix a user can apply without editing code: an instruments file (docs/replay.md)
    return (
        f"Define the market in a TOML file and pass it with --instruments FILE "
        f"(replay and validate; docs/replay.md), for example:\n"
        f"    [markets.{market}]\n"
        f'    quote = "USD"\n'
        f'    kind = "spot"\n'
        f'    tick = "0.01"\n'
        f'    lot = "1"'
    )


# The default: the KOSPI rate in force when this table was last checked (2026-11: 20 bps since
# 2026-01-01, see KRX_SELL_TAX_BPS). An assumption to verify; it is wrong for older data.
_KRX_SELL_TAX_BPS_DEFAULT: Final = KRX_SELL_TAX_BPS[-1].kospi


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

# ETHUSDT: Binance's published exchangeInfo filters (spot: tick 0.01, step 0.0001, notional 5;
# USD-M: tick 0.01, step 0.001, notional 20), fees as BTCUSDT's. An assumption to re-check against
# exchangeInfo like the others.
_BINANCE_SPOT_ETHUSDT: Final = msgspec.structs.replace(
    _BINANCE_SPOT_BTCUSDT,
    symbol="binance-spot:ETHUSDT",
    base="ETH",
    lot_size=_D("0.0001"),
    min_qty=_D("0.0001"),
)

_BINANCE_USDM_ETHUSDT: Final = msgspec.structs.replace(
    _BINANCE_USDM_BTCUSDT,
    symbol="binance-usdm:ETHUSDT",
    base="ETH",
    tick_size=_D("0.01"),
    min_notional=_D("20"),
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

_BINANCE_COINM_ETHUSD_PERP: Final = InstrumentSpec(
    symbol="binance-coinm:ETHUSD-PERP",
    kind=InstrumentKind.INVERSE,
    base="ETH",
    quote="USD",
    settle="ETH",
    tick_size=_D("0.01"),
    lot_size=_D("1"),
    min_qty=_D("1"),
    multiplier=_D("10"),
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
    for s in (
        _BINANCE_SPOT_BTCUSDT,
        _BINANCE_USDM_BTCUSDT,
        _BINANCE_SPOT_ETHUSDT,
        _BINANCE_USDM_ETHUSDT,
        _BINANCE_COINM_BTCUSD_PERP,
        _BINANCE_COINM_ETHUSD_PERP,
        _FTX_BTC_PERP,
    )
}
"""The exactly-named symbols of the table (patterns are in :func:`spec_for`)."""

_ALIASES: Final[Mapping[str, str]] = {
    "binance-coinm:BTCUSD_PERP": "binance-coinm:BTCUSD-PERP",
    "binance-coinm:ETHUSD_PERP": "binance-coinm:ETHUSD-PERP",
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
        maker_fee_bps=_D("1.5"),  # commission: an assumption (module docstring)
        taker_fee_bps=_D("1.5"),
        sell_tax_bps=_KRX_SELL_TAX_BPS_DEFAULT,  # KOSPI 2026: 0.05 % + 0.15 % rural special tax
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


class _Pattern(NamedTuple):
    regex: re.Pattern[str]  # group 1 is the base
    factory: Callable[[str, str], InstrumentSpec]
    label: str  # how docs write the pattern
    base: str  # how docs write its base
    example: str  # one instrument it matches, for list_specs


_PATTERNS: Final[Mapping[str, _Pattern]] = {
    "bybit-spot": _Pattern(
        re.compile(r"^([A-Z0-9]{1,20})USDT$"), _bybit_spot, "<BASE>USDT", "<BASE>", "BTCUSDT"
    ),
    "bybit-linear": _Pattern(
        re.compile(r"^([A-Z0-9]{1,20})USDT$"), _bybit_linear, "<BASE>USDT", "<BASE>", "BTCUSDT"
    ),
    "krx": _Pattern(re.compile(r"^([0-9]{6})$"), _krx, "<6 digits>", "<code>", "005930"),
    "us-equities": _Pattern(
        re.compile(r"^([A-Z][A-Z0-9.-]{0,9})$"), _us_equity, "<ticker>", "<ticker>", "AAPL"
    ),
}


# ── user-defined instruments ─────────────────────────────────────────────────────────────────────


class InstrumentFields(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One section of an instruments file (docs/replay.md "Your own instruments").

    Every key is optional here because a ``[symbols."m:X"]`` section overrides only what it names;
    a ``[markets.m]`` section must give ``quote``, ``kind``, ``tick`` and ``lot`` (daemon/instruments.py
    checks that, and the numbers' bounds, when it reads the file).
    """

    quote: str | None = None
    kind: InstrumentKind | None = None
    tick: Decimal | None = None
    lot: Decimal | None = None
    min_qty: Decimal | None = None
    min_notional: Decimal | None = None
    maker_fee_bps: Decimal | None = None
    taker_fee_bps: Decimal | None = None
    multiplier: Decimal | None = None
    sell_tax_bps: Decimal | None = None
    base: str | None = None
    settle: str | None = None


REQUIRED_MARKET_KEYS: Final = ("quote", "kind", "tick", "lot")
"""The keys without which a market (or a symbol of no known market) has no spec."""

# the file's key → the InstrumentSpec field it sets, for keys whose names differ
_SPEC_FIELD: Final[Mapping[str, str]] = {"tick": "tick_size", "lot": "lot_size"}


class UserInstruments(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The markets and symbols of an instruments file: consulted before the built-in table."""

    markets: dict[str, InstrumentFields] = {}
    symbols: dict[str, InstrumentFields] = {}

    def defines(self, symbol: str) -> bool:
        """Whether this file says anything about ``symbol`` (its market or the symbol itself)."""
        parsed = parse_symbol(symbol)
        return parsed.market in self.markets or str(parsed) in self.symbols


def spec_for(
    symbol: str,
    *,
    overrides: Mapping[str, InstrumentSpec] | None = None,
    user: UserInstruments | None = None,
) -> InstrumentSpec:
    """The spec of ``symbol``: an override if given, else the user's instruments, else the table.

    ``user`` (an instruments file) comes in two layers: a ``[markets.m]`` section replaces the
    built-in entry of every ``m:<X>`` (an explicit definition beats a default), and a
    ``[symbols."m:X"]`` section is applied last, over the user's market or the built-in spec.

    Raises :class:`~engines.errors.InvalidSymbolError` (VT120) for text that is not a symbol and
    :class:`UnknownInstrumentError` (VT135) for a symbol nothing covers. The spec returned for a
    pattern match or an alias carries ``symbol`` exactly as asked for (normalised by
    :func:`~engines.model.instruments.parse_symbol`), so that it keys the ledger under that name.
    """
    parsed = parse_symbol(symbol)
    name = str(parsed)
    if overrides is not None and name in overrides:
        return overrides[name]
    if user is not None:
        own = user.symbols.get(name)
        market = user.markets.get(parsed.market)
        if market is not None:
            return _from_fields(name, parsed.instrument, _merged(market, own))
        if own is not None:
            builtin = _builtin(name, parsed.market, parsed.instrument)
            if builtin is not None:
                return _applied(builtin, own)
            return _from_fields(name, parsed.instrument, own)
    builtin = _builtin(name, parsed.market, parsed.instrument)
    if builtin is None:
        raise UnknownInstrumentError(f"no instrument spec for symbol {name!r}", hint=_hint(parsed.market))
    return builtin


def _builtin(name: str, market: str, instrument: str) -> InstrumentSpec | None:
    known = DEFAULT_SPECS.get(_ALIASES.get(name, name))
    if known is not None:
        return known if known.symbol == name else _renamed(known, name)
    pattern = _PATTERNS.get(market)
    if pattern is not None:
        match = pattern.regex.match(instrument)
        if match is not None:
            return pattern.factory(name, match.group(1))
    return None


def _merged(market: InstrumentFields, own: InstrumentFields | None) -> InstrumentFields:
    if own is None:
        return market
    return msgspec.structs.replace(market, **_given(own))


def _given(fields: InstrumentFields) -> dict[str, object]:
    return {k: v for k, v in msgspec.structs.asdict(fields).items() if v is not None}


def _from_fields(name: str, instrument: str, f: InstrumentFields) -> InstrumentSpec:
    """A whole spec from a market section (with its symbol's overrides merged in)."""
    missing = [k for k in REQUIRED_MARKET_KEYS if getattr(f, k) is None]
    if f.quote is None or f.kind is None or f.tick is None or f.lot is None:
        raise UnknownInstrumentError(
            f"the instruments for {name!r} lack {', '.join(missing)}", hint=_hint(name.split(":", 1)[0])
        )
    base = f.base if f.base is not None else instrument
    # an inverse contract is margined in its base coin, every other kind in its quote currency
    settle = f.settle if f.settle is not None else (base if f.kind is InstrumentKind.INVERSE else f.quote)
    zero = Decimal(0)
    return InstrumentSpec(
        symbol=name,
        kind=f.kind,
        base=base,
        quote=f.quote,
        settle=settle,
        tick_size=f.tick,
        lot_size=f.lot,
        min_qty=f.min_qty if f.min_qty is not None else f.lot,
        min_notional=f.min_notional if f.min_notional is not None else zero,
        multiplier=f.multiplier if f.multiplier is not None else Decimal(1),
        maker_fee_bps=f.maker_fee_bps if f.maker_fee_bps is not None else zero,
        taker_fee_bps=f.taker_fee_bps if f.taker_fee_bps is not None else zero,
        sell_tax_bps=f.sell_tax_bps if f.sell_tax_bps is not None else zero,
    )


def _applied(spec: InstrumentSpec, own: InstrumentFields) -> InstrumentSpec:
    """A built-in spec with one symbol's overrides; a new lot without a min_qty raises min_qty to it."""
    changes = {_SPEC_FIELD.get(k, k): v for k, v in _given(own).items()}
    if own.lot is not None and own.min_qty is None:
        changes["min_qty"] = max(spec.min_qty, own.lot)
    if own.tick is not None:
        changes["tick_scheme"] = "fixed"  # a tick given in the file replaces a band scheme (KRX)
    return msgspec.structs.replace(spec, **changes)


def _renamed(spec: InstrumentSpec, symbol: str) -> InstrumentSpec:
    return msgspec.structs.replace(spec, symbol=symbol)


# ── the table as data and as docs ────────────────────────────────────────────────────────────────


class SpecRow(NamedTuple):
    """One row of the built-in table: ``name`` and ``base`` as docs write them (for a pattern,
    ``spec`` is the spec of one symbol it matches)."""

    name: str
    base: str
    spec: InstrumentSpec
    aliases: tuple[str, ...] = ()


def list_specs() -> list[SpecRow]:
    """Every row of the built-in table: the exact symbols, then each pattern by one example spec."""
    rows = [
        SpecRow(symbol, spec.base, spec, tuple(a for a, target in _ALIASES.items() if target == symbol))
        for symbol, spec in DEFAULT_SPECS.items()
    ]
    for market, pattern in _PATTERNS.items():
        example = f"{market}:{pattern.example}"
        rows.append(SpecRow(f"{market}:{pattern.label}", pattern.base, spec_for(example)))
    return rows


def _num(x: Decimal) -> str:
    return f"{x.normalize():f}"


def spec_table() -> str:
    """:func:`list_specs` as the Markdown table of docs/sim.md (a test keeps the two equal)."""
    lines = [
        "| symbol | kind | base / quote | settles in | tick | lot | min qty | min notional "
        "| multiplier | maker / taker bps | sell tax bps |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in list_specs():
        s = row.spec
        name = f"`{row.name}`"
        if row.aliases:
            instruments = ", ".join(f"`{a.split(':', 1)[1]}`" for a in row.aliases)
            name += f" (alias {instruments})"
        tick = "KRX bands" if s.tick_scheme == "krx" else _num(s.tick_size)
        notional = f"{_num(s.min_notional)} {s.quote}" if s.min_notional else "—"
        multiplier = _num(s.multiplier)
        if s.kind is InstrumentKind.INVERSE:
            multiplier += f" {s.quote} / contract"
        cells = [
            name,
            s.kind.value,
            f"`{row.base}` / {s.quote}" if row.base.startswith("<") else f"{row.base} / {s.quote}",
            s.settle,
            tick,
            _num(s.lot_size),
            _num(s.min_qty),
            notional,
            multiplier,
            f"{_num(s.maker_fee_bps)} / {_num(s.taker_fee_bps)}",
            _num(s.sell_tax_bps) if s.sell_tax_bps else "—",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
