"""The clock of the KRX brokers' emulators, and of a drill that trades against them.

KRX trades from 09:00 to 15:30 KST on its trading days, so an emulator started at any other hour
would refuse every order. :class:`SessionClock` is the wall clock shifted once, at construction,
into a regular session; the KIS and Kiwoom emulators and ``vibetrading run --venue-clock
krx-session`` use this one rule, so a daemon and the emulators it trades with agree on the time of
day (a broker that takes no client id finds an order by its time, among other terms).
"""

from __future__ import annotations

import time
from typing import Final

from adapters.transport.clock import WallClock
from engines.markets.krx import KST_OFFSET_NS, in_regular_session
from engines.markets.krx_validator import is_trading_day, kst_date

__all__ = ["SessionClock"]

_NS: Final = 1_000_000_000
_DAY: Final = 86_400 * _NS


class SessionClock(WallClock):
    """The wall clock shifted by ``offset_ns``."""

    def __init__(self, offset_ns: int = 0) -> None:
        self.offset_ns = offset_ns

    def now_ns(self) -> int:
        return time.time_ns() + self.offset_ns

    def ts_init(self, ts_event: int) -> int:
        return max(ts_event, self.now_ns())

    @classmethod
    def in_session(cls, now_ns: int | None = None) -> SessionClock:
        """No shift inside a regular session of a trading day (with an hour of it left); else a
        shift back to 11:00 KST of the latest KRX trading day whose 11:00 has passed (11:00: after a
        late opening too).

        Back, never ahead: a feed stamped on the wall clock (an emulator's) then runs after the
        shifted clock's orders, never before them; after midnight KST a shift ahead to the coming
        morning put every quote hours before the orders it should fill."""
        now = time.time_ns() if now_ns is None else now_ns
        if cls._open(now) and cls._open(now + 3600 * _NS):
            return cls(0)
        local_day = (now + KST_OFFSET_NS) // _DAY
        target = local_day * _DAY + 11 * 3600 * _NS - KST_OFFSET_NS
        while target > now or not cls._open(target):
            target -= _DAY
        return cls(target - now)

    @staticmethod
    def _open(ts_ns: int) -> bool:
        return in_regular_session(ts_ns) and is_trading_day(kst_date(ts_ns))
