"""nn-fuse-conv2d: form the `nn.fused_conv2d` composites that the SpikeCore lowering consumes.

The convolutional twin of nn-fuse-dense (docs/pipeline.md, section 2): a convolution, its bias along
the channel axis and a ReLU are one SpikeCore layer (conv ACC, bias ACC, FIRE clamped at zero), so
`nn.conv2d` (+ `nn.bias_add` with ``axis(1)``) (+ `nn.relu`) becomes one `nn.fused_conv2d`. The chain
stops at an intermediate value with another use, exactly as for dense layers.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern, op_type_rewrite_pattern
from xdsl.utils.hints import isa

from spikeir.dialects import nn
from spikeir.passes.fuse_dense import sole_user


class FuseConv2dPattern(RewritePattern):
    """Fold the longest chain conv2d -> bias_add(axis 1) -> relu whose intermediate values have one use."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.Conv2dOp, rewriter: PatternRewriter) -> None:
        chain: list[Operation] = [op]
        bias: SSAValue | None = None
        activation = nn.Activation.NONE
        user = sole_user(op.result)
        if isinstance(user, nn.BiasAddOp) and user.input is op.result and user.channel_axis == 1:
            bias = user.bias
            chain.append(user)
            user = sole_user(user.result)
        if isinstance(user, nn.ReluOp):
            activation = nn.Activation.RELU
            chain.append(user)
        last = chain[-1]
        result_type = last.results[0].type
        assert isa(result_type, TensorType[Attribute])
        layer = None if op.layer is None else op.layer.data
        fused = nn.FusedConv2dOp(op.input, op.weight, bias, result_type, op.params, activation, layer)
        fused.location = op.location
        rewriter.replace(last, fused)
        for dead in reversed(chain[:-1]):
            rewriter.erase(dead)


@dataclass(frozen=True)
class FuseConv2dPass(ModulePass):
    """nn.conv2d (+ nn.bias_add axis 1) (+ nn.relu) -> nn.fused_conv2d; see docs/pipeline.md, section 2."""

    name = "nn-fuse-conv2d"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(FuseConv2dPattern()).rewrite_module(op)
