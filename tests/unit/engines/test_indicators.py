"""Edge cases of the indicators: validation, warm-up, ties, degenerate series, hand-computed values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import ROUND_UP, Context, Decimal, localcontext
from typing import Any

import pytest

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

D = Decimal
SCALARS: list[Callable[[int], Indicator]] = [SMA, EMA, RSI, RollingSum, RollingMin, RollingMax]


def feed(
    indicator: SMA | EMA | RSI | RollingSum | RollingMin | RollingMax, xs: Sequence[Decimal | int]
) -> list[object]:
    return [indicator.update(x) for x in xs]


# ── construction and inputs ─────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("make", [*SCALARS, ATR, BollingerBands], ids=lambda f: f.__name__)
@pytest.mark.parametrize("period", [0, -1, -30])
def test_a_period_below_one_is_refused_by_name(make: Callable[[int], object], period: int) -> None:
    with pytest.raises(ValueError, match=rf"^{make.__name__}: period must be at least 1, got {period}$"):
        make(period)


@pytest.mark.parametrize("make", [*SCALARS, ATR, BollingerBands], ids=lambda f: f.__name__)
@pytest.mark.parametrize("period", [2.0, D(2), True, "2"])
def test_a_period_that_is_not_an_int_is_refused(make: Callable[[object], object], period: object) -> None:
    with pytest.raises(TypeError, match="period must be an int"):
        make(period)


@pytest.mark.parametrize("make", SCALARS, ids=lambda f: f.__name__)
def test_the_period_is_kept(make: Callable[[int], Indicator]) -> None:
    assert make(7).period == 7


@pytest.mark.parametrize("make", SCALARS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad", [1.5, True, "1", None])
def test_floats_bools_and_strings_are_refused(make: Callable[[int], Indicator], bad: object) -> None:
    with pytest.raises(TypeError, match=r"takes a Decimal or an int, not"):
        make(2).update(bad)  # type: ignore[attr-defined]


@pytest.mark.parametrize("make", SCALARS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad", [D("NaN"), D("Infinity"), D("-Infinity"), D("sNaN")])
def test_non_finite_decimals_are_refused(make: Callable[[int], Indicator], bad: Decimal) -> None:
    with pytest.raises(ValueError, match="is not a finite number"):
        make(2).update(bad)  # type: ignore[attr-defined]


@pytest.mark.parametrize("make", SCALARS, ids=lambda f: f.__name__)
def test_ints_give_the_same_results_as_decimals(make: Callable[[int], Indicator]) -> None:
    ints = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
    a, b = make(3), make(3)
    assert feed(a, ints) == feed(b, [D(x) for x in ints])  # type: ignore[arg-type]


# ── warm-up ─────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("make", "needed"),
    [(SMA, 4), (EMA, 4), (RollingSum, 4), (RollingMin, 4), (RollingMax, 4), (RSI, 5)],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_none_until_warmed_up(make: Callable[[int], Indicator], needed: int) -> None:
    indicator = make(4)
    for i in range(1, needed):
        assert indicator.update(i) is None  # type: ignore[attr-defined]
        assert not indicator.ready
        assert indicator.value is None
    result = indicator.update(needed)  # type: ignore[attr-defined]
    assert result is not None
    assert indicator.ready
    assert indicator.value == result


# ── values by hand ──────────────────────────────────────────────────────────────────────────────


def test_sma_is_the_mean_rounded_to_28_digits() -> None:
    sma = SMA(3)
    assert feed(sma, [1, 2, D("3.5"), 4, 5]) == [
        None,
        None,
        D("2.166666666666666666666666667"),
        D("3.166666666666666666666666667"),
        D("4.166666666666666666666666667"),
    ]
    assert sma.sum == D("12.5")


def test_sums_keep_every_digit() -> None:
    total = RollingSum(2)
    big, tiny = D("1E+30"), D("1E-30")
    # 61 significant digits: any context of the default precision would drop the tiny part
    assert feed(total, [big, tiny, tiny]) == [None, D("1" + "0" * 30 + "." + "0" * 29 + "1"), D("2E-30")]


def test_ema_seeds_with_the_sma_then_weights_two_over_n_plus_one() -> None:
    ema = EMA(2)
    # seed (1 + 2) / 2 = 1.5; then 1.5 + 2/3 * (4 - 1.5) = 19/6
    assert feed(ema, [1, 2, 4]) == [None, D("1.5"), D("3.166666666666666666666666667")]


def test_ema_of_period_one_is_the_input() -> None:
    ema = EMA(1)
    assert feed(ema, [D("1.25"), -7, D("0.001")]) == [D("1.25"), D(-7), D("0.001")]


def test_rsi_wilder_by_hand() -> None:
    rsi = RSI(3)
    # changes +1 -1 0: gain 1/3, loss 1/3 -> 50; then +2: gain (1/3*2 + 2)/3 = 8/9, loss 2/9 -> 80
    assert feed(rsi, [1, 2, 1, 1, 3]) == [None, None, None, D(50), D(80)]


@pytest.mark.parametrize(
    ("xs", "expected"),
    [
        ([5, 5, 5, 5, 5], D(50)),  # nothing moved: neither overbought nor oversold
        ([1, 2, 3, 4, 5], D(100)),  # nothing fell
        ([5, 4, 3, 2, 1], D(0)),  # nothing rose
        ([1, 2, 2, 2, 2, 2, 2, 2], D(100)),  # a rise, then flat: the gain decays but no loss ever comes
    ],
)
def test_rsi_of_degenerate_series(xs: list[int], expected: Decimal) -> None:
    rsi = RSI(2)
    assert feed(rsi, xs)[-1] == expected


def test_atr_by_hand() -> None:
    atr = ATR(2)
    # tr: 3-1 = 2 (no previous close); max(5,2) - min(4,2) = 3 (gap up); max(4,4) - min(2,4) = 2
    # atr: (2 + 3) / 2 = 2.5, then (2.5 * 1 + 2) / 2 = 2.25
    assert [atr.update(h, lo, c) for h, lo, c in [(3, 1, 2), (5, 4, 4), (4, 2, 3)]] == [
        None,
        D("2.5"),
        D("2.25"),
    ]
    assert atr.value == D("2.25") and atr.ready and atr.period == 2


def test_atr_refuses_a_bar_whose_high_is_below_its_low() -> None:
    with pytest.raises(ValueError, match="high 1 is below low 2"):
        ATR(3).update(1, 2, 1)


def test_rolling_extrema_with_ties_and_eviction() -> None:
    xs = [3, 1, 1, 5, 6, 2, 2, 7]
    assert feed(RollingMin(2), xs) == [None, 1, 1, 1, 5, 2, 2, 2]
    assert feed(RollingMax(2), xs) == [None, 3, 1, 5, 6, 6, 2, 7]
    assert feed(RollingMin(1), xs) == xs


def test_bollinger_by_hand() -> None:
    bands = BollingerBands(3, 2)
    assert bands.update(1) is None and bands.update(2) is None
    got = bands.update(3)
    # population variance of 1, 2, 3 is 2/3; 2 * sqrt(2/3) = 1.63299316185545206546485604980...
    assert got == Bands(
        lower=D("0.3670068381445479345351439502"), middle=D(2), upper=D("3.632993161855452065464856050")
    )
    assert bands.value == got and bands.ready and bands.period == 3 and bands.k == 2


@pytest.mark.parametrize("k", [0, 2, D("3.5")])
def test_bollinger_without_variance_collapses_to_the_middle(k: Decimal | int) -> None:
    bands = BollingerBands(4, k)
    for x in [D("0.1"), D("0.1"), D("0.1"), D("0.1"), D("0.10"), D("0.100")]:
        got = bands.update(x)
    assert got == Bands(D("0.1"), D("0.1"), D("0.1"))
    k_zero = BollingerBands(2, 0)
    k_zero.update(1)
    assert k_zero.update(3) == Bands(D(2), D(2), D(2))


def test_bollinger_middle_is_the_sma_to_the_digit() -> None:
    bands, sma = BollingerBands(7), SMA(7)
    for i in range(40):
        x = D(i * i % 13) / 7
        got, mean = bands.update(x), sma.update(x)
        assert (got.middle if got else None) == mean


def test_bollinger_refuses_a_negative_k() -> None:
    with pytest.raises(ValueError, match="k must not be negative"):
        BollingerBands(20, D("-1"))


# ── crosses and their ties ──────────────────────────────────────────────────────────────────────


def crosses(pairs: Sequence[tuple[Decimal | int | None, Decimal | int | None]]) -> list[int | None]:
    cross = Cross()
    return [cross.update(a, b) for a, b in pairs]


@pytest.mark.parametrize(
    ("a", "expected"),
    [
        ([-1, 1], [None, 1]),  # below, above: a cross up
        ([1, -1], [None, -1]),  # above, below: a cross down
        ([-1, 0, 1], [None, 0, 0]),  # below, equal, above: a touch, then a move up; never a cross
        ([1, 0, -1], [None, 0, 0]),  # the same downwards
        ([-1, 0, -1], [None, 0, 0]),  # a touch from below and back
        ([1, 0, 0, 1], [None, 0, 0, 0]),
        ([0, 1, -1, 1], [None, 0, -1, 1]),
        ([-1, None, 1], [None, None, None]),  # no cross over an undefined observation
        ([-1, None, -1, 1], [None, None, None, 1]),
    ],
)
def test_cross_tie_semantics(a: list[int | None], expected: list[int | None]) -> None:
    assert crosses([(x, 0) for x in a]) == expected


def test_cross_properties() -> None:
    cross = Cross()
    assert cross.period == 2 and not cross.ready and cross.value is None and cross.relation is None
    cross.update(D("-0.5"), 0)
    assert not cross.ready and cross.relation == -1
    cross.update(1, D("0.5"))
    assert cross.ready and cross.value == 1 and cross.crossed_above and not cross.crossed_below
    cross.update(0, 0)
    assert cross.value == 0 and cross.relation == 0 and not (cross.crossed_above or cross.crossed_below)
    cross.update(1, 0)
    assert cross.value == 0  # from equal to above: not a cross
    cross.update(0, 1)
    assert cross.crossed_below and cross.value == -1 and cross.relation == -1


def test_a_warming_up_indicator_is_undefined() -> None:
    fast, slow, cross = SMA(1), SMA(3), Cross()
    fast.update(1)
    slow.update(1)
    assert compare(fast, slow) is None
    assert cross.update(fast, slow) is None and cross.relation is None


def test_compare_is_exact_where_rounded_values_are_equal() -> None:
    third, nearly = SMA(3), SMA(1)
    feed(third, [0, 0, 1])
    nearly.update(D("0." + "3" * 28))
    assert third.value == nearly.value  # 28 digits cannot tell them apart
    assert compare(third, nearly) == 1  # 1/3 is above 0.333...3
    assert compare(nearly, third) == -1


def test_equal_averages_of_different_periods_compare_equal() -> None:
    fast, slow = SMA(2), SMA(4)
    xs: list[Decimal | int] = [D("2.5"), D("2.5"), 2, 3]
    for x in xs:
        fast.update(x)
        slow.update(x)
    assert compare(fast, slow) == 0  # 5/2 against 10/4
    slow.update(D("2.6"))
    fast.update(D("2.6"))
    assert compare(fast, slow) == 1  # 5.6/2 against 10.1/4


def test_compare_with_numbers_and_indicators_of_every_kind() -> None:
    rsi = RSI(2)
    feed(rsi, [1, 2, 3])
    assert compare(rsi, 100) == 0 and compare(rsi, D("99.9")) == 1
    ema = EMA(3)
    feed(ema, [3, 3, 3])
    assert compare(ema, 3) == 0
    atr = ATR(1)
    atr.update(5, 2, 3)
    assert compare(atr, 3) == 0 and compare(2, atr) == -1
    assert compare(None, 1) is None
    with pytest.raises(TypeError):
        compare(1.5, 1)  # type: ignore[arg-type]


# ── determinism ─────────────────────────────────────────────────────────────────────────────────


def test_the_callers_decimal_context_changes_nothing() -> None:
    xs = [D("1.1"), D("2.2"), D("3.3"), D("0.7"), D("5.1")]
    expected = (feed(SMA(3), xs), feed(EMA(3), xs), feed(RSI(2), xs))
    with localcontext(Context(prec=2, rounding=ROUND_UP)):
        assert (feed(SMA(3), xs), feed(EMA(3), xs), feed(RSI(2), xs)) == expected
    assert expected[0][2] == D("2.2")


def test_reprs_show_period_and_value() -> None:
    sma = SMA(1)
    sma.update(2)
    assert repr(sma) == "SMA(period=1, value=2)"
    assert repr(BollingerBands(2)) == "BollingerBands(period=2, k=2, value=None)"
    assert repr(Cross()) == "Cross(relation=None, value=None)"


def test_indicators_survive_pickling_and_deep_copies() -> None:
    """A run may snapshot a strategy (a sweep ships it to a worker): its indicators go with it."""
    import copy
    import pickle

    sma, rsi, low, bands, cross, mid = SMA(2), RSI(2), RollingMin(2), BollingerBands(2), Cross(), Mid()
    xs: list[Decimal | int] = [1, 3, 2, D("2.5")]
    for x in xs:
        sma.update(x)
        rsi.update(x)
        low.update(x)
        bands.update(x)
        cross.update(sma, 2)
        mid.update(Quote(D(x), D(x) + 1))
    for original in (sma, rsi, low, bands, cross, mid):
        for twin in (pickle.loads(pickle.dumps(original)), copy.deepcopy(original)):
            assert repr(twin) == repr(original)
    twin = copy.deepcopy(sma)
    assert twin.update(7) == sma.update(7) == D("4.75")


# ── the mid of a quote ──────────────────────────────────────────────────────────────────────────


class Quote:
    """Anything with a bid and an ask is a quote to Mid (a QuoteTick in a strategy)."""

    def __init__(self, bid: Any, ask: Any) -> None:
        self.bid: Any = bid
        self.ask: Any = ask


def test_mid_is_half_the_sum_rounded_like_a_quotient() -> None:
    mid = Mid()
    assert mid.value is None and not mid.ready
    assert mid.update(Quote(D("61234.5"), D("61234.6"))) == D("61234.55")
    assert mid.ready and mid.value == D("61234.55")
    assert mid.update(Quote(D(1), D(2))) == D("1.5")
    assert mid.update(Quote(3, 4)) == D("3.5")  # ints are taken exactly


def test_mid_is_compared_unrounded() -> None:
    mid = Mid()
    # (1 + 1e-28) / 2 reads as 0.5 (28 digits, half-even) but is above it
    assert mid.update(Quote(D(1), D("1E-28"))) == D("0.5000000000000000000000000000")
    assert compare(mid, D("0.5")) == 1
    assert compare(D("0.5"), mid) == -1


def test_mid_gives_back_the_same_object_while_the_prices_are_the_same_objects() -> None:
    """Sizes change far more often than prices: an unchanged quote costs no arithmetic, and the SMA fed
    with the very same object skips its own."""
    bid, ask = D("100.0"), D("100.2")
    mid = Mid()
    first = mid.update(Quote(bid, ask))
    assert mid.update(Quote(bid, ask)) is first
    equal_copy = mid.update(Quote(D("100.0"), D("100.2")))
    assert equal_copy == first and equal_copy is not first
    assert str(first) == "100.1"
    assert str(mid.update(Quote(D("100.00"), D("100.2")))) == "100.10"  # the exponent follows the prices


@pytest.mark.parametrize("bad", [1.5, None, "1", D("NaN"), D("Infinity")])
def test_mid_refuses_prices_that_are_not_finite_numbers(bad: object) -> None:
    with pytest.raises((TypeError, ValueError), match=r"Mid\.update"):
        Mid().update(Quote(bad, D(1)))
    with pytest.raises((TypeError, ValueError), match=r"Mid\.update"):
        Mid().update(Quote(D(1), bad))


def test_the_sma_skips_arithmetic_only_for_the_very_same_value_and_exponent() -> None:
    sma = SMA(2)
    one = D("1.0")
    assert feed(sma, [one, one, one]) == [None, D("1.0"), D("1.0")]
    assert str(sma.sum) == "2.0"
    # equal but finer: the sum's exponent follows, as a fresh sum's would
    assert str(sma.update(D("1.00"))) == "1.00" and str(sma.sum) == "2.00"
    assert str(sma.update(D("1.00"))) == "1.00"
    assert str(SMA(2).update(D(1))) == "None"
