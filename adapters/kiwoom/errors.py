"""Typed errors of the Kiwoom adapter and the classification of Kiwoom's answers.

Kiwoom answers business errors with HTTP 200 and a body ``return_code`` other than 0; its rate limit
comes either that way (``1700``) or as HTTP 429 with ``return_code`` 5 and the real code inside the
message (``"...[1700:...]"``). :func:`classify` therefore reads the code in the message's brackets
first, then ``return_code``, and the HTTP status only when the body had neither.

========== =========================================================================================
REJECTED   final: the request was refused and nothing was placed (input errors 1501-1517, bad
           symbol 1901/1902, 1634 too many codes, an order-desk refusal ``RCnnnn``)
UNKNOWN    the outcome is unknown (timeout, 5xx, a code not in the table): query, never resend
BACK_OFF   not processed (1700 rate limit, 1687 recursive call): wait; a read may be retried after
           the limiter's wait, a create only under the unknown-outcome rule
HALT       credentials, IP, environment or device refused (8001/8002/8010/8030/8031/8040/8050/8103);
           8005 and HTTP 401 (invalid token) first reissue the token once (:mod:`adapters.kiwoom.auth`)
========== =========================================================================================

``1634`` shares 1700's message text ("허용된 요청 개수를 초과") but means the request named too many
codes: retrying it would fail the same way, so it is REJECTED, never BACK_OFF.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from adapters.venue_errors import Outcome, VenueRefusal
from engines.errors import VibeError

__all__ = [
    "RETURN_CODES",
    "TOKEN_CODES",
    "KiwoomAmbiguousOrderError",
    "KiwoomAuthError",
    "KiwoomConfigError",
    "KiwoomOrderError",
    "KiwoomRequestError",
    "KiwoomTokenCacheError",
    "KiwoomWsError",
    "classify",
    "message_code",
]

_O = Outcome

#: Kiwoom's codes (the return_code, or the code a message carries in brackets) → outcome.
RETURN_CODES: Final[Mapping[int, Outcome]] = {
    0: _O.OK,
    **{code: _O.REJECTED for code in range(1501, 1518)},  # input and header errors: nothing done
    1634: _O.REJECTED,  # too many codes asked: the same request fails again, never retried
    1687: _O.BACK_OFF,  # recursive call refused: not processed
    1700: _O.BACK_OFF,  # rate limit: not processed
    1901: _O.REJECTED,  # symbol unknown
    1902: _O.REJECTED,  # symbol has no information
    8001: _O.HALT,  # app key refused
    8002: _O.HALT,  # secret refused
    8005: _O.HALT,  # token invalid: reissued once first (auth.py), then a halt
    8010: _O.HALT,  # the IP is not the one registered for the key
    8030: _O.HALT,  # a real key on the mock service
    8031: _O.HALT,  # a mock key on the real service
    8040: _O.HALT,  # device authentication
    8050: _O.HALT,  # device authentication (registered terminal)
    8103: _O.HALT,  # device authentication (token bound to another device)
}

#: the codes that mean the token itself was refused: reissue once, then halt
TOKEN_CODES: Final = frozenset({8005})

_BRACKET: Final = re.compile(r"\[(\d{4})\s*:")
# the order desk's refusals (insufficient funds, price outside the band, order not found) are
# reported as "RCnnnn" inside the message: the order was not placed or changed
_ORDER_DESK: Final = re.compile(r"\bRC\d{4}\b")


def message_code(msg: str) -> int | None:
    """The four-digit code Kiwoom writes in a message's brackets (``"[1700:허용된 요청..."``)."""
    found = _BRACKET.search(msg)
    return int(found.group(1)) if found else None


def classify(http_status: int | None, return_code: int | None, msg: str = "") -> Outcome:
    """What to do with an answer. ``http_status`` None: no answer came at all (UNKNOWN)."""
    bracketed = message_code(msg)
    if bracketed is not None and bracketed in RETURN_CODES:
        return RETURN_CODES[bracketed]
    if return_code is not None:
        if return_code in RETURN_CODES:
            return RETURN_CODES[return_code]
        if _ORDER_DESK.search(msg):
            return Outcome.REJECTED
        return Outcome.UNKNOWN
    if http_status is None:
        return Outcome.UNKNOWN
    if http_status == 429:
        return Outcome.BACK_OFF
    if http_status in (401, 403):
        return Outcome.HALT
    return Outcome.UNKNOWN  # 5xx, 2xx without a body of Kiwoom's, anything else


def needs_new_token(http_status: int | None, return_code: int | None, msg: str = "") -> bool:
    """An answer that refuses the token itself: HTTP 401 or 8005 (in the body or the message)."""
    return http_status == 401 or return_code in TOKEN_CODES or message_code(msg) in TOKEN_CODES


class KiwoomRequestError(VenueRefusal):
    """Kiwoom refused a request (``return_code`` != 0, or an HTTP error): see ``outcome``."""

    code = "VT803"

    def __init__(self, http_status: int | None, return_code: int | None, msg: str) -> None:
        self.http_status = http_status
        self.return_code = return_code
        self.return_msg = msg
        self.outcome = classify(http_status, return_code, msg)
        super().__init__(
            f"kiwoom answered return_code={return_code} http={http_status}: {msg} ({self.outcome})",
            hint=_HINTS[self.outcome],
        )


class KiwoomAuthError(VibeError):
    """Kiwoom refused the credentials, or the token again after one reissue: trading stops."""

    code = "VT990"


class KiwoomTokenCacheError(VibeError):
    """The token cache file cannot be written (or its directory created)."""

    code = "VT991"


class KiwoomAmbiguousOrderError(VibeError):
    """More than one broker order matches an order whose broker number is not known."""

    code = "VT992"


class KiwoomOrderError(VibeError):
    """The order cannot be expressed in Kiwoom's order types; nothing was sent."""

    code = "VT993"


class KiwoomWsError(VibeError):
    """Kiwoom's WebSocket refused an operation (``LOGIN``, ``REG``)."""

    code = "VT804"

    def __init__(self, op: str, msg: str) -> None:
        self.op = op
        super().__init__(
            f"kiwoom websocket refused {op!r}: {msg}",
            hint="Check the token for LOGIN, the item codes and types for REG.",
        )


class KiwoomConfigError(VibeError):
    """The Kiwoom settings do not validate."""

    code = "VT805"

    def __init__(self, message: str) -> None:
        super().__init__(message, hint="Fix the [venues.kiwoom] settings as the message says.")


_HINTS: Final[Mapping[Outcome, str]] = {
    Outcome.OK: "Nothing to do.",
    Outcome.REJECTED: "Kiwoom refused the request for good; fix the order (code, price, quantity, funds).",
    Outcome.UNKNOWN: "The outcome is unknown: the order is queried, never resent.",
    Outcome.BACK_OFF: "Not processed (rate limit): requests wait, a create is queried before anything else.",
    Outcome.HALT: "Check the app key, its registered IP and environment at Kiwoom's portal; trading stops.",
    Outcome.DUPLICATE: "Kiwoom has the order already: it is queried, not failed.",
    Outcome.CLOCK: "Not used by Kiwoom.",
}
