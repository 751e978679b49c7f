"""Journal commit: what making an order intent durable costs, one at a time and in groups.

Run on demand (``make bench`` or ``.venv/bin/python tests/bench/journal_commit.py``); it prints the
figures and with ``--json FILE`` writes them as JSON. Each phase runs for ``--seconds`` (default 2;
about 10 s in all). Phases:

* ``raw_fdatasync``: ``os.write`` of one intent's record then ``os.fdatasync``, on a bare file: the
  machine's floor for one durable intent;
* ``barrier_single``: :class:`daemon.journal.writer.JournalWriter`, one coroutine appending one
  ``OrderSubmitted`` then awaiting ``barrier()``, in a loop: the latency one intent sees (p50/p99);
* ``group_commit``: ``--coroutines`` (100) coroutines each doing the same in a loop: intents per
  second and fsyncs per intent when barriers share commits, and the barrier latency under that load;
* ``naive_durable``: the baseline, :class:`daemon.journal.FileJournal` with ``durable=True``
  (write + fsync inside ``append``, on the loop thread), one intent per append.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from time import perf_counter

import msgspec

from daemon.journal import FileJournal, MemoryJournal, verify
from daemon.journal.writer import JournalWriter
from engines.model.enums import OrderType, Side
from engines.model.events import OrderSubmitted

T0 = 1_700_000_000_000_000_000


def intent(i: int) -> OrderSubmitted:
    return OrderSubmitted(
        ts_event=T0 + i,
        ts_init=T0 + i,
        strategy="bench",
        client_order_id=f"bench-{i:09d}",
        instrument="binance-spot:BTCUSDT",
        side=Side.BUY if i % 2 else Side.SELL,
        order_type=OrderType.LIMIT,
        quantity=Decimal("0.015"),
        price=Decimal("43000.10"),
        venue="binance",
    )


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50, p99, max and mean, in microseconds."""
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6

    return {
        "p50_us": round(at(0.50), 1),
        "p99_us": round(at(0.99), 1),
        "max_us": round(ordered[-1] * 1e6, 1),
        "mean_us": round(statistics.fmean(ordered) * 1e6, 1),
    }


def raw_fdatasync(directory: Path, seconds: float) -> dict[str, object]:
    record = MemoryJournal()
    record.append([intent(0)])
    data = record.image()[8:]  # one intent's record, as the journal writes it
    sync = getattr(os, "fdatasync", os.fsync)
    path = directory / "raw.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    samples: list[float] = []
    try:
        deadline = perf_counter() + seconds
        while perf_counter() < deadline:
            start = perf_counter()
            os.write(fd, data)
            sync(fd)
            samples.append(perf_counter() - start)
    finally:
        os.close(fd)
        path.unlink()
    return {"syncs": len(samples), "record_bytes": len(data), **percentiles(samples)}


async def barrier_single(path: Path, seconds: float) -> dict[str, object]:
    samples: list[float] = []
    async with JournalWriter(path) as writer:
        deadline = perf_counter() + seconds
        i = 0
        while perf_counter() < deadline:
            start = perf_counter()
            writer.append([intent(i)])
            await writer.barrier()
            samples.append(perf_counter() - start)
            i += 1
        commits = writer.commits
    elapsed = sum(samples)
    return {
        "intents": len(samples),
        "commits": commits,
        "intents_per_s": round(len(samples) / elapsed),
        **percentiles(samples),
    }


async def group_commit(path: Path, seconds: float, coroutines: int) -> dict[str, object]:
    samples: list[float] = []
    async with JournalWriter(path) as writer:
        deadline = perf_counter() + seconds
        counter = 0

        async def worker() -> None:
            nonlocal counter
            while perf_counter() < deadline:
                start = perf_counter()
                counter += 1
                writer.append([intent(counter)])
                await writer.barrier()
                samples.append(perf_counter() - start)

        started = perf_counter()
        await asyncio.gather(*(worker() for _ in range(coroutines)))
        elapsed = perf_counter() - started
        commits, committed = writer.commits, writer.events_committed
        commit_times = list(writer.commit_seconds)
    return {
        "coroutines": coroutines,
        "intents": len(samples),
        "commits": commits,
        "intents_per_commit": round(committed / max(commits, 1), 1),
        "intents_per_s": round(len(samples) / elapsed),
        "barrier": percentiles(samples),
        "commit_p50_us": round(statistics.median(commit_times) * 1e6, 1) if commit_times else None,
    }


def naive_durable(path: Path, seconds: float) -> dict[str, object]:
    samples: list[float] = []
    with FileJournal(path, durable=True) as journal:
        deadline = perf_counter() + seconds
        i = 0
        while perf_counter() < deadline:
            start = perf_counter()
            journal.append([intent(i)])
            samples.append(perf_counter() - start)
            i += 1
    return {
        "intents": len(samples),
        "intents_per_s": round(len(samples) / sum(samples)),
        **percentiles(samples),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=2.0, help="duration of each phase")
    parser.add_argument("--coroutines", type=int, default=100, help="concurrent intents in group_commit")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio", help="event loop")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--dir", type=Path, help="where to put the journals (default: a temp dir)")
    args = parser.parse_args(argv)

    loop_factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    if args.loop == "uvloop":
        import uvloop

        loop_factory = uvloop.new_event_loop
    results: dict[str, object] = {
        "seconds_per_phase": args.seconds,
        "loop": args.loop,
        "python": platform.python_version(),
        "msgspec": msgspec.__version__,
        "machine": platform.machine(),
    }
    with (
        tempfile.TemporaryDirectory(dir=args.dir) as tmp,
        asyncio.Runner(loop_factory=loop_factory) as runner,
    ):
        directory = Path(tmp)
        raw = results["raw_fdatasync"] = raw_fdatasync(directory, args.seconds)
        print(
            f"raw_fdatasync   {raw['syncs']:>7,d} write+fdatasync of {raw['record_bytes']} bytes"
            f"   p50 {raw['p50_us']:>8,.1f} us  p99 {raw['p99_us']:>8,.1f} us"
        )
        single = results["barrier_single"] = runner.run(
            barrier_single(directory / "single.vtj", args.seconds)
        )
        print(
            f"barrier_single  {single['intents']:>7,d} intents, 1 per barrier"
            f"          p50 {single['p50_us']:>8,.1f} us  p99 {single['p99_us']:>8,.1f} us"
            f"  {single['intents_per_s']:>9,d} intents/s"
        )
        group = results["group_commit"] = runner.run(
            group_commit(directory / "group.vtj", args.seconds, args.coroutines)
        )
        barrier = group["barrier"]
        assert isinstance(barrier, dict)
        print(
            f"group_commit    {group['intents']:>7,d} intents, {group['coroutines']} coroutines,"
            f" {group['commits']:,d} fsyncs ({group['intents_per_commit']} intents/fsync)"
            f"   barrier p50 {barrier['p50_us']:>8,.1f} us  p99 {barrier['p99_us']:>8,.1f} us"
            f"  {group['intents_per_s']:>9,d} intents/s"
        )
        naive = results["naive_durable"] = naive_durable(directory / "naive.vtj", args.seconds)
        print(
            f"naive_durable   {naive['intents']:>7,d} intents, fsync per append"
            f"        p50 {naive['p50_us']:>8,.1f} us  p99 {naive['p99_us']:>8,.1f} us"
            f"  {naive['intents_per_s']:>9,d} intents/s"
        )
        speedup = group["intents_per_s"] / naive["intents_per_s"]  # type: ignore[operator]
        results["group_vs_naive"] = round(speedup, 1)
        print(f"group commit / naive: {speedup:.1f}x the intents per second")
        for name in ("single.vtj", "group.vtj", "naive.vtj"):
            report = verify(directory / name)
            assert report.ok, report.error
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
