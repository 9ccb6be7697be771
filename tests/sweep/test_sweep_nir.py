"""A sweep of a .nir model, in this process: points vary from_nir's options and the input streams; each
point's numbers are those of the CompiledSNN run directly on the same streams, whatever the sharding."""

from __future__ import annotations

from pathlib import Path

import nir
import numpy as np
import pytest
from sweep_support import point_lines

from spikeir.frontends.nir import from_nir
from spikeir.sweep.cli import main
from spikeir.sweep.models import EvalSet, load_model
from spikeir.sweep.nir_points import NIRPoint
from spikeir.sweep.runner import run_sweep
from spikeir.sweep.space import space_from_mapping

RNG = np.random.default_rng(21)
N_IN, N_HID, N_OUT, SAMPLES = 20, 12, 3, 30
SPACE = {"conventions": ["nir", "sinabs"], "encoder": ["rate", "latency"], "timesteps": 6, "per_channel": [False]}


def _nir_file(folder: Path) -> Path:
    """20 -> LIF(12) -> IF(3), written with nir.write."""
    w1, w2 = RNG.normal(0, 1.0, (N_HID, N_IN)), RNG.normal(0, 1.0, (N_OUT, N_HID))
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input({"input": np.array([N_IN])}),
            "fc1": nir.Linear(w1),
            "h": nir.LIF(np.full(N_HID, 4.0), np.full(N_HID, 4.0), np.zeros(N_HID), np.full(N_HID, 0.8)),
            "fc2": nir.Linear(w2),
            "o": nir.IF(np.ones(N_OUT), np.full(N_OUT, 0.7)),
            "output": nir.Output({"output": np.array([N_OUT])}),
        },
        edges=[("input", "fc1"), ("fc1", "h"), ("h", "fc2"), ("fc2", "o"), ("o", "output")],
    )
    path = folder / "net.nir"
    nir.write(path, graph)
    return path


def _data() -> EvalSet:
    x = RNG.uniform(0, 1, (SAMPLES, N_IN)).astype(np.float32)
    y = RNG.integers(0, N_OUT, SAMPLES).astype(np.int64)
    return EvalSet(x, y, x[:8], f"{SAMPLES} random intensities", "nir-test-data")


def _measured(record: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in record.items() if "seconds" not in k and k != "shards"}


def test_nir_sweep_points_equal_the_compiled_snn_run_directly(tmp_path: Path) -> None:
    path, data = _nir_file(tmp_path), _data()
    model = load_model(path)
    assert model.spiking and model.identity.startswith("net.nir:")
    space = space_from_mapping({**SPACE, "mode": ["graded", "rate"]}, "test")
    kwargs = {"engine": "local", "figures": False, "progress": False, "say": lambda _: None}
    run_sweep(space, model, data, out=tmp_path / "a", shard_size=7, **kwargs)  # type: ignore[arg-type]
    records = point_lines(tmp_path / "a" / "results.jsonl")
    invalid = [r for r in records if r["status"] != "ok"]
    assert len(invalid) == 8 and {r["failure"] for r in invalid} == {"bad option"}
    assert "option mode does not apply to a NIR graph" in str(invalid[0]["reason"])
    space = space_from_mapping(SPACE, "test")
    run_sweep(space, model, data, out=tmp_path / "b", shard_size=7, **kwargs)  # type: ignore[arg-type]
    run_sweep(space, model, data, out=tmp_path / "c", shard_size=SAMPLES, **kwargs)  # type: ignore[arg-type]
    sharded, whole = point_lines(tmp_path / "b" / "results.jsonl"), point_lines(tmp_path / "c" / "results.jsonl")
    assert len(sharded) == 4 and all(r["status"] == "ok" for r in sharded) and sharded[0]["shards"] == 5
    for a, b in zip(sharded, whole, strict=True):  # independent of the sharding
        assert _measured(a).keys() == _measured(b).keys()
        for key, value in _measured(a).items():
            assert value == (pytest.approx(b[key], rel=1e-12) if isinstance(value, float) else b[key]), key
    for record in sharded:
        options = record["options"]
        compiled = from_nir(path, options["conventions"], None, False)
        point = NIRPoint(compiled, options["encoder"], 6, 0)
        stream = point.streams(data.x, 0)
        chip = compiled.run(stream).argmax(1)
        float_model = compiled.run_float(stream).argmax(1)
        stats = compiled.last_run
        assert stats is not None and record["timesteps"] == 6
        assert record["accuracy"] == float(np.mean(chip == data.y))
        assert record["agreement"] == float(np.mean(chip == float_model))
        assert record["spikes"] == stats.spikes / SAMPLES and record["synaptic_ops"] == stats.synaptic_ops / SAMPLES
        assert record["energy_nj"] == pytest.approx(stats.energy_pj / SAMPLES / 1000) and record["spikes"] > 0
        assert record["mode"] == "nir" and record["instructions"] == len(compiled.program)
    latency = [r for r in sharded if r["options"]["encoder"] == "latency"]
    assert all(r["input_events"] <= N_IN for r in latency)  # one event per input at most


def test_cli_takes_a_nir_model_with_its_own_default_space(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, data = _nir_file(tmp_path), _data()
    files = []
    for name, array in (("x", data.x), ("y", data.y), ("c", data.calibration)):
        files.append(tmp_path / f"{name}.npy")
        np.save(files[-1], array)
    argv = ["--model", str(path), "--inputs", str(files[0]), "--labels", str(files[1]), "--calibration", str(files[2])]
    argv += ["--engine", "local", "--no-figures", "--no-progress", "--out", str(tmp_path / "out")]
    argv += ["--vary", "timesteps=4", "--vary", "encoder=rate,latency"]
    assert main(argv) == 0
    records = point_lines(tmp_path / "out" / "results.jsonl")
    assert [r["options"] for r in records] == [
        {"timesteps": 4, "encoder": "rate"},
        {"timesteps": 4, "encoder": "latency"},
    ]
    assert all(r["status"] == "ok" for r in records) and "best 2 of 2 measured points" in capsys.readouterr().out
