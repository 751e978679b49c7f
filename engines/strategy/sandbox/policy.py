"""What a strategy file may use: the allow-lists and deny-lists of the sandbox, with the reason of each.

Modules a strategy may import (and members of them it still may not), the builtins it may name, the
names and attributes it may never use, and the limits of constant arithmetic. The static check
(:mod:`engines.strategy.sandbox.checker`) and the restricted runtime
(:mod:`engines.strategy.sandbox.runtime`) both read these tables; docs/sandbox.md has them in full.
"""

from __future__ import annotations

import builtins
from typing import Final

__all__ = [
    "ALLOWED_DUNDER_ATTRIBUTES",
    "ALLOWED_DUNDER_NAMES",
    "ALLOWED_DUNDER_STRINGS",
    "ALLOWED_MODULES",
    "CLASS_FACTORIES",
    "DENIED_MEMBERS",
    "FORBIDDEN_ATTRIBUTES",
    "FORBIDDEN_NAMES",
    "FORMAT_METHODS",
    "FRAME_ATTRIBUTES",
    "MAX_CONSTANT_BITS",
    "MAX_CONSTANT_ITEMS",
    "MAX_FACTORIAL",
    "MAX_STRING_NESTING",
    "READ_ONLY_DUNDER_NAMES",
    "SAFE_BUILTINS",
    "SDK_RANDOM",
    "UNAVAILABLE_BUILTINS",
    "import_hint",
]

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
DENIED_MEMBERS: Final[dict[str, dict[str, str]]] = {
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
SDK_RANDOM = "Use ctx.random from the SDK context: it is seeded and identical on every replay."
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
ALLOWED_DUNDER_NAMES: Final = frozenset({"__name__", "__all__", "__slots__"})
READ_ONLY_DUNDER_NAMES: Final = frozenset({"__name__"})

#: Double-underscore attributes a strategy may read (``super().__init__(...)``, ``cls.__name__``).
ALLOWED_DUNDER_ATTRIBUTES: Final = frozenset(
    {"__init__", "__post_init__", "__init_subclass__", "__name__", "__qualname__", "__doc__"}
)

#: Frame, code, generator, coroutine and traceback attributes: the way from an object to globals.
FRAME_ATTRIBUTES: Final = frozenset(
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
    **{name: "Frames, code objects and tracebacks are interpreter internals." for name in FRAME_ATTRIBUTES},
    "attrgetter": DENIED_MEMBERS["operator"]["attrgetter"],
    "methodcaller": DENIED_MEMBERS["operator"]["methodcaller"],
    "get_type_hints": DENIED_MEMBERS["typing"]["get_type_hints"],
    "ForwardRef": DENIED_MEMBERS["typing"]["ForwardRef"],
    "getcontext": DENIED_MEMBERS["decimal"]["getcontext"],
    "setcontext": DENIED_MEMBERS["decimal"]["setcontext"],
    "DefaultContext": DENIED_MEMBERS["decimal"]["DefaultContext"],
    "make_dataclass": DENIED_MEMBERS["dataclasses"]["make_dataclass"],
    "EnumType": DENIED_MEMBERS["enum"]["EnumType"],
    "EnumMeta": DENIED_MEMBERS["enum"]["EnumMeta"],
    "update_wrapper": DENIED_MEMBERS["functools"]["update_wrapper"],
    "wraps": DENIED_MEMBERS["functools"]["wraps"],
    "mro": "Use isinstance() or issubclass(); walking the class hierarchy is not available.",
    "_evaluate": "Annotations are evaluated by the engine, not by strategies.",
    "_eval_type": "Annotations are evaluated by the engine, not by strategies.",
    "_getframe": "Frames are interpreter internals.",
    "_getframemodulename": "Frames are interpreter internals.",
    "_current_frames": "Frames are interpreter internals.",
}

#: Strings a strategy may spell although they look like dunders.
ALLOWED_DUNDER_STRINGS: Final = ALLOWED_DUNDER_NAMES | ALLOWED_DUNDER_ATTRIBUTES | frozenset({"__main__"})

#: Whatever the real builtins hold that is neither allowed nor forbidden by name (aiter, OSError,
#: MemoryError, ...): refused where the source reads it without binding it itself.
UNAVAILABLE_BUILTINS: Final = (
    frozenset(name for name in dir(builtins) if not name.startswith("_"))
    - SAFE_BUILTINS
    - frozenset(FORBIDDEN_NAMES)
)

#: Limits of the static check on constant arithmetic (the only guard against C-level hangs).
MAX_CONSTANT_BITS: Final = 100_000
MAX_CONSTANT_ITEMS: Final = 10_000_000
MAX_FACTORIAL: Final = 100_000

#: typing's class factories: allowed as class bases only (their functional forms take strings).
CLASS_FACTORIES: Final = frozenset({"NamedTuple", "TypedDict"})
FORMAT_METHODS: Final = frozenset({"format", "format_map"})
MAX_STRING_NESTING: Final = 3


_TIME_MODULES: Final = frozenset({"time", "datetime", "calendar", "zoneinfo", "sched"})
_RANDOM_MODULES: Final = frozenset({"random", "secrets", "uuid", "hashlib", "hmac"})
_PROJECT_PACKAGES: Final = frozenset({"engines", "adapters", "daemon", "strategies"})


def import_hint(name: str) -> str:
    top = name.partition(".")[0]
    if top in _TIME_MODULES:
        return _SDK_TIME
    if top in _RANDOM_MODULES:
        return SDK_RANDOM
    if top in _PROJECT_PACKAGES:
        return "Strategies talk to the engine only through the SDK: from engines.sdk import ..."
    allowed = ", ".join(sorted(ALLOWED_MODULES))
    return f"{_NO_IO} Allowed modules: {allowed}."
