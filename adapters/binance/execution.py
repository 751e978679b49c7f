""":class:`BinanceExecutionClient`: the execution port (:class:`adapters.ports.ExecutionClient`) on
Binance spot (``/api/v3``) or USD-M futures (``/fapi``).

**Submit** sends the engine's client id as ``newClientOrderId``, once. The price and quantity are
rounded to the symbol's tick and step from ``exchangeInfo`` (:mod:`adapters.binance.filters`); an
order that cannot be made valid raises :class:`~adapters.venue_errors.InstrumentFilterError` (VT809)
and is not sent. The answer:

* success → ``OrderAccepted``, then the fills of a spot FULL response, then the end of an IOC/FOK;
* a refusal classified ``rejected`` (and ``halt``/``back_off``: the venue did not process it) →
  ``OrderRejected`` with Binance's code;
* a timeout, a lost connection, a 5xx or an ``unknown`` code (-1007) → ``OrderStatusUnknown``; the
  create is never retried (the caller resolves it by query, :func:`adapters.transport.resolve_unknown`);
* a duplicate client id (-2010 "Duplicate order sent.", USD-M -4116) → the order is queried and its
  ``OrderStatusReport`` returned: the venue already holds the order, which is not a failure;
* -1021 (timestamp outside the receive window) → the clock is resynced and the order queried; the
  report when the venue has it, else ``OrderStatusUnknown``. Never resent.

**The stream** (:meth:`events`) carries the call answers and the user data stream (spot: the
WebSocket API's ``userDataStream.subscribe.signature``, or a listen key; USD-M: a listen key on
``/private/ws``), through one gate that keeps every fact once and in order:

* events the user stream delivers for an order while a submit or cancel of it is in flight are held
  until the REST answer is published, so the answer comes first and its duplicate is dropped;
* a fill is published once per (symbol, trade id), whoever reports it (FULL response, stream,
  ``fills_since``, reconciliation); the order's cumulative quantity only grows;
* an order that ended (canceled, expired, rejected) takes no late ack or second end: a stale report
  never moves an order backwards.

**After every reconnect** of the user stream the client reconciles: the trades since the last trade
id seen per symbol (each missed fill published exactly once through the gate), and a status report
for every order it believed open that the venue no longer lists.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import random
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Literal, TypeVar

import msgspec
from websockets.asyncio.client import ClientConnection

from adapters.binance.config import BinanceConfig
from adapters.binance.errors import VenueRequestError
from adapters.binance.filters import InstrumentFilters, format_decimal, parse_exchange_info
from adapters.binance.parsers import SPOT, USDM, BinanceParser, StreamControl, SymbolMap
from adapters.binance.rest import BinanceRest, Market, OutcomeUnknownError, Params
from adapters.binance.schemas import (
    FuturesBalance,
    ListenKey,
    PositionRisk,
    RestOrder,
    SpotAccount,
    UserTrade,
)
from adapters.binance.signing import sign
from adapters.binance.ws import BinanceWsError, WsConnection
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
    VenueHaltedError,
    VenueMessageError,
)
from engines.model.commands import CancelOrder, QueryOrder, SubmitOrder
from engines.model.enums import OrderType, ReportedStatus, Side, TimeInForce
from engines.model.events import (
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

__all__ = ["BinanceExecutionClient", "SubmitResult"]

SubmitResult = SubmitAnswer | OrderStatusReport
"""What :meth:`BinanceExecutionClient.submit` answers: the port's answers, and the venue's report of
the order when the client id was a duplicate (the venue already holds that order)."""

_T = TypeVar("_T")
_ZERO: Final = Decimal(0)
_TRADES_PAGE: Final = 1000
_MAX_PAGES: Final = 50  # 50,000 trades per symbol per call: a bound, not a limit anyone should reach
_ORDERS: Final = msgspec.json.Decoder(list[RestOrder])
_TRADES: Final = msgspec.json.Decoder(list[UserTrade])
_SPOT_ACCOUNT: Final = msgspec.json.Decoder(SpotAccount)
_FUTURES_BALANCES: Final = msgspec.json.Decoder(list[FuturesBalance])
_POSITIONS: Final = msgspec.json.Decoder(list[PositionRisk])
_LISTEN_KEY: Final = msgspec.json.Decoder(ListenKey)
_TERMINAL: Final = frozenset(
    {ReportedStatus.FILLED, ReportedStatus.CANCELED, ReportedStatus.REJECTED, ReportedStatus.EXPIRED}
)
_SPOT_TYPES: Final = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP: "STOP_LOSS",
    OrderType.STOP_LIMIT: "STOP_LOSS_LIMIT",
}
_USDM_TYPES: Final = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP: "STOP_MARKET",
    OrderType.STOP_LIMIT: "STOP",
}
_TIFS: Final = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}

UserStreamKind = Literal["ws-api", "listen-key", "none"]


@dataclass
class _Order:
    """What the gate knows of one order (by client id)."""

    instrument: str
    venue_order_id: str = ""
    accepted: bool = False
    ended: bool = False
    cum_qty: Decimal = _ZERO
    # the order's terms when this client sent it (a reconciliation query names the order by them)
    side: Side = Side.BUY
    order_type: OrderType = OrderType.LIMIT
    quantity: Decimal = _ZERO


@dataclass
class _Gate:
    """Keeps the stream's facts once and in order (see the module doc)."""

    orders: dict[str, _Order] = field(default_factory=dict)
    trades: set[tuple[str, str]] = field(default_factory=set)
    inflight: dict[str, list[ExecutionEvent]] = field(default_factory=dict)


def _now() -> int:
    return time.time_ns()


class BinanceExecutionClient:
    """Orders on one Binance market for the ``symbols`` of a run (engine symbols
    ``binance-spot:BTCUSDT``, or the venue's ``BTCUSDT``).

    :meth:`start` syncs the clock, loads the instrument filters and opens the user data stream; the
    client also works as ``async with``. ``venue`` is the name on the engine's commands. Timeouts:
    ``timeout_s`` per REST request, ``connect_timeout_s`` per WebSocket connect; ``keepalive_s`` is
    the listen key renewal period (Binance: every 30 min, keys expire after 60).
    """

    def __init__(
        self,
        config: BinanceConfig,
        api_key: str,
        api_secret: str,
        market: Market = "spot",
        symbols: Iterable[str] = (),
        *,
        venue: str = "binance",
        rest: BinanceRest | None = None,
        timeout_s: float = 5.0,
        connect_timeout_s: float = 10.0,
        keepalive_s: float = 1800.0,
        user_stream: UserStreamKind = "ws-api",
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.market: Market = market
        self.venue = venue
        name = SPOT if market == "spot" else USDM
        given = list(symbols)
        self.symbols = SymbolMap(name, (s.split(":", 1)[1] if ":" in s else s for s in given))
        self.parser = BinanceParser(self.symbols, venue)
        self.rest = rest or BinanceRest(
            config, market, api_key=api_key, api_secret=api_secret, timeout_s=timeout_s
        )
        self._api_key = api_key
        self._api_secret = api_secret
        self.prefix = self.rest.prefix
        self.filters: InstrumentFilters | None = None
        self.connect_timeout_s = connect_timeout_s
        self.keepalive_s = keepalive_s
        self.user_stream_kind: UserStreamKind = (
            "listen-key" if market == "usdm" and user_stream == "ws-api" else user_stream
        )
        self._backoff = backoff
        self._rng = rng
        self._gate = _Gate()
        self._cids: dict[int, str] = {}  # Binance order id → client id
        self._last_trade: dict[str, int] = {}  # venue symbol → the highest trade id published
        self._out: EventStream[ExecutionEvent] = EventStream()
        self._closed = False
        self._ws: WsConnection | None = None
        self._listen_key: str | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        #: reconciliations run after reconnects, and the fills they found that the stream had missed
        self.reconciles = 0
        self.recovered_fills = 0
        self.last_error = ""

    # ── lifecycle ──

    async def start(self) -> None:
        """Sync the clock, load the filters, mark the trade cursors, open the user data stream."""
        await self.rest.sync_time()
        if self.filters is None:
            body = await self.rest.request("GET", f"{self.prefix}/exchangeInfo")
            self.filters = parse_exchange_info(body, self.symbols)
        for symbol in self.symbols.venue_symbols:
            rows = await self._trades(symbol, [("limit", 1)])
            if rows:
                self._last_trade[symbol] = max(r.id for r in rows)
        if self.user_stream_kind != "none":
            self._ws = WsConnection(
                f"{self.venue}-{self.market}-user",
                self._user_url,
                on_message=self._on_user_frame,
                on_open=self._on_user_open if self.user_stream_kind == "ws-api" else None,
                on_reconnect=self.reconcile,
                connect_timeout_s=self.connect_timeout_s,
                stale_after_s=None,  # a user stream is quiet until an order moves: pings decide
                backoff=self._backoff,
                rng=self._rng,
            )
            await self._ws.start(timeout_s=self.connect_timeout_s)
            if self.user_stream_kind == "listen-key":
                self._keepalive = asyncio.create_task(self._keep_alive(), name=f"{self.venue}-keepalive")

    async def __aenter__(self) -> BinanceExecutionClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def user_stream(self) -> WsConnection | None:
        return self._ws

    async def close(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive
            self._keepalive = None
        if self._ws is not None:
            await self._ws.close()
        await self.rest.close()
        if not self._closed:
            self._closed = True
            for held in self._gate.inflight.values():
                for event in held:
                    self._pass(event)
            self._gate.inflight.clear()
            self._out.end()

    def account_stream(self) -> tuple[bool, int]:
        """The user data stream's health for ``/readyz`` and ``/metrics``: (connected, reconnects)."""
        ws = self._ws
        if ws is None:
            return self.user_stream_kind == "none", 0
        return ws.connected, ws.reconnects

    def events(self) -> AsyncIterator[ExecutionEvent]:
        return aiter(self._out)

    # ── orders ──

    async def submit(self, cmd: SubmitOrder) -> Sequence[SubmitResult]:
        self._check_venue(cmd.venue)
        symbol = self.symbols.venue_symbol(cmd.instrument)
        ts = _now()
        params = self._order_params(cmd, symbol)
        if isinstance(params, OrderRejected):
            self._publish([params])
            return [params]
        answers: list[SubmitResult] = []
        ends: list[ExecutionEvent] = []
        self._gate.inflight.setdefault(cmd.client_order_id, [])
        self._gate.orders.setdefault(
            cmd.client_order_id,
            _Order(
                instrument=cmd.instrument, side=cmd.side, order_type=cmd.order_type, quantity=cmd.quantity
            ),
        )
        try:
            try:
                body = await self.rest.request("POST", f"{self.prefix}/order", params, signed=True)
            except OutcomeUnknownError as exc:
                answers.append(self._unknown(cmd.client_order_id, f"submit: {exc.cause}"))
            except (VenueHaltedError, RateBudgetError) as exc:
                answers.append(
                    OrderRejected(
                        ts_event=ts,
                        ts_init=_now(),
                        client_order_id=cmd.client_order_id,
                        reason=f"not sent: {exc.message}",
                        code=exc.code,
                    )
                )
            except VenueRequestError as exc:
                answers.extend(await self._submit_refused(cmd, exc))
            else:
                try:
                    order = self.parser.rest_order(body)
                    self._learn(order)
                    for event in self.parser.new_order_events(order, _now()):
                        if isinstance(event, OrderCanceled | OrderExpired):
                            ends.append(event)  # an IOC/FOK's end: on the stream, not an answer
                        else:
                            answers.append(event)
                except VenueMessageError as exc:
                    answers.append(self._unknown(cmd.client_order_id, f"submit answer unreadable: {exc}"))
        finally:
            held = self._gate.inflight.pop(cmd.client_order_id, [])
            self._publish(answers)
            self._publish(ends)
            self._publish(held)
        return answers

    async def _submit_refused(self, cmd: SubmitOrder, exc: VenueRequestError) -> list[SubmitResult]:
        cid = cmd.client_order_id
        if exc.outcome in (Outcome.DUPLICATE, Outcome.CLOCK):
            what = "duplicate client id" if exc.outcome is Outcome.DUPLICATE else "timestamp refused (-1021)"
            try:
                report = await self._query(_query_of(cmd), publish=False)
            except (
                VenueRequestError,
                TimeoutError,
                VenueHaltedError,
                RateBudgetError,
                VenueMessageError,
            ) as err:
                return [self._unknown(cid, f"{what}; its query failed: {err}")]
            if report.status is ReportedStatus.NOT_FOUND and exc.outcome is Outcome.CLOCK:
                return [self._unknown(cid, f"{what}: clock resynced, the venue has no such order yet")]
            return [report]
        if exc.outcome is Outcome.UNKNOWN:
            return [self._unknown(cid, f"submit: {exc.message}")]
        return [
            OrderRejected(
                ts_event=_now(),
                ts_init=_now(),
                client_order_id=cid,
                reason=exc.venue_msg or str(exc.outcome),
                code="" if exc.venue_code is None else str(exc.venue_code),
            )
        ]

    def _order_params(self, cmd: SubmitOrder, symbol: str) -> Params | OrderRejected:
        types = _SPOT_TYPES if self.market == "spot" else _USDM_TYPES
        tif = _TIFS.get(cmd.time_in_force)
        # only orders that rest take a time in force; a market order's (DAY from a portfolio) is moot
        if tif is None and cmd.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            return OrderRejected(
                ts_event=_now(),
                ts_init=_now(),
                client_order_id=cmd.client_order_id,
                reason=f"binance has no time in force {cmd.time_in_force}; not sent",
                code="unsupported",
            )
        if self.filters is None:
            raise RuntimeError("BinanceExecutionClient.start() was not awaited: no instrument filters")
        qty, price, trigger = self.filters.get(symbol).apply(
            side=cmd.side,
            order_type=cmd.order_type,
            qty=cmd.quantity,
            price=cmd.price,
            trigger_price=cmd.trigger_price,
        )
        params: list[tuple[str, str | int]] = [
            ("symbol", symbol),
            ("side", "BUY" if cmd.side is Side.BUY else "SELL"),
            ("type", types[cmd.order_type]),
            ("quantity", format_decimal(qty)),
        ]
        if cmd.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            if price is None:
                return OrderRejected(
                    ts_event=_now(),
                    ts_init=_now(),
                    client_order_id=cmd.client_order_id,
                    reason=f"a {cmd.order_type} order needs a price; not sent",
                    code="invalid",
                )
            assert tif is not None  # refused above for the types that rest
            params += [("timeInForce", tif), ("price", format_decimal(price))]
        if trigger is not None and cmd.order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
            params.append(("stopPrice", format_decimal(trigger)))
        if cmd.reduce_only and self.market == "usdm":
            params.append(("reduceOnly", "true"))
        params.append(("newClientOrderId", cmd.client_order_id))
        # FULL returns the fills made on entry (spot); USD-M knows ACK and RESULT only
        params.append(("newOrderRespType", "FULL" if self.market == "spot" else "RESULT"))
        return params

    async def cancel(self, cmd: CancelOrder) -> Sequence[CancelAnswer]:
        self._check_venue(cmd.venue)
        symbol = self.symbols.venue_symbol(cmd.instrument)
        cid = cmd.client_order_id
        answers: list[CancelAnswer] = []
        self._gate.inflight.setdefault(cid, [])
        try:
            try:
                body = await self.rest.request(
                    "DELETE",
                    f"{self.prefix}/order",
                    [("symbol", symbol), ("origClientOrderId", cid)],
                    signed=True,
                )
            except OutcomeUnknownError as exc:
                answers.append(self._unknown(cid, f"cancel: {exc.cause}"))
            except (VenueHaltedError, RateBudgetError) as exc:
                answers.append(self._cancel_rejected(cid, f"not sent: {exc.message}"))
            except VenueRequestError as exc:
                reason = exc.venue_msg or str(exc.outcome)
                if exc.outcome is Outcome.CLOCK:
                    reason = f"{reason} (clock resynced; the cancel was not processed)"
                answers.append(self._cancel_rejected(cid, reason))
            else:
                try:
                    order = self.parser.rest_order(body)
                    self._learn(order)
                    for event in self.parser.cancel_events(order, _now()):
                        assert isinstance(event, OrderCanceled | OrderExpired)
                        if isinstance(event, OrderCanceled):
                            answers.append(event)
                        else:  # it expired before the cancel reached it: the cancel found it ended
                            answers.append(self._cancel_rejected(cid, "the order had expired"))
                except VenueMessageError as exc:
                    answers.append(self._unknown(cid, f"cancel answer unreadable: {exc}"))
        finally:
            held = self._gate.inflight.pop(cid, [])
            self._publish(answers)
            self._publish(held)
        return answers

    def _cancel_rejected(self, cid: str, reason: str) -> OrderCancelRejected:
        return OrderCancelRejected(ts_event=_now(), ts_init=_now(), client_order_id=cid, reason=reason)

    def _unknown(self, cid: str, reason: str) -> OrderStatusUnknown:
        return OrderStatusUnknown(ts_event=_now(), ts_init=_now(), client_order_id=cid, reason=reason)

    async def query(self, cmd: QueryOrder) -> OrderStatusReport:
        self._check_venue(cmd.venue)
        return await self._query(cmd, publish=True)

    async def _query(self, cmd: QueryOrder, *, publish: bool) -> OrderStatusReport:
        symbol = self.symbols.venue_symbol(cmd.instrument)
        try:
            body = await self.rest.request(
                "GET",
                f"{self.prefix}/order",
                [("symbol", symbol), ("origClientOrderId", cmd.client_order_id)],
                signed=True,
            )
        except VenueRequestError as exc:
            if exc.venue_code != -2013:
                raise
            report = OrderStatusReport(
                ts_event=_now(),
                ts_init=_now(),
                client_order_id=cmd.client_order_id,
                venue=self.venue,
                instrument=cmd.instrument,
                side=cmd.side,
                order_type=cmd.order_type,
                quantity=cmd.quantity,
                status=ReportedStatus.NOT_FOUND,
                filled_qty=_ZERO,
                reason=exc.venue_msg,
            )
        else:
            order = self.parser.rest_order(body)
            self._learn(order)
            report = self.parser.status_report(order, _now())
        if publish:
            self._publish([report])
        return report

    # ── what the venue holds ──

    async def open_orders(self) -> Sequence[OrderStatusReport]:
        reports: list[tuple[int, OrderStatusReport]] = []
        for symbol in self.symbols.venue_symbols:
            body = await self.rest.request(
                "GET", f"{self.prefix}/openOrders", [("symbol", symbol)], signed=True
            )
            for order in _decode(_ORDERS, body, "open orders"):
                self._learn(order)
                reports.append((order.time or order.update_time, self.parser.status_report(order, _now())))
        reports.sort(key=lambda item: item[0])
        return [r for _, r in reports]

    async def fills_since(self, cursor: str | None) -> Sequence[FillReport]:
        if cursor is not None and not cursor.isdigit():
            raise ValueError(f"a binance trade id is a number, not {cursor!r}")
        fills: list[FillReport] = []
        for symbol in self.symbols.venue_symbols:
            fills += await self._fills_after(symbol, None if cursor is None else int(cursor))
        fills.sort(key=lambda f: (f.ts_event, int(f.trade_id)))
        self._publish(fills)
        return fills

    async def _fills_after(self, symbol: str, after: int | None) -> list[FillReport]:
        """The symbol's fills with trade id above ``after`` (every fill for None), each with the
        order's cumulative quantity after it."""
        rows: list[UserTrade] = []
        from_id = 0 if after is None else after + 1
        for _ in range(_MAX_PAGES):
            page = await self._trades(symbol, [("fromId", from_id), ("limit", _TRADES_PAGE)])
            rows += page
            if len(page) < _TRADES_PAGE:
                break
            from_id = max(r.id for r in page) + 1
        if not rows:
            return []
        order_ids = sorted({r.order_id for r in rows})
        for order_id in order_ids:
            if order_id not in self._cids:
                await self._learn_order(symbol, order_id)
        prior: dict[int, Decimal] = {}
        if after is not None:
            # the order's fills at or before the cursor are not in ``rows``: its cumulative quantity
            # must start from what they add up to, or every cum_qty would be understated
            for order_id in order_ids:
                first = min(r.id for r in rows if r.order_id == order_id)
                earlier = await self._trades(symbol, [("orderId", order_id)])
                prior[order_id] = sum((r.qty for r in earlier if r.id < first), _ZERO)
        result = self.parser.fill_reports(rows, _now(), self._cids, prior)
        return list(result.fills)

    async def _trades(self, symbol: str, extra: Params) -> list[UserTrade]:
        path = f"{self.prefix}/myTrades" if self.market == "spot" else f"{self.prefix}/userTrades"
        body = await self.rest.request("GET", path, [("symbol", symbol), *extra], signed=True)
        return _decode(_TRADES, body, "trade list")

    async def _learn_order(self, symbol: str, order_id: int) -> None:
        body = await self.rest.request(
            "GET", f"{self.prefix}/order", [("symbol", symbol), ("orderId", order_id)], signed=True
        )
        self._learn(self.parser.rest_order(body))

    def _learn(self, order: RestOrder) -> None:
        cid = order.orig_client_order_id if order.orig_client_order_id and self.market == "spot" else ""
        # a spot cancel answers with the cancel's own id in clientOrderId and the order's in orig
        self._cids[order.order_id] = cid or order.client_order_id

    async def balances(self) -> Balances:
        if self.market == "spot":
            body = await self.rest.request(
                "GET", "/api/v3/account", [("omitZeroBalances", "true")], signed=True
            )
            account = _decode(_SPOT_ACCOUNT, body, "account")
            return Balances(
                assets={
                    b.asset: Balance(free=b.free, locked=b.locked)
                    for b in account.balances
                    if b.free or b.locked
                }
            )
        body = await self.rest.request("GET", "/fapi/v2/balance", signed=True)
        return Balances(
            assets={
                b.asset: Balance(free=b.available_balance, locked=b.balance - b.available_balance)
                for b in _decode(_FUTURES_BALANCES, body, "balance")
                if b.balance or b.available_balance
            }
        )

    async def positions(self) -> Positions:
        if self.market == "spot":
            return Positions()
        body = await self.rest.request("GET", "/fapi/v2/positionRisk", signed=True)
        out: dict[str, PositionAmount] = {}
        for row in _decode(_POSITIONS, body, "position risk"):
            if not row.position_amt or row.symbol not in self.symbols.venue_symbols:
                continue
            instrument = self.symbols.instrument(row.symbol)
            held = out.get(instrument)
            qty = row.position_amt + (held.qty if held else _ZERO)
            out[instrument] = PositionAmount(qty=qty, avg_px=row.entry_price)
        return Positions(positions=dict(sorted(out.items())))

    # ── reconciliation ──

    async def reconcile(self) -> None:
        """What the stream may have missed while it was down: the trades after the last one seen per
        symbol, and the end of every order believed open that the venue no longer lists."""
        self.reconciles += 1
        found = 0
        for symbol in self.symbols.venue_symbols:
            fills = await self._fills_after(symbol, self._last_trade.get(symbol))
            before = len(self._gate.trades)
            self._publish(fills)
            found += len(self._gate.trades) - before
        self.recovered_fills += found
        listed = {r.client_order_id for r in await self.open_orders()}
        for cid, order in list(self._gate.orders.items()):
            if (
                order.ended
                or not order.accepted
                or not order.instrument
                or cid in listed
                or cid in self._gate.inflight
            ):
                continue
            ask = QueryOrder(
                ts_event=_now(),
                ts_init=_now(),
                strategy="reconcile",
                venue=self.venue,
                client_order_id=cid,
                instrument=order.instrument,
                side=order.side,
                order_type=order.order_type,
                quantity=order.quantity,
            )
            try:
                await self._query(ask, publish=True)
            except _READ_FAILURES as exc:  # the next reconnect (or the daemon's own check) asks again
                self.last_error = f"reconcile query {cid}: {exc}"

    # ── the user data stream ──

    async def _user_url(self) -> str:
        urls = self.config.urls
        if self.user_stream_kind == "ws-api":
            return urls.spot_ws_api
        key = await self._new_listen_key()
        if self.market == "spot":
            return f"{urls.spot_ws_stream}/ws/{key}"
        return f"{urls.usdm_ws}/private/ws?listenKey={key}"

    def _listen_key_path(self) -> str:
        return "/api/v3/userDataStream" if self.market == "spot" else "/fapi/v1/listenKey"

    async def _new_listen_key(self) -> str:
        body = await self.rest.request("POST", self._listen_key_path(), keyed=True)
        self._listen_key = _decode(_LISTEN_KEY, body, "listen key").listen_key
        return self._listen_key

    async def _keep_alive(self) -> None:
        """Renew the listen key every ``keepalive_s``; a key the venue no longer knows means a new key
        and a new connection (the stream reconciles after it)."""
        while True:
            await asyncio.sleep(self.keepalive_s)
            key = self._listen_key
            if key is None:
                continue
            params: Params = [("listenKey", key)] if self.market == "spot" else []
            try:
                await self.rest.request("PUT", self._listen_key_path(), params, keyed=True)
            except (VenueRequestError, TimeoutError, VenueHaltedError, RateBudgetError) as exc:
                self.last_error = f"listen key keep-alive: {exc}"
                if isinstance(exc, VenueRequestError) and exc.outcome is Outcome.REJECTED:
                    self._listen_key = None
                    if self._ws is not None:
                        self._ws.reconnect("listen key refused on keep-alive")

    async def _on_user_open(self, ws: ClientConnection) -> None:
        """Subscribe to the account's user data on the spot WebSocket API (signed with HMAC)."""
        params: dict[str, Any] = {
            "apiKey": self._api_key,
            "recvWindow": self.config.recv_window_ms,
            "timestamp": self.rest.clock.now_ms(),
        }
        payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
        params["signature"] = sign(self._api_secret, payload)
        request_id = f"sub-{next(self._ids)}"
        await ws.send(
            msgspec.json.encode(
                {"id": request_id, "method": "userDataStream.subscribe.signature", "params": params}
            ).decode()
        )
        while True:
            frame = await ws.recv()
            data = frame.encode() if isinstance(frame, str) else frame
            answer = _ANY.decode(data)
            if isinstance(answer, dict) and answer.get("id") == request_id:
                if answer.get("status") != 200:
                    raise BinanceWsError(f"binance user data subscription refused: {data[:300]!r}")
                return
            self._on_user_frame(data)

    def _on_user_frame(self, data: bytes) -> None:
        item = self.parser.user_frame(data, _now())
        if item is None:
            return
        if isinstance(item, StreamControl):
            if item.kind == "error":
                self.last_error = f"user stream error: {item.detail}"
                return
            if item.kind == "listen_key_expired":
                self._listen_key = None
            if self._ws is not None:
                self._ws.reconnect(item.kind)
            return
        assert isinstance(item, ExecutionEvent)
        held = self._gate.inflight.get(item.client_order_id)
        if held is not None:
            held.append(item)
            return
        self._publish([item])

    # ── the gate ──

    def _publish(self, events: Iterable[ExecutionEvent]) -> None:
        for event in events:
            self._pass(event)

    def _pass(self, event: ExecutionEvent) -> None:
        gate = self._gate
        cid = event.client_order_id
        order = gate.orders.get(cid)
        if isinstance(event, OrderFilled):  # FillReport too
            key = (event.instrument, event.trade_id)
            if key in gate.trades:
                return
            gate.trades.add(key)
            symbol = self.symbols.venue_symbol(event.instrument)
            if event.trade_id.isdigit():
                self._last_trade[symbol] = max(self._last_trade.get(symbol, -1), int(event.trade_id))
            if order is None:
                order = gate.orders[cid] = _Order(instrument=event.instrument, accepted=True)
            order.instrument = order.instrument or event.instrument
            order.cum_qty = max(order.cum_qty, event.cum_qty)
        elif isinstance(event, OrderAccepted):
            if (
                order is not None
                and order.venue_order_id == event.venue_order_id
                and (order.accepted or order.ended)
            ):
                return
            if order is None or (order.venue_order_id and order.venue_order_id != event.venue_order_id):
                # a new order under an id whose earlier order ended (spot allows reuse after it), or
                # one this client did not send (its instrument is learnt from a later report)
                order = gate.orders[cid] = (
                    _Order(instrument="")
                    if order is None
                    else dataclasses.replace(order, venue_order_id="", ended=False, cum_qty=_ZERO)
                )
            order.accepted = True
            order.venue_order_id = event.venue_order_id
        elif isinstance(event, OrderCanceled | OrderExpired | OrderRejected):
            if order is not None:
                if order.ended:
                    return
                order.ended = True
        elif isinstance(event, OrderStatusReport) and event.status is not ReportedStatus.NOT_FOUND:
            if order is None:
                order = gate.orders[cid] = _Order(instrument=event.instrument)
            order.instrument = order.instrument or event.instrument
            if event.venue_order_id and not order.venue_order_id:
                order.venue_order_id = event.venue_order_id
            order.accepted = True
            order.cum_qty = max(order.cum_qty, event.filled_qty)  # never backwards
            if event.status in _TERMINAL:
                order.ended = True
        if not self._closed:
            self._out.put(event)

    def _check_venue(self, venue: str) -> None:
        if venue != self.venue:
            raise ValueError(f"a command for venue {venue!r} reached the {self.venue!r} client")


_ANY: Final = msgspec.json.Decoder()
_READ_FAILURES: Final = (
    VenueRequestError,
    TimeoutError,
    VenueHaltedError,
    RateBudgetError,
    VenueMessageError,
)


def _decode(decoder: msgspec.json.Decoder[_T], body: bytes, what: str) -> _T:
    try:
        return decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise VenueMessageError(f"binance {what} malformed ({exc}): {body[:200]!r}") from None


def _query_of(cmd: SubmitOrder) -> QueryOrder:
    return QueryOrder(
        ts_event=_now(),
        ts_init=_now(),
        strategy=cmd.strategy,
        venue=cmd.venue,
        client_order_id=cmd.client_order_id,
        instrument=cmd.instrument,
        side=cmd.side,
        order_type=cmd.order_type,
        quantity=cmd.quantity,
    )
