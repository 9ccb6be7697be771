"""The Python API: spikeir.compile / CompiledModel and the seed's compile_nn_to_spikecore."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

import spikeir
from spikeir.chip.image import decode
from spikeir.chip.isa import Acc, Halt, Opcode
from spikeir.compiler import build_mlp_module
from spikeir.errors import PlacementError, SpikeIRError
from spikeir.ir.interpreter import run_function
from spikeir.lab.training import MLP
from spikeir.options import OptionError
from spikeir.passes.place import PlacePass
from spikeir.passes.quantize import QuantizePass
from support.spikecore_ir import parse


@pytest.fixture(scope="module")
def model_and_data() -> tuple[torch.nn.Module, np.ndarray]:
    torch.manual_seed(0)
    model = MLP((32,)).eval()
    x = np.random.default_rng(0).random((64, 1, 28, 28)).astype(np.float32)
    return model, x


def test_compiled_model_runs_on_the_hardware_model(model_and_data: tuple[torch.nn.Module, np.ndarray]) -> None:
    model, x = model_and_data
    compiled = spikeir.compile(model, x[:1], calibration=x, record=True)
    logits = compiled.run(x)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert logits.shape == expected.shape and logits.dtype == np.float32
    assert (logits.argmax(1) == expected.argmax(1)).mean() >= 0.9
    # The run really went through SpikeCoreCPU: its statistics count every synaptic event.
    assert compiled.last_run is not None and compiled.last_run.batch == len(x) and compiled.last_run.synaptic_ops > 0
    assert compiled.assembly.startswith(".target spikecore-v1") and "FIRE" in compiled.assembly
    assert decode(compiled.to_bytes()) == compiled.program
    stats = compiled.stats
    assert stats["instructions"] == len(compiled.program) and stats["acc"] == compiled.program.count(Opcode.ACC)
    assert stats["weights"] == 784 * 32 + 32 * 10 and QuantizePass.name in stats["compile_seconds"]
    assert list(compiled.stages)[0] == "input" and PlacePass.name in compiled.stages


def test_graded_outputs_equal_the_integer_network_exactly(model_and_data: tuple[torch.nn.Module, np.ndarray]) -> None:
    # The quantized region evaluated with exact integer semantics (the nn interpreter) and the program
    # on the hardware model must give the same floats.
    model, x = model_and_data
    compiled = spikeir.compile(model, x[:1], calibration=x, record=True)
    (integer_logits,) = run_function(parse(compiled.stages[QuantizePass.name]), "main", x)
    np.testing.assert_array_equal(compiled.run(x), integer_logits)


def test_rate_mode_and_timesteps(model_and_data: tuple[torch.nn.Module, np.ndarray]) -> None:
    model, x = model_and_data
    compiled = spikeir.compile(model, x[:1], calibration=x, mode="rate", timesteps=16)
    assert compiled.timesteps == 16 and compiled.program.count(Opcode.FIRE) >= 1
    assert "binary" in compiled.assembly
    logits = compiled.run(x)
    assert compiled.last_run.timesteps == 16 and np.isfinite(logits).all()
    compiled.run(x, timesteps=4)
    assert compiled.last_run.timesteps == 4


def test_resource_options_reach_placement(model_and_data: tuple[torch.nn.Module, np.ndarray]) -> None:
    model, x = model_and_data
    with pytest.raises(PlacementError, match="cores"):
        spikeir.compile(model, x[:1], calibration=x, neurons_per_core=1, cores=16)
    compiled = spikeir.compile(model, x[:1], calibration=x, neurons_per_core=1, cores=42)
    assert compiled.program.target.cores == 42
    assert {i.core for i in compiled.program if isinstance(i, Acc)} == set(range(42))


def test_compile_rejects_bad_arguments(model_and_data: tuple[torch.nn.Module, np.ndarray]) -> None:
    model, x = model_and_data
    with pytest.raises(SpikeIRError, match="mode must be graded or rate, got 'spiking'"):
        spikeir.compile(model, x[:1], calibration=x, mode="spiking")
    with pytest.raises(SpikeIRError, match="timesteps must be at least 1"):
        spikeir.compile(model, x[:1], calibration=x, timesteps=0)
    with pytest.raises(SpikeIRError, match="unknown target 'loihi'"):
        spikeir.compile(model, x[:1], calibration=x, target="loihi")
    with pytest.raises(SpikeIRError, match="needs an example input"):
        spikeir.compile(model, calibration=x)
    with pytest.raises(SpikeIRError, match="cannot compile a str"):
        spikeir.compile("model.pt", x[:1], calibration=x)
    with pytest.warns(UserWarning, match="no calibration data"):
        spikeir.compile(model, x[:1])


def test_compile_nn_to_spikecore_returns_the_programs_own_tables() -> None:
    rng = np.random.default_rng(1)
    weights = [rng.normal(0, 0.1, (16, 20)).astype(np.float32), rng.normal(0, 0.3, (4, 16)).astype(np.float32)]
    biases = [rng.normal(0, 0.1, 16).astype(np.float32), np.zeros(4, np.float32)]
    calibration = rng.random((100, 20)).astype(np.float32)
    program, q_weights, q_biases = spikeir.compile_nn_to_spikecore(
        weights, biases, ["relu", None], calibration=calibration
    )
    assert isinstance(program[-1], Halt) and len(q_weights) == len(q_biases) == 2
    for layer, (w_int8, scale) in enumerate(q_weights):
        assert w_int8.dtype == np.int8 and np.array_equal(w_int8, program.synapse_tables[layer])
        # Symmetric int8: the largest weight maps to 127 (per tensor).
        assert np.isclose(scale, np.abs(weights[layer]).max() / 127)
        np.testing.assert_allclose(w_int8 * scale, weights[layer], atol=scale / 2 + 1e-9)
    assert all(b.dtype == np.int32 for b, _ in q_biases)
    with pytest.warns(UserWarning, match="standard-normal"):
        spikeir.compile_nn_to_spikecore(weights, biases, ["relu", None])


def test_build_mlp_module_checks_its_arrays() -> None:
    w = np.zeros((4, 3), np.float32)
    module = build_mlp_module([w], [np.ones(4, np.float32)], ["relu"])
    (out,) = run_function(module, "main", np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(out, np.ones((2, 4), np.float32))
    with pytest.raises(SpikeIRError, match="one length"):
        build_mlp_module([w], [], ["relu"])
    with pytest.raises(SpikeIRError, match=r"weight 1 has shape \[2, 5\]; expected \[out, 4\]"):
        build_mlp_module([w, np.zeros((2, 5), np.float32)], [None, None], ["relu", None])
    with pytest.raises(SpikeIRError, match="activation 0 must be 'relu' or None"):
        build_mlp_module([w], [None], ["tanh"])


@pytest.fixture(scope="module")
def compiled_mlp(model_and_data: tuple[torch.nn.Module, np.ndarray]) -> spikeir.CompiledModel:
    model, x = model_and_data
    return spikeir.compile(model, x[:1], calibration=x)


def test_an_empty_batch_runs_to_an_empty_batch(
    compiled_mlp: spikeir.CompiledModel, model_and_data: tuple[torch.nn.Module, np.ndarray]
) -> None:
    compiled, x = compiled_mlp, model_and_data[1]
    compiled.run(x[:2])
    empty = compiled.run(x[:0])
    assert empty.shape == (0, 10) and empty.dtype == np.float32 and compiled.last_run is None


@pytest.mark.parametrize("timesteps", [0, -3, True, 2.0])
def test_run_refuses_timesteps_below_one(model_and_data: tuple[torch.nn.Module, np.ndarray], timesteps: object) -> None:
    model, x = model_and_data
    compiled = spikeir.compile(model, x[:1], calibration=x)
    with pytest.raises(OptionError, match=r"timesteps must be at least 1, got"):
        compiled.run(x[:2], timesteps=timesteps)  # pyright: ignore[reportArgumentType]


class _TwoHeads(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = torch.nn.Linear(784, 8), torch.nn.Linear(784, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.flatten(1)
        return self.a(x), self.b(x)


def test_a_model_with_two_outputs_is_refused_naming_them(model_and_data: tuple[torch.nn.Module, np.ndarray]) -> None:
    _, x = model_and_data
    with pytest.raises(SpikeIRError, match=r"2 outputs \(output 0 \(tensor<1x8xf32>\), output 1 \(tensor<1x4xf32>\)\)"):
        spikeir.compile(_TwoHeads().eval(), x[:1], calibration=x)


def test_layers_split_into_several_regions_compile_to_one_program_each(
    model_and_data: tuple[torch.nn.Module, np.ndarray],
) -> None:
    """A host op between layers (a softmax here, a max pooling in a CNN) splits them into two regions:
    both compile, `run` goes through both (the host op in numpy between them), and `program`, which
    names one program, says there are two and where they are."""
    from spikeir.ir.host import HostExecutor

    _, x = model_and_data
    torch.manual_seed(0)
    split = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, 16), torch.nn.Softmax(1), torch.nn.Linear(16, 10)
    ).eval()
    compiled = spikeir.compile(split, x[:1], calibration=x)
    assert list(compiled.programs) == ["spikecore_0", "spikecore_1"]
    outputs = compiled.run(x)
    np.testing.assert_array_equal(outputs, HostExecutor(compiled.module).run_main(x))
    with torch.no_grad():
        expected = split(torch.from_numpy(x)).numpy()
    assert np.mean(outputs.argmax(1) == expected.argmax(1)) >= 0.95
    assert len(compiled.last_runs) == 2
    assert compiled.last_run.spikes == sum(run.spikes for run in compiled.last_runs)
    assert compiled.last_run.energy_pj == pytest.approx(sum(run.energy_pj for run in compiled.last_runs))
    assert len(compiled.last_run.core_cycles) == sum(len(run.core_cycles) for run in compiled.last_runs)
    copy = pickle.loads(pickle.dumps(compiled))  # after a run: the cached executor is not pickled
    np.testing.assert_array_equal(copy.run(x), outputs)
    stats = compiled.stats
    assert stats["programs"] == 2
    assert stats["instructions"] == sum(len(p) for p in compiled.programs.values())
    with pytest.raises(
        SpikeIRError, match=r"2 programs \('spikecore_0', 'spikecore_1'\), split by host ops \(nn.softmax\)"
    ):
        compiled.program  # noqa: B018 (the property is the call under test)
    with pytest.raises(SpikeIRError, match="CompiledModel.programs"):
        compiled.to_bytes()


def test_a_max_pooling_cnn_runs_through_its_regions_in_graded_mode_and_rate_mode_refuses() -> None:
    """Graded: the regions' int8 layers, the ReLU and max pooling on the host between them. Rate mode
    would run that ReLU on the host in float, not as spikes: refused, saying what to change."""
    torch.manual_seed(0)
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 4, 3),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(16, 3),
    ).eval()
    x = np.random.default_rng(0).random((100, 1, 8, 8)).astype(np.float32)
    with torch.no_grad():
        expected = cnn(torch.from_numpy(x)).numpy()
    compiled = spikeir.compile(cnn, x[:1], x)
    assert len(compiled.programs) == 2
    assert np.mean(compiled.run(x).argmax(1) == expected.argmax(1)) >= 0.95
    with pytest.raises(
        SpikeIRError, match=r"rate mode needs a model.s SpikeCore layers in one region.*average pooling"
    ):
        spikeir.compile(cnn, x[:1], x, mode="rate")
