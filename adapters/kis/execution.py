""":class:`KisExecutionClient`: the execution port on KIS domestic stocks (KRX), real or mock.

Orders go over REST (:class:`~adapters.kis.rest.KisRest`); what happens to them is read back from
``inquire-daily-ccld`` (and, when the WebSocket notices are on, told earlier by the execution
notices of :mod:`adapters.kis.ws`), folded here into one stream of engine events, each fact once.

* **KRX rules first.** Every order is checked by
  :func:`engines.markets.krx_validator.check_krx_order` before it leaves: an order KRX would refuse
  is answered :class:`OrderRejected` with the validator's code and never sent.
* **The calendar.** On a real account the client asks KIS's chk-holiday (``CTCA0903R``) for the
  KST date of its first order of each day and keeps the answer in memory for that day; KIS asks
  callers to keep to about one such query a day. KIS's ``opnd_yn`` then decides the calendar rule
  of the check (``N``: VT144, nothing sent), because it is the calendar KIS applies; where it
  disagrees with the dated KRX table a warning names the date and both answers. A failed query (or
  an answer without that date) is logged and the table alone decides, until a new try an hour
  later. KIS documents the service for real accounts only, so mock accounts use the table unless
  ``holiday_query=True``.
* **Client ids.** KIS takes none, so this client maps our client order id to KIS's order number
  (ODNO) the moment the create's answer arrives (:attr:`KisExecutionClient.order_numbers`, which the
  daemon journals and passes back as ``order_map`` after a restart). A client id already in the map
  is never sent again: a second submit under it is answered with the order's report.
* **Finding an order without its number** (a crash or a lost answer between send and answer):
  :meth:`KisExecutionClient.query` matches the day's orders at KIS that no client id claims yet, on
  the code, side, quantity, order kind (limit or market) and, when this process sent the order, its
  limit price and an order time within [sent - 5 s, sent + 60 s]. Exactly one match is the order
  (and is claimed); none is ``not_found``; more than one raises
  :class:`~adapters.kis.errors.KisAmbiguousOrderError` (VT981): the client refuses to guess.
* **Unknown outcomes.** A create whose outcome is not known (timeout, 5xx, lost connection, a code
  not in the table, ``EGW00201``, an expired token) is :class:`OrderStatusUnknown` and is never
  resent; the caller resolves it with :meth:`~KisExecutionClient.query`.
* **Fills.** KIS lists cumulative fills per order; a fill is the growth of an order's cumulative
  quantity, its trade id ``<ord_dt>-<odno>-<cum_qty>`` (:mod:`adapters.kis.parsers`), so the same
  fill told by a notice and found by a later query folds once. ``fills_since`` walks every page of
  the day's orders and puts each fill not told yet on the stream.
* **Notices.** With ``notices`` on, the execution notices (``H0STCNI0``/``H0STCNI9``, tr_key the
  HTS id) tell acceptances and cancels at once; a fill notice makes the client read that order's
  row at once: a notice carries no cumulative quantity and no execution id, so a repeated notice
  cannot be told from a second fill of the same size and price, while the row's cumulative numbers
  can. Notices of an order whose create is still unanswered wait for its number. After a
  reconnect the day's orders are read again (:meth:`KisExecutionClient.reconcile`): each missed
  fill and cancel goes on the stream once.
* **Balances.** KRW: the total is ``prvs_rcdl_excc_amt`` (cash after the unsettled trades, D+2) and
  the free part ``ord_psbl_cash`` of inquire-psbl-order; each holding is an asset named by its code
  (``005930``), free = ``ord_psbl_qty``. Holdings are also reported as positions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Final, TypeVar

import msgspec

from adapters.kis.config import PATHS, KisConfig
from adapters.kis.errors import KisAmbiguousOrderError, KisConfigError, KisRequestError
from adapters.kis.parsers import (
    FillState,
    Notice,
    engine_symbol,
    fill_delta,
    kst_ns,
    open_day_of,
    order_type_of,
    parse_decimal,
    parse_notices,
    pdno_of,
    report_of,
    rows_of,
    side_of,
    status_of,
)
from adapters.kis.rest import KisOutcomeUnknown, KisRest
from adapters.kis.schemas import (
    BalancePage,
    CcldPage,
    CcldRow,
    HolidayAnswer,
    OrderAnswer,
    PsblOrderAnswer,
)
from adapters.kis.ws import KisWebSocket
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
from adapters.venue_errors import Outcome, RateBudgetError, VenueHaltedError, VenueMessageError
from engines.errors import VibeError
from engines.markets.krx import KST_OFFSET_NS
from engines.markets.krx_validator import check_krx_order, is_trading_day
from engines.markets.specs import spec_for
from engines.model.commands import CancelOrder, QueryOrder, SubmitOrder
from engines.model.enums import OrderType, ReportedStatus, Side, TimeInForce
from engines.model.events import (
    Event,
    FillReport,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderExpired,
    OrderRejected,
    OrderStatusReport,
    OrderStatusUnknown,
)
from engines.model.instruments import InstrumentSpec

__all__ = ["HOLIDAY_RETRY_NS", "MATCH_WINDOW_NS", "KisExecutionClient"]

log: Final = logging.getLogger(__name__)

_NS: Final = 1_000_000_000
#: after a failed chk-holiday, the table decides for this long before KIS is asked again
HOLIDAY_RETRY_NS: Final = 3600 * _NS
_DAY_NS: Final = 86_400 * _NS
_ZERO: Final = Decimal(0)
#: the order time window of the match rule, around the time this process sent the order
MATCH_WINDOW_NS: Final = (5 * _NS, 60 * _NS)
_WORKING: Final = frozenset({ReportedStatus.ACCEPTED, ReportedStatus.PARTIALLY_FILLED})
_Ended = TypeVar("_Ended", bound=OrderRejected | OrderCanceled)

#: (order type, time in force) → ORD_DVSN
_ORD_DVSN: Final[Mapping[tuple[OrderType, TimeInForce], str]] = {
    (OrderType.LIMIT, TimeInForce.GTC): "00",
    (OrderType.LIMIT, TimeInForce.DAY): "00",
    (OrderType.MARKET, TimeInForce.GTC): "01",
    (OrderType.MARKET, TimeInForce.DAY): "01",
    (OrderType.LIMIT, TimeInForce.IOC): "11",
    (OrderType.LIMIT, TimeInForce.FOK): "12",
    (OrderType.MARKET, TimeInForce.IOC): "13",
    (OrderType.MARKET, TimeInForce.FOK): "14",
}


@dataclass
class _Order:
    """What this client knows of one of its orders."""

    cmd: SubmitOrder | None = None
    sent_ns: int = 0
    odno: str = ""
    orgno: str = ""
    ord_dt: str = ""
    accepted: OrderAccepted | None = None
    ended: Event | None = None
    fills: FillState = field(default_factory=lambda: FillState(_ZERO, _ZERO))


class KisExecutionClient:
    """An :class:`~adapters.ports.ExecutionClient` on one KIS account.

    ``config`` names the environment and the account (CANO, ACNT_PRDT_CD); ``cache_dir`` is where the
    access token is cached (the daemon's state directory); ``order_map`` the client id → ODNO pairs
    journalled before a restart and ``fills_known`` what the journal's fills of each sum to (quantity,
    amount); ``clock_ns`` stamps events and dates the day's queries (KST).
    """

    def __init__(
        self,
        config: KisConfig,
        app_key: str,
        app_secret: str,
        *,
        symbols: Iterable[str] = (),
        venue: str = "kis",
        cache_dir: Path | None = None,
        timeout_s: float = 5.0,
        rate_per_s: int | None = None,
        order_map: Mapping[str, str] | None = None,
        fills_known: Mapping[str, tuple[Decimal, Decimal]] | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        rest: KisRest | None = None,
        notices: bool = True,
        reconnect: Backoff | None = None,
        holiday_query: bool | None = None,
    ) -> None:
        if not config.account:
            raise KisConfigError("kis: the account number (CANO) is missing from the settings")
        self.config = config
        self.venue = venue
        self.symbols = list(symbols)
        self.rest = rest or KisRest(
            config, app_key, app_secret, cache_dir=cache_dir, timeout_s=timeout_s, rate_per_s=rate_per_s
        )
        self._clock_ns = clock_ns
        self._out: EventStream[ExecutionEvent] = EventStream()
        self._orders: dict[str, _Order] = {}
        self._by_odno: dict[str, str] = {}
        self._fills: list[FillReport] = []
        self._fill_ids: set[str] = set()
        self._closed = False
        self._lock = asyncio.Lock()
        self._inflight = 0
        self._waiting: dict[str, list[Notice]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._connecting = asyncio.Lock()
        self._connected = False
        self.reconciles = 0
        #: ask chk-holiday (None: on real accounts only, the service KIS documents)
        self.holiday_query = config.service == "real" if holiday_query is None else holiday_query
        #: (YYYYMMDD, KIS's opnd_yn) of the day asked, or (YYYYMMDD of a failure, retry at ns)
        self._calendar: tuple[str, bool] | None = None
        self._calendar_failed: tuple[str, int] | None = None
        self._calendar_lock = asyncio.Lock()
        self.stream: KisWebSocket | None = None
        if notices:
            if not config.hts_id:
                raise KisConfigError("kis: execution notices need the HTS id (hts_id) in the settings")
            self.stream = KisWebSocket(
                config.ws_root + "/tryitout",
                self.rest.auth.approval_key,
                self._on_data,
                name=f"kis-{config.service}-notices",
                on_reconnect=self.reconcile,
                on_failure=self._out.fail,
                timeout_s=timeout_s,
                backoff=reconnect,
            )
        for cid, odno in (order_map or {}).items():
            self._orders[cid] = _Order(odno=odno)
            self._by_odno[odno] = cid
        # KIS tells a fill as the growth of an order's totals: a restarted client that started them
        # from zero would tell the fills folded before it again, as one fill of their sum
        for cid, (qty, amount) in (fills_known or {}).items():
            if cid in self._orders:
                self._orders[cid].fills = FillState(qty, amount)

    @property
    def order_numbers(self) -> dict[str, str]:
        """client order id → KIS order number, for every order KIS numbered."""
        return {cid: o.odno for cid, o in self._orders.items() if o.odno}

    async def connect(self) -> None:
        """Open the notice stream (the token is fetched, or read from its cache, by the first
        request); every call does it when the caller did not."""
        async with self._connecting:
            if self._connected or self._closed:
                return
            if self.stream is not None:
                try:
                    await self.stream.start()
                    await self.stream.subscribe(self.config.tr("notice"), self.config.hts_id)
                except BaseException:
                    await self.stream.close()  # a later call tries again from the start
                    raise
            self._connected = True

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.stream is not None:
            await self.stream.close()
        await self.rest.close()
        self._out.end()

    def account_stream(self) -> tuple[bool, int]:
        """The notice stream's health for ``/readyz`` and ``/metrics``: (connected, reconnects)."""
        if self.stream is None:
            return True, 0
        return self.stream.connected.is_set(), max(0, self.stream.connects - 1)

    async def reconcile(self) -> None:
        """After a reconnect: the day's orders are read again; each fill and cancel the notices
        missed goes on the stream once."""
        self.reconciles += 1
        await self.fills_since(None)

    def events(self) -> AsyncIterator[ExecutionEvent]:
        return aiter(self._out)

    # ── orders ──

    async def submit(self, cmd: SubmitOrder) -> Sequence[SubmitAnswer]:
        self._check_venue(cmd.venue)
        await self.connect()
        pdno = pdno_of(cmd.instrument)
        existing = self._orders.get(cmd.client_order_id)
        if existing is not None and (existing.odno or existing.cmd is not None):
            # KIS takes no client id: a second create would be a second live order
            try:
                return [await self.query(_query_of(cmd))]
            except (KisRequestError, TimeoutError, VenueHaltedError, RateBudgetError, VibeError) as exc:
                return [self._unknown(cmd.client_order_id, f"client id already sent; query failed: {exc}")]
        order = _Order(cmd=cmd, sent_ns=self._now())
        self._orders[cmd.client_order_id] = order
        dvsn = _ORD_DVSN.get((cmd.order_type, cmd.time_in_force))
        if dvsn is None:
            return [
                self._reject(order, cmd, f"KIS takes no {cmd.order_type} {cmd.time_in_force} order", "VT993")
            ]
        open_day = await self._open_day(order.sent_ns)
        order.sent_ns = self._now()  # the query may have taken a while: the order leaves now
        try:
            check_krx_order(
                spec_for(cmd.instrument),
                cmd.side,
                cmd.order_type,
                cmd.quantity,
                cmd.price,
                order.sent_ns,
                open_day=open_day,
            )
        except VibeError as exc:
            return [self._reject(order, cmd, exc.message, exc.code)]
        body = {
            "CANO": self.config.account,
            "ACNT_PRDT_CD": self.config.product,
            "PDNO": pdno,
            "ORD_DVSN": dvsn,
            "ORD_QTY": _int_text(cmd.quantity),
            "ORD_UNPR": "0"
            if cmd.order_type is OrderType.MARKET or cmd.price is None
            else _int_text(cmd.price),
            "EXCG_ID_DVSN_CD": self.config.exchange,
            "SLL_TYPE": "01" if cmd.side is Side.SELL else "",
            "CNDT_PRIC": "",
        }
        tr = self.config.tr("buy" if cmd.side is Side.BUY else "sell")
        self._inflight += 1
        try:
            answer = await self.rest.post(PATHS["order"], tr, body, OrderAnswer)
        except (VenueHaltedError, RateBudgetError) as exc:  # nothing left this process
            return [self._reject(order, cmd, exc.message, exc.code)]
        except KisRequestError as refusal:
            if refusal.outcome is Outcome.REJECTED:
                return [self._reject(order, cmd, refusal.msg, refusal.msg_cd)]
            kind = "unknown" if isinstance(refusal, KisOutcomeUnknown) else str(refusal.outcome)
            return [self._unknown(cmd.client_order_id, f"{kind}: {refusal.message}")]
        finally:
            self._inflight -= 1
        output = answer.output
        if output is None or not output.odno:
            return [self._unknown(cmd.client_order_id, "order answer without an order number (ODNO)")]
        order.orgno = output.krx_fwdg_ord_orgno
        order.ord_dt = _kst_date(self._now())
        self._claim(cmd.client_order_id, output.odno)  # notices that waited for the number go now
        if order.accepted is None:
            if isinstance(order.ended, OrderRejected):
                return [order.ended]  # KIS refused it by notice before the create's answer came
            now = self._now()
            order.accepted = OrderAccepted(
                ts_event=now, ts_init=now, client_order_id=cmd.client_order_id, venue_order_id=output.odno
            )
            self._publish(order.accepted)
        return [order.accepted]

    async def cancel(self, cmd: CancelOrder) -> Sequence[CancelAnswer]:
        self._check_venue(cmd.venue)
        await self.connect()
        order = self._orders.get(cmd.client_order_id)
        if order is None or not order.odno:
            return [
                self._cancel_rejected(cmd.client_order_id, "no KIS order number is known for this client id")
            ]
        body = {
            "CANO": self.config.account,
            "ACNT_PRDT_CD": self.config.product,
            "KRX_FWDG_ORD_ORGNO": order.orgno,
            "ORGN_ODNO": order.odno,
            "ORD_DVSN": "00",
            "RVSE_CNCL_DVSN_CD": "02",
            "ORD_QTY": "0",
            "ORD_UNPR": "0",
            "QTY_ALL_ORD_YN": "Y",
            "EXCG_ID_DVSN_CD": self.config.exchange,
        }
        try:
            await self.rest.post(PATHS["cancel"], self.config.tr("cancel"), body, OrderAnswer)
        except (VenueHaltedError, RateBudgetError) as exc:
            return [self._cancel_rejected(cmd.client_order_id, exc.message)]
        except KisRequestError as refusal:
            if refusal.outcome is Outcome.REJECTED:
                return [self._cancel_rejected(cmd.client_order_id, f"{refusal.msg_cd}: {refusal.msg}")]
            return [self._unknown(cmd.client_order_id, f"cancel {refusal.outcome}: {refusal.message}")]
        # KIS's cancel answer does not say what filled before it; the order's row does. Its fills go
        # on the stream ahead of the cancel, so a session that stops right after a cancel (the stop
        # sequence does just that) has journalled them. A failed read leaves them to the next start's
        # fills_since, where a fill on a canceled order still folds.
        await self._fold_order_row(order.odno)
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
        self._check_venue(cmd.venue)
        await self.connect()
        order = self._orders.get(cmd.client_order_id)
        row: CcldRow | None = None
        if order is not None and order.odno:
            rows = await self._rows(odno=order.odno, since_dt=order.ord_dt or None)
            row = next((r for r in rows if r.odno == order.odno), None)
        else:
            row = await self._match(cmd, order)
        now = self._now()
        if row is None:
            report = OrderStatusReport(
                ts_event=now,
                ts_init=now,
                client_order_id=cmd.client_order_id,
                venue=self.venue,
                instrument=cmd.instrument,
                side=cmd.side,
                order_type=cmd.order_type,
                quantity=cmd.quantity,
                status=ReportedStatus.NOT_FOUND,
                filled_qty=_ZERO,
            )
        else:
            self._fold_row(row)
            report = report_of(row, cmd.client_order_id, self.venue, now)
            mine = self._orders.get(cmd.client_order_id)
            if mine is not None and report.status is ReportedStatus.CANCELED and mine.ended is None:
                mine.ended = report
        self._publish(report)
        return report

    # ── what the venue holds ──

    async def open_orders(self) -> Sequence[OrderStatusReport]:
        await self.connect()
        rows = await self._rows()
        now = self._now()
        out: list[OrderStatusReport] = []
        for row in sorted(rows, key=lambda r: (r.ord_dt, r.ord_tmd, r.odno)):
            if status_of(row) not in _WORKING:
                continue
            cid = self._by_odno.get(row.odno)
            report = report_of(row, cid or f"kis-{row.odno}", self.venue, now)
            if cid is None:
                report = _external(report)
            out.append(report)
        return out

    async def fills_since(self, cursor: str | None) -> Sequence[FillReport]:
        """The day's fills, oldest first, after ``cursor``: every fill this client has told and any
        new one the day's orders show (put on the stream once)."""
        await self.connect()
        async with self._lock:
            for row in sorted(await self._rows(), key=lambda r: (r.ord_dt, r.ord_tmd, r.odno)):
                self._fold_row(row)
        fills = list(self._fills)
        if cursor is not None:
            ids = [f.trade_id for f in fills]
            if cursor in ids:
                fills = fills[ids.index(cursor) + 1 :]
        return fills

    async def balances(self) -> Balances:
        await self.connect()
        pages = await self._balance_pages()
        assets: dict[str, Balance] = {}
        total_cash = _ZERO
        for page in pages:
            for holding in page.output1:
                held = parse_decimal(holding.hldg_qty, "hldg_qty", empty=_ZERO)
                if held <= 0:
                    continue
                free = parse_decimal(holding.ord_psbl_qty, "ord_psbl_qty", empty=_ZERO)
                assets[holding.pdno] = Balance(free=free, locked=held - free)
        if pages and pages[0].output2:
            totals = pages[0].output2[0]
            total_cash = parse_decimal(
                totals.prvs_rcdl_excc_amt or totals.dnca_tot_amt, "prvs_rcdl_excc_amt", empty=_ZERO
            )
        params = {
            "CANO": self.config.account,
            "ACNT_PRDT_CD": self.config.product,
            "PDNO": pdno_of(self.symbols[0]) if self.symbols else "",
            "ORD_UNPR": "",
            "ORD_DVSN": "01",
            "CMA_EVLU_AMT_ICLD_YN": "N",
            "OVRS_ICLD_YN": "N",
        }
        psbl, _ = await self.rest.get(
            PATHS["psbl_order"], self.config.tr("psbl_order"), params, PsblOrderAnswer
        )
        free_cash = total_cash
        if psbl.output is not None and psbl.output.ord_psbl_cash:
            free_cash = min(total_cash, parse_decimal(psbl.output.ord_psbl_cash, "ord_psbl_cash"))
        assets["KRW"] = Balance(free=free_cash, locked=total_cash - free_cash)
        return Balances(assets=dict(sorted(assets.items())))

    async def positions(self) -> Positions:
        await self.connect()
        out: dict[str, PositionAmount] = {}
        for page in await self._balance_pages():
            for holding in page.output1:
                held = parse_decimal(holding.hldg_qty, "hldg_qty", empty=_ZERO)
                if held > 0:
                    avg = parse_decimal(holding.pchs_avg_pric, "pchs_avg_pric", empty=_ZERO)
                    out[engine_symbol(holding.pdno)] = PositionAmount(qty=held, avg_px=avg)
        return Positions(positions=dict(sorted(out.items())))

    # ── reading KIS ──

    async def _open_day(self, now_ns: int) -> bool | None:
        """KIS's ``opnd_yn`` for the KST date of ``now_ns``, asked once that day; None when KIS is
        not asked or did not answer (the table decides)."""
        if not self.holiday_query:
            return None
        day = _kst_date(now_ns)
        async with self._calendar_lock:  # concurrent first orders of the day ask once
            if self._calendar is not None and self._calendar[0] == day:
                return self._calendar[1]
            failed = self._calendar_failed
            if failed is not None and failed[0] == day and now_ns < failed[1]:
                return None
            params = {"BASS_DT": day, "CTX_AREA_FK": "", "CTX_AREA_NK": ""}
            try:
                # the first page starts at BASS_DT: today's row is on it, the other pages are not read
                answer, _ = await self.rest.get(
                    PATHS["holiday"], self.config.tr("holiday"), params, HolidayAnswer
                )
                open_day = open_day_of(answer, day)
                if open_day is None:
                    raise VenueMessageError(f"kis chk-holiday answered no row for {day}")
            except (KisRequestError, TimeoutError, VenueHaltedError, RateBudgetError, VibeError) as exc:
                self._calendar_failed = (day, now_ns + HOLIDAY_RETRY_NS)
                log.warning(
                    "kis: chk-holiday for %s failed (%s); the KRX table decides the calendar, KIS is "
                    "asked again in %d s",
                    day,
                    exc,
                    HOLIDAY_RETRY_NS // _NS,
                )
                return None
            self._calendar, self._calendar_failed = (day, open_day), None
            table = is_trading_day(date(int(day[:4]), int(day[4:6]), int(day[6:])))
            if table != open_day:
                log.warning(
                    "kis: KIS's calendar and the KRX table disagree on %s: KIS says %s (opnd_yn=%s), "
                    "the table says %s; KIS's answer decides",
                    f"{day[:4]}-{day[4:6]}-{day[6:]}",
                    "open" if open_day else "closed",
                    "Y" if open_day else "N",
                    "open" if table else "closed",
                )
            return open_day

    async def _rows(self, *, odno: str = "", since_dt: str | None = None) -> list[CcldRow]:
        today = _kst_date(self._now())
        params = {
            "CANO": self.config.account,
            "ACNT_PRDT_CD": self.config.product,
            "INQR_STRT_DT": since_dt or today,
            "INQR_END_DT": today,
            "SLL_BUY_DVSN_CD": "00",
            "INQR_DVSN": "01",  # oldest first
            "PDNO": "",
            "CCLD_DVSN": "00",
            "ORD_GNO_BRNO": "",
            "ODNO": odno,
            "INQR_DVSN_3": "00",
            "INQR_DVSN_1": "",
        }
        pages = await self.rest.pages(PATHS["daily_ccld"], self.config.tr("daily_ccld"), params, CcldPage)
        return [row for page in pages for row in rows_of(page.output1)]

    async def _balance_pages(self) -> list[BalancePage]:
        params = {
            "CANO": self.config.account,
            "ACNT_PRDT_CD": self.config.product,
            "AFHR_FLPR_YN": "N",
            "OFL_YN": "",
            "INQR_DVSN": "02",
            "UNPR_DVSN": "01",
            "FUND_STTL_ICLD_YN": "N",
            "FNCG_AMT_AUTO_RDPT_YN": "N",
            "PRCS_DVSN": "00",
        }
        return await self.rest.pages(PATHS["balance"], self.config.tr("balance"), params, BalancePage)

    async def _match(self, cmd: QueryOrder, order: _Order | None) -> CcldRow | None:
        """The match rule of the module docstring, for an order with no known number."""
        pdno = pdno_of(cmd.instrument)
        sent = order.cmd if order is not None else None
        candidates: list[CcldRow] = []
        for row in await self._rows():
            if row.odno in self._by_odno or row.pdno != pdno:
                continue
            if side_of(row.sll_buy_dvsn_cd) is not cmd.side:
                continue
            if parse_decimal(row.ord_qty, "ord_qty") != cmd.quantity:
                continue
            if order_type_of(row.ord_dvsn_cd) is not cmd.order_type:
                continue
            if sent is not None and order is not None:
                limit = sent.price if sent.order_type is OrderType.LIMIT else None
                if limit is not None and parse_decimal(row.ord_unpr, "ord_unpr", empty=_ZERO) != limit:
                    continue
                at = kst_ns(row.ord_dt, row.ord_tmd)
                early, late = MATCH_WINDOW_NS
                # KIS stamps whole seconds: the window is widened by one
                if not order.sent_ns - early - _NS <= at <= order.sent_ns + late:
                    continue
            candidates.append(row)
        if len(candidates) > 1:
            numbers = ", ".join(r.odno for r in candidates)
            raise KisAmbiguousOrderError(
                f"kis: {cmd.client_order_id} matches {len(candidates)} orders ({numbers}); "
                "refusing to guess which is ours"
            )
        if not candidates:
            return None
        row = candidates[0]
        self._claim(cmd.client_order_id, row.odno)
        mine = self._orders[cmd.client_order_id]
        mine.ord_dt = row.ord_dt
        return row

    # ── folding ──

    def _fold_row(self, row: CcldRow) -> None:
        """The news of one order's row: its acceptance (when this client had not told it) and the
        fill its cumulative quantity shows beyond what was told."""
        cid = self._by_odno.get(row.odno)
        if cid is None:
            cid = f"kis-{row.odno}"  # an order this client did not send: its fills are still the account's
        order = self._orders.setdefault(cid, _Order(odno=row.odno))
        if not order.odno:
            self._claim(cid, row.odno)
        order.ord_dt = order.ord_dt or row.ord_dt
        spec = self._spec(row.pdno)
        found = fill_delta(row, order.fills, cid, spec, self._now())
        if found is not None:
            self._fold_fill(order, row, *found)
        if order.accepted is None or order.ended is not None:
            return
        status = status_of(row)
        now = self._now()
        if status is ReportedStatus.CANCELED:  # a cancel the notices did not tell
            order.ended = OrderCanceled(ts_event=now, ts_init=now, client_order_id=cid, reason="canceled")
            self._publish(order.ended)
        elif status is ReportedStatus.EXPIRED:
            order.ended = OrderExpired(ts_event=now, ts_init=now, client_order_id=cid)
            self._publish(order.ended)

    def _fold_fill(self, order: _Order, row: CcldRow, fill: FillReport, state: FillState) -> None:
        cid = fill.client_order_id
        if order.accepted is None and order.ended is None:
            order.accepted = OrderAccepted(
                ts_event=fill.ts_event, ts_init=fill.ts_init, client_order_id=cid, venue_order_id=row.odno
            )
            self._publish(order.accepted)
        order.fills = state
        if fill.trade_id not in self._fill_ids:
            self._fill_ids.add(fill.trade_id)
            self._fills.append(fill)
            self._publish(fill)

    def _claim(self, cid: str, odno: str) -> None:
        order = self._orders.setdefault(cid, _Order())
        order.odno = odno
        self._by_odno[odno] = cid
        for notice in self._waiting.pop(odno, []):
            self._on_notice(notice)

    # ── the notices ──

    def _on_data(self, tr: str, records: int, payload: str) -> None:
        if tr != self.config.tr("notice"):
            return
        for notice in parse_notices(payload, records):
            self._on_notice(notice)

    def _on_notice(self, notice: Notice) -> None:
        f = notice.fields
        odno = f["ODER_NO"]
        cid = self._by_odno.get(odno)
        if cid is None:
            if self._inflight or any(
                o.cmd is not None and not o.odno and o.ended is None for o in self._orders.values()
            ):
                # a create in flight or unresolved may be this order: wait for its number
                self._waiting.setdefault(odno, []).append(notice)
                return
            cid = f"kis-{odno}"
            self._claim(cid, odno)
        order = self._orders[cid]
        now = self._now()
        if f["RFUS_YN"] == "1":
            if order.ended is None and order.accepted is None:
                rejected = OrderRejected(
                    ts_event=now, ts_init=now, client_order_id=cid, reason="refused by KIS", code="RFUS"
                )
                order.ended = rejected
                self._publish(rejected)
            return
        if f["CNTG_YN"] == "2":
            self._refresh(odno)  # the fill is read from the order's cumulative numbers
            return
        if f["RCTF_CLS"] == "2":
            if order.ended is None:
                canceled = OrderCanceled(ts_event=now, ts_init=now, client_order_id=cid, reason="canceled")
                order.ended = canceled
                self._publish(canceled)
            return
        if f["RCTF_CLS"] == "0" and order.accepted is None and order.ended is None:
            order.accepted = OrderAccepted(
                ts_event=now, ts_init=now, client_order_id=cid, venue_order_id=odno
            )
            self._publish(order.accepted)

    def _refresh(self, odno: str) -> None:
        task = asyncio.create_task(self._fold_order_row(odno), name=f"kis-refresh-{odno}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fold_order_row(self, odno: str) -> None:
        """Read one order's row and fold what it shows; a failed read is left to the next one."""
        with contextlib.suppress(KisRequestError, TimeoutError, VenueHaltedError, RateBudgetError, VibeError):
            async with self._lock:
                order = self._orders.get(self._by_odno.get(odno, ""))
                for row in await self._rows(
                    odno=odno, since_dt=order.ord_dt if order and order.ord_dt else None
                ):
                    if row.odno == odno:
                        self._fold_row(row)

    # ── helpers ──

    def _spec(self, pdno: str) -> InstrumentSpec:
        return spec_for(engine_symbol(pdno))

    def _check_venue(self, venue: str) -> None:
        if venue != self.venue:
            raise ValueError(f"a command for venue {venue!r} reached the {self.venue!r} client")

    def _publish(self, event: ExecutionEvent) -> None:
        if not self._closed:
            self._out.put(event)

    def _reject(self, order: _Order, cmd: SubmitOrder, reason: str, code: str) -> OrderRejected:
        now = self._now()
        rejected = OrderRejected(
            ts_event=now, ts_init=now, client_order_id=cmd.client_order_id, reason=reason, code=code
        )
        order.ended = rejected
        self._publish(rejected)
        return rejected

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


def _kst_date(ts_ns: int) -> str:
    """``YYYYMMDD`` of ``ts_ns`` in KST."""
    days = (ts_ns + KST_OFFSET_NS) // _DAY_NS
    # civil from days (Howard Hinnant's algorithm): no datetime needed
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return f"{y + (m <= 2):04d}{m:02d}{d:02d}"


def _int_text(value: Decimal) -> str:
    """A whole number as KIS takes it; KRX quantities and prices are whole (the validator said so)."""
    return str(int(value))


def _external(report: OrderStatusReport) -> OrderStatusReport:
    return msgspec.structs.replace(report, external=True)


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
