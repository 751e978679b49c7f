"""The legs of an arbitrage: their specs, their size in venue units, their limit on the tick grid, and
their state while the arbitrage is in flight.

``LegOrder.quantity`` (what a strategy asks for) is in base units: :func:`venue_quantity` converts it
to the units the venue trades (contracts for linear and inverse legs) and floors it to the lot;
:func:`limit_on_grid` moves a limit onto the tick grid the safe way. Both raise
:class:`ArbitrageError` before any leg is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from engines.decimals import LEG_SIZE_CONTEXT
from engines.errors import VibeError
from engines.markets.prices import round_to_tick
from engines.markets.specs import UnknownInstrumentError
from engines.model.enums import OrderType, Side, TimeInForce
from engines.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    QuoteTick,
)
from engines.model.instruments import InstrumentKind, InstrumentSpec
from engines.sdk import ArbitrageParams, LegOrder

__all__ = [
    "ACCEPTED",
    "DONE",
    "ENTRY",
    "HEDGE",
    "UNWIND",
    "WAITING",
    "ArbOrder",
    "Arbitrage",
    "ArbitrageError",
    "Leg",
    "checked_params",
    "describe_failure",
    "leg_specs",
    "limit_on_grid",
    "venue_quantity",
]

_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)

_HINTS: Final = {
    "VT340": "Raise the leg quantity: it must convert to at least one lot and the instrument's min_qty "
    "(inverse legs: quantity × price / multiplier contracts, e.g. 100 USD per BTCUSD-PERP contract).",
    "VT341": "The leg's quote or limit gives no usable price; check the data for an empty side, "
    "or give a limit of at least one tick.",
    "VT342": "Fix the arbitrage parameters or the legs' instrument specs (see docs/arbitrage.md).",
}

# Roles of an arbitrage's orders.
ENTRY: Final = "entry"
HEDGE: Final = "hedge"
UNWIND: Final = "unwind"
# How far a leg has got: what the release of the next leg waits for.
WAITING: Final = 0
ACCEPTED: Final = 1
DONE: Final = 2


class ArbitrageError(VibeError):
    """An arbitrage intent or configuration the engine cannot trade (VT340-VT342)."""

    code = "VT340"

    def __init__(self, message: str, *, code: str = "VT340") -> None:
        super().__init__(message, code=code, hint=_HINTS.get(code))


# ── configuration ───────────────────────────────────────────────────────────────────────────────


def checked_params(strategy: str, params: object) -> ArbitrageParams:
    """The strategy's parameters, which must derive from ArbitrageParams with a window of at least 0."""
    if not isinstance(params, ArbitrageParams):
        raise ArbitrageError(
            f"strategy {strategy!r}: parameters {type(params).__name__} do not derive from ArbitrageParams",
            code="VT342",
        )
    if params.window_ms < 0:
        raise ArbitrageError(f"strategy {strategy!r}: window_ms {params.window_ms} is negative", code="VT342")
    return params


def leg_specs(
    strategy: str, legs: tuple[str, ...], specs: Mapping[str, InstrumentSpec]
) -> dict[str, InstrumentSpec]:
    """The spec of every leg: UnknownInstrumentError for a leg without one, VT342 for a leg whose
    multiplier is not positive (it could not be sized)."""
    out: dict[str, InstrumentSpec] = {}
    for symbol in legs:
        leg_spec = specs.get(symbol)
        if leg_spec is None:
            raise UnknownInstrumentError(f"no instrument spec for leg {symbol!r} of {strategy!r}")
        if not (leg_spec.multiplier.is_finite() and leg_spec.multiplier > 0):
            raise ArbitrageError(
                f"leg {symbol}: multiplier {leg_spec.multiplier} is not positive", code="VT342"
            )
        out[symbol] = leg_spec
    return out


# ── sizing ──────────────────────────────────────────────────────────────────────────────────────


def venue_quantity(spec: InstrumentSpec, leg: LegOrder, quote: QuoteTick) -> Decimal:
    """The order quantity, in the venue's units, of a leg of ``leg.quantity`` base units.

    Spot and equity: the quantity; linear: ``quantity / multiplier`` contracts; inverse:
    ``quantity * touch / multiplier`` contracts, the touch being the ask for a buy and the bid for a
    sell. Floored to the lot size. Raises :class:`ArbitrageError` VT340 when that leaves less than
    one lot or less than ``min_qty``, VT341 when an inverse leg's touch is not a positive price.
    """
    qty = leg.quantity
    if spec.kind is InstrumentKind.INVERSE:
        px = quote.ask if leg.side is Side.BUY else quote.bid
        if not (px.is_finite() and px > 0):
            raise ArbitrageError(
                f"leg {leg.symbol}: no {'ask' if leg.side is Side.BUY else 'bid'} to convert "
                f"{qty} base units into contracts (quote {quote.bid} / {quote.ask})",
                code="VT341",
            )
        qty = LEG_SIZE_CONTEXT.divide(LEG_SIZE_CONTEXT.multiply(qty, px), spec.multiplier)
    elif spec.kind is InstrumentKind.LINEAR and spec.multiplier != _ONE:
        qty = LEG_SIZE_CONTEXT.divide(qty, spec.multiplier)
    lot = spec.lot_size
    if lot > 0:
        floored = LEG_SIZE_CONTEXT.multiply(LEG_SIZE_CONTEXT.divide_int(qty, lot), lot)
        if floored != qty or qty is not leg.quantity:  # a quantity already on the grid keeps its digits
            qty = floored
    if qty <= 0 or qty < spec.min_qty:
        unit = "contracts" if spec.kind in (InstrumentKind.INVERSE, InstrumentKind.LINEAR) else "units"
        raise ArbitrageError(
            f"leg {leg.symbol} {leg.side} {leg.quantity}: {qty} {unit} after conversion and rounding "
            f"down to the lot {lot} (minimum {max(lot, spec.min_qty)})",
            code="VT340",
        )
    return qty


def limit_on_grid(spec: InstrumentSpec, leg: LegOrder, limit: Decimal) -> Decimal:
    """The limit on the tick grid, rounded the safe way (:func:`engines.markets.prices.round_to_tick`): a buy
    down, a sell up, so the order never pays more or asks less than the strategy said."""
    try:
        return round_to_tick(spec, limit, leg.side)
    except ValueError as exc:
        raise ArbitrageError(f"leg {leg.symbol} {leg.side}: limit {limit}: {exc}", code="VT341") from None


# ── the arbitrage in flight ─────────────────────────────────────────────────────────────────────


@dataclass(slots=True)
class Leg:
    """One leg of the arbitrage in flight, in venue units (contracts for inverse legs)."""

    index: int
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    price: Decimal | None
    time_in_force: TimeInForce
    state: int = WAITING
    filled: Decimal = _ZERO  # by its entry and hedge orders
    unwound: Decimal = _ZERO  # by its unwind orders
    hedges: int = 0
    unwinds: int = 0


@dataclass(slots=True)
class ArbOrder:
    """An order of the arbitrage that has not reached a terminal status."""

    leg: Leg
    role: str
    deadline: int
    canceling: bool = False


@dataclass(slots=True)
class Arbitrage:
    arb_id: str
    aligned: tuple[int, ...]
    legs: list[Leg]
    released: int = 0
    unwinding: bool = False
    notes: list[str] | None = None

    def note(self, text: str) -> None:
        if self.notes is None:
            self.notes = []
        self.notes.append(text)

    @property
    def reason(self) -> str:
        return "; ".join(self.notes) if self.notes else ""


def describe_failure(
    event: OrderAccepted | OrderRejected | OrderFilled | OrderCanceled | OrderExpired,
    working: ArbOrder,
    filled: Decimal,
    quantity: Decimal,
) -> str:
    """How a leg's order ended without filling the leg: what the arbitrage notes of a failed leg."""
    leg = working.leg
    what = f"leg {leg.index} ({leg.symbol} {leg.side}"
    what += ")" if working.role == ENTRY else f", {working.role})"
    if isinstance(event, OrderRejected):
        how = f"rejected ({event.code}: {event.reason})" if event.code else f"rejected ({event.reason})"
    elif isinstance(event, OrderCanceled):
        how = f"canceled ({event.reason})" if event.reason else "canceled"
    elif isinstance(event, OrderExpired):
        how = "expired"
    else:  # a fill or an ack that found the order already ended
        how = "ended"
    return f"{what} {how}, filled {filled} of {quantity}"
