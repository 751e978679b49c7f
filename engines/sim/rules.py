"""What the simulated venue refuses before it accepts an order: its reject codes, and the checks of
an order's own terms against the instrument's spec.

The checks that need the venue's state (a duplicate id, the session, the daily band, the price a
market order is valued at, the account) are the venue's own (:meth:`SimVenue._check
<engines.sim.venue.SimVenue._check>` runs them all, in order); those that need only the order and
its spec are here.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TypeAlias

from engines.decimals import SIM_CONTEXT
from engines.markets.prices import on_tick_grid, tick_at
from engines.model.commands import SubmitOrder
from engines.model.enums import OrderType
from engines.model.instruments import InstrumentKind, InstrumentSpec

__all__ = ["Refusal", "RejectCode", "check_notional", "check_terms", "multiple", "order_prices", "positive"]


class RejectCode(StrEnum):
    """The ``code`` of every :class:`~engines.model.events.OrderRejected` the sim sends."""

    DUPLICATE_ORDER_ID = "DUPLICATE_ORDER_ID"
    UNKNOWN_INSTRUMENT = "UNKNOWN_INSTRUMENT"
    MARKET_CLOSED = "MARKET_CLOSED"
    INVALID_QTY = "INVALID_QTY"
    INVALID_PRICE = "INVALID_PRICE"
    LOT_SIZE = "LOT_SIZE"
    MIN_QTY = "MIN_QTY"
    TICK_SIZE = "TICK_SIZE"
    PRICE_LIMIT = "PRICE_LIMIT"
    NO_PRICE = "NO_PRICE"
    MIN_NOTIONAL = "MIN_NOTIONAL"
    INSUFFICIENT_CASH = "INSUFFICIENT_CASH"
    INSUFFICIENT_POSITION = "INSUFFICIENT_POSITION"
    REDUCE_ONLY = "REDUCE_ONLY"
    INJECTED = "INJECTED"


Refusal: TypeAlias = tuple[RejectCode, str]
"""Why an order is refused: its reject code and a reason a person can read."""


def positive(x: Decimal) -> bool:
    # is_finite first: comparing a NaN traps instead of answering.
    return x.is_finite() and x > 0


def multiple(x: Decimal, step: Decimal) -> bool:
    """Whether ``x`` is a whole multiple of ``step`` (any ``x`` when ``step`` is not positive)."""
    if step <= 0:
        return True
    try:
        return SIM_CONTEXT.remainder(x, step) == 0
    except InvalidOperation:  # the quotient needs more than 60 digits: not on any sane grid
        return False


def order_prices(cmd: SubmitOrder) -> list[tuple[str, Decimal | None]]:
    """The prices the order names, each with what it is: the limit of a LIMIT or STOP_LIMIT order,
    the stop of a STOP or STOP_LIMIT order."""
    wanted: list[tuple[str, Decimal | None]] = []
    if cmd.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        wanted.append(("limit price", cmd.price))
    if cmd.order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
        wanted.append(("stop price", cmd.trigger_price))
    return wanted


def check_terms(
    cmd: SubmitOrder, spec: InstrumentSpec, wanted: list[tuple[str, Decimal | None]]
) -> Refusal | None:
    """The first of the order's own terms the spec refuses, in this order: a quantity that is not
    positive, a price it needs (``wanted``, from :func:`order_prices`) that is missing or not
    positive, a quantity off the lot or below the minimum, a price off the tick grid."""
    qty = cmd.quantity
    if not positive(qty):
        return RejectCode.INVALID_QTY, f"quantity {qty} is not positive"
    for what, value in wanted:
        if value is None or not positive(value):
            return RejectCode.INVALID_PRICE, f"{cmd.order_type} order needs a positive {what}"
    if not multiple(qty, spec.lot_size):
        return RejectCode.LOT_SIZE, f"quantity {qty} is not a multiple of the lot {spec.lot_size}"
    if qty < spec.min_qty:
        return RejectCode.MIN_QTY, f"quantity {qty} is below the minimum {spec.min_qty}"
    for what, value in wanted:
        assert value is not None
        if not on_tick_grid(spec, value):
            tick = tick_at(spec, value)
            return RejectCode.TICK_SIZE, f"{what} {value} is not a multiple of the tick {tick}"
    return None


def check_notional(cmd: SubmitOrder, spec: InstrumentSpec, px: Decimal) -> Refusal | None:
    """A notional below the spec's minimum, the order valued at ``px`` (run under SIM_CONTEXT)."""
    qty = cmd.quantity
    # inverse contracts are denominated in the quote currency
    notional = qty * spec.multiplier if spec.kind is InstrumentKind.INVERSE else qty * px * spec.multiplier
    if notional < spec.min_notional:
        return (
            RejectCode.MIN_NOTIONAL,
            f"notional {notional} {spec.quote} is below the minimum {spec.min_notional}",
        )
    return None
