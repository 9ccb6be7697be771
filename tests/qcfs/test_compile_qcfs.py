"""spikeir.compile of QCFS models: lambdas become rate-mode thresholds (convert-to-snn's spikecore.thresholds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from xdsl.dialects.builtin import DictionaryAttr, FloatAttr, ModuleOp

import spikeir
from spikeir.dialects import spikecore
from spikeir.errors import SpikeIRError
from spikeir.ir.arrays import to_numpy
from spikeir.numerics.qcfs import QCFS
from spikeir.options import OptionError
from spikeir.passes.convert_to_snn import THRESHOLDS_ATTR, spike_thresholds
from spikeir.passes.diagnostics import PassError
from spikeir.passes.spikecore_pipeline import run_pipeline
from support.nn_models import parse

LEVELS = 4
ROOT = Path(__file__).resolve().parents[2]


def _qcfs_mlp(seed: int = 0) -> nn.Sequential:
    """A small random 12-8-6-3 QCFS MLP with lambdas near the activations' range."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(12, 8), QCFS(LEVELS, 1.2), nn.Linear(8, 6), QCFS(LEVELS, 0.8), nn.Linear(6, 3))
    return model.eval()


def _inputs(count: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((count, 12)).astype(np.float32)


def _fires(compiled: spikeir.CompiledModel) -> list[tuple[str, np.ndarray, np.ndarray, float]]:
    """(layer, thresholds, group units, spike value) of every binary FIRE of the compiled module."""
    found = []
    for program in compiled.module.walk():
        if not isinstance(program, spikecore.ProgramOp):
            continue
        tables = {op.sym_name.data: op for op in program.body.ops if isinstance(op, spikecore.ParamsOp)}
        for fire in program.body.ops:
            if isinstance(fire, spikecore.FireOp) and fire.mode.data == spikecore.FireMode.BINARY:
                group = fire.group.owner
                assert isinstance(group, spikecore.GroupOp)
                theta = to_numpy(tables[fire.params.root_reference.data].dense)
                units = np.broadcast_to(np.asarray(group.units), (group.size,))
                found.append((group.layer.data, theta, units, fire.unit.value.data))
    return found


def test_rate_mode_takes_each_lambda_as_the_threshold_of_the_layer_before_it() -> None:
    model = _qcfs_mlp()
    compiled = spikeir.compile(model, _inputs(1), _inputs(64), mode="rate")
    attribute = compiled.module.attributes[THRESHOLDS_ATTR]
    assert isinstance(attribute, DictionaryAttr)
    lambdas = {layer: value.value.data for layer, value in attribute.data.items() if isinstance(value, FloatAttr)}
    assert lambdas == pytest.approx({"0": 1.2, "2": 0.8})  # the float32 parameters
    fires = _fires(compiled)
    assert [layer for layer, *_ in fires] == ["0", "2"]
    for (_, theta, units, value), lam in zip(fires, (1.2, 0.8)):
        assert value == pytest.approx(lam)  # one spike stands for lambda
        assert np.array_equal(theta, spike_thresholds(value, units))
    assert compiled.timesteps == LEVELS  # a run defaults to T = L


def test_at_t_equal_l_the_snn_computes_the_qcfs_network() -> None:
    model = _qcfs_mlp()
    x = _inputs(300)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    compiled = spikeir.compile(model, x[:1], _inputs(64), mode="rate", per_channel=True)
    got = compiled.run(x)
    assert np.mean(got.argmax(1) == expected.argmax(1)) >= 0.97
    assert np.mean(np.abs(got - expected)) < 0.05 * np.mean(np.abs(expected))
    calibrated = spikeir.compile(model, x[:1], _inputs(64), mode="rate", thresholds="calibration", timesteps=LEVELS)
    assert THRESHOLDS_ATTR not in calibrated.module.attributes
    assert np.mean(np.abs(calibrated.run(x) - expected)) > 2 * np.mean(np.abs(got - expected))


def test_explicit_timesteps_and_graded_mode_are_left_alone() -> None:
    model = _qcfs_mlp()
    assert spikeir.compile(model, _inputs(1), _inputs(32), mode="rate", timesteps=16).timesteps == 16
    graded = spikeir.compile(model, _inputs(1), _inputs(32))
    assert THRESHOLDS_ATTR not in graded.module.attributes and graded.timesteps == 1


def test_thresholds_option_is_checked() -> None:
    with pytest.raises(OptionError, match="thresholds must be auto or calibration or model"):
        spikeir.CompileOptions(thresholds="qcfs")  # type: ignore[arg-type]
    plain = nn.Sequential(nn.Linear(12, 4), nn.ReLU(), nn.Linear(4, 3))
    with pytest.raises(SpikeIRError, match="thresholds='model' needs a torch model with QCFS"):
        spikeir.compile(plain, _inputs(1), _inputs(8), mode="rate", thresholds="model")


class _FunctionalRelu(nn.Module):
    """A QCFS activation plus an F.relu that no module hook sees: lambdas cannot be matched."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2, self.fc3 = nn.Linear(12, 6), QCFS(LEVELS, 1.0), nn.Linear(6, 5), nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(torch.relu(self.fc2(self.act(self.fc1(x)))))


def test_a_functional_relu_next_to_qcfs_is_a_clear_error() -> None:
    with pytest.raises(SpikeIRError, match="1 ReLU/QCFS modules but its graph has 2 ReLUs") as error:
        spikeir.compile(_FunctionalRelu(), _inputs(1), _inputs(8), mode="rate")
    assert error.value.location == "_FunctionalRelu"


def _tiny(attribute: str) -> ModuleOp:
    """examples/tiny_mlp.mlir (layers fc1, fc2) with ``attribute`` on its module."""
    text = (ROOT / "examples" / "tiny_mlp.mlir").read_text()
    return parse(f"builtin.module attributes {{{attribute}}} {{\n{text}\n}}")


def test_the_module_attribute_works_from_ir_too() -> None:
    calibration = np.load(ROOT / "examples" / "tiny_calibration.npy")
    module = _tiny(f"{THRESHOLDS_ATTR} = {{fc1 = 3.5 : f64}}")
    run_pipeline(module, calibration, mode="rate")
    fire = next(op for op in module.walk() if isinstance(op, spikecore.FireOp))
    assert fire.unit.value.data == 3.5


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        (f"{THRESHOLDS_ATTR} = {{fc1 = -1.0 : f64}}", 'lambda of layer "fc1" must be a positive number'),
        (f'{THRESHOLDS_ATTR} = {{fc1 = "high"}}', 'lambda of layer "fc1" must be a positive number'),
        (f"{THRESHOLDS_ATTR} = [1.0]", "must be a dictionary of layer name to lambda"),
        (f"{THRESHOLDS_ATTR} = {{fc9 = 1.0 : f64}}", 'names layer "fc9", which no SpikeCore group holds'),
    ],
)
def test_a_bad_module_attribute_is_a_pass_error(attribute: str, message: str) -> None:
    calibration = np.load(ROOT / "examples" / "tiny_calibration.npy")
    with pytest.raises(PassError, match=message):
        run_pipeline(_tiny(attribute), calibration, mode="rate")


def test_a_qcfs_cnn_with_average_pooling_compiles_in_rate_mode() -> None:
    """Kept as a layer (fold_pools=False), the pool after a ReLU is lowered without a ReLU (clamp
    [-128, 127]); its potential is never negative (binary spikes in, ones kernel), so convert-to-snn
    converts it instead of refusing. By default it is folded into the dense layer: one FIRE fewer."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), QCFS(LEVELS, 1.0), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(2 * 4 * 4, 3)
    ).eval()
    x = np.random.default_rng(2).random((40, 1, 8, 8)).astype(np.float32)
    compiled = spikeir.compile(model, x[:1], x, mode="rate", fold_pools=False)
    assert [layer for layer, *_ in _fires(compiled)] == ["0", "2"]  # the conv (lambda 1.0) and the pool
    assert _fires(compiled)[0][3] == pytest.approx(1.0)
    assert compiled.run(x).shape == (40, 3)
    folded = spikeir.compile(model, x[:1], x, mode="rate")
    assert [layer for layer, *_ in _fires(folded)] == ["0"]
    assert _fires(folded)[0][3] == pytest.approx(1.0)
    assert folded.run(x).shape == (40, 3)


def test_a_qcfs_activation_after_the_output_layer_is_refused_in_rate_mode() -> None:
    """The region's output is its last layer's accumulator, so a QCFS after it would run on the host as
    a plain ReLU: its clip at lambda would be dropped without a word. Rate mode refuses it by name."""
    model = nn.Sequential(nn.Linear(4, 3), QCFS(LEVELS, 1.5)).eval()
    x = np.random.default_rng(3).random((20, 4)).astype(np.float32)
    with pytest.raises(spikeir.SpikeIRError, match='names layer "0", whose activation runs on the host'):
        spikeir.compile(model, x[:1], x, mode="rate")
