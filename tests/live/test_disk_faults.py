"""Disk faults: a torn last journal record is repaired at the next start (nothing else lost); a
journal that can no longer be written (a full disk) stops every order before it leaves, says so on
/readyz and /healthz, and the daemon exits non-zero when stopped, the journal intact up to the failure."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from adapters.binance.emulator import serve_binance
from adapters.emulator import EmulatorOptions
from adapters.emulator.options import TEST_API_KEY
from daemon.journal import stores, verify
from engines.model.events import OrderSubmitted
from tests.live.harness import STRATEGIES, Running, journal_events, start, write_config

SYMBOL = "binance-spot:BTCUSDT"


def _orders(running: Running) -> int:
    kernel = running.session.kernel
    return 0 if kernel is None else len(kernel.orders)


async def test_a_torn_last_record_is_repaired_at_the_next_start(tmp_path: Path) -> None:
    emulator = await serve_binance(EmulatorOptions(symbols=(SYMBOL,), walk_interval_s=0.01, seed=13))
    try:
        config = write_config(
            tmp_path,
            strategy=STRATEGIES / "flip.py",
            params={"symbol": SYMBOL, "every": 3},
            venues={"binance": emulator},
            mode="live",
        )
        first = await start(config)
        await first.wait_for(lambda: _orders(first) >= 3, what="three orders")
        assert await first.stop() == 0
        journal = tmp_path / "state" / "journal.vtj"
        before = journal_events(tmp_path / "state")
        with journal.open("r+b") as f:  # a crash in the middle of writing the last record
            f.truncate(os.path.getsize(journal) - 5)
        assert not verify(journal).ok

        second = await start(config)
        await second.wait_for(second.session.ready.is_set, what="ready after the repair")
        status, _ = await second.get("/readyz")
        assert status == 200
        assert await second.stop() == 0
    finally:
        await emulator.close()
    assert verify(journal).ok
    after = journal_events(tmp_path / "state")
    # only the torn record (the first session's RunFinished) is gone; everything before it is kept
    assert [type(e) for e in after[: len(before) - 1]] == [type(e) for e in before[:-1]]


async def test_a_full_disk_stops_every_order_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = await serve_binance(EmulatorOptions(symbols=(SYMBOL,), walk_interval_s=0.01, seed=14))
    try:
        config = write_config(
            tmp_path,
            strategy=STRATEGIES / "flip.py",
            params={"symbol": SYMBOL, "every": 3},
            venues={"binance": emulator},
            mode="live",
        )
        running = await start(config)
        await running.wait_for(lambda: _orders(running) >= 2, what="two orders")
        real_write = stores._write_all

        def full(fd: int, data: bytes) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(stores, "_write_all", full)
        await running.wait_for(lambda: running.session.journal_failed is not None, what="the failure noticed")
        creates = len(emulator.exchange.accounts[TEST_API_KEY].creates)
        status, ready = await running.get("/readyz")
        assert status == 503
        assert "journal" in ready["checks"]["not_halted"]["detail"]
        status, health = await running.get("/healthz")
        assert status == 503 and not health["checks"]["journal_writer"]["ok"]
        import asyncio

        await asyncio.sleep(0.5)  # the market keeps coming: nothing more is sent
        assert len(emulator.exchange.accounts[TEST_API_KEY].creates) == creates
        monkeypatch.setattr(stores, "_write_all", real_write)
        assert await running.stop() == 1
    finally:
        await emulator.close()
    journal = tmp_path / "state" / "journal.vtj"
    assert verify(journal).ok  # intact up to the failure, never corrupt
    sent = {cid for cid, _ in emulator.exchange.accounts[TEST_API_KEY].creates}
    intents = {e.client_order_id for e in journal_events(tmp_path / "state") if isinstance(e, OrderSubmitted)}
    assert sent <= intents  # every order that left had its intent on disk first
