"""Output contracts: each type's checker accepts valid output and names every violation's code."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engines.errors import ContractViolation
from engines.model.enums import OrderType, Side
from engines.sdk import ArbIntent, LegOrder, OrderIntent, TargetPosition
from engines.strategy.contract import check_arbitrage, check_single, check_weights

D = Decimal
UNIVERSE = ("krx:005930", "krx:000660", "krx:035420")
LEGS = ("binance-spot:BTCUSDT", "binance-usdm:BTCUSDT", "bybit-linear:BTCUSDT")


def code_of(call: object) -> str:
    assert callable(call)
    with pytest.raises(ContractViolation) as exc:
        call()
    assert "strategy 's' at ts 7" in exc.value.message
    return exc.value.code


def test_single_accepts_target_intents_and_none() -> None:
    assert check_single("s", 7, None) is None
    assert check_single("s", 7, TargetPosition(D(-2))) == TargetPosition(D(-2))
    intents = [
        OrderIntent(side=Side.BUY, quantity=D(1)),
        OrderIntent(side=Side.SELL, quantity=D(1), order_type=OrderType.LIMIT, limit=D("10.5")),
    ]
    assert check_single("s", 7, intents) == tuple(intents)


@pytest.mark.parametrize(
    ("output", "code"),
    [
        (D(1), "VT300"),
        ("buy", "VT300"),
        ([TargetPosition(D(1))], "VT300"),
        (TargetPosition(D("NaN")), "VT301"),
        (TargetPosition(D("Infinity")), "VT301"),
        ([OrderIntent(side=Side.BUY, quantity=D(0))], "VT301"),
        ([OrderIntent(side=Side.BUY, quantity=D(1), order_type=OrderType.LIMIT)], "VT302"),
        ([OrderIntent(side=Side.BUY, quantity=D(1), order_type=OrderType.STOP)], "VT302"),
        (
            [OrderIntent(side=Side.BUY, quantity=D(1), order_type=OrderType.LIMIT, limit=D(-1))],
            "VT302",
        ),
    ],
)
def test_single_violations(output: object, code: str) -> None:
    assert code_of(lambda: check_single("s", 7, output)) == code


ONE = D(1)


def weights(output: object, *, allow_short: bool = False, max_weight: Decimal = ONE) -> dict[str, Decimal]:
    return check_weights(
        "s",
        7,
        output,
        UNIVERSE,
        min_weight=D(-1) if allow_short else D(0),
        max_weight=max_weight,
        allow_short=allow_short,
    )


def test_weights_fill_missing_symbols_with_zero_in_universe_order() -> None:
    assert weights({"krx:000660": D("0.5")}) == {
        "krx:005930": D(0),
        "krx:000660": D("0.5"),
        "krx:035420": D(0),
    }


@pytest.mark.parametrize(
    ("output", "code", "kwargs"),
    [
        ([D(1)], "VT315", {}),
        ({"krx:999999": D("0.1")}, "VT310", {}),
        ({"krx:005930": D("NaN")}, "VT311", {}),
        ({"krx:005930": 0.5}, "VT311", {}),
        ({"krx:005930": D("0.6")}, "VT312", {"max_weight": D("0.5")}),
        ({"krx:005930": D("0.6"), "krx:000660": D("0.5")}, "VT313", {}),
        ({"krx:005930": D("-0.1")}, "VT314", {}),
    ],
)
def test_weight_violations(output: object, code: str, kwargs: dict[str, object]) -> None:
    assert code_of(lambda: weights(output, **kwargs)) == code  # type: ignore[arg-type]


def test_shorts_allowed_when_declared() -> None:
    assert weights({"krx:005930": D("-0.3")}, allow_short=True)["krx:005930"] == D("-0.3")


def leg(symbol: str, quantity: str = "1", limit: str | None = None) -> LegOrder:
    return LegOrder(
        symbol=symbol,
        side=Side.BUY,
        quantity=D(quantity),
        limit=None if limit is None else D(limit),
    )


def test_arbitrage_keeps_leg_order() -> None:
    intent = ArbIntent((leg(LEGS[2]), leg(LEGS[0])))
    assert check_arbitrage("s", 7, intent, LEGS) == (leg(LEGS[2]), leg(LEGS[0]))


@pytest.mark.parametrize(
    ("output", "code"),
    [
        ({"legs": []}, "VT320"),
        (ArbIntent((leg(LEGS[0]),)), "VT320"),
        (ArbIntent((leg(LEGS[0]), leg(LEGS[1]), leg(LEGS[2]), leg(LEGS[0]))), "VT320"),
        (ArbIntent((leg(LEGS[0]), leg("krx:005930"))), "VT321"),
        (ArbIntent((leg(LEGS[0]), leg(LEGS[0]))), "VT321"),
        (ArbIntent((leg(LEGS[0]), leg(LEGS[1], quantity="0"))), "VT322"),
        (ArbIntent((leg(LEGS[0]), leg(LEGS[1], limit="NaN"))), "VT322"),
    ],
)
def test_arbitrage_violations(output: object, code: str) -> None:
    assert code_of(lambda: check_arbitrage("s", 7, output, LEGS)) == code
