"""Positions, cash, fees and PnL as a pure fold over the journal.

:class:`Ledger` sees every event of the journal and ignores those it has no use for, so
rebuilding it after a restart is ``fold(journal)``. It never reads a clock and never does I/O.

Accounting rules
----------------
* **Exact arithmetic.** Every computation runs under :data:`~engines.decimals.LEDGER_CONTEXT`, installed with
  :func:`decimal.localcontext`, so a caller that changes the thread's decimal context cannot
  change a digit of the ledger. Sums and products are exact: the context has 50 digits and traps
  ``Inexact``, so a figure that would need more (amounts beyond about 10**31) raises
  :class:`~engines.errors.LedgerError` instead of being rounded silently. Divisions (averages,
  the closed share of a cost basis, inverse contract values) are the only rounding: an exact
  quotient is kept as is, any other is rounded half-even to 18 decimal places
  (:data:`BOOK_QUANTUM`), finer than any venue's cash or contract precision.
* **Cost basis, not average, is the book.** Each position keeps a signed ``cost_basis``: the sum
  of ``qty * price * multiplier`` (quote currency) over its open lots, or for inverse contracts
  of ``qty * multiplier / price`` (settle currency). A close releases the closed share of the
  cost basis, and all of it when the position goes flat, so a rounded share is absorbed by the
  next close instead of leaking into cash, and ``equity - deposits == realised + unrealised -
  fees`` holds to the last digit.
* **Settlement by kind.** SPOT and EQUITY fills move the full notional in ``quote`` cash; their
  realised PnL (average cost) is for reporting only. LINEAR and INVERSE fills move no notional;
  their realised PnL is paid into ``settle`` cash. Linear PnL is computed in quote units and
  booked in ``settle`` as is: every supported venue's linear contracts settle in their quote.
* **Fees** are charged to ``cash[fee_currency]`` whatever the instrument, so a spot buy whose fee
  the venue takes in the base asset shows as negative base cash, while the position keeps the
  venue's fill quantity.
* **Marks** come from quotes (mid), trades (price), bars (close) and :class:`MarkPrice`. A
  position without a mark is valued at its average entry price, i.e. its unrealised PnL is zero.
  A non-positive price is not a mark (venues quote an empty book side as 0) and is ignored.
* **Equity** in a currency involves no FX conversion: cash in that currency, the marked value of
  spot and equity positions quoted in it, and the unrealised PnL of contracts settled in it.
* **Fills** are :class:`~engines.model.events.OrderFilled` events, :class:`~engines.model.events.FillReport`
  (a fill found by reconciliation, a real execution) included. The ledger folds every fill it is
  given: deduplication by trade id is the order book's (:meth:`engines.orders.book.Orders.check` says
  whether a fill is new), so a fold must not hand it a fill the order book ignored.

Validate, then journal, then fold
---------------------------------
:meth:`Ledger.check` raises exactly the :class:`~engines.errors.LedgerError` that
:meth:`Ledger.apply` would raise for an event in the current state, and changes nothing, so a
driver can refuse a fact before journaling it. Both run one planning step that computes the
writes an event makes (:class:`LedgerPlan`); ``apply`` then stores them, which cannot fail. Market
events and marks are never refused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, DecimalException, localcontext
from types import MappingProxyType
from typing import Final, NamedTuple, ParamSpec, TypeVar

import msgspec

from engines.decimals import LEDGER_CONTEXT, LEDGER_DIVISION_CONTEXT
from engines.errors import LedgerError
from engines.model.events import (
    Bar,
    CashAdjusted,
    Event,
    InstrumentDefined,
    MarkPrice,
    OrderFilled,
    QuoteTick,
    TradeTick,
)
from engines.model.instruments import InstrumentKind, InstrumentSpec

__all__ = ["BOOK_QUANTUM", "Ledger", "LedgerPlan", "LedgerSnapshot", "Position", "fold"]

BOOK_QUANTUM: Final = Decimal("1e-18")
"""What an inexact division is rounded to (half-even): finer than any venue's cash or contract precision."""

_ZERO: Final = Decimal(0)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _exact(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``method`` under ``LEDGER_CONTEXT``, whatever the caller's decimal context is."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with localcontext(LEDGER_CONTEXT):
            try:
                return method(*args, **kwargs)
            except DecimalException as exc:
                raise LedgerError(f"{method.__name__}: outside exact decimal arithmetic ({exc!r})") from exc

    return wrapper


def _div(dividend: Decimal, divisor: Decimal) -> Decimal:
    """``dividend / divisor``: exact when it can be, else rounded half-even to BOOK_QUANTUM.

    Dividing under ROUND_05UP with digits to spare and then quantizing half-even gives the correctly
    rounded quotient: 05UP keeps a rounded intermediate from ever looking like an exact half.
    """
    ctx = LEDGER_DIVISION_CONTEXT.copy()
    quotient = ctx.divide(dividend, divisor)
    booked = quotient.quantize(BOOK_QUANTUM, rounding=ROUND_HALF_EVEN, context=ctx)
    # An inexact 05UP quotient never ends in 0, so it can only equal its quantized self if exact.
    return quotient if booked == quotient else booked


class Position(msgspec.Struct, frozen=True, kw_only=True):
    """One instrument's position.

    ``qty`` is signed (negative is short). ``avg_px`` is the average entry price of the open
    quantity (arithmetic for spot, equity and linear, contract-weighted harmonic for inverse),
    derived from ``cost_basis`` when the position opens or grows and kept as is by a partial close;
    0 when flat. ``cost_basis`` is the signed book PnL is computed from (see the module docstring).
    ``realized_pnl`` is in the quote currency for spot and equity, the settle currency otherwise.
    """

    qty: Decimal = _ZERO
    avg_px: Decimal = _ZERO
    cost_basis: Decimal = _ZERO
    realized_pnl: Decimal = _ZERO


_FLAT: Final = Position()

# What a position's accounting depends on; the rest of a spec (ticks, lots, fee rates) may change
# while a position is open.
_SETTLEMENT_FIELDS: Final = ("kind", "base", "quote", "settle", "multiplier")

_SNAPSHOT_ENCODER: Final = msgspec.json.Encoder(order="sorted")


class LedgerSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The whole ledger state by value: equal states compare equal and encode to equal bytes.

    The dicts are fresh copies built in key order; changing them does not touch the ledger.
    """

    instruments: dict[str, InstrumentSpec]
    cash: dict[str, Decimal]
    fees: dict[str, Decimal]
    positions: dict[str, Position]
    marks: dict[str, Decimal]

    def to_json(self) -> bytes:
        """Canonical JSON: keys sorted at every level, decimals as strings."""
        return _SNAPSHOT_ENCODER.encode(self)


# ── pure position arithmetic ────────────────────────────────────────────────────────────────────


def _is_positive(x: Decimal) -> bool:
    # is_finite first: comparing a NaN traps InvalidOperation instead of answering.
    return x.is_finite() and x > 0


def _is_inverse(spec: InstrumentSpec) -> bool:
    return spec.kind is InstrumentKind.INVERSE


def _entry_value(spec: InstrumentSpec, qty: Decimal, px: Decimal) -> Decimal:
    """What ``qty`` (signed) at ``px`` adds to a cost basis."""
    if _is_inverse(spec):
        return _div(qty * spec.multiplier, px)
    return qty * px * spec.multiplier


def _pnl(spec: InstrumentSpec, qty: Decimal, px: Decimal, cost_basis: Decimal) -> Decimal:
    """PnL of unwinding ``qty`` (signed like the position) booked at ``cost_basis`` at price ``px``.

    An inverse contract's value in the settle currency falls as the price rises, hence the flipped
    difference: ``qty * multiplier * (1/entry - 1/px)``.
    """
    at_px = _entry_value(spec, qty, px)
    return cost_basis - at_px if _is_inverse(spec) else at_px - cost_basis


def _avg_px(spec: InstrumentSpec, qty: Decimal, cost_basis: Decimal) -> Decimal:
    if _is_inverse(spec):
        return _div(qty * spec.multiplier, cost_basis)
    return _div(cost_basis, qty * spec.multiplier)


def _open(spec: InstrumentSpec, pos: Position, qty: Decimal, px: Decimal) -> Position:
    """Add ``qty`` (signed like the position, or any sign when flat) at ``px``."""
    total = pos.qty + qty
    cost = pos.cost_basis + _entry_value(spec, qty, px)
    return Position(
        qty=total,
        avg_px=_avg_px(spec, total, cost),
        cost_basis=cost,
        realized_pnl=pos.realized_pnl,
    )


def _trade(spec: InstrumentSpec, pos: Position, qty: Decimal, px: Decimal) -> tuple[Position, Decimal]:
    """The position after a fill of ``qty`` (signed) at ``px``, and the PnL the fill realised.

    A fill against the position first closes up to the whole position, releasing the closed share of
    the cost basis; whatever is left opens a new position at ``px`` on the other side.
    """
    if pos.qty == 0 or (pos.qty > 0) == (qty > 0):
        return _open(spec, pos, qty, px), _ZERO

    held = abs(pos.qty)
    closed = pos.qty if abs(qty) >= held else -qty
    # Releasing the whole basis on a full close keeps the rounding of a share out of a flat book.
    released = pos.cost_basis if closed == pos.qty else _div(pos.cost_basis * abs(closed), held)
    realized = _pnl(spec, closed, px, released)
    remaining = pos.qty - closed
    # A close leaves the average as it was: recomputing it from the remaining basis could move its
    # last digit, as the released share was rounded.
    after = Position(
        qty=remaining,
        avg_px=pos.avg_px if remaining != 0 else _ZERO,
        cost_basis=pos.cost_basis - released,
        realized_pnl=pos.realized_pnl + realized,
    )
    rest = qty + closed
    if rest != 0:
        after = _open(spec, after, rest, px)
    return after, realized


class LedgerPlan(NamedTuple):
    """What one event changes in a ledger: computed by the planning step, stored by ``_commit``."""

    spec: InstrumentSpec | None = None
    position: tuple[str, Position] | None = None
    #: the new balances of the currencies the event touches
    cash: dict[str, Decimal] | None = None
    fees: dict[str, Decimal] | None = None


# ── the fold ────────────────────────────────────────────────────────────────────────────────────


class Ledger:
    """Cash per currency, positions per instrument, fees and PnL, folded from events."""

    def __init__(self) -> None:
        self._instruments: dict[str, InstrumentSpec] = {}
        self._cash: dict[str, Decimal] = {}
        self._fees: dict[str, Decimal] = {}
        self._positions: dict[str, Position] = {}
        # each position's qty beside it, written with it: what a strategy asks on every tick
        self._quantities: dict[str, Decimal] = {}
        self._marks: dict[str, Decimal] = {}
        # The latest market event per instrument whose mark is not computed yet. A replay feeds
        # the ledger every tick but asks for a mark far less often: the mid's division and the
        # exact context are paid only when a mark is read.
        self._unmarked: dict[str, QuoteTick | TradeTick | Bar] = {}
        #: called before any mark is read: a kernel that holds back quotes on quiet ticks hands
        #: them over here, so every read sees the same marks as if each quote had been applied
        self.pull: Callable[[], None] | None = None

    def apply(self, event: Event) -> None:
        """Fold one journal event; events the ledger has no use for are ignored."""
        if type(event) is QuoteTick:
            bid, ask = event.bid, event.ask
            # _is_positive inlined: this branch runs once per tick of a replay
            if bid.is_finite() and ask.is_finite() and bid > _ZERO and ask > _ZERO:
                self._unmarked[event.instrument] = event
        elif type(event) is TradeTick:
            if _is_positive(event.price):
                self._unmarked[event.instrument] = event
        elif type(event) is Bar:
            if _is_positive(event.close):
                self._unmarked[event.instrument] = event
        elif type(event) is MarkPrice:
            self._resolve_marks()
            self._mark(event.instrument, event.price)
        else:
            writes = self._plan(event)
            if writes is not None:
                self._commit(writes)

    def check(self, event: Event) -> LedgerPlan | None:
        """Raise the LedgerError that :meth:`apply` would raise for ``event`` now; change nothing.

        Returns what the event would write (None when the ledger has no writes for it: market
        events and marks pass without a look), so that :meth:`commit` stores it without planning
        the same fill twice.
        """
        return self._plan(event)

    def commit(self, plan: LedgerPlan) -> None:
        """Store what :meth:`check` planned, with nothing folded in between (the kernel's order)."""
        self._commit(plan)

    def apply_last_quote(self, events: Sequence[QuoteTick | TradeTick | Bar], start: int, stop: int) -> None:
        """Fold ``events[start:stop]``, quotes of one instrument, as :meth:`apply` would one by one:
        each overwrites the last, so only the last one with a usable price leaves a trace."""
        for k in range(stop - 1, start - 1, -1):
            event = events[k]
            if type(event) is not QuoteTick:
                raise TypeError(f"apply_last_quote takes quotes only, not {type(event).__name__}")
            bid, ask = event.bid, event.ask
            if bid.is_finite() and ask.is_finite() and bid > _ZERO and ask > _ZERO:
                self._unmarked[event.instrument] = event
                return

    def _resolve_marks(self) -> None:
        if self.pull is not None:
            self.pull()
        if not self._unmarked:
            return
        pending, self._unmarked = self._unmarked, {}
        with localcontext(LEDGER_CONTEXT):
            for symbol, event in pending.items():
                if isinstance(event, QuoteTick):
                    try:
                        mid = (event.bid + event.ask) / 2
                    except DecimalException:
                        continue  # a mid beyond exact arithmetic is not a mark: never refuse a quote
                    self._mark(symbol, mid)
                else:
                    self._mark(symbol, event.price if isinstance(event, TradeTick) else event.close)

    def _plan(self, event: Event) -> LedgerPlan | None:
        """The writes ``event`` makes (None: it has no use for it), or the LedgerError it raises."""
        if isinstance(event, OrderFilled):
            return self._plan_fill(event)
        if isinstance(event, CashAdjusted):
            return self._plan_adjust(event)
        if isinstance(event, InstrumentDefined):
            return self._plan_define(event.spec)
        return None

    def _commit(self, writes: LedgerPlan) -> None:
        """Store a plan: plain assignments, which cannot fail halfway."""
        if writes.spec is not None:
            self._instruments[writes.spec.symbol] = writes.spec
        if writes.position is not None:
            symbol, position = writes.position
            self._positions[symbol] = position
            self._quantities[symbol] = position.qty
        if writes.cash:
            self._cash.update(writes.cash)
        if writes.fees:
            self._fees.update(writes.fees)

    # ── queries ──

    def cash(self, currency: str) -> Decimal:
        return self._cash.get(currency, _ZERO)

    def fees(self, currency: str) -> Decimal:
        """Fees paid in ``currency`` so far (negative when rebates exceed them)."""
        return self._fees.get(currency, _ZERO)

    def position(self, symbol: str) -> Position:
        """The position in ``symbol``; flat (all zero) when it has never traded."""
        return self._positions.get(symbol, _FLAT)

    def quantities(self) -> Mapping[str, Decimal]:
        """A live read-only view of every position's ``qty`` by symbol (a symbol never traded is
        absent): a reader keeps it and looks up, which costs one dict lookup per question."""
        return MappingProxyType(self._quantities)

    def mark(self, symbol: str) -> Decimal | None:
        """The latest mark price of ``symbol``, or None before the first one."""
        self._resolve_marks()
        return self._marks.get(symbol)

    @_exact
    def unrealized_pnl(self, symbol: str) -> Decimal:
        """Open PnL at the latest mark, in the currency of :attr:`Position.realized_pnl`.

        Zero when flat or not marked yet (the position is then valued at its entry).
        """
        self._resolve_marks()
        pos = self._positions.get(symbol)
        mark = self._marks.get(symbol)
        if pos is None or pos.qty == 0 or mark is None:
            return _ZERO
        return _pnl(self._instruments[symbol], pos.qty, mark, pos.cost_basis)

    @_exact
    def equity(self, currency: str) -> Decimal:
        """Cash plus marked spot holdings quoted in ``currency`` plus open PnL settled in it.

        Nothing held in another currency is converted.
        """
        self._resolve_marks()
        total = self.cash(currency)
        for symbol, pos in self._positions.items():
            spec = self._instruments[symbol]
            if spec.settles_in_cash and spec.quote == currency:
                total += pos.cost_basis + self.unrealized_pnl(symbol)
            elif not spec.settles_in_cash and spec.settle == currency:
                total += self.unrealized_pnl(symbol)
        return total

    def snapshot(self) -> LedgerSnapshot:
        self._resolve_marks()
        return LedgerSnapshot(
            instruments=dict(sorted(self._instruments.items())),
            cash=dict(sorted(self._cash.items())),
            fees=dict(sorted(self._fees.items())),
            positions=dict(sorted(self._positions.items())),
            marks=dict(sorted(self._marks.items())),
        )

    # ── planning steps: compute, never store ──

    @_exact
    def _plan_define(self, spec: InstrumentSpec) -> LedgerPlan:
        old = self._instruments.get(spec.symbol)
        pos = self._positions.get(spec.symbol, _FLAT)
        if old is not None and pos.qty != 0:
            changed = [f for f in _SETTLEMENT_FIELDS if getattr(old, f) != getattr(spec, f)]
            if changed:
                raise LedgerError(
                    f"{spec.symbol} redefined with a different {', '.join(changed)}"
                    f" while a position of {pos.qty} is open"
                )
        return LedgerPlan(spec=spec)

    @_exact
    def _plan_fill(self, fill: OrderFilled) -> LedgerPlan:
        spec = self._checked_spec(fill)
        qty = fill.last_qty * fill.side.sign
        before = self._positions.get(fill.instrument, _FLAT)
        after, realized = _trade(spec, before, qty, fill.last_px)
        if spec.settles_in_cash:
            currency, amount = spec.quote, -_entry_value(spec, qty, fill.last_px)
        else:
            currency, amount = spec.settle, realized
        # The balances the fill touches, in the order it touches them (a handful of currencies).
        cash: dict[str, Decimal] = {}
        fees: dict[str, Decimal] = {}
        self._add(cash, self._cash, currency, amount)
        # Venues report "no fee" with an empty currency; it must not open a "" cash balance.
        if fill.fee != 0:
            self._add(cash, self._cash, fill.fee_currency, -fill.fee)
            self._add(fees, self._fees, fill.fee_currency, fill.fee)
        return LedgerPlan(position=(fill.instrument, after), cash=cash, fees=fees)

    def _checked_spec(self, fill: OrderFilled) -> InstrumentSpec:
        """The fill's instrument, after checking all of the fill: a bad fill changes nothing."""
        spec = self._instruments.get(fill.instrument)
        what = f"fill {fill.trade_id!r} for {fill.instrument}"
        if spec is None:
            raise LedgerError(f"{what}: no InstrumentDefined event has defined the instrument")
        if not (_is_positive(fill.last_qty) and _is_positive(fill.last_px)):
            raise LedgerError(
                f"{what}: quantity {fill.last_qty} at price {fill.last_px}; both must be positive numbers"
            )
        if not fill.fee.is_finite() or (fill.fee != 0 and not fill.fee_currency):
            raise LedgerError(f"{what}: fee {fill.fee} in currency {fill.fee_currency!r}")
        return spec

    @_exact
    def _plan_adjust(self, event: CashAdjusted) -> LedgerPlan:
        if not event.amount.is_finite():
            raise LedgerError(f"cash adjustment of {event.amount} {event.currency} ({event.reason})")
        cash: dict[str, Decimal] = {}
        self._add(cash, self._cash, event.currency, event.amount)
        return LedgerPlan(cash=cash)

    def _mark(self, symbol: str, price: Decimal) -> None:
        if _is_positive(price):
            self._marks[symbol] = price

    @staticmethod
    def _add(touched: dict[str, Decimal], book: dict[str, Decimal], key: str, amount: Decimal) -> None:
        """Add ``amount`` to ``key``'s balance in ``touched``, starting from ``book``'s."""
        start = touched[key] if key in touched else book.get(key, _ZERO)
        touched[key] = start + amount


def fold(events: Iterable[Event], ledger: Ledger | None = None) -> Ledger:
    """Apply ``events`` in order to ``ledger`` (a fresh one by default) and return it."""
    out = Ledger() if ledger is None else ledger
    for event in events:
        out.apply(event)
    return out
