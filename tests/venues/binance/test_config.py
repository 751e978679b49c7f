"""Binance settings: environments, overrides, the emulator, the receive window."""

from __future__ import annotations

import msgspec
import pytest

from adapters.binance.config import SPOT_REST_PREFIX, USDM_REST_PREFIX, BinanceConfig, decode_config


def test_defaults_are_production_with_binance_default_recv_window() -> None:
    c = BinanceConfig()
    assert (c.environment, c.recv_window_ms) == ("production", 5000)
    u = c.urls
    assert u.spot_rest + SPOT_REST_PREFIX == "https://api.binance.com/api/v3"
    assert u.usdm_rest + USDM_REST_PREFIX == "https://fapi.binance.com/fapi/v1"
    assert u.spot_ws_stream == "wss://stream.binance.com:9443"
    assert u.usdm_ws == "wss://fstream.binance.com"


def test_test_environment_is_spot_testnet_and_futures_demo() -> None:
    u = BinanceConfig(environment="test").urls
    assert u.spot_rest == "https://testnet.binance.vision"
    assert u.usdm_rest == "https://demo-fapi.binance.com"
    assert u.usdm_ws == "wss://fstream.binancefuture.com"


def test_emulator_overrides_every_url() -> None:
    u = BinanceConfig.for_emulator("http://127.0.0.1:8080/", "ws://127.0.0.1:8080").urls
    assert (u.spot_rest, u.usdm_rest) == ("http://127.0.0.1:8080", "http://127.0.0.1:8080")
    assert (u.spot_ws_stream, u.spot_ws_api, u.usdm_ws) == (
        "ws://127.0.0.1:8080",
        "ws://127.0.0.1:8080/ws-api/v3",
        "ws://127.0.0.1:8080",
    )
    one = BinanceConfig(usdm_rest_url="http://127.0.0.1:9").urls
    assert one.usdm_rest == "http://127.0.0.1:9" and one.spot_rest == "https://api.binance.com"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"environment":"staging"}',
        b'{"recv_window_ms":60001}',
        b'{"recv_window_ms":0}',
        b'{"recv_windw_ms":5000}',
    ],
)
def test_invalid_settings_are_refused(raw: bytes) -> None:
    with pytest.raises(msgspec.ValidationError):
        decode_config(raw)


def test_decode_config() -> None:
    assert decode_config(b'{"environment":"test","recv_window_ms":10000}') == BinanceConfig(
        environment="test", recv_window_ms=10000
    )
