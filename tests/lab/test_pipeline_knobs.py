"""The lab's compiler and QCFS knobs (issue 16 item 3) and the SNN lab's defaults: parsed into `LabOptions`,
checked before any work, and passed on to what runs (no training: the runners are replaced)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spikeir.lab import pipeline
from spikeir.lab.data import MNISTSplit
from spikeir.lab.pipeline import LabOptionError, LabOptions, check_options, options_from_args, run_lab
from spikeir.tools.cli import main


class _Reached(Exception):
    """Raised by a stand-in runner once it has recorded what it was given."""


def test_defaults_are_the_compile_options_defaults() -> None:
    options = options_from_args([])
    compiler = options.compiler
    assert (compiler.reset, compiler.init_half, compiler.thresholds, compiler.per_channel) == (
        "subtract",
        True,
        "auto",
        False,
    )
    assert options.qcfs_levels is None and not options.qcfs_search


def test_compiler_knobs_reach_compile_options() -> None:
    options = options_from_args(["--reset", "zero", "--no-init-half", "--thresholds", "search"])
    assert (options.compiler.reset, options.compiler.init_half, options.compiler.thresholds) == (
        "zero",
        False,
        "search",
    )
    assert options_from_args(["--thresholds", "model"]).compiler.thresholds == "model"


@pytest.mark.parametrize(
    ("args", "per_channel"),
    [
        (["--model", "snn"], True),
        (["--model", "snn", "--per-layer"], False),
        (["--model", "snn", "--per-channel"], True),
        (["--model", "mlp"], False),
        (["--model", "cnn", "--per-channel"], True),
        (["--per-layer"], False),
    ],
)
def test_snn_scales_per_channel_unless_asked_per_layer(args: list[str], per_channel: bool) -> None:
    assert options_from_args(args).compiler.per_channel is per_channel


@pytest.mark.parametrize(
    "args",
    [["--reset", "keep"], ["--thresholds", "guess"], ["--per-channel", "--per-layer"], ["--qcfs-levels", "4,x"]],
)
def test_bad_knob_syntax_is_a_usage_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        options_from_args(args)
    assert info.value.code == 2 and "error: argument" in capsys.readouterr().err


def test_qcfs_knobs_parse() -> None:
    options = options_from_args(["--qcfs", "--qcfs-levels", "2,16", "--qcfs-search"])
    assert options.qcfs and options.qcfs_levels == (2, 16) and options.qcfs_search


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (LabOptions(qcfs_levels=(4,)), "--qcfs-levels applies to the QCFS side-by-side: add --qcfs"),
        (LabOptions(qcfs_search=True), "--qcfs-search applies to the QCFS side-by-side: add --qcfs"),
        (LabOptions(qcfs=True, qcfs_levels=()), "--qcfs-levels needs at least one value"),
        (
            LabOptions(qcfs=True, qcfs_levels=(4, 0)),
            "--qcfs-levels must be at least 1 (QCFS quantization levels), got 0",
        ),
    ],
)
def test_bad_qcfs_values_fail_in_check_options(options: LabOptions, message: str, tmp_path: Path) -> None:
    options.out = str(tmp_path / "out")
    with pytest.raises(LabOptionError, match=f"^{re.escape(message)}$"):
        check_options(options)
    assert not (tmp_path / "out").exists()


def test_bad_qcfs_levels_fail_at_once_from_the_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("training ran although --qcfs-levels was invalid")

    monkeypatch.setattr("spikeir.lab.training.train_or_load", no_training)
    monkeypatch.setattr("spikeir.lab.data.load_mnist", no_training)
    assert main(["lab", "--qcfs", "--qcfs-levels", "0", "--out", str(tmp_path / "out")]) == 1
    assert "--qcfs-levels must be at least 1" in capsys.readouterr().err


def _lab_run(options: LabOptions) -> Any:
    """A `_LabRun` with a stand-in model and data: enough for `_run_qcfs` to call `qcfs_comparison`."""
    report = pipeline.LabReport(options={})
    lab = pipeline._LabRun(options, report, pipeline._Stopwatch(report.seconds, lambda _line: None))  # pyright: ignore[reportPrivateUsage]
    lab.model, lab.data = object(), object()
    return lab


@pytest.mark.parametrize(
    ("options", "levels", "search"),
    [
        (LabOptions(qcfs=True, qcfs_levels=(2, 16), qcfs_search=True), (2, 16), True),
        (LabOptions(qcfs=True), (4, 8), False),
    ],
)
def test_qcfs_knobs_reach_qcfs_comparison(
    options: LabOptions, levels: tuple[int, ...], search: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def comparison(*args: object, **kwargs: Any) -> None:
        seen.update(kwargs)
        raise _Reached

    monkeypatch.setattr("spikeir.lab.qcfs.qcfs_comparison", comparison)
    with pytest.raises(_Reached):
        pipeline._run_qcfs(_lab_run(options))  # pyright: ignore[reportPrivateUsage]
    assert tuple(seen["levels"]) == levels and seen["search"] is search


def test_snn_cache_dir_reaches_run_snn_lab(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.random((8, 1, 28, 28)).astype(np.float32)
    labels = np.arange(8, dtype=np.int64) % 10
    monkeypatch.setattr(
        "spikeir.lab.data.load_mnist", lambda _dir=None: MNISTSplit(images, labels, images, labels, "t")
    )
    seen: dict[str, Any] = {}

    def snn_lab(*args: object, **kwargs: Any) -> None:
        seen.update(kwargs)
        raise _Reached

    monkeypatch.setattr("spikeir.lab.snn.run_snn_lab", snn_lab)
    options = options_from_args(
        ["--model", "snn", "--timesteps", "4", "--calibration-samples", "4", "--cache-dir", str(tmp_path / "c")]
    )
    options.out = str(tmp_path / "out")
    with pytest.raises(_Reached):
        run_lab(options, say=lambda _line: None)
    assert seen["cache_dir"] == tmp_path / "c" and seen["per_channel"] is True
