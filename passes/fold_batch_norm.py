"""nn-fold-batch-norm: fold inference batch norms into the convolution or dense layer before them.

In eval mode a batch norm is a per-channel affine map, ``y = x * a + c`` with
``a = gamma / sqrt(var + eps)`` and ``c = beta - mean * a``. After a layer ``x = W * input + b`` it is
the same layer with ``W' = W * a`` (each output channel's weights scaled) and ``b' = b * a + c``, so
SpikeCore never sees it: the folded layer is quantized once, with the folded weights. The pattern
folds a batch norm whose input is an `nn.conv2d` / `nn.dense` (optionally through an `nn.bias_add`
along its channel axis), or a fused layer without activation, whose weights are constants and whose
result has no other use. Anything else (a batch norm after a ReLU, or of an argument) is left as it
is and stays on the host, where partition-for-spikecore says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, ModuleOp, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern, op_type_rewrite_pattern
from xdsl.rewriter import InsertPoint
from xdsl.utils.hints import isa

from spikeir.dialects import nn
from spikeir.ir.arrays import dense_attr, to_numpy

_Layer = nn.Conv2dOp | nn.DenseOp | nn.FusedConv2dOp | nn.FusedDenseOp


def constant_array(value: SSAValue | None) -> np.ndarray | None:
    """The float64 value of an `arith.constant` tensor, or None when ``value`` is anything else."""
    owner = None if value is None else value.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, DenseIntOrFPElementsAttr):
        return to_numpy(owner.value).astype(np.float64)
    return None


def _channels(layer: _Layer) -> int:
    """Output channels (features) of a layer: the first axis of its weight."""
    typ = layer.weight.type
    assert isinstance(typ, TensorType)
    return typ.get_shape()[0]


def _source_layer(value: SSAValue) -> tuple[_Layer, nn.BiasAddOp | None] | None:
    """The layer (and the bias_add after it) computing ``value``, when each step has only that use."""
    owner = value.owner
    bias_add = None
    if isinstance(owner, nn.BiasAddOp) and owner.channel_axis == 1 and owner.input.has_one_use():
        bias_add, owner = owner, owner.input.owner
    if not isinstance(owner, _Layer) or not owner.result.has_one_use():
        return None
    if isinstance(owner, nn.FusedConv2dOp | nn.FusedDenseOp):
        if owner.activation.data != nn.Activation.NONE or bias_add is not None:
            return None
    return owner, bias_add


def new_constant(
    array: np.ndarray, like: SSAValue, suffix: str, rewriter: PatternRewriter, anchor: Operation
) -> SSAValue:
    """A new float32 constant named after ``like`` (plus ``suffix``), inserted before ``anchor``."""
    op = arith.ConstantOp(dense_attr(array.astype(np.float32)))
    if like.name_hint is not None:
        op.result.name_hint = f"{like.name_hint}{suffix}"
    rewriter.insert(op, InsertPoint.before(anchor))
    return op.result


def erase_if_unused(value: SSAValue | None, rewriter: PatternRewriter) -> None:
    """Erase the constant behind ``value`` once the fold left it without uses."""
    owner = None if value is None else value.owner
    if isinstance(owner, arith.ConstantOp) and not owner.result.uses:
        rewriter.erase(owner)


class FoldBatchNorm(RewritePattern):
    """batch_norm(layer(x, W) [+ b]) -> fused-able layer(x, W * a) + (b * a + c)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.BatchNormOp, rewriter: PatternRewriter) -> None:
        found = _source_layer(op.input)
        if found is None:
            return
        layer, bias_add = found
        weight = constant_array(layer.weight)
        stats = [constant_array(v) for v in (op.gamma, op.beta, op.mean, op.variance)]
        old_bias = layer.bias if isinstance(layer, nn.FusedConv2dOp | nn.FusedDenseOp) else None
        if bias_add is not None:
            old_bias = bias_add.bias
        gamma, beta, mean, variance = stats
        bias = np.zeros(_channels(layer)) if old_bias is None else constant_array(old_bias)
        if weight is None or bias is None or gamma is None or beta is None or mean is None or variance is None:
            return
        a = gamma / np.sqrt(variance + op.epsilon.value.data)
        new_weight = weight * a.reshape((-1,) + (1,) * (weight.ndim - 1))
        new_bias = bias * a + (beta - mean * a)
        w = new_constant(new_weight, layer.weight, "_bn", rewriter, layer)
        b = new_constant(new_bias, old_bias if old_bias is not None else op.gamma, "_bn", rewriter, layer)
        rewriter.replace(op, _folded(layer, w, b))
        if bias_add is not None:
            rewriter.erase(bias_add)
        rewriter.erase(layer)
        for value in (layer.weight, old_bias, op.gamma, op.beta, op.mean, op.variance):
            erase_if_unused(value, rewriter)


def _folded(layer: _Layer, weight: SSAValue, bias: SSAValue) -> list[Operation]:
    """The layer with the folded weight, then its bias (a fused layer takes it as its operand)."""
    name = None if layer.layer is None else layer.layer.data
    result_type = layer.result.type
    assert isa(result_type, TensorType[Attribute])
    new: list[Operation]
    if isinstance(layer, nn.FusedConv2dOp):
        new = [nn.FusedConv2dOp(layer.input, weight, bias, result_type, layer.params, layer=name)]
    elif isinstance(layer, nn.FusedDenseOp):
        new = [nn.FusedDenseOp(layer.input, weight, bias, result_type, layer=name)]
    elif isinstance(layer, nn.Conv2dOp):
        conv = nn.Conv2dOp(layer.input, weight, result_type, layer.params, name)
        new = [conv, nn.BiasAddOp(conv.result, bias, axis=1)]
    else:
        dense = nn.DenseOp(layer.input, weight, result_type, name)
        new = [dense, nn.BiasAddOp(dense.result, bias)]
    for new_op in new:
        new_op.location = layer.location
    return new


@dataclass(frozen=True)
class NnFoldBatchNormPass(ModulePass):
    """Fold `nn.batch_norm` into the conv/dense layer before it; see docs/pipeline.md, section 2."""

    name = "nn-fold-batch-norm"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(FoldBatchNorm()).rewrite_module(op)
