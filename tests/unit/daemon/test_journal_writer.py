"""JournalWriter: appends stay synchronous, a barrier means durable, fsyncs are shared, failures break it.

Every test runs on the standard asyncio loop and on uvloop (``run`` fixture). The disk is observed by
wrapping ``os.fsync``/``os.fdatasync`` and ``os.write`` for the journal file only (``DiskSpy``): the
wrappers count calls, record the file size each completed sync covered, can be slow, can hold a sync
until the test releases it, and can fail with an injected errno.
"""

from __future__ import annotations

import asyncio
import errno
import os
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from daemon.journal import HEADER, FileJournal, JournalError, MemoryJournal, verify
from daemon.journal.writer import JournalWriter
from engines.model.events import Event
from tests.contract.journal_contract import every_event_type, quotes

T = TypeVar("T")
Run = Callable[[Coroutine[Any, Any, T]], T]

LOOPS = [pytest.param(asyncio.new_event_loop, id="asyncio")]
try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
    pass
else:
    LOOPS.append(pytest.param(uvloop.new_event_loop, id="uvloop"))


@pytest.fixture(params=LOOPS)
def run(request: pytest.FixtureRequest) -> Iterator[Run[Any]]:
    """Run a coroutine on a fresh loop of the parametrized kind; a hang fails after 20 s."""
    with asyncio.Runner(loop_factory=request.param) as runner:

        def run(coro: Coroutine[Any, Any, T]) -> T:
            return runner.run(asyncio.wait_for(coro, timeout=20))

        yield run


class DiskSpy:
    """Wraps the syncs and writes of one file (by inode): counts, delays, holds, fails them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
        st = path.stat()
        self._id = (st.st_dev, st.st_ino)
        self.syncs = 0
        self.synced_sizes: list[int] = []  # the file size each completed sync covered
        self.sync_delay = 0.0
        self.sync_error: int | None = None
        self.write_error: int | None = None
        self.in_sync = threading.Event()  # set when a sync starts
        self.gate: threading.Event | None = None  # when set up: syncs wait until it is set
        for name in ("fsync", "fdatasync"):
            if hasattr(os, name):
                monkeypatch.setattr(os, name, self._sync(getattr(os, name)))
        monkeypatch.setattr(os, "write", self._write(os.write))

    def mine(self, fd: int) -> bool:
        st = os.fstat(fd)
        return (st.st_dev, st.st_ino) == self._id

    def _sync(self, real: Callable[[int], None]) -> Callable[[int], None]:
        def sync(fd: int) -> None:
            if not self.mine(fd):
                real(fd)
                return
            self.syncs += 1
            self.in_sync.set()
            if self.gate is not None:
                assert self.gate.wait(10), "the test never released the sync"
            if self.sync_delay:
                time.sleep(self.sync_delay)
            if self.sync_error is not None:
                raise OSError(self.sync_error, os.strerror(self.sync_error))
            size = os.fstat(fd).st_size
            real(fd)
            self.synced_sizes.append(size)

        return sync

    def _write(self, real: Callable[[int, bytes], int]) -> Callable[[int, bytes], int]:
        def write(fd: int, data: bytes) -> int:
            if self.write_error is not None and self.mine(fd):
                raise OSError(self.write_error, os.strerror(self.write_error))
            return real(fd, data)

        return write


def open_writer(path: Path, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> tuple[JournalWriter, DiskSpy]:
    """A writer on ``path`` (no periodic flush unless asked) and a spy installed after it opened."""
    kw.setdefault("flush_interval", 60.0)
    writer = JournalWriter(path, **kw)
    return writer, DiskSpy(monkeypatch, path)


def on_disk(path: Path) -> list[Event]:
    """The events in the file's bytes now, checked as opening a FileJournal checks them."""
    return list(MemoryJournal(path.read_bytes(), name=str(path)).read())


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.001)


# ── appending ──────────────────────────────────────────────────────────────────────────────────


def test_append_stamps_and_buffers_without_io(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run[None]
) -> None:
    path = tmp_path / "j.vtj"
    writer, spy = open_writer(path, monkeypatch)

    async def main() -> None:
        stamped = writer.append(quotes(3))
        stamped += writer.append(quotes(2, start=3))
        assert [e.seq for e in stamped] == [1, 2, 3, 4, 5]
        assert writer.last_seq == 5
        assert writer.durable_seq == 0
        assert path.read_bytes() == HEADER  # nothing written from the loop
        await writer.close()
        assert on_disk(path) == stamped

    run(main())
    assert spy.syncs == 1


def test_a_new_file_is_durable_at_open_and_an_existing_one_continues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run[None]
) -> None:
    path = tmp_path / "j.vtj"
    with FileJournal(path) as journal:
        first = journal.append(quotes(4))

    async def main() -> None:
        writer = JournalWriter(path)
        assert writer.last_seq == writer.durable_seq == 4
        with pytest.raises(JournalError, match="locked"):  # the writer holds the file's lock
            FileJournal(path)
        more = writer.append(quotes(2, start=4))
        assert [e.seq for e in more] == [5, 6]
        await writer.close()
        assert on_disk(path) == first + more

    run(main())


# ── the barrier ────────────────────────────────────────────────────────────────────────────────


def test_a_barrier_returns_only_once_the_events_are_written_and_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run[None]
) -> None:
    path = tmp_path / "j.vtj"
    writer, spy = open_writer(path, monkeypatch)
    spy.sync_delay = 0.05  # a sync slow enough that returning before it ends would show

    async def main() -> None:
        stamped: list[Event] = []
        for events in (quotes(3), every_event_type(), quotes(1, start=3)):
            stamped += writer.append(events)
            await writer.barrier()
            # right after the barrier: the bytes are in the file, and a completed sync covered them
            assert on_disk(path) == stamped
            assert spy.synced_sizes and spy.synced_sizes[-1] >= path.stat().st_size
            assert writer.durable_seq == stamped[-1].seq
        await writer.close()

    run(main())
    with FileJournal(path) as reopened:  # a fresh store reads them back
        assert [e.seq for e in reopened.read()] == list(range(1, reopened.last_seq + 1))
        assert reopened.last_seq == 3 + len(every_event_type()) + 1


def test_a_barrier_with_nothing_new_returns_without_syncing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run[None]
) -> None:
    writer, spy = open_writer(tmp_path / "j.vtj", monkeypatch)

    async def main() -> None:
        await writer.barrier()
        writer.append(quotes(1))
        await writer.barrier()
        await writer.barrier()
        await writer.close()

    run(main())
    assert spy.syncs == 1


def test_the_event_loop_keeps_running_during_a_slow_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run[None]
) -> None:
    writer, spy = open_writer(tmp_path / "j.vtj", monkeypatch)
    spy.sync_delay = 0.3
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def main() -> None:
        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        writer.append(quotes(1))
        started, before = time.monotonic(), ticks
        await writer.barrier()
        waited, during = time.monotonic() - started, ticks - before
        task.cancel()
        await writer.close()
        assert waited >= 0.3  # the slow sync was in flight all along
        assert during >= 10, f"the loop ticked {during} times in {waited:.2f} s of fsync"

    run(main())
    assert spy.syncs == 1


def test_concurrent_barriers_share_fsyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run[None]
) -> None:
    path = tmp_path / "j.vtj"
    writer, spy = open_writer(path, monkeypatch)
    spy.sync_delay = 0.02  # a disk that takes 20 ms per sync
    n = 200

    async def intent(i: int) -> int:
        await asyncio.sleep(i * 0.0005)  # arrivals spread over 100 ms: about five syncs' worth
        [event] = writer.append(quotes(1, start=i))
        await writer.barrier()
        assert writer.durable_seq >= event.seq
        return event.seq

    async def main() -> None:
        seqs = await asyncio.gather(*(intent(i) for i in range(n)))
        assert sorted(seqs) == list(range(1, n + 1))
        burst = writer.commits
        # and n barriers after n appends all at once: one sync
        await asyncio.gather(*(intent(0) for _ in range(n)))
        assert writer.commits == burst + 1
        await writer.close()

    run(main())
    assert spy.syncs <= n // 10, f"{spy.syncs} fsyncs for {n} barriers"
    report = verify(path)
    assert report.ok
    assert report.records == 2 * n


def test_appends_during_an_in_flight_commit_are_kept_once_and_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run[None]
) -> None:
    path = tmp_path / "j.vtj"
    writer, spy = open_writer(path, monkeypatch)
    spy.gate = threading.Event()

    async def main() -> None:
        stamped = writer.append(quotes(5))
        first = asyncio.create_task(writer.barrier())
        await until(spy.in_sync.is_set)  # the commit of seq 1-5 is syncing, held by the gate
        for size in (1, 2, 4):  # appends while it is in flight
            stamped += writer.append(quotes(size, start=len(stamped)))
        second = asyncio.create_task(writer.barrier())
        await asyncio.sleep(0.01)
        assert not first.done()
        assert not second.done()
        assert writer.durable_seq == 0
        spy.gate.set()
        await first
        assert writer.durable_seq >= 5
        await second
        assert writer.durable_seq == 12
        assert spy.syncs == 2  # the second commit took everything appended during the first
        await writer.close()
        assert on_disk(path) == stamped

    run(main())
    report = verify(path)
    assert report.ok, report.error
    assert (report.records, report.last_seq) == (12, 12)


def test_a_cancelled_barrier_leaves_the_commit_and_the_others_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run[None]
) -> None:
    path = tmp_path / "j.vtj"
    writer, spy = open_writer(path, monkeypatch)
    spy.gate = threading.Event()

    async def main() -> None:
        writer.append(quotes(3))
        cancelled = asyncio.create_task(writer.barrier())
        other = asyncio.create_task(writer.barrier())
        await until(spy.in_sync.is_set)
        cancelled.cancel()
        spy.gate.set()
        await other
        assert cancelled.cancelled()
        assert writer.durable_seq == 3
        assert writer.error is None
        writer.append(quotes(1))
        await writer.barrier()
        await writer.close()

    run(main())
    assert verify(path).records == 4


# ── the background flush and close ─────────────────────────────────────────────────────────────


def test_the_periodic_flush_commits_without_a_barrier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run[None]
) -> None:
    path = tmp_path / "j.vtj"
    writer, spy = open_writer(path, monkeypatch, flush_interval=0.02)

    async def main() -> None:
        async with writer:
            stamped = writer.append(quotes(3))
            await until(lambda: writer.durable_seq == 3, timeout=2.0)
            assert on_disk(path) == stamped
            assert spy.syncs == 1
            await asyncio.sleep(0.1)  # idle: nothing to commit, no sync
            assert spy.syncs == 1

    run(main())


def test_a_full_batch_is_committed_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run[None]
) -> None:
    writer, spy = open_writer(tmp_path / "j.vtj", monkeypatch, batch_records=10)

    async def main() -> None:
        async with writer:
            writer.append(quotes(9))
            await asyncio.sleep(0.05)
            assert spy.syncs == 0  # under the batch, and the interval is a minute
            writer.append(quotes(1, start=9))
            await until(lambda: writer.durable_seq == 10, timeout=2.0)

    run(main())


def test_close_commits_everything_and_leaves_a_journal_that_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run[None]
) -> None:
    path = tmp_path / "j.vtj"
    writer, spy = open_writer(path, monkeypatch)

    async def main() -> list[Event]:
        writer.start()
        stamped: list[Event] = []
        for start in range(0, 1000, 100):
            stamped += writer.append(quotes(100, start=start))
        await writer.close()
        assert writer.closed
        assert writer.durable_seq == 1000
        await writer.close()  # idempotent
        with pytest.raises(JournalError, match="closed") as info:
            writer.append(quotes(1))
        assert info.value.code == "VT605"
        return stamped

    stamped = run(main())
    assert spy.syncs == 1  # close made the one commit
    report = verify(path)
    assert report.ok, report.error
    assert report.records == 1000
    with FileJournal(path) as reopened:  # the lock is released; the sequence continues
        assert list(reopened.read()) == stamped
        assert [e.seq for e in reopened.append(quotes(1))] == [1001]


# ── failure ────────────────────────────────────────────────────────────────────────────────────


def test_enospc_fails_every_waiting_barrier_and_everything_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run[None]
) -> None:
    path = tmp_path / "j.vtj"
    writer, spy = open_writer(path, monkeypatch)
    spy.write_error = errno.ENOSPC

    async def intent(i: int) -> None:
        writer.append(quotes(1, start=i))
        await writer.barrier()

    def check(error: BaseException) -> None:
        assert isinstance(error, JournalError)
        assert error.code == "VT605"
        assert str(error).startswith(f"{path}: VT605")
        assert os.strerror(errno.ENOSPC) in str(error)

    async def main() -> None:
        results = await asyncio.gather(*(intent(i) for i in range(5)), return_exceptions=True)
        assert len(results) == 5
        for result in results:
            assert isinstance(result, BaseException)
            check(result)
        assert writer.error is not None
        spy.write_error = None  # the disk has room again: the writer stays broken all the same
        with pytest.raises(JournalError) as info:
            writer.append(quotes(1))
        check(info.value)
        with pytest.raises(JournalError) as info:
            await writer.barrier()
        check(info.value)
        with pytest.raises(JournalError) as info:
            await writer.close()
        check(info.value)
        assert "may not be on disk" in str(info.value)
        assert writer.closed

    run(main())
    assert spy.syncs == 0
    report = verify(path)  # what reached the disk is an intact (here empty) journal
    assert report.ok
    assert report.records == 0


def test_a_failed_fsync_fails_the_barrier_and_is_never_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run[None]
) -> None:
    path = tmp_path / "j.vtj"
    writer, spy = open_writer(path, monkeypatch, flush_interval=0.01)
    spy.sync_error = errno.EIO

    async def main() -> None:
        writer.start()
        writer.append(quotes(2))
        with pytest.raises(JournalError, match="fsync failed") as info:
            await writer.barrier()
        assert info.value.code == "VT605"
        await asyncio.sleep(0.05)  # the periodic flush has stopped too
        with pytest.raises(JournalError, match="refuses further writes"):
            await writer.close()

    run(main())
    assert spy.syncs == 1


def test_a_failure_in_the_background_flush_surfaces_at_the_next_append(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run[None]
) -> None:
    path = tmp_path / "j.vtj"
    writer, spy = open_writer(path, monkeypatch, flush_interval=0.01)
    spy.write_error = errno.ENOSPC

    async def main() -> None:
        async with writer:
            writer.append(quotes(1))  # nobody waits for this one
            await until(lambda: writer.error is not None)
            with pytest.raises(JournalError, match="No space left") as info:
                writer.append(quotes(1))
            assert info.value.code == "VT605"

    with pytest.raises(JournalError, match="refuses further writes"):  # and at close
        run(main())


# ── metrics ────────────────────────────────────────────────────────────────────────────────────


def test_the_metrics_count_commits_events_and_durations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run[None]
) -> None:
    path = tmp_path / "j.vtj"
    writer, spy = open_writer(path, monkeypatch, history=2)

    async def main() -> None:
        for size in (1, 3, 5):
            writer.append(quotes(size))
            await writer.barrier()
        await writer.close()

    run(main())
    assert writer.commits == spy.syncs == 3
    assert writer.events_committed == 9
    assert writer.bytes_committed == path.stat().st_size - len(HEADER)
    assert writer.barriers == 3
    assert writer.last_commit_seconds > 0
    assert len(writer.commit_seconds) == 2  # the last ``history`` durations
    assert writer.commit_seconds[-1] == writer.last_commit_seconds


def test_bad_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="flush_interval"):
        JournalWriter(tmp_path / "a.vtj", flush_interval=0)
    with pytest.raises(ValueError, match="batch_records"):
        JournalWriter(tmp_path / "b.vtj", batch_records=0)


async def test_a_step_is_committed_whole_or_not_at_all(tmp_path: Path) -> None:
    """A commit that starts inside a step (an intent kicked it) waits for the step's end: a crash
    can leave the journal only at a step boundary, which the next start re-drives."""
    writer = JournalWriter(tmp_path / "j.vtj", flush_interval=0.01)
    async with writer:
        first, second = quotes(2)
        with writer.step():
            writer.append([first])
            writer.kick()  # the commit starts now, in the writer's thread
            await asyncio.sleep(0.1)  # (a real step never awaits: this holds the commit off on purpose)
            assert writer.durable_seq == 0
            writer.append([second])
        await writer.barrier()
        assert writer.durable_seq == 2
