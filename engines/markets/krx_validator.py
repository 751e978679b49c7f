"""KRX's order rules as one pure check, run before an order leaves for a Korean broker.

Public API::

    check_krx_order(
        spec: InstrumentSpec, side: Side, order_type: OrderType, quantity: Decimal,
        price: Decimal | None, at_ns: int, *, base_price: Decimal | None = None,
        session_order_kind: str | None = None,
        close_price: Decimal | None = None, fund: bool | None = None, sessions: bool = True,
        open_day: bool | None = None,
    ) -> None

It returns None when KRX would take the order, and raises :class:`KrxOrderError` (a
:class:`~engines.errors.VibeError`) for the first rule the order breaks, naming the rule, the value
and what is allowed; ``error.rule`` is a short name of the rule. A refused order is an
``OrderRejected`` answer and is never sent.

Arguments:

* ``at_ns``: when the order is sent, UTC epoch ns; sessions and holidays are read in KST.
* ``price``: the limit price (of a limit or stop-limit order); None for a market order (a market
  order's price is ignored). A stop's trigger price is not checked.
* ``base_price``: the day's base price, normally the previous close. None: the ±30 % daily limit
  and the pre-market price are not checked.
* ``session_order_kind``: which KRX session the order is meant for, one of :data:`ORDER_KINDS`:
  ``"regular"`` (the default for None: the auctions and the regular session), ``"pre_market"``
  (pre-market at the previous close; KIS ORD_DVSN 05), ``"post_market"`` (post-market at the
  close; KIS 06) or ``"after_hours"`` (after-hours single price; KIS 07).
* ``close_price`` (added after the first version, optional): the day's close, for the
  post-market price and the after-hours ±10 % band; None: those prices are not checked.
* ``fund``: whether the instrument is an ETF, ETN or ELW (the 5 KRW tick). None: the instrument is
  a fund only if its code is in :data:`KRX_FUND_CODES`. InstrumentSpec has no field saying so and
  no data source here lists the funds, so a caller that knows passes it.
* ``sessions``: False checks only the order's own terms (lot, tick, daily limit), not the
  calendar, the session or the order types it allows: what the simulated venue uses, whose
  daily bars are stamped at midnight UTC, outside every session (docs/krx.md).
* ``open_day`` (added later, optional): whether the broker's own calendar says KRX is open on the
  order's KST date (KIS's chk-holiday ``opnd_yn``), supplied by an adapter that asked. None: the
  dated table decides (backtests, the simulated venue, a broker that was not asked or did not
  answer). True or False: the broker's answer decides the calendar rule instead of the table, since
  it is the calendar the broker will apply; the adapter logs where the two disagree.

Error codes (engines/errors.py, docs/errors.md; the rules and their sources are in docs/krx.md):

* VT140 ``order``: not a valid KRX order: not a KRX instrument (``tick_scheme != "krx"``), an
  unknown ``session_order_kind``, a limit order without a positive finite price.
* VT141 ``lot``: the quantity is not a positive whole number of shares (KRX's lot is 1 share).
* VT142 ``tick``: the price is not a multiple of the tick of its band (stocks, by
  :func:`~engines.markets.krx.krx_tick`) or of 5 KRW (ETFs, ETNs, ELWs).
* VT143 ``daily_limit``: the price is outside ±30 % of ``base_price``.
* VT144 ``calendar``: the KST date is a weekend or a KRX holiday (:data:`KRX_HOLIDAYS`), or,
  with ``open_day=False``, a day the broker's calendar says is closed.
* VT145 ``session``: no session of the order's kind is open at that time of day.
* VT146 ``order_type``: the session does not take that order type (market and stop-limit orders
  only in the auctions and the regular session; stop-market orders never).
* VT147 ``off_hours_price``: a pre-market order not at the previous close, a post-market order not
  at the close, an after-hours single-price order outside ±10 % of the close.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Final, NamedTuple

from engines.decimals import TICK_GRID_CONTEXT
from engines.errors import VibeError
from engines.markets.krx import KRX_PRICE_LIMIT, KST_OFFSET_NS, krx_day, krx_tick
from engines.markets.prices import daily_price_band
from engines.model.enums import OrderType, Side
from engines.model.instruments import InstrumentSpec
from engines.units import NS_PER_DAY, NS_PER_HOUR, NS_PER_MINUTE

__all__ = [
    "KRX_AFTER_HOURS_LIMIT",
    "KRX_EXAM_DAYS",
    "KRX_FUND_CODES",
    "KRX_FUND_TICK",
    "KRX_HOLIDAYS",
    "KRX_SESSIONS",
    "ORDER_KINDS",
    "KrxOrderError",
    "KrxSession",
    "check_krx_order",
    "first_trading_day",
    "is_trading_day",
    "krx_fund_tick",
    "krx_is_fund",
    "kst_date",
    "sessions_on",
]

_D = Decimal


class KrxOrderError(VibeError):
    """KRX would refuse the order: ``code`` (VT140-VT147) and ``rule`` name the rule it breaks."""

    code = "VT140"

    def __init__(self, rule: str, message: str, *, code: str) -> None:
        super().__init__(message, code=code)
        self.rule = rule


# ── instruments: funds and their tick ────────────────────────────────────────────────────────────

KRX_FUND_TICK: Final = _D(5)
"""The tick of ETFs, ETNs and ELWs at every price (shared/venues/korea.md, "KRX rules")."""

KRX_FUND_CODES: Final[frozenset[str]] = frozenset(
    {
        "069500",  # KODEX 200
        "102110",  # TIGER 200
        "114800",  # KODEX Inverse
        "133690",  # TIGER US Nasdaq 100
        "229200",  # KODEX KOSDAQ 150
        "360750",  # TIGER US S&P 500
    }
)
"""A few well-known unleveraged ETFs, by code: the funds known without being told. Not a list of
all funds (there are hundreds): pass ``fund=True`` for the others. Leveraged ones are left out on
purpose: their daily limit scales with the leverage, which this module does not model."""


def krx_is_fund(spec: InstrumentSpec) -> bool:
    """Whether ``spec`` is one of :data:`KRX_FUND_CODES` (``krx:069500``)."""
    return spec.symbol.partition(":")[2] in KRX_FUND_CODES


def krx_fund_tick(price: Decimal) -> Decimal:
    """The tick of an ETF, ETN or ELW at ``price``: one tick at every price (the shared notes)."""
    return KRX_FUND_TICK


# ── the calendar: holidays, late openings ────────────────────────────────────────────────────────

# KRX is closed on weekends, on the public holidays of the Act on Public Holidays (with their
# substitute holidays, and days the government designates, such as election days), on Labour Day
# (May 1) and on the year-end closing day (Dec 31). To verify against KRX's published calendar
# (Market Operation Calendar on krx.co.kr); these dates were worked out from the rule, not copied.
KRX_HOLIDAYS: Final[Mapping[date, str]] = {
    date(2025, 1, 1): "New Year's Day",
    date(2025, 1, 27): "temporary holiday (designated by the government)",
    date(2025, 1, 28): "Seollal",
    date(2025, 1, 29): "Seollal",
    date(2025, 1, 30): "Seollal",
    date(2025, 3, 3): "substitute holiday for Independence Movement Day (Mar 1, a Saturday)",
    date(2025, 5, 1): "Labour Day",
    date(2025, 5, 5): "Children's Day and Buddha's Birthday",
    date(2025, 5, 6): "substitute holiday for Children's Day and Buddha's Birthday",
    date(2025, 6, 3): "presidential election day",
    date(2025, 6, 6): "Memorial Day",
    date(2025, 8, 15): "Liberation Day",
    date(2025, 10, 3): "National Foundation Day",
    date(2025, 10, 6): "Chuseok",
    date(2025, 10, 7): "Chuseok",
    date(2025, 10, 8): "substitute holiday for Chuseok (Oct 5, a Sunday)",
    date(2025, 10, 9): "Hangul Day",
    date(2025, 12, 25): "Christmas Day",
    date(2025, 12, 31): "year-end closing day",
    date(2026, 1, 1): "New Year's Day",
    date(2026, 2, 16): "Seollal",
    date(2026, 2, 17): "Seollal",
    date(2026, 2, 18): "Seollal",
    date(2026, 3, 2): "substitute holiday for Independence Movement Day (Mar 1, a Sunday)",
    date(2026, 5, 1): "Labour Day",
    date(2026, 5, 5): "Children's Day",
    date(2026, 5, 25): "substitute holiday for Buddha's Birthday (May 24, a Sunday)",
    date(2026, 6, 3): "local elections day",
    date(2026, 8, 17): "substitute holiday for Liberation Day (Aug 15, a Saturday)",
    date(2026, 9, 24): "Chuseok",
    date(2026, 9, 25): "Chuseok",
    date(2026, 9, 28): "substitute holiday for Chuseok (Sep 26, a Saturday)",
    date(2026, 10, 5): "substitute holiday for National Foundation Day (Oct 3, a Saturday)",
    date(2026, 10, 9): "Hangul Day",
    date(2026, 12, 25): "Christmas Day",
    date(2026, 12, 31): "year-end closing day",
}
"""KRX holidays on weekdays, 2025 and 2026, with their reason. **To verify against KRX's
published calendar.** Memorial Day 2026 (Jun 6) falls on a Saturday and has no substitute."""

_TABLE_YEARS: Final = frozenset(d.year for d in KRX_HOLIDAYS)

# Holidays on a fixed solar date, the only ones known for a year outside the table (the lunar ones,
# substitutes and designated days are not): New Year, Mar 1, Labour Day, Children's Day, Memorial
# Day, Liberation Day, National Foundation Day, Hangul Day, Christmas, year-end closing.
_FIXED_HOLIDAYS: Final[Mapping[tuple[int, int], str]] = {
    (1, 1): "New Year's Day",
    (3, 1): "Independence Movement Day",
    (5, 1): "Labour Day",
    (5, 5): "Children's Day",
    (6, 6): "Memorial Day",
    (8, 15): "Liberation Day",
    (10, 3): "National Foundation Day",
    (10, 9): "Hangul Day",
    (12, 25): "Christmas Day",
    (12, 31): "year-end closing day",
}

KRX_EXAM_DAYS: Final[frozenset[date]] = frozenset({date(2025, 11, 13), date(2026, 11, 19)})
"""College Scholastic Ability Test days: every session starts and ends one hour late (regular
10:00-16:30 KST). To verify against KRX's notice of each year."""

_EPOCH: Final = date(1970, 1, 1)


def kst_date(at_ns: int) -> date:
    """The KST calendar date of ``at_ns`` (UTC epoch ns)."""
    return _EPOCH + timedelta(days=krx_day(at_ns))


def _holiday(day: date) -> str | None:
    """Why KRX is closed on weekday ``day``, or None."""
    if day.year in _TABLE_YEARS:
        return KRX_HOLIDAYS.get(day)
    return _FIXED_HOLIDAYS.get((day.month, day.day))


def is_trading_day(day: date) -> bool:
    """Whether KRX trades on ``day``: a weekday and not a holiday.

    For a year outside :data:`KRX_HOLIDAYS` only weekends and the fixed-date holidays are known.
    """
    return day.weekday() < 5 and _holiday(day) is None


def first_trading_day(year: int) -> date:
    """The first trading day of ``year``, which opens one hour late (at 10:00 KST)."""
    day = date(year, 1, 1)
    while not is_trading_day(day):
        day += timedelta(days=1)
    return day


# ── sessions ─────────────────────────────────────────────────────────────────────────────────────

ORDER_KINDS: Final = ("regular", "pre_market", "post_market", "after_hours")
"""The values of ``session_order_kind``; None means ``"regular"``."""

KRX_AFTER_HOURS_LIMIT: Final = _D("0.1")
"""After-hours single-price orders: within ±10 % of the day's close (and the daily limit)."""

_LIMIT_ONLY: Final = frozenset({OrderType.LIMIT})
# A stop-limit is the broker's (Kiwoom trde_tp 28): KRX sees a limit order once it triggers, so it
# is taken where limit orders are, during the regular sessions; its trigger price is not checked.
_REGULAR_TYPES: Final = frozenset({OrderType.LIMIT, OrderType.MARKET, OrderType.STOP_LIMIT})


class KrxSession(NamedTuple):
    """One KRX session: which order kind it serves, its hours [opens, closes) as ns after 00:00
    KST, the order types it takes and the price its orders must have."""

    name: str
    kind: str
    opens: int
    closes: int
    order_types: frozenset[OrderType]
    #: "" any price in the daily limit; "previous_close", "close", or "close_10" (±10 % of it)
    price_rule: str


def _hm(hours: int, minutes: int = 0) -> int:
    return hours * NS_PER_HOUR + minutes * NS_PER_MINUTE


KRX_SESSIONS: Final[tuple[KrxSession, ...]] = (
    KrxSession(
        "pre-market at the previous close",
        "pre_market",
        _hm(8, 30),
        _hm(8, 40),
        _LIMIT_ONLY,
        "previous_close",
    ),
    KrxSession("opening auction", "regular", _hm(8, 30), _hm(9), _REGULAR_TYPES, ""),
    KrxSession("regular session", "regular", _hm(9), _hm(15, 20), _REGULAR_TYPES, ""),
    KrxSession("closing auction", "regular", _hm(15, 20), _hm(15, 30), _REGULAR_TYPES, ""),
    KrxSession("post-market at the close", "post_market", _hm(15, 40), _hm(16), _LIMIT_ONLY, "close"),
    KrxSession("after-hours single price", "after_hours", _hm(16), _hm(18), _LIMIT_ONLY, "close_10"),
)
"""KRX's sessions on an ordinary trading day (shared/venues/korea.md, "KRX rules"; docs/krx.md)."""

_LATE_OPEN: Final = _hm(10)


def sessions_on(day: date) -> tuple[KrxSession, ...]:
    """The sessions of trading day ``day``: the first trading day of a year opens at 10:00 (the
    sessions before the regular one move one hour later), an exam day runs one hour late."""
    if day in KRX_EXAM_DAYS:
        return tuple(
            s._replace(opens=s.opens + NS_PER_HOUR, closes=s.closes + NS_PER_HOUR) for s in KRX_SESSIONS
        )
    if day == first_trading_day(day.year):
        return tuple(_late_open(s) for s in KRX_SESSIONS)
    return KRX_SESSIONS


def _late_open(s: KrxSession) -> KrxSession:
    """A session of a day that opens at 10:00: those before 09:00 move an hour later, the regular
    session starts at 10:00."""
    if s.closes <= _hm(9):
        return s._replace(opens=s.opens + NS_PER_HOUR, closes=s.closes + NS_PER_HOUR)
    if s.opens < _LATE_OPEN:
        return s._replace(opens=_LATE_OPEN)
    return s


def _clock(ns: int) -> str:
    minutes = ns // NS_PER_MINUTE
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _hours(sessions: tuple[KrxSession, ...]) -> str:
    return ", ".join(f"{s.name} {_clock(s.opens)}-{_clock(s.closes)}" for s in sessions)


# ── the check ────────────────────────────────────────────────────────────────────────────────────


def check_krx_order(  # noqa: PLR0917 -- the signature the KIS and Kiwoom adapters call
    spec: InstrumentSpec,
    side: Side,  # KRX's rules are the same for both sides; kept for the callers' symmetry
    order_type: OrderType,
    quantity: Decimal,
    price: Decimal | None,
    at_ns: int,
    *,
    base_price: Decimal | None = None,
    session_order_kind: str | None = None,
    close_price: Decimal | None = None,
    fund: bool | None = None,
    sessions: bool = True,
    open_day: bool | None = None,
) -> None:
    """Raise :class:`KrxOrderError` for the first KRX rule the order breaks; None when KRX takes it.

    The rules are checked in this order: the order itself (VT140), the lot (VT141), the tick
    (VT142), the daily limit (VT143), then, with ``sessions``, the calendar (VT144), the session
    (VT145), its order types (VT146) and its price rule (VT147). See the module docstring.
    """
    sym = spec.symbol
    if spec.tick_scheme != "krx":
        raise KrxOrderError(
            "order", f"{sym} is not a KRX instrument (tick scheme {spec.tick_scheme!r})", code="VT140"
        )
    kind = "regular" if session_order_kind is None else session_order_kind
    if kind not in ORDER_KINDS:
        raise KrxOrderError(
            "order", f"session order kind {kind!r} is not one of {', '.join(ORDER_KINDS)}", code="VT140"
        )
    if not quantity.is_finite() or quantity <= 0 or quantity != quantity.to_integral_value():
        raise KrxOrderError(
            "lot",
            f"quantity {quantity} of {sym}: KRX takes a positive whole number of shares (lot 1)",
            code="VT141",
        )
    is_fund = krx_is_fund(spec) if fund is None else fund
    if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        if price is None or not price.is_finite() or price <= 0:
            raise KrxOrderError(
                "order", f"a {order_type} order of {sym} needs a positive price, not {price}", code="VT140"
            )
        _check_tick(sym, price, is_fund)
        if base_price is not None:
            _check_daily_limit(spec, price, base_price, is_fund)
    if not sessions:
        return
    _check_session(sym, order_type, price, at_ns, kind, base_price, close_price, open_day)


def _check_tick(sym: str, price: Decimal, is_fund: bool) -> None:
    tick = krx_fund_tick(price) if is_fund else krx_tick(price)
    try:
        on_grid = TICK_GRID_CONTEXT.remainder(price, tick) == 0
    except InvalidOperation:  # the quotient has more digits than the context: far off any grid
        on_grid = False
    if not on_grid:
        what = "ETF/ETN/ELW tick" if is_fund else "tick of the band"
        raise KrxOrderError(
            "tick",
            f"price {price} of {sym} is not a multiple of the KRX {what} at that price, {tick} KRW",
            code="VT142",
        )


def _check_daily_limit(spec: InstrumentSpec, price: Decimal, base: Decimal, is_fund: bool) -> None:
    if not base.is_finite() or base <= 0:
        raise KrxOrderError(
            "daily_limit", f"base price {base} of {spec.symbol} is not positive", code="VT143"
        )
    ctx = TICK_GRID_CONTEXT
    # The price is on its grid already, so comparing it with the exact ±30 % bounds is the same as
    # comparing it with the bounds rounded inward onto the grid, which the message shows.
    low, high = ctx.multiply(base, 1 - KRX_PRICE_LIMIT), ctx.multiply(base, 1 + KRX_PRICE_LIMIT)
    if low <= price <= high:
        return
    if is_fund:
        tick = KRX_FUND_TICK
        low = ctx.multiply(ctx.divide(low, tick).to_integral_value(ROUND_CEILING), tick)
        high = ctx.multiply(ctx.divide(high, tick).to_integral_value(ROUND_FLOOR), tick)
    else:
        low, high = daily_price_band(spec, base) or (low, high)
    raise KrxOrderError(
        "daily_limit",
        f"price {price} of {spec.symbol} is outside the daily limit [{low}, {high}]"
        f" (±30% of the base price {base})",
        code="VT143",
    )


def _check_session(  # noqa: PLR0917 -- a private step of check_krx_order, called once
    sym: str,
    order_type: OrderType,
    price: Decimal | None,
    at_ns: int,
    kind: str,
    base: Decimal | None,
    close: Decimal | None,
    open_day: bool | None,
) -> None:
    day = kst_date(at_ns)
    if open_day is False:
        raise KrxOrderError(
            "calendar", f"{sym}: KRX is closed on {day} (the broker's calendar says so)", code="VT144"
        )
    if open_day is None and day.weekday() >= 5:
        raise KrxOrderError("calendar", f"{sym}: KRX is closed on {day} (a {day:%A})", code="VT144")
    why = _holiday(day) if open_day is None else None
    if why is not None:
        raise KrxOrderError("calendar", f"{sym}: KRX is closed on {day} ({why})", code="VT144")
    today = sessions_on(day)
    tod = (at_ns + KST_OFFSET_NS) % NS_PER_DAY
    session = next((s for s in today if s.kind == kind and s.opens <= tod < s.closes), None)
    if session is None:
        served = tuple(s for s in today if s.kind == kind)
        raise KrxOrderError(
            "session",
            f"{sym}: no session takes {kind} orders at {_clock(tod)} KST on {day}; they are taken in: "
            f"{_hours(served)}",
            code="VT145",
        )
    if order_type not in session.order_types:
        allowed = ", ".join(sorted(t.value for t in session.order_types))
        raise KrxOrderError(
            "order_type",
            f"{sym}: the {session.name} does not take {order_type} orders, only {allowed}",
            code="VT146",
        )
    if price is not None and order_type is OrderType.LIMIT:
        _check_off_hours_price(sym, session, price, base, close)


def _check_off_hours_price(
    sym: str, session: KrxSession, price: Decimal, base: Decimal | None, close: Decimal | None
) -> None:
    if session.price_rule == "previous_close" and base is not None and price != base:
        raise KrxOrderError(
            "off_hours_price",
            f"{sym}: the {session.name} trades at the previous close {base}, not at {price}",
            code="VT147",
        )
    if session.price_rule == "close" and close is not None and price != close:
        raise KrxOrderError(
            "off_hours_price",
            f"{sym}: the {session.name} trades at the close {close}, not at {price}",
            code="VT147",
        )
    if session.price_rule == "close_10" and close is not None:
        ctx = TICK_GRID_CONTEXT
        low = ctx.multiply(close, 1 - KRX_AFTER_HOURS_LIMIT)
        high = ctx.multiply(close, 1 + KRX_AFTER_HOURS_LIMIT)
        if not low <= price <= high:
            raise KrxOrderError(
                "off_hours_price",
                f"{sym}: price {price} is outside the {session.name} band [{low}, {high}]"
                f" (±10% of the close {close})",
                code="VT147",
            )
