"""Venue API credentials: where they come from, and a struct that never shows its secret.

A source is one string in the run configuration: ``file:/path`` (a JSON file of mode 0600 or 0400),
``env:PREFIX`` (``PREFIX_API_KEY``, ``PREFIX_API_SECRET``, optional ``PREFIX_ACCOUNT``) or
``systemd:NAME`` (the file NAME in ``$CREDENTIALS_DIRECTORY``, as ``LoadCredential=`` puts it there).
Errors name the source, never a value read from it: an error message ends up in logs and terminals.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import msgspec

from engines.errors import VibeError

__all__ = ["Credentials", "CredentialsError", "check_source", "load_credentials", "parse_source"]

SCHEMES: Final = ("file", "env", "systemd")
#: a credentials file is a few hundred bytes; anything far larger is the wrong file
MAX_FILE_BYTES: Final = 64 * 1024
_ENV_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CredentialsError(VibeError):
    code = "VT910"


class Credentials(msgspec.Struct, frozen=True, kw_only=True):
    """A venue's key pair. ``repr`` and ``str`` show the key's last characters and never the secret,
    so that a struct that reaches a log line or a traceback leaks nothing that signs a request."""

    api_key: str
    api_secret: str
    account: str | None = None
    #: where they were read from, for messages
    source: str = ""

    def __repr__(self) -> str:
        account = "" if self.account is None else ", account=<set>"
        return (
            f"Credentials(source={self.source!r}, api_key={_masked(self.api_key)}{account}, api_secret=***)"
        )

    __str__ = __repr__


def _masked(key: str) -> str:
    # the tail of the key identifies which key is in use without making it usable
    return f"...{key[-4:]}" if len(key) >= 12 else "***"


class _CredentialFile(msgspec.Struct, forbid_unknown_fields=True):
    api_key: str
    api_secret: str
    account: str | None = None


def parse_source(source: str) -> tuple[str, str]:
    """``"env:BINANCE"`` → ``("env", "BINANCE")``; a malformed source raises VT910."""
    scheme, sep, rest = source.partition(":")
    if not sep or scheme not in SCHEMES:
        raise CredentialsError(
            f"credential source {source!r}: must start with file:, env: or systemd:", code="VT910"
        )
    if not rest:
        raise CredentialsError(f"credential source {source!r}: nothing after {scheme}:", code="VT910")
    if scheme == "env" and not _ENV_PREFIX.match(rest):
        raise CredentialsError(
            f"credential source {source!r}: an environment prefix is letters, digits and _",
            code="VT910",
        )
    if scheme == "systemd" and ("/" in rest or rest in (".", "..")):
        raise CredentialsError(
            f"credential source {source!r}: a systemd credential name is a file name, without /",
            code="VT910",
        )
    return scheme, rest


def check_source(source: str) -> None:
    """Syntax only, nothing read: what a paper run (which needs no key) checks."""
    parse_source(source)


def load_credentials(source: str, *, environ: Mapping[str, str] | None = None) -> Credentials:
    """Read the credentials a source names; typed errors (VT910-VT913) name the source only."""
    env = os.environ if environ is None else environ
    scheme, rest = parse_source(source)
    if scheme == "env":
        return _from_env(source, rest, env)
    if scheme == "file":
        return _from_file(source, Path(rest))
    directory = env.get("CREDENTIALS_DIRECTORY")
    if not directory:
        raise CredentialsError(
            f"credential source {source!r}: $CREDENTIALS_DIRECTORY is not set "
            "(systemd sets it for a unit with LoadCredential=)",
            code="VT911",
        )
    return _from_file(source, Path(directory) / rest)


def _from_env(source: str, prefix: str, env: Mapping[str, str]) -> Credentials:
    names = (f"{prefix}_API_KEY", f"{prefix}_API_SECRET")
    missing = [name for name in names if not env.get(name)]
    if missing:
        raise CredentialsError(
            f"credential source {source!r}: {' and '.join(missing)} not set or empty", code="VT911"
        )
    account = env.get(f"{prefix}_ACCOUNT") or None
    return Credentials(api_key=env[names[0]], api_secret=env[names[1]], account=account, source=source)


def _from_file(source: str, path: Path) -> Credentials:
    try:
        # O_NOFOLLOW | O_NONBLOCK: a symlink swapped in, or a FIFO, is refused instead of followed or hung on
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise CredentialsError(f"credential source {source!r}: {path} does not exist", code="VT911") from None
    except OSError as exc:
        raise CredentialsError(
            f"credential source {source!r}: cannot open {path} ({exc.strerror or exc})", code="VT911"
        ) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise CredentialsError(
                f"credential source {source!r}: {path} is not a regular file", code="VT911"
            )
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise CredentialsError(
                f"credential source {source!r}: {path} has mode {mode:04o}, readable by group or others; "
                "it must be 0600 or 0400",
                code="VT912",
            )
        raw = handle.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise CredentialsError(
            f"credential source {source!r}: {path} is larger than {MAX_FILE_BYTES} bytes", code="VT913"
        )
    try:
        content = msgspec.json.decode(raw, type=_CredentialFile)
    except msgspec.ValidationError as exc:
        # msgspec's validation messages name the field and the expected type, never the value
        raise CredentialsError(f"credential source {source!r}: {path}: {exc}", code="VT913") from None
    except msgspec.DecodeError:
        raise CredentialsError(
            f"credential source {source!r}: {path} is not a JSON object", code="VT913"
        ) from None
    empty = [name for name in ("api_key", "api_secret") if not getattr(content, name).strip()]
    if empty:
        raise CredentialsError(f"credential source {source!r}: {' and '.join(empty)} empty", code="VT913")
    return Credentials(
        api_key=content.api_key, api_secret=content.api_secret, account=content.account or None, source=source
    )
