"""TVM Relax -> nn: whole modules, and the SpikeCore regions that BYOC partitioning hands over.

Relax (apache-tvm 0.27) states a linear layer as ``matmul(x, permute_dims(W)) + b`` and a flatten
as ``reshape``; this maps those back to nn.dense / nn.bias_add / nn.batch_flatten so that a model
imported from Relax is the same IR as the same model imported from PyTorch or Relay text.

Supported Relax ops (`SUPPORTED_OPS`): matmul (right operand a constant, possibly through
permute_dims), add (of a constant bias vector or ``[1, C, 1, 1]`` channel bias, or of two computed
tensors), nn.conv2d (NCHW / OIHW, symmetric padding), nn.avg_pool2d / nn.max_pool2d,
nn.adaptive_avg_pool2d, mean over the spatial axes, nn.batch_norm (inference), concat, zeros_like (a
constant), nn.relu, nn.softmax, reshape / flatten, permute_dims of a constant; calls of
local functions (BYOC composites) and of other functions of the module are inlined. Weights are
constants (`tvm.ir.expr.GenericConst`) or, for `import_relax`, entries of ``params``.

`import tvm` takes seconds, so tvm is imported inside the functions, never at spikeir import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue

from spikeir.errors import FrontendError
from spikeir.frontends.builder import NNBuilder, bias_vector, shape_of


def import_relax(mod: Any, params: Mapping[str, np.ndarray] | None = None, entry: str = "main") -> ModuleOp:
    """Convert function ``entry`` of the Relax IRModule ``mod`` (with callees inlined) to nn.

    ``params`` binds function parameters by name (as `relax.frontend.detach_params` returns them
    for ``keep_params_as_input=True``); the remaining parameters are the model's inputs.
    """
    try:
        function = mod[entry]
    except Exception:  # tvm raises its own error kinds for a missing global
        raise FrontendError(f"the Relax module has no function '{entry}'", "relax") from None
    return _Converter(mod, params or {}).run(function, entry)


def import_relax_function(function: Any, mod: Any = None) -> ModuleOp:
    """Convert one Relax function (e.g. a BYOC region with its composites and constants) to nn."""
    name = (
        str(function.attrs["global_symbol"])
        if function.attrs is not None and "global_symbol" in function.attrs
        else "function"
    )
    return _Converter(mod, {}).run(function, name)


@dataclass(frozen=True)
class _Const:
    array: np.ndarray


Value = SSAValue | _Const | tuple[Any, ...]


class _Converter:
    def __init__(self, mod: Any, params: Mapping[str, np.ndarray]) -> None:
        import tvm
        from tvm import relax

        self.tvm = tvm
        self.relax = relax
        self.mod = mod
        self.params = params
        self.builder = NNBuilder()
        self.env: dict[Any, Value] = {}
        self.functions: dict[Any, Any] = {}
        """Local variables bound to functions (BYOC composites), called later in the body."""
        self.where = "relax"

    def run(self, function: Any, name: str) -> ModuleOp:
        self.where = name
        for param in function.params:
            key = str(param.name)
            if key in self.params:
                self.env[param] = _Const(np.asarray(self.params[key], dtype=np.float32))
                continue
            shape = self.tensor_shape(param, f"input '{key}'")
            self.env[param] = self.builder.input([1, *shape[1:]] if shape else shape, key)
        result = self.expr(self.inline_body(function))
        outputs = list(result) if isinstance(result, tuple) else [result]
        values = [o for o in outputs if isinstance(o, SSAValue)]
        if len(values) != len(outputs) or not values:
            raise FrontendError("every result must be a tensor computed from the inputs", name)
        return self.builder.finish(values)

    def inline_body(self, function: Any) -> Any:
        """Bind every binding of ``function``'s body in ``self.env``; return its result expression."""
        body = function.body
        if isinstance(body, self.relax.SeqExpr):
            for block in body.blocks:
                for binding in block.bindings:
                    if not isinstance(binding, self.relax.VarBinding):
                        raise FrontendError(f"binding kind {type(binding).__name__} is not supported", self.where)
                    if isinstance(binding.value, self.relax.Function):
                        self.functions[binding.var] = binding.value
                    else:
                        self.env[binding.var] = self.expr(binding.value)
            return body.body
        return body

    def tensor_shape(self, expr: Any, what: str) -> tuple[int, ...]:
        typ = expr.ty
        shape = getattr(typ, "shape", None)
        values = getattr(shape, "values", None)
        if values is None:
            raise FrontendError(f"{what} needs a static tensor shape, got {typ}", self.where)
        if str(getattr(typ, "dtype", "float32")) not in ("float32", "float64", "float16"):
            raise FrontendError(f"{what} must be a floating-point tensor, got {typ}", self.where)
        try:
            return tuple(int(v) for v in values)
        except TypeError:
            raise FrontendError(
                f"{what} has a symbolic shape {shape}: only static shapes are supported", self.where
            ) from None

    # -- expressions --------------------------------------------------------------------------

    def expr(self, expr: Any) -> Value:
        tvm, relax = self.tvm, self.relax
        if isinstance(expr, tvm.ir.expr.GenericConst):
            return _Const(expr.value.numpy().astype(np.float32))
        if isinstance(expr, relax.Tuple):
            return tuple(self.expr(field) for field in expr.fields)
        if isinstance(expr, relax.TupleGetItem):
            value = self.expr(expr.tuple_value)
            assert isinstance(value, tuple)
            return value[int(expr.index)]
        if isinstance(expr, relax.Call):
            return self.call(expr)
        if expr in self.env:
            return self.env[expr]
        raise FrontendError(f"Relax expression {type(expr).__name__} is not supported: {expr}", self.where)

    def call(self, call: Any) -> Value:
        op = call.op
        if op in self.functions:
            return self.inline(self.functions[op], call)
        if isinstance(op, self.tvm.ir.GlobalVar):
            if self.mod is None:
                raise FrontendError(f"call of @{op.name_hint} outside a module", self.where)
            return self.inline(self.mod[op], call)
        if not isinstance(op, self.tvm.ir.Op):
            raise FrontendError(f"call of {op} is not supported", self.where)
        name = str(getattr(op, "name"))  # noqa: B009 (tvm.ir.Op declares no `name` for pyright)
        args: list[Any] = [self.expr(a) for a in call.args[:1]] + list(call.args[1:])
        if name == "relax.permute_dims" or name == "relax.reshape" and isinstance(args[0], _Const):
            return self.fold(name, call, args)
        convert = _OPS.get(name)
        if convert is None:
            hint = (
                ": nn has no log_softmax; use softmax (the argmax is the same)"
                if name == "relax.nn.log_softmax"
                else ""
            )
            raise FrontendError(
                f"Relax op '{name}' is not supported by spikeir{hint}; supported ops: {', '.join(SUPPORTED_OPS)}",
                self.where,
            )
        return convert(self, name, call, args, f"{self.where}: {name}")

    def matmul(self, name: str, call: Any, args: list[Any], where: str) -> Value:
        x, rhs = args[0], self.expr(args[1])
        weight = self.constant(rhs, name, "right operand")
        if weight.ndim != 2:
            raise FrontendError(f"the right operand must be a matrix, got shape {list(weight.shape)}", where)
        return self.builder.dense(self.activation(x, name), weight.T, None, where)

    def add(self, name: str, call: Any, args: list[Any], where: str) -> Value:
        """Two activations: nn.add (a skip connection); an activation and a constant: a bias, along
        the last axis or, as ``[1, C, 1, 1]`` after a convolution, along the channels."""
        lhs, rhs = args[0], self.expr(args[1])
        if isinstance(lhs, _Const):
            lhs, rhs = rhs, lhs
        if isinstance(lhs, SSAValue) and isinstance(rhs, SSAValue):
            return self.builder.add(lhs, rhs, where)
        bias = self.constant(rhs, name, "bias (only constant bias vectors can be added)")
        x = self.activation(lhs, name)
        if len(shape_of(x)) == 4 and bias.ndim == 4 and bias.shape[0] == 1 and bias.shape[2:] == (1, 1):
            return self.builder.channel_bias(x, bias.reshape(-1), where)
        return self.builder.bias_add(x, bias_vector(bias, name, where), where)

    def relu(self, name: str, call: Any, args: list[Any], where: str) -> Value:
        return self.builder.relu(self.activation(args[0], name))

    def softmax(self, name: str, call: Any, args: list[Any], where: str) -> Value:
        return self.builder.softmax(self.activation(args[0], name), int(call.attrs.axis), where)

    def reshape(self, name: str, call: Any, args: list[Any], where: str) -> Value:
        target = [int(v) for v in args[1].values]
        shape = [-1 if i == 0 else d for i, d in enumerate(target)]
        return self.builder.reshape(self.activation(args[0], name), shape, name, where)

    def flatten(self, name: str, call: Any, args: list[Any], where: str) -> Value:
        return self.builder.reshape(self.activation(args[0], name), [-1], name, where)

    def conv2d(self, name: str, call: Any, args: list[Any], where: str) -> Value:
        attrs = call.attrs
        _check_layout(name, {"data_layout": "NCHW", "kernel_layout": "OIHW", "out_layout": "NCHW"}, attrs, where)
        weight = self.constant(self.expr(args[1]), name, "weight")
        return self.builder.conv2d(
            self.activation(args[0], name),
            weight,
            _pair(attrs.strides),
            [int(p) for p in attrs.padding],
            _pair(attrs.dilation),
            int(attrs.groups),
            None,
            where,
        )

    def pool2d(self, name: str, call: Any, args: list[Any], where: str) -> Value:
        """avg_pool2d / max_pool2d: symmetric padding, no dilation, floor sizing; an average over
        padding must count the padding (nn.pool2d's avg divides by the whole window)."""
        attrs = call.attrs
        _check_layout(name, {"layout": "NCHW", "out_layout": "NCHW"}, attrs, where)
        padding = [int(p) for p in attrs.padding]
        kind = "max" if name == "relax.nn.max_pool2d" else "avg"
        if _pair(attrs.dilation) != (1, 1) or bool(attrs.ceil_mode):
            raise FrontendError(f"{name}: dilation and ceil_mode=True are not supported", where)
        if any(padding) and (kind == "max" or not bool(attrs.count_include_pad)):
            raise FrontendError(
                f"{name}: padding {padding} is supported only for an average that counts it "
                "(count_include_pad=True); max pooling pads with -inf, nn.pool2d with zeros",
                where,
            )
        x = self.activation(args[0], name)
        return self.builder.pool2d(x, kind, _pair(attrs.pool_size), _pair(attrs.strides), padding, None, where)

    def adaptive_avg_pool2d(self, name: str, call: Any, args: list[Any], where: str) -> Value:
        _check_layout(name, {"layout": "NCHW", "out_layout": "NCHW"}, call.attrs, where)
        x = self.activation(args[0], name)
        in_h, in_w = shape_of(x)[2:]
        size = call.attrs.output_size
        out_h, out_w = (in_h, in_w) if size is None else _pair(size)
        if in_h % out_h or in_w % out_w:
            raise FrontendError(
                f"{name}: output size {[out_h, out_w]} does not divide the {in_h}x{in_w} map evenly", where
            )
        kernel = (in_h // out_h, in_w // out_w)
        return self.builder.pool2d(x, "avg", kernel, kernel, 0, None, where)

    def mean(self, name: str, call: Any, args: list[Any], where: str) -> Value:
        """The mean over the spatial axes of an NCHW map: global average pooling."""
        x = self.activation(args[0], name)
        shape = shape_of(x)
        axes = sorted(int(a) % len(shape) for a in call.attrs.axis) if call.attrs.axis is not None else []
        if len(shape) != 4 or axes != [2, 3]:
            raise FrontendError(
                f"{name}: only the mean over the spatial axes [2, 3] of an NCHW map is supported, got axes "
                f"{axes} of shape {list(shape)}",
                where,
            )
        pooled = self.builder.global_avg_pool(x, None, where)
        return pooled if bool(call.attrs.keepdims) else self.builder.reshape(pooled, [-1, shape[1]], name, where)

    def batch_norm(self, name: str, call: Any, args: list[Any], where: str) -> Value:
        """Inference batch norm on axis 1: the normalised tensor and the (unchanged) moving statistics."""
        attrs = call.attrs
        if int(attrs.axis) != 1 or bool(attrs.training):
            raise FrontendError(f"{name}: only inference batch norm on the channel axis 1 is supported", where)
        x = self.activation(args[0], name)
        gamma, beta, mean, variance = (self.constant(self.expr(a), name, "statistics") for a in args[1:5])
        if not bool(attrs.scale):
            gamma = np.ones_like(gamma)
        if not bool(attrs.center):
            beta = np.zeros_like(beta)
        result = self.builder.batch_norm(x, gamma, beta, mean, variance, float(attrs.epsilon), None, where)
        return (result, _Const(mean), _Const(variance))

    def concat(self, name: str, call: Any, args: list[Any], where: str) -> Value:
        fields = args[0] if isinstance(args[0], tuple) else (args[0],)
        values = [self.activation(field, name) for field in fields]
        return self.builder.concat(values, int(call.attrs.axis), where)

    def zeros_like(self, name: str, call: Any, args: list[Any], where: str) -> Value:
        """A constant (the importer writes max pooling's unused indices so)."""
        return _Const(np.zeros(self.tensor_shape(call, name), dtype=np.float32))

    def fold(self, name: str, call: Any, args: list[Any]) -> _Const:
        array = self.constant(args[0], name, "operand (only constants can be permuted)")
        if name == "relax.permute_dims":
            axes = call.attrs.axes
            return _Const(np.transpose(array, None if axes is None else [int(a) for a in axes]))
        return _Const(array.reshape([int(v) for v in args[1].values]))

    def inline(self, function: Any, call: Any) -> Value:
        """The value of calling ``function`` (a composite or a module function) with ``call``'s args."""
        for param, arg in zip(function.params, call.args, strict=True):
            self.env[param] = self.expr(arg)
        return self.expr(self.inline_body(function))

    def activation(self, value: Value, op: str) -> SSAValue:
        if not isinstance(value, SSAValue):
            raise FrontendError(f"{op}: expected a tensor computed from the inputs", self.where)
        return value

    def constant(self, value: Value, op: str, what: str) -> np.ndarray:
        if not isinstance(value, _Const):
            raise FrontendError(f"{op}: the {what} must be a constant", self.where)
        return value.array


_OPS: dict[str, Callable[[_Converter, str, Any, list[Any], str], Value]] = {
    "relax.matmul": _Converter.matmul,
    "relax.add": _Converter.add,
    "relax.nn.relu": _Converter.relu,
    "relax.nn.softmax": _Converter.softmax,
    "relax.reshape": _Converter.reshape,
    "relax.flatten": _Converter.flatten,
    "relax.nn.conv2d": _Converter.conv2d,
    "relax.nn.avg_pool2d": _Converter.pool2d,
    "relax.nn.max_pool2d": _Converter.pool2d,
    "relax.nn.adaptive_avg_pool2d": _Converter.adaptive_avg_pool2d,
    "relax.mean": _Converter.mean,
    "relax.nn.batch_norm": _Converter.batch_norm,
    "relax.concat": _Converter.concat,
    "relax.zeros_like": _Converter.zeros_like,
}
"""The Relax ops the importer converts (after folding constant permutes and reshapes), by name."""

SUPPORTED_OPS = tuple(sorted([*_OPS, "relax.permute_dims"]))
"""What unsupported-op errors list (permute_dims only of constants)."""


def _pair(values: Any) -> tuple[int, int]:
    """A Relax attribute of two integers (or one, for both axes)."""
    items = [int(v) for v in values] if hasattr(values, "__len__") else [int(values)]
    return (items[0], items[-1])


def _check_layout(name: str, expected: Mapping[str, str], attrs: Any, where: str) -> None:
    for key, layout in expected.items():
        value = str(getattr(attrs, key))
        if value not in (layout, ""):
            raise FrontendError(f"{name}: {key} {value} is not supported (only {layout})", where)
