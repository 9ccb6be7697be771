"""The BYOC pattern table: which Relax subgraphs SpikeCore runs (the seed's `relay_patterns`, on Relax).

A SpikeCore layer is a fully connected product of a vector with a constant matrix, or a 2-D
convolution of an NCHW map with a constant OIHW kernel, each with an optional constant bias and an
optional ReLU; average pooling is a layer too. Relax (apache-tvm 0.27; Relay is gone) writes
``nn.Linear`` as ``matmul(x, permute_dims(W))`` followed by ``add(b, ...)`` (either operand order),
and a convolution's bias as ``add(conv2d(x, W), reshape(b, [1, C, 1, 1]))``.

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


def _symmetric(padding: Any) -> bool:
    """Relax's (top, left, bottom, right) padding pads both sides of each axis alike."""
    pads = [int(p) for p in padding]
    return len(pads) == 4 and pads[0] == pads[2] and pads[1] == pads[3]


def _feature_map(expr: Any) -> bool:
    ty = expr.ty
    return getattr(ty, "ndim", None) == 4 and str(getattr(ty, "dtype", "")) == "float32"


def check_conv(context: Any) -> bool:
    """Whether a conv2d (+ bias) (+ relu) match is a layer SpikeCore runs: NCHW / OIHW, constant
    weights, a per-channel constant bias, symmetric padding, nothing used outside the match."""
    from tvm.relax.backend.utils import has_leaking_intermediate_variables

    annotated = context.annotated_expr
    attrs = annotated["conv"].attrs
    bias = annotated.get("bias")
    return (
        not has_leaking_intermediate_variables(context)
        and _feature_map(annotated["input"])
        and (str(attrs.data_layout), str(attrs.kernel_layout), str(attrs.out_layout)) == ("NCHW", "OIHW", "NCHW")
        and _symmetric(attrs.padding)
        and _is_constant(annotated["weight"], (4,))
        and (bias is None or _is_constant(bias, (1, 4)))
    )


def check_conv_norm(context: Any) -> bool:
    """A convolution followed by an inference batch norm on its channels (folded into the kernel by
    the pipeline), with constant statistics. Only with the ReLU (or the flatten) after it: TVM's
    FuseOpsByPattern roots matches at calls, and a batch norm's result is a tuple field, so a bare
    conv + batch norm (ResNet's before its skip add) keeps the batch norm on the host."""
    annotated = context.annotated_expr
    attrs = annotated["norm"].attrs
    statistics = annotated["norm"].args[1:5]
    return (
        check_conv(context)
        and int(attrs.axis) == 1
        and not bool(attrs.training)
        and all(_is_constant(value, (1,)) for value in statistics)
    )


def check_pool(context: Any) -> bool:
    """Whether an average pooling is one SpikeCore runs: NCHW, symmetric padding that the average
    counts, no dilation, floor sizing."""
    from tvm.relax.backend.utils import has_leaking_intermediate_variables

    annotated = context.annotated_expr
    attrs = annotated["pool"].attrs
    padded = any(int(p) for p in attrs.padding)
    return (
        not has_leaking_intermediate_variables(context)
        and _feature_map(annotated["input"])
        and str(attrs.layout) == "NCHW"
        and _symmetric(attrs.padding)
        and all(int(d) == 1 for d in attrs.dilation)
        and not bool(attrs.ceil_mode)
        and (not padded or bool(attrs.count_include_pad))
    )


def check_flatten(context: Any) -> bool:
    """A conv or pooling layer followed by the flatten before a dense layer (``[B, C, H, W] ->
    [B, C*H*W]``): the flatten is only a way of reading the map, so it stays on the chip with the layer
    (the model's own input flatten is a host op, as before)."""
    annotated = context.annotated_expr
    flatten = annotated["flatten"]
    source = flatten.args[0].ty
    shape = [int(v) for v in getattr(getattr(flatten.ty, "shape", None), "values", [])]
    is_flatten = len(shape) == 2 and getattr(source, "ndim", None) == 4 and shape[0] == int(source.shape.values[0])
    layer = (
        (check_conv_norm(context) if "norm" in annotated else check_conv(context))
        if "conv" in annotated
        else check_pool(context)
    )
    return is_flatten and layer


def spikecore_patterns() -> list[Pattern]:
    """The table `register_spikecore_target` registers, general before specific (registration order)."""
    from tvm.relax.dpl import is_op, is_tuple_get_item, wildcard

    x, w, b = wildcard(), wildcard(), wildcard()
    dense = is_op("relax.matmul")(x, is_op("relax.permute_dims")(w) | w)
    dense_bias = is_op("relax.add")(dense, b) | is_op("relax.add")(b, dense)
    dense_relu = is_op("relax.nn.relu")(dense_bias | dense)
    operands = {"input": x, "weight": w}
    with_bias = {**operands, "bias": b}
    conv = is_op("relax.nn.conv2d")(x, w)
    channel_bias = is_op("relax.reshape")(b, wildcard()) | b  # from_exported_program reshapes it to [1, C, 1, 1]
    conv_bias = is_op("relax.add")(conv, channel_bias) | is_op("relax.add")(channel_bias, conv)
    conv_relu = is_op("relax.nn.relu")(conv_bias | conv)
    norm = is_op("relax.nn.batch_norm")(conv_bias | conv, wildcard(), wildcard(), wildcard(), wildcard())
    conv_norm = is_tuple_get_item(norm, 0)
    conv_norm_relu = is_op("relax.nn.relu")(conv_norm)
    pool = is_op("relax.nn.avg_pool2d")(x)
    conv_or_pool = conv_norm_relu | conv_norm | conv_relu | conv_bias | conv | pool
    flatten = is_op("relax.reshape")(conv_or_pool, wildcard())
    return [
        (f"{PATTERN_PREFIX}.dense", dense, operands, check_layer),
        (f"{PATTERN_PREFIX}.dense_bias", dense_bias, with_bias, check_layer),
        (f"{PATTERN_PREFIX}.dense_relu", dense_relu, with_bias, check_layer),
        (f"{PATTERN_PREFIX}.avg_pool2d", pool, {"input": x, "pool": pool}, check_pool),
        (f"{PATTERN_PREFIX}.conv2d", conv, {**operands, "conv": conv}, check_conv),
        (f"{PATTERN_PREFIX}.conv2d_bias", conv_bias, {**with_bias, "conv": conv}, check_conv),
        (f"{PATTERN_PREFIX}.conv2d_relu", conv_relu, {**with_bias, "conv": conv}, check_conv),
        (
            f"{PATTERN_PREFIX}.conv2d_bn_relu",
            conv_norm_relu,
            {**with_bias, "conv": conv, "norm": norm},
            check_conv_norm,
        ),
        (
            f"{PATTERN_PREFIX}.flatten",
            flatten,
            {**with_bias, "conv": conv, "norm": norm, "pool": pool, "flatten": flatten},
            check_flatten,
        ),
    ]


def spikecore_pattern_table() -> list[tuple[str, Any]]:
    """The seed's view of the table: ``[(name, pattern)]``, in registration order."""
    return [(name, pattern) for name, pattern, _, _ in spikecore_patterns()]
