"""Pure parsers of Kiwoom's messages into the engine's events (no I/O).

Numbers arrive as strings, zero-padded and often signed (``"000000070000"``, ``"+70000"``,
``"-70800"``): :func:`number` reads them strictly (digits, one optional sign, one optional decimal
point; anything else is :class:`~adapters.venue_errors.VenueMessageError`, VT800). A price's sign is
Kiwoom's up/down mark against the previous close, not a sign of the price, so :func:`price` takes the
absolute value; a quantity must not be negative.

Trade ids: Kiwoom's execution rows name the order but carry no trade number of their own (the
WebSocket notice's 909 is not on the REST rows), so a fill is identified by ``<ord_no>-<cumulative
quantity after it>``: the same execution told by the stream and found by ``ka10076`` gets the same
id, and two executions of one order never share one (the cumulative quantity only grows).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Final

from adapters.kiwoom.schemas import FillRow, OpenOrderRow
from adapters.venue_errors import UnknownVenueValueError, VenueMessageError
from engines.model.enums import OrderType, ReportedStatus, Side
from engines.model.events import FillReport, OrderStatusReport

__all__ = [
    "KST",
    "code_of",
    "fill_report",
    "kst_ns",
    "number",
    "open_order_report",
    "opt_number",
    "price",
    "quantity",
    "side_of",
    "symbol_of",
    "trade_id",
]

KST: Final = timezone(timedelta(hours=9))
VENUE_PREFIX: Final = "krx:"
_NUMBER: Final = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
_CODE: Final = re.compile(r"A?([0-9A-Z]{6})")
_ZERO: Final = Decimal(0)


def number(text: str, what: str) -> Decimal:
    """A Kiwoom number: ``"+000070000"`` → 70000. Empty or garbage is VT800."""
    if not _NUMBER.fullmatch(text):
        raise VenueMessageError(f"kiwoom {what} {text!r} is not a number")
    return Decimal(text)


def opt_number(text: str, what: str) -> Decimal | None:
    """As :func:`number`, but an empty field (or only spaces, as Kiwoom pads) is None."""
    stripped = text.strip()
    return None if not stripped else number(stripped, what)


def price(text: str, what: str = "price") -> Decimal:
    """A price: its sign marks the move against the previous close, so the absolute value."""
    return abs(number(text.strip(), what))


def quantity(text: str, what: str = "quantity") -> Decimal:
    """A quantity (padded, maybe ``+``-signed); negative is refused. Empty reads as 0."""
    value = opt_number(text, what)
    if value is None:
        return _ZERO
    if value < 0:
        raise VenueMessageError(f"kiwoom {what} {text!r} is negative")
    return value


def code_of(symbol: str) -> str:
    """``krx:005930`` → ``005930``, the ``stk_cd`` Kiwoom takes."""
    prefix, _, code = symbol.partition(":")
    if prefix != "krx" or not _CODE.fullmatch(code):
        raise UnknownVenueValueError(f"{symbol!r} is not a KRX symbol (krx:<6-character code>)")
    return code


def symbol_of(stk_cd: str) -> str:
    """Kiwoom's ``stk_cd`` (``005930`` or ``A005930``, maybe with an exchange suffix ``_NX``) →
    ``krx:005930``."""
    found = _CODE.fullmatch(stk_cd.strip().split("_", 1)[0])
    if not found:
        raise VenueMessageError(f"kiwoom stock code {stk_cd!r} is not a 6-character code")
    return VENUE_PREFIX + found.group(1)


def side_of(text: str) -> Side:
    """``io_tp_nm`` ("+매수", "-매도", "현금매수", "매도정정") or FID 907 ("1" sell, "2" buy)."""
    stripped = text.strip()
    if stripped in ("1", "2"):
        return Side.SELL if stripped == "1" else Side.BUY
    if "매수" in stripped:
        return Side.BUY
    if "매도" in stripped:
        return Side.SELL
    raise UnknownVenueValueError(f"kiwoom side {text!r} is neither buy nor sell")


def order_type_of(trde_tp: str) -> OrderType:
    """``trde_tp`` (or its name) → the engine's order type: market kinds (3, 13, 23, "시장가") or limit."""
    stripped = trde_tp.strip()
    if stripped in ("3", "13", "23") or "시장가" in stripped:
        return OrderType.MARKET
    return OrderType.LIMIT


def trade_id(ord_no: str, cum_qty: Decimal) -> str:
    """The id of the execution that brought order ``ord_no`` to ``cum_qty`` (module docstring)."""
    return f"{ord_no.strip()}-{cum_qty.normalize():f}"


def kst_ns(day: str, hhmmss: str) -> int:
    """``YYYYMMDD`` + ``HHMMSS`` (KST) → UTC epoch ns; 0 when either is missing or malformed."""
    digits = hhmmss.strip().replace(":", "")[:6]
    if len(day) != 8 or len(digits) != 6 or not (day + digits).isdigit():
        return 0
    try:
        at = datetime.strptime(day + digits, "%Y%m%d%H%M%S").replace(tzinfo=KST)
    except ValueError:
        return 0
    return int(at.timestamp()) * 1_000_000_000


def open_order_report(
    row: OpenOrderRow, client_order_id: str, ts_init: int, *, venue: str = "kiwoom"
) -> OrderStatusReport:
    """A ``ka10075`` row (an order with an unfilled remainder) → its status report."""
    qty = quantity(row.ord_qty, "ord_qty")
    open_qty = quantity(row.oso_qty, "oso_qty")
    filled = qty - open_qty
    if filled < 0:
        raise VenueMessageError(f"kiwoom order {row.ord_no}: unfilled {open_qty} above ordered {qty}")
    limit = opt_number(row.ord_pric, "ord_pric")
    avg = opt_number(row.cntr_pric, "cntr_pric")
    return OrderStatusReport(
        ts_event=ts_init,
        ts_init=ts_init,
        client_order_id=client_order_id,
        venue=venue,
        instrument=symbol_of(row.stk_cd),
        side=side_of(row.io_tp_nm),
        order_type=order_type_of(row.trde_tp),
        quantity=qty,
        status=ReportedStatus.PARTIALLY_FILLED if filled > 0 else ReportedStatus.ACCEPTED,
        filled_qty=filled,
        venue_order_id=row.ord_no.strip(),
        price=abs(limit) if limit else None,
        avg_px=abs(avg) if avg and filled > 0 else None,
    )


def fill_report(
    row: FillRow,
    client_order_id: str,
    ts_init: int,
    *,
    day: str = "",
    currency: str = "KRW",
) -> FillReport:
    """A ``ka10076`` row (one execution) → its fill; cumulative quantity = ordered - unfilled."""
    qty = quantity(row.ord_qty, "ord_qty")
    last_qty = quantity(row.cntr_qty, "cntr_qty")
    if last_qty <= 0:
        raise VenueMessageError(f"kiwoom fill of order {row.ord_no} has no quantity ({row.cntr_qty!r})")
    cum = qty - quantity(row.oso_qty, "oso_qty")
    fee = quantity(row.tdy_trde_cmsn or "0", "tdy_trde_cmsn") + quantity(
        row.tdy_trde_tax or "0", "tdy_trde_tax"
    )
    ts_event = kst_ns(day, row.ord_tm) or ts_init
    return FillReport(
        ts_event=ts_event,
        ts_init=ts_init,
        client_order_id=client_order_id,
        instrument=symbol_of(row.stk_cd),
        side=side_of(row.io_tp_nm),
        trade_id=trade_id(row.ord_no, cum),
        last_qty=last_qty,
        last_px=price(row.cntr_pric, "cntr_pric"),
        cum_qty=cum,
        fee=fee,
        fee_currency=currency,
    )


class Notice:
    """An execution notice (``REAL`` type ``00``) read from its FID map."""

    __slots__ = (
        "cum_qty",
        "fee",
        "fill_no",
        "last_px",
        "last_qty",
        "open_qty",
        "ord_no",
        "orig_ord_no",
        "quantity",
        "reject_reason",
        "side",
        "status",
        "symbol",
        "time",
    )

    def __init__(self, values: Mapping[str, str]) -> None:
        self.ord_no = values.get("9203", "").strip()
        if not self.ord_no:
            raise VenueMessageError("kiwoom execution notice without an order number (FID 9203)")
        self.symbol = symbol_of(values.get("9001", ""))
        self.status = values.get("913", "").strip()
        side = values.get("907", "").strip() or values.get("905", "")
        self.side = side_of(side)
        self.quantity = quantity(values.get("900", ""), "FID 900")
        self.open_qty = quantity(values.get("902", ""), "FID 902")
        self.cum_qty = self.quantity - self.open_qty if self.status == "체결" else _ZERO
        fill_px = opt_number(values.get("914", "") or values.get("910", ""), "FID 910")
        self.last_px = abs(fill_px) if fill_px is not None else None
        self.last_qty = quantity(values.get("915", "") or values.get("911", ""), "FID 915")
        self.fill_no = values.get("909", "").strip()
        self.fee = quantity(values.get("938", ""), "FID 938") + quantity(values.get("939", ""), "FID 939")
        self.orig_ord_no = values.get("904", "").strip()
        self.reject_reason = values.get("919", "").strip()
        self.time = values.get("908", "").strip()

    @property
    def is_fill(self) -> bool:
        return self.status == "체결" and self.last_qty > 0 and self.last_px is not None

    @property
    def is_cancel(self) -> bool:
        return self.status in ("취소", "확인") and bool(self.orig_ord_no.strip("0"))
