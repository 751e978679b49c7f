"""Random quote streams and random orders through the simulated venue keep its fill invariants.

For any stream: an order's fills never add up to more than its quantity, ``cum_qty`` rises
strictly with each fill and equals the sum of the fills, every fill price is the touch of the quote
being matched (ask for buys, bid for sells) or the order's limit, buys never pay above their limit
and sells never receive below it, the events fold into ``Orders`` without an OrderStateError, and
the same inputs give the same events.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engines.events import (
    OrderAccepted,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    OrderType,
    QuoteTick,
    Side,
    SubmitOrder,
    TimeInForce,
)
from engines.instruments import InstrumentKind, InstrumentSpec
from engines.ledger import Ledger
from engines.orders import Orders
from engines.sim import SimVenue

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
