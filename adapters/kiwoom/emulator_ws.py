"""The Kiwoom emulator's WebSocket (``/api/dostk/websocket``): ``LOGIN`` with a token, ``PING``
sent every ``ping_interval_s`` (a client that does not echo two in a row is dropped), ``REG`` /
``REMOVE``, and ``REAL`` pushes: execution notices (type ``00``, item ``""``) for the logged-in
account, trades (``0B``) and the top of the book (``0D``) for registered codes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from decimal import Decimal
from typing import Any, Final

from aiohttp import WSMsgType, web

from adapters.emulator.exchange import MarketEvent, OrderRecord, OrderState, TradeRecord
from adapters.kiwoom.emulator_rest import VENUE_KEY, KiwoomVenue, exact, io_name, kst_time, ord_no, pad
from engines.model.enums import Side
from engines.model.events import QuoteTick

__all__ = ["WS_PATH", "add_ws_routes", "notice_values"]

WS_PATH: Final = "/api/dostk/websocket"
_ZERO: Final = Decimal(0)


def notice_values(venue: KiwoomVenue, r: OrderRecord, t: TradeRecord | None) -> dict[str, str] | None:
    """The FID map of the execution notice a change of ``r`` makes (None: nothing to tell)."""
    code = r.symbol.partition(":")[2]
    values = {
        "9201": "",
        "9203": ord_no(r.order_id),
        "9001": "A" + code,
        "900": pad(r.quantity, 0),
        "901": pad(r.price or _ZERO, 0),
        "905": io_name(r.side),
        "907": "2" if r.side is Side.BUY else "1",
        "908": kst_time(r.updated_ms),
        "904": "",
        "919": "",
    }
    if t is not None:
        values.update(
            {
                "913": "체결",
                "902": pad(r.quantity - t.cum_qty, 0),
                "909": str(t.trade_id),
                "910": pad(t.price, 0, "+"),
                "911": pad(t.cum_qty, 0),
                "914": pad(t.price, 0, "+"),
                "915": pad(t.qty, 0),
                "938": exact(t.fee),
                "939": "0",
            }
        )
        return values
    if r.state is OrderState.NEW:
        values.update({"913": "접수", "902": pad(r.leaves_qty, 0)})
        return values
    if r.state is OrderState.CANCELED:
        number = venue.cancel_numbers.get(r.order_id)
        if number is None:
            return None  # an IOC remainder: no cancel order, nothing to confirm
        values.update({"913": "확인", "9203": number, "904": ord_no(r.order_id), "902": "0"})
        return values
    if r.state is OrderState.REJECTED:
        values.update({"913": "거부", "902": "0", "919": r.reject_reason or r.reject_code})
        return values
    return None


def _market_values(event: MarketEvent) -> tuple[str, dict[str, str]]:
    if isinstance(event, QuoteTick):
        values = {"21": kst_time(event.ts_event // 1_000_000)}
        values["41"], values["51"] = pad(event.ask, 0, "+"), pad(event.bid, 0, "+")
        values["61"], values["71"] = pad(event.ask_size, 0), pad(event.bid_size, 0)
        for level in range(2, 11):  # one level is all the simulated venue keeps
            values[str(40 + level)] = values[str(50 + level)] = "0"
            values[str(60 + level)] = values[str(70 + level)] = "0"
        return "0D", values
    sign = "+" if event.aggressor is Side.BUY else "-"
    return "0B", {
        "20": kst_time(event.ts_event // 1_000_000),
        "10": pad(event.price, 0, "+"),
        "15": sign + pad(event.size, 0),
        "27": "",
        "28": "",
    }


async def _socket(request: web.Request) -> web.WebSocketResponse:
    venue = request.app[VENUE_KEY]
    exchange = venue.exchange
    ws = web.WebSocketResponse(heartbeat=None, autoping=True)
    await ws.prepare(request)
    out: asyncio.Queue[str | None] = asyncio.Queue()
    registered: set[tuple[str, str]] = set()  # (item, type)
    stops: list[Any] = []
    unanswered = 0
    app_key: str | None = None

    def push(kind: str, item: str, values: dict[str, str], name: str) -> None:
        if exchange.faults.roll("drop-ws"):
            out.put_nowait(None)
            return
        frame = {"trnm": "REAL", "data": [{"type": kind, "name": name, "item": item, "values": values}]}
        out.put_nowait(json.dumps(frame, ensure_ascii=False))

    def on_user(record: OrderRecord, trade: TradeRecord | None) -> None:
        if ("", "00") not in registered:
            return
        values = notice_values(venue, record, trade)
        if values is None:
            return
        push("00", "", values, "주문체결")
        if trade is not None and exchange.faults.roll("dup-fill"):
            push("00", "", values, "주문체결")

    def on_market(event: MarketEvent) -> None:
        kind, values = _market_values(event)
        item = event.instrument.partition(":")[2]
        if (item, kind) in registered:
            push(kind, item, values, "주식호가잔량" if kind == "0D" else "주식체결")

    async def writer() -> None:
        while True:
            text = await out.get()
            if text is None:
                await ws.close()
                return
            await ws.send_str(text)

    async def pinger() -> None:
        nonlocal unanswered
        while True:
            await asyncio.sleep(venue.ping_interval_s)
            if unanswered >= 2:
                out.put_nowait(None)
                return
            unanswered += 1
            out.put_nowait(json.dumps({"trnm": "PING"}))

    tasks = [asyncio.create_task(writer()), asyncio.create_task(pinger())]
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                frame = json.loads(msg.data)
            except ValueError:
                continue
            trnm = frame.get("trnm", "") if isinstance(frame, dict) else ""
            if trnm == "PING":
                unanswered = 0
            elif trnm == "LOGIN":
                app_key = venue.token_account(str(frame.get("token", "")))
                if app_key is None:
                    out.put_nowait(
                        json.dumps(
                            {
                                "trnm": "LOGIN",
                                "return_code": 1,
                                "return_msg": "[8005:Token이 유효하지 않습니다]",
                            },
                            ensure_ascii=False,
                        )
                    )
                    out.put_nowait(None)
                    continue
                stops.append(exchange.on_user(app_key, on_user))
                stops.append(exchange.on_market(on_market))
                out.put_nowait(json.dumps({"trnm": "LOGIN", "return_code": 0, "return_msg": ""}))
            elif trnm in ("REG", "REMOVE"):
                if app_key is None:
                    out.put_nowait(
                        json.dumps(
                            {"trnm": trnm, "return_code": 1, "return_msg": "LOGIN이 필요합니다"},
                            ensure_ascii=False,
                        )
                    )
                    continue
                for group in frame.get("data", []) or []:
                    for item in group.get("item", []) or []:
                        for kind in group.get("type", []) or []:
                            key = (str(item).removeprefix("A"), str(kind))
                            if trnm == "REG":
                                registered.add(key)
                            else:
                                registered.discard(key)
                out.put_nowait(json.dumps({"trnm": trnm, "return_code": 0, "return_msg": ""}))
    finally:
        for stop in stops:
            stop()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    return ws


def add_ws_routes(app: web.Application) -> None:
    app.router.add_get(WS_PATH, _socket)
