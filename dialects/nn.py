"""The `nn` dialect: the float graph as frontends produce it.

Ops mirror Relay/Relax names so imported models read the same at every level: `nn.dense` takes its
weight as ``[out_features, in_features]`` (PyTorch's and Relay's layout), `nn.bias_add` adds a
vector along one axis (the last by default, the channel axis 1 after a convolution), and
`nn.fused_dense` / `nn.fused_conv2d` are the BYOC composites (layer + bias + optional ReLU) that the
SpikeCore lowering consumes. Convolutions are NCHW with OIHW weights (PyTorch's layout) and symmetric
zero padding; `nn.pool2d` is one op with a kind (avg, sum, max), global average pooling being a
window as large as the map. Weights are SSA operands: an `arith.constant` with a `dense<...>` value,
or a function argument until parameters are bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod
from typing import ClassVar

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    I64,
    AnyFloat,
    DenseArrayBase,
    Float64Type,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
    f64,
    i64,
)
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import Attribute, Dialect, Operation, SpacedOpaqueSyntaxAttribute, SSAValue
from xdsl.irdl import (
    BaseAttr,
    IRDLOperation,
    VarConstraint,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.pattern_rewriter import RewritePattern
from xdsl.traits import HasCanonicalizationPatternsTrait, Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa
from xdsl.utils.str_enum import StrEnum

FloatTensor = TensorType[AnyFloat]
_SameTensor = VarConstraint("T", BaseAttr(TensorType))


class Activation(StrEnum):
    """What a fused layer applies after its bias."""

    NONE = "none"
    RELU = "relu"


ACTIVATIONS = tuple(a.value for a in Activation)


class PoolKind(StrEnum):
    """What `nn.pool2d` computes over each window: the mean (over the whole window, padding
    included, as PyTorch's ``count_include_pad=True``), the sum, or the maximum."""

    AVG = "avg"
    SUM = "sum"
    MAX = "max"


@irdl_attr_definition
class ActivationAttr(EnumAttribute[Activation], SpacedOpaqueSyntaxAttribute):
    """``#nn<activation relu>``; in the custom syntax of `nn.fused_dense` just ``activation relu``."""

    name = "nn.activation"


@irdl_attr_definition
class PoolKindAttr(EnumAttribute[PoolKind], SpacedOpaqueSyntaxAttribute):
    """``#nn<pool_kind avg>``; in the custom syntax of `nn.pool2d` just ``avg``."""

    name = "nn.pool_kind"


class _ShapeChangeCanonicalization(HasCanonicalizationPatternsTrait):
    """`canonicalize` folds chains of shape changes and shape changes to the same type."""

    @classmethod
    def get_canonicalization_patterns(cls) -> tuple[RewritePattern, ...]:
        from spikeir.dialects.canonicalization import ComposeShapeChanges, RemoveIdentityShapeChange

        return (ComposeShapeChanges(), RemoveIdentityShapeChange())


class _ReluCanonicalization(HasCanonicalizationPatternsTrait):
    """`canonicalize` folds a ReLU of a ReLU."""

    @classmethod
    def get_canonicalization_patterns(cls) -> tuple[RewritePattern, ...]:
        from spikeir.dialects.canonicalization import FoldReluOfRelu

        return (FoldReluOfRelu(),)


def _shape(value: SSAValue | Operation) -> tuple[int, ...]:
    typ = value.type if isinstance(value, SSAValue) else value.results[0].type
    assert isinstance(typ, TensorType)
    return typ.get_shape()


def _dims(shape: Sequence[int]) -> str:
    """A shape as verifier messages print it, ``[?, 1, 2, 2]`` for a dynamic dimension."""
    return "[" + ", ".join("?" if d == DYNAMIC_INDEX else str(d) for d in shape) + "]"


def _axis_name(axis: int) -> str:
    return "last axis" if axis == -1 else f"axis {axis}"


def _verify_dense_shapes(
    op: Operation, input: SSAValue, weight: SSAValue, bias: SSAValue | None, result: SSAValue
) -> None:
    """Shared shape rules of nn.dense and nn.fused_dense: [B, K] x [N, K] (+ [N]) -> [B, N]."""
    in_shape, w_shape, out_shape = _shape(input), _shape(weight), _shape(result)
    if len(in_shape) != 2:
        raise VerifyException(f"'{op.name}' expects a 2-D input [batch, features], got shape {_dims(in_shape)}")
    if len(w_shape) != 2:
        raise VerifyException(
            f"'{op.name}' expects a 2-D weight [out_features, in_features], got shape {_dims(w_shape)}"
        )
    if in_shape[1] != w_shape[1]:
        raise VerifyException(
            f"'{op.name}' input has {in_shape[1]} features but the weight expects {w_shape[1]} "
            f"(weight shape {_dims(w_shape)})"
        )
    if bias is not None and _shape(bias) != (w_shape[0],):
        raise VerifyException(f"'{op.name}' bias must have shape [{w_shape[0]}], got {_dims(_shape(bias))}")
    if out_shape != (in_shape[0], w_shape[0]):
        raise VerifyException(f"'{op.name}' result must have shape {_dims((in_shape[0], w_shape[0]))}, got {_dims(out_shape)}")


@irdl_op_definition
class DenseOp(IRDLOperation):
    """Fully connected layer without bias: ``result = input @ weight^T``."""

    name = "nn.dense"

    input = operand_def(FloatTensor)
    weight = operand_def(FloatTensor)
    layer = opt_prop_def(StringAttr)
    """The source layer's name (e.g. ``layers.0``), kept for diagnostics and reports."""
    result = result_def(FloatTensor)

    traits = traits_def(Pure())
    assembly_format = "$input `,` $weight (`layer` $layer^)? attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        input: SSAValue | Operation,
        weight: SSAValue | Operation,
        result_type: TensorType,
        layer: str | None = None,
    ) -> None:
        props = {} if layer is None else {"layer": StringAttr(layer)}
        super().__init__(operands=[input, weight], result_types=[result_type], properties=props)

    def verify_(self) -> None:
        _verify_dense_shapes(self, self.input, self.weight, None, self.result)


@irdl_op_definition
class BiasAddOp(IRDLOperation):
    """Add a bias vector along one axis: the last (a dense layer's features) unless ``axis`` says
    otherwise (1, the channels, after an NCHW convolution)."""

    name = "nn.bias_add"

    T: ClassVar = _SameTensor
    input = operand_def(T)
    bias = operand_def(FloatTensor)
    axis = opt_prop_def(IntegerAttr[I64])
    """The bias axis; absent means the last."""
    result = result_def(T)

    traits = traits_def(Pure())
    assembly_format = "$input `,` $bias (`axis` `(` $axis^ `)`)? attr-dict `:` functional-type(operands, results)"

    def __init__(self, input: SSAValue | Operation, bias: SSAValue | Operation, axis: int | None = None) -> None:
        rank = len(_shape(SSAValue.get(input)))
        props = {} if axis is None or axis in (-1, rank - 1) else {"axis": IntegerAttr(axis, i64)}
        super().__init__(operands=[input, bias], result_types=[SSAValue.get(input).type], properties=props)

    @property
    def channel_axis(self) -> int:
        """The bias axis as a non-negative index."""
        rank = len(_shape(self.input))
        return rank - 1 if self.axis is None else self.axis.value.data % rank

    def verify_(self) -> None:
        in_shape = _shape(self.input)
        axis = -1 if self.axis is None else self.axis.value.data
        if not -len(in_shape) <= axis < len(in_shape):
            raise VerifyException(f"'nn.bias_add' axis {axis} is out of range for a rank-{len(in_shape)} input")
        size = in_shape[axis]
        if _shape(self.bias) != (size,):
            raise VerifyException(
                f"'nn.bias_add' bias must have shape [{size}] to match the input's {_axis_name(axis)}, "
                f"got {_dims(_shape(self.bias))}"
            )


@irdl_op_definition
class ReluOp(IRDLOperation):
    name = "nn.relu"

    T: ClassVar = _SameTensor
    input = operand_def(T)
    result = result_def(T)

    traits = traits_def(Pure(), _ReluCanonicalization())
    assembly_format = "$input attr-dict `:` type($input)"

    def __init__(self, input: SSAValue | Operation) -> None:
        super().__init__(operands=[input], result_types=[SSAValue.get(input).type])


class _ShapeChangeOp(IRDLOperation):
    """Base of ops that only change the shape: element count and type are kept."""

    input = operand_def(FloatTensor)
    result = result_def(FloatTensor)

    traits = traits_def(Pure(), _ShapeChangeCanonicalization())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue | Operation, result_type: TensorType) -> None:
        super().__init__(operands=[input], result_types=[result_type])

    def verify_(self) -> None:
        in_type, out_type = self.input.type, self.result.type
        assert isa(in_type, TensorType[Attribute]) and isa(out_type, TensorType[Attribute])
        if in_type.element_type != out_type.element_type:
            raise VerifyException(f"'{self.name}' must keep the element type")
        in_shape, out_shape = in_type.get_shape(), out_type.get_shape()
        if DYNAMIC_INDEX in in_shape[1:] or DYNAMIC_INDEX in out_shape[1:]:
            raise VerifyException(
                f"'{self.name}' supports a dynamic dimension only on the batch axis, got "
                f"{_dims(in_shape)} -> {_dims(out_shape)}"
            )
        dynamic = (in_shape[:1] == (DYNAMIC_INDEX,), out_shape[:1] == (DYNAMIC_INDEX,))
        if dynamic[0] != dynamic[1]:
            raise VerifyException(
                f"'{self.name}' must keep a dynamic batch axis dynamic, got {_dims(in_shape)} -> {_dims(out_shape)}"
            )
        skip = 1 if dynamic[0] else 0  # a dynamic batch: the count per sample must match
        if prod(in_shape[skip:]) != prod(out_shape[skip:]):
            per = " per sample" if skip else ""
            raise VerifyException(
                f"'{self.name}' cannot change the element count: {_dims(in_shape)} has {prod(in_shape[skip:])} "
                f"elements{per}, {_dims(out_shape)} has {prod(out_shape[skip:])}"
            )


@irdl_op_definition
class BatchFlattenOp(_ShapeChangeOp):
    """Flatten every axis but the first: [B, d1, d2, ...] -> [B, d1*d2*...]."""

    name = "nn.batch_flatten"

    def verify_(self) -> None:
        super().verify_()
        in_shape, out_shape = _shape(self.input), _shape(self.result)
        if len(out_shape) != 2 or not in_shape or out_shape[0] != in_shape[0]:
            raise VerifyException(
                f"'nn.batch_flatten' must produce {_dims((in_shape[0], prod(in_shape[1:])) if in_shape else ())}, "
                f"got {_dims(out_shape)}"
            )


@irdl_op_definition
class ReshapeOp(_ShapeChangeOp):
    name = "nn.reshape"


@irdl_op_definition
class SoftmaxOp(IRDLOperation):
    """Softmax along one axis. Host-only: SpikeCore has no exponentials."""

    name = "nn.softmax"

    T: ClassVar = _SameTensor
    input = operand_def(T)
    axis = prop_def(IntegerAttr[I64])
    result = result_def(T)

    traits = traits_def(Pure())
    assembly_format = "$input `axis` `(` $axis `)` attr-dict `:` type($input)"

    def __init__(self, input: SSAValue | Operation, axis: int = -1) -> None:
        super().__init__(
            operands=[input], result_types=[SSAValue.get(input).type], properties={"axis": IntegerAttr(axis, i64)}
        )

    def verify_(self) -> None:
        rank = len(_shape(self.input))
        axis = self.axis.value.data
        if not -rank <= axis < rank:
            raise VerifyException(f"'nn.softmax' axis {axis} is out of range for a rank-{rank} input")


@irdl_op_definition
class FusedDenseOp(IRDLOperation):
    """The BYOC composite: ``activation(input @ weight^T + bias)``, one SpikeCore layer.

    `nn-fuse-dense` forms it from nn.dense + nn.bias_add (+ nn.relu); the bias is optional.
    """

    name = "nn.fused_dense"

    input = operand_def(FloatTensor)
    weight = operand_def(FloatTensor)
    bias = opt_operand_def(FloatTensor)
    activation = prop_def(ActivationAttr, default_value=ActivationAttr(Activation.NONE))
    layer = opt_prop_def(StringAttr)
    """The source layer's name (e.g. ``layers.0``), kept for diagnostics and reports."""
    result = result_def(FloatTensor)

    ACTIVATIONS: ClassVar[tuple[str, ...]] = ACTIVATIONS

    traits = traits_def(Pure())
    assembly_format = (
        "$input `,` $weight (`,` $bias^)? (`activation` $activation^)? (`layer` $layer^)? attr-dict "
        "`:` functional-type(operands, results)"
    )

    def __init__(
        self,
        input: SSAValue | Operation,
        weight: SSAValue | Operation,
        bias: SSAValue | Operation | None,
        result_type: TensorType,
        activation: Activation | str = Activation.NONE,
        layer: str | None = None,
    ) -> None:
        properties: dict[str, ActivationAttr | StringAttr] = {"activation": ActivationAttr(Activation(activation))}
        if layer is not None:
            properties["layer"] = StringAttr(layer)
        super().__init__(
            operands=[input, weight, [] if bias is None else [bias]],
            result_types=[result_type],
            properties=properties,
        )

    def verify_(self) -> None:
        _verify_dense_shapes(self, self.input, self.weight, self.bias, self.result)


# --- convolutional layers ------------------------------------------------------------------------


def window_out_size(size: int, kernel: int, stride: int, pad: int, dilation: int = 1) -> int:
    """Output length of a sliding window along one axis (PyTorch's floor formula; < 1 if it does not fit)."""
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def _pair(values: tuple[int, ...] | list[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


def _pair_values(op: Operation, attr: DenseArrayBase, what: str, low: int) -> tuple[int, int]:
    """A (h, w) pair property, checked: two values, each at least ``low``."""
    values = tuple(int(v) for v in attr.get_values()) if isa(attr, DenseArrayBase[IntegerType]) else ()
    if len(values) != 2 or any(v < low for v in values):
        raise VerifyException(f"'{op.name}' {what} must be two integers >= {low} ([h, w]), got {list(values)}")
    return values[0], values[1]


@dataclass(frozen=True)
class ConvParams:
    """The geometry properties of a convolution, as plain integers (h, w pairs)."""

    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int

    def out_hw(self, in_h: int, in_w: int, kernel: tuple[int, int]) -> tuple[int, int]:
        """(H', W') of the output map."""
        return (
            window_out_size(in_h, kernel[0], self.stride[0], self.padding[0], self.dilation[0]),
            window_out_size(in_w, kernel[1], self.stride[1], self.padding[1], self.dilation[1]),
        )


class ConvProperties(IRDLOperation):
    """The properties nn.conv2d and nn.fused_conv2d share, and their shape rules."""

    strides = prop_def(DenseArrayBase.constr(i64), default_value=_pair([1, 1]))
    padding = prop_def(DenseArrayBase.constr(i64), default_value=_pair([0, 0]))
    """Symmetric zero padding [pad_h, pad_w] (SpikeCore's conv ACC pads both sides alike)."""
    dilation = prop_def(DenseArrayBase.constr(i64), default_value=_pair([1, 1]))
    groups = prop_def(IntegerAttr[I64], default_value=IntegerAttr(1, i64))
    layer = opt_prop_def(StringAttr)
    """The source layer's name (e.g. ``features.0``), kept for diagnostics and reports."""

    @property
    def params(self) -> ConvParams:
        return ConvParams(
            _pair_values(self, self.strides, "strides", 1),
            _pair_values(self, self.padding, "padding", 0),
            _pair_values(self, self.dilation, "dilation", 1),
            self.groups.value.data,
        )

    def verify_conv(self, input: SSAValue, weight: SSAValue, bias: SSAValue | None, result: SSAValue) -> None:
        """[B, C, H, W] * [O, C/groups, kh, kw] (+ [O]) -> [B, O, H', W']."""
        in_shape, w_shape, out_shape = _shape(input), _shape(weight), _shape(result)
        if len(in_shape) != 4:
            raise VerifyException(f"'{self.name}' expects a 4-D NCHW input, got shape {_dims(in_shape)}")
        if len(w_shape) != 4:
            raise VerifyException(f"'{self.name}' expects a 4-D OIHW weight, got shape {_dims(w_shape)}")
        p = self.params
        if p.groups < 1 or in_shape[1] % p.groups or w_shape[0] % p.groups:
            raise VerifyException(
                f"'{self.name}' groups {p.groups} must divide the input channels {in_shape[1]} "
                f"and the output channels {w_shape[0]}"
            )
        if w_shape[1] * p.groups != in_shape[1]:
            raise VerifyException(
                f"'{self.name}' input has {in_shape[1]} channels but the weight {_dims(w_shape)} expects "
                f"{w_shape[1] * p.groups} ({w_shape[1]} per group x {p.groups} groups)"
            )
        if bias is not None and _shape(bias) != (w_shape[0],):
            raise VerifyException(f"'{self.name}' bias must have shape [{w_shape[0]}], got {_dims(_shape(bias))}")
        out_h, out_w = p.out_hw(in_shape[2], in_shape[3], (w_shape[2], w_shape[3]))
        if out_h < 1 or out_w < 1:
            raise VerifyException(
                f"'{self.name}' kernel {w_shape[2]}x{w_shape[3]} (dilation {list(p.dilation)}) does not fit the "
                f"{in_shape[2]}x{in_shape[3]} input padded by {list(p.padding)}"
            )
        expected = [in_shape[0], w_shape[0], out_h, out_w]
        if list(out_shape) != expected:
            raise VerifyException(f"'{self.name}' result must have shape {_dims(expected)}, got {_dims(out_shape)}")


def _conv_properties(
    stride: tuple[int, int], padding: tuple[int, int], dilation: tuple[int, int], groups: int, layer: str | None
) -> dict[str, Attribute]:
    props: dict[str, Attribute] = {
        "strides": _pair(list(stride)),
        "padding": _pair(list(padding)),
        "dilation": _pair(list(dilation)),
        "groups": IntegerAttr(groups, i64),
    }
    if layer is not None:
        props["layer"] = StringAttr(layer)
    return props


_CONV_FORMAT = (
    "(`strides` $strides^)? (`padding` $padding^)? (`dilation` $dilation^)? (`groups` $groups^)? "
    "(`layer` $layer^)? attr-dict `:` functional-type(operands, results)"
)


@irdl_op_definition
class Conv2dOp(ConvProperties):
    """2-D convolution without bias, NCHW input and OIHW weight, as PyTorch's ``conv2d``."""

    name = "nn.conv2d"

    input = operand_def(FloatTensor)
    weight = operand_def(FloatTensor)
    result = result_def(FloatTensor)

    traits = traits_def(Pure())
    assembly_format = "$input `,` $weight " + _CONV_FORMAT

    def __init__(
        self,
        input: SSAValue | Operation,
        weight: SSAValue | Operation,
        result_type: TensorType,
        params: ConvParams,
        layer: str | None = None,
    ) -> None:
        props = _conv_properties(params.stride, params.padding, params.dilation, params.groups, layer)
        super().__init__(operands=[input, weight], result_types=[result_type], properties=props)

    def verify_(self) -> None:
        self.verify_conv(self.input, self.weight, None, self.result)


@irdl_op_definition
class FusedConv2dOp(ConvProperties):
    """The BYOC composite ``activation(conv2d(input, weight) + bias[channel])``, one SpikeCore layer.

    `nn-fuse-conv2d` forms it from nn.conv2d + nn.bias_add(axis 1) (+ nn.relu); the bias is optional.
    """

    name = "nn.fused_conv2d"

    input = operand_def(FloatTensor)
    weight = operand_def(FloatTensor)
    bias = opt_operand_def(FloatTensor)
    activation = prop_def(ActivationAttr, default_value=ActivationAttr(Activation.NONE))
    result = result_def(FloatTensor)

    traits = traits_def(Pure())
    assembly_format = "$input `,` $weight (`,` $bias^)? (`activation` $activation^)? " + _CONV_FORMAT

    def __init__(
        self,
        input: SSAValue | Operation,
        weight: SSAValue | Operation,
        bias: SSAValue | Operation | None,
        result_type: TensorType,
        params: ConvParams,
        activation: Activation | str = Activation.NONE,
        layer: str | None = None,
    ) -> None:
        props = _conv_properties(params.stride, params.padding, params.dilation, params.groups, layer)
        props["activation"] = ActivationAttr(Activation(activation))
        super().__init__(
            operands=[input, weight, [] if bias is None else [bias]], result_types=[result_type], properties=props
        )

    def verify_(self) -> None:
        self.verify_conv(self.input, self.weight, self.bias, self.result)


@irdl_op_definition
class Pool2dOp(IRDLOperation):
    """2-D pooling over NCHW windows: average, sum or max (`PoolKind`), with symmetric zero padding.

    Global average pooling is ``avg`` with a kernel as large as the map (a [B, C, 1, 1] result).
    """

    name = "nn.pool2d"

    input = operand_def(FloatTensor)
    kind = prop_def(PoolKindAttr)
    kernel = prop_def(DenseArrayBase.constr(i64))
    strides = prop_def(DenseArrayBase.constr(i64))
    padding = prop_def(DenseArrayBase.constr(i64), default_value=_pair([0, 0]))
    layer = opt_prop_def(StringAttr)
    result = result_def(FloatTensor)

    traits = traits_def(Pure())
    assembly_format = (
        "$kind $input `kernel` $kernel `strides` $strides (`padding` $padding^)? (`layer` $layer^)? attr-dict "
        "`:` type($input) `->` type($result)"
    )

    def __init__(
        self,
        input: SSAValue | Operation,
        kind: PoolKind | str,
        kernel: tuple[int, int],
        stride: tuple[int, int],
        padding: tuple[int, int],
        result_type: TensorType,
        layer: str | None = None,
    ) -> None:
        props: dict[str, Attribute] = {
            "kind": PoolKindAttr(PoolKind(kind)),
            "kernel": _pair(list(kernel)),
            "strides": _pair(list(stride)),
            "padding": _pair(list(padding)),
        }
        if layer is not None:
            props["layer"] = StringAttr(layer)
        super().__init__(operands=[input], result_types=[result_type], properties=props)

    @property
    def window(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        """(kernel, stride, padding) as (h, w) pairs."""
        return (
            _pair_values(self, self.kernel, "kernel", 1),
            _pair_values(self, self.strides, "strides", 1),
            _pair_values(self, self.padding, "padding", 0),
        )

    def verify_(self) -> None:
        in_shape, out_shape = _shape(self.input), _shape(self.result)
        if len(in_shape) != 4:
            raise VerifyException(f"'nn.pool2d' expects a 4-D NCHW input, got shape {_dims(in_shape)}")
        kernel, stride, padding = self.window
        if padding[0] * 2 > kernel[0] or padding[1] * 2 > kernel[1]:
            raise VerifyException(f"'nn.pool2d' padding {list(padding)} must be at most half the kernel {list(kernel)}")
        out_h = window_out_size(in_shape[2], kernel[0], stride[0], padding[0])
        out_w = window_out_size(in_shape[3], kernel[1], stride[1], padding[1])
        if out_h < 1 or out_w < 1:
            raise VerifyException(
                f"'nn.pool2d' kernel {kernel[0]}x{kernel[1]} does not fit the {in_shape[2]}x{in_shape[3]} input"
            )
        expected = [in_shape[0], in_shape[1], out_h, out_w]
        if list(out_shape) != expected:
            raise VerifyException(f"'nn.pool2d' result must have shape {_dims(expected)}, got {_dims(out_shape)}")


@irdl_op_definition
class AddOp(IRDLOperation):
    """Elementwise sum of two tensors of the same type (a skip connection); no broadcasting."""

    name = "nn.add"

    T: ClassVar = _SameTensor
    lhs = operand_def(T)
    rhs = operand_def(T)
    result = result_def(T)

    traits = traits_def(Pure())
    assembly_format = "$lhs `,` $rhs attr-dict `:` type($result)"

    def __init__(self, lhs: SSAValue | Operation, rhs: SSAValue | Operation) -> None:
        super().__init__(operands=[lhs, rhs], result_types=[SSAValue.get(lhs).type])


@irdl_op_definition
class ConcatOp(IRDLOperation):
    """Concatenation along one axis (the channel axis 1 of NCHW maps in CNNs)."""

    name = "nn.concat"

    inputs = var_operand_def(FloatTensor)
    axis = prop_def(IntegerAttr[I64])
    result = result_def(FloatTensor)

    traits = traits_def(Pure())
    assembly_format = "$inputs `axis` `(` $axis `)` attr-dict `:` functional-type(operands, results)"

    def __init__(self, inputs: Sequence[SSAValue | Operation], axis: int, result_type: TensorType) -> None:
        super().__init__(operands=[inputs], result_types=[result_type], properties={"axis": IntegerAttr(axis, i64)})

    def verify_(self) -> None:
        out_shape = _shape(self.result)
        rank, axis = len(out_shape), self.axis.value.data
        if not 0 <= axis < rank:
            raise VerifyException(f"'nn.concat' axis {axis} is out of range for rank {rank} (0..{rank - 1})")
        if not self.inputs:
            raise VerifyException("'nn.concat' needs at least one input")
        total = 0
        for index, value in enumerate(self.inputs):
            shape = _shape(value)
            if len(shape) != rank or any(a != b for i, (a, b) in enumerate(zip(shape, out_shape)) if i != axis):
                raise VerifyException(
                    f"'nn.concat' input {index} has shape {_dims(shape)}, which differs from the result "
                    f"{_dims(out_shape)} on an axis other than {axis}"
                )
            total += shape[axis]
        if total != out_shape[axis]:
            raise VerifyException(
                f"'nn.concat' inputs add up to {total} along axis {axis}, the result has {out_shape[axis]}"
            )


@irdl_op_definition
class BatchNormOp(IRDLOperation):
    """Inference batch norm along the channel axis 1:
    ``(x - mean) / sqrt(var + epsilon) * gamma + beta``, for [B, C] and [B, C, H, W] inputs.

    `nn-fold-batch-norm` folds it into the conv or dense layer before it.
    """

    name = "nn.batch_norm"

    T: ClassVar = _SameTensor
    input = operand_def(T)
    gamma = operand_def(FloatTensor)
    beta = operand_def(FloatTensor)
    mean = operand_def(FloatTensor)
    variance = operand_def(FloatTensor)
    epsilon = prop_def(FloatAttr[Float64Type])
    layer = opt_prop_def(StringAttr)
    result = result_def(T)

    traits = traits_def(Pure())
    assembly_format = (
        "$input `,` $gamma `,` $beta `,` $mean `,` $variance `epsilon` `(` $epsilon `)` (`layer` $layer^)? "
        "attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        input: SSAValue | Operation,
        gamma: SSAValue | Operation,
        beta: SSAValue | Operation,
        mean: SSAValue | Operation,
        variance: SSAValue | Operation,
        epsilon: float,
        layer: str | None = None,
    ) -> None:
        props: dict[str, Attribute] = {"epsilon": FloatAttr(epsilon, f64)}
        if layer is not None:
            props["layer"] = StringAttr(layer)
        super().__init__(
            operands=[input, gamma, beta, mean, variance],
            result_types=[SSAValue.get(input).type],
            properties=props,
        )

    def verify_(self) -> None:
        in_shape = _shape(self.input)
        if len(in_shape) not in (2, 4):
            raise VerifyException(f"'nn.batch_norm' expects a [B, C] or [B, C, H, W] input, got {_dims(in_shape)}")
        for what, value in (
            ("gamma", self.gamma),
            ("beta", self.beta),
            ("mean", self.mean),
            ("variance", self.variance),
        ):
            if _shape(value) != (in_shape[1],):
                raise VerifyException(
                    f"'nn.batch_norm' {what} must have shape [{in_shape[1]}] (one per channel), got {_dims(_shape(value))}"
                )
        eps = self.epsilon.value.data
        if not eps >= 0:
            raise VerifyException(f"'nn.batch_norm' epsilon must be >= 0, got {eps}")


NN = Dialect(
    "nn",
    [
        DenseOp,
        BiasAddOp,
        ReluOp,
        BatchFlattenOp,
        ReshapeOp,
        SoftmaxOp,
        FusedDenseOp,
        Conv2dOp,
        FusedConv2dOp,
        Pool2dOp,
        AddOp,
        ConcatOp,
        BatchNormOp,
    ],
    [ActivationAttr, PoolKindAttr],
)
