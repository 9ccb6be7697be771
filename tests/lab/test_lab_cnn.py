"""`spikeir lab --model cnn`: the LeNet-style CNN trained, compiled, run on the hardware model (issue 14, item 4).

The end-to-end tests measure the issue's goals on the real held-out digits: graded (T=1) top-1
agreement with PyTorch >= 99.5%, rate mode within 1 point of the float accuracy by T=32; and the
report validates against docs/report.schema.json with the CNN's layers and feature maps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from schema_check import errors

from spikeir.errors import PlacementError
from spikeir.lab.pipeline import LabOptions, options_from_args, run_lab
from spikeir.options import CompileOptions

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "report.schema.json").read_text())


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One training of the CNN for the tests of this module."""
    return str(tmp_path_factory.mktemp("cnn-cache"))


def test_model_option() -> None:
    assert options_from_args([]).model == "mlp"  # the default stays the seed's MLP
    assert options_from_args(["--model", "cnn"]).model == "cnn"
    with pytest.raises(SystemExit):
        options_from_args(["--model", "rnn"])


def test_a_cnn_that_does_not_fit_fails_before_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_training(*args: object, **kwargs: object) -> Any:
        raise AssertionError("trained although the CNN cannot fit")

    monkeypatch.setattr("spikeir.lab.training.train_or_load", no_training)
    options = LabOptions(
        model="cnn", compiler=CompileOptions(neurons_per_core=1), out=str(tmp_path / "out"), progress=False
    )
    with pytest.raises(PlacementError, match="the CNN does not fit: .*--neurons-per-core"):
        run_lab(options, say=lambda line: None)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_cnn_lab_graded_meets_the_goal(tmp_path: Path, cache: str) -> None:
    out = tmp_path / "out"
    lines: list[str] = []
    options = LabOptions(model="cnn", modes=("graded",), tvm=False, out=str(out), cache_dir=cache, progress=False)
    report = run_lab(options, say=lines.append)
    written = json.loads((out / "report.json").read_text())
    assert errors(written, SCHEMA) == []
    assert written["model"]["kind"] == "cnn" and written["model"]["description"].startswith("LeNet CNN")
    assert "model: LeNet CNN conv6-pool-conv16-pool-400-64-10, trained now" in lines[-1]
    # issue 14's goal, on the 1,000 held-out digits
    assert report.graded["agreement_with_pytorch"] >= 0.995
    names = [row["name"] for row in written["layers"]]
    # the average pools are folded into the layers reading them (nn-fold-pool)
    assert names == ["features.0", "features.3", "classifier.0", "classifier.2"]
    assert written["layers"][0]["placement"]["neurons"] == 6 * 28 * 28  # the first conv's feature map
    assert sum(row["placement"]["synapse_bytes"] for row in written["layers"]) == written["program"]["synapse_bytes"]
    for name in ("feature_maps", "firing_rates", "energy_graded", "core_utilisation"):
        assert (out / "figures" / f"{name}.png").read_bytes()[:4] == b"\x89PNG", name


@pytest.mark.slow
def test_cnn_lab_rate_within_one_point_by_t32(tmp_path: Path, cache: str) -> None:
    out = tmp_path / "out"
    options = LabOptions(
        model="cnn", modes=("rate",), timesteps=(1, 8, 32), tvm=False, out=str(out), cache_dir=cache, progress=False
    )
    report = run_lab(options, say=lambda line: None)
    float_accuracy = report.accuracy["pytorch_float"]["value"]
    assert abs(report.rate["32"]["accuracy"] - float_accuracy) <= 0.01  # issue 14's goal
    assert report.rate["1"]["agreement_with_pytorch"] < report.rate["32"]["agreement_with_pytorch"]
    for name in ("layer_raster", "membrane_traces", "energy_rate"):
        assert (out / "figures" / f"{name}.png").read_bytes()[:4] == b"\x89PNG", name
