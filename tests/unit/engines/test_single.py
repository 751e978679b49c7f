"""The single-asset engine: hooks by event type, targets to orders, typed failures."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from decimal import Decimal

import pytest

from engines.errors import ContractViolation
from engines.ledger import Ledger
from engines.markets.specs import spec_for
from engines.model.commands import SubmitOrder
from engines.model.enums import OrderType, Side
from engines.model.events import (
    Bar,
    CashAdjusted,
    InstrumentDefined,
    OrderAccepted,
    OrderFilled,
    OrderSubmitted,
    QuoteTick,
    StrategyLog,
)
from engines.orders.book import Orders
from engines.sdk import Context, OrderIntent, Params, Signal, SingleAssetStrategy, TargetPosition
from engines.single import SingleAssetEngine
from engines.strategy.declaration import declare
from engines.strategy.runtime import StrategyError
from engines.strategy.sandbox.runtime import load_module

SYMBOL = "binance-spot:BTCUSDT"
D = Decimal


class P(Params, frozen=True, kw_only=True):
    symbol: str = SYMBOL


class Scripted(SingleAssetStrategy[P]):
    """Returns whatever the test queued for the next bar."""

    script: list[object] = []

    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        ctx.log(f"bar {bar.close}")
        return self.script.pop(0) if self.script else None  # type: ignore[return-value]


def engine(cls: type, script: Sequence[object] = ()) -> tuple[SingleAssetEngine, Ledger, Orders]:
    if cls is Scripted:
        Scripted.script = list(script)
    spec = declare({"STRATEGY": cls}, source="", filename="strategy.py")
    ledger, orders = Ledger(), Orders()
    ledger.apply(InstrumentDefined(ts_event=0, ts_init=0, spec=spec_for(SYMBOL)))
    ledger.apply(CashAdjusted(ts_event=0, ts_init=0, currency="USDT", amount=D(100_000), reason="t"))
    eng = SingleAssetEngine(spec, ledger, orders, currency="USDT")
    eng.start(0)
    return eng, ledger, orders


def bar(ts: int, close: str = "100", symbol: str = SYMBOL) -> Bar:
    c = D(close)
    return Bar(
        ts_event=ts,
        ts_init=ts,
        instrument=symbol,
        open=c,
        high=c,
        low=c,
        close=c,
        volume=D(1),
        interval_ns=60,
    )


def submits(eng: SingleAssetEngine) -> list[SubmitOrder]:
    return [c for c in eng.drain() if isinstance(c, SubmitOrder)]


def test_target_position_becomes_the_market_order_that_closes_the_gap() -> None:
    eng, _ledger, orders = engine(Scripted, [TargetPosition(D("0.5")), TargetPosition(D("0.2"))])
    eng.handle(bar(60))
    (first,) = submits(eng)
    assert (first.side, first.quantity, first.order_type) == (Side.BUY, D("0.5"), OrderType.MARKET)
    assert first.client_order_id == "Scripted-00000001"
    # the first order is still working: the next target counts it as held
    for event in (
        OrderSubmitted(
            ts_event=60,
            ts_init=60,
            strategy="Scripted",
            client_order_id=first.client_order_id,
            instrument=SYMBOL,
            side=Side.BUY,
            order_type=OrderType.MARKET,
            quantity=D("0.5"),
        ),
    ):
        orders.apply(event)
    eng.handle(bar(120))
    (second,) = submits(eng)
    assert (second.side, second.quantity) == (Side.SELL, D("0.3"))


def test_target_equal_to_holdings_sends_nothing() -> None:
    eng, ledger, _orders = engine(Scripted, [TargetPosition(D("0.5"))])
    ledger.apply(
        OrderFilled(
            ts_event=1,
            ts_init=1,
            client_order_id="x",
            instrument=SYMBOL,
            side=Side.BUY,
            trade_id="t1",
            last_qty=D("0.5"),
            last_px=D(100),
            cum_qty=D("0.5"),
            fee=D(0),
            fee_currency="USDT",
        )
    )
    eng.handle(bar(60))
    assert submits(eng) == []


def test_order_intents_pass_through_in_order() -> None:
    intents = [
        OrderIntent(side=Side.BUY, quantity=D(1), order_type=OrderType.LIMIT, limit=D(99)),
        OrderIntent(side=Side.SELL, quantity=D(2)),
    ]
    eng, _, _ = engine(Scripted, [intents])
    eng.handle(bar(60))
    out = submits(eng)
    assert [(o.side, o.quantity, o.price) for o in out] == [(Side.BUY, D(1), D(99)), (Side.SELL, D(2), None)]


def test_other_symbols_and_order_events_never_reach_the_strategy() -> None:
    eng, _, _ = engine(Scripted, [TargetPosition(D(1))])
    eng.handle(bar(60, symbol="binance-usdm:BTCUSDT"))
    eng.handle(OrderAccepted(ts_event=1, ts_init=1, client_order_id="x", venue_order_id="v"))
    eng.handle(
        QuoteTick(ts_event=2, ts_init=2, instrument=SYMBOL, bid=D(1), bid_size=D(1), ask=D(2), ask_size=D(1))
    )
    assert eng.drain() == ()


def test_strategy_logs_become_journal_facts() -> None:
    eng, _, _ = engine(Scripted)
    eng.handle(bar(60, "101"))
    logs = [c for c in eng.drain() if isinstance(c, StrategyLog)]
    assert [(log.message, log.ts_event) for log in logs] == [("bar 101", 60)]


def test_contract_violation_stops_with_its_code() -> None:
    eng, _, _ = engine(Scripted, [TargetPosition(D("NaN"))])
    with pytest.raises(ContractViolation) as exc:
        eng.handle(bar(60))
    assert exc.value.code == "VT301"


RAISING_FILE = "strategies/raising.py"
RAISING_SOURCE = f'''\
from decimal import Decimal

from engines.sdk import Bar, Context, Params, Signal, SingleAssetStrategy, TargetPosition


class P(Params, frozen=True, kw_only=True):
    symbol: str = "{SYMBOL}"


class Raises(SingleAssetStrategy[P]):
    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        size = Decimal(1) / Decimal(0)
        return TargetPosition(size)


STRATEGY = Raises
'''


def test_exception_in_strategy_code_is_a_typed_error_with_its_line() -> None:
    # loaded from its own file, as a run does: the line is the strategy file's, not the engine's
    namespace = load_module(RAISING_SOURCE, RAISING_FILE, module_name="vt_raising")
    sys.modules.pop("vt_raising", None)
    spec = declare(namespace, source=RAISING_SOURCE, filename=RAISING_FILE)
    ledger = Ledger()
    ledger.apply(InstrumentDefined(ts_event=0, ts_init=0, spec=spec_for(SYMBOL)))
    eng = SingleAssetEngine(spec, ledger, Orders(), currency="USDT")
    eng.start(0)
    with pytest.raises(StrategyError) as exc:
        eng.handle(bar(60))
    assert exc.value.code == "VT330"
    assert "DivisionByZero" in exc.value.message or "ZeroDivision" in exc.value.message
    assert "at ts 60" in exc.value.message
    assert (exc.value.file, exc.value.line) == (RAISING_FILE, 12)
    assert RAISING_SOURCE.splitlines()[12 - 1].strip() == "size = Decimal(1) / Decimal(0)"
    assert str(exc.value).startswith(f"{RAISING_FILE}:12: VT330 ")
