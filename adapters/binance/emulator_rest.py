"""The Binance emulator's REST side: spot ``/api/v3`` and USD-M ``/fapi/v1`` (``/fapi/v2``, ``/fapi/v3``
account reads), request weight and order-count limits, API-key and HMAC checks on the raw bytes, and
the venue's JSON shapes and error bodies. See :mod:`adapters.binance.emulator` for the whole picture.

Nothing here uses ``adapters/binance/schemas.py`` or ``parsers.py``: the emulator encodes and decodes
the wire format on its own, so a schema bug shared with the client cannot hide.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, Final, Literal
from urllib.parse import parse_qsl

import msgspec
from aiohttp import web

from adapters.binance.signing import API_KEY_HEADER, verify
from adapters.emulator.exchange import Account, Exchange, OrderRecord, OrderState, TradeRecord
from adapters.emulator.server import delay, hang, injected_fault, reset
from engines.model.commands import SubmitOrder
from engines.model.enums import OrderType, Side, TimeInForce
from engines.model.instruments import InstrumentSpec

__all__ = [
    "STATE_KEY",
    "ApiError",
    "BinanceLimits",
    "EmulatorState",
    "Market",
    "OrderMeta",
    "add_rest_routes",
    "fmt",
    "market_of_symbol",
    "now_ms",
    "rest_middleware",
    "wire_status",
]

log = logging.getLogger(__name__)

Market = Literal["spot", "usdm"]
_PREFIX: Final[dict[Market, str]] = {"spot": "binance-spot", "usdm": "binance-usdm"}
_ZERO: Final = Decimal(0)


@dataclass(frozen=True)
class BinanceLimits:
    """Binance's rate limits and timers; tests lower them to reach a limit in a few requests.

    Weight windows start with the first request after the previous window ended (Binance aligns them
    to the clock minute; anchoring them keeps a test from straddling a boundary).
    """

    spot_weight: int = 6000
    usdm_weight: int = 2400
    weight_window_s: float = 60.0
    spot_orders: int = 100
    usdm_orders: int = 300
    order_window_s: float = 10.0
    #: 429s answered while limited before the IP is banned (HTTP 418)
    strikes_before_ban: int = 3
    ban_s: float = 120.0
    #: a listenKey expires this long after it was created or last kept alive
    listen_key_ttl_s: float = 3600.0
    #: how often expired listenKeys are looked for
    listen_key_sweep_s: float = 1.0


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def market_of_symbol(symbol: str) -> Market | None:
    if symbol.startswith("binance-spot:"):
        return "spot"
    if symbol.startswith("binance-usdm:"):
        return "usdm"
    return None


def fmt(market: Market, value: Decimal | None) -> str:
    """A decimal as Binance writes it: spot pads to 8 places, USD-M writes it plain."""
    if value is None:
        value = _ZERO
    if market == "spot":
        return f"{value:.8f}"
    text = format(value.normalize(), "f") if value else "0"
    return text


class ApiError(Exception):
    """A Binance error answer: HTTP status and ``{"code", "msg"}``."""

    def __init__(self, status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code} {msg}")
        self.status = status
        self.code = code
        self.msg = msg
        self.headers = headers or {}


def _mandatory(name: str) -> ApiError:
    return ApiError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


@dataclass
class OrderMeta:
    """What Binance echoes that the exchange core does not keep."""

    market: Market
    wire_type: str
    tif: str
    reduce_only: bool = False
    quote_order_qty: Decimal = _ZERO


@dataclass
class _Window:
    start: float = 0.0
    used: int = 0
    strikes: int = 0
    banned_until: float = 0.0


@dataclass
class ListenKey:
    key: str
    api_key: str
    market: Market
    expires_at: float


@dataclass
class EmulatorState:
    """The Binance protocol's own state around one :class:`Exchange`."""

    exchange: Exchange
    limits: BinanceLimits
    weights: dict[tuple[str, Market], _Window] = field(default_factory=dict)
    orders: dict[tuple[str, Market], _Window] = field(default_factory=dict)
    meta: dict[int, OrderMeta] = field(default_factory=dict)
    #: orders a client canceled (an IOC/FOK remainder the venue drops is EXPIRED, not CANCELED)
    user_canceled: set[int] = field(default_factory=set)
    #: spot: the client id a cancel request gave (executionReport ``c`` on cancel, ``C`` the original)
    cancel_ids: dict[int, str] = field(default_factory=dict)
    listen_keys: dict[str, ListenKey] = field(default_factory=dict)
    leverage: dict[tuple[str, str], int] = field(default_factory=dict)
    update_ids: dict[str, int] = field(default_factory=dict)
    #: the metadata of the order being submitted (see :meth:`meta_of`)
    pending: OrderMeta | None = None
    submitting: asyncio.Lock = field(default_factory=asyncio.Lock)
    _ids: int = 0

    def meta_of(self, record: OrderRecord) -> OrderMeta:
        """An order's metadata; the order being submitted gets the pending one."""
        meta = self.meta.get(record.order_id)
        if meta is None:
            market = market_of_symbol(record.symbol) or "spot"
            meta = self.pending or OrderMeta(market, record.order_type.value.upper(), "GTC")
            self.meta[record.order_id] = meta
        return meta

    def next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids:06d}"

    def next_update_id(self, symbol: str) -> int:
        self.update_ids[symbol] = self.update_ids.get(symbol, 0) + 1
        return self.update_ids[symbol]

    def spec(self, market: Market, wire_symbol: str | None) -> InstrumentSpec:
        if not wire_symbol:
            raise _mandatory("symbol")
        spec = self.exchange.specs.get(f"{_PREFIX[market]}:{wire_symbol.upper()}")
        if spec is None or wire_symbol != wire_symbol.upper():
            raise ApiError(400, -1121, "Invalid symbol.")
        return spec

    def symbols(self, market: Market) -> list[InstrumentSpec]:
        return [s for s in self.exchange.specs.values() if market_of_symbol(s.symbol) == market]

    def status(self, record: OrderRecord) -> str:
        return wire_status(record, record.order_id in self.user_canceled)

    # ── rate limits ──

    def charge(self, ip: str, market: Market, weight: int, headers: dict[str, str]) -> None:
        lim = self.limits
        now = time.monotonic()
        win = self.weights.setdefault((ip, market), _Window())
        label = _interval(lim.weight_window_s)
        if win.banned_until > now:
            raise self._banned(ip, win, label)
        if now - win.start >= lim.weight_window_s:
            win.start, win.used, win.strikes = now, 0, 0
        win.used += weight
        headers[f"X-MBX-USED-WEIGHT-{label}"] = str(win.used)
        limit = lim.spot_weight if market == "spot" else lim.usdm_weight
        if win.used <= limit:
            return
        win.strikes += 1
        if win.strikes > lim.strikes_before_ban:
            win.banned_until = now + lim.ban_s
            raise self._banned(ip, win, label)
        retry = max(1, math.ceil(win.start + lim.weight_window_s - now))
        raise ApiError(
            429,
            -1003,
            f"Too many requests; current limit of IP({ip}) is {limit} requests per minute. Please use the "
            "websocket for live updates to avoid polling the API.",
            {"Retry-After": str(retry), f"X-MBX-USED-WEIGHT-{label}": str(win.used)},
        )

    def _banned(self, ip: str, win: _Window, label: str) -> ApiError:
        now = time.monotonic()
        until_ms = now_ms() + int((win.banned_until - now) * 1000)
        retry = max(1, math.ceil(win.banned_until - now))
        return ApiError(
            418,
            -1003,
            f"Way too many requests; IP({ip}) banned until {until_ms}. Please use the websocket for live "
            "updates to avoid bans.",
            {"Retry-After": str(retry), f"X-MBX-USED-WEIGHT-{label}": str(win.used)},
        )

    def injected_limit(self, api_key: str, market: Market) -> ApiError:
        """A ``429`` fault: the order-rate limit's answer (-1015), as if this key's window were spent;
        the weight header keeps its true count, so a client waits ``Retry-After``, not a minute."""
        label = _interval(self.limits.order_window_s)
        limit = self.limits.spot_orders if market == "spot" else self.limits.usdm_orders
        return ApiError(
            429,
            -1015,
            f"Too many new orders; current limit is {limit} orders per "
            f"{label_words(self.limits.order_window_s)}.",
            {
                "Retry-After": str(self.exchange.faults.retry_after_s),
                f"X-MBX-ORDER-COUNT-{label}": str(limit + 1),
            },
        )

    def injected_ban(self, ip: str, market: Market) -> ApiError:
        """A ``418`` fault: the IP is banned for the fault's ``ban_s``, this request included."""
        win = self.weights.setdefault((ip, market), _Window())
        win.banned_until = time.monotonic() + self.exchange.faults.ban_s
        return self._banned(ip, win, _interval(self.limits.weight_window_s))

    def count_order(self, api_key: str, market: Market, headers: dict[str, str]) -> None:
        lim = self.limits
        now = time.monotonic()
        win = self.orders.setdefault((api_key, market), _Window())
        if now - win.start >= lim.order_window_s:
            win.start, win.used = now, 0
        win.used += 1
        label = _interval(lim.order_window_s)
        headers[f"X-MBX-ORDER-COUNT-{label}"] = str(win.used)
        limit = lim.spot_orders if market == "spot" else lim.usdm_orders
        if win.used > limit:
            retry = max(1, math.ceil(win.start + lim.order_window_s - now))
            raise ApiError(
                429,
                -1015,
                f"Too many new orders; current limit is {limit} orders per "
                f"{label_words(lim.order_window_s)}.",
                {"Retry-After": str(retry)},
            )

    # ── listen keys ──

    def listen_key(self, api_key: str, market: Market) -> ListenKey:
        """The account's active key for ``market`` (Binance hands out the same one while it lives)."""
        ttl = self.limits.listen_key_ttl_s
        for lk in self.listen_keys.values():
            if lk.api_key == api_key and lk.market == market:
                lk.expires_at = time.monotonic() + ttl
                return lk
        seed = f"{api_key}/{market}/{self.next_id('lk')}"
        key = hashlib.sha256(seed.encode()).hexdigest()[:60]
        lk = self.listen_keys[key] = ListenKey(key, api_key, market, time.monotonic() + ttl)
        return lk


def wire_status(record: OrderRecord, user_canceled: bool) -> str:
    if record.state is OrderState.CANCELED and not user_canceled:
        return "EXPIRED"  # an IOC/FOK/market remainder the venue dropped
    return record.state.value


def _interval(seconds: float) -> str:
    if seconds % 86_400 == 0:
        return f"{int(seconds // 86_400)}D"
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)}H"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)}M"
    return f"{max(1, int(seconds))}S"


def label_words(seconds: float) -> str:
    return f"{int(seconds)} SECOND" if seconds < 60 else f"{int(seconds // 60)} MINUTE"


STATE_KEY: web.AppKey[EmulatorState] = web.AppKey("binance_state", EmulatorState)
#: the rate-limit headers of the request being answered (the order handlers add theirs)
HEADERS_KEY: web.RequestKey[dict[str, str]] = web.RequestKey("binance_headers", dict)

# ── request weights (Binance's documented weights, by market, method and path) ──

Weigher = Callable[[dict[str, str]], int]


def _const(n: int) -> Weigher:
    return lambda _q: n


def _spot_depth(q: dict[str, str]) -> int:
    limit = int(q.get("limit", "100") or 100) if q.get("limit", "100").isdigit() else 100
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


def _usdm_depth(q: dict[str, str]) -> int:
    limit = int(q.get("limit", "500")) if q.get("limit", "500").isdigit() else 500
    return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20


_WEIGHTS: Final[dict[str, Weigher]] = {
    "GET /api/v3/ping": _const(1),
    "GET /api/v3/time": _const(1),
    "GET /api/v3/exchangeInfo": _const(20),
    "GET /api/v3/depth": _spot_depth,
    "GET /api/v3/ticker/bookTicker": lambda q: 2 if q.get("symbol") else 4,
    "POST /api/v3/order": _const(1),
    "POST /api/v3/order/test": _const(1),
    "GET /api/v3/order": _const(4),
    "DELETE /api/v3/order": _const(1),
    "GET /api/v3/openOrders": lambda q: 6 if q.get("symbol") else 80,
    "DELETE /api/v3/openOrders": _const(1),
    "GET /api/v3/allOrders": _const(20),
    "GET /api/v3/myTrades": lambda q: 5 if q.get("orderId") else 20,
    "GET /api/v3/account": _const(20),
    "POST /api/v3/userDataStream": _const(2),
    "PUT /api/v3/userDataStream": _const(2),
    "DELETE /api/v3/userDataStream": _const(2),
    "GET /fapi/v1/ping": _const(1),
    "GET /fapi/v1/time": _const(1),
    "GET /fapi/v1/exchangeInfo": _const(1),
    "GET /fapi/v1/depth": _usdm_depth,
    "GET /fapi/v1/ticker/bookTicker": lambda q: 2 if q.get("symbol") else 5,
    "POST /fapi/v1/order": _const(1),
    "GET /fapi/v1/order": _const(1),
    "DELETE /fapi/v1/order": _const(1),
    "DELETE /fapi/v1/allOpenOrders": _const(1),
    "GET /fapi/v1/openOrders": lambda q: 1 if q.get("symbol") else 40,
    "GET /fapi/v1/allOrders": _const(5),
    "GET /fapi/v1/userTrades": _const(5),
    "POST /fapi/v1/listenKey": _const(1),
    "PUT /fapi/v1/listenKey": _const(1),
    "DELETE /fapi/v1/listenKey": _const(1),
    "POST /fapi/v1/leverage": _const(1),
    "GET /fapi/v1/positionSide/dual": _const(30),
    "POST /fapi/v1/positionSide/dual": _const(1),
    "GET /fapi/v2/account": _const(5),
    "GET /fapi/v3/account": _const(5),
    "GET /fapi/v2/balance": _const(5),
    "GET /fapi/v3/balance": _const(5),
    "GET /fapi/v2/positionRisk": _const(5),
    "GET /fapi/v3/positionRisk": _const(5),
}


def _encode(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(obj), status=status, content_type="application/json")


def _rest_market(path: str) -> Market | None:
    if path.startswith("/api/"):
        return "spot"
    if path.startswith("/fapi/"):
        return "usdm"
    return None


@web.middleware
async def rest_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every REST answer: the fault delay, the weight charge and its headers, Binance's error bodies."""
    market = _rest_market(request.path)
    if market is None:
        return await handler(request)
    state = request.app[STATE_KEY]
    await delay(request)
    headers: dict[str, str] = {}
    request[HEADERS_KEY] = headers
    weigher = _WEIGHTS.get(f"{request.method} {request.path}", _const(1))
    try:
        state.charge(request.remote or "127.0.0.1", market, weigher(dict(request.query)), headers)
        response = await handler(request)
    except ApiError as exc:
        response = _encode({"code": exc.code, "msg": exc.msg}, exc.status)
        response.headers.update(exc.headers)
    except web.HTTPNotFound:
        log.warning("binance emulator: no route for %s %s", request.method, request.path)
        response = _encode({"code": -1000, "msg": f"Unknown path {request.method} {request.path}."}, 404)
    except web.HTTPMethodNotAllowed:
        response = _encode({"code": -1000, "msg": f"Method {request.method} not allowed here."}, 405)
    for name, value in headers.items():
        response.headers.setdefault(name, value)
    return response


# ── authentication ──

_KEY_RE: Final = re.compile(r"[A-Za-z0-9_\-]{1,128}")


def _strip_signature(raw: bytes) -> tuple[bytes, str | None]:
    """The bytes without the ``signature=`` parameter, and that signature."""
    if not raw:
        return raw, None
    kept: list[bytes] = []
    signature: str | None = None
    for part in raw.split(b"&"):
        if part.startswith(b"signature="):
            signature = part[len(b"signature=") :].decode("latin-1")
        else:
            kept.append(part)
    return b"&".join(kept), signature


def _params(*raws: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in raws:
        for key, value in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True):
            if key == "signature":
                continue
            if key in out:
                raise ApiError(400, -1101, f"Duplicate values for parameter '{key}'.")
            out[key] = value
    return out


async def authenticate(request: web.Request, *, signed: bool) -> tuple[str, dict[str, str]]:
    """The API key and the parameters of a USER_STREAM (key only) or SIGNED request.

    The HMAC is checked on the query string and body exactly as received, before anything is parsed.
    """
    state = request.app[STATE_KEY]
    api_key = request.headers.get(API_KEY_HEADER)
    if not api_key:
        raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
    if not _KEY_RE.fullmatch(api_key):
        raise ApiError(401, -2014, "API-key format invalid.")
    account = state.exchange.account(api_key)
    if account is None:
        raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
    query = request.rel_url.raw_query_string.encode()
    body = await request.read()
    if not signed:
        return api_key, _params(query, body)
    query_unsigned, sig_q = _strip_signature(query)
    body_unsigned, sig_b = _strip_signature(body)
    signature = sig_q or sig_b
    if not signature:
        raise _mandatory("signature")
    if not verify(account.secret, query_unsigned + body_unsigned, signature):
        raise ApiError(400, -1022, "Signature for this request is not valid.")
    params = _params(query_unsigned, body_unsigned)
    _check_time(request, params)
    return api_key, params


def _check_time(request: web.Request, params: dict[str, str]) -> None:
    raw_ts = params.get("timestamp", "")
    if not raw_ts.isdigit():
        raise _mandatory("timestamp")
    ts = int(raw_ts)
    micro = request.headers.get("X-MBX-TIME-UNIT", "").upper() in ("MICROSECOND", "MICROSECONDS")
    if micro or ts > 10**14:
        ts //= 1000
    raw_window = params.get("recvWindow", "5000")
    try:
        window = Decimal(raw_window)
    except InvalidOperation:
        raise _mandatory("recvWindow") from None
    if not window.is_finite() or window <= 0:
        raise _mandatory("recvWindow")
    if window > 60_000:
        raise ApiError(400, -1131, "recvWindow must be less than 60000")
    server = now_ms() + request.app[STATE_KEY].exchange.faults.clock_skew_ms(roll=True)
    if ts >= server + 1000:
        raise ApiError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if server - ts > window:
        raise ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")


# ── parameters ──

_SPOT_CID: Final = re.compile(r"[a-zA-Z0-9\-_]{1,36}")
_USDM_CID: Final = re.compile(r"[.A-Z:/a-z0-9_\-]{1,36}")
_DECIMAL: Final = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?")


def _decimal(params: dict[str, str], name: str, *, required: bool) -> Decimal | None:
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise _mandatory(name)
        return None
    if not _DECIMAL.fullmatch(raw):
        raise ApiError(
            400,
            -1100,
            f"Illegal characters found in parameter '{name}'; "
            "legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
        )
    value = Decimal(raw)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > 8 and value != value.quantize(Decimal("1e-8")):
        raise ApiError(400, -1111, f"Parameter '{name}' has too much precision.")
    return value


def _int(params: dict[str, str], name: str, default: int | None = None) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(
            400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."
        ) from None


def _limit(params: dict[str, str], default: int = 500) -> int:
    limit = _int(params, "limit", default) or default
    if limit <= 0:
        raise ApiError(400, -1100, "Illegal characters found in parameter 'limit'.")
    return min(limit, 1000)


def _on_step(value: Decimal, step: Decimal) -> bool:
    return step <= 0 or value % step == 0


# ── JSON shapes ──


def _wire(symbol: str) -> str:
    return symbol.partition(":")[2]


def _side(side: Side) -> str:
    return "BUY" if side is Side.BUY else "SELL"


def order_json(state: EmulatorState, record: OrderRecord, *, query: bool) -> dict[str, Any]:
    """``GET /api/v3/order`` (spot) or ``/fapi/v1/order`` (USD-M) of one order."""
    meta = state.meta_of(record)
    m = meta.market
    if m == "spot":
        out: dict[str, Any] = {
            "symbol": _wire(record.symbol),
            "orderId": record.order_id,
            "orderListId": -1,
            "clientOrderId": record.client_id,
            "price": fmt(m, record.price),
            "origQty": fmt(m, record.quantity),
            "executedQty": fmt(m, record.filled_qty),
            "cummulativeQuoteQty": fmt(m, record.filled_quote),
            "status": state.status(record),
            "timeInForce": meta.tif,
            "type": meta.wire_type,
            "side": _side(record.side),
            "stopPrice": fmt(m, None),
            "icebergQty": fmt(m, None),
            "time": record.created_ms,
            "updateTime": record.updated_ms,
            "isWorking": True,
            "workingTime": record.created_ms,
            "origQuoteOrderQty": fmt(m, meta.quote_order_qty),
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }
        if not query:
            for name in ("stopPrice", "icebergQty", "time", "updateTime", "isWorking"):
                del out[name]
        return out
    out = {
        "orderId": record.order_id,
        "symbol": _wire(record.symbol),
        "status": state.status(record),
        "clientOrderId": record.client_id,
        "price": fmt(m, record.price),
        "avgPrice": fmt(m, record.avg_px),
        "origQty": fmt(m, record.quantity),
        "executedQty": fmt(m, record.filled_qty),
        "cumQty": fmt(m, record.filled_qty),
        "cumQuote": fmt(m, record.filled_quote),
        "timeInForce": meta.tif,
        "type": meta.wire_type,
        "reduceOnly": meta.reduce_only,
        "closePosition": False,
        "side": _side(record.side),
        "positionSide": "BOTH",
        "stopPrice": "0",
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": meta.wire_type,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
        "updateTime": record.updated_ms,
    }
    if query:
        out["time"] = record.created_ms
    return out


def _trade_json(state: EmulatorState, trade: TradeRecord) -> dict[str, Any]:
    market = market_of_symbol(trade.symbol) or "spot"
    buyer = trade.side is Side.BUY
    quote_qty = trade.qty * trade.price
    if market == "spot":
        return {
            "symbol": _wire(trade.symbol),
            "id": trade.trade_id,
            "orderId": trade.order_id,
            "orderListId": -1,
            "price": fmt(market, trade.price),
            "qty": fmt(market, trade.qty),
            "quoteQty": fmt(market, quote_qty),
            "commission": fmt(market, trade.fee),
            "commissionAsset": trade.fee_asset,
            "time": trade.time_ms,
            "isBuyer": buyer,
            "isMaker": trade.is_maker,
            "isBestMatch": True,
        }
    return {
        "buyer": buyer,
        "commission": fmt(market, trade.fee),
        "commissionAsset": trade.fee_asset,
        "id": trade.trade_id,
        "maker": trade.is_maker,
        "orderId": trade.order_id,
        "price": fmt(market, trade.price),
        "qty": fmt(market, trade.qty),
        "quoteQty": fmt(market, quote_qty),
        "realizedPnl": "0",
        "side": _side(trade.side),
        "positionSide": "BOTH",
        "symbol": _wire(trade.symbol),
        "time": trade.time_ms,
    }


def _precision(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 8


def _rate_limits(state: EmulatorState, market: Market) -> list[dict[str, Any]]:
    lim = state.limits
    weight = lim.spot_weight if market == "spot" else lim.usdm_weight
    orders = lim.spot_orders if market == "spot" else lim.usdm_orders

    def interval(seconds: float) -> tuple[str, int]:
        if seconds >= 60 and seconds % 60 == 0:
            return "MINUTE", int(seconds // 60)
        return "SECOND", max(1, int(seconds))

    w_int, w_num = interval(lim.weight_window_s)
    o_int, o_num = interval(lim.order_window_s)
    return [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": w_int, "intervalNum": w_num, "limit": weight},
        {"rateLimitType": "ORDERS", "interval": o_int, "intervalNum": o_num, "limit": orders},
    ]


def _spot_symbol(spec: InstrumentSpec) -> dict[str, Any]:
    m: Market = "spot"
    return {
        "symbol": _wire(spec.symbol),
        "status": "TRADING",
        "baseAsset": spec.base,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "amendAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt(m, spec.tick_size),
                "maxPrice": "1000000.00000000",
                "tickSize": fmt(m, spec.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt(m, spec.min_qty or spec.lot_size),
                "maxQty": "9000.00000000",
                "stepSize": fmt(m, spec.lot_size),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": fmt(m, spec.min_notional),
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_MAKER"],
    }


def _usdm_symbol(spec: InstrumentSpec) -> dict[str, Any]:
    m: Market = "usdm"
    wire = _wire(spec.symbol)
    return {
        "symbol": wire,
        "pair": wire,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": spec.base,
        "quoteAsset": spec.quote,
        "marginAsset": spec.settle,
        "pricePrecision": _precision(spec.tick_size),
        "quantityPrecision": _precision(spec.lot_size),
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt(m, spec.tick_size),
                "maxPrice": "4529764",
                "tickSize": fmt(m, spec.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt(m, spec.min_qty or spec.lot_size),
                "maxQty": "1000",
                "stepSize": fmt(m, spec.lot_size),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": fmt(m, spec.min_qty or spec.lot_size),
                "maxQty": "120",
                "stepSize": fmt(m, spec.lot_size),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MIN_NOTIONAL", "notional": fmt(m, spec.min_notional)},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": ["LIMIT", "MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }


# ── handlers ──

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _state(request: web.Request) -> EmulatorState:
    return request.app[STATE_KEY]


async def _ping(request: web.Request) -> web.Response:
    return _encode({})


async def _time(request: web.Request) -> web.Response:
    skew = request.app[STATE_KEY].exchange.faults.clock_skew_ms(roll=False)
    return _encode({"serverTime": now_ms() + skew})


def _exchange_info(market: Market) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        state = _state(request)
        specs = state.symbols(market)
        wanted = request.query.get("symbol")
        if wanted:
            specs = [state.spec(market, wanted)]
        body: dict[str, Any] = {
            "timezone": "UTC",
            "serverTime": now_ms(),
            "rateLimits": _rate_limits(state, market),
            "exchangeFilters": [],
        }
        if market == "spot":
            body["symbols"] = [_spot_symbol(s) for s in specs]
        else:
            body["futuresType"] = "U_MARGINED"
            settles = sorted({s.settle for s in specs})
            body["assets"] = [
                {"asset": a, "marginAvailable": True, "autoAssetExchange": "-10000"} for a in settles
            ]
            body["symbols"] = [_usdm_symbol(s) for s in specs]
        return _encode(body)

    return handler


def _book_ticker(market: Market) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        state = _state(request)
        wanted = request.query.get("symbol")
        specs = [state.spec(market, wanted)] if wanted else state.symbols(market)
        rows = []
        for spec in specs:
            quote = state.exchange.last_quote.get(spec.symbol)
            row: dict[str, Any] = {
                "symbol": _wire(spec.symbol),
                "bidPrice": fmt(market, quote.bid if quote else None),
                "bidQty": fmt(market, quote.bid_size if quote else None),
                "askPrice": fmt(market, quote.ask if quote else None),
                "askQty": fmt(market, quote.ask_size if quote else None),
            }
            if market == "usdm":
                row["time"] = quote.ts_event // 1_000_000 if quote else now_ms()
                row["lastUpdateId"] = state.update_ids.get(spec.symbol, 0)
            rows.append(row)
        return _encode(rows[0] if wanted else rows)

    return handler


def _depth(market: Market) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        state = _state(request)
        spec = state.spec(market, request.query.get("symbol"))
        quote = state.exchange.last_quote.get(spec.symbol)
        bids = [[fmt(market, quote.bid), fmt(market, quote.bid_size)]] if quote else []
        asks = [[fmt(market, quote.ask), fmt(market, quote.ask_size)]] if quote else []
        body: dict[str, Any] = {"lastUpdateId": state.update_ids.get(spec.symbol, 0)}
        if market == "usdm":
            body["E"] = body["T"] = now_ms()
        body["bids"], body["asks"] = bids, asks
        return _encode(body)

    return handler


def _order_fault(request: web.Request) -> str | None:
    return injected_fault(request, "418", "429", "reset", "timeout", "5xx", "accept-then-timeout")


async def _before(request: web.Request, fault: str | None) -> None:
    """The faults that strike before the request is processed."""
    if fault in ("418", "429"):
        state = request.app[STATE_KEY]
        market = _rest_market(request.path) or "spot"
        if fault == "418":
            raise state.injected_ban(request.remote or "127.0.0.1", market)
        raise state.injected_limit(request.headers.get("X-MBX-APIKEY", ""), market)
    if fault == "reset":
        reset(request)
    if fault == "timeout":
        await hang(request)
    if fault == "5xx":
        injected = request.app[STATE_KEY].exchange.faults.injected["5xx"]
        if injected % 2:
            raise ApiError(503, -1001, "Internal error; unable to process your request. Please try again.")
        raise ApiError(
            408,
            -1007,
            "Timeout waiting for response from backend server. "
            "Send status unknown; execution status unknown.",
        )


def _open_in_market(account: Account, market: Market) -> Iterable[OrderRecord]:
    return (r for r in account.orders.values() if r.state.is_open and market_of_symbol(r.symbol) == market)


def _reject_error(market: Market, record: OrderRecord, spec: InstrumentSpec) -> ApiError:
    code = record.reject_code
    if code in ("TICK_SIZE", "INVALID_PRICE"):
        return ApiError(400, -1013, "Filter failure: PRICE_FILTER")
    if code in ("LOT_SIZE", "MIN_QTY", "INVALID_QTY"):
        return ApiError(400, -1013, "Filter failure: LOT_SIZE")
    if code == "MIN_NOTIONAL":
        if market == "usdm":
            return ApiError(
                400,
                -4164,
                f"Order's notional must be no smaller than {fmt(market, spec.min_notional)} "
                "(unless you choose reduce only).",
            )
        return ApiError(400, -1013, "Filter failure: NOTIONAL")
    if code in ("INSUFFICIENT_CASH", "INSUFFICIENT_POSITION"):
        if market == "usdm":
            return ApiError(400, -2019, "Margin is insufficient.")
        return ApiError(400, -2010, "Account has insufficient balance for requested action.")
    if code == "REDUCE_ONLY":
        return ApiError(400, -2022, "ReduceOnly Order is rejected.")
    if code == "UNKNOWN_INSTRUMENT":
        return ApiError(400, -1121, "Invalid symbol.")
    if code == "NO_PRICE":
        return ApiError(400, -2010, "Order rejected: the market has no price yet.")
    return ApiError(400, -2010, f"Order rejected ({code}: {record.reject_reason}).")


@dataclass
class _NewOrder:
    spec: InstrumentSpec
    cmd: SubmitOrder
    meta: OrderMeta
    resp_type: str


def _parse_new_order(state: EmulatorState, market: Market, api_key: str, p: dict[str, str]) -> _NewOrder:
    spec = state.spec(market, p.get("symbol"))
    side_raw = p.get("side")
    if not side_raw:
        raise _mandatory("side")
    if side_raw not in ("BUY", "SELL"):
        raise ApiError(400, -1117, "Invalid side.")
    wire_type = p.get("type")
    if not wire_type:
        raise _mandatory("type")
    types = ("LIMIT", "MARKET", "LIMIT_MAKER") if market == "spot" else ("LIMIT", "MARKET")
    if wire_type not in types:
        raise ApiError(400, -1116, "Invalid orderType.")
    tif = p.get("timeInForce", "")
    if wire_type == "LIMIT":
        if not tif:
            raise _mandatory("timeInForce")
        allowed = ("GTC", "IOC", "FOK") if market == "spot" else ("GTC", "IOC", "FOK", "GTX")
        if tif not in allowed:
            raise ApiError(400, -1115, "Invalid timeInForce.")
    elif tif and market == "spot":
        raise ApiError(400, -1106, "Parameter 'timeInForce' sent when not required.")
    else:
        tif = "GTC"
    price = _decimal(p, "price", required=wire_type != "MARKET")
    if wire_type == "MARKET" and price is not None:
        raise ApiError(400, -1106, "Parameter 'price' sent when not required.")
    quote_qty = _decimal(p, "quoteOrderQty", required=False) if market == "spot" else None
    quantity = _decimal(p, "quantity", required=quote_qty is None or wire_type != "MARKET")
    if price is not None and price <= 0:
        raise ApiError(400, -1013, "Invalid price.")
    if quantity is None:
        assert quote_qty is not None
        quote = state.exchange.last_quote.get(spec.symbol)
        ref = None if quote is None else (quote.ask if side_raw == "BUY" else quote.bid)
        if not ref:
            raise ApiError(400, -2010, "Order rejected: the market has no price yet.")
        quantity = (quote_qty / ref / spec.lot_size).to_integral_value(ROUND_DOWN) * spec.lot_size
    if quantity <= 0:
        raise ApiError(400, -1013, "Invalid quantity.")
    # The filters in Binance's order, with Binance's words; the simulated venue checks them again.
    if price is not None and not _on_step(price, spec.tick_size):
        raise ApiError(400, -1013, "Filter failure: PRICE_FILTER")
    if not _on_step(quantity, spec.lot_size) or quantity < spec.min_qty:
        raise ApiError(400, -1013, "Filter failure: LOT_SIZE")
    reduce_only = p.get("reduceOnly", "false").lower() == "true" if market == "usdm" else False
    if market == "usdm" and p.get("positionSide", "BOTH") != "BOTH":
        raise ApiError(400, -4061, "Order's position side does not match user's setting.")
    cid = p.get("newClientOrderId") or ""
    if cid:
        pattern = _SPOT_CID if market == "spot" else _USDM_CID
        if not pattern.fullmatch(cid):
            raise ApiError(
                400,
                -1100,
                "Illegal characters found in parameter 'newClientOrderId'; "
                f"legal range is '^{pattern.pattern}$'.",
            )
    else:
        cid = state.next_id("emu-" if market == "spot" else "emuf-")
    account = state.exchange.accounts[api_key]
    if any(r.client_id == cid for r in _open_in_market(account, market)):
        account.duplicate_creates.append(cid)  # it reached the venue: the chaos harness counts it
        if market == "spot":
            raise ApiError(400, -2010, "Duplicate order sent.")
        raise ApiError(400, -4116, "ClientOrderId is duplicated.")
    post_only = wire_type == "LIMIT_MAKER" or tif == "GTX"
    if post_only:
        quote = state.exchange.last_quote.get(spec.symbol)
        assert price is not None
        if quote is not None and (price >= quote.ask if side_raw == "BUY" else price <= quote.bid):
            if market == "spot":
                raise ApiError(400, -2010, "Order would immediately match and take.")
            raise ApiError(
                400,
                -5022,
                "Due to the order could not be executed as maker, the Post Only order will be rejected. "
                "The order will not be recorded in the order history",
            )
    engine_tif = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}.get(
        tif, TimeInForce.GTC
    )
    if wire_type == "MARKET":
        engine_tif = TimeInForce.IOC  # a market order never rests: what the touch cannot fill expires
    now = time.time_ns()
    cmd = SubmitOrder(
        ts_event=now,
        ts_init=now,
        strategy="emulator",
        venue="binance",
        client_order_id=cid,
        instrument=spec.symbol,
        side=Side.BUY if side_raw == "BUY" else Side.SELL,
        order_type=OrderType.MARKET if wire_type == "MARKET" else OrderType.LIMIT,
        quantity=quantity,
        price=price,
        time_in_force=engine_tif,
        reduce_only=reduce_only,
    )
    default_resp = "ACK"
    if market == "spot" and wire_type in ("LIMIT", "MARKET"):
        default_resp = "FULL"
    resp_type = p.get("newOrderRespType") or default_resp
    allowed_resp = ("ACK", "RESULT", "FULL") if market == "spot" else ("ACK", "RESULT")
    if resp_type not in allowed_resp:
        raise ApiError(400, -1136, "Invalid newOrderRespType.")
    meta = OrderMeta(market, wire_type, tif, reduce_only, quote_qty or _ZERO)
    return _NewOrder(spec, cmd, meta, resp_type)


def _new_order(market: Market, *, test: bool = False) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        state = _state(request)
        api_key, params = await authenticate(request, signed=True)
        if not test:
            state.count_order(api_key, market, request[HEADERS_KEY])
        order = _parse_new_order(state, market, api_key, params)
        if test:
            return _encode({})
        fault = _order_fault(request)
        await _before(request, fault)
        # The user stream hears of the order inside submit(): it takes the metadata from `pending`.
        async with state.submitting:
            state.pending = order.meta
            try:
                record = await state.exchange.submit(api_key, order.cmd)
            finally:
                state.pending = None
            state.meta.setdefault(record.order_id, order.meta)
        if record.state is OrderState.REJECTED:
            raise _reject_error(market, record, order.spec)
        if fault == "accept-then-timeout":
            await hang(request)
        return _encode(_new_order_json(state, record, order.resp_type, api_key))

    return handler


def _new_order_json(
    state: EmulatorState, record: OrderRecord, resp_type: str, api_key: str
) -> dict[str, Any]:
    meta = state.meta_of(record)
    if meta.market == "usdm":
        out = order_json(state, record, query=False)
        if resp_type == "ACK":
            # the ack leaves before matching: what the order was when the engine took it
            out.update(
                status="NEW",
                avgPrice="0",
                executedQty="0",
                cumQty="0",
                cumQuote="0",
                updateTime=record.created_ms,
            )
        return out
    ack: dict[str, Any] = {
        "symbol": _wire(record.symbol),
        "orderId": record.order_id,
        "orderListId": -1,
        "clientOrderId": record.client_id,
        "transactTime": record.created_ms,
    }
    if resp_type == "ACK":
        return ack
    result = order_json(state, record, query=False)
    result["transactTime"] = record.created_ms
    if resp_type == "FULL":
        m = meta.market
        result["fills"] = [
            {
                "price": fmt(m, t.price),
                "qty": fmt(m, t.qty),
                "commission": fmt(m, t.fee),
                "commissionAsset": t.fee_asset,
                "tradeId": t.trade_id,
            }
            for t in state.exchange.trades(api_key, record.symbol)
            if t.order_id == record.order_id
        ]
    return result


def _lookup(
    state: EmulatorState, market: Market, api_key: str, p: dict[str, str], *, missing: ApiError
) -> OrderRecord:
    spec = state.spec(market, p.get("symbol"))
    order_id = _int(p, "orderId")
    client_id = p.get("origClientOrderId") or ""
    if order_id is None and not client_id:
        raise ApiError(
            400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
        )
    account = state.exchange.accounts[api_key]
    found: OrderRecord | None = None
    if order_id is not None:
        found = account.orders.get(order_id)
        if found is not None and client_id and found.client_id != client_id:
            found = None
    else:
        for record in account.orders.values():
            if (
                record.client_id == client_id
                and record.symbol == spec.symbol
                and record.state is not OrderState.REJECTED
            ):
                found = record
    if found is None or found.symbol != spec.symbol or found.state is OrderState.REJECTED:
        raise missing
    return found


def _get_order(market: Market) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        state = _state(request)
        api_key, p = await authenticate(request, signed=True)
        record = _lookup(state, market, api_key, p, missing=ApiError(400, -2013, "Order does not exist."))
        return _encode(order_json(state, record, query=True))

    return handler


async def _cancel_one(
    state: EmulatorState, api_key: str, record: OrderRecord, cancel_id: str
) -> dict[str, Any]:
    meta = state.meta_of(record)
    if meta.market == "spot":
        state.cancel_ids[record.order_id] = cancel_id
    state.user_canceled.add(record.order_id)
    if not await state.exchange.cancel(api_key, record):
        state.user_canceled.discard(record.order_id)
        raise ApiError(400, -2011, "Unknown order sent.")
    out = order_json(state, record, query=False)
    if meta.market == "spot":
        # the cancel's own client id is clientOrderId; the order's is origClientOrderId
        rest = {
            k: v for k, v in out.items() if k not in ("symbol", "orderId", "orderListId", "clientOrderId")
        }
        rest.pop("workingTime", None)
        out = {
            "symbol": out["symbol"],
            "origClientOrderId": record.client_id,
            "orderId": record.order_id,
            "orderListId": -1,
            "clientOrderId": cancel_id,
            "transactTime": record.updated_ms,
            **rest,
        }
    return out


def _cancel_order(market: Market) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        state = _state(request)
        api_key, p = await authenticate(request, signed=True)
        record = _lookup(state, market, api_key, p, missing=ApiError(400, -2011, "Unknown order sent."))
        if not record.state.is_open:
            raise ApiError(400, -2011, "Unknown order sent.")
        fault = _order_fault(request)
        await _before(request, fault)
        cancel_id = p.get("newClientOrderId") or state.next_id("cancel-")
        out = await _cancel_one(state, api_key, record, cancel_id)
        if fault == "accept-then-timeout":
            await hang(request)
        return _encode(out)

    return handler


def _cancel_all(market: Market) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        state = _state(request)
        api_key, p = await authenticate(request, signed=True)
        spec = state.spec(market, p.get("symbol"))
        records = [r for r in state.exchange.open_orders(api_key, spec.symbol)]
        if market == "spot" and not records:
            raise ApiError(400, -2011, "Unknown order sent.")
        out = [await _cancel_one(state, api_key, r, state.next_id("cancel-")) for r in records]
        if market == "usdm":
            return _encode({"code": 200, "msg": "The operation of cancel all open order is done."})
        return _encode(out)

    return handler


def _open_orders(market: Market) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        state = _state(request)
        api_key, p = await authenticate(request, signed=True)
        symbol = state.spec(market, p["symbol"]).symbol if p.get("symbol") else None
        account = state.exchange.accounts[api_key]
        rows = [
            order_json(state, r, query=True)
            for r in _open_in_market(account, market)
            if symbol is None or r.symbol == symbol
        ]
        return _encode(rows)

    return handler


def _all_orders(market: Market) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        state = _state(request)
        api_key, p = await authenticate(request, signed=True)
        spec = state.spec(market, p.get("symbol"))
        from_id = _int(p, "orderId")
        start, end = _int(p, "startTime"), _int(p, "endTime")
        limit = _limit(p)
        rows = [
            r
            for r in state.exchange.accounts[api_key].orders.values()
            if r.symbol == spec.symbol
            and r.state is not OrderState.REJECTED
            and (from_id is None or r.order_id >= from_id)
            and (start is None or r.created_ms >= start)
            and (end is None or r.created_ms <= end)
        ]
        rows.sort(key=lambda r: r.order_id)
        rows = rows[:limit] if from_id is not None or start is not None else rows[-limit:]
        return _encode([order_json(state, r, query=True) for r in rows])

    return handler


def _my_trades(market: Market) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        state = _state(request)
        api_key, p = await authenticate(request, signed=True)
        spec = state.spec(market, p.get("symbol"))
        order_id, from_id = _int(p, "orderId"), _int(p, "fromId")
        start, end = _int(p, "startTime"), _int(p, "endTime")
        limit = _limit(p)
        rows = [
            t
            for t in state.exchange.trades(api_key, spec.symbol)
            if (order_id is None or t.order_id == order_id)
            and (from_id is None or t.trade_id >= from_id)
            and (start is None or t.time_ms >= start)
            and (end is None or t.time_ms <= end)
        ]
        rows.sort(key=lambda t: t.trade_id)
        rows = rows[:limit] if from_id is not None or start is not None else rows[-limit:]
        return _encode([_trade_json(state, t) for t in rows])

    return handler


async def _spot_account(request: web.Request) -> web.Response:
    state = _state(request)
    api_key, _p = await authenticate(request, signed=True)
    specs = state.symbols("spot")
    maker = specs[0].maker_fee_bps if specs else _ZERO
    taker = specs[0].taker_fee_bps if specs else _ZERO
    balances = [
        {"asset": asset, "free": fmt("spot", free), "locked": fmt("spot", locked)}
        for asset, (free, locked) in state.exchange.balances(api_key).items()
    ]
    return _encode(
        {
            "makerCommission": int(maker),
            "takerCommission": int(taker),
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": fmt("spot", maker / 10_000),
                "taker": fmt("spot", taker / 10_000),
                "buyer": fmt("spot", _ZERO),
                "seller": fmt("spot", _ZERO),
            },
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": now_ms(),
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": 1,
        }
    )


# ── USD-M account ──


@dataclass
class _Position:
    spec: InstrumentSpec
    qty: Decimal
    entry: Decimal
    mark: Decimal
    leverage: int

    @property
    def notional(self) -> Decimal:
        return self.qty * self.mark * self.spec.multiplier

    @property
    def pnl(self) -> Decimal:
        return (self.mark - self.entry) * self.qty * self.spec.multiplier if self.qty else _ZERO

    @property
    def initial_margin(self) -> Decimal:
        return abs(self.notional) / self.leverage


def _positions(state: EmulatorState, api_key: str) -> list[_Position]:
    out = []
    for spec in state.symbols("usdm"):
        qty, entry = state.exchange.position(api_key, spec.symbol)
        quote = state.exchange.last_quote.get(spec.symbol)
        mark = (quote.bid + quote.ask) / 2 if quote else entry
        out.append(_Position(spec, qty, entry, mark, state.leverage.get((api_key, spec.symbol), 20)))
    return out


def _usdm_assets(state: EmulatorState, api_key: str) -> list[dict[str, Any]]:
    balances = state.exchange.balances(api_key)
    positions = _positions(state, api_key)
    rows = []
    for asset in sorted({s.settle for s in state.symbols("usdm")}):
        free, locked = balances.get(asset, (_ZERO, _ZERO))
        wallet = free + locked
        pnl = sum((p.pnl for p in positions if p.spec.settle == asset), _ZERO)
        margin = sum((p.initial_margin for p in positions if p.spec.settle == asset), _ZERO)
        available = max(free - margin + pnl, _ZERO)
        rows.append(
            {
                "asset": asset,
                "walletBalance": wallet,
                "unrealizedProfit": pnl,
                "marginBalance": wallet + pnl,
                "maintMargin": margin / 10,
                "initialMargin": margin,
                "positionInitialMargin": margin,
                "openOrderInitialMargin": _ZERO,
                "crossWalletBalance": wallet,
                "crossUnPnl": pnl,
                "availableBalance": available,
                "maxWithdrawAmount": available,
            }
        )
    return rows


def _fmt_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: fmt("usdm", v) if isinstance(v, Decimal) else v for k, v in row.items()}


def _usdm_account(version: int) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        state = _state(request)
        api_key, _p = await authenticate(request, signed=True)
        assets = _usdm_assets(state, api_key)
        positions = _positions(state, api_key)
        now = now_ms()

        def total(name: str) -> Decimal:
            return sum((a[name] for a in assets), _ZERO)

        body: dict[str, Any] = {
            "totalInitialMargin": total("initialMargin"),
            "totalMaintMargin": total("maintMargin"),
            "totalWalletBalance": total("walletBalance"),
            "totalUnrealizedProfit": total("unrealizedProfit"),
            "totalMarginBalance": total("marginBalance"),
            "totalPositionInitialMargin": total("positionInitialMargin"),
            "totalOpenOrderInitialMargin": _ZERO,
            "totalCrossWalletBalance": total("crossWalletBalance"),
            "totalCrossUnPnl": total("crossUnPnl"),
            "availableBalance": total("availableBalance"),
            "maxWithdrawAmount": total("maxWithdrawAmount"),
        }
        if version == 2:
            body = {
                "feeTier": 0,
                "feeBurn": False,
                "canTrade": True,
                "canDeposit": True,
                "canWithdraw": True,
                "updateTime": 0,
                "multiAssetsMargin": False,
                "tradeGroupId": -1,
                **body,
            }
        body = _fmt_row(body)
        body["assets"] = [{**_fmt_row(a), "marginAvailable": True, "updateTime": now} for a in assets]
        rows = []
        for pos in positions:
            if version == 3 and not pos.qty:
                continue
            row: dict[str, Any] = {
                "symbol": _wire(pos.spec.symbol),
                "positionSide": "BOTH",
                "positionAmt": fmt("usdm", pos.qty),
                "unrealizedProfit": fmt("usdm", pos.pnl),
                "isolatedMargin": "0",
                "notional": fmt("usdm", pos.notional),
                "isolatedWallet": "0",
                "initialMargin": fmt("usdm", pos.initial_margin),
                "maintMargin": fmt("usdm", pos.initial_margin / 10),
                "updateTime": now,
            }
            if version == 2:
                row.update(
                    leverage=str(pos.leverage),
                    isolated=False,
                    entryPrice=fmt("usdm", pos.entry),
                    breakEvenPrice=fmt("usdm", pos.entry),
                    maxNotional="250000",
                    positionInitialMargin=fmt("usdm", pos.initial_margin),
                    openOrderInitialMargin="0",
                    bidNotional="0",
                    askNotional="0",
                )
            rows.append(row)
        body["positions"] = rows
        return _encode(body)

    return handler


async def _usdm_balance(request: web.Request) -> web.Response:
    state = _state(request)
    api_key, _p = await authenticate(request, signed=True)
    now = now_ms()
    rows = [
        {
            "accountAlias": "emulator",
            "asset": a["asset"],
            "balance": fmt("usdm", a["walletBalance"]),
            "crossWalletBalance": fmt("usdm", a["crossWalletBalance"]),
            "crossUnPnl": fmt("usdm", a["crossUnPnl"]),
            "availableBalance": fmt("usdm", a["availableBalance"]),
            "maxWithdrawAmount": fmt("usdm", a["maxWithdrawAmount"]),
            "marginAvailable": True,
            "updateTime": now,
        }
        for a in _usdm_assets(state, api_key)
    ]
    return _encode(rows)


async def _position_risk(request: web.Request) -> web.Response:
    state = _state(request)
    api_key, p = await authenticate(request, signed=True)
    wanted = state.spec("usdm", p["symbol"]).symbol if p.get("symbol") else None
    rows = [
        {
            "symbol": _wire(pos.spec.symbol),
            "positionAmt": fmt("usdm", pos.qty),
            "entryPrice": fmt("usdm", pos.entry),
            "breakEvenPrice": fmt("usdm", pos.entry),
            "markPrice": fmt("usdm", pos.mark),
            "unRealizedProfit": fmt("usdm", pos.pnl),
            "liquidationPrice": "0",
            "leverage": str(pos.leverage),
            "maxNotionalValue": "250000",
            "marginType": "cross",
            "isolatedMargin": "0",
            "isAutoAddMargin": "false",
            "positionSide": "BOTH",
            "notional": fmt("usdm", pos.notional),
            "isolatedWallet": "0",
            "updateTime": now_ms(),
        }
        for pos in _positions(state, api_key)
        if wanted is None or pos.spec.symbol == wanted
    ]
    return _encode(rows)


async def _leverage(request: web.Request) -> web.Response:
    state = _state(request)
    api_key, p = await authenticate(request, signed=True)
    spec = state.spec("usdm", p.get("symbol"))
    leverage = _int(p, "leverage")
    if leverage is None:
        raise _mandatory("leverage")
    if not 1 <= leverage <= 125:
        raise ApiError(400, -4028, f"Leverage {leverage} is not valid")
    state.leverage[(api_key, spec.symbol)] = leverage
    return _encode({"leverage": leverage, "maxNotionalValue": "250000", "symbol": _wire(spec.symbol)})


async def _dual_get(request: web.Request) -> web.Response:
    await authenticate(request, signed=True)
    return _encode({"dualSidePosition": False})


async def _dual_post(request: web.Request) -> web.Response:
    _key, p = await authenticate(request, signed=True)
    if p.get("dualSidePosition", "false").lower() == "true":
        raise ApiError(400, -4059, "No need to change position side.")  # the emulator is one-way only
    return _encode({"code": 200, "msg": "success"})


# ── listen keys ──


def _listen_key(market: Market) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        state = _state(request)
        api_key, p = await authenticate(request, signed=False)
        if request.method == "POST":
            return _encode({"listenKey": state.listen_key(api_key, market).key})
        key = p.get("listenKey")
        if market == "usdm" and not key:
            key = next(
                (k.key for k in state.listen_keys.values() if k.api_key == api_key and k.market == market), ""
            )
        if not key and market == "spot":
            raise _mandatory("listenKey")
        lk = state.listen_keys.get(key or "")
        if lk is None or lk.api_key != api_key or lk.market != market:
            raise ApiError(400, -1125, "This listenKey does not exist.")
        if request.method == "PUT":
            lk.expires_at = time.monotonic() + state.limits.listen_key_ttl_s
            return _encode({"listenKey": key} if market == "usdm" else {})
        state.listen_keys.pop(lk.key, None)
        return _encode({})

    return handler


def add_rest_routes(app: web.Application) -> None:
    r = app.router
    for market, base in (("spot", "/api/v3"), ("usdm", "/fapi/v1")):
        m: Market = market  # type: ignore[assignment]
        r.add_get(f"{base}/ping", _ping)
        r.add_get(f"{base}/time", _time)
        r.add_get(f"{base}/exchangeInfo", _exchange_info(m))
        r.add_get(f"{base}/ticker/bookTicker", _book_ticker(m))
        r.add_get(f"{base}/depth", _depth(m))
        r.add_post(f"{base}/order", _new_order(m))
        r.add_get(f"{base}/order", _get_order(m))
        r.add_delete(f"{base}/order", _cancel_order(m))
        r.add_get(f"{base}/openOrders", _open_orders(m))
        r.add_get(f"{base}/allOrders", _all_orders(m))
    r.add_post("/api/v3/order/test", _new_order("spot", test=True))
    r.add_delete("/api/v3/openOrders", _cancel_all("spot"))
    r.add_delete("/fapi/v1/allOpenOrders", _cancel_all("usdm"))
    r.add_get("/api/v3/myTrades", _my_trades("spot"))
    r.add_get("/fapi/v1/userTrades", _my_trades("usdm"))
    r.add_get("/api/v3/account", _spot_account)
    for method in ("POST", "PUT", "DELETE"):
        r.add_route(method, "/api/v3/userDataStream", _listen_key("spot"))
        r.add_route(method, "/fapi/v1/listenKey", _listen_key("usdm"))
    r.add_post("/fapi/v1/leverage", _leverage)
    r.add_get("/fapi/v1/positionSide/dual", _dual_get)
    r.add_post("/fapi/v1/positionSide/dual", _dual_post)
    r.add_get("/fapi/v2/account", _usdm_account(2))
    r.add_get("/fapi/v3/account", _usdm_account(3))
    r.add_get("/fapi/v2/balance", _usdm_balance)
    r.add_get("/fapi/v3/balance", _usdm_balance)
    r.add_get("/fapi/v2/positionRisk", _position_risk)
    r.add_get("/fapi/v3/positionRisk", _position_risk)
