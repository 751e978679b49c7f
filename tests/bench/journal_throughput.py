"""Journal throughput: append + flush of QuoteTick events through FileJournal, then the read-back.

Run on demand (``make bench`` or ``.venv/bin/python tests/bench/journal_throughput.py``); it prints
events per second for each phase and with ``--json FILE`` writes them as JSON. Building the events
is not timed. Phases:

* ``append_batched``: ``append`` with ``--batch`` events per call (how replay hands over a batch),
* ``append_single``: ``append`` with one event per call (an engine loop journalling each event),
* ``open``: opening the finished file (checks every record's length, checksum and ``seq``),
* ``read``: ``read()`` of the whole file, decoding every event,
* ``verify``: :func:`daemon.journal.verify` (checksums, decode and sequence of every record).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from timeit import default_timer as wall_clock

import msgspec

from daemon.journal import FileJournal, verify
from engines.model.events import Event, QuoteTick

T0 = 1_700_000_000_000_000_000


def make_events(n: int) -> list[Event]:
    bid = Decimal("43000.12")
    tick = Decimal("0.01")
    return [
        QuoteTick(
            ts_event=T0 + i * 1_000_000,
            ts_init=T0 + i * 1_000_000 + 250_000,
            instrument="binance-spot:BTCUSDT",
            bid=bid + tick * (i % 500),
            bid_size=Decimal("1.532"),
            ask=bid + tick * (i % 500 + 1),
            ask_size=Decimal("0.25"),
        )
        for i in range(n)
    ]


def timed(fn: Callable[[], int]) -> tuple[int, float, float]:
    """(result, wall seconds, CPU seconds of this process): CPU time is steadier on a busy machine."""
    gc.collect()
    start, cpu = wall_clock(), _cpu()
    count = fn()
    return count, wall_clock() - start, _cpu() - cpu


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=4096, help="events per append call")
    parser.add_argument("--batch-records", type=int, default=4096, help="FileJournal batch_records")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--dir", type=Path, help="where to put the journal (default: a temp dir)")
    args = parser.parse_args(argv)

    events = make_events(args.events)
    results: dict[str, object] = {
        "events": args.events,
        "batch": args.batch,
        "batch_records": args.batch_records,
        "python": platform.python_version(),
        "msgspec": msgspec.__version__,
        "machine": platform.machine(),
    }
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "bench.vtj"

        def append_batched() -> int:
            with FileJournal(path, batch_records=args.batch_records) as journal:
                for i in range(0, len(events), args.batch):
                    journal.append(events[i : i + args.batch])
                journal.flush()
                return journal.last_seq

        def append_single() -> int:
            single = Path(tmp) / "single.vtj"
            with FileJournal(single, batch_records=args.batch_records) as journal:
                for event in events:
                    journal.append([event])
                journal.flush()
                return journal.last_seq

        def open_existing() -> int:
            with FileJournal(path) as journal:
                return journal.last_seq

        def verify_all() -> int:
            return verify(path).records

        def measure(name: str, fn: Callable[[], int]) -> None:
            count, seconds, cpu = timed(fn)
            assert count == args.events, (name, count)
            rate, cpu_rate = count / seconds, count / cpu
            results[name] = {
                "seconds": round(seconds, 3),
                "cpu_seconds": round(cpu, 3),
                "events_per_s": round(rate),
                "events_per_cpu_s": round(cpu_rate),
            }
            print(
                f"{name:15s} {count:>9,d} events in {seconds:6.2f} s  {rate:>10,.0f} events/s"
                f"  (CPU {cpu:6.2f} s, {cpu_rate:>10,.0f} events/CPU-s)"
            )

        measure("append_batched", append_batched)
        measure("append_single", append_single)
        measure("open", open_existing)
        with FileJournal(path) as reader:  # opened outside the timing: "open" measures that
            measure("read", lambda: sum(1 for _ in reader.read()))
        measure("verify", verify_all)
        size = path.stat().st_size
        results["bytes"] = size
        results["bytes_per_event"] = round(size / args.events, 1)
        print(f"journal size    {size:,d} bytes ({size / args.events:.1f} bytes/event)")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
