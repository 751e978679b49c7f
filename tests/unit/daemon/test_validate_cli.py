"""`vibetrading validate`: the canonical file passes with each type; each refusal has its code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.cli import main

REPO = Path(__file__).resolve().parents[3]
CANONICAL = REPO / "strategies" / "my_strategy_a.py"
SWITCH = re.compile(r'^STRATEGY_TYPE = "single"', re.MULTILINE)


def variant(tmp_path: Path, *, strategy_type: str = "single", replace: tuple[str, str] | None = None) -> Path:
    source = CANONICAL.read_text()
    assert SWITCH.search(source), "the one-line switch must stay at the top of the canonical file"
    source = SWITCH.sub(f'STRATEGY_TYPE = "{strategy_type}"', source, count=1)
    if replace is not None:
        old, new = replace
        assert old in source
        source = source.replace(old, new, 1)
    path = tmp_path / "strategy.py"
    path.write_text(source)
    return path


def test_fourth_type_declared_on_the_class_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = variant(
        tmp_path,
        replace=(
            '    name = "my_strategy_a_single"\n',
            '    name = "my_strategy_a_single"\n    type = "market_making"\n',
        ),
    )
    rc, result = run(capsys, str(path))
    assert rc == 1
    error = result["error"]
    assert isinstance(error, dict)
    assert error["code"] == "VT101"
    assert "market_making" in str(error["message"])


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    rc = main(["validate", *argv, "--json"])
    out = capsys.readouterr().out
    return rc, json.loads(out)


@pytest.mark.parametrize("strategy_type", ["single", "portfolio", "arbitrage"])
def test_canonical_file_validates_with_each_type_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], strategy_type: str
) -> None:
    rc, result = run(capsys, str(variant(tmp_path, strategy_type=strategy_type)))
    assert rc == 0, result
    assert result["type"] == strategy_type


def test_canonical_file_validates_as_committed(capsys: pytest.CaptureFixture[str]) -> None:
    rc, result = run(capsys, str(CANONICAL))
    assert rc == 0, result


REFUSALS = {
    "fourth type": ({"strategy_type": "market_making"}, [], "VT101"),
    "single with 2 symbols": ({}, ["--param", "symbol=krx:005930,krx:000660"], "VT121"),
    "arbitrage with 4 legs": (
        {"strategy_type": "arbitrage"},
        [
            "--param",
            "legs=binance-spot:BTCUSDT,binance-usdm:BTCUSDT,bybit-spot:BTCUSDT,bybit-linear:BTCUSDT",
        ],
        "VT121",
    ),
    "portfolio with 1 symbol": (
        {"strategy_type": "portfolio"},
        ["--param", "universe=krx:005930"],
        "VT121",
    ),
    "unknown venue": ({}, ["--venue", "ftx"], "VT130"),
    "venue x mode unsupported": ({}, ["--venue", "sim", "--mode", "live"], "VT132"),
    "market not on venue": ({}, ["--venue", "binance", "--mode", "live"], "VT133"),
    "unknown parameter": ({}, ["--param", "nope=1"], "VT110"),
    "bad parameter type": ({}, ["--param", "fast=ten"], "VT111"),
    "parameter out of bounds": ({}, ["--param", "fast=0"], "VT111"),
    "malformed --param": ({}, ["--param", "fast"], "VT113"),
    "invalid symbol": ({}, ["--param", "symbol=BTCUSDT"], "VT120"),
    "type flag conflicts with declaration": ({}, ["--type", "portfolio"], "VT103"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusal_has_its_code(tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    kwargs, argv, code = REFUSALS[case]
    rc, result = run(capsys, str(variant(tmp_path, **kwargs)), *argv)  # type: ignore[arg-type]
    assert rc == 1
    assert result["ok"] is False
    error = result["error"]
    assert isinstance(error, dict)
    assert error["code"] == code, error
    assert error["hint"]


def test_refusal_points_at_the_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = variant(tmp_path, strategy_type="market_making")
    rc, result = run(capsys, str(path))
    assert rc == 1
    error = result["error"]
    assert isinstance(error, dict)
    source = path.read_text()
    switch = re.search(r'^STRATEGY_TYPE = "market_making"', source, re.MULTILINE)
    assert switch is not None
    switch_line = source.count("\n", 0, switch.start()) + 1  # the one-line switch, not the docstring
    assert (error["code"], error["file"], error["line"]) == ("VT101", str(path), switch_line)
    rc = main(["validate", str(path)])
    assert rc == 1
    assert f"{path}:{switch_line}: VT101 " in capsys.readouterr().err


def test_missing_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "absent.py")]) == 2


def test_bad_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--mode", "moon"])
    assert exc.value.code == 2


def test_refusal_prints_no_traceback_from_the_real_command(tmp_path: Path) -> None:
    path = variant(tmp_path, replace=('symbol: str = "krx:005930"', 'symbol: str = "krx:005930,krx:000660"'))
    proc = subprocess.run(
        [sys.executable, "-m", "daemon.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 1
    assert "VT121" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"{path}:" in proc.stderr
