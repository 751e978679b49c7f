"""The evidence bundle (daemon/evidence.py): the manifest, the normalisers that keep two runs' kept files
byte-equal, and two real runs (without the gates: pytest inside pytest is `make evidence`'s job, not the
suite's) into two directories giving the same manifest.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daemon import evidence
from daemon.evidence import (
    build_manifest,
    junit_times,
    normalise_junit,
    normalise_paths,
    normalise_pytest_output,
)
from daemon.readiness import REPO

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" \
errors="0" failures="1" skipped="1" tests="3" time="12.345" timestamp="2026-12-03T11:46:15.123456+00:00" \
hostname="builder-7"><properties><property name="hypothesis-statistics-tests/p.py::test_x" \
value="VHlwaWNhbCBydW50aW1lczogfiAxbXM=" /></properties>\
<testcase classname="tests.unit.test_a" name="test_one" time="0.004" />\
<testcase classname="tests.unit.test_a" name="test_two[asyncio]" time="1.250"><failure message="boom">\
{repo}/tests/unit/test_a.py:12: AssertionError in /tmp/pytest-of-dev/pytest-41/test_two0/out\
</failure></testcase>\
<testcase classname="tests.unit.test_b" name="test_skip" time="0.000"><skipped type="pytest.skip" \
message="data absent">{repo}/tests/unit/test_b.py:3: data absent</skipped></testcase>\
</testsuite></testsuites>"""


def test_the_manifest_hashes_every_file_but_itself_and_the_timings(tmp_path: Path) -> None:
    (tmp_path / "gates").mkdir()
    (tmp_path / "gates" / "lint.txt").write_text("All checks passed!\n")
    (tmp_path / "b.json").write_text("{}\n")
    (tmp_path / "manifest.json").write_text("old")
    (tmp_path / "timings.json").write_text('{"total_seconds": 1.5}')
    manifest = build_manifest(tmp_path)
    assert list(manifest["files"]) == ["b.json", "gates/lint.txt"]  # sorted, POSIX paths
    assert manifest["files"]["b.json"] == "ca3d163bab055381827226140568f3bef7eaac187cebd76878e0b63e9e442356"
    (tmp_path / "timings.json").write_text('{"total_seconds": 9.9}')
    assert build_manifest(tmp_path) == manifest
    (tmp_path / "gates" / "lint.txt").write_text("1 error\n")
    assert build_manifest(tmp_path)["files"]["gates/lint.txt"] != manifest["files"]["gates/lint.txt"]


@pytest.mark.parametrize(
    ("line", "kept", "seconds"),
    [
        ("1520 passed, 12 skipped in 181.42s (0:03:01)", "1520 passed, 12 skipped", 181.42),
        ("3 passed in 0.05s", "3 passed", 0.05),
        ("==== 1 failed, 2 passed, 1 warning in 3.10s ====", "==== 1 failed, 2 passed, 1 warning ====", 3.10),
        ("no tests ran in 0.01s", "no tests ran", 0.01),
    ],
)
def test_the_pytest_summary_loses_its_duration(line: str, kept: str, seconds: float) -> None:
    text, got = normalise_pytest_output(f"....s.  [100%]\n{line}\n")
    assert text == f"....s.  [100%]\n{kept}\n"
    assert got == seconds


def test_pytest_output_without_a_summary_is_left_alone() -> None:
    text = "tests/unit/test_a.py: collection error in module\nsleep in 5s is not a summary\n"
    assert normalise_pytest_output(text) == (text, None)


def test_junit_xml_keeps_its_results_and_loses_times_host_and_paths() -> None:
    xml = JUNIT.format(repo=REPO)
    times = junit_times(xml)
    assert times.suite_seconds == pytest.approx(12.345)
    assert times.cases == {
        "tests.unit.test_a::test_one": pytest.approx(0.004),
        "tests.unit.test_a::test_two[asyncio]": pytest.approx(1.25),
        "tests.unit.test_b::test_skip": 0.0,
    }
    kept = normalise_junit(xml)
    assert 'time="0"' in kept and "12.345" not in kept and "1.250" not in kept
    assert 'timestamp="1970-01-01T00:00:00"' in kept and 'hostname="localhost"' in kept
    assert str(REPO) not in kept and "tests/unit/test_a.py:12: AssertionError in <tmp></failure>" in kept
    assert "hypothesis" not in kept and "<properties>" not in kept
    assert 'failures="1" skipped="1" tests="3"' in kept and 'message="boom"' in kept
    # another run on another host, at another time, with other durations: the same kept bytes
    other = (
        xml.replace("12.345", "99.1")
        .replace("0.004", "0.2")
        .replace("builder-7", "ci-runner")
        .replace("2026-12-03T11:46:15.123456", "2027-01-01T00:00:00.000001")
        .replace("pytest-41", "pytest-42")
    )
    assert normalise_junit(other) == kept


def test_paths_under_the_checkout_and_the_temp_directory_are_made_relative() -> None:
    text = f"{REPO}/daemon/cli.py and {REPO} and /scratch/vt-evidence-abc123/x/out: done"
    assert normalise_paths(text, tmp="/scratch") == "daemon/cli.py and . and <tmp>: done"


def test_each_implemented_venue_and_mode_is_validated_for_every_strategy_type() -> None:
    names = {v.name for v in evidence.validations()}
    assert {"sim-backtest-canonical", "sim-backtest-single", "sim-backtest-portfolio"} <= names
    for venue, mode in evidence.implemented_cells():
        if venue != "sim":
            assert {f"{venue}-{mode.value}-{kind}" for kind in evidence.EXAMPLES} <= names


def test_an_implemented_venue_without_validation_symbols_fails_its_validation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(evidence, "VALIDATION_SYMBOLS", {})
    missing = [v for v in evidence.validations() if v.error]
    assert missing and all("no validation symbols" in v.error for v in missing)


def test_a_directory_that_is_not_a_bundle_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(evidence.EvidenceError, match="holds no evidence bundle"):
        evidence.prepare(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_two_runs_on_the_same_commit_give_the_same_manifest(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert evidence.main(["--skip-gates", "--quick", "--out", str(first)]) == 0
    assert evidence.main(["--skip-gates", "--quick", "--out", str(second)]) == 0
    manifest = (first / "manifest.json").read_text()
    assert manifest == (second / "manifest.json").read_text()

    files = json.loads(manifest)["files"]
    for name in ("gates.json", "determinism.json", "capabilities.json", "benchmarks.json", "chaos.json"):
        assert name in files
    for name in ("environment.json", "waivers.json", "validation/sim-backtest-canonical.json"):
        assert name in files
    assert "timings.json" not in files and "manifest.json" not in files
    assert sorted(files) == sorted(
        p.relative_to(first).as_posix()
        for p in first.rglob("*")
        if p.is_file() and p.name not in evidence.UNHASHED
    )

    determinism = json.loads((first / "determinism.json").read_text())
    assert determinism["equal"] is True and determinism["rerun"]
    for case, digests in determinism["rerun"].items():
        assert digests == determinism["golden"][case]
    assert json.loads((first / "chaos.json").read_text()) == {"present": False}
    assert json.loads((first / "gates.json").read_text())["skipped"] is True
    canonical = json.loads((first / "validation" / "sim-backtest-canonical.json").read_text())
    assert canonical["ok"] is True and canonical["file"] == "strategies/my_strategy_a.py"
    timings = json.loads((first / "timings.json").read_text())
    assert set(timings["benchmarks"]) == {"venue_parse", "journal_throughput"}
    assert timings["total_seconds"] > 0
