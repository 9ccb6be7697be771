"""spikecore-quantize: calibrate the SpikeCore regions on sample inputs and rewrite them into int8 `quant` IR.

Every function marked ``codegen = "spikecore"`` (a chain of `nn.fused_dense`, docs/pipeline.md
section 3) becomes the integer graph of section 4. Calibration comes first: `@main` runs in float
on the calibration inputs with the numpy interpreter, which gives each region's inputs and the
activations after each layer; their ranges (max or a percentile of ``|x|``) fix every activation
scale. Then two small patterns rewrite each region:

- `QuantizeFusedDense`: one `nn.fused_dense` becomes ``quant.quantize`` of its input, int8 weight and
  int32 bias constants, ``quant.dense``, ``quant.requantize`` (+ ``quant.relu``) and a
  ``quant.dequantize`` back to float (the last layer keeps its int32 accumulator, dequantized);
- `FoldDequantizeQuantize`: ``quant.quantize(quant.dequantize(x))`` with the same int8 type is ``x``,
  which joins consecutive layers into one integer chain (quant.quantize's canonicalization pattern).

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
from numpy.lib.npyio import NpzFile
from numpy.typing import ArrayLike, NDArray
from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, ModuleOp, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from spikeir.dialects import nn, quant
from spikeir.dialects.canonicalization import FoldDequantizeQuantize
from spikeir.errors import DataError, InterpreterError, QuantizationError
from spikeir.ir.arrays import dense_attr, to_numpy
from spikeir.ir.interpreter import Interpreter, Trace
from spikeir.numerics.quantization import (
    METHODS,
    activation_range,
    manual_quantize_weights,
    quantize_bias,
    requantize_multiplier,
    scale_from_range,
)
from spikeir.options import Method, check_option_types
from spikeir.passes.diagnostics import pass_errors
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


def _layer_name(op: nn.FusedDenseOp, function: str, index: int) -> str:
    return op.layer.data if op.layer is not None else f"@{function} layer {index}"


def _constant_value(value: SSAValue, what: str, where: str) -> NDArray[np.float64]:
    producer = value.owner
    if not isinstance(producer, arith.ConstantOp) or not isinstance(producer.value, DenseIntOrFPElementsAttr):
        source = "a function argument" if not isinstance(producer, Operation) else f"produced by '{producer.name}'"
        raise QuantizationError(
            f"the {what} of nn.fused_dense is {source}, not a constant: bind the parameters before quantizing", where
        )
    return to_numpy(producer.value).astype(np.float64)


def _region_layers(fn: func.FuncOp) -> list[nn.FusedDenseOp]:
    """The region's layers, checked to form the chain partition-for-spikecore outlines."""
    name = fn.sym_name.data
    layers: list[nn.FusedDenseOp] = []
    current: SSAValue = fn.body.block.args[0]
    for op in fn.body.block.ops:
        if isinstance(op, arith.ConstantOp):
            continue
        if isinstance(op, nn.FusedDenseOp) and op.input == current:
            where = _layer_name(op, name, len(layers))
            _constant_value(op.weight, "weight", where)
            if op.bias is not None:
                _constant_value(op.bias, "bias", where)
            layers.append(op)
            current = op.result
            continue
        if isinstance(op, func.ReturnOp) and list(op.arguments) == [current] and layers:
            break
        raise QuantizationError(
            f"@{name} must be a chain of nn.fused_dense layers (as partition-for-spikecore outlines them); "
            f"'{op.name}' does not continue the chain",
            op.name if not isinstance(op, nn.FusedDenseOp) else _layer_name(op, name, len(layers)),
        )
    if len(fn.body.block.args) != 1:
        raise QuantizationError(
            f"a SpikeCore region takes one input, @{name} takes {len(fn.body.block.args)}", f"@{name}"
        )
    last = layers[-1]
    if last.activation.data != nn.Activation.NONE:
        raise QuantizationError(
            "a region's last layer outputs its raw accumulator and cannot apply "
            f"'{last.activation.data}' (partition-for-spikecore moves that ReLU to the host)",
            _layer_name(last, name, len(layers) - 1),
        )
    return layers


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
    """A .npy array of model inputs, loaded without pickle (`prepare_calibration` checks its dtype)."""
    try:
        data: NDArray[np.generic] | NpzFile = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"cannot read calibration data: {error}", str(path)) from error
    if not isinstance(data, np.ndarray):
        raise DataError("calibration data must be a single .npy array, not an .npz archive", str(path))
    return data


def _collect_region_values(trace: Trace, regions: set[str], found: dict[str, list[Trace]]) -> None:
    for _, callee in trace.calls:
        if callee.function in regions:
            found.setdefault(callee.function, []).append(callee)
        _collect_region_values(callee, regions, found)


def _observed(traces: Sequence[Trace], value: SSAValue) -> NDArray[np.generic]:
    return np.concatenate([t.values[value] for t in traces]) if len(traces) > 1 else traces[0].values[value]


def _plan_region(
    fn: func.FuncOp, traces: Sequence[Trace], per_channel: bool, method: str, percentile: float
) -> dict[nn.FusedDenseOp, LayerQuantization]:
    name = fn.sym_name.data
    layers = _region_layers(fn)
    in_range = activation_range(_observed(traces, fn.body.block.args[0]), method, percentile, f"@{name} input")
    in_scale = float(scale_from_range(in_range))
    plans: dict[nn.FusedDenseOp, LayerQuantization] = {}
    for index, layer in enumerate(layers):
        where = _layer_name(layer, name, index)
        last = index == len(layers) - 1
        weight = _constant_value(layer.weight, "weight", where)
        w_q, w_scale, _ = manual_quantize_weights(weight, per_channel=per_channel and not last, location=where)
        w_scales = np.atleast_1d(np.asarray(w_scale, dtype=np.float64))
        bias = np.zeros(weight.shape[0]) if layer.bias is None else _constant_value(layer.bias, "bias", where)
        b_q = quantize_bias(bias, in_scale, w_scales if w_scales.size > 1 else w_scales[0], where)
        out_range = out_scale = shift = None
        multipliers: tuple[int, ...] = ()
        if not last:
            out_range = activation_range(_observed(traces, layer.result), method, percentile, where)
            out_scale = float(scale_from_range(out_range))
            m, shift = requantize_multiplier(in_scale * w_scales / out_scale, where)
            multipliers = tuple(int(v) for v in m)
        plans[layer] = LayerQuantization(
            function=name,
            layer=where,
            activation=layer.activation.data.value,
            input_range=in_range,
            input_scale=in_scale,
            weight_scales=tuple(float(s) for s in w_scales),
            output_range=out_range,
            output_scale=out_scale,
            multipliers=multipliers,
            shift=shift,
            weights=w_q,
            bias=b_q,
        )
        if out_range is not None and out_scale is not None:
            in_range, in_scale = out_range, out_scale
    return plans


@dataclass
class QuantizeFusedDense(RewritePattern):
    """nn.fused_dense -> quant.quantize, quant.constant x2, quant.dense (+ requantize, relu), dequantize."""

    plans: dict[nn.FusedDenseOp, LayerQuantization]

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: nn.FusedDenseOp, rewriter: PatternRewriter) -> None:
        plan = self.plans.get(op)
        if plan is None:
            return
        in_shape = op.input.type
        out_type = op.result.type
        assert isinstance(in_shape, TensorType) and isinstance(out_type, TensorType)
        out_shape = out_type.get_shape()
        per_axis = len(plan.weight_scales) > 1
        axis = 0 if per_axis else -1
        q_in = quant.QuantizeOp(op.input, quant.uniform_tensor(in_shape.get_shape(), 8, [plan.input_scale]))
        weight = quant.ConstantOp(
            dense_attr(plan.weights), quant.uniform_tensor(plan.weights.shape, 8, plan.weight_scales, axis)
        )
        acc_scales = plan.accumulator_scales
        bias = quant.ConstantOp(dense_attr(plan.bias), quant.uniform_tensor(plan.bias.shape, 32, acc_scales, axis))
        acc = quant.DenseOp(
            q_in,
            weight,
            bias,
            quant.uniform_tensor(out_shape, 32, acc_scales, 1 if per_axis else -1),
            layer=None if op.layer is None else op.layer.data,
        )
        new_ops: list[Operation] = [q_in, weight, bias, acc]
        result: SSAValue = acc.result
        if plan.output_scale is not None and plan.shift is not None:
            requant = quant.RequantizeOp(
                result, plan.multipliers, plan.shift, quant.uniform_tensor(out_shape, 8, [plan.output_scale])
            )
            new_ops.append(requant)
            result = requant.result
            if plan.activation == "relu":
                relu = quant.ReluOp(result)
                new_ops.append(relu)
                result = relu.result
        new_ops.append(quant.DequantizeOp(result, out_type))
        for new_op, hint in zip(new_ops, ("x_q", "w_q", "b_q", "acc")):
            new_op.results[0].name_hint = hint
        for new_op in new_ops[4:-1]:  # requantize, relu; the dequantize takes over the old name
            new_op.results[0].name_hint = "y_q"
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
        _region_layers(fn)
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
    plans: dict[nn.FusedDenseOp, LayerQuantization] = {}
    for fn in regions:
        traces = found.get(fn.sym_name.data)
        if not traces:
            raise QuantizationError(
                f"@{fn.sym_name.data} is never called from @main, so it cannot be calibrated", f"@{fn.sym_name.data}"
            )
        plans.update(_plan_region(fn, traces, per_channel, method, percentile))
    walker = PatternRewriteWalker(GreedyRewritePatternApplier([QuantizeFusedDense(plans), FoldDequantizeQuantize()]))
    for fn in regions:
        walker.rewrite_region(fn.regions[0])
    return list(plans.values())


def _is_quantized(fn: func.FuncOp) -> bool:
    """Whether a region holds nothing but quant ops (and its return): the output of this pass."""
    ops = list(fn.body.block.ops)
    return any(op.dialect_name() == "quant" for op in ops) and all(
        op.dialect_name() == "quant" or isinstance(op, func.ReturnOp) for op in ops
    )


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
            return
        with pass_errors(self.name):
            if self.calibration is None:
                raise QuantizationError(
                    f'no calibration inputs given: use {self.name}{{calibration="inputs.npy"}} (a .npy of @main inputs)',
                    self.name,
                )
            data = load_calibration(self.calibration)
            quantize_module(op, data, self.per_channel, self.method, float(self.percentile))
