"""The spec table (engines/markets/specs.py) and the simulated venue (engines/sim/).

Every number is computed by hand in the comments. Fee rates used below, from engines/markets/specs.py:
binance-spot:BTCUSDT 10/10 bps, binance-usdm:BTCUSDT 2/5 bps, ftx:BTC-PERP 2/7 bps,
binance-coinm:BTCUSD-PERP and ETHUSD-PERP 2/5 bps (maker/taker). The KRX rules have their own
file, test_krx_rules.py.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from decimal import Decimal as D
from pathlib import Path

import pytest

from engines.errors import InvalidSymbolError, VibeError
from engines.ledger import Ledger
from engines.markets.krx import krx_tick
from engines.markets.prices import on_tick_grid
from engines.markets.specs import DEFAULT_SPECS, UnknownInstrumentError, list_specs, spec_for, spec_table
from engines.model.codec import Codec
from engines.model.commands import CancelOrder, SubmitOrder
from engines.model.enums import Liquidity, OrderType, Side, TimeInForce
from engines.model.events import (
    Bar,
    CashAdjusted,
    InstrumentDefined,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderPendingCancel,
    OrderRejected,
    OrderSubmitted,
    QuoteTick,
    TradeTick,
)
from engines.model.instruments import InstrumentKind, InstrumentSpec
from engines.orders.book import Orders
from engines.orders.table import OrderStatus
from engines.sim.fees import FEE_QUANTUM
from engines.sim.rng import splitmix64
from engines.sim.rules import RejectCode
from engines.sim.venue import SimVenue

SPOT = "binance-spot:BTCUSDT"
USDM = "binance-usdm:BTCUSDT"
COINM = "binance-coinm:BTCUSD-PERP"
COINM_ETH = "binance-coinm:ETHUSD-PERP"
FTX = "ftx:BTC-PERP"
SAMSUNG = "krx:005930"
MIN = 60 * 10**9  # one-minute bars
DAY = 86_400 * 10**9
HOUR = 3_600 * 10**9

BUY, SELL = Side.BUY, Side.SELL
MARKET, LIMIT, STOP, STOP_LIMIT = (
    OrderType.MARKET,
    OrderType.LIMIT,
    OrderType.STOP,
    OrderType.STOP_LIMIT,
)
GTC, IOC, FOK, DAY_TIF = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.DAY


# ── builders ─────────────────────────────────────────────────────────────────────────────────────


def order(
    cid: str,
    side: Side,
    qty: str,
    order_type: OrderType = MARKET,
    *,
    price: str | None = None,
    stop: str | None = None,
    tif: TimeInForce = GTC,
    instrument: str = SPOT,
    reduce_only: bool = False,
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
        reduce_only=reduce_only,
    )


def quote(ts: int, bid: str, bid_size: str, ask: str, ask_size: str, *, instrument: str = SPOT) -> QuoteTick:
    return QuoteTick(
        ts_event=ts,
        ts_init=ts,
        instrument=instrument,
        bid=D(bid),
        bid_size=D(bid_size),
        ask=D(ask),
        ask_size=D(ask_size),
    )


def trade(ts: int, price: str, size: str, instrument: str = USDM) -> TradeTick:
    return TradeTick(
        ts_event=ts,
        ts_init=ts,
        instrument=instrument,
        price=D(price),
        size=D(size),
        aggressor=Side.SELL,
        trade_id=f"x{ts}",
    )


def bar(
    close_ts: int, o: str, h: str, low: str, c: str, *, instrument: str = FTX, interval: int = MIN
) -> Bar:
    return Bar(
        ts_event=close_ts,
        ts_init=close_ts,
        instrument=instrument,
        open=D(o),
        high=D(h),
        low=D(low),
        close=D(c),
        volume=D(1),
        interval_ns=interval,
    )


def account(cash: dict[str, str] | None = None, *symbols: str) -> Ledger:
    ledger = Ledger()
    for symbol in symbols or (SPOT, USDM, COINM, COINM_ETH, FTX, SAMSUNG):
        ledger.apply(InstrumentDefined(ts_event=0, ts_init=0, spec=spec_for(symbol)))
    for currency, amount in (cash or {"USDT": "1000000"}).items():
        ledger.apply(CashAdjusted(ts_event=0, ts_init=0, currency=currency, amount=D(amount), reason="t"))
    return ledger


def hold(ledger: Ledger, symbol: str, qty: str, px: str) -> None:
    """Give the account a position by folding a fill from elsewhere (fee-free)."""
    ledger.apply(
        OrderFilled(
            ts_event=0,
            ts_init=0,
            client_order_id="elsewhere",
            instrument=symbol,
            side=BUY,
            trade_id=f"elsewhere-{symbol}",
            last_qty=D(qty),
            last_px=D(px),
            cum_qty=D(qty),
            fee=D(0),
            fee_currency="",
        )
    )


def venue(ledger: Ledger | None = None, **kwargs: object) -> SimVenue:
    specs = {s: spec_for(s) for s in (SPOT, USDM, COINM, COINM_ETH, FTX, SAMSUNG)}
    extra = kwargs.pop("specs", None)
    if isinstance(extra, dict):
        specs.update(extra)
    return SimVenue(specs, ledger if ledger is not None else account(), **kwargs)  # type: ignore[arg-type]


def fills(events: Iterable[OrderEvent]) -> list[OrderFilled]:
    return [e for e in events if isinstance(e, OrderFilled)]


def only(events: Sequence[OrderEvent]) -> OrderEvent:
    assert len(events) == 1, events
    return events[0]


def accepted(v: SimVenue, cmd: SubmitOrder, now: int) -> OrderAccepted:
    ack = only(v.submit(cmd, now))
    assert isinstance(ack, OrderAccepted), ack
    return ack


def rejected(v: SimVenue, cmd: SubmitOrder, now: int = 1) -> OrderRejected:
    rej = only(v.submit(cmd, now))
    assert isinstance(rej, OrderRejected), rej
    return rej


def fill_tuples(events: Iterable[OrderEvent]) -> list[tuple[str, str, str, str, Liquidity]]:
    """(last_qty, last_px, cum_qty, fee, liquidity) as normalised strings, for hand-checked lists."""
    return [
        (
            f"{f.last_qty.normalize():f}",
            f"{f.last_px.normalize():f}",
            f"{f.cum_qty.normalize():f}",
            f"{f.fee.normalize():f}",
            f.liquidity,
        )
        for f in fills(events)
    ]


# ── engines/markets/specs.py ─────────────────────────────────────────────────────────────────────


def test_spec_table_covers_the_named_markets() -> None:
    spot = spec_for(SPOT)
    assert (spot.kind, spot.base, spot.quote, spot.settle) == (InstrumentKind.SPOT, "BTC", "USDT", "USDT")
    assert (spot.tick_size, spot.lot_size, spot.min_notional) == (D("0.01"), D("0.00001"), D(5))
    assert (spot.maker_fee_bps, spot.taker_fee_bps) == (D(10), D(10))

    usdm = spec_for(USDM)
    assert (usdm.kind, usdm.settle, usdm.tick_size, usdm.lot_size) == (
        InstrumentKind.LINEAR,
        "USDT",
        D("0.1"),
        D("0.001"),
    )
    assert (usdm.min_notional, usdm.maker_fee_bps, usdm.taker_fee_bps) == (D(100), D(2), D(5))

    coinm = spec_for(COINM)
    assert (coinm.kind, coinm.multiplier, coinm.settle, coinm.quote) == (
        InstrumentKind.INVERSE,
        D(100),
        "BTC",
        "USD",
    )
    assert (coinm.tick_size, coinm.lot_size) == (D("0.1"), D(1))

    ftx = spec_for(FTX)
    assert (ftx.kind, ftx.quote, ftx.settle, ftx.tick_size, ftx.lot_size) == (
        InstrumentKind.LINEAR,
        "USD",
        "USD",
        D(1),
        D("0.0001"),
    )

    krx = spec_for(SAMSUNG)
    assert (krx.kind, krx.base, krx.quote, krx.lot_size, krx.tick_scheme) == (
        InstrumentKind.EQUITY,
        "005930",
        "KRW",
        D(1),
        "krx",
    )

    aapl = spec_for("us-equities:AAPL")
    assert (aapl.kind, aapl.base, aapl.quote, aapl.tick_size, aapl.lot_size) == (
        InstrumentKind.EQUITY,
        "AAPL",
        "USD",
        D("0.01"),
        D(1),
    )


def test_bybit_patterns_take_the_base_from_the_symbol() -> None:
    eth = spec_for("bybit-spot:ETHUSDT")
    assert (eth.symbol, eth.kind, eth.base, eth.quote) == (
        "bybit-spot:ETHUSDT",
        InstrumentKind.SPOT,
        "ETH",
        "USDT",
    )
    sol = spec_for("bybit-linear:SOLUSDT")
    assert (sol.kind, sol.base, sol.settle) == (InstrumentKind.LINEAR, "SOL", "USDT")


def test_coinm_alias_keeps_the_name_asked_for() -> None:
    alias = spec_for("binance-coinm:BTCUSD_PERP")
    assert alias.symbol == "binance-coinm:BTCUSD_PERP"
    assert alias.multiplier == D(100)
    assert DEFAULT_SPECS[COINM].symbol == COINM
    eth = spec_for("binance-coinm:ETHUSD_PERP")
    assert (eth.symbol, eth.multiplier, eth.settle) == ("binance-coinm:ETHUSD_PERP", D(10), "ETH")


def test_eth_coinm_is_an_inverse_contract_of_10_usd() -> None:
    eth = spec_for(COINM_ETH)
    assert (eth.kind, eth.base, eth.quote, eth.settle, eth.multiplier) == (
        InstrumentKind.INVERSE,
        "ETH",
        "USD",
        "ETH",
        D(10),
    )
    assert (eth.tick_size, eth.lot_size, eth.min_qty, eth.min_notional) == (D("0.01"), D(1), D(1), D(0))
    assert (eth.maker_fee_bps, eth.taker_fee_bps) == (D(2), D(5))


def test_list_specs_has_every_exact_symbol_and_one_example_per_pattern() -> None:
    rows = list_specs()
    names = [r.name for r in rows]
    assert names[: len(DEFAULT_SPECS)] == list(DEFAULT_SPECS)
    assert names[len(DEFAULT_SPECS) :] == [
        "bybit-spot:<BASE>USDT",
        "bybit-linear:<BASE>USDT",
        "krx:<6 digits>",
        "us-equities:<ticker>",
    ]
    for row in rows:
        assert row.spec == spec_for(row.spec.symbol)
    assert dict((r.name, r.aliases) for r in rows)[COINM] == ("binance-coinm:BTCUSD_PERP",)


def test_the_spec_table_in_docs_is_the_table_in_code() -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "sim.md").read_text(encoding="utf-8")
    assert spec_table() in docs, "regenerate the table in docs/sim.md from engines.markets.specs.spec_table()"


@pytest.mark.parametrize(
    "symbol",
    ["binance-spot:SOLUSDT", "nasdaq:AAPL", "krx:5930", "krx:0059300", "bybit-spot:BTCUSDC"],
)
def test_unknown_market_is_vt135(symbol: str) -> None:
    with pytest.raises(UnknownInstrumentError) as info:
        spec_for(symbol)
    assert isinstance(info.value, VibeError)
    assert info.value.code == "VT135"
    assert "no instrument spec for symbol" in info.value.message


def test_malformed_symbol_is_vt120() -> None:
    with pytest.raises(InvalidSymbolError):
        spec_for("BTCUSDT")


def test_overrides_win_over_the_table() -> None:
    mine = InstrumentSpec(
        symbol=SPOT,
        kind=InstrumentKind.SPOT,
        base="BTC",
        quote="USDT",
        settle="USDT",
        tick_size=D("0.1"),
        lot_size=D(1),
    )
    assert spec_for(SPOT, overrides={SPOT: mine}) is mine
    assert spec_for(USDM, overrides={SPOT: mine}) == DEFAULT_SPECS[USDM]
    # An override also makes an unknown symbol known.
    other = InstrumentSpec(
        symbol="nasdaq:AAPL",
        kind=InstrumentKind.EQUITY,
        base="AAPL",
        quote="USD",
        settle="USD",
        tick_size=D("0.01"),
        lot_size=D(1),
    )
    assert spec_for("nasdaq:AAPL", overrides={"nasdaq:AAPL": other}) is other


@pytest.mark.parametrize(
    ("price", "tick"),
    [
        ("1", "1"),
        ("1999", "1"),
        ("2000", "5"),
        ("4995", "5"),
        ("5000", "10"),
        ("19990", "10"),
        ("20000", "50"),
        ("49950", "50"),
        ("50000", "100"),
        ("199900", "100"),
        ("200000", "500"),
        ("499500", "500"),
        ("500000", "1000"),
        ("3000000", "1000"),
    ],
)
def test_krx_tick_bands(price: str, tick: str) -> None:
    assert krx_tick(D(price)) == D(tick)


@pytest.mark.parametrize(
    ("price", "ok"),
    [
        ("1999", True),
        ("2001", False),  # band 5 from 2,000
        ("2005", True),
        ("19995", False),  # band 10
        ("50050", False),  # band 100 from 50,000
        ("50100", True),
        ("499500", True),
        ("500500", False),  # band 1,000 from 500,000
        ("501000", True),
        ("0", False),
        ("-5", False),
    ],
)
def test_krx_tick_grid(price: str, ok: bool) -> None:
    assert on_tick_grid(spec_for(SAMSUNG), D(price)) is ok


# ── acceptance, ids, determinism ─────────────────────────────────────────────────────────────────


def test_accept_gives_sequential_sim_ids_and_rejects_consume_none() -> None:
    v = venue()
    v.on_market(quote(1, "99.99", "1", "100.00", "1"))
    a1 = accepted(v, order("a", BUY, "0.1"), 1)
    rejected(v, order("b", BUY, "0"), 1)
    a2 = accepted(v, order("c", BUY, "0.1"), 1)
    assert (a1.venue_order_id, a2.venue_order_id) == ("SIM-1", "SIM-2")
    assert (a1.ts_event, a1.ts_init) == (1, 1)
    assert v.open_orders() == ["a", "c"]


def scenario() -> list[OrderEvent]:
    v = venue(latency_ns=3, reject_prob=D("0.3"), seed=42)
    out: list[OrderEvent] = []
    out += v.on_market(quote(1, "99.99", "1", "100.00", "0.3"))
    out += v.on_market(quote(1, "61800.0", "1", "61800.1", "0.5", instrument=USDM))
    for i in range(8):
        out += v.submit(order(f"m{i}", BUY if i % 2 else SELL, "0.2", instrument=USDM), 1)
        out += v.submit(order(f"l{i}", BUY, "0.25", LIMIT, price="99.50"), 2)
    out += v.on_market(trade(5, "100.0", "0.3"))
    out += v.on_market(quote(6, "99.49", "0.4", "99.51", "0.1"))
    out += v.on_market(quote(7, "99.00", "2", "99.40", "0.6"))
    out += v.on_market(quote(7, "61800.0", "0.3", "61800.2", "0.7", instrument=USDM))
    out += v.cancel(
        CancelOrder(ts_event=8, ts_init=8, strategy="t", venue="sim", client_order_id="l0", instrument=SPOT),
        8,
    )
    return out


def test_same_inputs_give_byte_identical_events() -> None:
    codec = Codec()
    first = [codec.to_json(e) for e in scenario()]
    second = [codec.to_json(e) for e in scenario()]
    assert first == second
    assert any(isinstance(e, OrderFilled) for e in scenario())


# ── bars ─────────────────────────────────────────────────────────────────────────────────────────

T1 = 1_700_000_040 * 10**9  # close of bar 1 (a minute boundary)
T2, T3, T4 = T1 + MIN, T1 + 2 * MIN, T1 + 3 * MIN


def bar_venue(**kwargs: object) -> SimVenue:
    v = venue(**kwargs)
    v.on_market(bar(T1, "100", "110", "90", "105"))
    return v


def test_bar_market_order_fills_at_next_open_stamped_at_open() -> None:
    v = bar_venue()
    accepted(v, order("m", BUY, "1", instrument=FTX), T1)
    # Bar 1 again (its open T1 - MIN is before the order arrived): no look-ahead.
    assert v.on_market(bar(T1, "100", "110", "90", "105")) == []
    f = only(v.on_market(bar(T2, "106", "108", "104", "107")))
    assert isinstance(f, OrderFilled)
    # 1 at the open 106; taker fee 7 bps: 106 * 7 / 10000 = 0.0742 USD.
    assert (f.last_qty, f.last_px, f.cum_qty, f.fee, f.fee_currency) == (
        D(1),
        D(106),
        D(1),
        D("0.0742"),
        "USD",
    )
    assert (f.ts_event, f.ts_init, f.liquidity) == (T1, T1, Liquidity.TAKER)
    assert v.open_orders() == []


def test_bar_market_order_has_no_volume_cap() -> None:
    v = bar_venue()
    accepted(v, order("m", SELL, "250", instrument=FTX), T1)
    (f,) = fills(v.on_market(bar(T2, "104", "108", "103", "107")))  # volume 1
    assert (f.last_qty, f.cum_qty, f.last_px) == (D(250), D(250), D(104))


@pytest.mark.parametrize(
    ("side", "limit", "bars", "expected"),
    [
        # buy 95: bar 2 low 96 misses; bar 3 low 94 fills at min(98, 95) = 95, maker, at the close.
        (BUY, "95", [("100", "101", "96", "98"), ("98", "99", "94", "97")], ("95", T3, "maker")),
        # buy 95, bar 3 gaps down to open 93: min(93, 95) = 93, at the open T2.
        (BUY, "95", [("100", "101", "96", "98"), ("93", "94", "92", "93")], ("93", T2, "maker")),
        # sell 105: bar 2 high 104 misses; bar 3 high 106 fills at max(101, 105) = 105.
        (SELL, "105", [("100", "104", "99", "101"), ("101", "106", "100", "104")], ("105", T3, "maker")),
        # sell 105 gapped through: open 107 -> max(107, 105) = 107 at the open.
        (SELL, "105", [("100", "104", "99", "101"), ("107", "108", "106", "107")], ("107", T2, "maker")),
        # buy 101 marketable at bar 2's open 100: a taker at the open, stamped T1.
        (BUY, "101", [("100", "102", "99", "101")], ("100", T1, "taker")),
    ],
)
def test_bar_limit_rules(
    side: Side, limit: str, bars: list[tuple[str, str, str, str]], expected: tuple[str, int, str]
) -> None:
    v = bar_venue()
    accepted(v, order("l", side, "2", LIMIT, price=limit, instrument=FTX), T1)
    out: list[OrderEvent] = []
    for i, (o, h, low, c) in enumerate(bars):
        out += v.on_market(bar(T2 + i * MIN, o, h, low, c))
    (f,) = fills(out)
    px, ts, liq = expected
    assert (f.last_px, f.last_qty, f.ts_event, f.liquidity) == (D(px), D(2), ts, Liquidity(liq))
    rate = D(2) if liq == "maker" else D(7)
    assert f.fee == D(2) * D(px) * rate / 10000


@pytest.mark.parametrize(
    ("side", "stop", "ohlc", "expected"),
    [
        # stop buy 110: high 111 >= 110, fill max(100, 110) = 110 at the close.
        (BUY, "110", ("100", "111", "99", "108"), ("110", T2)),
        # gap: open 112 above the stop -> max(112, 110) = 112 at the open.
        (BUY, "110", ("112", "115", "111", "113"), ("112", T1)),
        # stop sell 90: low 89 <= 90 -> min(100, 90) = 90.
        (SELL, "90", ("100", "101", "89", "95"), ("90", T2)),
        # gap: open 88 -> min(88, 90) = 88.
        (SELL, "90", ("88", "91", "85", "86"), ("88", T1)),
    ],
)
def test_bar_stop_rules(
    side: Side, stop: str, ohlc: tuple[str, str, str, str], expected: tuple[str, int]
) -> None:
    v = bar_venue()
    accepted(v, order("s", side, "1", STOP, stop=stop, instrument=FTX), T1)
    (f,) = fills(v.on_market(bar(T2, *ohlc)))
    assert (f.last_px, f.ts_event, f.liquidity) == (D(expected[0]), expected[1], Liquidity.TAKER)


def test_bar_stop_not_hit_keeps_working() -> None:
    v = bar_venue()
    accepted(v, order("s", BUY, "1", STOP, stop="110", instrument=FTX), T1)
    assert v.on_market(bar(T2, "100", "109", "99", "108")) == []
    assert v.open_orders() == ["s"]


def test_bar_stop_limit_fills_at_trigger_within_limit_else_rests() -> None:
    v = bar_venue()
    accepted(v, order("a", BUY, "1", STOP_LIMIT, price="111", stop="110", instrument=FTX), T1)
    accepted(v, order("b", BUY, "1", STOP_LIMIT, price="111", stop="110", instrument=FTX), T1)
    v.cancel(
        CancelOrder(ts_event=0, ts_init=0, strategy="t", venue="sim", client_order_id="b", instrument=FTX), T1
    )
    # a: high 112 hits 110; trade at max(100, 110) = 110 <= 111.
    (f,) = fills(v.on_market(bar(T2, "100", "112", "99", "108")))
    assert (f.client_order_id, f.last_px) == ("a", D(110))
    accepted(v, order("c", BUY, "1", STOP_LIMIT, price="111", stop="110", instrument=FTX), T2)
    # c: bar 3 opens at 113, above its limit: triggered but rests as a limit at 111.
    assert fills(v.on_market(bar(T3, "113", "114", "112", "113"))) == []
    # bar 4: low 110 <= 111 -> min(112, 111) = 111, as a maker.
    (g,) = fills(v.on_market(bar(T4, "112", "113", "110", "111")))
    assert (g.last_px, g.liquidity) == (D(111), Liquidity.MAKER)


def test_bar_day_order_expires_at_the_close_of_its_bar() -> None:
    v = bar_venue()
    accepted(v, order("d", BUY, "1", LIMIT, price="90", tif=DAY_TIF, instrument=FTX), T1)
    accepted(v, order("g", BUY, "1", LIMIT, price="90", instrument=FTX), T1)
    e = only(v.on_market(bar(T2, "100", "101", "95", "98")))
    assert isinstance(e, OrderExpired)
    assert (e.client_order_id, e.ts_event) == ("d", T2)
    assert v.open_orders() == ["g"]


def test_bar_latency_makes_an_order_miss_the_next_open() -> None:
    v = bar_venue(latency_ns=1)
    ack = accepted(v, order("m", BUY, "1", instrument=FTX), T1)
    assert ack.ts_event == T1 + 1
    assert v.on_market(bar(T2, "106", "108", "104", "107")) == []  # opened at T1 < T1 + 1
    (f,) = fills(v.on_market(bar(T3, "107", "109", "105", "108")))
    assert (f.last_px, f.ts_event) == (D(107), T2)


def test_bar_ioc_limit_not_marketable_at_open_is_canceled() -> None:
    v = bar_venue()
    accepted(v, order("i", BUY, "1", LIMIT, price="95", tif=IOC, instrument=FTX), T1)
    # The low 94 would touch 95 later in the bar, but only the open is immediate.
    e = only(v.on_market(bar(T2, "100", "101", "94", "98")))
    assert isinstance(e, OrderCanceled)
    assert e.ts_event == T1


# ── quotes ───────────────────────────────────────────────────────────────────────────────────────


def test_market_buy_fills_by_displayed_size_across_quotes() -> None:
    v = venue()
    v.on_market(quote(1, "99.99", "1", "100.00", "0.2"))
    accepted(v, order("m", BUY, "0.5"), 1)
    out = v.on_market(quote(2, "99.99", "1", "100.00", "0.2"))
    out += v.on_market(quote(3, "100.40", "1", "100.50", "0.2"))
    out += v.on_market(quote(4, "100.90", "1", "101.00", "1"))
    # 0.2 @ 100.00, fee 0.2 * 100 * 0.001 = 0.02; 0.2 @ 100.50 -> 0.0201; 0.1 @ 101 -> 0.0101.
    assert fill_tuples(out) == [
        ("0.2", "100", "0.2", "0.02", Liquidity.TAKER),
        ("0.2", "100.5", "0.4", "0.0201", Liquidity.TAKER),
        ("0.1", "101", "0.5", "0.0101", Liquidity.TAKER),
    ]
    assert [f.ts_event for f in fills(out)] == [2, 3, 4]
    assert [f.trade_id for f in fills(out)] == ["SIM-T1", "SIM-T2", "SIM-T3"]
    assert v.open_orders() == []


def test_market_sell_fills_at_the_bid() -> None:
    ledger = account()
    hold(ledger, SPOT, "1", "90")
    v = venue(ledger)
    v.on_market(quote(1, "99.99", "1", "100.00", "1"))
    accepted(v, order("s", SELL, "0.3"), 1)
    (f,) = fills(v.on_market(quote(2, "99.50", "0.5", "99.60", "1")))
    assert (f.last_px, f.last_qty, f.side) == (D("99.50"), D("0.3"), SELL)


def test_orders_share_the_displayed_size_in_acceptance_order() -> None:
    v = venue()
    v.on_market(quote(1, "99.99", "1", "100.00", "1"))
    accepted(v, order("a", BUY, "0.3"), 1)
    accepted(v, order("b", BUY, "0.3"), 1)
    out = v.on_market(quote(2, "99.99", "1", "100.00", "0.4"))
    assert [(f.client_order_id, f.last_qty) for f in fills(out)] == [("a", D("0.3")), ("b", D("0.1"))]


def test_marketable_limit_takes_at_the_touch_then_rests_at_its_limit() -> None:
    v = venue()
    v.on_market(quote(1, "99.99", "1", "100.00", "1"))
    accepted(v, order("l", BUY, "1", LIMIT, price="101.00"), 1)
    out = v.on_market(quote(2, "99.99", "1", "100.00", "0.4"))  # taker 0.4 @ 100.00
    out += v.on_market(quote(3, "101.50", "1", "101.60", "5"))  # 101.60 > 101: nothing
    out += v.on_market(quote(4, "100.40", "1", "100.50", "0.5"))  # crosses: maker 0.5 @ 101
    assert fill_tuples(out) == [
        ("0.4", "100", "0.4", "0.04", Liquidity.TAKER),
        ("0.5", "101", "0.9", "0.0505", Liquidity.MAKER),
    ]


def test_non_marketable_limit_rests_and_fills_as_maker_when_crossed() -> None:
    v = venue()
    v.on_market(quote(1, "99.99", "1", "100.00", "1"))
    accepted(v, order("l", BUY, "1", LIMIT, price="99.00"), 1)
    out = v.on_market(quote(2, "99.00", "1", "99.50", "3"))  # 99.50 > 99: rests
    assert out == []
    out = v.on_market(quote(3, "98.40", "1", "98.50", "0.3"))  # ask 98.50 <= 99: 0.3 @ 99
    out += v.on_market(quote(4, "98.90", "1", "99.00", "2"))  # ask == limit: the rest 0.7 @ 99
    # maker fees: 0.3 * 99 * 0.001 = 0.0297; 0.7 * 99 * 0.001 = 0.0693.
    assert fill_tuples(out) == [
        ("0.3", "99", "0.3", "0.0297", Liquidity.MAKER),
        ("0.7", "99", "1", "0.0693", Liquidity.MAKER),
    ]


def test_limit_sell_rests_and_fills_when_bid_crosses() -> None:
    ledger = account()
    hold(ledger, SPOT, "2", "90")
    v = venue(ledger)
    v.on_market(quote(1, "99.99", "1", "100.00", "1"))
    accepted(v, order("s", SELL, "1", LIMIT, price="101.00"), 1)
    assert v.on_market(quote(2, "100.50", "1", "100.60", "1")) == []
    (f,) = fills(v.on_market(quote(3, "101.20", "0.6", "101.30", "1")))
    assert (f.last_px, f.last_qty, f.liquidity) == (D("101.00"), D("0.6"), Liquidity.MAKER)


def test_ioc_fills_what_is_shown_and_cancels_the_rest() -> None:
    v = venue()
    v.on_market(quote(1, "99.99", "1", "100.00", "1"))
    accepted(v, order("i", BUY, "1", tif=IOC), 1)
    out = v.on_market(quote(2, "99.99", "1", "100.00", "0.4"))
    assert [type(e) for e in out] == [OrderFilled, OrderCanceled]
    assert fills(out)[0].last_qty == D("0.4")
    assert isinstance(out[1], OrderCanceled) and out[1].reason.startswith("ioc")
    assert v.open_orders() == []


def test_ioc_limit_not_marketable_is_canceled_without_fill() -> None:
    v = venue()
    v.on_market(quote(1, "99.99", "1", "100.00", "1"))
    accepted(v, order("i", BUY, "1", LIMIT, price="99.00", tif=IOC), 1)
    out = v.on_market(quote(2, "99.99", "1", "100.00", "5"))
    assert [type(e) for e in out] == [OrderCanceled]


def test_fok_is_all_or_nothing_against_displayed_size() -> None:
    v = venue()
    v.on_market(quote(1, "99.99", "1", "100.00", "1"))
    accepted(v, order("small", BUY, "1", tif=FOK), 1)
    out = v.on_market(quote(2, "99.99", "1", "100.00", "0.4"))
    assert [type(e) for e in out] == [OrderCanceled]
    accepted(v, order("big", BUY, "1", LIMIT, price="100.00", tif=FOK), 2)
    (f,) = v.on_market(quote(3, "99.99", "1", "100.00", "1.5"))
    assert isinstance(f, OrderFilled)
    assert (f.last_qty, f.cum_qty, f.last_px) == (D(1), D(1), D("100.00"))


def test_stop_buy_triggers_on_the_ask() -> None:
    v = venue()
    v.on_market(quote(1, "99.99", "1", "100.00", "1"))
    accepted(v, order("s", BUY, "0.5", STOP, stop="105.00"), 1)
    assert v.on_market(quote(2, "103.90", "1", "104.00", "1")) == []
    (f,) = fills(v.on_market(quote(3, "105.40", "1", "105.50", "1")))
    assert (f.last_px, f.liquidity) == (D("105.50"), Liquidity.TAKER)


def test_latency_gates_fills_by_arrival_time() -> None:
    v = venue(latency_ns={"binance-spot": 5})
    v.on_market(quote(1, "99.99", "1", "100.00", "1"))
    ack = accepted(v, order("m", BUY, "0.1"), 10)
    assert (ack.ts_event, ack.ts_init) == (15, 15)
    assert v.on_market(quote(14, "99.99", "1", "100.00", "1")) == []
    (f,) = fills(v.on_market(quote(15, "99.99", "1", "100.10", "1")))
    assert (f.ts_event, f.last_px) == (15, D("100.10"))
    # Another market gets the default latency 0.
    v.on_market(quote(16, "61800.0", "1", "61800.1", "1", instrument=USDM))
    assert accepted(v, order("u", BUY, "0.01", instrument=USDM), 20).ts_event == 20


def test_latency_by_symbol_wins_over_market() -> None:
    v = venue(latency_ns={SPOT: 7, "binance-spot": 5})
    v.on_market(quote(1, "99.99", "1", "100.00", "1"))
    assert accepted(v, order("m", BUY, "0.1"), 10).ts_event == 17


def test_day_order_on_ticks_expires_at_the_trading_day_turn() -> None:
    v = venue()
    start = 19_700 * DAY  # a UTC midnight
    v.on_market(quote(start + HOUR, "99.99", "1", "100.00", "1"))
    accepted(v, order("d", BUY, "0.1", LIMIT, price="99.00", tif=DAY_TIF), start + HOUR)
    assert v.on_market(quote(start + 23 * HOUR, "99.99", "1", "100.00", "1")) == []
    e = only(v.on_market(quote(start + DAY + 1, "99.99", "1", "100.00", "1")))
    assert isinstance(e, OrderExpired)
    assert e.ts_event == start + DAY


def test_krx_day_order_turns_at_kst_midnight() -> None:
    ledger = account({"KRW": "10000000"})
    v = venue(ledger)
    start = 19_702 * DAY  # Monday 2023-12-11, 09:00 KST (a weekday: the KRX session is open)
    v.on_market(quote(start + HOUR, "71000", "10", "71100", "10", instrument=SAMSUNG))
    accepted(
        v,
        order("d", BUY, "1", LIMIT, price="70000", tif=DAY_TIF, instrument=SAMSUNG),
        start + HOUR,
    )
    # 14:59 UTC is 23:59 KST: same day. 15:00 UTC is 00:00 KST: the day has turned.
    assert v.on_market(quote(start + 15 * HOUR - 1, "71000", "1", "71100", "1", instrument=SAMSUNG)) == []
    e = only(v.on_market(quote(start + 15 * HOUR, "71000", "1", "71100", "1", instrument=SAMSUNG)))
    assert isinstance(e, OrderExpired)
    assert e.ts_event == start + 15 * HOUR


# ── trades ───────────────────────────────────────────────────────────────────────────────────────


def test_resting_limit_fills_on_trades_strictly_through_it() -> None:
    v = venue()
    v.on_market(trade(1, "61801.0", "1"))
    accepted(v, order("l", BUY, "0.010", LIMIT, price="61800.0", instrument=USDM), 1)
    # First trade at 61801.0 is above the limit: the order rests.
    out = v.on_market(trade(2, "61801.0", "1"))
    out += v.on_market(trade(3, "61800.0", "5"))  # at the limit: not through, no fill
    out += v.on_market(trade(4, "61799.9", "0.004"))  # through: 0.004 @ 61800.0
    out += v.on_market(trade(5, "61799.0", "1"))  # the rest, 0.006
    # maker 2 bps: 0.004 * 61800 * 2 / 10000 = 0.04944; 0.006 * ... = 0.07416.
    assert fill_tuples(out) == [
        ("0.004", "61800", "0.004", "0.04944", Liquidity.MAKER),
        ("0.006", "61800", "0.01", "0.07416", Liquidity.MAKER),
    ]
    assert [f.fee_currency for f in fills(out)] == ["USDT", "USDT"]


def test_resting_limit_sell_fills_on_trades_strictly_above() -> None:
    v = venue()
    v.on_market(trade(1, "61801.0", "1"))
    accepted(v, order("s", SELL, "0.010", LIMIT, price="61805.0", instrument=USDM), 1)
    out = v.on_market(trade(2, "61804.0", "1"))  # below the limit: the order rests
    out += v.on_market(trade(3, "61805.0", "1"))  # at the limit: not through
    out += v.on_market(trade(4, "61805.1", "1"))  # through: maker at 61805.0
    (f,) = fills(out)
    assert (f.last_px, f.last_qty, f.liquidity) == (D("61805.0"), D("0.010"), Liquidity.MAKER)


def test_market_order_on_trades_only_fills_at_trade_price_up_to_size() -> None:
    v = venue()
    v.on_market(trade(1, "61801.0", "1"))
    accepted(v, order("m", BUY, "0.005", instrument=USDM), 1)
    out = v.on_market(trade(2, "61802.5", "0.002"))
    out += v.on_market(trade(3, "61803.0", "1"))
    # taker 5 bps: 0.002 * 61802.5 = 123.605 -> 0.0618025; 0.003 * 61803 = 185.409 -> 0.0927045.
    assert fill_tuples(out) == [
        ("0.002", "61802.5", "0.002", "0.0618025", Liquidity.TAKER),
        ("0.003", "61803", "0.005", "0.0927045", Liquidity.TAKER),
    ]


def test_marketable_limit_on_trades_only_takes_at_trade_price() -> None:
    v = venue()
    v.on_market(trade(1, "61801.0", "1"))
    accepted(v, order("l", BUY, "0.005", LIMIT, price="61810.0", instrument=USDM), 1)
    (f,) = fills(v.on_market(trade(2, "61805.0", "1")))
    assert (f.last_px, f.liquidity) == (D("61805.0"), Liquidity.TAKER)


def test_with_quotes_market_orders_ignore_trades() -> None:
    v = venue()
    v.on_market(quote(1, "61800.0", "1", "61800.1", "1", instrument=USDM))
    accepted(v, order("m", BUY, "0.005", instrument=USDM), 1)
    assert v.on_market(trade(2, "61799.0", "1")) == []
    (f,) = fills(v.on_market(quote(3, "61800.0", "1", "61800.2", "1", instrument=USDM)))
    assert f.last_px == D("61800.2")


# ── fees ─────────────────────────────────────────────────────────────────────────────────────────


def test_inverse_fee_is_in_the_settle_currency() -> None:
    v = venue()
    v.on_market(quote(1, "49999.9", "1000", "50000.0", "1000", instrument=COINM))
    accepted(v, order("i", BUY, "10", instrument=COINM), 1)
    (f,) = fills(v.on_market(quote(2, "49999.9", "1000", "50000.0", "1000", instrument=COINM)))
    # notional 10 * 100 / 50000 = 0.02 BTC; taker 5 bps -> 0.00001 BTC.
    assert (f.fee, f.fee_currency) == (D("0.00001"), "BTC")


def test_inverse_fee_that_does_not_terminate_is_rounded_to_1e_18() -> None:
    v = venue()
    v.on_market(quote(1, "30000.2", "1000", "30000.3", "1000", instrument=COINM))
    accepted(v, order("i", BUY, "10", instrument=COINM), 1)
    (f,) = fills(v.on_market(quote(2, "30000.2", "1000", "30000.3", "1000", instrument=COINM)))
    # 10 * 100 * 5 / (30000.3 * 10000) = 0.5 / 30000.3 = 0.0000166665000016666500...
    # rounded half-even at the 18th decimal: 0.000016666500001667.
    assert f.fee == D("0.000016666500001667")
    assert f.fee.as_tuple().exponent == FEE_QUANTUM.as_tuple().exponent


def test_inverse_fee_uses_the_contract_size_of_the_instrument() -> None:
    v = venue()
    v.on_market(quote(1, "1999.99", "1000", "2000.00", "1000", instrument=COINM_ETH))
    accepted(v, order("e", BUY, "5", instrument=COINM_ETH), 1)
    (f,) = fills(v.on_market(quote(2, "1999.99", "1000", "2000.00", "1000", instrument=COINM_ETH)))
    # notional 5 * 10 / 2000 = 0.025 ETH; taker 5 bps -> 0.0000125 ETH.
    assert (f.last_px, f.fee, f.fee_currency) == (D("2000.00"), D("0.0000125"), "ETH")


def test_inverse_maker_sell_fee_is_in_the_settle_currency() -> None:
    ledger = account()
    hold(ledger, COINM, "3", "59000.0")
    v = venue(ledger)
    v.on_market(quote(1, "59999.9", "1000", "60000.0", "1000", instrument=COINM))
    accepted(v, order("s", SELL, "3", LIMIT, price="60010.0", instrument=COINM), 1)
    assert v.on_market(quote(2, "59999.9", "1000", "60000.0", "1000", instrument=COINM)) == []  # rests
    (f,) = fills(v.on_market(quote(3, "60010.5", "1000", "60010.6", "1000", instrument=COINM)))
    # 3 * 100 / 60010 = 0.004999166805532411... BTC; maker 2 bps -> 0.00000099983336110648...
    # rounded half-even to 18 decimals.
    assert (f.liquidity, f.fee_currency) == (Liquidity.MAKER, "BTC")
    assert f.fee == D("0.000000999833361106")


def test_inverse_round_trip_books_fees_and_pnl_in_the_settle_currency() -> None:
    h = Harness(account({"BTC": "1"}, COINM))
    h.market(quote(1, "49999.9", "1000", "50000.0", "1000", instrument=COINM))
    h.submit(order("b", BUY, "10", instrument=COINM), 1)
    h.market(quote(2, "49999.9", "1000", "50000.0", "1000", instrument=COINM))
    h.submit(order("s", SELL, "10", instrument=COINM), 3)
    h.market(quote(4, "55000.0", "1000", "55000.1", "1000", instrument=COINM))
    # buy 10 @ 50,000.0: fee 10 * 100 / 50000 * 5 / 10000 = 0.00001 BTC.
    # sell 10 @ 55,000.0: fee 1000 / 55000 * 0.0005 = 0.00000909090909090909... -> 1e-18.
    # PnL 10 * 100 * (1/50000 - 1/55000) = 0.02 - 0.018181818181818181818... BTC.
    fee_sell = D("0.000009090909090909")
    pnl = D("0.02") - D("0.018181818181818182")
    assert h.ledger.fees("BTC") == D("0.00001") + fee_sell
    assert h.ledger.position(COINM).realized_pnl == pnl
    assert h.ledger.cash("BTC") == D(1) + pnl - D("0.00001") - fee_sell
    assert h.ledger.cash("USD") == 0  # no notional moves in the quote currency


def test_inverse_min_notional_is_counted_in_contracts_value() -> None:
    limited = InstrumentSpec(
        symbol="test:INV",
        kind=InstrumentKind.INVERSE,
        base="ETH",
        quote="USD",
        settle="ETH",
        tick_size=D("0.01"),
        lot_size=D(1),
        multiplier=D(10),
        min_notional=D(100),
    )
    v = venue(specs={"test:INV": limited})
    # 9 contracts of 10 USD = 90 USD < 100, whatever the price; 10 contracts = 100 USD passes.
    assert rejected(v, order("a", BUY, "9", LIMIT, price="2000.00", instrument="test:INV")).code == (
        "MIN_NOTIONAL"
    )
    accepted(v, order("b", BUY, "10", LIMIT, price="2000.00", instrument="test:INV"), 1)


def test_fee_bps_overrides_maker_and_taker() -> None:
    v = venue(fee_bps=D(3))
    v.on_market(trade(1, "61801.0", "1"))
    accepted(v, order("m", BUY, "0.002", instrument=USDM), 1)
    accepted(v, order("l", BUY, "0.002", LIMIT, price="61700.0", instrument=USDM), 1)
    out = v.on_market(trade(2, "61800.0", "1"))  # m takes at 61800.0, l rests
    out += v.on_market(trade(3, "61600.0", "1"))  # l fills at 61700.0 as maker
    # 0.002 * 61800 * 3 / 10000 = 0.03708; 0.002 * 61700 * 3 / 10000 = 0.03702.
    assert [(f.fee, f.liquidity) for f in fills(out)] == [
        (D("0.03708"), Liquidity.TAKER),
        (D("0.03702"), Liquidity.MAKER),
    ]


# ── rejects ──────────────────────────────────────────────────────────────────────────────────────


def priced_venue(ledger: Ledger | None = None, **kwargs: object) -> SimVenue:
    v = venue(ledger, **kwargs)
    v.on_market(quote(1, "99.99", "5", "100.00", "5"))
    v.on_market(quote(1, "61800.0", "5", "61800.1", "5", instrument=USDM))
    return v


MIN_QTY_SPEC = InstrumentSpec(
    symbol="test:MINQ",
    kind=InstrumentKind.LINEAR,
    base="X",
    quote="USDT",
    settle="USDT",
    tick_size=D("0.01"),
    lot_size=D("0.001"),
    min_qty=D("0.01"),
)


@pytest.mark.parametrize(
    ("cmd", "code"),
    [
        (order("q0", BUY, "0"), RejectCode.INVALID_QTY),
        (order("q1", BUY, "-1"), RejectCode.INVALID_QTY),
        (order("q2", BUY, "NaN"), RejectCode.INVALID_QTY),
        (order("p0", BUY, "0.1", LIMIT), RejectCode.INVALID_PRICE),
        (order("p1", BUY, "0.1", STOP), RejectCode.INVALID_PRICE),
        (order("p2", BUY, "0.1", STOP_LIMIT, stop="101.00"), RejectCode.INVALID_PRICE),
        (order("p3", BUY, "0.1", LIMIT, price="-1"), RejectCode.INVALID_PRICE),
        (order("lot", BUY, "0.000015"), RejectCode.LOT_SIZE),  # lot 0.00001
        (order("minq", BUY, "0.005", LIMIT, price="1.00", instrument="test:MINQ"), RejectCode.MIN_QTY),
        (order("tick", BUY, "0.1", LIMIT, price="100.005"), RejectCode.TICK_SIZE),
        (order("tick2", BUY, "0.1", STOP, stop="100.001"), RejectCode.TICK_SIZE),
        (order("nop", BUY, "1", instrument=FTX), RejectCode.NO_PRICE),  # no FTX data yet
        # 0.00004 * 100.00 = 0.004 USDT < 5.
        (order("mn", BUY, "0.00004"), RejectCode.MIN_NOTIONAL),
        (order("mn2", BUY, "0.001", LIMIT, price="1000.0", instrument=USDM), RejectCode.MIN_NOTIONAL),
        (order("unk", BUY, "1", instrument="binance-spot:ETHUSDT"), RejectCode.UNKNOWN_INSTRUMENT),
        (order("cash", BUY, "200"), RejectCode.INSUFFICIENT_CASH),
        (order("pos", SELL, "0.1"), RejectCode.INSUFFICIENT_POSITION),
        (order("ro", SELL, "0.01", instrument=USDM, reduce_only=True), RejectCode.REDUCE_ONLY),
    ],
)
def test_every_reject_code(cmd: SubmitOrder, code: RejectCode) -> None:
    v = priced_venue(account({"USDT": "10000"}), specs={"test:MINQ": MIN_QTY_SPEC})
    rej = rejected(v, cmd, 7)
    assert rej.code == code.value
    assert rej.reason
    assert (rej.ts_event, rej.ts_init, rej.client_order_id) == (7, 7, cmd.client_order_id)
    assert v.open_orders() == []


def test_min_notional_boundary_is_inclusive() -> None:
    v = priced_venue()
    # 0.05 * 100.00 = 5.00 USDT: exactly the minimum, accepted; 0.04999 * 100.00 = 4.999 is not.
    accepted(v, order("ok", BUY, "0.05"), 2)
    assert rejected(v, order("no", BUY, "0.04999")).code == "MIN_NOTIONAL"


def test_krx_tick_grid_at_submit() -> None:
    v = venue(account({"KRW": "10000000"}))
    rej = rejected(v, order("k1", BUY, "1", LIMIT, price="50050", instrument=SAMSUNG))
    assert rej.code == "TICK_SIZE"
    assert "100" in rej.reason
    accepted(v, order("k2", BUY, "1", LIMIT, price="50100", instrument=SAMSUNG), 1)
    accepted(v, order("k3", BUY, "1", LIMIT, price="1999", instrument=SAMSUNG), 1)


def test_cash_check_includes_the_fee_and_is_exact_at_the_boundary() -> None:
    # buy 1 @ 100.00 needs 100 * (1 + 10/10000) = 100.1 USDT.
    v = priced_venue(account({"USDT": "100.09"}))
    assert rejected(v, order("a", BUY, "1", LIMIT, price="100.00")).code == "INSUFFICIENT_CASH"
    v = priced_venue(account({"USDT": "100.1"}))
    accepted(v, order("b", BUY, "1", LIMIT, price="100.00"), 1)


def test_cash_of_working_orders_is_reserved() -> None:
    v = priced_venue(account({"USDT": "150"}))
    accepted(v, order("a", BUY, "1", LIMIT, price="100.00"), 1)  # reserves 100.1
    assert rejected(v, order("b", BUY, "0.5", LIMIT, price="100.00")).code == "INSUFFICIENT_CASH"
    accepted(v, order("c", BUY, "0.4", LIMIT, price="100.00"), 1)  # 40.04 <= 49.9


def test_no_short_selling_and_position_of_working_sells_is_reserved() -> None:
    ledger = account()
    hold(ledger, SPOT, "1", "90")
    v = priced_venue(ledger)
    accepted(v, order("a", SELL, "0.6", LIMIT, price="110.00"), 1)
    assert rejected(v, order("b", SELL, "0.5", LIMIT, price="110.00")).code == "INSUFFICIENT_POSITION"
    accepted(v, order("c", SELL, "0.4", LIMIT, price="110.00"), 1)


def test_reduce_only_passes_when_it_reduces() -> None:
    ledger = account()
    hold(ledger, USDM, "0.010", "61000")
    v = priced_venue(ledger)
    assert rejected(v, order("up", BUY, "0.002", instrument=USDM, reduce_only=True)).code == "REDUCE_ONLY"
    assert rejected(v, order("over", SELL, "0.011", instrument=USDM, reduce_only=True)).code == (
        "REDUCE_ONLY"
    )
    accepted(v, order("ok", SELL, "0.010", instrument=USDM, reduce_only=True), 1)


def test_duplicate_client_order_id_is_rejected() -> None:
    v = priced_venue()
    accepted(v, order("a", BUY, "0.1"), 1)
    assert rejected(v, order("a", BUY, "0.1")).code == "DUPLICATE_ORDER_ID"
    assert v.open_orders() == ["a"]


def test_reject_every_n_counts_orders_that_pass_the_checks() -> None:
    v = priced_venue(reject_every=2)
    results = []
    for i, qty in enumerate(["0.1", "0.1", "0", "0.1", "0.1"]):
        (e,) = v.submit(order(f"o{i}", BUY, qty), 1)
        results.append(e.code if isinstance(e, OrderRejected) else "ok")
    # o2 fails its own check and is not counted: o1 and o4 are the 2nd and 4th valid orders.
    assert results == ["ok", "INJECTED", "INVALID_QTY", "ok", "INJECTED"]


def test_reject_prob_is_deterministic_by_seed() -> None:
    def pattern(seed: int, prob: str) -> list[bool]:
        v = priced_venue(reject_prob=D(prob), seed=seed)
        return [isinstance(only(v.submit(order(f"o{i}", BUY, "0.1"), 1)), OrderRejected) for i in range(40)]

    assert pattern(7, "0.5") == pattern(7, "0.5")
    assert pattern(7, "0.5") != pattern(8, "0.5")
    assert 5 < sum(pattern(7, "0.5")) < 35
    assert all(pattern(1, "1"))
    assert not any(pattern(1, "0"))


def test_splitmix64_matches_the_reference_sequence() -> None:
    # Reference outputs of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
    state, out = splitmix64(0)
    assert out == 0xE220A8397B1DCDAF
    state, out = splitmix64(state)
    assert out == 0x6E789E6AA1B965F4


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError):
        venue(latency_ns=-1)
    with pytest.raises(ValueError):
        venue(reject_every=0)
    with pytest.raises(ValueError):
        venue(reject_prob=D("1.5"))


# ── cancel ───────────────────────────────────────────────────────────────────────────────────────


def cancel(cid: str, instrument: str = SPOT) -> CancelOrder:
    return CancelOrder(
        ts_event=0, ts_init=0, strategy="t", venue="sim", client_order_id=cid, instrument=instrument
    )


def test_cancel_working_order_then_cancel_again_is_rejected() -> None:
    v = priced_venue(latency_ns=2)
    accepted(v, order("a", BUY, "0.1", LIMIT, price="90.00"), 1)
    e = only(v.cancel(cancel("a"), 10))
    assert isinstance(e, OrderCanceled)
    assert (e.ts_event, e.ts_init) == (12, 12)
    assert v.open_orders() == []
    again = only(v.cancel(cancel("a"), 11))
    assert isinstance(again, OrderCancelRejected)
    assert "canceled" in again.reason
    unknown = only(v.cancel(cancel("zzz"), 11))
    assert isinstance(unknown, OrderCancelRejected)
    assert unknown.reason == "unknown order"


def test_cancel_of_a_filled_order_is_rejected() -> None:
    v = priced_venue()
    accepted(v, order("a", BUY, "0.1"), 1)
    fills(v.on_market(quote(2, "99.99", "5", "100.00", "5")))
    e = only(v.cancel(cancel("a"), 3))
    assert isinstance(e, OrderCancelRejected)
    assert "filled" in e.reason


def test_cancel_with_the_wrong_instrument_is_rejected() -> None:
    v = priced_venue()
    accepted(v, order("a", BUY, "0.1", LIMIT, price="90.00"), 1)
    assert isinstance(only(v.cancel(cancel("a", USDM), 3)), OrderCancelRejected)
    assert v.open_orders() == ["a"]


# ── the events fold into the ledger and the order book ───────────────────────────────────────────


def submitted(cmd: SubmitOrder, ts: int) -> OrderSubmitted:
    return OrderSubmitted(
        ts_event=ts,
        ts_init=ts,
        strategy=cmd.strategy,
        client_order_id=cmd.client_order_id,
        instrument=cmd.instrument,
        side=cmd.side,
        order_type=cmd.order_type,
        quantity=cmd.quantity,
        price=cmd.price,
        trigger_price=cmd.trigger_price,
        time_in_force=cmd.time_in_force,
    )


class Harness:
    """A venue whose events go into an Orders book and a Ledger, as the replay loop would."""

    def __init__(self, ledger: Ledger, **kwargs: object) -> None:
        self.ledger = ledger
        self.orders = Orders()
        self.venue = venue(ledger, **kwargs)

    def _fold(self, events: Iterable[OrderEvent]) -> list[OrderEvent]:
        out = list(events)
        for e in out:
            self.orders.apply(e)
            self.ledger.apply(e)
        return out

    def market(self, event: QuoteTick | TradeTick | Bar) -> list[OrderEvent]:
        self.ledger.apply(event)
        return self._fold(self.venue.on_market(event))

    def submit(self, cmd: SubmitOrder, now: int) -> list[OrderEvent]:
        self.orders.apply(submitted(cmd, now))
        return self._fold(self.venue.submit(cmd, now))

    def cancel(self, cid: str, now: int, instrument: str = SPOT) -> list[OrderEvent]:
        self.orders.apply(OrderPendingCancel(ts_event=now, ts_init=now, client_order_id=cid))
        return self._fold(self.venue.cancel(cancel(cid, instrument), now))


def test_partial_fills_fold_into_orders_and_ledger_exactly() -> None:
    h = Harness(account({"USDT": "1000"}))
    h.market(quote(1, "99.99", "1", "100.00", "0.2"))
    h.submit(order("m", BUY, "0.5"), 1)
    h.market(quote(2, "99.99", "1", "100.00", "0.2"))
    h.market(quote(3, "100.40", "1", "100.50", "0.2"))
    h.market(quote(4, "100.90", "1", "101.00", "1"))
    o = h.orders.get("m")
    assert o is not None and o.status is OrderStatus.FILLED
    assert o.filled_qty == D("0.5")
    # cost 20 + 20.1 + 10.1 = 50.2; fees 0.02 + 0.0201 + 0.0101 = 0.0502.
    assert h.ledger.cash("USDT") == D("1000") - D("50.2") - D("0.0502")
    assert h.ledger.position(SPOT).qty == D("0.5")
    assert h.ledger.fees("USDT") == D("0.0502")


def test_ioc_fok_cancel_and_expiry_fold_without_state_errors() -> None:
    h = Harness(account({"USDT": "1000"}))
    h.market(quote(1, "99.99", "1", "100.00", "1"))
    h.submit(order("ioc", BUY, "1", tif=IOC), 1)
    h.submit(order("fok", BUY, "1", tif=FOK), 1)
    h.submit(order("rest", BUY, "0.5", LIMIT, price="95.00"), 1)
    h.submit(order("day", BUY, "0.5", LIMIT, price="95.00", tif=DAY_TIF), 1)
    h.market(quote(2, "99.99", "1", "100.00", "0.4"))
    h.cancel("rest", 3)
    h.market(quote(DAY + 1, "99.99", "1", "100.00", "0.4"))
    statuses = {cid: h.orders.get(cid).status for cid in ("ioc", "fok", "rest", "day")}  # type: ignore[union-attr]
    assert statuses == {
        "ioc": OrderStatus.CANCELED,
        "fok": OrderStatus.CANCELED,
        "rest": OrderStatus.CANCELED,
        "day": OrderStatus.EXPIRED,
    }
    assert h.ledger.position(SPOT).qty == D("0.4")
    assert h.orders.open_orders() == []


def test_bar_replay_folds_into_a_linear_position() -> None:
    h = Harness(account({"USD": "1000"}, FTX))
    h.market(bar(T1, "100", "110", "90", "105"))
    h.submit(order("b", BUY, "2", instrument=FTX), T1)
    h.market(bar(T2, "106", "108", "104", "107"))
    h.submit(order("s", SELL, "2", LIMIT, price="110", instrument=FTX), T2)
    h.market(bar(T3, "107", "111", "106", "109"))
    # buy 2 @ 106 (taker 7 bps: 0.1484), sell 2 @ 110 (maker 2 bps: 0.044); PnL 2 * 4 = 8.
    assert h.ledger.position(FTX).qty == 0
    assert h.ledger.cash("USD") == D(1000) + D(8) - D("0.1484") - D("0.044")
    assert h.orders.get("s").status is OrderStatus.FILLED  # type: ignore[union-attr]


def test_cum_qty_strictly_increases_with_fresh_trade_ids() -> None:
    v = priced_venue()
    accepted(v, order("m", BUY, "1"), 1)
    out: list[OrderEvent] = []
    for i in range(6):
        out += v.on_market(quote(2 + i, "99.99", "1", "100.00", "0.17"))
    cums = [f.cum_qty for f in fills(out)]
    assert cums == sorted(set(cums))
    assert cums[-1] == D(1)
    ids = [f.trade_id for f in fills(out)]
    assert len(ids) == len(set(ids))


# ── what working orders hold: running sums against the scan ─────────────────────────────────────


def _spec(
    symbol: str,
    kind: InstrumentKind,
    quote_ccy: str,
    grid: tuple[str, str],
    fees: tuple[str, str],
    *,
    multiplier: str = "1",
    tax: str = "0",
) -> InstrumentSpec:
    return InstrumentSpec(
        symbol=symbol,
        kind=kind,
        base=symbol.split(":")[1],
        quote=quote_ccy,
        settle=quote_ccy,
        tick_size=D(grid[0]),
        lot_size=D(grid[1]),
        multiplier=D(multiplier),
        maker_fee_bps=D(fees[0]),
        taker_fee_bps=D(fees[1]),
        sell_tax_bps=D(tax),
    )


# Two spot pairs sharing USDT, equities in KRW (with a sell tax) and USD (with a multiplier), and
# a linear contract (its buys hold no cash, its sells are counted like any other). Grid is (tick,
# lot), fees (maker, taker) in bps.
FLOW_SPECS = {
    s.symbol: s
    for s in (
        _spec("test:AAA", InstrumentKind.SPOT, "USDT", ("0.01", "0.001"), ("7.5", "10")),
        _spec("test:BBB", InstrumentKind.SPOT, "USDT", ("0.5", "0.25"), ("0", "2.25")),
        _spec("test:CCC", InstrumentKind.EQUITY, "KRW", ("5", "1"), ("15", "15"), tax="18"),
        _spec("test:DDD", InstrumentKind.EQUITY, "USD", ("0.05", "1"), ("3.5", "1.75"), multiplier="10"),
        _spec("test:PERP", InstrumentKind.LINEAR, "USD", ("0.1", "0.01"), ("2", "5")),
    )
}
FLOW_START_TICKS = {
    "test:AAA": 10_000,
    "test:BBB": 200,
    "test:CCC": 10_000,
    "test:DDD": 2_000,
    "test:PERP": 1_000,
}
FLOW_BARS = ("test:CCC", "test:DDD")  # minute bars; the others trade on quotes and trades


class ScanningVenue(SimVenue):
    """The venue as it was: every check sums what the working orders hold from scratch."""

    def _reserved_cash(self, quote: str) -> D:
        return self._scan_cash(quote)

    def _reserved_qty(self, instrument: str) -> D:
        return self._scan_qty(instrument)


def flow_ledger() -> Ledger:
    ledger = Ledger()
    for spec in FLOW_SPECS.values():
        ledger.apply(InstrumentDefined(ts_event=0, ts_init=0, spec=spec))
    for currency, amount in (("USDT", "25000"), ("KRW", "3000000"), ("USD", "60000")):
        ledger.apply(CashAdjusted(ts_event=0, ts_init=0, currency=currency, amount=D(amount), reason="t"))
    for symbol, qty, px in (
        ("test:AAA", "2.5", "100"),
        ("test:BBB", "40", "100"),
        ("test:CCC", "30", "50000"),
        ("test:DDD", "20", "100"),
    ):
        hold(ledger, symbol, qty, px)
    return ledger


def run_flow(v: SimVenue, ledger: Ledger, seed: int, steps: int, check: bool) -> list[OrderEvent]:
    """Drive ``v`` with a random flow of orders, cancels and market data; fold what it answers.

    The flow depends on the seed only (never on the venue's answers), so two venues see the same
    calls. With ``check``, after every step the running sums must equal the scan, to the digit.
    """
    rng = random.Random(seed)
    book = Orders()
    mid = dict(FLOW_START_TICKS)
    symbols = list(FLOW_SPECS)
    cids: list[str] = []
    out: list[OrderEvent] = []
    now = 1

    def fold(events: Iterable[OrderEvent]) -> None:
        for e in events:
            book.apply(e)
            ledger.apply(e)
            out.append(e)

    def price(symbol: str, ticks: int) -> D:
        return FLOW_SPECS[symbol].tick_size * max(ticks, 1)

    for step in range(steps):
        now += rng.choice((0, 1, 7, MIN, MIN, HOUR, 5 * HOUR, DAY // 3))
        symbol = rng.choice(symbols)
        spec = FLOW_SPECS[symbol]
        action = rng.random()
        if action < 0.45:
            side = rng.choice((BUY, SELL))
            order_type = rng.choice((MARKET, LIMIT, LIMIT, LIMIT, STOP, STOP_LIMIT))
            off = rng.randint(-30, 30)
            px = price(symbol, mid[symbol] + off) if order_type in (LIMIT, STOP_LIMIT) else None
            stop = price(symbol, mid[symbol] + (5 if side is BUY else -5) + off // 3)
            cmd = SubmitOrder(
                ts_event=now,
                ts_init=now,
                strategy="t",
                venue="sim",
                client_order_id=f"o{step}",
                instrument=symbol,
                side=side,
                order_type=order_type,
                quantity=spec.lot_size * rng.choice((1, 2, 3, 7, 10, 40, 100)),
                price=px,
                trigger_price=stop if order_type in (STOP, STOP_LIMIT) else None,
                time_in_force=rng.choice((GTC, GTC, GTC, IOC, FOK, DAY_TIF, DAY_TIF)),
            )
            cids.append(cmd.client_order_id)
            book.apply(submitted(cmd, now))
            fold(v.submit(cmd, now))
        elif action < 0.6 and cids:
            cid = rng.choice(cids[-25:])
            known = book.get(cid)
            target = known.instrument if known is not None and rng.random() < 0.9 else symbol
            answer = v.cancel(cancel(cid, target), now)
            if known is not None and not known.status.is_terminal:
                book.apply(OrderPendingCancel(ts_event=now, ts_init=now, client_order_id=cid))
                fold(answer)
            else:  # the book has no transition for a cancel of an unknown or finished order
                out.extend(answer)
        else:
            mid[symbol] = max(mid[symbol] + rng.randint(-8, 8), 20)
            m = mid[symbol]
            event: QuoteTick | TradeTick | Bar
            if symbol in FLOW_BARS:
                lo, hi = m - rng.randint(0, 12), m + rng.randint(0, 12)
                o, c = rng.randint(lo, hi), rng.randint(lo, hi)
                event = bar(
                    now,
                    str(price(symbol, o)),
                    str(price(symbol, hi)),
                    str(price(symbol, lo)),
                    str(price(symbol, c)),
                    instrument=symbol,
                )
            elif rng.random() < 0.75:
                spread = rng.randint(1, 3)
                event = quote(
                    now,
                    str(price(symbol, m - spread)),
                    str(spec.lot_size * rng.randint(0, 25)),
                    str(price(symbol, m + spread)),
                    str(spec.lot_size * rng.randint(0, 25)),
                    instrument=symbol,
                )
            else:
                event = trade(now, str(price(symbol, m)), str(spec.lot_size * rng.randint(1, 30)), symbol)
            ledger.apply(event)
            fold(v.on_market(event))
        if check:
            running, recomputed = v._running_reservations(), v._recompute_reservations()
            # str: the same digits and exponent, not just the same value (rejects print them)
            assert {k: str(x) for d in running for k, x in d.items()} == {
                k: str(x) for d in recomputed for k, x in d.items()
            }, step
    return out


@pytest.mark.parametrize(("seed", "fee_bps"), [(s, None) for s in range(6)] + [(6, D("12.5")), (7, D(0))])
def test_running_reservations_equal_the_scan_after_every_step(seed: int, fee_bps: D | None) -> None:
    ledger = flow_ledger()
    v = SimVenue(FLOW_SPECS, ledger, fee_bps=fee_bps)
    events = run_flow(v, ledger, seed, 600, check=True)
    kinds = {type(e).__name__ for e in events}
    assert kinds >= {"OrderAccepted", "OrderFilled", "OrderCanceled", "OrderExpired", "OrderRejected"}
    assert any(isinstance(e, OrderFilled) and e.cum_qty != e.last_qty for e in events)  # partial fills
    codes = {e.code for e in events if isinstance(e, OrderRejected)}
    assert {"INSUFFICIENT_CASH", "INSUFFICIENT_POSITION"} <= codes


@pytest.mark.parametrize("seed", range(4))
def test_running_reservations_answer_as_the_scan_did(seed: int) -> None:
    # The same flow through the venue and through one that scans on every check: the same events,
    # reject reasons (which print what is available) included, to the digit.
    runs = []
    for cls in (SimVenue, ScanningVenue):
        ledger = flow_ledger()
        runs.append([repr(e) for e in run_flow(cls(FLOW_SPECS, ledger), ledger, seed, 600, check=False)])
    assert runs[0] == runs[1]


def test_running_reservations_defer_to_the_scan_past_sixty_digits() -> None:
    # Terms of 60 digits at different exponents: their exact sum has more digits than the checks
    # keep, so the scan rounds as it adds, and the venue asks the scan instead of its running sum.
    fine = _spec("test:FINE", InstrumentKind.SPOT, "USDT", ("1e-40", "1e-30"), ("10", "10"))
    answers = []
    for cls in (SimVenue, ScanningVenue):
        ledger = Ledger()
        ledger.apply(InstrumentDefined(ts_event=0, ts_init=0, spec=fine))
        ledger.apply(CashAdjusted(ts_event=0, ts_init=0, currency="USDT", amount=D("1000"), reason="t"))
        v = cls({fine.symbol: fine}, ledger)
        px = "1." + "3" * 40
        accepted(v, order("a", BUY, "1." + "7" * 30, LIMIT, price=px, instrument=fine.symbol), 1)
        accepted(
            v, order("b", BUY, "300." + "1" * 30, LIMIT, price="2." + "9" * 40, instrument=fine.symbol), 1
        )
        answers.append(repr(rejected(v, order("c", BUY, "100", LIMIT, price=px, instrument=fine.symbol))))
        if cls is SimVenue:
            assert v._running_reservations()[0] == {"USDT": None}
            v.cancel(cancel("b", fine.symbol), 2)
            running, recomputed = v._running_reservations(), v._recompute_reservations()
            assert str(running[0]["USDT"]) == str(recomputed[0]["USDT"])
    assert answers[0] == answers[1]
    assert "INSUFFICIENT_CASH" in answers[0]
