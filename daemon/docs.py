"""Generated documentation: docs/errors.md from the error registry, the README capability table.

``python -m daemon.docs`` rewrites both; tests fail when either drifts from the code.
"""

from __future__ import annotations

import re
from pathlib import Path

from adapters.capabilities import render_markdown
from engines.errors import ERROR_CODES

REPO = Path(__file__).resolve().parent.parent
ERRORS_MD = REPO / "docs" / "errors.md"
README = REPO / "README.md"
_TABLE = re.compile(r"(<!-- capabilities:begin -->\n)(.*?)(<!-- capabilities:end -->)", re.DOTALL)

_ERRORS_INTRO = """# Error codes

Every refusal by `vibetrading` carries one of these codes, the file and line it applies to where
there is one, and a hint. Exit code 1 means the strategy, data or run was refused with a code below;
exit code 2 means the command line itself was wrong. This page is generated from
`engines/errors.py` (`python -m daemon.docs`); a test keeps the two equal.

| code | what it means | what to do |
|---|---|---|
"""


def render_errors() -> str:
    rows = [f"| {code} | {entry.title} | {entry.hint} |" for code, entry in sorted(ERROR_CODES.items())]
    return _ERRORS_INTRO + "\n".join(rows) + "\n"


def readme_with_table(readme: str) -> str:
    return _TABLE.sub(lambda m: m.group(1) + render_markdown() + m.group(3), readme)


def main() -> None:
    ERRORS_MD.write_text(render_errors())
    README.write_text(readme_with_table(README.read_text()))


if __name__ == "__main__":
    main()
