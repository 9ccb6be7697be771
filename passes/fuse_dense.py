"""nn-fuse-dense: form the `nn.fused_dense` composites that the SpikeCore lowering consumes.

SpikeCore executes a whole layer (ACC of the synapses, ACC of the bias, FIRE with an optional
clamp at zero) as one unit, so the lowering wants a layer as one op rather than a dense, a bias_add
and a relu that it would have to re-associate. This is the BYOC "composite" step: downstream
passes (partition-for-spikecore, spikecore-quantize) only ever look at `nn.fused_dense`.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.utils.hints import isa

from spikeir.dialects import nn


def sole_user(value: SSAValue) -> Operation | None:
    """The one operation using ``value``, if it has exactly one use."""
    use = value.get_unique_use()
    return None if use is None else use.operation


class FuseDensePattern(RewritePattern):
    """Fold the longest chain dense -> bias_add -> relu whose intermediate values have one use.

    An intermediate value with another user must stay materialised, and fusing past it would
    compute the layer twice, so the chain stops there: a dense whose result is also used elsewhere
    becomes a fused_dense without bias, and the bias_add after it stays as it is.
    """

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.DenseOp, rewriter: PatternRewriter) -> None:
        chain: list[Operation] = [op]
        bias: SSAValue | None = None
        activation = nn.Activation.NONE

        user = sole_user(op.result)
        if isinstance(user, nn.BiasAddOp) and user.input is op.result:
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
        fused = nn.FusedDenseOp(op.input, op.weight, bias, result_type, activation=activation, layer=layer)
        fused.location = op.location  # diagnostics about the layer point at the dense it came from
        # The bias may be defined between the dense and the bias_add: insert where the chain ends.
        rewriter.replace(last, fused)
        for dead in reversed(chain[:-1]):
            rewriter.erase(dead)


@dataclass(frozen=True)
class FuseDensePass(ModulePass):
    """nn.dense (+ nn.bias_add) (+ nn.relu) -> nn.fused_dense; see docs/pipeline.md, section 2."""

    name = "nn-fuse-dense"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(FuseDensePattern()).rewrite_module(op)
