"""Golden digests: the exact bytes of the canonical replay of each strategy type are pinned.

Every case below is replayed through the real command (``python -m daemon.cli replay ... --quiet
--out DIR``) in a subprocess of its own, twice: once under asyncio and once under ``--loop uvloop``,
each process with a different ``PYTHONHASHSEED`` (fixed ones and one drawn at random per session,
printed on a failure). The sha256 of ``journal.vtj``, ``report.json``, ``trades.csv`` and
``equity.csv`` of every run must equal those in ``golden.json`` beside this file. So a change that
moves a single byte of a journal or a report, or makes one depend on the event loop or on hash
order, fails here and names the run and the file.

**A golden changes only in a commit whose message explains why** (which change of the journal
format, fill rules, strategy or report moves which bytes, and why the new bytes are right). To
regenerate after such a change, from the repository root::

    .venv/bin/python tests/replay/test_golden.py --update

``--update`` replays every case under both loops with different hash seeds, refuses to write if
any two runs of a case differ (a golden is pinned only for a deterministic run), rewrites
``golden.json`` and prints what changed. It needs ``../shared/data`` beside the repository; the
pytest run skips the cases whose data is absent.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
GOLDEN = HERE / "golden.json"
SHARED = "../shared/data"  # REPO.parent / "shared" / "data", as the commands below are run from REPO
UPDATE = ".venv/bin/python tests/replay/test_golden.py --update"
FILES = ("journal.vtj", "report.json", "trades.csv", "equity.csv")
#: report figures kept in golden.json beside the digests, so that a reviewer sees what moved
SUMMARY = ("orders", "rejected_orders", "fills", "round_trips", "final_equity", "journal_records")
WORKERS = 2  # this project's machines have 2 cores
TIMEOUT_S = 300

SPOT = f"{SHARED}/binance-spot_BTCUSDT_quotes_20240808.csv.gz"
USDM = f"{SHARED}/binance-usdm_BTCUSDT_quotes_20240808.csv.gz"
SP500 = f"{SHARED}/us-equities_SP500-20_dailyclose_20000103-20221228.csv.gz"
SP500_STOCKS = "AAPL AMD BAC BBY CVX GE HD JNJ JPM KO LLY MRK MSFT PEP PFE PG RRC UNH WMT XOM"
SP500_UNIVERSE = ",".join(f"us-equities:{s}" for s in SP500_STOCKS.split(" "))


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]  # after ``vibetrading``, relative to the repository root
    about: str

    @property
    def data(self) -> list[Path]:
        return [REPO / self.argv[i + 1] for i, a in enumerate(self.argv) if a == "--data"]


CASES = (
    Case(
        "single-kospi-make-run",
        (
            "replay",
            "strategies/my_strategy_a.py",
            "--data",
            "replay_fixtures/krx-kospi6-daily",
            "--cash",
            "10000000",
            "--fee-bps",
            "15",
        ),
        "`make run`: the canonical strategy (single, SMA cross on krx:005930) on the bundled fixture",
    ),
    Case(
        "single-sma-cross-ftx",
        (
            "replay",
            "strategies/examples/sma_cross.py",
            "--data",
            f"{SHARED}/ftx_BTC-PERP_bars1m_20211231-20220201.csv.gz",
            "--param",
            "size=0.01",
            "--cash",
            "10000",
            "--fee-bps",
            "10",
        ),
        "README: the SMA cross example on FTX BTC-PERP minute bars (the backtrader reference run)",
    ),
    Case(
        "portfolio-rebalance-kospi",
        (
            "replay",
            "strategies/examples/rebalance.py",
            "--data",
            "replay_fixtures/krx-kospi6-daily",
            "--cash",
            "10000000",
        ),
        "README and docs/portfolio.md: equal weight over six KOSPI stocks, monthly",
    ),
    Case(
        "portfolio-rebalance-sp500-20",
        (
            "replay",
            "strategies/examples/rebalance.py",
            "--data",
            SP500,
            "--param",
            f"universe={SP500_UNIVERSE}",
            "--cash",
            "1000000",
        ),
        "docs/portfolio.md (Cash and gaps): monthly equal weight, the 20 S&P 500 stocks, 1,000,000 USD",
    ),
    Case(
        "arbitrage-spread-unwind",
        (
            "replay",
            "strategies/examples/spread_arb.py",
            "--data",
            SPOT,
            "--data",
            USDM,
            "--param",
            "policy=unwind",
            "--reject-every",
            "2",
            "--latency-ms",
            "20",
        ),
        "README: Binance spot / USD-M spread arbitrage, every 2nd order rejected, legs unwound",
    ),
    Case(
        "arbitrage-spread-hedge",
        (
            "replay",
            "strategies/examples/spread_arb.py",
            "--data",
            SPOT,
            "--data",
            USDM,
            "--param",
            "policy=hedge",
            "--reject-every",
            "2",
            "--latency-ms",
            "20",
        ),
        "the same arbitrage with the hedge leg-failure policy",
    ),
)

#: fixed hash seeds, one per case (the second run of each case takes a random one)
FIXED_SEEDS = (0, 1, 12345, 4294967295, 271828, 31337)


@dataclass(frozen=True)
class Run:
    case: Case
    loop: str
    hash_seed: int

    @property
    def label(self) -> str:
        return f"{self.case.name} [--loop {self.loop}, PYTHONHASHSEED={self.hash_seed}]"

    def command(self, out: Path | str) -> list[str]:
        return [*self.case.argv, "--loop", self.loop, "--quiet", "--out", str(out)]

    def shell(self) -> str:
        """The command that reproduces this run, from the repository root."""
        argv = [".venv/bin/python", "-m", "daemon.cli", *self.command("/tmp/golden-check"), "--force"]
        return f"PYTHONHASHSEED={self.hash_seed} {shlex.join(argv)}"


@dataclass(frozen=True)
class Outcome:
    run: Run
    digests: dict[str, str]
    report: dict[str, object]
    error: str = ""


def plan(random_seed: int) -> list[Run]:
    """Two runs per case: asyncio and uvloop, one with a fixed hash seed and one with a random one."""
    runs = []
    for i, case in enumerate(CASES):
        loops = ("asyncio", "uvloop") if i % 2 == 0 else ("uvloop", "asyncio")
        runs.append(Run(case, loops[0], FIXED_SEEDS[i % len(FIXED_SEEDS)]))
        runs.append(Run(case, loops[1], (random_seed + i) % 2**32))
    return runs


def execute(run: Run, workdir: Path) -> Outcome:
    out = workdir / f"{run.case.name}-{run.loop}" / "out"
    out.parent.mkdir(parents=True)
    env = {**os.environ, "PYTHONHASHSEED": str(run.hash_seed)}
    done = subprocess.run(
        [sys.executable, "-m", "daemon.cli", *run.command(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        return Outcome(run, {}, {}, f"exit {done.returncode}\n{done.stderr}{done.stdout}")
    digests = {name: hashlib.sha256((out / name).read_bytes()).hexdigest() for name in FILES}
    return Outcome(run, digests, json.loads((out / "report.json").read_text()))


def execute_all(runs: Iterable[Run], workdir: Path) -> list[Outcome]:
    # the longest runs first, so the pool does not end on one of them alone
    ordered = sorted(runs, key=lambda r: "sp500" not in r.case.name and "ftx" not in r.case.name)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(lambda r: execute(r, workdir), ordered))


def available(case: Case) -> bool:
    return all(path.exists() for path in case.data)


def load_golden() -> dict[str, dict[str, object]]:
    assert GOLDEN.exists(), f"{GOLDEN.relative_to(REPO)} is missing: create it with `{UPDATE}`"
    return json.loads(GOLDEN.read_text())["runs"]  # type: ignore[no-any-return]


def entry(outcome: Outcome) -> dict[str, object]:
    return {
        "about": outcome.run.case.about,
        "command": ["vibetrading", *outcome.run.case.argv],
        "sha256": outcome.digests,
        "report": {key: outcome.report[key] for key in SUMMARY},
    }


# ── the test ─────────────────────────────────────────────────────────────────────────────────────

RANDOM_SEED = random.SystemRandom().randrange(2**32)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Outcome]:
    runs = [run for run in plan(RANDOM_SEED) if available(run.case)]
    done = execute_all(runs, tmp_path_factory.mktemp("golden"))
    return {(o.run.case.name, o.run.loop): o for o in done}


def test_the_golden_file_pins_every_case_with_its_command() -> None:
    golden = load_golden()
    assert list(golden) == [case.name for case in CASES], f"golden.json is stale: run {UPDATE}"
    for case in CASES:
        pinned = golden[case.name]
        assert pinned["command"] == ["vibetrading", *case.argv], (
            f"{case.name}: the command changed since golden.json was written; run {UPDATE}"
        )
        assert set(pinned["sha256"]) == set(FILES)  # type: ignore[arg-type]


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_canonical_replay_has_its_golden_bytes(
    outcomes: dict[tuple[str, str], Outcome], case: Case, loop: str
) -> None:
    if not available(case):
        pytest.skip(f"{case.name}: its data is not available (../shared/data beside the repository)")
    outcome = outcomes[(case.name, loop)]
    run = outcome.run
    assert not outcome.error, f"{run.label} failed:\n{outcome.error}\nreproduce: {run.shell()}"
    # a canonical run that does not trade would pin nothing worth pinning
    assert int(outcome.report["orders"]) > 0 and int(outcome.report["fills"]) > 0, outcome.report  # type: ignore[call-overload]
    assert outcome.report["warnings"] == [], outcome.report["warnings"]
    pinned = load_golden()[case.name]
    expected: dict[str, str] = pinned["sha256"]  # type: ignore[assignment]
    differ = [name for name in FILES if outcome.digests[name] != expected[name]]
    if differ:
        was: dict[str, object] = pinned["report"]  # type: ignore[assignment]
        now = {key: outcome.report[key] for key in SUMMARY}
        moved = {key: f"{was[key]} -> {now[key]}" for key in SUMMARY if was[key] != now[key]}
        pytest.fail(
            f"{run.label}: {', '.join(differ)} differ from tests/replay/golden.json\n"
            + "".join(f"  {name}: golden {expected[name]}, now {outcome.digests[name]}\n" for name in differ)
            + f"  report figures that moved: {moved or 'none (the same figures, other bytes)'}\n"
            f"reproduce: {run.shell()}\n"
            f"If the change is intended, regenerate with `{UPDATE}` and say why in the commit message.",
            pytrace=False,
        )


def test_the_two_runs_of_each_case_agree(outcomes: dict[tuple[str, str], Outcome]) -> None:
    """Independent of the golden file: asyncio and uvloop, two hash seeds, the same bytes."""
    for case in CASES:
        pair = [outcomes.get((case.name, loop)) for loop in ("asyncio", "uvloop")]
        if None in pair or any(o.error for o in pair if o is not None):
            continue  # skipped, or reported by the golden test
        first, second = pair
        assert first is not None and second is not None
        differ = [name for name in FILES if first.digests[name] != second.digests[name]]
        assert not differ, f"{first.run.label} and {second.run.label} differ in {', '.join(differ)}"


# ── regeneration ─────────────────────────────────────────────────────────────────────────────────


def update() -> int:
    missing = [str(path) for case in CASES for path in case.data if not path.exists()]
    if missing:
        print("cannot regenerate: data missing:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 1
    seed = random.SystemRandom().randrange(2**32)
    with tempfile.TemporaryDirectory(prefix="golden-") as tmp:
        done = execute_all(plan(seed), Path(tmp))
    failed = [o for o in done if o.error]
    for o in failed:
        print(f"{o.run.label} failed:\n{o.error}", file=sys.stderr)
    if failed:
        return 1
    by_case: dict[str, list[Outcome]] = {}
    for o in done:
        by_case.setdefault(o.run.case.name, []).append(o)
    for pair in by_case.values():
        if len({json.dumps(o.digests, sort_keys=True) for o in pair}) != 1:
            labels = " and ".join(o.run.label for o in pair)
            print(f"not written: {labels} differ; the replay is not deterministic", file=sys.stderr)
            return 1
    old = load_golden() if GOLDEN.exists() else {}
    runs = {case.name: entry(by_case[case.name][0]) for case in CASES}
    text = json.dumps(
        {
            "about": (
                "sha256 of the outputs of the canonical replays, checked by tests/replay/test_golden.py. "
                f"Regenerate with `{UPDATE}`; a golden changes only in a commit whose message explains why."
            ),
            "runs": runs,
        },
        indent=2,
    )
    GOLDEN.write_text(text + "\n")
    for name, now in runs.items():
        if name not in old:
            print(f"{name}: new")
            continue
        before: dict[str, str] = old[name]["sha256"]  # type: ignore[assignment]
        changed = [f for f in FILES if before.get(f) != now["sha256"][f]]  # type: ignore[index]
        print(f"{name}: {'changed ' + ', '.join(changed) if changed else 'unchanged'}")
    print(f"wrote {GOLDEN.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--update", action="store_true", help="replay every case and rewrite golden.json")
    if not parser.parse_args().update:
        parser.error("nothing to do: pass --update (the check itself runs under pytest)")
    sys.exit(update())
