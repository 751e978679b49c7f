"""Restarts against the Binance emulator: a session stopped and started again folds its journal and
carries on without sending anything twice; fills that happened while it was down are found and
folded; what the journal cannot account for stops trading until the operator adopts it."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from adapters.binance.emulator import serve_binance
from adapters.emulator import EmulatorOptions
from adapters.emulator.options import TEST_API_KEY
from adapters.emulator.server import RunningEmulator
from engines.model.commands import SubmitOrder
from engines.model.enums import OrderType, Side
from engines.model.events import (
    FillReport,
    OrderFilled,
    OrderStatusReport,
    OrderSubmitted,
    ReconciliationDifference,
    RunFinished,
    RunStarted,
    TradingHalted,
    TradingResumed,
)
from engines.orders.table import OrderStatus
from tests.live.harness import STRATEGIES, Running, journal_events, start, write_config

SYMBOL = "binance-spot:BTCUSDT"


def _filled_orders(running: Running) -> int:
    kernel = running.session.kernel
    return 0 if kernel is None else sum(1 for o in kernel.orders._orders.values() if o.filled_qty > 0)


async def test_a_restart_folds_the_journal_and_never_reuses_an_order_id(tmp_path: Path) -> None:
    emulator = await serve_binance(EmulatorOptions(symbols=(SYMBOL,), walk_interval_s=0.01, seed=5))
    try:
        config = write_config(
            tmp_path,
            strategy=STRATEGIES / "flip.py",
            params={"symbol": SYMBOL, "every": 3, "size": "0.01"},
            venues={"binance": emulator},
            mode="live",
        )
        first = await start(config)
        await first.wait_for(lambda: _filled_orders(first) >= 3, what="three filled orders")
        assert await first.stop() == 0
        kernel = first.session.kernel
        assert kernel is not None
        position = kernel.ledger.position(SYMBOL).qty
        orders_before = len(kernel.orders)

        second = await start(config)
        await second.wait_for(second.session.ready.is_set, what="ready after the restart")
        kernel2 = second.session.kernel
        assert kernel2 is not None
        assert kernel2.ledger.position(SYMBOL).qty == position  # the state before the restart
        await second.wait_for(lambda: len(kernel2.orders) >= orders_before + 3, what="three new orders")
        assert await second.stop() == 0
        at_venue = {r.client_id for r in emulator.exchange.accounts[TEST_API_KEY].orders.values()}
    finally:
        await emulator.close()
    events = journal_events(tmp_path / "state")
    assert sum(isinstance(e, RunStarted) for e in events) == 1  # one run, two sessions
    assert sum(isinstance(e, RunFinished) for e in events) == 2
    ids = [e.client_order_id for e in events if isinstance(e, OrderSubmitted)]
    assert len(ids) == len(set(ids)) >= orders_before + 3
    assert set(ids) <= at_venue | {  # every intent reached the venue, or was refused locally at stop
        e.client_order_id for e in events if type(e).__name__ == "OrderRejected"
    }


async def _quote_until(running: Running, emulator: RunningEmulator, done: object, bid: D) -> None:
    """Publish quotes until ``done()`` (the session subscribes asynchronously: early quotes are lost)."""
    import asyncio

    async with asyncio.timeout(10):
        while not done():  # type: ignore[operator]
            emulator.exchange.quote(SYMBOL, bid, bid + D("0.1"), D(1), D(1))
            await asyncio.sleep(0.05)
            if running.task.done():
                running.task.result()


def _resting(tmp_path: Path, emulator: RunningEmulator) -> Path:
    return write_config(
        tmp_path,
        strategy=STRATEGIES / "rest_once.py",
        params={"symbol": SYMBOL, "offset": "100", "size": "0.01"},
        venues={"binance": emulator},
        mode="live",
        extra='[stop]\non_stop = "leave"\n',
    )


async def test_a_fill_while_the_daemon_was_down_is_found_and_folded(tmp_path: Path) -> None:
    emulator = await serve_binance(EmulatorOptions(symbols=(SYMBOL,), walk=False))
    try:
        config = _resting(tmp_path, emulator)
        first = await start(config)

        def accepted() -> bool:
            kernel = first.session.kernel
            return kernel is not None and any(
                o.status is OrderStatus.ACCEPTED for o in kernel.orders.open_orders()
            )

        await _quote_until(first, emulator, accepted, D(43000))
        assert await first.stop() == 0
        assert len(emulator.exchange.open_orders(TEST_API_KEY)) == 1  # on_stop = "leave"
        # the market comes down through the resting buy (limit 42900) while nobody watches
        emulator.exchange.quote(SYMBOL, D(42800), D(42850), D(1), D(1))
        assert not emulator.exchange.open_orders(TEST_API_KEY)

        second = await start(config)
        await _quote_until(second, emulator, second.session.ready.is_set, D(42800))
        kernel = second.session.kernel
        assert kernel is not None
        assert kernel.ledger.position(SYMBOL).qty == D("0.01")
        assert not kernel.orders.open_orders()
        status, ready = await second.get("/readyz")
        assert status == 200, ready
        assert await second.stop() == 0
    finally:
        await emulator.close()
    events = journal_events(tmp_path / "state")
    assert sum(isinstance(e, OrderSubmitted) for e in events) == 1  # nothing was sent again
    after_restart = events[next(i for i, e in enumerate(events) if isinstance(e, RunFinished)) :]
    found = [e for e in after_restart if isinstance(e, (OrderStatusReport, FillReport, OrderFilled))]
    assert found, "the restart journals what it found at the venue"
    assert sum(e.last_qty for e in events if isinstance(e, OrderFilled)) == D("0.01")  # folded once
    assert not any(isinstance(e, ReconciliationDifference) for e in events)


async def test_an_order_the_journal_never_saw_stops_trading_until_adopted(tmp_path: Path) -> None:
    emulator = await serve_binance(EmulatorOptions(symbols=(SYMBOL,), walk=False))
    try:
        config = _resting(tmp_path, emulator)
        first = await start(config)
        await _quote_until(first, emulator, first.session.ready.is_set, D(43000))
        assert await first.stop() == 0
        # someone places an order with this strategy's id prefix while the daemon is down
        stray = SubmitOrder(
            ts_event=0,
            ts_init=0,
            strategy="rest_once",
            venue="binance",
            client_order_id="rest_once-00000099",
            instrument=SYMBOL,
            side=Side.BUY,
            order_type=OrderType.LIMIT,
            quantity=D("0.01"),
            price=D(40000),
        )
        await emulator.exchange.submit(TEST_API_KEY, stray)

        refused = await start(config)
        await _quote_until(refused, emulator, refused.session.ready.is_set, D(43000))
        status, ready = await refused.get("/readyz")
        assert status == 503
        assert not ready["checks"]["reconciled"]["ok"]
        assert "rest_once-00000099" in ready["checks"]["reconciled"]["detail"]
        assert not ready["checks"]["not_halted"]["ok"]
        assert await refused.stop() == 0

        adopted = await start(config, adopt_venue_state=True)
        await _quote_until(adopted, emulator, adopted.session.ready.is_set, D(43000))
        status, ready = await adopted.get("/readyz")
        assert status == 200, ready
        kernel = adopted.session.kernel
        assert kernel is not None and "rest_once-00000099" in kernel.orders
        assert await adopted.stop() == 0
    finally:
        await emulator.close()
    events = journal_events(tmp_path / "state")
    differences = [e for e in events if isinstance(e, ReconciliationDifference)]
    assert [d.adopted for d in differences] == [False, True]
    halts = [e for e in events if isinstance(e, TradingHalted)]
    assert [h.source for h in halts] == ["reconciliation"] and halts[0].code == "VT971"
    assert [e.source for e in events if isinstance(e, TradingResumed)] == ["adopt-venue-state"]
