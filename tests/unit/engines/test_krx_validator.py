"""The KRX order validator (engines/markets/krx_validator.py): every rule refuses just outside its
boundary and allows just inside it, with the error code and rule it names.

Times are written in KST and converted to UTC epoch ns. 2026-12-02 is a Wednesday, an ordinary
trading day; 2026-12-05 a Saturday; 2026-12-25 (Friday) Christmas; 2026-01-02 the first trading
day of 2026 (Jan 1 a holiday).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engines.errors import ERROR_CODES
from engines.ledger import Ledger
from engines.markets.krx import krx_tick
from engines.markets.krx_validator import (
    KRX_EXAM_DAYS,
    KRX_HOLIDAYS,
    KrxOrderError,
    check_krx_order,
    first_trading_day,
    is_trading_day,
    kst_date,
    sessions_on,
)
from engines.markets.specs import spec_for
from engines.model.commands import SubmitOrder
from engines.model.enums import OrderType, Side
from engines.model.events import CashAdjusted, InstrumentDefined, OrderAccepted, OrderRejected
from engines.sim.venue import SimVenue

KST = timezone(timedelta(hours=9))
SPEC = spec_for("krx:005930")
ETF = spec_for("krx:069500")
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET


def kst(y: int, mo: int, d: int, h: int = 10, mi: int = 0, s: int = 0, *, ns: int = 0) -> int:  # noqa: PLR0917 -- like datetime()
    """UTC epoch ns of a KST wall-clock time."""
    return int(datetime(y, mo, d, h, mi, s, tzinfo=KST).timestamp()) * 1_000_000_000 + ns


OPEN = kst(2026, 12, 2, 10)  # a Wednesday, mid-session


def refused(code: str, rule: str, *args: object, **kwargs: object) -> KrxOrderError:
    with pytest.raises(KrxOrderError) as info:
        check_krx_order(*args, **kwargs)  # type: ignore[arg-type]
    err = info.value
    assert (err.code, err.rule) == (code, rule), str(err)
    assert code in ERROR_CODES
    return err


def ok(
    price: D | None,
    at_ns: int = OPEN,
    order_type: OrderType = LIMIT,
    quantity: D = D(1),
    **kwargs: object,
) -> None:
    check_krx_order(SPEC, Side.BUY, order_type, quantity, price, at_ns, **kwargs)  # type: ignore[arg-type]


# ── the order itself, the lot ──


def test_not_a_krx_instrument() -> None:
    refused("VT140", "order", spec_for("binance-spot:BTCUSDT"), Side.BUY, LIMIT, D(1), D(100), OPEN)


def test_limit_needs_a_positive_price_market_ignores_it() -> None:
    for bad in (None, D(0), D(-5), D("NaN")):
        refused("VT140", "order", SPEC, Side.BUY, LIMIT, D(1), bad, OPEN)
    ok(None, order_type=MARKET)
    ok(D("70001.5"), order_type=MARKET)


def test_unknown_session_kind() -> None:
    refused("VT140", "order", SPEC, Side.BUY, LIMIT, D(1), D(70_000), OPEN, session_order_kind="night")


@pytest.mark.parametrize("qty", [D(0), D(-1), D("0.5"), D("1.0001"), D("Infinity")])
def test_lot_refuses_fractions_and_non_positive(qty: D) -> None:
    err = refused("VT141", "lot", SPEC, Side.SELL, LIMIT, qty, D(70_000), OPEN)
    assert str(qty) in err.message and "whole number of shares" in err.message


@pytest.mark.parametrize("qty", [D(1), D("2.0"), D(1_000_000)])
def test_lot_takes_whole_shares(qty: D) -> None:
    ok(D(70_000), quantity=qty)


def test_stop_market_refused_stop_limit_checked_as_a_limit() -> None:
    refused("VT146", "order_type", SPEC, Side.BUY, OrderType.STOP, D(1), None, OPEN)
    # a broker's stop-limit (Kiwoom trde_tp 28) reaches KRX as a limit order: its limit is checked
    check_krx_order(SPEC, Side.BUY, OrderType.STOP_LIMIT, D(1), D(70_000), OPEN, base_price=D(70_000))
    refused("VT142", "tick", SPEC, Side.BUY, OrderType.STOP_LIMIT, D(1), D(70_001), OPEN)
    refused("VT140", "order", SPEC, Side.BUY, OrderType.STOP_LIMIT, D(1), None, OPEN)
    err = refused(
        "VT146",
        "order_type",
        SPEC,
        Side.BUY,
        OrderType.STOP_LIMIT,
        D(1),
        D(70_000),
        kst(2026, 12, 2, 17),
        session_order_kind="after_hours",
    )
    assert "stop_limit" in err.message


# ── ticks ──


@pytest.mark.parametrize(
    ("price", "valid"),
    [
        (D(1_999), True),  # tick 1
        (D(2_000), True),  # the 5 band starts on a multiple of 5
        (D(2_001), False),
        (D(2_004), False),
        (D(4_995), True),
        (D(4_996), False),
        (D(5_000), True),  # the 10 band
        (D(5_005), False),
        (D(19_990), True),
        (D(19_995), False),
        (D(20_000), True),  # the 50 band
        (D(20_010), False),
        (D(49_950), True),
        (D(49_990), False),
        (D(50_000), True),  # the 100 band
        (D(50_050), False),
        (D(199_900), True),
        (D(199_950), False),
        (D(200_000), True),  # the 500 band
        (D(200_100), False),
        (D(499_500), True),
        (D(499_900), False),
        (D(500_000), True),  # 1,000 from here
        (D(500_500), False),
        (D(1_001_000), True),
        (D("1999.5"), False),
        (D("70000.5"), False),
        (D("70000.00"), True),
    ],
)
def test_tick_bands(price: D, valid: bool) -> None:
    if valid:
        ok(price)
    else:
        err = refused("VT142", "tick", SPEC, Side.BUY, LIMIT, D(1), price, OPEN)
        assert f"{krx_tick(price)} KRW" in err.message


def test_etf_tick_is_5_krw_at_every_price() -> None:
    # 69,995 is off the stock grid (tick 100 there) but on the fund grid
    check_krx_order(ETF, Side.BUY, LIMIT, D(1), D(69_995), OPEN)
    err = refused("VT142", "tick", ETF, Side.BUY, LIMIT, D(1), D(69_996), OPEN)
    assert "ETF/ETN/ELW tick" in err.message and "5 KRW" in err.message
    refused("VT142", "tick", ETF, Side.BUY, LIMIT, D(1), D(1_001), OPEN)
    # a stock the caller says is a fund (an ETN, say), and a listed ETF the caller says is not
    check_krx_order(SPEC, Side.BUY, LIMIT, D(1), D(69_995), OPEN, fund=True)
    refused("VT142", "tick", ETF, Side.BUY, LIMIT, D(1), D(69_995), OPEN, fund=False)


# ── the daily limit ──


def test_daily_limit_exactly_30_percent() -> None:
    base = D(10_000)  # [7,000, 13,000], tick 10 at both ends
    ok(D(13_000), base_price=base)
    ok(D(7_000), base_price=base)
    err = refused("VT143", "daily_limit", SPEC, Side.BUY, LIMIT, D(1), D(13_010), OPEN, base_price=base)
    assert "[7000, 13000]" in err.message and "10000" in err.message
    refused("VT143", "daily_limit", SPEC, Side.SELL, LIMIT, D(1), D(6_990), OPEN, base_price=base)


def test_daily_limit_message_shows_the_band_on_the_grid() -> None:
    # base 71,100: 0.7x = 49,770 -> 49,800 (tick 50 rounds up), 1.3x = 92,430 -> 92,400 (tick 100)
    ok(D(92_400), base_price=D(71_100))
    ok(D(49_800), base_price=D(71_100))
    err = refused("VT143", "daily_limit", SPEC, Side.BUY, LIMIT, D(1), D(92_500), OPEN, base_price=D(71_100))
    assert "[49800, 92400]" in err.message


def test_daily_limit_of_an_etf_uses_the_fund_grid() -> None:
    # base 10,001: 1.3x = 13,001.3 -> 13,000; 0.7x = 7,000.7 -> 7,005
    check_krx_order(ETF, Side.BUY, LIMIT, D(1), D(13_000), OPEN, base_price=D(10_001))
    err = refused("VT143", "daily_limit", ETF, Side.BUY, LIMIT, D(1), D(7_000), OPEN, base_price=D(10_001))
    assert "[7005, 13000]" in err.message


def test_no_base_price_no_limit_check() -> None:
    ok(D(1_000_000))
    refused("VT143", "daily_limit", SPEC, Side.BUY, LIMIT, D(1), D(70_000), OPEN, base_price=D(0))


# ── the calendar ──


def test_weekend_refused() -> None:
    err = refused("VT144", "calendar", SPEC, Side.BUY, LIMIT, D(1), D(70_000), kst(2026, 12, 5, 10))
    assert "Saturday" in err.message
    refused("VT144", "calendar", SPEC, Side.BUY, LIMIT, D(1), D(70_000), kst(2026, 12, 6, 10))
    ok(D(70_000), kst(2026, 12, 4, 10))  # Friday
    ok(D(70_000), kst(2026, 12, 7, 10))  # Monday


def test_holiday_refused() -> None:
    err = refused("VT144", "calendar", SPEC, Side.BUY, LIMIT, D(1), D(70_000), kst(2026, 12, 25, 10))
    assert "Christmas" in err.message
    refused("VT144", "calendar", SPEC, Side.BUY, MARKET, D(1), None, kst(2025, 1, 28, 10))  # Seollal
    refused("VT144", "calendar", SPEC, Side.BUY, LIMIT, D(1), D(70_000), kst(2026, 12, 31, 10))
    ok(D(70_000), kst(2026, 12, 24, 10))
    ok(D(70_000), kst(2026, 12, 30, 10))


def test_the_kst_date_not_the_utc_date() -> None:
    # 2026-12-24 23:30 UTC is Christmas morning 08:30 KST
    at = int(datetime(2026, 12, 24, 23, 30, tzinfo=UTC).timestamp()) * 1_000_000_000
    assert kst_date(at) == date(2026, 12, 25)
    refused("VT144", "calendar", SPEC, Side.BUY, LIMIT, D(1), D(70_000), at)


def test_holiday_table_is_weekdays_of_2025_and_2026() -> None:
    assert {d.year for d in KRX_HOLIDAYS} == {2025, 2026}
    assert all(d.weekday() < 5 for d in KRX_HOLIDAYS)
    assert sum(1 for d in KRX_HOLIDAYS if d.year == 2026) == 17


def test_outside_the_table_only_fixed_date_holidays() -> None:
    assert not is_trading_day(date(2027, 1, 1))  # New Year, a Friday
    assert not is_trading_day(date(2027, 12, 31))
    assert is_trading_day(date(2027, 1, 4))
    assert first_trading_day(2027) == date(2027, 1, 4)


# ── sessions ──


@pytest.mark.parametrize(
    ("kind", "order_type", "inside", "outside"),
    [
        # regular kind: the opening auction from 08:30, continuous to 15:20, closing auction to 15:30
        ("regular", LIMIT, [(8, 30, 0), (9, 0, 0), (15, 29, 59)], [(8, 29, 59), (15, 30, 0), (15, 35, 0)]),
        ("regular", MARKET, [(8, 30, 0), (15, 20, 0), (15, 29, 59)], [(8, 29, 59), (15, 30, 0)]),
        ("pre_market", LIMIT, [(8, 30, 0), (8, 39, 59)], [(8, 29, 59), (8, 40, 0), (10, 0, 0)]),
        ("post_market", LIMIT, [(15, 40, 0), (15, 59, 59)], [(15, 39, 59), (16, 0, 0), (10, 0, 0)]),
        ("after_hours", LIMIT, [(16, 0, 0), (17, 59, 59)], [(15, 59, 59), (18, 0, 0), (10, 0, 0)]),
    ],
)
def test_session_edges(
    kind: str,
    order_type: OrderType,
    inside: list[tuple[int, int, int]],
    outside: list[tuple[int, int, int]],
) -> None:
    price = None if order_type is MARKET else D(70_000)
    for h, m, s in inside:
        ok(price, kst(2026, 12, 2, h, m, s), order_type, session_order_kind=kind)
    for h, m, s in outside:
        at = kst(2026, 12, 2, h, m, s)
        err = refused(
            "VT145", "session", SPEC, Side.BUY, order_type, D(1), price, at, session_order_kind=kind
        )
        assert f"{h:02d}:{m:02d} KST" in err.message


def test_last_nanosecond_of_a_session() -> None:
    ok(D(70_000), kst(2026, 12, 2, 15, 29, 59, ns=999_999_999))
    refused("VT145", "session", SPEC, Side.BUY, LIMIT, D(1), D(70_000), kst(2026, 12, 2, 15, 30))


@pytest.mark.parametrize(
    ("kind", "hm"), [("pre_market", (8, 35)), ("post_market", (15, 45)), ("after_hours", (16, 30))]
)
def test_market_orders_refused_off_hours(kind: str, hm: tuple[int, int]) -> None:
    at = kst(2026, 12, 2, *hm)
    err = refused("VT146", "order_type", SPEC, Side.BUY, MARKET, D(1), None, at, session_order_kind=kind)
    assert "market" in err.message and "only limit" in err.message


def test_off_hours_prices() -> None:
    # pre-market: at the previous close (the base price)
    pre = kst(2026, 12, 2, 8, 35)
    ok(D(70_000), pre, session_order_kind="pre_market", base_price=D(70_000))
    refused(
        "VT147",
        "off_hours_price",
        SPEC,
        Side.BUY,
        LIMIT,
        D(1),
        D(70_100),
        pre,
        session_order_kind="pre_market",
        base_price=D(70_000),
    )
    # post-market: at the close, when the caller knows it
    post = kst(2026, 12, 2, 15, 45)
    ok(D(71_000), post, session_order_kind="post_market", close_price=D(71_000))
    refused(
        "VT147",
        "off_hours_price",
        SPEC,
        Side.SELL,
        LIMIT,
        D(1),
        D(70_900),
        post,
        session_order_kind="post_market",
        close_price=D(71_000),
    )
    # after-hours single price: ±10 % of the close 70,000 -> [63,000, 77,000]
    after = kst(2026, 12, 2, 17)
    for price in (D(77_000), D(63_000)):
        ok(price, after, session_order_kind="after_hours", close_price=D(70_000))
    for price in (D(77_100), D(62_900)):
        refused(
            "VT147",
            "off_hours_price",
            SPEC,
            Side.BUY,
            LIMIT,
            D(1),
            price,
            after,
            session_order_kind="after_hours",
            close_price=D(70_000),
        )
    ok(D(90_000), after, session_order_kind="after_hours")  # no close given: not checked


def test_first_trading_day_opens_at_10() -> None:
    assert first_trading_day(2026) == date(2026, 1, 2)
    refused("VT145", "session", SPEC, Side.BUY, LIMIT, D(1), D(70_000), kst(2026, 1, 2, 9, 29, 59))
    ok(D(70_000), kst(2026, 1, 2, 9, 30))  # the opening auction, one hour late
    ok(D(70_000), kst(2026, 1, 2, 10))
    ok(D(70_000), kst(2026, 1, 2, 9, 35), session_order_kind="pre_market")
    refused(
        "VT145",
        "session",
        SPEC,
        Side.BUY,
        LIMIT,
        D(1),
        D(70_000),
        kst(2026, 1, 2, 8, 35),
        session_order_kind="pre_market",
    )
    names = {s.name: (s.opens, s.closes) for s in sessions_on(date(2026, 1, 2))}
    hour = 3_600_000_000_000
    assert names["regular session"] == (10 * hour, 15 * hour + 20 * 60_000_000_000)
    # the second trading day is an ordinary one
    ok(D(70_000), kst(2026, 1, 5, 8, 30))


def test_exam_day_runs_an_hour_late() -> None:
    refused("VT145", "session", SPEC, Side.BUY, LIMIT, D(1), D(70_000), kst(2026, 11, 19, 9, 29))
    ok(D(70_000), kst(2026, 11, 19, 16, 29))
    refused("VT145", "session", SPEC, Side.BUY, LIMIT, D(1), D(70_000), kst(2026, 11, 19, 16, 30))


def test_sessions_off_checks_only_the_terms() -> None:
    midnight_utc_saturday = kst(2026, 12, 5, 9)  # 00:00 UTC
    check_krx_order(SPEC, Side.BUY, MARKET, D(1), None, midnight_utc_saturday, sessions=False)
    check_krx_order(SPEC, Side.BUY, OrderType.STOP, D(1), None, midnight_utc_saturday, sessions=False)
    with pytest.raises(KrxOrderError) as info:
        check_krx_order(SPEC, Side.BUY, LIMIT, D(1), D(70_001), midnight_utc_saturday, sessions=False)
    assert info.value.code == "VT142"


def test_error_is_a_vibe_error_with_a_hint() -> None:
    err = refused("VT142", "tick", SPEC, Side.BUY, LIMIT, D(1), D(70_001), OPEN)
    assert err.hint == ERROR_CODES["VT142"].hint
    assert str(err).startswith("VT142 price 70001 of krx:005930")


# ── property: every price on the grid inside the limit is taken in the regular session ──


@settings(max_examples=300, deadline=None)
@given(
    base=st.integers(min_value=100, max_value=3_000_000).map(D),
    frac=st.fractions(min_value=0, max_value=1),
    minute=st.integers(min_value=0, max_value=6 * 60 + 19),
    day=st.integers(min_value=0, max_value=729),
)
def test_aligned_prices_inside_the_limit_are_accepted(base: D, frac: Fraction, minute: int, day: int) -> None:
    low, high = base * D("0.7"), base * D("1.3")
    target = low + (high - low) * D(frac.numerator) / D(frac.denominator)
    price = target - target % krx_tick(target)  # down onto the grid of its band
    if price < low:  # rounding down left the band: step up a tick instead
        price += krx_tick(price)
    assume(price <= high)  # only when no grid price lies near the top of a narrow band
    assert low <= price <= high and price % krx_tick(price) == 0
    d = date(2025, 1, 1) + timedelta(days=day)
    # the next ordinary trading day: not a weekend, a holiday or a day that opens late
    while not is_trading_day(d) or d == first_trading_day(d.year) or d in KRX_EXAM_DAYS:
        d += timedelta(days=1)
    at = kst(d.year, d.month, d.day, 9) + minute * 60_000_000_000
    for side in Side:
        check_krx_order(SPEC, side, LIMIT, D(1), price, at, base_price=base)


@settings(max_examples=200, deadline=None)
@given(price=st.integers(min_value=1, max_value=2_000_000).map(D))
def test_grid_agrees_with_krx_tick(price: D) -> None:
    aligned = price % krx_tick(price) == 0
    try:
        check_krx_order(SPEC, Side.BUY, LIMIT, D(1), price, OPEN, sessions=False)
    except KrxOrderError as err:
        assert not aligned and err.code == "VT142"
    else:
        assert aligned


# ── the simulated venue applies the order's own terms (lot, tick, limit), not the sessions ──


def _sim_order(cid: str, price: str) -> SubmitOrder:
    return SubmitOrder(
        ts_event=0,
        ts_init=0,
        strategy="t",
        venue="sim",
        client_order_id=cid,
        instrument=ETF.symbol,
        side=Side.BUY,
        order_type=LIMIT,
        quantity=D(1),
        price=D(price),
    )


def test_sim_refuses_an_etf_price_off_the_5_krw_grid() -> None:
    ledger = Ledger()
    ledger.apply(InstrumentDefined(ts_event=0, ts_init=0, spec=ETF))
    ledger.apply(CashAdjusted(ts_event=0, ts_init=0, currency="KRW", amount=D(10_000_000), reason="t"))
    sim = SimVenue({ETF.symbol: ETF}, ledger)
    # 1,001 KRW is on the stock grid (tick 1 below 2,000) but not on the fund grid
    (rej,) = sim.submit(_sim_order("a", "1001"), OPEN)
    assert isinstance(rej, OrderRejected)
    assert rej.code == "TICK_SIZE" and "5 KRW" in rej.reason
    (ack,) = sim.submit(_sim_order("b", "1005"), OPEN)
    assert isinstance(ack, OrderAccepted)
