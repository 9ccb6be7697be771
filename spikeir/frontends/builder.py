"""The one place that builds `nn` IR for every frontend.

Torch, Relay text and Relax all funnel through `NNBuilder`, so a model arrives as the *same* IR
whichever way it came in (docs/pipeline.md section 1): constants hoisted to the top of `@main` in
order of first use, `nn.batch_flatten` for "keep the batch, flatten the rest", f32 everywhere.
Shape rules are checked here, as `FrontendError`s that name the op and its source location, before
the nn verifiers could fail with a message about IR the user never wrote.

The contract every method keeps: the value(s) to transform come first, then the parameters as numpy
arrays (float32 or anything that converts; they become `arith.constant`s) and plain ints/floats, then
``layer`` (the source layer's name, kept on the op for diagnostics and reports; ``None`` names it
after its position, ``conv_0``) and ``location`` (where the op came from, e.g. ``model.py:12`` or a
node name, put in front of every error message). Convolutions are NCHW with OIHW weights.
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
from spikeir.ir.arrays import dense_attr, shape_of


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
        self._conv_count = 0
        self._norm_count = 0

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
        """``x + bias`` along the last axis (a dense layer's bias)."""
        in_shape = shape_of(x)
        if bias.shape != (in_shape[-1],):
            raise FrontendError(
                f"bias_add: the bias has shape {list(bias.shape)} but the input's last axis has "
                f"{in_shape[-1]} elements",
                location,
            )
        b = self.constant(bias, f"b{max(self._dense_count - 1, 0)}")
        return self._add(nn.BiasAddOp(x, b))

    def channel_bias(self, x: SSAValue, bias: np.ndarray, location: str | None) -> SSAValue:
        """``x + bias[c]`` along the channel axis 1 of an NCHW map (a convolution's bias):
        `nn.bias_add` with ``axis(1)``."""
        in_shape = shape_of(x)
        bias = np.asarray(bias)
        if len(in_shape) < 2 or bias.shape != (in_shape[1],):
            raise FrontendError(
                f"channel bias: the bias has shape {list(bias.shape)} but the input {list(in_shape)} has "
                f"{in_shape[1] if len(in_shape) > 1 else 0} channels (axis 1)",
                location,
            )
        b = self.constant(bias, f"cb{max(self._conv_count - 1, 0)}")
        return self._add(nn.BiasAddOp(x, b, axis=1))

    def conv2d(
        self,
        x: SSAValue,
        weight: np.ndarray,
        stride: Sequence[int] | int = 1,
        padding: Sequence[int] | int = 0,
        dilation: Sequence[int] | int = 1,
        groups: int = 1,
        layer: str | None = None,
        location: str | None = None,
    ) -> SSAValue:
        """2-D convolution of an NCHW ``x`` with an OIHW ``weight`` ([out, in/groups, kh, kw]), no bias
        (add it with :meth:`channel_bias`). ``stride``, ``padding`` and ``dilation`` are an int or an
        (h, w) pair; ``padding`` may also be ONNX's [top, left, bottom, right] if it is symmetric
        (SpikeCore pads both sides alike: asymmetric padding is a `FrontendError`)."""
        name = f"conv2d{_layer_note(layer)}"
        in_shape = shape_of(x)
        if weight.ndim != 4:
            raise FrontendError(
                f"{name}: the weight must be 4-D [out, in/groups, kh, kw], got {list(weight.shape)}", location
            )
        if len(in_shape) != 4:
            raise FrontendError(f"{name}: the input must be 4-D NCHW, got shape {list(in_shape)}", location)
        params = nn.ConvParams(
            _hw(stride, "stride", name, location),
            _padding(padding, name, location),
            _hw(dilation, "dilation", name, location),
            int(groups),
        )
        if params.groups < 1 or in_shape[1] % params.groups or weight.shape[0] % params.groups:
            raise FrontendError(
                f"{name}: groups {params.groups} must divide the input channels {in_shape[1]} and the output "
                f"channels {weight.shape[0]}",
                location,
            )
        if weight.shape[1] * params.groups != in_shape[1]:
            raise FrontendError(
                f"{name}: the input has {in_shape[1]} channels but the weight {list(weight.shape)} with "
                f"groups={params.groups} expects {weight.shape[1] * params.groups}",
                location,
            )
        out_h, out_w = params.out_hw(in_shape[2], in_shape[3], (weight.shape[2], weight.shape[3]))
        if out_h < 1 or out_w < 1:
            raise FrontendError(
                f"{name}: the {weight.shape[2]}x{weight.shape[3]} kernel does not fit the "
                f"{in_shape[2]}x{in_shape[3]} input (padding {list(params.padding)}, dilation {list(params.dilation)})",
                location,
            )
        index = self._conv_count
        self._conv_count += 1
        w = self.constant(weight, f"k{index}")
        result_type = TensorType(f32, [in_shape[0], weight.shape[0], out_h, out_w])
        return self._add(nn.Conv2dOp(x, w, result_type, params, layer if layer is not None else f"conv_{index}"))

    def pool2d(
        self,
        x: SSAValue,
        kind: str,
        kernel: Sequence[int] | int,
        stride: Sequence[int] | int | None = None,
        padding: Sequence[int] | int = 0,
        layer: str | None = None,
        location: str | None = None,
    ) -> SSAValue:
        """Pooling of an NCHW ``x``: ``kind`` is ``avg`` (mean over the whole window, padding included),
        ``sum`` or ``max``; ``stride`` defaults to the kernel (PyTorch's default)."""
        name = f"{kind}_pool2d{_layer_note(layer)}"
        if kind not in tuple(k.value for k in nn.PoolKind):
            raise FrontendError(
                f"pool2d: unknown kind '{kind}' (kinds: {', '.join(k.value for k in nn.PoolKind)})", location
            )
        in_shape = shape_of(x)
        if len(in_shape) != 4:
            raise FrontendError(f"{name}: the input must be 4-D NCHW, got shape {list(in_shape)}", location)
        k = _hw(kernel, "kernel", name, location)
        s = k if stride is None else _hw(stride, "stride", name, location)
        pad = _padding(padding, name, location)
        if pad[0] * 2 > k[0] or pad[1] * 2 > k[1]:
            raise FrontendError(f"{name}: padding {list(pad)} must be at most half the kernel {list(k)}", location)
        out_h = nn.window_out_size(in_shape[2], k[0], s[0], pad[0])
        out_w = nn.window_out_size(in_shape[3], k[1], s[1], pad[1])
        if out_h < 1 or out_w < 1:
            raise FrontendError(
                f"{name}: the {k[0]}x{k[1]} window does not fit the {in_shape[2]}x{in_shape[3]} input", location
            )
        result_type = TensorType(f32, [in_shape[0], in_shape[1], out_h, out_w])
        return self._add(nn.Pool2dOp(x, kind, k, s, pad, result_type, layer))

    def global_avg_pool(self, x: SSAValue, layer: str | None = None, location: str | None = None) -> SSAValue:
        """Global average pooling ([B, C, H, W] -> [B, C, 1, 1]): an average pool as large as the map."""
        in_shape = shape_of(x)
        if len(in_shape) != 4:
            raise FrontendError(f"global_avg_pool: the input must be 4-D NCHW, got shape {list(in_shape)}", location)
        return self.pool2d(x, "avg", (in_shape[2], in_shape[3]), None, 0, layer, location)

    def add(self, x: SSAValue, y: SSAValue, location: str | None = None) -> SSAValue:
        """``x + y`` of two values of the same shape (a skip connection; no broadcasting)."""
        if shape_of(x) != shape_of(y):
            raise FrontendError(
                f"add: the operands have shapes {list(shape_of(x))} and {list(shape_of(y))}; SpikeCore adds "
                "values of the same shape only (no broadcasting)",
                location,
            )
        return self._add(nn.AddOp(x, y))

    def concat(self, xs: Sequence[SSAValue], axis: int = 1, location: str | None = None) -> SSAValue:
        """Concatenation along ``axis`` (the channel axis 1 by default; negative counts from the end)."""
        if not xs:
            raise FrontendError("concat: no inputs", location)
        first = shape_of(xs[0])
        rank = len(first)
        if not -rank <= axis < rank:
            raise FrontendError(f"concat: axis {axis} is out of range for rank {rank}", location)
        axis %= rank
        for index, value in enumerate(xs):
            shape = shape_of(value)
            if len(shape) != rank or any(a != b for i, (a, b) in enumerate(zip(shape, first)) if i != axis):
                raise FrontendError(
                    f"concat: input {index} has shape {list(shape)}, which differs from {list(first)} on an axis "
                    f"other than {axis}",
                    location,
                )
        out = list(first)
        out[axis] = sum(shape_of(v)[axis] for v in xs)
        return self._add(nn.ConcatOp(xs, axis, TensorType(f32, out)))

    def batch_norm(
        self,
        x: SSAValue,
        gamma: np.ndarray,
        beta: np.ndarray,
        mean: np.ndarray,
        variance: np.ndarray,
        epsilon: float,
        layer: str | None = None,
        location: str | None = None,
    ) -> SSAValue:
        """Inference batch norm along the channel axis 1 of a [B, C] or [B, C, H, W] ``x``:
        ``(x - mean) / sqrt(variance + epsilon) * gamma + beta`` (the running statistics in eval mode)."""
        name = f"batch_norm{_layer_note(layer)}"
        in_shape = shape_of(x)
        if len(in_shape) not in (2, 4):
            raise FrontendError(f"{name}: the input must be [B, C] or [B, C, H, W], got {list(in_shape)}", location)
        arrays = {"gamma": gamma, "beta": beta, "mean": mean, "variance": variance}
        for what, array in arrays.items():
            if np.shape(array) != (in_shape[1],):
                raise FrontendError(
                    f"{name}: {what} has shape {list(np.shape(array))}, expected [{in_shape[1]}] (one per channel)",
                    location,
                )
        if not (np.isfinite(epsilon) and epsilon >= 0):
            raise FrontendError(f"{name}: epsilon must be a finite number >= 0, got {epsilon}", location)
        index = self._norm_count
        self._norm_count += 1
        g, b, m, v = (self.constant(np.asarray(a), f"bn{index}_{what}") for what, a in arrays.items())
        return self._add(nn.BatchNormOp(x, g, b, m, v, float(epsilon), layer if layer is not None else f"bn_{index}"))

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


def _hw(value: Sequence[int] | int, what: str, op: str, location: str | None) -> tuple[int, int]:
    """An int or an (h, w) pair as a pair of positive ints."""
    pair = (int(value), int(value)) if isinstance(value, int | np.integer) else tuple(int(v) for v in value)
    if len(pair) != 2 or min(pair) < 1:
        raise FrontendError(f"{op}: {what} must be a positive int or an (h, w) pair, got {list(pair)}", location)
    return pair[0], pair[1]


def _padding(value: Sequence[int] | int, op: str, location: str | None) -> tuple[int, int]:
    """Symmetric padding (h, w) from an int, an (h, w) pair or ONNX's [top, left, bottom, right]."""
    pads = (int(value),) * 2 if isinstance(value, int | np.integer) else tuple(int(v) for v in value)
    if len(pads) == 4:
        if pads[:2] != pads[2:]:
            raise FrontendError(
                f"{op}: asymmetric padding {list(pads)} ([top, left, bottom, right]): SpikeCore's conv pads both "
                "sides alike; pad the input explicitly or use symmetric padding",
                location,
            )
        pads = pads[:2]
    if len(pads) != 2 or min(pads) < 0:
        raise FrontendError(
            f"{op}: padding must be an int >= 0, an (h, w) pair or 4 values, got {list(pads)}", location
        )
    return pads[0], pads[1]
