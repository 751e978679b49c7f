"""The WebSocket connection manager against a loopback ``websockets`` server: reconnect with bounded,
jittered backoff that never gives up, silent streams cut, the planned age cut, reconnects on request,
the reconnect callback, and server pings answered."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve

from adapters.binance.ws import WsConnection
from adapters.transport import Backoff

FAST = Backoff(base_s=0.01, factor=2.0, cap_s=0.04, attempts=3)


@dataclass
class WsServer:
    """Each connection runs ``behaviour`` (the connection's number, the connection)."""

    behaviour: Callable[[int, ServerConnection], Awaitable[None]]
    connections: int = 0
    paths: list[str] = field(default_factory=list)
    server: Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = next(iter(self.server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        self.paths.append(ws.request.path if ws.request else "")
        await self.behaviour(self.connections, ws)


@pytest.fixture
async def start_server() -> AsyncIterator[Callable[..., Awaitable[WsServer]]]:
    servers: list[Server] = []

    async def start(behaviour: Callable[[int, ServerConnection], Awaitable[None]], **kw: float) -> WsServer:
        state = WsServer(behaviour)
        state.server = await serve(state.handler, "127.0.0.1", 0, **kw)  # type: ignore[arg-type]
        servers.append(state.server)
        return state

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def manager(url: Callable[[], Awaitable[str]], frames: list[bytes], **kw: object) -> WsConnection:
    kw.setdefault("backoff", FAST)
    kw.setdefault("rng", random.Random(7))
    kw.setdefault("connect_timeout_s", 0.5)
    return WsConnection("test", url, on_message=frames.append, **kw)  # type: ignore[arg-type]


async def until(check: Callable[[], bool], timeout_s: float = 2.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(0.01)


async def test_a_dropped_connection_reconnects_and_calls_back(
    start_server: Callable[..., Awaitable[WsServer]],
) -> None:
    async def drop_twice(n: int, ws: ServerConnection) -> None:
        await ws.send(f"frame-{n}")
        if n <= 2:
            return  # the handler returning closes the connection
        await ws.wait_closed()

    server = await start_server(drop_twice)
    frames: list[bytes] = []
    called: list[int] = []

    async def on_reconnect() -> None:
        called.append(conn.reconnects)

    async def url() -> str:
        return server.url

    conn = manager(url, frames, on_reconnect=on_reconnect)
    await conn.start()
    await until(lambda: len(frames) == 3)
    assert frames == [b"frame-1", b"frame-2", b"frame-3"]
    assert (conn.reconnects, called) == (2, [1, 2])  # after every reconnect, not the first connect
    await conn.close()


async def test_backoff_is_bounded_per_outage_and_the_manager_keeps_trying(
    start_server: Callable[..., Awaitable[WsServer]],
) -> None:
    async def hold(n: int, ws: ServerConnection) -> None:
        await ws.send("up")
        await ws.wait_closed()

    server = await start_server(hold)
    attempts: list[float] = []

    async def url() -> str:
        attempts.append(time.monotonic())
        return "ws://127.0.0.1:1" if len(attempts) <= 8 else server.url  # refused 8 times

    frames: list[bytes] = []
    conn = manager(url, frames)
    await conn.start(timeout_s=2.0)
    assert frames in ([], [b"up"])
    await until(lambda: frames == [b"up"])
    assert conn.failures == 8
    assert conn.exhausted_outages >= 2  # 3 delays per outage, then on at the cap: it never gave up
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert max(gaps) < FAST.cap_s + 0.1  # every delay bounded by the cap
    await conn.close()


async def test_a_silent_stream_is_treated_as_dead(start_server: Callable[..., Awaitable[WsServer]]) -> None:
    async def silent_first(n: int, ws: ServerConnection) -> None:
        if n > 1:
            await ws.send("alive")
        await ws.wait_closed()

    server = await start_server(silent_first)

    async def url() -> str:
        return server.url

    frames: list[bytes] = []
    conn = manager(url, frames, stale_after_s=0.2)
    await conn.start()
    await until(lambda: frames == [b"alive"])
    assert (conn.stale_cuts, conn.reconnects) == (1, 1)
    await conn.close()


async def test_the_planned_cut_reconnects_before_the_venues(
    start_server: Callable[..., Awaitable[WsServer]],
) -> None:
    async def talk(n: int, ws: ServerConnection) -> None:
        for i in range(100):
            await ws.send(f"{n}-{i}")
            await asyncio.sleep(0.02)

    server = await start_server(talk)

    async def url() -> str:
        return server.url

    frames: list[bytes] = []
    conn = manager(url, frames, max_age_s=0.15, backoff=Backoff(base_s=5.0, cap_s=5.0, attempts=1))
    await conn.start()
    await until(lambda: conn.reconnects >= 2)  # no 5 s backoff: a planned cut reconnects at once
    assert conn.age_cuts >= 2 and conn.failures == 0
    await conn.close()


async def test_reconnect_on_request_asks_for_a_new_url(
    start_server: Callable[..., Awaitable[WsServer]],
) -> None:
    async def hold(n: int, ws: ServerConnection) -> None:
        await ws.send(f"key-{n}")
        await ws.wait_closed()

    server = await start_server(hold)
    keys = iter(range(1, 10))

    async def url() -> str:
        return f"{server.url}/ws/listen-key-{next(keys)}"  # a new listen key per connection

    frames: list[bytes] = []
    conn = manager(url, frames, backoff=Backoff(base_s=5.0, cap_s=5.0, attempts=1))
    await conn.start()
    await until(lambda: frames == [b"key-1"])
    conn.reconnect("listenKeyExpired")
    await until(lambda: frames == [b"key-1", b"key-2"])
    assert server.paths == ["/ws/listen-key-1", "/ws/listen-key-2"]
    assert (conn.requested_cuts, conn.reconnects) == (1, 1)
    await conn.close()


async def test_server_pings_are_answered_and_a_bad_frame_keeps_the_connection(
    start_server: Callable[..., Awaitable[WsServer]],
) -> None:
    async def ping_and_talk(n: int, ws: ServerConnection) -> None:
        await ws.send("bad")
        for _ in range(20):
            await asyncio.sleep(0.02)
        await ws.send("good")
        await ws.wait_closed()

    # the server pings every 20 ms and drops a client whose pong is 50 ms late
    server = await start_server(ping_and_talk, ping_interval=0.02, ping_timeout=0.05)

    async def url() -> str:
        return server.url

    frames: list[bytes] = []

    def on_message(data: bytes) -> None:
        if data == b"bad":
            raise ValueError("unreadable")
        frames.append(data)

    conn = WsConnection("test", url, on_message=on_message, backoff=FAST, ping_interval_s=None)
    await conn.start()
    await until(lambda: frames == [b"good"])
    assert (conn.reconnects, conn.bad_frames, server.connections) == (0, 1, 1)
    await conn.close()
