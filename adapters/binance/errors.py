"""Binance's error codes classified into what the execution client does next, and the typed errors of
messages the parsers cannot read.

**Classification.** :func:`classify` looks at the venue's own ``code`` first (the error body
``{"code": -2010, "msg": "..."}``) and at the HTTP status only when there is no code. Each outcome
says what to do, never "try again blindly":

============  ==========================================================================================
outcome       the client
============  ==========================================================================================
REJECTED      records the request as refused: final (filters, balance, no such order, bad parameter)
UNKNOWN       marks the order unknown and queries it by client id before anything else (-1007, 5xx,
              a code this table does not list: the query is always safe, a wrong "rejected" is not)
BACK_OFF      the request was not processed: wait (``Retry-After``), then go on (-1003, -1015, 429)
HALT          stops trading on the venue: the key, the signature or the IP is refused (-2014, -2015,
              -1022, -1002, HTTP 418 IP ban, 403 WAF)
DUPLICATE     the venue already has an order with this client id: query it, don't fail it (-2010
              "Duplicate order sent.", futures -4116)
CLOCK         the timestamp was outside the receive window: resync the clock offset, then query the
              order, never resend (-1021)
============  ==========================================================================================

``-1003`` is both the weight limit (HTTP 429: back off) and the IP ban that follows it (HTTP 418,
"banned until ..."): with 418 it is HALT.

**Errors** (codes registered in ``engines/errors.py``, shared by every venue):

* ``VT800`` :class:`VenueMessageError`: a venue message is malformed (not JSON, a required field
  missing, a number that is not a decimal);
* ``VT801`` :class:`UnknownVenueSymbolError`: a message names a symbol outside the run's mapping;
* ``VT802`` :class:`UnknownVenueValueError`: a field holds a value the adapter has no mapping for
  (an order status, side or order type Binance added);
* ``VT803`` :class:`VenueRequestError`: the venue refused a request with an error body; it carries
  the HTTP status, the venue's code and message, and the :class:`Outcome`.
"""

from __future__ import annotations

import re
from typing import Final

from adapters.venue_errors import Outcome, VenueRefusal

__all__ = [
    "CODES",
    "VenueRequestError",
    "banned_until_ms",
    "classify",
]


CODES: Final[dict[int, Outcome]] = {
    # ── 10xx: general server or network issues ──
    -1000: Outcome.UNKNOWN,  # UNKNOWN: an unknown error occurred while processing the request
    -1001: Outcome.UNKNOWN,  # DISCONNECTED: internal error
    -1002: Outcome.HALT,  # UNAUTHORIZED: not authorized to execute this request
    -1003: Outcome.BACK_OFF,  # TOO_MANY_REQUESTS (with HTTP 418: IP banned, see classify)
    -1006: Outcome.UNKNOWN,  # UNEXPECTED_RESP: execution status unknown
    -1007: Outcome.UNKNOWN,  # TIMEOUT: send status unknown, execution status unknown
    -1008: Outcome.UNKNOWN,  # SERVER_BUSY: overloaded; query before anything (the safe reading)
    -1015: Outcome.BACK_OFF,  # TOO_MANY_ORDERS: order rate limit
    -1021: Outcome.CLOCK,  # INVALID_TIMESTAMP: outside recvWindow / ahead of server time
    -1022: Outcome.HALT,  # INVALID_SIGNATURE
    # ── 11xx: request issues: final ──
    -1013: Outcome.REJECTED,  # filter failure (LOT_SIZE, PRICE_FILTER, NOTIONAL...)
    -1100: Outcome.REJECTED,  # ILLEGAL_CHARS
    -1101: Outcome.REJECTED,  # TOO_MANY_PARAMETERS
    -1102: Outcome.REJECTED,  # MANDATORY_PARAM_EMPTY_OR_MALFORMED
    -1103: Outcome.REJECTED,  # UNKNOWN_PARAM
    -1104: Outcome.REJECTED,  # UNREAD_PARAMETERS
    -1105: Outcome.REJECTED,  # PARAM_EMPTY
    -1106: Outcome.REJECTED,  # PARAM_NOT_REQUIRED
    -1111: Outcome.REJECTED,  # BAD_PRECISION
    -1115: Outcome.REJECTED,  # INVALID_TIF
    -1116: Outcome.REJECTED,  # INVALID_ORDER_TYPE
    -1117: Outcome.REJECTED,  # INVALID_SIDE
    -1121: Outcome.REJECTED,  # BAD_SYMBOL
    -1130: Outcome.REJECTED,  # INVALID_PARAMETER
    # ── 20xx: processing issues ──
    -2010: Outcome.REJECTED,  # NEW_ORDER_REJECTED (but "Duplicate order sent." is DUPLICATE)
    -2011: Outcome.REJECTED,  # CANCEL_REJECTED ("Unknown order sent.")
    -2013: Outcome.REJECTED,  # NO_SUCH_ORDER (a query answers not_found: see parsers)
    -2014: Outcome.HALT,  # BAD_API_KEY_FMT
    -2015: Outcome.HALT,  # REJECTED_MBX_KEY: invalid key, IP or permissions
    -2018: Outcome.REJECTED,  # futures: balance insufficient
    -2019: Outcome.REJECTED,  # futures: margin insufficient
    -2021: Outcome.REJECTED,  # futures: order would immediately trigger
    -2022: Outcome.REJECTED,  # futures: reduce-only order rejected
    -2026: Outcome.REJECTED,  # order archived
    # ── 4xxx / 5xxx: futures order rules ──
    -4116: Outcome.DUPLICATE,  # futures: ClientOrderId is duplicated
    -4164: Outcome.REJECTED,  # futures: notional below the minimum
    -5021: Outcome.REJECTED,  # futures: FOK order would not fill completely
    -5022: Outcome.REJECTED,  # futures: post-only order would take
}

_DUPLICATE_MSG: Final = "duplicate order sent"


def classify(http_status: int | None, code: int | None, msg: str = "") -> Outcome:
    """What to do after a failed request: by Binance's ``code`` first, by the HTTP status when the
    body has no code (``http_status`` None: no response at all, a timeout or a lost connection)."""
    if code is not None:
        if code == -1003 and http_status == 418:
            return Outcome.HALT
        if code == -2010 and _DUPLICATE_MSG in msg.lower():
            return Outcome.DUPLICATE
        return CODES.get(code, Outcome.UNKNOWN)
    if http_status is None or http_status >= 500 or http_status == 408:
        return Outcome.UNKNOWN
    if http_status == 429:
        return Outcome.BACK_OFF
    if http_status in (401, 403, 418):
        return Outcome.HALT
    if 400 <= http_status < 500:
        return Outcome.REJECTED
    return Outcome.UNKNOWN  # a success status without a body we understand: ask the venue


_BANNED_UNTIL = re.compile(r"banned until (\d{10,16})")


def banned_until_ms(msg: str) -> int | None:
    """The end of an IP ban in epoch milliseconds, from a -1003 message such as "Way too many
    requests; IP(1.2.3.4) banned until 1715000000000. Please use the websocket ..."."""
    match = _BANNED_UNTIL.search(msg)
    return int(match.group(1)) if match else None


class VenueRequestError(VenueRefusal):
    """The venue refused a request; ``outcome`` (from :func:`classify`) says what to do next."""

    code = "VT803"

    def __init__(self, http_status: int | None, venue_code: int | None, venue_msg: str = "") -> None:
        self.http_status = http_status
        self.venue_code = venue_code
        self.venue_msg = venue_msg
        self.outcome = classify(http_status, venue_code, venue_msg)
        super().__init__(
            f"binance answered HTTP {http_status}, code {venue_code}: {venue_msg!r} ({self.outcome})",
            hint="See the outcome table in adapters/binance/errors.py.",
        )
