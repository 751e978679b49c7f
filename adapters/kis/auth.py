"""KIS access tokens and WebSocket approval keys, issued sparingly.

KIS issues an access token (``POST /oauth2/tokenP``) for a day, notifies the user of every issuance
and refuses a second request within a minute (HTTP 403 ``EGW00133``). So:

* a token is cached on disk in the directory the caller gives (the daemon's state directory), one
  file per environment and app key (the key's SHA-256 prefix names it, never the key), mode 0600,
  written atomically (a temporary file, fsync, rename), and reused across restarts until
  :data:`REFRESH_BEFORE_S` before it expires;
* a token is requested at most once a minute (:data:`MIN_REISSUE_S`, counted from the last request,
  which the cache file also records, so a restart loop does not bypass it); a request inside that
  minute, or KIS's ``EGW00133``, raises :class:`~adapters.kis.errors.KisTokenError` (VT980) at
  once: nothing waits or retries in a loop;
* :meth:`KisAuth.invalidate` drops a token KIS called expired or invalid (``EGW00123``/``EGW00121``);
  the REST client then asks for a new one once;
* the WebSocket approval key (``POST /oauth2/Approval``, body field ``secretkey``) is kept in memory.

Secrets are never logged: the errors name the endpoint and KIS's code, not the body sent.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

import msgspec

from adapters.kis.config import PATHS, KisConfig
from adapters.kis.errors import KisTokenError
from adapters.kis.parsers import decode
from adapters.kis.schemas import ApprovalAnswer, TokenAnswer
from adapters.transport import RateBudget

__all__ = ["MIN_REISSUE_S", "REFRESH_BEFORE_S", "CachedToken", "KisAuth", "Poster"]

#: a cached token is replaced this long before KIS's expiry
REFRESH_BEFORE_S: Final = 600.0
#: KIS's reissue limit: at most one token request a minute
MIN_REISSUE_S: Final = 60.0

Poster = Callable[[str, bytes], Awaitable[tuple[int, bytes]]]
"""Sends a JSON body to a path (no auth headers), returns (HTTP status, body)."""


class CachedToken(msgspec.Struct, frozen=True, kw_only=True):
    """The cache file's content."""

    access_token: str = ""
    expires_at: float = 0.0  # epoch seconds
    requested_at: float = 0.0  # epoch seconds of the last token request, answered or not


class KisAuth:
    """Tokens for one app key in one environment. ``cache_dir`` None keeps them in memory only."""

    def __init__(
        self,
        config: KisConfig,
        app_key: str,
        app_secret: str,
        post: Poster,
        *,
        cache_dir: Path | None = None,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._key = app_key
        self._secret = app_secret
        self._post = post
        self._wall = wall
        self._cache: CachedToken = CachedToken()
        self.path: Path | None = None
        if cache_dir is not None:
            digest = hashlib.sha256(app_key.encode()).hexdigest()[:16]
            self.path = cache_dir / f"kis-token-{config.service}-{digest}.json"
        self._loaded = False
        self._approval: str | None = None
        #: tokenP and Approval are limited to 1/s by KIS
        self.budget = RateBudget("kis oauth", limit=1, window_s=1.1, clock=monotonic)
        self.issued = 0

    # ── access token ──

    async def token(self) -> str:
        """A valid access token: the cached one, else a new one (at most one request a minute)."""
        self._load()
        now = self._wall()
        if self._cache.access_token and now < self._cache.expires_at - REFRESH_BEFORE_S:
            return self._cache.access_token
        since = now - self._cache.requested_at
        if since < MIN_REISSUE_S:
            raise KisTokenError(
                f"kis token: requested {since:.0f} s ago; KIS issues at most one a minute",
                hint="Wait a minute; the token cache in the state directory is reused after that.",
            )
        self._store(msgspec.structs.replace(self._cache, requested_at=now))
        await self.budget.take(1, timeout=2.0)
        body = msgspec.json.encode(
            {"grant_type": "client_credentials", "appkey": self._key, "appsecret": self._secret}
        )
        status, raw = await self._post(PATHS["token"], body)
        answer = decode(raw, TokenAnswer, "tokenP answer")
        code = answer.error_code or answer.msg_cd
        if status != 200 or not answer.access_token:
            raise KisTokenError(
                f"kis tokenP refused: http={status} code={code or '-'} "
                f"{answer.error_description or answer.msg1}",
                hint="EGW00133: wait a minute; EGW00103/EGW00105: check the app key and secret.",
            )
        expires_at = now + answer.expires_in if answer.expires_in > 0 else now + 86_400.0
        self.issued += 1
        self._store(CachedToken(access_token=answer.access_token, expires_at=expires_at, requested_at=now))
        return answer.access_token

    def invalidate(self, token: str) -> None:
        """KIS called ``token`` expired or invalid: drop it (the next :meth:`token` asks once)."""
        self._load()
        if self._cache.access_token == token:
            self._store(msgspec.structs.replace(self._cache, access_token="", expires_at=0.0))

    # ── WebSocket approval key ──

    async def approval_key(self) -> str:
        if self._approval is not None:
            return self._approval
        await self.budget.take(1, timeout=2.0)
        body = msgspec.json.encode(
            {"grant_type": "client_credentials", "appkey": self._key, "secretkey": self._secret}
        )
        status, raw = await self._post(PATHS["approval"], body)
        answer = decode(raw, ApprovalAnswer, "Approval answer")
        if status != 200 or not answer.approval_key:
            raise KisTokenError(
                f"kis Approval refused: http={status} code={answer.error_code or answer.msg_cd or '-'}",
                hint="Check the app key and secret of this environment.",
            )
        self._approval = answer.approval_key
        return answer.approval_key

    def forget_approval(self) -> None:
        self._approval = None

    # ── the cache file ──

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self.path is None:
            return
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError:
            return  # an unreadable cache is no cache: a token is requested (within the limit)
        with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
            self._cache = msgspec.json.decode(raw, type=CachedToken)

    def _store(self, cache: CachedToken) -> None:
        self._cache = cache
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # an old temporary file keeps its mode through O_CREAT
            os.write(fd, msgspec.json.encode(cache))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
