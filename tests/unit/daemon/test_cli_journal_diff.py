"""``vibetrading journal diff A B``: exit 0 and one line when the journals agree, 1 and the first
divergence when they do not, 2 when a journal is missing, 1 when one is damaged."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.journal import FileJournal
from engines.model.events import Event, StrategyLog, TimerFired, TradingHalted


def _journal(path: Path, events: Sequence[Event]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileJournal(path) as journal:
        journal.append(events)
    return path


def _events(reason: str = "maintenance", ts_init: int = 10) -> list[Event]:
    return [
        TimerFired(ts_event=1, ts_init=ts_init),
        StrategyLog(ts_event=2, ts_init=ts_init, strategy="s", message="hello"),
        TradingHalted(ts_event=3, ts_init=ts_init, reason=reason, source="operator"),
    ]


def test_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _journal(tmp_path / "a" / "journal.vtj", _events())
    b = _journal(tmp_path / "b" / "journal.vtj", _events(ts_init=99))  # ts_init is not compared
    assert main(["journal", "diff", str(a.parent), str(b)]) == 0  # a directory names its journal
    assert capsys.readouterr().out == "journals agree on 3 events (ignoring seq, ts_init)\n"
    assert main(["journal", "diff", str(a), str(b), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["agree"] is True and out["divergence"] is None and out["compared"] == 3


def test_differ(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _journal(tmp_path / "a.vtj", _events())
    b = _journal(tmp_path / "b.vtj", _events(reason="lunch"))
    assert main(["journal", "diff", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith(f"first divergence at event 2 (seq 3 in {a}, seq 3 in {b}): type TradingHalted")
    assert f'field reason: {a}="maintenance" {b}="lunch"' in first
    assert main(["journal", "diff", str(a), str(b), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["agree"] is False and out["divergence"]["fields"] == ["reason"]


def test_decisions_only_skips_the_rest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _journal(tmp_path / "a.vtj", _events())
    b = _journal(tmp_path / "b.vtj", _events()[1:])  # no timer: every event shifts
    assert main(["journal", "diff", str(a), str(b)]) == 1
    capsys.readouterr()
    assert main(["journal", "diff", str(a), str(b), "--decisions-only"]) == 0
    assert capsys.readouterr().out.startswith("journals agree on 2 decision events")


def test_one_journal_shorter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _journal(tmp_path / "a.vtj", _events())
    b = _journal(tmp_path / "b.vtj", _events()[:2])
    assert main(["journal", "diff", str(a), str(b)]) == 1
    assert f"{b} ends after 2 events; {a} continues with type TradingHalted" in capsys.readouterr().out


def test_missing_and_damaged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _journal(tmp_path / "a.vtj", _events())
    assert main(["journal", "diff", str(a), str(tmp_path / "nope.vtj")]) == 2
    assert "no journal here" in capsys.readouterr().err
    damaged = tmp_path / "damaged.vtj"
    data = bytearray(a.read_bytes())
    data[-1] ^= 0xFF  # the last record's checksum no longer matches
    damaged.write_bytes(bytes(data))
    assert main(["journal", "diff", str(a), str(damaged)]) == 1
    assert "VT60" in capsys.readouterr().err
