"""The arbitrage engine: alignment, strict leg order, leg-failure policies, sizes, the audit trail.

The engine runs in :class:`Harness`: the kernel (engines/kernel.py) that the replay and live
drivers share, on a memory journal, with the simulated venue behind its venue port.
:func:`check_journal` states the journal-level invariants; the property tests
(tests/property/test_arbitrage_props.py) and the benchmark reuse both.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from daemon.journal import MemoryJournal
from engines.arbitrage.engine import UNWIND_ATTEMPTS, ArbitrageEngine
from engines.arbitrage.legs import ArbitrageError, venue_quantity
from engines.errors import ContractViolation, VibeError
from engines.kernel import Kernel
from engines.ledger import Ledger
from engines.markets.specs import spec_for
from engines.model.codec import Codec
from engines.model.commands import CancelOrder, SubmitOrder
from engines.model.enums import OrderType, Side, TimeInForce
from engines.model.events import (
    ArbitrageResolved,
    CashAdjusted,
    Event,
    InstrumentDefined,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderPendingCancel,
    OrderRejected,
    OrderSubmitted,
    QuoteTick,
    SnapshotSkipped,
    StrategyHalted,
    StrategyLog,
)
from engines.model.instruments import InstrumentSpec
from engines.orders.book import Orders
from engines.sdk import ArbIntent, ArbitrageParams, ArbitrageStrategy, Context, LegOrder, Snapshot
from engines.sim.venue import SimVenue
from engines.strategy.declaration import declare
from engines.strategy.runtime import Outgoing, StrategyError

D = Decimal
SPOT = "binance-spot:BTCUSDT"
USDM = "binance-usdm:BTCUSDT"
COINM = "binance-coinm:BTCUSD-PERP"
MS = 1_000_000
SEC = 1_000_000_000
T0 = 1_723_161_257_000_000_000
CASH = D(1_000_000)
_TERMINAL = (OrderRejected, OrderCanceled, OrderExpired)


# ── the harness ─────────────────────────────────────────────────────────────────────────────────


class RefusingVenue:
    """The simulated venue behind a venue port that can refuse chosen orders (``refuse`` returns the
    reason) without the venue seeing them, and that fails a runaway engine instead of hanging."""

    def __init__(
        self, venue: SimVenue, refuse: Callable[[SubmitOrder], str | None] | None, max_orders: int
    ) -> None:
        self.venue = venue
        self.refuse = refuse
        self.max_orders = max_orders
        self.sent = 0
        self.on_market = venue.on_market
        self.cancel = venue.cancel
        self.query = venue.query

    def submit(self, cmd: SubmitOrder, at_ns: int) -> Sequence[Event]:
        self.sent += 1
        assert self.sent <= self.max_orders, f"more than {self.max_orders} orders: a runaway engine"
        why = self.refuse(cmd) if self.refuse is not None else None
        if why is not None:
            return [
                OrderRejected(
                    ts_event=at_ns,
                    ts_init=at_ns,
                    client_order_id=cmd.client_order_id,
                    reason=why,
                    code="TEST",
                )
            ]
        return self.venue.submit(cmd, at_ns)


class Harness:
    """The ArbitrageEngine in the kernel (engines/kernel.py), as the replay runs it, on a memory journal.

    What a test adds through the venue port: ``refuse`` rejects a chosen order without the venue
    seeing it. No equity sampling (tests count facts); ``journal_quotes`` journals the quotes too.
    """

    def __init__(
        self,
        cls: type,
        *,
        params: Mapping[str, str] | None = None,
        latency_ns: int | Mapping[str, int] = 0,
        reject_every: int | None = None,
        reject_prob: Decimal | None = None,
        seed: int = 0,
        cash: Decimal = CASH,
        refuse: Callable[[SubmitOrder], str | None] | None = None,
        specs: Mapping[str, InstrumentSpec] | None = None,
        journal_quotes: bool = False,
        max_orders: int = 100_000,
    ) -> None:
        spec = declare({"STRATEGY": cls}, source="", filename="strategy.py", overrides=dict(params or {}))
        self.spec = spec
        self.specs = dict(specs) if specs is not None else {s: spec_for(s) for s in spec.universe}
        self.ledger = Ledger()
        self.orders = Orders()
        self.memory = MemoryJournal()
        sim = SimVenue(
            self.specs,
            self.ledger,
            latency_ns=latency_ns,
            seed=seed,
            reject_every=reject_every,
            reject_prob=reject_prob,
        )
        self.currency = self.specs[spec.universe[0]].quote
        engine = ArbitrageEngine(
            spec, self.ledger, self.orders, currency=self.currency, specs=self.specs, seed=seed
        )
        self.engine = engine
        self.kernel = Kernel(
            engine,
            ledger=self.ledger,
            orders=self.orders,
            journal=self.memory,
            venue=RefusingVenue(sim, refuse, max_orders),
            universe=spec.universe,
            currency=self.currency,
            sample_ns=None,
            journal_market=journal_quotes,
        )
        for s in sorted(self.specs):
            self.kernel.record(InstrumentDefined(ts_event=0, ts_init=0, spec=self.specs[s]))
        for currency in sorted({self.currency, *(sp.settle for sp in self.specs.values())}):
            self.kernel.record(
                CashAdjusted(ts_event=0, ts_init=0, currency=currency, amount=cash, reason="initial")
            )
        engine.start(0)
        self.kernel.settle(0)

    @property
    def journal(self) -> list[Event]:
        return list(self.memory.read())

    def feed(self, events: Iterable[QuoteTick]) -> Harness:
        self.kernel.step_batch(list(events))
        return self

    def finish(self) -> Harness:
        self.kernel.finish("test")
        return self

    # ── views ──

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.journal if isinstance(e, kind)]

    def position(self, symbol: str) -> Decimal:
        return self.ledger.position(symbol).qty


def quote(
    symbol: str,
    ts: int,
    bid: str | Decimal = "60000.0",
    ask: str | Decimal = "60000.1",
    size: str | Decimal = "10",
) -> QuoteTick:
    return QuoteTick(
        ts_event=ts,
        ts_init=ts,
        instrument=symbol,
        bid=D(bid),
        bid_size=D(size),
        ask=D(ask),
        ask_size=D(size),
    )


# ── journal-level invariants ────────────────────────────────────────────────────────────────────

ALLOWED: Mapping[str, frozenset[str]] = {
    "unwind": frozenset({"filled", "unwound", "halted"}),
    "hedge": frozenset({"filled", "hedged", "unwound", "halted"}),
    "halt": frozenset({"filled", "halted"}),
}


def check_journal(
    journal: Sequence[Event],
    *,
    legs: Sequence[str],
    window_ns: int,
    policy: str,
    next_leg_on: str,
    hedge_retries: int | None = None,
    allow_unresolved: bool = False,
) -> dict[str, str]:
    """Assert the arbitrage invariants on a journal; return each arbitrage's outcome.

    * every order of an arbitrage carries the same ``aligned_ts_ns``, one per declared leg, whose
      spread is within the window; when the journal holds the quotes (``journal_quotes``), they are
      the exchange times of each declared leg's latest quote when the arbitrage opened;
    * the first order of each leg index appears in strictly increasing leg order (0, 1, ...), and
      leg ``i + 1``'s first order comes after leg ``i`` reached the required state (journal order
      and exchange time); with ``filled`` at most one order of the arbitrage works at any time;
      later orders of a leg are hedges (its side, at most ``hedge_retries`` of them under hedge, none
      otherwise) or unwinds (the opposite side, at most ``UNWIND_ATTEMPTS`` per leg, sent only when no
      order of the arbitrage works, in reverse leg order);
    * one arbitrage at a time, each resolved exactly once, after its last order, with an outcome
      its policy allows; ``filled``: every leg filled by its one order; ``hedged``: every leg filled,
      with at least one hedge; ``unwound``: the net fills of every leg are zero; ``halted``: a
      StrategyHalted follows (VT343 under halt, VT344 for a failed unwind) and nothing is sent after.
    """
    orders: dict[str, OrderSubmitted] = {}
    open_ids: dict[str, set[str]] = defaultdict(set)
    by_arb: dict[str, list[OrderSubmitted]] = defaultdict(list)
    first_leg: dict[str, dict[int, OrderSubmitted]] = defaultdict(dict)
    reached: dict[str, dict[int, tuple[int, int]]] = defaultdict(dict)  # arb -> leg -> (seq, ts)
    fills: dict[str, dict[tuple[int, Side], Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    cum: dict[str, Decimal] = defaultdict(Decimal)
    outcomes: dict[str, str] = {}
    current: str | None = None
    halted_seq: int | None = None
    halts: list[StrategyHalted] = []
    latest: dict[str, int] = {}
    unwinding: dict[str, int] = {}  # arb -> leg of its latest unwind order
    extra: dict[str, dict[tuple[int, bool], int]] = defaultdict(lambda: defaultdict(int))
    for e in journal:
        if isinstance(e, QuoteTick):
            latest[e.instrument] = e.ts_event
        elif isinstance(e, OrderSubmitted):
            assert halted_seq is None, f"{e.client_order_id} sent after the strategy halted"
            arb = e.arb_id
            assert arb is not None and e.leg is not None and e.aligned_ts_ns is not None, e
            if arb != current:
                assert current is None, f"{arb} opened while {current} is in flight"
                assert arb not in outcomes, f"{arb} reopened"
                current = arb
                if latest:
                    assert e.aligned_ts_ns == tuple(latest.get(leg, -1) for leg in legs), f"{arb}: {latest}"
            aligned = e.aligned_ts_ns
            assert len(aligned) == len(legs)
            assert max(aligned) - min(aligned) <= window_ns, f"{arb}: aligned spread {aligned}"
            assert all(o.aligned_ts_ns == aligned for o in by_arb[arb])
            if next_leg_on == "filled":
                assert not open_ids[arb], f"{e.client_order_id} sent while {open_ids[arb]} work"
            known = first_leg[arb]
            if e.leg not in known:
                assert e.leg == len(known), f"{arb}: leg {e.leg} sent after legs {sorted(known)}"
                if e.leg > 0:
                    assert e.leg - 1 in reached[arb], f"{arb}: leg {e.leg} before leg {e.leg - 1} reached it"
                    seq, ts = reached[arb][e.leg - 1]
                    assert seq < e.seq and ts <= e.ts_event
                known[e.leg] = e
            else:
                entry = known[e.leg]
                assert e.side in (entry.side, entry.side.opposite)
                extra[arb][(e.leg, e.side is entry.side)] += 1
                if e.side is entry.side:
                    bound = (
                        (hedge_retries if hedge_retries is not None else 10**9) if policy == "hedge" else 0
                    )
                    assert extra[arb][(e.leg, True)] <= bound, f"{arb}: too many hedges of leg {e.leg}"
                else:
                    assert extra[arb][(e.leg, False)] <= UNWIND_ATTEMPTS, f"{arb}: unwinds of leg {e.leg}"
                    assert not open_ids[arb], f"{arb}: unwind sent while {open_ids[arb]} work"
                    assert e.leg <= unwinding.get(arb, e.leg), f"{arb}: unwind of leg {e.leg} out of order"
                    unwinding[arb] = e.leg
                assert e.instrument == entry.instrument
                assert e.order_type is OrderType.MARKET
            orders[e.client_order_id] = e
            open_ids[arb].add(e.client_order_id)
            by_arb[arb].append(e)
        elif isinstance(e, OrderAccepted | OrderFilled | OrderRejected | OrderCanceled | OrderExpired):
            o = orders.get(e.client_order_id)
            if o is None:
                continue
            arb, leg = o.arb_id, o.leg
            assert arb is not None and leg is not None
            is_leg_side = o.side is first_leg[arb][leg].side
            if isinstance(e, OrderFilled):
                fills[arb][(leg, e.side)] += e.last_qty
                cum[o.client_order_id] = e.cum_qty
                if e.cum_qty == o.quantity:
                    open_ids[arb].discard(o.client_order_id)
                    if is_leg_side:
                        reached[arb].setdefault(leg, (e.seq, e.ts_event))
                elif is_leg_side and next_leg_on == "accepted":
                    reached[arb].setdefault(leg, (e.seq, e.ts_event))
            elif isinstance(e, OrderAccepted):
                if is_leg_side and next_leg_on == "accepted":
                    reached[arb].setdefault(leg, (e.seq, e.ts_event))
            else:
                open_ids[arb].discard(o.client_order_id)
        elif isinstance(e, ArbitrageResolved):
            assert e.arb_id == current, f"{e.arb_id} resolved while {current} is in flight"
            assert e.arb_id not in outcomes, f"{e.arb_id} resolved twice"
            assert e.outcome in ALLOWED[policy], f"{e.arb_id}: {e.outcome} under {policy}"
            arb = e.arb_id
            entries = first_leg[arb]
            f = fills[arb]
            if e.outcome != "halted":
                assert not open_ids[arb], f"{arb} resolved with {open_ids[arb]} working"
            if e.outcome in ("filled", "hedged"):
                assert sorted(entries) == list(range(len(entries)))
                for leg, o in entries.items():
                    assert f[(leg, o.side)] == o.quantity, f"{arb} leg {leg}"
                    assert f[(leg, o.side.opposite)] == 0
                hedges = len(by_arb[arb]) - len(entries)
                assert (hedges > 0) == (e.outcome == "hedged"), f"{arb}: {hedges} extra orders, {e.outcome}"
            if e.outcome == "unwound":
                for leg, o in entries.items():
                    assert f[(leg, o.side)] == f[(leg, o.side.opposite)], f"{arb} leg {leg} not flat"
            outcomes[arb] = e.outcome
            current = None
        elif isinstance(e, StrategyHalted):
            halts.append(e)
            halted_seq = e.seq
    halted = [a for a, o in outcomes.items() if o == "halted"]
    assert len(halted) == len(halts) <= 1
    if halts:
        assert halts[0].code == ("VT343" if policy == "halt" else "VT344")
    if not allow_unresolved:
        assert current is None, f"{current} never resolved"
    else:
        assert current is None or current == list(by_arb)[-1]
    return outcomes


# ── strategies ──────────────────────────────────────────────────────────────────────────────────


class Legs2(ArbitrageParams, frozen=True, kw_only=True):
    legs: str = f"{SPOT},{USDM}"


class Legs3(ArbitrageParams, frozen=True, kw_only=True):
    legs: str = f"{USDM},{COINM},{SPOT}"


def scripted(script: Sequence[ArbIntent | None], params: type = Legs2) -> type:
    """A strategy returning ``script`` one item per snapshot (then None), recording the snapshots."""
    queue = list(script)

    class Scripted(ArbitrageStrategy[params]):  # type: ignore[valid-type]
        name = "arb"
        seen: ClassVar[list[Snapshot]] = []

        def on_snapshot(self, ctx: Context, snapshot: Snapshot) -> ArbIntent | None:
            type(self).seen.append(snapshot)
            return queue.pop(0) if queue else None

    return Scripted


def intent(*legs: tuple[str, Side, str] | tuple[str, Side, str, str]) -> ArbIntent:
    return ArbIntent(
        tuple(
            LegOrder(
                symbol=leg[0], side=leg[1], quantity=D(leg[2]), limit=D(leg[3]) if len(leg) > 3 else None
            )  # type: ignore[misc]
            for leg in legs
        )
    )


BUY_SPOT_SELL_USDM = intent((SPOT, Side.BUY, "0.01"), (USDM, Side.SELL, "0.01"))


def both(ts: int, **kw: str) -> list[QuoteTick]:
    return [quote(SPOT, ts, **kw), quote(USDM, ts, **kw)]


def stream(start: int, n: int, step: int = 10 * MS, symbols: Sequence[str] = (SPOT, USDM)) -> list[QuoteTick]:
    return [quote(s, start + k * step) for k in range(n) for s in symbols]


def run(
    script: Sequence[ArbIntent | None],
    events: Iterable[QuoteTick],
    params_cls: type = Legs2,
    **kw: Any,
) -> Harness:
    cls = scripted(script, params_cls)
    h = Harness(cls, **kw)
    h.feed(events).finish()
    return h


def arb_orders(h: Harness) -> list[OrderSubmitted]:
    return [o for o in h.of(OrderSubmitted) if o.arb_id is not None]


def checked(h: Harness, **kw: Any) -> dict[str, str]:
    params = h.spec.params
    assert isinstance(params, ArbitrageParams)
    return check_journal(
        h.journal,
        legs=h.spec.universe,
        window_ns=params.window_ms * MS,
        policy=str(params.policy),
        next_leg_on=params.next_leg_on,
        hedge_retries=params.hedge_retries,
        **kw,
    )


# ── alignment ───────────────────────────────────────────────────────────────────────────────────


def test_a_snapshot_within_the_window_is_evaluated_with_every_legs_latest_quote() -> None:
    cls = scripted([])
    h = Harness(cls, params={"window_ms": "50"})
    h.feed([quote(SPOT, T0), quote(USDM, T0 + 50 * MS, bid="60001.0", ask="60001.1")])
    (snap,) = cls.seen  # type: ignore[attr-defined]
    assert snap.ts_ns == T0 + 50 * MS
    assert set(snap.quotes) == {SPOT, USDM}
    assert snap.quotes[USDM].bid == D("60001.0")
    assert snap.quotes[SPOT].ts_event == T0
    assert h.engine.snapshots_aligned == 1 and h.engine.snapshots_stale == 0


def test_one_nanosecond_beyond_the_window_is_stale_never_shown_and_counted() -> None:
    cls = scripted([BUY_SPOT_SELL_USDM])
    h = Harness(cls, params={"window_ms": "50"})
    h.feed([quote(SPOT, T0), quote(USDM, T0 + 50 * MS + 1)])
    assert cls.seen == []  # type: ignore[attr-defined]
    assert h.engine.snapshots_stale == 1
    assert arb_orders(h) == []


def test_before_every_leg_has_a_quote_there_is_no_snapshot_and_the_end_says_which_leg_is_missing() -> None:
    cls = scripted([BUY_SPOT_SELL_USDM])
    h = Harness(cls)
    h.feed([quote(SPOT, T0 + k * MS) for k in range(5)]).finish()
    assert cls.seen == []  # type: ignore[attr-defined]
    assert h.engine.quotes_waiting == 5
    assert h.of(SnapshotSkipped) == []
    (log,) = h.of(StrategyLog)
    assert USDM in log.message and "no quote ever" in log.message


def test_stale_snapshots_are_journalled_coalesced_with_the_widest_spread() -> None:
    cls = scripted([])
    h = Harness(cls, params={"window_ms": "10"})
    # USDM quoted once at T0; spot quotes 20, 30, ..., 110 ms later: 10 stale snapshots
    events = [quote(USDM, T0)] + [quote(SPOT, T0 + (20 + 10 * k) * MS) for k in range(10)]
    h.feed(events)
    assert h.of(SnapshotSkipped) == []  # less than 1 s: still pending
    h.finish()
    (skipped,) = h.of(SnapshotSkipped)
    assert skipped.count == 10
    assert skipped.spread_ns == 110 * MS
    assert h.engine.snapshots_stale == 10


def test_a_stale_stretch_is_journalled_at_least_once_per_second_of_exchange_time() -> None:
    cls = scripted([])
    h = Harness(cls, params={"window_ms": "10"})
    events = [quote(USDM, T0)] + [quote(SPOT, T0 + (20 + 100 * k) * MS) for k in range(35)]  # 3.4 s
    h.feed(events).finish()
    records = h.of(SnapshotSkipped)
    assert sum(r.count for r in records) == 35
    assert len(records) == 4  # 3 full seconds and the tail at the end
    full = records[:-1]  # the last one is the tail, journalled by finish()
    assert all(b.ts_event - a.ts_event >= SEC for a, b in itertools.pairwise(full))
    assert [r.spread_ns for r in records] == sorted(r.spread_ns for r in records)


def test_a_loop_that_never_calls_on_time_still_gets_a_stale_record_per_second() -> None:
    spec = declare({"STRATEGY": scripted([])}, source="", filename="s.py", overrides={"window_ms": "10"})
    specs = {s: spec_for(s) for s in spec.universe}
    engine = ArbitrageEngine(spec, Ledger(), Orders(), currency="USDT", specs=specs)
    engine.handle(quote(USDM, T0))
    out: list[Outgoing] = []
    for k in range(25):  # spot 20 ms, 120 ms, ... 2.42 s after the one USDM quote
        engine.handle(quote(SPOT, T0 + (20 + 100 * k) * MS))
        out.extend(engine.drain())
    assert [(r.count, r.ts_event) for r in out if isinstance(r, SnapshotSkipped)] == [
        (11, T0 + 1020 * MS),
        (11, T0 + 2120 * MS),
    ]


def test_the_stale_count_is_journalled_before_the_first_order_of_an_arbitrage() -> None:
    h = run(
        [BUY_SPOT_SELL_USDM],
        [quote(USDM, T0), quote(SPOT, T0 + 100 * MS), quote(USDM, T0 + 100 * MS), *stream(T0 + SEC, 3)],
        params={"window_ms": "10"},
    )
    kinds = [type(e).__name__ for e in h.journal if isinstance(e, SnapshotSkipped | OrderSubmitted)]
    assert kinds[:2] == ["SnapshotSkipped", "OrderSubmitted"]
    assert h.of(SnapshotSkipped)[0].count == 1


def test_no_snapshot_is_evaluated_while_an_arbitrage_is_in_flight() -> None:
    cls = scripted([BUY_SPOT_SELL_USDM, None])
    # latency 50 ms: the legs take a while; quotes every 10 ms meanwhile
    h = Harness(cls, latency_ns=50 * MS)
    h.feed(stream(T0, 30)).finish()
    assert h.engine.snapshots_busy > 0
    resolved = h.of(ArbitrageResolved)[0]
    assert all(s.ts_ns <= T0 or s.ts_ns >= resolved.ts_event for s in cls.seen)  # type: ignore[attr-defined]
    assert checked(h) == {"arb-1": "filled"}


# ── ordering and gating ─────────────────────────────────────────────────────────────────────────


def test_legs_go_in_the_intents_order_and_the_next_only_after_the_previous_filled_in_full() -> None:
    # small displayed sizes: leg 0 (0.01) fills in three quotes of 0.004
    spot_small = [quote(SPOT, T0 + k * 10 * MS, size="0.004") for k in range(1, 8)]
    events = [quote(SPOT, T0, size="0.004"), quote(USDM, T0), *spot_small, *stream(T0 + 100 * MS, 10)]
    h = run([BUY_SPOT_SELL_USDM], sorted(events, key=lambda q: q.ts_event), latency_ns=5 * MS)
    o0, o1 = arb_orders(h)
    assert (o0.leg, o0.instrument, o1.leg, o1.instrument) == (0, SPOT, 1, USDM)
    leg0_fills = [e for e in h.of(OrderFilled) if e.client_order_id == o0.client_order_id]
    assert [f.cum_qty for f in leg0_fills] == [D("0.004"), D("0.008"), D("0.01")]
    assert o1.seq > leg0_fills[-1].seq and o1.ts_event == leg0_fills[-1].ts_event
    assert checked(h) == {"arb-1": "filled"}


def test_with_next_leg_on_accepted_the_next_leg_goes_on_the_acknowledgement() -> None:
    h = run([BUY_SPOT_SELL_USDM], stream(T0, 10), params={"next_leg_on": "accepted"}, latency_ns=5 * MS)
    o0, o1 = arb_orders(h)
    ack0 = next(e for e in h.of(OrderAccepted) if e.client_order_id == o0.client_order_id)
    fill0 = next(e for e in h.of(OrderFilled) if e.client_order_id == o0.client_order_id)
    assert ack0.seq < o1.seq < fill0.seq
    assert o1.ts_event == ack0.ts_event == T0 + 5 * MS
    assert checked(h) == {"arb-1": "filled"}


def test_the_legs_order_is_the_intents_not_the_declared_one_and_audit_fields_are_on_every_order() -> None:
    # declared: USDM, COINM, SPOT; the intent sends SPOT, USDM, COINM
    three = intent((SPOT, Side.BUY, "0.01"), (USDM, Side.SELL, "0.01"), (COINM, Side.SELL, "0.01"))
    events = [
        quote(USDM, T0),
        quote(COINM, T0 + 3 * MS),
        quote(SPOT, T0 + 7 * MS),
        *stream(T0 + 10 * MS, 5, symbols=(USDM, COINM, SPOT)),
    ]
    h = run([three], events, Legs3)
    orders = arb_orders(h)
    assert [(o.leg, o.instrument) for o in orders] == [(0, SPOT), (1, USDM), (2, COINM)]
    for o in orders:
        assert o.arb_id == "arb-1"
        assert o.aligned_ts_ns == (T0, T0 + 3 * MS, T0 + 7 * MS)  # declared order: USDM, COINM, SPOT
        assert o.strategy == "arb"
    assert checked(h) == {"arb-1": "filled"}


def test_every_intent_gets_a_fresh_arb_id_and_one_resolution() -> None:
    h = run(
        [BUY_SPOT_SELL_USDM, None, intent((SPOT, Side.SELL, "0.01"), (USDM, Side.BUY, "0.01"))],
        stream(T0, 20),
    )
    assert [r.arb_id for r in h.of(ArbitrageResolved)] == ["arb-1", "arb-2"]
    assert checked(h) == {"arb-1": "filled", "arb-2": "filled"}
    assert h.position(SPOT) == 0 and h.position(USDM) == 0


# ── leg failure: unwind ─────────────────────────────────────────────────────────────────────────


def test_unwind_reverses_the_filled_legs_in_reverse_order_with_market_orders() -> None:
    three = intent((SPOT, Side.BUY, "0.01"), (USDM, Side.SELL, "0.01"), (COINM, Side.SELL, "0.01"))
    # every 3rd order is rejected: legs 0 and 1 pass, leg 2 is rejected
    h = run([three], stream(T0, 12, symbols=(USDM, COINM, SPOT)), Legs3, reject_every=3, latency_ns=2 * MS)
    orders = arb_orders(h)
    assert [(o.leg, o.side) for o in orders] == [
        (0, Side.BUY),
        (1, Side.SELL),
        (2, Side.SELL),
        (1, Side.BUY),  # the unwind, latest leg first
        (0, Side.SELL),
    ]
    assert all(o.order_type is OrderType.MARKET for o in orders[3:])
    assert [o.quantity for o in orders[3:]] == [D("0.010"), D("0.01")]
    (res,) = h.of(ArbitrageResolved)
    assert res.outcome == "unwound"
    assert "leg 2" in res.reason and "INJECTED" in res.reason
    assert h.position(SPOT) == 0 and h.position(USDM) == 0 and h.position(COINM) == 0
    assert checked(h) == {"arb-1": "unwound"}


def test_unwind_waits_for_working_legs_under_next_leg_on_accepted() -> None:
    # leg 0's IOC limit is not marketable: acknowledged, leg 1 goes, then leg 0 is canceled unfilled
    script = [intent((SPOT, Side.BUY, "0.01", "59000"), (USDM, Side.SELL, "0.01"))]
    h = run(script, stream(T0, 10), params={"next_leg_on": "accepted"}, latency_ns=2 * MS)
    orders = arb_orders(h)
    assert [(o.leg, o.instrument, o.side) for o in orders] == [
        (0, SPOT, Side.BUY),
        (1, USDM, Side.SELL),
        (1, USDM, Side.BUY),
    ]
    assert orders[0].order_type is OrderType.LIMIT and orders[0].time_in_force is TimeInForce.IOC
    (res,) = h.of(ArbitrageResolved)
    assert res.outcome == "unwound" and "canceled" in res.reason
    assert checked(h) == {"arb-1": "unwound"}


def test_a_partial_fill_of_the_failed_leg_is_unwound_too() -> None:
    # leg 1 is an IOC limit meeting 0.004 at its price: 0.004 of 0.01 filled, the rest canceled
    script = [intent((USDM, Side.SELL, "0.01"), (SPOT, Side.BUY, "0.01", "60000.1"))]
    events = sorted(
        stream(T0, 3, symbols=(USDM,)) + [quote(SPOT, T0 + k * 10 * MS, size="0.004") for k in range(3)],
        key=lambda q: q.ts_event,
    ) + stream(T0 + 50 * MS, 5)
    h = run(script, events)
    orders = arb_orders(h)
    assert [(o.leg, o.instrument, o.side, o.quantity) for o in orders] == [
        (0, USDM, Side.SELL, D("0.010")),
        (1, SPOT, Side.BUY, D("0.01")),
        (1, SPOT, Side.SELL, D("0.004")),  # the filled part of the failed leg first
        (0, USDM, Side.BUY, D("0.010")),
    ]
    (res,) = h.of(ArbitrageResolved)
    assert res.outcome == "unwound" and "filled 0.004 of 0.01" in res.reason
    assert h.position(SPOT) == 0 and h.position(USDM) == 0
    assert checked(h) == {"arb-1": "unwound"}


def test_a_rejected_first_leg_resolves_unwound_with_nothing_to_reverse() -> None:
    h = run([intent((SPOT, Side.SELL, "0.01"), (USDM, Side.BUY, "0.01"))], stream(T0, 5))
    (_o,) = arb_orders(h)
    (rej,) = h.of(OrderRejected)
    assert rej.code == "INSUFFICIENT_POSITION"  # spot cannot be sold short
    (res,) = h.of(ArbitrageResolved)
    assert res.outcome == "unwound" and "INSUFFICIENT_POSITION" in res.reason
    assert checked(h) == {"arb-1": "unwound"}


def test_an_unwind_that_keeps_failing_halts_the_strategy_with_vt344() -> None:
    def refuse(cmd: SubmitOrder) -> str | None:
        if cmd.instrument == USDM:
            return "usdm down"
        if cmd.side is Side.SELL:  # the unwind of the spot buy
            return "spot sells refused"
        return None

    h = run([BUY_SPOT_SELL_USDM, BUY_SPOT_SELL_USDM], stream(T0, 10), refuse=refuse)
    orders = arb_orders(h)
    assert [(o.leg, o.side) for o in orders] == [(0, Side.BUY), (1, Side.SELL)] + [
        (0, Side.SELL)
    ] * UNWIND_ATTEMPTS
    (res,) = h.of(ArbitrageResolved)
    assert res.outcome == "halted" and "unwind of leg 0" in res.reason
    (halt,) = h.of(StrategyHalted)
    assert halt.code == "VT344" and halt.seq > res.seq
    assert h.engine.halted
    assert h.position(SPOT) == D("0.01")  # left for a human: the halt says so
    assert checked(h) == {"arb-1": "halted"}


# ── leg failure: hedge ──────────────────────────────────────────────────────────────────────────


def test_hedge_resends_the_failed_legs_remainder_as_a_market_order() -> None:
    # order 2 (leg 1) is rejected, order 3 (its hedge) passes
    h = run([BUY_SPOT_SELL_USDM], stream(T0, 10), params={"policy": "hedge"}, reject_every=2)
    orders = arb_orders(h)
    assert [(o.leg, o.side, o.order_type) for o in orders] == [
        (0, Side.BUY, OrderType.MARKET),
        (1, Side.SELL, OrderType.MARKET),
        (1, Side.SELL, OrderType.MARKET),
    ]
    (res,) = h.of(ArbitrageResolved)
    assert res.outcome == "hedged" and "hedge 1 of leg 1" in res.reason
    assert h.position(SPOT) == D("0.01") and h.position(USDM) == D("-0.010")
    assert checked(h) == {"arb-1": "hedged"}


def test_hedge_hedges_a_partial_ioc_with_its_remainder_only() -> None:
    script = [intent((USDM, Side.SELL, "0.01"), (SPOT, Side.BUY, "0.01", "60000.1"))]
    events = sorted(
        stream(T0, 3, symbols=(USDM,)) + [quote(SPOT, T0 + k * 10 * MS, size="0.004") for k in range(3)],
        key=lambda q: q.ts_event,
    ) + stream(T0 + 50 * MS, 5)
    h = run(script, events, params={"policy": "hedge"})
    hedge = arb_orders(h)[2]
    assert (hedge.leg, hedge.side, hedge.quantity, hedge.order_type) == (
        1,
        Side.BUY,
        D("0.006"),
        OrderType.MARKET,
    )
    assert checked(h) == {"arb-1": "hedged"}
    assert h.position(SPOT) == D("0.010")


def test_hedge_falls_back_to_unwind_when_its_retries_are_spent() -> None:
    refuse_usdm = lambda cmd: "usdm down" if cmd.instrument == USDM else None  # noqa: E731
    h = run(
        [BUY_SPOT_SELL_USDM],
        stream(T0, 10),
        params={"policy": "hedge", "hedge_retries": "2"},
        refuse=refuse_usdm,
    )
    orders = arb_orders(h)
    assert [(o.leg, o.side) for o in orders] == [(0, Side.BUY)] + [(1, Side.SELL)] * 3 + [(0, Side.SELL)]
    (res,) = h.of(ArbitrageResolved)
    assert res.outcome == "unwound" and "2 hedge(s) of leg 1 spent" in res.reason
    assert h.position(SPOT) == 0
    assert checked(h) == {"arb-1": "unwound"}


def test_hedge_with_zero_retries_unwinds_at_once() -> None:
    h = run(
        [BUY_SPOT_SELL_USDM], stream(T0, 10), params={"policy": "hedge", "hedge_retries": "0"}, reject_every=2
    )
    assert [(o.leg, o.side) for o in arb_orders(h)] == [(0, Side.BUY), (1, Side.SELL), (0, Side.SELL)]
    assert checked(h) == {"arb-1": "unwound"}


# ── leg failure: halt ───────────────────────────────────────────────────────────────────────────


def test_halt_stops_the_strategy_and_leaves_the_filled_legs() -> None:
    cls = scripted([BUY_SPOT_SELL_USDM, BUY_SPOT_SELL_USDM])
    h = Harness(cls, params={"policy": "halt"}, reject_every=2)
    h.feed(stream(T0, 20)).finish()
    assert len(arb_orders(h)) == 2
    (res,) = h.of(ArbitrageResolved)
    (halt,) = h.of(StrategyHalted)
    assert res.outcome == "halted" and "policy halt" in res.reason and "INJECTED" in res.reason
    assert halt.code == "VT343" and "arb-1" in halt.reason
    assert h.position(SPOT) == D("0.01")
    seen_before = len(cls.seen)  # type: ignore[attr-defined]
    h.feed(stream(T0 + SEC, 10)).finish()
    assert len(cls.seen) == seen_before  # type: ignore[attr-defined]
    assert len(arb_orders(h)) == 2
    assert checked(h) == {"arb-1": "halted"}


def test_halt_leaves_a_working_leg_working() -> None:
    # next_leg_on accepted: leg 1 (USDM, 40 ms latency) is working when leg 0's IOC is canceled
    script = [intent((SPOT, Side.BUY, "0.01", "59000"), (USDM, Side.SELL, "0.01"))]
    h = Harness(
        scripted(script),
        params={"policy": "halt", "next_leg_on": "accepted"},
        latency_ns={"binance-usdm": 40 * MS},
    )
    h.feed(stream(T0, 3))
    assert h.engine.halted
    cids = [o.client_order_id for o in arb_orders(h)]
    assert h.orders.get(cids[1]).status.name == "ACCEPTED"  # type: ignore[union-attr]
    h.feed(stream(T0 + 100 * MS, 3)).finish()
    assert h.of(CancelOrder) == []
    assert h.position(USDM) == D("-0.010")  # it filled later, nobody canceled it
    assert checked(h) == {"arb-1": "halted"}


# ── timeouts (a venue that stops answering) ─────────────────────────────────────────────────────


def test_a_leg_working_past_leg_timeout_ms_is_canceled_and_the_policy_applies() -> None:
    # spot goes quiet after T0: the market buy on spot never finds a quote to fill against
    events = [quote(USDM, T0), quote(SPOT, T0)] + [quote(USDM, T0 + k * 100 * MS) for k in range(1, 30)]
    script = [intent((USDM, Side.SELL, "0.01"), (SPOT, Side.BUY, "0.01"))]
    h = run(script, events, params={"leg_timeout_ms": "1000"}, latency_ns=1 * MS)
    (cancel,) = h.of(OrderPendingCancel)
    leg1 = arb_orders(h)[1]
    assert cancel.client_order_id == leg1.client_order_id
    assert cancel.ts_event - leg1.ts_event >= SEC
    (res,) = h.of(ArbitrageResolved)
    assert res.outcome == "unwound" and "leg 1" in res.reason and "canceled" in res.reason
    assert h.position(USDM) == 0
    assert checked(h) == {"arb-1": "unwound"}


# ── sizes: inverse conversion, lots, ticks ──────────────────────────────────────────────────────


def test_inverse_legs_convert_base_units_to_contracts_at_the_touch_rounded_down() -> None:
    spec = spec_for(COINM)
    q = quote(COINM, T0, bid="59999.9", ask="61000.0")
    # buy 0.0199 BTC at the ask 61000: 12.139 → 12 contracts of 100 USD
    assert venue_quantity(spec, LegOrder(symbol=COINM, side=Side.BUY, quantity=D("0.0199")), q) == 12
    # sell at the bid 59999.9: 11.9399801 → 11
    assert venue_quantity(spec, LegOrder(symbol=COINM, side=Side.SELL, quantity=D("0.0199")), q) == 11
    # linear and spot: base units, floored to the lot
    usdm = quote(USDM, T0)
    assert venue_quantity(
        spec_for(USDM), LegOrder(symbol=USDM, side=Side.BUY, quantity=D("0.0157")), usdm
    ) == D("0.015")
    assert venue_quantity(
        spec_for(SPOT), LegOrder(symbol=SPOT, side=Side.BUY, quantity=D("0.0157")), usdm
    ) == D("0.0157")


def test_an_inverse_leg_is_sent_in_contracts() -> None:
    script = [intent((COINM, Side.SELL, "0.02"), (USDM, Side.BUY, "0.02"), (SPOT, Side.BUY, "0.02"))]
    events = [quote(s, T0, bid="60000.0", ask="60000.1") for s in (USDM, COINM, SPOT)] + stream(
        T0 + MS, 5, symbols=(USDM, COINM, SPOT)
    )
    h = run(script, events, Legs3)
    coinm = arb_orders(h)[0]
    assert (coinm.instrument, coinm.quantity) == (COINM, D(12))  # 0.02 × 60000.0 / 100
    assert h.position(COINM) == D(-12)
    assert checked(h) == {"arb-1": "filled"}


def test_a_leg_that_rounds_to_zero_is_vt340_before_anything_is_sent() -> None:
    # 0.001 BTC at 60000 is 0.6 contracts of 100 USD: zero after rounding down
    script = [intent((USDM, Side.BUY, "0.01"), (COINM, Side.SELL, "0.001"))]
    with pytest.raises(ArbitrageError) as info:
        run(script, stream(T0, 3, symbols=(USDM, COINM, SPOT)), Legs3)
    assert info.value.code == "VT340"
    assert "0 contracts" in info.value.message and COINM in info.value.message
    assert "lot" in info.value.hint


def test_a_spot_leg_below_one_lot_is_vt340() -> None:
    cls = scripted([intent((SPOT, Side.BUY, "0.000009"), (USDM, Side.SELL, "0.01"))])
    h = Harness(cls)
    with pytest.raises(ArbitrageError) as info:
        h.feed(stream(T0, 2))
    assert info.value.code == "VT340"
    assert arb_orders(h) == []


def test_an_inverse_leg_without_a_touch_to_convert_at_is_vt341() -> None:
    q = quote(COINM, T0, bid="0", ask="60000.1")
    with pytest.raises(ArbitrageError) as info:
        venue_quantity(spec_for(COINM), LegOrder(symbol=COINM, side=Side.SELL, quantity=D("0.02")), q)
    assert info.value.code == "VT341"


def test_limits_are_rounded_onto_the_tick_grid_buys_down_sells_up() -> None:
    script = [intent((SPOT, Side.BUY, "0.01", "60000.119"), (USDM, Side.SELL, "0.01", "59999.91"))]
    h = run(script, stream(T0, 5))
    o0, o1 = arb_orders(h)
    assert (o0.order_type, o0.time_in_force, o0.price) == (OrderType.LIMIT, TimeInForce.IOC, D("60000.11"))
    assert (o1.order_type, o1.time_in_force, o1.price) == (OrderType.LIMIT, TimeInForce.IOC, D("60000.0"))
    assert checked(h) == {"arb-1": "filled"}


def test_a_buy_limit_below_one_tick_is_vt341() -> None:
    with pytest.raises(ArbitrageError) as info:
        run([intent((SPOT, Side.BUY, "0.01", "0.001"), (USDM, Side.SELL, "0.01"))], stream(T0, 2))
    assert info.value.code == "VT341"


# ── typed failures ──────────────────────────────────────────────────────────────────────────────


def test_a_strategy_that_raises_is_a_strategy_error() -> None:
    class Boom(ArbitrageStrategy[Legs2]):
        def on_snapshot(self, ctx: Context, snapshot: Snapshot) -> ArbIntent | None:
            raise ZeroDivisionError("boom")

    h = Harness(Boom)
    with pytest.raises(StrategyError) as info:
        h.feed(stream(T0, 1))
    assert info.value.code == "VT330"


def test_an_intent_breaking_the_contract_is_a_contract_violation() -> None:
    one_leg = ArbIntent((LegOrder(symbol=SPOT, side=Side.BUY, quantity=D(1)),))
    with pytest.raises(ContractViolation) as info:
        run([one_leg], stream(T0, 2))
    assert info.value.code == "VT320"


def test_a_negative_window_is_vt342_and_a_leg_without_a_spec_vt135() -> None:
    with pytest.raises(ArbitrageError) as info:
        Harness(scripted([]), params={"window_ms": "-1"})
    assert info.value.code == "VT342"
    spec = declare({"STRATEGY": scripted([])}, source="", filename="s.py")
    with pytest.raises(VibeError) as missing:
        ArbitrageEngine(spec, Ledger(), Orders(), currency="USDT", specs={SPOT: spec_for(SPOT)})
    assert missing.value.code == "VT135"


def test_the_engine_refuses_other_strategy_types() -> None:
    from engines.sdk import Bar, Params, Signal, SingleAssetStrategy

    class P(Params, frozen=True, kw_only=True):
        symbol: str = SPOT

    class Single(SingleAssetStrategy[P]):
        def on_bar(self, ctx: Context, bar: Bar) -> Signal:
            return None

    spec = declare({"STRATEGY": Single}, source="", filename="s.py")
    with pytest.raises(ValueError, match="arbitrage"):
        ArbitrageEngine(spec, Ledger(), Orders(), currency="USDT", specs={SPOT: spec_for(SPOT)})


# ── determinism ─────────────────────────────────────────────────────────────────────────────────


def test_the_same_inputs_give_a_byte_identical_journal() -> None:
    def once() -> bytes:
        h = run(
            [
                BUY_SPOT_SELL_USDM,
                None,
                BUY_SPOT_SELL_USDM,
                intent((SPOT, Side.SELL, "0.02"), (USDM, Side.BUY, "0.02")),
            ],
            stream(T0, 40),
            params={"policy": "hedge"},
            reject_prob=D("0.3"),
            seed=7,
            latency_ns=3 * MS,
        )
        codec = Codec()
        return b"\n".join(codec.to_json(e) for e in h.journal)

    assert once() == once()


# ── real data ───────────────────────────────────────────────────────────────────────────────────


def real_quotes(shared_data: Any) -> list[QuoteTick]:
    from daemon.data import merge

    files = [
        shared_data / "binance-spot_BTCUSDT_quotes_20240808.csv.gz",
        shared_data / "binance-usdm_BTCUSDT_quotes_20240808.csv.gz",
    ]
    return [e for e in merge(files) if isinstance(e, QuoteTick)]


def spread_arb() -> type:
    from daemon.preflight import load_strategy
    from tests.conftest import REPO

    return load_strategy(REPO / "strategies" / "examples" / "spread_arb.py").spec.cls


@pytest.mark.parametrize(
    ("params", "venue"),
    [
        ({"entry_bps": "1", "exit_bps": "0.5"}, {"latency_ns": 5 * MS}),
        ({"entry_bps": "1", "exit_bps": "0.5"}, {"reject_every": 2, "latency_ns": 5 * MS}),
        (
            {"entry_bps": "1", "exit_bps": "0.5", "policy": "hedge"},
            {"reject_every": 3, "latency_ns": 20 * MS},
        ),
        (
            {
                "entry_bps": "0.5",
                "exit_bps": "0",
                "policy": "unwind",
                "next_leg_on": "accepted",
                "window_ms": "20",
            },
            {
                "reject_prob": D("0.2"),
                "seed": 3,
                "latency_ns": {"binance-spot": 2 * MS, "binance-usdm": 30 * MS},
            },
        ),
        ({"entry_bps": "1", "exit_bps": "0.5", "policy": "halt"}, {"reject_every": 4}),
    ],
)
def test_spread_arb_on_real_binance_quotes_keeps_every_invariant(
    shared_data: Any, params: dict[str, str], venue: dict[str, Any]
) -> None:
    events = real_quotes(shared_data)
    h = Harness(spread_arb(), params={"cooldown_ms": "200", **params}, **venue)
    h.feed(events).finish()
    outcomes = checked(h, allow_unresolved=True)
    assert outcomes, "no arbitrage traded on the real data"
    eng = h.engine
    assert eng.snapshots_aligned > 1000
    assert eng.snapshots_stale == sum(r.count for r in h.of(SnapshotSkipped))
    counted = eng.snapshots_aligned + eng.snapshots_stale + eng.snapshots_busy
    assert counted + eng.quotes_waiting + eng.quotes_halted == len(events)
    policy = params.get("policy", "unwind")
    if policy == "halt":
        assert "halted" in outcomes.values()
    if "reject_every" in venue or "reject_prob" in venue:
        assert set(outcomes.values()) - {"filled"}, outcomes
    # nothing after a halt; a halt, if any, is the last outcome
    if "halted" in outcomes.values():
        assert list(outcomes.values())[-1] == "halted"


def test_spread_arb_never_sells_spot_it_does_not_hold(shared_data: Any) -> None:
    h = Harness(spread_arb(), params={"entry_bps": "1", "exit_bps": "0.5"})
    h.feed(real_quotes(shared_data)).finish()
    assert not [r for r in h.of(OrderRejected) if r.code == "INSUFFICIENT_POSITION"]
    assert all(o in ("filled",) for o in checked(h, allow_unresolved=True).values())


def test_the_replay_journal_of_spread_arb_keeps_the_invariants(shared_data: Any, tmp_path: Any) -> None:
    from daemon.replay import ReplayConfig, read_journal, replay
    from tests.conftest import REPO

    files = (
        shared_data / "binance-spot_BTCUSDT_quotes_20240808.csv.gz",
        shared_data / "binance-usdm_BTCUSDT_quotes_20240808.csv.gz",
    )
    cfg = ReplayConfig(
        strategy=REPO / "strategies" / "examples" / "spread_arb.py",
        data=files,
        out=tmp_path / "run",
        params=("entry_bps=1", "exit_bps=0.5", "policy=hedge", "hedge_retries=1"),
        cash=D(1_000_000),
        latency_ns=5 * MS,
        reject_every=2,
        quiet=True,
    )
    result = replay(cfg)
    journal = list(read_journal(tmp_path / "run" / "journal.vtj"))
    outcomes = check_journal(
        journal, legs=(SPOT, USDM), window_ns=50 * MS, policy="hedge", next_leg_on="filled", hedge_retries=1
    )
    assert outcomes and set(outcomes.values()) == {"hedged"}  # every 2nd order rejected, every hedge passes
    assert result.report.arbitrages == dict(sorted(Counter(outcomes.values()).items()))
