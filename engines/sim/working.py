"""The simulated venue's orders: a working order as the venue sees it, and how an ended one is
remembered (to answer a late cancel or a status query)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Final, NamedTuple

from engines.model.commands import SubmitOrder
from engines.model.enums import OrderType, Side
from engines.model.instruments import InstrumentSpec

if TYPE_CHECKING:
    from engines.sim.reservations import Held

__all__ = ["ClosedOrder", "WorkingOrder"]

_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)


class ClosedOrder(NamedTuple):
    """An order that ended: what a cancel or a status query is answered with afterwards."""

    status: str  # a ReportedStatus value: filled, canceled, expired or rejected
    cmd: SubmitOrder
    filled: Decimal
    venue_order_id: str | None


@dataclass(slots=True)
class WorkingOrder:
    """A working order, as the venue sees it (mutable: it lives only inside the venue)."""

    cmd: SubmitOrder
    spec: InstrumentSpec
    active_ns: int
    day: int
    reserve_px: Decimal  # the price the reject checks used: cash and position stay reserved at it
    filled: Decimal = _ZERO
    triggered: bool = True  # False for a stop order until its stop is hit
    fresh: bool = True  # not yet evaluated against the book since it arrived (or triggered)
    # What the order holds while it works (see Reservations.hold): its term in ``group``'s running
    # sum, and for a buy the factor ``1 + reserve rate`` of that term. No group: it holds nothing.
    group: Held | None = None
    held: Decimal = _ZERO
    factor: Decimal = _ONE
    venue_order_id: str = ""

    @property
    def remaining(self) -> Decimal:
        return self.cmd.quantity - self.filled

    @property
    def is_buy(self) -> bool:
        return self.cmd.side is Side.BUY

    @property
    def takes(self) -> bool:
        """A market order, or a triggered stop-market: takes whatever price the book offers."""
        return self.cmd.order_type in (OrderType.MARKET, OrderType.STOP)

    @property
    def limit(self) -> Decimal:
        assert self.cmd.price is not None  # checked at submit for LIMIT and STOP_LIMIT
        return self.cmd.price

    @property
    def stop(self) -> Decimal:
        assert self.cmd.trigger_price is not None  # checked at submit for STOP and STOP_LIMIT
        return self.cmd.trigger_price
