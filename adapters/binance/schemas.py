"""Binance wire messages as msgspec structs, with the keys Binance documents (``name=``) and readable
attribute names.

Never ``forbid_unknown_fields``: Binance adds fields (and drops ignored ones) without notice, so every
field the parsers do not need is left out, and fields that not every variant carries have defaults.
Prices and quantities arrive as JSON strings and decode into :class:`~decimal.Decimal` exactly.
Times are epoch milliseconds as Binance sends them; the parsers convert to nanoseconds.

Market data structs are ``gc=False`` (scalars only) so that decoding them does not feed the cycle
collector.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec
from msgspec import field

__all__ = [
    "AggTrade",
    "BookTicker",
    "DepthSnapshot",
    "DepthUpdate",
    "ErrorBody",
    "ExchangeInfo",
    "ExecutionReport",
    "FuturesBalance",
    "FuturesOrderUpdate",
    "Kline",
    "KlineData",
    "ListenKey",
    "ListenKeyExpired",
    "OrderFill",
    "OrderTradeUpdate",
    "PositionRisk",
    "RestOrder",
    "ServerTime",
    "SpotAccount",
    "SpotBalance",
    "SymbolFilter",
    "SymbolInfo",
    "Trade",
    "UserTrade",
]

_ZERO = Decimal(0)


# ── market data ─────────────────────────────────────────────────────────────────────────────────


class BookTicker(msgspec.Struct, frozen=True, gc=False):
    """``<symbol>@bookTicker``. Spot: ``{u,s,b,B,a,A}``, no event type and no time at all; USD-M
    adds ``e: "bookTicker"``, event time ``E`` and transaction time ``T``."""

    symbol: str = field(name="s")
    bid: Decimal = field(name="b")
    bid_qty: Decimal = field(name="B")
    ask: Decimal = field(name="a")
    ask_qty: Decimal = field(name="A")
    update_id: int = field(name="u", default=0)
    event_type: str = field(name="e", default="")
    event_time: int = field(name="E", default=0)
    transaction_time: int = field(name="T", default=0)


class Trade(msgspec.Struct, frozen=True, gc=False):
    """``<symbol>@trade``: spot ``{e,E,s,t,p,q,T,m,M}``; USD-M adds ``X`` (``MARKET``,
    ``INSURANCE_FUND``, ``ADL``, ``NA``)."""

    event_type: str = field(name="e")
    event_time: int = field(name="E")
    symbol: str = field(name="s")
    trade_id: int = field(name="t")
    price: Decimal = field(name="p")
    qty: Decimal = field(name="q")
    trade_time: int = field(name="T")
    buyer_is_maker: bool = field(name="m")
    kind: str = field(name="X", default="MARKET")


class AggTrade(msgspec.Struct, frozen=True, gc=False):
    """``<symbol>@aggTrade``: ``{e,E,s,a,p,q,f,l,T,m}`` (trades at one price by one taker order)."""

    event_type: str = field(name="e")
    event_time: int = field(name="E")
    symbol: str = field(name="s")
    agg_id: int = field(name="a")
    price: Decimal = field(name="p")
    qty: Decimal = field(name="q")
    first_trade_id: int = field(name="f")
    last_trade_id: int = field(name="l")
    trade_time: int = field(name="T")
    buyer_is_maker: bool = field(name="m")


# ── user data ───────────────────────────────────────────────────────────────────────────────────


class ExecutionReport(msgspec.Struct, frozen=True):
    """Spot user data ``executionReport``. ``client_order_id`` (``c``) is the id of the request that
    caused the report: on a cancel, the cancel's own id, and the order's id is ``orig_client_order_id``
    (``C``), empty otherwise."""

    event_type: str = field(name="e")
    event_time: int = field(name="E")
    symbol: str = field(name="s")
    client_order_id: str = field(name="c")
    side: str = field(name="S")
    order_type: str = field(name="o")
    time_in_force: str = field(name="f")
    qty: Decimal = field(name="q")
    price: Decimal = field(name="p")
    execution_type: str = field(name="x")
    status: str = field(name="X")
    order_id: int = field(name="i")
    last_qty: Decimal = field(name="l")
    cum_qty: Decimal = field(name="z")
    last_px: Decimal = field(name="L")
    transaction_time: int = field(name="T")
    trade_id: int = field(name="t", default=-1)
    fee: Decimal = field(name="n", default=_ZERO)
    fee_asset: str | None = field(name="N", default=None)
    is_maker: bool = field(name="m", default=False)
    orig_client_order_id: str = field(name="C", default="")
    reject_reason: str = field(name="r", default="NONE")
    stop_price: Decimal = field(name="P", default=_ZERO)
    cum_quote_qty: Decimal = field(name="Z", default=_ZERO)


class FuturesOrderUpdate(msgspec.Struct, frozen=True):
    """The order object ``o`` of a USD-M ``ORDER_TRADE_UPDATE``. ``c`` is the order's own client id
    (futures have no ``C``); ``N``/``n`` are absent when there is no commission."""

    symbol: str = field(name="s")
    client_order_id: str = field(name="c")
    side: str = field(name="S")
    order_type: str = field(name="o")
    time_in_force: str = field(name="f")
    qty: Decimal = field(name="q")
    price: Decimal = field(name="p")
    avg_price: Decimal = field(name="ap")
    stop_price: Decimal = field(name="sp")
    execution_type: str = field(name="x")
    status: str = field(name="X")
    order_id: int = field(name="i")
    last_qty: Decimal = field(name="l")
    cum_qty: Decimal = field(name="z")
    last_px: Decimal = field(name="L")
    trade_time: int = field(name="T")
    trade_id: int = field(name="t", default=0)
    fee: Decimal = field(name="n", default=_ZERO)
    fee_asset: str | None = field(name="N", default=None)
    is_maker: bool = field(name="m", default=False)
    reduce_only: bool = field(name="R", default=False)
    original_type: str = field(name="ot", default="")
    realized_pnl: Decimal = field(name="rp", default=_ZERO)


class OrderTradeUpdate(msgspec.Struct, frozen=True):
    event_type: str = field(name="e")
    event_time: int = field(name="E")
    transaction_time: int = field(name="T")
    order: FuturesOrderUpdate = field(name="o")


class ListenKeyExpired(msgspec.Struct, frozen=True):
    """USD-M ``listenKeyExpired``: the stream stops; renew the key, reconnect, reconcile."""

    event_type: str = field(name="e")
    event_time: int = field(name="E")
    listen_key: str = field(name="listenKey", default="")


# ── REST ────────────────────────────────────────────────────────────────────────────────────────


class OrderFill(msgspec.Struct, frozen=True):
    """One row of ``fills`` in a spot new-order FULL response."""

    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str = field(name="commissionAsset")
    trade_id: int = field(name="tradeId")


class RestOrder(msgspec.Struct, frozen=True):
    """An order as REST returns it: the new-order response (spot ACK, RESULT or FULL; USD-M), the
    query-order and open-orders rows, and the cancel response. ACK has only the first fields; spot
    and USD-M differ in the rest (``cummulativeQuoteQty`` [sic] vs ``avgPrice``, ``transactTime`` vs
    ``updateTime``), so everything past them has a default."""

    symbol: str
    order_id: int = field(name="orderId")
    client_order_id: str = field(name="clientOrderId")
    transact_time: int = field(name="transactTime", default=0)
    orig_client_order_id: str = field(name="origClientOrderId", default="")
    price: Decimal = _ZERO
    orig_qty: Decimal | None = field(name="origQty", default=None)
    executed_qty: Decimal = field(name="executedQty", default=_ZERO)
    cum_quote_qty: Decimal | None = field(name="cummulativeQuoteQty", default=None)
    avg_price: Decimal | None = field(name="avgPrice", default=None)
    status: str = ""
    time_in_force: str = field(name="timeInForce", default="")
    type: str = ""
    side: str = ""
    stop_price: Decimal = field(name="stopPrice", default=_ZERO)
    time: int = 0
    update_time: int = field(name="updateTime", default=0)
    reduce_only: bool = field(name="reduceOnly", default=False)
    fills: tuple[OrderFill, ...] = ()


class UserTrade(msgspec.Struct, frozen=True):
    """A row of spot ``GET /api/v3/myTrades`` (``isBuyer``/``isMaker``) or USD-M
    ``GET /fapi/v1/userTrades`` (``buyer``/``maker``, ``side``). Neither carries the client order id."""

    symbol: str
    id: int
    order_id: int = field(name="orderId")
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str = field(name="commissionAsset")
    time: int
    is_buyer: bool | None = field(name="isBuyer", default=None)
    is_maker: bool | None = field(name="isMaker", default=None)
    buyer: bool | None = None
    maker: bool | None = None
    side: str = ""


class ErrorBody(msgspec.Struct, frozen=True):
    """``{"code": -2010, "msg": "Account has insufficient balance for requested action."}``"""

    code: int
    msg: str = ""


# ── exchangeInfo and account (added with the REST client) ──────────────────────────────────────


class SymbolFilter(msgspec.Struct, frozen=True):
    """One entry of a symbol's ``filters``. Binance has a dozen filter types with different fields;
    one struct with every field the client reads (absent: None) accepts them all, including types
    added later. Spot calls the minimum notional ``minNotional`` (``NOTIONAL`` and the older
    ``MIN_NOTIONAL``); USD-M's ``MIN_NOTIONAL`` calls it ``notional``."""

    filter_type: str = field(name="filterType")
    min_price: Decimal | None = field(name="minPrice", default=None)
    max_price: Decimal | None = field(name="maxPrice", default=None)
    tick_size: Decimal | None = field(name="tickSize", default=None)
    min_qty: Decimal | None = field(name="minQty", default=None)
    max_qty: Decimal | None = field(name="maxQty", default=None)
    step_size: Decimal | None = field(name="stepSize", default=None)
    min_notional: Decimal | None = field(name="minNotional", default=None)
    notional: Decimal | None = None
    apply_to_market: bool | None = field(name="applyToMarket", default=None)
    apply_min_to_market: bool | None = field(name="applyMinToMarket", default=None)


class SymbolInfo(msgspec.Struct, frozen=True):
    symbol: str
    status: str = ""
    base_asset: str = field(name="baseAsset", default="")
    quote_asset: str = field(name="quoteAsset", default="")
    filters: tuple[SymbolFilter, ...] = ()


class ExchangeInfo(msgspec.Struct, frozen=True):
    """``GET /api/v3/exchangeInfo`` and ``GET /fapi/v1/exchangeInfo`` (only the symbols part)."""

    symbols: tuple[SymbolInfo, ...] = ()
    server_time: int = field(name="serverTime", default=0)


class ServerTime(msgspec.Struct, frozen=True):
    """``GET /api/v3/time``, ``GET /fapi/v1/time``."""

    server_time: int = field(name="serverTime")


class SpotBalance(msgspec.Struct, frozen=True):
    asset: str
    free: Decimal
    locked: Decimal


class SpotAccount(msgspec.Struct, frozen=True):
    """``GET /api/v3/account`` (only the balances)."""

    balances: tuple[SpotBalance, ...] = ()


class FuturesBalance(msgspec.Struct, frozen=True):
    """A row of ``GET /fapi/v2/balance``: ``balance`` is the wallet balance, ``availableBalance`` what
    new orders may use (the rest is held as margin by positions and working orders)."""

    asset: str
    balance: Decimal
    available_balance: Decimal = field(name="availableBalance")


class PositionRisk(msgspec.Struct, frozen=True):
    """A row of ``GET /fapi/v2/positionRisk``; ``positionAmt`` is signed (negative: short)."""

    symbol: str
    position_amt: Decimal = field(name="positionAmt")
    entry_price: Decimal = field(name="entryPrice")
    position_side: str = field(name="positionSide", default="BOTH")


class ListenKey(msgspec.Struct, frozen=True):
    """``POST /fapi/v1/listenKey``, ``POST /api/v3/userDataStream``."""

    listen_key: str = field(name="listenKey")


class KlineData(msgspec.Struct, frozen=True, gc=False):
    """The ``k`` object of a kline event: open time ``t``, close time ``T`` (the last ms of the bar),
    interval ``i``, OHLC, base volume ``v`` and whether the bar is closed ``x``."""

    start_time: int = field(name="t")
    close_time: int = field(name="T")
    symbol: str = field(name="s")
    interval: str = field(name="i")
    open: Decimal = field(name="o")
    close: Decimal = field(name="c")
    high: Decimal = field(name="h")
    low: Decimal = field(name="l")
    volume: Decimal = field(name="v")
    closed: bool = field(name="x")


class Kline(msgspec.Struct, frozen=True):
    """``<symbol>@kline_<interval>``: ``{e: "kline", E, s, k: {...}}``."""

    event_type: str = field(name="e")
    event_time: int = field(name="E")
    symbol: str = field(name="s")
    kline: KlineData = field(name="k")


class DepthUpdate(msgspec.Struct, frozen=True):
    """``<symbol>@depth`` / ``@depth@100ms`` diff: first and last update ids ``U``/``u`` (USD-M adds the
    previous event's last id ``pu``), and the changed levels ``[price, qty]`` (qty 0: level removed)."""

    event_type: str = field(name="e")
    event_time: int = field(name="E")
    symbol: str = field(name="s")
    first_update_id: int = field(name="U")
    last_update_id: int = field(name="u")
    bids: tuple[tuple[Decimal, Decimal], ...] = field(name="b")
    asks: tuple[tuple[Decimal, Decimal], ...] = field(name="a")
    prev_last_update_id: int | None = field(name="pu", default=None)
    transaction_time: int = field(name="T", default=0)


class DepthSnapshot(msgspec.Struct, frozen=True):
    """``GET /api/v3/depth``, ``GET /fapi/v1/depth``."""

    last_update_id: int = field(name="lastUpdateId")
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
