"""What a sweep runs, parsed from the command line: the grid, the objective and walk-forward windows.

Nothing here runs a replay or touches Ray, so every mistake in ``--grid``, ``--objective`` or
``--walk-forward`` is refused (VT711) before a cluster is started.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from engines.errors import VibeError
from engines.units import NS_PER_DAY, NS_PER_SECOND

SWEEP_CODE = "VT711"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RANGE = re.compile(r"(-?[0-9.]+)\.\.(-?[0-9.]+)\Z")
_DURATION = re.compile(r"([0-9]+)([smhdw])\Z")
_UNIT_NS = {
    "s": NS_PER_SECOND,
    "m": 60 * NS_PER_SECOND,
    "h": 3600 * NS_PER_SECOND,
    "d": NS_PER_DAY,
    "w": 7 * NS_PER_DAY,
}
#: a grid larger than this is almost always a typo (a range of prices instead of a few values)
MAX_GRID_TRIALS = 100_000


class SweepError(VibeError):
    """A sweep option that cannot be run: refused before any trial starts."""

    code = SWEEP_CODE


class Axis(msgspec.Struct, frozen=True):
    """One ``--grid`` option: a parameter and its values (strings, as ``--param`` takes them).

    ``low``/``high`` are set for a range ``LO..HI``: a grid expands an integer range to every
    integer in it; an Optuna search draws from the range (integers if both ends are).
    """

    name: str
    values: tuple[str, ...]
    low: str | None = None
    high: str | None = None

    @property
    def is_int_range(self) -> bool:
        return self.low is not None and _is_int(self.low) and self.high is not None and _is_int(self.high)


def _is_int(text: str) -> bool:
    return re.fullmatch(r"-?[0-9]+", text) is not None


def parse_axis(text: str) -> Axis:
    """``fast=5,10,20`` or ``fast=5..20`` → an :class:`Axis`; anything else is VT711."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep:
        raise SweepError(f"--grid {text!r}: expected NAME=V1,V2,... (or NAME=LO..HI)")
    if not _NAME.match(name):
        raise SweepError(f"--grid {text!r}: {name!r} is not a parameter name")
    found = _RANGE.match(raw.strip())
    if found:
        low, high = found.group(1), found.group(2)
        try:
            lo, hi = Decimal(low), Decimal(high)
        except InvalidOperation:
            raise SweepError(f"--grid {text!r}: {raw!r} is not a range of numbers") from None
        if lo > hi:
            raise SweepError(f"--grid {text!r}: the range's low end {low} is above its high end {high}")
        values: tuple[str, ...] = ()
        if _is_int(low) and _is_int(high):
            if int(high) - int(low) >= MAX_GRID_TRIALS:
                raise SweepError(f"--grid {text!r}: the range holds more than {MAX_GRID_TRIALS} values")
            values = tuple(str(v) for v in range(int(low), int(high) + 1))
        return Axis(name, values, low, high)
    values = tuple(v.strip() for v in raw.split(","))
    if not raw.strip() or any(not v for v in values):
        raise SweepError(f"--grid {text!r}: every value must be non-empty (NAME=V1,V2,...)")
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise SweepError(f"--grid {text!r}: the value {value!r} is given twice")
        seen.add(value)
    return Axis(name, values)


def parse_grid(texts: Sequence[str]) -> tuple[Axis, ...]:
    if not texts:
        raise SweepError("give at least one --grid NAME=V1,V2,...")
    axes = tuple(parse_axis(t) for t in texts)
    names = [a.name for a in axes]
    for name in names:
        if names.count(name) > 1:
            raise SweepError(
                f"--grid {name}: the parameter is given twice; list all its values in one --grid"
            )
    return axes


def grid_points(axes: Sequence[Axis]) -> list[dict[str, str]]:
    """Every combination, the first axis slowest: the trial numbers follow the command line."""
    for axis in axes:
        if not axis.values:
            raise SweepError(
                f"--grid {axis.name}={axis.low}..{axis.high}: a grid needs integer ends; "
                "a decimal range needs --search optuna"
            )
    size = 1
    for axis in axes:
        size *= len(axis.values)
    if size > MAX_GRID_TRIALS:
        raise SweepError(f"the grid has {size} combinations; at most {MAX_GRID_TRIALS} are run")
    return [
        dict(zip([a.name for a in axes], combo, strict=True))
        for combo in itertools.product(*(a.values for a in axes))
    ]


def check_names(axes: Sequence[Axis], known: Sequence[str]) -> None:
    """Every grid parameter must be one the strategy declares (a typo would sweep nothing)."""
    for axis in axes:
        if axis.name not in known:
            raise SweepError(
                f"--grid {axis.name}: the strategy has no parameter {axis.name!r} "
                f"(it has: {', '.join(sorted(known)) or 'none'})"
            )


# ── objective ────────────────────────────────────────────────────────────────────────────────────


class Objective(msgspec.Struct, frozen=True):
    key: str
    maximize: bool = True

    def __str__(self) -> str:
        return f"{self.key}:{'max' if self.maximize else 'min'}"


def parse_objective(text: str, report_keys: Sequence[str]) -> Objective:
    """``KEY`` (maximised), ``KEY:max`` or ``KEY:min``: KEY a numeric key of report.json."""
    key, sep, direction = text.partition(":")
    if sep and direction not in ("max", "min"):
        raise SweepError(f"--objective {text!r}: the direction after ':' is max or min")
    if key not in report_keys:
        raise SweepError(f"--objective {text!r}: not a report key (one of: {', '.join(report_keys)})")
    return Objective(key, maximize=direction != "min")


def objective_value(row: dict[str, Any], objective: Objective) -> Decimal | None:
    """The trial's objective as a number, or None (failed trial, or a value that is not a number)."""
    if row.get("status") != "ok":
        return None
    raw = row.get("report", {}).get(objective.key)
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def best_index(rows: Sequence[dict[str, Any]], objective: Objective) -> int | None:
    """The index of the best row; ties go to the earliest trial, so the choice is reproducible."""
    best: tuple[Decimal, int] | None = None
    for i, row in enumerate(rows):
        value = objective_value(row, objective)
        if value is None:
            continue
        score = value if objective.maximize else -value
        if best is None or score > best[0]:
            best = (score, i)
    return None if best is None else best[1]


# ── walk-forward ─────────────────────────────────────────────────────────────────────────────────


def parse_duration(text: str, option: str) -> int:
    """``90m``, ``12h``, ``7d``, ``2w`` → nanoseconds (whole units: s, m, h, d, w)."""
    found = _DURATION.match(text.strip())
    if not found or int(found.group(1)) == 0:
        raise SweepError(f"{option} {text!r}: a duration is a positive whole number with s, m, h, d or w")
    return int(found.group(1)) * _UNIT_NS[found.group(2)]


class Window(msgspec.Struct, frozen=True):
    """One walk-forward step: choose on ``[train_start, train_end)``, test on ``[train_end, test_end)``."""

    index: int
    train_start: int
    train_end: int
    test_end: int


def parse_walk_forward(text: str) -> tuple[int, int]:
    train, sep, test = text.partition("/")
    if not sep:
        raise SweepError(f"--walk-forward {text!r}: expected TRAIN/TEST, for example 7d/1d")
    return parse_duration(train, "--walk-forward"), parse_duration(test, "--walk-forward")


def windows(first_ns: int, last_ns: int, train_ns: int, test_ns: int) -> list[Window]:
    """Rolling windows over the data's span ``[first_ns, last_ns]``, stepping by the test length.

    The test windows tile the data after the first train window without overlap; a test window
    that would run past the data's last event is dropped (a partial window would be scored on
    less data than the others).
    """
    out: list[Window] = []
    start = first_ns
    while start + train_ns + test_ns <= last_ns + 1:
        out.append(Window(len(out), start, start + train_ns, start + train_ns + test_ns))
        start += test_ns
    if not out:
        raise SweepError(
            f"--walk-forward: the data spans {_human(last_ns - first_ns + 1)}, less than one train "
            f"window plus one test window ({_human(train_ns)} + {_human(test_ns)})"
        )
    return out


def _human(ns: int) -> str:
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNIT_NS[unit]
        if ns >= size:
            return f"{ns / size:.4g}{unit}"
    return f"{ns}ns"
