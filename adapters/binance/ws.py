"""A Binance WebSocket connection that stays up: connect with a timeout, reconnect with jittered
backoff, and tell the owner after every reconnect so it can reconcile what it may have missed.

Binance cuts every connection after 24 hours, may announce a restart (``serverShutdown``), expires
listen keys (``listenKeyExpired``) and, like any network, drops connections silently. So:

* the connection is opened under ``connect_timeout_s`` and the owner's ``on_open`` (subscribe,
  authenticate) runs under the same limit;
* a failed attempt waits a delay drawn from :class:`~adapters.transport.Backoff` (full jitter);
  the delays of one outage are bounded (``backoff.attempts``), after which a new outage begins at
  the cap: the manager never gives up while it runs, but never spins either;
* a stream silent for ``stale_after_s`` is treated as dead (None for a user data stream, which is
  legitimately quiet for hours: there the protocol pings decide, see below);
* ``max_age_s`` (default 23 h 50 min) reconnects before Binance's forced 24 h disconnect, at a time
  of our choosing rather than the venue's;
* :meth:`WsConnection.reconnect` (the owner saw ``serverShutdown`` or ``listenKeyExpired``) drops
  the connection and opens a new one at once, asking ``url`` again (a new listen key);
* Binance pings every 20 s (3 min for streams) and drops a client that does not pong within a
  minute: the ``websockets`` library answers pings by itself. It also pings the venue every
  ``ping_interval_s`` and closes a connection whose pong does not come within ``ping_timeout_s``.

After every reconnect (not the first connect) ``on_reconnect`` is awaited, once the new connection is
open and subscribed, so nothing that happens while the owner reconciles is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Final

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from adapters.transport import Backoff
from engines.errors import VibeError

__all__ = ["DAY_CUT_S", "BinanceWsError", "WsConnection"]

#: reconnect before Binance's forced disconnect at 24 h
DAY_CUT_S: Final = 24 * 3600 - 600.0


class BinanceWsError(VibeError):
    """Binance refused a WebSocket operation (a user data subscription, a listen key)."""

    code = "VT804"


UrlSource = Callable[[], Awaitable[str]]


class WsConnection:
    """One logical WebSocket stream that reconnects until :meth:`close`.

    ``url`` gives the URL for each attempt (a coroutine function, so a listen key can be renewed on
    the way); ``on_message`` receives every data frame as bytes (it must not block); ``on_open`` runs
    on each new connection before frames are read (subscribe, authenticate; it may read frames
    itself); ``on_reconnect`` runs after each reconnect. ``rng`` seeds the backoff jitter.
    """

    def __init__(
        self,
        name: str,
        url: UrlSource,
        *,
        on_message: Callable[[bytes], None],
        on_open: Callable[[ClientConnection], Awaitable[None]] | None = None,
        on_reconnect: Callable[[], Awaitable[None]] | None = None,
        connect_timeout_s: float = 10.0,
        stale_after_s: float | None = 60.0,
        max_age_s: float = DAY_CUT_S,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        ping_interval_s: float | None = 20.0,
        ping_timeout_s: float | None = 20.0,
    ) -> None:
        self.name = name
        self._url = url
        self._on_message = on_message
        self._on_open = on_open
        self._on_reconnect = on_reconnect
        self.connect_timeout_s = connect_timeout_s
        self.stale_after_s = stale_after_s
        self.max_age_s = max_age_s
        self.backoff = backoff or Backoff(base_s=0.1, factor=2.0, cap_s=10.0, attempts=10)
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.ping_interval_s = ping_interval_s
        self.ping_timeout_s = ping_timeout_s
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._open = asyncio.Event()
        self._closing = False
        self._kick: str | None = None
        self._kick_tasks: set[asyncio.Task[None]] = set()
        #: successful connections after the first one
        self.reconnects = 0
        #: failed connection attempts
        self.failures = 0
        #: outages whose bounded backoff ran out (the manager then went on at the cap)
        self.exhausted_outages = 0
        #: connections cut because the stream went silent, because of age, or on request
        self.stale_cuts = 0
        self.age_cuts = 0
        self.requested_cuts = 0
        #: frames ``on_message`` raised on (the frame is dropped, the connection kept)
        self.bad_frames = 0
        self.last_error = ""
        self.last_frame_at = 0.0

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._open.is_set()

    async def start(self, *, timeout_s: float | None = None) -> None:
        """Start the manager and wait for the first connection (``TimeoutError`` when it does not come
        within ``timeout_s``; the manager keeps trying until :meth:`close`)."""
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name=f"ws-{self.name}")
        async with asyncio.timeout(timeout_s if timeout_s is not None else self.connect_timeout_s * 2):
            await self._open.wait()

    async def wait_open(self, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            await self._open.wait()

    def reconnect(self, reason: str) -> None:
        """Drop the connection and open a new one now (no backoff): the venue asked for it."""
        self._kick = reason
        self._open.clear()  # wait_open() now waits for the new connection
        ws = self._ws
        if ws is not None:
            task = asyncio.get_running_loop().create_task(ws.close())
            self._kick_tasks.add(task)
            task.add_done_callback(self._kick_tasks.discard)

    async def close(self) -> None:
        self._closing = True
        task, self._task = self._task, None
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await ws.close()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._open.clear()

    # ── the loop ──

    async def _run(self) -> None:
        delays = self._delays()
        first = True
        while not self._closing:
            try:
                ws = await self._connect()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure to connect is retried: the manager keeps the stream
                self.failures += 1
                self.last_error = f"connect: {type(exc).__name__}: {exc}"
                await asyncio.sleep(next(delays))
                continue
            self._ws = ws
            planned = False
            try:
                if not first:
                    self.reconnects += 1
                first = False
                self._open.set()
                if self._on_reconnect is not None and self.reconnects:
                    try:
                        await self._on_reconnect()
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:  # the stream is good; the owner's reconcile failed
                        self.last_error = f"on_reconnect: {type(exc).__name__}: {exc}"
                delays = self._delays()
                planned = await self._read(ws)
            except ConnectionClosed as exc:
                self.last_error = f"closed: {exc}"
                planned = self._kick is not None
            except (OSError, TimeoutError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
            finally:
                self._open.clear()
                self._ws = None
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(1.0):
                        await ws.close()
            if self._kick is not None:
                self.requested_cuts += 1
                self.last_error = f"reconnect asked: {self._kick}"
                self._kick = None
                planned = True
            if not planned and not self._closing:
                await asyncio.sleep(next(delays))

    def _delays(self) -> Iterator[float]:
        while True:
            yield from self.backoff.delays(self._rng)
            self.exhausted_outages += 1
            yield self.backoff.cap_s

    async def _connect(self) -> ClientConnection:
        async with asyncio.timeout(self.connect_timeout_s):
            url = await self._url()
            ws = await connect(
                url,
                open_timeout=None,  # the asyncio.timeout above bounds url, handshake and on_open
                ping_interval=self.ping_interval_s,
                ping_timeout=self.ping_timeout_s,
                close_timeout=1.0,
                max_size=2**22,
                max_queue=4096,
                compression=None,
            )
            try:
                if self._on_open is not None:
                    await self._on_open(ws)
            except BaseException:
                with contextlib.suppress(Exception):
                    await ws.close()
                raise
        return ws

    async def _read(self, ws: ClientConnection) -> bool:
        """Read frames until the connection ends; True when it ended by plan (age, request)."""
        deadline = time.monotonic() + self.max_age_s
        while not self._closing:
            left = deadline - time.monotonic()
            if left <= 0:
                self.age_cuts += 1
                return True
            # which limit this wait runs into, decided now: a loop's timer may fire a little early
            # (uvloop rounds to the millisecond), so re-reading the clock afterwards could take the
            # planned cut for a dead stream
            age_due = self.stale_after_s is None or left <= self.stale_after_s
            wait = left if age_due else self.stale_after_s
            try:
                async with asyncio.timeout(wait):
                    frame = await ws.recv()
            except TimeoutError:
                if age_due:
                    self.age_cuts += 1
                    return True
                self.stale_cuts += 1
                self.last_error = f"no frame for {self.stale_after_s} s: stream treated as dead"
                return False
            self.last_frame_at = time.monotonic()
            data = frame.encode() if isinstance(frame, str) else frame
            try:
                self._on_message(data)
            except Exception as exc:  # one bad frame must not cost the connection
                self.bad_frames += 1
                self.last_error = f"frame: {type(exc).__name__}: {exc}"
            if self._kick is not None:
                return True
        return True
