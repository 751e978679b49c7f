"""The summary table replay prints: spans and times read as such, the monthly table left to the page."""

from __future__ import annotations

from pathlib import Path

from daemon.cli import summary_table


def test_spans_times_and_months_read_as_a_person_reads_them() -> None:
    table = summary_table(
        {
            "first_ts_ns": 1_451_952_000_000_000_000,
            "avg_holding_ns": 2 * 86_400 * 10**9 + 3 * 3600 * 10**9,
            "monthly_returns": {"2016-01": "0.01", "2016-02": "-0.02"},
            "fills": 4,
        },
        Path("runs/x"),
    )
    lines = dict(line.split(None, 1) for line in table.splitlines())
    assert lines["first_ts_ns"] == "1451952000000000000 (2016-01-05 00:00:00 UTC)"
    assert lines["avg_holding_ns"] == "183600000000000 (2d 3h)"
    assert lines["monthly_returns"] == "2 months (report.json, report.html)"
    assert lines["fills"] == "4"
