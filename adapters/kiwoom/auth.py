"""Kiwoom's access token (``au10001``), cached on disk and reused until shortly before it ends.

A token lasts about 24 h and ends at ``expires_dt`` (``YYYYMMDDHHMMSS``, KST). Each issuance is a
request the broker counts, so the token is kept in a file of the directory the constructor is given
(the daemon's state directory), one file per environment and app key, written atomically (a temporary
file, fsync, rename) with mode 0600, and read back at start: a restart reuses it. A token is used until
``margin_s`` before it ends; then, or when Kiwoom refuses it (8005 or HTTP 401), a new one is issued,
once: a token refused right after its issuance means the key or the environment is wrong, and the
REST client halts (:mod:`adapters.kiwoom.rest`).

The file holds the token and its end, nothing else (the app key only as a hash in the file's name);
a secret never reaches a log or the journal.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Final

import msgspec

from adapters.kiwoom.errors import KiwoomTokenCacheError
from adapters.kiwoom.parsers import KST
from adapters.venue_errors import VenueMessageError

__all__ = ["CachedToken", "TokenCache", "expires_ns"]

DEFAULT_MARGIN_S: Final = 600.0


class CachedToken(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    expires_dt: str  # as Kiwoom wrote it, KST
    expires_ns: int  # the same instant, UTC epoch ns


def expires_ns(expires_dt: str) -> int:
    """``YYYYMMDDHHMMSS`` in KST → UTC epoch ns; anything else is VT800."""
    text = expires_dt.strip()
    try:
        if len(text) != 14 or not text.isdigit():
            raise ValueError(text)
        at = datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=KST)
    except ValueError:
        raise VenueMessageError(f"kiwoom token expires_dt {expires_dt!r} is not YYYYMMDDHHMMSS") from None
    return int(at.timestamp()) * 1_000_000_000


class TokenCache:
    """The token of one app key in one environment; ``directory`` None keeps it in memory only."""

    def __init__(
        self,
        directory: Path | str | None,
        app_key: str,
        environment: str,
        *,
        margin_s: float = DEFAULT_MARGIN_S,
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        digest = hashlib.sha256(app_key.encode()).hexdigest()[:16]
        self.path = (
            None if directory is None else Path(directory) / f"kiwoom-token-{environment}-{digest}.json"
        )
        self.margin_ns = int(margin_s * 1_000_000_000)
        self._now_ns = now_ns
        self._token: CachedToken | None = None
        self._loaded = False
        self.issued = 0  # tokens stored since this cache was made (tests count issuances)

    def current(self) -> str | None:
        """The token to use now, from memory or the file; None when there is none still fresh."""
        if not self._loaded:
            self._loaded = True
            self._token = self._read()
        token = self._token
        if token is None or self._now_ns() >= token.expires_ns - self.margin_ns:
            return None
        return token.token

    def store(self, token: str, expires_dt: str) -> CachedToken:
        """Keep a freshly issued token, in memory and (atomically, 0600) on disk."""
        cached = CachedToken(token=token, expires_dt=expires_dt, expires_ns=expires_ns(expires_dt))
        self._token = cached
        self._loaded = True
        self.issued += 1
        if self.path is not None:
            self._write(cached)
        return cached

    def discard(self, token: str) -> None:
        """Kiwoom refused ``token``: never use it again (nor the file's copy of it)."""
        if self._token is not None and self._token.token == token:
            self._token = None
            if self.path is not None:
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()

    def _read(self) -> CachedToken | None:
        if self.path is None:
            return None
        try:
            return msgspec.json.decode(self.path.read_bytes(), type=CachedToken)
        except (OSError, msgspec.DecodeError):
            return None  # no file, or a torn one: a new token is issued and the file rewritten

    def _write(self, cached: CachedToken) -> None:
        assert self.path is not None
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.fchmod(fd, 0o600)  # a leftover temporary file keeps its old mode otherwise
                os.write(fd, msgspec.json.encode(cached))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            raise KiwoomTokenCacheError(f"kiwoom token cache {self.path}: {exc.strerror or exc}") from exc
