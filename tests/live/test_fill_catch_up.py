"""A status report that resolves an unknown outcome can say an order filled while its fill never
arrived (the answer lost with the order, the stream down meanwhile). The session fetches that fill at
once (``LiveSession._catch_up_fills``): the journal's position is the venue's before the next start.
"""

from __future__ import annotations

from pathlib import Path

from adapters.binance.emulator import serve_binance
from adapters.emulator import EmulatorOptions
from engines.model.events import Event, OrderFilled, OrderStatusUnknown
from tests.live.harness import STRATEGIES, start, write_config

BTC = "binance-spot:BTCUSDT"


async def test_a_fill_the_report_tells_of_is_fetched_at_once(tmp_path: Path) -> None:
    emulator = await serve_binance(EmulatorOptions(symbols=(BTC,), walk_interval_s=0.01, seed=5, hang_s=0.5))
    try:
        config = write_config(
            tmp_path,
            strategy=STRATEGIES / "flip.py",
            params={"symbol": BTC, "every": 2, "size": "0.001"},
            venues={"binance": emulator},
            mode="live",
        )
        config.write_text(
            config.read_text().replace('credentials = "file:', 'timeout_ms = 400\ncredentials = "file:')
        )
        running = await start(config)
        session = running.session
        try:
            await running.wait_for(lambda: session.port is not None and session.port.sending, timeout=15)
            kernel = session.kernel
            assert kernel is not None
            real = session.deliver
            lost: list[str] = []
            unknown: set[str] = set()

            def deliver(fact: Event, venue: str) -> None:
                # the stream's fills of an order whose create went unanswered are lost (as a dropped
                # stream loses them) until a status report says the order filled
                if isinstance(fact, OrderStatusUnknown):
                    unknown.add(fact.client_order_id)
                if isinstance(fact, OrderFilled) and fact.client_order_id in unknown:
                    order = kernel.orders.get(fact.client_order_id)
                    if order is not None and order.filled_qty <= order.executed_qty:
                        lost.append(fact.trade_id)
                        return
                real(fact, venue)

            session.deliver = deliver  # type: ignore[method-assign]
            emulator.exchange.faults.force("accept-then-timeout")
            await running.wait_for(lambda: bool(lost), timeout=10, what="a fill lost with its answer")

            def folded() -> bool:
                ids = {t for o in kernel.orders._orders.values() for t in o.trade_ids}
                return all(trade_id in ids for trade_id in lost)

            await running.wait_for(folded, timeout=10, what="the lost fill fetched")
            order = next(o for o in kernel.orders._orders.values() if lost[0] in o.trade_ids)
            assert order.executed_qty == order.filled_qty > 0
        finally:
            if not running.task.done():
                assert await running.stop() == 0
    finally:
        await emulator.close()
