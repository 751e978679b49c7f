"""A strategy call that never returns does not freeze the daemon: the step is interrupted at the
budget, trading halts with VT972, and the health endpoints keep answering to say so."""

from __future__ import annotations

from pathlib import Path

from adapters.binance.emulator import serve_binance
from adapters.emulator import EmulatorOptions
from engines.model.events import TradingHalted
from tests.live.harness import STRATEGIES, journal_events, start, write_config

SYMBOL = "binance-spot:BTCUSDT"


async def test_a_strategy_stuck_in_a_loop_is_halted_and_the_daemon_says_so(tmp_path: Path) -> None:
    emulator = await serve_binance(EmulatorOptions(symbols=(SYMBOL,), walk_interval_s=0.01, seed=4))
    try:
        config = write_config(
            tmp_path,
            strategy=STRATEGIES / "spin.py",
            params={"symbol": SYMBOL, "stuck_at": 5},
            venues={"binance": emulator},
            mode="paper",
            extra='[runtime]\nstrategy_call_budget_ms = 100\nloop = "asyncio"\n',
        )
        running = await start(config)
        await running.wait_for(lambda: running.session.engine_failed is not None, what="the strategy halted")
        status, ready = await running.get("/readyz")
        assert status == 503
        assert not ready["checks"]["strategy"]["ok"]
        assert "budget" in ready["checks"]["strategy"]["detail"]
        status, _ = await running.get("/healthz")
        assert status == 200
        assert running.session.budget.overruns == 1
        assert await running.stop() == 0

        # a restart re-drives the journal: the same call is interrupted at the same place, the
        # strategy stays halted, and the daemon does not hang on it
        again = await start(config)
        await again.wait_for(lambda: again.session.health is not None, what="the health server")
        status, ready = await again.get("/readyz")
        assert status == 503 and not ready["checks"]["strategy"]["ok"]
        assert not ready["checks"]["not_halted"]["ok"]
        assert await again.stop() == 0
    finally:
        await emulator.close()
    halts = [e for e in journal_events(tmp_path / "state") if isinstance(e, TradingHalted)]
    assert [(h.source, h.code) for h in halts] == [("daemon", "VT972")]
