"""CNNs written with NNBuilder compile to SpikeCore and run bit-exactly in graded T=1 mode.

The reference is independent of the lowering, emission and hardware model: it reads the int8/int32
constants, multipliers and shifts of the quantized IR (the `spikecore-quantize` stage) and computes
every conv, pooling, add and dense layer with its own loops in numpy int64.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.ir import Operation, SSAValue
from xdsl.parser import Parser

import spikeir
from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.isa import AccConv
from spikeir.dialects import quant, spikeir_context
from spikeir.frontends.builder import NNBuilder
from spikeir.ir.arrays import to_numpy
from spikeir.numerics.quantization import quantize_to_int8

RNG = np.random.default_rng(14)
Array = np.ndarray[Any, Any]


# --- the independent integer reference ---------------------------------------------------------------


def _ref_conv(
    x: Array, w: Array, stride: tuple[int, int], pad: tuple[int, int], dil: tuple[int, int], groups: int
) -> Array:
    """Direct convolution: one shifted slice per kernel tap, summed in int64."""
    b, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.zeros((b, c, h + 2 * pad[0], wd + 2 * pad[1]), np.int64)
    xp[:, :, pad[0] : pad[0] + h, pad[1] : pad[1] + wd] = x
    oh = (h + 2 * pad[0] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * pad[1] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((b, o, oh, ow), np.int64)
    og = o // groups
    for oc in range(o):
        g = oc // og
        for ic in range(cg):
            for ky in range(kh):
                for kx in range(kw):
                    y0, x0 = ky * dil[0], kx * dil[1]
                    tap = xp[:, g * cg + ic, y0 : y0 + stride[0] * oh : stride[0], x0 : x0 + stride[1] * ow : stride[1]]
                    out[:, oc] += int(w[oc, ic, ky, kx]) * tap
    return out


def _ref_requantize(acc: Array, m: Array, shift: int, lo: int) -> Array:
    prod = acc.astype(np.int64) * m.astype(np.int64)
    if shift:
        prod = (prod + (1 << (shift - 1))) >> shift
    return np.clip(prod, lo, 127)


def _pairs(attr: Any) -> tuple[int, int]:
    values = tuple(int(v) for v in attr.get_values())
    return values[0], values[1]


def _ref_op(op: Operation, env: dict[SSAValue, Array]) -> Array | None:
    """One quant op on int64 arrays; None for the ops the reference skips."""
    if isinstance(op, quant.ConstantOp):
        return to_numpy(op.dense).astype(np.int64)
    if isinstance(op, quant.DenseOp):
        x, w, b = (env[v] for v in op.operands)
        return x @ w.T + b
    if isinstance(op, quant.Conv2dOp):
        x, w, b = (env[v] for v in op.operands)
        p = op.params
        return _ref_conv(x, w, p.stride, p.padding, p.dilation, p.groups) + b[None, :, None, None]
    if isinstance(op, quant.Pool2dOp):
        (kh, kw), stride, pad = _pairs(op.kernel), _pairs(op.strides), _pairs(op.padding)
        c = env[op.input].shape[1]
        return _ref_conv(env[op.input], np.ones((c, 1, kh, kw), np.int64), stride, pad, (1, 1), c)
    if isinstance(op, quant.AddOp):
        return env[op.lhs] + env[op.rhs]
    if isinstance(op, quant.ReshapeOp):
        x = env[op.input]
        return x.reshape(x.shape[0], *op.result.type.get_shape()[1:])  # type: ignore[attr-defined]
    if isinstance(op, quant.RequantizeOp):
        acc = env[op.input]
        m = np.asarray(op.multipliers, np.int64)
        m = m.reshape((1, -1) + (1,) * (acc.ndim - 2)) if m.size > 1 else m
        users = [u.operation for u in op.result.uses]
        relu = any(isinstance(u, quant.ReluOp) for u in users)
        return _ref_requantize(acc, m, op.shift.value.data, 0 if relu else -128)
    if isinstance(op, quant.ReluOp):
        return env[op.input]
    return None


def integer_reference(quant_ir: str, x: Array) -> tuple[Array, float]:
    """The region's int32 output accumulator for float inputs ``x`` (the region's input), and its scale."""
    module = Parser(spikeir_context(), quant_ir).parse_module()
    (region,) = [f for f in module.ops if isinstance(f, func.FuncOp) and "codegen" in f.attributes]
    env: dict[SSAValue, Array] = {}
    for op in region.body.block.ops:
        if isinstance(op, quant.QuantizeOp):
            env[op.result] = quantize_to_int8(x, quant.quantized_element(op.result).scale_values[0]).astype(np.int64)
        elif isinstance(op, quant.DequantizeOp):
            return env[op.input], quant.quantized_element(op.input).scale_values[0]
        else:
            value = _ref_op(op, env)
            if value is not None:
                env[op.results[0]] = value
    raise AssertionError("the region has no output")


# --- networks ------------------------------------------------------------------------------------------


def _conv(b: NNBuilder, x: SSAValue, cin: int, cout: int, k: int, name: str, **kw: Any) -> SSAValue:
    w = RNG.standard_normal((cout, cin, k, k)) * (1.5 / np.sqrt(cin * k * k))
    return b.channel_bias(b.conv2d(x, w, layer=name, **kw), RNG.standard_normal(cout) * 0.05, name)


def small_cnn() -> Any:
    """conv-relu-avgpool-conv-relu-sumpool-flatten-dense on 1x12x12."""
    b = NNBuilder()
    x = b.input((1, 1, 12, 12), "x")
    h = b.pool2d(b.relu(_conv(b, x, 1, 4, 3, "c1", padding=1)), "avg", 2, layer="p1")
    h = b.pool2d(b.relu(_conv(b, h, 4, 6, 3, "c2")), "sum", 2, layer="p2")
    h = b.reshape(h, (1, -1), "flatten", None)
    out = b.bias_add(b.dense(h, RNG.standard_normal((5, 24)) * 0.3, "fc", None), RNG.standard_normal(5) * 0.1, None)
    return b.finish([out])


def resnet_block() -> Any:
    """A stem conv, then conv-bn-relu-conv-bn + identity, relu, then global average pooling and a dense head."""
    b = NNBuilder()
    x = b.input((1, 3, 8, 8), "x")
    stem = b.relu(_conv(b, x, 3, 8, 3, "stem", padding=1))

    def bn(v: SSAValue, name: str) -> SSAValue:
        return b.batch_norm(
            v,
            RNG.uniform(0.5, 1.5, 8),
            RNG.standard_normal(8) * 0.1,
            RNG.standard_normal(8) * 0.1,
            RNG.uniform(0.5, 2.0, 8),
            1e-5,
            name,
        )

    h = b.relu(bn(b.conv2d(stem, RNG.standard_normal((8, 8, 3, 3)) * 0.15, padding=1, layer="conv1"), "bn1"))
    h = bn(b.conv2d(h, RNG.standard_normal((8, 8, 3, 3)) * 0.15, padding=1, layer="conv2"), "bn2")
    h = b.relu(b.add(h, stem))
    h = b.reshape(b.global_avg_pool(h, "gap"), (1, -1), "flatten", None)
    return b.finish([b.dense(h, RNG.standard_normal((4, 8)), "fc", None)])


def resnet_block_on_input() -> Any:
    """conv-relu-conv + identity, relu, global average pooling and a dense head, where the identity is
    the model input itself (it is used twice in the region)."""
    b = NNBuilder()
    x = b.input((1, 4, 6, 6), "x")
    h = b.relu(_conv(b, x, 4, 4, 3, "conv1", padding=1))
    h = b.relu(b.add(_conv(b, h, 4, 4, 3, "conv2", padding=1), x))
    h = b.reshape(b.global_avg_pool(h, "gap"), (1, -1), "flatten", None)
    return b.finish([b.dense(h, RNG.standard_normal((3, 4)), "fc", None)])


def nmnist_cnn() -> Any:
    """The NIR paper's N-MNIST CNN shape (padding 1: 2x34x34 -> 16x16x16 -> 16x8x8 -> 8x4x4 = 128; IF neurons
    are ReLUs in graded mode)."""
    b = NNBuilder()
    x = b.input((1, 2, 34, 34), "events")
    h = b.relu(_conv(b, x, 2, 16, 5, "conv1", stride=2, padding=1))
    h = b.pool2d(b.relu(_conv(b, h, 16, 16, 3, "conv2", padding=1)), "sum", 2, layer="pool1")
    h = b.pool2d(b.relu(_conv(b, h, 16, 8, 3, "conv3", padding=1)), "sum", 2, layer="pool2")
    h = b.reshape(h, (1, -1), "flatten", None)
    h = b.relu(b.bias_add(b.dense(h, RNG.standard_normal((256, 128)) * 0.1, "fc1", None), np.zeros(256), None))
    return b.finish([b.dense(h, RNG.standard_normal((10, 256)) * 0.1, "fc2", None)])


def _check_bit_exact(compiled: Any, x: Array) -> None:
    acc, scale = integer_reference(compiled.stages["spikecore-quantize"], x)
    out = compiled.run(x)
    np.testing.assert_array_equal(np.rint(out / scale).astype(np.int64), acc)


@pytest.mark.slow
def test_small_cnn_graded_is_bit_exact_with_the_integer_reference() -> None:
    calibration = RNG.uniform(0, 1, (64, 1, 12, 12)).astype(np.float32)
    compiled = spikeir.compile(small_cnn(), calibration=calibration, record=True)
    assert compiled.stages["partition-for-spikecore"].count('codegen = "spikecore"') == 1
    assert "spikecore.acc_conv" in compiled.stages["lower-quant-to-spikecore"]
    _check_bit_exact(compiled, RNG.uniform(0, 1, (32, 1, 12, 12)).astype(np.float32))


@pytest.mark.slow
def test_resnet_basic_block_is_one_region_and_bit_exact() -> None:
    calibration = RNG.standard_normal((64, 3, 8, 8)).astype(np.float32)
    module = resnet_block()
    compiled = spikeir.compile(module, calibration=calibration, record=True)
    partitioned = compiled.stages["partition-for-spikecore"]
    assert partitioned.count('codegen = "spikecore"') == 1 and "nn.batch_norm" not in partitioned
    assert "quant.add" in compiled.stages["spikecore-quantize"]
    x = RNG.standard_normal((32, 3, 8, 8)).astype(np.float32)
    _check_bit_exact(compiled, x)


@pytest.mark.slow
def test_resnet_block_whose_identity_is_the_model_input_is_one_input_port_and_bit_exact() -> None:
    compiled = spikeir.compile(
        resnet_block_on_input(), calibration=RNG.uniform(0, 1, (64, 4, 6, 6)).astype(np.float32), record=True
    )
    assert compiled.stages["spikecore-quantize"].count("quant.quantize") == 1
    _check_bit_exact(compiled, RNG.uniform(0, 1, (16, 4, 6, 6)).astype(np.float32))


@pytest.mark.slow
def test_nmnist_cnn_places_on_spikecore_v1_and_runs_streamed_events() -> None:
    events = (RNG.uniform(size=(32, 2, 34, 34)) < 0.1).astype(np.float32)
    compiled = spikeir.compile(nmnist_cnn(), calibration=events, record=True)
    program = compiled.program
    program.validate()
    cores = {i.core for i in program.instructions if hasattr(i, "core")}
    assert len(cores) <= program.target.cores
    assert program.target.name == "spikecore-v1"
    x = (RNG.uniform(size=(8, 2, 34, 34)) < 0.1).astype(np.float32)
    _check_bit_exact(compiled, x)
    # Streamed: one event frame per timestep; a single frame computes what the direct input does.
    payloads = quantize_to_int8(x.reshape(8, -1), program.input_scale)
    streamed = dataclasses.replace(program, streamed_input=True)
    direct_cpu, stream_cpu = SpikeCoreCPU(target=program.target), SpikeCoreCPU(target=streamed.target)
    direct_cpu.load_program(program)
    stream_cpu.load_program(streamed)
    direct_cpu.run(payloads)
    stream_cpu.run(payloads[:, None, :])
    np.testing.assert_array_equal(stream_cpu.outputs(), direct_cpu.outputs())
    frames = (RNG.uniform(size=(8, 6, payloads.shape[1])) < 0.1).astype(np.int8)
    stream_cpu.run(frames)
    assert stream_cpu.outputs().shape == direct_cpu.outputs().shape


def test_lenet_sized_cnn_compiles_quickly() -> None:
    """LeNet-sized (1x28x28: conv 6 5x5, avg pool, conv 16 5x5, avg pool, 256-120-84-10) after imports."""
    b = NNBuilder()
    x = b.input((1, 1, 28, 28), "x")
    h = b.pool2d(b.relu(_conv(b, x, 1, 6, 5, "c1")), "avg", 2)
    h = b.pool2d(b.relu(_conv(b, h, 6, 16, 5, "c2")), "avg", 2)
    h = b.reshape(h, (1, -1), "flatten", None)
    for index, (n_in, n_out) in enumerate(((256, 120), (120, 84))):
        h = b.relu(
            b.bias_add(b.dense(h, RNG.standard_normal((n_out, n_in)) * 0.1, f"fc{index}", None), np.zeros(n_out), None)
        )
    module = b.finish([b.dense(h, RNG.standard_normal((10, 84)) * 0.1, "out", None)])
    calibration = RNG.uniform(0, 1, (100, 1, 28, 28)).astype(np.float32)
    spikeir.compile(small_cnn(), calibration=calibration[:4, :, :12, :12])  # the passes' lazy imports
    start = time.perf_counter()
    compiled = spikeir.compile(module, calibration=calibration)
    seconds = time.perf_counter() - start
    assert any(isinstance(i, AccConv) for i in compiled.program.instructions)
    assert seconds < 2.0, f"LeNet compile took {seconds:.2f} s"
