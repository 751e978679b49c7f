"""The evidence bundle: ``make evidence`` writes ``evidence/<version>-<git short sha>[-dirty]/``.

What a release sign-off (``vibetrading release check``) reads: each gate's output, the validation of
every strategy type and of each venue × mode the capability matrix marks implemented, determinism
evidence (the golden digests against a second run now, asyncio against uvloop), the capability matrix,
benchmark figures, the chaos summary when there is one, the environment, the waivers in force, and a
manifest with the sha256 of every file.

Two runs on the same commit give the same ``manifest.json``: every duration and every benchmark figure
goes to ``timings.json`` (the one file left out of the manifest), and the kept tool outputs are
normalised (pytest's summary duration, JUnit ``time=``/``timestamp=``/``hostname=``, absolute checkout
and temporary paths). Run ``python -m daemon.evidence [--out DIR] [--skip-gates] [--quick]``.

A failing gate is recorded as ``fail`` and the bundle is still written; the exit status is then 1 with
one operator line naming what failed and how to reproduce it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Final

import msgspec

from adapters.capabilities import MATRIX, REQUIRED, VENUES, Mode, Support, as_json
from daemon.readiness import (
    EVIDENCE_DIR,
    GATES,
    LOOP_ENV,
    REPO,
    WAIVERS_FILE,
    Gate,
    WaiverError,
    load_waivers,
)

MANIFEST: Final = "manifest.json"
TIMINGS: Final = "timings.json"
#: the files the manifest leaves out: the manifest itself and the one file allowed to differ
UNHASHED: Final = frozenset({MANIFEST, TIMINGS})

GOLDEN: Final = REPO / "tests" / "replay" / "golden.json"
CHAOS_SUMMARY: Final = REPO / "tests" / "chaos" / "summary.json"
LOCK: Final = REPO / "uv.lock"
PYPROJECT: Final = REPO / "pyproject.toml"

GATE_TIMEOUT_S: Final = 600.0
TESTS_TIMEOUT_S: Final = 3600.0
STEP_TIMEOUT_S: Final = 300.0
WORKERS: Final = 2  # this project's machines have 2 cores

#: the packages whose versions decide what the gates and the bundle say
PACKAGES: Final = (
    "msgspec",
    "structlog",
    "aiohttp",
    "websockets",
    "uvloop",
    "pytest",
    "pytest-asyncio",
    "hypothesis",
    "ruff",
    "mypy",
    "import-linter",
)

#: symbols each venue is validated with (single: the first; portfolio and arbitrage: both). A venue the
#: matrix marks implemented but missing here fails its validation, so that it is not silently skipped.
VALIDATION_SYMBOLS: Final[Mapping[str, tuple[str, str]]] = {
    "binance": ("binance-spot:BTCUSDT", "binance-usdm:BTCUSDT"),
    "bybit": ("bybit-spot:BTCUSDT", "bybit-linear:BTCUSDT"),
    "kis": ("krx:005930", "krx:000660"),
    "kiwoom": ("krx:005930", "krx:000660"),
}
EXAMPLES: Final = {
    "single": ("strategies/examples/sma_cross.py", "symbol"),
    "portfolio": ("strategies/examples/rebalance.py", "universe"),
    "arbitrage": ("strategies/examples/spread_arb.py", "legs"),
}


# ── normalisers: what keeps two runs' kept files byte-equal ──

_PYTEST_SUMMARY = re.compile(
    r"^(?P<pre>.*\b(?:passed|failed|skipped|errors?|deselected|xfailed|xpassed|warnings?|no tests ran)\b.*?)"
    r" in (?P<secs>\d+(?:\.\d+)?)s(?: \(\d+:\d{2}:\d{2}\))?(?P<post>.*)$",
    re.MULTILINE,
)
_XML_TIME = re.compile(r'\btime="[^"]*"')
_XML_TIMESTAMP = re.compile(r'\btimestamp="[^"]*"')
_XML_HOSTNAME = re.compile(r'\bhostname="[^"]*"')
# Hypothesis records its statistics (with typical runtimes) as base64 JUnit properties: timings, not results.
_XML_HYPOTHESIS = re.compile(r'<property name="hypothesis-statistics-[^"]*" value="[^"]*"\s*/>')
_XML_EMPTY_PROPERTIES = re.compile(r"<properties>\s*</properties>")
FIXED_TIMESTAMP: Final = "1970-01-01T00:00:00"
FIXED_HOSTNAME: Final = "localhost"


def normalise_paths(text: str, *, repo: Path = REPO, tmp: str | None = None) -> str:
    """The checkout as ``.`` and every path under the temporary directory as ``<tmp>``."""
    root = str(repo)
    text = text.replace(root + "/", "").replace(root, ".")
    tmpdir = (tmp or tempfile.gettempdir()).rstrip("/")
    return re.sub(re.escape(tmpdir) + r"/[^\s'\"<>:,;)\]]*", "<tmp>", text)


def normalise_pytest_output(text: str) -> tuple[str, float | None]:
    """pytest's summary line without its duration, and that duration (None when there is no summary)."""
    seconds: list[float] = []

    def strip(m: re.Match[str]) -> str:
        seconds.append(float(m.group("secs")))
        return f"{m.group('pre')}{m.group('post')}"

    return _PYTEST_SUMMARY.sub(strip, text), (seconds[-1] if seconds else None)


@dataclass(frozen=True)
class JUnitTimes:
    suite_seconds: float | None
    cases: dict[str, float]


def junit_times(xml: str) -> JUnitTimes:
    """The durations a JUnit XML file holds: the suite's and each test case's (``classname::name``)."""
    # pytest wrote this file a moment ago on this machine: it is not untrusted input.
    root = ET.fromstring(xml)  # noqa: S314
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    suite = sum(float(s.get("time", "0")) for s in suites) if suites else None
    cases: dict[str, float] = {}
    for case in root.iter("testcase"):
        key = f"{case.get('classname', '')}::{case.get('name', '')}"
        cases[key] = cases.get(key, 0.0) + float(case.get("time", "0"))
    return JUnitTimes(suite, dict(sorted(cases.items())))


def normalise_junit(xml: str) -> str:
    """Every ``time=`` as 0, no Hypothesis statistics, the timestamp and host name fixed, paths relative."""
    xml = _XML_EMPTY_PROPERTIES.sub("", _XML_HYPOTHESIS.sub("", xml))
    xml = _XML_TIME.sub('time="0"', xml)
    xml = _XML_TIMESTAMP.sub(f'timestamp="{FIXED_TIMESTAMP}"', xml)
    xml = _XML_HOSTNAME.sub(f'hostname="{FIXED_HOSTNAME}"', xml)
    return normalise_paths(xml)


# ── the manifest ──


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_manifest(bundle: Path) -> dict[str, dict[str, str]]:
    """sha256 of every file of the bundle but the manifest and the timings, by POSIX relative path."""
    files = {
        p.relative_to(bundle).as_posix(): sha256_file(p)
        for p in bundle.rglob("*")
        if p.is_file() and p.relative_to(bundle).as_posix() not in UNHASHED
    }
    return {"files": dict(sorted(files.items()))}


def dumps(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(value), encoding="utf-8")


# ── running things, bounded ──


@dataclass(frozen=True)
class Ran:
    argv: tuple[str, ...]
    exit: int
    output: str  # stdout, with stderr merged in when asked
    stderr: str
    seconds: float
    timed_out: bool = False


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    merge: bool = True,
    env: Mapping[str, str] | None = None,
) -> Ran:
    """A subprocess from the checkout, its whole process group killed when it overruns ``timeout``."""
    started = time.monotonic()
    # Fixed width and no colour: tools that wrap or colour their output must write the same bytes.
    full_env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb", **(env or {})}
    with subprocess.Popen(  # noqa: S603 - argv built here from fixed commands, never a shell
        list(argv),
        cwd=REPO,
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge else subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            timed_out = True
    return Ran(tuple(argv), proc.returncode, out or "", err or "", time.monotonic() - started, timed_out)


def resolve(command: str) -> list[str]:
    """A gate's command as the Makefile runs it: its tool from this environment's ``bin``."""
    argv = shlex.split(command)
    if argv[0] == "python":
        return [sys.executable, *argv[1:]]
    local = Path(sys.executable).parent / argv[0]
    found = str(local) if local.exists() else shutil.which(argv[0])
    return [found or argv[0], *argv[1:]]


# ── the parts of the bundle ──


@dataclass
class Outcome:
    """What the parts report back: failures for the operator line, durations for timings.json."""

    failed_gates: list[Gate] = field(default_factory=list)
    waived_gates: list[str] = field(default_factory=list)
    failed_validations: list[str] = field(default_factory=list)
    determinism_equal: bool | None = None
    failed_benches: list[str] = field(default_factory=list)
    timings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Identity:
    version: str
    commit: str
    short: str
    dirty: bool

    @property
    def name(self) -> str:
        return f"{self.version}-{self.short}{'-dirty' if self.dirty else ''}"


def identity() -> Identity:
    version = str(tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["version"])
    git = shutil.which("git")
    if git is None:
        return Identity(version, "unknown", "unknown", True)
    head = run([git, "rev-parse", "HEAD"], timeout=30, merge=False)
    if head.exit != 0:
        return Identity(version, "unknown", "unknown", True)
    commit = head.output.strip()
    short = run([git, "rev-parse", "--short", "HEAD"], timeout=30, merge=False).output.strip()
    status = run([git, "status", "--porcelain"], timeout=30, merge=False)
    return Identity(version, commit, short or commit[:7], status.exit != 0 or bool(status.output.strip()))


def waived_today(today: date) -> tuple[set[str], dict[str, object]]:
    """The gates waived today and waivers.json; a broken waiver file waives nothing and says why."""
    try:
        waivers = load_waivers(WAIVERS_FILE, today=today)
    except WaiverError as exc:
        return set(), {"valid": False, "error": {"code": exc.code, "message": str(exc)}, "waivers": []}
    return {w.gate for w in waivers}, {
        "valid": True,
        "file": "ops/waivers.toml",
        "waivers": msgspec.to_builtins(list(waivers)),
    }


def run_gates(bundle: Path, ident: Identity, waived: set[str], outcome: Outcome) -> None:
    gates_dir = bundle / "gates"
    gates_dir.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, object]] = []
    timings: dict[str, Any] = {}
    for gate in GATES:
        argv = resolve(gate.command)
        command = gate.command
        junit: Path | None = None
        if gate.name == "tests":
            junit = gates_dir / "tests.xml"
            argv = [*argv, f"--junitxml={junit}"]
            command = f"{gate.command} --junitxml=gates/tests.xml"
        print(f"evidence: gate {gate.name}: {command}", file=sys.stderr, flush=True)
        ran = run(argv, timeout=TESTS_TIMEOUT_S if junit else GATE_TIMEOUT_S)
        text, summary_s = normalise_pytest_output(ran.output) if junit else (ran.output, None)
        text = normalise_paths(text)
        if ran.timed_out:
            text += f"\nevidence: timed out after {TESTS_TIMEOUT_S if junit else GATE_TIMEOUT_S:.0f} s\n"
        passed = ran.exit == 0 and not ran.timed_out
        gate_timing: dict[str, Any] = {"seconds": round(ran.seconds, 3)}
        output = f"gates/{gate.name}.txt"
        (gates_dir / f"{gate.name}.txt").write_text(f"$ {command}\n{text}exit {ran.exit}\n", encoding="utf-8")
        if junit is not None:
            gate_timing["summary_seconds"] = summary_s
            if junit.exists():
                xml = junit.read_text(encoding="utf-8")
                try:
                    times = junit_times(xml)
                    gate_timing["suite_seconds"] = times.suite_seconds
                    gate_timing["cases"] = times.cases
                except ET.ParseError as exc:
                    gate_timing["junit_error"] = str(exc)
                junit.write_text(normalise_junit(xml), encoding="utf-8")
                output = "gates/tests.xml"
            else:
                passed = False
        timings[gate.name] = gate_timing
        entry: dict[str, object] = {
            "gate": gate.name,
            "status": "pass" if passed else "fail",
            "command": command,
            "output": output,
            "reproduce": f"make {gate.make_target}",
        }
        if junit is not None:
            entry["log"] = f"gates/{gate.name}.txt"
        if not passed:
            # as in `make test`: a waiver in force lets the run go on, the failure stays recorded
            entry["waived"] = gate.name in waived
            if gate.name in waived:
                outcome.waived_gates.append(gate.name)
            else:
                outcome.failed_gates.append(gate)
        entries.append(entry)
    write_json(
        bundle / "gates.json",
        {"version": ident.version, "commit": ident.commit, "dirty": ident.dirty, "gates": entries},
    )
    outcome.timings["gates"] = timings


@dataclass(frozen=True)
class Validation:
    name: str
    args: tuple[str, ...]  # after `vibetrading validate`
    error: str = ""  # set when there is nothing to run (a venue without validation symbols)


def implemented_cells() -> list[tuple[str, Mode]]:
    """(venue, mode) pairs where the matrix implements every capability the mode requires."""
    return [
        (v.name, mode)
        for v in VENUES
        for mode in Mode
        if all(MATRIX[(v.name, c, mode)].support is Support.IMPLEMENTED for c in REQUIRED[mode])
    ]


def validations() -> list[Validation]:
    plan = [
        Validation("sim-backtest-canonical", ("strategies/my_strategy_a.py",)),
        *(
            Validation(f"sim-backtest-{kind}", (path, "--type", kind))
            for kind, (path, _param) in EXAMPLES.items()
        ),
    ]
    for venue, mode in implemented_cells():
        if (venue, mode) == ("sim", Mode.BACKTEST):
            continue
        symbols = VALIDATION_SYMBOLS.get(venue)
        for kind, (path, param) in EXAMPLES.items():
            name = f"{venue}-{mode.value}-{kind}"
            if symbols is None:
                plan.append(Validation(name, (), f"no validation symbols for venue {venue!r}"))
                continue
            value = symbols[0] if kind == "single" else ",".join(symbols)
            args = (path, "--type", kind, "--param", f"{param}={value}", "--venue", venue)
            plan.append(Validation(name, (*args, "--mode", mode.value)))
    return plan


def run_validations(bundle: Path, outcome: Outcome) -> None:
    def one(v: Validation) -> tuple[Validation, dict[str, object], float]:
        command = shlex.join(["vibetrading", "validate", *v.args, "--json"])
        if v.error:
            return v, {"ok": False, "command": command, "exit": None, "error": {"message": v.error}}, 0.0
        ran = run(
            [sys.executable, "-m", "daemon.cli", "validate", *v.args, "--json"],
            timeout=STEP_TIMEOUT_S,
            merge=False,
        )
        try:
            result = json.loads(ran.output)
            if not isinstance(result, dict):
                raise TypeError(type(result).__name__)
        except (ValueError, TypeError):
            tail = normalise_paths((ran.stderr or ran.output)[-2000:])
            result = {"ok": False, "error": {"message": f"no JSON result: {tail}"}}
        result["command"] = command
        result["exit"] = ran.exit
        return v, result, ran.seconds

    timings: dict[str, float] = {}
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for v, result, seconds in pool.map(one, validations()):
            write_json(bundle / "validation" / f"{v.name}.json", result)
            timings[v.name] = round(seconds, 3)
            if result.get("ok") is not True or result.get("exit") != 0:
                outcome.failed_validations.append(v.name)
    outcome.timings["validation"] = timings


@dataclass(frozen=True)
class Replay:
    case: str
    loop: str
    hash_seed: int
    argv: tuple[str, ...]  # after `vibetrading`


def _local_data(argv: Sequence[str]) -> bool:
    paths = [REPO / argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--data"]
    return all(p.resolve().is_relative_to(REPO) for p in paths)


def _data_present(argv: Sequence[str]) -> bool:
    return all((REPO / argv[i + 1]).exists() for i, a in enumerate(argv[:-1]) if a == "--data")


def run_determinism(bundle: Path, outcome: Outcome, *, quick: bool) -> None:
    """The golden cases replayed now under asyncio and uvloop (two hash seeds), compared to golden.json.

    The cases and their commands come from golden.json itself, so this is the check
    tests/replay/test_golden.py makes, with fixed hash seeds so that the bundle is reproducible.
    """
    golden_runs: dict[str, dict[str, Any]] = json.loads(GOLDEN.read_text(encoding="utf-8"))["runs"]
    golden = {case: dict(entry["sha256"]) for case, entry in golden_runs.items()}
    skipped: dict[str, str] = {}
    plan: list[Replay] = []
    for case, entry in golden_runs.items():
        argv = tuple(str(a) for a in entry["command"][1:])
        if quick and not _local_data(argv):
            skipped[case] = "--quick: replays only the cases whose data is in the repository"
        elif not _data_present(argv):
            skipped[case] = "its data is not available (../shared/data beside the repository)"
        else:
            plan += [Replay(case, "asyncio", 0, argv), Replay(case, "uvloop", 12345, argv)]

    def one(r: Replay, work: Path) -> tuple[Replay, dict[str, str], str, float]:
        out = work / f"{r.case}-{r.loop}"
        ran = run(
            [sys.executable, "-m", "daemon.cli", *r.argv, "--loop", r.loop, "--quiet", "--out", str(out)],
            timeout=STEP_TIMEOUT_S,
            env={"PYTHONHASHSEED": str(r.hash_seed)},
        )
        if ran.exit != 0 or ran.timed_out:
            text = normalise_paths(ran.output[-2000:], tmp=str(work))
            return r, {}, f"exit {ran.exit}{' (timed out)' if ran.timed_out else ''}: {text}", ran.seconds
        names = sorted(golden[r.case])
        return r, {n: sha256_file(out / n) for n in names}, "", ran.seconds

    with tempfile.TemporaryDirectory(prefix="vt-evidence-") as tmp, ThreadPoolExecutor(WORKERS) as pool:
        done = list(pool.map(lambda r: one(r, Path(tmp)), plan))

    digests: dict[tuple[str, str], dict[str, str]] = {}
    errors: dict[str, str] = {}
    timings: dict[str, float] = {}
    for r, got, error, seconds in done:
        label = f"{r.case} [--loop {r.loop}, PYTHONHASHSEED={r.hash_seed}]"
        timings[label] = round(seconds, 3)
        if error:
            errors[label] = error
        else:
            digests[(r.case, r.loop)] = got
    ran_cases = [c for c in golden_runs if c not in skipped]
    rerun = {c: digests[(c, "asyncio")] for c in ran_cases if (c, "asyncio") in digests}
    loops: dict[str, object] = {}
    mismatches: list[str] = []
    for c in ran_cases:
        a, u = digests.get((c, "asyncio")), digests.get((c, "uvloop"))
        loops[c] = {"asyncio": a, "uvloop": u, "equal": a is not None and a == u}
        for loop, pair in (("asyncio", a), ("uvloop", u)):
            if pair is not None:
                mismatches += [
                    f"{c} [{loop}]: {n} differs from golden" for n in pair if pair[n] != golden[c][n]
                ]
        if a is not None and u is not None and a != u:
            mismatches.append(f"{c}: asyncio and uvloop differ")
    equal = bool(ran_cases) and not errors and not mismatches and len(digests) == 2 * len(ran_cases)
    write_json(
        bundle / "determinism.json",
        {
            "golden": golden,
            "rerun": rerun,
            "asyncio_vs_uvloop": loops,
            "skipped": skipped,
            "errors": errors,
            "mismatches": mismatches,
            "hash_seeds": {"asyncio": 0, "uvloop": 12345},
            "quick": quick,
            "equal": equal,
        },
    )
    outcome.determinism_equal = equal
    outcome.timings["determinism"] = timings


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    args: tuple[str, ...]
    needs_shared_data: bool = False


def benches(*, quick: bool) -> list[Bench]:
    if quick:
        return [
            Bench("venue_parse", "tests/bench/venue_parse.py", ("--n", "20000", "--repeat", "1")),
            Bench("journal_throughput", "tests/bench/journal_throughput.py", ("--events", "20000")),
        ]
    return [
        Bench("venue_parse", "tests/bench/venue_parse.py", ("--n", "100000", "--repeat", "1")),
        Bench("journal_throughput", "tests/bench/journal_throughput.py", ("--events", "200000")),
        Bench(
            "replay_throughput",
            "tests/bench/replay_throughput.py",
            ("--events", "200000", "--skip-csv"),
            needs_shared_data=True,
        ),
    ]


def run_benches(bundle: Path, outcome: Outcome, *, quick: bool) -> None:
    entries: list[dict[str, object]] = []
    figures: dict[str, object] = {}
    shared = REPO.parent / "shared" / "data"
    with tempfile.TemporaryDirectory(prefix="vt-bench-") as tmp:
        for b in benches(quick=quick):
            command = shlex.join(["python", b.script, *b.args, "--json", "FILE"])
            entry: dict[str, object] = {"name": b.name, "command": command}
            if b.needs_shared_data and not shared.is_dir():
                entry |= {"status": "skipped", "reason": "../shared/data is not beside the repository"}
                entries.append(entry)
                continue
            out = Path(tmp) / f"{b.name}.json"
            ran = run([sys.executable, b.script, *b.args, "--json", str(out)], timeout=STEP_TIMEOUT_S)
            ok = ran.exit == 0 and not ran.timed_out and out.exists()
            entry["status"] = "ok" if ok else "failed"
            if ok:
                figures[b.name] = {"seconds": round(ran.seconds, 3), "figures": json.loads(out.read_text())}
            else:
                entry["exit"] = ran.exit
                figures[b.name] = {"seconds": round(ran.seconds, 3), "log": ran.output[-4000:]}
                outcome.failed_benches.append(b.name)
            entries.append(entry)
    write_json(
        bundle / "benchmarks.json",
        {"quick": quick, "benches": entries, "figures": f"{TIMINGS} (benchmarks): figures are timings"},
    )
    outcome.timings["benchmarks"] = figures


def write_chaos(bundle: Path) -> None:
    if CHAOS_SUMMARY.exists():
        summary = json.loads(CHAOS_SUMMARY.read_text(encoding="utf-8"))
        write_json(
            bundle / "chaos.json", {"present": True, "source": "tests/chaos/summary.json", "summary": summary}
        )
    else:
        write_json(bundle / "chaos.json", {"present": False})


def environment() -> dict[str, object]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "system": platform.system(),
        "uv_lock_sha256": sha256_file(LOCK) if LOCK.exists() else None,
        "pyproject_sha256": sha256_file(PYPROJECT),
        "packages": versions,
        "loop_env": {LOOP_ENV: os.environ.get(LOOP_ENV)},
    }


# ── the bundle ──


class EvidenceError(Exception):
    pass


def prepare(out: Path) -> None:
    """An empty directory for the bundle; an earlier bundle there is replaced, anything else refused."""
    if out.exists():
        if not out.is_dir():
            raise EvidenceError(f"{out} exists and is not a directory")
        entries = list(out.iterdir())
        if entries and not (out / MANIFEST).exists() and not (out / "gates.json").exists():
            raise EvidenceError(f"{out} is not empty and holds no evidence bundle; pick another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True)


def build(
    out: Path | None, *, skip_gates: bool, quick: bool, today: date | None = None
) -> tuple[Path, Outcome]:
    started = time.monotonic()
    ident = identity()
    bundle = out if out is not None else EVIDENCE_DIR / ident.name
    prepare(bundle)
    outcome = Outcome()
    day = today if today is not None else datetime.now(UTC).date()
    waived, waivers_doc = waived_today(day)
    write_json(bundle / "waivers.json", waivers_doc)

    steps: list[tuple[str, Callable[[], None]]] = []
    if skip_gates:
        steps.append(
            (
                "gates",
                lambda: write_json(
                    bundle / "gates.json",
                    {
                        "version": ident.version,
                        "commit": ident.commit,
                        "dirty": ident.dirty,
                        "skipped": True,
                        "gates": [],
                    },
                ),
            )
        )
    else:
        steps.append(("gates", lambda: run_gates(bundle, ident, waived, outcome)))
    steps += [
        ("validation", lambda: run_validations(bundle, outcome)),
        ("determinism", lambda: run_determinism(bundle, outcome, quick=quick)),
        ("capabilities", lambda: write_json(bundle / "capabilities.json", as_json())),
        ("benchmarks", lambda: run_benches(bundle, outcome, quick=quick)),
        ("chaos", lambda: write_chaos(bundle)),
        ("environment", lambda: write_json(bundle / "environment.json", environment())),
    ]
    steps_s: dict[str, float] = {}
    for name, step in steps:
        t0 = time.monotonic()
        print(f"evidence: {name}", file=sys.stderr, flush=True)
        step()
        steps_s[name] = round(time.monotonic() - t0, 3)
    outcome.timings["steps"] = steps_s
    outcome.timings["total_seconds"] = round(time.monotonic() - started, 3)
    write_json(bundle / TIMINGS, outcome.timings)
    write_json(bundle / MANIFEST, build_manifest(bundle))
    return bundle, outcome


def verdict(outcome: Outcome) -> list[str]:
    """One operator line per kind of failure; empty when the bundle shows nothing failing."""
    lines = []
    if outcome.failed_gates:
        names = ", ".join(g.name for g in outcome.failed_gates)
        how = "; ".join(f"make {t}" for t in dict.fromkeys(g.make_target for g in outcome.failed_gates))
        lines.append(f"evidence: gate FAILED: {names} — reproduce with: {how}")
    if outcome.failed_validations:
        lines.append(
            f"evidence: validation FAILED: {', '.join(outcome.failed_validations)} (see validation/)"
        )
    if outcome.determinism_equal is False:
        lines.append("evidence: determinism FAILED: see determinism.json (mismatches, errors)")
    return lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m daemon.evidence", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, help="bundle directory (default: evidence/<version>-<sha>[-dirty])"
    )
    parser.add_argument("--skip-gates", action="store_true", help="record no gate (gates.json says skipped)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small benchmarks; replay only the golden cases with in-repo data",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        bundle, outcome = build(args.out, skip_gates=args.skip_gates, quick=args.quick)
    except EvidenceError as exc:
        print(f"evidence: {exc}", file=sys.stderr)
        return 2
    try:
        shown = bundle.resolve().relative_to(REPO)
    except ValueError:
        shown = bundle
    print(f"evidence: wrote {shown}/ ({len(build_manifest(bundle)['files'])} files in the manifest)")
    if outcome.waived_gates:
        print(f"evidence: gates failed under a waiver in force: {', '.join(outcome.waived_gates)}")
    if outcome.failed_benches:
        print(f"evidence: benchmarks that did not run: {', '.join(outcome.failed_benches)} (not a gate)")
    lines = verdict(outcome)
    for line in lines:
        print(line, file=sys.stderr)
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
