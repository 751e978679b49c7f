"""The Kiwoom REST settings and the endpoints they resolve to.

``environment = "production"`` trades on Kiwoom's real service (``api.kiwoom.com``); ``"test"`` on
its mock investment service (모의투자, ``mockapi.kiwoom.com``), which needs its own app key. Both
serve the same paths. ``rest_url`` and ``ws_url`` override the hosts (an emulator on loopback).
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import msgspec

from adapters.kiwoom.errors import KiwoomConfigError

__all__ = [
    "ACCOUNT_PATH",
    "ORDER_PATH",
    "TOKEN_PATH",
    "WS_PATH",
    "Endpoints",
    "Environment",
    "KiwoomConfig",
    "load_config",
]

Environment = Literal["production", "test"]

TOKEN_PATH: Final = "/oauth2/token"  # noqa: S105 - a path, not a secret
REVOKE_PATH: Final = "/oauth2/revoke"
ORDER_PATH: Final = "/api/dostk/ordr"
ACCOUNT_PATH: Final = "/api/dostk/acnt"
WS_PATH: Final = "/api/dostk/websocket"

# environment → (REST host, WebSocket host)
_HOSTS: Final[dict[str, tuple[str, str]]] = {
    "production": ("https://api.kiwoom.com", "wss://api.kiwoom.com:10000"),
    "test": ("https://mockapi.kiwoom.com", "wss://mockapi.kiwoom.com:10000"),
}


class Endpoints(msgspec.Struct, frozen=True, kw_only=True):
    rest: str  # the host; paths are appended as Kiwoom spells them
    ws: str  # the full WebSocket URL


class KiwoomConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Our own settings (not a broker message): unknown keys are a typo, so they are refused."""

    environment: Environment = "production"
    rest_url: str | None = None
    ws_url: str | None = None
    #: the client-side limit per api-id: Kiwoom publishes none; about 1/s sustained, burst 2 is measured
    rate_per_s: Annotated[float, msgspec.Meta(gt=0, le=50)] = 1.0
    rate_burst: Annotated[int, msgspec.Meta(ge=1, le=50)] = 2
    #: the exchange orders are routed to (``dmst_stex_tp``): the mock service takes KRX only
    exchange: Literal["KRX", "NXT", "SOR"] = "KRX"

    @classmethod
    def for_emulator(
        cls, http_root: str, ws_root: str, *, environment: Environment = "production", **kw: Any
    ) -> KiwoomConfig:
        """A client pointed at an emulator (``RunningEmulator.http_root``/``ws_root``)."""
        return cls(environment=environment, rest_url=http_root, ws_url=ws_root, **kw)

    def endpoints(self) -> Endpoints:
        rest, ws = _HOSTS[self.environment]
        if self.rest_url is not None:
            rest = self.rest_url.rstrip("/")
        if self.ws_url is not None:
            ws = self.ws_url.rstrip("/")
        return Endpoints(rest=rest, ws=ws + WS_PATH)


def load_config(raw: dict[str, Any]) -> KiwoomConfig:
    """The settings from a mapping (a TOML table); anything invalid is a :class:`KiwoomConfigError`."""
    try:
        config = msgspec.convert(raw, KiwoomConfig)
    except msgspec.ValidationError as exc:
        raise KiwoomConfigError(f"kiwoom settings invalid: {exc}") from None
    if config.environment == "test" and config.exchange != "KRX":
        raise KiwoomConfigError('kiwoom\'s mock service routes to KRX only: set exchange = "KRX"')
    return config
