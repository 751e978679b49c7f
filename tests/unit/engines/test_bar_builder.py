"""Bars from trades: OHLCV per interval, closed by the next interval's trade or by time, never reopened."""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from engines.markets.bar_builder import BarBuilder
from engines.model.enums import Side
from engines.model.events import TradeTick

S = 1_000_000_000
SYM = "krx:005930"


def trade(ts: int, price: str, size: str = "1", sym: str = SYM) -> TradeTick:
    return TradeTick(
        ts_event=ts,
        ts_init=ts,
        instrument=sym,
        price=D(price),
        size=D(size),
        aggressor=Side.BUY,
        trade_id=str(ts),
    )


def test_a_trade_of_the_next_interval_closes_the_bar_with_its_ohlcv() -> None:
    b = BarBuilder(S)
    assert b.on_trade(trade(10 * S + 1, "100"), 0) == []
    assert b.on_trade(trade(10 * S + 2, "105", "2"), 0) == []
    assert b.on_trade(trade(10 * S + 3, "95"), 0) == []
    assert b.on_trade(trade(11 * S - 1, "101"), 0) == []
    (bar,) = b.on_trade(trade(11 * S, "102"), 11 * S + 5)
    assert (bar.ts_event, bar.ts_init, bar.interval_ns) == (11 * S, 11 * S + 5, S)
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (D(100), D(105), D(95), D(101), D(5))


def test_time_closes_a_quiet_bar_and_an_empty_interval_makes_none() -> None:
    b = BarBuilder(S)
    b.on_trade(trade(10 * S, "100"), 0)
    assert b.close_until(11 * S - 1, 0) == []
    (bar,) = b.close_until(11 * S, 11 * S)
    assert bar.ts_event == 11 * S
    assert b.close_until(20 * S, 20 * S) == []  # nothing traded since: no bar
    (nxt,) = b.on_trade(trade(25 * S, "90"), 0) or b.close_until(26 * S, 26 * S)
    assert nxt.open == D(90) and nxt.ts_event == 26 * S


def test_a_late_trade_joins_the_open_bar_and_instruments_are_apart() -> None:
    b = BarBuilder(S)
    b.on_trade(trade(10 * S, "100"), 0)
    b.on_trade(trade(10 * S, "7", sym="krx:000660"), 0)
    b.on_trade(trade(11 * S, "101"), 0)
    assert b.on_trade(trade(10 * S + 5, "99"), 0) == []  # late: into the open bar, nothing reopened
    bars = b.close_until(12 * S, 12 * S)
    assert [(x.instrument, x.open, x.low) for x in bars] == [("krx:000660", D(7), D(7)), (SYM, D(101), D(99))]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(1, 500)), min_size=1, max_size=60))
def test_bars_agree_with_a_brute_force_grouping(rows: list[tuple[int, int]]) -> None:
    interval = 7
    ts = 0
    trades = []
    for gap, price in rows:
        ts += gap
        trades.append(trade(ts, str(price)))
    b = BarBuilder(interval)
    bars = [bar for t in trades for bar in b.on_trade(t, 0)] + b.close_until(ts + interval, 0)
    groups: dict[int, list[TradeTick]] = {}
    for t in trades:
        groups.setdefault(t.ts_event // interval, []).append(t)
    expected = [
        (k * interval + interval, g[0].price, max(x.price for x in g), min(x.price for x in g), g[-1].price)
        for k, g in sorted(groups.items())
    ]
    assert [(x.ts_event, x.open, x.high, x.low, x.close) for x in bars] == expected
    assert sum(Fraction(x.volume) for x in bars) == len(trades)
