"""The journal contract, run against :class:`daemon.journal.MemoryJournal`."""

from __future__ import annotations

from pathlib import Path

from daemon.journal import JournalStore, MemoryJournal
from tests.contract.journal_contract import JournalStoreContract


class TestMemoryJournal(JournalStoreContract):
    def make_store(self, directory: Path) -> JournalStore:
        return MemoryJournal(name=str(directory / "memory"))

    def reopen(self, store: JournalStore) -> JournalStore:
        assert isinstance(store, MemoryJournal)
        store.close()
        return MemoryJournal(store.image(), name=store.name)

    def image(self, store: JournalStore) -> bytes:
        assert isinstance(store, MemoryJournal)
        return store.image()
