"""The strategy SDK: the one project module a strategy file may import.

A strategy file defines a parameter class (a subclass of :class:`Params`), a strategy class derived from
exactly one of the three type bases, and a module-level ``STRATEGY`` naming the class to run::

    class MyParams(Params):
        symbol: str = "binance-spot:BTCUSDT"
        fast: Annotated[int, Bounds(ge=1)] = 10

    class MyStrategy(SingleAssetStrategy[MyParams]):
        def on_bar(self, ctx: Context, bar: Bar) -> Signal: ...

    STRATEGY = MyStrategy

The base class *is* the declaration of the strategy type (``single``, ``portfolio`` or ``arbitrage``);
the declaration check (:mod:`engines.strategy.declaration`) reads it and nothing on the command line
can change it. A strategy sees exactly the names
of ``__all__``; docs/strategies.md ("SDK reference") says what each is, and a test keeps the two equal.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, ClassVar, Final, Generic, Literal, Protocol, TypeVar

import msgspec

from engines.indicators import (
    ATR,
    EMA,
    RSI,
    SMA,
    Bands,
    BollingerBands,
    Cross,
    Indicator,
    Mid,
    RollingMax,
    RollingMin,
    RollingSum,
    compare,
)
from engines.model.enums import LegPolicy, OrderType, Side, TimeInForce
from engines.model.events import Bar, QuoteTick, TradeTick

__all__ = [
    "ATR",
    "EMA",
    "RSI",
    "SMA",
    "STRATEGY_TYPES",
    "AccountView",
    "ArbIntent",
    "ArbitrageParams",
    "ArbitrageStrategy",
    "Bands",
    "Bar",
    "BollingerBands",
    "Bounds",
    "CancelAll",
    "CancelOrder",
    "Context",
    "Cross",
    "Decimal",
    "DeterministicRandom",
    "Fill",
    "Indicator",
    "LegOrder",
    "LegPolicy",
    "Mid",
    "OpenOrder",
    "OrderIntent",
    "OrderType",
    "OrdersView",
    "Params",
    "PortfolioStrategy",
    "QuoteTick",
    "RollingMax",
    "RollingMin",
    "RollingSum",
    "Side",
    "Signal",
    "SingleAssetStrategy",
    "Snapshot",
    "Strategy",
    "TargetPosition",
    "TimeInForce",
    "TradeTick",
    "Weights",
    "compare",
]

STRATEGY_TYPES: Final = ("single", "portfolio", "arbitrage")


class Bounds(msgspec.Struct, frozen=True, kw_only=True):
    """Constraints on a numeric parameter, e.g. ``Annotated[int, Bounds(ge=1, le=500)]``.

    Checked by the declaration on defaults and on ``--param`` values alike (msgspec's own ``Meta`` has no
    bounds for Decimal, which is what money parameters are).
    """

    ge: Decimal | int | None = None
    gt: Decimal | int | None = None
    le: Decimal | int | None = None
    lt: Decimal | int | None = None

    def violation(self, value: object) -> str | None:
        """Why ``value`` is out of bounds, or None when it is within them."""
        if not isinstance(value, int | Decimal) or isinstance(value, bool):
            return None
        if isinstance(value, Decimal) and not value.is_finite():
            return f"{value} is not finite"
        if self.ge is not None and not value >= self.ge:
            return f"{value} must be >= {self.ge}"
        if self.gt is not None and not value > self.gt:
            return f"{value} must be > {self.gt}"
        if self.le is not None and not value <= self.le:
            return f"{value} must be <= {self.le}"
        if self.lt is not None and not value < self.lt:
            return f"{value} must be < {self.lt}"
        return None


class Params(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every strategy's parameters: typed fields with defaults, overridable by ``--param``."""


P = TypeVar("P", bound=Params)


# ── what a strategy can return ──────────────────────────────────────────────────────────────────


def _as_decimal(obj: msgspec.Struct, *names: str) -> None:
    """Turn int fields into Decimal on construction: ``TargetPosition(1)`` means ``Decimal(1)``.

    ``type(...) is int`` leaves a bool alone (its type is bool), so ``TargetPosition(True)`` still
    reaches the output contract and is refused there, as is anything else that is not a number.
    """
    for name in names:
        value = getattr(obj, name)
        if type(value) is int:
            msgspec.structs.force_setattr(obj, name, Decimal(value))


class TargetPosition(msgspec.Struct, frozen=True):
    """Hold exactly ``quantity`` (signed, in the instrument's units) of the strategy's one symbol.

    The engine sends one market order for ``quantity - held - working``, where ``working`` is the
    signed unfilled quantity of the strategy's open orders on the symbol (stops and limits included)
    that the strategy has not asked to cancel: holding 10 with a stop sell of 10 resting,
    ``TargetPosition(0)`` sends nothing; after a ``CancelAll()`` it sells 10. An int is taken as a
    Decimal.
    """

    quantity: Decimal

    if TYPE_CHECKING:  # what a type checker sees: an int is welcome (the field is always a Decimal)

        def __init__(self, quantity: Decimal | int) -> None: ...

    def __post_init__(self) -> None:
        _as_decimal(self, "quantity")


class OrderIntent(msgspec.Struct, frozen=True, kw_only=True):
    """One order for the strategy's one symbol. ``limit`` is required for limit orders.

    Ints are taken as Decimals (``quantity=1``); a float or a bool is refused by the contract.
    """

    side: Side
    quantity: Decimal
    order_type: OrderType = OrderType.MARKET
    limit: Decimal | None = None
    stop: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC

    if TYPE_CHECKING:  # what a type checker sees: ints are welcome (the fields are always Decimals)

        def __init__(
            self,
            *,
            side: Side,
            quantity: Decimal | int,
            order_type: OrderType = OrderType.MARKET,
            limit: Decimal | int | None = None,
            stop: Decimal | int | None = None,
            time_in_force: TimeInForce = TimeInForce.GTC,
        ) -> None: ...

    def __post_init__(self) -> None:
        _as_decimal(self, "quantity", "limit", "stop")


class CancelOrder(msgspec.Struct, frozen=True):
    """Cancel one open order of the strategy, by the client order id ``ctx.open_orders()`` shows.

    An order that ended before the cancel goes out (filled, expired) is left alone: that is a race,
    not a mistake. An id the strategy never sent is a contract violation (VT300).
    """

    client_order_id: str


class CancelAll(msgspec.Struct, frozen=True):
    """Cancel every open order of the strategy on its symbol (the ones ``ctx.open_orders()`` shows)."""


#: What a single-asset hook returns: a target, or orders and cancels carried out in list order, or None.
Signal = TargetPosition | Sequence[OrderIntent | CancelOrder | CancelAll] | None

#: Portfolio output: target weight per symbol of the universe (fraction of equity); an int is taken
#: as a Decimal.
Weights = Mapping[str, Decimal | int]


class LegOrder(msgspec.Struct, frozen=True, kw_only=True):
    """One leg of an arbitrage, in base units; the engine converts to contracts for inverse legs."""

    symbol: str
    side: Side
    quantity: Decimal
    limit: Decimal | None = None

    if TYPE_CHECKING:  # what a type checker sees: ints are welcome (the fields are always Decimals)

        def __init__(
            self, *, symbol: str, side: Side, quantity: Decimal | int, limit: Decimal | int | None = None
        ) -> None: ...

    def __post_init__(self) -> None:
        _as_decimal(self, "quantity", "limit")


class ArbIntent(msgspec.Struct, frozen=True):
    """Legs in the order they must be sent: leg 0 first, the next only when the policy allows."""

    legs: tuple[LegOrder, ...]


class Snapshot(msgspec.Struct, frozen=True):
    """The latest quote of every leg, all within the declared window of each other."""

    quotes: Mapping[str, QuoteTick]
    ts_ns: int

    def mid(self, symbol: str) -> Decimal:
        q = self.quotes[symbol]
        return (q.bid + q.ask) / 2


# ── what a strategy can ask for ─────────────────────────────────────────────────────────────────


class DeterministicRandom:
    """A seeded PRNG (splitmix64): the only randomness a strategy gets, identical on every replay."""

    _MASK: Final = (1 << 64) - 1

    def __init__(self, seed: int) -> None:
        self._state = seed & self._MASK

    def next_u64(self) -> int:
        self._state = (self._state + 0x9E3779B97F4A7C15) & self._MASK
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self._MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self._MASK
        return z ^ (z >> 31)

    def uniform(self) -> Decimal:
        """A Decimal in [0, 1) with 18 digits."""
        return Decimal(self.next_u64() % 10**18) / Decimal(10**18)

    def randint(self, low: int, high: int) -> int:
        """An int in [low, high]."""
        if high < low:
            raise ValueError("randint needs low <= high")
        return low + self.next_u64() % (high - low + 1)


class AccountView(Protocol):
    """Read-only holdings as the engine sees them; the ledger behind it is a fold of the journal."""

    def position_qty(self, symbol: str) -> Decimal: ...

    def cash_balance(self) -> Decimal: ...

    def equity_value(self) -> Decimal: ...


class _NoAccount:
    def position_qty(self, symbol: str) -> Decimal:
        return Decimal(0)

    def cash_balance(self) -> Decimal:
        return Decimal(0)

    def equity_value(self) -> Decimal:
        return Decimal(0)


class OpenOrder(msgspec.Struct, frozen=True, kw_only=True):
    """A read-only copy of one of the strategy's orders that has not ended, as ``ctx.open_orders()`` lists it.

    ``filled`` is the quantity filled so far; ``limit`` and ``stop`` are None where the order type has
    none; ``canceling`` is True while a cancel of it is on its way.
    """

    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    filled: Decimal
    limit: Decimal | None = None
    stop: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    canceling: bool = False

    @property
    def remaining(self) -> Decimal:
        """What is still to fill: ``quantity - filled``."""
        return self.quantity - self.filled


class Fill(msgspec.Struct, frozen=True, kw_only=True):
    """One execution of one of the strategy's orders, as ``on_fill`` receives it.

    ``quantity`` and ``price`` are this execution's; ``order_filled`` is the order's cumulative filled
    quantity after it; ``fee`` is in ``fee_currency``; ``ts_ns`` is the exchange time of the fill.
    """

    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    order_filled: Decimal
    fee: Decimal
    fee_currency: str
    ts_ns: int


class OrdersView(Protocol):
    """Read-only open orders of one strategy; the order book behind it is a fold of the journal."""

    def open_orders(self, symbol: str | None) -> tuple[OpenOrder, ...]: ...


class _NoOrders:
    def open_orders(self, symbol: str | None) -> tuple[OpenOrder, ...]:
        return ()


#: The most bars ``history`` may keep per symbol: the window is memory the run holds for its whole life.
MAX_HISTORY: Final = 100_000


_NOTHING_HELD: Final = Decimal(0)
"""What ``Context.position`` answers for a symbol never traded: the ledger's flat position's qty."""


class Context:
    """What the engine hands a strategy on each call: time, holdings, open orders, recent bars, a log
    and seeded randomness.

    The engine owns this object and sets ``now_ns`` before each call; strategies only read it.
    ``cash``, ``equity`` and ``open_orders()`` are computed on access, so a strategy that never asks
    costs nothing; the bar window exists only when the strategy declares ``history``.
    """

    def __init__(
        self,
        strategy: str,
        account: AccountView | None = None,
        seed: int = 0,
        *,
        orders: OrdersView | None = None,
        history: int = 0,
    ) -> None:
        self.strategy = strategy
        self.now_ns = 0
        self.random = DeterministicRandom(seed)
        self.logs: list[str] = []
        self._account: AccountView = account if account is not None else _NoAccount()
        # an account that shows its quantities as a live mapping (the run's ledger does) is read
        # directly: ``position`` is asked on every tick by most strategies
        self._quantities: Mapping[str, Decimal] | None = getattr(account, "quantities", None)
        self._orders: OrdersView = orders if orders is not None else _NoOrders()
        self._history = history
        self._windows: dict[str, deque[Bar]] = {}

    def position(self, symbol: str) -> Decimal:
        """Signed quantity held in ``symbol`` (0 when flat)."""
        quantities = self._quantities
        if quantities is None:
            return self._account.position_qty(symbol)
        return quantities.get(symbol, _NOTHING_HELD)

    @property
    def cash(self) -> Decimal:
        """Cash in the strategy's quote currency."""
        return self._account.cash_balance()

    @property
    def equity(self) -> Decimal:
        """Cash plus marked holdings in the strategy's quote currency."""
        return self._account.equity_value()

    def open_orders(self, symbol: str | None = None) -> tuple[OpenOrder, ...]:
        """The strategy's orders that have not ended (on ``symbol``, or all), oldest first."""
        return self._orders.open_orders(symbol)

    def history(self, symbol: str, n: int | None = None) -> tuple[Bar, ...]:
        """The last ``n`` bars of ``symbol`` (all that are kept when None), oldest first, the
        current one included.

        At most the strategy's declared ``history`` bars are kept; asking for more is an error, so a
        lookback longer than the window fails at once rather than silently seeing fewer bars.
        """
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
            raise ValueError(f"history(n={n!r}): n is a whole number >= 0")
        if n is not None and n > self._history:
            raise ValueError(
                f"history({symbol!r}, {n}) asks for more than the {self._history} bar(s) kept: "
                f"declare history = {n} (or more) on the strategy"
            )
        window = self._windows.get(symbol)
        if window is None:
            return ()
        if n is None or n >= len(window):
            return tuple(window)
        if n == 0:
            return ()
        return tuple(window)[-n:]

    def log(self, message: str) -> None:
        """Record a line in the journal (as ``StrategyLog``): strategies have no print."""
        self.logs.append(str(message))

    def _window(self, symbol: str) -> deque[Bar] | None:
        """The engine's handle on ``symbol``'s bar window (None when no history is declared)."""
        if self._history <= 0:
            return None
        window = self._windows.get(symbol)
        if window is None:
            window = self._windows[symbol] = deque(maxlen=self._history)
        return window


# ── the three declarations ──────────────────────────────────────────────────────────────────────


class Strategy(Generic[P]):
    """Common base. Subclass one of the three type bases below, never this one directly."""

    type: ClassVar[str] = ""
    #: the hooks of which a concrete strategy must override at least one
    hooks: ClassVar[tuple[str, ...]] = ()
    #: the parameter naming the universe, and how many symbols it may hold
    universe_param: ClassVar[str] = ""
    min_symbols: ClassVar[int] = 1
    max_symbols: ClassVar[int] = 1
    #: a stable name for ids and reports; defaults to the class name
    name: ClassVar[str] = ""
    #: how many bars per symbol ``ctx.history`` keeps (a parameter named ``history`` overrides it);
    #: 0 keeps none and costs nothing
    history: ClassVar[int] = 0

    def __init__(self, params: P, universe: tuple[str, ...] = ()) -> None:
        self.params = params
        self.universe = universe

    def on_start(self, ctx: Context) -> None:
        """Called once before the first event."""

    def on_stop(self, ctx: Context) -> None:
        """Called once when the run ends, after the last event; it may log, never trade.

        Anything it returns other than None, and anything it raises, is journalled as a line of the
        engine: the end of a run is recorded whatever the strategy does in it.
        """


class SingleAssetStrategy(Strategy[P]):
    """Trades exactly one symbol (parameter ``symbol``). Return a :data:`Signal` from any hook."""

    type = "single"
    hooks = ("on_bar", "on_quote", "on_trade")
    universe_param = "symbol"
    min_symbols = 1
    max_symbols = 1

    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        return None

    def on_quote(self, ctx: Context, quote: QuoteTick) -> Signal:
        return None

    def on_trade(self, ctx: Context, trade: TradeTick) -> Signal:
        return None

    def on_fill(self, ctx: Context, fill: Fill) -> Signal:
        """Called once per execution of one of the strategy's orders, when it is folded."""
        return None


class PortfolioStrategy(Strategy[P]):
    """Holds target weights over a universe of 2 to 500 symbols (parameter ``universe``).

    ``rebalance`` is called at each scheduled time with the latest bar of every symbol; it returns
    weights that must be finite, within ``[min_weight, max_weight]`` and sum to at most 1 (symbols
    left out get 0), or None to skip this rebalance. Shorting needs ``allow_short = True``.

    Settings, read from a parameter of that name, else a class attribute (docs/portfolio.md):
    ``schedule`` (daily, weekly, monthly or on_demand; default monthly), ``cash_buffer`` (the share
    of equity kept in cash; default 0) and ``drift_threshold`` (skip a symbol whose weight is this
    close to its target; default 0).
    """

    type = "portfolio"
    hooks = ("rebalance",)
    universe_param = "universe"
    min_symbols = 2
    max_symbols = 500
    min_weight: ClassVar[Decimal] = Decimal(0)
    max_weight: ClassVar[Decimal] = Decimal(1)
    allow_short: ClassVar[bool] = False

    def rebalance(self, ctx: Context, bars: Mapping[str, Bar]) -> Weights | None:
        """Target weights. The base holds cash; the declaration refuses a class that does not override it."""
        return {}

    def on_fill(self, ctx: Context, fill: Fill) -> None:
        """Called once per execution of one of the strategy's orders; it may log (orders come from
        ``rebalance`` only)."""


class ArbitrageParams(Params, frozen=True, kw_only=True):
    """Parameters every arbitrage has: its legs, the alignment window and the leg-failure policy.

    How the engine works them is in docs/arbitrage.md:

    * ``window_ms``: the latest quotes of all legs must lie within this many milliseconds of each
      other (exchange time) for a snapshot to be evaluated; 0 asks for equal timestamps.
    * ``policy``: what a failed leg leads to: ``unwind``, ``hedge`` or ``halt``.
    * ``next_leg_on``: the next leg is sent once the previous one is ``"filled"`` in full (the
      default) or ``"accepted"`` by the venue.
    * ``hedge_retries``: under ``hedge``, how many market-order retries a failed leg gets before
      the arbitrage falls back to unwinding.
    * ``leg_timeout_ms``: how long (exchange time) an order of the arbitrage may work before the
      engine cancels it; the leg has then failed and the policy applies.
    """

    legs: str
    window_ms: int = 50
    policy: LegPolicy = LegPolicy.UNWIND
    next_leg_on: Literal["accepted", "filled"] = "filled"
    hedge_retries: Annotated[int, Bounds(ge=0, le=10)] = 2
    leg_timeout_ms: Annotated[int, Bounds(ge=1)] = 5_000


AP = TypeVar("AP", bound=ArbitrageParams)


class ArbitrageStrategy(Strategy[AP]):
    """Trades 2 or 3 legs (parameter ``legs``) on aligned snapshots only.

    ``on_snapshot`` is called when every leg's latest quote lies within ``window_ms`` of the others
    (exchange time); it returns the legs to send, in order, or None.
    """

    type = "arbitrage"
    hooks = ("on_snapshot",)
    universe_param = "legs"
    min_symbols = 2
    max_symbols = 3

    def on_snapshot(self, ctx: Context, snapshot: Snapshot) -> ArbIntent | None:
        return None

    def on_fill(self, ctx: Context, fill: Fill) -> None:
        """Called once per execution of one of the strategy's orders (legs, hedges, unwinds); it may
        log (the engine owns the arbitrage's orders)."""
