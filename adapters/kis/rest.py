"""The KIS REST client: one aiohttp session, every request under a timeout and a client-side rate
budget, the access token from :class:`~adapters.kis.auth.KisAuth`, every answer classified.

Headers on every call: ``content-type``, ``authorization: Bearer``, ``appkey``, ``appsecret``,
``tr_id``, ``custtype: P`` and ``tr_cont`` (empty, or ``N`` for the next page). Limits
(:data:`RATE_PER_S`): 18 requests a second on a real account, 1 on a mock one; the token endpoints
have their own 1/s budget in :class:`~adapters.kis.auth.KisAuth`.

What a caller sees:

* the decoded answer when ``rt_cd == "0"``;
* :class:`KisOutcomeUnknown` (VT803, outcome ``unknown``) when the request may or may not have been
  executed (lost connection, 5xx without a KIS body, a code not in the table); :class:`KisTimeout`
  is the same for an expired timeout and is also a :class:`TimeoutError`, as the ports require;
* :class:`~adapters.kis.errors.KisRequestError` (VT803) for the other refusals, after acting on them:
  ``EGW00201`` (not processed) pauses the budget for a second, then a *read* is sent once more and a
  create is raised (the caller answers it unknown and resolves it by query, never resends it);
  ``EGW00123``/``EGW00121`` drop the token, a read is sent once more with a new one; ``halt`` halts
  the client (:class:`~adapters.venue_errors.VenueHaltedError`, VT806, before anything is sent).
* :class:`~adapters.venue_errors.RateBudgetError` (VT810) when the budget has no room within
  ``budget_wait_s`` (nothing was sent).

Paging (:meth:`KisRest.pages`): the response header ``tr_cont`` ``F``/``M`` means more; the next
request echoes ``CTX_AREA_FK100``/``CTX_AREA_NK100`` with ``tr_cont: N``; ``D``/``E`` is the last.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, TypeVar
from urllib.parse import urlencode

import aiohttp
import msgspec

from adapters.kis.auth import KisAuth
from adapters.kis.config import KisConfig
from adapters.kis.errors import TOKEN_CODES, KisRequestError
from adapters.kis.parsers import decode
from adapters.kis.schemas import Envelope, PagedEnvelope
from adapters.transport import RateBudget
from adapters.venue_errors import Outcome, VenueHaltedError, VenueMessageError

__all__ = ["MAX_PAGES", "RATE_PER_S", "KisOutcomeUnknown", "KisRest", "KisTimeout"]

VENUE: Final = "kis"
#: requests a second per account, by environment (KIS portal, 2026-04)
RATE_PER_S: Final[Mapping[str, int]] = {"real": 18, "mock": 1}
#: the window is counted a little longer than a second: requests sent a second apart can arrive closer
_WINDOW_S: Final = 1.1
#: a bounded walk over pages
MAX_PAGES: Final = 50
_BACK_OFF_S: Final = 1.0

_E = TypeVar("_E", bound=Envelope)


_P = TypeVar("_P", bound=PagedEnvelope)


class KisOutcomeUnknown(KisRequestError):
    """The request may or may not have been executed: query, never resend."""

    def __init__(self, http_status: int | None, msg_cd: str, msg: str) -> None:
        super().__init__(http_status, msg_cd, msg)
        self.outcome = Outcome.UNKNOWN


class KisTimeout(KisOutcomeUnknown, TimeoutError):
    """No answer within the request's timeout."""

    def __init__(self, msg: str) -> None:
        KisOutcomeUnknown.__init__(self, None, "", msg)


class KisRest:
    """One KIS account's REST client. ``close()`` ends the session."""

    def __init__(
        self,
        config: KisConfig,
        app_key: str,
        app_secret: str,
        *,
        cache_dir: Path | None = None,
        timeout_s: float = 5.0,
        budget_wait_s: float = 3.0,
        rate_per_s: int | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.root = config.rest_root
        self.timeout_s = timeout_s
        self.budget_wait_s = budget_wait_s
        self._key = app_key
        self._secret = app_secret
        self._session: aiohttp.ClientSession | None = None
        limit = rate_per_s if rate_per_s is not None else RATE_PER_S[config.service]
        self.budget = RateBudget(
            f"{VENUE} {config.service}", limit=limit, window_s=_WINDOW_S, clock=monotonic
        )
        self.auth = KisAuth(
            config, app_key, app_secret, self._post_plain, cache_dir=cache_dir, wall=wall, monotonic=monotonic
        )
        self.halted: str | None = None
        self.back_offs = 0

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def halt(self, reason: str) -> None:
        self.halted = reason
        self.budget.halt(reason)

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s), raise_for_status=False
            )
        return self._session

    # ── requests ──

    async def get(
        self, path: str, tr: str, params: Mapping[str, str], kind: type[_E], *, tr_cont: str = ""
    ) -> tuple[_E, str]:
        """A read: the answer and the response's ``tr_cont``; sent again once after a token
        refusal or a rate-limit refusal (neither was processed)."""
        return await self._request(
            "GET", path, tr, query=urlencode(dict(params)), body=b"", kind=kind, tr_cont=tr_cont, read=True
        )

    async def post(
        self, path: str, tr: str, body: Mapping[str, str], kind: type[_E], *, read: bool = False
    ) -> _E:
        """A write (an order, a cancel): sent once, whatever happens."""
        raw = msgspec.json.encode(dict(body))
        answer, _ = await self._request(
            "POST", path, tr, query="", body=raw, kind=kind, tr_cont="", read=read
        )
        return answer

    async def pages(self, path: str, tr: str, params: Mapping[str, str], kind: type[_P]) -> list[_P]:
        """Every page of a paged read, following ``tr_cont`` and the ``CTX_AREA_*`` keys."""
        out: list[_P] = []
        ask = {**params, "CTX_AREA_FK100": "", "CTX_AREA_NK100": ""}
        cont = ""
        for _ in range(MAX_PAGES):
            answer, more = await self.get(path, tr, ask, kind, tr_cont=cont)
            out.append(answer)
            if more not in ("F", "M"):
                break
            ask = {**params, "CTX_AREA_FK100": answer.ctx_area_fk100, "CTX_AREA_NK100": answer.ctx_area_nk100}
            cont = "N"
        return out

    async def _post_plain(self, path: str, body: bytes) -> tuple[int, bytes]:
        """The token endpoints: JSON in, (status, body) out, no auth headers."""
        session = self._open()
        try:
            async with asyncio.timeout(self.timeout_s):
                async with session.post(
                    self.root + path, data=body, headers={"content-type": "application/json; charset=utf-8"}
                ) as resp:
                    return resp.status, await resp.read()
        except TimeoutError:
            raise KisTimeout(f"POST {path}: no answer within {self.timeout_s:g} s") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise KisOutcomeUnknown(None, "", f"POST {path}: connection failed: {exc!r}") from None

    async def _request(
        self,
        method: str,
        path: str,
        tr: str,
        *,
        query: str,
        body: bytes,
        kind: type[_E],
        tr_cont: str,
        read: bool,
    ) -> tuple[_E, str]:
        attempts = 2 if read else 1
        for attempt in range(attempts):
            try:
                return await self._send(method, path, tr, query=query, body=body, kind=kind, tr_cont=tr_cont)
            except KisRequestError as refusal:
                last = attempt == attempts - 1
                if refusal.msg_cd in TOKEN_CODES and not last:
                    continue  # the token was dropped; a read goes once more with a new one
                if refusal.outcome is Outcome.BACK_OFF and not last:
                    continue  # not processed; the budget's pause is the wait
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(
        self, method: str, path: str, tr: str, *, query: str, body: bytes, kind: type[_E], tr_cont: str
    ) -> tuple[_E, str]:
        if self.halted is not None:
            raise VenueHaltedError(VENUE, self.halted)
        token = await self.auth.token()
        await self.budget.take(1, timeout=self.budget_wait_s)
        headers = {
            "content-type": "application/json; charset=utf-8",
            "authorization": f"Bearer {token}",
            "appkey": self._key,
            "appsecret": self._secret,
            "tr_id": tr,
            "custtype": "P",
            "tr_cont": tr_cont,
        }
        url = self.root + path + (f"?{query}" if query else "")
        session = self._open()
        try:
            async with asyncio.timeout(self.timeout_s):
                async with session.request(method, url, data=body or None, headers=headers) as resp:
                    status = resp.status
                    more = resp.headers.get("tr_cont", "")
                    raw = await resp.read()
        except TimeoutError:
            raise KisTimeout(f"{method} {path} {tr}: no answer within {self.timeout_s:g} s") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise KisOutcomeUnknown(None, "", f"{method} {path} {tr}: connection failed: {exc!r}") from None
        try:
            answer = decode(raw, kind, f"{tr} answer")
        except VenueMessageError:
            if status != 200:  # a proxy's page, not KIS's body
                raise KisOutcomeUnknown(status, "", f"{method} {path} {tr}: HTTP {status}") from None
            raise
        code = answer.msg_cd or answer.error_code
        if status == 200 and answer.rt_cd == "0":
            return answer, more
        refusal = KisRequestError(status, code, answer.msg1 or answer.error_description, rt_cd=answer.rt_cd)
        if code in TOKEN_CODES:
            self.auth.invalidate(token)
        elif refusal.outcome is Outcome.BACK_OFF:
            self.back_offs += 1
            refusal.retry_after_s = _BACK_OFF_S
            self.budget.pause(_BACK_OFF_S)
        elif refusal.outcome is Outcome.HALT:
            self.halt(f"msg_cd={code} http={status}: {refusal.msg}")
        if refusal.outcome is Outcome.UNKNOWN and code not in TOKEN_CODES:
            raise KisOutcomeUnknown(status, code, refusal.msg)
        raise refusal
