"""The Binance emulator driven with raw aiohttp and websockets: requests signed with
adapters/binance/signing.py, answers read as plain JSON (no client code of ours involved)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
import websockets

from adapters.binance.emulator import DEFAULT_SYMBOLS, BinanceLimits, serve_binance
from adapters.binance.signing import sign, signed_params, verify
from adapters.emulator import TEST_KEYS, EmulatorOptions, RunningEmulator, parse_faults

KEY, SECRET = next(iter(TEST_KEYS.items()))
D = Decimal
TIMEOUT = aiohttp.ClientTimeout(total=2.0)


class Api:
    """A raw signed client over aiohttp."""

    def __init__(self, emu: RunningEmulator, session: aiohttp.ClientSession) -> None:
        self.emu = emu
        self.session = session

    async def call(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str | int]] | None = None,
        *,
        signed: bool = True,
        key: str | None = KEY,
        secret: str = SECRET,
        ts: int | None = None,
        recv_window: int | None = 5000,
        in_body: bool | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        items = list(params or [])
        if signed:
            query = signed_params(
                items, secret=secret, timestamp_ms=ts or int(time.time() * 1000), recv_window_ms=recv_window
            )
        else:
            query = "&".join(f"{k}={v}" for k, v in items)
        headers = {"X-MBX-APIKEY": key} if key is not None else {}
        body_mode = in_body if in_body is not None else method in ("POST", "PUT")
        url = f"{self.emu.http_root}{path}"
        kwargs: dict[str, Any] = {"headers": headers}
        if body_mode:
            kwargs["data"] = query.encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif query:
            url = f"{url}?{query}"
        async with self.session.request(method, url, **kwargs) as resp:
            return resp.status, await resp.json(content_type=None), dict(resp.headers)

    async def ok(
        self, method: str, path: str, params: list[tuple[str, str | int]] | None = None, **kw: Any
    ) -> Any:
        status, body, _ = await self.call(method, path, params, **kw)
        assert status == 200, body
        return body


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    async with await serve_binance(EmulatorOptions(walk=False)) as running:
        yield running


@pytest.fixture
async def api(emu: RunningEmulator) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        yield Api(emu, session)


def quote(emu: RunningEmulator, symbol: str, bid: str, ask: str, size: str = "5") -> None:
    emu.exchange.quote(symbol, D(bid), D(ask), D(size), D(size))


def limit(
    symbol: str, side: str, qty: str, price: str, cid: str, **extra: str
) -> list[tuple[str, str | int]]:
    params: list[tuple[str, str | int]] = [
        ("symbol", symbol),
        ("side", side),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", qty),
        ("price", price),
        ("newClientOrderId", cid),
    ]
    params = [(k, extra.pop(k) if k in extra else v) for k, v in params]
    params.extend(extra.items())
    return params


# ── public endpoints ──


async def test_public_endpoints(emu: RunningEmulator, api: Api) -> None:
    assert await api.ok("GET", "/api/v3/ping", signed=False, key=None) == {}
    server = (await api.ok("GET", "/api/v3/time", signed=False, key=None))["serverTime"]
    assert abs(server - time.time() * 1000) < 2000
    info = await api.ok("GET", "/api/v3/exchangeInfo", signed=False, key=None)
    btc = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert btc["status"] == "TRADING" and btc["baseAsset"] == "BTC" and btc["quoteAsset"] == "USDT"
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
    assert filters["NOTIONAL"]["minNotional"] == "5.00000000"
    finfo = await api.ok("GET", "/fapi/v1/exchangeInfo", signed=False, key=None)
    fbtc = next(s for s in finfo["symbols"] if s["symbol"] == "BTCUSDT")
    ffilters = {f["filterType"]: f for f in fbtc["filters"]}
    assert ffilters["MIN_NOTIONAL"]["notional"] == "100"
    assert fbtc["pricePrecision"] == 1 and fbtc["quantityPrecision"] == 3
    quote(emu, "binance-spot:BTCUSDT", "43000.00", "43000.01")
    book = await api.ok("GET", "/api/v3/ticker/bookTicker", [("symbol", "BTCUSDT")], signed=False, key=None)
    assert book == {
        "symbol": "BTCUSDT",
        "bidPrice": "43000.00000000",
        "bidQty": "5.00000000",
        "askPrice": "43000.01000000",
        "askQty": "5.00000000",
    }
    depth = await api.ok("GET", "/api/v3/depth", [("symbol", "BTCUSDT")], signed=False, key=None)
    assert depth["bids"] == [["43000.00000000", "5.00000000"]]
    status, body, _ = await api.call("GET", "/api/v3/depth", [("symbol", "NOPE")], signed=False, key=None)
    assert (status, body["code"]) == (400, -1121)
    assert DEFAULT_SYMBOLS == (
        "binance-spot:BTCUSDT",
        "binance-spot:ETHUSDT",
        "binance-usdm:BTCUSDT",
        "binance-usdm:ETHUSDT",
    )


# ── orders ──


async def test_spot_create_query_cancel_list(emu: RunningEmulator, api: Api) -> None:
    quote(emu, "binance-spot:BTCUSDT", "43000.00", "43000.01")
    placed = await api.ok("POST", "/api/v3/order", limit("BTCUSDT", "BUY", "0.001", "42000.00", "rest-1"))
    assert placed["status"] == "NEW" and placed["clientOrderId"] == "rest-1" and placed["fills"] == []
    assert placed["executedQty"] == "0.00000000" and placed["origQty"] == "0.00100000"
    order_id = placed["orderId"]
    by_id = await api.ok("GET", "/api/v3/order", [("symbol", "BTCUSDT"), ("orderId", order_id)])
    by_cid = await api.ok("GET", "/api/v3/order", [("symbol", "BTCUSDT"), ("origClientOrderId", "rest-1")])
    assert by_id == by_cid and by_id["status"] == "NEW" and by_id["isWorking"] is True
    opened = await api.ok("GET", "/api/v3/openOrders", [("symbol", "BTCUSDT")])
    assert [o["orderId"] for o in opened] == [order_id]
    account = await api.ok("GET", "/api/v3/account")
    usdt = next(b for b in account["balances"] if b["asset"] == "USDT")
    assert D(usdt["locked"]) >= D("42")  # the working buy holds its cost
    canceled = await api.ok(
        "DELETE",
        "/api/v3/order",
        [("symbol", "BTCUSDT"), ("orderId", order_id), ("newClientOrderId", "cx-1")],
    )
    assert canceled["status"] == "CANCELED" and canceled["origClientOrderId"] == "rest-1"
    assert canceled["clientOrderId"] == "cx-1"
    status, body, _ = await api.call(
        "DELETE", "/api/v3/order", [("symbol", "BTCUSDT"), ("orderId", order_id)]
    )
    assert (status, body) == (400, {"code": -2011, "msg": "Unknown order sent."})
    status, body, _ = await api.call("GET", "/api/v3/order", [("symbol", "BTCUSDT"), ("orderId", 999)])
    assert (status, body) == (400, {"code": -2013, "msg": "Order does not exist."})
    assert await api.ok("GET", "/api/v3/openOrders", [("symbol", "BTCUSDT")]) == []
    everything = await api.ok("GET", "/api/v3/allOrders", [("symbol", "BTCUSDT")])
    assert [o["status"] for o in everything] == ["CANCELED"]


async def test_spot_full_response_fills_and_trades(emu: RunningEmulator, api: Api) -> None:
    quote(emu, "binance-spot:BTCUSDT", "43000.00", "43000.01")
    placed = await api.ok(
        "POST",
        "/api/v3/order",
        [
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "0.002"),
            ("newClientOrderId", "mk-1"),
        ],
    )
    assert placed["status"] == "FILLED" and placed["type"] == "MARKET"
    assert placed["executedQty"] == "0.00200000"
    assert D(placed["cummulativeQuoteQty"]) == D("0.002") * D("43000.01")
    [fill] = placed["fills"]
    assert fill["price"] == "43000.01000000" and fill["qty"] == "0.00200000" and fill["tradeId"] >= 1
    trades = await api.ok("GET", "/api/v3/myTrades", [("symbol", "BTCUSDT")])
    assert [t["id"] for t in trades] == [fill["tradeId"]]
    assert trades[0]["isBuyer"] is True and trades[0]["orderId"] == placed["orderId"]
    assert (
        await api.ok("GET", "/api/v3/myTrades", [("symbol", "BTCUSDT"), ("fromId", fill["tradeId"] + 1)])
        == []
    )
    ack = await api.ok(
        "POST",
        "/api/v3/order",
        limit("BTCUSDT", "SELL", "0.001", "44000.00", "ack-1", newOrderRespType="ACK"),
    )
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}


async def test_spot_quote_order_qty_ioc_and_cancel_all(emu: RunningEmulator, api: Api) -> None:
    quote(emu, "binance-spot:BTCUSDT", "43000.00", "43000.01")
    by_quote = await api.ok(
        "POST",
        "/api/v3/order",
        [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET"), ("quoteOrderQty", "43.00002")],
    )
    assert by_quote["executedQty"] == "0.00100000" and by_quote["origQuoteOrderQty"] == "43.00002000"
    ioc = await api.ok(
        "POST", "/api/v3/order", limit("BTCUSDT", "BUY", "0.001", "42000.00", "ioc-1", timeInForce="IOC")
    )
    assert ioc["status"] == "EXPIRED" and ioc["timeInForce"] == "IOC"
    for i in range(2):
        await api.ok("POST", "/api/v3/order", limit("BTCUSDT", "SELL", "0.001", "45000.00", f"all-{i}"))
    status, opened, headers = await api.call("GET", "/api/v3/openOrders")
    assert status == 200 and len(opened) == 2
    assert headers["X-MBX-USED-WEIGHT-1M"] == str(4 + 80)  # four orders (weight 1), then this
    canceled = await api.ok("DELETE", "/api/v3/openOrders", [("symbol", "BTCUSDT")])
    assert sorted(c["origClientOrderId"] for c in canceled) == ["all-0", "all-1"]
    assert {c["status"] for c in canceled} == {"CANCELED"}
    status, body, _ = await api.call("DELETE", "/api/v3/openOrders", [("symbol", "BTCUSDT")])
    assert body["code"] == -2011


async def test_spot_rejections(emu: RunningEmulator, api: Api) -> None:
    quote(emu, "binance-spot:BTCUSDT", "43000.00", "43000.01")
    cases: list[tuple[list[tuple[str, str | int]], int, str]] = [
        (limit("BTCUSDT", "BUY", "0.001", "42000.000000001", "t1"), -1111, "precision"),
        (limit("BTCUSDT", "BUY", "0.001", "42000.005", "t2"), -1013, "Filter failure: PRICE_FILTER"),
        (limit("BTCUSDT", "BUY", "0.000015", "42000.00", "t3"), -1013, "Filter failure: LOT_SIZE"),
        (limit("BTCUSDT", "BUY", "0.0001", "42000.00", "t4"), -1013, "Filter failure: NOTIONAL"),
        (limit("BTCUSDT", "BUY", "10", "42000.00", "t5"), -2010, "insufficient balance"),
        (limit("XXXUSDT", "BUY", "1", "1", "t6"), -1121, "Invalid symbol."),
        ([("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "LIMIT")], -1102, "timeInForce"),
        (
            [
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "LIMIT_MAKER"),
                ("quantity", "0.001"),
                ("price", "43000.01"),
            ],
            -2010,
            "immediately match",
        ),
    ]
    for params, code, words in cases:
        status, body, _ = await api.call("POST", "/api/v3/order", params)
        assert status == 400 and body["code"] == code and words in body["msg"], (params, body)
    # refused orders do not exist
    assert await api.ok("GET", "/api/v3/allOrders", [("symbol", "BTCUSDT")]) == []
    status, body, _ = await api.call(
        "GET", "/api/v3/order", [("symbol", "BTCUSDT"), ("origClientOrderId", "t5")]
    )
    assert body["code"] == -2013


async def test_duplicate_client_id_spot_then_reuse_after_fill(emu: RunningEmulator, api: Api) -> None:
    quote(emu, "binance-spot:BTCUSDT", "43000.00", "43000.01")
    first = await api.ok("POST", "/api/v3/order", limit("BTCUSDT", "BUY", "0.001", "42990.00", "dup-1"))
    status, body, _ = await api.call(
        "POST", "/api/v3/order", limit("BTCUSDT", "BUY", "0.001", "42990.00", "dup-1")
    )
    assert (status, body) == (400, {"code": -2010, "msg": "Duplicate order sent."})
    quote(emu, "binance-spot:BTCUSDT", "42980.00", "42985.00")  # the ask crosses the resting buy: it fills
    filled = await api.ok("GET", "/api/v3/order", [("symbol", "BTCUSDT"), ("orderId", first["orderId"])])
    assert filled["status"] == "FILLED"
    again = await api.ok("POST", "/api/v3/order", limit("BTCUSDT", "BUY", "0.001", "42000.00", "dup-1"))
    assert again["orderId"] != first["orderId"] and again["status"] == "NEW"
    latest = await api.ok("GET", "/api/v3/order", [("symbol", "BTCUSDT"), ("origClientOrderId", "dup-1")])
    assert latest["orderId"] == again["orderId"]


async def test_futures_orders_duplicate_and_account(emu: RunningEmulator, api: Api) -> None:
    quote(emu, "binance-usdm:BTCUSDT", "43000.0", "43000.1")
    params = limit("BTCUSDT", "BUY", "0.010", "42000.0", "f-1", newOrderRespType="RESULT")
    placed = await api.ok("POST", "/fapi/v1/order", params)
    assert placed["status"] == "NEW" and placed["positionSide"] == "BOTH" and placed["avgPrice"] == "0"
    status, body, _ = await api.call("POST", "/fapi/v1/order", params)
    assert (status, body) == (400, {"code": -4116, "msg": "ClientOrderId is duplicated."})
    status, body, _ = await api.call(
        "POST", "/fapi/v1/order", limit("BTCUSDT", "BUY", "0.001", "42000.0", "f-2")
    )
    assert (status, body["code"]) == (400, -4164)
    market = await api.ok(
        "POST",
        "/fapi/v1/order",
        [
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "0.005"),
            ("newOrderRespType", "RESULT"),
        ],
    )
    assert (
        market["status"] == "FILLED" and market["avgPrice"] == "43000.1" and market["cumQuote"] == "215.0005"
    )
    trades = await api.ok("GET", "/fapi/v1/userTrades", [("symbol", "BTCUSDT")])
    assert len(trades) == 1 and trades[0]["side"] == "BUY" and trades[0]["qty"] == "0.005"
    risk = await api.ok("GET", "/fapi/v2/positionRisk", [("symbol", "BTCUSDT")])
    assert risk[0]["positionAmt"] == "0.005" and risk[0]["entryPrice"] == "43000.1"
    balance = await api.ok("GET", "/fapi/v2/balance")
    assert [b["asset"] for b in balance] == ["USDT"]
    account = await api.ok("GET", "/fapi/v2/account")
    assert any(p["symbol"] == "BTCUSDT" and p["positionAmt"] == "0.005" for p in account["positions"])
    assert await api.ok("POST", "/fapi/v1/leverage", [("symbol", "BTCUSDT"), ("leverage", 5)]) == {
        "leverage": 5,
        "maxNotionalValue": "250000",
        "symbol": "BTCUSDT",
    }
    assert await api.ok("GET", "/fapi/v1/positionSide/dual") == {"dualSidePosition": False}
    canceled = await api.ok("DELETE", "/fapi/v1/order", [("symbol", "BTCUSDT"), ("origClientOrderId", "f-1")])
    assert canceled["status"] == "CANCELED" and canceled["clientOrderId"] == "f-1"
    # the id is free again once its order ended
    again = await api.ok("POST", "/fapi/v1/order", params)
    assert again["orderId"] != placed["orderId"]
    # a spot order is not a futures order
    status, body, _ = await api.call(
        "GET", "/api/v3/order", [("symbol", "BTCUSDT"), ("orderId", again["orderId"])]
    )
    assert body["code"] == -2013


# ── authentication ──


async def test_signature_is_checked_on_the_raw_bytes(emu: RunningEmulator, api: Api) -> None:
    quote(emu, "binance-spot:BTCUSDT", "43000.00", "43000.01")
    ts = int(time.time() * 1000)
    payload = (
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=42000.00"
        f"&recvWindow=5000&timestamp={ts}"
    )
    signature = sign(SECRET, payload)
    headers = {"X-MBX-APIKEY": KEY, "Content-Type": "application/x-www-form-urlencoded"}
    url = f"{emu.http_root}/api/v3/order"
    # the same parameters, encoded differently (price=42000.0): the bytes differ, so the signature fails
    changed = payload.replace("price=42000.00", "price=42000.0") + f"&signature={signature}"
    async with api.session.post(url, data=changed.encode(), headers=headers) as resp:
        assert resp.status == 400 and await resp.json() == {
            "code": -1022,
            "msg": "Signature for this request is not valid.",
        }
    # split between query string and body: signed as query + body with no separator
    query, _, body = payload.partition("&timeInForce")
    body = "timeInForce" + body
    mixed_sig = sign(SECRET, query + body)
    async with api.session.post(
        f"{url}?{query}", data=f"{body}&signature={mixed_sig}".encode(), headers=headers
    ) as resp:
        assert resp.status == 200, await resp.text()


_VECTOR_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
_VECTOR = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    "&recvWindow=5000&timestamp=1499827319559"
)
_VECTOR_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


async def test_documented_vector_passes_the_signature_check() -> None:
    """rest-api.md's example, sent as is: the signature passes (the answer is the timestamp's -1021,
    which is checked after it); one changed byte fails it with -1022."""
    assert verify(_VECTOR_SECRET, _VECTOR.encode(), _VECTOR_SIGNATURE)
    options = EmulatorOptions(walk=False, keys={"vector-key": _VECTOR_SECRET})
    headers = {"X-MBX-APIKEY": "vector-key", "Content-Type": "application/x-www-form-urlencoded"}
    async with await serve_binance(options) as emu, aiohttp.ClientSession(timeout=TIMEOUT) as session:
        url = f"{emu.http_root}/api/v3/order"
        async with session.post(
            url, data=f"{_VECTOR}&signature={_VECTOR_SIGNATURE}".encode(), headers=headers
        ) as r:
            assert (r.status, (await r.json())["code"]) == (400, -1021)
        tampered = _VECTOR.replace("quantity=1", "quantity=2")
        async with session.post(
            url, data=f"{tampered}&signature={_VECTOR_SIGNATURE}".encode(), headers=headers
        ) as r:
            assert (r.status, (await r.json())["code"]) == (400, -1022)


async def test_keys_and_timestamps(api: Api) -> None:
    status, body, _ = await api.call("GET", "/api/v3/account", key=None)
    assert (status, body["code"]) == (401, -2015)
    status, body, _ = await api.call("GET", "/api/v3/account", key="someone-else")
    assert (status, body["code"]) == (401, -2015)
    status, body, _ = await api.call("GET", "/api/v3/account", key="bad key!")
    assert (status, body["code"]) == (401, -2014)
    status, body, _ = await api.call("GET", "/api/v3/account", secret="wrong")
    assert (status, body["code"]) == (400, -1022)
    now = int(time.time() * 1000)
    status, body, _ = await api.call("GET", "/api/v3/account", ts=now - 6000)
    assert (status, body["code"]) == (400, -1021)
    status, body, _ = await api.call("GET", "/api/v3/account", ts=now + 1500)
    assert (status, body["code"]) == (400, -1021)
    status, _, _ = await api.call("GET", "/api/v3/account", ts=now - 6000, recv_window=10_000)
    assert status == 200
    status, body, _ = await api.call("GET", "/api/v3/account", recv_window=70_000)
    assert (status, body["code"]) == (400, -1131)
    status, body, _ = await api.call("GET", "/api/v3/account", signed=False)
    assert (status, body["code"]) == (400, -1102)


# ── rate limits ──


async def test_rate_limit_429_then_418_ban() -> None:
    limits = BinanceLimits(spot_weight=10, strikes_before_ban=3, ban_s=30)
    async with (
        await serve_binance(EmulatorOptions(walk=False), limits=limits) as emu,
        aiohttp.ClientSession(timeout=TIMEOUT) as session,
    ):
        url = f"{emu.http_root}/api/v3/ping"
        seen = []
        for _ in range(10):
            async with session.get(url) as resp:
                seen.append(
                    (
                        resp.status,
                        resp.headers.get("X-MBX-USED-WEIGHT-1M"),
                        resp.headers.get("Retry-After"),
                    )
                )
                body = await resp.json()
        assert [s for s, _, _ in seen] == [200] * 10
        assert seen[-1][1] == "10"
        statuses = []
        for _ in range(4):
            async with session.get(url) as resp:
                statuses.append(resp.status)
                body = await resp.json()
                if resp.status == 429:
                    assert body["code"] == -1003 and "Too many requests" in body["msg"]
                    assert int(resp.headers["Retry-After"]) > 0
        assert statuses == [429, 429, 429, 418]
        assert body["code"] == -1003 and "banned until" in body["msg"] and "IP(127.0.0.1)" in body["msg"]
        until = int(body["msg"].split("banned until ")[1].split(".")[0])
        assert until > time.time() * 1000 + 20_000
        # the futures market counts on its own
        async with session.get(f"{emu.http_root}/fapi/v1/ping") as resp:
            assert resp.status == 200


async def test_order_count_limit() -> None:
    limits = BinanceLimits(spot_orders=2)
    async with (
        await serve_binance(EmulatorOptions(walk=False), limits=limits) as emu,
        aiohttp.ClientSession(timeout=TIMEOUT) as session,
    ):
        api = Api(emu, session)
        counts = []
        for i in range(3):
            status, body, headers = await api.call(
                "POST", "/api/v3/order", limit("BTCUSDT", "BUY", "0.001", "40000.00", f"oc-{i}")
            )
            counts.append((status, headers.get("X-MBX-ORDER-COUNT-10S")))
        assert counts == [(200, "1"), (200, "2"), (429, "3")]
        assert body["code"] == -1015


# ── faults ──


async def _fault_outcomes(spec: str, seed: int, n: int = 8) -> list[str]:
    options = EmulatorOptions(walk=False, faults=parse_faults(spec), seed=seed, hang_s=0.1)
    outcomes = []
    async with (
        await serve_binance(options) as emu,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1.0)) as session,
    ):
        api = Api(emu, session)
        for i in range(n):
            try:
                status, body, _ = await api.call(
                    "POST", "/api/v3/order", limit("BTCUSDT", "BUY", "0.001", "40000.00", f"fault-{i}")
                )
                outcomes.append(f"{status}:{body.get('code', 'ok')}")
            except (aiohttp.ClientError, TimeoutError) as exc:
                outcomes.append(type(exc).__name__)
        live = {o["client_id"] for o in emu.exchange.state()["accounts"][KEY]["orders"]}
        outcomes.append(",".join(sorted(live)))
    return outcomes


@pytest.mark.parametrize(
    "spec",
    ["5xx=0.4", "timeout=0.3", "accept-then-timeout=0.3", "reset=0.3"],
)
async def test_faults_are_deterministic(spec: str) -> None:
    first = await _fault_outcomes(spec, seed=7)
    again = await _fault_outcomes(spec, seed=7)
    assert first == again
    requests = first[:-1]
    assert "200:ok" in requests
    assert any(o != "200:ok" for o in requests), requests
    live = set(first[-1].split(","))
    for i, outcome in enumerate(requests):
        if spec.startswith("accept-then-timeout") and outcome != "200:ok":
            assert f"fault-{i}" in live  # processed, then no answer: the order is live
        if spec.startswith(("5xx", "timeout", "reset")) and outcome != "200:ok":
            assert f"fault-{i}" not in live  # never processed
    if spec.startswith("5xx"):
        assert {"503:-1001", "408:-1007"} <= set(requests)


# ── streams ──


async def _recv(ws: websockets.ClientConnection, timeout: float = 1.0) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def _recv_event(ws: websockets.ClientConnection, kind: str) -> dict[str, Any]:
    for _ in range(10):
        msg = await _recv(ws)
        event = msg.get("event", msg)
        if event.get("e") == kind:
            return event  # type: ignore[no-any-return]
    raise AssertionError(f"no {kind}")


async def test_spot_user_stream_via_ws_api(emu: RunningEmulator, api: Api) -> None:
    quote(emu, "binance-spot:BTCUSDT", "43000.00", "43000.01")
    async with websockets.connect(f"{emu.ws_root}/ws-api/v3") as ws:
        params = {"apiKey": KEY, "timestamp": int(time.time() * 1000)}
        payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        bad = {
            "id": "x",
            "method": "userDataStream.subscribe.signature",
            "params": {**params, "signature": "0" * 64},
        }
        await ws.send(json.dumps(bad))
        assert (await _recv(ws))["error"]["code"] == -1022
        request = {
            "id": "s1",
            "method": "userDataStream.subscribe.signature",
            "params": {**params, "signature": sign(SECRET, payload)},
        }
        await ws.send(json.dumps(request))
        assert await _recv(ws) == {"id": "s1", "status": 200, "result": {"subscriptionId": 0}}
        placed = await api.ok("POST", "/api/v3/order", limit("BTCUSDT", "BUY", "0.003", "43000.00", "ws-1"))
        new = await _recv_event(ws, "executionReport")
        assert (new["x"], new["X"], new["c"], new["i"], new["t"]) == (
            "NEW",
            "NEW",
            "ws-1",
            placed["orderId"],
            -1,
        )
        emu.exchange.quote("binance-spot:BTCUSDT", D("42999.00"), D("43000.00"), D(1), D("0.001"))
        first = await _recv_event(ws, "executionReport")
        assert (first["x"], first["X"], first["l"], first["z"]) == (
            "TRADE",
            "PARTIALLY_FILLED",
            "0.00100000",
            "0.00100000",
        )
        position = await _recv_event(ws, "outboundAccountPosition")
        assert {b["a"] for b in position["B"]} == {"BTC", "USDT"}
        emu.exchange.quote("binance-spot:BTCUSDT", D("42998.00"), D("42999.00"), D(1), D(1))
        second = await _recv_event(ws, "executionReport")
        assert (second["x"], second["X"], second["z"]) == ("TRADE", "FILLED", "0.00300000")
        assert second["t"] > first["t"]


async def test_spot_cancel_event_and_listen_key_stream(emu: RunningEmulator, api: Api) -> None:
    key = (await api.ok("POST", "/api/v3/userDataStream", signed=False))["listenKey"]
    assert (await api.ok("POST", "/api/v3/userDataStream", signed=False))["listenKey"] == key
    assert await api.ok("PUT", "/api/v3/userDataStream", [("listenKey", key)], signed=False) == {}
    async with websockets.connect(f"{emu.ws_root}/ws/{key}") as ws:
        await api.ok("POST", "/api/v3/order", limit("BTCUSDT", "SELL", "0.001", "45000.00", "lk-1"))
        assert (await _recv_event(ws, "executionReport"))["x"] == "NEW"
        await api.ok(
            "DELETE",
            "/api/v3/order",
            [("symbol", "BTCUSDT"), ("origClientOrderId", "lk-1"), ("newClientOrderId", "my-cancel")],
        )
        canceled = await _recv_event(ws, "executionReport")
        assert (canceled["x"], canceled["c"], canceled["C"]) == ("CANCELED", "my-cancel", "lk-1")
    _status, body, _ = await api.call("PUT", "/api/v3/userDataStream", [("listenKey", "nope")], signed=False)
    assert body["code"] == -1125


async def test_futures_user_stream_and_listen_key_expiry() -> None:
    limits = BinanceLimits(listen_key_ttl_s=0.5, listen_key_sweep_s=0.05)
    async with (
        await serve_binance(EmulatorOptions(walk=False), limits=limits) as emu,
        aiohttp.ClientSession(timeout=TIMEOUT) as session,
    ):
        api = Api(emu, session)
        quote(emu, "binance-usdm:BTCUSDT", "43000.0", "43000.1")
        key = (await api.ok("POST", "/fapi/v1/listenKey", signed=False))["listenKey"]
        async with websockets.connect(f"{emu.ws_root}/private/ws?listenKey={key}") as ws:
            await api.ok(
                "POST",
                "/fapi/v1/order",
                [
                    ("symbol", "BTCUSDT"),
                    ("side", "SELL"),
                    ("type", "MARKET"),
                    ("quantity", "0.003"),
                    ("newClientOrderId", "fm-1"),
                ],
            )
            new = await _recv_event(ws, "ORDER_TRADE_UPDATE")
            assert (new["o"]["x"], new["o"]["c"], new["o"]["t"]) == ("NEW", "fm-1", 0)
            fill = await _recv_event(ws, "ORDER_TRADE_UPDATE")
            assert (fill["o"]["x"], fill["o"]["X"], fill["o"]["z"], fill["o"]["ap"]) == (
                "TRADE",
                "FILLED",
                "0.003",
                "43000",
            )
            update = await _recv_event(ws, "ACCOUNT_UPDATE")
            assert update["a"]["P"][0]["pa"] == "-0.003"
            expired = await _recv_event(ws, "listenKeyExpired")
            assert expired["listenKey"] == key
            with pytest.raises(websockets.ConnectionClosed):
                await _recv(ws)
        _status, body, _ = await api.call("PUT", "/fapi/v1/listenKey", signed=False)
        assert body["code"] == -1125


async def test_market_streams(emu: RunningEmulator) -> None:
    async with (
        websockets.connect(f"{emu.ws_root}/ws/btcusdt@bookTicker") as raw,
        websockets.connect(f"{emu.ws_root}/stream?streams=btcusdt@trade/btcusdt@bookTicker") as combined,
        websockets.connect(f"{emu.ws_root}/public/ws/btcusdt@bookTicker") as futures,
        websockets.connect(f"{emu.ws_root}/market/ws/btcusdt@bookTicker") as wrong_path,
        websockets.connect(f"{emu.ws_root}/ws") as live,
    ):
        await live.send(
            json.dumps({"method": "SUBSCRIBE", "params": ["ethusdt@trade", "btcusdt@kline_1m"], "id": 1})
        )
        assert await _recv(live) == {"result": None, "id": 1}
        await live.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 2}))
        assert await _recv(live) == {"result": ["ethusdt@trade", "btcusdt@kline_1m"], "id": 2}
        await asyncio.sleep(0.05)
        quote(emu, "binance-spot:BTCUSDT", "43000.00", "43000.01")
        emu.exchange.quote("binance-usdm:BTCUSDT", D("43000.0"), D("43000.1"), D(2), D(3))
        from engines.model.enums import Side

        emu.exchange.trade("binance-spot:BTCUSDT", D("43000.01"), D("0.5"), Side.BUY)
        emu.exchange.trade("binance-spot:ETHUSDT", D("2300.00"), D("1"), Side.SELL)
        ticker = await _recv(raw)
        assert set(ticker) == {"u", "s", "b", "B", "a", "A"} and ticker["b"] == "43000.00000000"
        first = await _recv(combined)
        assert first["stream"] == "btcusdt@bookTicker" and first["data"]["a"] == "43000.01000000"
        trade = await _recv(combined)
        assert trade["stream"] == "btcusdt@trade"
        assert {k: trade["data"][k] for k in ("e", "s", "p", "q", "m")} == {
            "e": "trade",
            "s": "BTCUSDT",
            "p": "43000.01000000",
            "q": "0.50000000",
            "m": False,
        }
        fticker = await _recv(futures)
        assert fticker["e"] == "bookTicker" and fticker["b"] == "43000" and fticker["A"] == "3"
        assert {"E", "T", "u"} <= set(fticker)
        kline = await _recv(live)
        assert kline["e"] == "kline" and kline["k"]["i"] == "1m" and kline["k"]["c"] == "43000.01000000"
        assert kline["k"]["v"] == "0.50000000" and kline["k"]["x"] is False
        eth = await _recv(live)
        assert eth["s"] == "ETHUSDT" and eth["m"] is True
        with pytest.raises(TimeoutError):  # USD-M's book is on /public only
            await _recv(wrong_path, timeout=0.1)


async def test_drop_ws_closes_and_dup_fill_repeats() -> None:
    options = EmulatorOptions(walk=False, faults=parse_faults("dup-fill=1"))
    async with await serve_binance(options) as emu, aiohttp.ClientSession(timeout=TIMEOUT) as session:
        api = Api(emu, session)
        quote(emu, "binance-spot:BTCUSDT", "43000.00", "43000.01")
        key = (await api.ok("POST", "/api/v3/userDataStream", signed=False))["listenKey"]
        async with websockets.connect(f"{emu.ws_root}/ws/{key}") as ws:
            await api.ok(
                "POST",
                "/api/v3/order",
                [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET"), ("quantity", "0.001")],
            )
            kinds = []
            for _ in range(5):
                msg = await _recv(ws)
                if msg["e"] == "executionReport":
                    kinds.append((msg["x"], msg["t"]))
            assert kinds[0] == ("NEW", -1) and kinds[1] == kinds[2] and kinds[1][0] == "TRADE"
    options = EmulatorOptions(walk=False, faults=parse_faults("drop-ws=1"))
    async with (
        await serve_binance(options) as emu,
        websockets.connect(f"{emu.ws_root}/ws/btcusdt@bookTicker") as ws,
    ):
        await asyncio.sleep(0.05)
        quote(emu, "binance-spot:BTCUSDT", "43000.00", "43000.01")
        with pytest.raises(websockets.ConnectionClosed):
            await _recv(ws)
        assert emu.exchange.faults.injected["drop-ws"] == 1


async def test_out_of_order_fill_before_ack() -> None:
    options = EmulatorOptions(walk=False, faults=parse_faults("out-of-order=1"))
    async with await serve_binance(options) as emu, aiohttp.ClientSession(timeout=TIMEOUT) as session:
        api = Api(emu, session)
        quote(emu, "binance-usdm:BTCUSDT", "43000.0", "43000.1")
        key = (await api.ok("POST", "/fapi/v1/listenKey", signed=False))["listenKey"]
        async with websockets.connect(f"{emu.ws_root}/ws/{key}") as ws:
            await api.ok(
                "POST",
                "/fapi/v1/order",
                [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET"), ("quantity", "0.003")],
            )
            kinds = []
            for _ in range(3):
                msg = await _recv(ws)
                if msg["e"] == "ORDER_TRADE_UPDATE":
                    kinds.append(msg["o"]["x"])
            assert kinds == ["TRADE", "NEW"]


async def test_state_lists_orders_fills_balances(emu: RunningEmulator, api: Api) -> None:
    quote(emu, "binance-spot:BTCUSDT", "43000.00", "43000.01")
    await api.ok(
        "POST",
        "/api/v3/order",
        [
            ("symbol", "BTCUSDT"),
            ("side", "SELL"),
            ("type", "MARKET"),
            ("quantity", "0.01"),
            ("newClientOrderId", "st-1"),
        ],
    )
    async with api.session.get(f"{emu.http_root}/_emulator/state") as resp:
        state = await resp.json()
    account = state["accounts"][KEY]
    assert [o["client_id"] for o in account["orders"]] == ["st-1"]
    assert account["orders"][0]["state"] == "FILLED"
    assert len(account["fills"]) == 1 and account["fills"][0]["price"] == "43000.00"
    assert D(account["balances"]["BTC"]["free"]) == D("0.99")


async def _user_stream_kinds(seed: int) -> list[str]:
    options = EmulatorOptions(walk=False, seed=seed, faults=parse_faults("dup-fill=0.5,out-of-order=0.5"))
    kinds: list[str] = []
    async with await serve_binance(options) as emu, aiohttp.ClientSession(timeout=TIMEOUT) as session:
        api = Api(emu, session)
        quote(emu, "binance-usdm:BTCUSDT", "43000.0", "43000.1", size="100")
        key = (await api.ok("POST", "/fapi/v1/listenKey", signed=False))["listenKey"]
        async with websockets.connect(f"{emu.ws_root}/private/ws?listenKey={key}") as ws:
            for i in range(6):
                await api.ok(
                    "POST",
                    "/fapi/v1/order",
                    [
                        ("symbol", "BTCUSDT"),
                        ("side", "BUY"),
                        ("type", "MARKET"),
                        ("quantity", "0.003"),
                        ("newClientOrderId", f"seq-{i}"),
                    ],
                )
            with contextlib.suppress(TimeoutError):
                while True:
                    msg = await _recv(ws, timeout=0.5)
                    if msg["e"] == "ORDER_TRADE_UPDATE":
                        kinds.append(f"{msg['o']['c']}:{msg['o']['x']}")
    return kinds


async def test_stream_faults_are_deterministic() -> None:
    first = await _user_stream_kinds(seed=3)
    assert first == await _user_stream_kinds(seed=3)
    assert len(first) > 12  # some fills came twice
    assert any(
        first.index(f"seq-{i}:TRADE") < first.index(f"seq-{i}:NEW") for i in range(6)
    )  # some acks came after their fill
    assert sorted(set(first)) == sorted({f"seq-{i}:{x}" for i in range(6) for x in ("NEW", "TRADE")})


# ── shapes: every field of Binance's documented examples (tests/venues/binance/messages.py) ──

#: fields the documented examples carry that only some orders have (trailing stops, hedge mode,
#: prevented self-trades, commission of an event without a trade)
_CONDITIONAL = {"v", "AP", "cr", "activatePrice", "priceRate", "N", "n"}


def _missing(documented: bytes, ours: Any) -> set[str]:
    doc = json.loads(documented)
    doc = doc[0] if isinstance(doc, list) else doc
    ours = ours[0] if isinstance(ours, list) else ours
    missing = set(doc) - set(ours) - _CONDITIONAL
    if "o" in doc and isinstance(doc["o"], dict):
        missing |= {f"o.{k}" for k in set(doc["o"]) - set(ours["o"]) - _CONDITIONAL}
    return missing


async def test_shapes_carry_the_documented_fields(emu: RunningEmulator, api: Api) -> None:
    from tests.venues.binance import messages as doc

    quote(emu, "binance-spot:BTCUSDT", "43000.00", "43000.01")
    quote(emu, "binance-usdm:BTCUSDT", "43000.0", "43000.1")
    spot_key = (await api.ok("POST", "/api/v3/userDataStream", signed=False))["listenKey"]
    usdm_key = (await api.ok("POST", "/fapi/v1/listenKey", signed=False))["listenKey"]
    async with (
        websockets.connect(f"{emu.ws_root}/ws/{spot_key}") as spot_ws,
        websockets.connect(f"{emu.ws_root}/private/ws?listenKey={usdm_key}") as usdm_ws,
        websockets.connect(f"{emu.ws_root}/stream?streams=btcusdt@bookTicker/btcusdt@trade") as spot_md,
        websockets.connect(f"{emu.ws_root}/market/stream?streams=btcusdt@trade/btcusdt@aggTrade") as usdm_md,
        websockets.connect(f"{emu.ws_root}/public/stream?streams=btcusdt@bookTicker") as usdm_book,
    ):
        rest = await api.ok("POST", "/api/v3/order", limit("BTCUSDT", "BUY", "0.001", "42000.00", "shape-1"))
        new = await _recv_event(spot_ws, "executionReport")
        assert not _missing(doc.EXECUTION_REPORT_NEW, new)
        assert not _missing(
            doc.QUERY_ORDER,
            await api.ok("GET", "/api/v3/order", [("symbol", "BTCUSDT"), ("orderId", rest["orderId"])]),
        )
        cancel = await api.ok(
            "DELETE", "/api/v3/order", [("symbol", "BTCUSDT"), ("orderId", rest["orderId"])]
        )
        assert not _missing(doc.CANCEL_ORDER, cancel)
        assert not _missing(doc.EXECUTION_REPORT_CANCELED, await _recv_event(spot_ws, "executionReport"))
        full = await api.ok(
            "POST",
            "/api/v3/order",
            [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET"), ("quantity", "0.001")],
        )
        assert not _missing(doc.NEW_ORDER_FULL, full)
        assert (await _recv_event(spot_ws, "executionReport"))["x"] == "NEW"
        trade_event = await _recv_event(spot_ws, "executionReport")
        assert trade_event["x"] == "TRADE" and not _missing(doc.EXECUTION_REPORT_TRADE, trade_event)
        assert set(full["fills"][0]) == set(json.loads(doc.NEW_ORDER_FULL)["fills"][0])
        result = await api.ok(
            "POST",
            "/api/v3/order",
            limit("BTCUSDT", "SELL", "0.001", "45000.00", "shape-2", newOrderRespType="RESULT"),
        )
        assert not _missing(doc.NEW_ORDER_RESULT, result) and "fills" not in result
        assert not _missing(doc.MY_TRADES, await api.ok("GET", "/api/v3/myTrades", [("symbol", "BTCUSDT")]))
        placed = await api.ok(
            "POST", "/fapi/v1/order", limit("BTCUSDT", "BUY", "0.010", "42000.0", "shape-f")
        )
        assert not _missing(doc.ORDER_TRADE_UPDATE_NEW, await _recv_event(usdm_ws, "ORDER_TRADE_UPDATE"))
        assert not _missing(
            doc.USDM_QUERY_ORDER,
            await api.ok("GET", "/fapi/v1/order", [("symbol", "BTCUSDT"), ("orderId", placed["orderId"])]),
        )
        await api.ok(
            "POST",
            "/fapi/v1/order",
            [("symbol", "BTCUSDT"), ("side", "SELL"), ("type", "MARKET"), ("quantity", "0.003")],
        )
        await _recv_event(usdm_ws, "ORDER_TRADE_UPDATE")  # its NEW
        assert not _missing(doc.ORDER_TRADE_UPDATE_TRADE, await _recv_event(usdm_ws, "ORDER_TRADE_UPDATE"))
        assert not _missing(
            doc.USER_TRADES, await api.ok("GET", "/fapi/v1/userTrades", [("symbol", "BTCUSDT")])
        )
        from engines.model.enums import Side

        quote(emu, "binance-spot:BTCUSDT", "43000.00", "43000.02")
        quote(emu, "binance-usdm:BTCUSDT", "43000.0", "43000.2")
        emu.exchange.trade("binance-spot:BTCUSDT", D("43000.02"), D("0.1"), Side.BUY)
        emu.exchange.trade("binance-usdm:BTCUSDT", D("43000.2"), D("0.1"), Side.BUY)
        got = {}
        for ws in (spot_md, spot_md, usdm_book, usdm_md, usdm_md):
            msg = await _recv(ws)
            got[("spot" if ws is spot_md else "usdm", msg["stream"])] = msg["data"]
        assert set(got[("spot", "btcusdt@bookTicker")]) == set(json.loads(doc.SPOT_BOOK_TICKER))
        assert set(got[("usdm", "btcusdt@bookTicker")]) == set(json.loads(doc.USDM_BOOK_TICKER))
        assert set(got[("spot", "btcusdt@trade")]) == set(json.loads(doc.SPOT_TRADE))
        assert set(got[("usdm", "btcusdt@trade")]) == set(json.loads(doc.USDM_TRADE))
        assert set(got[("usdm", "btcusdt@aggTrade")]) == set(json.loads(doc.USDM_AGG_TRADE))
