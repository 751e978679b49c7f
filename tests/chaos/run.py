"""``make chaos``: run the seeded chaos suite and print its summary table (tests/chaos/harness.py).

    python -m tests.chaos.run [--seeds N] [--first S] [--seed S] [--kills K] [--out runs/chaos]

Writes ``OUT/summary.json``; exits 1 when any seed lost, duplicated or blindly resent an order,
mismatched a fill or a position, did not recover, damaged its journal or leaked a secret (the failing
seeds are listed: ``--seed S`` replays one).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

from tests.chaos.harness import read_soak, run_seeds, write_summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.run", description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="how many seeds (default 20)")
    parser.add_argument("--first", type=int, default=1, help="the first seed (default 1)")
    parser.add_argument("--seed", type=int, default=None, help="run this one seed only")
    parser.add_argument("--kills", type=int, default=5, help="kills per seed (default 5)")
    parser.add_argument("--out", type=Path, default=Path("runs/chaos"))
    parser.add_argument("--keep", action="store_true", help="keep each seed's state and logs in OUT/seeds")
    parser.add_argument(
        "--brokers", action="store_true", help="every fourth seed trades a KOSPI portfolio on KIS or Kiwoom"
    )
    args = parser.parse_args(argv)
    seeds = [args.seed] if args.seed is not None else list(range(args.first, args.first + args.seeds))
    work = args.out / "seeds" if args.keep else Path(tempfile.mkdtemp(prefix="vt-chaos-"))
    try:
        summary = asyncio.run(run_seeds(seeds, work, args.kills, brokers=args.brokers))
        summary.soak = read_soak(args.out)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    path = write_summary(summary, args.out)
    print(summary.table())
    print(f"summary: {path}")
    failed = summary.as_json()["failed_seeds"]
    for seed, problems in failed.items():
        replay = f"python -m tests.chaos.run --seed {seed} --kills {args.kills} --keep"
        print(f"seed {seed} FAILED (replay: {replay})")
        for name, items in problems.items():
            for item in items[:5]:
                print(f"  {name}: {item}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
