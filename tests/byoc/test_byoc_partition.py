"""BYOC partitioning as TVM's own backends do it: a check function on every pattern, parameters in the
form TVM's frontends detach them, calibration from the model's inputs, codegen options per RunCodegen."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import spikeir
from spikeir.options import CompileOptions, OptionError

tvm = pytest.importorskip("tvm")
from tvm import relax  # noqa: E402
from tvm.relax.frontend import detach_params  # noqa: E402
from tvm.relax.frontend.torch import from_exported_program  # noqa: E402

from spikeir.byoc.codegen import (  # noqa: E402
    build_heterogeneous,
    compiled_regions,
    partition_for_spikecore,
    register_spikecore_target,
)

RNG = np.random.default_rng(3)
CALIBRATION = RNG.standard_normal((48, 8)).astype(np.float32)
CALIBRATION[0, 0] = -9.0  # the raw inputs' range is not the range of relu(inputs)
TEST = RNG.standard_normal((12, 8)).astype(np.float32)


class LeakingIntermediate(nn.Module):
    """``y`` is used after the ReLU: fusing the ReLU would leave the host without ``y``."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(x)
        return torch.relu(y) + y


class HostOpFirst(nn.Module):
    """The region's input is ``relu(x)``, computed on the host: not the model's input."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(8, 6), nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(torch.relu(x))))


def _model(cls: type[nn.Module]) -> nn.Module:
    torch.manual_seed(0)
    return cls().eval()


def _relax(model: nn.Module, keep_params_as_input: bool = False) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        exported = torch.export.export(model, (torch.from_numpy(TEST[:1]),))
    return from_exported_program(exported, keep_params_as_input=keep_params_as_input)


def _run(vm: object) -> np.ndarray:
    return np.concatenate([vm["main"](tvm.runtime.tensor(TEST[i : i + 1]))[0].numpy() for i in range(len(TEST))])  # type: ignore[index]


def _standalone(model: nn.Module) -> spikeir.CompiledModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spikeir.compile(model, TEST[:1], calibration=CALIBRATION)


def _composites(mod: object) -> list[str]:
    """The composites of every region (they are local functions of the regions)."""
    return sorted(re.findall(r'"Composite": "([^"]+)"', mod.script(show_meta=False)))  # type: ignore[attr-defined]


def _region_symbols(mod: object) -> list[str]:
    return [
        str(f.attrs["global_symbol"])
        for _, f in mod.functions_items()  # type: ignore[attr-defined]
        if f.attrs is not None and "Codegen" in f.attrs
    ]


def test_a_leaking_intermediate_keeps_the_relu_on_the_host() -> None:
    model = _model(LeakingIntermediate)
    register_spikecore_target(calibration=CALIBRATION)
    partitioned = partition_for_spikecore(_relax(model))
    assert _composites(partitioned) == ["spikecore.dense_bias"]
    main = partitioned["main"].script(show_meta=False)  # type: ignore[index]
    assert "R.nn.relu" in main and "R.add" in main
    # Runs heterogeneously (it used to die in build_heterogeneous) and matches the standalone path.
    outputs = _run(build_heterogeneous(_relax(model)))
    layer = _standalone(model.fc).run(TEST)  # type: ignore[arg-type]
    np.testing.assert_array_equal(outputs, np.maximum(layer, 0) + layer)


def test_non_constant_weights_are_not_offloaded() -> None:
    register_spikecore_target()
    unbound = _relax(_model(HostOpFirst), keep_params_as_input=True)
    assert _composites(partition_for_spikecore(unbound)) == []


def test_detach_params_output_is_accepted() -> None:
    model = _model(HostOpFirst)
    mod, params = detach_params(_relax(model, keep_params_as_input=True))
    assert set(params) == {"main"} and isinstance(params["main"], list)
    register_spikecore_target(calibration=CALIBRATION)
    assert _composites(partition_for_spikecore(mod, params)) == ["spikecore.dense_bias", "spikecore.dense_relu"]
    np.testing.assert_array_equal(_run(build_heterogeneous(mod, params)), _run(build_heterogeneous(_relax(model))))
    with pytest.raises(spikeir.SpikeIRError, match=r"params\['main'\] holds 3 arrays for the 4 parameters"):
        partition_for_spikecore(mod, {"main": params["main"][:3]})


def test_a_region_after_a_host_op_calibrates_from_model_inputs() -> None:
    model = _model(HostOpFirst)
    standalone = _standalone(model)
    register_spikecore_target(calibration=CALIBRATION)
    outputs = _run(build_heterogeneous(_relax(model)))
    np.testing.assert_array_equal(outputs, standalone.run(TEST))
    region = list(compiled_regions().values())[-1]
    assert region.program.input_scale == standalone.program.input_scale
    assert region.to_bytes() == standalone.to_bytes()


def test_model_inputs_of_the_wrong_shape_are_named() -> None:
    with pytest.raises(spikeir.SpikeIRError, match=r"do not fit the model's input \[1, 8\]: each sample must have 8"):
        partition_for_spikecore(_relax(_model(HostOpFirst)), calibration=np.zeros((4, 3), np.float32))


def test_codegen_options_come_from_run_codegen() -> None:
    model = _model(HostOpFirst)
    register_spikecore_target(calibration=CALIBRATION, neurons_per_core=2)
    partitioned = partition_for_spikecore(_relax(model))
    relax.transform.RunCodegen({"spikecore": {"mode": "rate", "timesteps": 8}})(partitioned)
    (symbol,) = _region_symbols(partitioned)
    region = compiled_regions()[symbol]
    # The call's options override the registered defaults field by field.
    assert region.options == CompileOptions(mode="rate", timesteps=8, neurons_per_core=2)
    build_heterogeneous(_relax(model), options=CompileOptions(cores=9))
    assert list(compiled_regions().values())[-1].program.target.cores == 9
    with pytest.raises(OptionError, match="unknown option mdoe"):
        relax.transform.RunCodegen({"spikecore": {"mdoe": "rate"}})(partition_for_spikecore(_relax(model)))


def test_pass_context_config_cannot_carry_the_options() -> None:
    # Why the defaults live in spikeir.byoc.codegen: TVM 0.27 takes only config keys registered in C++.
    with pytest.raises(AttributeError, match="Invalid config option 'relax.ext.spikecore.options'"):
        tvm.transform.PassContext(config={"relax.ext.spikecore.options": {"mode": "rate"}})
