"""The Bybit v5 REST client: signed requests on one aiohttp session, every one under a timeout, a
rate budget per endpoint, the venue clock offset, and every answer classified by its ``retCode``.

What a caller sees:

* the ``result`` of an answer with ``retCode == 0`` (and the server ``time``);
* :class:`BybitOutcomeUnknown` (VT803, outcome ``unknown``) when the request may or may not have
  been executed: a lost connection, a 5xx without a ``retCode``, ``10000``/``10016`` or a code not in
  the table. :class:`BybitTimeout` is the same for a request whose timeout expired, and is also a
  :class:`TimeoutError`, as the ports require of a read;
* :class:`~adapters.bybit.errors.BybitRequestError` (VT803) for every other refusal, its ``outcome``
  from :func:`~adapters.bybit.errors.classify`, after the client has acted on it: ``back_off`` pauses
  the endpoint's budget (``10006``) or every budget (HTTP 403/429, ``10018``) until the reset time;
  ``halt`` halts the client, so every later request raises
  :class:`~adapters.venue_errors.VenueHaltedError` (VT806) before anything is sent; ``clock``
  (``10002``) measures the clock offset again. Nothing is ever resent here: a create is sent once.
* :class:`~adapters.venue_errors.RateBudgetError` (VT810) when the budget has no room within
  ``budget_wait_s`` (nothing was sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Final, TypeVar
from urllib.parse import urlencode

import aiohttp
import msgspec
from yarl import URL

from adapters.bybit.config import BybitConfig
from adapters.bybit.errors import BybitRequestError, back_off_until_ms
from adapters.bybit.parsers import decode_result
from adapters.bybit.schemas import ServerTime
from adapters.bybit.signing import rest_headers
from adapters.transport import ClockOffset, RateBudget
from adapters.venue_errors import Outcome, RateBudgetError, VenueHaltedError, VenueMessageError

__all__ = ["ENDPOINT_LIMITS", "IP_LIMIT", "BybitOutcomeUnknown", "BybitRest", "BybitTimeout"]

_T = TypeVar("_T")
VENUE: Final = "bybit"

#: Bybit's per-UID limits, requests per second, by (category, path); other signed paths get 10/s.
ENDPOINT_LIMITS: Final[Mapping[tuple[str, str], int]] = {
    ("spot", "/order/create"): 20,
    ("linear", "/order/create"): 10,
    ("spot", "/order/cancel"): 20,
    ("linear", "/order/cancel"): 10,
    ("spot", "/order/amend"): 10,
    ("linear", "/order/amend"): 10,
    ("spot", "/order/realtime"): 50,
    ("linear", "/order/realtime"): 50,
    ("spot", "/order/history"): 50,
    ("linear", "/order/history"): 50,
    ("spot", "/execution/list"): 50,
    ("linear", "/execution/list"): 50,
    ("linear", "/position/list"): 50,
    ("", "/account/wallet-balance"): 50,
}
_DEFAULT_LIMIT: Final = 10
#: the per-second windows are counted a little longer here: requests sent a second apart can arrive
#: closer together (connection set-up, scheduling), and the venue counts arrivals
_WINDOW_S: Final = 1.1
#: Bybit's IP limit: 600 requests per 5 seconds over every endpoint (HTTP 403 beyond it).
IP_LIMIT: Final = (600, 5.0)
#: how often the venue's clock is measured again (one public request)
CLOCK_RESYNC_S: Final = 10.0


class BybitOutcomeUnknown(BybitRequestError):
    """The request may or may not have been executed (lost connection, 5xx, 10016): query, never resend."""

    def __init__(self, http_status: int | None, ret_code: int | None, msg: str) -> None:
        super().__init__(http_status, ret_code, msg)
        self.outcome = Outcome.UNKNOWN


class BybitTimeout(BybitOutcomeUnknown, TimeoutError):
    """No answer within the request's timeout: the outcome is unknown."""

    def __init__(self, msg: str) -> None:
        BybitOutcomeUnknown.__init__(self, None, None, msg)


class BybitRest:
    """One Bybit account's REST client. ``start()`` opens the session and syncs the clock; ``close()``
    ends it. ``timeout_s`` bounds every request; ``budget_wait_s`` how long a request may wait for
    room in its rate budget."""

    def __init__(
        self,
        config: BybitConfig,
        api_key: str = "",
        api_secret: str = "",
        *,
        timeout_s: float = 5.0,
        budget_wait_s: float = 2.0,
        clock: ClockOffset | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.base = config.endpoints().rest
        self.timeout_s = timeout_s
        self.budget_wait_s = budget_wait_s
        self.clock = clock or ClockOffset()
        self._key = api_key
        self._secret = api_secret
        self._monotonic = monotonic
        self._session: aiohttp.ClientSession | None = None
        self.budgets: dict[tuple[str, str], RateBudget] = {}
        self.ip_budget = RateBudget(
            f"{VENUE} ip", limit=IP_LIMIT[0], window_s=IP_LIMIT[1] * _WINDOW_S, clock=monotonic
        )
        self.halted: str | None = None
        self.clock_syncs = 0
        #: seconds between two measurements of the venue's clock once it has been measured: a skew
        #: that came and went must not leave a stale offset (and /readyz false) until a request
        #: happens to be refused for it
        self.clock_resync_s = CLOCK_RESYNC_S
        self._clock_task: asyncio.Task[None] | None = None

    # ── lifecycle ──

    async def start(self, *, sync_clock: bool = True) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s), raise_for_status=False
            )
        if sync_clock:
            await self.sync_clock()

    async def close(self) -> None:
        task, self._clock_task = self._clock_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def _keep_clock(self) -> None:
        while True:
            await asyncio.sleep(self.clock_resync_s)
            # a failed measurement keeps the last offset; the next one, or a refusal, tries again
            with contextlib.suppress(
                BybitRequestError, TimeoutError, VenueHaltedError, RateBudgetError, VenueMessageError
            ):
                await self.sync_clock()

    # ── requests ──

    async def sync_clock(self) -> None:
        """Measure the venue clock offset from ``/v5/market/time``; from the first call on, again
        every :attr:`clock_resync_s` until :meth:`close`."""
        if self._clock_task is None or self._clock_task.done():
            self._clock_task = asyncio.get_running_loop().create_task(self._keep_clock(), name="bybit-clock")
        sent = self.clock.local_ms()
        result, env_ms = await self.get("/market/time", {}, ServerTime, signed=False)
        received = self.clock.local_ms()
        server_ms = int(result.timeNano) // 1_000_000 if result.timeNano.isdigit() else env_ms
        if not server_ms and result.timeSecond.isdigit():
            server_ms = int(result.timeSecond) * 1000
        if server_ms:
            self.clock.update(server_ms, sent, received)
            self.clock_syncs += 1

    async def get(
        self,
        path: str,
        params: Mapping[str, str] | Sequence[tuple[str, str]],
        result_type: type[_T],
        *,
        signed: bool = True,
        category: str = "",
    ) -> tuple[_T, int]:
        """``GET /v5{path}?{params}``: the result and the server time (ms)."""
        query = urlencode(list(params.items()) if isinstance(params, Mapping) else list(params))
        try:
            return await self._request("GET", path, query, b"", result_type, signed=signed, category=category)
        except BybitRequestError as refusal:
            if not signed or refusal.outcome is not Outcome.CLOCK:
                raise
        # a read refused for its timestamp changed nothing at the venue, and the clock has just been
        # measured again (_act_on): once more, so a skew does not fail reconciliation
        return await self._request("GET", path, query, b"", result_type, signed=signed, category=category)

    async def post(
        self, path: str, body: Mapping[str, object], result_type: type[_T], *, category: str = ""
    ) -> tuple[_T, int]:
        """``POST /v5{path}`` with a JSON body, signed over the very bytes sent."""
        raw = msgspec.json.encode(body)
        return await self._request("POST", path, "", raw, result_type, signed=True, category=category)

    def budget(self, category: str, path: str) -> RateBudget:
        key = (category, path)
        budget = self.budgets.get(key)
        if budget is None:
            limit = ENDPOINT_LIMITS.get(key, ENDPOINT_LIMITS.get(("", path), _DEFAULT_LIMIT))
            budget = RateBudget(
                f"{VENUE} {category or '-'} {path}", limit=limit, window_s=_WINDOW_S, clock=self._monotonic
            )
            if self.halted is not None:
                budget.halt(self.halted)
            self.budgets[key] = budget
        return budget

    def halt(self, reason: str) -> None:
        """Send nothing more: every later request raises VenueHaltedError (VT806) at once."""
        self.halted = reason
        self.ip_budget.halt(reason)
        for budget in self.budgets.values():
            budget.halt(reason)

    async def _request(
        self,
        method: str,
        path: str,
        query: str,
        body: bytes,
        result_type: type[_T],
        *,
        signed: bool,
        category: str,
    ) -> tuple[_T, int]:
        if self.halted is not None:
            raise VenueHaltedError(VENUE, self.halted)
        if self._session is None:
            await self.start(sync_clock=False)
        assert self._session is not None
        budget = self.budget(category, path) if signed else None
        # the IP budget first: a request the endpoint budget refuses must not spend IP weight either
        await self.ip_budget.take(1, timeout=self.budget_wait_s)
        if budget is not None:
            await budget.take(1, timeout=self.budget_wait_s)
        url = self.base + path + (f"?{query}" if query else "")
        headers: dict[str, str] = {}
        if signed:
            headers.update(
                rest_headers(
                    self._secret,
                    self._key,
                    self.clock.now_ms(),
                    self.config.recv_window_ms,
                    body if method == "POST" else query,
                )
            )
        if method == "POST":
            headers["Content-Type"] = "application/json"
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self._session.request(
                    method, URL(url, encoded=True), data=body or None, headers=headers
                ) as resp:
                    status = resp.status
                    answer_headers = {k: v for k, v in resp.headers.items()}
                    raw = await resp.read()
        except TimeoutError:
            raise BybitTimeout(f"{method} {path}: no answer within {self.timeout_s:g} s") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise BybitOutcomeUnknown(None, None, f"{method} {path}: connection failed: {exc!r}") from None
        if budget is not None:
            self._observe_limits(budget, answer_headers)
        try:
            return decode_result(raw, result_type, status)
        except BybitRequestError as refusal:
            await self._act_on(refusal, budget, answer_headers)
            if refusal.outcome is Outcome.UNKNOWN:
                raise BybitOutcomeUnknown(refusal.http_status, refusal.ret_code, refusal.ret_msg) from None
            raise

    def _observe_limits(self, budget: RateBudget, headers: Mapping[str, str]) -> None:
        lowered = {k.lower(): v for k, v in headers.items()}
        limit_text = lowered.get("x-bapi-limit", "")
        remaining_text = lowered.get("x-bapi-limit-status", "")
        if limit_text.isdigit() and int(limit_text) > 0:
            # the venue knows this UID's limit (VIP tiers raise it): count against the venue's number
            budget.limit = int(limit_text)
        if remaining_text.isdigit():
            budget.observe_used(max(0, budget.limit - int(remaining_text)))

    async def _act_on(
        self, refusal: BybitRequestError, budget: RateBudget | None, headers: Mapping[str, str]
    ) -> None:
        outcome = refusal.outcome
        if outcome is Outcome.BACK_OFF:
            now_ms = self.clock.now_ms()
            until_ms = back_off_until_ms(refusal.http_status, headers, now_ms)
            seconds = max(0.0, (until_ms - now_ms) / 1000.0)
            refusal.retry_after_s = seconds
            if refusal.ret_code in (10006, 110079) and budget is not None:
                budget.pause(seconds)  # a per-UID, per-endpoint limit
            else:
                self.ip_budget.pause(seconds)  # HTTP 403/429, 10018: the whole IP waits
        elif outcome is Outcome.HALT:
            self.halt(f"retCode={refusal.ret_code} http={refusal.http_status}: {refusal.ret_msg}")
        elif outcome is Outcome.CLOCK:
            # a failed resync is not fatal: the next signed request fails the same way and tries again
            with contextlib.suppress(BybitRequestError, TimeoutError, VenueHaltedError):
                await self.sync_clock()
