"""Shared by the frontend tests: the seed's MLP in every input format, and an IR normaliser."""

from __future__ import annotations

import re

import numpy as np
import torch
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import ModuleOp

from spikeir.frontends.relay_text import meta_constant_key
from spikeir.lab.training import MNISTNet

SEED_RELAY = """
fn (%input0: Tensor[(1, 1, 28, 28), float32]) {
  %0 = nn.batch_flatten(%input0);
  %1 = nn.dense(%0, meta[relay.Constant][0] /* (64, 784) */);
  %2 = nn.bias_add(%1, meta[relay.Constant][1] /* (64,) */);
  %3 = nn.relu(%2);
  %4 = nn.dense(%3, meta[relay.Constant][2] /* (10, 64) */);
  %5 = nn.bias_add(%4, meta[relay.Constant][3] /* (10,) */);
  %5
}
"""
"""The seed notebook's Relay (cell 3), verbatim."""


def seed_model(seed: int = 0) -> MNISTNet:
    torch.manual_seed(seed)
    return MNISTNet().eval()


def seed_params(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """The seed Relay's meta constants, in the params-file convention."""
    arrays = [t.detach().numpy() for t in model.state_dict().values()]
    return {meta_constant_key(i): a for i, a in enumerate(arrays)}


_NAME = re.compile(r"%[A-Za-z0-9_$.]+")


def normalise(module: ModuleOp) -> str:
    """Printed IR without layer names, with SSA names replaced by their order of appearance."""
    text = re.sub(r' layer "[^"]*"', "", str(module))
    names: dict[str, str] = {}
    return _NAME.sub(lambda m: names.setdefault(m.group(0), f"%v{len(names)}"), text)


def onnx_bytes(model: torch.nn.Module) -> bytes:
    """The seed MLP as ONNX (Flatten, Gemm, Relu, Gemm), built with onnx.helper: torch's exporter
    needs onnxscript, which is not a dependency."""
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    nodes = [
        helper.make_node("Flatten", ["input0"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "layers.0.weight", "layers.0.bias"], ["h"], transB=1),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Gemm", ["r", "layers.2.weight", "layers.2.bias"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "mnist_mlp",
        [helper.make_tensor_value_info("input0", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        [numpy_helper.from_array(array, name) for name, array in state.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
