"""nn-fold-reshapes: collapse chains of shape-only ops in the nn dialect.

Frontends emit shape changes literally: torch.export traces `x.view(1, -1)` after a `flatten`,
Relay text has `reshape` + `nn.batch_flatten` pairs, ONNX adds `Reshape`s to the same shape. Each
is free on the host but breaks the "one op feeds the next" chains that nn-fuse-dense and
partition-for-spikecore look for, and a shape change to the same type hides that two layers are
directly connected. Row-major shape changes compose, so any chain of them is one reshape.

The two patterns are the nn shape-change ops' canonicalization patterns (spikeir.dialects.canonicalization):
this pass applies only those, and removes only what they fold, where `canonicalize` would also erase
every other unused op.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import GreedyRewritePatternApplier, PatternRewriteWalker

from spikeir.dialects.canonicalization import ComposeShapeChanges, RemoveIdentityShapeChange


@dataclass(frozen=True)
class NnFoldReshapesPass(ModulePass):
    """Fold reshape/batch_flatten chains and identity shape changes; see docs/pipeline.md."""

    name = "nn-fold-reshapes"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            # No blanket dead-code elimination: this pass removes only the shape changes it folds.
            GreedyRewritePatternApplier([ComposeShapeChanges(), RemoveIdentityShapeChange()], dce_enabled=False)
        ).rewrite_module(op)
