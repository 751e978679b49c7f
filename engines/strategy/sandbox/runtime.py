"""Running a checked strategy module: restricted builtins, filtered module proxies, the load budget,
an audit of the annotations it ends up with, and :func:`load_module`, which does it all.

The module body runs with a ``__builtins__`` built from the allow-list and an ``__import__`` that
hands out filtered proxies of the allow-listed modules only, under the budget of
:mod:`engines.strategy.sandbox.budget`. Every failure is a typed
:class:`~engines.strategy.sandbox.violations.SandboxViolation` naming the file and line.
"""

from __future__ import annotations

import ast
import builtins
import enum
import sys
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Final

from engines.errors import VibeError
from engines.strategy.sandbox.budget import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_STEPS,
    TICK_NAME,
    BudgetExceeded,
    Meter,
    instrument,
)
from engines.strategy.sandbox.checker import Checker, WalkContext, check_tree
from engines.strategy.sandbox.policy import ALLOWED_MODULES, DENIED_MEMBERS, SAFE_BUILTINS, import_hint
from engines.strategy.sandbox.source import as_text, compile_tree, parse
from engines.strategy.sandbox.violations import (
    DynamicClass,
    ForbiddenImport,
    LoadBudgetExceeded,
    LoadFailed,
    SandboxViolation,
)

if TYPE_CHECKING:
    from sys import UnraisableHookArgs

__all__ = ["load_module"]


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
    denied = DENIED_MEMBERS.get(name, {})
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
                raise refuse(f"import from {name!r} is not allowed in a strategy", import_hint(name))
            for item in fromlist:
                if item == "*" or item.startswith("_") or not hasattr(proxy, item):
                    raise refuse(
                        f"{item!r} is not importable from {name!r} in a strategy",
                        DENIED_MEMBERS.get(name, {}).get(item, ForbiddenImport.default_hint),
                    )
            return proxy
        top = proxies.get(name.partition(".")[0])
        if name not in ALLOWED_MODULES or top is None:
            raise refuse(f"import of {name!r} is not allowed in a strategy", import_hint(name))
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
    namespace[TICK_NAME] = tick
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
                start = WalkContext(line=line, end=(line, 0), embedded=True, annotation=True)
                found = Checker(filename).run(expression.body, start)
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


def _execute(code: types.CodeType, namespace: dict[str, object], meter: Meter) -> None:
    filename = meter.filename
    outcome: SandboxViolation | VibeError | None = None
    previous = sys.gettrace()
    previous_hook = sys.unraisablehook

    def unraisable(info: UnraisableHookArgs) -> None:
        # A budget trip inside a finalizer is swallowed by the interpreter; the meter remembers it.
        if not isinstance(info.exc_value, BudgetExceeded):
            previous_hook(info)

    sys.unraisablehook = unraisable
    sys.settrace(meter.trace)
    try:
        exec(code, namespace)  # noqa: S102 - the point of this module; see the checks above
    except BudgetExceeded:
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
        except BudgetExceeded:
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
    text = as_text(source, filename)
    tree = parse(text, filename)
    violations, checker = check_tree(tree, filename)
    if violations:
        raise violations[0]
    instrument(tree)
    code = compile_tree(tree, filename)
    previous = sys.modules.get(module_name)
    if previous is not None and not _is_sandboxed(previous):
        raise ValueError(f"module name {module_name!r} is taken by a real module; pick another")
    proxies = _build_proxies(checker.imports)
    meter = Meter(filename, max_steps, max_depth)
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
    runtime[TICK_NAME] = bool
    return namespace


def _is_sandboxed(module: types.ModuleType) -> bool:
    """True for a module this loader created (its builtins carry the budget tick)."""
    runtime = vars(module).get("__builtins__")
    return isinstance(runtime, dict) and TICK_NAME in runtime
