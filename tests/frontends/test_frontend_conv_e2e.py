"""CNNs from every frontend, compiled and run on the hardware model: the graded T=1 outputs equal the
quantized IR's integer semantics (the interpreter) bit for bit, the four frontends give one program,
and TVM's heterogeneous run of the partitioned model equals the standalone path."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from torch import nn
from xdsl.dialects.builtin import ModuleOp

import spikeir
from spikeir.frontends.relay_text import import_relay
from spikeir.frontends.torch_export import import_torch
from spikeir.ir.interpreter import run_function
from spikeir.passes.quantize import QuantizePass
from support.spikecore_ir import parse

tvm = pytest.importorskip("tvm")
from tvm.relax.frontend.torch import from_exported_program  # noqa: E402

from spikeir.byoc.codegen import build_heterogeneous, compiled_regions, register_spikecore_target  # noqa: E402
from spikeir.frontends.onnx import import_onnx  # noqa: E402
from spikeir.frontends.relax import import_relax  # noqa: E402

pytestmark = pytest.mark.slow


class SmallCNN(nn.Module):
    """conv-relu-avgpool x2, flatten, linear: a LeNet-style CNN on 1x12x12 inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3)
        self.fc = nn.Linear(8 * 2 * 2, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.avg_pool2d(F.relu(self.conv1(x)), 2)
        h = F.avg_pool2d(F.relu(self.conv2(h)), 2)
        return self.fc(h.flatten(1))


torch.manual_seed(0)
MODEL = SmallCNN().eval()
STATE = {k.replace(".", "_"): v.detach().numpy() for k, v in MODEL.state_dict().items()}
RNG = np.random.default_rng(1)
CALIBRATION = RNG.random((64, 1, 12, 12), dtype=np.float32)
TEST = RNG.random((16, 1, 12, 12), dtype=np.float32)

RELAY = """fn (%x: Tensor[(1, 1, 12, 12), float32]) {
  %0 = nn.conv2d(%x, %conv1_weight, padding=[1, 1, 1, 1], channels=4, kernel_size=[3, 3]);
  %1 = nn.bias_add(%0, %conv1_bias);
  %2 = nn.relu(%1);
  %3 = nn.avg_pool2d(%2, pool_size=[2, 2], strides=[2, 2]);
  %4 = nn.conv2d(%3, %conv2_weight, channels=8, kernel_size=[3, 3]);
  %5 = nn.bias_add(%4, %conv2_bias);
  %6 = nn.relu(%5);
  %7 = nn.avg_pool2d(%6, pool_size=[2, 2], strides=[2, 2]);
  %8 = nn.batch_flatten(%7);
  %9 = nn.dense(%8, %fc_weight, units=10);
  nn.bias_add(%9, %fc_bias)
}
"""


def _onnx() -> bytes:
    nodes = [
        helper.make_node("Conv", ["x", "conv1_weight", "conv1_bias"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("AveragePool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "conv2_weight", "conv2_bias"], ["c2"]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("AveragePool", ["r2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p2"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fc_weight", "fc_bias"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 12, 12])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
        [numpy_helper.from_array(array, name) for name, array in STATE.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _relax_module() -> object:
    return from_exported_program(torch.export.export(MODEL, (torch.from_numpy(TEST[:1]),)))


def _compile(module: ModuleOp | nn.Module) -> spikeir.CompiledModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spikeir.compile(module, example_input=TEST[:1], calibration=CALIBRATION, record=True)


@pytest.fixture(scope="module")
def compiled() -> dict[str, spikeir.CompiledModel]:
    modules = {
        "torch": import_torch(MODEL, torch.from_numpy(TEST[:1])),
        "relay": import_relay(RELAY, STATE, "cnn.relay"),
        "onnx": import_onnx(_onnx(), "cnn.onnx"),
        "relax": import_relax(_relax_module()),
    }
    return {name: _compile(module) for name, module in modules.items()}


def test_graded_run_equals_the_quantized_ir_bit_for_bit(compiled: dict[str, spikeir.CompiledModel]) -> None:
    torch_cnn = compiled["torch"]
    (integer_logits,) = run_function(parse(torch_cnn.stages[QuantizePass.name]), "main", TEST)
    logits = torch_cnn.run(TEST)
    np.testing.assert_array_equal(logits, integer_logits)
    with torch.no_grad():
        reference = MODEL(torch.from_numpy(TEST)).numpy()
    assert np.abs(logits - reference).max() < 0.1 * np.abs(reference).max()  # int8 close to float


def test_every_frontend_gives_the_same_program(compiled: dict[str, spikeir.CompiledModel]) -> None:
    reference = compiled["torch"]
    for name, model in compiled.items():
        assert model.to_bytes() == reference.to_bytes(), name
        np.testing.assert_array_equal(model.run(TEST), reference.run(TEST), err_msg=name)


def test_heterogeneous_run_equals_the_standalone_path(compiled: dict[str, spikeir.CompiledModel]) -> None:
    standalone = compiled["torch"]
    register_spikecore_target(calibration=CALIBRATION)
    vm = build_heterogeneous(_relax_module())
    outputs = [vm["main"](tvm.runtime.tensor(TEST[i : i + 1]))[0].numpy() for i in range(len(TEST))]
    np.testing.assert_array_equal(np.concatenate(outputs), standalone.run(TEST))
    region = list(compiled_regions().values())[-1]
    assert region.to_bytes() == standalone.to_bytes()


class ResNetStage(nn.Module):
    """A stem conv, ResNet's basic block (conv-bn-relu-conv-bn + identity, relu), global average
    pooling and a dense head, on 2x8x8 inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(2, 4, 3, padding=1)
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(4)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = F.relu(self.stem(x))
        out = F.relu(self.bn1(self.conv1(identity)))
        out = self.bn2(self.conv2(out))
        out += identity
        out = F.relu(out)
        return self.head(F.adaptive_avg_pool2d(out, 1).flatten(1))


def test_resnet_basic_block_graded_run_equals_the_quantized_ir() -> None:
    torch.manual_seed(2)
    model = ResNetStage().eval()
    for norm in (model.bn1, model.bn2):
        norm.running_mean.uniform_(-0.2, 0.2)  # type: ignore[union-attr]
        norm.running_var.uniform_(0.5, 1.5)  # type: ignore[union-attr]
    x = np.random.default_rng(3).random((48, 2, 8, 8), dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = spikeir.compile(model, example_input=x[:1], calibration=x[:32], record=True)
    (integer,) = run_function(parse(compiled.stages[QuantizePass.name]), "main", x[32:])
    got = compiled.run(x[32:])
    np.testing.assert_array_equal(got, integer)
    with torch.no_grad():
        reference = model(torch.from_numpy(x[32:])).numpy()
    assert np.abs(got - reference).max() < 0.1 * np.abs(reference).max()
