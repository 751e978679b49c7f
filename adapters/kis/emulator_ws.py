"""The KIS emulator's WebSocket (``/tryitout`` and ``/``): subscribe and unsubscribe frames with the
approval key, acks carrying the AES key and iv, execution notices (``H0STCNI0`` real, ``H0STCNI9``
mock) encrypted with them, trades (``H0STCNT0``) and the order book (``H0STASP0``) in the clear,
``PINGPONG`` heartbeats, one session per app key (``OPSP8996``) and the registration cap
(``OPSP0008`` beyond :attr:`~adapters.kis.emulator_rest.KisLimits.ws_registrations`).

Frames leave through one queue per connection drained by one writer task, in the order the exchange
produced them; ``drop-ws`` closes a connection instead of sending a data frame, ``dup-fill`` sends a
fill notice twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import WSMsgType, web

from adapters.emulator.exchange import MarketEvent, OrderRecord, OrderState, TradeRecord
from adapters.kis.config import TR_IDS, tr_id
from adapters.kis.emulator_rest import VENUE_KEY, KisVenue, dec, kst_date_time
from adapters.kis.parsers import encrypt
from engines.model.enums import Side
from engines.model.events import QuoteTick, TradeTick

__all__ = ["PING_INTERVAL_S", "add_ws_routes", "notice_fields"]

PING_INTERVAL_S: Final = 10.0
_QUEUE_MAX: Final = 10_000
_SEND_TIMEOUT_S: Final = 5.0
_DROP: Final = object()


@dataclass
class _Session:
    ws: web.WebSocketResponse
    queue: asyncio.Queue[str | object] = field(default_factory=lambda: asyncio.Queue(_QUEUE_MAX))
    app_key: str = ""
    #: (tr_id, tr_key) registered
    subs: set[tuple[str, str]] = field(default_factory=set)
    stops: list[Any] = field(default_factory=list)
    pongs: int = 0


def _key_iv(venue: KisVenue, app_key: str, tr: str) -> tuple[str, str]:
    digest = hashlib.sha256(f"aes:{venue.seed}:{app_key}:{tr}".encode()).hexdigest()
    return digest[:32], digest[32:48]


def add_ws_routes(app: web.Application) -> None:
    app.router.add_get("/tryitout", _serve)
    app.router.add_get("/", _serve)


def _ack(
    tr: str, key: str, rt_cd: str, msg_cd: str, msg1: str, *, output: dict[str, str] | None = None
) -> str:
    body: dict[str, Any] = {"rt_cd": rt_cd, "msg_cd": msg_cd, "msg1": msg1}
    if output is not None:
        body["output"] = output
    return json.dumps({"header": {"tr_id": tr, "tr_key": key, "encrypt": "N"}, "body": body})


async def _serve(request: web.Request) -> web.WebSocketResponse:
    venue = request.app[VENUE_KEY]
    ws = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20)
    await ws.prepare(request)
    session = _Session(ws)
    writer = asyncio.create_task(_write(session), name="kis-emulator-ws-writer")
    pinger = asyncio.create_task(_ping(session, venue), name="kis-emulator-ws-ping")
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            try:
                frame = json.loads(msg.data)
            except ValueError:
                continue
            if not isinstance(frame, dict):
                continue
            if frame.get("header", {}).get("tr_id") == "PINGPONG":
                session.pongs += 1
                continue
            if not _on_frame(venue, session, frame):
                break
    finally:
        for stop in session.stops:
            stop()
        if venue.ws_sessions.get(session.app_key) is session:
            del venue.ws_sessions[session.app_key]
        pinger.cancel()
        session.queue.put_nowait(_DROP)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(writer, 1.0)
        await ws.close()
    return ws


def _on_frame(venue: KisVenue, session: _Session, frame: dict[str, Any]) -> bool:
    """Handle a subscribe or unsubscribe; False closes the connection."""
    header = frame.get("header") or {}
    body = (frame.get("body") or {}).get("input") or {}
    tr, key = str(body.get("tr_id", "")), str(body.get("tr_key", ""))
    app_key = venue.approvals.get(str(header.get("approval_key", "")))
    if app_key is None:
        _put(session, _ack(tr, key, "9", "OPSP0011", "invalid approval : NOT FOUND"))
        return True
    if not session.app_key:
        if app_key in venue.ws_sessions:
            _put(session, _ack(tr, key, "1", "OPSP8996", "ALREADY IN USE appkey"))
            _put(session, _DROP)
            return False
        session.app_key = app_key
        venue.ws_sessions[app_key] = session
    notice = tr_id(TR_IDS["notice"], venue.environment)
    if tr not in (notice, TR_IDS["trade"], TR_IDS["book"]):
        _put(session, _ack(tr, key, "1", "OPSP0007", f"SUBSCRIBE ERROR : tr_id {tr!r}"))
        return True
    if str(header.get("tr_type", "")) == "2":
        if (tr, key) not in session.subs:
            _put(session, _ack(tr, key, "1", "OPSP0003", "UNSUBSCRIBE ERROR(not found!)"))
        else:
            session.subs.discard((tr, key))
            _put(session, _ack(tr, key, "0", "OPSP0001", "UNSUBSCRIBE SUCCESS"))
        return True
    if (tr, key) in session.subs:
        _put(session, _ack(tr, key, "1", "OPSP0002", "ALREADY IN SUBSCRIBE"))
        return True
    if len(session.subs) >= venue.limits.ws_registrations:
        _put(session, _ack(tr, key, "1", "OPSP0008", "MAX SUBSCRIBE OVER"))
        return True
    session.subs.add((tr, key))
    if tr == notice:
        aes_key, iv = _key_iv(venue, app_key, tr)
        _put(session, _ack(tr, key, "0", "OPSP0000", "SUBSCRIBE SUCCESS", output={"iv": iv, "key": aes_key}))
        session.stops.append(venue.exchange.on_user(app_key, _notices(venue, session, tr, aes_key, iv)))
    else:
        _put(session, _ack(tr, key, "0", "OPSP0000", "SUBSCRIBE SUCCESS", output={"iv": "", "key": ""}))
        if not any(t in (TR_IDS["trade"], TR_IDS["book"]) for t, _ in session.subs - {(tr, key)}):
            session.stops.append(venue.exchange.on_market(lambda event: _market(venue, session, event)))
    return True


def notice_fields(
    venue: KisVenue, record: OrderRecord, trade: TradeRecord | None, hts_id: str
) -> list[str] | None:
    """The 26 fields of an execution notice for an order change, or None for a change KIS does not
    notify (the emulator notifies acceptance, fills and cancels)."""
    canceled = record.state is OrderState.CANCELED and trade is None
    if trade is None and record.state not in (OrderState.NEW, OrderState.CANCELED):
        return None
    now = venue.exchange.clock.now_ns()
    _, hhmmss = kst_date_time(now)
    odno = f"{record.order_id:010d}"
    return [
        hts_id,
        venue.accounts[next(k for k, a in venue.exchange.accounts.items() if record.order_id in a.orders)]
        + "01",
        odno,
        odno if canceled else "",
        "01" if record.side is Side.SELL else "02",
        "2" if canceled else "0",
        "00",
        "0",
        record.symbol.removeprefix("krx:"),
        dec(trade.qty) if trade is not None else dec(record.quantity),
        dec(trade.price) if trade is not None else ("0" if record.price is None else dec(record.price)),
        hhmmss,
        "0",
        "2" if trade is not None else "1",
        "1" if not canceled else "2",
        "91252",
        dec(record.quantity),
        "EMULATOR",
        "0",
        "KRX",
        "N",
        "",
        "10",
        "",
        "",
        "0" if record.price is None else dec(record.price),
    ]


def _notices(venue: KisVenue, session: _Session, tr: str, aes_key: str, iv: str) -> Any:
    hts = next((key for t, key in session.subs if t == tr), "")

    def deliver(record: OrderRecord, trade: TradeRecord | None) -> None:
        fields = notice_fields(venue, record, trade, hts)
        if fields is None:
            return
        payload = encrypt("^".join(fields), aes_key, iv)
        frame = f"1|{tr}|001|{payload}"
        faults = venue.exchange.faults
        if faults.roll("drop-ws"):
            _put(session, _DROP)
            return
        _put(session, frame)
        if trade is not None and faults.roll("dup-fill"):
            _put(session, frame)

    return deliver


def _market(venue: KisVenue, session: _Session, event: MarketEvent) -> None:
    code = event.instrument.removeprefix("krx:")
    _, hhmmss = kst_date_time(venue.exchange.clock.now_ns())
    if isinstance(event, TradeTick) and (TR_IDS["trade"], code) in session.subs:
        fields = ["0"] * 46
        fields[0], fields[1], fields[2] = code, hhmmss, dec(event.price)
        fields[12] = dec(event.size)  # CNTG_VOL
        fields[21] = "1" if event.aggressor is Side.BUY else "5"  # CCLD_DVSN: 1 buy, 5 sell
        _put(session, f"0|{TR_IDS['trade']}|001|{'^'.join(fields)}")
    elif isinstance(event, QuoteTick) and (TR_IDS["book"], code) in session.subs:
        fields = ["0"] * 59
        fields[0], fields[1], fields[2] = code, hhmmss, "0"
        fields[3], fields[13] = dec(event.ask), dec(event.bid)  # ASKP1, BIDP1
        fields[23], fields[33] = dec(event.ask_size), dec(event.bid_size)  # ASKP_RSQN1, BIDP_RSQN1
        _put(session, f"0|{TR_IDS['book']}|001|{'^'.join(fields)}")


def _put(session: _Session, item: str | object) -> None:
    with contextlib.suppress(asyncio.QueueFull):
        session.queue.put_nowait(item)


async def _write(session: _Session) -> None:
    while True:
        item = await session.queue.get()
        if item is _DROP or not isinstance(item, str):
            await session.ws.close()
            return
        try:
            await asyncio.wait_for(session.ws.send_str(item), _SEND_TIMEOUT_S)
        except (ConnectionError, TimeoutError, RuntimeError):
            return


async def _ping(session: _Session, venue: KisVenue) -> None:
    while True:
        await asyncio.sleep(venue.limits.ping_interval_s)
        stamp = time.strftime(
            "%Y%m%d%H%M%S", time.gmtime(venue.exchange.clock.now_ns() // 1_000_000_000 + 32_400)
        )
        _put(session, json.dumps({"header": {"tr_id": "PINGPONG", "datetime": stamp}}))
