"""Data file names and opening files.

What a file name says (venue, instrument, kind, period), and opening only regular files (VT514).
"""

from __future__ import annotations

import errno
import gzip
import io
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final, TextIO

import msgspec

from daemon.data.errors import DataError
from engines.errors import InvalidSymbolError
from engines.model.instruments import parse_symbol
from engines.units import NS_PER_DAY, NS_PER_HOUR, NS_PER_MINUTE, NS_PER_SECOND

# ── file names ──────────────────────────────────────────────────────────────────────────────────

_UNIT_NS: Final = {"s": NS_PER_SECOND, "m": NS_PER_MINUTE, "h": NS_PER_HOUR, "d": NS_PER_DAY}
_NAME_RE: Final = re.compile(r"^([^_]+)_([^_]+)_([^_]+)_([^_]+?)\.csv(?:\.gz)?$")
_BARS_RE: Final = re.compile(r"^bars([1-9][0-9]{0,5})([smhd])$")
_TICK_KINDS: Final = ("trades", "quotes")
_PANEL_KINDS: Final = ("dailyohlcv", "dailyclose")


class DataSource(msgspec.Struct, frozen=True, kw_only=True):
    """What a data file's name says: ``<venue>_<instrument>_<kind>_<period>.csv[.gz]``."""

    path: str
    venue: str
    instrument: str
    kind: str
    period: str
    interval_ns: int = 0
    """The bar length for bar kinds and daily panels; 0 for ticks."""

    @property
    def symbol(self) -> str:
        return f"{self.venue}:{self.instrument}"


def describe(path: str | os.PathLike[str]) -> DataSource:
    """Parse a data file's name; a name off the pattern or an unsupported kind is VT501."""
    text = os.fspath(path)
    name = Path(text).name
    match = _NAME_RE.match(name)
    if match is None:
        raise DataError(
            f"file name {name!r} is not <venue>_<instrument>_<kind>_<period>.csv.gz",
            code="VT501",
            file=text,
        )
    venue, instrument, kind, period = match.groups()
    try:
        parse_symbol(f"{venue}:{instrument}")
    except InvalidSymbolError:
        raise DataError(
            f"file name {name!r}: {venue}:{instrument} is not a valid venue:instrument",
            code="VT501",
            file=text,
        ) from None
    interval_ns = 0
    bars = _BARS_RE.match(kind)
    if bars is not None:
        interval_ns = int(bars.group(1)) * _UNIT_NS[bars.group(2)]
    elif kind in _PANEL_KINDS:
        interval_ns = NS_PER_DAY
    elif kind not in _TICK_KINDS:
        raise DataError(
            f"unsupported kind {kind!r} in file name {name!r}; supported: trades, quotes, "
            "bars<N>s/m/h/d, dailyohlcv, dailyclose",
            code="VT501",
            file=text,
        )
    return DataSource(
        path=text,
        venue=venue,
        instrument=instrument,
        kind=kind,
        period=period,
        interval_ns=interval_ns,
    )


# ── opening files ───────────────────────────────────────────────────────────────────────────────


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if exc.strerror:
        name = errno.errorcode.get(exc.errno or 0)
        return f"{exc.strerror[0].lower()}{exc.strerror[1:]}" + (f" ({name})" if name else "")
    return str(exc) or type(exc).__name__


def _unreadable(path: str, exc: OSError, code: str = "VT500") -> DataError:
    return DataError(f"cannot read the file: {_os_reason(exc)}", code=code, file=path)


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return f"of file type {stat.S_IFMT(mode):#o}"


def _not_regular(path: str, mode: int) -> DataError:
    return DataError(
        f"not a regular file: it is {_file_kind(mode)}; data is read from regular files only",
        code="VT514",
        file=path,
    )


def _stat(path: str, code: str = "VT500") -> os.stat_result:
    """``os.stat`` (following links) with the OS error as a DataError naming the path."""
    try:
        return os.stat(path)
    except OSError as exc:
        raise _unreadable(path, exc, code) from exc


def _open_binary(path: str, code: str = "VT500") -> io.BufferedReader:
    """Open a data file for reading; anything but a regular file is VT514 and is never opened.

    Opening a FIFO waits for a writer, forever, hence the ``stat`` first. The open itself is
    non-blocking and checked again with ``fstat``, so a FIFO swapped in after the ``stat`` is
    refused too instead of hanging.
    """
    mode = _stat(path, code).st_mode
    if not stat.S_ISREG(mode):
        raise _not_regular(path, mode)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise _unreadable(path, exc, code) from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, mode)
        os.set_blocking(fd, True)
        return open(fd, "rb")
    except OSError as exc:
        os.close(fd)
        raise _unreadable(path, exc, code) from exc
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def _open_text(path: str) -> Iterator[TextIO]:
    """A data file as text: gunzipped when named ``.gz``, a BOM dropped, bad bytes kept as escapes."""
    with _open_binary(path) as raw:
        stream = raw
        if path.endswith(".gz"):
            stream = io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), buffer_size=1 << 16)
        with io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="") as text:
            yield text
