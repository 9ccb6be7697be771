"""spikeir.lab.qcfs: the plain vs QCFS side-by-side, on a tiny slice of the lab data (fast)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import spikeir.lab.qcfs as lab_qcfs
from spikeir.lab.data import MNISTSplit, load_mnist
from spikeir.lab.training import MLP, train
from spikeir.options import CompileOptions


@pytest.fixture(scope="module")
def tiny() -> tuple[MLP, MNISTSplit]:
    data = load_mnist()
    small = replace(
        data, x_train=data.x_train[:400], y_train=data.y_train[:400], x_test=data.x_test[:100], y_test=data.y_test[:100]
    )
    model = MLP(hidden=(16,))
    train(model, small.x_train, small.y_train, epochs=2, progress=False)
    return model, small


def test_comparison_rows_table_figure_and_cache(
    tiny: tuple[MLP, MNISTSplit], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, data = tiny
    options = CompileOptions(per_channel=True)
    result = lab_qcfs.qcfs_comparison(
        model, data, options, levels=(2,), timesteps=(2, 1), calibration_samples=100, epochs=1, cache_dir=tmp_path
    )
    assert [row.name for row in result.rows] == ["plain ReLU", "QCFS L=2"]
    assert [row.levels for row in result.rows] == [None, 2]
    assert result.options.mode == "rate" and result.options.per_channel
    assert list(result.rows[1].lambdas) == ["layers.1"]
    for row in result.rows:
        assert sorted(row.rate) == [1, 2]
        for measured in row.rate.values():
            for what in ("accuracy", "agreement"):
                low, high = measured[what]["ci95"]
                assert low <= measured[what]["value"] <= high and measured[what]["samples"] == 100
    table = result.table().splitlines()
    assert len(table) == 2 + 1 + 2 and table[0].startswith("| T | plain ReLU accuracy")
    assert len(result.figure().axes) == 2
    report = result.as_dict()
    assert report["samples"] == 100 and report["models"][1]["rate"]["2"] == result.rows[1].rate[2]
    assert len(list(tmp_path.glob("qcfs-L2-*.pt"))) == 1

    def no_training(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the cached model must be loaded, not retrained")

    monkeypatch.setattr(lab_qcfs, "fine_tune", no_training)
    again = lab_qcfs.qcfs_comparison(
        model, data, options, levels=(2,), timesteps=(2, 1), calibration_samples=100, epochs=1, cache_dir=tmp_path
    )
    assert again.as_dict() == report


def test_output_bias_study_measures_before_and_after(tiny: tuple[MLP, MNISTSplit]) -> None:
    model, data = tiny
    table = lab_qcfs.output_bias_study(
        [("plain", model)], data, CompileOptions(mode="rate"), timesteps=(1, 2), calibration_samples=100
    ).splitlines()
    assert len(table) == 2 + 2 and table[2].startswith("| plain | 1 | ")
    assert all(line.count("%") == 12 for line in table[2:])  # four measurements with their intervals


def test_search_adds_the_plain_model_with_searched_thresholds(tiny: tuple[MLP, MNISTSplit], tmp_path: Path) -> None:
    model, data = tiny
    result = lab_qcfs.qcfs_comparison(
        model, data, levels=(), timesteps=(1,), calibration_samples=100, search=True, cache_dir=tmp_path
    )
    assert [row.name for row in result.rows] == ["plain ReLU", "plain searched"]
    assert result.rows[0].percentiles == {} and set(result.rows[1].percentiles) == {1}
    assert result.as_dict()["models"][1]["percentiles"]["1"] == result.rows[1].percentiles[1]


def test_cli_errors_are_one_line_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as usage:
        lab_qcfs.main(["--timesteps", "4,0"])
    assert usage.value.code == 2 and "expected positive integers" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad:
        lab_qcfs.main(["--method", "percentile", "--percentile", "0"])
    assert bad.value.code == 1
    assert capsys.readouterr().err == "python -m spikeir.lab.qcfs: error: percentile must be in (0, 100], got 0.0\n"
