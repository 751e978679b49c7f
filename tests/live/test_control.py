"""The operator's halt and resume (daemon/live/control.py): ``POST /halt`` and ``/resume`` on a
running session against the Binance emulator, ``vibetrading halt``/``resume`` through a running
daemon and into the journal of a stopped one, and the halt token."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from adapters.binance.emulator import serve_binance
from adapters.emulator import EmulatorOptions
from adapters.emulator.server import RunningEmulator
from daemon import cli
from daemon.journal import FileJournal
from daemon.live.control import TOKEN_FILE, ControlError, ensure_token, read_token
from daemon.live.session import JOURNAL_NAME
from engines.model.events import (
    OrderAccepted,
    OrderRejected,
    OrderSubmitted,
    RunStarted,
    TradingHalted,
    TradingResumed,
)
from engines.orders.table import OrderStatus
from tests.live.harness import STRATEGIES, Running, journal_events, start, write_config

SYMBOL = "binance-spot:BTCUSDT"
HALT_CODES = {"VT966", "VT973"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    running = await serve_binance(EmulatorOptions(symbols=(SYMBOL,), walk_interval_s=0.01, seed=5))
    try:
        yield running
    finally:
        await running.close()


def _config(tmp: Path, emulator: RunningEmulator, port: int) -> Path:
    return write_config(
        tmp,
        strategy=STRATEGIES / "flip.py",
        params={"symbol": SYMBOL, "every": 3, "size": "0.01"},
        venues={"binance": emulator},
        extra=f'[health]\nlisten = "127.0.0.1:{port}"\n',
    )


def _count(running: Running, status: OrderStatus) -> int:
    kernel = running.session.kernel
    if kernel is None:
        return 0
    return sum(1 for o in kernel.orders._orders.values() if o.status is status)


def _filled(running: Running) -> int:
    kernel = running.session.kernel
    if kernel is None:
        return 0
    return sum(1 for o in kernel.orders._orders.values() if o.filled_qty > 0)


async def _post(
    running: Running, path: str, *, token: str | None = None, body: object = None, scheme: str = "Bearer"
) -> tuple[int, Any, str]:
    health = running.session.health
    assert health is not None
    headers = {} if token is None else {"Authorization": f"{scheme} {token}"}
    timeout = aiohttp.ClientTimeout(total=5)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.post(health.url + path, json=body, headers=headers) as r,
    ):
        text = await r.text()
        return r.status, json.loads(text), text


def _last_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The command's own line: the session's log lines share stdout in a test (no JSON logging)."""
    return capsys.readouterr().out.splitlines()[-1]


async def _ready(running: Running) -> None:
    await running.wait_for(running.session.ready.is_set, what="ready")


def _halt_window_checks(events: list[Any]) -> tuple[TradingHalted, TradingResumed]:
    """Every order the strategy sent while halted was refused locally, with a halt code."""
    halt = next(e for e in events if isinstance(e, TradingHalted))
    resumed = next(e for e in events if isinstance(e, TradingResumed))
    window = [e for e in events if halt.seq < e.seq < resumed.seq]
    sent = {e.client_order_id for e in window if isinstance(e, OrderSubmitted)}
    rejected = {e.client_order_id: e.code for e in window if isinstance(e, OrderRejected)}
    assert sent, "the strategy sent nothing while halted"
    for cid in sent:
        assert rejected.get(cid) in HALT_CODES, (cid, rejected.get(cid))
    assert not any(isinstance(e, OrderAccepted) and e.client_order_id in sent for e in events)
    return halt, resumed


async def test_post_halt_and_resume(
    tmp_path: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], caplog: Any
) -> None:
    config = _config(tmp_path, emulator, _free_port())
    running = await start(config)
    try:
        await _ready(running)
        await running.wait_for(lambda: _filled(running) >= 1, what="a fill")
        token_file = tmp_path / "state" / TOKEN_FILE
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert len(token) >= 40

        status, answer, text = await _post(running, "/halt", body={"reason": "no token"})
        assert status == 401 and "error" in answer
        status, answer, text = await _post(running, "/halt", token=token[:-1] + "x")
        assert status == 401 and token not in text
        status, answer, _ = await _post(running, "/halt", token=token, scheme="Basic")
        assert status == 401
        assert running.session.halted is None

        status, answer, _ = await _post(running, "/halt", token=token, body={"reason": "maintenance"})
        assert status == 200, answer
        assert answer["halted"] is True and answer["reason"] == "operator: maintenance"
        assert answer["changed"] is True
        status, ready = await running.get("/readyz")
        assert status == 503
        assert ready["checks"]["not_halted"] == {"ok": False, "detail": "operator: maintenance"}
        status, answer, _ = await _post(running, "/halt", token=token)  # already halted: nothing new
        assert status == 200 and answer["changed"] is False

        rejected = _count(running, OrderStatus.REJECTED)
        await running.wait_for(
            lambda: _count(running, OrderStatus.REJECTED) > rejected, what="an order refused while halted"
        )

        status, answer, _ = await _post(running, "/halt", token=token, body={"reason": 5})
        assert status == 400
        status, answer, _ = await _post(running, "/resume", token=token)
        assert status == 200 and answer == {"halted": False, "reason": None, "changed": True}
        await running.wait_for(lambda: running.session.halted is None)
        filled = _filled(running)
        await running.wait_for(lambda: _filled(running) > filled, what="a fill after the resume")
        status, ready = await running.get("/readyz")
        assert status == 200, ready
        assert ready["checks"]["not_halted"]["ok"] is True
        assert await running.stop() == 0
    finally:
        if not running.task.done():
            await running.stop()
    events = journal_events(tmp_path / "state")
    halt, resumed = _halt_window_checks(events)
    assert (halt.source, halt.reason, halt.code) == ("operator", "maintenance", "")
    assert resumed.source == "operator"
    assert sum(isinstance(e, TradingHalted) for e in events) == 1  # the second POST journalled nothing
    assert token.encode() not in (tmp_path / "state" / JOURNAL_NAME).read_bytes()
    captured = capsys.readouterr()
    assert token not in captured.out + captured.err + caplog.text


async def test_cli_halts_and_resumes_a_running_daemon(
    tmp_path: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _free_port()
    config = _config(tmp_path, emulator, port)
    running = await start(config, listen=f"127.0.0.1:{port}")
    try:
        await _ready(running)
        capsys.readouterr()
        argv = ["halt", "--config", str(config), "--reason", "from the cli", "--cancel-open", "--json"]
        assert await asyncio.to_thread(cli.main, argv) == 0
        result = json.loads(_last_line(capsys))
        assert result["via"] == "daemon" and result["halted"] is True
        assert isinstance(result["canceled"], int) and result["note"] is None
        assert result["reason"] == "operator: from the cli"
        assert running.session.halted == "operator: from the cli"
        status, ready = await running.get("/readyz")
        assert status == 503 and ready["checks"]["not_halted"]["ok"] is False

        assert await asyncio.to_thread(cli.main, ["resume", "--config", str(config)]) == 0
        assert _last_line(capsys).startswith("resumed: trading through the daemon at http://127.0.0.1:")
        assert running.session.halted is None
        assert await running.stop() == 0
    finally:
        if not running.task.done():
            await running.stop()
    kinds = [type(e) for e in journal_events(tmp_path / "state")]
    assert kinds.count(TradingHalted) == 1 and kinds.count(TradingResumed) == 1


async def test_cli_halt_while_stopped_survives_the_restart(
    tmp_path: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _free_port()
    config = _config(tmp_path, emulator, port)
    state = tmp_path / "state"
    running = await start(config, listen=f"127.0.0.1:{port}")
    await _ready(running)
    assert await running.stop() == 0
    before = journal_events(state)
    capsys.readouterr()

    argv = ["halt", "--config", str(config), "--reason", "overnight"]
    assert await asyncio.to_thread(cli.main, argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("halted (operator: overnight): appended to ") and "next start" in out
    after = journal_events(state)
    assert after[: len(before)] == before and len(after) == len(before) + 1
    halt = after[-1]
    assert isinstance(halt, TradingHalted) and (halt.source, halt.reason) == ("operator", "overnight")
    assert await asyncio.to_thread(cli.main, [*argv, "--json"]) == 0  # again: nothing new
    assert json.loads(capsys.readouterr().out)["changed"] is False
    assert len(journal_events(state)) == len(after)

    running = await start(config, listen=f"127.0.0.1:{port}")
    try:
        await running.wait_for(lambda: running.session.health is not None, what="the health server")
        assert running.session.halted == "operator: overnight"
        await _ready(running)
        rejected = _count(running, OrderStatus.REJECTED)
        await running.wait_for(
            lambda: _count(running, OrderStatus.REJECTED) > rejected, what="an order refused while halted"
        )
        status, ready = await running.get("/readyz")
        assert status == 503
        assert ready["checks"]["not_halted"] == {"ok": False, "detail": "operator: overnight"}
        assert await asyncio.to_thread(cli.main, ["resume", "--config", str(config)]) == 0
        assert "through the daemon" in _last_line(capsys)
        status, ready = await running.get("/readyz")
        assert ready["checks"]["not_halted"]["ok"] is True
        assert await running.stop() == 0
    finally:
        if not running.task.done():
            await running.stop()
    events = journal_events(state)
    assert sum(isinstance(e, RunStarted) for e in events) == 1
    _halt_window_checks(events)


def _bare_config(tmp: Path, port: int) -> Path:
    """A configuration nothing runs: halt and resume read only its [state] and [health]."""
    path = tmp / "run.toml"
    path.write_text(
        f'mode = "paper"\n[strategy]\nfile = "{STRATEGIES / "flip.py"}"\n'
        f'[state]\ndir = "{tmp / "state"}"\n[health]\nlisten = "127.0.0.1:{port}"\n'
    )
    return path


def test_cli_halt_without_a_journal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _bare_config(tmp_path, _free_port())
    assert cli.main(["halt", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "VT974" in err and "nothing has run yet" in err
    assert cli.main(["resume", "--config", str(config), "--json"]) == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "VT974"
    assert not (tmp_path / "state").exists()  # nothing was created


def test_cli_halt_when_the_daemon_holds_the_journal_but_does_not_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _bare_config(tmp_path, _free_port())
    (tmp_path / "state").mkdir()
    with FileJournal(tmp_path / "state" / JOURNAL_NAME) as journal:
        journal.append([TradingResumed(ts_event=1, ts_init=1, source="test")])
        journal.sync()
        assert cli.main(["halt", "--config", str(config)]) == 1
        err = capsys.readouterr().err
        assert "VT974" in err and "daemon is running" in err
    assert len(list(FileJournal(tmp_path / "state" / JOURNAL_NAME).read())) == 1


def test_cli_refused_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Something answers on [health] listen but refuses the token: VT974, never a journal write."""

    async def scenario() -> int:
        async def refuse(request: web.Request) -> web.Response:
            return web.json_response({"error": "unauthorized"}, status=401)

        app = web.Application()
        app.router.add_post("/halt", refuse)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            config = _bare_config(tmp_path, port)
            return await asyncio.to_thread(cli.main, ["halt", "--config", str(config)])
        finally:
            await runner.cleanup()

    assert asyncio.run(scenario()) == 1
    assert "refused the token (401)" in capsys.readouterr().err


# ── the token ──────────────────────────────────────────────────────────────────────────────────


def test_token_created_once_private_and_stable(tmp_path: Path) -> None:
    assert read_token(tmp_path, {}) is None
    token = ensure_token(tmp_path, {})
    path = tmp_path / TOKEN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == token + "\n"
    assert ensure_token(tmp_path, {}) == token == read_token(tmp_path, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == [TOKEN_FILE]  # no temporary left behind
    os.chmod(path, 0o640)
    with pytest.raises(ControlError, match="readable by group or others") as info:
        read_token(tmp_path, {})
    assert info.value.code == "VT974" and token not in str(info.value)


def test_token_from_the_systemd_credential(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "halt-token").write_text("from-systemd-0123456789\n")
    env = {"CREDENTIALS_DIRECTORY": str(credentials)}
    assert ensure_token(tmp_path, env) == "from-systemd-0123456789"
    assert not (tmp_path / TOKEN_FILE).exists()  # the credential wins; no state file is made
    (credentials / "halt-token").write_text("two words\n")
    with pytest.raises(ControlError, match="spaces or control characters"):
        read_token(tmp_path, env)
