"""The venue contract, run against :class:`adapters.binance.execution.BinanceExecutionClient` on the
Binance emulator: spot (``binance-spot:BTCUSDT``) and USD-M (``binance-usdm:BTCUSDT``), each on a
fresh emulator with no random walk, the market moved by the test (``tick`` quotes it again).

USD-M is a linear perpetual: a fill moves the position and the margin, not a base asset, so the two
balance tests are replaced there by their futures meaning (the position moves by exactly the fills,
the wallet by exactly their fees; a working buy holds margin that its cancel frees).
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from adapters.binance.config import BinanceConfig
from adapters.binance.emulator import serve_binance
from adapters.binance.execution import BinanceExecutionClient
from adapters.binance.rest import Market
from adapters.emulator import EmulatorOptions
from adapters.emulator.options import TEST_API_KEY, TEST_API_SECRET
from engines.markets.specs import spec_for
from engines.model.events import OrderCanceled
from tests.contract.venue_contract import VenueContract, VenueFactory, VenueUnderTest, _one

BID, ASK = D("43000.0"), D("43000.1")


def binance_factory(market: Market) -> VenueFactory:
    symbol = f"binance-{market}:BTCUSDT"

    async def make() -> VenueUnderTest:
        emulator = await serve_binance(EmulatorOptions(walk=False, symbols=(symbol,)))
        emulator.exchange.quote(symbol, BID, ASK, D(1), D(1))
        config = BinanceConfig.for_emulator(emulator.http_root, emulator.ws_root)
        client = BinanceExecutionClient(
            config, TEST_API_KEY, TEST_API_SECRET, market, [symbol], timeout_s=2.0, connect_timeout_s=2.0
        )
        try:
            await client.start()
        except BaseException:
            await emulator.close()
            raise
        spec = spec_for(symbol)

        async def tick() -> None:
            emulator.exchange.quote(symbol, BID, ASK, D("0.5"), D(1))

        async def cleanup() -> None:
            await client.close()
            await emulator.close()

        return VenueUnderTest(
            client=client,  # type: ignore[arg-type]  # submit also answers a duplicate's report
            venue="binance",
            instrument=symbol,
            base=spec.base,
            quote=spec.quote,
            quantity=D("0.01"),
            far_bid=D("30000.0"),
            tick=tick,
            cleanup=cleanup,
        )

    return make


class TestBinanceSpotVenue(VenueContract):
    @pytest.fixture
    def venue_factory(self) -> VenueFactory:
        return binance_factory("spot")


class TestBinanceUsdmVenue(VenueContract):
    @pytest.fixture
    def venue_factory(self) -> VenueFactory:
        return binance_factory("usdm")

    async def test_balances_move_by_exactly_the_fills(self, v: VenueUnderTest) -> None:
        before = await v.client.balances()
        assert before.get(v.quote).free > 0
        assert (await v.client.positions()).positions == {}
        _, fills = await v.filled()
        after = await v.client.balances()
        position = (await v.client.positions()).positions[v.instrument]
        assert position.qty == sum((f.last_qty for f in fills), D(0))
        fees = sum((f.fee for f in fills if f.fee_currency == v.quote), D(0))
        assert after.get(v.quote).total - before.get(v.quote).total == -fees

    async def test_a_working_buy_locks_quote_and_its_cancel_frees_it(self, v: VenueUnderTest) -> None:
        before = (await v.client.balances()).get(v.quote)
        cmd = await v.resting()
        held = (await v.client.balances()).get(v.quote)
        # Binance holds the order's initial margin (openOrderInitialMargin); the emulator does not
        # model open-order margin yet, so only "never less" is asserted here
        assert held.locked >= before.locked
        assert held.total == before.total
        _one(await v.client.cancel(v.cancel(cmd.client_order_id)), OrderCanceled)
        assert (await v.client.balances()).get(v.quote) == before
