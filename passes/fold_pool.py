"""nn-fold-pool: fold an average or sum pooling into the linear layer that reads it.

A pooling is linear, so a pooling followed by a convolution is one convolution (for a 2x2 average pool
then a 5x5 conv: a 10x10 conv of stride 2, each weight repeated over its 2x2 window and divided by 4;
`spikeir.numerics.convolution.compose_convs`), and a pooling flattened into a dense layer is one dense
layer over the unpooled map. On SpikeCore a pooling left alone is a layer of its own: in rate mode it
fires, so the pooled rate is rounded to spikes once more, a step the float network does not have (the
CNN's conversion loss, docs/quantization.md), and in graded mode it is requantized to int8. Folded,
the pooled sum is formed exactly inside the next layer's ACC. The price is synapses: the folded layer
reads each pooled window's k x k inputs itself (kh * kw times the weights, and as many more synaptic
events in rate mode), which the pipeline option ``fold-pools=false`` declines.

A pooling is folded when its only user is an `nn.conv2d` / `nn.fused_conv2d` with a constant weight
(and the composition never reads the conv's padding as data: `composes_exactly`), or a shape change
to ``[B, C*H*W]`` whose only user is an `nn.dense` / `nn.fused_dense` with a constant weight, unless
the folded layer would not fit the target (a conv neuron reading more than ``max_fan_in`` inputs, or
any neuron more synapses than a core holds): then a remark names the layer. Max pooling is not linear
and is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern, op_type_rewrite_pattern
from xdsl.utils.hints import isa

from spikeir.chip.isa import ConvGeometry
from spikeir.chip.target import TargetDescription, get_target
from spikeir.dialects import nn
from spikeir.ir.arrays import shape_of
from spikeir.numerics.convolution import compose_convs, composed_extent, composes_exactly
from spikeir.options import check_option_types
from spikeir.passes.diagnostics import pass_errors, remark
from spikeir.passes.fold_batch_norm import constant_array, erase_if_unused, new_constant
from spikeir.passes.partition_for_spikecore import describe_op

_Conv = nn.Conv2dOp | nn.FusedConv2dOp
_Dense = nn.DenseOp | nn.FusedDenseOp


def _linear_pool(value: SSAValue) -> nn.Pool2dOp | None:
    """The average or sum pooling computing ``value`` when that is its only use."""
    pool = value.owner
    if not isinstance(pool, nn.Pool2dOp) or pool.kind.data == nn.PoolKind.MAX or not pool.result.has_one_use():
        return None
    return pool


def _tap(pool: nn.Pool2dOp) -> float:
    """The weight of each input in a window: 1 / window for an average (padding counted), 1 for a sum."""
    (kh, kw), _, _ = pool.window
    return 1.0 / (kh * kw) if pool.kind.data == nn.PoolKind.AVG else 1.0


def pool_map(pool: nn.Pool2dOp) -> tuple[ConvGeometry, np.ndarray]:
    """The pooling as a depthwise convolution: its geometry and packed kernel (1 or 1/window per tap)."""
    (_, c, h, w), (_, _, oh, ow) = shape_of(pool.input), shape_of(pool.result)
    (kh, kw), (sh, sw), (ph, pw) = pool.window
    return ConvGeometry(c, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw, groups=c), np.full((c, kh * kw), _tap(pool))


def conv_map(op: _Conv, weight: np.ndarray) -> ConvGeometry:
    """The geometry of a convolution op (the map of one sample)."""
    (_, c, h, w), (_, _, oh, ow) = shape_of(op.input), shape_of(op.result)
    _, _, kh, kw = weight.shape
    p = op.params
    return ConvGeometry(c, h, w, weight.shape[0], oh, ow, kh, kw, *p.stride, *p.padding, *p.dilation, groups=p.groups)


@dataclass
class FoldPoolIntoConv(RewritePattern):
    """conv(pool(x), W) -> conv(x, W composed with the pool's window), for both conv ops."""

    target: TargetDescription

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.Conv2dOp | nn.FusedConv2dOp, rewriter: PatternRewriter) -> None:
        pool = _linear_pool(op.input)
        weight = None if pool is None else constant_array(op.weight)
        if pool is None or weight is None:
            return
        first, second = pool_map(pool), conv_map(op, weight)
        ext_h, ext_w = composed_extent(first[0], second)
        if not composes_exactly(first[0], second):
            remark(
                f"{describe_op(op)}: the pooling before it is not folded: the conv's padding would read the "
                "pooling's edge windows as data (docs/pipeline.md, nn-fold-pool)",
                op,
            )
            return
        if not fits(op, second.in_channels_per_group * ext_h * ext_w, self.target):
            return
        composed = compose_convs(first, (second, weight.reshape(weight.shape[0], -1)))
        if composed is None:
            return
        g, kernel = composed
        new_weight = new_constant(
            kernel.reshape(g.out_channels, g.in_channels_per_group, g.kernel_h, g.kernel_w),
            op.weight,
            "_pooled",
            rewriter,
            op,
        )
        params = nn.ConvParams((g.stride_h, g.stride_w), (g.pad_h, g.pad_w), (1, 1), g.groups)
        result_type = op.result.type
        assert isa(result_type, TensorType[Attribute])
        layer = None if op.layer is None else op.layer.data
        folded: Operation
        if isinstance(op, nn.FusedConv2dOp):
            folded = nn.FusedConv2dOp(pool.input, new_weight, op.bias, result_type, params, op.activation.data, layer)
        else:
            folded = nn.Conv2dOp(pool.input, new_weight, result_type, params, layer)
        folded.location = op.location
        old_weight = op.weight
        rewriter.replace(op, folded)
        rewriter.erase(pool)
        erase_if_unused(old_weight, rewriter)


def unpooled_dense_weight(weight: np.ndarray, pool: nn.Pool2dOp) -> np.ndarray:
    """``W`` over a flattened pooled map [C, H', W'] as the weight over the unpooled map [C, H, W]: each
    pooled column spread over its window (times 1/window for an average), overlapping windows summed."""
    (_, c, h, w), (_, _, oh, ow) = shape_of(pool.input), shape_of(pool.result)
    (kh, kw), (sh, sw), (ph, pw) = pool.window
    pooled = weight.reshape(weight.shape[0], c, oh, ow) * _tap(pool)
    padded = np.zeros((weight.shape[0], c, h + 2 * ph, w + 2 * pw))
    for ky in range(kh):
        for kx in range(kw):
            padded[:, :, ky : ky + sh * (oh - 1) + 1 : sh, kx : kx + sw * (ow - 1) + 1 : sw] += pooled
    return padded[:, :, ph : ph + h, pw : pw + w].reshape(weight.shape[0], -1)


@dataclass
class FoldPoolIntoDense(RewritePattern):
    """dense(flatten(pool(x)), W) -> dense(flatten(x), W spread over the pooling windows), for both dense ops."""

    target: TargetDescription

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.DenseOp | nn.FusedDenseOp, rewriter: PatternRewriter) -> None:
        flatten = op.input.owner
        if not isinstance(flatten, nn.ReshapeOp | nn.BatchFlattenOp) or not flatten.result.has_one_use():
            return
        pool = _linear_pool(flatten.input)
        weight = None if pool is None else constant_array(op.weight)
        if pool is None or weight is None:
            return
        source = pool.input.type
        assert isa(source, TensorType[Attribute])
        batch, *features = source.get_shape()
        if shape_of(op.input) != (batch, int(np.prod(shape_of(pool.result)[1:]))):
            return  # not a flattening of each sample's pooled map
        if not fits(op, int(np.prod(features)), self.target):
            return
        flat = type(flatten)(pool.input, TensorType(source.element_type, [batch, int(np.prod(features))]))
        flat.location = flatten.location
        new_weight = new_constant(unpooled_dense_weight(weight, pool), op.weight, "_pooled", rewriter, op)
        result_type = op.result.type
        assert isa(result_type, TensorType[Attribute])
        layer = None if op.layer is None else op.layer.data
        folded: Operation
        if isinstance(op, nn.FusedDenseOp):
            folded = nn.FusedDenseOp(flat.result, new_weight, op.bias, result_type, op.activation.data, layer)
        else:
            folded = nn.DenseOp(flat.result, new_weight, result_type, layer)
        folded.location = op.location
        old_weight = op.weight
        rewriter.replace(op, [flat, folded])
        rewriter.erase(flatten)
        rewriter.erase(pool)
        erase_if_unused(old_weight, rewriter)


def fits(layer: _Conv | _Dense, fan_in: int, target: TargetDescription) -> bool:
    """Whether a folded layer whose neurons each read ``fan_in`` inputs still fits ``target``: a conv
    ACC reads at most ``max_fan_in`` per neuron, and one neuron's synapses live on one core. When it
    does not, the pooling stays a layer of its own and a remark names the layer and the limit."""
    limits = [("synapse_bytes", target.synapse_bytes)]
    if isinstance(layer, _Conv):
        limits.insert(0, ("max_fan_in", target.max_fan_in))
    for name, limit in limits:
        if fan_in > limit:
            remark(
                f"{describe_op(layer)}: the pooling before it is not folded: each neuron would read {fan_in} inputs, "
                f"over the target's {name} {limit}",
                layer,
            )
            return False
    return True


@dataclass(frozen=True)
class NnFoldPoolPass(ModulePass):
    """Fold average and sum poolings into the conv or dense layer reading them; see docs/pipeline.md."""

    name = "nn-fold-pool"

    target: str = "spikecore-v1"
    """The target whose limits a folded layer must keep (spikeir.chip.target.TARGETS)."""
    synapse_bytes: int = 0
    """0: the target's synaptic memory per core (the pipeline passes its own option)."""

    def __post_init__(self) -> None:
        check_option_types(self)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        with pass_errors(self.name):
            target = get_target(self.target)
            if self.synapse_bytes:
                target = target.with_options(synapse_bytes=self.synapse_bytes)
        PatternRewriteWalker(FoldPoolIntoConv(target)).rewrite_module(op)
        PatternRewriteWalker(FoldPoolIntoDense(target)).rewrite_module(op)
