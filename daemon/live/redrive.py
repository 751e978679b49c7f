"""Re-driving a recorded live session through a kernel: how a restart rebuilds its state, and how
``replay --journal`` checks that a recording replays to identical decisions.

A live session journals every market event its engine saw and every fact, in the order the kernel
folded them. Re-driving feeds the same inputs to a fresh kernel in the same order: market events are
stepped, facts that came from outside the kernel (the venues' answers, reconciliation, timers, the
operator's halts) are recorded, and everything the kernel makes itself (intents, cancels, marks,
logs, rebalances) must come out again, equal to what the journal holds. :class:`ReDriveJournal` is
the kernel's journal port while it does this: instead of appending, it checks each event against the
next recorded one (``seq`` and ``ts_init`` aside: the wall clock stamped them) and hands back the
recorded one, so the fold ends in exactly the recorded state. The first difference is a
:class:`DivergenceError` naming both events.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Final

import msgspec

from engines.errors import VibeError
from engines.kernel import Kernel
from engines.model.events import (
    ArbitrageResolved,
    Bar,
    CashAdjusted,
    Event,
    InstrumentDefined,
    MarkPrice,
    OrderPendingCancel,
    OrderSubmitted,
    QuoteTick,
    Rebalanced,
    RunFinished,
    RunStarted,
    SnapshotSkipped,
    StrategyHalted,
    StrategyLog,
    TimerFired,
    TradeTick,
)
from engines.model.instruments import InstrumentSpec

__all__ = ["DivergenceError", "ReDriveJournal", "redrive"]

MARKET_TYPES: Final = (QuoteTick, TradeTick, Bar)

#: what only the kernel makes: found where the kernel did not make it, the re-drive diverged
KERNEL_MADE: Final = (
    OrderSubmitted,
    OrderPendingCancel,
    MarkPrice,
    StrategyLog,
    StrategyHalted,
    Rebalanced,
    SnapshotSkipped,
    ArbitrageResolved,
)

_IGNORED: Final = frozenset({"seq", "ts_init"})


class DivergenceError(VibeError):
    """The strategy and engine, fed a recorded session's inputs, did not decide what it recorded."""

    code = "VT970"


def comparable(event: Event) -> dict[str, object]:
    raw = msgspec.to_builtins(event)
    assert isinstance(raw, dict)
    return {k: v for k, v in raw.items() if k not in _IGNORED}


class ReDriveJournal:
    """A journal port that checks appends against a recording instead of writing them."""

    def __init__(self, recorded: Sequence[Event], observe: Callable[[Event], None] = lambda e: None) -> None:
        self._recorded = recorded
        self.observe = observe
        self.position = 0

    @property
    def exhausted(self) -> bool:
        return self.position >= len(self._recorded)

    def peek(self) -> Event:
        return self._recorded[self.position]

    @property
    def last_seq(self) -> int:
        return self._recorded[self.position - 1].seq if self.position else 0

    def append(self, events: Sequence[Event]) -> Sequence[Event]:
        out: list[Event] = []
        for event in events:
            if self.exhausted:
                raise DivergenceError(
                    f"the re-drive made {type(event).__name__} {_short(event)} "
                    "after the recording's last event",
                    hint="The strategy, its parameters or the engine differ from the recorded session's.",
                )
            expected = self._recorded[self.position]
            if type(expected) is not type(event) or comparable(expected) != comparable(event):
                raise DivergenceError(
                    f"at seq {expected.seq}: the recording has {type(expected).__name__} {_short(expected)}, "
                    f"the re-drive made {type(event).__name__} {_short(event)}",
                    hint="The strategy, its parameters or the engine differ from the recorded session's.",
                )
            self.position += 1
            out.append(expected)
            self.observe(expected)
        return out


def _short(event: Event) -> str:
    text = msgspec.json.encode(comparable(event)).decode()
    return text if len(text) <= 400 else text[:400] + "…"


def _direct(step: Callable[[], None]) -> None:
    step()


def redrive(
    kernel: Kernel,
    journal: ReDriveJournal,
    *,
    step: Callable[[Callable[[], None]], None] = _direct,
) -> int:
    """Feed the recording to ``kernel`` (whose journal port is ``journal``); return the events folded.

    ``step`` runs each event's kernel work: a session passes the one it trades with (the strategy
    call budget, and an engine that failed live is not called again here either).
    """
    while not journal.exhausted:
        event = journal.peek()
        if isinstance(event, MARKET_TYPES):
            step(functools.partial(kernel.step_batch, [event]))
        elif isinstance(event, RunStarted):
            _begin(kernel, journal, event)
        elif isinstance(event, KERNEL_MADE):
            ending = _run_ending(journal)
            if ending is not None:
                # the strategy's on_stop lines, journalled just before the session's RunFinished
                before = journal.position
                step(functools.partial(kernel.stop_strategy, ending.ts_event))
                if journal.position == before:
                    raise DivergenceError(
                        f"at seq {event.seq}: the recording has {type(event).__name__} {_short(event)} "
                        "as its strategy stopped, which the re-driven strategy's on_stop did not make",
                        hint="The strategy, its parameters or the engine differ from the recorded session's.",
                    )
                continue
            # what the kernel made when a market event closed the previous instant (a rebalance,
            # timers) is journalled before that market event: step the market event that follows
            following = _next_market(journal)
            if following is None:
                raise DivergenceError(
                    f"at seq {event.seq}: the recording has {type(event).__name__} {_short(event)}, "
                    "which the re-driven engine did not make",
                    hint="The strategy, its parameters or the engine differ from the recorded session's.",
                )
            before = journal.position
            step(functools.partial(kernel.step_batch, [following]))
            if journal.position == before:
                raise DivergenceError(
                    f"at seq {event.seq}: the recording has {type(event).__name__} {_short(event)}, "
                    "which the re-driven engine did not make",
                    hint="The strategy, its parameters or the engine differ from the recorded session's.",
                )
        else:
            step(functools.partial(_outside_fact, kernel, event))
            if journal.position < len(journal._recorded) and journal.peek() is event:
                journal.position += 1  # the step was stopped before the kernel recorded it
    return journal.position


def _run_ending(journal: ReDriveJournal) -> RunFinished | None:
    """The RunFinished that the strategy log lines at the recording's position lead to, if any: what
    ``on_stop`` said as the session stopped (it may only log)."""
    recorded = journal._recorded
    at = journal.position
    while at < len(recorded) and isinstance(recorded[at], StrategyLog):
        at += 1
    candidate = recorded[at] if at < len(recorded) else None
    return candidate if isinstance(candidate, RunFinished) and at > journal.position else None


def _next_market(journal: ReDriveJournal) -> QuoteTick | TradeTick | Bar | None:
    """The market event whose step journalled the events at the recording's position, if any.

    Everything between is what that step made before it journalled its market event (a rebalance,
    its intents, the risk gate's refusals of them): stepping the market event makes them again, and
    the journal port checks each against the recording, so an outside fact in between diverges.
    """
    recorded = journal._recorded
    at = journal.position
    while at < len(recorded) and not isinstance(recorded[at], MARKET_TYPES):
        at += 1
    candidate = recorded[at] if at < len(recorded) else None
    return candidate if isinstance(candidate, (QuoteTick, TradeTick, Bar)) else None


def _outside_fact(kernel: Kernel, event: Event) -> None:
    kernel.record(event)
    if isinstance(event, TimerFired):
        kernel.fire_timers(event.ts_event)
    else:
        kernel.settle(max(kernel.last_ts, event.ts_event))


def _begin(kernel: Kernel, journal: ReDriveJournal, run: RunStarted) -> None:
    """The run's header (start, instruments, capital) as :meth:`Kernel.begin` journalled it."""
    recorded = journal._recorded
    at = journal.position + 1
    specs: list[InstrumentSpec] = []
    while at < len(recorded) and isinstance(defined := recorded[at], InstrumentDefined):
        specs.append(defined.spec)
        at += 1
    cash = recorded[at] if at < len(recorded) else None
    if not isinstance(cash, CashAdjusted):
        raise DivergenceError(f"at seq {run.seq}: a run start without its capital")
    kernel.begin(run, specs, Decimal(cash.amount))
