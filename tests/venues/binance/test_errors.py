"""The classification of Binance's errors: by the venue's code first, by the HTTP status without one."""

from __future__ import annotations

import pytest

from adapters.binance.errors import CODES, banned_until_ms, classify
from adapters.binance.parsers import error_body
from adapters.venue_errors import Outcome
from tests.venues.binance import messages as m


@pytest.mark.parametrize(
    ("status", "code", "msg", "outcome"),
    [
        (400, -2010, "Account has insufficient balance for requested action.", Outcome.REJECTED),
        (400, -2010, "Order would immediately match and take.", Outcome.REJECTED),
        (400, -2010, "Duplicate order sent.", Outcome.DUPLICATE),
        (400, -4116, "ClientOrderId is duplicated.", Outcome.DUPLICATE),
        (400, -1013, "Filter failure: LOT_SIZE", Outcome.REJECTED),
        (400, -1111, "Precision is over the maximum defined for this asset.", Outcome.REJECTED),
        (400, -2011, "Unknown order sent.", Outcome.REJECTED),
        (400, -2013, "Order does not exist.", Outcome.REJECTED),
        (
            400,
            -5022,
            "Due to the order could not be executed as maker, the Post Only order will be rejected.",
            Outcome.REJECTED,
        ),
        (
            408,
            -1007,
            "Timeout waiting for response from backend server. Send status unknown; "
            "execution status unknown.",
            Outcome.UNKNOWN,
        ),
        (503, -1007, "", Outcome.UNKNOWN),
        (500, -1006, "", Outcome.UNKNOWN),
        (400, -1021, "Timestamp for this request is outside of the recvWindow.", Outcome.CLOCK),
        (
            429,
            -1003,
            "Too much request weight used; current limit is 6000 request weight per 1 MINUTE.",
            Outcome.BACK_OFF,
        ),
        (418, -1003, "Way too much request weight used; IP banned until 1715000000000.", Outcome.HALT),
        (429, -1015, "Too many new orders; current limit is 100 orders per 10 SECOND.", Outcome.BACK_OFF),
        (401, -2014, "API-key format invalid.", Outcome.HALT),
        (401, -2015, "Invalid API-key, IP, or permissions for action.", Outcome.HALT),
        (400, -1022, "Signature for this request is not valid.", Outcome.HALT),
        # a code the table does not list: query before anything (safe), even with a 4xx
        (400, -9999, "something new", Outcome.UNKNOWN),
    ],
)
def test_classified_by_code(status: int, code: int, msg: str, outcome: Outcome) -> None:
    assert classify(status, code, msg) is outcome


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (None, Outcome.UNKNOWN),  # no response: timeout, lost connection
        (500, Outcome.UNKNOWN),
        (502, Outcome.UNKNOWN),
        (503, Outcome.UNKNOWN),
        (504, Outcome.UNKNOWN),
        (408, Outcome.UNKNOWN),
        (429, Outcome.BACK_OFF),
        (418, Outcome.HALT),
        (403, Outcome.HALT),  # WAF
        (401, Outcome.HALT),
        (400, Outcome.REJECTED),
        (404, Outcome.REJECTED),
        (200, Outcome.UNKNOWN),
    ],
)
def test_classified_by_http_status_without_a_code(status: int | None, outcome: Outcome) -> None:
    assert classify(status, None, "") is outcome


def test_code_wins_over_status() -> None:
    # a 5xx with a final code is final; a 4xx with "status unknown" is unknown
    assert classify(503, -1013, "Filter failure: PRICE_FILTER") is Outcome.REJECTED
    assert classify(400, -1007, "") is Outcome.UNKNOWN
    assert classify(429, -1021, "") is Outcome.CLOCK


def test_every_outcome_is_reachable_from_the_table() -> None:
    # every failure outcome (OK is success: no error code maps to it)
    assert set(CODES.values()) | {Outcome.DUPLICATE} == set(Outcome) - {Outcome.OK}


def test_error_body_and_ban_time() -> None:
    body = error_body(m.DUPLICATE_ORDER)
    assert body is not None and (body.code, body.msg) == (-2010, "Duplicate order sent.")
    assert classify(400, body.code, body.msg) is Outcome.DUPLICATE
    assert error_body(b"<html>502 Bad Gateway</html>") is None
    assert error_body(b'{"code":-1003,"msg":"x","extra":1}') is not None
    assert (
        banned_until_ms("Way too much request weight used; IP banned until 1715000000000. Please use")
        == 1715000000000
    )
    assert banned_until_ms("Too much request weight used") is None
