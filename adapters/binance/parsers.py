"""Pure parsers: Binance wire messages → engine events. No I/O, no clock: the caller passes
``ts_init`` (its clock's stamp for the moment the message arrived).

:class:`SymbolMap` maps one market's venue symbols to engine symbols (``BTCUSDT`` ↔
``binance-spot:BTCUSDT``; spot and USD-M share names, so there is one map per market);
:class:`BinanceParser` holds a map and the venue name, and turns:

=================================  ====================================================================
message                            events
=================================  ====================================================================
``bookTicker`` (spot, USD-M)       :class:`QuoteTick`; ``ts_event`` is USD-M's transaction time ``T``
                                   (the matching engine's time of the book change; ``E`` when ``T`` is
                                   absent). Spot bookTicker carries no time at all, so ``ts_event`` is
                                   ``ts_init``: the receive time is the only time there is, and using
                                   it keeps arbitrage alignment honest (a quote is never older than it
                                   looks). The update id ``u`` is dropped.
``trade``, ``aggTrade``            :class:`TradeTick` at trade time ``T``; the aggressor is the seller
                                   when the buyer is the maker (``m``); the trade id is ``t``
                                   (``a`` for aggTrade). USD-M ``trade`` rows whose ``X`` is not
                                   ``MARKET`` (insurance fund, ADL) are not market prints: none.
``executionReport`` (spot),        by execution type ``x``: ``NEW`` → :class:`OrderAccepted`,
``ORDER_TRADE_UPDATE`` (USD-M)     ``TRADE`` (and USD-M ``CALCULATED``, a liquidation fill) →
                                   :class:`OrderFilled` (``l``/``L`` last qty/px, ``z`` cum qty,
                                   ``n``/``N`` fee and asset, ``t`` trade id, ``m`` maker →
                                   liquidity), ``CANCELED`` → :class:`OrderCanceled`, ``EXPIRED``
                                   (or ``TRADE_PREVENTION`` with status ``EXPIRED_IN_MATCH``) →
                                   :class:`OrderExpired`, ``REJECTED`` → :class:`OrderRejected`
                                   (reason ``r``); ``REPLACED``/``AMENDMENT`` → none. ``ts_event``
                                   is the transaction time. Spot's client id is ``C``
                                   (origClientOrderId) when set (a cancel reports the order's id
                                   there and the cancel request's id in ``c``), else ``c``.
``listenKeyExpired`` and friends   a :class:`StreamControl` for the client (reconnect, reconcile)
REST new order (ACK/RESULT/FULL)   :class:`OrderAccepted`, then FULL's ``fills`` as
                                   :class:`OrderFilled` (taker: they matched on entry; cum is their
                                   running sum), then :class:`OrderExpired` or :class:`OrderCanceled`
                                   when the status says the order ended (IOC, FOK)
REST query order                   :class:`OrderStatusReport`; an error -2013 "Order does not exist" →
                                   ``not_found`` for the order the :class:`QueryOrder` names
REST cancel                        :class:`OrderCanceled` (or :class:`OrderExpired`) for the order's
                                   original client id
``myTrades`` / ``userTrades``      :class:`FillReport` per row (the rows carry no client id: the
                                   caller maps order ids to client ids; ``cum_qty`` is the running sum
                                   from the order's prior cumulative quantity)
=================================  ====================================================================

A frame that carries no event (a subscription ack ``{"result":null,"id":1}``, a WebSocket API
response, an event type the engine does not use) gives ``None``; a malformed one raises
:class:`~adapters.venue_errors.VenueMessageError`.

Trade ids are Binance's per-symbol ids, as strings; the order book deduplicates them per order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, TypeVar

import msgspec

from adapters.binance.errors import VenueRequestError
from adapters.binance.schemas import (
    AggTrade,
    BookTicker,
    ErrorBody,
    ExecutionReport,
    FuturesOrderUpdate,
    Kline,
    OrderTradeUpdate,
    RestOrder,
    Trade,
    UserTrade,
)
from adapters.venue_errors import UnknownVenueSymbolError, UnknownVenueValueError, VenueMessageError
from engines.decimals import AVG_PX_CONTEXT, ORDER_SUM_CONTEXT
from engines.model.commands import QueryOrder
from engines.model.enums import Liquidity, OrderType, ReportedStatus, Side
from engines.model.events import (
    Bar,
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
from engines.model.instruments import market_of

__all__ = [
    "SPOT",
    "USDM",
    "BinanceParser",
    "FillReports",
    "OrderLifecycleEvent",
    "StreamControl",
    "SymbolMap",
    "error_body",
]

SPOT: Final = "binance-spot"
USDM: Final = "binance-usdm"
_MS: Final = 1_000_000  # ms → ns
_ZERO: Final = Decimal(0)

OrderLifecycleEvent = OrderAccepted | OrderFilled | OrderCanceled | OrderExpired | OrderRejected

T = TypeVar("T")

# Prebuilt decoders: building one per message would cost more than the decode.
_BOOK_TICKER: Final = msgspec.json.Decoder(BookTicker)
_TRADE: Final = msgspec.json.Decoder(Trade)
_AGG_TRADE: Final = msgspec.json.Decoder(AggTrade)
_EXEC: Final = msgspec.json.Decoder(ExecutionReport)
_OTU: Final = msgspec.json.Decoder(OrderTradeUpdate)
_REST_ORDER: Final = msgspec.json.Decoder(RestOrder)
_USER_TRADES: Final = msgspec.json.Decoder(list[UserTrade])
_ERROR: Final = msgspec.json.Decoder(ErrorBody)
_KLINE: Final = msgspec.json.Decoder(Kline)
_ANY: Final = msgspec.json.Decoder()
_NO_RAW: Final = msgspec.Raw(b"")


class _MarketProbe(msgspec.Struct, frozen=True):
    """What tells one market frame from another: the event type, the combined-stream envelope, and
    spot bookTicker's update id (it has no event type)."""

    e: str = ""
    u: int | None = None
    stream: str = ""
    data: msgspec.Raw = _NO_RAW


class _UserProbe(msgspec.Struct, frozen=True):
    """The user data envelopes: WebSocket API ``{"subscriptionId", "event"}``, combined stream
    ``{"stream", "data"}``, bare events ``{"e", ...}``, and API responses ``{"id", "status", ...}``."""

    e: str = ""
    E: int = 0
    event: msgspec.Raw = _NO_RAW
    data: msgspec.Raw = _NO_RAW
    error: msgspec.Raw = _NO_RAW


_MARKET_PROBE: Final = msgspec.json.Decoder(_MarketProbe)
_USER_PROBE: Final = msgspec.json.Decoder(_UserProbe)


class StreamControl(msgspec.Struct, frozen=True, kw_only=True):
    """A user-stream frame that is no event but tells the client to act: ``listen_key_expired``,
    ``stream_terminated``, ``server_shutdown`` (reconnect and reconcile), ``error`` (a WebSocket
    API request failed; ``detail`` holds the venue's error)."""

    kind: str
    ts_event: int
    detail: str = ""


class FillReports(msgspec.Struct, frozen=True, kw_only=True):
    """Fill reports from trade rows, and the order ids whose client id the caller did not give (query
    those orders, then parse their rows again)."""

    fills: tuple[FillReport, ...]
    missing_order_ids: tuple[int, ...] = ()


# ── value tables ────────────────────────────────────────────────────────────────────────────────

_SIDES: Final = {"BUY": Side.BUY, "SELL": Side.SELL}

_STATUS: Final = {
    "NEW": ReportedStatus.ACCEPTED,
    "PENDING_NEW": ReportedStatus.ACCEPTED,
    "PENDING_CANCEL": ReportedStatus.ACCEPTED,
    "PARTIALLY_FILLED": ReportedStatus.PARTIALLY_FILLED,
    "FILLED": ReportedStatus.FILLED,
    "CANCELED": ReportedStatus.CANCELED,
    "EXPIRED": ReportedStatus.EXPIRED,
    "EXPIRED_IN_MATCH": ReportedStatus.EXPIRED,
    "REJECTED": ReportedStatus.REJECTED,
}

_SPOT_TYPES: Final = {
    "LIMIT": OrderType.LIMIT,
    "LIMIT_MAKER": OrderType.LIMIT,
    "MARKET": OrderType.MARKET,
    "STOP_LOSS": OrderType.STOP,
    "TAKE_PROFIT": OrderType.STOP,
    "STOP_LOSS_LIMIT": OrderType.STOP_LIMIT,
    "TAKE_PROFIT_LIMIT": OrderType.STOP_LIMIT,
}

# USD-M's STOP and TAKE_PROFIT are stop-limit orders; the *_MARKET ones trigger market orders.
_USDM_TYPES: Final = {
    "LIMIT": OrderType.LIMIT,
    "MARKET": OrderType.MARKET,
    "STOP": OrderType.STOP_LIMIT,
    "TAKE_PROFIT": OrderType.STOP_LIMIT,
    "STOP_MARKET": OrderType.STOP,
    "TAKE_PROFIT_MARKET": OrderType.STOP,
    "TRAILING_STOP_MARKET": OrderType.STOP,
    "LIQUIDATION": OrderType.MARKET,
}

_FILL_TYPES: Final = frozenset({"TRADE", "CALCULATED"})
_EXPIRED: Final = frozenset({"EXPIRED", "EXPIRED_IN_MATCH"})
_NO_EVENT_TYPES: Final = frozenset({"REPLACED", "AMENDMENT", "TRADE_PREVENTION"})
_CONTROL_EVENTS: Final = {
    "listenKeyExpired": "listen_key_expired",
    "eventStreamTerminated": "stream_terminated",
    "serverShutdown": "server_shutdown",
}


def _lookup(table: Mapping[str, T], value: str, what: str) -> T:
    try:
        return table[value]
    except KeyError:
        raise UnknownVenueValueError(f"binance {what} {value!r} has no mapping") from None


def _decode(decoder: msgspec.json.Decoder[T], raw: bytes | memoryview | msgspec.Raw, what: str) -> T:
    try:
        return decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise VenueMessageError(f"binance {what} malformed ({exc}): {bytes(raw)[:200]!r}") from None


def error_body(raw: bytes) -> ErrorBody | None:
    """The ``{"code", "msg"}`` body of a failed request, or None when the body is not one."""
    try:
        return _ERROR.decode(raw)
    except msgspec.DecodeError:
        return None


def _raise_unless_no_event(raw: bytes | msgspec.Raw, exc: msgspec.DecodeError, what: str) -> None:
    """Return for a frame that carries no event (a subscription ack, a response); else raise."""
    try:
        obj: Any = _ANY.decode(raw)
    except msgspec.DecodeError:
        obj = None
    if isinstance(obj, dict) and "id" in obj and "error" not in obj and "e" not in obj:
        return None
    raise VenueMessageError(f"binance {what} malformed ({exc}): {bytes(raw)[:200]!r}") from None


class SymbolMap:
    """One market's symbols: the venue's name (``BTCUSDT``) ↔ the engine's (``binance-spot:BTCUSDT``)."""

    __slots__ = ("_to_engine", "_to_venue", "market")

    def __init__(self, market: str, venue_symbols: Iterable[str]) -> None:
        self.market = market
        self._to_engine = {s: f"{market}:{s}" for s in venue_symbols}
        self._to_venue = {v: k for k, v in self._to_engine.items()}

    @classmethod
    def of(cls, market: str, engine_symbols: Iterable[str]) -> SymbolMap:
        """The map of ``market`` from a run's universe (other markets' symbols are left out)."""
        return cls(market, (s.split(":", 1)[1] for s in engine_symbols if market_of(s) == market))

    @property
    def futures(self) -> bool:
        return self.market == USDM

    @property
    def venue_symbols(self) -> tuple[str, ...]:
        """The venue's names of the mapped symbols (``BTCUSDT``), in mapping order."""
        return tuple(self._to_engine)

    def instrument(self, venue_symbol: str) -> str:
        try:
            return self._to_engine[venue_symbol]
        except KeyError:
            raise UnknownVenueSymbolError(
                f"binance symbol {venue_symbol!r} is not in the {self.market} mapping"
            ) from None

    def venue_symbol(self, instrument: str) -> str:
        try:
            return self._to_venue[instrument]
        except KeyError:
            raise UnknownVenueSymbolError(f"{instrument!r} is not in the {self.market} mapping") from None


class BinanceParser:
    """The parsers of one market (spot or USD-M) of one venue name (``binance``)."""

    def __init__(self, symbols: SymbolMap, venue: str = "binance") -> None:
        self.symbols = symbols
        self.venue = venue
        self._instruments = symbols._to_engine
        self._types = _USDM_TYPES if symbols.futures else _SPOT_TYPES

    # ── market data ──

    def quote(self, raw: bytes | msgspec.Raw, ts_init: int) -> QuoteTick | None:
        """A ``bookTicker`` frame (the raw stream ``/ws/<symbol>@bookTicker``)."""
        try:
            m = _BOOK_TICKER.decode(raw)
        except msgspec.DecodeError as exc:
            _raise_unless_no_event(raw, exc, "bookTicker")
            return None
        return self.quote_from(m, ts_init)

    def quote_from(self, m: BookTicker, ts_init: int) -> QuoteTick:
        instrument = self._instruments.get(m.symbol)
        if instrument is None:
            instrument = self.symbols.instrument(m.symbol)
        ts = m.transaction_time or m.event_time
        return QuoteTick(
            ts_event=ts * _MS if ts else ts_init,
            ts_init=ts_init,
            instrument=instrument,
            bid=m.bid,
            bid_size=m.bid_qty,
            ask=m.ask,
            ask_size=m.ask_qty,
        )

    def trade(self, raw: bytes | msgspec.Raw, ts_init: int) -> TradeTick | None:
        """A ``trade`` frame (spot or USD-M)."""
        try:
            m = _TRADE.decode(raw)
        except msgspec.DecodeError as exc:
            _raise_unless_no_event(raw, exc, "trade")
            return None
        if m.kind != "MARKET":
            return None
        return self._trade_tick(
            symbol=m.symbol,
            price=m.price,
            qty=m.qty,
            buyer_is_maker=m.buyer_is_maker,
            tid=m.trade_id,
            t_ms=m.trade_time,
            ts_init=ts_init,
        )

    def agg_trade(self, raw: bytes | msgspec.Raw, ts_init: int) -> TradeTick | None:
        """An ``aggTrade`` frame: the trade id is the aggregate id ``a``."""
        try:
            m = _AGG_TRADE.decode(raw)
        except msgspec.DecodeError as exc:
            _raise_unless_no_event(raw, exc, "aggTrade")
            return None
        return self._trade_tick(
            symbol=m.symbol,
            price=m.price,
            qty=m.qty,
            buyer_is_maker=m.buyer_is_maker,
            tid=m.agg_id,
            t_ms=m.trade_time,
            ts_init=ts_init,
        )

    def _trade_tick(
        self,
        *,
        symbol: str,
        price: Decimal,
        qty: Decimal,
        buyer_is_maker: bool,
        tid: int,
        t_ms: int,
        ts_init: int,
    ) -> TradeTick:
        return TradeTick(
            ts_event=t_ms * _MS,
            ts_init=ts_init,
            instrument=self.symbols.instrument(symbol),
            price=price,
            size=qty,
            aggressor=Side.SELL if buyer_is_maker else Side.BUY,
            trade_id=str(tid),
        )

    def market_frame(self, raw: bytes | msgspec.Raw, ts_init: int) -> QuoteTick | TradeTick | None:
        """Any market frame, raw or in the combined-stream envelope ``{"stream", "data"}``: quotes
        and trades; other streams (depth, klines) and control frames give None."""
        probe = _decode(_MARKET_PROBE, raw, "market frame")
        if len(probe.data):
            return self.market_frame(probe.data, ts_init)
        if probe.e == "bookTicker" or (not probe.e and probe.u is not None):
            return self.quote(raw, ts_init)
        if probe.e == "trade":
            return self.trade(raw, ts_init)
        if probe.e == "aggTrade":
            return self.agg_trade(raw, ts_init)
        if not probe.e:
            # no event type and no update id: an ack, or a stream error
            _raise_unless_no_event(raw, msgspec.DecodeError("not a market event"), "market frame")
            return None
        return None

    def kline(self, raw: bytes | msgspec.Raw, ts_init: int) -> Bar | None:
        """A ``kline`` frame as a :class:`Bar` when the bar has closed (``x``); an open bar's updates
        give None. ``ts_event`` is the bar's end (Binance's close time ``T`` is its last millisecond,
        so the end is ``T`` + 1 ms)."""
        m = _decode(_KLINE, raw, "kline")
        k = m.kline
        if not k.closed:
            return None
        return Bar(
            ts_event=(k.close_time + 1) * _MS,
            ts_init=ts_init,
            instrument=self.symbols.instrument(k.symbol),
            open=k.open,
            high=k.high,
            low=k.low,
            close=k.close,
            volume=k.volume,
            interval_ns=(k.close_time + 1 - k.start_time) * _MS,
        )

    def market_event(self, raw: bytes | msgspec.Raw, ts_init: int) -> QuoteTick | TradeTick | Bar | None:
        """What :meth:`market_frame` reads, and closed klines as bars."""
        probe = _decode(_MARKET_PROBE, raw, "market frame")
        if len(probe.data):
            return self.market_event(probe.data, ts_init)
        if probe.e == "kline":
            return self.kline(raw, ts_init)
        return self.market_frame(raw, ts_init)

    # ── user data ──

    def execution_report(
        self, msg: bytes | msgspec.Raw | ExecutionReport, ts_init: int
    ) -> OrderLifecycleEvent | None:
        """A spot ``executionReport``."""
        m = msg if isinstance(msg, ExecutionReport) else _decode(_EXEC, msg, "executionReport")
        return self._order_event(
            client_order_id=m.orig_client_order_id or m.client_order_id,
            execution_type=m.execution_type,
            status=m.status,
            order_id=m.order_id,
            symbol=m.symbol,
            side=m.side,
            trade_id=m.trade_id,
            last_qty=m.last_qty,
            last_px=m.last_px,
            cum_qty=m.cum_qty,
            fee=m.fee,
            fee_asset=m.fee_asset,
            is_maker=m.is_maker,
            reason=m.reject_reason,
            ts_event=m.transaction_time * _MS,
            ts_init=ts_init,
        )

    def order_trade_update(
        self, msg: bytes | msgspec.Raw | OrderTradeUpdate, ts_init: int
    ) -> OrderLifecycleEvent | None:
        """A USD-M ``ORDER_TRADE_UPDATE``."""
        m = msg if isinstance(msg, OrderTradeUpdate) else _decode(_OTU, msg, "ORDER_TRADE_UPDATE")
        o: FuturesOrderUpdate = m.order
        return self._order_event(
            client_order_id=o.client_order_id,
            execution_type=o.execution_type,
            status=o.status,
            order_id=o.order_id,
            symbol=o.symbol,
            side=o.side,
            trade_id=o.trade_id,
            last_qty=o.last_qty,
            last_px=o.last_px,
            cum_qty=o.cum_qty,
            fee=o.fee,
            fee_asset=o.fee_asset,
            is_maker=o.is_maker,
            reason="",
            ts_event=(o.trade_time or m.transaction_time) * _MS,
            ts_init=ts_init,
        )

    def _order_event(
        self,
        *,
        client_order_id: str,
        execution_type: str,
        status: str,
        order_id: int,
        symbol: str,
        side: str,
        trade_id: int,
        last_qty: Decimal,
        last_px: Decimal,
        cum_qty: Decimal,
        fee: Decimal,
        fee_asset: str | None,
        is_maker: bool,
        reason: str,
        ts_event: int,
        ts_init: int,
    ) -> OrderLifecycleEvent | None:
        x = execution_type
        if x == "NEW":
            return OrderAccepted(
                ts_event=ts_event,
                ts_init=ts_init,
                client_order_id=client_order_id,
                venue_order_id=str(order_id),
            )
        if x in _FILL_TYPES:
            return OrderFilled(
                ts_event=ts_event,
                ts_init=ts_init,
                client_order_id=client_order_id,
                instrument=self.symbols.instrument(symbol),
                side=_lookup(_SIDES, side, "side"),
                trade_id=str(trade_id),
                last_qty=last_qty,
                last_px=last_px,
                cum_qty=cum_qty,
                fee=fee,
                fee_currency=fee_asset or "",
                liquidity=Liquidity.MAKER if is_maker else Liquidity.TAKER,
            )
        if x == "CANCELED":
            return OrderCanceled(ts_event=ts_event, ts_init=ts_init, client_order_id=client_order_id)
        if x in _EXPIRED or (x == "TRADE_PREVENTION" and status in _EXPIRED):
            return OrderExpired(ts_event=ts_event, ts_init=ts_init, client_order_id=client_order_id)
        if x == "REJECTED":
            return OrderRejected(
                ts_event=ts_event,
                ts_init=ts_init,
                client_order_id=client_order_id,
                reason=reason if reason and reason != "NONE" else "rejected",
            )
        if x in _NO_EVENT_TYPES:
            return None
        raise UnknownVenueValueError(f"binance execution type {x!r} has no mapping")

    def user_frame(
        self, raw: bytes | msgspec.Raw, ts_init: int
    ) -> OrderLifecycleEvent | StreamControl | None:
        """Any user data frame: bare, in the WebSocket API envelope ``{"subscriptionId","event"}``
        or the combined-stream envelope; account events the engine does not fold give None."""
        probe = _decode(_USER_PROBE, raw, "user data frame")
        if len(probe.event):
            return self.user_frame(probe.event, ts_init)
        if len(probe.data):
            return self.user_frame(probe.data, ts_init)
        if probe.e == "executionReport":
            return self.execution_report(raw, ts_init)
        if probe.e == "ORDER_TRADE_UPDATE":
            return self.order_trade_update(raw, ts_init)
        control = _CONTROL_EVENTS.get(probe.e)
        if control is not None:
            return StreamControl(kind=control, ts_event=probe.E * _MS if probe.E else ts_init)
        if len(probe.error):
            return StreamControl(kind="error", ts_event=ts_init, detail=bytes(probe.error).decode())
        return None

    # ── REST ──

    def rest_order(self, raw: bytes) -> RestOrder:
        return _decode(_REST_ORDER, raw, "order response")

    def new_order_events(self, msg: bytes | RestOrder, ts_init: int) -> list[OrderLifecycleEvent]:
        """A successful new-order response: accepted, FULL's fills, and the end if it already came."""
        m = msg if isinstance(msg, RestOrder) else self.rest_order(msg)
        ts = (m.transact_time or m.update_time) * _MS or ts_init
        cid = m.client_order_id
        if m.status == "REJECTED":
            return [OrderRejected(ts_event=ts, ts_init=ts_init, client_order_id=cid, reason="rejected")]
        out: list[OrderLifecycleEvent] = [
            OrderAccepted(ts_event=ts, ts_init=ts_init, client_order_id=cid, venue_order_id=str(m.order_id))
        ]
        if m.fills:
            instrument = self.symbols.instrument(m.symbol)
            side = _lookup(_SIDES, m.side, "side")
            cum = _ZERO
            for f in m.fills:
                cum = ORDER_SUM_CONTEXT.add(cum, f.qty)
                out.append(
                    OrderFilled(
                        ts_event=ts,
                        ts_init=ts_init,
                        client_order_id=cid,
                        instrument=instrument,
                        side=side,
                        trade_id=str(f.trade_id),
                        last_qty=f.qty,
                        last_px=f.price,
                        cum_qty=cum,
                        fee=f.commission,
                        fee_currency=f.commission_asset,
                        liquidity=Liquidity.TAKER,
                    )
                )
        end = self._end(m, cid, ts, ts_init)
        if end is not None:
            out.append(end)
        return out

    def cancel_events(self, msg: bytes | RestOrder, ts_init: int) -> list[OrderLifecycleEvent]:
        """A successful cancel response: the order's end, under its original client id (spot
        ``origClientOrderId``; USD-M ``clientOrderId``)."""
        m = msg if isinstance(msg, RestOrder) else self.rest_order(msg)
        ts = (m.transact_time or m.update_time) * _MS or ts_init
        end = self._end(m, m.orig_client_order_id or m.client_order_id, ts, ts_init)
        return [end] if end is not None else []

    @staticmethod
    def _end(m: RestOrder, cid: str, ts: int, ts_init: int) -> OrderCanceled | OrderExpired | None:
        if m.status == "CANCELED":
            return OrderCanceled(ts_event=ts, ts_init=ts_init, client_order_id=cid)
        if m.status in _EXPIRED:
            return OrderExpired(ts_event=ts, ts_init=ts_init, client_order_id=cid)
        return None

    def status_report(
        self, msg: bytes | RestOrder, ts_init: int, *, external: bool = False
    ) -> OrderStatusReport:
        """A query-order (or open-orders) row as a status report."""
        m = msg if isinstance(msg, RestOrder) else self.rest_order(msg)
        if m.orig_qty is None:
            raise VenueMessageError(f"binance order {m.order_id} has no origQty")
        ts = m.update_time or m.transact_time or m.time
        avg_px: Decimal | None = None
        if m.avg_price is not None and m.avg_price:
            avg_px = m.avg_price
        elif m.cum_quote_qty is not None and m.executed_qty:
            avg_px = AVG_PX_CONTEXT.divide(m.cum_quote_qty, m.executed_qty)
        return OrderStatusReport(
            ts_event=ts * _MS if ts else ts_init,
            ts_init=ts_init,
            client_order_id=m.client_order_id,
            venue=self.venue,
            instrument=self.symbols.instrument(m.symbol),
            side=_lookup(_SIDES, m.side, "side"),
            order_type=_lookup(self._types, m.type, "order type"),
            quantity=m.orig_qty,
            status=_lookup(_STATUS, m.status, "order status"),
            filled_qty=m.executed_qty,
            venue_order_id=str(m.order_id),
            price=m.price or None,
            avg_px=avg_px,
            external=external,
        )

    def query_response(
        self, http_status: int, body: bytes, query: QueryOrder, ts_init: int
    ) -> OrderStatusReport:
        """The answer to ``GET .../order?origClientOrderId=``: a report; -2013 → ``not_found`` for
        the order the query names; any other error → :class:`VenueRequestError`."""
        if 200 <= http_status < 300:
            return self.status_report(body, ts_init)
        err = error_body(body)
        if err is not None and err.code == -2013:
            return OrderStatusReport(
                ts_event=ts_init,
                ts_init=ts_init,
                client_order_id=query.client_order_id,
                venue=self.venue,
                instrument=query.instrument,
                side=query.side,
                order_type=query.order_type,
                quantity=query.quantity,
                status=ReportedStatus.NOT_FOUND,
                filled_qty=_ZERO,
                reason=err.msg,
            )
        raise VenueRequestError(http_status, err.code if err else None, err.msg if err else "")

    def fill_reports(
        self,
        rows: bytes | Sequence[UserTrade],
        ts_init: int,
        client_ids: Mapping[int, str],
        prior_cum: Mapping[int, Decimal] | None = None,
    ) -> FillReports:
        """``myTrades`` / ``userTrades`` rows as fill reports, in (order, trade id) order.

        ``client_ids`` maps Binance order ids to client ids (the rows carry none); ``prior_cum``
        gives an order's cumulative quantity before its first row here (0 when absent), so that
        ``cum_qty`` is the venue's cumulative quantity after each row when the rows are every trade
        of the order since that point (``fromId`` at the last seen trade id + 1).
        """
        items = _decode(_USER_TRADES, rows, "trade list") if isinstance(rows, bytes) else list(rows)
        prior = prior_cum or {}
        cums: dict[int, Decimal] = {}
        fills: list[FillReport] = []
        missing: list[int] = []
        for r in sorted(items, key=lambda r: (r.order_id, r.id)):
            cid = client_ids.get(r.order_id)
            if cid is None:
                if r.order_id not in missing:
                    missing.append(r.order_id)
                continue
            cum = ORDER_SUM_CONTEXT.add(cums.get(r.order_id, prior.get(r.order_id, _ZERO)), r.qty)
            cums[r.order_id] = cum
            fills.append(
                FillReport(
                    ts_event=r.time * _MS,
                    ts_init=ts_init,
                    client_order_id=cid,
                    instrument=self.symbols.instrument(r.symbol),
                    side=_row_side(r),
                    trade_id=str(r.id),
                    last_qty=r.qty,
                    last_px=r.price,
                    cum_qty=cum,
                    fee=r.commission,
                    fee_currency=r.commission_asset,
                    liquidity=Liquidity.MAKER if (r.is_maker or r.maker) else Liquidity.TAKER,
                )
            )
        return FillReports(fills=tuple(fills), missing_order_ids=tuple(missing))


def _row_side(r: UserTrade) -> Side:
    if r.side:
        return _lookup(_SIDES, r.side, "side")
    buyer = r.is_buyer if r.is_buyer is not None else r.buyer
    if buyer is None:
        raise VenueMessageError(f"binance trade {r.id} says neither isBuyer, buyer nor side")
    return Side.BUY if buyer else Side.SELL
