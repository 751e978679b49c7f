"""The Bybit v5 emulator's venue state, its wire encoding and its REST routes (see
:mod:`adapters.bybit.emulator` for what it speaks).

Everything here encodes and decodes Bybit's wire format on its own, from Bybit's documentation: it
shares no schema or parser with the Bybit client, so that a mistake in one is caught by the other.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, Final, Literal

import msgspec
from aiohttp import web

from adapters.bybit.signing import verify_rest
from adapters.emulator.exchange import Exchange, MarketEvent, OrderRecord, OrderState, TradeRecord
from adapters.emulator.server import delay, hang, injected_fault, reset
from engines.model.commands import SubmitOrder
from engines.model.enums import OrderType, Side, TimeInForce
from engines.model.events import QuoteTick
from engines.model.instruments import InstrumentSpec

__all__ = [
    "VENUE_KEY",
    "BybitLimits",
    "BybitVenue",
    "add_rest_routes",
    "dec",
    "exec_id",
    "order_id",
    "parse_order_id",
]

Category = Literal["spot", "linear"]
CATEGORIES: Final[dict[str, str]] = {"spot": "bybit-spot:", "linear": "bybit-linear:"}
_ZERO: Final = Decimal(0)

# Bybit's order ids are UUIDs; ours carry the exchange's numeric id in their low 48 bits, under a
# fixed prefix, so that the mapping needs no table and a foreign UUID is never mistaken for ours.
_ORDER_NS: Final = 0x0B7B1E00_0000_4000_8000_000000000000
_EXEC_NS: Final = 0x0E7EC000_0000_4000_8000_000000000000
_LOW48: Final = (1 << 48) - 1


def order_id(n: int) -> str:
    return str(uuid.UUID(int=_ORDER_NS | n))


def exec_id(n: int) -> str:
    return str(uuid.UUID(int=_EXEC_NS | n))


def parse_order_id(text: str) -> int | None:
    try:
        value = uuid.UUID(text).int
    except ValueError:
        return None
    return value & _LOW48 if value & ~_LOW48 == _ORDER_NS else None


def dec(x: Decimal) -> str:
    """A decimal as Bybit writes it: plain notation, no exponent, no trailing zeros."""
    if not x:
        return "0"
    text = format(x.normalize(), "f")
    return text


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def category_of(symbol: str) -> Category:
    return "spot" if symbol.startswith(CATEGORIES["spot"]) else "linear"


def venue_symbol(symbol: str) -> str:
    return symbol.partition(":")[2]


# ── limits ──────────────────────────────────────────────────────────────────────────────────────


class BybitLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Request limits as Bybit documents them (v5 "rate limit" page): per UID, per endpoint and
    category, per second; and per IP, 600 requests in any 5 s (HTTP 403, then a ban of 10 minutes).
    Tests pass smaller numbers to reach them quickly."""

    create_spot: int = 20
    create_linear: int = 10
    cancel_spot: int = 20
    cancel_linear: int = 10
    cancel_all_spot: int = 20
    cancel_all_linear: int = 10
    #: every other signed endpoint (order/realtime, execution/list, wallet-balance, ...)
    default: int = 50
    window_ms: int = 1_000
    ip_requests: int = 600
    ip_window_ms: int = 5_000
    ip_ban_ms: int = 600_000

    def per_window(self, path: str, category: str) -> int:
        name = path.removeprefix("/v5/order/").replace("-", "_")
        if name in ("create", "cancel", "cancel_all") and category in ("spot", "linear"):
            return int(getattr(self, f"{name}_{category}"))
        return self.default


@dataclass
class _Window:
    start_ms: int
    count: int = 0


# ── the venue's state ───────────────────────────────────────────────────────────────────────────

UserSink = Callable[[OrderRecord, TradeRecord | None], None]
MarketSink = Callable[[MarketEvent], None]


@dataclass
class _Book:
    """The level-1 book of one instrument as the public stream numbers it."""

    u: int = 0
    seq: int = 0
    quote: QuoteTick | None = None


@dataclass
class BybitVenue:
    """What the Bybit emulator keeps beyond the exchange core: the orderLinkIds it has seen, which
    cancels came from the user, post-only orders it killed, the rate-limit windows, the numbering
    of its public streams and the fan-out of events to WebSocket connections."""

    exchange: Exchange
    limits: BybitLimits
    link_ids: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    user_canceled: set[int] = field(default_factory=set)
    post_only: set[int] = field(default_factory=set)
    #: a quote-unit spot market buy: order id → (qty as sent, "quoteCoin")
    market_unit: dict[int, tuple[str, str]] = field(default_factory=dict)
    #: post-only orders that would have taken: canceled at once, never seen by the exchange core
    killed: dict[str, dict[int, OrderRecord]] = field(default_factory=dict)
    user_sinks: dict[str, list[UserSink]] = field(default_factory=dict)
    market_sinks: list[MarketSink] = field(default_factory=list)
    books: dict[str, _Book] = field(default_factory=dict)
    windows: dict[tuple[str, str, str], _Window] = field(default_factory=dict)
    ip_windows: dict[str, _Window] = field(default_factory=dict)
    ip_banned_until: dict[str, int] = field(default_factory=dict)
    next_killed_id: int = 1 << 40
    next_conn: int = 1
    next_message: int = 1
    public_seq: int = 1_000

    def __post_init__(self) -> None:
        for key in self.exchange.accounts:
            self.user_sinks[key] = []
            self.killed[key] = {}
            self.exchange.on_user(key, self._fan_out(key))
        self.exchange.on_market(self._on_market)

    def _fan_out(self, api_key: str) -> UserSink:
        def deliver(record: OrderRecord, trade: TradeRecord | None) -> None:
            for sink in list(self.user_sinks[api_key]):
                sink(record, trade)

        return deliver

    def _on_market(self, event: MarketEvent) -> None:
        book = self.books.setdefault(event.instrument, _Book())
        self.public_seq += 1
        if isinstance(event, QuoteTick):
            book.u += 1
            book.seq = self.public_seq
            book.quote = event
        for sink in list(self.market_sinks):
            sink(event)

    def conn_id(self) -> str:
        self.next_conn += 1
        return f"emu{self.next_conn - 1:06d}-bybit"

    def message_id(self) -> str:
        self.next_message += 1
        return str(uuid.UUID(int=(0x5E55A9E0 << 96) | (self.next_message - 1)))

    # ── orders as Bybit shows them ──

    def spec(self, category: str, symbol: str) -> InstrumentSpec | None:
        prefix = CATEGORIES.get(category)
        return None if prefix is None else self.exchange.specs.get(prefix + symbol)

    def visible_orders(self, api_key: str) -> list[OrderRecord]:
        """Every order Bybit would know of, newest first: a create refused with a retCode never
        made an order."""
        core = [
            r for r in self.exchange.accounts[api_key].orders.values() if r.state is not OrderState.REJECTED
        ]
        return sorted([*core, *self.killed[api_key].values()], key=lambda r: r.order_id, reverse=True)

    def find(self, api_key: str, category: str, oid: str, link: str) -> OrderRecord | None:
        prefix = CATEGORIES[category]
        for record in self.visible_orders(api_key):
            if not record.symbol.startswith(prefix):
                continue
            if oid and order_id(record.order_id) == oid:
                return record
            if not oid and link and record.client_id == link:
                return record
        return None

    def status(self, record: OrderRecord) -> str:
        state = record.state
        if state is OrderState.NEW:
            return "New"
        if state is OrderState.PARTIALLY_FILLED:
            return "PartiallyFilled"
        if state is OrderState.FILLED:
            return "Filled"
        if state is OrderState.REJECTED:
            return "Rejected"
        if category_of(record.symbol) == "spot" and record.filled_qty > 0:
            return "PartiallyFilledCanceled"
        return "Cancelled"

    def order_row(self, api_key: str, record: OrderRecord, *, with_category: bool = False) -> dict[str, Any]:
        category = category_of(record.symbol)
        fees = sum((t.fee for t in self.exchange.trades(api_key) if t.order_id == record.order_id), _ZERO)
        fee_currency = next(
            (t.fee_asset for t in self.exchange.trades(api_key) if t.order_id == record.order_id), ""
        )
        price = record.price if record.price is not None else _ZERO
        leaves = record.leaves_qty
        ended = not record.state.is_open
        if record.order_id in self.post_only:
            tif = "PostOnly"
        elif record.order_type is OrderType.MARKET:
            tif = "IOC"
        else:
            tif = record.time_in_force.value.upper()
        if record.state in (OrderState.CANCELED, OrderState.EXPIRED):
            cancel_type = "CancelByUser" if record.order_id in self.user_canceled else "UNKNOWN"
        else:
            cancel_type = "UNKNOWN"
        reject = record.reject_reason if record.order_id in self.killed[api_key] else "EC_NoError"
        qty, unit = self.market_unit.get(record.order_id, (dec(record.quantity), ""))
        row: dict[str, Any] = {
            "orderId": order_id(record.order_id),
            "orderLinkId": record.client_id,
            "blockTradeId": "",
            "symbol": venue_symbol(record.symbol),
            "price": dec(price),
            "qty": qty,
            "side": "Buy" if record.side is Side.BUY else "Sell",
            "isLeverage": "0" if category == "spot" else "",
            "positionIdx": 0,
            "orderStatus": self.status(record),
            "createType": "CreateByUser",
            "cancelType": cancel_type,
            "rejectReason": reject,
            "avgPrice": dec(record.avg_px) if record.filled_qty else ("" if category == "spot" else "0"),
            "leavesQty": dec(leaves),
            "leavesValue": dec(leaves * price),
            "cumExecQty": dec(record.filled_qty),
            "cumExecValue": dec(record.filled_quote),
            "cumExecFee": dec(fees),
            "feeCurrency": fee_currency if category == "spot" else "",
            "timeInForce": tif,
            "orderType": "Market" if record.order_type is OrderType.MARKET else "Limit",
            "stopOrderType": "",
            "orderIv": "",
            "marketUnit": unit,
            "triggerPrice": "0",
            "takeProfit": "0",
            "stopLoss": "0",
            "tpslMode": "",
            "tpLimitPrice": "0",
            "slLimitPrice": "0",
            "tpTriggerBy": "",
            "slTriggerBy": "",
            "triggerDirection": 0,
            "triggerBy": "",
            "lastPriceOnCreated": "",
            "reduceOnly": record.reduce_only,
            "closeOnTrigger": False,
            "placeType": "",
            "smpType": "None",
            "smpGroup": 0,
            "smpOrderId": "",
            "closedPnl": "0",
            "createdTime": str(record.created_ms),
            "updatedTime": str(record.updated_ms),
        }
        if with_category:
            row = {"category": category, **row}
        if ended and category == "linear":
            row["leavesValue"] = "0"
        return row

    def exec_row(self, api_key: str, trade: TradeRecord, *, with_category: bool = False) -> dict[str, Any]:
        category = category_of(trade.symbol)
        record = self.exchange.accounts[api_key].orders.get(trade.order_id)
        qty = record.quantity if record is not None else trade.cum_qty
        price = record.price if record is not None and record.price is not None else _ZERO
        value = trade.qty * trade.price
        # the rate is of what the fee is charged in: the base coin's quantity or the quote value
        in_base = trade.fee_asset == self.exchange.specs[trade.symbol].base
        basis = trade.qty if in_base else value
        fee_rate = trade.fee / basis if basis else _ZERO
        row: dict[str, Any] = {
            "symbol": venue_symbol(trade.symbol),
            "orderId": order_id(trade.order_id),
            "orderLinkId": trade.client_id,
            "side": "Buy" if trade.side is Side.BUY else "Sell",
            "orderPrice": dec(price),
            "orderQty": dec(qty),
            "leavesQty": dec(max(qty - trade.cum_qty, _ZERO)),
            "createType": "CreateByUser",
            "orderType": "Market"
            if record is not None and record.order_type is OrderType.MARKET
            else "Limit",
            "stopOrderType": "",
            "execFee": dec(trade.fee),
            "feeCurrency": trade.fee_asset if category == "spot" else "",
            "execId": exec_id(trade.trade_id),
            "execPrice": dec(trade.price),
            "execQty": dec(trade.qty),
            "execType": "Trade",
            "execValue": dec(value),
            "execTime": str(trade.time_ms),
            "isMaker": trade.is_maker,
            "feeRate": dec(fee_rate.quantize(Decimal("1e-8")).normalize()) if fee_rate else "0",
            "tradeIv": "",
            "markIv": "",
            "markPrice": dec(trade.price),
            "indexPrice": "",
            "underlyingPrice": "",
            "blockTradeId": "",
            "closedSize": "0",
            "execPnl": "0",
            "isLeverage": "0" if category == "spot" else "",
            "seq": trade.trade_id,
            "extraFees": "",
        }
        return {"category": category, **row} if with_category else row

    def wallet(self, api_key: str, coins: Iterable[str] | None = None) -> dict[str, Any]:
        wanted = set(coins) if coins is not None else None
        rows: list[dict[str, Any]] = []
        total = _ZERO
        for asset, (free, locked) in self.exchange.balances(api_key).items():
            if wanted is not None and asset not in wanted:
                continue
            balance = free + locked
            usd = balance * self._usd_price(asset)
            total += usd
            rows.append(
                {
                    "coin": asset,
                    "equity": dec(balance),
                    "usdValue": dec(usd),
                    "walletBalance": dec(balance),
                    "free": dec(free),
                    "locked": dec(locked),
                    "spotHedgingQty": "0",
                    "borrowAmount": "0",
                    "availableToWithdraw": dec(free),
                    "availableToBorrow": "",
                    "accruedInterest": "0",
                    "totalOrderIM": "0",
                    "totalPositionIM": "0",
                    "totalPositionMM": "0",
                    "unrealisedPnl": "0",
                    "cumRealisedPnl": "0",
                    "bonus": "0",
                    "marginCollateral": True,
                    "collateralSwitch": True,
                    "spotBorrow": "0",
                }
            )
        return {
            "accountType": "UNIFIED",
            "accountIMRate": "0",
            "accountMMRate": "0",
            "accountLTV": "0",
            "totalEquity": dec(total),
            "totalWalletBalance": dec(total),
            "totalMarginBalance": dec(total),
            "totalAvailableBalance": dec(total),
            "totalPerpUPL": "0",
            "totalInitialMargin": "0",
            "totalMaintenanceMargin": "0",
            "coin": rows,
        }

    def _usd_price(self, asset: str) -> Decimal:
        if asset in ("USDT", "USDC", "USD"):
            return Decimal(1)
        for symbol, quote in self.exchange.last_quote.items():
            spec = self.exchange.specs[symbol]
            if spec.base == asset and spec.quote == "USDT":
                return (quote.bid + quote.ask) / 2
        return _ZERO

    def position_row(self, api_key: str, spec: InstrumentSpec) -> dict[str, Any]:
        qty, avg = self.exchange.position(api_key, spec.symbol)
        quote = self.exchange.last_quote.get(spec.symbol)
        mark = (quote.bid + quote.ask) / 2 if quote is not None else avg
        size = abs(qty)
        return {
            "positionIdx": 0,
            "riskId": 1,
            "riskLimitValue": "2000000",
            "symbol": venue_symbol(spec.symbol),
            "side": "" if not qty else ("Buy" if qty > 0 else "Sell"),
            "size": dec(size),
            "avgPrice": dec(avg) if qty else "0",
            "entryPrice": dec(avg) if qty else "0",
            "positionValue": dec(size * avg),
            "tradeMode": 0,
            "positionStatus": "Normal",
            "autoAddMargin": 0,
            "adlRankIndicator": 2 if qty else 0,
            "leverage": "10",
            "positionBalance": "0",
            "markPrice": dec(mark),
            "liqPrice": "",
            "bustPrice": "",
            "positionMM": "0",
            "positionIM": "0",
            "tpslMode": "Full",
            "takeProfit": "0",
            "stopLoss": "0",
            "trailingStop": "0",
            "unrealisedPnl": dec((mark - avg) * qty) if qty else "0",
            "curRealisedPnl": "0",
            "cumRealisedPnl": "0",
            "sessionAvgPrice": "",
            "isReduceOnly": False,
            "createdTime": "0",
            "updatedTime": str(now_ms()),
            "seq": 0,
        }


VENUE_KEY: web.AppKey[BybitVenue] = web.AppKey("bybit_venue", BybitVenue)


# ── envelopes and errors ────────────────────────────────────────────────────────────────────────


class BybitError(Exception):
    """A business error: HTTP 200 with ``retCode`` and ``retMsg``."""

    def __init__(self, ret_code: int, ret_msg: str) -> None:
        super().__init__(f"{ret_code}: {ret_msg}")
        self.ret_code = ret_code
        self.ret_msg = ret_msg


def envelope(
    result: Mapping[str, Any] | None,
    *,
    ret_code: int = 0,
    ret_msg: str = "OK",
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    body = {
        "retCode": ret_code,
        "retMsg": ret_msg,
        "result": result if result is not None else {},
        "retExtInfo": {},
        "time": now_ms(),
    }
    return web.Response(body=msgspec.json.encode(body), content_type="application/json", headers=headers)


def _param_error(what: str) -> BybitError:
    return BybitError(10001, f"params error: {what}")


_WINDOW_MSG: Final = "invalid request, please check your server timestamp or recv_window param"

#: the simulated venue's reject codes as Bybit answers them: (spot, linear)
_REJECTS: Final[dict[str, tuple[tuple[int, str], tuple[int, str]]]] = {
    "INSUFFICIENT_CASH": ((170131, "Insufficient balance."), (110007, "ab not enough for new order")),
    "INSUFFICIENT_POSITION": ((170131, "Insufficient balance."), (110007, "ab not enough for new order")),
    "MIN_NOTIONAL": (
        (170140, "Order value exceeded lower limit."),
        (110094, "Order does not meet minimum order value"),
    ),
    "MIN_QTY": ((170136, "Order quantity exceeded lower limit."), (10001, "params error: Qty invalid")),
    "LOT_SIZE": ((170137, "Order quantity has too many decimals."), (10001, "params error: Qty invalid")),
    "TICK_SIZE": ((170134, "Order price has too many decimals."), (10001, "params error: price invalid")),
    "INVALID_QTY": ((170130, "Data sent is invalid."), (10001, "params error: Qty invalid")),
    "INVALID_PRICE": ((170130, "Data sent is invalid."), (10001, "params error: price invalid")),
    "REDUCE_ONLY": (
        (170130, "Data sent is invalid."),
        (110017, "current position is zero, cannot fix reduce-only order qty"),
    ),
    "NO_PRICE": ((170130, "No liquidity for a market order."), (10001, "params error: no price to fill at")),
}
_NOT_FOUND: Final[dict[str, tuple[int, str]]] = {
    "spot": (170213, "Order does not exist."),
    "linear": (110001, "order not exists or too late to cancel"),
}
_DUPLICATE: Final[dict[str, tuple[int, str]]] = {
    "spot": (170141, "Duplicate clientOrderId"),
    "linear": (110072, "OrderLinkedID is duplicate"),
}


def reject_error(record: OrderRecord) -> BybitError:
    spot, linear = _REJECTS.get(
        record.reject_code, ((170130, record.reject_reason), (10001, record.reject_reason))
    )
    code, msg = spot if category_of(record.symbol) == "spot" else linear
    return BybitError(code, msg)


# ── request bodies ──────────────────────────────────────────────────────────────────────────────

Scalar = str | int | float | None


class CreateBody(msgspec.Struct, kw_only=True):
    category: str = ""
    symbol: str = ""
    side: str = ""
    orderType: str = ""
    qty: Scalar = None
    price: Scalar = None
    timeInForce: str = ""
    orderLinkId: str = ""
    reduceOnly: bool | str | None = None
    marketUnit: str = ""
    isLeverage: Scalar = None
    positionIdx: Scalar = None
    triggerPrice: Scalar = None


class CancelBody(msgspec.Struct, kw_only=True):
    category: str = ""
    symbol: str = ""
    orderId: str = ""
    orderLinkId: str = ""


class CancelAllBody(msgspec.Struct, kw_only=True):
    category: str = ""
    symbol: str = ""
    baseCoin: str = ""
    settleCoin: str = ""


def _decimal(value: Scalar, name: str) -> Decimal:
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise _param_error(f"{name} invalid") from None
    if not out.is_finite() or out <= 0:
        raise _param_error(f"{name} invalid")
    return out


def _category(value: str) -> Category:
    if value == "spot":
        return "spot"
    if value == "linear":
        return "linear"
    raise _param_error("category invalid") if value else _param_error("category is required")


def _link_id_ok(link: str) -> bool:
    return len(link) <= 36 and all(c.isascii() and (c.isalnum() or c in "_-") for c in link)


# ── the request pipeline ────────────────────────────────────────────────────────────────────────


@dataclass
class Signed:
    """A request that passed the signature check: its account and its parameters."""

    api_key: str
    params: dict[str, Any]
    raw: bytes


Handler = Callable[[BybitVenue, Signed], Awaitable[Mapping[str, Any]]]

_ORDER_PATHS: Final = ("/v5/order/create", "/v5/order/cancel", "/v5/order/cancel-all")


@web.middleware
async def ip_limit(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Bybit's per-IP limit (HTTP 403 and a ban), and the fault spec's delay before every answer."""
    if request.path.startswith("/_emulator"):
        return await handler(request)
    venue = request.app[VENUE_KEY]
    limits = venue.limits
    ip = request.remote or "?"
    now = now_ms()
    if venue.ip_banned_until.get(ip, 0) > now:
        return web.Response(status=403, text="403 Forbidden: access denied (IP rate limit)")
    window = venue.ip_windows.get(ip)
    if window is None or now - window.start_ms >= limits.ip_window_ms:
        window = venue.ip_windows[ip] = _Window(now)
    window.count += 1
    if window.count > limits.ip_requests:
        venue.ip_banned_until[ip] = now + limits.ip_ban_ms
        return web.Response(status=403, text="403 Forbidden: access denied (IP rate limit)")
    if request.headers.get("Upgrade", "").lower() != "websocket":
        await delay(request)
    return await handler(request)


def private(path: str, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A signed endpoint: signature on the raw bytes, the receive window, the per-UID limit with its
    headers, the order endpoints' faults, then ``handler``."""
    faulty = path in _ORDER_PATHS

    async def route(request: web.Request) -> web.StreamResponse:
        venue = request.app[VENUE_KEY]
        raw = await request.read() if request.method == "POST" else request.rel_url.raw_query_string.encode()
        try:
            signed = _verify(venue, request, raw)
            params = signed.params
        except BybitError as exc:
            return envelope(None, ret_code=exc.ret_code, ret_msg=exc.ret_msg)
        category = str(params.get("category", ""))
        headers, over = _count(venue, signed.api_key, path, category)
        fault = (
            injected_fault(request, "429", "timeout", "reset", "5xx", "accept-then-timeout")
            if faulty
            else None
        )
        if over or fault == "429":
            if fault == "429":  # as if this endpoint's window were spent
                headers["X-Bapi-Limit-Status"] = "0"
            return envelope(None, ret_code=10006, ret_msg="Too many visits!", headers=headers)
        if fault == "timeout":
            return await hang(request)
        if fault == "reset":
            return reset(request)
        if fault == "5xx":
            return _server_error(venue, headers)
        try:
            result = await handler(venue, signed)
        except BybitError as exc:
            answer = envelope(None, ret_code=exc.ret_code, ret_msg=exc.ret_msg, headers=headers)
        else:
            answer = envelope(result, headers=headers)
        if fault == "accept-then-timeout":
            return await hang(request)
        return answer

    return route


def _verify(venue: BybitVenue, request: web.Request, raw: bytes) -> Signed:
    api_key = request.headers.get("X-BAPI-API-KEY", "")
    account = venue.exchange.account(api_key)
    if account is None:
        raise BybitError(10003, "API key is invalid.")
    stamp = request.headers.get("X-BAPI-TIMESTAMP", "")
    window_text = request.headers.get("X-BAPI-RECV-WINDOW", "5000")
    if not stamp.isdigit() or not window_text.isdigit():
        raise BybitError(10002, _WINDOW_MSG)
    server = now_ms() + venue.exchange.faults.clock_skew_ms(roll=True)
    if not server - int(window_text) <= int(stamp) < server + 1000:
        raise BybitError(
            10002,
            f"{_WINDOW_MSG}. req_timestamp[{stamp}],server_timestamp[{server}],recv_window[{window_text}]",
        )
    sign = request.headers.get("X-BAPI-SIGN", "")
    if not verify_rest(account.secret, api_key, stamp, window_text, raw, sign=sign):
        origin = f"{stamp}{api_key}{window_text}{raw.decode(errors='replace')}"
        raise BybitError(10004, f"error sign! origin_string[{origin}]")
    if request.method == "POST":
        try:
            params = json.loads(raw or b"{}")
        except ValueError:
            raise _param_error("request body is not JSON") from None
        if not isinstance(params, dict):
            raise _param_error("request body is not a JSON object")
    else:
        params = dict(request.rel_url.query)
    return Signed(api_key=api_key, params=params, raw=raw)


def _count(venue: BybitVenue, api_key: str, path: str, category: str) -> tuple[dict[str, str], bool]:
    limit = venue.limits.per_window(path, category)
    now = now_ms()
    key = (api_key, path, category)
    window = venue.windows.get(key)
    if window is None or now - window.start_ms >= venue.limits.window_ms:
        window = venue.windows[key] = _Window(now)
    window.count += 1
    headers = {
        "X-Bapi-Limit": str(limit),
        "X-Bapi-Limit-Status": str(max(limit - window.count, 0)),
        "X-Bapi-Limit-Reset-Timestamp": str(window.start_ms + venue.limits.window_ms),
    }
    return headers, window.count > limit


def _server_error(venue: BybitVenue, headers: Mapping[str, str]) -> web.Response:
    """Both ways Bybit fails: a gateway's 502/503 without a Bybit body, or retCode 10016 with HTTP
    200; chosen by how many 5xx faults came before, so one seed gives one sequence."""
    turn = venue.exchange.faults.injected["5xx"] % 3
    if turn == 1:
        html = (
            "<html><head><title>502 Bad Gateway</title></head>"
            "<body><center><h1>502 Bad Gateway</h1></center></body></html>"
        )
        return web.Response(status=502, text=html, content_type="text/html")
    if turn == 2:
        return web.Response(status=503, body=b"")
    return envelope(None, ret_code=10016, ret_msg="Internal server error.", headers=headers)


# ── public endpoints ────────────────────────────────────────────────────────────────────────────


def public(
    handler: Callable[[BybitVenue, Mapping[str, str]], Mapping[str, Any]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def route(request: web.Request) -> web.StreamResponse:
        try:
            return envelope(handler(request.app[VENUE_KEY], request.rel_url.query))
        except BybitError as exc:
            return envelope(None, ret_code=exc.ret_code, ret_msg=exc.ret_msg)

    return route


def _time(venue: BybitVenue, query: Mapping[str, str]) -> Mapping[str, Any]:
    ns = time.time_ns() + venue.exchange.faults.clock_skew_ms(roll=False) * 1_000_000
    return {"timeSecond": str(ns // 1_000_000_000), "timeNano": str(ns)}


def _specs_of(venue: BybitVenue, category: str, symbol: str) -> list[InstrumentSpec]:
    prefix = CATEGORIES[category]
    return sorted(
        (
            s
            for s in venue.exchange.specs.values()
            if s.symbol.startswith(prefix) and (not symbol or venue_symbol(s.symbol) == symbol)
        ),
        key=lambda s: s.symbol,
    )


def _page(query: Mapping[str, str], default: int, maximum: int) -> tuple[int, int]:
    """(offset, limit) from ``cursor`` and ``limit``."""
    try:
        limit = int(query.get("limit", default))
    except ValueError:
        raise _param_error("limit invalid") from None
    if not 1 <= limit <= maximum:
        raise _param_error(f"limit must be 1..{maximum}")
    cursor = query.get("cursor", "")
    if not cursor:
        return 0, limit
    if not cursor.startswith("p") or not cursor[1:].isdigit():
        raise _param_error("cursor invalid")
    return int(cursor[1:]), limit


def _instruments(venue: BybitVenue, query: Mapping[str, str]) -> Mapping[str, Any]:
    category = _category(query.get("category", ""))
    status = query.get("status", "")
    specs = [] if status and status != "Trading" else _specs_of(venue, category, query.get("symbol", ""))
    offset, limit = _page(query, 500, 1000)
    chosen = specs[offset : offset + limit]
    rows = [_spot_instrument(s) if category == "spot" else _linear_instrument(s) for s in chosen]
    more = offset + limit < len(specs)
    return {"category": category, "list": rows, "nextPageCursor": f"p{offset + limit}" if more else ""}


def _spot_instrument(spec: InstrumentSpec) -> dict[str, Any]:
    return {
        "symbol": venue_symbol(spec.symbol),
        "baseCoin": spec.base,
        "quoteCoin": spec.quote,
        "innovation": "0",
        "status": "Trading",
        "marginTrading": "none",
        "stTag": "0",
        "lotSizeFilter": {
            "basePrecision": dec(spec.lot_size),
            "quotePrecision": "0.00000001",
            "minOrderQty": dec(spec.min_qty),
            "maxOrderQty": "10000",
            "minOrderAmt": dec(spec.min_notional),
            "maxOrderAmt": "10000000",
        },
        "priceFilter": {"tickSize": dec(spec.tick_size)},
        "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
    }


def _linear_instrument(spec: InstrumentSpec) -> dict[str, Any]:
    scale = max(-spec.tick_size.normalize().as_tuple().exponent, 0)  # type: ignore[operator]
    return {
        "symbol": venue_symbol(spec.symbol),
        "contractType": "LinearPerpetual",
        "status": "Trading",
        "baseCoin": spec.base,
        "quoteCoin": spec.quote,
        "settleCoin": spec.settle,
        "launchTime": "1585526400000",
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": str(scale),
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
        "priceFilter": {
            "minPrice": dec(spec.tick_size),
            "maxPrice": "1999999.8",
            "tickSize": dec(spec.tick_size),
        },
        "lotSizeFilter": {
            "maxOrderQty": "1190",
            "minOrderQty": dec(spec.min_qty),
            "qtyStep": dec(spec.lot_size),
            "postOnlyMaxOrderQty": "1190",
            "maxMktOrderQty": "500",
            "minNotionalValue": dec(spec.min_notional),
        },
        "unifiedMarginTrade": True,
        "fundingInterval": 480,
        "copyTrading": "both",
        "upperFundingRate": "0.005",
        "lowerFundingRate": "-0.005",
        "isPreListing": False,
        "preListingInfo": None,
    }


def _tickers(venue: BybitVenue, query: Mapping[str, str]) -> Mapping[str, Any]:
    category = _category(query.get("category", ""))
    rows = [ticker_row(venue, s, category) for s in _specs_of(venue, category, query.get("symbol", ""))]
    return {"category": category, "list": rows}


def ticker_row(venue: BybitVenue, spec: InstrumentSpec, category: str) -> dict[str, Any]:
    quote = venue.exchange.last_quote.get(spec.symbol)
    trade = venue.exchange.last_trade.get(spec.symbol)
    bid = quote.bid if quote else _ZERO
    ask = quote.ask if quote else _ZERO
    last = trade.price if trade else ((bid + ask) / 2 if quote else _ZERO)
    row: dict[str, Any] = {
        "symbol": venue_symbol(spec.symbol),
        "bid1Price": dec(bid),
        "bid1Size": dec(quote.bid_size) if quote else "0",
        "ask1Price": dec(ask),
        "ask1Size": dec(quote.ask_size) if quote else "0",
        "lastPrice": dec(last),
        "prevPrice24h": dec(last),
        "price24hPcnt": "0",
        "highPrice24h": dec(last),
        "lowPrice24h": dec(last),
        "turnover24h": "0",
        "volume24h": "0",
    }
    if category == "linear":
        row.update(
            {
                "indexPrice": dec(last),
                "markPrice": dec(last),
                "prevPrice1h": dec(last),
                "openInterest": "0",
                "openInterestValue": "0",
                "fundingRate": "0.0001",
                "nextFundingTime": str((now_ms() // 28_800_000 + 1) * 28_800_000),
                "tickDirection": "ZeroPlusTick",
            }
        )
    else:
        row["usdIndexPrice"] = dec(last)
    return row


def _orderbook(venue: BybitVenue, query: Mapping[str, str]) -> Mapping[str, Any]:
    category = _category(query.get("category", ""))
    spec = venue.spec(category, query.get("symbol", ""))
    if spec is None:
        raise _param_error("symbol invalid")
    return book_data(venue, spec.symbol)


def book_data(venue: BybitVenue, symbol: str) -> dict[str, Any]:
    book = venue.books.get(symbol, _Book())
    quote = book.quote
    bids = [[dec(quote.bid), dec(quote.bid_size)]] if quote else []
    asks = [[dec(quote.ask), dec(quote.ask_size)]] if quote else []
    stamp = quote.ts_event // 1_000_000 if quote else now_ms()
    return {
        "s": venue_symbol(symbol),
        "b": bids,
        "a": asks,
        "ts": stamp,
        "u": book.u,
        "seq": book.seq,
        "cts": stamp,
    }


# ── orders ──────────────────────────────────────────────────────────────────────────────────────


async def _create(venue: BybitVenue, req: Signed) -> Mapping[str, Any]:
    try:
        body = msgspec.convert(req.params, CreateBody, strict=False)
    except msgspec.ValidationError as exc:
        raise _param_error(str(exc)) from None
    category = _category(body.category)
    spec = venue.spec(category, body.symbol)
    if spec is None:
        raise BybitError(170121, "Invalid symbol.") if category == "spot" else _param_error("symbol invalid")
    if body.side not in ("Buy", "Sell"):
        raise _param_error("side invalid")
    if body.orderType not in ("Limit", "Market"):
        raise _param_error("orderType invalid")
    if body.triggerPrice not in (None, "", "0"):
        raise _param_error("conditional orders are not supported by the emulator")
    side = Side.BUY if body.side == "Buy" else Side.SELL
    market = body.orderType == "Market"
    qty = _decimal(body.qty, "qty")
    price = None if market else _decimal(body.price, "price")
    tif_text = body.timeInForce or ("IOC" if market else "GTC")
    tifs = {
        "GTC": TimeInForce.GTC,
        "IOC": TimeInForce.IOC,
        "FOK": TimeInForce.FOK,
        "PostOnly": TimeInForce.GTC,
    }
    if tif_text not in tifs:
        raise _param_error("timeInForce invalid")
    if market:
        tif_text = "IOC"
    link = body.orderLinkId
    if not _link_id_ok(link):
        raise _param_error("orderLinkId invalid")
    reduce_only = body.reduceOnly in (True, "true", "True", "1")
    seen = venue.link_ids.setdefault((req.api_key, category), set())
    if link and link in seen:
        # the create reached the venue all the same: the chaos harness counts it as a duplicate
        venue.exchange.accounts[req.api_key].duplicate_creates.append(link)
        code, msg = _DUPLICATE[category]
        raise BybitError(code, msg)
    unit: tuple[str, str] | None = None
    if category == "spot" and market and side is Side.BUY and body.marketUnit != "baseCoin":
        # Bybit's spot market buy is sized in the quote coin unless the client says otherwise
        if body.marketUnit not in ("", "quoteCoin"):
            raise _param_error("marketUnit invalid")
        quote = venue.exchange.last_quote.get(spec.symbol)
        if quote is None or quote.ask <= 0:
            raise BybitError(170130, "No liquidity for a market order.")
        unit = (dec(qty), "quoteCoin")
        qty = (qty / quote.ask / spec.lot_size).to_integral_value(ROUND_DOWN) * spec.lot_size
        if qty <= 0:
            raise BybitError(170140, "Order value exceeded lower limit.")
    if tif_text == "PostOnly" and price is not None and _would_take(venue, spec.symbol, side, price):
        record = _kill_post_only(
            venue,
            req.api_key,
            symbol=spec.symbol,
            side=side,
            qty=qty,
            price=price,
            link=link,
            reduce_only=reduce_only,
        )
        if link:
            seen.add(link)
        return {"orderId": order_id(record.order_id), "orderLinkId": link}
    now = time.time_ns()
    cmd = SubmitOrder(
        ts_event=now,
        ts_init=now,
        strategy="bybit-emulator",
        venue="bybit",
        client_order_id=link,
        instrument=spec.symbol,
        side=side,
        order_type=OrderType.MARKET if market else OrderType.LIMIT,
        quantity=qty,
        price=price,
        time_in_force=tifs[tif_text],
        reduce_only=reduce_only and category == "linear",
    )
    pending_post_only = tif_text == "PostOnly"
    # listeners run inside submit: mark the order's terms before anything is sent about it
    next_id = venue.exchange.next_order_id
    if pending_post_only:
        venue.post_only.add(next_id)
    if unit is not None:
        venue.market_unit[next_id] = unit
    record = await venue.exchange.submit(req.api_key, cmd)
    if record.state is OrderState.REJECTED:
        raise reject_error(record)
    if link:
        seen.add(link)
    return {"orderId": order_id(record.order_id), "orderLinkId": link}


def _would_take(venue: BybitVenue, symbol: str, side: Side, price: Decimal) -> bool:
    quote = venue.exchange.last_quote.get(symbol)
    if quote is None:
        return False
    return price >= quote.ask if side is Side.BUY else price <= quote.bid


def _kill_post_only(
    venue: BybitVenue,
    api_key: str,
    *,
    symbol: str,
    side: Side,
    qty: Decimal,
    price: Decimal,
    link: str,
    reduce_only: bool,
) -> OrderRecord:
    """Bybit acks a post-only order that would take, then cancels it: New is never reached."""
    venue.next_killed_id += 1
    stamp = now_ms()
    record = OrderRecord(
        order_id=venue.next_killed_id,
        client_id=link,
        symbol=symbol,
        side=side,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        quantity=qty,
        price=price,
        reduce_only=reduce_only,
        created_ms=stamp,
        updated_ms=stamp,
        state=OrderState.CANCELED,
        reject_reason="EC_PostOnlyWillTakeLiquidity",
    )
    venue.killed[api_key][record.order_id] = record
    venue.post_only.add(record.order_id)
    for sink in list(venue.user_sinks[api_key]):
        sink(record, None)
    return record


async def _cancel(venue: BybitVenue, req: Signed) -> Mapping[str, Any]:
    try:
        body = msgspec.convert(req.params, CancelBody, strict=False)
    except msgspec.ValidationError as exc:
        raise _param_error(str(exc)) from None
    category = _category(body.category)
    spec = venue.spec(category, body.symbol)
    if spec is None:
        raise _param_error("symbol invalid")
    if not body.orderId and not body.orderLinkId:
        raise _param_error("orderId or orderLinkId is required")
    record = venue.find(req.api_key, category, body.orderId, body.orderLinkId)
    if record is None or record.symbol != spec.symbol or not record.state.is_open:
        code, msg = _NOT_FOUND[category]
        raise BybitError(code, msg)
    venue.user_canceled.add(record.order_id)
    if not await venue.exchange.cancel(req.api_key, record):
        venue.user_canceled.discard(record.order_id)
        code, msg = _NOT_FOUND[category]
        raise BybitError(code, msg)
    return {"orderId": order_id(record.order_id), "orderLinkId": record.client_id}


async def _cancel_all(venue: BybitVenue, req: Signed) -> Mapping[str, Any]:
    try:
        body = msgspec.convert(req.params, CancelAllBody, strict=False)
    except msgspec.ValidationError as exc:
        raise _param_error(str(exc)) from None
    category = _category(body.category)
    if category == "linear" and not (body.symbol or body.baseCoin or body.settleCoin):
        raise _param_error("symbol, baseCoin or settleCoin is required")
    done: list[dict[str, str]] = []
    prefix = CATEGORIES[category]
    for record in venue.exchange.open_orders(req.api_key):
        spec = venue.exchange.specs[record.symbol]
        if not record.symbol.startswith(prefix):
            continue
        if body.symbol and venue_symbol(record.symbol) != body.symbol:
            continue
        if body.baseCoin and spec.base != body.baseCoin:
            continue
        if body.settleCoin and spec.settle != body.settleCoin:
            continue
        venue.user_canceled.add(record.order_id)
        if await venue.exchange.cancel(req.api_key, record):
            done.append({"orderId": order_id(record.order_id), "orderLinkId": record.client_id})
    return {"list": done, "success": "1"}


def _order_filter(venue: BybitVenue, req: Signed, *, history: bool) -> tuple[str, list[OrderRecord]]:
    q = req.params
    category = _category(str(q.get("category", "")))
    symbol = str(q.get("symbol", ""))
    oid = str(q.get("orderId", ""))
    link = str(q.get("orderLinkId", ""))
    open_only = str(q.get("openOnly", "0"))
    prefix = CATEGORIES[category]
    base = str(q.get("baseCoin", ""))
    settle = str(q.get("settleCoin", ""))
    if category == "linear" and not history and not (symbol or base or settle or oid or link):
        raise _param_error("symbol, baseCoin or settleCoin is required for linear")
    rows = []
    for record in (
        venue.visible_orders(req.api_key)[:500] if not history else venue.visible_orders(req.api_key)
    ):
        spec = venue.exchange.specs.get(record.symbol)
        if not record.symbol.startswith(prefix) or spec is None:
            continue
        if symbol and venue_symbol(record.symbol) != symbol:
            continue
        if (base and spec.base != base) or (settle and spec.settle != settle):
            continue
        if oid and order_id(record.order_id) != oid:
            continue
        if link and record.client_id != link:
            continue
        if not history and not record.state.is_open and not (oid or link or open_only != "0"):
            continue
        rows.append(record)
    return category, rows


def _paged(
    rows: list[Any], key: Callable[[Any], int], query: Mapping[str, Any], default: int, maximum: int
) -> tuple[list[Any], str]:
    """Newest first, ``limit`` rows after the row named by ``cursor``."""
    try:
        limit = int(query.get("limit", default))
    except ValueError:
        raise _param_error("limit invalid") from None
    if not 1 <= limit <= maximum:
        raise _param_error(f"limit must be 1..{maximum}")
    cursor = str(query.get("cursor", ""))
    if cursor:
        if not cursor.startswith("c") or not cursor[1:].isdigit():
            raise _param_error("cursor invalid")
        after = int(cursor[1:])
        rows = [r for r in rows if key(r) < after]
    page = rows[:limit]
    more = len(rows) > limit
    return page, f"c{key(page[-1])}" if more and page else ""


async def _realtime(venue: BybitVenue, req: Signed) -> Mapping[str, Any]:
    category, rows = _order_filter(venue, req, history=False)
    page, cursor = _paged(rows, lambda r: r.order_id, req.params, 20, 50)
    return {
        "category": category,
        "list": [venue.order_row(req.api_key, r) for r in page],
        "nextPageCursor": cursor,
    }


async def _history(venue: BybitVenue, req: Signed) -> Mapping[str, Any]:
    category, rows = _order_filter(venue, req, history=True)
    start, end = _time_range(req.params)
    rows = [r for r in rows if start <= r.created_ms <= end]
    status = str(req.params.get("orderStatus", ""))
    if status:
        rows = [r for r in rows if venue.status(r) == status]
    page, cursor = _paged(rows, lambda r: r.order_id, req.params, 20, 50)
    return {
        "category": category,
        "list": [venue.order_row(req.api_key, r) for r in page],
        "nextPageCursor": cursor,
    }


_WEEK_MS: Final = 7 * 24 * 3600 * 1000


def _time_range(q: Mapping[str, Any]) -> tuple[int, int]:
    """Bybit's rule: a range of at most 7 days, by default the last 7 days."""
    try:
        start = int(q["startTime"]) if q.get("startTime") not in (None, "") else None
        end = int(q["endTime"]) if q.get("endTime") not in (None, "") else None
    except (TypeError, ValueError):
        raise _param_error("startTime or endTime invalid") from None
    if start is None and end is None:
        end = now_ms()
        start = end - _WEEK_MS
    elif start is None:
        assert end is not None
        start = end - _WEEK_MS
    elif end is None:
        end = start + _WEEK_MS
    if end < start or end - start > _WEEK_MS:
        raise _param_error("The time range between startTime and endTime cannot exceed 7 days")
    return start, end


async def _executions(venue: BybitVenue, req: Signed) -> Mapping[str, Any]:
    q = req.params
    category = _category(str(q.get("category", "")))
    exec_type = str(q.get("execType", ""))
    prefix = CATEGORIES[category]
    symbol, oid, link = str(q.get("symbol", "")), str(q.get("orderId", "")), str(q.get("orderLinkId", ""))
    start, end = _time_range(q)
    rows = [
        t
        for t in reversed(venue.exchange.trades(req.api_key))
        if t.symbol.startswith(prefix)
        and (not symbol or venue_symbol(t.symbol) == symbol)
        and (not oid or order_id(t.order_id) == oid)
        and (not link or t.client_id == link)
        and start <= t.time_ms <= end
        and exec_type in ("", "Trade")
    ]
    page, cursor = _paged(rows, lambda t: t.trade_id, q, 50, 100)
    return {
        "category": category,
        "list": [venue.exec_row(req.api_key, t) for t in page],
        "nextPageCursor": cursor,
    }


async def _wallet_balance(venue: BybitVenue, req: Signed) -> Mapping[str, Any]:
    account_type = str(req.params.get("accountType", ""))
    if account_type != "UNIFIED":
        raise _param_error("accountType only support UNIFIED")
    coin = str(req.params.get("coin", ""))
    return {"list": [venue.wallet(req.api_key, coin.split(",") if coin else None)]}


async def _account_info(venue: BybitVenue, req: Signed) -> Mapping[str, Any]:
    return {
        "unifiedMarginStatus": 5,
        "marginMode": "REGULAR_MARGIN",
        "isMasterTrader": False,
        "spotHedgingStatus": "OFF",
        "updatedTime": "1700000000000",
        "dcpStatus": "OFF",
        "timeWindow": 10,
        "smpGroup": 0,
    }


async def _query_api(venue: BybitVenue, req: Signed) -> Mapping[str, Any]:
    return {
        "id": "1",
        "note": "vibetrading emulator",
        "apiKey": req.api_key,
        "readOnly": 0,
        "secret": "",
        "permissions": {
            "ContractTrade": ["Order", "Position"],
            "Spot": ["SpotTrade"],
            "Wallet": ["AccountTransfer"],
            "Options": [],
            "Derivatives": [],
            "CopyTrading": [],
            "BlockTrade": [],
            "Exchange": [],
            "NFT": [],
            "Affiliate": [],
            "Earn": [],
        },
        "ips": ["*"],
        "type": 1,
        "deadlineDay": 90,
        "expiredAt": "2099-01-01T00:00:00Z",
        "createdAt": "2024-01-01T00:00:00Z",
        "unified": 0,
        "uta": 1,
        "userID": 1,
        "inviterID": 0,
        "vipLevel": "No VIP",
        "mktMakerLevel": "0",
        "affiliateID": 0,
        "rsaPublicKey": "",
        "isMaster": True,
        "parentUid": "0",
        "kycLevel": "LEVEL_DEFAULT",
        "kycRegion": "",
    }


async def _coin_info(venue: BybitVenue, req: Signed) -> Mapping[str, Any]:
    coins = sorted(
        {s.base for s in venue.exchange.specs.values()} | {s.quote for s in venue.exchange.specs.values()}
    )
    return {"rows": [{"name": c, "coin": c, "remainAmount": "0", "chains": []} for c in coins]}


async def _positions(venue: BybitVenue, req: Signed) -> Mapping[str, Any]:
    q = req.params
    category = _category(str(q.get("category", "")))
    if category != "linear":
        raise _param_error("category only support linear, inverse or option")
    symbol, settle, base = str(q.get("symbol", "")), str(q.get("settleCoin", "")), str(q.get("baseCoin", ""))
    if not (symbol or settle or base):
        raise _param_error("symbol or settleCoin is required")
    rows = []
    for spec in _specs_of(venue, "linear", symbol):
        if (settle and spec.settle != settle) or (base and spec.base != base):
            continue
        row = venue.position_row(req.api_key, spec)
        if symbol or row["size"] != "0":
            rows.append(row)
    return {"category": "linear", "list": rows, "nextPageCursor": ""}


def add_rest_routes(app: web.Application) -> None:
    """Bybit's v5 REST paths on ``app``."""
    app.router.add_get("/v5/market/time", public(_time))
    app.router.add_get("/v5/market/instruments-info", public(_instruments))
    app.router.add_get("/v5/market/tickers", public(_tickers))
    app.router.add_get("/v5/market/orderbook", public(_orderbook))
    signed_posts: dict[str, Handler] = {
        "/v5/order/create": _create,
        "/v5/order/cancel": _cancel,
        "/v5/order/cancel-all": _cancel_all,
    }
    signed_gets: dict[str, Handler] = {
        "/v5/order/realtime": _realtime,
        "/v5/order/history": _history,
        "/v5/execution/list": _executions,
        "/v5/account/wallet-balance": _wallet_balance,
        "/v5/account/info": _account_info,
        "/v5/position/list": _positions,
        "/v5/user/query-api": _query_api,
        "/v5/asset/coin/query-info": _coin_info,
    }
    for path, handler in signed_posts.items():
        app.router.add_post(path, private(path, handler))
    for path, handler in signed_gets.items():
        app.router.add_get(path, private(path, handler))
