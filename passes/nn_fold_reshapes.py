"""nn-fold-reshapes: collapse chains of shape-only ops in the nn dialect.

Frontends emit shape changes literally: torch.export traces `x.view(1, -1)` after a `flatten`,
Relay text has `reshape` + `nn.batch_flatten` pairs, ONNX adds `Reshape`s to the same shape. Each
is free on the host but breaks the "one op feeds the next" chains that fuse-dense and
partition-for-spikecore look for, and a shape change to the same type hides that two layers are
directly connected. Row-major shape changes compose, so any chain of them is one reshape.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from spikeir.dialects import nn

_ShapeChange = nn.ReshapeOp | nn.BatchFlattenOp


class RemoveIdentityShapeChange(RewritePattern):
    """A reshape or batch_flatten whose result type equals its input type is its input."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.ReshapeOp | nn.BatchFlattenOp, rewriter: PatternRewriter) -> None:
        if op.input.type == op.result.type:
            rewriter.replace(op, [], [op.input])


class ComposeShapeChanges(RewritePattern):
    """A shape change of a shape change is one shape change of the original value.

    The result stays an `nn.batch_flatten` when the outer op is one and that is still a valid
    batch_flatten of the original input (it says more than a reshape); otherwise it is a reshape.
    The inner op is erased once nothing else uses it.
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
        if isinstance(op, nn.BatchFlattenOp) and keeps_batch:
            rewriter.replace(op, nn.BatchFlattenOp(source, result_type))
        else:
            rewriter.replace(op, nn.ReshapeOp(source, result_type))
        if not inner.result.uses:
            rewriter.erase(inner)


@dataclass(frozen=True)
class NnFoldReshapesPass(ModulePass):
    """Fold reshape/batch_flatten chains and identity shape changes; see docs/pipeline.md."""

    name = "nn-fold-reshapes"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            # No blanket dead-code elimination: this pass removes only the shape changes it folds.
            GreedyRewritePatternApplier([ComposeShapeChanges(), RemoveIdentityShapeChange()], dce_enabled=False)
        ).rewrite_module(op)
