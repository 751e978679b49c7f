"""The live journal writer: synchronous appends, durable barriers, one fsync for many intents.

DESIGN.md sections 5, 6 and 8: an order intent is on disk before the request that it describes
leaves the process, and the event loop never waits for the disk. :class:`JournalWriter` owns a
:class:`~daemon.journal.FileJournal` opened non-durable and splits what ``durable=True`` does in one
blocking call:

* :meth:`JournalWriter.append` is synchronous and cheap, as on the replay path: it stamps ``seq``,
  encodes and buffers the records, and never does I/O (the kernel calls it from synchronous code);
* ``await`` :meth:`JournalWriter.barrier` returns once every event appended before the call is
  written and fdatasynced. The write and the sync run in the writer's own thread, so the loop keeps
  running meanwhile;
* group commit: one commit (write + fdatasync) at a time. A barrier that finds a commit in flight
  which does not cover its events waits for the next one, which takes everything appended until it
  starts, so any number of barriers waiting together cost one fsync;
* a background task commits every ``flush_interval`` seconds (and as soon as ``batch_records``
  events are pending), so that the facts nobody waits for reach the disk too;
* a failed write or sync (ENOSPC, EIO) breaks the writer for good: every waiting barrier and every
  later append, barrier and close raise VT605 naming the file. A failed fsync is never retried (the
  kernel may have dropped the dirty pages): the daemon halts and recovery reads what is on disk.

Threads: appends run on the event loop's thread. The journal's buffer is swapped out under a lock
(no I/O under it) and the writer thread writes what it took, so an append made during a commit goes
into the next one. Only the writer's single thread touches the file after it is opened.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import os
import threading
import time
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Final, Self

from daemon.journal.format import IO_ERROR, JournalError
from daemon.journal.stores import FileJournal
from engines.model.events import AnyEvent, Event

__all__ = ["JournalWriter"]

_NEVER: Final = 1 << 62
"""batch_records for the wrapped FileJournal: its append never writes; the writer thread does."""


class JournalWriter:
    """Appends on the event loop, commits (write + fdatasync) in one thread, shares fsyncs (group commit).

    Opening (the constructor) checks the file as :class:`~daemon.journal.FileJournal` does, takes its
    lock, and makes the file and its directory entry durable; it blocks, like ``FileJournal``, and
    needs no event loop. The periodic flush starts with :meth:`start`, ``async with`` or the first
    :meth:`barrier`; :meth:`close` must be awaited (it commits what is left).

    Metrics, plain attributes for /metrics: ``commits`` (fsyncs), ``events_committed``,
    ``bytes_committed``, ``barriers`` (barriers that had to wait), ``last_commit_seconds`` (write +
    sync, in the writer thread) and ``commit_seconds`` (the last ``history`` such durations).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        flush_interval: float = 0.05,
        batch_records: int = 4096,
        repair: bool = False,
        history: int = 1024,
    ) -> None:
        if not flush_interval > 0:
            raise ValueError(f"flush_interval must be positive, got {flush_interval}")
        if batch_records < 1:
            raise ValueError(f"batch_records must be at least 1, got {batch_records}")
        journal = FileJournal(path, batch_records=_NEVER, repair=repair)
        try:
            journal.sync()  # a new file's header
            journal._sync_directory()  # and its name: an intent in a file that vanishes is not durable
        except BaseException:
            journal.close()
            raise
        self._journal = journal
        self._name = journal.name
        self._interval = flush_interval
        self._batch = batch_records
        # the journal's buffer: append (loop) against _take_parts (thread); re-entrant, so that a
        # step() can hold it across the appends of one kernel step
        self._lock = threading.RLock()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="journal-writer"
        )
        self._durable_seq = journal.last_seq
        self._waiters: collections.deque[tuple[int, asyncio.Future[None]]] = collections.deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = False
        self._error: JournalError | None = None
        # metrics
        self.commits = 0
        self.events_committed = 0
        self.bytes_committed = 0
        self.barriers = 0
        self.last_commit_seconds = 0.0
        self.commit_seconds: collections.deque[float] = collections.deque(maxlen=history)

    # ── state ──────────────────────────────────────────────────────────────────────────────────

    @property
    def path(self) -> str:
        return self._name

    @property
    def last_seq(self) -> int:
        """The ``seq`` of the last appended event (durable or not)."""
        return self._journal.last_seq

    @property
    def durable_seq(self) -> int:
        """Every event up to this ``seq`` is written and synced."""
        return self._durable_seq

    @property
    def error(self) -> JournalError | None:
        """The failure that broke the writer, or ``None``."""
        return self._error

    @property
    def closed(self) -> bool:
        return self._closed

    def read(self, from_seq: int = 1) -> Iterator[AnyEvent]:
        """The journal's events from ``from_seq`` (what a restart folds before it appends)."""
        return self._journal.read(from_seq)

    # ── appending and waiting ──────────────────────────────────────────────────────────────────

    def append(self, events: Sequence[Event]) -> list[Event]:
        """Stamp ``seq`` on ``events`` and buffer them; return the stamped events. No I/O.

        Call it on the event loop's thread. Raises VT605 once the writer is closing, closed or broken.
        """
        if self._error is not None or self._closing:
            raise self._refusal()
        with self._lock:
            stamped = self._journal.append(events)
        if self._journal.last_seq - self._durable_seq >= self._batch:
            self._wake.set()
        return stamped

    async def barrier(self) -> None:
        """Return once every event appended before this call is written and synced.

        Raises VT605 if the commit that should cover them fails, or the writer is already broken.
        Cancelling a barrier cancels only the wait, never the commit.
        """
        if self._error is not None:
            raise self._refusal()
        target = self._journal.last_seq
        if target <= self._durable_seq:
            return
        self.barriers += 1
        self.start()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, future))
        self._wake.set()
        await future

    @contextlib.contextmanager
    def step(self) -> Iterator[None]:
        """Make what is appended inside the block one unit on disk: a commit takes everything
        appended before the block or everything up to its end, never part of it. A live session
        wraps each kernel step in it, so that a crash leaves the journal at a step boundary and the
        next start can re-drive it. The block must not await (it holds the writer thread off)."""
        with self._lock:
            yield

    def kick(self) -> None:
        """Start a commit now, without waiting: an intent was appended, and its request will wait on
        :meth:`barrier` a moment later; the commit is then already under way."""
        if self._error is None and not self._closing:
            self.start()
            self._wake.set()

    def start(self) -> None:
        """Start the committing task on the running loop (idempotent; not once closing)."""
        if self._task is None and not self._closing and self._error is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"journal-writer {self._name}"
            )

    async def close(self) -> None:
        """Commit everything appended, stop the task and the thread, release the file. Idempotent.

        Raises VT605 if the writer is broken (now or earlier): the journal may lack events after
        ``durable_seq``, and nobody may have waited for them.
        """
        if self._closed:
            return
        self._closing = True
        if self._task is not None:
            self._wake.set()
            await asyncio.wait({self._task})  # not ``await task``: cancelling close leaves it be
        try:
            if self._error is None:
                await self._commit()
        except JournalError:
            pass  # recorded in self._error, raised below
        finally:
            self._closed = True
            try:
                await asyncio.get_running_loop().run_in_executor(self._executor, self._journal.close)
            except JournalError as exc:  # NFS and some FUSE file systems report a lost write at close
                self._fail(exc)
            finally:
                self._executor.shutdown(wait=False)
        if self._error is not None:
            raise self._refusal()

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ── committing ─────────────────────────────────────────────────────────────────────────────

    async def _run(self) -> None:
        wake = self._wake
        try:
            while not self._closing:
                if not wake.is_set():
                    try:
                        async with asyncio.timeout(self._interval):
                            await wake.wait()
                    except TimeoutError:
                        pass
                wake.clear()
                if self._closing:
                    break  # close() makes the last commit
                await self._commit()
        except JournalError:
            return  # _commit recorded it and failed the waiters
        finally:
            if self._error is None and not self._closing:  # cancelled from outside: nobody commits now
                self._fail(JournalError(IO_ERROR, "the journal writer's task was cancelled", path=self._name))

    async def _commit(self) -> None:
        """One commit: everything appended so far, written and synced in the writer thread."""
        if self._journal.last_seq == self._durable_seq:
            return
        loop = asyncio.get_running_loop()
        try:
            upto, size, seconds = await loop.run_in_executor(self._executor, self._write_and_sync)
        except JournalError as exc:
            self._fail(exc)
            raise
        except Exception as exc:  # not an OSError (FileJournal turns those into VT605): still fatal
            error = JournalError(IO_ERROR, f"the journal writer failed: {exc!r}", path=self._name)
            self._fail(error)
            raise error from exc
        self.commits += 1
        self.events_committed += upto - self._durable_seq
        self.bytes_committed += size
        self.last_commit_seconds = seconds
        self.commit_seconds.append(seconds)
        self._durable_seq = upto
        waiters = self._waiters
        while waiters and waiters[0][0] <= upto:  # targets only grow: the covered ones are in front
            _, future = waiters.popleft()
            if not future.done():  # a cancelled barrier
                future.set_result(None)

    def _write_and_sync(self) -> tuple[int, int, float]:
        """In the writer thread: take the buffer (under the lock), write it and fdatasync (outside)."""
        journal = self._journal
        with self._lock:
            parts = journal._take_parts()
            upto = journal.last_seq
        start = time.perf_counter()
        journal._write_parts(parts)
        journal._sync_written(data_only=True)
        return upto, sum(map(len, parts)), time.perf_counter() - start

    # ── failure ────────────────────────────────────────────────────────────────────────────────

    def _fail(self, error: JournalError) -> None:
        """Break the writer: fail every waiting barrier, refuse everything from now on."""
        if self._error is None:
            self._error = error
        waiters, self._waiters = self._waiters, collections.deque()
        for _, future in waiters:
            if not future.done():
                # one exception each: a shared one would collect every waiter's traceback
                future.set_exception(JournalError(IO_ERROR, self._error.detail, path=self._name))

    def _refusal(self) -> JournalError:
        if self._error is not None:
            return JournalError(
                IO_ERROR,
                f"the journal writer failed and refuses further writes ({self._error.detail}); "
                f"events after seq {self._durable_seq} may not be on disk",
                path=self._name,
            )
        return JournalError(IO_ERROR, "the journal writer is closed", path=self._name)
