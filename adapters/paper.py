"""Paper trading on a venue: the venue's real market data, matching by the local simulated venue.

Modes mean the same on every venue (DESIGN.md section 7): in ``paper`` no order leaves the process.
:class:`PaperVenue` joins a venue's :class:`~adapters.ports.MarketDataClient` to a
:class:`~adapters.sim.execution.SimExecutionClient` on the wall clock: every market event the venue
sends is first matched against the working paper orders, then passed on to the strategy's driver
(so a fill is never later than the quote that made it). Its :attr:`execution` is the execution port
the daemon trades through, exactly as it would trade through a live venue's client.

No key is needed where the venue's market data is public (Binance, Bybit).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from decimal import Decimal

from adapters.ports import MarketDataClient, MarketEvent
from adapters.sim.execution import SimExecutionClient
from adapters.transport.clock import WallClock
from engines.clock import Clock
from engines.ledger import Ledger
from engines.model.enums import Side
from engines.model.events import CashAdjusted, InstrumentDefined, OrderFilled
from engines.model.instruments import InstrumentSpec
from engines.sim.venue import SimVenue

__all__ = ["PaperVenue"]


class PaperVenue:
    """A venue's market data with simulated matching: ``name`` is the venue's name on commands
    (``binance``), ``specs`` the instruments traded, ``cash`` the paper account's starting cash."""

    def __init__(
        self,
        name: str,
        market: MarketDataClient,
        specs: Iterable[InstrumentSpec],
        cash: Mapping[str, Decimal],
        *,
        fee_bps: Decimal | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.clock = clock or WallClock()
        self.market = market
        specs_by_symbol = {spec.symbol: spec for spec in specs}
        self._specs = specs_by_symbol
        self.account = Ledger()
        t0 = self.clock.now_ns()
        for spec in specs_by_symbol.values():
            self.account.apply(InstrumentDefined(ts_event=t0, ts_init=t0, spec=spec))
        for currency, amount in sorted(cash.items()):
            self.account.apply(
                CashAdjusted(
                    ts_event=t0, ts_init=t0, currency=currency, amount=amount, reason="paper funding"
                )
            )
        venue = SimVenue(specs_by_symbol, self.account, clock=self.clock, fee_bps=fee_bps)
        self.execution = SimExecutionClient(venue, self.account, name=name, clock=self.clock)

    def restore(self, holdings: Mapping[str, tuple[Decimal, Decimal]], cash: Mapping[str, Decimal]) -> None:
        """Give the paper account what a restarted session's journal says it holds: ``holdings`` by
        symbol as (signed quantity, average price), ``cash`` by currency. The paper venue lives in
        memory, so without this a session restarted while long could never sell."""
        t0 = self.clock.now_ns()
        for n, (symbol, (qty, avg_px)) in enumerate(sorted(holdings.items())):
            if qty == 0:
                continue
            side = Side.BUY if qty > 0 else Side.SELL
            self.account.apply(
                OrderFilled(
                    ts_event=t0,
                    ts_init=t0,
                    client_order_id=f"paper-restore-{n}",
                    instrument=symbol,
                    side=side,
                    trade_id=f"paper-restore-{n}",
                    last_qty=abs(qty),
                    last_px=avg_px,
                    cum_qty=abs(qty),
                    fee=Decimal(0),
                    fee_currency=self._specs[symbol].quote,
                )
            )
        for currency, amount in sorted(cash.items()):
            delta = amount - self.account.cash(currency)
            if delta:
                self.account.apply(
                    CashAdjusted(
                        ts_event=t0, ts_init=t0, currency=currency, amount=delta, reason="paper restore"
                    )
                )

    async def subscribe(
        self,
        symbols: Iterable[str],
        *,
        quotes: bool = True,
        trades: bool = True,
        bar_interval_ns: int | None = None,
    ) -> None:
        await self.market.subscribe(symbols, quotes=quotes, trades=trades, bar_interval_ns=bar_interval_ns)

    def events(self) -> AsyncIterator[MarketEvent]:
        """The venue's market events, each matched against the paper orders before it is passed on."""
        return self._matched()

    async def _matched(self) -> AsyncIterator[MarketEvent]:
        async for event in self.market.events():
            self.execution.feed(event)
            yield event

    async def close(self) -> None:
        await self.market.close()
        await self.execution.close()
