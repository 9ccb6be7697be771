"""The `quant` dialect: the calibrated integer graph between `nn` and `spikecore`.

Values carry their scale in the type, in the spirit of MLIR's quant dialect:
``tensor<1x64x!quant.uniform<i8:f32, 0.0123>>`` is an int8 tensor whose real value is
``stored * 0.0123``; ``!quant.uniform<i8:f32:0, {0.1, 0.2}>`` has one scale per index of axis 0
(per-output-channel weights). Quantization is symmetric, so there is no zero point. The integer
semantics of every op are those of the SpikeCore ISA (docs/isa.md), described in
docs/quantization.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    I64,
    AnyFloat,
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatData,
    IntAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
    f32,
    i32,
    i64,
)
from xdsl.ir import Attribute, Dialect, Operation, ParametrizedAttribute, SSAValue, TypeAttribute
from xdsl.irdl import (
    BaseAttr,
    IRDLOperation,
    VarConstraint,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.parser import AttrParser
from xdsl.pattern_rewriter import RewritePattern
from xdsl.printer import Printer
from xdsl.traits import ConstantLike, HasCanonicalizationPatternsTrait, Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa

from spikeir.dialects import nn


def format_float(value: float) -> str:
    """Shortest text that parses back to exactly ``value`` and always lexes as a float."""
    text = repr(float(value))
    if "e" in text and "." not in text:
        text = text.replace("e", ".0e")
    elif "." not in text and "e" not in text and text not in ("inf", "-inf", "nan"):
        text += ".0"
    return text


@irdl_attr_definition
class UniformQuantizedType(ParametrizedAttribute, TypeAttribute):
    """``!quant.uniform<i8:f32, 0.0123>`` (per tensor) or ``!quant.uniform<i8:f32:0, {s0, s1}>`` (per axis)."""

    name = "quant.uniform"

    storage_type: IntegerType
    expressed_type: AnyFloat
    axis: IntAttr
    """-1 for one scale per tensor, else the axis along which scales vary."""
    scales: ArrayAttr[FloatData]

    def __init__(
        self, storage_type: IntegerType, expressed_type: AnyFloat, scales: Sequence[float], axis: int = -1
    ) -> None:
        super().__init__(storage_type, expressed_type, IntAttr(axis), ArrayAttr([FloatData(float(s)) for s in scales]))

    @property
    def scale_values(self) -> tuple[float, ...]:
        return tuple(s.data for s in self.scales.data)

    @property
    def is_per_axis(self) -> bool:
        return self.axis.data >= 0

    @property
    def bits(self) -> int:
        return self.storage_type.width.data

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_attribute(self.storage_type)
            printer.print_string(":")
            printer.print_attribute(self.expressed_type)
            if self.is_per_axis:
                printer.print_string(f":{self.axis.data}, {{")
                printer.print_string(", ".join(format_float(s) for s in self.scale_values))
                printer.print_string("}")
            else:
                printer.print_string(f", {format_float(self.scale_values[0])}")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> tuple[IntegerType, AnyFloat, IntAttr, ArrayAttr[FloatData]]:
        with parser.in_angle_brackets():
            storage = parser.parse_type()
            parser.parse_punctuation(":")
            expressed = parser.parse_type()
            axis = -1
            if parser.parse_optional_punctuation(":") is not None:
                axis = parser.parse_integer(allow_negative=False, allow_boolean=False)
            parser.parse_punctuation(",")
            if axis >= 0:
                scales = parser.parse_comma_separated_list(parser.Delimiter.BRACES, parser.parse_float)
            else:
                scales = [parser.parse_float()]
        if not isa(storage, IntegerType):
            parser.raise_error(f"quant.uniform storage type must be an integer type, got {storage}")
        if not isinstance(expressed, AnyFloat):
            parser.raise_error(f"quant.uniform expressed type must be a float type, got {expressed}")
        return storage, expressed, IntAttr(axis), ArrayAttr([FloatData(s) for s in scales])

    def verify(self) -> None:
        if self.storage_type.width.data not in (8, 32):
            raise VerifyException(f"quant.uniform storage must be i8 or i32, got {self.storage_type}")
        scales = self.scale_values
        if not scales:
            raise VerifyException("quant.uniform needs at least one scale")
        if not self.is_per_axis and len(scales) != 1:
            raise VerifyException(f"a per-tensor quant.uniform has one scale, got {len(scales)}")
        for s in scales:
            if not (math.isfinite(s) and s > 0):
                raise VerifyException(f"quant.uniform scales must be finite and positive, got {s}")


QTensor = TensorType[UniformQuantizedType]


def quantized_element(value: SSAValue) -> UniformQuantizedType:
    typ = value.type
    assert isa(typ, TensorType[Attribute]) and isinstance(typ.element_type, UniformQuantizedType)
    return typ.element_type


def _shape(value: SSAValue) -> tuple[int, ...]:
    typ = value.type
    assert isinstance(typ, TensorType)
    return typ.get_shape()


def _check_storage(op: Operation, value: SSAValue, bits: int, what: str) -> UniformQuantizedType:
    qtype = quantized_element(value)
    if qtype.bits != bits:
        raise VerifyException(f"'{op.name}' {what} must be stored as i{bits}, got {qtype.storage_type}")
    return qtype


def _check_axis_scales(op: Operation, value: SSAValue, what: str) -> None:
    qtype = quantized_element(value)
    if qtype.is_per_axis:
        shape = _shape(value)
        if qtype.axis.data >= len(shape):
            raise VerifyException(f"'{op.name}' {what}: quantization axis {qtype.axis.data} exceeds rank {len(shape)}")
        if len(qtype.scale_values) != shape[qtype.axis.data]:
            raise VerifyException(
                f"'{op.name}' {what}: {len(qtype.scale_values)} scales for axis {qtype.axis.data} of size {shape[qtype.axis.data]}"
            )


def _same_scales(a: Sequence[float], b: Sequence[float], rel: float = 1e-6) -> bool:
    return len(a) == len(b) and all(math.isclose(x, y, rel_tol=rel) for x, y in zip(a, b))


class _QuantizeCanonicalization(HasCanonicalizationPatternsTrait):
    """`canonicalize` folds a quantize of a dequantize back to the same int8 type."""

    @classmethod
    def get_canonicalization_patterns(cls) -> tuple[RewritePattern, ...]:
        from spikeir.dialects.canonicalization import FoldDequantizeQuantize

        return (FoldDequantizeQuantize(),)


@irdl_op_definition
class QuantizeOp(IRDLOperation):
    """Float to int8: ``clamp(round_half_even(x / scale), -128, 127)``. Runs on the host."""

    name = "quant.quantize"

    input = operand_def(TensorType[AnyFloat])
    result = result_def(QTensor)

    traits = traits_def(Pure(), _QuantizeCanonicalization())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue | Operation, result_type: TensorType) -> None:
        super().__init__(operands=[input], result_types=[result_type])

    def verify_(self) -> None:
        _check_storage(self, self.result, 8, "result")
        if _shape(self.input) != _shape(self.result):
            raise VerifyException("'quant.quantize' must keep the shape")
        if quantized_element(self.result).is_per_axis:
            raise VerifyException("'quant.quantize' activations use one scale per tensor")


@irdl_op_definition
class DequantizeOp(IRDLOperation):
    """Integer to float: ``stored * scale``. Runs on the host."""

    name = "quant.dequantize"

    input = operand_def(QTensor)
    result = result_def(TensorType[AnyFloat])

    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue | Operation, result_type: TensorType) -> None:
        super().__init__(operands=[input], result_types=[result_type])

    def verify_(self) -> None:
        if _shape(self.input) != _shape(self.result):
            raise VerifyException("'quant.dequantize' must keep the shape")


@irdl_op_definition
class ConstantOp(IRDLOperation):
    """Quantized weights or biases: integer storage in ``value``, scales in the result type."""

    name = "quant.constant"

    # Declared as any attribute so the custom syntax prints the whole `dense<...> : tensor<...>`.
    value = prop_def(Attribute)
    result = result_def(QTensor)

    traits = traits_def(Pure(), ConstantLike())
    assembly_format = "$value attr-dict `->` type($result)"

    def __init__(self, value: DenseIntOrFPElementsAttr, result_type: TensorType) -> None:
        super().__init__(properties={"value": value}, result_types=[result_type])

    @property
    def dense(self) -> DenseIntOrFPElementsAttr:
        assert isa(self.value, DenseIntOrFPElementsAttr)
        return self.value

    def verify_(self) -> None:
        if not isa(self.value, DenseIntOrFPElementsAttr):
            raise VerifyException(f"'quant.constant' value must be a dense elements attribute, got {self.value}")
        qtype = quantized_element(self.result)
        element = self.value.get_element_type()
        if not isinstance(element, IntegerType) or element.width != qtype.storage_type.width:
            raise VerifyException(f"'quant.constant' value must be stored as {qtype.storage_type}, got {element}")
        if self.value.get_shape() != _shape(self.result):
            raise VerifyException(
                f"'quant.constant' value shape {list(self.value.get_shape())} differs from result shape {list(_shape(self.result))}"
            )
        _check_axis_scales(self, self.result, "result")


def _check_accumulator_scales(
    op: Operation, x: UniformQuantizedType, w: UniformQuantizedType, b: UniformQuantizedType, r: UniformQuantizedType
) -> None:
    """Input per tensor, weight per tensor or per output channel (axis 0), and bias and result at
    input scale x weight scale: the rules of every layer that accumulates int8 x int8 into int32."""
    if x.is_per_axis:
        raise VerifyException(f"'{op.name}' input must have one scale per tensor")
    if w.is_per_axis and w.axis.data != 0:
        raise VerifyException(f"'{op.name}' weight scales must vary along axis 0 (output channels)")
    expected = [x.scale_values[0] * s for s in w.scale_values]
    for name, qtype in (("bias", b), ("result", r)):
        if not _same_scales(qtype.scale_values, expected):
            raise VerifyException(
                f"'{op.name}' {name} scale must be input scale x weight scale "
                f"({format_float(expected[0])}{', ...' if len(expected) > 1 else ''}), got {format_float(qtype.scale_values[0])}"
            )


@irdl_op_definition
class DenseOp(IRDLOperation):
    """int8 x int8 -> int32 fully connected layer with an int32 bias: the ACC of a layer.

    ``result = sat32(input @ weight^T + bias)``, the sum exact; the result scale is input scale x
    weight scale (per output channel when the weight is per-axis), and the bias must have that same
    scale. The chip saturates after each ACC, so lower-quant-to-spikecore refuses a layer whose
    synaptic sum could leave int32 before the bias (``sum |w| * 128 > 2^31 - 1``), where the two differ.
    """

    name = "quant.dense"

    input = operand_def(QTensor)
    weight = operand_def(QTensor)
    bias = operand_def(QTensor)
    layer = opt_prop_def(StringAttr)
    result = result_def(QTensor)

    traits = traits_def(Pure())
    assembly_format = "$input `,` $weight `,` $bias (`layer` $layer^)? attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        input: SSAValue | Operation,
        weight: SSAValue | Operation,
        bias: SSAValue | Operation,
        result_type: TensorType,
        layer: str | None = None,
    ) -> None:
        props = {} if layer is None else {"layer": StringAttr(layer)}
        super().__init__(operands=[input, weight, bias], result_types=[result_type], properties=props)

    def verify_(self) -> None:
        x = _check_storage(self, self.input, 8, "input")
        w = _check_storage(self, self.weight, 8, "weight")
        b = _check_storage(self, self.bias, 32, "bias")
        r = _check_storage(self, self.result, 32, "result")
        in_shape, w_shape, b_shape, out_shape = (_shape(v) for v in (self.input, self.weight, self.bias, self.result))
        if len(in_shape) != 2 or len(w_shape) != 2 or in_shape[1] != w_shape[1]:
            raise VerifyException(
                f"'quant.dense' expects input [B, K] and weight [N, K], got {list(in_shape)} and {list(w_shape)}"
            )
        if b_shape != (w_shape[0],) or out_shape != (in_shape[0], w_shape[0]):
            raise VerifyException(
                f"'quant.dense' expects bias [{w_shape[0]}] and result [{in_shape[0]}, {w_shape[0]}], "
                f"got {list(b_shape)} and {list(out_shape)}"
            )
        _check_axis_scales(self, self.weight, "weight")
        _check_accumulator_scales(self, x, w, b, r)


@irdl_op_definition
class RequantizeOp(IRDLOperation):
    """int32 -> int8 with an integer multiplier and shift, as graded FIRE executes it.

    ``y = clamp((acc * multiplier[n] + 2^(shift-1)) >> shift, -128, 127)``, one multiplier per
    output channel (or a single one), so that ``multiplier / 2^shift`` approximates
    ``acc_scale[n] / result_scale``. The channels are axis 1: a dense layer's features, a conv's
    channels.
    """

    name = "quant.requantize"

    input = operand_def(QTensor)
    # Declared as any attribute so the custom syntax prints `array<i32: ...>` in full.
    multiplier = prop_def(Attribute)
    shift = prop_def(IntegerAttr[I64])
    result = result_def(QTensor)

    traits = traits_def(Pure())
    assembly_format = "$input `multiplier` $multiplier `shift` $shift attr-dict `:` type($input) `->` type($result)"

    def __init__(
        self, input: SSAValue | Operation, multiplier: Sequence[int], shift: int, result_type: TensorType
    ) -> None:
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties={
                "multiplier": DenseArrayBase.from_list(i32, list(multiplier)),
                "shift": IntegerAttr(shift, i64),
            },
        )

    @property
    def multipliers(self) -> tuple[int, ...]:
        assert isa(self.multiplier, DenseArrayBase[IntegerType])
        return tuple(int(v) for v in self.multiplier.get_values())

    @property
    def channel_axis(self) -> int:
        """The axis the multipliers run along: 1, the features of [B, N] and the channels of [B, C, H, W]."""
        return min(1, len(_shape(self.input)) - 1)

    def verify_(self) -> None:
        if not isa(self.multiplier, DenseArrayBase) or self.multiplier.elt_type != i32:
            raise VerifyException(f"'quant.requantize' multiplier must be an array<i32: ...>, got {self.multiplier}")
        acc = _check_storage(self, self.input, 32, "input")
        out = _check_storage(self, self.result, 8, "result")
        if out.is_per_axis:
            raise VerifyException("'quant.requantize' result must have one scale per tensor")
        if _shape(self.input) != _shape(self.result):
            raise VerifyException("'quant.requantize' must keep the shape")
        channels = _shape(self.input)[self.channel_axis]
        count = len(self.multipliers)
        if count not in (1, channels):
            raise VerifyException(f"'quant.requantize' needs 1 or {channels} multipliers, got {count}")
        if acc.is_per_axis and count != channels:
            raise VerifyException("'quant.requantize' of a per-channel accumulator needs one multiplier per channel")
        shift = self.shift.value.data
        if not 0 <= shift <= 62:
            raise VerifyException(f"'quant.requantize' shift must be in 0..62, got {shift}")


@irdl_op_definition
class ReluOp(IRDLOperation):
    """ReLU on int8: ``max(x, 0)`` (scale unchanged)."""

    name = "quant.relu"

    T: ClassVar = VarConstraint("T", BaseAttr(TensorType))
    input = operand_def(T)
    result = result_def(T)

    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input)"

    def __init__(self, input: SSAValue | Operation) -> None:
        super().__init__(operands=[input], result_types=[SSAValue.get(input).type])

    def verify_(self) -> None:
        _check_storage(self, self.input, 8, "input")


@irdl_op_definition
class Conv2dOp(nn.ConvProperties):
    """int8 x int8 -> int32 2-D convolution with an int32 bias per output channel: a conv ACC and its
    bias ACC. NCHW input, OIHW weight; the result scale is input scale x weight scale, per output
    channel (axis 1 of the result) when the weight is per-axis, and the bias has that scale."""

    name = "quant.conv2d"

    input = operand_def(QTensor)
    weight = operand_def(QTensor)
    bias = operand_def(QTensor)
    result = result_def(QTensor)

    traits = traits_def(Pure())
    assembly_format = (
        "$input `,` $weight `,` $bias (`strides` $strides^)? (`padding` $padding^)? (`dilation` $dilation^)? "
        "(`groups` $groups^)? (`layer` $layer^)? attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        input: SSAValue | Operation,
        weight: SSAValue | Operation,
        bias: SSAValue | Operation,
        result_type: TensorType,
        params: nn.ConvParams,
        layer: str | None = None,
    ) -> None:
        props: dict[str, Attribute] = {
            "strides": DenseArrayBase.from_list(i64, list(params.stride)),
            "padding": DenseArrayBase.from_list(i64, list(params.padding)),
            "dilation": DenseArrayBase.from_list(i64, list(params.dilation)),
            "groups": IntegerAttr(params.groups, i64),
        }
        if layer is not None:
            props["layer"] = StringAttr(layer)
        super().__init__(operands=[input, weight, bias], result_types=[result_type], properties=props)

    def verify_(self) -> None:
        x = _check_storage(self, self.input, 8, "input")
        w = _check_storage(self, self.weight, 8, "weight")
        b = _check_storage(self, self.bias, 32, "bias")
        r = _check_storage(self, self.result, 32, "result")
        self.verify_conv(self.input, self.weight, self.bias, self.result)
        _check_axis_scales(self, self.weight, "weight")
        if r.is_per_axis and r.axis.data != 1:
            raise VerifyException("'quant.conv2d' result scales must vary along axis 1 (channels)")
        _check_accumulator_scales(self, x, w, b, r)


@irdl_op_definition
class Pool2dOp(IRDLOperation):
    """int8 -> int32 window sums of an NCHW map (zero padding): sum pooling, or average pooling whose
    division by the window is carried by the result scale (input scale / (kh * kw)), so the int32 sum
    is exact and the requantization after it divides. Max pooling has no integer form on SpikeCore."""

    name = "quant.pool2d"

    input = operand_def(QTensor)
    kind = prop_def(nn.PoolKindAttr)
    kernel = prop_def(DenseArrayBase.constr(i64))
    strides = prop_def(DenseArrayBase.constr(i64))
    padding = prop_def(DenseArrayBase.constr(i64), default_value=DenseArrayBase.from_list(i64, [0, 0]))
    layer = opt_prop_def(StringAttr)
    result = result_def(QTensor)

    traits = traits_def(Pure())
    assembly_format = (
        "$kind $input `kernel` $kernel `strides` $strides (`padding` $padding^)? (`layer` $layer^)? attr-dict "
        "`:` type($input) `->` type($result)"
    )

    def __init__(
        self,
        input: SSAValue | Operation,
        kind: nn.PoolKind | str,
        window: tuple[tuple[int, int], tuple[int, int], tuple[int, int]],
        result_type: TensorType,
        layer: str | None = None,
    ) -> None:
        kernel, stride, padding = window
        props: dict[str, Attribute] = {
            "kind": nn.PoolKindAttr(nn.PoolKind(kind)),
            "kernel": DenseArrayBase.from_list(i64, list(kernel)),
            "strides": DenseArrayBase.from_list(i64, list(stride)),
            "padding": DenseArrayBase.from_list(i64, list(padding)),
        }
        if layer is not None:
            props["layer"] = StringAttr(layer)
        super().__init__(operands=[input], result_types=[result_type], properties=props)

    @property
    def window(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        """(kernel, stride, padding) as (h, w) pairs."""
        values = [tuple(int(v) for v in a.get_values()) for a in (self.kernel, self.strides, self.padding)]
        for name, pair in zip(("kernel", "strides", "padding"), values):
            if len(pair) != 2:
                raise VerifyException(f"'quant.pool2d' {name} must be two integers ([h, w]), got {list(pair)}")
        (kh, kw), (sh, sw), (ph, pw) = values
        return (kh, kw), (sh, sw), (ph, pw)

    def verify_(self) -> None:
        x = _check_storage(self, self.input, 8, "input")
        r = _check_storage(self, self.result, 32, "result")
        kind = self.kind.data
        if kind == nn.PoolKind.MAX:
            raise VerifyException(
                "'quant.pool2d' cannot take a maximum (SpikeCore accumulates sums): use average or sum pooling"
            )
        (kh, kw), stride, padding = self.window
        in_shape, out_shape = _shape(self.input), _shape(self.result)
        if len(in_shape) != 4:
            raise VerifyException(f"'quant.pool2d' expects a 4-D NCHW input, got shape {list(in_shape)}")
        expected_shape = [
            in_shape[0],
            in_shape[1],
            nn.window_out_size(in_shape[2], kh, stride[0], padding[0]),
            nn.window_out_size(in_shape[3], kw, stride[1], padding[1]),
        ]
        if list(out_shape) != expected_shape:
            raise VerifyException(f"'quant.pool2d' result must have shape {expected_shape}, got {list(out_shape)}")
        if x.is_per_axis or r.is_per_axis:
            raise VerifyException("'quant.pool2d' input and result have one scale per tensor")
        expected = x.scale_values[0] / (kh * kw if kind == nn.PoolKind.AVG else 1)
        if not _same_scales(r.scale_values, [expected]):
            raise VerifyException(
                f"'quant.pool2d' {kind} result scale must be {format_float(expected)} (the input scale"
                f"{' / window' if kind == nn.PoolKind.AVG else ''}), got {format_float(r.scale_values[0])}"
            )


@irdl_op_definition
class AddOp(IRDLOperation):
    """int8 + int8 -> int32 of two tensors with the same scale (spikecore-quantize gives both inputs of
    an add one scale), exact; the requantization after it rescales the sum."""

    name = "quant.add"

    T: ClassVar = VarConstraint("T", BaseAttr(TensorType))
    lhs = operand_def(T)
    rhs = operand_def(T)
    result = result_def(QTensor)

    traits = traits_def(Pure())
    assembly_format = "$lhs `,` $rhs attr-dict `:` type($lhs) `->` type($result)"

    def __init__(self, lhs: SSAValue | Operation, rhs: SSAValue | Operation, result_type: TensorType) -> None:
        super().__init__(operands=[lhs, rhs], result_types=[result_type])

    def verify_(self) -> None:
        x = _check_storage(self, self.lhs, 8, "inputs")
        r = _check_storage(self, self.result, 32, "result")
        if x.is_per_axis or r.is_per_axis:
            raise VerifyException("'quant.add' inputs and result have one scale per tensor")
        if _shape(self.lhs) != _shape(self.result):
            raise VerifyException("'quant.add' must keep the shape")
        if not _same_scales(r.scale_values, x.scale_values):
            raise VerifyException(
                f"'quant.add' result scale must be the inputs' {format_float(x.scale_values[0])}, "
                f"got {format_float(r.scale_values[0])}"
            )


@irdl_op_definition
class ReshapeOp(IRDLOperation):
    """A shape change of an int8 tensor (a flatten between a conv and a dense layer): same element
    type and count. On SpikeCore it is free: a map is laid out C-major on the bus, as flattened."""

    name = "quant.reshape"

    input = operand_def(QTensor)
    result = result_def(QTensor)

    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue | Operation, result_type: TensorType) -> None:
        super().__init__(operands=[input], result_types=[result_type])

    def verify_(self) -> None:
        x = _check_storage(self, self.input, 8, "input")
        if x != quantized_element(self.result):
            raise VerifyException("'quant.reshape' must keep the element type")
        if x.is_per_axis:
            raise VerifyException("'quant.reshape' input must have one scale per tensor")
        if math.prod(_shape(self.input)) != math.prod(_shape(self.result)):
            raise VerifyException(
                f"'quant.reshape' cannot change the element count: {list(_shape(self.input))} -> {list(_shape(self.result))}"
            )


def uniform_tensor(shape: Sequence[int], bits: int, scales: Sequence[float], axis: int = -1) -> TensorType[Attribute]:
    """``tensor<shape x !quant.uniform<i{bits}:f32, scales>>``."""
    return TensorType(UniformQuantizedType(IntegerType(bits), f32, scales, axis), shape)


QUANT = Dialect(
    "quant",
    [QuantizeOp, DequantizeOp, ConstantOp, DenseOp, RequantizeOp, ReluOp, Conv2dOp, Pool2dOp, AddOp, ReshapeOp],
    [UniformQuantizedType],
)
