"""The Binance emulator's WebSocket side: market streams, the legacy listenKey user streams, and the
spot WebSocket API's ``userDataStream.subscribe.signature``. See :mod:`adapters.binance.emulator`.

Every message is encoded when the exchange reports the change (the order record moves on after it),
then queued to each connection's writer. The fault dice decide per message and per connection:
``drop-ws`` closes the connection instead of sending, ``dup-fill`` sends a TRADE event twice,
``out-of-order`` holds an order's NEW event back until its next event (or a short while) has gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final
from urllib.parse import urlencode

import msgspec
from aiohttp import WSMsgType, web

from adapters.binance.emulator_rest import (
    STATE_KEY,
    EmulatorState,
    ListenKey,
    Market,
    fmt,
    market_of_symbol,
    now_ms,
)
from adapters.binance.signing import verify
from adapters.emulator.exchange import MarketEvent, OrderRecord, OrderState, TradeRecord
from engines.model.enums import Side
from engines.model.events import QuoteTick, TradeTick

__all__ = ["HUB_KEY", "StreamHub", "add_ws_routes"]

log = logging.getLogger(__name__)

_ZERO: Final = Decimal(0)
_QUEUE_MAX: Final = 10_000
#: how long an out-of-order NEW waits for the order's next event before it is sent anyway
_HOLD_S: Final = 0.3
_HEARTBEAT_S: Final = 20.0


class _Conn:
    """One WebSocket connection's outgoing side: a bounded queue and its writer."""

    def __init__(self, ws: web.WebSocketResponse, hub: StreamHub) -> None:
        self.ws = ws
        self.hub = hub
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(_QUEUE_MAX)
        self.closed = False
        #: a ``stall-ws`` fault: open, silent, until the client gives up on it
        self.stalled = False
        self.writer = asyncio.create_task(self._write(), name="binance-emulator-ws-writer")

    def roll(self, kind: str) -> bool:
        return self.hub.state.exchange.faults.roll(kind)

    def put(self, text: str) -> None:
        if self.closed or self.stalled:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:  # a consumer this slow is cut off, as Binance does
            self.abort()

    def send(self, obj: Any) -> None:
        """Queue a message unless the ``drop-ws`` dice close the connection instead."""
        if self.closed:
            return
        if self.roll("drop-ws"):
            self.abort()
            return
        if self.roll("stall-ws"):
            self.stalled = True
            return
        self.put(msgspec.json.encode(obj).decode())

    def finish(self) -> None:
        """Close after what is queued has been sent."""
        if not self.closed:
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(None)

    def abort(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.writer.cancel()
        asyncio.get_running_loop().create_task(self.ws.close())

    async def _write(self) -> None:
        try:
            while True:
                text = await self.queue.get()
                if text is None:
                    break
                await self.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            pass
        finally:
            self.closed = True
            if not self.ws.closed:
                with contextlib.suppress(Exception):
                    await self.ws.close()


@dataclass(eq=False)
class _UserSub:
    conn: _Conn
    api_key: str
    market: Market
    #: the WebSocket API subscription id (events wrapped ``{"subscriptionId", "event"}``), or None
    subscription_id: int | None = None
    listen_key: str | None = None
    held: dict[int, tuple[str, asyncio.TimerHandle]] = field(default_factory=dict)

    def wrap(self, event: dict[str, Any]) -> Any:
        if self.subscription_id is None:
            return event
        return {"subscriptionId": self.subscription_id, "event": event}

    def deliver(self, event: dict[str, Any], order_id: int | None, kind: str) -> None:
        conn = self.conn
        if conn.closed:
            return
        if conn.roll("drop-ws"):
            conn.abort()
            return
        text = msgspec.json.encode(self.wrap(event)).decode()
        if kind == "NEW" and order_id is not None and conn.roll("out-of-order"):
            handle = asyncio.get_running_loop().call_later(_HOLD_S, self._release, order_id)
            self.held[order_id] = (text, handle)
            return
        conn.put(text)
        if kind == "TRADE" and conn.roll("dup-fill"):
            conn.put(text)
        if order_id is not None:
            self._release(order_id)

    def _release(self, order_id: int) -> None:
        held = self.held.pop(order_id, None)
        if held is not None:
            held[1].cancel()
            self.conn.put(held[0])


@dataclass(eq=False)
class _MarketSub:
    conn: _Conn
    market: Market
    combined: bool
    #: the stream types this path serves (USD-M splits them by path), None: every type
    kinds: frozenset[str] | None = None
    #: (lower-case symbol, lower-case stream type) → the name as subscribed
    streams: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, name: str) -> None:
        sym, _, kind = name.partition("@")
        if sym and kind:
            self.streams[(sym.lower(), kind.lower())] = name

    def remove(self, name: str) -> None:
        sym, _, kind = name.partition("@")
        self.streams.pop((sym.lower(), kind.lower()), None)


@dataclass
class _Kline:
    start_ms: int
    first_id: int
    last_id: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = _ZERO
    quote_volume: Decimal = _ZERO
    trades: int = 0
    taker_volume: Decimal = _ZERO
    taker_quote: Decimal = _ZERO


class StreamHub:
    """Fans the exchange's order changes and market events out to the connected streams."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.user_subs: list[_UserSub] = []
        self.market_subs: list[_MarketSub] = []
        self.conns: set[_Conn] = set()
        self.klines: dict[tuple[str, str], _Kline] = {}
        self._seq = 0
        self._unlisten: list[Callable[[], None]] = []
        exchange = state.exchange
        self._unlisten.append(exchange.on_market(self.on_market))
        for api_key in exchange.accounts:
            self._unlisten.append(exchange.on_user(api_key, self._user_listener(api_key)))

    def close(self) -> None:
        for stop in self._unlisten:
            stop()
        for conn in list(self.conns):
            conn.abort()

    # ── user data ──

    def _user_listener(self, api_key: str) -> Callable[[OrderRecord, TradeRecord | None], None]:
        def listener(record: OrderRecord, trade: TradeRecord | None) -> None:
            self.on_user(api_key, record, trade)

        return listener

    def on_user(self, api_key: str, record: OrderRecord, trade: TradeRecord | None) -> None:
        market = market_of_symbol(record.symbol)
        if market is None or record.state is OrderState.REJECTED:
            return  # a refused order is an HTTP error at Binance, never a stream event
        subs = [
            s for s in self.user_subs if s.api_key == api_key and s.market == market and not s.conn.closed
        ]
        self.state.meta_of(record)
        if not subs:
            return
        if trade is not None:
            kind = "TRADE"
        elif record.state is OrderState.NEW:
            kind = "NEW"
        else:
            kind = self.state.status(record)  # CANCELED or EXPIRED
        self._seq += 1
        extra: dict[str, Any] | None
        if market == "spot":
            event = self._execution_report(record, trade, kind)
            extra = self._account_position(api_key, record)
        else:
            event = self._order_trade_update(record, trade, kind)
            extra = self._account_update(api_key, record) if trade is not None else None
        for sub in subs:
            sub.deliver(event, record.order_id, kind)
            if extra is not None:
                sub.deliver(extra, None, "ACCOUNT")

    def _execution_report(self, record: OrderRecord, trade: TradeRecord | None, kind: str) -> dict[str, Any]:
        state = self.state
        meta = state.meta_of(record)
        m: Market = "spot"
        canceled = kind == "CANCELED"
        cancel_id = state.cancel_ids.get(record.order_id, "") if canceled else ""
        last_quote = trade.qty * trade.price if trade else _ZERO
        return {
            "e": "executionReport",
            "E": now_ms(),
            "s": record.symbol.partition(":")[2],
            "c": cancel_id or record.client_id,
            "S": "BUY" if record.side is Side.BUY else "SELL",
            "o": meta.wire_type,
            "f": meta.tif,
            "q": fmt(m, record.quantity),
            "p": fmt(m, record.price),
            "P": fmt(m, None),
            "F": fmt(m, None),
            "g": -1,
            "C": record.client_id if cancel_id else "",
            "x": kind,
            "X": state.status(record),
            "r": "NONE",
            "i": record.order_id,
            "l": fmt(m, trade.qty if trade else None),
            "z": fmt(m, trade.cum_qty if trade else record.filled_qty),
            "L": fmt(m, trade.price if trade else None),
            "n": fmt(m, trade.fee) if trade else "0",
            "N": trade.fee_asset if trade else None,
            "T": trade.time_ms if trade else record.updated_ms,
            "t": trade.trade_id if trade else -1,
            "I": self._seq,
            "w": record.state.is_open,
            "m": trade.is_maker if trade else False,
            "M": False,
            "O": record.created_ms,
            "Z": fmt(m, record.filled_quote),
            "Y": fmt(m, last_quote),
            "Q": fmt(m, meta.quote_order_qty),
            "W": record.created_ms,
            "V": "EXPIRE_MAKER",
        }

    def _account_position(self, api_key: str, record: OrderRecord) -> dict[str, Any]:
        spec = self.state.exchange.specs[record.symbol]
        balances = self.state.exchange.balances(api_key)
        rows = []
        for asset in (spec.base, spec.quote):
            free, locked = balances.get(asset, (_ZERO, _ZERO))
            rows.append({"a": asset, "f": fmt("spot", free), "l": fmt("spot", locked)})
        now = now_ms()
        return {"e": "outboundAccountPosition", "E": now, "u": now, "B": rows}

    def _order_trade_update(
        self, record: OrderRecord, trade: TradeRecord | None, kind: str
    ) -> dict[str, Any]:
        state = self.state
        meta = state.meta_of(record)
        m: Market = "usdm"
        order: dict[str, Any] = {
            "s": record.symbol.partition(":")[2],
            "c": record.client_id,
            "S": "BUY" if record.side is Side.BUY else "SELL",
            "o": meta.wire_type,
            "f": meta.tif,
            "q": fmt(m, record.quantity),
            "p": fmt(m, record.price),
            "ap": fmt(m, record.avg_px),
            "sp": "0",
            "x": kind,
            "X": state.status(record),
            "i": record.order_id,
            "l": fmt(m, trade.qty if trade else None),
            "z": fmt(m, trade.cum_qty if trade else record.filled_qty),
            "L": fmt(m, trade.price if trade else None),
            "T": trade.time_ms if trade else record.updated_ms,
            "t": trade.trade_id if trade else 0,
            "b": "0",
            "a": "0",
            "m": trade.is_maker if trade else False,
            "R": meta.reduce_only,
            "wt": "CONTRACT_PRICE",
            "ot": meta.wire_type,
            "ps": "BOTH",
            "cp": False,
            "rp": "0",
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "EXPIRE_MAKER",
            "pm": "NONE",
            "gtd": 0,
        }
        if trade is not None:
            order["N"] = trade.fee_asset
            order["n"] = fmt(m, trade.fee)
        now = now_ms()
        return {"e": "ORDER_TRADE_UPDATE", "E": now, "T": order["T"], "o": order}

    def _account_update(self, api_key: str, record: OrderRecord) -> dict[str, Any]:
        exchange = self.state.exchange
        spec = exchange.specs[record.symbol]
        free, locked = exchange.balances(api_key).get(spec.settle, (_ZERO, _ZERO))
        qty, entry = exchange.position(api_key, record.symbol)
        quote = exchange.last_quote.get(record.symbol)
        mark = (quote.bid + quote.ask) / 2 if quote else entry
        pnl = (mark - entry) * qty * spec.multiplier if qty else _ZERO
        now = now_ms()
        m: Market = "usdm"
        return {
            "e": "ACCOUNT_UPDATE",
            "E": now,
            "T": now,
            "a": {
                "m": "ORDER",
                "B": [
                    {"a": spec.settle, "wb": fmt(m, free + locked), "cw": fmt(m, free + locked), "bc": "0"}
                ],
                "P": [
                    {
                        "s": record.symbol.partition(":")[2],
                        "pa": fmt(m, qty),
                        "ep": fmt(m, entry),
                        "bep": fmt(m, entry),
                        "cr": "0",
                        "up": fmt(m, pnl),
                        "mt": "cross",
                        "iw": "0",
                        "ps": "BOTH",
                    }
                ],
            },
        }

    def expire_listen_keys(self) -> None:
        now = time.monotonic()
        for lk in [k for k in self.state.listen_keys.values() if k.expires_at <= now]:
            self.state.listen_keys.pop(lk.key, None)
            event = {"e": "listenKeyExpired", "E": now_ms(), "listenKey": lk.key}
            for sub in [s for s in self.user_subs if s.listen_key == lk.key]:
                sub.conn.put(msgspec.json.encode(event).decode())
                sub.conn.finish()

    # ── market data ──

    def on_market(self, event: MarketEvent) -> None:
        market = market_of_symbol(event.instrument)
        if market is None:
            return
        if self.state.exchange.faults.stale(event.instrument):
            return  # a stale-quote fault: this symbol's feed is held back, the rest flows
        wire = event.instrument.partition(":")[2]
        sym = wire.lower()
        messages: list[tuple[str, Any]] = []
        now = now_ms()
        if isinstance(event, QuoteTick):
            u = self.state.next_update_id(event.instrument)
            ticker: dict[str, Any] = {
                "u": u,
                "s": wire,
                "b": fmt(market, event.bid),
                "B": fmt(market, event.bid_size),
                "a": fmt(market, event.ask),
                "A": fmt(market, event.ask_size),
            }
            if market == "usdm":
                ticker = {"e": "bookTicker", "E": now, "T": event.ts_event // 1_000_000, **ticker}
            messages.append(("bookticker", ticker))
        elif isinstance(event, TradeTick):
            trade_id = (
                int(event.trade_id)
                if event.trade_id.isdigit()
                else self.state.exchange.next_market_trade_id()
            )
            t_ms = event.ts_event // 1_000_000
            buyer_maker = event.aggressor is Side.SELL
            trade: dict[str, Any] = {
                "e": "trade",
                "E": now,
                "s": wire,
                "t": trade_id,
                "p": fmt(market, event.price),
                "q": fmt(market, event.size),
                "T": t_ms,
                "m": buyer_maker,
                "M": True,
            }
            if market == "usdm":  # USD-M: no "M", the trade's kind in "X"
                del trade["M"]
                trade["X"] = "MARKET"
            messages.append(("trade", trade))
            messages.append(
                (
                    "aggtrade",
                    {
                        "e": "aggTrade",
                        "E": now,
                        "s": wire,
                        "a": trade_id,
                        "p": fmt(market, event.price),
                        "q": fmt(market, event.size),
                        "f": trade_id,
                        "l": trade_id,
                        "T": t_ms,
                        "m": buyer_maker,
                    },
                )
            )
            for interval, length_ms in KLINE_LENGTHS_MS.items():
                if interval == "1s" and market != "spot":
                    continue  # as at Binance: 1 s klines on spot only
                for body in self._kline(
                    market, wire, event, trade_id, now=now, interval=interval, length_ms=length_ms
                ):
                    messages.append((f"kline_{interval}", body))
        for sub in self.market_subs:
            if sub.market != market or sub.conn.closed:
                continue
            for kind, body in messages:
                if sub.kinds is not None and kind not in sub.kinds:
                    continue
                name = sub.streams.get((sym, kind))
                if name is not None:
                    sub.conn.send({"stream": name, "data": body} if sub.combined else body)

    def _kline(
        self,
        market: Market,
        wire: str,
        event: TradeTick,
        trade_id: int,
        *,
        now: int,
        interval: str,
        length_ms: int,
    ) -> list[dict[str, Any]]:
        """The kline updates a trade makes: the previous bar closed (``"x": true``) when the trade
        opens a new interval, then the current bar. Simplification: a bar closes on the first trade
        after its interval (Binance closes it on time even with no trade)."""
        t_ms = event.ts_event // 1_000_000
        start = t_ms - t_ms % length_ms
        out: list[dict[str, Any]] = []
        k = self.klines.get((event.instrument, interval))
        if k is not None and k.start_ms < start:
            out.append(
                self._kline_body(
                    market, wire, k, now=now, interval=interval, length_ms=length_ms, closed=True
                )
            )
        if k is None or k.start_ms < start:
            k = self.klines[(event.instrument, interval)] = _Kline(
                start, trade_id, trade_id, event.price, event.price, event.price, event.price
            )
        k.last_id = trade_id
        k.high, k.low, k.close = max(k.high, event.price), min(k.low, event.price), event.price
        k.volume += event.size
        k.quote_volume += event.size * event.price
        k.trades += 1
        if event.aggressor is Side.BUY:
            k.taker_volume += event.size
            k.taker_quote += event.size * event.price
        out.append(
            self._kline_body(market, wire, k, now=now, interval=interval, length_ms=length_ms, closed=False)
        )
        return out

    @staticmethod
    def _kline_body(
        market: Market, wire: str, k: _Kline, *, now: int, interval: str, length_ms: int, closed: bool
    ) -> dict[str, Any]:
        return {
            "e": "kline",
            "E": now,
            "s": wire,
            "k": {
                "t": k.start_ms,
                "T": k.start_ms + length_ms - 1,
                "s": wire,
                "i": interval,
                "f": k.first_id,
                "L": k.last_id,
                "o": fmt(market, k.open),
                "c": fmt(market, k.close),
                "h": fmt(market, k.high),
                "l": fmt(market, k.low),
                "v": fmt(market, k.volume),
                "n": k.trades,
                "x": closed,
                "q": fmt(market, k.quote_volume),
                "V": fmt(market, k.taker_volume),
                "Q": fmt(market, k.taker_quote),
                "B": "0",
            },
        }


#: the kline intervals the emulator streams, by Binance's name
KLINE_LENGTHS_MS: Final[dict[str, int]] = {"1s": 1_000, "1m": 60_000}

HUB_KEY: web.AppKey[StreamHub] = web.AppKey("binance_hub", StreamHub)


async def _open(request: web.Request) -> tuple[web.WebSocketResponse, _Conn]:
    ws = web.WebSocketResponse(heartbeat=_HEARTBEAT_S, autoping=True)
    await ws.prepare(request)
    hub = request.app[HUB_KEY]
    conn = _Conn(ws, hub)
    hub.conns.add(conn)
    return ws, conn


async def _closed(hub: StreamHub, conn: _Conn) -> None:
    hub.conns.discard(conn)
    hub.user_subs = [s for s in hub.user_subs if s.conn is not conn]
    hub.market_subs = [s for s in hub.market_subs if s.conn is not conn]
    if not conn.closed:
        conn.finish()
    # asyncio.wait neither raises the writer's end nor cancels it: it only bounds the flush
    await asyncio.wait({conn.writer}, timeout=1.0)
    if not conn.writer.done():
        conn.writer.cancel()


async def _market_stream(
    request: web.Request, market: Market, streams: list[str], combined: bool, kinds: frozenset[str] | None
) -> web.StreamResponse:
    hub = request.app[HUB_KEY]
    ws, conn = await _open(request)
    sub = _MarketSub(conn, market, combined, kinds)
    for name in streams:
        sub.add(name)
    hub.market_subs.append(sub)
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            _market_request(sub, msg.data)
    finally:
        await _closed(hub, conn)
    return ws


def _market_request(sub: _MarketSub, text: str) -> None:
    """Live ``SUBSCRIBE`` / ``UNSUBSCRIBE`` / ``LIST_SUBSCRIPTIONS`` / ``SET_PROPERTY`` / ``GET_PROPERTY``."""
    try:
        req = msgspec.json.decode(text)
    except msgspec.DecodeError:
        sub.conn.put(
            msgspec.json.encode({"error": {"code": 3, "msg": "Invalid JSON: expected value"}}).decode()
        )
        return
    if not isinstance(req, dict):
        sub.conn.put(msgspec.json.encode({"error": {"code": 3, "msg": "Invalid JSON"}}).decode())
        return
    req_id = req.get("id")
    method = req.get("method")
    params = req.get("params") or []
    result: Any = None
    if method == "SUBSCRIBE" and isinstance(params, list):
        for name in params:
            sub.add(str(name))
    elif method == "UNSUBSCRIBE" and isinstance(params, list):
        for name in params:
            sub.remove(str(name))
    elif method == "LIST_SUBSCRIPTIONS":
        result = list(sub.streams.values())
    elif (
        method == "SET_PROPERTY" and isinstance(params, list) and len(params) == 2 and params[0] == "combined"
    ):
        sub.combined = bool(params[1])
    elif method == "GET_PROPERTY" and params == ["combined"]:
        result = sub.combined
    else:
        body = {"error": {"code": 2, "msg": f"Invalid request: unknown method {method!r}"}, "id": req_id}
        sub.conn.put(msgspec.json.encode(body).decode())
        return
    sub.conn.put(msgspec.json.encode({"result": result, "id": req_id}).decode())


async def _user_stream(request: web.Request, lk: ListenKey) -> web.StreamResponse:
    hub = request.app[HUB_KEY]
    ws, conn = await _open(request)
    hub.user_subs.append(_UserSub(conn, lk.api_key, lk.market, listen_key=lk.key))
    try:
        async for _msg in ws:
            pass  # a user stream takes no requests
    finally:
        await _closed(hub, conn)
    return ws


def _unknown_key() -> web.Response:
    return web.json_response({"code": -1125, "msg": "This listenKey does not exist."}, status=400)


def _split_streams(text: str) -> list[str]:
    return [s for s in text.split("/") if s]


#: USD-M's path split: the book on ``/public``, trades and klines on ``/market``; a stream asked for on
#: the wrong path stays silent, as at Binance
_PATH_KINDS: Final[dict[str, frozenset[str] | None]] = {
    "": None,
    "/public": frozenset({"bookticker"}),
    "/market": frozenset({"trade", "aggtrade", "kline_1m"}),  # no kline_1s: spot only
}


def _ws_path(market: Market, root: str = "") -> Callable[[web.Request], Any]:
    async def handler(request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("name", "")
        if name and "@" not in name:
            lk = request.app[STATE_KEY].listen_keys.get(name)
            if lk is None:
                return _unknown_key()
            return await _user_stream(request, lk)
        return await _market_stream(request, market, _split_streams(name), False, _PATH_KINDS[root])

    return handler


def _stream_path(market: Market, root: str = "") -> Callable[[web.Request], Any]:
    async def handler(request: web.Request) -> web.StreamResponse:
        streams = _split_streams(request.query.get("streams", ""))
        return await _market_stream(request, market, streams, True, _PATH_KINDS[root])

    return handler


async def _private(request: web.Request) -> web.StreamResponse:
    key = request.match_info.get("name") or request.query.get("listenKey", "")
    lk = request.app[STATE_KEY].listen_keys.get(key)
    if lk is None:
        return _unknown_key()
    return await _user_stream(request, lk)


# ── the spot WebSocket API ──


def _ws_error(req_id: Any, status: int, code: int, msg: str) -> dict[str, Any]:
    return {"id": req_id, "status": status, "error": {"code": code, "msg": msg}}


def _subscribe_signature(
    state: EmulatorState, params: dict[str, Any]
) -> tuple[str, None] | tuple[None, dict[str, Any]]:
    """The API key of a valid ``userDataStream.subscribe.signature``, or the error to answer."""
    api_key = str(params.get("apiKey", ""))
    account = state.exchange.account(api_key) if api_key else None
    if account is None:
        return None, {"status": 401, "code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
    signature = params.get("signature")
    if not isinstance(signature, str) or not signature:
        return None, {"status": 400, "code": -1102, "msg": "Mandatory parameter 'signature' was not sent."}
    # the payload is every other parameter, sorted by name, as a query string
    payload = urlencode(sorted((str(k), str(v)) for k, v in params.items() if k != "signature"))
    if not verify(account.secret, payload, signature):
        return None, {"status": 400, "code": -1022, "msg": "Signature for this request is not valid."}
    raw_ts = str(params.get("timestamp", ""))
    if not raw_ts.isdigit():
        return None, {"status": 400, "code": -1102, "msg": "Mandatory parameter 'timestamp' was not sent."}
    ts = int(raw_ts)
    if ts > 10**14:
        ts //= 1000
    try:
        window = float(params.get("recvWindow", 5000))
    except (TypeError, ValueError):
        window = -1.0
    if not 0 < window <= 60_000:
        return None, {"status": 400, "code": -1131, "msg": "recvWindow must be less than 60000"}
    server = now_ms() + state.exchange.faults.clock_skew_ms(roll=False)  # a REST request draws skews
    if ts >= server + 1000 or server - ts > window:
        return None, {
            "status": 400,
            "code": -1021,
            "msg": "Timestamp for this request is outside of the recvWindow.",
        }
    return api_key, None


async def _ws_api(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB_KEY]
    state = request.app[STATE_KEY]
    ws, conn = await _open(request)
    next_subscription = 0
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            try:
                req = msgspec.json.decode(msg.data)
            except msgspec.DecodeError:
                req = None
            if not isinstance(req, dict):
                conn.put(msgspec.json.encode(_ws_error(None, 400, -1000, "Malformed request.")).decode())
                continue
            req_id = req.get("id")
            method = req.get("method")
            params = req.get("params") or {}
            reply: dict[str, Any]
            if not isinstance(params, dict):
                reply = _ws_error(req_id, 400, -1000, "'params' must be an object.")
            elif method == "ping":
                reply = {"id": req_id, "status": 200, "result": {}}
            elif method == "time":
                skew = hub.state.exchange.faults.clock_skew_ms(roll=False)
                reply = {"id": req_id, "status": 200, "result": {"serverTime": now_ms() + skew}}
            elif method == "userDataStream.subscribe.signature":
                api_key, error = _subscribe_signature(state, params)
                if api_key is None:
                    assert error is not None
                    reply = _ws_error(req_id, error["status"], error["code"], error["msg"])
                else:
                    sub = _UserSub(conn, api_key, "spot", subscription_id=next_subscription)
                    hub.user_subs.append(sub)
                    reply = {"id": req_id, "status": 200, "result": {"subscriptionId": next_subscription}}
                    next_subscription += 1
            elif method == "userDataStream.unsubscribe":
                wanted = params.get("subscriptionId")
                before = len(hub.user_subs)
                hub.user_subs = [
                    s
                    for s in hub.user_subs
                    if not (s.conn is conn and (wanted is None or s.subscription_id == wanted))
                ]
                if wanted is not None and len(hub.user_subs) == before:
                    reply = _ws_error(req_id, 400, -2035, "User Data Stream subscription not active.")
                else:
                    reply = {"id": req_id, "status": 200, "result": {}}
            else:
                reply = _ws_error(req_id, 400, -1000, f"Unknown method {method!r}.")
            conn.put(msgspec.json.encode(reply).decode())
    finally:
        await _closed(hub, conn)
    return ws


async def _sweep(app: web.Application) -> None:
    hub = app[HUB_KEY]
    interval = max(0.01, app[STATE_KEY].limits.listen_key_sweep_s)
    while True:
        await asyncio.sleep(interval)
        hub.expire_listen_keys()


_SWEEPER_KEY: web.AppKey[asyncio.Task[None]] = web.AppKey("binance_sweeper", asyncio.Task)


async def _on_startup(app: web.Application) -> None:
    app[_SWEEPER_KEY] = asyncio.create_task(_sweep(app), name="binance-emulator-listenkeys")


async def _on_shutdown(app: web.Application) -> None:
    sweeper = app[_SWEEPER_KEY]
    sweeper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sweeper
    app[HUB_KEY].close()


def add_ws_routes(app: web.Application, hub: StreamHub) -> None:
    app[HUB_KEY] = hub
    r = app.router
    r.add_get("/ws", _ws_path("spot"))
    r.add_get("/ws/{name:.*}", _ws_path("spot"))
    r.add_get("/stream", _stream_path("spot"))
    for root in ("/market", "/public"):
        r.add_get(f"{root}/ws", _ws_path("usdm", root))
        r.add_get(f"{root}/ws/{{name:.*}}", _ws_path("usdm", root))
        r.add_get(f"{root}/stream", _stream_path("usdm", root))
    r.add_get("/private/ws", _private)
    r.add_get("/private/ws/{name}", _private)
    r.add_get("/ws-api/v3", _ws_api)
    app.on_startup.append(_on_startup)
    app.on_shutdown.append(_on_shutdown)
