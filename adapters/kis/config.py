"""The KIS settings and the endpoints and transaction ids they resolve to.

``environment = "production"`` trades on KIS's real service (실전, ``openapi.koreainvestment.com:9443``);
``"test"`` on its mock service (모의투자, ``openapivts.koreainvestment.com:29443``), as ``"test"`` means
the venue's test environment on every venue. :attr:`KisConfig.service` is KIS's name of it,
``"real"`` or ``"mock"``. The two need separate app keys and accounts. The mock
transaction ids are the real ones with their first letter (T, J or C) replaced by ``V``
(:func:`tr_id`). ``rest_url`` and ``ws_url`` override the hosts (an emulator on loopback); the paths
stay KIS's. ``account`` is the 8-digit CANO, ``product`` the 2-digit ACNT_PRDT_CD.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import msgspec

from adapters.kis.errors import KisConfigError

__all__ = [
    "PATHS",
    "TR_IDS",
    "Environment",
    "KisConfig",
    "load_config",
    "tr_id",
]

Environment = Literal["real", "mock"]

_REST: Final[dict[str, str]] = {
    "real": "https://openapi.koreainvestment.com:9443",
    "mock": "https://openapivts.koreainvestment.com:29443",
}
_WS: Final[dict[str, str]] = {
    "real": "ws://ops.koreainvestment.com:21000",
    "mock": "ws://ops.koreainvestment.com:31000",
}

#: REST paths by what they do
PATHS: Final[dict[str, str]] = {
    "token": "/oauth2/tokenP",
    "revoke": "/oauth2/revokeP",
    "approval": "/oauth2/Approval",
    "order": "/uapi/domestic-stock/v1/trading/order-cash",
    "cancel": "/uapi/domestic-stock/v1/trading/order-rvsecncl",
    "daily_ccld": "/uapi/domestic-stock/v1/trading/inquire-daily-ccld",
    "balance": "/uapi/domestic-stock/v1/trading/inquire-balance",
    "psbl_order": "/uapi/domestic-stock/v1/trading/inquire-psbl-order",
    "holiday": "/uapi/domestic-stock/v1/quotations/chk-holiday",
}

#: the real transaction ids; :func:`tr_id` derives the mock ones
TR_IDS: Final[dict[str, str]] = {
    "sell": "TTTC0011U",
    "buy": "TTTC0012U",
    "sell_legacy": "TTTC0801U",
    "buy_legacy": "TTTC0802U",
    "cancel": "TTTC0013U",
    "daily_ccld": "TTTC0081R",
    "balance": "TTTC8434R",
    "psbl_order": "TTTC8908R",
    "holiday": "CTCA0903R",  # 국내휴장일조회; KIS asks callers to keep it to about once a day
    "notice": "H0STCNI0",
    "trade": "H0STCNT0",
    "book": "H0STASP0",
}
_MOCK_NOTICE: Final = "H0STCNI9"


def tr_id(real: str, environment: Environment) -> str:
    """The transaction id of ``real`` in ``environment``: mock replaces a leading T, J or C with V.

    The execution notice is the one exception with its own mock id (``H0STCNI9``); market data ids
    (``H0ST...``) are the same in both environments.
    """
    if environment == "real":
        return real
    if real == TR_IDS["notice"]:
        return _MOCK_NOTICE
    if real[:1] in ("T", "J", "C"):
        return "V" + real[1:]
    return real


class KisConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Our own settings (not a broker message): unknown keys are a typo, so they are refused."""

    environment: Literal["production", "test"] = "production"
    #: override of the REST host, e.g. ``http://127.0.0.1:8081`` for the emulator
    rest_url: str | None = None
    #: override of the WebSocket host, e.g. ``ws://127.0.0.1:8081``
    ws_url: str | None = None
    #: the account number (CANO, 8 digits) and product code (ACNT_PRDT_CD, 2 digits)
    account: str = ""
    product: str = "01"
    #: the HTS id the execution notices are registered under (their ``tr_key``)
    hts_id: str = ""
    #: the exchange orders are routed to (EXCG_ID_DVSN_CD): KRX, NXT or SOR
    exchange: Literal["KRX", "NXT", "SOR"] = "KRX"

    def __post_init__(self) -> None:
        if self.account and not (len(self.account) == 8 and self.account.isdigit()):
            raise KisConfigError(f"kis account {self.account!r}: expected the 8-digit CANO")
        if not (len(self.product) == 2 and self.product.isdigit()):
            raise KisConfigError(f"kis product {self.product!r}: expected the 2-digit ACNT_PRDT_CD")

    @classmethod
    def for_emulator(
        cls, http_root: str, ws_root: str, *, environment: Environment = "real", account: str = "12345678"
    ) -> KisConfig:
        """A client pointed at an emulator (``RunningEmulator.http_root``/``ws_root``)."""
        return cls(
            environment="production" if environment == "real" else "test",
            rest_url=http_root,
            ws_url=ws_root,
            account=account,
            hts_id="vthts",
        )

    @property
    def service(self) -> Environment:
        """KIS's name of the environment: ``real`` (실전) or ``mock`` (모의투자)."""
        return "real" if self.environment == "production" else "mock"

    @property
    def rest_root(self) -> str:
        return (self.rest_url or _REST[self.service]).rstrip("/")

    @property
    def ws_root(self) -> str:
        return (self.ws_url or _WS[self.service]).rstrip("/")

    def tr(self, name: str) -> str:
        """The transaction id of ``name`` (a key of :data:`TR_IDS`) in this environment."""
        return tr_id(TR_IDS[name], self.service)


def load_config(raw: dict[str, Any]) -> KisConfig:
    """The settings from a mapping (a TOML table); anything invalid is a :class:`KisConfigError`."""
    try:
        return msgspec.convert(raw, KisConfig)
    except msgspec.ValidationError as exc:
        raise KisConfigError(f"kis settings invalid: {exc}") from None
