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
  2023-01-25 (``tick_scheme="krx"``, see :func:`krx_tick`; the sim also applies the daily price
  limits and the session to this scheme). ``tick_size`` 1 is only the smallest band. Commission
  1.5 bps on both sides: **assumption**, a typical online brokerage rate (KIS and Kiwoom publish
  rates around 0.014-0.015 % including exchange fees; an account's rate may differ).
  ``sell_tax_bps`` 20: the securities transaction tax on sells of KOSPI shares from 2026-01-01,
  0.05 % plus the 0.15 % special tax for rural development (KOSDAQ: 0.20 % with no special tax,
  the same total). Source: Ministry of Economy and Finance, enforcement-decree amendment announced
  2025-12-01 (reported by Chosun Biz and Yonhap, 2025-12-01); **verify** before relying on it. It
  is the rate of the settlement date, so it depends on the year: :data:`KRX_SELL_TAX_BPS` has the
  history and :func:`krx_sell_tax_bps` the rate of a date, for an override when replaying older
  data (2016-2019 KOSPI: 30 bps until 2019-06-02, then 25). **Not modelled:** the 5 KRW tick of
  ETFs/ETNs/ELWs (and their exemption from the tax), KONEX (0.10 %), brokers' rounding of
  commission and tax down to whole won.
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
from datetime import date
from decimal import Context, Decimal, InvalidOperation
from typing import Final, NamedTuple

import msgspec

from engines.errors import VibeError
from engines.events import Side
from engines.instruments import InstrumentKind, InstrumentSpec, parse_symbol

__all__ = [
    "DEFAULT_SPECS",
    "KRX_PRICE_LIMIT",
    "KRX_SELL_TAX_BPS",
    "KRX_TICK_BANDS",
    "KrxTaxRate",
    "SpecRow",
    "UnknownInstrumentError",
    "daily_price_band",
    "krx_sell_tax_bps",
    "krx_tick",
    "list_specs",
    "on_tick_grid",
    "round_to_tick",
    "spec_for",
    "spec_table",
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


# ── the KRX securities transaction tax ───────────────────────────────────────────────────────────


class KrxTaxRate(NamedTuple):
    """The sell-side tax on KRX shares settled on or after ``since``, in bps of the sale."""

    since: date
    kospi: Decimal  # securities transaction tax plus the 0.15 % special tax for rural development
    kosdaq: Decimal  # securities transaction tax only (no special tax on KOSDAQ)


KRX_SELL_TAX_BPS: Final[tuple[KrxTaxRate, ...]] = (
    # 0.30 % on both markets from 1996 (KOSPI 0.15 % + 0.15 % special tax) until the 2019 cut; the
    # row also answers for any earlier date, which nothing here verifies.
    KrxTaxRate(date.min, _D(30), _D(30)),
    # Enforcement decree passed 2019-05-21: KOSPI 0.10 % + 0.15 %, KOSDAQ 0.25 %, for shares
    # settled from 2019-06-03 (trades from 2019-05-30) (Hankook Ilbo, 2019-05-21; EY, 2019-03-21).
    KrxTaxRate(date(2019, 6, 3), _D(25), _D(25)),
    # The 2020 tax reform: 0.23 % from 2021 (Hankyung, 2020-07-22): KOSPI 0.08 % + 0.15 %.
    KrxTaxRate(date(2021, 1, 1), _D(23), _D(23)),
    # The 2022 tax reform's steps (from memory, not confirmed by a source here): KOSPI 0.05 %,
    # 0.03 %, 0 % plus 0.15 %; KOSDAQ 0.20 %, 0.18 %, 0.15 %. The 2025 step is confirmed by
    # brokers' notices (settled from 2025-01-01, i.e. trades from 2024-12-27).
    KrxTaxRate(date(2023, 1, 1), _D(20), _D(20)),
    KrxTaxRate(date(2024, 1, 1), _D(18), _D(18)),
    KrxTaxRate(date(2025, 1, 1), _D(15), _D(15)),
    # The 2025 tax reform, enforcement decrees announced 2025-12-01 (Ministry of Economy and
    # Finance, via Chosun Biz and Yonhap): KOSPI 0.05 % + 0.15 %, KOSDAQ 0.20 %, from 2026-01-01.
    KrxTaxRate(date(2026, 1, 1), _D(20), _D(20)),
)
"""Sell-side tax rates of KRX shares by settlement date (the tax falls due when shares are
transferred, T+2 business days after the trade). Figures from the sources in the comments; verify
them before relying on a backtest's taxes. KONEX (0.10 % since 2019-06-03) is not covered."""


def krx_sell_tax_bps(settled: date, market: str = "KOSPI") -> Decimal:
    """The sell-side tax in bps on KRX shares of ``market`` (KOSPI or KOSDAQ) settled on ``settled``.

    Use it to pin the rate of the period a backtest replays, e.g.
    ``msgspec.structs.replace(spec_for("krx:005930"), sell_tax_bps=krx_sell_tax_bps(date(2017, 6, 1)))``
    (30 bps), passed to :func:`spec_for` as an override.
    """
    if market not in ("KOSPI", "KOSDAQ"):
        raise ValueError(f"market must be KOSPI or KOSDAQ, not {market!r}")
    rate = KRX_SELL_TAX_BPS[0]
    for row in KRX_SELL_TAX_BPS:
        if row.since <= settled:
            rate = row
    return rate.kospi if market == "KOSPI" else rate.kosdaq


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
        match = pattern.regex.match(parsed.instrument)
        if match is not None:
            return pattern.factory(name, match.group(1))
    raise UnknownInstrumentError(f"no instrument spec for symbol {name!r}", hint=_HINT)


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
    ctx = _GRID_CONTEXT
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


# ── daily price limits ───────────────────────────────────────────────────────────────────────────

KRX_PRICE_LIMIT: Final = _D("0.3")
"""KRX's daily price limit: ±30 % of the base price (the previous session's close)."""


def daily_price_band(spec: InstrumentSpec, base: Decimal) -> tuple[Decimal, Decimal] | None:
    """The lowest and highest price a day with this ``base`` price may trade at, or None.

    For ``tick_scheme == "krx"``: ``base × 0.7`` rounded up and ``base × 1.3`` rounded down to the
    tick grid (inward, so both stay within ±30 %); e.g. base 71,100: [49,800, 92,400]. None for
    any other scheme (no daily limit) and for a base price that gives no band.
    """
    if spec.tick_scheme != "krx" or not base.is_finite() or base <= 0:
        return None
    ctx = _GRID_CONTEXT
    try:
        low = round_to_tick(spec, ctx.multiply(base, ctx.subtract(_D(1), KRX_PRICE_LIMIT)), Side.SELL)
        high = round_to_tick(spec, ctx.multiply(base, ctx.add(_D(1), KRX_PRICE_LIMIT)), Side.BUY)
    except ValueError:
        return None
    return ctx.quantize(low, tick_at(spec, low)), ctx.quantize(high, tick_at(spec, high))
