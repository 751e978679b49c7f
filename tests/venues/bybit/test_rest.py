"""BybitRest against a loopback server giving precise answers: signing over the bytes sent,
classification by retCode (not HTTP status), unknown outcomes, rate budget, back-off, halt, clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from adapters.bybit.config import BybitConfig
from adapters.bybit.errors import BybitRequestError
from adapters.bybit.rest import BybitOutcomeUnknown, BybitRest, BybitTimeout
from adapters.bybit.schemas import CreateResult, OrderList
from adapters.venue_errors import Outcome, RateBudgetError, VenueHaltedError
from tests.venues.bybit.fake_server import KEY, SECRET, FakeBybit, code, ok

CREATE = "/v5/order/create"  # as the server sees it
POST = "/order/create"  # as the client names it
CREATED = ok({"orderId": "1", "orderLinkId": "a"})


@pytest.fixture
async def fake() -> AsyncIterator[FakeBybit]:
    server = await FakeBybit().start()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
async def rest(fake: FakeBybit) -> AsyncIterator[BybitRest]:
    client = BybitRest(BybitConfig(rest_url=fake.url), KEY, SECRET, timeout_s=0.3, budget_wait_s=0.5)
    await client.start()
    try:
        yield client
    finally:
        await client.close()


async def test_signed_over_the_exact_query_and_body_sent(fake: FakeBybit, rest: BybitRest) -> None:
    fake.answers["/v5/order/realtime"] = [ok({"category": "spot", "list": []})]
    fake.answers[CREATE] = [CREATED]
    await rest.get("/order/realtime", {"category": "spot", "orderLinkId": "x y/z"}, OrderList)
    await rest.post(POST, {"category": "spot", "qty": "0.01"}, CreateResult)
    get, post = fake.seen[-2:]
    assert get.query == "category=spot&orderLinkId=x+y%2Fz" and get.signed_ok
    assert post.body == b'{"category":"spot","qty":"0.01"}' and post.signed_ok
    assert post.headers["X-BAPI-RECV-WINDOW"] == "5000"


async def test_clock_offset_comes_from_market_time(fake: FakeBybit) -> None:
    fake.server_ms = time.time_ns() // 1_000_000 + 60_000  # the venue is a minute ahead
    client = BybitRest(BybitConfig(rest_url=fake.url), KEY, SECRET, timeout_s=0.3)
    await client.start()
    try:
        assert 59_000 < client.clock.offset_ms < 61_000
        fake.answers[CREATE] = [CREATED]
        await client.post(POST, {}, CreateResult)
        stamp = int(fake.seen[-1].headers["X-BAPI-TIMESTAMP"])
        assert abs(stamp - fake.server_ms) < 1_000  # signed with the venue's time
    finally:
        await client.close()


async def test_classified_by_ret_code_not_http_status(fake: FakeBybit, rest: BybitRest) -> None:
    fake.answers[CREATE] = [
        code(170131, "Insufficient balance."),  # HTTP 200, a business refusal
        code(170141, "Duplicate clientOrderId.", status=400),  # a 4xx that says duplicate
        code(10016, "Internal server error."),  # HTTP 200 yet unknown
    ]
    with pytest.raises(BybitRequestError) as rejected:
        await rest.post(POST, {}, CreateResult)
    assert rejected.value.outcome is Outcome.REJECTED and not isinstance(rejected.value, BybitOutcomeUnknown)
    with pytest.raises(BybitRequestError) as duplicate:
        await rest.post(POST, {}, CreateResult)
    assert duplicate.value.outcome is Outcome.DUPLICATE
    with pytest.raises(BybitOutcomeUnknown) as unknown:
        await rest.post(POST, {}, CreateResult)
    assert unknown.value.ret_code == 10016 and unknown.value.code == "VT803"


@pytest.mark.parametrize(
    "answer",
    [
        (503, b"", {}),
        (502, b"<html>502 Bad Gateway</html>", {"Content-Type": "text/html"}),
        "reset",
    ],
)
async def test_5xx_and_lost_connection_are_unknown(
    fake: FakeBybit, rest: BybitRest, answer: tuple[int, bytes, dict[str, str]] | str
) -> None:
    fake.answers[CREATE] = [answer]
    with pytest.raises(BybitOutcomeUnknown) as info:
        await rest.post(POST, {}, CreateResult)
    assert info.value.outcome is Outcome.UNKNOWN
    assert fake.count(CREATE) == 1  # never resent


async def test_timeout_is_unknown_and_a_timeout_error(fake: FakeBybit, rest: BybitRest) -> None:
    fake.answers[CREATE] = ["hang"]
    started = time.monotonic()
    with pytest.raises(BybitTimeout) as info:
        await rest.post(POST, {}, CreateResult)
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, BybitOutcomeUnknown)
    assert time.monotonic() - started < 1.0
    assert fake.count(CREATE) == 1


async def test_halt_stops_every_later_request_before_it_is_sent(fake: FakeBybit, rest: BybitRest) -> None:
    fake.answers[CREATE] = [code(10003, "API key is invalid.")]
    with pytest.raises(BybitRequestError) as info:
        await rest.post(POST, {}, CreateResult)
    assert info.value.outcome is Outcome.HALT
    with pytest.raises(VenueHaltedError) as halted:
        await rest.get("/order/realtime", {"category": "spot"}, OrderList)
    assert halted.value.code == "VT806" and "10003" in halted.value.reason
    assert fake.count(CREATE) == 1 and fake.count("/v5/order/realtime") == 0


async def test_10006_pauses_the_endpoint_until_the_reset_timestamp(fake: FakeBybit, rest: BybitRest) -> None:
    reset_at = rest.clock.now_ms() + 300
    fake.answers[CREATE] = [
        code(10006, "Too many visits!", {"X-Bapi-Limit-Reset-Timestamp": str(reset_at)}),
        CREATED,
    ]
    with pytest.raises(BybitRequestError) as info:
        await rest.post(POST, {}, CreateResult)
    assert info.value.outcome is Outcome.BACK_OFF and 0.1 < (info.value.retry_after_s or 0) <= 0.3
    await rest.post(POST, {}, CreateResult)  # waits for the reset, then goes
    second = fake.seen[-1].at - fake.seen[-2].at
    assert second >= 0.2, f"sent {second:.3f} s after the 10006, before the reset"


async def test_http_403_pauses_everything_for_ten_minutes(fake: FakeBybit, rest: BybitRest) -> None:
    fake.answers[CREATE] = [(403, b"403 Forbidden", {"Content-Type": "text/plain"})]
    with pytest.raises(BybitRequestError) as info:
        await rest.post(POST, {}, CreateResult)
    assert info.value.outcome is Outcome.BACK_OFF and info.value.retry_after_s == 600.0
    sent = len(fake.seen)
    with pytest.raises(RateBudgetError):  # VT810 at once, nothing sent
        await rest.get("/order/realtime", {"category": "spot"}, OrderList)
    assert len(fake.seen) == sent


async def test_a_burst_never_exceeds_the_per_second_limit(fake: FakeBybit) -> None:
    fake.answers[CREATE] = [CREATED]
    client = BybitRest(BybitConfig(rest_url=fake.url), KEY, SECRET, timeout_s=1.0, budget_wait_s=3.0)
    await client.start()
    try:
        await asyncio.gather(*(client.post(POST, {}, CreateResult, category="linear") for _ in range(15)))
    finally:
        await client.close()
    times = sorted(s.at for s in fake.seen if s.path == CREATE)
    assert len(times) == 15
    worst = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert worst <= 10  # Bybit's linear create limit per UID per second


async def test_the_venue_limit_status_corrects_the_budget(fake: FakeBybit, rest: BybitRest) -> None:
    # another process on the key spent the window: the venue says 0 remaining of 20
    fake.answers[CREATE] = [(*CREATED[:2], {"X-Bapi-Limit": "20", "X-Bapi-Limit-Status": "0"})]  # type: ignore[misc]
    await rest.post(POST, {}, CreateResult, category="spot")
    budget = rest.budget("spot", POST)
    assert budget.used() >= 20
    assert budget.wait_for(1) > 0.5


async def test_10002_resyncs_the_clock_and_is_not_resent(fake: FakeBybit, rest: BybitRest) -> None:
    fake.answers[CREATE] = [code(10002, "invalid request, please check your server timestamp")]
    syncs = rest.clock_syncs
    fake.server_ms = time.time_ns() // 1_000_000 - 30_000
    with pytest.raises(BybitRequestError) as info:
        await rest.post(POST, {}, CreateResult)
    assert info.value.outcome is Outcome.CLOCK
    assert rest.clock_syncs == syncs + 1 and -31_000 < rest.clock.offset_ms < -29_000
    assert fake.count(CREATE) == 1
