"""``journal diff``: the first divergence between two journals, streaming, with fields ignored."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence
from decimal import Decimal as D
from pathlib import Path
from typing import cast, get_args

import msgspec
import pytest

from daemon.journal import FileJournal, JournalError
from daemon.journal.diff import (
    DECISION_TYPES,
    DEFAULT_IGNORE,
    DiffResult,
    Divergence,
    diff_events,
    diff_files,
    first_divergence,
    render,
)
from engines.model.codec import with_seq
from engines.model.enums import OrderType, Side
from engines.model.events import (
    AnyEvent,
    Event,
    OrderAccepted,
    OrderFilled,
    OrderSubmitted,
    QuoteTick,
    StrategyLog,
    TradeTick,
)
from tests.contract.journal_contract import every_event_type

T0 = 1_700_000_000_000_000_000
BTC = "binance-spot:BTCUSDT"


def stamped(events: list[Event]) -> list[AnyEvent]:
    """The events as a journal hands them back: seq 1, 2, ..."""
    return [cast(AnyEvent, with_seq(event, seq)) for seq, event in enumerate(events, 1)]


def quote(i: int, *, bid: str = "100.0", ts_init: int | None = None) -> QuoteTick:
    return QuoteTick(
        ts_event=T0 + i,
        ts_init=T0 + i if ts_init is None else ts_init,
        instrument=BTC,
        bid=D(bid),
        bid_size=D("1"),
        ask=D("100.5"),
        ask_size=D("2"),
    )


def submit(i: int, *, quantity: str = "0.5") -> OrderSubmitted:
    return OrderSubmitted(
        ts_event=T0 + i,
        ts_init=T0 + i,
        strategy="s",
        client_order_id=f"s-{i}",
        instrument=BTC,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=D(quantity),
        price=D("100.0"),
    )


def fill(i: int, *, px: str = "100.0") -> OrderFilled:
    return OrderFilled(
        ts_event=T0 + i,
        ts_init=T0 + i,
        client_order_id=f"s-{i}",
        instrument=BTC,
        side=Side.BUY,
        trade_id=f"t-{i}",
        last_qty=D("0.5"),
        last_px=D(px),
        cum_qty=D("0.5"),
        fee=D("0"),
        fee_currency="USDT",
    )


def log(i: int, message: str = "hello") -> StrategyLog:
    return StrategyLog(ts_event=T0 + i, ts_init=T0 + i, strategy="s", message=message)


def session() -> list[Event]:
    """A small session: market data, an order, its ack and fill, a log line."""
    return [
        quote(0),
        quote(1),
        submit(2),
        OrderAccepted(ts_event=T0 + 3, ts_init=T0 + 3, client_order_id="s-2", venue_order_id="v-1"),
        fill(4),
        log(5),
        quote(6),
        submit(7),
    ]


# ── streams ────────────────────────────────────────────────────────────────────────────────────


def test_identical_journals_agree_and_count_every_event() -> None:
    events = stamped(every_event_type())
    result = diff_events(events, list(events))
    assert result == DiffResult(divergence=None, compared=len(events))
    assert first_divergence(events, list(events)) is None


def test_empty_journals_agree_on_zero_events() -> None:
    assert diff_events([], []) == DiffResult(divergence=None, compared=0)


def test_a_differing_field_is_named_with_its_position_and_both_seqs() -> None:
    a = stamped(session())
    changed = session()
    changed[4] = fill(4, px="100.1")
    b = stamped(changed)
    result = diff_events(a, b)
    div = result.divergence
    assert div is not None
    assert (div.index, div.seq_a, div.seq_b, div.fields, div.shorter) == (4, 5, 5, ("last_px",), None)
    assert result.compared == 4
    assert div.event_a == msgspec.to_builtins(a[4])
    assert div.event_b == msgspec.to_builtins(b[4])
    assert div.event_a is not None and div.event_a["last_px"] == "100.0"


def test_several_differing_fields_are_all_named_in_field_order() -> None:
    a = stamped([quote(0)])
    b = stamped([QuoteTick(**{**msgspec.structs.asdict(quote(0)), "bid": D("99"), "ask_size": D("3")})])
    div = first_divergence(a, b)
    assert div is not None and div.fields == ("bid", "ask_size")


def test_a_different_event_type_is_named_first() -> None:
    a = stamped([quote(0), log(1)])
    b = stamped([quote(0), submit(1)])
    div = first_divergence(a, b)
    assert div is not None
    assert div.index == 1
    assert div.fields[0] == "type"
    # fields only one side has differ too; ts_event is the same on both and is not named
    assert {"message", "client_order_id", "quantity"} <= set(div.fields)
    assert "ts_event" not in div.fields


def test_decimal_exponent_counts_as_the_journal_encodes_it() -> None:
    """1.0 == 1.00 in Python, but the journals' bytes differ, so the diff must say so."""
    div = first_divergence(stamped([quote(0, bid="100.0")]), stamped([quote(0, bid="100.00")]))
    assert div is not None and div.fields == ("bid",)


@pytest.mark.parametrize("shorter", ["a", "b"])
def test_a_shorter_journal_diverges_where_it_ends(shorter: str) -> None:
    long_ = stamped(session())
    short = long_[:5]
    a, b = (short, long_) if shorter == "a" else (long_, short)
    result = diff_events(a, b)
    div = result.divergence
    assert div is not None
    assert result.compared == 5
    assert (div.index, div.shorter, div.fields) == (5, shorter, ())
    present = msgspec.to_builtins(long_[5])
    if shorter == "a":
        assert (div.seq_a, div.event_a, div.seq_b, div.event_b) == (None, None, 6, present)
    else:
        assert (div.seq_a, div.event_a, div.seq_b, div.event_b) == (6, present, None, None)


def test_seq_and_ts_init_are_ignored_by_default_and_compared_when_asked() -> None:
    a = stamped(session())
    # a re-drive stamps ts_init from its own clock, and sits after one extra event in its journal
    b = [msgspec.structs.replace(e, ts_init=e.ts_init + 999, seq=e.seq + 1) for e in a]
    assert {"seq", "ts_init"} == DEFAULT_IGNORE
    assert diff_events(a, b) == DiffResult(divergence=None, compared=len(a))

    strict = first_divergence(a, b, ignore=frozenset())
    assert strict is not None and strict.index == 0 and strict.fields == ("ts_init", "seq")
    only_seq = first_divergence(a, b, ignore=frozenset({"ts_init"}))
    assert only_seq is not None and only_seq.fields == ("seq",)
    assert (only_seq.seq_a, only_seq.seq_b) == (1, 2)


def test_ignoring_every_field_of_a_type_still_compares_its_type() -> None:
    everything = frozenset(StrategyLog.__struct_fields__)
    assert first_divergence(stamped([log(0, "a")]), stamped([log(9, "b")]), ignore=everything) is None
    div = first_divergence(stamped([log(0)]), stamped([quote(0)]), ignore=everything)
    assert div is not None and div.fields[0] == "type"


def test_an_unknown_field_to_ignore_is_refused() -> None:
    with pytest.raises(ValueError, match="ts_int"):
        diff_events([], [], ignore=frozenset({"ts_int"}))


def test_the_comparison_streams_and_stops_at_the_divergence() -> None:
    """Neither side is read past the divergence: endless streams compare one event at a time."""
    pulled = {"a": 0, "b": 0}
    bad_at = 10_000

    def endless(side: str, bad: int | None) -> Iterator[AnyEvent]:
        for i in itertools.count():
            # bounded, so that a comparison that never stops fails here instead of hanging
            assert i <= bad_at, f"{side} read past the divergence"
            pulled[side] += 1
            event = quote(i, bid="1" if i == bad else "100.0")
            yield msgspec.structs.replace(event, seq=i + 1)

    result = diff_events(endless("a", None), endless("b", bad_at))
    assert result.divergence is not None and result.divergence.index == bad_at
    assert pulled == {"a": bad_at + 1, "b": bad_at + 1}


# ── decisions only ─────────────────────────────────────────────────────────────────────────────


def test_decision_types_name_real_event_types() -> None:
    names = {cls.__name__ for cls in get_args(AnyEvent)}
    assert names >= DECISION_TYPES
    assert "OrderFilled" not in DECISION_TYPES and "QuoteTick" not in DECISION_TYPES


def test_decisions_only_skips_market_data_and_fills_on_both_sides() -> None:
    live = session()
    # the re-drive saw other quotes, another fill price, no ack and an extra trade: none is a decision
    redrive = [e for e in session() if not isinstance(e, OrderAccepted)]
    redrive[0] = quote(0, bid="99.0")
    redrive[3] = fill(4, px="101.0")
    redrive.insert(
        1,
        TradeTick(
            ts_event=T0,
            ts_init=T0,
            instrument=BTC,
            price=D("1"),
            size=D("1"),
            aggressor=Side.SELL,
            trade_id="x",
        ),
    )
    a, b = stamped(live), stamped(redrive)
    assert first_divergence(a, b) is not None
    result = diff_events(a, b, decisions_only=True)
    assert result == DiffResult(divergence=None, compared=3, decisions_only=True)


def test_decisions_only_catches_a_different_order_quantity() -> None:
    live = session()
    redrive = session()
    redrive[0] = quote(0, bid="99.0")  # skipped
    redrive[7] = submit(7, quantity="0.6")
    redrive.insert(0, quote(-1))  # shifts every seq in B by one
    a, b = stamped(live), stamped(redrive)
    result = diff_events(a, b, decisions_only=True)
    div = result.divergence
    assert div is not None
    # the third decision (submit, log, submit), at seq 8 in A and seq 9 in B
    assert (div.index, div.seq_a, div.seq_b, div.fields) == (2, 8, 9, ("quantity",))
    assert result.compared == 2


def test_decisions_only_finds_a_missing_decision() -> None:
    a = stamped(session())
    b = stamped(session()[:-1])
    div = first_divergence(a, b, decisions_only=True)
    assert div is not None
    assert (div.index, div.shorter, div.seq_a, div.seq_b) == (2, "b", 8, None)


# ── files ──────────────────────────────────────────────────────────────────────────────────────


def write(path: Path, events: Sequence[Event]) -> Path:
    with FileJournal(path, batch_records=3) as journal:
        journal.append(events)
    return path


def test_diff_files_agree_and_differ(tmp_path: Path) -> None:
    a = write(tmp_path / "a.vtj", session())
    b = write(tmp_path / "b.vtj", session())
    assert diff_files(a, b) == DiffResult(divergence=None, compared=len(session()))

    changed = session()
    changed[7] = submit(7, quantity="0.6")
    c = write(tmp_path / "c.vtj", changed)
    result = diff_files(a, c)
    assert result.divergence is not None
    assert (result.divergence.index, result.divergence.seq_a, result.divergence.fields) == (
        7,
        8,
        ("quantity",),
    )
    decisions = diff_files(a, c, decisions_only=True)
    assert decisions.divergence is not None and decisions.divergence.index == 2


def test_diff_files_reads_without_the_writer_lock(tmp_path: Path) -> None:
    """A journal compares with itself, and while a FileJournal holds it open for writing."""
    path = write(tmp_path / "a.vtj", session())
    assert diff_files(path, path).compared == len(session())
    with FileJournal(path) as writer:
        writer.append([log(99)])
        writer.flush()
        result = diff_files(path, path)
        assert result.compared == len(session()) + 1
    with FileJournal(path), pytest.raises(JournalError, match="locked"):
        FileJournal(path)  # why the diff cannot open its journals as FileJournals


def test_a_missing_file_is_a_journal_error_and_is_not_created(tmp_path: Path) -> None:
    a = write(tmp_path / "a.vtj", [])
    missing = tmp_path / "missing.vtj"
    for pair in ((a, missing), (missing, a)):
        with pytest.raises(JournalError) as raised:
            diff_files(*pair)
        assert raised.value.code == "VT605" and raised.value.path == str(missing)
    assert not missing.exists()


def test_a_corrupt_file_is_a_journal_error_naming_the_record(tmp_path: Path) -> None:
    a = write(tmp_path / "a.vtj", session())
    b = write(tmp_path / "b.vtj", session())
    image = bytearray(b.read_bytes())
    image[-3] ^= 0xFF  # inside the last record's payload
    b.write_bytes(bytes(image))
    with pytest.raises(JournalError) as raised:
        diff_files(a, b)
    assert raised.value.code == "VT602"  # checksum
    assert raised.value.record == len(session()) - 1 and raised.value.path == str(b)


def test_a_file_that_is_not_a_journal_is_a_journal_error(tmp_path: Path) -> None:
    a = write(tmp_path / "a.vtj", session())
    other = tmp_path / "notes.txt"
    other.write_bytes(b"not a journal at all\n")
    with pytest.raises(JournalError) as raised:
        diff_files(a, other)
    assert raised.value.code == "VT600"


def test_diff_files_closes_both_files_when_it_stops_early(tmp_path: Path) -> None:
    a = write(tmp_path / "a.vtj", [quote(i) for i in range(50)])
    b = write(tmp_path / "b.vtj", [quote(0, bid="1")] + [quote(i) for i in range(1, 50)])
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    result = diff_files(a, b)
    assert result.divergence is not None and result.divergence.index == 0
    if before is not None:
        assert len(os.listdir("/proc/self/fd")) == before


# ── the text ───────────────────────────────────────────────────────────────────────────────────


def test_render_names_the_position_the_field_and_both_events() -> None:
    a = stamped(session())
    changed = session()
    changed[7] = submit(7, quantity="0.6")
    b = stamped(changed)
    text = render(diff_events(a, b), "live.vtj", "redrive.vtj")
    first, line_a, line_b, ignored = text.splitlines()
    assert first == (
        "first divergence at event 7 (seq 8 in live.vtj, seq 8 in redrive.vtj): "
        'type OrderSubmitted; field quantity: live.vtj="0.5" redrive.vtj="0.6"'
    )
    assert line_a == "  live.vtj: " + msgspec.json.encode(a[7]).decode()
    assert line_b == "  redrive.vtj: " + msgspec.json.encode(b[7]).decode()
    assert ignored == "  ignored fields: seq, ts_init"


def test_render_of_a_type_change_and_of_a_shorter_journal() -> None:
    text = render(diff_events(stamped([log(0)]), stamped([quote(0)])), "A", "B")
    assert text.startswith(
        "first divergence at event 0 (seq 1 in A, seq 1 in B): type A=StrategyLog B=QuoteTick;"
    )
    assert 'field message: A="hello" B=(absent)' in text

    text = render(diff_events(stamped(session()[:2]), stamped(session()), decisions_only=True))
    first, line_a, line_b, _ = text.splitlines()
    assert first == (
        "first divergence at decision event 0 (past the end of A, seq 3 in B): "
        "A ends after 0 decision events; B continues with type OrderSubmitted"
    )
    assert line_a == "  A: (absent)"
    assert line_b.startswith('  B: {"type":"OrderSubmitted"')


def test_render_of_agreement_counts_the_events() -> None:
    events = stamped(session())
    assert render(diff_events(events, events)) == "journals agree on 8 events (ignoring seq, ts_init)"
    assert (
        render(diff_events(events, events, decisions_only=True, ignore=frozenset()))
        == "journals agree on 3 decision events"
    )


def test_the_result_encodes_as_json_for_a_machine_reader() -> None:
    result = diff_events(stamped([quote(0)]), stamped([quote(0, bid="1")]))
    decoded = msgspec.json.decode(msgspec.json.encode(result), type=DiffResult)
    assert decoded == result
    assert isinstance(decoded.divergence, Divergence)
