"""``vibetrading record``: a venue's market stream written in the ``../shared/data`` CSV format, so users
build their own replay data (docs/emulators.md, Recording).

One gzip CSV per symbol, with the header of its kind:

* quotes: ``ts_ns,bid,bid_qty,ask,ask_qty`` (top of book after each update),
* trades: ``ts_ns,price,qty,aggressor,trade_id`` (``aggressor`` is the taker side, ``buy``/``sell``).

``ts_ns`` is the venue's event time where its message has one, else the receive time (Binance spot
bookTicker carries no time). Prices and sizes are written as the venue sent them (the parsers keep the
exact decimal strings). The data format needs ``ts_ns`` non-decreasing per file, and venue clocks can
step back a millisecond between messages: such a row is written at the previous row's time, and the
summary counts them.

A file is written under ``NAME.partial`` and renamed into place when the recording ends (after
``--duration`` seconds, or at SIGINT/SIGTERM), so a file with the final name is always complete; a
killed recording leaves only the ``.partial``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, TextIO

from adapters.ports import MarketDataClient
from daemon.interrupt import stop_on_signals
from engines.errors import VibeError
from engines.model.enums import Side
from engines.model.events import QuoteTick, TradeTick
from engines.model.instruments import parse_symbol

__all__ = ["HEADERS", "RecordError", "Recorder", "output_paths", "record", "replayable_name"]

Kind = Literal["quotes", "trades"]

HEADERS: Final[dict[str, str]] = {
    "quotes": "ts_ns,bid,bid_qty,ask,ask_qty\n",
    "trades": "ts_ns,price,qty,aggressor,trade_id\n",
}

_DATA_NAME: Final = re.compile(r"^([^_]+)_([^_]+)_([^_]+)_([^_]+?)(\.csv(?:\.gz)?)$")


class RecordError(VibeError):
    """The recording cannot start or its output cannot be written."""

    code = "VT730"


def output_paths(out: str, symbols: Sequence[str], kind: Kind) -> dict[str, Path]:
    """The file each symbol is written to.

    One symbol: ``out`` itself. Several: ``out`` must be named as the data files are
    (``<market>_<instrument>_<kind>_<period>.csv.gz``), and each symbol's file takes that name with
    its own market and instrument, so that every file replays as it is.
    """
    path = Path(out)
    if not path.name.endswith(".csv.gz"):
        raise RecordError(f"--out {out}: the file name must end in .csv.gz (a gzip CSV)")
    if len(symbols) == 1:
        return {symbols[0]: path}
    return _per_symbol(path, out, symbols, kind)


def replayable_name(path: Path) -> bool:
    """Whether the replay can read the file as it is named (it takes the symbol from the name)."""
    return _DATA_NAME.match(path.name) is not None


def _per_symbol(path: Path, out: str, symbols: Sequence[str], kind: Kind) -> dict[str, Path]:
    match = _DATA_NAME.match(path.name)
    if match is None:
        raise RecordError(
            f"--out {out}: with several symbols, name the file as the data files are named, "
            "<market>_<instrument>_<kind>_<period>.csv.gz; each symbol's file takes its own market and "
            "instrument",
            hint="For example --out data/binance-spot_BTCUSDT_quotes_20261203.csv.gz",
        )
    paths: dict[str, Path] = {}
    for symbol in symbols:
        parsed = parse_symbol(symbol)
        instrument = parsed.instrument.replace("_", "-")
        paths[symbol] = path.with_name(
            f"{parsed.market}_{instrument}_{kind}_{match.group(4)}{match.group(5)}"
        )
    if len(set(paths.values())) != len(paths):
        raise RecordError(f"--out {out}: two symbols would be written to the same file")
    return paths


@dataclass
class _Sink:
    path: Path
    partial: Path
    stream: TextIO
    rows: int = 0
    last_ts: int = 0
    clamped: int = 0


@dataclass
class Recorder:
    """Writes events of one kind to one file per symbol; :meth:`finish` renames the files into place."""

    kind: Kind
    paths: dict[str, Path]
    _sinks: dict[str, _Sink] = field(default_factory=dict)

    def open(self) -> None:
        for symbol, path in self.paths.items():
            if path.exists():
                raise RecordError(f"{path}: exists; recording never overwrites a data file")
            partial = path.with_name(path.name + ".partial")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                stream = gzip.open(partial, "wt", encoding="utf-8", newline="")  # noqa: SIM115 - closed in finish
            except OSError as exc:
                raise RecordError(f"{partial}: {exc.strerror or exc}") from exc
            stream.write(HEADERS[self.kind])
            self._sinks[symbol] = _Sink(path, partial, stream)

    def write(self, event: QuoteTick | TradeTick) -> bool:
        """Write the event if it is of this kind and symbol; whether it was written."""
        sink = self._sinks.get(event.instrument)
        wanted = isinstance(event, QuoteTick) if self.kind == "quotes" else isinstance(event, TradeTick)
        if sink is None or not wanted:
            return False
        ts = event.ts_event or event.ts_init
        if ts < sink.last_ts:
            ts = sink.last_ts
            sink.clamped += 1
        sink.last_ts = ts
        if isinstance(event, QuoteTick):
            sink.stream.write(f"{ts},{event.bid},{event.bid_size},{event.ask},{event.ask_size}\n")
        else:
            aggressor = "buy" if event.aggressor is Side.BUY else "sell"
            sink.stream.write(f"{ts},{event.price},{event.size},{aggressor},{event.trade_id}\n")
        sink.rows += 1
        return True

    def finish(self) -> list[tuple[Path, int, int]]:
        """Close every file and rename it into place: (path, rows, rows clamped in time)."""
        done = []
        for sink in self._sinks.values():
            sink.stream.close()
            os.replace(sink.partial, sink.path)
            done.append((sink.path, sink.rows, sink.clamped))
        return done

    def abandon(self) -> None:
        for sink in self._sinks.values():
            with contextlib.suppress(OSError):
                sink.stream.close()


async def record(
    client: MarketDataClient,
    symbols: Sequence[str],
    kind: Kind,
    out: str,
    *,
    duration_s: float | None,
    log: TextIO,
    stop: asyncio.Event | None = None,
    progress_every_s: float = 5.0,
) -> list[tuple[Path, int, int]]:
    """Subscribe ``client`` to ``symbols`` and write ``kind`` until ``duration_s`` passes or ``stop``
    (SIGINT/SIGTERM set it) — then close the client and return what was written."""
    recorder = Recorder(kind, output_paths(out, symbols, kind))
    recorder.open()
    with stop_on_signals(stop or asyncio.Event()) as stopped:
        try:
            await _record_until(
                client, recorder, stopped, duration_s=duration_s, log=log, progress_every_s=progress_every_s
            )
        except BaseException:
            recorder.abandon()
            raise
    return recorder.finish()


async def _record_until(
    client: MarketDataClient,
    recorder: Recorder,
    stop: asyncio.Event,
    *,
    duration_s: float | None,
    log: TextIO,
    progress_every_s: float,
) -> None:
    kind = recorder.kind
    await client.subscribe(list(recorder.paths), quotes=kind == "quotes", trades=kind == "trades")
    written = 0
    started = time.monotonic()
    next_progress = started + progress_every_s

    async def pump() -> None:
        nonlocal written, next_progress
        async for event in client.events():
            if isinstance(event, QuoteTick | TradeTick) and recorder.write(event):
                written += 1
            now = time.monotonic()
            if now >= next_progress:
                print(f"recording: {written:,} {kind} in {now - started:.0f} s", file=log, flush=True)
                next_progress = now + progress_every_s

    pumping = asyncio.create_task(pump())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({pumping, stopping}, timeout=duration_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not pumping.done():
            pumping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pumping  # a stream that failed raises its error here
    await client.close()
