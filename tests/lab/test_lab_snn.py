"""`spikeir lab --model snn`: the NIR helper's SNN lab (`spikeir.lab.snn.run_snn_lab`) behind the lab's command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from schema_check import errors

from spikeir.lab.pipeline import LabOptionError, LabOptions, run_lab

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "report.schema.json").read_text())


def test_snn_takes_one_hidden_layer_and_one_t(tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    with pytest.raises(LabOptionError, match="one hidden layer for one number of timesteps"):
        run_lab(LabOptions(model="snn", hidden=(32, 16), timesteps=(4,), out=out), say=lambda line: None)
    with pytest.raises(LabOptionError, match="one hidden layer for one number of timesteps"):
        run_lab(LabOptions(model="snn", hidden=(16,), timesteps=(4, 8), out=out), say=lambda line: None)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_snn_lab_reports_like_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPIKEIR_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    lines: list[str] = []
    options = LabOptions(model="snn", hidden=(16,), timesteps=(4,), epochs=1, out=str(out), progress=False)
    run_lab(options, say=lines.append)
    report = json.loads((out / "report.json").read_text())
    assert errors(report, SCHEMA) == []
    assert report["model"]["kind"] == "snn" and [r["name"] for r in report["snn"]["runs"]] == ["snn", "snn_recurrent"]
    for run in report["snn"]["runs"]:
        assert run["agreement"] >= 0.95  # the chip against the float SNN on the same spike streams
        assert report["accuracy"][f"{run['name']}_spikecore"]["samples"] == 1000
    assert "snn.nir" in report["files"] and all((out / f).exists() for f in report["files"])
    text = (out / "report.md").read_text()
    assert "| model | LIF SNN 784-16-10 through NIR |" in text and "| `snn_recurrent` |" in text
    assert lines[-1].splitlines()[0].startswith("network")  # the SNN lab's table ends the console output
