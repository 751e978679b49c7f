"""HMAC-SHA256 signing against the worked examples of Binance's spot ``rest-api.md``."""

from __future__ import annotations

import pytest

from adapters.binance.signing import API_KEY_HEADER, api_key_headers, sign, signed_params, verify

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
QUERY = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    "&recvWindow=5000&timestamp=1499827319559"
)


def test_documented_example_query_string_or_body() -> None:
    assert sign(SECRET, QUERY) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    assert sign(SECRET.encode(), QUERY.encode()) == sign(SECRET, QUERY)


def test_documented_example_mixed_query_and_body_concatenated_without_separator() -> None:
    query, body = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
        "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559",
    )
    assert sign(SECRET, query + body) == "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"


def test_signed_params_builds_the_documented_request() -> None:
    params = [
        ("symbol", "LTCBTC"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "1"),
        ("price", "0.1"),
    ]
    out = signed_params(params, secret=SECRET, timestamp_ms=1499827319559, recv_window_ms=5000)
    assert out == QUERY + "&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_signed_params_percent_encodes_what_it_signs() -> None:
    out = signed_params(
        [("newClientOrderId", "vt:s/1 x")], secret=SECRET, timestamp_ms=1, recv_window_ms=None
    )
    payload, signature = out.rsplit("&signature=", 1)
    assert payload == "newClientOrderId=vt%3As%2F1+x&timestamp=1"
    assert verify(SECRET, payload, signature)


def test_any_byte_change_changes_the_signature() -> None:
    good = sign(SECRET, QUERY)
    data = QUERY.encode()
    for i in range(len(data)):
        for flip in (0x01, 0x20, 0x80):
            changed = data[:i] + bytes([data[i] ^ flip]) + data[i + 1 :]
            assert sign(SECRET, changed) != good
            assert not verify(SECRET, changed, good)
    assert sign(SECRET, data + b"&") != good
    assert sign(SECRET, data[:-1]) != good
    assert sign(SECRET[:-1] + "k", data) != good


@pytest.mark.parametrize("signature", ["C8DB56825AE71D6D79447849E617115F4A920FA2ACDCAB2B053C4B2838BD6B71"])
def test_verify_accepts_upper_case_hex(signature: str) -> None:
    assert verify(SECRET, QUERY, signature)


def test_api_key_header() -> None:
    assert api_key_headers(API_KEY) == {"X-MBX-APIKEY": API_KEY}
    assert API_KEY_HEADER == "X-MBX-APIKEY"
