"""Every decimal context and time unit of the core is defined once, with the settings it always had.

A digest of the golden replays depends on each context's precision, rounding and traps: a change to
one of them must be a decision, made here, never a side effect of moving code.
"""

from __future__ import annotations

import ast
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_05UP,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Context,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from pathlib import Path

import pytest

from engines import decimals, units

ENGINES = Path(__file__).resolve().parents[3] / "engines"
NO_ANSWER = [InvalidOperation, DivisionByZero, Overflow]


def spelled(prec: int, rounding: str, emin: int, emax: int, traps: list[type[ArithmeticError]]) -> Context:
    return Context(
        prec=prec, rounding=rounding, Emin=emin, Emax=emax, capitals=1, clamp=0, flags=[], traps=traps
    )


EXPECTED = {
    "LEDGER_CONTEXT": spelled(50, ROUND_HALF_EVEN, -999_999, 999_999, [*NO_ANSWER, Inexact]),
    "LEDGER_DIVISION_CONTEXT": spelled(50, ROUND_05UP, -999_999, 999_999, NO_ANSWER),
    "ORDER_SUM_CONTEXT": spelled(60, ROUND_HALF_EVEN, MIN_EMIN, MAX_EMAX, [Inexact, Overflow]),
    "AVG_PX_CONTEXT": spelled(28, ROUND_HALF_EVEN, MIN_EMIN, MAX_EMAX, NO_ANSWER),
    "TICK_GRID_CONTEXT": spelled(60, ROUND_HALF_EVEN, -999_999, 999_999, [InvalidOperation]),
    "SIM_CONTEXT": spelled(60, ROUND_HALF_EVEN, -999_999, 999_999, NO_ANSWER),
    "SIM_DIVISION_CONTEXT": spelled(60, ROUND_05UP, -999_999, 999_999, NO_ANSWER),
    "RESERVATION_CONTEXT": spelled(MAX_PREC, ROUND_HALF_EVEN, MIN_EMIN, MAX_EMAX, NO_ANSWER),
    "PORTFOLIO_CONTEXT": spelled(50, ROUND_DOWN, -999_999, 999_999, NO_ANSWER),
    "LEG_SIZE_CONTEXT": spelled(60, ROUND_FLOOR, -999_999, 999_999, NO_ANSWER),
    "REPORT_CONTEXT": spelled(50, ROUND_HALF_EVEN, -999_999, 999_999, NO_ANSWER),
    "INDICATOR_EXACT_CONTEXT": spelled(MAX_PREC, ROUND_HALF_EVEN, MIN_EMIN, MAX_EMAX, [*NO_ANSWER, Inexact]),
    "INDICATOR_STATE_CONTEXT": spelled(50, ROUND_HALF_EVEN, -999_999, 999_999, NO_ANSWER),
    "INDICATOR_VALUE_CONTEXT": spelled(28, ROUND_HALF_EVEN, -999_999, 999_999, NO_ANSWER),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_context_keeps_its_settings(name: str) -> None:
    context = getattr(decimals, name)
    expected = EXPECTED[name]
    for field in ("prec", "rounding", "Emin", "Emax", "capitals", "clamp"):
        assert getattr(context, field) == getattr(expected, field), f"{name}.{field}"
    assert {t for t, on in context.traps.items() if on} == {t for t, on in expected.traps.items() if on}


def test_the_module_exports_exactly_the_pinned_contexts() -> None:
    assert sorted(decimals.__all__) == sorted(EXPECTED)


def test_the_time_units() -> None:
    assert units.NS_PER_MS == 10**6
    assert units.NS_PER_SECOND == 10**9
    assert units.NS_PER_MINUTE == 60 * 10**9
    assert units.NS_PER_HOUR == 3_600 * 10**9
    assert units.NS_PER_DAY == 86_400 * 10**9


def _builds_a_decimal_context(tree: ast.AST) -> bool:
    """Whether the module imports ``decimal.Context`` or calls ``decimal.Context(...)``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "decimal":
            imported = any(alias.name == "Context" for alias in node.names)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            imported = node.value.id == "decimal" and node.attr == "Context"
        else:
            imported = False
        if imported:
            return True
    return False


@pytest.mark.parametrize(
    "module",
    sorted(str(p.relative_to(ENGINES.parent)) for p in ENGINES.rglob("*.py") if p.name != "decimals.py"),
)
def test_no_other_engines_module_builds_a_decimal_context(module: str) -> None:
    """One module holds the contexts: a second definition somewhere is how two of them drift apart."""
    tree = ast.parse((ENGINES.parent / module).read_text())
    assert not _builds_a_decimal_context(tree), f"{module} builds its own decimal Context"
