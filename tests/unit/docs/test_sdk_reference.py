"""docs/strategies.md documents every public name of engines.sdk, and the netting rule it states holds.

A strategy may import exactly the names of ``engines.sdk.__all__`` (the sandbox hands out nothing
else), so each one needs a line in the reference saying what it is.
"""

from __future__ import annotations

import inspect
import re
from decimal import Decimal
from pathlib import Path

from engines import sdk
from engines.ledger import Ledger
from engines.markets.specs import spec_for
from engines.model.commands import SubmitOrder
from engines.model.enums import OrderType, Side
from engines.model.events import (
    Bar,
    CashAdjusted,
    InstrumentDefined,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderSubmitted,
)
from engines.orders.book import Orders
from engines.sdk import Context, Params, Signal, SingleAssetStrategy, TargetPosition
from engines.single import SingleAssetEngine
from engines.strategy.declaration import declare

REPO = Path(__file__).resolve().parents[3]
STRATEGIES_MD = REPO / "docs" / "strategies.md"
ROW = re.compile(r"^\| `([A-Za-z_][A-Za-z0-9_]*)` \| (.+) \|\s*$")


def section(title: str) -> str:
    text = STRATEGIES_MD.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def reference() -> dict[str, str]:
    rows = (ROW.match(line) for line in section("SDK reference").splitlines())
    return {row.group(1): row.group(2) for row in rows if row}


def test_the_sdk_declares_its_public_names() -> None:
    assert isinstance(sdk.__all__, list)
    assert len(set(sdk.__all__)) == len(sdk.__all__)
    assert all(hasattr(sdk, name) for name in sdk.__all__)
    defined_here = {
        name
        for name, obj in vars(sdk).items()
        if inspect.isclass(obj) and obj.__module__ == sdk.__name__ and not name.startswith("_")
    }
    assert defined_here <= set(sdk.__all__), f"public but not in __all__: {defined_here - set(sdk.__all__)}"


def test_every_public_sdk_name_is_in_the_reference_with_what_it_is() -> None:
    documented = reference()
    missing = sorted(set(sdk.__all__) - set(documented))
    assert not missing, f"docs/strategies.md, SDK reference, has no row for {missing}"
    stale = sorted(set(documented) - set(sdk.__all__))
    assert not stale, f"the SDK reference documents names engines.sdk does not export: {stale}"
    for name, what in documented.items():
        assert len(what.split()) >= 5, f"the reference row of {name} does not say what it is: {what!r}"


def test_the_netting_of_working_orders_is_documented() -> None:
    text = section("`TargetPosition` and working orders")
    assert "delta = q - held - working" in text
    assert "`TargetPosition(0)`" in text
    assert "sends nothing" in text


# ── the rule the section states, on the engine ─────────────────────────────────────────────────

SYMBOL = "krx:005930"


class P(Params, frozen=True, kw_only=True):
    symbol: str = SYMBOL


class Flat(SingleAssetStrategy[P]):
    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        return TargetPosition(Decimal(0))


def bar(ts: int) -> Bar:
    price = Decimal(50_000)
    return Bar(
        ts_event=ts,
        ts_init=ts,
        instrument=SYMBOL,
        open=price,
        high=price,
        low=price,
        close=price,
        volume=Decimal(1),
        interval_ns=60,
    )


def test_a_resting_stop_makes_target_zero_send_nothing_until_it_is_gone() -> None:
    spec = declare({"STRATEGY": Flat}, source="", filename="flat.py")
    ledger, orders = Ledger(), Orders()
    ledger.apply(InstrumentDefined(ts_event=0, ts_init=0, spec=spec_for(SYMBOL)))
    ledger.apply(CashAdjusted(ts_event=0, ts_init=0, currency="KRW", amount=Decimal(10**7), reason="t"))
    ledger.apply(
        OrderFilled(
            ts_event=1,
            ts_init=1,
            client_order_id="entry",
            instrument=SYMBOL,
            side=Side.BUY,
            trade_id="t1",
            last_qty=Decimal(10),
            last_px=Decimal(50_000),
            cum_qty=Decimal(10),
            fee=Decimal(0),
            fee_currency="KRW",
        )
    )
    stop = OrderSubmitted(
        ts_event=2,
        ts_init=2,
        strategy="Flat",
        client_order_id="stop",
        instrument=SYMBOL,
        side=Side.SELL,
        order_type=OrderType.STOP,
        quantity=Decimal(10),
        trigger_price=Decimal(45_000),
    )
    orders.apply(stop)
    orders.apply(OrderAccepted(ts_event=2, ts_init=2, client_order_id="stop", venue_order_id="v1"))
    engine = SingleAssetEngine(spec, ledger, orders, currency="KRW")
    engine.start(0)

    engine.handle(bar(60))  # 0 - 10 held - (-10) working = 0
    assert [c for c in engine.drain() if isinstance(c, SubmitOrder)] == []

    orders.apply(OrderCanceled(ts_event=90, ts_init=90, client_order_id="stop", reason="t"))
    engine.handle(bar(120))  # 0 - 10 held - 0 working: sell 10 at market
    (sell,) = [c for c in engine.drain() if isinstance(c, SubmitOrder)]
    assert (sell.side, sell.quantity, sell.order_type) == (Side.SELL, Decimal(10), OrderType.MARKET)
