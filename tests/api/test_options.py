"""CompileOptions: one declaration of the compile options, checked once, taken by every entry point."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import torch

import spikeir
from spikeir.chip.isa import Fire, FireMode, Leak, ResetMode
from spikeir.errors import SpikeIRError, TargetError
from spikeir.lab.training import MLP
from spikeir.options import CompileOptions, OptionError, PipelineOptions
from spikeir.passes.convert_to_snn import ConvertToSnnPass
from spikeir.passes.fold_pool import NnFoldPoolPass
from spikeir.passes.place import PlacePass
from spikeir.passes.quantize import QuantizePass
from spikeir.passes.spikecore_pipeline import CalibratedQuantize, SpikeCorePipelinePass, lowering_passes
from spikeir.tools.spike_opt import main as spike_opt

TINY_MLP = Path(__file__).parents[2] / "examples" / "tiny_mlp.mlir"


@pytest.fixture(scope="module")
def model_and_data() -> tuple[torch.nn.Module, np.ndarray]:
    torch.manual_seed(0)
    model = MLP((16,)).eval()
    x = np.random.default_rng(0).random((32, 1, 28, 28)).astype(np.float32)
    return model, x


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"mode": "spiking"}, "mode must be graded or rate, got 'spiking'"),
        ({"method": "mean"}, "method must be max or percentile, got 'mean'"),
        ({"reset": "hold"}, "reset must be subtract or zero, got 'hold'"),
        ({"per_channel": 1}, "per_channel must be true or false, got 1"),
        ({"cores": 2.5}, "cores must be an integer, got 2.5"),
        ({"percentile": "high"}, "percentile must be a number, got 'high'"),
        ({"percentile": 0}, r"percentile must be in \(0, 100\], got 0"),
        ({"leak_shift": 32}, r"leak_shift must be 0 \(no leak\) or in 1..31, got 32"),
        ({"synapse_bytes": -1}, r"synapse_bytes must be 0 \(the target's value\) or more, got -1"),
        ({"timesteps": 0}, "timesteps must be at least 1, got 0"),
    ],
)
def test_bad_values_are_rejected_when_built(option: dict[str, object], message: str) -> None:
    with pytest.raises(OptionError, match=f"^{message}$"):
        CompileOptions(**option)  # type: ignore[arg-type]


def test_unknown_targets_and_names_are_user_errors() -> None:
    with pytest.raises(TargetError, match="unknown target 'loihi'"):
        CompileOptions(target="loihi")
    with pytest.raises(OptionError, match="unknown option leak; the options are cores, fold_pools, init_half, "):
        CompileOptions.of(None, leak=3)
    # An option error is a SpikeIRError for Python callers and a pass failure for xDSL drivers.
    assert issubclass(OptionError, SpikeIRError)


def test_of_replaces_fields_of_a_base() -> None:
    base = CompileOptions(mode="rate", cores=4)
    assert CompileOptions.of(base, cores=8) == CompileOptions(mode="rate", cores=8)
    assert CompileOptions.of() == CompileOptions()
    assert CompileOptions().run_timesteps == 1 and base.run_timesteps == 32
    assert CompileOptions(mode="rate", timesteps=5).run_timesteps == 5


def test_the_pipeline_pass_options_are_the_pipeline_options() -> None:
    names = {f.name for f in fields(SpikeCorePipelinePass)}
    assert names == {f.name for f in fields(PipelineOptions)} | {"calibration"}
    assert "timesteps" not in names  # a run-time matter: the pipeline does not use it


def test_the_pipeline_is_a_list_of_configured_passes() -> None:
    options = PipelineOptions(mode="rate", leak_shift=3, reset="zero", init_half=False, cores=7)
    quantize = CalibratedQuantize(None, options)
    passes = lowering_passes(options, quantize)
    assert passes[6] is quantize and quantize.name == QuantizePass.name
    assert NnFoldPoolPass() in passes and NnFoldPoolPass() not in lowering_passes(
        PipelineOptions(fold_pools=False), quantize
    )
    assert passes[-2] == ConvertToSnnPass(leak_shift=3, init_half=False, reset="zero")
    assert passes[-1] == PlacePass(cores=7)
    assert not any(isinstance(p, ConvertToSnnPass) for p in lowering_passes(PipelineOptions(), quantize))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mode=spiking", "Incompatible types: given ('spiking',), expected typing.Literal['graded', 'rate']"),
        ("reset=hold", "Incompatible types: given ('hold',), expected typing.Literal['subtract', 'zero']"),
        ("timesteps=4", 'Provided arguments ["timesteps"] not found'),
    ],
)
def test_spike_opt_rejects_bad_choices_while_parsing_the_pipeline(
    spec: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert spike_opt(["-", "-p", f"spikecore-pipeline{{{spec}}}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"spike-opt: error: invalid pass pipeline -p 'spikecore-pipeline{{{spec}}}': ")
    assert message in err and err.count("\n") == 1


def test_compile_takes_an_options_object_and_keyword_overrides(
    model_and_data: tuple[torch.nn.Module, np.ndarray],
) -> None:
    model, x = model_and_data
    options = CompileOptions(mode="rate", neurons_per_core=4)
    compiled = spikeir.compile(model, x[:1], calibration=x, options=options, timesteps=8)
    assert compiled.options == CompileOptions(mode="rate", neurons_per_core=4, timesteps=8)
    assert compiled.mode == "rate" and compiled.timesteps == 8
    assert compiled.program.target.neurons_per_core == 4
    with pytest.raises(OptionError, match="unknown option neuron_per_core"):
        spikeir.compile(model, x[:1], calibration=x, neuron_per_core=4)


def test_rate_knobs_reach_the_program(model_and_data: tuple[torch.nn.Module, np.ndarray]) -> None:
    model, x = model_and_data
    default = spikeir.compile(model, x[:1], calibration=x, mode="rate").program
    fires = [i for i in default if isinstance(i, Fire)]
    assert fires and all(f.reset == ResetMode.SUBTRACT and f.init_half for f in fires)
    assert not any(isinstance(i, Leak) for i in default)
    tuned = spikeir.compile(model, x[:1], calibration=x, mode="rate", reset="zero", init_half=False, leak_shift=3)
    fires = [i for i in tuned.program if isinstance(i, Fire)]
    assert all(f.mode == FireMode.BINARY and f.reset == ResetMode.ZERO and not f.init_half for f in fires)
    assert [i.shift for i in tuned.program if isinstance(i, Leak)] == [3] * len(fires)


@pytest.mark.parametrize(
    "pipeline",
    [
        "spikecore-place{neurons-per-core=true}",
        "convert-to-snn{leak-shift=false}",
        'spikecore-quantize{calibration="x.npy" percentile=true}',
        'spikecore-pipeline{calibration="x.npy" neurons-per-core=true}',
    ],
)
def test_a_boolean_is_not_a_number(pipeline: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 19, 12: `neurons-per-core=true` was taken as 1 and written out as `neurons_per_core=True`."""
    assert spike_opt([str(TINY_MLP), "-p", pipeline]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "must be" in err and ("True" in err or "False" in err), err


def test_bools_and_ints_where_they_belong_are_accepted() -> None:
    assert PlacePass(neurons_per_core=1).neurons_per_core == 1
    assert QuantizePass(percentile=99, per_channel=True).percentile == 99
    with pytest.raises(OptionError, match="neurons_per_core must be an integer, got True"):
        PlacePass(neurons_per_core=True)
    with pytest.raises(OptionError, match="cores must be an integer, got False"):
        PipelineOptions(cores=False)
