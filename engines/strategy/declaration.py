"""From a loaded strategy module to a checked declaration: its type, its parameters, its universe.

The declared type (the SDK base class of ``STRATEGY``) is the authority. Parameters come from the
Params class defaults, overridden by ``--param name=value``; the universe parameter is parsed into
symbols and checked against the type's bounds. Every failure is a :class:`DeclarationError` with the
file and line it applies to. The declared type then picks the engine (``engines.kernel.ENGINES``);
nothing routes orders here: every command carries its venue, set by the run's configuration.
"""

from __future__ import annotations

import ast
import enum
import types
import typing
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

import msgspec

from engines.errors import DeclarationError, InvalidSymbolError
from engines.model.instruments import split_symbols
from engines.sdk import (
    STRATEGY_TYPES,
    ArbitrageStrategy,
    Bounds,
    Params,
    PortfolioStrategy,
    SingleAssetStrategy,
    Strategy,
)

TYPE_BASES: dict[str, type[Strategy[Any]]] = {
    "single": SingleAssetStrategy,
    "portfolio": PortfolioStrategy,
    "arbitrage": ArbitrageStrategy,
}


class StrategySpec(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the daemon needs to know about a strategy before it runs."""

    name: str
    strategy_type: str
    cls: type[Strategy[Any]]
    params: Params
    universe: tuple[str, ...]
    file: str

    def params_as_strings(self) -> dict[str, str]:
        raw = msgspec.to_builtins(self.params)
        assert isinstance(raw, dict)
        return {k: str(v) for k, v in sorted(raw.items())}


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """``["fast=10", "symbol=krx:005930"]`` → ``{"fast": "10", ...}``; a later pair wins."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise DeclarationError(f"--param {pair!r} is not name=value", code="VT113")
        out[name.strip()] = value.strip()
    return out


def declare(
    namespace: Mapping[str, object],
    *,
    source: str,
    filename: str,
    overrides: Mapping[str, str] | None = None,
    expected_type: str | None = None,
) -> StrategySpec:
    """Check the module's ``STRATEGY`` declaration and build its spec."""
    where = _Locator(source, filename)
    switch = namespace.get("STRATEGY_TYPE")
    if switch is not None and switch not in STRATEGY_TYPES:
        raise DeclarationError(
            f"STRATEGY_TYPE {switch!r} is not one of {', '.join(STRATEGY_TYPES)}",
            code="VT101",
            hint='Set STRATEGY_TYPE to "single", "portfolio" or "arbitrage".',
            **where.assignment("STRATEGY_TYPE"),
        )
    cls = namespace.get("STRATEGY")
    if cls is None:
        raise DeclarationError("the file defines no STRATEGY", file=filename, code="VT100")
    if not isinstance(cls, type) or not issubclass(cls, Strategy):
        raise DeclarationError(
            f"STRATEGY is {type(cls).__name__}, not a strategy class",
            code="VT102",
            **where.assignment("STRATEGY"),
        )
    strategy_type = _declared_type(cls, where)
    if switch is not None and switch != strategy_type:
        raise DeclarationError(
            f"STRATEGY_TYPE says {switch!r} but STRATEGY {cls.__name__} is a {strategy_type} strategy",
            code="VT102",
            **where.assignment("STRATEGY"),
        )
    if expected_type is not None and expected_type != strategy_type:
        raise DeclarationError(
            f"the command line asks for type {expected_type!r} but the file declares {strategy_type!r}",
            code="VT103",
            **where.cls(cls.__name__),
        )
    _check_hooks(cls, where)
    params_type = _params_type(cls, where)
    params = _build_params(params_type, overrides or {}, where)
    universe = _universe(cls, params, overrides or {}, where)
    return StrategySpec(
        name=cls.name or cls.__name__,
        strategy_type=strategy_type,
        cls=cls,
        params=params,
        universe=universe,
        file=filename,
    )


def _declared_type(cls: type[Strategy[Any]], where: _Locator) -> str:
    declared = cls.type
    if declared not in STRATEGY_TYPES:
        raise DeclarationError(
            f"type {declared!r} is not one of {', '.join(STRATEGY_TYPES)}",
            code="VT101",
            **where.cls(cls.__name__),
        )
    bases = [t for t, base in TYPE_BASES.items() if issubclass(cls, base)]
    if bases != [declared]:
        found = ", ".join(bases) or "none"
        raise DeclarationError(
            f"{cls.__name__} declares type {declared!r} but derives from the bases of: {found}",
            code="VT102",
            **where.cls(cls.__name__),
        )
    return declared


def _check_hooks(cls: type[Strategy[Any]], where: _Locator) -> None:
    base = TYPE_BASES[cls.type]
    if not any(getattr(cls, hook) is not getattr(base, hook) for hook in base.hooks):
        raise DeclarationError(
            f"{cls.__name__} overrides none of {', '.join(base.hooks)}",
            code="VT104",
            **where.cls(cls.__name__),
        )


def _params_type(cls: type[Strategy[Any]], where: _Locator) -> type[Params]:
    for klass in cls.__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            args = typing.get_args(base)
            if args and isinstance(args[0], type) and issubclass(args[0], Params):
                return args[0]
    raise DeclarationError(
        f"{cls.__name__} names no Params class (write {cls.__name__}(Base[MyParams]))",
        code="VT112",
        **where.cls(cls.__name__),
    )


def _build_params(params_type: type[Params], overrides: Mapping[str, str], where: _Locator) -> Params:
    fields = {f.name: f for f in msgspec.structs.fields(params_type)}
    for name in overrides:
        if name not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise DeclarationError(
                f"parameter {name!r} is not declared (declared: {known})",
                code="VT110",
                **where.cls(params_type.__name__),
            )
    values: dict[str, object] = {}
    for name, field in fields.items():
        if name in overrides:
            values[name] = _coerce(overrides[name], field.type)
    try:
        params = msgspec.convert(values, params_type, strict=False)
        # defaults are not validated by msgspec: round-trip so a bad default is caught like a bad flag
        params = msgspec.convert(msgspec.to_builtins(params), params_type, strict=False)
    except msgspec.ValidationError as exc:
        field_name = _field_from_error(str(exc))
        if field_name is None or field_name not in fields:
            raise DeclarationError(
                f"parameter value rejected: {exc}",
                code="VT111",
                **where.cls(params_type.__name__),
            ) from None
        raise _value_error(params_type, fields[field_name], overrides, where) from None
    except TypeError as exc:
        raise DeclarationError(
            f"{params_type.__name__} is not a valid parameter class: {exc}",
            code="VT112",
            **where.cls(params_type.__name__),
        ) from None
    _check_bounds(params, overrides, where)
    return params


def _check_bounds(params: Params, overrides: Mapping[str, str], where: _Locator) -> None:
    hints = typing.get_type_hints(type(params), include_extras=True)
    for field in msgspec.structs.fields(params):
        for extra in typing.get_args(hints.get(field.name))[1:]:
            if isinstance(extra, Bounds):
                problem = extra.violation(getattr(params, field.name))
                if problem is not None:
                    raise _value_error(type(params), field, overrides, where, problem=problem)


def _value_error(
    params_type: type[Params],
    field: msgspec.structs.FieldInfo,
    overrides: Mapping[str, str],
    where: _Locator,
    *,
    problem: str | None = None,
) -> DeclarationError:
    """VT111 naming the parameter, the text it was given and what it takes.

    msgspec's own wording ("Expected `int`, got `str`") describes the string the command line
    handed it, not the value the user wrote, and names neither the allowed values nor the bounds.
    """
    name = field.name
    allowed = _describe_type(field.type)
    given = _given(params_type, name, overrides)
    why = f" ({problem})" if problem else ""
    if name in overrides:
        hint = f"Pass --param {name}=VALUE with VALUE {allowed}."
    else:
        hint = f"Change the default of {name} in {params_type.__name__} to {allowed}."
    return DeclarationError(
        f"parameter {name!r}: got {given}{why}; allowed: {allowed}",
        code="VT111",
        hint=hint,
        **where.field(params_type.__name__, name),
    )


def _given(params_type: type[Params], name: str, overrides: Mapping[str, str]) -> str:
    """What the user wrote: the raw --param text, else the class default as written in Python."""
    if name in overrides:
        return repr(overrides[name])
    for field in msgspec.structs.fields(params_type):
        if field.name != name:
            continue
        if field.default is not msgspec.NODEFAULT:
            return f"the default {field.default!r}"
        if field.default_factory is not msgspec.NODEFAULT:
            return f"the default {field.default_factory()!r}"
    return "no value"


_TYPE_WORDS: dict[object, str] = {
    bool: "true or false (also 1 or 0)",
    int: "a whole number (int)",
    Decimal: "a decimal number (Decimal)",
    float: "a number (float)",
    str: "text (str)",
    type(None): "none",
}


def _describe_type(annotation: object) -> str:
    """A parameter type in words, with its bounds and allowed values, for error messages."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        limits = [_limits(extra) for extra in args[1:]]
        return " ".join([_describe_type(args[0]), *(text for text in limits if text)])
    if origin is Literal:
        return "one of " + ", ".join(str(value) for value in args)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(str(member.value) for member in annotation)
    if annotation in _TYPE_WORDS:
        return _TYPE_WORDS[annotation]
    if origin in (tuple, list, frozenset, set):
        items = args[0] if args else object
        return f"a comma-separated list, each {_describe_type(items)}"
    if origin is typing.Union or origin is types.UnionType:
        return " or ".join(_describe_type(arg) for arg in args)
    return getattr(annotation, "__name__", repr(annotation))


def _limits(extra: object) -> str:
    """``Bounds(ge=0, lt=1)`` as ``>= 0 and < 1``; msgspec ``Meta`` constraints likewise."""
    if not isinstance(extra, Bounds | msgspec.Meta):
        return ""
    words = [
        f"{symbol} {getattr(extra, attr)}"
        for attr, symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
        if getattr(extra, attr) is not None
    ]
    if isinstance(extra, msgspec.Meta):
        if extra.min_length is not None:
            words.append(f"of length >= {extra.min_length}")
        if extra.max_length is not None:
            words.append(f"of length <= {extra.max_length}")
        if extra.pattern is not None:
            words.append(f"matching {extra.pattern!r}")
    return " and ".join(words)


def _coerce(text: str, annotation: object) -> object:
    """Command-line strings for tuple fields are comma-separated; msgspec converts the rest."""
    base = typing.get_origin(annotation)
    if base is typing.Annotated:
        return _coerce(text, typing.get_args(annotation)[0])
    if base is tuple or annotation is tuple:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def _field_from_error(message: str) -> str | None:
    marker = "at `$."
    if marker not in message:
        return None
    return message.split(marker, 1)[1].split("`", 1)[0].split("[", 1)[0]


def _universe(
    cls: type[Strategy[Any]], params: Params, overrides: Mapping[str, str], where: _Locator
) -> tuple[str, ...]:
    name = cls.universe_param
    raw = getattr(params, name, None)
    params_name = type(params).__name__
    if raw is None:
        raise DeclarationError(
            f"{cls.type} strategies take their universe from a parameter named {name!r}",
            code="VT112",
            **where.cls(params_name),
        )
    given = _given(type(params), name, overrides)
    bound = (
        f"exactly {cls.min_symbols}"
        if cls.min_symbols == cls.max_symbols
        else f"{cls.min_symbols} to {cls.max_symbols}"
    )
    if cls.max_symbols == 1:
        allowed = f"{bound} symbol written venue:instrument (e.g. krx:005930)"
    else:
        allowed = (
            f"{bound} distinct symbols written venue:instrument, separated by commas "
            "(e.g. krx:005930,krx:000660)"
        )
    try:
        universe = split_symbols(raw)
    except InvalidSymbolError as exc:
        raise DeclarationError(
            f"parameter {name!r}: got {given} ({exc.message}); allowed: {allowed}",
            code="VT120",
            **where.field(params_name, name),
        ) from None
    if len(set(universe)) != len(universe):
        raise DeclarationError(
            f"parameter {name!r}: got {given} ({name} lists a symbol twice: {', '.join(universe)}); "
            f"allowed: {allowed}",
            code="VT122",
            **where.field(params_name, name),
        )
    if not cls.min_symbols <= len(universe) <= cls.max_symbols:
        raise DeclarationError(
            f"parameter {name!r}: got {given} (a {cls.type} strategy takes {bound} symbol(s); "
            f"{name} has {len(universe)}); allowed: {allowed}",
            code="VT121",
            **where.field(params_name, name),
        )
    return universe


class _Locator:
    """Finds the line of a class, a class field or an assignment in the strategy's source."""

    def __init__(self, source: str, filename: str) -> None:
        self.filename = filename
        try:
            self.tree: ast.Module | None = ast.parse(source)
        except SyntaxError:
            self.tree = None

    def _at(self, line: int | None) -> dict[str, Any]:
        return {"file": self.filename, "line": line}

    def _class(self, name: str) -> ast.ClassDef | None:
        if self.tree is None:
            return None
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ClassDef) and node.name == name:
                return node
        return None

    def cls(self, name: str) -> dict[str, Any]:
        node = self._class(name)
        return self._at(node.lineno if node else None)

    def field(self, class_name: str, field: str) -> dict[str, Any]:
        node = self._class(class_name)
        if node is not None:
            for stmt in node.body:
                target = stmt.target if isinstance(stmt, ast.AnnAssign) else None
                if isinstance(target, ast.Name) and target.id == field:
                    return self._at(stmt.lineno)
        return self._at(node.lineno if node else None)

    def assignment(self, name: str) -> dict[str, Any]:
        if self.tree is not None:
            for stmt in self.tree.body:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else []
                if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                    return self._at(stmt.lineno)
        return self._at(None)
