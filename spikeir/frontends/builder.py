"""The one place that builds `nn` IR for every frontend.

Torch, Relay text and Relax all funnel through `NNBuilder`, so a model arrives as the *same* IR
whichever way it came in (docs/pipeline.md section 1): constants hoisted to the top of `@main` in
order of first use, `nn.batch_flatten` for "keep the batch, flatten the rest", f32 everywhere.
Shape rules are checked here, as `FrontendError`s that name the op and its source location, before
the nn verifiers could fail with a message about IR the user never wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

import numpy as np
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import ModuleOp, TensorType, f32
from xdsl.ir import Block, Operation, Region, SSAValue

from spikeir.dialects import nn
from spikeir.errors import FrontendError
from spikeir.ir.arrays import dense_attr


def shape_of(value: SSAValue) -> tuple[int, ...]:
    typ = value.type
    assert isinstance(typ, TensorType)
    return tuple(typ.get_shape())


def resolve_shape(new_shape: Sequence[int], count: int, op: str, location: str | None) -> tuple[int, ...]:
    """A reshape target with at most one ``-1`` resolved against ``count`` elements."""
    dims = [int(d) for d in new_shape]
    if dims.count(-1) > 1 or any(d < -1 for d in dims):
        raise FrontendError(f"{op}: invalid target shape {dims}", location)
    known = prod(d for d in dims if d != -1)
    if -1 in dims:
        if known == 0 or count % known:
            raise FrontendError(f"{op}: cannot reshape {count} elements to {dims}", location)
        dims[dims.index(-1)] = count // known
    if prod(dims) != count:
        raise FrontendError(f"{op}: cannot reshape {count} elements to {dims}", location)
    return tuple(dims)


def bias_vector(array: np.ndarray, op: str, location: str | None) -> np.ndarray:
    """A bias as the vector nn.bias_add takes: a ``[1, N]`` row (as broadcasting adds it) is ``[N]``."""
    if array.ndim == 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 1:
        raise FrontendError(f"{op}: the bias must be a vector, got shape {list(array.shape)}", location)
    return array


class NNBuilder:
    """Accumulates the body of `func.func @main` in nn ops; `finish` wraps it in a module."""

    def __init__(self) -> None:
        self._args: list[tuple[str | None, TensorType]] = []
        self._block = Block()
        self._constants: list[Operation] = []
        self._ops: list[Operation] = []
        self._dense_count = 0

    # -- values -------------------------------------------------------------------------------

    def input(self, shape: Sequence[int], name: str | None = None) -> SSAValue:
        """A new argument of `@main` (an f32 tensor of ``shape``)."""
        typ = TensorType(f32, [int(d) for d in shape])
        arg = self._block.insert_arg(typ, len(self._block.args))
        if name is not None and _valid_name(name):
            arg.name_hint = name
        self._args.append((name, typ))
        return arg

    def constant(self, array: np.ndarray, name: str) -> SSAValue:
        op = arith.ConstantOp(dense_attr(np.ascontiguousarray(array, dtype=np.float32)))
        op.result.name_hint = name
        self._constants.append(op)
        return op.result

    def _add(self, op: Operation) -> SSAValue:
        self._ops.append(op)
        return op.results[0]

    # -- ops ----------------------------------------------------------------------------------

    def dense(self, x: SSAValue, weight: np.ndarray, layer: str | None, location: str | None) -> SSAValue:
        """``x @ weight^T`` with ``weight`` laid out [out_features, in_features]."""
        in_shape = shape_of(x)
        if weight.ndim != 2:
            raise FrontendError(f"dense: the weight must be 2-D [out, in], got shape {list(weight.shape)}", location)
        if len(in_shape) != 2:
            raise FrontendError(
                f"dense: the input must be 2-D [batch, features], got shape {list(in_shape)} (flatten it first)",
                location,
            )
        if in_shape[1] != weight.shape[1]:
            raise FrontendError(
                f"dense{_layer_note(layer)}: the input has {in_shape[1]} features but the weight "
                f"{list(weight.shape)} expects {weight.shape[1]}",
                location,
            )
        index = self._dense_count
        self._dense_count += 1
        w = self.constant(weight, f"w{index}")
        result_type = TensorType(f32, [in_shape[0], weight.shape[0]])
        return self._add(nn.DenseOp(x, w, result_type, layer if layer is not None else f"dense_{index}"))

    def bias_add(self, x: SSAValue, bias: np.ndarray, location: str | None) -> SSAValue:
        in_shape = shape_of(x)
        if bias.shape != (in_shape[-1],):
            raise FrontendError(
                f"bias_add: the bias has shape {list(bias.shape)} but the input's last axis has "
                f"{in_shape[-1]} elements",
                location,
            )
        b = self.constant(bias, f"b{max(self._dense_count - 1, 0)}")
        return self._add(nn.BiasAddOp(x, b))

    def relu(self, x: SSAValue) -> SSAValue:
        return self._add(nn.ReluOp(x))

    def softmax(self, x: SSAValue, axis: int, location: str | None) -> SSAValue:
        rank = len(shape_of(x))
        if not -rank <= axis < rank:
            raise FrontendError(f"softmax: axis {axis} is out of range for a rank-{rank} input", location)
        return self._add(nn.SoftmaxOp(x, axis - rank if axis >= 0 else axis))

    def reshape(self, x: SSAValue, new_shape: Sequence[int], op: str, location: str | None) -> SSAValue:
        """Reshape (``-1`` allowed); a [B, ...] -> [B, prod(...)] reshape is `nn.batch_flatten`."""
        in_shape = shape_of(x)
        out_shape = resolve_shape(new_shape, prod(in_shape), op, location)
        if out_shape == in_shape:
            return x
        result_type = TensorType(f32, out_shape)
        if len(in_shape) > 2 and len(out_shape) == 2 and out_shape[0] == in_shape[0]:
            return self._add(nn.BatchFlattenOp(x, result_type))
        return self._add(nn.ReshapeOp(x, result_type))

    # -- result -------------------------------------------------------------------------------

    def finish(self, outputs: Sequence[SSAValue]) -> ModuleOp:
        """`builtin.module { func.func @main(...) }`, verified."""
        self._block.add_ops([*self._constants, *self._ops, func.ReturnOp(*outputs)])
        function = func.FuncOp(
            "main",
            ([typ for _, typ in self._args], [o.type for o in outputs]),
            Region(self._block),
        )
        module = ModuleOp([function])
        module.verify()
        return module


def _valid_name(name: str) -> bool:
    return bool(name) and (name[0].isalpha() or name[0] == "_") and all(c.isalnum() or c in "_$." for c in name)


def _layer_note(layer: str | None) -> str:
    return f" '{layer}'" if layer else ""
