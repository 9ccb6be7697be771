"""nn-fuse-dense: form the `nn.fused_dense` composites that the SpikeCore lowering consumes.

SpikeCore executes a whole layer (ACC of the synapses, ACC of the bias, FIRE with an optional
clamp at zero) as one unit, so the lowering wants a layer as one op rather than a dense, a bias_add
and a relu that it would have to re-associate. This is the BYOC "composite" step: downstream
passes (partition-for-spikecore, spikecore-quantize) only ever look at `nn.fused_dense`.
"""

from __future__ import annotations

from collections.abc import Callable
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


def layer_chain(
    op: Operation, accepts_bias: Callable[[nn.BiasAddOp], bool]
) -> tuple[list[Operation], SSAValue | None, nn.Activation]:
    """The longest chain ``op`` -> bias_add -> relu whose intermediate values have one use: its ops,
    the bias (if a bias_add that ``accepts_bias`` joined) and the activation. Shared by the dense and
    conv fusions."""
    chain: list[Operation] = [op]
    bias: SSAValue | None = None
    activation = nn.Activation.NONE
    user = sole_user(op.results[0])
    if isinstance(user, nn.BiasAddOp) and user.input is op.results[0] and accepts_bias(user):
        bias = user.bias
        chain.append(user)
        user = sole_user(user.result)
    if isinstance(user, nn.ReluOp):
        activation = nn.Activation.RELU
        chain.append(user)
    return chain, bias, activation


def chain_result_type(chain: list[Operation]) -> TensorType[Attribute]:
    """The type the fused op produces: that of the chain's last op."""
    result_type = chain[-1].results[0].type
    assert isa(result_type, TensorType[Attribute])
    return result_type


def replace_chain(rewriter: PatternRewriter, chain: list[Operation], fused: Operation) -> None:
    """Put ``fused`` where the chain ends (its bias may be defined between the first op and the
    bias_add) and erase the rest; diagnostics about the layer point at the op it came from."""
    fused.location = chain[0].location
    rewriter.replace(chain[-1], fused)
    for dead in reversed(chain[:-1]):
        rewriter.erase(dead)


class FuseDensePattern(RewritePattern):
    """Fold the longest chain dense -> bias_add -> relu whose intermediate values have one use.

    An intermediate value with another user must stay materialised, and fusing past it would
    compute the layer twice, so the chain stops there: a dense whose result is also used elsewhere
    becomes a fused_dense without bias, and the bias_add after it stays as it is.
    """

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.DenseOp, rewriter: PatternRewriter) -> None:
        chain, bias, activation = layer_chain(op, lambda _: True)
        layer = None if op.layer is None else op.layer.data
        fused = nn.FusedDenseOp(op.input, op.weight, bias, chain_result_type(chain), activation=activation, layer=layer)
        replace_chain(rewriter, chain, fused)


@dataclass(frozen=True)
class FuseDensePass(ModulePass):
    """nn.dense (+ nn.bias_add) (+ nn.relu) -> nn.fused_dense; see docs/pipeline.md, section 2."""

    name = "nn-fuse-dense"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(FuseDensePattern()).rewrite_module(op)
