"""Single-asset replay throughput on real quote ticks, repeated to reach 1M+ events.

Builds (once, in a temporary directory) a stream of the Binance USD-M BTCUSDT quotes from
../shared/data, repeated with shifted timestamps, as both a gzip CSV and a binary replay fixture;
then replays each in a fresh subprocess with the full decision journal and reports events/s and
the child's peak RSS. It replays the fixture at a quarter of the length too: peak RSS should not
grow with the stream (the replay streams, it never loads the data whole).

    python tests/bench/replay_throughput.py [--events N] [--json FILE] [--skip-csv]

Figures are for comparison within one run: ratios are trustworthy, absolute times are not.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from daemon import data  # noqa: E402
from daemon.replay import ReplayConfig, replay  # noqa: E402
from engines.model.events import QuoteTick  # noqa: E402

SOURCE = REPO.parent / "shared" / "data" / "binance-usdm_BTCUSDT_quotes_20240808.csv.gz"
STRATEGIES = {
    "sma_mid": (REPO / "tests" / "replay" / "strategies" / "mid_sma.py", ("symbol=binance-usdm:BTCUSDT",)),
    "noop": (REPO / "tests" / "bench" / "strategies" / "noop_quotes.py", ()),
}


def repeated(events: int) -> Iterator[QuoteTick]:
    base = list(data.read_events(SOURCE))
    span = base[-1].ts_event - base[0].ts_event + 1_000_000_000
    produced, shift = 0, 0
    while produced < events:
        for q in base:
            if produced == events:
                return
            assert isinstance(q, QuoteTick)
            ts = q.ts_event + shift
            yield QuoteTick(
                ts_event=ts,
                ts_init=ts,
                instrument=q.instrument,
                bid=q.bid,
                bid_size=q.bid_size,
                ask=q.ask,
                ask_size=q.ask_size,
            )
            produced += 1
        shift += span


def build(workdir: Path, events: int, *, with_csv: bool) -> dict[str, Path]:
    paths = {}
    fixture = workdir / f"fixture-{events}"
    data.write_fixture(repeated(events), fixture, name="bench", source="shared/data repeated", licence="MIT")
    paths["fixture"] = fixture
    if with_csv:
        path = workdir / "binance-usdm_BTCUSDT_quotes_bench.csv.gz"
        with gzip.open(path, "wt", newline="", compresslevel=1) as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["ts_ns", "bid", "bid_qty", "ask", "ask_qty"])
            for q in repeated(events):
                writer.writerow([q.ts_event, q.bid, q.bid_size, q.ask, q.ask_size])
        paths["csv"] = path
    return paths


def child(path: Path, strategy: str, out: Path, loop: str) -> None:
    file, params = STRATEGIES[strategy]
    cfg = ReplayConfig(
        strategy=file,
        data=(path,),
        out=out,
        params=params,
        cash=Decimal(1_000_000),
        fee_bps=Decimal(2),
        quiet=True,
        force=True,  # the same out is measured again (asyncio, then uvloop)
        loop=loop,
    )
    started = time.perf_counter()
    result = replay(cfg)
    seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "events": result.report.events,
                "seconds": seconds,
                "events_per_s": result.report.events / seconds,
                "peak_rss_mb": rss_mb,
                "fills": result.report.fills,
                "journal_records": result.report.journal_records,
            }
        )
    )


def measure(path: Path, strategy: str, workdir: Path, loop: str = "asyncio") -> dict[str, float]:
    out = workdir / f"run-{strategy}-{path.name}"
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            str(path),
            "--strategy",
            strategy,
            "--out",
            str(out),
            "--loop",
            loop,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--skip-csv", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--strategy", default="sma_mid", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--loop", default="asyncio", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.strategy, args.out, args.loop)
        return
    if not SOURCE.exists():
        sys.exit(f"{SOURCE} not found: the benchmark reads ../shared/data")
    with tempfile.TemporaryDirectory(prefix="vt-bench-") as tmp:
        workdir = Path(tmp)
        print(
            f"building {args.events:,} events (fixture{'' if args.skip_csv else ' and CSV'}) ...",
            file=sys.stderr,
        )
        big = build(workdir, args.events, with_csv=not args.skip_csv)
        small = build(workdir, args.events // 4, with_csv=False)
        rows = []
        for strategy in ("noop", "sma_mid"):
            for kind, path in sorted(big.items()):
                rows.append((f"{kind:<7} {strategy:<8} asyncio", measure(path, strategy, workdir)))
        rows.append(("fixture sma_mid  uvloop", measure(big["fixture"], "sma_mid", workdir, "uvloop")))
        rows.append(
            (
                f"fixture sma_mid  asyncio  ({args.events // 4:,} events)",
                measure(small["fixture"], "sma_mid", workdir),
            )
        )
    print(f"{'path':<44} {'events':>10} {'events/s':>10} {'peak RSS MB':>12} {'fills':>6}")
    for name, r in rows:
        rate, rss = r["events_per_s"], r["peak_rss_mb"]
        print(f"{name:<44} {r['events']:>10,} {rate:>10,.0f} {rss:>12.1f} {r['fills']:>6}")
    headline = next(r for name, r in rows if name.startswith("fixture sma_mid  asyncio") and "(" not in name)
    summary = {
        "events_per_s": round(headline["events_per_s"]),
        "peak_rss_mb": round(headline["peak_rss_mb"], 1),
        "runs": {name.strip(): r for name, r in rows},
    }
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({"events_per_s": summary["events_per_s"], "peak_rss_mb": summary["peak_rss_mb"]}))


if __name__ == "__main__":
    main()
