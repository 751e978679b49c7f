"""Pre-trade risk limits and the trading halt (engines/risk.py): each limit refuses exactly the first
order past it, the daily loss halts, the halt is a fold of the journal, and with no limit set the
gate is invisible."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engines.clock import ReplayClock
from engines.errors import ERROR_CODES
from engines.kernel import Kernel, VenuePort, make_engine
from engines.ledger import Ledger
from engines.markets.specs import spec_for
from engines.model.codec import submitted
from engines.model.commands import CancelOrder, QueryOrder, SubmitOrder
from engines.model.enums import OrderType, Side
from engines.model.events import (
    ORDER_EVENTS,
    CashAdjusted,
    Event,
    InstrumentDefined,
    MarketEvent,
    MarkPrice,
    OrderAccepted,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    QuoteTick,
    RunStarted,
    TradingHalted,
    TradingResumed,
)
from engines.model.instruments import InstrumentKind, InstrumentSpec
from engines.orders.book import Orders
from engines.orders.table import OrderStatus
from engines.risk import RiskGate, RiskLimits, RiskLimitsError
from engines.sdk import Context, Params, Signal, SingleAssetStrategy, TargetPosition
from engines.sim.venue import SimVenue
from engines.strategy.declaration import declare
from engines.units import NS_PER_DAY, NS_PER_MS, NS_PER_SECOND

D = Decimal
T0 = 1_704_067_200 * 10**9  # 2024-01-01T00:00:00Z
SYM = "binance-spot:BTCUSDT"
ETH = "binance-spot:ETHUSDT"
INV = "bybit-inverse:BTCUSD"


def _spot(symbol: str) -> InstrumentSpec:
    return InstrumentSpec(
        symbol=symbol,
        kind=InstrumentKind.SPOT,
        base=symbol.split(":")[1][:3],
        quote="USDT",
        settle="USDT",
        tick_size=D("0.01"),
        lot_size=D("0.001"),
    )


SPECS = {
    SYM: _spot(SYM),
    ETH: _spot(ETH),
    INV: InstrumentSpec(
        symbol=INV,
        kind=InstrumentKind.INVERSE,
        base="BTC",
        quote="USD",
        settle="BTC",
        tick_size=D("0.5"),
        lot_size=D(1),
        multiplier=D(100),
    ),
}


class RecordingPort:
    """The venue behind the gate: records every call and accepts every order at once."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object, int | None]] = []
        self.answers: dict[str, Sequence[Event]] = {}

    def submit(self, cmd: SubmitOrder, at_ns: int) -> Sequence[Event]:
        self.calls.append(("submit", cmd, at_ns))
        answer = [
            OrderAccepted(
                ts_event=at_ns,
                ts_init=at_ns,
                client_order_id=cmd.client_order_id,
                venue_order_id=f"v-{cmd.client_order_id}",
            )
        ]
        return self.answers.setdefault(cmd.client_order_id, answer)

    def cancel(self, cmd: CancelOrder, at_ns: int) -> Sequence[Event]:
        self.calls.append(("cancel", cmd, at_ns))
        return self.answers.setdefault("cancel", [])

    def query(self, cmd: QueryOrder, at_ns: int) -> Sequence[Event]:
        self.calls.append(("query", cmd, at_ns))
        return self.answers.setdefault("query", [])

    def on_market(self, event: MarketEvent) -> Sequence[Event]:
        self.calls.append(("on_market", event, None))
        return self.answers.setdefault("on_market", [])

    def submitted(self) -> list[str]:
        return [c.client_order_id for kind, c, _ in self.calls if isinstance(c, SubmitOrder)]


class Session:
    """What the kernel and the live driver do around the gate: journal the intent, ask the gate,
    journal its answer; fold every journalled event into ledger and orders, then hand it to the gate."""

    def __init__(self, limits: RiskLimits, *, cash: str = "100000", mark: str | None = "100") -> None:
        self.ledger, self.orders, self.clock = Ledger(), Orders(), ReplayClock()
        self.inner = RecordingPort()
        self.gate = RiskGate(
            self.inner,
            limits,
            ledger=self.ledger,
            orders=self.orders,
            currency="USDT",
            clock=self.clock,
            specs=SPECS,
        )
        self.journal: list[Event] = []
        self.n = 0
        for spec in SPECS.values():
            self.fold(InstrumentDefined(ts_event=T0, ts_init=T0, spec=spec))
        self.fold(CashAdjusted(ts_event=T0, ts_init=T0, currency="USDT", amount=D(cash), reason="capital"))
        if mark is not None:
            self.set_mark(mark)

    def fold(self, event: Event) -> None:
        if isinstance(event, ORDER_EVENTS):
            self.orders.apply(event)  # type: ignore[arg-type]
        self.ledger.apply(event)
        self.journal.append(event)
        self.gate.observe(event)

    def set_mark(self, price: str, symbol: str = SYM, at: int = T0) -> None:
        self.fold(MarkPrice(ts_event=at, ts_init=at, instrument=symbol, price=D(price)))

    def command(
        self,
        side: Side,
        qty: str,
        *,
        price: str | None = None,
        symbol: str = SYM,
        venue: str = "binance",
        at: int = T0,
    ) -> SubmitOrder:
        self.n += 1
        return SubmitOrder(
            ts_event=at,
            ts_init=at,
            strategy="s",
            venue=venue,
            client_order_id=f"o{self.n}",
            instrument=symbol,
            side=side,
            order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
            quantity=D(qty),
            price=None if price is None else D(price),
        )

    def send(
        self,
        side: Side,
        qty: str,
        *,
        price: str | None = None,
        symbol: str = SYM,
        venue: str = "binance",
        at: int = T0,
    ) -> list[Event]:
        cmd = self.command(side, qty, price=price, symbol=symbol, venue=venue, at=at)
        self.fold(submitted(cmd))
        facts = list(self.gate.submit(cmd, at))
        for fact in facts:
            self.fold(fact)
        return facts

    def hold(self, qty: str, px: str = "100", symbol: str = SYM) -> None:
        """A position from an order filled before the gate was asked about anything."""
        side = Side.BUY if D(qty) > 0 else Side.SELL
        cmd = self.command(side, str(abs(D(qty))), symbol=symbol)
        cid = cmd.client_order_id
        self.fold(submitted(cmd))
        self.fold(OrderAccepted(ts_event=T0, ts_init=T0, client_order_id=cid, venue_order_id="v"))
        self.fold(
            OrderFilled(
                ts_event=T0,
                ts_init=T0,
                client_order_id=cid,
                instrument=symbol,
                side=side,
                trade_id=f"t-{cid}",
                last_qty=abs(D(qty)),
                last_px=D(px),
                cum_qty=abs(D(qty)),
                fee=D(0),
                fee_currency="USDT",
            )
        )


def code_of(facts: Sequence[Event]) -> str | None:
    """None when the order went through (the venue accepted it), else the gate's reject code."""
    first = facts[0]
    if isinstance(first, OrderAccepted):
        return None
    assert isinstance(first, OrderRejected)
    return first.code


# ── no limits: the gate is invisible ─────────────────────────────────────────────────────────────


def test_without_limits_every_call_goes_to_the_venue_unchanged() -> None:
    limits = RiskLimits()
    assert not limits.any_set()
    s = Session(limits, mark=None)
    gate, inner = s.gate, s.inner
    cmd = s.command(Side.BUY, "1000000")  # a market order nothing can value: no limit asks
    assert gate.submit(cmd, T0 + 5) is inner.answers[cmd.client_order_id]
    cancel = CancelOrder(
        ts_event=T0, ts_init=T0, strategy="s", venue="binance", client_order_id="o1", instrument=SYM
    )
    query = QueryOrder(
        ts_event=T0,
        ts_init=T0,
        strategy="s",
        venue="binance",
        client_order_id="o1",
        instrument=SYM,
        side=Side.BUY,
        order_type=OrderType.MARKET,
        quantity=D(1),
    )
    tick = QuoteTick(
        ts_event=T0, ts_init=T0, instrument=SYM, bid=D(1), bid_size=D(1), ask=D(2), ask_size=D(1)
    )
    assert gate.cancel(cancel, T0 + 6) is inner.answers["cancel"]
    assert gate.query(query, T0 + 7) is inner.answers["query"]
    assert gate.on_market(tick) is inner.answers["on_market"]
    assert inner.calls == [
        ("submit", cmd, T0 + 5),
        ("cancel", cancel, T0 + 6),
        ("query", query, T0 + 7),
        ("on_market", tick, None),
    ]


def test_the_gate_is_a_venue_port_the_kernel_takes() -> None:
    port: VenuePort = RiskGate(
        RecordingPort(), RiskLimits(), ledger=Ledger(), orders=Orders(), currency="USDT", clock=ReplayClock()
    )
    assert isinstance(port, RiskGate)


@pytest.mark.parametrize(
    "limits",
    [
        RiskLimits(max_order_notional=D(1)),
        RiskLimits(position_limits={SYM: D(1)}),
        RiskLimits(default_position_limit=D(1)),
        RiskLimits(max_open_orders=1),
        RiskLimits(orders_per_second={"binance": 1}),
        RiskLimits(default_orders_per_second=1),
        RiskLimits(daily_loss_limit=D(1)),
    ],
)
def test_any_one_limit_counts_as_set(limits: RiskLimits) -> None:
    assert limits.any_set()


# ── limits and their boundaries ─────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("qty", "price", "code"),
    [
        ("10", "100", None),  # 1000: at the limit
        ("9.999", "100", None),
        ("10.001", "100", "VT960"),  # 1000.1
        ("10", "100.01", "VT960"),
        ("10", None, None),  # market order valued at the mark, 100
        ("10.001", None, "VT960"),
    ],
)
def test_order_notional_is_refused_only_above_the_limit(
    qty: str, price: str | None, code: str | None
) -> None:
    s = Session(RiskLimits(max_order_notional=D(1000)))
    facts = s.send(Side.BUY, qty, price=price)
    assert code_of(facts) == code
    if code is not None:
        (reject,) = facts
        assert isinstance(reject, OrderRejected)
        assert "max_order_notional 1000" in reject.reason and reject.reason.startswith("risk: ")
        assert s.inner.submitted() == []
        assert s.orders.get(reject.client_order_id).status is OrderStatus.REJECTED  # type: ignore[union-attr]


def test_a_market_order_with_no_mark_is_refused_when_notional_is_limited() -> None:
    s = Session(RiskLimits(max_order_notional=D(1000)), mark=None)
    (reject,) = s.send(Side.BUY, "1")
    assert isinstance(reject, OrderRejected) and reject.code == "VT961"
    assert "no mark" in reject.reason
    assert code_of(s.send(Side.BUY, "1", price="100")) is None  # a limit order values itself


@pytest.mark.parametrize(("contracts", "code"), [("10", None), ("11", "VT960")])
def test_an_inverse_contract_is_valued_at_its_face_value(contracts: str, code: str | None) -> None:
    s = Session(RiskLimits(max_order_notional=D(1000)))
    # 100 USD a contract whatever the price: no mark is needed
    assert code_of(s.send(Side.BUY, contracts, symbol=INV)) == code


@pytest.mark.parametrize(
    ("position", "open_qty", "side", "qty", "code"),
    [
        ("0", "0", Side.BUY, "5", None),  # 5: at the limit
        ("0", "0", Side.BUY, "5.001", "VT962"),
        ("0", "0", Side.SELL, "5", None),
        ("0", "0", Side.SELL, "5.001", "VT962"),
        ("2", "0", Side.BUY, "3", None),
        ("2", "0", Side.BUY, "3.001", "VT962"),
        ("2", "1", Side.BUY, "2", None),  # an open buy of 1 counts
        ("2", "1", Side.BUY, "2.001", "VT962"),
        ("2", "1", Side.SELL, "7", None),  # the open buy is on the other side: 2 - 7 = -5
        ("2", "1", Side.SELL, "7.001", "VT962"),
    ],
)
def test_position_limit_counts_the_position_and_open_orders_on_the_order_side(
    position: str, open_qty: str, side: Side, qty: str, code: str | None
) -> None:
    s = Session(RiskLimits(position_limits={SYM: D(5)}))
    if D(position):
        s.hold(position)
    if D(open_qty):
        assert code_of(s.send(Side.BUY, open_qty, price="90")) is None
    facts = s.send(side, qty, price="100")
    assert code_of(facts) == code
    if code is not None:
        assert isinstance(facts[0], OrderRejected) and "position limit 5" in facts[0].reason


def test_a_sell_does_not_make_room_for_a_buy_that_can_fill_alone() -> None:
    s = Session(RiskLimits(position_limits={SYM: D(5)}))
    assert code_of(s.send(Side.SELL, "4", price="110")) is None
    # net of both orders would be +5, but the buy can fill while the sell never does
    assert code_of(s.send(Side.BUY, "9", price="90")) == "VT962"
    assert code_of(s.send(Side.BUY, "5", price="90")) is None


@pytest.mark.parametrize(
    ("position", "side", "qty", "code"),
    [
        ("8", Side.SELL, "1", None),  # over the limit already: reducing is let through
        ("8", Side.SELL, "8", None),
        ("8", Side.SELL, "14", None),  # -6: over the limit, but nearer zero than 8
        ("8", Side.SELL, "16", None),  # -8
        ("8", Side.SELL, "16.001", "VT962"),
        ("8", Side.BUY, "0.001", "VT962"),
        ("-8", Side.BUY, "3", None),
        ("-8", Side.SELL, "0.001", "VT962"),
    ],
)
def test_an_order_that_reduces_passes_over_the_position_limit(
    position: str, side: Side, qty: str, code: str | None
) -> None:
    s = Session(RiskLimits(default_position_limit=D(5)))
    s.hold(position)
    assert code_of(s.send(side, qty, price="100")) == code


def test_position_limits_are_per_symbol_with_a_default() -> None:
    s = Session(RiskLimits(position_limits={SYM: D(1)}, default_position_limit=D(10)))
    s.set_mark("50", symbol=ETH)
    assert code_of(s.send(Side.BUY, "2", price="100")) == "VT962"
    assert code_of(s.send(Side.BUY, "10", price="50", symbol=ETH)) is None
    assert code_of(s.send(Side.BUY, "0.001", price="50", symbol=ETH)) == "VT962"


@pytest.mark.parametrize(("already_open", "code"), [(0, None), (2, None), (3, "VT963")])
def test_open_orders_refused_when_one_more_would_pass_the_limit(already_open: int, code: str | None) -> None:
    s = Session(RiskLimits(max_open_orders=3))
    for _ in range(already_open):
        assert code_of(s.send(Side.BUY, "0.1", price="90")) is None
    facts = s.send(Side.BUY, "0.1", price="90")
    assert code_of(facts) == code
    # the refused order is in the book (its intent was journalled) but no longer open
    assert len(s.orders.open_orders()) == min(already_open + 1, 3)


@pytest.mark.parametrize(
    ("fourth_at_ns", "code"),
    [
        (T0 + NS_PER_SECOND - 1, "VT964"),  # the first order is still in the window
        (T0 + NS_PER_SECOND, None),  # exactly one second later: it has left it
    ],
)
def test_order_rate_window_is_one_second_and_slides(fourth_at_ns: int, code: str | None) -> None:
    s = Session(RiskLimits(orders_per_second={"binance": 3}))
    for i in range(3):
        assert code_of(s.send(Side.BUY, "0.1", price="90", at=T0 + i * NS_PER_MS)) is None
    assert code_of(s.send(Side.BUY, "0.1", price="90", at=fourth_at_ns)) == code


def test_order_rate_is_per_venue_and_counts_only_orders_let_through() -> None:
    s = Session(
        RiskLimits(orders_per_second={"binance": 2}, default_orders_per_second=1, max_order_notional=D(100))
    )
    assert code_of(s.send(Side.BUY, "0.1", price="90")) is None
    assert code_of(s.send(Side.BUY, "5", price="90")) == "VT960"  # refused: not sent, not counted
    assert code_of(s.send(Side.BUY, "0.1", price="90")) is None
    (reject,) = s.send(Side.BUY, "0.1", price="90")
    assert isinstance(reject, OrderRejected) and reject.code == "VT964"
    assert "2 orders went to binance" in reject.reason and "limit is 2 per second" in reject.reason
    # another venue has its own window, under the default limit
    assert code_of(s.send(Side.BUY, "0.1", price="90", venue="bybit")) is None
    assert code_of(s.send(Side.BUY, "0.1", price="90", venue="bybit")) == "VT964"
    # the window slides: 1 s after the second binance order, only it has left
    assert code_of(s.send(Side.BUY, "0.1", price="90", at=T0 + NS_PER_SECOND)) is None
    assert len(s.inner.submitted()) == 4


# ── the daily loss halts ─────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(("mark", "code"), [("90.01", None), ("90", "VT965"), ("80", "VT965")])
def test_daily_loss_refuses_at_the_limit_and_halts(mark: str, code: str | None) -> None:
    s = Session(RiskLimits(daily_loss_limit=D(100)))
    s.hold("10")  # bought at 100: equity 100000
    s.set_mark(mark, at=T0 + 10)  # 10 × (100 - mark) lost
    facts = s.send(Side.BUY, "0.1", price="90", at=T0 + 20)
    assert code_of(facts) == code
    assert s.gate.halted is (code is not None)
    if code is None:
        return
    reject, halt = facts
    assert isinstance(reject, OrderRejected) and isinstance(halt, TradingHalted)
    assert (halt.source, halt.code, halt.ts_event) == ("risk", "VT965", T0 + 20)
    assert reject.reason == f"risk: {halt.reason}"
    assert "daily loss" in halt.reason and "limit 100" in halt.reason and "100000" in halt.reason
    assert s.inner.submitted() == []


def test_the_gate_is_halted_before_the_driver_hands_its_halt_back() -> None:
    s = Session(RiskLimits(daily_loss_limit=D(100)))
    s.hold("10")
    s.set_mark("80", at=T0 + 10)
    first = s.gate.submit(s.command(Side.BUY, "0.1", price="80"), T0 + 20)
    assert [type(e).__name__ for e in first] == ["OrderRejected", "TradingHalted"]
    assert (
        s.gate.halted and s.gate.halt_reason is not None and s.gate.halt_reason.startswith("risk: daily loss")
    )
    s.set_mark("100", at=T0 + 30)  # the loss is gone, but a halt waits for a resume
    assert code_of(s.gate.submit(s.command(Side.BUY, "0.1", price="80"), T0 + 40)) == "VT966"
    assert s.inner.submitted() == []


def test_after_the_halt_every_order_is_refused_cancels_pass_and_a_resume_lifts_it() -> None:
    s = Session(RiskLimits(daily_loss_limit=D(100)))
    s.hold("10")
    assert code_of(s.send(Side.BUY, "0.1", price="90", at=T0 + 10)) is None
    s.set_mark("85", at=T0 + 20)
    assert code_of(s.send(Side.BUY, "0.1", price="90", at=T0 + 30)) == "VT965"
    # later orders: refused for the halt, and the halt is not journalled twice
    later = s.send(Side.SELL, "10", at=T0 + 40)
    assert len(later) == 1 and code_of(later) == "VT966"
    assert isinstance(later[0], OrderRejected) and "risk: daily loss" in later[0].reason
    cancel = CancelOrder(
        ts_event=T0 + 50, ts_init=T0 + 50, strategy="s", venue="binance", client_order_id="o2", instrument=SYM
    )
    s.gate.cancel(cancel, T0 + 50)
    assert s.inner.calls[-1] == ("cancel", cancel, T0 + 50)
    assert sum(isinstance(e, TradingHalted) for e in s.journal) == 1
    # the operator resumes: the loss is counted again from here
    s.fold(TradingResumed(ts_event=T0 + 60, ts_init=T0 + 60, source="operator"))
    assert not s.gate.halted and s.gate.halt_reason is None
    assert code_of(s.send(Side.SELL, "10", at=T0 + 70)) is None
    s.set_mark("84", at=T0 + 80)  # 10 more lost since the resume: below the limit
    assert code_of(s.send(Side.BUY, "0.1", price="80", at=T0 + 90)) is None


def test_cash_moved_in_or_out_is_not_a_loss() -> None:
    s = Session(RiskLimits(daily_loss_limit=D(100)))
    s.fold(
        CashAdjusted(ts_event=T0 + 1, ts_init=T0 + 1, currency="USDT", amount=D(-5000), reason="withdrawal")
    )
    assert code_of(s.send(Side.BUY, "0.1", price="90", at=T0 + 2)) is None


def test_the_loss_is_counted_per_utc_day() -> None:
    s = Session(RiskLimits(daily_loss_limit=D(100)))
    s.hold("10")
    s.set_mark("91", at=T0 + 10)  # 90 lost on day 1
    assert code_of(s.send(Side.BUY, "0.1", price="80", at=T0 + 20)) is None
    s.set_mark("85", at=T0 + NS_PER_DAY)  # day 2 opens at 85: a new baseline
    assert code_of(s.send(Side.BUY, "0.1", price="80", at=T0 + NS_PER_DAY + 1)) is None
    s.set_mark("75.1", at=T0 + NS_PER_DAY + 2)
    assert code_of(s.send(Side.BUY, "0.1", price="70", at=T0 + NS_PER_DAY + 3)) is None
    s.set_mark("75", at=T0 + NS_PER_DAY + 4)  # 10.2 × 10 = 102 lost since the opening
    assert code_of(s.send(Side.BUY, "0.1", price="70", at=T0 + NS_PER_DAY + 5)) == "VT965"


def test_without_observe_the_first_check_of_a_day_opens_it() -> None:
    ledger = Ledger()
    ledger.apply(InstrumentDefined(ts_event=T0, ts_init=T0, spec=SPECS[SYM]))
    ledger.apply(CashAdjusted(ts_event=T0, ts_init=T0, currency="USDT", amount=D(1000), reason="capital"))
    inner = RecordingPort()
    gate = RiskGate(
        inner,
        RiskLimits(daily_loss_limit=D(10)),
        ledger=ledger,
        orders=Orders(),
        currency="USDT",
        clock=ReplayClock(),
    )
    s = Session(RiskLimits())  # only for its commands
    assert code_of(gate.submit(s.command(Side.BUY, "1", price="1"), T0)) is None
    ledger.apply(CashAdjusted(ts_event=T0, ts_init=T0, currency="USDT", amount=D(-10), reason="fee"))
    assert code_of(gate.submit(s.command(Side.BUY, "1", price="1"), T0 + 1)) == "VT965"


# ── the halt is a fold of the journal ────────────────────────────────────────────────────────────


def test_a_fresh_gate_fed_the_journal_ends_in_the_same_state() -> None:
    s = Session(RiskLimits(daily_loss_limit=D(100)))
    s.hold("10")
    s.set_mark("80", at=T0 + 10)
    s.send(Side.BUY, "0.1", price="80", at=T0 + 20)
    assert s.gate.halted
    restarted = Session(RiskLimits(daily_loss_limit=D(100)))
    for event in s.journal:
        restarted.gate.observe(event)
    assert restarted.gate.halted and restarted.gate.halt_reason == s.gate.halt_reason
    assert code_of(restarted.send(Side.BUY, "0.1", price="80", at=T0 + 30)) == "VT966"


def test_a_halt_from_elsewhere_stops_orders_and_observe_is_idempotent() -> None:
    s = Session(RiskLimits())
    halt = TradingHalted(ts_event=T0, ts_init=T0, reason="halted by the operator", source="operator")
    s.fold(halt)
    s.gate.observe(halt)
    (reject,) = s.send(Side.BUY, "1", price="1")
    assert isinstance(reject, OrderRejected) and reject.code == "VT966"
    assert "operator: halted by the operator" in reject.reason
    resumed = TradingResumed(ts_event=T0, ts_init=T0, source="operator")
    s.fold(resumed)
    s.gate.observe(resumed)
    assert code_of(s.send(Side.BUY, "1", price="1")) is None


_HALT = TradingHalted(ts_event=T0, ts_init=T0, reason="r", source="x")
_RESUME = TradingResumed(ts_event=T0, ts_init=T0, source="x")


@given(
    st.lists(
        st.sampled_from([_HALT, _RESUME, MarkPrice(ts_event=T0, ts_init=T0, instrument=SYM, price=D(1))])
    )
)
def test_halted_is_the_last_word_of_the_journal(events: list[Event]) -> None:
    gates = [
        RiskGate(
            RecordingPort(),
            RiskLimits(),
            ledger=Ledger(),
            orders=Orders(),
            currency="USDT",
            clock=ReplayClock(),
        )
        for _ in range(2)
    ]
    for event in events:
        gates[0].observe(event)
    for event in events:  # a restart re-folds the same journal, some events seen twice
        gates[1].observe(event)
        gates[1].observe(event)
    last = [e for e in events if isinstance(e, TradingHalted | TradingResumed)]
    expected = bool(last) and isinstance(last[-1], TradingHalted)
    assert gates[0].halted is gates[1].halted is expected
    assert gates[0].halt_reason == gates[1].halt_reason == ("x: r" if expected else None)


# ── limits as configuration ──────────────────────────────────────────────────────────────────────


def test_limits_decode_from_configuration() -> None:
    limits = msgspec.convert(
        {"max_order_notional": "1000.5", "position_limits": {SYM: "2"}, "orders_per_second": {"binance": 5}},
        RiskLimits,
    )
    assert limits.max_order_notional == D("1000.5") and limits.position_limit(SYM) == D(2)
    assert limits.position_limit(ETH) is None and limits.rate_limit("binance") == 5
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"max_notional": "1"}, RiskLimits)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"max_order_notional": D(-1)}, "max_order_notional"),
        ({"max_order_notional": D("NaN")}, "max_order_notional"),
        ({"position_limits": {SYM: D("-0.1")}}, "position_limits"),
        ({"default_position_limit": D("Infinity")}, "default_position_limit"),
        ({"max_open_orders": -1}, "max_open_orders"),
        ({"orders_per_second": {"binance": -1}}, "orders_per_second"),
        ({"default_orders_per_second": -2}, "default_orders_per_second"),
        ({"daily_loss_limit": D(0)}, "daily_loss_limit"),
    ],
)
def test_a_limit_out_of_range_is_a_typed_error(fields: dict[str, object], named: str) -> None:
    with pytest.raises(RiskLimitsError, match=named) as info:
        RiskLimits(**fields)  # type: ignore[arg-type]
    assert info.value.code == "VT967"


def test_every_code_the_gate_uses_is_registered() -> None:
    for code in ("VT960", "VT961", "VT962", "VT963", "VT964", "VT965", "VT966", "VT967"):
        assert code in ERROR_CODES


# ── under the kernel ─────────────────────────────────────────────────────────────────────────────


class HoldOne(Params, frozen=True, kw_only=True):
    symbol: str = SYM


class BuyOne(SingleAssetStrategy[HoldOne]):
    name = "buy_one"

    def on_quote(self, ctx: Context, quote: QuoteTick) -> Signal:
        return TargetPosition(D(1))


class ListJournal:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def append(self, events: Sequence[Event]) -> Sequence[Event]:
        stamped = [msgspec.structs.replace(e, seq=len(self.events) + i + 1) for i, e in enumerate(events)]
        self.events.extend(stamped)
        return stamped


def _kernel(limits: RiskLimits) -> tuple[Kernel, RiskGate, ListJournal]:
    spec = declare({"STRATEGY": BuyOne}, source="", filename="strategy.py", overrides={})
    specs = {s: spec_for(s) for s in spec.universe}
    ledger, orders, clock = Ledger(), Orders(), ReplayClock()
    gate = RiskGate(
        SimVenue(specs, ledger, clock=clock),
        limits,
        ledger=ledger,
        orders=orders,
        currency="USDT",
        clock=clock,
        specs=specs,
    )
    engine = make_engine(spec, ledger, orders, currency="USDT", specs=specs, clock=clock)
    journal = ListJournal()
    kernel = Kernel(
        engine,
        ledger=ledger,
        orders=orders,
        journal=journal,
        venue=gate,
        universe=spec.universe,
        currency="USDT",
        clock=clock,
    )
    run = RunStarted(
        ts_event=T0,
        ts_init=T0,
        run_id="t",
        strategy=spec.name,
        strategy_type=spec.strategy_type,
        mode="paper",
        venues=("sim",),
        params={},
        strategy_sha256="0" * 64,
    )
    kernel.begin(run, [specs[s] for s in sorted(specs)], D(1_000_000))
    return kernel, gate, journal


def _quote(ts: int) -> QuoteTick:
    return QuoteTick(
        ts_event=ts,
        ts_init=ts,
        instrument=SYM,
        bid=D("60000"),
        bid_size=D(5),
        ask=D("60000.1"),
        ask_size=D(5),
    )


def test_under_the_kernel_a_refused_intent_is_journalled_then_rejected() -> None:
    kernel, _, journal = _kernel(RiskLimits(max_order_notional=D(50_000)))
    kernel.step_batch([_quote(T0 + NS_PER_MS)])
    intents = [e for e in journal.events if isinstance(e, OrderSubmitted)]
    rejects = [e for e in journal.events if isinstance(e, OrderRejected)]
    assert intents and [r.client_order_id for r in rejects] == [i.client_order_id for i in intents]
    assert all(r.code == "VT960" for r in rejects)
    assert journal.events.index(intents[0]) < journal.events.index(rejects[0])
    assert kernel.ledger.position(SYM).qty == 0 and not kernel.orders.open_orders()


def test_under_the_kernel_a_journalled_halt_stops_the_next_order() -> None:
    kernel, gate, journal = _kernel(RiskLimits(max_order_notional=D(100_000)))
    halted = kernel.record(TradingHalted(ts_event=T0, ts_init=T0, reason="maintenance", source="operator"))
    assert halted is not None
    gate.observe(halted)  # what the live driver does with every journalled event
    kernel.step_batch([_quote(T0 + NS_PER_MS)])
    rejects = [e for e in journal.events if isinstance(e, OrderRejected)]
    assert rejects and {r.code for r in rejects} == {"VT966"}
    resumed = kernel.record(TradingResumed(ts_event=T0 + 2 * NS_PER_MS, ts_init=T0, source="operator"))
    assert resumed is not None
    gate.observe(resumed)
    # the next order goes out, and the simulated venue fills it on the next quote
    kernel.step_batch([_quote(T0 + 3 * NS_PER_MS), _quote(T0 + 4 * NS_PER_MS)])
    assert kernel.ledger.position(SYM).qty == 1
