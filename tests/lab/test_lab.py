"""End to end: `spikeir lab` trains, compiles through both paths, runs on the hardware model and reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SPIKEIR = Path(sys.executable).parent / "spikeir"


@pytest.mark.slow
def test_lab_runs_end_to_end_and_agrees_with_pytorch(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = subprocess.run(
        [
            str(SPIKEIR),
            "lab",
            "--out",
            str(out),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--epochs",
            "4",
            "--timesteps",
            "1,8,32",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    assert "SpikeCore Lab summary" in done.stdout
    assert "model: MLP 784-64-10, trained now (4 epochs, " in done.stdout  # a fresh cache: trained, and says so
    report = json.loads((out / "report.json").read_text())
    # Graded mode is the int8 network, computed by the hardware model on the whole held-out set.
    assert report["data"]["test"] == 1000
    assert report["graded"]["agreement_with_pytorch"] >= 0.99
    assert report["graded"]["stats_per_sample"]["synaptic_ops"] > 0
    # Rate mode approaches the graded result as T grows.
    rate = {int(t): r["agreement_with_pytorch"] for t, r in report["rate"].items()}
    assert rate[1] < rate[8] <= rate[32] + 0.02 and rate[32] >= 0.95
    # The TVM heterogeneous path computes the same outputs as the standalone path, bit for bit.
    assert report["tvm"]["regions"] == 1 and report["tvm"]["bit_exact_with_standalone"] is True
    for name in (
        "program.s",
        "program.bin",
        "program_rate.s",
        "relax_partitioned.py",
        "report.md",
        "ir/00-input.mlir",
        "figures/spike_raster.png",
        "figures/compilation_graph.png",
        "figures/weights_layer0.png",
        "figures/comparison.png",
        "figures/accuracy_vs_timesteps.png",
        "figures/core_utilisation.png",
    ):
        assert (out / name).stat().st_size > 0, name
    assert 'Codegen": "spikecore"' in (out / "relax_partitioned.py").read_text()
    assert (out / "figures/spike_raster.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_lab_rejects_bad_options(tmp_path: Path) -> None:
    done = subprocess.run([str(SPIKEIR), "lab", "--timesteps", "0,x"], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    done = subprocess.run(
        [str(SPIKEIR), "lab", "--data-dir", str(tmp_path / "missing"), "--out", str(tmp_path / "o"), "--no-tvm"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "error:" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "o").exists()
    done = subprocess.run(
        [str(SPIKEIR), "lab", "--target", "nope", "--out", str(tmp_path / "o")], capture_output=True, text=True
    )
    assert done.returncode == 1 and done.stderr.endswith(
        "spikeir lab: error: unknown target 'nope'; known targets: spikecore-v1, spikecore-v1-seed\n"
    )
    assert "[lab] load data" not in done.stdout + done.stderr


def test_lab_trains_the_same_model_as_train_or_load() -> None:
    from spikeir.lab.pipeline import DEFAULT_LAB_EPOCHS, LabOptions, trained_epochs
    from spikeir.lab.training import DEFAULT_EPOCHS, DEFAULT_HIDDEN

    # One cached model serves the lab, the notebook and the README's snippets.
    assert trained_epochs(LabOptions()) == DEFAULT_EPOCHS == DEFAULT_LAB_EPOCHS
    assert LabOptions().hidden == tuple(DEFAULT_HIDDEN)
    assert trained_epochs(LabOptions(epochs=3)) == 3
