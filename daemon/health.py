"""Liveness, readiness and metrics over HTTP: ``/healthz``, ``/readyz`` and ``/metrics``.

``/healthz`` answers "should this process be restarted": the event loop runs timers on time and the
journal writer is alive. ``/readyz`` answers "may this process trade": each named check the daemon
registers (reconciled, no order in unknown state, streams fresh, venue clock within the receive window,
no rate-limit ban, not halted) with its detail. Both answer 200 when every check passes, else 503, so a
probe needs no JSON parsing. ``/metrics`` serves the daemon's own registry.

Checks are plain synchronous callables returning ``(ok, detail)``: they read state the daemon keeps
anyway, so a probe never waits on a venue. A check that raises counts as failing, with the error as its
detail, rather than taking the endpoint down.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Final

import msgspec
from aiohttp import web

from adapters.transport.budget import RateBudget
from adapters.transport.clock import ClockOffset
from daemon.config import parse_listen
from daemon.logs import redact_text
from daemon.metrics import CONTENT_TYPE, Metrics

__all__ = [
    "DEFAULT_MAX_LOOP_LAG_S",
    "Check",
    "CheckRegistry",
    "CheckResult",
    "Flag",
    "Freshness",
    "HealthServer",
    "LoopLagMonitor",
    "clock_offset_check",
    "count_check",
    "rate_limit_check",
]

Check = Callable[[], tuple[bool, str]]

DEFAULT_MAX_LOOP_LAG_S: Final = 1.0

# Standard check names, so dashboards and the systemd supervisor agree on them; per-venue checks append
# ":VENUE" (``market_stream:binance``).
RECONCILED: Final = "reconciled"
NO_UNKNOWN_ORDERS: Final = "no_unknown_orders"
MARKET_STREAM: Final = "market_stream"
ACCOUNT_STREAM: Final = "account_stream"
CLOCK_OFFSET: Final = "clock_offset"
RATE_LIMIT: Final = "rate_limit"
NOT_HALTED: Final = "not_halted"


class CheckResult(msgspec.Struct, frozen=True):
    ok: bool
    detail: str


class CheckRegistry:
    """Named checks, evaluated in registration order."""

    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}

    def register(self, name: str, check: Check) -> None:
        if not name:
            raise ValueError("a check needs a name")
        if name in self._checks:
            raise ValueError(f"check {name!r} is already registered")
        self._checks[name] = check

    def unregister(self, name: str) -> None:
        self._checks.pop(name, None)

    def names(self) -> list[str]:
        return list(self._checks)

    def evaluate(self) -> dict[str, CheckResult]:
        out: dict[str, CheckResult] = {}
        for name, check in self._checks.items():
            try:
                ok, detail = check()
            except Exception as exc:  # a broken check must fail itself, not the probe
                ok, detail = False, f"check raised {type(exc).__name__}: {exc}"
            # details reach an HTTP client: scrub anything registered as secret
            out[name] = CheckResult(ok=bool(ok), detail=redact_text(str(detail)))
        return out


def all_ok(results: dict[str, CheckResult]) -> bool:
    """True when there is at least one check and every check passed: a daemon that has registered
    nothing yet has not shown it is ready."""
    return bool(results) and all(r.ok for r in results.values())


class Flag:
    """A yes/no state with its reason, set by the daemon (reconciled, halted): ``check`` reports it."""

    def __init__(self, ok: bool, detail: str) -> None:
        self.ok = ok
        self.detail = detail

    def set(self, ok: bool, detail: str) -> None:
        self.ok = ok
        self.detail = detail

    def check(self) -> tuple[bool, str]:
        return self.ok, self.detail


class Freshness:
    """When a stream last delivered a message: fresh while that was at most ``max_age_s`` ago.

    ``mark()`` on each message takes the local monotonic time (the venue's timestamps are compared
    elsewhere; a stale local clock must not make a dead stream look alive). Optionally pass the venue's
    event time in ns to remember it for the detail.
    """

    def __init__(self, name: str, max_age_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if max_age_s <= 0:
            raise ValueError(f"{name}: max_age_s must be above 0")
        self.name = name
        self.max_age_s = max_age_s
        self._clock = clock
        self._last: float | None = None
        self.last_event_ns: int | None = None
        self.messages = 0

    def mark(self, ts_event_ns: int | None = None) -> None:
        self._last = self._clock()
        self.messages += 1
        if ts_event_ns is not None:
            self.last_event_ns = ts_event_ns

    def age(self) -> float | None:
        """Seconds since the last message; None before the first."""
        return None if self._last is None else max(0.0, self._clock() - self._last)

    def check(self) -> tuple[bool, str]:
        age = self.age()
        if age is None:
            return False, f"{self.name}: no message yet (limit {self.max_age_s:g} s)"
        if age > self.max_age_s:
            return False, f"{self.name}: last message {age:.3f} s ago, limit {self.max_age_s:g} s"
        return True, f"{self.name}: last message {age:.3f} s ago"


def clock_offset_check(offset: ClockOffset, recv_window_ms: int) -> Check:
    """Fails until the venue's clock has been measured, and while the local clock is so far from it
    (offset plus the measurement's round trip, its uncertainty) that a request stamped without the
    correction would fall outside the receive window."""

    def check() -> tuple[bool, str]:
        if offset.round_trip_ms is None:
            return False, "venue clock not measured yet"
        worst = abs(offset.offset_ms) + offset.round_trip_ms
        detail = (
            f"offset {offset.offset_ms} ms, round trip {offset.round_trip_ms} ms, "
            f"receive window {recv_window_ms} ms"
        )
        return worst < recv_window_ms, detail

    return check


def rate_limit_check(budgets: Iterable[RateBudget]) -> Check:
    """Fails while a venue has banned us (a budget halted after 418/429 with a ban)."""
    kept = list(budgets)

    def check() -> tuple[bool, str]:
        banned = [f"{b.name}: {b.halted}" for b in kept if b.halted is not None]
        if banned:
            return False, "; ".join(banned)
        return True, f"{len(kept)} budget(s), none banned"

    return check


def count_check(count: Callable[[], int], what: str) -> Check:
    """Passes while ``count()`` is zero (orders in unknown state, unexplained differences)."""

    def check() -> tuple[bool, str]:
        n = count()
        return n == 0, f"{n} {what}"

    return check


class LoopLagMonitor:
    """Measures how late the event loop runs a timer: sleep ``interval_s``, see how much longer it took.

    The lag reported is the largest over the last ``window_s`` seconds, and at least the time since the
    monitor last woke beyond its interval: a probe answered right after a blocking call, or while the
    monitor itself is starved, still sees the stall.
    """

    def __init__(
        self,
        *,
        interval_s: float = 0.1,
        window_s: float = 5.0,
        metrics: Metrics | None = None,
    ) -> None:
        if interval_s <= 0 or window_s < interval_s:
            raise ValueError("a loop lag monitor needs 0 < interval_s <= window_s")
        self.interval_s = interval_s
        self.window_s = window_s
        self._metrics = metrics
        self._samples: deque[tuple[float, float]] = deque()  # (monotonic time, lag)
        self._last_wake: float | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._last_wake = time.monotonic()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag-monitor")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.interval_s)
            now = time.monotonic()
            self.record(max(0.0, now - before - self.interval_s), now)

    def record(self, lag: float, now: float) -> None:
        self._last_wake = now
        self._samples.append((now, lag))
        while self._samples and self._samples[0][0] < now - self.window_s:
            self._samples.popleft()
        if self._metrics is not None:
            self._metrics.loop_lag.set(lag)

    def lag(self) -> float:
        now = time.monotonic()
        recent = max((lag for at, lag in self._samples if at >= now - self.window_s), default=0.0)
        overdue = 0.0 if self._last_wake is None else max(0.0, now - self._last_wake - self.interval_s)
        return max(recent, overdue)


def _host_port(listen: str) -> tuple[str, int]:
    # the configuration refuses port 0; the server takes it (tests, and "any free port")
    head, _, tail = listen.rpartition(":")
    if tail == "0":
        return parse_listen(f"{head}:1")[0], 0
    return parse_listen(listen)


class HealthServer:
    """The HTTP endpoints on ``listen`` (HOST:PORT; port 0 picks a free one, see :attr:`port`).

    ``journal_alive`` is the daemon's view of its journal writer (task running, last commit recent).
    The daemon registers readiness checks on :attr:`readiness`, and may add liveness checks on
    :attr:`liveness` and callables on :attr:`on_scrape` that refresh gauges (stream ages) before each
    ``/metrics``. Further routes (``POST /halt``) go on :attr:`app` before :meth:`start`.
    """

    def __init__(
        self,
        *,
        journal_alive: Callable[[], bool],
        listen: str = "127.0.0.1:8088",
        metrics: Metrics | None = None,
        readiness: CheckRegistry | None = None,
        max_loop_lag_s: float = DEFAULT_MAX_LOOP_LAG_S,
        lag_monitor: LoopLagMonitor | None = None,
        shutdown_timeout_s: float = 1.0,
    ) -> None:
        self.host, self.port = _host_port(listen)
        self.metrics = metrics if metrics is not None else Metrics()
        self.readiness = readiness if readiness is not None else CheckRegistry()
        self.liveness = CheckRegistry()
        self.lag_monitor = lag_monitor if lag_monitor is not None else LoopLagMonitor(metrics=self.metrics)
        self.max_loop_lag_s = max_loop_lag_s
        self.on_scrape: list[Callable[[], None]] = []
        self._shutdown_timeout_s = shutdown_timeout_s
        self.liveness.register("event_loop", self._loop_check)
        self.liveness.register(
            "journal_writer", lambda: (True, "alive") if journal_alive() else (False, "not running")
        )
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/readyz", self._readyz)
        self.app.router.add_get("/metrics", self._metrics)
        self._runner: web.AppRunner | None = None

    def _loop_check(self) -> tuple[bool, str]:
        if not self.lag_monitor.running:
            return False, "loop lag monitor not running"
        lag = self.lag_monitor.lag()
        return lag < self.max_loop_lag_s, f"lag {lag:.3f} s, limit {self.max_loop_lag_s:g} s"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Start the lag monitor and bind; an address in use raises :class:`OSError` from here."""
        self.lag_monitor.start()
        # no access log: a probe every few seconds would bury the daemon's own lines
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=self._shutdown_timeout_s)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            await self.lag_monitor.stop()
            raise
        self._runner = runner
        for address in runner.addresses:
            if isinstance(address, tuple) and len(address) >= 2:
                self.port = int(address[1])
                break

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        await self.lag_monitor.stop()

    async def __aenter__(self) -> HealthServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @staticmethod
    def _answer(key: str, results: dict[str, CheckResult]) -> web.Response:
        ok = all_ok(results)
        body = {key: ok, "checks": {name: msgspec.to_builtins(r) for name, r in results.items()}}
        return web.Response(
            body=msgspec.json.encode(body),
            status=200 if ok else 503,
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    async def _healthz(self, request: web.Request) -> web.Response:
        return self._answer("ok", self.liveness.evaluate())

    async def _readyz(self, request: web.Request) -> web.Response:
        return self._answer("ready", self.readiness.evaluate())

    async def _metrics(self, request: web.Request) -> web.Response:
        for refresh in self.on_scrape:
            refresh()
        self.metrics.loop_lag.set(self.lag_monitor.lag())
        body = self.metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"})
