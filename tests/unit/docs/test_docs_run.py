"""The code blocks of docs/*.md run: a documented example that fails is a bug.

* A ```python block that defines ``STRATEGY`` at module level is a strategy: it is written to a file,
  ``vibetrading validate`` must accept it, and a short replay of it must exit 0, send orders and have
  none rejected. Data: the KOSPI fixture when it holds the universe, else per symbol a file of
  ../shared/data, else a small synthetic CSV (bars, or quotes for an arbitrage).
* Every line of a ```sh, ```bash, ```shell or ```console block (in ```console only the lines after a
  ``$`` prompt) that runs ``vibetrading`` is executed in-process from the repository root and must
  exit with its documented status: 0, unless the line ends with a comment such as ``# exit 1``.
  ``--out`` of ``replay`` and ``data import`` is redirected under tmp_path (a later ``journal``
  command of the same block that names the documented directory gets the redirected one), and
  ``../shared/data`` paths resolve to the shared data beside the repository (skipped when absent).
* Every other ```python block may be a sketch, but what it imports from the project must exist.

A block that cannot run yet is skipped only through ``KNOWN_FAILURES`` below, one named entry with
its reason each; an entry that no longer matches a block fails, so the list only shrinks.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.data import describe
from daemon.preflight import load_strategy
from engines.errors import VibeError

REPO = Path(__file__).resolve().parents[3]
DOCS = REPO / "docs"
SHARED_DATA = REPO.parent / "shared" / "data"
KOSPI = REPO / "replay_fixtures" / "krx-kospi6-daily"

SHELL_LANGS = frozenset({"sh", "bash", "shell", "console"})
STRATEGY_LINE = re.compile(r"^STRATEGY\s*(?::[^=]*)?=\s*(\w*)", re.MULTILINE)
EXIT_COMMENT = re.compile(r"#.*?\bexit(?:s| status| code)?\s*[:=]?\s*(\d+)")
SHELL_OPERATORS = frozenset({"|", "||", "&&", ";", ">", ">>", "<", "2>&1", "&"})

#: "doc.md: start of the command (or of the block)" -> why it is skipped. Keep this empty: each entry
#: is a documented example that does not run as written.
KNOWN_FAILURES: dict[str, str] = {}


@dataclass(frozen=True)
class Block:
    doc: str
    line: int  # of the opening fence, 1-based
    lang: str
    text: str

    @property
    def name(self) -> str:
        return f"{self.doc}:{self.line}"


@dataclass(frozen=True)
class Command:
    text: str  # as documented, continuation lines joined
    argv: list[str]
    status: int


@dataclass
class Redirects:
    """Where the documented output directories of one block went instead."""

    root: Path
    outputs: dict[str, Path] = field(default_factory=dict)

    def next_out(self, documented: str) -> Path:
        out = self.root / f"out{len(self.outputs)}"
        self.outputs[documented] = out
        return out


def blocks() -> Iterator[Block]:
    for path in sorted(DOCS.glob("*.md")):
        lines = path.read_text().splitlines()
        fence: tuple[int, str, str] | None = None  # (line, marker, lang)
        body: list[str] = []
        for number, line in enumerate(lines, 1):
            stripped = line.lstrip()
            if fence is None:
                if stripped.startswith(("```", "~~~")):
                    marker = stripped[:3]
                    fence = (number, marker, stripped[3:].strip().split(" ")[0].lower())
                    body = []
            elif stripped.startswith(fence[1]) and not stripped[3:].strip():
                yield Block(path.name, fence[0], fence[2], "\n".join(body) + "\n")
                fence = None
            else:
                body.append(line)


ALL_BLOCKS = list(blocks())
STRATEGY_BLOCKS = [b for b in ALL_BLOCKS if b.lang == "python" and STRATEGY_LINE.search(b.text)]
SKETCH_BLOCKS = [b for b in ALL_BLOCKS if b.lang == "python" and not STRATEGY_LINE.search(b.text)]
SHELL_BLOCKS = [b for b in ALL_BLOCKS if b.lang in SHELL_LANGS]


def commands(block: Block) -> list[Command]:
    """The ``vibetrading`` command lines of a shell block, with their documented exit status."""
    logical: list[str] = []
    pending = ""
    for raw in block.text.splitlines():
        line = raw.strip()
        if not pending:
            if block.lang == "console":
                if not line.startswith("$ "):
                    continue  # output shown in the transcript
                line = line[2:].strip()
            if not line or line.startswith("#"):
                continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        logical.append(pending)
    found = []
    for text in logical:
        status = EXIT_COMMENT.search(text)
        argv = shlex.split(text, comments=True)
        if argv and Path(argv[0]).name == "vibetrading":
            found.append(Command(text, argv[1:], int(status.group(1)) if status else 0))
    return found


def known_failure(block: Block, text: str) -> str | None:
    for key, reason in KNOWN_FAILURES.items():
        doc, _, start = key.partition(": ")
        if doc == block.doc and text.strip().startswith(start):
            return reason
    return None


def resolve_shared(arg: str) -> str:
    """``../shared/data/X`` (relative to the repository) as the real path; skip when it is absent."""
    for prefix in ("../shared/data/", "../shared/data"):
        if arg.startswith(prefix):
            if not SHARED_DATA.is_dir():
                pytest.skip("../shared/data is not beside the repository")
            target = SHARED_DATA / arg[len(prefix) :].lstrip("/")
            if not target.exists():
                pytest.skip(f"{target} is not in ../shared/data")
            return str(target)
    return arg


def prepare(argv: list[str], redirects: Redirects) -> tuple[list[str], Path | None]:
    """The documented argv made runnable here; the replay's redirected output directory, if any."""
    bad = SHELL_OPERATORS.intersection(argv)
    assert not bad, f"shell syntax {sorted(bad)} cannot run in-process: {argv}"
    out: list[str] = []
    documented_out: str | None = None
    args = iter(argv)
    for arg in args:
        if arg == "--out":
            documented_out = next(args, "")
        elif arg.startswith("--out="):
            documented_out = arg.removeprefix("--out=")
        else:
            out.append(resolve_shared(str(redirects.outputs.get(arg.rstrip("/"), arg))))
    head = out[:2]
    if head[:1] == ["replay"] or head == ["data", "import"]:
        default = "runs/replay" if head[:1] == ["replay"] else ""
        target = redirects.next_out((documented_out or default).rstrip("/"))
        out += ["--out", str(target)]
        if head[:1] == ["replay"] and "--quiet" not in out:
            out.append("--quiet")
        return out, target if head[:1] == ["replay"] else None
    assert documented_out is None, f"--out of {head} is not redirected: {argv}"
    return out, None


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's usage errors
        return int(exc.code) if isinstance(exc.code, int) else 2


def assert_traded(out: Path, what: str) -> None:
    report = json.loads((out / "report.json").read_text())
    assert report["orders"] > 0, f"{what}: the documented replay sends no orders: {report}"
    assert report["rejected_orders"] == 0, f"{what}: the venue rejected orders: {report}"


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda b: b.name)
def test_documented_commands_run(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)  # the docs' relative paths are from the repository root
    redirects = Redirects(tmp_path)
    ran, skipped = 0, []
    for command in commands(block):
        reason = known_failure(block, command.text)
        if reason is not None:
            skipped.append(f"`{command.text}`: {reason}")
            continue
        ran += 1
        argv, replay_out = prepare(command.argv, redirects)
        rc = run(argv)
        captured = capsys.readouterr()
        assert rc == command.status, (
            f"{block.name}: `{command.text}` exited {rc}, documented {command.status}\n"
            f"argv: {argv}\nstdout:\n{captured.out[-2000:]}\nstderr:\n{captured.err[-2000:]}"
        )
        if replay_out is not None and rc == 0:
            assert_traded(replay_out, f"{block.name}: `{command.text}`")
    if not ran:
        pytest.skip("; ".join(skipped) or "no vibetrading command in this block")


def replay_data(universe: tuple[str, ...], strategy_type: str, tmp_path: Path) -> tuple[list[Path], Decimal]:
    """Data holding every symbol of ``universe`` and the cash to trade it.

    The KOSPI fixture when it holds the universe; else per symbol a ../shared/data file of it
    (quotes for an arbitrage, which acts on quotes only), else a small synthetic CSV.
    """
    manifest = json.loads((KOSPI / "manifest.json").read_text())
    if set(universe) <= {stream["symbol"] for stream in manifest["streams"]}:
        return [KOSPI], Decimal(10_000_000)
    kinds = ("quotes",) if strategy_type == "arbitrage" else ("bars", "quotes", "trades")
    shared = shared_files()
    files = []
    for symbol in universe:
        found = [path for kind in kinds for k, path in shared.get(symbol, {}).items() if k.startswith(kind)]
        files.append(found[0] if found else synthetic(symbol, strategy_type, tmp_path))
    return files, Decimal(1_000_000)


def shared_files() -> dict[str, dict[str, Path]]:
    """symbol -> kind -> file, for the single-symbol files of ../shared/data (not the panels)."""
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(SHARED_DATA.glob("*.csv*")) if SHARED_DATA.is_dir() else []:
        try:
            source = describe(path)
        except VibeError:
            continue
        if source.kind not in {"dailyohlcv", "dailyclose"}:
            found.setdefault(source.symbol, {})[source.kind] = path
    return found


def synthetic(symbol: str, strategy_type: str, tmp_path: Path) -> Path:
    """A few hundred rows oscillating around 100: enough to cross averages and spreads."""
    venue, _, instrument = symbol.partition(":")
    assert "/" not in instrument and "_" not in instrument, f"no data file name can hold {symbol}"
    t0 = 1_700_000_000_000_000_000
    if strategy_type == "arbitrage":
        path = tmp_path / f"{venue}_{instrument}_quotes_synthetic.csv"
        lean = 1 if len(list(tmp_path.glob("*_quotes_synthetic.csv"))) % 2 else -1
        rows = ["ts_ns,bid,bid_qty,ask,ask_qty"]
        for i in range(2000):
            mid = Decimal(100) + lean * Decimal(i % 200 - 100) / 100
            rows.append(f"{t0 + i * 10_000_000},{mid - Decimal('0.05')},5,{mid + Decimal('0.05')},5")
    else:
        path = tmp_path / f"{venue}_{instrument}_bars1m_synthetic.csv"
        rows = ["ts_ns,open,high,low,close,volume"]
        for i in range(500):
            close = Decimal(100) + Decimal((i % 50 - 25) * (1 if (i // 50) % 2 else -1)) / 10
            rows.append(f"{t0 + i * 60_000_000_000},{close},{close + 1},{close - 1},{close},10")
    path.write_text("\n".join(rows) + "\n")
    return path


#: "doc.md: NAME" (from ``STRATEGY = NAME``) -> the --param overrides its replay needs on the data
#: chosen above; none needs any yet
STRATEGY_PARAMS: dict[str, tuple[str, ...]] = {}


@pytest.mark.parametrize("block", STRATEGY_BLOCKS, ids=lambda b: b.name)
def test_documented_strategies_validate_and_replay(
    block: Block, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reason = known_failure(block, block.text)
    if reason is not None:
        pytest.skip(reason)
    path = tmp_path / f"doc_{block.doc.removesuffix('.md')}_{block.line}.py"
    path.write_text(block.text)
    declared = STRATEGY_LINE.search(block.text)
    params = STRATEGY_PARAMS.get(f"{block.doc}: {declared.group(1) if declared else ''}", ())
    param_args = [arg for p in params for arg in ("--param", p)]
    rc = run(["validate", str(path), *param_args])
    captured = capsys.readouterr()
    assert rc == 0, f"{block.name}: validate exited {rc}\n{captured.out}{captured.err}"
    spec = load_strategy(path, params=params).spec
    data, cash = replay_data(spec.universe, spec.strategy_type, tmp_path)
    out = tmp_path / "run"
    argv = ["replay", str(path), *param_args, "--cash", str(cash), "--out", str(out), "--quiet"]
    for source in data:
        argv += ["--data", str(source)]
    rc = run(argv)
    captured = capsys.readouterr()
    assert rc == 0, f"{block.name}: replay exited {rc}\nstdout:\n{captured.out}\nstderr:\n{captured.err}"
    assert_traded(out, block.name)


def project_imports(block: Block) -> Iterator[tuple[str, str | None]]:
    """(module, name or None) for every import of a project module in the block."""
    try:
        statements = ast.parse(block.text).body
    except SyntaxError:  # a signature sketch: its import lines still have to be right
        statements = []
        for line in block.text.splitlines():
            if line.startswith(("from ", "import ")):
                statements += ast.parse(line).body
    for node in statements:
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                yield node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None


@pytest.mark.parametrize("block", SKETCH_BLOCKS, ids=lambda b: b.name)
def test_documented_imports_exist(block: Block) -> None:
    for module_name, name in project_imports(block):
        if module_name.split(".")[0] not in {"engines", "daemon", "adapters", "strategies"}:
            continue
        module = importlib.import_module(module_name)
        assert name is None or hasattr(module, name), f"{block.name}: {module_name} has no {name}"


def test_every_known_failure_still_names_a_block() -> None:
    """An entry whose block was fixed or removed must go, so the list stays honest."""
    texts = {
        key: [c.text for b in SHELL_BLOCKS if b.doc == key.partition(": ")[0] for c in commands(b)]
        + [b.text for b in STRATEGY_BLOCKS if b.doc == key.partition(": ")[0]]
        for key in KNOWN_FAILURES
    }
    for key, candidates in texts.items():
        start = key.partition(": ")[2]
        assert any(text.strip().startswith(start) for text in candidates), (
            f"KNOWN_FAILURES entry {key!r} matches no documented block any more: remove it"
        )


def test_the_runner_finds_the_documented_examples() -> None:
    """Guards the extraction itself: a parser that finds nothing would pass every test above."""
    assert {b.doc for b in STRATEGY_BLOCKS} >= {"strategies.md"}
    assert any(c.argv[:1] == ["replay"] for b in SHELL_BLOCKS for c in commands(b))
