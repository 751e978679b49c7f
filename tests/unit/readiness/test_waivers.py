"""ops/waivers.toml: the loader refuses every breach of the waiver policy with its typed error.

Every check takes the day as an argument; no test's outcome depends on today's date.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from daemon import readiness
from daemon.readiness import (
    ApproverNotAllowedError,
    DuplicateWaiverError,
    MissingApproverError,
    UnknownGateError,
    WaiverError,
    WaiverExpiredError,
    WaiverTooLongError,
    load_waivers,
    read_waivers,
    waiver_problems,
)

TODAY = date(2026, 12, 3)
APPROVERS = """
[approvers]
release_owner = "Rel Owner"
maintainers = ["Main Tainer", "Other Maint"]
"""


def waiver(
    gate: str = "types",
    *,
    reason: str | None = "mypy false positive; issue 9 removes it",
    approved_by: str | None = "Main Tainer",
    approved_on: str = "2026-12-01",
    expires: str = "2026-12-20",
) -> str:
    lines = ["[[waiver]]", f'gate = "{gate}"']
    if reason is not None:
        lines.append(f'reason = "{reason}"')
    if approved_by is not None:
        lines.append(f'approved_by = "{approved_by}"')
    lines += [f"approved_on = {approved_on}", f"expires = {expires}"]
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, *waivers: str, approvers: str = APPROVERS) -> Path:
    path = tmp_path / "waivers.toml"
    path.write_text(approvers + "\n" + "\n".join(waivers))
    return path


def test_the_repository_file_parses_and_has_no_waiver_today() -> None:
    # The form only: whether it holds waivers is the project's choice, so assert today's content.
    parsed = read_waivers(readiness.WAIVERS_FILE)
    assert parsed.waiver == ()
    assert waiver_problems(parsed, today=TODAY, source="ops/waivers.toml") == []


def test_the_commented_example_is_a_valid_waiver_once_uncommented(tmp_path: Path) -> None:
    text = readiness.WAIVERS_FILE.read_text()
    example = text[text.index("# [[waiver]]") :]
    body = "\n".join(line.removeprefix("# ").removeprefix("#") for line in example.splitlines())
    path = write(tmp_path, body, approvers='[approvers]\nmaintainers = ["A. Maintainer"]\n')
    (w,) = load_waivers(path, today=date(2026, 12, 3))
    assert w.gate == "types"
    assert w.expires == date(2026, 12, 31)


def test_a_valid_waiver_is_in_force_through_its_expiry_day(tmp_path: Path) -> None:
    path = write(tmp_path, waiver(expires="2026-12-20"))
    (w,) = load_waivers(path, today=date(2026, 12, 20))
    assert (w.gate, w.approved_by, w.expires) == ("types", "Main Tainer", date(2026, 12, 20))
    with pytest.raises(WaiverExpiredError) as exc:
        load_waivers(path, today=date(2026, 12, 21))
    assert exc.value.code == "VT924"
    assert "expired on 2026-12-20" in exc.value.message


def test_an_unknown_gate_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnknownGateError) as exc:
        load_waivers(write(tmp_path, waiver("coverage")), today=TODAY)
    assert exc.value.code == "VT921"
    assert "'coverage'" in exc.value.message


def test_the_waiver_gate_itself_cannot_be_waived(tmp_path: Path) -> None:
    with pytest.raises(UnknownGateError):
        load_waivers(write(tmp_path, waiver("waivers", approved_by="Rel Owner")), today=TODAY)


@pytest.mark.parametrize("approved_by", [None, "", "   "])
def test_a_missing_approver_is_refused(tmp_path: Path, approved_by: str | None) -> None:
    with pytest.raises(MissingApproverError) as exc:
        load_waivers(write(tmp_path, waiver(approved_by=approved_by)), today=TODAY)
    assert exc.value.code == "VT922"


def test_a_maintainer_may_not_waive_the_tests_but_the_release_owner_may(tmp_path: Path) -> None:
    path = write(tmp_path, waiver("tests", approved_by="Main Tainer", expires="2026-12-10"))
    with pytest.raises(ApproverNotAllowedError) as exc:
        load_waivers(path, today=TODAY)
    assert exc.value.code == "VT923"
    assert "release-owner" in exc.value.message
    ok = write(tmp_path, waiver("tests", approved_by="Rel Owner", expires="2026-12-10"))
    assert [w.gate for w in load_waivers(ok, today=TODAY)] == ["tests"]


def test_someone_not_listed_may_approve_nothing(tmp_path: Path) -> None:
    with pytest.raises(ApproverNotAllowedError):
        load_waivers(write(tmp_path, waiver("lint", approved_by="Random Person")), today=TODAY)


def test_with_no_approvers_named_no_waiver_is_valid(tmp_path: Path) -> None:
    path = write(tmp_path, waiver("lint"), approvers='[approvers]\nrelease_owner = ""\nmaintainers = []\n')
    with pytest.raises(ApproverNotAllowedError):
        load_waivers(path, today=TODAY)


@pytest.mark.parametrize(
    ("gate", "approved_by", "longest_ok"),
    [
        ("lint", "Main Tainer", 30),
        ("format", "Other Maint", 30),
        ("types", "Rel Owner", 30),
        ("layers", "Rel Owner", 14),
        ("tests", "Rel Owner", 14),
        ("preflight", "Rel Owner", 14),
    ],
)
def test_an_expiry_beyond_the_policy_maximum_is_refused(
    tmp_path: Path, gate: str, approved_by: str, longest_ok: int
) -> None:
    start = date(2026, 12, 1)
    at_limit = start.toordinal() + longest_ok
    ok = waiver(gate, approved_by=approved_by, expires=date.fromordinal(at_limit).isoformat())
    load_waivers(write(tmp_path, ok), today=TODAY)
    too_long = waiver(gate, approved_by=approved_by, expires=date.fromordinal(at_limit + 1).isoformat())
    with pytest.raises(WaiverTooLongError) as exc:
        load_waivers(write(tmp_path, too_long), today=TODAY)
    assert exc.value.code == "VT925"
    assert f"at most {longest_ok}" in exc.value.message


def test_an_approval_dated_in_the_future_is_refused(tmp_path: Path) -> None:
    # Otherwise a far approved_on would stretch a waiver past the policy's maximum from today.
    path = write(tmp_path, waiver(approved_on="2026-12-10", expires="2026-12-20"))
    with pytest.raises(WaiverTooLongError):
        load_waivers(path, today=TODAY)


def test_two_waivers_for_one_gate_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DuplicateWaiverError) as exc:
        load_waivers(write(tmp_path, waiver("lint"), waiver("lint")), today=TODAY)
    assert exc.value.code == "VT926"


def test_a_waiver_without_a_reason_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WaiverError) as exc:
        load_waivers(write(tmp_path, waiver(reason=None)), today=TODAY)
    assert exc.value.code == "VT920"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[[waiver]\ngate = 1", "not valid TOML"),
        ('[[waiver]]\ngate = "lint"\nreason = "r"\napproved_by = "x"\napproved_on = 2026-12-01\n', "expires"),
        (waiver(expires='"2026-12-20"'), "date"),  # a string, not a TOML date
        (waiver(expires="2026-12-20T00:00:00"), "date"),  # a datetime, not a day
        (waiver() + 'ticket = "X-1"\n', "ticket"),  # an unknown field is a typo, not ignored
        ('[approvers]\nowner = "x"\n', "owner"),
    ],
)
def test_a_malformed_file_is_refused_before_any_policy_check(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "waivers.toml"
    path.write_text(text)
    with pytest.raises(WaiverError) as exc:
        read_waivers(path)
    assert type(exc.value) is WaiverError
    assert exc.value.code == "VT920"
    assert needle in exc.value.message


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WaiverError, match="cannot read"):
        read_waivers(tmp_path / "absent.toml")


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        waiver("coverage"),
        waiver("tests", approved_by="Main Tainer", approved_on="2026-11-01", expires="2026-11-30"),
    )
    codes = [p.code for p in waiver_problems(read_waivers(path), today=TODAY, source="w")]
    assert codes == ["VT921", "VT923", "VT925", "VT924"]


# ── the command a gate run calls ──


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon.readiness", *args],
        capture_output=True,
        text=True,
        timeout=20,
        cwd=readiness.REPO,
        check=False,
    )


def test_the_waivers_command_prints_the_waivers_in_force(tmp_path: Path) -> None:
    path = write(tmp_path, waiver("lint", expires="2026-12-05"))
    done = run("waivers", "--file", str(path), "--today", "2026-12-03")
    assert done.returncode == 0, done.stderr
    assert "waivers: 1 in force" in done.stdout
    assert "lint until 2026-12-05 (2 days left), approved by Main Tainer on 2026-12-01" in done.stdout


def test_the_waivers_command_fails_on_an_expired_waiver(tmp_path: Path) -> None:
    path = write(tmp_path, waiver("lint", expires="2026-12-05"))
    done = run("waivers", "--file", str(path), "--today", "2026-12-06")
    assert done.returncode == 1
    assert "VT924" in done.stderr
    assert "hint:" in done.stderr


def test_the_waivers_command_on_the_repository_file() -> None:
    done = run("waivers", "--today", "2026-12-03")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("waivers: none in force (ops/waivers.toml)")


def test_waived_lets_a_failing_gate_pass_only_with_a_waiver_in_force(tmp_path: Path) -> None:
    path = write(tmp_path, waiver("types", expires="2026-12-05"))
    yes = run("waived", "types", "--file", str(path), "--today", "2026-12-04")
    assert yes.returncode == 0
    assert "gate WAIVED: types until 2026-12-05" in yes.stderr
    assert run("waived", "lint", "--file", str(path), "--today", "2026-12-04").returncode == 1
    assert run("waived", "types", "--file", str(path), "--today", "2026-12-06").returncode == 1


def test_a_broken_waiver_file_waives_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, waiver("types"), waiver("coverage"))
    done = run("waived", "types", "--file", str(path), "--today", "2026-12-04")
    assert done.returncode == 1
    assert "VT921" in done.stderr


def test_a_bad_today_is_a_usage_error() -> None:
    assert run("waivers", "--today", "03/12/2026").returncode == 2
