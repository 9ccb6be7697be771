"""Sweep points of a NIR graph: compiled with `spikeir.frontends.nir.from_nir` and run as a `CompiledSNN`.

A NIR model's point varies what `from_nir` and `CompiledSNN.run` take instead of `CompileOptions`:
the exporter's ``conventions``, ``per_channel`` units, the ``target``, and the input streams
(``encoder``, ``timesteps``, ``encoder_seed``). The evaluation encodes each held-out input into a
stream seeded by the point's seed and the input's index (so a point's numbers do not depend on how it
is sharded), runs it on the hardware model, and compares the chip's predictions with the labels and
with the float model of the same discretized graph on the same streams (`CompiledSNN.run_float`); the
chip's costs come from `CompiledSNN.last_run`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spikeir.frontends.nir import NIRDocument, from_nir
from spikeir.options import OptionError
from spikeir.snn import ENCODERS, CompiledSNN, Encoder, encode
from spikeir.sweep.evaluate import COUNTS, EvalData, as_predictions
from spikeir.sweep.space import OptionValue, Point

NIR_OPTIONS: dict[str, OptionValue] = {
    "conventions": "nir",
    "per_channel": False,
    "target": "spikecore-v1",
    "encoder": "rate",
    "timesteps": 16,
    "encoder_seed": 0,
}
"""What a NIR point can set, with the value a point that does not set it gets."""
NIR_SPACE: dict[str, OptionValue | list[OptionValue]] = {
    "conventions": ["nir", "sinabs"],
    "per_channel": [False, True],
    "encoder": ["rate", "latency"],
    "timesteps": [8, 16, 32],
}
"""The default space of a NIR model (24 points)."""


@dataclass
class NIRPoint:
    """A compiled NIR point: the network and how its inputs become streams."""

    compiled: CompiledSNN
    encoder: Encoder
    timesteps: int
    seed: int

    def streams(self, x: NDArray[np.float32], start: int) -> NDArray[np.float64]:
        """Input ``start + i`` of the set, encoded with a seed of its own (shard-independent)."""
        n = self.compiled.quantized.spec.n_inputs
        seeds = [int(np.random.SeedSequence([self.seed, start + i]).generate_state(1)[0]) for i in range(len(x))]
        return np.concatenate([encode(x[i : i + 1], n, self.encoder, self.timesteps, s) for i, s in enumerate(seeds)])


def _settings(point: Point) -> dict[str, Any]:
    unknown = sorted(set(point) - set(NIR_OPTIONS))
    if unknown:
        raise OptionError(
            f"option {', '.join(unknown)} does not apply to a NIR graph; its options are {', '.join(NIR_OPTIONS)}"
        )
    settings: dict[str, Any] = {**NIR_OPTIONS, **point}
    if settings["encoder"] not in ENCODERS:
        raise OptionError(f"encoder must be one of {', '.join(ENCODERS)}, got {settings['encoder']!r}")
    for name in ("timesteps", "encoder_seed"):
        value = settings[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < (1 if name == "timesteps" else 0):
            raise OptionError(f"{name} must be an integer >= {1 if name == 'timesteps' else 0}, got {value!r}")
    if not isinstance(settings["per_channel"], bool):
        raise OptionError(f"per_channel must be true or false, got {settings['per_channel']!r}")
    return settings


def compile_nir_point(doc: NIRDocument, calibration: Any, point: Point) -> tuple[dict[str, Any], NIRPoint]:
    """Compile ``doc`` for ``point`` (calibrated on the calibration inputs encoded as the point's
    streams); an option a NIR graph does not take is an `OptionError`, a graph that cannot map a
    `spikeir.errors.FrontendError` (both `SpikeIRError`: `compile_point` records them)."""
    start, cpu = time.perf_counter(), time.process_time()
    settings = _settings(point)
    n = len(np.asarray(calibration)[0].ravel()) if len(calibration) else 0
    cal = encode(calibration, n, settings["encoder"], settings["timesteps"], settings["encoder_seed"])
    compiled = from_nir(doc, settings["conventions"], cal, settings["per_channel"], settings["target"])
    compiled_point = NIRPoint(compiled, settings["encoder"], settings["timesteps"], settings["encoder_seed"])
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    check = {"status": "ok", "fits": True, "compile_seconds": seconds, "compile_cpu_seconds": cpu}
    return {**check, **nir_facts(compiled_point)}, compiled_point


def nir_facts(point: NIRPoint) -> dict[str, Any]:
    """A NIR point's program, as `spikeir.sweep.evaluate.program_facts` reports a float model's."""
    program = point.compiled.program
    per_core = program.synapse_bytes_per_core()
    return {
        "mode": "nir",
        "timesteps": point.timesteps,
        "cores": len(per_core),
        "synapse_bytes": sum(per_core.values()),
        "instructions": len(program),
    }


def _predictions(compiled: CompiledSNN, stream: NDArray[np.float64], chip: bool) -> NDArray[np.int64]:
    spiking = compiled.quantized.spec.layer(compiled.output_layer).spiking
    output = "counts" if spiking else "membrane"
    values = compiled.run(stream, output=output) if chip else compiled.run_float(stream, output=output)
    return as_predictions(values)


def evaluate_nir_shard(point: NIRPoint, data: EvalData, start: int, stop: int) -> dict[str, float]:
    """The counts of `spikeir.sweep.evaluate.COUNTS` for inputs ``start:stop`` (agreement: with the float
    model of the same graph on the same streams)."""
    begin, cpu = time.perf_counter(), time.process_time()
    stream = point.streams(data.x[start:stop], start)
    chip = _predictions(point.compiled, stream, chip=True)
    stats = point.compiled.last_run
    assert stats is not None
    reference = _predictions(point.compiled, stream, chip=False)
    counts: dict[str, float] = dict.fromkeys(COUNTS, 0.0)
    counts.update(
        samples=float(stop - start),
        correct=float(np.sum(chip == data.y[start:stop])),
        agree=float(np.sum(chip == reference)),
        energy_pj=stats.energy_pj,
        cycles=float(stats.cycles),
        time_us=stats.time_us,
        spikes=float(stats.spikes),
        synaptic_ops=float(stats.synaptic_ops),
        input_events=float(stats.input_events),
    )
    counts["seconds"] = time.perf_counter() - begin
    counts["cpu_seconds"] = time.process_time() - cpu
    counts["start"] = float(start)
    return counts
