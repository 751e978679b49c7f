"""The chaos harness: `vibetrading run` against faulty emulators, killed and restarted, then audited.

One **seed** is one trial, reproducible from its number alone:

1. the seed picks a strategy type (single, portfolio or arbitrage), the emulators' fault mix and a
   fresh key pair, and starts the emulators in this process (loopback, the seed's faults);
2. the daemon runs as its own process (`vibetrading run --config ...`, live mode) and is killed
   ``kills`` times: at a named crash point (``VIBETRADING_CRASH_AT=POINT:N``, daemon/live/crash.py)
   or by SIGKILL from outside at a random moment, then restarted on the same state directory; each
   restart's time to ``/readyz`` 200 is its recovery time;
3. a last clean session halts (``POST /halt``), lets everything in flight settle with faults off,
   and stops on SIGTERM;
4. the audit compares the journal with each emulator's own record: **lost** (an order the venue
   holds or held that the journal lacks), **duplicates** (a client id whose create reached the venue
   more than once), **blind resubmits** (a create sent again without a ``not_found`` query proving the
   venue lacked it: the daemon never resends, so any second create counts), fills one for one by
   trade id, the position equal to the sum of the fills, nothing the journal calls ended still live
   at the venue, ``journal verify`` clean, and no key, secret or signature in the logs, the journal or
   the metrics pages.

A failing seed is reported with its number; ``python -m tests.chaos.run --seed N`` replays it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import aiohttp
import msgspec

from adapters.binance.emulator import serve_binance
from adapters.bybit.emulator import serve_bybit
from adapters.bybit.emulator_rest import exec_id
from adapters.emulator import EmulatorOptions
from adapters.emulator.exchange import OrderState
from adapters.emulator.faults import parse_faults
from adapters.emulator.server import RunningEmulator
from adapters.kis.emulator import serve_kis
from adapters.kiwoom.emulator import serve_kiwoom
from daemon.journal import read_events, verify
from daemon.live.crash import POINTS
from engines.errors import VibeError
from engines.model.enums import Side
from engines.model.events import ORDER_EVENTS, Event, OrderFilled, OrderSubmitted
from engines.orders.book import Orders

REPO = Path(__file__).resolve().parents[2]
VIBETRADING = REPO / ".venv" / "bin" / "vibetrading"
BTC, ETH, PERP = "binance-spot:BTCUSDT", "binance-spot:ETHUSDT", "bybit-linear:BTCUSDT"
KINDS = ("single", "portfolio", "arbitrage")
#: with --brokers, every fourth seed is a KOSPI portfolio on KIS or Kiwoom (not yet in the default
#: suite: a Kiwoom session killed mid-run does not finish reconciling on restart, see docs/chaos.md)
KINDS_WITH_BROKERS = ("single", "portfolio", "arbitrage", "kospi")
SAMSUNG, HYNIX = "krx:005930", "krx:000660"
#: the brokers' emulators know these faults (no out-of-order fills: a notice has no fill to reorder);
#: 429 and token-expiry are drawn per request
BROKER_FAULTS = (
    "timeout=0.03,5xx=0.03,accept-then-timeout=0.04,reset=0.02,dup-fill=0.08,drop-ws=0.01,"
    "429=0.01,token-expiry=0.003"
)
#: 429 and 418 are drawn per order request, clock-skew per signed request, stale-quote and stall-ws
#: per market message (hence their small figures: a walk sends hundreds a second)
FAULTS = (
    "timeout=0.03,5xx=0.03,accept-then-timeout=0.04,reset=0.02,dup-fill=0.08,out-of-order=0.05,drop-ws=0.01,"
    "429=0.02,418=0.003,clock-skew=0.01,stale-quote=0.002,stall-ws=0.0003"
)
#: the last session must settle what is in flight: a ban would stop it, by design, before it could
FINAL_FAULTS = ",".join(p for p in FAULTS.split(",") if not p.startswith("418="))
READY_TIMEOUT_S = 25.0
#: the largest hit count drawn per point: how often each point passes in a few seconds of trading
HITS = {"intent_durable": 8, "answer_received": 8, "fill_fold": 8, "reconcile": 3, "market_step": 300}
CRASH_WAIT_S = 6.0


@dataclass
class SeedResult:
    seed: int
    kind: str
    kills: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    orders: int = 0
    fills: int = 0
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    blind_resubmits: list[str] = field(default_factory=list)
    fill_mismatches: list[str] = field(default_factory=list)
    position_mismatches: list[str] = field(default_factory=list)
    ended_but_live: list[str] = field(default_factory=list)
    not_recovered: list[str] = field(default_factory=list)
    journal_errors: list[str] = field(default_factory=list)
    torn_tails: int = 0
    #: restarts whose /readyz stayed false only because a venue was banned (418), as documented
    banned_restarts: int = 0
    secrets_found: list[str] = field(default_factory=list)
    recovery_s: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.duplicates
            or self.blind_resubmits
            or self.fill_mismatches
            or self.position_mismatches
            or self.ended_but_live
            or self.not_recovered
            or self.journal_errors
            or self.secrets_found
        )

    def problems(self) -> dict[str, list[str]]:
        names = (
            "lost",
            "duplicates",
            "blind_resubmits",
            "fill_mismatches",
            "position_mismatches",
            "ended_but_live",
            "not_recovered",
            "journal_errors",
            "secrets_found",
        )
        return {n: getattr(self, n) for n in names if getattr(self, n)}


def _failed_checks(readyz: str) -> dict[str, str] | None:
    """The checks a /readyz body fails, by name, with their details; None if it is not such a body."""
    try:
        checks = json.loads(readyz)["checks"]
        return {name: str(c["detail"]) for name, c in checks.items() if not c["ok"]}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _banned(readyz: str) -> bool:
    """Whether a /readyz body says a venue is banned (HTTP 418): a state the daemon keeps on purpose."""
    failed = _failed_checks(readyz) or {}
    return any(name.startswith("rate_limit:") and "banned" in detail for name, detail in failed.items())


def _failing(readyz: str) -> str:
    """The checks a /readyz body fails, with their details (the whole body is too long to read)."""
    failed = _failed_checks(readyz)
    if failed is None:
        return readyz[:300]
    return "; ".join(f"{name}: {detail}" for name, detail in failed.items())[:600]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _strategy(kind: str) -> tuple[Path, dict[str, object], str]:
    if kind == "single":
        return REPO / "tests/live/strategies/flip.py", {"symbol": BTC, "every": 2, "size": "0.01"}, ""
    if kind == "portfolio":
        params: dict[str, object] = {
            "universe": f"{BTC},{ETH}",
            "schedule": "on_demand",
            "cash_buffer": "0.2",
        }
        return REPO / "strategies/examples/rebalance.py", params, "[market]\nbar_seconds = 1\n"
    if kind == "kospi":
        params = {"universe": f"{SAMSUNG},{HYNIX}", "schedule": "on_demand", "cash_buffer": "0.2"}
        return REPO / "strategies/examples/rebalance.py", params, "[market]\nbar_seconds = 1\n"
    params = {
        "legs": f"{BTC},{PERP}",
        "entry_bps": "0.5",
        "exit_bps": "0.1",
        "size": "0.002",
        "cooldown_ms": 200,
        "window_ms": 200,
    }
    return REPO / "strategies/examples/spread_arb.py", params, ""


def _net(fills: Sequence[tuple[Side, Decimal]]) -> Decimal:
    """The position the fills add up to (buys positive)."""
    return sum((qty if side is Side.BUY else -qty for side, qty in fills), Decimal(0))


def _wire_trade_id(venue: str, trade_id: int) -> str:
    """The trade id as the venue puts it on the wire (and so in the journal)."""
    return exec_id(trade_id) if venue == "bybit" else str(trade_id)


class Trial:
    """One seed's emulators, configuration and daemon processes."""

    def __init__(self, seed: int, root: Path, kills: int, *, brokers: bool = False) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        kinds = KINDS_WITH_BROKERS if brokers else KINDS
        self.kind = kinds[seed % len(kinds)]
        #: the KOSPI seeds alternate between the two brokers
        self.broker = "kis" if (seed // len(kinds)) % 2 else "kiwoom"
        self.kills = kills
        self.root = root
        self.state = root / "state"
        self.port = _free_port()
        self.key = f"chaos-key-{self.rng.getrandbits(64):016x}"
        self.secret = f"chaos-secret-{self.rng.getrandbits(128):032x}"
        self.emulators: dict[str, RunningEmulator] = {}
        self.result = SeedResult(seed, self.kind)
        self.logs: list[Path] = []
        self.pages: list[str] = []

    # ── set-up ──

    async def start_emulators(self) -> None:
        keys = {self.key: self.secret}
        faults = parse_faults(FAULTS)
        common = {"keys": keys, "walk_interval_s": 0.02, "hang_s": 0.5, "faults": faults}
        if self.kind == "kospi":
            broker = {
                "keys": keys,
                "walk_interval_s": 0.02,
                "hang_s": 0.5,
                "faults": parse_faults(BROKER_FAULTS),
            }
            options = EmulatorOptions(symbols=(SAMSUNG, HYNIX), seed=self.seed, **broker)  # type: ignore[arg-type]
            serve = serve_kis if self.broker == "kis" else serve_kiwoom
            self.emulators[self.broker] = await serve(options)
            return
        symbols: tuple[str, ...] = (BTC, ETH) if self.kind == "portfolio" else (BTC,)
        self.emulators["binance"] = await serve_binance(
            EmulatorOptions(symbols=symbols, seed=self.seed, **common)  # type: ignore[arg-type]
        )
        if self.kind == "arbitrage":
            self.emulators["bybit"] = await serve_bybit(
                EmulatorOptions(symbols=(PERP,), seed=self.seed + 1, **common)  # type: ignore[arg-type]
            )

    def write_config(self) -> Path:
        creds = self.root / "credentials.json"
        creds.write_text(json.dumps({"api_key": self.key, "api_secret": self.secret, "account": "12345678"}))
        creds.chmod(0o600)
        strategy, params, extra = _strategy(self.kind)
        lines = ['mode = "live"', "[strategy]", f'file = "{strategy}"']
        lines.append("params = { " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in params.items()) + " }")
        for name, emulator in self.emulators.items():
            lines += [
                f"[venues.{name}]",
                # the brokers' emulators serve their real environment by default, the crypto ones both
                f'environment = "{"production" if name in ("kis", "kiwoom") else "test"}"',
                f'rest_url = "{emulator.http_root}"',
                f'ws_url = "{emulator.ws_root}"',
                f'credentials = "file:{creds}"',
                "timeout_ms = 400",
            ]
            if name == "kis":
                lines.append('hts_id = "chaos01"')
        lines += ["[state]", f'dir = "{self.state}"', "[health]", f'listen = "127.0.0.1:{self.port}"']
        lines += ["[runtime]", 'loop = "asyncio"']
        path = self.root / "run.toml"
        path.write_text("\n".join(lines) + "\n" + extra)
        return path

    # ── one daemon process ──

    async def spawn(self, config: Path, crash_at: str | None) -> asyncio.subprocess.Process:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_SOCKET", "WATCHDOG_"))}
        env.pop("VIBETRADING_CRASH_AT", None)
        if crash_at is not None:
            env["VIBETRADING_CRASH_AT"] = crash_at
        log = self.root / f"daemon-{len(self.logs)}.log"
        self.logs.append(log)
        out = log.open("wb")
        try:
            return await asyncio.create_subprocess_exec(
                str(VIBETRADING) if VIBETRADING.exists() else sys.executable,
                *(() if VIBETRADING.exists() else ("-m", "daemon.cli")),
                "run",
                "--config",
                str(config),
                *(("--venue-clock", "krx-session") if self.kind == "kospi" else ()),
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
            )
        finally:
            out.close()

    async def get(self, path: str, token: str | None = None, method: str = "GET") -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        timeout = aiohttp.ClientTimeout(total=2)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.request(method, f"http://127.0.0.1:{self.port}{path}", headers=headers) as r,
        ):
            return r.status, await r.text()

    async def wait_ready(self, proc: asyncio.subprocess.Process) -> float | None:
        """Seconds until /readyz answered 200, or None when the process ended first or never got there."""
        started = time.monotonic()
        last = ""
        while time.monotonic() - started < READY_TIMEOUT_S:
            if proc.returncode is not None:
                if proc.returncode != -signal.SIGKILL:  # not one of our kills: it could not start
                    tail = self.logs[-1].read_text(errors="replace")[-400:]
                    self.result.not_recovered.append(f"exited {proc.returncode} before ready: {tail}")
                return None
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                status, body = await self.get("/readyz")
                if status == 200:
                    return time.monotonic() - started
                last = body
            await asyncio.sleep(0.05)
        if _banned(last):
            # a 418 stops that venue by design and /readyz says so (docs/chaos.md): that is the
            # expected state, not a failed recovery (the final session runs without 418)
            self.result.banned_restarts += 1
            return None
        self.result.not_recovered.append(f"no /readyz 200 within {READY_TIMEOUT_S:g} s: {_failing(last)}")
        return None

    async def kill_round(self, config: Path) -> None:
        point = self.rng.choice([*sorted(POINTS), "outside", "outside"])
        crash_at = None if point == "outside" else f"{point}:{self.rng.randint(1, HITS[point])}"
        proc = await self.spawn(config, crash_at)
        ready = await self.wait_ready(proc)
        if ready is not None:
            self.result.recovery_s.append(ready)
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                self.pages.append((await self.get("/metrics"))[1])
        if point == "outside":
            await asyncio.sleep(self.rng.uniform(0.3, 3.0))
        else:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CRASH_WAIT_S):
                    await proc.wait()
            if proc.returncode is None:
                point = "outside (point not reached)"
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
        await proc.wait()
        self.result.kills[point] += 1
        self._check_journal(after_kill=True)

    async def final_session(self, config: Path) -> None:
        """A clean session: trade, then halt, settle with faults off, and stop on SIGTERM."""
        for name, emulator in self.emulators.items():
            final = BROKER_FAULTS if name in ("kis", "kiwoom") else FINAL_FAULTS
            emulator.exchange.faults.spec = parse_faults(final)
        proc = await self.spawn(config, None)
        ready = await self.wait_ready(proc)
        if ready is None:
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
            return
        self.result.recovery_s.append(ready)
        await asyncio.sleep(1.0)
        for emulator in self.emulators.values():
            emulator.exchange.faults.spec = parse_faults("none")
        token = (self.state / "halt.token").read_text().strip()
        await self.get("/halt", token=token, method="POST")
        settle_until = time.monotonic() + 15
        while time.monotonic() < settle_until:
            _, body = await self.get("/readyz")
            checks = json.loads(body)["checks"]
            if checks["no_unknown_orders"]["ok"]:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # the last stream messages
        self.pages.append((await self.get("/metrics"))[1])
        proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(20):
                code = await proc.wait()
        except TimeoutError:
            proc.send_signal(signal.SIGKILL)
            code = await proc.wait()
        if code != 0:
            self.result.journal_errors.append(f"the final session exited {code} after SIGTERM")
        self._check_journal(after_kill=False)

    def _check_journal(self, *, after_kill: bool) -> None:
        path = self.state / "journal.vtj"
        if not path.exists():
            return
        report = verify(path)
        if report.ok:
            return
        code = (report.error or {}).get("code")
        if after_kill and code in ("VT601", "VT602"):
            self.result.torn_tails += 1  # a record cut by the kill: the next start repairs it
            return
        self.result.journal_errors.append(f"journal verify: {report.error}")

    # ── the audit ──

    def _audit_broker(
        self, name: str, events: Sequence[Event], intents: dict[str, OrderSubmitted], orders: Orders
    ) -> None:
        """A broker takes no client id: its orders are matched to the journal by order number."""
        numbered: dict[int, str] = {}
        for event in events:
            number = getattr(event, "venue_order_id", None)
            cid = getattr(event, "client_order_id", None)
            if number and cid in intents and str(number).isdigit():
                numbered[int(number)] = cid
        account = self.emulators[name].exchange.accounts[self.key]
        for record in account.orders.values():
            cid = numbered.get(record.order_id)
            if cid is None and record.state is OrderState.REJECTED:
                continue  # refused at the order desk: the broker answers an error and gives it no number
            if cid is None:
                self.result.lost.append(f"{name}: order {record.order_id} is not in the journal")
                continue
            order = orders.get(cid)
            if order is not None and order.status.is_terminal and record.state.is_open:
                self.result.ended_but_live.append(f"{name}: {cid} is {order.status}, live")
        journalled: dict[str, OrderFilled] = {}
        for event in events:
            if isinstance(event, OrderFilled) and intents.get(event.client_order_id) is not None:
                journalled.setdefault(event.trade_id, event)
        for symbol in sorted(
            {t.symbol for t in account.trades} | {f.instrument for f in journalled.values()}
        ):
            at_venue = _net([(t.side, t.qty) for t in account.trades if t.symbol == symbol])
            in_journal = _net([(f.side, f.last_qty) for f in journalled.values() if f.instrument == symbol])
            if at_venue != in_journal:
                self.result.position_mismatches.append(f"{symbol}: venue {at_venue}, journal {in_journal}")

    def audit(self) -> None:
        events: list[Event] = list(read_events(self.state / "journal.vtj"))
        intents = {e.client_order_id: e for e in events if isinstance(e, OrderSubmitted)}
        orders = Orders()
        for event in events:
            if isinstance(event, ORDER_EVENTS):
                with contextlib.suppress(VibeError):  # the daemon dropped the same (stale, duplicate)
                    orders.apply(event)  # type: ignore[arg-type]
        journal_fills: dict[str, OrderFilled] = {}
        for event in events:
            if isinstance(event, OrderFilled):
                journal_fills.setdefault(f"{event.instrument}#{event.trade_id}", event)
        self.result.orders = len(intents)
        self.result.fills = len(journal_fills)
        for name, emulator in self.emulators.items():
            exchange = emulator.exchange
            self.result.faults.update({k: v for k, v in exchange.faults.injected.items() if v})
            if name in ("kis", "kiwoom"):
                self._audit_broker(name, events, intents, orders)
                continue
            account = exchange.accounts[self.key]
            creates = Counter(cid for cid, _ in account.creates)
            creates.update(account.duplicate_creates)
            for cid, n in sorted(creates.items()):
                if cid not in intents:
                    self.result.lost.append(f"{name}: {cid} reached the venue, the journal has no intent")
                if n > 1:
                    self.result.duplicates.append(f"{name}: {cid} created {n} times")
                    self.result.blind_resubmits.append(f"{name}: {cid} sent again ({n} creates)")
            for record in account.orders.values():
                if record.client_id not in intents:
                    self.result.lost.append(f"{name}: order {record.client_id} is not in the journal")
                order = orders.get(record.client_id)
                if order is not None and order.status.is_terminal and record.state.is_open:
                    self.result.ended_but_live.append(f"{name}: {record.client_id} is {order.status}, live")
            venue_trades = {
                f"{t.symbol}#{_wire_trade_id(name, t.trade_id)}": t
                for t in account.trades
                if t.client_id in intents
            }
            ours = {k: f for k, f in journal_fills.items() if intents[f.client_order_id].venue == name}
            for key in sorted(set(venue_trades) ^ set(ours)):
                side = "the venue only" if key in venue_trades else "the journal only"
                self.result.fill_mismatches.append(f"{name}: fill {key} in {side}")
            for symbol in sorted({t.symbol for t in venue_trades.values()}):
                at_venue = [(t.side, t.qty) for t in venue_trades.values() if t.symbol == symbol]
                journalled = [(f.side, f.last_qty) for f in ours.values() if f.instrument == symbol]
                venue_sum, journal_sum = _net(at_venue), _net(journalled)
                if venue_sum != journal_sum:
                    self.result.position_mismatches.append(
                        f"{symbol}: venue {venue_sum}, journal {journal_sum}"
                    )
        self._scan_secrets()

    def _scan_secrets(self) -> None:
        secrets = {"api key": self.key, "api secret": self.secret}
        texts = {str(log): log.read_text(errors="replace") for log in self.logs if log.exists()}
        texts["journal"] = (self.state / "journal.vtj").read_bytes().decode("latin-1")
        texts |= {f"metrics page {i}": page for i, page in enumerate(self.pages)}
        for where, text in texts.items():
            for what, value in secrets.items():
                if value in text or value[-16:] in text:
                    self.result.secrets_found.append(f"{what} in {where}")


async def run_trial(seed: int, root: Path, kills: int, *, brokers: bool = False) -> SeedResult:
    shutil.rmtree(root, ignore_errors=True)  # a seed starts from nothing: its emulators do too
    root.mkdir(parents=True)
    trial = Trial(seed, root, kills, brokers=brokers)
    await trial.start_emulators()
    try:
        config = trial.write_config()
        for _ in range(kills):
            await trial.kill_round(config)
        await trial.final_session(config)
        trial.audit()
    finally:
        for emulator in trial.emulators.values():
            await emulator.close()
    return trial.result


@dataclass
class Summary:
    seeds: list[SeedResult]
    #: the soak's figures (tests/chaos/soak.py, its soak.json) when one ran beside the seeds
    soak: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        kills: Counter[str] = Counter()
        faults: Counter[str] = Counter()
        for r in self.seeds:
            kills.update(r.kills)
            faults.update(r.faults)
        recovery = [s for r in self.seeds for s in r.recovery_s]
        return {
            "seed": [r.seed for r in self.seeds],
            "runs": len(self.seeds),
            "kills": dict(sorted(kills.items())),
            "kills_total": sum(kills.values()),
            "faults": dict(sorted(faults.items())),
            "faults_total": sum(faults.values()),
            "orders": sum(r.orders for r in self.seeds),
            "fills": sum(r.fills for r in self.seeds),
            "lost": sum(len(r.lost) for r in self.seeds),
            "duplicates": sum(len(r.duplicates) for r in self.seeds),
            "blind_resubmits": sum(len(r.blind_resubmits) for r in self.seeds),
            "fill_mismatches": sum(len(r.fill_mismatches) for r in self.seeds),
            "position_mismatches": sum(len(r.position_mismatches) for r in self.seeds),
            "ended_but_live": sum(len(r.ended_but_live) for r in self.seeds),
            "not_recovered": sum(len(r.not_recovered) for r in self.seeds),
            "journal_errors": sum(len(r.journal_errors) for r in self.seeds),
            "torn_tails_repaired": sum(r.torn_tails for r in self.seeds),
            "banned_restarts": sum(r.banned_restarts for r in self.seeds),
            "secrets_found": sum(len(r.secrets_found) for r in self.seeds),
            "max_recovery_s": round(max(recovery), 3) if recovery else None,
            "failed_seeds": {str(r.seed): r.problems() for r in self.seeds if not r.ok},
            "soak": None if self.soak is None else {k: self.soak.get(k) for k in SOAK_KEYS},
        }

    def table(self) -> str:
        data = self.as_json()
        rows = [
            ("runs (seeds)", data["runs"]),
            ("kills", f"{data['kills_total']}  {data['kills']}"),
            ("faults injected", f"{data['faults_total']}  {data['faults']}"),
            ("orders", data["orders"]),
            ("fills", data["fills"]),
            ("lost", data["lost"]),
            ("duplicates", data["duplicates"]),
            ("blind resubmits", data["blind_resubmits"]),
            ("fill / position mismatches", f"{data['fill_mismatches']} / {data['position_mismatches']}"),
            ("ended at the journal, live at the venue", data["ended_but_live"]),
            ("not recovered", data["not_recovered"]),
            ("restarts kept not ready by a 418 ban (expected)", data["banned_restarts"]),
            (
                "journal errors (torn tails repaired)",
                f"{data['journal_errors']} ({data['torn_tails_repaired']})",
            ),
            ("secrets found", data["secrets_found"]),
            ("max recovery to /readyz (s)", data["max_recovery_s"]),
        ]
        soak = data["soak"]
        if soak is None:
            rows.append(("soak", "none (make soak, or make chaos without SEED, writes soak.json)"))
        else:
            rows += [
                (
                    "soak",
                    f"{soak['seconds']} s at {soak['rate_achieved']} events/s, exit {soak['exit_code']}",
                ),
                (
                    "soak slopes /min: RSS MB, lag ms, commit ms",
                    f"{soak['rss_slope_mb_per_min']}, {soak['lag_slope_ms_per_min']}, "
                    f"{soak['commit_slope_ms_per_min']}",
                ),
                ("soak max loop lag (ms)", soak["lag_max_ms"]),
            ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


#: the soak's figures the chaos summary carries
SOAK_KEYS: Final = (
    "seconds",
    "rate_achieved",
    "rss_slope_mb_per_min",
    "lag_slope_ms_per_min",
    "lag_max_ms",
    "commit_slope_ms_per_min",
    "commit_mean_ms",
    "exit_code",
)


def read_soak(out: Path) -> dict[str, Any] | None:
    """The soak report in ``out`` (``soak.json``), if a soak wrote one there."""
    path = out / "soak.json"
    if not path.exists():
        return None
    data = msgspec.json.decode(path.read_bytes())
    return data if isinstance(data, dict) else None


def write_summary(summary: Summary, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "summary.json"
    path.write_bytes(msgspec.json.format(msgspec.json.encode(summary.as_json()), indent=2) + b"\n")
    return path


async def run_seeds(seeds: Sequence[int], root: Path, kills: int, *, brokers: bool = False) -> Summary:
    results = []
    for seed in seeds:
        results.append(await run_trial(seed, root / f"seed-{seed}", kills, brokers=brokers))
    return Summary(results)
