"""The Bybit settings and the endpoints they resolve to.

``environment = "production"`` trades on ``api.bybit.com``; ``"test"`` on Bybit's test environment,
``testnet`` (``api-testnet.bybit.com``, its own market data) or ``demo`` (``api-demo.bybit.com``: demo
trading on the production order book, so its public streams are production's). ``rest_url`` and
``ws_url`` override the hosts (an emulator on loopback); the paths stay Bybit's.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import msgspec

from adapters.bybit.errors import BybitConfigError

__all__ = ["BybitConfig", "Category", "Endpoints", "load_config"]

Category = Literal["spot", "linear"]

REST_PREFIX: Final = "/v5"
WS_PUBLIC_PATH: Final[dict[str, str]] = {"spot": "/v5/public/spot", "linear": "/v5/public/linear"}
WS_PRIVATE_PATH: Final = "/v5/private"
WS_TRADE_PATH: Final = "/v5/trade"

# environment → (REST host, public WebSocket host, private/trade WebSocket host)
_HOSTS: Final[dict[str, tuple[str, str, str]]] = {
    "production": ("https://api.bybit.com", "wss://stream.bybit.com", "wss://stream.bybit.com"),
    "testnet": (
        "https://api-testnet.bybit.com",
        "wss://stream-testnet.bybit.com",
        "wss://stream-testnet.bybit.com",
    ),
    "demo": ("https://api-demo.bybit.com", "wss://stream.bybit.com", "wss://stream-demo.bybit.com"),
}


class Endpoints(msgspec.Struct, frozen=True, kw_only=True):
    """Every URL the clients connect to, resolved from the settings."""

    rest: str  # base of the REST paths, ending in /v5
    ws_public_spot: str
    ws_public_linear: str
    ws_private: str
    ws_trade: str

    def ws_public(self, category: Category) -> str:
        return self.ws_public_spot if category == "spot" else self.ws_public_linear


class BybitConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Our own settings (not a venue message): unknown keys are a typo, so they are refused."""

    environment: Literal["production", "test"] = "production"
    #: which test environment ``environment = "test"`` means
    test_network: Literal["testnet", "demo"] = "testnet"
    #: override of the REST host, e.g. ``http://127.0.0.1:8081`` for the emulator
    rest_url: str | None = None
    #: override of every WebSocket host, e.g. ``ws://127.0.0.1:8081``
    ws_url: str | None = None
    recv_window_ms: Annotated[int, msgspec.Meta(gt=0, le=60_000)] = 5_000

    @classmethod
    def for_emulator(cls, http_root: str, ws_root: str, *, recv_window_ms: int = 5_000) -> BybitConfig:
        """The settings of a client pointed at an emulator (``RunningEmulator.http_root``/``ws_root``)."""
        return cls(environment="test", rest_url=http_root, ws_url=ws_root, recv_window_ms=recv_window_ms)

    def endpoints(self) -> Endpoints:
        network = "production" if self.environment == "production" else self.test_network
        rest, ws_public, ws_private = _HOSTS[network]
        if self.rest_url is not None:
            rest = self.rest_url.rstrip("/")
        if self.ws_url is not None:
            ws_public = ws_private = self.ws_url.rstrip("/")
        return Endpoints(
            rest=rest + REST_PREFIX,
            ws_public_spot=ws_public + WS_PUBLIC_PATH["spot"],
            ws_public_linear=ws_public + WS_PUBLIC_PATH["linear"],
            ws_private=ws_private + WS_PRIVATE_PATH,
            ws_trade=ws_private + WS_TRADE_PATH,
        )


def load_config(raw: dict[str, Any]) -> BybitConfig:
    """The settings from a mapping (a TOML table); anything invalid is a :class:`BybitConfigError`."""
    try:
        return msgspec.convert(raw, BybitConfig)
    except msgspec.ValidationError as exc:
        raise BybitConfigError(f"bybit settings invalid: {exc}") from None
