""":class:`KiwoomExecutionClient`: the execution port on Kiwoom REST (KRX stocks, real or mock).

Orders go over REST (:class:`~adapters.kiwoom.rest.KiwoomRest`): ``kt10000`` buy, ``kt10001`` sell,
``kt10003`` cancel; what happens to them arrives on the WebSocket as execution notices (``REAL``
type ``00``) and is folded here into one stream of engine events, each fact once.

* **Validation.** Before an order leaves, :func:`engines.markets.krx_validator.check_krx_order` checks
  it (tick bands, lot 1, the daily limit when a base price is known); an order it refuses, or one
  Kiwoom's order types cannot express (VT993), is answered :class:`OrderRejected` and never sent.
* **Client ids.** Kiwoom takes no client order id. The client maps the engine's id to Kiwoom's
  ``ord_no`` as the create answers, and the ``OrderAccepted`` it returns carries the ``ord_no`` as
  ``venue_order_id``, so the journal holds the map: after a restart the session passes it back
  (``order_numbers``). A client id already mapped is a duplicate: it is queried and its report
  returned, never sent twice.
* **Finding an order without its number** (a crash between the send and the answer): :meth:`query`
  lists Kiwoom's orders (unfilled ``ka10075`` and executed ``ka10076``) and keeps those not mapped
  to another client id with the same symbol, side and quantity, the same limit price when this
  process knows the order's price, and an order time within ``match_window_s`` of the command's
  time (when it has one). Exactly one match is the order (and is mapped); none is ``not_found``;
  more than one raises :class:`~adapters.kiwoom.errors.KiwoomAmbiguousOrderError` (VT992): the client
  refuses to guess. An order canceled before any fill appears in neither list, so it is not found.
* **Unknown outcomes.** A timeout, a 5xx, a lost connection, a code not in the table, or a rate
  limit (1700: not processed, but a create is only ever sent again by the caller after a
  ``not_found`` query) is :class:`OrderStatusUnknown`; the create is never resent here.
* **Fills** are identified by ``<ord_no>-<cumulative quantity>`` (:mod:`adapters.kiwoom.parsers`)
  and deduplicated by that id across the stream and ``fills_since``; an order's notices that arrive
  before its create has answered are held until the answer maps their ``ord_no``.
* **Status.** An order in ``ka10075`` is accepted or partially filled; one that is not, with
  executions summing to its quantity, is filled; otherwise it ended unfilled in part (canceled, or
  expired at the close) and is reported canceled.
* After every reconnect of the WebSocket the executions are fetched again (each missed fill once)
  and the orders this client thinks working are queried.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Final, TypeVar

import msgspec

from adapters.kiwoom.config import ACCOUNT_PATH, ORDER_PATH, KiwoomConfig
from adapters.kiwoom.errors import (
    KiwoomAmbiguousOrderError,
    KiwoomAuthError,
    KiwoomRequestError,
)
from adapters.kiwoom.parsers import (
    KST,
    Notice,
    code_of,
    fill_report,
    open_order_report,
    opt_number,
    price,
    quantity,
    side_of,
    symbol_of,
    trade_id,
)
from adapters.kiwoom.rest import KiwoomOutcomeUnknown, KiwoomRest
from adapters.kiwoom.schemas import (
    Balance as BalanceAnswer,
)
from adapters.kiwoom.schemas import (
    BalanceRow,
    Deposit,
    Envelope,
    FillList,
    FillRow,
    OpenOrderList,
    OpenOrderRow,
    OrderAnswer,
    RealItem,
)
from adapters.kiwoom.ws import KiwoomWebSocket, Registration
from adapters.ports import (
    Balance,
    Balances,
    CancelAnswer,
    ExecutionEvent,
    PositionAmount,
    Positions,
    SubmitAnswer,
)
from adapters.transport import Backoff
from adapters.transport.stream import EventStream
from adapters.venue_errors import RateBudgetError, VenueHaltedError
from engines.errors import VibeError
from engines.markets.krx_validator import check_krx_order
from engines.markets.specs import spec_for
from engines.model.commands import CancelOrder, QueryOrder, SubmitOrder
from engines.model.enums import OrderType, ReportedStatus, Side, TimeInForce
from engines.model.events import (
    Event,
    FillReport,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderFilled,
    OrderRejected,
    OrderStatusReport,
    OrderStatusUnknown,
)

__all__ = ["KiwoomExecutionClient", "trde_tp"]

_ZERO: Final = Decimal(0)
_E = TypeVar("_E", bound=Envelope)
_MAX_PAGES: Final = 50
_NS: Final = 1_000_000_000
#: how long after it ended one reading of Kiwoom's lists may answer another query
_LISTING_REUSE_NS: Final = 2 * _NS
#: (order type, time in force) → Kiwoom's ``trde_tp``; DAY and GTC are both KRX's day order
_TRDE_TP: Final[Mapping[tuple[OrderType, TimeInForce], str]] = {
    (OrderType.LIMIT, TimeInForce.DAY): "0",
    (OrderType.LIMIT, TimeInForce.GTC): "0",
    (OrderType.LIMIT, TimeInForce.IOC): "10",
    (OrderType.LIMIT, TimeInForce.FOK): "20",
    (OrderType.MARKET, TimeInForce.DAY): "3",
    (OrderType.MARKET, TimeInForce.GTC): "3",
    (OrderType.MARKET, TimeInForce.IOC): "13",
    (OrderType.MARKET, TimeInForce.FOK): "23",
}
_OPEN_BODY: Final = {"all_stk_tp": "0", "trde_tp": "0", "stk_cd": "", "sell_tp": "0", "stex_tp": "0"}
_FILLS_BODY: Final = {"stk_cd": "", "qry_tp": "0", "sell_tp": "0", "ord_no": "", "stex_tp": "0"}


def trde_tp(order_type: OrderType, tif: TimeInForce) -> str | None:
    """Kiwoom's ``trde_tp`` for an order, None when Kiwoom has no such order type."""
    return _TRDE_TP.get((order_type, tif))


@dataclass
class _Order:
    """What this client knows of one of its orders."""

    instrument: str
    side: Side
    quantity: Decimal
    price: Decimal | None = None
    sent_ns: int = 0
    ord_no: str = ""
    accepted: OrderAccepted | None = None
    ended: Event | None = None
    cum_qty: Decimal = _ZERO

    @property
    def working(self) -> bool:
        return self.ended is None and self.cum_qty < self.quantity


@dataclass
class _Listing:
    """Kiwoom's orders as the two lists show them, by ``ord_no``."""

    open_rows: dict[str, OpenOrderRow] = field(default_factory=dict)
    fills: dict[str, list[FillRow]] = field(default_factory=dict)
    #: every execution row, in Kiwoom's (newest first) order
    fill_rows: list[FillRow] = field(default_factory=list)
    #: on the venue clock: when the first request left and when the last page arrived
    started_ns: int = 0
    finished_ns: int = 0


class KiwoomExecutionClient:
    """An :class:`~adapters.ports.ExecutionClient` on one Kiwoom account (the app key's account).

    ``token_dir`` is where the token is cached (the daemon's state directory); ``order_numbers`` the
    client id → ``ord_no`` map the journal holds (the ``venue_order_id`` of each ``OrderAccepted``).
    """

    def __init__(
        self,
        config: KiwoomConfig,
        app_key: str,
        secret: str,
        *,
        token_dir: Path | str | None = None,
        symbols: Iterable[str] = (),
        venue: str = "kiwoom",
        timeout_s: float = 5.0,
        order_numbers: Mapping[str, str] | None = None,
        match_window_s: float = 600.0,
        stale_after_s: float = 60.0,
        reconnect: Backoff | None = None,
        rng: random.Random | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        rest: KiwoomRest | None = None,
        private_stream: bool = True,
    ) -> None:
        self.config = config
        self.venue = venue
        self.symbols = tuple(symbols)
        self.rest = rest or KiwoomRest(config, app_key, secret, token_dir=token_dir, timeout_s=timeout_s)
        self.match_window_ns = int(match_window_s * _NS)
        self._clock_ns = clock_ns
        self.stream = KiwoomWebSocket(
            config.endpoints().ws,
            self.rest.token,
            self._on_item,
            name=f"{venue}-notices",
            on_reconnect=self.reconcile,
            on_failure=self._on_stream_failure,
            stale_after_s=stale_after_s,
            op_timeout_s=timeout_s,
            backoff=reconnect,
            rng=rng,
        )
        self.stream.add([Registration(items=("",), types=("00",))])
        self._private_stream = private_stream
        self._out: EventStream[ExecutionEvent] = EventStream()
        self._orders: dict[str, _Order] = {}
        self._by_no: dict[str, str] = {}  # ord_no → client id
        for cid, ord_no in (order_numbers or {}).items():
            self._by_no[ord_no] = cid
        self._known_numbers = dict(order_numbers or {})
        self._seen_fills: set[str] = set()
        self._last_fill: str | None = None
        self._held: list[Notice] = []  # notices of numbers not mapped yet, while creates are in flight
        self._in_flight = 0
        self._connected = False
        self._connecting = asyncio.Lock()
        self._closed = False
        #: reconciliations completed (after a reconnect)
        self.reconciles = 0
        self._timeout_ns = int(timeout_s * _NS)
        self._started_ns = clock_ns()
        self._listing_cache: _Listing | None = None
        self._listing_lock = asyncio.Lock()
        #: how many listings were read from Kiwoom (each one ka10075 and ka10076 pages)
        self.listings = 0

    # ── lifecycle ──

    async def connect(self) -> None:
        async with self._connecting:
            if self._connected:
                return
            await self.rest.start()
            await self.rest.token()
            if self._private_stream:
                await self.stream.start()
            self._connected = True

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.stream.close()
        await self.rest.close()
        self._out.end()

    def account_stream(self) -> tuple[bool, int]:
        """The notice stream's health for ``/readyz`` and ``/metrics``: (connected, reconnects)."""
        if not self._private_stream:
            return True, 0
        return self.stream.connected.is_set(), max(0, self.stream.connects - 1)

    def events(self) -> AsyncIterator[ExecutionEvent]:
        return aiter(self._out)

    # ── orders ──

    async def submit(self, cmd: SubmitOrder) -> Sequence[SubmitAnswer]:
        self._check_venue(cmd.venue)
        code = code_of(cmd.instrument)
        known = self._orders.get(cmd.client_order_id)
        if (known is not None and (known.ord_no or known.ended is None)) or (
            cmd.client_order_id in self._known_numbers
        ):
            # Kiwoom cannot refuse a reused id: this client does, and reports the order it has
            return [await self.query(_query_of(cmd))]
        tp = trde_tp(cmd.order_type, cmd.time_in_force)
        if tp is None:
            return [
                self._reject(
                    cmd.client_order_id, f"kiwoom has no {cmd.order_type} {cmd.time_in_force} order", "VT993"
                )
            ]
        try:
            check_krx_order(
                spec_for(cmd.instrument), cmd.side, cmd.order_type, cmd.quantity, cmd.price, self._now()
            )
        except VibeError as refused:
            return [self._reject(cmd.client_order_id, refused.message, refused.code)]
        await self.connect()
        order = _Order(
            instrument=cmd.instrument,
            side=cmd.side,
            quantity=cmd.quantity,
            price=cmd.price if cmd.order_type is OrderType.LIMIT else None,
            sent_ns=self._now(),
        )
        self._orders[cmd.client_order_id] = order
        body = {
            "dmst_stex_tp": self.config.exchange,
            "stk_cd": code,
            "ord_qty": _whole(cmd.quantity),
            "ord_uv": _whole(cmd.price) if cmd.order_type is OrderType.LIMIT and cmd.price else "",
            "trde_tp": tp,
            "cond_uv": "",
        }
        api_id = "kt10000" if cmd.side is Side.BUY else "kt10001"
        self._listing_cache = None
        self._in_flight += 1
        try:
            answer, _ = await self.rest.call(ORDER_PATH, api_id, body, OrderAnswer)
        except (VenueHaltedError, RateBudgetError, KiwoomAuthError) as exc:  # nothing was processed
            return [self._end_rejected(cmd.client_order_id, order, exc.message, exc.code)]
        except KiwoomRequestError as refusal:
            if refusal.outcome == "rejected" and not isinstance(refusal, KiwoomOutcomeUnknown):
                return [self._end_rejected(cmd.client_order_id, order, refusal.return_msg, _code(refusal))]
            return [self._unknown(cmd.client_order_id, f"{refusal.outcome}: {refusal.message}")]
        finally:
            self._in_flight -= 1
        ord_no = answer.ord_no.strip()
        if not ord_no:
            self._flush_held()
            return [self._unknown(cmd.client_order_id, "kiwoom accepted the order without an ord_no")]
        order.ord_no = ord_no
        self._by_no[ord_no] = cmd.client_order_id
        if order.accepted is None:
            now = self._now()
            order.accepted = OrderAccepted(
                ts_event=now, ts_init=now, client_order_id=cmd.client_order_id, venue_order_id=ord_no
            )
            self._publish(order.accepted)
        self._flush_held()
        return [order.accepted]

    async def cancel(self, cmd: CancelOrder) -> Sequence[CancelAnswer]:
        self._check_venue(cmd.venue)
        code = code_of(cmd.instrument)
        order = self._orders.get(cmd.client_order_id)
        ord_no = (
            order.ord_no
            if order is not None and order.ord_no
            else self._known_numbers.get(cmd.client_order_id)
        )
        if not ord_no:
            return [self._cancel_rejected(cmd.client_order_id, "no kiwoom order number is known for this id")]
        await self.connect()
        body = {"dmst_stex_tp": self.config.exchange, "orig_ord_no": ord_no, "stk_cd": code, "cncl_qty": "0"}
        self._listing_cache = None
        try:
            await self.rest.call(ORDER_PATH, "kt10003", body, OrderAnswer)
        except (VenueHaltedError, RateBudgetError, KiwoomAuthError) as exc:
            return [self._cancel_rejected(cmd.client_order_id, exc.message)]
        except KiwoomRequestError as refusal:
            if refusal.outcome == "rejected" and not isinstance(refusal, KiwoomOutcomeUnknown):
                return [self._cancel_rejected(cmd.client_order_id, refusal.return_msg)]
            return [self._unknown(cmd.client_order_id, f"cancel {refusal.outcome}: {refusal.message}")]
        if order is None:
            order = self._orders.setdefault(
                cmd.client_order_id,
                _Order(instrument=cmd.instrument, side=Side.BUY, quantity=_ZERO, ord_no=ord_no),
            )
        if isinstance(order.ended, OrderCanceled):
            return [order.ended]
        if order.ended is not None:
            return [self._cancel_rejected(cmd.client_order_id, "order already ended")]
        now = self._now()
        canceled = OrderCanceled(
            ts_event=now, ts_init=now, client_order_id=cmd.client_order_id, reason="canceled"
        )
        order.ended = canceled
        self._publish(canceled)
        return [canceled]

    async def query(self, cmd: QueryOrder) -> OrderStatusReport:
        await self.connect()
        order = self._orders.get(cmd.client_order_id)
        if order is not None and order.sent_ns:
            # a listing begun before this create's answer was due could miss the order
            listing = await self._listing(fresh_after_ns=order.sent_ns + self._timeout_ns)
        else:
            listing = await self._listing(fresh_after_ns=self._started_ns)
        ord_no = (order.ord_no if order is not None else "") or self._known_numbers.get(
            cmd.client_order_id, ""
        )
        if not ord_no:
            ord_no = self._match(cmd, order, listing)
            if ord_no:
                self._by_no[ord_no] = cmd.client_order_id
                self._known_numbers[cmd.client_order_id] = ord_no
                if order is not None:
                    order.ord_no = ord_no
        report = self._report(cmd, ord_no, listing, order)
        if order is not None:
            order.cum_qty = max(order.cum_qty, report.filled_qty)
        self._publish(report)
        return report

    def _report(
        self, cmd: QueryOrder, ord_no: str, listing: _Listing, order: _Order | None
    ) -> OrderStatusReport:
        now = self._now()
        if not ord_no:
            return OrderStatusReport(
                ts_event=now, ts_init=now, client_order_id=cmd.client_order_id, venue=self.venue,
                instrument=cmd.instrument, side=cmd.side, order_type=cmd.order_type,
                quantity=cmd.quantity, status=ReportedStatus.NOT_FOUND, filled_qty=_ZERO,
            )  # fmt: skip
        row = listing.open_rows.get(ord_no)
        if row is not None:
            return open_order_report(row, cmd.client_order_id, now, venue=self.venue)
        rows = listing.fills.get(ord_no, [])
        filled = sum((quantity(r.cntr_qty, "cntr_qty") for r in rows), _ZERO)
        notional = sum((quantity(r.cntr_qty, "cntr_qty") * price(r.cntr_pric) for r in rows), _ZERO)
        qty = quantity(rows[0].ord_qty, "ord_qty") if rows else cmd.quantity
        status = ReportedStatus.FILLED if rows and filled >= qty else ReportedStatus.CANCELED
        limit = opt_number(rows[0].ord_pric, "ord_pric") if rows else (order.price if order else None)
        return OrderStatusReport(
            ts_event=now, ts_init=now, client_order_id=cmd.client_order_id, venue=self.venue,
            instrument=cmd.instrument, side=cmd.side, order_type=cmd.order_type, quantity=qty,
            status=status, filled_qty=filled, venue_order_id=ord_no,
            price=abs(limit) if limit else None, avg_px=notional / filled if filled else None,
        )  # fmt: skip

    def _match(self, cmd: QueryOrder, order: _Order | None, listing: _Listing) -> str:
        """The one unmapped Kiwoom order with this order's terms (module docstring), or ""."""
        candidates: dict[str, tuple[str, str, str, str, str]] = {}  # ord_no → (code, side, qty, price, time)
        for no, r in listing.open_rows.items():
            candidates[no] = (r.stk_cd, r.io_tp_nm, r.ord_qty, r.ord_pric, r.tm)
        for no, rows in listing.fills.items():
            candidates.setdefault(
                no, (rows[0].stk_cd, rows[0].io_tp_nm, rows[0].ord_qty, rows[0].ord_pric, rows[0].ord_tm)
            )
        around = order.sent_ns if order is not None and order.sent_ns else cmd.ts_event
        found: list[str] = []
        for no, (stk_cd, io, qty, px, tm) in candidates.items():
            if no in self._by_no:
                continue
            if symbol_of(stk_cd) != cmd.instrument or side_of(io) is not cmd.side:
                continue
            if quantity(qty, "ord_qty") != cmd.quantity:
                continue
            if (
                order is not None
                and order.price is not None
                and abs(opt_number(px, "ord_pric") or _ZERO) != order.price
            ):
                continue
            if around > 0 and not self._within(tm, around):
                continue
            found.append(no)
        if len(found) > 1:
            raise KiwoomAmbiguousOrderError(
                f"kiwoom: {len(found)} orders ({', '.join(sorted(found))}) match {cmd.client_order_id} "
                f"({cmd.instrument} {cmd.side} {cmd.quantity}); refusing to guess"
            )
        return found[0] if found else ""

    def _within(self, hhmmss: str, around_ns: int) -> bool:
        digits = hhmmss.strip().replace(":", "")[:6]
        if len(digits) != 6 or not digits.isdigit():
            return True  # no time on the row: the other terms decide
        day = datetime.fromtimestamp(around_ns / _NS, KST)
        at = day.replace(hour=int(digits[:2]), minute=int(digits[2:4]), second=int(digits[4:]), microsecond=0)
        return abs(int(at.timestamp()) * _NS - around_ns) <= self.match_window_ns

    # ── what the venue holds ──

    async def open_orders(self) -> Sequence[OrderStatusReport]:
        await self.connect()
        rows = await self._open_rows()
        now = self._now()
        out: list[OrderStatusReport] = []
        for row in sorted(rows, key=lambda r: (r.tm, r.ord_no)):
            no = row.ord_no.strip()
            cid = self._by_no.get(no)
            report = open_order_report(row, cid or f"kiwoom-{no}", now, venue=self.venue)
            if cid is None:
                report = msgspec.structs.replace(report, external=True)
            out.append(report)
        return out

    async def fills_since(self, cursor: str | None) -> Sequence[FillReport]:
        """Today's executions Kiwoom lists, oldest first (the reverse of its newest-first listing),
        after ``cursor``; a cursor no longer listed gives them all (folded once by trade id)."""
        await self.connect()
        # a fresh reading: executions arrive between readings, and this call promises every one so far
        rows = list(reversed((await self._listing(fresh_after_ns=self._now())).fill_rows))
        now = self._now()
        day = _kst_day(now)
        reports: list[FillReport] = []
        seen: set[str] = set()
        for row in rows:
            no = row.ord_no.strip()
            report = fill_report(row, self._by_no.get(no, f"kiwoom-{no}"), now, day=day)
            if report.trade_id in seen:
                continue
            seen.add(report.trade_id)
            reports.append(report)
        if cursor is not None:
            ids = [r.trade_id for r in reports]
            if cursor in ids:
                reports = reports[ids.index(cursor) + 1 :]
        for report in reports:
            self._on_fill(report, self._orders.get(report.client_order_id), _ord_no_of(report.trade_id))
        return reports

    async def balances(self) -> Balances:
        await self.connect()
        deposit, _ = await self.rest.call(
            ACCOUNT_PATH, "kt00001", {"qry_tp": "3"}, Deposit, retry_back_off=True
        )
        total = quantity(deposit.entr, "entr")
        free = quantity(deposit.ord_alow_amt, "ord_alow_amt")
        assets = {"KRW": Balance(free=free, locked=total - free)}
        for row in await self._holdings():
            held = quantity(row.rmnd_qty, "rmnd_qty")
            tradable = quantity(row.trde_able_qty, "trde_able_qty") if row.trde_able_qty.strip() else held
            if held:
                assets[symbol_of(row.stk_cd).partition(":")[2]] = Balance(
                    free=tradable, locked=held - tradable
                )
        return Balances(assets=dict(sorted(assets.items())))

    async def positions(self) -> Positions:
        """The holdings ``kt00018`` reports, with their average purchase price."""
        await self.connect()
        out: dict[str, PositionAmount] = {}
        for row in await self._holdings():
            held = quantity(row.rmnd_qty, "rmnd_qty")
            if held:
                out[symbol_of(row.stk_cd)] = PositionAmount(qty=held, avg_px=price(row.pur_pric or "0"))
        return Positions(positions=dict(sorted(out.items())))

    # ── reconciliation ──

    async def reconcile(self) -> None:
        """After a reconnect: the executions since the last one seen (each missed fill once), then the
        orders this client thinks working are queried (a cancel the stream missed is reported)."""
        await self.fills_since(self._last_fill)
        for cid, order in list(self._orders.items()):
            if order.working and order.ord_no:
                query = QueryOrder(
                    ts_event=order.sent_ns, ts_init=self._now(), strategy="reconcile", venue=self.venue,
                    client_order_id=cid, instrument=order.instrument, side=order.side,
                    order_type=OrderType.LIMIT if order.price is not None else OrderType.MARKET,
                    quantity=order.quantity,
                )  # fmt: skip
                report = await self.query(query)
                if report.status is ReportedStatus.CANCELED and order.ended is None:
                    now = self._now()
                    order.ended = OrderCanceled(
                        ts_event=now, ts_init=now, client_order_id=cid, reason="reconciled"
                    )
                    self._publish(order.ended)
        self.reconciles += 1

    # ── the notice stream ──

    def _on_item(self, item: RealItem) -> None:
        if item.type != "00":
            return
        notice = Notice(item.values)
        self._on_notice(notice)

    def _on_notice(self, notice: Notice) -> None:
        key = notice.orig_ord_no if notice.is_cancel else notice.ord_no
        cid = self._by_no.get(key)
        if cid is None:
            if self._in_flight > 0:
                self._held.append(notice)  # its create has not answered yet
            return  # an order of another session: reconciliation reports it
        order = self._orders.get(cid)
        if order is None:
            return
        now = self._now()
        if notice.is_cancel:
            if order.ended is None:
                order.ended = OrderCanceled(ts_event=now, ts_init=now, client_order_id=cid, reason="canceled")
                self._publish(order.ended)
            return
        if notice.reject_reason and notice.status in ("거부", "rejected"):
            if order.ended is None:
                self._end_rejected(cid, order, notice.reject_reason, "kiwoom")
            return
        if notice.is_fill and notice.last_px is not None:
            fill = OrderFilled(
                ts_event=now,
                ts_init=now,
                client_order_id=cid,
                instrument=notice.symbol,
                side=notice.side,
                trade_id=trade_id(notice.ord_no, notice.cum_qty),
                last_qty=notice.last_qty,
                last_px=notice.last_px,
                cum_qty=notice.cum_qty,
                fee=notice.fee,
                fee_currency="KRW",
            )
            self._on_fill(fill, order, notice.ord_no)

    def _on_fill(self, fill: OrderFilled, order: _Order | None, ord_no: str) -> None:
        if fill.trade_id in self._seen_fills:
            return
        self._seen_fills.add(fill.trade_id)
        self._last_fill = fill.trade_id
        if order is not None:
            if order.accepted is None and order.ended is None:
                order.accepted = OrderAccepted(
                    ts_event=fill.ts_event, ts_init=fill.ts_init, client_order_id=fill.client_order_id,
                    venue_order_id=ord_no,
                )  # fmt: skip
                self._publish(order.accepted)
            order.cum_qty = max(order.cum_qty, fill.cum_qty)
        self._publish(fill)

    def _flush_held(self) -> None:
        held, self._held = self._held, []
        for notice in held:
            self._on_notice(notice)

    def _on_stream_failure(self, exc: BaseException) -> None:
        self._out.fail(exc)

    # ── helpers ──

    async def _listing(self, *, fresh_after_ns: int) -> _Listing:
        """Kiwoom's two lists, read anew unless the last reading began after ``fresh_after_ns`` and
        ended within :data:`_LISTING_REUSE_NS`.

        Reading them costs one request per page per api-id, and Kiwoom's per-api-id limit makes a
        day of many executions take seconds: a recovery that queried each open order with its own
        reading did not finish. One reading answers every query it is fresh enough for; a submit or a
        cancel of this client drops it.
        """
        async with self._listing_lock:
            cached = self._listing_cache
            if (
                cached is not None
                and cached.started_ns >= fresh_after_ns
                and self._now() - cached.finished_ns <= _LISTING_REUSE_NS
            ):
                return cached
            listing = _Listing(started_ns=self._now())
            for row in await self._open_rows():
                listing.open_rows[row.ord_no.strip()] = row
            listing.fill_rows = await self._fill_rows()
            for fill in listing.fill_rows:
                listing.fills.setdefault(fill.ord_no.strip(), []).append(fill)
            listing.finished_ns = self._now()
            self.listings += 1
            self._listing_cache = listing
            return listing

    async def _open_rows(self) -> list[OpenOrderRow]:
        rows: list[OpenOrderRow] = []
        for page in await self._pages("ka10075", _OPEN_BODY, OpenOrderList):
            rows.extend(page.oso)
        return rows

    async def _fill_rows(self) -> list[FillRow]:
        rows: list[FillRow] = []
        for page in await self._pages("ka10076", _FILLS_BODY, FillList):
            rows.extend(page.cntr)
        return rows

    async def _holdings(self) -> list[BalanceRow]:
        rows: list[BalanceRow] = []
        for page in await self._pages("kt00018", {"qry_tp": "1", "dmst_stex_tp": "KRX"}, BalanceAnswer):
            rows.extend(page.acnt_evlt_remn_indv_tot)
        return rows

    async def _pages(self, api_id: str, body: Mapping[str, str], answer_type: type[_E]) -> list[_E]:
        pages: list[_E] = []
        key: str | None = None
        for _ in range(_MAX_PAGES):
            answer, page = await self.rest.call(
                ACCOUNT_PATH, api_id, body, answer_type, next_key=key, retry_back_off=True
            )
            pages.append(answer)
            if not page.more:
                break
            key = page.next_key
        return pages

    def _publish(self, event: ExecutionEvent) -> None:
        if not self._closed:
            self._out.put(event)

    def _reject(self, cid: str, reason: str, code: str) -> OrderRejected:
        now = self._now()
        event = OrderRejected(ts_event=now, ts_init=now, client_order_id=cid, reason=reason, code=code)
        self._publish(event)
        return event

    def _end_rejected(self, cid: str, order: _Order, reason: str, code: str) -> OrderRejected:
        event = self._reject(cid, reason, code)
        order.ended = event
        return event

    def _unknown(self, cid: str, reason: str) -> OrderStatusUnknown:
        now = self._now()
        event = OrderStatusUnknown(ts_event=now, ts_init=now, client_order_id=cid, reason=reason)
        self._publish(event)
        return event

    def _cancel_rejected(self, cid: str, reason: str) -> OrderCancelRejected:
        now = self._now()
        event = OrderCancelRejected(ts_event=now, ts_init=now, client_order_id=cid, reason=reason)
        self._publish(event)
        return event

    def _now(self) -> int:
        return self._clock_ns()

    def _check_venue(self, venue: str) -> None:
        if venue != self.venue:
            raise ValueError(f"a command for venue {venue!r} reached the {self.venue!r} client")


def _whole(value: Decimal | None) -> str:
    """A whole number as Kiwoom takes it (``"10"``); KRX quantities and prices are whole."""
    return "" if value is None else format(value.to_integral_value(), "f")


def _code(refusal: KiwoomRequestError) -> str:
    return str(refusal.return_code if refusal.return_code is not None else refusal.http_status)


def _ord_no_of(trade: str) -> str:
    return trade.rpartition("-")[0]


def _kst_day(ns: int) -> str:
    return datetime.fromtimestamp(ns / _NS, KST).strftime("%Y%m%d")


def _query_of(cmd: SubmitOrder) -> QueryOrder:
    return QueryOrder(
        ts_event=cmd.ts_event,
        ts_init=cmd.ts_init,
        strategy=cmd.strategy,
        venue=cmd.venue,
        client_order_id=cmd.client_order_id,
        instrument=cmd.instrument,
        side=cmd.side,
        order_type=cmd.order_type,
        quantity=cmd.quantity,
    )
