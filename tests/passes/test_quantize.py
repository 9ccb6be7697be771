"""Quantization: the numerics against independent integer arithmetic, and the quantize pass end to end."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.arg_spec import parse_pipeline

from spikeir.dialects import quant
from spikeir.errors import DataError, QuantizationError
from spikeir.ir.interpreter import run_function, trace_function
from spikeir.numerics.quantization import (
    manual_quantize_activations,
    manual_quantize_weights,
    quantize_bias,
    quantized_dense,
    requantize,
    requantize_multiplier,
)
from spikeir.passes.quantize import QuantizePass, quantize_module
from support.nn_models import parse, partitioned_mlp, random_mlp

finite = st.floats(-1e4, 1e4, allow_nan=False, width=32)


# --- numerics -------------------------------------------------------------------------------------


def test_weights_per_tensor_seed_call() -> None:
    w = torch.tensor([[0.5, -1.27], [0.0, 0.254]])
    q, scale, zero_point = manual_quantize_weights(w)
    assert zero_point == 0 and math.isclose(scale, 1.27 / 127, rel_tol=1e-6)
    np.testing.assert_array_equal(q, [[50, -127], [0, 25]])
    assert q.dtype == np.int8


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=1, max_size=40), st.booleans())
def test_weights_error_within_half_a_step(values: list[float], per_channel: bool) -> None:
    w = np.asarray(values, dtype=np.float32).reshape(len(values), 1) if per_channel else np.asarray(values)
    q, scale, _ = manual_quantize_weights(w, per_channel=per_channel)
    s = np.asarray(scale).reshape(-1, 1) if per_channel else scale
    assert np.all(np.abs(q) <= 127) and np.all(np.asarray(scale) > 0)
    assert np.all(np.abs(q * s - w) <= np.asarray(s) / 2 * (1 + 1e-9) + 1e-12)


def test_weights_per_channel_scales_rows() -> None:
    w = np.array([[1.0, -2.0], [0.0, 0.0], [0.3, 0.1]])
    q, scales, zero_points = manual_quantize_weights(w, per_channel=True)
    np.testing.assert_allclose(scales, [2 / 127, 1 / 127, 0.3 / 127])
    np.testing.assert_array_equal(q, [[64, -127], [0, 0], [127, 42]])
    np.testing.assert_array_equal(zero_points, [0, 0, 0])


def test_all_zero_weights_get_a_nonzero_scale() -> None:
    q, scale, _ = manual_quantize_weights(np.zeros((3, 4)))
    assert scale == 1 / 127 and not q.any()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_rejected(bad: float) -> None:
    with pytest.raises(QuantizationError, match="NaN or infinite"):
        manual_quantize_weights(np.array([1.0, bad]), location="layers.0")


def test_activations_max_percentile_and_given_scale() -> None:
    x = np.concatenate([np.linspace(0, 1, 10_000), [50.0]])
    _, s_max, _ = manual_quantize_activations(x)
    assert s_max == 50 / 127
    q, s_pct, zp = manual_quantize_activations(x, method="percentile", percentile=99.0)
    assert zp == 0 and s_pct == pytest.approx(np.percentile(x, 99.0) / 127)
    assert q.max() == 127 and q[-1] == 127  # the outlier is clipped
    q, s, _ = manual_quantize_activations(np.array([-300.0, 0.3, 2.5]), scale=1.0)
    np.testing.assert_array_equal(q, [-128, 0, 2])  # half to even, clamp at -128
    assert s == 1.0


def test_zero_activation_range() -> None:
    q, scale, _ = manual_quantize_activations(np.zeros(5))
    assert scale == 1 / 127 and not q.any()
    with pytest.raises(QuantizationError, match="unknown calibration method"):
        manual_quantize_activations(np.ones(3), method="mean")


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-15, 2.0**31 - 1, allow_nan=False))
def test_requantize_multiplier_range_and_error(real: float) -> None:
    m, shift = requantize_multiplier(real)
    assert 0 <= shift <= 62 and 0 < m <= 2**31 - 1
    if shift < 62:
        assert 2**30 <= m < 2**31
        assert abs(m / 2**shift - real) <= real * 2.0**-30
    else:
        assert abs(m / 2**shift - real) <= 2.0**-63


def test_requantize_multiplier_rounding_to_two_pow_31() -> None:
    m, shift = requantize_multiplier(1 - 2.0**-40)
    assert m == 2**30 and shift == 30


def test_requantize_multiplier_per_channel_shares_the_shift() -> None:
    reals = np.array([0.75, 0.01, 3e-7])
    m, shift = requantize_multiplier(reals)
    assert 2**30 <= m.max() < 2**31 and m.max() == m[0]
    np.testing.assert_allclose(m / 2.0**shift, reals, rtol=0.5 / m.min() * 1.0001)


@pytest.mark.parametrize("real", [0.0, -1.0, 2.0**31, np.nan])
def test_requantize_multiplier_rejects(real: float) -> None:
    with pytest.raises(QuantizationError):
        requantize_multiplier(real)


int32 = st.integers(-(2**31), 2**31 - 1)


@settings(max_examples=300, deadline=None)
@given(int32, int32, st.integers(0, 62), st.integers(-128, 127), st.integers(-128, 127))
def test_requantize_is_graded_fire(acc: int, m: int, shift: int, a: int, b: int) -> None:
    lo, hi = min(a, b), max(a, b)
    expected = (acc * m + (1 << (shift - 1))) >> shift if shift else acc * m  # Python ints: exact
    got = requantize(np.array([acc], np.int32), np.array([m]), shift, lo, hi)
    assert got.dtype == np.int8 and int(got[0]) == min(max(expected, lo), hi)


def test_requantize_rounds_half_up() -> None:
    np.testing.assert_array_equal(requantize(np.array([-3, -1, 1, 3]), 1, 1), [-1, 0, 1, 2])


def test_bias_quantization_and_overflow() -> None:
    np.testing.assert_array_equal(quantize_bias(np.array([0.5, -0.25]), 0.01, 0.1), [500, -250])
    np.testing.assert_array_equal(quantize_bias(np.array([0.5, -0.25]), 0.01, np.array([0.1, 0.5])), [500, -50])
    with pytest.raises(QuantizationError, match="beyond int32") as info:
        quantize_bias(np.array([1.0]), 1e-6, 1e-6, location="layers.2")
    assert info.value.location == "layers.2"


def test_quantized_dense_is_exact_and_saturates() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(-128, 128, (7, 300)).astype(np.int8)
    w = rng.integers(-127, 128, (5, 300)).astype(np.int8)
    b = rng.integers(-(2**20), 2**20, 5).astype(np.int32)
    exact = np.array(
        [[sum(int(x[i, k]) * int(w[n, k]) for k in range(300)) + int(b[n]) for n in range(5)] for i in range(7)]
    )
    np.testing.assert_array_equal(quantized_dense(x, w, b), exact)
    big = quantized_dense(np.full((1, 1), 127, np.int8), np.full((1, 1), 127, np.int8), np.array([2**31 - 1], np.int32))
    assert big[0, 0] == 2**31 - 1


# --- the pass --------------------------------------------------------------------------------------


def _ops(module: ModuleOp, name: str) -> list[str]:
    fn = next(op for op in module.ops if isinstance(op, func.FuncOp) and op.sym_name.data == name)
    return [op.name for op in fn.body.block.ops]


def test_rewrites_region_per_pipeline_contract() -> None:
    rng = np.random.default_rng(0)
    module = partitioned_mlp(random_mlp(rng, [12, 8, 6, 3]), softmax=True, names=["a", "b", "c"])
    quantize_module(module, rng.random((64, 12)), per_channel=True)
    module.verify()
    ops = _ops(module, "spikecore_0")
    assert ops == [
        "quant.quantize",
        *["quant.constant", "quant.constant", "quant.dense", "quant.requantize", "quant.relu"] * 2,
        "quant.constant",
        "quant.constant",
        "quant.dense",
        "quant.dequantize",
        "func.return",
    ]
    assert _ops(module, "main") == ["func.call", "nn.softmax", "func.return"]
    dense = [op for op in module.walk() if isinstance(op, quant.DenseOp)]
    assert [quant.quantized_element(d.weight).is_per_axis for d in dense] == [True, True, False]
    assert [d.layer.data for d in dense if d.layer is not None] == ["a", "b", "c"]


def _reference_integer_path(
    layers: list[tuple[np.ndarray, np.ndarray | None, str]], calib: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """The quantized network written out with plain numpy and Python ints, independent of spikeir.numerics.quantization."""

    def scale(r: float) -> float:
        return (r if r > 0 else 1.0) / 127

    s_in = scale(float(np.abs(calib).max()))
    q = np.clip(np.rint(x.astype(np.float64) / s_in), -128, 127).astype(np.int64)
    h = calib.astype(np.float32)
    for index, (w, b, act) in enumerate(layers):
        s_w = scale(float(np.abs(w).max()))
        w_q = np.rint(w.astype(np.float64) / s_w).astype(np.int64)
        b_q = np.rint((np.zeros(w.shape[0]) if b is None else b.astype(np.float64)) / (s_in * s_w)).astype(np.int64)
        acc = q @ w_q.T + b_q
        h = h @ w.T + (0 if b is None else b)
        if act == "relu":
            h = np.maximum(h, 0)
        if index == len(layers) - 1:
            return (acc.astype(np.float64) * (s_in * s_w)).astype(np.float32)
        s_out = scale(float(np.abs(h).max()))
        real = s_in * s_w / s_out
        mantissa, exponent = math.frexp(real)
        shift = 31 - exponent
        m = round(real * 2**shift)
        out = [[(int(a) * m + (1 << (shift - 1))) >> shift for a in row] for row in acc]
        q = np.clip(np.array(out), 0 if act == "relu" else -128, 127)
        s_in = s_out
    raise AssertionError("unreachable")


def test_integer_path_is_bit_exact_against_hand_written_numpy() -> None:
    rng = np.random.default_rng(3)
    layers = random_mlp(rng, [10, 16, 7, 4])
    layers[1] = (layers[1][0], None, "none")  # a layer without bias or activation
    module = partitioned_mlp(layers)
    calib = rng.normal(size=(200, 10)).astype(np.float32)
    quantize_module(module, calib)
    x = rng.normal(size=(50, 10)).astype(np.float32) * 1.5  # some inputs clip
    (got,) = run_function(module, "main", x)
    np.testing.assert_array_equal(got, _reference_integer_path(layers, calib, x))


def test_random_mlp_top1_agreement() -> None:
    rng = np.random.default_rng(7)
    module = partitioned_mlp(random_mlp(rng, [64, 48, 10]))
    x = rng.random((4000, 64)).astype(np.float32)
    (ref,) = run_function(module, "main", x)
    quantize_module(module, x[:500])
    (got,) = run_function(module, "main", x)
    assert np.mean(ref.argmax(1) == got.argmax(1)) >= 0.99
    assert np.abs(got - ref).max() <= 0.05 * np.abs(ref).max()


@pytest.mark.slow
def test_trained_mnist_mlp_top1_agreement() -> None:
    from spikeir.lab.data import load_mnist

    data = load_mnist()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(784, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
        optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
        x_train = torch.from_numpy(data.x_train[:2000].reshape(-1, 784))
        y_train = torch.from_numpy(data.y_train[:2000])
        for _ in range(60):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(net(x_train), y_train).backward()
            optimizer.step()
    params = [p.detach().numpy() for p in net.parameters()]
    layers = [(params[0], params[1], "relu"), (params[2], params[3], "none")]
    module = partitioned_mlp(layers, input_shape=(1, 1, 28, 28), softmax=True)
    (ref,) = run_function(module, "main", data.x_test)
    assert np.mean(ref.argmax(1) == data.y_test) > 0.8  # it did learn
    for per_channel in (False, True):
        quantized = partitioned_mlp(layers, input_shape=(1, 1, 28, 28), softmax=True)
        quantize_module(quantized, data.x_train[:500], per_channel=per_channel, method="percentile", percentile=99.99)
        (got,) = run_function(quantized, "main", data.x_test)
        assert np.mean(ref.argmax(1) == got.argmax(1)) >= 0.99


_TWO_REGIONS = """
func.func private @spikecore_0(%a: tensor<1x3xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %w = arith.constant dense<[[1.0, -1.0, 0.5], [0.25, 0.5, -0.75]]> : tensor<2x3xf32>
  %y = nn.fused_dense %a, %w activation "relu" layer "r0.a" : (tensor<1x3xf32>, tensor<2x3xf32>) -> tensor<1x2xf32>
  %v = arith.constant dense<[[1.0, -2.0], [0.5, 0.5]]> : tensor<2x2xf32>
  %z = nn.fused_dense %y, %v layer "r0.b" : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  func.return %z : tensor<1x2xf32>
}
func.func private @spikecore_1(%a: tensor<1x2xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %w = arith.constant dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %b = arith.constant dense<[0.0, 0.5]> : tensor<2xf32>
  %y = nn.fused_dense %a, %w, %b layer "r1" : (tensor<1x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  func.return %y : tensor<1x2xf32>
}
func.func @main(%x: tensor<1x3xf32>) -> tensor<1x2xf32> {
  %0 = func.call @spikecore_0(%x) : (tensor<1x3xf32>) -> tensor<1x2xf32>
  %1 = nn.relu %0 : tensor<1x2xf32>
  %2 = func.call @spikecore_1(%1) : (tensor<1x2xf32>) -> tensor<1x2xf32>
  %3 = func.call @spikecore_1(%0) : (tensor<1x2xf32>) -> tensor<1x2xf32>
  func.return %3 : tensor<1x2xf32>
}
"""


def test_two_regions_and_repeated_calls_are_calibrated_on_all_their_inputs() -> None:
    module = parse(_TWO_REGIONS)
    calib = np.random.default_rng(5).normal(size=(100, 3)).astype(np.float32)
    trace = trace_function(module, "main", calib)
    region0_out = trace.calls[0][1].outputs[0]
    records = quantize_module(module, calib)
    module.verify()
    assert [(r.function, r.layer) for r in records] == [
        ("spikecore_0", "r0.a"),
        ("spikecore_0", "r0.b"),
        ("spikecore_1", "r1"),
    ]
    # Both calls feed @spikecore_1: relu(z) and z, so its range is max|z| over the raw output.
    assert records[2].input_range == pytest.approx(float(np.abs(region0_out).max()))
    w0 = np.array([[1.0, -1.0, 0.5], [0.25, 0.5, -0.75]])
    assert records[0].output_range == pytest.approx(float(np.maximum(calib @ w0.T, 0).max()), rel=1e-5)


# --- errors ----------------------------------------------------------------------------------------


def _small() -> ModuleOp:
    return partitioned_mlp(random_mlp(np.random.default_rng(0), [4, 3, 2]), names=["layers.0", "layers.2"])


def test_no_calibration_is_an_error() -> None:
    with pytest.raises(QuantizationError, match="no calibration inputs") as info:
        QuantizePass().apply(Context(), _small())
    assert info.value.location == "spikecore-quantize"


def test_calibration_errors() -> None:
    with pytest.raises(QuantizationError, match=r"shape \[10, 5\].*Nx4"):
        quantize_module(_small(), np.zeros((10, 5)))
    with pytest.raises(QuantizationError, match="NaN"):
        quantize_module(_small(), np.full((3, 4), np.nan))
    with pytest.raises(QuantizationError, match="no samples"):
        quantize_module(_small(), np.zeros((0, 4)))
    with pytest.raises(QuantizationError, match="unknown calibration method"):
        quantize_module(_small(), np.zeros((3, 4)), method="mse")
    quantize_module(_small(), np.zeros((3, 1, 4)))  # (N, *input_shape) with its batch axis of 1 is fine


def test_nan_weights_name_the_layer() -> None:
    layers = random_mlp(np.random.default_rng(0), [4, 3, 2])
    layers[1][0][0, 0] = np.nan
    with pytest.raises(QuantizationError, match="NaN") as info:
        quantize_module(partitioned_mlp(layers, names=["fc1", "fc2"]), np.ones((3, 4)))
    assert info.value.location == "fc2"


def test_weight_argument_is_an_error() -> None:
    module = parse("""
    func.func private @spikecore_0(%a: tensor<1x2xf32>, %w: tensor<3x2xf32>) -> tensor<1x3xf32> attributes {codegen = "spikecore"} {
      %y = nn.fused_dense %a, %w layer "fc" : (tensor<1x2xf32>, tensor<3x2xf32>) -> tensor<1x3xf32>
      func.return %y : tensor<1x3xf32>
    }
    func.func @main(%x: tensor<1x2xf32>, %w: tensor<3x2xf32>) -> tensor<1x3xf32> {
      %y = func.call @spikecore_0(%x, %w) : (tensor<1x2xf32>, tensor<3x2xf32>) -> tensor<1x3xf32>
      func.return %y : tensor<1x3xf32>
    }
    """)
    with pytest.raises(QuantizationError, match="weight of nn.fused_dense is a function argument") as info:
        quantize_module(module, np.ones((3, 2)))
    assert info.value.location == "fc"


def test_calibration_file(tmp_path: Path) -> None:
    path = tmp_path / "calib.npy"
    np.save(path, np.random.default_rng(0).random((20, 4)).astype(np.float32))
    module = _small()
    QuantizePass(calibration=str(path), per_channel=True).apply(Context(), module)
    assert any(isinstance(op, quant.DenseOp) for op in module.walk())
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    for bad in (tmp_path / "objects.npy", tmp_path / "missing.npy"):
        with pytest.raises(DataError) as info:
            QuantizePass(calibration=str(bad)).apply(Context(), _small())
        assert info.value.location == str(bad)


def test_calibration_file_is_read_bounded(tmp_path: Path) -> None:
    """A header claiming an enormous shape and a text file are located DataErrors, not MemoryError or
    numpy's allow_pickle hint."""
    huge = tmp_path / "huge.npy"
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 100000), }"
    huge.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\x00" * 8)
    text = tmp_path / "text.npy"
    text.write_text("0.1, 0.2, 0.3\n")
    for bad, message in ((huge, "the header claims shape"), (text, "it looks like text")):
        with pytest.raises(DataError, match=f"cannot read calibration data: .*{message}") as info:
            QuantizePass(calibration=str(bad)).apply(Context(), _small())
        assert info.value.location == str(bad) and "allow_pickle" not in str(info.value)


def test_pipeline_options_map_to_fields() -> None:
    (spec,) = parse_pipeline(
        'spikecore-quantize{calibration="data/x.npy" per-channel=true method=percentile percentile=99.9}'
    )
    qpass = QuantizePass.from_pass_spec(spec)
    assert qpass == QuantizePass(calibration="data/x.npy", per_channel=True, method="percentile", percentile=99.9)
    (spec,) = parse_pipeline("spikecore-quantize{percentile=99}")
    assert QuantizePass.from_pass_spec(spec).percentile == 99


def test_method_is_checked_when_the_option_is_parsed() -> None:
    (spec,) = parse_pipeline("spikecore-quantize{method=mse}")
    with pytest.raises(ValueError, match="mse"):
        QuantizePass.from_pass_spec(spec)


def test_quantizing_twice_changes_nothing() -> None:
    module = _small()
    quantize_module(module, np.random.default_rng(1).uniform(-1, 1, (16, 4)))
    once = str(module)
    assert quantize_module(module, np.zeros((0, 4))) == []  # nothing pending: the data is not even read
    QuantizePass().apply(Context(), module)  # no calibration needed either
    assert str(module) == once
