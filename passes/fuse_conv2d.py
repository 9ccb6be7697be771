"""nn-fuse-conv2d: form the `nn.fused_conv2d` composites that the SpikeCore lowering consumes.

The convolutional twin of nn-fuse-dense (docs/pipeline.md, section 2): a convolution, its bias along
the channel axis and a ReLU are one SpikeCore layer (conv ACC, bias ACC, FIRE clamped at zero), so
`nn.conv2d` (+ `nn.bias_add` with ``axis(1)``) (+ `nn.relu`) becomes one `nn.fused_conv2d`. The chain
stops at an intermediate value with another use, exactly as for dense layers.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern, op_type_rewrite_pattern

from spikeir.dialects import nn
from spikeir.passes.fuse_dense import chain_result_type, layer_chain, replace_chain


class FuseConv2dPattern(RewritePattern):
    """Fold the longest chain conv2d -> bias_add(axis 1) -> relu whose intermediate values have one use."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.Conv2dOp, rewriter: PatternRewriter) -> None:
        chain, bias, activation = layer_chain(op, lambda bias_add: bias_add.channel_axis == 1)
        layer = None if op.layer is None else op.layer.data
        fused = nn.FusedConv2dOp(op.input, op.weight, bias, chain_result_type(chain), op.params, activation, layer)
        replace_chain(rewriter, chain, fused)


@dataclass(frozen=True)
class FuseConv2dPass(ModulePass):
    """nn.conv2d (+ nn.bias_add axis 1) (+ nn.relu) -> nn.fused_conv2d; see docs/pipeline.md, section 2."""

    name = "nn-fuse-conv2d"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(FuseConv2dPattern()).rewrite_module(op)
