"""A tiny loopback HTTP server that answers exactly what a test tells it (retCodes, statuses, hangs,
resets), recording every request as received. Not an emulator: the precise answers tests need."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from adapters.bybit.signing import verify_rest

KEY, SECRET = "test-key", "test-secret"


@dataclass
class Seen:
    method: str
    path: str
    query: str
    body: bytes
    headers: dict[str, str]
    at: float
    signed_ok: bool


Answer = tuple[int, Any, dict[str, str]] | str  # (status, JSON or bytes, headers) | "hang" | "reset"


def ok(result: Any, time_ms: int = 1_700_000_000_000) -> Answer:
    return 200, {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": time_ms}, {}


def code(ret_code: int, msg: str = "", headers: dict[str, str] | None = None, status: int = 200) -> Answer:
    return (
        status,
        {"retCode": ret_code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": 0},
        headers or {},
    )


@dataclass
class FakeBybit:
    """``answers[path]`` is a list of answers given in turn (the last one repeats), or a callable."""

    answers: dict[str, list[Answer] | Callable[[Seen], Answer]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    server_ms: int = 1_700_000_000_000
    runner: web.AppRunner | None = None
    url: str = ""
    _closing: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> FakeBybit:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = next(iter(self.runner.addresses))[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        self._closing.set()
        if self.runner is not None:
            await self.runner.cleanup()

    def count(self, path: str) -> int:
        return sum(1 for s in self.seen if s.path == path)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        path = request.path
        query = request.rel_url.raw_query_string
        headers = dict(request.headers)
        signed_ok = "X-BAPI-SIGN" in headers and verify_rest(
            SECRET,
            headers.get("X-BAPI-API-KEY", ""),
            headers.get("X-BAPI-TIMESTAMP", ""),
            headers.get("X-BAPI-RECV-WINDOW", ""),
            body if request.method == "POST" else query.encode(),
            sign=headers["X-BAPI-SIGN"],
        )
        seen = Seen(request.method, path, query, body, headers, time.monotonic(), signed_ok)
        self.seen.append(seen)
        if path == "/v5/market/time" and path not in self.answers:
            answer = ok({"timeSecond": str(self.server_ms // 1000), "timeNano": str(self.server_ms * 10**6)})
        else:
            planned = self.answers.get(path)
            if planned is None:
                answer = code(10017, "route not found")
            elif callable(planned):
                answer = planned(seen)
            else:
                answer = planned.pop(0) if len(planned) > 1 else planned[0]
        if answer == "hang":
            await self._closing.wait()
            answer = "reset"
        if answer == "reset":
            if request.transport is not None:
                request.transport.close()
            raise ConnectionResetError("reset by test")
        assert not isinstance(answer, str)
        status, payload, extra = answer
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers_out = {"Content-Type": "application/json", **extra}
        return web.Response(status=status, body=raw, headers=headers_out)
