"""Typed errors of the KIS adapter and the classification of KIS's answers.

KIS answers business errors with HTTP 200, ``rt_cd`` other than ``"0"`` and a ``msg_cd``; its gateway
answers ``EGW*`` codes, usually with HTTP 500 (``{"rt_cd":"1","msg_cd":"EGW00201",...}``) or, for
the token endpoint, HTTP 403 ``{"error_code":"EGW00133",...}``. :func:`classify` looks at the code
first and at the HTTP status only when the body had none. Each answer falls in one
:class:`~adapters.venue_errors.Outcome`:

========== =========================================================================================
REJECTED   final: KIS refused the request; nothing was placed or changed
UNKNOWN    the outcome is unknown: query the order before anything else, never resend
BACK_OFF   not processed (rate limit ``EGW00201``, token reissue limit ``EGW00133``): wait, then a
           read may be sent again; a create is answered unknown and resolved by query
HALT       app key, secret or transaction id are wrong: stop trading on this venue, alert
========== =========================================================================================

A code not in :data:`MSG_CODES` is UNKNOWN: querying an order KIS refused is harmless, calling an
order refused that KIS in fact holds would lose track of it. The token codes ``EGW00121`` (invalid)
and ``EGW00123`` (expired) are handled by the REST client: the token is reissued once.

Codes (``engines/errors.py``, block "KIS (98x)"): VT980 token issuance refused, VT981 an order
cannot be told apart from another, VT982 WebSocket registration cap, VT983 WebSocket session of
the app key in use; the shared VT803 (``KisRequestError``), VT804 (``KisWsError``) and VT805
(``KisConfigError``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from adapters.venue_errors import Outcome, VenueRefusal
from engines.errors import VibeError

__all__ = [
    "MSG_CODES",
    "TOKEN_CODES",
    "KisAmbiguousOrderError",
    "KisConfigError",
    "KisRegistrationCapError",
    "KisRequestError",
    "KisSessionInUseError",
    "KisTokenError",
    "KisWsError",
    "classify",
]

_O = Outcome

#: ``msg_cd`` → outcome. The EGW codes and APBK0013 are KIS's (../shared/venues/korea.md); the
#: other APBK/OPSQ refusals are the ones our emulator answers with, named as KIS names its
#: order-system refusals; their exact numbers at KIS are not verified.
MSG_CODES: Final[Mapping[str, Outcome]] = {
    "APBK0013": _O.OK,  # 주문 전송 완료 (order sent)
    "APBK0017": _O.OK,  # 주문 취소 완료 (emulator: cancel done)
    # ── gateway ──
    "EGW00002": _O.UNKNOWN,  # server error: the request may have been executed
    "EGW00103": _O.HALT,  # invalid app key
    "EGW00105": _O.HALT,  # invalid app secret
    "EGW00121": _O.UNKNOWN,  # invalid token: reissued once by the REST client
    "EGW00123": _O.UNKNOWN,  # expired token: reissued once by the REST client
    "EGW00133": _O.BACK_OFF,  # token requested again within a minute
    "EGW00201": _O.BACK_OFF,  # 초당 거래건수를 초과하였습니다: not processed
    # ── order system (emulator's numbers, see above) ──
    "OPSQ0002": _O.HALT,  # no such service (transaction id): a bug of ours
    "APBK0952": _O.REJECTED,  # 주문가능금액을 초과 (cash)
    "APBK0986": _O.REJECTED,  # 주문가능수량을 초과 (shares to sell)
    "APBK0919": _O.REJECTED,  # price or quantity invalid (tick, limit, lot)
    "APBK0918": _O.REJECTED,  # market closed
    "APBK0656": _O.REJECTED,  # no such order to modify or cancel, or nothing left of it
    "APBK1001": _O.REJECTED,  # request fields invalid
}

#: the token codes after which the REST client reissues the token once
TOKEN_CODES: Final = frozenset({"EGW00121", "EGW00123"})


def classify(http_status: int | None, rt_cd: str | None, msg_cd: str | None) -> Outcome:
    """What to do with an answer: by ``msg_cd`` first, then ``rt_cd``, by HTTP status only without
    either. ``http_status`` None means no answer came (timeout, lost connection): UNKNOWN."""
    if msg_cd:
        known = MSG_CODES.get(msg_cd)
        if known is not None:
            return known
        if rt_cd == "0":
            return Outcome.OK
        return Outcome.UNKNOWN
    if rt_cd == "0":
        return Outcome.OK
    if http_status is None or rt_cd is not None:
        return Outcome.UNKNOWN
    if http_status == 429:
        return Outcome.BACK_OFF
    if http_status in (401, 403):
        return Outcome.HALT
    return Outcome.UNKNOWN  # 5xx, 2xx without a KIS body: the request may have been executed


class KisRequestError(VenueRefusal):
    """KIS refused a request (``rt_cd`` != 0, an EGW code, or an HTTP error without a body)."""

    code = "VT803"

    def __init__(self, http_status: int | None, msg_cd: str, msg: str, *, rt_cd: str | None = None) -> None:
        self.http_status = http_status
        self.msg_cd = msg_cd
        self.msg = msg
        self.outcome = classify(http_status, rt_cd, msg_cd)
        super().__init__(
            f"kis answered msg_cd={msg_cd or '-'} http={http_status}: {msg} ({self.outcome})",
            hint=_HINTS[self.outcome],
        )


class KisTokenError(VibeError):
    """KIS refused to issue an access token or approval key (EGW00133 within a minute, or a key
    refusal); the client does not ask again in a loop."""

    code = "VT980"


class KisAmbiguousOrderError(VibeError):
    """An order with no known KIS order number matches more than one order at KIS: the client
    refuses to guess which is ours."""

    code = "VT981"


class KisRegistrationCapError(VibeError):
    """A WebSocket subscription would pass KIS's cap of 41 registrations per session."""

    code = "VT982"


class KisSessionInUseError(VibeError):
    """KIS allows one WebSocket session per app key and this key has one already (OPSP8996)."""

    code = "VT983"


class KisWsError(VibeError):
    """KIS's WebSocket refused a subscription."""

    code = "VT804"

    def __init__(self, tr: str, msg: str) -> None:
        super().__init__(f"kis websocket refused {tr!r}: {msg}", hint="Check the tr_id, tr_key and app key.")


class KisConfigError(VibeError):
    """The KIS settings do not validate."""

    code = "VT805"

    def __init__(self, message: str) -> None:
        super().__init__(message, hint="Fix the [venues.kis] settings as the message says.")


_HINTS: Final[Mapping[Outcome, str]] = {
    Outcome.OK: "Nothing to do.",
    Outcome.REJECTED: "KIS refused the request for good; fix the order (price, size, cash, holdings).",
    Outcome.UNKNOWN: "The outcome is unknown: the order is queried, never resent.",
    Outcome.BACK_OFF: "Not processed (rate limit): requests wait for the limiter, orders are queried.",
    Outcome.HALT: "Check the app key, secret and environment (real or mock); trading stops.",
    Outcome.DUPLICATE: "Nothing to do.",
    Outcome.CLOCK: "Nothing to do.",
}
