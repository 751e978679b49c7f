"""`replay --journal`: a recorded live session re-drives to identical decisions, across a restart;
a different strategy parameter diverges at the first decision it changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.binance.emulator import serve_binance
from adapters.emulator import EmulatorOptions
from daemon.cli import main
from daemon.live.redrive import DivergenceError
from daemon.live.rereplay import replay_journal
from tests.live.harness import STRATEGIES, Running, start, write_config

SYMBOL = "binance-spot:BTCUSDT"


def _orders(running: Running) -> int:
    kernel = running.session.kernel
    return 0 if kernel is None else len(kernel.orders)


async def _trade_a_little(running: Running) -> None:
    await running.wait_for(running.session.ready.is_set, what="ready")
    base = _orders(running)
    await running.wait_for(lambda: _orders(running) >= base + 3, what="three more orders")
    assert await running.stop() == 0


async def test_a_recorded_session_replays_to_identical_decisions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator = await serve_binance(EmulatorOptions(symbols=(SYMBOL,), walk_interval_s=0.01, seed=21))
    try:
        config = write_config(
            tmp_path,
            strategy=STRATEGIES / "flip.py",
            params={"symbol": SYMBOL, "every": 3, "size": "0.01"},
            venues={"binance": emulator},
            mode="live",
        )
        for _ in range(2):  # two sessions: the re-drive crosses a restart and its reconciliation
            await _trade_a_little(await start(config))
    finally:
        await emulator.close()
    state = tmp_path / "state"
    result = replay_journal(STRATEGIES / "flip.py", state)
    assert result.orders >= 4 and result.decisions >= 4 and not result.strategy_changed
    assert result.market_events > 0

    with pytest.raises(DivergenceError) as diverged:
        replay_journal(STRATEGIES / "flip.py", state, params=["every=4"])
    assert diverged.value.code == "VT970"

    assert main(["replay", str(STRATEGIES / "flip.py"), "--journal", str(state)]) == 0
    assert "identical decisions" in capsys.readouterr().out
    assert main(["replay", str(STRATEGIES / "flip.py"), "--journal", str(state), "--param", "every=4"]) == 1
