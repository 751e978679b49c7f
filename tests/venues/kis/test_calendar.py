"""KIS's holiday query (chk-holiday, CTCA0903R): the emulator answers it from the KRX table (or a
test's override), the client asks it once a day before its first order, KIS's answer decides the
calendar rule of the KRX check (a closed day is refused before anything is sent), a disagreement
with the table is logged, and a failed query leaves the table deciding."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any, Literal

import pytest

from adapters.emulator import RunningEmulator
from adapters.emulator.options import TEST_API_KEY, TEST_API_SECRET, EmulatorOptions
from adapters.kis.config import PATHS, KisConfig
from adapters.kis.emulator import serve_kis, venue_of
from adapters.kis.emulator_rest import KisLimits, KisVenue
from adapters.kis.errors import KisRequestError
from adapters.kis.execution import HOLIDAY_RETRY_NS, KisExecutionClient
from adapters.kis.rest import KisRest
from adapters.kis.schemas import HolidayAnswer, HolidayRow
from engines.markets.krx_validator import KrxOrderError, check_krx_order, is_trading_day, kst_date
from engines.markets.specs import spec_for
from engines.model.commands import SubmitOrder
from engines.model.enums import OrderType, Side
from engines.model.events import OrderAccepted, OrderRejected

SYMBOL = "krx:005930"
Env = Literal["real", "mock"]
_NS = 1_000_000_000
_DAY = 86_400 * _NS
#: 2026-12-25 11:00 KST (Christmas Day in the table, a Friday)
CHRISTMAS_11_KST = int(datetime(2026, 12, 25, 2, tzinfo=UTC).timestamp()) * _NS
#: 2026-12-24 11:00 KST (a Thursday KRX trades on)
EVE_11_KST = CHRISTMAS_11_KST - _DAY


async def _emulator(environment: Env = "real", limits: KisLimits | None = None) -> RunningEmulator:
    emulator = await serve_kis(
        EmulatorOptions(walk=False, symbols=(SYMBOL,)), environment=environment, limits=limits
    )
    emulator.exchange.quote(SYMBOL, D(70_000), D(70_100), D(1000), D(1000))
    return emulator


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    emulator = await _emulator()
    yield emulator
    await emulator.close()


def _venue(emulator: RunningEmulator) -> KisVenue:
    return venue_of(emulator._runner.app)


def _at(emulator: RunningEmulator, ts_ns: int) -> None:
    """Move the emulator's clock (which the client reads too) to ``ts_ns``."""
    clock: Any = emulator.exchange.clock
    clock.offset_ns += ts_ns - clock.now_ns()


def _today(emulator: RunningEmulator) -> str:
    return f"{kst_date(emulator.exchange.clock.now_ns()):%Y%m%d}"


class _CountingRest(KisRest):
    """The REST client, with every request it sends recorded as (path, tr_id)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.sent: list[tuple[str, str]] = []

    async def _send(self, method: str, path: str, tr: str, **kw: Any) -> Any:
        self.sent.append((path, tr))
        return await super()._send(method, path, tr, **kw)


def _client(
    emulator: RunningEmulator, cache: Path, environment: Env = "real", **kw: Any
) -> tuple[KisExecutionClient, _CountingRest]:
    config = KisConfig.for_emulator(emulator.http_root, emulator.ws_root, environment=environment)
    rest = _CountingRest(config, TEST_API_KEY, TEST_API_SECRET, cache_dir=cache, timeout_s=1.0)
    client = KisExecutionClient(
        config,
        TEST_API_KEY,
        TEST_API_SECRET,
        symbols=[SYMBOL],
        clock_ns=emulator.exchange.clock.now_ns,
        rest=rest,
        notices=False,
        **kw,
    )
    return client, rest


def _order(cid: str) -> SubmitOrder:
    return SubmitOrder(
        ts_event=0, ts_init=0, strategy="t", venue="kis", client_order_id=cid, instrument=SYMBOL,
        side=Side.BUY, order_type=OrderType.LIMIT, quantity=D(10), price=D(50_000),
    )  # fmt: skip


def _holiday_calls(rest: _CountingRest) -> int:
    return sum(path == PATHS["holiday"] for path, _ in rest.sent)


def _creates(emulator: RunningEmulator) -> list[Any]:
    creates: list[Any] = emulator.exchange.state()["accounts"][TEST_API_KEY]["creates"]
    return creates


# ── the emulator ──


@pytest.mark.parametrize("environment", ["real", "mock"])
async def test_the_emulator_answers_chk_holiday_day_by_day_with_its_paging_keys(
    environment: Env, tmp_path: Path
) -> None:
    emulator = await _emulator(environment)
    config = KisConfig.for_emulator(emulator.http_root, emulator.ws_root, environment=environment)
    rest = KisRest(config, TEST_API_KEY, TEST_API_SECRET, cache_dir=tmp_path)
    tr = config.tr("holiday")
    assert tr == ("CTCA0903R" if environment == "real" else "VTCA0903R")
    try:
        rows: list[HolidayRow] = []
        params = {"BASS_DT": "20261224", "CTX_AREA_FK": "", "CTX_AREA_NK": ""}
        answer, more = await rest.get(PATHS["holiday"], tr, params, HolidayAnswer)
        pages = 1
        while True:
            assert isinstance(answer.output, list)
            rows += answer.output
            if more not in ("F", "M"):
                break
            params = {
                "BASS_DT": "20261224",
                "CTX_AREA_FK": answer.ctx_area_fk,
                "CTX_AREA_NK": answer.ctx_area_nk,
            }
            answer, more = await rest.get(PATHS["holiday"], tr, params, HolidayAnswer, tr_cont="N")
            pages += 1
        assert pages == 3 and more == "D"  # 30 days in pages of 10
        by_day = {r.bass_dt: r for r in rows}
        assert len(by_day) == 30 and rows[0].bass_dt == "20261224" and rows[-1].bass_dt == "20270122"
        eve, christmas, saturday = by_day["20261224"], by_day["20261225"], by_day["20261226"]
        assert (eve.wday_dvsn_cd, eve.opnd_yn, eve.tr_day_yn) == ("05", "Y", "Y")  # a Thursday, open
        assert (christmas.wday_dvsn_cd, christmas.opnd_yn, christmas.tr_day_yn) == ("06", "N", "N")
        assert (saturday.wday_dvsn_cd, saturday.opnd_yn) == ("07", "N")
        assert by_day["20261231"].opnd_yn == "N" and by_day["20270104"].opnd_yn == "Y"
        # the override a test sets is the broker's answer
        _venue(emulator).calendar["20261224"] = False
        answer, _ = await rest.get(PATHS["holiday"], tr, {"BASS_DT": "20261224"}, HolidayAnswer)
        assert isinstance(answer.output, list) and answer.output[0].opnd_yn == "N"
        # the quotations' error bodies: a bad date is refused like any bad field
        with pytest.raises(KisRequestError) as raised:
            await rest.get(PATHS["holiday"], tr, {"BASS_DT": "20261332"}, HolidayAnswer)
        assert raised.value.msg_cd == "APBK1001"
    finally:
        await rest.close()
        await emulator.close()


async def test_the_emulator_refuses_the_other_environments_transaction_id(
    emu: RunningEmulator, tmp_path: Path
) -> None:
    config = KisConfig.for_emulator(emu.http_root, emu.ws_root)
    rest = KisRest(config, TEST_API_KEY, TEST_API_SECRET, cache_dir=tmp_path)
    try:
        with pytest.raises(KisRequestError) as raised:
            await rest.get(PATHS["holiday"], "VTCA0903R", {"BASS_DT": "20261224"}, HolidayAnswer)
        assert raised.value.msg_cd == "OPSQ0002"
    finally:
        await rest.close()


# ── the client ──


async def test_an_order_on_a_day_kis_says_closed_is_refused_before_it_is_sent(
    emu: RunningEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    today = _today(emu)
    assert is_trading_day(kst_date(emu.exchange.clock.now_ns()))  # the table says open
    _venue(emu).calendar[today] = False
    client, rest = _client(emu, tmp_path)
    try:
        with caplog.at_level(logging.WARNING, logger="adapters.kis.execution"):
            (answer,) = await client.submit(_order("c1"))
        assert isinstance(answer, OrderRejected) and answer.code == "VT144"
        assert "broker's calendar" in answer.reason
        assert _creates(emu) == [] and not any(path == PATHS["order"] for path, _ in rest.sent)
        # the disagreement is logged with the date and both answers
        iso = f"{today[:4]}-{today[4:6]}-{today[6:]}"
        (warning,) = [r.getMessage() for r in caplog.records if "disagree" in r.getMessage()]
        assert iso in warning and "KIS says closed" in warning and "the table says open" in warning
    finally:
        await client.close()


async def test_kis_saying_open_wins_over_a_holiday_of_the_table(
    emu: RunningEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _at(emu, CHRISTMAS_11_KST)
    _venue(emu).calendar["20261225"] = True
    client, rest = _client(emu, tmp_path)
    try:
        with caplog.at_level(logging.WARNING, logger="adapters.kis.execution"):
            (answer,) = await client.submit(_order("c1"))
        # not refused by the table's Christmas: the order went to KIS
        assert not (isinstance(answer, OrderRejected) and answer.code == "VT144")
        assert any(path == PATHS["order"] for path, _ in rest.sent)
        assert any(
            "2026-12-25" in r.getMessage() and "KIS says open" in r.getMessage() for r in caplog.records
        )
    finally:
        await client.close()


async def test_the_calendar_is_asked_once_a_day(emu: RunningEmulator, tmp_path: Path) -> None:
    _at(emu, EVE_11_KST)
    client, rest = _client(emu, tmp_path)
    try:
        for i in range(3):
            assert isinstance((await client.submit(_order(f"c{i}")))[0], OrderAccepted)
        assert _holiday_calls(rest) == 1 and _venue(emu).holiday_queries == 1
        assert rest.sent[0] == (PATHS["holiday"], "CTCA0903R")  # asked before the first order left
        _at(emu, CHRISTMAS_11_KST)  # the next day: asked again, and KIS (the table too) says closed
        (answer,) = await client.submit(_order("x"))
        assert isinstance(answer, OrderRejected) and answer.code == "VT144"
        (answer,) = await client.submit(_order("y"))
        assert _holiday_calls(rest) == 2
    finally:
        await client.close()


async def test_a_failed_query_leaves_the_table_deciding(
    emu: RunningEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _at(emu, EVE_11_KST)
    venue = _venue(emu)
    venue.calendar["20261224"] = False  # what KIS would say, were it answering
    venue.holiday_down = True
    client, rest = _client(emu, tmp_path)
    try:
        with caplog.at_level(logging.WARNING, logger="adapters.kis.execution"):
            (answer,) = await client.submit(_order("c1"))
        assert isinstance(answer, OrderAccepted)  # the table says the 24th trades
        assert any("chk-holiday for 20261224 failed" in r.getMessage() for r in caplog.records)
        assert isinstance((await client.submit(_order("c2")))[0], OrderAccepted)
        assert _holiday_calls(rest) == 1  # not asked again at every order
        venue.holiday_down = False
        _at(emu, EVE_11_KST + HOLIDAY_RETRY_NS + _NS)  # an hour later KIS answers again, and decides
        (answer,) = await client.submit(_order("c3"))
        assert isinstance(answer, OrderRejected) and answer.code == "VT144"
        assert _holiday_calls(rest) == 2
        _at(emu, CHRISTMAS_11_KST)  # down again on a holiday of the table: the table refuses
        venue.holiday_down = True
        (answer,) = await client.submit(_order("c4"))
        assert isinstance(answer, OrderRejected) and answer.code == "VT144"
        assert "Christmas" in answer.reason
    finally:
        await client.close()


async def test_mock_accounts_use_the_table_unless_told_to_ask(tmp_path: Path) -> None:
    emulator = await _emulator("mock")
    plain, plain_rest = _client(emulator, tmp_path / "a", "mock")
    try:
        _venue(emulator).calendar[_today(emulator)] = False
        assert isinstance((await plain.submit(_order("c1")))[0], OrderAccepted)
        assert _holiday_calls(plain_rest) == 0  # KIS documents the query for real accounts only
        asking, asking_rest = _client(emulator, tmp_path / "a", "mock", holiday_query=True)
        try:
            (answer,) = await asking.submit(_order("c2"))
            assert isinstance(answer, OrderRejected) and answer.code == "VT144"
            assert asking_rest.sent[0] == (PATHS["holiday"], "VTCA0903R")
        finally:
            await asking.close()
    finally:
        await plain.close()
        await emulator.close()


# ── the validator's argument ──


def test_the_validators_open_day_decides_the_calendar_rule() -> None:
    spec = spec_for(SYMBOL)

    def check(at: int, open_day: bool | None) -> None:
        check_krx_order(spec, Side.BUY, OrderType.LIMIT, D(1), D(50_000), at, open_day=open_day)

    check(EVE_11_KST, None)
    check(CHRISTMAS_11_KST, True)  # the broker says open: not the table's holiday
    for at, open_day in ((CHRISTMAS_11_KST, None), (EVE_11_KST, False), (CHRISTMAS_11_KST, False)):
        with pytest.raises(KrxOrderError) as raised:
            check(at, open_day)
        assert raised.value.code == "VT144" and raised.value.rule == "calendar"
    # the session rule still applies on a day the broker says is open
    with pytest.raises(KrxOrderError) as late:
        check(CHRISTMAS_11_KST + 10 * 3600 * _NS, True)
    assert late.value.code == "VT145"
