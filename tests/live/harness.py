"""Running a live session against the emulators inside a test: a config file in tmp_path, the
session as a task, helpers to wait on its journal and to stop it as SIGTERM would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp

from adapters.emulator.options import TEST_API_KEY, TEST_API_SECRET
from adapters.emulator.server import RunningEmulator
from daemon.config import validate_config
from daemon.journal import read_events
from daemon.live.session import JOURNAL_NAME, LiveSession, SessionOptions
from engines.model.events import AnyEvent

STRATEGIES = Path(__file__).parent / "strategies"
REPO = Path(__file__).resolve().parents[2]


def write_config(
    tmp: Path,
    *,
    strategy: Path,
    params: Mapping[str, str | int],
    venues: Mapping[str, RunningEmulator],
    mode: str = "paper",
    extra: str = "",
) -> Path:
    """A run configuration pointing every venue at its emulator, credentials in a file."""
    creds = tmp / "credentials.json"
    creds.write_text(json.dumps({"api_key": TEST_API_KEY, "api_secret": TEST_API_SECRET}))
    creds.chmod(0o600)
    lines = [f'mode = "{mode}"', "[strategy]", f'file = "{strategy}"']
    pairs = ", ".join(f"{k} = {json.dumps(v)}" for k, v in params.items())
    lines.append(f"params = {{ {pairs} }}")
    for name, emulator in venues.items():
        lines += [
            f"[venues.{name}]",
            'environment = "test"',
            f'rest_url = "{emulator.http_root}"',
            f'ws_url = "{emulator.ws_root}"',
            f'credentials = "file:{creds}"',
        ]
    lines += ["[state]", f'dir = "{tmp / "state"}"']
    path = tmp / "run.toml"
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


class Running:
    """A session running as a task; :meth:`stop` is what SIGTERM does."""

    def __init__(self, session: LiveSession, task: asyncio.Task[int], stop_event: asyncio.Event) -> None:
        self.session = session
        self.task = task
        self.stop_event = stop_event

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                if self.task.done():
                    self.task.result()  # raises what the session died of
                    raise AssertionError(f"the session ended before {what or 'the condition'}")
                await asyncio.sleep(0.02)

    async def stop(self, timeout: float = 10.0) -> int:
        self.stop_event.set()
        async with asyncio.timeout(timeout):
            return await self.task

    async def get(self, path: str) -> tuple[int, Any]:
        health = self.session.health
        assert health is not None
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(health.url + path) as r:
            body = await r.read()
            if r.content_type == "application/json":
                return r.status, json.loads(body)
            return r.status, body.decode()


async def start(config: Path, *, mode: str | None = None, **options: Any) -> Running:
    checked = validate_config(config, mode=mode)
    options.setdefault("listen", "127.0.0.1:0")  # a free port: tests run side by side
    session = LiveSession(checked, SessionOptions(**options))
    stop_event = asyncio.Event()
    task = asyncio.create_task(session.run(stop_event))
    running = Running(session, task, stop_event)
    return running


def journal_events(state: Path) -> list[AnyEvent]:
    return list(read_events(state / JOURNAL_NAME))
