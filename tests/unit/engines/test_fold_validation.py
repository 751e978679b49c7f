"""Validate, then journal, then fold: ``check`` refuses exactly what ``apply`` would, changing nothing.

A driver checks a fact against the order book and the ledger before it journals it, so that the
journal never holds a fact a fold refuses (which would fail every restart). For each refusal:
``check`` raises, ``apply`` raises the same error, and the state after ``check`` is unchanged.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import msgspec
import pytest

from engines.errors import LedgerError, OrderStateError
from engines.ledger import Ledger
from engines.model.codec import with_seq
from engines.model.enums import OrderType, ReportedStatus, Side
from engines.model.events import (
    Bar,
    CashAdjusted,
    Event,
    FillReport,
    InstrumentDefined,
    MarkPrice,
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderFilled,
    OrderPendingCancel,
    OrderStatusReport,
    OrderStatusUnknown,
    OrderSubmitted,
    QuoteTick,
    RunStarted,
    TradeTick,
)
from engines.model.instruments import InstrumentKind, InstrumentSpec
from engines.orders.book import OrderPlan, Orders

CID = "s1-0001"
SPOT = "binance-spot:BTCUSDT"
PERP = "binance-usdm:BTCUSDT"


# ── order book ──────────────────────────────────────────────────────────────────────────────────


def submitted(cid: str = CID) -> OrderSubmitted:
    return OrderSubmitted(
        ts_event=1,
        ts_init=1,
        strategy="s1",
        client_order_id=cid,
        instrument=SPOT,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=D(10),
        price=D(100),
    )


def fill(
    trade_id: str, last_qty: Any, cum_qty: Any, *, kind: type[OrderFilled] = OrderFilled, **kw: Any
) -> OrderFilled:
    fields: dict[str, Any] = {
        "client_order_id": CID,
        "instrument": SPOT,
        "side": Side.BUY,
        "last_px": D(100),
        "fee": D(0),
        "fee_currency": "USDT",
    }
    fields.update(kw)
    return kind(ts_event=2, ts_init=2, trade_id=trade_id, last_qty=D(last_qty), cum_qty=D(cum_qty), **fields)


def accepted(vid: str = "V-1") -> OrderAccepted:
    return OrderAccepted(ts_event=2, ts_init=2, client_order_id=CID, venue_order_id=vid)


def canceled() -> OrderCanceled:
    return OrderCanceled(ts_event=2, ts_init=2, client_order_id=CID)


def unknown() -> OrderStatusUnknown:
    return OrderStatusUnknown(ts_event=2, ts_init=2, client_order_id=CID, reason="timeout")


def report(status: ReportedStatus, filled: int = 0, **kw: Any) -> OrderStatusReport:
    fields: dict[str, Any] = {
        "client_order_id": CID,
        "venue": "sim",
        "instrument": SPOT,
        "side": Side.BUY,
        "order_type": OrderType.LIMIT,
        "quantity": D(10),
    }
    fields.update(kw)
    return OrderStatusReport(ts_event=3, ts_init=3, status=status, filled_qty=D(filled), **fields)


def state_of(book: Orders) -> tuple[object, ...]:
    """The whole order book by value: every order, the open ones in order, the counters."""
    orders = tuple((cid, msgspec.to_builtins(book.get(cid))) for cid in sorted(_ids(book)))
    opened = tuple(o.client_order_id for o in book.open_orders())
    return orders, opened, book.duplicate_fills, book.late_fills, len(book)


def _ids(book: Orders) -> list[str]:
    return [cid for cid in (CID, "other", "manual") if cid in book]


def book_after(*events: OrderEvent) -> Orders:
    book = Orders()
    for event in events:
        book.apply(event)
    return book


ORDER_REFUSALS: list[tuple[str, tuple[OrderEvent, ...], OrderEvent]] = [
    ("unknown-order", (), accepted()),
    ("report-for-unknown-order", (), report(ReportedStatus.ACCEPTED)),
    ("external-not-found", (), report(ReportedStatus.NOT_FOUND, external=True)),
    ("duplicate-submit", (submitted(),), submitted()),
    ("non-positive-quantity", (), msgspec.structs.replace(submitted(), quantity=D(0))),
    ("terminal", (submitted(), canceled()), accepted()),
    ("second-ack", (submitted(), accepted()), accepted("V-2")),
    ("overfill", (submitted(), accepted()), fill("t1", 11, 11)),
    ("above-cum-qty", (submitted(), fill("t1", 2, 2)), fill("t2", 2, 3)),
    ("malformed-fill", (submitted(),), fill("t1", "NaN", 1)),
    ("other-side", (submitted(),), fill("t1", 1, 1, side=Side.SELL)),
    ("fill-report-overfill", (submitted(),), fill("t1", 11, 11, kind=FillReport)),
    ("not-legal-beneath-unknown", (submitted(), accepted(), unknown()), report(ReportedStatus.REJECTED)),
    ("not-found-of-acknowledged", (submitted(), accepted()), report(ReportedStatus.NOT_FOUND)),
    ("report-below-fills", (submitted(), fill("t1", 5, 5)), report(ReportedStatus.CANCELED, 2)),
    ("report-other-quantity", (submitted(),), report(ReportedStatus.ACCEPTED, quantity=D(3))),
]


@pytest.mark.parametrize(
    ("events", "event"), [r[1:] for r in ORDER_REFUSALS], ids=[r[0] for r in ORDER_REFUSALS]
)
def test_orders_check_raises_what_apply_raises_and_changes_nothing(
    events: tuple[OrderEvent, ...], event: OrderEvent
) -> None:
    book = book_after(*events)
    before = state_of(book)
    with pytest.raises(OrderStateError) as checked:
        book.check(event)
    assert state_of(book) == before
    with pytest.raises(OrderStateError) as applied:
        book.apply(event)
    assert applied.value.code == checked.value.code == "VT400"
    assert str(applied.value) == str(checked.value)
    assert state_of(book) == before


LEGAL: list[tuple[str, tuple[OrderEvent, ...], OrderEvent]] = [
    ("submit", (), submitted()),
    ("ack", (submitted(),), accepted()),
    ("fill", (submitted(), accepted()), fill("t1", 2, 2)),
    ("late-fill", (submitted(), fill("t2", 2, 5)), fill("t1", 3, 3)),
    ("duplicate-fill", (submitted(), fill("t1", 2, 2)), fill("t1", 2, 2, kind=FillReport)),
    (
        "cancel-request",
        (submitted(), accepted()),
        OrderPendingCancel(ts_event=2, ts_init=2, client_order_id=CID),
    ),
    ("unknown", (submitted(),), unknown()),
    ("report", (submitted(), unknown()), report(ReportedStatus.PARTIALLY_FILLED, 4)),
    ("stale-report", (submitted(), fill("t1", 10, 10)), report(ReportedStatus.ACCEPTED)),
    ("adoption", (), report(ReportedStatus.ACCEPTED, external=True)),
]


@pytest.mark.parametrize(("events", "event"), [r[1:] for r in LEGAL], ids=[r[0] for r in LEGAL])
def test_orders_check_changes_nothing_and_commit_stores_what_apply_would(
    events: tuple[OrderEvent, ...], event: OrderEvent
) -> None:
    book = book_after(*events)
    before = state_of(book)
    plan = book.check(event)
    assert isinstance(plan, OrderPlan)
    assert state_of(book) == before
    # the journal stamps the event between check and commit: the plan still holds
    stamped = with_seq(event, 42)
    assert isinstance(stamped, type(event))
    changed = book.commit(stamped, plan)
    reference = book_after(*events)
    assert reference.apply(event) is changed
    assert state_of(book) == state_of(reference)
    assert changed is (state_of(book)[0] != before[0])  # the orders, not the counters


def test_a_duplicate_fill_is_counted_when_committed_not_when_checked() -> None:
    book = book_after(submitted(), fill("t1", 2, 2))
    plan = book.check(fill("t1", 2, 2))
    assert plan.duplicate_fill
    assert plan.after is None
    assert book.duplicate_fills == 0
    assert book.commit(fill("t1", 2, 2), plan) is False
    assert book.duplicate_fills == 1


def test_a_plan_checked_before_another_commit_is_stale() -> None:
    book = book_after(submitted(), accepted())
    first = book.check(fill("t1", 2, 2))
    second = book.check(fill("t2", 3, 3))
    book.commit(fill("t1", 2, 2), first)
    after_first = state_of(book)
    with pytest.raises(OrderStateError, match="stale"):
        book.commit(fill("t2", 3, 3), second)
    assert state_of(book) == after_first
    # checked again against the new state, it is legal (and folds as a fill after t1)
    book.commit(fill("t2", 3, 5), book.check(fill("t2", 3, 5)))
    order = book.get(CID)
    assert order is not None
    assert order.executed_qty == 5


def test_a_plan_for_one_order_cannot_commit_another_event() -> None:
    book = book_after(submitted(), submitted("other"))
    plan = book.check(accepted())
    other = OrderAccepted(ts_event=2, ts_init=2, client_order_id="other", venue_order_id="V-9")
    before = state_of(book)
    with pytest.raises(OrderStateError, match="another order"):
        book.commit(other, plan)
    assert state_of(book) == before


def test_a_submit_checked_twice_commits_once() -> None:
    book = Orders()
    first, second = book.check(submitted()), book.check(submitted())
    book.commit(submitted(), first)
    with pytest.raises(OrderStateError, match="stale"):
        book.commit(submitted(), second)
    assert len(book) == 1


# ── ledger ──────────────────────────────────────────────────────────────────────────────────────


def spec(symbol: str, kind: InstrumentKind, multiplier: str = "1") -> InstrumentSpec:
    return InstrumentSpec(
        symbol=symbol,
        kind=kind,
        base="BTC",
        quote="USDT",
        settle="USDT",
        tick_size=D("0.01"),
        lot_size=D("0.001"),
        multiplier=D(multiplier),
    )


def define(
    symbol: str, kind: InstrumentKind = InstrumentKind.SPOT, multiplier: str = "1"
) -> InstrumentDefined:
    return InstrumentDefined(ts_event=0, ts_init=0, spec=spec(symbol, kind, multiplier))


def deposit(amount: str, currency: str = "USDT") -> CashAdjusted:
    return CashAdjusted(ts_event=0, ts_init=0, currency=currency, amount=D(amount), reason="test")


def lfill(
    symbol: str,
    qty: str,
    px: str,
    *,
    fee: str = "0",
    fee_currency: str = "USDT",
    kind: type[OrderFilled] = OrderFilled,
) -> OrderFilled:
    return kind(
        ts_event=1,
        ts_init=1,
        client_order_id="c-1",
        instrument=symbol,
        side=Side.BUY,
        trade_id=f"t-{qty}-{px}",
        last_qty=D(qty),
        last_px=D(px),
        cum_qty=D(qty),
        fee=D(fee),
        fee_currency=fee_currency,
    )


def ledger_after(*events: Event) -> Ledger:
    ledger = Ledger()
    for event in events:
        ledger.apply(event)
    return ledger


BASE: tuple[Event, ...] = (
    define(SPOT),
    define(PERP, InstrumentKind.LINEAR),
    deposit("1000"),
    lfill(PERP, "1", "100"),
)

LEDGER_REFUSALS: list[tuple[str, Event, str]] = [
    ("undefined-instrument", lfill("binance-spot:ETHUSDT", "1", "100"), "no InstrumentDefined"),
    ("zero-qty", lfill(SPOT, "0", "100"), "positive"),
    ("negative-qty", lfill(SPOT, "-1", "100"), "positive"),
    ("nan-qty", lfill(SPOT, "NaN", "100"), "positive"),
    ("zero-px", lfill(SPOT, "1", "0"), "positive"),
    ("infinite-px", lfill(SPOT, "1", "Infinity"), "positive"),
    ("fee-without-currency", lfill(SPOT, "1", "100", fee="1", fee_currency=""), "fee"),
    ("infinite-fee", lfill(SPOT, "1", "100", fee="Infinity"), "fee"),
    ("snan-fee", lfill(SPOT, "1", "100", fee="sNaN"), "fee"),
    ("fill-report", lfill(SPOT, "0", "100", kind=FillReport), "positive"),
    ("nan-cash", deposit("NaN"), "cash adjustment"),
    ("infinite-cash", deposit("-Infinity"), "cash adjustment"),
    ("inexact-cash", deposit("1e-50"), "exact"),
    ("inexact-fill", lfill(SPOT, "1", "1.00000000000000000000000000000000000000000000000001"), "exact"),
    ("settlement-redefined", define(PERP, InstrumentKind.LINEAR, multiplier="10"), "multiplier"),
    ("kind-redefined", define(PERP, InstrumentKind.INVERSE), "kind"),
]


@pytest.mark.parametrize(
    ("event", "match"), [r[1:] for r in LEDGER_REFUSALS], ids=[r[0] for r in LEDGER_REFUSALS]
)
def test_ledger_check_raises_what_apply_raises_and_changes_nothing(event: Event, match: str) -> None:
    ledger = ledger_after(*BASE)
    before = ledger.snapshot()
    with pytest.raises(LedgerError, match=match) as checked:
        ledger.check(event)
    assert ledger.snapshot() == before
    with pytest.raises(LedgerError) as applied:
        ledger.apply(event)
    assert applied.value.code == checked.value.code == "VT410"
    assert str(applied.value) == str(checked.value)
    assert ledger.snapshot() == before


LEDGER_LEGAL: list[tuple[str, Event]] = [
    ("fill", lfill(SPOT, "2", "100", fee="0.1")),
    ("fill-report", lfill(SPOT, "2", "100", fee="0.1", kind=FillReport)),
    ("close", msgspec.structs.replace(lfill(PERP, "1", "110"), side=Side.SELL)),
    ("fee-in-another-currency", lfill(SPOT, "1", "100", fee="0.001", fee_currency="BNB")),
    ("deposit", deposit("5", "KRW")),
    ("redefinition-with-no-position", define(SPOT, InstrumentKind.SPOT, multiplier="2")),
    ("mark", MarkPrice(ts_event=2, ts_init=2, instrument=PERP, price=D(120))),
]


@pytest.mark.parametrize("event", [r[1] for r in LEDGER_LEGAL], ids=[r[0] for r in LEDGER_LEGAL])
def test_ledger_check_of_a_legal_event_changes_nothing_and_apply_then_folds_it(event: Event) -> None:
    ledger = ledger_after(*BASE)
    before = ledger.snapshot()
    ledger.check(event)
    assert ledger.snapshot() == before
    ledger.apply(event)
    assert ledger.snapshot() != before


def test_a_fill_report_folds_exactly_like_the_fill() -> None:
    stream = ledger_after(*BASE, lfill(SPOT, "2", "100.5", fee="0.2"))
    reconciled = ledger_after(*BASE, lfill(SPOT, "2", "100.5", fee="0.2", kind=FillReport))
    assert reconciled.snapshot() == stream.snapshot()
    assert reconciled.snapshot().to_json() == stream.snapshot().to_json()


HOSTILE_MARKET: list[tuple[str, Event]] = [
    (
        "nan-quote",
        QuoteTick(
            ts_event=2, ts_init=2, instrument=SPOT, bid=D("NaN"), bid_size=D(1), ask=D("sNaN"), ask_size=D(1)
        ),
    ),
    (
        "huge-quote",
        QuoteTick(
            ts_event=2,
            ts_init=2,
            instrument=SPOT,
            bid=D("1e999999"),
            bid_size=D(1),
            ask=D("9e999999"),
            ask_size=D(1),
        ),
    ),
    (
        "inexact-mid",
        QuoteTick(
            ts_event=2,
            ts_init=2,
            instrument=SPOT,
            bid=D("1e30"),
            bid_size=D(1),
            ask=D("1e-30"),
            ask_size=D(1),
        ),
    ),
    (
        "snan-trade",
        TradeTick(
            ts_event=2,
            ts_init=2,
            instrument=SPOT,
            price=D("sNaN"),
            size=D(1),
            aggressor=Side.BUY,
            trade_id="m",
        ),
    ),
    (
        "negative-bar",
        Bar(
            ts_event=2,
            ts_init=2,
            instrument=SPOT,
            open=D(1),
            high=D(1),
            low=D(1),
            close=D(-1),
            volume=D(1),
            interval_ns=1,
        ),
    ),
    ("snan-mark", MarkPrice(ts_event=2, ts_init=2, instrument=SPOT, price=D("sNaN"))),
    (
        "unrelated",
        RunStarted(
            ts_event=0,
            ts_init=0,
            run_id="r",
            strategy="s",
            strategy_type="single",
            mode="live",
            venues=("sim",),
            params={},
            strategy_sha256="0" * 64,
        ),
    ),
]


@pytest.mark.parametrize("event", [r[1] for r in HOSTILE_MARKET], ids=[r[0] for r in HOSTILE_MARKET])
def test_market_events_and_marks_are_never_refused(event: Event) -> None:
    ledger = ledger_after(*BASE)
    ledger.check(event)
    ledger.apply(event)
    # and a mark folded after it never raises either: a mid beyond exact arithmetic is no mark
    ledger.check(MarkPrice(ts_event=3, ts_init=3, instrument=PERP, price=D(101)))
    ledger.apply(MarkPrice(ts_event=3, ts_init=3, instrument=PERP, price=D(101)))
    assert ledger.mark(PERP) == D(101)
    ledger.snapshot()


def test_a_quote_whose_mid_is_beyond_exact_arithmetic_is_not_a_mark() -> None:
    ledger = ledger_after(
        *BASE,
        QuoteTick(
            ts_event=2, ts_init=2, instrument=SPOT, bid=D(99), bid_size=D(1), ask=D(101), ask_size=D(1)
        ),
    )
    assert ledger.mark(SPOT) == D(100)
    ledger.apply(HOSTILE_MARKET[2][1])
    assert ledger.mark(SPOT) == D(100)
