"""The indicators against a brute-force recomputation over the whole history in exact Fractions.

Windows (sums, SMA, min, max) must match exactly: the SMA's value is the exact mean correctly rounded to
28 digits, computed here independently. Recursive indicators (EMA, RSI, ATR) and Bollinger's root may
differ from the exact value only by the documented roundings: half a unit in the 28th digit of the value,
plus state roundings far below 1e-40 of the inputs' magnitude.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_DOWN, Context, Decimal, localcontext
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engines.indicators import (
    ATR,
    EMA,
    RSI,
    SMA,
    BollingerBands,
    Cross,
    Mid,
    RollingMax,
    RollingMin,
    RollingSum,
    compare,
)

PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Number = Decimal | int

#: few digits, so windows tie and repeat often
SMALL = st.one_of(
    st.integers(-1000, 1000),
    st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False, allow_infinity=False),
)
#: more digits than the 28 a value is read with: the sums must stay exact anyway
WIDE = st.builds(lambda i, e: Decimal(f"{i}E{e}"), st.integers(-(10**40), 10**40), st.integers(-30, 5))
VALUES = st.lists(st.one_of(SMALL, SMALL, WIDE), max_size=80)
PERIODS = st.integers(1, 12)

VALUE_DIGITS = 28
#: the value is rounded once to 28 digits: at most half a unit in its last place, 5e-28 of its size
VALUE_ROUNDING = Fraction(1, 10**27)
#: what the 50-digit state roundings may add, relative to the largest input seen
STATE_ROUNDING = Fraction(1, 10**40)


def rounded(q: Fraction, digits: int = VALUE_DIGITS) -> Fraction:
    """``q`` correctly rounded (half-even) to ``digits`` significant digits."""
    if q == 0:
        return q
    size = abs(q)
    exponent = len(str(size.numerator)) - len(str(size.denominator)) - digits
    while size / Fraction(10) ** exponent >= 10**digits:
        exponent += 1
    while size / Fraction(10) ** exponent < 10 ** (digits - 1):
        exponent -= 1
    return round(q / Fraction(10) ** exponent) * Fraction(10) ** exponent  # round() of a Fraction: half-even


def exact(x: Number | None) -> Fraction:
    assert x is not None
    return Fraction(x)


def close_enough(got: Decimal | None, want: Fraction, scale: Fraction) -> bool:
    assert got is not None
    g = Fraction(got)
    return abs(g - want) <= VALUE_ROUNDING * max(abs(g), abs(want)) + STATE_ROUNDING * scale


def means(xs: Sequence[Number], n: int) -> list[Fraction | None]:
    return [
        sum(map(Fraction, xs[t + 1 - n : t + 1]), Fraction(0)) / n if t + 1 >= n else None
        for t in range(len(xs))
    ]


def sign(q: Fraction) -> int:
    return (q > 0) - (q < 0)


# ── windows: exact ──────────────────────────────────────────────────────────────────────────────


@PROPS
@given(VALUES, PERIODS)
def test_windows_equal_a_fresh_computation_exactly(xs: list[Number], n: int) -> None:
    total, low, high, average = RollingSum(n), RollingMin(n), RollingMax(n), SMA(n)
    for t, x in enumerate(xs):
        results = (total.update(x), low.update(x), high.update(x), average.update(x))
        if t + 1 < n:
            assert results == (None, None, None, None)
            assert not (total.ready or low.ready or high.ready or average.ready)
            continue
        window = [Fraction(v) for v in xs[t + 1 - n : t + 1]]
        assert exact(results[0]) == sum(window) == exact(total.value) == exact(average.sum)
        assert exact(results[1]) == min(window) == exact(low.value)
        assert exact(results[2]) == max(window) == exact(high.value)
        assert exact(results[3]) == rounded(sum(window, Fraction(0)) / n) == exact(average.value)


# ── recursive: within the documented roundings ──────────────────────────────────────────────────


@PROPS
@given(VALUES, PERIODS)
def test_ema_is_the_exact_recursion_within_the_roundings(xs: list[Number], n: int) -> None:
    ema = EMA(n)
    alpha = Fraction(2, n + 1)
    state: Fraction | None = None
    for t, x in enumerate(xs):
        got = ema.update(x)
        if t + 1 < n:
            assert got is None
            continue
        if state is None:
            state = sum(map(Fraction, xs[:n]), Fraction(0)) / n
        else:
            state += alpha * (Fraction(x) - state)
        scale = max(abs(Fraction(v)) for v in xs[: t + 1])
        assert close_enough(got, state, scale), (got, float(state))
        assert got == ema.value


def reference_rsi(xs: Sequence[Number], n: int) -> list[Fraction | None]:
    out: list[Fraction | None] = [None]
    gains: list[Fraction] = []
    losses: list[Fraction] = []
    avg_gain = avg_loss = Fraction(0)
    for t in range(1, len(xs)):
        change = Fraction(xs[t]) - Fraction(xs[t - 1])
        gains.append(max(change, Fraction(0)))
        losses.append(max(-change, Fraction(0)))
        if len(gains) < n:
            out.append(None)
            continue
        if len(gains) == n:
            avg_gain, avg_loss = sum(gains, Fraction(0)) / n, sum(losses, Fraction(0)) / n
        else:
            avg_gain = (avg_gain * (n - 1) + gains[-1]) / n
            avg_loss = (avg_loss * (n - 1) + losses[-1]) / n
        if avg_gain + avg_loss == 0:
            out.append(Fraction(50))
        elif avg_loss == 0:
            out.append(Fraction(100))
        else:
            out.append(100 - 100 / (1 + avg_gain / avg_loss))
    return out[: len(xs)]


@PROPS
@given(VALUES, PERIODS)
def test_rsi_is_wilders_within_the_roundings(xs: list[Number], n: int) -> None:
    rsi = RSI(n)
    for got, want in zip([rsi.update(x) for x in xs], reference_rsi(xs, n), strict=True):
        if want is None:
            assert got is None
        else:
            assert got is not None and 0 <= got <= 100
            assert close_enough(got, want, Fraction(100)), (got, float(want))


BARS = st.lists(st.tuples(SMALL, SMALL, SMALL), max_size=60)


@PROPS
@given(BARS, PERIODS)
def test_atr_is_wilders_true_range_within_the_roundings(rows: list[tuple[Number, ...]], n: int) -> None:
    # a bar from three numbers: high the largest, low the smallest, close the other
    bars = [tuple(sorted(row, key=Fraction)) for row in rows]
    atr = ATR(n)
    ranges: list[Fraction] = []
    average = Fraction(0)
    for t, (low, close, high) in enumerate(bars):
        got = atr.update(high, low, close)
        if t == 0:
            ranges.append(Fraction(high) - Fraction(low))
        else:
            previous = Fraction(bars[t - 1][1])
            ranges.append(
                max(
                    Fraction(high) - Fraction(low),
                    abs(Fraction(high) - previous),
                    abs(Fraction(low) - previous),
                )
            )
        if t + 1 < n:
            assert got is None
            continue
        average = sum(ranges, Fraction(0)) / n if t + 1 == n else (average * (n - 1) + ranges[-1]) / n
        assert close_enough(got, average, max(ranges)), (got, float(average))


def sqrt_fraction(q: Fraction) -> Fraction:
    """The square root of a non-negative Fraction, to 1e-60 relative."""
    scale = 10**60
    return Fraction(math.isqrt(q.numerator * q.denominator * scale * scale), q.denominator * scale)


@PROPS
@given(VALUES, PERIODS, st.sampled_from([0, 1, 2, Decimal("2.5"), Decimal("0.1")]))
def test_bollinger_is_mean_and_population_deviation(xs: list[Number], n: int, k: Number) -> None:
    bands = BollingerBands(n, k)
    for t, x in enumerate(xs):
        got = bands.update(x)
        if t + 1 < n:
            assert got is None
            continue
        assert got is not None and got == bands.value
        window = [Fraction(v) for v in xs[t + 1 - n : t + 1]]
        mean = sum(window, Fraction(0)) / n
        variance = sum(((v - mean) ** 2 for v in window), Fraction(0)) / n
        width = Fraction(k) * sqrt_fraction(variance)
        scale = max(abs(v) for v in window) * (1 + Fraction(k))
        assert Fraction(got.middle) == rounded(mean)
        assert close_enough(got.upper, mean + width, scale), (got, float(mean + width))
        assert close_enough(got.lower, mean - width, scale), (got, float(mean - width))
        assert got.lower <= got.middle <= got.upper
        if variance == 0 or k == 0:
            assert got.lower == got.middle == got.upper


# ── comparisons and crosses: exact ──────────────────────────────────────────────────────────────


def brute_crosses(relations: Sequence[int | None]) -> list[int | None]:
    """The definition: +1 iff strictly below at the previous update and strictly above now."""
    out: list[int | None] = []
    for t, now in enumerate(relations):
        before = relations[t - 1] if t else None
        if now is None or before is None:
            out.append(None)
        elif before == -1 and now == 1:
            out.append(1)
        elif before == 1 and now == -1:
            out.append(-1)
        else:
            out.append(0)
    return out


@PROPS
@given(st.lists(st.one_of(st.none(), st.tuples(st.integers(-2, 2), st.integers(-2, 2))), max_size=60))
def test_cross_of_numbers_is_the_definition(pairs: list[tuple[int, int] | None]) -> None:
    cross = Cross()
    relations = [None if p is None else sign(Fraction(p[0] - p[1])) for p in pairs]
    got = [cross.update(*(p if p is not None else (None, 0))) for p in pairs]
    assert got == brute_crosses(relations)


TIES = st.lists(
    st.one_of(st.integers(0, 4), st.sampled_from([Decimal("1.5"), Decimal("2.50"), Decimal(3)])), max_size=80
)


@PROPS
@given(TIES, st.integers(1, 6), st.integers(1, 9))
def test_sma_cross_compares_exact_means(xs: list[Number], fast_n: int, slow_n: int) -> None:
    fast, slow, cross = SMA(fast_n), SMA(slow_n), Cross()
    fast_means, slow_means = means(xs, fast_n), means(xs, slow_n)
    relations = [
        None if f is None or s is None else sign(f - s) for f, s in zip(fast_means, slow_means, strict=True)
    ]
    got = []
    for t, x in enumerate(xs):
        fast.update(x)
        slow.update(x)
        assert compare(fast, slow) == relations[t]
        got.append(cross.update(fast, slow))
        assert cross.relation == relations[t]
    assert got == brute_crosses(relations)


@PROPS
@given(TIES, st.integers(1, 6), st.integers(-1, 5))
def test_price_against_its_average_and_a_level(xs: list[Number], n: int, level: int) -> None:
    average = SMA(n)
    for t, x in enumerate(xs):
        average.update(x)
        mean = means(xs, n)[t]
        assert compare(x, average) == (None if mean is None else sign(Fraction(x) - mean))
        assert compare(average, level) == (None if mean is None else sign(mean - level))


# ── shared objects: the identity fast paths change no digit ─────────────────────────────────────

#: a small pool of objects, equal values among them with different exponents, so a stream repeats the
#: very same objects (as the data reader's shared prices do) and also equal values that are not
POOL = [
    Decimal("1"),
    Decimal("1.0"),
    Decimal("1.00"),
    Decimal("2.5"),
    Decimal("2.50"),
    Decimal(0),
    Decimal("-0"),
]


@PROPS
@given(st.lists(st.integers(0, len(POOL) - 1), max_size=60), PERIODS, PERIODS)
def test_shared_objects_give_the_digits_of_fresh_ones(picks: list[int], n: int, m: int) -> None:
    shared = [POOL[k] for k in picks]
    fresh = [Decimal(str(POOL[k])) for k in picks]  # equal, same digits, never the same object
    assert [str(v) for v in run_windows(shared, n, m)] == [str(v) for v in run_windows(fresh, n, m)]


def run_windows(xs: Sequence[Decimal], n: int, m: int) -> list[object]:
    """Every output; the mid and each sum checked digit for digit (exponent, sign of zero) against the
    plain arithmetic with no fast path: the half sum, and a running sum that always subtracts and adds."""
    fast, slow, cross, mid = SMA(n), SMA(m), Cross(), Mid()
    out: list[object] = []
    prices: list[Decimal] = []
    running = [Decimal(0), Decimal(0)]
    exact_sums = Context(prec=100)
    for t, (bid, ask) in enumerate(zip(xs, [*xs[1:], *xs[:1]], strict=True)):
        price = mid.update(_Quote(bid, abs(bid) + abs(ask)))
        assert str(price) == str((bid + abs(bid) + abs(ask)) / 2)
        prices.append(price)
        out += [price, fast.update(price), slow.update(bid), fast.sum, slow.sum, cross.update(fast, slow)]
        for k, (period, indicator, seen) in enumerate(((n, fast, prices), (m, slow, xs))):
            total = exact_sums.add(running[k], seen[t])
            if t >= period:
                total = exact_sums.subtract(total, seen[t - period])
            running[k] = total
            if t + 1 >= period:
                assert str(indicator.sum) == str(total)
    return out


class _Quote:
    def __init__(self, bid: Decimal, ask: Decimal) -> None:
        self.bid = bid
        self.ask = ask


@PROPS
@given(st.lists(st.tuples(SMALL, SMALL), max_size=40))
def test_mid_is_the_rounded_half_sum_and_compares_exactly(quotes: list[tuple[Number, Number]]) -> None:
    mid = Mid()
    for bid, ask in quotes:
        half = (Fraction(bid) + Fraction(ask)) / 2
        assert exact(mid.update(_Quote(Decimal(bid), Decimal(ask)))) == rounded(half)
        assert compare(mid, 0) == sign(half)
        assert str(mid.value) == str((Decimal(bid) + Decimal(ask)) / 2)  # what the default context gives


# ── the caller's decimal context changes nothing ────────────────────────────────────────────────


def run_all(xs: Sequence[Number], n: int) -> list[object]:
    out: list[object] = []
    indicators = (SMA(n), EMA(n), RSI(n), RollingSum(n), RollingMin(n), RollingMax(n), BollingerBands(n))
    atr, cross, fast = ATR(n), Cross(), SMA(1)
    for x in xs:
        out.extend(indicator.update(x) for indicator in indicators)
        out.append(atr.update(x, x, x))
        fast.update(x)
        out.append(cross.update(fast, indicators[0]))
    return out


@settings(max_examples=100, deadline=None)
@given(VALUES, PERIODS)
def test_results_do_not_depend_on_the_callers_context(xs: list[Number], n: int) -> None:
    expected = run_all(xs, n)
    with localcontext(Context(prec=3, rounding=ROUND_DOWN, Emin=-5, Emax=5)):
        assert run_all(xs, n) == expected
