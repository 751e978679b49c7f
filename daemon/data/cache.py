"""The decoded-data cache: a CSV data file's events, kept in the fixture format under its content's sha256.

A quant replays the same files all day, and a sweep replays them once per trial. Parsing CSV text
is about half of a replay's time on a tick file; reading the fixture's columnar chunks costs a third
of parsing. So the replay looks each CSV file of at least :data:`MIN_BYTES` up here (by the sha256
it computes anyway for the run record) and, on a hit, reads the cached chunks instead of the text.

* **Same events, same journal.** An entry is the fixture (``manifest.json`` + ``events.vtm``) that
  ``data import`` would write from the file alone, in chunks of the replay's batch size, so the
  replay sees the very batches the CSV reader would give. The run record still names the CSV file
  and its sha256: a journal does not say, and does not depend on, whether the cache was used.
* **Keyed by content.** The key hashes the file's sha256, its name (the name says the instrument
  and kind) and the formats' versions; an edited file is a new key, never a stale hit.
* **Written off the replay's path.** A miss starts a detached builder process (as ``git gc --auto``
  does) that reads the file again and writes the entry atomically (a temporary directory renamed),
  so a first replay is not slowed; a sweep builds its entries before the trials start. One builder
  per entry (a lock file); a file with a data error is never cached.
* **Checked on every read.** The entry's sha256 is verified before use (the fixture reader's
  check); a broken entry is removed and the CSV parsed instead. Nothing in the cache can fail a
  replay: any error of the cache itself means a plain CSV read.
* **Bounded.** Least recently used entries are removed past ``VIBETRADING_DATA_CACHE_MB`` (default
  2048) in total.

``VIBETRADING_DATA_CACHE`` sets the directory (default ``$XDG_CACHE_HOME/vibetrading/data``, else
``~/.cache/vibetrading/data``); ``off`` turns the cache off, as does ``--no-data-cache``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final, Literal

from daemon.data.csvfiles import read_events
from daemon.data.errors import DataError
from daemon.data.files import DataSource, describe
from daemon.data.fixture import (
    DEFAULT_BATCH,
    FIXTURE_VERSION,
    MANIFEST_NAME,
    SourceFile,
    _file_sha256,
    _write_fixture,
    read_fixture_chunks,
)
from engines.model.events import SCHEMA_VERSION, MarketEvent

CACHE_ENV: Final = "VIBETRADING_DATA_CACHE"
CACHE_MB_ENV: Final = "VIBETRADING_DATA_CACHE_MB"
#: files smaller than this parse in a few milliseconds: not worth an entry
MIN_BYTES: Final = 1 << 20
DEFAULT_MAX_MB: Final = 2048
#: bump when the CSV reader's output for the same bytes changes
CACHE_FORMAT: Final = 1
#: a builder lock older than this is a builder that died: the next miss may build again
STALE_LOCK_S: Final = 600
#: kinds whose file is one stream named by the file (a wide or long daily panel is small and is not cached)
CACHED_KINDS_EXCLUDED: Final = frozenset({"dailyohlcv", "dailyclose"})
_OFF: Final = frozenset({"off", "0", "no", "false", "none", ""})

#: what a miss does: start a detached builder, build in this process, or nothing
BuildPolicy = Literal["background", "now", "no"]


def default_root() -> Path | None:
    """The cache directory the environment says, or None when the cache is off."""
    value = os.environ.get(CACHE_ENV)
    if value is not None:
        return None if value.strip().lower() in _OFF else Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError):  # no home directory (a bare service account): no cache
            return None
    return Path(base) / "vibetrading" / "data"


def _max_bytes() -> int:
    try:
        return max(0, int(os.environ.get(CACHE_MB_ENV, DEFAULT_MAX_MB))) << 20
    except ValueError:
        return DEFAULT_MAX_MB << 20


class DataCache:
    """One cache directory: lookups, the entries' builders and eviction."""

    def __init__(self, root: Path, *, max_bytes: int | None = None, min_bytes: int = MIN_BYTES) -> None:
        self.root = root
        self.max_bytes = _max_bytes() if max_bytes is None else max_bytes
        self.min_bytes = min_bytes

    @classmethod
    def from_env(cls) -> DataCache | None:
        root = default_root()
        return None if root is None else cls(root)

    # ── keys and entries ──

    @staticmethod
    def key(src: DataSource, sha256: str) -> str:
        text = f"{CACHE_FORMAT}\n{FIXTURE_VERSION}\n{SCHEMA_VERSION}\n{Path(src.path).name}\n{sha256}"
        return hashlib.sha256(text.encode()).hexdigest()[:40]

    def entry(self, key: str) -> Path:
        return self.root / key

    def lock(self, path: str, sha256: str) -> Path:
        """The file a builder of this CSV file's entry holds while it works."""
        return self.root / f".{self.key(describe(path), sha256)}.lock"

    def wanted(self, src: DataSource, size: int) -> bool:
        """Whether this file is worth an entry: large enough, and one stream named by the file."""
        return size >= self.min_bytes and src.kind not in CACHED_KINDS_EXCLUDED

    def lookup(self, src: DataSource, sha256: str) -> Iterator[list[MarketEvent]] | None:
        """The cached batches of this file, checked (VT509 never escapes: a bad entry is removed), or None."""
        entry = self.entry(self.key(src, sha256))
        if not (entry / MANIFEST_NAME).is_file():
            return None
        try:
            batches = read_fixture_chunks(entry)
            first = next(batches, None)
        except (DataError, OSError):
            self._remove(entry)
            return None
        with contextlib.suppress(OSError):
            os.utime(entry)  # recently used: evicted last
        return _chain(first, batches)

    # ── building ──

    def build(self, path: str, sha256: str) -> Path | None:
        """Write the entry of the CSV file at ``path`` in this process; its directory, or None when the
        file changed under us, has a data error, or the cache could not be written."""
        src = describe(path)
        key = self.key(src, sha256)
        entry = self.entry(key)
        if (entry / MANIFEST_NAME).is_file():
            return entry
        try:
            size = os.stat(path).st_size
        except OSError:
            return None
        partial = self.root / f".{key}.partial-{os.getpid()}"
        counted = [0]

        def events() -> Iterator[MarketEvent]:
            for event in read_events(path):
                counted[0] += 1
                yield event

        try:
            self.root.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(partial, ignore_errors=True)
            _write_fixture(
                events(),
                partial,
                name=Path(path).name,
                source="vibetrading data cache",
                licence="as the source file's",
                created_from=lambda: (
                    SourceFile(
                        file=Path(path).name, sha256=sha256, bytes=size, kind=src.kind, events=counted[0]
                    ),
                ),
                require=frozenset(),
                chunk_size=DEFAULT_BATCH,
                compression="none",
            )
            if _file_sha256(path)[0] != sha256:  # changed while we read it: the entry would lie
                shutil.rmtree(partial, ignore_errors=True)
                return None
            os.rename(partial, entry)
        except (DataError, OSError):
            shutil.rmtree(partial, ignore_errors=True)
            return entry if (entry / MANIFEST_NAME).is_file() else None  # another builder won the race
        self.evict(keep=entry)
        return entry

    def build_in_background(self, path: str, sha256: str) -> bool:
        """Start a detached builder for this file unless one is at work; whether one was started."""
        lock = self.lock(path, sha256)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            try:
                if time.time() - lock.stat().st_mtime < STALE_LOCK_S:
                    return False
                lock.unlink()
            except FileNotFoundError:
                pass
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            os.close(fd)
            subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
                [sys.executable, "-m", "daemon.data.cache", str(self.root), os.path.abspath(path), sha256],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
        except OSError:
            return False
        return True

    # ── size ──

    def entries(self) -> list[tuple[Path, int, float]]:
        """``(directory, bytes, last used)`` of every complete entry, least recently used first."""
        out = []
        try:
            children = list(self.root.iterdir())
        except OSError:
            return []
        for child in children:
            if child.name.startswith(".") or not (child / MANIFEST_NAME).is_file():
                continue
            try:
                size = sum(f.stat().st_size for f in child.iterdir())
                out.append((child, size, child.stat().st_mtime))
            except OSError:
                continue
        return sorted(out, key=lambda e: e[2])

    def evict(self, keep: Path | None = None) -> None:
        """Remove least recently used entries until the total fits ``max_bytes`` (never ``keep``)."""
        entries = self.entries()
        total = sum(size for _, size, _ in entries)
        for directory, size, _ in entries:
            if total <= self.max_bytes:
                break
            if directory != keep:
                self._remove(directory)
                total -= size

    def clear(self) -> int:
        """Remove every entry (and leftovers of builders); how many entries there were."""
        count = len(self.entries())
        try:
            for child in self.root.iterdir():
                self._remove(child)
        except OSError:
            pass
        return count

    @staticmethod
    def _remove(path: Path) -> None:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _chain(first: list[MarketEvent] | None, rest: Iterator[list[MarketEvent]]) -> Iterator[list[MarketEvent]]:
    if first is not None:
        yield first
    yield from rest


def cached_batches(
    cache: DataCache | None, path: str, src: DataSource, digest: tuple[str, int], *, build: BuildPolicy
) -> Iterator[list[MarketEvent]] | None:
    """The CSV file's batches from the cache, or None (then the caller parses it). On a miss,
    ``build`` says what to do: ``"background"`` starts a builder, ``"now"`` builds in this process
    (and reads the new entry), ``"no"`` nothing."""
    if cache is None:
        return None
    sha256, size = digest
    if not cache.wanted(src, size):
        return None
    hit = cache.lookup(src, sha256)
    if hit is not None or build == "no":
        return hit
    if build == "now":
        return None if cache.build(path, sha256) is None else cache.lookup(src, sha256)
    cache.build_in_background(path, sha256)
    return None


def _main(argv: list[str]) -> int:
    """The detached builder: ``python -m daemon.data.cache ROOT CSV SHA256``."""
    root, path, sha256 = argv
    cache = DataCache(Path(root))
    try:
        return 0 if cache.build(path, sha256) is not None else 1
    finally:
        cache.lock(path, sha256).unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))


__all__ = [
    "CACHE_ENV",
    "CACHE_MB_ENV",
    "MIN_BYTES",
    "BuildPolicy",
    "DataCache",
    "cached_batches",
    "default_root",
]
