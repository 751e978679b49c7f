"""``vibetrading run`` as systemd runs it: a real process against the Binance emulator, told where to
send sd_notify messages by ``NOTIFY_SOCKET``. Startup reports STATUS= lines then READY=1, a healthy
daemon feeds the watchdog, the health endpoints answer, SIGTERM ends in STOPPING=1 and exit 0 with the
journal closed by RunFinished, a restart on the same state directory never sends an order twice, and
``[stop] on_stop`` decides whether resting orders survive the stop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.binance.emulator import serve_binance
from adapters.emulator import EmulatorOptions
from adapters.emulator.options import TEST_API_KEY
from adapters.emulator.server import RunningEmulator
from daemon.health import MARKET_STREAM, NO_UNKNOWN_ORDERS, NOT_HALTED, RECONCILED
from engines.model.events import (
    AnyEvent,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    RunFinished,
    RunStarted,
)
from tests.live.harness import REPO, STRATEGIES, journal_events, start, write_config

pytestmark = pytest.mark.slow

SYMBOL = "binance-spot:BTCUSDT"
#: what answers an intent: it reached the venue and got a verdict, or was refused before leaving
ORDER_OUTCOMES = (OrderAccepted, OrderRejected, OrderFilled, OrderCanceled, OrderExpired)
READY_S = 15.0
STOP_S = 15.0


def free_port() -> int:
    """A port nothing listens on now (bound and released: the daemon binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def command() -> list[str]:
    """The installed console script next to this interpreter (what the unit's ExecStart runs), or the
    same entry point through the interpreter where the venv has no script."""
    script = Path(sys.executable).parent / "vibetrading"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from daemon.cli import entrypoint; entrypoint()"]


class NotifySocket:
    """What systemd listens on for a ``Type=notify`` service: a unix datagram socket, each datagram
    ``KEY=VALUE`` lines. Every message is kept, in order, as a dict."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.messages: list[dict[str, str]] = []
        self._reader: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await loop.sock_recv(self.sock, 65536)
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append(fields)

    def count(self, key: str, since: int = 0) -> int:
        return sum(1 for m in self.messages[since:] if key in m)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self.sock.close()


class Daemon:
    """One ``vibetrading run`` process; stdout (the JSON log) and stderr go to files in tmp."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Path, err: Path, notify: NotifySocket) -> None:
        self.proc = proc
        self.log = log
        self.err = err
        self.notify = notify
        self.since = len(notify.messages)  # this process's messages start here

    @property
    def messages(self) -> list[dict[str, str]]:
        return self.notify.messages[self.since :]

    def output(self) -> str:
        return f"stdout:\n{self.log.read_text()[-4000:]}\nstderr:\n{self.err.read_text()[-4000:]}"

    async def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.returncode is not None:
                pytest.fail(f"the daemon exited ({self.proc.returncode}) before {what}\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {timeout:g} s\n{self.output()}")
            await asyncio.sleep(0.02)

    async def stop(self) -> int:
        """SIGTERM, as ``systemctl stop`` sends it; the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_S):
                return await self.proc.wait()
        except TimeoutError:
            pytest.fail(f"the daemon did not exit within {STOP_S:g} s of SIGTERM\n{self.output()}")

    def log_lines(self) -> list[dict[str, Any]]:
        lines = [line for line in self.log.read_text().splitlines() if line.strip()]
        return [json.loads(line) for line in lines]  # every line of stdout is one JSON object


async def spawn(config: Path, notify: NotifySocket, name: str, *args: str) -> Daemon:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_", "WATCHDOG_"))}
    # no WATCHDOG_PID: the child's pid is not known before it exists, and an unset WATCHDOG_PID means
    # the watchdog is this process's (sd_watchdog_enabled(3))
    env |= {
        "NOTIFY_SOCKET": str(notify.path),
        "WATCHDOG_USEC": "2000000",
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
    }
    log, err = config.parent / f"{name}.stdout", config.parent / f"{name}.stderr"
    with log.open("wb") as out, err.open("wb") as errout:
        proc = await asyncio.create_subprocess_exec(
            *command(), "run", "--config", str(config), *args, stdout=out, stderr=errout, cwd=REPO, env=env
        )
    return Daemon(proc, log, err, notify)


@contextlib.asynccontextmanager
async def running(config: Path, notify: NotifySocket, name: str, *args: str) -> AsyncIterator[Daemon]:
    """A daemon that is killed if the test fails before stopping it."""
    daemon = await spawn(config, notify, name, *args)
    try:
        yield daemon
    finally:
        if daemon.proc.returncode is None:
            daemon.proc.kill()
            await daemon.proc.wait()


async def ready(daemon: Daemon) -> None:
    await daemon.wait_for(lambda: any("READY" in m for m in daemon.messages), READY_S, "READY=1")
    messages = daemon.messages
    first_ready = next(i for i, m in enumerate(messages) if "READY" in m)
    assert messages[first_ready]["READY"] == "1"
    statuses = [m["STATUS"] for m in messages[:first_ready] if "STATUS" in m]
    # what it is doing while it starts (journal, venues, reconciliation), reconciliation last
    assert len(statuses) >= 2 and "reconcil" in statuses[-1], messages
    assert not any("STOPPING" in m for m in messages[:first_ready])


async def stopped_notified(daemon: Daemon) -> None:
    """STOPPING=1 was sent before the exit; its datagram may still wait in the socket for our reader."""
    deadline = time.monotonic() + 2.0
    while not any(m.get("STOPPING") == "1" for m in daemon.messages):
        if time.monotonic() > deadline:
            pytest.fail(f"no STOPPING=1: {daemon.messages[-5:]}\n{daemon.output()}")
        await asyncio.sleep(0.02)


async def get(port: int, path: str) -> tuple[int, str]:
    timeout = aiohttp.ClientTimeout(total=3)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.get(f"http://127.0.0.1:{port}{path}") as r,
    ):
        return r.status, await r.text()


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` in a Prometheus exposition."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        rest = series[len(name) :]
        if rest and not rest.startswith("{"):
            continue  # another metric sharing the prefix
        if all(f'{k}="{v}"' in rest for k, v in labels.items()):
            total += float(value)
    return total


async def reaches(
    daemon: Daemon, port: int, name: str, at_least: float, timeout: float, **labels: str
) -> bool:
    """Whether the metric reaches ``at_least`` within ``timeout`` (the daemon dying fails the test)."""
    deadline = time.monotonic() + timeout
    while True:
        if daemon.proc.returncode is not None:
            pytest.fail(f"the daemon exited ({daemon.proc.returncode}) watching {name}\n{daemon.output()}")
        status, text = await get(port, "/metrics")
        if status == 200 and metric(text, name, **labels) >= at_least:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)


async def wait_metric(
    daemon: Daemon, port: int, name: str, at_least: float, what: str, **labels: str
) -> None:
    if not await reaches(daemon, port, name, at_least, 10.0, **labels):
        pytest.fail(f"no {what} within 10 s\n{daemon.output()}")


@pytest.fixture
def notify_dir() -> Any:
    # sun_path holds 108 bytes: pytest's tmp_path can be longer than that on some machines
    with tempfile.TemporaryDirectory(prefix="vt-notify-") as d:
        yield Path(d)


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    emu = await serve_binance(EmulatorOptions(symbols=(SYMBOL,), walk_interval_s=0.01, seed=5))
    try:
        yield emu
    finally:
        await emu.close()


class Market:
    """The emulator's market moved by the test (no random walk): a quote every 10 ms while it runs,
    and nothing at all while it is paused, so that a stop can be sent into a quiet market (the
    journal's end is then fixed by the daemon, not by the moment a quote happened to arrive)."""

    def __init__(self, emulator: RunningEmulator) -> None:
        self.emulator = emulator
        self.exchange = emulator.exchange
        self.mid = Decimal(43_000)
        self.step = 0
        self._task: asyncio.Task[None] | None = None

    def resume(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def pause(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        tick = Decimal("0.01")
        while True:
            self.step += 1
            self.mid += tick * (self.step % 7 - 3)  # a few ticks up and down, deterministic
            self.exchange.quote(SYMBOL, self.mid, self.mid + tick, Decimal(2), Decimal(2))
            await asyncio.sleep(0.01)


@pytest.fixture
async def market() -> AsyncIterator[Market]:
    emu = await serve_binance(EmulatorOptions(symbols=(SYMBOL,), walk=False))
    moved = Market(emu)
    moved.resume()
    try:
        yield moved
    finally:
        await moved.pause()
        await emu.close()


def config_for(
    tmp: Path,
    emulator: RunningEmulator,
    mode: str,
    *,
    strategy: str,
    params: dict[str, str | int],
    extra: str,
) -> tuple[Path, int]:
    port = free_port()
    config = write_config(
        tmp,
        strategy=STRATEGIES / strategy,
        params=params,
        venues={"binance": emulator},
        mode=mode,
        extra=f'[health]\nlisten = "127.0.0.1:{port}"\n{extra}',
    )
    return config, port


def submitted_ids(events: list[AnyEvent]) -> list[str]:
    return [e.client_order_id for e in events if isinstance(e, OrderSubmitted)]


def assert_every_intent_answered(events: list[AnyEvent]) -> None:
    """No intent is left without an outcome: it reached the venue and got a verdict, or was refused
    before leaving (journalled as rejected)."""
    answered = {e.client_order_id for e in events if isinstance(e, ORDER_OUTCOMES)}
    missing = [cid for cid in submitted_ids(events) if cid not in answered]
    assert not missing, f"intents without an outcome: {missing}"


async def quiesce(market: Market) -> None:
    """Stop the market and give the daemon time to hear the last answers (paper fills, execution
    reports) so that SIGTERM arrives when nothing is in flight."""
    await market.pause()
    await asyncio.sleep(0.3)


async def fills(port: int) -> float:
    status, text = await get(port, "/metrics")
    assert status == 200
    return metric(text, "vibetrading_fills_total", venue="binance")


async def trade_then_quiesce(daemon: Daemon, port: int, market: Market, *, at_least: int, flat: bool) -> None:
    """Let ``flip`` trade at least ``at_least`` fills, then quiet the market holding nothing (``flat``:
    an even number of fills, its first order being a buy of one fill) or holding ``size``."""
    deadline = time.monotonic() + 15.0
    while True:
        await wait_metric(
            daemon, port, "vibetrading_fills_total", at_least, f"{at_least} fills", venue="binance"
        )
        await quiesce(market)
        seen = int(await fills(port))
        if (seen % 2 == 0) == flat:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"could not stop {'flat' if flat else 'long'} within 15 s\n{daemon.output()}")
        market.resume()
        at_least = seen + 1


@pytest.mark.parametrize("mode", ["paper", "live"])
async def test_systemd_lifecycle_sigterm_and_restart(
    tmp_path: Path, notify_dir: Path, market: Market, mode: str
) -> None:
    emulator = market.emulator
    config, port = config_for(
        tmp_path,
        emulator,
        mode,
        strategy="flip.py",
        params={"symbol": SYMBOL, "every": 3, "size": "0.01"},
        extra="",
    )
    notify = NotifySocket(notify_dir / "notify")
    notify.start()
    try:
        async with running(config, notify, "first") as daemon:
            await ready(daemon)

            # the supervisor feeds a 2 s watchdog at least every second while the checks pass
            before = daemon.notify.count("WATCHDOG", daemon.since)
            await daemon.wait_for(
                lambda: daemon.notify.count("WATCHDOG", daemon.since) >= before + 2, 3.0, "two WATCHDOG=1"
            )
            assert all(m["WATCHDOG"] == "1" for m in daemon.messages if "WATCHDOG" in m)

            status, body = await get(port, "/healthz")
            assert status == 200, body
            assert json.loads(body)["ok"] is True
            status, body = await get(port, "/readyz")
            assert status == 200, body
            readiness = json.loads(body)
            assert readiness["ready"] is True
            checks = set(readiness["checks"])
            assert {RECONCILED, NO_UNKNOWN_ORDERS, NOT_HALTED, f"{MARKET_STREAM}:{SYMBOL}"} <= checks
            assert all(c["ok"] for c in readiness["checks"].values())

            # flat at the stop (test_paper_restart_keeps_the_paper_position restarts while long)
            await trade_then_quiesce(daemon, port, market, at_least=3, flat=True)
            status, text = await get(port, "/metrics")
            assert status == 200
            assert metric(text, "vibetrading_orders_total", venue="binance", result="accepted") >= 3
            assert "vibetrading_event_loop_lag_seconds" in text

            if mode == "paper":  # one daemon per state directory: the journal's lock keeps a second out
                async with running(config, notify, "intruder") as intruder:
                    async with asyncio.timeout(STOP_S):
                        assert await intruder.proc.wait() == 1, intruder.output()
                assert "VT605" in intruder.err.read_text() and "locked" in intruder.err.read_text()
                assert daemon.proc.returncode is None

            stopping_before = daemon.notify.count("STOPPING", daemon.since)
            assert await daemon.stop() == 0, daemon.output()
            await stopped_notified(daemon)
            assert daemon.notify.count("STOPPING", daemon.since) == stopping_before + 1
            first_log = daemon.log_lines()
        assert any(line.get("event") == "ready" for line in first_log)

        first = journal_events(tmp_path / "state")
        assert isinstance(first[0], RunStarted) and first[0].mode == mode
        assert isinstance(first[-1], RunFinished)
        assert sum(isinstance(e, RunFinished) for e in first) == 1
        assert any(isinstance(e, OrderFilled) for e in first)
        assert_every_intent_answered(first)
        first_ids = set(submitted_ids(first))
        assert len(first_ids) >= 3

        # the same state directory: the journal is folded, the strategy carries on where it was
        market.resume()
        async with running(config, notify, "second") as daemon:
            await ready(daemon)
            await wait_metric(daemon, port, "vibetrading_fills_total", 3, "three fills", venue="binance")
            await quiesce(market)
            assert await daemon.stop() == 0, daemon.output()
            await stopped_notified(daemon)
    finally:
        await notify.close()

    events = journal_events(tmp_path / "state")
    assert events[: len(first)] == first  # the restart appended, it rewrote nothing
    assert sum(isinstance(e, RunFinished) for e in events) == 2
    assert isinstance(events[-1], RunFinished)
    assert_every_intent_answered(events)
    second_ids = submitted_ids(events[len(first) :])
    assert second_ids
    assert not first_ids & set(second_ids), "a client order id was used again after the restart"
    every = submitted_ids(events)
    assert len(every) == len(set(every))
    if mode == "live":  # and the venue saw each order once
        at_venue = [r.client_id for r in emulator.exchange.accounts[TEST_API_KEY].orders.values()]
        assert len(at_venue) == len(set(at_venue))
        assert set(at_venue) <= set(every)
        assert set(at_venue) & first_ids and set(at_venue) & set(second_ids)


@pytest.mark.parametrize("on_stop", ["cancel", "leave"])
async def test_stop_policy_cancels_or_leaves_resting_orders(
    tmp_path: Path, notify_dir: Path, emulator: RunningEmulator, on_stop: str
) -> None:
    config, port = config_for(
        tmp_path,
        emulator,
        "live",
        strategy="rest_once.py",
        params={"symbol": SYMBOL, "offset": "500", "size": "0.001"},
        extra=f'[stop]\non_stop = "{on_stop}"\n',
    )
    notify = NotifySocket(notify_dir / "notify")
    notify.start()
    try:
        async with running(config, notify, "daemon") as daemon:
            await ready(daemon)
            # accepted as the daemon sees it, not merely arrived at the venue: a stop cancels only
            # orders the venue acknowledged
            await wait_metric(
                daemon,
                port,
                "vibetrading_orders_total",
                1,
                "an accepted order",
                venue="binance",
                result="accepted",
            )
            resting = emulator.exchange.open_orders(TEST_API_KEY)
            assert len(resting) == 1
            assert await daemon.stop() == 0, daemon.output()
    finally:
        await notify.close()

    events = journal_events(tmp_path / "state")
    assert sum(isinstance(e, RunFinished) for e in events) == 1
    (client_id,) = submitted_ids(events)
    assert resting[0].client_id == client_id
    left = emulator.exchange.open_orders(TEST_API_KEY)
    canceled = [e for e in events if isinstance(e, OrderCanceled)]
    if on_stop == "cancel":
        assert left == []
        assert [e.client_order_id for e in canceled] == [client_id]
    else:
        assert [r.client_id for r in left] == [client_id]
        assert canceled == []


async def test_nothing_is_journalled_after_run_finished(
    tmp_path: Path, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process, with a journal flush that takes 0.3 s (a busy disk): the stop must still be the
    last thing the session journals, and every intent journalled must have an outcome."""
    config = write_config(
        tmp_path,
        strategy=STRATEGIES / "flip.py",
        params={"symbol": SYMBOL, "every": 3, "size": "0.01"},
        venues={"binance": emulator},
        mode="paper",
    )
    session = await start(config)
    try:
        registry = session.session.metrics.registry
        await session.wait_for(
            lambda: (registry.get_sample_value("vibetrading_fills_total", {"venue": "binance"}) or 0) >= 2,
            what="two fills",
        )
        writer = session.session.writer
        assert writer is not None
        flush = writer.barrier

        async def slow_flush() -> None:
            await asyncio.sleep(0.3)
            await flush()

        monkeypatch.setattr(writer, "barrier", slow_flush)
        assert await session.stop() == 0
    finally:
        if not session.task.done():
            session.task.cancel()
    events = journal_events(tmp_path / "state")
    finished = next(i for i, e in enumerate(events) if isinstance(e, RunFinished))
    after = [type(e).__name__ for e in events[finished:]]
    assert after == ["RunFinished"], after[:10]
    assert_every_intent_answered(events)


async def test_paper_restart_keeps_the_paper_position(
    tmp_path: Path, notify_dir: Path, market: Market
) -> None:
    config, port = config_for(
        tmp_path,
        market.emulator,
        "paper",
        strategy="flip.py",
        params={"symbol": SYMBOL, "every": 3, "size": "0.01"},
        extra="",
    )
    notify = NotifySocket(notify_dir / "notify")
    notify.start()
    try:
        async with running(config, notify, "first") as daemon:
            await ready(daemon)
            await trade_then_quiesce(daemon, port, market, at_least=1, flat=False)  # long 0.01
            assert await daemon.stop() == 0, daemon.output()
        first = journal_events(tmp_path / "state")
        market.resume()
        async with running(config, notify, "second") as daemon:
            await ready(daemon)
            # the journal says why when they do not come
            await reaches(daemon, port, "vibetrading_fills_total", 2, 5.0, venue="binance")
            await quiesce(market)
            assert await daemon.stop() == 0, daemon.output()
    finally:
        await notify.close()
    after = journal_events(tmp_path / "state")[len(first) :]
    refused = [e.reason for e in after if isinstance(e, OrderRejected)]
    assert not refused, refused[:3]
    assert any(isinstance(e, OrderFilled) for e in after)
