"""Smoke tests of `spikeir bench` on tiny sizes: the code runs and its JSON has the documented shape.

Nothing here checks a timing: the numbers depend on the machine (docs/performance.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from spikeir.benchmarks import __main__ as bench
from spikeir.benchmarks import compile_time, hardware

TINY = ((16, 8, 4), (16, 32, 32, 4), (16, 64, 64, 4))


def test_weight_count() -> None:
    assert compile_time.weight_count((784, 64, 10)) == 784 * 64 + 64 * 10
    assert [compile_time.weight_count(w) for w in compile_time.LADDER][-2:] == [3_958_784, 4_148_736]


@pytest.mark.parametrize("power", [0.5, 1.0, 2.0])
def test_fit_exponent_recovers_power_law(power: float) -> None:
    weights = [10_000, 100_000, 1_000_000, 4_000_000]
    assert compile_time.fit_exponent(weights, [3e-7 * w**power for w in weights]) == pytest.approx(power)


def test_hardware_rows_structure() -> None:
    modes = (("graded", 1), ("rate", 2))
    rows = hardware.measure(batches=(1, 3), mappings=("dense", "seed"), modes=modes, min_total_s=0.0)
    assert [(r["mapping"], r["mode"], r["timesteps"], r["batch"]) for r in rows] == [
        (m, mode, t, b) for m in ("dense", "seed") for mode, t in modes for b in (1, 3)
    ]
    for r in rows:
        assert r["ratio_to_limit"] == pytest.approx(r["model_s"] / r["limit_s"])
        assert r["ratio_to_torch_float"] == pytest.approx(r["model_s"] / r["torch_float_s"])
        assert r["samples_per_s"] == pytest.approx(r["batch"] / r["model_s"])
        assert r["synaptic_ops_per_s"] > 0


def test_conv_rows_structure() -> None:
    rows = hardware.measure_conv(batches=(1, 2), streamed_batches=(2,), timesteps=3, min_total_s=0.0, cnn_batches=())
    assert [(r["input"], r["timesteps"], r["batch"]) for r in rows] == [
        ("direct", 1, 1),
        ("direct", 1, 2),
        ("streamed", 3, 2),
    ]
    for r in rows:
        assert r["case"] == "conv" and r["instructions"] == 3 * 4 + 1
        assert r["ratio_to_limit"] == pytest.approx(r["model_s"] / r["limit_s"])
        assert r["samples_per_s"] == pytest.approx(r["batch"] / r["model_s"])
        assert r["synaptic_ops_per_s"] > 0


def test_conv_limit_is_the_integer_layer() -> None:
    """The limit (float32 im2col + matmul) equals an int64 conv with the same requantization, and
    its payloads are not trivial (zeros, mid values and saturation all occur)."""
    rng = np.random.default_rng(2)
    layer = hardware.make_conv_layer(rng)
    x = hardware.event_frames(rng, (5, hardware.CONV.src_len))
    sums = hardware.conv_sums(layer.kernel, x) + layer.bias.astype(np.int64)[:, None]
    scaled = sums * layer.multiplier.astype(np.int64)[:, None] + (1 << (hardware.SHIFT - 1))
    expected = np.clip(scaled >> hardware.SHIFT, 0, 127).reshape(5, -1)
    payloads = hardware.conv_limit(layer)(x)
    np.testing.assert_array_equal(payloads, expected)
    assert payloads.dtype == np.int8 and payloads.shape == (5, 16 * 15 * 15)
    assert (payloads == 0).any() and (payloads == 127).any() and ((payloads > 0) & (payloads < 127)).mean() > 0.2


def test_conv_guard_raises_when_model_and_limit_disagree(monkeypatch: pytest.MonkeyPatch) -> None:
    real = hardware.conv_limit

    def off_by_one(layer: hardware.ConvLayer) -> Callable[[np.ndarray], np.ndarray]:
        forward = real(layer)
        return lambda x: forward(x) ^ 1

    monkeypatch.setattr(hardware, "conv_limit", off_by_one)
    with pytest.raises(AssertionError, match="conv direct T=1 batch 1: model and limit disagree"):
        hardware.measure_conv(batches=(1,), streamed_batches=(), min_total_s=0.0, cnn_batches=())


def test_conv_limit_refuses_an_inexact_bound() -> None:
    layer = hardware.make_conv_layer(np.random.default_rng(3))
    wide = hardware.ConvLayer(np.full((16, 50), -127, np.int8), layer.bias, layer.multiplier)
    hardware.conv_limit(wide)  # 128 * 50 * 127 < 2^24
    with pytest.raises(AssertionError, match="float32 would not be exact"):
        hardware.conv_limit(hardware.ConvLayer(np.full((16, 1100), -127, np.int8), layer.bias, layer.multiplier))


def test_limit_and_float_model_match_the_network() -> None:
    """The limit is the integer network (checked against the model in `measure`); the float model
    is the same weights in PyTorch, so it agrees with a numpy float forward pass."""
    rng = np.random.default_rng(1)
    net = hardware.make_network(rng)
    x = hardware.mnist_like(rng, 4)
    hidden = np.maximum(x / 127 @ net.w1.T.astype(np.float64) + net.b1, 0)
    expected = hidden @ net.w2.T.astype(np.float64) + net.b2
    np.testing.assert_allclose(hardware.float_model(net)(x), expected, rtol=1e-4, atol=1e-2)


def test_main_writes_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The compile section on a tiny ladder, through `main`: tables printed, JSON complete."""
    monkeypatch.setattr(compile_time, "QUICK_LADDER", TINY)
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--only", "compile", "--threads", "0", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["quick"] is True
    assert set(data) == {"quick", "machine", "compile", "seconds"}
    assert {"cpu", "cores", "load_average", "threads", "load_average_after"} <= set(data["machine"])
    cases = data["compile"]["cases"]
    assert [c["widths"] for c in cases] == [list(w) for w in TINY]
    for case, widths in zip(cases, TINY):
        assert case["weights"] == compile_time.weight_count(widths)
        assert case["layers"] == len(widths) - 1
        assert case["instructions"] > 0
        seconds = case["seconds"]
        assert list(seconds) == [*compile_time.STAGES, "total"]
        assert all(s >= 0 for s in seconds.values())
        assert seconds["total"] >= sum(v for k, v in seconds.items() if k != "total")
    assert (
        set(data["compile"]["exponents"]) == set(data["compile"]["exponents_upper"]) == {*compile_time.STAGES, "total"}
    )
    printed = capsys.readouterr().out
    assert "growth exponent" in printed and f"wrote {out}" in printed


def test_main_conv_section_writes_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--only conv``: the conv rows under ``hardware_conv``, at the batches main asks for."""
    calls: list[dict[str, object]] = []
    real = hardware.measure_conv

    def tiny(**kwargs: object) -> list[dict[str, object]]:
        calls.append(kwargs)
        return real(batches=(1,), streamed_batches=(1,), timesteps=2, min_total_s=0.0, cnn_batches=())

    monkeypatch.setattr(hardware, "measure_conv", tiny)
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--only", "conv", "--threads", "0", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert set(data) == {"quick", "machine", "hardware_conv", "seconds"}
    assert calls == [{"streamed_batches": (10,), "min_total_s": 0.1}]
    assert [(r["input"], r["batch"]) for r in data["hardware_conv"]] == [("direct", 1), ("streamed", 1)]
    assert "im2col" in capsys.readouterr().out


def test_memory_profile_in_subprocess() -> None:
    facts = compile_time.memory_profile((16, 8, 4))
    assert facts["weights"] == 16 * 8 + 8 * 4
    assert facts["maxrss_after_mib"] >= facts["maxrss_before_mib"] > 0
    assert facts["traced_peak_mib"] > 0
    assert (
        min(facts[k] for k in ("import_s", "torch_dynamo_import_s", "first_seed_compile_s", "second_seed_compile_s"))
        > 0
    )


def test_cli_usage_and_unwritable_json(tmp_path: Path) -> None:
    spikeir = Path(sys.executable).parent / "spikeir"
    bad = subprocess.run([str(spikeir), "bench", "--threads", "-1"], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 2 and "--threads" in bad.stderr
    missing = tmp_path / "no-such-dir" / "out.json"
    failed = subprocess.run(
        [str(spikeir), "bench", "--json", str(missing)], capture_output=True, text=True, cwd=tmp_path
    )
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr and "no-such-dir" in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1
