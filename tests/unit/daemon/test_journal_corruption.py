"""Every way a journal file can be damaged is found, named with its code, record and byte offset.

The damaged files are made by hand from the documented format (docs/journal.md), not through the
store, so these tests also pin the format down.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zlib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from daemon.journal import (
    HEADER,
    FileJournal,
    JournalError,
    MemoryJournal,
    export_jsonl,
    file_sha256,
    verify,
    verify_bytes,
)
from engines.model.commands import SubmitOrder
from engines.model.enums import OrderType, Side
from engines.model.events import OrderSubmitted, StrategyLog
from tests.contract.journal_contract import every_event_type

N = 6  # records in the clean journal


def record(payload: bytes) -> bytes:
    return struct.pack("<II", len(payload), zlib.crc32(payload)) + payload


def offsets(image: bytes) -> list[int]:
    """The byte offset of each record, walking the length fields."""
    pos, out = 8, []
    while pos < len(image):
        out.append(pos)
        pos += 8 + struct.unpack_from("<I", image, pos)[0]
    return out


def payload_of(event: object) -> bytes:
    return msgspec.msgpack.encode(event)


def log(seq: int) -> StrategyLog:
    return StrategyLog(ts_event=seq, ts_init=seq, strategy="s", message=f"line {seq}", seq=seq)


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    path = tmp_path / "journal.vtj"
    with FileJournal(path) as journal:
        journal.append(every_event_type()[:N])
    return path


# ── the damage catalogue: (name, how to damage the image, code, record index or None) ─────────


def flip_payload_byte(image: bytes) -> bytes:
    at = offsets(image)[2] + 8 + 5
    return image[:at] + bytes([image[at] ^ 0x01]) + image[at + 1 :]


def flip_crc_byte(image: bytes) -> bytes:
    at = offsets(image)[3] + 4
    return image[:at] + bytes([image[at] ^ 0x80]) + image[at + 1 :]


def truncate_mid_payload(image: bytes) -> bytes:
    return image[: offsets(image)[5] + 8 + 3]


def truncate_mid_header(image: bytes) -> bytes:
    return image[: offsets(image)[5] + 5]


def zero_filled_tail(image: bytes) -> bytes:
    return image + b"\x00" * 300


def zeros_then_data(image: bytes) -> bytes:
    return image + b"\x00" * 16 + record(payload_of(log(N + 1)))


def huge_length_mid_file(image: bytes) -> bytes:
    at = offsets(image)[1]
    return image[:at] + struct.pack("<I", 0xFFFF_FFF0) + image[at + 4 :]


def bad_magic(image: bytes) -> bytes:
    return b"VTJX" + image[4:]


def bad_version(image: bytes) -> bytes:
    return image[:4] + struct.pack("<HH", 2, 0) + image[8:]


def not_a_journal(image: bytes) -> bytes:
    return b'{"type": "QuoteTick"}\n'


def short_garbage(image: bytes) -> bytes:
    return b"PK\x03"


def torn_file_header(image: bytes) -> bytes:
    return HEADER[:5]


def seq_gap(image: bytes) -> bytes:
    return image + record(payload_of(log(N + 2)))


def seq_repeated(image: bytes) -> bytes:
    return image + record(payload_of(log(N)))


def records_swapped(image: bytes) -> bytes:
    o = offsets(image)
    return image[: o[1]] + image[o[2] : o[3]] + image[o[1] : o[2]] + image[o[3] :]


def garbage_msgpack(image: bytes) -> bytes:
    return image + record(b"\xc1\xc1\xc1")  # 0xc1 is never used by msgpack


def unknown_event_type(image: bytes) -> bytes:
    return image + record(payload_of({"type": "OrderTeleported", "seq": N + 1}))


def a_command_not_an_event(image: bytes) -> bytes:
    command = SubmitOrder(
        ts_event=1,
        ts_init=1,
        strategy="s",
        venue="sim",
        client_order_id="c",
        instrument="binance-spot:BTCUSDT",
        side=Side.BUY,
        order_type=OrderType.MARKET,
        quantity=Decimal(1),
    )
    return image + record(payload_of(command))


Damage = Callable[[bytes], bytes]
CATALOGUE: list[tuple[Damage, str, int | None]] = [
    (flip_payload_byte, "VT602", 2),
    (flip_crc_byte, "VT602", 3),
    (huge_length_mid_file, "VT607", 1),
    (zeros_then_data, "VT607", N),
    (truncate_mid_payload, "VT601", 5),
    (truncate_mid_header, "VT601", 5),
    (zero_filled_tail, "VT601", N),
    (torn_file_header, "VT601", None),
    (bad_magic, "VT600", None),
    (bad_version, "VT600", None),
    (not_a_journal, "VT600", None),
    (short_garbage, "VT600", None),
    (seq_gap, "VT604", N),
    (seq_repeated, "VT604", N),
    (records_swapped, "VT604", 1),
    (garbage_msgpack, "VT603", N),
    (unknown_event_type, "VT603", N),
    (a_command_not_an_event, "VT603", N),
]
IDS = [damage.__name__ for damage, _, _ in CATALOGUE]


def damaged(clean: Path, damage: Damage) -> tuple[Path, bytes]:
    image = damage(clean.read_bytes())
    clean.write_bytes(image)
    return clean, image


# ── verify ─────────────────────────────────────────────────────────────────────────────────────


def test_a_clean_journal_verifies_ok(clean: Path) -> None:
    report = verify(clean)
    data = clean.read_bytes()
    assert report.ok
    assert report.error is None
    assert (report.records, report.last_seq) == (N, N)
    assert report.bytes == len(data) == os.path.getsize(clean)
    assert report.sha256 == hashlib.sha256(data).hexdigest() == file_sha256(clean)
    assert report.path == str(clean)


def test_an_empty_journal_verifies_ok(tmp_path: Path) -> None:
    FileJournal(tmp_path / "j.vtj").close()
    report = verify(tmp_path / "j.vtj")
    assert report.ok
    assert (report.records, report.last_seq, report.bytes) == (0, 0, 8)


@pytest.mark.parametrize(("damage", "code", "rec"), CATALOGUE, ids=IDS)
def test_verify_reports_the_damage_with_its_record_and_offset(
    clean: Path, damage: Damage, code: str, rec: int | None
) -> None:
    path, image = damaged(clean, damage)
    report = verify(path)
    assert not report.ok
    assert report.error is not None
    assert report.error["code"] == code
    assert report.error["record"] == rec
    assert report.error["offset"] == (offsets(image)[rec] if rec is not None else 0)
    # the intact prefix is counted; the whole file is hashed, unless it is not a journal at all
    assert report.records == (rec or 0)
    assert report.last_seq == (rec or 0)
    assert report.bytes == len(image)
    assert report.sha256 == ("" if code == "VT600" else hashlib.sha256(image).hexdigest())
    assert verify_bytes(image, name=str(path)) == report


def test_the_report_message_names_the_record_and_offset(clean: Path) -> None:
    path, image = damaged(clean, flip_payload_byte)
    report = verify(path)
    assert report.error is not None
    message = report.error["message"]
    assert isinstance(message, str)
    assert message.startswith(f"record 2 at byte {offsets(image)[2]}: checksum mismatch: stored 0x")


def test_verify_reports_a_missing_file_as_an_io_error(tmp_path: Path) -> None:
    report = verify(tmp_path / "nope.vtj")
    assert not report.ok
    assert report.error is not None
    assert report.error["code"] == "VT605"
    assert report.error["hint"]


# ── export ─────────────────────────────────────────────────────────────────────────────────────


def test_export_writes_one_json_object_per_event_in_seq_order(clean: Path) -> None:
    out = io.StringIO()
    assert export_jsonl(clean, out) == N
    lines = out.getvalue().splitlines()
    assert len(lines) == N
    objects = [msgspec.json.decode(line) for line in lines]
    assert [o["seq"] for o in objects] == list(range(1, N + 1))
    assert [o["type"] for o in objects] == [type(e).__name__ for e in every_event_type()[:N]]
    assert all(line.startswith('{"type":') for line in lines)
    assert objects[0]["price"] == "43000.10"  # decimals stay exact strings


@pytest.mark.parametrize(("damage", "code", "rec"), CATALOGUE, ids=IDS)
def test_export_raises_on_the_damage(clean: Path, damage: Damage, code: str, rec: int | None) -> None:
    path, _ = damaged(clean, damage)
    out = io.StringIO()
    with pytest.raises(JournalError) as info:
        export_jsonl(path, out)
    error = info.value
    assert (error.code, error.record) == (code, rec)
    assert error.path == str(path)
    # the message names the file, the record and the byte offset
    text = str(error)
    assert str(path) in text
    assert f"byte {error.offset}" in text
    if rec is not None:
        assert f"record {rec} " in text
    # the events before the damage were written
    assert len(out.getvalue().splitlines()) == (rec or 0)


# ── opening a damaged journal ──────────────────────────────────────────────────────────────────


# opening checks lengths, checksums and the seq of every record; the full decode is read's job
OPEN_MISSES = {"unknown_event_type"}


@pytest.mark.parametrize(("damage", "code", "rec"), CATALOGUE, ids=IDS)
def test_opening_a_damaged_journal_is_refused(
    clean: Path, damage: Damage, code: str, rec: int | None
) -> None:
    path, image = damaged(clean, damage)
    if damage.__name__ in OPEN_MISSES:
        with FileJournal(path) as journal, pytest.raises(JournalError) as info:
            list(journal.read())
        assert (info.value.code, info.value.record) == (code, rec)
        return
    for store in (lambda: FileJournal(path), lambda: MemoryJournal(image, name=str(path))):
        with pytest.raises(JournalError) as info:
            store()
        assert (info.value.code, info.value.record) == (code, rec)
        assert info.value.hint


@pytest.mark.parametrize(
    ("damage", "dropped"),
    [
        (truncate_mid_payload, 8 + 3),
        (truncate_mid_header, 5),
        (zero_filled_tail, 300),
    ],
)
def test_repair_truncates_a_torn_tail_and_appending_continues(
    clean: Path, damage: Damage, dropped: int
) -> None:
    path, image = damaged(clean, damage)
    records = len(offsets(image[: len(image) - dropped]))
    with FileJournal(path, repair=True) as journal:
        assert journal.repaired_bytes == dropped
        assert journal.last_seq == records
        assert [e.seq for e in journal.append([log(0)])] == [records + 1]
    report = verify(path)
    assert report.ok
    assert report.records == records + 1
    memory = MemoryJournal(image, repair=True)
    assert memory.last_seq == records
    assert memory.image() == image[: len(image) - dropped]


def test_repair_of_a_torn_file_header_gives_an_empty_journal(clean: Path) -> None:
    path, _ = damaged(clean, torn_file_header)
    with FileJournal(path, repair=True) as journal:
        assert journal.last_seq == 0
        journal.append([log(0)])
    assert verify(path).records == 1


@pytest.mark.parametrize(
    "damage", [flip_payload_byte, huge_length_mid_file, seq_gap, garbage_msgpack, bad_magic]
)
def test_repair_never_truncates_anything_but_a_torn_tail(clean: Path, damage: Damage) -> None:
    path, image = damaged(clean, damage)
    with pytest.raises(JournalError):
        FileJournal(path, repair=True)
    assert path.read_bytes() == image  # untouched


# ── durability ─────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return calls


def test_durable_append_is_written_and_fsynced_before_it_returns(tmp_path: Path, fsyncs: list[int]) -> None:
    path = tmp_path / "live.vtj"
    intent = OrderSubmitted(
        ts_event=1,
        ts_init=1,
        strategy="s",
        client_order_id="s-000001",
        instrument="binance-spot:BTCUSDT",
        side=Side.BUY,
        order_type=OrderType.MARKET,
        quantity=Decimal(1),
    )
    with FileJournal(path, durable=True) as journal:
        before = len(fsyncs)
        journal.append([intent])
        assert len(fsyncs) == before + 1
        assert verify(path).records == 1  # on disk, not in a buffer
        journal.append(every_event_type()[:3])
        assert len(fsyncs) == before + 2  # one fsync per append, whatever its size
        assert verify(path).records == 4


def test_buffered_mode_fsyncs_only_on_sync_and_close(tmp_path: Path, fsyncs: list[int]) -> None:
    journal = FileJournal(tmp_path / "replay.vtj", batch_records=2)
    journal.append(every_event_type()[:5])
    journal.flush()
    assert fsyncs == []
    journal.sync()
    assert len(fsyncs) == 1
    journal.sync()  # nothing new: no second fsync
    assert len(fsyncs) == 1
    journal.append([log(0)])
    journal.close()
    assert len(fsyncs) == 2


def test_a_failed_fsync_fails_the_journal_for_good(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = FileJournal(tmp_path / "j.vtj", durable=True)

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(JournalError) as info:
        journal.append([log(0)])
    assert info.value.code == "VT605"
    monkeypatch.undo()
    with pytest.raises(JournalError, match="failed earlier"):
        journal.append([log(0)])
    journal.close()
