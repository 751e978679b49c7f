"""Sweep scaling on Ray: trials per second with 1 and 2 workers, and the overhead of a trial.

Runs the SMA cross example over the FTX BTC-PERP minute bars (a month, ~45k bars) for N parameter
sets (fast × slow), three ways in one process:

* **plain**: each trial as ``replay()`` alone, one after another (what N ``vibetrading replay``
  runs cost, less the interpreter start-up);
* **sweep, 1 worker** and **sweep, 2 workers**: ``run_sweep`` on a local Ray of that many CPUs
  (Ray's start-up timed apart: a sweep pays it once).

Every sweep trial's journal digest must equal its plain replay's (the issue's "each trial equal to
its single replay"); the bench exits 1 otherwise. The overhead per trial is the 1-worker sweep's
time per trial minus the plain replay's: scheduling, argument and result transfer, the output
directory and the results files.

    python tests/bench/sweep_scaling.py [--trials N] [--data FILE] [--json FILE]

Figures are for comparison within one run: the ratios are what to read, and on a 2-core machine
shared with other work the 2-worker figure is bounded by the cores actually free.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import msgspec

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from daemon.replay import ReplayConfig, replay  # noqa: E402
from daemon.sweep.run import RayPool, SweepConfig, run_sweep  # noqa: E402
from daemon.sweep.spec import Axis, Objective, grid_points  # noqa: E402

FTX = REPO.parent / "shared" / "data" / "ftx_BTC-PERP_bars1m_20211231-20220201.csv.gz"
SMA = REPO / "strategies" / "examples" / "sma_cross.py"
FAST = ("3", "5", "8", "10", "13")
SLOW = ("20", "30", "40", "50", "60", "90", "120", "200")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=20, help="parameter sets: 5, 10, ... 40")
    ap.add_argument("--data", type=Path, default=FTX)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    if args.trials % len(FAST) or not 0 < args.trials <= len(FAST) * len(SLOW):
        ap.error(f"--trials: a multiple of {len(FAST)}, at most {len(FAST) * len(SLOW)}")
    axes = (Axis("fast", FAST), Axis("slow", SLOW[: args.trials // len(FAST)]))
    points = grid_points(axes)
    work = Path(tempfile.mkdtemp(prefix="vt-sweep-bench-"))
    base = ReplayConfig(
        strategy=SMA, data=(args.data,), out=work / "x", cash=Decimal(10_000), fee_bps=Decimal(10), quiet=True
    )

    started = time.perf_counter()
    plain: dict[tuple[str, str], str] = {}
    for i, p in enumerate(points):
        cfg = ReplayConfig(
            strategy=SMA,
            data=(args.data,),
            out=work / f"plain{i}",
            params=tuple(f"{k}={v}" for k, v in p.items()),
            cash=Decimal(10_000),
            fee_bps=Decimal(10),
            quiet=True,
        )
        plain[(p["fast"], p["slow"])] = replay(cfg).report.journal_sha256
    plain_s = time.perf_counter() - started
    per_replay = plain_s / len(points)
    print(f"plain replay: {len(points)} trials in {plain_s:.2f} s, {per_replay:.3f} s each", flush=True)

    figures: dict[str, object] = {
        "trials": len(points),
        "data": args.data.name,
        "plain_s_per_trial": round(per_replay, 4),
    }
    equal = True
    for workers in (1, 2):
        t0 = time.perf_counter()
        pool = RayPool(workers=workers)
        ray_start = time.perf_counter() - t0
        try:
            sweep = SweepConfig(
                base=msgspec.structs.replace(base, out=work / f"sweep{workers}"),
                axes=axes,
                objective=Objective("total_return"),
                workers=workers,
                progress=False,
            )
            t1 = time.perf_counter()
            result = run_sweep(sweep, pool=pool, stream=io.StringIO())
            wall = time.perf_counter() - t1
        finally:
            pool.close()
        mismatched = [
            r["trial"]
            for r in result.rows
            if r["status"] != "ok" or r["journal_sha256"] != plain[(r["params"]["fast"], r["params"]["slow"])]
        ]
        equal = equal and not mismatched and len(result.rows) == len(points)
        rate = len(result.rows) / wall
        worker_s = wall * workers / len(result.rows)  # a worker's time per trial
        overhead = worker_s - per_replay
        print(
            f"sweep, {workers} worker{'s' if workers > 1 else ''}: {len(result.rows)} trials in {wall:.2f} s "
            f"= {rate:.2f} trials/s (Ray start {ray_start:.1f} s); per trial {worker_s:.3f}"
            f" s of a worker, overhead {overhead * 1000:+.0f} ms against a plain replay; "
            f"equal to plain replays: {'all' if not mismatched else f'NO, trials {mismatched}'}",
            flush=True,
        )
        figures[f"workers_{workers}"] = {
            "wall_s": round(wall, 3),
            "trials_per_s": round(rate, 3),
            "ray_start_s": round(ray_start, 2),
            "overhead_ms_per_trial": round(overhead * 1000, 1),
            "all_equal_to_plain": not mismatched,
        }
    w1, w2 = figures["workers_1"], figures["workers_2"]
    assert isinstance(w1, dict) and isinstance(w2, dict)
    print(f"speed-up 2 workers / 1 worker: {w2['trials_per_s'] / w1['trials_per_s']:.2f}x")
    print(f"outputs kept in {work}")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
