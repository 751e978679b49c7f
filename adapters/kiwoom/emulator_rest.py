"""The Kiwoom emulator's venue state, its wire encoding and its REST routes (see
:mod:`adapters.kiwoom.emulator` for what it speaks).

It encodes and decodes Kiwoom's wire format on its own, from Kiwoom's documentation, sharing no
schema or parser with the Kiwoom client, so a mistake on one side is caught by the other.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Final, Literal

import msgspec
from aiohttp import web

from adapters.emulator.exchange import Exchange, OrderRecord, OrderState, TradeRecord
from adapters.emulator.server import delay, hang, injected_fault, reset
from engines.model.commands import SubmitOrder
from engines.model.enums import OrderType, Side, TimeInForce

__all__ = [
    "VENUE_KEY",
    "KiwoomLimits",
    "KiwoomVenue",
    "add_rest_routes",
    "io_name",
    "kst_time",
    "ord_no",
    "pad",
]

Mode = Literal["real", "mock"]
_KST: Final = timezone(timedelta(hours=9))
_ZERO: Final = Decimal(0)
_TRDE_TP: Final[Mapping[str, tuple[OrderType, TimeInForce]]] = {
    "0": (OrderType.LIMIT, TimeInForce.DAY),
    "3": (OrderType.MARKET, TimeInForce.DAY),
    "10": (OrderType.LIMIT, TimeInForce.IOC),
    "13": (OrderType.MARKET, TimeInForce.IOC),
    "20": (OrderType.LIMIT, TimeInForce.FOK),
    "23": (OrderType.MARKET, TimeInForce.FOK),
}
_TRDE_NAME: Final = {OrderType.LIMIT: "보통", OrderType.MARKET: "시장가"}
_RATE_MSG: Final = "허용된 요청 개수를 초과하였습니다"
_TOKEN_MSG: Final = "Token이 유효하지 않습니다"  # noqa: S105 - a message, not a secret
#: the simulated venue's reject codes → the order desk's RC codes and messages
_REJECTS: Final[Mapping[str, tuple[str, str]]] = {
    "INSUFFICIENT_BALANCE": ("RC4025", "주문가능금액을 초과하였습니다"),
    "INSUFFICIENT_POSITION": ("RC4027", "매도가능수량이 부족합니다"),
    "PRICE_LIMIT": ("RC4012", "주문가격이 상하한가 범위를 벗어났습니다"),
    "MARKET_CLOSED": ("RC4010", "장 운영시간이 아닙니다"),
}


def ord_no(n: int) -> str:
    """Kiwoom's order numbers are seven digits, zero-padded."""
    return f"{n:07d}"


def pad(x: Decimal, width: int = 12, sign: str = "") -> str:
    """A whole number as Kiwoom writes most of them: zero-padded, maybe signed."""
    return sign + format(x.to_integral_value(), "f").zfill(width)


def exact(x: Decimal) -> str:
    """An amount that may have a fraction (the simulated fees): plain notation, no exponent."""
    return "0" if not x else format(x.normalize(), "f")


def io_name(side: Side) -> str:
    return "+매수" if side is Side.BUY else "-매도"


def kst_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, _KST).strftime("%H%M%S")


class KiwoomLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Requests per api-id and token in any ``window_ms`` (no official number; measured ~1/s, burst 2;
    the default is a little looser than what the client sends). Over it: HTTP 429 with return_code 5,
    or HTTP 200 with return_code 5, in turn, both naming 1700."""

    per_window: int = 5
    window_ms: int = 1_000
    page_size: int = 20
    token_ttl_s: int = 86_400


@dataclass
class _Window:
    start_ms: int
    count: int = 0


@dataclass
class KiwoomVenue:
    """The Kiwoom-specific state over the exchange: tokens, limits, the cancel numbers."""

    exchange: Exchange
    limits: KiwoomLimits
    mode: Mode = "real"
    seed: int = 0
    tokens: dict[str, tuple[str, int]] = field(default_factory=dict)  # token → (app key, expires ms)
    issued: int = 0
    windows: dict[tuple[str, str], _Window] = field(default_factory=dict)
    limited: int = 0
    next_cancel: int = 1
    cancel_numbers: dict[int, str] = field(default_factory=dict)  # order id → its cancel's ord_no
    requests: list[str] = field(default_factory=list)  # api-ids in the order received
    ping_interval_s: float = 10.0

    def now_ms(self) -> int:
        return self.exchange.clock.now_ns() // 1_000_000

    def issue(self, app_key: str) -> tuple[str, str]:
        self.issued += 1
        digest = hashlib.sha256(f"{self.seed}:{self.mode}:{app_key}:{self.issued}".encode()).hexdigest()
        token = digest[:48]
        expires = time.time_ns() // 1_000_000 + self.limits.token_ttl_s * 1000
        self.tokens[token] = (app_key, expires)
        return token, datetime.fromtimestamp(expires / 1000, _KST).strftime("%Y%m%d%H%M%S")

    def revoke_all(self) -> None:
        """Forget every token (tests: what a server-side expiry looks like to the client)."""
        self.tokens.clear()

    def expire_token(self, request: web.Request) -> None:
        """A ``token-expiry`` fault: the token this request carries ends now."""
        self.tokens.pop(request.headers.get("authorization", "").partition(" ")[2].strip(), None)

    def account_of(self, request: web.Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.token_account(token.strip())

    def token_account(self, token: str) -> str | None:
        """The app key a live token was issued to."""
        found = self.tokens.get(token)
        if found is None or found[1] <= time.time_ns() // 1_000_000:
            return None
        return found[0]

    def over_limit(self, app_key: str, api_id: str) -> bool:
        now = time.time_ns() // 1_000_000
        key = (app_key, api_id)
        window = self.windows.get(key)
        if window is None or now - window.start_ms >= self.limits.window_ms:
            window = self.windows[key] = _Window(now)
        window.count += 1
        return window.count > self.limits.per_window


VENUE_KEY: web.AppKey[KiwoomVenue] = web.AppKey("kiwoom_venue", KiwoomVenue)


class _Refusal(Exception):
    def __init__(self, return_code: int, msg: str, status: int = 200) -> None:
        super().__init__(msg)
        self.return_code = return_code
        self.msg = msg
        self.status = status


def answer(
    body: Mapping[str, Any], *, api_id: str, status: int = 200, more: bool = False, next_key: str = ""
) -> web.Response:
    headers = {"api-id": api_id, "cont-yn": "Y" if more else "N", "next-key": next_key}
    return web.json_response(dict(body), status=status, headers=headers)


def refused(refusal: _Refusal, api_id: str) -> web.Response:
    body = {"return_code": refusal.return_code, "return_msg": refusal.msg}
    return answer(body, api_id=api_id, status=refusal.status)


# ── routes ────────────────────────────────────────────────────────────────────────────────────────

Handler = Callable[[KiwoomVenue, str, dict[str, Any]], Awaitable[dict[str, Any]]]
Pager = Callable[[KiwoomVenue, str, dict[str, Any]], tuple[str, list[dict[str, Any]], dict[str, Any]]]


async def _token(request: web.Request) -> web.Response:
    venue = request.app[VENUE_KEY]
    venue.requests.append("au10001")
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        return refused(_Refusal(2, "[1501:요청 본문이 JSON이 아닙니다]"), "au10001")
    if not isinstance(body, dict) or body.get("grant_type") != "client_credentials":
        return refused(_Refusal(2, "[1511:grant_type 값이 올바르지 않습니다]"), "au10001")
    app_key, secret = str(body.get("appkey", "")), str(body.get("secretkey", ""))
    account = venue.exchange.account(app_key)
    if account is None:
        return refused(_Refusal(3, "[8001:App Key와 Secret Key 검증에 실패했습니다]"), "au10001")
    if account.secret != secret:
        return refused(_Refusal(3, "[8002:Secret Key 검증에 실패했습니다]"), "au10001")
    token, expires_dt = venue.issue(app_key)
    return answer(
        {
            "expires_dt": expires_dt,
            "token_type": "bearer",
            "token": token,
            "return_code": 0,
            "return_msg": "정상적으로 처리되었습니다",
        },
        api_id="au10001",
    )


async def _revoke(request: web.Request) -> web.Response:
    venue = request.app[VENUE_KEY]
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        body = {}
    venue.tokens.pop(str(body.get("token", "")) if isinstance(body, dict) else "", None)
    return answer({"return_code": 0, "return_msg": "정상적으로 처리되었습니다"}, api_id="au10002")


def _route(
    handlers: Mapping[str, Handler], pagers: Mapping[str, Pager], faulty: bool
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def route(request: web.Request) -> web.StreamResponse:
        venue = request.app[VENUE_KEY]
        api_id = request.headers.get("api-id", "")
        venue.requests.append(api_id)
        if api_id not in handlers and api_id not in pagers:
            return refused(_Refusal(2, f"[1504:해당 URI에서 지원하지 않는 API ID입니다 ({api_id})]"), api_id)
        app_key = venue.account_of(request)
        if app_key is not None and venue.exchange.faults.roll("token-expiry"):
            venue.expire_token(request)
            app_key = None
        if app_key is None:
            return refused(_Refusal(3, f"인증에 실패했습니다[8005:{_TOKEN_MSG}]"), api_id)
        if venue.over_limit(app_key, api_id) or venue.exchange.faults.roll("429"):
            venue.limited += 1
            msg = f"{_RATE_MSG}[1700:{_RATE_MSG}. API ID={api_id}]"
            # Kiwoom has been seen to answer a rate limit both ways
            return refused(_Refusal(5, msg, status=429 if venue.limited % 2 else 200), api_id)
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            return refused(_Refusal(2, "[1501:요청 본문이 JSON이 아닙니다]"), api_id)
        if not isinstance(body, dict):
            return refused(_Refusal(2, "[1501:요청 본문이 JSON 객체가 아닙니다]"), api_id)
        await delay(request)
        fault = injected_fault(request, "timeout", "reset", "5xx", "accept-then-timeout") if faulty else None
        if fault == "timeout":
            return await hang(request)
        if fault == "reset":
            return reset(request)
        if fault == "5xx":
            return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>")
        if api_id in pagers:
            return _paged(venue, api_id, app_key, body, request.headers, pagers[api_id])
        try:
            result = await handlers[api_id](venue, app_key, body)
        except _Refusal as refusal:
            response = refused(refusal, api_id)
        else:
            response = answer(result, api_id=api_id)
        if fault == "accept-then-timeout":
            return await hang(request)
        return response

    return route


def _paged(  # noqa: PLR0917 - one call site, every argument a different thing
    venue: KiwoomVenue,
    api_id: str,
    app_key: str,
    body: dict[str, Any],
    headers: Mapping[str, str],
    pager: Pager,
) -> web.Response:
    try:
        list_key, rows, totals = pager(venue, app_key, body)
    except _Refusal as refusal:
        return refused(refusal, api_id)
    start = 0
    if headers.get("cont-yn", "N").upper() == "Y":
        key = headers.get("next-key", "")
        if not key.isdigit():
            return refused(_Refusal(2, "[1516:next-key 값이 올바르지 않습니다]"), api_id)
        start = int(key)
    size = venue.limits.page_size
    page = rows[start : start + size]
    more = start + size < len(rows)
    out = {**totals, list_key: page, "return_code": 0, "return_msg": "조회가 완료되었습니다"}
    return answer(out, api_id=api_id, more=more, next_key=str(start + size) if more else "")


def add_rest_routes(app: web.Application) -> None:
    app.router.add_post("/oauth2/token", _token)
    app.router.add_post("/oauth2/revoke", _revoke)
    app.router.add_post(
        "/api/dostk/ordr", _route({"kt10000": _buy, "kt10001": _sell, "kt10003": _cancel}, {}, True)
    )
    app.router.add_post(
        "/api/dostk/acnt",
        _route(
            {"kt00001": _deposit}, {"ka10075": _open_orders, "ka10076": _fills, "kt00018": _holdings}, False
        ),
    )


# ── orders ────────────────────────────────────────────────────────────────────────────────────────


async def _buy(venue: KiwoomVenue, app_key: str, body: dict[str, Any]) -> dict[str, Any]:
    return await _order(venue, app_key, body, Side.BUY)


async def _sell(venue: KiwoomVenue, app_key: str, body: dict[str, Any]) -> dict[str, Any]:
    return await _order(venue, app_key, body, Side.SELL)


def _symbol(venue: KiwoomVenue, body: Mapping[str, Any]) -> str:
    code = str(body.get("stk_cd", "")).strip().removeprefix("A")
    if not code:
        raise _Refusal(2, "[1511:필수 입력 값에 값이 존재하지 않습니다 (stk_cd)]")
    symbol = f"krx:{code}"
    if symbol not in venue.exchange.specs:
        raise _Refusal(2, f"[1902:종목 정보가 없습니다 ({code})]")
    return symbol


def _whole(text: Any, what: str, *, allow_empty: bool = False) -> Decimal | None:
    value = str(text if text is not None else "").strip()
    if not value and allow_empty:
        return None
    if not value.isdigit():
        raise _Refusal(2, f"[1517:입력 값 형식이 올바르지 않습니다 ({what}={text!r})]")
    return Decimal(value)


async def _order(venue: KiwoomVenue, app_key: str, body: dict[str, Any], side: Side) -> dict[str, Any]:
    stex = str(body.get("dmst_stex_tp", ""))
    if stex not in ("KRX", "NXT", "SOR"):
        raise _Refusal(2, f"[1517:국내거래소구분 값이 올바르지 않습니다 ({stex!r})]")
    if venue.mode == "mock" and stex != "KRX":
        raise _Refusal(2, "[1517:모의투자에서는 KRX만 주문할 수 있습니다]")
    symbol = _symbol(venue, body)
    tp = str(body.get("trde_tp", ""))
    if tp not in _TRDE_TP:
        raise _Refusal(20, f"[2000](RC4003:지원하지 않는 매매구분입니다 ({tp}))")
    order_type, tif = _TRDE_TP[tp]
    qty = _whole(body.get("ord_qty"), "ord_qty")
    assert qty is not None
    if qty <= 0:
        raise _Refusal(20, "[2000](RC4004:주문수량을 확인하세요)")
    price = _whole(body.get("ord_uv"), "ord_uv", allow_empty=True)
    if order_type is OrderType.LIMIT and not price:
        raise _Refusal(20, "[2000](RC4005:주문단가를 확인하세요)")
    number = ord_no(venue.exchange.next_order_id)
    now = venue.exchange.clock.now_ns()
    cmd = SubmitOrder(
        ts_event=now,
        ts_init=now,
        strategy="kiwoom",
        venue="kiwoom",
        client_order_id=number,
        instrument=symbol,
        side=side,
        order_type=order_type,
        quantity=qty,
        price=price if order_type is OrderType.LIMIT else None,
        time_in_force=tif,
    )
    record = await venue.exchange.submit(app_key, cmd)
    if record.state is OrderState.REJECTED:
        rc, msg = _REJECTS.get(record.reject_code, ("RC4000", "주문이 거부되었습니다"))
        raise _Refusal(20, f"[2000]({rc}:{msg}: {record.reject_reason})")
    verb = "매수" if side is Side.BUY else "매도"
    return {
        "ord_no": number,
        "dmst_stex_tp": stex,
        "return_code": 0,
        "return_msg": f"{verb}주문이 완료되었습니다",
    }


async def _cancel(venue: KiwoomVenue, app_key: str, body: dict[str, Any]) -> dict[str, Any]:
    symbol = _symbol(venue, body)
    orig = str(body.get("orig_ord_no", "")).strip()
    if not orig.isdigit():
        raise _Refusal(2, "[1511:필수 입력 값에 값이 존재하지 않습니다 (orig_ord_no)]")
    cncl = _whole(body.get("cncl_qty"), "cncl_qty")
    record = venue.exchange.find(app_key, order_id=int(orig))
    if record is None or record.symbol != symbol:
        raise _Refusal(20, "[2000](RC4032:원주문번호가 존재하지 않습니다)")
    if not record.state.is_open:
        raise _Refusal(20, "[2000](RC4033:취소가능수량이 없습니다)")
    leaves = record.leaves_qty
    if cncl and cncl != leaves:
        raise _Refusal(20, "[2000](RC4034:에뮬레이터는 잔량 전부 취소(cncl_qty 0)만 받습니다)")
    number = ord_no(9_000_000 + venue.next_cancel)
    venue.next_cancel += 1
    venue.cancel_numbers[record.order_id] = number
    if not await venue.exchange.cancel(app_key, record):
        raise _Refusal(20, "[2000](RC4033:취소가능수량이 없습니다)")
    return {
        "ord_no": number,
        "base_orig_ord_no": orig,
        "cncl_qty": pad(leaves),
        "dmst_stex_tp": "KRX",
        "return_code": 0,
        "return_msg": "취소주문이 완료되었습니다",
    }


# ── account ───────────────────────────────────────────────────────────────────────────────────────


def _open_orders(
    venue: KiwoomVenue, app_key: str, body: dict[str, Any]
) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    rows = [_open_row(r) for r in reversed(venue.exchange.open_orders(app_key))]  # newest first
    return "oso", rows, {}


def _open_row(r: OrderRecord) -> dict[str, Any]:
    return {
        "acnt_no": "",
        "ord_no": ord_no(r.order_id),
        "stk_cd": r.symbol.partition(":")[2],
        "ord_stt": "접수",
        "ord_qty": pad(r.quantity),
        "ord_pric": pad(r.price or _ZERO),
        "oso_qty": pad(r.leaves_qty),
        "cntr_pric": pad(r.avg_px) if r.filled_qty else "",
        "cntr_qty": pad(r.filled_qty),
        "io_tp_nm": io_name(r.side),
        "trde_tp": _TRDE_NAME[r.order_type],
        "tm": kst_time(r.created_ms),
        "orig_ord_no": "0000000",
        "stex_tp": "1",
        "stex_tp_txt": "KRX",
    }


def _fills(
    venue: KiwoomVenue, app_key: str, body: dict[str, Any]
) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for t in reversed(venue.exchange.trades(app_key)):  # newest first, as Kiwoom lists
        record = venue.exchange.find(app_key, order_id=t.order_id)
        assert record is not None
        rows.append(_fill_row(record, t))
    return "cntr", rows, {}


def _fill_row(r: OrderRecord, t: TradeRecord) -> dict[str, Any]:
    return {
        "ord_no": ord_no(r.order_id),
        "stk_cd": r.symbol.partition(":")[2],
        "io_tp_nm": io_name(r.side),
        "ord_pric": pad(r.price or _ZERO),
        "ord_qty": pad(r.quantity),
        "cntr_pric": pad(t.price),
        "cntr_qty": pad(t.qty),
        "oso_qty": pad(r.quantity - t.cum_qty),
        "tdy_trde_cmsn": exact(t.fee),
        "tdy_trde_tax": "0",  # the simulated fee includes the sell-side tax
        "ord_stt": "체결",
        "trde_tp": _TRDE_NAME[r.order_type],
        "orig_ord_no": "0000000",
        "ord_tm": kst_time(r.created_ms),
        "stex_tp": "1",
        "stex_tp_txt": "KRX",
    }


def _holdings(
    venue: KiwoomVenue, app_key: str, body: dict[str, Any]
) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    exchange = venue.exchange
    rows: list[dict[str, Any]] = []
    balances = exchange.balances(app_key)
    for symbol, spec in sorted(exchange.specs.items()):
        free, locked = balances.get(spec.base, (_ZERO, _ZERO))
        held = free + locked
        if not held:
            continue
        _, avg = exchange.position(app_key, symbol)
        last = exchange.last_quote.get(symbol)
        rows.append(
            {
                "stk_cd": "A" + spec.base,
                "stk_nm": spec.base,
                "rmnd_qty": pad(held),
                "trde_able_qty": pad(free),
                "pur_pric": pad(avg),
                "cur_prc": pad(last.bid, 0, "+") if last is not None else "",
            }
        )
    return "acnt_evlt_remn_indv_tot", rows, {"tot_pur_amt": "", "tot_evlt_amt": ""}


async def _deposit(venue: KiwoomVenue, app_key: str, body: dict[str, Any]) -> dict[str, Any]:
    free, locked = venue.exchange.balances(app_key).get("KRW", (_ZERO, _ZERO))
    return {
        "entr": exact(free + locked),
        "ord_alow_amt": exact(free),
        "d2_entra": exact(free + locked),
        "return_code": 0,
        "return_msg": "조회가 완료되었습니다",
    }
