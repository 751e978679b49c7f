"""One live session per fault kind the emulators inject beyond timeouts and resets (docs/chaos.md):
each test forces the fault once (``Faults.force``) and checks what the daemon is documented to do.

* ``429``: the client waits the venue's ``Retry-After`` before its next request; nothing is resent;
* ``418``: the venue is stopped, ``/readyz`` says why (``rate_limit:binance``), no order goes out;
* ``clock-skew``: -1021 makes the client measure the venue's clock again; ``clock_offset`` shows it;
* ``stall-ws``: a silent market stream makes ``/readyz`` false, the stale detector reconnects;
* ``stale-quote``: one arbitrage leg stale → ``market_stream`` false and no snapshot traded;
* ``token-expiry``: KIS EGW00123 / Kiwoom 8005 → a new token, and the session goes on.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.binance.config import BinanceConfig
from adapters.binance.emulator import serve_binance
from adapters.binance.market_data import BinanceMarketData
from adapters.binance.rest import BinanceRest
from adapters.bybit.config import BybitConfig
from adapters.bybit.emulator import serve_bybit
from adapters.bybit.rest import BybitRest
from adapters.emulator import EmulatorOptions
from adapters.emulator.options import TEST_API_KEY, TEST_API_SECRET
from adapters.emulator.server import RunningEmulator
from adapters.kis import auth as kis_auth
from adapters.kis.emulator import SessionClock, serve_kis
from adapters.kis.emulator_rest import VENUE_KEY as KIS_VENUE
from adapters.kiwoom.emulator import serve_kiwoom
from adapters.kiwoom.emulator_rest import VENUE_KEY as KIWOOM_VENUE
from engines.model.events import OrderSubmitted
from tests.live.harness import REPO, STRATEGIES, Running, journal_events, start, write_config

BTC, PERP = "binance-spot:BTCUSDT", "bybit-linear:BTCUSDT"
SAMSUNG, HYNIX = "krx:005930", "krx:000660"


@asynccontextmanager
async def _flip(tmp_path: Path, **options: Any) -> AsyncIterator[tuple[Running, RunningEmulator]]:
    """A single strategy flipping BTC on every second quote, against one Binance emulator."""
    emulator = await serve_binance(EmulatorOptions(symbols=(BTC,), walk_interval_s=0.01, seed=5, hang_s=0.5))
    try:
        config = write_config(
            tmp_path,
            strategy=STRATEGIES / "flip.py",
            params={"symbol": BTC, "every": 2, "size": "0.001"},
            venues={"binance": emulator},
            mode="live",
        )
        config.write_text(
            config.read_text().replace('credentials = "file:', 'timeout_ms = 400\ncredentials = "file:')
        )
        running = await start(config, **options)
        try:
            await running.wait_for(lambda: _ready_seen(running), timeout=15, what="the session trading")
            yield running, emulator
        finally:
            if not running.task.done():
                await running.stop()
    finally:
        await emulator.close()


def _ready_seen(running: Running) -> bool:
    kernel = running.session.kernel
    return running.session.health is not None and kernel is not None and len(kernel.orders) >= 2


async def _checks(running: Running) -> dict[str, dict[str, Any]]:
    _, body = await running.get("/readyz")
    checks: dict[str, dict[str, Any]] = body["checks"]
    return checks


def _creates(emulator: RunningEmulator) -> list[str]:
    account = emulator.exchange.accounts[TEST_API_KEY]
    return [cid for cid, _ in account.creates] + list(account.duplicate_creates)


async def _until(condition: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not await condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"not within {timeout:g} s: {what}") from None


async def test_429_waits_the_venues_retry_after_and_resends_nothing(tmp_path: Path) -> None:
    async with _flip(tmp_path) as (running, emulator):
        faults = emulator.exchange.faults
        faults.retry_after_s = 1
        faults.force("429")
        await running.wait_for(lambda: faults.injected["429"] == 1, timeout=5, what="the 429")
        struck = faults.last_at["429"]
        before = len(_creates(emulator))
        await running.wait_for(lambda: len(_creates(emulator)) > before, timeout=5, what="the next create")
        waited = time.monotonic() - struck
    assert waited >= 0.95, f"the next order left {waited:.3f} s after a 429 naming Retry-After: 1"
    assert max(Counter(_creates(emulator)).values()) == 1  # nothing resent


async def test_418_stops_the_venue_and_says_so_in_readyz(tmp_path: Path) -> None:
    async with _flip(tmp_path) as (running, emulator):
        faults = emulator.exchange.faults
        faults.force("418")
        await running.wait_for(lambda: faults.injected["418"] == 1, timeout=5, what="the ban")
        await asyncio.sleep(0.2)
        sent = len(_creates(emulator))
        checks = await _checks(running)
        await asyncio.sleep(faults.ban_s + 0.5)  # past the venue's ban: still nothing goes out
        later = len(_creates(emulator))
        decided = len(running.session.kernel.orders) if running.session.kernel else 0
        status, _ = await running.get("/readyz")
    ban = checks["rate_limit:binance"]
    assert not ban["ok"], ban
    assert "418" in ban["detail"] and "banned" in ban["detail"], ban
    assert status == 503
    assert later == sent, "an order reached a venue that had banned us"
    assert decided > 0


async def test_clock_skew_beyond_the_receive_window_resyncs_the_offset(tmp_path: Path) -> None:
    async with _flip(tmp_path) as (running, emulator):
        faults = emulator.exchange.faults
        faults.skew_s = 30.0
        faults.skew_ms = 9_000
        before = (await _checks(running))["clock_offset:binance-spot"]
        faults.force("clock-skew")
        await running.wait_for(lambda: faults.injected["clock-skew"] == 1, timeout=5, what="the skew")

        async def offset_moved() -> bool:
            detail = (await _checks(running))["clock_offset:binance-spot"]["detail"]
            return abs(int(detail.split()[1])) > 8_000

        await _until(offset_moved, 5, "the offset measured again")
        after = (await _checks(running))["clock_offset:binance-spot"]
        accepted = sum(o == "accepted" for _, o in emulator.exchange.accounts[TEST_API_KEY].creates)
        await running.wait_for(
            lambda: (
                sum(o == "accepted" for _, o in emulator.exchange.accounts[TEST_API_KEY].creates) > accepted
            ),
            timeout=5,
            what="an order accepted on the skewed clock",
        )
    assert before["ok"], before
    assert not after["ok"], after  # a 9 s offset against a 5 s window: said, not hidden
    assert max(Counter(_creates(emulator)).values()) == 1


async def test_a_silent_market_stream_makes_readyz_false_and_reconnects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = BinanceMarketData.__init__

    def short_stale(self: BinanceMarketData, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stale_after_s", 0.8)
        original(self, *args, **kwargs)

    monkeypatch.setattr(BinanceMarketData, "__init__", short_stale)
    async with _flip(tmp_path, market_max_age_s=0.3) as (running, emulator):
        faults = emulator.exchange.faults
        faults.force("stall-ws")
        await running.wait_for(lambda: faults.injected["stall-ws"] == 1, timeout=5, what="the stall")

        async def stale() -> bool:
            return not (await _checks(running))[f"market_stream:{BTC}"]["ok"]

        await _until(stale, 3, "market_stream false")
        status, _ = await running.get("/readyz")

        async def fresh() -> bool:
            return bool((await _checks(running))[f"market_stream:{BTC}"]["ok"])

        await _until(fresh, 5, "the stream back after a reconnect")
        cuts = _stale_cuts(running.session.venues["binance"].market)
    assert status == 503
    assert cuts >= 1, "the stream came back without the stale detector's reconnect"


def _stale_cuts(market: Any) -> int:
    """How often the Binance market-data connections were given up for silence."""
    assert isinstance(market, BinanceMarketData), type(market)
    return sum(c.stale_cuts for c in market.connections.values())


async def test_a_stale_arbitrage_leg_is_not_traded_and_readyz_says_so(tmp_path: Path) -> None:
    spot = await serve_binance(EmulatorOptions(symbols=(BTC,), walk_interval_s=0.01, seed=11))
    perp = await serve_bybit(EmulatorOptions(symbols=(PERP,), walk_interval_s=0.01, seed=12))
    try:
        config = write_config(
            tmp_path,
            strategy=REPO / "strategies/examples/spread_arb.py",
            params={
                "legs": f"{BTC},{PERP}",
                "entry_bps": "0.5",
                "exit_bps": "0.1",
                "size": "0.002",
                "cooldown_ms": 100,
                "window_ms": 200,
            },
            venues={"binance": spot, "bybit": perp},
            mode="paper",
        )
        running = await start(config, market_max_age_s=0.5)
        try:
            await running.wait_for(
                lambda: running.session.kernel is not None and running.session.health is not None,
                timeout=15,
                what="the session serving /readyz",
            )

            async def fresh() -> bool:
                return all(
                    c["ok"] for n, c in (await _checks(running)).items() if n.startswith("market_stream")
                )

            await _until(fresh, 10, "both legs fresh")
            perp.exchange.faults.stale_s = 1.5
            perp.exchange.faults.force("stale-quote")
            await running.wait_for(lambda: perp.exchange.faults.injected["stale-quote"] == 1, timeout=5)
            struck = time.monotonic()
            legs_before = _legs(running)

            async def stale() -> bool:
                return not (await _checks(running))[f"market_stream:{PERP}"]["ok"]

            await _until(stale, 2, "market_stream false for the stale leg")
            spot_ok = (await _checks(running))[f"market_stream:{BTC}"]["ok"]
            legs_during = _legs(running)
            assert time.monotonic() - struck < 1.5  # still inside the stale spell
            kernel = running.session.kernel
            stale_count = getattr(kernel.engine if kernel else None, "snapshots_stale", None)
            await _until(fresh, 5, "the leg fresh again")
        finally:
            await running.stop()
    finally:
        await spot.close()
        await perp.close()
    assert spot_ok
    # orders decided before the spell may still be on their way; none are decided during it
    assert legs_during == legs_before
    assert stale_count is not None and stale_count > 0


def _legs(running: Running) -> int:
    kernel = running.session.kernel
    return 0 if kernel is None else sum(1 for o in kernel.orders._orders.values() if o.arb_id)


def _broker_config(tmp: Path, venue: str, emulator: RunningEmulator) -> Path:
    creds = tmp / "credentials.json"
    creds.write_text(
        json.dumps({"api_key": TEST_API_KEY, "api_secret": TEST_API_SECRET, "account": "12345678"})
    )
    creds.chmod(0o600)
    text = f"""mode = "live"
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


@pytest.mark.parametrize("venue", ["kis", "kiwoom"])
async def test_an_expired_token_is_reissued_once_and_the_session_goes_on(
    tmp_path: Path, venue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # KIS tokens live a day and the client asks for one at most once a minute; the fault strikes a
    # second after the first one, so the test shortens that minute (the guard is not what it tests)
    monkeypatch.setattr(kis_auth, "MIN_REISSUE_S", 0.0)
    options = EmulatorOptions(symbols=(SAMSUNG, HYNIX), walk_interval_s=0.02, seed=9)
    emulator = await (serve_kiwoom(options) if venue == "kiwoom" else serve_kis(options))
    faults = emulator.exchange.faults
    faults.force("token-expiry")  # the first request after the token is issued finds it expired
    try:
        running = await start(
            _broker_config(tmp_path, venue, emulator),
            paper_cash=Decimal(100_000_000),
            venue_clock=SessionClock.in_session(),
        )

        def held() -> bool:
            kernel = running.session.kernel
            return kernel is not None and all(kernel.ledger.position(s).qty > 0 for s in (SAMSUNG, HYNIX))

        await running.wait_for(held, timeout=20, what="both stocks bought after the token expired")
        status, ready = await running.get("/readyz")
        assert await running.stop() == 0
    finally:
        await emulator.close()
    assert faults.injected["token-expiry"] == 1
    assert status == 200, ready
    issued = _issued(emulator)
    assert issued == 2, f"{issued} tokens issued: one, then one after the expiry"
    intents = [e for e in journal_events(tmp_path / "state") if isinstance(e, OrderSubmitted)]
    assert intents


def _issued(emulator: RunningEmulator) -> int:
    app = emulator._runner.app
    if KIS_VENUE in app:
        return app[KIS_VENUE].issued_tokens
    return app[KIWOOM_VENUE].issued


async def test_a_read_refused_for_its_timestamp_is_sent_once_more_on_the_measured_clock() -> None:
    """Reconciliation reads at start: a skew there must not stop the daemon (a read changes nothing,
    so it is sent again once the offset is measured; a create never is, see the skew test above)."""
    emulator = await serve_binance(EmulatorOptions(symbols=(BTC,), walk_interval_s=0.05, seed=3))
    rest = BinanceRest(
        BinanceConfig.for_emulator(emulator.http_root, emulator.ws_root),
        "spot",
        api_key=TEST_API_KEY,
        api_secret=TEST_API_SECRET,
        timeout_s=2.0,
    )
    try:
        await rest.sync_time()
        faults = emulator.exchange.faults
        faults.skew_s, faults.skew_ms = 30.0, -9_000
        faults.force("clock-skew")
        body = await rest.request("GET", "/api/v3/openOrders", [("symbol", "BTCUSDT")], signed=True)
    finally:
        await rest.close()
        await emulator.close()
    assert json.loads(body) == []
    assert faults.injected["clock-skew"] == 1
    assert abs(abs(rest.clock.offset_ms) - 9_000) < 500


@pytest.mark.parametrize("venue", ["binance", "bybit"])
async def test_a_skew_that_came_and_went_is_measured_away_without_a_refusal(venue: str) -> None:
    """The offset measured during a skew would keep ``clock_offset`` false for good if only a
    refused request measured it again: the client measures the venue's clock every few seconds."""
    serve = serve_binance if venue == "binance" else serve_bybit
    symbol = BTC if venue == "binance" else PERP
    emulator = await serve(EmulatorOptions(symbols=(symbol,), walk_interval_s=0.05, seed=3))
    faults = emulator.exchange.faults
    faults.skew_s, faults.skew_ms = 0.4, 9_000
    rest: BinanceRest | BybitRest
    if venue == "binance":
        config = BinanceConfig.for_emulator(emulator.http_root, emulator.ws_root)
        rest = BinanceRest(config, "spot", api_key=TEST_API_KEY, api_secret=TEST_API_SECRET, timeout_s=2.0)
    else:
        rest = BybitRest(BybitConfig.for_emulator(emulator.http_root, emulator.ws_root), timeout_s=2.0)
    rest.clock_resync_s = 0.3
    try:
        faults.force("clock-skew")
        faults.clock_skew_ms(roll=True)  # the venue's clock jumps now, for 0.4 s
        await (rest.sync_time() if isinstance(rest, BinanceRest) else rest.sync_clock())
        during = rest.clock.offset_ms
        await asyncio.sleep(1.0)  # the skew ends; no request is refused, none is sent but the clock's
        after = rest.clock.offset_ms
    finally:
        await rest.close()
        await emulator.close()
    assert abs(abs(during) - 9_000) < 500
    assert abs(after) < 500, f"offset still {after} ms after the venue's clock came back"
