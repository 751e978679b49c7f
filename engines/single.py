"""The single-asset engine: one symbol, one strategy, signals turned into orders.

Market events of the strategy's symbol go to its hooks (``on_bar``, ``on_quote``, ``on_trade``),
executions of its orders to ``on_fill``; the output is checked against the single-asset contract and
becomes :class:`SubmitOrder` and :class:`~engines.model.commands.CancelOrder` commands, in the order
the signal lists them. A :class:`TargetPosition` is turned into the one market order that closes the
gap between the target and what is held plus what is still working (orders being canceled aside).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from engines.clock import REPLAY_CLOCK, Clock
from engines.errors import ContractViolation
from engines.ledger import Ledger
from engines.model.commands import CancelOrder as CancelCommand
from engines.model.commands import SubmitOrder
from engines.model.enums import Side
from engines.model.events import (
    Bar,
    Event,
    FillReport,
    OrderCancelRejected,
    OrderFilled,
    QuoteTick,
    TradeTick,
)
from engines.model.instruments import InstrumentSpec
from engines.orders.book import Orders
from engines.sdk import CancelAll, CancelOrder, OrderIntent, TargetPosition
from engines.strategy.contract import SingleAction, check_single
from engines.strategy.declaration import StrategySpec
from engines.strategy.runtime import OrderIds, Outgoing, StrategyRuntime, fill_of, open_quantity

#: The market hooks and the event each is called with, and what a hook of that event is named in
#: the warning about a hook the data never called.
MARKET_HOOKS: Final[dict[type[Event], tuple[str, str]]] = {
    Bar: ("on_bar", "bars"),
    QuoteTick: ("on_quote", "quotes"),
    TradeTick: ("on_trade", "trades"),
}


def _keep_bars(ctx: Any, bar: Bar) -> None:
    """The Bar hook of a strategy that keeps history but has no ``on_bar``: the window still fills."""


class SingleAssetEngine:
    #: the kernel need not close instants for it: ``on_time`` does nothing and there is no deadline
    acts_on_time: Final = False

    def __init__(
        self,
        spec: StrategySpec,
        ledger: Ledger,
        orders: Orders,
        *,
        currency: str,
        specs: Mapping[str, InstrumentSpec] | None = None,
        seed: int = 0,
        venues: Mapping[str, str] | None = None,
        clock: Clock = REPLAY_CLOCK,
    ) -> None:
        # ``specs`` keeps the constructor the same for all three engines; one symbol needs none
        del specs
        if spec.strategy_type != "single":
            raise ValueError(f"SingleAssetEngine runs single strategies, not {spec.strategy_type}")
        self.runtime = StrategyRuntime(
            spec, ledger, currency, seed, venues=venues, clock=clock, orders=orders
        )
        self.symbol = spec.universe[0]
        self.ledger = ledger
        self.orders = orders
        self.ids = OrderIds(spec.name)
        self._out: list[Outgoing] = []
        #: what ``drain`` will return, the same list for the engine's life: the kernel looks at it
        #: instead of calling ``drain`` after every quote that asked for nothing
        self.outbox: Final = self._out
        self._ctx = self.runtime.ctx
        strategy = self.runtime.strategy
        self._hooks: dict[type[Event], Callable[..., object]] = {
            kind: getattr(strategy, name)
            for kind, (name, _) in MARKET_HOOKS.items()
            if self.runtime.overrides(name)
        }
        # market hooks defined but not called yet: what finish() warns about (a set only until each
        # hook's first call, so the hot path pays one truth test)
        self._uncalled = set(self._hooks)
        self._window: deque[Bar] | None = self.runtime.ctx._window(self.symbol)
        if self._window is not None and Bar not in self._hooks:
            self._hooks[Bar] = _keep_bars
        self._on_fill = strategy.on_fill if self.runtime.overrides("on_fill") else None  # type: ignore[attr-defined]
        # events the engine looks at beyond market data: executions (for on_fill) and the end of a
        # cancel (so that an order whose cancel failed counts as working again)
        self._order_kinds: tuple[type[Event], ...] = (OrderCancelRejected,) + (
            (OrderFilled, FillReport) if self._on_fill is not None else ()
        )
        # orders a cancel of the strategy is on its way for: not working as far as a target goes
        self._canceling: set[str] = set()
        # orders emitted but not yet in the book (a fill's on_fill can run while the rest of the
        # signal that caused it is still being sent): client id and signed quantity
        self._unbooked: list[tuple[str, Decimal]] = []

    def start(self, now_ns: int) -> None:
        self.runtime.call(self.runtime.strategy.on_start, now_ns)
        self._out.extend(self.runtime.drain_logs(now_ns))

    def handle(self, event: Event) -> None:
        kind = type(event)
        hook = self._hooks.get(kind)
        if hook is None:
            if kind in self._order_kinds:
                self._on_order_event(event)
            return
        if event.instrument != self.symbol:  # type: ignore[attr-defined]
            return
        if self._uncalled:
            self._uncalled.discard(kind)
        if kind is Bar and self._window is not None:
            self._window.append(event)  # type: ignore[arg-type]
        now = event.ts_event
        ctx = self._ctx
        ctx.now_ns = now
        try:  # runtime.call, inlined: this runs once per market event
            output = hook(ctx, event)
        except Exception as exc:
            raise self.runtime.failure(exc, now) from None
        if output is not None:
            self._emit(check_single(self.runtime.name, now, output), now)
        if ctx.logs:
            self._out.extend(self.runtime.drain_logs(now))

    def quote_handler(self) -> Callable[[QuoteTick], None]:
        """:meth:`handle` for quotes only, with its lookups bound once: what the kernel calls on
        each quote of its hot path. The same steps as :meth:`handle` takes for a quote."""
        hook = self._hooks.get(QuoteTick)
        if hook is None:
            return self.handle  # quotes are ignored: nothing to make faster
        symbol, ctx, uncalled, out, runtime, emit = (
            self.symbol,
            self._ctx,
            self._uncalled,
            self._out,
            self.runtime,
            self._emit,
        )

        def on_quote(event: QuoteTick) -> None:
            if event.instrument != symbol:
                return
            if uncalled:
                uncalled.discard(QuoteTick)
            now = event.ts_event
            ctx.now_ns = now
            try:
                output = hook(ctx, event)
            except Exception as exc:
                raise runtime.failure(exc, now) from None
            if output is not None:
                emit(check_single(runtime.name, now, output), now)
            if ctx.logs:
                out.extend(runtime.drain_logs(now))

        return on_quote

    def _on_order_event(self, event: Event) -> None:
        if isinstance(event, OrderCancelRejected):
            self._canceling.discard(event.client_order_id)
            return
        assert isinstance(event, OrderFilled) and self._on_fill is not None
        order = self.orders.get(event.client_order_id)
        if order is None or order.strategy != self.runtime.name:
            return
        now = event.ts_event
        output = self.runtime.call(self._on_fill, now, fill_of(event))
        if output is not None:
            self._emit(check_single(self.runtime.name, now, output), now)
        self._out.extend(self.runtime.drain_logs(now))

    def finish(self, now_ns: int) -> None:
        """Every decision was journalled as it was made; what is left to say is which market hooks
        the data never called (an ``on_quote`` on bar data is almost always a mistake)."""
        for kind, (name, what) in MARKET_HOOKS.items():
            if kind in self._uncalled:
                self.runtime.ctx.log(
                    f"[engine] warning: {name} is defined but the data had no {what} for {self.symbol}, "
                    "so it was never called"
                )
        self._uncalled.clear()
        self._out.extend(self.runtime.drain_logs(now_ns))

    def stop(self, now_ns: int) -> None:
        """The run ends: ``on_stop`` (it may only log)."""
        self._out.extend(self.runtime.stop(now_ns))

    def next_deadline(self) -> int | None:
        """A single-asset strategy acts on events only; its orders' expiries are the venue's."""
        return None

    def on_time(self, now_ns: int) -> None:
        """A single-asset strategy acts on each event; the end of an instant needs nothing."""

    def drain(self) -> Sequence[Outgoing]:
        if not self._out:
            return ()
        out = self._out.copy()
        self._out.clear()
        return out

    # ── signals to commands ──

    def _emit(self, signal: TargetPosition | tuple[SingleAction, ...] | None, now: int) -> None:
        if isinstance(signal, TargetPosition):
            self._target(signal.quantity, now)
        elif signal is not None:
            for action in signal:
                if isinstance(action, OrderIntent):
                    self._submit(action, now)
                elif isinstance(action, CancelOrder):
                    self._cancel_one(action.client_order_id, now)
                elif isinstance(action, CancelAll):
                    for order in self.orders.open_orders(self.runtime.name):
                        if order.instrument == self.symbol:
                            self._cancel(order.client_order_id, order.venue, now)

    def _target(self, quantity: Decimal, now: int) -> None:
        held = self.ledger.position(self.symbol).qty
        working = open_quantity(self.orders, self.runtime.name, self.symbol, self._canceling)
        if self._unbooked:
            orders = self.orders
            self._unbooked = [(cid, q) for cid, q in self._unbooked if cid not in orders]
            working += sum((q for _, q in self._unbooked), Decimal(0))
        delta = quantity - held - working
        if delta != 0:
            side = Side.BUY if delta > 0 else Side.SELL
            self._submit(OrderIntent(side=side, quantity=abs(delta)), now)

    def _cancel_one(self, cid: str, now: int) -> None:
        order = self.orders.get(cid)
        if order is None or order.strategy != self.runtime.name:
            raise ContractViolation(
                f"strategy {self.runtime.name!r} at ts {now}: cancel of order {cid!r}, "
                "which is not one of the strategy's orders",
                code="VT300",
                hint="Cancel ids that ctx.open_orders() lists.",
            )
        if not order.status.is_terminal:
            self._cancel(cid, order.venue, now)

    def _cancel(self, cid: str, venue: str, now: int) -> None:
        if cid in self._canceling:
            return  # a cancel of it is on its way already
        if self._canceling:  # forget orders that ended since: the set stays as small as what is working
            orders = self.orders
            self._canceling = {
                c for c in self._canceling if (o := orders.get(c)) and not o.status.is_terminal
            }
        self._canceling.add(cid)
        self._out.append(
            CancelCommand(
                ts_event=now,
                ts_init=self.runtime.clock.ts_init(now),
                strategy=self.runtime.name,
                venue=venue,
                client_order_id=cid,
                instrument=self.symbol,
            )
        )

    def _submit(self, intent: OrderIntent, now: int) -> None:
        cid = self.ids.next()
        if self._on_fill is not None:
            # the kernel books every order it is handed before the next market event: only the
            # orders of the signal being sent are ever here
            orders = self.orders
            self._unbooked = [(c, q) for c, q in self._unbooked if c not in orders]
            self._unbooked.append((cid, intent.quantity * intent.side.sign))
        self._out.append(
            SubmitOrder(
                ts_event=now,
                ts_init=self.runtime.clock.ts_init(now),
                strategy=self.runtime.name,
                venue=self.runtime.venues[self.symbol],
                client_order_id=cid,
                instrument=self.symbol,
                side=intent.side,
                order_type=intent.order_type,
                quantity=intent.quantity,
                price=intent.limit,
                trigger_price=intent.stop,
                time_in_force=intent.time_in_force,
            )
        )
