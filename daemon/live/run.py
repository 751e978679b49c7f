"""``vibetrading run --config FILE [--mode paper|live]``: the daemon's main job.

Checks the configuration exactly as ``validate --config`` does (nothing connects before it passes),
configures JSON logging on stdout, picks the event loop (uvloop unless ``[runtime] loop`` says
asyncio), and runs one :class:`~daemon.live.session.LiveSession` until SIGTERM or SIGINT, then exits
0 once the stop policy is applied and the journal is flushed. systemd is told ``READY=1`` after
reconciliation and the first market data, ``STATUS=`` along the way and ``STOPPING=1`` at the end.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from daemon.config import validate_config
from daemon.interrupt import stop_on_signals
from daemon.live.session import LiveSession, SessionOptions
from daemon.logs import bind_context, configure_logging, get_logger
from daemon.sdnotify import Notifier

__all__ = ["add_run_parser", "cmd_run"]


def add_run_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p_run = sub.add_parser(
        "run",
        help="trade a strategy in paper or live mode (the daemon; docs/run.md)",
        description=(
            "Run the strategy a configuration names on its venues until SIGTERM or SIGINT: "
            "fold the journal in the state directory, reconcile with the venues, then trade. "
            "Logs are JSON lines on stdout; /healthz, /readyz and /metrics answer on [health] listen."
        ),
    )
    p_run.add_argument("--config", type=Path, required=True, metavar="FILE")
    p_run.add_argument("--mode", choices=["paper", "live"], default=None, help="overrides the file's mode")
    p_run.add_argument(
        "--adopt-venue-state",
        action="store_true",
        help="accept what the venues hold that the journal cannot account for (journalled), instead of "
        "refusing to trade",
    )
    p_run.add_argument(
        "--paper-cash", type=Decimal, default=Decimal(100_000), metavar="AMOUNT", help="paper account cash"
    )
    p_run.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p_run.add_argument(
        "--venue-clock",
        choices=["wall", "krx-session"],
        default="wall",
        help="what the paper venue and the brokers' KRX checks read the time from: the wall clock, or "
        "(drills against the brokers' emulators outside KRX hours, which run on the same shifted "
        "clock) 11:00 KST of the last trading day",
    )


def cmd_run(args: argparse.Namespace) -> int:
    checked = validate_config(args.config, mode=args.mode)
    configure_logging(level=args.log_level)
    config = checked.config
    bind_context(run_mode=config.mode.value, strategy=checked.loaded.spec.name)
    log = get_logger()
    for warning in checked.warnings:
        log.warning("config_warning", detail=warning)
    venue_clock = None
    if args.venue_clock == "krx-session":
        from adapters.emulator.krx_clock import SessionClock  # noqa: PLC0415 - drills only

        venue_clock = SessionClock.in_session()
    options = SessionOptions(
        adopt_venue_state=args.adopt_venue_state,
        paper_cash=args.paper_cash,
        notifier=Notifier.from_env(),
        venue_clock=venue_clock,
    )
    session = LiveSession(checked, options)
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if config.runtime.loop == "uvloop":
        import uvloop  # noqa: PLC0415

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(_main(session))


async def _main(session: LiveSession) -> int:
    stop = asyncio.Event()
    with stop_on_signals(stop):
        return await session.run(stop)
