"""`vibetrading replay` and `vibetrading journal` as a user runs them: outputs, report keys, refusals."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from daemon.cli import main

FIXTURE = REPO / "replay_fixtures" / "krx-kospi6-daily"
REPORT_KEYS = {
    "final_equity",
    "round_trips",
    "orders",
    "fills",
    "fees",
    "events",
    "min_cash",
    "journal_sha256",
    "total_return",
    "max_drawdown",
    "sharpe",
    "exposure",
    "win_rate",
}


def replay(tmp_path: Path, *extra: str, data: Path = FIXTURE) -> int:
    return main(
        [
            "replay",
            "--data",
            str(data),
            "--cash",
            "10000000",
            "--fee-bps",
            "15",
            "--quiet",
            "--out",
            str(tmp_path / "run"),
            *extra,
        ]
    )


def test_replay_of_the_bundled_fixture_writes_every_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert replay(tmp_path, "--json") == 0
    printed = json.loads(capsys.readouterr().out)
    out = tmp_path / "run"
    assert sorted(p.name for p in out.iterdir()) == [
        ".vibetrading-run",
        "equity.csv",
        "journal.vtj",
        "report.html",
        "report.json",
        "trades.csv",
    ]
    report = json.loads((out / "report.json").read_text())
    assert report == printed
    assert report.keys() >= REPORT_KEYS
    assert isinstance(report["final_equity"], str)
    assert report["events"] == 976  # krx:005930 bars in the fixture
    assert report["fills"] > 0
    assert "<svg" in (out / "report.html").read_text()


def test_journal_verify_and_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert replay(tmp_path) == 0
    capsys.readouterr()
    run = tmp_path / "run"
    assert main(["journal", "verify", str(run)]) == 0
    assert capsys.readouterr().out.startswith("OK ")
    assert main(["journal", "export", str(run), "--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    types = {line["type"] for line in lines}
    assert {"RunStarted", "InstrumentDefined", "OrderSubmitted", "OrderAccepted", "OrderFilled"} <= types
    assert [line["seq"] for line in lines] == list(range(1, len(lines) + 1))


def test_journal_verify_detects_a_flipped_byte(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert replay(tmp_path) == 0
    journal = tmp_path / "run" / "journal.vtj"
    raw = bytearray(journal.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    journal.write_bytes(bytes(raw))
    capsys.readouterr()
    assert main(["journal", "verify", str(tmp_path / "run"), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] in {
        "VT601",
        "VT602",
        "VT603",
        "VT604",
        "VT607",
    }


def _bad_file(tmp_path: Path, body: str, name: str = "ftx_BTC-PERP_bars1m_bad.csv.gz") -> Path:
    path = tmp_path / name
    with gzip.open(path, "wt") as f:
        f.write(body)
    return path


HEADER = "ts_ns,open,high,low,close,volume\n"
ROW = "1700000000000000000,100,101,99,100,1\n"
MALFORMED = {
    "missing column": ("ts_ns,open,high,low,close\n1700000000000000000,1,1,1,1\n", "VT502"),
    "non-monotonic timestamps": (HEADER + "1700000060000000000,1,1,1,1,1\n" + ROW, "VT505"),
    "NaN": (HEADER + "1700000000000000000,NaN,1,1,1,1\n", "VT504"),
    "negative price": (HEADER + "1700000000000000000,-1,1,-1,1,1\n", "VT504"),
    "garbage number": (HEADER + "1700000000000000000,1x,1,1,1,1\n", "VT504"),
    "short row": (HEADER + "1700000000000000000,1,1,1\n", "VT503"),
    "header with no rows": (HEADER, "VT506"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_data_is_refused_and_leaves_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    body, code = MALFORMED[case]
    bad = _bad_file(tmp_path, body)
    strategy = REPO / "strategies" / "examples" / "sma_cross.py"
    rc = main(["replay", str(strategy), "--data", str(bad), "--quiet", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert rc == 1
    assert code in err
    assert bad.name in err
    assert not (tmp_path / "run").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")], "no partial output left behind"


@pytest.mark.parametrize(
    ("payload", "code"),
    [(b"not gzip at all", "VT500"), (gzip.compress((HEADER + ROW * 50).encode(), mtime=0)[:60], "VT500")],
)
def test_truncated_or_non_gzip_file_has_no_traceback(tmp_path: Path, payload: bytes, code: str) -> None:
    bad = tmp_path / "ftx_BTC-PERP_bars1m_bad.csv.gz"
    bad.write_bytes(payload)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "daemon.cli",
            "replay",
            "strategies/examples/sma_cross.py",
            "--data",
            str(bad),
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 1
    assert code in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()


def test_a_universe_symbol_without_data_fails_fast(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = replay(tmp_path, "--param", "symbol=krx:000660")
    err = capsys.readouterr().err
    assert rc == 1
    assert "VT510" in err and "krx:000660" in err
    assert not (tmp_path / "run").exists()


def test_report_has_the_portfolio_and_arbitrage_keys_for_every_type(tmp_path: Path) -> None:
    assert replay(tmp_path, "--quiet") == 0
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["rebalances"] == 0
    assert report["stale_snapshots"] == 0
    assert report["arbitrages"] == {}


def test_injected_rejects_reach_the_venue(tmp_path: Path) -> None:
    assert replay(tmp_path, "--quiet", "--reject-every", "2") == 0
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["rejected_orders"] > 0
    assert report["rejected_orders"] == report["orders"] - report["fills"]


def test_bar_replays_sample_equity_at_every_bar(tmp_path: Path) -> None:
    assert replay(tmp_path, "--quiet") == 0
    run = tmp_path / "run"
    rows = (run / "equity.csv").read_text().splitlines()[1:]
    report = json.loads((run / "report.json").read_text())
    stamps = [int(row.split(",")[0]) for row in rows]
    assert len(stamps) == report["events"]  # one bar per instant for a single symbol
    assert stamps == sorted(set(stamps))
