"""The Binance emulator: spot (``/api/v3``) and USD-M futures (``/fapi/v1``) on one loopback port,
REST and WebSocket, over the shared exchange core (:mod:`adapters.emulator`).

``vibetrading venue serve binance`` and the tests start it with :func:`serve_binance`; clients are
pointed at ``http://127.0.0.1:PORT`` (REST, both markets) and ``ws://127.0.0.1:PORT`` (streams).
The REST side is :mod:`adapters.binance.emulator_rest`, the WebSocket side
:mod:`adapters.binance.emulator_ws`; neither uses the client's schemas or parsers.

**Keys.** Unless ``--keys`` says otherwise the one account is the documented test pair
``vibetrading-test-key`` / ``vibetrading-test-secret`` (:data:`adapters.emulator.TEST_KEYS`).
Spot and USD-M share the account's ledger: the USD-M wallet is the account's USDT (a simplification;
Binance keeps separate wallets).

**REST paths.** Spot ``/api/v3/``: ``ping``, ``time``, ``exchangeInfo``, ``depth`` (one level, from
the last quote), ``ticker/bookTicker``, ``order`` (POST/GET/DELETE), ``order/test``, ``openOrders``
(GET/DELETE), ``allOrders``, ``myTrades``, ``account``, ``userDataStream`` (POST/PUT/DELETE).
USD-M ``/fapi/v1/``: ``ping``, ``time``, ``exchangeInfo``, ``depth``, ``ticker/bookTicker``, ``order``
(POST/GET/DELETE), ``allOpenOrders`` (DELETE), ``openOrders``, ``allOrders``, ``userTrades``,
``listenKey`` (POST/PUT/DELETE), ``leverage``, ``positionSide/dual`` (one-way mode only);
``/fapi/v2/`` and ``/fapi/v3/`` ``account``, ``balance``, ``positionRisk``.
Order types: spot LIMIT, MARKET (``quantity`` or ``quoteOrderQty``), LIMIT_MAKER; USD-M LIMIT and
MARKET; time in force GTC/IOC/FOK (USD-M also GTX, post-only). A market order fills at the touch up
to the displayed size and the rest EXPIRES. ``newOrderRespType`` ACK/RESULT/FULL as Binance
defaults them (spot LIMIT and MARKET: FULL; USD-M: ACK, which reports the order as NEW).

**Signing and errors.** ``X-MBX-APIKEY`` missing or unknown: HTTP 401 ``-2015``; malformed: ``-2014``.
The HMAC-SHA256 is checked over the raw query string followed by the raw body (``signature``
removed), before anything is parsed: ``-1022``. ``timestamp`` (ms, or µs) and ``recvWindow``
(≤ 60000, else ``-1131``): ``-1021`` when ``timestamp >= server + 1000`` or
``server - timestamp > recvWindow``. Then ``-1102`` missing parameter, ``-1121`` bad symbol,
``-1013`` filter failures (PRICE_FILTER, LOT_SIZE, NOTIONAL), ``-2010`` insufficient balance /
"Duplicate order sent." (a client id in use by an *open* spot order; once it ended the id is
accepted as a new order) / LIMIT_MAKER would take, ``-2019`` margin, ``-4116`` duplicate USD-M
client id, ``-4164`` USD-M notional, ``-5022`` GTX would take, ``-2013`` no such order, ``-2011``
cancel of an unknown or ended order. Orders Binance refuses with an error never show up in queries
or streams.

**Limits** (:class:`BinanceLimits`, given to :func:`build_app` or ``serve_binance(limits=...)``;
tests lower them): request weight per IP per minute, spot 6000,
USD-M 2400, with Binance's endpoint weights (order 1, ``openOrders`` without symbol 80/40,
``myTrades`` 20, ``exchangeInfo`` 20/1, ``account`` 20/5, ...); every answer carries
``X-MBX-USED-WEIGHT-1M``, order endpoints ``X-MBX-ORDER-COUNT-10S`` (spot 100, USD-M 300 per 10 s,
per account: ``-1015``). Over the weight: HTTP 429 ``-1003`` with ``Retry-After``; three more 429s in
the same window: HTTP 418 ``-1003`` "Way too many requests; IP(...) banned until <ms>." for
``ban_s``. Windows start with the first request after the previous one ended.

**Faults** (``--faults``, seeded): on POST and DELETE ``order`` (both markets), after the
signature check: ``reset`` drops the connection, ``timeout`` hangs before processing, ``5xx``
answers without processing (alternately HTTP 503 ``-1001`` "Internal error; ..." and HTTP 408
``-1007`` "Timeout waiting for response from backend server. Send status unknown; ...", starting
with 503), ``accept-then-timeout`` processes the order and then hangs (the order is live).
``delay-ms`` waits before every REST answer. On every WebSocket message: ``drop-ws`` closes the
connection instead; user streams also: ``dup-fill`` sends a TRADE event twice, ``out-of-order``
holds a NEW event back until the order's next event (a fill) has gone, or 0.3 s.

**WebSocket paths.** Spot market streams ``/ws/<stream>`` and ``/stream?streams=a/b`` (combined
``{"stream", "data"}``); USD-M market streams ``/market/ws/<stream>``, ``/market/stream?streams=``
and the same under ``/public`` (Binance serves USD-M from another host, fstream; the emulator tells
the markets apart by path). As at Binance, USD-M's ``/public`` carries only ``bookTicker`` and
``/market`` only trades and klines: a stream on the wrong path stays silent. Streams
``<sym>@bookTicker`` (spot ``{u,s,b,B,a,A}``, USD-M adds ``e,E,T``), ``<sym>@trade`` (USD-M: ``X``
instead of ``M``), ``<sym>@aggTrade``, ``<sym>@kline_1m`` (from trades); live ``SUBSCRIBE``,
``UNSUBSCRIBE``, ``LIST_SUBSCRIPTIONS``, ``SET_PROPERTY combined``. User data: spot via
the WebSocket API ``/ws-api/v3`` with ``userDataStream.subscribe.signature`` (events wrapped
``{"subscriptionId", "event"}``: ``executionReport``, ``outboundAccountPosition``); the listenKey
streams ``/ws/<listenKey>`` (the user stream of the market that created the key) and USD-M
``/private/ws?listenKey=KEY`` (``ORDER_TRADE_UPDATE``, ``ACCOUNT_UPDATE`` after fills). A listenKey
expires ``listen_key_ttl_s`` (60 min) after it was created or kept alive: its streams get
``listenKeyExpired`` and are closed. A spot cancel's ``executionReport`` has ``c`` = the cancel
request's client id and ``C`` = the order's original one, as Binance sends it.

``GET /_emulator/state`` (shared) lists every account's orders, fills, balances and injected faults.

**Symbols.** :data:`DEFAULT_SYMBOLS`; BTCUSDT specs come from ``engines/markets/specs.py``, ETHUSDT
(which that table lacks) from :func:`emulator_spec` (published filters, an assumption to check).

**Not emulated:** stop and algo orders, ``batchOrders``, hedge mode, order books deeper than the
last quote, margin/``sapi``, WebSocket API trading methods (``order.place``...), ``serverShutdown``
and the 24 h disconnect, closed-kline (``x: true``) events, per-order weight of 429'd requests.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Final

import msgspec
from aiohttp import web

from adapters.binance.emulator_rest import (
    STATE_KEY,
    BinanceLimits,
    EmulatorState,
    add_rest_routes,
    rest_middleware,
)
from adapters.binance.emulator_ws import StreamHub, add_ws_routes
from adapters.emulator import EmulatorOptions, Exchange, RunningEmulator, start_server
from adapters.emulator.exchange import MarketEvent
from engines.markets.specs import UnknownInstrumentError, spec_for
from engines.model.instruments import InstrumentSpec

__all__ = ["DEFAULT_SYMBOLS", "BinanceLimits", "build_app", "emulator_spec", "serve_binance"]

DEFAULT_SYMBOLS: Final[tuple[str, ...]] = (
    "binance-spot:BTCUSDT",
    "binance-spot:ETHUSDT",
    "binance-usdm:BTCUSDT",
    "binance-usdm:ETHUSDT",
)


#: ETHUSDT filters as Binance published them when this was written (engines/markets/specs.py knows only
#: BTCUSDT): spot tick 0.01, step and min qty 0.0001, NOTIONAL 5; USD-M tick 0.01, step and min qty
#: 0.001, MIN_NOTIONAL 20. Fees as BTCUSDT. An assumption to check against exchangeInfo.
_ETH_FILTERS: Final[dict[str, dict[str, Decimal]]] = {
    "binance-spot:ETHUSDT": {
        "tick_size": Decimal("0.01"),
        "lot_size": Decimal("0.0001"),
        "min_qty": Decimal("0.0001"),
        "min_notional": Decimal(5),
    },
    "binance-usdm:ETHUSDT": {
        "tick_size": Decimal("0.01"),
        "lot_size": Decimal("0.001"),
        "min_qty": Decimal("0.001"),
        "min_notional": Decimal(20),
    },
}


def emulator_spec(symbol: str) -> InstrumentSpec:
    """The spec of an emulated symbol: the engines' table, else ETHUSDT from :data:`_ETH_FILTERS`
    on the BTCUSDT spec of its market."""
    try:
        return spec_for(symbol)
    except UnknownInstrumentError:
        filters = _ETH_FILTERS.get(symbol)
        if filters is None:
            raise
    market = symbol.partition(":")[0]
    btc = spec_for(f"{market}:BTCUSDT")
    return msgspec.structs.replace(btc, symbol=symbol, base="ETH", **filters)


def build_app(exchange: Exchange, limits: BinanceLimits | None = None) -> web.Application:
    """The venue's routes (REST and WebSocket) over ``exchange``; :func:`start_server` serves it."""
    state = EmulatorState(exchange, limits or BinanceLimits())
    app = web.Application(middlewares=[rest_middleware])
    app[STATE_KEY] = state
    add_rest_routes(app)
    add_ws_routes(app, StreamHub(state))
    return app


async def serve_binance(
    options: EmulatorOptions | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    recording: Iterable[MarketEvent] | None = None,
    limits: BinanceLimits | None = None,
) -> RunningEmulator:
    """Start the emulator on ``host:port`` (port 0: a free one) and return it running."""
    options = options or EmulatorOptions()
    specs = [emulator_spec(symbol) for symbol in options.symbols or DEFAULT_SYMBOLS]
    exchange = Exchange(
        "binance",
        specs,
        keys=options.keys,
        balances=options.balances,
        faults=options.faults,
        seed=options.seed,
    )
    return await start_server(
        build_app(exchange, limits), exchange, options, host=host, port=port, recording=recording
    )
