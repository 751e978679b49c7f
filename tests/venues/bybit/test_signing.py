"""Bybit v5 signing: the documented formula, fixed vectors (computed with `openssl dgst -sha256 -hmac`),
and that any byte of the signed material changes the signature."""

from __future__ import annotations

import hashlib
import hmac

from adapters.bybit import signing

SECRET, KEY, TS, RW = "YYYYYYYYYY", "XXXXXXXXXX", 1658384314791, 5000
QUERY = "category=spot&orderLinkId=vt-a-1"
BODY = (
    b'{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit",'
    b'"qty":"0.001","price":"20000","orderLinkId":"vt-a-1"}'
)


def test_rest_signature_follows_the_documented_formula() -> None:
    expected = hmac.new(SECRET.encode(), f"{TS}{KEY}{RW}".encode() + BODY, hashlib.sha256).hexdigest()
    assert signing.sign_rest(SECRET, KEY, TS, RW, BODY) == expected


def test_rest_signature_fixed_vectors_from_openssl() -> None:
    assert (
        signing.sign_rest(SECRET, KEY, TS, RW, QUERY)
        == "be802e455317b83a26275f0518f3c566aca767e801ede42871f93e89001948ce"
    )
    assert (
        signing.sign_rest(SECRET, KEY, TS, RW, BODY)
        == "fbf852cf5e9ccf81fa67c004f2be1f65a170773e45a8d95004718ed4f6a69132"
    )


def test_any_changed_byte_changes_the_signature() -> None:
    base = signing.sign_rest(SECRET, KEY, TS, RW, BODY)
    for i in range(len(BODY)):
        changed = BODY[:i] + bytes([BODY[i] ^ 0x01]) + BODY[i + 1 :]
        assert signing.sign_rest(SECRET, KEY, TS, RW, changed) != base
    assert signing.sign_rest(SECRET, KEY, TS + 1, RW, BODY) != base
    assert signing.sign_rest(SECRET, KEY, TS, RW + 1, BODY) != base
    assert signing.sign_rest(SECRET, KEY + "Y", TS, RW, BODY) != base
    assert signing.sign_rest(SECRET + "Z", KEY, TS, RW, BODY) != base
    # a re-serialisation with spaces (pybit's style) is different bytes, so a different signature
    assert signing.sign_rest(SECRET, KEY, TS, RW, BODY.replace(b",", b", ")) != base


def test_headers_and_verification_on_raw_bytes() -> None:
    headers = signing.rest_headers(SECRET, KEY, TS, RW, BODY)
    assert headers == {
        "X-BAPI-API-KEY": KEY,
        "X-BAPI-TIMESTAMP": "1658384314791",
        "X-BAPI-RECV-WINDOW": "5000",
        "X-BAPI-SIGN": "fbf852cf5e9ccf81fa67c004f2be1f65a170773e45a8d95004718ed4f6a69132",
    }
    args = (SECRET, KEY, headers["X-BAPI-TIMESTAMP"], headers["X-BAPI-RECV-WINDOW"])
    assert signing.verify_rest(*args, BODY, sign=headers["X-BAPI-SIGN"])
    assert not signing.verify_rest(*args, BODY + b" ", sign=headers["X-BAPI-SIGN"])


def test_websocket_auth_message() -> None:
    expires = 1662350400000
    msg = signing.ws_auth_message(KEY, SECRET, expires)
    expected = hmac.new(SECRET.encode(), b"GET/realtime1662350400000", hashlib.sha256).hexdigest()
    assert expected == "9c4c0629fddfee26ca0da50a7fed51968fce6935d34b02e772d3bd0c34327bd1"
    assert msg == {"op": "auth", "args": [KEY, expires, expected]}
    assert signing.sign_ws_auth(SECRET, expires + 1) != expected
