"""Shared helpers of the SpikeCore lowering tests: parse IR text with every dialect spikeir uses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType, f32
from xdsl.ir import Block, Region, SSAValue
from xdsl.parser import Parser

from spikeir.dialects import quant, spikeir_context
from spikeir.ir.arrays import dense_attr


def parse(text: str) -> ModuleOp:
    module = Parser(spikeir_context(), text).parse_module()
    module.verify()
    return module


@dataclass(frozen=True)
class QLayer:
    """One integer layer of a hand-built quantized region (hidden layers carry a requantization)."""

    weights: np.ndarray
    bias: np.ndarray
    multipliers: tuple[int, ...] = ()
    shift: int = 0
    relu: bool = True
    weight_scales: tuple[float, ...] = (0.01,)
    out_scale: float = 0.05


def quant_module(layers: list[QLayer], input_scale: float = 1 / 128, name: str = "spikecore_0") -> ModuleOp:
    """A module holding a quantized region (docs/pipeline.md, section 4) and an @main that calls it."""
    in_features = layers[0].weights.shape[1]
    out_features = layers[-1].weights.shape[0]
    in_type = TensorType(f32, [1, in_features])
    out_type = TensorType(f32, [1, out_features])
    block = Block(arg_types=[in_type])
    q = quant.QuantizeOp(block.args[0], quant.uniform_tensor([1, in_features], 8, [input_scale]))
    block.add_op(q)
    x: SSAValue = q.result
    scale = input_scale
    for index, layer in enumerate(layers):
        n, k = layer.weights.shape
        axis = 0 if len(layer.weight_scales) > 1 else -1
        acc_scales = [scale * s for s in layer.weight_scales]
        w = quant.ConstantOp(
            dense_attr(layer.weights.astype(np.int8)), quant.uniform_tensor([n, k], 8, layer.weight_scales, axis)
        )
        b = quant.ConstantOp(dense_attr(layer.bias.astype(np.int32)), quant.uniform_tensor([n], 32, acc_scales, axis))
        acc = quant.DenseOp(
            x, w, b, quant.uniform_tensor([1, n], 32, acc_scales, 1 if axis == 0 else -1), layer=f"layers.{2 * index}"
        )
        block.add_ops([w, b, acc])
        x = acc.result
        if index < len(layers) - 1:
            req = quant.RequantizeOp(
                acc, layer.multipliers, layer.shift, quant.uniform_tensor([1, n], 8, [layer.out_scale])
            )
            block.add_op(req)
            x = req.result
            if layer.relu:
                relu = quant.ReluOp(x)
                block.add_op(relu)
                x = relu.result
            scale = layer.out_scale
    deq = quant.DequantizeOp(x, out_type)
    block.add_ops([deq, func.ReturnOp(deq.result)])
    region = func.FuncOp(name, ([in_type], [out_type]), Region(block), visibility="private")
    region.attributes["codegen"] = StringAttr("spikecore")
    main_block = Block(arg_types=[in_type])
    call = func.CallOp(name, [main_block.args[0]], [out_type])
    main_block.add_ops([call, func.ReturnOp(call.res[0])])
    module = ModuleOp([region, func.FuncOp("main", ([in_type], [out_type]), Region(main_block))])
    module.verify()
    return module


def reference(layers: list[QLayer], x: np.ndarray) -> np.ndarray:
    """The region's int32 output accumulators for int8 inputs ``x`` (B, K), computed in numpy
    exactly as docs/isa.md's ACC and graded FIRE define them."""
    a = x.astype(np.int64)
    for index, layer in enumerate(layers):
        acc = a @ layer.weights.astype(np.int64).T + layer.bias.astype(np.int64)
        if index == len(layers) - 1:
            return acc
        m = np.broadcast_to(np.asarray(layer.multipliers, np.int64), acc.shape[-1:])
        p = acc * m if layer.shift == 0 else (acc * m + (1 << (layer.shift - 1))) >> layer.shift
        a = np.clip(p, 0 if layer.relu else -128, 127)
    raise AssertionError("no layers")


def random_layers(
    rng: np.random.Generator, widths: list[int], relu: bool = True, input_scale: float = 1 / 128
) -> list[QLayer]:
    """Random int8 layers ``widths[0] -> widths[1] -> ...`` whose requantization keeps payloads
    busy; scales are consistent (``M / 2^shift = acc_scale / out_scale``), as quantize makes them."""
    layers: list[QLayer] = []
    scale = input_scale
    for k, n in zip(widths, widths[1:]):
        w = rng.integers(-127, 128, (n, k), dtype=np.int64).astype(np.int8)
        b = rng.integers(-5000, 5000, n).astype(np.int32)
        # an accumulator of about 127 * 127 * sqrt(k) maps to about 64
        shift = 24
        m = max(1, int(64 * 2**shift / (127 * 127 * np.sqrt(k))))
        out_scale = scale * 0.01 * 2**shift / m
        layers.append(QLayer(w, b, (m,), shift, relu, (0.01,), out_scale))
        scale = out_scale
    return layers
