"""The replay driver: recorded market data through the replay clock into the kernel.

The kernel (engines/kernel.py) is the session fold every driver shares; this driver owns only what a
backtest adds around it: the simulated venue as the venue port, the replay clock, a journal file,
and two coroutines. The feeder reads batches of market events and hands each batch (not each event:
a per-event ``asyncio.Queue`` hand-off caps near 200k events/s) to the engine coroutine, which steps
the kernel through it. Timers fire in exchange time between instants (``Kernel.step_batch``).

Clock policy (per mode):

* **backtest (replay clock)**: time is the exchange timestamp of the event being processed. Every
  fact's ``ts_init`` is that timestamp, so a replay never reads the wall clock and two replays of the
  same inputs write byte-identical journals.
* **paper and live (realtime clock)**: ``ts_init`` is the local wall clock in nanoseconds when the
  fact is created; ``ts_event`` stays the venue's time.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TextIO

import msgspec

from adapters.capabilities import Mode, preflight
from daemon import data, outdir, report, report_html
from daemon.data.cache import BuildPolicy, DataCache
from daemon.instruments import Instruments, resolve
from daemon.instruments import load as load_instruments
from daemon.interrupt import Interrupted, interruptible
from daemon.journal import FileJournal, file_sha256
from daemon.preflight import LoadedStrategy, load_strategy
from engines.clock import ReplayClock
from engines.errors import VibeError
from engines.kernel import JournalPort, Kernel, make_engine
from engines.ledger import Ledger
from engines.model.events import AnyEvent, DataFile, MarketEvent, RunSettings, RunStarted
from engines.model.instruments import InstrumentSpec
from engines.orders.book import Orders
from engines.sim.venue import SimVenue
from engines.units import NS_PER_DAY, NS_PER_MS, NS_PER_SECOND

JOURNAL_NAME = "journal.vtj"
DEFAULT_SAMPLE_NS = NS_PER_SECOND
QUEUE_BATCHES = 8


class ReplayConfig(msgspec.Struct, frozen=True, kw_only=True):
    strategy: Path
    data: tuple[Path, ...]
    out: Path
    params: tuple[str, ...] = ()
    cash: Decimal = Decimal(100_000)
    fee_bps: Decimal | None = None
    latency_ns: int = 0
    reject_every: int | None = None
    reject_prob: Decimal | None = None
    sample_ns: int = DEFAULT_SAMPLE_NS
    loop: str = "asyncio"
    seed: int = 0
    quiet: bool = False
    #: replace a previous run's output in ``out`` (never anything else)
    force: bool = False
    #: a TOML file of the user's own markets and symbols (daemon/instruments.py)
    instruments: Path | None = None
    #: replay only the events with ``start_ns <= ts_event < end_ns`` (a sweep's walk-forward window)
    start_ns: int | None = None
    end_ns: int | None = None
    #: read large CSV files' decoded events from the data cache (daemon/data/cache.py) when it holds them
    data_cache: bool = True
    #: on a cache miss: start a detached builder ("background"), build first ("now"), or nothing ("no")
    data_cache_build: BuildPolicy = "background"


class ReplayResult(msgspec.Struct, frozen=True):
    out: Path
    report: report.Report


def _kernel(
    loaded: LoadedStrategy, specs: dict[str, InstrumentSpec], journal: JournalPort, cfg: ReplayConfig
) -> Kernel:
    """A kernel wired for a backtest: the simulated venue answers at once, on the replay clock."""
    spec = loaded.spec
    ledger, orders, clock = Ledger(), Orders(), ReplayClock()
    currency = specs[spec.universe[0]].quote
    venue = SimVenue(
        specs,
        ledger,
        fee_bps=cfg.fee_bps,
        latency_ns=cfg.latency_ns,
        seed=cfg.seed,
        reject_every=cfg.reject_every,
        reject_prob=cfg.reject_prob,
        clock=clock,
    )
    engine = make_engine(spec, ledger, orders, currency=currency, specs=specs, seed=cfg.seed, clock=clock)
    return Kernel(
        engine,
        ledger=ledger,
        orders=orders,
        journal=journal,
        venue=venue,
        universe=spec.universe,
        currency=currency,
        clock=clock,
        sample_ns=cfg.sample_ns,
    )


# ── the two coroutines ──────────────────────────────────────────────────────────────────────────


async def feed(
    batches: Iterator[list[MarketEvent]],
    universe: frozenset[str] | None,
    inbox: asyncio.Queue[list[MarketEvent] | None],
) -> None:
    """Read batches of market events for the universe and hand them over, then a None to stop.

    ``universe`` None: the data holds no other symbol (its files say so), and batches go as they are.
    The None goes only after the last batch: when the engine has died, the task group cancels this
    coroutine where it waits on the full queue, so no hand-off ever waits for a dead reader.
    """
    for batch in batches:
        mine = batch if universe is None else [e for e in batch if e.instrument in universe]
        if mine:
            await inbox.put(mine)
    await inbox.put(None)


async def run_engine(
    kernel: Kernel, inbox: asyncio.Queue[list[MarketEvent] | None], progress: Callable[[int], None]
) -> None:
    """The per-type engine coroutine: a thin shell around the sans-I/O engine."""
    step_batch = kernel.step_batch
    while (batch := await inbox.get()) is not None:
        step_batch(batch)
        progress(kernel.market_events)


async def _run_both(
    kernel: Kernel,
    batches: Iterator[list[MarketEvent]],
    progress: Callable[[int], None],
    *,
    filtered: bool = True,
) -> None:
    """Feeder and engine as one task group: the first to fail cancels the other at once.

    ``filtered`` False: every event is for the kernel's universe, and the feeder does not look."""
    inbox: asyncio.Queue[list[MarketEvent] | None] = asyncio.Queue(maxsize=QUEUE_BATCHES)
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(feed(batches, kernel.universe if filtered else None, inbox))
            group.create_task(run_engine(kernel, inbox, progress))
    except BaseExceptionGroup as failed:
        raise _first_cause(failed) from None


def _first_cause(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to report from a failed task group: an interruption first, else the first failure."""
    flat: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        exc = pending.pop(0)
        if isinstance(exc, BaseExceptionGroup):
            pending.extend(exc.exceptions)
        else:
            flat.append(exc)
    for exc in flat:
        if isinstance(exc, Interrupted):
            return exc
    return flat[0]


async def _replay(
    cfg: ReplayConfig,
    loaded: LoadedStrategy,
    sources: Sequence[data.SourceInfo],
    work: Path,
    progress: Callable[[int], None],
    *,
    instruments: Instruments | None = None,
) -> Kernel:
    """Fold the data into a journal in ``work``; the kernel that folded it is the result."""
    spec = loaded.spec
    specs = resolve(spec.universe, instruments)
    if cfg.fee_bps is not None:
        # one fee for every fill: the specs say so too, so engines that size orders with the
        # spec's fee (a portfolio's buy phase) size them with the fee the venue will charge
        specs = {
            symbol: msgspec.structs.replace(s, maker_fee_bps=cfg.fee_bps, taker_fee_bps=cfg.fee_bps)
            for symbol, s in specs.items()
        }
    available = frozenset().union(*(data.symbols_in(p) for p in cfg.data))
    missing = [s for s in spec.universe if s not in available]
    if missing:
        raise data.DataError(
            f"no data for {', '.join(missing)} (the data holds {', '.join(sorted(available)) or 'nothing'})",
            code="VT510",
        )
    cache = DataCache.from_env() if cfg.data_cache else None
    batches = data.sources_from_args(cfg.data, cache=cache, build=cfg.data_cache_build)
    if cfg.start_ns is not None or cfg.end_ns is not None:
        batches = _time_window(batches, cfg.start_ns, cfg.end_ns)
    first = next(batches, None)
    if first is None:
        raise data.DataError("the data holds no market events", code="VT506")
    start_ts = first[0].ts_event
    journal = FileJournal(work / JOURNAL_NAME)
    run_id = f"replay-{loaded.source_sha256[:12]}"
    kernel = _kernel(loaded, specs, journal, cfg)
    try:
        kernel.begin(
            RunStarted(
                ts_event=start_ts,
                ts_init=start_ts,
                run_id=run_id,
                strategy=spec.name,
                strategy_type=spec.strategy_type,
                mode=Mode.BACKTEST.value,
                venues=("sim",),
                params=spec.params_as_strings(),
                strategy_sha256=loaded.source_sha256,
                data_sha256=tuple(s.sha256 for s in sources),
                settings=run_settings(cfg, sources, instruments),
            ),
            [specs[s] for s in sorted(specs)],
            cfg.cash,
        )
        await _run_both(
            kernel, _chain(first, batches), progress, filtered=not available <= frozenset(spec.universe)
        )
        kernel.finish(run_id)
    finally:
        journal.close()
    return kernel


def run_settings(
    cfg: ReplayConfig, sources: Sequence[data.SourceInfo], instruments: Instruments | None = None
) -> RunSettings:
    """The run record's settings: what the report shows beside the strategy and its parameters."""
    user = None
    if instruments is not None:
        user = DataFile(
            name=instruments.path.name, format="toml", sha256=instruments.sha256, bytes=instruments.size
        )
    return RunSettings(
        instruments=user,
        cash=cfg.cash,
        fee_bps=cfg.fee_bps,
        latency_ns=cfg.latency_ns,
        reject_every=cfg.reject_every,
        reject_prob=cfg.reject_prob,
        seed=cfg.seed,
        sample_ns=cfg.sample_ns,
        data=tuple(
            DataFile(name=Path(s.path).name, format=s.format, sha256=s.sha256, bytes=s.bytes) for s in sources
        ),
    )


def _write_report(kernel: Kernel, work: Path) -> report.Report:
    sha = file_sha256(work / JOURNAL_NAME)
    run = report.build_run(
        read_journal(work / JOURNAL_NAME),
        currency=kernel.currency,
        market_events=kernel.market_events,
        journal_sha256=sha,
    )
    (work / "report.json").write_bytes(report.render_json(run.report))
    (work / "trades.csv").write_text(report.render_trades_csv(run.trips))
    (work / "equity.csv").write_text(report.render_equity_csv(run.curve))
    html = report_html.render(run.report, run.curve, run.trips, series=run.series)
    (work / "report.html").write_text(html)
    return run.report


def _time_window(
    batches: Iterator[list[MarketEvent]], start_ns: int | None, end_ns: int | None
) -> Iterator[list[MarketEvent]]:
    lo = start_ns if start_ns is not None else -(2**63)
    hi = end_ns if end_ns is not None else 2**63
    for batch in batches:
        if batch[-1].ts_event < lo:
            continue
        if batch[0].ts_event >= hi:
            return  # the stream is in time order: nothing after this batch is inside
        kept = [e for e in batch if lo <= e.ts_event < hi]
        if kept:
            yield kept


def _chain(first: list[MarketEvent], rest: Iterator[list[MarketEvent]]) -> Iterator[list[MarketEvent]]:
    yield first
    yield from rest


class Progress:
    """A one-line progress counter on stderr, redrawn at most every 0.2 s of wall time."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.started = time.monotonic()
        self.last = 0.0
        self.drawn = False

    def __call__(self, events: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        self.drawn = True
        rate = events / max(now - self.started, 1e-9)
        self.stream.write(f"\rreplay: {events:,} events  {rate:,.0f} events/s")
        self.stream.flush()

    def done(self) -> None:
        """End the progress line, so what is printed next starts on a line of its own."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


# ── options ─────────────────────────────────────────────────────────────────────────────────────

MAX_LATENCY_NS = NS_PER_DAY
MAX_SAMPLE_NS = 366 * NS_PER_DAY
MAX_FEE_BPS = Decimal(10_000)
MAX_CASH = Decimal(10) ** 18
MAX_SEED = 2**64 - 1


class OptionError(VibeError):
    """An option's value is outside what the run accepts: refused before anything runs."""

    code = "VT710"


def _in_range(option: str, value: object, allowed: str, ok: bool) -> None:
    if not ok:
        raise OptionError(f"{option} {value}: allowed {allowed}")


def check_options(cfg: ReplayConfig) -> None:
    """Refuse every option value the run cannot honour, naming the option and its allowed range."""
    cash = cfg.cash
    _in_range(
        "--cash", cash, f"a number > 0 and <= {MAX_CASH:.0e}", cash.is_finite() and 0 < cash <= MAX_CASH
    )
    if cfg.fee_bps is not None:
        fee = cfg.fee_bps
        _in_range("--fee-bps", fee, "0 to 10000 (100%)", fee.is_finite() and 0 <= fee <= MAX_FEE_BPS)
    _in_range(
        "--latency-ms",
        Decimal(cfg.latency_ns) / NS_PER_MS,
        "0 to 86400000 (one day)",
        0 <= cfg.latency_ns <= MAX_LATENCY_NS,
    )
    _in_range(
        "--sample-ms",
        cfg.sample_ns // NS_PER_MS,
        "1 to 31622400000 (366 days)",
        NS_PER_MS <= cfg.sample_ns <= MAX_SAMPLE_NS,
    )
    if cfg.reject_every is not None:
        _in_range("--reject-every", cfg.reject_every, "an integer >= 1", cfg.reject_every >= 1)
    if cfg.reject_prob is not None:
        p = cfg.reject_prob
        _in_range("--reject-prob", p, "0 to 1", p.is_finite() and 0 <= p <= 1)
    _in_range("--seed", cfg.seed, f"0 to {MAX_SEED}", 0 <= cfg.seed <= MAX_SEED)
    _in_range("--loop", cfg.loop, "asyncio or uvloop", cfg.loop in ("asyncio", "uvloop"))
    if not cfg.data:
        raise OptionError("--data: give at least one market data file or fixture directory")
    outdir.check_target(outdir.check_out_path(cfg.out), force=cfg.force)


def latency_ns(ms: Decimal) -> int:
    """Milliseconds as whole nanoseconds; refused (not rounded) when finer than a nanosecond."""
    ns = ms * NS_PER_MS
    if not ns.is_finite() or ns != ns.to_integral_value():
        raise OptionError(f"--latency-ms {ms}: allowed a multiple of 0.000001 (one nanosecond)")
    if abs(ns) > MAX_LATENCY_NS:
        raise OptionError(f"--latency-ms {ms}: allowed 0 to 86400000 (one day)")
    return int(ns)


# ── the run ─────────────────────────────────────────────────────────────────────────────────────

OUTPUTS = ("journal.vtj", "report.json", "trades.csv", "equity.csv", "report.html")


def replay(cfg: ReplayConfig, *, loaded: LoadedStrategy | None = None) -> ReplayResult:
    """Run a replay into ``cfg.out`` atomically: a failed or interrupted run leaves nothing behind.

    Options are checked first, then the strategy and the output directory (see daemon/outdir.py),
    all before any data is read. A failure while writing the report keeps the finished journal
    under a visible name and says where (VT704): a result is never thrown away after the run.
    """
    check_options(cfg)
    loaded = loaded or load_strategy(cfg.strategy, params=cfg.params)
    instruments = load_instruments(cfg.instruments) if cfg.instruments is not None else None
    universe = loaded.spec.universe
    # specs before the venue check: a market nobody defines gets VT135, whose hint shows how to
    # define it, and a market the file defines is the simulated venue's by definition
    resolve(universe, instruments)
    preflight(
        ["sim"],
        Mode.BACKTEST,
        [s for s in universe if instruments is None or not instruments.user.defines(s)],
    )
    sources = data.check_sources(cfg.data)  # the same file twice, a pipe, ...: refused before the run
    progress = Progress(sys.stderr, enabled=not cfg.quiet and sys.stderr.isatty())
    with interruptible(), outdir.WorkDir(cfg.out, command="replay", force=cfg.force) as work:
        try:
            kernel = _run_loop(
                cfg.loop, _replay(cfg, loaded, sources, work.path, progress, instruments=instruments)
            )
        finally:
            progress.done()
        try:
            rep = _write_report(kernel, work.path)
        except (OSError, VibeError) as exc:
            kept = work.keep_as(f"{work.out.name}.journal-kept")
            raise outdir.OutputError(
                f"the run finished but its report could not be written ({_reason(exc)}); "
                f"the journal is kept in {kept / JOURNAL_NAME}",
                code="VT704",
                file=str(kept / JOURNAL_NAME),
            ) from None
        meta: dict[str, object] = {"journal_sha256": rep.journal_sha256, "strategy": loaded.spec.name}
        if instruments is not None:
            meta["instruments_sha256"] = instruments.sha256
        work.commit(outdir.files_in(work.path), meta)
    return ReplayResult(cfg.out, rep)  # as the user wrote it: the summary shows their path


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")
    return str(exc)


def _run_loop(loop: str, coro: Coroutine[object, object, Kernel]) -> Kernel:
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if loop == "uvloop":
        import uvloop  # noqa: PLC0415 - only when asked for

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


def read_journal(path: Path) -> Iterator[AnyEvent]:
    """Every event of a finished journal, in sequence order."""
    with FileJournal(path) as journal:
        yield from journal.read()
