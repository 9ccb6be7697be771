"""Throughput of the SpikeCore hardware model against the float32 BLAS limit.

The workload is the seed's 784-64-10 MLP built by hand from isa objects, with random int8 weights
and MNIST-like int8 inputs (about 80% zeros), in two modes:

- graded, T = 1: one timestep computes the quantized network exactly;
- rate (binary FIRE, reset=subtract, init=half), T = 8 and T = 32.

and two mappings: ``dense`` (spikecore-v1: layer 1 on c0[0:64], layer 2 on c1[0:10]) and ``seed``
(spikecore-v1-seed: one neuron per core, instructions interleaved per core, 222 of them).

The *limit* is the same integer network written directly as float32 BLAS matmuls with numpy
(``x @ W1.T``, requantization or the rate loop, ``@ W2.T``), without any accounting; its results
are checked equal to the model's. The ratio is model time / limit time, both measured here, best
of several alternating repeats. The same rounds also time the *float* model in PyTorch (784-64-10
``nn.Sequential`` with the same weights, ``torch.no_grad``, same batch): what the network costs a
user who never leaves PyTorch. Run with ``spikeir bench`` (or ``python -m spikeir.benchmarks.hardware``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.isa import Acc, AccBias, Fire, FireMode, Halt, Instruction, OutputSpec, Program, ResetMode
from spikeir.chip.target import TARGETS

N_IN, N_HID, N_OUT = 784, 64, 10
SHIFT = 24


@dataclass
class Network:
    """Integer parameters of the 784-64-10 MLP."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    multiplier: np.ndarray
    """Graded mode: requantization multipliers of the hidden layer (shift = SHIFT)."""
    threshold: np.ndarray
    """Rate mode: firing thresholds of the hidden layer."""


def mnist_like(rng: np.random.Generator, batch: int) -> np.ndarray:
    """Random int8 images with about 80% zero pixels and positive intensities elsewhere."""
    pixels = rng.integers(1, 128, (batch, N_IN))
    return np.where(rng.random((batch, N_IN)) < 0.2, pixels, 0).astype(np.int8)


def make_network(rng: np.random.Generator) -> Network:
    w1 = rng.integers(-127, 128, (N_HID, N_IN)).astype(np.int8)
    w2 = rng.integers(-127, 128, (N_OUT, N_HID)).astype(np.int8)
    b1 = rng.integers(-2000, 2000, N_HID).astype(np.int32)
    b2 = rng.integers(-2000, 2000, N_OUT).astype(np.int32)
    hidden = mnist_like(rng, 512).astype(np.int64) @ w1.T.astype(np.int64) + b1
    high = np.maximum(np.percentile(hidden, 99, axis=0), 1.0)
    multiplier = np.round(127 / high * 2**SHIFT).astype(np.int32)
    threshold = np.maximum(np.percentile(np.abs(hidden), 90, axis=0), 1.0).astype(np.int32)
    return Network(w1, b1, w2, b2, multiplier, threshold)


def make_program(net: Network, mapping: str, rate: bool) -> Program:
    """The MLP as a SpikeCore program; ``seed`` maps one neuron per core, interleaved per core."""

    def fire(core: int, base: int, count: int, dst: int, row: int) -> Fire:
        if rate:
            return Fire(core, base, count, dst, 1, row, FireMode.BINARY, ResetMode.SUBTRACT, 0, 0, 0, init_half=True)
        return Fire(core, base, count, dst, 1, row, FireMode.GRADED, ResetMode.ZERO, SHIFT, 0, 127)

    instructions: list[Instruction] = []
    if mapping == "dense":
        target = TARGETS["spikecore-v1"]
        instructions += [Acc(0, 0, N_HID, 0, N_IN, 0), AccBias(0, 0, N_HID, 0), fire(0, 0, N_HID, N_IN, 0)]
        instructions += [Acc(1, 0, N_OUT, N_IN, N_HID, 1), AccBias(1, 0, N_OUT, 2)]
        outputs = [OutputSpec(1, 0, N_OUT)]
    else:
        target = TARGETS["spikecore-v1-seed"]
        for j in range(N_HID):
            instructions += [Acc(j, 0, 1, 0, N_IN, 0, row=j), AccBias(j, 0, 1, 0, row=j), fire(j, 0, 1, N_IN + j, j)]
        for k in range(N_OUT):
            instructions += [Acc(N_HID + k, 0, 1, N_IN, N_HID, 1, row=k), AccBias(N_HID + k, 0, 1, 2, row=k)]
        outputs = [OutputSpec(N_HID + k, 0, 1) for k in range(N_OUT)]
    params = {0: net.b1, 1: net.threshold if rate else net.multiplier, 2: net.b2}
    return Program(instructions + [Halt()], N_IN, outputs, {0: net.w1, 1: net.w2}, params, target)


def limit(net: Network, rate: bool, timesteps: int) -> Callable[[np.ndarray], np.ndarray]:
    """The same integer network as plain float32 BLAS matmuls (exact here: |sums| < 2^24)."""
    w1t = np.ascontiguousarray(net.w1.T, dtype=np.float32)
    w2t = np.ascontiguousarray(net.w2.T, dtype=np.float32)
    b1, b2 = net.b1.astype(np.int64), net.b2.astype(np.int64)
    multiplier, threshold = net.multiplier.astype(np.int64), net.threshold.astype(np.int64)

    def graded(x: np.ndarray) -> np.ndarray:
        hidden = (x.astype(np.float32) @ w1t).astype(np.int64) + b1
        payload = np.clip((hidden * multiplier + (1 << (SHIFT - 1))) >> SHIFT, 0, 127).astype(np.float32)
        return (payload @ w2t).astype(np.int64) + b2

    def rate_coded(x: np.ndarray) -> np.ndarray:
        current = (x.astype(np.float32) @ w1t).astype(np.int64) + b1
        v1 = np.repeat((threshold >> 1)[None, :], x.shape[0], axis=0)
        v2 = np.zeros((x.shape[0], N_OUT), np.int64)
        for _ in range(timesteps):
            v1 += current
            spikes = v1 >= threshold
            v1 -= spikes * threshold
            v2 += (spikes.astype(np.float32) @ w2t).astype(np.int64) + b2
        return v2

    return rate_coded if rate else graded


def float_model(net: Network) -> Callable[[np.ndarray], np.ndarray]:
    """The float 784-64-10 MLP in PyTorch with the network's weights (inputs scaled to [0, 1])."""
    model = torch.nn.Sequential(torch.nn.Linear(N_IN, N_HID), torch.nn.ReLU(), torch.nn.Linear(N_HID, N_OUT)).eval()
    with torch.no_grad():
        for layer, w, b in ((model[0], net.w1, net.b1), (model[2], net.w2, net.b2)):
            layer.weight.copy_(torch.from_numpy(w.astype(np.float32)))
            layer.bias.copy_(torch.from_numpy(b.astype(np.float32)))

    def forward(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(x.astype(np.float32) / 127)).numpy()

    return forward


def best_times(*functions: Callable[[], object], min_total_s: float = 0.5, max_rounds: int = 30) -> list[float]:
    """Best wall time of each function, called in turn (at least 5 rounds, until min_total_s has
    passed): alternating exposes all of them to the same background load, so their ratios are fair."""
    times: list[list[float]] = [[] for _ in functions]
    rounds = 0
    while rounds < 5 or (sum(map(sum, times)) < min_total_s and rounds < max_rounds):
        for fn, spent in zip(functions, times):
            start = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - start)
        rounds += 1
    return [min(spent) for spent in times]


HEADER = (
    f"{'mapping':8} {'mode':7} {'T':>3} {'batch':>6} {'model ms':>9} {'limit ms':>9} {'torch ms':>9} "
    f"{'samples/s':>10} {'syn ops/s':>9} {'/limit':>7} {'/torch':>7}"
)


def measure(
    batches: tuple[int, ...] = (1, 100, 10_000),
    mappings: tuple[str, ...] = ("dense", "seed"),
    modes: tuple[tuple[str, int], ...] = (("graded", 1), ("rate", 8), ("rate", 32)),
    min_total_s: float = 0.5,
) -> list[dict[str, object]]:
    """Measure every (mapping, mode, timesteps, batch), print a table row each, return the rows."""
    rng = np.random.default_rng(0)
    net = make_network(rng)
    inputs = mnist_like(rng, max(batches))
    floats = float_model(net)
    rows: list[dict[str, object]] = []
    print(HEADER)
    print("-" * len(HEADER))
    for mapping in mappings:
        for mode, timesteps in modes:
            rate = mode == "rate"
            program = make_program(net, mapping, rate)
            cpu = SpikeCoreCPU(target=program.target)
            cpu.load_program(program)
            reference = limit(net, rate, timesteps)
            for batch in batches:
                x = inputs[:batch]
                cpu.run(x, timesteps)
                if not np.array_equal(cpu.outputs(), reference(x)):
                    raise AssertionError(f"{mapping} {mode} batch {batch}: model and limit disagree")
                model_s, limit_s, torch_s = best_times(
                    functools.partial(cpu.run, x, timesteps),
                    functools.partial(reference, x),
                    functools.partial(floats, x),
                    min_total_s=min_total_s,
                )
                row: dict[str, object] = {
                    "mapping": mapping,
                    "mode": mode,
                    "timesteps": timesteps,
                    "batch": batch,
                    "instructions": len(program),
                    "model_s": model_s,
                    "limit_s": limit_s,
                    "torch_float_s": torch_s,
                    "samples_per_s": batch / model_s,
                    "synaptic_ops_per_s": cpu.stats.synaptic_ops / model_s,
                    "ratio_to_limit": model_s / limit_s,
                    "ratio_to_torch_float": model_s / torch_s,
                }
                rows.append(row)
                print(
                    f"{mapping:8} {mode:7} {timesteps:>3} {batch:>6} {model_s * 1e3:>9.3f} {limit_s * 1e3:>9.3f} "
                    f"{torch_s * 1e3:>9.3f} {batch / model_s:>10.4g} {cpu.stats.synaptic_ops / model_s:>9.3g} "
                    f"{model_s / limit_s:>7.2f} {model_s / torch_s:>7.2f}"
                )
    for r in rows:
        if r["mode"] == "graded" and r["batch"] == max(batches):
            print(
                f"goal ({r['mapping']} mapping, graded, T=1, batch {r['batch']}): {r['ratio_to_limit']:.2f}x the "
                "float32 BLAS limit (target <= 4x)"
            )
    return rows


if __name__ == "__main__":
    measure()
