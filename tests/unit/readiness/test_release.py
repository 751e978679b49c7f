"""The release sign-off (daemon/release.py): Ready only when nothing stands in the way, one reason per
obstacle otherwise, a tampered bundle caught, the same files for the same inputs, and the CLI's exit codes.

Bundles are built here in tmp dirs with the layout ``make evidence`` writes; no test runs the gates.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from adapters.capabilities import MATRIX, Capability, Cell, Mode, Support
from daemon import cli, release
from daemon.readiness import GATES, REPO
from daemon.release import NOT_READY, READY, Inputs, sign_off

TODAY = date(2026, 12, 5)
HEAD = "0123456789abcdef0123456789abcdef01234567"
OWNER = "R. Owner"
CHANGELOG = "# Changelog\n\n## [Unreleased]\n\n## [0.1.0] - 2026-12-04\n\n### Added\n\n- everything\n"
QUESTIONS = "# Open blocking questions\n\n## Q1: Done\n\nstatus: closed\nissue: 1\n"
IMPLEMENTED = {k: Cell(Support.IMPLEMENTED, "ok") for k in MATRIX}


def write_bundle(
    root: Path, *, failed: tuple[str, ...] = (), equal: bool = True, commit: str = HEAD[:7]
) -> Path:
    bundle = root / f"0.1.0-{commit}"
    (bundle / "gates").mkdir(parents=True)
    gates = []
    for g in GATES:
        (bundle / "gates" / f"{g.name}.txt").write_text(f"{g.name} output\n")
        status = "fail" if g.name in failed else "pass"
        gates.append(
            {"gate": g.name, "status": status, "command": g.command, "output": f"gates/{g.name}.txt"}
        )
    files = {
        "gates.json": {"version": "0.1.0", "commit": commit, "gates": gates},
        "determinism.json": {"equal": equal},
        "capabilities.json": {},
        "chaos.json": {"present": False},
    }
    for name, doc in files.items():
        (bundle / name).write_text(json.dumps(doc, sort_keys=True))
    (bundle / "timings.json").write_text('{"wall_s": 12.5}')
    manifest = {
        p.relative_to(bundle).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(bundle.rglob("*"))
        if p.is_file() and p.name != "timings.json"
    }
    (bundle / "manifest.json").write_text(json.dumps({"files": manifest}, sort_keys=True))
    return bundle


def waivers_toml(owner: str = OWNER, waivers: str = "") -> str:
    return f'[approvers]\nrelease_owner = "{owner}"\nmaintainers = ["A. Maint"]\n\n{waivers}'


def inputs(tmp_path: Path, *, waivers: str | None = None, questions: str = QUESTIONS, **kw: object) -> Inputs:
    (tmp_path / "waivers.toml").write_text(waivers if waivers is not None else waivers_toml())
    (tmp_path / "questions.md").write_text(questions)
    base = Inputs(
        version="0.1.0",
        head=HEAD,
        changelog=CHANGELOG,
        waivers_file=tmp_path / "waivers.toml",
        questions_file=tmp_path / "questions.md",
        matrix=IMPLEMENTED,
    )
    return base._replace(**kw)


def codes(tmp_path: Path, bundle: Path | None, ins: Inputs, signer: str | None = OWNER) -> list[str]:
    return [r.code for r in sign_off(bundle, ins, signer=signer, today=TODAY, looked_for="x").reasons]


def test_a_complete_clean_bundle_signed_by_the_owner_is_ready(tmp_path: Path) -> None:
    s = sign_off(write_bundle(tmp_path / "ev"), inputs(tmp_path), signer=OWNER, today=TODAY)
    assert s.verdict == READY and s.reasons == ()
    doc = s.as_json()
    assert doc["signed_by"] == OWNER and doc["date"] == "2026-12-05" and doc["ready"] is True
    assert doc["manifest_sha256"] is not None and doc["evidence"] == "0.1.0-0123456"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"failed": ("tests",)}, "VT944"),
        ({"equal": False}, "VT945"),
        ({"commit": "fedcba9"}, "VT943"),
    ],
)
def test_each_bundle_problem_makes_it_not_ready(tmp_path: Path, change: dict[str, object], code: str) -> None:
    bundle = write_bundle(tmp_path / "ev", **change)  # type: ignore[arg-type]
    assert codes(tmp_path, bundle, inputs(tmp_path)) == [code]


def test_no_bundle_is_a_reason_naming_what_to_run(tmp_path: Path) -> None:
    s = sign_off(None, inputs(tmp_path), signer=OWNER, today=TODAY, looked_for="0.1.0-0123456")
    assert s.verdict == NOT_READY
    assert [r.line() for r in s.reasons] == ["VT940 no evidence bundle for 0.1.0-0123456; run make evidence"]


def test_a_gate_missing_from_the_evidence_is_a_reason(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "ev")
    doc = json.loads((bundle / "gates.json").read_text())
    doc["gates"] = [g for g in doc["gates"] if g["gate"] != "types"]
    (bundle / "gates.json").write_text(json.dumps(doc))
    reasons = sign_off(bundle, inputs(tmp_path), signer=OWNER, today=TODAY).reasons
    texts = [r.text for r in reasons]
    assert "gate types has no result in the evidence" in texts
    assert "gates.json does not match its sha256 in the manifest" in texts


def test_a_waiver_in_force_covers_its_failed_gate_and_is_listed_apart(tmp_path: Path) -> None:
    waiver = (
        '[[waiver]]\ngate = "types"\nreason = "mypy bug, issue 99"\napproved_by = "A. Maint"\n'
        "approved_on = 2026-12-01\nexpires = 2026-12-20\n"
    )
    ins = inputs(tmp_path, waivers=waivers_toml(waivers=waiver))
    s = sign_off(write_bundle(tmp_path / "ev", failed=("types",)), ins, signer=OWNER, today=TODAY)
    assert s.verdict == READY
    assert s.as_json()["waivers_in_force"][0]["covers_a_failed_gate"] is True
    assert "## Waivers in force\n\n- types until 2026-12-20" in s.markdown()
    # the same waiver on the day after it expires: a reason, and it no longer covers the gate
    late = sign_off(
        write_bundle(tmp_path / "ev2", failed=("types",)), ins, signer=OWNER, today=date(2026, 12, 21)
    )
    assert [r.code for r in late.reasons] == ["VT924", "VT944"] and late.waivers == ()


def test_an_unreadable_waiver_file_is_a_reason(tmp_path: Path) -> None:
    ins = inputs(tmp_path, waivers="[approvers\n")
    assert codes(tmp_path, write_bundle(tmp_path / "ev"), ins) == ["VT920", "VT948"]


def test_open_questions_planned_cells_and_versioning_are_reasons(tmp_path: Path) -> None:
    planned = dict(IMPLEMENTED)
    for cap in Capability:
        planned[("kis", cap, Mode.LIVE)] = Cell(Support.PLANNED, "KIS REST")
    ins = inputs(
        tmp_path,
        questions=QUESTIONS + "\n## Q2: Open one\n\nstatus: open\nissue: 7\n",
        matrix=planned,
        changelog="# Changelog\n\n## [Unreleased]\n\n- x\n",
    )
    s = sign_off(write_bundle(tmp_path / "ev"), ins, signer=OWNER, today=TODAY)
    assert [r.line() for r in s.reasons] == [
        "VT927 no released entry in CHANGELOG.md; add '## [0.1.0] - YYYY-MM-DD' below [Unreleased]",
        "VT946 open question Q2: Open one (issue 7, ops/open-questions.md)",
        # one line per venue × mode, not one per capability
        "VT947 capability planned: kis × live (cancel, fill_stream, status, submit): KIS REST",
    ]


@pytest.mark.parametrize(
    ("owner", "signer", "expected"),
    [("", OWNER, ["VT948"]), (OWNER, None, ["VT948"]), (OWNER, "Somebody Else", ["VT949"])],
)
def test_the_release_owner_must_sign(
    tmp_path: Path, owner: str, signer: str | None, expected: list[str]
) -> None:
    ins = inputs(tmp_path, waivers=waivers_toml(owner=owner))
    assert codes(tmp_path, write_bundle(tmp_path / "ev"), ins, signer=signer) == expected


@pytest.mark.parametrize("tamper", ["edit", "delete", "add"])
def test_manifest_tampering_is_detected(tmp_path: Path, tamper: str) -> None:
    bundle = write_bundle(tmp_path / "ev")
    if tamper == "edit":
        (bundle / "gates" / "tests.txt").write_text("all good, trust me\n")
    elif tamper == "delete":
        (bundle / "chaos.json").unlink()
    else:
        (bundle / "extra.json").write_text("{}")
    reasons = sign_off(bundle, inputs(tmp_path), signer=OWNER, today=TODAY).reasons
    assert [r.code for r in reasons] == ["VT941"]


def test_a_manifest_path_outside_the_bundle_is_refused(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "ev")
    (bundle / "manifest.json").write_text(json.dumps({"files": {"../waivers.toml": "0" * 64}}))
    texts = [r.text for r in sign_off(bundle, inputs(tmp_path), signer=OWNER, today=TODAY).reasons]
    assert "the manifest names '../waivers.toml', a path outside the bundle" in texts


def test_the_signoff_files_are_the_same_for_the_same_inputs(tmp_path: Path) -> None:
    outputs = []
    for run in ("a", "b"):
        bundle = write_bundle(tmp_path / run, failed=("lint", "tests"), equal=False)
        s = sign_off(bundle, inputs(tmp_path, matrix=MATRIX), signer=None, today=TODAY)
        out = tmp_path / f"out-{run}"
        release.write_signoff(s, out)
        outputs.append(((out / "signoff.json").read_bytes(), (out / "signoff.md").read_bytes()))
    assert outputs[0] == outputs[1]
    doc = json.loads(outputs[0][0])
    assert doc["verdict"] == NOT_READY
    assert [r["code"] for r in doc["reasons"]] == sorted(r["code"] for r in doc["reasons"])


# ── the command line ──


def short_head() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_release_check_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ins = inputs(
        tmp_path,
        head=subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip(),
    )
    monkeypatch.setattr(release, "repo_inputs", lambda: ins)
    bundle = write_bundle(tmp_path / "ev", commit=short_head())
    args = ["release", "check", "--evidence", str(bundle), "--today", "2026-12-05"]
    assert cli.main([*args, "--signer", OWNER]) == 0
    assert json.loads((bundle / "signoff.json").read_text())["verdict"] == READY
    # the sign-off written into the bundle is outside the manifest and does not break it
    assert cli.main([*args, "--signer", OWNER, "--out", str(tmp_path / "o")]) == 0
    assert cli.main(args) == 1
    assert "not signed" in (bundle / "signoff.md").read_text()
    assert cli.main([*args[:-1], "5 Dec"]) == 2
    assert cli.main(["release", "check", "--evidence", str(tmp_path / "absent")]) == 2
    with pytest.raises(SystemExit) as exc:
        cli.main(["release"])
    assert exc.value.code == 2


def test_release_check_today_says_not_ready_with_true_reasons(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "daemon.release", "check", "--out", str(tmp_path), "--today", "2026-12-05"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    doc = json.loads((tmp_path / "signoff.json").read_text())
    assert doc["verdict"] == NOT_READY
    texts = [r["text"] for r in doc["reasons"]]
    assert not any(t.startswith("capability planned") for t in texts)  # every venue's cells are built
    assert any(t.startswith("open question Q3: The Korean brokers") for t in texts)
    assert any(t.startswith("open question Q5: Who approves") for t in texts)
