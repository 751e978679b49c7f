"""The venue contract, run against :class:`adapters.kiwoom.execution.KiwoomExecutionClient` on a fresh
Kiwoom emulator per test, real and mock: ``krx:005930`` quoted 70,000 / 70,100 KRW, an account holding
100,000,000 KRW. The client's limiter is loosened to the emulator's limit so the suite stays quick
(the default, about 1/s per api-id, is tested in tests/venues/kiwoom)."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from adapters.emulator.options import TEST_API_KEY, TEST_API_SECRET, EmulatorOptions
from adapters.kiwoom.config import KiwoomConfig
from adapters.kiwoom.emulator import KiwoomLimits, serve_kiwoom
from adapters.kiwoom.emulator_rest import Mode
from adapters.kiwoom.execution import KiwoomExecutionClient
from tests.contract.venue_contract import VenueContract, VenueFactory, VenueUnderTest

SYMBOL = "krx:005930"
BID, ASK = D(70_000), D(70_100)


async def make_kiwoom(mode: Mode, token_dir: Path) -> VenueUnderTest:
    emulator = await serve_kiwoom(
        EmulatorOptions(walk=False, symbols=(SYMBOL,)),
        environment=mode,
        limits=KiwoomLimits(per_window=200, page_size=3),
    )
    emulator.exchange.quote(SYMBOL, BID, ASK, D(100), D(100))
    client = KiwoomExecutionClient(
        KiwoomConfig.for_emulator(
            emulator.http_root,
            emulator.ws_root,
            environment="production" if mode == "real" else "test",
            rate_per_s=100.0,
            rate_burst=100,
        ),
        TEST_API_KEY,
        TEST_API_SECRET,
        token_dir=token_dir,
        symbols=[SYMBOL],
        timeout_s=2.0,
        clock_ns=emulator.exchange.clock.now_ns,
    )
    await client.connect()

    async def tick() -> None:
        emulator.exchange.quote(SYMBOL, BID, ASK, D(3), D(3))

    async def cleanup() -> None:
        await client.close()
        await emulator.close()

    return VenueUnderTest(
        client=client,
        venue="kiwoom",
        instrument=SYMBOL,
        base="005930",
        quote="KRW",
        quantity=D(10),
        far_bid=D(50_000),
        tick=tick,
        cleanup=cleanup,
    )


class TestKiwoomRealVenue(VenueContract):
    @pytest.fixture
    def venue_factory(self, tmp_path: Path) -> VenueFactory:
        return lambda: make_kiwoom("real", tmp_path)


class TestKiwoomMockVenue(VenueContract):
    @pytest.fixture
    def venue_factory(self, tmp_path: Path) -> VenueFactory:
        return lambda: make_kiwoom("mock", tmp_path)
