"""What the watchdog supervisor feeds on: the liveness checks and the readiness checks a restart can
cure, never the deliberate states (a halt keeps the process fed, a dead market stream does not)."""

from __future__ import annotations

from pathlib import Path

from adapters.binance.emulator import serve_binance
from adapters.emulator import EmulatorOptions
from tests.live.harness import STRATEGIES, start, write_config

SYMBOL = "binance-spot:BTCUSDT"


async def test_the_watchdog_follows_curable_checks_only(tmp_path: Path) -> None:
    emulator = await serve_binance(EmulatorOptions(symbols=(SYMBOL,), walk_interval_s=0.01, seed=8))
    try:
        config = write_config(
            tmp_path,
            strategy=STRATEGIES / "flip.py",
            params={"symbol": SYMBOL, "every": 1000},
            venues={"binance": emulator},
            mode="live",
        )
        running = await start(config)
        session = running.session
        await running.wait_for(session.ready.is_set, what="ready")
        assert session.watchdog_ok()

        session.halt("drill")  # deliberate: /readyz false, the watchdog still fed
        status, _ = await running.get("/readyz")
        assert status == 503
        assert session.watchdog_ok()
        session.resume()

        session.market_fresh[SYMBOL].max_age_s = 1e-9  # a market stream gone silent: not fed
        assert not session.watchdog_ok()
        assert await running.stop() == 0
    finally:
        await emulator.close()
