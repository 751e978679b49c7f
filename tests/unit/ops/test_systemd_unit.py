"""ops/vibetrading.service passes `systemd-analyze verify` and rates 1.5 or lower in
`systemd-analyze security --offline=yes` (issue 11, point 8)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
UNIT = REPO / "ops" / "vibetrading.service"
INSTALLED_BINARY = "/opt/vibetrading/.venv/bin/vibetrading"
MAX_EXPOSURE = 1.5
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None,
    reason="systemd-analyze is not installed (package systemd): the unit's verify and security rating "
    "cannot be checked here",
)
# Plain text: no colours, no pager, no attempt to reach a running systemd.
ENV = {**os.environ, "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": "", "SYSTEMD_LOG_COLOR": "0"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_OVERALL = re.compile(r"Overall exposure level for (?P<unit>\S+): (?P<level>\d+(?:\.\d+)?) (?P<verdict>\S+)")


class RatingNotFoundError(ValueError):
    """systemd-analyze security printed no (or more than one) overall exposure line."""


def overall_exposure(output: str) -> float:
    """The overall exposure level (0.0 best, 10.0 worst) from `systemd-analyze security` output."""
    found = _OVERALL.findall(_ANSI.sub("", output))
    if len(found) != 1:
        raise RatingNotFoundError(f"expected one 'Overall exposure level' line, found {len(found)}")
    level = float(found[0][1])
    if not 0.0 <= level <= 10.0:
        raise RatingNotFoundError(f"exposure level {level} is outside 0.0-10.0")
    return level


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert SYSTEMD_ANALYZE is not None
    return subprocess.run(
        [SYSTEMD_ANALYZE, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=30, check=False
    )


def unit_lines_about(output: str, name: str) -> list[str]:
    """The lines of systemd's diagnostics that concern the unit file (other units' noise is not ours)."""
    return [line for line in output.splitlines() if name in line]


def test_the_unit_runs_the_installed_daemon() -> None:
    text = UNIT.read_text()
    assert f"ExecStart={INSTALLED_BINARY} run --config /etc/vibetrading/vibetrading.toml" in text
    for setting in (
        "Type=notify",
        "NotifyAccess=main",
        "WatchdogSec=",
        "Restart=on-failure",
        "RestartSec=",
        "TimeoutStopSec=",
        "StateDirectory=vibetrading",
        "LoadCredential=binance.json:",
        "DynamicUser=yes",
    ):
        assert re.search(rf"^{re.escape(setting)}", text, re.MULTILINE), setting


def unit_copy_for_verify(tmp_path: Path, text: str | None = None) -> Path:
    """The unit with ExecStart pointing at this checkout's venv (verify checks that the binary exists);
    every other line is the shipped one."""
    text = UNIT.read_text() if text is None else text
    binary = REPO / ".venv" / "bin" / "vibetrading"
    copied = text.replace(f"ExecStart={INSTALLED_BINARY} ", f"ExecStart={binary} ")
    assert copied.count(f"ExecStart={binary} ") == 1
    path = tmp_path / UNIT.name
    path.write_text(copied)
    return path


@needs_systemd_analyze
def test_systemd_analyze_verify_is_silent(tmp_path: Path) -> None:
    if not (REPO / ".venv" / "bin" / "vibetrading").exists():
        pytest.skip("no .venv/bin/vibetrading in this checkout (make install): verify checks ExecStart")
    unit = unit_copy_for_verify(tmp_path)
    result = run("verify", str(unit), cwd=tmp_path)
    complaints = unit_lines_about(result.stdout + result.stderr, unit.name)
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


@needs_systemd_analyze
def test_verify_would_catch_a_misspelt_setting(tmp_path: Path) -> None:
    """systemd ignores an unknown key with a warning and exit 0: the test must read the output."""
    text = UNIT.read_text().replace(
        "\nLockPersonality=yes\n", "\nLockPersonality=yes\nProtectKernelTunable=yes\n"
    )
    unit = unit_copy_for_verify(tmp_path, text)
    result = run("verify", str(unit), cwd=tmp_path)
    assert any("ProtectKernelTunable" in line for line in unit_lines_about(result.stderr, unit.name))


@needs_systemd_analyze
def test_security_exposure_is_at_most_1_5() -> None:
    result = run("security", "--offline=yes", str(UNIT), cwd=UNIT.parent)
    assert result.returncode == 0, result.stderr
    assert not unit_lines_about(result.stderr, UNIT.name), result.stderr
    level = overall_exposure(result.stdout)
    assert level <= MAX_EXPOSURE, f"exposure {level} > {MAX_EXPOSURE}:\n{result.stdout}"


@needs_systemd_analyze
def test_the_rating_drops_when_hardening_is_removed(tmp_path: Path) -> None:
    """The rating really depends on the sandbox lines (the parser reads the right number)."""
    kept = [
        line
        for line in UNIT.read_text().splitlines()
        if not line.startswith(("Protect", "Private", "SystemCall", "Capability", "Restrict", "DynamicUser"))
    ]
    bare = tmp_path / UNIT.name
    bare.write_text("\n".join(kept) + "\n")
    result = run("security", "--offline=yes", str(bare), cwd=tmp_path)
    assert overall_exposure(result.stdout) > 5.0, result.stdout


def test_overall_exposure_parser() -> None:
    sample = (
        "  NAME   DESCRIPTION   EXPOSURE\n"
        "✗ PrivateNetwork=   Service has access to the host's network   0.5\n"
        "\n→ Overall exposure level for vibetrading.service: 1.1 OK 🙂\n"
    )
    assert overall_exposure(sample) == 1.1
    coloured = "→ Overall exposure level for x.service: \x1b[1;32m9.6\x1b[0m \x1b[1;31mUNSAFE\x1b[0m 😨\n"
    assert overall_exposure(coloured) == 9.6
    assert overall_exposure("→ Overall exposure level for x.service: 10.0 UNSAFE 😨") == 10.0
    assert overall_exposure("→ Overall exposure level for x.service: 2 MEDIUM") == 2.0
    for bad in ("", "Overall exposure level for x.service: high", sample + sample, "level for x: 1.0 OK"):
        with pytest.raises(RatingNotFoundError):
            overall_exposure(bad)
    with pytest.raises(RatingNotFoundError, match="outside"):
        overall_exposure("Overall exposure level for x.service: 11.5 UNSAFE")
