"""The shared transport pieces: backoff, rate budget, clock offset, unknown-outcome resolver."""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.transport import Backoff, ClockOffset, RateBudget, resolve_unknown
from adapters.venue_errors import (
    Outcome,
    RateBudgetError,
    UnresolvedOrderError,
    VenueHaltedError,
    VenueRefusal,
)
from engines.model.commands import QueryOrder
from engines.model.enums import OrderType, ReportedStatus, Side
from engines.model.events import OrderStatusReport


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


# ── backoff ──


def test_backoff_is_bounded_jittered_and_seeded() -> None:
    b = Backoff(base_s=0.1, factor=2, cap_s=0.5, attempts=6)
    delays = list(b.delays(random.Random(7)))
    assert len(delays) == 6
    assert all(0 <= d <= b.ceiling(i) for i, d in enumerate(delays))
    assert [b.ceiling(i) for i in range(6)] == [0.1, 0.2, 0.4, 0.5, 0.5, 0.5]
    assert delays == list(b.delays(random.Random(7)))  # same seed, same delays
    assert delays != list(b.delays(random.Random(8)))


# ── rate budget ──


def test_budget_never_exceeds_its_limit_in_a_burst() -> None:
    clock = FakeClock()
    budget = RateBudget("binance", limit=10, window_s=60, clock=clock)
    taken = [budget.try_take(3) for _ in range(5)]
    assert taken == [True, True, True, False, False]
    assert budget.used() == 9
    assert budget.wait_for(3) == pytest.approx(60.0)  # the first spend must leave the window
    clock.t += 60.0
    assert budget.try_take(3)
    assert budget.used() == 3


def test_budget_counts_what_the_venue_says_was_used() -> None:
    clock = FakeClock()
    budget = RateBudget("binance", limit=100, window_s=60, clock=clock)
    budget.try_take(1)
    budget.observe_used(95)  # another process spent the rest: X-MBX-USED-WEIGHT-1M
    assert budget.used() == 95
    assert not budget.try_take(10)
    budget.observe_used(20)  # a lower figure never lowers what we counted
    assert budget.used() == 95


def test_budget_pause_and_halt() -> None:
    clock = FakeClock()
    budget = RateBudget("bybit", limit=100, window_s=1, clock=clock)
    budget.pause(2.5)  # a 429's Retry-After
    assert budget.wait_for(1) == pytest.approx(2.5)
    clock.t += 2.5
    assert budget.try_take(1)
    budget.halt("HTTP 418: IP banned until 1715000000000")
    with pytest.raises(VenueHaltedError, match="banned until") as err:
        budget.try_take(1)
    assert err.value.code == "VT806"


async def test_budget_take_refuses_a_wait_longer_than_its_timeout() -> None:
    budget = RateBudget("binance", limit=2, window_s=60)
    await budget.take(2, timeout=0.1)
    with pytest.raises(RateBudgetError) as err:
        await budget.take(1, timeout=0.1)
    assert err.value.code == "VT810"
    assert budget.used() == 2  # nothing spent by the refused request
    with pytest.raises(RateBudgetError):
        await budget.take(3, timeout=100)  # heavier than the whole limit


async def test_budget_take_waits_for_room() -> None:
    budget = RateBudget("bybit", limit=1, window_s=0.05)
    await budget.take(1, timeout=1)
    await budget.take(1, timeout=1)  # waits about 50 ms, then fits
    assert budget.used() == 1


# ── clock offset ──


def test_clock_offset_is_measured_from_the_midpoint() -> None:
    wall = [1_000]
    clock = ClockOffset(wall_ms=lambda: wall[0])
    clock.update(server_ms=5_050, sent_ms=1_000, received_ms=1_100)
    assert clock.offset_ms == 4_000
    assert clock.round_trip_ms == 100
    wall[0] = 2_000
    assert clock.now_ms() == 6_000
    assert clock.local_ms() == 2_000


# ── resolving an unknown outcome ──


class Refused(VenueRefusal):
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        super().__init__(f"refused: {outcome}")


QUERY = QueryOrder(
    ts_event=0,
    ts_init=0,
    strategy="s",
    venue="binance",
    client_order_id="s-00000001",
    instrument="binance-spot:BTCUSDT",
    side=Side.BUY,
    order_type=OrderType.LIMIT,
    quantity=D("0.01"),
)
REPORT = OrderStatusReport(
    ts_event=1,
    ts_init=1,
    client_order_id="s-00000001",
    venue="binance",
    instrument="binance-spot:BTCUSDT",
    side=Side.BUY,
    order_type=OrderType.LIMIT,
    quantity=D("0.01"),
    status=ReportedStatus.ACCEPTED,
    filled_qty=D(0),
)


class ScriptedClient:
    """Answers queries from a script: an exception to raise or the report; counts creates (none)."""

    def __init__(self, script: Sequence[BaseException | OrderStatusReport]) -> None:
        self.script = list(script)
        self.queries = 0

    async def query(self, cmd: QueryOrder) -> OrderStatusReport:
        self.queries += 1
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step


FAST = Backoff(base_s=0.001, cap_s=0.002, attempts=3)


async def test_resolver_retries_timeouts_and_retryable_refusals_then_answers() -> None:
    client = ScriptedClient([TimeoutError(), Refused(Outcome.UNKNOWN), Refused(Outcome.BACK_OFF), REPORT])
    assert await resolve_unknown(client, QUERY, backoff=FAST, rng=random.Random(1)) is REPORT  # type: ignore[arg-type]
    assert client.queries == 4


async def test_resolver_gives_up_after_its_attempts_without_resending() -> None:
    client = ScriptedClient([TimeoutError()] * 10)
    with pytest.raises(UnresolvedOrderError, match="s-00000001 still unknown after 4 queries") as err:
        await resolve_unknown(client, QUERY, backoff=FAST)  # type: ignore[arg-type]
    assert err.value.code == "VT807"
    assert client.queries == 4


async def test_resolver_passes_a_final_refusal_on() -> None:
    client = ScriptedClient([Refused(Outcome.HALT)])
    with pytest.raises(Refused):
        await resolve_unknown(client, QUERY, backoff=FAST)  # type: ignore[arg-type]
    assert client.queries == 1


# ── the event stream behind every port's events() ──


async def test_event_stream_keeps_order_ends_and_raises_where_it_failed() -> None:
    from adapters.transport.stream import EventStream

    stream: EventStream[int] = EventStream()
    for k in (1, 2):
        stream.put(k)
    stream.fail(ValueError("venue gone"))
    got: list[int] = []
    with pytest.raises(ValueError, match="venue gone"):
        async for item in stream:
            got.append(item)
    assert got == [1, 2]
    stream.put(3)
    stream.end()
    stream.put(4)  # after the end: never read
    assert [item async for item in stream] == [3]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["take", "observe", "tick"]), st.integers(min_value=1, max_value=40)),
        max_size=60,
    )
)
def test_the_budget_running_total_is_always_the_window_sum(ops: list[tuple[str, int]]) -> None:
    """The budget keeps a running total instead of summing its window per request: after any mix of
    spends, venue corrections and expiries it equals the sum of what is in the window."""
    now = [0.0]
    budget = RateBudget("prop", limit=100, window_s=1.0, clock=lambda: now[0])
    for op, n in ops:
        if op == "take":
            budget.try_take(min(n, 100))
        elif op == "observe":
            budget.observe_used(n * 2)
        else:
            now[0] += n / 50
        assert budget.used() == sum(w for _, w in budget._spent)
        assert budget.used() >= 0
