"""Bybit v5 WebSocket connections (``websockets`` asyncio client) and the order book they feed.

:class:`BybitWebSocket` keeps one connection alive: connect under a timeout, ``auth`` on the private
path, ``subscribe`` to its topics (acks awaited under a timeout), ``{"op":"ping"}`` every
``ping_interval_s`` (Bybit drops a silent connection after about 10 minutes and suggests 20 s), and
a dead-connection check: no frame at all (pongs included) for ``stale_after_s`` closes the connection.
A lost connection is reconnected with :class:`~adapters.transport.Backoff` (full jitter), then
authenticated and resubscribed, and ``on_reconnect`` is awaited, so the owner reconciles what it may
have missed. When every attempt of the backoff fails the connection gives up: ``failure`` holds why
and ``on_failure`` is called.

:class:`BookKeeper` applies ``orderbook.{depth}.{symbol}`` frames to the top of book: a snapshot
resets a symbol's book, a delta must carry ``u`` one above the last one seen; a delta after a gap (or
before any snapshot) is dropped, the book forgotten and the topic resubscribed, so the next snapshot
rebuilds it. ``u == 1`` is Bybit's service restart and reads as a snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Final

import msgspec
import websockets
from websockets.asyncio.client import ClientConnection, connect

from adapters.bybit.errors import BybitWsError
from adapters.bybit.parsers import SymbolMap, TopOfBook, quote_from_book
from adapters.bybit.schemas import BookData, Frame
from adapters.bybit.signing import ws_auth_message
from adapters.transport import Backoff
from adapters.venue_errors import VenueMessageError
from engines.errors import VibeError
from engines.model.events import QuoteTick

__all__ = ["BookKeeper", "BybitWebSocket", "FrameHandler"]

FrameHandler = Callable[[Frame, bytes], None]
_frame_dec: Final = msgspec.json.Decoder(Frame)
_book_dec: Final = msgspec.json.Decoder(BookData)
_CONTROL_OPS: Final = frozenset({"auth", "subscribe", "unsubscribe", "ping", "pong"})
_SUBSCRIBE_CHUNK: Final = 10  # Bybit spot takes at most 10 args per subscribe request


class BybitWebSocket:
    """One Bybit WebSocket connection, kept alive. ``on_frame`` gets every data frame (``topic`` set)."""

    def __init__(
        self,
        url: str,
        on_frame: FrameHandler,
        *,
        name: str = "bybit",
        auth: tuple[str, str] | None = None,
        now_ms: Callable[[], int] | None = None,
        on_reconnect: Callable[[], Awaitable[None]] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        ping_interval_s: float = 20.0,
        stale_after_s: float | None = None,
        connect_timeout_s: float = 5.0,
        op_timeout_s: float = 5.0,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.name = name
        self._on_frame = on_frame
        self._auth = auth
        self._now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        self._on_reconnect = on_reconnect
        self._on_failure = on_failure
        self.ping_interval_s = ping_interval_s
        self.stale_after_s = stale_after_s if stale_after_s is not None else 2.5 * ping_interval_s
        self.connect_timeout_s = connect_timeout_s
        self.op_timeout_s = op_timeout_s
        self.backoff = backoff or Backoff(base_s=0.1, cap_s=10.0, attempts=10)
        self._rng = rng
        self.topics: list[str] = []
        self._ws: ClientConnection | None = None
        self._pending: dict[str, asyncio.Future[Frame]] = {}
        self._req_ids = itertools.count(1)
        self._runner: asyncio.Task[None] | None = None
        self._closed = False
        self.connected = asyncio.Event()
        self.connects = 0  # successful connections, the first included
        self.reconnect_delays: list[float] = []
        self.failure: BaseException | None = None
        self.message_errors: list[VibeError] = []
        self.reconcile_errors: list[Exception] = []

    # ── lifecycle ──

    async def start(self) -> None:
        """Connect (auth and subscribe included) and keep the connection alive; raises when the
        first connection fails (TimeoutError, OSError, :class:`BybitWsError`)."""
        if self._runner is not None:
            return
        ws = await self._open()
        self._runner = asyncio.create_task(self._run(ws), name=f"{self.name}-ws")

    async def close(self) -> None:
        self._closed = True
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 1.0)
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._runner
        self._fail_pending(ConnectionError(f"{self.name}: closed"))

    async def drop(self) -> None:
        """Close the current connection as a network fault would (it reconnects); for tests and drills."""
        if self._ws is not None:
            await self._ws.close()

    # ── operations ──

    async def subscribe(self, topics: Iterable[str]) -> None:
        """Add ``topics``; subscribed at once when connected (the ack awaited), and again after every
        reconnect. A refusal raises :class:`BybitWsError` (VT804)."""
        new = [t for t in topics if t not in self.topics]
        self.topics.extend(new)
        if new and self._ws is not None:
            await self._subscribe(self._ws, new)

    async def resubscribe(self, topic: str) -> None:
        """Unsubscribe and subscribe ``topic`` again: Bybit answers a subscription with a snapshot."""
        ws = self._ws
        if ws is None:
            return
        await self._op(ws, "unsubscribe", [topic])
        await self._op(ws, "subscribe", [topic])

    async def send(self, message: dict[str, object]) -> None:
        if self._ws is None:
            raise ConnectionError(f"{self.name}: not connected")
        await self._ws.send(msgspec.json.encode(message).decode())

    # ── internals ──

    async def _open(self) -> ClientConnection:
        ws = await asyncio.wait_for(
            connect(self.url, ping_interval=None, close_timeout=1.0, max_size=2**22, open_timeout=None),
            self.connect_timeout_s,
        )
        try:
            self._ws = ws
            reader = asyncio.create_task(self._read_control(ws), name=f"{self.name}-ws-handshake")
            try:
                if self._auth is not None:
                    key, secret = self._auth
                    expires = self._now_ms() + 10_000
                    await self._await_op(ws, ws_auth_message(key, secret, expires), "auth")
                if self.topics:
                    await self._subscribe(ws, self.topics)
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader
        except BaseException:
            self._ws = None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 1.0)
            raise
        self.connects += 1
        self.connected.set()
        return ws

    async def _read_control(self, ws: ClientConnection) -> None:
        """During the handshake: hand acks to their waiters and data frames to the handler."""
        async for raw in ws:
            self._dispatch(raw if isinstance(raw, bytes) else raw.encode())

    async def _subscribe(self, ws: ClientConnection, topics: Sequence[str]) -> None:
        for i in range(0, len(topics), _SUBSCRIBE_CHUNK):
            await self._op(ws, "subscribe", list(topics[i : i + _SUBSCRIBE_CHUNK]))

    async def _op(self, ws: ClientConnection, op: str, args: list[str]) -> None:
        await self._await_op(ws, {"op": op, "args": args}, op)

    async def _await_op(self, ws: ClientConnection, message: dict[str, object], op: str) -> None:
        req_id = f"{op}-{next(self._req_ids)}"
        message = {"req_id": req_id, **message}
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = future
        try:
            await ws.send(msgspec.json.encode(message).decode())
            ack = await asyncio.wait_for(future, self.op_timeout_s)
        finally:
            self._pending.pop(req_id, None)
        if ack.success is False:
            raise BybitWsError(op, ack.ret_msg or "refused")

    def _dispatch(self, raw: bytes) -> None:
        try:
            frame = _frame_dec.decode(raw)
        except msgspec.DecodeError as exc:
            raise VenueMessageError(f"bybit {self.name} frame malformed: {exc}") from None
        if frame.topic:
            try:
                self._on_frame(frame, raw)
            except VibeError as exc:  # one unreadable message must not cost the connection
                self.message_errors.append(exc)
                del self.message_errors[:-100]
            return
        if frame.op in _CONTROL_OPS or frame.success is not None:
            req_id = _req_id(raw)
            future = self._pending.get(req_id) if req_id else None
            if future is None:  # an ack without our req_id: the oldest waiter for that op
                future = next(
                    (f for k, f in self._pending.items() if k.startswith(f"{frame.op}-") and not f.done()),
                    None,
                )
            if future is not None and not future.done():
                future.set_result(frame)

    async def _run(self, ws: ClientConnection) -> None:
        while not self._closed:
            with contextlib.suppress(websockets.ConnectionClosed, OSError, TimeoutError):
                await self._serve(ws)
            self._ws = None
            self.connected.clear()
            self._fail_pending(ConnectionError(f"{self.name}: connection lost"))
            if self._closed:
                return
            reopened = await self._reconnect()
            if reopened is None:
                return
            ws = reopened
            if self._on_reconnect is not None:
                try:
                    await self._on_reconnect()
                except Exception as exc:
                    self.reconcile_errors.append(exc)
                    del self.reconcile_errors[:-100]

    async def _serve(self, ws: ClientConnection) -> None:
        pinger = asyncio.create_task(self._ping(ws), name=f"{self.name}-ws-ping")
        try:
            while True:
                # any frame proves the connection alive; none within the limit means it is dead
                raw = await asyncio.wait_for(ws.recv(), self.stale_after_s)
                self._dispatch(raw if isinstance(raw, bytes) else raw.encode())
        finally:
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pinger
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 1.0)

    async def _ping(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self.ping_interval_s)
            await ws.send('{"op":"ping"}')

    async def _reconnect(self) -> ClientConnection | None:
        last: BaseException | None = None
        for delay in self.backoff.delays(self._rng):
            self.reconnect_delays.append(delay)
            await asyncio.sleep(delay)
            if self._closed:
                return None
            try:
                return await self._open()
            except (OSError, TimeoutError, BybitWsError, websockets.WebSocketException) as exc:
                last = exc
        self.failure = BybitWsError(
            "connect", f"{self.name}: gave up after {self.backoff.attempts} reconnect attempts ({last!r})"
        )
        if self._on_failure is not None:
            self._on_failure(self.failure)
        return None

    def _fail_pending(self, exc: BaseException) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(exc)


class _ReqId(msgspec.Struct):
    req_id: str = ""


_req_id_dec: Final = msgspec.json.Decoder(_ReqId)


def _req_id(raw: bytes) -> str:
    try:
        return _req_id_dec.decode(raw).req_id
    except msgspec.DecodeError:
        return ""


class BookKeeper:
    """The top of book of one category's ``orderbook.{depth}.{symbol}`` topics, with gap detection."""

    def __init__(self, category: str, symbols: SymbolMap) -> None:
        self.category = category
        self.symbols = symbols
        self.book = TopOfBook()
        self._last_u: dict[str, int] = {}
        self.gaps = 0

    def apply(self, frame: Frame, ts_init: int) -> tuple[list[QuoteTick], str | None]:
        """The quotes a book frame gives, and the topic to resubscribe when it showed a gap."""
        try:
            data = _book_dec.decode(frame.data)
        except msgspec.DecodeError as exc:
            raise VenueMessageError(f"bybit orderbook data malformed: {exc}") from None
        snapshot = frame.type == "snapshot" or data.u == 1
        last = self._last_u.get(data.s)
        if not snapshot and (last is None or data.u != last + 1):
            if last is not None:
                self.gaps += 1
            self._last_u.pop(data.s, None)
            self.book.reset(data.s)
            return [], frame.topic if last is not None else None
        self._last_u[data.s] = data.u
        return quote_from_book(frame, self.book, self.category, self.symbols, ts_init), None
