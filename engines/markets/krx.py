"""The KRX rules as data and pure checks: tick bands, the daily price limit, the regular session,
trading days in KST, and the securities transaction tax on sells.

shared/venues/korea.md ("KRX rules") is the source. The simulated venue applies them to every
instrument whose spec has ``tick_scheme == "krx"`` (docs/sim.md has the worked numbers); a KIS or
Kiwoom adapter can check an order against the same rules before it sends it, without the simulator.
Which prices a spec accepts (its tick grid, its daily band) is :mod:`engines.markets.prices`, which
applies these bands and limits.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Final, NamedTuple

from engines.units import NS_PER_DAY, NS_PER_HOUR, NS_PER_MINUTE

__all__ = [
    "KRX_PRICE_LIMIT",
    "KRX_SELL_TAX_BPS",
    "KRX_SESSION_NS",
    "KRX_TICK_BANDS",
    "KST_OFFSET_NS",
    "KrxTaxRate",
    "in_regular_session",
    "krx_day",
    "krx_sell_tax_bps",
    "krx_tick",
]

_D = Decimal

# ── time: KST, the regular session ───────────────────────────────────────────────────────────────

KST_OFFSET_NS: Final = 9 * NS_PER_HOUR
"""Korea Standard Time, UTC+9 (no daylight saving): a KRX trading day runs from 00:00 KST."""

KRX_SESSION_NS: Final = (9 * NS_PER_HOUR, 15 * NS_PER_HOUR + 30 * NS_PER_MINUTE)
"""KRX's regular session, [09:00, 15:30) KST, as ns after local midnight."""

_EPOCH_WEEKDAY: Final = 3  # 1970-01-01 was a Thursday (Monday = 0)


def krx_day(ts_ns: int) -> int:
    """The KST date of ``ts_ns`` (UTC epoch ns), as a day number (days since 1970-01-01)."""
    return (ts_ns + KST_OFFSET_NS) // NS_PER_DAY


def in_regular_session(ts_ns: int) -> bool:
    """Whether ``ts_ns`` falls in the regular session: Monday to Friday, [09:00, 15:30) KST.

    Exchange holidays are not known here: a weekday holiday counts as a session day.
    """
    local = ts_ns + KST_OFFSET_NS
    weekday = (local // NS_PER_DAY + _EPOCH_WEEKDAY) % 7
    opens, closes = KRX_SESSION_NS
    return weekday < 5 and opens <= local % NS_PER_DAY < closes


# ── prices: tick bands and the daily limit ───────────────────────────────────────────────────────

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


def krx_tick(price: Decimal) -> Decimal:
    """The KRX tick size for a price in KRW (shared/venues/korea.md, "KRX rules")."""
    for bound, tick in KRX_TICK_BANDS:
        if price < bound:
            return tick
    return _KRX_TOP_TICK


KRX_PRICE_LIMIT: Final = _D("0.3")
"""KRX's daily price limit: ±30 % of the base price (the previous session's close)."""


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
    (30 bps), passed to :func:`~engines.markets.specs.spec_for` as an override.
    """
    if market not in ("KOSPI", "KOSDAQ"):
        raise ValueError(f"market must be KOSPI or KOSDAQ, not {market!r}")
    rate = KRX_SELL_TAX_BPS[0]
    for row in KRX_SELL_TAX_BPS:
        if row.since <= settled:
            rate = row
    return rate.kospi if market == "KOSPI" else rate.kosdaq
