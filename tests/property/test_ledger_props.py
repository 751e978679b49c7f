"""Properties of the ledger fold, over generated journals."""

from __future__ import annotations

import decimal
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engines.ledger import BOOK_QUANTUM, Ledger, Position, fold
from engines.model.enums import Side
from engines.model.events import (
    Bar,
    CashAdjusted,
    Event,
    InstrumentDefined,
    MarkPrice,
    OrderFilled,
    QuoteTick,
    StrategyLog,
    TradeTick,
)
from engines.model.instruments import InstrumentKind, InstrumentSpec

PROPS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _spec(symbol: str, kind: InstrumentKind, **kw: str) -> InstrumentSpec:
    return InstrumentSpec(
        symbol=symbol,
        kind=kind,
        base=kw.get("base", "AAA"),
        quote=kw.get("quote", "USDT"),
        settle=kw.get("settle", "USDT"),
        tick_size=D("0.01"),
        lot_size=D("0.001"),
        multiplier=D(kw.get("multiplier", "1")),
    )


# Everything below settles in USDT and charges fees in USDT: the single-currency world.
USDT_SPECS = {
    s.symbol: s
    for s in (
        _spec("sim:AAAUSDT", InstrumentKind.SPOT),
        _spec("sim:BBB", InstrumentKind.EQUITY, base="BBB"),
        _spec("sim:AAA-PERP", InstrumentKind.LINEAR),
        _spec("sim:AAA-MINI", InstrumentKind.LINEAR, multiplier="0.01"),
    )
}
INVERSE = _spec("sim:AAAUSD-INV", InstrumentKind.INVERSE, quote="USD", settle="AAA", multiplier="100")
ALL_SPECS = {**USDT_SPECS, INVERSE.symbol: INVERSE}


@contextmanager
def wide_context() -> Iterator[None]:
    """The test's own sums must not round where the ledger's do not."""
    with decimal.localcontext(decimal.Context(prec=200, traps=[decimal.Inexact])):
        yield


# ── event strategies ────────────────────────────────────────────────────────────────────────────


def _scaled(lo: int, hi: int, places: int) -> st.SearchStrategy[D]:
    return st.integers(lo, hi).map(lambda n: D(n).scaleb(-places))


prices = _scaled(1, 2_000_000, 2)  # 0.01 .. 20000.00
# Mostly a few round sizes, so that positions often net back to exactly flat and flip.
lot_units = st.one_of(st.sampled_from([500, 1_000, 2_000]), st.integers(1, 5_000))
quantities = lot_units.map(lambda n: D(n).scaleb(-3))  # 0.001 .. 5.000
fees = _scaled(-50, 500, 2)  # rebates down to -0.50


def _fill(symbol: str, side: Side, qty: D, px: D, *, fee: D, trade_id: str = "t") -> OrderFilled:
    return OrderFilled(
        ts_event=1,
        ts_init=1,
        client_order_id="c",
        instrument=symbol,
        side=side,
        trade_id=trade_id,
        last_qty=qty,
        last_px=px,
        cum_qty=qty,
        fee=fee,
        fee_currency="USDT",
    )


def _quote(symbol: str, bid: D, spread: D) -> QuoteTick:
    return QuoteTick(
        ts_event=2,
        ts_init=2,
        instrument=symbol,
        bid=bid,
        bid_size=D(1),
        ask=bid + spread,
        ask_size=D(1),
    )


def _trade(symbol: str, price: D) -> TradeTick:
    return TradeTick(
        ts_event=2,
        ts_init=2,
        instrument=symbol,
        price=price,
        size=D(1),
        aggressor=Side.SELL,
        trade_id="m",
    )


def _bar(symbol: str, close: D) -> Bar:
    return Bar(
        ts_event=2,
        ts_init=2,
        instrument=symbol,
        open=close,
        high=close,
        low=close,
        close=close,
        volume=D(1),
        interval_ns=1,
    )


def _mark(symbol: str, price: D) -> MarkPrice:
    return MarkPrice(ts_event=2, ts_init=2, instrument=symbol, price=price)


def _cash(amount: D) -> CashAdjusted:
    return CashAdjusted(ts_event=0, ts_init=0, currency="USDT", amount=amount, reason="deposit")


def _define(spec: InstrumentSpec) -> InstrumentDefined:
    return InstrumentDefined(ts_event=0, ts_init=0, spec=spec)


def _round_trip(opening: OrderFilled, exit_px: D, exit_fee: D) -> list[Event]:
    """A fill and its reversal at another price: from flat, this comes back to exactly flat."""
    closing = _fill(opening.instrument, opening.side.opposite, opening.last_qty, exit_px, fee=exit_fee)
    return [opening, closing]


def journals(specs: dict[str, InstrumentSpec]) -> st.SearchStrategy[list[Event]]:
    """Definitions and a deposit, then fills, marks of every kind, cash moves and noise."""
    symbols = st.sampled_from(sorted(specs))
    fill = st.builds(_fill, symbols, st.sampled_from(Side), quantities, prices, fee=fees)
    # Fills are what the ledger is about: distinct branches weight them up (one_of collapses a
    # strategy object that is repeated).
    fill_branches = [st.builds(lambda f: [f], fill) for _ in range(4)]
    round_trips = [st.builds(_round_trip, fill, prices, fees) for _ in range(2)]
    body: st.SearchStrategy[list[Event]] = st.one_of(
        *fill_branches,
        *round_trips,
        st.builds(lambda e: [e], st.builds(_quote, symbols, prices, _scaled(0, 100, 2))),
        st.builds(lambda e: [e], st.builds(_trade, symbols, prices)),
        st.builds(lambda e: [e], st.builds(_bar, symbols, prices)),
        st.builds(lambda e: [e], st.builds(_mark, symbols, prices)),
        st.builds(lambda e: [e], st.builds(_cash, _scaled(-100_000, 1_000_000, 2))),
        st.just([StrategyLog(ts_event=3, ts_init=3, strategy="s", message="noise")]),
    )
    head = [_define(s) for s in specs.values()]
    return st.builds(
        lambda deposit, chunks: [*head, _cash(deposit), *(e for chunk in chunks for e in chunk)],
        _scaled(0, 10_000_000, 2),
        st.lists(body, max_size=40),
    )


# ── properties ─────────────────────────────────────────────────────────────────────────────────


@PROPS
@given(journals(ALL_SPECS))
def test_folding_the_same_journal_twice_gives_equal_snapshots(events: list[Event]) -> None:
    first = fold(events).snapshot()
    with decimal.localcontext(decimal.Context(prec=3, rounding=decimal.ROUND_UP)):
        second = fold(events).snapshot()
    assert first == second
    assert first.to_json() == second.to_json()


@PROPS
@given(journals(USDT_SPECS))
def test_equity_moves_only_by_pnl_and_fees(events: list[Event]) -> None:
    ledger = Ledger()
    deposits = D(0)
    for event in events:
        ledger.apply(event)
        with wide_context():
            if isinstance(event, CashAdjusted):
                deposits += event.amount
            realized = sum(ledger.position(s).realized_pnl for s in USDT_SPECS)
            unrealized = sum(ledger.unrealized_pnl(s) for s in USDT_SPECS)
            explained = realized + unrealized - ledger.fees("USDT")
            assert ledger.equity("USDT") - deposits == explained


@PROPS
@given(journals(ALL_SPECS))
def test_equity_is_what_closing_every_marked_position_at_its_mark_would_leave(
    events: list[Event],
) -> None:
    ledger = fold(events)
    liquidated = fold(events)
    for symbol in ALL_SPECS:
        qty, mark = ledger.position(symbol).qty, ledger.mark(symbol)
        if qty != 0 and mark is not None:
            side = Side.SELL if qty > 0 else Side.BUY
            liquidated.apply(_fill(symbol, side, abs(qty), mark, fee=D(0)))
    for currency in ("USDT", INVERSE.settle):
        assert liquidated.equity(currency) == ledger.equity(currency)
    for symbol in ALL_SPECS:
        if ledger.mark(symbol) is not None:
            assert liquidated.position(symbol).qty == 0


@PROPS
@given(journals(ALL_SPECS))
def test_flat_positions_have_zero_unrealised_pnl_and_an_empty_book(events: list[Event]) -> None:
    ledger = Ledger()
    for event in events:
        ledger.apply(event)
        for symbol in ALL_SPECS:
            pos = ledger.position(symbol)
            if pos.qty == 0:
                assert ledger.unrealized_pnl(symbol) == 0
                assert pos == Position(qty=D(0), realized_pnl=pos.realized_pnl)


# ── splitting an order into partial fills ──────────────────────────────────────────────────────


def _split_points(total: int, cuts: list[int]) -> list[int]:
    edges = [0, *sorted(cuts), total]
    return [b - a for a, b in itertools.pairwise(edges)]


@st.composite
def orders(draw: st.DrawFn) -> tuple[OrderFilled, list[OrderFilled]]:
    """One order as a single fill, and the same order as 1-4 partial fills at the same price."""
    symbol = draw(st.sampled_from(sorted(USDT_SPECS)))
    side = draw(st.sampled_from(Side))
    units = draw(lot_units)
    px = draw(prices)
    fee_cents = draw(st.integers(0, 500))
    qty_cuts = draw(st.lists(st.integers(1, units - 1), unique=True, max_size=3)) if units > 1 else []
    fee_cuts = draw(st.lists(st.integers(0, fee_cents), min_size=len(qty_cuts), max_size=len(qty_cuts)))
    whole = _fill(symbol, side, D(units).scaleb(-3), px, fee=D(fee_cents).scaleb(-2))
    parts = [
        _fill(symbol, side, D(q).scaleb(-3), px, fee=D(f).scaleb(-2), trade_id=f"t{i}")
        for i, (q, f) in enumerate(
            zip(_split_points(units, qty_cuts), _split_points(fee_cents, fee_cuts), strict=True)
        )
    ]
    return whole, parts


def _split_is_exact(pos: Position, order: OrderFilled, parts: list[OrderFilled]) -> bool:
    """Whether splitting this order must leave the ledger exactly as the whole order does.

    Opening, adding to, fully closing and flipping a position split exactly: a full close releases
    the whole remaining cost basis. A partial reduction splits exactly only when the average
    entry is exact and each part's share of the cost basis is a whole number of book quanta:
    a share finer than the quantum is rounded, once for the whole and once per part.
    """
    signed = order.last_qty * order.side.sign
    partial_reduction = pos.qty * signed < 0 and abs(signed) < abs(pos.qty)
    if not partial_reduction:
        return True
    multiplier = USDT_SPECS[order.instrument].multiplier
    with wide_context():
        if pos.avg_px * pos.qty * multiplier != pos.cost_basis:
            return False
        shares = [p.last_qty * pos.avg_px * multiplier for p in (order, *parts)]
        return all(_whole_quanta(share) for share in shares)


def _whole_quanta(share: D) -> bool:
    """Whether ``share`` is a whole number of book quanta (under wide_context, which traps Inexact)."""
    try:
        return share == share.quantize(BOOK_QUANTUM)
    except decimal.Inexact:  # finer than the quantum: quantizing it would round
        return False


@PROPS
@given(
    st.lists(orders(), min_size=1, max_size=25),
    st.lists(st.sampled_from(sorted(USDT_SPECS)), max_size=4),
)
def test_snapshot_does_not_depend_on_how_an_order_is_split(
    order_list: list[tuple[OrderFilled, list[OrderFilled]]], marked: list[str]
) -> None:
    setup: list[Event] = [*(_define(s) for s in USDT_SPECS.values()), _cash(D(10_000))]
    whole, split = fold(setup), fold(setup)
    for single, parts in order_list:
        exact = _split_is_exact(whole.position(single.instrument), single, parts)
        whole.apply(single)
        fold(parts if exact else [single], split)
    for symbol in marked:
        for ledger in (whole, split):
            ledger.apply(_trade(symbol, D("123.45")))
    assert whole.snapshot() == split.snapshot()
    assert whole.equity("USDT") == split.equity("USDT")
