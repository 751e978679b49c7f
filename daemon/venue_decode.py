"""``vibetrading venue decode``: raw venue messages → the events the adapters' parsers make of them.

One message per line, any mix: a WebSocket frame exactly as the venue sends it, or a REST response
wrapped as ``{"rest": "METHOD /path", "headers": {...}, "body": <the response body>}``. Each event
comes out as one JSON line, as ``journal export`` prints it (``type`` first) with ``line`` (the input
line, from 1) after the tag; a line that cannot be read gives ``{"line", "code", "message"}``
(VT800-VT805). A frame that carries no event (pong, subscription ack) gives nothing; Binance's
stream controls (``listenKeyExpired``...) print as ``{"type": "StreamControl", ...}``.

``kis`` and ``kiwoom`` take the same REST wrapper (Kiwoom's must name the ``api-id`` header) and their
WebSocket frames: a KIS pipe frame ``0|H0STCNT0|001|...`` as one line of text or a KIS JSON frame, a
Kiwoom JSON frame; :mod:`adapters.kis.decode` and :mod:`adapters.kiwoom.decode` say what each gives.
Their frames state a time of day but no date, so their events carry ``ts_event``/``ts_init`` 0 unless
a REST row dates them.

Decoding knows no run, so the symbol mapping accepts every symbol a message names
(``binance-spot:<SYM>``, ``binance-usdm:<SYM>``, ``bybit-spot:`` / ``bybit-linear:`` by the category).
``ts_init`` is the message's own time: Binance's event time ``E`` (else ``T``, else the REST order's
time), Bybit's frame ``ts`` / ``creationTime`` or the REST envelope's ``time``; 0 when the message has
none (Binance spot ``bookTicker``, whose ``ts_event`` is then 0 too).

Pure except :func:`decode_stream`, which reads the input and writes the output.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any, Final, Literal

import msgspec

from adapters.binance import parsers as binance
from adapters.binance.errors import VenueRequestError
from adapters.bybit import parsers as bybit
from adapters.bybit.schemas import CancelResult, CreateResult, ExecutionList, OrderList
from adapters.kis.decode import KisDecoder
from adapters.kiwoom.decode import KiwoomDecoder
from adapters.venue_errors import UnknownVenueSymbolError
from engines.errors import VibeError
from engines.model.codec import to_builtins
from engines.model.events import Event

__all__ = ["VENUES", "Decoder", "decode_stream"]

VENUES: Final = ("binance-spot", "binance-usdm", "bybit", "kis", "kiwoom")
_MS: Final = 1_000_000
_MARKET_EVENTS: Final = frozenset({"bookTicker", "trade", "aggTrade"})
_BYBIT_PUBLIC: Final = ("publicTrade.", "orderbook.", "tickers.", "kline.", "liquidation.")

Output = dict[str, Any]


class _Rest(msgspec.Struct, frozen=True):
    """The REST wrapper; the body is kept as its exact bytes for the venue's own decoders."""

    rest: str
    headers: dict[str, Any] | None = None
    body: msgspec.Raw = msgspec.Raw(b"null")


_REST: Final = msgspec.json.Decoder(_Rest)
_ANY: Final = msgspec.json.Decoder()


class _LineError(VibeError):
    """A line this command cannot route (an unknown REST path, a client id not in the message)."""


class _AnyBinanceSymbols(binance.SymbolMap):
    """Every symbol a message names is in the mapping."""

    def instrument(self, venue_symbol: str) -> str:
        if not venue_symbol or not venue_symbol.isalnum():
            return super().instrument(venue_symbol)  # raises VT801
        return self._to_engine.setdefault(venue_symbol, f"{self.market}:{venue_symbol}")


class _AnyBybitSymbols(bybit.SymbolMap):
    """Every spot or linear symbol a message names is in the mapping; the coins are split by the
    known quote suffixes, and left empty when they cannot be told (only a spot fee with no
    ``feeCurrency`` needs them)."""

    def __init__(self) -> None:
        super().__init__(())

    def instrument(self, category: str, name: str) -> bybit.BybitInstrument:
        known = self._by_venue.get((category, name))
        if known is not None:
            return known
        if category not in ("spot", "linear") or not name or not name.isalnum():
            raise UnknownVenueSymbolError(
                f"bybit {category or '(no category)'} instrument {name!r} cannot be mapped"
            )
        symbol = f"bybit-{category}:{name}"
        try:
            (ins,) = bybit.SymbolMap.from_symbols([symbol])._by_symbol.values()
        except UnknownVenueSymbolError:
            ins = bybit.BybitInstrument(category=category, name=name, base="", quote="")  # type: ignore[arg-type]
        self._by_venue[(category, name)] = ins
        self._by_symbol[symbol] = ins
        return ins


def _ms(value: object) -> int:
    """Epoch milliseconds (a number or a digit string) as ns; 0 when there is none."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int) and value > 0:
        return value * _MS
    if isinstance(value, str) and value.isdigit():
        return int(value) * _MS
    return 0


def _split_rest(text: str) -> tuple[str, str]:
    method, _, path = text.strip().partition(" ")
    return method.upper(), path.strip().split("?", 1)[0].rstrip("/")


def _event_line(event: Event | binance.StreamControl, line: int) -> Output:
    if isinstance(event, binance.StreamControl):  # no journal event: named by its class
        raw: Output = {"type": "StreamControl", **msgspec.to_builtins(event)}
    else:
        raw = to_builtins(event)
    out: Output = {"type": raw.pop("type"), "line": line}
    out.update(raw)
    return out


def error_line(line: int, code: str, message: str) -> Output:
    return {"line": line, "code": code, "message": message}


class Decoder:
    """One input stream of one venue: the parser (Bybit's top of book carries across lines)."""

    def __init__(self, venue: str, *, category: Literal["spot", "linear"] = "linear") -> None:
        if venue not in VENUES:
            raise ValueError(f"unknown venue {venue!r}")
        self.venue = venue
        self.category: Literal["spot", "linear"] = category
        # the brokers' decoders keep what a stream teaches (KIS notice keys, per-order fill sums)
        self._broker: KisDecoder | KiwoomDecoder | None = None
        if venue == "kis":
            self._broker = KisDecoder()
        elif venue == "kiwoom":
            self._broker = KiwoomDecoder()
        elif venue == "bybit":
            self._bybit = bybit.BybitParser(_AnyBybitSymbols())
        else:
            self._binance = binance.BinanceParser(_AnyBinanceSymbols(venue, ()))
            self._prefix = "/api/v3" if venue == binance.SPOT else "/fapi/v1"

    def line(self, raw: bytes, line: int) -> tuple[list[Output], bool]:
        """The output lines of one input line (its events, or one error line) and whether it
        failed. Never raises."""
        try:
            return [_event_line(e, line) for e in self._events(raw)], False
        except VibeError as exc:
            return [error_line(line, exc.code, exc.message)], True
        except Exception as exc:  # a decoder must not crash on hostile input
            return [error_line(line, "VT800", f"{type(exc).__name__}: {exc}")], True

    def _events(self, raw: bytes) -> list[Event | binance.StreamControl]:
        if self._broker is not None:
            return list(self._broker.events(raw))
        try:
            obj = _ANY.decode(raw)
        except msgspec.DecodeError as exc:
            raise VibeError(f"not JSON ({exc}): {raw[:120]!r}", code="VT800") from None
        if not isinstance(obj, dict):
            raise VibeError(f"not a JSON object: {raw[:120]!r}", code="VT800")
        if "rest" in obj:
            try:
                rest = _REST.decode(raw)
            except msgspec.DecodeError as exc:
                raise VibeError(f"REST wrapper malformed: {exc}", code="VT800") from None
            method, path = _split_rest(rest.rest)
            body = bytes(rest.body)
            if self.venue == "bybit":
                return self._bybit_rest(method, path, body)
            return self._binance_rest(method, path, body)
        if self.venue == "bybit":
            return self._bybit_ws(obj, raw)
        return self._binance_ws(obj, raw)

    # ── Binance ──

    def _binance_ws(self, obj: dict[str, Any], raw: bytes) -> list[Event | binance.StreamControl]:
        inner = obj
        for key in ("data", "event"):  # combined stream, WebSocket API envelopes
            if isinstance(inner.get(key), dict):
                inner = inner[key]
        e = inner.get("e")
        ts_init = _ms(inner.get("E")) or _ms(inner.get("T"))
        p = self._binance
        if e in _MARKET_EVENTS or (not e and "u" in inner and "s" in inner):
            event = p.market_frame(raw, ts_init)
            return [event] if event is not None else []
        out = p.user_frame(raw, ts_init)
        if isinstance(out, binance.StreamControl) and out.kind == "error":
            raise VibeError(f"binance WebSocket request failed: {out.detail}", code="VT804")
        return [out] if out is not None else []

    def _binance_rest(self, method: str, path: str, body: bytes) -> list[Event | binance.StreamControl]:
        p = self._binance
        err = binance.error_body(body)
        if err is not None:
            raise VenueRequestError(None, err.code, err.msg)
        trades = f"{self._prefix}/myTrades" if self.venue == binance.SPOT else f"{self._prefix}/userTrades"
        if path == f"{self._prefix}/order":
            if method not in ("GET", "POST", "DELETE"):
                raise _unknown_path(method, path)
            order = p.rest_order(body)
            ts_init = _ms(order.transact_time) or _ms(order.update_time) or _ms(order.time)
            if method == "GET":
                return [p.status_report(order, ts_init)]
            if method == "POST":
                return list(p.new_order_events(order, ts_init))
            return list(p.cancel_events(order, ts_init))
        if method == "GET" and path == trades:
            reports = p.fill_reports(body, 0, {})
            if reports.missing_order_ids:
                ids = ", ".join(str(i) for i in reports.missing_order_ids)
                raise _LineError(
                    f"binance {path} rows carry no client order id (orders {ids}): query those orders "
                    f"(GET {self._prefix}/order) for their clientOrderId",
                    code="VT802",
                )
            return list(reports.fills)
        raise _unknown_path(method, path)

    # ── Bybit ──

    def _bybit_ws(self, obj: dict[str, Any], raw: bytes) -> list[Event | binance.StreamControl]:
        ts_init = _ms(obj.get("ts")) or _ms(obj.get("creationTime"))
        topic = obj.get("topic")
        if isinstance(topic, str) and topic.startswith(_BYBIT_PUBLIC):
            return list(self._bybit.public(self.category, raw, ts_init))
        return list(self._bybit.private(raw, ts_init))

    def _bybit_rest(self, method: str, path: str, body: bytes) -> list[Event | binance.StreamControl]:
        symbols = self._bybit.symbols
        if method == "GET" and path in ("/v5/order/realtime", "/v5/order/history"):
            orders, t = bybit.decode_result(body, OrderList)
            return list(bybit.status_reports(orders.rows, orders.category, symbols, t * _MS))
        if method == "GET" and path == "/v5/execution/list":
            execs, t = bybit.decode_result(body, ExecutionList)
            return list(bybit.fill_reports(execs.rows, execs.category, symbols, t * _MS))
        if method == "POST" and path == "/v5/order/create":
            bybit.decode_result(body, CreateResult)  # an ack: the order topic says what became of it
            return []
        if method == "POST" and path == "/v5/order/cancel":
            bybit.decode_result(body, CancelResult)
            return []
        raise _unknown_path(method, path)


def _unknown_path(method: str, path: str) -> _LineError:
    return _LineError(f"no decoder for REST {method} {path or '(no path)'}", code="VT802")


def decode_stream(decoder: Decoder, lines: Iterable[bytes], out: IO[str]) -> int:
    """Decode every line and write the output lines; the number of lines that failed."""
    encoder = msgspec.json.Encoder()
    failed = 0
    for n, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            continue
        items, bad = decoder.line(text, n)
        failed += bad
        for item in items:
            out.write(encoder.encode(item).decode() + "\n")
    return failed
