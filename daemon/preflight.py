"""Load a strategy file through the sandbox, check its declaration, and check it against the matrix.

This is what ``vibetrading validate`` runs and what every run command runs before it starts: a
strategy that fails here never sees an event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import msgspec

from adapters.capabilities import Mode, preflight
from daemon.instruments import Instruments, resolve
from daemon.instruments import load as load_instruments
from engines.errors import VibeError
from engines.kernel import Engine, make_engine
from engines.ledger import Ledger
from engines.orders.book import Orders
from engines.strategy.declaration import StrategySpec, declare, parse_overrides
from engines.strategy.sandbox.runtime import load_module


class UsageError(Exception):
    """Wrong use of the command line (exit code 2), as opposed to an invalid strategy (exit code 1)."""


class LoadedStrategy(msgspec.Struct, frozen=True):
    spec: StrategySpec
    source_sha256: str


def read_source(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a strategy file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise VibeError("the file is not valid UTF-8", code="VT204", file=str(path), line=line) from None


def load_strategy(
    path: Path,
    *,
    params: Sequence[str] = (),
    expected_type: str | None = None,
) -> LoadedStrategy:
    source = read_source(path)
    filename = str(path)
    overrides = parse_overrides(params)
    namespace = load_module(source, filename, module_name=_module_name(path))
    spec = declare(
        namespace,
        source=source,
        filename=filename,
        overrides=overrides,
        expected_type=expected_type,
    )
    return LoadedStrategy(spec, hashlib.sha256(source.encode()).hexdigest())


def validate(
    path: Path,
    *,
    venues: Sequence[str] = (),
    mode: Mode = Mode.BACKTEST,
    params: Sequence[str] = (),
    expected_type: str | None = None,
    instruments: Path | None = None,
) -> LoadedStrategy:
    """Everything ``validate`` checks; raises a :class:`VibeError` (exit 1) or :class:`UsageError`.

    ``instruments`` is a replay's instruments file: its markets are the simulated venue's, so in a
    backtest the venue check skips the symbols it defines (a live venue lists its own markets).
    """
    loaded = load_strategy(path, params=params, expected_type=expected_type)
    user = load_instruments(instruments) if instruments is not None else None
    universe = loaded.spec.universe
    try:
        if mode is Mode.BACKTEST:
            resolve(universe, user)  # first: VT135 says how to define an unknown market, VT134 does not
            if user is not None:
                universe = tuple(s for s in universe if not user.user.defines(s))
        preflight(venues, mode, universe)
        build_engine(loaded, instruments=user)
    except VibeError as exc:
        exc.file = exc.file or loaded.spec.file
        raise
    return loaded


def build_engine(loaded: LoadedStrategy, *, instruments: Instruments | None = None) -> Engine:
    """The strategy's engine, built as a run builds it: its constructor checks every setting it reads
    (a portfolio's schedule, an arbitrage's legs and policy, ...), so what a run would refuse at
    start, validate refuses too, with the same code."""
    spec = loaded.spec
    specs = resolve(spec.universe, instruments)
    currency = specs[spec.universe[0]].quote
    return make_engine(spec, Ledger(), Orders(), currency=currency, specs=specs)


def _module_name(path: Path) -> str:
    stem = "".join(ch if ch.isalnum() else "_" for ch in path.stem)
    return f"vibetrading_strategy_{stem}"
