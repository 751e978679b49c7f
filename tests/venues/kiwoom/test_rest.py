"""The REST client: token issuance and reuse, reissue once then halt, the per-api-id limiter, 1700
retried for reads only, 1634 never retried, cont-yn/next-key paging, timeouts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from adapters.emulator.options import TEST_API_KEY, TEST_API_SECRET, EmulatorOptions
from adapters.emulator.server import RunningEmulator
from adapters.kiwoom.config import ACCOUNT_PATH, KiwoomConfig
from adapters.kiwoom.emulator import KiwoomLimits, serve_kiwoom, venue_of
from adapters.kiwoom.errors import KiwoomAuthError, KiwoomRequestError
from adapters.kiwoom.rest import KiwoomRest, KiwoomTimeout
from adapters.kiwoom.schemas import Deposit, OpenOrderList
from adapters.venue_errors import Outcome, VenueHaltedError

SYMBOL = "krx:005930"


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    emu = await serve_kiwoom(
        EmulatorOptions(walk=False, symbols=(SYMBOL,)), limits=KiwoomLimits(per_window=100, page_size=2)
    )
    emu.exchange.quote(SYMBOL, D(70000), D(70100), D(100), D(100))
    try:
        yield emu
    finally:
        await emu.close()


def _rest(emu: RunningEmulator, tmp_path: Path, **config: Any) -> KiwoomRest:
    cfg = KiwoomConfig.for_emulator(
        emu.http_root, emu.ws_root, **{"rate_per_s": 100.0, "rate_burst": 100, **config}
    )
    return KiwoomRest(cfg, TEST_API_KEY, TEST_API_SECRET, token_dir=tmp_path, timeout_s=2.0)


async def test_token_is_issued_once_and_reused_across_restarts(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    venue = venue_of(emulator)
    first = _rest(emulator, tmp_path)
    await first.call(ACCOUNT_PATH, "kt00001", {"qry_tp": "3"}, Deposit)
    await first.call(ACCOUNT_PATH, "kt00001", {"qry_tp": "3"}, Deposit)
    await first.close()
    second = _rest(emulator, tmp_path)  # a restart: same state directory
    deposit, _ = await second.call(ACCOUNT_PATH, "kt00001", {"qry_tp": "3"}, Deposit)
    await second.close()
    assert venue.issued == 1
    assert D(deposit.entr) == D(100_000_000)


async def test_a_refused_token_is_reissued_once(emulator: RunningEmulator, tmp_path: Path) -> None:
    venue = venue_of(emulator)
    rest = _rest(emulator, tmp_path)
    await rest.token()
    venue.revoke_all()  # the server forgets it: 8005 on the next call
    deposit, _ = await rest.call(ACCOUNT_PATH, "kt00001", {"qry_tp": "3"}, Deposit)
    await rest.close()
    assert deposit.entr and venue.issued == 2
    assert venue.requests.count("kt00001") == 2  # refused once, sent again once


async def test_wrong_secret_halts_with_a_clear_error(emulator: RunningEmulator, tmp_path: Path) -> None:
    cfg = KiwoomConfig.for_emulator(emulator.http_root, emulator.ws_root)
    rest = KiwoomRest(cfg, TEST_API_KEY, "wrong", token_dir=tmp_path, timeout_s=2.0)
    with pytest.raises(KiwoomAuthError) as caught:
        await rest.call(ACCOUNT_PATH, "kt00001", {}, Deposit)
    assert caught.value.code == "VT990" and "8002" in caught.value.message
    with pytest.raises(VenueHaltedError):
        await rest.call(ACCOUNT_PATH, "kt00001", {}, Deposit)
    await rest.close()


async def test_paging_echoes_next_key(emulator: RunningEmulator, tmp_path: Path) -> None:
    from adapters.kiwoom.execution import KiwoomExecutionClient
    from engines.model.commands import SubmitOrder
    from engines.model.enums import OrderType, Side

    cfg = KiwoomConfig.for_emulator(emulator.http_root, emulator.ws_root, rate_per_s=100.0, rate_burst=100)
    client = KiwoomExecutionClient(
        cfg, TEST_API_KEY, TEST_API_SECRET, token_dir=tmp_path, private_stream=False,
        clock_ns=emulator.exchange.clock.now_ns,
    )  # fmt: skip
    for n in range(5):
        await client.submit(
            SubmitOrder(
                ts_event=0,
                ts_init=0,
                strategy="t",
                venue="kiwoom",
                client_order_id=f"c{n}",
                instrument=SYMBOL,
                side=Side.BUY,
                order_type=OrderType.LIMIT,
                quantity=D(1),
                price=D(60000 + 100 * n),
            )
        )
    venue = venue_of(emulator)
    before = venue.requests.count("ka10075")
    orders = await client.open_orders()
    assert [o.client_order_id for o in orders] == [f"c{n}" for n in range(5)]
    assert venue.requests.count("ka10075") - before == 3  # pages of 2, 2, 1
    await client.close()


def _fake(handler: Callable[[web.Request], Any]) -> web.Application:
    app = web.Application()
    app.router.add_post("/oauth2/token", _fake_token)
    app.router.add_post(ACCOUNT_PATH, handler)
    return app


async def _fake_token(request: web.Request) -> web.Response:
    return web.json_response(
        {"token": "t", "expires_dt": "29991231235959", "return_code": 0, "return_msg": ""}
    )


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def test_1700_is_retried_for_reads_after_the_wait_and_1634_never(tmp_path: Path) -> None:
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        seen.append(body["kind"])
        if body["kind"] == "1634":
            msg = "허용된 요청 개수를 초과하였습니다[1634:허용된 요청 개수를 초과하였습니다]"
            return web.json_response({"return_code": 5, "return_msg": msg})
        if seen.count("1700") == 1:
            msg = "허용된 요청 개수를 초과하였습니다[1700:허용된 요청 개수를 초과하였습니다]"
            return web.json_response({"return_code": 5, "return_msg": msg}, status=429)
        return web.json_response({"return_code": 0, "return_msg": "", "entr": "1"})

    runner, root = await _serve(_fake(handler))
    try:
        rest = KiwoomRest(KiwoomConfig.for_emulator(root, root, rate_per_s=50.0, rate_burst=5), "k", "s")
        loop = asyncio.get_running_loop()
        started = loop.time()
        deposit, _ = await rest.call(ACCOUNT_PATH, "kt00001", {"kind": "1700"}, Deposit, retry_back_off=True)
        assert deposit.entr == "1" and seen == ["1700", "1700"]
        assert loop.time() - started >= 0.9  # the limiter paused the api-id before the retry
        with pytest.raises(KiwoomRequestError) as caught:
            await rest.call(ACCOUNT_PATH, "ka10075", {"kind": "1634"}, OpenOrderList, retry_back_off=True)
        assert caught.value.outcome is Outcome.REJECTED and seen.count("1634") == 1
        with pytest.raises(KiwoomRequestError) as again:  # a create is never retried on 1700
            seen.clear()
            await rest.call(ACCOUNT_PATH, "kt10000", {"kind": "1700"}, Deposit)
        assert again.value.outcome is Outcome.BACK_OFF and seen == ["1700"]
        await rest.close()
    finally:
        await runner.cleanup()


async def test_token_refused_after_its_reissue_halts(tmp_path: Path) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"return_code": 3, "return_msg": "[8005:Token이 유효하지 않습니다]"})

    runner, root = await _serve(_fake(handler))
    try:
        rest = KiwoomRest(KiwoomConfig.for_emulator(root, root, rate_per_s=50.0, rate_burst=5), "k", "s")
        with pytest.raises(VenueHaltedError) as caught:
            await rest.call(ACCOUNT_PATH, "kt00001", {}, Deposit)
        assert "reissue" in str(caught.value) and rest.tokens.issued == 2
        with pytest.raises(VenueHaltedError):
            await rest.call(ACCOUNT_PATH, "kt00001", {}, Deposit)
        assert rest.tokens.issued == 2
        await rest.close()
    finally:
        await runner.cleanup()


async def test_every_request_has_a_timeout(tmp_path: Path) -> None:
    async def handler(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({"return_code": 0})

    runner, root = await _serve(_fake(handler))
    try:
        rest = KiwoomRest(KiwoomConfig.for_emulator(root, root), "k", "s", timeout_s=0.3)
        with pytest.raises(KiwoomTimeout):
            await rest.call(ACCOUNT_PATH, "kt00001", {}, Deposit)
        await rest.close()
    finally:
        await runner.cleanup()


def test_default_limiter_is_one_per_second_with_a_burst_of_two() -> None:
    clock = [0.0]
    rest = KiwoomRest(KiwoomConfig(), "k", "s", monotonic=lambda: clock[0])
    budget = rest.budget("ka10075")
    assert budget.try_take() and budget.try_take()
    assert not budget.try_take()  # the burst is spent
    clock[0] += 2.0
    assert budget.try_take()
    assert rest.budget("kt10000").try_take()  # another api-id has its own
