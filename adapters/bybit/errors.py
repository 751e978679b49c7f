"""Typed errors of the Bybit adapter and the classification of Bybit's answers.

Bybit v5 answers business errors with HTTP 200 and a ``retCode`` other than 0, so :func:`classify`
looks at the ``retCode`` first and at the HTTP status only when the body had none (a proxy's 502, a
WAF 403, a timeout with no answer at all). Each answer falls in one :class:`Outcome`, which says
what the caller must do next (DESIGN.md sections 5 and 8):

========== =========================================================================================
REJECTED   final: the venue refused the request; nothing was placed or changed
UNKNOWN    the outcome is unknown: query the order by client id before anything else, never resend
BACK_OFF   rate limited: wait (``X-Bapi-Limit-Reset-Timestamp``, or 10 minutes for HTTP 403), then query
HALT       credentials, signature, permission or IP are wrong: stop trading on this venue, alert
DUPLICATE  the ``orderLinkId`` already exists at the venue: it has the order; query it, don't fail it
CLOCK      the timestamp is outside ``recv_window``: resync the clock offset, then query; never resend
========== =========================================================================================

An unlisted non-zero ``retCode`` is UNKNOWN: a query by client id is never wrong, only slower,
while calling an order rejected that the venue in fact holds would lose track of it.

Error codes (registered in ``engines/errors.py``, shared by every venue): ``VT800`` venue message
malformed, ``VT801`` venue symbol not mapped, ``VT803`` venue refused a request (``retCode`` != 0;
the outcome is on the error), ``VT804`` venue WebSocket refused an operation (``auth``,
``subscribe``), ``VT805`` venue configuration invalid.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from adapters.venue_errors import Outcome, VenueRefusal
from engines.errors import VibeError

__all__ = [
    "BACK_OFF_HTTP_403_MS",
    "RET_CODES",
    "BybitConfigError",
    "BybitRequestError",
    "BybitWsError",
    "back_off_until_ms",
    "classify",
]


_O = Outcome

#: Bybit v5 ``retCode`` → outcome (bybit-exchange/docs ``docs/v5/error.mdx``; ../shared/venues/crypto.md).
RET_CODES: Final[Mapping[int, Outcome]] = {
    0: _O.OK,
    # ── system (10xxx) ──
    10000: _O.UNKNOWN,  # server timeout
    10001: _O.REJECTED,  # request parameter error
    10002: _O.CLOCK,  # request time outside the recv window
    10003: _O.HALT,  # API key invalid
    10004: _O.HALT,  # signature error
    10005: _O.HALT,  # permission denied
    10006: _O.BACK_OFF,  # too many visits: per-UID rate limit (X-Bapi-Limit-Reset-Timestamp)
    10007: _O.HALT,  # authentication failed: api_key missing (ccxt: AuthenticationError)
    10008: _O.HALT,  # common banned: account mode
    10009: _O.HALT,  # IP banned
    10010: _O.HALT,  # unmatched IP: the key is bound to other addresses
    10014: _O.DUPLICATE,  # invalid duplicate request: the first one arrived
    10016: _O.UNKNOWN,  # server error: the order may or may not exist
    10017: _O.HALT,  # route not found: wrong path or method, a bug of ours
    10018: _O.BACK_OFF,  # IP rate limit exceeded
    10024: _O.HALT,  # compliance rules triggered
    10027: _O.HALT,  # transactions banned
    10028: _O.HALT,  # API only for unified accounts
    10029: _O.REJECTED,  # symbol not in the key's whitelist
    # ── derivatives and unified trading (11xxxx) ──
    110001: _O.REJECTED,  # order does not exist (cancel, amend)
    110003: _O.REJECTED,  # price out of the allowed range
    110004: _O.REJECTED,  # wallet balance insufficient
    110007: _O.REJECTED,  # available balance insufficient
    110008: _O.REJECTED,  # order already completed or cancelled
    110017: _O.REJECTED,  # quantity truncated to zero / reduce-only would increase
    110072: _O.DUPLICATE,  # orderLinkId duplicate
    110079: _O.BACK_OFF,  # order still processing: try again later
    110094: _O.REJECTED,  # order value below the minimum
    # ── spot (17xxxx) ──
    170130: _O.REJECTED,  # parameter value invalid
    170121: _O.REJECTED,  # invalid symbol
    170131: _O.REJECTED,  # balance insufficient
    170134: _O.REJECTED,  # order price has too many decimals
    170136: _O.REJECTED,  # order quantity below the minimum
    170137: _O.REJECTED,  # order quantity has too many decimals
    170140: _O.REJECTED,  # order value below the minimum
    170141: _O.DUPLICATE,  # duplicate clientOrderId (orderLinkId)
    170213: _O.REJECTED,  # order does not exist
}

#: Bybit's IP limit (HTTP 403, 600 requests per 5 s) lifts after 10 minutes.
BACK_OFF_HTTP_403_MS: Final = 600_000


def classify(http_status: int | None, ret_code: int | None, msg: str = "") -> Outcome:
    """What to do with an answer: by ``retCode`` first, by HTTP status only without one.

    ``http_status`` is None when no answer came at all (timeout, lost connection): UNKNOWN.
    A ``10001`` whose message says the id is a duplicate (spot has answered duplicates that way)
    is DUPLICATE: querying a refused order is harmless, failing a live one is not.
    """
    if ret_code is not None:
        if ret_code == 10001 and "duplicate" in msg.lower():
            return Outcome.DUPLICATE
        return RET_CODES.get(ret_code, Outcome.UNKNOWN)
    if http_status is None:
        return Outcome.UNKNOWN
    if 200 <= http_status < 300:
        return Outcome.UNKNOWN  # a success status with no retCode: the body is not Bybit's
    if http_status in (403, 418, 429):
        return Outcome.BACK_OFF
    if http_status == 401:
        return Outcome.HALT
    return Outcome.UNKNOWN  # 5xx, 408, anything else: the request may have been executed


def back_off_until_ms(http_status: int | None, headers: Mapping[str, str], now_ms: int) -> int:
    """When a BACK_OFF ends (epoch ms): Bybit's reset timestamp, else 10 minutes for a 403, else 1 s."""
    lowered = {k.lower(): v for k, v in headers.items()}
    reset = lowered.get("x-bapi-limit-reset-timestamp", "")
    if reset.isdigit():
        return max(int(reset), now_ms)
    if http_status == 403:
        return now_ms + BACK_OFF_HTTP_403_MS
    return now_ms + 1_000


class BybitRequestError(VenueRefusal):
    """Bybit refused a request (``retCode`` != 0, or an HTTP error without a body): see ``outcome``."""

    code = "VT803"

    def __init__(self, http_status: int | None, ret_code: int | None, msg: str) -> None:
        self.http_status = http_status
        self.ret_code = ret_code
        self.ret_msg = msg
        self.outcome = classify(http_status, ret_code, msg)
        super().__init__(
            f"bybit answered retCode={ret_code} http={http_status}: {msg} ({self.outcome})",
            hint=_HINTS[self.outcome],
        )


class BybitWsError(VibeError):
    """Bybit's WebSocket refused an operation (``auth``, ``subscribe``)."""

    code = "VT804"

    def __init__(self, op: str, msg: str) -> None:
        self.op = op
        super().__init__(
            f"bybit websocket refused {op!r}: {msg}",
            hint="Check the API key and the clock for auth, the topic names for subscribe.",
        )


class BybitConfigError(VibeError):
    """The Bybit settings do not validate."""

    code = "VT805"

    def __init__(self, message: str) -> None:
        super().__init__(message, hint="Fix the [venues.bybit] settings as the message says.")


_HINTS: Final[Mapping[Outcome, str]] = {
    Outcome.OK: "Nothing to do.",
    Outcome.REJECTED: "The venue refused the request for good; fix the order (price, size, balance).",
    Outcome.UNKNOWN: "The outcome is unknown: the order is queried by client id, never resent.",
    Outcome.BACK_OFF: "Rate limited: requests wait for the reset time, then the order is queried.",
    Outcome.HALT: "Check the API key, its permissions, its bound IPs and the signing; trading stops.",
    Outcome.DUPLICATE: "The venue already has this orderLinkId: the order is queried, not failed.",
    Outcome.CLOCK: "The local clock is off: resync with /v5/market/time, then query; never resend.",
}
