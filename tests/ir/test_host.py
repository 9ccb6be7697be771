"""The host runtime: `spikecore.launch` as an xDSL interpreter function, HostExecutor's records, and
xDSL's own runner with spikeir's functions."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from xdsl.interpreter import Interpreter as XDSLInterpreter

from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.errors import ProgramError
from spikeir.ir.emit import program_from_module
from spikeir.ir.host import HostExecutor, SpikeCoreFunctions, run_program
from spikeir.ir.interpreter import numpy_functions
from spikeir.ir.xdsl_run import SpikeIRRunMain
from spikeir.tools.spike_opt import main as spike_opt
from support.nn_models import parse

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def placed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/tiny_mlp.mlir through the SpikeCore pipeline: flatten, one launch, softmax."""
    out = tmp_path_factory.mktemp("host") / "placed.mlir"
    pipeline = f'spikecore-pipeline{{calibration="{EXAMPLES / "tiny_calibration.npy"}"}}'
    assert spike_opt([str(EXAMPLES / "tiny_mlp.mlir"), "-p", pipeline, "-o", str(out)]) == 0
    return out


def _softmax(v: np.ndarray) -> np.ndarray:
    e = np.exp(v - v.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_launch_runs_the_program_on_the_hardware_model(placed: Path) -> None:
    module = parse(placed.read_text())
    x = np.random.default_rng(0).random((6, 1, 2, 2)).astype(np.float32)
    executor = HostExecutor(module, timesteps=3, lane_to_log=4)
    got = executor.run_main(x)
    program = program_from_module(module)
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    logits, _ = run_program(program, x.reshape(6, 4), 3, cpu, lane_to_log=4)
    np.testing.assert_allclose(got, _softmax(logits), rtol=1e-6)
    ((record,),) = [executor.launches]
    assert record.program == "spikecore_0" and record.target == "spikecore-v1" and executor.timesteps == 3
    assert record.stats.as_dict() == cpu.stats.as_dict() and record.spike_log == cpu.get_spike_log()
    assert record.spike_log_truncated is False
    executor.run_main(x[:5])
    assert len(executor.launches) == 1 and executor.launches[0].stats.batch == 5  # records are per run_main


def test_spikecore_functions_in_a_plain_xdsl_interpreter(placed: Path) -> None:
    module = parse(placed.read_text())
    plain = XDSLInterpreter(module)
    for functions in [*numpy_functions(), SpikeCoreFunctions(timesteps=2)]:
        plain.register_implementations(functions)
    x = np.random.default_rng(1).random((3, 1, 2, 2)).astype(np.float32)
    (out,) = plain.call_op("main", (x,))
    np.testing.assert_array_equal(out, HostExecutor(module, timesteps=2).run_main(x))
    assert [r.stats.timesteps for r in SpikeCoreFunctions.launches(plain)] == [2]


def test_host_errors(placed: Path) -> None:
    module = parse(placed.read_text())
    with pytest.raises(ProgramError, match="timesteps must be at least 1"):
        HostExecutor(module, timesteps=0)
    with pytest.raises(ProgramError, match="NaN or infinite") as info:
        HostExecutor(module).run_main(np.full((1, 1, 2, 2), np.nan, np.float32))
    assert not getattr(info.value, "__notes__", [])


def test_xdsl_run_main_runs_spikeir_ir(placed: Path) -> None:
    """``python -m spikeir.ir.xdsl_run``: xDSL's xDSLRunMain, spikeir's functions registered on top."""
    x = np.random.default_rng(2).random((2, 1, 2, 2)).astype(np.float32)
    attr = (
        "dense<" + np.array2string(x, separator=", ", floatmode="unique").replace("\n", "") + "> : tensor<2x1x2x2xf32>"
    )
    out = io.StringIO()
    with redirect_stdout(out):
        SpikeIRRunMain(args=[str(placed), "--args", attr, "--verbose", "--timesteps", "2"]).run()
    text = out.getvalue().replace("result:", "").replace("[", " ").replace("]", " ")
    expected = HostExecutor(parse(placed.read_text()), timesteps=2).run_main(x)
    np.testing.assert_allclose(np.array(text.split(), float).reshape(expected.shape), expected, rtol=1e-6)
