"""The static check: walk a strategy's tree and collect every violation, in source order; nothing runs.

It refuses imports outside the allow-list (anywhere in the file), forbidden and unavailable names,
dunder and frame attributes, ``str.format`` attribute traversal, oversized constant arithmetic and
strings that spell interpreter internals, including inside strings that typing would evaluate.
:func:`check_source` and :func:`find_violations` are its public entry points.
"""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Final

from engines.strategy.sandbox.folding import fold_constants, pow_bits
from engines.strategy.sandbox.policy import (
    ALLOWED_DUNDER_ATTRIBUTES,
    ALLOWED_DUNDER_NAMES,
    ALLOWED_DUNDER_STRINGS,
    ALLOWED_MODULES,
    CLASS_FACTORIES,
    DENIED_MEMBERS,
    FORBIDDEN_ATTRIBUTES,
    FORBIDDEN_NAMES,
    FORMAT_METHODS,
    FRAME_ATTRIBUTES,
    MAX_CONSTANT_BITS,
    MAX_CONSTANT_ITEMS,
    MAX_FACTORIAL,
    MAX_STRING_NESTING,
    READ_ONLY_DUNDER_NAMES,
    SDK_RANDOM,
    UNAVAILABLE_BUILTINS,
    import_hint,
)
from engines.strategy.sandbox.source import as_text, compile_tree, parse
from engines.strategy.sandbox.violations import (
    DynamicClass,
    ForbiddenAttribute,
    ForbiddenImport,
    ForbiddenName,
    ForbiddenString,
    InvalidSource,
    OversizedConstant,
    SandboxViolation,
    UnsafeFormat,
)

__all__ = ["Checker", "WalkContext", "check_source", "check_tree", "find_violations"]


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


#: Forbidden names a class body may still assign: the SDK's declaration attribute ``type`` among
#: them. Reading them stays refused everywhere, so the builtin is never reached through them.
_CLASS_ATTRIBUTE_NAMES: Final = frozenset({"type"})


@dataclass(frozen=True, slots=True)
class WalkContext:
    """Where the walk is: the location to report and what kind of code encloses the node."""

    line: int = 1
    col: int = 0
    end: tuple[int, int] = (1, 0)  # end of the node: an inner node sorts before the outer one
    in_class: bool = False  # a statement directly in a class body: def names are attributes
    embedded: bool = False  # inside a string constant that typing might evaluate
    annotation: bool = False  # inside an annotation (strings there are evaluated by typing)
    string_depth: int = 0


class Checker:
    """Walks a tree iteratively (deep trees must not overflow the C stack) and collects violations."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.found: list[tuple[tuple[int, int, int, int], SandboxViolation]] = []
        self.safe_calls: set[int] = set()
        self.bound: set[str] = set()
        self.loaded: list[tuple[str, WalkContext]] = []
        self.imports: set[str] = set()
        self.ints: dict[int, int] = {}
        self.lens: dict[int, int] = {}
        self.keep: list[ast.AST] = []  # embedded trees stay alive so their ids stay unique
        self.class_bases: set[int] = set()
        self.class_lines: dict[str, int] = {}
        self.factories: set[str] = set(CLASS_FACTORIES)

    def _int(self, node: ast.AST) -> int | None:
        return self.ints.get(id(node))

    # reporting

    def _add(self, kind: type[SandboxViolation], message: str, hint: str | None, ctx: WalkContext) -> None:
        violation = kind(message, hint=hint, file=self.filename, line=ctx.line, col=ctx.col)
        self.found.append(((ctx.line, ctx.col, *ctx.end), violation))

    # the walk

    def run(self, tree: ast.AST, start: WalkContext | None = None) -> list[SandboxViolation]:
        fold_constants(tree, self.ints, self.lens)
        for node in ast.walk(tree):  # aliases first: `from typing import NamedTuple as NT`
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name in CLASS_FACTORIES and alias.asname is not None:
                        self.factories.add(alias.asname)
        stack: list[tuple[ast.AST, WalkContext]] = [(tree, start or WalkContext())]
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
            if name in UNAVAILABLE_BUILTINS and name not in self.bound:
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
    def _children(node: ast.AST, ctx: WalkContext) -> Iterator[tuple[ast.AST, WalkContext]]:
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

    def _visit(self, node: ast.AST, ctx: WalkContext) -> list[tuple[ast.AST, WalkContext]]:
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

    def _visit_name(self, node: ast.Name, ctx: WalkContext) -> None:
        if isinstance(node.ctx, ast.Load) and node.id in self.factories:
            self._check_factory(node, node.id, ctx)
        if isinstance(node.ctx, ast.Load):
            if not ctx.embedded:
                self.loaded.append((node.id, ctx))
            if ctx.embedded and not ctx.annotation:
                # A string outside annotations: only its dunders matter (a plain "open" is data).
                if _is_dunder(node.id) and node.id not in ALLOWED_DUNDER_NAMES:
                    self._refuse_name(node.id, ctx)
                return
            self._check_name(node.id, ctx, binding=False)
        else:
            self._check_binding(node.id, ctx)

    def _check_binding(self, name: str, ctx: WalkContext) -> None:
        self.bound.add(name)
        if ctx.embedded and not ctx.annotation:
            if _is_dunder(name):
                self._refuse_name(name, ctx)
            return
        if ctx.in_class and name in _CLASS_ATTRIBUTE_NAMES:
            return  # `type = "single"` in a class body names an attribute, not the builtin
        self._check_name(name, ctx, binding=True)

    def _check_name(self, name: str, ctx: WalkContext, *, binding: bool) -> None:
        refused_dunder = _is_dunder(name) and (
            name not in ALLOWED_DUNDER_NAMES or (binding and name in READ_ONLY_DUNDER_NAMES)
        )
        if name in FORBIDDEN_NAMES or refused_dunder:
            self._refuse_name(name, ctx)

    def _refuse_name(self, name: str, ctx: WalkContext) -> None:
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

    def _check_factory(self, node: ast.AST, name: str, ctx: WalkContext) -> None:
        if id(node) not in self.class_bases:
            self._add(
                DynamicClass,
                f"{name} is only allowed as a base class (class Row({name}): ...)",
                None,
                ctx,
            )

    def _check_attribute(
        self, attr: str, ctx: WalkContext, *, store: bool, node: ast.Attribute | None
    ) -> None:
        if attr in CLASS_FACTORIES and node is not None and not store:
            self._check_factory(node, attr, ctx)
        if _is_dunder(attr):
            if store or attr not in ALLOWED_DUNDER_ATTRIBUTES:
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
        elif attr in FORMAT_METHODS and (node is None or id(node) not in self.safe_calls):
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
                f"statistics.NormalDist.samples draws from an unseeded generator. {SDK_RANDOM}",
                ctx,
            )

    # calls and arithmetic

    def _visit_call(self, node: ast.Call, ctx: WalkContext) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            value = func.value
            if (
                func.attr in FORMAT_METHODS
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
            if argument is not None and argument > MAX_FACTORIAL:
                self._add(
                    OversizedConstant,
                    f"factorial({argument}) would take too long to compute",
                    None,
                    ctx,
                )

    def _check_pow(self, base: ast.AST, exponent: ast.AST, ctx: WalkContext) -> None:
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
        if pow_bits(value, power) > MAX_CONSTANT_BITS:
            self._add(
                OversizedConstant,
                f"{value} ** {power} would have about {pow_bits(value, power):,} bits",
                None,
                ctx,
            )

    def _visit_binop(self, node: ast.BinOp, ctx: WalkContext) -> None:
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

    def _check_shift(self, left: ast.AST, right: ast.AST, ctx: WalkContext) -> None:
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

    def _visit_augassign(self, node: ast.AugAssign, ctx: WalkContext) -> None:
        if isinstance(node.op, ast.Pow):
            self._check_pow(ast.Name(id="_", ctx=ast.Load()), node.value, ctx)
        elif isinstance(node.op, ast.LShift):
            self._check_shift(ast.Name(id="_", ctx=ast.Load()), node.value, ctx)

    # strings

    def _visit_string(self, value: str, ctx: WalkContext) -> list[tuple[ast.AST, WalkContext]]:
        if (_is_dunder(value) and value not in ALLOWED_DUNDER_STRINGS) or value in FRAME_ATTRIBUTES:
            self._add(
                ForbiddenString,
                f"the string {value!r} names an interpreter internal",
                None,
                ctx,
            )
            return []
        if value in ALLOWED_DUNDER_STRINGS:
            return []
        if ctx.string_depth >= MAX_STRING_NESTING or not any(
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
        fold_constants(expression, self.ints, self.lens)
        inner = replace(ctx, embedded=True, string_depth=ctx.string_depth + 1)
        return [(expression.body, inner)]

    # imports

    def _visit_import(self, node: ast.Import, ctx: WalkContext) -> None:
        for alias in node.names:
            if alias.name in ALLOWED_MODULES:
                self.imports.add(alias.name)
            else:
                self._refuse_module(alias.name, ctx)
            if alias.asname is not None:
                self._check_binding(alias.asname, ctx)
            else:
                self.bound.add(alias.name.partition(".")[0])

    def _visit_import_from(self, node: ast.ImportFrom, ctx: WalkContext) -> None:
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
            denied = DENIED_MEMBERS.get(module, {})
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

    def _refuse_module(self, name: str, ctx: WalkContext) -> None:
        self._add(
            ForbiddenImport,
            f"import of {name!r} is not allowed in a strategy",
            import_hint(name),
            ctx,
        )


def check_tree(tree: ast.Module, filename: str) -> tuple[list[SandboxViolation], Checker]:
    """The static check plus a compile of the unchanged tree, in source order; nothing executes."""
    checker = Checker(filename)
    violations = checker.run(tree)
    try:
        compile_tree(tree, filename)
    except InvalidSource as exc:
        position = ((v.line or 0, v.col) for v in violations)
        index = sum(1 for where in position if where <= (exc.line or 0, exc.col))
        violations.insert(index, exc)
    return violations, checker


def find_violations(source: str | bytes, filename: str) -> list[SandboxViolation]:
    """Every violation the static check finds, in source order. Nothing is executed.

    A source that does not parse has exactly one violation (``VT204``); one that parses but does
    not compile has the compile error after the other violations of its line.
    """
    try:
        tree = parse(as_text(source, filename), filename)
    except InvalidSource as exc:
        return [exc]
    return check_tree(tree, filename)[0]


def check_source(source: str | bytes, filename: str) -> None:
    """Run the static check (and a compile); raise the first violation in source order. Nothing runs."""
    violations = find_violations(source, filename)
    if violations:
        raise violations[0]
