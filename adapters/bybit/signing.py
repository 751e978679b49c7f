"""Bybit v5 request signing (HMAC-SHA256, hex) and the private WebSocket ``auth`` message.

REST: ``sign = hex(HMAC_SHA256(secret, timestamp + api_key + recv_window + payload))`` where the
payload is the query string exactly as sent (GET) or the raw JSON body exactly as sent (POST).
The signature is over bytes: the caller signs the very bytes it sends, never a re-serialisation
(pybit puts spaces in its JSON; the emulator must verify the raw body it received).

WebSocket (``/v5/private``, ``/v5/trade``): ``{"op":"auth","args":[api_key, expires, sign]}`` with
``sign = hex(HMAC_SHA256(secret, "GET/realtime" + expires))`` and ``expires`` a future epoch ms.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

__all__ = [
    "HEADER_API_KEY",
    "HEADER_RECV_WINDOW",
    "HEADER_SIGN",
    "HEADER_TIMESTAMP",
    "rest_headers",
    "sign_rest",
    "sign_ws_auth",
    "verify_rest",
    "ws_auth_message",
]

HEADER_API_KEY: Final = "X-BAPI-API-KEY"
HEADER_TIMESTAMP: Final = "X-BAPI-TIMESTAMP"
HEADER_RECV_WINDOW: Final = "X-BAPI-RECV-WINDOW"
HEADER_SIGN: Final = "X-BAPI-SIGN"


def _as_bytes(data: str | bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data


def sign_rest(secret: str, api_key: str, timestamp_ms: int, recv_window_ms: int, payload: bytes | str) -> str:
    """The hex signature of one request; ``payload`` is the query string or the JSON body as sent."""
    prefix = f"{timestamp_ms}{api_key}{recv_window_ms}".encode()
    return hmac.new(secret.encode(), prefix + _as_bytes(payload), hashlib.sha256).hexdigest()


def rest_headers(
    secret: str, api_key: str, timestamp_ms: int, recv_window_ms: int, payload: bytes | str
) -> dict[str, str]:
    """The four authentication headers of a signed request."""
    return {
        HEADER_API_KEY: api_key,
        HEADER_TIMESTAMP: str(timestamp_ms),
        HEADER_RECV_WINDOW: str(recv_window_ms),
        HEADER_SIGN: sign_rest(secret, api_key, timestamp_ms, recv_window_ms, payload),
    }


def verify_rest(
    secret: str, api_key: str, timestamp_ms: str, recv_window_ms: str, payload: bytes, *, sign: str
) -> bool:
    """The emulator's check: the header values as received, the raw bytes as received."""
    prefix = f"{timestamp_ms}{api_key}{recv_window_ms}".encode()
    expected = hmac.new(secret.encode(), prefix + payload, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, sign.lower())


def sign_ws_auth(secret: str, expires_ms: int) -> str:
    return hmac.new(secret.encode(), f"GET/realtime{expires_ms}".encode(), hashlib.sha256).hexdigest()


def ws_auth_message(api_key: str, secret: str, expires_ms: int) -> dict[str, object]:
    """The ``auth`` operation of the private and trade WebSockets (``expires_ms`` in the future)."""
    return {"op": "auth", "args": [api_key, expires_ms, sign_ws_auth(secret, expires_ms)]}
