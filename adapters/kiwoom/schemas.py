"""msgspec structs of Kiwoom's wire messages (REST bodies and WebSocket frames).

Kiwoom adds fields without notice, so no struct forbids unknown fields; every field has a default, so
a field Kiwoom leaves out reads as empty and the parsers decide whether that is allowed. Numbers stay
strings here ("000000070000", "+70000", "-70800"): :mod:`adapters.kiwoom.parsers` reads them strictly.
"""

from __future__ import annotations

import msgspec

__all__ = [
    "Balance",
    "BalanceRow",
    "Deposit",
    "Envelope",
    "FillList",
    "FillRow",
    "OpenOrderList",
    "OpenOrderRow",
    "OrderAnswer",
    "RealItem",
    "TokenAnswer",
    "WsFrame",
]


class Envelope(msgspec.Struct, kw_only=True):
    """What every REST answer carries."""

    return_code: int | None = None
    return_msg: str = ""


class TokenAnswer(Envelope, kw_only=True):
    """``au10001``: the token and when it ends (``YYYYMMDDHHMMSS``, KST)."""

    token: str = ""
    token_type: str = ""
    expires_dt: str = ""


class OrderAnswer(Envelope, kw_only=True):
    """``kt10000``/``kt10001``/``kt10003``: the broker's order number."""

    ord_no: str = ""
    dmst_stex_tp: str = ""
    base_orig_ord_no: str = ""
    cncl_qty: str = ""


class OpenOrderRow(msgspec.Struct, kw_only=True):
    """``ka10075`` ``oso[]``: one unfilled order."""

    ord_no: str = ""
    stk_cd: str = ""
    ord_stt: str = ""
    ord_qty: str = ""
    ord_pric: str = ""
    oso_qty: str = ""
    cntr_pric: str = ""
    cntr_qty: str = ""
    io_tp_nm: str = ""
    trde_tp: str = ""
    tm: str = ""
    orig_ord_no: str = ""


class OpenOrderList(Envelope, kw_only=True):
    oso: list[OpenOrderRow] = msgspec.field(default_factory=list)


class FillRow(msgspec.Struct, kw_only=True):
    """``ka10076`` ``cntr[]``: one execution of an order (``cntr_qty`` at ``cntr_pric``)."""

    ord_no: str = ""
    stk_cd: str = ""
    io_tp_nm: str = ""
    ord_pric: str = ""
    ord_qty: str = ""
    cntr_pric: str = ""
    cntr_qty: str = ""
    oso_qty: str = ""
    tdy_trde_cmsn: str = ""
    tdy_trde_tax: str = ""
    ord_stt: str = ""
    trde_tp: str = ""
    orig_ord_no: str = ""
    ord_tm: str = ""


class FillList(Envelope, kw_only=True):
    cntr: list[FillRow] = msgspec.field(default_factory=list)


class BalanceRow(msgspec.Struct, kw_only=True):
    """``kt00018`` ``acnt_evlt_remn_indv_tot[]``: one holding."""

    stk_cd: str = ""
    stk_nm: str = ""
    rmnd_qty: str = ""
    trde_able_qty: str = ""
    pur_pric: str = ""
    cur_prc: str = ""


class Balance(Envelope, kw_only=True):
    tot_pur_amt: str = ""
    tot_evlt_amt: str = ""
    acnt_evlt_remn_indv_tot: list[BalanceRow] = msgspec.field(default_factory=list)


class Deposit(Envelope, kw_only=True):
    """``kt00001``: cash. ``entr`` the deposit, ``ord_alow_amt`` what orders may still use."""

    entr: str = ""
    ord_alow_amt: str = ""
    d2_entra: str = ""


class RealItem(msgspec.Struct, kw_only=True):
    """One push of a ``REAL`` frame: ``values`` maps FIDs to strings."""

    type: str = ""
    name: str = ""
    item: str = ""
    values: dict[str, str] = msgspec.field(default_factory=dict)


class WsFrame(msgspec.Struct, kw_only=True):
    """Every WebSocket frame: ``LOGIN``/``PING``/``REG``/``REMOVE`` answers and ``REAL`` pushes."""

    trnm: str = ""
    return_code: int | None = None
    return_msg: str = ""
    #: decoded only for ``REAL`` (other frames put other shapes here)
    data: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"null"))
