"""The Binance REST client: one aiohttp session per market (spot ``/api/v3``, USD-M ``/fapi``),
signed requests, a rate budget, the venue clock, and every failure classified.

What a request goes through, in order:

1. **The rate budget** (:class:`~adapters.transport.RateBudget`, one per market): the endpoint's
   published weight is taken before anything is sent, waiting for room at most ``budget_wait_s``
   (else :class:`~adapters.venue_errors.RateBudgetError`, VT810, nothing sent). A halted budget raises
   :class:`~adapters.venue_errors.VenueHaltedError` (VT806) at once: a banned IP is not hammered.
2. **Signing** (signed endpoints): ``recvWindow`` and ``timestamp`` (the local clock corrected by the
   offset measured from the venue's time endpoint) are appended and the HMAC is taken over the exact
   bytes sent: the query string of a GET/DELETE, the form body of a POST/PUT.
3. **One bounded attempt** under ``asyncio.timeout``. Nothing here retries: a retry of a create is the
   one thing that must never happen blindly, and a read is retried by its caller.
4. **The answer**: ``X-MBX-USED-WEIGHT-1M`` corrects the budget (other processes may share the IP);
   an error is classified by Binance's code first (:func:`adapters.binance.errors.classify`):

   * 429 → the budget pauses for ``Retry-After``; :class:`VenueRequestError` with outcome ``back_off``;
   * 418, 403 and every ``halt`` code (-2015 key, -1022 signature...) → the budget halts with the
     reason; this request raises :class:`VenueRequestError` (``halt``), every later one
     :class:`VenueHaltedError` without touching the network;
   * -1021 (timestamp outside the receive window) → the clock offset is measured again, then
     :class:`VenueRequestError` with outcome ``clock``: the caller queries, never resends (a signed
     GET, a read, is sent once more on the new offset);
   * a timeout (:class:`RequestTimeoutError`, also a :class:`TimeoutError`), a lost connection or a
     5xx, and any code classified ``unknown`` (-1007...) → :class:`OutcomeUnknownError`: the request
     may or may not have been executed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Final, Literal

import aiohttp
import msgspec
from yarl import URL

from adapters.binance.config import BinanceConfig
from adapters.binance.errors import VenueRequestError, banned_until_ms
from adapters.binance.parsers import error_body
from adapters.binance.schemas import ServerTime
from adapters.binance.signing import API_KEY_HEADER, encode_params, signed_params
from adapters.transport import ClockOffset, RateBudget
from adapters.venue_errors import Outcome, RateBudgetError, VenueHaltedError, VenueMessageError

__all__ = [
    "BUDGET_LIMITS",
    "BinanceRest",
    "Market",
    "OutcomeUnknownError",
    "Params",
    "RequestTimeoutError",
    "weight_of",
]

Market = Literal["spot", "usdm"]
Params = Sequence[tuple[str, str | int]]

#: request weight per minute per IP (spot ``rateLimits`` REQUEST_WEIGHT; USD-M the same)
BUDGET_LIMITS: Final[Mapping[Market, int]] = {"spot": 6000, "usdm": 2400}
USED_WEIGHT_HEADER: Final = "X-MBX-USED-WEIGHT-1M"
#: how often the venue's clock is measured again (one request of weight 1)
CLOCK_RESYNC_S: Final = 10.0

# Published weights (binance-spot-api-docs rest-api.md; developers.binance.com USD-M). USD-M order
# placement weighs 0 on the IP limit: it counts only toward the order-count limits.
_WEIGHTS: Final[Mapping[Market, Mapping[tuple[str, str], int]]] = {
    "spot": {
        ("GET", "/api/v3/ping"): 1,
        ("GET", "/api/v3/time"): 1,
        ("GET", "/api/v3/exchangeInfo"): 20,
        ("POST", "/api/v3/order"): 1,
        ("DELETE", "/api/v3/order"): 1,
        ("GET", "/api/v3/order"): 4,
        ("GET", "/api/v3/openOrders"): 6,
        ("GET", "/api/v3/myTrades"): 20,
        ("GET", "/api/v3/account"): 20,
        ("POST", "/api/v3/userDataStream"): 2,
        ("PUT", "/api/v3/userDataStream"): 2,
        ("DELETE", "/api/v3/userDataStream"): 2,
    },
    "usdm": {
        ("GET", "/fapi/v1/ping"): 1,
        ("GET", "/fapi/v1/time"): 1,
        ("GET", "/fapi/v1/exchangeInfo"): 1,
        ("POST", "/fapi/v1/order"): 0,
        ("DELETE", "/fapi/v1/order"): 1,
        ("GET", "/fapi/v1/order"): 1,
        ("GET", "/fapi/v1/openOrders"): 1,
        ("GET", "/fapi/v1/userTrades"): 5,
        ("GET", "/fapi/v2/account"): 5,
        ("GET", "/fapi/v2/balance"): 5,
        ("GET", "/fapi/v2/positionRisk"): 5,
        ("POST", "/fapi/v1/listenKey"): 1,
        ("PUT", "/fapi/v1/listenKey"): 1,
        ("DELETE", "/fapi/v1/listenKey"): 1,
    },
}

_SPOT_DEPTH: Final = ((100, 5), (500, 25), (1000, 50), (5000, 250))
_USDM_DEPTH: Final = ((50, 2), (100, 5), (500, 10), (1000, 20))
_TIME: Final = msgspec.json.Decoder(ServerTime)


def weight_of(market: Market, method: str, path: str, params: Params = ()) -> int:
    """The published weight of a request; an endpoint not in the table counts 1."""
    names = {k for k, _ in params}
    if path.endswith("/openOrders") and "symbol" not in names:
        return 80 if market == "spot" else 40  # every symbol at once
    if path.endswith("/myTrades") and "orderId" in names:
        return 5
    if path.endswith("/depth"):
        limit = next((int(v) for k, v in params if k == "limit"), 100)
        for top, weight in _SPOT_DEPTH if market == "spot" else _USDM_DEPTH:
            if limit <= top:
                return weight
        return 250 if market == "spot" else 20
    return _WEIGHTS[market].get((method, path), 1)


class OutcomeUnknownError(VenueRequestError):
    """The request may or may not have been executed: a timeout, a lost connection, a 5xx, or a code
    Binance documents as "status unknown" (-1007, -1006...). An order is then queried by its client
    id, never sent again."""

    def __init__(
        self, http_status: int | None, venue_code: int | None, venue_msg: str = "", *, cause: str = ""
    ) -> None:
        super().__init__(http_status, venue_code, venue_msg or cause)
        self.outcome = Outcome.UNKNOWN
        self.cause = cause or venue_msg


class RequestTimeoutError(OutcomeUnknownError, TimeoutError):
    """No answer within the request's timeout (a :class:`TimeoutError` too, as the ports require of a
    read that timed out)."""


class BinanceRest:
    """REST requests to one Binance market.

    ``budget`` and ``clock`` may be shared by several clients of the same market and IP (the venue
    counts weight per IP); by default each client has its own. ``api_key``/``api_secret`` are needed
    only for signed and keyed endpoints.
    """

    def __init__(
        self,
        config: BinanceConfig,
        market: Market,
        *,
        api_key: str = "",
        api_secret: str = "",
        timeout_s: float = 5.0,
        budget_wait_s: float = 5.0,
        budget: RateBudget | None = None,
        clock: ClockOffset | None = None,
    ) -> None:
        self.config = config
        self.market: Market = market
        self.base_url = config.urls.spot_rest if market == "spot" else config.urls.usdm_rest
        self.prefix = "/api/v3" if market == "spot" else "/fapi/v1"
        self._api_key = api_key
        self._api_secret = api_secret
        self.timeout_s = timeout_s
        self.budget_wait_s = budget_wait_s
        self.budget = budget or RateBudget(f"binance-{market}", limit=BUDGET_LIMITS[market], window_s=60.0)
        self.clock = clock or ClockOffset()
        self._session: aiohttp.ClientSession | None = None
        #: how many requests went out (after the budget let them): tests and metrics
        self.sent = 0
        #: seconds between two measurements of the venue's clock once it has been measured: a skew
        #: that came and went must not leave a stale offset (and /readyz false) until a request
        #: happens to be refused for it
        self.clock_resync_s = CLOCK_RESYNC_S
        self._clock_task: asyncio.Task[None] | None = None

    @property
    def venue(self) -> str:
        return f"binance-{self.market}"

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # one session, one connection pool; the timeout is ours (asyncio.timeout), not aiohttp's
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        return self._session

    async def close(self) -> None:
        task, self._clock_task = self._clock_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def _keep_clock(self) -> None:
        while True:
            await asyncio.sleep(self.clock_resync_s)
            # a failed measurement keeps the last offset; the next one, or a refusal, tries again
            with contextlib.suppress(VenueRequestError, VenueMessageError, VenueHaltedError, RateBudgetError):
                await self.sync_time()

    async def sync_time(self) -> int:
        """Measure the venue's clock offset from its time endpoint; returns the offset in ms. From the
        first call on, the offset is measured again every :attr:`clock_resync_s` until :meth:`close`."""
        if self._clock_task is None or self._clock_task.done():
            self._clock_task = asyncio.get_running_loop().create_task(
                self._keep_clock(), name=f"{self.venue}-clock"
            )
        sent = self.clock.local_ms()
        body = await self.request("GET", f"{self.prefix}/time")
        received = self.clock.local_ms()
        try:
            server = _TIME.decode(body).server_time
        except msgspec.DecodeError as exc:
            raise VenueMessageError(f"{self.venue} time answer malformed ({exc}): {body[:200]!r}") from None
        self.clock.update(server, sent, received)
        return self.clock.offset_ms

    async def request(
        self,
        method: str,
        path: str,
        params: Params = (),
        *,
        signed: bool = False,
        keyed: bool = False,
        weight: int | None = None,
        timeout_s: float | None = None,
    ) -> bytes:
        """The body of a successful answer; see the module doc for every failure."""
        try:
            return await self._send(method, path, params, signed, keyed, weight, timeout_s)
        except VenueRequestError as refusal:
            if not (signed and method == "GET" and refusal.outcome is Outcome.CLOCK):
                raise
        # a read refused for its timestamp changed nothing at the venue, and the clock has just been
        # measured again (_refusal): once more, so a skew does not fail reconciliation
        return await self._send(method, path, params, signed, keyed, weight, timeout_s)

    async def _send(  # noqa: PLR0917 - request()'s own arguments, passed on
        self,
        method: str,
        path: str,
        params: Params,
        signed: bool,
        keyed: bool,
        weight: int | None,
        timeout_s: float | None,
    ) -> bytes:
        cost = weight_of(self.market, method, path, params) if weight is None else weight
        await self.budget.take(cost, timeout=self.budget_wait_s)
        if signed:
            payload = signed_params(
                params,
                secret=self._api_secret,
                timestamp_ms=self.clock.now_ms(),
                recv_window_ms=self.config.recv_window_ms,
            )
        else:
            payload = encode_params(params)
        headers: dict[str, str] = {}
        if signed or keyed:
            headers[API_KEY_HEADER] = self._api_key
        data: bytes | None = None
        target = f"{self.base_url}{path}"
        if method in ("POST", "PUT") and payload:
            data = payload.encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif payload:
            target = f"{target}?{payload}"
        # encoded=True: the signature is over these exact bytes, so nothing may requote them
        url = URL(target, encoded=True)
        self.sent += 1
        try:
            async with asyncio.timeout(self.timeout_s if timeout_s is None else timeout_s):
                async with self._http().request(method, url, data=data, headers=headers) as resp:
                    status = resp.status
                    answer_headers = resp.headers
                    body = await resp.read()
        except TimeoutError:
            raise RequestTimeoutError(
                None, None, cause=f"{method} {path}: no answer within the timeout"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise OutcomeUnknownError(
                None, None, cause=f"{method} {path}: connection lost ({type(exc).__name__}: {exc})"
            ) from None
        used = answer_headers.get(USED_WEIGHT_HEADER)
        if used is not None and used.isdigit():
            self.budget.observe_used(int(used))
        if 200 <= status < 300:
            return body
        raise await self._refusal(method, path, status, answer_headers, body)

    async def _refusal(
        self, method: str, path: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> VenueRequestError:
        err = error_body(body)
        code, msg = (err.code, err.msg) if err is not None else (None, body[:200].decode("utf-8", "replace"))
        if status >= 500:
            return OutcomeUnknownError(status, code, msg, cause=f"{method} {path}: HTTP {status}")
        refusal = VenueRequestError(status, code, msg)
        retry_after = _seconds(headers.get("Retry-After"))
        if status == 429 or refusal.outcome is Outcome.BACK_OFF:
            refusal.outcome = Outcome.BACK_OFF
            # a 429 without Retry-After still means "not now": a second is the shortest honest wait
            pause = retry_after if retry_after is not None else (1.0 if status == 429 else None)
            if pause is not None:
                refusal.retry_after_s = pause
                self.budget.pause(pause)
        elif refusal.outcome is Outcome.HALT or status in (403, 418):
            refusal.outcome = Outcome.HALT
            until = banned_until_ms(msg)
            reason = f"HTTP {status}, code {code}: {msg}" + (f" (banned until {until} ms)" if until else "")
            self.budget.halt(reason)
        elif refusal.outcome is Outcome.CLOCK:
            # the caller queries the order anyway; if this fails the next -1021 tries again
            with contextlib.suppress(VenueRequestError, TimeoutError, VenueMessageError):
                await self.sync_time()
        elif refusal.outcome is Outcome.UNKNOWN:
            return OutcomeUnknownError(status, code, msg, cause=f"{method} {path}: code {code}")
        return refusal


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
