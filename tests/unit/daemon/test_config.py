"""The run configuration: strict keys with suggestions, types and ranges, paths, defaults."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.capabilities import Mode
from daemon.config import ConfigError, load_config
from daemon.preflight import UsageError

MINIMAL = """
[strategy]
file = "strategy.py"
"""


def config(tmp_path: Path, text: str, name: str = "run.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(config(tmp_path, text))
    return info.value


def test_defaults(tmp_path: Path) -> None:
    cfg = load_config(config(tmp_path, MINIMAL))
    assert cfg.mode is Mode.PAPER
    assert cfg.health.listen == "127.0.0.1:8088" and cfg.health.port == 8088 and cfg.health.loopback
    assert cfg.stop.on_stop == "cancel"
    assert cfg.runtime.loop == "uvloop" and cfg.runtime.strategy_call_budget_ms == 250
    assert cfg.state_dir == Path("/var/lib/vibetrading")
    assert cfg.venues == {} and cfg.params == ()
    assert cfg.risk.max_order_notional is None and cfg.risk.position_limit("binance-spot:BTCUSDT") is None


def test_relative_paths_are_read_from_the_config_directory(tmp_path: Path) -> None:
    sub = tmp_path / "etc"
    sub.mkdir()
    cfg = load_config(
        config(
            sub,
            """
            [strategy]
            file = "../strategies/s.py"
            [state]
            dir = "state"
            [venues.binance]
            credentials = "file:keys/binance.json"
            [venues.bybit]
            credentials = "env:BYBIT"
            """,
        )
    )
    assert cfg.strategy_file == tmp_path.resolve() / "strategies" / "s.py"
    assert cfg.state_dir == sub.resolve() / "state"
    assert cfg.venues["binance"].credentials == f"file:{sub.resolve() / 'keys' / 'binance.json'}"
    assert cfg.venues["bybit"].credentials == "env:BYBIT"


def test_params_as_the_command_line_gives_them(tmp_path: Path) -> None:
    cfg = load_config(
        config(
            tmp_path,
            """
            [strategy]
            file = "s.py"
            [strategy.params]
            symbol = "binance-spot:BTCUSDT"
            size = "0.001"
            fast = 10
            ratio = 0.5
            short = true
            legs = ["binance-spot:BTCUSDT", "bybit-linear:BTCUSDT"]
            """,
        )
    )
    assert cfg.params == (
        "symbol=binance-spot:BTCUSDT",
        "size=0.001",
        "fast=10",
        "ratio=0.5",
        "short=true",
        "legs=binance-spot:BTCUSDT,bybit-linear:BTCUSDT",
    )


def test_mode_override(tmp_path: Path) -> None:
    path = config(tmp_path, 'mode = "live"\n' + MINIMAL)
    assert load_config(path).mode is Mode.LIVE
    assert load_config(path, mode="paper").mode is Mode.PAPER
    with pytest.raises(UsageError):
        load_config(path, mode="backtest")


@pytest.mark.parametrize(
    ("text", "key", "suggestion"),
    [
        (MINIMAL + '[venues.binance]\nenviroment = "test"\n', "venues.binance.enviroment", "environment"),
        ("mdoe = 'live'\n" + MINIMAL, "mdoe", "mode"),
        (MINIMAL + "[risk]\nmax_order_notinal = 5\n", "risk.max_order_notinal", "max_order_notional"),
        (MINIMAL + "[helth]\nlisten = '127.0.0.1:1'\n", "helth", "health"),
        (MINIMAL + "[venues.binanse]\n", "venues.binanse", "binance"),
        (MINIMAL + "[runtime]\nloops = 'asyncio'\n", "runtime.loops", "loop"),
    ],
)
def test_unknown_keys_are_refused_with_a_suggestion(
    tmp_path: Path, text: str, key: str, suggestion: str
) -> None:
    exc = error(tmp_path, text)
    assert exc.code == "VT901"
    assert exc.key == key
    assert f"did you mean {suggestion!r}" in exc.message
    assert exc.file == str(tmp_path / "run.toml")
    assert str(exc).startswith(f"{tmp_path / 'run.toml'}: VT901 {key}: unknown")


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ('mode = "backtest"\n' + MINIMAL, "mode", "paper"),
        (MINIMAL + '[venues.binance]\nenvironment = "prod"\n', "venues.binance.environment", "production"),
        (MINIMAL + "[venues.binance]\nrest_url = 9001\n", "venues.binance.rest_url", "string"),
        (MINIMAL + '[venues.binance]\nrest_url = "127.0.0.1:9001"\n', "venues.binance.rest_url", "http://"),
        (MINIMAL + '[venues.binance]\ncredentials = "vault:x"\n', "venues.binance.credentials", "env:"),
        (MINIMAL + "[risk]\nmax_open_orders = 0\n", "risk.max_open_orders", "above 0"),
        (MINIMAL + "[risk]\nmax_open_orders = 2.5\n", "risk.max_open_orders", "int"),
        (MINIMAL + '[risk]\nmax_order_notional = "-5"\n', "risk.max_order_notional", "above 0"),
        (MINIMAL + '[risk]\ndaily_loss_limit = "lots"\n', "risk.daily_loss_limit", "decimal"),
        (MINIMAL + '[risk]\nmax_position = { "nope" = "1" }\n', "risk.max_position.nope", ""),
        (
            MINIMAL + "[risk]\nmax_orders_per_second = { binanse = 5 }\n",
            "risk.max_orders_per_second.binanse",
            "binance",
        ),
        (MINIMAL + "[strategy.params]\nsymbol = { a = 1 }\n", "strategy.params.symbol", "table"),
        (MINIMAL + '[health]\nlisten = "127.0.0.1"\n', "health.listen", "HOST:PORT"),
        (MINIMAL + '[health]\nlisten = "127.0.0.1:70000"\n', "health.listen", "65535"),
        (MINIMAL + '[stop]\non_stop = "flatten"\n', "stop.on_stop", "cancel"),
        (MINIMAL + '[runtime]\nloop = "trio"\n', "runtime.loop", "uvloop"),
        (MINIMAL + "[runtime]\nstrategy_call_budget_ms = 0\n", "runtime.strategy_call_budget_ms", "1 to"),
        ("[strategy]\nparams = {}\n", "strategy.file", "required"),
        (MINIMAL.replace('"strategy.py"', "3"), "strategy.file", "string"),
        ("mode = 'paper'\n", "strategy", "required"),
    ],
)
def test_wrong_types_and_ranges_name_the_key(tmp_path: Path, text: str, key: str, words: str) -> None:
    exc = error(tmp_path, text)
    assert exc.code == "VT902", exc
    assert exc.key == key, exc
    assert words in exc.message, exc


def test_risk_limits_by_symbol_and_venue(tmp_path: Path) -> None:
    cfg = load_config(
        config(
            tmp_path,
            MINIMAL
            + """
            [risk]
            max_order_notional = 1000.5
            max_position = { default = "0.5", "binance-spot:BTCUSDT" = 0.01 }
            max_orders_per_second = { default = 10, bybit = 3 }
            """,
        )
    )
    assert cfg.risk.max_order_notional == Decimal("1000.5")
    assert cfg.risk.position_limit("binance-spot:BTCUSDT") == Decimal("0.01")
    assert cfg.risk.position_limit("bybit-linear:BTCUSDT") == Decimal("0.5")
    assert cfg.risk.orders_per_second("bybit") == 3 and cfg.risk.orders_per_second("binance") == 10


@pytest.mark.parametrize(
    ("listen", "loopback"),
    [("127.0.0.1:8088", True), ("[::1]:9000", True), ("localhost:1", True), ("0.0.0.0:8088", False)],
)
def test_listen_addresses(tmp_path: Path, listen: str, loopback: bool) -> None:
    cfg = load_config(config(tmp_path, MINIMAL + f'[health]\nlisten = "{listen}"\n'))
    assert cfg.health.loopback is loopback


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "absent.toml")
    assert info.value.code == "VT900"
    exc = error(tmp_path, "[strategy\nfile = 1\n")
    assert exc.code == "VT900" and "line 1" in exc.message
    path = tmp_path / "bad.toml"
    path.write_bytes(b"mode = '\xff'\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.code == "VT900"
