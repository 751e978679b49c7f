"""The venue-independent emulator core: options, seeded faults, the exchange over the simulated
venue, market data and the server host."""

from __future__ import annotations

import asyncio
import itertools
import json
from decimal import Decimal as D
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from adapters.emulator import EmulatorOptions, Exchange, OrderState, start_server
from adapters.emulator.faults import EmulatorConfigError, Faults, parse_faults
from adapters.emulator.market import paced, random_walk
from adapters.emulator.options import TEST_KEYS, load_keys, parse_balances
from adapters.emulator.server import hang, injected_fault
from engines.markets.specs import spec_for
from engines.model.commands import SubmitOrder
from engines.model.enums import OrderType, Side
from engines.model.events import QuoteTick

SPOT = "binance-spot:BTCUSDT"
PERP = "binance-usdm:BTCUSDT"
KEY = next(iter(TEST_KEYS))


def order(
    cid: str, symbol: str, side: Side, kind: OrderType, qty: str, *, price: str | None = None
) -> SubmitOrder:
    return SubmitOrder(
        ts_event=0,
        ts_init=0,
        strategy="t",
        venue="binance",
        client_order_id=cid,
        instrument=symbol,
        side=side,
        order_type=kind,
        quantity=D(qty),
        price=None if price is None else D(price),
    )


def exchange(**kwargs: object) -> Exchange:
    opts = EmulatorOptions()
    return Exchange(
        "binance", [spec_for(SPOT), spec_for(PERP)], keys=opts.keys, balances=opts.balances, **kwargs
    )  # type: ignore[arg-type]


# ── options and faults ──


def test_fault_spec_parses_the_documented_form() -> None:
    spec = parse_faults(
        "timeout=0.02,5xx=0.01,accept-then-timeout=0.01,drop-ws=0.005,dup-fill=0.01,delay-ms=20"
    )
    assert spec.probabilities == {
        "timeout": 0.02,
        "5xx": 0.01,
        "accept-then-timeout": 0.01,
        "drop-ws": 0.005,
        "dup-fill": 0.01,
    }
    assert spec.delay_ms == 20
    assert parse_faults("").probabilities == {} and parse_faults("none").render() == "none"


@pytest.mark.parametrize("bad", ["timeout", "timeout=2", "boom=0.1", "delay-ms=-1", "5xx=x"])
def test_a_bad_fault_spec_is_a_typed_error(bad: str) -> None:
    with pytest.raises(EmulatorConfigError) as err:
        parse_faults(bad)
    assert err.value.code == "VT808"


def test_faults_are_seeded_and_counted() -> None:
    spec = parse_faults("timeout=0.3,5xx=0.2")
    rolls = [
        [f.roll("timeout") or f.roll("5xx") for _ in range(200)] for f in (Faults(spec, 5), Faults(spec, 5))
    ]
    assert rolls[0] == rolls[1] and any(rolls[0]) and not all(rolls[0])
    f = Faults(spec, 5)
    for _ in range(100):
        f.roll("timeout")
    assert 10 < f.injected["timeout"] < 60
    assert not Faults(spec, 5).roll("dup-fill")  # a kind without a probability never fires


def test_keys_and_balances_options(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"k1": "s1"}))
    assert load_keys(path) == {"k1": "s1"}
    path.write_text("[1]")
    with pytest.raises(EmulatorConfigError, match="not a JSON object"):
        load_keys(path)
    with pytest.raises(EmulatorConfigError, match="No such file"):
        load_keys(tmp_path / "missing.json")
    assert parse_balances(["usdt=5", "BTC=0.5"]) == {"USDT": D(5), "BTC": D("0.5")}
    for bad in ["USDT", "USDT=-1", "USDT=abc", "=5"]:
        with pytest.raises(EmulatorConfigError):
            parse_balances([bad])


# ── the exchange ──


def test_accounts_start_with_the_balances_base_assets_as_spot_holdings() -> None:
    ex = exchange()
    assert ex.balances(KEY) == {
        "BTC": (D(1), D(0)),
        "ETH": (D(10), D(0)),
        "USDT": (D(100_000), D(0)),
    }


async def test_orders_fill_against_the_market_and_lock_what_they_hold() -> None:
    ex = exchange()
    ex.quote(SPOT, D("43000.00"), D("43000.01"), D(1), D(1))
    resting = await ex.submit(KEY, order("r1", SPOT, Side.BUY, OrderType.LIMIT, "0.1", price="42000.00"))
    assert resting.state is OrderState.NEW and resting.order_id == 1
    assert ex.balances(KEY)["USDT"][1] > D(4200)  # locked by the working buy
    taker = await ex.submit(KEY, order("m1", SPOT, Side.BUY, OrderType.MARKET, "0.01"))
    assert taker.state is OrderState.FILLED and taker.avg_px == D("43000.01")  # meets the book at once
    assert [t.client_id for t in ex.trades(KEY)] == ["m1"]
    assert [r.client_id for r in ex.open_orders(KEY)] == ["r1"]
    assert await ex.cancel(KEY, resting)
    assert resting.state is OrderState.CANCELED and not await ex.cancel(KEY, resting)
    assert ex.balances(KEY)["USDT"][1] == 0
    assert ex.find(KEY, client_id="m1") is taker and ex.find(KEY, order_id=1) is resting


async def test_a_reused_client_id_is_a_new_order_at_the_exchange() -> None:
    ex = exchange()
    ex.quote(SPOT, D("43000.00"), D("43000.01"))
    first = await ex.submit(KEY, order("same", SPOT, Side.BUY, OrderType.MARKET, "0.01"))
    second = await ex.submit(KEY, order("same", SPOT, Side.BUY, OrderType.MARKET, "0.01"))
    assert first.order_id != second.order_id and second.state is OrderState.FILLED
    assert ex.find(KEY, client_id="same") is second
    assert [c for c, _ in ex.accounts[KEY].creates] == ["same", "same"]


async def test_rejects_carry_the_simulated_venues_code_and_listeners_see_every_change() -> None:
    ex = exchange()
    seen: list[tuple[int, str, str | None]] = []
    stop = ex.on_user(KEY, lambda r, t: seen.append((r.order_id, r.state.value, t and str(t.qty))))
    ex.quote(PERP, D("43000.0"), D("43000.1"), D(1), D("0.004"))
    poor = await ex.submit(KEY, order("big", SPOT, Side.BUY, OrderType.LIMIT, "50", price="43000.00"))
    assert poor.state is OrderState.REJECTED and poor.reject_code == "INSUFFICIENT_CASH"
    short = await ex.submit(KEY, order("s1", PERP, Side.SELL, OrderType.MARKET, "0.01"))
    assert short.state is OrderState.FILLED
    assert ex.position(KEY, PERP) == (D("-0.01"), D("43000.0"))
    stop()
    ex.quote(PERP, D("43000.0"), D("43000.1"))
    assert seen[0] == (1, "REJECTED", None)
    assert seen[-1] == (2, "FILLED", "0.01")
    state = ex.state()
    account = state["accounts"][KEY]
    assert [o["state"] for o in account["orders"]] == ["REJECTED", "FILLED"]
    assert account["fills"][0]["client_id"] == "s1"


# ── market data ──


def test_random_walk_is_seeded_and_moves_by_ticks() -> None:
    specs = [spec_for(SPOT), spec_for(PERP)]
    a = list(itertools.islice(random_walk(specs, 3), 8))
    b = list(itertools.islice(random_walk(specs, 3), 8))
    assert a == b
    quotes = [e for round_ in a for e in round_ if isinstance(e, QuoteTick)]
    assert all(q.ask - q.bid == spec_for(q.instrument).tick_size for q in quotes)
    assert any(len(r) > 2 for r in a)  # trades every fourth round


async def test_a_recording_keeps_its_spacing_divided_by_the_speed() -> None:
    t0 = 1_700_000_000_000_000_000
    recording = [
        QuoteTick(
            ts_event=t0 + k * 100_000_000,
            ts_init=0,
            instrument=SPOT,
            bid=D(1),
            bid_size=D(1),
            ask=D(2),
            ask_size=D(1),
        )
        for k in range(3)
    ]
    played = [e async for e in paced(recording, speed=10.0)]  # 200 ms of data in about 20 ms
    # each event is played no earlier than its due time after the first (a loop's timer may fire up to
    # a millisecond early; a busy machine may play one late, so the gap to the next can be shorter)
    offsets = [e.ts_event - played[0].ts_event for e in played]
    assert all(offset >= k * 10_000_000 - 1_500_000 for k, offset in enumerate(offsets))
    assert played[0].ts_event > t0  # restamped with wall time


# ── the server host ──


async def test_server_serves_state_and_its_fault_helpers() -> None:
    ex = exchange(faults=parse_faults("timeout=1"), seed=1)
    app = web.Application()

    async def order_route(request: web.Request) -> web.StreamResponse:
        if injected_fault(request, "timeout"):
            return await hang(request)
        return web.json_response({"ok": True})

    app.router.add_post("/order", order_route)
    async with await start_server(app, ex, EmulatorOptions(walk=False, hang_s=5.0)) as emu:
        assert emu.http_root.startswith("http://127.0.0.1:") and emu.port > 0
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{emu.http_root}/_emulator/state") as resp:
                assert (await resp.json())["venue"] == "binance"
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2), session.post(f"{emu.http_root}/order"):
                    pass
            async with session.get(f"{emu.http_root}/_emulator/state") as resp:
                assert (await resp.json())["faults"]["injected"]["timeout"] == 1
    # close() released the held request instead of waiting hang_s


async def test_the_random_walk_feeds_the_exchange_while_serving() -> None:
    ex = exchange()
    async with await start_server(web.Application(), ex, EmulatorOptions(walk=True, walk_interval_s=0.01)):
        for _ in range(100):
            if SPOT in ex.last_quote and PERP in ex.last_quote:
                break
            await asyncio.sleep(0.01)
    assert SPOT in ex.last_quote and PERP in ex.last_quote
