"""TVM Relax -> nn, and SpikeCore as a Relax BYOC target (partitioning, codegen, heterogeneous runs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from spikeir.errors import FrontendError, QuantizationError
from spikeir.frontends.relax import import_relax, import_relax_function
from spikeir.frontends.torch_export import import_torch
from spikeir.ir.interpreter import run_function
from support.frontend_helpers import normalise, seed_model

tvm = pytest.importorskip("tvm")
from tvm import relax  # noqa: E402
from tvm.relax.frontend import detach_params  # noqa: E402
from tvm.relax.frontend.torch import from_exported_program  # noqa: E402

from spikeir.byoc.codegen import (  # noqa: E402
    partition_for_spikecore,
    register_spikecore_target,
)
from spikeir.byoc.patterns import spikecore_pattern_table  # noqa: E402

X = torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(5))
CALIBRATION = np.random.default_rng(7).standard_normal((64, 1, 28, 28)).astype(np.float32)


class SeedWithSoftmax(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = seed_model()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x), dim=-1)


def _relax(model: nn.Module, **kwargs: bool) -> object:
    return from_exported_program(torch.export.export(model.eval(), (X,)), **kwargs)


@pytest.fixture(scope="module")
def seed_relax() -> object:
    return _relax(SeedWithSoftmax())


def _regions(mod: object) -> list[tuple[object, object]]:
    return [(gv, f) for gv, f in mod.functions_items() if f.attrs is not None and "Codegen" in f.attrs]  # type: ignore[attr-defined]


def test_whole_module_matches_torch(seed_relax: object) -> None:
    module = import_relax(seed_relax)
    assert normalise(module) == normalise(import_torch(SeedWithSoftmax(), X))
    assert 'layer "dense_0"' in str(module)


def test_parameters_as_inputs_are_bound_from_params() -> None:
    mod, params = detach_params(_relax(seed_model(), keep_params_as_input=True))
    named = {p.name: v.numpy() for p, v in zip(mod["main"].params[1:], params["main"])}
    assert normalise(import_relax(mod, named)) == normalise(import_relax(_relax(seed_model())))


def test_unsupported_relax_op_is_named() -> None:
    with pytest.raises(FrontendError, match="Relax op 'relax.sigmoid' is not supported"):
        import_relax(_relax(nn.Sequential(nn.Flatten(), nn.Linear(784, 4), nn.Sigmoid())))
    with pytest.raises(FrontendError, match="no function 'nope'"):
        import_relax(_relax(seed_model()), entry="nope")


def test_pattern_table_lists_general_before_specific() -> None:
    names = [name for name, _ in spikecore_pattern_table()]
    assert names == [
        "spikecore.dense",
        "spikecore.dense_bias",
        "spikecore.dense_relu",
        "spikecore.avg_pool2d",
        "spikecore.conv2d",
        "spikecore.conv2d_bias",
        "spikecore.conv2d_relu",
        "spikecore.conv2d_bn_relu",
        "spikecore.flatten",
    ]


def test_partition_outlines_one_region_per_chain(seed_relax: object) -> None:
    register_spikecore_target(calibration=CALIBRATION)
    partitioned = partition_for_spikecore(seed_relax)
    text = partitioned.script(show_meta=False)  # type: ignore[attr-defined]
    assert text.count('"Codegen": "spikecore"') == 1
    assert '"Composite": "spikecore.dense_relu"' in text and '"Composite": "spikecore.dense_bias"' in text
    main = partitioned["main"].script(show_meta=False)  # type: ignore[index]
    assert "R.reshape" in main and "R.nn.softmax" in main and "R.matmul" not in main
    ((_, region),) = _regions(partitioned)
    again = partition_for_spikecore(seed_relax)
    ((_, region_again),) = _regions(again)
    assert str(region.attrs["global_symbol"]) != str(region_again.attrs["global_symbol"])
    # The region in nn: the dense chain alone, computing what the torch layers compute.
    nn_region = import_relax_function(region)
    assert [op.name for op in nn_region.ops.first.body.ops][4:] == [  # type: ignore[union-attr]
        "nn.dense",
        "nn.bias_add",
        "nn.relu",
        "nn.dense",
        "nn.bias_add",
        "func.return",
    ]
    flat = X.reshape(1, -1)
    (got,) = run_function(nn_region, "main", flat.numpy())
    np.testing.assert_allclose(got, seed_model().layers(flat).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_codegen_without_calibration_is_a_user_error(seed_relax: object) -> None:
    register_spikecore_target()
    with pytest.raises(QuantizationError, match="no calibration data for the SpikeCore codegen"):
        relax.transform.RunCodegen()(partition_for_spikecore(seed_relax))
    register_spikecore_target(calibration=np.zeros((4, 3), np.float32))
    with pytest.raises(QuantizationError, match="each sample must have 784 values"):
        relax.transform.RunCodegen()(partition_for_spikecore(seed_relax))


def test_onnx_errors_are_frontend_errors() -> None:
    from onnx import TensorProto, helper, numpy_helper

    from spikeir.frontends.onnx import import_onnx

    with pytest.raises(FrontendError, match="not a valid ONNX model") as info:
        import_onnx(b"garbage", "bad.onnx")
    assert info.value.location == "bad.onnx"
    weight = numpy_helper.from_array(np.ones((2, 3), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Sigmoid", ["h"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(FrontendError, match="Relax op 'relax.sigmoid' is not supported") as info:
        import_onnx(model.SerializeToString(), "sig.onnx")
    assert str(info.value.location).startswith("sig.onnx:")
