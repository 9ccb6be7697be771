"""The `nn` dialect: the float graph as frontends produce it.

Ops mirror Relay/Relax names so imported models read the same at every level: `nn.dense` takes its
weight as ``[out_features, in_features]`` (PyTorch's and Relay's layout), `nn.bias_add` adds a
vector along the last axis, and `nn.fused_dense` is the BYOC composite (dense + bias + optional
ReLU) that the SpikeCore lowering consumes. Weights are SSA operands: an `arith.constant` with a
`dense<...>` value, or a function argument until parameters are bound.
"""

from __future__ import annotations

from math import prod
from typing import ClassVar

from xdsl.dialects.builtin import (
    I64,
    AnyFloat,
    IntegerAttr,
    StringAttr,
    TensorType,
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


@irdl_attr_definition
class ActivationAttr(EnumAttribute[Activation], SpacedOpaqueSyntaxAttribute):
    """``#nn<activation relu>``; in the custom syntax of `nn.fused_dense` just ``activation relu``."""

    name = "nn.activation"


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


def _verify_dense_shapes(
    op: Operation, input: SSAValue, weight: SSAValue, bias: SSAValue | None, result: SSAValue
) -> None:
    """Shared shape rules of nn.dense and nn.fused_dense: [B, K] x [N, K] (+ [N]) -> [B, N]."""
    in_shape, w_shape, out_shape = _shape(input), _shape(weight), _shape(result)
    if len(in_shape) != 2:
        raise VerifyException(f"'{op.name}' expects a 2-D input [batch, features], got shape {list(in_shape)}")
    if len(w_shape) != 2:
        raise VerifyException(
            f"'{op.name}' expects a 2-D weight [out_features, in_features], got shape {list(w_shape)}"
        )
    if in_shape[1] != w_shape[1]:
        raise VerifyException(
            f"'{op.name}' input has {in_shape[1]} features but the weight expects {w_shape[1]} "
            f"(weight shape {list(w_shape)})"
        )
    if bias is not None and _shape(bias) != (w_shape[0],):
        raise VerifyException(f"'{op.name}' bias must have shape [{w_shape[0]}], got {list(_shape(bias))}")
    if out_shape != (in_shape[0], w_shape[0]):
        raise VerifyException(f"'{op.name}' result must have shape {[in_shape[0], w_shape[0]]}, got {list(out_shape)}")


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
    """Add a bias vector along the last axis."""

    name = "nn.bias_add"

    T: ClassVar = _SameTensor
    input = operand_def(T)
    bias = operand_def(FloatTensor)
    result = result_def(T)

    traits = traits_def(Pure())
    assembly_format = "$input `,` $bias attr-dict `:` functional-type(operands, results)"

    def __init__(self, input: SSAValue | Operation, bias: SSAValue | Operation) -> None:
        super().__init__(operands=[input, bias], result_types=[SSAValue.get(input).type])

    def verify_(self) -> None:
        in_shape = _shape(self.input)
        if _shape(self.bias) != (in_shape[-1],):
            raise VerifyException(
                f"'nn.bias_add' bias must have shape [{in_shape[-1]}] to match the input's last axis, "
                f"got {list(_shape(self.bias))}"
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
        if prod(in_type.get_shape()) != prod(out_type.get_shape()):
            raise VerifyException(
                f"'{self.name}' cannot change the element count: {list(in_type.get_shape())} has "
                f"{prod(in_type.get_shape())} elements, {list(out_type.get_shape())} has {prod(out_type.get_shape())}"
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
                f"'nn.batch_flatten' must produce [{in_shape[0] if in_shape else '?'}, {prod(in_shape[1:])}], got {list(out_shape)}"
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


NN = Dialect(
    "nn",
    [DenseOp, BiasAddOp, ReluOp, BatchFlattenOp, ReshapeOp, SoftmaxOp, FusedDenseOp],
    [ActivationAttr],
)
