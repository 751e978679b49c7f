"""The health server for real on 127.0.0.1: readiness flips 503 → 200 → 503 with its checks, a blocked
event loop fails liveness, and /metrics parses with every name following the Prometheus rules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from adapters.transport.budget import RateBudget
from adapters.transport.clock import ClockOffset
from daemon import logs
from daemon.health import (
    CheckRegistry,
    Flag,
    Freshness,
    HealthServer,
    LoopLagMonitor,
    clock_offset_check,
    count_check,
    rate_limit_check,
)
from daemon.metrics import Metrics, naming_problems

TIMEOUT = aiohttp.ClientTimeout(total=1.0)


class Journal:
    alive = True


@pytest.fixture
async def server() -> AsyncIterator[HealthServer]:
    journal = Journal()
    srv = HealthServer(
        listen="127.0.0.1:0",
        journal_alive=lambda: journal.alive,
        max_loop_lag_s=0.15,
        lag_monitor=LoopLagMonitor(interval_s=0.02, window_s=0.5),
    )
    srv.journal = journal  # type: ignore[attr-defined]
    async with srv:
        yield srv


async def get(srv: HealthServer, path: str) -> tuple[int, Any, str]:
    async with (
        aiohttp.ClientSession(timeout=TIMEOUT) as session,
        session.get(srv.url + path) as resp,
    ):
        text = await resp.text()
        body = await resp.json() if resp.content_type == "application/json" else None
        return resp.status, body, text


async def test_binds_a_free_loopback_port(server: HealthServer) -> None:
    assert server.host == "127.0.0.1"
    assert server.port > 0
    status, body, _ = await get(server, "/healthz")
    assert status == 200
    assert body == {
        "ok": True,
        "checks": {
            "event_loop": {"ok": True, "detail": body["checks"]["event_loop"]["detail"]},
            "journal_writer": {"ok": True, "detail": "alive"},
        },
    }


async def test_readiness_transitions(server: HealthServer) -> None:
    # nothing registered yet: not ready
    status, body, _ = await get(server, "/readyz")
    assert (status, body) == (503, {"ready": False, "checks": {}})

    reconciled = Flag(False, "reconciling")
    halted = Flag(True, "not halted")
    unknown = [0]
    market = Freshness("binance market", max_age_s=0.2)
    clock = ClockOffset()
    budget = RateBudget("binance", limit=10, window_s=1.0)
    server.readiness.register("reconciled", reconciled.check)
    server.readiness.register("no_unknown_orders", count_check(lambda: unknown[0], "orders in unknown state"))
    server.readiness.register("market_stream:binance", market.check)
    server.readiness.register("clock_offset:binance", clock_offset_check(clock, recv_window_ms=5000))
    server.readiness.register("rate_limit", rate_limit_check([budget]))
    server.readiness.register("not_halted", halted.check)

    status, body, _ = await get(server, "/readyz")
    assert status == 503
    checks = body["checks"]
    assert list(checks) == [
        "reconciled",
        "no_unknown_orders",
        "market_stream:binance",
        "clock_offset:binance",
        "rate_limit",
        "not_halted",
    ]
    assert checks["reconciled"] == {"ok": False, "detail": "reconciling"}
    assert checks["market_stream:binance"]["ok"] is False
    assert "no message yet" in checks["market_stream:binance"]["detail"]
    assert checks["clock_offset:binance"] == {"ok": False, "detail": "venue clock not measured yet"}
    assert checks["rate_limit"]["ok"] is True

    reconciled.set(True, "journal and venue agree")
    market.mark()
    clock.update(server_ms=1_000_120, sent_ms=1_000_000, received_ms=1_000_010)
    status, body, _ = await get(server, "/readyz")
    assert status == 200, body
    assert body["ready"] is True

    # each check alone turns readiness off again
    toggles: list[tuple[Callable[[], object], Callable[[], object]]] = [
        (lambda: unknown.__setitem__(0, 1), lambda: unknown.__setitem__(0, 0)),
        (lambda: halted.set(False, "halted by operator"), lambda: halted.set(True, "not halted")),
        (
            lambda: setattr(budget, "halted", "418 banned until 12:00"),
            lambda: setattr(budget, "halted", None),
        ),
        (
            lambda: clock.update(server_ms=1_010_000, sent_ms=1_000_000, received_ms=1_000_010),
            lambda: clock.update(server_ms=1_000_005, sent_ms=1_000_000, received_ms=1_000_010),
        ),
    ]
    for breaks, heals in toggles:
        breaks()
        status, body, _ = await get(server, "/readyz")
        assert status == 503
        failing = [n for n, c in body["checks"].items() if not c["ok"]]
        assert len(failing) == 1, failing
        heals()
        market.mark()
        assert (await get(server, "/readyz"))[0] == 200

    # a stream going quiet past its limit
    await asyncio.sleep(0.25)
    status, body, _ = await get(server, "/readyz")
    assert status == 503
    assert "limit 0.2 s" in body["checks"]["market_stream:binance"]["detail"]


async def test_a_raising_check_fails_itself_and_hides_secrets(server: HealthServer) -> None:
    logs.register_secret("probe-secret-123456")

    def broken() -> tuple[bool, str]:
        raise RuntimeError("venue said key probe-secret-123456 is bad")

    try:
        server.readiness.register("broken", broken)
        server.readiness.register("fine", lambda: (True, "ok"))
        status, body, text = await get(server, "/readyz")
    finally:
        logs._forget_secrets_for_tests()
    assert status == 503
    assert body["checks"]["broken"]["ok"] is False
    assert "RuntimeError" in body["checks"]["broken"]["detail"]
    assert "probe-secret-123456" not in text


async def test_journal_writer_dead_fails_liveness(server: HealthServer) -> None:
    server.journal.alive = False  # type: ignore[attr-defined]
    status, body, _ = await get(server, "/healthz")
    assert status == 503
    assert body["checks"]["journal_writer"] == {"ok": False, "detail": "not running"}
    assert body["checks"]["event_loop"]["ok"] is True


async def test_blocked_loop_fails_liveness_then_recovers(server: HealthServer) -> None:
    assert (await get(server, "/healthz"))[0] == 200
    time.sleep(0.3)  # a strategy call that blocks the loop
    status, body, _ = await get(server, "/healthz")
    assert status == 503
    detail = body["checks"]["event_loop"]["detail"]
    assert body["checks"]["event_loop"]["ok"] is False, detail
    lag = float(detail.split()[1])
    assert 0.15 <= lag < 1.0
    # the stall leaves the window, liveness comes back
    await asyncio.sleep(0.6)
    status, body, _ = await get(server, "/healthz")
    assert status == 200, body


async def test_monitor_not_running_fails_liveness(server: HealthServer) -> None:
    await server.lag_monitor.stop()
    status, body, _ = await get(server, "/healthz")
    assert status == 503
    assert body["checks"]["event_loop"]["detail"] == "loop lag monitor not running"


async def test_metrics_parse_and_follow_naming(server: HealthServer) -> None:
    m = server.metrics
    m.events.labels("market").inc(3)
    m.orders.labels("binance", "accepted").inc()
    m.orders.labels("binance", "rejected").inc()
    m.fills.labels("binance").inc(2)
    m.duplicate_fills_dropped.labels("binance").inc()
    m.orders_unknown.labels("bybit").set(1)
    m.tick_to_order_latency.labels("binance").observe(0.00012)
    m.reconnects.labels("binance", "market").inc()
    m.reconciliation_differences.labels("binance", "explained").inc()
    m.journal_commit.observe(0.00018)
    m.halted.set(0)
    market = Freshness("binance market", max_age_s=5.0)
    market.mark()
    server.on_scrape.append(lambda: m.stream_message_age.labels("binance", "market").set(market.age() or 0.0))

    status, _, text = await get(server, "/metrics")
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(text)}
    expected = {
        "vibetrading_events": "counter",
        "vibetrading_orders": "counter",
        "vibetrading_fills": "counter",
        "vibetrading_duplicate_fills_dropped": "counter",
        "vibetrading_orders_unknown_state": "gauge",
        "vibetrading_tick_to_order_latency_seconds": "histogram",
        "vibetrading_stream_message_age_seconds": "gauge",
        "vibetrading_stream_reconnects": "counter",
        "vibetrading_reconciliation_differences": "counter",
        "vibetrading_event_loop_lag_seconds": "gauge",
        "vibetrading_journal_commit_duration_seconds": "histogram",
        "vibetrading_halted": "gauge",
    }
    for name, kind in expected.items():
        assert families[name].type == kind, name
    assert naming_problems(text) == []
    orders = {
        s.labels["result"]: s.value
        for s in families["vibetrading_orders"].samples
        if s.name.endswith("_total")
    }
    assert orders == {"accepted": 1.0, "rejected": 1.0}
    age = [s for s in families["vibetrading_stream_message_age_seconds"].samples]
    assert age[0].labels == {"venue": "binance", "stream": "market"} and 0 <= age[0].value < 1
    # the daemon's registry is its own: nothing of it lands in the process-global one
    assert not any(n.startswith("vibetrading_") for n in REGISTRY._names_to_collectors)


def test_naming_rules_catch_bad_names() -> None:
    bad = (
        "# TYPE vibetrading_latency_ms histogram\n"
        'vibetrading_latency_ms_bucket{le="+Inf",order_id="42"} 1\n'
        "vibetrading_latency_ms_count 1\nvibetrading_latency_ms_sum 1\n"
        "# TYPE vibetrading_orders counter\nvibetrading_orders_total 1\n"
        "# TYPE vibetrading_open_total gauge\nvibetrading_open_total 1\n"
        "# TYPE orders_total counter\norders_total 1\n"
        "# TYPE vibetrading_Fills_total counter\nvibetrading_Fills_total 1\n"
        '# TYPE vibetrading_queue_wait gauge\nvibetrading_queue_wait{symbol="BTCUSDT"} 1\n'
    )
    problems = "\n".join(naming_problems(bad))
    assert "vibetrading_latency_ms: use base units" in problems
    assert "vibetrading_latency_ms: a time measurement must end in _seconds" in problems
    assert "label 'order_id' would make a series per order" in problems
    assert "vibetrading_orders: a counter must end in _total" in problems
    assert "vibetrading_open_total: only a counter ends in _total" in problems
    assert "orders_total: must be vibetrading_" in problems
    assert "vibetrading_Fills_total: must be vibetrading_" in problems
    assert "vibetrading_queue_wait: a time measurement must end in _seconds" in problems
    assert "label 'symbol' is not one of" in problems
    # and a second Metrics gets its own registry: two daemons in one process do not collide
    assert Metrics().registry is not Metrics().registry


async def test_address_in_use_raises_and_cleans_up(server: HealthServer) -> None:
    other = HealthServer(listen=f"127.0.0.1:{server.port}", journal_alive=lambda: True)
    with pytest.raises(OSError):
        await other.start()
    assert not other.lag_monitor.running


def test_registry_rejects_duplicates() -> None:
    reg = CheckRegistry()
    reg.register("a", lambda: (True, ""))
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a", lambda: (True, ""))
    with pytest.raises(ValueError, match="max_age_s"):
        Freshness("x", max_age_s=0)
