"""HMAC-SHA256 request signing, as Binance documents it (spot ``rest-api.md``, "SIGNED endpoint
security"; USD-M the same).

The signature is the hex HMAC-SHA256, keyed by the secret, of the *exact* bytes sent: the query string
followed by the request body with no separator (``totalParams``), percent-encoded as sent. It goes
last, as ``&signature=<hex>``, in the query string (or the body); the key travels in the
``X-MBX-APIKEY`` header. ``timestamp`` (ms) and ``recvWindow`` are ordinary parameters and part of the
signed bytes. Pure: the caller gives the timestamp (its clock plus the measured server offset).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Final
from urllib.parse import urlencode

__all__ = ["API_KEY_HEADER", "api_key_headers", "encode_params", "sign", "signed_params", "verify"]

API_KEY_HEADER: Final = "X-MBX-APIKEY"


def sign(secret: bytes | str, payload: bytes | str) -> str:
    """The hex HMAC-SHA256 of ``payload`` (query string + body bytes) keyed by ``secret``."""
    key = secret.encode() if isinstance(secret, str) else secret
    data = payload.encode() if isinstance(payload, str) else payload
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def verify(secret: bytes | str, payload: bytes | str, signature: str) -> bool:
    """Whether ``signature`` signs ``payload`` (constant-time compare): what the emulator checks."""
    return hmac.compare_digest(sign(secret, payload), signature.lower())


def encode_params(params: Iterable[tuple[str, str | int]]) -> str:
    """Parameters in the given order, percent-encoded as they are sent."""
    return urlencode([(k, str(v)) for k, v in params])


def signed_params(
    params: Iterable[tuple[str, str | int]],
    *,
    secret: bytes | str,
    timestamp_ms: int,
    recv_window_ms: int | None = 5000,
) -> str:
    """The full signed query string (or form body): the parameters, ``recvWindow``, ``timestamp``,
    then ``signature`` over everything before it."""
    items = list(params)
    if recv_window_ms is not None:
        items.append(("recvWindow", recv_window_ms))
    items.append(("timestamp", timestamp_ms))
    payload = encode_params(items)
    return f"{payload}&signature={sign(secret, payload)}"


def api_key_headers(api_key: str) -> dict[str, str]:
    return {API_KEY_HEADER: api_key}
