"""Files: nothing is unpickled, nothing is half written, and every CLI answers bad input in one line.

- Loading: every ``np.load`` passes ``allow_pickle=False`` and every ``torch.load`` ``weights_only=True``
  (checked in the source), and a pickled object array is refused by spike-run, by the Relay params
  loader and by the quantize pass's calibration file.
- Writing: spike-opt ``-o`` (text and image), ``save_image``, spike-run ``--log-spikes`` and the lab
  (``spikeir.fileio.atomic_write``) leave the old file or the complete new one, never a partial
  file or a stray temporary, when the run or the write fails midway.
- CLIs: bad input is ``place: error: message`` on stderr with exit status 1, bad usage exit 2,
  never a traceback.
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from spikeir import fileio
from spikeir.chip.image import encode, save_image
from spikeir.compiler import build_mlp_module
from spikeir.errors import DataError
from spikeir.lab import pipeline as lab
from spikeir.passes.quantize import load_calibration
from spikeir.tools import cli, spike_opt, spike_run
from support.programs import SMALL, small_program

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run_main(main: Callable[[list[str]], int], *args: object) -> tuple[int, str, str]:
    """A CLI's main in this process: (exit status, stdout, stderr); argparse's SystemExit included."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in args])
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 1
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A program (text and image), inputs, and the kinds of bad file users pass by mistake."""
    paths = {
        name: tmp_path / name
        for name in (
            "net.s",
            "net.spk",
            "x.npy",
            "empty.mlir",
            "empty.s",
            "garbage.bin",
            "adir",
            "model.txt",
            "obj.npy",
            "obj.npz",
            "net.mlir",
            "cal.npy",
        )
    }
    paths["net.s"].write_text(SMALL)
    paths["net.spk"].write_bytes(encode(small_program()))
    np.save(paths["x.npy"], np.array([1, 2, 3, 4], np.int8))
    paths["empty.mlir"].write_text("")
    paths["empty.s"].write_text("")
    paths["garbage.bin"].write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8)))
    paths["adir"].mkdir()
    paths["model.txt"].write_text("not a model\n")
    np.save(paths["obj.npy"], np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    np.savez(paths["obj.npz"], w=np.array([{"a": 1}], dtype=object))
    rng = np.random.default_rng(0)
    paths["net.mlir"].write_text(
        str(build_mlp_module([rng.standard_normal((3, 4)), rng.standard_normal((2, 3))], [None, None], ["relu", None]))
    )
    np.save(paths["cal.npy"], rng.standard_normal((8, 4)).astype(np.float32))
    return paths


def no_temporaries(folder: Path) -> bool:
    return not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


# -- loading without unpickling -------------------------------------------------------------------


def _unsafe_loads(path: Path) -> list[str]:
    """Calls in ``path`` that could unpickle: np.load without allow_pickle=False, torch.load without
    weights_only=True, and any pickle.load(s)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value.id if isinstance(node.func.value, ast.Name) else ""
        keywords = {k.arg: k.value for k in node.keywords}

        def is_const(name: str, value: bool, keywords: dict[str | None, ast.expr] = keywords) -> bool:
            return isinstance(keywords.get(name), ast.Constant) and keywords[name].value is value  # type: ignore[union-attr]

        name = f"{owner}.{node.func.attr}"
        if (
            (name == "np.load" and not is_const("allow_pickle", False))
            or (name == "torch.load" and not is_const("weights_only", True))
            or name in ("pickle.load", "pickle.loads")
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    return found


def test_no_loader_in_the_code_can_unpickle() -> None:
    sources = [
        p
        for folder in ("spikeir", "passes", "tools", "dialects", "benchmarks", "scripts")
        for p in (ROOT / folder).rglob("*.py")
    ]
    assert len(sources) > 20
    assert [hit for path in sources for hit in _unsafe_loads(path)] == []


def test_spike_run_refuses_a_pickled_input(files: dict[str, Path]) -> None:
    status, out, err = run_main(spike_run.main, files["net.s"], "--input", files["obj.npy"])
    assert status == 1 and out == ""
    expected = "the array has dtype object (pickled objects); expected a plain bool, float or integer array"
    assert err == f"{files['obj.npy']}: error: {expected}\n"


def test_relay_params_loader_refuses_pickles(files: dict[str, Path], tmp_path: Path) -> None:
    relay = tmp_path / "m.relay"
    relay.write_text("fn (%x: Tensor[(1, 2), float32]) { nn.dense(%x, %w) }")
    status, _, err = run_main(spike_opt.main, relay, "--params", files["obj.npz"])
    expected = "cannot read the Relay params file: the array has dtype object (pickled objects)"
    assert status == 1 and expected in err, err
    assert err.startswith(str(files["obj.npz"])), err


def test_calibration_file_refuses_pickles(files: dict[str, Path]) -> None:
    pickled = "the array has dtype object (pickled objects)"
    with pytest.raises(DataError, match=re.escape(pickled)):
        load_calibration(files["obj.npy"])
    status, _, err = run_main(
        spike_opt.main, files["net.mlir"], "-p", f'spikecore-pipeline{{calibration="{files["obj.npy"]}"}}'
    )
    assert status == 1 and "cannot read calibration data" in err and pickled in err and "Traceback" not in err


# -- writing atomically -----------------------------------------------------------------------------


@pytest.fixture
def failing_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fails after the data was written to the temporary file, before the rename."""

    def fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fsync)


def test_spike_opt_output_survives_a_failing_run(files: dict[str, Path], tmp_path: Path) -> None:
    """The second chunk fails to parse after the first was printed: -o keeps its old contents.
    (xDSL opened -o first, so this left the first chunk's text behind.)"""
    source = tmp_path / "two.mlir"
    source.write_text(files["net.mlir"].read_text() + "// -----\nfunc.func @f( {\n")
    out = tmp_path / "out.mlir"
    out.write_text("old\n")
    status, _, err = run_main(spike_opt.main, source, "--split-input-file", "-o", out)
    assert status == 1 and err.startswith(f"{source}:"), err
    assert out.read_text() == "old\n" and no_temporaries(tmp_path)
    status, _, _ = run_main(spike_opt.main, files["net.mlir"], "-o", out)
    assert status == 0 and "func.func @main" in out.read_text()


@pytest.mark.usefixtures("failing_fsync")
@pytest.mark.parametrize("target", ["mlir", "spikecore-bin"])
def test_spike_opt_output_survives_a_failing_write(files: dict[str, Path], tmp_path: Path, target: str) -> None:
    out = tmp_path / "out"
    out.write_text("old\n")
    passes = f'spikecore-pipeline{{calibration="{files["cal.npy"]}"}}'
    status, _, err = run_main(spike_opt.main, files["net.mlir"], "-p", passes, "-t", target, "-o", out)
    assert status == 1 and err == f"{out}: error: cannot write output file: Input/output error\n"
    assert out.read_text() == "old\n" and no_temporaries(tmp_path)


@pytest.mark.usefixtures("failing_fsync")
def test_save_image_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "net.spk"
    path.write_bytes(b"old")
    with pytest.raises(OSError, match="Input/output error"):
        save_image(small_program(), path)
    assert path.read_bytes() == b"old" and no_temporaries(tmp_path)


@pytest.mark.usefixtures("failing_fsync")
def test_spike_run_spike_log_is_all_or_nothing(files: dict[str, Path], tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    status, out, err = run_main(spike_run.main, files["net.s"], "--input", files["x.npy"], "--log-spikes", log)
    assert status == 1 and err == f"{log}: error: cannot write the spike log: Input/output error\n"
    assert not log.exists() and no_temporaries(tmp_path)


@pytest.mark.usefixtures("failing_fsync")
def test_lab_outputs_are_written_atomically(tmp_path: Path) -> None:
    assert lab.atomic_write is fileio.atomic_write  # the lab writes every output file through it
    report = tmp_path / "out" / "report.json"
    report.parent.mkdir()
    report.write_text("{}")
    with pytest.raises(OSError):
        lab.atomic_write(report, '{"accuracy": 0.97}')
    assert report.read_text() == "{}" and no_temporaries(report.parent)


# -- every CLI: bad input is one located line, exit 1; bad usage exit 2 -------------------------------


def spike_opt_cases(f: dict[str, Path]) -> list[tuple[list[object], int, str]]:
    return [
        (
            [f["adir"] / "missing.mlir"],
            1,
            f"{f['adir']}/missing.mlir: error: cannot read input file: No such file or directory",
        ),
        ([f["adir"]], 1, f"{f['adir']}: error: cannot read input file: Is a directory"),
        ([f["empty.mlir"]], 1, f"{f['empty.mlir']}: error: the input is empty"),
        ([f["garbage.bin"], "-f", "mlir"], 1, ": error: the input is not UTF-8 text"),
        ([f["model.txt"]], 1, f"{f['model.txt']}: error: no frontend reads '.txt' files"),
        ([f["net.mlir"], "--no-such-option"], 2, "usage: spike-opt"),
        ([f["net.mlir"], "-p", "no-such-pass"], 1, "spike-opt: error: unknown pass 'no-such-pass'"),
    ]


def spike_run_cases(f: dict[str, Path]) -> list[tuple[list[object], int, str]]:
    x = f["x.npy"]
    return [
        (
            [f["adir"] / "missing.s", "--input", x],
            1,
            f"{f['adir']}/missing.s: error: cannot read the program: No such file or directory",
        ),
        ([f["adir"], "--input", x], 1, f"{f['adir']}: error: cannot read the program: Is a directory"),
        ([f["empty.s"], "--input", x], 1, f"{f['empty.s']}:1:1: error: missing '.target' directive"),
        ([f["garbage.bin"], "--input", x], 1, f"{f['garbage.bin']}: error: neither a SpikeCore image"),
        ([f["model.txt"], "--input", x], 1, f"{f['model.txt']}:1:1: error: unexpected 'not'"),
        ([f["net.s"], "--input", f["garbage.bin"]], 1, f"{f['garbage.bin']}: error: not a .npy file"),
        ([f["net.s"], "--input", f["adir"]], 1, f"{f['adir']}: error: cannot read the input: Is a directory"),
        (
            [f["net.s"], "--input", x, "--log-spikes", f["adir"]],
            1,
            f"{f['adir']}: error: cannot write the spike log: Is a directory",
        ),
        ([f["net.spk"], "--input", x, "--no-such-option"], 2, "usage: spike-run"),
        ([f["net.spk"], "--input", x, "--timesteps", "x"], 2, "usage: spike-run"),
    ]


def spikeir_cases(f: dict[str, Path]) -> list[tuple[list[object], int, str]]:
    return [
        (["no-such-command"], 2, "spikeir: error: unknown command 'no-such-command'"),
        (["lab", "--no-such-option"], 2, "spikeir lab: error: unrecognized arguments: --no-such-option"),
        (["lab", "--epochs", "many"], 2, "spikeir lab: error: argument --epochs"),
        (["bench", "--no-such-option"], 2, "spikeir bench: error: unrecognized arguments"),
    ]


@pytest.mark.parametrize(
    ("main", "cases"),
    [(spike_opt.main, spike_opt_cases), (spike_run.main, spike_run_cases), (cli.main, spikeir_cases)],
    ids=["spike-opt", "spike-run", "spikeir"],
)
def test_bad_input_and_usage(
    files: dict[str, Path],
    main: Callable[[list[str]], int],
    cases: Callable[[dict[str, Path]], list[tuple[list[object], int, str]]],
) -> None:
    for args, expected_status, expected in cases(files):
        status, out, err = run_main(main, *args)
        assert (status, expected in err) == (expected_status, True), (args, status, err)
        assert "Traceback" not in err and "internal error" not in err, err
        if expected_status == 1:
            assert out == "" and len(err.splitlines()) <= 3, err  # one error line (plus a caret for parse errors)


def test_spikeir_lab_with_a_missing_data_folder(tmp_path: Path) -> None:
    status, _, err = run_main(
        cli.main, "lab", "--data-dir", tmp_path / "missing", "--epochs", "1", "--no-tvm", "--out", tmp_path / "out"
    )
    assert status == 1 and f"{tmp_path}/missing: error: not a directory" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "report.json").exists()


@pytest.mark.parametrize(
    ("tool", "args", "status", "expected"),
    [
        ("spike-opt", ["{garbage}"], 1, "{garbage}: error: no frontend reads '.bin' files"),
        ("spike-run", ["{garbage}", "--input", "{garbage}"], 1, "{garbage}: error: neither a SpikeCore image"),
        ("spikeir", ["lab", "--no-such-option"], 2, "spikeir lab: error: unrecognized arguments"),
    ],
)
def test_console_scripts_exit_codes(
    files: dict[str, Path], tool: str, args: list[str], status: int, expected: str
) -> None:
    garbage = str(files["garbage.bin"])
    done = subprocess.run(
        [str(BIN / tool), *(a.format(garbage=garbage) for a in args)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == status, done
    assert expected.format(garbage=garbage) in done.stderr and "Traceback" not in done.stderr
