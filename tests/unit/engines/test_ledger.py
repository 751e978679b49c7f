"""Worked examples for the ledger, every number computed by hand in the comments."""

from __future__ import annotations

import decimal
from decimal import Decimal as D

import pytest

from engines.errors import LedgerError
from engines.ledger import Ledger, LedgerSnapshot, Position, fold
from engines.model.enums import OrderType, Side
from engines.model.events import (
    Bar,
    CashAdjusted,
    Event,
    InstrumentDefined,
    MarkPrice,
    OrderAccepted,
    OrderFilled,
    OrderSubmitted,
    QuoteTick,
    RunStarted,
    StrategyLog,
    TradeTick,
)
from engines.model.instruments import InstrumentKind, InstrumentSpec

BTC_SPOT = "binance-spot:BTCUSDT"
SAMSUNG = "krx:005930"
BTC_PERP = "binance-usdm:BTCUSDT"
BTC_COINM = "binance-coinm:BTCUSD_PERP"


def spec(
    symbol: str,
    kind: InstrumentKind,
    *,
    base: str = "BTC",
    quote: str = "USDT",
    settle: str = "USDT",
    multiplier: str = "1",
    tick_size: str = "0.01",
) -> InstrumentSpec:
    return InstrumentSpec(
        symbol=symbol,
        kind=kind,
        base=base,
        quote=quote,
        settle=settle,
        tick_size=D(tick_size),
        lot_size=D("0.001"),
        multiplier=D(multiplier),
    )


SPECS = {
    BTC_SPOT: spec(BTC_SPOT, InstrumentKind.SPOT),
    SAMSUNG: spec(SAMSUNG, InstrumentKind.EQUITY, base="005930", quote="KRW", settle="KRW"),
    BTC_PERP: spec(BTC_PERP, InstrumentKind.LINEAR),
    # Binance COIN-M: one contract is worth 100 USD, margin and PnL are in BTC.
    BTC_COINM: spec(BTC_COINM, InstrumentKind.INVERSE, quote="USD", settle="BTC", multiplier="100"),
}


def define(symbol: str) -> InstrumentDefined:
    return InstrumentDefined(ts_event=0, ts_init=0, spec=SPECS[symbol])


def deposit(currency: str, amount: str) -> CashAdjusted:
    return CashAdjusted(ts_event=0, ts_init=0, currency=currency, amount=D(amount), reason="test")


def fill(
    symbol: str, side: Side, qty: str, px: str, *, fee: str = "0", fee_currency: str = "USDT"
) -> OrderFilled:
    return OrderFilled(
        ts_event=1,
        ts_init=1,
        client_order_id="c-1",
        instrument=symbol,
        side=side,
        trade_id=f"t-{side}-{qty}-{px}",
        last_qty=D(qty),
        last_px=D(px),
        cum_qty=D(qty),
        fee=D(fee),
        fee_currency=fee_currency,
    )


def quote(symbol: str, bid: str, ask: str) -> QuoteTick:
    return QuoteTick(
        ts_event=2,
        ts_init=2,
        instrument=symbol,
        bid=D(bid),
        bid_size=D(1),
        ask=D(ask),
        ask_size=D(1),
    )


def trade(symbol: str, price: str) -> TradeTick:
    return TradeTick(
        ts_event=2,
        ts_init=2,
        instrument=symbol,
        price=D(price),
        size=D(1),
        aggressor=Side.BUY,
        trade_id="m-1",
    )


def bar(symbol: str, close: str) -> Bar:
    return Bar(
        ts_event=2,
        ts_init=2,
        instrument=symbol,
        open=D(1),
        high=D(10**9),
        low=D(1),
        close=D(close),
        volume=D(5),
        interval_ns=60_000_000_000,
    )


def mark(symbol: str, price: str) -> MarkPrice:
    return MarkPrice(ts_event=2, ts_init=2, instrument=symbol, price=D(price))


def ledger(*events: Event) -> Ledger:
    return fold(events)


# ── spot and equity: full notional moves ────────────────────────────────────────────────────────


def test_spot_round_trip_moves_notional_and_charges_fees() -> None:
    led = ledger(
        define(BTC_SPOT),
        deposit("USDT", "30000"),
        fill(BTC_SPOT, Side.BUY, "0.5", "20000", fee="10"),  # cash 30000 - 10000 - 10 = 19990
        fill(BTC_SPOT, Side.BUY, "0.5", "22000", fee="11"),  # cash 19990 - 11000 - 11 = 8979
    )
    assert led.position(BTC_SPOT) == Position(
        qty=D(1), avg_px=D(21000), cost_basis=D(21000), realized_pnl=D(0)
    )
    assert led.cash("USDT") == D(8979)

    led.apply(fill(BTC_SPOT, Side.SELL, "1", "23000", fee="23"))  # cash 8979 + 23000 - 23

    assert led.cash("USDT") == D(31956)
    assert led.position(BTC_SPOT) == Position(qty=D(0), realized_pnl=D(2000))  # 1 * (23000-21000)
    assert led.fees("USDT") == D(44)
    assert led.equity("USDT") == D(31956)  # 30000 + 2000 realised - 44 fees
    assert led.cash("BTC") == D(0)


def test_partial_closes_realise_against_the_average_and_keep_it() -> None:
    led = ledger(
        define(SAMSUNG),
        deposit("KRW", "1000000"),
        fill(SAMSUNG, Side.BUY, "10", "70000", fee="105", fee_currency="KRW"),
        fill(SAMSUNG, Side.SELL, "4", "72000", fee="43.2", fee_currency="KRW"),
    )
    # 4 * (72000 - 70000) = 8000 realised; 6 shares left at the same average.
    assert led.position(SAMSUNG) == Position(
        qty=D(6), avg_px=D(70000), cost_basis=D(420000), realized_pnl=D(8000)
    )
    led.apply(fill(SAMSUNG, Side.SELL, "6", "69000"))  # 6 * (69000 - 70000) = -6000
    assert led.position(SAMSUNG).realized_pnl == D(2000)
    # 1_000_000 - 700_105 + 287_956.8 + 414_000
    assert led.cash("KRW") == D("1001851.8")
    assert led.equity("KRW") == D(1000000) + D(2000) - D("148.2")


def test_partial_close_of_a_mixed_average_realises_the_released_share() -> None:
    led = ledger(
        define(BTC_SPOT),
        fill(BTC_SPOT, Side.BUY, "1", "100"),
        fill(BTC_SPOT, Side.BUY, "2", "103"),  # cost 306, average 102
        fill(BTC_SPOT, Side.SELL, "1", "110"),  # 110 - 102
    )
    assert led.position(BTC_SPOT) == Position(qty=D(2), avg_px=D(102), cost_basis=D(204), realized_pnl=D(8))


def test_rounding_of_a_partial_close_is_absorbed_when_the_position_goes_flat() -> None:
    led = ledger(
        define(BTC_SPOT),
        fill(BTC_SPOT, Side.BUY, "1", "100"),
        fill(BTC_SPOT, Side.BUY, "2", "101"),  # cost 302, average 100.666...
        fill(BTC_SPOT, Side.SELL, "1", "101"),
    )
    pos = led.position(BTC_SPOT)
    assert pos.avg_px == D("100.666666666666666667")  # 302/3 rounded half-even at 18 places
    assert pos.realized_pnl == D("0.333333333333333333")  # 101 - 100.666666666666666667
    led.apply(fill(BTC_SPOT, Side.SELL, "2", "101"))
    # In total: sold 3 * 101 = 303 against a cost of 302, whatever the split.
    assert led.position(BTC_SPOT) == Position(qty=D(0), realized_pnl=D(1))


def test_unrealised_pnl_is_exactly_what_closing_at_the_mark_would_realise() -> None:
    led = ledger(
        define(BTC_SPOT),
        fill(BTC_SPOT, Side.BUY, "1", "100"),
        fill(BTC_SPOT, Side.BUY, "2", "101"),  # average 100.666... is rounded, the basis is not
        trade(BTC_SPOT, "101"),
    )
    assert led.unrealized_pnl(BTC_SPOT) == D(1)  # 3 * 101 - 302, not 3 * (101 - 100.66...67)


def test_spot_flip_long_to_short_in_one_fill() -> None:
    led = ledger(
        define(BTC_SPOT),
        deposit("USDT", "1000"),
        fill(BTC_SPOT, Side.BUY, "1", "100"),
        fill(BTC_SPOT, Side.SELL, "3", "110"),  # closes 1 (+10), opens -2 at 110
    )
    assert led.position(BTC_SPOT) == Position(
        qty=D(-2), avg_px=D(110), cost_basis=D(-220), realized_pnl=D(10)
    )
    assert led.cash("USDT") == D(1230)  # 1000 - 100 + 330
    led.apply(mark(BTC_SPOT, "105"))
    assert led.unrealized_pnl(BTC_SPOT) == D(10)  # 2 * (110 - 105)
    assert led.equity("USDT") == D(1020)  # 1230 - 2 * 105 = 1000 + 10 + 10


# ── linear contracts: only PnL moves ───────────────────────────────────────────────────────────


def test_linear_perp_flip_pays_realised_pnl_into_settle_cash() -> None:
    led = ledger(
        define(BTC_PERP),
        deposit("USDT", "1000"),
        fill(BTC_PERP, Side.BUY, "2", "30000", fee="12"),  # no notional moves
    )
    assert led.cash("USDT") == D(988)
    led.apply(fill(BTC_PERP, Side.SELL, "5", "31000", fee="31"))
    # Closes 2 long at +1000 each, opens 3 short at 31000.
    assert led.position(BTC_PERP) == Position(
        qty=D(-3), avg_px=D(31000), cost_basis=D(-93000), realized_pnl=D(2000)
    )
    assert led.cash("USDT") == D(2957)  # 1000 - 12 + 2000 - 31

    led.apply(quote(BTC_PERP, "30499.5", "30500.5"))  # mid 30500
    assert led.unrealized_pnl(BTC_PERP) == D(1500)  # 3 * (31000 - 30500)
    assert led.equity("USDT") == D(4457)

    led.apply(fill(BTC_PERP, Side.BUY, "3", "30000"))
    assert led.position(BTC_PERP) == Position(qty=D(0), realized_pnl=D(5000))
    assert led.cash("USDT") == D(5957)
    assert led.unrealized_pnl(BTC_PERP) == D(0)
    assert led.equity("USDT") == D(5957)


def test_linear_multiplier_scales_pnl_per_contract() -> None:
    okx = "okx-swap:BTC-USDT-SWAP"
    okx_spec = spec(okx, InstrumentKind.LINEAR, multiplier="0.01")  # 0.01 BTC a contract
    led = fold(
        [
            InstrumentDefined(ts_event=0, ts_init=0, spec=okx_spec),
            fill(okx, Side.BUY, "100", "30000"),  # 1 BTC of exposure
            fill(okx, Side.SELL, "100", "31000"),  # 100 * 0.01 * 1000
        ]
    )
    assert led.position(okx).realized_pnl == D(1000)
    assert led.cash("USDT") == D(1000)


# ── inverse contracts: PnL in the base currency ────────────────────────────────────────────────


def test_inverse_average_entry_is_the_contract_weighted_harmonic_mean() -> None:
    led = ledger(
        define(BTC_COINM),
        fill(BTC_COINM, Side.BUY, "10", "50000", fee="0.00001", fee_currency="BTC"),
        fill(BTC_COINM, Side.BUY, "10", "40000", fee="0.0000125", fee_currency="BTC"),
    )
    pos = led.position(BTC_COINM)
    # 20 / (10/50000 + 10/40000) = 44444.44..., not the arithmetic 45000.
    assert pos.avg_px == D("44444.444444444444444444")
    assert pos.cost_basis == D("0.045")  # 1000/50000 + 1000/40000 BTC
    assert led.cash("BTC") == D("-0.0000225")  # only the fees; no notional moves


def test_inverse_perp_long_round_trip_realises_btc() -> None:
    led = ledger(
        define(BTC_COINM),
        deposit("BTC", "1"),
        fill(BTC_COINM, Side.BUY, "10", "50000", fee="0.00001", fee_currency="BTC"),
        fill(BTC_COINM, Side.BUY, "10", "40000", fee="0.0000125", fee_currency="BTC"),
        trade(BTC_COINM, "80000"),
    )
    assert led.unrealized_pnl(BTC_COINM) == D("0.02")  # 0.045 - 20*100/80000
    assert led.equity("BTC") == D("1.0199775")  # 1 - 0.0000225 + 0.02
    assert led.equity("USD") == D(0)  # inverse positions are worth nothing in the quote

    led.apply(fill(BTC_COINM, Side.SELL, "20", "50000", fee="0.00002", fee_currency="BTC"))
    # 20 * 100 * (1/44444.44... - 1/50000) = 0.045 - 0.04
    assert led.position(BTC_COINM) == Position(qty=D(0), realized_pnl=D("0.005"))
    assert led.cash("BTC") == D("1.0049575")  # 1 + 0.005 - 0.0000425
    assert led.fees("BTC") == D("0.0000425")


def test_inverse_short_gains_btc_when_price_falls() -> None:
    led = ledger(
        define(BTC_COINM),
        fill(BTC_COINM, Side.SELL, "100", "50000"),
        fill(BTC_COINM, Side.BUY, "100", "40000"),
    )
    # 100 * 100 * (1/50000 - 1/40000) * (-1) = 0.05 BTC
    assert led.position(BTC_COINM).realized_pnl == D("0.05")
    assert led.cash("BTC") == D("0.05")


def test_inverse_pnl_with_a_repeating_quotient_rounds_to_18_places() -> None:
    led = ledger(
        define(BTC_COINM),
        fill(BTC_COINM, Side.BUY, "100", "50000"),
        bar(BTC_COINM, "60000"),
    )
    one_thirtieth = D("0.033333333333333333")  # 100 * 100 * (1/50000 - 1/60000) = 1/30 BTC
    assert led.unrealized_pnl(BTC_COINM) == one_thirtieth
    led.apply(fill(BTC_COINM, Side.SELL, "100", "60000"))
    assert led.position(BTC_COINM).realized_pnl == one_thirtieth


# ── marks ───────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (quote(BTC_SPOT, "99", "102"), D("100.5")),
        (trade(BTC_SPOT, "101.25"), D("101.25")),
        (bar(BTC_SPOT, "98"), D(98)),
        (mark(BTC_SPOT, "97.5"), D("97.5")),
    ],
    ids=["quote-mid", "trade-price", "bar-close", "mark-price"],
)
def test_each_market_event_marks_the_position(event: Event, expected: D) -> None:
    led = ledger(define(BTC_SPOT), fill(BTC_SPOT, Side.BUY, "2", "100"), event)
    assert led.mark(BTC_SPOT) == expected
    assert led.unrealized_pnl(BTC_SPOT) == 2 * (expected - 100)
    assert led.equity("USDT") == -200 + 2 * expected


def test_latest_mark_wins_whatever_its_source() -> None:
    led = ledger(
        define(BTC_SPOT),
        fill(BTC_SPOT, Side.BUY, "1", "100"),
        trade(BTC_SPOT, "120"),
        quote(BTC_SPOT, "104", "106"),
    )
    assert led.mark(BTC_SPOT) == D(105)


def test_unmarked_position_is_valued_at_its_average_entry() -> None:
    led = ledger(define(BTC_SPOT), deposit("USDT", "500"), fill(BTC_SPOT, Side.BUY, "2", "100"))
    assert led.mark(BTC_SPOT) is None
    assert led.unrealized_pnl(BTC_SPOT) == D(0)
    assert led.equity("USDT") == D(500)  # 300 cash + 2 held at 100


def test_non_positive_prices_and_one_sided_quotes_are_not_marks() -> None:
    led = ledger(
        define(BTC_SPOT),
        trade(BTC_SPOT, "100"),
        quote(BTC_SPOT, "0", "102"),  # empty bid side
        mark(BTC_SPOT, "-1"),
        bar(BTC_SPOT, "0"),
    )
    assert led.mark(BTC_SPOT) == D(100)


def test_marks_do_not_touch_cash_or_realised_pnl() -> None:
    led = ledger(define(BTC_PERP), deposit("USDT", "100"), fill(BTC_PERP, Side.BUY, "1", "100"))
    led.apply(trade(BTC_PERP, "150"))
    assert led.cash("USDT") == D(100)
    assert led.position(BTC_PERP).realized_pnl == D(0)
    assert led.equity("USDT") == D(150)


# ── equity per currency ────────────────────────────────────────────────────────────────────────


def test_equity_adds_no_fx_conversion_between_currencies() -> None:
    led = ledger(
        define(BTC_SPOT),
        define(SAMSUNG),
        deposit("USDT", "1000"),
        deposit("KRW", "1000000"),
        fill(BTC_SPOT, Side.BUY, "1", "100"),
        fill(SAMSUNG, Side.BUY, "1", "70000"),
        trade(BTC_SPOT, "110"),
        trade(SAMSUNG, "71000"),
    )
    assert led.equity("USDT") == D(1010)
    assert led.equity("KRW") == D(1001000)
    assert led.equity("BTC") == D(0)  # a spot holding is a position, not BTC cash


# ── errors and the rest of the journal ─────────────────────────────────────────────────────────


def test_fill_for_an_undefined_instrument_raises_and_changes_nothing() -> None:
    led = ledger(deposit("USDT", "100"))
    before = led.snapshot()
    with pytest.raises(LedgerError, match="no InstrumentDefined"):
        led.apply(fill(BTC_SPOT, Side.BUY, "1", "100", fee="1"))
    assert led.snapshot() == before


@pytest.mark.parametrize(
    "bad",
    [
        fill(BTC_SPOT, Side.BUY, "0", "100"),
        fill(BTC_SPOT, Side.BUY, "1", "0"),
        fill(BTC_SPOT, Side.BUY, "-1", "100"),
        fill(BTC_SPOT, Side.BUY, "NaN", "100"),
        fill(BTC_SPOT, Side.BUY, "1", "100", fee="1", fee_currency=""),
        fill(BTC_SPOT, Side.BUY, "1", "100", fee="Infinity"),
    ],
    ids=["zero-qty", "zero-px", "negative-qty", "nan-qty", "fee-without-currency", "inf-fee"],
)
def test_malformed_fill_raises_and_changes_nothing(bad: OrderFilled) -> None:
    led = ledger(define(BTC_SPOT), deposit("USDT", "100"))
    before = led.snapshot()
    with pytest.raises(LedgerError):
        led.apply(bad)
    assert led.snapshot() == before


def test_zero_fee_without_currency_is_accepted_and_opens_no_balance() -> None:
    led = ledger(define(BTC_SPOT), fill(BTC_SPOT, Side.BUY, "1", "100", fee_currency=""))
    assert set(led.snapshot().cash) == {"USDT"}
    assert led.snapshot().fees == {}


def test_negative_fee_is_a_rebate_that_adds_cash() -> None:
    led = ledger(define(BTC_PERP), fill(BTC_PERP, Side.BUY, "1", "100", fee="-0.01"))
    assert led.cash("USDT") == D("0.01")
    assert led.fees("USDT") == D("-0.01")


def test_amount_beyond_exact_precision_raises_instead_of_rounding() -> None:
    led = ledger(define(BTC_SPOT), deposit("USDT", "1e40"))
    with pytest.raises(LedgerError):
        led.apply(deposit("USDT", "0.000000000000000000001"))
    assert led.cash("USDT") == D("1e40")


def test_redefining_settlement_terms_under_an_open_position_raises() -> None:
    led = ledger(define(BTC_PERP), fill(BTC_PERP, Side.BUY, "1", "100"))
    changed = spec(BTC_PERP, InstrumentKind.LINEAR, multiplier="10")
    with pytest.raises(LedgerError, match="multiplier"):
        led.apply(InstrumentDefined(ts_event=3, ts_init=3, spec=changed))


def test_redefining_tick_size_under_an_open_position_is_allowed() -> None:
    led = ledger(define(BTC_PERP), fill(BTC_PERP, Side.BUY, "1", "100"))
    finer = spec(BTC_PERP, InstrumentKind.LINEAR, tick_size="0.001")
    led.apply(InstrumentDefined(ts_event=3, ts_init=3, spec=finer))
    assert led.snapshot().instruments[BTC_PERP] == finer


def test_unrelated_events_are_ignored() -> None:
    unrelated: list[Event] = [
        RunStarted(
            ts_event=0,
            ts_init=0,
            run_id="r",
            strategy="s",
            strategy_type="single",
            mode="replay",
            venues=("sim",),
            params={},
            strategy_sha256="0" * 64,
        ),
        OrderSubmitted(
            ts_event=0,
            ts_init=0,
            strategy="s",
            client_order_id="c-1",
            instrument=BTC_SPOT,
            side=Side.BUY,
            order_type=OrderType.MARKET,
            quantity=D(1),
        ),
        OrderAccepted(ts_event=0, ts_init=0, client_order_id="c-1", venue_order_id="v-1"),
        StrategyLog(ts_event=0, ts_init=0, strategy="s", message="hello"),
    ]
    base = [define(BTC_SPOT), deposit("USDT", "100"), fill(BTC_SPOT, Side.BUY, "1", "50")]
    assert fold(base + unrelated).snapshot() == fold(base).snapshot()
    assert fold(unrelated).snapshot() == Ledger().snapshot()


# ── context independence and snapshots ─────────────────────────────────────────────────────────


def _rounding_world() -> list[Event]:
    return [
        define(BTC_SPOT),
        define(BTC_COINM),
        fill(BTC_SPOT, Side.BUY, "1", "100.123456789"),
        fill(BTC_SPOT, Side.BUY, "2", "101.987654321"),
        fill(BTC_SPOT, Side.SELL, "1", "103.5"),
        fill(BTC_COINM, Side.BUY, "7", "43210.5"),
        fill(BTC_COINM, Side.SELL, "3", "47123.9"),
        quote(BTC_COINM, "47000.1", "47000.2"),
    ]


def test_results_do_not_depend_on_the_callers_decimal_context() -> None:
    reference = fold(_rounding_world())
    hostile = decimal.Context(prec=4, rounding=decimal.ROUND_FLOOR)
    with decimal.localcontext(hostile):
        under_hostile = fold(_rounding_world())
        hostile_unrealized = under_hostile.unrealized_pnl(BTC_COINM)
    assert under_hostile.snapshot() == reference.snapshot()
    assert hostile_unrealized == reference.unrealized_pnl(BTC_COINM)
    assert len(reference.position(BTC_SPOT).avg_px.as_tuple().digits) > 4


def test_snapshot_compares_by_value_and_encodes_with_sorted_keys() -> None:
    events = [define(BTC_PERP), define(BTC_SPOT), deposit("USDT", "5"), deposit("KRW", "7")]
    first, second = fold(events).snapshot(), fold(list(reversed(events))).snapshot()
    assert first == second
    assert first.to_json() == second.to_json()
    text = first.to_json().decode()
    assert text.index('"KRW"') < text.index('"USDT"')
    assert text.index('"cash"') < text.index('"fees"') < text.index('"instruments"')
    assert LedgerSnapshot(**{f: getattr(first, f) for f in first.__struct_fields__}) == first


def test_snapshot_is_a_copy_the_caller_cannot_change_the_ledger_through() -> None:
    led = ledger(deposit("USDT", "5"))
    snap = led.snapshot()
    snap.cash["USDT"] = D(1000)
    assert led.cash("USDT") == D(5)
