"""``on_stop`` in a live session: called once as the session stops, its lines journalled before the
RunFinished, and a restart's re-drive calls it again at the same place (no divergence)."""

from __future__ import annotations

from pathlib import Path

from adapters.binance.emulator import serve_binance
from adapters.emulator import EmulatorOptions
from engines.model.events import RunFinished, StrategyLog
from tests.live.harness import STRATEGIES, journal_events, start, write_config

BTC = "binance-spot:BTCUSDT"


async def test_on_stop_is_journalled_before_the_end_and_re_driven(tmp_path: Path) -> None:
    emulator = await serve_binance(EmulatorOptions(symbols=(BTC,), walk_interval_s=0.01, seed=5))
    try:
        config = write_config(
            tmp_path,
            strategy=STRATEGIES / "flip_on_stop.py",
            params={"symbol": BTC, "every": 3, "size": "0.001"},
            venues={"binance": emulator},
            mode="live",
        )
        for _ in range(2):  # the second start re-drives the first session, on_stop included
            running = await start(config)
            await running.wait_for(running.session.ready.is_set, what="ready")
            kernel = running.session.kernel
            assert kernel is not None
            target = kernel.market_events + 6
            await running.wait_for(
                lambda k=kernel, n=target: k.market_events >= n,  # type: ignore[misc]
                what="a few quotes",
            )
            assert await running.stop() == 0
    finally:
        await emulator.close()
    events = journal_events(tmp_path / "state")
    ends = [i for i, e in enumerate(events) if isinstance(e, RunFinished)]
    assert len(ends) == 2
    for end in ends:
        before = events[end - 1]
        assert isinstance(before, StrategyLog) and before.message.startswith("stopping after ")
        assert before.ts_event == events[end].ts_event
    said = [e for e in events if isinstance(e, StrategyLog) and e.message.startswith("stopping after ")]
    assert len(said) == 2  # once per session: the re-drive's call matched the recording, adding nothing
