"""The BYOC pattern table: which Relax subgraphs SpikeCore runs (the seed's `relay_patterns`, on Relax).

A SpikeCore layer is a fully connected product with constant weights, an optional constant bias
and an optional ReLU. Relax (apache-tvm 0.27; Relay is gone) writes ``nn.Linear`` as
``matmul(x, permute_dims(W))`` followed by ``add(b, ...)`` (either operand order).

Order matters: TVM's registry hands patterns back last-registered first and FuseOpsByPattern
keeps the first match, so the table lists general patterns before specific ones (dense, then
dense+bias, then dense+bias+relu) and the ReLU ends up inside the composite.
"""

from __future__ import annotations

from typing import Any

PATTERN_PREFIX = "spikecore"


def spikecore_pattern_table() -> list[tuple[str, Any]]:
    """``[(name, tvm.relax.dpl pattern)]``, general before specific (registration order)."""
    from tvm.relax.dpl import is_const, is_op, wildcard

    weight = is_op("relax.permute_dims")(is_const()) | is_const()
    dense = is_op("relax.matmul")(wildcard(), weight)
    bias = is_const()
    dense_bias = is_op("relax.add")(dense, bias) | is_op("relax.add")(bias, dense)
    dense_relu = is_op("relax.nn.relu")(dense_bias | dense)
    return [
        (f"{PATTERN_PREFIX}.dense", dense),
        (f"{PATTERN_PREFIX}.dense_bias", dense_bias),
        (f"{PATTERN_PREFIX}.dense_relu", dense_relu),
    ]
