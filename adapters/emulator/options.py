"""An emulator's settings: API keys, starting balances, faults, seed, instruments, market data.

Without ``--keys`` an emulator knows one documented test key pair, :data:`TEST_KEYS`; every account
starts with :data:`DEFAULT_BALANCES` unless ``--balance ASSET=AMOUNT`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Final

import msgspec

from adapters.emulator.faults import EmulatorConfigError, FaultSpec

__all__ = [
    "DEFAULT_BALANCES",
    "TEST_API_KEY",
    "TEST_API_SECRET",
    "TEST_KEYS",
    "EmulatorOptions",
    "load_keys",
    "parse_balances",
]

TEST_API_KEY: Final = "vibetrading-test-key"
TEST_API_SECRET: Final = "vibetrading-test-secret"  # noqa: S105 - documented, loopback only
TEST_KEYS: Final[Mapping[str, str]] = {TEST_API_KEY: TEST_API_SECRET}

DEFAULT_BALANCES: Final[Mapping[str, Decimal]] = {
    "USDT": Decimal(100_000),
    "BTC": Decimal(1),
    "ETH": Decimal(10),
}


class EmulatorOptions(msgspec.Struct, frozen=True, kw_only=True):
    """What an emulator serves.

    ``symbols`` are engine symbols (``binance-spot:BTCUSDT``); empty means the venue's defaults.
    ``speed`` paces a recording (1.0: real time); ``walk`` plays a seeded random walk when no
    recording is given and ``walk`` is true (a test that moves the market itself sets it false).
    """

    keys: Mapping[str, str] = msgspec.field(default_factory=lambda: dict(TEST_KEYS))
    balances: Mapping[str, Decimal] = msgspec.field(default_factory=lambda: dict(DEFAULT_BALANCES))
    faults: FaultSpec = msgspec.field(default_factory=FaultSpec)
    seed: int = 0
    symbols: tuple[str, ...] = ()
    speed: float = 1.0
    walk: bool = True
    walk_interval_s: float = 0.25
    #: how long a request chosen for a timeout fault is held before the connection is closed
    hang_s: float = 30.0


def load_keys(path: Path) -> dict[str, str]:
    """``--keys FILE``: a JSON object mapping API keys to secrets."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EmulatorConfigError(f"--keys {path}: {exc.strerror or exc}") from exc
    try:
        keys = msgspec.json.decode(raw, type=dict[str, str])
    except msgspec.DecodeError as exc:
        raise EmulatorConfigError(
            f"--keys {path}: not a JSON object of API key to secret strings ({exc})",
            hint='Write {"my-key": "my-secret", ...}.',
        ) from exc
    if not keys or not all(k and s for k, s in keys.items()):
        raise EmulatorConfigError(f"--keys {path}: needs at least one non-empty key and secret")
    return keys


def parse_balances(items: Iterable[str]) -> dict[str, Decimal]:
    """``--balance ASSET=AMOUNT`` (repeatable): the starting balances, replacing the defaults."""
    out: dict[str, Decimal] = {}
    for item in items:
        asset, sep, amount = item.partition("=")
        asset = asset.strip().upper()
        try:
            value = Decimal(amount.strip())
        except InvalidOperation:
            value = Decimal(-1)
        if not sep or not asset.isalnum() or not value.is_finite() or value < 0:
            raise EmulatorConfigError(
                f"--balance {item!r}: expected ASSET=AMOUNT with a non-negative decimal amount",
                hint="For example --balance USDT=50000 --balance BTC=0.5",
            )
        out[asset] = value
    return out
