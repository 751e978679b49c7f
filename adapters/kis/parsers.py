"""Pure functions from KIS wire messages to engine events: no I/O, no clock (times are passed in).

* Numbers arrive as strings, zero-padded or signed (``"0000070000"``, ``"+70000"``):
  :func:`parse_decimal` takes exactly ``[+-]digits[.digits]`` and refuses anything else with
  :class:`~adapters.venue_errors.VenueMessageError` (VT800); an empty string is zero only where the
  caller says so.
* inquire-daily-ccld lists orders with their cumulative fill (``tot_ccld_qty``, ``tot_ccld_amt``),
  not single executions. A fill is the growth of an order's cumulative quantity between two looks
  (:func:`fill_delta`); its trade id is ``<ord_dt>-<odno>-<cum_qty>``, the same whether the growth
  is seen by REST or by an execution notice, so a fill told both ways folds once.
* Execution notices (H0STCNI0/H0STCNI9) are ``^``-joined fields read by position from
  :data:`NOTICE_FIELDS`; a record with more fields than the table (KIS has added fields before)
  still parses, one with fewer is malformed. Encrypted payloads are base64 AES-256-CBC with PKCS7
  padding, key and iv from the subscribe ack (:func:`decrypt`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from decimal import Decimal, localcontext
from typing import Final, NamedTuple, TypeVar

import msgspec
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from adapters.kis.schemas import CcldRow, HolidayAnswer, lower_keys
from adapters.venue_errors import UnknownVenueSymbolError, UnknownVenueValueError, VenueMessageError
from engines.decimals import AVG_PX_CONTEXT, SIM_CONTEXT
from engines.markets.krx import KST_OFFSET_NS
from engines.model.enums import Liquidity, OrderType, ReportedStatus, Side
from engines.model.events import FillReport, OrderStatusReport, QuoteTick, TradeTick
from engines.model.instruments import InstrumentSpec
from engines.sim.fees import fee

__all__ = [
    "BOOK_FIELDS",
    "NOTICE_FIELDS",
    "TRADE_FIELDS",
    "DataFrame",
    "FillState",
    "Notice",
    "decode",
    "decrypt",
    "encrypt",
    "engine_symbol",
    "fill_delta",
    "kst_ns",
    "notice_fill",
    "open_day_of",
    "order_type_of",
    "parse_data_frame",
    "parse_decimal",
    "parse_notices",
    "pdno_of",
    "quote_of",
    "report_of",
    "rows_of",
    "side_of",
    "split_records",
    "status_of",
    "trade_id",
    "trade_of",
]

_T = TypeVar("_T")
_ZERO: Final = Decimal(0)
_NUMBER: Final = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
_NS: Final = 1_000_000_000
PREFIX: Final = "krx:"

#: ORD_DVSN code → our order type (the marketable-price kinds count as market orders)
_ORDER_TYPES: Final[dict[str, OrderType]] = {
    "00": OrderType.LIMIT,
    "01": OrderType.MARKET,
    "02": OrderType.LIMIT,
    "03": OrderType.MARKET,
    "04": OrderType.MARKET,
    "05": OrderType.LIMIT,
    "06": OrderType.LIMIT,
    "07": OrderType.LIMIT,
    "11": OrderType.LIMIT,
    "12": OrderType.LIMIT,
    "13": OrderType.MARKET,
    "14": OrderType.MARKET,
    "15": OrderType.MARKET,
    "16": OrderType.MARKET,
}

#: the execution notice's fields, by position (KIS's 체결통보 layout)
NOTICE_FIELDS: Final[tuple[str, ...]] = (
    "CUST_ID",
    "ACNT_NO",
    "ODER_NO",
    "OODER_NO",
    "SELN_BYOV_CLS",
    "RCTF_CLS",
    "ODER_KIND",
    "ODER_COND",
    "STCK_SHRN_ISCD",
    "CNTG_QTY",
    "CNTG_UNPR",
    "STCK_CNTG_HOUR",
    "RFUS_YN",
    "CNTG_YN",
    "ACPT_YN",
    "BRNC_NO",
    "ODER_QTY",
    "ACNT_NAME",
    "ORD_COND_PRC",
    "ORD_EXG_GB",
    "POPUP_YN",
    "FILLER",
    "CRDT_CLS",
    "CRDT_LOAN_DATE",
    "CNTG_ISNM40",
    "ODER_PRC",
)


# ── decoding ──


def decode(raw: bytes, kind: type[_T], what: str) -> _T:
    """A REST body as ``kind``, its keys lowered first (KIS spells them in either case)."""
    try:
        plain = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise VenueMessageError(f"kis {what}: not JSON: {exc}: {raw[:200]!r}") from None
    if not isinstance(plain, dict):
        raise VenueMessageError(f"kis {what}: expected a JSON object, got {type(plain).__name__}")
    try:
        return msgspec.convert(lower_keys(plain), kind)
    except msgspec.ValidationError as exc:
        raise VenueMessageError(f"kis {what}: {exc}") from None


def open_day_of(answer: HolidayAnswer, bass_dt: str) -> bool | None:
    """Whether chk-holiday says KRX is open on ``bass_dt`` (``opnd_yn``); None when the answer has
    no row for that date. A flag other than ``Y``/``N`` is malformed."""
    output = answer.output
    rows = [] if output is None else output if isinstance(output, list) else [output]
    for row in rows:
        if row.bass_dt != bass_dt:
            continue
        if row.opnd_yn not in ("Y", "N"):
            raise VenueMessageError(f"kis chk-holiday {bass_dt}: opnd_yn {row.opnd_yn!r} is not Y or N")
        return row.opnd_yn == "Y"
    return None


def parse_decimal(text: str, what: str, *, empty: Decimal | None = None) -> Decimal:
    """A KIS number: ``[+-]digits[.digits]``, zero padding allowed; ``""`` is ``empty`` when given."""
    stripped = text.strip()
    if not stripped and empty is not None:
        return empty
    if not _NUMBER.fullmatch(stripped):
        raise VenueMessageError(f"kis {what}: {text!r} is not a number")
    return Decimal(stripped)


def _qty(text: str, what: str) -> Decimal:
    return parse_decimal(text, what, empty=_ZERO)


def kst_ns(ord_dt: str, hhmmss: str) -> int:
    """``YYYYMMDD`` and ``HHMMSS`` in KST as UTC epoch ns."""
    if not (len(ord_dt) == 8 and ord_dt.isdigit() and len(hhmmss) >= 6 and hhmmss[:6].isdigit()):
        raise VenueMessageError(f"kis date/time {ord_dt!r} {hhmmss!r} is not YYYYMMDD HHMMSS")
    y, m, d = int(ord_dt[:4]), int(ord_dt[4:6]), int(ord_dt[6:])
    days = _days_from_civil(y, m, d)
    seconds = int(hhmmss[:2]) * 3600 + int(hhmmss[2:4]) * 60 + int(hhmmss[4:6])
    return days * 86_400 * _NS + seconds * _NS - KST_OFFSET_NS


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (no datetime: this module is pure)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


# ── symbols, sides, types ──


def pdno_of(symbol: str) -> str:
    """``krx:005930`` → ``005930``."""
    code = symbol.removeprefix(PREFIX)
    if not symbol.startswith(PREFIX) or not (len(code) == 6 and code.isalnum()):
        raise UnknownVenueSymbolError(f"{symbol!r} is not a KRX symbol (krx:<6-character code>)")
    return code


def engine_symbol(pdno: str) -> str:
    return PREFIX + pdno


def side_of(code: str) -> Side:
    if code in ("01", "1"):
        return Side.SELL
    if code in ("02", "2"):
        return Side.BUY
    raise UnknownVenueValueError(f"kis side code {code!r} (01 sell, 02 buy)")


def order_type_of(code: str) -> OrderType:
    found = _ORDER_TYPES.get(code)
    if found is None:
        raise UnknownVenueValueError(f"kis ORD_DVSN {code!r}")
    return found


# ── orders and fills from inquire-daily-ccld ──


def status_of(row: CcldRow) -> ReportedStatus:
    """An order's state from its row: filled in full, canceled (``cncl_yn`` or a confirmed cancel
    quantity), refused (every share refused), working (shares remain), else ended unfilled."""
    qty = _qty(row.ord_qty, "ord_qty")
    filled = _qty(row.tot_ccld_qty, "tot_ccld_qty")
    remaining = _qty(row.rmn_qty, "rmn_qty")
    if qty and filled >= qty:
        return ReportedStatus.FILLED
    if row.cncl_yn.upper() == "Y" or _qty(row.cncl_cfrm_qty, "cncl_cfrm_qty") > 0:
        return ReportedStatus.CANCELED
    rejected = _qty(row.rjct_qty, "rjct_qty")
    if rejected and rejected + filled >= qty:
        return ReportedStatus.REJECTED
    if remaining > 0:
        return ReportedStatus.PARTIALLY_FILLED if filled else ReportedStatus.ACCEPTED
    return ReportedStatus.EXPIRED


def report_of(row: CcldRow, client_order_id: str, venue: str, ts: int) -> OrderStatusReport:
    filled = _qty(row.tot_ccld_qty, "tot_ccld_qty")
    price = _qty(row.ord_unpr, "ord_unpr")
    avg = _qty(row.avg_prvs, "avg_prvs")
    return OrderStatusReport(
        ts_event=ts,
        ts_init=ts,
        client_order_id=client_order_id,
        venue=venue,
        instrument=engine_symbol(row.pdno),
        side=side_of(row.sll_buy_dvsn_cd),
        order_type=order_type_of(row.ord_dvsn_cd),
        quantity=_qty(row.ord_qty, "ord_qty"),
        status=status_of(row),
        filled_qty=filled,
        venue_order_id=row.odno,
        price=price if price else None,
        avg_px=avg if filled and avg else None,
    )


def trade_id(ord_dt: str, odno: str, cum_qty: Decimal) -> str:
    """``<ord_dt>-<odno>-<cum_qty>`` (``<odno>-<cum_qty>`` when the date is not known)."""
    cum = format(cum_qty.normalize(), "f")
    return f"{ord_dt}-{odno}-{cum}" if ord_dt else f"{odno}-{cum}"


class FillState(NamedTuple):
    """What is known of an order's fills: cumulative quantity and amount."""

    cum_qty: Decimal
    cum_amount: Decimal


def fill_delta(
    row: CcldRow,
    known: FillState,
    client_order_id: str,
    spec: InstrumentSpec,
    ts_init: int,
) -> tuple[FillReport, FillState] | None:
    """The fill an order's row shows beyond ``known``, or None when it shows nothing new.

    Its price is the growth of the filled amount over the growth of the quantity (``tot_ccld_amt``,
    else the average price times the quantity); its fee is the spec's commission and, on a sell,
    the transaction tax, as the simulated venue charges them: KIS states no fee per order.
    """
    cum = _qty(row.tot_ccld_qty, "tot_ccld_qty")
    if cum <= known.cum_qty:
        return None
    amount = _qty(row.tot_ccld_amt, "tot_ccld_amt")
    if not amount:
        amount = cum * _qty(row.avg_prvs, "avg_prvs")
    last_qty = cum - known.cum_qty
    # Several executions at different prices average to a quotient that may not terminate: it is
    # rounded to an avg_px's 28 digits, so an order's exact fill sums (60 digits) can always hold it.
    last_px = AVG_PX_CONTEXT.divide(amount - known.cum_amount, last_qty)
    with localcontext(SIM_CONTEXT):
        side = side_of(row.sll_buy_dvsn_cd)
        cost, currency = fee(spec, last_qty, last_px, Liquidity.TAKER, side, fee_bps=None)
    ts = kst_ns(row.ord_dt, row.ord_tmd) if row.ord_dt else ts_init
    report = FillReport(
        ts_event=ts,
        ts_init=ts_init,
        client_order_id=client_order_id,
        instrument=engine_symbol(row.pdno),
        side=side,
        trade_id=trade_id(row.ord_dt, row.odno, cum),
        last_qty=last_qty,
        last_px=last_px,
        cum_qty=cum,
        fee=cost,
        fee_currency=currency,
    )
    return report, FillState(cum, amount)


# ── WebSocket frames ──


class DataFrame(NamedTuple):
    encrypted: bool
    tr_id: str
    records: int
    payload: str


def parse_data_frame(text: str) -> DataFrame:
    """``<0|1>|<tr_id>|<count>|<payload>``; the split stops at the third ``|``, so the payload is
    kept whole."""
    parts = text.split("|", 3)
    if len(parts) != 4 or parts[0] not in ("0", "1") or not parts[2].isdigit() or int(parts[2]) < 1:
        raise VenueMessageError(f"kis data frame malformed: {text[:120]!r}")
    return DataFrame(parts[0] == "1", parts[1], int(parts[2]), parts[3])


def decrypt(payload: str, key: str, iv: str) -> str:
    """A base64 AES-256-CBC payload (PKCS7), with the key (32 chars) and iv (16) of the ack."""
    if len(key.encode()) != 32 or len(iv.encode()) != 16:
        raise VenueMessageError("kis notice key/iv: expected a 32-byte key and a 16-byte iv")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise VenueMessageError("kis encrypted payload is not base64") from None
    if not data or len(data) % 16:
        raise VenueMessageError("kis encrypted payload is not whole AES blocks")
    decryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise VenueMessageError("kis encrypted payload does not decrypt with the ack's key") from None


def encrypt(plain: str, key: str, iv: str) -> str:
    """The inverse of :func:`decrypt` (the emulator's side)."""
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


class Notice(NamedTuple):
    """One execution notice, by field name (the table's), extra fields kept in ``extra``."""

    fields: dict[str, str]
    extra: tuple[str, ...]


def parse_notices(payload: str, count: int) -> list[Notice]:
    """The ``count`` records of a notice payload, each at least :data:`NOTICE_FIELDS` long."""
    values = payload.split("^")
    if count < 1 or len(values) % count:
        raise VenueMessageError(f"kis notice: {len(values)} fields do not split into {count} records")
    width = len(values) // count
    if width < len(NOTICE_FIELDS):
        raise VenueMessageError(f"kis notice: {width} fields, the layout has {len(NOTICE_FIELDS)}")
    out: list[Notice] = []
    for i in range(count):
        record = values[i * width : (i + 1) * width]
        out.append(
            Notice(dict(zip(NOTICE_FIELDS, record, strict=False)), tuple(record[len(NOTICE_FIELDS) :]))
        )
    return out


def notice_fill(
    notice: Notice, *, ord_dt: str, cum_before: Decimal, client_order_id: str, spec: InstrumentSpec, ts: int
) -> FillReport | None:
    """The fill a notice tells (``CNTG_YN`` 2, not refused), numbered like a REST fill."""
    f = notice.fields
    if f["CNTG_YN"] != "2" or f["RFUS_YN"] == "1":
        return None
    qty = parse_decimal(f["CNTG_QTY"], "CNTG_QTY")
    px = parse_decimal(f["CNTG_UNPR"], "CNTG_UNPR").copy_abs()
    if qty <= 0:
        return None
    side = side_of(f["SELN_BYOV_CLS"])
    cum = cum_before + qty
    with localcontext(SIM_CONTEXT):
        cost, currency = fee(spec, qty, px, Liquidity.TAKER, side, fee_bps=None)
    return FillReport(
        ts_event=ts,
        ts_init=ts,
        client_order_id=client_order_id,
        instrument=engine_symbol(f["STCK_SHRN_ISCD"]),
        side=side,
        trade_id=trade_id(ord_dt, f["ODER_NO"], cum),
        last_qty=qty,
        last_px=px,
        cum_qty=cum,
        fee=cost,
        fee_currency=currency,
    )


def rows_of(rows: Sequence[CcldRow]) -> list[CcldRow]:
    """The orders of a page: modify and cancel requests (rows naming an original order) left out."""
    return [r for r in rows if not r.orgn_odno.strip("0")]


# ── market data ──

#: positions in the H0STCNT0 (trade) record: code, time, price, volume, side (1 buy, 5 sell)
TRADE_FIELDS: Final = 46
_T_CODE, _T_TIME, _T_PRICE, _T_VOL, _T_SIDE = 0, 1, 2, 12, 21
#: positions in the H0STASP0 (book) record: best ask, best bid and their sizes
BOOK_FIELDS: Final = 59
_B_CODE, _B_ASK1, _B_BID1, _B_ASK1_SIZE, _B_BID1_SIZE = 0, 3, 13, 23, 33


def split_records(payload: str, count: int, width: int, what: str) -> list[list[str]]:
    """``count`` records of at least ``width`` fields each (KIS adds fields at the end)."""
    values = payload.split("^")
    if count < 1 or len(values) % count or len(values) // count < width:
        raise VenueMessageError(f"kis {what}: {len(values)} fields are not {count} records of {width}+")
    size = len(values) // count
    return [values[i * size : (i + 1) * size] for i in range(count)]


def trade_of(record: Sequence[str], ts: int, trade_id: str) -> TradeTick:
    side = record[_T_SIDE]
    return TradeTick(
        ts_event=ts,
        ts_init=ts,
        instrument=engine_symbol(record[_T_CODE]),
        price=parse_decimal(record[_T_PRICE], "STCK_PRPR").copy_abs(),
        size=parse_decimal(record[_T_VOL], "CNTG_VOL"),
        aggressor=Side.SELL if side == "5" else Side.BUY,
        trade_id=trade_id,
    )


def quote_of(record: Sequence[str], ts: int) -> QuoteTick:
    return QuoteTick(
        ts_event=ts,
        ts_init=ts,
        instrument=engine_symbol(record[_B_CODE]),
        bid=parse_decimal(record[_B_BID1], "BIDP1").copy_abs(),
        bid_size=parse_decimal(record[_B_BID1_SIZE], "BIDP_RSQN1"),
        ask=parse_decimal(record[_B_ASK1], "ASKP1").copy_abs(),
        ask_size=parse_decimal(record[_B_ASK1_SIZE], "ASKP_RSQN1"),
    )
