"""What every per-type engine shares: the strategy runtime, order ids and the outbox.

An engine is sans-I/O: ``handle(event)`` folds one event and may call the strategy; ``drain()``
returns what it wants done (commands for the venue, facts for the journal). No ``await`` anywhere:
the coroutine that feeds it lives in daemon/.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import Any, Final, TypeVar

from engines.clock import REPLAY_CLOCK, Clock
from engines.errors import CapabilityError, DeclarationError, VibeError
from engines.ledger import Ledger
from engines.model.commands import AnyCommand
from engines.model.events import (
    ArbitrageResolved,
    OrderFilled,
    Rebalanced,
    SnapshotSkipped,
    StrategyHalted,
    StrategyLog,
)
from engines.orders.book import Orders
from engines.orders.table import OrderStatus
from engines.sdk import MAX_HISTORY, Context, Fill, OpenOrder, Strategy
from engines.strategy.declaration import TYPE_BASES, StrategySpec

#: What an engine's drain() returns: commands for the venue, and facts for the journal.
Outgoing = AnyCommand | StrategyLog | StrategyHalted | Rebalanced | SnapshotSkipped | ArbitrageResolved

T = TypeVar("T")


class StrategyError(VibeError):
    """The strategy's own code raised while handling an event."""

    code = "VT330"


class LedgerAccount:
    """The :class:`~engines.sdk.AccountView` a strategy sees: the run's ledger in one currency."""

    def __init__(self, ledger: Ledger, currency: str) -> None:
        self._ledger = ledger
        self._currency = currency
        #: the ledger's live quantities: ``Context.position`` reads them without a call per question
        self.quantities: Mapping[str, Decimal] = ledger.quantities()

    def position_qty(self, symbol: str) -> Decimal:
        return self._ledger.position(symbol).qty

    def cash_balance(self) -> Decimal:
        return self._ledger.cash(self._currency)

    def equity_value(self) -> Decimal:
        return self._ledger.equity(self._currency)


class BookOrders:
    """The :class:`~engines.sdk.OrdersView` a strategy sees: its own open orders in the run's book.

    Copied into immutable :class:`~engines.sdk.OpenOrder` records on each call, so a strategy can keep
    what it was shown without seeing it change, and can change nothing.
    """

    def __init__(self, orders: Orders, strategy: str) -> None:
        self._orders = orders
        self._strategy = strategy

    def open_orders(self, symbol: str | None) -> tuple[OpenOrder, ...]:
        return tuple(
            OpenOrder(
                client_order_id=o.client_order_id,
                symbol=o.instrument,
                side=o.side,
                order_type=o.order_type,
                quantity=o.quantity,
                filled=o.filled_qty,
                limit=o.price,
                stop=o.trigger_price,
                time_in_force=o.time_in_force,
                canceling=o.status is OrderStatus.PENDING_CANCEL,
            )
            for o in self._orders.open_orders(self._strategy)
            if symbol is None or o.instrument == symbol
        )


def fill_of(event: OrderFilled) -> Fill:
    """What ``on_fill`` is handed for one journalled execution."""
    return Fill(
        client_order_id=event.client_order_id,
        symbol=event.instrument,
        side=event.side,
        quantity=event.last_qty,
        price=event.last_px,
        order_filled=event.cum_qty,
        fee=event.fee,
        fee_currency=event.fee_currency,
        ts_ns=event.ts_event,
    )


def history_size(spec: StrategySpec) -> int:
    """How many bars per symbol the strategy's context keeps: a ``history`` parameter if its Params
    declare one, else the class attribute. Checked here, so building the engine refuses a bad one."""
    declared = "history" in getattr(type(spec.params), "__struct_fields__", ())
    value: object = getattr(spec.params if declared else spec.cls, "history", 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_HISTORY:
        raise DeclarationError(
            f"strategy {spec.name!r}: history {value!r} must be a whole number of bars "
            f"from 0 to {MAX_HISTORY}",
            code="VT111",
            hint="Declare history = N, the longest lookback ctx.history is asked for.",
        )
    return value


class OrderIds:
    """Client order ids derived from (strategy, sequence): the same run gives the same ids.

    Kept to 36 characters, the tightest venue limit (Binance futures, Bybit orderLinkId).
    """

    def __init__(self, strategy: str) -> None:
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in strategy)
        self._prefix = safe[:24]
        self._next = 0

    def next(self) -> str:
        self._next += 1
        return f"{self._prefix}-{self._next:08d}"


BACKTEST_VENUE: Final = "sim"


class StrategyRuntime:
    """One strategy instance, its context, its routes, and a guarded way to call it.

    ``venues`` routes each symbol of the universe to the venue its orders go to; None routes every
    symbol to the simulated venue (a backtest). Every command an engine emits carries its venue.
    """

    def __init__(
        self,
        spec: StrategySpec,
        ledger: Ledger,
        currency: str,
        seed: int = 0,
        *,
        venues: Mapping[str, str] | None = None,
        clock: Clock = REPLAY_CLOCK,
        orders: Orders | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.clock = clock
        routes = {s: BACKTEST_VENUE for s in spec.universe} if venues is None else dict(venues)
        unrouted = [s for s in spec.universe if s not in routes]
        if unrouted:
            raise CapabilityError(
                f"strategy {spec.name!r}: no venue routes {', '.join(unrouted)}",
                code="VT133",
                hint="Configure a venue for every symbol of the universe.",
            )
        self.venues: Mapping[str, str] = routes
        self.strategy: Strategy[Any] = spec.cls(spec.params, spec.universe)
        self.ctx = Context(
            spec.name,
            LedgerAccount(ledger, currency),
            seed=seed,
            orders=BookOrders(orders, spec.name) if orders is not None else None,
            history=history_size(spec),
        )
        self.ledger = ledger

    def overrides(self, hook: str) -> bool:
        """Whether the strategy defines ``hook``: engines skip the SDK's do-nothing defaults."""
        base = TYPE_BASES[self.spec.strategy_type]
        return getattr(type(self.strategy), hook) is not getattr(base, hook)

    def call(self, fn: Callable[..., T], now_ns: int, *args: object) -> T:
        """Call a strategy hook; anything it raises becomes a StrategyError with its line."""
        ctx = self.ctx
        ctx.now_ns = now_ns
        try:
            return fn(ctx, *args)
        except Exception as exc:
            raise self.failure(exc, now_ns) from None

    def stop(self, now_ns: int) -> list[StrategyLog]:
        """Call ``on_stop`` if the strategy defines it; its log lines, and what went wrong, journalled.

        It may only log: a returned value is not acted on and a raise does not stop the run's end
        from being recorded (a live session stopping must still journal its end); both are stated in
        a line of the engine instead, the same way in a replay and in a re-drive.
        """
        if not self.overrides("on_stop"):
            return []
        problem = None
        try:
            returned = self.call(self.strategy.on_stop, now_ns)
        except VibeError as exc:
            where = f" (line {exc.line})" if exc.line is not None else ""
            problem = f"on_stop failed{where}: {exc.message}"
        else:
            if returned is not None:
                problem = f"on_stop returned {type(returned).__name__}: ignored (on_stop may only log)"
        if problem is not None:
            self.ctx.log(f"[engine] {problem}")
        return self.drain_logs(now_ns)

    def failure(self, exc: Exception, now_ns: int) -> VibeError:
        """The typed error for an exception a strategy hook raised (call it inside ``except``).

        Engines that inline the hook call on their hot path use this so that every engine reports
        a failing strategy the same way.
        """
        if isinstance(exc, VibeError):
            return exc
        what = "recursion too deep" if isinstance(exc, RecursionError) else f"{type(exc).__name__}: {exc}"
        return StrategyError(
            f"strategy {self.name!r} at ts {now_ns}: {what}",
            file=self.spec.file,
            line=_strategy_line(self.spec.file),
            hint="Fix the strategy code at this line; the run stops rather than guess.",
        )

    def drain_logs(self, now_ns: int) -> list[StrategyLog]:
        if not self.ctx.logs:
            return []
        stamp = self.clock.ts_init(now_ns)
        logs = [
            StrategyLog(ts_event=now_ns, ts_init=stamp, strategy=self.name, message=m) for m in self.ctx.logs
        ]
        self.ctx.logs.clear()
        return logs


def _strategy_line(filename: str) -> int | None:
    """The innermost line of the strategy file in the exception being handled."""
    tb = sys.exc_info()[2]
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def open_quantity(orders: Orders, strategy: str, symbol: str, excluding: Collection[str] = ()) -> Decimal:
    """Signed quantity still working in open orders of ``strategy`` for ``symbol``, leaving out the
    orders named in ``excluding`` (those the strategy is canceling)."""
    total = Decimal(0)
    for order in orders.open_orders(strategy):
        if order.instrument == symbol and order.client_order_id not in excluding:
            total += (order.quantity - order.filled_qty) * order.side.sign
    return total
