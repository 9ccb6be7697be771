"""Convolutional networks through legacy Relay text, ONNX and TVM Relax: the imported nn IR computes
the float model (numpy interpreter vs torch), and bad attributes or shapes are named errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp

from spikeir.errors import FrontendError
from spikeir.frontends.relay_text import SUPPORTED_OPS as RELAY_OPS
from spikeir.frontends.relay_text import import_relay
from spikeir.frontends.torch_export import import_torch
from spikeir.ir.interpreter import run_function
from support.frontend_helpers import normalise

onnx = pytest.importorskip("onnx")
tvm = pytest.importorskip("tvm")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from tvm.relax.frontend.torch import from_exported_program  # noqa: E402

from spikeir.frontends.onnx import import_onnx  # noqa: E402
from spikeir.frontends.relax import SUPPORTED_OPS as RELAX_OPS  # noqa: E402
from spikeir.frontends.relax import import_relax  # noqa: E402

RNG = np.random.default_rng(0)


def _f32(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


P = {
    "c1_weight": _f32(4, 1, 3, 3),
    "c1_bias": _f32(4),
    "bn_gamma": _f32(4),
    "bn_beta": _f32(4),
    "bn_mean": _f32(4),
    "bn_var": (RNG.random(4) + 0.5).astype(np.float32),
    "c2_weight": _f32(4, 4, 3, 3),
    "fc_weight": _f32(3, 8),
    "fc_bias": _f32(3),
}
X = _f32(2, 1, 8, 8)


def _reference(x: np.ndarray) -> np.ndarray:
    """conv-bias-bn-relu, avgpool 2, conv (pad 1) + skip, concat with the skip, global mean, dense."""
    t = {k: torch.from_numpy(v) for k, v in P.items()}
    h = F.conv2d(torch.from_numpy(x), t["c1_weight"], t["c1_bias"], padding=1)
    h = F.batch_norm(h, t["bn_mean"], t["bn_var"], t["bn_gamma"], t["bn_beta"], eps=1e-3)
    p = F.avg_pool2d(F.relu(h), 2)
    s = F.conv2d(p, t["c2_weight"], padding=1) + p
    c = torch.cat([s, p], dim=1).mean(dim=(2, 3))
    return (c @ t["fc_weight"].T + t["fc_bias"]).numpy()


def _ops(module: ModuleOp) -> list[str]:
    main = module.ops.first
    assert isinstance(main, FuncOp)
    return [op.name for op in main.body.ops if op.name != "arith.constant"]


EXPECTED_OPS = [
    "nn.conv2d",
    "nn.bias_add",
    "nn.batch_norm",
    "nn.relu",
    "nn.pool2d",
    "nn.conv2d",
    "nn.add",
    "nn.concat",
    "nn.pool2d",
    "nn.batch_flatten",
    "nn.dense",
    "nn.bias_add",
    "func.return",
]

RELAY = """#[version = "0.0.5"]
def @main(%data: Tensor[(1, 1, 8, 8), float32], %c1_weight: Tensor[(4, 1, 3, 3), float32]) {
  %0 = nn.conv2d(%data, %c1_weight, padding=[1, 1, 1, 1], channels=4, kernel_size=[3, 3]);
  %1 = nn.bias_add(%0, %c1_bias);
  %2 = nn.batch_norm(%1, %bn_gamma, %bn_beta, %bn_mean, %bn_var, epsilon=0.001f);
  %3 = nn.relu(%2.0);
  %4 = nn.avg_pool2d(%3, pool_size=[2, 2], strides=[2, 2], padding=[0, 0, 0, 0]);
  %5 = nn.conv2d(%4, %c2_weight, padding=[1, 1]);
  %6 = add(%5, %4);
  %7 = concatenate((%6, %4), axis=1);
  %8 = nn.global_avg_pool2d(%7);
  %9 = nn.batch_flatten(%8);
  %10 = nn.dense(%9, %fc_weight, units=3);
  nn.bias_add(%10, %fc_bias)
}
"""


def test_relay_cnn_computes_the_model() -> None:
    module = import_relay(RELAY, P, "m.relay")  # TVM prints float attributes with an f: 0.001f
    assert _ops(module) == EXPECTED_OPS
    (got,) = run_function(module, "main", X)
    np.testing.assert_allclose(got, _reference(X), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "padding=[1, 1, 1, 1]",
            "padding=[0, 0, 1, 1]",
            r"m\.relay:3:8: nn\.conv2d: conv2d 'c1': asymmetric padding \[0, 0, 1, 1\]",
        ),
        ("channels=4", "channels=5", r"m\.relay:3:8: nn\.conv2d: channels=5 but the weight has shape \[4, 1, 3, 3\]"),
        (
            "%5 = nn.conv2d(%4, %c2_weight",
            "%5 = nn.conv2d(%data, %c2_weight",
            r"m\.relay:8:8: nn\.conv2d: conv2d 'c2': the input has 1 channels but the weight \[4, 4, 3, 3\]",
        ),
        (
            "%6 = add(%5, %4)",
            "%6 = add(%5, %data)",
            r"m\.relay:9:8: add: add: the operands have shapes \[1, 4, 4, 4\] and \[1, 1, 8, 8\]",
        ),
        (
            "padding=[0, 0, 0, 0]",
            "padding=[1, 1, 1, 1]",
            r"m\.relay:7:8: nn\.avg_pool2d: padding=\[1, 1, 1, 1\] is supported only",
        ),
        (
            "nn.global_avg_pool2d(%7)",
            "nn.upsampling(%7)",
            r"m\.relay:11:8: Relay op 'nn\.upsampling' is not supported by spikeir; supported ops: add, ",
        ),
        ("%2.0", "%2.3", r"m\.relay:6:16: %2\.3: %2 has 3 fields"),
    ],
)
def test_relay_errors_are_located(old: str, new: str, message: str) -> None:
    assert old in RELAY
    with pytest.raises(FrontendError, match=message):
        import_relay(RELAY.replace(old, new), P, "m.relay")


def test_relay_unsupported_op_lists_the_supported_ones() -> None:
    with pytest.raises(FrontendError) as info:
        import_relay("fn (%x: Tensor[(1, 4), float32]) { sigmoid(%x) }", {}, "m.relay")
    assert info.value.message.endswith(f"supported ops: {', '.join(RELAY_OPS)}")
    assert {"nn.conv2d", "nn.avg_pool2d", "add", "nn.batch_norm"} <= set(RELAY_OPS)


def _onnx_model(nodes: list[object], output_channels: int = 3, pads: list[int] | None = None) -> bytes:
    """The reference network as ONNX (Conv, BatchNormalization, Relu, AveragePool, Add, Concat,
    GlobalAveragePool, Flatten, Gemm), built with onnx.helper."""
    initializers = [numpy_helper.from_array(array, name) for name, array in P.items()]
    graph = helper.make_graph(
        nodes,  # type: ignore[arg-type]
        "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", output_channels])],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _onnx_nodes(pads: list[int] | None = None, pool: str = "AveragePool") -> list[object]:
    return [
        helper.make_node("Conv", ["x", "c1_weight", "c1_bias"], ["c1"], pads=pads or [1, 1, 1, 1]),
        helper.make_node(
            "BatchNormalization", ["c1", "bn_gamma", "bn_beta", "bn_mean", "bn_var"], ["bn"], epsilon=1e-3
        ),
        helper.make_node("Relu", ["bn"], ["r"]),
        helper.make_node(pool, ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p", "c2_weight"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "p"], ["s"]),
        helper.make_node("Concat", ["s", "p"], ["cat"], axis=1),
        helper.make_node("GlobalAveragePool", ["cat"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fc_weight", "fc_bias"], ["y"], transB=1),
    ]


def test_onnx_cnn_computes_the_model() -> None:
    module = import_onnx(_onnx_model(_onnx_nodes()), "m.onnx")
    assert _ops(module) == EXPECTED_OPS
    (got,) = run_function(module, "main", X)
    np.testing.assert_allclose(got, _reference(X), rtol=1e-4, atol=1e-5)


def test_onnx_asymmetric_padding_is_named() -> None:
    with pytest.raises(FrontendError) as info:
        import_onnx(_onnx_model(_onnx_nodes(pads=[0, 0, 1, 1])), "m.onnx")
    assert info.value.message.startswith("conv2d: asymmetric padding [0, 0, 1, 1]")
    assert info.value.location == "m.onnx:main: relax.nn.conv2d"


def test_onnx_unsupported_op_lists_the_supported_ones() -> None:
    with pytest.raises(FrontendError) as info:
        import_onnx(_onnx_model(_onnx_nodes(pool="LpPool")), "m.onnx")
    assert "is not supported by spikeir; supported ops: " in info.value.message
    assert {"relax.nn.conv2d", "relax.nn.avg_pool2d", "relax.nn.batch_norm", "relax.concat"} <= set(RELAX_OPS)


def test_onnx_channel_mismatch_is_an_error() -> None:
    nodes = _onnx_nodes()
    nodes[4] = helper.make_node("Conv", ["x", "c2_weight"], ["c2"], pads=[1, 1, 1, 1])  # 1 channel, kernel wants 4
    with pytest.raises(FrontendError, match=r"channel") as info:
        import_onnx(_onnx_model(nodes), "m.onnx")
    assert info.value.location == "m.onnx"


class _Mixed(torch.nn.Module):
    """What from_exported_program writes for max pooling (a zeros_like for the indices), batch norm (a
    tuple), cat, adaptive pooling, a channel bias and a skip add."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 4, 3, padding=1)
        self.norm = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.conv(x))
        z = torch.cat([self.norm(y) + y, y], dim=1)
        z = F.max_pool2d(z, 2)
        return self.fc(F.adaptive_avg_pool2d(z, 1).flatten(1))


def test_relax_from_torch_is_the_torch_import() -> None:
    torch.manual_seed(0)
    model = _Mixed().eval()
    model.norm.running_mean.uniform_(-1, 1)  # type: ignore[union-attr]
    x = torch.randn(2, 2, 8, 8, generator=torch.Generator().manual_seed(1))
    module = import_relax(from_exported_program(torch.export.export(model, (x[:1],))))
    assert normalise(module) == normalise(import_torch(model, x))
    (got,) = run_function(module, "main", x.numpy())
    with torch.no_grad():
        np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-4, atol=1e-5)
