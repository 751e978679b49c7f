"""A strategy's source, from bytes to a parsed and compiled tree: strict UTF-8, no NUL, no other coding.

The loader takes source *text* (or bytes), never a path: ``engines/`` does no I/O, so the daemon reads
the file and passes what it read. Every failure here is
:class:`~engines.strategy.sandbox.violations.InvalidSource` (VT204) with its line.
"""

from __future__ import annotations

import ast
import re
import types
from collections.abc import Sequence
from typing import Final

from engines.strategy.sandbox.violations import InvalidSource

__all__ = ["as_text", "compile_tree", "decode_source", "parse"]

_COOKIE: Final = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_UTF8_NAMES: Final = frozenset({"utf-8", "utf8", "utf-8-sig", "utf8-sig"})


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


def as_text(source: str | bytes, filename: str) -> str:
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


def parse(text: str, filename: str) -> ast.Module:
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


def compile_tree(tree: ast.Module, filename: str) -> types.CodeType:
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
