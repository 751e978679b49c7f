"""The sweep's parsing, windows, ranking and outputs, without Ray (tests/replay/test_sweep_e2e.py runs it)."""

from __future__ import annotations

import csv
import io
import itertools
import re
from html.parser import HTMLParser

import pytest

from daemon.sweep import html
from daemon.sweep.run import OBJECTIVE_KEYS, REPORT_KEYS, render_csv
from daemon.sweep.spec import (
    Axis,
    Objective,
    SweepError,
    best_index,
    check_names,
    grid_points,
    parse_axis,
    parse_duration,
    parse_grid,
    parse_objective,
    parse_walk_forward,
    windows,
)
from engines.errors import ERROR_CODES
from engines.units import NS_PER_DAY, NS_PER_SECOND

HOUR = 3600 * NS_PER_SECOND


def test_sweep_error_code_is_registered() -> None:
    assert SweepError("x").code == "VT711"
    assert "VT711" in ERROR_CODES


# ── --grid ──────────────────────────────────────────────────────────────────────────────────────


def test_grid_values_and_ranges() -> None:
    assert parse_axis("fast=5,10, 20") == Axis("fast", ("5", "10", "20"))
    assert parse_axis("size=0.01") == Axis("size", ("0.01",))
    assert parse_axis("fast=3..6") == Axis("fast", ("3", "4", "5", "6"), "3", "6")
    decimal_range = parse_axis("w=0.1..0.5")
    assert decimal_range.values == () and not decimal_range.is_int_range


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("fast", "expected NAME=V1,V2"),
        ("=1,2", "not a parameter name"),
        ("9x=1", "not a parameter name"),
        ("fast=", "non-empty"),
        ("fast=1,,2", "non-empty"),
        ("fast=1,2,1", "given twice"),
        ("fast=9..3", "above its high end"),
        ("fast=1..999999", "more than"),
    ],
)
def test_grid_errors_are_typed(text: str, says: str) -> None:
    with pytest.raises(SweepError, match=re.escape(says)) as caught:
        parse_axis(text)
    assert caught.value.code == "VT711"
    assert caught.value.hint == ERROR_CODES["VT711"].hint


def test_grid_refuses_a_repeated_name_none_and_a_decimal_range() -> None:
    with pytest.raises(SweepError, match="given twice"):
        parse_grid(["fast=1,2", "fast=3"])
    with pytest.raises(SweepError, match="at least one --grid"):
        parse_grid([])
    with pytest.raises(SweepError, match="needs --search optuna"):
        grid_points(parse_grid(["w=0.1..0.5"]))


def test_grid_points_first_axis_slowest() -> None:
    points = grid_points(parse_grid(["fast=5,10", "slow=30,40,50"]))
    assert points == [
        {"fast": "5", "slow": "30"},
        {"fast": "5", "slow": "40"},
        {"fast": "5", "slow": "50"},
        {"fast": "10", "slow": "30"},
        {"fast": "10", "slow": "40"},
        {"fast": "10", "slow": "50"},
    ]


def test_unknown_parameter_names_the_known_ones() -> None:
    with pytest.raises(SweepError, match=r"no parameter 'fsat' \(it has: fast, slow\)"):
        check_names(parse_grid(["fsat=1"]), ["slow", "fast"])


# ── --objective and ranking ─────────────────────────────────────────────────────────────────────


def test_objective_parsing() -> None:
    assert parse_objective("sharpe", OBJECTIVE_KEYS) == Objective("sharpe", True)
    assert parse_objective("max_drawdown:min", OBJECTIVE_KEYS) == Objective("max_drawdown", False)
    with pytest.raises(SweepError, match="not a report key"):
        parse_objective("sharp", OBJECTIVE_KEYS)
    with pytest.raises(SweepError, match="not a report key"):
        parse_objective("journal_sha256", OBJECTIVE_KEYS)  # text, never a number
    with pytest.raises(SweepError, match="max or min"):
        parse_objective("sharpe:up", OBJECTIVE_KEYS)


def test_best_skips_failures_and_non_numbers_and_ties_go_to_the_first() -> None:
    values = [("error", "9"), ("ok", "n/a"), ("ok", "0.5"), ("ok", "0.7"), ("ok", "0.7"), ("ok", "-1")]
    rows = [{"status": status, "report": {"total_return": v}} for status, v in values]
    assert best_index(rows, Objective("total_return")) == 3
    assert best_index(rows, Objective("total_return", maximize=False)) == 5
    assert best_index(rows[:2], Objective("total_return")) is None


# ── --walk-forward ──────────────────────────────────────────────────────────────────────────────


def test_durations() -> None:
    assert parse_duration("90m", "x") == 90 * 60 * NS_PER_SECOND
    assert parse_duration("7d", "x") == 7 * NS_PER_DAY
    assert parse_duration("2w", "x") == 14 * NS_PER_DAY
    assert parse_walk_forward("7d/1d") == (7 * NS_PER_DAY, NS_PER_DAY)
    for bad in ("7", "0d", "1.5d", "-1d", "7y", ""):
        with pytest.raises(SweepError, match="duration"):
            parse_duration(bad, "--walk-forward")
    with pytest.raises(SweepError, match="TRAIN/TEST"):
        parse_walk_forward("7d")


def test_windows_roll_by_the_test_length_and_drop_a_partial_last_test() -> None:
    start = 1_000 * NS_PER_SECOND
    last = start + 10 * HOUR - 1  # the data covers [start, start + 10 h) to the nanosecond
    steps = windows(start, last, 4 * HOUR, 2 * HOUR)
    assert [(w.train_start, w.train_end, w.test_end) for w in steps] == [
        (start, start + 4 * HOUR, start + 6 * HOUR),
        (start + 2 * HOUR, start + 6 * HOUR, start + 8 * HOUR),
        (start + 4 * HOUR, start + 8 * HOUR, start + 10 * HOUR),
    ]
    assert [w.index for w in steps] == [0, 1, 2]
    # the test windows tile the data after the first train window, without a gap or an overlap
    for a, b in itertools.pairwise(steps):
        assert b.train_end == a.test_end
    # one nanosecond less of data and the last test window would be partial: it is dropped
    assert len(windows(start, last - 1, 4 * HOUR, 2 * HOUR)) == 2


def test_windows_on_the_ftx_month() -> None:
    first = 1_640_991_600 * NS_PER_SECOND  # 2021-12-31 23:00 UTC, the file's first bar
    last = first + 31 * NS_PER_DAY
    steps = windows(first, last, 7 * NS_PER_DAY, NS_PER_DAY)
    assert len(steps) == 24  # days 7..30 tested, one each
    assert steps[-1].test_end <= last + 1


def test_windows_refuse_data_shorter_than_one_step() -> None:
    with pytest.raises(SweepError, match="less than one train window plus one test window"):
        windows(0, 5 * NS_PER_DAY, 7 * NS_PER_DAY, NS_PER_DAY)


# ── outputs ─────────────────────────────────────────────────────────────────────────────────────


def _row(trial: int, fast: str, slow: str, value: str | None, status: str = "ok") -> dict[str, object]:
    row: dict[str, object] = {
        "trial": trial,
        "phase": "grid",
        "window": None,
        "params": {"fast": fast, "slow": slow},
        "status": status,
        "error": None if status == "ok" else "VT111: <bad> & worse",
        "objective": value,
    }
    if status == "ok":
        report = {k: "0" for k in REPORT_KEYS}
        row["report"] = {**report, "total_return": value, "arbitrages": {}, "warnings": ["a", "b"]}
    return row


def test_csv_has_one_row_per_trial_with_params_and_every_report_key() -> None:
    rows = [_row(0, "5", "30", "0.1"), _row(1, "5", "1", None, status="error")]
    parsed = list(csv.DictReader(io.StringIO(render_csv(rows, ["fast", "slow"]))))
    assert len(parsed) == 2
    assert set(REPORT_KEYS) <= set(parsed[0])
    assert parsed[0]["param.fast"] == "5" and parsed[0]["total_return"] == "0.1"
    assert parsed[0]["warnings"] == "a; b" and parsed[0]["arbitrages"] == "{}"
    assert parsed[1]["status"] == "error" and parsed[1]["error"].startswith("VT111")


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.sources += [v or "" for k, v in attrs if k in ("src", "href")]


def test_html_is_self_contained_escaped_with_a_heatmap() -> None:
    rows = [_row(0, "5", "30", "0.1"), _row(1, "5", "40", "-0.2"), _row(2, "10", "30", None, status="error")]
    meta = {"strategy": "s.py", "data": ["d.csv.gz"], "objective": "total_return:max", "best_trial": 0}
    page = html.render(rows, meta, ["fast", "slow"])
    parser = _Collect()
    parser.feed(page)
    assert parser.sources == []  # nothing fetched: no src, no href
    assert "svg" in parser.tags and "script" in parser.tags and "table" in parser.tags
    assert "<bad>" not in page and "&lt;bad&gt; &amp; worse" in page
    assert page.count("<rect") == 4  # 2 fast × 2 slow cells, the one with no trial grey
    assert "#ddd" in page


def test_heatmap_colours_follow_the_direction() -> None:
    rows = [_row(0, "5", "30", "1"), _row(1, "5", "40", "2")]
    high = html.heatmap(rows, "fast", "slow", "total_return:max")
    low = html.heatmap(rows, "fast", "slow", "total_return:min")
    fills_high = re.findall(r"fill='(rgb[^']+)'", high)
    fills_low = re.findall(r"fill='(rgb[^']+)'", low)
    assert fills_high == list(reversed(fills_low))
