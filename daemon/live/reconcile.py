"""Reconciliation at start: what each venue holds, against what the journal folded.

For each venue, in this order:

1. every order the journal left open is queried by its client id (an intent never acknowledged is
   first marked unknown: the request may or may not have left before the stop); the report moves
   the order forward, and a ``not_found`` for an unacknowledged order proves it never arrived;
2. the fills since the last one journalled are fetched and folded (deduplicated by trade id): the
   fills that happened while the daemon was down;
3. the venue's open orders are listed: one carrying this strategy's id prefix that the journal never
   saw is a difference nothing explains;
4. on derivatives markets and at the brokers (KRX holdings), each symbol's position is compared
   with the ledger's.

Explained differences are folded as facts (the reports and fills themselves). Unexplained ones are
journalled as :class:`~engines.model.events.ReconciliationDifference` and halt trading before the
first order (``/readyz`` says what differs) unless the operator adopts them
(``--adopt-venue-state``): adopted open orders are folded as external orders, adopted positions are
journalled as seen. A paper venue is the session's own: its orders did not survive the restart, and
the journal says so.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final

import msgspec

from adapters.capabilities import Mode
from daemon.live.crash import crash_point
from engines.model.events import OrderCanceled, OrderStatusUnknown, ReconciliationDifference
from engines.model.instruments import market_of
from engines.orders.table import OrderStatus

if TYPE_CHECKING:
    from daemon.live.session import LiveSession

__all__ = ["POSITION_MARKETS", "Reconciler", "id_prefix"]

#: markets whose positions the venue reports as the account's own: derivatives, and a broker's
#: holdings (an account the daemon trades alone); crypto spot balances mix with other assets
POSITION_MARKETS: Final = frozenset({"binance-usdm", "bybit-linear", "krx"})
READ_TIMEOUT_S: Final = 10.0


def id_prefix(strategy: str) -> str:
    """The client order id prefix of a strategy's orders (engines/strategy/runtime.py OrderIds)."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in strategy)
    return safe[:24] + "-"


class Reconciler:
    def __init__(self, session: LiveSession) -> None:
        self.session = session
        self.differences: list[ReconciliationDifference] = []
        self.explained = 0

    async def run(self, *, adopt: bool) -> None:
        session = self.session
        session.reconciled.set(False, "reconciling")
        for name in sorted(session.venues):
            if session.config.mode is Mode.PAPER:
                self._paper(name)
            else:
                await self._venue(name, adopt=adopt)
        for difference in self.differences:
            session.record_own(difference)
            session.metrics.reconciliation_differences.labels(difference.venue, "unexplained").inc()
        what = "; ".join(f"{d.venue} {d.kind}: {d.detail}" for d in self.differences)
        if self.differences and not adopt:
            session.reconciled.set(False, f"{len(self.differences)} unexplained difference(s): {what}")
            session.halt(
                f"reconciliation found what the journal cannot account for: {what}",
                source="reconciliation",
                code="VT971",
            )
        else:
            if self.differences:
                session.reconciled.set(True, f"adopted {len(self.differences)} difference(s): {what}")
            else:
                session.reconciled.set(True, f"reconciled ({self.explained} fact(s) found at the venues)")
            if adopt and session.halted is not None and session.halted.startswith("reconciliation:"):
                # the operator looked at what an earlier start refused and accepts the venue's state
                session.resume(source="adopt-venue-state")
        session.log.info(
            "reconciled", explained=self.explained, unexplained=len(self.differences), adopted=adopt
        )

    def _paper(self, name: str) -> None:
        session = self.session
        kernel = session.kernel
        assert kernel is not None
        for order in kernel.orders.open_orders():
            if order.venue != name:
                continue
            now = session.clock.now_ns()
            if order.status is OrderStatus.SUBMITTED:
                session.deliver(
                    OrderStatusUnknown(
                        ts_event=now, ts_init=now, client_order_id=order.client_order_id, reason="restart"
                    ),
                    name,
                )
            session.deliver(
                OrderCanceled(
                    ts_event=now,
                    ts_init=now,
                    client_order_id=order.client_order_id,
                    reason="the paper venue restarted: its working orders are gone",
                ),
                name,
            )
            self.explained += 1

    async def _venue(self, name: str, *, adopt: bool) -> None:
        session = self.session
        kernel = session.kernel
        assert kernel is not None
        venue = session.venues[name]
        queue = session.queues[name]
        prefix = id_prefix(session.loaded.spec.name)
        for order in list(kernel.orders.open_orders()):
            if order.venue != name:
                continue
            if order.status is OrderStatus.SUBMITTED:
                now = session.clock.now_ns()
                session.deliver(
                    OrderStatusUnknown(
                        ts_event=now,
                        ts_init=now,
                        client_order_id=order.client_order_id,
                        reason="the daemon stopped before the venue answered",
                    ),
                    name,
                )
            await queue.resolve(order.client_order_id)
            crash_point("reconcile")
            self.explained += 1
        for client in venue.unique_executions():
            markets = {m for m, c in venue.executions.items() if c is client}
            cursor = session.last_trade_id(name, markets)
            if kernel.orders.has_unfolded_fills(name):
                # a fill the venue reported is missing: it may be older than the last one journalled
                # (told out of order, then lost), which a read after that cursor would never return
                cursor = None
            async with asyncio.timeout(READ_TIMEOUT_S):
                fills = await client.fills_since(cursor)
            crash_point("reconcile")
            for fill in fills:
                if fill.client_order_id in kernel.orders:
                    before = kernel.orders.duplicate_fills
                    session.deliver(fill, name)
                    self.explained += kernel.orders.duplicate_fills == before
                elif fill.client_order_id.startswith(prefix):
                    self._differ(name, "fill", f"fill {fill.trade_id} of order {fill.client_order_id}", adopt)
            async with asyncio.timeout(READ_TIMEOUT_S):
                working = await client.open_orders()
            for report in working:
                if report.client_order_id in kernel.orders or not report.client_order_id.startswith(prefix):
                    continue
                self._differ(
                    name,
                    "order",
                    f"open order {report.client_order_id} "
                    f"({report.side} {report.quantity} {report.instrument})",
                    adopt,
                )
                if adopt:
                    session.deliver(msgspec.structs.replace(report, external=True), name)
            if markets & POSITION_MARKETS:
                async with asyncio.timeout(READ_TIMEOUT_S):
                    held = await client.positions()
                for symbol in venue.symbols:
                    if market_of(symbol) not in markets or market_of(symbol) not in POSITION_MARKETS:
                        continue
                    at_venue = held.positions[symbol].qty if symbol in held.positions else 0
                    # fills a report said exist but that have not been folded yet (the stream or the
                    # fills query brings them) are explained, not a difference
                    ours = kernel.ledger.position(symbol).qty + kernel.orders.unfolded_fills(name, symbol)
                    if at_venue != ours:
                        self._differ(name, "position", f"{symbol}: venue {at_venue}, journal {ours}", adopt)

    def _differ(self, venue: str, kind: str, detail: str, adopt: bool) -> None:
        now = self.session.clock.now_ns()
        self.differences.append(
            ReconciliationDifference(
                ts_event=now, ts_init=now, venue=venue, kind=kind, detail=detail, adopted=adopt
            )
        )
