"""The REST client against a small loopback server that answers exactly as a test needs: signing over
the bytes sent, unknown outcomes, classification by Binance's code, the rate budget, 429/418, -1021."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
from aiohttp import web

from adapters.binance.config import BinanceConfig
from adapters.binance.rest import BinanceRest, OutcomeUnknownError, RequestTimeoutError, weight_of
from adapters.binance.signing import verify
from adapters.transport import RateBudget
from adapters.venue_errors import Outcome, RateBudgetError, VenueHaltedError, VenueRefusal

KEY, SECRET = "test-key", "test-secret"

Answer = tuple[int, Any, dict[str, str]] | str  # (status, JSON body or raw text, headers) | "hang" | "reset"


@dataclass
class Venue:
    """What the server answers next on ``/api/v3/order`` and what it saw."""

    url: str = ""
    answers: list[Answer] = field(default_factory=list)
    skew_ms: int = 0  # the server's clock minus ours
    hits: list[tuple[str, str, bytes, dict[str, str]]] = field(default_factory=list)  # order requests
    arrivals: list[float] = field(default_factory=list)  # ping requests
    time_requests: int = 0
    used_weight: int | None = None

    def server_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.skew_ms


VENUE: web.AppKey[Venue] = web.AppKey("venue", Venue)


async def _order(request: web.Request) -> web.StreamResponse:
    venue: Venue = request.app[VENUE]
    body = await request.read()
    raw_query = request.raw_path.partition("?")[2]  # as sent: query_string would be decoded
    venue.hits.append((request.method, raw_query, body, dict(request.headers)))
    params = dict(p.split("=", 1) for p in (raw_query or body.decode()).split("&") if "=" in p)
    if "timestamp" in params:
        ts, window = int(params["timestamp"]), int(params.get("recvWindow", 5000))
        if not (ts < venue.server_ms() + 1000 and venue.server_ms() - ts <= window):
            return _json(
                400, {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
            )
    answer = venue.answers.pop(0) if venue.answers else (200, {"ok": True}, {})
    if answer == "hang":
        await asyncio.sleep(30)
    if answer == "reset":
        assert request.transport is not None
        request.transport.close()
        raise ConnectionResetError
    assert isinstance(answer, tuple)
    status, payload, headers = answer
    if isinstance(payload, str):
        return web.Response(status=status, text=payload, headers=headers)
    return _json(status, payload, headers)


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=msgspec.json.encode(payload), headers=headers or {})


async def _time(request: web.Request) -> web.Response:
    venue: Venue = request.app[VENUE]
    venue.time_requests += 1
    return _json(200, {"serverTime": venue.server_ms()})


async def _ping(request: web.Request) -> web.Response:
    venue: Venue = request.app[VENUE]
    venue.arrivals.append(time.monotonic())
    headers = {"X-MBX-USED-WEIGHT-1M": str(venue.used_weight)} if venue.used_weight is not None else {}
    return _json(200, {}, headers)


@pytest.fixture
async def venue() -> AsyncIterator[Venue]:
    app = web.Application()
    state = Venue()
    app[VENUE] = state
    app.router.add_route("*", "/api/v3/order", _order)
    app.router.add_get("/api/v3/time", _time)
    app.router.add_get("/api/v3/ping", _ping)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}"
    yield state
    await runner.cleanup()


@pytest.fixture
async def rest_of(venue: Venue) -> AsyncIterator[Callable[..., BinanceRest]]:
    made: list[BinanceRest] = []

    def make(**kwargs: Any) -> BinanceRest:
        config = BinanceConfig.for_emulator(venue.url, venue.url.replace("http", "ws"))
        kwargs.setdefault("timeout_s", 0.5)
        rest = BinanceRest(config, "spot", api_key=KEY, api_secret=SECRET, **kwargs)
        made.append(rest)
        return rest

    yield make
    for rest in made:
        await rest.close()


ORDER = [("symbol", "BTCUSDT"), ("side", "BUY"), ("newClientOrderId", "strat/1 +x")]


async def test_a_signed_request_signs_the_exact_bytes_sent(
    venue: Venue, rest_of: Callable[..., BinanceRest]
) -> None:
    rest = rest_of()
    await rest.request("POST", "/api/v3/order", ORDER, signed=True)
    await rest.request("GET", "/api/v3/order", ORDER, signed=True)
    (post_method, post_query, post_body, post_headers), (get_method, get_query, get_body, get_headers) = (
        venue.hits
    )
    assert (post_method, post_query) == ("POST", "")  # a POST's parameters travel in the form body
    assert (get_method, get_body) == ("GET", b"")
    for raw, headers in ((post_body.decode(), post_headers), (get_query, get_headers)):
        unsigned, _, signature = raw.rpartition("&signature=")
        assert verify(SECRET, unsigned, signature)
        assert headers["X-MBX-APIKEY"] == KEY
        assert unsigned.startswith("symbol=BTCUSDT&side=BUY&newClientOrderId=strat%2F1+%2Bx&recvWindow=5000&")
    assert not verify(
        SECRET, post_body.decode().replace("BUY", "SELL").rpartition("&signature=")[0], signature
    )


async def test_a_timeout_is_an_unknown_outcome_and_a_timeout_error(
    venue: Venue, rest_of: Callable[..., BinanceRest]
) -> None:
    venue.answers = ["hang"]
    rest = rest_of(timeout_s=0.2)
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError) as caught:
        await rest.request("POST", "/api/v3/order", ORDER, signed=True)
    assert time.monotonic() - started < 1.0
    assert isinstance(caught.value, TimeoutError) and isinstance(caught.value, OutcomeUnknownError)
    assert caught.value.outcome is Outcome.UNKNOWN


@pytest.mark.parametrize(
    "answer",
    [
        (
            503,
            {"code": -1001, "msg": "Internal error; unable to process your request. Please try again."},
            {},
        ),
        (502, "<html>Bad Gateway</html>", {}),
        (500, {"code": -1013, "msg": "a 5xx is unknown whatever its code says"}, {}),
        (408, {"code": -1007, "msg": "Timeout waiting for response from backend server."}, {}),
        (400, {"code": -1007, "msg": "Timeout waiting for response from backend server."}, {}),
        (400, {"code": -9999, "msg": "a code the table does not know"}, {}),
        "reset",
    ],
)
async def test_no_answer_a_5xx_and_unknown_codes_are_outcome_unknown(
    venue: Venue, rest_of: Callable[..., BinanceRest], answer: Answer
) -> None:
    venue.answers = [answer]
    with pytest.raises(OutcomeUnknownError) as caught:
        await rest_of().request("POST", "/api/v3/order", ORDER, signed=True)
    assert caught.value.outcome is Outcome.UNKNOWN
    assert len(venue.hits) == 1  # nothing retried


@pytest.mark.parametrize(
    ("status", "code", "msg", "outcome"),
    [
        (400, -1013, "Filter failure: LOT_SIZE", Outcome.REJECTED),
        (400, -2010, "Account has insufficient balance for requested action.", Outcome.REJECTED),
        (400, -2010, "Duplicate order sent.", Outcome.DUPLICATE),
        (400, -4116, "ClientOrderId is duplicated.", Outcome.DUPLICATE),
        (404, -2013, "Order does not exist.", Outcome.REJECTED),
        (400, -2015, "Invalid API-key, IP, or permissions for action.", Outcome.HALT),
        (401, -1022, "Signature for this request is not valid.", Outcome.HALT),
    ],
)
async def test_errors_are_classified_by_code_not_status(  # noqa: PLR0917 - parametrized
    venue: Venue, rest_of: Callable[..., BinanceRest], status: int, code: int, msg: str, outcome: Outcome
) -> None:
    venue.answers = [(status, {"code": code, "msg": msg}, {})]
    rest = rest_of()
    with pytest.raises(VenueRefusal) as caught:
        await rest.request("POST", "/api/v3/order", ORDER, signed=True)
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert (caught.value.outcome, caught.value.code) == (outcome, "VT803")
    assert (rest.budget.halted is not None) == (outcome is Outcome.HALT)


async def test_429_backs_off_for_retry_after(venue: Venue, rest_of: Callable[..., BinanceRest]) -> None:
    venue.answers = [(429, {"code": -1003, "msg": "Too much request weight used."}, {"Retry-After": "0.3"})]
    rest = rest_of(budget_wait_s=0.1)
    with pytest.raises(VenueRefusal) as caught:
        await rest.request("POST", "/api/v3/order", ORDER, signed=True)
    assert (caught.value.outcome, caught.value.retry_after_s) == (Outcome.BACK_OFF, 0.3)
    with pytest.raises(RateBudgetError):  # paused: not sent at all
        await rest.request("POST", "/api/v3/order", ORDER, signed=True)
    assert len(venue.hits) == 1
    await asyncio.sleep(0.32)
    await rest.request("POST", "/api/v3/order", ORDER, signed=True)
    assert len(venue.hits) == 2


async def test_418_halts_and_later_requests_never_reach_the_network(
    venue: Venue, rest_of: Callable[..., BinanceRest]
) -> None:
    ban = "Way too many requests; IP(127.0.0.1) banned until 1715000000000. Please use the websocket."
    venue.answers = [(418, {"code": -1003, "msg": ban}, {"Retry-After": "120"})]
    rest = rest_of()
    with pytest.raises(VenueRefusal) as caught:
        await rest.request("POST", "/api/v3/order", ORDER, signed=True)
    assert caught.value.outcome is Outcome.HALT
    with pytest.raises(VenueHaltedError) as halted:
        await rest.request("GET", "/api/v3/order", ORDER, signed=True)
    assert halted.value.code == "VT806" and "1715000000000" in halted.value.reason
    assert len(venue.hits) == 1


async def test_403_waf_halts(venue: Venue, rest_of: Callable[..., BinanceRest]) -> None:
    venue.answers = [(403, "<html>403 Forbidden</html>", {})]
    rest = rest_of()
    with pytest.raises(VenueRefusal):
        await rest.request("POST", "/api/v3/order", ORDER, signed=True)
    with pytest.raises(VenueHaltedError):
        await rest.request("POST", "/api/v3/order", ORDER, signed=True)
    assert len(venue.hits) == 1


async def test_a_burst_never_exceeds_the_budget(venue: Venue, rest_of: Callable[..., BinanceRest]) -> None:
    limit, window = 5, 0.3
    rest = rest_of(budget=RateBudget("binance-spot", limit=limit, window_s=window))
    await asyncio.gather(*(rest.request("GET", "/api/v3/ping") for _ in range(3 * limit)))
    arrivals = sorted(venue.arrivals)
    assert len(arrivals) == 3 * limit
    # any `limit + 1` requests span at least a window (less a little for server-side arrival jitter)
    spans = [arrivals[i + limit] - arrivals[i] for i in range(len(arrivals) - limit)]
    assert min(spans) >= window - 0.05, spans


async def test_the_venues_used_weight_corrects_the_budget(
    venue: Venue, rest_of: Callable[..., BinanceRest]
) -> None:
    venue.used_weight = 5999
    rest = rest_of(budget_wait_s=0.05)
    await rest.request("GET", "/api/v3/ping")
    assert rest.budget.used() >= 5999
    with pytest.raises(RateBudgetError):  # GET order weighs 4: no room this minute
        await rest.request("GET", "/api/v3/order", ORDER, signed=True)
    assert venue.hits == []


async def test_minus_1021_resyncs_the_clock(venue: Venue, rest_of: Callable[..., BinanceRest]) -> None:
    venue.skew_ms = 20_000  # the venue's clock is 20 s ahead of ours
    rest = rest_of()
    with pytest.raises(VenueRefusal) as caught:
        await rest.request("POST", "/api/v3/order", ORDER, signed=True)
    assert caught.value.outcome is Outcome.CLOCK
    assert venue.time_requests == 1
    assert abs(rest.clock.offset_ms - 20_000) < 500
    await rest.request("POST", "/api/v3/order", ORDER, signed=True)  # accepted now
    assert len(venue.hits) == 2


def test_published_weights() -> None:
    assert weight_of("spot", "GET", "/api/v3/openOrders", [("symbol", "BTCUSDT")]) == 6
    assert weight_of("spot", "GET", "/api/v3/openOrders") == 80
    assert weight_of("usdm", "GET", "/fapi/v1/openOrders") == 40
    assert weight_of("spot", "GET", "/api/v3/myTrades", [("symbol", "X")]) == 20
    assert weight_of("spot", "GET", "/api/v3/depth", [("limit", 500)]) == 25
    assert weight_of("usdm", "GET", "/fapi/v1/depth", [("limit", 1000)]) == 20
    assert weight_of("usdm", "POST", "/fapi/v1/order") == 0
