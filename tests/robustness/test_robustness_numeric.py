"""Numeric edges: saturation at both int32 ends, all-zero and all-extreme data, dead layers, NaN and inf.

The hardware model must agree with the independent reference model (tests/reference_model.py) bit
for bit even where every accumulator saturates; the compiler must turn a layer whose calibration
range is zero into finite, positive scales (or a clear QuantizationError), and must refuse NaN or
infinite weights, biases, calibration data and inputs instead of computing garbage.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import spikeir
from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.isa import (
    INT32_MAX,
    INT32_MIN,
    Acc,
    AccBias,
    Fire,
    FireMode,
    Halt,
    Leak,
    OutputSpec,
    Program,
    ResetMode,
)
from spikeir.chip.target import SPIKECORE_V1
from spikeir.compiler import build_mlp_module
from spikeir.errors import ProgramError, QuantizationError
from support.reference_model import run_reference

FAN_IN = 2048
TARGET = SPIKECORE_V1.with_options(cores=4, neurons_per_core=8)


def extreme_program(weight: int, bias: int, multiplier: int, shift: int, threshold: int) -> Program:
    """Layer 0: a wide ACC plus a bias that together can pass either int32 end, a graded FIRE of the
    saturated V; layer 1 integrates that and fires binary spikes; layer 2 just accumulates (output)."""
    return Program(
        [
            Acc(0, 0, 2, src=0, src_len=FAN_IN, table=0),
            AccBias(0, 0, 2, table=0),
            AccBias(0, 0, 2, table=0),
            Fire(0, 0, 2, dst=FAN_IN, table=1, shift=shift, lo=-128, hi=127),
            Acc(0, 2, 2, src=0, src_len=FAN_IN, table=0),
            AccBias(0, 2, 2, table=0),
            Leak(0, 2, 2, shift=31),
            Fire(0, 2, 2, dst=FAN_IN + 2, table=2, mode=FireMode.BINARY, reset=ResetMode.SUBTRACT, shift=0, lo=0, hi=0),
            Acc(1, 0, 2, src=FAN_IN, src_len=4, table=1),
            AccBias(1, 0, 2, table=0),
            Halt(),
        ],
        n_inputs=FAN_IN,
        outputs=[OutputSpec(0, 0, 4), OutputSpec(1, 0, 2)],
        synapse_tables={0: np.full((4, FAN_IN), weight, np.int8), 1: np.full((2, 4), weight, np.int8)},
        param_tables={
            0: np.full(4, bias, np.int32),
            1: np.full(2, multiplier, np.int32),
            2: np.full(2, threshold, np.int32),
        },
        target=TARGET,
    )


@settings(max_examples=25, deadline=None)
@given(
    weight=st.sampled_from([-128, -1, 0, 1, 127]),
    bias=st.sampled_from([INT32_MIN, -1, 0, 1, INT32_MAX]),
    multiplier=st.sampled_from([INT32_MIN, -1, 0, 1, INT32_MAX]),
    shift=st.sampled_from([0, 1, 31, 62]),
    threshold=st.sampled_from([1, 2**30, INT32_MAX]),
    fill=st.sampled_from([-128, 0, 127, "mixed"]),
    timesteps=st.integers(1, 3),
)
def test_saturating_programs_match_the_reference(
    weight: int, bias: int, multiplier: int, shift: int, threshold: int, fill: int | str, timesteps: int
) -> None:
    program = extreme_program(weight, bias, multiplier, shift, threshold)
    if fill == "mixed":
        x = np.stack([np.full(FAN_IN, -128, np.int8), np.full(FAN_IN, 127, np.int8), np.zeros(FAN_IN, np.int8)])
    else:
        x = np.full((1, FAN_IN), fill, np.int8)
    cpu = SpikeCoreCPU(target=TARGET)
    cpu.load_program(program)
    spikes = cpu.run(x, timesteps=timesteps)
    expected = run_reference(program, x, timesteps)
    np.testing.assert_array_equal(cpu.outputs(), expected.outputs)
    np.testing.assert_array_equal(spikes, expected.spike_counts)
    assert cpu.outputs().min() >= INT32_MIN and cpu.outputs().max() <= INT32_MAX


def test_accumulators_saturate_at_both_ends_and_stay_there() -> None:
    """Neurons c0[2:4] get 127 x 2048 x (+-127 or -128) plus an int32-extreme bias every step: V pins
    at the end; LEAK (shift 31) then moves a negative V up by one and a spike subtracts 1 from a
    positive one, so after every step V sits one unit inside the end."""
    for fill, bias, end in ((127, INT32_MAX, INT32_MAX - 1), (-128, INT32_MIN, INT32_MIN + 1)):
        program = extreme_program(127, bias, 1, 0, 1)
        x = np.full(FAN_IN, fill, np.int8)
        cpu = SpikeCoreCPU(target=TARGET)
        cpu.load_program(program)
        cpu.run(x, timesteps=3)
        assert cpu.outputs()[2:4].tolist() == [end, end]
        assert run_reference(program, x, 3).outputs[0][2:4].tolist() == [end, end]


# -- the compiler ---------------------------------------------------------------------------------

RNG = np.random.default_rng(0)
W1 = RNG.standard_normal((6, 4)).astype(np.float32)
W2 = RNG.standard_normal((3, 6)).astype(np.float32)
CALIBRATION = RNG.standard_normal((32, 4)).astype(np.float32)


def compile_mlp(
    w1: np.ndarray = W1, b1: np.ndarray | None = None, calibration: np.ndarray = CALIBRATION, mode: str = "graded"
) -> spikeir.CompiledModel:
    module = build_mlp_module([w1, W2], [b1, None], ["relu", None])
    return spikeir.compile(module, calibration=calibration, mode=mode)


def assert_sane(compiled: spikeir.CompiledModel) -> None:
    """Finite positive scales, int32 multipliers, shifts in range, a valid program that runs."""
    for layer in compiled.quantization:
        scales = [layer.input_scale, *layer.weight_scales]
        if layer.output_scale is not None:
            scales.append(layer.output_scale)
        assert all(np.isfinite(s) and s > 0 for s in scales), layer
        assert all(INT32_MIN <= m <= INT32_MAX for m in layer.multipliers)
        assert layer.shift is None or 0 <= layer.shift <= 62
    compiled.program.validate()
    assert all(np.isfinite(out.scale) and out.scale > 0 for out in compiled.program.outputs)
    assert np.isfinite(compiled.program.input_scale) and compiled.program.input_scale > 0


@pytest.mark.parametrize("mode", ["graded", "rate"])
def test_layer_dead_on_all_calibration_data_compiles_to_a_sane_program(mode: str) -> None:
    """A ReLU layer whose bias keeps it at zero for every calibration input has range 0."""
    compiled = compile_mlp(b1=np.full(6, -100.0, np.float32), mode=mode)
    assert compiled.quantization[0].output_range == 0.0
    assert_sane(compiled)
    y = compiled.run(CALIBRATION[:4])
    assert np.all(np.isfinite(y))
    np.testing.assert_array_equal(y, np.zeros_like(y))  # the dead layer feeds zeros; W2 has no bias


@pytest.mark.parametrize(
    "calibration",
    [np.zeros((4, 4), np.float32), np.full((4, 4), 1e-40, np.float32)],
    ids=["all-zero", "denormal"],
)
def test_calibration_with_zero_range_gives_finite_scales(calibration: np.ndarray) -> None:
    compiled = compile_mlp(calibration=calibration)
    assert_sane(compiled)
    assert np.all(np.isfinite(compiled.run(CALIBRATION[:2])))


def test_all_zero_weights_and_extreme_weight_magnitudes() -> None:
    for w1 in (np.zeros_like(W1), W1 * 1e-30, W1 * 1e30):
        compiled = compile_mlp(w1=w1)
        assert_sane(compiled)
        assert np.all(np.isfinite(compiled.run(CALIBRATION[:2])))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_weights_and_biases_are_refused(bad: float) -> None:
    w1 = W1.copy()
    w1[2, 1] = bad
    with pytest.raises(QuantizationError, match="layers.0: weights contain 1 NaN or infinite value"):
        compile_mlp(w1=w1)
    b1 = np.zeros(6, np.float32)
    b1[0] = bad
    with pytest.raises(QuantizationError, match="layers.0: biases contain 1 NaN or infinite value"):
        compile_mlp(b1=b1)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_calibration_is_refused(bad: float) -> None:
    calibration = CALIBRATION.copy()
    calibration[3, 2] = bad
    with pytest.raises(QuantizationError, match="calibration data contains NaN or infinite values"):
        compile_mlp(calibration=calibration)


@pytest.mark.filterwarnings(
    "ignore:overflow encountered:RuntimeWarning", "ignore:invalid value encountered:RuntimeWarning"
)
def test_calibration_that_overflows_float32_is_refused() -> None:
    with pytest.raises(QuantizationError, match="NaN or infinite"):
        compile_mlp(calibration=np.full((4, 4), 3e38, np.float32))


def test_bias_beyond_int32_is_refused() -> None:
    with pytest.raises(QuantizationError, match="beyond int32"):
        compile_mlp(b1=np.full(6, 1e30, np.float32))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_inputs_are_refused_at_run_time(bad: float) -> None:
    compiled = compile_mlp()
    x = CALIBRATION[:2].copy()
    x[1, 0] = bad
    with pytest.raises(ProgramError, match="the input contains NaN or infinite values"):
        compiled.run(x)


def test_seed_entry_point_refuses_nan_weights() -> None:
    w1 = W1.copy()
    w1[0, 0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(QuantizationError, match="NaN"):
            spikeir.compile_nn_to_spikecore([w1, W2], [None, None], ["relu", None])
