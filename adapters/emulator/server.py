"""Hosting an emulator: one aiohttp server for a venue's REST and WebSocket paths on one port, the
venue-independent routes (``GET /_emulator/state``), the market-data task, and the fault helpers a
venue's handlers call.

A venue's emulator builds its :class:`aiohttp.web.Application` (its routes) and hands it to
:func:`start_server`, which adds the shared routes and starts serving on loopback unless told
otherwise. The :class:`RunningEmulator` it returns has the roots a client is pointed at
(``http_root``, ``ws_root``), the :class:`~adapters.emulator.exchange.Exchange` a test moves the
market with, and :meth:`RunningEmulator.close`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from types import TracebackType
from typing import Final

from aiohttp import web

from adapters.emulator.exchange import Exchange, MarketEvent
from adapters.emulator.market import drive
from adapters.emulator.options import EmulatorOptions

__all__ = [
    "EXCHANGE_KEY",
    "OPTIONS_KEY",
    "RunningEmulator",
    "hang",
    "injected_fault",
    "reset",
    "start_server",
]

EXCHANGE_KEY: web.AppKey[Exchange] = web.AppKey("exchange", Exchange)
OPTIONS_KEY: web.AppKey[EmulatorOptions] = web.AppKey("emulator_options", EmulatorOptions)
_CLOSING_KEY: web.AppKey[asyncio.Event] = web.AppKey("closing", asyncio.Event)
_INJECTED: Final = "fault injected: connection dropped"


class _InjectedResetFilter(logging.Filter):
    """Keeps aiohttp from logging a traceback for every connection a fault drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, ConnectionResetError) and str(exc) == _INJECTED)


_QUIET = _InjectedResetFilter()


class RunningEmulator:
    """A serving emulator. ``async with`` closes it."""

    def __init__(
        self,
        runner: web.AppRunner,
        exchange: Exchange,
        host: str,
        port: int,
        market: asyncio.Task[None] | None,
    ) -> None:
        self._runner = runner
        self.exchange = exchange
        self.host = host
        self.port = port
        self._market = market
        url_host = f"[{host}]" if ":" in host else host
        self.http_root = f"http://{url_host}:{port}"
        self.ws_root = f"ws://{url_host}:{port}"

    async def close(self) -> None:
        self._runner.app[_CLOSING_KEY].set()
        if self._market is not None:
            self._market.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._market
        await self._runner.cleanup()

    async def wait_market(self) -> None:
        """Until the recording has been played (forever for a random walk)."""
        if self._market is not None:
            await asyncio.shield(self._market)

    async def __aenter__(self) -> RunningEmulator:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def _state(request: web.Request) -> web.Response:
    return web.json_response(request.app[EXCHANGE_KEY].state())


async def start_server(
    app: web.Application,
    exchange: Exchange,
    options: EmulatorOptions,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    recording: Iterable[MarketEvent] | None = None,
) -> RunningEmulator:
    """Serve ``app`` (a venue's routes) with the shared routes; port 0 picks a free one."""
    app[EXCHANGE_KEY] = exchange
    app[OPTIONS_KEY] = options
    app[_CLOSING_KEY] = asyncio.Event()
    server_log = logging.getLogger("aiohttp.server")
    if _QUIET not in server_log.filters:
        server_log.addFilter(_QUIET)
    app.router.add_get("/_emulator/state", _state)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = port
    for address in runner.addresses:  # the port the OS chose for port 0
        bound = int(address[1])
        break
    market: asyncio.Task[None] | None = None
    if recording is not None or options.walk:
        market = asyncio.create_task(
            drive(
                exchange,
                recording=recording,
                speed=options.speed,
                seed=options.seed,
                interval_s=options.walk_interval_s,
            ),
            name=f"{exchange.venue}-emulator-market",
        )
    return RunningEmulator(runner, exchange, host, bound, market)


def injected_fault(request: web.Request, *kinds: str) -> str | None:
    """The first of ``kinds`` the emulator's dice choose for this request, or None."""
    faults = request.app[EXCHANGE_KEY].faults
    for kind in kinds:
        if faults.roll(kind):
            return kind
    return None


async def hang(request: web.Request) -> web.StreamResponse:
    """Never answer: hold the request until the client gives up (or the emulator closes or
    ``hang_s`` passes), then drop the connection without a response."""
    closing = request.app[_CLOSING_KEY]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(closing.wait(), request.app[OPTIONS_KEY].hang_s)
    return reset(request)


def reset(request: web.Request) -> web.StreamResponse:
    """Drop the connection without an answer (a connection reset, seen by the client mid-request)."""
    if request.transport is not None:
        request.transport.close()
    raise ConnectionResetError(_INJECTED)


async def delay(request: web.Request) -> None:
    """The spec's fixed delay before an answer."""
    seconds = request.app[EXCHANGE_KEY].faults.delay_s
    if seconds:
        await asyncio.sleep(seconds)
