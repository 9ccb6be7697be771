"""The SpikeCore lowering end to end: quant IR -> spikecore IR -> placed -> ISA -> hardware model.

Graded mode at T = 1 must reproduce the integer network bit for bit, so every comparison here is
exact: the hardware model's output accumulators against numpy (tests/spikecore_ir.reference) and
against the quantized region as the numpy interpreter runs it.
"""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import PassFailedException

from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.target import SPIKECORE_V1
from spikeir.dialects import nn, quant, spikecore
from spikeir.ir.arrays import to_numpy
from spikeir.ir.emit import program_from_module
from spikeir.passes.convert_to_snn import ConvertToSnnPass, thresholds
from spikeir.passes.diagnostics import REMARKS, print_remarks
from spikeir.passes.lower_quant_to_spikecore import LowerQuantToSpikeCorePass
from spikeir.passes.partition_for_spikecore import PartitionForSpikeCorePass, annotate_host_ops
from spikeir.passes.place import PlacePass
from support.spikecore_ir import QLayer, parse, quant_module, random_layers, reference

CTX = Context()


def compile_graded(module: ModuleOp, neurons_per_core: int = 0) -> ModuleOp:
    LowerQuantToSpikeCorePass().apply(CTX, module)
    PlacePass(neurons_per_core=neurons_per_core).apply(CTX, module)
    module.verify()
    return module


def run_hw(module: ModuleOp, x: np.ndarray, timesteps: int = 1) -> np.ndarray:
    program = program_from_module(module)
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    cpu.run(x, timesteps)
    return cpu.outputs()


def test_hand_computed_two_layer_network() -> None:
    """Every number worked out by hand (docs/isa.md semantics)."""
    hidden = QLayer(
        weights=np.array([[1, 2, 3, 4], [5, 5, 5, 5], [-1, 0, 1, 0]], np.int8),
        bias=np.array([10, 20, -30], np.int32),
        multipliers=(1, 2, 3),
        shift=4,
        weight_scales=(0.01, 0.02, 0.03),
    )
    out = QLayer(weights=np.array([[1, 2, 3], [4, -5, 6]], np.int8), bias=np.array([7, -8], np.int32))
    module = compile_graded(quant_module([hidden, out]), neurons_per_core=2)
    x = np.array([10, -20, 30, 127], np.int8)
    # acc0 = [10-40+90+508+10, 5*(10-20+30+127)+20, -10+30-30] = [578, 755, -10]
    # fire: (578*1+8)>>4 = 36, (755*2+8)>>4 = 94, (-30+8)>>4 = -2 -> clamp 0
    # out = [36+188+0+7, 144-470+0-8] = [231, -334]
    assert run_hw(module, x).tolist() == [231, -334]
    program = program_from_module(module)
    assert [o.scale for o in program.outputs] == [pytest.approx(0.05 * 0.01)]
    assert program.input_scale == 1 / 128


def test_lowered_structure_and_tables_in_layer_order() -> None:
    layers = random_layers(np.random.default_rng(0), [6, 5, 4, 3])
    module = quant_module(layers)
    LowerQuantToSpikeCorePass().apply(CTX, module)
    module.verify()
    (program,) = [op for op in module.ops if isinstance(op, spikecore.ProgramOp)]
    tables = [op.sym_name.data for op in program.body.ops if isinstance(op, spikecore.SynapsesOp | spikecore.ParamsOp)]
    assert tables == ["w0", "b0", "m0", "w1", "b1", "m1", "w2", "b2"]
    fires = [op for op in program.body.ops if isinstance(op, spikecore.FireOp)]
    clamps = [(f.lo.value.data, f.hi.value.data) for f in fires if f.lo is not None and f.hi is not None]
    assert clamps == [(0, 127), (0, 127)]
    assert [f.unit.value.data for f in fires] == [layers[0].out_scale, layers[1].out_scale]
    m0 = next(op for op in program.body.ops if isinstance(op, spikecore.ParamsOp) and op.sym_name.data == "m0")
    assert to_numpy(m0.dense).tolist() == [layers[0].multipliers[0]] * 5
    (launch,) = [op for op in module.walk() if isinstance(op, spikecore.LaunchOp)]
    assert launch.program.root_reference.data == "spikecore_0"


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    widths=st.lists(st.integers(1, 40), min_size=2, max_size=4),
    relu=st.booleans(),
    npc=st.sampled_from([0, 1, 3, 7]),
)
def test_graded_program_is_bit_exact(seed: int, widths: list[int], relu: bool, npc: int) -> None:
    """Any layer widths, signed or ReLU hidden layers, any split over cores: exact integers."""
    rng = np.random.default_rng(seed)
    layers = random_layers(rng, widths, relu)
    module = compile_graded(quant_module(layers), neurons_per_core=npc)
    x = rng.integers(-128, 128, (5, widths[0])).astype(np.int8)
    np.testing.assert_array_equal(run_hw(module, x), reference(layers, x))


def test_seed_sized_network_matches_interpreter() -> None:
    """784-512-256-128-10 on the default target: the hardware model's accumulators equal the
    quantized region evaluated by the numpy interpreter (an independent path through quant IR)."""
    from spikeir.ir.interpreter import Interpreter

    rng = np.random.default_rng(1)
    layers = random_layers(rng, [784, 512, 256, 128, 10])
    module = quant_module(layers)
    x_float = rng.uniform(-1, 1, (8, 784)).astype(np.float32)
    trace = Interpreter(module).trace("spikecore_0", x_float)
    region = next(op for op in module.ops if isinstance(op, func.FuncOp) and op.sym_name.data == "spikecore_0")
    ops = list(region.body.block.ops)
    q_in = trace.values[next(op for op in ops if isinstance(op, quant.QuantizeOp)).result]
    acc_out = trace.values[[op for op in ops if isinstance(op, quant.DenseOp)][-1].result]

    compile_graded(module)
    program = program_from_module(module)
    assert sorted(program.synapse_bytes_per_core()) == list(range(7))  # 4 + 1 + 1 + 1 cores
    np.testing.assert_array_equal(run_hw(module, q_in.astype(np.int8)), acc_out)
    np.testing.assert_array_equal(acc_out, reference(layers, q_in))


def test_partition_then_real_quantize_then_hardware() -> None:
    """nn graph -> partition -> quantize (calibrated) -> lower -> place -> hardware: the chip's
    outputs are the quantized region's accumulators, and close to the float network."""
    from spikeir.ir.interpreter import Interpreter
    from spikeir.passes.quantize import quantize_module

    rng = np.random.default_rng(2)
    w0, b0 = rng.normal(0, 0.3, (16, 12)), rng.normal(0, 0.1, 16)
    w1, b1 = rng.normal(0, 0.3, (5, 16)), rng.normal(0, 0.1, 5)
    text = f"""
    func.func @main(%x: tensor<1x12xf32>) -> tensor<1x5xf32> {{
      %w0 = arith.constant {_dense(w0)}
      %b0 = arith.constant {_dense(b0)}
      %w1 = arith.constant {_dense(w1)}
      %b1 = arith.constant {_dense(b1)}
      %0 = nn.fused_dense %x, %w0, %b0 activation "relu" layer "fc1" : (tensor<1x12xf32>, tensor<16x12xf32>, tensor<16xf32>) -> tensor<1x16xf32>
      %1 = nn.fused_dense %0, %w1, %b1 layer "fc2" : (tensor<1x16xf32>, tensor<5x16xf32>, tensor<5xf32>) -> tensor<1x5xf32>
      %2 = nn.softmax %1 axis(-1) : tensor<1x5xf32>
      func.return %2 : tensor<1x5xf32>
    }}"""
    module = parse(text)
    x = rng.uniform(-1, 1, (64, 12)).astype(np.float32)
    float_logits = np.maximum(x @ w0.T + b0, 0) @ w1.T + b1
    PartitionForSpikeCorePass().apply(CTX, module)
    quantize_module(module, x)
    interp = Interpreter(module)
    region = next(op for op in module.ops if isinstance(op, func.FuncOp) and op.sym_name.data == "spikecore_0")
    trace = interp.trace("spikecore_0", x)
    ops = list(region.body.block.ops)
    q_in = trace.values[next(op for op in ops if isinstance(op, quant.QuantizeOp)).result]
    acc_out = trace.values[[op for op in ops if isinstance(op, quant.DenseOp)][-1].result]

    compile_graded(module)
    program = program_from_module(module)
    out = run_hw(module, q_in.astype(np.int8))
    np.testing.assert_array_equal(out, acc_out)
    real = out * program.outputs[0].scale
    assert np.abs(real - float_logits).max() < 0.05 * np.abs(float_logits).max()


def _dense(a: np.ndarray) -> str:
    shape = "x".join(str(d) for d in a.shape)
    return f"dense<{np.asarray(a, np.float32).tolist()}> : tensor<{shape}xf32>"


_HOST_OPS = """
    func.func @main(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
      %0 = nn.softmax %x axis(-1) : tensor<1x2xf32>
      %1 = nn.reshape %0 : tensor<1x2xf32> -> tensor<1x2xf32>
      func.return %1 : tensor<1x2xf32>
    }"""


def test_partition_remarks_go_where_the_application_asks() -> None:
    module = parse(_HOST_OPS)
    stream = io.StringIO()
    handler = print_remarks(stream)
    try:
        PartitionForSpikeCorePass().apply(CTX, module)
    finally:
        REMARKS.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("remark: nn.softmax stays on the host: needs exp")
    assert lines[1].startswith("remark: nn.reshape stays on the host: layout only")
    assert all("host_reason" in op.attributes for op in module.walk() if isinstance(op, nn.SoftmaxOp | nn.ReshapeOp))


def test_partition_remarks_are_log_records_naming_their_op(caplog: pytest.LogCaptureFixture) -> None:
    module = parse(_HOST_OPS)
    with caplog.at_level(logging.INFO, logger=REMARKS.name):
        annotate_host_ops(module)
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        "nn.softmax stays on the host",
        "nn.reshape stays on the host",
    ]
    assert [type(r.__dict__["op"]) for r in caplog.records] == [nn.SoftmaxOp, nn.ReshapeOp]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=REMARKS.name):
        annotate_host_ops(parse(_HOST_OPS), remarks=False)
    assert not caplog.records


def test_the_python_api_writes_nothing_to_stderr_unasked(capfd: pytest.CaptureFixture[str]) -> None:
    """Remarks are log records: without a handler for them (or logging configured at INFO), nothing is printed."""
    module = parse(_HOST_OPS)
    PartitionForSpikeCorePass().apply(CTX, module)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert all("host_reason" in op.attributes for op in module.walk() if isinstance(op, nn.SoftmaxOp | nn.ReshapeOp))


def test_lowering_rejects_a_requantized_output() -> None:
    module = quant_module(random_layers(np.random.default_rng(3), [3, 2, 2]))
    region = next(op for op in module.ops if isinstance(op, func.FuncOp) and op.sym_name.data == "spikecore_0")
    deq = next(op for op in region.body.block.ops if isinstance(op, quant.DequantizeOp))
    relu = next(op for op in region.body.block.ops if isinstance(op, quant.ReluOp))
    deq.operands[0] = relu.result
    with pytest.raises(PassFailedException, match="must be its last layer's int32 accumulator"):
        LowerQuantToSpikeCorePass().apply(CTX, module)


# -- rate mode --------------------------------------------------------------------------------


def test_thresholds_equation() -> None:
    units = np.array([7.8125e-05, 1.5625e-04, 1.0])
    assert thresholds(127, 0.05, units).tolist() == [81280, 40640, 6]
    assert thresholds(127, 1e-6, np.array([1.0])).tolist() == [1]  # never below 1


def test_rate_mode_approximates_graded_activations() -> None:
    """A ReLU layer's spike rate x lambda approaches its graded activation as T grows; the output
    V * unit / T approaches the graded network's output (error ~ 1 / T per layer)."""
    rng = np.random.default_rng(4)
    layers = random_layers(rng, [20, 30, 4])
    graded = compile_graded(quant_module(layers))
    x = rng.integers(-128, 128, (50, 20)).astype(np.int8)
    graded_real = run_hw(graded, x) * program_from_module(graded).outputs[0].scale

    rate = quant_module(layers)
    LowerQuantToSpikeCorePass().apply(CTX, rate)
    ConvertToSnnPass().apply(CTX, rate)
    PlacePass().apply(CTX, rate)
    rate.verify()
    program = program_from_module(rate)
    errors = []
    for timesteps in (8, 64, 512):
        cpu = SpikeCoreCPU(target=program.target)
        cpu.load_program(program)
        cpu.run(x, timesteps)
        real = cpu.outputs() * program.outputs[0].scale / timesteps
        errors.append(np.abs(real - graded_real).mean())
    scale = np.abs(graded_real).mean()
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.03 * scale, (errors, scale)


def test_rate_mode_rejects_signed_layers() -> None:
    module = quant_module(random_layers(np.random.default_rng(5), [3, 2, 2], relu=False))
    LowerQuantToSpikeCorePass().apply(CTX, module)
    with pytest.raises(PassFailedException, match="rate mode needs ReLU layers"):
        ConvertToSnnPass().apply(CTX, module)


# -- the whole pipeline -------------------------------------------------------------------------


def _mlp_text(rng: np.random.Generator) -> tuple[str, list[np.ndarray]]:
    w0, b0 = rng.normal(0, 0.3, (16, 12)), rng.normal(0, 0.1, 16)
    w1, b1 = rng.normal(0, 0.3, (5, 16)), rng.normal(0, 0.1, 5)
    text = f"""
    func.func @main(%x: tensor<1x3x4xf32>) -> tensor<1x5xf32> {{
      %w0 = arith.constant {_dense(w0)}
      %b0 = arith.constant {_dense(b0)}
      %w1 = arith.constant {_dense(w1)}
      %b1 = arith.constant {_dense(b1)}
      %f = nn.batch_flatten %x : tensor<1x3x4xf32> -> tensor<1x12xf32>
      %0 = nn.dense %f, %w0 layer "fc1" : (tensor<1x12xf32>, tensor<16x12xf32>) -> tensor<1x16xf32>
      %1 = nn.bias_add %0, %b0 : (tensor<1x16xf32>, tensor<16xf32>) -> tensor<1x16xf32>
      %2 = nn.relu %1 : tensor<1x16xf32>
      %3 = nn.dense %2, %w1 layer "fc2" : (tensor<1x16xf32>, tensor<5x16xf32>) -> tensor<1x5xf32>
      %4 = nn.bias_add %3, %b1 : (tensor<1x5xf32>, tensor<5xf32>) -> tensor<1x5xf32>
      %5 = nn.softmax %4 axis(-1) : tensor<1x5xf32>
      func.return %5 : tensor<1x5xf32>
    }}"""
    return text, [w0, b0, w1, b1]


@pytest.mark.parametrize("mode", ["graded", "rate"])
def test_run_pipeline_records_stages_and_runs(mode: str) -> None:
    from spikeir.passes.spikecore_pipeline import run_pipeline

    rng = np.random.default_rng(8)
    text, (w0, b0, w1, b1) = _mlp_text(rng)
    x = rng.uniform(-1, 1, (200, 1, 3, 4)).astype(np.float32)
    result = run_pipeline(parse(text), x, mode=mode, neurons_per_core=8, record=True)
    expected_stages = [
        "input",
        "nn-fold-reshapes",
        "nn-fold-batch-norm",
        "nn-fold-pool",
        "nn-fuse-dense",
        "nn-fuse-conv2d",
        "partition-for-spikecore",
        "spikecore-quantize",
        "lower-quant-to-spikecore",
    ]
    expected_stages += ["convert-to-snn", "spikecore-place"] if mode == "rate" else ["spikecore-place"]
    assert list(result.stages) == expected_stages
    assert "nn.fused_dense" in result.stages["partition-for-spikecore"]
    assert "quant.dense" in result.stages["spikecore-quantize"]
    assert ("fire %" in result.stages["spikecore-place"]) and (" binary @" in result.stages["spikecore-place"]) == (
        mode == "rate"
    )
    assert [layer.layer for layer in result.quantization] == ["fc1", "fc2"]

    program = result.program()
    assert program.target.neurons_per_core == 8
    q_in = np.clip(np.rint(x.reshape(200, 12) / program.input_scale), -128, 127).astype(np.int8)
    timesteps = 1 if mode == "graded" else 256
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    cpu.run(q_in, timesteps)
    logits = cpu.outputs() * program.outputs[0].scale / timesteps
    float_logits = np.maximum(x.reshape(200, 12) @ w0.T + b0, 0) @ w1.T + b1
    agreement = np.mean(logits.argmax(1) == float_logits.argmax(1))
    assert agreement >= (0.97 if mode == "graded" else 0.9), agreement


def test_pipeline_rejects_an_unknown_mode() -> None:
    from spikeir.passes.spikecore_pipeline import run_pipeline

    text, _ = _mlp_text(np.random.default_rng(9))
    with pytest.raises(PassFailedException, match="mode must be graded or rate, got 'spiking'"):
        run_pipeline(parse(text), np.zeros((2, 1, 3, 4), np.float32), mode="spiking")


def test_a_layer_whose_synaptic_sum_could_leave_int32_is_refused_by_name() -> None:
    """Docs/isa.md: each ACC adds its exact sum with saturation, and a wide layer takes several ACCs,
    while quant.dense saturates once after the bias. At sum |w| x 128 <= 2^31 - 1 no partial sum can
    saturate, so the chip and the IR agree even where the bias then saturates; one weight more and
    the lowering refuses the layer instead of emitting a program that disagrees with its IR."""
    fan_in = (2**31 - 1) // 128 // 127  # 132104 inputs of weight 127
    edge = QLayer(weights=np.full((1, fan_in), 127, np.int8), bias=np.array([2**31 - 2], np.int32))
    module = quant_module([edge])
    LowerQuantToSpikeCorePass().apply(CTX, module)
    program = next(op for op in module.walk() if isinstance(op, spikecore.ProgramOp))
    program.target = spikecore.TargetAttr.from_description(SPIKECORE_V1.with_options(synapse_bytes=2**18))
    PlacePass().apply(CTX, module)
    x = np.stack([np.full(fan_in, 127, np.int8), np.full(fan_in, -128, np.int8)])
    np.testing.assert_array_equal(run_hw(module, x)[:, 0], np.clip(reference([edge], x)[:, 0], -(2**31), 2**31 - 1))

    over = QLayer(weights=np.full((1, fan_in + 1), 127, np.int8), bias=np.array([0], np.int32))
    with pytest.raises(PassFailedException, match=r'quant.dense "layers.0": its synaptic sum can leave int32'):
        LowerQuantToSpikeCorePass().apply(CTX, quant_module([over]))
