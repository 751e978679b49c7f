"""The readiness contract (docs/readiness.md), the README gate table, the Makefile and the CI workflow
say what the code and the tools' configuration do.

The directories are parsed out of the documents' tables and compared with pyproject.toml and the
Makefile, so that an exclusion added to a tool cannot go unmentioned, and a document cannot promise a
directory the gate does not check.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from daemon import readiness
from daemon.readiness import GATES, GATES_BY_NAME, Coverage, gate_coverage, open_questions

REPO = readiness.REPO
MAKEFILE = (REPO / "Makefile").read_text()


def pyproject() -> dict[str, Any]:
    return tomllib.loads(readiness.PYPROJECT.read_text())


def table(text: str, header_first_cell: str, after: str) -> list[dict[str, str]]:
    """The rows of the first markdown table after ``after`` whose header starts with the given cell."""
    lines = text[text.index(after) :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header_first_cell} |"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == len(header), line
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def ticks(cell: str) -> tuple[str, ...]:
    return tuple(p.rstrip("/") or p for p in re.findall(r"`([^`]+)`", cell))


# ── the contract ──


def contract_gates() -> list[dict[str, str]]:
    return table(readiness.CONTRACT.read_text(), "gate", "## The gates")


def test_the_contract_lists_every_gate_in_the_order_make_test_runs_them() -> None:
    assert [row["gate"] for row in contract_gates()] == [g.name for g in GATES]


def test_the_contract_paths_are_the_tools_configuration() -> None:
    coverage = gate_coverage(pyproject())
    for row in contract_gates():
        documented = Coverage(ticks(row["covers"]), ticks(row["excludes"]))
        assert documented == coverage[row["gate"]], row["gate"]


def test_the_contract_names_each_gates_target_and_command() -> None:
    for row in contract_gates():
        gate = GATES_BY_NAME[row["gate"]]
        assert ticks(row["make target"]) == (f"make {gate.make_target}",)
        assert ticks(row["command"])[0] == gate.command


def test_the_contract_states_the_waiver_policy_of_the_code() -> None:
    for row in contract_gates():
        gate = GATES_BY_NAME[row["gate"]]
        if gate.approver is None:
            assert row["waivable by"] == "nobody"
            continue
        who = "a maintainer" if gate.approver is readiness.Role.MAINTAINER else "the release owner"
        assert row["waivable by"] == f"{who}, {gate.max_days} days"


def test_every_exclusion_has_its_reason_written() -> None:
    text = readiness.CONTRACT.read_text()
    reasons = text[text.index("Why these exclusions:") : text.index("## Test matrix")]
    for cov in gate_coverage(pyproject()).values():
        for path in cov.excludes:
            assert f"`{path}`" in reasons, path


def test_the_contract_names_the_canonical_strategy_and_the_validation_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from daemon.cli import DEFAULT_STRATEGY, main

    text = readiness.CONTRACT.read_text()
    assert str(DEFAULT_STRATEGY) == readiness.CANONICAL_STRATEGY
    assert f"The canonical strategy is `{readiness.CANONICAL_STRATEGY}`" in text
    # What `vibetrading validate` with no options really checks, not what its parser declares.
    assert main(["validate", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["file"] == readiness.CANONICAL_STRATEGY
    assert (result["venues"], result["mode"]) == ([readiness.VALIDATION_VENUE], readiness.VALIDATION_MODE)
    assert f"venue `{readiness.VALIDATION_VENUE}` in mode `{readiness.VALIDATION_MODE}`" in text


def test_the_declared_matrix_matches_the_supported_pythons_and_loops() -> None:
    text = readiness.CONTRACT.read_text()
    rows = table(text, "Python", "## Test matrix")
    assert tuple(r["Python"] for r in rows) == readiness.PYTHON_VERSIONS
    assert list(rows[0])[1:] == list(readiness.EVENT_LOOPS)
    floor = pyproject()["project"]["requires-python"]
    assert floor == f">={readiness.PYTHON_VERSIONS[0]}"
    assert pyproject()["tool"]["mypy"]["python_version"] == readiness.PYTHON_VERSIONS[0]


# ── the README ──


def test_the_readme_gate_table_agrees_with_the_code() -> None:
    rows = table((REPO / "README.md").read_text(), "gate", "## The gates (`make test`)")
    assert [r["gate"] for r in rows] == [g.name for g in GATES]
    coverage = gate_coverage(pyproject())
    for row in rows:
        covers, _, excludes = row["covers"].partition(" except ")
        assert Coverage(ticks(covers), ticks(excludes)) == coverage[row["gate"]], row["gate"]
        assert ticks(row["command"])[0].startswith(GATES_BY_NAME[row["gate"]].command)


# ── the Makefile ──


def test_make_test_runs_the_gates_in_the_contracts_order_waivers_first() -> None:
    m = re.search(r"^test: (.+?) ##", MAKEFILE, re.MULTILINE)
    assert m is not None
    targets = m.group(1).split()
    expected = list(dict.fromkeys(g.make_target for g in GATES))
    assert targets == expected
    assert targets[0] == "waivers"


def test_the_makefile_strategy_is_the_canonical_one() -> None:
    m = re.search(r"^STRATEGY \?= (\S+)$", MAKEFILE, re.MULTILINE)
    assert m is not None and m.group(1) == readiness.CANONICAL_STRATEGY


def recipe(target: str) -> str:
    m = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", MAKEFILE, re.MULTILINE)
    assert m is not None, target
    return m.group(1)


def test_every_gate_command_names_its_gate_when_it_fails() -> None:
    for gate in GATES:
        body = recipe(gate.make_target)
        lines = [
            ln.replace("$(BIN)/", "").replace("$(STRATEGY)", readiness.CANONICAL_STRATEGY).strip()
            for ln in body.splitlines()
        ]
        line = next(ln for ln in lines if ln.startswith(gate.command + " "))
        if gate.name == "waivers":
            assert f'"gate FAILED: waivers — reproduce with: make {gate.make_target}"' in line
        else:
            assert f"$(call gate_failed,{gate.name},{gate.make_target})" in line, line


def test_a_failing_gate_prints_the_operator_line_and_exits_non_zero(tmp_path: Path) -> None:
    # The real recipe of the preflight gate, pointed at a file that does not exist; -o keeps make from
    # re-syncing the venv from inside a test when pyproject.toml is newer than it.
    done = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-o",
            ".venv/bin/vibetrading",
            "validate",
            f"STRATEGY={tmp_path / 'absent.py'}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "gate FAILED: preflight — reproduce with: make validate" in done.stderr
    assert "gate preflight: no waiver in force" in done.stderr


# ── the CI workflow ──


def workflow() -> str:
    return readiness.CI_WORKFLOW.read_text()


def test_ci_runs_the_declared_matrix() -> None:
    text = workflow()
    pythons = re.search(r"^\s+python: \[(.*)\]$", text, re.MULTILINE)
    loops = re.search(r"^\s+loop: \[(.*)\]$", text, re.MULTILINE)
    assert pythons is not None and loops is not None
    assert tuple(v.strip().strip('"') for v in pythons.group(1).split(",")) == readiness.PYTHON_VERSIONS
    assert tuple(v.strip() for v in loops.group(1).split(",")) == readiness.EVENT_LOOPS
    assert f"{readiness.LOOP_ENV}: ${{{{ matrix.loop }}}}" in text


def test_ci_runs_the_same_gates_as_the_readme_and_uploads_the_evidence() -> None:
    text = workflow()
    assert re.search(r"^on:\n  push:\n  pull_request:\n", text, re.MULTILINE)
    assert "run: make install\n" in text
    assert "run: .ci/run\n" in text
    assert (REPO / ".ci" / "run").read_text().rstrip().endswith("make test")
    upload = text[text.index("actions/upload-artifact") - 200 :]
    assert "if: always()" in upload
    assert "path: main/evidence/" in upload
    assert "fail-fast: false" in text  # every cell reports, a failure in one does not hide another
    assert "continue-on-error" not in text  # a failed gate fails the job


def test_ci_checks_out_the_shared_folder_beside_the_repository() -> None:
    text = workflow()
    assert "working-directory: main" in text
    assert "path: shared" in text


# ── open questions ──


def test_the_open_questions_file_parses_and_each_names_an_open_issue() -> None:
    questions = open_questions(readiness.OPEN_QUESTIONS.read_text())
    assert questions, "the sign-off needs the open questions listed"
    for q in questions:
        assert q.issue.isdigit(), q


@pytest.mark.parametrize(
    "text",
    [
        "## Q1: a\n\nissue: 3\n",  # no status
        "## Q1: a\n\nstatus: maybe\nissue: 3\n",
        "## Q1: a\n\nstatus: open\n",  # no issue
        "## A question\n\nstatus: open\nissue: 1\n",
        "## Q1: a\nstatus: open\nissue: 1\n## Q1: b\nstatus: open\nissue: 2\n",
    ],
)
def test_a_malformed_open_question_is_refused(text: str) -> None:
    with pytest.raises(readiness.OpenQuestionsError):
        open_questions(text)
