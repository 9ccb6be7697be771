"""The BYOC pattern table: which Relax subgraphs SpikeCore runs (the seed's `relay_patterns`, on Relax).

A SpikeCore layer is a fully connected product of a vector with a constant matrix, an optional
constant bias and an optional ReLU. Relax (apache-tvm 0.27; Relay is gone) writes ``nn.Linear`` as
``matmul(x, permute_dims(W))`` followed by ``add(b, ...)`` (either operand order).

As TVM's own backends do (``tvm/relax/backend/cuda/cublas.py``), a pattern only describes the shape
of the subgraph, with its operands annotated, and a check function decides whether a match is
something the chip runs: constant weights and bias of the right rank, and no intermediate value
used outside the match. Without that check, ``y = fc(x); relu(y) + y`` fused ``relu`` into the
composite although the host still needs ``y``: the region would have had two outputs, and SpikeCore
regions have one (the layer's FIRE replaces its accumulator). Rejected, the match falls back to the
next pattern (dense+bias), and the ReLU stays on the host.

Order matters: TVM's registry hands patterns back last-registered first and FuseOpsByPattern
keeps the first accepted match, so the table lists general patterns before specific ones (dense,
then dense+bias, then dense+bias+relu) and the ReLU ends up inside the composite when it can.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

PATTERN_PREFIX = "spikecore"

Pattern = tuple[str, Any, Mapping[str, Any], Callable[[Any], bool]]
"""``(name, tvm.relax.dpl pattern, annotations, check)``, the form `register_patterns` takes."""


def _is_constant(expr: Any, ndims: tuple[int, ...]) -> bool:
    import tvm

    return isinstance(expr, tvm.ir.expr.GenericConst) and getattr(expr.ty, "ndim", None) in ndims


def check_layer(context: Any) -> bool:
    """Whether a match (`tvm.relax.transform.PatternCheckContext`) is a layer SpikeCore runs."""
    from tvm.relax.backend.utils import has_leaking_intermediate_variables

    annotated = context.annotated_expr
    x = annotated["input"].ty
    return (
        not has_leaking_intermediate_variables(context)
        and getattr(x, "ndim", None) == 2
        and str(getattr(x, "dtype", "")) == "float32"
        and _is_constant(annotated["weight"], (2,))
        and ("bias" not in annotated or _is_constant(annotated["bias"], (1, 2)))
    )


def spikecore_patterns() -> list[Pattern]:
    """The table `register_spikecore_target` registers, general before specific (registration order)."""
    from tvm.relax.dpl import is_op, wildcard

    x, w, b = wildcard(), wildcard(), wildcard()
    dense = is_op("relax.matmul")(x, is_op("relax.permute_dims")(w) | w)
    dense_bias = is_op("relax.add")(dense, b) | is_op("relax.add")(b, dense)
    dense_relu = is_op("relax.nn.relu")(dense_bias | dense)
    operands = {"input": x, "weight": w}
    with_bias = {**operands, "bias": b}
    return [
        (f"{PATTERN_PREFIX}.dense", dense, operands, check_layer),
        (f"{PATTERN_PREFIX}.dense_bias", dense_bias, with_bias, check_layer),
        (f"{PATTERN_PREFIX}.dense_relu", dense_relu, with_bias, check_layer),
    ]


def spikecore_pattern_table() -> list[tuple[str, Any]]:
    """The seed's view of the table: ``[(name, pattern)]``, in registration order."""
    return [(name, pattern) for name, pattern, _, _ in spikecore_patterns()]
