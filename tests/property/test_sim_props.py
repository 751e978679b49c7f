"""Random quote streams and random orders through the simulated venue keep its fill invariants.

For any stream: an order's fills never add up to more than its quantity, ``cum_qty`` rises
strictly with each fill and equals the sum of the fills, every fill price is the touch of the quote
being matched (ask for buys, bid for sells) or the order's limit, buys never pay above their limit
and sells never receive below it, the events fold into ``Orders`` without an OrderStateError, and
the same inputs give the same events. On KRX daily bars that stay inside their price limits, no
fill leaves the band, ``PRICE_LIMIT`` rejects exactly the prices outside it, and sells pay the tax.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engines.ledger import Ledger
from engines.markets.prices import daily_price_band, round_to_tick
from engines.markets.specs import spec_for
from engines.model.commands import SubmitOrder
from engines.model.enums import OrderType, Side, TimeInForce
from engines.model.events import (
    Bar,
    CashAdjusted,
    InstrumentDefined,
    OrderAccepted,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    QuoteTick,
)
from engines.model.instruments import InstrumentKind, InstrumentSpec
from engines.orders.book import Orders
from engines.sim.venue import SimVenue

SYMBOL = "test:PERP"
SPEC = InstrumentSpec(
    symbol=SYMBOL,
    kind=InstrumentKind.LINEAR,
    base="X",
    quote="USD",
    settle="USD",
    tick_size=Decimal(1),
    lot_size=Decimal(1),
    maker_fee_bps=Decimal(2),
    taker_fee_bps=Decimal(5),
)


@dataclass(frozen=True)
class Plan:
    step: int
    side: Side
    order_type: OrderType
    qty: int
    price: int
    tif: TimeInForce


quotes_st = st.lists(
    st.tuples(
        st.integers(90, 110),  # bid
        st.integers(1, 3),  # spread
        st.integers(0, 5),  # bid size (0: empty side)
        st.integers(0, 5),  # ask size
    ),
    min_size=2,
    max_size=25,
)

plans_st = st.lists(
    st.builds(
        Plan,
        step=st.integers(0, 24),
        side=st.sampled_from(list(Side)),
        order_type=st.sampled_from(list(OrderType)),
        qty=st.integers(1, 12),
        price=st.integers(85, 115),
        tif=st.sampled_from([TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK]),
    ),
    max_size=12,
)


def quote(ts: int, bid: int, spread: int, bid_size: int, ask_size: int) -> QuoteTick:
    return QuoteTick(
        ts_event=ts,
        ts_init=ts,
        instrument=SYMBOL,
        bid=Decimal(bid),
        bid_size=Decimal(bid_size),
        ask=Decimal(bid + spread),
        ask_size=Decimal(ask_size),
    )


def command(i: int, plan: Plan) -> SubmitOrder:
    limit = plan.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    stop = plan.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
    # A stop-limit's limit sits 2 ticks beyond its stop, in the direction it trades.
    offset = 2 if plan.side is Side.BUY else -2
    return SubmitOrder(
        ts_event=0,
        ts_init=0,
        strategy="p",
        venue="sim",
        client_order_id=f"o{i}",
        instrument=SYMBOL,
        side=plan.side,
        order_type=plan.order_type,
        quantity=Decimal(plan.qty),
        price=Decimal(plan.price + (offset if stop else 0)) if limit else None,
        trigger_price=Decimal(plan.price) if stop else None,
        time_in_force=plan.tif,
    )


def run(
    quotes: list[tuple[int, int, int, int]], plans: list[Plan], latency: int
) -> list[tuple[QuoteTick | None, OrderEvent]]:
    """Every event the venue sends, each with the quote it came from (None for submit answers)."""
    v = SimVenue({SYMBOL: SPEC}, Ledger(), latency_ns=latency)
    out: list[tuple[QuoteTick | None, OrderEvent]] = []
    commands = [command(i, p) for i, p in enumerate(plans)]
    for step, q in enumerate(quotes):
        tick = quote(10 * (step + 1), *q)
        out += [(tick, e) for e in v.on_market(tick)]
        for cmd, plan in zip(commands, plans, strict=True):
            if plan.step == step:
                out += [(None, e) for e in v.submit(cmd, tick.ts_event)]
    return out


@settings(max_examples=150, deadline=None)
@given(quotes=quotes_st, plans=plans_st, latency=st.sampled_from([0, 5, 10]))
def test_fills_respect_quantity_touch_and_limit(
    quotes: list[tuple[int, int, int, int]], plans: list[Plan], latency: int
) -> None:
    events = run(quotes, plans, latency)
    commands = {f"o{i}": command(i, p) for i, p in enumerate(plans)}
    cum: dict[str, Decimal] = {}
    total: dict[str, Decimal] = {}
    for source, e in events:
        if not isinstance(e, OrderFilled):
            assert source is not None or isinstance(e, OrderAccepted | OrderRejected)
            continue
        assert source is not None, "fills come only from market data"
        cmd = commands[e.client_order_id]
        # cum_qty strictly increases and is the sum of the fills; never above the quantity.
        assert e.cum_qty > cum.get(e.client_order_id, Decimal(0))
        cum[e.client_order_id] = e.cum_qty
        total[e.client_order_id] = total.get(e.client_order_id, Decimal(0)) + e.last_qty
        assert total[e.client_order_id] == e.cum_qty
        assert e.cum_qty <= cmd.quantity
        assert e.ts_event == source.ts_event
        # The price is the touch being matched, or the limit.
        touch = source.ask if e.side is Side.BUY else source.bid
        assert e.last_px in {touch, cmd.price}
        if cmd.order_type in (OrderType.MARKET, OrderType.STOP):
            assert e.last_px == touch
        # Never through the limit.
        if cmd.price is not None:
            if e.side is Side.BUY:
                assert e.last_px <= cmd.price
            else:
                assert e.last_px >= cmd.price
        # Never more than the displayed size at that touch.
        shown = source.ask_size if e.side is Side.BUY else source.bid_size
        assert e.last_qty <= shown


@settings(max_examples=100, deadline=None)
@given(quotes=quotes_st, plans=plans_st, latency=st.sampled_from([0, 5]))
def test_events_fold_into_orders_and_replay_identically(
    quotes: list[tuple[int, int, int, int]], plans: list[Plan], latency: int
) -> None:
    first = [e for _, e in run(quotes, plans, latency)]
    assert first == [e for _, e in run(quotes, plans, latency)]
    orders = Orders()
    for i, plan in enumerate(plans):
        cmd = command(i, plan)
        orders.apply(
            OrderSubmitted(
                ts_event=0,
                ts_init=0,
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
        )
    for e in first:
        orders.apply(e)  # raises OrderStateError on an impossible transition
    for i, plan in enumerate(plans):
        o = orders.get(f"o{i}")
        assert o is not None
        assert o.filled_qty <= plan.qty


# ── KRX: daily bars inside their price limits ───────────────────────────────────────────────────

KRX_SYMBOL = "krx:005930"
KRX_SPEC = spec_for(KRX_SYMBOL)  # commission 1.5 bps both ways, sell tax 20 bps
DAY_NS = 86_400 * 10**9
FIRST_DAY = 19_702  # Monday 2023-12-11

# per day: open, high, low, close as per mille moves from the previous close (clamped to the band)
days_st = st.lists(
    st.tuples(*(st.integers(-320, 320) for _ in range(4))),
    min_size=2,
    max_size=15,
)


@dataclass(frozen=True)
class KrxPlan:
    step: int
    side: Side
    order_type: OrderType
    qty: int
    move: int  # per mille from the last close, may fall outside the ±30 % band
    tif: TimeInForce


krx_plans_st = st.lists(
    st.builds(
        KrxPlan,
        step=st.integers(0, 14),
        side=st.sampled_from(list(Side)),
        order_type=st.sampled_from(list(OrderType)),
        qty=st.integers(1, 5),
        move=st.integers(-350, 350),
        tif=st.sampled_from([TimeInForce.GTC, TimeInForce.DAY, TimeInForce.IOC]),
    ),
    max_size=12,
)


def _clamp(x: Decimal, low: Decimal, high: Decimal) -> Decimal:
    return min(max(x, low), high)


def _moved(close: Decimal, move: int) -> Decimal:
    return (close * (1000 + move) / 1000).quantize(Decimal(1))


@settings(max_examples=150, deadline=None)
@given(days=days_st, plans=krx_plans_st)
def test_krx_fills_stay_in_the_band_and_sells_pay_the_tax(
    days: list[tuple[int, int, int, int]], plans: list[KrxPlan]
) -> None:
    """Bars within their ±30 % band: no fill outside it, PRICE_LIMIT exactly for prices outside
    it, fee = notional × (1.5 bps, + 20 bps on sells)."""
    ledger = Ledger()
    ledger.apply(InstrumentDefined(ts_event=0, ts_init=0, spec=KRX_SPEC))
    ledger.apply(CashAdjusted(ts_event=0, ts_init=0, currency="KRW", amount=Decimal(10**10), reason="p"))
    ledger.apply(
        OrderFilled(
            ts_event=0,
            ts_init=0,
            client_order_id="seed",
            instrument=KRX_SYMBOL,
            side=Side.BUY,
            trade_id="seed",
            last_qty=Decimal(1000),
            last_px=Decimal(50_000),
            cum_qty=Decimal(1000),
            fee=Decimal(0),
            fee_currency="",
        )
    )
    v = SimVenue({KRX_SYMBOL: KRX_SPEC}, ledger)

    def fold(events: list[OrderEvent]) -> list[OrderEvent]:
        for e in events:
            ledger.apply(e)
        return events

    close = Decimal(50_000)
    commands: dict[str, SubmitOrder] = {}
    for step, moves in enumerate(days):
        band = daily_price_band(KRX_SPEC, close)
        assert band is not None
        low, high = band
        o, h, lo, c = (_clamp(_moved(close, m), low, high) for m in moves)
        bar = Bar(
            ts_event=(FIRST_DAY + step + 1) * DAY_NS,
            ts_init=(FIRST_DAY + step + 1) * DAY_NS,
            instrument=KRX_SYMBOL,
            open=o,
            high=max(o, h, lo, c),
            low=min(o, h, lo, c),
            close=c,
            volume=Decimal(1),
            interval_ns=DAY_NS,
        )
        for e in fold(list(v.on_market(bar))):
            if not isinstance(e, OrderFilled):
                continue
            # the bar's band is the one of its day: from the previous close
            assert low <= e.last_px <= high, (e, band)
            rate = KRX_SPEC.taker_fee_bps + (KRX_SPEC.sell_tax_bps if e.side is Side.SELL else 0)
            assert e.fee == e.last_qty * e.last_px * rate / 10_000
            assert (e.last_qty % 1, e.fee_currency) == (0, "KRW")
        close = bar.close
        next_low, next_high = daily_price_band(KRX_SPEC, close) or (Decimal(0), Decimal(0))
        for i, plan in enumerate(plans):
            if plan.step != step:
                continue
            cid = f"k{i}"
            px = round_to_tick(KRX_SPEC, _moved(close, plan.move), plan.side)
            limit = plan.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
            stop = plan.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
            cmd = SubmitOrder(
                ts_event=0,
                ts_init=0,
                strategy="p",
                venue="sim",
                client_order_id=cid,
                instrument=KRX_SYMBOL,
                side=plan.side,
                order_type=plan.order_type,
                quantity=Decimal(plan.qty),
                price=px if limit else None,
                trigger_price=px if stop else None,
                time_in_force=plan.tif,
            )
            commands[cid] = cmd
            (answer,) = fold(v.submit(cmd, bar.ts_event))
            outside = not next_low <= px <= next_high
            if isinstance(answer, OrderRejected):
                assert (answer.code == "PRICE_LIMIT") == (outside and (limit or stop)), answer
            else:
                assert not (outside and (limit or stop)), (cmd, next_low, next_high)
