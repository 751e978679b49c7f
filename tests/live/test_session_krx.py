"""A KOSPI portfolio through `LiveSession` against the Korean brokers' emulators: paper on KIS and
Kiwoom (the broker's market data, bars built from its trades, fills by the simulated venue under KRX
rules), and live on Kiwoom (orders to the emulator, whole shares, validated by the KRX rules before
they leave). Both emulators run on a session clock (11:00 KST of the last trading day)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.emulator import EmulatorOptions
from adapters.emulator.options import TEST_API_KEY, TEST_API_SECRET
from adapters.emulator.server import RunningEmulator
from adapters.kis.emulator import SessionClock, serve_kis
from adapters.kiwoom.emulator import serve_kiwoom
from daemon.journal import verify
from engines.model.events import OrderFilled, Rebalanced, RunFinished
from tests.live.harness import REPO, journal_events, start

SAMSUNG, HYNIX = "krx:005930", "krx:000660"


def _config(tmp: Path, venue: str, emulator: RunningEmulator, mode: str) -> Path:
    creds = tmp / "credentials.json"
    creds.write_text(
        json.dumps({"api_key": TEST_API_KEY, "api_secret": TEST_API_SECRET, "account": "12345678"})
    )
    creds.chmod(0o600)
    text = f"""mode = "{mode}"
[strategy]
file = "{REPO / "strategies/examples/rebalance.py"}"
params = {{ universe = "{SAMSUNG},{HYNIX}", schedule = "on_demand", cash_buffer = "0.1" }}
[venues.{venue}]
environment = "production"
rest_url = "{emulator.http_root}"
ws_url = "{emulator.ws_root}"
credentials = "file:{creds}"
{'hts_id = "vtuser01"' if venue == "kis" else ""}
[state]
dir = "{tmp / "state"}"
[market]
bar_seconds = 1
"""
    path = tmp / "run.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("venue", "mode"), [("kiwoom", "paper"), ("kiwoom", "live"), ("kis", "paper"), ("kis", "live")]
)
async def test_a_kospi_portfolio_rebalances_through_a_korean_broker(
    tmp_path: Path, venue: str, mode: str
) -> None:
    options = EmulatorOptions(symbols=(SAMSUNG, HYNIX), walk_interval_s=0.02, seed=9)
    emulator = await (serve_kiwoom(options) if venue == "kiwoom" else serve_kis(options))
    try:
        running = await start(
            _config(tmp_path, venue, emulator, mode),
            paper_cash=Decimal(100_000_000),
            venue_clock=SessionClock.in_session(),  # orders in a KRX session, whatever the hour here
        )

        def held() -> bool:
            kernel = running.session.kernel
            return kernel is not None and all(kernel.ledger.position(s).qty > 0 for s in (SAMSUNG, HYNIX))

        await running.wait_for(held, timeout=20, what="both stocks bought")
        status, ready = await running.get("/readyz")
        assert status == 200, ready
        assert await running.stop() == 0
    finally:
        await emulator.close()
    state = tmp_path / "state"
    assert verify(state / "journal.vtj").ok
    events = journal_events(state)
    assert any(isinstance(e, Rebalanced) for e in events)
    fills = [e for e in events if isinstance(e, OrderFilled)]
    assert {f.instrument for f in fills} == {SAMSUNG, HYNIX}
    assert all(f.last_qty == f.last_qty.to_integral_value() for f in fills)  # whole shares
    assert isinstance(events[-1], RunFinished)
