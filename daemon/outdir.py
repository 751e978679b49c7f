"""Output directories that never destroy anything: the one way a command writes its results.

A run writes into a hidden work directory beside its ``--out`` and renames it into place at the end,
so a failed or interrupted run leaves nothing behind and a reader never sees half a result. The rules:

* ``--out`` must be new (or an empty directory), or hold a previous run's output: a directory with
  the marker file :data:`MARKER`, which lists every file the run wrote. Anything else (a file, a
  directory of the user's, the current directory) is refused with VT700 and left untouched.
* A previous run is replaced only with ``force`` (VT702 without it), and only if the directory still
  holds nothing but what that run wrote: a file a user added since is never deleted (VT700).
* One run per ``--out`` at a time: the work directory has a fixed name, ``.NAME.partial``, and appears
  under it only after its owner holds an exclusive ``flock`` on the lock file inside it. A second run
  finds it locked and is refused (VT701). A work directory whose lock nobody holds belongs to a run
  that died (SIGKILL, power loss): the next run that looks removes it.
* Every file-system error is a typed error naming the path and the reason (VT703).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from engines.errors import VibeError

MARKER: Final = ".vibetrading-run"
LOCK_NAME: Final = ".lock"
_PARTIAL_SUFFIX: Final = ".partial"
_TRASH_SUFFIX: Final = ".trash"
# work directories of earlier versions were named .NAME.partial-PID and held no lock
_LEGACY_PARTIAL: Final = re.compile(r"^\..+\.partial-(\d+)$")
# what a replay wrote before the marker existed: such a directory counts as a previous run
_LEGACY_REPLAY: Final = frozenset({"journal.vtj", "report.json", "trades.csv", "equity.csv", "report.html"})


class OutputError(VibeError):
    code = "VT700"


def fs_error(path: Path | str, exc: OSError, doing: str) -> OutputError:
    """A typed VT703 naming the path, what was being done and the operating system's reason."""
    reason = exc.strerror or str(exc)
    return OutputError(f"{doing} {os.fspath(path)!s}: {reason}", code="VT703", file=os.fspath(path))


def _name_max(directory: Path) -> int:
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def check_out_path(out: Path) -> Path:
    """The absolute output path, refused up front when it can never be a run's directory."""
    if not os.fspath(out).strip():
        raise OutputError("--out is empty: give a directory for the run's outputs", code="VT710")
    target = Path(os.path.abspath(out))
    cwd = Path.cwd()
    if target == cwd or target in cwd.parents or target.parent == target:
        raise OutputError(
            f"--out {os.fspath(out)!r} is the current directory or one of its parents; "
            "give a directory of its own, for example runs/replay",
            file=os.fspath(out),
        )
    longest = _name_max(_existing_ancestor(target.parent)) - len(_PARTIAL_SUFFIX) - len(_TRASH_SUFFIX) - 1
    if len(os.fsencode(target.name)) > longest:
        raise OutputError(
            f"--out name is {len(os.fsencode(target.name))} bytes long; this file system allows "
            f"{longest} for an output directory",
            code="VT710",
            file=os.fspath(out),
        )
    return target


def _existing_ancestor(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def read_marker(directory: Path) -> dict[str, object] | None:
    """The marker of a previous run in ``directory``, or None when it holds none (or an unreadable one)."""
    try:
        raw = (directory / MARKER).read_bytes()
    except OSError:
        return None
    try:
        marker = json.loads(raw)
    except ValueError:
        return None
    return marker if isinstance(marker, dict) else None


def _foreign_entries(directory: Path, marker: dict[str, object]) -> list[str]:
    written = marker.get("files")
    known = {MARKER, *(f for f in written if isinstance(f, str))} if isinstance(written, list) else {MARKER}
    return sorted(p.name for p in directory.iterdir() if p.name not in known)


def check_target(out: Path, *, force: bool) -> None:
    """Refuse an ``--out`` a run may not write: VT700 (someone else's), VT702 (a run, no force)."""
    try:
        if not out.exists() and not out.is_symlink():
            return
        if out.is_symlink() or not out.is_dir():
            raise OutputError(
                f"--out {out} exists and is not a directory; it was left untouched", file=str(out)
            )
        entries = list(out.iterdir())
        if not entries:
            return
        marker = read_marker(out)
        if marker is None and {p.name for p in entries} == _LEGACY_REPLAY:
            marker = {"command": "replay", "files": sorted(_LEGACY_REPLAY)}
        if marker is None:
            shown = ", ".join(sorted(p.name for p in entries)[:5])
            raise OutputError(
                f"--out {out} holds files no run wrote ({shown}{', ...' if len(entries) > 5 else ''}); "
                "it was left untouched",
                file=str(out),
            )
        foreign = _foreign_entries(out, marker)
        if foreign:
            raise OutputError(
                f"--out {out} holds a previous run and files added since ({', '.join(foreign[:5])}); "
                "it was left untouched",
                file=str(out),
            )
        if not force:
            raise OutputError(
                f"--out {out} holds a previous run ({marker.get('command', 'run')})",
                code="VT702",
                file=str(out),
            )
    except OSError as exc:
        raise fs_error(out, exc, "cannot inspect") from None


def _try_lock(path: Path) -> int | None:
    """An fd holding an exclusive flock on ``path``, or None when another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _is_abandoned(work: Path) -> bool:
    """True when ``work`` is a work directory whose owner is gone (its lock is free)."""
    lock = work / LOCK_NAME
    if not lock.is_file():
        return False
    fd = _try_lock(lock)
    if fd is None:
        return False
    os.close(fd)
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_tree(path: Path) -> None:
    """Rename away first, so a half-deleted directory never sits under a name a run looks for."""
    trash = path.with_name(f"{path.name}{_TRASH_SUFFIX}-{os.getpid()}")
    try:
        path.rename(trash)
    except FileNotFoundError:
        return  # another run removed it first
    shutil.rmtree(trash, ignore_errors=True)


def sweep_abandoned(parent: Path) -> list[Path]:
    """Remove the work directories in ``parent`` of runs that died; return what was removed."""
    removed: list[Path] = []
    try:
        entries = list(parent.iterdir()) if parent.is_dir() else []
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not name.startswith(".") or entry.is_symlink() or not entry.is_dir():
            continue
        legacy = _LEGACY_PARTIAL.match(name)
        if name.endswith(_PARTIAL_SUFFIX):
            abandoned = _is_abandoned(entry)
        elif legacy is not None:
            abandoned = not _pid_alive(int(legacy.group(1)))
        elif f"{_TRASH_SUFFIX}-" in name and name.rsplit("-", 1)[-1].isdigit():
            abandoned = not _pid_alive(int(name.rsplit("-", 1)[-1]))
        else:
            continue
        if abandoned:
            _remove_tree(entry)
            removed.append(entry)
    return removed


class WorkDir:
    """The locked work directory of one run, renamed into ``out`` by :meth:`commit`."""

    def __init__(self, out: Path, *, command: str, force: bool) -> None:
        self.out = check_out_path(out)
        self.command = command
        self.force = force
        self.path = self.out.parent / f".{self.out.name}{_PARTIAL_SUFFIX}"
        self._lock_fd: int | None = None

    def __enter__(self) -> WorkDir:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def open(self) -> None:
        """Check the target, clear abandoned work, then create and lock this run's work directory."""
        parent = self.out.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise fs_error(parent, exc, "cannot create the output's parent") from None
        check_target(self.out, force=self.force)
        sweep_abandoned(parent)
        staging = parent / f".{self.out.name}{_PARTIAL_SUFFIX}-{os.getpid()}"
        try:
            staging.mkdir()
            fd = _try_lock(staging / LOCK_NAME)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise fs_error(staging, exc, "cannot create the work directory") from None
        if fd is None:  # nobody else can know this directory's name, let alone lock it
            raise OutputError(f"{staging}: locked by another process", code="VT701", file=str(staging))
        try:
            # the fixed name appears only with its lock held: a second run sees a locked directory
            os.rename(staging, self.path)
        except OSError as exc:
            os.close(fd)
            shutil.rmtree(staging, ignore_errors=True)
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                raise OutputError(
                    f"--out {self.out} is being written by another run (its work directory "
                    f"{self.path} is locked)",
                    code="VT701",
                    file=str(self.out),
                ) from None
            raise fs_error(self.path, exc, "cannot create the work directory") from None
        self._lock_fd = fd

    def commit(self, files: list[str], meta: dict[str, object]) -> Path:
        """Write the marker and move the work directory into place; the previous run goes last."""
        marker = {"command": self.command, "files": sorted(files), **meta}
        try:
            (self.path / MARKER).write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n")
            (self.path / LOCK_NAME).unlink()
        except OSError as exc:
            raise fs_error(self.path, exc, "cannot finish") from None
        # the state of --out may have changed while the run ran: check again, never destroy
        check_target(self.out, force=self.force)
        try:
            if self.out.exists():
                trash = self.out.parent / f".{self.out.name}{_TRASH_SUFFIX}-{os.getpid()}"
                self.out.rename(trash)
                self.path.rename(self.out)
                shutil.rmtree(trash, ignore_errors=True)
            else:
                self.path.rename(self.out)
        except OSError as exc:
            raise fs_error(self.out, exc, "cannot move the results into") from None
        self._release()
        return self.out

    def keep_as(self, name: str) -> Path:
        """Move the work directory to a visible name beside ``out`` (a result that must not be lost)."""
        for n in range(100):
            candidate = self.out.parent / (name if n == 0 else f"{name}-{n}")
            if candidate.exists():
                continue
            with contextlib.suppress(OSError):
                (self.path / LOCK_NAME).unlink()
                self.path.rename(candidate)
                self._release()
                return candidate
        return self.path

    def discard(self) -> None:
        """Remove the work directory, unless it was committed or kept."""
        if self._lock_fd is None:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        self._release()

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def files_in(directory: Path) -> list[str]:
    """The names a run wrote into its work directory (what the marker lists)."""
    return sorted(p.name for p in directory.iterdir() if p.name not in (MARKER, LOCK_NAME))


@contextlib.contextmanager
def work_dir(out: Path, *, command: str, force: bool) -> Iterator[WorkDir]:
    with WorkDir(out, command=command, force=force) as work:
        yield work
