"""The classification of Bybit answers: retCode first, HTTP status only without one."""

from __future__ import annotations

import pytest

from adapters.bybit.errors import BybitRequestError, back_off_until_ms, classify
from adapters.venue_errors import Outcome
from engines.errors import VibeError

OC = Outcome


@pytest.mark.parametrize(
    ("ret_code", "outcome"),
    [
        (0, OC.OK),
        (10001, OC.REJECTED),
        (110004, OC.REJECTED),
        (110007, OC.REJECTED),
        (110017, OC.REJECTED),
        (170131, OC.REJECTED),
        (170140, OC.REJECTED),
        (110001, OC.REJECTED),
        (170213, OC.REJECTED),
        (10000, OC.UNKNOWN),
        (10016, OC.UNKNOWN),
        (10006, OC.BACK_OFF),
        (10018, OC.BACK_OFF),
        (110079, OC.BACK_OFF),
        (10003, OC.HALT),
        (10004, OC.HALT),
        (10005, OC.HALT),
        (10007, OC.HALT),
        (10009, OC.HALT),
        (10010, OC.HALT),
        (110072, OC.DUPLICATE),
        (170141, OC.DUPLICATE),
        (10014, OC.DUPLICATE),
        (10002, OC.CLOCK),
        (999999, OC.UNKNOWN),  # unlisted: query first, never assume rejected
    ],
)
def test_ret_code_table(ret_code: int, outcome: Outcome) -> None:
    assert classify(200, ret_code, "") is outcome


def test_ret_code_wins_over_http_status() -> None:
    assert classify(500, 10001, "params error") is OC.REJECTED
    assert classify(403, 110072, "OrderLinkedID is duplicate") is OC.DUPLICATE


@pytest.mark.parametrize(
    ("http", "outcome"),
    [
        (None, OC.UNKNOWN),
        (500, OC.UNKNOWN),
        (502, OC.UNKNOWN),
        (504, OC.UNKNOWN),
        (408, OC.UNKNOWN),
        (403, OC.BACK_OFF),
        (429, OC.BACK_OFF),
        (401, OC.HALT),
        (200, OC.UNKNOWN),
    ],
)
def test_http_status_without_ret_code(http: int | None, outcome: Outcome) -> None:
    assert classify(http, None, "") is outcome


def test_duplicate_message_on_parameter_error_is_duplicate() -> None:
    assert classify(200, 10001, "orderLinkId is Duplicate") is OC.DUPLICATE


def test_back_off_until() -> None:
    assert (
        back_off_until_ms(200, {"X-Bapi-Limit-Reset-Timestamp": "1700000005000"}, 1700000000000)
        == 1700000005000
    )
    assert back_off_until_ms(200, {"x-bapi-limit-reset-timestamp": "1"}, 1700000000000) == 1700000000000
    assert back_off_until_ms(403, {}, 0) == 600_000
    assert back_off_until_ms(429, {}, 0) == 1_000


def test_request_error_is_typed_and_carries_the_outcome() -> None:
    err = BybitRequestError(200, 10006, "Too many visits!")
    assert isinstance(err, VibeError)
    assert err.code == "VT803"
    assert err.outcome is OC.BACK_OFF
    assert err.ret_code == 10006
    assert "10006" in str(err)
