"""The Bybit v5 emulator driven over the wire: raw aiohttp requests signed by hand and raw WebSockets,
checked against what Bybit documents (envelope, retCodes, headers, stream frames)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
import websockets
from websockets.asyncio.client import ClientConnection, connect

from adapters.bybit.emulator import DEFAULT_SYMBOLS, BybitLimits, serve_bybit
from adapters.bybit.emulator_rest import order_id, parse_order_id
from adapters.bybit.signing import rest_headers, sign_rest, ws_auth_message
from adapters.emulator import EmulatorOptions, RunningEmulator, parse_faults
from engines.model.enums import Side

KEY, SECRET = "vibetrading-test-key", "vibetrading-test-secret"
D = Decimal
LIN, SPOT = "bybit-linear:BTCUSDT", "bybit-spot:BTCUSDT"
TIMEOUT = aiohttp.ClientTimeout(total=2)


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    async with await serve_bybit(EmulatorOptions(walk=False)) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        yield session


def _now() -> int:
    return time.time_ns() // 1_000_000


async def post(
    http: aiohttp.ClientSession, emu: RunningEmulator, path: str, body: dict[str, Any] | str, **kw: Any
) -> tuple[dict[str, Any], aiohttp.ClientResponse]:
    raw = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    headers = rest_headers(kw.get("secret", SECRET), kw.get("key", KEY), kw.get("ts", _now()), 5000, raw)
    async with http.post(emu.http_root + path, data=raw, headers=headers) as resp:
        return await resp.json(content_type=None), resp


async def get(
    http: aiohttp.ClientSession, emu: RunningEmulator, path: str, query: str
) -> tuple[dict[str, Any], aiohttp.ClientResponse]:
    headers = rest_headers(SECRET, KEY, _now(), 5000, query)
    async with http.get(f"{emu.http_root}{path}?{query}", headers=headers) as resp:
        return await resp.json(content_type=None), resp


def limit_order(category: str, side: str, qty: str, price: str, link: str, **extra: str) -> dict[str, Any]:
    return {
        "category": category,
        "symbol": "BTCUSDT",
        "side": side,
        "orderType": "Limit",
        "qty": qty,
        "price": price,
        "orderLinkId": link,
        **extra,
    }


# ── ids and public REST ──


def test_order_ids_are_uuids_that_map_back() -> None:
    text = order_id(42)
    assert len(text) == 36 and text.count("-") == 4
    assert parse_order_id(text) == 42
    assert parse_order_id("5f7e3c1a-0000-4000-8000-00000000002a") is None
    assert parse_order_id("not-a-uuid") is None


async def test_market_endpoints_and_instrument_paging(
    emu: RunningEmulator, http: aiohttp.ClientSession
) -> None:
    assert DEFAULT_SYMBOLS[0] == SPOT
    async with http.get(emu.http_root + "/v5/market/time") as resp:
        body = await resp.json()
    assert body["retCode"] == 0 and abs(int(body["result"]["timeSecond"]) - time.time()) < 5
    async with http.get(emu.http_root + "/v5/market/instruments-info?category=spot&limit=1") as resp:
        first = (await resp.json())["result"]
    assert len(first["list"]) == 1 and first["nextPageCursor"]
    row = first["list"][0]
    assert row["lotSizeFilter"]["basePrecision"] == "0.000001" and row["priceFilter"]["tickSize"] == "0.01"
    assert row["status"] == "Trading"
    url = f"{emu.http_root}/v5/market/instruments-info?category=spot&limit=1&cursor={first['nextPageCursor']}"
    async with http.get(url) as resp:
        second = (await resp.json())["result"]
    assert second["list"][0]["symbol"] != row["symbol"] and second["nextPageCursor"] == ""
    async with http.get(emu.http_root + "/v5/market/instruments-info?category=linear&symbol=BTCUSDT") as resp:
        linear = (await resp.json())["result"]["list"][0]
    assert (
        linear["lotSizeFilter"]["qtyStep"] == "0.001" and linear["lotSizeFilter"]["minNotionalValue"] == "5"
    )
    async with http.get(emu.http_root + "/v5/market/instruments-info?category=option") as resp:
        assert (await resp.json())["retCode"] == 10001
    emu.exchange.quote(LIN, D("43000"), D("43000.1"), D(2), D(3))
    async with http.get(emu.http_root + "/v5/market/orderbook?category=linear&symbol=BTCUSDT") as resp:
        book = (await resp.json())["result"]
    assert book["b"] == [["43000", "2"]] and book["a"] == [["43000.1", "3"]] and book["u"] >= 1
    async with http.get(emu.http_root + "/v5/market/tickers?category=linear&symbol=BTCUSDT") as resp:
        ticker = (await resp.json())["result"]["list"][0]
    assert ticker["bid1Price"] == "43000" and ticker["ask1Price"] == "43000.1"


# ── orders ──


async def test_create_realtime_cancel(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    emu.exchange.quote(SPOT, D("43000"), D("43000.01"))
    body, _ = await post(http, emu, "/v5/order/create", limit_order("spot", "Buy", "0.01", "42000", "rest-1"))
    assert body["retCode"] == 0 and set(body["result"]) == {"orderId", "orderLinkId"}
    oid = body["result"]["orderId"]
    open_, _ = await get(http, emu, "/v5/order/realtime", "category=spot&symbol=BTCUSDT")
    (row,) = open_["result"]["list"]
    assert (row["orderId"], row["orderLinkId"], row["orderStatus"]) == (oid, "rest-1", "New")
    assert row["leavesQty"] == "0.01" and row["cumExecQty"] == "0" and row["timeInForce"] == "GTC"
    body, _ = await post(
        http, emu, "/v5/order/cancel", {"category": "spot", "symbol": "BTCUSDT", "orderId": oid}
    )
    assert body["retCode"] == 0 and body["result"]["orderId"] == oid
    open_, _ = await get(http, emu, "/v5/order/realtime", "category=spot")
    assert open_["result"]["list"] == []
    unscoped, _ = await get(http, emu, "/v5/order/realtime", "category=linear")
    assert unscoped["retCode"] == 10001  # linear needs a symbol, baseCoin or settleCoin
    closed, _ = await get(http, emu, "/v5/order/realtime", "category=spot&orderLinkId=rest-1")
    assert closed["result"]["list"][0]["orderStatus"] == "Cancelled"
    assert closed["result"]["list"][0]["cancelType"] == "CancelByUser"
    again, _ = await post(
        http, emu, "/v5/order/cancel", {"category": "spot", "symbol": "BTCUSDT", "orderId": oid}
    )
    assert again["retCode"] == 170213
    missing, _ = await post(
        http, emu, "/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "nope"}
    )
    assert missing["retCode"] == 110001
    history, _ = await get(http, emu, "/v5/order/history", "category=spot")
    assert [r["orderId"] for r in history["result"]["list"]] == [oid]


async def test_rejects_map_to_bybit_codes(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    emu.exchange.quote(SPOT, D("43000"), D("43000.01"))
    emu.exchange.quote(LIN, D("43000"), D("43000.1"))
    small, _ = await post(http, emu, "/v5/order/create", limit_order("spot", "Buy", "0.00001", "42000", "s1"))
    assert small["retCode"] == 170140
    poor, _ = await post(http, emu, "/v5/order/create", limit_order("spot", "Buy", "100", "42000", "s2"))
    assert poor["retCode"] == 170131
    tiny, _ = await post(http, emu, "/v5/order/create", limit_order("linear", "Buy", "0.0001", "42000", "l1"))
    assert tiny["retCode"] == 10001
    bad, _ = await post(http, emu, "/v5/order/create", limit_order("linear", "Up", "0.01", "42000", "l2"))
    assert bad["retCode"] == 10001
    # a refused create made no order: its orderLinkId is still free
    ok, _ = await post(http, emu, "/v5/order/create", limit_order("spot", "Buy", "0.001", "42000", "s1"))
    assert ok["retCode"] == 0


async def test_duplicate_order_link_id_even_after_the_first_ended(
    emu: RunningEmulator, http: aiohttp.ClientSession
) -> None:
    emu.exchange.quote(LIN, D("43000"), D("43000.1"), D(5), D(5))
    filled, _ = await post(
        http, emu, "/v5/order/create", limit_order("linear", "Buy", "0.01", "43000.1", "dup")
    )
    assert filled["retCode"] == 0
    assert emu.exchange.find(KEY, client_id="dup").state.value == "FILLED"  # type: ignore[union-attr]
    again, _ = await post(http, emu, "/v5/order/create", limit_order("linear", "Buy", "0.01", "42000", "dup"))
    assert again["retCode"] == 110072
    emu.exchange.quote(SPOT, D("43000"), D("43000.01"))
    first, _ = await post(http, emu, "/v5/order/create", limit_order("spot", "Buy", "0.01", "42000", "sdup"))
    await post(
        http, emu, "/v5/order/cancel", {"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "sdup"}
    )
    second, _ = await post(http, emu, "/v5/order/create", limit_order("spot", "Buy", "0.01", "42000", "sdup"))
    assert first["retCode"] == 0 and second["retCode"] == 170141


async def test_post_only_that_would_take_is_acked_then_cancelled(
    emu: RunningEmulator, http: aiohttp.ClientSession
) -> None:
    emu.exchange.quote(LIN, D("43000"), D("43000.1"))
    body, _ = await post(
        http,
        emu,
        "/v5/order/create",
        limit_order("linear", "Buy", "0.01", "43001", "po", timeInForce="PostOnly"),
    )
    assert body["retCode"] == 0
    rows, _ = await get(http, emu, "/v5/order/realtime", "category=linear&orderLinkId=po")
    row = rows["result"]["list"][0]
    assert (row["orderStatus"], row["rejectReason"], row["timeInForce"]) == (
        "Cancelled",
        "EC_PostOnlyWillTakeLiquidity",
        "PostOnly",
    )
    assert emu.exchange.trades(KEY) == []


async def test_spot_market_buy_in_quote_coin(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    emu.exchange.quote(SPOT, D("40000"), D("40000"), D(1), D(1))
    order = {"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "400"}
    body, _ = await post(http, emu, "/v5/order/create", order)
    assert body["retCode"] == 0
    (trade,) = emu.exchange.trades(KEY)
    assert trade.qty == D("0.01")


async def test_execution_list_pages_newest_first(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    emu.exchange.quote(LIN, D("43000"), D("43000.1"), D(5), D(5))
    for i in range(5):
        body, _ = await post(
            http, emu, "/v5/order/create", limit_order("linear", "Buy", "0.001", "43000.1", f"x{i}")
        )
        assert body["retCode"] == 0
    seen: list[str] = []
    pages = 0
    cursor = ""
    while True:
        query = "category=linear&limit=2" + (f"&cursor={cursor}" if cursor else "")
        body, _ = await get(http, emu, "/v5/execution/list", query)
        rows = body["result"]["list"]
        seen += [r["orderLinkId"] for r in rows]
        pages += 1
        cursor = body["result"]["nextPageCursor"]
        if not cursor:
            break
        assert pages < 5
    assert seen == ["x4", "x3", "x2", "x1", "x0"] and pages == 3
    one, _ = await get(http, emu, "/v5/execution/list", "category=linear&orderLinkId=x2")
    (row,) = one["result"]["list"]
    assert row["execQty"] == "0.001" and row["execPrice"] == "43000.1" and row["execType"] == "Trade"
    assert row["isMaker"] is False and D(row["execFee"]) > 0
    future, _ = await get(http, emu, "/v5/execution/list", f"category=linear&startTime={_now() + 60_000}")
    assert future["result"]["list"] == []
    too_many, _ = await get(http, emu, "/v5/execution/list", "category=linear&limit=101")
    assert too_many["retCode"] == 10001


async def test_wallet_and_positions(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    emu.exchange.quote(SPOT, D("43000"), D("43000.01"))
    await post(http, emu, "/v5/order/create", limit_order("spot", "Buy", "0.1", "42000", "w1"))
    body, _ = await get(http, emu, "/v5/account/wallet-balance", "accountType=UNIFIED&coin=USDT")
    (coin,) = body["result"]["list"][0]["coin"]
    assert coin["coin"] == "USDT" and D(coin["locked"]) >= D("4200")
    assert D(coin["walletBalance"]) == D(coin["free"]) + D(coin["locked"])
    wrong, _ = await get(http, emu, "/v5/account/wallet-balance", "accountType=SPOT")
    assert wrong["retCode"] == 10001
    emu.exchange.quote(LIN, D("43000"), D("43000.1"), D(5), D(5))
    await post(http, emu, "/v5/order/create", limit_order("linear", "Sell", "0.02", "43000", "p1"))
    body, _ = await get(http, emu, "/v5/position/list", "category=linear&settleCoin=USDT")
    (pos,) = body["result"]["list"]
    assert (pos["symbol"], pos["side"], pos["size"], pos["avgPrice"]) == ("BTCUSDT", "Sell", "0.02", "43000")


# ── signing ──


async def test_signature_is_over_the_raw_body(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    order = limit_order("spot", "Buy", "0.01", "42000", "sig-a")
    spaced = json.dumps(order)  # pybit's serialisation, with spaces
    assert " " in spaced
    body, _ = await post(http, emu, "/v5/order/create", spaced)
    assert body["retCode"] == 0
    compact = json.dumps({**order, "orderLinkId": "sig-b"}, separators=(",", ":"))
    body, _ = await post(http, emu, "/v5/order/create", compact)
    assert body["retCode"] == 0
    ts = _now()
    signed = json.dumps({**order, "orderLinkId": "sig-c"})
    headers = rest_headers(SECRET, KEY, ts, 5000, signed)
    tampered = signed.replace("0.01", "0.02")
    async with http.post(emu.http_root + "/v5/order/create", data=tampered, headers=headers) as resp:
        answer = await resp.json()
    assert resp.status == 200 and answer["retCode"] == 10004
    query = "category=spot&symbol=BTCUSDT"
    headers = rest_headers(SECRET, KEY, ts, 5000, query)
    async with http.get(emu.http_root + "/v5/order/realtime?category=spot", headers=headers) as resp:
        assert (await resp.json())["retCode"] == 10004
    unknown, _ = await post(http, emu, "/v5/order/create", compact, key="who", secret="x")
    assert unknown["retCode"] == 10003
    headers = {
        "X-BAPI-API-KEY": KEY,
        "X-BAPI-TIMESTAMP": str(ts),
        "X-BAPI-SIGN": sign_rest(SECRET, KEY, ts, 5000, query),
        "X-BAPI-SIGN-TYPE": "2",
    }  # no X-BAPI-RECV-WINDOW: Bybit's default 5000 is signed
    async with http.get(f"{emu.http_root}/v5/order/realtime?{query}", headers=headers) as resp:
        assert (await resp.json())["retCode"] == 0


async def test_receive_window(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    order = limit_order("spot", "Buy", "0.01", "42000", "w")
    late, _ = await post(http, emu, "/v5/order/create", order, ts=_now() - 6_000)
    assert late["retCode"] == 10002 and "recv_window" in late["retMsg"]
    early, _ = await post(http, emu, "/v5/order/create", order, ts=_now() + 1_500)
    assert early["retCode"] == 10002
    fine, _ = await post(http, emu, "/v5/order/create", order, ts=_now() - 4_000)
    assert fine["retCode"] == 0


# ── limits ──


async def test_rate_limit_10006_with_headers() -> None:
    limits = BybitLimits(create_linear=2, window_ms=5_000)
    async with (
        await serve_bybit(EmulatorOptions(walk=False), limits=limits) as emu,
        aiohttp.ClientSession(timeout=TIMEOUT) as http,
    ):
        statuses = []
        for i in range(3):
            body, resp = await post(
                http, emu, "/v5/order/create", limit_order("linear", "Buy", "0.01", "1000", f"r{i}")
            )
            statuses.append(
                (body["retCode"], resp.headers["X-Bapi-Limit"], resp.headers["X-Bapi-Limit-Status"])
            )
            reset_at = int(resp.headers["X-Bapi-Limit-Reset-Timestamp"])
        assert statuses == [(0, "2", "1"), (0, "2", "0"), (10006, "2", "0")]
        assert body["retMsg"] == "Too many visits!"
        assert _now() < reset_at <= _now() + 5_000
        # another category has its own budget
        spot, _ = await post(http, emu, "/v5/order/create", limit_order("spot", "Buy", "0.01", "42000", "rs"))
        assert spot["retCode"] == 0


async def test_ip_limit_403_then_ban() -> None:
    limits = BybitLimits(ip_requests=3, ip_window_ms=5_000, ip_ban_ms=60_000)
    async with (
        await serve_bybit(EmulatorOptions(walk=False), limits=limits) as emu,
        aiohttp.ClientSession(timeout=TIMEOUT) as http,
    ):
        codes = []
        for _ in range(5):
            async with http.get(emu.http_root + "/v5/market/time") as resp:
                codes.append(resp.status)
        assert codes == [200, 200, 200, 403, 403]
        async with http.get(emu.http_root + "/_emulator/state") as resp:
            assert resp.status == 200


# ── faults ──


async def _create_outcomes(spec: str, seed: int, n: int) -> tuple[list[str], dict[str, Any]]:
    options = EmulatorOptions(walk=False, faults=parse_faults(spec), seed=seed, hang_s=5.0)
    outcomes: list[str] = []
    async with await serve_bybit(options) as emu:
        timeout = aiohttp.ClientTimeout(total=0.3)
        for i in range(n):
            order = limit_order("spot", "Buy", "0.01", "1000", f"f{i}")
            raw = json.dumps(order)
            headers = rest_headers(SECRET, KEY, _now(), 5000, raw)
            try:
                async with (
                    aiohttp.ClientSession(timeout=timeout) as http,
                    http.post(emu.http_root + "/v5/order/create", data=raw, headers=headers) as resp,
                ):
                    text = await resp.text()
                    code = json.loads(text)["retCode"] if resp.status == 200 else None
                    outcomes.append(
                        f"{resp.status}:{code}" if code is not None else f"{resp.status}:{text[:5]}"
                    )
            except TimeoutError:
                outcomes.append("timeout")
            except aiohttp.ClientError:
                outcomes.append("dropped")
        state = emu.exchange.state()
    return outcomes, state


async def test_5xx_fault_is_seeded_and_takes_all_three_forms() -> None:
    first, state = await _create_outcomes("5xx=0.5", seed=7, n=12)
    second, _ = await _create_outcomes("5xx=0.5", seed=7, n=12)
    assert first == second
    errors = [o for o in first if o != "200:0"]
    assert {"200:10016", "502:<html", "503:"} <= set(errors)
    # a 5xx answer never processed the create
    assert len(state["accounts"][KEY]["orders"]) == first.count("200:0")
    assert state["faults"]["injected"]["5xx"] == len(errors)


async def test_timeout_reset_and_accept_then_timeout() -> None:
    outcomes, state = await _create_outcomes("timeout=1", seed=1, n=1)
    assert outcomes == ["timeout"] and state["accounts"][KEY]["orders"] == []
    outcomes, state = await _create_outcomes("reset=1", seed=1, n=1)
    assert outcomes == ["dropped"] and state["accounts"][KEY]["orders"] == []
    outcomes, state = await _create_outcomes("accept-then-timeout=1", seed=1, n=1)
    assert outcomes[0] in ("timeout", "dropped")
    (order,) = state["accounts"][KEY]["orders"]
    assert order["client_id"] == "f0" and order["state"] == "NEW"
    mixed_a, _ = await _create_outcomes("timeout=0.3,reset=0.3,accept-then-timeout=0.3", seed=3, n=6)
    mixed_b, _ = await _create_outcomes("timeout=0.3,reset=0.3,accept-then-timeout=0.3", seed=3, n=6)
    assert mixed_a == mixed_b


async def test_delay_before_every_answer() -> None:
    options = EmulatorOptions(walk=False, faults=parse_faults("delay-ms=150"))
    async with await serve_bybit(options) as emu, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        start = time.monotonic()
        async with http.get(emu.http_root + "/v5/market/time") as resp:
            assert resp.status == 200
        assert time.monotonic() - start >= 0.14


# ── streams ──


async def recv(ws: ClientConnection, timeout: float = 1.0) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return data


async def private_ws(emu: RunningEmulator, topics: list[str]) -> ClientConnection:
    ws = await connect(emu.ws_root + "/v5/private", open_timeout=1)
    await ws.send(json.dumps(ws_auth_message(KEY, SECRET, _now() + 5_000)))
    auth = await recv(ws)
    assert auth["op"] == "auth" and auth["success"] is True and auth["conn_id"]
    await ws.send(json.dumps({"op": "subscribe", "req_id": "s1", "args": topics}))
    sub = await recv(ws)
    assert sub["success"] is True and sub["req_id"] == "s1"
    return ws


async def test_private_stream_new_execution_filled(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    ws = await private_ws(emu, ["order", "execution", "wallet"])
    try:
        await ws.send(json.dumps({"op": "ping", "req_id": "p"}))
        pong = await recv(ws)
        assert pong["op"] == "pong" and pong["req_id"] == "p" and pong["args"]
        emu.exchange.quote(SPOT, D("43000"), D("43000.01"), D(1), D(1))
        body, _ = await post(
            http, emu, "/v5/order/create", limit_order("spot", "Buy", "0.02", "42999", "ws-1")
        )
        oid = body["result"]["orderId"]
        new = await recv(ws)
        assert new["topic"] == "order" and new["data"][0]["orderStatus"] == "New"
        assert new["data"][0]["orderId"] == oid and new["data"][0]["category"] == "spot"
        emu.exchange.quote(SPOT, D("42990"), D("42999"), D(1), D("0.005"))
        execution = await recv(ws)
        assert execution["topic"] == "execution"
        fill = execution["data"][0]
        assert (fill["orderId"], fill["orderLinkId"], fill["execQty"]) == (oid, "ws-1", "0.005")
        assert fill["leavesQty"] == "0.015" and fill["isMaker"] is True
        assert fill["feeCurrency"] == emu.exchange.trades(KEY)[0].fee_asset
        partial = await recv(ws)
        assert partial["data"][0]["orderStatus"] == "PartiallyFilled"
        assert partial["data"][0]["cumExecQty"] == "0.005"
        wallet = await recv(ws)
        assert wallet["topic"] == "wallet" and wallet["data"][0]["accountType"] == "UNIFIED"
        emu.exchange.quote(SPOT, D("42990"), D("42999"), D(1), D(1))
        assert (await recv(ws))["topic"] == "execution"
        filled = await recv(ws)
        assert filled["data"][0]["orderStatus"] == "Filled" and filled["data"][0]["cumExecQty"] == "0.02"
        assert filled["data"][0]["avgPrice"] == "42999" and filled["data"][0]["leavesQty"] == "0"
    finally:
        await ws.close()


async def test_private_auth_failures(emu: RunningEmulator) -> None:
    async with connect(emu.ws_root + "/v5/private", open_timeout=1) as ws:
        await ws.send(json.dumps({"op": "subscribe", "args": ["order"]}))
        assert (await recv(ws))["success"] is False
        await ws.send(json.dumps(ws_auth_message(KEY, SECRET, _now() - 1_000)))
        expired = await recv(ws)
        assert expired["op"] == "auth" and expired["success"] is False
        await ws.send(json.dumps(ws_auth_message(KEY, "wrong", _now() + 5_000)))
        assert (await recv(ws))["success"] is False
        await ws.send(json.dumps(ws_auth_message(KEY, SECRET, _now() + 5_000)))
        assert (await recv(ws))["success"] is True


async def _stream_with_fault(spec: str) -> list[dict[str, Any]]:
    options = EmulatorOptions(walk=False, faults=parse_faults(spec), seed=5)
    async with await serve_bybit(options) as emu, aiohttp.ClientSession(timeout=TIMEOUT) as http:
        ws = await private_ws(emu, ["order", "execution"])
        emu.exchange.quote(LIN, D("43000"), D("43000.1"), D(5), D(5))
        await post(http, emu, "/v5/order/create", limit_order("linear", "Buy", "0.01", "43000.1", "flt"))
        frames: list[dict[str, Any]] = []
        try:
            while True:
                frames.append(await recv(ws, 0.3))
        except (TimeoutError, websockets.ConnectionClosed):
            pass
        await ws.close()
        return frames


def _kinds(frames: list[dict[str, Any]]) -> list[str]:
    return [f"{f['topic']}:{f['data'][0].get('orderStatus', '')}" for f in frames]


async def test_stream_faults() -> None:
    assert _kinds(await _stream_with_fault("")) == ["order:New", "execution:", "order:Filled"]
    assert _kinds(await _stream_with_fault("out-of-order=1")) == ["execution:", "order:New", "order:Filled"]
    dup = await _stream_with_fault("dup-fill=1")
    assert _kinds(dup) == ["order:New", "execution:", "execution:", "order:Filled"]
    assert dup[1]["data"][0]["execId"] == dup[2]["data"][0]["execId"]
    assert await _stream_with_fault("drop-ws=1") == []


async def test_public_orderbook_snapshot_delta_and_trades(emu: RunningEmulator) -> None:
    emu.exchange.quote(LIN, D("43000"), D("43000.1"), D(1), D(2))
    async with connect(emu.ws_root + "/v5/public/linear", open_timeout=1) as ws:
        topics = ["orderbook.1.BTCUSDT", "publicTrade.BTCUSDT"]
        await ws.send(json.dumps({"op": "subscribe", "req_id": "r1", "args": topics}))
        ack = await recv(ws)
        assert ack == {
            "success": True,
            "ret_msg": "",
            "conn_id": ack["conn_id"],
            "req_id": "r1",
            "op": "subscribe",
        }
        snap = await recv(ws)
        assert snap["topic"] == "orderbook.1.BTCUSDT" and snap["type"] == "snapshot"
        assert snap["data"]["b"] == [["43000", "1"]] and snap["data"]["a"] == [["43000.1", "2"]]
        emu.exchange.quote(LIN, D("43000.5"), D("43000.6"), D(3), D(2))
        delta = await recv(ws)
        assert delta["type"] == "delta"
        assert delta["data"]["b"] == [["43000", "0"], ["43000.5", "3"]]
        assert delta["data"]["u"] == snap["data"]["u"] + 1 and delta["data"]["seq"] > snap["data"]["seq"]
        emu.exchange.trade(LIN, D("43000.6"), D("0.5"), Side.BUY)
        trade = await recv(ws)
        assert trade["topic"] == "publicTrade.BTCUSDT"
        (t,) = trade["data"]
        assert (t["s"], t["S"], t["v"], t["p"], t["BT"]) == ("BTCUSDT", "Buy", "0.5", "43000.6", False)
        await ws.send(json.dumps({"op": "subscribe", "req_id": "r2", "args": ["orderbook.1.BTCUSDT"]}))
        twice = await recv(ws)
        assert twice["success"] is False and "already subscribed" in twice["ret_msg"]
        await ws.send(json.dumps({"op": "ping", "req_id": "pp"}))
        pong = await recv(ws)
        assert pong["op"] == "ping" and pong["ret_msg"] == "pong" and pong["success"] is True
        # unknown topics are refused; tickers come as snapshots on spot
        async with connect(emu.ws_root + "/v5/public/spot", open_timeout=1) as spot:
            await spot.send(json.dumps({"op": "subscribe", "args": ["orderbook.50.BTCUSDT"]}))
            assert (await recv(spot))["success"] is False
            await spot.send(json.dumps({"op": "subscribe", "args": ["tickers.BTCUSDT"]}))
            assert (await recv(spot))["success"] is True
            emu.exchange.quote(LIN, D("43001"), D("43001.1"))  # another category: not on this socket
            emu.exchange.quote(SPOT, D("43000"), D("43000.01"), D(1), D(2))
            ticker = await recv(spot)
            assert ticker["topic"] == "tickers.BTCUSDT" and ticker["type"] == "snapshot"
            assert ticker["data"]["bid1Price"] == "43000" and ticker["data"]["ask1Size"] == "2"


async def test_emulator_state(emu: RunningEmulator, http: aiohttp.ClientSession) -> None:
    emu.exchange.quote(SPOT, D("43000"), D("43000.01"))
    await post(http, emu, "/v5/order/create", limit_order("spot", "Buy", "0.01", "42000", "st"))
    async with http.get(emu.http_root + "/_emulator/state") as resp:
        state = await resp.json()
    assert state["venue"] == "bybit"
    (order,) = state["accounts"][KEY]["orders"]
    assert order["client_id"] == "st" and order["symbol"] == SPOT
