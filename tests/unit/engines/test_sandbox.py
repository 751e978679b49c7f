"""The sandboxed strategy loader: hostile files are refused with typed errors, legitimate ones load."""

from __future__ import annotations

import math
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from engines.errors import VibeError
from engines.strategy.sandbox.checker import check_source, find_violations
from engines.strategy.sandbox.policy import ALLOWED_MODULES, FORBIDDEN_NAMES, SAFE_BUILTINS
from engines.strategy.sandbox.runtime import load_module
from engines.strategy.sandbox.source import decode_source
from engines.strategy.sandbox.violations import (
    DynamicClass,
    ForbiddenAttribute,
    ForbiddenImport,
    ForbiddenName,
    ForbiddenString,
    InvalidSource,
    LoadBudgetExceeded,
    LoadFailed,
    OversizedConstant,
    SandboxViolation,
    UnsafeFormat,
)

HERE = Path(__file__).resolve().parent
HOSTILE_DIR = HERE / "hostile"
HOSTILE_FILES = sorted(HOSTILE_DIR.glob("*.py"))
REPO = HERE.parents[2]
_HEADER = re.compile(rb"# (VT2\d\d): \S")
_RUNTIME_ONLY = {"VT205", "VT206"}
#: the line each hostile file's attack is on (for a runtime check, the statement that trips it)
HOSTILE_LINES = {
    "attrgetter_dunder": 2,
    "builtins_attr_import": 2,
    "builtins_lookup": 2,
    "class_module_override": 3,
    "coding_cookie": 2,
    "compile_call": 2,
    "compile_error": 2,
    "computed_annotation": 7,
    "computed_annotation_future": 9,
    "coroutine_frame": 7,
    "decimal_global_context": 2,
    "decorator_getattr": 3,
    "decorator_print": 2,
    "deep_recursion": 3,
    "del_finalizer": 3,
    "dunder_import_call": 2,
    "dunder_string_constant": 2,
    "engines_orders": 2,
    "engines_package": 2,
    "enum_functional": 5,
    "enum_subclass_functional": 9,
    "eval_call": 2,
    "evil_exception_str": 5,
    "exception_at_load": 2,
    "exception_traceback": 5,
    "exec_call": 3,
    "exit_call": 2,
    "format_escape": 9,
    "format_literal_traversal": 2,
    "format_map_escape": 6,
    "format_nested_spec": 2,
    "format_via_str_class": 2,
    "fstring_dunder": 2,
    "generator_finalizer_swallow": 7,
    "generator_frame": 7,
    "get_type_hints": 2,
    "getattr_dunder": 3,
    "global_builtins": 3,
    "huge_factorial": 4,
    "huge_list_repeat": 2,
    "huge_pow": 2,
    "huge_pow_builtin": 2,
    "huge_repeat": 2,
    "huge_shift": 2,
    "id_hash_nondeterminism": 2,
    "import_builtins": 2,
    "import_ctypes": 2,
    "import_datetime": 2,
    "import_importlib": 2,
    "import_in_class": 3,
    "import_in_function": 3,
    "import_in_try": 3,
    "import_os": 2,
    "import_random": 2,
    "import_socket": 2,
    "import_subprocess": 2,
    "import_sys": 2,
    "import_time": 2,
    "import_type_checking": 5,
    "import_uuid": 2,
    "infinite_c_iterator": 2,
    "infinite_loop": 2,
    "infinite_loop_bare_except": 5,
    "infinite_loop_swallowed": 5,
    "input_call": 2,
    "lambda_globals": 3,
    "make_dataclass_namespace": 2,
    "match_capture_builtins": 3,
    "match_class_kwd": 3,
    "match_positional": 12,
    "memoryview_call": 2,
    "namedtuple_functional": 4,
    "nested_repr_recursion": 5,
    "non_utf8": 2,
    "nonlocal_games": 3,
    "normal_dist_samples": 4,
    "nul_byte": 2,
    "open_file": 2,
    "print_call": 2,
    "recursion_swallowed": 4,
    "relative_import": 2,
    "sdk_module_dict": 4,
    "star_import": 2,
    "statistics_random": 4,
    "string_alias": 2,
    "string_annotation": 3,
    "subclasses_walk": 2,
    "syntax_error": 2,
    "type_three_arg": 2,
    "typeddict_alias": 4,
    "typevar_bound": 7,
    "typing_sys": 4,
    "unavailable_builtin": 4,
    "update_wrapper_copy": 3,
    "vars_dir": 2,
    "walrus_getattr": 2,
}


def _expected_code(path: Path) -> str:
    match = _HEADER.match(path.read_bytes())
    assert match, f"{path.name}: the first line must be '# VT2xx: what the file tries'"
    return match.group(1).decode()


# ── hostile files ───────────────────────────────────────────────────────────────────────────────


def test_the_hostile_corpus_is_large_and_every_file_says_what_it_tries() -> None:
    assert len(HOSTILE_FILES) >= 35
    codes = {_expected_code(path) for path in HOSTILE_FILES}
    assert codes == {f"VT2{n:02d}" for n in range(1, 11)}  # every rule has at least one attack


@pytest.mark.parametrize("path", HOSTILE_FILES, ids=lambda p: p.stem)
def test_hostile_file_is_refused_with_a_typed_error_naming_file_and_line(path: Path) -> None:
    module_name = f"vt_hostile_{path.stem}"
    with pytest.raises(SandboxViolation) as caught:
        load_module(path.read_bytes(), str(path), module_name=module_name)
    error = caught.value
    assert error.code == _expected_code(path), str(error)
    assert error.file == str(path)
    assert path.stem in HOSTILE_LINES, f"{path.name}: add the line of its attack to HOSTILE_LINES"
    assert error.line == HOSTILE_LINES[path.stem], str(error)
    assert error.hint
    assert str(error).startswith(f"{path}:{error.line}: {error.code} ")
    assert module_name not in sys.modules  # a failed load leaves nothing registered


@pytest.mark.parametrize(
    "path",
    [p for p in HOSTILE_FILES if _expected_code(p) in _RUNTIME_ONLY],
    ids=lambda p: p.stem,
)
def test_runtime_attacks_pass_the_static_check_and_are_stopped_while_running(path: Path) -> None:
    check_source(path.read_bytes(), str(path))  # the static layer alone would not stop these
    module_name = f"vt_runtime_{path.stem}"
    with pytest.raises(SandboxViolation) as caught:
        load_module(path.read_bytes(), str(path), module_name=module_name)
    assert caught.value.code == _expected_code(path), str(caught.value)
    assert (caught.value.file, caught.value.line) == (str(path), HOSTILE_LINES[path.stem])
    assert module_name not in sys.modules


def test_loader_restores_the_trace_function_and_unraisable_hook() -> None:
    def tracer(frame: types.FrameType, event: str, arg: object) -> None:
        return None

    hook_before = sys.unraisablehook
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        with pytest.raises(LoadBudgetExceeded):
            load_module("while True: pass\n", "spin.py", module_name="vt_spin")
        assert sys.gettrace() is tracer
        load_module("x = 1\n", "ok.py", module_name="vt_trace_ok")
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(previous)
        sys.modules.pop("vt_trace_ok", None)
    assert sys.unraisablehook is hook_before


# ── legitimate strategies load and run ──────────────────────────────────────────────────────────

LEGIT = '''\
"""A legitimate strategy-like module that touches every allowed module."""
from __future__ import annotations

import bisect
import collections.abc
import engines.sdk
import heapq
import itertools
import math
import operator
import statistics
from collections import Counter, OrderedDict, defaultdict, deque, namedtuple
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from enum import Enum, Flag, IntEnum, StrEnum, auto, unique
from fractions import Fraction
from functools import lru_cache, partial, reduce, total_ordering
from typing import Annotated, ClassVar, NamedTuple, TypedDict

from engines import sdk
from engines.sdk import Bounds, Context, Params, SingleAssetStrategy, TargetPosition

__all__ = ["STRATEGY"]


@unique
class Mode(StrEnum):
    FAST = auto()
    SLOW = auto()


class Level(IntEnum):
    LOW = 1
    HIGH = 2


class Perm(Flag):
    READ = auto()
    WRITE = auto()


class Color(Enum):
    RED = 1


class Row(NamedTuple):
    symbol: str
    price: Decimal


class Quote(TypedDict):
    bid: Decimal


@total_ordering
@dataclass(frozen=True)
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = field(default=())

    def __lt__(self, other: Point) -> bool:
        return (self.x, self.y) < (other.x, other.y)


class Window:
    __slots__ = ("size", "items", "__secret")

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: deque[Decimal] = deque(maxlen=size)
        self.__secret = True  # a name-mangled private attribute is fine

    def __repr__(self) -> str:
        return f"Window({self.size})"

    def push(self, value: Decimal) -> Decimal:
        self.items.append(value)
        return sum(self.items, Decimal(0)) / len(self.items)


class MyParams(Params, frozen=True, kw_only=True):
    symbol: str = "binance-spot:BTCUSDT"
    fast: Annotated[int, Bounds(ge=1)] = 3
    mode: Mode = Mode.FAST


class MyStrategy(SingleAssetStrategy[MyParams]):
    """Buys when the fast mean rises."""

    name = "legit"

    def __init__(self, params: MyParams, universe: tuple[str, ...] = ()) -> None:
        super().__init__(params, universe)
        self.window = Window(params.fast)

    def on_bar(self, ctx: Context, bar: object) -> object:
        import math as inner_math  # an allowed import inside a hook runs at call time

        mean = self.window.push(Decimal(ctx.now_ns % 7))
        ctx.log(f"mean={mean:.2f} sqrt={inner_math.sqrt(4)}")
        return TargetPosition(mean)


def make_counter():
    count = 0

    def bump() -> int:
        nonlocal count
        count += 1
        return count

    return bump


@lru_cache(maxsize=None)
def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def spin(n: int) -> int:
    total = 0
    while total < n:
        total += 1
    return total


def classify(value: object) -> str:
    match value:
        case {"kind": kind}:
            return f"map:{kind}"
        case [first, *rest]:
            return f"seq:{first}+{len(rest)}"
        case Point(x=x, y=0):
            return f"point-on-axis:{x}"
        case int() as n if n > 0:
            return "positive"
        case _:
            return "other"


counter = make_counter()
counter()
SQUARES = [i * i for i in range(10) if i % 2]
TABLE = {k: v for k, v in zip("abc", itertools.count())}
EVENS = {n for n in range(6) if not n % 2}
HEAP = heapq.nsmallest(2, [5, 1, 4])
POS = bisect.bisect_left([1, 3, 5], 4)
TOTAL = reduce(operator.add, range(5))
MEDIAN = statistics.median([3, 1, 2])
HYPOT = math.hypot(3, 4)
FRACTION = Fraction(1, 3) + Fraction(1, 6)
COUNTS = Counter("aab").most_common(1)
ORDERED = list(OrderedDict(a=1, b=2))
GROUPED = defaultdict(list)
GROUPED["x"].append(1)
PAIR = namedtuple("Pair", "left right")(1, 2)
ADD3 = partial(operator.add, 3)
IS_MAPPING = isinstance({}, Mapping) and isinstance([], collections.abc.Sequence)
with localcontext() as decimal_context:
    decimal_context.prec = 6
    THIRD = Decimal(1) / Decimal(3)
LABEL = "{} {name:>5}".format(1, name="x") + "{0:>{1}}".format(7, 3) + "{a}".format_map({"a": "!"})
FLAGS = Perm.READ | Perm.WRITE
SAME_SDK = sdk.Params is engines.sdk.Params
SORTED = sorted([Point(2), Point(1)])
NOISE = statistics.NormalDist(0, 1).samples(2, seed=7)
SHIFT = 1 << 64
BIG = 10**30
PAD = "-" * 80
STRATEGY = MyStrategy

if __name__ == "__main__":
    raise RuntimeError("never: the loader does not run a strategy as __main__")
'''


@pytest.fixture
def legit() -> Iterator[dict[str, object]]:
    name = "vt_legit_strategy"
    try:
        yield load_module(LEGIT, "legit.py", module_name=name)
    finally:
        sys.modules.pop(name, None)


def test_a_legitimate_module_using_every_allowed_module_loads(legit: dict[str, object]) -> None:
    assert legit["SQUARES"] == [1, 9, 25, 49, 81]
    assert legit["TABLE"] == {"a": 0, "b": 1, "c": 2}
    assert legit["EVENS"] == {0, 2, 4}
    assert legit["HEAP"] == [1, 4]
    assert legit["POS"] == 2
    assert legit["TOTAL"] == 10
    assert legit["MEDIAN"] == 2
    assert legit["HYPOT"] == 5.0
    assert str(legit["FRACTION"]) == "1/2"
    assert legit["COUNTS"] == [("a", 2)]
    assert legit["ORDERED"] == ["a", "b"]
    assert legit["IS_MAPPING"] is True
    assert str(legit["THIRD"]) == "0.333333"
    assert legit["LABEL"] == "1     x  7!"
    assert legit["SAME_SDK"] is True
    assert legit["BIG"] == 10**30
    assert len(legit["NOISE"]) == 2  # type: ignore[arg-type]
    assert legit["__all__"] == ["STRATEGY"]
    # every allowed module was imported
    imported = {"bisect", "heapq", "itertools", "math", "operator", "statistics", "collections"}
    assert imported <= set(legit)


def test_classes_closures_and_dataclasses_of_a_loaded_module_work(legit: dict[str, object]) -> None:
    point = legit["Point"]
    assert point(1, 2) == point(1, 2)  # type: ignore[operator]
    assert hash(point(1, 2)) == hash(point(1, 2))  # dataclass-generated __hash__ needs `hash`
    with pytest.raises(AttributeError):  # dataclass-generated frozen __setattr__ needs `type`/`super`
        point(1).x = 3  # type: ignore[operator]
    assert [p.x for p in legit["SORTED"]] == [1, 2]  # type: ignore[attr-defined]
    assert legit["counter"]() == 2  # type: ignore[operator]
    assert legit["fib"](30) == 832040  # type: ignore[operator]
    assert legit["classify"]({"kind": "bar"}) == "map:bar"  # type: ignore[operator]
    assert legit["classify"]([1, 2, 3]) == "seq:1+2"  # type: ignore[operator]
    assert legit["classify"](point(4)) == "point-on-axis:4"  # type: ignore[operator]
    assert legit["classify"](5) == "positive"  # type: ignore[operator]
    assert legit["Row"]("x", 1).price == 1  # type: ignore[operator]
    assert repr(legit["Window"](3)) == "Window(3)"  # type: ignore[operator]


def test_enums_declared_with_the_class_statement_work(legit: dict[str, object]) -> None:
    mode, level, color = legit["Mode"], legit["Level"], legit["Color"]
    assert mode("fast") is mode.FAST  # type: ignore[operator,attr-defined]
    assert level.HIGH > level.LOW  # type: ignore[attr-defined]
    assert color(1) is color["RED"]  # type: ignore[operator,index]
    assert str(legit["FLAGS"]) == "Perm.READ|WRITE"


def test_the_strategy_runs_after_loading(legit: dict[str, object]) -> None:
    from engines.sdk import Context

    params = legit["MyParams"]()  # type: ignore[operator]
    strategy = legit["STRATEGY"](params)  # type: ignore[operator]
    ctx = Context("legit")
    ctx.now_ns = 12
    result = strategy.on_bar(ctx, None)
    assert result.quantity == 5
    assert ctx.logs == ["mean=5.00 sqrt=2.0"]


def test_budget_ticks_left_in_hooks_count_nothing_after_loading() -> None:
    source = "def spin(n):\n    total = 0\n    while total < n:\n        total += 1\n    return total\n"
    namespace = load_module(source, "spin.py", module_name="vt_spin_after", max_steps=1_000)
    try:
        assert namespace["spin"](100_000) == 100_000  # type: ignore[operator]
    finally:
        sys.modules.pop("vt_spin_after", None)


@pytest.mark.parametrize(
    "path",
    sorted(p for p in (REPO / "strategies").rglob("*.py") if p.name != "__init__.py"),
    ids=lambda p: p.stem,
)
def test_the_repository_strategies_load(path: Path) -> None:
    name = f"vt_repo_{path.stem}"
    try:
        namespace = load_module(path.read_bytes(), str(path), module_name=name)
    finally:
        sys.modules.pop(name, None)
    assert "STRATEGY" in namespace


# ── one test per rule and code ──────────────────────────────────────────────────────────────────

RULES: list[tuple[str, str, type[SandboxViolation]]] = [
    ("import os\n", "VT201", ForbiddenImport),
    ("from engines import orders\n", "VT201", ForbiddenImport),
    ("from . import x\n", "VT201", ForbiddenImport),
    ("from math import *\n", "VT201", ForbiddenImport),
    ("from math import _private\n", "VT201", ForbiddenImport),
    ("from operator import attrgetter\n", "VT201", ForbiddenImport),
    ("def f():\n    import time\n", "VT201", ForbiddenImport),
    ("x = open\n", "VT202", ForbiddenName),
    ("open = 1\n", "VT202", ForbiddenName),
    ("def f(x=eval):\n    pass\n", "VT202", ForbiddenName),
    ("def f(getattr):\n    pass\n", "VT202", ForbiddenName),
    ("import math as exec\n", "VT202", ForbiddenName),
    ("x = __spec__\n", "VT202", ForbiddenName),
    ("__name__ = 'os'\n", "VT202", ForbiddenName),
    ("x = aiter\n", "VT202", ForbiddenName),
    ("class A:\n    def __del__(self):\n        pass\n", "VT202", ForbiddenName),
    ("def __import__():\n    pass\n", "VT202", ForbiddenName),
    ("try:\n    pass\nexcept Exception as __builtins__:\n    pass\n", "VT202", ForbiddenName),
    ("f = lambda: 0\nx = f.__code__\n", "VT203", ForbiddenAttribute),
    ("x = ().__class__\n", "VT203", ForbiddenAttribute),
    ("class A:\n    pass\nA.__name__ = 'B'\n", "VT203", ForbiddenAttribute),
    ("def g():\n    yield\nx = g().gi_frame\n", "VT203", ForbiddenAttribute),
    ("x = int.mro()\n", "VT203", ForbiddenAttribute),
    ("import decimal\nx = decimal.getcontext()\n", "VT203", ForbiddenAttribute),
    ("match 1:\n    case int(n):\n        pass\n", "VT203", ForbiddenAttribute),
    ("x: '().__class__' = 1\n", "VT203", ForbiddenAttribute),
    ("def f(\n", "VT204", InvalidSource),
    ("nonlocal x\n", "VT204", InvalidSource),
    ("x = 1\x00\n", "VT204", InvalidSource),
    ("s = '\udcff'\n", "VT204", InvalidSource),
    ("# coding: cp949\nx = 1\n", "VT204", InvalidSource),
    ("x = '{}'\ny = x.format(1)\n", "VT207", UnsafeFormat),
    ("y = '{0[0]}'.format([1])\n", "VT207", UnsafeFormat),
    ("y = '{0.real}'.format(1)\n", "VT207", UnsafeFormat),
    ("y = '{a.b}'.format_map({})\n", "VT207", UnsafeFormat),
    ("y = str.format('{}', 1)\n", "VT207", UnsafeFormat),
    ("x = 2 ** 200_001\n", "VT208", OversizedConstant),
    ("x = 9 ** 9 ** 9\n", "VT208", OversizedConstant),
    ("y = 3\nx = y ** 10_000_000\n", "VT208", OversizedConstant),
    ("x = b'ab' * 10**8\n", "VT208", OversizedConstant),
    ("x = (1, 2) * 10**7\n", "VT208", OversizedConstant),
    ("x = 1 << 200_001\n", "VT208", OversizedConstant),
    ("x = 2\nx <<= 10**9\n", "VT208", OversizedConstant),
    ("x = pow(10, 10**8)\n", "VT208", OversizedConstant),
    ("x = '__subclasses__'\n", "VT209", ForbiddenString),
    ("x = 'f_globals'\n", "VT209", ForbiddenString),
    ("from typing import NamedTuple\nR = NamedTuple('R', [('a', int)])\n", "VT210", DynamicClass),
    ("import typing\nT = typing.TypedDict\n", "VT210", DynamicClass),
]


@pytest.mark.parametrize(
    ("source", "code", "kind"), RULES, ids=[f"{c}-{i}" for i, (_, c, _) in enumerate(RULES)]
)
def test_each_rule_raises_its_own_code_before_anything_runs(
    source: str, code: str, kind: type[SandboxViolation]
) -> None:
    with pytest.raises(kind) as caught:
        check_source(source, "rule.py")
    assert caught.value.code == code
    assert caught.value.file == "rule.py"
    assert caught.value.line is not None
    # load_module refuses the same way (and runs nothing: none of these would hang or do I/O)
    with pytest.raises(kind):
        load_module(source, "rule.py", module_name="vt_rule")
    assert "vt_rule" not in sys.modules


@pytest.mark.parametrize(
    ("source", "kind", "line"),
    [
        ("x = 1 / 0\n", LoadFailed, 1),
        ("\nraise ValueError('bad parameter table')\n", LoadFailed, 2),
        ("x = [][1]\n", LoadFailed, 1),
        ("x = 1\nfrom math import no_such_name\n", ForbiddenImport, 2),
        ("import math\nx = math.sys\n", LoadFailed, 2),
        ("from enum import Enum\nE = Enum('E', 'A B')\n", DynamicClass, 2),
        ("x = 0\nwhile True:\n    x += 1\n", LoadBudgetExceeded, 2),
        ("def f(n):\n    return f(n + 1)\nf(0)\n", LoadBudgetExceeded, 2),
    ],
)
def test_runtime_failures_are_typed_with_file_and_line(
    source: str, kind: type[SandboxViolation], line: int
) -> None:
    check_source(source, "run.py")  # nothing the static check can see
    with pytest.raises(kind) as caught:
        load_module(source, "run.py", module_name="vt_run")
    assert caught.value.file == "run.py"
    assert caught.value.line == line
    assert "vt_run" not in sys.modules


def test_an_exception_at_load_names_its_type_message_and_line() -> None:
    source = "A = 1\n\n\ndef table():\n    return {}['missing']\n\n\nT = table()\n"
    with pytest.raises(LoadFailed) as caught:
        load_module(source, "t.py", module_name="vt_t")
    assert caught.value.line == 5  # the innermost line of the strategy's own file
    assert "KeyError: 'missing'" in caught.value.message


def test_the_load_budget_is_a_count_so_the_outcome_is_the_same_every_time() -> None:
    source = "total = 0\nfor i in range(10_000):\n    total += i\n"
    outcomes = []
    for _ in range(2):
        with pytest.raises(LoadBudgetExceeded) as caught:
            load_module(source, "b.py", module_name="vt_b", max_steps=5_000)
        outcomes.append((caught.value.line, caught.value.message))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == 2
    namespace = load_module(source, "b.py", module_name="vt_b", max_steps=100_000)
    sys.modules.pop("vt_b", None)
    assert namespace["total"] == sum(range(10_000))


def test_call_depth_is_limited_independently_of_the_interpreter_limit() -> None:
    source = "def down(n):\n    return 0 if n == 0 else down(n - 1)\nDEPTH = down({n})\n"
    namespace = load_module(source.format(n=150), "d.py", module_name="vt_d")
    sys.modules.pop("vt_d", None)
    assert namespace["DEPTH"] == 0
    with pytest.raises(LoadBudgetExceeded) as caught:
        load_module(source.format(n=150), "d.py", module_name="vt_d", max_depth=100)
    assert "call depth 100" in caught.value.message
    assert caught.value.line == 2


# ── find_violations and check_source ────────────────────────────────────────────────────────────

MANY = """\
import os
x = eval("1")
y = ().__class__
z = "{0.real}".format(1)
w = 10 ** 10 ** 10
v = "__globals__"
u = getattr(x, "__dict__")
t = ().__class__.__bases__
"""


def test_find_violations_returns_every_violation_in_source_order() -> None:
    found = find_violations(MANY, "many.py")
    assert [(v.line, v.code) for v in found] == [
        (1, "VT201"),
        (2, "VT202"),
        (3, "VT203"),
        (4, "VT207"),
        (5, "VT208"),
        (6, "VT209"),
        (7, "VT202"),  # getattr comes before the string on its line
        (7, "VT209"),
        (8, "VT203"),  # __class__ (inner) before __bases__ (outer)
        (8, "VT203"),
    ]
    assert "__class__" in found[8].message
    assert "__bases__" in found[9].message
    assert all(v.file == "many.py" and v.hint for v in found)
    assert [str(v) for v in find_violations(MANY, "many.py")] == [str(v) for v in found]  # deterministic


def test_check_source_raises_the_first_violation() -> None:
    with pytest.raises(ForbiddenImport) as caught:
        check_source(MANY, "many.py")
    assert caught.value.line == 1


def test_a_clean_source_has_no_violations_and_a_syntax_error_is_the_only_one() -> None:
    assert find_violations(LEGIT, "legit.py") == []
    check_source(LEGIT, "legit.py")
    [error] = find_violations("import os\ndef f(:\n", "bad.py")
    assert isinstance(error, InvalidSource)
    assert error.line == 2
    compiled = find_violations("import os\nreturn 1\nx = eval\n", "bad.py")
    assert [(v.line, v.code) for v in compiled] == [(1, "VT201"), (2, "VT204"), (3, "VT202")]


def test_violations_are_vibe_errors_with_a_code_per_rule() -> None:
    kinds = [
        ForbiddenImport,
        ForbiddenName,
        ForbiddenAttribute,
        InvalidSource,
        LoadBudgetExceeded,
        LoadFailed,
        UnsafeFormat,
        OversizedConstant,
        ForbiddenString,
        DynamicClass,
    ]
    assert [k.code for k in kinds] == [f"VT2{n:02d}" for n in range(1, 11)]
    for kind in kinds:
        error = kind("message", file="f.py", line=3)
        assert isinstance(error, VibeError)
        assert error.hint == kind.default_hint
        assert error.to_dict()["code"] == kind.code


def test_what_the_rules_allow() -> None:
    allowed = """\
from __future__ import annotations
import collections.abc
import engines.sdk as sdk_module
from engines import sdk


class Base:
    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a

    def __eq__(self, other):
        return self.a == other.a

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class Child(Base):
    def __init__(self, a):
        super().__init__(a)
        self.__hidden = 1

    @classmethod
    def label(cls):
        return cls.__name__ + cls.__qualname__


d = dict(open=1, type=2, id=3, print=4)
price = {"open": 1, "high": 2}["open"]
text = "{} and {name} and {0}".format(1, name=2)
if __name__ == "__main__":
    pass
"""
    assert find_violations(allowed, "allowed.py") == []


# ── decoding ────────────────────────────────────────────────────────────────────────────────────


def test_decode_source_accepts_utf8_and_a_bom_and_refuses_anything_else() -> None:
    assert decode_source("x = 'é'\n".encode(), "a.py") == "x = 'é'\n"
    assert decode_source(b"\xef\xbb\xbfx = 1\n", "a.py") == "x = 1\n"
    assert decode_source(b"# -*- coding: utf-8 -*-\nx = 1\n", "a.py").endswith("x = 1\n")
    with pytest.raises(InvalidSource) as caught:
        decode_source(b"x = 1\ny = '\xff'\n", "a.py")
    assert (caught.value.code, caught.value.line) == ("VT204", 2)


# ── the runtime layer (defence in depth behind the static check) ────────────────────────────────


@pytest.fixture
def runtime() -> dict[str, object]:
    namespace = load_module(
        "import math\nimport collections.abc\nfrom engines import sdk\n", "rt.py", module_name="vt_rt"
    )
    sys.modules.pop("vt_rt", None)
    builtins_dict = namespace["__builtins__"]
    assert isinstance(builtins_dict, dict)
    return builtins_dict


def test_restricted_builtins_hold_the_allow_list_and_nothing_dangerous(runtime: dict[str, object]) -> None:
    assert set(SAFE_BUILTINS) <= set(runtime)
    dangerous = set(FORBIDDEN_NAMES) - {"type", "hash"}  # both needed by dataclass-generated code
    assert not dangerous & set(runtime)
    assert {"open", "eval", "exec", "compile", "getattr", "globals", "vars", "print"}.isdisjoint(runtime)


def test_the_guarded_import_refuses_what_the_static_check_refuses(runtime: dict[str, object]) -> None:
    guarded = runtime["__import__"]
    assert callable(guarded)
    for args in [("os",), ("engines",), ("math", None, None, (), 1), ("engines", None, None, ("orders",))]:
        with pytest.raises(ForbiddenImport):
            guarded(*args)
    with pytest.raises(ForbiddenImport):
        guarded("math", None, None, ("_private",))


def test_imports_hand_out_filtered_copies_of_the_allowed_modules(runtime: dict[str, object]) -> None:
    guarded = runtime["__import__"]
    assert callable(guarded)
    proxy = guarded("math")
    assert proxy is not math
    assert proxy.sqrt is math.sqrt
    proxy.pi = 3  # a strategy can change only its own copy
    assert math.pi != 3
    collections_proxy = guarded("collections.abc")
    assert collections_proxy.abc.Mapping is __import__("collections.abc").abc.Mapping
    engines_proxy = guarded("engines", None, None, ("sdk",))
    assert not hasattr(engines_proxy, "sandbox")  # only the allowed submodule
    assert not hasattr(engines_proxy.sdk, "msgspec")  # no module-valued members


def test_the_namespace_is_registered_as_a_module_for_annotation_lookups() -> None:
    namespace = load_module("x = 1\n", "m.py", module_name="vt_registered")
    try:
        assert sys.modules["vt_registered"].__dict__ is namespace
        load_module("x = 2\n", "m.py", module_name="vt_registered")  # reloading replaces our own module
        with pytest.raises(LoadFailed):
            load_module("x = 1 / 0\n", "m.py", module_name="vt_registered")
        assert sys.modules["vt_registered"].__dict__["x"] == 2  # a failed load restores the previous one
    finally:
        sys.modules.pop("vt_registered", None)
    with pytest.raises(ValueError, match="taken by a real module"):
        load_module("x = 1\n", "m.py", module_name="math")


def test_allowed_modules_are_the_documented_set() -> None:
    assert (
        frozenset(
            {
                "math",
                "statistics",
                "decimal",
                "fractions",
                "collections",
                "collections.abc",
                "itertools",
                "functools",
                "dataclasses",
                "typing",
                "enum",
                "__future__",
                "operator",
                "bisect",
                "heapq",
                "engines.sdk",
            }
        )
        == ALLOWED_MODULES
    )


def test_docs_describe_every_code_module_and_the_security_caveat() -> None:
    text = (REPO / "docs" / "sandbox.md").read_text()
    for n in range(0, 11):
        assert f"VT2{n:02d}" in text
    for module in ALLOWED_MODULES:
        assert f"`{module}`" in text
    assert "not an OS security boundary" in text


def test_a_class_body_may_assign_the_declaration_attribute_type() -> None:
    source = "class S:\n    type = 'single'\n"
    namespace = load_module(source, "decl.py", module_name="sandbox_test_decl_type")
    assert namespace["S"].type == "single"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "source",
    [
        "class S:\n    type = 'single'\n    t = type\n",
        "type = 'x'\n",
        "def f():\n    type = 1\n",
        "class S:\n    def f(self):\n        return type(self)\n",
    ],
)
def test_the_name_type_stays_refused_outside_a_class_body_assignment(source: str) -> None:
    with pytest.raises(SandboxViolation) as exc:
        load_module(source, "decl.py", module_name="sandbox_test_decl_type2")
    assert exc.value.code == "VT202"
