"""Opening journal files: only regular files (VT606), every operating-system error typed (VT605)."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from typing import IO, Final

from daemon.journal.format import _READ_CHUNK, IO_ERROR, NOT_A_FILE, JournalError

# ── opening files ──────────────────────────────────────────────────────────────────────────────

_NONBLOCK: Final = getattr(os, "O_NONBLOCK", 0)
_OPEN_FLAGS: Final = _NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


def _os_error(name: str, what: str, exc: OSError) -> JournalError:
    """VT605: ``str(error)`` names the file (``path``) and the message the operating system's reason."""
    return JournalError(IO_ERROR, f"{what}: {exc.strerror or exc}", path=name)


def _not_regular(name: str, mode: int) -> JournalError:
    if stat.S_ISDIR(mode):
        # what open() says of a directory opened for writing, so that readers and FileJournal agree
        return JournalError(IO_ERROR, f"cannot open: {os.strerror(errno.EISDIR)}", path=name)
    if stat.S_ISFIFO(mode):
        kind = "a pipe (FIFO)"
    elif stat.S_ISCHR(mode):
        kind = "a character device"
    elif stat.S_ISBLK(mode):
        kind = "a block device"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    else:  # pragma: no cover - doors, whiteouts and the like
        kind = f"a special file ({stat.filemode(mode)})"
    return JournalError(
        NOT_A_FILE, f"not a regular file but {kind}; only a regular file can hold a journal", path=name
    )


def _open_regular(path: str | os.PathLike[str], name: str, flags: int) -> int:
    """Open ``path`` only if it is a regular file (or absent, when ``flags`` has ``O_CREAT``).

    A pipe blocks ``open`` until a writer comes and a device such as /dev/zero never ends, so both are
    refused (VT606) from ``stat``, before anything is opened. The path can be swapped between
    ``stat`` and ``open``, so it is opened non-blocking (a pipe then opens at once) and its
    descriptor checked again.
    """
    try:
        mode: int | None = os.stat(path).st_mode
    except FileNotFoundError as exc:
        if not flags & os.O_CREAT:
            raise _os_error(name, "cannot open", exc) from None
        mode = None
    except OSError as exc:
        raise _os_error(name, "cannot open", exc) from None
    if mode is not None and not stat.S_ISREG(mode):
        raise _not_regular(name, mode)
    try:
        fd = os.open(path, flags | _OPEN_FLAGS, 0o644)
    except OSError as exc:
        raise _os_error(name, "cannot open", exc) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(name, mode)
        if _NONBLOCK:
            os.set_blocking(fd, True)
    except OSError as exc:
        os.close(fd)
        raise _os_error(name, "cannot open", exc) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_reader(path: str | os.PathLike[str], name: str) -> IO[bytes]:
    fd = _open_regular(path, name, os.O_RDONLY)
    try:
        return open(fd, "rb")
    except OSError as exc:
        os.close(fd)
        raise _os_error(name, "cannot open", exc) from None


def _sha256(f: IO[bytes], size: int) -> str:
    """The SHA-256 of the first ``size`` bytes: a file appended to meanwhile is hashed as it was measured."""
    f.seek(0)
    digest = hashlib.sha256()
    left = size
    while left > 0:
        chunk = f.read(min(_READ_CHUNK, left))
        if not chunk:  # the file shrank
            break
        digest.update(chunk)
        left -= len(chunk)
    return digest.hexdigest()
