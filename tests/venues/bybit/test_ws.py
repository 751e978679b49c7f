"""BybitWebSocket against a loopback WebSocket server a test drives, and the BookKeeper's gap handling."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal as D
from typing import Any

import msgspec
import pytest
from websockets.asyncio.server import Server, ServerConnection, serve

from adapters.bybit.errors import BybitWsError
from adapters.bybit.parsers import SymbolMap
from adapters.bybit.schemas import Frame
from adapters.bybit.signing import sign_ws_auth
from adapters.bybit.ws import BookKeeper, BybitWebSocket
from adapters.transport import Backoff

KEY, SECRET = "k", "s"


@dataclass
class FakeStream:
    """Acks auth and subscribe, answers pings unless ``silent``; records what each connection sent."""

    refuse_auth: bool = False
    silent: bool = False
    received: list[list[dict[str, Any]]] = field(default_factory=list)
    connections: list[ServerConnection] = field(default_factory=list)
    server: Server | None = None
    url: str = ""

    async def start(self) -> FakeStream:
        self.server = await serve(self._handle, "127.0.0.1", 0)
        port = next(iter(self.server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/v5/private"
        return self

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def ops(self, op: str) -> list[dict[str, Any]]:
        return [m for conn in self.received for m in conn if m.get("op") == op]

    async def push(self, frame: dict[str, Any]) -> None:
        await self.connections[-1].send(json.dumps(frame))

    async def _handle(self, ws: ServerConnection) -> None:
        mine: list[dict[str, Any]] = []
        self.received.append(mine)
        self.connections.append(ws)
        async for raw in ws:
            msg = json.loads(raw)
            mine.append(msg)
            op, req_id = msg.get("op"), msg.get("req_id", "")
            if op == "auth":
                key, expires, sign = msg["args"]
                good = not self.refuse_auth and key == KEY and sign == sign_ws_auth(SECRET, expires)
                ack = {"success": good, "ret_msg": "" if good else "Params Error", "op": "auth"}
                await ws.send(json.dumps({**ack, "req_id": req_id, "conn_id": "c"}))
            elif op in ("subscribe", "unsubscribe"):
                await ws.send(json.dumps({"success": True, "ret_msg": "", "op": op, "req_id": req_id}))
            elif op == "ping" and not self.silent:
                await ws.send(json.dumps({"op": "pong", "args": ["1"], "conn_id": "c", "req_id": req_id}))


@pytest.fixture
async def fake() -> AsyncIterator[FakeStream]:
    server = await FakeStream().start()
    try:
        yield server
    finally:
        await server.close()


def make(fake: FakeStream, frames: list[Frame], **kwargs: Any) -> BybitWebSocket:
    options: dict[str, Any] = {
        "auth": (KEY, SECRET),
        "ping_interval_s": 0.05,
        "connect_timeout_s": 1.0,
        "op_timeout_s": 0.5,
        "backoff": Backoff(base_s=0.02, cap_s=0.1, attempts=5),
        "rng": random.Random(7),
    }
    options.update(kwargs)
    ws = BybitWebSocket(fake.url, lambda frame, raw: frames.append(frame), **options)
    ws.topics.extend(["order", "execution"])
    return ws


async def until(condition: Any, timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_auth_then_subscribe_then_frames(fake: FakeStream) -> None:
    frames: list[Frame] = []
    ws = make(fake, frames)
    await ws.start()
    try:
        assert [m["op"] for m in fake.received[0][:2]] == ["auth", "subscribe"]
        assert fake.received[0][1]["args"] == ["order", "execution"]
        await fake.push({"topic": "order", "id": "1", "creationTime": 1, "data": []})
        await until(lambda: len(frames) == 1)
        assert frames[0].topic == "order"
    finally:
        await ws.close()


async def test_refused_auth_is_vt804(fake: FakeStream) -> None:
    fake.refuse_auth = True
    ws = make(fake, [])
    with pytest.raises(BybitWsError) as info:
        await ws.start()
    assert info.value.code == "VT804" and info.value.op == "auth"
    await ws.close()


async def test_pings_every_interval(fake: FakeStream) -> None:
    ws = make(fake, [])
    await ws.start()
    try:
        await until(lambda: len(fake.ops("ping")) >= 3, timeout=1.0)
        assert ws.connects == 1  # pongs keep the connection fresh
    finally:
        await ws.close()


async def test_a_silent_connection_is_dead_and_replaced(fake: FakeStream) -> None:
    reconnected: list[int] = []

    async def on_reconnect() -> None:
        reconnected.append(ws.connects)

    fake.silent = True
    ws = make(fake, [], stale_after_s=0.15, on_reconnect=on_reconnect)
    await ws.start()
    try:
        await until(lambda: len(reconnected) >= 1)
        # the new connection authenticated and subscribed again before the owner reconciled
        assert [m["op"] for m in fake.received[1][:2]] == ["auth", "subscribe"]
        assert reconnected[0] == 2
    finally:
        await ws.close()


async def test_reconnects_with_jittered_backoff_after_a_drop(fake: FakeStream) -> None:
    reconnects: list[int] = []

    async def on_reconnect() -> None:
        reconnects.append(1)

    ws = make(fake, [], on_reconnect=on_reconnect)
    await ws.start()
    try:
        for n in (1, 2):
            await fake.connections[-1].close()
            await until(lambda n=n: len(reconnects) == n)  # type: ignore[misc]
        assert len(fake.received) == 3 and all(c[1]["op"] == "subscribe" for c in fake.received)
        # each outage starts the backoff again; the draws come from the seeded jitter
        rng = random.Random(7)
        assert ws.reconnect_delays == [rng.uniform(0.0, 0.02), rng.uniform(0.0, 0.02)]
    finally:
        await ws.close()


async def test_gives_up_after_the_backoff_and_says_so(fake: FakeStream) -> None:
    failures: list[BaseException] = []
    ws = make(fake, [], on_failure=failures.append, backoff=Backoff(base_s=0.01, cap_s=0.02, attempts=3))
    await ws.start()
    await fake.close()  # the venue is gone: every reconnect fails
    await until(lambda: bool(failures))
    assert isinstance(failures[0], BybitWsError) and "3 reconnect attempts" in str(failures[0])
    assert len(ws.reconnect_delays) == 3
    assert all(0.0 <= d <= min(0.02, 0.01 * 2**i) for i, d in enumerate(ws.reconnect_delays))
    await ws.close()


# ── the book ──

SYMBOLS = SymbolMap.from_symbols(["bybit-linear:BTCUSDT"])


def book(kind: str, u: int, bids: list[list[str]], asks: list[list[str]]) -> Frame:
    raw = {
        "topic": "orderbook.1.BTCUSDT",
        "type": kind,
        "ts": 1000 + u,
        "cts": 999 + u,
        "data": {"s": "BTCUSDT", "b": bids, "a": asks, "u": u, "seq": 100 + u},
    }
    return msgspec.json.decode(json.dumps(raw).encode(), type=Frame)


def test_book_snapshot_then_deltas_then_a_gap_resyncs() -> None:
    keeper = BookKeeper("linear", SYMBOLS)
    quotes, resync = keeper.apply(book("snapshot", 10, [["100", "1"]], [["101", "2"]]), 0)
    assert resync is None and (quotes[0].bid, quotes[0].ask) == (D(100), D(101))
    quotes, resync = keeper.apply(book("delta", 11, [["100.5", "3"]], []), 0)
    assert (quotes[0].bid, quotes[0].bid_size, quotes[0].ask) == (D("100.5"), D(3), D(101))
    # the top moves as Bybit sends it: the old level deleted, the new one added
    quotes, _ = keeper.apply(
        book("delta", 12, [["100.5", "0"], ["100.7", "2"]], [["101", "0"], ["100.9", "1"]]), 0
    )
    assert (quotes[0].bid, quotes[0].bid_size, quotes[0].ask) == (D("100.7"), D(2), D("100.9"))
    # u 13 was lost: no quote from a book that may be wrong, and the topic is asked again
    quotes, resync = keeper.apply(book("delta", 14, [["99", "1"]], []), 0)
    assert quotes == [] and resync == "orderbook.1.BTCUSDT" and keeper.gaps == 1
    quotes, resync = keeper.apply(book("delta", 15, [["98", "1"]], []), 0)
    assert quotes == [] and resync is None  # still waiting for the snapshot; asked once
    quotes, resync = keeper.apply(book("snapshot", 20, [["97", "1"]], [["98", "1"]]), 0)
    assert (quotes[0].bid, quotes[0].ask) == (D(97), D(98))


def test_book_u_1_is_a_service_restart_read_as_a_snapshot() -> None:
    keeper = BookKeeper("linear", SYMBOLS)
    keeper.apply(book("snapshot", 50, [["100", "1"]], [["101", "1"]]), 0)
    quotes, resync = keeper.apply(book("delta", 1, [["90", "1"]], [["91", "1"]]), 0)
    assert resync is None and (quotes[0].bid, quotes[0].ask) == (D(90), D(91))
    quotes, _ = keeper.apply(book("delta", 2, [], [["90.5", "1"]]), 0)
    assert quotes[0].ask == D("90.5")
