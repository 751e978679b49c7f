"""Pure parsers: Bybit v5 wire messages → engine events. No I/O, no clock: the caller gives ``ts_init``.

What maps to what:

* ``orderbook.1.{symbol}`` → :class:`QuoteTick`, ``ts_event`` the matching engine's ``cts`` (else
  ``ts``). A snapshot replaces the top of book; a delta changes the sides it carries (size ``"0"``
  deletes its price level, so a move comes as the old level at ``"0"`` and the new one); ``u == 1``
  is a service restart and is read as a snapshot. A book with an empty side gives no quote. The top
  of book is the one piece of state (:class:`TopOfBook`).
* ``publicTrade.{symbol}`` → :class:`TradeTick` per row: aggressor from ``S`` (the taker's side),
  trade id ``i``, ``ts_event`` from ``T``.
* private ``order`` → by ``orderStatus``: ``New``/``Untriggered`` → :class:`OrderAccepted`;
  ``Rejected`` → :class:`OrderRejected` (``rejectReason``); ``Cancelled``/``PartiallyFilledCanceled``/
  ``Deactivated`` → :class:`OrderCanceled`, or :class:`OrderExpired` for an IOC/FOK order (market
  orders are IOC at Bybit) whose rest the venue canceled by time in force (``cancelType`` not a
  request: ``UNKNOWN`` or empty). ``Created``, ``PartiallyFilled``, ``Filled``, ``Triggered``,
  ``Active`` → nothing: **fills come only from ``execution``**, so the two ``Filled`` order messages
  Bybit sends when a cancel races a fill can never make two fills.
* private ``execution`` (``execType == "Trade"``) → :class:`OrderFilled`: trade id ``execId``,
  ``last_qty``/``last_px`` ``execQty``/``execPrice``, fee ``execFee`` (negative is a rebate) in
  ``feeCurrency`` (else the settle coin for linear; for spot the coin received: base for a buy,
  quote for a sell), liquidity from ``isMaker``. ``cum_qty`` is ``cumExecQty`` when the row has it,
  else ``orderQty - leavesQty``: the execution topic carries no cumulative quantity, but both of
  these are the order's state right after this execution, in the same message, so their difference
  is the cumulative filled quantity after it (an amend changes ``orderQty`` and ``leavesQty`` together).
  Other execution types (funding, ADL, delivery) are not fills of our orders: nothing.
* REST ``/v5/order/realtime`` | ``/v5/order/history`` rows → :class:`OrderStatusReport`; an empty
  list for the ``orderLinkId`` → a ``not_found`` report for the queried order.
* REST ``/v5/execution/list`` rows → :class:`FillReport` (same mapping as the stream).
* control frames (``pong``, subscribe ack, auth ack) → nothing; a refused ``auth``/``subscribe`` →
  :class:`~adapters.bybit.errors.BybitWsError`; anything that does not decode →
  :class:`~adapters.venue_errors.VenueMessageError`; ``retCode != 0`` →
  :class:`~adapters.bybit.errors.BybitRequestError`.

The client order id is the engine's, sent as ``orderLinkId``; an order placed elsewhere (no
``orderLinkId``) is named by its Bybit ``orderId``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Final, TypeVar

import msgspec

from adapters.bybit.config import Category
from adapters.bybit.errors import BybitRequestError, BybitWsError
from adapters.bybit.schemas import (
    BookData,
    Envelope,
    ExecRow,
    Frame,
    OrderRow,
    TradeRow,
)
from adapters.venue_errors import UnknownVenueSymbolError, VenueMessageError
from engines.decimals import ORDER_SUM_CONTEXT
from engines.model.commands import QueryOrder
from engines.model.enums import Liquidity, OrderType, ReportedStatus, Side
from engines.model.events import (
    Event,
    FillReport,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderStatusReport,
    QuoteTick,
    TradeTick,
)

__all__ = [
    "BybitInstrument",
    "BybitParser",
    "SymbolMap",
    "TopOfBook",
    "decode_result",
    "fill_reports",
    "fills",
    "order_events",
    "quote_from_book",
    "status_reports",
    "trade_ticks",
]

VENUE: Final = "bybit"
_MS: Final = 1_000_000
_ZERO: Final = Decimal(0)
_T = TypeVar("_T")

_frame_dec: Final = msgspec.json.Decoder(Frame)
_trades_dec: Final = msgspec.json.Decoder(list[TradeRow])
_book_dec: Final = msgspec.json.Decoder(BookData)
_orders_dec: Final = msgspec.json.Decoder(list[OrderRow], strict=False)
_execs_dec: Final = msgspec.json.Decoder(list[ExecRow], strict=False)
_envelope_dec: Final = msgspec.json.Decoder(Envelope)

_SIDES: Final = {"Buy": Side.BUY, "Sell": Side.SELL}
_ORDER_TYPES: Final = {"Market": OrderType.MARKET, "Limit": OrderType.LIMIT}
_WORKING: Final = frozenset({"New", "Untriggered", "Created", "Triggered", "Active"})
_CANCELED: Final = frozenset({"Cancelled", "PartiallyFilledCanceled", "Deactivated"})
_IMMEDIATE: Final = frozenset({"IOC", "FOK"})
_ORDER_TOPICS: Final = frozenset({"order", "order.spot", "order.linear"})
_EXECUTION_TOPICS: Final = frozenset({"execution", "execution.spot", "execution.linear"})
_BY_TIME_IN_FORCE: Final = frozenset({"", "UNKNOWN"})  # cancelType of a rest the venue canceled itself


# ── symbols ─────────────────────────────────────────────────────────────────────────────────────


class BybitInstrument(msgspec.Struct, frozen=True, kw_only=True):
    """One instrument as Bybit names it, with the coins that fees are charged in."""

    category: Category
    name: str  # BTCUSDT
    base: str
    quote: str
    settle: str = ""  # linear: the margin coin (USDT, USDC); spot: unused

    @property
    def symbol(self) -> str:
        return f"bybit-{self.category}:{self.name}"


_QUOTES: Final = ("USDT", "USDC", "USDE", "BTC", "ETH", "EUR", "BRL", "PLN", "TRY", "DAI")


class SymbolMap:
    """``bybit-spot:BTCUSDT`` / ``bybit-linear:BTCUSDT`` ↔ (category, ``BTCUSDT``)."""

    def __init__(self, instruments: Iterable[BybitInstrument]) -> None:
        self._by_venue: dict[tuple[str, str], BybitInstrument] = {}
        self._by_symbol: dict[str, BybitInstrument] = {}
        for ins in instruments:
            self._by_venue[(ins.category, ins.name)] = ins
            self._by_symbol[ins.symbol] = ins

    @classmethod
    def from_symbols(cls, symbols: Iterable[str]) -> SymbolMap:
        """From engine symbols, splitting the coins by a known quote suffix (``BTCPERP`` settles in USDC)."""
        out: list[BybitInstrument] = []
        for sym in symbols:
            market, _, name = sym.partition(":")
            if market not in ("bybit-spot", "bybit-linear"):
                raise UnknownVenueSymbolError(f"{sym!r} is not a bybit-spot or bybit-linear symbol")
            category: Category = "spot" if market == "bybit-spot" else "linear"
            if name.endswith("PERP"):
                base, quote = name[: -len("PERP")], "USDC"
            else:
                quote = next((q for q in _QUOTES if name.endswith(q) and len(name) > len(q)), "")
                if not quote:
                    raise UnknownVenueSymbolError(f"cannot tell the coins of {sym!r}: give a BybitInstrument")
                base = name[: -len(quote)]
            out.append(BybitInstrument(category=category, name=name, base=base, quote=quote, settle=quote))
        return cls(out)

    def instruments(self) -> list[BybitInstrument]:
        """Every mapped instrument, in the order given."""
        return list(self._by_symbol.values())

    def instrument(self, category: str, name: str) -> BybitInstrument:
        ins = self._by_venue.get((category, name))
        if ins is None:
            raise UnknownVenueSymbolError(
                f"bybit {category} instrument {name!r} is not in the symbol mapping"
            )
        return ins

    def to_engine(self, category: str, name: str) -> str:
        return self.instrument(category, name).symbol

    def to_venue(self, symbol: str) -> BybitInstrument:
        ins = self._by_symbol.get(symbol)
        if ins is None:
            raise UnknownVenueSymbolError(f"{symbol!r} is not in the bybit symbol mapping")
        return ins


# ── helpers ─────────────────────────────────────────────────────────────────────────────────────


def _side(text: str) -> Side:
    side = _SIDES.get(text)
    if side is None:
        raise VenueMessageError(f"bybit side {text!r} is neither Buy nor Sell")
    return side


def _opt_dec(text: str, field: str) -> Decimal | None:
    if text == "":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise VenueMessageError(f"bybit field {field}={text!r} is not a decimal") from None
    if not value.is_finite():
        raise VenueMessageError(f"bybit field {field}={text!r} is not finite")
    return value


def _decode(decoder: msgspec.json.Decoder[_T], raw: bytes | msgspec.Raw, what: str) -> _T:
    try:
        return decoder.decode(raw)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise VenueMessageError(f"bybit {what} malformed: {exc}") from None


def _client_id(link_id: str, order_id: str) -> str:
    return link_id or order_id


# ── public ──────────────────────────────────────────────────────────────────────────────────────


def trade_ticks(rows: Sequence[TradeRow], category: str, symbols: SymbolMap, ts_init: int) -> list[TradeTick]:
    return [
        TradeTick(
            ts_event=r.T * _MS,
            ts_init=ts_init,
            instrument=symbols.to_engine(category, r.s),
            price=r.p,
            size=r.v,
            aggressor=_side(r.S),
            trade_id=r.i,
        )
        for r in rows
    ]


class TopOfBook:
    """The best bid and ask per symbol of ``orderbook.1``: the state deltas apply to."""

    def __init__(self) -> None:
        self._books: dict[str, list[tuple[Decimal, Decimal] | None]] = {}

    def reset(self, symbol: str) -> None:
        """Forget ``symbol``'s book: nothing is quoted from it until the next snapshot."""
        self._books.pop(symbol, None)

    def apply(
        self, data: BookData, snapshot: bool
    ) -> tuple[tuple[Decimal, Decimal], tuple[Decimal, Decimal]] | None:
        """Apply a snapshot or delta; the (bid, ask) levels after it, or None with a side empty."""
        book = self._books.get(data.s)
        if snapshot or book is None or data.u == 1:
            book = [None, None]
            self._books[data.s] = book
        for i, levels in ((0, data.b), (1, data.a)):
            # a delta lists level changes: size 0 deletes its price, any other size is the new top
            # (a one-level book holds nothing below it), so a move arrives as [old, "0"], [new, size]
            for price, size in levels:
                current = book[i]
                if size != _ZERO:
                    book[i] = (price, size)
                elif current is not None and current[0] == price:
                    book[i] = None
        bid, ask = book
        if bid is None or ask is None:
            return None
        return bid, ask


def quote_from_book(
    frame: Frame, book: TopOfBook, category: str, symbols: SymbolMap, ts_init: int
) -> list[QuoteTick]:
    data = _decode(_book_dec, frame.data, "orderbook data")
    top = book.apply(data, frame.type == "snapshot")
    if top is None:
        return []
    (bid, bid_size), (ask, ask_size) = top
    ts_ms = frame.cts if frame.cts is not None else frame.ts
    return [
        QuoteTick(
            ts_event=ts_ms * _MS,
            ts_init=ts_init,
            instrument=symbols.to_engine(category, data.s),
            bid=bid,
            bid_size=bid_size,
            ask=ask,
            ask_size=ask_size,
        )
    ]


# ── private: orders and executions ─────────────────────────────────────────────────────────────


def order_events(rows: Sequence[OrderRow], ts_init: int) -> list[Event]:
    """The private ``order`` topic: acks, cancels, expiries and rejects; never a fill."""
    out: list[Event] = []
    for r in rows:
        ts = r.updatedTime * _MS
        cid = _client_id(r.orderLinkId, r.orderId)
        status = r.orderStatus
        if status in ("New", "Untriggered"):
            out.append(
                OrderAccepted(ts_event=ts, ts_init=ts_init, client_order_id=cid, venue_order_id=r.orderId)
            )
        elif status == "Rejected":
            out.append(
                OrderRejected(
                    ts_event=ts,
                    ts_init=ts_init,
                    client_order_id=cid,
                    reason=r.rejectReason,
                    code=r.rejectReason,
                )
            )
        elif status in _CANCELED:
            if _expired(r):
                out.append(OrderExpired(ts_event=ts, ts_init=ts_init, client_order_id=cid))
            else:
                reason = r.cancelType if r.cancelType not in _BY_TIME_IN_FORCE else r.rejectReason
                out.append(OrderCanceled(ts_event=ts, ts_init=ts_init, client_order_id=cid, reason=reason))
        # Created, PartiallyFilled, Filled, Triggered, Active: fills come from `execution` only.
    return out


def _expired(r: OrderRow) -> bool:
    return (
        r.timeInForce in _IMMEDIATE and r.cancelType in _BY_TIME_IN_FORCE and r.orderStatus != "Deactivated"
    )


def _cum_qty(r: ExecRow) -> Decimal:
    cum = _opt_dec(r.cumExecQty, "cumExecQty")
    if cum is not None:
        return cum
    order_qty = _opt_dec(r.orderQty, "orderQty")
    leaves = _opt_dec(r.leavesQty, "leavesQty")
    if order_qty is None or leaves is None:
        raise VenueMessageError(
            f"bybit execution {r.execId}: no cumExecQty and no orderQty/leavesQty to derive it from"
        )
    return ORDER_SUM_CONTEXT.subtract(order_qty, leaves)


def _fee_currency(r: ExecRow, ins: BybitInstrument, side: Side) -> str:
    if r.feeCurrency:
        return r.feeCurrency
    if ins.category == "linear":
        return ins.settle or ins.quote
    return ins.base if side is Side.BUY else ins.quote


def _fill(r: ExecRow, category: str, symbols: SymbolMap, ts_init: int) -> OrderFilled:
    ins = symbols.instrument(r.category or category, r.symbol)
    side = _side(r.side)
    return OrderFilled(
        ts_event=r.execTime * _MS,
        ts_init=ts_init,
        client_order_id=_client_id(r.orderLinkId, r.orderId),
        instrument=ins.symbol,
        side=side,
        trade_id=r.execId,
        last_qty=r.execQty,
        last_px=r.execPrice,
        cum_qty=_cum_qty(r),
        fee=_opt_dec(r.execFee, "execFee") or _ZERO,
        fee_currency=_fee_currency(r, ins, side),
        liquidity=Liquidity.MAKER if r.isMaker else Liquidity.TAKER,
    )


def fills(rows: Sequence[ExecRow], symbols: SymbolMap, ts_init: int, category: str = "") -> list[OrderFilled]:
    """The private ``execution`` topic: one fill per trade execution (rows carry their category)."""
    return [_fill(r, category, symbols, ts_init) for r in rows if r.execType == "Trade"]


def fill_reports(
    rows: Sequence[ExecRow], category: str, symbols: SymbolMap, ts_init: int
) -> list[FillReport]:
    """``/v5/execution/list``: the fills reconciliation found (the list gives the category once)."""
    return [
        FillReport(**msgspec.structs.asdict(_fill(r, category, symbols, ts_init)))
        for r in rows
        if r.execType == "Trade"
    ]


# ── REST: envelope, status reports ─────────────────────────────────────────────────────────────


def decode_result(body: bytes, result_type: type[_T], http_status: int = 200) -> tuple[_T, int]:
    """The ``result`` of a REST answer and the server ``time`` (ms); ``retCode != 0`` raises
    :class:`BybitRequestError` (its ``outcome`` says what next), a body that is not Bybit's
    raises it too with no ``retCode`` (classified by the HTTP status)."""
    try:
        env = _envelope_dec.decode(body)
    except msgspec.DecodeError:
        if http_status != 200:
            raise BybitRequestError(http_status, None, body[:200].decode("utf-8", "replace")) from None
        raise VenueMessageError(f"bybit REST body is not a v5 envelope: {body[:200]!r}") from None
    if env.retCode != 0:
        raise BybitRequestError(http_status, env.retCode, env.retMsg)
    try:
        result = msgspec.json.decode(env.result, type=result_type, strict=False)
    except msgspec.DecodeError as exc:
        raise VenueMessageError(f"bybit REST result malformed: {exc}") from None
    return result, env.time


_STATUS: Final = {
    "New": ReportedStatus.ACCEPTED,
    "Untriggered": ReportedStatus.ACCEPTED,
    "Created": ReportedStatus.ACCEPTED,
    "Triggered": ReportedStatus.ACCEPTED,
    "Active": ReportedStatus.ACCEPTED,
    "PartiallyFilled": ReportedStatus.PARTIALLY_FILLED,
    "Filled": ReportedStatus.FILLED,
    "Cancelled": ReportedStatus.CANCELED,
    "PartiallyFilledCanceled": ReportedStatus.CANCELED,
    "Deactivated": ReportedStatus.CANCELED,
    "Rejected": ReportedStatus.REJECTED,
}


def status_reports(
    rows: Sequence[OrderRow],
    category: str,
    symbols: SymbolMap,
    ts_init: int,
    *,
    query: QueryOrder | None = None,
    server_time_ms: int = 0,
) -> list[OrderStatusReport]:
    """Order list rows → reports. With ``query`` (a lookup by ``orderLinkId``) an empty list is a
    ``not_found`` report for exactly the queried order, stamped with the server ``time``."""
    if not rows and query is not None:
        return [
            OrderStatusReport(
                ts_event=server_time_ms * _MS,
                ts_init=ts_init,
                client_order_id=query.client_order_id,
                venue=VENUE,
                instrument=query.instrument,
                side=query.side,
                order_type=query.order_type,
                quantity=query.quantity,
                status=ReportedStatus.NOT_FOUND,
                filled_qty=_ZERO,
            )
        ]
    out: list[OrderStatusReport] = []
    for r in rows:
        status = _STATUS.get(r.orderStatus)
        if status is None:
            raise VenueMessageError(f"bybit orderStatus {r.orderStatus!r} is not one this adapter knows")
        if status is ReportedStatus.CANCELED and _expired(r):
            status = ReportedStatus.EXPIRED
        order_type = _ORDER_TYPES.get(r.orderType)
        if order_type is None:
            raise VenueMessageError(f"bybit orderType {r.orderType!r} is neither Market nor Limit")
        price = _opt_dec(r.price, "price")
        avg = _opt_dec(r.avgPrice, "avgPrice")
        reason = r.rejectReason if r.rejectReason not in ("", "EC_NoError") else r.cancelType
        out.append(
            OrderStatusReport(
                ts_event=r.updatedTime * _MS,
                ts_init=ts_init,
                client_order_id=_client_id(r.orderLinkId, r.orderId),
                venue=VENUE,
                instrument=symbols.to_engine(r.category or category, r.symbol),
                side=_side(r.side),
                order_type=order_type,
                quantity=r.qty,
                status=status,
                filled_qty=r.cumExecQty,
                venue_order_id=r.orderId,
                price=price if price else None,
                avg_px=avg if avg else None,
                reason=reason if reason not in _BY_TIME_IN_FORCE else None,
                external=not r.orderLinkId,
            )
        )
    return out


# ── frames ──────────────────────────────────────────────────────────────────────────────────────


def _control(frame: Frame) -> None:
    """A control frame gives nothing; a refused operation raises."""
    if frame.success is False:
        raise BybitWsError(frame.op, frame.ret_msg)


class BybitParser:
    """One run's parser: the symbol mapping, and the top of book that ``orderbook.1`` deltas apply to."""

    def __init__(self, symbols: SymbolMap) -> None:
        self.symbols = symbols
        self.books: dict[str, TopOfBook] = {"spot": TopOfBook(), "linear": TopOfBook()}

    def public(self, category: Category, raw: bytes, ts_init: int) -> list[Event]:
        """A frame of ``/v5/public/{category}``."""
        frame = _decode(_frame_dec, raw, "public frame")
        topic = frame.topic
        if not topic:
            _control(frame)
            return []
        if topic.startswith("publicTrade."):
            rows = _decode(_trades_dec, frame.data, "publicTrade data")
            return list(trade_ticks(rows, category, self.symbols, ts_init))
        if topic.startswith("orderbook.1."):
            return list(quote_from_book(frame, self.books[category], category, self.symbols, ts_init))
        return []  # tickers and deeper books are decoded by their own consumers

    def private(self, raw: bytes, ts_init: int) -> list[Event]:
        """A frame of ``/v5/private``."""
        frame = _decode(_frame_dec, raw, "private frame")
        topic = frame.topic
        if not topic:
            _control(frame)
            return []
        if topic in _ORDER_TOPICS:
            orders = _decode(_orders_dec, frame.data, "order data")
            return order_events(orders, ts_init)
        if topic in _EXECUTION_TOPICS:
            execs = _decode(_execs_dec, frame.data, "execution data")
            return list(fills(execs, self.symbols, ts_init))
        if topic.startswith("execution."):  # execution.fast lacks leavesQty and fees
            raise VenueMessageError(f"bybit topic {topic!r} is not supported: subscribe to 'execution'")
        return []  # wallet, position: read by reconciliation, not events yet
