"""The KIS emulator's venue state, its wire encoding and its REST routes (see
:mod:`adapters.kis.emulator` for what it speaks).

Everything here encodes and decodes KIS's wire format on its own, from the protocol notes: it shares
no schema or parser with the KIS client, so a wrong field on one side fails instead of agreeing with
itself. Only :func:`adapters.kis.config.tr_id` (the real → mock rule) is shared.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

import msgspec
from aiohttp import web

from adapters.emulator.exchange import Exchange, OrderRecord, OrderState
from adapters.emulator.server import delay, hang, injected_fault, reset
from adapters.kis.config import PATHS, TR_IDS, tr_id
from engines.markets.krx import KST_OFFSET_NS
from engines.markets.krx_validator import is_trading_day
from engines.model.commands import SubmitOrder
from engines.model.enums import OrderType, Side, TimeInForce

__all__ = ["VENUE_KEY", "KisLimits", "KisVenue", "add_rest_routes", "kst_date_time"]

Environment = Literal["real", "mock"]
_ZERO: Final = Decimal(0)
_NS: Final = 1_000_000_000
_BRANCH: Final = "91252"  # KRX_FWDG_ORD_ORGNO: the order branch the emulator answers with


class KisLimits(msgspec.Struct, frozen=True, kw_only=True):
    """The limits the emulator enforces; None means KIS's for the environment. Tests pass smaller
    numbers (or larger rates) to reach them quickly."""

    #: REST requests a second per app key (KIS: 18 real, 1 mock)
    rest_per_s: int | None = None
    #: seconds between two token issuances of one app key (EGW00133 inside it)
    token_interval_s: float = 60.0
    #: a token request within this many seconds of the last issuance returns the same token
    token_reuse_s: float = 6 * 3600.0
    token_lifetime_s: int = 86_400
    #: rows per page of inquire-daily-ccld (None: 100 real, 15 mock) and of inquire-balance (50 / 20)
    ccld_page_rows: int | None = None
    balance_page_rows: int | None = None
    #: chk-holiday: the days answered from BASS_DT on, and the rows of each page
    holiday_days: int = 30
    holiday_page_rows: int = 10
    #: WebSocket registrations per session
    ws_registrations: int = 41
    #: seconds between the server's PINGPONG frames
    ping_interval_s: float = 10.0

    def rate(self, environment: Environment) -> int:
        return self.rest_per_s if self.rest_per_s is not None else (18 if environment == "real" else 1)

    def ccld_rows(self, environment: Environment) -> int:
        return self.ccld_page_rows or (100 if environment == "real" else 15)

    def balance_rows(self, environment: Environment) -> int:
        return self.balance_page_rows or (50 if environment == "real" else 20)


class KisFault(Exception):
    """An answer with ``rt_cd`` 1: HTTP ``status``, KIS's ``msg_cd`` and ``msg1``."""

    def __init__(self, msg_cd: str, msg1: str, status: int = 200) -> None:
        super().__init__(f"{msg_cd}: {msg1}")
        self.msg_cd = msg_cd
        self.msg1 = msg1
        self.status = status


def kst_date_time(ts_ns: int) -> tuple[str, str]:
    """(``YYYYMMDD``, ``HHMMSS``) of ``ts_ns`` in KST."""
    seconds = (ts_ns + KST_OFFSET_NS) // _NS
    t = time.gmtime(seconds)
    return time.strftime("%Y%m%d", t), time.strftime("%H%M%S", t)


def dec(x: Decimal) -> str:
    """A number as KIS writes it: plain digits, no exponent."""
    if not x:
        return "0"
    text = format(x.normalize(), "f")
    return text


@dataclass
class _Token:
    app_key: str
    value: str
    issued: float
    expires: float


@dataclass
class KisVenue:
    """What the KIS emulator keeps beyond the exchange core."""

    exchange: Exchange
    environment: Environment
    limits: KisLimits
    seed: int = 0
    #: app key → CANO
    accounts: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, _Token] = field(default_factory=dict)
    last_token: dict[str, _Token] = field(default_factory=dict)
    approvals: dict[str, str] = field(default_factory=dict)
    windows: dict[str, tuple[int, int]] = field(default_factory=dict)  # app key → (second, count)
    #: exchange order ids KIS lists (those it accepted)
    listed: set[int] = field(default_factory=set)
    cancels: int = 0
    issued_tokens: int = 0
    #: app key → its WebSocket session (KIS allows one)
    ws_sessions: dict[str, Any] = field(default_factory=dict)
    #: chk-holiday's answer for these dates (``YYYYMMDD`` → open) instead of the KRX table's, so a
    #: test can make the broker's calendar disagree with ours
    calendar: dict[str, bool] = field(default_factory=dict)
    #: chk-holiday answers HTTP 500 EGW00002 while set (the broker's ledger service down)
    holiday_down: bool = False
    holiday_queries: int = 0
    wall: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        for i, key in enumerate(sorted(self.exchange.accounts)):
            self.accounts.setdefault(key, f"{12345678 + i:08d}")

    # ── auth ──

    def issue_token(self, app_key: str, secret: str) -> tuple[int, dict[str, Any]]:
        account = self.exchange.account(app_key)
        if account is None or account.secret != secret:
            return 403, {"error_code": "EGW00103", "error_description": "유효하지 않은 AppKey입니다."}
        now = self.wall()
        last = self.last_token.get(app_key)
        if last is not None and now - last.issued < self.limits.token_interval_s:
            return 403, {
                "error_code": "EGW00133",
                "error_description": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
            }
        if last is not None and now - last.issued < self.limits.token_reuse_s and now < last.expires:
            token = last  # KIS answers a request within 6 h with the same token
        else:
            self.issued_tokens += 1
            digest = hashlib.sha256(f"{self.seed}:{app_key}:{self.issued_tokens}".encode()).hexdigest()
            token = _Token(app_key, digest, now, now + self.limits.token_lifetime_s)
            self.tokens[token.value] = token
        self.last_token[app_key] = _Token(app_key, token.value, now, token.expires)
        expired = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(token.expires + KST_OFFSET_NS / _NS))
        return 200, {
            "access_token": token.value,
            "token_type": "Bearer",
            "expires_in": int(token.expires - now),
            "access_token_token_expired": expired,
        }

    def expire_tokens(self) -> None:
        """Every token expires now (tests of the reissue on EGW00123)."""
        for token in self.tokens.values():
            token.expires = 0.0

    def expire_token(self, token: _Token) -> None:
        """A ``token-expiry`` fault: this token ends now, as a token issued a day ago would; so the
        last issuance is as old, and the next token request is answered at once."""
        now = self.wall()
        token.expires = 0.0
        last = self.last_token.get(token.app_key)
        if last is not None and last.value == token.value:
            last.issued = min(last.issued, now - self.limits.token_interval_s)
            last.expires = 0.0

    def check(self, request: web.Request, path: str, allowed: tuple[str, ...]) -> str:
        """The app key of a /uapi request, after its token, tr_id and rate are checked."""
        auth = request.headers.get("authorization", "")
        token = self.tokens.get(auth.removeprefix("Bearer ").strip())
        app_key = request.headers.get("appkey", "")
        if token is None:
            raise KisFault("EGW00121", "유효하지 않은 token 입니다.", 500)
        if self.wall() < token.expires and self.exchange.faults.roll("token-expiry"):
            self.expire_token(token)
        if (
            token.app_key != app_key
            or request.headers.get("appsecret", "") != self.exchange.accounts[app_key].secret
        ):
            raise KisFault("EGW00103", "유효하지 않은 AppKey입니다.", 500)
        if self.wall() >= token.expires:
            raise KisFault("EGW00123", "기간이 만료된 token 입니다.", 500)
        wanted = request.headers.get("tr_id", "")
        if wanted not in {tr_id(t, self.environment) for t in allowed}:
            raise KisFault("OPSQ0002", f"없는 서비스 코드 입니다 ({wanted} on {path})")
        second = int(self.wall())
        start, count = self.windows.get(app_key, (second, 0))
        if start != second:
            start, count = second, 0
        if count >= self.limits.rate(self.environment) or self.exchange.faults.roll("429"):
            raise KisFault("EGW00201", "초당 거래건수를 초과하였습니다.", 500)
        self.windows[app_key] = (start, count + 1)
        return app_key

    def cano(self, app_key: str, params: Mapping[str, str]) -> None:
        if params.get("CANO", "") != self.accounts[app_key] or params.get("ACNT_PRDT_CD", "") != "01":
            raise KisFault("APBK1001", "계좌번호를 확인하세요 (CANO/ACNT_PRDT_CD)")

    # ── rows ──

    def row(self, record: OrderRecord) -> dict[str, str]:
        ord_dt, ord_tmd = kst_date_time(record.created_ms * 1_000_000)
        canceled = record.state is OrderState.CANCELED
        leftover = record.quantity - record.filled_qty
        return {
            "ord_dt": ord_dt,
            "ord_gno_brno": _BRANCH,
            "odno": f"{record.order_id:010d}",
            "orgn_odno": "",
            "ord_dvsn_name": "지정가" if record.order_type is OrderType.LIMIT else "시장가",
            "sll_buy_dvsn_cd": "01" if record.side is Side.SELL else "02",
            "sll_buy_dvsn_cd_name": "매도" if record.side is Side.SELL else "매수",
            "pdno": record.symbol.removeprefix("krx:"),
            "prdt_name": "",
            "ord_qty": dec(record.quantity),
            "ord_unpr": "0" if record.price is None else dec(record.price),
            "ord_tmd": ord_tmd,
            "tot_ccld_qty": dec(record.filled_qty),
            "avg_prvs": dec(record.avg_px),
            "cncl_yn": "Y" if canceled else "N",
            "tot_ccld_amt": dec(record.filled_quote),
            "ord_dvsn_cd": _ORD_DVSN_OF.get((record.order_type, record.time_in_force), "00"),
            "cncl_cfrm_qty": dec(leftover) if canceled else "0",
            "rmn_qty": dec(record.leaves_qty),
            "rjct_qty": dec(leftover) if record.state is OrderState.REJECTED else "0",
            # 거래소구분코드 (02 KOSPI, 03 KOSDAQ): the specs name no board, so every row says KOSPI
            "excg_dvsn_cd": "02",
            "excg_id_dvsn_cd": "KRX",
        }


_ORD_DVSN_OF: Final[dict[tuple[OrderType, TimeInForce], str]] = {
    (OrderType.LIMIT, TimeInForce.DAY): "00",
    (OrderType.MARKET, TimeInForce.DAY): "01",
    (OrderType.LIMIT, TimeInForce.IOC): "11",
    (OrderType.LIMIT, TimeInForce.FOK): "12",
    (OrderType.MARKET, TimeInForce.IOC): "13",
    (OrderType.MARKET, TimeInForce.FOK): "14",
}
_FROM_DVSN: Final[dict[str, tuple[OrderType, TimeInForce]]] = {v: k for k, v in _ORD_DVSN_OF.items()}

#: the simulated venue's reject codes → KIS-style refusals
_REJECTS: Final[dict[str, str]] = {
    "INSUFFICIENT_CASH": "APBK0952",
    "INSUFFICIENT_POSITION": "APBK0986",
    "MARKET_CLOSED": "APBK0918",
    "TICK_SIZE": "APBK0919",
    "PRICE_LIMIT": "APBK0919",
    "INVALID_PRICE": "APBK0919",
    "INVALID_QTY": "APBK0919",
    "LOT_SIZE": "APBK0919",
    "MIN_QTY": "APBK0919",
}

#: the ids KIS used before its 2024 renumbering, still answered and still sent by clients in use
#: (python-kis 2.1.6 cancels with TTTC0803U and lists orders with TTTC8001R)
_LEGACY_TR_IDS: Final[dict[str, str]] = {"cancel_legacy": "TTTC0803U", "daily_ccld_legacy": "TTTC8001R"}

VENUE_KEY: web.AppKey[KisVenue] = web.AppKey("kis_venue", KisVenue)

Handler = Callable[[KisVenue, str, dict[str, str], web.Request], Awaitable[tuple[dict[str, Any], str]]]


# ── routes ──


def add_rest_routes(app: web.Application) -> None:
    app.router.add_post(PATHS["token"], _token)
    app.router.add_post(PATHS["revoke"], _revoke)
    app.router.add_post(PATHS["approval"], _approval)
    app.router.add_post(
        PATHS["order"], _route(_order_cash, ("buy", "sell", "buy_legacy", "sell_legacy"), True)
    )
    app.router.add_post(PATHS["cancel"], _route(_rvsecncl, ("cancel", "cancel_legacy"), True))
    app.router.add_get(PATHS["daily_ccld"], _route(_daily_ccld, ("daily_ccld", "daily_ccld_legacy"), False))
    app.router.add_get(PATHS["balance"], _route(_balance, ("balance",), False))
    app.router.add_get(PATHS["psbl_order"], _route(_psbl_order, ("psbl_order",), False))
    app.router.add_get(PATHS["holiday"], _route(_chk_holiday, ("holiday",), False, account=False))


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def _token(request: web.Request) -> web.Response:
    venue = request.app[VENUE_KEY]
    body = await _json_body(request)
    if body.get("grant_type") != "client_credentials":
        return web.json_response({"error_code": "EGW00002", "error_description": "grant_type"}, status=403)
    status, answer = venue.issue_token(str(body.get("appkey", "")), str(body.get("appsecret", "")))
    return web.json_response(answer, status=status)


async def _revoke(request: web.Request) -> web.Response:
    venue = request.app[VENUE_KEY]
    body = await _json_body(request)
    venue.tokens.pop(str(body.get("token", "")), None)
    return web.json_response({"code": 200, "message": "접근토큰 폐기에 성공하였습니다"})


async def _approval(request: web.Request) -> web.Response:
    venue = request.app[VENUE_KEY]
    body = await _json_body(request)
    key = str(body.get("appkey", ""))
    account = venue.exchange.account(key)
    if account is None or account.secret != body.get("secretkey"):  # KIS names the secret secretkey here
        return web.json_response(
            {"error_code": "EGW00103", "error_description": "유효하지 않은 AppKey입니다."}, status=403
        )
    approval = hashlib.sha256(f"approval:{venue.seed}:{key}".encode()).hexdigest()[:36]
    venue.approvals[approval] = key
    return web.json_response({"approval_key": approval})


def _route(
    handler: Handler, trs: tuple[str, ...], faulty: bool, *, account: bool = True
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    allowed = tuple(_LEGACY_TR_IDS[t] if t in _LEGACY_TR_IDS else TR_IDS[t] for t in trs)

    async def route(request: web.Request) -> web.StreamResponse:
        venue = request.app[VENUE_KEY]
        await delay(request)
        try:
            app_key = venue.check(request, request.path, allowed)
            if request.method == "POST":
                params = {str(k).upper(): str(v) for k, v in (await _json_body(request)).items()}
            else:
                params = {k.upper(): v for k, v in request.query.items()}
            if account:  # the quotations name no account
                venue.cano(app_key, params)
        except KisFault as fault:
            return _fault(fault)
        kind = injected_fault(request, "timeout", "reset", "5xx", "accept-then-timeout") if faulty else None
        if kind == "timeout":
            return await hang(request)
        if kind == "reset":
            return reset(request)
        if kind == "5xx":
            return _fault(KisFault("EGW00002", "서버 에러가 발생하였습니다.", 500))
        try:
            answer, more = await handler(venue, app_key, params, request)
        except KisFault as fault:
            response = _fault(fault)
        else:
            response = web.json_response(
                answer, headers={"tr_id": request.headers.get("tr_id", ""), "tr_cont": more, "gt_uid": ""}
            )
        if kind == "accept-then-timeout":
            return await hang(request)
        return response

    return route


def _fault(fault: KisFault) -> web.Response:
    return web.json_response({"rt_cd": "1", "msg_cd": fault.msg_cd, "msg1": fault.msg1}, status=fault.status)


def _number(params: Mapping[str, str], key: str) -> Decimal:
    text = params.get(key, "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise KisFault("APBK1001", f"{key} 입력값을 확인하세요 ({text!r})") from None
    if not text.isdigit():
        raise KisFault("APBK1001", f"{key} 입력값을 확인하세요 ({text!r})")
    return value


async def _order_cash(
    venue: KisVenue, app_key: str, params: dict[str, str], request: web.Request
) -> tuple[dict[str, Any], str]:
    tr = request.headers.get("tr_id", "")
    side = Side.SELL if tr.endswith(("0011U", "0801U")) else Side.BUY
    symbol = "krx:" + params.get("PDNO", "")
    if symbol not in venue.exchange.specs:
        raise KisFault("APBK1001", f"종목코드를 확인하세요 ({params.get('PDNO', '')!r})")
    kind = _FROM_DVSN.get(params.get("ORD_DVSN", ""))
    if kind is None:
        raise KisFault(
            "APBK1001", f"주문구분 {params.get('ORD_DVSN', '')!r}: the emulator takes 00, 01, 11-14"
        )
    order_type, tif = kind
    qty = _number(params, "ORD_QTY")
    price = _number(params, "ORD_UNPR")
    if qty <= 0:
        raise KisFault("APBK0919", "주문수량을 확인하세요")
    if order_type is OrderType.LIMIT and price <= 0:
        raise KisFault("APBK0919", "주문단가를 확인하세요")
    now = venue.exchange.clock.now_ns()
    order_id = venue.exchange.next_order_id
    cmd = SubmitOrder(
        ts_event=now,
        ts_init=now,
        strategy="kis",
        venue="kis",
        client_order_id=f"{order_id:010d}",
        instrument=symbol,
        side=side,
        order_type=order_type,
        quantity=qty,
        price=price if order_type is OrderType.LIMIT else None,
        time_in_force=tif,
    )
    record = await venue.exchange.submit(app_key, cmd)
    if record.state is OrderState.REJECTED:
        raise KisFault(
            _REJECTS.get(record.reject_code, "APBK1001"), record.reject_reason or record.reject_code
        )
    venue.listed.add(record.order_id)
    _, ord_tmd = kst_date_time(record.created_ms * 1_000_000)
    return {
        "rt_cd": "0",
        "msg_cd": "APBK0013",
        "msg1": "주문 전송 완료 되었습니다.",
        "output": {"KRX_FWDG_ORD_ORGNO": _BRANCH, "ODNO": f"{record.order_id:010d}", "ORD_TMD": ord_tmd},
    }, ""


async def _rvsecncl(
    venue: KisVenue, app_key: str, params: dict[str, str], request: web.Request
) -> tuple[dict[str, Any], str]:
    if params.get("RVSE_CNCL_DVSN_CD") != "02":
        raise KisFault("APBK1001", "the emulator cancels (02); it does not modify orders (01)")
    text = params.get("ORGN_ODNO", "")
    record = venue.exchange.find(app_key, order_id=int(text)) if text.isdigit() else None
    if (
        record is None
        or record.order_id not in venue.listed
        or not await venue.exchange.cancel(app_key, record)
    ):
        raise KisFault("APBK0656", "정정/취소할 수량이 없습니다.")
    venue.cancels += 1
    _, ord_tmd = kst_date_time(venue.exchange.clock.now_ns())
    return {
        "rt_cd": "0",
        "msg_cd": "APBK0017",
        "msg1": "주문 취소 완료 되었습니다.",
        "output": {
            "KRX_FWDG_ORD_ORGNO": _BRANCH,
            "ODNO": f"{9_000_000_000 + venue.cancels:010d}",
            "ORD_TMD": ord_tmd,
        },
    }, ""


def _page(
    rows: list[dict[str, str]], params: Mapping[str, str], size: int
) -> tuple[list[dict[str, str]], dict[str, str], str]:
    """One page of ``rows`` from the offset in CTX_AREA_NK100; the keys of the next and tr_cont."""
    nk = params.get("CTX_AREA_NK100", "").strip()
    start = int(nk) if nk.isdigit() else 0
    page = rows[start : start + size]
    more = start + size < len(rows)
    ctx = {
        "ctx_area_fk100": params.get("CTX_AREA_FK100", "") or "KIS",
        "ctx_area_nk100": str(start + size) if more else "",
    }
    return page, ctx, "M" if more else "D"


async def _daily_ccld(
    venue: KisVenue, app_key: str, params: dict[str, str], request: web.Request
) -> tuple[dict[str, Any], str]:
    start, end = params.get("INQR_STRT_DT", ""), params.get("INQR_END_DT", "")
    if not (len(start) == 8 and start.isdigit() and len(end) == 8 and end.isdigit()):
        raise KisFault("APBK1001", "조회일자를 확인하세요 (INQR_STRT_DT/INQR_END_DT)")
    side = params.get("SLL_BUY_DVSN_CD", "00")
    ccld = params.get("CCLD_DVSN", "00")
    odno = params.get("ODNO", "").strip()
    pdno = params.get("PDNO", "").strip()
    rows: list[dict[str, str]] = []
    for record in venue.exchange.accounts[app_key].orders.values():
        if record.order_id not in venue.listed:
            continue
        row = venue.row(record)
        if not start <= row["ord_dt"] <= end:
            continue
        if side in ("01", "02") and row["sll_buy_dvsn_cd"] != side:
            continue
        if odno and (not odno.isdigit() or int(odno) != record.order_id):
            continue
        if pdno and row["pdno"] != pdno:
            continue
        if (ccld == "01" and record.filled_qty == 0) or (ccld == "02" and record.leaves_qty == 0):
            continue
        rows.append(row)
    if params.get("INQR_DVSN", "00") == "00":
        rows.reverse()  # 00: newest first
    page, ctx, more = _page(rows, params, venue.limits.ccld_rows(venue.environment))
    filled = sum((Decimal(r["tot_ccld_qty"]) for r in rows), _ZERO)
    return {
        "rt_cd": "0",
        "msg_cd": "KIOK0460" if page else "KIOK0560",
        "msg1": "조회 되었습니다." if page else "조회할 내용이 없습니다",
        "output1": page,
        "output2": {
            "tot_ord_qty": dec(sum((Decimal(r["ord_qty"]) for r in rows), _ZERO)),
            "tot_ccld_qty": dec(filled),
        },
        **ctx,
    }, more


async def _balance(
    venue: KisVenue, app_key: str, params: dict[str, str], request: web.Request
) -> tuple[dict[str, Any], str]:
    exchange = venue.exchange
    balances = exchange.balances(app_key)
    holdings: list[dict[str, str]] = []
    for symbol in sorted(exchange.specs):
        code = symbol.removeprefix("krx:")
        free, locked = balances.get(code, (_ZERO, _ZERO))
        if free + locked <= 0:
            continue
        qty, avg = exchange.position(app_key, symbol)
        last = exchange.last_quote.get(symbol)
        holdings.append(
            {
                "pdno": code,
                "prdt_name": "",
                "hldg_qty": dec(free + locked),
                "ord_psbl_qty": dec(free),
                "pchs_avg_pric": dec(avg),
                "pchs_amt": dec(qty * avg),
                "prpr": dec(last.bid) if last is not None else "0",
            }
        )
    cash_free, cash_locked = balances.get("KRW", (_ZERO, _ZERO))
    total = cash_free + cash_locked
    page, ctx, more = _page(holdings, params, venue.limits.balance_rows(venue.environment))
    return {
        "rt_cd": "0",
        "msg_cd": "KIOK0510",
        "msg1": "조회가 완료되었습니다",
        "output1": page,
        # the emulator settles at once: today's deposit, D+1 and D+2 are the same cash
        "output2": [
            {
                "dnca_tot_amt": dec(total),
                "nxdy_excc_amt": dec(total),
                "prvs_rcdl_excc_amt": dec(total),
                "tot_evlu_amt": dec(total),
            }
        ],
        **ctx,
    }, more


async def _psbl_order(
    venue: KisVenue, app_key: str, params: dict[str, str], request: web.Request
) -> tuple[dict[str, Any], str]:
    free, _ = venue.exchange.balances(app_key).get("KRW", (_ZERO, _ZERO))
    return {
        "rt_cd": "0",
        "msg_cd": "KIOK0510",
        "msg1": "조회가 완료되었습니다",
        "output": {"ord_psbl_cash": dec(free), "nrcvb_buy_amt": dec(free), "max_buy_qty": "0"},
    }, ""


#: wday_dvsn_cd by date.weekday(): KIS counts from 01 Sunday to 07 Saturday
_WDAY: Final = ("02", "03", "04", "05", "06", "07", "01")


async def _chk_holiday(
    venue: KisVenue, app_key: str, params: dict[str, str], request: web.Request
) -> tuple[dict[str, Any], str]:
    """국내휴장일조회: one row a day from BASS_DT (or from the date in CTX_AREA_NK, the next page's
    first day), over :attr:`KisLimits.holiday_days` days. The KRX table decides unless
    :attr:`KisVenue.calendar` overrides a date; business, trading, open and settlement day are the
    same answer here (at KIS they can differ, e.g. Dec 31 is a business day but not an open one)."""
    venue.holiday_queries += 1
    if venue.holiday_down:
        raise KisFault("EGW00002", "서버 에러가 발생하였습니다.", 500)
    base = _yyyymmdd(params.get("BASS_DT", ""))
    if base is None:
        raise KisFault("APBK1001", f"기준일자를 확인하세요 (BASS_DT {params.get('BASS_DT', '')!r})")
    first = _yyyymmdd(params.get("CTX_AREA_NK", "").strip()) or base
    end = base + timedelta(days=venue.limits.holiday_days)
    count = min(venue.limits.holiday_page_rows, (end - first).days)
    days = [first + timedelta(days=i) for i in range(max(count, 0))]
    rows: list[dict[str, str]] = []
    for day in days:
        key = f"{day:%Y%m%d}"
        yn = "Y" if venue.calendar.get(key, is_trading_day(day)) else "N"
        rows.append(
            {"bass_dt": key, "wday_dvsn_cd": _WDAY[day.weekday()], "bzdy_yn": yn, "tr_day_yn": yn,
             "opnd_yn": yn, "sttl_day_yn": yn}
        )  # fmt: skip
    after = first + timedelta(days=len(days))
    more = bool(days) and after < end
    return {
        "rt_cd": "0",
        "msg_cd": "KIOK0510",
        "msg1": "조회가 완료되었습니다",
        "output": rows,
        "ctx_area_fk": params.get("BASS_DT", ""),
        "ctx_area_nk": f"{after:%Y%m%d}" if more else "",
    }, "M" if more else "D"


def _yyyymmdd(text: str) -> date | None:
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
