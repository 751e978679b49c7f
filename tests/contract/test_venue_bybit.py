"""The venue contract, run against :class:`adapters.bybit.execution.BybitExecutionClient` on a fresh
Bybit emulator per test: spot ``bybit-spot:BTCUSDT`` and linear ``bybit-linear:BTCUSDT``, an account
holding the emulator's default balances (100,000 USDT, 1 BTC)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from adapters.bybit.config import BybitConfig, Category
from adapters.bybit.emulator import serve_bybit
from adapters.bybit.execution import BybitExecutionClient
from adapters.emulator.options import TEST_API_KEY, TEST_API_SECRET, EmulatorOptions
from engines.model.enums import OrderType, Side
from tests.contract.venue_contract import VenueContract, VenueFactory, VenueUnderTest

BID, ASK = D("43000.0"), D("43000.1")


async def make_bybit(category: Category) -> VenueUnderTest:
    symbol = f"bybit-{category}:BTCUSDT"
    emulator = await serve_bybit(EmulatorOptions(walk=False, symbols=(symbol,)))
    emulator.exchange.quote(symbol, BID, ASK, D(1), D(1))
    client = BybitExecutionClient(
        BybitConfig.for_emulator(emulator.http_root, emulator.ws_root),
        TEST_API_KEY,
        TEST_API_SECRET,
        category=category,
        symbols=[symbol],
        timeout_s=2.0,
    )
    await client.connect()

    async def tick() -> None:
        # Bybit's market orders are IOC (the emulator's too): the book must hold the whole order
        emulator.exchange.quote(symbol, BID, ASK, D("0.5"), D("0.02"))

    async def cleanup() -> None:
        await client.close()
        await emulator.close()

    return VenueUnderTest(
        client=client,
        venue="bybit",
        instrument=symbol,
        base="BTC",
        quote="USDT",
        quantity=D("0.01"),
        far_bid=D("30000.0"),
        tick=tick,
        cleanup=cleanup,
    )


async def _spot() -> VenueUnderTest:
    return await make_bybit("spot")


async def _linear() -> VenueUnderTest:
    return await make_bybit("linear")


class TestBybitSpotVenue(VenueContract):
    @pytest.fixture
    def venue_factory(self) -> VenueFactory:
        return _spot


class TestBybitLinearVenue(VenueContract):
    """Linear contracts settle in USDT: a fill moves the position, and the wallet only by the fee."""

    @pytest.fixture
    def venue_factory(self) -> VenueFactory:
        return _linear

    async def test_balances_move_by_exactly_the_fills(self, v: VenueUnderTest) -> None:
        before = await v.client.balances()
        _, fills = await v.filled()
        after = await v.client.balances()
        fees = sum((f.fee for f in fills), D(0))
        assert {f.fee_currency for f in fills} == {"USDT"}
        assert after.get("USDT").total - before.get("USDT").total == -fees
        assert after.get("BTC") == before.get("BTC")  # a contract is not the coin
        position = (await v.client.positions()).positions[v.instrument]
        assert position.qty == sum((f.last_qty for f in fills), D(0))

    async def test_a_working_buy_locks_quote_and_its_cancel_frees_it(self, v: VenueUnderTest) -> None:
        before = (await v.client.balances()).get(v.quote)
        cmd = await v.resting()
        assert (await v.client.balances()).get(v.quote).total == before.total  # margin is not spent
        assert (await v.client.positions()).positions == {}
        await v.client.cancel(v.cancel(cmd.client_order_id))
        assert (await v.client.balances()).get(v.quote) == before
        assert cmd.side is Side.BUY and cmd.order_type is OrderType.LIMIT
