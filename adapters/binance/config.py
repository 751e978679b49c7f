"""The Binance venue's settings: environment, base URLs, receive window.

The API key and secret are not settings: they come from systemd credentials or the environment
(DESIGN.md section 8) and never sit in a config struct that could be logged.

Base URLs are roots (scheme, host, port); the REST path prefixes are :data:`SPOT_REST_PREFIX`
(``/api/v3``) and :data:`USDM_REST_PREFIX` (``/fapi/v1``). An emulator on loopback overrides any
of them (:meth:`BinanceConfig.for_emulator` overrides all).
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec

__all__ = ["SPOT_REST_PREFIX", "URLS", "USDM_REST_PREFIX", "BinanceConfig", "BinanceUrls", "Environment"]

Environment = Literal["production", "test"]

SPOT_REST_PREFIX: Final = "/api/v3"
USDM_REST_PREFIX: Final = "/fapi/v1"


class BinanceUrls(msgspec.Struct, frozen=True, kw_only=True):
    spot_rest: str
    #: market data streams: ``<root>/ws/<stream>`` or ``<root>/stream?streams=...``
    spot_ws_stream: str
    #: the WebSocket API (user data stream subscription): the full path
    spot_ws_api: str
    usdm_rest: str
    #: market and user data streams (``/public``, ``/market``, ``/private`` paths; ``/ws`` legacy)
    usdm_ws: str


URLS: Final[dict[str, BinanceUrls]] = {
    "production": BinanceUrls(
        spot_rest="https://api.binance.com",
        spot_ws_stream="wss://stream.binance.com:9443",
        spot_ws_api="wss://ws-api.binance.com:443/ws-api/v3",
        usdm_rest="https://fapi.binance.com",
        usdm_ws="wss://fstream.binance.com",
    ),
    # spot testnet and USD-M futures demo trading
    "test": BinanceUrls(
        spot_rest="https://testnet.binance.vision",
        spot_ws_stream="wss://stream.testnet.binance.vision",
        spot_ws_api="wss://ws-api.testnet.binance.vision/ws-api/v3",
        usdm_rest="https://demo-fapi.binance.com",
        usdm_ws="wss://fstream.binancefuture.com",
    ),
}


class BinanceConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The venue's settings (our own config file, so unknown keys are refused: a typo is an error)."""

    environment: Environment = "production"
    #: Binance's default; at most 60000
    recv_window_ms: Annotated[int, msgspec.Meta(gt=0, le=60_000)] = 5000
    spot_rest_url: str | None = None
    spot_ws_stream_url: str | None = None
    spot_ws_api_url: str | None = None
    usdm_rest_url: str | None = None
    usdm_ws_url: str | None = None

    @property
    def urls(self) -> BinanceUrls:
        """The environment's URLs with the overrides applied."""
        base = URLS[self.environment]
        return BinanceUrls(
            spot_rest=(self.spot_rest_url or base.spot_rest).rstrip("/"),
            spot_ws_stream=(self.spot_ws_stream_url or base.spot_ws_stream).rstrip("/"),
            spot_ws_api=(self.spot_ws_api_url or base.spot_ws_api).rstrip("/"),
            usdm_rest=(self.usdm_rest_url or base.usdm_rest).rstrip("/"),
            usdm_ws=(self.usdm_ws_url or base.usdm_ws).rstrip("/"),
        )

    @classmethod
    def for_emulator(
        cls, http_root: str, ws_root: str, *, environment: Environment = "test", recv_window_ms: int = 5000
    ) -> BinanceConfig:
        """Every URL pointed at one emulator (``http://127.0.0.1:PORT``, ``ws://127.0.0.1:PORT``),
        keeping the venue's paths below the root."""
        http_root, ws_root = http_root.rstrip("/"), ws_root.rstrip("/")
        return cls(
            environment=environment,
            recv_window_ms=recv_window_ms,
            spot_rest_url=http_root,
            spot_ws_stream_url=ws_root,
            spot_ws_api_url=f"{ws_root}/ws-api/v3",
            usdm_rest_url=http_root,
            usdm_ws_url=ws_root,
        )


def decode_config(data: bytes | str) -> BinanceConfig:
    """A config from JSON (the daemon's config loader converts TOML to the same dict)."""
    return msgspec.json.decode(data, type=BinanceConfig)
