"""Canonicalization patterns of the nn and quant ops, as xDSL keeps them apart from the op definitions.

The ops list them through ``HasCanonicalizationPatternsTrait`` (imported lazily from here), so xDSL's
own `canonicalize` pass applies them; `nn-fold-reshapes` and `spikecore-quantize` reuse them where
they need exactly one of these rewrites without the rest of canonicalization.
"""

from __future__ import annotations

from xdsl.dialects.builtin import TensorType
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from spikeir.dialects import nn, quant

_ShapeChange = nn.ReshapeOp | nn.BatchFlattenOp


class RemoveIdentityShapeChange(RewritePattern):
    """A reshape or batch_flatten whose result type equals its input type is its input."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.ReshapeOp | nn.BatchFlattenOp, rewriter: PatternRewriter) -> None:
        if op.input.type == op.result.type:
            rewriter.replace(op, [], [op.input])


class ComposeShapeChanges(RewritePattern):
    """A shape change of a shape change is one shape change of the original value.

    Row-major shape changes compose. The result stays an `nn.batch_flatten` when the outer op is
    one and that is still a valid batch_flatten of the original input (it says more than a
    reshape); otherwise it is a reshape. The inner op is erased once nothing else uses it.
    """

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.ReshapeOp | nn.BatchFlattenOp, rewriter: PatternRewriter) -> None:
        inner = op.input.owner
        if not isinstance(inner, _ShapeChange):
            return
        source = inner.input
        result_type = op.result.type
        source_type = source.type
        assert isinstance(result_type, TensorType) and isinstance(source_type, TensorType)
        src_shape, out_shape = source_type.get_shape(), result_type.get_shape()
        keeps_batch = len(src_shape) >= 1 and len(out_shape) == 2 and src_shape[0] == out_shape[0]
        composed = (
            nn.BatchFlattenOp(source, result_type)
            if isinstance(op, nn.BatchFlattenOp) and keeps_batch
            else nn.ReshapeOp(source, result_type)
        )
        composed.location = op.location
        rewriter.replace(op, composed)
        if not inner.result.uses:
            rewriter.erase(inner)


class FoldReluOfRelu(RewritePattern):
    """``relu(relu(x))`` is ``relu(x)``."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.ReluOp, rewriter: PatternRewriter) -> None:
        if isinstance(op.input.owner, nn.ReluOp):
            rewriter.replace(op, [], [op.input])


class FoldDequantizeQuantize(RewritePattern):
    """``quant.quantize(quant.dequantize(x))`` with the same int8 type is ``x``: an exact identity.

    (The other order, ``dequantize(quantize(x))``, rounds and clamps: it is not folded.)
    """

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: quant.QuantizeOp, rewriter: PatternRewriter) -> None:
        producer = op.input.owner
        if isinstance(producer, quant.DequantizeOp) and producer.input.type == op.result.type:
            rewriter.replace(op, [], [producer.input])
