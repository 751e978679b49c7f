"""Output contracts of the three strategy types, checked on every call.

Each check returns the output in a normalised form or raises :class:`ContractViolation` naming the
strategy, the exchange time of the event that triggered the call, and what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from engines.errors import ContractViolation
from engines.model.enums import OrderType
from engines.sdk import ArbIntent, CancelAll, CancelOrder, LegOrder, OrderIntent, TargetPosition

#: One action of a single-asset signal's list, carried out in list order.
SingleAction = OrderIntent | CancelOrder | CancelAll


def _fail(code: str, strategy: str, ts_ns: int, what: str) -> ContractViolation:
    return ContractViolation(f"strategy {strategy!r} at ts {ts_ns}: {what}", code=code)


def _is_finite_decimal(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


def check_single(
    strategy: str, ts_ns: int, output: object
) -> TargetPosition | tuple[SingleAction, ...] | None:
    """single: a TargetPosition, a sequence of OrderIntent, CancelOrder and CancelAll, or None."""
    if output is None:
        return None
    if isinstance(output, TargetPosition):
        if not _is_finite_decimal(output.quantity):
            raise _fail("VT301", strategy, ts_ns, f"target quantity {output.quantity!r}")
        return output
    if isinstance(output, Sequence) and not isinstance(output, str | bytes):
        actions = tuple(output)
        for action in actions:
            if isinstance(action, OrderIntent):
                _check_intent(strategy, ts_ns, action)
            elif isinstance(action, CancelOrder):
                if not isinstance(action.client_order_id, str) or not action.client_order_id:
                    raise _fail("VT300", strategy, ts_ns, f"cancel of order {action.client_order_id!r}")
            elif not isinstance(action, CancelAll):
                raise _fail("VT300", strategy, ts_ns, f"list holds a {type(action).__name__}")
        return actions
    raise _fail("VT300", strategy, ts_ns, f"returned {type(output).__name__}")


def _check_intent(strategy: str, ts_ns: int, intent: OrderIntent) -> None:
    if not _is_finite_decimal(intent.quantity) or intent.quantity <= 0:
        raise _fail("VT301", strategy, ts_ns, f"order quantity {intent.quantity!r}")
    needs_limit = intent.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    needs_stop = intent.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
    for name, price, required in (
        ("limit", intent.limit, needs_limit),
        ("stop", intent.stop, needs_stop),
    ):
        if price is None:
            if required:
                raise _fail("VT302", strategy, ts_ns, f"{intent.order_type} order without {name}")
        elif not _is_finite_decimal(price) or price <= 0:
            raise _fail("VT302", strategy, ts_ns, f"{name} price {price!r}")


def check_weights(
    strategy: str,
    ts_ns: int,
    output: object,
    universe: Sequence[str],
    *,
    min_weight: Decimal,
    max_weight: Decimal,
    allow_short: bool,
) -> dict[str, Decimal]:
    """portfolio: finite weights over the universe, each within bounds, summing to at most 1."""
    if not isinstance(output, Mapping):
        raise _fail("VT315", strategy, ts_ns, f"returned {type(output).__name__}")
    members = set(universe)
    weights: dict[str, Decimal] = {}
    for symbol, given in output.items():
        # {"x": 1} means Decimal(1); a bool is not a weight and stays for the check below to refuse
        weight = Decimal(given) if type(given) is int else given
        if symbol not in members:
            raise _fail("VT310", strategy, ts_ns, f"weight for {symbol!r}")
        if not _is_finite_decimal(weight):
            raise _fail("VT311", strategy, ts_ns, f"weight {weight!r} for {symbol}")
        if weight < 0 and not allow_short:
            raise _fail("VT314", strategy, ts_ns, f"weight {weight} for {symbol}")
        if not min_weight <= weight <= max_weight and not (allow_short and weight < 0):
            raise _fail(
                "VT312",
                strategy,
                ts_ns,
                f"weight {weight} for {symbol} outside [{min_weight}, {max_weight}]",
            )
        weights[symbol] = weight
    total = sum(weights.values(), Decimal(0))
    if total > 1:
        raise _fail("VT313", strategy, ts_ns, f"weights sum to {total}")
    return {symbol: weights.get(symbol, Decimal(0)) for symbol in universe}


def check_arbitrage(
    strategy: str, ts_ns: int, output: object, legs: Sequence[str]
) -> tuple[LegOrder, ...] | None:
    """arbitrage: None or 2-3 legs, each a distinct declared symbol with a positive quantity."""
    if output is None:
        return None
    if not isinstance(output, ArbIntent):
        raise _fail("VT320", strategy, ts_ns, f"returned {type(output).__name__}")
    if not 2 <= len(output.legs) <= 3:
        raise _fail("VT320", strategy, ts_ns, f"{len(output.legs)} legs (2 or 3 allowed)")
    seen: set[str] = set()
    for leg in output.legs:
        if not isinstance(leg, LegOrder):
            raise _fail("VT320", strategy, ts_ns, f"leg is a {type(leg).__name__}")
        if leg.symbol not in legs or leg.symbol in seen:
            raise _fail("VT321", strategy, ts_ns, f"leg {leg.symbol!r}")
        seen.add(leg.symbol)
        if not _is_finite_decimal(leg.quantity) or leg.quantity <= 0:
            raise _fail("VT322", strategy, ts_ns, f"leg {leg.symbol} quantity {leg.quantity!r}")
        if leg.limit is not None and (not _is_finite_decimal(leg.limit) or leg.limit <= 0):
            raise _fail("VT322", strategy, ts_ns, f"leg {leg.symbol} limit {leg.limit!r}")
    return output.legs
