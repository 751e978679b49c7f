"""The single-asset engine: one symbol, one strategy, signals turned into orders.

Market events of the strategy's symbol go to its hooks (``on_bar``, ``on_quote``, ``on_trade``);
the output is checked against the single-asset contract and becomes :class:`SubmitOrder` commands.
A :class:`TargetPosition` is turned into the one market order that closes the gap between the target
and what is held plus what is still working.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from engines.clock import REPLAY_CLOCK, Clock
from engines.ledger import Ledger
from engines.model.commands import SubmitOrder
from engines.model.enums import Side
from engines.model.events import Bar, Event, QuoteTick, TradeTick
from engines.model.instruments import InstrumentSpec
from engines.orders.book import Orders
from engines.sdk import OrderIntent, TargetPosition
from engines.strategy.contract import check_single
from engines.strategy.declaration import StrategySpec
from engines.strategy.runtime import OrderIds, Outgoing, StrategyRuntime, open_quantity


class SingleAssetEngine:
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
        self.runtime = StrategyRuntime(spec, ledger, currency, seed, venues=venues, clock=clock)
        self.symbol = spec.universe[0]
        self.ledger = ledger
        self.orders = orders
        self.ids = OrderIds(spec.name)
        self._out: list[Outgoing] = []
        strategy = self.runtime.strategy
        hooks = {Bar: "on_bar", QuoteTick: "on_quote", TradeTick: "on_trade"}
        self._hooks = {
            kind: getattr(strategy, name) for kind, name in hooks.items() if self.runtime.overrides(name)
        }

    def start(self, now_ns: int) -> None:
        self.runtime.call(self.runtime.strategy.on_start, now_ns)
        self._out.extend(self.runtime.drain_logs(now_ns))

    def handle(self, event: Event) -> None:
        hook = self._hooks.get(type(event))
        if hook is None or event.instrument != self.symbol:  # type: ignore[attr-defined]
            return
        now = event.ts_event
        runtime = self.runtime
        ctx = runtime.ctx
        ctx.now_ns = now
        try:  # runtime.call, inlined: this runs once per market event
            output = hook(ctx, event)
        except Exception as exc:
            raise runtime.failure(exc, now) from None
        if output is not None:
            self._emit(check_single(runtime.name, now, output), now)
        if ctx.logs:
            self._out.extend(runtime.drain_logs(now))

    def finish(self, now_ns: int) -> None:
        """Nothing is pending at the end of the data: every decision was journalled as it was made."""

    def next_deadline(self) -> int | None:
        """A single-asset strategy acts on events only; its orders' expiries are the venue's."""
        return None

    def on_time(self, now_ns: int) -> None:
        """A single-asset strategy acts on each event; the end of an instant needs nothing."""

    def drain(self) -> Sequence[Outgoing]:
        if not self._out:
            return ()
        out, self._out = self._out, []
        return out

    def _emit(self, signal: TargetPosition | tuple[OrderIntent, ...] | None, now: int) -> None:
        if isinstance(signal, TargetPosition):
            held = self.ledger.position(self.symbol).qty
            working = open_quantity(self.orders, self.runtime.name, self.symbol)
            delta = signal.quantity - held - working
            if delta != 0:
                side = Side.BUY if delta > 0 else Side.SELL
                self._submit(OrderIntent(side=side, quantity=abs(delta)), now)
        elif signal is not None:
            for intent in signal:
                self._submit(intent, now)

    def _submit(self, intent: OrderIntent, now: int) -> None:
        self._out.append(
            SubmitOrder(
                ts_event=now,
                ts_init=self.runtime.clock.ts_init(now),
                strategy=self.runtime.name,
                venue=self.runtime.venues[self.symbol],
                client_order_id=self.ids.next(),
                instrument=self.symbol,
                side=intent.side,
                order_type=intent.order_type,
                quantity=intent.quantity,
                price=intent.limit,
                trigger_price=intent.stop,
                time_in_force=intent.time_in_force,
            )
        )
