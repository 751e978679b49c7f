"""The behaviour every venue's execution client has (DESIGN.md sections 5 and 7).

:class:`VenueContract` holds the tests; each venue subclasses it once (``TestSimVenue`` in
test_venue_sim.py, each adapter against its emulator) and provides the fixture ``venue_factory``:
a callable that builds a fresh :class:`VenueUnderTest`, a client on a venue with one quoted
instrument and an account funded in its quote currency. The factory may be a coroutine function
(an adapter starts its emulator and connects its client there); ``VenueUnderTest.cleanup`` is
awaited after the test (close the client, stop the emulator). The base class has no ``Test``
prefix, so pytest collects only the subclasses.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal as D
from typing import TypeVar

import msgspec
import pytest

from adapters.ports import ExecutionClient, ExecutionEvent
from engines.model.commands import CancelOrder, QueryOrder, SubmitOrder
from engines.model.enums import OrderType, ReportedStatus, Side
from engines.model.events import (
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderFilled,
    OrderRejected,
    OrderStatusReport,
)
from engines.strategy.runtime import OrderIds

_E = TypeVar("_E", bound=Event)

STRATEGY = "contract"
TICKS = 20  # how many market moves a marketable order may take to fill completely


@dataclass
class VenueUnderTest:
    """A client on a venue with one quoted instrument and a funded account.

    ``tick`` moves the venue's market once (a new quote at the same prices), which is what lets a
    marketable order fill. ``quantity`` is an order size the account can pay for; ``far_bid`` a buy
    limit that stays working (far below the market); ``base`` and ``quote`` the instrument's assets.
    """

    client: ExecutionClient
    venue: str
    instrument: str
    base: str
    quote: str
    quantity: D
    far_bid: D
    tick: Callable[[], Awaitable[None]]
    ids: OrderIds = field(default_factory=lambda: OrderIds(STRATEGY))
    #: awaited after the test: close the client, stop the emulator
    cleanup: Callable[[], Awaitable[None]] | None = None

    def submit(
        self, side: Side, order_type: OrderType, price: D | None = None, cid: str | None = None
    ) -> SubmitOrder:
        return SubmitOrder(
            ts_event=0,
            ts_init=0,
            strategy=STRATEGY,
            venue=self.venue,
            client_order_id=cid if cid is not None else self.ids.next(),
            instrument=self.instrument,
            side=side,
            order_type=order_type,
            quantity=self.quantity,
            price=price,
        )

    def cancel(self, cid: str) -> CancelOrder:
        return CancelOrder(
            ts_event=0,
            ts_init=0,
            strategy=STRATEGY,
            venue=self.venue,
            client_order_id=cid,
            instrument=self.instrument,
        )

    def query(self, cmd: SubmitOrder) -> QueryOrder:
        return QueryOrder(
            ts_event=0,
            ts_init=0,
            strategy=STRATEGY,
            venue=self.venue,
            client_order_id=cmd.client_order_id,
            instrument=cmd.instrument,
            side=cmd.side,
            order_type=cmd.order_type,
            quantity=cmd.quantity,
        )

    async def resting(self) -> SubmitOrder:
        """A buy limit that rests at the venue, accepted."""
        cmd = self.submit(Side.BUY, OrderType.LIMIT, self.far_bid)
        assert _one(await self.client.submit(cmd), OrderAccepted).client_order_id == cmd.client_order_id
        return cmd

    async def filled(self) -> tuple[SubmitOrder, list[OrderFilled]]:
        """A market buy, accepted and filled in full; its fills in order."""
        cmd = self.submit(Side.BUY, OrderType.MARKET)
        _one(await self.client.submit(cmd), OrderAccepted)
        for _ in range(TICKS):
            await self.tick()
            fills = await self.fills_of(cmd.client_order_id)
            if fills and fills[-1].cum_qty == cmd.quantity:
                return cmd, fills
        pytest.fail(f"a marketable order did not fill in {TICKS} market moves")

    async def fills_of(self, cid: str) -> list[OrderFilled]:
        return [f for f in await self.client.fills_since(None) if f.client_order_id == cid]

    async def drain(self) -> list[ExecutionEvent]:
        """Close the client and read its whole stream."""
        await self.client.close()
        return [event async for event in self.client.events()]


def _one(answers: Sequence[Event], kind: type[_E]) -> _E:
    found = [a for a in answers if isinstance(a, kind)]
    assert len(found) == 1, f"expected one {kind.__name__} in {answers}"
    return found[0]


VenueFactory = Callable[[], VenueUnderTest | Awaitable[VenueUnderTest]]


class VenueContract:
    """The tests; a subclass provides the fixture ``venue_factory``."""

    @pytest.fixture
    async def v(self, venue_factory: VenueFactory) -> AsyncIterator[VenueUnderTest]:
        made = venue_factory()
        venue = await made if inspect.isawaitable(made) else made
        try:
            yield venue
        finally:
            if venue.cleanup is not None:
                await venue.cleanup()

    # ── submit ──

    async def test_submit_is_accepted_under_the_client_id(self, v: VenueUnderTest) -> None:
        cmd = v.submit(Side.BUY, OrderType.LIMIT, v.far_bid)
        assert cmd.client_order_id == OrderIds(STRATEGY).next()  # the engine's deterministic id
        accepted = _one(await v.client.submit(cmd), OrderAccepted)
        assert accepted.client_order_id == cmd.client_order_id
        assert accepted.venue_order_id
        assert [r.client_order_id for r in await v.client.open_orders()] == [cmd.client_order_id]

    async def test_marketable_order_fills_to_its_quantity(self, v: VenueUnderTest) -> None:
        cmd, fills = await v.filled()
        assert len({f.trade_id for f in fills}) == len(fills)
        cums = [f.cum_qty for f in fills]
        assert cums == sorted(cums) and len(set(cums)) == len(cums)
        assert cums[-1] == cmd.quantity == sum((f.last_qty for f in fills), D(0))
        assert all(f.side is Side.BUY and f.instrument == v.instrument for f in fills)
        assert await v.client.open_orders() == []

    async def test_duplicate_client_id_never_makes_a_second_live_order(self, v: VenueUnderTest) -> None:
        first = await v.resting()
        again = v.submit(Side.BUY, OrderType.LIMIT, v.far_bid, cid=first.client_order_id)
        answers = await v.client.submit(again)
        assert not any(isinstance(a, OrderAccepted) for a in answers)
        assert any(isinstance(a, OrderRejected | OrderStatusReport) for a in answers)
        assert [r.client_order_id for r in await v.client.open_orders()] == [first.client_order_id]
        report = await v.client.query(v.query(first))
        assert report.status is ReportedStatus.ACCEPTED  # the first order is untouched

    # ── cancel ──

    async def test_cancel_of_a_working_order(self, v: VenueUnderTest) -> None:
        cmd = await v.resting()
        canceled = _one(await v.client.cancel(v.cancel(cmd.client_order_id)), OrderCanceled)
        assert canceled.client_order_id == cmd.client_order_id
        assert await v.client.open_orders() == []

    async def test_cancel_of_an_unknown_order_is_refused(self, v: VenueUnderTest) -> None:
        answers = await v.client.cancel(v.cancel("never-sent-00000001"))
        refused = _one(answers, OrderCancelRejected)
        assert refused.client_order_id == "never-sent-00000001"
        assert not any(isinstance(a, OrderCanceled) for a in answers)

    async def test_cancel_of_a_filled_order_is_refused(self, v: VenueUnderTest) -> None:
        cmd, _ = await v.filled()
        _one(await v.client.cancel(v.cancel(cmd.client_order_id)), OrderCancelRejected)

    # ── query ──

    async def test_query_reports_what_happened(self, v: VenueUnderTest) -> None:
        working = await v.resting()
        report = await v.client.query(v.query(working))
        assert (report.client_order_id, report.status, report.filled_qty) == (
            working.client_order_id,
            ReportedStatus.ACCEPTED,
            D(0),
        )
        assert (report.instrument, report.side, report.quantity) == (v.instrument, Side.BUY, v.quantity)

        _one(await v.client.cancel(v.cancel(working.client_order_id)), OrderCanceled)
        assert (await v.client.query(v.query(working))).status is ReportedStatus.CANCELED

        filled, _ = await v.filled()
        report = await v.client.query(v.query(filled))
        assert (report.status, report.filled_qty) == (ReportedStatus.FILLED, filled.quantity)

    async def test_query_of_an_id_never_sent_is_not_found(self, v: VenueUnderTest) -> None:
        never = v.submit(Side.BUY, OrderType.LIMIT, v.far_bid)
        report = await v.client.query(v.query(never))
        assert report.status is ReportedStatus.NOT_FOUND
        assert report.client_order_id == never.client_order_id
        assert report.filled_qty == 0

    # ── fills since a cursor ──

    async def test_fills_since_returns_every_fill_once(self, v: VenueUnderTest) -> None:
        first, first_fills = await v.filled()
        second, second_fills = await v.filled()
        every = await v.client.fills_since(None)
        ids = [f.trade_id for f in every]
        assert len(set(ids)) == len(ids)
        assert ids == [f.trade_id for f in first_fills + second_fills]
        assert [f.cum_qty for f in every] == [f.cum_qty for f in first_fills + second_fills]
        assert await v.client.fills_since(ids[-1]) == []
        after_first = await v.client.fills_since(first_fills[-1].trade_id)
        assert [f.trade_id for f in after_first] == [f.trade_id for f in second_fills]
        assert {f.client_order_id for f in after_first} == {second.client_order_id}
        assert first.client_order_id != second.client_order_id

    # ── the stream ──

    async def test_stream_delivers_the_answers_and_fills_each_once_in_order(self, v: VenueUnderTest) -> None:
        answers: list[ExecutionEvent] = []
        working = v.submit(Side.BUY, OrderType.LIMIT, v.far_bid)
        answers += await v.client.submit(working)
        answers.append(await v.client.query(v.query(working)))
        answers += await v.client.cancel(v.cancel(working.client_order_id))
        answers += await v.client.cancel(v.cancel("never-sent-00000001"))
        filled, fills = await v.filled()
        stream = await v.drain()

        # each fact once: no event twice, no fill (by trade id) twice
        assert len({_key(e) for e in stream}) == len(stream)
        trade_ids = [e.trade_id for e in stream if isinstance(e, OrderFilled)]
        assert trade_ids == [f.trade_id for f in fills]
        # the immediate answers, in the order they were given, and the fills after the fill's ack
        positions = [stream.index(a) for a in answers]
        assert positions == sorted(positions)
        accepted = next(
            i
            for i, e in enumerate(stream)
            if isinstance(e, OrderAccepted) and e.client_order_id == filled.client_order_id
        )
        assert all(stream.index(e) > accepted for e in stream if isinstance(e, OrderFilled))

    # ── balances ──

    async def test_balances_move_by_exactly_the_fills(self, v: VenueUnderTest) -> None:
        before = await v.client.balances()
        assert before.get(v.quote).free > 0
        _, fills = await v.filled()
        after = await v.client.balances()
        moved = {v.base: D(0), v.quote: D(0)}
        for f in fills:
            moved[v.base] += f.last_qty
            moved[v.quote] -= f.last_qty * f.last_px
            moved[f.fee_currency] = moved.get(f.fee_currency, D(0)) - f.fee
        for asset, delta in moved.items():
            assert after.get(asset).total - before.get(asset).total == delta, asset
            assert after.get(asset).locked == before.get(asset).locked == 0, asset

    async def test_a_working_buy_locks_quote_and_its_cancel_frees_it(self, v: VenueUnderTest) -> None:
        before = (await v.client.balances()).get(v.quote)
        cmd = await v.resting()
        held = (await v.client.balances()).get(v.quote)
        assert held.locked >= cmd.quantity * v.far_bid
        assert held.total == before.total
        await v.client.cancel(v.cancel(cmd.client_order_id))
        assert (await v.client.balances()).get(v.quote) == before


def _key(event: Event) -> bytes:
    return msgspec.json.encode(event)
