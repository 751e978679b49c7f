"""Kiwoom messages → engine events, for ``vibetrading venue decode kiwoom`` (the daemon routes each
input line to :meth:`KiwoomDecoder.events`; docs/venues.md has the line conventions).

Input lines are a WebSocket frame exactly as Kiwoom sends it (JSON keyed by ``trnm``), or a REST
answer wrapped as ``{"rest": "POST /path", "headers": {"api-id": "kt10000", ...}, "body": <body>}``.
Every Kiwoom call is a POST to one of a few paths, told apart only by the ``api-id`` request header,
so the wrapper must carry it: without it the line is an error, never a guess from the body's shape.

* ``REAL`` pushes, item by item: type ``00`` (execution notice) → ``접수`` :class:`OrderAccepted`,
  ``체결`` :class:`OrderFilled` (trade id ``<ord_no>-<cumulative quantity>``, as the adapter makes it),
  ``확인``/``취소`` of a cancel :class:`OrderCanceled` of the original order (FID 904), ``거부``
  :class:`OrderRejected`; the ``접수`` of a cancel order (FID 904 set) gives nothing, its ``확인``
  tells. A modification (``정정`` in FID 905) has no event: VT802. Type ``0B`` → :class:`TradeTick`
  (trade id ``<code>-<HHMMSS>-<n>``, ``n`` counting the code's trades in this input), ``0D`` →
  :class:`QuoteTick` (nothing while a side of the book is empty), ``04`` (balance) → nothing; any
  other type is VT802. Frames state a time of day but no date, so ``ts_event`` and ``ts_init`` are 0.
* ``LOGIN``, ``PING``, ``REG``, ``REMOVE`` answers give nothing, or VT804 when ``return_code`` is not
  0; another ``trnm`` is VT802, a JSON object without one VT800.
* REST (``return_code`` other than 0 is VT803 naming Kiwoom's code): ``kt10000``/``kt10001`` →
  :class:`OrderAccepted`; ``ka10075`` → an :class:`OrderStatusReport` per unfilled order; ``ka10076``
  → a :class:`FillReport` per execution row; ``kt10002``, ``kt10003``, ``kt00001``, ``kt00018``,
  ``au10001``, ``au10002`` → nothing (checked against their schema). Decoding knows no run: the
  client order id is Kiwoom's order number.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeVar

import msgspec

from adapters.kiwoom.config import ACCOUNT_PATH, ORDER_PATH, REVOKE_PATH, TOKEN_PATH
from adapters.kiwoom.errors import KiwoomRequestError, KiwoomWsError
from adapters.kiwoom.market_data import quote_tick, trade_tick
from adapters.kiwoom.parsers import Notice, fill_report, open_order_report, trade_id
from adapters.kiwoom.schemas import (
    Balance,
    Deposit,
    Envelope,
    FillList,
    OpenOrderList,
    OrderAnswer,
    RealItem,
    TokenAnswer,
    WsFrame,
)
from adapters.kiwoom.ws import real_items
from adapters.venue_errors import UnknownVenueValueError, VenueMessageError
from engines.model.events import (
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
)

__all__ = ["API_IDS", "KiwoomDecoder"]

#: api-id → the path it is served on and the schema its answer is checked against
API_IDS: Final[Mapping[str, tuple[str, type[Envelope]]]] = {
    "kt10000": (ORDER_PATH, OrderAnswer),
    "kt10001": (ORDER_PATH, OrderAnswer),
    "kt10002": (ORDER_PATH, OrderAnswer),
    "kt10003": (ORDER_PATH, OrderAnswer),
    "ka10075": (ACCOUNT_PATH, OpenOrderList),
    "ka10076": (ACCOUNT_PATH, FillList),
    "kt00001": (ACCOUNT_PATH, Deposit),
    "kt00018": (ACCOUNT_PATH, Balance),
    "au10001": (TOKEN_PATH, TokenAnswer),
    "au10002": (REVOKE_PATH, Envelope),
}
_E = TypeVar("_E", bound=Envelope)
_ACKS: Final = frozenset({"LOGIN", "PING", "REG", "REMOVE"})
_NO_EVENT_TYPES: Final = frozenset({"04"})  # balance pushes: no event carries a balance change


class _Wrapped(msgspec.Struct, frozen=True):
    rest: str
    headers: dict[str, Any] | None = None
    body: msgspec.Raw = msgspec.Raw(b"null")


_wrapped_dec: Final = msgspec.json.Decoder(_Wrapped)
_frame_dec: Final = msgspec.json.Decoder(WsFrame)


class KiwoomDecoder:
    """One input stream: trades numbered per code across its lines."""

    def __init__(self, *, venue: str = "kiwoom") -> None:
        self.venue = venue
        self._trades: dict[str, int] = {}

    def events(self, raw: bytes) -> list[Event]:
        """The events of one line; raises the typed error of a line that cannot be read."""
        try:
            obj = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise VenueMessageError(f"kiwoom line is not JSON ({exc}): {raw[:120]!r}") from None
        if not isinstance(obj, dict):
            raise VenueMessageError(f"kiwoom line is not a JSON object: {raw[:120]!r}")
        if "rest" in obj:
            try:
                wrapped = _wrapped_dec.decode(raw)
            except msgspec.DecodeError as exc:
                raise VenueMessageError(f"REST wrapper malformed: {exc}") from None
            return self._rest(wrapped)
        return self._frame(raw, obj)

    # ── WebSocket ──

    def _frame(self, raw: bytes, obj: dict[str, Any]) -> list[Event]:
        if not isinstance(obj.get("trnm"), str) or not obj["trnm"]:
            raise VenueMessageError(
                "kiwoom frame without a trnm (a REST answer is wrapped as "
                '{"rest": "POST /path", "headers": {"api-id": ...}, "body": ...})'
            )
        try:
            frame = _frame_dec.decode(raw)
        except msgspec.DecodeError as exc:
            raise VenueMessageError(f"kiwoom websocket frame malformed: {exc}") from None
        if frame.trnm in _ACKS:
            if frame.return_code not in (0, None):
                raise KiwoomWsError(frame.trnm, f"return_code={frame.return_code}: {frame.return_msg}")
            return []
        if frame.trnm != "REAL":
            raise UnknownVenueValueError(f"kiwoom frame trnm {frame.trnm!r} is not one this decoder reads")
        out: list[Event] = []
        for item in real_items(frame):
            out.extend(self._item(item))
        return out

    def _item(self, item: RealItem) -> list[Event]:
        if item.type == "00":
            return _notice_events(item.values)
        if item.type == "0B":
            code = item.item.strip()
            n = self._trades.get(code, 0) + 1
            tick = trade_tick(item, 0, n)
            self._trades[code] = n
            return [msgspec.structs.replace(tick, ts_event=0)]
        if item.type == "0D":
            quote = quote_tick(item, 0)
            return [] if quote is None else [msgspec.structs.replace(quote, ts_event=0)]
        if item.type in _NO_EVENT_TYPES:
            return []
        raise UnknownVenueValueError(f"kiwoom REAL type {item.type!r} is not one this decoder reads")

    # ── REST ──

    def _rest(self, wrapped: _Wrapped) -> list[Event]:
        method, _, path = wrapped.rest.strip().partition(" ")
        path = path.strip().split("?", 1)[0].rstrip("/")
        api_id = _api_id(wrapped.headers)
        if not api_id:
            raise UnknownVenueValueError(
                f"kiwoom REST {method.upper()} {path or '(no path)'}: the wrapper's headers name no "
                '"api-id" (Kiwoom serves several answers on one path; the api-id tells which)'
            )
        route = API_IDS.get(api_id)
        if method.upper() != "POST" or route is None or route[0] != path:
            raise UnknownVenueValueError(f"no decoder for kiwoom REST {method.upper()} {path} ({api_id})")
        body = bytes(wrapped.body)
        answer = _decode(body, route[1], api_id)
        if answer.return_code not in (0, None):
            raise KiwoomRequestError(None, answer.return_code, answer.return_msg)
        if isinstance(answer, OrderAnswer) and api_id in ("kt10000", "kt10001"):
            ord_no = answer.ord_no.strip()
            if not ord_no:
                raise VenueMessageError(f"kiwoom {api_id} answer without an ord_no")
            return [OrderAccepted(ts_event=0, ts_init=0, client_order_id=ord_no, venue_order_id=ord_no)]
        if isinstance(answer, OpenOrderList):
            return [open_order_report(row, row.ord_no.strip(), 0, venue=self.venue) for row in answer.oso]
        if isinstance(answer, FillList):
            return [fill_report(row, row.ord_no.strip(), 0) for row in answer.cntr]
        return []  # an ack or a balance: the notices and the fills tell what became of orders


def _notice_events(values: Mapping[str, str]) -> list[Event]:
    """The event of one execution notice (module docstring); the FIDs are read by :class:`Notice`."""
    notice = Notice(values)
    status = notice.status
    if "정정" in values.get("905", ""):
        raise UnknownVenueValueError(
            f"kiwoom notice of order {notice.ord_no} is a modification ({status}): no event states one"
        )
    if status == "접수":
        if notice.orig_ord_no.strip("0"):
            return []  # the receipt of a cancel order: its confirmation ends the original order
        return [
            OrderAccepted(ts_event=0, ts_init=0, client_order_id=notice.ord_no, venue_order_id=notice.ord_no)
        ]
    if status == "체결":
        if not notice.is_fill or notice.last_px is None:
            raise VenueMessageError(
                f"kiwoom 체결 notice of order {notice.ord_no} without a fill quantity and price "
                "(FIDs 915/911, 914/910)"
            )
        return [
            OrderFilled(
                ts_event=0,
                ts_init=0,
                client_order_id=notice.ord_no,
                instrument=notice.symbol,
                side=notice.side,
                trade_id=trade_id(notice.ord_no, notice.cum_qty),
                last_qty=notice.last_qty,
                last_px=notice.last_px,
                cum_qty=notice.cum_qty,
                fee=notice.fee,
                fee_currency="KRW",
            )
        ]
    if status in ("확인", "취소"):
        if not notice.is_cancel:
            raise VenueMessageError(
                f"kiwoom {status} notice of order {notice.ord_no} names no original order (FID 904)"
            )
        return [OrderCanceled(ts_event=0, ts_init=0, client_order_id=notice.orig_ord_no, reason="canceled")]
    if status == "거부":
        reason = notice.reject_reason or "refused by Kiwoom"
        return [
            OrderRejected(ts_event=0, ts_init=0, client_order_id=notice.ord_no, reason=reason, code="kiwoom")
        ]
    raise UnknownVenueValueError(f"kiwoom notice status (FID 913) {status!r} of order {notice.ord_no}")


def _api_id(headers: Mapping[str, Any] | None) -> str:
    """The ``api-id`` header, whatever its case (HTTP header names are case-insensitive)."""
    for name, value in (headers or {}).items():
        if name.lower() == "api-id" and isinstance(value, str):
            return value.strip()
    return ""


def _decode(body: bytes, kind: type[_E], api_id: str) -> _E:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.DecodeError as exc:
        raise VenueMessageError(f"kiwoom {api_id} answer malformed: {exc}") from None
