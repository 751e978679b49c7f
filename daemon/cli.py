"""The ``vibetrading`` command line.

Exit codes: 0 success, 1 a typed error in the strategy, data or run (its code and a hint are printed,
never a traceback), 2 a usage error (an unknown option, or an option value out of range, VT710),
130 / 143 a run stopped by SIGINT / SIGTERM (one line, nothing of the run kept).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from adapters import capabilities
from adapters.capabilities import Mode
from daemon import release
from daemon.interrupt import Interrupted
from daemon.preflight import UsageError, load_strategy, validate
from engines.errors import VibeError
from engines.sdk import STRATEGY_TYPES
from engines.units import NS_PER_MS

DEFAULT_STRATEGY = Path("strategies/my_strategy_a.py")
# daemon.venue_decode.VENUES, kept import-free
VENUE_DECODERS = ("binance-spot", "binance-usdm", "bybit", "kis", "kiwoom")

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

if TYPE_CHECKING:
    from daemon.replay import ReplayConfig


class _HelpFormatter(argparse.HelpFormatter):
    """Shows every option's default, except where there is none to show (None, False, [])."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or default is None
            or default is False
            or default == []
            or default is argparse.SUPPRESS
            or (not action.option_strings and action.nargs not in ("?", "*"))
        ):
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """Every parser and subparser (argparse makes them of the parent's class) shows its defaults."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("vibetrading")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _add_strategy_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "strategy",
        nargs="?",
        type=Path,
        default=DEFAULT_STRATEGY,
        help=f"strategy file (default: {DEFAULT_STRATEGY})",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a strategy parameter (repeatable)",
    )
    parser.add_argument(
        "--type",
        dest="expected_type",
        choices=STRATEGY_TYPES,
        help="assert the declared strategy type; a different declaration is refused (VT103)",
    )


_INSTRUMENTS_HELP = (
    "TOML file of your own markets and symbols (tick, lot, fees, ...), for data of a market the "
    "built-in table does not know (docs/replay.md, 'Your own instruments')"
)
_NO_CACHE_HELP = (
    "parse every CSV file, neither reading nor filling the decoded-data cache "
    "(docs/data.md, 'The decoded-data cache'; VIBETRADING_DATA_CACHE=off does the same)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vibetrading",
        description="Event-sourced trading daemon: validate, replay and run strategies.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_validate = sub.add_parser("validate", help="preflight a strategy file (exit 0 valid, 1 invalid)")
    _add_strategy_options(p_validate)
    p_validate.add_argument(
        "--venue",
        action="append",
        default=[],
        metavar="NAME",
        help=f"venue to route through (repeatable; default sim): {', '.join(capabilities.VENUE_NAMES)}",
    )
    p_validate.add_argument(
        "--mode",
        choices=[m.value for m in Mode],
        default=None,
        help="default backtest; with --config, the file's mode (paper or live)",
    )
    p_validate.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="preflight a run configuration (docs/run.md) instead: its strategy, venues × mode, "
        "credentials (live) and state directory, without connecting",
    )
    p_validate.add_argument(
        "--instruments",
        type=Path,
        default=None,
        metavar="FILE",
        help=_INSTRUMENTS_HELP,
    )
    p_validate.add_argument("--json", action="store_true", help="print the result as JSON")

    p_replay = sub.add_parser("replay", help="deterministic backtest of recorded market data")
    _add_strategy_options(p_replay)
    p_replay.add_argument(
        "--data",
        action="append",
        type=Path,
        default=None,
        metavar="FILE",
        help="market data: a shared/data CSV (.csv.gz) or a replay fixture directory (repeatable)",
    )
    p_replay.add_argument(
        "--journal",
        type=Path,
        default=None,
        metavar="DIR",
        help="instead of --data: re-drive a recorded paper/live session (its state directory or journal "
        "file) and check that it replays to identical decisions (docs/live.md)",
    )
    p_replay.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="with --journal: the session's run configuration, for its risk limits",
    )
    p_replay.add_argument(
        "--cash",
        type=_decimal,
        default=Decimal(100_000),
        help="initial cash, in the universe's quote currency",
    )
    p_replay.add_argument(
        "--fee-bps",
        type=_decimal,
        default=None,
        metavar="BPS",
        help="fee in bps of notional on every fill, 0 to 10000 (default: each instrument's own fees)",
    )
    p_replay.add_argument(
        "--latency-ms", type=_decimal, default=Decimal(0), metavar="MS", help="order latency, 0 to 86400000"
    )
    p_replay.add_argument(
        "--sample-ms", type=int, default=1000, metavar="MS", help="equity sampling interval for tick data"
    )
    p_replay.add_argument("--seed", type=int, default=0, help="seed of ctx.random and of injected rejects")
    p_replay.add_argument(
        "--reject-prob",
        type=_decimal,
        default=None,
        metavar="P",
        help="inject venue rejects with probability P, 0 to 1 (default: none)",
    )
    p_replay.add_argument(
        "--reject-every",
        type=int,
        default=None,
        metavar="N",
        help="inject a venue reject every Nth order, N >= 1 (default: none)",
    )
    p_replay.add_argument(
        "--out",
        type=Path,
        default=Path("runs/replay"),
        metavar="DIR",
        help="output directory: new, or a previous run's (replaced only with --force)",
    )
    p_replay.add_argument(
        "--force", action="store_true", help="replace a previous run's output in --out (never other files)"
    )
    p_replay.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio", help="event loop")
    p_replay.add_argument("--json", action="store_true", help="print report.json instead of the table")
    p_replay.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    p_replay.add_argument(
        "--instruments",
        type=Path,
        default=None,
        metavar="FILE",
        help=_INSTRUMENTS_HELP,
    )
    p_replay.add_argument("--no-data-cache", action="store_true", help=_NO_CACHE_HELP)

    # ── sweep: many replays as Ray tasks (docs/sweep.md) ──
    p_sweep = sub.add_parser(
        "sweep", help="parameter sweep or walk-forward test: every trial a replay, on Ray"
    )
    _add_strategy_options(p_sweep)
    p_sweep.add_argument(
        "--data", action="append", type=Path, required=True, metavar="FILE", help="market data (repeatable)"
    )
    p_sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=V1,V2,...",
        help="a parameter and its values, or NAME=LO..HI (repeatable; a grid runs every combination)",
    )
    p_sweep.add_argument(
        "--objective",
        default="total_return",
        metavar="KEY[:max|:min]",
        help="report.json key that ranks trials",
    )
    p_sweep.add_argument(
        "--walk-forward",
        default=None,
        metavar="TRAIN/TEST",
        help="rolling windows, e.g. 7d/1d: the grid on each train window, its best on the test after it",
    )
    p_sweep.add_argument("--search", choices=["grid", "optuna"], default="grid", help="how trials are chosen")
    p_sweep.add_argument("--trials", type=int, default=None, metavar="N", help="trials of --search optuna")
    p_sweep.add_argument(
        "--seed", type=int, default=0, help="every replay's seed (as replay --seed) and the Optuna sampler's"
    )
    p_sweep.add_argument(
        "--address", default=None, metavar="ADDR", help="join this Ray cluster (default: a local Ray)"
    )
    p_sweep.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, metavar="N", help="CPUs of the local Ray"
    )
    p_sweep.add_argument(
        "--cash", type=_decimal, default=Decimal(100_000), help="initial cash of every trial"
    )
    p_sweep.add_argument("--fee-bps", type=_decimal, default=None, metavar="BPS", help="as replay --fee-bps")
    p_sweep.add_argument(
        "--latency-ms", type=_decimal, default=Decimal(0), metavar="MS", help="as replay --latency-ms"
    )
    p_sweep.add_argument("--sample-ms", type=int, default=1000, metavar="MS", help="as replay --sample-ms")
    p_sweep.add_argument(
        "--reject-prob", type=_decimal, default=None, metavar="P", help="as replay --reject-prob"
    )
    p_sweep.add_argument(
        "--reject-every", type=int, default=None, metavar="N", help="as replay --reject-every"
    )
    p_sweep.add_argument(
        "--loop", choices=["asyncio", "uvloop"], default="asyncio", help="event loop of each replay"
    )
    p_sweep.add_argument(
        "--out", type=Path, default=Path("runs/sweep"), metavar="DIR", help="output directory"
    )
    p_sweep.add_argument("--force", action="store_true", help="replace a previous sweep's output in --out")
    p_sweep.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p_sweep.add_argument("--instruments", type=Path, default=None, metavar="FILE", help=_INSTRUMENTS_HELP)
    p_sweep.add_argument("--no-data-cache", action="store_true", help=_NO_CACHE_HELP)

    p_journal = sub.add_parser("journal", help="inspect a run's journal")
    jsub = p_journal.add_subparsers(dest="journal_command", required=True, metavar="ACTION")
    p_verify = jsub.add_parser("verify", help="check every record's checksum and sequence")
    p_verify.add_argument("dir", type=Path, help="a run directory (or a journal file)")
    p_verify.add_argument("--json", action="store_true")
    p_export = jsub.add_parser("export", help="print the journal, one JSON object per event")
    p_export.add_argument("dir", type=Path, help="a run directory (or a journal file)")
    p_export.add_argument("--format", choices=["jsonl"], default="jsonl")
    p_diff = jsub.add_parser(
        "diff",
        help="the first event where two journals differ (exit 0 agree, 1 differ)",
        description=(
            "Compare two journals event by event, seq and ts_init aside, and print the first "
            "divergence with both events; --decisions-only compares only what the strategy and the "
            "daemon decided (orders sent and canceled, logs, halts), e.g. a live session against its "
            "replay. Exit 0 when they agree, 1 when they differ or a journal is damaged."
        ),
    )
    p_diff.add_argument("a", type=Path, metavar="A", help="a run or state directory (or a journal file)")
    p_diff.add_argument("b", type=Path, metavar="B", help="the journal to compare it with")
    p_diff.add_argument("--decisions-only", action="store_true", help="compare only the decision events")
    p_diff.add_argument("--json", action="store_true", help="print the result as JSON")

    p_data = sub.add_parser("data", help="market data files and replay fixtures")
    dsub = p_data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    p_import = dsub.add_parser("import", help="validate CSV files and write a binary replay fixture")
    p_import.add_argument("files", nargs="+", type=Path, help="normalised CSV files (docs/data.md)")
    p_import.add_argument(
        "--out", type=Path, required=True, help="fixture directory to write: new, or one an import wrote"
    )
    p_import.add_argument(
        "--force", action="store_true", help="replace a fixture an earlier import wrote in --out"
    )
    p_import.add_argument("--name", required=True, help="fixture name")
    p_import.add_argument("--source", required=True, help="where the data came from")
    p_import.add_argument("--licence", required=True, help="the data's licence (must allow redistribution)")
    p_import.add_argument(
        "--instrument", action="append", default=None, metavar="SYMBOL", help="keep only these symbols"
    )
    p_import.add_argument("--compression", choices=["none", "zlib"], default="zlib")
    p_cache = dsub.add_parser(
        "cache", help="show the decoded-data cache (where, entries, size); --clear empties it (docs/data.md)"
    )
    p_cache.add_argument("--clear", action="store_true", help="remove every entry")

    p_venue = sub.add_parser("venue", help="venue adapters' tools")
    vsub = p_venue.add_subparsers(dest="venue_command", required=True, metavar="ACTION")
    p_decode = vsub.add_parser(
        "decode",
        help="print the events raw venue messages decode to, one JSON object per line",
        description=(
            "Read raw venue messages, one per line: a WebSocket frame as the venue sends it, or a REST "
            'response wrapped as {"rest": "METHOD /path", "headers": {...}, "body": <body>}. Print each '
            "event as journal export does, with the input line number; a line that cannot be read "
            "prints {line, code, message} (VT800-VT805). Every symbol a message names is mapped. "
            "ts_init is the message's own time (event time E, frame ts, the order's or envelope's "
            "time), 0 when it has none (Binance spot bookTicker: its ts_event is 0 too). kis: a pipe "
            "frame (0|H0STCNT0|001|...) as one line of text, or a JSON frame; encrypted notices need "
            "an earlier subscribe-ack line with their key. kiwoom: JSON frames (trnm); its REST "
            "wrapper must name the answer's api-id in headers. Exit 1 when any line failed."
        ),
    )
    p_decode.add_argument(
        "venue_name", metavar="VENUE", choices=VENUE_DECODERS, help=", ".join(VENUE_DECODERS)
    )
    p_decode.add_argument("file", nargs="?", default="-", metavar="FILE", help="input file, - for stdin")
    p_decode.add_argument(
        "--category",
        choices=["spot", "linear"],
        default="linear",
        help="bybit: the category of public frames (the connection says it, the frame does not)",
    )

    p_serve = vsub.add_parser(
        "serve",
        help="run a venue's emulator: its REST and WebSocket protocol on loopback, simulated matching",
        description=(
            "Serve the venue's REST and WebSocket protocol on one port, on the venue's own paths, "
            "matching orders with the simulated venue against market data from --data files (played "
            "at --speed times real time) or a seeded random walk. Signatures, rate limits and error "
            "codes are the venue's. GET /_emulator/state returns orders, fills and balances. Serves "
            "until SIGINT/SIGTERM (docs/emulators.md)."
        ),
    )
    p_serve.add_argument(
        "venue_name",
        metavar="VENUE",
        choices=["binance", "bybit", "kis", "kiwoom"],
        help="binance, bybit, kis, kiwoom",
    )
    p_serve.add_argument("--host", default="127.0.0.1", help="address to bind")
    p_serve.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (printed)")
    p_serve.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="FILE",
        help="quotes/trades CSV (../shared/data format) or replay fixture to play (repeatable; "
        "default: a seeded random walk)",
    )
    p_serve.add_argument("--speed", type=float, default=1.0, help="playback speed, times real time")
    p_serve.add_argument(
        "--faults",
        default="",
        metavar="SPEC",
        help="seeded fault injection, e.g. timeout=0.02,5xx=0.01,accept-then-timeout=0.01,"
        "drop-ws=0.005,dup-fill=0.01,delay-ms=20 (default: none)",
    )
    p_serve.add_argument("--seed", type=int, default=0, help="seed of the faults and the random walk")
    p_serve.add_argument(
        "--keys",
        default=None,
        metavar="FILE",
        help="JSON object of API key to secret (default: the test key)",
    )
    p_serve.add_argument(
        "--balance",
        action="append",
        default=[],
        metavar="ASSET=AMOUNT",
        help="starting balance of every account (repeatable; default USDT=100000 BTC=1 ETH=10)",
    )
    p_serve.add_argument(
        "--symbol",
        action="append",
        default=[],
        metavar="SYMBOL",
        help="instruments to list (repeatable; default the venue's BTCUSDT and ETHUSDT, spot and perpetual)",
    )

    p_record = sub.add_parser(
        "record",
        help="write a venue's market stream as ../shared/data CSV files",
        description=(
            "Subscribe to a venue's public market stream and write it in the ../shared/data CSV "
            "format (quotes: ts_ns,bid,bid_qty,ask,ask_qty; trades: ts_ns,price,qty,aggressor,trade_id), "
            "one gzip file per symbol, until --duration passes or SIGINT/SIGTERM. With several "
            "symbols, name --out as the data files are named (<market>_<instrument>_<kind>_<period>"
            ".csv.gz): each symbol's file takes its own market and instrument (docs/emulators.md)."
        ),
    )
    p_record.add_argument("venue_name", metavar="VENUE", choices=["binance", "bybit"], help="binance, bybit")
    p_record.add_argument(
        "--symbol",
        action="append",
        required=True,
        metavar="SYMBOL",
        help="symbol to record, e.g. binance-spot:BTCUSDT (repeatable)",
    )
    p_record.add_argument("--kind", required=True, choices=["quotes", "trades"], help="what to record")
    p_record.add_argument("--out", required=True, metavar="FILE.csv.gz", help="the file to write")
    p_record.add_argument(
        "--duration", type=float, default=None, metavar="S", help="seconds to record (default: until stopped)"
    )
    p_record.add_argument(
        "--environment", choices=["production", "test"], default="production", help="the venue's environment"
    )
    p_record.add_argument("--rest-url", default=None, help="REST root to use instead (an emulator)")
    p_record.add_argument("--ws-url", default=None, help="WebSocket root to use instead (an emulator)")

    from daemon.live.run import add_run_parser  # noqa: PLC0415

    add_run_parser(sub)

    from daemon.live.control import add_control_parsers  # noqa: PLC0415

    add_control_parsers(sub)

    p_caps = sub.add_parser("capabilities", help="print the capability matrix")
    p_caps.add_argument("--json", action="store_true", help="print the matrix as JSON")
    p_caps.add_argument("--markdown", action="store_true", help="print the README table")

    p_release = sub.add_parser("release", help="release readiness (ops/RELEASE.md)")
    rsub = p_release.add_subparsers(dest="action", required=True, metavar="ACTION")
    p_rcheck = rsub.add_parser(
        "check", help="sign off an evidence bundle: signoff.json and signoff.md (exit 0 Ready, 1 Not Ready)"
    )
    release.add_check_arguments(p_rcheck)
    return parser


def cmd_validate(args: argparse.Namespace) -> int:
    if args.config is not None:
        return _validate_config(args)
    mode = args.mode or Mode.BACKTEST.value
    try:
        loaded = validate(
            args.strategy,
            venues=args.venue,
            mode=Mode(mode),
            params=args.param,
            expected_type=args.expected_type,
            instruments=args.instruments,
        )
    except VibeError as exc:
        _report_error(exc, as_json=args.json)
        return EXIT_INVALID
    spec = loaded.spec
    venues = args.venue or ["sim"]
    if args.json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "file": spec.file,
                    "strategy": spec.name,
                    "type": spec.strategy_type,
                    "universe": list(spec.universe),
                    "params": spec.params_as_strings(),
                    "venues": venues,
                    "mode": mode,
                    "source_sha256": loaded.source_sha256,
                },
                sort_keys=True,
            )
        )
    else:
        print(
            f"OK {spec.file}: {spec.strategy_type} strategy {spec.name!r} on "
            f"{', '.join(spec.universe)} via {', '.join(venues)} ({mode})"
        )
    return EXIT_OK


def _validate_config(args: argparse.Namespace) -> int:
    from daemon.config import validate_config  # noqa: PLC0415 - keeps plain validate's start-up small

    if args.strategy is not DEFAULT_STRATEGY or args.venue:
        raise UsageError(
            "--config names the strategy and the venues: drop the STRATEGY and --venue arguments"
        )
    try:
        checked = validate_config(
            args.config, mode=args.mode, params=args.param, expected_type=args.expected_type
        )
    except VibeError as exc:
        _report_error(exc, as_json=args.json)
        return EXIT_INVALID
    spec = checked.loaded.spec
    config = checked.config
    venues = sorted(set(checked.routes.values()))
    if args.json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "config": str(args.config),
                    "file": spec.file,
                    "strategy": spec.name,
                    "type": spec.strategy_type,
                    "universe": list(spec.universe),
                    "params": spec.params_as_strings(),
                    "venues": venues,
                    "routes": checked.routes,
                    "mode": config.mode.value,
                    "state_dir": str(config.state_dir),
                    "health": config.health.listen,
                    "source_sha256": checked.loaded.source_sha256,
                    "warnings": list(checked.warnings),
                },
                sort_keys=True,
            )
        )
    else:
        for warning in checked.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(
            f"OK {args.config}: {spec.strategy_type} strategy {spec.name!r} on "
            f"{', '.join(spec.universe)} via {', '.join(venues)} ({config.mode.value}), "
            f"state {config.state_dir}, health {config.health.listen}"
        )
    return EXIT_OK


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a decimal number") from None


def cmd_replay(args: argparse.Namespace) -> int:
    if args.journal is not None:
        if args.instruments is not None:
            raise UsageError("--instruments applies to a replay of --data, not to --journal")
        return _replay_journal(args)
    if not args.data:
        raise UsageError("replay needs --data FILE (market data), or --journal DIR (a recorded session)")
    from daemon.replay import check_options, replay  # noqa: PLC0415 - keeps validate's start-up small

    cfg = _replay_config(args, quiet=args.quiet)
    check_options(cfg)  # before the strategy loads: a bad option never costs a load
    loaded = load_strategy(args.strategy, params=args.param, expected_type=args.expected_type)
    result = replay(cfg, loaded=loaded)
    for warning in result.report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        sys.stdout.write((result.out / "report.json").read_text())
    else:
        print(summary_table(result.report, result.out))
    return EXIT_OK


def _replay_config(args: argparse.Namespace, *, quiet: bool) -> ReplayConfig:
    """The replay a ``replay`` or ``sweep`` command line describes (a sweep's trials start from it)."""
    from daemon.replay import ReplayConfig, latency_ns  # noqa: PLC0415 - keeps validate's start-up small

    return ReplayConfig(
        strategy=args.strategy,
        data=tuple(args.data),
        out=args.out,
        params=tuple(args.param),
        cash=args.cash,
        fee_bps=args.fee_bps,
        latency_ns=latency_ns(args.latency_ms),
        reject_every=args.reject_every,
        reject_prob=args.reject_prob,
        sample_ns=args.sample_ms * NS_PER_MS,
        loop=args.loop,
        seed=args.seed,
        quiet=quiet,
        force=args.force,
        instruments=args.instruments,
        data_cache=not args.no_data_cache,
    )


def cmd_sweep(args: argparse.Namespace) -> int:
    from daemon.sweep import run, spec  # noqa: PLC0415 - Ray and Optuna only for a sweep

    cfg = run.SweepConfig(
        base=_replay_config(args, quiet=True),
        axes=spec.parse_grid(args.grid),
        objective=spec.parse_objective(args.objective, run.OBJECTIVE_KEYS),
        search=args.search,
        trials=args.trials,
        walk_forward=None if args.walk_forward is None else spec.parse_walk_forward(args.walk_forward),
        address=args.address,
        workers=args.workers,
        expected_type=args.expected_type,
        progress=not args.quiet,
    )
    result = run.run_sweep(cfg)
    failed = sum(r["status"] != "ok" for r in result.rows)
    print(f"trials     {len(result.rows)} ({failed} failed)")
    if result.best is None:
        print("best       none (no trial has a value for the objective)")
    else:
        row = next(r for r in result.rows if r["trial"] == result.best)
        params = " ".join(f"{k}={v}" for k, v in row["params"].items())
        print(f"best       trial {result.best}: {params}  {cfg.objective.key} {row['objective']}")
    print(f"output     {result.out}/ (results.csv, results.json, sweep.html, best/, trials/)")
    return EXIT_OK


def summary_table(rep: object, out: Path) -> str:
    import datetime as dt  # noqa: PLC0415

    from daemon.report import display  # noqa: PLC0415
    from daemon.report_html import duration  # noqa: PLC0415

    raw = msgspec.to_builtins(rep)
    assert isinstance(raw, dict)
    width = max(len(k) for k in raw)

    def shown(key: str, value: object) -> str:
        # a span in nanoseconds is kept for scripts and read by people; a month per line is for the page
        if key.endswith("_ns") and isinstance(value, int) and not isinstance(value, bool):
            if key.endswith("ts_ns"):  # a point in time, not a span
                when = dt.datetime.fromtimestamp(value // 10**9, tz=dt.UTC)
                return f"{value} ({when:%Y-%m-%d %H:%M:%S} UTC)"
            return f"{value} ({duration(value)})"
        if key == "monthly_returns" and isinstance(value, list | dict) and value:
            return f"{len(value)} months (report.json, report.html)"
        return display(value)

    lines = [f"{k:<{width}}  {shown(k, v)}" for k, v in raw.items()]
    lines.append(
        f"{'output':<{width}}  {out}/ (report.json, report.html, trades.csv, equity.csv, journal.vtj)"
    )
    return "\n".join(lines)


def _journal_path(path: Path) -> Path:
    from daemon.replay import JOURNAL_NAME  # noqa: PLC0415

    if path.is_dir():
        path = path / JOURNAL_NAME
    if not path.exists():
        raise UsageError(f"{path}: no journal here")
    return path


def cmd_journal(args: argparse.Namespace) -> int:
    from daemon import journal  # noqa: PLC0415

    if args.journal_command == "diff":
        return _journal_diff(args)
    path = _journal_path(args.dir)
    if args.journal_command == "verify":
        result = journal.verify(path)
        if args.json:
            print(msgspec.json.encode(result).decode())
        elif result.ok:
            print(f"OK {path}: {result.records} records, last seq {result.last_seq}, sha256 {result.sha256}")
        else:
            error = result.error or {}
            print(f"error: {path}: {error.get('code')} {error.get('message')}", file=sys.stderr)
        return EXIT_OK if result.ok else EXIT_INVALID
    try:
        journal.export_jsonl(path, sys.stdout)
        sys.stdout.flush()  # inside the try: a reader gone after the last write shows here, not at exit
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise VibeError(
            f"cannot write the export: {exc.strerror or exc}", code="VT703", file="<stdout>"
        ) from None
    return EXIT_OK


def _journal_diff(args: argparse.Namespace) -> int:
    from daemon.journal.diff import diff_files, render  # noqa: PLC0415

    path_a, path_b = _journal_path(args.a), _journal_path(args.b)
    result = diff_files(path_a, path_b, decisions_only=args.decisions_only)
    agree = result.divergence is None
    if args.json:
        raw = msgspec.to_builtins(result)
        assert isinstance(raw, dict)
        print(json.dumps({"agree": agree, "a": str(path_a), "b": str(path_b), **raw}, sort_keys=True))
    else:
        print(render(result, str(path_a), str(path_b)))
    return EXIT_OK if agree else EXIT_INVALID


def cmd_control(args: argparse.Namespace) -> int:
    from daemon.live.control import cmd_control as control  # noqa: PLC0415

    return control(args)


def cmd_data(args: argparse.Namespace) -> int:
    from daemon import data, outdir  # noqa: PLC0415
    from daemon.interrupt import interruptible  # noqa: PLC0415

    if args.data_command == "cache":
        return _data_cache(args)

    with interruptible(), outdir.WorkDir(args.out, command="data import", force=args.force) as work:
        manifest = data.import_files(
            args.files,
            work.path,
            name=args.name,
            source=args.source,
            licence=args.licence,
            instruments=args.instrument,
            compression=args.compression,
        )
        work.commit(outdir.files_in(work.path), {"events_sha256": manifest.events_sha256})
    print(f"OK {args.out}: {manifest.events} events in {manifest.chunks} chunks")
    print(f"events.vtm sha256 {manifest.events_sha256}")
    return EXIT_OK


def _data_cache(args: argparse.Namespace) -> int:
    from daemon.data.cache import CACHE_ENV, DataCache  # noqa: PLC0415

    cache = DataCache.from_env()
    if cache is None:
        print(f"the data cache is off ({CACHE_ENV}={os.environ.get(CACHE_ENV, '')!r})")
        return EXIT_OK
    if args.clear:
        print(f"removed {cache.clear()} entries from {cache.root}")
        return EXIT_OK
    entries = cache.entries()
    total = sum(size for _, size, _ in entries)
    limit = cache.max_bytes / 2**20
    print(f"{cache.root}: {len(entries)} entries, {total / 2**20:,.1f} MB (limit {limit:,.0f} MB)")
    for directory, size, _ in reversed(entries):
        print(f"  {directory.name}  {size / 2**20:9,.1f} MB  {_cache_entry_source(directory)}")
    return EXIT_OK


def _cache_entry_source(directory: Path) -> str:
    from daemon.data import read_manifest  # noqa: PLC0415

    try:
        return ", ".join(f.file for f in read_manifest(directory).created_from)
    except Exception:  # a listing shows what it can
        return "(unreadable manifest)"


def cmd_venue(args: argparse.Namespace) -> int:
    if args.venue_command == "serve":
        return _venue_serve(args)
    from daemon.venue_decode import Decoder, decode_stream  # noqa: PLC0415

    decoder = Decoder(args.venue_name, category=args.category)
    if args.file == "-":
        stdin = getattr(sys.stdin, "buffer", None)
        lines = stdin if stdin is not None else (t.encode("utf-8", "surrogateescape") for t in sys.stdin)
        failed = decode_stream(decoder, lines, sys.stdout)
    else:
        try:
            stream = open(args.file, "rb")  # noqa: SIM115 - closed below; an error here is the input's
        except OSError as exc:
            raise UsageError(f"{args.file}: {exc.strerror or exc}") from None
        with stream:
            failed = decode_stream(decoder, stream, sys.stdout)
    sys.stdout.flush()
    return EXIT_INVALID if failed else EXIT_OK


def _venue_serve(args: argparse.Namespace) -> int:
    from daemon.venue_serve import ServeArgs, serve  # noqa: PLC0415

    checked = ServeArgs(
        args.venue_name,
        host=args.host,
        port=args.port,
        data=args.data,
        speed=args.speed,
        faults=args.faults,
        seed=args.seed,
        keys=args.keys,
        balances=args.balance,
        symbols=args.symbol,
    )
    return asyncio.run(serve(checked))


def cmd_record(args: argparse.Namespace) -> int:
    from adapters.registry import market_data_for  # noqa: PLC0415
    from daemon.record import output_paths, record, replayable_name  # noqa: PLC0415

    if args.duration is not None and not 0 < args.duration <= 7 * 86_400:
        raise UsageError(f"--duration {args.duration}: must be above 0 and at most 604800 (a week)")
    symbols = list(dict.fromkeys(args.symbol))
    for path in output_paths(args.out, symbols, args.kind).values():
        if not replayable_name(path):
            print(
                f"note: {path.name} is not named <market>_<instrument>_<kind>_<period>.csv.gz; "
                "rename it so that the replay can read it",
                file=sys.stderr,
            )
    client = market_data_for(
        args.venue_name, symbols, environment=args.environment, rest_url=args.rest_url, ws_url=args.ws_url
    )
    done = asyncio.run(record(client, symbols, args.kind, args.out, duration_s=args.duration, log=sys.stderr))
    for path, rows, clamped in done:
        note = (
            f" ({clamped} stamped at the previous row's time: the venue clock stepped back)"
            if clamped
            else ""
        )
        print(f"wrote {path}: {rows:,} {args.kind}{note}")
    return EXIT_OK


def cmd_capabilities(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(capabilities.as_json(), indent=2, sort_keys=True))
    elif args.markdown:
        print(capabilities.render_markdown(), end="")
    else:
        print(capabilities.render_text(), end="")
    return EXIT_OK


def _replay_journal(args: argparse.Namespace) -> int:
    from daemon.live.rereplay import replay_journal  # noqa: PLC0415 - the live daemon's imports only here

    if args.data:
        raise UsageError("--journal re-drives a recorded session: drop --data")
    result = replay_journal(args.strategy, args.journal, params=args.param, config=args.config)
    if args.json:
        print(msgspec.json.encode(result).decode())
    else:
        changed = " (the strategy file changed since the recording)" if result.strategy_changed else ""
        print(
            f"identical decisions: {result.journal} re-drove {result.events:,} events "
            f"({result.market_events:,} market, {result.decisions:,} decisions, {result.orders:,} orders) "
            f"of {result.mode} run {result.run_id} in {result.seconds:g} s{changed}"
        )
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from daemon.live.run import cmd_run as run  # noqa: PLC0415 - the daemon's imports only when run

    return run(args)


def cmd_release(args: argparse.Namespace) -> int:
    return release.cmd_check(args)


def _report_error(exc: VibeError, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"ok": False, "error": exc.to_dict()}, sort_keys=True))
    else:
        print(f"error: {exc}", file=sys.stderr)
        print(f"  hint: {exc.hint}", file=sys.stderr)


COMMANDS = {
    "validate": cmd_validate,
    "replay": cmd_replay,
    "sweep": cmd_sweep,
    "journal": cmd_journal,
    "data": cmd_data,
    "venue": cmd_venue,
    "record": cmd_record,
    "capabilities": cmd_capabilities,
    "release": cmd_release,
    "run": cmd_run,
    "halt": cmd_control,
    "resume": cmd_control,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    as_json = getattr(args, "json", False)
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"vibetrading: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except VibeError as exc:
        _report_error(exc, as_json=as_json)
        return EXIT_USAGE if exc.code == "VT710" else EXIT_INVALID
    except Interrupted as stop:
        print(
            f"vibetrading: {args.command} interrupted by {stop.name}; nothing of it was kept", file=sys.stderr
        )
        return stop.exit_code
    except KeyboardInterrupt:
        print(f"vibetrading: {args.command} interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _closed_pipe()
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            return _closed_pipe()
        raise


def _closed_pipe() -> int:
    """The reader of stdout went away (``| head``): stop quietly, as Unix tools do."""
    # Python would complain again when it flushes stdout at exit; point it at nothing instead
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_OK


def entrypoint() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
