"""The ``vibetrading`` command line.

Exit codes: 0 success, 1 a typed error in the strategy, data or run (its code and a hint are printed,
never a traceback), 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import msgspec

from adapters import capabilities
from adapters.capabilities import Mode
from daemon.preflight import UsageError, load_strategy, validate
from engines.errors import VibeError
from engines.sdk import STRATEGY_TYPES

DEFAULT_STRATEGY = Path("strategies/my_strategy_a.py")

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vibetrading",
        description="Event-sourced trading daemon: validate, replay and run strategies.",
    )
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
        default=Mode.BACKTEST.value,
        help="default backtest",
    )
    p_validate.add_argument("--json", action="store_true", help="print the result as JSON")

    p_replay = sub.add_parser("replay", help="deterministic backtest of recorded market data")
    _add_strategy_options(p_replay)
    p_replay.add_argument(
        "--data",
        action="append",
        type=Path,
        required=True,
        metavar="FILE",
        help="market data: a shared/data CSV (.csv.gz) or a replay fixture directory (repeatable)",
    )
    p_replay.add_argument(
        "--cash", type=_decimal, default=Decimal(100_000), help="initial cash (default 100000)"
    )
    p_replay.add_argument(
        "--fee-bps", type=_decimal, default=None, help="fee in bps of notional on every fill"
    )
    p_replay.add_argument("--latency-ms", type=_decimal, default=Decimal(0), help="order latency (default 0)")
    p_replay.add_argument(
        "--sample-ms", type=int, default=1000, help="equity sampling for tick data (default 1000 ms)"
    )
    p_replay.add_argument(
        "--seed", type=int, default=0, help="seed of ctx.random and of injected rejects (default 0)"
    )
    p_replay.add_argument(
        "--reject-prob",
        type=_decimal,
        default=None,
        metavar="P",
        help="inject venue rejects with probability P",
    )
    p_replay.add_argument(
        "--reject-every", type=int, default=None, metavar="N", help="inject a venue reject every Nth order"
    )
    p_replay.add_argument("--out", type=Path, default=Path("runs/replay"), help="output directory")
    p_replay.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio", help="event loop")
    p_replay.add_argument("--json", action="store_true", help="print report.json instead of the table")
    p_replay.add_argument("--quiet", action="store_true", help="no progress line on stderr")

    p_journal = sub.add_parser("journal", help="inspect a run's journal")
    jsub = p_journal.add_subparsers(dest="journal_command", required=True, metavar="ACTION")
    p_verify = jsub.add_parser("verify", help="check every record's checksum and sequence")
    p_verify.add_argument("dir", type=Path, help="a run directory (or a journal file)")
    p_verify.add_argument("--json", action="store_true")
    p_export = jsub.add_parser("export", help="print the journal, one JSON object per event")
    p_export.add_argument("dir", type=Path, help="a run directory (or a journal file)")
    p_export.add_argument("--format", choices=["jsonl"], default="jsonl")

    p_data = sub.add_parser("data", help="market data files and replay fixtures")
    dsub = p_data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    p_import = dsub.add_parser("import", help="validate CSV files and write a binary replay fixture")
    p_import.add_argument("files", nargs="+", type=Path, help="normalised CSV files (docs/data.md)")
    p_import.add_argument("--out", type=Path, required=True, help="fixture directory to write")
    p_import.add_argument("--name", required=True, help="fixture name")
    p_import.add_argument("--source", required=True, help="where the data came from")
    p_import.add_argument("--licence", required=True, help="the data's licence (must allow redistribution)")
    p_import.add_argument(
        "--instrument", action="append", default=None, metavar="SYMBOL", help="keep only these symbols"
    )
    p_import.add_argument("--compression", choices=["none", "zlib"], default="zlib")

    p_caps = sub.add_parser("capabilities", help="print the capability matrix")
    p_caps.add_argument("--json", action="store_true", help="print the matrix as JSON")
    p_caps.add_argument("--markdown", action="store_true", help="print the README table")
    return parser


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        loaded = validate(
            args.strategy,
            venues=args.venue,
            mode=Mode(args.mode),
            params=args.param,
            expected_type=args.expected_type,
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
                    "mode": args.mode,
                    "source_sha256": loaded.source_sha256,
                },
                sort_keys=True,
            )
        )
    else:
        print(
            f"OK {spec.file}: {spec.strategy_type} strategy {spec.name!r} on "
            f"{', '.join(spec.universe)} via {', '.join(venues)} ({args.mode})"
        )
    return EXIT_OK


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a decimal number") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number >= 0")
    return value


def cmd_replay(args: argparse.Namespace) -> int:
    from daemon.replay import ReplayConfig, replay  # noqa: PLC0415 - keeps validate's start-up small

    cfg = ReplayConfig(
        strategy=args.strategy,
        data=tuple(args.data),
        out=args.out,
        params=tuple(args.param),
        cash=args.cash,
        fee_bps=args.fee_bps,
        latency_ns=int(args.latency_ms * 1_000_000),
        reject_every=args.reject_every,
        reject_prob=args.reject_prob,
        sample_ns=args.sample_ms * 1_000_000,
        loop=args.loop,
        seed=args.seed,
        quiet=args.quiet,
    )
    loaded = load_strategy(args.strategy, params=args.param, expected_type=args.expected_type)
    result = replay(cfg, loaded=loaded)
    if args.json:
        sys.stdout.write((result.out / "report.json").read_text())
    else:
        print(summary_table(result.report, result.out))
    return EXIT_OK


def summary_table(rep: object, out: Path) -> str:
    raw = msgspec.to_builtins(rep)
    assert isinstance(raw, dict)
    width = max(len(k) for k in raw)
    lines = [f"{k:<{width}}  {v}" for k, v in raw.items()]
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
    journal.export_jsonl(path, sys.stdout)
    return EXIT_OK


def cmd_data(args: argparse.Namespace) -> int:
    from daemon import data  # noqa: PLC0415

    manifest = data.import_files(
        args.files,
        args.out,
        name=args.name,
        source=args.source,
        licence=args.licence,
        instruments=args.instrument,
        compression=args.compression,
    )
    print(f"OK {args.out}: {manifest.events} events in {manifest.chunks} chunks")
    print(f"events.vtm sha256 {manifest.events_sha256}")
    return EXIT_OK


def cmd_capabilities(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(capabilities.as_json(), indent=2, sort_keys=True))
    elif args.markdown:
        print(capabilities.render_markdown(), end="")
    else:
        print(capabilities.render_text(), end="")
    return EXIT_OK


def _report_error(exc: VibeError, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"ok": False, "error": exc.to_dict()}, sort_keys=True))
    else:
        print(f"error: {exc}", file=sys.stderr)
        print(f"  hint: {exc.hint}", file=sys.stderr)


COMMANDS = {
    "validate": cmd_validate,
    "replay": cmd_replay,
    "journal": cmd_journal,
    "data": cmd_data,
    "capabilities": cmd_capabilities,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"vibetrading: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except VibeError as exc:
        _report_error(exc, as_json=getattr(args, "json", False))
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130


def entrypoint() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
