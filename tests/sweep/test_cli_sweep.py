"""`spikeir sweep` on the command line, `spikeir --version`, and `spikeir --help` naming every command."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from sweep_support import IN, point_lines, tiny_data

from spikeir.tools.cli import COMMANDS, main


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for name, summary in COMMANDS.items():
        assert f"  {name}" in text and summary in text
    assert "sweep" in COMMANDS and "--version" in text


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"spikeir {version('spikeir')}\n"


def _write_inputs(folder: Path) -> list[str]:
    data = tiny_data(100)
    for name, array in (("x", data.x), ("y", data.y), ("cal", data.calibration)):
        np.save(folder / f"{name}.npy", array)
    return [
        "--inputs",
        str(folder / "x.npy"),
        "--labels",
        str(folder / "y.npy"),
        "--calibration",
        str(folder / "cal.npy"),
    ]


@pytest.fixture
def pt2_model(tmp_path: Path) -> Path:
    """A 32-16-4 MLP saved as a torch.export archive (.pt2), the kind of file a user brings."""
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(IN, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    path = tmp_path / "mlp.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(1, IN),)), path)
    return path


def test_a_sweep_of_a_model_file(tmp_path: Path, pt2_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    argv = [
        "sweep",
        "--model",
        str(pt2_model),
        *_write_inputs(tmp_path),
        "--vary",
        "timesteps=2,4",
        "--vary",
        "per-channel=false,true",
        "--engine",
        "local",
        "--out",
        str(out),
        "--no-figures",
        "--no-progress",
    ]
    assert main(argv) == 0
    said = capsys.readouterr().out
    assert "4 points (0 already in" in said and "best 4 of 4 measured points:" in said
    records = point_lines(out / "results.jsonl")
    assert [r["options"] for r in records] == [
        {"timesteps": t, "per_channel": p} for t in (2, 4) for p in (False, True)
    ]
    assert json.loads((out / "report.json").read_text())["summary"]["measured"] == 4
    assert main([*argv, "--resume", "--vary", "timesteps=2,4,8"]) == 0  # two more points, the four kept
    assert "6 points (4 already in" in capsys.readouterr().out and len(point_lines(out / "results.jsonl")) == 6
    assert main(argv) == 2  # the results exist: without --resume they are not overwritten
    assert "results file exists: pass --resume" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--vary", "bogus=1"], "--vary: error: unknown compile option 'bogus'"),
        (["--vary", "timesteps"], "--vary: error: expected NAME=VALUE"),
        (["--inputs", "x.npy"], "--inputs, --labels and --calibration go together"),
        (["--model", "model.h5"], "model.h5: error: unknown model format '.h5'"),
        (["--model", "missing.onnx"], "missing.onnx: error: cannot read the model"),
        (["--model", "missing.nir"], "missing.nir: error: cannot read the model"),
        (["--space", "missing.toml"], "missing.toml: error: space file not found"),
        (["--engine", "local", "--address", "ray://x:1"], "--address: error: --address needs the Ray engine"),
        (["--address", "127.0.0.1:1"], "--address: error: cannot reach a Ray cluster at 127.0.0.1:1: "),
        (["--address", "nowhere"], "--address: error: a Ray address is host:port or ray://host:port"),
    ],
)
def test_errors_are_one_line_and_status_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sweep", *argv, "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()  # nothing was started
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bad_data_files_are_errors_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _write_inputs(tmp_path)
    np.save(tmp_path / "y.npy", np.zeros(7, np.int64))
    assert main(["sweep", *files, "--engine", "local", "--out", str(tmp_path / "o")]) == 2
    assert f"{tmp_path / 'y.npy'}: error: 7 labels for 100 inputs" in capsys.readouterr().err
    (tmp_path / "x.npy").write_bytes(b"not numpy")
    assert main(["sweep", *files, "--engine", "local", "--out", str(tmp_path / "o")]) == 2
    assert f"{tmp_path / 'x.npy'}: error: not a .npy array of inputs" in capsys.readouterr().err


def test_bad_usage_is_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["sweep", "--workers", "0"])
    assert exit_.value.code == 2 and "expected a positive integer" in capsys.readouterr().err
