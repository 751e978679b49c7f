"""The sandboxed strategy loader: check a strategy's source, then run it with restricted builtins.

A strategy file is user code that must behave the same on every replay and in live trading. This
module refuses, before anything runs, the constructs that would make it do I/O, read the wall clock
or an unseeded random source, or reach the interpreter's internals; it then executes the module body
with a restricted ``__builtins__`` and a deterministic step budget, and wraps every failure in a
typed :class:`SandboxViolation` naming the file and line.

**This is a guardrail for correctness and determinism, not an OS security boundary.** CPython cannot
confine hostile code from inside the same process; a determined attacker will find a gap. Run code
you do not trust in an OS sandbox (a container, a VM, seccomp, a separate unprivileged user).

The loader takes source *text* (or bytes), never a path: ``engines/`` does no I/O, so the daemon reads
the file and passes what it read. Layers, in order (docs/sandbox.md has the full tables):

1. decode (UTF-8 only) and parse; a syntax error is ``VT204`` with its line;
2. a static check of the whole tree (imports anywhere, forbidden names, dunder and frame attributes,
   ``str.format`` attribute traversal, oversized constant arithmetic, suspicious strings);
3. instrumentation: a budget tick at the top of every loop body, function body, lambda and
   comprehension, so a budget that ran out stays run out even if the code swallows the exception;
4. execution under ``sys.settrace`` with a line/call budget and a call-depth limit (both counted, never
   timed), with ``__builtins__`` built from an allow-list and an ``__import__`` that hands out filtered
   proxies of the allow-listed modules only;
5. an audit of the annotations the module's classes ended up with (typing and msgspec ``eval`` string
   annotations later), which also sees strings the module computed.
"""

from __future__ import annotations

import ast
import builtins
import enum
import re
import string
import sys
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final, NoReturn, TypeVar

from engines.errors import VibeError

if TYPE_CHECKING:
    from sys import UnraisableHookArgs

    from _typeshed import TraceFunction

__all__ = [
    "ALLOWED_MODULES",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_STEPS",
    "FORBIDDEN_ATTRIBUTES",
    "FORBIDDEN_NAMES",
    "MAX_CONSTANT_BITS",
    "MAX_CONSTANT_ITEMS",
    "SAFE_BUILTINS",
    "DynamicClass",
    "ForbiddenAttribute",
    "ForbiddenImport",
    "ForbiddenName",
    "ForbiddenString",
    "InvalidSource",
    "LoadBudgetExceeded",
    "LoadFailed",
    "OversizedConstant",
    "SandboxViolation",
    "UnsafeFormat",
    "check_source",
    "decode_source",
    "find_violations",
    "load_module",
]

_N = TypeVar("_N", bound=ast.AST)

# ── allow-lists and deny-lists ──────────────────────────────────────────────────────────────────

#: Modules a strategy may import (``from engines import sdk`` is the package form of ``engines.sdk``).
ALLOWED_MODULES: Final[frozenset[str]] = frozenset(
    {
        "__future__",
        "bisect",
        "collections",
        "collections.abc",
        "dataclasses",
        "decimal",
        "engines.sdk",
        "enum",
        "fractions",
        "functools",
        "heapq",
        "itertools",
        "math",
        "operator",
        "statistics",
        "typing",
    }
)

#: Members of allowed modules that are still refused, with the reason.
_DENIED_MEMBERS: Final[dict[str, dict[str, str]]] = {
    "decimal": {
        "getcontext": "Use decimal.localcontext() so the engine's global decimal context is untouched.",
        "setcontext": "Use decimal.localcontext() so the engine's global decimal context is untouched.",
        "DefaultContext": "Use decimal.localcontext() so the engine's global decimal context is untouched.",
    },
    "dataclasses": {
        "make_dataclass": "Declare dataclasses with the class statement; make_dataclass builds "
        "classes from strings.",
    },
    "enum": {
        "EnumType": "Subclass Enum with the class statement; calling the metaclass builds classes "
        "from strings.",
        "EnumMeta": "Subclass Enum with the class statement; calling the metaclass builds classes "
        "from strings.",
        "ReprEnum": "Subclass IntEnum or StrEnum instead.",
    },
    "functools": {
        "update_wrapper": "Write the wrapper by hand: update_wrapper copies attributes named by strings.",
        "wraps": "Write the wrapper by hand: wraps copies attributes named by strings.",
    },
    "operator": {
        "attrgetter": "Use a lambda (lambda x: x.name): attrgetter looks attributes up by string.",
        "methodcaller": "Use a lambda (lambda x: x.method()): methodcaller looks methods up by string.",
    },
    "typing": {
        "get_type_hints": "The engine reads annotations; a strategy does not need to evaluate them.",
        "ForwardRef": "The engine reads annotations; a strategy does not need to evaluate them.",
    },
}

#: Builtins a strategy's source may name. ``type`` and ``hash`` are also in the runtime dict (code that
#: dataclasses generates names them) but the source may not name them; see docs/sandbox.md.
SAFE_BUILTINS: Final[frozenset[str]] = frozenset(
    {
        # functions and types
        "abs", "all", "any", "ascii", "bin", "bool", "bytearray", "bytes", "callable", "chr",
        "classmethod", "complex", "dict", "divmod", "enumerate", "filter", "float", "format",
        "frozenset", "hasattr", "hex", "int", "isinstance", "issubclass", "iter", "len", "list",
        "map", "max", "min", "next", "object", "oct", "ord", "pow", "property", "range", "repr",
        "reversed", "round", "set", "slice", "sorted", "staticmethod", "str", "sum", "super",
        "tuple", "zip",
        # constants
        "Ellipsis", "NotImplemented",
        # exceptions a strategy may raise or catch
        "ArithmeticError", "AssertionError", "AttributeError", "Exception", "ExceptionGroup",
        "FloatingPointError", "IndexError", "KeyError", "LookupError", "NameError",
        "NotImplementedError", "OverflowError", "RuntimeError", "StopIteration", "TypeError",
        "UnboundLocalError", "UnicodeDecodeError", "UnicodeEncodeError", "UnicodeError",
        "ValueError", "ZeroDivisionError",
    }
)  # fmt: skip

_SDK_TIME = "Read time from the SDK context (ctx.now_ns); a strategy never sees the wall clock."
_SDK_RANDOM = "Use ctx.random from the SDK context: it is seeded and identical on every replay."
_NO_IO = "Strategies do no I/O: the engine passes data in through the hooks and ctx."
_NO_REFLECTION = "Write the attribute or name directly; reflection by string is not available."

#: Names a strategy's source may not use anywhere (read, assigned, defined, imported as, ...).
FORBIDDEN_NAMES: Final[dict[str, str]] = {
    "open": f"{_NO_IO} Rename a variable called open to open_ or open_price.",
    "input": f"{_NO_IO} Parameters come in through the Params class.",
    "print": "Log with ctx.log(...): the line is journalled and replayed.",
    "breakpoint": "Strategies run unattended; debug with a replay and ctx.log(...).",
    "help": "Strategies run unattended; read docs/strategies.md instead.",
    "exit": "Raise an exception or return None; a strategy cannot stop the process.",
    "quit": "Raise an exception or return None; a strategy cannot stop the process.",
    "copyright": "Not available to strategies.",
    "credits": "Not available to strategies.",
    "license": "Not available to strategies.",
    "eval": "Write the code directly; strategies cannot run code from strings.",
    "exec": "Write the code directly; strategies cannot run code from strings.",
    "compile": "Write the code directly; strategies cannot run code from strings.",
    "globals": "Keep state in your strategy object or a dict of your own.",
    "locals": "Keep state in your strategy object or a dict of your own.",
    "vars": "Keep state in your strategy object or a dict of your own.",
    "dir": "Use hasattr() or isinstance(); listing attributes is not available.",
    "getattr": _NO_REFLECTION,
    "setattr": _NO_REFLECTION,
    "delattr": _NO_REFLECTION,
    "memoryview": "Use bytes or bytearray; raw memory views are not available.",
    "type": "Use isinstance(); type() can build classes from strings of attribute names.",
    "id": "Object addresses differ from run to run; compare with `is` or use your own keys.",
    "hash": "str hashes differ from run to run; use @dataclass(frozen=True) for hashable objects.",
    "BaseException": "Catch Exception (or a narrower class); BaseException is the loader's.",
    "SystemExit": "Raise an exception or return None; a strategy cannot stop the process.",
    "KeyboardInterrupt": "Catch Exception (or a narrower class).",
    "GeneratorExit": "Catch Exception (or a narrower class); use try/finally for cleanup.",
}

#: Double-underscore names a strategy may use: read ``__name__``; define ``__all__`` and ``__slots__``.
_ALLOWED_DUNDER_NAMES: Final = frozenset({"__name__", "__all__", "__slots__"})
_READ_ONLY_DUNDER_NAMES: Final = frozenset({"__name__"})

#: Double-underscore attributes a strategy may read (``super().__init__(...)``, ``cls.__name__``).
_ALLOWED_DUNDER_ATTRIBUTES: Final = frozenset(
    {"__init__", "__post_init__", "__init_subclass__", "__name__", "__qualname__", "__doc__"}
)

#: Frame, code, generator, coroutine and traceback attributes: the way from an object to globals.
_FRAME_ATTRIBUTES: Final = frozenset(
    {
        "gi_frame", "gi_code", "gi_yieldfrom", "gi_running", "gi_suspended",
        "cr_frame", "cr_code", "cr_await", "cr_origin", "cr_running", "cr_suspended",
        "ag_frame", "ag_code", "ag_await", "ag_running",
        "f_back", "f_builtins", "f_code", "f_globals", "f_locals", "f_lasti", "f_lineno",
        "f_trace", "f_trace_lines", "f_trace_opcodes",
        "tb_frame", "tb_next", "tb_lasti", "tb_lineno",
        "co_code", "co_consts", "co_names", "co_varnames", "co_cellvars", "co_freevars",
        "co_filename", "co_name", "co_qualname", "co_firstlineno", "co_lnotab", "co_linetable",
        "co_exceptiontable", "co_flags", "co_argcount", "co_posonlyargcount", "co_kwonlyargcount",
        "co_nlocals", "co_stacksize", "co_positions", "co_lines",
        "cell_contents",
    }
)  # fmt: skip

#: Attributes refused by name besides dunders and frame attributes, with the reason.
FORBIDDEN_ATTRIBUTES: Final[dict[str, str]] = {
    **{name: "Frames, code objects and tracebacks are interpreter internals." for name in _FRAME_ATTRIBUTES},
    "attrgetter": _DENIED_MEMBERS["operator"]["attrgetter"],
    "methodcaller": _DENIED_MEMBERS["operator"]["methodcaller"],
    "get_type_hints": _DENIED_MEMBERS["typing"]["get_type_hints"],
    "ForwardRef": _DENIED_MEMBERS["typing"]["ForwardRef"],
    "getcontext": _DENIED_MEMBERS["decimal"]["getcontext"],
    "setcontext": _DENIED_MEMBERS["decimal"]["setcontext"],
    "DefaultContext": _DENIED_MEMBERS["decimal"]["DefaultContext"],
    "make_dataclass": _DENIED_MEMBERS["dataclasses"]["make_dataclass"],
    "EnumType": _DENIED_MEMBERS["enum"]["EnumType"],
    "EnumMeta": _DENIED_MEMBERS["enum"]["EnumMeta"],
    "update_wrapper": _DENIED_MEMBERS["functools"]["update_wrapper"],
    "wraps": _DENIED_MEMBERS["functools"]["wraps"],
    "mro": "Use isinstance() or issubclass(); walking the class hierarchy is not available.",
    "_evaluate": "Annotations are evaluated by the engine, not by strategies.",
    "_eval_type": "Annotations are evaluated by the engine, not by strategies.",
    "_getframe": "Frames are interpreter internals.",
    "_getframemodulename": "Frames are interpreter internals.",
    "_current_frames": "Frames are interpreter internals.",
}

#: Strings a strategy may spell although they look like dunders.
_ALLOWED_DUNDER_STRINGS: Final = _ALLOWED_DUNDER_NAMES | _ALLOWED_DUNDER_ATTRIBUTES | frozenset({"__main__"})

#: Whatever the real builtins hold that is neither allowed nor forbidden by name (aiter, OSError,
#: MemoryError, ...): refused where the source reads it without binding it itself.
_UNAVAILABLE_BUILTINS: Final = (
    frozenset(name for name in dir(builtins) if not name.startswith("_"))
    - SAFE_BUILTINS
    - frozenset(FORBIDDEN_NAMES)
)

#: Limits of the static check on constant arithmetic (the only guard against C-level hangs).
MAX_CONSTANT_BITS: Final = 100_000
MAX_CONSTANT_ITEMS: Final = 10_000_000
_MAX_FACTORIAL: Final = 100_000

#: The default load budget: trace events (lines and calls) plus loop ticks, and call depth.
DEFAULT_MAX_STEPS: Final = 500_000
DEFAULT_MAX_DEPTH: Final = 200

_TICK: Final = "__vt_tick__"
#: typing's class factories: allowed as class bases only (their functional forms take strings).
_CLASS_FACTORIES: Final = frozenset({"NamedTuple", "TypedDict"})
_FORMAT_METHODS: Final = frozenset({"format", "format_map"})
_MAX_STRING_NESTING: Final = 3
_COOKIE: Final = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_UTF8_NAMES: Final = frozenset({"utf-8", "utf8", "utf-8-sig", "utf8-sig"})

# ── errors ──────────────────────────────────────────────────────────────────────────────────────


class SandboxViolation(VibeError):
    """A strategy file broke a sandbox rule. Carries the file, the line and a hint of what to do."""

    code = "VT200"
    default_hint = "See docs/sandbox.md for what a strategy file may do."

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        file: str | None = None,
        line: int | None = None,
        code: str | None = None,
        col: int = 0,
    ) -> None:
        chosen = hint if hint is not None else type(self).default_hint
        super().__init__(message, hint=chosen, file=file, line=line, code=code)
        self.col = col


class ForbiddenImport(SandboxViolation):
    """An import of a module outside the allow-list, a relative or star import, a refused member."""

    code = "VT201"
    default_hint = "Import only the modules listed in docs/sandbox.md."


class ForbiddenName(SandboxViolation):
    """A forbidden or unavailable builtin name, a double-underscore name, or a ``__del__``."""

    code = "VT202"
    default_hint = "Only the builtins listed in docs/sandbox.md are available to strategies."


class ForbiddenAttribute(SandboxViolation):
    """A double-underscore attribute, a frame/code/traceback attribute, or a refused member."""

    code = "VT203"
    default_hint = "Use the public API of the object; interpreter internals are not available."


class InvalidSource(SandboxViolation):
    """The source is not UTF-8, does not parse, or does not compile."""

    code = "VT204"
    default_hint = "Fix the source at this line; check it with `python -m py_compile <file>`."


class LoadBudgetExceeded(SandboxViolation):
    """Module-level code ran too long, recursed too deep or ran out of memory while loading."""

    code = "VT205"
    default_hint = "Keep module-level code to definitions; do heavy work in on_start or the hooks."


class LoadFailed(SandboxViolation):
    """The module body raised an exception while loading."""

    code = "VT206"
    default_hint = "Fix the error: module-level code runs once, when the strategy is loaded."


class UnsafeFormat(SandboxViolation):
    """``.format``/``.format_map`` on anything but a literal template without ``.`` or ``[`` fields."""

    code = "VT207"
    default_hint = "Use an f-string, or call .format on a literal whose fields hold no '.' or '['."


class OversizedConstant(SandboxViolation):
    """Constant arithmetic whose result would be enormous (``10 ** 10 ** 10``, ``'a' * 10**12``)."""

    code = "VT208"
    default_hint = (
        f"Keep constants below 2**{MAX_CONSTANT_BITS} and literal repetitions below "
        f"{MAX_CONSTANT_ITEMS:,} items."
    )


class ForbiddenString(SandboxViolation):
    """A string constant that spells an interpreter-internal attribute (``"__class__"``)."""

    code = "VT209"
    default_hint = "Strings naming interpreter internals are refused; you never need them in a strategy."


class DynamicClass(SandboxViolation):
    """A class built from strings: the functional Enum, NamedTuple or TypedDict forms."""

    code = "VT210"
    default_hint = (
        "Declare the class with the class statement (class Color(Enum): ..., class Row(NamedTuple): "
        "...); building classes from strings is not available."
    )


# ── source handling ─────────────────────────────────────────────────────────────────────────────


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _check_cookie(lines: Sequence[str], filename: str) -> None:
    for number, line in enumerate(lines[:2], start=1):
        match = _COOKIE.match(line)
        if match is not None:
            declared = match.group(1).lower().replace("_", "-")
            if declared not in _UTF8_NAMES:
                raise InvalidSource(
                    f"the file declares encoding {match.group(1)!r}; strategies must be UTF-8",
                    hint="Save the file as UTF-8 and remove the coding declaration.",
                    file=filename,
                    line=number,
                )
            return
        if line.strip() and not line.lstrip().startswith("#"):
            return


def decode_source(data: bytes, filename: str) -> str:
    """Decode a strategy file's bytes as strict UTF-8 (a BOM is allowed), or raise ``VT204``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidSource(
            f"the file is not valid UTF-8 (byte {exc.start}: {exc.reason})",
            hint="Save the file as UTF-8.",
            file=filename,
            line=data.count(b"\n", 0, exc.start) + 1,
        ) from None
    return _prepare_text(text, filename)


def _prepare_text(text: str, filename: str) -> str:
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidSource(
            f"the source holds a character that is not valid UTF-8 ({exc.reason})",
            hint="Save the file as UTF-8.",
            file=filename,
            line=_line_of(text, exc.start),
        ) from None
    null = text.find("\x00")
    if null >= 0:
        raise InvalidSource(
            "the source holds a NUL byte",
            hint="Save the file as plain UTF-8 text.",
            file=filename,
            line=_line_of(text, null),
        )
    _check_cookie(text.splitlines()[:2], filename)
    return text


def _as_text(source: str | bytes, filename: str) -> str:
    if isinstance(source, bytes):
        return decode_source(source, filename)
    return _prepare_text(source, filename)


def _syntax_error(exc: SyntaxError, filename: str, what: str) -> InvalidSource:
    return InvalidSource(
        f"{what}: {exc.msg}",
        file=filename,
        line=exc.lineno or 1,
        col=max((exc.offset or 1) - 1, 0),
    )


def _parse(text: str, filename: str) -> ast.Module:
    try:
        return ast.parse(text, filename=filename, mode="exec")
    except SyntaxError as exc:
        raise _syntax_error(exc, filename, "syntax error") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise InvalidSource(
            f"the source cannot be parsed ({type(exc).__name__}: it is too deeply nested or too large)",
            hint="Split deeply nested expressions into statements.",
            file=filename,
            line=1,
        ) from None


# ── the static check ────────────────────────────────────────────────────────────────────────────


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _safe_template(template: str, depth: int = 0) -> bool:
    """True when a format template's fields are plain names/indices (no attribute or item access)."""
    if depth > 2:
        return False
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return False
    for _literal, field, spec, _conversion in parsed:
        if field is not None and ("." in field or "[" in field):
            return False
        if spec and "{" in spec and not _safe_template(spec, depth + 1):
            return False
    return True


def _pow_bits(base: int, exponent: int) -> int:
    """An upper bound on the bit length of ``base ** exponent`` (exponent >= 0)."""
    if abs(base) <= 1:
        return 1
    return exponent * abs(base).bit_length()


def _fold_int(node: ast.AST, ints: dict[int, int]) -> int | None:
    """The value of a constant integer expression (children already folded), if small enough."""
    if isinstance(node, ast.Constant):
        return node.value if type(node.value) is int else None
    if isinstance(node, ast.UnaryOp):
        operand = ints.get(id(node.operand))
        if operand is None:
            return None
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        return ~operand if isinstance(node.op, ast.Invert) else None
    if not isinstance(node, ast.BinOp):
        return None
    left, right = ints.get(id(node.left)), ints.get(id(node.right))
    if left is None or right is None:
        return None
    op = node.op
    if isinstance(op, ast.Add | ast.Sub) and max(left.bit_length(), right.bit_length()) < MAX_CONSTANT_BITS:
        return left + right if isinstance(op, ast.Add) else left - right
    if isinstance(op, ast.Mult) and left.bit_length() + right.bit_length() <= MAX_CONSTANT_BITS:
        return left * right
    if isinstance(op, ast.FloorDiv | ast.Mod) and right != 0:
        return left // right if isinstance(op, ast.FloorDiv) else left % right
    if isinstance(op, ast.Pow) and right >= 0 and _pow_bits(left, right) <= MAX_CONSTANT_BITS:
        return int(left**right)
    if isinstance(op, ast.LShift) and 0 <= right <= MAX_CONSTANT_BITS - left.bit_length():
        return left << right
    if isinstance(op, ast.RShift) and right >= 0:
        return left >> min(right, MAX_CONSTANT_BITS + 1)
    if isinstance(op, ast.BitAnd):
        return left & right
    if isinstance(op, ast.BitOr):
        return left | right
    if isinstance(op, ast.BitXor):
        return left ^ right
    return None


def _fold_len(node: ast.AST, ints: dict[int, int], lens: dict[int, int]) -> int | None:
    """The length of a literal sequence expression (str, bytes, list or tuple display), if known."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
        return len(node.value)
    if isinstance(node, ast.List | ast.Tuple):
        if any(isinstance(element, ast.Starred) for element in node.elts):
            return None
        return len(node.elts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = lens.get(id(node.left)), lens.get(id(node.right))
        return None if left is None or right is None else left + right
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        for seq, count in ((node.left, node.right), (node.right, node.left)):
            length, times = lens.get(id(seq)), ints.get(id(count))
            if length is not None and times is not None:
                return length * max(times, 0)
    return None


def _fold(tree: ast.AST, ints: dict[int, int], lens: dict[int, int]) -> None:
    """Fold constant integers and literal sequence lengths bottom-up, without recursion."""
    order: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(ast.iter_child_nodes(node))
    for node in reversed(order):  # every child comes before its parent
        value = _fold_int(node, ints)
        if value is not None:
            ints[id(node)] = value
        length = _fold_len(node, ints, lens)
        if length is not None:
            lens[id(node)] = length


#: Forbidden names a class body may still assign: the SDK's declaration attribute ``type`` among
#: them. Reading them stays refused everywhere, so the builtin is never reached through them.
_CLASS_ATTRIBUTE_NAMES: Final = frozenset({"type"})


@dataclass(frozen=True, slots=True)
class _Ctx:
    """Where the walk is: the location to report and what kind of code encloses the node."""

    line: int = 1
    col: int = 0
    end: tuple[int, int] = (1, 0)  # end of the node: an inner node sorts before the outer one
    in_class: bool = False  # a statement directly in a class body: def names are attributes
    embedded: bool = False  # inside a string constant that typing might evaluate
    annotation: bool = False  # inside an annotation (strings there are evaluated by typing)
    string_depth: int = 0


class _Checker:
    """Walks a tree iteratively (deep trees must not overflow the C stack) and collects violations."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.found: list[tuple[tuple[int, int, int, int], SandboxViolation]] = []
        self.safe_calls: set[int] = set()
        self.bound: set[str] = set()
        self.loaded: list[tuple[str, _Ctx]] = []
        self.imports: set[str] = set()
        self.ints: dict[int, int] = {}
        self.lens: dict[int, int] = {}
        self.keep: list[ast.AST] = []  # embedded trees stay alive so their ids stay unique
        self.class_bases: set[int] = set()
        self.class_lines: dict[str, int] = {}
        self.factories: set[str] = set(_CLASS_FACTORIES)

    def _int(self, node: ast.AST) -> int | None:
        return self.ints.get(id(node))

    # reporting

    def _add(self, kind: type[SandboxViolation], message: str, hint: str | None, ctx: _Ctx) -> None:
        violation = kind(message, hint=hint, file=self.filename, line=ctx.line, col=ctx.col)
        self.found.append(((ctx.line, ctx.col, *ctx.end), violation))

    # the walk

    def run(self, tree: ast.AST, start: _Ctx | None = None) -> list[SandboxViolation]:
        _fold(tree, self.ints, self.lens)
        for node in ast.walk(tree):  # aliases first: `from typing import NamedTuple as NT`
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name in _CLASS_FACTORIES and alias.asname is not None:
                        self.factories.add(alias.asname)
        stack: list[tuple[ast.AST, _Ctx]] = [(tree, start or _Ctx())]
        while stack:
            node, ctx = stack.pop()
            line = getattr(node, "lineno", None)
            if not ctx.embedded and isinstance(line, int):
                col = getattr(node, "col_offset", 0)
                end = (
                    getattr(node, "end_lineno", None) or line,
                    getattr(node, "end_col_offset", None) or col,
                )
                ctx = replace(ctx, line=line, col=col, end=end)
            extra = self._visit(node, ctx)
            children = list(self._children(node, ctx))
            children.extend(extra)
            stack.extend(reversed(children))
        for name, ctx in self.loaded:
            if name in _UNAVAILABLE_BUILTINS and name not in self.bound:
                self._add(
                    ForbiddenName,
                    f"builtin {name!r} is not available to strategies",
                    None,
                    ctx,
                )
        # Source order: by start, then by end (so `a.__b__.__c__` reports __b__ first); stable, so
        # violations of one node keep the order the walk found them in.
        return [violation for _, violation in sorted(self.found, key=lambda found: found[0])]

    @staticmethod
    def _children(node: ast.AST, ctx: _Ctx) -> Iterator[tuple[ast.AST, _Ctx]]:
        scope = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for field, value in ast.iter_fields(node):
            in_class = (isinstance(node, ast.ClassDef) and field == "body") or (
                ctx.in_class and not scope and isinstance(node, ast.stmt | ast.excepthandler)
            )
            annotation = ctx.annotation or field in ("annotation", "returns")
            child_ctx = ctx
            if in_class != ctx.in_class or annotation != ctx.annotation:
                child_ctx = replace(ctx, in_class=in_class, annotation=annotation)
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, ast.AST):
                    yield item, child_ctx

    def _visit(self, node: ast.AST, ctx: _Ctx) -> list[tuple[ast.AST, _Ctx]]:
        if isinstance(node, ast.Name):
            self._visit_name(node, ctx)
        elif isinstance(node, ast.Attribute):
            self._check_attribute(node.attr, ctx, store=not isinstance(node.ctx, ast.Load), node=node)
        elif isinstance(node, ast.Call):
            self._visit_call(node, ctx)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            return self._visit_string(node.value, ctx)
        elif isinstance(node, ast.Import):
            self._visit_import(node, ctx)
        elif isinstance(node, ast.ImportFrom):
            self._visit_import_from(node, ctx)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if isinstance(node, ast.ClassDef):
                self.class_bases.update(id(base) for base in node.bases)
                self.class_lines.setdefault(node.name, ctx.line)
            if ctx.in_class:
                if node.name == "__del__":
                    self._add(
                        ForbiddenName,
                        "defining __del__ is not allowed in a strategy",
                        "Finalizers run whenever the garbage collector decides, which is not "
                        "deterministic; release state explicitly.",
                        ctx,
                    )
            else:
                self._check_binding(node.name, ctx)
        elif isinstance(node, ast.arg):
            self._check_binding(node.arg, ctx)
        elif isinstance(node, ast.keyword):
            if node.arg is not None and _is_dunder(node.arg):
                self._add(
                    ForbiddenName,
                    f"keyword argument {node.arg!r} names an interpreter internal",
                    None,
                    ctx,
                )
        elif isinstance(node, ast.ExceptHandler):
            if node.name is not None:
                self._check_binding(node.name, ctx)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            for name in node.names:
                self._check_binding(name, ctx)
        elif isinstance(node, ast.MatchAs | ast.MatchStar):
            if node.name is not None:
                self._check_binding(node.name, ctx)
        elif isinstance(node, ast.MatchMapping):
            if node.rest is not None:
                self._check_binding(node.rest, ctx)
        elif isinstance(node, ast.MatchClass):
            if node.patterns:
                self._add(
                    ForbiddenAttribute,
                    "positional sub-patterns in a class pattern are not allowed in a strategy",
                    "They look attributes up by the strings in __match_args__; use keyword "
                    "patterns (case Point(x=x, y=y)) or `case int() as n`.",
                    ctx,
                )
            for attr in node.kwd_attrs:
                self._check_attribute(attr, ctx, store=False, node=None)
        elif isinstance(node, ast.BinOp):
            self._visit_binop(node, ctx)
        elif isinstance(node, ast.AugAssign):
            self._visit_augassign(node, ctx)
        return []

    # names

    def _visit_name(self, node: ast.Name, ctx: _Ctx) -> None:
        if isinstance(node.ctx, ast.Load) and node.id in self.factories:
            self._check_factory(node, node.id, ctx)
        if isinstance(node.ctx, ast.Load):
            if not ctx.embedded:
                self.loaded.append((node.id, ctx))
            if ctx.embedded and not ctx.annotation:
                # A string outside annotations: only its dunders matter (a plain "open" is data).
                if _is_dunder(node.id) and node.id not in _ALLOWED_DUNDER_NAMES:
                    self._refuse_name(node.id, ctx)
                return
            self._check_name(node.id, ctx, binding=False)
        else:
            self._check_binding(node.id, ctx)

    def _check_binding(self, name: str, ctx: _Ctx) -> None:
        self.bound.add(name)
        if ctx.embedded and not ctx.annotation:
            if _is_dunder(name):
                self._refuse_name(name, ctx)
            return
        if ctx.in_class and name in _CLASS_ATTRIBUTE_NAMES:
            return  # `type = "single"` in a class body names an attribute, not the builtin
        self._check_name(name, ctx, binding=True)

    def _check_name(self, name: str, ctx: _Ctx, *, binding: bool) -> None:
        refused_dunder = _is_dunder(name) and (
            name not in _ALLOWED_DUNDER_NAMES or (binding and name in _READ_ONLY_DUNDER_NAMES)
        )
        if name in FORBIDDEN_NAMES or refused_dunder:
            self._refuse_name(name, ctx)

    def _refuse_name(self, name: str, ctx: _Ctx) -> None:
        if name in FORBIDDEN_NAMES:
            self._add(
                ForbiddenName,
                f"name {name!r} is not allowed in a strategy",
                FORBIDDEN_NAMES[name],
                ctx,
            )
        else:
            self._add(
                ForbiddenName,
                f"double-underscore name {name!r} is not allowed in a strategy",
                "Double-underscore names reach interpreter internals; only __name__ (read), "
                "__all__ and __slots__ are allowed.",
                ctx,
            )

    # attributes

    def _check_factory(self, node: ast.AST, name: str, ctx: _Ctx) -> None:
        if id(node) not in self.class_bases:
            self._add(
                DynamicClass,
                f"{name} is only allowed as a base class (class Row({name}): ...)",
                None,
                ctx,
            )

    def _check_attribute(self, attr: str, ctx: _Ctx, *, store: bool, node: ast.Attribute | None) -> None:
        if attr in _CLASS_FACTORIES and node is not None and not store:
            self._check_factory(node, attr, ctx)
        if _is_dunder(attr):
            if store or attr not in _ALLOWED_DUNDER_ATTRIBUTES:
                self._add(
                    ForbiddenAttribute,
                    f"attribute {attr!r} is not allowed in a strategy",
                    "Double-underscore attributes reach interpreter internals; use isinstance(), "
                    "the builtins (len, repr, ...) or the object's public API.",
                    ctx,
                )
            return
        if attr in FORBIDDEN_ATTRIBUTES:
            self._add(
                ForbiddenAttribute,
                f"attribute {attr!r} is not allowed in a strategy",
                FORBIDDEN_ATTRIBUTES[attr],
                ctx,
            )
        elif attr in _FORMAT_METHODS and (node is None or id(node) not in self.safe_calls):
            self._add(
                UnsafeFormat,
                f".{attr} is only allowed as a direct call on a string literal whose fields hold "
                "no '.' or '['",
                None,
                ctx,
            )
        elif attr == "samples" and (node is None or id(node) not in self.safe_calls):
            self._add(
                ForbiddenAttribute,
                ".samples is only allowed as a direct call with an explicit seed=",
                f"statistics.NormalDist.samples draws from an unseeded generator. {_SDK_RANDOM}",
                ctx,
            )

    # calls and arithmetic

    def _visit_call(self, node: ast.Call, ctx: _Ctx) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            value = func.value
            if (
                func.attr in _FORMAT_METHODS
                and isinstance(value, ast.Constant)
                and isinstance(value.value, str)
                and _safe_template(value.value)
            ):
                self.safe_calls.add(id(func))
            if func.attr == "samples" and any(
                k.arg == "seed" and not (isinstance(k.value, ast.Constant) and k.value.value is None)
                for k in node.keywords
            ):
                self.safe_calls.add(id(func))
        embedded_call = isinstance(func, ast.Name) and ctx.embedded and not ctx.annotation
        if embedded_call and isinstance(func, ast.Name) and func.id in FORBIDDEN_NAMES:
            self._refuse_name(func.id, ctx)
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name == "pow" and len(node.args) == 2 and not node.keywords:
            self._check_pow(node.args[0], node.args[1], ctx)
        elif name == "factorial" and len(node.args) == 1:
            argument = self._int(node.args[0])
            if argument is not None and argument > _MAX_FACTORIAL:
                self._add(
                    OversizedConstant,
                    f"factorial({argument}) would take too long to compute",
                    None,
                    ctx,
                )

    def _check_pow(self, base: ast.AST, exponent: ast.AST, ctx: _Ctx) -> None:
        power = self._int(exponent)
        if power is None or power <= 0:
            return
        value = self._int(base)
        if value is None:
            float_base = isinstance(base, ast.Constant) and isinstance(base.value, float)
            if power > MAX_CONSTANT_BITS and not float_base:
                self._add(
                    OversizedConstant,
                    f"exponent {power} is too large (more than {MAX_CONSTANT_BITS})",
                    None,
                    ctx,
                )
            return
        if _pow_bits(value, power) > MAX_CONSTANT_BITS:
            self._add(
                OversizedConstant,
                f"{value} ** {power} would have about {_pow_bits(value, power):,} bits",
                None,
                ctx,
            )

    def _visit_binop(self, node: ast.BinOp, ctx: _Ctx) -> None:
        if isinstance(node.op, ast.Pow):
            self._check_pow(node.left, node.right, ctx)
        elif isinstance(node.op, ast.LShift):
            self._check_shift(node.left, node.right, ctx)
        elif isinstance(node.op, ast.Mult):
            length = self.lens.get(id(node))
            if length is not None and length > MAX_CONSTANT_ITEMS:
                self._add(
                    OversizedConstant,
                    f"this repetition would build {length:,} items",
                    None,
                    ctx,
                )

    def _check_shift(self, left: ast.AST, right: ast.AST, ctx: _Ctx) -> None:
        shift = self._int(right)
        if shift is None:
            return
        value = self._int(left)
        bits = shift + (1 if value is None else value.bit_length())
        if value != 0 and bits > MAX_CONSTANT_BITS:
            self._add(
                OversizedConstant,
                f"shifting by {shift} would build an integer of about {bits:,} bits",
                None,
                ctx,
            )

    def _visit_augassign(self, node: ast.AugAssign, ctx: _Ctx) -> None:
        if isinstance(node.op, ast.Pow):
            self._check_pow(ast.Name(id="_", ctx=ast.Load()), node.value, ctx)
        elif isinstance(node.op, ast.LShift):
            self._check_shift(ast.Name(id="_", ctx=ast.Load()), node.value, ctx)

    # strings

    def _visit_string(self, value: str, ctx: _Ctx) -> list[tuple[ast.AST, _Ctx]]:
        if (_is_dunder(value) and value not in _ALLOWED_DUNDER_STRINGS) or value in _FRAME_ATTRIBUTES:
            self._add(
                ForbiddenString,
                f"the string {value!r} names an interpreter internal",
                None,
                ctx,
            )
            return []
        if value in _ALLOWED_DUNDER_STRINGS:
            return []
        if ctx.string_depth >= _MAX_STRING_NESTING or not any(
            marker in value for marker in ("__", ".", "(", "[", "{")
        ):
            return []
        # typing and msgspec evaluate strings in annotations (and strings that annotations name):
        # check what the string would evaluate to.
        try:
            expression = ast.parse(value.strip(), mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return []
        self.keep.append(expression)
        _fold(expression, self.ints, self.lens)
        inner = replace(ctx, embedded=True, string_depth=ctx.string_depth + 1)
        return [(expression.body, inner)]

    # imports

    def _visit_import(self, node: ast.Import, ctx: _Ctx) -> None:
        for alias in node.names:
            if alias.name in ALLOWED_MODULES:
                self.imports.add(alias.name)
            else:
                self._refuse_module(alias.name, ctx)
            if alias.asname is not None:
                self._check_binding(alias.asname, ctx)
            else:
                self.bound.add(alias.name.partition(".")[0])

    def _visit_import_from(self, node: ast.ImportFrom, ctx: _Ctx) -> None:
        module = node.module or ""
        if node.level:
            self._add(
                ForbiddenImport,
                f"relative import {'.' * node.level}{module} is not allowed in a strategy",
                "A strategy is one file: import from engines.sdk or an allowed stdlib module.",
                ctx,
            )
            return
        for alias in node.names:
            if alias.asname is not None:
                self._check_binding(alias.asname, ctx)
            elif alias.name != "*":
                self._check_binding(alias.name, ctx)
        if module not in ALLOWED_MODULES:
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                if submodule in ALLOWED_MODULES:
                    self.imports.add(submodule)
                else:
                    is_package = any(m.startswith(module + ".") for m in ALLOWED_MODULES)
                    shown = submodule if is_package and alias.name != "*" else module
                    self._refuse_module(shown, ctx)
                    return
            return
        self.imports.add(module)
        for alias in node.names:
            denied = _DENIED_MEMBERS.get(module, {})
            if alias.name == "*":
                self._add(
                    ForbiddenImport,
                    f"from {module} import * is not allowed in a strategy",
                    "Import the names you use, one by one.",
                    ctx,
                )
            elif alias.name.startswith("_") and module != "__future__":
                self._add(
                    ForbiddenImport,
                    f"private name {alias.name!r} of {module} is not importable",
                    "Use the module's public API.",
                    ctx,
                )
            elif alias.name in denied:
                self._add(
                    ForbiddenImport,
                    f"{module}.{alias.name} is not available to strategies",
                    denied[alias.name],
                    ctx,
                )
            elif f"{module}.{alias.name}" in ALLOWED_MODULES:
                self.imports.add(f"{module}.{alias.name}")

    def _refuse_module(self, name: str, ctx: _Ctx) -> None:
        self._add(
            ForbiddenImport,
            f"import of {name!r} is not allowed in a strategy",
            _import_hint(name),
            ctx,
        )


_TIME_MODULES: Final = frozenset({"time", "datetime", "calendar", "zoneinfo", "sched"})
_RANDOM_MODULES: Final = frozenset({"random", "secrets", "uuid", "hashlib", "hmac"})
_PROJECT_PACKAGES: Final = frozenset({"engines", "adapters", "daemon", "strategies"})


def _import_hint(name: str) -> str:
    top = name.partition(".")[0]
    if top in _TIME_MODULES:
        return _SDK_TIME
    if top in _RANDOM_MODULES:
        return _SDK_RANDOM
    if top in _PROJECT_PACKAGES:
        return "Strategies talk to the engine only through the SDK: from engines.sdk import ..."
    allowed = ", ".join(sorted(ALLOWED_MODULES))
    return f"{_NO_IO} Allowed modules: {allowed}."


def _check_tree(tree: ast.Module, filename: str) -> tuple[list[SandboxViolation], _Checker]:
    """The static check plus a compile of the unchanged tree, in source order; nothing executes."""
    checker = _Checker(filename)
    violations = checker.run(tree)
    try:
        _compile(tree, filename)
    except InvalidSource as exc:
        position = ((v.line or 0, v.col) for v in violations)
        index = sum(1 for where in position if where <= (exc.line or 0, exc.col))
        violations.insert(index, exc)
    return violations, checker


def _compile(tree: ast.Module, filename: str) -> types.CodeType:
    """Compile without executing (this is where `return` outside a function, `nonlocal` at module
    level and the like are found); never inherit this module's ``__future__`` flags."""
    try:
        return compile(tree, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise _syntax_error(exc, filename, "the source does not compile") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise InvalidSource(
            f"the source cannot be compiled ({type(exc).__name__}: too deeply nested or too large)",
            hint="Split deeply nested expressions into statements.",
            file=filename,
            line=1,
        ) from None


def find_violations(source: str | bytes, filename: str) -> list[SandboxViolation]:
    """Every violation the static check finds, in source order. Nothing is executed.

    A source that does not parse has exactly one violation (``VT204``); one that parses but does
    not compile has the compile error after the other violations of its line.
    """
    try:
        tree = _parse(_as_text(source, filename), filename)
    except InvalidSource as exc:
        return [exc]
    return _check_tree(tree, filename)[0]


def check_source(source: str | bytes, filename: str) -> None:
    """Run the static check (and a compile); raise the first violation in source order. Nothing runs."""
    violations = find_violations(source, filename)
    if violations:
        raise violations[0]


# ── instrumentation ─────────────────────────────────────────────────────────────────────────────


def _locate(node: _N, anchor: ast.AST) -> _N:
    for field in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
        setattr(node, field, getattr(anchor, field, None) or (1 if field == "lineno" else 0))
    return node


def _tick_call(line: int, anchor: ast.AST) -> ast.Call:
    name = _locate(ast.Name(id=_TICK, ctx=ast.Load()), anchor)
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


def _instrument(tree: ast.Module) -> None:
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


# ── execution ───────────────────────────────────────────────────────────────────────────────────


class _BudgetExceeded(BaseException):
    """Raised inside the strategy's frames when the budget is spent. Not an Exception on purpose."""


class _Meter:
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
        raise _BudgetExceeded

    def _user_line(self, frame: types.FrameType | None) -> int | None:
        while frame is not None:
            if frame.f_code.co_filename == self.filename:
                return frame.f_lineno
            frame = frame.f_back
        return None


_TICK_CODE: Final = _Meter.tick.__code__


class _StrategyEnumType(enum.EnumType):
    """Metaclass of the Enum bases a strategy gets: member lookup works, the functional API does not.

    ``Enum("Name", members)`` builds a class from strings, dunder attributes included (an
    ``__annotations__`` that dataclasses would paste into generated source, a ``__del__``); a
    strategy declares its enums with the class statement instead.
    """

    def __call__(  # type: ignore[override]
        cls, value: object, names: object = None, *args: object, **kwargs: object
    ) -> object:
        if names is not None or args or kwargs:
            raise DynamicClass("the functional Enum API (Enum(name, members)) is not available to strategies")
        return super().__call__(value)


def _strategy_enum_base(base: type[enum.Enum]) -> type[enum.Enum]:
    name = base.__name__
    namespace = _StrategyEnumType.__prepare__(name, (base,))
    namespace["__module__"] = "enum"
    namespace["__qualname__"] = name
    return typing.cast("type[enum.Enum]", _StrategyEnumType(name, (base,), namespace))


#: What ``enum`` hands a strategy instead of its member-less bases (the ones a functional call can extend).
_STRATEGY_ENUMS: Final[dict[str, type[enum.Enum]]] = {
    base.__name__: _strategy_enum_base(base)
    for base in (enum.Enum, enum.IntEnum, enum.StrEnum, enum.Flag, enum.IntFlag)
}


def _real_module(name: str) -> types.ModuleType:
    __import__(name)
    return sys.modules[name]


def _public_members(name: str) -> dict[str, object]:
    module = _real_module(name)
    exported = getattr(module, "__all__", None)
    names = list(exported) if exported is not None else list(vars(module))
    denied = _DENIED_MEMBERS.get(name, {})
    members: dict[str, object] = {}
    for member in names:
        if member.startswith("_") or member in denied or not hasattr(module, member):
            continue
        value = getattr(module, member)
        if not isinstance(value, types.ModuleType):
            members[member] = value
    if name == "enum":
        members.update((key, base) for key, base in _STRATEGY_ENUMS.items() if key in members)
    return members


def _build_proxies(imports: set[str]) -> dict[str, types.ModuleType]:
    """Fresh module objects holding only the public, non-module members of what the source imports.

    A real module would hand out its own imports (``statistics.random``, ``typing.sys``); a proxy
    does not, and a strategy that assigns to a proxy's attribute changes only its own copy.
    """
    needed: set[str] = set()
    for name in imports:
        parts = name.split(".")
        needed.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    needed.update(m for m in ALLOWED_MODULES if m.rpartition(".")[0] in needed)
    proxies: dict[str, types.ModuleType] = {}
    for name in sorted(needed, key=lambda n: (-n.count("."), n)):
        proxy = types.ModuleType(name)
        if name in ALLOWED_MODULES:
            proxy.__dict__.update(_public_members(name))
        prefix = name + "."
        for child, child_proxy in proxies.items():
            if child.startswith(prefix) and "." not in child[len(prefix) :]:
                setattr(proxy, child[len(prefix) :], child_proxy)
        proxies[name] = proxy
    return proxies


def _caller_line(filename: str) -> int | None:
    frame: types.FrameType | None = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename == filename:
            return frame.f_lineno
        frame = frame.f_back
    return None


def _make_import(proxies: dict[str, types.ModuleType], filename: str) -> Callable[..., types.ModuleType]:
    """The ``__import__`` of the restricted builtins: allow-listed modules, as proxies, only."""

    def refuse(message: str, hint: str) -> ForbiddenImport:
        return ForbiddenImport(message, hint=hint, file=filename, line=_caller_line(filename))

    def guarded_import(
        name: str,
        globals: object = None,  # the signature of builtins.__import__
        locals: object = None,
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> types.ModuleType:
        if level != 0:
            raise refuse("relative imports are not allowed in a strategy", ForbiddenImport.default_hint)
        if fromlist:
            proxy = proxies.get(name)
            allowed = name in ALLOWED_MODULES or all(f"{name}.{item}" in ALLOWED_MODULES for item in fromlist)
            if proxy is None or not allowed:
                raise refuse(f"import from {name!r} is not allowed in a strategy", _import_hint(name))
            for item in fromlist:
                if item == "*" or item.startswith("_") or not hasattr(proxy, item):
                    raise refuse(
                        f"{item!r} is not importable from {name!r} in a strategy",
                        _DENIED_MEMBERS.get(name, {}).get(item, ForbiddenImport.default_hint),
                    )
            return proxy
        top = proxies.get(name.partition(".")[0])
        if name not in ALLOWED_MODULES or top is None:
            raise refuse(f"import of {name!r} is not allowed in a strategy", _import_hint(name))
        return top

    return guarded_import


def _runtime_builtins(
    guarded_import: Callable[..., types.ModuleType], tick: Callable[[int], bool]
) -> dict[str, object]:
    namespace: dict[str, object] = {name: getattr(builtins, name) for name in SAFE_BUILTINS}
    # Code generated by dataclasses (when the strategy's namespace is registered as a module) names
    # type and hash; the static check keeps the strategy's own source from naming them.
    namespace["type"] = type
    namespace["hash"] = hash
    namespace["__build_class__"] = builtins.__build_class__
    namespace["__import__"] = guarded_import
    namespace[_TICK] = tick
    return namespace


def _annotation_texts(
    value: object, namespace: dict[str, object], depth: int, seen: set[int]
) -> Iterator[str]:
    """Every string typing would evaluate to resolve ``value``: strings, ForwardRefs, TypeVar bounds,
    NewType supertypes and generic arguments, and the names a string annotation refers to."""
    if depth > 12 or id(value) in seen:
        return
    seen.add(id(value))
    text = value.__forward_arg__ if isinstance(value, typing.ForwardRef) else value
    if isinstance(text, str):
        yield text
        try:
            expression = ast.parse(text.strip(), mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return
        for node in ast.walk(expression):
            if isinstance(node, ast.Name) and node.id in namespace:
                yield from _annotation_texts(namespace[node.id], namespace, depth + 1, seen)
        return
    nested: list[object]
    if isinstance(value, typing.TypeVar):
        nested = [value.__bound__, *value.__constraints__]
    elif isinstance(value, typing.NewType):
        nested = [value.__supertype__]
    else:
        nested = list(typing.get_args(value))
    for item in nested:
        yield from _annotation_texts(item, namespace, depth + 1, seen)


def _audit_annotations(
    namespace: dict[str, object], module_name: str, filename: str, class_lines: dict[str, int]
) -> SandboxViolation | None:
    """Check, after loading, the annotations the engine will resolve (msgspec, typing).

    The static check sees string literals; this sees the strings the module *computed* and put into
    annotations (``x: List[name]`` where ``name`` holds a string), which typing would ``eval``.
    """
    owners: list[tuple[int, dict[object, object]]] = []
    module_annotations = namespace.get("__annotations__")
    if isinstance(module_annotations, dict):
        owners.append((1, module_annotations))
    for value in list(namespace.values()):
        if not isinstance(value, type) or value.__dict__.get("__module__") != module_name:
            continue
        for klass in value.__mro__:
            annotations = klass.__dict__.get("__annotations__")  # noqa: RUF063 - the raw dict, no evaluation
            if klass.__dict__.get("__module__") == module_name and isinstance(annotations, dict):
                owners.append((class_lines.get(klass.__name__, 1), annotations))
    seen: set[int] = set()
    for line, annotations in owners:
        for annotation in list(annotations.values()):
            for text in _annotation_texts(annotation, namespace, 0, seen):
                try:
                    expression = ast.parse(text.strip(), mode="eval")
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    continue
                start = _Ctx(line=line, end=(line, 0), embedded=True, annotation=True)
                found = _Checker(filename).run(expression.body, start)
                if found:
                    return found[0]
    return None


def _user_traceback_line(exc: BaseException, filename: str) -> int | None:
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _describe(exc: BaseException) -> str:
    """``Type: message``, computed while the budget still applies (``__str__`` may be user code)."""
    kind = type(exc).__name__
    try:
        text = str(exc)
    except Exception:
        text = ""
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{kind}: {text}" if text else kind


def _execute(code: types.CodeType, namespace: dict[str, object], meter: _Meter) -> None:
    filename = meter.filename
    outcome: SandboxViolation | VibeError | None = None
    previous = sys.gettrace()
    previous_hook = sys.unraisablehook

    def unraisable(info: UnraisableHookArgs) -> None:
        # A budget trip inside a finalizer is swallowed by the interpreter; the meter remembers it.
        if not isinstance(info.exc_value, _BudgetExceeded):
            previous_hook(info)

    sys.unraisablehook = unraisable
    sys.settrace(meter.trace)
    try:
        exec(code, namespace)  # noqa: S102 - the point of this module; see the checks above
    except _BudgetExceeded:
        pass  # reported from meter.tripped below
    except KeyboardInterrupt:
        raise
    except VibeError as exc:  # the SDK's typed errors (and the import guard's) pass through
        if exc.file is None:
            exc.file, exc.line = filename, _user_traceback_line(exc, filename) or 1
        outcome = exc
    except (RecursionError, MemoryError) as exc:
        outcome = LoadBudgetExceeded(
            f"loading the module raised {type(exc).__name__}",
            hint="Module-level code recursed too deep or built something too large; keep it to "
            "definitions and do heavy work in the hooks.",
            file=filename,
            line=_user_traceback_line(exc, filename) or 1,
        )
    except BaseException as exc:
        try:
            message = _describe(exc)
        except _BudgetExceeded:
            message = type(exc).__name__
        outcome = LoadFailed(
            f"the module raised {message} while loading",
            file=filename,
            line=_user_traceback_line(exc, filename) or 1,
        )
    finally:
        sys.settrace(previous)
        sys.unraisablehook = previous_hook
        meter.active = False
    if meter.tripped is not None:
        limit = f"call depth {meter.max_depth}" if meter.tripped == "depth" else f"{meter.max_steps:,} steps"
        raise LoadBudgetExceeded(
            f"loading the module exceeded its budget of {limit}",
            file=filename,
            line=meter.line or 1,
        )
    if outcome is not None:
        raise outcome


def load_module(
    source: str | bytes,
    filename: str,
    module_name: str = "strategy",
    *,
    max_steps: int = DEFAULT_MAX_STEPS,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> dict[str, object]:
    """Check, compile and run a strategy's source; return its module namespace.

    Raises a :class:`SandboxViolation` (and never anything else caused by the source) when the
    source breaks a rule, does not compile, raises while loading, or exceeds the load budget.
    ``max_steps`` counts executed lines, calls and loop iterations; ``max_depth`` limits call depth.
    Both are counts, so the outcome is the same on every run of the same interpreter.

    The namespace returned is the ``__dict__`` of a module registered as ``sys.modules[module_name]``
    (dataclasses, typing and msgspec look string annotations up there); a failed load restores what
    was registered before. ``ValueError`` if ``module_name`` belongs to a module this loader did not
    create.
    """
    text = _as_text(source, filename)
    tree = _parse(text, filename)
    violations, checker = _check_tree(tree, filename)
    if violations:
        raise violations[0]
    _instrument(tree)
    code = _compile(tree, filename)
    previous = sys.modules.get(module_name)
    if previous is not None and not _is_sandboxed(previous):
        raise ValueError(f"module name {module_name!r} is taken by a real module; pick another")
    proxies = _build_proxies(checker.imports)
    meter = _Meter(filename, max_steps, max_depth)
    runtime = _runtime_builtins(_make_import(proxies, filename), meter.tick)
    module = types.ModuleType(module_name)
    namespace: dict[str, object] = module.__dict__
    namespace["__builtins__"] = runtime
    # dataclasses, typing and msgspec resolve string annotations through sys.modules[cls.__module__].
    sys.modules[module_name] = module
    try:
        _execute(code, namespace, meter)
        problem = _audit_annotations(namespace, module_name, filename, checker.class_lines)
        if problem is not None:
            raise problem
    except BaseException:
        if previous is None:
            sys.modules.pop(module_name, None)
        else:
            sys.modules[module_name] = previous
        raise
    # After loading, the ticks left in the hooks cost one C call each and count nothing.
    runtime[_TICK] = bool
    return namespace


def _is_sandboxed(module: types.ModuleType) -> bool:
    """True for a module this loader created (its builtins carry the budget tick)."""
    runtime = vars(module).get("__builtins__")
    return isinstance(runtime, dict) and _TICK in runtime
