"""The release sign-off and the release checklist's dry run (ops/RELEASE.md, docs/readiness.md).

``vibetrading release check`` reads an evidence bundle (``make evidence``), checks its manifest, and
writes ``signoff.json`` and ``signoff.md``: Ready only when nothing at all stands in the way, else Not
Ready with one line per reason. The reasons come from the bundle (gates, determinism), from the tree
(open questions, capability cells still planned, versioning) and from the people (the release owner
named in ``[approvers] release_owner`` of ops/waivers.toml, the one place the name is kept, signs).

The output depends only on its inputs: reasons are sorted, paths are the bundle's own name, and the
only date is the signing day (``--today``, else today UTC), so a re-run gives the same files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Final, NamedTuple

from adapters.capabilities import MATRIX, Capability, Cell, Mode, Support
from daemon import readiness
from daemon.readiness import (
    GATES,
    GATES_BY_NAME,
    VersioningError,
    Waiver,
    WaiverError,
    changelog_releases,
    check_versioning,
    open_questions,
    read_waivers,
    waiver_problems,
)
from engines.errors import VibeError

REPO: Final = readiness.REPO
UV_LOCK: Final = REPO / "uv.lock"
SIGNOFF_JSON: Final = "signoff.json"
SIGNOFF_MD: Final = "signoff.md"
MANIFEST: Final = "manifest.json"
# Files a bundle may hold outside its manifest: the manifest itself, the sign-off written next to it,
# and the timings, which differ on every run and are kept out so that two runs give one manifest.
UNLISTED_OK: Final = frozenset({MANIFEST, SIGNOFF_JSON, SIGNOFF_MD, "timings.json"})
GIT_TIMEOUT_S: Final = 10.0
MAKE_TIMEOUT_S: Final = 30.0

READY: Final = "Ready"
NOT_READY: Final = "Not Ready"


class EvidenceNotFoundError(VibeError):
    code = "VT940"


class DryRunStepError(VibeError):
    code = "VT950"


class Reason(NamedTuple):
    code: str
    text: str

    def line(self) -> str:
        return f"{self.code} {self.text}"


class Inputs(NamedTuple):
    """Everything the sign-off reads besides the bundle, so that tests can build it."""

    version: str
    # Full HEAD sha; None outside a git checkout.
    head: str | None
    changelog: str
    waivers_file: Path
    questions_file: Path
    matrix: Mapping[tuple[str, Capability, Mode], Cell]


def _git(*args: str) -> str | None:
    # Fixed argument lists; git and make are found on PATH as an operator would run them.
    try:
        done = subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def project_version(pyproject: Path = readiness.PYPROJECT) -> str:
    return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])


def repo_inputs() -> Inputs:
    return Inputs(
        version=project_version(),
        head=_git("rev-parse", "HEAD"),
        changelog=readiness.CHANGELOG.read_text(encoding="utf-8"),
        waivers_file=readiness.WAIVERS_FILE,
        questions_file=readiness.OPEN_QUESTIONS,
        matrix=MATRIX,
    )


def bundle_name(version: str, short_sha: str | None) -> str:
    return f"{version}-{short_sha or 'nogit'}"


def find_bundle(inputs: Inputs, root: Path = readiness.EVIDENCE_DIR) -> tuple[str, Path | None]:
    """The bundle for this version and HEAD (a clean one before a dirty one), and the name looked for."""
    short = _git("rev-parse", "--short", "HEAD") if inputs.head else None
    name = bundle_name(inputs.version, short)
    for candidate in (root / name, root / f"{name}-dirty"):
        if candidate.is_dir():
            return name, candidate
    return name, None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def _read_json(bundle: Path, name: str, reasons: list[Reason]) -> Any:
    path = bundle / name
    if not path.is_file():
        reasons.append(Reason("VT942", f"the evidence has no {name}"))
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reasons.append(Reason("VT942", f"{name} in the evidence is not readable JSON: {exc}"))
        return None


def manifest_reasons(bundle: Path) -> list[Reason]:
    """Every file of the manifest present with its sha256, and no file outside it."""
    reasons: list[Reason] = []
    raw = _read_json(bundle, MANIFEST, reasons)
    if raw is None:
        return reasons
    files = raw.get("files") if isinstance(raw, dict) else None
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        return [Reason("VT942", f'{MANIFEST} is not {{"files": {{"path": "sha256"}}}}')]
    for rel, digest in files.items():
        pure = PurePosixPath(rel)
        if pure.is_absolute() or ".." in pure.parts or not pure.parts:
            reasons.append(Reason("VT941", f"the manifest names {rel!r}, a path outside the bundle"))
            continue
        path = bundle / pure
        if not path.is_file():
            reasons.append(Reason("VT941", f"the manifest lists {rel} but the bundle has no such file"))
        elif sha256_file(path) != digest.lower():
            reasons.append(Reason("VT941", f"{rel} does not match its sha256 in the manifest"))
    for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
        rel = path.relative_to(bundle).as_posix()
        if rel not in files and rel not in UNLISTED_OK:
            reasons.append(Reason("VT941", f"{rel} is in the bundle but not in the manifest"))
    return reasons


def _commit_matches(recorded: str, head: str | None) -> bool:
    sha = recorded.removesuffix("-dirty").lower()
    return head is not None and len(sha) >= 7 and head.lower().startswith(sha)


class Gates(NamedTuple):
    failed: tuple[str, ...]
    reasons: tuple[Reason, ...]


def gate_results(bundle: Path, inputs: Inputs) -> tuple[Gates, str | None]:
    """The gates the bundle records as failed (waivers decide later), and the commit it names."""
    reasons: list[Reason] = []
    raw = _read_json(bundle, "gates.json", reasons)
    if raw is None:
        return Gates((), tuple(reasons)), None
    entries = raw.get("gates") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return Gates((), (Reason("VT942", 'gates.json has no "gates" list'),)), None
    version, commit = raw.get("version"), raw.get("commit")
    if version != inputs.version:
        reasons.append(
            Reason("VT943", f"the evidence is for version {version!r}, pyproject.toml says {inputs.version}")
        )
    if not isinstance(commit, str) or not _commit_matches(commit, inputs.head):
        head = inputs.head[:12] if inputs.head else "no git checkout"
        reasons.append(Reason("VT943", f"the evidence is for commit {commit!r}, HEAD is {head}"))
    if bundle.name.endswith("-dirty") or (isinstance(commit, str) and commit.endswith("-dirty")):
        reasons.append(Reason("VT943", "the evidence was made from a working tree with uncommitted changes"))
    status = {e.get("gate"): e for e in entries}
    failed: list[str] = []
    for gate in GATES:
        entry = status.get(gate.name)
        if entry is None:
            reasons.append(Reason("VT944", f"gate {gate.name} has no result in the evidence"))
        elif entry.get("status") != "pass":
            failed.append(gate.name)
    return Gates(tuple(failed), tuple(reasons)), commit if isinstance(commit, str) else None


def determinism_reasons(bundle: Path) -> list[Reason]:
    reasons: list[Reason] = []
    raw = _read_json(bundle, "determinism.json", reasons)
    if raw is not None and not (isinstance(raw, dict) and raw.get("equal") is True):
        reasons.append(Reason("VT945", "determinism: the evidence's runs do not give equal digests"))
    return reasons


def question_reasons(path: Path) -> list[Reason]:
    try:
        questions = open_questions(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return [Reason("VT928", f"cannot read {path.name}: {exc.strerror or exc}")]
    except VibeError as exc:
        return [Reason(exc.code, exc.message)]
    return [
        Reason("VT946", f"open question {q.ident}: {q.title} (issue {q.issue}, ops/open-questions.md)")
        for q in questions
        if q.status == "open"
    ]


def capability_reasons(matrix: Mapping[tuple[str, Capability, Mode], Cell]) -> list[Reason]:
    """One line per venue × mode with planned capabilities, so that the list stays readable."""
    grouped: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for (venue, capability, mode), cell in matrix.items():
        if cell.support is Support.PLANNED:
            grouped.setdefault((venue, mode.value), []).append((capability.value, cell.note))
    reasons = []
    for (venue, mode_name), cells in grouped.items():
        caps = ", ".join(sorted(c for c, _ in cells))
        notes = "; ".join(sorted({n for _, n in cells if n}))
        reasons.append(Reason("VT947", f"capability planned: {venue} × {mode_name} ({caps}): {notes}"))
    return reasons


class SignOff(NamedTuple):
    verdict: str
    version: str
    commit: str | None
    evidence: str | None
    manifest_sha256: str | None
    reasons: tuple[Reason, ...]
    waivers: tuple[Waiver, ...]
    waived_failures: tuple[str, ...]
    release_owner: str
    signed_by: str | None
    day: date

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "ready": self.verdict == READY,
            "version": self.version,
            "commit": self.commit,
            "evidence": self.evidence,
            "manifest_sha256": self.manifest_sha256,
            "reasons": [{"code": r.code, "text": r.text} for r in self.reasons],
            "waivers_in_force": [
                {
                    "gate": w.gate,
                    "reason": w.reason.strip(),
                    "approved_by": w.approved_by.strip(),
                    "approved_on": w.approved_on.isoformat(),
                    "expires": w.expires.isoformat(),
                    "covers_a_failed_gate": w.gate in self.waived_failures,
                }
                for w in self.waivers
            ],
            "release_owner": self.release_owner or None,
            "signed_by": self.signed_by,
            "date": self.day.isoformat(),
        }

    def markdown(self) -> str:
        n = len(self.reasons)
        lines = [
            f"# Release sign-off: VibeTrading {self.version}",
            "",
            f"**{self.verdict}**" + (f": {n} reason{'s' if n != 1 else ''}" if n else ""),
            "",
            f"- version: {self.version}",
            f"- commit: {self.commit or 'unknown'}",
            f"- evidence: {self.evidence or 'none'}"
            + (f" (manifest sha256 {self.manifest_sha256})" if self.manifest_sha256 else ""),
            f"- release owner: {self.release_owner or 'none named'}",
            f"- signed by: {self.signed_by or 'not signed'}",
            f"- date: {self.day.isoformat()}",
            "",
            "## Reasons",
            "",
        ]
        lines += [f"- {r.line()}" for r in self.reasons] or ["none"]
        lines += ["", "## Waivers in force", ""]
        lines += [
            f"- {w.gate} until {w.expires}, approved by {w.approved_by.strip()} on {w.approved_on}"
            + (" (covers this bundle's failed gate)" if w.gate in self.waived_failures else "")
            + f": {w.reason.strip()}"
            for w in self.waivers
        ] or ["none"]
        lines += ["", "Hints for each code are in docs/errors.md.", ""]
        return "\n".join(lines)


def sign_off(
    bundle: Path | None, inputs: Inputs, *, signer: str | None, today: date, looked_for: str = ""
) -> SignOff:
    reasons: list[Reason] = []
    commit: str | None = None
    manifest_sha: str | None = None
    failed: tuple[str, ...] = ()
    if bundle is None:
        reasons.append(Reason("VT940", f"no evidence bundle for {looked_for}; run make evidence"))
    else:
        reasons += manifest_reasons(bundle)
        if (bundle / MANIFEST).is_file():
            manifest_sha = sha256_file(bundle / MANIFEST)
        gates, commit = gate_results(bundle, inputs)
        reasons += gates.reasons
        failed = gates.failed
        reasons += determinism_reasons(bundle)

    in_force: tuple[Waiver, ...] = ()
    owner = ""
    try:
        waiver_file = read_waivers(inputs.waivers_file)
    except WaiverError as exc:
        reasons.append(Reason(exc.code, f"{exc.message} ({inputs.waivers_file.name}); no waiver applies"))
    else:
        owner = waiver_file.approvers.release_owner.strip()
        problems = waiver_problems(waiver_file, today=today, source=inputs.waivers_file.name)
        reasons += [Reason(p.code, f"{p.message}; no waiver applies") for p in problems]
        if not problems:
            in_force = waiver_file.waiver
    waived = {w.gate for w in in_force}
    for name in failed:
        if name not in waived:
            gate = GATES_BY_NAME[name]
            reasons.append(
                Reason(
                    "VT944", f"gate {name} failed (gates/{name}.txt); reproduce with: make {gate.make_target}"
                )
            )

    reasons += question_reasons(inputs.questions_file)
    reasons += capability_reasons(inputs.matrix)
    try:
        check_versioning(inputs.version, inputs.changelog, releasing=True)
    except VersioningError as exc:
        reasons.append(Reason(exc.code, exc.message))

    signed_by: str | None = None
    if not owner:
        reasons.append(
            Reason("VT948", "no release owner named ([approvers] release_owner in ops/waivers.toml)")
        )
    elif signer is None:
        reasons.append(Reason("VT948", f"not signed: the release owner ({owner}) signs with --signer"))
    elif signer.strip() != owner:
        reasons.append(
            Reason("VT949", f"{signer.strip()!r} is not the release owner ({owner}); only they sign")
        )
    else:
        signed_by = owner

    ordered = tuple(sorted(set(reasons)))
    return SignOff(
        verdict=NOT_READY if ordered else READY,
        version=inputs.version,
        commit=commit or (inputs.head[:12] if inputs.head else None),
        evidence=bundle.name if bundle is not None else None,
        manifest_sha256=manifest_sha,
        reasons=ordered,
        waivers=in_force,
        waived_failures=tuple(sorted(set(failed) & waived)),
        release_owner=owner,
        signed_by=signed_by,
        day=today,
    )


def write_signoff(signoff: SignOff, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    as_json, as_md = out / SIGNOFF_JSON, out / SIGNOFF_MD
    as_json.write_text(json.dumps(signoff.as_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    as_md.write_text(signoff.markdown(), encoding="utf-8")
    return as_json, as_md


def _locate(evidence: Path | None, inputs: Inputs) -> tuple[str, Path | None]:
    if evidence is None:
        return find_bundle(inputs)
    if not evidence.is_dir():
        raise EvidenceNotFoundError(f"--evidence {evidence}: not a directory", file=str(evidence))
    return evidence.name, evidence


def _parse_today(text: str | None) -> date:
    if not text:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--today {text!r} is not YYYY-MM-DD") from None


def check(
    evidence: Path | None, out: Path | None, signer: str | None, today: date, inputs: Inputs | None = None
) -> tuple[SignOff, Path]:
    """Sign off the bundle and write both files: into ``out``, else the bundle, else evidence/."""
    inputs = inputs or repo_inputs()
    name, bundle = _locate(evidence, inputs)
    signoff = sign_off(bundle, inputs, signer=signer, today=today, looked_for=name)
    target = out or bundle or readiness.EVIDENCE_DIR
    write_signoff(signoff, target)
    return signoff, target


def cmd_check(args: argparse.Namespace) -> int:
    """``vibetrading release check``: exit 0 Ready, 1 Not Ready, 2 usage."""
    try:
        today = _parse_today(args.today)
    except ValueError as exc:
        print(f"vibetrading release check: error: {exc}", file=sys.stderr)
        return 2
    try:
        signoff, target = check(args.evidence, args.out, args.signer, today)
    except EvidenceNotFoundError as exc:
        print(f"vibetrading release check: error: {exc}", file=sys.stderr)
        return 2
    print(f"release check: {signoff.verdict} ({len(signoff.reasons)} reasons)")
    for r in signoff.reasons:
        print(f"  {r.line()}")
    for w in signoff.waivers:
        print(f"  waiver in force: {w.gate} until {w.expires} ({w.approved_by.strip()})")
    print(f"wrote {target / SIGNOFF_JSON} and {target / SIGNOFF_MD}")
    return 0 if signoff.verdict == READY else 1


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--evidence", type=Path, default=None, help="bundle to sign (default: evidence/<version>-<HEAD sha>)"
    )
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: the bundle)")
    parser.add_argument(
        "--signer", default=None, help="the release owner signing ([approvers] release_owner)"
    )
    parser.add_argument(
        "--today", metavar="YYYY-MM-DD", default=None, help="signing day (default: today, UTC)"
    )


# ── release notes and the dry run ──

_SECTION = re.compile(r"^## \[([^\]]+)\].*$", re.MULTILINE)


def changelog_section(changelog: str, label: str) -> str:
    """The body under ``## [label]`` (``Unreleased`` or a version), stripped; empty when absent."""
    matches = list(_SECTION.finditer(changelog))
    for i, m in enumerate(matches):
        if m.group(1) == label:
            end = matches[i + 1].start() if i + 1 < len(matches) else len(changelog)
            return changelog[m.end() : end].strip()
    return ""


def release_notes(inputs: Inputs, bundle: Path | None, lock: Path = UV_LOCK) -> str:
    released = any(r.version == inputs.version for r in changelog_releases(inputs.changelog))
    body = changelog_section(inputs.changelog, inputs.version if released else "Unreleased")
    manifest = bundle / MANIFEST if bundle is not None else None
    lines = [
        f"# VibeTrading {inputs.version}",
        "",
        body or "(no changelog entry)",
        "",
        "## Provenance",
        "",
        f"- commit: {inputs.head or 'unknown'}",
        f"- uv.lock sha256: {sha256_file(lock) if lock.is_file() else 'missing'}",
        f"- evidence bundle: {bundle.name if bundle is not None else 'none (run make evidence)'}",
        "- evidence manifest.json sha256: "
        + (sha256_file(manifest) if manifest is not None and manifest.is_file() else "missing"),
    ]
    if bundle is not None and (bundle / SIGNOFF_JSON).is_file():
        signed = json.loads((bundle / SIGNOFF_JSON).read_text(encoding="utf-8"))
        lines.append(
            f"- sign-off: {signed.get('verdict')}, signed by {signed.get('signed_by') or 'nobody'} "
            f"on {signed.get('date')}"
        )
    return "\n".join(lines) + "\n"


def _make_has(target: str) -> str | None:
    """None when ``make -n target`` works (the target exists and its recipe parses), else why not."""
    if shutil.which("make") is None:
        return "make is not installed"
    try:
        done = subprocess.run(  # noqa: S603
            ["make", "-n", "--no-print-directory", target],  # noqa: S607
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=MAKE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"make -n {target} took over {MAKE_TIMEOUT_S:.0f} s"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"make -n {target} fails: {last}"
    return None


def dry_run(today: date, out: Any = sys.stdout) -> int:
    """Walk ops/RELEASE.md: each step checked as performable, nothing tagged, published or written."""
    inputs = repo_inputs()
    version = inputs.version
    tag = f"v{version}"

    def step(n: int, name: str, ok: str) -> None:
        print(f"step {n}/6 {name}: ok: {ok}", file=out)

    try:
        # 1. versioning: consistent now, and either released already or an [Unreleased] to promote.
        try:
            top = check_versioning(version, inputs.changelog, releasing=False)
        except VersioningError as exc:
            raise DryRunStepError(f"step 1/6 versioning: {exc.message}") from None
        if top is not None:
            what = f"[{top.version}] - {top.day} is the top released entry"
        elif not re.search(r"^- ", changelog_section(inputs.changelog, "Unreleased"), re.MULTILINE):
            raise DryRunStepError("step 1/6 versioning: [Unreleased] is empty; there is nothing to release")
        else:
            what = f"[Unreleased] is promoted to '## [{version}] - {today}' at release"
        if inputs.head is None:
            raise DryRunStepError("step 1/6 versioning: not a git checkout (git rev-parse HEAD fails)")
        if _git("tag", "--list", tag):
            raise DryRunStepError(f"step 1/6 versioning: tag {tag} already exists; bump the version")
        step(1, "versioning", f"pyproject.toml {version}; {what}; tag {tag} is free")
        # 2, 3. the gates and the evidence: their make targets exist (run for real, they take minutes).
        for n, target in ((2, "test"), (3, "evidence")):
            problem = _make_has(target)
            if problem is not None:
                raise DryRunStepError(f"step {n}/6 make {target}: {problem}")
            step(n, f"make {target}", f"the target exists (make -n {target})")
        # 4. the sign-off: computed in memory; Not Ready is reported, not a failure of the dry run.
        from daemon.cli import COMMANDS  # noqa: PLC0415 (daemon.cli imports this module)

        if "release" not in COMMANDS:
            raise DryRunStepError("step 4/6 release check: vibetrading has no release command")
        name, bundle = find_bundle(inputs)
        signoff = sign_off(bundle, inputs, signer=None, today=today, looked_for=name)
        step(
            4, "release check", f"the sign-off today says {signoff.verdict} ({len(signoff.reasons)} reasons):"
        )
        for r in signoff.reasons:
            print(f"    {r.line()}", file=out)
        # 5. the tag: nothing is tagged; the command is the one the checklist runs.
        if shutil.which("git") is None:
            raise DryRunStepError("step 5/6 tag: git is not installed")
        step(5, "tag", f"would run: git tag -a {tag} -m 'VibeTrading {version}' {inputs.head[:12]}")
        # 6. release notes with provenance.
        if not UV_LOCK.is_file():
            raise DryRunStepError("step 6/6 release notes: uv.lock is missing")
        notes = release_notes(inputs, bundle)
        step(6, "release notes", f"{len(notes.splitlines())} lines; uv.lock sha256 {sha256_file(UV_LOCK)}")
    except DryRunStepError as exc:
        print(f"release-dry-run FAILED at {exc.message}", file=sys.stderr)
        return 1
    print(f"release-dry-run: every step can be performed; the sign-off says {signoff.verdict}", file=out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m daemon.release", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    add_check_arguments(
        sub.add_parser("check", help="write signoff.json and signoff.md (vibetrading release check)")
    )
    p_dry = sub.add_parser("dry-run", help="walk ops/RELEASE.md without tagging or publishing")
    p_dry.add_argument("--today", metavar="YYYY-MM-DD", default=None, help="default: today, UTC")
    p_notes = sub.add_parser("notes", help="print the release notes with provenance")
    p_notes.add_argument("--evidence", type=Path, default=None, help="default: evidence/<version>-<HEAD sha>")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check":
        return cmd_check(args)
    if args.command == "dry-run":
        try:
            today = _parse_today(args.today)
        except ValueError as exc:
            print(f"python -m daemon.release: error: {exc}", file=sys.stderr)
            return 2
        return dry_run(today)
    inputs = repo_inputs()
    try:
        _, bundle = _locate(args.evidence, inputs)
    except EvidenceNotFoundError as exc:
        print(f"python -m daemon.release: error: {exc}", file=sys.stderr)
        return 2
    if bundle is None or not (bundle / MANIFEST).is_file():
        print(
            "python -m daemon.release notes: no complete evidence bundle; run make evidence", file=sys.stderr
        )
        return 1
    print(release_notes(inputs, bundle), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
