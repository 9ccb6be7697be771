"""`run_sweep`: compile every point of a space once, check it, evaluate it over the evaluation set (in
shards, on the engine), and record it in the results file as soon as it is finished.

The scheduler keeps at most ``engine.workers`` tasks in flight: a point's compile task first (it
returns the check, and the compiled program as a second value that stays where it is, on Ray in the
object store, so the driver never copies it), then its evaluation shards, each reading that one
compiled program; the shards of started points go before new compiles, so points finish (and are
recorded) in a steady stream. Results are written only by this process, one record per finished point,
so a task that Ray re-executes after its worker died still counts once.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from spikeir.errors import PlacementError, SpikeIRError
from spikeir.fileio import atomic_write
from spikeir.sweep.engine import Engine, EngineKind, check_engine, make_engine
from spikeir.sweep.evaluate import EvalData, evaluate_shard, merge_counts, metrics, program_facts, shard_bounds
from spikeir.sweep.models import EvalSet, SweepModel, lab_eval_set, lab_model, reference_data
from spikeir.sweep.report import (
    COSTS,
    best_points,
    plot_front,
    render_failures,
    render_table,
    report_document,
    varying,
)
from spikeir.sweep.results import Record, ResultsFile
from spikeir.sweep.space import Point, SweepError, SweepSpace, describe_point, point_key

DEFAULT_SHARD_SIZE = 500
"""Samples per evaluation task: the 1,000 held-out digits are two shards of one compiled program."""
RESULTS = "results.jsonl"
REPORT = "report.json"


def compile_point(module: Any, calibration: Any, point: Point) -> tuple[dict[str, Any], Any]:
    """Compile ``module`` with ``point``'s options: ``(check, compiled or None)``. A point that cannot be
    compiled (an invalid value, a network that does not fit) is an answer, not an error: ``check`` says
    why (``failure``: ``bad option``, ``does not fit`` or ``cannot compile``)."""
    import spikeir
    from spikeir.frontends.nir import NIRDocument
    from spikeir.options import CompileOptions, OptionError
    from spikeir.sweep.nir_points import compile_nir_point

    start, cpu = time.perf_counter(), time.process_time()
    try:
        if isinstance(module, NIRDocument):
            return compile_nir_point(module, calibration, point)
        options = CompileOptions.of(**point)
        compiled = spikeir.compile(module.clone(), calibration=calibration, options=options)
    except SpikeIRError as error:
        kind = (
            "bad option"
            if isinstance(error, OptionError)
            else "does not fit"
            if isinstance(error, PlacementError)
            else "cannot compile"
        )
        return {
            "status": "invalid",
            "fits": False if kind == "does not fit" else None,
            "failure": kind,
            "reason": str(error),
        }, None
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    check = {"status": "ok", "fits": True, "compile_seconds": seconds, "compile_cpu_seconds": cpu}
    return {**check, **program_facts(compiled)}, compiled


@dataclass
class _PointRun:
    """A point in flight: its check, compiled program handle and the counts of its finished shards."""

    index: int
    point: Point
    key: str
    check: dict[str, Any] = field(default_factory=dict[str, Any])
    compiled: Any = None
    shards: int = 0
    counts: list[dict[str, float]] = field(default_factory=list[dict[str, float]])
    recorded: bool = False
    """Written to the results file: later answers for this point (of its other shards) are ignored."""


@dataclass
class _Scheduler:
    """The loop of `run_sweep` (see the module docstring)."""

    engine: Engine
    module_ref: Any
    calibration_ref: Any
    data_ref: Any
    data: EvalData
    shard_size: int
    finish: Callable[[Record], None]
    with_reference: bool = False
    """Agreement is measured (a float model's predictions, or a NIR point's float SNN)."""
    queue: deque[tuple[Callable[..., Any], tuple[Any, ...], int, _PointRun]] = field(default_factory=deque)
    inflight: dict[Any, tuple[str, _PointRun]] = field(default_factory=dict[Any, tuple[str, _PointRun]])

    def run(self, todo: list[_PointRun]) -> None:
        for run in todo:
            self.queue.append((compile_point, (self.module_ref, self.calibration_ref, run.point), 2, run))
        while self.queue or self.inflight:
            while self.queue and len(self.inflight) < self.engine.workers:
                self._submit(*self.queue.popleft())
            handle = self.engine.wait(list(self.inflight))
            kind, run = self.inflight.pop(handle)
            try:
                value = self.engine.get(handle)
            except Exception as error:  # noqa: BLE001 - a worker that died for good, or a bug: record it
                self._fail(run, error)
                continue
            if kind == "compile":
                self._compiled(run, value)
            else:
                self._shard_done(run, value)

    def _submit(self, function: Callable[..., Any], args: tuple[Any, ...], returns: int, run: _PointRun) -> None:
        handles = self.engine.submit(function, *args, num_returns=returns)
        if function is compile_point:
            run.compiled = handles[1]
            self.inflight[handles[0]] = ("compile", run)
        else:
            self.inflight[handles[0]] = ("shard", run)

    def _compiled(self, run: _PointRun, check: dict[str, Any]) -> None:
        run.check = check
        if check["status"] != "ok":
            self._record(run, {})
            return
        bounds = shard_bounds(len(self.data.x), self.shard_size)
        run.shards = len(bounds)
        for start, stop in reversed(bounds):  # before new compiles: this point finishes first
            self.queue.appendleft((evaluate_shard, (run.compiled, self.data_ref, start, stop), 1, run))

    def _shard_done(self, run: _PointRun, counts: dict[str, float]) -> None:
        if run.recorded:  # the point failed already (another shard's worker died for good)
            return
        run.counts.append(counts)
        if len(run.counts) == run.shards:  # the program's facts came with its check: it is never fetched here
            self._record(run, metrics(merge_counts(run.counts), self.with_reference))

    def _fail(self, run: _PointRun, error: BaseException) -> None:
        if run.recorded:
            return
        cause = getattr(error, "cause", None) or error  # a RayTaskError carries what the task raised
        run.check = {"status": "error", "failure": type(error).__name__, "reason": f"{type(cause).__name__}: {cause}"}
        self._record(run, {})

    def _record(self, run: _PointRun, measured: dict[str, Any]) -> None:
        self.finish(
            {
                "kind": "point",
                "key": run.key,
                "index": run.index,
                "options": run.point,
                **run.check,
                **measured,
                "shards": run.shards,
            }
        )
        run.recorded = True
        run.compiled = None  # the last reference: Ray frees the program (a long sweep holds only those in flight)


@dataclass
class SweepReport:
    """The outcome of `run_sweep`: every point's record (this run's and resumed ones), and the files."""

    records: list[Record]
    out: Path
    engine: str
    seconds: float
    resumed: int
    files: list[str]

    def best(self, top: int = 10) -> list[Record]:
        return best_points(self.records, top)


class _Progress:
    """A tqdm bar over points on a terminal; plain ``sweep: k/n points`` lines elsewhere (CI logs)."""

    def __init__(self, total: int, done: int, enabled: bool, say: Callable[[str], None]) -> None:
        tty = enabled and sys.stderr is not None and sys.stderr.isatty()
        self.bar = tqdm(total=total, initial=done, unit="point", desc="sweep", disable=not tty)
        self.plain = enabled and not tty
        self.total, self.done, self.say = total, done, say

    def update(self, record: Record) -> None:
        self.done += 1
        self.bar.update()
        if self.plain and (self.done == self.total or self.done % max(1, self.total // 10) == 0):
            self.say(
                f"sweep: {self.done}/{self.total} points ({record['status']}: {describe_point(record['options'])})"
            )

    def close(self) -> None:
        self.bar.close()


def run_sweep(
    space: SweepSpace,
    model: SweepModel | None = None,
    data: EvalSet | None = None,
    *,
    out: str | Path = "sweep-out",
    resume: bool = False,
    engine: EngineKind = "auto",
    address: str | None = None,
    workers: int | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    top: int = 10,
    figures: bool = True,
    progress: bool = True,
    on_point: Callable[[Record], None] | None = None,
    say: Callable[[str], None] = print,
) -> SweepReport:
    """Sweep ``space`` for ``model`` (default: the lab's seed MLP) over ``data`` (default: the lab's
    1,000 held-out digits); write ``out``/results.jsonl as points finish, then report.json and one
    Pareto figure per cost (unless not ``figures``), and print the best points. ``resume`` continues an existing results file,
    skipping its finished points. ``on_point`` is called with each record as it is written."""
    start = time.perf_counter()
    check_engine(engine, address, workers)
    if shard_size < 1:
        raise SweepError(f"the shard size must be at least 1 sample, got {shard_size}", "--shard-size")
    model = lab_model() if model is None else model
    data = lab_eval_set() if data is None else data
    out = Path(out)
    header = {"model": model.identity, "data": data.identity}
    results, finished = ResultsFile.open(out / RESULTS, header, resume)
    runs = _point_runs(space)
    todo = [run for run in runs if run.key not in finished]
    eval_data = reference_data(model, data)
    chosen = make_engine(engine, address, workers)
    say(
        f"sweep: {len(runs)} points ({len(runs) - len(todo)} already in {out / RESULTS}), {model.name}, "
        f"{data.name}; tasks run {chosen.note}"
    )
    bar = _Progress(len(runs), len(runs) - len(todo), progress, say)

    def finish(record: Record) -> None:
        results.append(record)
        bar.update(record)
        if on_point is not None:
            on_point(record)

    try:
        refs = chosen.put(model.module), chosen.put(data.calibration), chosen.put(eval_data)
        with_reference = eval_data.reference is not None or model.spiking
        _Scheduler(chosen, *refs, eval_data, shard_size, finish, with_reference).run(todo)
    finally:
        bar.close()
        chosen.close()
    keys = {run.key for run in runs}
    records = sorted((r for r in results.records() if r["key"] in keys), key=lambda r: r["index"])
    seconds = time.perf_counter() - start
    summary = {
        "points": len(records),
        "measured": sum(r["status"] == "ok" for r in records),
        "resumed": len(runs) - len(todo),
        "engine": chosen.name,
        "workers": chosen.workers,
        "seconds": round(seconds, 2),
    }
    files = _write_outputs(out, records, header, summary, top, figures)
    _say_summary(say, records, top)
    return SweepReport(records, out, chosen.name, seconds, len(runs) - len(todo), files)


def _point_runs(space: SweepSpace) -> list[_PointRun]:
    """The space's points, each once (two spellings of one point are one point)."""
    runs: dict[str, _PointRun] = {}
    for point in space.points():
        key = point_key(point)
        runs.setdefault(key, _PointRun(len(runs), point, key))
    return list(runs.values())


def _write_outputs(
    out: Path, records: list[Record], header: dict[str, Any], summary: dict[str, Any], top: int, figures: bool
) -> list[str]:
    """report.json and (with ``figures``) one figure per cost, pareto-<cost>.png, each written atomically."""
    from spikeir.lab.pipeline import _figure_png  # pyright: ignore[reportPrivateUsage]

    atomic_write(out / REPORT, report_document(records, header, summary, top))
    files = [RESULTS, REPORT]
    for cost in COSTS if figures else ():
        name = f"pareto-{cost.replace('_', '-')}.png"
        atomic_write(out / name, _figure_png(lambda cost=cost: plot_front(records, cost)))
        files.append(name)
    return files


def _say_summary(say: Callable[[str], None], records: list[Record], top: int) -> None:
    measured = [r for r in records if r["status"] == "ok"]
    title = f"best {min(top, len(measured))} of {len(measured)} measured points:"
    say(render_table(best_points(records, top), title, varying(records)))
    failures = render_failures(records)
    if failures:
        say(f"{len(records) - len(measured)} point(s) not measured:\n{failures}")
