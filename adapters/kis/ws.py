"""The KIS WebSocket connection: subscribe frames with the approval key, acks (and the AES key and
iv an encrypted TR's ack carries), ``PINGPONG`` echoed, data frames decrypted and handed on, and
reconnects with backoff that subscribe again and then call the owner's reconciliation.

KIS allows one session per app key (a second is answered ``OPSP8996``:
:class:`~adapters.kis.errors.KisSessionInUseError`, VT983) and 41 registrations per session, which
:meth:`KisWebSocket.subscribe` enforces before sending (:class:`~adapters.kis.errors.KisRegistrationCapError`,
VT982). Every await is bounded: the connect and each ack by ``timeout_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Awaitable, Callable
from typing import Final

import aiohttp

from adapters.kis.errors import KisRegistrationCapError, KisSessionInUseError, KisWsError
from adapters.kis.parsers import decrypt, parse_data_frame
from adapters.transport import Backoff
from adapters.venue_errors import VenueMessageError

__all__ = ["MAX_REGISTRATIONS", "DataHandler", "KisWebSocket"]

MAX_REGISTRATIONS: Final = 41

DataHandler = Callable[[str, int, str], None]
"""Called with (tr_id, record count, plain payload) for every data frame."""


class KisWebSocket:
    """One KIS WebSocket session. ``approval`` gives the approval key; ``on_data`` gets the data
    frames; ``on_reconnect`` runs after each reconnect has subscribed again."""

    def __init__(
        self,
        url: str,
        approval: Callable[[], Awaitable[str]],
        on_data: DataHandler,
        *,
        name: str = "kis-ws",
        on_reconnect: Callable[[], Awaitable[None]] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        timeout_s: float = 5.0,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.name = name
        self._approval = approval
        #: every data frame goes to each handler (the execution and market-data clients can share
        #: one session, the only one KIS allows an app key)
        self.handlers: list[DataHandler] = [on_data]
        self._on_reconnect = on_reconnect
        self._on_failure = on_failure
        self.timeout_s = timeout_s
        self.backoff = backoff or Backoff()
        self._rng = rng or random.Random(0)  # noqa: S311 - jitter, not security
        self.subscriptions: list[tuple[str, str]] = []
        self.keys: dict[str, tuple[str, str]] = {}  # tr_id → (AES key, iv)
        self._acks: dict[tuple[str, str], asyncio.Future[tuple[str, str, str]]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pump: asyncio.Task[None] | None = None
        self._closed = False
        self.connected = asyncio.Event()
        self.connects = 0
        self.pongs = 0

    @property
    def started(self) -> bool:
        return self._ws is not None

    async def start(self) -> None:
        self._closed = False
        self.subscriptions.clear()
        await self._connect()
        self._reader = asyncio.create_task(self._run(), name=f"{self.name}-reader")

    async def close(self) -> None:
        self._closed = True
        for task in (self._reader, self._pump):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), self.timeout_s)
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
        self._ws = self._reader = self._pump = None
        self.connected.clear()

    async def subscribe(self, tr: str, key: str) -> None:
        """Register (tr, key); the registration is kept and sent again after a reconnect."""
        if (tr, key) in self.subscriptions:
            return
        if len(self.subscriptions) >= MAX_REGISTRATIONS:
            raise KisRegistrationCapError(
                f"kis websocket: {tr} {key} would be registration {len(self.subscriptions) + 1}; "
                f"KIS allows {MAX_REGISTRATIONS} per session"
            )
        await self._send_subscribe(tr, key)
        self.subscriptions.append((tr, key))

    async def _send_subscribe(self, tr: str, key: str) -> None:
        ws = self._ws
        if ws is None:
            raise ConnectionError(f"{self.name}: not connected")
        frame = {
            "header": {
                "approval_key": await self._approval(),
                "custtype": "P",
                "tr_type": "1",
                "content-type": "utf-8",
            },
            "body": {"input": {"tr_id": tr, "tr_key": key}},
        }
        ack: asyncio.Future[tuple[str, str, str]] = asyncio.get_running_loop().create_future()
        self._acks[(tr, key)] = ack
        try:
            await asyncio.wait_for(ws.send_str(json.dumps(frame)), self.timeout_s)
            rt_cd, msg_cd, msg1 = await asyncio.wait_for(asyncio.shield(ack), self.timeout_s)
        finally:
            self._acks.pop((tr, key), None)
        if rt_cd == "0" or msg_cd == "OPSP0002":  # OPSP0002: already subscribed, which is what we want
            return
        if msg_cd == "OPSP8996":
            raise KisSessionInUseError(f"kis websocket: the app key has a session already ({msg1})")
        if msg_cd == "OPSP0008":
            raise KisRegistrationCapError(f"kis websocket refused {tr} {key}: {msg1}")
        raise KisWsError(tr, f"{msg_cd}: {msg1}")

    async def _connect(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        self._ws = await asyncio.wait_for(self._session.ws_connect(self.url, autoping=True), self.timeout_s)
        self.connects += 1
        self._pump = asyncio.create_task(self._read(self._ws), name=f"{self.name}-pump")
        for tr, key in list(self.subscriptions):
            await self._send_subscribe(tr, key)
        self.connected.set()

    async def _run(self) -> None:
        """Wait for the connection to end, then reconnect (with backoff) and reconcile."""
        try:
            while not self._closed:
                if self._pump is not None:
                    with contextlib.suppress(Exception):
                        await self._pump
                self.connected.clear()
                if self._closed:
                    return
                for delay in self.backoff.delays(self._rng):
                    await asyncio.sleep(delay)
                    try:
                        await self._connect()
                        break
                    except (aiohttp.ClientError, OSError, TimeoutError, ConnectionError, KisWsError):
                        continue
                else:
                    raise ConnectionError(f"{self.name}: no reconnect after {self.backoff.attempts} attempts")
                if self._on_reconnect is not None:
                    await self._on_reconnect()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the owner's stream fails with it, where it happened
            if self._on_failure is not None:
                self._on_failure(exc)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            text: str = msg.data
            if text.startswith("{"):
                await self._on_json(ws, text)
                continue
            frame = parse_data_frame(text)
            payload = frame.payload
            if frame.encrypted:
                key_iv = self.keys.get(frame.tr_id)
                if key_iv is None:
                    raise VenueMessageError(f"kis {frame.tr_id}: an encrypted frame before its ack's key")
                payload = decrypt(payload, *key_iv)
            for handler in list(self.handlers):
                handler(frame.tr_id, frame.records, payload)

    async def _on_json(self, ws: aiohttp.ClientWebSocketResponse, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            raise VenueMessageError(f"kis websocket frame is not JSON: {text[:120]!r}") from None
        header = message.get("header") or {}
        tr = str(header.get("tr_id", ""))
        if tr == "PINGPONG":
            self.pongs += 1
            await asyncio.wait_for(ws.send_str(text), self.timeout_s)  # echoed as received
            return
        body = message.get("body") or {}
        output = body.get("output") or {}
        if output.get("key") and output.get("iv"):
            self.keys[tr] = (str(output["key"]), str(output["iv"]))
        ack = self._acks.get((tr, str(header.get("tr_key", ""))))
        if ack is not None and not ack.done():
            ack.set_result(
                (str(body.get("rt_cd", "")), str(body.get("msg_cd", "")), str(body.get("msg1", "")))
            )
