"""PyTorch -> nn for convolutional networks: conv2d, pooling, batch norm, skip connections, cat.

Each model's imported nn IR, run by the numpy interpreter, computes the torch model's float output;
bad attributes and unsupported ops are FrontendErrors naming the op, the layer and the place.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp

from spikeir.dialects import nn as nn_dialect
from spikeir.errors import FrontendError
from spikeir.frontends.torch_export import SUPPORTED_OPS, import_exported_program, import_pt2, import_torch
from spikeir.ir.interpreter import run_function
from support.frontend_helpers import normalise


def _ops(module: ModuleOp) -> list[str]:
    main = module.ops.first
    assert isinstance(main, FuncOp)
    return [op.name for op in main.body.ops if op.name != "arith.constant"]


def _agrees(module: ModuleOp, model: nn.Module, x: torch.Tensor) -> None:
    """The nn IR computes what the model computes, on a batch (float tolerance)."""
    (got,) = run_function(module, "main", x.numpy())
    with torch.no_grad():
        want = model(x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def _randomise_norms(model: nn.Module, seed: int) -> nn.Module:
    """Batch norms with non-trivial running statistics and affine parameters (eval mode)."""
    g = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            channels = module.num_features
            module.running_mean.copy_(torch.randn(channels, generator=g))  # type: ignore[union-attr]
            module.running_var.copy_(torch.rand(channels, generator=g) + 0.5)  # type: ignore[union-attr]
            if module.affine:
                module.weight.data.copy_(torch.randn(channels, generator=g))
                module.bias.data.copy_(torch.randn(channels, generator=g))
    return model.eval()


class LeNet(nn.Module):
    """conv-relu-pool x2, two linear layers (the issue's LeNet-style CNN, shrunk to 1x16x16)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 5, padding=2),
            nn.ReLU(),
            nn.AvgPool2d(2),
            nn.Conv2d(4, 8, 5),
            nn.ReLU(),
            nn.AvgPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(8 * 2 * 2, 16), nn.ReLU(), nn.Linear(16, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    """ResNet's basic block: conv-bn-relu-conv-bn + identity, relu."""

    def __init__(self, channels: int = 4) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x
        return F.relu(out)


torch.manual_seed(0)
LENET = LeNet().eval()
BLOCK = _randomise_norms(BasicBlock(), 1)
X16 = torch.randn(3, 1, 16, 16, generator=torch.Generator().manual_seed(2))
X8 = torch.randn(3, 4, 8, 8, generator=torch.Generator().manual_seed(3))


def test_lenet_imports_and_computes_the_model() -> None:
    module = import_torch(LENET, X16)
    assert _ops(module) == [
        "nn.conv2d",
        "nn.bias_add",
        "nn.relu",
        "nn.pool2d",
        "nn.conv2d",
        "nn.bias_add",
        "nn.relu",
        "nn.pool2d",
        "nn.batch_flatten",
        "nn.dense",
        "nn.bias_add",
        "nn.relu",
        "nn.dense",
        "nn.bias_add",
        "func.return",
    ]
    main = module.ops.first
    assert isinstance(main, FuncOp)
    assert str(main.function_type) == "(tensor<1x1x16x16xf32>) -> tensor<1x10xf32>"
    convs = [op for op in main.body.ops if isinstance(op, nn_dialect.Conv2dOp)]
    assert [op.layer.data for op in convs if op.layer] == ["features.0", "features.3"]
    assert convs[0].params.padding == (2, 2)
    pools = [op for op in main.body.ops if isinstance(op, nn_dialect.Pool2dOp)]
    assert [op.kind.data for op in pools] == [nn_dialect.PoolKind.AVG] * 2
    _agrees(module, LENET, X16)


def test_resnet_basic_block_imports_and_computes_the_model() -> None:
    module = import_torch(BLOCK, X8)
    assert _ops(module) == [
        "nn.conv2d",
        "nn.batch_norm",
        "nn.relu",
        "nn.conv2d",
        "nn.batch_norm",
        "nn.add",
        "nn.relu",
        "func.return",
    ]
    main = module.ops.first
    assert isinstance(main, FuncOp)
    add = next(op for op in main.body.ops if isinstance(op, nn_dialect.AddOp))
    assert add.rhs is main.body.block.args[0]  # the identity: the block's own input
    norms = [op for op in main.body.ops if isinstance(op, nn_dialect.BatchNormOp)]
    assert [op.layer.data for op in norms if op.layer] == ["bn1", "bn2"]
    _agrees(module, BLOCK, X8)


def test_decomposed_export_gives_the_same_ir() -> None:
    """run_decompositions() writes convolution, _native_batch_norm_legit_no_training + getitem,
    max_pool2d_with_indices + getitem and mean.dim: the same nn IR as the training-IR export."""

    class Mixed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = _randomise_norms(BasicBlock(), 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = F.max_pool2d(self.block(x), 2)
            return F.adaptive_avg_pool2d(y, 1).flatten(1)

    model = Mixed().eval()
    program = torch.export.export(model, (X8[:1],))
    decomposed = program.run_decompositions()
    names = {str(n.target) for n in decomposed.graph.nodes}
    assert {"aten.convolution.default", "aten.max_pool2d_with_indices.default", "aten.mean.dim"} <= names
    module = import_exported_program(decomposed)
    assert normalise(module) == normalise(import_exported_program(program))
    _agrees(module, model, X8)


class Geometry(nn.Module):
    """Strides, dilation, groups, padding='same', 'valid', sum pooling, max pooling, cat, mean."""

    def __init__(self) -> None:
        super().__init__()
        self.strided = nn.Conv2d(4, 8, 3, stride=2, padding=1)
        self.dilated = nn.Conv2d(8, 8, 3, dilation=2, padding="same", groups=4)
        self.valid = nn.Conv2d(8, 4, 1, padding="valid")
        self.norm = nn.BatchNorm2d(12, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = F.relu(self.strided(x))  # 8x4x4
        b = self.dilated(a)
        c = torch.cat([self.valid(b), b], dim=1)  # 12x4x4
        c = self.norm(c)
        s = F.avg_pool2d(c, 2, divisor_override=1)  # sum pooling, 12x2x2
        m = F.max_pool2d(F.relu(c), kernel_size=2, stride=2)
        return torch.mean(s + m, dim=(2, 3))


def test_geometry_attributes_are_kept_and_computed() -> None:
    model = _randomise_norms(Geometry(), 5)
    module = import_torch(model, X8)
    main = module.ops.first
    assert isinstance(main, FuncOp)
    convs = [op.params for op in main.body.ops if isinstance(op, nn_dialect.Conv2dOp)]
    assert [(p.stride, p.padding, p.dilation, p.groups) for p in convs] == [
        ((2, 2), (1, 1), (1, 1), 1),
        ((1, 1), (2, 2), (2, 2), 4),
        ((1, 1), (0, 0), (1, 1), 1),
    ]
    pools = [op for op in main.body.ops if isinstance(op, nn_dialect.Pool2dOp)]
    assert [op.kind.data.value for op in pools] == ["sum", "max", "avg"]
    concat = next(op for op in main.body.ops if isinstance(op, nn_dialect.ConcatOp))
    assert concat.axis.value.data == 1
    assert _ops(module)[-3:] == ["nn.pool2d", "nn.batch_flatten", "func.return"]  # mean without keepdim
    _agrees(module, model, X8)


def test_adaptive_pool_to_an_even_divisor_is_average_pooling() -> None:
    model = nn.Sequential(nn.Conv2d(4, 2, 1), nn.AdaptiveAvgPool2d((2, 4))).eval()
    module = import_torch(model, X8)
    pool = next(op for op in module.walk() if isinstance(op, nn_dialect.Pool2dOp))
    assert pool.window == ((4, 2), (4, 2), (0, 0))
    _agrees(module, model, X8)


class Sigmoid(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gate(self.conv(x))  # the line the error must name


def test_unsupported_op_names_op_layer_line_and_the_supported_ops() -> None:
    with pytest.raises(FrontendError) as info:
        import_torch(Sigmoid(), torch.randn(1, 1, 5, 5))
    line = inspect.getsourcelines(Sigmoid.forward)[1] + 1
    assert info.value.location == f"{__file__}:{line}"
    message = info.value.message
    assert message.startswith("aten.sigmoid (layer 'gate') is not supported by spikeir; supported ops: ")
    assert "aten.conv2d" in message and "aten.batch_norm" in message and "aten.linear" in message
    assert set(SUPPORTED_OPS) >= {"aten.conv2d", "aten.avg_pool2d", "aten.adaptive_avg_pool2d", "aten.cat"}


def _conv_model(**conv: object) -> nn.Module:
    return nn.Sequential(nn.Conv2d(4, 4, **conv)).eval()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (_conv_model(kernel_size=2, padding="same"), r"aten\.conv2d \(layer '0'\): padding='same' with a kernel"),
        (nn.Sequential(nn.AvgPool2d(3, padding=1, count_include_pad=False)), r"count_include_pad=False"),
        (nn.Sequential(nn.AvgPool2d(3, ceil_mode=True)), r"ceil_mode=True is not supported"),
        (nn.Sequential(nn.AvgPool2d(2, divisor_override=3)), r"divisor_override=3 is not supported"),
        (nn.Sequential(nn.MaxPool2d(3, padding=1)), r"max pooling with padding is not supported"),
        (nn.Sequential(nn.MaxPool2d(2, dilation=2)), r"dilated max pooling"),
        (nn.Sequential(nn.AdaptiveAvgPool2d(3)), r"output size \[3, 3\] does not divide the 8x8 map"),
        (nn.Sequential(nn.ConvTranspose2d(4, 4, 3)), r"aten\.conv_transpose2d \(layer '0'\) is not supported"),
    ],
)
def test_bad_attributes_are_named(model: nn.Module, message: str) -> None:
    with pytest.raises(FrontendError, match=message) as info:
        import_torch(model.eval(), X8)
    assert info.value.location  # the module's source line (torch's own, for a layer of nn)


def test_batch_norm_without_running_statistics_is_refused() -> None:
    model = nn.Sequential(nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4, track_running_stats=False)).eval()
    with pytest.raises(FrontendError, match=r"layer '1'.*without running statistics"):
        import_torch(model, X8)


def test_mean_over_channels_is_refused() -> None:
    class ChannelMean(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(dim=1)

    with pytest.raises(FrontendError, match=r"only the mean over the two spatial axes"):
        import_torch(ChannelMean(), X8)


def test_pt2_archive_of_a_cnn_imports_as_the_model(tmp_path: Path) -> None:
    """A saved archive with conv weights and batch-norm buffers (num_batches_tracked is int64)."""
    path = tmp_path / "block.pt2"
    torch.export.save(torch.export.export(BLOCK, (X8[:1],)), path)
    assert normalise(import_pt2(path)) == normalise(import_torch(BLOCK, X8))


def test_channel_mismatch_is_a_frontend_error() -> None:
    """torch.export itself checks conv channel counts; the error is a FrontendError naming the model."""
    with pytest.raises(FrontendError, match=r"expected input\[1, 1, 8, 8\] to have 3 channels") as info:
        import_torch(nn.Sequential(nn.Conv2d(3, 4, 3)), torch.randn(1, 1, 8, 8))
    assert info.value.location == "Sequential"
