"""Every decimal context of the pure core, named by the computation that runs under it.

Money, prices and quantities are :class:`~decimal.Decimal`, and no computation in engines/ uses the
thread's decimal context: each runs under one of the fixed contexts below, either called on it
(``CONTEXT.divide(a, b)``) or installed with :func:`decimal.localcontext`, so a caller (or a library)
that changes the thread's context cannot change a digit of a result. Every field of every context is
spelled out: ``Context()`` fills the omitted ones from :data:`decimal.DefaultContext`, which any
library may have modified.

They differ because the computations want different things:

================================  ==========================  ====  ============  ===========  =============
context                           used for                    prec  rounding      exponents    traps
================================  ==========================  ====  ============  ===========  =============
:data:`LEDGER_CONTEXT`            ledger sums and products    50    half-even     ±999,999     I, D, O, **X**
:data:`LEDGER_DIVISION_CONTEXT`   ledger divisions            50    05up          ±999,999     I, D, O
:data:`SIM_CONTEXT`               the simulated venue         60    half-even     ±999,999     I, D, O
:data:`SIM_DIVISION_CONTEXT`      the venue's fee divisions   60    05up          ±999,999     I, D, O
:data:`RESERVATION_CONTEXT`       the venue's running sums    max   half-even     max          I, D, O
:data:`ORDER_SUM_CONTEXT`         an order's fill sums        60    half-even     max          **X**, O
:data:`AVG_PX_CONTEXT`            an order's ``avg_px``       28    half-even     max          I, D, O
:data:`TICK_GRID_CONTEXT`         tick grids and price bands  60    half-even     ±999,999     I
:data:`PORTFOLIO_CONTEXT`         portfolio sizing            50    **down**      ±999,999     I, D, O
:data:`LEG_SIZE_CONTEXT`          arbitrage leg sizing        60    **floor**     ±999,999     I, D, O
:data:`REPORT_CONTEXT`            report ratios (daemon/)     50    half-even     ±999,999     I, D, O
:data:`INDICATOR_EXACT_CONTEXT`   an indicator's sums         max   half-even     max          I, D, O, **X**
:data:`INDICATOR_STATE_CONTEXT`   EMA/RSI/ATR state, roots    50    half-even     ±999,999     I, D, O
:data:`INDICATOR_VALUE_CONTEXT`   indicator values            28    half-even     ±999,999     I, D, O
================================  ==========================  ====  ============  ===========  =============

(traps: I ``InvalidOperation``, D ``DivisionByZero``, O ``Overflow``, X ``Inexact``; "max" is
``MAX_PREC`` or ``MIN_EMIN``/``MAX_EMAX``.)

* **Exact or an error.** The ledger and an order's fill sums trap ``Inexact``: a sum that would
  need more digits raises instead of rounding silently (the ledger's :class:`~engines.errors.LedgerError`,
  the order book's :class:`~engines.errors.OrderStateError`).
* **Correctly rounded division.** A division under ROUND_05UP with digits to spare, then quantized
  half-even, is the correctly rounded quotient: 05UP keeps a rounded intermediate from ever looking
  like an exact half (``engines.ledger`` to its book quantum, ``engines.sim.fees`` to its fee quantum).
* **Never round at all.** The venue's running sums of what working orders hold are exact at any size
  (:data:`RESERVATION_CONTEXT` has every digit there is), so they equal a scan of the orders to the digit.
* **Round the safe way.** Sizing rounds toward zero (a portfolio order is never above its target)
  or down (a leg's quantity floors to its lot).
* **Report, don't refuse.** ``avg_px`` has 28 significant digits, the default precision, and the
  tick grid only traps what has no answer at all (a remainder too large for its digits is off any grid).

Changing any setting here can change a digest of the golden replays; ``tests/unit/engines/test_decimals.py``
pins every one.
"""

from __future__ import annotations

from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_05UP,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Context,
    DecimalException,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from typing import Final

__all__ = [
    "AVG_PX_CONTEXT",
    "INDICATOR_EXACT_CONTEXT",
    "INDICATOR_STATE_CONTEXT",
    "INDICATOR_VALUE_CONTEXT",
    "LEDGER_CONTEXT",
    "LEDGER_DIVISION_CONTEXT",
    "LEG_SIZE_CONTEXT",
    "ORDER_SUM_CONTEXT",
    "PORTFOLIO_CONTEXT",
    "REPORT_CONTEXT",
    "RESERVATION_CONTEXT",
    "SIM_CONTEXT",
    "SIM_DIVISION_CONTEXT",
    "TICK_GRID_CONTEXT",
]

#: The exponent range of most contexts: far beyond any price or quantity, small enough to stay fast.
_E: Final = 999_999
#: The traps of most contexts: a result that has no answer, or no finite one, raises.
_NO_ANSWER: Final[tuple[type[DecimalException], ...]] = (InvalidOperation, DivisionByZero, Overflow)


def _context(
    prec: int, rounding: str, emin: int, emax: int, traps: tuple[type[DecimalException], ...]
) -> Context:
    return Context(
        prec=prec,
        rounding=rounding,
        Emin=emin,
        Emax=emax,
        capitals=1,
        clamp=0,
        flags=[],
        traps=list(traps),
    )


# ── the ledger ──────────────────────────────────────────────────────────────────────────────────

LEDGER_CONTEXT: Final = _context(50, ROUND_HALF_EVEN, -_E, _E, (*_NO_ANSWER, Inexact))
"""Every ledger computation: sums and products are exact (``Inexact`` is trapped)."""

LEDGER_DIVISION_CONTEXT: Final = _context(50, ROUND_05UP, -_E, _E, _NO_ANSWER)
"""The ledger's divisions (averages, the closed share of a basis), before quantizing half-even."""

# ── the order book ──────────────────────────────────────────────────────────────────────────────

ORDER_SUM_CONTEXT: Final = _context(60, ROUND_HALF_EVEN, MIN_EMIN, MAX_EMAX, (Inexact, Overflow))
"""An order's sums over its fills (executed quantity, notional): exact or an error."""

AVG_PX_CONTEXT: Final = _context(28, ROUND_HALF_EVEN, MIN_EMIN, MAX_EMAX, _NO_ANSWER)
"""An order's average fill price: exact unless the division does not terminate."""

# ── market rules ────────────────────────────────────────────────────────────────────────────────

TICK_GRID_CONTEXT: Final = _context(60, ROUND_HALF_EVEN, -_E, _E, (InvalidOperation,))
"""Tick grids and daily price bands (``engines.markets.prices``)."""

# ── the simulated venue ─────────────────────────────────────────────────────────────────────────

SIM_CONTEXT: Final = _context(60, ROUND_HALF_EVEN, -_E, _E, _NO_ANSWER)
"""Everything the simulated venue computes while it answers a command or a market event."""

SIM_DIVISION_CONTEXT: Final = _context(60, ROUND_05UP, -_E, _E, _NO_ANSWER)
"""The venue's fee divisions, before quantizing half-even to the fee quantum."""

RESERVATION_CONTEXT: Final = _context(MAX_PREC, ROUND_HALF_EVEN, MIN_EMIN, MAX_EMAX, _NO_ANSWER)
"""The running sums of what the venue's working orders hold: sums and differences never round."""

# ── engines ─────────────────────────────────────────────────────────────────────────────────────

PORTFOLIO_CONTEXT: Final = _context(50, ROUND_DOWN, -_E, _E, _NO_ANSWER)
"""Portfolio sizing: rounding down means a rounded quotient never sizes an order above its target."""

LEG_SIZE_CONTEXT: Final = _context(60, ROUND_FLOOR, -_E, _E, _NO_ANSWER)
"""Arbitrage leg sizing and leg sums: FLOOR is what lot rounding wants."""

# ── indicators (engines/indicators.py) ──────────────────────────────────────────────────────────

INDICATOR_EXACT_CONTEXT: Final = _context(
    MAX_PREC, ROUND_HALF_EVEN, MIN_EMIN, MAX_EMAX, (*_NO_ANSWER, Inexact)
)
"""An indicator's running sums, differences and the products of a comparison: never rounded."""

INDICATOR_STATE_CONTEXT: Final = _context(50, ROUND_HALF_EVEN, -_E, _E, _NO_ANSWER)
"""The one rounding per update of a recursive indicator's state (EMA, RSI, ATR) and Bollinger's root."""

INDICATOR_VALUE_CONTEXT: Final = _context(28, ROUND_HALF_EVEN, -_E, _E, _NO_ANSWER)
"""What an indicator's ``update`` and ``value`` return: 28 significant digits, half-even."""

# ── reports ─────────────────────────────────────────────────────────────────────────────────────

REPORT_CONTEXT: Final = _context(50, ROUND_HALF_EVEN, -_E, _E, _NO_ANSWER)
"""The report's ratios and averages (daemon/report.py), rounded half-even when they are shown."""
