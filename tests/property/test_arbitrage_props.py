"""Random quote streams for 2-3 legs, random intents, latencies and rejects keep the arbitrage invariants.

For any stream, parameters and venue (``check_journal`` in tests/unit/engines/test_arbitrage.py):

* the first order of each leg of an arbitrage appears in strictly increasing leg order, and leg
  ``i + 1`` only after leg ``i`` reached the state ``next_leg_on`` asks for (with ``filled``, at most
  one order of the arbitrage works at any time);
* every traded snapshot's ``aligned_ts_ns`` are the latest quotes of the declared legs and lie within
  the window;
* one arbitrage at a time, each resolved exactly once with an outcome its policy allows;
* after ``unwound`` the net fills of every leg of the arbitrage are zero; ``filled`` and ``hedged``
  legs hold exactly their quantity; a halt is the last thing the strategy does.

The stream ends with a quiet tail (every leg quoted, the strategy silent) long enough for timeouts,
hedges and unwinds to finish, so every intent must be resolved.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engines.arbitrage.engine import UNWIND_ATTEMPTS
from engines.model.enums import Side
from engines.model.events import QuoteTick
from engines.sdk import ArbIntent, ArbitrageParams, ArbitrageStrategy, Context, LegOrder, Snapshot
from tests.unit.engines.test_arbitrage import COINM, MS, SPOT, T0, USDM, Harness, check_journal

D = Decimal
TICK = D("0.1")
SIZES = {
    SPOT: ("0.001", "0.003", "0.02", "5"),
    USDM: ("0.001", "0.003", "0.02", "5"),
    COINM: ("1", "3", "20", "5000"),
}
QTYS = (D("0.002"), D("0.005"), D("0.01"))


class PropParams(ArbitrageParams, frozen=True, kw_only=True):
    legs: str = f"{SPOT},{USDM}"
    one_in: int = 3  # an intent on one snapshot in this many
    until_ns: int = 0  # no intent at or after this exchange time (0: no limit)


class RandomArb(ArbitrageStrategy[PropParams]):
    """Random intents from the seeded context: random legs, order, sides, sizes and IOC limits."""

    name = "prop"

    def on_snapshot(self, ctx: Context, snapshot: Snapshot) -> ArbIntent | None:
        r = ctx.random
        if self.params.until_ns and ctx.now_ns >= self.params.until_ns:
            return None
        if r.randint(0, self.params.one_in - 1):
            return None
        symbols = list(self.universe)
        for i in range(len(symbols) - 1, 0, -1):  # Fisher-Yates from the seeded stream
            j = r.randint(0, i)
            symbols[i], symbols[j] = symbols[j], symbols[i]
        count = r.randint(2, len(symbols))
        legs = []
        for symbol in symbols[:count]:
            side = Side.BUY if r.randint(0, 1) else Side.SELL
            q = snapshot.quotes[symbol]
            limit = None
            if r.randint(0, 3) == 0:  # an IOC limit around the touch, sometimes off the tick grid
                touch = q.ask if side is Side.BUY else q.bid
                limit = touch + TICK * r.randint(-2, 2) + D("0.03") * r.randint(0, 1)
            legs.append(LegOrder(symbol=symbol, side=side, quantity=QTYS[r.randint(0, 2)], limit=limit))
        return ArbIntent(tuple(legs))


step = st.tuples(
    st.integers(0, 2),  # which leg quotes
    st.sampled_from([0, 0, 0, 1, 2, 5, 10, 30, 80]),  # ms since the previous quote
    st.integers(-3, 3),  # mid move, ticks
    st.integers(1, 3),  # half spread, ticks
    st.integers(0, 3),  # displayed size
)
LEG_SETS = [
    (SPOT, USDM),
    (USDM, SPOT),
    (USDM, COINM),
    (SPOT, USDM, COINM),
    (COINM, SPOT, USDM),
]


def quotes(
    legs: tuple[str, ...], steps: list[tuple[int, int, int, int, int]], basis: list[int]
) -> list[QuoteTick]:
    mids = [600_000 + b for b in basis]  # in ticks of 0.1
    ts = T0
    out = []
    for leg, dt, move, half, size in steps:
        i = leg % len(legs)
        ts += dt * MS
        mids[i] += move
        out.append(_quote(legs[i], ts, mids[i], half, SIZES[legs[i]][size]))
    return out


def _quote(symbol: str, ts: int, mid: int, half: int, size: str) -> QuoteTick:
    return QuoteTick(
        ts_event=ts,
        ts_init=ts,
        instrument=symbol,
        bid=D(mid - half) * TICK,
        bid_size=D(size),
        ask=D(mid + half) * TICK,
        ask_size=D(size),
    )


class Case(NamedTuple):
    legs: tuple[str, ...]
    steps: list[tuple[int, int, int, int, int]]
    basis: list[int]
    window_ms: int
    policy: str
    next_leg_on: str
    hedge_retries: int
    timeout_ms: int
    latency: tuple[int, int, int]
    reject_prob: Decimal
    one_in: int
    seed: int


cases = st.builds(
    Case,
    legs=st.sampled_from(LEG_SETS),
    steps=st.lists(step, min_size=10, max_size=150),
    basis=st.lists(st.integers(-40, 40), min_size=3, max_size=3),
    window_ms=st.sampled_from([0, 5, 20, 50]),
    policy=st.sampled_from(["unwind", "hedge", "halt"]),
    next_leg_on=st.sampled_from(["filled", "accepted"]),
    hedge_retries=st.integers(0, 2),
    timeout_ms=st.sampled_from([30, 200, 1000]),
    latency=st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40)),
    reject_prob=st.sampled_from([D(0), D("0.1"), D("0.3"), D("0.6")]),
    one_in=st.integers(1, 4),
    seed=st.integers(0, 2**32),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases)
def test_random_streams_keep_the_arbitrage_invariants(case: Case) -> None:
    legs = case.legs
    stream = quotes(legs, case.steps, case.basis)
    end = stream[-1].ts_event
    # the tail: every leg quoted together with ample size every 10 ms; the strategy trades in its
    # first second, then is silent long enough for every order of the last arbitrage to fill or
    # time out, hedges and unwinds included
    attempts = (len(legs) + 1) * (case.hedge_retries + UNWIND_ATTEMPTS + 2)
    tail_ms = 1_000 + max(case.timeout_ms, 50) * attempts + 200
    tail = [
        _quote(symbol, end + (k + 1) * 10 * MS, 600_000, 1, SIZES[symbol][3])
        for k in range(tail_ms // 10)
        for symbol in legs
    ]
    markets = ("binance-spot", "binance-usdm", "binance-coinm")
    h = Harness(
        RandomArb,
        params={
            "legs": ",".join(legs),
            "window_ms": str(case.window_ms),
            "policy": case.policy,
            "next_leg_on": case.next_leg_on,
            "hedge_retries": str(case.hedge_retries),
            "leg_timeout_ms": str(case.timeout_ms),
            "one_in": str(case.one_in),
            "until_ns": str(end + 1_000 * MS),
        },
        latency_ns={m: lat * MS for m, lat in zip(markets, case.latency, strict=True)},
        reject_prob=case.reject_prob,
        seed=case.seed,
        journal_quotes=True,
    )
    h.feed(stream).feed(tail).finish()
    outcomes = check_journal(
        h.journal,
        legs=legs,
        window_ns=case.window_ms * MS,
        policy=case.policy,
        next_leg_on=case.next_leg_on,
        hedge_retries=case.hedge_retries,
    )
    assert len(outcomes) == h.engine.arbitrages
    assert h.engine.in_flight is None
    assert h.engine.halted == ("halted" in outcomes.values())
    for outcome in sorted(set(outcomes.values())):
        event(f"outcome {outcome}")
    event(f"{min(len(outcomes), 5)} arbitrages (5: 5+)")
