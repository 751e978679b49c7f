"""The capability matrix: complete, honest about today, and equal to the README and docs."""

from __future__ import annotations

import pytest

from adapters import capabilities
from adapters.capabilities import MATRIX, Capability, Mode, Support, preflight
from daemon.docs import ERRORS_MD, README, readme_with_table, render_errors
from engines.errors import CapabilityError


def test_every_venue_capability_mode_has_a_cell_with_a_note() -> None:
    for venue in ("sim", "binance", "bybit", "kis", "kiwoom"):
        for capability in Capability:
            for mode in Mode:
                cell = MATRIX[(venue, capability, mode)]
                assert cell.note, (venue, capability, mode)


def test_implemented_cells_are_the_tested_ones() -> None:
    implemented = {(v, m) for (v, _c, m), cell in MATRIX.items() if cell.support is Support.IMPLEMENTED}
    assert implemented == {
        ("sim", Mode.BACKTEST),  # tests/replay
        ("binance", Mode.PAPER),  # tests/unit/adapters/test_paper_emulator.py
        ("binance", Mode.LIVE),  # tests/contract/test_venue_binance.py
        ("bybit", Mode.PAPER),
        ("bybit", Mode.LIVE),  # tests/contract/test_venue_bybit.py
        ("kis", Mode.PAPER),  # tests/live/test_session_krx.py
        ("kis", Mode.LIVE),  # tests/contract/test_venue_kis.py, tests/live/test_session_krx.py
        ("kiwoom", Mode.PAPER),  # tests/live/test_session_krx.py
        ("kiwoom", Mode.LIVE),  # tests/contract/test_venue_kiwoom.py, tests/live/test_session_krx.py
    }


def test_preflight_accepts_the_crypto_venues_in_paper_and_live() -> None:
    for mode in (Mode.PAPER, Mode.LIVE):
        assert preflight(["binance"], mode, ["binance-spot:BTCUSDT", "binance-usdm:BTCUSDT"]) is None
        assert preflight(["bybit"], mode, ["bybit-spot:BTCUSDT", "bybit-linear:BTCUSDT"]) is None


def test_readme_table_is_generated_from_the_matrix() -> None:
    text = README.read_text()
    assert "<!-- capabilities:begin -->" in text
    assert readme_with_table(text) == text, "run `python -m daemon.docs` to regenerate the README table"


def test_error_docs_list_every_code() -> None:
    assert ERRORS_MD.read_text() == render_errors(), "run `python -m daemon.docs`"


def test_preflight_accepts_krx_on_sim_backtest() -> None:
    assert preflight(["sim"], Mode.BACKTEST, ["krx:005930"]) is None


@pytest.mark.parametrize(
    ("venues", "mode", "symbol", "code"),
    [
        (["nasdaq"], Mode.BACKTEST, "krx:005930", "VT130"),
        (["sim"], Mode.LIVE, "krx:005930", "VT132"),
        (["kiwoom"], Mode.BACKTEST, "krx:005930", "VT132"),
        (["binance"], Mode.PAPER, "krx:005930", "VT133"),
        (["binance"], Mode.LIVE, "binance-coinm:BTCUSD_PERP", "VT133"),
        (["sim"], Mode.PAPER, "binance-spot:BTCUSDT", "VT132"),
        (["sim"], Mode.BACKTEST, "lse:VOD", "VT134"),
    ],
)
def test_preflight_refuses_with_a_typed_code(venues: list[str], mode: Mode, symbol: str, code: str) -> None:
    with pytest.raises(CapabilityError) as exc:
        preflight(venues, mode, [symbol])
    assert exc.value.code == code


def test_json_rendering_has_every_cell() -> None:
    data = capabilities.as_json()
    venues = data["venues"]
    assert isinstance(venues, list)
    assert sum(len(v["cells"]) for v in venues) == len(MATRIX)
