"""Bybit settings: endpoints per environment, emulator overrides, validation."""

from __future__ import annotations

import pytest

from adapters.bybit.config import BybitConfig, load_config
from adapters.bybit.errors import BybitConfigError


def test_production_endpoints() -> None:
    ep = BybitConfig().endpoints()
    assert ep.rest == "https://api.bybit.com/v5"
    assert ep.ws_public("spot") == "wss://stream.bybit.com/v5/public/spot"
    assert ep.ws_public("linear") == "wss://stream.bybit.com/v5/public/linear"
    assert ep.ws_private == "wss://stream.bybit.com/v5/private"
    assert ep.ws_trade == "wss://stream.bybit.com/v5/trade"
    assert BybitConfig().recv_window_ms == 5000


def test_test_environments() -> None:
    ep = load_config({"environment": "test"}).endpoints()
    assert ep.rest == "https://api-testnet.bybit.com/v5"
    assert ep.ws_public_spot == "wss://stream-testnet.bybit.com/v5/public/spot"
    assert ep.ws_private == "wss://stream-testnet.bybit.com/v5/private"
    demo = load_config({"environment": "test", "test_network": "demo"}).endpoints()
    assert demo.rest == "https://api-demo.bybit.com/v5"
    assert demo.ws_private == "wss://stream-demo.bybit.com/v5/private"
    assert demo.ws_public_linear == "wss://stream.bybit.com/v5/public/linear"  # demo trades on prod data


def test_emulator_overrides_keep_bybit_paths() -> None:
    ep = load_config({"rest_url": "http://127.0.0.1:8081/", "ws_url": "ws://127.0.0.1:8081"}).endpoints()
    assert ep.rest == "http://127.0.0.1:8081/v5"
    assert ep.ws_public_linear == "ws://127.0.0.1:8081/v5/public/linear"
    assert ep.ws_trade == "ws://127.0.0.1:8081/v5/trade"


@pytest.mark.parametrize(
    "raw",
    [{"environment": "testnet"}, {"recv_window_ms": 0}, {"recv_window_ms": 60_001}, {"recv_windw_ms": 5000}],
)
def test_invalid_settings_are_typed_errors(raw: dict[str, object]) -> None:
    with pytest.raises(BybitConfigError) as info:
        load_config(raw)
    assert info.value.code == "VT805"
