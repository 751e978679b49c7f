"""KIS messages → engine events, for ``vibetrading venue decode kis`` (the daemon routes each input line
to :meth:`KisDecoder.events`; docs/venues.md has the line conventions).

Input lines are a WebSocket frame exactly as KIS sends it (a pipe frame ``0|H0STCNT0|001|...`` as one
line of text, or a JSON frame), or a REST response wrapped as
``{"rest": "METHOD /path", "headers": {...}, "body": <the response body>}``.

* ``H0STCNT0`` → :class:`TradeTick` (trade id ``<code>-<HHMMSS>-<n>``), ``H0STASP0`` →
  :class:`QuoteTick`; their ``ts_event`` is 0, since a frame states a time of day but no date.
* Execution notices (``H0STCNI0``/``H0STCNI9``): an encrypted one is decrypted with the key and iv of
  an earlier subscribe-ack line of the same input (or ``keys`` given); without one it is an error
  line. Acceptance → :class:`OrderAccepted`, cancel → :class:`OrderCanceled`, refusal →
  :class:`OrderRejected`, fill → :class:`OrderFilled` whose ``cum_qty`` sums the fills of the order
  seen in this input. Decoding knows no run: the client order id is KIS's order number.
* REST: ``order-cash`` → :class:`OrderAccepted`; ``inquire-daily-ccld`` → one
  :class:`OrderStatusReport` per order and a :class:`FillReport` of its cumulative fill (timed by
  ``ord_dt``/``ord_tmd``); ``order-rvsecncl``, ``inquire-balance``, ``inquire-psbl-order``, the token
  endpoints → nothing (they carry no order event); an ``rt_cd`` other than ``"0"`` is the refusal's
  error (VT803).
* A PINGPONG or a successful ack gives nothing; a refused ack is VT804.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import msgspec

from adapters.kis.config import PATHS, TR_IDS
from adapters.kis.errors import KisRequestError, KisWsError
from adapters.kis.parsers import (
    BOOK_FIELDS,
    TRADE_FIELDS,
    FillState,
    decode,
    decrypt,
    fill_delta,
    kst_ns,
    notice_fill,
    parse_data_frame,
    parse_notices,
    quote_of,
    report_of,
    rows_of,
    split_records,
    trade_of,
)
from adapters.kis.schemas import CcldPage, Envelope, OrderAnswer
from adapters.venue_errors import VenueMessageError
from engines.markets.specs import spec_for
from engines.model.events import Event, FillReport, OrderAccepted, OrderCanceled, OrderFilled, OrderRejected

__all__ = ["KisDecoder"]

_NOTICES: Final = frozenset({"H0STCNI0", "H0STCNI9"})
_ZERO: Final = Decimal(0)


class _Wrapped(msgspec.Struct, frozen=True):
    rest: str
    headers: dict[str, Any] | None = None
    body: msgspec.Raw = msgspec.Raw(b"null")


class KisDecoder:
    """One input stream: keys learnt from acks, fills summed per order, trades numbered per code."""

    def __init__(self, *, venue: str = "kis", keys: Mapping[str, tuple[str, str]] | None = None) -> None:
        self.venue = venue
        self.keys: dict[str, tuple[str, str]] = dict(keys or {})
        self._cum: dict[str, Decimal] = {}
        self._trades: dict[str, int] = {}

    def events(self, raw: bytes) -> list[Event]:
        """The events of one line; raises the typed error of a line that cannot be read."""
        text = raw.decode("utf-8", errors="strict").strip()
        if not text.startswith("{"):
            return self._frame(text)
        try:
            obj = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise VenueMessageError(f"kis line is not JSON: {exc}: {text[:120]!r}") from None
        if not isinstance(obj, dict):
            raise VenueMessageError(f"kis line is not a JSON object: {text[:120]!r}")
        if "rest" in obj:
            try:
                wrapped = msgspec.json.decode(raw, type=_Wrapped)
            except msgspec.ValidationError as exc:
                raise VenueMessageError(f"REST wrapper malformed: {exc}") from None
            return self._rest(wrapped.rest, bytes(wrapped.body))
        return self._json_frame(obj)

    # ── WebSocket ──

    def _json_frame(self, obj: dict[str, Any]) -> list[Event]:
        header = obj.get("header")
        if not isinstance(header, dict):
            raise VenueMessageError("kis JSON frame without a header")
        tr = str(header.get("tr_id", ""))
        if tr == "PINGPONG":
            return []
        body = obj.get("body")
        if not isinstance(body, dict):
            raise VenueMessageError(f"kis {tr} ack without a body")
        if str(body.get("rt_cd", "")) != "0" and body.get("msg_cd") != "OPSP0002":
            raise KisWsError(tr, f"{body.get('msg_cd', '')}: {body.get('msg1', '')}")
        output = body.get("output")
        if isinstance(output, dict) and output.get("key") and output.get("iv"):
            self.keys[tr] = (str(output["key"]), str(output["iv"]))
        return []

    def _frame(self, text: str) -> list[Event]:
        frame = parse_data_frame(text)
        payload = frame.payload
        if frame.encrypted:
            key_iv = self.keys.get(frame.tr_id)
            if key_iv is None:
                raise VenueMessageError(
                    f"kis {frame.tr_id} frame is encrypted and no earlier line acked it with a key"
                )
            payload = decrypt(payload, *key_iv)
        if frame.tr_id == TR_IDS["trade"]:
            out: list[Event] = []
            for record in split_records(payload, frame.records, TRADE_FIELDS, frame.tr_id):
                n = self._trades.get(record[0], 0) + 1
                self._trades[record[0]] = n
                out.append(trade_of(record, 0, f"{record[0]}-{record[1]}-{n}"))
            return out
        if frame.tr_id == TR_IDS["book"]:
            return [quote_of(r, 0) for r in split_records(payload, frame.records, BOOK_FIELDS, frame.tr_id)]
        if frame.tr_id in _NOTICES:
            return self._notices(payload, frame.records)
        raise VenueMessageError(f"kis frame of an unknown tr_id {frame.tr_id!r}")

    def _notices(self, payload: str, records: int) -> list[Event]:
        out: list[Event] = []
        for notice in parse_notices(payload, records):
            f = notice.fields
            odno = f["ODER_NO"]
            if f["RFUS_YN"] == "1":
                out.append(
                    OrderRejected(ts_event=0, ts_init=0, client_order_id=odno, reason="refused by KIS")
                )
            elif f["CNTG_YN"] == "2":
                before = self._cum.get(odno, _ZERO)
                fill = notice_fill(
                    notice,
                    ord_dt="",
                    cum_before=before,
                    client_order_id=odno,
                    spec=spec_for("krx:" + f["STCK_SHRN_ISCD"]),
                    ts=0,
                )
                if fill is not None:
                    self._cum[odno] = fill.cum_qty
                    out.append(_plain_fill(fill))
            elif f["RCTF_CLS"] == "2":
                out.append(OrderCanceled(ts_event=0, ts_init=0, client_order_id=odno, reason="canceled"))
            elif f["RCTF_CLS"] == "0":
                out.append(OrderAccepted(ts_event=0, ts_init=0, client_order_id=odno, venue_order_id=odno))
        return out

    # ── REST ──

    def _rest(self, route: str, body: bytes) -> list[Event]:
        method, _, path = route.strip().partition(" ")
        path = path.strip().split("?", 1)[0].rstrip("/")
        envelope = decode(body, Envelope, f"{path} answer")
        if envelope.rt_cd is not None and envelope.rt_cd != "0":
            raise KisRequestError(None, envelope.msg_cd, envelope.msg1, rt_cd=envelope.rt_cd)
        if envelope.error_code:
            raise KisRequestError(None, envelope.error_code, envelope.error_description)
        if path == PATHS["order"]:
            answer = decode(body, OrderAnswer, "order-cash answer")
            if answer.output is None or not answer.output.odno:
                raise VenueMessageError("kis order-cash answer without an ODNO")
            odno = answer.output.odno
            return [OrderAccepted(ts_event=0, ts_init=0, client_order_id=odno, venue_order_id=odno)]
        if path == PATHS["daily_ccld"]:
            out: list[Event] = []
            for row in rows_of(decode(body, CcldPage, "inquire-daily-ccld answer").output1):
                ts = kst_ns(row.ord_dt, row.ord_tmd)
                out.append(report_of(row, row.odno, self.venue, ts))
                found = fill_delta(row, FillState(_ZERO, _ZERO), row.odno, spec_for("krx:" + row.pdno), ts)
                if found is not None:
                    out.append(found[0])
            return out
        if path in (
            PATHS["cancel"],
            PATHS["balance"],
            PATHS["psbl_order"],
            PATHS["token"],
            PATHS["approval"],
        ):
            return []
        raise VenueMessageError(f"kis REST path {method.upper()} {path!r} is not one this decoder reads")


def _plain_fill(fill: FillReport) -> OrderFilled:
    """A notice's fill is a stream fill (``OrderFilled``), not a report."""
    return OrderFilled(**{name: getattr(fill, name) for name in OrderFilled.__struct_fields__})
