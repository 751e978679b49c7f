""":class:`SimExecutionClient`: the execution port over a :class:`~engines.sim.venue.SimVenue`.

Paper mode trades against it: the paper driver :meth:`~SimExecutionClient.feed`\\ s it the venue's real
market data, and the simulated venue matches the working orders against it. Every answer of
``submit``, ``cancel`` and ``query`` is returned at once and also put on the event stream, followed
there by the fills that matching produces, each once, in the order they were made.

The client keeps the venue's account: ``account`` is the :class:`~engines.ledger.Ledger` the venue
checks orders against, and the client folds every fill into it, as a real venue's books move with
its fills. It is the venue's ledger, never the daemon's (the daemon folds the same fills from its
journal into its own).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Final

import msgspec

from adapters.ports import (
    Balance,
    Balances,
    CancelAnswer,
    ExecutionEvent,
    MarketEvent,
    PositionAmount,
    Positions,
    SubmitAnswer,
)
from adapters.transport.stream import EventStream
from engines.clock import REPLAY_CLOCK, Clock
from engines.ledger import Ledger
from engines.model.commands import CancelOrder, QueryOrder, SubmitOrder
from engines.model.events import FillReport, OrderAccepted, OrderEvent, OrderFilled, OrderStatusReport
from engines.sim.venue import SimVenue

__all__ = ["SimExecutionClient"]

_ZERO: Final = Decimal(0)


class SimExecutionClient:
    """An :class:`~adapters.ports.ExecutionClient` whose venue is a :class:`SimVenue` in this process.

    ``venue`` is the venue's name on the commands it takes (``sim``); a command for another venue is
    a programming error (:class:`ValueError`). ``clock`` gives the time a request is sent at.
    """

    def __init__(
        self, venue: SimVenue, account: Ledger, *, name: str = "sim", clock: Clock = REPLAY_CLOCK
    ) -> None:
        self._venue = venue
        self._account = account
        self._name = name
        self._clock = clock
        self._sent: dict[str, SubmitOrder] = {}  # accepted orders by client id, for reports
        self._fills: list[OrderFilled] = []
        self._fill_index: dict[str, int] = {}  # trade id -> position in _fills
        self._out: EventStream[ExecutionEvent] = EventStream()
        self._closed = False

    # ── orders ──

    async def submit(self, cmd: SubmitOrder) -> Sequence[SubmitAnswer]:
        self._check_venue(cmd.venue)
        answers: list[SubmitAnswer] = []
        for event in self._venue.submit(cmd, self._clock.now_ns()):
            assert isinstance(event, SubmitAnswer)  # the simulated venue accepts or rejects
            if isinstance(event, OrderAccepted):
                self._sent[cmd.client_order_id] = cmd
            answers.append(event)
        self._publish(answers)
        return answers

    async def cancel(self, cmd: CancelOrder) -> Sequence[CancelAnswer]:
        self._check_venue(cmd.venue)
        answers: list[CancelAnswer] = []
        for event in self._venue.cancel(cmd, self._clock.now_ns()):
            assert isinstance(event, CancelAnswer)
            answers.append(event)
        self._publish(answers)
        return answers

    async def query(self, cmd: QueryOrder) -> OrderStatusReport:
        self._check_venue(cmd.venue)
        (report,) = self._venue.query(cmd, self._clock.now_ns())
        self._publish([report])
        return report

    # ── what the venue holds ──

    async def open_orders(self) -> Sequence[OrderStatusReport]:
        now = self._clock.now_ns()
        reports: list[OrderStatusReport] = []
        for cid in self._venue.open_orders():
            sent = self._sent[cid]
            ask = QueryOrder(
                ts_event=now,
                ts_init=now,
                strategy=sent.strategy,
                venue=sent.venue,
                client_order_id=cid,
                instrument=sent.instrument,
                side=sent.side,
                order_type=sent.order_type,
                quantity=sent.quantity,
            )
            reports.extend(self._venue.query(ask, now))
        return reports

    async def fills_since(self, cursor: str | None) -> Sequence[FillReport]:
        if cursor is None:
            start = 0
        elif cursor in self._fill_index:
            start = self._fill_index[cursor] + 1
        else:
            raise ValueError(f"no fill with trade id {cursor!r} at this venue")
        return [_report(fill) for fill in self._fills[start:]]

    async def balances(self) -> Balances:
        snapshot = self._account.snapshot()
        totals: dict[str, Decimal] = dict(snapshot.cash)
        for symbol, spec in snapshot.instruments.items():
            if spec.settles_in_cash:
                held = self._account.position(symbol).qty
                if held:
                    totals[spec.base] = totals.get(spec.base, _ZERO) + held
        locked = self.locked()
        return Balances(
            assets={
                asset: Balance(free=total - locked.get(asset, _ZERO), locked=locked.get(asset, _ZERO))
                for asset, total in sorted(totals.items())
            }
        )

    def locked(self) -> dict[str, Decimal]:
        """What the working orders hold, by asset: quote cash for buys, base quantity for spot sells."""
        snapshot = self._account.snapshot()
        locked: dict[str, Decimal] = {}
        for symbol, spec in snapshot.instruments.items():
            if spec.settles_in_cash:
                locked[spec.base] = locked.get(spec.base, _ZERO) + self._venue.held_qty(symbol)
        for currency in {*snapshot.cash, *(s.quote for s in snapshot.instruments.values())}:
            held = self._venue.held_cash(currency)
            if held:
                locked[currency] = locked.get(currency, _ZERO) + held
        return {asset: amount for asset, amount in sorted(locked.items()) if amount}

    async def positions(self) -> Positions:
        snapshot = self._account.snapshot()
        return Positions(
            positions={
                symbol: PositionAmount(qty=pos.qty, avg_px=pos.avg_px)
                for symbol, pos in sorted(snapshot.positions.items())
                if pos.qty and not snapshot.instruments[symbol].settles_in_cash
            }
        )

    # ── market data and the stream ──

    def feed(self, event: MarketEvent) -> Sequence[OrderEvent]:
        """Match the working orders against a market event; the fills (and expiries) it makes are
        folded into the account, put on the stream and returned."""
        out = list(self._venue.on_market(event))
        self._publish(out)
        return out

    def events(self) -> AsyncIterator[ExecutionEvent]:
        return aiter(self._out)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._out.end()

    # ── internals ──

    def _check_venue(self, venue: str) -> None:
        if venue != self._name:
            raise ValueError(f"a command for venue {venue!r} reached the {self._name!r} client")

    def _publish(self, events: Sequence[OrderEvent]) -> None:
        for event in events:
            if isinstance(event, OrderFilled):
                if event.trade_id in self._fill_index:
                    continue  # a venue trade id is one fill, whatever repeats it
                self._account.apply(event)
                self._fill_index[event.trade_id] = len(self._fills)
                self._fills.append(event)
            if not self._closed:
                assert isinstance(event, ExecutionEvent)
                self._out.put(event)


def _report(fill: OrderFilled) -> FillReport:
    """The fill as reconciliation finds it: the same fields under the ``FillReport`` tag."""
    return FillReport(**msgspec.structs.asdict(fill))
