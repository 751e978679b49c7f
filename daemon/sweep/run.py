"""Run a sweep: every trial a replay, each one a Ray task, and the outputs a quant reads.

A trial is :func:`daemon.replay.replay` with the trial's parameters, into a directory of its own,
exactly as ``vibetrading replay`` runs it alone; so its journal (and its digest in the results) is
byte-identical to that single replay's. Ray only schedules: a local Ray with ``workers`` CPUs by
default, or a running cluster with ``address`` (whose nodes must see the strategy, the data and
``--out`` at the same paths, e.g. a shared file system).

A trial that fails (a bad parameter value, a strategy error, a worker that died) becomes a row with
``status`` ``error`` and the error's text; the other trials go on.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import msgspec

from daemon import data, outdir, report
from daemon.preflight import load_strategy
from daemon.replay import ReplayConfig, check_options, replay
from daemon.sweep import html
from daemon.sweep.spec import (
    Axis,
    Objective,
    SweepError,
    Window,
    best_index,
    check_names,
    grid_points,
    objective_value,
    windows,
)
from engines.errors import VibeError

Row = dict[str, Any]

#: report.json keys held as text that is never a number: never an objective
TEXT_KEYS = frozenset({"strategy", "strategy_type", "currency", "journal_sha256", "strategy_sha256"})
REPORT_KEYS: tuple[str, ...] = tuple(report.Report.__struct_fields__)


def _scalar_keys() -> tuple[str, ...]:
    """The report's keys that hold one number (as text or an int): what ``--objective`` may name."""
    scalar = (msgspec.inspect.StrType, msgspec.inspect.IntType, msgspec.inspect.FloatType)
    keys = []
    info = msgspec.inspect.type_info(report.Report)
    assert isinstance(info, msgspec.inspect.StructType)
    for field in info.fields:
        kind = field.type
        if isinstance(kind, msgspec.inspect.UnionType):
            parts = [t for t in kind.types if not isinstance(t, msgspec.inspect.NoneType)]
            kind = parts[0] if len(parts) == 1 else kind
        if isinstance(kind, scalar) and field.name not in TEXT_KEYS:
            keys.append(field.name)
    return tuple(keys)


OBJECTIVE_KEYS: tuple[str, ...] = _scalar_keys()
SEARCHES = ("grid", "optuna")
OUTPUTS = ("results.json", "results.csv", "sweep.html", "best", "trials")


class SweepConfig(msgspec.Struct, frozen=True, kw_only=True):
    """A sweep: ``base`` holds the replay options every trial shares (its ``out`` is the sweep's)."""

    base: ReplayConfig
    axes: tuple[Axis, ...]
    objective: Objective
    search: str = "grid"
    trials: int | None = None
    walk_forward: tuple[int, int] | None = None
    address: str | None = None
    workers: int = 1
    expected_type: str | None = None
    progress: bool = True


class TrialSpec(msgspec.Struct, frozen=True, kw_only=True):
    index: int
    phase: str  # grid | optuna | train | test
    window: int | None
    params: dict[str, str]
    config: ReplayConfig
    expected_type: str | None = None


class SweepResult(msgspec.Struct, frozen=True):
    out: Path
    rows: list[Row]
    best: int | None
    windows: list[dict[str, Any]]


# ── one trial ────────────────────────────────────────────────────────────────────────────────────


def run_trial(spec: TrialSpec) -> Row:
    """One replay, never raising for the trial's own failure: the row says what happened."""
    started = time.perf_counter()
    cfg = spec.config
    row: Row = {
        "trial": spec.index,
        "phase": spec.phase,
        "window": spec.window,
        "start_ns": cfg.start_ns,
        "end_ns": cfg.end_ns,
        "params": dict(spec.params),
        "status": "ok",
        "error": None,
    }
    try:
        loaded = load_strategy(cfg.strategy, params=cfg.params, expected_type=spec.expected_type)
        result = replay(cfg, loaded=loaded)
    except VibeError as exc:
        row.update(status="error", error=f"{exc.code}: {exc.message}")
    except Exception as exc:  # a bug in the strategy fails its trial, not the sweep
        row.update(status="error", error=f"{type(exc).__name__}: {exc}")
    else:
        built = msgspec.to_builtins(result.report)
        assert isinstance(built, dict)
        row["journal_sha256"] = result.report.journal_sha256
        row["report"] = built
    row["seconds"] = round(time.perf_counter() - started, 3)
    return row


def _failed_row(spec: TrialSpec, error: str) -> Row:
    return {
        "trial": spec.index,
        "phase": spec.phase,
        "window": spec.window,
        "start_ns": spec.config.start_ns,
        "end_ns": spec.config.end_ns,
        "params": dict(spec.params),
        "status": "error",
        "error": error,
        "seconds": None,
    }


# ── the Ray pool ─────────────────────────────────────────────────────────────────────────────────

ProgressFn = Callable[[Row, int, int, int], None]  # (row, done, running, failed) per finished trial


class RayPool:
    """Runs trials as Ray tasks, at most as many at once as the cluster has CPUs.

    Starts a local Ray (``workers`` CPUs, no dashboard, its files under the system temp directory,
    workers' output not echoed) or joins ``address``; a Ray this process did not start is left
    running by :meth:`close`.
    """

    def __init__(self, *, workers: int, address: str | None = None) -> None:
        import ray  # noqa: PLC0415 - a second of import time, paid only by a sweep

        self._ray = ray
        self._owned = not ray.is_initialized()
        if self._owned:
            common: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": logging.ERROR,
                "configure_logging": True,
            }
            if address is None:
                ray.init(
                    num_cpus=workers,
                    _temp_dir=os.path.join(tempfile.gettempdir(), "vibetrading-ray"),
                    **common,
                )
            else:
                del common["include_dashboard"]  # only the cluster's head decides that
                ray.init(address=address, **common)
        self.capacity = max(1, int(ray.cluster_resources().get("CPU", workers)))  # type: ignore[no-untyped-call]
        self._task = ray.remote(num_cpus=1, max_retries=0)(run_trial)

    def map(self, specs: Sequence[TrialSpec], progress: ProgressFn | None = None) -> list[Row]:
        """Every spec's row, in the order of ``specs`` (whatever order they finish in)."""
        ray = self._ray
        rows: dict[int, Row] = {}
        queue = list(enumerate(specs))
        queue.reverse()
        pending: dict[Any, tuple[int, TrialSpec]] = {}
        failed = 0
        while queue or pending:
            while queue and len(pending) < self.capacity:
                pos, spec = queue.pop()
                pending[self._task.remote(spec)] = (pos, spec)
            ready, _ = ray.wait(list(pending), num_returns=1)
            finished: list[Row] = []
            for ref in ready:
                pos, spec = pending.pop(ref)
                try:
                    row = ray.get(ref)
                except ray.exceptions.RayError as exc:  # the worker died: still only this trial
                    row = _failed_row(spec, f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
                rows[pos] = row
                failed += row["status"] != "ok"
                finished.append(row)
            while queue and len(pending) < self.capacity:  # refilled first: "running" counts them
                pos, spec = queue.pop()
                pending[self._task.remote(spec)] = (pos, spec)
            for row in finished:
                if progress is not None:
                    progress(row, len(rows), len(pending), failed)
        return [rows[i] for i in range(len(specs))]

    def close(self) -> None:
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()


# ── progress ─────────────────────────────────────────────────────────────────────────────────────


class SweepProgress:
    """``sweep: 12/20 done, 2 running, 1 failed, best total_return 0.012 (trial 7)`` on stderr."""

    def __init__(self, stream: TextIO, enabled: bool, objective: Objective) -> None:
        self.stream = stream
        self.enabled = enabled
        self.objective = objective
        self.tty = stream.isatty()
        self.total = 0
        self.offset = 0  # trials finished in earlier phases
        self.failed_before = 0
        self.best: tuple[Decimal, int] | None = None
        self.last = 0.0

    def phase(self, total: int) -> None:
        self.total = total

    def seen(self, row: Row) -> None:
        value = objective_value(row, self.objective)
        if value is None:
            return
        score = value if self.objective.maximize else -value
        if (
            self.best is None
            or score > self.best[0]
            or (score == self.best[0] and row["trial"] < self.best[1])
        ):
            self.best = (score, int(row["trial"]))

    def __call__(self, row: Row, done: int, running: int, failed: int) -> None:
        self.seen(row)
        if not self.enabled:
            return
        now = time.monotonic()
        final = done + self.offset == self.total
        if not self.tty and not final and now - self.last < 2.0:
            return
        self.last = now
        best = "none yet"
        if self.best is not None:
            value = self.best[0] if self.objective.maximize else -self.best[0]
            best = f"{self.objective.key} {value} (trial {self.best[1]})"
        line = (
            f"sweep: {done + self.offset}/{self.total} done, {running} running, "
            f"{failed + self.failed_before} failed, best {best}"
        )
        self.stream.write(f"\r{line}\x1b[K" if self.tty else f"{line}\n")
        if self.tty and final:
            self.stream.write("\n")
        self.stream.flush()


# ── the sweep ────────────────────────────────────────────────────────────────────────────────────


def data_span(paths: Sequence[Path], cache: data.DataCache | None = None) -> tuple[int, int]:
    """The first and last event time of the data (read once, in the driver)."""
    first: int | None = None
    last = 0
    for batch in data.sources_from_args(paths, cache=cache, build="no"):
        if first is None:
            first = batch[0].ts_event
        last = batch[-1].ts_event
    if first is None:
        raise data.DataError("the data holds no market events", code="VT506")
    return first, last


def _absolute(cfg: ReplayConfig) -> ReplayConfig:
    """Paths a worker in another directory (or on another node) resolves the same way."""
    return msgspec.structs.replace(
        cfg,
        strategy=cfg.strategy.absolute(),
        data=tuple(p.absolute() for p in cfg.data),
        instruments=None if cfg.instruments is None else cfg.instruments.absolute(),
    )


def _spec(
    cfg: SweepConfig,
    base: ReplayConfig,
    index: int,
    phase: str,
    params: dict[str, str],
    *,
    out: Path,
    window: int | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> TrialSpec:
    overrides = tuple(base.params) + tuple(f"{k}={v}" for k, v in params.items())
    trial_cfg = msgspec.structs.replace(
        base,
        out=out / "trials" / f"{index:04d}",
        params=overrides,
        quiet=True,
        force=False,
        start_ns=start_ns,
        end_ns=end_ns,
    )
    return TrialSpec(
        index=index,
        phase=phase,
        window=window,
        params=params,
        config=trial_cfg,
        expected_type=cfg.expected_type,
    )


def run_sweep(cfg: SweepConfig, *, pool: RayPool | None = None, stream: TextIO | None = None) -> SweepResult:
    """Run every trial of ``cfg`` and write the sweep's outputs into ``cfg.base.out`` atomically."""
    base = _absolute(cfg.base)
    check_options(base)
    if cfg.search not in SEARCHES:
        raise SweepError(f"--search {cfg.search!r}: one of {', '.join(SEARCHES)}")
    if cfg.search == "optuna":
        if cfg.trials is None or cfg.trials < 1:
            raise SweepError("--search optuna needs --trials N (N >= 1)")
    elif cfg.trials is not None:
        raise SweepError("--trials N is for --search optuna; a grid runs every combination")
    if cfg.workers < 1:
        raise SweepError(f"--workers {cfg.workers}: at least 1")
    loaded = load_strategy(base.strategy, params=base.params, expected_type=cfg.expected_type)
    check_names(cfg.axes, list(loaded.spec.params_as_strings()))
    points = grid_points(cfg.axes) if cfg.search == "grid" else []
    cache = data.DataCache.from_env() if base.data_cache else None
    if cache is not None:
        # every trial reads the same files: parse each once, here, and let the trials read the entries
        data.warm_cache(base.data, cache)
    base = msgspec.structs.replace(base, data_cache_build="no")
    span = data_span(base.data, cache) if cfg.walk_forward is not None else None
    progress = SweepProgress(stream or sys.stderr, cfg.progress, cfg.objective)
    with outdir.WorkDir(base.out, command="sweep", force=base.force) as work:
        own_pool = pool is None
        pool = pool or RayPool(workers=cfg.workers, address=cfg.address)
        try:
            if cfg.walk_forward is not None:
                assert span is not None
                rows, summary = _walk_forward(
                    cfg, base, out=work.path, pool=pool, points=points, span=span, progress=progress
                )
                chosen = [r for r in rows if r["phase"] == "test"]
            elif cfg.search == "optuna":
                assert cfg.trials is not None
                rows, summary = (
                    _optuna(cfg, base, out=work.path, pool=pool, trials=cfg.trials, progress=progress),
                    [],
                )
                chosen = rows
            else:
                specs = [_spec(cfg, base, i, "grid", p, out=work.path) for i, p in enumerate(points)]
                rows, summary = _run(pool, specs, progress), []
                chosen = rows
        finally:
            if own_pool:
                pool.close()
        pick = best_index(chosen, cfg.objective)
        best = None if pick is None else int(chosen[pick]["trial"])
        for row in rows:
            row["objective"] = _text(objective_value(row, cfg.objective))
            row["out"] = f"trials/{row['trial']:04d}" if row["status"] == "ok" else None
        if best is not None:
            shutil.copytree(work.path / "trials" / f"{best:04d}", work.path / "best")
        meta = _meta(cfg, base, best, summary)
        write_outputs(work.path, rows, meta, cfg.axes)
        work.commit(outdir.files_in(work.path), {"strategy": loaded.spec.name, "trials": len(rows)})
    return SweepResult(cfg.base.out, rows, best, summary)


def _run(pool: RayPool, specs: Sequence[TrialSpec], progress: SweepProgress) -> list[Row]:
    progress.phase(max(progress.total, progress.offset + len(specs)))
    rows = pool.map(specs, progress)
    progress.offset += len(specs)
    progress.failed_before += sum(r["status"] != "ok" for r in rows)
    return rows


def _walk_forward(
    cfg: SweepConfig,
    base: ReplayConfig,
    *,
    out: Path,
    pool: RayPool,
    points: list[dict[str, str]],
    span: tuple[int, int],
    progress: SweepProgress,
) -> tuple[list[Row], list[dict[str, Any]]]:
    """Every window's grid on its train part at once (or, with ``--search optuna``, a search on each
    train part in turn), then each window's choice on its test part."""
    assert cfg.walk_forward is not None
    steps = windows(span[0], span[1], *cfg.walk_forward)
    per_window = len(points) if cfg.trials is None else cfg.trials
    progress.phase(len(steps) * (per_window + 1))
    train: list[TrialSpec] = []
    if cfg.search == "optuna":
        # one seeded search per train window, window after window (each asks in batches of the pool)
        train_rows: list[Row] = []
        for w in steps:
            train_rows += _optuna(
                cfg,
                base,
                out=out,
                pool=pool,
                trials=per_window,
                progress=progress,
                first=len(train_rows),
                window=w,
            )
    else:
        for w in steps:
            for p in points:
                train.append(
                    _spec(
                        cfg,
                        base,
                        len(train),
                        "train",
                        p,
                        out=out,
                        window=w.index,
                        start_ns=w.train_start,
                        end_ns=w.train_end,
                    )
                )
        train_rows = _run(pool, train, progress)
    tests: list[TrialSpec] = []
    summary: list[dict[str, Any]] = []
    for w in steps:
        mine = [r for r in train_rows if r["window"] == w.index]
        pick = best_index(mine, cfg.objective)
        entry = _window_entry(w)
        if pick is None:
            entry.update(chosen=None, train_trial=None, test_trial=None, error="every train trial failed")
        else:
            chosen = mine[pick]
            index = len(train_rows) + len(tests)
            tests.append(
                _spec(
                    cfg,
                    base,
                    index,
                    "test",
                    chosen["params"],
                    out=out,
                    window=w.index,
                    start_ns=w.train_end,
                    end_ns=w.test_end,
                )
            )
            entry.update(
                chosen=chosen["params"],
                train_trial=chosen["trial"],
                train_objective=_text(objective_value(chosen, cfg.objective)),
                test_trial=index,
            )
        summary.append(entry)
    progress.phase(len(train_rows) + len(tests))  # a window whose train trials all failed is not tested
    test_rows = _run(pool, tests, progress)
    by_trial = {r["trial"]: r for r in test_rows}
    for entry in summary:
        row = by_trial.get(entry["test_trial"])
        if row is not None:
            entry["test_objective"] = _text(objective_value(row, cfg.objective))
            entry["test_status"] = row["status"]
    return train_rows + test_rows, summary


def _window_entry(w: Window) -> dict[str, Any]:
    return {
        "window": w.index,
        "train_start_ns": w.train_start,
        "train_end_ns": w.train_end,
        "test_end_ns": w.test_end,
    }


def _optuna(
    cfg: SweepConfig,
    base: ReplayConfig,
    *,
    out: Path,
    pool: RayPool,
    trials: int,
    progress: SweepProgress,
    first: int = 0,
    window: Window | None = None,
) -> list[Row]:
    """A seeded TPE search over the axes, asked and told in batches of the pool's size: over the
    whole data, or over one walk-forward ``window``'s train part (trials numbered from ``first``,
    the sampler seeded by ``--seed`` plus the window's number, so each window searches on its own).

    The trials of a batch are told in trial order once all of them finished, so the same seed and
    the same ``--workers`` propose the same parameters whatever order the workers finish in.
    """
    import optuna  # noqa: PLC0415 - only for this search

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    seed = base.seed if window is None else base.seed + window.index
    study = optuna.create_study(
        direction="maximize" if cfg.objective.maximize else "minimize",
        sampler=optuna.samplers.TPESampler(seed=seed % 2**32),
    )
    rows: list[Row] = []
    if window is None:
        progress.phase(trials)
    batch_size = min(cfg.workers, pool.capacity) if cfg.address is None else pool.capacity
    while len(rows) < trials:
        asked = [study.ask() for _ in range(min(batch_size, trials - len(rows)))]
        specs = [
            _spec(
                cfg,
                base,
                first + len(rows) + i,
                "optuna" if window is None else "train",
                _suggest(t, cfg.axes),
                out=out,
                window=None if window is None else window.index,
                start_ns=None if window is None else window.train_start,
                end_ns=None if window is None else window.train_end,
            )
            for i, t in enumerate(asked)
        ]
        done = _run(pool, specs, progress)
        for t, row in zip(asked, done, strict=True):
            value = objective_value(row, cfg.objective)
            if value is None:
                study.tell(t, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(t, float(value))
        rows.extend(done)
    return rows


def _suggest(trial: Any, axes: Sequence[Axis]) -> dict[str, str]:
    params: dict[str, str] = {}
    for axis in axes:
        if axis.low is not None and axis.high is not None:
            if axis.is_int_range:
                params[axis.name] = str(trial.suggest_int(axis.name, int(axis.low), int(axis.high)))
            else:
                params[axis.name] = repr(trial.suggest_float(axis.name, float(axis.low), float(axis.high)))
        else:
            params[axis.name] = str(trial.suggest_categorical(axis.name, list(axis.values)))
    return params


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _meta(
    cfg: SweepConfig, base: ReplayConfig, best: int | None, summary: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "strategy": str(base.strategy),
        "data": [str(p) for p in base.data],
        "fixed_params": list(base.params),
        "grid": {a.name: (list(a.values) if a.low is None else f"{a.low}..{a.high}") for a in cfg.axes},
        "objective": str(cfg.objective),
        "search": cfg.search,
        "trials": cfg.trials,
        "seed": base.seed,
        "walk_forward_ns": list(cfg.walk_forward) if cfg.walk_forward else None,
        "best_trial": best,
        "windows": summary,
    }


# ── outputs ──────────────────────────────────────────────────────────────────────────────────────

CSV_HEAD = (
    "trial",
    "phase",
    "window",
    "start_ns",
    "end_ns",
    "status",
    "error",
    "objective",
    "out",
    "seconds",
)


def write_outputs(out: Path, rows: list[Row], meta: dict[str, Any], axes: Sequence[Axis]) -> None:
    (out / "results.json").write_text(json.dumps({**meta, "trials": rows}, indent=2) + "\n")
    (out / "results.csv").write_text(render_csv(rows, [a.name for a in axes]))
    (out / "sweep.html").write_text(html.render(rows, meta, [a.name for a in axes]))


def render_csv(rows: Sequence[Row], names: Sequence[str]) -> str:
    """One row per trial: its place, ``param.NAME`` columns, then every report key."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = [*CSV_HEAD, *(f"param.{n}" for n in names), *REPORT_KEYS]
    writer.writerow(header)
    for row in rows:
        cells: list[object] = [row.get(k) for k in CSV_HEAD]
        cells += [row["params"].get(n) for n in names]
        cells += [_cell(row.get("report", {}).get(k)) for k in REPORT_KEYS]
        writer.writerow(["" if c is None else c for c in cells])
    return buf.getvalue()


def _cell(value: object) -> object:
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return value
