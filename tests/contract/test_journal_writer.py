"""The journal contract, run against :class:`daemon.journal.writer.JournalWriter`, on asyncio and uvloop.

The writer is asynchronous, so :class:`DrivenWriter` drives one on a private event loop and presents
it as a :class:`~daemon.journal.JournalStore`: ``append`` is the writer's own, ``flush`` and ``sync``
are barriers, ``read`` reads the file after a barrier, ``close`` awaits the writer's close. Passing
the contract means the writer writes exactly the format, sequence and bytes the stores write.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest

from daemon.journal import FileJournal, JournalError, JournalStore, MemoryJournal
from daemon.journal.writer import JournalWriter
from engines.model.events import AnyEvent, Event
from tests.contract.journal_contract import JournalStoreContract, every_event_type, quotes

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
    uvloop = None  # type: ignore[assignment]


class DrivenWriter:
    """A JournalStore over a JournalWriter run by its own event loop (periodic flush every 5 ms)."""

    def __init__(self, path: Path, loop_factory: LoopFactory) -> None:
        self.path = path
        self._runner = asyncio.Runner(loop_factory=loop_factory)
        self.writer = JournalWriter(path, flush_interval=0.005, batch_records=3)
        self._runner.run(self._start())

    async def _start(self) -> None:
        self.writer.start()

    @property
    def last_seq(self) -> int:
        return self.writer.last_seq

    def append(self, events: Sequence[Event]) -> list[Event]:
        return self.writer.append(events)

    def read(self, from_seq: int = 1) -> Iterator[AnyEvent]:
        if from_seq < 1:
            raise ValueError(f"from_seq counts from 1, got {from_seq}")
        if self.writer.closed:
            raise JournalError("VT605", "the journal writer is closed", path=str(self.path))
        self.sync()
        return MemoryJournal(self.path.read_bytes(), name=str(self.path)).read(from_seq)

    def flush(self) -> None:
        self.sync()

    def sync(self) -> None:
        self._runner.run(self.writer.barrier())

    def close(self) -> None:
        if self.writer.closed:
            return
        try:
            self._runner.run(self.writer.close())
        finally:
            self._runner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class TestJournalWriter(JournalStoreContract):
    loop_factory: LoopFactory = staticmethod(asyncio.new_event_loop)

    def make_store(self, directory: Path) -> JournalStore:
        return DrivenWriter(directory / "journal.vtj", self.loop_factory)

    def reopen(self, store: JournalStore) -> JournalStore:
        assert isinstance(store, DrivenWriter)
        store.close()
        return DrivenWriter(store.path, self.loop_factory)

    def image(self, store: JournalStore) -> bytes:
        assert isinstance(store, DrivenWriter)
        store.sync()
        return store.path.read_bytes()


@pytest.mark.skipif(uvloop is None, reason="uvloop is not installed")
class TestJournalWriterOnUvloop(TestJournalWriter):
    loop_factory: LoopFactory = staticmethod(uvloop.new_event_loop if uvloop else asyncio.new_event_loop)


@pytest.mark.parametrize("seed", range(5))
def test_the_writer_writes_the_bytes_a_store_writes_whatever_the_timing(tmp_path: Path, seed: int) -> None:
    """Barriers, background flushes and batches at random points: the file is the memory image."""
    rng = random.Random(seed)
    events = every_event_type() + quotes(300)
    memory = MemoryJournal()
    memory.append(events)
    path = tmp_path / "j.vtj"

    async def main() -> None:
        async with JournalWriter(path, flush_interval=0.001, batch_records=rng.randint(1, 50)) as writer:
            pos = 0
            while pos < len(events):
                size = rng.randint(0, 20)
                writer.append(events[pos : pos + size])
                pos += size
                action = rng.random()
                if action < 0.3:
                    await writer.barrier()
                elif action < 0.6:
                    await asyncio.sleep(rng.choice([0, 0.001, 0.002]))

    asyncio.run(main())
    assert path.read_bytes() == memory.image()
    with FileJournal(path) as reopened:
        assert reopened.last_seq == len(events)
