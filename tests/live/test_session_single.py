"""A single-asset strategy trading through `LiveSession` against the Binance emulator, in paper and
live mode: orders go out, fills come back, the health endpoints answer, SIGTERM stops it cleanly,
and a restart folds the journal and carries on without sending anything twice."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.binance.emulator import serve_binance
from adapters.emulator import EmulatorOptions
from engines.model.events import OrderFilled, OrderSubmitted, RunFinished, RunStarted
from tests.live.harness import STRATEGIES, journal_events, start, write_config

SYMBOL = "binance-spot:BTCUSDT"


def _filled(running) -> int:  # type: ignore[no-untyped-def]
    kernel = running.session.kernel
    if kernel is None:
        return 0
    return sum(1 for o in kernel.orders._orders.values() if o.filled_qty > 0)


@pytest.mark.parametrize("mode", ["paper", "live"])
async def test_trades_and_stops_cleanly(tmp_path: Path, mode: str) -> None:
    emulator = await serve_binance(EmulatorOptions(symbols=(SYMBOL,), walk_interval_s=0.01, seed=3))
    try:
        config = write_config(
            tmp_path,
            strategy=STRATEGIES / "flip.py",
            params={"symbol": SYMBOL, "every": 3, "size": "0.01"},
            venues={"binance": emulator},
            mode=mode,
        )
        running = await start(config)
        await running.wait_for(lambda: _filled(running) >= 4, what="four filled orders")
        status, ready = await running.get("/readyz")
        assert status == 200, ready
        expected = {"reconciled", "no_unknown_orders", "not_halted", "strategy", f"market_stream:{SYMBOL}"}
        if mode == "live":
            expected |= {"clock_offset:binance-spot", "rate_limit:binance", "account_stream:binance-spot"}
        assert expected <= set(ready["checks"]), ready
        status, _ = await running.get("/healthz")
        assert status == 200
        status, metrics = await running.get("/metrics")
        assert "vibetrading_fills_total" in metrics
        assert await running.stop() == 0
    finally:
        await emulator.close()
    events = journal_events(tmp_path / "state")
    assert isinstance(events[0], RunStarted) and events[0].mode == mode
    assert isinstance(events[-1], RunFinished)
    submitted = [e for e in events if isinstance(e, OrderSubmitted)]
    fills = [e for e in events if isinstance(e, OrderFilled)]
    assert len(submitted) >= 4 and len(fills) >= 4
    assert all(e.venue == "binance" for e in submitted)
    ids = [e.client_order_id for e in submitted]
    assert len(ids) == len(set(ids))
    assert sum(f.last_qty for f in fills) > Decimal(0)
