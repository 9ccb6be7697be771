"""The parts of the lab's report.json a researcher compares runs by (issue 20, item 4).

Accuracy with a 95% confidence interval, where the report came from (spikeir version, git commit,
time), each layer's placement (cores, neurons, synapse bytes) read from the placed IR, each layer's
activity (spikes, firing rate, sparsity, synaptic ops, energy) from the hardware model's per-core
counters, and the energy estimate broken down by kind. docs/report.md documents every field and
docs/report.schema.json is its JSON Schema (tests validate the lab's output against it).

Layer statistics come from per-core counters, so they are exact when each core holds one layer (what
`spikecore-place` does: every layer takes cores of its own); a core shared by layers would have its
counts split in proportion to the neurons each layer holds there.
"""

from __future__ import annotations

import math
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from xdsl.dialects.builtin import ModuleOp

    from spikeir.chip.accounting import RunStats
    from spikeir.chip.isa import Program

REPORT_VERSION = 2
"""Version of report.json's layout (docs/report.schema.json); bump when a field changes meaning or type."""

Z_95 = 1.959963984540054
"""The standard normal quantile of a two-sided 95% interval."""


def wilson_interval(correct: int, samples: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval of a proportion: unlike the normal approximation it stays inside [0, 1]
    and is sound at 100% accuracy, which the graded mode's agreement often reaches."""
    if samples <= 0:
        return (0.0, 1.0)
    p = correct / samples
    denominator = 1 + z * z / samples
    centre = (p + z * z / (2 * samples)) / denominator
    half = z * math.sqrt(p * (1 - p) / samples + z * z / (4 * samples * samples)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def proportion(hits: np.ndarray) -> dict[str, Any]:
    """A measured proportion (accuracy, agreement) with its count and 95% interval."""
    correct, samples = int(np.count_nonzero(hits)), int(hits.size)
    low, high = wilson_interval(correct, samples)
    return {"value": correct / samples if samples else 0.0, "correct": correct, "samples": samples, "ci95": [low, high]}


def _git_commit() -> str | None:
    """The commit of the checkout spikeir runs from, or None (an installed copy, or no git)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def _spikeir_version() -> str | None:
    """The installed distribution's version, or None when spikeir runs from a clone without install."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("spikeir")
    except PackageNotFoundError:
        return None


def provenance() -> dict[str, Any]:
    """Which spikeir made the report, from which commit, and when (UTC, ISO 8601)."""
    return {
        "report_version": REPORT_VERSION,
        "spikeir_version": _spikeir_version(),
        "git_commit": _git_commit(),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }


@dataclass(frozen=True)
class _Layer:
    """One placed group: its name, size, core slices (core, base, count), and whether it is an output."""

    name: str
    neurons: int
    slices: tuple[tuple[int, int, int], ...]
    output: bool


def _layers(module: ModuleOp) -> list[_Layer]:
    """The placed groups of the module's first SpikeCore program (the one `CompiledModel.last_run`
    counts), in program order."""
    from spikeir.dialects import spikecore
    from spikeir.ir.emit import programs_in

    programs = programs_in(module)
    if not programs:
        return []
    ops = list(programs[0].walk())
    outputs = {op.group for op in ops if isinstance(op, spikecore.OutputOp)}
    return [
        _Layer(
            op.layer.data,
            op.size,
            tuple((s.core.data, s.base.data, s.count.data) for s in op.slices),
            op.result in outputs,
        )
        for op in ops
        if isinstance(op, spikecore.GroupOp)
    ]


def _shares(layers: list[_Layer]) -> list[dict[int, float]]:
    """Per layer, core -> the fraction of that core's used neurons the layer holds (1.0 when the core
    is the layer's alone)."""
    used: dict[int, int] = {}
    for layer in layers:
        for core, _, count in layer.slices:
            used[core] = used.get(core, 0) + count
    shares: list[dict[int, float]] = []
    for layer in layers:
        mine: dict[int, float] = {}
        for core, _, count in layer.slices:
            mine[core] = mine.get(core, 0.0) + count / used[core]
        shares.append(mine)
    return shares


def layer_placement(module: ModuleOp, program: Program) -> list[dict[str, Any]]:
    """Per layer: its cores, neurons, slices and the synapse bytes its cores hold (report.json
    ``layers[].placement``)."""
    layers = _layers(module)
    synapse = program.synapse_bytes_per_core()
    rows: list[dict[str, Any]] = []
    for layer, share in zip(layers, _shares(layers)):
        rows.append(
            {
                "name": layer.name,
                "neurons": layer.neurons,
                "output": layer.output,
                "cores": sorted(share),
                "slices": [list(s) for s in layer.slices],
                "synapse_bytes": int(round(sum(synapse.get(core, 0) * f for core, f in share.items()))),
            }
        )
    return rows


def layer_activity(module: ModuleOp, stats: RunStats, energy_table: Any) -> list[dict[str, Any]]:
    """Per layer and per sample: events emitted, firing rate (events per neuron and timestep),
    sparsity (1 - firing rate), synaptic ops into the layer, neuron updates and the energy of those
    two (pJ); the deliveries' energy is not split by layer (see `energy_by_kind`)."""
    layers = _layers(module)
    lanes, steps = max(stats.batch, 1), max(stats.timesteps, 1)
    rows: list[dict[str, Any]] = []
    for layer, share in zip(layers, _shares(layers)):

        def total(counter: np.ndarray, share: dict[int, float] = share) -> float:
            return sum(float(counter[core]) * f for core, f in share.items() if core < counter.size) / lanes

        spikes, ops, updates = total(stats.core_spikes), total(stats.core_synaptic_ops), total(stats.core_neuron_updates)
        rate = spikes / (layer.neurons * steps) if layer.neurons else 0.0
        energy = (
            energy_table.synaptic_op_pj * ops
            + energy_table.neuron_update_active_pj * spikes
            + energy_table.neuron_update_inactive_pj * max(updates - spikes, 0.0)
        )
        rows.append(
            {
                "name": layer.name,
                "spikes": spikes,
                "firing_rate": rate,
                "sparsity": 1.0 - rate,
                "synaptic_ops": ops,
                "neuron_updates": updates,
                "energy_pj": energy,
            }
        )
    return rows


def energy_by_kind(per_sample: dict[str, float], energy_table: Any) -> dict[str, float]:
    """The per-sample energy estimate (pJ) split into what spends it; the parts sum to ``energy_pj``."""
    return {
        "synaptic_ops": energy_table.synaptic_op_pj * per_sample["synaptic_ops"],
        "neuron_updates_active": energy_table.neuron_update_active_pj * per_sample["active_updates"],
        "neuron_updates_inactive": energy_table.neuron_update_inactive_pj * per_sample["inactive_updates"],
        "deliveries_intra_core": energy_table.spike_intra_core_pj * per_sample["intra_core_deliveries"],
        "deliveries_inter_core": energy_table.spike_inter_core_pj * per_sample["inter_core_deliveries"],
    }


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> list[list[int]]:
    """Counts of (true label, predicted label): rows are labels, columns predictions."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels.astype(np.int64), predictions.astype(np.int64)), 1)
    return matrix.tolist()
