"""The soak: a live session under a dense market stream, sampled each second, reporting slopes.

    python -m tests.chaos.soak --seconds N --rate R [--out runs/chaos] [--keep]

The Binance emulator runs in this process with its random walk off; a feeder task publishes ``R``
quotes a second for ``BTCUSDT`` through ``exchange.quote`` (batched per loop turn, paced against the
wall clock so a late turn catches up), and ``vibetrading run`` trades them in live mode with a
single-asset strategy that flips its position every ``EVERY`` quotes: orders do happen, but the load
is market data. Each second the sampler reads the daemon's RSS (``/proc/PID/status`` VmRSS), its CPU
time, ``/metrics`` (loop lag, journal commit histogram, market events) and ``/readyz``. At the end the
daemon gets SIGTERM, and the least-squares slopes per minute of RSS, loop lag and commit time, the
largest lag and the achieved event rate go to ``OUT/soak.json`` and a table.

Flat slopes are the goal: a leak shows as an RSS slope, a queue that grows as a lag slope, a journal
that slows with size as a commit slope. The achieved rate is measured at the daemon (deltas of
``vibetrading_events_total{kind="market"}``), and when it falls short of the rate asked the report
says which side could not keep up: the feeder in this process or the daemon.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
from prometheus_client.parser import text_string_to_metric_families

from adapters.binance.emulator import serve_binance
from adapters.emulator import EmulatorOptions
from adapters.emulator.server import RunningEmulator
from tests.chaos.harness import BTC, REPO, VIBETRADING

#: quotes between two flips of the strategy's position: about one order a second at 5,000/s
EVERY = 5000
READY_TIMEOUT_S = 30.0
#: the feeder's turn: shorter smooths the stream, longer costs less per quote
FEED_TICK_S = 0.005
#: at most this many seconds of backlog are published in one turn (a stalled loop must not burst)
MAX_CATCH_UP_S = 0.2
REPORT_KEYS = (
    "seconds",
    "rate_asked",
    "rate_achieved",
    "samples",
    "rss_mb_start",
    "rss_mb_end",
    "rss_slope_mb_per_min",
    "lag_max_ms",
    "lag_slope_ms_per_min",
    "commit_mean_ms",
    "commit_slope_ms_per_min",
    "exit_code",
)


@dataclasses.dataclass
class Sample:
    t_s: float  # since the first sample
    rss_mb: float
    lag_ms: float
    #: the mean group commit over the last second, None when nothing was committed in it
    commit_ms: float | None
    events_per_s: float
    sent_per_s: float
    cpu_pct: float  # the daemon process, of one core
    ready: bool


@dataclasses.dataclass
class Scrape:
    market_events: float = 0.0
    commit_sum: float = 0.0
    commit_count: float = 0.0
    lag_s: float = 0.0
    orders: float = 0.0
    reconnects: float = 0.0


@dataclasses.dataclass
class Feeder:
    """Publishes quotes into the emulator's exchange at ``rate`` a second."""

    emulator: RunningEmulator
    rate: float
    sent: int = 0
    behind_turns: int = 0
    rng: random.Random = dataclasses.field(default_factory=lambda: random.Random(12))

    async def run(self) -> None:
        exchange = self.emulator.exchange
        spec = exchange.specs[BTC]
        tick = spec.tick_size
        # the prices and sizes are drawn from small precomputed pools: Decimal arithmetic per quote
        # would make this process, not the daemon, the first thing to saturate
        base = Decimal(43_000)
        levels = [base + tick * i for i in range(-2000, 2001)]
        sizes = [spec.lot_size * n for n in (100, 250, 500, 1000, 2500, 5000)]
        level = len(levels) // 2
        start = time.monotonic()
        while True:
            due = int((time.monotonic() - start) * self.rate)
            batch = due - self.sent
            cap = int(self.rate * MAX_CATCH_UP_S) or 1
            if batch > cap:
                self.behind_turns += 1
                self.sent += batch - cap  # skipped: the report shows the shortfall, not a burst
                batch = cap
            for _ in range(batch):
                level = min(max(level + self.rng.randint(-2, 2), 1), len(levels) - 2)
                size = sizes[self.rng.randrange(len(sizes))]
                exchange.quote(BTC, levels[level], levels[level + 1], size, size)
            self.sent += batch
            await asyncio.sleep(FEED_TICK_S)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no VmRSS for process {pid}")


def _cpu_s(pid: int) -> float:
    # the fields after the command (which may hold spaces) begin after its closing parenthesis
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def parse_metrics(text: str) -> Scrape:
    scrape = Scrape()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "vibetrading_events_total" and s.labels.get("kind") == "market":
                scrape.market_events = s.value
            elif s.name == "vibetrading_journal_commit_duration_seconds_sum":
                scrape.commit_sum = s.value
            elif s.name == "vibetrading_journal_commit_duration_seconds_count":
                scrape.commit_count = s.value
            elif s.name == "vibetrading_event_loop_lag_seconds":
                scrape.lag_s = s.value
            elif s.name == "vibetrading_orders_total":
                scrape.orders += s.value
            elif s.name == "vibetrading_stream_reconnects_total":
                scrape.reconnects += s.value
    return scrape


def slope_per_min(points: list[tuple[float, float]]) -> float | None:
    """The least-squares slope of ``(seconds, value)`` points, per minute; None below two points."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return cov / var * 60


class Soak:
    def __init__(self, seconds: float, rate: float, root: Path, every: int = EVERY) -> None:
        self.seconds = seconds
        self.rate = rate
        self.every = every
        self.root = root
        self.port = _free_port()
        self.samples: list[Sample] = []
        self.log = root / "daemon.log"
        self.exit_code: int | None = None
        self.ready_s: float | None = None
        self.first: Scrape | None = None
        self.last: Scrape | None = None
        self.harness_cpu_s = 0.0

    def write_config(self, emulator: RunningEmulator) -> Path:
        creds = self.root / "credentials.json"
        creds.write_text(json.dumps({"api_key": "soak-key", "api_secret": "soak-secret"}))
        creds.chmod(0o600)
        strategy = REPO / "tests/live/strategies/flip.py"
        params = f'{{ symbol = "{BTC}", every = {self.every}, size = "0.001" }}'
        lines = [
            'mode = "live"',
            "[strategy]",
            f'file = "{strategy}"',
            f"params = {params}",
            "[venues.binance]",
            'environment = "test"',
            f'rest_url = "{emulator.http_root}"',
            f'ws_url = "{emulator.ws_root}"',
            f'credentials = "file:{creds}"',
            "[state]",
            f'dir = "{self.root / "state"}"',
            "[health]",
            f'listen = "127.0.0.1:{self.port}"',
            "[runtime]",
            'loop = "asyncio"',
        ]
        path = self.root / "run.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    async def spawn(self, config: Path) -> asyncio.subprocess.Process:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_SOCKET", "WATCHDOG_"))}
        env.pop("VIBETRADING_CRASH_AT", None)
        with self.log.open("wb") as out:
            return await asyncio.create_subprocess_exec(
                str(VIBETRADING) if VIBETRADING.exists() else sys.executable,
                *(() if VIBETRADING.exists() else ("-m", "daemon.cli")),
                "run",
                "--config",
                str(config),
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
            )

    async def get(self, http: aiohttp.ClientSession, path: str) -> tuple[int, str]:
        async with http.get(f"http://127.0.0.1:{self.port}{path}") as r:
            return r.status, await r.text()

    async def wait_ready(self, http: aiohttp.ClientSession, proc: asyncio.subprocess.Process) -> None:
        started = time.monotonic()
        last = ""
        while time.monotonic() - started < READY_TIMEOUT_S:
            if proc.returncode is not None:
                tail = self.log.read_text(errors="replace")[-600:]
                raise RuntimeError(f"the daemon exited {proc.returncode} before ready: {tail}")
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                status, last = await self.get(http, "/readyz")
                if status == 200:
                    self.ready_s = time.monotonic() - started
                    return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"no /readyz 200 within {READY_TIMEOUT_S:g} s: {last[:400]}")

    async def sample_loop(self, http: aiohttp.ClientSession, pid: int, feeder: Feeder) -> None:
        """One sample a second, each against the one before (deltas over the real interval)."""
        start = time.monotonic()
        prev_t = start
        prev_cpu = _cpu_s(pid)
        prev_sent = feeder.sent
        prev = parse_metrics((await self.get(http, "/metrics"))[1])
        self.first = prev
        own_cpu = sum(os.times()[:2])
        n = 0
        while time.monotonic() - start < self.seconds:
            n += 1
            await asyncio.sleep(max(0.0, start + n - time.monotonic()))
            now = time.monotonic()
            try:
                status, _ = await self.get(http, "/readyz")
                ready = status == 200
                scrape = parse_metrics((await self.get(http, "/metrics"))[1])
            except (aiohttp.ClientError, OSError, TimeoutError):
                ready, scrape = False, prev
            cpu = _cpu_s(pid)
            dt = now - prev_t
            commits = scrape.commit_count - prev.commit_count
            commit_ms = (scrape.commit_sum - prev.commit_sum) / commits * 1000 if commits > 0 else None
            self.samples.append(
                Sample(
                    t_s=round(now - start, 3),
                    rss_mb=round(_rss_mb(pid), 2),
                    lag_ms=round(scrape.lag_s * 1000, 3),
                    commit_ms=round(commit_ms, 4) if commit_ms is not None else None,
                    events_per_s=round((scrape.market_events - prev.market_events) / dt, 1),
                    sent_per_s=round((feeder.sent - prev_sent) / dt, 1),
                    cpu_pct=round((cpu - prev_cpu) / dt * 100, 1),
                    ready=ready,
                )
            )
            prev_t, prev_cpu, prev_sent, prev = now, cpu, feeder.sent, scrape
        self.last = prev
        self.harness_cpu_s = sum(os.times()[:2]) - own_cpu

    async def run(self) -> dict[str, Any]:
        emulator = await serve_binance(
            EmulatorOptions(keys={"soak-key": "soak-secret"}, symbols=(BTC,), walk=False)
        )
        feeder = Feeder(emulator, self.rate)
        feed_task: asyncio.Task[None] | None = None
        proc: asyncio.subprocess.Process | None = None
        try:
            config = self.write_config(emulator)
            emulator.exchange.quote(BTC, Decimal(43_000), Decimal("43000.01"), Decimal(1), Decimal(1))
            proc = await self.spawn(config)
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as http:
                # readiness needs a market stream, so the feed runs from the start
                feed_task = asyncio.get_running_loop().create_task(feeder.run(), name="soak-feeder")
                await self.wait_ready(http, proc)
                await asyncio.sleep(2.0)  # the stream settles before the first sample
                feeder_started = feeder.sent
                await self.sample_loop(http, proc.pid, feeder)
                sent = feeder.sent - feeder_started
            feed_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feed_task
            proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(30):
                    self.exit_code = await proc.wait()
            except TimeoutError:
                proc.send_signal(signal.SIGKILL)
                self.exit_code = await proc.wait()
        finally:
            if feed_task is not None and not feed_task.done():
                feed_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feed_task
            if proc is not None and proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
            await emulator.close()
        return self.report(sent, feeder)

    def report(self, sent: int, feeder: Feeder) -> dict[str, Any]:
        s = self.samples
        span = s[-1].t_s if s else 0.0
        first, last = self.first or Scrape(), self.last or Scrape()
        achieved = (last.market_events - first.market_events) / span if span else 0.0
        sent_rate = sent / span if span else 0.0
        commits = last.commit_count - first.commit_count
        commit_mean = (last.commit_sum - first.commit_sum) / commits * 1000 if commits else None
        rss = [(x.t_s, x.rss_mb) for x in s]
        lag = [(x.t_s, x.lag_ms) for x in s]
        commit = [(x.t_s, x.commit_ms) for x in s if x.commit_ms is not None]
        daemon_cpu = sum(x.cpu_pct for x in s) / len(s) if s else 0.0
        harness_cpu = self.harness_cpu_s / max(span, 1e-9) * 100
        data: dict[str, Any] = {
            "seconds": self.seconds,
            "rate_asked": self.rate,
            "rate_achieved": round(achieved, 1),
            "samples": len(s),
            "rss_mb_start": s[0].rss_mb if s else None,
            "rss_mb_end": s[-1].rss_mb if s else None,
            "rss_slope_mb_per_min": _round(slope_per_min(rss), 3),
            "lag_max_ms": max((x.lag_ms for x in s), default=None),
            "lag_slope_ms_per_min": _round(slope_per_min(lag), 3),
            "commit_mean_ms": _round(commit_mean, 4),
            "commit_slope_ms_per_min": _round(slope_per_min(commit), 4),
            "exit_code": self.exit_code,
            # beyond the required keys: what explains the figures
            "rate_sent": round(sent_rate, 1),
            "feeder_behind_turns": feeder.behind_turns,
            "daemon_cpu_pct": round(daemon_cpu, 1),
            "harness_cpu_pct": round(harness_cpu, 1),
            "cores": os.cpu_count(),
            "ready_samples": sum(x.ready for x in s),
            "ready_s": _round(self.ready_s, 2),
            "orders": int(last.orders),
            "commits": int(commits),
            "reconnects": int(last.reconnects - first.reconnects),
            "bottleneck": _bottleneck(self.rate, sent_rate, achieved, daemon_cpu, harness_cpu),
            "series": [dataclasses.asdict(x) for x in s],
        }
        return data


def _round(value: float | None, digits: int) -> float | None:
    # + 0.0 turns a rounded -0.0 into 0.0, which reads better in a table of slopes
    return None if value is None or math.isnan(value) else round(value, digits) + 0.0


def _bottleneck(asked: float, sent: float, achieved: float, daemon_cpu: float, harness_cpu: float) -> str:
    if achieved >= asked * 0.97:
        return "none: the rate asked was reached"
    if sent < asked * 0.97:
        return (
            f"the feeder (this process, {harness_cpu:.0f}% of a core: emulator matching, JSON encoding "
            f"and WebSocket writes) published only {sent:.0f}/s"
        )
    return (
        f"the daemon ({daemon_cpu:.0f}% of a core) consumed {achieved:.0f}/s of the {sent:.0f}/s "
        "published (WebSocket parsing and one kernel step per quote)"
    )


def write_report(data: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "soak.json"
    path.write_bytes(msgspec.json.format(msgspec.json.encode(data), indent=2) + b"\n")
    return path


def table(data: dict[str, Any]) -> str:
    rows = [
        ("seconds sampled (samples)", f"{data['seconds']:g} ({data['samples']})"),
        (
            "events/s asked / sent / achieved",
            f"{data['rate_asked']:g} / {data['rate_sent']} / {data['rate_achieved']}",
        ),
        ("RSS MB start → end", f"{data['rss_mb_start']} → {data['rss_mb_end']}"),
        ("RSS slope (MB/min)", data["rss_slope_mb_per_min"]),
        ("loop lag max (ms)", data["lag_max_ms"]),
        ("loop lag slope (ms/min)", data["lag_slope_ms_per_min"]),
        ("journal commit mean (ms)", f"{data['commit_mean_ms']}  over {data['commits']} commits"),
        ("journal commit slope (ms/min)", data["commit_slope_ms_per_min"]),
        ("CPU daemon / harness (% of a core)", f"{data['daemon_cpu_pct']} / {data['harness_cpu_pct']}"),
        ("ready samples", f"{data['ready_samples']}/{data['samples']}"),
        ("orders, stream reconnects", f"{data['orders']}, {data['reconnects']}"),
        ("exit code after SIGTERM", data["exit_code"]),
        ("bottleneck", data["bottleneck"]),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="how long to sample (default 600)")
    parser.add_argument("--rate", type=float, default=5000.0, help="quotes a second (default 5000)")
    parser.add_argument("--out", type=Path, default=Path("runs/chaos"))
    parser.add_argument("--keep", action="store_true", help="keep the state and the log in OUT/soak")
    args = parser.parse_args(argv)
    if args.seconds < 2 or args.rate <= 0:
        parser.error("--seconds must be at least 2 and --rate positive")
    root = args.out / "soak" if args.keep else Path(tempfile.mkdtemp(prefix="vt-soak-"))
    if args.keep:
        shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    try:
        data = asyncio.run(Soak(args.seconds, args.rate, root).run())
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    path = write_report(data, args.out)
    print(table(data))
    print(f"report: {path}")
    return 0 if data["exit_code"] == 0 and data["ready_samples"] == data["samples"] else 1


if __name__ == "__main__":
    sys.exit(main())
