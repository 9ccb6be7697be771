"""The IR interpreter, on xDSL's interpreter framework: numpy values, any batch size.

Each dialect's semantics are an :class:`xdsl.interpreter.InterpreterFunctions` with one ``@impl`` per
op, as xDSL's own interpreters are written (``xdsl/interpreters/arith.py``):

- :class:`NnFunctions`: the nn dialect (dense, bias_add, relu, batch_flatten, reshape, softmax, fused_dense,
  conv2d, fused_conv2d, pool2d, add, concat, batch_norm);
- :class:`QuantFunctions`: the quant dialect, with the exact integer semantics of docs/quantization.md,
  so a quantized region computes bit for bit what SpikeCore does in graded mode;
- :class:`TensorConstantFunctions`: ``arith.constant`` of dense tensors as numpy arrays (read once per
  interpreter and reused across runs), and tensor attributes as numpy values (``xdsl-run --args``);
- xDSL's own :class:`xdsl.interpreters.func.FuncFunctions` for ``func.call`` / ``func.return``.

`spikecore.launch` (a program on the hardware model) is in :mod:`spikeir.ir.host`.

Values are numpy arrays whose first axis is the batch. Types say batch 1 (or ``?``); inputs may have
any batch B there, and every op is evaluated once on the whole batch.

:class:`Interpreter` is the entry point the rest of spikeir uses: it checks the inputs against the
function's type, runs it with an ``xdsl.interpreter.Interpreter`` and turns failures into
:class:`~spikeir.errors.InterpreterError` placed at the op (``file:line:col`` when the op was parsed
with a location, else its name and layer). :func:`run_function` returns a function's outputs;
:func:`trace_function` also keeps every intermediate value (of the function and of the functions it
calls), which calibration needs. The trace is recorded by :class:`TraceListener`, an
``Interpreter.Listener``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    DenseIntOrFPElementsAttr,
    FileLineColLoc,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.interpreter import Interpreter as XDSLInterpreter
from xdsl.interpreter import InterpreterFunctions, PythonValues, impl, impl_attr, register_impls
from xdsl.interpreters.func import FuncFunctions
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.traits import SymbolTable
from xdsl.utils.exceptions import InterpretationError
from xdsl.utils.hints import isa

from spikeir.dialects import nn, quant
from spikeir.errors import InterpreterError, SpikeIRError
from spikeir.ir.arrays import numpy_dtype, to_numpy
from spikeir.numerics.quantization import quantize_to_int8, quantized_dense, requantize, saturate_int32

Array = NDArray[Any]


# --- places and types -------------------------------------------------------------------------------


def describe_op(op: Operation) -> str:
    """``nn.dense "fc1"``: the op's name, with its layer when it has one."""
    layer = op.properties.get("layer")
    return f'{op.name} "{layer.data}"' if isinstance(layer, StringAttr) else op.name


def op_error(op: Operation, message: str) -> InterpreterError:
    """An error at ``op``: at its ``file:line:col`` when it has one (naming the op in the message), else
    at the op's name and layer."""
    loc = op.location
    if isinstance(loc, FileLineColLoc):
        where = f"{loc.filename.data}:{loc.line.data}:{loc.column.data}"
        return InterpreterError(message if op.name in message else f"{describe_op(op)}: {message}", where)
    return InterpreterError(message, describe_op(op))


def _tensor_type(value: SSAValue) -> TensorType[Attribute]:
    typ = value.type
    if not isa(typ, TensorType[Attribute]):
        raise InterpreterError(f"expected a tensor value, got {typ}")
    return typ


def _dtype(value: SSAValue) -> np.dtype:
    return numpy_dtype(_tensor_type(value).element_type)


def _free_batch(shape: Sequence[int]) -> bool:
    """Whether the first axis is the batch axis that inputs may size freely (typed 1 or ``?``)."""
    return bool(shape) and shape[0] in (1, DYNAMIC_INDEX)


def _scales(qtype: quant.UniformQuantizedType, rank: int) -> NDArray[np.float64]:
    """The scales, shaped to broadcast along the quantization axis of a rank-``rank`` array."""
    scales = np.asarray(qtype.scale_values, dtype=np.float64)
    if not qtype.is_per_axis:
        return scales.reshape(())
    shape = [1] * rank
    shape[qtype.axis.data] = scales.size
    return scales.reshape(shape)


def _cached(interpreter: XDSLInterpreter, op: Operation, make: Callable[[], Array]) -> Array:
    """The value of a constant op, computed once per interpreter (weights are large)."""
    constants: dict[Operation, Array] = interpreter.get_data(TensorConstantFunctions, "constants", dict)
    value = constants.get(op)
    if value is None:
        value = constants[op] = make()
    return value


# --- convolution and pooling arithmetic ----------------------------------------------------------------


def conv2d(x: Array, weight: Array, params: nn.ConvParams) -> Array:
    """NCHW ``x`` convolved with OIHW ``weight`` (PyTorch's ``conv2d`` without bias), one BLAS product per
    group over the im2col windows. Integer inputs are computed in float64 and returned as int64: exact
    while every partial sum stays below 2^53 (int8 x int8 products over fewer than 2^38 taps)."""
    integer = np.issubdtype(x.dtype, np.integer)
    work = np.float64 if integer else np.result_type(x.dtype, weight.dtype, np.float32)
    (ph, pw), (sh, sw), (dh, dw) = params.padding, params.stride, params.dilation
    padded = np.pad(x.astype(work, copy=False), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out_c, cg, kh, kw = weight.shape
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, span, axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]
    og = out_c // params.groups
    w = weight.astype(work, copy=False)
    pieces = [
        np.tensordot(windows[:, g * cg : (g + 1) * cg], w[g * og : (g + 1) * og], axes=([1, 4, 5], [1, 2, 3]))
        for g in range(params.groups)
    ]
    y = np.concatenate(pieces, axis=-1).transpose(0, 3, 1, 2)
    return np.rint(y).astype(np.int64) if integer else y


def pool2d(x: Array, kind: str, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]) -> Array:
    """Pooling of an NCHW ``x`` (`nn.PoolKind`): ``sum`` and ``avg`` over zero-padded windows (``avg``
    divides by the whole window, padding included), ``max`` ignoring the padding."""
    (ph, pw), (sh, sw) = padding, stride
    fill = -np.inf if kind == nn.PoolKind.MAX else 0
    work = x.astype(np.float64) if kind == nn.PoolKind.MAX and np.issubdtype(x.dtype, np.integer) else x
    padded = np.pad(work, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    windows = np.lib.stride_tricks.sliding_window_view(padded, kernel, axis=(2, 3))[:, :, ::sh, ::sw]
    if kind == nn.PoolKind.MAX:
        return windows.max(axis=(4, 5)).astype(x.dtype)
    total = windows.sum(axis=(4, 5), dtype=np.int64 if np.issubdtype(x.dtype, np.integer) else None)
    return total / (kernel[0] * kernel[1]) if kind == nn.PoolKind.AVG else total


def channel_shaped(vector: Array, rank: int, axis: int = 1) -> Array:
    """A per-channel vector shaped to broadcast along ``axis`` of a rank-``rank`` array."""
    shape = [1] * rank
    shape[axis] = vector.size
    return vector.reshape(shape)


def batch_norm(x: Array, gamma: Array, beta: Array, mean: Array, variance: Array, epsilon: float) -> Array:
    """Inference batch norm along axis 1: ``(x - mean) / sqrt(variance + epsilon) * gamma + beta``."""
    scale = gamma / np.sqrt(variance + epsilon)
    return x * channel_shaped(scale, x.ndim) + channel_shaped(beta - mean * scale, x.ndim)


def _fused_activation(op: nn.FusedDenseOp | nn.FusedConv2dOp, y: Array) -> Array:
    # `.data` is the activation's name, whether the property is a string or an enum attribute.
    return np.maximum(y, 0) if op.activation.data == "relu" else y


# --- the dialects' semantics -------------------------------------------------------------------------


@register_impls
class TensorConstantFunctions(InterpreterFunctions):
    """``arith.constant`` as a numpy array; tensor attributes (``xdsl-run --args``) as numpy arrays."""

    @impl(arith.ConstantOp)
    def run_constant(self, interpreter: XDSLInterpreter, op: arith.ConstantOp, args: PythonValues) -> PythonValues:
        return (_cached(interpreter, op, lambda: _constant_value(op)),)

    @impl_attr(TensorType)
    def tensor_attr_value(self, interpreter: XDSLInterpreter, attr: Attribute, attr_type: TensorType) -> Array:
        if not isa(attr, DenseIntOrFPElementsAttr):
            raise InterpreterError(f"a tensor argument must be a dense<...> attribute, got {attr}", "arguments")
        value = np.array(to_numpy(attr), dtype=numpy_dtype(attr_type.element_type))
        shape = attr_type.get_shape()
        if value.shape != shape and not (_free_batch(shape) and value.shape[1:] == shape[1:]):
            raise InterpreterError(f"argument of shape {list(value.shape)} for type {attr_type}", "arguments")
        return value


def _constant_value(op: arith.ConstantOp) -> Array:
    value = op.value
    if isinstance(value, DenseIntOrFPElementsAttr):
        return to_numpy(value)
    if isinstance(value, IntegerAttr | FloatAttr):
        return np.asarray(value.value.data, dtype=numpy_dtype(value.type))
    raise op_error(op, f"unsupported constant value {value}")


@register_impls
class NnFunctions(InterpreterFunctions):
    """The nn dialect in float numpy, batched along the first axis."""

    @impl(nn.DenseOp)
    def run_dense(self, interpreter: XDSLInterpreter, op: nn.DenseOp, args: PythonValues) -> PythonValues:
        x, w = args
        return ((x @ w.T).astype(_dtype(op.result), copy=False),)

    @impl(nn.BiasAddOp)
    def run_bias_add(self, interpreter: XDSLInterpreter, op: nn.BiasAddOp, args: PythonValues) -> PythonValues:
        x, b = args
        return ((x + channel_shaped(b, x.ndim, op.channel_axis)).astype(_dtype(op.result), copy=False),)

    @impl(nn.ReluOp)
    def run_relu(self, interpreter: XDSLInterpreter, op: nn.ReluOp, args: PythonValues) -> PythonValues:
        return (np.maximum(args[0], 0),)

    @impl(nn.BatchFlattenOp)
    def run_batch_flatten(
        self, interpreter: XDSLInterpreter, op: nn.BatchFlattenOp, args: PythonValues
    ) -> PythonValues:
        (x,) = args
        return (x.reshape((x.shape[0], -1)),)

    @impl(nn.ReshapeOp)
    def run_reshape(self, interpreter: XDSLInterpreter, op: nn.ReshapeOp, args: PythonValues) -> PythonValues:
        """Reshape to the result type, the batch axis following the input's when the type keeps it."""
        (x,) = args
        in_shape = _tensor_type(op.input).get_shape()
        out_shape = _tensor_type(op.result).get_shape()
        if in_shape and out_shape and in_shape[0] == out_shape[0]:
            return (x.reshape((x.shape[0], *out_shape[1:])),)
        if x.shape == in_shape:
            return (x.reshape(out_shape),)
        raise op_error(
            op,
            f"cannot reshape {list(in_shape)} -> {list(out_shape)} for a batch of {x.shape[0]}: the result type "
            "drops the batch axis; run this function with batch 1",
        )

    @impl(nn.SoftmaxOp)
    def run_softmax(self, interpreter: XDSLInterpreter, op: nn.SoftmaxOp, args: PythonValues) -> PythonValues:
        (x,) = args
        axis = op.axis.value.data
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return (e / e.sum(axis=axis, keepdims=True),)

    @impl(nn.FusedDenseOp)
    def run_fused_dense(self, interpreter: XDSLInterpreter, op: nn.FusedDenseOp, args: PythonValues) -> PythonValues:
        y = args[0] @ args[1].T
        if len(args) == 3:
            y = y + args[2]
        return (_fused_activation(op, y).astype(_dtype(op.result), copy=False),)

    @impl(nn.Conv2dOp)
    def run_conv2d(self, interpreter: XDSLInterpreter, op: nn.Conv2dOp, args: PythonValues) -> PythonValues:
        x, w = args
        return (conv2d(x, w, op.params).astype(_dtype(op.result), copy=False),)

    @impl(nn.FusedConv2dOp)
    def run_fused_conv2d(self, interpreter: XDSLInterpreter, op: nn.FusedConv2dOp, args: PythonValues) -> PythonValues:
        y = conv2d(args[0], args[1], op.params)
        if len(args) == 3:
            y = y + channel_shaped(args[2], y.ndim)
        return (_fused_activation(op, y).astype(_dtype(op.result), copy=False),)

    @impl(nn.Pool2dOp)
    def run_pool2d(self, interpreter: XDSLInterpreter, op: nn.Pool2dOp, args: PythonValues) -> PythonValues:
        return (pool2d(args[0], op.kind.data, *op.window).astype(_dtype(op.result), copy=False),)

    @impl(nn.AddOp)
    def run_add(self, interpreter: XDSLInterpreter, op: nn.AddOp, args: PythonValues) -> PythonValues:
        return ((args[0] + args[1]).astype(_dtype(op.result), copy=False),)

    @impl(nn.ConcatOp)
    def run_concat(self, interpreter: XDSLInterpreter, op: nn.ConcatOp, args: PythonValues) -> PythonValues:
        return (np.concatenate(args, axis=op.axis.value.data),)

    @impl(nn.BatchNormOp)
    def run_batch_norm(self, interpreter: XDSLInterpreter, op: nn.BatchNormOp, args: PythonValues) -> PythonValues:
        x, gamma, beta, mean, variance = args
        y = batch_norm(x, gamma, beta, mean, variance, op.epsilon.value.data)
        return (y.astype(_dtype(op.result), copy=False),)


@register_impls
class QuantFunctions(InterpreterFunctions):
    """The quant dialect: int8/int32 storage in numpy integers, the integer arithmetic of the chip."""

    @impl(quant.QuantizeOp)
    def run_quantize(self, interpreter: XDSLInterpreter, op: quant.QuantizeOp, args: PythonValues) -> PythonValues:
        return (quantize_to_int8(args[0], quant.quantized_element(op.results[0]).scale_values[0]),)

    @impl(quant.DequantizeOp)
    def run_dequantize(self, interpreter: XDSLInterpreter, op: quant.DequantizeOp, args: PythonValues) -> PythonValues:
        (x,) = args
        real = x.astype(np.float64) * _scales(quant.quantized_element(op.operands[0]), x.ndim)
        return (real.astype(_dtype(op.results[0])),)

    @impl(quant.ConstantOp)
    def run_constant(self, interpreter: XDSLInterpreter, op: quant.ConstantOp, args: PythonValues) -> PythonValues:
        return (_cached(interpreter, op, lambda: to_numpy(op.dense)),)

    @impl(quant.DenseOp)
    def run_dense(self, interpreter: XDSLInterpreter, op: quant.DenseOp, args: PythonValues) -> PythonValues:
        x, w, b = args
        return (quantized_dense(x, w, b),)

    @impl(quant.RequantizeOp)
    def run_requantize(self, interpreter: XDSLInterpreter, op: quant.RequantizeOp, args: PythonValues) -> PythonValues:
        (acc,) = args
        multipliers = np.asarray(op.multipliers, dtype=np.int64)
        if multipliers.size > 1:
            multipliers = channel_shaped(multipliers, acc.ndim, op.channel_axis)
        return (requantize(acc, multipliers, op.shift.value.data),)

    @impl(quant.Conv2dOp)
    def run_conv2d(self, interpreter: XDSLInterpreter, op: quant.Conv2dOp, args: PythonValues) -> PythonValues:
        x, w, b = args
        acc = conv2d(x, w, op.params) + channel_shaped(b.astype(np.int64), 4)
        return (saturate_int32(acc),)

    @impl(quant.Pool2dOp)
    def run_pool2d(self, interpreter: XDSLInterpreter, op: quant.Pool2dOp, args: PythonValues) -> PythonValues:
        kernel, stride, padding = op.window
        return (saturate_int32(pool2d(args[0], nn.PoolKind.SUM, kernel, stride, padding)),)

    @impl(quant.AddOp)
    def run_add(self, interpreter: XDSLInterpreter, op: quant.AddOp, args: PythonValues) -> PythonValues:
        return ((args[0].astype(np.int32) + args[1].astype(np.int32)),)

    @impl(quant.ReshapeOp)
    def run_reshape(self, interpreter: XDSLInterpreter, op: quant.ReshapeOp, args: PythonValues) -> PythonValues:
        (x,) = args
        return (x.reshape((x.shape[0], *_tensor_type(op.result).get_shape()[1:])),)

    @impl(quant.ReluOp)
    def run_relu(self, interpreter: XDSLInterpreter, op: quant.ReluOp, args: PythonValues) -> PythonValues:
        (x,) = args
        return (np.maximum(x, 0).astype(x.dtype),)


def numpy_functions() -> list[InterpreterFunctions]:
    """The implementations :class:`Interpreter` registers: func, arith.constant, nn and quant."""
    return [FuncFunctions(), TensorConstantFunctions(), NnFunctions(), QuantFunctions()]


# --- traces ---------------------------------------------------------------------------------------------


@dataclass
class Trace:
    """Every value one evaluation of ``function`` computed, and the traces of the calls it made."""

    function: str
    values: dict[SSAValue, Array] = field(default_factory=dict[SSAValue, Array])
    calls: list[tuple[func.CallOp, Trace]] = field(default_factory=list[tuple[func.CallOp, "Trace"]])
    outputs: tuple[Array, ...] = ()


class TraceListener(XDSLInterpreter.Listener):
    """Records a :class:`Trace` tree while the interpreter runs: each op's results into the trace of the
    function evaluation it belongs to, a nested trace per ``func.call``."""

    def __init__(self, root: Trace) -> None:
        self.root = root
        self._open: list[Trace] = [root]

    def will_interpret_op(self, op: Operation, args: PythonValues) -> None:
        if isinstance(op, func.CallOp):
            trace = Trace(op.callee.root_reference.data)
            callee = SymbolTable.lookup_symbol(op, op.callee)
            if isinstance(callee, func.FuncOp) and callee.body.blocks:
                trace.values.update(zip(callee.body.block.args, args))
            self._open.append(trace)
        elif isinstance(op, func.ReturnOp):
            self._open[-1].outputs = tuple(args)

    def did_interpret_op(self, op: Operation, results: PythonValues) -> None:
        if isinstance(op, func.CallOp):
            trace = self._open.pop()
            self._open[-1].calls.append((op, trace))
        self._open[-1].values.update(zip(op.results, results))


def _use_before_definition(fn: func.FuncOp) -> Operation | None:
    """The first op of ``fn``, in program order, that reads a value not yet defined there."""
    defined: set[SSAValue] = set()
    for op in fn.walk():
        for region in op.regions:
            defined.update(arg for block in region.blocks for arg in block.args)
        if op is not fn and any(v not in defined for v in op.operands):
            return op
        defined.update(op.results)
    return None


class _Cursor(XDSLInterpreter.Listener):
    """The op being interpreted, so that a failure can be placed at it."""

    def __init__(self) -> None:
        self.op: Operation | None = None

    def will_interpret_op(self, op: Operation, args: PythonValues) -> None:
        self.op = op


# --- the entry point ------------------------------------------------------------------------------------


class Interpreter:
    """Evaluates the functions of one module on numpy batches; constants are read once and reused.

    ``xdsl`` is the underlying ``xdsl.interpreter.Interpreter`` with :meth:`interpreter_functions`
    registered; subclasses add implementations by extending that list (see ``HostExecutor``).
    """

    evaluates = "the nn and quant dialects, arith.constant, func.call and func.return"
    """What this interpreter evaluates, for the message about an op it cannot."""

    def __init__(self, module: ModuleOp) -> None:
        self.module = module
        self.functions: dict[str, func.FuncOp] = {
            op.sym_name.data: op for op in module.ops if isinstance(op, func.FuncOp)
        }
        self.xdsl = XDSLInterpreter(module)
        for functions in self.interpreter_functions():
            self.xdsl.register_implementations(functions)

    def interpreter_functions(self) -> list[InterpreterFunctions]:
        return numpy_functions()

    def function(self, name: str) -> func.FuncOp:
        if name not in self.functions:
            known = ", ".join(f"@{n}" for n in self.functions) or "none"
            raise InterpreterError(f"no function @{name} in the module (functions: {known})", f"@{name}")
        return self.functions[name]

    def run(
        self, name: str, *inputs: ArrayLike, listeners: Sequence[XDSLInterpreter.Listener] = ()
    ) -> tuple[Array, ...]:
        """The outputs of ``@name`` on a batch of inputs; ``listeners`` observe each op interpreted
        (e.g. xDSL's ``OpCounter``)."""
        fn = self.function(name)
        return self._call(fn, self._check_inputs(fn, inputs), tuple(listeners))

    def trace(self, name: str, *inputs: ArrayLike) -> Trace:
        """Like :meth:`run`, keeping every intermediate value, nested calls included."""
        fn = self.function(name)
        args = self._check_inputs(fn, inputs)
        trace = Trace(name, dict(zip(fn.body.block.args, args)))
        trace.outputs = self._call(fn, args, (TraceListener(trace),))
        return trace

    def _call(
        self, fn: func.FuncOp, args: list[Array], listeners: tuple[XDSLInterpreter.Listener, ...]
    ) -> tuple[Array, ...]:
        cursor = _Cursor()
        self.xdsl.listeners = (cursor, *listeners)
        try:
            return tuple(self.xdsl.call_op(fn, tuple(args)))
        except SpikeIRError as error:
            # xDSL notes the whole module, printed, on an error raised by an op: users need the place only.
            error.__notes__ = []
            if error.location is None and cursor.op is not None:
                raise op_error(cursor.op, error.message) from None  # e.g. an element type numpy lacks
            raise
        except InterpretationError as error:
            raise self._failure(cursor.op, fn, str(error)) from None
        except KeyError:
            # xDSL does not check dominance: an operand read before its definition has no value yet
            offender = next(filter(None, map(_use_before_definition, self.functions.values())), None)
            if offender is None:
                raise
            raise op_error(offender, f"'{offender.name}' reads a value before it is defined") from None
        except (ValueError, FloatingPointError, ArithmeticError) as error:
            if cursor.op is None:
                raise
            raise op_error(cursor.op, f"'{cursor.op.name}' failed: {error}") from None
        finally:
            self.xdsl.listeners = ()
            self._unwind()

    def _failure(self, op: Operation | None, fn: func.FuncOp, message: str) -> InterpreterError:
        if op is None:
            return InterpreterError(message, f"@{fn.sym_name.data}")
        if message.startswith("Could not find interpretation function"):
            return op_error(op, f"the interpreter cannot evaluate '{op.name}' (it evaluates {self.evaluates})")
        return op_error(op, message)

    def _unwind(self) -> None:
        """Back to the root scope: xDSL leaves a failed call's scopes (and their arrays) on its stack."""
        while True:
            try:
                self.xdsl.pop_scope()
            except InterpretationError:
                return

    def _check_inputs(self, fn: func.FuncOp, inputs: Sequence[ArrayLike]) -> list[Array]:
        name = fn.sym_name.data
        arg_types = fn.function_type.inputs.data
        if len(inputs) != len(arg_types):
            raise InterpreterError(f"@{name} takes {len(arg_types)} input(s), got {len(inputs)}", f"@{name}")
        arrays: list[Array] = []
        batch: int | None = None
        for index, (value, typ) in enumerate(zip(inputs, arg_types)):
            array = check_input(value, typ, f"input {index}", f"@{name}")
            if batch is not None and array.ndim and array.shape[0] != batch:
                raise InterpreterError(f"inputs disagree on the batch size ({batch} vs {array.shape[0]})", f"@{name}")
            batch = array.shape[0] if array.ndim else batch
            arrays.append(array)
        return arrays


def expected_shape(typ: TensorType[Attribute]) -> str:
    """``Bx1x28x28`` for a type whose first axis is a free batch, else the type's shape."""
    shape = typ.get_shape()
    dims = ["?" if d == DYNAMIC_INDEX else str(d) for d in shape]
    return "x".join(["B", *dims[1:]]) if _free_batch(shape) else "x".join(dims)


def check_input(value: ArrayLike, typ: Attribute, what: str, location: str) -> Array:
    """``value`` as an array of ``typ``'s element type, if its shape fits ``typ`` (any batch size where
    the type's first axis is 1 or ``?``, any size on other ``?`` axes)."""
    if not isa(typ, TensorType[Attribute]):
        raise InterpreterError(f"{what} has non-tensor type {typ}", location)
    shape = typ.get_shape()
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise InterpreterError(f"{what} must be a real numeric array, got dtype {array.dtype}", location)
    fits = array.ndim == len(shape) and all(
        want in (DYNAMIC_INDEX, got) or (axis == 0 and _free_batch(shape))
        for axis, (got, want) in enumerate(zip(array.shape, shape))
    )
    if not fits:
        raise InterpreterError(
            f"{what} has shape {list(array.shape)}, but the function expects {expected_shape(typ)} (type {typ})",
            location,
        )
    try:
        dtype = numpy_dtype(typ.element_type)
    except InterpreterError as error:
        raise InterpreterError(f"{what}: {error.message}", location) from None
    return array.astype(dtype, copy=False)


def run_function(module: ModuleOp, name: str, *inputs: ArrayLike) -> tuple[Array, ...]:
    """Evaluate ``@name`` of ``module`` on a batch of inputs (first axis = batch); one array per result."""
    return Interpreter(module).run(name, *inputs)


def trace_function(module: ModuleOp, name: str, *inputs: ArrayLike) -> Trace:
    """Evaluate ``@name`` keeping every intermediate value (``Trace.values``, ``Trace.calls``)."""
    return Interpreter(module).trace(name, *inputs)
