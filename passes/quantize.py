"""spikecore-quantize: calibrate the SpikeCore regions on sample inputs and rewrite them into int8 `quant` IR.

Every function marked ``codegen = "spikecore"`` (a region of fused dense/conv layers, poolings, adds
and flattens, docs/pipeline.md section 3) becomes the integer graph of section 4. Calibration comes
first: `@main` runs in float on the calibration inputs with the numpy interpreter, which gives each
region's input and every value inside it; their ranges (max or a percentile of ``|x|``) fix every
activation scale. Values that must share one scale do: **both inputs of an add** (and a shape change's
two sides, an add and the ReLU after it) form one class whose scale comes from the largest range of
its members, so an add is an exact int8 + int8 sum in int32, requantized to the add's own output
scale like any layer. Then small patterns rewrite each region:

- `QuantizeLayer`: `nn.fused_dense` / `nn.fused_conv2d` become ``quant.quantize`` of the input, int8
  weight (per output channel with ``per-channel``) and int32 bias constants, ``quant.dense`` /
  ``quant.conv2d``, ``quant.requantize`` (+ ``quant.relu``) and a ``quant.dequantize`` back to float
  (the region's output keeps its int32 accumulator, dequantized);
- `QuantizeRescale`: `nn.pool2d` (avg/sum) becomes ``quant.pool2d`` (window sums; an average's
  1/window is in the sum's scale, applied by the requantization) and `nn.add` ``quant.add``, each
  requantized; a ReLU after an add becomes its ``quant.relu``;
- `QuantizeShapeChange`: a flatten becomes ``quant.reshape`` of the int8 value;
- `FoldDequantizeQuantize`: ``quant.quantize(quant.dequantize(x))`` with the same int8 type is ``x``,
  which joins consecutive ops into one integer graph (quant.quantize's canonicalization pattern).

A region already quantized (nothing but quant ops left) is left as it is, so running the pass again
changes nothing.

The numerics are in :mod:`spikeir.numerics.quantization`; docs/quantization.md explains the scheme and its error.
From Python, :func:`quantize_module` does the same work with an in-memory calibration array.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray
from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, ModuleOp, StringAttr, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.utils.hints import isa

from spikeir.dialects import nn, quant
from spikeir.dialects.canonicalization import FoldDequantizeQuantize
from spikeir.errors import DataError, InterpreterError, QuantizationError
from spikeir.fileio import read_npy
from spikeir.ir.arrays import dense_attr, shape_of, to_numpy
from spikeir.ir.interpreter import Interpreter, Trace
from spikeir.numerics.quantization import (
    METHODS,
    activation_range,
    finite_array,
    manual_quantize_weights,
    quantize_bias,
    requantize_multiplier,
    scale_from_range,
)
from spikeir.options import Method, check_option_types
from spikeir.passes.diagnostics import nothing_to_do, pass_errors
from spikeir.passes.partition_for_spikecore import is_codegen_func

PASS_NAME = "spikecore-quantize"


@dataclass(frozen=True)
class LayerQuantization:
    """What quantization chose for one layer (for reports and tests)."""

    function: str
    layer: str
    activation: str
    input_range: float
    input_scale: float
    weight_scales: tuple[float, ...]
    """One scale, or one per output channel."""
    output_range: float | None
    """Calibrated range after the layer; None for a region's last layer (kept in int32)."""
    output_scale: float | None
    multipliers: tuple[int, ...]
    shift: int | None
    weights: NDArray[np.int8]
    bias: NDArray[np.int32]

    @property
    def accumulator_scales(self) -> tuple[float, ...]:
        return tuple(self.input_scale * s for s in self.weight_scales)


_Layer = nn.FusedDenseOp | nn.FusedConv2dOp
_Shape = nn.BatchFlattenOp | nn.ReshapeOp
_RegionOp = nn.FusedDenseOp | nn.FusedConv2dOp | nn.Pool2dOp | nn.AddOp | nn.ReluOp | nn.BatchFlattenOp | nn.ReshapeOp
_REGION_OPS = (
    "nn.fused_dense, nn.fused_conv2d, nn.pool2d (avg/sum), nn.add, nn.relu after an add, nn.batch_flatten, nn.reshape"
)


def _layer_name(op: Operation, function: str, index: int) -> str:
    layer = op.properties.get("layer")
    if isinstance(layer, StringAttr):
        return layer.data
    return f"@{function} layer {index}" if isinstance(op, _Layer) else f"{op.name} in @{function}"


def _constant_value(value: SSAValue, what: str, where: str, op_name: str) -> NDArray[np.float64]:
    producer = value.owner
    if not isinstance(producer, arith.ConstantOp) or not isinstance(producer.value, DenseIntOrFPElementsAttr):
        source = "a function argument" if not isinstance(producer, Operation) else f"produced by '{producer.name}'"
        raise QuantizationError(
            f"the {what} of {op_name} is {source}, not a constant: bind the parameters before quantizing", where
        )
    try:
        return to_numpy(producer.value).astype(np.float64)
    except InterpreterError as error:
        raise QuantizationError(f"the {what} of {op_name}: {error.message}", where) from None


def _check_region_op(op: Operation, known: set[SSAValue], name: str, index: int) -> None:
    """One op of a region: an op SpikeCore runs, reading values of the region, with constant weights."""
    where = _layer_name(op, name, index)
    if not isinstance(op, _RegionOp) or (isinstance(op, nn.Pool2dOp) and op.kind.data == nn.PoolKind.MAX):
        raise QuantizationError(
            f"@{name} may hold only {_REGION_OPS} (as partition-for-spikecore outlines them); '{op.name}' is not one",
            where,
        )
    if isinstance(op, nn.ReluOp) and not isinstance(op.input.owner, nn.AddOp):
        raise QuantizationError("a ReLU in a region must follow an nn.add (a layer's ReLU is its activation)", where)
    data = [op.operands[0]] if isinstance(op, _Layer) else list(op.operands)
    if any(v not in known for v in data):
        raise QuantizationError(f"'{op.name}' reads a value computed outside @{name}", where)
    if isinstance(op, _Layer):
        _constant_value(op.weight, "weight", where, op.name)
        if op.bias is not None:
            _constant_value(op.bias, "bias", where, op.name)


def _region_ops(fn: func.FuncOp) -> list[_RegionOp]:
    """The region's ops, checked to form what partition-for-spikecore outlines: one input, ops
    SpikeCore runs, and one output, the raw accumulator of a layer, pooling or add."""
    name = fn.sym_name.data
    known: set[SSAValue] = set(fn.body.block.args)
    ops: list[_RegionOp] = []
    for op in fn.body.block.ops:
        if isinstance(op, arith.ConstantOp):
            known.add(op.result)
            continue
        if isinstance(op, func.ReturnOp):
            _check_output(op, ops, name)
            break
        _check_region_op(op, known, name, len(ops))
        assert isinstance(op, _RegionOp)
        ops.append(op)
        known.update(op.results)
    if len(fn.body.block.args) != 1:
        raise QuantizationError(
            f"a SpikeCore region takes one input, @{name} takes {len(fn.body.block.args)}", f"@{name}"
        )
    return ops


def _check_output(ret: func.ReturnOp, ops: list[_RegionOp], name: str) -> None:
    output = ret.arguments[0] if len(ret.arguments) == 1 else None
    last = None if output is None else output.owner
    if not ops or not isinstance(last, _Layer | nn.Pool2dOp | nn.AddOp) or last not in ops:
        raise QuantizationError(
            f"@{name} must return one value, the accumulator of a layer, pooling or add it computes", f"@{name}"
        )
    if isinstance(last, _Layer) and last.activation.data != nn.Activation.NONE:
        raise QuantizationError(
            "a region's last layer outputs its raw accumulator and cannot apply "
            f"'{last.activation.data}' (partition-for-spikecore moves that ReLU to the host)",
            _layer_name(last, name, ops.index(last)),
        )


def prepare_calibration(main: func.FuncOp, calibration: ArrayLike) -> NDArray[np.floating]:
    """Check the calibration inputs against @main's input type; accept (N, *shape[1:]) or (N, *shape)."""
    arg_types = main.function_type.inputs.data
    if len(arg_types) != 1 or not isinstance(arg_types[0], TensorType):
        raise QuantizationError(
            f"calibration needs @main with one tensor input, it has {len(arg_types)} inputs", "@main"
        )
    shape = arg_types[0].get_shape()
    data = np.asarray(calibration)
    if not (np.issubdtype(data.dtype, np.integer) or np.issubdtype(data.dtype, np.floating)):
        raise QuantizationError(f"calibration data must be a real numeric array, got dtype {data.dtype}", "calibration")
    if data.ndim == len(shape) + 1 and data.shape[1:] == shape and shape[:1] == (1,):
        data = data.reshape((data.shape[0], *shape[1:]))
    if data.ndim != len(shape) or data.shape[1:] != shape[1:]:
        expected = "x".join(["N", *map(str, shape[1:])])
        raise QuantizationError(
            f"calibration data has shape {list(data.shape)}, but @main's input {arg_types[0]} needs {expected}",
            "calibration",
        )
    if data.shape[0] == 0:
        raise QuantizationError("calibration data holds no samples", "calibration")
    data = data.astype(np.float32, copy=False)
    if not np.all(np.isfinite(data)):
        raise QuantizationError("calibration data contains NaN or infinite values", "calibration")
    return data


def load_calibration(path: str | Path) -> NDArray[np.generic]:
    """A .npy array of model inputs, read bounded and without pickle by `read_npy` (a huge header or a
    text file is a DataError before any allocation; `prepare_calibration` checks the values)."""
    try:
        return read_npy(path, "calibration data")
    except DataError as error:
        detail = error.message.removeprefix("cannot read the calibration data: ")
        raise DataError(f"cannot read calibration data: {detail}", str(path)) from None


def _collect_region_values(trace: Trace, regions: set[str], found: dict[str, list[Trace]]) -> None:
    for _, callee in trace.calls:
        if callee.function in regions:
            found.setdefault(callee.function, []).append(callee)
        _collect_region_values(callee, regions, found)


def _observed(traces: Sequence[Trace], value: SSAValue) -> NDArray[np.generic]:
    return np.concatenate([t.values[value] for t in traces]) if len(traces) > 1 else traces[0].values[value]


@dataclass(frozen=True)
class Rescale:
    """What quantization chose for a pooling or an add: its int32 sum's scale and the requantization
    to its output scale (None for a region's output, kept in int32)."""

    input_scale: float
    accumulator_scale: float
    output_scale: float | None
    multipliers: tuple[int, ...]
    shift: int | None


class _ScaleClasses:
    """Values that must share one int8 scale (both inputs of an add, the two sides of a shape change,
    an add and the ReLU after it), as a union-find; each class takes the largest calibrated range of
    its members, so no member is clipped more than its own calibration allows."""

    def __init__(self) -> None:
        self.parent: dict[SSAValue, SSAValue] = {}

    def find(self, value: SSAValue) -> SSAValue:
        root = self.parent.setdefault(value, value)
        if root is not value:
            root = self.parent[value] = self.find(root)
        return root

    def union(self, a: SSAValue, b: SSAValue) -> None:
        self.parent[self.find(a)] = self.find(b)


def _scale_classes(ops: Sequence[_RegionOp]) -> _ScaleClasses:
    classes = _ScaleClasses()
    for op in ops:
        if isinstance(op, nn.AddOp):
            classes.union(op.lhs, op.rhs)
        elif isinstance(op, nn.ReluOp | nn.BatchFlattenOp | nn.ReshapeOp):
            classes.union(op.input, op.result)
    return classes


@dataclass
class _RegionPlanner:
    """Chooses every scale of one region from its calibration traces."""

    fn: func.FuncOp
    traces: Sequence[Trace]
    per_channel: bool
    method: str
    percentile: float

    def __post_init__(self) -> None:
        self.name = self.fn.sym_name.data
        self.ops = _region_ops(self.fn)
        returned = self.fn.body.block.last_op
        assert isinstance(returned, func.ReturnOp)
        self.output = returned.arguments[0]
        self.classes = _scale_classes(self.ops)
        self._check_parameters()
        self.ranges: dict[SSAValue, float] = {}
        values = [self.fn.body.block.args[0], *(r for op in self.ops for r in op.results if r is not self.output)]
        for value in values:
            observed = activation_range(_observed(self.traces, value), self.method, self.percentile, self._where(value))
            root = self.classes.find(value)
            self.ranges[root] = max(self.ranges.get(root, 0.0), observed)

    def _check_parameters(self) -> None:
        """A NaN or infinite weight or bias is named as the cause, before the NaN activations it makes."""
        for index, op in enumerate(self.ops):
            if isinstance(op, _Layer):
                where = _layer_name(op, self.name, index)
                finite_array(_constant_value(op.weight, "weight", where, op.name), "weights", where)
                if op.bias is not None:
                    finite_array(_constant_value(op.bias, "bias", where, op.name), "biases", where)

    def _where(self, value: SSAValue) -> str:
        owner = value.owner
        return _layer_name(owner, self.name, 0) if isinstance(owner, Operation) else f"@{self.name} input"

    def range_of(self, value: SSAValue) -> float:
        return self.ranges[self.classes.find(value)]

    def scale_of(self, value: SSAValue) -> float:
        return float(scale_from_range(self.range_of(value)))

    def plan(self) -> dict[Operation, LayerQuantization | Rescale]:
        plans: dict[Operation, LayerQuantization | Rescale] = {}
        for index, op in enumerate(self.ops):
            where = _layer_name(op, self.name, index)
            if isinstance(op, _Layer):
                plans[op] = self._layer(op, where)
            elif isinstance(op, nn.Pool2dOp | nn.AddOp):
                plans[op] = self._rescale(op, where)
        return plans

    def _requantization(
        self, op: Operation, acc_scales: NDArray[np.float64], where: str
    ) -> tuple[float | None, tuple[int, ...], int | None]:
        if op.results[0] is self.output:
            return None, (), None
        out_scale = self.scale_of(op.results[0])
        m, shift = requantize_multiplier(acc_scales / out_scale, where)
        return out_scale, tuple(int(v) for v in np.atleast_1d(m)), shift

    def _layer(self, op: nn.FusedDenseOp | nn.FusedConv2dOp, where: str) -> LayerQuantization:
        last = op.result is self.output
        in_scale = self.scale_of(op.input)
        weight = _constant_value(op.weight, "weight", where, op.name)
        w_q, w_scale, _ = manual_quantize_weights(weight, per_channel=self.per_channel and not last, location=where)
        w_scales = np.atleast_1d(np.asarray(w_scale, dtype=np.float64))
        bias = np.zeros(weight.shape[0]) if op.bias is None else _constant_value(op.bias, "bias", where, op.name)
        b_q = quantize_bias(bias, in_scale, w_scales if w_scales.size > 1 else w_scales[0], where)
        out_scale, multipliers, shift = self._requantization(op, in_scale * w_scales, where)
        return LayerQuantization(
            function=self.name,
            layer=where,
            activation=op.activation.data.value,
            input_range=self.range_of(op.input),
            input_scale=in_scale,
            weight_scales=tuple(float(s) for s in w_scales),
            output_range=None if last else self.range_of(op.result),
            output_scale=out_scale,
            multipliers=multipliers,
            shift=shift,
            weights=w_q,
            bias=b_q,
        )

    def _rescale(self, op: nn.Pool2dOp | nn.AddOp, where: str) -> Rescale:
        source = op.input if isinstance(op, nn.Pool2dOp) else op.lhs
        in_scale = self.scale_of(source)
        acc_scale = in_scale
        if isinstance(op, nn.Pool2dOp) and op.kind.data == nn.PoolKind.AVG:
            (kh, kw), _, _ = op.window
            acc_scale = in_scale / (kh * kw)
        out_scale, multipliers, shift = self._requantization(op, np.array([acc_scale]), where)
        return Rescale(in_scale, acc_scale, out_scale, multipliers, shift)


def _finish(
    op: Operation,
    acc: SSAValue,
    scale: float | None,
    multipliers: tuple[int, ...],
    shift: int | None,
    relu: bool,
    new_ops: list[Operation],
) -> list[Operation]:
    """``new_ops`` (ending in the int32 ``acc``) + requantize (+ relu) + dequantize back to ``op``'s type.
    The last layer keeps its int32 accumulator, dequantized."""
    out_type = op.results[0].type
    assert isa(out_type, TensorType[Attribute])
    result = acc
    if scale is not None and shift is not None:
        requant = quant.RequantizeOp(result, multipliers, shift, quant.uniform_tensor(out_type.get_shape(), 8, [scale]))
        new_ops.append(requant)
        result = requant.result
        if relu:
            new_ops.append(quant.ReluOp(result))
            result = new_ops[-1].results[0]
    new_ops.append(quant.DequantizeOp(result, out_type))
    for new_op in new_ops:
        new_op.location = op.location
    return new_ops


def _quantized(value: SSAValue, scale: float, at: Operation, new_ops: list[Operation]) -> SSAValue:
    """``value`` as int8 at ``scale`` for ``at``: an existing quant.quantize of it before ``at`` in its
    block (or in ``new_ops``) is reused, so a value used twice, such as a region input that is also a
    skip connection's identity, stays one quantize (one input port); otherwise a new one joins ``new_ops``."""
    q_type = quant.uniform_tensor(shape_of(value), 8, [scale])
    earlier = [use.operation for use in value.uses if use.operation.parent_block() is at.parent_block()]
    for candidate in [*new_ops, *(o for o in earlier if o.is_before_in_block(at))]:
        if isinstance(candidate, quant.QuantizeOp) and candidate.input is value and candidate.result.type == q_type:
            return candidate.result
    q = quant.QuantizeOp(value, q_type)
    q.result.name_hint = "x_q"
    new_ops.append(q)
    return q.result


@dataclass
class QuantizeLayer(RewritePattern):
    """nn.fused_dense / nn.fused_conv2d -> quant.quantize, quant.constant x2, quant.dense or
    quant.conv2d (+ requantize, relu), dequantize."""

    plans: dict[Operation, LayerQuantization | Rescale]

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.FusedDenseOp | nn.FusedConv2dOp, rewriter: PatternRewriter) -> None:
        plan = self.plans.get(op)
        if not isinstance(plan, LayerQuantization):
            return
        per_axis = len(plan.weight_scales) > 1
        axis = 0 if per_axis else -1
        new_ops: list[Operation] = []
        q_in = _quantized(op.input, plan.input_scale, op, new_ops)
        weight = quant.ConstantOp(
            dense_attr(plan.weights), quant.uniform_tensor(plan.weights.shape, 8, plan.weight_scales, axis)
        )
        acc_scales = plan.accumulator_scales
        bias = quant.ConstantOp(dense_attr(plan.bias), quant.uniform_tensor(plan.bias.shape, 32, acc_scales, axis))
        acc_type = quant.uniform_tensor(shape_of(op.result), 32, acc_scales, 1 if per_axis else -1)
        layer = None if op.layer is None else op.layer.data
        acc: quant.DenseOp | quant.Conv2dOp = (
            quant.DenseOp(q_in, weight, bias, acc_type, layer=layer)
            if isinstance(op, nn.FusedDenseOp)
            else quant.Conv2dOp(q_in, weight, bias, acc_type, op.params, layer=layer)
        )
        for new_op, hint in ((weight, "w_q"), (bias, "b_q"), (acc, "acc")):
            new_op.results[0].name_hint = hint
        relu = plan.activation == "relu"
        new_ops.extend((weight, bias, acc))
        start = len(new_ops)
        new_ops = _finish(op, acc.result, plan.output_scale, plan.multipliers, plan.shift, relu, new_ops)
        for new_op in new_ops[start:-1]:  # requantize, relu; the dequantize takes over the old name
            new_op.results[0].name_hint = "y_q"
        rewriter.replace(op, new_ops)


@dataclass
class QuantizeRescale(RewritePattern):
    """nn.pool2d -> quant.pool2d, nn.add -> quant.add, each + requantize and dequantize; the ReLU
    after an add becomes the requantization's quant.relu."""

    plans: dict[Operation, LayerQuantization | Rescale]

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.Pool2dOp | nn.AddOp, rewriter: PatternRewriter) -> None:
        plan = self.plans.get(op)
        if not isinstance(plan, Rescale):
            return
        acc_type = quant.uniform_tensor(shape_of(op.result), 32, [plan.accumulator_scale])
        layer = op.properties.get("layer")
        name = layer.data if isinstance(layer, StringAttr) else None
        new_ops: list[Operation] = []
        if isinstance(op, nn.Pool2dOp):
            q_in = _quantized(op.input, plan.input_scale, op, new_ops)
            new_ops.append(quant.Pool2dOp(q_in, op.kind.data, op.window, acc_type, name))
        else:
            lhs = _quantized(op.lhs, plan.input_scale, op, new_ops)
            rhs = _quantized(op.rhs, plan.input_scale, op, new_ops)
            new_ops.append(quant.AddOp(lhs, rhs, acc_type))
        user = op.results[0].get_unique_use()
        relu = user.operation if user is not None and isinstance(user.operation, nn.ReluOp) else None
        acc = new_ops[-1].results[0]
        new_ops = _finish(op, acc, plan.output_scale, plan.multipliers, plan.shift, relu is not None, new_ops)
        rewriter.replace(op, new_ops)
        if relu is not None:
            rewriter.replace(relu, [], [new_ops[-1].results[0]])


class QuantizeShapeChange(RewritePattern):
    """A flatten or reshape inside a region -> quant.reshape of the int8 value (free on SpikeCore)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.BatchFlattenOp | nn.ReshapeOp, rewriter: PatternRewriter) -> None:
        fn = op.parent_op()
        if not is_codegen_func(fn):
            return
        producer = op.input.owner
        if not isinstance(producer, quant.DequantizeOp):
            return  # its input is quantized first
        in_type = quant.quantized_element(producer.input)
        out_type = op.result.type
        assert isa(out_type, TensorType[Attribute])
        q_type = producer.input.type
        assert isa(q_type, TensorType[Attribute])
        q_in = quant.QuantizeOp(op.input, q_type)
        reshaped = quant.ReshapeOp(q_in, TensorType(in_type, out_type.get_shape()))
        new_ops: list[Operation] = [q_in, reshaped, quant.DequantizeOp(reshaped, out_type)]
        for new_op in new_ops:
            new_op.location = op.location
        rewriter.replace(op, new_ops)


def quantize_module(
    module: ModuleOp,
    calibration: ArrayLike,
    per_channel: bool = False,
    method: str = "max",
    percentile: float = 99.99,
) -> list[LayerQuantization]:
    """Calibrate on ``calibration`` (inputs of @main) and rewrite every SpikeCore region in place.

    Returns what was chosen for each layer, in region and layer order.
    """
    if method not in METHODS:
        raise QuantizationError(
            f"unknown calibration method '{method}' (expected one of: {', '.join(METHODS)})", PASS_NAME
        )
    if not 0.0 < percentile <= 100.0:
        raise QuantizationError(f"percentile must be in (0, 100], got {percentile}", PASS_NAME)
    regions = pending_regions(module)
    if not regions:
        return []
    for fn in regions:
        _region_ops(fn)
    interpreter = Interpreter(module)
    main = interpreter.function("main") if "main" in interpreter.functions else None
    if main is None:
        raise QuantizationError("calibration runs @main, and the module has none", PASS_NAME)
    data = prepare_calibration(main, calibration)
    try:
        trace = interpreter.trace("main", data)
    except InterpreterError as error:
        raise QuantizationError(
            f"cannot run @main in float for calibration: {error.message}", error.location
        ) from error
    found: dict[str, list[Trace]] = {}
    _collect_region_values(trace, {fn.sym_name.data for fn in regions}, found)
    plans: dict[Operation, LayerQuantization | Rescale] = {}
    for fn in regions:
        traces = found.get(fn.sym_name.data)
        if not traces:
            raise QuantizationError(
                f"@{fn.sym_name.data} is never called from @main, so it cannot be calibrated", f"@{fn.sym_name.data}"
            )
        plans.update(_RegionPlanner(fn, traces, per_channel, method, percentile).plan())
    walker = PatternRewriteWalker(
        GreedyRewritePatternApplier(
            [QuantizeLayer(plans), QuantizeRescale(plans), QuantizeShapeChange(), FoldDequantizeQuantize()]
        )
    )
    for fn in regions:
        walker.rewrite_region(fn.regions[0])
    return [plan for plan in plans.values() if isinstance(plan, LayerQuantization)]


def _is_quantized(fn: func.FuncOp) -> bool:
    """Whether a region holds nothing but quant ops (and its return): the output of this pass."""
    ops = list(fn.body.block.ops)
    return any(op.dialect_name() == "quant" for op in ops) and all(
        op.dialect_name() == "quant" or isinstance(op, func.ReturnOp) for op in ops
    )


NOTHING_TO_QUANTIZE = 'nothing to quantize: the module has no codegen = "spikecore" function left to quantize'


def pending_regions(module: ModuleOp) -> list[func.FuncOp]:
    """The SpikeCore regions of ``module`` that are not quantized yet, in module order."""
    return [op for op in module.ops if is_codegen_func(op) and not _is_quantized(op)]


@dataclass(frozen=True)
class QuantizePass(ModulePass):
    """``spikecore-quantize{calibration="inputs.npy" per-channel=true method=percentile percentile=99.9}``."""

    name = PASS_NAME

    calibration: str | None = None
    """A .npy file of @main inputs, shape (N, ...) (quote paths: ``calibration="data/x.npy"``)."""
    per_channel: bool = False
    """One weight scale per output channel (the last layer of a region stays per tensor)."""
    method: Method = "max"
    """Activation range: ``max`` of ``|x|`` or ``percentile`` of ``|x|``."""
    percentile: int | float = 99.99
    """With ``method=percentile``: the percentile of ``|x|`` taken as the range, in (0, 100]."""

    def __post_init__(self) -> None:
        check_option_types(self)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if not pending_regions(op):
            nothing_to_do(self.name, op, NOTHING_TO_QUANTIZE)
            return
        with pass_errors(self.name):
            if self.calibration is None:
                raise QuantizationError(
                    f'no calibration inputs given: use {self.name}{{calibration="inputs.npy"}} (a .npy of @main inputs)',
                    self.name,
                )
            data = load_calibration(self.calibration)
            quantize_module(op, data, self.per_channel, self.method, float(self.percentile))
