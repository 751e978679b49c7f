"""Every parameter error names the parameter, the text it was given and what it takes (VT111, VT12x).

msgspec's own wording ("Expected `int`, got `str`", "Invalid enum value 'x'") describes the string the
command line handed it rather than what the user wrote, and names neither the bounds nor the values
allowed; the declaration (engines/strategy/declaration.py) rewrites it.
"""

from __future__ import annotations

import pytest

from engines.errors import DeclarationError
from engines.strategy.declaration import StrategySpec, declare
from engines.strategy.sandbox.runtime import load_module

SOURCE = """\
from decimal import Decimal
from collections.abc import Mapping
from typing import Annotated, Literal

from engines.sdk import (
    Bar, Bounds, Context, LegPolicy, Params, PortfolioStrategy, Signal, SingleAssetStrategy, Weights,
)


class SingleParams(Params, frozen=True, kw_only=True):
    symbol: str = "krx:005930"
    fast: Annotated[int, Bounds(ge=1, le=500)] = 5
    size: Annotated[Decimal, Bounds(gt=0)] = Decimal(10)
    ratio: Decimal = Decimal("0.5")
    flag: bool = False
    mode: Literal["fast", "slow"] = "fast"
    policy: LegPolicy = LegPolicy.UNWIND
    lookbacks: tuple[int, ...] = (5, 20)


class Single(SingleAssetStrategy[SingleParams]):
    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        return None


class BookParams(Params, frozen=True, kw_only=True):
    universe: str = "krx:005930,krx:000660"


class Book(PortfolioStrategy[BookParams]):
    def rebalance(self, ctx: Context, bars: Mapping[str, Bar]) -> Weights | None:
        return None


STRATEGY = {STRATEGY}
"""


def declared(strategy: str = "Single", source: str = SOURCE, **params: str) -> StrategySpec:
    text = source.replace("{STRATEGY}", strategy)
    namespace = load_module(text, "params.py", module_name="vibetrading_test_param_errors")
    return declare(namespace, source=text, filename="params.py", overrides=params)


def refusal(strategy: str = "Single", source: str = SOURCE, **params: str) -> DeclarationError:
    with pytest.raises(DeclarationError) as err:
        declared(strategy, source, **params)
    return err.value


def line_of(source: str, text: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if text in line)


def test_the_test_strategy_is_valid_as_written() -> None:
    spec = declared(fast="7", flag="true", mode="slow", policy="halt", lookbacks="3,9")
    assert spec.universe == ("krx:005930",)


@pytest.mark.parametrize(
    ("name", "text", "allowed"),
    [
        ("fast", "1.5", "a whole number (int) >= 1 and <= 500"),
        ("fast", "ten", "a whole number (int) >= 1 and <= 500"),
        ("size", "abc", "a decimal number (Decimal) > 0"),
        ("ratio", "half", "a decimal number (Decimal)"),
        ("flag", "maybe", "true or false (also 1 or 0)"),
        ("mode", "medium", "one of fast, slow"),
        ("policy", "retry", "one of unwind, hedge, halt"),
        ("lookbacks", "5,x", "a comma-separated list, each a whole number (int)"),
    ],
)
def test_a_value_of_the_wrong_type_names_parameter_text_and_what_is_allowed(
    name: str, text: str, allowed: str
) -> None:
    error = refusal(**{name: text})
    assert error.code == "VT111"
    assert error.message == f"parameter {name!r}: got {text!r}; allowed: {allowed}"
    assert error.line == line_of(SOURCE, f"    {name}: ")
    assert f"--param {name}=VALUE" in error.hint
    assert "Expected `" not in error.message
    assert "Invalid enum value" not in error.message


@pytest.mark.parametrize(
    ("name", "text", "problem", "allowed"),
    [
        ("fast", "501", "501 must be <= 500", "a whole number (int) >= 1 and <= 500"),
        ("fast", "0", "0 must be >= 1", "a whole number (int) >= 1 and <= 500"),
        # the text as written, not only the value it became
        ("fast", "1e3", "1000 must be <= 500", "a whole number (int) >= 1 and <= 500"),
        ("size", "0.00", "0.00 must be > 0", "a decimal number (Decimal) > 0"),
        ("size", "NaN", "NaN is not finite", "a decimal number (Decimal) > 0"),
    ],
)
def test_a_value_out_of_bounds_names_parameter_text_and_bounds(
    name: str, text: str, problem: str, allowed: str
) -> None:
    error = refusal(**{name: text})
    assert error.code == "VT111"
    assert error.message == f"parameter {name!r}: got {text!r} ({problem}); allowed: {allowed}"
    assert error.line == line_of(SOURCE, f"    {name}: ")


def test_a_bad_default_is_named_as_the_default_with_a_hint_to_change_it() -> None:
    source = SOURCE.replace("] = 5\n", "] = 0\n", 1)
    error = refusal(source=source)
    assert error.code == "VT111"
    assert error.message == (
        "parameter 'fast': got the default 0 (0 must be >= 1); allowed: a whole number (int) >= 1 and <= 500"
    )
    assert "Change the default of fast in SingleParams" in error.hint


def test_a_universe_with_a_bad_symbol_names_parameter_text_symbol_and_form() -> None:
    error = refusal("Book", universe="krx:005930,BAD")
    assert error.code == "VT120"
    assert error.message.startswith("parameter 'universe': got 'krx:005930,BAD' (")
    assert "'BAD' is not a symbol of the form venue:instrument" in error.message
    assert error.message.endswith(
        "allowed: 2 to 500 distinct symbols written venue:instrument, separated by commas "
        "(e.g. krx:005930,krx:000660)"
    )
    assert error.line == line_of(SOURCE, "    universe: ")


def test_a_single_symbol_that_is_not_a_symbol_names_the_form() -> None:
    error = refusal(symbol="BTCUSDT")
    assert error.code == "VT120"
    assert error.message == (
        "parameter 'symbol': got 'BTCUSDT' ('BTCUSDT' is not a symbol of the form venue:instrument); "
        "allowed: exactly 1 symbol written venue:instrument (e.g. krx:005930)"
    )


@pytest.mark.parametrize(
    ("strategy", "params", "code", "given"),
    [
        ("Single", {"symbol": "krx:005930,krx:000660"}, "VT121", "'krx:005930,krx:000660'"),
        ("Book", {"universe": "krx:005930"}, "VT121", "'krx:005930'"),
        ("Book", {"universe": "krx:005930,krx:005930"}, "VT122", "'krx:005930,krx:005930'"),
    ],
)
def test_a_universe_of_the_wrong_size_names_the_text_and_the_allowed_count(
    strategy: str, params: dict[str, str], code: str, given: str
) -> None:
    error = refusal(strategy, **params)
    assert error.code == code
    name = next(iter(params))
    assert error.message.startswith(f"parameter {name!r}: got {given} (")
    assert "allowed: " in error.message
