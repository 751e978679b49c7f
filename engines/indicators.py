"""Technical indicators for strategy authors: exact where arithmetic allows it, O(1) per update.

Every indicator is fed one observation at a time with ``update``, which returns the indicator's value, or
None while it is still warming up; ``value`` reads the latest value again, ``ready`` says whether there is
one, and ``period`` is fixed at construction. Inputs are :class:`~decimal.Decimal` or ``int`` (an int is
taken exactly); a float, a bool or a non-finite Decimal is refused, because each would make the result
depend on something other than the data.

Exactness (docs/indicators.md has the details):

* Sums, minima and maxima are exact: running sums live in :data:`EXACT_CONTEXT`, which has every digit
  there is, so a sum over a window equals a fresh sum to the last digit however long the series runs.
* A quotient is taken once per new sum, under :data:`VALUE_CONTEXT` (28 significant digits, half-even):
  the SMA is the correctly rounded ``sum / n``; an update that leaves the sum as it was keeps it.
* Recursive indicators (EMA, the Wilder averages of RSI and ATR) cannot be exact in bounded space (the
  exact EMA's denominator grows with every update), so their state is rounded once per update under
  :data:`STATE_CONTEXT` (50 digits), far below the 28 digits a value is read with.
* :func:`compare` and :class:`Cross` never compare rounded values: an SMA is compared as its exact
  ``sum / n`` by cross-multiplying, a recursive indicator as its 50-digit state.

None of it reads the thread's decimal context: every operation is a method of one of the contexts below, so
a strategy that changes its own context (or a library that changes the default one) changes nothing here.
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from typing import Final, Protocol, TypeAlias

import msgspec

from engines.decimals import INDICATOR_EXACT_CONTEXT, INDICATOR_STATE_CONTEXT, INDICATOR_VALUE_CONTEXT

__all__ = [
    "ATR",
    "EMA",
    "EXACT_CONTEXT",
    "RSI",
    "SMA",
    "STATE_CONTEXT",
    "VALUE_CONTEXT",
    "Bands",
    "BollingerBands",
    "Cross",
    "Indicator",
    "Mid",
    "Operand",
    "RollingMax",
    "RollingMin",
    "RollingSum",
    "compare",
]

EXACT_CONTEXT: Final = INDICATOR_EXACT_CONTEXT
"""Running sums, differences and the products of a comparison: never rounded (``Inexact`` is trapped)."""

STATE_CONTEXT: Final = INDICATOR_STATE_CONTEXT
"""The one rounding per update of a recursive indicator's state (EMA, RSI, ATR) and Bollinger's root."""

VALUE_CONTEXT: Final = INDICATOR_VALUE_CONTEXT
"""What ``update`` and ``value`` return: 28 significant digits, half-even, the decimal default."""

# bound once: looking a context method up on every call costs about half as much as the addition itself
_add: Final = EXACT_CONTEXT.add
_subtract: Final = EXACT_CONTEXT.subtract
_multiply: Final = EXACT_CONTEXT.multiply
_fma: Final = EXACT_CONTEXT.fma
_minus: Final = EXACT_CONTEXT.minus
_state_divide: Final = STATE_CONTEXT.divide
_state_multiply: Final = STATE_CONTEXT.multiply
_state_sqrt: Final = STATE_CONTEXT.sqrt
_divide: Final = VALUE_CONTEXT.divide
_round: Final = VALUE_CONTEXT.plus
_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
_TWO: Final = Decimal(2)
#: what an identity fast path compares against before the first observation: no caller holds this object
_UNSEEN: Final = Decimal("NaN")
_FIFTY: Final = Decimal(50)
_HUNDRED: Final = Decimal(100)


def _number(value: Decimal | int, what: str) -> Decimal:
    """``value`` as a finite Decimal, exactly; anything else is refused."""
    if isinstance(value, Decimal):
        if value.is_finite():
            return value
        raise ValueError(f"{what}: {value} is not a finite number")
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"{what} takes a Decimal or an int, not {type(value).__name__} ({value!r})")


def _period(name: str, period: int) -> int:
    if isinstance(period, bool) or not isinstance(period, int):
        raise TypeError(f"{name}: period must be an int, not {type(period).__name__} ({period!r})")
    if period < 1:
        raise ValueError(f"{name}: period must be at least 1, got {period}")
    return period


class Indicator:
    """Base of the indicators whose value is one number: what :func:`compare` and :class:`Cross` accept.

    Each keeps its unrounded value as ``_num / _den`` (``_den > 0``), up to date after every update, so a
    comparison reads two attributes instead of calling anything.
    """

    __slots__ = ("_den", "_n", "_num", "_ready")

    _n: int
    _num: Decimal
    _den: Decimal
    _ready: bool

    def __init__(self, name: str, period: int) -> None:
        self._n = _period(name, period)
        self._num = _ZERO
        self._den = _ONE
        self._ready = False

    @property
    def period(self) -> int:
        """The number of observations the indicator looks back over, fixed at construction."""
        return self._n

    @property
    def ready(self) -> bool:
        """Whether the indicator has a value (it has seen enough observations)."""
        return self._ready

    @property
    def value(self) -> Decimal | None:
        """The latest value, as ``update`` last returned it; None while warming up."""
        return _divide(self._num, self._den) if self._ready else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(period={self._n}, value={self.value})"


# ── windows: exact ──────────────────────────────────────────────────────────────────────────────


class RollingSum(Indicator):
    """The sum of the last ``period`` observations, exact."""

    __slots__ = ("_window",)

    def __init__(self, period: int) -> None:
        super().__init__("RollingSum", period)
        self._window: deque[Decimal] = deque()

    def update(self, value: Decimal | int) -> Decimal | None:
        x = value if type(value) is Decimal and value.is_finite() else _number(value, "RollingSum.update")
        window = self._window
        if self._ready:
            self._num = total = _add(_subtract(self._num, window.popleft()), x)
            window.append(x)
            return total
        window.append(x)
        self._num = total = _add(self._num, x)
        if len(window) < self._n:
            return None
        self._ready = True
        return total

    @property
    def value(self) -> Decimal | None:
        return self._num if self._ready else None


class SMA(Indicator):
    """Simple moving average of the last ``period`` observations: the correctly rounded ``sum / period``.

    The sum is exact (``sum`` reads it); the one division happens when the sum changes, and
    :func:`compare` never divides at all.
    """

    __slots__ = ("_last", "_value", "_window")

    def __init__(self, period: int) -> None:
        super().__init__("SMA", period)
        self._den = Decimal(self._n)
        self._window: deque[Decimal] = deque()
        self._value: Decimal | None = None
        # the previous observation, checked then: the same object again needs no second check
        self._last = _UNSEEN

    def update(self, value: Decimal | int) -> Decimal | None:
        if value is self._last:
            x = self._last
        else:
            x = value if type(value) is Decimal and value.is_finite() else _number(value, "SMA.update")
            self._last = x
        window = self._window
        if self._ready:
            old = window.popleft()
            window.append(x)
            # A quote stream repeats its mid far more often than it moves it. When the observation
            # leaving the window equals the one entering it with the same exponent (first by
            # identity: a mid from Mid, or a price the data reader shares, repeats as one object),
            # the exact sum would come out digit for digit what it is (its exponent is already at
            # most every exponent it took in, and an exact zero is +0), so the sum, the very same
            # object, and its value stay as they are; Cross sees the unchanged object and does not
            # compare again.
            if x is old or (x == old and x.same_quantum(old)):
                return self._value
            self._num = total = _add(_subtract(self._num, old), x)
            self._value = average = _divide(total, self._den)
            return average
        window.append(x)
        self._num = total = _add(self._num, x)
        if len(window) < self._n:
            return None
        self._ready = True
        self._value = average = _divide(total, self._den)
        return average

    @property
    def value(self) -> Decimal | None:
        """The latest value, as ``update`` last returned it; None while warming up."""
        return self._value

    @property
    def sum(self) -> Decimal | None:
        """The exact sum of the window, once it is full."""
        return self._num if self._ready else None


class _Quote(Protocol):
    """What :class:`Mid` reads of a quote (a ``QuoteTick``, or anything with a bid and an ask)."""

    @property
    def bid(self) -> Decimal: ...

    @property
    def ask(self) -> Decimal: ...


class Mid(Indicator):
    """The mid price of a quote, ``(bid + ask) / 2``: the sum exact, the value correctly rounded to 28
    digits (what ``(quote.bid + quote.ask) / 2`` gives under the default context, for any price with
    fewer digits). :func:`compare` and :class:`Cross` read it unrounded, as ``(bid + ask) / 2``.

    A quote stream mostly changes sizes, not prices: a quote whose bid and ask are the very objects of
    the previous one (the data reader shares equal prices) returns the previous mid, the same object,
    without any arithmetic; an :class:`SMA` fed with it then skips its arithmetic too.
    """

    __slots__ = ("_ask", "_bid", "_value")

    def __init__(self) -> None:
        super().__init__("Mid", 1)
        self._den = _TWO
        self._bid = self._ask = self._value = _UNSEEN

    def update(self, quote: _Quote) -> Decimal:
        bid, ask = quote.bid, quote.ask
        if bid is self._bid and ask is self._ask:
            return self._value
        b = bid if type(bid) is Decimal and bid.is_finite() else _number(bid, "Mid.update (bid)")
        a = ask if type(ask) is Decimal and ask.is_finite() else _number(ask, "Mid.update (ask)")
        self._num = total = _add(b, a)
        self._value = mid = _divide(total, _TWO)
        self._bid, self._ask, self._ready = bid, ask, True
        return mid

    @property
    def value(self) -> Decimal | None:
        return self._value if self._ready else None


class _Extremum(Indicator):
    """A rolling minimum or maximum over a monotonic deque: amortised O(1), each value in and out once."""

    __slots__ = ("_count", "_deque", "_evicts")

    #: the name in messages
    _NAME = ""

    def __init__(self, period: int, evicts: Callable[[Decimal, Decimal], bool]) -> None:
        super().__init__(self._NAME, period)
        #: whether ``newer`` makes ``older`` useless: ``newer <= older`` for a minimum, ``>=`` a maximum
        self._evicts = evicts
        # (index, value), values strictly monotonic from the front (the extremum) to the back
        self._deque: deque[tuple[int, Decimal]] = deque()
        self._count = 0

    def update(self, value: Decimal | int) -> Decimal | None:
        x = value if type(value) is Decimal and value.is_finite() else _number(value, f"{self._NAME}.update")
        queue = self._deque
        evicts = self._evicts
        # an older value that the newer one equals or beats can never be the extremum again: it leaves
        # the window first
        while queue and evicts(x, queue[-1][1]):
            queue.pop()
        index = self._count
        queue.append((index, x))
        self._count = index + 1
        if queue[0][0] <= index - self._n:
            queue.popleft()
        self._num = extremum = queue[0][1]
        if not self._ready:
            if self._count < self._n:
                return None
            self._ready = True
        return extremum

    @property
    def value(self) -> Decimal | None:
        return self._num if self._ready else None


class RollingMin(_Extremum):
    """The smallest of the last ``period`` observations, exact."""

    __slots__ = ()
    _NAME = "RollingMin"

    def __init__(self, period: int) -> None:
        super().__init__(period, operator.le)


class RollingMax(_Extremum):
    """The largest of the last ``period`` observations, exact."""

    __slots__ = ()
    _NAME = "RollingMax"

    def __init__(self, period: int) -> None:
        super().__init__(period, operator.ge)


# ── recursive: one rounding per update ──────────────────────────────────────────────────────────


class EMA(Indicator):
    """Exponential moving average, ``alpha = 2 / (period + 1)``, seeded with the SMA of the first ``period``.

    ``EMA[t] = EMA[t-1] + alpha * (x[t] - EMA[t-1]) = (2 x[t] + (period - 1) EMA[t-1]) / (period + 1)``;
    the numerator is exact and the division is the state's one rounding (50 digits) per update.
    """

    __slots__ = ("_count", "_divisor", "_weight")

    def __init__(self, period: int) -> None:
        super().__init__("EMA", period)
        self._count = 0
        self._weight = Decimal(self._n - 1)
        self._divisor = Decimal(self._n + 1)
        # _num: the exact sum of the first observations while warming up, then the EMA itself

    def update(self, value: Decimal | int) -> Decimal | None:
        x = value if type(value) is Decimal and value.is_finite() else _number(value, "EMA.update")
        if self._ready:
            self._num = state = _state_divide(_fma(self._num, self._weight, _add(x, x)), self._divisor)
            return _round(state)
        self._count += 1
        self._num = _add(self._num, x)
        if self._count < self._n:
            return None
        self._num = state = _state_divide(self._num, self._n)
        self._ready = True
        return _round(state)

    @property
    def value(self) -> Decimal | None:
        return _round(self._num) if self._ready else None


def _wilder(smoothed: Decimal, n: int, x: Decimal) -> Decimal:
    """One step of Wilder's smoothing on ``smoothed = n * average``: ``(smoothed (n-1) + n x) / n``."""
    return _state_divide(_fma(smoothed, n - 1, _multiply(x, n)), n)


class RSI(Indicator):
    """Relative strength index with Wilder's smoothing, in [0, 100].

    Over the changes ``d = x[t] - x[t-1]``: gains ``max(d, 0)`` and losses ``max(-d, 0)`` are averaged,
    first as the plain mean of the first ``period`` changes (so ``period + 1`` observations warm it up),
    then ``avg = (avg * (period - 1) + new) / period``. ``RSI = 100 * avg_gain / (avg_gain + avg_loss)``,
    which is ``100 - 100 / (1 + RS)`` without dividing by a zero loss: 100 when nothing fell, 0 when
    nothing rose, and 50 when nothing moved at all (no gain and no loss is neither overbought nor oversold).
    """

    __slots__ = ("_changes", "_gain", "_loss", "_previous")

    def __init__(self, period: int = 14) -> None:
        super().__init__("RSI", period)
        self._previous: Decimal | None = None
        self._changes = 0
        # period * the average gain and loss: exact sums while warming up, so the seed never divides
        self._gain = _ZERO
        self._loss = _ZERO

    def update(self, value: Decimal | int) -> Decimal | None:
        x = value if type(value) is Decimal and value.is_finite() else _number(value, "RSI.update")
        previous, self._previous = self._previous, x
        if previous is None:
            return None
        change = _subtract(x, previous)
        gain = change if change > _ZERO else _ZERO
        loss = _minus(change) if change < _ZERO else _ZERO
        n = self._n
        if self._ready:
            self._gain = _wilder(self._gain, n, gain)
            self._loss = _wilder(self._loss, n, loss)
        else:
            self._changes += 1
            self._gain = _add(self._gain, gain)
            self._loss = _add(self._loss, loss)
            if self._changes < n:
                return None
            self._ready = True
        total = _add(self._gain, self._loss)
        if total:
            self._num = _multiply(self._gain, _HUNDRED)
            self._den = total
        else:
            self._num = _FIFTY
            self._den = _ONE
        return _divide(self._num, self._den)


class ATR(Indicator):
    """Average true range with Wilder's smoothing.

    The true range of a bar is ``max(high, prev_close) - min(low, prev_close)`` (equivalently the largest of
    ``high - low``, ``|high - prev_close|``, ``|low - prev_close|``); the first bar has no previous close
    and its true range is ``high - low``. The first value is the plain mean of the first ``period`` true
    ranges (``period`` bars warm it up), then ``atr = (atr * (period - 1) + tr) / period``.
    """

    __slots__ = ("_bars", "_close")

    def __init__(self, period: int = 14) -> None:
        super().__init__("ATR", period)
        self._den = Decimal(self._n)
        self._close: Decimal | None = None
        self._bars = 0
        # _num is period * ATR: the exact sum of the true ranges while warming up

    def update(self, high: Decimal | int, low: Decimal | int, close: Decimal | int) -> Decimal | None:
        """Feed one bar (``atr.update(bar.high, bar.low, bar.close)``)."""
        h = _number(high, "ATR.update high")
        lo = _number(low, "ATR.update low")
        c = _number(close, "ATR.update close")
        if h < lo:
            raise ValueError(f"ATR.update: high {h} is below low {lo}")
        previous, self._close = self._close, c
        top, bottom = (h, lo) if previous is None else (max(h, previous), min(lo, previous))
        true_range = _subtract(top, bottom)
        n = self._n
        if self._ready:
            self._num = _wilder(self._num, n, true_range)
        else:
            self._bars += 1
            self._num = _add(self._num, true_range)
            if self._bars < n:
                return None
            self._ready = True
        return _divide(self._num, self._den)


# ── Bollinger bands ─────────────────────────────────────────────────────────────────────────────


class Bands(msgspec.Struct, frozen=True):
    """Bollinger bands: ``middle`` is the SMA, ``upper``/``lower`` are ``k`` standard deviations away."""

    lower: Decimal
    middle: Decimal
    upper: Decimal


class BollingerBands:
    """The SMA of the last ``period`` observations and ``k`` population standard deviations either side.

    ``variance = (period * sum(x^2) - sum(x)^2) / period^2`` from exact running sums (so it is exactly
    zero on a constant window, never a rounding residue below it); ``std = sqrt(...) / period``, the root
    and the bands rounded under :data:`STATE_CONTEXT`, then each band once to :data:`VALUE_CONTEXT`.
    ``middle`` equals ``SMA(period).value`` to the digit, and a window without variance has
    ``lower == middle == upper``.
    """

    __slots__ = ("_k", "_n", "_squares", "_sum", "_window")

    def __init__(self, period: int = 20, k: Decimal | int = 2) -> None:
        self._n = _period("BollingerBands", period)
        self._k = _number(k, "BollingerBands k")
        if self._k < 0:
            raise ValueError(f"BollingerBands: k must not be negative, got {k}")
        self._window: deque[Decimal] = deque()
        self._sum = _ZERO
        self._squares = _ZERO

    @property
    def period(self) -> int:
        return self._n

    @property
    def k(self) -> Decimal:
        """How many standard deviations the bands lie from the middle."""
        return self._k

    def update(self, value: Decimal | int) -> Bands | None:
        x = _number(value, "BollingerBands.update")
        window = self._window
        if len(window) == self._n:
            old = window.popleft()
            self._sum = _subtract(self._sum, old)
            self._squares = _subtract(self._squares, _multiply(old, old))
        window.append(x)
        self._sum = _add(self._sum, x)
        self._squares = _fma(x, x, self._squares)
        return self._read() if len(window) == self._n else None

    def _read(self) -> Bands:
        n = self._n
        total = self._sum
        middle = _divide(total, n)
        # n^2 * variance, exact and never negative
        spread = _subtract(_multiply(self._squares, n), _multiply(total, total))
        if not spread or not self._k:
            return Bands(middle, middle, middle)
        width = _state_divide(_state_multiply(self._k, _state_sqrt(spread)), n)
        centre = _state_divide(total, n)
        return Bands(
            lower=_round(_subtract(centre, width)),
            middle=middle,
            upper=_round(_add(centre, width)),
        )

    @property
    def ready(self) -> bool:
        return len(self._window) == self._n

    @property
    def value(self) -> Bands | None:
        return self._read() if len(self._window) == self._n else None

    def __repr__(self) -> str:
        return f"BollingerBands(period={self._n}, k={self._k}, value={self.value})"


# ── comparisons and crosses ─────────────────────────────────────────────────────────────────────

Operand: TypeAlias = Indicator | Decimal | int | None
"""What :func:`compare` and :class:`Cross` take: an indicator (its unrounded value), a number, or None."""


def compare(a: Operand, b: Operand) -> int | None:
    """The exact sign of ``a - b``: -1, 0 or 1; None when either is None or a warming-up indicator.

    Indicators are compared by their unrounded values, cross-multiplied (``SMA(10)`` against ``SMA(30)``
    compares ``sum10 * 30`` with ``sum30 * 10``), so two averages that are equal compare equal even when
    their rounded values could not show it.
    """
    if isinstance(a, Indicator):
        if not a._ready:
            return None
        a_num, a_den = a._num, a._den
    elif a is None:
        return None
    else:
        a_num, a_den = _number(a, "compare"), _ONE
    if isinstance(b, Indicator):
        if not b._ready:
            return None
        b_num, b_den = b._num, b._den
    elif b is None:
        return None
    else:
        b_num, b_den = _number(b, "compare"), _ONE
    if a_den != b_den:
        # exact products: a / a_den against b / b_den, both denominators positive
        a_num, b_num = _multiply(a_num, b_den), _multiply(b_num, a_den)
    return 1 if a_num > b_num else -1 if a_num < b_num else 0


class Cross:
    """Detects ``a`` crossing ``b`` between two consecutive updates, compared exactly.

    With ``r[t]`` the sign of ``a - b`` at update t (:func:`compare`), ``update`` returns:

    * ``1`` (crossed above) when ``r[t-1] == -1`` and ``r[t] == 1``,
    * ``-1`` (crossed below) when ``r[t-1] == 1`` and ``r[t] == -1``,
    * ``0`` otherwise, and None when ``r[t]`` or ``r[t-1]`` is undefined (the first update, or an operand
      that is None or still warming up).

    Ties are not crossings: below, equal, above is a *touch* followed by a move up, and returns 0 at both
    steps (as does below, equal, below). ``relation`` gives ``r[t]`` for a strategy that wants to act on
    touches itself.
    """

    __slots__ = (
        "_a",
        "_a_den",
        "_a_num",
        "_b",
        "_b_den",
        "_b_num",
        "_left",
        "_relation",
        "_result",
        "_right",
    )

    def __init__(self) -> None:
        self._relation: int | None = None
        self._result: int | None = None
        # Between two ready indicators, what the last relation was computed from: the indicators,
        # their unrounded values (numerators and denominators, kept by identity: an indicator whose
        # window did not change keeps its objects) and the two sides compared (the cross-multiplied
        # numerators). A side whose inputs are the very same objects is not multiplied again.
        self._a: Indicator | None = None
        self._b: Indicator | None = None
        self._a_num = self._a_den = self._b_num = self._b_den = self._left = self._right = _ZERO

    @property
    def period(self) -> int:
        """A cross looks at two consecutive observations."""
        return 2

    def update(self, a: Operand, b: Operand) -> int | None:
        last_a, last_b = self._a, self._b
        relation: int | None
        if a is last_a and b is last_b and last_a is not None and last_b is not None:
            # the same two (ready) indicators as last time, the hot path of a strategy
            a_num, a_den, b_num, b_den = last_a._num, last_a._den, last_b._num, last_b._den
            if a_den is self._a_den and b_den is self._b_den:
                a_kept = a_num is self._a_num
                b_kept = b_num is self._b_num
                if a_kept and b_kept:
                    # the very values of the last update: the same relation, and one that held is
                    # no cross
                    self._result = 0
                    return 0
                if a_den is b_den or a_den == b_den:
                    left, right = a_num, b_num
                else:
                    left = self._left if a_kept else _multiply(a_num, b_den)
                    right = self._right if b_kept else _multiply(b_num, a_den)
                self._a_num, self._b_num, self._left, self._right = a_num, b_num, left, right
                relation = 1 if left > right else -1 if left < right else 0
                previous, self._relation = self._relation, relation
                # previous is defined: it was computed from these two indicators, ready then
                self._result = (previous < 0 < relation) - (previous > 0 > relation)  # type: ignore[operator]
                return self._result
        if isinstance(a, Indicator) and isinstance(b, Indicator) and a._ready and b._ready:
            a_num, a_den, b_num, b_den = a._num, a._den, b._num, b._den
            if a_den is b_den or a_den == b_den:
                left, right = a_num, b_num
            else:
                # exact products, as compare() makes them: a / a_den against b / b_den
                left, right = _multiply(a_num, b_den), _multiply(b_num, a_den)
            self._a, self._b, self._left, self._right = a, b, left, right
            self._a_num, self._a_den, self._b_num, self._b_den = a_num, a_den, b_num, b_den
            relation = 1 if left > right else -1 if left < right else 0
        else:
            self._a = self._b = None
            relation = compare(a, b)
        previous, self._relation = self._relation, relation
        if relation is None or previous is None:
            self._result = None
        else:
            self._result = (previous < 0 < relation) - (previous > 0 > relation)
        return self._result

    @property
    def ready(self) -> bool:
        return self._result is not None

    @property
    def value(self) -> int | None:
        """What ``update`` last returned."""
        return self._result

    @property
    def relation(self) -> int | None:
        """The sign of ``a - b`` at the last update (-1 below, 0 equal, 1 above), None if undefined."""
        return self._relation

    @property
    def crossed_above(self) -> bool:
        """Whether the last update was a cross from strictly below to strictly above."""
        return self._result == 1

    @property
    def crossed_below(self) -> bool:
        """Whether the last update was a cross from strictly above to strictly below."""
        return self._result == -1

    def __repr__(self) -> str:
        return f"Cross(relation={self._relation}, value={self._result})"
