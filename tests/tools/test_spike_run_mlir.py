"""``spike-run file.mlir``: IR at every level of the pipeline, executed, and located errors for bad IR."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from xdsl.dialects import func

from spikeir.ir.host import HostExecutor
from spikeir.ir.interpreter import run_function
from spikeir.tools.spike_opt import main as spike_opt
from spikeir.tools.spike_run import main as spike_run
from support.nn_models import parse

EXAMPLES = Path(__file__).parents[2] / "examples"
SPIKE_RUN = Path(sys.executable).parent / "spike-run"
CALIBRATION = EXAMPLES / "tiny_calibration.npy"
INPUT = EXAMPLES / "tiny_input.npy"  # (3, 1, 2, 2) float32


@pytest.fixture(scope="module")
def levels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """examples/tiny_mlp.mlir at each level: nn, partitioned, quant, lowered (unplaced), placed, the
    placed program alone, and its assembly."""
    folder = tmp_path_factory.mktemp("levels")
    quantize = f'spikecore-quantize{{calibration="{CALIBRATION}"}}'
    stages = {
        "partitioned": ["nn-fuse-dense", "partition-for-spikecore"],
        "quant": ["nn-fuse-dense", "partition-for-spikecore", quantize],
    }
    stages["lowered"] = [*stages["quant"], "lower-quant-to-spikecore"]
    paths = {"nn": folder / "nn.mlir"}
    shutil.copy(EXAMPLES / "tiny_mlp.mlir", paths["nn"])
    for name, pipeline in stages.items():
        paths[name] = folder / f"{name}.mlir"
        assert spike_opt([str(paths["nn"]), "-p", ",".join(pipeline), "-o", str(paths[name])]) == 0
    placed = f'spikecore-pipeline{{calibration="{CALIBRATION}"}}'
    paths["placed"] = folder / "placed.mlir"
    assert spike_opt([str(paths["nn"]), "-p", placed, "-o", str(paths["placed"])]) == 0
    paths["asm"] = folder / "tiny.s"
    assert spike_opt([str(paths["nn"]), "-p", placed, "-t", "spikecore-asm", "-o", str(paths["asm"])]) == 0
    module = parse(paths["placed"].read_text())
    for op in list(module.ops):
        if isinstance(op, func.FuncOp):
            op.detach()
            op.erase()
    paths["program"] = folder / "program.mlir"
    paths["program"].write_text(str(module))
    return paths


def run_json(capsys: pytest.CaptureFixture[str], *args: str | Path) -> dict[str, Any]:
    assert spike_run([*map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_every_level_runs_and_agrees(levels: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    x = np.load(INPUT)
    (reference,) = run_function(parse((EXAMPLES / "tiny_mlp.mlir").read_text()), "main", x)
    results = {name: run_json(capsys, levels[name], "-i", INPUT) for name in ("nn", "partitioned", "quant", "placed")}
    for name in ("nn", "partitioned"):
        np.testing.assert_allclose(results[name]["results"][0], reference, rtol=1e-6)
        assert results[name]["launches"] == []
    # graded SpikeCore computes the quantized region bit for bit: the quant level equals the chip's
    assert results["quant"]["results"] == results["placed"]["results"]
    np.testing.assert_allclose(results["placed"]["results"][0], reference, atol=0.01)
    assert results["quant"]["ops"]["quant.dense"] == 2 and results["partitioned"]["ops"]["func.call"] == 1
    placed = results["placed"]
    assert placed["batch"] == 3 and placed["argmax"] == np.argmax(reference, axis=1).tolist()
    assert placed["ops"] == {"nn.batch_flatten": 1, "spikecore.launch": 1, "nn.softmax": 1, "func.return": 1}
    ((launch,),) = [placed["launches"]]
    executor = HostExecutor(parse(levels["placed"].read_text()))
    np.testing.assert_array_equal(placed["results"][0], executor.run_main(x))
    assert launch["program"] == "spikecore_0" and launch["target"] == "spikecore-v1"
    assert launch["stats"] == executor.launches[0].stats.as_dict()


def test_placed_program_runs_like_its_assembly(levels: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    args = ("-i", INPUT, "--batch-from-file", "-T", "3")
    expected = run_json(capsys, levels["asm"], *args)
    for got in (
        run_json(capsys, levels["program"], *args),
        run_json(capsys, levels["placed"], *args, "--symbol", "spikecore_0"),
    ):
        assert {k: v for k, v in got.items() if k != "program"} == {k: v for k, v in expected.items() if k != "program"}


def test_launch_timesteps_and_spike_log(
    levels: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "spikes.npy"
    result = run_json(capsys, levels["placed"], "-i", INPUT, "-T", "4", "--lane", "2", "--log-spikes", log)
    executor = HostExecutor(parse(levels["placed"].read_text()), timesteps=4, lane_to_log=2)
    np.testing.assert_array_equal(result["results"][0], executor.run_main(np.load(INPUT)))
    record = executor.launches[0]
    assert result["timesteps"] == 4 and result["launches"][0]["stats"]["timesteps"] == 4
    assert result["launches"][0]["spike_log"] == {"lane": 2, "events": len(record.spike_log), "truncated": False}
    np.testing.assert_array_equal(np.load(log), np.array(record.spike_log, np.int64).reshape(-1, 4))


def test_text_report(levels: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert spike_run([str(levels["placed"]), "-i", str(INPUT), "-T", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{levels['placed']}: @main; 3 samples x 2 timesteps\n")
    assert "evaluated: nn.batch_flatten x1, spikecore.launch x1, nn.softmax x1, func.return x1" in out
    assert "sample 2: argmax " in out and "  result [" in out
    assert "statistics of spikecore.launch @spikecore_0 on spikecore-v1 (sums over 3 samples;" in out


def test_input_shapes(levels: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = np.load(INPUT)
    one = tmp_path / "one.npy"
    np.save(one, x[1, 0])  # (2, 2): one sample without its batch and channel axes
    flat = tmp_path / "flat.npy"
    np.save(flat, x.reshape(3, 4).astype(np.float64))
    together = run_json(capsys, levels["nn"], "-i", INPUT)["results"][0]
    assert spike_run([str(levels["nn"]), "-i", str(one)]) == 1
    assert "the function expects Bx1x2x2" in capsys.readouterr().err
    np.save(one, x[1])  # (1, 2, 2): the sample, batch axis left out
    assert run_json(capsys, levels["nn"], "-i", one)["results"][0] == [together[1]]
    np.testing.assert_allclose(
        run_json(capsys, levels["nn"], "-i", flat, "--batch-from-file")["results"][0], together, rtol=1e-6
    )


def test_dynamic_batch_dimension(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (EXAMPLES / "tiny_mlp.mlir").read_text()
    dynamic = tmp_path / "dynamic.mlir"
    dynamic.write_text(text.replace("tensor<1x", "tensor<?x"))
    static = run_json(capsys, EXAMPLES / "tiny_mlp.mlir", "-i", INPUT)["results"]
    assert run_json(capsys, dynamic, "-i", INPUT)["results"] == static


_ERRORS = """
func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x2xf32> {
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %1 = nn.reshape %0 : tensor<1x4xf32> -> tensor<4xf32>
  %2 = nn.reshape %1 : tensor<4xf32> -> tensor<2x2xf32>
  %3 = nn.reshape %2 : tensor<2x2xf32> -> tensor<1x4xf32>
  %4 = arith.addf %3, %3 : tensor<1x4xf32>
  func.return %4 : tensor<1x4xf32>
}
func.func @two(%x: tensor<1x4xf32>, %y: tensor<1x4xf32>) -> tensor<1x4xf32> {
  func.return %x : tensor<1x4xf32>
}
"""


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        (_ERRORS.replace("-> tensor<1x2xf32>", "-> tensor<1x4xf32>"), ["-i", "{x}"], "{mlir}:4:3: error: nn.reshape: cannot reshape [1, 4] -> [4] for a batch of 3"),
        (_ERRORS.replace("-> tensor<1x2xf32>", "-> tensor<1x4xf32>"), ["-i", "{x1}"], "{mlir}:7:3: error: the interpreter cannot evaluate 'arith.addf'"),
        (_ERRORS, ["-i", "{x}"], "{mlir}:8:3: error: Expected arguments to have the same types as the function output types"),
        (_ERRORS.replace("nn.reshape %0 :", "nn.reshape %0"), ["-i", "{x}"], "{mlir}:4:22: error: Expected ':'"),
        ("", ["-i", "{x}"], "{mlir}: error: the file is empty"),
        (_ERRORS.replace("-> tensor<1x2xf32>", "-> tensor<1x4xf32>"), ["-i", "{x}", "--symbol", "nope"], "{mlir}: error: no func.func or spikecore.program @nope (runnable: @main, @two)"),
        (_ERRORS.replace("-> tensor<1x2xf32>", "-> tensor<1x4xf32>"), ["-i", "{x}", "--symbol", "two"], "{mlir}:10:1: error: @two: takes 2 arguments"),
        (_ERRORS.replace("-> tensor<1x2xf32>", "-> tensor<1x4xf32>"), ["-i", "{x}", "--log-spikes", "{mlir}.csv"], "{mlir}: error: --log-spikes records a spikecore.launch, and the module has none"),
        (_ERRORS.replace("-> tensor<1x2xf32>", "-> tensor<1x4xf32>"), ["-i", "{nan}"], "{nan}: error: the input contains NaN or infinity"),
        (_ERRORS.replace("-> tensor<1x2xf32>", "-> tensor<1x4xf32>"), ["-i", "{x}", "--lane", "3"], "{x}: error: --lane 3 is not a sample of the input (3 samples)"),
    ],
)  # fmt: skip
def test_bad_ir_is_one_located_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, args: list[str], expected: str
) -> None:
    files = {"mlir": tmp_path / "net.mlir", "x": INPUT, "x1": tmp_path / "x1.npy", "nan": tmp_path / "nan.npy"}
    files["mlir"].write_text(text)
    np.save(files["x1"], np.load(INPUT)[:1])
    np.save(files["nan"], np.full((1, 1, 2, 2), np.nan, np.float32))
    assert spike_run([str(files["mlir"]), *(a.format(**files) for a in args)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(expected.format(**files)), captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1 or ("Expected" in lines[0] and len(lines) == 3)  # a parse error shows its line and caret


def test_unplaced_program_is_located_at_the_program(levels: dict[str, Path]) -> None:
    done = subprocess.run(
        [str(SPIKE_RUN), str(levels["lowered"]), "-i", str(INPUT)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.startswith(f'{levels["lowered"]}:2:3: error: @spikecore_0: group "fc1" is not placed')
    assert len(done.stderr.splitlines()) == 1


def test_xdsl_run_executes_spikeir_ir(levels: dict[str, Path]) -> None:
    """xDSL's own runner (xDSLRunMain) with spikeir's interpreter functions registered."""
    x = np.load(INPUT)
    args = (
        "dense<" + np.array2string(x, separator=", ", floatmode="unique").replace("\n", "") + "> : tensor<3x1x2x2xf32>"
    )
    done = subprocess.run(
        [sys.executable, "-m", "spikeir.ir.xdsl_run", str(levels["placed"]), "--args", args, "--verbose"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("result: [[")
    expected = HostExecutor(parse(levels["placed"].read_text())).run_main(x)
    values = np.array(
        [float(v) for v in done.stdout.replace("result:", "").replace("[", " ").replace("]", " ").split()]
    )
    np.testing.assert_allclose(values.reshape(expected.shape), expected, rtol=1e-6)
