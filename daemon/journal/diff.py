"""``journal diff``: the first place where two journals disagree.

Two runs that should be the same (a replay and its rerun, a live session and its re-drive) are
compared event by event, streaming, so journals of millions of events cost one record of each at a
time. Fields named in ``ignore`` are left out: by default ``seq`` (where an event sits is the
position compared, not a field of it) and ``ts_init`` (in paper and live it is this process's wall
clock, which a re-drive cannot reproduce). Everything else is compared exactly as the journal
encodes it: ``Decimal("1.0")`` and ``Decimal("1.00")`` differ, as their journal bytes do.

With ``decisions_only`` only the decision record is compared (:data:`DECISION_TYPES`: the orders
a strategy sent and cancelled, its log, halts, rebalances, arbitrage outcomes and skipped
snapshots); every other event is skipped on both sides. A live session's fills, acks and market
data cannot match a re-drive against a simulated venue, but what the strategy decided must.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final, Literal, get_args

import msgspec

from daemon.journal.inspection import _file_batches
from engines.model.events import AnyEvent

DEFAULT_IGNORE: Final[frozenset[str]] = frozenset({"seq", "ts_init"})
"""Left out of the comparison unless the caller says otherwise."""

DECISION_TYPES: Final[frozenset[str]] = frozenset(
    {
        "OrderSubmitted",
        "OrderPendingCancel",
        "StrategyLog",
        "StrategyHalted",
        "Rebalanced",
        "ArbitrageResolved",
        "SnapshotSkipped",
        "TradingHalted",
    }
)
"""The event types (their ``type`` tags) that record what the strategy and the daemon decided."""

_EVENT_TYPES: Final[tuple[type[AnyEvent], ...]] = get_args(AnyEvent)
_DECISION_CLASSES: Final[frozenset[type[AnyEvent]]] = frozenset(
    cls for cls in _EVENT_TYPES if cls.__name__ in DECISION_TYPES
)

EVENT_FIELDS: Final[frozenset[str]] = frozenset(
    name for cls in _EVENT_TYPES for name in cls.__struct_fields__
)
"""Every field name some event type has: what ``ignore`` may name."""


class Divergence(msgspec.Struct, frozen=True, kw_only=True):
    """The first pair of events that differ, or where one journal ran out.

    ``index`` is the 0-based position in the compared stream (among decision events only, with
    ``decisions_only``); ``seq_a``/``seq_b`` place the events in their journals. Past the end of a
    journal its seq and event are ``None`` and ``shorter`` names it (``"a"`` or ``"b"``).
    ``fields`` are the fields whose values differ, in the order of A's event then B's (``type``
    first when the event types differ; a field only one side has counts as differing); empty when a
    journal ended.
    """

    index: int
    seq_a: int | None
    seq_b: int | None
    event_a: dict[str, Any] | None
    event_b: dict[str, Any] | None
    fields: tuple[str, ...] = ()
    shorter: Literal["a", "b"] | None = None


class DiffResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a comparison found. ``compared`` counts the event pairs that agreed: all of them when
    ``divergence`` is ``None``, else the ones before it (then equal to ``divergence.index``)."""

    divergence: Divergence | None
    compared: int
    decisions_only: bool = False
    ignored: tuple[str, ...] = tuple(sorted(DEFAULT_IGNORE))


_Key = Callable[[AnyEvent], bytes]


def _unset_as_nil(value: object) -> object:
    """A field the journal leaves out (UNSET, e.g. a live run's ``RunStarted.settings``) compares as nil."""
    if value is msgspec.UNSET:
        return None
    raise TypeError(f"cannot compare a {type(value).__name__}")


class _Keys:
    """The comparison key of an event: its fields minus the ignored ones, encoded as msgpack.

    Encoding compares what the journal stores, not Python equality: a Decimal's exponent, a
    dict's order and a float NaN all count as the bytes have them.
    """

    def __init__(self, ignore: frozenset[str]) -> None:
        self._ignore = ignore
        self._encode = msgspec.msgpack.Encoder(enc_hook=_unset_as_nil).encode
        self._by_type: dict[type[AnyEvent], _Key] = {}

    def __call__(self, event: AnyEvent) -> bytes:
        key = self._by_type.get(type(event))
        if key is None:
            key = self._by_type[type(event)] = self._make(type(event))
        return key(event)

    def _make(self, cls: type[AnyEvent]) -> _Key:
        names = [name for name in cls.__struct_fields__ if name not in self._ignore]
        if not names:
            return lambda _event: b""
        getter = operator.attrgetter(*names)
        encode = self._encode
        return lambda event: encode(getter(event))


def _check_ignore(ignore: frozenset[str]) -> None:
    unknown = sorted(ignore - EVENT_FIELDS)
    if unknown:
        raise ValueError(f"no event type has the field(s) {', '.join(unknown)}: nothing to ignore")


def _decisions(events: Iterable[AnyEvent]) -> Iterator[AnyEvent]:
    classes = _DECISION_CLASSES
    return (event for event in events if type(event) in classes)


def diff_events(
    a: Iterable[AnyEvent],
    b: Iterable[AnyEvent],
    *,
    ignore: frozenset[str] = DEFAULT_IGNORE,
    decisions_only: bool = False,
) -> DiffResult:
    """Compare two event streams pairwise and stop at the first difference.

    Reads each stream once, one event at a time, and no further than the divergence (so damage
    after it is not seen; damage before it propagates as the reader's error). ``ignore`` names
    fields left out of the comparison; a name that no event type has is a ``ValueError``, since a
    typo would silently ignore nothing.
    """
    _check_ignore(ignore)
    if decisions_only:
        a, b = _decisions(a), _decisions(b)
    keys = _Keys(ignore)
    ignored = tuple(sorted(ignore))
    index = 0
    for event_a, event_b in itertools.zip_longest(a, b):  # events are never None: None is "ended"
        if event_a is None or event_b is None:
            divergence = _ended(index, event_a, event_b)
        elif type(event_a) is type(event_b) and keys(event_a) == keys(event_b):
            index += 1
            continue
        else:
            divergence = _differs(index, event_a, event_b, ignore)
        return DiffResult(
            divergence=divergence, compared=index, decisions_only=decisions_only, ignored=ignored
        )
    return DiffResult(divergence=None, compared=index, decisions_only=decisions_only, ignored=ignored)


def first_divergence(
    a: Iterable[AnyEvent],
    b: Iterable[AnyEvent],
    *,
    ignore: frozenset[str] = DEFAULT_IGNORE,
    decisions_only: bool = False,
) -> Divergence | None:
    """The first difference between two event streams, or ``None`` if they agree (see :func:`diff_events`)."""
    return diff_events(a, b, ignore=ignore, decisions_only=decisions_only).divergence


def diff_files(
    path_a: str | os.PathLike[str],
    path_b: str | os.PathLike[str],
    *,
    ignore: frozenset[str] = DEFAULT_IGNORE,
    decisions_only: bool = False,
) -> DiffResult:
    """Compare two journal files; a missing, unreadable or damaged file is a ``JournalError``.

    The files are read the way ``journal export`` reads them: read-only, without the writer's
    lock, so a journal can be compared with itself or while a daemon appends to it (up to the
    size it had when opened; a record being written at that moment reads as a torn tail, VT601),
    and a missing file is an error rather than a new empty journal.
    A missing B is reported even when A is empty: the comparison always asks both for their next
    event, which opens a file on the first ask.
    """
    name_a, name_b = str(path_a), str(path_b)
    with contextlib.ExitStack() as stack:
        # closing(): each file is closed when the comparison stops early, not when it is collected
        batches_a = stack.enter_context(contextlib.closing(_file_batches(path_a, name_a)))
        batches_b = stack.enter_context(contextlib.closing(_file_batches(path_b, name_b)))
        events_a = itertools.chain.from_iterable(batches_a)
        events_b = itertools.chain.from_iterable(batches_b)
        return diff_events(events_a, events_b, ignore=ignore, decisions_only=decisions_only)


def _ended(index: int, event_a: AnyEvent | None, event_b: AnyEvent | None) -> Divergence:
    return Divergence(
        index=index,
        seq_a=None if event_a is None else event_a.seq,
        seq_b=None if event_b is None else event_b.seq,
        event_a=None if event_a is None else _builtins(event_a),
        event_b=None if event_b is None else _builtins(event_b),
        shorter="a" if event_a is None else "b",
    )


def _differs(index: int, event_a: AnyEvent, event_b: AnyEvent, ignore: frozenset[str]) -> Divergence:
    dict_a, dict_b = _builtins(event_a), _builtins(event_b)
    encode = msgspec.json.encode
    missing = object()
    fields: list[str] = []
    for name in dict.fromkeys(itertools.chain(dict_a, dict_b)):  # A's order, then B's extra fields
        if name in ignore:
            continue
        value_a, value_b = dict_a.get(name, missing), dict_b.get(name, missing)
        if value_a is missing or value_b is missing or encode(value_a) != encode(value_b):
            fields.append(name)
    return Divergence(
        index=index,
        seq_a=event_a.seq,
        seq_b=event_b.seq,
        event_a=dict_a,
        event_b=dict_b,
        fields=tuple(fields),
    )


def _builtins(event: AnyEvent) -> dict[str, Any]:
    out = msgspec.to_builtins(event)
    assert isinstance(out, dict)
    return out


# ── the human text ─────────────────────────────────────────────────────────────────────────────

_ABSENT: Final = "(absent)"


def render(result: DiffResult, name_a: str = "A", name_b: str = "B") -> str:
    """The report ``journal diff`` prints: where the journals diverge and both events, or agreement.

    The first line names the position, both seqs and the event type, then each differing field as
    ``field f: A=<json> B=<json>``; the two events follow as one-line JSON each.
    """
    what = "decision events" if result.decisions_only else "events"
    ignoring = f" (ignoring {', '.join(result.ignored)})" if result.ignored else ""
    div = result.divergence
    if div is None:
        return f"journals agree on {result.compared} {what}{ignoring}"
    kind = "decision event" if result.decisions_only else "event"
    head = (
        f"first divergence at {kind} {div.index} ({_where(div.seq_a, name_a)}, {_where(div.seq_b, name_b)}): "
    )
    if div.shorter is not None:
        short, long_ = (name_a, name_b) if div.shorter == "a" else (name_b, name_a)
        present = div.event_b if div.shorter == "a" else div.event_a
        assert present is not None
        head += f"{short} ends after {div.index} {what}; {long_} continues with type {present.get('type')}"
    else:
        assert div.event_a is not None and div.event_b is not None
        type_a, type_b = div.event_a.get("type"), div.event_b.get("type")
        head += f"type {type_a}" if type_a == type_b else f"type {name_a}={type_a} {name_b}={type_b}"
        for name in div.fields:
            if name == "type":
                continue
            head += (
                f"; field {name}: {name_a}={_value(div.event_a, name)} {name_b}={_value(div.event_b, name)}"
            )
    lines = [head]
    for name, event in ((name_a, div.event_a), (name_b, div.event_b)):
        lines.append(f"  {name}: {_ABSENT if event is None else msgspec.json.encode(event).decode()}")
    if result.ignored:
        lines.append(f"  ignored fields: {', '.join(result.ignored)}")
    return "\n".join(lines)


def _where(seq: int | None, name: str) -> str:
    return f"past the end of {name}" if seq is None else f"seq {seq} in {name}"


def _value(event: dict[str, Any], name: str) -> str:
    return msgspec.json.encode(event[name]).decode() if name in event else _ABSENT
