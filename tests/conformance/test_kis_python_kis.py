"""Conformance: python-kis (``pykis``, requests, synchronous) against the KIS emulator, real environment.

python-kis builds its own requests (tr_id and tr_cont headers, lower-case ``ctx_area_*`` paging
params, the account form), issues its own ``tokenP`` token and reads every answer through its own
response classes, which raise on ``rt_cd != "0"``: a failure here is an emulator bug unless noted as
a python-kis quirk.

python-kis has no host setting: its hosts are the module constants of ``pykis/__env__.py``, imported by
name into ``pykis.kis``. The test points those names at the emulator with ``monkeypatch`` (where it
connects, as a hosts-file entry would; nothing of how it builds or reads a request changes) and wraps
the library's own ``requests`` sessions so that a request to any host other than 127.0.0.1 fails the
test instead of leaving the machine. python-kis checks that an app key has 36 characters and a secret
180, as KIS issues them, so the emulator is given a key pair of those lengths.

python-kis blocks, so each call runs in a thread while the emulator serves on the test's loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest

from adapters.emulator import EmulatorOptions, RunningEmulator
from adapters.kis.emulator import KisLimits, serve_kis, venue_of

pykis = pytest.importorskip("pykis")
pykis_kis = pytest.importorskip("pykis.kis")
pykis_ws = pytest.importorskip("pykis.client.websocket")
pykis_exc = pytest.importorskip("pykis.client.exceptions")
pykis_balance = pytest.importorskip("pykis.api.account.balance")
pykis_order = pytest.importorskip("pykis.api.account.order")
pykis_daily = pytest.importorskip("pykis.api.account.daily_order")
pykis_modify = pytest.importorskip("pykis.api.account.order_modify")

APPKEY = "PSvibetradingConformance0000000000AB"  # 36 characters, as KIS issues them
SECRET = "v" * 180
ACCOUNT = "12345678-01"  # the emulator's first account
D = Decimal
T = TypeVar("T")
KST = dt.timezone(dt.timedelta(hours=9))


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    # small pages, so that python-kis has to follow tr_cont/CTX_AREA_NK100 on both lists
    limits = KisLimits(ccld_page_rows=2, balance_page_rows=1)
    options = EmulatorOptions(keys={APPKEY: SECRET}, walk=False)
    async with await serve_kis(options, environment="real", limits=limits) as running:
        running.exchange.quote("krx:005930", D(70000), D(70100), D(1000), D(1000))
        running.exchange.quote("krx:000660", D(180000), D(180500), D(1000), D(1000))
        yield running


class _Guard:
    """Wraps a requests session's ``request``: loopback only, and every URL is kept."""

    def __init__(self, request: Callable[..., Any]) -> None:
        self._request = request
        self.urls: list[str] = []

    def __call__(self, method: str, url: str, **kwargs: Any) -> Any:
        host = urlsplit(url).hostname
        if host != "127.0.0.1":
            raise AssertionError(f"python-kis tried to reach {url}")
        self.urls.append(url)
        return self._request(method, url, **kwargs)


@pytest.fixture
def kis(emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[_Guard]]:
    for name in ("REAL_DOMAIN", "VIRTUAL_DOMAIN"):
        monkeypatch.setattr(pykis_kis, name, emu.http_root)
    for name in ("WEBSOCKET_REAL_DOMAIN", "WEBSOCKET_VIRTUAL_DOMAIN"):
        monkeypatch.setattr(pykis_ws, name, emu.ws_root)
    client = pykis.PyKis(
        id="vtuser", account=ACCOUNT, appkey=APPKEY, secretkey=SECRET, keep_token=False, use_websocket=False
    )
    guards = []
    for session in client._sessions.values():
        guard = _Guard(session.request)
        session.request = guard
        guards.append(guard)
    return client, guards


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.wait_for(asyncio.to_thread(fn, *args, **kwargs), 5)


def kst_today(emu: RunningEmulator) -> dt.date:
    """The emulator's trading day (its clock is shifted into a KRX session)."""
    return dt.datetime.fromtimestamp(emu.exchange.clock.now_ns() / 1e9, KST).date()


async def test_token_balance_order_listing_cancel(
    emu: RunningEmulator, kis: tuple[Any, list[_Guard]]
) -> None:
    client, guards = kis
    venue = venue_of(emu._runner.app)
    account = client.primary_account

    token = await call(lambda: client.token)
    assert token.type == "Bearer" and token.token in venue.tokens and venue.issued_tokens == 1
    assert token.remaining > dt.timedelta(hours=23)

    balance = await call(pykis_balance.domestic_balance, client, account)
    assert balance.deposits["KRW"].amount == D(100_000_000) and balance.stocks == []

    # two market buys fill at once: two holdings, listed one to a page
    for code in ("005930", "000660"):
        filled = await call(pykis_order.domestic_order, client, account, code, "buy", None, 2)
        assert len(filled.number) == 10 and filled.branch
    balance = await call(pykis_balance.domestic_balance, client, account)
    held = {stock.symbol: stock for stock in balance.stocks}
    assert set(held) == {"005930", "000660"}
    assert held["005930"].qty == 2 and held["005930"].purchase_price == D(70100)
    assert held["000660"].qty == 2 and held["000660"].orderable == 2

    # a resting limit buy: python-kis sends the legacy TTTC0802U, the emulator answers APBK0013
    order = await call(pykis_order.domestic_order, client, account, "005930", "buy", 69000, 3)
    assert order.symbol == "005930" and int(order.number) > 0
    record = emu.exchange.find(APPKEY, order_id=int(order.number))
    assert record is not None and record.price == D(69000) and record.leaves_qty == 3

    day = kst_today(emu)
    listed = await call(pykis_daily.domestic_daily_orders, client, account, day, day)
    rows = {row.number: row for row in listed.orders}
    assert len(rows) == 3  # three orders over two pages of two rows (TTTC8001R, tr_cont M then D)
    mine = rows[order.number]
    assert mine.type == "buy" and mine.unit_price == D(69000) and mine.qty == 3
    assert mine.executed_qty == 0 and mine.pending_qty == 3 and not mine.rejected
    assert mine.time_kst.date() == day
    done = rows[filled.number]
    assert done.executed_qty == 2 and done.pending_qty == 0 and done.price == D(180500)

    canceled = await call(pykis_modify.domestic_cancel_order, client, order)
    assert canceled.number != order.number and venue.cancels == 1
    assert record.leaves_qty == 0
    listed = await call(pykis_daily.domestic_daily_orders, client, account, day, day)
    after = {row.number: row for row in listed.orders}[order.number]
    assert after.pending_qty == 0 and after.executed_qty == 0
    # python-kis quirk: it reads the cancel flag from ccld_yn, which KIS does not send (cncl_yn is it)
    assert after.canceled is False

    # a second cancel of the same order: APBK0656 surfaces as python-kis's API error
    with pytest.raises(pykis_exc.KisAPIError) as refused:
        await call(pykis_modify.domestic_cancel_order, client, order)
    assert refused.value.rt_cd == 1 and refused.value.msg_cd == "APBK0656"

    urls = [url for guard in guards for url in guard.urls]
    assert urls and all(url.startswith(emu.http_root) for url in urls)
    assert sum("/oauth2/tokenP" in url for url in urls) == 1  # the token is reused, never reissued


async def test_error_bodies(emu: RunningEmulator, kis: tuple[Any, list[_Guard]]) -> None:
    client, _ = kis
    account = client.primary_account
    # 69,050 is off the 100 KRW tick of its band: the order system refuses it with HTTP 200, rt_cd 1
    with pytest.raises(pykis_exc.KisAPIError) as off_tick:
        await call(pykis_order.domestic_order, client, account, "005930", "buy", 69050, 1)
    assert off_tick.value.rt_cd == 1 and off_tick.value.msg_cd == "APBK0919"
    with pytest.raises(pykis_exc.KisAPIError) as cash:
        await call(pykis_order.domestic_order, client, account, "005930", "buy", 69000, 10_000)
    assert cash.value.msg_cd == "APBK0952"
    assert not any(r.leaves_qty for r in emu.exchange.accounts[APPKEY].orders.values())

    # a second client of the same key asks for a token within the minute: HTTP 403 EGW00133, which
    # python-kis raises as an HTTP error (its body has error_code, not msg_cd)
    other = pykis.PyKis(
        id="vtuser", account=ACCOUNT, appkey=APPKEY, secretkey=SECRET, keep_token=False, use_websocket=False
    )
    for session in other._sessions.values():
        session.request = _Guard(session.request)
    with pytest.raises(pykis_exc.KisHTTPError) as too_soon:
        await call(lambda: other.token)
    assert too_soon.value.status_code == 403 and "EGW00133" in too_soon.value.text


async def test_rate_limit_is_waited_out(emu: RunningEmulator, kis: tuple[Any, list[_Guard]]) -> None:
    """python-kis paces itself at 19 requests a second, one more than the emulator's (KIS's) 18: the
    EGW00201 body (HTTP 500) is what it waits on and sends again."""
    client, guards = kis
    account = client.primary_account
    venue = venue_of(emu._runner.app)
    venue.limits = KisLimits(rest_per_s=2, ccld_page_rows=2, balance_page_rows=1)
    await call(lambda: client.token)
    balances = [await call(pykis_balance.domestic_balance, client, account) for _ in range(6)]
    assert all(b.deposits["KRW"].amount == D(100_000_000) for b in balances)
    # six quick reads cannot spread over the three seconds two a second needs unless refused first
    sent = [url for guard in guards for url in guard.urls if "inquire-balance" in url]
    assert len(sent) > 6
