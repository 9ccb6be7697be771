"""A vectorised numpy interpreter for `nn` and `quant` IR, with any batch size.

It evaluates a `func.func` built from the nn dialect, the quant dialect (with the exact integer
semantics of docs/quantization.md, so a quantized region computes bit for bit what SpikeCore does in
graded mode), `arith.constant`, `func.call` and `func.return`. Types say batch 1; inputs may have any
batch B in their first axis, and every op is evaluated once on the whole batch.

:func:`run_function` returns a function's outputs; :func:`trace_function` also keeps every
intermediate value (of the function and of the functions it calls), which is what calibration needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, FloatAttr, IntegerAttr, ModuleOp, StringAttr, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.traits import ConstantLike

from spikeir.dialects import nn, quant
from spikeir.errors import InterpreterError
from spikeir.ir.arrays import numpy_dtype, to_numpy
from spikeir.numerics.quantization import quantize_to_int8, quantized_dense, requantize

Array = NDArray[Any]


@dataclass
class Trace:
    """Every value one evaluation of ``function`` computed, and the traces of the calls it made."""

    function: str
    values: dict[SSAValue, Array] = field(default_factory=dict[SSAValue, Array])
    calls: list[tuple[func.CallOp, Trace]] = field(default_factory=list[tuple[func.CallOp, "Trace"]])
    outputs: tuple[Array, ...] = ()


Handler = Callable[[Operation, list[Array]], Array]


def _where(op: Operation) -> str:
    layer = op.properties.get("layer")
    return f'{op.name} "{layer.data}"' if isinstance(layer, StringAttr) else op.name


def _tensor_type(value: SSAValue) -> TensorType[Attribute]:
    typ = value.type
    if not isinstance(typ, TensorType):
        raise InterpreterError(f"expected a tensor value, got {typ}")
    return typ


def _float_dtype(value: SSAValue) -> np.dtype:
    return numpy_dtype(_tensor_type(value).element_type)


def _reshape(op: Operation, x: Array) -> Array:
    """Reshape to the result type, with the batch axis following the input's when the type keeps it."""
    in_shape = _tensor_type(op.operands[0]).get_shape()
    out_shape = _tensor_type(op.results[0]).get_shape()
    if in_shape and out_shape and in_shape[0] == out_shape[0]:
        return x.reshape((x.shape[0], *out_shape[1:]))
    if x.shape == in_shape:
        return x.reshape(out_shape)
    raise InterpreterError(
        f"cannot reshape {list(in_shape)} -> {list(out_shape)} for a batch of {x.shape[0]}: the result type drops "
        "the batch axis; run this function with batch 1",
        _where(op),
    )


def _scales(qtype: quant.UniformQuantizedType, rank: int) -> NDArray[np.float64]:
    """The scales, shaped to broadcast along the quantization axis of a rank-``rank`` array."""
    scales = np.asarray(qtype.scale_values, dtype=np.float64)
    if not qtype.is_per_axis:
        return scales.reshape(())
    shape = [1] * rank
    shape[qtype.axis.data] = scales.size
    return scales.reshape(shape)


def _fused_dense(op: Operation, args: list[Array]) -> Array:
    assert isinstance(op, nn.FusedDenseOp)
    y = args[0] @ args[1].T
    if len(args) == 3:
        y = y + args[2]
    if op.activation.data == "relu":
        y = np.maximum(y, 0)
    return y.astype(_float_dtype(op.result), copy=False)


def _softmax(op: Operation, args: list[Array]) -> Array:
    assert isinstance(op, nn.SoftmaxOp)
    axis = op.axis.value.data
    shifted = args[0] - args[0].max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def _constant(op: Operation, args: list[Array]) -> Array:
    assert isinstance(op, arith.ConstantOp)
    value = op.value
    if isinstance(value, DenseIntOrFPElementsAttr):
        return to_numpy(value)
    if isinstance(value, IntegerAttr | FloatAttr):
        return np.asarray(value.value.data, dtype=numpy_dtype(value.type))
    raise InterpreterError(f"unsupported constant value {value}", op.name)


def _quantize(op: Operation, args: list[Array]) -> Array:
    return quantize_to_int8(args[0], quant.quantized_element(op.results[0]).scale_values[0])


def _dequantize(op: Operation, args: list[Array]) -> Array:
    qtype = quant.quantized_element(op.operands[0])
    real = args[0].astype(np.float64) * _scales(qtype, args[0].ndim)
    return real.astype(_float_dtype(op.results[0]))


def _quant_constant(op: Operation, args: list[Array]) -> Array:
    assert isinstance(op, quant.ConstantOp)
    return to_numpy(op.dense)


def _quant_dense(op: Operation, args: list[Array]) -> Array:
    return quantized_dense(args[0], args[1], args[2])


def _requantize(op: Operation, args: list[Array]) -> Array:
    assert isinstance(op, quant.RequantizeOp)
    return requantize(args[0], np.asarray(op.multipliers, dtype=np.int64), op.shift.value.data)


_HANDLERS: dict[type[Operation], Handler] = {
    arith.ConstantOp: _constant,
    nn.DenseOp: lambda op, a: (a[0] @ a[1].T).astype(_float_dtype(op.results[0]), copy=False),
    nn.BiasAddOp: lambda op, a: (a[0] + a[1]).astype(_float_dtype(op.results[0]), copy=False),
    nn.ReluOp: lambda op, a: np.maximum(a[0], 0),
    nn.BatchFlattenOp: lambda op, a: a[0].reshape((a[0].shape[0], -1)),
    nn.ReshapeOp: lambda op, a: _reshape(op, a[0]),
    nn.SoftmaxOp: _softmax,
    nn.FusedDenseOp: _fused_dense,
    quant.QuantizeOp: _quantize,
    quant.DequantizeOp: _dequantize,
    quant.ConstantOp: _quant_constant,
    quant.DenseOp: _quant_dense,
    quant.RequantizeOp: _requantize,
    quant.ReluOp: lambda op, a: np.maximum(a[0], 0).astype(a[0].dtype),
}


class Interpreter:
    """Evaluates the functions of one module; constants are read once and reused across runs."""

    def __init__(self, module: ModuleOp) -> None:
        self.module = module
        self.functions: dict[str, func.FuncOp] = {
            op.sym_name.data: op for op in module.ops if isinstance(op, func.FuncOp)
        }
        self._constants: dict[Operation, Array] = {}

    def function(self, name: str) -> func.FuncOp:
        if name not in self.functions:
            known = ", ".join(f"@{n}" for n in self.functions) or "none"
            raise InterpreterError(f"no function @{name} in the module (functions: {known})", f"@{name}")
        return self.functions[name]

    def run(self, name: str, *inputs: ArrayLike) -> tuple[Array, ...]:
        """The outputs of ``@name`` on a batch of inputs."""
        fn = self.function(name)
        return self._evaluate(fn, self._check_inputs(fn, inputs), record=False).outputs

    def trace(self, name: str, *inputs: ArrayLike) -> Trace:
        """Like :meth:`run`, keeping every intermediate value, nested calls included."""
        fn = self.function(name)
        return self._evaluate(fn, self._check_inputs(fn, inputs), record=True)

    def _check_inputs(self, fn: func.FuncOp, inputs: Sequence[ArrayLike]) -> list[Array]:
        name = fn.sym_name.data
        arg_types = fn.function_type.inputs.data
        if len(inputs) != len(arg_types):
            raise InterpreterError(f"@{name} takes {len(arg_types)} input(s), got {len(inputs)}", f"@{name}")
        arrays: list[Array] = []
        batch: int | None = None
        for index, (value, typ) in enumerate(zip(inputs, arg_types)):
            if not isinstance(typ, TensorType):
                raise InterpreterError(f"argument {index} has non-tensor type {typ}", f"@{name}")
            shape = typ.get_shape()
            array = np.asarray(value)
            if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
                raise InterpreterError(
                    f"input {index} must be a real numeric array, got dtype {array.dtype}", f"@{name}"
                )
            if (
                array.ndim != len(shape)
                or array.shape[1:] != shape[1:]
                or (shape and shape[0] != 1 and array.shape[0] != shape[0])
            ):
                expected = (
                    "x".join(["B", *map(str, shape[1:])]) if shape and shape[0] == 1 else "x".join(map(str, shape))
                )
                raise InterpreterError(
                    f"input {index} has shape {list(array.shape)}, but the function expects {expected} (type {typ})",
                    f"@{name}",
                )
            if batch is not None and array.ndim and array.shape[0] != batch:
                raise InterpreterError(f"inputs disagree on the batch size ({batch} vs {array.shape[0]})", f"@{name}")
            batch = array.shape[0] if array.ndim else batch
            arrays.append(array.astype(numpy_dtype(typ.element_type), copy=False))
        return arrays

    def _evaluate(self, fn: func.FuncOp, args: list[Array], record: bool) -> Trace:
        trace = Trace(fn.sym_name.data)
        values = trace.values
        values.update(zip(fn.body.block.args, args))
        for op in fn.body.block.ops:
            operands = [values[v] for v in op.operands]
            if isinstance(op, func.ReturnOp):
                trace.outputs = tuple(operands)
                if not record:
                    trace.values = {}
                return trace
            if isinstance(op, func.CallOp):
                callee = op.callee.root_reference.data
                result = self._evaluate(self.function(callee), operands, record)
                if record:
                    trace.calls.append((op, result))
                values.update(zip(op.results, result.outputs))
                continue
            values[op.results[0]] = self._apply(op, operands)
        raise InterpreterError(f"@{fn.sym_name.data} has no func.return", f"@{fn.sym_name.data}")

    def _apply(self, op: Operation, operands: list[Array]) -> Array:
        handler = _HANDLERS.get(type(op))
        if handler is None:
            supported = ", ".join(sorted(cls.name for cls in _HANDLERS)) + ", func.call, func.return"
            raise InterpreterError(f"the interpreter cannot evaluate '{op.name}' (it supports {supported})", op.name)
        if op.has_trait(ConstantLike) and not operands:
            cached = self._constants.get(op)
            if cached is None:
                cached = self._constants[op] = handler(op, operands)
            return cached
        try:
            return handler(op, operands)
        except (ValueError, FloatingPointError) as error:
            raise InterpreterError(f"'{op.name}' failed: {error}", _where(op)) from error


def run_function(module: ModuleOp, name: str, *inputs: ArrayLike) -> tuple[Array, ...]:
    """Evaluate ``@name`` of ``module`` on a batch of inputs (first axis = batch); one array per result."""
    return Interpreter(module).run(name, *inputs)


def trace_function(module: ModuleOp, name: str, *inputs: ArrayLike) -> Trace:
    """Evaluate ``@name`` keeping every intermediate value (``Trace.values``, ``Trace.calls``)."""
    return Interpreter(module).trace(name, *inputs)
