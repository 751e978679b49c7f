"""The KIS client against the KIS emulator: the token cache and its limits, rate limits, paging,
transaction ids, the KRX check before sending, unknown outcomes and the match rule."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path
from typing import Literal

import msgspec
import pytest

from adapters.emulator import RunningEmulator
from adapters.emulator.faults import parse_faults
from adapters.emulator.options import TEST_API_KEY, TEST_API_SECRET, EmulatorOptions
from adapters.kis.config import PATHS, KisConfig
from adapters.kis.emulator import SessionClock, serve_kis, venue_of
from adapters.kis.emulator_rest import KisLimits
from adapters.kis.errors import KisAmbiguousOrderError, KisRequestError, KisTokenError
from adapters.kis.execution import KisExecutionClient
from adapters.kis.rest import KisRest
from adapters.kis.schemas import CcldPage, OrderAnswer
from adapters.ports import Balance, PositionAmount
from adapters.venue_errors import VenueHaltedError
from engines.markets.krx import in_regular_session
from engines.markets.krx_validator import is_trading_day, kst_date
from engines.markets.specs import spec_for
from engines.model.commands import CancelOrder, QueryOrder, SubmitOrder
from engines.model.enums import OrderType, ReportedStatus, Side
from engines.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderStatusUnknown,
)

SYMBOL = "krx:005930"
Env = Literal["real", "mock"]


async def _emulator(
    environment: Env = "real", limits: KisLimits | None = None, faults: str = ""
) -> RunningEmulator:
    emulator = await serve_kis(
        EmulatorOptions(walk=False, symbols=(SYMBOL,), faults=parse_faults(faults), hang_s=3.0),
        environment=environment,
        limits=limits,
    )
    emulator.exchange.quote(SYMBOL, D(70_000), D(70_100), D(1000), D(1000))
    return emulator


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    emulator = await _emulator()
    yield emulator
    await emulator.close()


def _client(
    emulator: RunningEmulator, cache: Path | None, environment: Env = "real", **kw: object
) -> KisExecutionClient:
    kw.setdefault("notices", False)  # the notices have their own tests (test_ws.py)
    return KisExecutionClient(
        KisConfig.for_emulator(emulator.http_root, emulator.ws_root, environment=environment),
        TEST_API_KEY,
        TEST_API_SECRET,
        symbols=[SYMBOL],
        cache_dir=cache,
        timeout_s=1.0,
        clock_ns=emulator.exchange.clock.now_ns,
        **kw,  # type: ignore[arg-type]
    )


def _order(cid: str, price: D | None = D(50_000), qty: D = D(10)) -> SubmitOrder:
    return SubmitOrder(
        ts_event=0, ts_init=0, strategy="t", venue="kis", client_order_id=cid, instrument=SYMBOL,
        side=Side.BUY, order_type=OrderType.LIMIT if price is not None else OrderType.MARKET,
        quantity=qty, price=price,
    )  # fmt: skip


def _query(cid: str, qty: D = D(10)) -> QueryOrder:
    return QueryOrder(
        ts_event=0, ts_init=0, strategy="t", venue="kis", client_order_id=cid, instrument=SYMBOL,
        side=Side.BUY, order_type=OrderType.LIMIT, quantity=qty,
    )  # fmt: skip


# ── the token ──


async def test_the_token_is_cached_0600_and_reused_across_restarts(
    emu: RunningEmulator, tmp_path: Path
) -> None:
    venue = venue_of(emu._runner.app)
    first = _client(emu, tmp_path)
    await first.open_orders()
    await first.close()
    (cache,) = tmp_path.glob("kis-token-real-*.json")
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
    assert TEST_API_KEY not in cache.name and TEST_API_SECRET.encode() not in cache.read_bytes()
    again = _client(emu, tmp_path)  # a restart: the cached token, no second issuance
    await again.open_orders()
    await again.close()
    assert venue.issued_tokens == 1 and again.rest.auth.issued == 0


async def test_a_token_is_never_requested_twice_a_minute(emu: RunningEmulator, tmp_path: Path) -> None:
    venue = venue_of(emu._runner.app)
    one, two = _client(emu, tmp_path / "a"), _client(emu, tmp_path / "b")
    await one.open_orders()
    # another process of the same key without the cache: KIS answers EGW00133, asked once, not in a loop
    with pytest.raises(KisTokenError, match="EGW00133") as raised:
        await two.open_orders()
    assert raised.value.code == "VT980"
    # and within the minute, the client refuses by itself without asking again
    requests_before = venue.last_token[TEST_API_KEY].issued
    with pytest.raises(KisTokenError, match="one a minute"):
        await two.open_orders()
    assert venue.last_token[TEST_API_KEY].issued == requests_before and venue.issued_tokens == 1
    await one.close()
    await two.close()


async def test_an_expired_token_is_reissued_once(tmp_path: Path) -> None:
    emulator = await _emulator(limits=KisLimits(token_interval_s=0.0, token_reuse_s=0.0))
    shift = [0.0]
    config = KisConfig.for_emulator(emulator.http_root, emulator.ws_root)
    rest = KisRest(
        config, TEST_API_KEY, TEST_API_SECRET, cache_dir=tmp_path, wall=lambda: time.time() + shift[0]
    )
    client = _client(emulator, tmp_path, rest=rest)
    try:
        await client.open_orders()
        venue_of(emulator._runner.app).expire_tokens()
        shift[0] = 61.0  # a token that expires was issued long ago: the minute rule does not bind
        assert await client.open_orders() == []  # EGW00123 → a new token → the read again
        assert client.rest.auth.issued == 2
        venue_of(emulator._runner.app).expire_tokens()  # expired again within the minute: no loop
        with pytest.raises(KisTokenError):
            await client.open_orders()
        assert client.rest.auth.issued == 2
    finally:
        await client.close()
        await emulator.close()


# ── limits, paging, transaction ids ──


async def test_rate_limited_reads_wait_and_creates_are_never_resent(tmp_path: Path) -> None:
    emulator = await _emulator("mock", KisLimits(rest_per_s=1))
    client = _client(emulator, tmp_path, "mock", rate_per_s=5)  # a client that ignores mock's 1/s
    try:
        await client.open_orders()
        await client.open_orders()  # EGW00201, then once more after the limiter's wait
        assert client.rest.back_offs == 1
        answers = await client.submit(_order("c1"))  # EGW00201 on a create: unknown, not resent
        assert isinstance(answers[0], OrderStatusUnknown) and "back_off" in answers[0].reason
        assert emulator.exchange.state()["accounts"][TEST_API_KEY]["creates"] == []
        assert (await client.query(_query("c1"))).status is ReportedStatus.NOT_FOUND
    finally:
        await client.close()
        await emulator.close()


async def test_the_mock_budget_paces_one_request_a_second(tmp_path: Path) -> None:
    emulator = await _emulator("mock")
    client = _client(emulator, tmp_path, "mock")
    try:
        for _ in range(3):
            await client.open_orders()
        assert client.rest.back_offs == 0  # the client's own 1/s kept under KIS's
    finally:
        await client.close()
        await emulator.close()


async def test_paging_follows_tr_cont_and_the_ctx_keys(tmp_path: Path) -> None:
    emulator = await _emulator(limits=KisLimits(ccld_page_rows=2))
    client = _client(emulator, tmp_path)
    try:
        for i in range(5):
            assert isinstance((await client.submit(_order(f"c{i}", D(50_000 + 100 * i))))[0], OrderAccepted)
        params = {
            "CANO": "12345678",
            "ACNT_PRDT_CD": "01",
            "INQR_STRT_DT": "19700101",
            "INQR_END_DT": "29991231",
        }
        pages = await client.rest.pages(PATHS["daily_ccld"], "TTTC0081R", params, CcldPage)
        assert [len(p.output1) for p in pages] == [2, 2, 1]
        assert [r.client_order_id for r in await client.open_orders()] == [f"c{i}" for i in range(5)]
    finally:
        await client.close()
        await emulator.close()


async def test_legacy_order_ids_are_taken_and_the_wrong_environment_halts(
    emu: RunningEmulator, tmp_path: Path
) -> None:
    rest = KisRest(
        KisConfig.for_emulator(emu.http_root, emu.ws_root), TEST_API_KEY, TEST_API_SECRET, cache_dir=tmp_path
    )
    body = {"CANO": "12345678", "ACNT_PRDT_CD": "01", "PDNO": "005930", "ORD_DVSN": "00", "ORD_QTY": "1",
            "ORD_UNPR": "50000", "EXCG_ID_DVSN_CD": "KRX", "SLL_TYPE": "", "CNDT_PRIC": ""}  # fmt: skip
    try:
        answer = await rest.post(PATHS["order"], "TTTC0802U", body, OrderAnswer)
        assert answer.output is not None and answer.output.odno
        with pytest.raises(KisRequestError, match="OPSQ0002"):  # a mock id at the real environment
            await rest.post(PATHS["order"], "VTTC0802U", body, OrderAnswer)
        assert rest.halted is not None
        with pytest.raises(VenueHaltedError):  # and nothing more is sent
            await rest.post(PATHS["order"], "TTTC0802U", body, OrderAnswer)
    finally:
        await rest.close()


# ── orders ──


async def test_the_krx_check_runs_before_an_order_leaves(emu: RunningEmulator, tmp_path: Path) -> None:
    client = _client(emu, tmp_path)
    try:
        (answer,) = await client.submit(_order("c1", D(70_050)))  # tick 100 at 70,000
        assert isinstance(answer, OrderRejected) and answer.code == "VT142"
        (answer,) = await client.submit(_order("c2", D(50_000), qty=D("1.5")))
        assert isinstance(answer, OrderRejected) and answer.code == "VT141"
        assert emu.exchange.state()["accounts"][TEST_API_KEY]["orders"] == []
    finally:
        await client.close()


async def test_a_lost_answer_is_unknown_and_the_match_rule_finds_the_order(tmp_path: Path) -> None:
    emulator = await _emulator(faults="accept-then-timeout=1.0")
    client = _client(emulator, tmp_path)
    try:
        (answer,) = await client.submit(_order("c1"))
        assert isinstance(answer, OrderStatusUnknown)
        report = await client.query(_query("c1"))
        assert report.status is ReportedStatus.ACCEPTED and report.venue_order_id == "0000000001"
        assert client.order_numbers == {"c1": "0000000001"}
        creates = emulator.exchange.state()["accounts"][TEST_API_KEY]["creates"]
        assert len(creates) == 1  # sent once
    finally:
        await client.close()
        await emulator.close()


async def test_after_a_restart_the_map_finds_orders_and_the_rule_refuses_to_guess(
    emu: RunningEmulator, tmp_path: Path
) -> None:
    first = _client(emu, tmp_path)
    for cid in ("a", "b"):
        assert isinstance((await first.submit(_order(cid)))[0], OrderAccepted)
    numbers = first.order_numbers
    await first.close()
    with_map = _client(emu, tmp_path, order_map={"a": numbers["a"]})
    assert (await with_map.query(_query("a"))).venue_order_id == numbers["a"]
    # "b" has no number here, and exactly one unclaimed order matches it: that one
    assert (await with_map.query(_query("b"))).venue_order_id == numbers["b"]
    await with_map.close()
    blind = _client(emu, tmp_path)  # no map: two identical orders, neither claimed
    with pytest.raises(KisAmbiguousOrderError) as raised:
        await blind.query(_query("a"))
    assert raised.value.code == "VT981"
    assert (await blind.query(_query("x", qty=D(3)))).status is ReportedStatus.NOT_FOUND
    await blind.close()


def test_the_session_clock_lands_in_a_session_of_a_trading_day() -> None:
    # 1970-01-01, 2026-01-01 00:00 UTC (a holiday), 2026-01-02 05:00 UTC (first day: opens 10:00 KST),
    # 2026-10-05 (a substitute holiday, Monday), 2026-12-04 00:35 KST (after midnight: back to the 3rd)
    for now in (
        0,
        1_767_225_600 * 10**9,
        1_767_330_000 * 10**9,
        1_791_158_400 * 10**9,
        1_796_312_100 * 10**9,
    ):
        clock = SessionClock.in_session(now)
        shifted = now + clock.offset_ns
        assert in_regular_session(shifted) and is_trading_day(kst_date(shifted))
        # never ahead: a feed stamped on the wall clock must not run before the shifted clock's orders
        assert -8 * 86_400 * 10**9 < clock.offset_ns <= 0


@pytest.mark.parametrize("fault", ["timeout", "5xx", "reset"])
async def test_a_create_without_an_answer_is_unknown_and_never_resent(fault: str, tmp_path: Path) -> None:
    emulator = await _emulator(faults=f"{fault}=1.0")
    client = _client(emulator, tmp_path)
    try:
        (answer,) = await client.submit(_order("c1"))
        assert isinstance(answer, OrderStatusUnknown)
        assert (await client.query(_query("c1"))).status is ReportedStatus.NOT_FOUND  # never processed
        again = await client.submit(_order("c1"))  # the same client id: queried, not sent again
        assert not any(isinstance(a, OrderAccepted) for a in again)
        assert emulator.exchange.state()["accounts"][TEST_API_KEY]["creates"] == []
    finally:
        await client.close()
        await emulator.close()


async def test_a_round_trip_moves_cash_and_holdings_by_exactly_the_fills(
    emu: RunningEmulator, tmp_path: Path
) -> None:
    client = _client(emu, tmp_path)
    try:
        before = await client.balances()
        buy = _order("b1", None)
        assert isinstance((await client.submit(buy))[0], OrderAccepted)
        held = await client.balances()
        assert held.get("005930") == Balance(free=D(10))
        assert (await client.positions()).positions[SYMBOL] == PositionAmount(qty=D(10), avg_px=D(70_100))
        sell = msgspec.structs.replace(_order("s1", None), side=Side.SELL)
        assert isinstance((await client.submit(sell))[0], OrderAccepted)  # the sell transaction id
        fills = await client.fills_since(None)
        assert [(f.client_order_id, f.side, f.last_px) for f in fills] == [
            ("b1", Side.BUY, D(70_100)),
            ("s1", Side.SELL, D(70_000)),
        ]
        spec = spec_for(SYMBOL)
        assert fills[1].fee == D(700_000) * (spec.taker_fee_bps + spec.sell_tax_bps) / 10_000
        after = await client.balances()
        moved = -D(701_000) - fills[0].fee + D(700_000) - fills[1].fee
        assert after.get("KRW").total - before.get("KRW").total == moved
        assert after.get("005930") == Balance() and (await client.positions()).positions == {}
    finally:
        await client.close()


async def test_a_cancel_tells_the_fills_before_it(emu: RunningEmulator, tmp_path: Path) -> None:
    """KIS's cancel answer does not say what filled: the client reads the order's row first, so a
    session stopping right after its cancels (the stop sequence) has journalled every fill."""
    client = _client(emu, tmp_path)
    buy = _order("p1", D(70_100), qty=D(1200))  # the ask holds 1000: the rest rests
    assert isinstance((await client.submit(buy))[0], OrderAccepted)
    cancel = CancelOrder(
        ts_event=0, ts_init=0, strategy="t", venue="kis", client_order_id="p1", instrument=SYMBOL
    )
    assert isinstance((await client.cancel(cancel))[0], OrderCanceled)
    await client.close()
    told = [e async for e in client.events()]
    ends = [isinstance(e, OrderCanceled) for e in told if isinstance(e, OrderFilled | OrderCanceled)]
    assert ends == [False, True]  # the fill, then the cancel
    assert next(e for e in told if isinstance(e, OrderFilled)).last_qty == D(1000)


async def test_a_restarted_client_tells_only_the_growth_beyond_the_journals_fills(
    emu: RunningEmulator, tmp_path: Path
) -> None:
    """KIS tells a fill as the growth of an order's totals. A restarted client that counted from zero
    told the journal's fills again as one fill of their sum, which the order book refused as an
    overfill: the real growth was lost with it."""
    first = _client(emu, tmp_path)
    buy = _order("g1", D(70_100), qty=D(1200))  # the ask holds 1000: 1000 now, 200 later
    accepted = (await first.submit(buy))[0]
    assert isinstance(accepted, OrderAccepted)
    told = await first.fills_since(None)
    assert [f.last_qty for f in told] == [D(1000)]
    await first.close()
    emu.exchange.quote(SYMBOL, D(70_000), D(70_100), D(1000), D(1000))  # the rest fills meanwhile

    restarted = _client(
        emu,
        tmp_path,
        order_map={"g1": accepted.venue_order_id},
        fills_known={"g1": (D(1000), told[0].last_qty * told[0].last_px)},
    )
    fills = await restarted.fills_since(told[0].trade_id)
    await restarted.close()
    assert [(f.last_qty, f.cum_qty, f.last_px) for f in fills] == [(D(200), D(1200), D(70_100))]
