"""What every venue emulator shares: the exchange core (accounts, orders, trades, balances, matched by
the pure simulated venue of engines/), market data from a recording or a seeded random walk, seeded
fault injection, and the aiohttp server that hosts a venue's protocol (docs/emulators.md).

A venue's emulator (``adapters/<venue>/emulator.py``) is only its protocol: routes on the venue's own
paths that decode requests, check signatures on the raw bytes, call the :class:`Exchange` and encode
its answers and events as the venue does.
"""

from adapters.emulator.exchange import Exchange, OrderRecord, OrderState, TradeRecord
from adapters.emulator.faults import Faults, FaultSpec, parse_faults
from adapters.emulator.options import DEFAULT_BALANCES, TEST_KEYS, EmulatorOptions
from adapters.emulator.server import RunningEmulator, start_server

__all__ = [
    "DEFAULT_BALANCES",
    "TEST_KEYS",
    "EmulatorOptions",
    "Exchange",
    "FaultSpec",
    "Faults",
    "OrderRecord",
    "OrderState",
    "RunningEmulator",
    "TradeRecord",
    "parse_faults",
    "start_server",
]
