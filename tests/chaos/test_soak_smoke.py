"""A short soak in `make test` (`make soak` runs the long one): the daemon takes a steady quote stream
for 15 s, stays ready, is sampled each second and stops cleanly on SIGTERM; the report is complete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.chaos.soak import REPORT_KEYS, Soak, slope_per_min, write_report

pytestmark = pytest.mark.slow

SECONDS, RATE = 15, 1000


def test_slope_is_per_minute_and_flat_for_a_constant() -> None:
    assert slope_per_min([(0.0, 5.0), (1.0, 5.0), (2.0, 5.0)]) == 0
    assert slope_per_min([(0.0, 0.0), (30.0, 1.0), (60.0, 2.0)]) == pytest.approx(2.0)
    assert slope_per_min([(0.0, 1.0)]) is None


async def test_short_soak_samples_each_second_and_stops_cleanly(tmp_path: Path) -> None:
    root = tmp_path / "soak"
    root.mkdir()
    # a flip every 500 quotes: a few orders (and journal commits) in the window
    data = await Soak(SECONDS, RATE, root, every=500).run()

    assert set(REPORT_KEYS) <= data.keys()
    assert data["exit_code"] == 0, (root / "daemon.log").read_text(errors="replace")[-2000:]
    assert SECONDS - 2 <= data["samples"] <= SECONDS + 1
    times = [s["t_s"] for s in data["series"]]
    gaps = [b - a for a, b in zip([0.0, *times], times, strict=False)]
    assert all(0.5 < g < 1.8 for g in gaps), gaps
    assert data["ready_samples"] == data["samples"], [s for s in data["series"] if not s["ready"]]
    assert data["rate_achieved"] > RATE * 0.9, data["bottleneck"]
    assert data["orders"] > 0 and data["commits"] > 0 and data["commit_mean_ms"] > 0
    assert data["rss_mb_start"] > 10 and data["lag_max_ms"] is not None
    for key in ("rss_slope_mb_per_min", "lag_slope_ms_per_min", "commit_slope_ms_per_min"):
        assert isinstance(data[key], float), key
    assert write_report(data, tmp_path / "out").exists()


def test_the_chaos_summary_carries_the_soak_slopes(tmp_path: Path) -> None:
    from tests.chaos.harness import SOAK_KEYS, Summary, read_soak

    assert read_soak(tmp_path) is None
    figures = {key: 1.5 for key in SOAK_KEYS} | {"series": [], "exit_code": 0}
    (tmp_path / "soak.json").write_text(json.dumps(figures))
    summary = Summary([], soak=read_soak(tmp_path))
    assert summary.as_json()["soak"] == {key: figures[key] for key in SOAK_KEYS}
    assert "soak slopes /min" in summary.table()
    assert Summary([]).as_json()["soak"] is None


def test_a_restart_kept_not_ready_by_a_ban_is_told_apart() -> None:
    from tests.chaos.harness import _banned

    banned = {"rate_limit:binance": {"ok": False, "detail": "binance-spot: HTTP 418 ... (banned until 1)"}}
    slow = {"reconciled": {"ok": False, "detail": "reconciling"}}
    assert _banned(json.dumps({"ready": False, "checks": banned | slow}))
    assert not _banned(json.dumps({"ready": False, "checks": slow}))
    assert not _banned("not json")
