""":class:`BybitExecutionClient`: the execution port on Bybit v5 (one category, ``spot`` or ``linear``).

Orders go over REST (:class:`~adapters.bybit.rest.BybitRest`); what happens to them arrives on the
private WebSocket (``order`` and ``execution`` topics) and is folded here into one stream of engine
events, each fact once:

* the engine's client id is sent as ``orderLinkId``; price and quantity are rounded to the
  instrument's tick and step (``instruments-info``), and an order below the minimum quantity or value
  raises :class:`~adapters.venue_errors.InstrumentFilterError` (VT809) before anything is sent;
* a create's answer is only an ack: :class:`OrderAccepted`. Fills come from the ``execution`` topic
  (or from ``/v5/execution/list``), deduplicated by ``execId``, so Bybit's two ``Filled`` order
  messages, a fill sent twice and a fill found both on the stream and by reconciliation are one fill;
* a create whose outcome is not known (timeout, 5xx, ``10016``, a lost connection, a rate limit, a
  clock refusal, an auth failure) is :class:`OrderStatusUnknown` and is never sent again; a duplicate
  ``orderLinkId`` (``110072``, ``170141``, ``10014``) is queried and its report returned;
* an order's state only moves forward: an ack after a fill or a cancel, or a second cancel, adds
  nothing; the answer a call returns is the very event the stream carries (if the stream told it
  first, the call returns the stream's event);
* after every reconnect of the private stream, the orders still working here are queried and the
  executions since the last ``execId`` seen are fetched: each missed fill is delivered once.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, TypeVar

import msgspec

from adapters.bybit.config import BybitConfig, Category
from adapters.bybit.errors import BybitRequestError
from adapters.bybit.filters import InstrumentFilter, filters_from_info, wire_decimal
from adapters.bybit.parsers import (
    BybitInstrument,
    SymbolMap,
    fill_reports,
    fills,
    order_events,
    status_reports,
)
from adapters.bybit.rest import BybitOutcomeUnknown, BybitRest
from adapters.bybit.schemas import (
    CancelResult,
    CreateResult,
    ExecRow,
    ExecutionList,
    Frame,
    InstrumentsInfo,
    OrderList,
    OrderRow,
    PositionList,
    WalletBalance,
)
from adapters.bybit.ws import BybitWebSocket
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
from adapters.venue_errors import (
    Outcome,
    RateBudgetError,
    UnknownVenueSymbolError,
    VenueHaltedError,
    VenueMessageError,
)
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
    OrderFilled,
    OrderRejected,
    OrderStatusReport,
    OrderStatusUnknown,
)

__all__ = ["BybitExecutionClient"]

_MS: Final = 1_000_000
_T = TypeVar("_T")
_Ended = TypeVar("_Ended", bound=OrderRejected | OrderCanceled | OrderExpired)
_ZERO: Final = Decimal(0)
_orders_dec: Final = msgspec.json.Decoder(list[OrderRow], strict=False)
_execs_dec: Final = msgspec.json.Decoder(list[ExecRow], strict=False)
_TIF: Final = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK", TimeInForce.DAY: "GTC"}
_TERMINAL_REPORTS: Final = frozenset(
    {ReportedStatus.CANCELED, ReportedStatus.EXPIRED, ReportedStatus.REJECTED, ReportedStatus.FILLED}
)
_PAGE_LIMIT: Final = 100
_MAX_PAGES: Final = 50  # a bounded walk: 5,000 executions or orders per call


@dataclass
class _Order:
    """What this client knows of one of its orders: the facts already on the stream."""

    quantity: Decimal | None
    accepted: OrderAccepted | None = None
    ended: Event | None = None  # the terminal event on the stream: canceled, expired, rejected
    cum_qty: Decimal = _ZERO
    venue_order_id: str = ""

    @property
    def working(self) -> bool:
        return self.ended is None and (self.quantity is None or self.cum_qty < self.quantity)


class BybitExecutionClient:
    """An :class:`~adapters.ports.ExecutionClient` on one Bybit category.

    ``symbols`` are engine symbols (``bybit-spot:BTCUSDT``) or a :class:`SymbolMap`; ``venue`` the
    name commands carry. ``connect()`` syncs the clock, loads the instruments' filters and opens the
    private stream; the first call does it when the caller did not.
    """

    def __init__(
        self,
        config: BybitConfig,
        api_key: str,
        api_secret: str,
        *,
        category: Category = "spot",
        symbols: Iterable[str] | SymbolMap = (),
        venue: str = "bybit",
        timeout_s: float = 5.0,
        ping_interval_s: float = 20.0,
        stale_after_s: float | None = None,
        reconnect: Backoff | None = None,
        rng: random.Random | None = None,
        filters: Mapping[str, InstrumentFilter] | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        rest: BybitRest | None = None,
        private_stream: bool = True,
    ) -> None:
        self.config = config
        self.category: Category = category
        self.venue = venue
        self.symbols = symbols if isinstance(symbols, SymbolMap) else SymbolMap.from_symbols(symbols)
        self._names = [
            ins.name for ins in (self._instrument_or_none(s) for s in _engine_symbols(symbols)) if ins
        ]
        self.rest = rest or BybitRest(config, api_key, api_secret, timeout_s=timeout_s)
        self._clock_ns = clock_ns
        self.filters: dict[str, InstrumentFilter] = dict(filters or {})
        self.stream = BybitWebSocket(
            config.endpoints().ws_private,
            self._on_frame,
            name=f"bybit-{category}-private",
            auth=(api_key, api_secret),
            now_ms=self.rest.clock.now_ms,
            on_reconnect=self.reconcile,
            on_failure=self._on_stream_failure,
            ping_interval_s=ping_interval_s,
            stale_after_s=stale_after_s,
            connect_timeout_s=timeout_s,
            op_timeout_s=timeout_s,
            backoff=reconnect,
            rng=rng,
        )
        self.stream.topics.extend(["order", "execution"])
        self._out: EventStream[ExecutionEvent] = EventStream()
        self._orders: dict[str, _Order] = {}
        self._seen_execs: set[str] = set()
        self._last_exec: tuple[int, str] | None = None  # (execTime, execId) of the newest fill seen
        self._connected = False
        # without the private stream (reconciliation only), events carry just the calls' answers
        self._private_stream = private_stream
        self._connecting: asyncio.Lock = asyncio.Lock()
        self._closed = False
        self.reconciles = 0

    # ── lifecycle ──

    async def connect(self) -> None:
        async with self._connecting:
            if self._connected:
                return
            await self.rest.start()
            if self._names and not all(n in self.filters for n in self._names):
                await self.load_filters()
            if self._private_stream:
                await self.stream.start()
            self._connected = True

    async def load_filters(self) -> None:
        """Tick, step and minimums of the client's symbols from ``/v5/market/instruments-info``."""
        for name in self._names:
            info, _ = await self.rest.get(
                "/market/instruments-info",
                {"category": self.category, "symbol": name},
                InstrumentsInfo,
                signed=False,
            )
            self.filters.update(filters_from_info(info))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.stream.close()
        await self.rest.close()
        self._out.end()

    def account_stream(self) -> tuple[bool, int]:
        """The private stream's health for ``/readyz`` and ``/metrics``: (connected, reconnects)."""
        if not self._private_stream:
            return True, 0
        return self.stream.connected.is_set(), max(0, self.stream.connects - 1)

    def events(self) -> AsyncIterator[ExecutionEvent]:
        return aiter(self._out)

    # ── orders ──

    async def submit(self, cmd: SubmitOrder) -> Sequence[SubmitAnswer]:
        ins = self._instrument(cmd.venue, cmd.instrument)
        await self.connect()
        if cmd.order_type not in (OrderType.MARKET, OrderType.LIMIT):
            raise UnknownVenueSymbolError(f"bybit client sends market and limit orders, not {cmd.order_type}")
        qty, price = self._filter(ins.name).prepare(cmd.side, cmd.quantity, cmd.price)
        body: dict[str, object] = {
            "category": self.category,
            "symbol": ins.name,
            "side": "Buy" if cmd.side is Side.BUY else "Sell",
            "orderType": "Market" if cmd.order_type is OrderType.MARKET else "Limit",
            "qty": wire_decimal(qty),
            "orderLinkId": cmd.client_order_id,
        }
        if price is not None and cmd.order_type is OrderType.LIMIT:
            body["price"] = wire_decimal(price)
            body["timeInForce"] = _TIF[cmd.time_in_force]
        if self.category == "spot" and cmd.order_type is OrderType.MARKET:
            body["marketUnit"] = "baseCoin"  # a spot market buy is sized in quote coin otherwise
        if self.category == "linear" and cmd.reduce_only:
            body["reduceOnly"] = True
        order = self._orders.setdefault(cmd.client_order_id, _Order(quantity=qty))
        order.quantity = qty
        try:
            result, time_ms = await self.rest.post(
                "/order/create", body, CreateResult, category=self.category
            )
        except (VenueHaltedError, RateBudgetError) as exc:  # nothing left this process
            rejected = OrderRejected(
                ts_event=self._now(), ts_init=self._now(), client_order_id=cmd.client_order_id,
                reason=exc.message, code=exc.code,
            )  # fmt: skip
            return [self._end(order, rejected)]
        except BybitRequestError as refusal:
            return await self._submit_refused(cmd, order, refusal)
        order.venue_order_id = result.orderId
        if order.accepted is None:  # the stream may have told it first: then that is the answer
            order.accepted = OrderAccepted(
                ts_event=time_ms * _MS,
                ts_init=self._now(),
                client_order_id=cmd.client_order_id,
                venue_order_id=result.orderId,
            )
            self._publish(order.accepted)
        return [order.accepted]

    async def _submit_refused(
        self, cmd: SubmitOrder, order: _Order, refusal: BybitRequestError
    ) -> list[SubmitAnswer]:
        now = self._now()
        if refusal.outcome is Outcome.REJECTED:
            rejected = OrderRejected(
                ts_event=now,
                ts_init=now,
                client_order_id=cmd.client_order_id,
                reason=refusal.ret_msg,
                code=str(refusal.ret_code if refusal.ret_code is not None else refusal.http_status),
            )
            return [self._end(order, rejected)]
        if refusal.outcome is Outcome.DUPLICATE:
            # the venue has an order under this id: report it, never fail it
            try:
                report = await self.query(_query_of(cmd))
            except (BybitRequestError, TimeoutError, VenueHaltedError, RateBudgetError) as exc:
                return [self._unknown(cmd.client_order_id, f"duplicate orderLinkId, query failed: {exc}")]
            # the port's SubmitAnswer names no report, but its contract allows one for a duplicate
            return [report]
        kind = "unknown" if isinstance(refusal, BybitOutcomeUnknown) else str(refusal.outcome)
        return [self._unknown(cmd.client_order_id, f"{kind}: {refusal.message}")]

    async def cancel(self, cmd: CancelOrder) -> Sequence[CancelAnswer]:
        ins = self._instrument(cmd.venue, cmd.instrument)
        await self.connect()
        body = {"category": self.category, "symbol": ins.name, "orderLinkId": cmd.client_order_id}
        order = self._orders.get(cmd.client_order_id)
        try:
            await self.rest.post("/order/cancel", body, CancelResult, category=self.category)
        except (VenueHaltedError, RateBudgetError) as exc:
            return [self._cancel_rejected(cmd.client_order_id, exc.message)]
        except BybitRequestError as refusal:
            if refusal.outcome is Outcome.REJECTED:
                return [self._cancel_rejected(cmd.client_order_id, refusal.ret_msg)]
            return [self._unknown(cmd.client_order_id, f"cancel {refusal.outcome}: {refusal.message}")]
        if order is None:
            order = self._orders.setdefault(cmd.client_order_id, _Order(quantity=None))
        if isinstance(order.ended, OrderCanceled):
            return [order.ended]
        now = self._now()
        canceled = OrderCanceled(
            ts_event=now, ts_init=now, client_order_id=cmd.client_order_id, reason="CancelByUser"
        )
        if order.ended is not None:
            # the stream ended it otherwise (expired, rejected) before the cancel's ack came back
            return [self._cancel_rejected(cmd.client_order_id, f"order already ended: {type(order.ended)}")]
        order.ended = canceled
        self._publish(canceled)
        return [canceled]

    async def query(self, cmd: QueryOrder) -> OrderStatusReport:
        await self.connect()
        ins = self._instrument(cmd.venue, cmd.instrument)
        rows: list[OrderRow] = []
        time_ms = 0
        for path in ("/order/realtime", "/order/history"):
            found, time_ms = await self.rest.get(
                path,
                {"category": self.category, "symbol": ins.name, "orderLinkId": cmd.client_order_id},
                OrderList,
                category=self.category,
            )
            rows = [r for r in found.rows if r.orderLinkId == cmd.client_order_id]
            if rows:
                break
        rows.sort(key=lambda r: r.createdTime)
        reports = status_reports(
            rows[-1:], self.category, self.symbols, self._now(), query=cmd, server_time_ms=time_ms
        )
        report = reports[0]
        self._fold_report(report)
        self._publish(report)
        return report

    # ── what the venue holds ──

    async def open_orders(self) -> Sequence[OrderStatusReport]:
        await self.connect()
        rows: list[OrderRow] = []
        for params in self._scopes():
            rows.extend(await self._pages("/order/realtime", {**params, "openOnly": "0"}))
        working = [r for r in rows if r.orderStatus in ("New", "PartiallyFilled", "Untriggered")]
        working.sort(key=lambda r: (r.createdTime, r.orderId))
        return status_reports(working, self.category, self.symbols, self._now())

    async def fills_since(self, cursor: str | None) -> Sequence[FillReport]:
        """Every execution of the category Bybit still lists (7 days), oldest first, after ``cursor``;
        a cursor no longer listed gives them all (the consumer folds each trade id once)."""
        await self.connect()
        rows: list[ExecRow] = []
        page = ""
        for _ in range(_MAX_PAGES):
            params = {"category": self.category, "limit": str(_PAGE_LIMIT)}
            if page:
                params["cursor"] = page
            found, _ = await self.rest.get("/execution/list", params, ExecutionList, category=self.category)
            rows.extend(found.rows)
            page = found.nextPageCursor
            if not page or not found.rows:
                break
        trades = [r for r in reversed(rows) if r.execType == "Trade"]  # Bybit lists newest first
        trades.sort(key=lambda r: r.execTime)  # stable: same-millisecond executions keep their order
        unique: dict[str, ExecRow] = {}
        for r in trades:
            unique.setdefault(r.execId, r)
        ordered = list(unique.values())
        if cursor is not None:
            ids = [r.execId for r in ordered]
            if cursor in ids:
                ordered = ordered[ids.index(cursor) + 1 :]
        reports = fill_reports(ordered, self.category, self.symbols, self._now())
        for row, report in zip(ordered, reports, strict=True):
            self._on_fill(row, report)  # a fill the stream has not told yet goes on it now
        return reports

    async def balances(self) -> Balances:
        await self.connect()
        found, _ = await self.rest.get(
            "/account/wallet-balance", {"accountType": "UNIFIED"}, WalletBalance, category=""
        )
        assets: dict[str, Balance] = {}
        for account in found.rows:
            for coin in account.coin:
                total = _dec(coin.walletBalance)
                locked = _dec(coin.locked)
                assets[coin.coin] = Balance(free=total - locked, locked=locked)
        return Balances(assets=dict(sorted(assets.items())))

    async def positions(self) -> Positions:
        if self.category != "linear":
            return Positions()  # Bybit reports spot holdings as wallet balances
        await self.connect()
        out: dict[str, PositionAmount] = {}
        for settle in sorted({self.symbols.to_venue(s).settle for s in self._engine_symbols()} or {"USDT"}):
            found, _ = await self.rest.get(
                "/position/list",
                {"category": "linear", "settleCoin": settle, "limit": "200"},
                PositionList,
                category="linear",
            )
            for row in found.rows:
                size = _dec(row.size)
                if not size or row.side not in ("Buy", "Sell"):
                    continue
                try:
                    symbol = self.symbols.to_engine("linear", row.symbol)
                except UnknownVenueSymbolError:
                    symbol = f"bybit-linear:{row.symbol}"
                qty = size if row.side == "Buy" else -size
                out[symbol] = PositionAmount(qty=qty, avg_px=_dec(row.avgPrice))
        return Positions(positions=dict(sorted(out.items())))

    # ── reconciliation ──

    async def reconcile(self) -> None:
        """After a reconnect: the orders still working here are queried (a cancel or expiry the
        stream missed is reported) and the executions since the last one seen are fetched (each
        missed fill goes on the stream once)."""
        self.reconciles += 1
        cursor = self._last_exec[1] if self._last_exec is not None else None
        await self.fills_since(cursor)
        still_open = {r.client_order_id for r in await self.open_orders()}
        for cid, order in list(self._orders.items()):
            if not order.working or cid in still_open or order.accepted is None:
                continue
            rows: list[OrderRow] = []
            for path in ("/order/realtime", "/order/history"):
                # linear lists need a settle coin (or symbol) besides the category
                params = {**self._scopes()[0], "orderLinkId": cid}
                found, _ = await self.rest.get(path, params, OrderList, category=self.category)
                rows = [r for r in found.rows if r.orderLinkId == cid]
                if rows:
                    break
            for r in rows[-1:]:
                for event in order_events([r], self._now()):
                    self._on_order_event(event, r)

    # ── the private stream ──

    def _on_frame(self, frame: Frame, raw: bytes) -> None:
        topic = frame.topic
        ts_init = self._now()
        if topic in ("order", "order.spot", "order.linear"):
            for row in _decode(_orders_dec, frame.data, "order data"):
                if not self._mine(row.category, row.symbol):
                    continue
                for event in order_events([row], ts_init):
                    self._on_order_event(event, row)
        elif topic in ("execution", "execution.spot", "execution.linear"):
            for exec_row in _decode(_execs_dec, frame.data, "execution data"):
                if exec_row.execType != "Trade" or not self._mine(exec_row.category, exec_row.symbol):
                    continue
                (fill,) = fills([exec_row], self.symbols, ts_init, self.category)
                self._on_fill(exec_row, fill)

    def _on_order_event(self, event: Event, row: OrderRow) -> None:
        cid = row.orderLinkId or row.orderId
        order = self._orders.setdefault(cid, _Order(quantity=row.qty))
        order.venue_order_id = order.venue_order_id or row.orderId
        if isinstance(event, OrderAccepted):
            if order.accepted is not None or order.ended is not None or order.cum_qty > 0:
                return  # the order is past its ack already: a stale message moves nothing back
            order.accepted = event
            self._publish(event)
        elif isinstance(event, OrderRejected | OrderCanceled | OrderExpired):
            if order.ended is not None:
                return
            self._end(order, event)

    def _on_fill(self, row: ExecRow, fill: OrderFilled) -> None:
        if row.execId in self._seen_execs:
            return  # one execId is one fill, however often it is told
        self._seen_execs.add(row.execId)
        if self._last_exec is None or row.execTime >= self._last_exec[0]:
            self._last_exec = (row.execTime, row.execId)
        cid = fill.client_order_id
        order = self._orders.setdefault(cid, _Order(quantity=_opt_dec(row.orderQty)))
        if order.accepted is None and order.ended is None and row.orderLinkId:
            # a fill proves the order was accepted: tell that first, so the stream stays in order
            order.accepted = OrderAccepted(
                ts_event=fill.ts_event,
                ts_init=fill.ts_init,
                client_order_id=cid,
                venue_order_id=row.orderId,
            )
            self._publish(order.accepted)
        order.cum_qty = max(order.cum_qty, fill.cum_qty)  # cumulative quantity only grows
        self._publish(fill)

    def _fold_report(self, report: OrderStatusReport) -> None:
        order = self._orders.get(report.client_order_id)
        if order is not None:
            order.cum_qty = max(order.cum_qty, report.filled_qty)

    def _on_stream_failure(self, exc: BaseException) -> None:
        self._out.fail(exc)

    # ── helpers ──

    def _publish(self, event: ExecutionEvent) -> None:
        if not self._closed:
            self._out.put(event)

    def _end(self, order: _Order, event: _Ended) -> _Ended:
        order.ended = event
        self._publish(event)
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

    def _instrument(self, venue: str, symbol: str) -> BybitInstrument:
        if venue != self.venue:
            raise ValueError(f"a command for venue {venue!r} reached the {self.venue!r} client")
        ins = self.symbols.to_venue(symbol)
        if ins.category != self.category:
            raise UnknownVenueSymbolError(f"{symbol!r} is not a bybit {self.category} symbol")
        return ins

    def _instrument_or_none(self, symbol: str) -> BybitInstrument | None:
        ins = self.symbols.to_venue(symbol)
        return ins if ins.category == self.category else None

    def _engine_symbols(self) -> list[str]:
        return [f"bybit-{self.category}:{n}" for n in self._names]

    def _filter(self, name: str) -> InstrumentFilter:
        found = self.filters.get(name)
        if found is None:
            found = InstrumentFilter.from_spec(name, spec_for(f"bybit-{self.category}:{name}"))
            self.filters[name] = found
        return found

    def _mine(self, category: str, name: str) -> bool:
        if category and category != self.category:
            return False
        try:
            self.symbols.instrument(self.category, name)
        except UnknownVenueSymbolError:
            return False
        return True

    def _scopes(self) -> list[dict[str, str]]:
        if self.category == "spot":
            return [{"category": "spot"}]
        settles = sorted({self.symbols.to_venue(s).settle for s in self._engine_symbols()} or {"USDT"})
        return [{"category": "linear", "settleCoin": s} for s in settles]

    async def _pages(self, path: str, params: dict[str, str]) -> list[OrderRow]:
        rows: list[OrderRow] = []
        page = ""
        for _ in range(_MAX_PAGES):
            ask = {**params, "limit": "50"}
            if page:
                ask["cursor"] = page
            found, _ = await self.rest.get(path, ask, OrderList, category=self.category)
            rows.extend(found.rows)
            page = found.nextPageCursor
            if not page or not found.rows:
                break
        return rows


def _engine_symbols(symbols: Iterable[str] | SymbolMap) -> list[str]:
    if isinstance(symbols, SymbolMap):
        return [ins.symbol for ins in symbols.instruments()]
    return list(symbols)


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


def _dec(text: str) -> Decimal:
    value = _opt_dec(text)
    return value if value is not None else _ZERO


def _opt_dec(text: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise VenueMessageError(f"bybit number {text!r} is not a decimal") from None
    return value if value.is_finite() else None


def _decode(decoder: msgspec.json.Decoder[_T], raw: msgspec.Raw, what: str) -> _T:
    try:
        return decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise VenueMessageError(f"bybit {what} malformed: {exc}") from None
