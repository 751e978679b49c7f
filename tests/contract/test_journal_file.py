"""The journal contract, run against :class:`daemon.journal.FileJournal`, and what only files do."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.journal import HEADER, FileJournal, JournalError, JournalStore, MemoryJournal
from tests.contract.journal_contract import JournalStoreContract, every_event_type, quotes


class TestFileJournal(JournalStoreContract):
    """A small batch size, so that the contract crosses batch boundaries on almost every append."""

    def make_store(self, directory: Path) -> JournalStore:
        return FileJournal(directory / "journal.vtj", batch_records=3)

    def reopen(self, store: JournalStore) -> JournalStore:
        assert isinstance(store, FileJournal)
        store.close()
        return FileJournal(store.path, batch_records=3)

    def image(self, store: JournalStore) -> bytes:
        assert isinstance(store, FileJournal)
        store.flush()
        return store.path.read_bytes()


class TestDurableFileJournal(TestFileJournal):
    """The same contract in live mode: every append is written and fsynced before it returns."""

    def make_store(self, directory: Path) -> JournalStore:
        return FileJournal(directory / "journal.vtj", durable=True)

    def reopen(self, store: JournalStore) -> JournalStore:
        assert isinstance(store, FileJournal)
        store.close()
        return FileJournal(store.path, durable=True)


def test_a_new_file_holds_the_header_at_once(tmp_path: Path) -> None:
    path = tmp_path / "j.vtj"
    with FileJournal(path):
        assert path.read_bytes() == HEADER == b"VTJ1\x01\x00\x00\x00"


def test_records_are_written_in_batches_of_batch_records(tmp_path: Path) -> None:
    path = tmp_path / "j.vtj"
    with FileJournal(path, batch_records=4) as journal:
        journal.append(quotes(3))
        assert path.stat().st_size == len(HEADER)  # buffered
        journal.append(quotes(1))
        batch = path.stat().st_size
        assert batch > len(HEADER)  # the 4th record filled the batch: written
        journal.append(quotes(2))
        assert path.stat().st_size == batch
        journal.flush()
        assert path.stat().st_size > batch
    assert len(list(FileJournal(path).read())) == 6


def test_a_file_holds_the_same_bytes_as_the_memory_image(tmp_path: Path) -> None:
    events = every_event_type() + quotes(50)
    memory = MemoryJournal()
    memory.append(events)
    with FileJournal(tmp_path / "j.vtj", batch_records=7) as journal:
        for event in events:
            journal.append([event])
    assert (tmp_path / "j.vtj").read_bytes() == memory.image()


def test_a_second_writer_is_refused_while_the_first_is_open(tmp_path: Path) -> None:
    path = tmp_path / "j.vtj"
    first = FileJournal(path)
    first.append(quotes(1))
    with pytest.raises(JournalError) as info:
        FileJournal(path)
    assert info.value.code == "VT605"
    assert "locked" in str(info.value)
    first.close()
    with FileJournal(path) as second:
        assert second.last_seq == 1


def test_an_unopenable_path_is_an_io_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError) as info:
        FileJournal(tmp_path)  # a directory
    assert info.value.code == "VT605"
    assert str(tmp_path) in str(info.value)


def test_batch_records_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="batch_records"):
        FileJournal(tmp_path / "j.vtj", batch_records=0)


def test_an_empty_existing_file_becomes_a_new_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.vtj"
    path.touch()
    with FileJournal(path) as journal:
        assert journal.last_seq == 0
        journal.append(quotes(1))
    assert path.read_bytes().startswith(HEADER)


def test_reading_a_journal_whose_file_was_replaced_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.vtj"
    with FileJournal(path) as journal:
        journal.append(quotes(2))
        journal.flush()
        path.rename(tmp_path / "moved.vtj")
        path.write_bytes(HEADER)
        with pytest.raises(JournalError, match="moved or replaced") as info:
            list(journal.read())
        assert info.value.code == "VT605"
