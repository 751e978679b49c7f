"""KRX market rules (engines/markets/: krx.py, prices.py, the spec table in specs.py) and the simulated
venue (engines/sim/).

The rules (docs/sim.md, "KRX rules"): banded ticks and the safe rounding onto them, daily price
limits of ±30 % of the previous session's close, whole-share lots, commission plus the sell-side
securities transaction tax, and the regular session 09:00-15:30 KST on tick data. Every figure is
computed by hand in the comments. The default KRX spec: commission 1.5 bps, sell tax 20 bps.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal as D

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engines.ledger import Ledger
from engines.markets.krx import KRX_SELL_TAX_BPS, KRX_SESSION_NS, KRX_TICK_BANDS, krx_sell_tax_bps, krx_tick
from engines.markets.prices import daily_price_band, on_tick_grid, round_to_tick
from engines.markets.specs import spec_for
from engines.model.commands import SubmitOrder
from engines.model.enums import Liquidity, OrderType, Side, TimeInForce
from engines.model.events import (
    Bar,
    CashAdjusted,
    InstrumentDefined,
    OrderAccepted,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    QuoteTick,
    TradeTick,
)
from engines.model.instruments import InstrumentSpec
from engines.sim.rules import RejectCode
from engines.sim.venue import SimVenue

SAMSUNG = "krx:005930"
HYUNDAI = "krx:005380"
SPOT = "binance-spot:BTCUSDT"
KRX = spec_for(SAMSUNG)

SEC = 10**9
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR
MONDAY = 19_702  # 2023-12-11, days since 1970-01-01
BUY, SELL = Side.BUY, Side.SELL
MARKET, LIMIT, STOP, STOP_LIMIT = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT


def kst(day: int, hh: int = 0, mm: int = 0, ss: int = 0) -> int:
    """UTC epoch ns of ``hh:mm:ss`` KST on the KST date ``day`` (days since 1970-01-01)."""
    return day * DAY + hh * HOUR + mm * MIN + ss * SEC - 9 * HOUR


# ── builders ─────────────────────────────────────────────────────────────────────────────────────


def order(
    cid: str,
    side: Side,
    qty: str,
    order_type: OrderType = MARKET,
    *,
    price: str | None = None,
    stop: str | None = None,
    instrument: str = SAMSUNG,
    tif: TimeInForce = TimeInForce.GTC,
) -> SubmitOrder:
    return SubmitOrder(
        ts_event=0,
        ts_init=0,
        strategy="t",
        venue="sim",
        client_order_id=cid,
        instrument=instrument,
        side=side,
        order_type=order_type,
        quantity=D(qty),
        price=None if price is None else D(price),
        trigger_price=None if stop is None else D(stop),
        time_in_force=tif,
    )


def quote(ts: int, bid: str, ask: str, size: str = "100", *, instrument: str = SAMSUNG) -> QuoteTick:
    return QuoteTick(
        ts_event=ts,
        ts_init=ts,
        instrument=instrument,
        bid=D(bid),
        bid_size=D(size),
        ask=D(ask),
        ask_size=D(size),
    )


def trade(ts: int, price: str, size: str = "100", *, instrument: str = SAMSUNG) -> TradeTick:
    return TradeTick(
        ts_event=ts,
        ts_init=ts,
        instrument=instrument,
        price=D(price),
        size=D(size),
        aggressor=BUY,
        trade_id=f"x{ts}",
    )


def daily_bar(day: int, o: str, h: str, low: str, c: str, *, instrument: str = SAMSUNG) -> Bar:
    """The daily bar of KST date ``day`` as the data importer writes it: open at 00:00 UTC of the
    date (09:00 KST), close 24 h later."""
    close_ts = (day + 1) * DAY
    return Bar(
        ts_event=close_ts,
        ts_init=close_ts,
        instrument=instrument,
        open=D(o),
        high=D(h),
        low=D(low),
        close=D(c),
        volume=D(1),
        interval_ns=DAY,
    )


def minute_bar(close_ts: int, px: str) -> Bar:
    return Bar(
        ts_event=close_ts,
        ts_init=close_ts,
        instrument=SAMSUNG,
        open=D(px),
        high=D(px),
        low=D(px),
        close=D(px),
        volume=D(1),
        interval_ns=MIN,
    )


def account(krw: str = "100000000", *, specs: Iterable[InstrumentSpec] = ()) -> Ledger:
    ledger = Ledger()
    for spec in (KRX, spec_for(HYUNDAI), spec_for(SPOT), *specs):
        ledger.apply(InstrumentDefined(ts_event=0, ts_init=0, spec=spec))
    ledger.apply(CashAdjusted(ts_event=0, ts_init=0, currency="KRW", amount=D(krw), reason="t"))
    ledger.apply(CashAdjusted(ts_event=0, ts_init=0, currency="USDT", amount=D(100_000), reason="t"))
    return ledger


def holding(ledger: Ledger, qty: str, px: str, instrument: str = SAMSUNG) -> Ledger:
    ledger.apply(
        OrderFilled(
            ts_event=0,
            ts_init=0,
            client_order_id="elsewhere",
            instrument=instrument,
            side=BUY,
            trade_id=f"elsewhere-{instrument}",
            last_qty=D(qty),
            last_px=D(px),
            cum_qty=D(qty),
            fee=D(0),
            fee_currency="",
        )
    )
    return ledger


def venue(
    ledger: Ledger | None = None, *, specs: Iterable[InstrumentSpec] = (), **kwargs: object
) -> SimVenue:
    table = {s: spec_for(s) for s in (SAMSUNG, HYUNDAI, SPOT)}
    table.update({s.symbol: s for s in specs})
    return SimVenue(table, ledger if ledger is not None else account(), **kwargs)  # type: ignore[arg-type]


def only(events: Sequence[OrderEvent]) -> OrderEvent:
    assert len(events) == 1, events
    return events[0]


def accepted(v: SimVenue, cmd: SubmitOrder, now: int) -> None:
    ack = only(v.submit(cmd, now))
    assert isinstance(ack, OrderAccepted), ack


def code(v: SimVenue, cmd: SubmitOrder, now: int) -> str:
    """The reject code of the answer, or "ok" for an acceptance."""
    e = only(v.submit(cmd, now))
    return e.code if isinstance(e, OrderRejected) else "ok"


def fills(events: Iterable[OrderEvent]) -> list[OrderFilled]:
    return [e for e in events if isinstance(e, OrderFilled)]


# ── tick bands and round_to_tick ─────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("price", "buy", "sell"),
    [
        # around each band edge: just below it, on it, just above it
        ("1999.5", "1999", "2000"),  # tick 1 below 2,000: a sell rounds up onto the 5 band's edge
        ("2000", "2000", "2000"),
        ("2001", "2000", "2005"),
        ("4999", "4995", "5000"),  # tick 5
        ("5000", "5000", "5000"),
        ("5001", "5000", "5010"),
        ("19999", "19990", "20000"),  # tick 10
        ("20000", "20000", "20000"),
        ("20001", "20000", "20050"),
        ("49999", "49950", "50000"),  # tick 50
        ("50000", "50000", "50000"),
        ("50001", "50000", "50100"),
        ("199999", "199900", "200000"),  # tick 100
        ("200000", "200000", "200000"),
        ("200001", "200000", "200500"),
        ("499999", "499500", "500000"),  # tick 500
        ("500000", "500000", "500000"),
        ("500001", "500000", "501000"),  # tick 1,000
        # inside bands
        ("1.5", "1", "2"),
        ("71234", "71200", "71300"),
        ("1234567", "1234000", "1235000"),
    ],
)
def test_round_to_tick_buys_down_sells_up_across_band_edges(price: str, buy: str, sell: str) -> None:
    down, up = round_to_tick(KRX, D(price), BUY), round_to_tick(KRX, D(price), SELL)
    assert (down, up) == (D(buy), D(sell))
    assert on_tick_grid(KRX, down) and on_tick_grid(KRX, up)
    assert down <= D(price) <= up


def test_round_to_tick_on_a_fixed_grid_keeps_the_ticks_exponent() -> None:
    spot = spec_for(SPOT)  # tick 0.01
    assert str(round_to_tick(spot, D("100.005"), BUY)) == "100.00"
    assert str(round_to_tick(spot, D("100.005"), SELL)) == "100.01"
    assert round_to_tick(spot, D("100.01"), BUY) == D("100.01")


@pytest.mark.parametrize("price", ["0", "-5", "NaN", "Infinity"])
def test_round_to_tick_refuses_prices_that_are_not_positive(price: str) -> None:
    with pytest.raises(ValueError):
        round_to_tick(KRX, D(price), BUY)


def test_round_to_tick_buy_below_the_first_tick_has_no_answer() -> None:
    with pytest.raises(ValueError):
        round_to_tick(KRX, D("0.5"), BUY)
    assert round_to_tick(KRX, D("0.5"), SELL) == 1


def _grid_below(x: D) -> D:
    """The grid price just below the grid price ``x`` (the tick of the band under it)."""
    return x - krx_tick(x - D("0.001"))


@settings(max_examples=300, deadline=None)
@given(st.decimals(min_value=D(1), max_value=D(3_000_000), places=3))
def test_round_to_tick_gives_the_nearest_grid_price_on_the_safe_side(price: D) -> None:
    down, up = round_to_tick(KRX, price, BUY), round_to_tick(KRX, price, SELL)
    assert on_tick_grid(KRX, down) and on_tick_grid(KRX, up)
    # nearest: no grid price lies strictly between the price and its rounding
    assert down <= price < down + krx_tick(down)
    assert _grid_below(up) < price <= up


def test_tick_bands_are_the_2023_krx_table() -> None:
    assert [(int(bound), int(tick)) for bound, tick in KRX_TICK_BANDS] == [
        (2_000, 1),
        (5_000, 5),
        (20_000, 10),
        (50_000, 50),
        (200_000, 100),
        (500_000, 500),
    ]
    assert krx_tick(D(500_000)) == 1_000


def test_whole_share_lots_and_off_grid_prices_are_rejected() -> None:
    v = venue()
    v.on_market(trade(kst(MONDAY, 9, 30), "70000"))
    now = kst(MONDAY, 10)
    assert code(v, order("half", BUY, "0.5", LIMIT, price="70000"), now) == "LOT_SIZE"
    assert code(v, order("grid", BUY, "1", LIMIT, price="70050"), now) == "TICK_SIZE"  # tick 100
    assert code(v, order("ok", BUY, "1", LIMIT, price="70100"), now) == "ok"


# ── daily price limits ───────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("base", "low", "high"),
    [
        ("10000", "7000", "13000"),  # exact: 7,000 and 13,000 are on their grids
        ("71100", "49800", "92400"),  # 49,770 up to the 50 grid; 92,430 down to the 100 grid
        ("1540", "1078", "2000"),  # 1,078 (tick 1); 2,002 is in the 5 band: down to 2,000
        ("3000", "2100", "3900"),
        ("16000", "11200", "20800"),  # 20,800 is on the 50 grid of its band
        ("700000", "490000", "910000"),  # 490,000 on the 500 grid; 910,000 on the 1,000 grid
        ("700001", "490500", "910000"),  # 490,000.7 up to 490,500; 910,001.3 down to 910,000
    ],
)
def test_daily_price_band_rounds_inward_to_the_grid(base: str, low: str, high: str) -> None:
    assert daily_price_band(KRX, D(base)) == (D(low), D(high))


def test_daily_price_band_is_only_for_the_krx_scheme() -> None:
    assert daily_price_band(spec_for(SPOT), D(100)) is None
    assert daily_price_band(spec_for("us-equities:AAPL"), D(100)) is None
    assert daily_price_band(KRX, D(0)) is None


def test_limits_on_daily_bars_come_from_the_previous_bars_close() -> None:
    v = venue(holding(account(), "100", "9000"))
    v.on_market(daily_bar(MONDAY, "9800", "10200", "9700", "10000"))
    now = (MONDAY + 1) * DAY  # the bar's close: Tuesday 09:00 KST; band [7,000, 13,000]
    assert code(v, order("b-hi", BUY, "1", LIMIT, price="13000"), now) == "ok"
    assert code(v, order("b-over", BUY, "1", LIMIT, price="13010"), now) == "PRICE_LIMIT"
    assert code(v, order("s-lo", SELL, "1", LIMIT, price="7000"), now) == "ok"
    assert code(v, order("s-under", SELL, "1", LIMIT, price="6990"), now) == "PRICE_LIMIT"
    assert code(v, order("stop", BUY, "1", STOP, stop="13100"), now) == "PRICE_LIMIT"
    assert code(v, order("sl", BUY, "1", STOP_LIMIT, price="13100", stop="12000"), now) == "PRICE_LIMIT"
    assert code(v, order("mkt", BUY, "1"), now) == "ok"  # market orders carry no price to check
    # the next bar moves the base to its close, 12,000: band [8,400, 15,600]
    v.on_market(daily_bar(MONDAY + 1, "10000", "12500", "9900", "12000"))
    later = (MONDAY + 2) * DAY
    assert code(v, order("b-now", BUY, "1", LIMIT, price="13010"), later) == "ok"
    assert code(v, order("b-over2", BUY, "1", LIMIT, price="15700"), later) == "PRICE_LIMIT"
    assert code(v, order("s-now", SELL, "1", LIMIT, price="8350"), later) == "PRICE_LIMIT"


def test_the_reject_names_the_band_and_the_base() -> None:
    v = venue()
    v.on_market(daily_bar(MONDAY, "9800", "10200", "9700", "10000"))
    rej = only(v.submit(order("x", BUY, "1", LIMIT, price="13010"), (MONDAY + 1) * DAY))
    assert isinstance(rej, OrderRejected)
    assert rej.code == RejectCode.PRICE_LIMIT.value
    assert "[7000, 13000]" in rej.reason and "10000" in rej.reason


def test_no_limits_before_a_previous_day_was_seen() -> None:
    v = venue()
    assert code(v, order("blind", BUY, "1", LIMIT, price="900000"), kst(MONDAY, 10)) == "ok"
    v.on_market(trade(kst(MONDAY, 10), "70000"))
    # still the first day of data: its own prices are not a previous close
    assert code(v, order("first-day", BUY, "1", LIMIT, price="900000"), kst(MONDAY, 11)) == "ok"


def test_limits_on_ticks_come_from_the_last_trade_of_the_previous_day() -> None:
    v = venue()
    v.on_market(trade(kst(MONDAY, 10), "65000"))
    v.on_market(trade(kst(MONDAY, 15, 20), "70000"))  # Monday's last trade: the base
    v.on_market(quote(kst(MONDAY, 15, 25), "70100", "70300"))  # a later quote does not replace it
    v.on_market(trade(kst(MONDAY + 1, 9, 5), "80000"))  # Tuesday's own trades do not move the band
    now = kst(MONDAY + 1, 10)
    # base 70,000: [49,000, 91,000]
    assert code(v, order("hi", BUY, "1", LIMIT, price="91000"), now) == "ok"
    assert code(v, order("over", BUY, "1", LIMIT, price="91100"), now) == "PRICE_LIMIT"
    assert code(v, order("lo", BUY, "1", LIMIT, price="49000"), now) == "ok"
    assert code(v, order("under", BUY, "1", LIMIT, price="48950"), now) == "PRICE_LIMIT"
    # on Wednesday the base is Tuesday's last trade, 80,000: [56,000, 104,000]
    wednesday = kst(MONDAY + 2, 10)
    v.on_market(trade(wednesday - 1, "80000"))
    assert code(v, order("wed", BUY, "1", LIMIT, price="104000"), wednesday) == "ok"
    assert code(v, order("wed-lo", BUY, "1", LIMIT, price="55900"), wednesday) == "PRICE_LIMIT"


def test_limits_on_quotes_only_come_from_the_last_mid() -> None:
    v = venue()
    v.on_market(quote(kst(MONDAY, 15, 0), "69000", "69100"))
    v.on_market(quote(kst(MONDAY, 15, 29), "70000", "70100"))  # last mid 70,050
    now = kst(MONDAY + 1, 9, 30)
    # 70,050 × 0.7 = 49,035 up to 49,050; × 1.3 = 91,065 down to 91,000
    assert code(v, order("lo", BUY, "1", LIMIT, price="49050"), now) == "ok"
    assert code(v, order("under", BUY, "1", LIMIT, price="49000"), now) == "PRICE_LIMIT"
    assert code(v, order("hi", BUY, "1", LIMIT, price="91000"), now) == "ok"
    assert code(v, order("over", BUY, "1", LIMIT, price="91100"), now) == "PRICE_LIMIT"


def test_a_quote_locked_at_a_limit_closes_at_its_one_side() -> None:
    v = venue()
    v.on_market(quote(kst(MONDAY, 15, 0), "70000", "70100"))
    v.on_market(quote(kst(MONDAY, 15, 29), "91000", "0"))  # limit-up: bids only, no ask
    now = kst(MONDAY + 1, 10)
    # base 91,000 (not the earlier mid 70,050, nor (91,000 + 0) / 2): [63,700, 118,300]
    assert code(v, order("lo", BUY, "1", LIMIT, price="63700"), now) == "ok"
    assert code(v, order("under", BUY, "1", LIMIT, price="63600"), now) == "PRICE_LIMIT"
    assert code(v, order("hi", BUY, "1", LIMIT, price="118300"), now) == "ok"


def test_a_quote_with_no_side_leaves_the_previous_close() -> None:
    v = venue()
    v.on_market(trade(kst(MONDAY - 3, 15, 0), "70000"))  # Friday's close
    v.on_market(quote(kst(MONDAY, 9, 0), "0", "0"))  # Monday: an empty book all day
    now = kst(MONDAY + 1, 10)
    assert code(v, order("hi", BUY, "1", LIMIT, price="91000"), now) == "ok"
    assert code(v, order("over", BUY, "1", LIMIT, price="91100"), now) == "PRICE_LIMIT"


def test_a_weekend_or_holiday_gap_keeps_the_last_trading_days_close() -> None:
    v = venue()
    friday = MONDAY - 3
    v.on_market(trade(kst(friday, 15, 0), "70000"))
    now = kst(MONDAY, 9, 30)
    assert code(v, order("hi", BUY, "1", LIMIT, price="91000"), now) == "ok"
    assert code(v, order("over", BUY, "1", LIMIT, price="91100"), now) == "PRICE_LIMIT"


def test_a_late_event_of_an_earlier_day_changes_no_close() -> None:
    v = venue()
    v.on_market(trade(kst(MONDAY, 15, 0), "70000"))
    v.on_market(trade(kst(MONDAY + 1, 9, 30), "80000"))
    v.on_market(trade(kst(MONDAY, 15, 10), "60000"))  # out of order: Monday is over
    now = kst(MONDAY + 1, 10)
    assert code(v, order("hi", BUY, "1", LIMIT, price="91000"), now) == "ok"  # base still 70,000
    assert code(v, order("over", BUY, "1", LIMIT, price="91100"), now) == "PRICE_LIMIT"


def test_the_base_is_the_same_whether_orders_were_working_or_not() -> None:
    """The replay's fast path (no order working) and the matching path keep the same closes."""
    stream = [
        trade(kst(MONDAY, 10), "65000"),
        trade(kst(MONDAY, 15, 0), "70000"),
        trade(kst(MONDAY + 1, 9, 1), "72000"),
    ]
    quiet, busy = venue(), venue()
    accepted(busy, order("far", BUY, "1", LIMIT, price="1000", instrument=HYUNDAI), kst(MONDAY, 9))
    for event in stream:
        quiet.on_market(event)
        busy.on_market(event)
    now = kst(MONDAY + 1, 10)
    for v in (quiet, busy):
        assert code(v, order("hi", BUY, "1", LIMIT, price="91000"), now) == "ok"
        assert code(v, order("over", BUY, "1", LIMIT, price="91100"), now) == "PRICE_LIMIT"


def test_a_bar_beyond_the_band_is_trusted_not_capped() -> None:
    """Data outside the band (adjusted prices, a base reset the sim does not know) fills as is."""
    v = venue()
    v.on_market(daily_bar(MONDAY, "10000", "10000", "10000", "10000"))
    accepted(v, order("m", BUY, "1"), (MONDAY + 1) * DAY)
    (f,) = fills(v.on_market(daily_bar(MONDAY + 1, "14000", "14500", "13900", "14200")))
    assert f.last_px == D(14000)  # above the band's 13,000: the print is real, the sim trusts it


def test_fills_inside_the_band_stay_inside_it() -> None:
    """A limit accepted inside the band fills at the bar's open or its limit: both inside."""
    v = venue(holding(account(), "10", "9000"))
    v.on_market(daily_bar(MONDAY, "9800", "10200", "9700", "10000"))
    now = (MONDAY + 1) * DAY
    accepted(v, order("b", BUY, "1", LIMIT, price="12990"), now)
    accepted(v, order("s", SELL, "1", LIMIT, price="7010"), now)
    out = v.on_market(daily_bar(MONDAY + 1, "11000", "13000", "7000", "12000"))
    assert sorted(f.last_px for f in fills(out)) == [D(11000), D(11000)]  # both marketable at the open


# ── commission and the sell-side tax ─────────────────────────────────────────────────────────────


def test_the_tax_table_by_settlement_date() -> None:
    assert krx_sell_tax_bps(date(2017, 6, 1)) == 30
    assert krx_sell_tax_bps(date(2019, 6, 2)) == 30
    assert krx_sell_tax_bps(date(2019, 6, 3)) == 25
    assert krx_sell_tax_bps(date(2021, 1, 1)) == 23
    assert krx_sell_tax_bps(date(2023, 6, 30)) == 20
    assert krx_sell_tax_bps(date(2024, 6, 30)) == 18
    assert krx_sell_tax_bps(date(2025, 6, 30)) == 15
    assert krx_sell_tax_bps(date(2026, 1, 1)) == 20
    assert krx_sell_tax_bps(date(2026, 1, 1), "KOSDAQ") == 20
    assert [r.since for r in KRX_SELL_TAX_BPS] == sorted(r.since for r in KRX_SELL_TAX_BPS)
    with pytest.raises(ValueError):
        krx_sell_tax_bps(date(2026, 1, 1), "KONEX")


def test_the_default_krx_spec_charges_the_2026_kospi_tax_and_a_commission() -> None:
    assert (KRX.sell_tax_bps, KRX.maker_fee_bps, KRX.taker_fee_bps) == (D(20), D("1.5"), D("1.5"))
    assert (KRX.lot_size, KRX.min_qty, KRX.tick_scheme, KRX.quote) == (D(1), D(1), "krx", "KRW")
    assert KRX.sell_tax_bps == KRX_SELL_TAX_BPS[-1].kospi
    assert spec_for("us-equities:AAPL").sell_tax_bps == 0
    assert spec_for(SPOT).sell_tax_bps == 0


def test_sells_pay_commission_plus_tax_buys_only_commission() -> None:
    ledger = account("1000000")
    v = venue(ledger)
    out: list[OrderEvent] = []

    def fold(events: Sequence[OrderEvent]) -> None:
        out.extend(events)
        for e in events:
            ledger.apply(e)

    fold(v.on_market(daily_bar(MONDAY, "70000", "70000", "70000", "70000")))
    fold(v.submit(order("b", BUY, "10"), (MONDAY + 1) * DAY))
    fold(v.on_market(daily_bar(MONDAY + 1, "70000", "77000", "69000", "76000")))
    fold(v.submit(order("s", SELL, "10", LIMIT, price="77000"), (MONDAY + 2) * DAY))
    fold(v.on_market(daily_bar(MONDAY + 2, "76000", "78000", "75000", "77500")))
    buy, sell = fills(out)
    # buy 10 @ 70,000: 700,000 × 1.5 / 10,000 = 105 KRW
    assert (buy.last_px, buy.fee, buy.fee_currency) == (D(70000), D(105), "KRW")
    # sell 10 @ 77,000 (maker, inside the bar): 770,000 × (1.5 + 20) / 10,000 = 1,655.5 KRW
    assert (sell.last_px, sell.fee, sell.liquidity) == (D(77000), D("1655.5"), Liquidity.MAKER)
    # 1,000,000 - 700,000 - 105 + 770,000 - 1,655.5
    assert ledger.cash("KRW") == D("1068239.5")
    assert ledger.fees("KRW") == D("1760.5")


def test_fee_bps_replaces_the_commission_not_the_tax() -> None:
    v = venue(holding(account(), "10", "60000"), fee_bps=D(15))
    v.on_market(quote(kst(MONDAY, 9, 0), "70000", "70100"))
    accepted(v, order("s", SELL, "10"), kst(MONDAY, 9, 30))
    accepted(v, order("b", BUY, "10"), kst(MONDAY, 9, 30))
    sell, buy = fills(v.on_market(quote(kst(MONDAY, 9, 31), "70000", "70100")))
    # sell 10 @ 70,000: 700,000 × (15 + 20) / 10,000 = 2,450; buy 10 @ 70,100: 701,000 × 15 / 10,000
    assert (sell.side, sell.fee) == (SELL, D(2450))
    assert (buy.side, buy.fee) == (BUY, D("1051.5"))


def test_the_tax_comes_from_the_spec_and_an_override_pins_another_year() -> None:
    year_2017 = msgspec.structs.replace(KRX, sell_tax_bps=krx_sell_tax_bps(date(2017, 6, 1)))
    v = venue(holding(account(), "10", "60000"), specs=[year_2017])
    v.on_market(trade(kst(MONDAY, 9, 0), "70000"))
    accepted(v, order("s", SELL, "10"), kst(MONDAY, 9, 30))
    (f,) = fills(v.on_market(trade(kst(MONDAY, 9, 31), "70000")))
    # 700,000 × (1.5 + 30) / 10,000 = 2,205
    assert f.fee == D(2205)


def test_the_buy_cash_check_reserves_the_commission_not_the_tax() -> None:
    # buy 10 @ 70,000 needs 700,000 × (1 + 1.5 / 10,000) = 700,105 KRW
    now = kst(MONDAY, 10)
    v = venue(account("700105"))
    assert code(v, order("b", BUY, "10", LIMIT, price="70000"), now) == "ok"
    v = venue(account("700104.99"))
    assert code(v, order("b", BUY, "10", LIMIT, price="70000"), now) == "INSUFFICIENT_CASH"


# ── the regular session ──────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (kst(MONDAY, 8, 59, 59), "MARKET_CLOSED"),  # pre-market: out of scope
        (kst(MONDAY, 9, 0), "ok"),
        (kst(MONDAY, 15, 29, 59), "ok"),
        (kst(MONDAY, 15, 30), "MARKET_CLOSED"),  # the session is [09:00, 15:30)
        (kst(MONDAY, 17, 0), "MARKET_CLOSED"),  # after-hours single price: out of scope
        (kst(MONDAY + 4, 15, 0), "ok"),  # Friday
        (kst(MONDAY + 5, 10, 0), "MARKET_CLOSED"),  # Saturday
        (kst(MONDAY + 6, 10, 0), "MARKET_CLOSED"),  # Sunday
    ],
)
def test_orders_on_tick_data_need_the_regular_session(when: int, expected: str) -> None:
    v = venue()
    v.on_market(quote(kst(MONDAY - 3, 10), "70000", "70100"))  # tick data, the Friday before
    assert code(v, order("o", BUY, "1", LIMIT, price="70000"), when) == expected


def test_the_session_is_checked_at_the_orders_arrival() -> None:
    v = venue(latency_ns=2 * SEC)
    v.on_market(trade(kst(MONDAY, 9, 0), "70000"))
    rej = only(v.submit(order("late", BUY, "1", LIMIT, price="70000"), kst(MONDAY, 15, 29, 59)))
    assert isinstance(rej, OrderRejected)
    assert (rej.code, rej.ts_event) == ("MARKET_CLOSED", kst(MONDAY, 15, 30, 1))
    assert code(v, order("early", BUY, "1", LIMIT, price="70000"), kst(MONDAY, 8, 59, 58)) == "ok"


def test_the_session_is_the_first_market_rule_checked() -> None:
    v = venue()
    assert code(v, order("q", BUY, "0", LIMIT, price="70050"), kst(MONDAY, 16)) == "MARKET_CLOSED"


def test_daily_bars_have_no_session_check() -> None:
    """A Friday bar closes at Saturday 00:00 UTC (09:00 KST): its order is for Monday's open."""
    v = venue()
    friday = MONDAY - 3
    v.on_market(daily_bar(friday, "70000", "70500", "69500", "70000"))
    saturday = (friday + 1) * DAY
    accepted(v, order("m", BUY, "1"), saturday)
    accepted(v, order("evening", BUY, "1", LIMIT, price="69000"), saturday + 11 * HOUR)  # 20:00 KST
    (f, *_) = fills(v.on_market(daily_bar(MONDAY, "70100", "70200", "68000", "69000")))
    assert (f.client_order_id, f.last_px, f.ts_event) == ("m", D(70100), MONDAY * DAY)


def test_intraday_bars_keep_the_session_check() -> None:
    v = venue()
    v.on_market(minute_bar(kst(MONDAY, 15, 29), "70000"))
    assert code(v, order("in", BUY, "1"), kst(MONDAY, 15, 29)) == "ok"
    v.on_market(minute_bar(kst(MONDAY, 15, 30), "70000"))
    assert code(v, order("closed", BUY, "1"), kst(MONDAY, 15, 30)) == "MARKET_CLOSED"


def test_other_markets_have_no_session_and_no_limits() -> None:
    v = venue()
    v.on_market(quote(kst(MONDAY - 1, 10), "100.00", "100.01", instrument=SPOT))
    v.on_market(quote(kst(MONDAY + 5, 3), "100.00", "100.01", instrument=SPOT))
    saturday_night = kst(MONDAY + 5, 3)
    assert code(v, order("o", BUY, "0.1", LIMIT, price="500.00", instrument=SPOT), saturday_night) == "ok"


def test_the_session_bounds_are_09_00_and_15_30() -> None:
    assert KRX_SESSION_NS == (9 * HOUR, 15 * HOUR + 30 * MIN)
