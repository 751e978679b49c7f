"""The Bybit v5 emulator's WebSocket routes: public ``/v5/public/{spot,linear}`` (orderbook.1,
publicTrade, tickers) and private ``/v5/private`` (auth, then order, execution, wallet, position),
with the stream faults ``drop-ws``, ``stall-ws``, ``stale-quote``, ``dup-fill`` and ``out-of-order``.

Events reach a connection through a bounded queue drained by one writer task, so that messages
leave in the order the exchange produced them and a slow client cannot stall the exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

import msgspec
from aiohttp import WSMsgType, web

from adapters.bybit.emulator_rest import (
    CATEGORIES,
    VENUE_KEY,
    BybitVenue,
    book_data,
    category_of,
    dec,
    now_ms,
    ticker_row,
    venue_symbol,
)
from adapters.bybit.signing import sign_ws_auth
from adapters.emulator.exchange import MarketEvent, OrderRecord, OrderState, TradeRecord
from engines.model.enums import Side
from engines.model.events import QuoteTick, TradeTick

__all__ = ["add_ws_routes"]

_QUEUE_MAX: Final = 10_000
_SEND_TIMEOUT_S: Final = 5.0
_PRIVATE_TOPICS: Final = frozenset(
    {
        "order",
        "order.spot",
        "order.linear",
        "execution",
        "execution.spot",
        "execution.linear",
        "wallet",
        "position",
        "position.linear",
    }
)


@dataclass
class _Conn:
    """One WebSocket connection: its outbound queue and writer."""

    ws: web.WebSocketResponse
    venue: BybitVenue
    conn_id: str
    queue: asyncio.Queue[tuple[str, bool] | None] = field(default_factory=lambda: asyncio.Queue(_QUEUE_MAX))
    topics: set[str] = field(default_factory=set)
    dead: bool = False
    #: a ``stall-ws`` fault: open and silent (pongs too) until the client gives up on it
    stalled: bool = False
    closer: asyncio.Task[bool] | None = None

    def send(self, message: dict[str, Any]) -> None:
        """Queue a frame; a topic push (not an answer to an op) may be spoiled by ``drop-ws`` (in the
        writer) or ``stall-ws`` (here)."""
        if self.dead or self.stalled:
            return
        if "topic" in message and self.venue.exchange.faults.roll("stall-ws"):
            self.stalled = True
            return
        try:
            self.queue.put_nowait((msgspec.json.encode(message).decode(), "topic" in message))
        except asyncio.QueueFull:
            # a client this far behind is cut off (Bybit drops slow consumers too)
            self.dead = True
            self.closer = asyncio.get_running_loop().create_task(self.ws.close())

    async def writer(self) -> None:
        faults = self.venue.exchange.faults
        while True:
            item = await self.queue.get()
            if item is None or self.ws.closed:
                return
            text, push = item
            if push and faults.roll("drop-ws"):
                await self.ws.close()
                return
            try:
                await asyncio.wait_for(self.ws.send_str(text), _SEND_TIMEOUT_S)
            except (ConnectionError, TimeoutError, RuntimeError):
                return


async def _serve(request: web.Request) -> tuple[web.WebSocketResponse, _Conn, asyncio.Task[None]]:
    ws = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20)
    await ws.prepare(request)
    venue = request.app[VENUE_KEY]
    conn = _Conn(ws=ws, venue=venue, conn_id=venue.conn_id())
    task = asyncio.get_running_loop().create_task(conn.writer())
    return ws, conn, task


async def _read_loop(
    ws: web.WebSocketResponse, conn: _Conn, on_text: Callable[[_Conn, dict[str, Any]], None]
) -> None:
    async for msg in ws:
        if msg.type is not WSMsgType.TEXT:
            if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
            continue
        try:
            data = json.loads(msg.data)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            conn.send(
                {
                    "success": False,
                    "ret_msg": f"error:handler not found,topic:{msg.data}",
                    "conn_id": conn.conn_id,
                    "op": "",
                }
            )
            continue
        on_text(conn, data)


async def _finish(conn: _Conn, task: asyncio.Task[None], stop: list[Callable[[], None]]) -> None:
    for cancel in stop:
        cancel()
    with contextlib.suppress(asyncio.QueueFull):
        conn.queue.put_nowait(None)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


# ── public ──────────────────────────────────────────────────────────────────────────────────────


@dataclass
class _PublicState:
    category: str
    #: per instrument the level-1 book last sent on this connection (for its deltas)
    sent: dict[str, tuple[tuple[str, str], tuple[str, str]]] = field(default_factory=dict)
    ticker_sent: set[str] = field(default_factory=set)
    last_trade_px: dict[str, Decimal] = field(default_factory=dict)


def _public_handler(category: str) -> Callable[[web.Request], Any]:
    async def handler(request: web.Request) -> web.StreamResponse:
        state = _PublicState(category)
        venue = request.app[VENUE_KEY]

        def on_text(conn: _Conn, data: dict[str, Any]) -> None:
            op = data.get("op")
            req_id = data.get("req_id")
            base: dict[str, Any] = {"conn_id": conn.conn_id}
            if req_id is not None:
                base["req_id"] = req_id
            if op == "ping":
                conn.send({"success": True, "ret_msg": "pong", **base, "op": "ping"})
                return
            if op not in ("subscribe", "unsubscribe"):
                conn.send(
                    {"success": False, "ret_msg": f"error:handler not found,op:{op}", **base, "op": op or ""}
                )
                return
            args = data.get("args")
            topics = [a for a in args if isinstance(a, str)] if isinstance(args, list) else []
            bad = [t for t in topics if _public_symbol(venue, category, t) is None]
            if not topics or bad:
                conn.send(
                    {"success": False, "ret_msg": f"error:Invalid topic :{bad or args}", **base, "op": op}
                )
                return
            if op == "unsubscribe":
                conn.topics.difference_update(topics)
                conn.send({"success": True, "ret_msg": "", **base, "op": op})
                return
            again = [t for t in topics if t in conn.topics]
            if again:
                message = f"error:already subscribed,topic:{again[0]}"
                conn.send({"success": False, "ret_msg": message, **base, "op": op})
                return
            conn.send({"success": True, "ret_msg": "", **base, "op": op})
            for topic in topics:
                conn.topics.add(topic)
                symbol = _public_symbol(venue, category, topic)
                assert symbol is not None
                if topic.startswith("orderbook.") and symbol in venue.exchange.last_quote:
                    _send_book(conn, state, venue, symbol, topic, snapshot=True)
                elif topic.startswith("tickers.") and symbol in venue.exchange.last_quote:
                    _send_ticker(conn, state, venue, symbol, topic)

        ws, conn, task = await _serve(request)

        def on_market(event: MarketEvent) -> None:
            if not event.instrument.startswith(CATEGORIES[category]):
                return
            if venue.exchange.faults.stale(event.instrument):
                return  # a stale-quote fault: this symbol's feed is held back, the rest flows
            sym = venue_symbol(event.instrument)
            if isinstance(event, QuoteTick):
                topic = f"orderbook.1.{sym}"
                if topic in conn.topics:
                    _send_book(
                        conn,
                        state,
                        venue,
                        event.instrument,
                        topic,
                        snapshot=event.instrument not in state.sent,
                    )
                if f"tickers.{sym}" in conn.topics:
                    _send_ticker(conn, state, venue, event.instrument, f"tickers.{sym}")
            elif f"publicTrade.{sym}" in conn.topics:
                conn.send(_trade_message(venue, state, event, sym))

        venue.market_sinks.append(on_market)
        try:
            await _read_loop(ws, conn, on_text)
        finally:
            await _finish(conn, task, [lambda: venue.market_sinks.remove(on_market)])
        return ws

    return handler


def _public_symbol(venue: BybitVenue, category: str, topic: str) -> str | None:
    kind, _, sym = topic.rpartition(".")
    if kind not in ("orderbook.1", "publicTrade", "tickers"):
        return None
    symbol = CATEGORIES[category] + sym
    return symbol if symbol in venue.exchange.specs else None


def _send_book(
    conn: _Conn, state: _PublicState, venue: BybitVenue, symbol: str, topic: str, *, snapshot: bool
) -> None:
    data = book_data(venue, symbol)
    bid = (data["b"][0][0], data["b"][0][1]) if data["b"] else ("", "")
    ask = (data["a"][0][0], data["a"][0][1]) if data["a"] else ("", "")
    previous = state.sent.get(symbol)
    state.sent[symbol] = (bid, ask)
    ts = data.pop("ts")
    cts = data.pop("cts")
    if snapshot or previous is None:
        conn.send({"topic": topic, "type": "snapshot", "ts": ts, "data": data, "cts": cts})
        return
    bids: list[list[str]] = []
    asks: list[list[str]] = []
    for new, old, out in ((bid, previous[0], bids), (ask, previous[1], asks)):
        if new == old:
            continue
        if old[0] and old[0] != new[0]:
            out.append([old[0], "0"])
        if new[0]:
            out.append([new[0], new[1]])
    data["b"], data["a"] = bids, asks
    conn.send({"topic": topic, "type": "delta", "ts": ts, "data": data, "cts": cts})


def _send_ticker(conn: _Conn, state: _PublicState, venue: BybitVenue, symbol: str, topic: str) -> None:
    spec = venue.exchange.specs[symbol]
    row = ticker_row(venue, spec, state.category)
    # linear tickers are a snapshot then deltas; spot tickers are always snapshots
    kind = "delta" if state.category == "linear" and symbol in state.ticker_sent else "snapshot"
    state.ticker_sent.add(symbol)
    book = venue.books.get(symbol)
    cs = book.seq if book is not None else 0
    conn.send({"topic": topic, "type": kind, "data": row, "cs": cs, "ts": now_ms()})


def _trade_message(venue: BybitVenue, state: _PublicState, event: TradeTick, sym: str) -> dict[str, Any]:
    previous = state.last_trade_px.get(event.instrument)
    state.last_trade_px[event.instrument] = event.price
    if previous is None or event.price == previous:
        tick = "ZeroPlusTick"
    else:
        tick = "PlusTick" if event.price > previous else "MinusTick"
    ms = event.ts_event // 1_000_000
    return {
        "topic": f"publicTrade.{sym}",
        "type": "snapshot",
        "ts": ms,
        "data": [
            {
                "T": ms,
                "s": sym,
                "S": "Buy" if event.aggressor is Side.BUY else "Sell",
                "v": dec(event.size),
                "p": dec(event.price),
                "L": tick,
                "i": event.trade_id or str(venue.public_seq),
                "BT": False,
                "seq": venue.public_seq,
            }
        ],
    }


# ── private ─────────────────────────────────────────────────────────────────────────────────────


@dataclass
class _PrivateState:
    api_key: str = ""
    #: order New messages held back by the out-of-order fault, by order id
    held: dict[int, dict[str, Any]] = field(default_factory=dict)


async def _private_handler(request: web.Request) -> web.StreamResponse:
    venue = request.app[VENUE_KEY]
    state = _PrivateState()
    stop: list[Callable[[], None]] = []

    def on_text(conn: _Conn, data: dict[str, Any]) -> None:
        op = data.get("op")
        req_id = data.get("req_id")
        base: dict[str, Any] = {"conn_id": conn.conn_id}
        if req_id is not None:
            base["req_id"] = req_id
        if op == "ping":
            conn.send(
                {"req_id": req_id or "", "op": "pong", "args": [str(now_ms())], "conn_id": conn.conn_id}
            )
            return
        if op == "auth":
            problem = _check_auth(venue, data.get("args"))
            if isinstance(problem, str):
                conn.send({"success": False, "ret_msg": problem, "op": "auth", **base})
                return
            if not state.api_key:
                state.api_key = problem[0]
                sink = _user_sink(conn, state)
                venue.user_sinks[state.api_key].append(sink)
                stop.append(lambda: venue.user_sinks[problem[0]].remove(sink))
            conn.send({"success": True, "ret_msg": "", "op": "auth", **base})
            return
        if op not in ("subscribe", "unsubscribe"):
            conn.send(
                {"success": False, "ret_msg": f"error:handler not found,op:{op}", "op": op or "", **base}
            )
            return
        if not state.api_key:
            conn.send({"success": False, "ret_msg": "Request not authorized", "op": op, **base})
            return
        args = data.get("args")
        topics = [a for a in args if isinstance(a, str)] if isinstance(args, list) else []
        bad = [t for t in topics if t not in _PRIVATE_TOPICS]
        if not topics or bad:
            conn.send({"success": False, "ret_msg": f"Invalid topic: {bad or args}", "op": op, **base})
            return
        if op == "subscribe":
            conn.topics.update(topics)
        else:
            conn.topics.difference_update(topics)
        conn.send({"success": True, "ret_msg": "", "op": op, **base})

    ws, conn, task = await _serve(request)
    try:
        await _read_loop(ws, conn, on_text)
    finally:
        await _finish(conn, task, stop)
    return ws


def _check_auth(venue: BybitVenue, args: object) -> tuple[str, int] | str:
    if not isinstance(args, list) or len(args) != 3:
        return "Params Error"
    key, expires, signature = args
    if not isinstance(key, str) or not isinstance(signature, str):
        return "Params Error"
    try:
        expires_ms = int(expires)
    except (TypeError, ValueError):
        return "Params Error"
    account = venue.exchange.account(key)
    if account is None:
        return "API key is invalid."
    if expires_ms <= now_ms() + venue.exchange.faults.clock_skew_ms(roll=False):
        return "Params Error: request expired"
    if sign_ws_auth(account.secret, expires_ms) != signature.lower():
        return "Invalid sign"
    return key, expires_ms


def _user_sink(conn: _Conn, state: _PrivateState) -> Callable[[OrderRecord, TradeRecord | None], None]:
    venue = conn.venue
    faults = venue.exchange.faults

    def topic_for(base: str, category: str) -> str | None:
        if base in conn.topics:
            return base
        specific = f"{base}.{category}"
        return specific if specific in conn.topics else None

    def envelope(topic: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
        return {"topic": topic, "id": venue.message_id(), "creationTime": now_ms(), "data": rows}

    def release(order: int) -> None:
        held = state.held.pop(order, None)
        if held is not None:
            conn.send(held)

    def sink(record: OrderRecord, trade: TradeRecord | None) -> None:
        if record.state is OrderState.REJECTED:
            return  # a create refused with a retCode: Bybit never had the order
        api_key = state.api_key
        category = category_of(record.symbol)
        order_topic = topic_for("order", category)
        order_msg = (
            envelope(order_topic, [venue.order_row(api_key, record, with_category=True)])
            if order_topic
            else None
        )
        if trade is None:
            if order_msg is None:
                return
            if record.state is OrderState.NEW and faults.roll("out-of-order"):
                state.held[record.order_id] = order_msg
                # released after the order's next message (its fill), or on the next turn of the loop
                asyncio.get_running_loop().call_soon(release, record.order_id)
                return
            release(record.order_id)
            conn.send(order_msg)
            return
        exec_topic = topic_for("execution", category)
        if exec_topic is not None:
            message = envelope(exec_topic, [venue.exec_row(api_key, trade, with_category=True)])
            conn.send(message)
            if faults.roll("dup-fill"):
                conn.send(message)
        release(record.order_id)
        if order_msg is not None:
            conn.send(order_msg)
        if "wallet" in conn.topics:
            spec = venue.exchange.specs[record.symbol]
            conn.send(envelope("wallet", [venue.wallet(api_key, {spec.base, spec.quote, spec.settle})]))
        position_topic = topic_for("position", category)
        if category == "linear" and position_topic is not None:
            row = venue.position_row(api_key, venue.exchange.specs[record.symbol])
            conn.send(envelope(position_topic, [{"category": "linear", **row}]))

    return sink


def add_ws_routes(app: web.Application) -> None:
    """Bybit's v5 WebSocket paths on ``app``."""
    app.router.add_get("/v5/public/spot", _public_handler("spot"))
    app.router.add_get("/v5/public/linear", _public_handler("linear"))
    app.router.add_get("/v5/private", _private_handler)
