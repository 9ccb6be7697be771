"""Per-layer records of one digit on the hardware model, for the lab's figures (issue 20, item 5).

The compiled program runs once more on one input with probes (docs/isa.md "Probes") over every
layer's core slices, so the payloads each layer emitted and its membrane potential V at every timestep
come from the chip model itself, named by layer, not by core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.isa import ProbeSpec
from spikeir.ir.host import quantize_input
from spikeir.lab.report import layer_placement


@dataclass(frozen=True)
class LayerRecord:
    """One layer over a run: ``spikes`` are the payloads it emitted, ``v`` its potentials after each
    FIRE, both (T, neurons) in the group's neuron order."""

    name: str
    spikes: np.ndarray
    v: np.ndarray
    output: bool


@dataclass(frozen=True)
class DigitRecord:
    """The input events of one digit (T, inputs) and each layer's record."""

    input_events: np.ndarray
    layers: list[LayerRecord]


def record_digit(compiled: Any, x: np.ndarray, timesteps: int) -> DigitRecord:
    """Run ``compiled``'s first SpikeCore program on one sample ``x`` for ``timesteps`` with every
    layer probed. The program's input must be the model's (a whole-network region, as in the lab)."""
    program = compiled.program
    payload = quantize_input(program, x[None])[0]
    layers = layer_placement(compiled.module, program)
    # An output layer has no FIRE (it only accumulates), so only its potentials can be probed.
    specs = [
        ProbeSpec(core, base, count, spikes=not row["output"], v=True)
        for row in layers
        for core, base, count in row["slices"]
    ]
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    cpu.run(payload, timesteps=timesteps, probes=specs)
    records = iter(cpu.get_probes())
    result: list[LayerRecord] = []
    for row in layers:
        parts = [next(records) for _ in row["slices"]]
        v = np.concatenate([p["v"] for p in parts], axis=1)
        spikes = np.concatenate([p["spikes"] for p in parts], axis=1) if not row["output"] else np.zeros_like(v)
        result.append(LayerRecord(row["name"], spikes, v, row["output"]))
    events = np.broadcast_to(payload != 0, (timesteps, payload.size))
    return DigitRecord(np.asarray(events), result)


def feature_map_shapes(model: Any, x: np.ndarray) -> list[tuple[int, ...]]:
    """The (C, H, W) shapes of every 4-d activation inside ``model`` on ``x`` (forward hooks), in
    order: a layer whose neuron count equals one of them is shown as that feature map."""
    import torch

    shapes: list[tuple[int, ...]] = []
    hooks = [
        module.register_forward_hook(
            lambda _m, _i, out: shapes.append(tuple(out.shape[1:])) if out.dim() == 4 else None
        )
        for module in model.modules()
        if not list(module.children())
    ]
    try:
        with torch.no_grad():
            model(torch.from_numpy(x[None]))
    finally:
        for hook in hooks:
            hook.remove()
    return shapes


def feature_maps(record: DigitRecord, shapes: list[tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Each layer's payloads summed over time, as a (C, H, W) map when its size is that of one of
    ``shapes`` (in the group's neuron order, channel-major as torch's)."""
    by_size = {int(np.prod(shape)): shape for shape in reversed(shapes)}
    maps: dict[str, np.ndarray] = {}
    for layer in record.layers:
        shape = by_size.get(layer.spikes.shape[1])
        if shape is not None and not layer.output:
            maps[layer.name] = layer.spikes.astype(np.int64).sum(axis=0).reshape(shape)
    return maps


def busiest_neurons(layer: LayerRecord, count: int) -> list[int]:
    """The ``count`` neurons of a layer that fired most (output layers: the largest final V), ties
    broken by index so the choice repeats."""
    score = layer.v[-1].astype(np.int64) if layer.output else np.count_nonzero(layer.spikes, axis=0)
    return [int(i) for i in np.argsort(-score, kind="stable")[:count]]
