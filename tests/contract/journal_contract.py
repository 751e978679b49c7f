"""The behaviour every journal store has (DESIGN.md sections 6 and 10).

:class:`JournalStoreContract` holds the tests; each store subclasses it once (``TestFileJournal``,
``TestMemoryJournal``) and says how to make, reopen and image a store. The base class has no ``Test``
prefix, so pytest collects only the subclasses.
"""

from __future__ import annotations

import hashlib
import struct
import types
import typing
import zlib
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import msgspec
import pytest

from daemon.journal import HEADER, JournalError, JournalStore
from engines.model.codec import Codec
from engines.model.enums import Liquidity, OrderType, ReportedStatus, Side, TimeInForce
from engines.model.events import (
    AnyEvent,
    ArbitrageResolved,
    Bar,
    CashAdjusted,
    Event,
    FillReport,
    InstrumentDefined,
    MarkPrice,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderExpired,
    OrderFilled,
    OrderPendingCancel,
    OrderRejected,
    OrderStatusReport,
    OrderStatusUnknown,
    OrderSubmitted,
    QuoteTick,
    Rebalanced,
    ReconciliationDifference,
    RunFinished,
    RunStarted,
    SnapshotSkipped,
    StrategyHalted,
    StrategyLog,
    TimerFired,
    TradeTick,
    TradingHalted,
    TradingResumed,
)
from engines.model.instruments import InstrumentKind, InstrumentSpec

T0 = 1_700_000_000_000_000_000
BTC = "binance-spot:BTCUSDT"
ETH = "bybit-linear:ETHUSDT"


def every_event_type() -> list[Event]:
    """One instance of each event type, with optional fields set away from their defaults."""
    t = T0
    return [
        TradeTick(
            ts_event=t,
            ts_init=t + 1,
            instrument=BTC,
            price=D("43000.10"),
            size=D("0.015"),
            aggressor=Side.SELL,
            trade_id="t-1",
        ),
        QuoteTick(
            ts_event=t + 2,
            ts_init=t + 3,
            instrument=BTC,
            bid=D("43000.1"),
            bid_size=D("1.5"),
            ask=D("43000.2"),
            ask_size=D("0.25"),
        ),
        Bar(
            ts_event=t + 60_000_000_000,
            ts_init=t + 60_000_000_001,
            instrument="krx:005930",
            open=D(71000),
            high=D(71500),
            low=D(70900),
            close=D(71200),
            volume=D(123456),
            interval_ns=60_000_000_000,
        ),
        OrderSubmitted(
            ts_event=t + 4,
            ts_init=t + 4,
            strategy="arb",
            client_order_id="arb-000001-0",
            instrument=ETH,
            side=Side.BUY,
            order_type=OrderType.STOP_LIMIT,
            quantity=D("0.50"),
            price=D("2500.5"),
            trigger_price=D("2499"),
            time_in_force=TimeInForce.IOC,
            reduce_only=True,
            arb_id="arb-000001",
            leg=0,
            aligned_ts_ns=(t, t + 10, t + 20),
        ),
        OrderAccepted(ts_event=t + 5, ts_init=t + 5, client_order_id="c-1", venue_order_id="v-9"),
        OrderRejected(ts_event=t + 6, ts_init=t + 6, client_order_id="c-2", reason="margin", code="-2019"),
        OrderFilled(
            ts_event=t + 7,
            ts_init=t + 7,
            client_order_id="c-1",
            instrument=ETH,
            side=Side.BUY,
            trade_id="f-1",
            last_qty=D("0.2"),
            last_px=D("2500.4"),
            cum_qty=D("0.2"),
            fee=D("-0.0001"),
            fee_currency="USDT",
            liquidity=Liquidity.MAKER,
        ),
        OrderPendingCancel(ts_event=t + 8, ts_init=t + 8, client_order_id="c-1"),
        OrderCancelRejected(ts_event=t + 9, ts_init=t + 9, client_order_id="c-1", reason="filled"),
        OrderCanceled(ts_event=t + 10, ts_init=t + 10, client_order_id="c-3", reason="user"),
        OrderExpired(ts_event=t + 11, ts_init=t + 11, client_order_id="c-4"),
        InstrumentDefined(
            ts_event=t + 12,
            ts_init=t + 12,
            spec=InstrumentSpec(
                symbol=ETH,
                kind=InstrumentKind.LINEAR,
                base="ETH",
                quote="USDT",
                settle="USDT",
                tick_size=D("0.01"),
                lot_size=D("0.001"),
                min_qty=D("0.001"),
                min_notional=D(5),
                multiplier=D(1),
                maker_fee_bps=D("-0.5"),
                taker_fee_bps=D("5.5"),
                tick_scheme="fixed",
            ),
        ),
        CashAdjusted(ts_event=t + 13, ts_init=t + 13, currency="KRW", amount=D(10_000_000), reason="deposit"),
        MarkPrice(ts_event=t + 14, ts_init=t + 14, instrument=BTC, price=D("43001")),
        RunStarted(
            ts_event=t + 15,
            ts_init=t + 15,
            run_id="run-1",
            strategy="my_strategy_a",
            strategy_type="single",
            mode="backtest",
            venues=("sim", "binance"),
            params={"fast": "5", "slow": "20", "한글": "값"},
            strategy_sha256="ab" * 32,
        ),
        RunFinished(ts_event=t + 16, ts_init=t + 16, run_id="run-1", reason="end of data"),
        StrategyHalted(ts_event=t + 17, ts_init=t + 17, strategy="arb", reason="leg failed", code="VT320"),
        StrategyLog(ts_event=t + 18, ts_init=t + 18, strategy="a", message='crossed ↑ \n"q"'),
        SnapshotSkipped(ts_event=t + 19, ts_init=t + 19, strategy="arb", spread_ns=51_000_000, count=3),
        Rebalanced(
            ts_event=t + 20,
            ts_init=t + 20,
            strategy="pf",
            weights={"krx:005930": D("0.49"), "krx:000660": D("0.49")},
            orders=2,
            turnover=D("0.98"),
        ),
        ArbitrageResolved(ts_event=t + 21, ts_init=t + 21, strategy="arb", arb_id="arb-1", outcome="unwound"),
        OrderStatusUnknown(ts_event=t + 22, ts_init=t + 22, client_order_id="c-5", reason="HTTP 504"),
        OrderStatusReport(
            ts_event=t + 23,
            ts_init=t + 24,
            client_order_id="c-5",
            venue="bybit",
            instrument=ETH,
            side=Side.SELL,
            order_type=OrderType.LIMIT,
            quantity=D("0.50"),
            status=ReportedStatus.PARTIALLY_FILLED,
            filled_qty=D("0.100"),
            venue_order_id="v-10",
            price=D("2500.10"),
            avg_px=D("2500.0999999999999999999999999999"),
            reason="reconciled",
            external=True,
        ),
        FillReport(
            ts_event=t + 25,
            ts_init=t + 26,
            client_order_id="c-5",
            instrument=ETH,
            side=Side.SELL,
            trade_id="f-2",
            last_qty=D("0.100"),
            last_px=D("2500.10"),
            cum_qty=D("0.100"),
            fee=D("0.0001375"),
            fee_currency="USDT",
            liquidity=Liquidity.MAKER,
        ),
        TimerFired(ts_event=t + 27, ts_init=t + 27),
        TradingHalted(ts_event=t + 28, ts_init=t + 29, reason="POST /halt", source="operator", code="VT974"),
        TradingResumed(ts_event=t + 30, ts_init=t + 30, source="operator"),
        ReconciliationDifference(
            ts_event=t + 31,
            ts_init=t + 31,
            venue="binance",
            kind="order",
            detail="open order flip-00000009 the journal never saw",
            adopted=True,
        ),
    ]


def quotes(n: int, start: int = 0) -> list[Event]:
    return [
        QuoteTick(
            ts_event=T0 + i,
            ts_init=T0 + i,
            instrument=BTC,
            bid=D(43000) + D(i) / 100,
            bid_size=D("1.5"),
            ask=D(43001) + D(i) / 100,
            ask_size=D("0.25"),
        )
        for i in range(start, start + n)
    ]


def unstamped(event: Event) -> Event:
    return msgspec.structs.replace(event, seq=0)


def records_of(image: bytes) -> list[bytes]:
    """The payloads of a journal image, parsed straight from the documented format."""
    assert image[:8] == HEADER
    pos, out = 8, []
    while pos < len(image):
        length, crc = struct.unpack_from("<II", image, pos)
        payload = image[pos + 8 : pos + 8 + length]
        assert len(payload) == length
        assert zlib.crc32(payload) == crc
        out.append(payload)
        pos += 8 + length
    return out


class JournalStoreContract:
    """The journal store contract. Subclasses implement ``make_store``, ``reopen`` and ``image``."""

    def make_store(self, directory: Path) -> JournalStore:
        """A new, empty store kept under ``directory`` (which exists)."""
        raise NotImplementedError

    def reopen(self, store: JournalStore) -> JournalStore:
        """Close ``store`` and open the same journal again."""
        raise NotImplementedError

    def image(self, store: JournalStore) -> bytes:
        """The journal's bytes as they would be on disk, after a flush."""
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[JournalStore]:
        store = self.make_store(tmp_path)
        yield store
        store.close()

    # ── sequence numbers ────────────────────────────────────────────────────────────────────────

    def test_a_new_journal_is_empty(self, store: JournalStore) -> None:
        assert store.last_seq == 0
        assert list(store.read()) == []

    def test_append_stamps_consecutive_seq_from_one(self, store: JournalStore) -> None:
        stamped = store.append(quotes(5))
        assert [e.seq for e in stamped] == [1, 2, 3, 4, 5]
        assert store.last_seq == 5

    def test_append_returns_the_events_with_only_seq_changed(self, store: JournalStore) -> None:
        events = every_event_type()
        stamped = store.append(events)
        assert [unstamped(e) for e in stamped] == events
        assert all(e.seq == 0 for e in events)  # the caller's events are untouched

    def test_seq_continues_across_batches_of_any_size(self, store: JournalStore) -> None:
        seqs: list[int] = []
        for size in (1, 2, 7, 1, 0, 4, 13, 3):
            seqs += [e.seq for e in store.append(quotes(size))]
        assert seqs == list(range(1, 32))
        assert store.last_seq == 31
        assert [e.seq for e in store.read()] == seqs

    def test_an_empty_append_changes_nothing(self, store: JournalStore) -> None:
        store.append(quotes(2))
        assert store.append([]) == []
        assert store.last_seq == 2
        assert len(list(store.read())) == 2

    def test_append_restamps_events_that_already_carry_a_seq(self, store: JournalStore) -> None:
        store.append(quotes(1))
        stale = [msgspec.structs.replace(e, seq=99) for e in quotes(2)]
        assert [e.seq for e in store.append(stale)] == [2, 3]
        assert [e.seq for e in store.read()] == [1, 2, 3]

    # ── reading ─────────────────────────────────────────────────────────────────────────────────

    @pytest.mark.parametrize("from_seq", [1, 2, 9, 10, 11, 500])
    def test_read_from_seq_yields_the_suffix(self, store: JournalStore, from_seq: int) -> None:
        stamped = store.append(quotes(4))
        stamped += store.append(quotes(6, start=4))
        assert list(store.read(from_seq)) == stamped[from_seq - 1 :]

    @pytest.mark.parametrize("from_seq", [0, -1])
    def test_read_from_seq_below_one_is_an_error(self, store: JournalStore, from_seq: int) -> None:
        with pytest.raises(ValueError, match="from 1"):
            store.read(from_seq)

    def test_read_includes_events_not_flushed_yet(self, store: JournalStore) -> None:
        stamped = store.append(quotes(2))
        assert list(store.read()) == stamped

    def test_read_is_repeatable_and_sees_later_appends(self, store: JournalStore) -> None:
        first = store.append(quotes(3))
        assert list(store.read()) == first
        second = store.append(quotes(2, start=3))
        assert list(store.read()) == first + second
        assert list(store.read()) == first + second

    def test_every_event_type_round_trips_unchanged(self, store: JournalStore) -> None:
        stamped = store.append(every_event_type())
        back = list(store.read())
        assert back == stamped
        assert [type(e) for e in back] == [type(e) for e in stamped]

    def test_the_samples_cover_every_event_type(self) -> None:
        assert isinstance(AnyEvent, types.UnionType)
        assert {type(e) for e in every_event_type()} == set(typing.get_args(AnyEvent))

    def test_an_event_larger_than_a_read_chunk_round_trips(self, store: JournalStore) -> None:
        big = StrategyLog(ts_event=T0, ts_init=T0, strategy="a", message="x" * (3 << 20))
        stamped = store.append([*quotes(2), big, *quotes(2)])
        assert list(store.read()) == stamped
        assert list(store.read(3)) == stamped[2:]

    def test_many_events_round_trip_across_read_chunks(self, store: JournalStore) -> None:
        stamped = []
        for start in range(0, 8_000, 2_000):
            stamped += store.append(quotes(2_000, start=start))
        assert len(self.image(store)) > 1 << 20  # more than one read chunk
        assert list(store.read()) == stamped
        assert [e.seq for e in store.read(7_999)] == [7_999, 8_000]

    # ── the bytes ───────────────────────────────────────────────────────────────────────────────

    def test_records_follow_the_documented_format(self, store: JournalStore) -> None:
        stamped = store.append(every_event_type())
        codec = Codec()
        assert records_of(self.image(store)) == [codec.to_msgpack(e) for e in stamped]

    def test_an_empty_journal_is_just_the_header(self, store: JournalStore) -> None:
        assert self.image(store) == b"VTJ1\x01\x00\x00\x00"

    def test_same_events_give_identical_bytes_whatever_the_batching(self, tmp_path: Path) -> None:
        events = every_event_type() + quotes(10)
        images = []
        for name, sizes in (
            ("whole", [len(events)]),
            ("ones", [1] * len(events)),
            ("mixed", [3, 11, 1, len(events) - 15]),
        ):
            directory = tmp_path / name
            directory.mkdir()
            store = self.make_store(directory)
            pos = 0
            for size in sizes:
                store.append(events[pos : pos + size])
                pos += size
            store.sync()
            images.append(self.image(store))
            store.close()
        assert images[0] == images[1] == images[2]
        digests = {hashlib.sha256(image).hexdigest() for image in images}
        assert len(digests) == 1

    # ── flush, sync, close, reopen ──────────────────────────────────────────────────────────────

    def test_flush_and_sync_keep_the_content(self, store: JournalStore) -> None:
        store.flush()
        store.sync()
        stamped = store.append(quotes(3))
        store.flush()
        store.flush()
        store.sync()
        store.sync()
        assert list(store.read()) == stamped
        assert len(records_of(self.image(store))) == 3

    def test_reopening_continues_the_sequence(self, store: JournalStore) -> None:
        first = store.append(every_event_type())
        store = self.reopen(store)
        try:
            assert store.last_seq == len(first)
            assert list(store.read()) == first
            more = store.append(quotes(2))
            assert [e.seq for e in more] == [len(first) + 1, len(first) + 2]
            store = self.reopen(store)
            assert list(store.read()) == first + more
        finally:
            store.close()

    def test_reopening_an_empty_journal(self, store: JournalStore) -> None:
        store = self.reopen(store)
        try:
            assert store.last_seq == 0
            assert [e.seq for e in store.append(quotes(1))] == [1]
        finally:
            store.close()

    def test_a_closed_store_refuses_appends(self, store: JournalStore) -> None:
        store.append(quotes(1))
        store.close()
        store.close()  # idempotent
        with pytest.raises(JournalError) as info:
            store.append(quotes(1))
        assert info.value.code == "VT605"

    def test_the_context_manager_closes_the_store(self, tmp_path: Path) -> None:
        with self.make_store(tmp_path) as store:
            store.append(quotes(2))
        with pytest.raises(JournalError, match="closed"):
            store.append(quotes(1))
        reopened = self.reopen(store)
        assert reopened.last_seq == 2
        reopened.close()
