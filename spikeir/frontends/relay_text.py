"""Legacy TVM Relay text -> nn.

apache-tvm 0.27 has no Relay, but models exported by older TVM (and the seed notebook) exist as
Relay text plus a parameter file. This parses the text form that TVM printed with a lark grammar
and maps its ops to nn:

- ``fn (%input0: Tensor[(1, 1, 28, 28), float32]) { ... }`` or ``def @main(...) -> ... { ... }``,
  an optional ``#[version = "0.0.5"]`` header, ``free_var`` declarations, bindings
  ``%1 = ...;`` / ``let %x = ...;``, and ``/* ... */`` / ``// ...`` comments (TVM's type notes).
- Ops: nn.batch_flatten, nn.dense, nn.bias_add, add (of a bias vector), nn.relu, nn.softmax,
  reshape (``newshape``, with Relay's 0 and -1), transpose of a constant, copy.

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
from typing import Any

import numpy as np
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue

from spikeir.errors import FrontendError
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
call: NAME "(" [arg ("," arg)*] ")"
?arg: expr
    | NAME "=" value                          -> attr
?value: SIGNED_NUMBER                         -> number
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
        tree = _parser().parse(text)
    except UnexpectedInput as err:
        raise _syntax_error(err, text, filename) from None
    return _Converter(params, filename).run(tree)


def load_params(source: Any) -> dict[str, np.ndarray]:
    """Read a ``.npz`` parameter file (path or binary stream) without unpickling anything."""
    try:
        with np.load(source, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError) as err:
        where = str(source) if isinstance(source, (str, os.PathLike)) else str(getattr(source, "name", "params"))
        raise FrontendError(f"cannot read the Relay params file: {err}", where) from None


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


Value = SSAValue | _Const


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
        for param in params.children if params is not None else []:
            assert isinstance(param, Tree)
            name, typ = param.children
            assert isinstance(name, Token)
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
        if tree.data == "var":
            (name,) = tree.children
            assert isinstance(name, Token)
            if str(name) in self.env:
                return self.env[str(name)]
            key = str(name)[1:]
            if key not in self.params:
                raise FrontendError(f"variable {name} is not defined and {self.no_value(key)}", self.where(name))
            value = self.bound(name, self.declared.get(str(name)))
            self.env[str(name)] = value
            return value
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
            raise FrontendError(f"Relay op '{op}' is not supported by spikeir{_hint(str(op))}", self.where(tree))
        return handler(self, tree, str(op), args, attrs)

    def activation(self, value: Value, op: str, tree: Tree) -> SSAValue:
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
    _arity(op, args, 2, conv, tree)
    lhs, rhs = args
    if op == "add" and isinstance(lhs, _Const):
        lhs, rhs = rhs, lhs
    x = conv.activation(lhs, op, tree)
    rank = len(shape_of(x))
    axis = _axis(attrs, 1, rank, op, conv, tree)
    if axis % rank != rank - 1:
        raise FrontendError(f"{op}: only a bias along the last axis is supported, got axis={axis}", conv.where(tree))
    bias = conv.const(rhs, op, "bias", tree)
    return conv.builder.bias_add(x, bias_vector(bias.array, op, conv.where(tree)), f"{conv.where(tree)}: {op}")


def _relu(conv: _Converter, tree: Tree, op: str, args: list[Value], attrs: dict[str, Any]) -> Value:
    _arity(op, args, 1, conv, tree)
    return conv.builder.relu(conv.activation(args[0], op, tree))


def _softmax(conv: _Converter, tree: Tree, op: str, args: list[Value], attrs: dict[str, Any]) -> Value:
    _arity(op, args, 1, conv, tree)
    x = conv.activation(args[0], op, tree)
    return conv.builder.softmax(x, _int_attr(attrs, "axis", -1, op, conv, tree), conv.where(tree))


def _batch_flatten(conv: _Converter, tree: Tree, op: str, args: list[Value], attrs: dict[str, Any]) -> Value:
    _arity(op, args, 1, conv, tree)
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


def _identity(conv: _Converter, tree: Tree, op: str, args: list[Value], attrs: dict[str, Any]) -> Value:
    _arity(op, args, 1, conv, tree)
    return args[0]


_OPS: dict[str, Callable[[_Converter, Tree, str, list[Value], dict[str, Any]], Value]] = {
    "nn.dense": _dense,
    "nn.bias_add": _bias_add,
    "add": _bias_add,
    "nn.relu": _relu,
    "nn.softmax": _softmax,
    "nn.batch_flatten": _batch_flatten,
    "reshape": _reshape,
    "transpose": _transpose,
    "copy": _identity,
}


def _hint(op: str) -> str:
    if op == "nn.log_softmax":
        return ": nn has no log_softmax; use nn.softmax (the argmax is the same)"
    return ""
