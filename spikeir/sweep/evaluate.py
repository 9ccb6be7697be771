"""Evaluation of one compiled program over an evaluation set, split into shards that can run anywhere.

A shard runs the program on the hardware model over a slice of the set and returns *counts* (correct
predictions, agreement with the float model, and the chip's events, cycles and energy summed over
every SpikeCore launch); counts add up, so shards merge exactly and a point's numbers do not depend on
how it was sharded. `evaluate` is the data-parallel form for one program: its shards are tasks of the
sweep's engine (Ray when asked for, else in-process).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from spikeir.chip.accounting import RunStats
from spikeir.errors import DataError

if TYPE_CHECKING:
    from spikeir.compiler import CompiledModel
    from spikeir.sweep.nir_points import NIRPoint

COUNTS = ("samples", "correct", "agree", "energy_pj", "cycles", "time_us", "spikes", "synaptic_ops", "input_events")
"""What a shard counts (all additive over samples)."""


@dataclass(frozen=True)
class EvalData:
    """An evaluation set as the shards see it: inputs, labels, and the float model's predictions."""

    x: NDArray[np.float32]
    y: NDArray[np.int64]
    reference: NDArray[np.int64] | None = None
    """The float model's predicted classes (for agreement), or None."""

    def __post_init__(self) -> None:
        if len(self.x) == 0:
            raise DataError("the evaluation set is empty", "evaluate")
        if len(self.y) != len(self.x):
            raise DataError(f"{len(self.x)} inputs but {len(self.y)} labels", "evaluate")
        if self.reference is not None and len(self.reference) != len(self.x):
            raise DataError(f"{len(self.x)} inputs but {len(self.reference)} reference predictions", "evaluate")


def as_predictions(values: Any) -> NDArray[np.int64]:
    """Class predictions from predictions (N,) or logits (N, classes)."""
    array = np.asarray(values)
    return (array.argmax(axis=1) if array.ndim == 2 else array).astype(np.int64)


def shard_bounds(samples: int, shard_size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of each shard: ``shard_size`` samples each (the last one may be shorter)."""
    if shard_size < 1:
        raise DataError(f"the shard size must be at least 1 sample, got {shard_size}", "evaluate")
    return [(start, min(start + shard_size, samples)) for start in range(0, samples, shard_size)]


def evaluate_shard(compiled: CompiledModel | NIRPoint, data: EvalData, start: int, stop: int) -> dict[str, float]:
    """Run ``compiled`` over samples ``start:stop`` of ``data``; the counts of `COUNTS` (and its start, its
    seconds and CPU seconds: on a shared machine their ratio says how much of a core the task had).

    Every SpikeCore launch is counted (`CompiledModel.run` keeps only the first one's statistics). A NIR
    point (`spikeir.sweep.nir_points.NIRPoint`) runs its streams instead."""
    from spikeir.ir.host import HostExecutor
    from spikeir.sweep.nir_points import NIRPoint, evaluate_nir_shard

    if isinstance(compiled, NIRPoint):
        return evaluate_nir_shard(compiled, data, start, stop)

    begin, cpu = time.perf_counter(), time.process_time()
    executor = HostExecutor(compiled.module, compiled.timesteps)
    outputs = executor.run_main(np.asarray(data.x[start:stop], dtype=np.float32))
    predictions = as_predictions(outputs)
    counts: dict[str, float] = dict.fromkeys(COUNTS, 0.0)
    counts["samples"] = float(stop - start)
    counts["correct"] = float(np.sum(predictions == data.y[start:stop]))
    if data.reference is not None:
        counts["agree"] = float(np.sum(predictions == data.reference[start:stop]))
    if executor.launches:
        stats = RunStats.chained([launch.stats for launch in executor.launches])
        for name in ("energy_pj", "cycles", "time_us", "spikes", "synaptic_ops", "input_events"):
            counts[name] = float(getattr(stats, name))
    counts["seconds"] = time.perf_counter() - begin
    counts["cpu_seconds"] = time.process_time() - cpu
    counts["start"] = float(start)
    return counts


def merge_counts(parts: Sequence[dict[str, float]]) -> dict[str, float]:
    """The counts of the whole set from those of its shards, summed in the order of the samples (float
    sums then do not depend on which shard finished first)."""
    ordered = sorted(parts, key=lambda part: part["start"])
    return {name: float(sum(part[name] for part in ordered)) for name in (*COUNTS, "seconds", "cpu_seconds")}


def program_facts(compiled: CompiledModel) -> dict[str, Any]:
    """What a point's program is, without running it: its mode and timesteps, and its size on the chip."""
    stats = compiled.stats
    return {
        "mode": compiled.mode,
        "timesteps": compiled.timesteps,
        "cores": stats["cores_used"],
        "synapse_bytes": stats["synapse_bytes"],
        "instructions": stats["instructions"],
    }


def metrics(counts: dict[str, float], with_reference: bool) -> dict[str, Any]:
    """What a point's run reports: accuracy and agreement, and what one inference costs on the chip."""
    n = counts["samples"]
    return {
        "accuracy": counts["correct"] / n,
        "agreement": counts["agree"] / n if with_reference else None,
        "energy_nj": counts["energy_pj"] / n / 1000.0,
        "cycles": counts["cycles"] / n,
        "latency_us": counts["time_us"] / n,
        "spikes": counts["spikes"] / n,
        "synaptic_ops": counts["synaptic_ops"] / n,
        "input_events": counts["input_events"] / n,
        "samples": int(n),
        "eval_seconds": counts["seconds"],
        "eval_cpu_seconds": counts["cpu_seconds"],
    }


def evaluate(
    compiled: CompiledModel,
    x: Any,
    y: Any,
    *,
    reference: Any = None,
    shards: int = 1,
    address: str | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Accuracy, agreement with ``reference`` (the float model's logits or predictions) and the chip's
    per-inference costs of ``compiled`` over ``(x, y)``, in ``shards`` data-parallel tasks.

    ``shards > 1`` or an ``address`` runs the shards on Ray (a local Ray on this machine's cores unless
    ``address`` names a cluster; one already started in this process is used as it is), the compiled
    program shipped once to all of them; ``shards=1`` without an address runs in this process."""
    from spikeir.sweep.engine import make_engine

    data = EvalData(
        np.asarray(x, dtype=np.float32),
        np.asarray(y).astype(np.int64),
        None if reference is None else as_predictions(reference),
    )
    if shards < 1:
        raise DataError(f"shards must be at least 1, got {shards}", "evaluate")
    bounds = shard_bounds(len(data.x), -(-len(data.x) // shards))
    engine = make_engine("ray" if shards > 1 or address else "local", address, workers)
    try:
        compiled_ref, data_ref = engine.put(compiled), engine.put(data)
        handles = [engine.submit(evaluate_shard, compiled_ref, data_ref, start, stop)[0] for start, stop in bounds]
        parts = [engine.get(handle) for handle in handles]
    finally:
        engine.close()
    return {**program_facts(compiled), **metrics(merge_counts(parts), data.reference is not None)}
