"""``vibetrading venue serve VENUE``: run a venue's emulator until stopped (docs/emulators.md).

The emulator speaks the venue's REST and WebSocket protocol on one port, on the venue's own paths,
matches orders with the simulated venue, and plays market data from ``--data`` files (the
``../shared/data`` CSV formats or a replay fixture) at ``--speed`` times real time, or a seeded random
walk without them. It prints the URLs it serves and the keys it accepts, then serves until SIGINT or
SIGTERM.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Final, TextIO

from adapters.emulator import EmulatorOptions, RunningEmulator, parse_faults
from adapters.emulator.exchange import MarketEvent
from adapters.emulator.faults import EmulatorConfigError
from adapters.emulator.options import DEFAULT_BALANCES, TEST_KEYS, load_keys, parse_balances
from daemon.interrupt import stop_on_signals
from engines.model.events import QuoteTick, TradeTick
from engines.model.instruments import market_of

__all__ = ["EMULATED_VENUES", "ServeArgs", "serve"]

Serve = Callable[..., Awaitable[RunningEmulator]]


def _binance() -> tuple[Serve, tuple[str, ...]]:
    from adapters.binance.emulator import DEFAULT_SYMBOLS, serve_binance  # noqa: PLC0415

    return serve_binance, DEFAULT_SYMBOLS


def _bybit() -> tuple[Serve, tuple[str, ...]]:
    from adapters.bybit.emulator import DEFAULT_SYMBOLS, serve_bybit  # noqa: PLC0415

    return serve_bybit, DEFAULT_SYMBOLS


def _kis() -> tuple[Serve, tuple[str, ...]]:
    from adapters.kis.emulator import DEFAULT_SYMBOLS, serve_kis  # noqa: PLC0415

    return serve_kis, DEFAULT_SYMBOLS


def _kiwoom() -> tuple[Serve, tuple[str, ...]]:
    from adapters.kiwoom.emulator import DEFAULT_SYMBOLS, serve_kiwoom  # noqa: PLC0415

    return serve_kiwoom, DEFAULT_SYMBOLS


#: venue → (its markets, a loader of its serve function and default symbols)
EMULATED_VENUES: Final[dict[str, tuple[tuple[str, ...], Callable[[], tuple[Serve, tuple[str, ...]]]]]] = {
    "binance": (("binance-spot", "binance-usdm"), _binance),
    "bybit": (("bybit-spot", "bybit-linear"), _bybit),
    "kis": (("krx",), _kis),
    "kiwoom": (("krx",), _kiwoom),
}


class ServeArgs:
    """The command's options, checked."""

    def __init__(
        self,
        venue: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        data: Sequence[str] = (),
        speed: float = 1.0,
        faults: str = "",
        seed: int = 0,
        keys: str | None = None,
        balances: Sequence[str] = (),
        symbols: Sequence[str] = (),
    ) -> None:
        if venue not in EMULATED_VENUES:
            raise EmulatorConfigError(f"no emulator for venue {venue!r}; choose {', '.join(EMULATED_VENUES)}")
        if not 0 <= port <= 65535:
            raise EmulatorConfigError(f"--port {port}: not a TCP port (0 picks a free one)")
        if not (speed > 0 and speed <= 10_000):
            raise EmulatorConfigError(f"--speed {speed}: must be above 0 and at most 10000")
        self.venue = venue
        self.host = host
        self.port = port
        self.data = tuple(data)
        self.speed = speed
        self.fault_spec = parse_faults(faults)
        self.seed = seed
        self.keys = load_keys(Path(keys)) if keys else dict(TEST_KEYS)
        self.balances: dict[str, Decimal] = parse_balances(balances) if balances else dict(DEFAULT_BALANCES)
        markets, loader = EMULATED_VENUES[venue]
        self.markets = markets
        self.loader = loader
        for symbol in symbols:
            self._check_market(symbol, "--symbol")
        self.symbols = tuple(symbols)

    def _check_market(self, symbol: str, option: str) -> None:
        try:
            market = market_of(symbol)
        except Exception as exc:
            raise EmulatorConfigError(f"{option} {symbol!r}: not a symbol ({exc})") from None
        if market not in self.markets:
            raise EmulatorConfigError(
                f"{option} {symbol!r}: the {self.venue} emulator serves {', '.join(self.markets)} only"
            )


def _recording(args: ServeArgs) -> tuple[Iterable[MarketEvent] | None, set[str]]:
    """The market data files merged into one stream, and the symbols they hold (checked up front)."""
    if not args.data:
        return None, set()
    from daemon.data.sources import merge, symbols_in  # noqa: PLC0415

    symbols: set[str] = set()
    for path in args.data:
        for symbol in symbols_in(path):
            args._check_market(symbol, f"--data {path}:")
            symbols.add(symbol)

    def events() -> Iterator[MarketEvent]:
        for event in merge(args.data):
            if isinstance(event, QuoteTick | TradeTick):
                yield event

    return events(), symbols


async def serve(args: ServeArgs, out: TextIO = sys.stdout, *, stop: asyncio.Event | None = None) -> int:
    """Serve until SIGINT/SIGTERM (or ``stop``); 0 on a clean stop."""
    serve_venue, defaults = args.loader()
    recording, data_symbols = _recording(args)
    symbols = tuple(dict.fromkeys([*(args.symbols or defaults), *sorted(data_symbols)]))
    options = EmulatorOptions(
        keys=args.keys,
        balances=args.balances,
        faults=args.fault_spec,
        seed=args.seed,
        symbols=symbols,
        speed=args.speed,
        walk=recording is None,
    )
    with stop_on_signals(stop or asyncio.Event()) as stopped:
        emulator = await serve_venue(options, host=args.host, port=args.port, recording=recording)
        try:
            _announce(args, emulator, symbols, out)
            await stopped.wait()
        finally:
            await emulator.close()
    print(f"{args.venue} emulator stopped", file=out, flush=True)
    return 0


def _announce(args: ServeArgs, emulator: RunningEmulator, symbols: Sequence[str], out: TextIO) -> None:
    market = (
        f"{len(args.data)} data file(s) at {args.speed:g}x"
        if args.data
        else f"random walk (seed {args.seed})"
    )
    lines = [
        f"{args.venue} emulator serving",
        f"  rest      {emulator.http_root}",
        f"  websocket {emulator.ws_root}",
        f"  state     {emulator.http_root}/_emulator/state",
        f"  symbols   {', '.join(symbols)}",
        f"  market    {market}",
        f"  faults    {args.fault_spec.render()} (seed {args.seed})",
        f"  keys      {', '.join(sorted(args.keys))}"
        + (
            " (the documented test key; its secret is in docs/emulators.md)"
            if args.keys == dict(TEST_KEYS)
            else ""
        ),
        f"  balances  {', '.join(f'{a}={v}' for a, v in sorted(args.balances.items()))}",
    ]
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        lines.append(f"  warning   bound to {args.host}: reachable beyond this machine")
    print("\n".join(lines), file=out, flush=True)
