"""The venue contract, run against :class:`adapters.kis.execution.KisExecutionClient` on a fresh KIS
emulator per test, real and mock: ``krx:005930`` quoted 70,000 / 70,100 KRW, an account of
100,000,000 KRW; orders of 10 shares."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Literal

import pytest

from adapters.emulator.options import TEST_API_KEY, TEST_API_SECRET, EmulatorOptions
from adapters.kis.config import KisConfig
from adapters.kis.emulator import serve_kis
from adapters.kis.emulator_rest import KisLimits
from adapters.kis.execution import KisExecutionClient
from tests.contract.venue_contract import VenueContract, VenueFactory, VenueUnderTest

SYMBOL = "krx:005930"
BID, ASK = D(70_000), D(70_100)


async def make_kis(environment: Literal["real", "mock"], cache: Path) -> VenueUnderTest:
    # mock's 1 request a second would make each test take half a minute; the limit itself has its
    # own tests in tests/venues/kis
    limits = KisLimits(rest_per_s=50) if environment == "mock" else None
    emulator = await serve_kis(
        EmulatorOptions(walk=False, symbols=(SYMBOL,), balances={"KRW": D(100_000_000)}),
        environment=environment,
        limits=limits,
    )
    emulator.exchange.quote(SYMBOL, BID, ASK, D(1000), D(1000))
    client = KisExecutionClient(
        KisConfig.for_emulator(emulator.http_root, emulator.ws_root, environment=environment),
        TEST_API_KEY,
        TEST_API_SECRET,
        symbols=[SYMBOL],
        cache_dir=cache,
        timeout_s=2.0,
        rate_per_s=40 if environment == "mock" else None,
        clock_ns=emulator.exchange.clock.now_ns,
    )

    async def tick() -> None:
        emulator.exchange.quote(SYMBOL, BID, ASK, D(1000), D(1000))

    async def cleanup() -> None:
        await client.close()
        await emulator.close()

    return VenueUnderTest(
        client=client,
        venue="kis",
        instrument=SYMBOL,
        base="005930",
        quote="KRW",
        quantity=D(10),
        far_bid=D(50_000),
        tick=tick,
        cleanup=cleanup,
    )


class TestKisRealVenue(VenueContract):
    @pytest.fixture
    def venue_factory(self, tmp_path: Path) -> VenueFactory:
        return lambda: make_kis("real", tmp_path)


class TestKisMockVenue(VenueContract):
    @pytest.fixture
    def venue_factory(self, tmp_path: Path) -> VenueFactory:
        return lambda: make_kis("mock", tmp_path)
