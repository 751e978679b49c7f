"""Trading days: the clock whose midnight ends a market's trading day (and a DAY order on tick data).

A day order on bars lives for the one bar it was placed for; on tick data it ends when its
instrument's trading day turns: at midnight of the market's local clock, as an offset from UTC.
KRX's regular session within the day is :func:`engines.markets.krx.in_regular_session`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from engines.markets.krx import KST_OFFSET_NS
from engines.model.instruments import market_of
from engines.units import NS_PER_DAY, NS_PER_HOUR

__all__ = ["TRADING_DAY_OFFSET_NS", "trading_day", "trading_day_end"]

TRADING_DAY_OFFSET_NS: Final[Mapping[str, int]] = {
    "krx": KST_OFFSET_NS,  # KST, UTC+9: the day turns at 00:00 KST
    "us-equities": -5 * NS_PER_HOUR,  # EST; under EDT the turn is 01:00 local, still no session
}
"""Offset from UTC of the clock whose midnight ends a DAY order on tick data; other markets: UTC."""


def trading_day(symbol: str, ts_ns: int) -> int:
    """The trading day of ``symbol``'s market at ``ts_ns``, as a day number of its local clock."""
    return (ts_ns + TRADING_DAY_OFFSET_NS.get(market_of(symbol), 0)) // NS_PER_DAY


def trading_day_end(symbol: str, day: int) -> int:
    """The UTC epoch ns at which trading day ``day`` of ``symbol``'s market ends."""
    return (day + 1) * NS_PER_DAY - TRADING_DAY_OFFSET_NS.get(market_of(symbol), 0)
