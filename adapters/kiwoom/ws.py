"""Kiwoom's WebSocket (``/api/dostk/websocket``): one connection kept alive on ``websockets``.

The protocol is JSON keyed by ``trnm``: ``{"trnm":"LOGIN","token"}`` first (answered with
``return_code`` 0), then ``REG``/``REMOVE`` of ``{"item":[codes],"type":[types]}`` groups; the server
sends ``{"trnm":"PING",...}`` and drops a client that does not send it back verbatim (the very bytes,
not a re-encoding), and ``REAL`` frames carry pushes whose ``values`` map FIDs to strings.

A lost or silent connection (no frame for ``stale_after_s``; Kiwoom pings about every 10 s) is
reconnected with :class:`~adapters.transport.Backoff` (full jitter), logged in again with a fresh
token, re-registered, and ``on_reconnect`` is awaited so the owner reconciles over REST. When every
attempt fails, ``on_failure`` is called with why.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

import msgspec
import websockets
from websockets.asyncio.client import ClientConnection, connect

from adapters.kiwoom.errors import KiwoomWsError
from adapters.kiwoom.schemas import RealItem, WsFrame
from adapters.transport import Backoff
from adapters.venue_errors import VenueMessageError

__all__ = ["KiwoomWebSocket", "Registration"]

_frame_dec: Final = msgspec.json.Decoder(WsFrame)
_items_dec: Final = msgspec.json.Decoder(list[RealItem])


class Registration(msgspec.Struct, frozen=True):
    """One ``REG`` group: ``items`` (stock codes, ``""`` for the account's notices) × ``types``."""

    items: tuple[str, ...]
    types: tuple[str, ...]


def decode_frame(raw: str | bytes) -> WsFrame:
    try:
        return _frame_dec.decode(raw)
    except msgspec.DecodeError as exc:
        raise VenueMessageError(f"kiwoom websocket frame malformed: {exc}") from None


def real_items(frame: WsFrame) -> list[RealItem]:
    """The pushes of a ``REAL`` frame."""
    if bytes(frame.data) in (b"null", b""):
        return []
    try:
        return _items_dec.decode(frame.data)
    except msgspec.DecodeError as exc:
        raise VenueMessageError(f"kiwoom REAL frame data malformed: {exc}") from None


class KiwoomWebSocket:
    def __init__(
        self,
        url: str,
        token: Callable[[], Awaitable[str]],
        on_item: Callable[[RealItem], None],
        *,
        name: str = "kiwoom",
        on_reconnect: Callable[[], Awaitable[None]] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        stale_after_s: float = 60.0,
        op_timeout_s: float = 5.0,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.name = name
        self._token = token
        self._on_item = on_item
        self._on_reconnect = on_reconnect
        self._on_failure = on_failure
        self.stale_after_s = stale_after_s
        self.op_timeout_s = op_timeout_s
        self.backoff = backoff or Backoff(base_s=0.1, cap_s=10.0, attempts=10)
        self._rng = rng
        self.registrations: list[Registration] = []
        self._ws: ClientConnection | None = None
        self._runner: asyncio.Task[None] | None = None
        self._closing = False
        self.connected = asyncio.Event()
        self.connects = 0
        self.pings = 0
        self.failure: BaseException | None = None

    async def start(self) -> None:
        if self._runner is not None:
            return
        ws = await self._open()
        self._runner = asyncio.create_task(self._run(ws), name=f"{self.name}-ws")

    async def close(self) -> None:
        self._closing = True
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 1.0)
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._runner
        self.connected.clear()

    async def drop(self) -> None:
        """Close the connection as if the network had (tests: the reconnect path)."""
        if self._ws is not None:
            await self._ws.close()

    async def _open(self) -> ClientConnection:
        ws = await asyncio.wait_for(connect(self.url, open_timeout=self.op_timeout_s), self.op_timeout_s)
        try:
            token = await self._token()
            await self._request(ws, {"trnm": "LOGIN", "token": token}, "LOGIN")
            for reg in self.registrations:
                await self._register(ws, reg)
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 1.0)
            raise
        self._ws = ws
        self.connects += 1
        self.connected.set()
        return ws

    async def _register(self, ws: ClientConnection, reg: Registration) -> None:
        message: dict[str, object] = {
            "trnm": "REG",
            "grp_no": "1",
            "refresh": "1",
            "data": [{"item": list(reg.items), "type": list(reg.types)}],
        }
        await self._request(ws, message, "REG")

    async def _request(self, ws: ClientConnection, message: dict[str, object], trnm: str) -> None:
        """Send, then read until the answer of the same ``trnm`` (echoing pings, passing pushes on)."""
        await ws.send(msgspec.json.encode(message).decode())
        async with asyncio.timeout(self.op_timeout_s):
            while True:
                raw = await ws.recv()
                frame = decode_frame(raw)
                if frame.trnm == trnm:
                    if frame.return_code not in (0, None):
                        raise KiwoomWsError(trnm, f"return_code={frame.return_code}: {frame.return_msg}")
                    return
                await self._handle(ws, raw, frame)

    async def _handle(self, ws: ClientConnection, raw: str | bytes, frame: WsFrame) -> None:
        if frame.trnm == "PING":
            self.pings += 1
            await ws.send(raw)  # verbatim, as Kiwoom requires
        elif frame.trnm == "REAL":
            for item in real_items(frame):
                self._on_item(item)

    async def _run(self, ws: ClientConnection) -> None:
        try:
            await self._loop(ws)
        except VenueMessageError as exc:  # the broker sent what its protocol does not allow
            self.failure = exc
            self.connected.clear()
            if self._on_failure is not None:
                self._on_failure(exc)

    async def _loop(self, ws: ClientConnection) -> None:
        current: ClientConnection | None = ws
        while current is not None and not self._closing:
            try:
                while True:
                    raw = await asyncio.wait_for(current.recv(), self.stale_after_s)
                    await self._handle(current, raw, decode_frame(raw))
            except (websockets.ConnectionClosed, TimeoutError, OSError):
                pass
            self.connected.clear()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(current.close(), 1.0)
            if self._closing:
                return
            current = await self._reconnect()
            if current is not None and self._on_reconnect is not None:
                try:
                    await self._on_reconnect()
                except Exception as exc:  # a failed reconcile is retried on the next reconnect
                    self.failure = exc

    async def _reconnect(self) -> ClientConnection | None:
        last: BaseException | None = None
        for delay in self.backoff.delays(self._rng):
            await asyncio.sleep(delay)
            if self._closing:
                return None
            try:
                return await self._open()
            except (OSError, TimeoutError, websockets.WebSocketException, KiwoomWsError) as exc:
                last = exc
        failure = KiwoomWsError(
            "connect", f"{self.name}: gave up after {self.backoff.attempts} attempts ({last!r})"
        )
        self.failure = failure
        if self._on_failure is not None:
            self._on_failure(failure)
        return None

    def add(self, regs: Sequence[Registration]) -> None:
        """Registrations made at every (re)connect; call before :meth:`start`."""
        self.registrations.extend(regs)

    async def register(self, regs: Sequence[Registration]) -> None:
        """Add registrations to a running connection too (its ``REG`` answer is read by the loop;
        a refusal shows as missing pushes, and the next reconnect registers them again)."""
        self.registrations.extend(regs)
        ws = self._ws
        if ws is not None and self.connected.is_set():
            for reg in regs:
                message = {"trnm": "REG", "grp_no": "1", "refresh": "1",
                           "data": [{"item": list(reg.items), "type": list(reg.types)}]}  # fmt: skip
                await asyncio.wait_for(ws.send(msgspec.json.encode(message).decode()), self.op_timeout_s)
