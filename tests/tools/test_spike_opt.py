"""spike-opt's behaviour as a user sees it: exit codes, one-line errors, passes, targets, frontends.

Most tests call `main()` in-process (fast); one runs the installed console script, to check what
a shell user gets.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import IO

import numpy as np
import pytest
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.passes import PassPipeline

from spikeir.chip.assembly import disassemble
from spikeir.chip.image import decode
from spikeir.dialects import spikeir_context
from spikeir.dialects.nn import FusedDenseOp
from spikeir.errors import PlacementError, SpikeIRError
from spikeir.frontends import FRONTENDS, FrontendOptions
from spikeir.passes import get_all_passes
from spikeir.passes.fuse_dense import FuseDensePass
from spikeir.passes.nn_fold_reshapes import NnFoldReshapesPass
from spikeir.passes.quantize import QuantizePass
from spikeir.tools.diagnostics import report, report_exception
from spikeir.tools.spike_opt import main

LIT_TOOLS = Path(__file__).parent.parent / "lit" / "tools"
FUSE = FuseDensePass.name
"""The pass names come from the passes, so renaming a pass (to avoid clashes in xdsl.universe) keeps these tests."""

LAYERS = """\
func.func @main(%x: tensor<1x1x2x2xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>) -> tensor<1x3xf32> {
  %0 = nn.reshape %x : tensor<1x1x2x2xf32> -> tensor<1x2x2xf32>
  %1 = nn.batch_flatten %0 : tensor<1x2x2xf32> -> tensor<1x4xf32>
  %2 = nn.dense %1, %w layer "fc" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %3 = nn.bias_add %2, %b : (tensor<1x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  %4 = nn.relu %3 : tensor<1x3xf32>
  func.return %4 : tensor<1x3xf32>
}
"""


def _write(tmp_path: Path, text: str, name: str = "in.mlir") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_help_lists_spikeir_passes_dialects_and_targets(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in (
        FUSE,
        "nn-fold-reshapes",
        "nn, quant, spikecore",
        "spikecore-asm",
        "spikecore-bin",
        "--params",
    ):
        assert name in out


def test_pipeline_with_two_passes(tmp_path: Path) -> None:
    out = tmp_path / "out.mlir"
    assert main([str(_write(tmp_path, LAYERS)), "-p", f"nn-fold-reshapes,{FUSE}", "-o", str(out)]) == 0
    text = out.read_text()
    # the activation prints as a string or, with an enum attribute, a bare word
    assert re.search(r'%1 = nn\.fused_dense %0, %w, %b activation "?relu"? layer "fc"', text), text
    assert "nn.dense" not in text and "nn.reshape" not in text and "nn.bias_add" not in text
    assert "%0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>" in text


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["-p", FUSE[:-1]], f"spike-opt: error: unknown pass '{FUSE[:-1]}' in -p; did you mean '{FUSE}'?"),
        (["-p", FUSE + "{"], f"spike-opt: error: invalid pass pipeline -p '{FUSE}{{' at column {len(FUSE) + 2}"),
        (["-p", FUSE + "{factor=2}"], f"spike-opt: error: invalid pass pipeline -p '{FUSE}{{factor=2}}'"),
    ],
)
def test_bad_pipeline_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    assert main([str(_write(tmp_path, LAYERS)), *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith(expected)
    assert len(err.strip().splitlines()) == 1


def test_parse_error_names_file_line_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, LAYERS.replace("%4 = nn.relu %3 : tensor<1x3xf32>", "%4 = nn.relu %3 tensor<1x3xf32>"))
    assert main([str(path)]) == 1
    first, source, caret = capsys.readouterr().err.splitlines()
    assert first == f"{path}:6:19: error: Expected ':'"
    assert source.strip() == "%4 = nn.relu %3 tensor<1x3xf32>"
    assert caret.index("^") == 18


def test_verify_error_names_the_failing_op(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(
        tmp_path,
        LAYERS.replace("%b: tensor<3xf32>)", "%b: tensor<5xf32>)").replace("tensor<3xf32>) ->", "tensor<5xf32>) ->"),
    )
    assert main([str(path)]) == 1
    err = capsys.readouterr().err
    assert err == f"{path}:5:3: error: 'nn.bias_add' bias must have shape [3] to match the input's last axis, got [5]\n"


def test_verify_diagnostics_mode_keeps_xdsl_behaviour(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(
        tmp_path,
        "func.func @f(%x: tensor<1x4xf32>, %w: tensor<3x4xf32>) {\n"
        "  %0 = nn.dense %x, %w : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x2xf32>\n"
        "  func.return\n}\n",
    )
    assert main([str(path), "--verify-diagnostics"]) == 0
    assert "'nn.dense' result must have shape [1, 3], got [1, 2]" in capsys.readouterr().out


def test_missing_input_and_unknown_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "absent.mlir"
    assert main([str(missing)]) == 1
    assert capsys.readouterr().err == f"{missing}: error: cannot read input file: No such file or directory\n"
    assert main([str(_write(tmp_path, "", "model.xyz"))]) == 1
    assert "error: no frontend reads '.xyz' files" in capsys.readouterr().err


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([str(_write(tmp_path, LAYERS)), "-t", "no-such-target"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'no-such-target'" in capsys.readouterr().err


def test_frontend_gets_stream_name_and_params(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model file goes through the frontend registered for its extension, with --params."""
    seen: list[FrontendOptions] = []

    def frontend(stream: IO[bytes], options: FrontendOptions) -> ModuleOp:
        seen.append(options)
        return Parser(spikeir_context(), stream.read(), options.filename).parse_module()

    monkeypatch.setitem(FRONTENDS, "fake", frontend)
    params = tmp_path / "p.npz"
    np.savez(params, w=np.zeros(2))
    model = _write(tmp_path, LAYERS, "net.fake")
    assert main([str(model), "--params", str(params), "-p", FUSE]) == 0
    assert seen == [FrontendOptions(filename=str(model), params=params, folder=tmp_path)]
    assert "nn.fused_dense" in capsys.readouterr().out
    assert main([str(model), "--params", str(tmp_path / "absent.npz")]) == 1
    assert "absent.npz: error: --params file not found" in capsys.readouterr().err


def test_frontend_errors_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def frontend(stream: IO[bytes], options: FrontendOptions) -> ModuleOp:
        raise SpikeIRError("unsupported op 'aten.conv2d'", "3:7")

    monkeypatch.setitem(FRONTENDS, "fake", frontend)
    model = _write(tmp_path, "", "net.fake")
    assert main([str(model)]) == 1
    assert capsys.readouterr().err == f"{model}:3:7: error: unsupported op 'aten.conv2d'\n"


def test_binary_target_writes_the_image_of_the_assembly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = LIT_TOOLS / "targets.mlir"
    image = tmp_path / "net.img"
    assert main([str(source), "-t", "spikecore-bin", "-o", str(image)]) == 0
    assert main([str(source), "-t", "spikecore-asm"]) == 0
    assert disassemble(decode(image.read_bytes())) == capsys.readouterr().out


def test_binary_target_refuses_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main([str(LIT_TOOLS / "targets.mlir"), "-t", "spikecore-bin"]) == 1
    assert "refusing to write a binary image to a terminal" in capsys.readouterr().err


def test_failed_binary_run_leaves_no_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = tmp_path / "net.img"
    unplaced = (
        (LIT_TOOLS / "targets.mlir")
        .read_text()
        .replace(" placed [#spikecore.slice<core = 2, base = 0, count = 2>]", "")
    )
    assert main([str(_write(tmp_path, unplaced)), "-t", "spikecore-bin", "-o", str(image)]) == 1
    assert "is not placed" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [tmp_path / "in.mlir"]


def test_console_script_prints_no_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, "func.func @f( {\n")
    script = Path(sys.executable).parent / "spike-opt"
    result = subprocess.run([str(script), str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(f"{path}:1:")
    assert "Traceback" not in result.stderr


def test_report_places_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert report(PlacementError("needs 200 cores", "layers.0"), "net.mlir") == 1
    assert report(SpikeIRError("bad", "4:2"), "net.mlir") == 1
    assert report(SpikeIRError("bad"), None, prog="spike-run") == 1
    assert capsys.readouterr().err.splitlines() == [
        "layers.0: error: needs 200 cores",
        "net.mlir:4:2: error: bad",
        "spike-run: error: bad",
    ]


def test_report_exception_for_bugs_and_os_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert report_exception(KeyError("x"), "spikeir compile") == 1
    assert report_exception(FileNotFoundError(2, "No such file or directory", "w.npz"), "spikeir") == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("spikeir compile: error: internal error: KeyError: 'x' (a bug in spikeir")
    assert err[1] == "w.npz: error: No such file or directory"


def test_passes_through_the_python_api() -> None:
    module = Parser(spikeir_context(), LAYERS).parse_module()
    NnFoldReshapesPass().apply(spikeir_context(), module)
    FuseDensePass().apply(spikeir_context(), module)
    module.verify()
    fused = [op for op in module.walk() if isinstance(op, FusedDenseOp)]
    assert len(fused) == 1
    assert fused[0].activation.data == "relu" and fused[0].layer is not None and fused[0].layer.data == "fc"
    assert fused[0].bias is not None


def test_pass_pipeline_from_python_with_options() -> None:
    """The registry works with xDSL's PassPipeline and pipeline syntax, options included."""
    spec = f"nn-fold-reshapes,{FUSE},{QuantizePass.name}{{per-channel=true}}"
    pipeline = PassPipeline.parse_spec(get_all_passes(), spec)
    assert [type(p) for p in pipeline.passes] == [NnFoldReshapesPass, FuseDensePass, QuantizePass]
    assert pipeline.passes[2] == QuantizePass(per_channel=True)
    module = Parser(spikeir_context(), LAYERS).parse_module()
    PassPipeline(pipeline.passes[:2]).apply(spikeir_context(), module)
    module.verify()
    assert [type(op) for op in module.walk() if isinstance(op, FusedDenseOp)] == [FusedDenseOp]


# -- the internal-error policy of every spikeir command (tools/diagnostics.run_guarded) ----------


def test_a_bug_is_one_internal_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An exception that is not the user's fault (here a pass that divides by zero) is one line
    naming it as a bug, exit 1, no traceback; SPIKEIR_TRACEBACK=1 adds the traceback."""

    def broken(self: FuseDensePass, ctx: object, op: ModuleOp) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(FuseDensePass, "apply", broken)
    source = _write(tmp_path, LAYERS)
    monkeypatch.delenv("SPIKEIR_TRACEBACK", raising=False)
    assert main([str(source), "-p", FUSE]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "spike-opt: error: internal error: ZeroDivisionError: division by zero "
        "(a bug in spikeir; set SPIKEIR_TRACEBACK=1 to see where)\n"
    )
    monkeypatch.setenv("SPIKEIR_TRACEBACK", "1")
    assert main([str(source), "-p", FUSE]) == 1
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError" in err and "Traceback (most recent call last)" in err


def test_interrupt_and_user_errors_keep_their_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from spikeir.tools.spike_opt import SpikeOptMain

    bad = _write(tmp_path, "func.func @f( {\n", "bad.mlir")
    assert main([str(bad)]) == 1  # a user error is still placed, not "internal"
    err = capsys.readouterr().err
    assert err.startswith(f"{bad}:1:") and "internal error" not in err, err
    source = _write(tmp_path, LAYERS)

    def interrupted(self: SpikeOptMain) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(SpikeOptMain, "run", interrupted)
    assert main([str(source)]) == 130
    assert capsys.readouterr().err == "spike-opt: interrupted\n"


def test_spikeir_cli_uses_the_same_policy(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from spikeir.tools import cli

    def broken(command: str, rest: list[str]) -> int:
        raise KeyError("x")

    monkeypatch.setattr(cli, "_run", broken)
    assert cli.main(["bench"]) == 1
    assert capsys.readouterr().err.startswith("spikeir bench: error: internal error: KeyError: 'x' (a bug in spikeir")


def test_runs_as_a_module_and_the_package_says_what_it_holds() -> None:
    import spikeir.tools

    done = subprocess.run(
        [sys.executable, "-m", "spikeir.tools.spike_opt", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.startswith("usage: spike-opt"), done.stderr
    doc = spikeir.tools.__doc__ or ""
    assert all(name in doc for name in ("spike-opt", "spike-run", "spikeir lab", "run_guarded"))
