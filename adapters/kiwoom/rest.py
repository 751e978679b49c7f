"""The Kiwoom REST client: every call a POST with a JSON body on one aiohttp session, under a timeout,
a client-side rate limit per api-id, with the token of :mod:`adapters.kiwoom.auth` and ``cont-yn`` /
``next-key`` paging.

What a caller sees:

* the decoded body of an answer with ``return_code`` 0, and the paging of the next page
  (:class:`Page`: ``cont-yn: Y`` and the ``next-key`` to echo);
* :class:`KiwoomOutcomeUnknown` (VT803, outcome ``unknown``) when the request may or may not have
  been executed: a lost connection, a 5xx, a body that is not Kiwoom's, a code not in the table;
  :class:`KiwoomTimeout` is the same for a request whose timeout expired, and a :class:`TimeoutError`;
* :class:`~adapters.kiwoom.errors.KiwoomRequestError` (VT803) for every other refusal, after acting
  on it: ``back_off`` (1700, 1687, HTTP 429) pauses the api-id's limiter, and a read
  (``retry_back_off``) is sent again after the wait, at most twice; ``halt`` halts the client, so
  every later request raises :class:`~adapters.venue_errors.VenueHaltedError` (VT806) unsent;
* HTTP 401 or 8005 (the token refused): the token is discarded, a new one issued and the request
  sent again, once (the refused request was not processed); refused again, the client halts
  (VT806 naming the reissue);
* :class:`~adapters.venue_errors.RateBudgetError` (VT810) when the limiter has no room within
  ``budget_wait_s`` (nothing was sent).

The limiter: ``rate_burst`` requests per ``rate_burst / rate_per_s`` seconds per api-id (default 2
per 2 s: about 1/s sustained with a burst of 2, which is what has been measured; Kiwoom publishes no
numbers).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, TypeVar

import aiohttp
import msgspec

from adapters.kiwoom.auth import TokenCache
from adapters.kiwoom.config import TOKEN_PATH, KiwoomConfig
from adapters.kiwoom.errors import KiwoomAuthError, KiwoomRequestError, needs_new_token
from adapters.kiwoom.schemas import Envelope, TokenAnswer
from adapters.transport import RateBudget
from adapters.venue_errors import Outcome, VenueHaltedError

__all__ = ["KiwoomOutcomeUnknown", "KiwoomRest", "KiwoomTimeout", "Page"]

_E = TypeVar("_E", bound=Envelope)
VENUE: Final = "kiwoom"
TOKEN_API: Final = "au10001"  # noqa: S105 - an api-id, not a secret
_BACK_OFF_S: Final = 1.0  # Kiwoom says nothing of when a 1700 lifts; its window is about a second
_READ_RETRIES: Final = 2


class KiwoomOutcomeUnknown(KiwoomRequestError):
    """The request may or may not have been executed: query, never resend."""

    def __init__(self, http_status: int | None, return_code: int | None, msg: str) -> None:
        super().__init__(http_status, return_code, msg)
        self.outcome = Outcome.UNKNOWN


class KiwoomTimeout(KiwoomOutcomeUnknown, TimeoutError):
    """No answer within the request's timeout: the outcome is unknown."""

    def __init__(self, msg: str) -> None:
        KiwoomOutcomeUnknown.__init__(self, None, None, msg)


class Page(msgspec.Struct, frozen=True):
    """The paging headers of an answer: more pages when ``more``; echo ``next_key`` to get the next."""

    more: bool = False
    next_key: str = ""


class KiwoomRest:
    """One app key's REST client. ``token_dir`` is where the token is cached (None: memory only)."""

    def __init__(
        self,
        config: KiwoomConfig,
        app_key: str,
        secret: str,
        *,
        token_dir: Path | str | None = None,
        timeout_s: float = 5.0,
        budget_wait_s: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self.base = config.endpoints().rest
        self.timeout_s = timeout_s
        self.budget_wait_s = budget_wait_s
        self._key = app_key
        self._secret = secret
        self._monotonic = monotonic
        self.tokens = TokenCache(token_dir, app_key, config.environment, now_ns=now_ns)
        self._session: aiohttp.ClientSession | None = None
        self._token_lock = asyncio.Lock()
        self.budgets: dict[str, RateBudget] = {}
        self.halted: str | None = None
        self.requests: list[str] = []  # api-ids in the order sent (tests count them)

    # ── lifecycle ──

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s), raise_for_status=False
            )

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def halt(self, reason: str) -> None:
        """Send nothing more: every later request raises VenueHaltedError (VT806) at once."""
        self.halted = reason
        for budget in self.budgets.values():
            budget.halt(reason)

    def budget(self, api_id: str) -> RateBudget:
        budget = self.budgets.get(api_id)
        if budget is None:
            window = self.config.rate_burst / self.config.rate_per_s
            budget = RateBudget(
                f"{VENUE} {api_id}", limit=self.config.rate_burst, window_s=window, clock=self._monotonic
            )
            if self.halted is not None:
                budget.halt(self.halted)
            self.budgets[api_id] = budget
        return budget

    # ── the token ──

    async def token(self) -> str:
        """The token in use: the cached one while fresh, else a new one (``au10001``)."""
        async with self._token_lock:
            current = self.tokens.current()
            if current is not None:
                return current
            body = {"grant_type": "client_credentials", "appkey": self._key, "secretkey": self._secret}
            try:
                answer, _ = await self._send(TOKEN_PATH, TOKEN_API, body, TokenAnswer, token=None)
            except KiwoomRequestError as refusal:
                if refusal.outcome is Outcome.HALT:
                    reason = f"token refused: {refusal.return_msg or refusal.http_status}"
                    self.halt(reason)
                    raise KiwoomAuthError(f"kiwoom: {reason}; trading stops") from None
                raise
            if not answer.token:
                raise KiwoomOutcomeUnknown(None, answer.return_code, "au10001 answered without a token")
            self.tokens.store(answer.token, answer.expires_dt)
            return answer.token

    # ── requests ──

    async def call(
        self,
        path: str,
        api_id: str,
        body: Mapping[str, object],
        answer_type: type[_E],
        *,
        next_key: str | None = None,
        retry_back_off: bool = False,
    ) -> tuple[_E, Page]:
        """``POST path`` as ``api_id``; ``next_key`` asks for the page after the one that gave it.

        ``retry_back_off`` (reads only): a 1700 is sent again after the limiter's wait, at most twice.
        """
        tries = _READ_RETRIES if retry_back_off else 0
        reissued = False
        while True:
            token = await self.token()
            try:
                return await self._send(path, api_id, body, answer_type, token=token, next_key=next_key)
            except KiwoomRequestError as refusal:
                if needs_new_token(refusal.http_status, refusal.return_code, refusal.return_msg):
                    if reissued:
                        reason = (
                            f"token refused again right after its reissue "
                            f"({refusal.return_msg or 'HTTP 401'}):"
                            " check the app key, its environment (real/mock) and its registered IP"
                        )
                        self.halt(reason)
                        raise VenueHaltedError(VENUE, reason) from None
                    reissued = True
                    self.tokens.discard(token)
                    continue
                if refusal.outcome is Outcome.BACK_OFF and tries > 0:
                    tries -= 1
                    continue  # the limiter was paused by _send: the next take waits it out
                raise

    async def _send(
        self,
        path: str,
        api_id: str,
        body: Mapping[str, object],
        answer_type: type[_E],
        *,
        token: str | None,
        next_key: str | None = None,
    ) -> tuple[_E, Page]:
        if self.halted is not None:
            raise VenueHaltedError(VENUE, self.halted)
        if self._session is None:
            await self.start()
        assert self._session is not None
        budget = self.budget(api_id)
        await budget.take(1, timeout=self.budget_wait_s)
        headers = {"Content-Type": "application/json;charset=UTF-8", "api-id": api_id}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        if next_key:
            headers["cont-yn"] = "Y"
            headers["next-key"] = next_key
        raw_body = msgspec.json.encode(body)
        self.requests.append(api_id)
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self._session.post(self.base + path, data=raw_body, headers=headers) as resp:
                    status = resp.status
                    more = resp.headers.get("cont-yn", "N").strip().upper() == "Y"
                    key = resp.headers.get("next-key", "").strip()
                    raw = await resp.read()
        except TimeoutError:
            raise KiwoomTimeout(f"{api_id} {path}: no answer within {self.timeout_s:g} s") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise KiwoomOutcomeUnknown(None, None, f"{api_id} {path}: connection failed: {exc!r}") from None
        try:
            answer = msgspec.json.decode(raw, type=answer_type)
        except msgspec.DecodeError:
            # not Kiwoom's body (a proxy's page, an empty 503): the status alone decides
            text = raw[:200].decode("utf-8", "replace")
            refusal = KiwoomRequestError(status, None, f"HTTP {status}: {text}")
            self._act_on(refusal, budget)
            if refusal.outcome is Outcome.UNKNOWN or status == 200:
                raise KiwoomOutcomeUnknown(status, None, refusal.return_msg) from None
            raise refusal from None
        if status == 200 and answer.return_code in (0, None):
            return answer, Page(more=more and bool(key), next_key=key)
        refusal = KiwoomRequestError(status, answer.return_code, answer.return_msg)
        self._act_on(refusal, budget)
        if refusal.outcome is Outcome.UNKNOWN:
            raise KiwoomOutcomeUnknown(status, answer.return_code, answer.return_msg)
        raise refusal

    def _act_on(self, refusal: KiwoomRequestError, budget: RateBudget) -> None:
        if needs_new_token(refusal.http_status, refusal.return_code, refusal.return_msg):
            return  # call() reissues the token once before anything halts
        if refusal.outcome is Outcome.BACK_OFF:
            refusal.retry_after_s = _BACK_OFF_S
            budget.pause(_BACK_OFF_S)
        elif refusal.outcome is Outcome.HALT:
            self.halt(f"return_code={refusal.return_code} http={refusal.http_status}: {refusal.return_msg}")
