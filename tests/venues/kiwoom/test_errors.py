"""Kiwoom's codes → outcomes: each rule of adapters/kiwoom/errors.py."""

from __future__ import annotations

import pytest

from adapters.kiwoom.errors import KiwoomRequestError, classify, message_code, needs_new_token
from adapters.venue_errors import Outcome

RATE = "허용된 요청 개수를 초과하였습니다[1700:허용된 요청 개수를 초과하였습니다. API ID=ka10075]"


def test_rate_limit_either_way_is_back_off() -> None:
    assert message_code(RATE) == 1700
    assert classify(429, 5, RATE) is Outcome.BACK_OFF
    assert classify(200, 5, RATE) is Outcome.BACK_OFF
    assert classify(200, 1700, "") is Outcome.BACK_OFF
    assert classify(429, None, "") is Outcome.BACK_OFF


def test_1634_shares_the_message_but_is_not_retried() -> None:
    msg = "허용된 요청 개수를 초과하였습니다[1634:허용된 요청 개수를 초과하였습니다]"
    assert classify(200, 5, msg) is Outcome.REJECTED
    assert classify(200, 1634, "허용된 요청 개수를 초과하였습니다") is Outcome.REJECTED


@pytest.mark.parametrize("code", [8001, 8002, 8010, 8030, 8031, 8040, 8050, 8103])
def test_credential_codes_halt(code: int) -> None:
    assert classify(200, code, "") is Outcome.HALT
    assert classify(200, 3, f"[{code}:...]") is Outcome.HALT
    assert not needs_new_token(200, code, "")


def test_token_refusals_reissue() -> None:
    assert needs_new_token(200, 3, "인증에 실패했습니다[8005:Token이 유효하지 않습니다]")
    assert needs_new_token(200, 8005, "")
    assert needs_new_token(401, None, "")
    assert not needs_new_token(200, 5, RATE)


def test_rejections_and_unknowns() -> None:
    assert classify(200, 2, "[1511:필수 입력 값에 값이 존재하지 않습니다]") is Outcome.REJECTED
    assert classify(200, 2, "[1902:종목 정보가 없습니다]") is Outcome.REJECTED
    assert classify(200, 20, "[2000](RC4025:주문가능금액을 초과하였습니다)") is Outcome.REJECTED
    assert classify(200, 20, "[2000] 알 수 없는 오류") is Outcome.UNKNOWN  # not in the table: query
    assert classify(200, 1687, "") is Outcome.BACK_OFF
    assert classify(502, None, "") is Outcome.UNKNOWN
    assert classify(None, None, "") is Outcome.UNKNOWN
    error = KiwoomRequestError(200, 5, RATE)
    assert error.code == "VT803" and error.outcome is Outcome.BACK_OFF
