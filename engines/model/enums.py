"""The enumerations that events, commands and the SDK share: sides, order types, time in force,
liquidity, what a venue reports an order to be, and what an arbitrage does when a leg fails.

They are :class:`~enum.StrEnum`: the journal stores their values (``"buy"``, ``"limit"``), which
is what ``journal export`` shows.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["LegPolicy", "Liquidity", "OrderType", "ReportedStatus", "Side", "TimeInForce"]


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    DAY = "day"


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


class LegPolicy(StrEnum):
    """What an arbitrage does when a leg fails (DESIGN.md section 4)."""

    UNWIND = "unwind"
    HEDGE = "hedge"
    HALT = "halt"


class ReportedStatus(StrEnum):
    """What a venue says an order is: one of the order statuses it can see, or that it has no such
    order (``not_found``)."""

    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    NOT_FOUND = "not_found"
