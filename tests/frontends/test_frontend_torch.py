"""PyTorch -> nn through torch.export: the seed MLP, functional forms, .pt2 archives, located errors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from xdsl.dialects.arith import ConstantOp
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp

from spikeir.dialects import nn as nn_dialect
from spikeir.errors import FrontendError
from spikeir.frontends import FRONTENDS, FrontendOptions
from spikeir.frontends.torch_export import import_pt2, import_torch
from spikeir.ir.arrays import to_numpy
from spikeir.ir.interpreter import run_function
from support.frontend_helpers import normalise, seed_model

X = torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(1))


def _ops(module: ModuleOp) -> list[str]:
    main = module.ops.first
    assert isinstance(main, FuncOp)
    return [op.name for op in main.body.ops]


def _agrees(module: ModuleOp, model: nn.Module, x: torch.Tensor) -> None:
    """The nn IR computes what the model computes (interpreted on a batch)."""
    (got,) = run_function(module, "main", x.numpy())
    np.testing.assert_allclose(got, model(x).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def seed_module() -> ModuleOp:
    return import_torch(seed_model(), X)


def test_seed_mlp_structure(seed_module: ModuleOp) -> None:
    assert _ops(seed_module) == ["arith.constant"] * 4 + [
        "nn.batch_flatten",
        "nn.dense",
        "nn.bias_add",
        "nn.relu",
        "nn.dense",
        "nn.bias_add",
        "func.return",
    ]
    main = seed_module.ops.first
    assert isinstance(main, FuncOp)
    # Batch 1 in the types even though the example batch is 3.
    assert str(main.function_type) == "(tensor<1x1x28x28xf32>) -> tensor<1x10xf32>"
    denses = [op for op in main.body.ops if isinstance(op, nn_dialect.DenseOp)]
    assert [op.layer.data for op in denses if op.layer] == ["layers.0", "layers.2"]
    state = seed_model().state_dict()
    constants = [to_numpy(op.value) for op in main.body.ops if isinstance(op, ConstantOp)]  # type: ignore[arg-type]
    for got, key in zip(constants, ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]):
        np.testing.assert_array_equal(got, state[key].numpy())


def test_seed_mlp_computes_the_model(seed_module: ModuleOp) -> None:
    _agrees(seed_module, seed_model(), X)


class Functional(nn.Module):
    """F.linear, x @ W.T + b, torch.matmul with a parameter, view, softmax over dim=1."""

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(2)
        self.w1 = nn.Parameter(torch.randn(8, 12, generator=g))
        self.b1 = nn.Parameter(torch.randn(8, generator=g))
        self.w2 = nn.Parameter(torch.randn(6, 8, generator=g))
        self.b2 = nn.Parameter(torch.randn(6, generator=g))
        self.w3 = nn.Parameter(torch.randn(6, 4, generator=g))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(F.linear(x.reshape(x.shape[0], -1), self.w1, self.b1))
        h = torch.relu(h @ self.w2.T + self.b2)
        return torch.softmax(torch.matmul(h, self.w3), dim=1)


def test_functional_forms() -> None:
    model = Functional().eval()
    x = torch.randn(2, 3, 4)
    module = import_torch(model, x)
    assert _ops(module).count("nn.dense") == 3
    assert _ops(module).count("nn.bias_add") == 2
    main = module.ops.first
    assert isinstance(main, FuncOp)
    layers = [op.layer.data for op in main.body.ops if isinstance(op, nn_dialect.DenseOp) and op.layer]
    assert layers == ["w1", "w2", "w3"]
    softmax = next(op for op in main.body.ops if isinstance(op, nn_dialect.SoftmaxOp))
    assert softmax.axis.value.data == -1
    _agrees(module, model, x)


def test_decomposed_export_addmm_and_permute() -> None:
    """Core ATen (after run_decompositions) writes Linear as permute + addmm."""
    model = seed_model()
    program = torch.export.export(model, (X[:1],)).run_decompositions()
    names = {str(n.target) for n in program.graph.nodes}
    assert "aten.addmm.default" in names
    from spikeir.frontends.torch_export import import_exported_program

    module = import_exported_program(program)
    assert normalise(module) == normalise(import_torch(model, X))


def test_dropout_and_nested_sequential() -> None:
    model = nn.Sequential(
        nn.Flatten(), nn.Sequential(nn.Linear(12, 5), nn.Dropout(0.5), nn.ReLU()), nn.Linear(5, 3)
    ).eval()
    module = import_torch(model, torch.randn(1, 3, 4))
    main = module.ops.first
    assert isinstance(main, FuncOp)
    assert [op.layer.data for op in main.body.ops if isinstance(op, nn_dialect.DenseOp) and op.layer] == ["1.0", "2"]
    _agrees(module, model, torch.randn(4, 3, 4))


def test_log_softmax_is_rejected_with_a_hint() -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.LogSoftmax(dim=-1))
    with pytest.raises(FrontendError, match="log_softmax.*use softmax"):
        import_torch(model, torch.randn(1, 4))


def test_non_constant_weight_is_rejected() -> None:
    class Gram(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x @ x.T

    class Square(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.mm(x, x.reshape(4, 1))

    with pytest.raises(FrontendError, match="numpy_T is not supported by spikeir on activations"):
        import_torch(Gram(), torch.randn(1, 4))
    with pytest.raises(FrontendError, match="right operand must be a parameter or constant"):
        import_torch(Square(), torch.randn(1, 4))


def test_pt2_archive_round_trip(tmp_path: Path, seed_module: ModuleOp) -> None:
    path = tmp_path / "mlp.pt2"
    torch.export.save(torch.export.export(seed_model(), (X[:1],)), path)
    assert str(import_pt2(path)) == str(seed_module)
    with path.open("rb") as stream:
        via_registry = FRONTENDS["pt2"](stream, FrontendOptions(filename=str(path)))
    assert normalise(via_registry) == normalise(seed_module)


def test_pt2_garbage_is_a_frontend_error() -> None:
    with pytest.raises(FrontendError, match=r"^bad\.pt2: not a torch\.export archive"):
        FRONTENDS["pt2"](io.BytesIO(b"not a zip"), FrontendOptions(filename="bad.pt2"))
