"""Legacy TVM Relay text -> nn.

apache-tvm 0.27 has no Relay, but models exported by older TVM (and the seed notebook) exist as
Relay text plus a parameter file. This parses the text form that TVM printed with a lark grammar
and maps its ops to nn:

- ``fn (%input0: Tensor[(1, 1, 28, 28), float32]) { ... }`` or ``def @main(...) -> ... { ... }``,
  an optional ``#[version = "0.0.5"]`` header, ``free_var`` declarations, bindings
  ``%1 = ...;`` / ``let %x = ...;``, and ``/* ... */`` / ``// ...`` comments (TVM's type notes).
- Tuples ``(%a, %b)``, tuple fields ``%1.0`` and float attributes with TVM's ``f`` suffix.
- Ops (`SUPPORTED_OPS`): nn.batch_flatten, nn.dense, nn.bias_add (last axis, or the channels of an
  NCHW map), add (of a bias, or of two computed tensors: a skip connection), nn.conv2d,
  nn.avg_pool2d / nn.max_pool2d, nn.global_avg_pool2d / nn.adaptive_avg_pool2d, nn.batch_norm
  (inference), concatenate, nn.relu, nn.softmax, reshape (``newshape``, with Relay's 0 and -1),
  transpose of a constant, copy.

Parameters (``params``, e.g. an ``.npz`` read with ``allow_pickle=False``):
- a variable ``%fc1_weight`` (a function parameter or a free variable) takes ``params["fc1_weight"]``;
  function parameters without an entry are the model's inputs;
- ``meta[relay.Constant][i]`` takes ``params["meta_relay_constant_<i>"]``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import IO, Any

import numpy as np
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue

from spikeir.errors import DataError, FrontendError
from spikeir.fileio import check_nesting, read_npz
from spikeir.frontends.builder import NNBuilder, bias_vector, shape_of

GRAMMAR = r"""
start: version? free_var* (function | fn)

version: "#[" "version" "=" STRING "]"
free_var: "free_var" LOCAL ":" type ";"
function: "def" GLOBAL "(" params? ")" ("->" type)? "{" body "}"
fn: "fn" "(" params? ")" ("->" type)? "{" body "}"
params: param ("," param)*
param: LOCAL [":" type]

type: "Tensor" "[" "(" dims? ")" "," NAME "]"   -> tensor_type
    | NAME                                       -> scalar_type
dims: INT ("," INT)* ","?

body: binding* expr
binding: "let"? LOCAL [":" type] "=" expr ";"

?expr: call
     | LOCAL                                  -> var
     | "meta" "[" NAME "]" "[" INT "]"        -> meta
     | "(" expr ")"
     | "(" expr ("," expr)+ ","? ")"          -> tuple
call: NAME "(" [arg ("," arg)*] ")"
?arg: expr
    | NAME "=" value                          -> attr
?value: SIGNED_NUMBER "f"?                    -> number
      | STRING                                -> string
      | NAME                                  -> name
      | "[" [value ("," value)*] "]"          -> list
      | "(" [value ("," value)*] ")"          -> list

NAME: /[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/
LOCAL: /%[A-Za-z0-9_][A-Za-z0-9_.]*(::[A-Za-z0-9_.]+)*/
GLOBAL: /@[A-Za-z_][A-Za-z0-9_.]*/
STRING: /"[^"]*"/
COMMENT: /\/\*(.|\n)*?\*\// | /\/\/[^\n]*/

%import common.INT
%import common.SIGNED_NUMBER
%import common.WS
%ignore WS
%ignore COMMENT
"""


@cache
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=True)


def meta_constant_key(index: int) -> str:
    """The params key that holds ``meta[relay.Constant][index]``."""
    return f"meta_relay_constant_{index}"


def import_relay(text: str, params: Mapping[str, np.ndarray], filename: str | None = None) -> ModuleOp:
    """Convert Relay text with its weights ``params`` to `func.func @main` in the nn dialect."""
    try:
        check_nesting(text, filename)  # lark's tree builders recurse per level: 2,000 ended in RecursionError
    except DataError as err:
        raise FrontendError(err.message, err.location) from None
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as err:
        raise _syntax_error(err, text, filename) from None
    return _Converter(params, filename).run(tree)


def load_params(source: str | os.PathLike[str] | IO[bytes]) -> dict[str, np.ndarray]:
    """Read a ``.npz`` parameter file (path or binary stream) with `read_npz`: bounded, no pickles, and
    only integer and float arrays (a complex, bool or datetime weight has no float32 meaning)."""
    try:
        return read_npz(source, kinds="iuf")
    except DataError as err:
        raise FrontendError(f"cannot read the Relay params file: {err.message}", err.location) from None


def _syntax_error(err: UnexpectedInput, text: str, filename: str | None) -> FrontendError:
    line, column = err.line, err.column
    if isinstance(err, UnexpectedToken):
        token = err.token
        found = "end of input" if token.type == "$END" else f"'{token}'"
        expected = ", ".join(sorted(_describe(t) for t in err.expected)[:8])
        message = f"unexpected {found}, expected {expected}"
    elif isinstance(err, UnexpectedCharacters):
        message = f"unexpected character '{text[err.pos_in_stream]}'"
    elif isinstance(err, UnexpectedEOF):
        message = "unexpected end of input"
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
    else:
        message = str(err)
    place = f"{line}:{column}"
    return FrontendError(f"syntax error: {message}", f"{filename}:{place}" if filename else place)


_TERMINALS = {
    "LPAR": "'('",
    "RPAR": "')'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "SEMICOLON": "';'",
    "EQUAL": "'='",
    "COLON": "':'",
    "LOCAL": "a %variable",
    "NAME": "a name",
    "INT": "an integer",
    "SIGNED_NUMBER": "a number",
    "STRING": "a string",
    "GLOBAL": "an @name",
    "__ANON_0": "'->'",
    "$END": "end of input",
}


def _describe(terminal: str) -> str:
    if terminal in _TERMINALS:
        return _TERMINALS[terminal]
    return f"'{terminal.lower()}'" if terminal.isupper() and terminal.isalpha() else terminal


@dataclass(frozen=True)
class _Const:
    array: np.ndarray
    source: str | None
    """The variable the weight came from, for layer names."""


Value = SSAValue | _Const | tuple[Any, ...]
"""A tuple for nn.batch_norm's three results and ``(%a, %b)`` expressions."""


class _Converter:
    def __init__(self, params: Mapping[str, np.ndarray], filename: str | None) -> None:
        self.params = params
        self.filename = filename
        self.builder = NNBuilder()
        self.env: dict[str, Value] = {}
        self.declared: dict[str, tuple[int, ...] | None] = {}
        self.inputs: dict[SSAValue, str] = {}
        self.batch: int | None = None

    def where(self, node: Tree | Token) -> str:
        if isinstance(node, Token):
            line, column = node.line, node.column
        else:
            line, column = node.meta.line, node.meta.column
        place = f"{line}:{column}"
        return f"{self.filename}:{place}" if self.filename else place

    def run(self, tree: Tree) -> ModuleOp:
        for child in tree.children:
            if isinstance(child, Tree) and child.data == "free_var":
                name, typ = child.children
                self.declared[str(name)] = self.tensor_type(typ)
            elif isinstance(child, Tree) and child.data in ("function", "fn"):
                return self.function(child)
        raise AssertionError("the grammar always has a function")

    def function(self, tree: Tree) -> ModuleOp:
        params = next((c for c in tree.children if isinstance(c, Tree) and c.data == "params"), None)
        body = next(c for c in tree.children if isinstance(c, Tree) and c.data == "body")
        seen: dict[str, Token] = {}
        for param in params.children if params is not None else []:
            assert isinstance(param, Tree)
            name, typ = param.children
            assert isinstance(name, Token)
            self.unique(name, seen)
            shape = self.tensor_type(typ) if isinstance(typ, Tree) else None
            key = str(name)[1:]
            if key in self.params:
                self.env[str(name)] = self.bound(name, shape)
                continue
            if shape is None:
                raise FrontendError(
                    f"input {name} needs a tensor type (or a value in the params file under '{key}')", self.where(name)
                )
            if shape and self.batch is None:
                self.batch = shape[0]
            value = self.builder.input([1, *shape[1:]] if shape else shape, key)
            self.inputs[value] = key
            self.env[str(name)] = value
        *bindings, result = body.children
        for binding in bindings:
            assert isinstance(binding, Tree)
            name, typ, expr = binding.children
            value = self.expr(expr)
            if isinstance(typ, Tree) and isinstance(value, SSAValue):
                self.check_type(value, self.tensor_type(typ), binding)
            self.env[str(name)] = value
        output = self.expr(result)
        if not isinstance(output, SSAValue):
            raise FrontendError("the function's result must be computed from its inputs", self.where(body))
        return self.builder.finish([output])

    def unique(self, name: Token, seen: dict[str, Token]) -> None:
        """Refuse a parameter name used twice: the second would silently shadow the first."""
        first = seen.setdefault(str(name), name)
        if first is not name:
            raise FrontendError(
                f"parameter {name} is declared twice (first at {first.line}:{first.column})", self.where(name)
            )

    def tensor_type(self, tree: Tree) -> tuple[int, ...] | None:
        if tree.data == "scalar_type":
            return ()
        *dims, dtype = tree.children  # `Tensor[(), float32]` has no dims node
        dims_tree = dims[0] if dims else None
        if str(dtype) not in ("float32", "float64", "float16"):
            raise FrontendError(f"only floating-point tensors are supported, got {dtype}", self.where(tree))
        return tuple(int(str(d)) for d in dims_tree.children) if isinstance(dims_tree, Tree) else ()

    def check_type(self, value: SSAValue, declared: tuple[int, ...] | None, node: Tree) -> None:
        actual = shape_of(value)
        expected = declared if not declared or self.batch in (None, 1) else (1, *declared[1:])
        if expected is not None and actual != expected:
            raise FrontendError(
                f"declared shape {list(declared or ())} but the value has shape {list(actual)}", self.where(node)
            )

    def no_value(self, key: str) -> str:
        """Why ``key`` has no value: no params at all (the usual slip), or this one is missing."""
        if not self.params:
            return "no params were given (spike-opt --params FILE.npz, or params= from Python)"
        return f"the params file has no '{key}'"

    def bound(self, name: Token, shape: tuple[int, ...] | None) -> _Const:
        """The params entry of variable ``name``, checked against its declared shape."""
        key = str(name)[1:]
        array = np.asarray(self.params[key])
        if shape is not None and tuple(array.shape) != shape:
            raise FrontendError(
                f"parameter {name} is declared {list(shape)} but the params file holds shape {list(array.shape)}",
                self.where(name),
            )
        return _Const(array.astype(np.float32), key)

    # -- expressions --------------------------------------------------------------------------

    def expr(self, tree: Tree | Token) -> Value:
        assert isinstance(tree, Tree)
        if tree.data == "tuple":
            return tuple(self.expr(child) for child in tree.children)
        if tree.data == "var":
            (name,) = tree.children
            assert isinstance(name, Token)
            return self.var(name)
        if tree.data == "meta":
            kind, index = tree.children
            if str(kind) != "relay.Constant":
                raise FrontendError(f"meta[{kind}] is not supported (only meta[relay.Constant])", self.where(tree))
            key = meta_constant_key(int(str(index)))
            if key not in self.params:
                raise FrontendError(
                    f"meta[relay.Constant][{index}] has no value: {self.no_value(key)}", self.where(tree)
                )
            return _Const(np.asarray(self.params[key]).astype(np.float32), None)
        assert tree.data == "call"
        op, *raw_args = tree.children
        args: list[Value] = []
        attrs: dict[str, Any] = {}
        for arg in raw_args:
            if arg is None:
                continue
            assert isinstance(arg, Tree)
            if arg.data == "attr":
                key, value = arg.children
                attrs[str(key)] = _literal(value)
            else:
                args.append(self.expr(arg))
        handler = _OPS.get(str(op))
        if handler is None:
            raise FrontendError(
                f"Relay op '{op}' is not supported by spikeir{_hint(str(op))}; supported ops: {', '.join(SUPPORTED_OPS)}",
                self.where(tree),
            )
        return handler(self, tree, str(op), args, attrs)

    def var(self, name: Token) -> Value:
        """A bound variable, a tuple's field (``%1.0``) or a weight from the params file."""
        if str(name) in self.env:
            return self.env[str(name)]
        field = self.tuple_field(name)
        if field is not None:
            return field
        key = str(name)[1:]
        if key not in self.params:
            raise FrontendError(f"variable {name} is not defined and {self.no_value(key)}", self.where(name))
        value = self.bound(name, self.declared.get(str(name)))
        self.env[str(name)] = value
        return value

    def tuple_field(self, name: Token) -> Value | None:
        """``%1.0``: field 0 of the tuple bound to ``%1`` (nn.batch_norm's result), else None."""
        base, _, index = str(name).rpartition(".")
        value = self.env.get(base)
        if not isinstance(value, tuple) or not index.isdigit():
            return None
        if int(index) >= len(value):
            raise FrontendError(f"{name}: {base} has {len(value)} fields", self.where(name))
        return value[int(index)]

    def activation(self, value: Value, op: str, tree: Tree) -> SSAValue:
        if isinstance(value, tuple):
            raise FrontendError(f"{op}: expected a tensor, got a tuple (take one field: %name.0)", self.where(tree))
        if not isinstance(value, SSAValue):
            raise FrontendError(f"{op}: expected a value computed from the inputs, got a constant", self.where(tree))
        return value

    def const(self, value: Value, op: str, what: str, tree: Tree) -> _Const:
        if isinstance(value, SSAValue) and value in self.inputs:
            name = self.inputs[value]
            raise FrontendError(f"{op}: the {what} %{name} has no value: {self.no_value(name)}", self.where(tree))
        if not isinstance(value, _Const):
            raise FrontendError(f"{op}: the {what} must be a parameter or constant", self.where(tree))
        return value


def _literal(tree: Tree | Token) -> Any:
    assert isinstance(tree, Tree)
    if tree.data == "number":
        text = str(tree.children[0])
        return float(text) if any(c in text for c in ".eE") else int(text)
    if tree.data == "string":
        return str(tree.children[0])[1:-1]
    if tree.data == "name":
        return {"True": True, "False": False, "None": None}.get(str(tree.children[0]), str(tree.children[0]))
    return [_literal(c) for c in tree.children if c is not None]


def _arity(op: str, args: list[Value], count: int, conv: _Converter, tree: Tree) -> None:
    if len(args) != count:
        raise FrontendError(f"{op} takes {count} argument(s), got {len(args)}", conv.where(tree))


def _no_attrs(op: str, attrs: dict[str, Any], conv: _Converter, tree: Tree) -> None:
    """Relay's ``add``, ``nn.relu``, ``nn.batch_flatten`` and ``copy`` have no attributes: one given is
    a mistake in the text (``add(..., axis=x)``), never something to ignore."""
    if attrs:
        raise FrontendError(f"{op} takes no attributes, got {', '.join(attrs)}", conv.where(tree))


def _int_attr(attrs: dict[str, Any], name: str, default: int, op: str, conv: _Converter, tree: Tree) -> int:
    """Attribute ``name`` as an integer: a name, string or float there is the user's error, not ours."""
    value = attrs.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise FrontendError(f"{op}: {name} must be an integer, got {value!r}", conv.where(tree))
    return value


def _axis(attrs: dict[str, Any], default: int, rank: int, op: str, conv: _Converter, tree: Tree) -> int:
    """Attribute ``axis`` checked against ``rank`` (negative axes count from the end), as given."""
    axis = _int_attr(attrs, "axis", default, op, conv, tree)
    if not -rank <= axis < rank:
        raise FrontendError(f"{op}: axis={axis} is out of range for a tensor of rank {rank}", conv.where(tree))
    return axis


def _dense(conv: _Converter, tree: Tree, op: str, args: list[Value], attrs: dict[str, Any]) -> Value:
    _arity(op, args, 2, conv, tree)
    x = conv.activation(args[0], op, tree)
    weight = conv.const(args[1], op, "weight", tree)
    units = attrs.get("units")
    if units is not None and weight.array.ndim == 2 and units != weight.array.shape[0]:
        raise FrontendError(
            f"{op}: units={units} but the weight has shape {list(weight.array.shape)}", conv.where(tree)
        )
    layer = None
    if weight.source is not None:
        layer = weight.source.removesuffix(".weight").removesuffix("_weight")
    return conv.builder.dense(x, weight.array, layer, f"{conv.where(tree)}: {op}")


def _bias_add(conv: _Converter, tree: Tree, op: str, args: list[Value], attrs: dict[str, Any]) -> Value:
    """nn.bias_add along ``axis`` (Relay's default 1: the features of a matrix, the channels of a map)."""
    _arity(op, args, 2, conv, tree)
    x = conv.activation(args[0], op, tree)
    rank = len(shape_of(x))
    axis = _axis(attrs, 1, rank, op, conv, tree) % rank
    if axis != rank - 1 and (rank, axis) != (4, 1):
        raise FrontendError(
            f"{op}: only a bias along the last axis or the channels of an NCHW map is supported, got axis={axis}",
            conv.where(tree),
        )
    bias = conv.const(args[1], op, "bias", tree)
    vector = bias_vector(bias.array, op, conv.where(tree))
    where = f"{conv.where(tree)}: {op}"
    return conv.builder.bias_add(x, vector, where) if axis == rank - 1 else conv.builder.channel_bias(x, vector, where)


def _add(conv: _Converter, tree: Tree, op: str, args: list[Value], attrs: dict[str, Any]) -> Value:
    """``add``: a skip connection (two values computed from the inputs) or a constant bias (a vector on
    the last axis, ``[C, 1, 1]`` on the channels of an NCHW map)."""
    _arity(op, args, 2, conv, tree)
    _no_attrs(op, attrs, conv, tree)
    lhs, rhs = args
    if isinstance(lhs, _Const):
        lhs, rhs = rhs, lhs
    x = conv.activation(lhs, op, tree)
    where = f"{conv.where(tree)}: {op}"
    if isinstance(rhs, SSAValue) and (rhs not in conv.inputs or len(shape_of(rhs)) == len(shape_of(x))):
        return conv.builder.add(x, rhs, where)  # an input of lower rank: a bias without params
    bias = conv.const(rhs, op, "bias", tree).array
    if len(shape_of(x)) == 4 and bias.ndim in (3, 4) and bias.shape[-2:] == (1, 1):
        return conv.builder.channel_bias(x, bias.reshape(-1), where)
    return conv.builder.bias_add(x, bias_vector(bias, op, conv.where(tree)), where)


def _relu(conv: _Converter, tree: Tree, op: str, args: list[Value], attrs: dict[str, Any]) -> Value:
    _arity(op, args, 1, conv, tree)
    _no_attrs(op, attrs, conv, tree)
    return conv.builder.relu(conv.activation(args[0], op, tree))


def _softmax(conv: _Converter, tree: Tree, op: str, args: list[Value], attrs: dict[str, Any]) -> Value:
    _arity(op, args, 1, conv, tree)
    x = conv.activation(args[0], op, tree)
    return conv.builder.softmax(x, _int_attr(attrs, "axis", -1, op, conv, tree), conv.where(tree))


def _batch_flatten(conv: _Converter, tree: Tree, op: str, args: list[Value], attrs: dict[str, Any]) -> Value:
    _arity(op, args, 1, conv, tree)
    _no_attrs(op, attrs, conv, tree)
    x = conv.activation(args[0], op, tree)
    return conv.builder.reshape(x, [shape_of(x)[0], -1], op, conv.where(tree))


def _reshape(conv: _Converter, tree: Tree, op: str, args: list[Value], attrs: dict[str, Any]) -> Value:
    _arity(op, args, 1, conv, tree)
    newshape = attrs.get("newshape")
    if not isinstance(newshape, list) or not all(isinstance(d, int) for d in newshape):
        raise FrontendError(f"{op} needs newshape=[...] of integers", conv.where(tree))
    value = args[0]
    if isinstance(value, _Const):
        try:
            return _Const(value.array.reshape(newshape), value.source)
        except ValueError:
            raise FrontendError(
                f"{op}: cannot reshape a constant of shape {list(value.array.shape)} to {newshape}", conv.where(tree)
            ) from None
    value = conv.activation(value, op, tree)
    in_shape = shape_of(value)
    dims: list[int] = []
    for axis, d in enumerate(newshape):
        if d == 0 and axis < len(in_shape):
            dims.append(in_shape[axis])
        elif axis == 0 and conv.batch not in (None, 1) and d == conv.batch:
            dims.append(-1)
        else:
            dims.append(d)
    return conv.builder.reshape(value, dims, op, conv.where(tree))


def _transpose(conv: _Converter, tree: Tree, op: str, args: list[Value], attrs: dict[str, Any]) -> Value:
    _arity(op, args, 1, conv, tree)
    value = conv.const(args[0], op, "operand (only constants can be transposed)", tree)
    axes = attrs.get("axes")
    if axes is not None and (
        not isinstance(axes, list)
        or sorted(a if isinstance(a, int) else -1 for a in axes) != list(range(value.array.ndim))
    ):
        raise FrontendError(
            f"{op}: axes must be a permutation of 0..{value.array.ndim - 1} (the constant has shape "
            f"{list(value.array.shape)}), got {axes!r}",
            conv.where(tree),
        )
    return _Const(np.transpose(value.array, axes), value.source)


def _ints_attr(
    attrs: dict[str, Any], name: str, default: list[int], op: str, conv: _Converter, tree: Tree
) -> list[int]:
    """A list-of-integers attribute (a single integer counts for every entry)."""
    value = attrs.get(name, default)
    items = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        not isinstance(items, list)
        or not items
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in items)
    ):
        raise FrontendError(f"{op}: {name} must be a list of integers, got {value!r}", conv.where(tree))
    return items


def _hw(attrs: dict[str, Any], name: str, default: int, op: str, conv: _Converter, tree: Tree) -> tuple[int, int]:
    """``strides`` / ``dilation`` / ``pool_size``: one integer for both axes, or (h, w)."""
    items = _ints_attr(attrs, name, [default, default], op, conv, tree)
    if len(items) > 2:
        raise FrontendError(f"{op}: {name} must be one or two integers, got {items}", conv.where(tree))
    return items[0], items[-1]


def _padding(attrs: dict[str, Any], op: str, conv: _Converter, tree: Tree) -> list[int] | int:
    """Relay's padding: one value, (h, w) or (top, left, bottom, right), as the builder takes it."""
    pads = _ints_attr(attrs, "padding", [0], op, conv, tree)
    return pads[0] if len(pads) == 1 else pads


def _layouts(attrs: dict[str, Any], expected: dict[str, str], op: str, conv: _Converter, tree: Tree) -> None:
    for key, layout in expected.items():
        if attrs.get(key, layout) not in (layout, ""):
            raise FrontendError(f"{op}: {key}={attrs[key]!r} is not supported (only {layout!r})", conv.where(tree))


def _conv2d(conv: _Converter, tree: Tree, op: str, args: list[Value], attrs: dict[str, Any]) -> Value:
    _arity(op, args, 2, conv, tree)
    _layouts(attrs, {"data_layout": "NCHW", "kernel_layout": "OIHW", "out_layout": "NCHW"}, op, conv, tree)
    x = conv.activation(args[0], op, tree)
    weight = conv.const(args[1], op, "weight", tree)
    channels = attrs.get("channels")
    if channels is not None and weight.array.ndim == 4 and channels != weight.array.shape[0]:
        raise FrontendError(
            f"{op}: channels={channels} but the weight has shape {list(weight.array.shape)}", conv.where(tree)
        )
    kernel = attrs.get("kernel_size")
    if (
        kernel is not None
        and weight.array.ndim == 4
        and list(_hw(attrs, "kernel_size", 1, op, conv, tree)) != list(weight.array.shape[2:])
    ):
        raise FrontendError(
            f"{op}: kernel_size={kernel} but the weight has shape {list(weight.array.shape)}", conv.where(tree)
        )
    layer = None if weight.source is None else weight.source.removesuffix(".weight").removesuffix("_weight")
    return conv.builder.conv2d(
        x,
        weight.array,
        _hw(attrs, "strides", 1, op, conv, tree),
        _padding(attrs, op, conv, tree),
        _hw(attrs, "dilation", 1, op, conv, tree),
        _int_attr(attrs, "groups", 1, op, conv, tree),
        layer,
        f"{conv.where(tree)}: {op}",
    )


def _pool2d(conv: _Converter, tree: Tree, op: str, args: list[Value], attrs: dict[str, Any]) -> Value:
    """nn.avg_pool2d / nn.max_pool2d: no dilation, no ceil_mode; padding only for an average that
    counts it (Relay's default count_include_pad=False divides by the unpadded part)."""
    _arity(op, args, 1, conv, tree)
    _layouts(attrs, {"layout": "NCHW", "out_layout": "NCHW"}, op, conv, tree)
    kind = "max" if op == "nn.max_pool2d" else "avg"
    kernel = _hw(attrs, "pool_size", 1, op, conv, tree)
    stride = _hw(attrs, "strides", 1, op, conv, tree)
    padding = _padding(attrs, op, conv, tree)
    if _hw(attrs, "dilation", 1, op, conv, tree) != (1, 1) or attrs.get("ceil_mode", False):
        raise FrontendError(f"{op}: dilation and ceil_mode=True are not supported", conv.where(tree))
    if any(np.atleast_1d(padding)) and (kind == "max" or not attrs.get("count_include_pad", False)):
        raise FrontendError(
            f"{op}: padding={padding} is supported only for an average with count_include_pad=True "
            "(nn.pool2d pads with zeros and divides by the whole window)",
            conv.where(tree),
        )
    x = conv.activation(args[0], op, tree)
    return conv.builder.pool2d(x, kind, kernel, stride, padding, None, f"{conv.where(tree)}: {op}")


def _global_avg_pool2d(conv: _Converter, tree: Tree, op: str, args: list[Value], attrs: dict[str, Any]) -> Value:
    """nn.global_avg_pool2d, and nn.adaptive_avg_pool2d to sizes that divide the map evenly."""
    _arity(op, args, 1, conv, tree)
    _layouts(attrs, {"layout": "NCHW", "out_layout": "NCHW"}, op, conv, tree)
    x = conv.activation(args[0], op, tree)
    in_h, in_w = shape_of(x)[2:] if len(shape_of(x)) == 4 else (0, 0)
    out_h, out_w = _hw(attrs, "output_size", 1, op, conv, tree) if op == "nn.adaptive_avg_pool2d" else (1, 1)
    if not in_h or out_h < 1 or out_w < 1 or in_h % out_h or in_w % out_w:
        raise FrontendError(
            f"{op}: output size {[out_h, out_w]} must divide the NCHW map {list(shape_of(x))} evenly", conv.where(tree)
        )
    kernel = (in_h // out_h, in_w // out_w)
    return conv.builder.pool2d(x, "avg", kernel, kernel, 0, None, f"{conv.where(tree)}: {op}")


def _batch_norm(conv: _Converter, tree: Tree, op: str, args: list[Value], attrs: dict[str, Any]) -> Value:
    """nn.batch_norm (inference, axis 1): its three results, the moving statistics unchanged."""
    _arity(op, args, 5, conv, tree)
    if _int_attr(attrs, "axis", 1, op, conv, tree) != 1:
        raise FrontendError(f"{op}: only axis=1 (the channels) is supported", conv.where(tree))
    x = conv.activation(args[0], op, tree)
    gamma, beta, mean, variance = (conv.const(a, op, what, tree).array for a, what in zip(args[1:], _NORM_OPERANDS))
    if attrs.get("scale", True) is False:
        gamma = np.ones_like(gamma)
    if attrs.get("center", True) is False:
        beta = np.zeros_like(beta)
    epsilon = attrs.get("epsilon", 1e-5)
    if not isinstance(epsilon, (int, float)) or isinstance(epsilon, bool):
        raise FrontendError(f"{op}: epsilon must be a number, got {epsilon!r}", conv.where(tree))
    layer = next((a.source for a in args[1:] if isinstance(a, _Const) and a.source), None)
    result = conv.builder.batch_norm(
        x, gamma, beta, mean, variance, float(epsilon), _norm_layer(layer), f"{conv.where(tree)}: {op}"
    )
    return (result, _Const(mean, None), _Const(variance, None))


_NORM_OPERANDS = ("gamma", "beta", "moving mean", "moving variance")


def _norm_layer(source: str | None) -> str | None:
    """``bn1`` for ``bn1_gamma`` / ``bn1.weight``."""
    if source is None:
        return None
    for suffix in (".weight", "_weight", "_gamma", ".gamma"):
        source = source.removesuffix(suffix)
    return source


def _concatenate(conv: _Converter, tree: Tree, op: str, args: list[Value], attrs: dict[str, Any]) -> Value:
    _arity(op, args, 1, conv, tree)
    fields = args[0] if isinstance(args[0], tuple) else (args[0],)
    values = [conv.activation(field, op, tree) for field in fields]
    axis = _int_attr(attrs, "axis", 0, op, conv, tree)
    return conv.builder.concat(values, axis, f"{conv.where(tree)}: {op}")


def _identity(conv: _Converter, tree: Tree, op: str, args: list[Value], attrs: dict[str, Any]) -> Value:
    _arity(op, args, 1, conv, tree)
    _no_attrs(op, attrs, conv, tree)
    return args[0]


_OPS: dict[str, Callable[[_Converter, Tree, str, list[Value], dict[str, Any]], Value]] = {
    "nn.dense": _dense,
    "nn.bias_add": _bias_add,
    "add": _add,
    "nn.conv2d": _conv2d,
    "nn.avg_pool2d": _pool2d,
    "nn.max_pool2d": _pool2d,
    "nn.global_avg_pool2d": _global_avg_pool2d,
    "nn.adaptive_avg_pool2d": _global_avg_pool2d,
    "nn.batch_norm": _batch_norm,
    "concatenate": _concatenate,
    "nn.relu": _relu,
    "nn.softmax": _softmax,
    "nn.batch_flatten": _batch_flatten,
    "reshape": _reshape,
    "transpose": _transpose,
    "copy": _identity,
}

SUPPORTED_OPS = tuple(sorted(_OPS))
"""The Relay ops this frontend maps (unsupported-op errors list them)."""


def _hint(op: str) -> str:
    if op == "nn.log_softmax":
        return ": nn has no log_softmax; use nn.softmax (the argmax is the same)"
    return ""
