"""Hand-built nn IR for the interpreter and quantization tests: partitioned MLPs as in docs/pipeline.md §3."""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

import numpy as np
from numpy.typing import NDArray
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType, f32
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.parser import Parser

from spikeir.dialects import spikeir_context
from spikeir.dialects.nn import BatchFlattenOp, FusedDenseOp, SoftmaxOp
from spikeir.ir.arrays import dense_attr

Layer = tuple[NDArray[np.floating], NDArray[np.floating] | None, str]
"""(weight [out, in], bias or None, activation)."""


def parse(text: str) -> ModuleOp:
    return Parser(spikeir_context(), text).parse_module()


def _tensor(*shape: int) -> TensorType:
    return TensorType(f32, shape)


def region_function(name: str, layers: Sequence[Layer], names: Sequence[str] | None = None) -> func.FuncOp:
    """A private ``codegen = "spikecore"`` function: a chain of nn.fused_dense with constant weights."""
    block = Block(arg_types=[_tensor(1, layers[0][0].shape[1])])
    current: SSAValue = block.args[0]
    for index, (weight, bias, activation) in enumerate(layers):
        w = arith.ConstantOp(dense_attr(np.asarray(weight, np.float32)))
        ops: list[Operation] = [w]
        b = None
        if bias is not None:
            b = arith.ConstantOp(dense_attr(np.asarray(bias, np.float32)))
            ops.append(b)
        layer = FusedDenseOp(
            current, w, b, _tensor(1, weight.shape[0]), activation, None if names is None else names[index]
        )
        block.add_ops([*ops, layer])
        current = layer.result
    block.add_op(func.ReturnOp(current))
    out = layers[-1][0].shape[0]
    fn = func.FuncOp(
        name, ([_tensor(1, layers[0][0].shape[1])], [_tensor(1, out)]), Region(block), visibility="private"
    )
    fn.attributes["codegen"] = StringAttr("spikecore")
    return fn


def partitioned_mlp(
    layers: Sequence[Layer],
    input_shape: Sequence[int] | None = None,
    softmax: bool = False,
    names: Sequence[str] | None = None,
) -> ModuleOp:
    """@main: (flatten) -> call @spikecore_0 -> (softmax), with the region built by region_function."""
    in_features = layers[0][0].shape[1]
    shape = tuple(input_shape) if input_shape is not None else (1, in_features)
    assert prod(shape) == in_features
    region = region_function("spikecore_0", layers, names)
    out_type = _tensor(1, layers[-1][0].shape[0])
    block = Block(arg_types=[_tensor(*shape)])
    value: SSAValue = block.args[0]
    if len(shape) != 2:
        flatten = BatchFlattenOp(value, _tensor(1, in_features))
        block.add_op(flatten)
        value = flatten.result
    call = func.CallOp("spikecore_0", [value], [out_type])
    block.add_op(call)
    value = call.res[0]
    if softmax:
        sm = SoftmaxOp(value, -1)
        block.add_op(sm)
        value = sm.result
    block.add_op(func.ReturnOp(value))
    main = func.FuncOp("main", ([_tensor(*shape)], [out_type]), Region(block))
    module = ModuleOp([region, main])
    module.verify()
    return module


def random_mlp(rng: np.random.Generator, sizes: Sequence[int]) -> list[Layer]:
    """Random layers (He-like scale), ReLU on all but the last."""
    layers: list[Layer] = []
    for index, (k, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = rng.normal(0.0, np.sqrt(2.0 / k), size=(n, k)).astype(np.float32)
        b = rng.normal(0.0, 0.1, size=n).astype(np.float32)
        layers.append((w, b, "relu" if index < len(sizes) - 2 else "none"))
    return layers
