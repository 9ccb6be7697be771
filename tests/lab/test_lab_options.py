"""`spikeir lab` checks every option before any work (issue 19, items 11 and 13; issue 20, items 3 and 7).

A mistake is one line, ``spikeir lab: error: ...``, exit status 1 (2 for argparse's syntax errors),
never "internal error", and nothing is trained: these tests replace the training (and, where the
data are not needed, the loading) with functions that fail if called. The network must fit the
target before it is trained; the summary says whether the model was trained now or loaded.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spikeir.errors import DataError, PlacementError
from spikeir.lab import pipeline
from spikeir.lab.pipeline import (
    MAX_EPOCHS,
    MAX_HIDDEN_LAYERS,
    MAX_TIMESTEPS,
    MAX_WIDTH,
    LabOptionError,
    LabOptions,
    LabReport,
    check_data,
    check_fits,
    check_options,
    layer_demands,
    model_provenance,
    options_from_args,
    render_markdown,
    render_summary,
    run_lab,
)
from spikeir.options import CompileOptions, OptionError
from spikeir.tools.cli import main

SPIKEIR = Path(sys.executable).parent / "spikeir"


def _must_not_run(what: str) -> Any:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"{what} ran although the options were invalid")

    return fail


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither data loading nor training may happen (run_lab imports both when it runs)."""
    monkeypatch.setattr("spikeir.lab.training.train_or_load", _must_not_run("training"))
    monkeypatch.setattr("spikeir.lab.data.load_mnist", _must_not_run("data loading"))


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("spikeir.lab.training.train_or_load", _must_not_run("training"))


def lab_error(capsys: pytest.CaptureFixture[str], *args: str, place: str = "spikeir lab") -> str:
    """Run ``spikeir lab ARGS`` in this process; check it failed with one line ``{place}: error: ...``
    (the place is the file for an error in a file) and return the message."""
    status = main(["lab", *args])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert status == 1, captured.err
    assert len(lines) == 1 and lines[0].startswith(f"{place}: error: "), captured.err
    assert "internal error" not in captured.err and "Traceback" not in captured.err
    assert "[lab] train" not in captured.out
    return lines[0].removeprefix(f"{place}: error: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--percentile", "150"], "percentile must be in (0, 100], got 150.0"),
        (["--percentile", "0"], "percentile must be in (0, 100]"),
        (["--timesteps", "0"], f"--timesteps must be in 1..{MAX_TIMESTEPS}, got 0"),
        (["--timesteps", "1,100000"], f"--timesteps must be in 1..{MAX_TIMESTEPS}, got 100000"),
        (["--timesteps", "-3"], "--timesteps must be in"),
        (["--calibration-samples", "-5"], "--calibration-samples must be at least 1 (training digits), got -5"),
        (["--calibration-samples", "0"], "--calibration-samples must be at least 1"),
        (["--epochs", "-1"], f"--epochs must be in 0..{MAX_EPOCHS}, got -1"),
        (["--epochs", "100000"], f"--epochs must be in 0..{MAX_EPOCHS}, got 100000"),
        (["--seed", "-1"], "--seed must be in 0..4294967295, got -1"),
        (["--hidden", "0"], "--hidden must be at least 1 (neurons per hidden layer), got 0"),
        (["--hidden", "64,-2"], "--hidden must be at least 1"),
        (["--hidden", ",".join(["4"] * (MAX_HIDDEN_LAYERS + 1))], f"at most {MAX_HIDDEN_LAYERS} hidden layers"),
        (["--neurons-per-core", "-1"], "neurons_per_core must be 0 (the target's value) or more, got -1"),
        (["--target", "nope"], "unknown target 'nope'"),
    ],
)
def test_out_of_range_options_fail_before_any_work(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], no_work: None, tmp_path: Path
) -> None:
    assert message in lab_error(capsys, *args, "--out", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_syntax_errors_stay_argparse_errors(capsys: pytest.CaptureFixture[str], no_work: None) -> None:
    with pytest.raises(SystemExit) as info:
        main(["lab", "--timesteps", "0,x"])
    assert info.value.code == 2
    assert "argument --timesteps: expected comma-separated integers, got '0,x'" in capsys.readouterr().err


def test_a_network_too_big_for_the_target_fails_fast_before_training(tmp_path: Path) -> None:
    # It used to train for minutes at 9 GB before placement said so.
    start = time.perf_counter()
    done = subprocess.run(
        [str(SPIKEIR), "lab", "--hidden", "100000", "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    seconds = time.perf_counter() - start
    assert done.returncode == 1, done.stderr
    assert seconds < 10, seconds
    assert "[lab]" not in done.stdout  # not even the data were loaded
    (line,) = done.stderr.splitlines()
    assert line.startswith("spikeir lab: error: the MLP 784-100000-10 does not fit: the network needs 609 cores")
    assert '"layers.0" 599' in line and "has 100000 neurons" in line  # the layer, and what it needs
    assert "reduce the layer width" in line and "--hidden sets the widths" in line  # what would make it fit
    assert not list(tmp_path.glob("*.pt")) and not (tmp_path / "out").exists()


def test_placement_error_names_the_lab_option_that_fixes_it(
    capsys: pytest.CaptureFixture[str], no_work: None, tmp_path: Path
) -> None:
    out = str(tmp_path / "out")
    line = lab_error(capsys, "--hidden", "200", "--neurons-per-core", "1", "--out", out)
    assert "the network needs 210 cores" in line and "neurons-per-core=2" in line
    line = lab_error(capsys, "--hidden", "100,200000", "--out", out)
    assert 'layer "layers.4": one neuron needs 200000 bytes of synaptic memory' in line
    # placement speaks first; the lab's own width bound is for targets big enough to place more
    with pytest.raises(LabOptionError, match=f"--hidden must be in 1..{MAX_WIDTH}"):
        check_options(
            LabOptions(hidden=(MAX_WIDTH + 1,), compiler=CompileOptions(cores=60000, neurons_per_core=60000), out=out)
        )


@pytest.mark.parametrize(
    ("hidden", "compiler", "fits"),
    [
        ((64,), CompileOptions(), True),
        ((64, 32), CompileOptions(per_channel=True), True),
        ((150,), CompileOptions(target="spikecore-v1-seed"), False),
        ((100,), CompileOptions(neurons_per_core=1), True),
        ((128, 127), CompileOptions(neurons_per_core=1), False),
    ],
)
def test_the_early_placement_check_agrees_with_compiling(
    hidden: tuple[int, ...], compiler: CompileOptions, fits: bool
) -> None:
    # The check before training must say exactly what compiling the trained model would: compile an
    # untrained MLP of the same shape and compare the groups, and the verdict, with layer_demands.
    import spikeir
    from spikeir.dialects import spikecore
    from spikeir.lab.training import MLP
    from spikeir.passes.place import group_demand

    model = MLP(hidden).eval()
    x = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    try:
        compiled = spikeir.compile(model, x[:1], calibration=x, options=compiler)
    except PlacementError as error:
        assert not fits
        with pytest.raises(PlacementError) as early:
            check_fits(hidden, compiler)
        assert error.message in early.value.message
        return
    assert fits
    check_fits(hidden, compiler)
    groups = [op for op in compiled.module.walk() if isinstance(op, spikecore.GroupOp)]
    assert [group_demand(g) for g in groups] == layer_demands(hidden)


def test_out_that_is_a_file_fails_first(capsys: pytest.CaptureFixture[str], no_work: None, tmp_path: Path) -> None:
    afile = tmp_path / "report.txt"
    afile.write_text("keep me")
    assert (
        lab_error(capsys, "--out", str(afile))
        == f"--out {afile}: exists and is not a folder (the lab writes a folder of files)"
    )
    assert (
        lab_error(capsys, "--out", str(afile / "sub"))
        == f"--out {afile / 'sub'}: cannot create it, {afile} is not a folder"
    )
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "figures").write_text("")
    assert "figures exists and is not a folder" in lab_error(capsys, "--out", str(tmp_path / "out"))
    assert afile.read_text() == "keep me"


def test_out_that_cannot_be_written_fails_first(
    capsys: pytest.CaptureFixture[str], no_work: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # (root may write anywhere, so the permission check itself is replaced)
    monkeypatch.setattr(pipeline.os, "access", lambda path, mode: Path(path) != tmp_path)
    line = lab_error(capsys, "--out", str(tmp_path / "new" / "out"))
    assert line == f"--out {tmp_path / 'new' / 'out'}: {tmp_path} is not writable"


def test_calibration_samples_beyond_the_training_set(capsys: pytest.CaptureFixture[str], no_training: None) -> None:
    # Used to mean "all of them" silently (and -5 "all but 5").
    line = lab_error(capsys, "--calibration-samples", "4001", "--no-tvm")
    assert line == "--calibration-samples must be at most the 4000 training digits, got 4001"


def _write_idx(folder: Path, n_train: int, n_test: int) -> None:
    from spikeir.lab.data import IMAGE_MAGIC, LABEL_MAGIC

    def idx(magic: int, array: np.ndarray) -> bytes:
        header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
        return header + array.astype(np.uint8).tobytes()

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", n_train), ("t10k", n_test)):
        images = (rng.random((count, 28, 28)) < 0.2) * rng.integers(0, 256, (count, 28, 28))
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(idx(IMAGE_MAGIC, images))
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(idx(LABEL_MAGIC, np.arange(count) % 10))


@pytest.mark.parametrize(("n_train", "n_test"), [(20, 0), (0, 20)])
def test_an_empty_data_set_is_a_user_error(
    n_train: int, n_test: int, capsys: pytest.CaptureFixture[str], no_training: None, tmp_path: Path
) -> None:
    # Used to be "internal error: ZeroDivisionError" (empty test set) or "ValueError: no training data".
    _write_idx(tmp_path / "mnist", n_train, n_test)
    labels = tmp_path / "mnist" / f"{'t10k' if n_test == 0 else 'train'}-labels-idx1-ubyte"
    args = ("--data-dir", str(tmp_path / "mnist"), "--out", str(tmp_path / "out"))
    assert lab_error(capsys, *args, place=str(labels)) == "holds no digits (the header declares 0): need at least one"


def test_python_api_checks_too(no_work: None, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    with pytest.raises(LabOptionError, match="--epochs must be in"):
        run_lab(LabOptions(epochs=-1, out=out))
    with pytest.raises(LabOptionError, match="--epochs must be an integer"):
        run_lab(LabOptions(epochs=2.5, out=out))  # type: ignore[arg-type]
    with pytest.raises(LabOptionError, match="--mode must be graded, rate or both"):
        run_lab(LabOptions(modes=("spiking",), out=out))
    with pytest.raises(LabOptionError, match="--timesteps needs at least one value"):
        run_lab(LabOptions(timesteps=(), out=out))
    with pytest.raises(OptionError, match="percentile"):
        options_from_args(["--percentile", "150"])


def test_data_check_on_its_own() -> None:
    # What run_lab checks once the data are loaded, whatever loaded them.
    from spikeir.lab.data import load_mnist

    full = load_mnist()
    check_data(LabOptions(calibration_samples=4000), full)
    with pytest.raises(DataError, match="the test set is empty"):
        check_data(LabOptions(), dataclasses.replace(full, x_test=full.x_test[:0], y_test=full.y_test[:0]))
    with pytest.raises(LabOptionError, match="at most the 10 training digits, got 500"):
        check_data(LabOptions(), dataclasses.replace(full, x_train=full.x_train[:10], y_train=full.y_train[:10]))


def test_summary_says_where_the_model_came_from() -> None:
    trained = {"hidden": [64], "epochs": 12, "cached": False, "train_seconds": 10.5, "cache_file": "/c/m.pt"}
    cached = dict(trained, cached=True)
    assert model_provenance(trained) == "trained now (12 epochs, 10.5 s)"
    assert model_provenance(cached) == "loaded from cache (/c/m.pt)"
    report = LabReport(options={}, training=dict(cached, model=model_provenance(cached)))
    assert "model: MLP 784-64-10, loaded from cache (/c/m.pt)\n" in render_summary(report)
    assert "| model | MLP 784-64-10, loaded from cache (/c/m.pt) |\n" in render_markdown(report)
    # a report.json written before the "model" key existed still renders
    assert "model: MLP 784-64-10, trained now (12 epochs, 10.5 s)" in render_summary(LabReport({}, training=trained))


@pytest.mark.slow
def test_lab_on_small_data_trains_then_loads_from_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Two real (small) runs: the first trains, the second loads, and each says so in all three places.
    _write_idx(tmp_path / "mnist", 60, 20)
    args = ["--data-dir", str(tmp_path / "mnist"), "--hidden", "16", "--epochs", "1", "--mode", "graded"]
    args += ["--no-tvm", "--calibration-samples", "60", "--cache-dir", str(tmp_path / "cache"), "--no-progress"]
    for run, expected in enumerate(("trained now (1 epochs, ", "loaded from cache (")):
        out = tmp_path / f"out{run}"
        assert main(["lab", *args, "--out", str(out)]) == 0
        console = capsys.readouterr().out
        assert f"model: MLP 784-16-10, {expected}" in console
        report = json.loads((out / "report.json").read_text())
        assert report["training"]["model"].startswith(expected) and report["training"]["cached"] is bool(run)
        assert f"| model | MLP 784-16-10, {expected}" in (out / "report.md").read_text()
    assert str(tmp_path / "cache") in report["training"]["model"]
