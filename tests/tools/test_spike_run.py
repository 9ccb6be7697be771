"""The ``spike-run`` command: its results against the hardware model, and clean errors for bad input."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.image import save_image
from spikeir.chip.isa import Program
from spikeir.tools.spike_run import main
from support.programs import SMALL, small_program

SPIKE_RUN = Path(sys.executable).parent / "spike-run"


def expected_outputs(program: Program, x: np.ndarray, timesteps: int) -> np.ndarray:
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    cpu.run(x, timesteps=timesteps)
    return np.asarray(cpu.outputs())


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {name: tmp_path / name for name in ("net.s", "net.spk", "x.npy", "batch.npy", "floats.npy", "images.npy")}
    paths["net.s"].write_text(SMALL)
    save_image(small_program(), paths["net.spk"])
    np.save(paths["x.npy"], np.array([10, -5, 127, 3], np.int8))
    np.save(paths["batch.npy"], np.array([[10, -5, 127, 3], [0, 0, 0, 0], [5, 0, 100, 1]], np.int8))
    np.save(paths["floats.npy"], np.array([[0.5, -0.25, 0.99, 0.0], [0.1, 0.2, 0.3, 0.4]], np.float32))
    np.save(paths["images.npy"], np.arange(12, dtype=np.int8).reshape(3, 2, 2))
    return paths


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SPIKE_RUN), *map(str, args)], capture_output=True, text=True, timeout=60)


def test_text_and_image_give_the_hardware_model_results(files: dict[str, Path]) -> None:
    x = np.load(files["batch.npy"])
    expected = expected_outputs(small_program(), x, timesteps=4)
    for program in (files["net.s"], files["net.spk"]):
        done = run_cli(program, "--input", files["batch.npy"], "--timesteps", "4", "--json")
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["batch"] == 3 and result["timesteps"] == 4
        assert np.array_equal(result["outputs"], expected)
        logits = expected * 0.000123 / 4
        assert np.allclose(result["logits"], logits, rtol=1e-12, atol=0)
        assert result["argmax"] == np.argmax(logits, axis=1).tolist()
        assert result["stats"]["batch"] == 3 and result["stats"]["energy_pj"] > 0


def test_text_report(files: dict[str, Path]) -> None:
    done = run_cli(files["net.s"], "--input", files["x.npy"], "-T", "2")
    assert done.returncode == 0 and done.stderr == ""
    v = expected_outputs(small_program(), np.load(files["x.npy"]), timesteps=2)
    assert f"sample 0: argmax {int(np.argmax(v))}" in done.stdout
    assert "  V      [" in done.stdout and "logits" in done.stdout
    assert "synaptic_ops" in done.stdout and "energy is an estimate" in done.stdout


def test_float_input_is_quantized_with_the_input_scale(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    floats = np.load(files["floats.npy"])
    payloads = np.clip(np.round(floats.astype(np.float64) / 0.0078125), -128, 127).astype(np.int8)
    assert main([str(files["net.s"]), "--input", str(files["floats.npy"]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert np.array_equal(result["outputs"], expected_outputs(small_program(), payloads, 1))


def test_batch_from_file_flattens_samples(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    images = np.load(files["images.npy"])
    assert main([str(files["net.spk"]), "--input", str(files["images.npy"]), "--batch-from-file", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert np.array_equal(result["outputs"], expected_outputs(small_program(), images.reshape(3, 4), 1))


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_spike_log_of_a_lane(
    files: dict[str, Path], tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    program = small_program()
    # pass layer 1's V straight through (shift 0) and lower the thresholds, so the binary FIRE spikes
    program.instructions[2] = dataclasses.replace(program.instructions[2], shift=0)
    program.param_tables[1] = np.array([1, 1], np.int32)
    save_image(program, files["net.spk"])
    x = np.load(files["batch.npy"])
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    cpu.run(x, timesteps=3, lane_to_log=2)
    expected = np.array(cpu.get_spike_log(), np.int64).reshape(-1, 4)
    assert len(expected) > 0
    log = tmp_path / f"spikes{suffix}"
    argv = [
        str(files["net.spk"]),
        "--input",
        str(files["batch.npy"]),
        "-T",
        "3",
        "--lane",
        "2",
        "--log-spikes",
        str(log),
    ]
    assert main(argv) == 0
    assert f"spike log of sample 2: {len(expected)} events" in capsys.readouterr().out
    if suffix == ".npy":
        written = np.load(log)
    else:
        lines = log.read_text().splitlines()
        assert lines[0] == "timestep,core,neuron,payload"
        written = np.array([[int(v) for v in line.split(",")] for line in lines[1:]], np.int64)
    assert np.array_equal(written, expected)


def test_bad_inputs_exit_1_without_traceback(files: dict[str, Path], tmp_path: Path) -> None:
    bad_asm = tmp_path / "bad.s"
    bad_asm.write_text(SMALL.replace("HALT", "HALT c0"))
    bad_image = tmp_path / "bad.spk"
    bad_image.write_bytes(files["net.spk"].read_bytes()[:-2])
    cases = [
        ((tmp_path / "missing.s", "--input", files["x.npy"]), "missing.s: error: cannot read the program"),
        ((bad_asm, "--input", files["x.npy"]), "bad.s:11:10: error: unexpected 'c0'"),
        ((bad_image, "--input", files["x.npy"]), "bad.spk:byte 72: error: truncated image"),
        ((files["net.s"], "--input", files["net.s"]), "net.s: error: not a .npy file"),
    ]
    for args, expected in cases:
        done = run_cli(*args)
        assert done.returncode == 1, done
        assert done.stderr.startswith(f"{tmp_path}/{expected}"), done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""


def test_usage_errors_exit_2(files: dict[str, Path]) -> None:
    done = run_cli(files["net.s"], "--input", files["x.npy"], "--timesteps", "0")
    assert done.returncode == 2 and "must be a positive integer" in done.stderr and "Traceback" not in done.stderr
    done = run_cli(files["net.s"])
    assert done.returncode == 2 and "--input" in done.stderr


def _save(path: Path, array: np.ndarray) -> Path:
    np.save(path, array)
    return path


@pytest.mark.parametrize(
    ("make_input", "expected"),
    [
        (lambda p: _save(p, np.zeros(5, np.int8)), "the input has 5 values, the program takes 4"),
        (lambda p: _save(p, np.zeros((2, 3), np.int8)), "a batch must have shape (samples, 4)"),
        (lambda p: _save(p, np.zeros((0, 4), np.int8)), "with at least one sample"),
        (lambda p: _save(p, np.zeros((2, 2, 2), np.int8)), "(see --batch-from-file)"),
        (lambda p: _save(p, np.array([1, 2, 300, 4])), "must lie in [-128, 127]"),
        (lambda p: _save(p, np.array([1.0, np.nan, 0.0, 0.0])), "NaN or infinity"),
        (lambda p: _save(p, np.array([True, False, True, False])), "got dtype bool"),
        (lambda p: _save(p, np.array(["a", "b", "c", "d"])), "dtype <U1 (string); expected a plain bool"),
        (lambda p: _save(p, np.zeros(4, "m8[s]")), "dtype timedelta64[s] (timedelta)"),
        (lambda p: _save(p, np.zeros(4, np.complex64)), "dtype complex64 (complex)"),
        (lambda p: _save(p, np.zeros(4, [("a", "i1")])), "(structured)"),
        (lambda p: p.write_bytes(b"\x93NUMPY garbage") and p, "not a valid .npy header"),
    ],
)
def test_bad_input_arrays(
    files: dict[str, Path], tmp_path: Path, make_input: object, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "in.npy"
    assert callable(make_input)
    make_input(path)
    assert main([str(files["net.s"]), "--input", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{path}: error: ") and expected in err


def test_float_input_without_scale_and_lane_outside_batch(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unscaled = tmp_path / "unscaled.s"
    unscaled.write_text(SMALL.replace(" scale=0.0078125", ""))
    assert main([str(unscaled), "--input", str(files["floats.npy"])]) == 1
    assert "float inputs need the program's input scale" in capsys.readouterr().err
    assert main([str(files["net.s"]), "--input", str(files["batch.npy"]), "--lane", "3"]) == 1
    assert "--lane 3 is not a sample of the input (3 samples)" in capsys.readouterr().err


def test_non_text_program(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "junk.bin"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert main([str(binary), "--input", str(files["x.npy"])]) == 1
    assert "neither a SpikeCore image" in capsys.readouterr().err


def test_unknown_output_scale_prints_raw_values_only(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unscaled = tmp_path / "unscaled.s"
    unscaled.write_text(SMALL.replace(" scale=0.000123", ""))
    assert main([str(unscaled), "--input", str(files["x.npy"]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["logits"] is None
    assert result["argmax"] == [int(np.argmax(result["outputs"][0]))]


def test_a_bug_is_one_internal_error_line(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """spike-run shares the failure policy of spike-opt and spikeir (run_guarded): no traceback."""

    def broken(self: SpikeCoreCPU, *args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(SpikeCoreCPU, "run", broken)
    assert main([str(files["net.s"]), "--input", str(files["x.npy"])]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "internal error" in err and "simulated bug" in err
