"""The violations: every way a strategy file can break a sandbox rule, each a typed error with its code.

Each carries the file, the line (and column) and a hint of what to do instead; the codes are VT200-VT210
(docs/errors.md).
"""

from __future__ import annotations

from engines.errors import VibeError
from engines.strategy.sandbox.policy import MAX_CONSTANT_BITS, MAX_CONSTANT_ITEMS

__all__ = [
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
]


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
