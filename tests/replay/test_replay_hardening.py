"""A replay that fails ends at once with its typed error; `--out` never destroys anything; every bad
option is refused before the run with the option's name and range; signals end a run cleanly."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO
from synthetic import (
    ARBITRAGE_RAISES,
    MINUTE_NS,
    PAST_QUEUE,
    PORTFOLIO_BREAKS_CONTRACT,
    SINGLE_NOOP,
    SINGLE_RAISES,
    SINGLE_SPINS,
    START_NS,
    strategy,
    write_bars,
    write_quotes,
)

from daemon.cli import main

FIXTURE = REPO / "replay_fixtures" / "krx-kospi6-daily"
# Early in the stream: the feeder has filled the queue and still has more than a queue's worth to
# hand over when the engine dies (a failure near the end met a feeder that had already finished).
EARLY_BARS_NS = START_NS + 2_000 * MINUTE_NS
HANG_LIMIT_S = 60  # a healthy failing run ends in a few seconds; the old code waited forever


def cli(*args: str | Path, timeout: float = HANG_LIMIT_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def kospi(tmp_path: Path, *extra: str, out: Path | str | None = None) -> int:
    return main(
        [
            "replay",
            str(REPO / "strategies" / "my_strategy_a.py"),
            "--data",
            str(FIXTURE),
            "--cash",
            "10000000",
            "--quiet",
            "--out",
            str(out if out is not None else tmp_path / "run"),
            *extra,
        ]
    )


# ── a failing run ends at once, whatever the data's length, under both loops ─────────────────────


@pytest.fixture(scope="module")
def long_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    d = tmp_path_factory.mktemp("long-data")
    spot_bars = write_bars(d, "binance-spot", "BTCUSDT")
    usdm_bars = write_bars(d, "binance-usdm", "BTCUSDT", rows=PAST_QUEUE // 2)
    return {
        "single": [spot_bars],
        "portfolio": [spot_bars, usdm_bars],
        "arbitrage": [
            write_quotes(d, "binance-spot", "BTCUSDT"),
            write_quotes(d, "binance-usdm", "BTCUSDT", bid="99.90"),
        ],
    }


FAILING = {
    "single": (SINGLE_RAISES, "VT330", EARLY_BARS_NS),
    "portfolio": (PORTFOLIO_BREAKS_CONTRACT, "VT312", EARLY_BARS_NS),
    "arbitrage": (ARBITRAGE_RAISES, "VT330", START_NS + 2_000 * 10_000_000),
}


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("kind", sorted(FAILING))
def test_a_run_that_fails_past_the_queue_depth_ends_with_its_typed_error(
    tmp_path: Path, long_data: dict[str, list[Path]], kind: str, loop: str
) -> None:
    template, code, at_ns = FAILING[kind]
    path = strategy(tmp_path, kind, template, at_ns=at_ns)
    data = [a for p in long_data[kind] for a in ("--data", str(p))]
    started = time.monotonic()
    done = cli("replay", path, *data, "--loop", loop, "--quiet", "--out", tmp_path / "run")
    assert done.returncode == 1, done.stderr
    assert code in done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - started < HANG_LIMIT_S
    assert leftovers(tmp_path) == [] and not (tmp_path / "run").exists()


# ── signals ──────────────────────────────────────────────────────────────────────────────────────


@contextlib.contextmanager
def spinning_run(tmp_path: Path, loop: str, out: Path) -> Iterator[subprocess.Popen[str]]:
    """A replay stuck in its strategy's endless loop; killed on the way out whatever the test did."""
    proc = _start_spinning(tmp_path, loop, out)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=20)


def _start_spinning(tmp_path: Path, loop: str, out: Path) -> subprocess.Popen[str]:
    data = write_bars(tmp_path, "binance-spot", "BTCUSDT", rows=100)
    path = strategy(tmp_path, "spins", SINGLE_SPINS)
    command = ["replay", str(path), "--data", str(data), "--quiet", "--loop", loop, "--out", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "daemon.cli", *command],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    work = out.parent / f".{out.name}.partial"
    deadline = time.monotonic() + 30
    while not work.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.05)
    time.sleep(0.5)  # into the strategy's endless loop
    return proc


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_a_spinning_run_cleanly(tmp_path: Path, loop: str, sig: int, code: int) -> None:
    runs = tmp_path / "runs"
    with spinning_run(tmp_path, loop, runs / "spin") as proc:
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == code
    assert "Traceback" not in err and "Event loop is closed" not in err
    assert [line for line in err.splitlines() if line] == [
        f"vibetrading: replay interrupted by {signal.Signals(sig).name}; nothing of it was kept"
    ]
    assert list(runs.iterdir()) == []


def test_the_leftovers_of_a_killed_run_are_removed_by_the_next_run(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with spinning_run(tmp_path, "asyncio", runs / "spin") as proc:
        proc.kill()
    assert leftovers(runs) == [".spin.partial"]  # SIGKILL: nothing could clean up
    legacy = runs / ".old.partial-999999999"  # an earlier version's name, its process long gone
    legacy.mkdir()
    assert kospi(tmp_path, out=runs / "other") == 0
    assert leftovers(runs) == []


def test_a_second_run_on_the_same_out_is_refused_while_the_first_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    with spinning_run(tmp_path, "asyncio", runs / "spin") as proc:
        assert kospi(tmp_path, "--force", out=runs / "spin") == 1
        assert "VT701" in capsys.readouterr().err
        assert proc.poll() is None  # the first run was not disturbed
        assert leftovers(runs) == [".spin.partial"]


# ── --out never destroys anything ─────────────────────────────────────────────────────────────────


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


def test_out_refuses_a_directory_of_the_users(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "strategies"
    mine.mkdir()
    (mine / "my_strategy.py").write_text("precious\n")
    before = snapshot(mine)
    assert kospi(tmp_path, out=mine) == 1
    assert "VT700" in capsys.readouterr().err
    assert snapshot(mine) == before
    assert kospi(tmp_path, "--force", out=mine) == 1  # --force never reaches a user's directory
    assert snapshot(mine) == before


def test_out_refuses_an_existing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("keep me\n")
    assert kospi(tmp_path, "--force", out=target) == 1
    assert "VT700" in capsys.readouterr().err
    assert target.read_text() == "keep me\n"


def test_a_previous_run_is_replaced_only_with_force_and_only_if_it_holds_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert kospi(tmp_path, out=out) == 0
    first = snapshot(out)
    capsys.readouterr()
    assert kospi(tmp_path, out=out) == 1
    assert "VT702" in capsys.readouterr().err
    assert snapshot(out) == first
    assert kospi(tmp_path, "--force", "--fee-bps", "20", out=out) == 0
    second = snapshot(out)
    assert second["journal.vtj"] != first["journal.vtj"]
    (out / "analysis.ipynb").write_text("{}")  # a user's file added to a run's directory
    capsys.readouterr()
    assert kospi(tmp_path, "--force", out=out) == 1
    assert "analysis.ipynb" in capsys.readouterr().err
    assert snapshot(out) == {**second, "analysis.ipynb": b"{}"}


def test_a_run_written_before_the_marker_existed_counts_as_a_previous_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert kospi(tmp_path, out=out) == 0
    (out / ".vibetrading-run").unlink()
    assert kospi(tmp_path, "--force", out=out) == 0


@pytest.mark.parametrize("out", ["", "."])
def test_out_refuses_the_current_directory_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, out: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("x")
    assert kospi(tmp_path, "--force", out=out) in (1, 2)
    err = capsys.readouterr().err
    assert "VT700" in err or "VT710" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_out_refuses_a_name_too_long_for_the_file_system(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert kospi(tmp_path, out=tmp_path / ("r" * 300)) == 2
    err = capsys.readouterr().err
    assert "VT710" in err and "--out" in err
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_parent_is_a_typed_error_with_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_mkdir = Path.mkdir

    def read_only(self: Path, *args: object, **kw: object) -> None:
        if self.name.startswith(".run.partial"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        real_mkdir(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "mkdir", read_only)
    assert kospi(tmp_path) == 1
    err = capsys.readouterr().err
    assert "VT703" in err and "Read-only file system" in err and str(tmp_path) in err


def test_a_report_that_cannot_be_written_keeps_the_journal_and_says_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon import report_html

    def disk_full(*args: object, **kw: object) -> str:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "report.html")

    monkeypatch.setattr(report_html, "render", disk_full)
    assert kospi(tmp_path) == 1
    err = capsys.readouterr().err
    assert "VT704" in err
    kept = tmp_path / "run.journal-kept" / "journal.vtj"
    assert str(kept) in err
    assert main(["journal", "verify", str(kept)]) == 0
    assert not (tmp_path / "run").exists()
    assert leftovers(tmp_path) == []


# ── data import --out is as safe ─────────────────────────────────────────────────────────────────


def test_data_import_out_never_destroys_anything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_bars(tmp_path, "binance-spot", "BTCUSDT", rows=50)
    args = ["data", "import", str(source), "--name", "t", "--source", "test", "--licence", "CC0-1.0"]
    existing = tmp_path / "existing.txt"
    existing.write_text("keep")
    assert main([*args, "--out", str(existing)]) == 1
    assert "VT700" in capsys.readouterr().err and existing.read_text() == "keep"
    fixture = tmp_path / "fixture"
    assert main([*args, "--out", str(fixture)]) == 0
    first = snapshot(fixture)
    capsys.readouterr()
    assert main([*args, "--out", str(fixture)]) == 1
    assert "VT702" in capsys.readouterr().err and snapshot(fixture) == first
    assert main([*args, "--out", str(fixture), "--force"]) == 0
    assert snapshot(fixture) == first  # the same import gives the same bytes


# ── options ──────────────────────────────────────────────────────────────────────────────────────

BAD_OPTIONS = [
    (["--reject-prob", "2"], "--reject-prob"),
    (["--reject-prob", "-0.1"], "--reject-prob"),
    (["--reject-every", "0"], "--reject-every"),
    (["--reject-every", "-3"], "--reject-every"),
    (["--sample-ms", "0"], "--sample-ms"),
    (["--sample-ms", "-5"], "--sample-ms"),
    (["--fee-bps", "1e999"], "--fee-bps"),
    (["--fee-bps", "-1"], "--fee-bps"),
    (["--fee-bps", "NaN"], "--fee-bps"),
    (["--latency-ms", "1e30"], "--latency-ms"),
    (["--latency-ms", "-1"], "--latency-ms"),
    (["--latency-ms", "0.0000001"], "--latency-ms"),
    (["--cash", "0"], "--cash"),
    (["--cash", "Infinity"], "--cash"),
    (["--seed", "-1"], "--seed"),
    (["--seed", str(2**64)], "--seed"),
]


@pytest.mark.parametrize(("options", "named"), BAD_OPTIONS, ids=[" ".join(o) for o, _ in BAD_OPTIONS])
def test_an_option_out_of_range_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], named: str
) -> None:
    assert kospi(tmp_path, *options) == 2
    err = capsys.readouterr().err
    assert "VT710" in err and named in err and "allowed" in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_every_option_of_replay_shows_its_default_in_help() -> None:
    done = cli("replay", "--help", timeout=30)
    assert done.returncode == 0
    # each argument's entry of the help, from its name at the start of a line to the next one's
    entries: dict[str, str] = {}
    name = ""
    for line in done.stdout.splitlines():
        if match := re.match(r"  (--?[\w-]+|\w+)", line):
            name = match.group(1)
            entries[name] = line
        elif name and line.startswith("   "):
            entries[name] += line
    flat = {option: " ".join(text.split()) for option, text in entries.items()}
    # the defaults of docs/replay.md
    defaults = {
        "strategy": "strategies/my_strategy_a.py",
        "--cash": "100000",
        "--fee-bps": "each instrument's own fees",
        "--latency-ms": "0",
        "--sample-ms": "1000",
        "--seed": "0",
        "--reject-prob": "none",
        "--reject-every": "none",
        "--out": "runs/replay",
        "--loop": "asyncio",
    }
    for option, default in defaults.items():
        assert f"(default: {default})" in flat[option], flat.get(option)
    assert "order latency, 0 to 86400000 (default: 0)" in flat["--latency-ms"]
    # every option that takes a value is above, except those that have no default to show
    valued = {o for o, text in flat.items() if re.match(rf"{o} ([A-Z][A-Z_=]*|{{[^}}]*}})", text)}
    assert valued == {*defaults, "--param", "--type", "--data", "--journal", "--config", "--instruments"} - {
        "strategy"
    }


def test_version() -> None:
    done = cli("--version", timeout=30)
    assert done.returncode == 0
    assert done.stdout.strip().startswith("vibetrading 0.")


# ── what a user must not miss ───────────────────────────────────────────────────────────────────


def test_a_run_whose_orders_were_all_rejected_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert kospi(tmp_path, "--reject-prob", "1") == 0
    err = capsys.readouterr().err
    assert "warning: every order was rejected" in err
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["warnings"] and report["warnings"][0].startswith("every order was rejected")
    assert report["fills"] == 0 and report["orders"] == report["rejected_orders"] > 0


def test_a_healthy_run_has_no_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert kospi(tmp_path) == 0
    assert "warning" not in capsys.readouterr().err
    assert json.loads((tmp_path / "run" / "report.json").read_text())["warnings"] == []


def test_a_strategy_that_never_trades_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_bars(tmp_path, "binance-spot", "BTCUSDT", rows=100)
    path = strategy(tmp_path, "noop", SINGLE_NOOP)
    out = tmp_path / "run"
    assert main(["replay", str(path), "--data", str(data), "--quiet", "--out", str(out)]) == 0
    assert "warning: the strategy sent no orders" in capsys.readouterr().err


# ── journal tools on a closed pipe ───────────────────────────────────────────────────────────────


def test_journal_export_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    # a journal whose export is far larger than a pipe's buffer, so the writer meets the closed end
    data = write_bars(tmp_path, "binance-spot", "BTCUSDT")
    path = strategy(tmp_path, "noop", SINGLE_NOOP)
    assert main(["replay", str(path), "--data", str(data), "--quiet", "--out", str(tmp_path / "run")]) == 0
    export = subprocess.Popen(
        [sys.executable, "-m", "daemon.cli", "journal", "export", str(tmp_path / "run")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert export.stdout is not None
    first = export.stdout.readline()
    export.stdout.close()  # `| head -1`
    _, err = export.communicate(timeout=30)
    assert json.loads(first)["type"]
    assert err == b""
    assert export.returncode == 0
