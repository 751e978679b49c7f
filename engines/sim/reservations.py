"""What the simulated venue's working orders hold, and the account checks that reserve it.

A spot or equity buy holds its cash and fee, a sell its quantity, so that a second order cannot
spend the same cash or sell the same shares. The venue keeps the held amounts as running sums
(:class:`Held`), one per quote currency and one per instrument, updated as orders are accepted,
filled and end, instead of summing every working order on every submit; they equal that sum to the
digit (:meth:`Reservations.recompute` recomputes it, for tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Final

from engines.decimals import RESERVATION_CONTEXT, SIM_CONTEXT
from engines.ledger import Ledger
from engines.model.commands import SubmitOrder
from engines.model.enums import Side
from engines.model.instruments import InstrumentSpec
from engines.sim.fees import reserve_rate
from engines.sim.rules import Refusal, RejectCode
from engines.sim.working import WorkingOrder

__all__ = ["Held", "Reservations", "holding"]

_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)


@dataclass(slots=True)
class Held:
    """The running sum of what the working orders of one group hold: the cash (with the fee
    reservation) of the cash-settled buys of one quote currency, or the quantity of the sells of
    one instrument.

    :meth:`value` is ``sum(terms, Decimal(0))`` under ``SIM_CONTEXT`` exactly as a scan of the working
    orders computes it, digits and exponent alike: the exact sum of the terms, carried at the
    exponent such a sum has, ``min(0, exponents of the terms)``. ``total`` is the exact sum of the
    regular terms (finite and not signed), ``exponents`` counts them by exponent; ``irregular``
    counts the other terms, which only a scan can add up as the scan does.
    """

    total: Decimal = _ZERO
    exponents: dict[int, int] = field(default_factory=dict)
    irregular: int = 0

    def add(self, term: Decimal) -> None:
        if term.is_finite() and not term.is_signed():
            exponents = self.exponents
            exponent = int(term.as_tuple().exponent)
            exponents[exponent] = exponents.get(exponent, 0) + 1
            self.total = RESERVATION_CONTEXT.add(self.total, term)
        else:
            self.irregular += 1

    def remove(self, term: Decimal) -> None:
        if term.is_finite() and not term.is_signed():
            exponents = self.exponents
            exponent = int(term.as_tuple().exponent)
            left = exponents[exponent] - 1
            if left:
                exponents[exponent] = left
            else:
                del exponents[exponent]
            self.total = RESERVATION_CONTEXT.subtract(self.total, term)
        else:
            self.irregular -= 1

    def value(self) -> Decimal | None:
        """The scan's sum, or None when only a scan can tell what it is.

        With terms that are all finite and not signed, every partial sum of the scan lies between
        0 and the total and is a multiple of ``10**exponent``: when the total has at most
        ``SIM_CONTEXT.prec`` digits at that exponent, no step of the scan rounds, and its sum is the
        exact total at that exponent. Otherwise (more digits, or an irregular term) it is None.
        """
        if self.irregular:
            return None
        exponent = min(min(self.exponents, default=0), 0)
        total = self.total
        if total and total.adjusted() - exponent >= SIM_CONTEXT.prec:
            return None
        return total.quantize(Decimal((0, (1,), exponent)), context=RESERVATION_CONTEXT)


def holding(o: WorkingOrder) -> Decimal:
    """The order's term in its group's sum, computed as a scan of the working orders would."""
    c = SIM_CONTEXT
    remaining = c.subtract(o.cmd.quantity, o.filled)
    if not o.is_buy:
        return remaining
    return c.multiply(c.multiply(c.multiply(remaining, o.reserve_px), o.spec.multiplier), o.factor)


class Reservations:
    """The running sums of what the venue's working orders hold, and the account checks against them.

    ``working`` is the venue's own dict of working orders (read for the scans, never written);
    ``account`` is read (cash and positions) and never written; ``fee_bps`` is the venue's.
    """

    def __init__(self, working: Mapping[str, WorkingOrder], account: Ledger, fee_bps: Decimal | None) -> None:
        self._working = working
        self._account = account
        self._fee_bps = fee_bps
        # the cash of cash-settled buys by quote currency, the quantity of sells by instrument
        self._cash: dict[str, Held] = {}
        self._qty: dict[str, Held] = {}

    def hold(self, o: WorkingOrder) -> None:
        """Count the order just accepted into the running sum of its group."""
        if o.is_buy:
            if not o.spec.settles_in_cash:
                return
            o.factor = SIM_CONTEXT.add(_ONE, reserve_rate(o.spec, self._fee_bps))
            group = self._cash.get(o.spec.quote)
            if group is None:
                group = self._cash[o.spec.quote] = Held()
        else:
            group = self._qty.get(o.cmd.instrument)
            if group is None:
                group = self._qty[o.cmd.instrument] = Held()
        o.group, o.held = group, holding(o)
        group.add(o.held)

    def update(self, o: WorkingOrder) -> None:
        """A working order filled in part: its term becomes what it holds now."""
        if o.group is not None:
            o.group.remove(o.held)
            o.held = holding(o)
            o.group.add(o.held)

    def release(self, o: WorkingOrder) -> None:
        """The order ended: it holds nothing any more."""
        if o.group is not None:
            o.group.remove(o.held)
            o.group = None

    def reserved_cash(self, quote: str) -> Decimal:
        """The cash, fee included, that the working cash-settled buys in ``quote`` hold."""
        group = self._cash.get(quote)
        if group is None:
            return _ZERO
        value = group.value()
        return self._scan_cash(quote) if value is None else value

    def reserved_qty(self, instrument: str) -> Decimal:
        """The quantity of ``instrument`` that the working sells hold."""
        group = self._qty.get(instrument)
        if group is None:
            return _ZERO
        value = group.value()
        return self._scan_qty(instrument) if value is None else value

    def _scan_cash(self, quote: str) -> Decimal:
        """:meth:`reserved_cash` from scratch, over every working order (run under SIM_CONTEXT)."""
        return sum(
            (
                o.remaining * o.reserve_px * o.spec.multiplier * (_ONE + reserve_rate(o.spec, self._fee_bps))
                for o in self._working.values()
                if o.is_buy and o.spec.settles_in_cash and o.spec.quote == quote
            ),
            _ZERO,
        )

    def _scan_qty(self, instrument: str) -> Decimal:
        """:meth:`reserved_qty` from scratch, over every working order (run under SIM_CONTEXT)."""
        return sum(
            (o.remaining for o in self._working.values() if not o.is_buy and o.cmd.instrument == instrument),
            _ZERO,
        )

    # ── account checks ──

    def check(self, cmd: SubmitOrder, spec: InstrumentSpec, px: Decimal) -> Refusal | None:
        """What the account refuses: spot and equity need the cash and fee of a buy, the position of
        a sell (no shorting); a reduce-only contract order must reduce the position.

        What the venue's other working orders would take is reserved: a second order cannot spend
        the same cash or sell the same shares. The reserved sums are kept as orders are accepted,
        filled, canceled and expire (see :class:`Held`), not summed over every working order on
        every submit; they equal that sum to the digit (:meth:`recompute` recomputes it).
        """
        qty = cmd.quantity
        if not spec.settles_in_cash:
            return self._check_reduce_only(cmd)
        if cmd.side is Side.BUY:
            cost = qty * px * spec.multiplier * (_ONE + reserve_rate(spec, self._fee_bps))
            reserved = self.reserved_cash(spec.quote)
            available = self._account.cash(spec.quote) - reserved
            if cost > available:
                return (
                    RejectCode.INSUFFICIENT_CASH,
                    f"needs {cost} {spec.quote} with fees, {available} available",
                )
            return None
        held = self._account.position(cmd.instrument).qty
        reserved = self.reserved_qty(cmd.instrument)
        if qty > held - reserved:
            return (
                RejectCode.INSUFFICIENT_POSITION,
                f"sells {qty} of {cmd.instrument}, {held - reserved} held and not already offered",
            )
        return None

    def _check_reduce_only(self, cmd: SubmitOrder) -> Refusal | None:
        """A contract order marked reduce-only must reduce the position, by at most all of it."""
        if cmd.reduce_only:
            qty = cmd.quantity
            pos = self._account.position(cmd.instrument).qty
            if pos == 0 or (pos > 0) == (cmd.side is Side.BUY) or qty > abs(pos):
                return (
                    RejectCode.REDUCE_ONLY,
                    f"reduce-only {cmd.side} of {qty} would not reduce the position of {pos}",
                )
        return None

    # ── for tests ──

    def running(self) -> tuple[dict[str, Decimal | None], dict[str, Decimal | None]]:
        """For tests: the running sums by quote currency and by instrument (None: scan needed)."""
        cash = {q: g.value() for q, g in self._cash.items()}
        qty = {i: g.value() for i, g in self._qty.items()}
        return cash, qty

    def recompute(self) -> tuple[dict[str, Decimal | None], dict[str, Decimal | None]]:
        """For tests: what :meth:`running` must equal, recomputed from scratch."""
        with localcontext(SIM_CONTEXT):
            cash: dict[str, Decimal | None] = {q: self._scan_cash(q) for q in self._cash}
            qty: dict[str, Decimal | None] = {i: self._scan_qty(i) for i in self._qty}
        return cash, qty
