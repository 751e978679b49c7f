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
  (``Decoder(list[QuoteTick | TradeTick | Bar])``, one decode per chunk), the format not chosen,
* ``decode <file>``: :func:`daemon.data.read_events` over each CSV file of ``../shared/data`` the
  reader supports (quotes, trades, minute bars, a daily OHLCV panel, a wide close panel) and over the
  USD-M quotes repeated to ``--events`` rows in one gzip file (the same-workload benchmark's input),
  drained by a C consumer (``collections.deque(maxlen=0)``), so the figure is the decode alone.
"""

from __future__ import annotations

import argparse
import collections
import csv
import gc
import gzip
import json
import os
import platform
import sys
import tempfile
import time
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


def decode_files(events: int, repeat: int, results: dict[str, object]) -> None:
    """Rows per second of :func:`daemon.data.read_events` for each shared CSV file (best CPU of
    ``repeat`` runs), and for the USD-M quotes repeated to ``events`` rows as the same-workload
    benchmark writes them."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import same_workload  # a sibling script, not a package

    files = sorted(p for p in SHARED.glob("*.csv.gz") if _supported(p))
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / same_workload.SOURCE.name
        same_workload.build(big, events)
        decoded: dict[str, object] = {}
        for path in [*files, big]:
            label = path.name if path is not big else f"{path.name} x{events:,d}"
            rows = sum(1 for _ in data.read_events(path))
            best: tuple[float, float] | None = None
            for _ in range(repeat):
                gc.collect()
                # process_time: os.times ticks in 10 ms, coarse for the small files
                start, cpu = wall_clock(), time.process_time()
                collections.deque(data.read_events(path), maxlen=0)
                seconds, cpu = wall_clock() - start, time.process_time() - cpu
                if best is None or cpu < best[1]:
                    best = (seconds, cpu)
            assert best is not None
            seconds, cpu = best
            per_million = cpu / rows * 1e6
            decoded[label] = {
                "rows": rows,
                "seconds": round(seconds, 3),
                "cpu_seconds": round(cpu, 3),
                "cpu_s_per_1m_rows": round(per_million, 3),
            }
            print(
                f"decode {label:60s} {rows:>9,d} rows  CPU {cpu:6.3f} s  ({per_million:5.2f} CPU-s/1M rows)"
            )
        results["decode"] = decoded


def _supported(path: Path) -> bool:
    try:
        data.describe(path)
    except data.DataError:
        return False
    return True


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
    decode_files(args.events, args.repeat, results)

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
