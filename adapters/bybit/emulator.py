"""The Bybit v5 emulator (spot and linear): Bybit's REST and WebSocket protocol on one loopback port,
over the shared exchange core of :mod:`adapters.emulator` (matching by the simulated venue of
engines/). ``vibetrading venue serve bybit`` runs it; tests call :func:`serve_bybit`.

It encodes and decodes Bybit's wire format itself (:mod:`adapters.bybit.emulator_rest`,
:mod:`adapters.bybit.emulator_ws`) and shares no schema or parser with the Bybit client, so a wrong
field on one side shows up as a failure instead of agreeing with itself. Only the signing helpers
are shared, and the emulator verifies signatures over the raw bytes it received.

Keys
----
Without ``--keys`` the documented test pair of :mod:`adapters.emulator.options`: API key
``vibetrading-test-key``, secret ``vibetrading-test-secret`` (loopback only). Every account starts
with :data:`adapters.emulator.DEFAULT_BALANCES`. Instruments: :data:`DEFAULT_SYMBOLS`.

REST (envelope ``{"retCode","retMsg","result","retExtInfo","time"}``, business errors with HTTP 200)
------------------------------------------------------------------------------------------------------
Public: ``GET /v5/market/time``, ``/v5/market/instruments-info`` (``category`` spot|linear,
``symbol``, ``status``, ``limit``/``cursor`` paging), ``/v5/market/tickers``, ``/v5/market/orderbook``
(one level, from the last quote).

Signed (headers ``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP``, ``X-BAPI-SIGN``, ``X-BAPI-RECV-WINDOW``
(default 5000); HMAC-SHA256 hex over ``timestamp + key + recvWindow + raw query string | raw body``;
``X-BAPI-SIGN-TYPE: 2`` accepted): ``POST /v5/order/create`` (answers only ``{orderId, orderLinkId}``),
``/v5/order/cancel``, ``/v5/order/cancel-all``; ``GET /v5/order/realtime`` (open orders; closed ones
too when asked by ``orderId``/``orderLinkId`` or with ``openOnly`` ≠ 0), ``/v5/order/history``,
``/v5/execution/list`` (newest first, ``limit`` ≤ 100, ``nextPageCursor``), ``/v5/account/wallet-balance``
(``accountType=UNIFIED``), ``/v5/account/info``, ``/v5/position/list`` (linear), ``/v5/user/query-api``
and ``/v5/asset/coin/query-info`` (what ccxt probes).

retCodes: 10001 parameter, 10002 outside the receive window (valid when
``server - recvWindow <= timestamp < server + 1000``), 10003 unknown key, 10004 signature, 10006 rate
limit, 10016 server error; orderLinkId reused (any order ever acked with it) 110072 linear / 170141
spot; order not found or already ended 110001 / 170213; balance 110007 / 170131; below the minimum
value 110094 / 170140; quantity and price filters 10001 (linear) or 170136/170137/170134 (spot);
reduce-only 110017. A post-only order that would take is acked, then cancelled with
``rejectReason`` ``EC_PostOnlyWillTakeLiquidity``.

Limits (:class:`BybitLimits`, overridable): per UID, endpoint and category per second, order create
and cancel 20/s spot and 10/s linear, every other signed endpoint 50/s; each signed answer carries
``X-Bapi-Limit``, ``X-Bapi-Limit-Status`` (remaining) and ``X-Bapi-Limit-Reset-Timestamp``; over it,
retCode 10006 "Too many visits!". Per IP, 600 requests in 5 s, then HTTP 403 for a ban of 10 minutes.

WebSocket
---------
``/v5/public/spot`` and ``/v5/public/linear``: ``subscribe``/``unsubscribe`` ``orderbook.1.{sym}``
(a snapshot, then deltas numbered by ``u`` and ``seq``), ``publicTrade.{sym}``, ``tickers.{sym}``;
``ping`` → ``{"success":true,"ret_msg":"pong",...}``. ``/v5/private``: ``auth`` with
``[key, expires, hex(HMAC("GET/realtime" + expires))]``, then ``order``, ``execution``, ``wallet``,
``position`` (and their ``.spot``/``.linear`` forms); ``ping`` → ``{"op":"pong","args":[ms],...}``.
A fill sends ``execution``, then ``order`` with the cumulative fields, then ``wallet`` and (linear)
``position``.

Faults (``--faults``, seeded)
-----------------------------
On ``order/create``, ``order/cancel`` and ``order/cancel-all``: ``timeout`` holds the request
unprocessed and never answers; ``reset`` drops the connection unprocessed; ``5xx`` answers without
processing, in turn HTTP 502 with an HTML page, HTTP 503 with an empty body, retCode 10016
"Internal server error." with HTTP 200; ``accept-then-timeout`` processes the request (the order
is live) and never answers.
``delay-ms`` waits before every REST answer. Streams: ``drop-ws`` closes a connection instead
of sending a topic message (answers to ops are never dropped), ``dup-fill`` sends an ``execution``
message twice, ``out-of-order`` holds an order's ``New`` message back until after its first
``execution``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from aiohttp import web

from adapters.bybit.emulator_rest import VENUE_KEY, BybitLimits, BybitVenue, add_rest_routes, ip_limit
from adapters.bybit.emulator_ws import add_ws_routes
from adapters.emulator import EmulatorOptions, Exchange, RunningEmulator, start_server
from adapters.emulator.exchange import MarketEvent
from engines.markets.specs import spec_for

__all__ = ["DEFAULT_SYMBOLS", "BybitLimits", "build_app", "serve_bybit", "venue_of"]

DEFAULT_SYMBOLS: Final[tuple[str, ...]] = (
    "bybit-spot:BTCUSDT",
    "bybit-spot:ETHUSDT",
    "bybit-linear:BTCUSDT",
    "bybit-linear:ETHUSDT",
)


def build_app(exchange: Exchange, limits: BybitLimits | None = None) -> web.Application:
    """Bybit's routes over ``exchange`` (the shared ``/_emulator`` routes are added by
    :func:`~adapters.emulator.start_server`)."""
    app = web.Application(middlewares=[ip_limit], client_max_size=1 << 20)
    app[VENUE_KEY] = BybitVenue(exchange, limits or BybitLimits())
    add_rest_routes(app)
    add_ws_routes(app)
    return app


def venue_of(app: web.Application) -> BybitVenue:
    """The Bybit-specific state behind an app :func:`build_app` made (tests inspect it)."""
    return app[VENUE_KEY]


async def serve_bybit(
    options: EmulatorOptions | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    recording: Iterable[MarketEvent] | None = None,
    limits: BybitLimits | None = None,
) -> RunningEmulator:
    """Start the Bybit emulator; port 0 picks a free port (``RunningEmulator.port``)."""
    options = options or EmulatorOptions()
    specs = [spec_for(symbol) for symbol in options.symbols or DEFAULT_SYMBOLS]
    exchange = Exchange(
        "bybit", specs, keys=options.keys, balances=options.balances, faults=options.faults, seed=options.seed
    )
    return await start_server(
        build_app(exchange, limits), exchange, options, host=host, port=port, recording=recording
    )
