"""The benchmark's tightened limits and its peers compute exactly what the hardware model does.

`spikeir bench` refuses to time anything whose outputs differ from the model's; these tests run
those checks on small batches, plus the pieces that decide how exact the limits are.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spikeir.benchmarks import __main__ as bench
from spikeir.benchmarks import hardware, peers
from spikeir.chip.hardware_model import SpikeCoreCPU


@pytest.mark.parametrize("init_half", [True, False])
def test_rate_limit_float32_and_int64_agree_with_the_model(init_half: bool) -> None:
    """T = 32 keeps the float32 state exact; T = 3000 exceeds 2^24 and falls back to int64."""
    rng = np.random.default_rng(4)
    net = hardware.make_network(rng)
    x = hardware.mnist_like(rng, 6)
    program = hardware.make_program(net, "dense", rate=True, init_half=init_half)
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    for timesteps in (32, 3000):
        cpu.run(x, timesteps)
        np.testing.assert_array_equal(hardware.limit(net, True, timesteps, init_half)(x), cpu.outputs())


@pytest.mark.slow
def test_host_limit_is_compiled_run() -> None:
    rows = hardware.measure_host(batches=(1, 7), min_total_s=0.0)
    assert [(r["inputs"], r["batch"]) for r in rows] == [("mnist", 1), ("mnist", 7), ("dense", 1), ("dense", 7)]
    for r in rows:
        run_s, limit_s = r["run_s"], r["limit_s"]
        assert isinstance(run_s, float) and isinstance(limit_s, float)
        assert r["ratio_to_limit"] == pytest.approx(run_s / limit_s)


def test_host_limit_detects_a_wrong_quantization(monkeypatch: pytest.MonkeyPatch) -> None:
    """The equality check before timing can fail: quantizing with a float32 reciprocal differs."""
    monkeypatch.setattr(
        hardware, "quantize_to_int8", lambda x, s: np.clip(np.rint(x * np.float32(1 / s) + 0.3), -128, 127)
    )
    with pytest.raises(AssertionError, match="run and limit disagree"):
        hardware.measure_host(batches=(50,), min_total_s=0.0)


@pytest.mark.slow
def test_peers_equal_the_hardware_model() -> None:
    result = peers.measure(batches=(1, 5), min_total_s=0.0)
    assert result["differ"] == {}
    missing = result["missing"]
    assert isinstance(missing, dict) and {"norse", "lava"} <= set(missing)
    rows = result["rows"]
    assert isinstance(rows, list) and [r["batch"] for r in rows] == [1, 5]
    for row in rows:
        timed = set(row["seconds"])
        assert {"spikeir", "numpy limit", "torch"} <= timed
        assert timed | set(missing) >= {"spikeir", "numpy limit", "torch", *peers.PEERS}


def test_a_peer_that_differs_is_not_timed(monkeypatch: pytest.MonkeyPatch) -> None:
    real = peers.plain_torch

    def off(t: peers._Torch) -> peers.Forward:  # pyright: ignore[reportPrivateUsage]
        forward = real(t)
        return lambda x: forward(x) + 1

    monkeypatch.setattr(peers, "plain_torch", off)
    result = peers.measure(batches=(2,), min_total_s=0.0)
    differ = result["differ"]
    assert isinstance(differ, dict) and "torch" in differ
    rows = result["rows"]
    assert isinstance(rows, list) and "torch" not in rows[0]["seconds"]


@pytest.mark.slow
def test_main_host_and_peers_sections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_host, real_peers = hardware.measure_host, peers.measure
    monkeypatch.setattr(hardware, "measure_host", lambda **_: real_host(batches=(2,), min_total_s=0.0))
    monkeypatch.setattr(peers, "measure", lambda **_: real_peers(batches=(2,), min_total_s=0.0))
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--only", "host", "--peers", "--threads", "0", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert set(data) == {"quick", "machine", "host", "peers", "seconds"}
    assert data["machine"]["peak_rss_mib"] > 0


def test_threads_beyond_the_cpus_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bench.os, "cpu_count", lambda: 4)
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--quick", "--threads", "5"])
    assert exit_info.value.code == 2
    assert "--threads 5 exceeds this machine's 4 CPUs" in capsys.readouterr().err
