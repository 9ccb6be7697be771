"""spikeir.numerics.snn_quantization: units, per-layer errors, calibration, saturation."""

from __future__ import annotations

import numpy as np
import pytest

from spikeir.errors import QuantizationError
from spikeir.numerics.snn_quantization import INPUT, NeuronLayer, Projection, SNNSpec, quantize_snn, simulate

RNG = np.random.default_rng(2)


def _spec(w: np.ndarray, threshold: float = 1.0, decay: float | None = None, comparison: str = "gt") -> SNNSpec:
    n = w.shape[0]
    layer = NeuronLayer(
        "h",
        "LIF" if decay is not None else "IF",
        n,
        (Projection(INPUT, w),),
        np.zeros(n),
        None if decay is None else np.full(n, decay),
        threshold=np.full(n, threshold),
    )
    readout = NeuronLayer("o", "LI", 2, (Projection("h", RNG.normal(size=(2, n))),), np.zeros(2), np.full(2, 0.1))
    return SNNSpec(w.shape[1], (layer, readout), "o", comparison)  # type: ignore[arg-type]


def test_exact_grid_has_no_error_and_units_per_layer_or_channel() -> None:
    w = RNG.integers(-50, 51, (4, 6)) * 0.25
    w[0, 0] = 127 * 0.25
    q = quantize_snn(_spec(w, threshold=10.0))
    error = q.errors[0]
    assert error.unit == 0.25 and error.weight_rel_rms < 1e-12 and error.weight_clipped == 0
    assert error.threshold_max_rel == 0.0 and error.decay_max_abs == 0.0 and error.headroom_bits is None
    assert q.layers[0].threshold is not None and set(q.layers[0].threshold) == {41}  # v > 40 units
    per_channel = quantize_snn(_spec(w, threshold=10.0), per_channel=True)
    rows = np.abs(w).max(axis=1) / 127
    assert np.allclose(per_channel.layers[0].unit, rows)
    assert len(set(per_channel.layers[1].unit)) == 1  # the output layer keeps one unit


def test_decay_and_threshold_rounding_are_reported() -> None:
    w = RNG.normal(size=(5, 6))
    error = quantize_snn(_spec(w, threshold=0.7, decay=0.1)).errors[0]
    assert error.decay_max_abs == pytest.approx(abs(410 / 4096 - 0.1))
    assert 0 < error.threshold_max_rel < 1 / (0.7 / error.unit)
    assert 0 < error.weight_rel_rms < 0.01


def test_calibration_sets_the_input_scale_and_the_headroom() -> None:
    w = RNG.normal(size=(5, 6))
    pixels = RNG.random((10, 8, 6)) * 3.0  # real-valued direct input
    q = quantize_snn(_spec(w), calibration=pixels)
    assert q.input_scale == pytest.approx(pixels.max() / 127)
    assert q.errors[0].headroom_bits is not None and q.errors[0].headroom_bits > 10
    assert quantize_snn(_spec(w), calibration=(pixels > 1.5).astype(float)).input_scale == 1.0
    with pytest.raises(QuantizationError, match="calibration streams must be finite, of shape"):
        quantize_snn(_spec(w), calibration=pixels[:, :, :3])


def test_a_layer_that_would_saturate_is_an_error() -> None:
    w = np.full((3, 6), 1e-3)
    w[0, 0] = 1.0
    spec = _spec(w, threshold=1e12)  # never fires: V grows without bound in units of 1/127
    with pytest.raises(QuantizationError, match="layer 'h' \\(IF\\).*outside int32"):
        quantize_snn(spec)
    integrator = NeuronLayer("acc", "I", 3, (Projection(INPUT, np.ones((3, 600))),), np.zeros(3))
    spec_i = SNNSpec(600, (integrator,), "acc")
    quantize_snn(spec_i, calibration=np.full((1, 100, 600), 127.0))  # 100 steps fit int32
    with pytest.raises(QuantizationError, match="layer 'acc' \\(I\\): V reaches .* beyond int32"):
        quantize_snn(spec_i, calibration=np.full((1, 300, 600), 127.0))


def test_float_simulation_follows_the_comparison() -> None:
    w = np.eye(2)
    layer = NeuronLayer("h", "IF", 2, (Projection(INPUT, w),), np.zeros(2), threshold=np.full(2, 1.0))
    x = np.ones((1, 3, 2))
    gt = simulate(SNNSpec(2, (layer,), "h", "gt"), x).spikes["h"][0, :, 0]
    ge = simulate(SNNSpec(2, (layer,), "h", "ge"), x).spikes["h"][0, :, 0]
    assert gt.tolist() == [0, 1, 1] and ge.tolist() == [1, 1, 1]  # V = 1, 2, 2-1+1: v > 1 waits a step
