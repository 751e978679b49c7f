"""Each strategy type through `LiveSession` against the emulators, in paper and live mode: a
portfolio rebalancing on the venue's 1 s bars, and an arbitrage across Binance spot and Bybit linear
(legs in order, one venue queue each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.binance.emulator import serve_binance
from adapters.bybit.emulator import serve_bybit
from adapters.emulator import EmulatorOptions
from engines.model.events import ArbitrageResolved, OrderFilled, OrderSubmitted, Rebalanced, RunFinished
from tests.live.harness import REPO, journal_events, start, write_config

BTC, ETH = "binance-spot:BTCUSDT", "binance-spot:ETHUSDT"
PERP = "bybit-linear:BTCUSDT"


@pytest.mark.parametrize("mode", ["paper", "live"])
async def test_a_portfolio_rebalances_on_the_venues_bars(tmp_path: Path, mode: str) -> None:
    emulator = await serve_binance(EmulatorOptions(symbols=(BTC, ETH), walk_interval_s=0.02, seed=7))
    try:
        config = write_config(
            tmp_path,
            strategy=REPO / "strategies/examples/rebalance.py",
            params={"universe": f"{BTC},{ETH}", "schedule": "on_demand", "cash_buffer": "0.05"},
            venues={"binance": emulator},
            mode=mode,
            extra="[market]\nbar_seconds = 1\n",
        )
        running = await start(config)
        kernel = lambda: running.session.kernel  # noqa: E731
        await running.wait_for(
            lambda: (
                (k := kernel()) is not None
                and k.ledger.position(BTC).qty > 0
                and k.ledger.position(ETH).qty > 0
            ),
            timeout=15,
            what="both symbols bought",
        )
        status, ready = await running.get("/readyz")
        assert status == 200, ready
        assert await running.stop() == 0
        # a restart re-drives the rebalances, which the kernel journals before the market event
        # that closed their instant
        again = await start(config)
        await again.wait_for(again.session.ready.is_set, what="ready after the restart")
        assert await again.stop() == 0
    finally:
        await emulator.close()
    events = journal_events(tmp_path / "state")
    assert any(isinstance(e, Rebalanced) for e in events)
    bought = {e.instrument for e in events if isinstance(e, OrderFilled)}
    assert bought == {BTC, ETH}
    assert isinstance(events[-1], RunFinished)


@pytest.mark.parametrize("mode", ["paper", "live"])
async def test_an_arbitrage_trades_across_two_venues_in_leg_order(tmp_path: Path, mode: str) -> None:
    spot = await serve_binance(EmulatorOptions(symbols=(BTC,), walk_interval_s=0.01, seed=11))
    perp = await serve_bybit(EmulatorOptions(symbols=(PERP,), walk_interval_s=0.01, seed=12))
    try:
        config = write_config(
            tmp_path,
            strategy=REPO / "strategies/examples/spread_arb.py",
            params={
                "legs": f"{BTC},{PERP}",
                "entry_bps": "0.5",
                "exit_bps": "0.1",
                "size": "0.002",
                "cooldown_ms": 200,
                "window_ms": 200,
            },
            venues={"binance": spot, "bybit": perp},
            mode=mode,
        )
        running = await start(config)

        def resolved() -> int:
            k = running.session.kernel
            return 0 if k is None else sum(1 for o in k.orders._orders.values() if o.arb_id and o.leg == 1)

        await running.wait_for(lambda: resolved() >= 2, timeout=20, what="two arbitrage intents")
        assert await running.stop() == 0
    finally:
        await spot.close()
        await perp.close()
    events = journal_events(tmp_path / "state")
    legs = [e for e in events if isinstance(e, OrderSubmitted) and e.arb_id]
    assert {e.venue for e in legs} == {"binance", "bybit"}
    by_arb: dict[str, list[OrderSubmitted]] = {}
    for e in legs:
        by_arb.setdefault(e.arb_id or "", []).append(e)
    fills = {e.client_order_id: e.seq for e in reversed(events) if isinstance(e, OrderFilled)}
    for arb in by_arb.values():
        firsts = list(dict.fromkeys(e.leg for e in arb))  # later legs may be an unwind's or a hedge's
        assert firsts == sorted(e.leg or 0 for e in arb[: len(firsts)])
        if len(firsts) > 1:  # next_leg_on = filled: leg 1 leaves only after leg 0 filled
            first_leg = arb[0]
            second = next(e for e in arb if e.leg == 1)
            assert first_leg.client_order_id in fills
            assert fills[first_leg.client_order_id] < second.seq
    assert any(isinstance(e, ArbitrageResolved) for e in events) or len(by_arb) >= 2


async def test_a_restart_re_drives_rebalances_the_risk_gate_refused(tmp_path: Path) -> None:
    """What one step journals before its market event includes the risk gate's refusals of the
    rebalance's intents: the re-drive makes them again (found by the chaos suite)."""
    emulator = await serve_binance(EmulatorOptions(symbols=(BTC, ETH), walk_interval_s=0.02, seed=17))
    try:
        config = write_config(
            tmp_path,
            strategy=REPO / "strategies/examples/rebalance.py",
            params={"universe": f"{BTC},{ETH}", "schedule": "on_demand", "cash_buffer": "0.05"},
            venues={"binance": emulator},
            extra="[market]\nbar_seconds = 1\n",
        )
        running = await start(config)
        await running.wait_for(running.session.ready.is_set, what="ready")
        running.session.halt("drill")  # every intent from now on is refused by the gate

        def refused() -> bool:
            kernel = running.session.kernel
            return kernel is not None and any(
                o.reason.startswith("risk:") for o in kernel.orders._orders.values()
            )

        await running.wait_for(refused, timeout=15, what="a rebalance refused by the gate")
        assert await running.stop() == 0
        again = await start(config)
        await again.wait_for(
            lambda: again.session.health is not None and again.session.reconciled.check()[0], what="re-driven"
        )
        assert await again.stop() == 0
    finally:
        await emulator.close()
