"""A live session against a Binance emulator that spoils requests and messages (seeded): timeouts,
5xx, orders accepted whose answer never comes, resets, duplicated and out-of-order fills. The session
stays up, resolves every unknown outcome by query, never sends an order twice, and ends with the
venue's position equal to the journal's."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal as D
from pathlib import Path

from adapters.binance.emulator import serve_binance
from adapters.emulator import EmulatorOptions
from adapters.emulator.faults import parse_faults
from adapters.emulator.options import TEST_API_KEY
from engines.model.events import OrderStatusUnknown, OrderSubmitted
from engines.orders.table import OrderStatus
from tests.live.harness import STRATEGIES, Running, journal_events, start, write_config

SYMBOL = "binance-spot:BTCUSDT"
FAULTS = "timeout=0.1,5xx=0.1,accept-then-timeout=0.15,reset=0.05,dup-fill=0.2,out-of-order=0.1"


def _settled(running: Running) -> bool:
    kernel = running.session.kernel
    return (
        kernel is not None
        and not kernel.orders.open_orders()
        and not any(q.pending() or q.unresolved for q in running.session.queues.values())
    )


async def test_a_session_survives_a_faulty_venue_without_sending_anything_twice(tmp_path: Path) -> None:
    options = EmulatorOptions(
        symbols=(SYMBOL,), walk_interval_s=0.01, seed=31, faults=parse_faults(FAULTS), hang_s=0.6
    )
    emulator = await serve_binance(options)
    try:
        config = write_config(
            tmp_path,
            strategy=STRATEGIES / "flip.py",
            params={"symbol": SYMBOL, "every": 2, "size": "0.01"},
            venues={"binance": emulator},
            mode="live",
        )
        text = config.read_text().replace('credentials = "file:', 'timeout_ms = 300\ncredentials = "file:')
        config.write_text(text)
        account = emulator.exchange.accounts[TEST_API_KEY]
        btc_before = account.ledger.position(SYMBOL).qty
        running = await start(config)
        kernel = lambda: running.session.kernel  # noqa: E731
        await running.wait_for(
            lambda: (k := kernel()) is not None and len(k.orders) >= 40, timeout=25, what="40 orders"
        )
        injected = dict(emulator.exchange.faults.injected)
        emulator.exchange.faults.spec = parse_faults("none")  # let the last answers through
        running.session.halt("end of the drill")  # no new orders; what is out settles
        await running.wait_for(lambda: _settled(running), timeout=15, what="every order settled")
        k = kernel()
        assert k is not None
        position = k.ledger.position(SYMBOL).qty
        assert await running.stop() == 0
        await asyncio.sleep(0)
        creates = [cid for cid, _ in account.creates] + list(account.duplicate_creates)
        btc_after = account.ledger.position(SYMBOL).qty
    finally:
        await emulator.close()
    assert injected["timeout"] + injected["accept-then-timeout"] + injected["5xx"] > 0, injected
    events = journal_events(tmp_path / "state")
    assert sum(isinstance(e, OrderStatusUnknown) for e in events) >= 3
    sent = Counter(creates)  # every create the venue received, refused duplicates included
    assert max(sent.values()) == 1, "an order was sent twice"
    intents = {e.client_order_id for e in events if isinstance(e, OrderSubmitted)}
    assert set(sent) <= intents
    assert btc_after - btc_before == position  # the venue and the journal agree
    assert all(o.status is not OrderStatus.UNKNOWN for o in k.orders._orders.values())
    assert position == position.quantize(D("0.00001"))
