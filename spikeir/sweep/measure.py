"""The measurements docs/sweep.md reports, in one run: ``python -m spikeir.sweep.measure [--out DIR]``.

1. the default 48-point sweep of the seed MLP over the 1,000 held-out digits, end to end (model load,
   Ray start, every point, report and figures): its wall time;
2. the same 48 points with 1 and with 2 tasks at once, twice each, alternated, on one local Ray of 2 CPUs
   whose workers were warmed up first (each run into a fresh folder): the speed-up of the best times;
3. the 48 points again with one busy Ray worker SIGKILLed mid-sweep: every point exactly once.

The load average is printed with each, since on a shared machine it decides the times.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from spikeir.sweep.models import EvalSet, SweepModel, lab_eval_set, lab_model
from spikeir.sweep.runner import RESULTS, run_sweep
from spikeir.sweep.space import SweepSpace, seed_space, space_from_mapping


def kill_busy_worker(stop: threading.Event, killed: list[int], task: str = "evaluate_shard") -> None:
    """SIGKILL the first Ray worker seen running ``task`` among *this process's* descendants (a local Ray
    started here: never another user's workers); its pid goes into ``killed``."""
    import psutil

    while not stop.is_set() and not killed:
        for process in psutil.Process().children(recursive=True):
            try:
                busy = process.cmdline()[:1] == [f"ray::{task}"]
            except psutil.Error:
                continue
            if busy:
                os.kill(process.pid, signal.SIGKILL)
                killed.append(process.pid)
                return
        time.sleep(0.005)


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


def _timed(run: Callable[[], Any]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _task_seconds(out: Path) -> dict[str, float]:
    """Wall and CPU seconds of all the tasks of a sweep, summed: CPU much below wall means the tasks
    waited for a core (the machine was busy)."""
    records = [json.loads(line) for line in (out / RESULTS).read_text().splitlines()[1:]]
    wall = sum(r.get("compile_seconds", 0) + r.get("eval_seconds", 0) for r in records)
    cpu = sum(r.get("compile_cpu_seconds", 0) + r.get("eval_cpu_seconds", 0) for r in records)
    return {"task_seconds": round(wall, 1), "task_cpu_seconds": round(cpu, 1)}


def _points_once(out: Path) -> tuple[int, int, int]:
    """(lines, distinct points, measured) of a results file."""
    records = [json.loads(line) for line in (out / RESULTS).read_text().splitlines()[1:]]
    return len(records), len({r["key"] for r in records}), sum(r["status"] == "ok" for r in records)


def end_to_end(out: Path) -> dict[str, Any]:
    """Measurement 1 (starts and stops its own Ray, like ``spikeir sweep``)."""
    load = _load()
    seconds = _timed(lambda: run_sweep(seed_space(), out=out, engine="ray", progress=False, say=lambda _: None))
    return {"seconds": round(seconds, 1), "load_before": load, "load_after": _load(), "points": _points_once(out)}


def _quiet_sweep(space: SweepSpace, model: SweepModel, data: EvalSet, out: Path, **kwargs: Any) -> None:
    run_sweep(space, model, data, out=out, engine="ray", figures=False, progress=False, say=lambda _: None, **kwargs)


def speed_up(out: Path, model: SweepModel, data: EvalSet) -> dict[str, Any]:
    """Measurement 2, on the Ray this process started (2 CPUs)."""
    _quiet_sweep(space_from_mapping({"mode": "rate", "timesteps": [1, 2, 4, 8]}, "warm-up"), model, data, out / "warm")
    runs: dict[str, Any] = {}
    for round_ in (1, 2):  # alternated, so a change of the machine's load hits both counts alike
        for workers in (1, 2):
            folder = out / f"{workers}-workers-{round_}"
            load = _load()
            seconds = _timed(
                lambda folder=folder, workers=workers: _quiet_sweep(seed_space(), model, data, folder, workers=workers)
            )
            run = {"seconds": round(seconds, 1), "load_before": load, **_task_seconds(folder)}
            runs.setdefault(f"{workers} workers", []).append(run)
    best = {workers: min(run["seconds"] for run in runs[f"{workers} workers"]) for workers in (1, 2)}
    runs["speed_up"] = round(best[1] / best[2], 2)
    return runs


def killed_worker(out: Path, model: SweepModel, data: EvalSet) -> dict[str, Any]:
    """Measurement 3."""
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=kill_busy_worker, args=(stop, killed))

    def start_killer(record: dict[str, Any]) -> None:
        if not killer.is_alive() and not killed and record["index"] >= 0:
            killer.start()

    try:
        _quiet_sweep(seed_space(), model, data, out, on_point=start_killer)
    finally:
        stop.set()
    lines, distinct, measured = _points_once(out)
    return {"killed_pids": killed, "lines": lines, "distinct_points": distinct, "measured": measured}


def main(argv: Sequence[str] | None = None) -> int:
    import ray

    parser = argparse.ArgumentParser(prog="python -m spikeir.sweep.measure", description=__doc__)
    parser.add_argument("--out", default="sweep-measure", help="a new folder for the runs' outputs")
    out = Path(parser.parse_args(argv).out)
    results: dict[str, Any] = {"end_to_end": end_to_end(out / "end-to-end")}
    print(json.dumps(results, indent=2), flush=True)
    model, data = lab_model(), lab_eval_set()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    try:
        results["speed_up"] = speed_up(out, model, data)
        print(json.dumps(results["speed_up"], indent=2), flush=True)
        results["killed_worker"] = killed_worker(out / "killed", model, data)
    finally:
        ray.shutdown()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
