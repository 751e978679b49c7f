"""msgspec structs of the Bybit v5 wire messages (spot and linear).

Never ``forbid_unknown_fields``: Bybit adds fields without notice, and an unknown field must never
stop a fill. Field names are Bybit's (camelCase, or its one-letter public names). Numbers arrive as
strings: a field Bybit always fills decodes straight into :class:`~decimal.Decimal` (exactly, from
the digits); a field Bybit may leave empty (``""``: ``avgPrice`` before a fill, ``leavesQty`` on
some accounts, ``triggerPrice`` of a plain order) stays ``str`` and the parsers convert it. Times
are epoch milliseconds, as numbers (public) or digit strings (private, REST): the private and REST
decoders run with ``strict=False``, which reads ``"1672364262444"`` as an int.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

__all__ = [
    "BookData",
    "CancelResult",
    "CreateResult",
    "Envelope",
    "ExecRow",
    "ExecutionList",
    "Frame",
    "InstrumentRow",
    "InstrumentsInfo",
    "KlineRow",
    "LotSizeFilter",
    "OrderList",
    "OrderRow",
    "PositionList",
    "PositionRow",
    "PriceFilter",
    "ServerTime",
    "TickerData",
    "TradeRow",
    "WalletAccount",
    "WalletBalance",
    "WalletCoin",
]


class Frame(msgspec.Struct, kw_only=True):
    """Every WebSocket frame, public or private, with its ``data`` left raw for a second decode.

    Data frames have ``topic``; control frames (``pong``, subscribe and auth acks) have ``op``.
    """

    topic: str = ""
    type: str = ""  # snapshot | delta (public)
    ts: int = 0  # public: when the system generated the data (ms)
    cts: int | None = None  # orderbook: the matching engine's time (ms)
    creationTime: int = 0  # private: when the message was created (ms)
    id: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")
    op: str = ""
    success: bool | None = None
    ret_msg: str = ""
    conn_id: str = ""


# ── public ──────────────────────────────────────────────────────────────────────────────────────


class TradeRow(msgspec.Struct, kw_only=True):
    """One row of ``publicTrade.{symbol}``."""

    T: int  # trade time (ms)
    s: str  # symbol
    S: str  # taker side: Buy | Sell
    v: Decimal  # size
    p: Decimal  # price
    i: str  # trade id
    L: str = ""  # tick direction (derivatives)
    BT: bool = False  # block trade
    seq: int | None = None  # cross sequence


class BookData(msgspec.Struct, kw_only=True):
    """``orderbook.{depth}.{symbol}`` data: levels ``[price, size]``; size ``"0"`` deletes a level."""

    s: str
    b: list[tuple[Decimal, Decimal]] = []
    a: list[tuple[Decimal, Decimal]] = []
    u: int  # update id; 1 means the service restarted: reset the book
    seq: int | None = None  # cross sequence


class TickerData(msgspec.Struct, kw_only=True):
    """``tickers.{symbol}``: a delta carries only the fields that changed, so all are optional."""

    symbol: str
    lastPrice: str = ""
    bid1Price: str = ""
    bid1Size: str = ""
    ask1Price: str = ""
    ask1Size: str = ""
    markPrice: str = ""
    indexPrice: str = ""
    fundingRate: str = ""
    nextFundingTime: str = ""
    volume24h: str = ""
    turnover24h: str = ""


# ── private (WebSocket topics) and REST rows ───────────────────────────────────────────────────


class OrderRow(msgspec.Struct, kw_only=True):
    """An order: a row of the private ``order`` topic, of ``/v5/order/realtime`` and ``/v5/order/history``."""

    symbol: str
    orderId: str
    orderLinkId: str = ""
    side: str  # Buy | Sell
    orderType: str  # Market | Limit
    price: str = ""  # "0" or "" for a market order
    qty: Decimal
    timeInForce: str = ""  # GTC | IOC | FOK | PostOnly
    orderStatus: str
    cancelType: str = ""
    rejectReason: str = ""
    avgPrice: str = ""
    leavesQty: str = ""
    cumExecQty: Decimal = Decimal(0)
    cumExecValue: str = ""
    cumExecFee: str = ""
    triggerPrice: str = ""
    reduceOnly: bool = False
    category: str = ""  # in the private topic; REST lists give it once, on the result
    createdTime: int = 0
    updatedTime: int = 0
    feeCurrency: str = ""


class ExecRow(msgspec.Struct, kw_only=True):
    """One execution: a row of the private ``execution`` topic and of ``/v5/execution/list``."""

    symbol: str
    execId: str
    orderId: str
    orderLinkId: str = ""
    side: str
    execPrice: Decimal
    execQty: Decimal
    execFee: str = ""
    execTime: int
    execType: str = "Trade"  # Trade | AdlTrade | Funding | BustTrade | Delivery | Settle | BlockTrade
    isMaker: bool = False
    orderQty: str = ""
    leavesQty: str = ""
    cumExecQty: str = ""  # not sent by Bybit today; used first when present
    feeCurrency: str = ""
    feeRate: str = ""
    orderPrice: str = ""
    orderType: str = ""
    category: str = ""
    seq: int | None = None


class WalletCoin(msgspec.Struct, kw_only=True):
    coin: str
    walletBalance: str = ""
    equity: str = ""
    locked: str = ""
    availableToWithdraw: str = ""
    unrealisedPnl: str = ""


class WalletAccount(msgspec.Struct, kw_only=True):
    """One account of the private ``wallet`` topic."""

    accountType: str
    coin: list[WalletCoin] = []
    totalEquity: str = ""
    totalWalletBalance: str = ""


# ── REST ────────────────────────────────────────────────────────────────────────────────────────


class Envelope(msgspec.Struct, kw_only=True):
    """``{"retCode":0,"retMsg":"OK","result":{...},"retExtInfo":{},"time":...}``, ``result`` left raw."""

    retCode: int
    retMsg: str = ""
    result: msgspec.Raw = msgspec.Raw(b"null")
    retExtInfo: dict[str, Any] | list[Any] | None = None
    time: int = 0


class CreateResult(msgspec.Struct, kw_only=True):
    """``/v5/order/create``: only an ack that the request arrived, not that the order lives."""

    orderId: str
    orderLinkId: str = ""


class CancelResult(msgspec.Struct, kw_only=True):
    """``/v5/order/cancel``: the cancel request arrived; the ``order`` topic says when it is done."""

    orderId: str
    orderLinkId: str = ""


class OrderList(msgspec.Struct, kw_only=True):
    """``/v5/order/realtime`` and ``/v5/order/history``."""

    category: str = ""
    rows: list[OrderRow] = msgspec.field(name="list", default_factory=list)
    nextPageCursor: str = ""


class ExecutionList(msgspec.Struct, kw_only=True):
    """``/v5/execution/list``."""

    category: str = ""
    rows: list[ExecRow] = msgspec.field(name="list", default_factory=list)
    nextPageCursor: str = ""


class ServerTime(msgspec.Struct, kw_only=True):
    """``/v5/market/time``: seconds and nanoseconds as digit strings."""

    timeSecond: str = ""
    timeNano: str = ""


class PriceFilter(msgspec.Struct, kw_only=True):
    tickSize: str = ""
    minPrice: str = ""
    maxPrice: str = ""


class LotSizeFilter(msgspec.Struct, kw_only=True):
    """Spot fills ``basePrecision`` and ``minOrderAmt``; linear ``qtyStep`` and ``minNotionalValue``."""

    basePrecision: str = ""
    qtyStep: str = ""
    minOrderQty: str = ""
    maxOrderQty: str = ""
    maxMktOrderQty: str = ""
    minOrderAmt: str = ""
    minNotionalValue: str = ""


class InstrumentRow(msgspec.Struct, kw_only=True):
    """One row of ``/v5/market/instruments-info``."""

    symbol: str
    status: str = ""
    baseCoin: str = ""
    quoteCoin: str = ""
    settleCoin: str = ""
    priceFilter: PriceFilter = msgspec.field(default_factory=PriceFilter)
    lotSizeFilter: LotSizeFilter = msgspec.field(default_factory=LotSizeFilter)


class InstrumentsInfo(msgspec.Struct, kw_only=True):
    category: str = ""
    rows: list[InstrumentRow] = msgspec.field(name="list", default_factory=list)
    nextPageCursor: str = ""


class WalletBalance(msgspec.Struct, kw_only=True):
    """``/v5/account/wallet-balance``."""

    rows: list[WalletAccount] = msgspec.field(name="list", default_factory=list)


class PositionRow(msgspec.Struct, kw_only=True):
    """One row of ``/v5/position/list`` (and of the private ``position`` topic)."""

    symbol: str
    side: str = ""  # Buy | Sell | "" (flat)
    size: str = "0"
    avgPrice: str = ""
    positionIdx: int = 0
    category: str = ""


class PositionList(msgspec.Struct, kw_only=True):
    category: str = ""
    rows: list[PositionRow] = msgspec.field(name="list", default_factory=list)
    nextPageCursor: str = ""


class KlineRow(msgspec.Struct, kw_only=True):
    """One row of ``kline.{interval}.{symbol}``; ``confirm`` true once the bar closed."""

    start: int
    end: int
    interval: str
    open: Decimal
    close: Decimal
    high: Decimal
    low: Decimal
    volume: Decimal
    confirm: bool = False
    timestamp: int = 0
