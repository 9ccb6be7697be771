"""The commands the issues and the README promise, end to end: a model file through
`spike-opt -p spikecore-pipeline -t spikecore-asm`, then `spike-run` on the assembly it wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from xdsl.parser import Parser

import spikeir
from spikeir.dialects import spikeir_context
from spikeir.tools.spike_opt import main as spike_opt
from support.frontend_helpers import SEED_RELAY, seed_model, seed_params

EXAMPLES = Path(__file__).parents[2] / "examples"
SPIKE_RUN = Path(sys.executable).parent / "spike-run"


def test_tiny_mlp_compiles_and_runs_on_the_hardware_model(tmp_path: Path) -> None:
    """The README's tour: the assembly file is what `spikeir.compile` produces, and `spike-run` on it
    gives the logits the compiled model's host part turns into its softmax."""
    calibration = EXAMPLES / "tiny_calibration.npy"
    program = tmp_path / "tiny.s"
    pipeline = f'spikecore-pipeline{{calibration="{calibration}"}}'
    assert spike_opt([str(EXAMPLES / "tiny_mlp.mlir"), "-p", pipeline, "-t", "spikecore-asm", "-o", str(program)]) == 0

    module = Parser(spikeir_context(), (EXAMPLES / "tiny_mlp.mlir").read_text()).parse_module()
    compiled = spikeir.compile(module, calibration=np.load(calibration))
    assert program.read_text() == compiled.assembly

    x = np.load(EXAMPLES / "tiny_input.npy")
    done = subprocess.run(
        [str(SPIKE_RUN), str(program), "--input", str(EXAMPLES / "tiny_input.npy"), "--batch-from-file", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    logits = np.asarray(json.loads(done.stdout)["logits"])
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    assert np.allclose(softmax, compiled.run(x), rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def seed_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The seed MLP as Relay text + .npz, as a torch.export archive, and calibration inputs."""
    folder = tmp_path_factory.mktemp("seed")
    model = seed_model(5)
    paths = {name: folder / name for name in ("model.relay", "model.npz", "model.pt2", "calib.npy")}
    paths["model.relay"].write_text(SEED_RELAY)
    np.savez(paths["model.npz"], **seed_params(model))
    calibration = np.random.default_rng(6).random((64, 1, 28, 28), dtype=np.float32)
    np.save(paths["calib.npy"], calibration)
    torch.export.save(torch.export.export(model, (torch.from_numpy(calibration[:1]),)), paths["model.pt2"])
    return paths


def test_model_files_go_straight_to_the_same_assembly(seed_files: dict[str, Path], tmp_path: Path) -> None:
    """`spike-opt model.relay --params model.npz ...` and `spike-opt model.pt2 ...` (and `model.onnx`
    when onnx is installed) print the same program, which the seed's one-neuron-per-core option
    spreads over cores 0-73."""
    pipeline = f'spikecore-pipeline{{calibration="{seed_files["calib.npy"]}" neurons-per-core=1}}'
    inputs = [
        [str(seed_files["model.relay"]), "--params", str(seed_files["model.npz"])],
        [str(seed_files["model.pt2"])],
    ]
    try:
        from support.frontend_helpers import onnx_bytes
    except pytest.skip.Exception:  # no tvm or onnx: the other two formats still agree
        pass
    else:
        onnx_file = tmp_path / "model.onnx"
        onnx_file.write_bytes(onnx_bytes(seed_model(5)))
        inputs.append([str(onnx_file)])
    assembly: list[str] = []
    for args in inputs:
        out = tmp_path / "out.s"
        assert spike_opt([*args, "-p", pipeline, "-t", "spikecore-asm", "-o", str(out)]) == 0
        assembly.append(out.read_text())
    assert all(text == assembly[0] for text in assembly[1:])
    assert "\n.output c64[0:1]" in assembly[0] and "\n.output c73[0:1]" in assembly[0]
    assert ".output c74" not in assembly[0]


def test_pipeline_without_calibration_says_which_option_to_give(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert spike_opt([str(EXAMPLES / "tiny_mlp.mlir"), "-p", "spikecore-pipeline", "-t", "spikecore-asm"]) == 1
    assert capsys.readouterr().err.endswith(
        'spikecore-pipeline: error: no calibration inputs given: use spikecore-pipeline{calibration="inputs.npy"} '
        "(a .npy of @main inputs)\n"
    )
