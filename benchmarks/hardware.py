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
of several alternating repeats. Run with ``python -m benchmarks.hardware`` from outside the repository root.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from spikeir.hardware_model import SpikeCoreCPU
from spikeir.isa import Acc, AccBias, Fire, FireMode, Halt, Instruction, OutputSpec, Program, ResetMode
from spikeir.target import TARGETS

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


def best_times(first: Callable[[], object], second: Callable[[], object], min_total_s: float = 0.5, max_rounds: int = 30) -> tuple[float, float]:
    """Best wall times of two functions called alternately (at least 5 rounds, until min_total_s has
    passed): alternating exposes both to the same background load, so their ratio is fair."""
    times: tuple[list[float], list[float]] = ([], [])
    rounds = 0
    while rounds < 5 or (sum(times[0]) + sum(times[1]) < min_total_s and rounds < max_rounds):
        for fn, spent in zip((first, second), times):
            start = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - start)
        rounds += 1
    return min(times[0]), min(times[1])


def main(batches: tuple[int, ...] = (1, 100, 10_000), mappings: tuple[str, ...] = ("dense", "seed")) -> dict[str, object]:
    """Measure every (mapping, mode, batch), print a table, return the results."""
    rng = np.random.default_rng(0)
    net = make_network(rng)
    inputs = mnist_like(rng, max(batches))
    rows: list[dict[str, object]] = []
    header = f"{'mapping':8} {'mode':7} {'T':>3} {'batch':>6} {'model ms':>9} {'limit ms':>9} {'samples/s':>11} {'syn ops/s':>10} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for mapping in mappings:
        for rate, timesteps in ((False, 1), (True, 8), (True, 32)):
            program = make_program(net, mapping, rate)
            cpu = SpikeCoreCPU(target=program.target)
            cpu.load_program(program)
            reference = limit(net, rate, timesteps)
            for batch in batches:
                x = inputs[:batch]
                cpu.run(x, timesteps)
                if not np.array_equal(cpu.outputs(), reference(x)):
                    raise AssertionError(f"{mapping} {'rate' if rate else 'graded'} batch {batch}: model and limit disagree")
                model_s, limit_s = best_times(lambda: cpu.run(x, timesteps), lambda: reference(x))
                row: dict[str, object] = {
                    "mapping": mapping,
                    "mode": "rate" if rate else "graded",
                    "timesteps": timesteps,
                    "batch": batch,
                    "instructions": len(program),
                    "model_s": model_s,
                    "limit_s": limit_s,
                    "samples_per_s": batch / model_s,
                    "synaptic_ops_per_s": cpu.stats.synaptic_ops / model_s,
                    "ratio": model_s / limit_s,
                }
                rows.append(row)
                print(
                    f"{mapping:8} {row['mode']:7} {timesteps:>3} {batch:>6} {model_s * 1e3:>9.3f} {limit_s * 1e3:>9.3f} "
                    f"{batch / model_s:>11.4g} {cpu.stats.synaptic_ops / model_s:>10.3g} {model_s / limit_s:>6.2f}"
                )
    goal = [r for r in rows if r["mode"] == "graded" and r["batch"] == 10_000]
    for r in goal:
        print(f"goal ({r['mapping']} mapping, graded, T=1, batch 10000): {r['ratio']:.2f}x the float32 BLAS limit (target <= 4x)")
    return {"benchmark": "hardware_model", "rows": rows}


if __name__ == "__main__":
    main()
