"""Venue round trips on loopback: our execution clients against the venue emulators, ccxt beside them.

Run on demand: ``.venv/bin/python tests/bench/venue_roundtrip.py [--n 200] [--uvloop] [--json FILE]``.
For each emulator market (binance spot, binance USD-M, bybit spot, bybit linear) and client:

* ``submit→ack``: the time of one ``submit`` of a limit buy far below the market, until its answer
  holds OrderAccepted (ccxt: ``create_order`` until its answer). Each order is canceled afterwards,
  untimed, so the open-order count stays at one.
* ``submit→fill``: a market buy, from the ``submit`` call until the client's ``events()`` stream
  delivers the fill that completes it (the emulator fills a marketable order at once against the last
  quote, which is quoted again, untimed, before each order with ample size). For ccxt (binance only):
  ``create_order`` until an answer that says the order is filled (spot asks for the FULL response,
  USD-M for RESULT; ``fetch_order`` if the answer does not say so yet).

Figures are percentiles of ``--n`` orders per measure after ``--warmup`` untimed ones, in µs.

What the figures include: the emulator runs in this process on the same event loop, so a round
trip is the client's work plus the emulator's (HTTP parse, HMAC check, matching, the answer, and for
fills the user stream frame), plus loopback. The emulator's rate limits are lifted and our clients'
rate budgets are given room (the budget is still taken on every request), so nothing waits for a
window: the figures are the cost of the path, not of the venue's pacing. Every await is bounded by
``--timeout``; the whole run by ``--deadline``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING
from decimal import Decimal as D
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from adapters.binance.config import BinanceConfig
from adapters.binance.emulator import serve_binance
from adapters.binance.emulator_rest import BinanceLimits
from adapters.binance.execution import BinanceExecutionClient
from adapters.binance.rest import BinanceRest
from adapters.bybit.config import BybitConfig
from adapters.bybit.emulator import serve_bybit
from adapters.bybit.emulator_rest import BybitLimits
from adapters.bybit.execution import BybitExecutionClient
from adapters.bybit.rest import BybitRest
from adapters.emulator import EmulatorOptions, RunningEmulator
from adapters.emulator.options import TEST_API_KEY, TEST_API_SECRET
from adapters.ports import ExecutionEvent
from adapters.transport import RateBudget
from engines.markets.specs import spec_for
from engines.model.commands import CancelOrder, SubmitOrder
from engines.model.enums import OrderType, Side
from engines.model.events import Event, OrderAccepted, OrderCanceled, OrderFilled

_T = TypeVar("_T")

BID, ASK = D("43000.0"), D("43000.1")
#: Binance's PERCENT_PRICE lets a limit rest down to 0.95 × the market: far enough, never filled
FAR_BID = D("41000")
DEPTH = D(1_000)  # the quoted size: every market order fills at once, in one trade
#: ample funds, so buys only (as the measure says) for any --n
BALANCES = {"USDT": D(10) ** 9, "BTC": D(10) ** 4, "ETH": D(10) ** 4}
UNLIMITED = 10**9
STRATEGY = "bench"

Measure = Literal["submit→ack", "submit→fill"]


class BenchError(RuntimeError):
    """A round trip did not end the way the bench needs (no ack, no fill): the figures would lie."""


@dataclass(frozen=True)
class Case:
    venue: Literal["binance", "bybit"]
    market: str  # binance: spot/usdm; bybit: spot/linear
    symbol: str  # engine symbol
    ccxt_symbol: str

    @property
    def name(self) -> str:
        return f"{self.venue}-{self.market}"

    @property
    def quantity(self) -> D:
        """The smallest lot that passes min-notional (with room) at the far bid."""
        spec = spec_for(self.symbol)
        lots = (spec.min_notional * D("1.25") / FAR_BID / spec.lot_size).to_integral_value(ROUND_CEILING)
        return max(spec.min_qty, lots * spec.lot_size)


CASES: tuple[Case, ...] = (
    Case("binance", "spot", "binance-spot:BTCUSDT", "BTC/USDT"),
    Case("binance", "usdm", "binance-usdm:BTCUSDT", "BTC/USDT:USDT"),
    Case("bybit", "spot", "bybit-spot:BTCUSDT", "BTC/USDT"),
    Case("bybit", "linear", "bybit-linear:BTCUSDT", "BTC/USDT:USDT"),
)


@dataclass
class Series:
    venue: str
    client: str
    measure: Measure
    ns: list[int]

    def row(self) -> dict[str, object]:
        us = sorted(v / 1_000 for v in self.ns)
        return {
            "venue": self.venue,
            "client": self.client,
            "measure": self.measure,
            "n": len(us),
            "p50_us": round(_percentile(us, 0.50), 1),
            "p99_us": round(_percentile(us, 0.99), 1),
            "mean_us": round(statistics.fmean(us), 1),
            "min_us": round(us[0], 1),
            "max_us": round(us[-1], 1),
        }


def _percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest rank: a p99 of 200 samples is the 198th, a value that was measured."""
    rank = max(1, min(len(ordered), round(q * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Settings:
    n: int
    warmup: int
    timeout_s: float


async def bounded(what: str, awaitable: Awaitable[_T], timeout_s: float) -> _T:
    try:
        async with asyncio.timeout(timeout_s):
            return await awaitable
    except TimeoutError:
        raise BenchError(f"{what}: no answer within {timeout_s:g} s") from None


# ── our clients ──


class FillWatch:
    """Reads a client's ``events()`` for the whole run and stamps the moment each awaited order's
    completing fill is delivered (a stamp taken here, not after the waiter wakes up)."""

    def __init__(self, events: AsyncIterator[ExecutionEvent]) -> None:
        self._waiting: dict[str, tuple[D, asyncio.Future[int]]] = {}
        self._task = asyncio.create_task(self._read(events), name="bench-fill-watch")

    def expect(self, cid: str, quantity: D) -> asyncio.Future[int]:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting[cid] = (quantity, future)
        return future

    async def _read(self, events: AsyncIterator[ExecutionEvent]) -> None:
        try:
            async for event in events:
                if not isinstance(event, OrderFilled):
                    continue
                waiting = self._waiting.get(event.client_order_id)
                if waiting is not None and event.cum_qty >= waiting[0] and not waiting[1].done():
                    waiting[1].set_result(time.perf_counter_ns())
                    del self._waiting[event.client_order_id]
        except Exception as exc:  # the stream failed: every waiter learns it now, not at its timeout
            for _, future in self._waiting.values():
                if not future.done():
                    future.set_exception(BenchError(f"events() failed: {exc!r}"))
            raise

    async def stop(self, timeout_s: float) -> None:
        """The stream ends when its client closes; wait for that, bounded."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._task
        except TimeoutError:
            self._task.cancel()


def _submit(case: Case, cid: str, order_type: OrderType, price: D | None) -> SubmitOrder:
    return SubmitOrder(
        ts_event=0,
        ts_init=0,
        strategy=STRATEGY,
        venue=case.venue,
        client_order_id=cid,
        instrument=case.symbol,
        side=Side.BUY,
        order_type=order_type,
        quantity=case.quantity,
        price=price,
    )


def _cancel(case: Case, cid: str) -> CancelOrder:
    return CancelOrder(
        ts_event=0,
        ts_init=0,
        strategy=STRATEGY,
        venue=case.venue,
        client_order_id=cid,
        instrument=case.symbol,
    )


def _expect(answers: Sequence[Event], kind: type[Event], what: str) -> None:
    if not any(isinstance(a, kind) for a in answers):
        raise BenchError(f"{what}: expected {kind.__name__}, got {list(answers)}")


class _Client(Protocol):
    """What the bench uses of an ExecutionClient (both adapters' clients have it)."""

    async def submit(self, cmd: SubmitOrder) -> Sequence[Event]: ...
    async def cancel(self, cmd: CancelOrder) -> Sequence[Event]: ...
    def events(self) -> AsyncIterator[ExecutionEvent]: ...
    async def close(self) -> None: ...


async def _open_ours(case: Case, emulator: RunningEmulator, timeout_s: float) -> Any:
    if case.venue == "binance":
        market: Literal["spot", "usdm"] = "spot" if case.market == "spot" else "usdm"
        config = BinanceConfig.for_emulator(emulator.http_root, emulator.ws_root)
        rest = BinanceRest(
            config,
            market,
            api_key=TEST_API_KEY,
            api_secret=TEST_API_SECRET,
            timeout_s=timeout_s,
            budget=RateBudget(f"bench-{case.name}", limit=UNLIMITED, window_s=60.0),
        )
        binance = BinanceExecutionClient(
            config,
            TEST_API_KEY,
            TEST_API_SECRET,
            market,
            [case.symbol],
            rest=rest,
            timeout_s=timeout_s,
            connect_timeout_s=timeout_s,
        )
        await bounded(f"{case.name} start", binance.start(), timeout_s)
        return binance
    category: Literal["spot", "linear"] = "spot" if case.market == "spot" else "linear"
    bybit_config = BybitConfig.for_emulator(emulator.http_root, emulator.ws_root)
    bybit_rest = BybitRest(bybit_config, TEST_API_KEY, TEST_API_SECRET, timeout_s=timeout_s)
    # the client learns the endpoint limits from the emulator's X-Bapi-Limit, not the IP's
    bybit_rest.ip_budget = RateBudget("bench bybit ip", limit=UNLIMITED, window_s=5.5)
    for path in ("/order/create", "/order/cancel"):
        bybit_rest.budgets[(category, path)] = RateBudget(
            f"bench bybit {category} {path}", limit=UNLIMITED, window_s=1.1
        )
    bybit = BybitExecutionClient(
        bybit_config,
        TEST_API_KEY,
        TEST_API_SECRET,
        category=category,
        symbols=[case.symbol],
        timeout_s=timeout_s,
        rest=bybit_rest,
    )
    await bounded(f"{case.name} connect", bybit.connect(), timeout_s)
    return bybit


async def bench_ours(case: Case, emulator: RunningEmulator, s: Settings) -> list[Series]:
    client: _Client = await _open_ours(case, emulator, s.timeout_s)
    watch = FillWatch(client.events())
    acks: list[int] = []
    fills: list[int] = []
    try:
        for i in range(s.warmup + s.n):
            cid = f"vt-a-{i}"
            t0 = time.perf_counter_ns()
            answers = await bounded(
                f"{case.name} submit",
                client.submit(_submit(case, cid, OrderType.LIMIT, FAR_BID)),
                s.timeout_s,
            )
            t1 = time.perf_counter_ns()
            _expect(answers, OrderAccepted, f"{case.name} limit {cid}")
            if i >= s.warmup:
                acks.append(t1 - t0)
            canceled = await bounded(f"{case.name} cancel", client.cancel(_cancel(case, cid)), s.timeout_s)
            _expect(canceled, OrderCanceled, f"{case.name} cancel {cid}")
        for i in range(s.warmup + s.n):
            cid = f"vt-f-{i}"
            emulator.exchange.quote(case.symbol, BID, ASK, DEPTH, DEPTH)
            seen = watch.expect(cid, case.quantity)
            t0 = time.perf_counter_ns()
            answers = await bounded(
                f"{case.name} submit", client.submit(_submit(case, cid, OrderType.MARKET, None)), s.timeout_s
            )
            _expect(answers, OrderAccepted, f"{case.name} market {cid}")
            t1 = await bounded(f"{case.name} fill of {cid}", seen, s.timeout_s)
            if i >= s.warmup:
                fills.append(t1 - t0)
    finally:
        await bounded(f"{case.name} close", client.close(), s.timeout_s)
        await watch.stop(s.timeout_s)
    return [Series(case.name, "ours", "submit→ack", acks), Series(case.name, "ours", "submit→fill", fills)]


# ── ccxt ──


def _ccxt_exchange(case: Case, emulator: RunningEmulator, timeout_s: float) -> Any:
    import ccxt.async_support as ccxt_async  # type: ignore[import-untyped]

    common = {
        "apiKey": TEST_API_KEY,
        "secret": TEST_API_SECRET,
        "timeout": int(timeout_s * 1000),
        "enableRateLimit": False,
    }
    if case.venue == "binance":
        ex = ccxt_async.binance(
            {
                **common,
                "options": {
                    "fetchMarkets": {"types": ["spot", "linear"]},
                    "fetchCurrencies": False,
                    "fetchMargins": False,
                },
            }
        )
        api = ex.urls["api"]
        for name, url in list(api.items()):
            if isinstance(url, str) and "binance.com" in url:
                api[name] = emulator.http_root + url.split("binance.com", 1)[1]  # keep the path
        return ex
    ex = ccxt_async.bybit(
        {
            **common,
            "options": {
                # what is_unified_enabled() would learn from two more requests
                "enableUnifiedAccount": True,
                "enableUnifiedMargin": False,
                "unifiedMarginStatus": 5,
                "fetchMarkets": {"types": ["spot", "linear"]},
            },
        }
    )
    ex.urls["api"] = dict.fromkeys(ex.urls["api"], emulator.http_root)
    return ex


async def bench_ccxt(case: Case, emulator: RunningEmulator, s: Settings) -> list[Series]:
    ex = _ccxt_exchange(case, emulator, s.timeout_s)
    symbol, qty, far = case.ccxt_symbol, float(case.quantity), float(FAR_BID)
    acks: list[int] = []
    fills: list[int] = []
    try:
        await bounded(f"ccxt {case.name} load_markets", ex.load_markets(), s.timeout_s)
        for i in range(s.warmup + s.n):
            cid = f"cx-a-{i}"
            t0 = time.perf_counter_ns()
            placed = await bounded(
                f"ccxt {case.name} create_order",
                ex.create_order(symbol, "limit", "buy", qty, far, {"clientOrderId": cid}),
                s.timeout_s,
            )
            t1 = time.perf_counter_ns()
            if not placed.get("id"):
                raise BenchError(f"ccxt {case.name} limit {cid}: no order id in {placed}")
            if i >= s.warmup:
                acks.append(t1 - t0)
            await bounded(f"ccxt {case.name} cancel", ex.cancel_order(placed["id"], symbol), s.timeout_s)
        if case.venue == "binance":
            response = "FULL" if case.market == "spot" else "RESULT"
            for i in range(s.warmup + s.n):
                cid = f"cx-f-{i}"
                emulator.exchange.quote(case.symbol, BID, ASK, DEPTH, DEPTH)
                params = {"clientOrderId": cid, "newOrderRespType": response}
                t0 = time.perf_counter_ns()
                order = await bounded(
                    f"ccxt {case.name} market",
                    ex.create_order(symbol, "market", "buy", qty, None, params),
                    s.timeout_s,
                )
                for _ in range(10):  # the answer may predate the fill: ask, a bounded number of times
                    if order.get("filled") == qty:
                        break
                    order = await bounded(
                        f"ccxt {case.name} fetch_order", ex.fetch_order(order["id"], symbol), s.timeout_s
                    )
                else:
                    raise BenchError(f"ccxt {case.name} market {cid} not filled: {order}")
                t1 = time.perf_counter_ns()
                if i >= s.warmup:
                    fills.append(t1 - t0)
    finally:
        await bounded(f"ccxt {case.name} close", ex.close(), s.timeout_s)
    out = [Series(case.name, "ccxt", "submit→ack", acks)]
    if fills:
        out.append(Series(case.name, "ccxt", "submit→fill", fills))
    return out


# ── the run ──


async def _serve(venue: str) -> RunningEmulator:
    symbols = tuple(c.symbol for c in CASES if c.venue == venue)
    options = EmulatorOptions(walk=False, symbols=symbols, balances=BALANCES)
    if venue == "binance":
        limits = BinanceLimits(
            spot_weight=UNLIMITED, usdm_weight=UNLIMITED, spot_orders=UNLIMITED, usdm_orders=UNLIMITED
        )
        emulator = await serve_binance(options, host="127.0.0.1", port=0, limits=limits)
    else:
        bybit_limits = BybitLimits(
            **{
                name: UNLIMITED
                for name in (
                    "create_spot",
                    "create_linear",
                    "cancel_spot",
                    "cancel_linear",
                    "cancel_all_spot",
                    "cancel_all_linear",
                    "default",
                    "ip_requests",
                )
            }
        )
        emulator = await serve_bybit(options, host="127.0.0.1", port=0, limits=bybit_limits)
    for symbol in symbols:
        emulator.exchange.quote(symbol, BID, ASK, DEPTH, DEPTH)
    return emulator


async def run(s: Settings, with_ccxt: bool, log: Callable[[str], None]) -> list[Series]:
    out: list[Series] = []
    for venue in ("binance", "bybit"):
        emulator = await bounded(f"{venue} emulator start", _serve(venue), s.timeout_s)
        try:
            for case in (c for c in CASES if c.venue == venue):
                started = time.perf_counter()
                out.extend(await bench_ours(case, emulator, s))
                if with_ccxt:
                    out.extend(await bench_ccxt(case, emulator, s))
                log(f"  {case.name}: {time.perf_counter() - started:.1f} s")
        finally:
            await bounded(f"{venue} emulator close", emulator.close(), s.timeout_s)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="timed orders per measure (default 200)")
    ap.add_argument("--warmup", type=int, default=20, help="untimed orders before each measure")
    ap.add_argument("--timeout", type=float, default=5.0, help="bound of every await, seconds")
    ap.add_argument("--deadline", type=float, default=600.0, help="bound of the whole run, seconds")
    ap.add_argument("--uvloop", action="store_true", help="run on uvloop")
    ap.add_argument("--no-ccxt", action="store_true", help="our clients only")
    ap.add_argument("--json", type=Path, help="write the figures to FILE as JSON")
    args = ap.parse_args()
    if args.n < 1 or args.warmup < 0:
        ap.error("--n must be at least 1 and --warmup not negative")
    settings = Settings(n=args.n, warmup=args.warmup, timeout_s=args.timeout)
    with_ccxt = not args.no_ccxt
    if with_ccxt and importlib.util.find_spec("ccxt") is None:
        print("ccxt is not installed: our clients only", file=sys.stderr)
        with_ccxt = False
    if with_ccxt:
        importlib.import_module("ccxt.async_support")  # seconds of imports, before any clock runs

    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    loop_name = "asyncio"
    if args.uvloop:
        import uvloop

        loop_factory, loop_name = uvloop.new_event_loop, f"uvloop {importlib.metadata.version('uvloop')}"

    async def bounded_run() -> list[Series]:
        return await bounded("the run", run(settings, with_ccxt, print), args.deadline)

    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cpus, {loop_name}; "
        f"n={settings.n} after {settings.warmup} warm-up, emulator in-process on 127.0.0.1"
    )
    started = time.perf_counter()
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            series = runner.run(bounded_run())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    rows = [s.row() for s in series]
    print(f"{'venue':<15}{'client':<7}{'measure':<13}{'n':>6}{'p50 µs':>10}{'p99 µs':>10}{'mean µs':>10}")
    for r in rows:
        print(
            f"{r['venue']:<15}{r['client']:<7}{r['measure']:<13}{r['n']:>6}"
            f"{r['p50_us']:>10,.1f}{r['p99_us']:>10,.1f}{r['mean_us']:>10,.1f}"
        )
    print(f"total {elapsed:.1f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "python": platform.python_version(),
                    "loop": loop_name,
                    "cpus": os.cpu_count(),
                    "n": settings.n,
                    "warmup": settings.warmup,
                    "elapsed_s": round(elapsed, 2),
                    "results": rows,
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
