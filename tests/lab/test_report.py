"""report.json against docs/report.schema.json, and what its numbers must satisfy (issue 20, item 4).

One small real lab run (a 784-16-10 MLP, one epoch, the real digits, graded and rate T=1,4, no TVM)
is validated against the schema; the check itself is shown to fail when a field goes missing or
changes type, and the per-layer numbers are checked against the run's own totals.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from schema_check import errors

from spikeir.lab.pipeline import LabOptions, progress_lines, run_lab
from spikeir.lab.report import proportion, wilson_interval

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "report.schema.json").read_text())


@pytest.fixture(scope="module")
def lab_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    root = tmp_path_factory.mktemp("report")
    options = LabOptions(
        hidden=(16,),
        epochs=1,
        timesteps=(4, 1),
        tvm=False,
        out=str(root / "out"),
        cache_dir=str(root / "cache"),
        progress=False,
    )
    lines: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        # --qcfs's wiring, with the comparison itself replaced (tests/qcfs measures the real one)
        patch.setattr("spikeir.lab.qcfs.qcfs_comparison", _FakeComparison)
        run_lab(dataclasses.replace(options, qcfs=True), say=lines.append)
    report = json.loads((root / "out" / "report.json").read_text())
    assert any(line.startswith("[lab] train: done in ") for line in lines)  # progress lines
    assert "[lab] QCFS side by side ..." in lines
    return report, root / "out"


class _FakeComparison:
    """What the lab uses of a `QCFSComparison`: its dict, table and figure."""

    def __init__(self, plain: object, data: object, options: object, **kwargs: Any) -> None:
        self.timesteps = kwargs["timesteps"]

    def as_dict(self) -> dict[str, Any]:
        return {"samples": 1000, "timesteps": self.timesteps}

    def table(self) -> str:
        return "| T | plain ReLU accuracy |\n|---|---|\n"

    def figure(self) -> Any:
        from matplotlib.figure import Figure

        figure = Figure()
        figure.subplots().plot([1, 2])
        return figure


def test_report_json_validates_against_its_schema(lab_run: tuple[dict[str, Any], Path]) -> None:
    report, _ = lab_run
    assert errors(report, SCHEMA) == []
    assert report["provenance"]["report_version"] == 2 and report["model"]["kind"] == "mlp"
    assert list(report["rate"]) == ["1", "4"] and report["rate"]["4"]["timesteps"] == 4  # keyed by T, in order


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r["provenance"].pop("git_commit"), "$.provenance: missing required field 'git_commit'"),
        (lambda r: r["layers"][0]["placement"].pop("cores"), "$.layers[0].placement: missing required field 'cores'"),
        (lambda r: r["accuracy"]["pytorch_float"].update(value="92%"), "$.accuracy.pytorch_float.value: expected number"),
        (lambda r: r["rate"]["4"].update(timesteps=4.0), "$.rate.4.timesteps: expected integer"),
        (lambda r: r["rate"].update(T4=r["rate"]["4"]), "$.rate: field 'T4' is not in the schema"),
        (lambda r: r["energy"]["graded"]["by_kind_pj"].update(synaptic_ops=True), "by_kind_pj.synaptic_ops: expected number"),
        (lambda r: r["layers"][1]["graded"].update(firing_rate=1.5), "firing_rate: 1.5 is above the maximum 1"),
        (lambda r: r.pop("confusion"), "$: missing required field 'confusion'"),
        (lambda r: r["confusion"]["spikecore_graded"].pop(), "$.confusion.spikecore_graded: 9 items, fewer than 10"),
    ],
)
def test_schema_check_fails_when_a_field_goes_missing_or_changes_type(
    lab_run: tuple[dict[str, Any], Path], change: Any, expected: str
) -> None:
    broken = copy.deepcopy(lab_run[0])
    change(broken)
    found = errors(broken, SCHEMA)
    assert any(expected in line for line in found), found


def test_schema_uses_only_keywords_the_check_implements() -> None:
    with pytest.raises(ValueError, match="does not implement: \\['oneOf'\\]"):
        errors({}, {"oneOf": []})


def test_layer_numbers_add_up_to_the_run_totals(lab_run: tuple[dict[str, Any], Path]) -> None:
    report, _ = lab_run
    layers = report["layers"]
    assert [row["name"] for row in layers] == ["layers.0", "layers.2"]
    assert [row["placement"]["neurons"] for row in layers] == [16, 10]
    assert [row["placement"]["output"] for row in layers] == [False, True]
    assert sum(row["placement"]["synapse_bytes"] for row in layers) == report["program"]["synapse_bytes"]
    for mode, per_sample in (("graded", report["graded"]["stats_per_sample"]), ("rate", report["rate"]["4"]["stats_per_sample"])):
        assert sum(row[mode]["synaptic_ops"] for row in layers) == pytest.approx(per_sample["synaptic_ops"])
        assert sum(row[mode]["spikes"] for row in layers) == pytest.approx(per_sample["spikes"])
        energy = report["energy"][mode]
        assert sum(energy["by_kind_pj"].values()) == pytest.approx(energy["total_pj"])
        assert energy["total_pj"] == pytest.approx(per_sample["energy_pj"])
        # by layer: everything but the deliveries
        deliveries = energy["by_kind_pj"]["deliveries_intra_core"] + energy["by_kind_pj"]["deliveries_inter_core"]
        assert sum(energy["by_layer_pj"].values()) + deliveries == pytest.approx(energy["total_pj"])
        hidden = layers[0][mode]
        steps = 1 if mode == "graded" else 4
        assert hidden["firing_rate"] == pytest.approx(hidden["spikes"] / (16 * steps))
        assert hidden["sparsity"] == pytest.approx(1 - hidden["firing_rate"])
    assert layers[1]["graded"]["spikes"] == 0  # the output layer accumulates, it never fires


def test_accuracies_carry_counts_intervals_and_confusion(lab_run: tuple[dict[str, Any], Path]) -> None:
    report, _ = lab_run
    graded = report["accuracy"]["spikecore_graded"]
    assert graded["samples"] == 1000 and graded["value"] == report["graded"]["accuracy"] == graded["correct"] / 1000
    low, high = graded["ci95"]
    assert low < graded["value"] < high
    matrix = np.asarray(report["confusion"]["spikecore_graded"])
    assert matrix.sum() == 1000 and np.trace(matrix) == graded["correct"]
    assert set(report["accuracy"]["spikecore_rate"]) == {"1", "4"}


def test_report_md_is_markdown_tables(lab_run: tuple[dict[str, Any], Path]) -> None:
    _, out = lab_run
    text = (out / "report.md").read_text()
    assert "```" not in text  # not the console text in a code block
    assert "| path | accuracy | 95% interval | agreement with PyTorch |\n|:---|---:|---:|---:|\n" in text
    assert "| `layers.0` | 16 | 0 |" in text
    assert "| SpikeCore rate T=4 |" in text and "## Energy" in text
    for name in ("firing_rates", "energy_graded", "confusion_spikecore_graded", "layer_raster", "membrane_traces"):
        assert (out / "figures" / f"{name}.png").read_bytes()[:4] == b"\x89PNG", name
    assert not (out / "figures" / "feature_maps.png").exists()  # the MLP has no 4-d activations


def test_wilson_interval() -> None:
    # reference values: Wilson score interval, z = 1.96
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(922, 1000) == pytest.approx((0.9037, 0.9371), abs=1e-4)
    assert wilson_interval(1000, 1000)[1] == 1.0 and wilson_interval(0, 0) == (0.0, 1.0)
    entry = proportion(np.array([True, False, True, True]))
    assert entry["value"] == 0.75 and entry["correct"] == 3 and entry["samples"] == 4


def test_qcfs_side_by_side_is_in_the_report(lab_run: tuple[dict[str, Any], Path]) -> None:
    report, out = lab_run
    assert report["qcfs"]["timesteps"] == [1, 4] and report["qcfs"]["table_markdown"].startswith("| T |")
    assert "## QCFS side by side" in (out / "report.md").read_text()
    assert (out / "figures" / "qcfs.png").read_bytes()[:4] == b"\x89PNG"


def test_progress_lines_in_logs() -> None:
    lines: list[str] = []
    update = progress_lines(1000, "TVM Relax BYOC", True, lines.append)  # stderr is not a terminal here
    for done in range(1, 1001):
        update(done)
    assert lines == [f"[lab] TVM Relax BYOC: {n}/1000" for n in (250, 500, 750, 1000)]
    quiet: list[str] = []
    update = progress_lines(10, "x", False, quiet.append)
    update(10)
    assert quiet == []
