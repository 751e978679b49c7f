"""``vibetrading replay STRATEGY --journal DIR``: re-drive a recorded paper or live session.

The session's journal holds every market event its engine saw and every fact the venues answered,
in the order they were folded. Re-driving them through the same strategy and engine (the kernel a
session uses, with the venue port silent: the venues' answers come from the journal) must make the
same decisions, event for event: an intent, a cancel, a rebalance, a log line. The first difference
is a :class:`~daemon.live.redrive.DivergenceError` (VT970) naming the recorded event and the one the
re-drive made. Nothing is sent anywhere and nothing is written.

Parameters come from the journal's ``RunStarted`` (``--param`` overrides them, to see where a
change diverges). Routes (which venue each symbol's orders went to) are the venue named by each
symbol's market (``binance-spot:BTCUSDT`` → ``binance``), as a run configuration routes them. Risk
limits are not in the journal: pass the session's ``--config`` when it had any, else a risk refusal
in the recording shows as a divergence.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import msgspec

from daemon.config import load_config
from daemon.journal import read_events
from daemon.journal.diff import DECISION_TYPES
from daemon.live.redrive import DivergenceError, ReDriveJournal, redrive
from daemon.live.session import JOURNAL_NAME, live_kernel, risk_limits
from daemon.preflight import load_strategy
from engines.clock import ReplayClock
from engines.markets.specs import spec_for
from engines.model.commands import CancelOrder, QueryOrder, SubmitOrder
from engines.model.events import Event, MarketEvent, OrderSubmitted, RunStarted
from engines.model.instruments import market_of
from engines.risk import RiskLimits

__all__ = ["JournalReplay", "replay_journal"]


class JournalReplay(msgspec.Struct, frozen=True, kw_only=True):
    """What a re-drive checked: every event of the journal, and how many of them were decisions."""

    journal: str
    run_id: str
    strategy: str
    mode: str
    events: int
    market_events: int
    decisions: int
    orders: int
    strategy_changed: bool
    seconds: float


class _Silent:
    """The venue port of a re-drive: the venues' answers are in the journal, nothing is sent."""

    def submit(self, cmd: SubmitOrder, at_ns: int) -> Sequence[Event]:
        return ()

    def cancel(self, cmd: CancelOrder, at_ns: int) -> Sequence[Event]:
        return ()

    def query(self, cmd: QueryOrder, at_ns: int) -> Sequence[Event]:
        return ()

    def on_market(self, event: MarketEvent) -> Sequence[Event]:
        return ()


def replay_journal(
    strategy: Path, journal: Path, *, params: Sequence[str] = (), config: Path | None = None
) -> JournalReplay:
    """Re-drive ``journal`` (a state directory or its journal file) through ``strategy``."""
    path = journal / JOURNAL_NAME if journal.is_dir() else journal
    started = time.perf_counter()
    recorded: list[Event] = list(read_events(path))
    if not recorded or not isinstance(run := recorded[0], RunStarted):
        raise DivergenceError(f"{path}: not a session journal (it does not start with RunStarted)")
    if run.mode not in ("paper", "live"):
        raise DivergenceError(
            f"{path}: a {run.mode} journal; re-drive paper and live sessions only",
            hint="A backtest is re-run from its data: vibetrading replay STRATEGY --data ...",
        )
    recorded_params = [f"{k}={v}" for k, v in sorted(run.params.items())]
    loaded = load_strategy(strategy, params=[*recorded_params, *params])
    spec = loaded.spec
    if spec.name != run.strategy or spec.strategy_type != run.strategy_type:
        raise DivergenceError(
            f"{strategy} declares {spec.strategy_type} strategy {spec.name!r}; the journal recorded "
            f"{run.strategy_type} strategy {run.strategy!r}"
        )
    specs = {s: spec_for(s) for s in spec.universe}
    routes = {s: _venue_of(s, recorded) for s in spec.universe}
    limits = risk_limits(load_config(config).risk) if config is not None else RiskLimits()
    rd = ReDriveJournal(recorded)
    kernel, gate = live_kernel(
        spec, specs, routes, port=_Silent(), journal=rd, limits=limits, clock=ReplayClock()
    )
    rd.observe = gate.observe
    redrive(kernel, rd)
    return JournalReplay(
        journal=str(path),
        run_id=run.run_id,
        strategy=spec.name,
        mode=run.mode,
        events=len(recorded),
        market_events=kernel.market_events,
        decisions=sum(1 for e in recorded if type(e).__name__ in DECISION_TYPES),
        orders=len(kernel.orders),
        strategy_changed=loaded.source_sha256 != run.strategy_sha256,
        seconds=round(time.perf_counter() - started, 3),
    )


def _venue_of(symbol: str, recorded: Sequence[Event]) -> str:
    for event in recorded:
        if isinstance(event, OrderSubmitted) and event.instrument == symbol:
            return event.venue
    return market_of(symbol).partition("-")[0]
