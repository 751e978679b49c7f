"""The journal tools end at once, with a typed error, on input that is not a journal or cannot be used.

Each group answers one way the tools used to hang or mislead: a path that is not a regular file (a
pipe blocks ``open``, /dev/zero never ends), a file that is not a journal or claims an absurd record
length, an export whose reader has gone (``export | head -1``), and operating-system errors creating
or appending to a journal. Anything that could hang runs under :func:`deadline`, so that a regression
fails instead of stalling the suite.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import io
import os
import random
import signal
import struct
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import msgspec
import pytest

from daemon.journal import (
    HEADER,
    MAX_RECORD_BYTES,
    FileJournal,
    JournalError,
    MemoryJournal,
    export_jsonl,
    file_sha256,
    verify,
)
from daemon.journal import inspection as journal_module  # where export reads records
from engines.model.events import StrategyLog
from tests.contract.journal_contract import every_event_type, quotes

SECONDS = 5.0  # the fixed code answers in milliseconds; this is slack for a loaded machine
HUGE = 64 << 30  # a sparse file: no blocks on disk, but a minute's reading for code that reads it all


class Hung(Exception):
    """The code under test outran its deadline (not TimeoutError: an OSError, which the code wraps)."""


@contextlib.contextmanager
def deadline(seconds: float = SECONDS) -> Iterator[None]:
    """Raise :class:`Hung` in the code under test if it runs longer: a blocked open() is interrupted too."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise Hung(f"still running after {seconds} s: it hangs or reads far too much")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def log(seq: int) -> StrategyLog:
    return StrategyLog(ts_event=seq, ts_init=seq, strategy="s", message=f"line {seq}", seq=seq)


def record(payload: bytes) -> bytes:
    return struct.pack("<II", len(payload), zlib.crc32(payload)) + payload


def sparse(path: Path, head: bytes, size: int) -> Path:
    """``head`` followed by zeros up to ``size`` bytes, as a hole that takes no space on disk."""
    with path.open("wb") as f:
        f.write(head)
        f.truncate(size)
    if path.stat().st_blocks * 512 > 1 << 20:
        path.unlink()
        pytest.skip("this file system has no sparse files")
    return path


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    path = tmp_path / "journal.vtj"
    with FileJournal(path) as journal:
        journal.append(every_event_type()[:4])
    return path


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.vtj"
    os.mkfifo(path)
    return path


def journal_error(call: Callable[[], object]) -> JournalError:
    """The JournalError that ``call`` raises, within the deadline."""
    with deadline(), pytest.raises(JournalError) as info:
        call()
    return info.value


def every_reader(path: Path) -> dict[str, Callable[[], object]]:
    """Each way the journal code opens an existing path, as a call that raises what it finds."""

    def verify_raising() -> None:
        report = verify(path)
        assert report.error is not None
        raise JournalError(str(report.error["code"]), str(report.error["message"]), path=report.path)

    return {
        "verify": verify_raising,
        "export_jsonl": lambda: export_jsonl(path, io.StringIO()),
        "file_sha256": lambda: file_sha256(path),
        "FileJournal": lambda: FileJournal(path),
        "FileJournal(repair)": lambda: FileJournal(path, repair=True),
        "FileJournal(durable)": lambda: FileJournal(path, durable=True),
    }


# ── 1. a path that is not a regular file: VT606 at once, never opened ─────────────────────────


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_a_device_is_refused_at_once_by_every_reader(device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"{device} is absent here")
    for what, call in every_reader(Path(device)).items():
        error = journal_error(call)
        assert error.code == "VT606", what
        assert "character device" in error.message, what
        assert device in str(error), what


def test_verify_reports_a_device_without_reading_it() -> None:
    with deadline():
        report = verify("/dev/zero")
    assert not report.ok
    assert report.error is not None
    assert report.error["code"] == "VT606"
    assert report.error["hint"]
    assert (report.path, report.records, report.bytes, report.sha256) == ("/dev/zero", 0, 0, "")


def test_a_fifo_is_refused_by_every_reader_without_being_opened(
    fifo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    real_os_open, real_open = os.open, builtins.open

    def spy_os_open(path: Any, *args: Any, **kwargs: Any) -> int:
        opened.append(os.fspath(path))
        return real_os_open(path, *args, **kwargs)

    def spy_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(file, int):
            opened.append(os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy_os_open)
    monkeypatch.setattr(builtins, "open", spy_open)
    for what, call in every_reader(fifo).items():
        error = journal_error(call)
        assert error.code == "VT606", what
        assert "pipe" in error.message, what
        assert str(fifo) in str(error), what
    assert str(fifo) not in opened


def test_a_fifo_swapped_in_after_the_check_is_refused_without_blocking(
    fifo: Path, clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # stat() says "a regular file", as it would have just before someone replaced the file by a pipe
    real_stat, regular = os.stat, os.stat(clean)

    def stale_stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        return regular if os.fspath(path) == str(fifo) else real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stale_stat)
    for what, call in every_reader(fifo).items():
        assert journal_error(call).code == "VT606", what


def test_a_journal_replaced_by_a_fifo_while_open_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "j.vtj"
    with FileJournal(path) as journal:
        journal.append(quotes(2))
        path.rename(tmp_path / "moved.vtj")
        os.mkfifo(path)
        error = journal_error(lambda: list(journal.read()))
    assert error.code == "VT606"


def test_a_symlink_to_a_journal_is_followed(clean: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.vtj"
    link.symlink_to(clean)
    assert verify(link).ok
    assert export_jsonl(link, io.StringIO()) == 4
    with FileJournal(link) as journal:
        assert journal.last_seq == 4


def test_a_directory_is_an_io_error_for_every_reader(tmp_path: Path) -> None:
    for what, call in every_reader(tmp_path).items():
        error = journal_error(call)
        assert error.code == "VT605", what
        assert os.strerror(errno.EISDIR) in error.message, what
        assert str(tmp_path) in str(error), what


# ── 2. not a journal, or an implausible record length: at once, with a typed error ────────────


def every_store_and_tool(path: Path) -> dict[str, Callable[[], object]]:
    calls = every_reader(path)
    del calls["verify"]  # verify reports instead of raising: checked on its own
    del calls["file_sha256"]  # hashes any regular file, journal or not
    if path.stat().st_size <= 1 << 20:
        calls["MemoryJournal"] = lambda: MemoryJournal(path.read_bytes(), name=str(path))
    return calls


def test_random_bytes_are_not_a_journal(tmp_path: Path) -> None:
    data = random.Random(606).randbytes(1 << 20)
    assert not data.startswith(b"VTJ")
    path = tmp_path / "random.bin"
    path.write_bytes(data)
    report = verify(path)
    assert report.error is not None
    assert (report.error["code"], report.error["offset"], report.bytes) == ("VT600", 0, len(data))
    assert report.sha256 == ""  # a file that is not a journal is not hashed
    for what, call in every_store_and_tool(path).items():
        error = journal_error(call)
        assert (error.code, error.offset) == ("VT600", 0), what
    assert path.read_bytes() == data  # repair touched nothing


def test_a_huge_file_of_zeros_is_not_a_journal_at_once(tmp_path: Path) -> None:
    path = sparse(tmp_path / "zeros.vtj", b"", HUGE)
    with deadline():
        report = verify(path)
    assert report.error is not None
    assert (report.error["code"], report.bytes, report.sha256) == ("VT600", HUGE, "")
    for what, call in every_store_and_tool(path).items():
        assert journal_error(call).code == "VT600", what
    assert path.stat().st_size == HUGE
    path.unlink()


@pytest.mark.parametrize("size", [16, HUGE], ids=["short", "sparse-64GiB"])
def test_a_record_length_of_2_to_the_31_is_implausible(tmp_path: Path, size: int) -> None:
    path = sparse(tmp_path / "crafted.vtj", HEADER + struct.pack("<II", 2**31, 0), size)
    for what, call in every_store_and_tool(path).items():
        error = journal_error(call)
        assert (error.code, error.record, error.offset) == ("VT607", 0, 8), what
        assert "record 0 at byte 8" in str(error), what
        assert str(2**31) in error.message, what
    assert path.stat().st_size == size  # repair never truncates an implausible length
    if size == 16:
        report = verify(path)
        assert report.error is not None
        assert (report.error["code"], report.error["record"], report.error["offset"]) == ("VT607", 0, 8)
        assert (report.records, report.last_seq) == (0, 0)
    path.unlink()


def test_the_length_bound_is_max_record_bytes(clean: Path) -> None:
    intact = clean.read_bytes()
    clean.write_bytes(intact + struct.pack("<II", MAX_RECORD_BYTES + 1, 0))
    error = journal_error(lambda: FileJournal(clean))
    assert (error.code, error.record, error.offset) == ("VT607", 4, len(intact))
    # a length at the bound is a record whose write was torn short: VT601, and repairable
    clean.write_bytes(intact + struct.pack("<II", MAX_RECORD_BYTES, 0) + b"x" * 100)
    assert journal_error(lambda: FileJournal(clean)).code == "VT601"
    with FileJournal(clean, repair=True) as journal:
        assert journal.last_seq == 4
    assert clean.read_bytes() == intact


def test_a_large_zero_filled_tail_is_checked_without_loading_it(clean: Path) -> None:
    intact = clean.stat().st_size
    size = 256 << 20
    sparse(clean, clean.read_bytes(), size)
    tracemalloc.start()
    try:
        error = journal_error(lambda: FileJournal(clean))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (error.code, error.record, error.offset) == ("VT601", 4, intact)
    assert peak < 16 << 20, f"peak {peak} bytes: the tail was read into memory"
    with FileJournal(clean, repair=True) as journal:
        assert journal.repaired_bytes == size - intact
        assert journal.last_seq == 4
    assert clean.stat().st_size == intact


# ── 3. export: an error writing the output is not a journal error ─────────────────────────────


class FailingOutput(io.StringIO):
    def __init__(self, error: OSError) -> None:
        super().__init__()
        self.error = error

    def write(self, s: str) -> int:
        raise self.error


def test_export_to_a_closed_pipe_raises_broken_pipe_not_a_journal_error(clean: Path) -> None:
    with pytest.raises(BrokenPipeError):
        export_jsonl(clean, FailingOutput(BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))))


def test_export_into_a_real_pipe_whose_reader_has_gone(clean: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `head -1` does once it has its line
    out = open(write_end, "w", buffering=1)  # noqa: SIM115 - closed below, where closing raises too
    try:
        with pytest.raises(BrokenPipeError):
            export_jsonl(clean, out)
    finally:
        with contextlib.suppress(BrokenPipeError):
            out.close()


def test_export_passes_other_output_errors_through_unchanged(clean: Path) -> None:
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    with pytest.raises(OSError) as info:
        export_jsonl(clean, FailingOutput(full))
    assert info.value is full
    assert not isinstance(info.value, JournalError)


def test_an_error_reading_the_journal_is_vt605_naming_it(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_scan = journal_module._scan

    def failing_scan(*args: Any, **kwargs: Any) -> Iterator[list[Any]]:
        yield next(real_scan(*args, **kwargs))[:2]
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(journal_module, "_scan", failing_scan)
    out = io.StringIO()
    error = journal_error(lambda: export_jsonl(clean, out))
    assert error.code == "VT605"
    assert str(clean) in str(error)
    assert os.strerror(errno.EIO) in error.message
    assert [msgspec.json.decode(line)["seq"] for line in out.getvalue().splitlines()] == [1, 2]


# ── 4. OS errors creating or appending to a FileJournal: VT605, never a bare OSError ─────────


def assert_vt605(error: JournalError, path: Path, reason: int | str) -> None:
    assert error.code == "VT605"
    assert error.path == str(path)
    assert str(path) in str(error)
    assert (os.strerror(reason) if isinstance(reason, int) else reason) in error.message
    assert error.hint


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory anyway")
def test_a_read_only_directory(tmp_path: Path) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    directory.chmod(0o500)
    try:
        path = directory / "j.vtj"
        assert_vt605(journal_error(lambda: FileJournal(path)), path, errno.EACCES)
    finally:
        directory.chmod(0o700)


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS, errno.ENOSPC, errno.EMFILE])
def test_an_os_error_opening_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    path = tmp_path / "j.vtj"
    real = os.open

    def refusing(p: Any, *args: Any, **kwargs: Any) -> int:
        if os.fspath(p) == str(path):
            raise OSError(code, os.strerror(code), str(p))
        return real(p, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing)
    assert_vt605(journal_error(lambda: FileJournal(path)), path, code)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: d / ("x" * 300), errno.ENAMETOOLONG),
        (lambda d: d / "missing" / "j.vtj", errno.ENOENT),
        (lambda d: d / "file" / "j.vtj", errno.ENOTDIR),
        (lambda d: d, errno.EISDIR),
    ],
    ids=["name too long", "no directory", "parent is a file", "a directory"],
)
def test_a_path_that_cannot_be_a_journal(tmp_path: Path, make: Callable[[Path], Path], reason: int) -> None:
    (tmp_path / "file").write_bytes(b"")
    path = make(tmp_path)
    assert_vt605(journal_error(lambda: FileJournal(path)), path, reason)


def no_space(monkeypatch: pytest.MonkeyPatch, *, after: int = 0) -> None:
    """Make os.write fail with ENOSPC, once ``after`` bytes have been written."""
    real = os.write
    room = [after]

    def write(fd: int, data: Any) -> int:
        if room[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = real(fd, bytes(data)[: room[0]])
        room[0] -= n
        return n

    monkeypatch.setattr(os, "write", write)


@pytest.mark.parametrize("durable", [False, True], ids=["buffered", "durable"])
def test_no_space_for_the_file_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool) -> None:
    path = tmp_path / "j.vtj"
    no_space(monkeypatch)
    error = journal_error(lambda: FileJournal(path, durable=durable))
    assert_vt605(error, path, errno.ENOSPC)
    assert "header" in error.message


@pytest.mark.parametrize("when", ["durable append", "flush", "sync", "close", "full batch"])
def test_no_space_when_appending(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    path = tmp_path / "j.vtj"
    journal = FileJournal(path, durable=when == "durable append", batch_records=3)
    journal.append([log(0)])
    journal.sync()
    no_space(monkeypatch, after=10)  # a short write, then a full disk: a torn record on disk

    def act() -> None:
        if when == "full batch":  # the third record fills the batch: append itself writes
            journal.append([log(0)] * 3)
            return
        journal.append([log(0)])  # written and fsynced at once when durable
        then: dict[str, Callable[[], None]] = {
            "flush": journal.flush,
            "sync": journal.sync,
            "close": journal.close,
        }
        if when in then:
            then[when]()

    error = journal_error(act)
    assert_vt605(error, path, errno.ENOSPC)
    monkeypatch.undo()
    with pytest.raises(JournalError) as info:  # failed for good: never append after a lost write
        journal.append([log(0)])
    assert info.value.code == "VT605"
    journal.close()
    # what reached the disk is the intact record and a torn tail that repair removes
    assert journal_error(lambda: FileJournal(path)).code == "VT601"
    with FileJournal(path, repair=True) as reopened:
        assert reopened.last_seq == 1
        assert reopened.repaired_bytes == 10


def test_a_write_that_accepts_nothing_fails_instead_of_spinning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.vtj"
    journal = FileJournal(path, durable=True)
    monkeypatch.setattr(os, "write", lambda fd, data: 0)
    assert_vt605(journal_error(lambda: journal.append([log(0)])), path, "0 bytes")
    monkeypatch.undo()
    journal.close()


def test_an_error_reported_at_close_is_vt605(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "j.vtj"
    journal = FileJournal(path)
    journal.append([log(0)])
    real = os.close

    def deferred_error(fd: int) -> None:  # NFS reports a failed write when the file is closed
        real(fd)
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "close", deferred_error)
    error = journal_error(journal.close)
    monkeypatch.undo()
    assert_vt605(error, path, errno.EIO)
    journal.close()  # closed for good: idempotent, nothing left to close


def test_the_directory_of_a_new_durable_journal_must_be_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.vtj"
    real = os.open

    def unreadable_directory(p: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if os.fspath(p) == str(tmp_path):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(p))
        return real(p, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", unreadable_directory)
    error = journal_error(lambda: FileJournal(path, durable=True))
    assert_vt605(error, path, errno.EACCES)
    assert str(tmp_path) in error.message
    with FileJournal(path) as buffered:  # buffered mode promises nothing at creation
        assert buffered.last_seq == 0
