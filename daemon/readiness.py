"""Release readiness: the gates, the paths each one covers, the declared test matrix, the waivers.

docs/readiness.md is the contract in prose; this module is the same contract in code, and tests keep the
two, the README gate table, pyproject.toml, the Makefile and the CI workflow equal. The waiver loader is
shared by every gate run (``python -m daemon.readiness waivers`` is the first gate of ``make test``), by a
failing gate (``waived GATE``) and by the release sign-off, so a waiver means the same thing everywhere.

Dates are UTC days. A waiver is in force up to and including its ``expires`` day.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import tomllib
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, NamedTuple

import msgspec

from engines.errors import VibeError

REPO: Final = Path(__file__).resolve().parent.parent
CONTRACT: Final = REPO / "docs" / "readiness.md"
WAIVERS_FILE: Final = REPO / "ops" / "waivers.toml"
OPEN_QUESTIONS: Final = REPO / "ops" / "open-questions.md"
EVIDENCE_DIR: Final = REPO / "evidence"
PYPROJECT: Final = REPO / "pyproject.toml"
CHANGELOG: Final = REPO / "CHANGELOG.md"
CI_WORKFLOW: Final = REPO / ".github" / "workflows" / "ci.yml"

CANONICAL_STRATEGY: Final = "strategies/my_strategy_a.py"
# `vibetrading validate` with no --venue and no --mode: what the preflight gate checks.
VALIDATION_VENUE: Final = "sim"
VALIDATION_MODE: Final = "backtest"

# The declared matrix. pyproject says >=3.11; the versions below are the ones CI actually runs.
PYTHON_VERSIONS: Final = ("3.11", "3.12")
EVENT_LOOPS: Final = ("asyncio", "uvloop")
# Set by CI for each matrix cell. The suite does not read it today: the loop-sensitive tests run every
# case on both loops themselves (tests/replay/test_golden.py, tests/unit/daemon/test_journal_writer.py).
LOOP_ENV: Final = "VIBETRADING_LOOP"


class Role(StrEnum):
    MAINTAINER = "maintainer"
    RELEASE_OWNER = "release-owner"


class Gate(NamedTuple):
    name: str
    make_target: str
    command: str
    # None: the gate cannot be waived (the waiver check itself).
    approver: Role | None
    max_days: int


GATES: Final[tuple[Gate, ...]] = (
    Gate("waivers", "waivers", "python -m daemon.readiness waivers", None, 0),
    Gate("lint", "lint", "ruff check .", Role.MAINTAINER, 30),
    Gate("format", "lint", "ruff format --check .", Role.MAINTAINER, 30),
    Gate("types", "typecheck", "mypy", Role.MAINTAINER, 30),
    Gate("layers", "contracts", "lint-imports", Role.RELEASE_OWNER, 14),
    Gate("tests", "pytest", "pytest", Role.RELEASE_OWNER, 14),
    Gate("preflight", "validate", f"vibetrading validate {CANONICAL_STRATEGY}", Role.RELEASE_OWNER, 14),
)
GATES_BY_NAME: Final = {g.name: g for g in GATES}
WAIVABLE: Final = {g.name: g for g in GATES if g.approver is not None}


class Coverage(NamedTuple):
    covers: tuple[str, ...]
    excludes: tuple[str, ...]


def _paths(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(v.rstrip("/") or v for v in values)


def _within(path: str, covers: Sequence[str]) -> bool:
    return any(c in (".", path) or path.startswith(c + "/") for c in covers)


def _coverage(covers: Sequence[str], excludes: Sequence[str]) -> Coverage:
    # An exclusion outside every covered path excludes nothing the gate runs on (mypy lists the hostile
    # corpus in case someone points it at tests/ by hand); the contract names only effective ones.
    c = _paths(covers)
    return Coverage(c, tuple(e for e in _paths(excludes) if _within(e, c)))


def gate_coverage(pyproject: Mapping[str, Any], strategy: str = CANONICAL_STRATEGY) -> dict[str, Coverage]:
    """The directories each gate covers and excludes, as the tools' own configuration says.

    pytest's norecursedirs also holds name patterns (``.*``, ``__pycache__``); only entries that are
    paths count as excluded directories here.
    """
    tool = pyproject["tool"]
    ruff = _coverage((".",), tool["ruff"].get("extend-exclude", []))
    pytest_ini = tool["pytest"]["ini_options"]
    return {
        "waivers": Coverage(("ops/waivers.toml",), ()),
        "lint": ruff,
        "format": ruff,
        "types": _coverage(tool["mypy"]["packages"], tool["mypy"].get("exclude", [])),
        "layers": Coverage(_paths(tool["importlinter"]["root_packages"]), ()),
        "tests": _coverage(
            pytest_ini["testpaths"], [d for d in pytest_ini.get("norecursedirs", []) if "/" in d]
        ),
        "preflight": Coverage((strategy,), ()),
    }


# ── waivers ──


class WaiverError(VibeError):
    """ops/waivers.toml cannot be read or breaks the waiver policy."""

    code = "VT920"


class UnknownGateError(WaiverError):
    code = "VT921"


class MissingApproverError(WaiverError):
    code = "VT922"


class ApproverNotAllowedError(WaiverError):
    code = "VT923"


class WaiverExpiredError(WaiverError):
    code = "VT924"


class WaiverTooLongError(WaiverError):
    code = "VT925"


class DuplicateWaiverError(WaiverError):
    code = "VT926"


class VersioningError(VibeError):
    code = "VT927"


class OpenQuestionsError(VibeError):
    code = "VT928"


class Waiver(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    gate: str
    reason: str = ""
    # Empty rather than required, so that a missing approver is its own typed error (VT922).
    approved_by: str = ""
    approved_on: date
    expires: date


class Approvers(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    release_owner: str = ""
    maintainers: tuple[str, ...] = ()

    def allowed(self, role: Role) -> frozenset[str]:
        # The release owner may approve anything a maintainer may.
        owner = {self.release_owner.strip()} - {""}
        if role is Role.RELEASE_OWNER:
            return frozenset(owner)
        return frozenset({m.strip() for m in self.maintainers} | owner)


class WaiverFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    approvers: Approvers = Approvers()
    waiver: tuple[Waiver, ...] = ()


def read_waivers(path: Path) -> WaiverFile:
    """The file parsed and typed, without the policy checks (VT920 on anything unreadable)."""
    where = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise WaiverError(f"cannot read the waiver file: {exc.strerror or exc}", file=where) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise WaiverError(f"not valid TOML: {exc}", file=where) from exc
    # msgspec would also read "2026-12-20" as a date; the file is meant to hold TOML dates only.
    entries = raw.get("waiver", [])
    for i, entry in enumerate(entries if isinstance(entries, list) else [], 1):
        for key in ("approved_on", "expires"):
            value = entry.get(key) if isinstance(entry, dict) else None
            if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
                raise WaiverError(
                    f"waiver {i}: {key} = {value!r} is not a TOML date (write it unquoted: 2026-12-31)",
                    file=where,
                )
    try:
        return msgspec.convert(raw, WaiverFile, strict=True)
    except msgspec.ValidationError as exc:
        raise WaiverError(f"not a waiver file: {exc}", file=where) from exc


def waiver_problems(waivers: WaiverFile, *, today: date, source: str) -> list[WaiverError]:
    """Every way the waivers break the policy on ``today``, in file order (empty when all are in force)."""
    problems: list[WaiverError] = []
    seen: set[str] = set()
    for i, w in enumerate(waivers.waiver, 1):
        label = f"waiver {i} (gate {w.gate!r})"
        gate = WAIVABLE.get(w.gate)
        if gate is None or gate.approver is None:
            known = ", ".join(WAIVABLE)
            problems.append(UnknownGateError(f"{label}: not a waivable gate; known: {known}", file=source))
            continue
        if w.gate in seen:
            problems.append(DuplicateWaiverError(f"{label}: the gate is already waived above", file=source))
        seen.add(w.gate)
        if not w.reason.strip():
            problems.append(WaiverError(f"{label}: no reason given", file=source))
        approver = w.approved_by.strip()
        if not approver:
            problems.append(MissingApproverError(f"{label}: approved_by is missing or empty", file=source))
        elif approver not in waivers.approvers.allowed(gate.approver):
            problems.append(
                ApproverNotAllowedError(
                    f"{label}: {approver!r} may not approve it; the policy needs the {gate.approver.value}"
                    + (" or a maintainer listed in [approvers]" if gate.approver is Role.MAINTAINER else ""),
                    file=source,
                )
            )
        if w.approved_on > today:
            problems.append(
                WaiverTooLongError(
                    f"{label}: approved_on {w.approved_on} is after today ({today})", file=source
                )
            )
        elif (w.expires - w.approved_on).days > gate.max_days:
            problems.append(
                WaiverTooLongError(
                    f"{label}: runs {(w.expires - w.approved_on).days} days "
                    f"({w.approved_on} to {w.expires}); the policy allows at most {gate.max_days}",
                    file=source,
                )
            )
        if w.expires < today:
            problems.append(
                WaiverExpiredError(f"{label}: expired on {w.expires} (today {today})", file=source)
            )
    return problems


def load_waivers(path: Path = WAIVERS_FILE, *, today: date) -> tuple[Waiver, ...]:
    """The waivers in force on ``today``; the first policy breach raises its typed error."""
    waivers = read_waivers(path)
    problems = waiver_problems(waivers, today=today, source=str(path))
    if problems:
        raise problems[0]
    return waivers.waiver


def describe(w: Waiver, *, today: date) -> str:
    left = (w.expires - today).days
    return (
        f"{w.gate} until {w.expires} ({left} day{'s' if left != 1 else ''} left), "
        f"approved by {w.approved_by.strip()} on {w.approved_on}: {w.reason.strip()}"
    )


# ── versioning ──

_HEADING = re.compile(r"^## (.*)$", re.MULTILINE)
_RELEASED = re.compile(r"^\[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$")


class Release(NamedTuple):
    version: str
    day: date


def changelog_releases(text: str) -> list[Release]:
    """The released entries of a Keep a Changelog file, newest first; VT927 on any other form."""
    headings = _HEADING.findall(text)
    if not headings or headings[0] != "[Unreleased]":
        raise VersioningError("CHANGELOG.md must start with a '## [Unreleased]' section", file="CHANGELOG.md")
    releases: list[Release] = []
    for h in headings[1:]:
        m = _RELEASED.match(h)
        if m is None:
            raise VersioningError(
                f"heading '## {h}' is not '## [X.Y.Z] - YYYY-MM-DD' (Keep a Changelog)", file="CHANGELOG.md"
            )
        try:
            day = date.fromisoformat(m.group(2))
        except ValueError as exc:
            raise VersioningError(f"heading '## {h}': {exc}", file="CHANGELOG.md") from exc
        releases.append(Release(m.group(1), day))
    for newer, older in itertools.pairwise(releases):
        key_new = tuple(int(p) for p in newer.version.split("."))
        key_old = tuple(int(p) for p in older.version.split("."))
        if key_new <= key_old or newer.day < older.day:
            raise VersioningError(
                f"[{newer.version}] - {newer.day} is listed above [{older.version}] - {older.day}; "
                "entries go newest first",
                file="CHANGELOG.md",
            )
    return releases


def check_versioning(version: str, changelog: str, *, releasing: bool) -> Release | None:
    """The version in pyproject.toml equals the top released CHANGELOG entry.

    Before a first release there is no released entry and nothing to compare; ``releasing=True`` (the
    release checklist) requires the entry to exist.
    """
    releases = changelog_releases(changelog)
    if not releases:
        if releasing:
            raise VersioningError(
                f"no released entry in CHANGELOG.md; add '## [{version}] - YYYY-MM-DD' below [Unreleased]",
                file="CHANGELOG.md",
            )
        return None
    if releases[0].version != version:
        raise VersioningError(
            f"pyproject.toml says {version}, the top released CHANGELOG entry is {releases[0].version}",
            file="CHANGELOG.md",
        )
    return releases[0]


# ── open blocking questions ──

_QUESTION = re.compile(r"^## (Q\d+): (.+)$")
_FIELD = re.compile(r"^(status|issue): (.*)$")


class Question(NamedTuple):
    ident: str
    title: str
    status: str
    issue: str


def open_questions(text: str) -> list[Question]:
    """Every question of ops/open-questions.md, in file order; VT928 when the form is broken."""
    questions: list[Question] = []
    current: dict[str, str] | None = None

    def close() -> None:
        if current is None:
            return
        label = f"{current['ident']} ({current['title']})"
        if current.get("status") not in ("open", "closed"):
            raise OpenQuestionsError(
                f"{label}: needs 'status: open' or 'status: closed'", file="ops/open-questions.md"
            )
        if not current.get("issue", "").strip():
            raise OpenQuestionsError(f"{label}: needs an 'issue:' line", file="ops/open-questions.md")
        questions.append(Question(current["ident"], current["title"], current["status"], current["issue"]))

    for line in text.splitlines():
        if line.startswith("## "):
            close()
            m = _QUESTION.match(line)
            if m is None:
                raise OpenQuestionsError(
                    f"heading {line!r} is not '## Qn: title'", file="ops/open-questions.md"
                )
            if any(q.ident == m.group(1) for q in questions):
                raise OpenQuestionsError(f"{m.group(1)} appears twice", file="ops/open-questions.md")
            current = {"ident": m.group(1), "title": m.group(2).strip()}
        elif current is not None and (f := _FIELD.match(line)) is not None and f.group(1) not in current:
            current[f.group(1)] = f.group(2).strip()
    close()
    return questions


# ── command line ──


def _today(text: str | None) -> date:
    return date.fromisoformat(text) if text else datetime.now(UTC).date()


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def _print_problem(exc: VibeError) -> None:
    print(f"waivers: {exc}", file=sys.stderr)
    print(f"  hint: {exc.hint}", file=sys.stderr)


def _cmd_waivers(args: argparse.Namespace) -> int:
    path: Path = args.file
    today = _today(args.today)
    shown = _shown(path)
    try:
        waivers = read_waivers(path)
    except WaiverError as exc:
        _print_problem(exc)
        return 1
    problems = waiver_problems(waivers, today=today, source=shown)
    for p in problems:
        _print_problem(p)
    if problems:
        print(f"waivers: {len(problems)} problem(s) in {shown}; no waiver applies", file=sys.stderr)
        return 1
    if not waivers.waiver:
        print(f"waivers: none in force ({shown})")
    else:
        print(f"waivers: {len(waivers.waiver)} in force ({shown})")
        for w in waivers.waiver:
            print(f"  {describe(w, today=today)}")
    return 0


def _cmd_waived(args: argparse.Namespace) -> int:
    """Exit 0 when the gate has a waiver in force, so that its failure does not stop the run."""
    path: Path = args.file
    today = _today(args.today)
    try:
        waivers = load_waivers(path, today=today)
    except WaiverError as exc:
        _print_problem(exc)
        print(f"gate {args.gate}: the waiver file is broken, so no waiver applies", file=sys.stderr)
        return 1
    for w in waivers:
        if w.gate == args.gate:
            print(f"gate WAIVED: {describe(w, today=today)}", file=sys.stderr)
            return 0
    print(f"gate {args.gate}: no waiver in force ({_shown(path)})", file=sys.stderr)
    return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m daemon.readiness", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_w = sub.add_parser("waivers", help="check ops/waivers.toml and print the waivers in force")
    p_d = sub.add_parser("waived", help="exit 0 when GATE has a waiver in force (used by a failing gate)")
    p_d.add_argument("gate", choices=list(GATES_BY_NAME))
    for p in (p_w, p_d):
        p.add_argument("--file", type=Path, default=WAIVERS_FILE, help="waiver file")
        p.add_argument("--today", metavar="YYYY-MM-DD", help="the day to check against (default: today, UTC)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.today:
        try:
            date.fromisoformat(args.today)
        except ValueError:
            print(
                f"python -m daemon.readiness: error: --today {args.today!r} is not YYYY-MM-DD",
                file=sys.stderr,
            )
            return 2
    if args.command == "waivers":
        return _cmd_waivers(args)
    return _cmd_waived(args)


if __name__ == "__main__":
    sys.exit(main())
