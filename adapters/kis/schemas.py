"""msgspec structs of the KIS wire messages this adapter reads.

KIS spells its output keys in either case (the samples show ``ODNO`` and ``odno`` for the same
field), so every body is decoded into plain JSON first, its keys lowered (:func:`lower_keys`), and
then converted into these structs, whose field names are the lowered keys. Unknown fields are
always accepted (KIS adds fields); every number is a string, parsed by
:mod:`adapters.kis.parsers`.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "ApprovalAnswer",
    "BalancePage",
    "BalanceTotals",
    "CcldPage",
    "CcldRow",
    "Envelope",
    "HoldingRow",
    "HolidayAnswer",
    "HolidayRow",
    "OrderAnswer",
    "OrderOutput",
    "PagedEnvelope",
    "PsblOrderAnswer",
    "PsblOrderOutput",
    "TokenAnswer",
    "WsAck",
    "WsAckBody",
    "WsAckHeader",
    "WsAckOutput",
    "lower_keys",
]


def lower_keys(value: Any) -> Any:
    """``value`` with every object key lowered, recursively."""
    if isinstance(value, dict):
        return {str(k).lower(): lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_keys(v) for v in value]
    return value


class Envelope(msgspec.Struct, kw_only=True):
    """What every REST answer carries; ``error_code`` is the token endpoints' form of ``msg_cd``."""

    rt_cd: str | None = None
    msg_cd: str = ""
    msg1: str = ""
    error_code: str = ""
    error_description: str = ""


class TokenAnswer(Envelope, kw_only=True):
    access_token: str = ""
    token_type: str = ""
    expires_in: int = 0
    access_token_token_expired: str = ""


class ApprovalAnswer(Envelope, kw_only=True):
    approval_key: str = ""


class OrderOutput(msgspec.Struct, kw_only=True):
    krx_fwdg_ord_orgno: str = ""
    odno: str = ""
    ord_tmd: str = ""


class OrderAnswer(Envelope, kw_only=True):
    output: OrderOutput | None = None


class CcldRow(msgspec.Struct, kw_only=True):
    """One order of inquire-daily-ccld (the cumulative fill of the order, not one execution)."""

    ord_dt: str = ""
    ord_gno_brno: str = ""
    odno: str = ""
    orgn_odno: str = ""
    sll_buy_dvsn_cd: str = ""
    pdno: str = ""
    ord_qty: str = ""
    ord_unpr: str = ""
    ord_tmd: str = ""
    tot_ccld_qty: str = ""
    avg_prvs: str = ""
    tot_ccld_amt: str = ""
    cncl_yn: str = ""
    cncl_cfrm_qty: str = ""
    rmn_qty: str = ""
    rjct_qty: str = ""
    ord_dvsn_cd: str = ""
    excg_id_dvsn_cd: str = ""


class PagedEnvelope(Envelope, kw_only=True):
    """A paged answer: the keys the next request echoes."""

    ctx_area_fk100: str = ""
    ctx_area_nk100: str = ""


class CcldPage(PagedEnvelope, kw_only=True):
    output1: list[CcldRow] = msgspec.field(default_factory=list)


class HoldingRow(msgspec.Struct, kw_only=True):
    pdno: str = ""
    hldg_qty: str = ""
    ord_psbl_qty: str = ""
    pchs_avg_pric: str = ""
    prpr: str = ""


class BalanceTotals(msgspec.Struct, kw_only=True):
    dnca_tot_amt: str = ""
    nxdy_excc_amt: str = ""
    prvs_rcdl_excc_amt: str = ""
    tot_evlu_amt: str = ""


class BalancePage(PagedEnvelope, kw_only=True):
    output1: list[HoldingRow] = msgspec.field(default_factory=list)
    output2: list[BalanceTotals] = msgspec.field(default_factory=list)


class PsblOrderOutput(msgspec.Struct, kw_only=True):
    ord_psbl_cash: str = ""
    max_buy_qty: str = ""


class PsblOrderAnswer(Envelope, kw_only=True):
    output: PsblOrderOutput | None = None


class HolidayRow(msgspec.Struct, kw_only=True):
    """One day of chk-holiday (국내휴장일조회): ``Y``/``N`` flags; ``opnd_yn`` (개장일) says whether
    orders are taken that day."""

    bass_dt: str = ""
    wday_dvsn_cd: str = ""
    bzdy_yn: str = ""
    tr_day_yn: str = ""
    opnd_yn: str = ""
    sttl_day_yn: str = ""


class HolidayAnswer(Envelope, kw_only=True):
    """chk-holiday's answer: days from BASS_DT on. Its paging keys have no ``100`` suffix, unlike
    the trading inquiries'; a single day may come as one object rather than a list."""

    output: list[HolidayRow] | HolidayRow | None = None
    ctx_area_fk: str = ""
    ctx_area_nk: str = ""


class WsAckHeader(msgspec.Struct, kw_only=True):
    tr_id: str = ""
    tr_key: str = ""
    encrypt: str = ""


class WsAckOutput(msgspec.Struct, kw_only=True):
    iv: str = ""
    key: str = ""


class WsAckBody(msgspec.Struct, kw_only=True):
    rt_cd: str = ""
    msg_cd: str = ""
    msg1: str = ""
    output: WsAckOutput | None = None


class WsAck(msgspec.Struct, kw_only=True):
    """A JSON frame of the WebSocket: a subscribe ack, or ``PINGPONG`` (no body)."""

    header: WsAckHeader = msgspec.field(default_factory=WsAckHeader)
    body: WsAckBody | None = None
