"""Wire-to-wire decision latency of a live session on loopback: quote frame out of the emulator →
strategy decision → order request into the emulator.

Run on demand: ``.venv/bin/python tests/bench/live_latency.py [--n 10000] [--loop both|asyncio|uvloop]
[--durable both|on|off] [--json FILE]``.

A :class:`~daemon.live.session.LiveSession` trades in **live** mode (paper mode sends nothing to a
venue) against the Binance spot emulator, with a strategy that decides on every quote (it alternates
its target position between ``size`` and flat, so every quote becomes one market order). The bench
moves the market by hand (the emulator's random walk is off) and paces it: the next quote is published
only after the order for the previous one reached the emulator and the session has folded its fill,
plus ``--gap-ms`` of quiet, so each decision is measured alone.

Stamps (``time.perf_counter``; the emulator runs in this process, on the same event loop):

* ``wire``: the emulator's WebSocket send of the ``bookTicker`` frame (``WebSocketResponse.send_str``
  wrapped by this bench, just before the frame is written to the socket);
* ``order``: the emulator's HTTP server dispatches ``POST /api/v3/order`` (an aiohttp middleware this
  bench puts in front of the emulator's own, so the emulator's signature check and matching are not
  counted; the HTTP parse of the request is).

``wire→order`` is the figure; ``publish→order`` adds the emulator's own work before the frame goes out
(matching the quote, encoding, its writer task). Per decision the bench also records where the time
went, from stamps the session already takes or that cost one call: ``wire→arrive`` (the market-data
client: socket read, WebSocket frame, JSON, parse, event stream, up to ``LiveSession.on_market``),
``arrive→stepped`` (the kernel step: strategy, risk gate, journal append, the port's queue put),
``stepped→submit`` (the submission queue task waking, the durable barrier when on), ``submit→order``
(the execution client: budget, signing, the aiohttp request, loopback, the server's parse).

Configurations: durable intent on and off (``SessionOptions(durable=...)``: with it on, every order
waits for the journal writer's fdatasync barrier before it leaves) × asyncio and uvloop, each in a
fresh event loop with a fresh emulator and journal. The emulator's rate limits and the client's rate
budget are lifted (the budget is still taken on every request), so no order waits for a window.

For scale it prints an aiohttp HTTP round trip and a TCP echo round trip on 127.0.0.1 (client and
server in this process, as here), and a bare ``write + fdatasync`` in the journal's directory.
Every wait is bounded by ``--timeout``, the whole run by ``--deadline``; everything binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal as D
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import aiohttp
from aiohttp import web

from adapters.binance.emulator import build_app, emulator_spec
from adapters.binance.emulator_rest import BinanceLimits
from adapters.emulator import EmulatorOptions, Exchange, RunningEmulator, start_server
from adapters.transport import RateBudget
from daemon.config import validate_config
from daemon.live.session import LiveSession, SessionOptions
from engines.model.commands import SubmitOrder
from engines.model.events import Event, MarketEvent
from tests.live.harness import STRATEGIES, write_config

_T = TypeVar("_T")

SYMBOL: Final = "binance-spot:BTCUSDT"
ORDER_PATH: Final = "/api/v3/order"
BID, ASK = D("43000.0"), D("43000.1")
DEPTH: Final = D(1_000)  # the quoted size: every market order fills at once
SIZE: Final = "0.01"
BALANCES: Final = {"USDT": D(10) ** 9, "BTC": D(10) ** 4}
UNLIMITED: Final = 10**9
FRAME_MARK: Final = "@bookTicker"

LoopName = Literal["asyncio", "uvloop"]
SEGMENTS: Final = ("wire→arrive", "arrive→stepped", "stepped→submit", "submit→order")


class BenchError(RuntimeError):
    """A decision did not go the way the bench needs (no frame, no order, no fill): figures would lie."""


async def bounded(what: str, awaitable: Awaitable[_T], timeout_s: float) -> _T:
    try:
        async with asyncio.timeout(timeout_s):
            return await awaitable
    except TimeoutError:
        raise BenchError(f"{what}: nothing within {timeout_s:g} s") from None


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest rank: a p99 of 200 samples is the 198th, a value that was measured."""
    rank = max(1, min(len(ordered), round(q * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Stamps:
    """What the hooks stamp for the decision in flight."""

    wire: float = 0.0  # the last bookTicker frame handed to the socket
    arrived: float = 0.0  # LiveSession.on_market called (the session's own arrival stamp)
    stepped: float = 0.0  # LiveSession.on_market returned
    submit: float = 0.0  # the execution client's submit called by the queue
    orders: int = 0  # order requests the emulator received
    waiter: asyncio.Future[float] | None = None

    def order_arrived(self, now: float) -> None:
        self.orders += 1
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(now)


@dataclass
class Result:
    loop: str
    durable: bool
    wire_to_order: list[float] = field(default_factory=list)  # seconds
    publish_to_order: list[float] = field(default_factory=list)
    segments: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in SEGMENTS})
    seconds: float = 0.0
    #: the journal writer's own commits (write + fdatasync in its thread), its last ``history`` ones
    commits: list[float] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        us = sorted(v * 1e6 for v in self.wire_to_order)
        pub = sorted(v * 1e6 for v in self.publish_to_order)
        return {
            "loop": self.loop,
            "durable": self.durable,
            "n": len(us),
            "p50_us": round(percentile(us, 0.50), 1),
            "p99_us": round(percentile(us, 0.99), 1),
            "max_us": round(us[-1], 1),
            "mean_us": round(statistics.fmean(us), 1),
            "publish_p50_us": round(percentile(pub, 0.50), 1),
            "segments_p50_us": {
                name: round(percentile(sorted(v * 1e6 for v in values), 0.50), 1)
                for name, values in self.segments.items()
            },
            "seconds": round(self.seconds, 2),
            "journal_commit_p50_us": (
                round(percentile(sorted(v * 1e6 for v in self.commits), 0.50), 1) if self.commits else None
            ),
        }


# ── hooks (this bench only: nothing in adapters/ or daemon/ is changed) ──


def order_stamper(stamps: Stamps) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def stamp(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.method == "POST" and request.path == ORDER_PATH:
            stamps.order_arrived(time.perf_counter())
        return await handler(request)

    return stamp


@contextlib.contextmanager
def stamping_frames(stamps: Stamps) -> Iterator[None]:
    """Stamp the emulator's quote frames as they are written. The session's own clients use the
    ``websockets`` library, so only the emulator's side goes through aiohttp's WebSocketResponse."""
    original = web.WebSocketResponse.send_str

    async def send_str(self: web.WebSocketResponse, data: str, compress: int | None = None) -> None:
        if FRAME_MARK in data:
            stamps.wire = time.perf_counter()
        await original(self, data, compress)

    web.WebSocketResponse.send_str = send_str  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        web.WebSocketResponse.send_str = original  # type: ignore[method-assign]


def hook_session(session: LiveSession, stamps: Stamps, budget_window_s: float) -> None:
    """Stamp the kernel step and the client's submit (after the venues are built, before trading);
    lift the client's rate budget. Its window is short (``--budget-window``): the budget sums what
    its window holds on every request, and this bench's pace would fill a 60 s window with far more
    requests than a strategy sends (:func:`budget_cost` measures a full window on its own)."""
    on_market = session.on_market

    def stepped(event: MarketEvent, arrived: float) -> None:
        stamps.arrived = arrived
        on_market(event, arrived)
        stamps.stepped = time.perf_counter()

    session.on_market = stepped  # type: ignore[method-assign]
    for venue in session.venues.values():
        for client in venue.unique_executions():
            submit = client.submit

            async def stamped(cmd: SubmitOrder, submit: Any = submit) -> Sequence[Event]:
                stamps.submit = time.perf_counter()
                answers: Sequence[Event] = await submit(cmd)
                return answers

            client.submit = stamped  # type: ignore[method-assign,assignment]
            rest = getattr(client, "rest", None)
            if rest is not None:  # the budget is still taken per request, only never waited for
                rest.budget = RateBudget("bench", limit=UNLIMITED, window_s=budget_window_s)


# ── one configuration ──


@dataclass(frozen=True)
class Settings:
    n: int
    warmup: int
    timeout_s: float
    gap_s: float
    budget_window_s: float
    directory: Path | None


async def serve_emulator(stamps: Stamps) -> RunningEmulator:
    options = EmulatorOptions(walk=False, symbols=(SYMBOL,), balances=BALANCES)
    exchange = Exchange("binance", [emulator_spec(SYMBOL)], keys=options.keys, balances=options.balances)
    limits = BinanceLimits(
        spot_weight=UNLIMITED, usdm_weight=UNLIMITED, spot_orders=UNLIMITED, usdm_orders=UNLIMITED
    )
    app = build_app(exchange, limits)
    app.middlewares.insert(0, order_stamper(stamps))  # outermost: before the emulator's checks
    emulator = await start_server(app, exchange, options, host="127.0.0.1", port=0)
    exchange.quote(SYMBOL, BID, ASK, DEPTH, DEPTH)
    return emulator


async def wait_until(
    what: str, condition: Callable[[], bool], timeout_s: float, task: asyncio.Task[int]
) -> None:
    async def poll() -> None:
        while not condition():
            if task.done():
                task.result()
                raise BenchError(f"the session ended before {what}")
            await asyncio.sleep(0.0001)

    await bounded(what, poll(), timeout_s)


async def measure(loop_name: str, durable: bool, s: Settings) -> Result:
    stamps = Stamps()
    result = Result(loop_name, durable)
    with tempfile.TemporaryDirectory(dir=s.directory) as tmp, stamping_frames(stamps):
        tmp_path = Path(tmp)
        emulator = await bounded("emulator start", serve_emulator(stamps), s.timeout_s)
        try:
            config = write_config(
                tmp_path,
                strategy=STRATEGIES / "every_quote.py",
                params={"symbol": SYMBOL, "size": SIZE},
                venues={"binance": emulator},
                mode="live",
            )
            session = LiveSession(
                validate_config(config), SessionOptions(durable=durable, listen="127.0.0.1:0")
            )
            stop = asyncio.Event()
            task = asyncio.create_task(session.run(stop), name="bench-session")
            try:
                await wait_until("the venues are built", lambda: bool(session.venues), s.timeout_s, task)
                hook_session(session, stamps, s.budget_window_s)
                exchange = emulator.exchange

                async def quote_until_ready() -> None:
                    # the market stream subscribes after reconciling: quotes before it reach no one
                    while not session.ready.is_set():
                        if task.done():
                            task.result()
                            raise BenchError("the session ended before it was ready")
                        exchange.quote(SYMBOL, BID, ASK, DEPTH, DEPTH)
                        await asyncio.sleep(0.05)

                await bounded("the session is ready", quote_until_ready(), s.timeout_s)
                kernel = session.kernel
                assert kernel is not None
                queues = list(session.queues.values())

                def settled() -> bool:
                    return not kernel.orders.open_orders() and all(q.pending() == 0 for q in queues)

                await wait_until("the first orders settle", settled, s.timeout_s, task)
                started = time.perf_counter()
                loop = asyncio.get_running_loop()
                for i in range(s.warmup + s.n):
                    stamps.waiter = loop.create_future()
                    orders_before = stamps.orders
                    t_pub = time.perf_counter()
                    exchange.quote(SYMBOL, BID, ASK, DEPTH, DEPTH)
                    t_order = await bounded(f"the order of decision {i}", stamps.waiter, s.timeout_s)
                    if stamps.orders != orders_before + 1:
                        raise BenchError(
                            f"decision {i}: {stamps.orders - orders_before} orders for one quote"
                        )
                    if not t_pub < stamps.wire < stamps.arrived < stamps.stepped <= stamps.submit < t_order:
                        raise BenchError(f"decision {i}: stamps out of order {stamps}, published {t_pub}")
                    if i >= s.warmup:
                        result.wire_to_order.append(t_order - stamps.wire)
                        result.publish_to_order.append(t_order - t_pub)
                        for name, (a, b) in zip(
                            SEGMENTS,
                            (
                                (stamps.wire, stamps.arrived),
                                (stamps.arrived, stamps.stepped),
                                (stamps.stepped, stamps.submit),
                                (stamps.submit, t_order),
                            ),
                            strict=True,
                        ):
                            result.segments[name].append(b - a)
                    await wait_until(f"decision {i} settles", settled, s.timeout_s, task)
                    if s.gap_s > 0:
                        await asyncio.sleep(s.gap_s)
                if session.halted is not None or session.engine_failed is not None:
                    raise BenchError(f"the session halted: {session.halted or session.engine_failed}")
                result.seconds = time.perf_counter() - started
                if durable and session.writer is not None:
                    result.commits = list(session.writer.commit_seconds)
            finally:
                stop.set()
                try:
                    await bounded("the session stop", task, s.timeout_s)
                except BenchError:
                    task.cancel()
                    raise
        finally:
            await bounded("emulator close", emulator.close(), s.timeout_s)
    return result


# ── for scale ──


async def http_round_trip(n: int, timeout_s: float) -> float:
    """p50 µs of a GET answered 200 by an aiohttp server, client and server in this loop."""

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    times: list[float] = []
    try:
        async with aiohttp.ClientSession() as http:
            for i in range(n + 50):
                t0 = time.perf_counter()
                async with asyncio.timeout(timeout_s), http.get(f"http://127.0.0.1:{port}/") as r:
                    await r.read()
                if i >= 50:
                    times.append(time.perf_counter() - t0)
    finally:
        await runner.cleanup()
    return percentile(sorted(t * 1e6 for t in times), 0.50)


async def tcp_round_trip(n: int, timeout_s: float) -> float:
    """p50 µs of a 64-byte echo over one asyncio TCP connection, both ends in this loop."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while data := await reader.readexactly(64):
                writer.write(data)
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    times: list[float] = []
    payload = b"x" * 64
    async with server:
        reader, writer = await bounded("tcp connect", asyncio.open_connection("127.0.0.1", port), timeout_s)
        try:
            for i in range(n + 50):
                t0 = time.perf_counter()
                writer.write(payload)
                await bounded("tcp echo", reader.readexactly(64), timeout_s)
                if i >= 50:
                    times.append(time.perf_counter() - t0)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await bounded("tcp close", writer.wait_closed(), timeout_s)
    return percentile(sorted(t * 1e6 for t in times), 0.50)


def fdatasync_p50(directory: Path | None, n: int) -> float:
    """p50 µs of appending 128 bytes and fdatasync, in a file where the journals go."""
    times: list[float] = []
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        fd = os.open(Path(tmp) / "sync.bin", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for _ in range(n):
                t0 = time.perf_counter()
                os.write(fd, b"x" * 128)
                os.fdatasync(fd)
                times.append(time.perf_counter() - t0)
        finally:
            os.close(fd)
    return percentile(sorted(t * 1e6 for t in times), 0.50)


def budget_cost(entries: int, n: int) -> float:
    """p50 µs of what a Binance request spends in its client rate budget (``take`` before it,
    ``observe_used`` after it) when the 60 s window already holds ``entries`` requests of weight 1
    (6000: spot at its published limit)."""
    now = [0.0]
    budget = RateBudget("scale", limit=UNLIMITED, window_s=60.0, clock=lambda: now[0])
    for _ in range(entries):
        budget.try_take(1)
    times: list[float] = []
    for _ in range(n):
        t0 = time.perf_counter()
        budget.wait_for(1)
        budget.observe_used(1)
        times.append(time.perf_counter() - t0)
    return percentile(sorted(t * 1e6 for t in times), 0.50)


# ── the run ──


def loop_factory(name: LoopName) -> Callable[[], asyncio.AbstractEventLoop]:
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000, help="timed decisions per configuration (default 10000)")
    ap.add_argument("--warmup", type=int, default=200, help="untimed decisions before each configuration")
    ap.add_argument("--loop", choices=("both", "asyncio", "uvloop"), default="both")
    ap.add_argument("--durable", choices=("both", "on", "off"), default="both")
    ap.add_argument("--gap-ms", type=float, default=1.0, help="quiet after each settled decision (ms)")
    ap.add_argument("--scale-n", type=int, default=2000, help="round trips and fdatasyncs for scale")
    ap.add_argument(
        "--budget-window", type=float, default=0.01, help="the lifted client rate budget's window (s)"
    )
    ap.add_argument("--timeout", type=float, default=5.0, help="bound of every wait, seconds")
    ap.add_argument("--deadline", type=float, default=1800.0, help="bound of each configuration, seconds")
    ap.add_argument("--dir", type=Path, help="where the journals go (default: a temp dir)")
    ap.add_argument("--json", type=Path, help="write the figures to FILE as JSON")
    args = ap.parse_args(argv)
    if args.n < 1 or args.warmup < 0 or args.gap_ms < 0 or args.scale_n < 1:
        ap.error("--n and --scale-n must be at least 1, --warmup and --gap-ms not negative")
    settings = Settings(
        n=args.n,
        warmup=args.warmup,
        timeout_s=args.timeout,
        gap_s=args.gap_ms / 1000,
        budget_window_s=args.budget_window,
        directory=args.dir,
    )
    loops: list[LoopName] = ["asyncio", "uvloop"] if args.loop == "both" else [args.loop]
    durables = {"both": [False, True], "on": [True], "off": [False]}[args.durable]
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cpus, "
        f"aiohttp {aiohttp.__version__}, uvloop {importlib.metadata.version('uvloop')}; n={settings.n} "
        f"after {settings.warmup} warm-up, gap {args.gap_ms:g} ms; emulator in-process on 127.0.0.1",
        flush=True,
    )
    results: list[Result] = []
    scale: dict[str, float] = {}
    try:
        for loop_name in loops:
            for durable in durables:
                with asyncio.Runner(loop_factory=loop_factory(loop_name)) as runner:
                    results.append(
                        runner.run(
                            bounded("the configuration", measure(loop_name, durable, settings), args.deadline)
                        )
                    )
                r = results[-1]
                print(f"  {loop_name} durable={'on' if durable else 'off'}: {r.seconds:.1f} s", flush=True)
            with asyncio.Runner(loop_factory=loop_factory(loop_name)) as runner:
                scale[f"http_rtt_{loop_name}"] = runner.run(http_round_trip(args.scale_n, args.timeout))
                scale[f"tcp_rtt_{loop_name}"] = runner.run(tcp_round_trip(args.scale_n, args.timeout))
        scale["fdatasync"] = fdatasync_p50(args.dir, min(args.scale_n, 500))
        scale["budget_6000"] = budget_cost(6000, min(args.scale_n, 500))
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    rows = [r.row() for r in results]
    print("\nwire→order: emulator's bookTicker frame written → its HTTP server dispatches the order")
    print(f"{'loop':<9}{'durable':<9}{'n':>7}{'p50 µs':>10}{'p99 µs':>10}{'max µs':>10}{'pub→order p50':>15}")
    for row in rows:
        print(
            f"{row['loop']:<9}{'on' if row['durable'] else 'off':<9}{row['n']:>7}{row['p50_us']:>10,.1f}"
            f"{row['p99_us']:>10,.1f}{row['max_us']:>10,.1f}{row['publish_p50_us']:>15,.1f}"
        )
    print("\nwhere the time goes (p50 µs per segment)")
    print(f"{'loop':<9}{'durable':<9}" + "".join(f"{name:>16}" for name in SEGMENTS))
    for row in rows:
        parts = row["segments_p50_us"]
        print(
            f"{row['loop']:<9}{'on' if row['durable'] else 'off':<9}"
            + "".join(f"{parts[name]:>16,.1f}" for name in SEGMENTS)
        )
    fsync_cost: dict[str, float] = {}
    for loop_name in loops:
        by = {row["durable"]: row for row in rows if row["loop"] == loop_name}
        if True in by and False in by:
            fsync_cost[loop_name] = round(by[True]["p50_us"] - by[False]["p50_us"], 1)
            print(
                f"\nfsync cost added ({loop_name}): durable p50 − non-durable p50 = "
                f"{fsync_cost[loop_name]:,.1f} µs; the journal writer's commits themselves (write + "
                f"fdatasync in its thread) p50 {by[True]['journal_commit_p50_us'] or 0:,.1f} µs"
            )
    print("\nfor scale (p50 µs, 127.0.0.1, both ends in this process):")
    for loop_name in loops:
        print(
            f"  {loop_name}: aiohttp HTTP round trip {scale[f'http_rtt_{loop_name}']:,.1f}, "
            f"TCP 64-byte echo {scale[f'tcp_rtt_{loop_name}']:,.1f}"
        )
    print(f"  write + fdatasync in the journal's directory: {scale['fdatasync']:,.1f}")
    print(
        f"  client rate budget, 60 s window holding 6000 requests (not in the figures above, see "
        f"--budget-window): {scale['budget_6000']:,.1f}"
    )
    for row in rows:
        if not row["durable"]:
            ok = row["p50_us"] <= 150 and row["p99_us"] <= 500
            print(
                f"target without fsync (p50 ≤ 150 µs, p99 ≤ 500 µs), {row['loop']}: "
                f"{'met' if ok else 'NOT met'} (p50 {row['p50_us']:,.1f}, p99 {row['p99_us']:,.1f})"
            )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                    "n": settings.n,
                    "warmup": settings.warmup,
                    "gap_ms": args.gap_ms,
                    "results": rows,
                    "fsync_cost_us": fsync_cost,
                    "scale_p50_us": {k: round(v, 1) for k, v in scale.items()},
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
