"""`vibetrading validate --config`: the example passes; each refusal has its code; nothing connects."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from daemon.cli import main

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "ops" / "vibetrading.example.toml"
SMA = REPO / "strategies" / "examples" / "sma_cross.py"
CANONICAL = REPO / "strategies" / "my_strategy_a.py"
SECRET = "topsecret-do-not-print-987654321"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    rc = main(["validate", *argv, "--json"])
    return rc, json.loads(capsys.readouterr().out)


def write_config(
    tmp_path: Path,
    body: str,
    *,
    strategy: Path = SMA,
    symbol: str = "binance-spot:BTCUSDT",
    mode: str = "paper",
) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(
        f'mode = "{mode}"\n[strategy]\nfile = "{strategy}"\nparams = {{ symbol = "{symbol}" }}\n'
        f'[state]\ndir = "{tmp_path / "state"}"\n{body}'
    )
    return path


def error_code(result: dict[str, object]) -> str:
    error = result["error"]
    assert isinstance(error, dict)
    return str(error["code"])


def test_example_config_passes_in_paper_mode(capsys: pytest.CaptureFixture[str]) -> None:
    rc, result = run(capsys, "--config", str(EXAMPLE))
    assert rc == 0, result
    assert result["mode"] == "paper"
    assert result["universe"] == ["binance-spot:BTCUSDT"]
    assert result["routes"] == {"binance-spot:BTCUSDT": "binance"}
    assert result["warnings"] == []


def test_text_output_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for _ in range(2):
        assert main(["validate", "--config", str(EXAMPLE)]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    assert outputs[0].startswith(
        f"OK {EXAMPLE}: single strategy 'sma_cross' on binance-spot:BTCUSDT via binance"
    )


def test_canonical_strategy_pointed_at_a_crypto_symbol(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, result = run(
        capsys, "--config", str(write_config(tmp_path, "[venues.binance]\n", strategy=CANONICAL))
    )
    assert rc == 0, result


def test_live_with_each_credential_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "binance.json"
    keys.write_text(json.dumps({"api_key": "k" * 16, "api_secret": SECRET}))
    os.chmod(keys, 0o600)
    monkeypatch.setenv("VTTEST_API_KEY", "k" * 16)
    monkeypatch.setenv("VTTEST_API_SECRET", SECRET)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    for source in (f"file:{keys}", "file:binance.json", "env:VTTEST", "systemd:binance.json"):
        path = write_config(tmp_path, f'[venues.binance]\ncredentials = "{source}"\n', mode="live")
        rc, result = run(capsys, "--config", str(path))
        assert rc == 0, (source, result)
        assert result["mode"] == "live"


def test_live_refusals_name_the_source_never_the_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "binance.json"
    keys.write_text(json.dumps({"api_key": "k" * 16, "api_secret": SECRET}))
    os.chmod(keys, 0o644)
    path = write_config(tmp_path, f'[venues.binance]\ncredentials = "file:{keys}"\n')
    rc, result = run(capsys, "--config", str(path), "--mode", "live")
    assert rc == 1 and error_code(result) == "VT912"
    assert SECRET not in json.dumps(result)
    # paper mode reads no key: the same file passes, with a note that it was not read
    rc, result = run(capsys, "--config", str(path))
    assert rc == 0, result
    assert result["warnings"] == ["venues.binance.credentials: not read in paper mode (no order leaves)"]


@pytest.mark.parametrize(
    ("body", "extra", "code"),
    [
        ("[venues.bybit]\n", [], "VT903"),  # binance-spot needs [venues.binance]
        ("[venues.binance]\nenviroment = 'test'\n", [], "VT901"),
        ("[venues.binance]\n", ["--mode", "live"], "VT914"),
        ("[venues.binance]\ncredentials = 'env:VT_SURELY_UNSET'\n", ["--mode", "live"], "VT911"),
        ("[venues.binance]\n[risk]\nmax_open_orders = -1\n", [], "VT902"),
        ("[venues.kis]\n", [], "VT914"),  # a broker's market data needs the key, even in paper
        ("[venues.kis]\n", ["--mode", "live"], "VT914"),  # live needs the key too
    ],
)
def test_each_refusal_has_its_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, extra: list[str], code: str
) -> None:
    symbol = "krx:005930" if "kis" in body else "binance-spot:BTCUSDT"
    path = write_config(tmp_path, body, symbol=symbol)
    rc, result = run(capsys, "--config", str(path), *extra)
    assert rc == 1
    assert error_code(result) == code, result


def test_market_no_run_venue_serves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, result = run(
        capsys, "--config", str(write_config(tmp_path, "[venues.binance]\n", symbol="ftx:BTC-PERP"))
    )
    assert rc == 1 and error_code(result) == "VT903"


def test_missing_strategy_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, "[venues.binance]\n", strategy=tmp_path / "absent.py")
    rc, result = run(capsys, "--config", str(path))
    assert rc == 1 and error_code(result) == "VT904"


def test_strategy_params_refused_as_validate_refuses_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, "[venues.binance]\n")
    rc, result = run(capsys, "--config", str(path), "--param", "size=-1")
    assert rc == 1 and error_code(result) == "VT111"
    rc, result = run(capsys, "--config", str(path), "--param", "sise=1")
    assert rc == 1 and error_code(result) == "VT110"


def test_state_directory_not_writable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.geteuid() == 0:  # root writes anywhere: let os.access say what it says for anyone else
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, m: Path(p) != locked and real_access(p, m))
    path = write_config(tmp_path, "[venues.binance]\n")
    for state in (locked / "state", locked):
        path.write_text(path.read_text().replace(str(tmp_path / "state"), str(state)))
        rc, result = run(capsys, "--config", str(path))
        assert rc == 1 and error_code(result) == "VT905", result
        path = write_config(tmp_path, "[venues.binance]\n")


def test_state_directory_checks_create_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, "[venues.binance]\n")
    rc, _ = run(capsys, "--config", str(path))
    assert rc == 0
    assert not (tmp_path / "state").exists()
    path.write_text(
        path.read_text().replace(str(tmp_path / "state"), str(tmp_path / "no" / "such" / "state"))
    )
    rc, result = run(capsys, "--config", str(path))
    assert rc == 1 and error_code(result) == "VT905"
    (tmp_path / "file").write_text("")
    path.write_text(path.read_text().replace(str(tmp_path / "no" / "such" / "state"), str(tmp_path / "file")))
    rc, result = run(capsys, "--config", str(path))
    assert rc == 1 and error_code(result) == "VT905"


def test_non_loopback_health_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, '[venues.binance]\n[health]\nlisten = "0.0.0.0:8088"\n')
    rc, result = run(capsys, "--config", str(path))
    assert rc == 0
    warnings = result["warnings"]
    assert isinstance(warnings, list) and "not a loopback address" in warnings[0]
    assert main(["validate", "--config", str(path)]) == 0
    assert "warning: health.listen '0.0.0.0:8088'" in capsys.readouterr().err


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--config", str(EXAMPLE), str(SMA)]) == 2
    assert main(["validate", "--config", str(EXAMPLE), "--venue", "binance"]) == 2
    assert main(["validate", "--config", str(EXAMPLE), "--mode", "backtest"]) == 2
    capsys.readouterr()
    rc, result = run(capsys, "--config", str(tmp_path / "absent.toml"))
    assert rc == 1 and error_code(result) == "VT900"
