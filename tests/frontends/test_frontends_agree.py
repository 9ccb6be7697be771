"""Every frontend gives the same nn IR for the seed MLP, the same SpikeCore program, and TVM's
heterogeneous execution (host on TVM, region on the hardware model) equals the standalone path."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from xdsl.dialects.builtin import ModuleOp

from spikeir.frontends.relay_text import import_relay
from spikeir.frontends.torch_export import import_torch
from support.frontend_helpers import SEED_RELAY, normalise, onnx_bytes, seed_model, seed_params

tvm = pytest.importorskip("tvm")
onnx = pytest.importorskip("onnx")
from tvm.relax.frontend.torch import from_exported_program  # noqa: E402

import spikeir  # noqa: E402
from spikeir.byoc.codegen import build_heterogeneous, compiled_regions, register_spikecore_target  # noqa: E402
from spikeir.frontends.onnx import import_onnx  # noqa: E402
from spikeir.frontends.relax import import_relax  # noqa: E402

MODEL = seed_model(11)
X = torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(2))
CALIBRATION = np.random.default_rng(3).standard_normal((128, 1, 28, 28)).astype(np.float32)
TEST = np.random.default_rng(4).standard_normal((8, 1, 28, 28)).astype(np.float32)


def _relax_module() -> object:
    return from_exported_program(torch.export.export(MODEL, (X,)))


@pytest.fixture(scope="module")
def frontends() -> dict[str, ModuleOp]:
    return {
        "torch": import_torch(MODEL, X),
        "relay": import_relay(SEED_RELAY, seed_params(MODEL)),
        "relax": import_relax(_relax_module()),
        "onnx": import_onnx(onnx_bytes(MODEL)),
    }


def test_all_frontends_give_the_same_nn_ir(frontends: dict[str, ModuleOp]) -> None:
    texts = {name: normalise(module) for name, module in frontends.items()}
    assert texts["relay"] == texts["torch"]
    assert texts["relax"] == texts["torch"]
    assert texts["onnx"] == texts["torch"]


def _compile(module: ModuleOp) -> spikeir.CompiledModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spikeir.compile(module, calibration=CALIBRATION)


def test_all_frontends_give_the_same_program(frontends: dict[str, ModuleOp]) -> None:
    programs = {name: _compile(module) for name, module in frontends.items()}
    reference = programs["torch"]
    for name, compiled in programs.items():
        assert compiled.program.synapse_tables.keys() == reference.program.synapse_tables.keys(), name
        assert compiled.to_bytes() == reference.to_bytes(), name
        np.testing.assert_array_equal(compiled.run(TEST), reference.run(TEST), err_msg=name)


def test_heterogeneous_execution_equals_the_standalone_path(frontends: dict[str, ModuleOp]) -> None:
    standalone = _compile(frontends["torch"])
    register_spikecore_target(calibration=CALIBRATION)
    vm = build_heterogeneous(_relax_module())
    outputs = [vm["main"](tvm.runtime.tensor(TEST[i : i + 1]))[0].numpy() for i in range(len(TEST))]
    np.testing.assert_array_equal(np.concatenate(outputs), standalone.run(TEST))
    last_region = list(compiled_regions().values())[-1]
    assert last_region.to_bytes() == standalone.to_bytes()
    assert last_region.assembly == standalone.assembly
