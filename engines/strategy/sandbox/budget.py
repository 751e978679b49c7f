"""The load budget: a count of executed lines, calls and loop iterations, and a call-depth limit.

Counted, never timed, so that loading the same source gives the same outcome on every run of the
same interpreter. Two parts: :func:`instrument` puts a budget tick at the top of every loop body,
function body, lambda and comprehension (so a budget that ran out stays run out even if the code
swallows the exception), and :class:`Meter` counts the ticks and ``sys.settrace`` events.
"""

from __future__ import annotations

import ast
import types
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, NoReturn, TypeVar

if TYPE_CHECKING:
    from _typeshed import TraceFunction

__all__ = ["DEFAULT_MAX_DEPTH", "DEFAULT_MAX_STEPS", "TICK_NAME", "BudgetExceeded", "Meter", "instrument"]

_N = TypeVar("_N", bound=ast.AST)

#: The default load budget: trace events (lines and calls) plus loop ticks, and call depth.
DEFAULT_MAX_STEPS: Final = 500_000
DEFAULT_MAX_DEPTH: Final = 200

#: The name of the budget tick in the strategy's builtins (the instrumented code calls it).
TICK_NAME: Final = "__vt_tick__"


def _locate(node: _N, anchor: ast.AST) -> _N:
    for field in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
        setattr(node, field, getattr(anchor, field, None) or (1 if field == "lineno" else 0))
    return node


def _tick_call(line: int, anchor: ast.AST) -> ast.Call:
    name = _locate(ast.Name(id=TICK_NAME, ctx=ast.Load()), anchor)
    argument = _locate(ast.Constant(value=line), anchor)
    call = ast.Call(func=name, args=[argument], keywords=[])
    _locate(call, anchor)
    return call


def _tick_statement(line: int, anchor: ast.AST) -> ast.Expr:
    statement = ast.Expr(value=_tick_call(line, anchor))
    _locate(statement, anchor)
    return statement


def _has_docstring(body: Sequence[ast.stmt]) -> bool:
    first = body[0] if body else None
    return (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )


def instrument(tree: ast.Module) -> None:
    """Put a budget tick at the top of every loop body, function body, lambda and comprehension."""
    for node in list(ast.walk(tree)):
        if isinstance(node, ast.For | ast.AsyncFor | ast.While):
            node.body.insert(0, _tick_statement(node.lineno, node.body[0]))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            index = 1 if _has_docstring(node.body) else 0
            anchor = node.body[min(index, len(node.body) - 1)]
            node.body.insert(index, _tick_statement(node.lineno, anchor))
        elif isinstance(node, ast.Lambda):
            tick = _tick_call(node.lineno, node.body)
            node.body = _locate(ast.BoolOp(op=ast.And(), values=[tick, node.body]), node.body)
        elif isinstance(node, ast.comprehension):
            node.ifs.append(_tick_call(getattr(node.target, "lineno", 1), node.target))


class BudgetExceeded(BaseException):
    """Raised inside the strategy's frames when the budget is spent. Not an Exception on purpose."""


class Meter:
    """Counts trace events and loop ticks; trips once and then keeps refusing (the ticks re-raise)."""

    def __init__(self, filename: str, max_steps: int, max_depth: int) -> None:
        self.filename = filename
        self.max_steps = max_steps
        self.max_depth = max_depth
        self.steps = 0
        self.depth = 0
        self.active = True
        self.tripped: str | None = None
        self.line: int | None = None

    def trace(self, frame: types.FrameType, event: str, arg: object) -> TraceFunction | None:
        if not self.active:
            return None
        if event == "line":
            self.steps += 1
            if self.steps > self.max_steps:
                self._trip(frame, "steps", None)
        elif event == "call":
            if frame.f_code is _TICK_CODE:
                return None  # ticks count themselves
            self.steps += 1
            self.depth += 1
            # Report the line that made the call, not the callee's def line.
            if self.depth > self.max_depth:
                self._trip(frame.f_back, "depth", None)
            if self.steps > self.max_steps:
                self._trip(frame.f_back, "steps", None)
        elif event == "return":
            self.depth -= 1
        return self.trace

    def tick(self, line: int) -> bool:
        if self.active:
            self.steps += 1
            if self.tripped is not None or self.steps > self.max_steps:
                self._trip(None, "steps", line)
        return True

    def _trip(self, frame: types.FrameType | None, why: str, line: int | None) -> NoReturn:
        if self.tripped is None:
            self.tripped = why
            self.line = line if line is not None else self._user_line(frame)
        raise BudgetExceeded

    def _user_line(self, frame: types.FrameType | None) -> int | None:
        while frame is not None:
            if frame.f_code.co_filename == self.filename:
                return frame.f_lineno
            frame = frame.f_back
        return None


_TICK_CODE: Final = Meter.tick.__code__
