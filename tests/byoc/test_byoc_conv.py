"""SpikeCore as a Relax BYOC target for CNNs: conv2d(+bias)(+relu), average pooling and the flatten
after them become composites, a LeNet-style CNN becomes one region whose nn IR is the torch import, and
what SpikeCore cannot run (asymmetric padding, pooling over uncounted padding, a leaking intermediate)
stays on TVM's host part."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from spikeir.frontends.relax import import_relax_function
from spikeir.frontends.torch_export import import_torch
from spikeir.ir.interpreter import run_function
from support.frontend_helpers import normalise

tvm = pytest.importorskip("tvm")
from tvm.relax.frontend.torch import from_exported_program  # noqa: E402

from spikeir.byoc.codegen import partition_for_spikecore, register_spikecore_target  # noqa: E402

X = torch.randn(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))


def _lenet() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 5, padding=2),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(4, 8, 5),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(32, 16),
        nn.ReLU(),
        nn.Linear(16, 10),
    ).eval()


def _relax(model: nn.Module, x: torch.Tensor = X) -> Any:
    return from_exported_program(torch.export.export(model.eval(), (x,)))


def _partition(model: nn.Module, x: torch.Tensor = X) -> Any:
    register_spikecore_target()
    return partition_for_spikecore(_relax(model, x))


def _regions(mod: Any) -> list[Any]:
    return [f for _, f in mod.functions_items() if f.attrs is not None and "Codegen" in f.attrs]


def _composites(mod: Any) -> list[str]:
    return [name for region in _regions(mod) for name in _composite_names(region)]


def _composite_names(region: Any) -> list[str]:
    names: list[str] = []
    for block in region.body.blocks:
        for binding in block.bindings:
            attrs = getattr(binding.value, "attrs", None)
            if attrs is not None and "Composite" in attrs:
                names.append(str(attrs["Composite"]))
    return names


def test_lenet_is_one_region_computing_the_torch_import() -> None:
    model = _lenet()
    partitioned = _partition(model)
    (region,) = _regions(partitioned)
    assert _composite_names(region) == [
        "spikecore.conv2d_relu",
        "spikecore.avg_pool2d",
        "spikecore.conv2d_relu",
        "spikecore.flatten",
        "spikecore.dense_relu",
        "spikecore.dense_bias",
    ]
    main = partitioned["main"].script(show_meta=False)
    assert "R.nn.conv2d" not in main and "R.reshape" not in main
    nn_region = import_relax_function(region)
    assert normalise(nn_region) == normalise(import_torch(model, X))
    batch = torch.randn(3, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    (got,) = run_function(nn_region, "main", batch.numpy())
    np.testing.assert_allclose(got, model(batch).detach().numpy(), rtol=1e-4, atol=1e-5)


class Padded(nn.Module):
    """An average pool over padding it does not count, then a conv with asymmetric padding."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        return self.conv(F.pad(y, (0, 1, 0, 1)))


def test_what_spikecore_cannot_run_stays_on_the_host() -> None:
    partitioned = _partition(Padded())
    main = partitioned["main"].script(show_meta=False)
    assert "R.nn.avg_pool2d" in main  # count_include_pad=False over padding
    # F.pad is a host op, so the conv after it is a region of its own; its padding is symmetric (0).
    assert _composites(partitioned) == ["spikecore.conv2d_bias"]


class LeakingConv(nn.Module):
    """``y`` is read after the ReLU: the ReLU must not join the conv's composite."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return torch.relu(y) + y


def test_a_conv_output_read_twice_keeps_the_relu_on_the_host() -> None:
    partitioned = _partition(LeakingConv())
    assert _composites(partitioned) == ["spikecore.conv2d_bias"]
    main = partitioned["main"].script(show_meta=False)
    assert "R.nn.relu" in main and "R.add" in main


def test_asymmetric_padding_from_onnx_stays_on_the_host() -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    from tvm.relax.frontend.onnx import from_onnx

    weight = np.random.default_rng(0).standard_normal((2, 1, 3, 3)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w"], ["a"], pads=[0, 0, 1, 1]),
            helper.make_node("Conv", ["a", "w2"], ["y"], pads=[1, 1, 1, 1]),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 6, 6])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(np.ones((2, 2, 3, 3), np.float32), "w2")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    register_spikecore_target()
    partitioned = partition_for_spikecore(from_onnx(model))
    assert _composites(partitioned) == ["spikecore.conv2d"]  # only the symmetric one
    assert "padding=[0, 0, 1, 1]" in partitioned["main"].script(show_meta=False)


class NormNet(nn.Module):
    """conv-bn-relu, conv(+bias)-bn, then a ResNet-style skip add and a relu on the host."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(2, 2, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(2)
        self.conv2 = nn.Conv2d(2, 2, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + x)


def test_conv_batch_norm_relu_is_one_composite_and_the_skip_add_stays_on_the_host() -> None:
    torch.manual_seed(0)
    model = NormNet().eval()
    model.bn1.running_var.fill_(2.0)  # type: ignore[union-attr]
    x = torch.randn(1, 2, 6, 6, generator=torch.Generator().manual_seed(4))
    partitioned = _partition(model, x)
    (region,) = _regions(partitioned)
    # The second batch norm has no ReLU after it (a tuple field is no root for TVM): host.
    assert _composite_names(region) == ["spikecore.conv2d_bn_relu", "spikecore.conv2d_bias"]
    main = partitioned["main"].script(show_meta=False)
    assert main.count("R.nn.batch_norm") == 1 and "R.add" in main and "R.nn.relu" in main
    (got,) = run_function(import_relax_function(region), "main", x.numpy())
    with torch.no_grad():
        want = model.conv2(F.relu(model.bn1(model.conv1(x)))).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
