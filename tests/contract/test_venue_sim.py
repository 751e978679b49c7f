"""The venue contract, run against :class:`adapters.sim.execution.SimExecutionClient` (paper mode's
venue): a simulated venue quoting ``binance-spot:BTCUSDT``, an account holding 100,000 USDT."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from adapters.sim.execution import SimExecutionClient
from engines.clock import ReplayClock
from engines.ledger import Ledger
from engines.markets.specs import spec_for
from engines.model.events import CashAdjusted, InstrumentDefined, QuoteTick
from engines.sim.venue import SimVenue
from tests.contract.venue_contract import VenueContract, VenueFactory, VenueUnderTest

SYMBOL = "binance-spot:BTCUSDT"
T0 = 1_700_000_000_000_000_000
SECOND = 10**9


def make_sim() -> VenueUnderTest:
    spec = spec_for(SYMBOL)
    account = Ledger()
    account.apply(InstrumentDefined(ts_event=T0, ts_init=T0, spec=spec))
    account.apply(CashAdjusted(ts_event=T0, ts_init=T0, currency="USDT", amount=D(100_000), reason="funding"))
    clock = ReplayClock(T0)
    client = SimExecutionClient(SimVenue({SYMBOL: spec}, account, clock=clock), account, clock=clock)

    async def tick() -> None:
        now = clock.now_ns() + SECOND
        clock.advance(now)
        client.feed(
            QuoteTick(
                ts_event=now,
                ts_init=now,
                instrument=SYMBOL,
                bid=D("43000.0"),
                bid_size=D("0.5"),
                ask=D("43000.1"),
                ask_size=D("0.004"),  # below the order size: a market order fills in parts
            )
        )

    client.feed(
        QuoteTick(
            ts_event=T0,
            ts_init=T0,
            instrument=SYMBOL,
            bid=D("43000.0"),
            bid_size=D(1),
            ask=D("43000.1"),
            ask_size=D(1),
        )
    )
    return VenueUnderTest(
        client=client,
        venue="sim",
        instrument=SYMBOL,
        base=spec.base,
        quote=spec.quote,
        quantity=D("0.01"),
        far_bid=D("30000.0"),
        tick=tick,
    )


class TestSimVenue(VenueContract):
    @pytest.fixture
    def venue_factory(self) -> VenueFactory:
        return make_sim
