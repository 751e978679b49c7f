"""Market data decode rates: CSV parsing against the binary fixture, on the real spot quotes file.

Run on demand (``make bench`` or ``.venv/bin/python tests/bench/data_decode.py``); it needs
``../shared/data`` and prints rows (events) per second, wall clock and CPU time of this process
(steadier on a busy machine). The quotes file (27,729 rows) is repeated, each copy shifted in
time so the stream stays ordered, to at least ``--events`` events. Phases:

* ``csv_reader``: ``gzip`` + ``csv.reader`` alone, no events built (the ceiling of any CSV path),
* ``csv_events``: :func:`daemon.data.read_events` (validated ``QuoteTick`` per row),
* ``fixture_<compression>``: :func:`daemon.data.read_fixture_chunks` over a fixture of the
  repeated stream, including the manifest check and the sha256 of ``events.vtm``,
* ``msgspec_structs``: for comparison, the same events as plain msgspec-encoded struct lists
  (``Decoder(list[QuoteTick | TradeTick | Bar])``, one decode per chunk), the format not chosen.
"""

from __future__ import annotations

import argparse
import csv
import gc
import gzip
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from timeit import default_timer as wall_clock

import msgspec

from daemon import data
from engines.model.events import Bar, MarketEvent, QuoteTick, TradeTick

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
QUOTES = SHARED / "binance-spot_BTCUSDT_quotes_20240808.csv.gz"


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def timed(fn: Callable[[], int]) -> tuple[int, float, float]:
    gc.collect()
    start, cpu = wall_clock(), _cpu()
    count = fn()
    return count, wall_clock() - start, _cpu() - cpu


def repeated(events: list[MarketEvent], copies: int) -> list[MarketEvent]:
    """``copies`` copies of ``events`` back to back, each shifted past the end of the previous."""
    span = events[-1].ts_event - events[0].ts_event + 1_000_000
    out: list[MarketEvent] = []
    for k in range(copies):
        shift = k * span
        out.extend(
            msgspec.structs.replace(e, ts_event=e.ts_event + shift, ts_init=e.ts_init + shift) for e in events
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000, help="at least this many events")
    parser.add_argument("--chunk", type=int, default=data.DEFAULT_CHUNK, help="fixture chunk size")
    parser.add_argument("--repeat", type=int, default=3, help="runs per phase; the best is kept")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if not QUOTES.is_file():
        print(f"skipped: {QUOTES} is not there", file=sys.stderr)
        return 0

    base = list(data.read_events(QUOTES))
    copies = -(-args.events // len(base))
    events = repeated(base, copies)
    total = len(events)
    results: dict[str, object] = {
        "file": QUOTES.name,
        "copies": copies,
        "events": total,
        "chunk": args.chunk,
        "python": platform.python_version(),
        "msgspec": msgspec.__version__,
        "machine": platform.machine(),
    }

    def measure(name: str, fn: Callable[[], int], expected: int) -> None:
        best: tuple[float, float] | None = None
        for _ in range(args.repeat):
            count, seconds, cpu = timed(fn)
            assert count == expected, (name, count, expected)
            if best is None or cpu < best[1]:
                best = (seconds, cpu)
        assert best is not None
        seconds, cpu = best
        rate, cpu_rate = expected / seconds, expected / max(cpu, 1e-9)
        results[name] = {
            "rows": expected,
            "seconds": round(seconds, 3),
            "cpu_seconds": round(cpu, 3),
            "rows_per_s": round(rate),
            "rows_per_cpu_s": round(cpu_rate),
        }
        print(
            f"{name:18s} {expected:>9,d} rows in {seconds:6.2f} s  {rate:>10,.0f} rows/s"
            f"  (CPU {cpu:6.2f} s, {cpu_rate:>10,.0f} rows/CPU-s)"
        )

    def csv_reader() -> int:
        n = 0
        for _ in range(copies):
            with gzip.open(QUOTES, "rt", newline="") as fh:
                rows = csv.reader(fh)
                next(rows)
                for _row in rows:
                    n += 1
        return n

    def csv_events() -> int:
        n = 0
        for _ in range(copies):
            for _event in data.read_events(QUOTES):
                n += 1
        return n

    measure("csv_reader", csv_reader, total)
    measure("csv_events", csv_events, total)

    with tempfile.TemporaryDirectory() as tmp:
        for compression in ("none", "zlib"):
            fixture = Path(tmp) / compression
            manifest = data.write_fixture(
                events,
                fixture,
                name="bench",
                source=f"{QUOTES.name} repeated {copies} times",
                licence="MIT",
                chunk_size=args.chunk,
                compression=compression,
            )
            results[f"fixture_{compression}_bytes"] = manifest.events_bytes

            def read(fixture: Path = fixture) -> int:
                return sum(len(chunk) for chunk in data.read_fixture_chunks(fixture))

            measure(f"fixture_{compression}", read, total)
            print(f"{'':18s} events.vtm {manifest.events_bytes:,d} bytes ({compression})")

        encoder = msgspec.msgpack.Encoder()
        decoder = msgspec.msgpack.Decoder(list[QuoteTick | TradeTick | Bar])
        plain = [encoder.encode(events[i : i + args.chunk]) for i in range(0, total, args.chunk)]
        measure("msgspec_structs", lambda: sum(len(decoder.decode(c)) for c in plain), total)
        results["msgspec_structs_bytes"] = sum(len(c) for c in plain)

    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
