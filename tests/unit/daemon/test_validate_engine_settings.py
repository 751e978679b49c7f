"""`vibetrading validate` refuses every setting the engine would refuse when a run starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.cli import main

PORTFOLIO = """
from collections.abc import Mapping

from engines.sdk import Bar, Context, Params, PortfolioStrategy, Weights


class P(Params, frozen=True, kw_only=True):
    universe: str = "krx:005930,krx:000660"


class Hourly(PortfolioStrategy[P]):
    name = "hourly"
    {setting}

    def rebalance(self, ctx: Context, bars: Mapping[str, Bar]) -> Weights:
        return {{}}


STRATEGY = Hourly
"""

ARBITRAGE = """
from engines.sdk import ArbIntent, ArbitrageParams, ArbitrageStrategy, Context, Snapshot


class P(ArbitrageParams, frozen=True, kw_only=True):
    legs: str = "binance-spot:BTCUSDT,binance-usdm:BTCUSDT"
    window_ms: int = -5


class Arb(ArbitrageStrategy[P]):
    name = "arb"

    def on_snapshot(self, ctx: Context, snapshot: Snapshot) -> ArbIntent | None:
        return None


STRATEGY = Arb
"""


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ('schedule = "hourly"', "schedule"),
        ("rebalance_by_ms = -1", "rebalance_by_ms"),
        ('schedule = "on_demand"\n    rebalance_by_ms = 60_000', "rebalance_by_ms"),
        ('cash_buffer = Decimal("1.5")', "cash_buffer"),
    ],
)
def test_a_portfolio_setting_the_engine_refuses_fails_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setting: str, named: str
) -> None:
    path = tmp_path / "p.py"
    source = PORTFOLIO.format(setting=setting)
    if "Decimal" in setting:
        source = "from decimal import Decimal\n" + source
    path.write_text(source)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "VT111" in err and named in err


def test_a_portfolio_with_valid_settings_passes_validate(tmp_path: Path) -> None:
    path = tmp_path / "p.py"
    path.write_text(PORTFOLIO.format(setting='schedule = "daily"\n    rebalance_by_ms = 3_600_000'))
    assert main(["validate", str(path)]) == 0


def test_an_arbitrage_setting_the_engine_refuses_fails_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a.py"
    path.write_text(ARBITRAGE)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert ("VT342" in err or "VT111" in err) and "window_ms" in err
