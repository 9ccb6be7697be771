"""PyTorch -> nn, through `torch.export` (no TVM needed).

`torch.export.export` turns a module into an ATen graph with its parameters lifted to inputs; each
ATen op is mapped here to nn ops. The exported graph keeps, per node, the module path that produced
it and the Python stack trace, so an unsupported op is reported at the line of the user's model
that called it. Saved archives (`torch.export.save`, `.pt2`) load with `torch.export.load`, which
reads a serialized graph and tensors; `import_pt2` first checks that the archive holds nothing
that torch would unpickle or execute.

Supported ATen ops (`SUPPORTED_OPS`): linear, addmm, mm / matmul with a constant right operand, add
(of a bias vector, of a per-channel ``[C, 1, 1]`` bias, or of two computed tensors: a skip
connection; also in place, ``out += x``), conv2d / convolution, avg_pool2d (``divisor_override=1``
is sum pooling), max_pool2d (with indices), adaptive_avg_pool2d to sizes that divide the map, mean
over the spatial axes, batch_norm in eval mode (and its decomposed form), cat, relu, view / reshape /
flatten / _unsafe_view, softmax / _softmax, dropout (inference), and the identity ops clone /
contiguous / detach / alias. Transposes (t, permute, transpose) are folded into constant weights.
log_softmax is rejected: nn has no log_softmax and SpikeCore would leave it on the host anyway; use
softmax (argmax is unchanged) or return the logits.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from math import prod
from typing import IO, Any

import numpy as np
import torch
from torch.export import ExportedProgram
from torch.export.graph_signature import InputKind
from torch.fx import Node
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue

from spikeir.errors import FrontendError
from spikeir.frontends.builder import NNBuilder, bias_vector, shape_of

_TORCH_DIR = os.path.dirname(torch.__file__)
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')


@dataclass(frozen=True)
class _Const:
    """A tensor known at compile time, with the parameter name it came from (for layer names)."""

    array: np.ndarray
    source: str | None


class _Symbolic:
    """A symbolic size (``x.size(0)`` under dynamic shapes): only the node's recorded shape matters."""


Value = SSAValue | _Const | _Symbolic | tuple[Any, ...] | None
"""What a node stands for; a tuple for ops with several results (batch norm's, max pool's indices)."""


def import_torch(model: torch.nn.Module, example_input: torch.Tensor | tuple[torch.Tensor, ...]) -> ModuleOp:
    """Export ``model`` with ``example_input`` (batch cut to 1) and convert it to the nn dialect."""
    inputs = example_input if isinstance(example_input, tuple) else (example_input,)
    inputs = tuple(t[:1] if t.dim() > 0 else t for t in inputs)
    was_training = model.training
    model.eval()
    try:
        program = torch.export.export(model, inputs)
    except Exception as err:  # torch raises many kinds; the user needs to know export itself failed
        raise FrontendError(f"torch.export failed: {err}", type(model).__name__) from None
    finally:
        model.train(was_training)
    return import_exported_program(program)


def import_pt2(source: str | os.PathLike[str] | IO[bytes]) -> ModuleOp:
    """Convert a saved `torch.export` archive (``.pt2``) to the nn dialect.

    `torch.export.load` is not safe on untrusted files (its docstring says so): it unpickles
    sample inputs with ``weights_only=False`` when the safe load fails, unpickles weights marked
    ``use_pickle`` and opaque constants, loads AOTInductor shared libraries, and evaluates symbolic
    shapes with `sympy.sympify`, which runs Python; its ``guards_code`` strings are Python that
    the module from ``ExportedProgram.module()`` runs on every call. The archive is read once into memory and
    checked (`_check_archive`) so that none of these paths can be reached; then torch loads the
    very same bytes.
    """
    name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else getattr(source, "name", None)
    where = str(name) if name is not None else None  # the frontend registry names a nameless stream
    try:
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as stream:
                data = stream.read()
        else:
            data = source.read()
    except OSError as err:
        raise FrontendError(f"cannot read the archive: {err.strerror}", where) from None
    _check_archive(data, where)
    try:
        with _torch_export_logs_silenced():
            program = torch.export.load(io.BytesIO(data))
    except Exception as err:  # a corrupt file that passed the checks: many exception kinds
        raise FrontendError(f"cannot load a torch.export archive: {_first_line(err)}", where) from None
    return import_exported_program(program)


def _first_line(err: BaseException) -> str:
    """The first line of a loader's message (torch's run to pages), or the exception's kind."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


_ARCHIVE_ENTRY = re.compile(
    r"archive_format|archive_version|byteorder|\.data/version|\.data/serialization_id|models/[\w.-]+\.json"
    r"|data/weights/(weight_\w+|[\w.-]+_weights_config\.json)|data/constants/(tensor_\w+|[\w.-]+_constants_config\.json)"
    r"|data/sample_inputs/[\w.-]+\.pt|extra/[\w./-]+"
)
"""What `torch.export.save` writes (inside the archive's one top-level folder). Not accepted:
AOTInductor, ExecuTorch and MTIA payloads (native code), legacy pickled weights (``model.pt``),
custom and opaque objects (pickles)."""

_PAYLOAD = re.compile(r"(weight|tensor)_\w+")
"""A payload config's ``path_name`` of a raw tensor; ``custom_obj_*`` and ``opaque_obj_*`` are pickles."""
_SYMBOL = re.compile(r"[a-z]+\d+")
_SYM_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_]\w*)|\d+(?:\.\d+)?|<=|>=|==|[-+*/%(),<>])")
_SYM_FUNCTIONS = frozenset({
    "FloorDiv", "ModularIndexing", "Where", "PythonMod", "Mod", "CleanDiv", "CeilToInt", "FloorToInt",
    "CeilDiv", "LShift", "RShift", "FloatTrueDiv", "IntTrueDiv", "TruncToFloat",
    "TruncToInt", "RoundToInt", "Max", "Min", "Abs", "Eq", "Ne", "Lt", "Le", "Gt", "Ge", "And", "Or",
    "Not", "True", "False", "oo", "Add", "Mul", "Integer", "Rational",
})  # fmt: skip
"""Names a symbolic shape may call: torch's sympy functions and sympy's `srepr` forms, no powers."""
_SREPR_SYMBOL = re.compile(r"Symbol\('([a-z]+\d+)'(?:, \w+=(?:True|False))*\)")
"""torch 2.13 writes a symbol as ``Symbol('s31', positive=True, integer=True)``."""
_MAX_SYM_EXPR = 200


def _check_archive(data: bytes, where: str | None) -> None:
    """Refuse an archive that `torch.export.load` could not read safely (see `import_pt2`)."""
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError, OSError) as err:
        raise FrontendError(f"not a torch.export archive (a zip file): {err}", where) from None
    names = [info.filename for info in infos]
    roots = {name.split("/", 1)[0] for name in names}
    if len(roots) != 1 or len(set(names)) != len(names):
        raise FrontendError("not a torch.export archive: expected one top-level folder and unique entries", where)
    for info in infos:
        entry = info.filename.split("/", 1)[1] if "/" in info.filename else ""
        if not _ARCHIVE_ENTRY.fullmatch(entry):
            raise FrontendError(
                f"archive entry '{info.filename}' is not one that torch.export.save writes for a "
                "model spikeir can import (no compiled code, no pickled objects)",
                where,
            )
        if info.compress_type != zipfile.ZIP_STORED:
            raise FrontendError(
                f"archive entry '{info.filename}' is compressed; torch.export.save stores entries", where
            )
    archive = zipfile.ZipFile(io.BytesIO(data))
    stored = {info.filename.split("/", 1)[1]: info.file_size for info in infos}
    for info in infos:
        entry = info.filename.split("/", 1)[1]
        if entry.endswith(".json") or entry.startswith("data/sample_inputs/"):
            try:
                content = archive.read(info)
            except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError, OSError) as err:
                raise FrontendError(f"archive entry '{info.filename}' cannot be read: {err}", where) from None
            _check_entry(entry, content, where, stored)


def _check_entry(entry: str, content: bytes, where: str | None, stored: dict[str, int] | None = None) -> None:
    """Payload configs must not ask for pickles; sample inputs must load without code; symbolic
    shapes must be arithmetic on symbols (sympify evaluates them as Python)."""
    if entry.startswith("data/sample_inputs/"):
        if content:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    torch.load(io.BytesIO(content), weights_only=True)
            except Exception:  # torch would retry this with weights_only=False, running any pickle
                raise FrontendError(
                    f"archive entry '{entry}' is not plain tensors; torch would unpickle it, running any code it holds",
                    where,
                ) from None
        return
    try:
        document = json.loads(content)
    except (ValueError, RecursionError) as err:
        raise FrontendError(f"archive entry '{entry}' is not JSON: {err}", where) from None
    if entry.endswith("_config.json"):
        config = document.get("config") if isinstance(document, dict) else None
        if not isinstance(config, dict):
            raise FrontendError(f"archive entry '{entry}' has no payload config", where)
        for payload in config.values():
            if (
                not isinstance(payload, dict)
                or payload.get("use_pickle") is not False
                or not _PAYLOAD.fullmatch(str(payload.get("path_name")))
            ):
                raise FrontendError(
                    f"archive entry '{entry}' names a pickled object, which spikeir does not load", where
                )
            folder = entry.rsplit("/", 1)[0]
            _check_tensor_view(entry, payload, (stored or {}).get(f"{folder}/{payload['path_name']}"), where)
        return
    if _has_guard_code(document):
        raise FrontendError(
            f"archive entry '{entry}' carries guard code (`guards_code`: Python that the module from "
            "ExportedProgram.module() runs on every call), which spikeir does not accept",
            where,
        )
    for text in _expr_strings(document):
        if not _safe_sym_expr(text):
            raise FrontendError(f"archive entry '{entry}': unsupported symbolic shape '{text[:60]}'", where)


def _ints(value: Any) -> list[int] | None:
    """``[{"as_int": n}, ...]`` (or one such dict) as ints >= 0; None for anything else (symbols)."""
    items = value if isinstance(value, list) else [value]
    out = [item.get("as_int") if isinstance(item, dict) else None for item in items]
    return [n for n in out if isinstance(n, int) and not isinstance(n, bool) and n >= 0] if None not in out else None


def _check_tensor_view(entry: str, payload: dict[str, Any], stored: int | None, where: str | None) -> None:
    """A stored weight's view (sizes, strides, offset) must lie inside its stored bytes and must not
    overlap itself: a stride-0 view of 4 bytes loads as a tensor of any size (torch materializes it;
    a [3, 200000000] one took 16 s before failing) or as a weight whose every entry is one number."""
    from torch._export.serde.serialize import _SERIALIZE_TO_TORCH_DTYPE  # pyright: ignore[reportPrivateUsage]

    meta = payload.get("tensor_meta")
    name = f"archive entry '{entry}': weight '{payload.get('path_name')}'"
    if not isinstance(meta, dict):
        raise FrontendError(f"{name} has no tensor description", where)
    sizes, strides, offset = _ints(meta.get("sizes")), _ints(meta.get("strides")), _ints(meta.get("storage_offset"))
    dtypes = {int(getattr(key, "value", key)): dtype for key, dtype in _SERIALIZE_TO_TORCH_DTYPE.items()}
    code = meta.get("dtype")
    dtype = dtypes.get(code) if isinstance(code, int) else None
    if sizes is None or strides is None or offset is None or len(sizes) != len(strides) or len(offset) != 1:
        raise FrontendError(f"{name} has no whole-number sizes, strides and offset", where)
    if dtype is None:
        raise FrontendError(f"{name} has an unknown element type {code!r}", where)
    extent = 1
    for size, stride in sorted((pair for pair in zip(sizes, strides, strict=True) if pair[0] > 1), key=lambda p: p[1]):
        if stride < extent:
            raise FrontendError(f"{name} is a view that repeats its elements (sizes {sizes}, strides {strides})", where)
        extent = stride * size
    span = (
        0
        if 0 in sizes
        else offset[0] + sum((size - 1) * stride for size, stride in zip(sizes, strides, strict=True)) + 1
    )
    if stored is None or span * dtype.itemsize > stored:
        raise FrontendError(f"{name} (sizes {sizes}) needs more bytes than the archive stores for it", where)


def _has_guard_code(document: Any) -> bool:
    """Whether a serialized program has a non-empty ``guards_code`` anywhere (torch 2.13 writes it,
    empty for the models spikeir imports, at the top level of ``models/*.json``)."""
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "guards_code" and value not in (None, [], "", {}):
                    return True
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _expr_strings(document: Any) -> list[str]:
    """Every ``expr_str`` value in a serialized graph (iteratively: the nesting is the file's)."""
    found: list[str] = []
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "expr_str":
                    found.append(value if isinstance(value, str) else "")
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _safe_sym_expr(text: str) -> bool:
    """Whether ``text`` is short arithmetic on symbols (``s0``, ``u1``) and torch's sympy functions."""
    if len(text) > _MAX_SYM_EXPR or not text.strip() or "**" in text:  # no powers: 9**9**9 never ends
        return False
    text = _SREPR_SYMBOL.sub(r"\1", text)
    position = 0
    while position < len(text.rstrip()):
        token = _SYM_TOKEN.match(text, position)
        if token is None:
            return False
        name = token.group("name")
        if name is not None and name not in _SYM_FUNCTIONS and not _SYMBOL.fullmatch(name):
            return False
        position = token.end()
    return True


@contextlib.contextmanager
def _torch_export_logs_silenced() -> Iterator[None]:
    """torch.export.load logs a failed load as a warning with a traceback; the FrontendError says it."""
    loggers = [logging.getLogger(name) for name in ("torch.export", "torch._export")]
    saved = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, disabled in zip(loggers, saved):
            logger.disabled = disabled


def import_exported_program(program: ExportedProgram) -> ModuleOp:
    """Convert an `ExportedProgram` to `func.func @main` in the nn dialect."""
    return _Converter(program).run()


class _Converter:
    def __init__(self, program: ExportedProgram) -> None:
        self.program = program
        self.builder = NNBuilder()
        self.values: dict[Node, Value] = {}
        self.batch: int | None = None
        specs = program.graph_signature.input_specs
        self.lifted: dict[str, tuple[InputKind, str | None]] = {
            spec.arg.name: (spec.kind, spec.target) for spec in specs if hasattr(spec.arg, "name")
        }

    def run(self) -> ModuleOp:
        outputs: list[SSAValue] = []
        for node in self.program.graph.nodes:
            if node.op == "placeholder":
                self.values[node] = self.placeholder(node)
            elif node.op == "call_function":
                self.values[node] = self.call(node)
            elif node.op == "output":
                outputs = self.outputs(node)
            else:
                raise FrontendError(f"graph node kind '{node.op}' is not supported", _location(node))
        return self.builder.finish(outputs)

    # -- nodes --------------------------------------------------------------------------------

    def placeholder(self, node: Node) -> Value:
        kind, target = self.lifted.get(node.name, (InputKind.USER_INPUT, None))
        if kind in (InputKind.PARAMETER, InputKind.BUFFER, InputKind.CONSTANT_TENSOR) and target is not None:
            tensor = self.program.state_dict.get(target)
            if tensor is None:
                tensor = self.program.constants[target]
            assert isinstance(tensor, torch.Tensor)
            return _Const(tensor.detach().cpu().float().numpy(), target)
        if kind != InputKind.USER_INPUT:
            raise FrontendError(f"model input '{node.name}' of kind {kind.name} is not supported", _location(node))
        val = node.meta.get("val")
        if not isinstance(val, torch.Tensor) or not val.dtype.is_floating_point:
            raise FrontendError(f"model input '{node.name}' must be a floating-point tensor", _location(node))
        shape = list(val.shape)
        if not shape:
            raise FrontendError(f"model input '{node.name}' must have a batch axis", _location(node))
        if isinstance(shape[0], int):
            self.batch = self.batch if self.batch is not None else shape[0]
        rest = [d for d in shape[1:]]
        if not all(isinstance(d, int) for d in rest):
            raise FrontendError(f"model input '{node.name}' has a dynamic non-batch axis: {shape}", _location(node))
        return self.builder.input([1, *[int(d) for d in rest]], node.name)

    def outputs(self, node: Node) -> list[SSAValue]:
        results = node.args[0]
        items = results if isinstance(results, (tuple, list)) else [results]
        values: list[SSAValue] = []
        for item in items:
            value = self.values.get(item) if isinstance(item, Node) else None
            if not isinstance(value, SSAValue):
                raise FrontendError(
                    "every model output must be computed from the input (not a constant)", _location(node)
                )
            values.append(value)
        return values

    def call(self, node: Node) -> Value:
        name = _op_name(node)
        if name.startswith(("aten._assert", "aten.sym_constrain", "_assert")):
            return None
        if name == "aten.sym_size":
            return _Symbolic()
        args = [self.argument(a) for a in node.args]
        if all(not isinstance(a, SSAValue) for a in args):
            folded = self.fold(name, args)
            if folded is not None:
                return folded
        handler = _HANDLERS.get(name)
        if handler is None:
            raise FrontendError(
                f"{name}{_layer_note(_module_path(node))} is not supported by spikeir{_hint(name)}; "
                f"supported ops: {', '.join(SUPPORTED_OPS)}",
                _location(node),
            )
        return handler(self, node, args)

    def argument(self, arg: Any) -> Any:
        """A node argument with its nodes replaced by their values (also inside lists: ``cat``'s tensors)."""
        if isinstance(arg, Node):
            return self.values[arg]
        if isinstance(arg, (list, tuple)):
            return [self.argument(a) for a in arg]  # pyright: ignore[reportUnknownVariableType]
        return arg

    def fold(self, name: str, args: list[Any]) -> _Const | None:
        """Evaluate a layout op on a constant (weight transposes, reshapes)."""
        if not args or not isinstance(args[0], _Const):
            return None
        array, source = args[0].array, args[0].source
        if name in ("aten.t", "aten.numpy_T"):
            return _Const(array.T, source)
        if name == "aten.permute":
            return _Const(np.transpose(array, [int(d) for d in args[1]]), source)
        if name == "aten.transpose":
            return _Const(np.swapaxes(array, int(args[1]), int(args[2])), source)
        if name in ("aten.view", "aten.reshape", "aten._unsafe_view"):
            return _Const(array.reshape([int(d) for d in args[1]]), source)
        if name in _IDENTITY:
            return _Const(array, source)
        return None

    # -- helpers for handlers -----------------------------------------------------------------

    def activation(self, value: Value, node: Node, what: str = "input") -> SSAValue:
        if not isinstance(value, SSAValue):
            raise FrontendError(f"{_op_name(node)}: the {what} must be computed from the model input", _location(node))
        return value

    def constant(self, value: Value, node: Node, what: str) -> _Const:
        if not isinstance(value, _Const):
            raise FrontendError(
                f"{_op_name(node)}: the {what} must be a parameter or constant (spikeir maps only "
                "products with fixed weights)",
                _location(node),
            )
        return value

    def target_shape(self, node: Node) -> list[int]:
        """The node's recorded output shape with the batch axis left for the builder to infer."""
        val = node.meta.get("val")
        assert isinstance(val, torch.Tensor)
        dims: list[int] = []
        for axis, d in enumerate(val.shape):
            if isinstance(d, int) and not (axis == 0 and self.batch not in (None, 1) and d == self.batch):
                dims.append(d)
            elif axis == 0:
                dims.append(-1)
            else:
                raise FrontendError(
                    f"{_op_name(node)}: dynamic shape {list(val.shape)} is not supported", _location(node)
                )
        return dims


# -- handlers -----------------------------------------------------------------------------------


def _module_path(node: Node) -> str | None:
    """The path of the innermost module that produced ``node`` (``features.3``), if torch recorded one."""
    stack = node.meta.get("nn_module_stack") or {}
    paths = [path for path, _ in stack.values() if path]
    return paths[-1] if paths else None


def _layer(weight: _Const, node: Node) -> str | None:
    if weight.source is not None:
        return weight.source.removesuffix(".weight")
    return _module_path(node)


def _layer_note(layer: str | None) -> str:
    return f" (layer '{layer}')" if layer else ""


def _dense(conv: _Converter, node: Node, x: Value, weight: _Const, bias: Value) -> SSAValue:
    """nn.dense with ``weight`` [out, in] (+ nn.bias_add)."""
    where = _location(node)
    result = conv.builder.dense(conv.activation(x, node), weight.array, _layer(weight, node), where)
    if bias is not None:
        vector = bias_vector(conv.constant(bias, node, "bias").array, _op_name(node), where)
        result = conv.builder.bias_add(result, vector, where)
    return result


def _linear(conv: _Converter, node: Node, args: list[Any]) -> Value:
    weight = conv.constant(args[1], node, "weight")
    bias_node = node.kwargs.get("bias")
    bias = args[2] if len(args) > 2 else conv.values.get(bias_node) if isinstance(bias_node, Node) else None
    return _dense(conv, node, args[0], weight, bias)


def _addmm(conv: _Converter, node: Node, args: list[Any]) -> Value:
    if node.kwargs.get("beta", 1) != 1 or node.kwargs.get("alpha", 1) != 1:
        raise FrontendError("aten.addmm with beta or alpha other than 1 is not supported", _location(node))
    rhs = conv.constant(args[2], node, "right operand")
    return _dense(conv, node, args[1], _Const(rhs.array.T, rhs.source), args[0])


def _mm(conv: _Converter, node: Node, args: list[Any]) -> Value:
    rhs = conv.constant(args[1], node, "right operand")
    if rhs.array.ndim != 2:
        raise FrontendError(
            f"{_op_name(node)}: the right operand must be a matrix, got shape {list(rhs.array.shape)}", _location(node)
        )
    return _dense(conv, node, args[0], _Const(rhs.array.T, rhs.source), None)


def _add(conv: _Converter, node: Node, args: list[Any]) -> Value:
    """A skip connection (two activations: nn.add) or a constant bias (nn.bias_add: a vector on the
    last axis, or a ``[C, 1, 1]`` / ``[1, C, 1, 1]`` one on the channels of a feature map)."""
    where = _location(node)
    if node.kwargs.get("alpha", 1) != 1:
        raise FrontendError("aten.add with alpha other than 1 is not supported", where)
    lhs, rhs = args[0], args[1]
    if isinstance(lhs, _Const) and isinstance(rhs, SSAValue):
        lhs, rhs = rhs, lhs
    if isinstance(lhs, SSAValue) and isinstance(rhs, SSAValue):
        return conv.builder.add(lhs, rhs, where)
    if not isinstance(lhs, SSAValue) or not isinstance(rhs, _Const):
        raise FrontendError("aten.add: one operand must be computed from the model input", where)
    if len(shape_of(lhs)) == 4 and rhs.array.ndim in (3, 4) and rhs.array.shape[-2:] == (1, 1):
        return conv.builder.channel_bias(lhs, rhs.array.reshape(-1), where)
    return conv.builder.bias_add(lhs, bias_vector(rhs.array, _op_name(node), where), where)


def _relu(conv: _Converter, node: Node, args: list[Any]) -> Value:
    return conv.builder.relu(conv.activation(args[0], node))


def _in_place(
    handler: Callable[[_Converter, Node, list[Any]], Value],
) -> Callable[[_Converter, Node, list[Any]], Value]:
    """An in-place op (``out += x``, ``relu_``) as its functional form, which is what it computes as
    long as nothing reads the overwritten tensor afterwards; a later reader would see the new value."""

    def convert(conv: _Converter, node: Node, args: list[Any]) -> Value:
        target = node.args[0]
        later = (
            [user for user in target.users if user is not node and user not in conv.values]
            if isinstance(target, Node)
            else []
        )
        if later:
            raise FrontendError(
                f"{_op_name(node)}{_layer_note(_module_path(node))} overwrites a tensor that is read again "
                f"later (by {later[0].name}); use the out-of-place op",
                _location(node),
            )
        return handler(conv, node, args)

    return convert


def _reshape(conv: _Converter, node: Node, args: list[Any]) -> Value:
    x = conv.activation(args[0], node)
    return conv.builder.reshape(x, conv.target_shape(node), _op_name(node), _location(node))


def _softmax(conv: _Converter, node: Node, args: list[Any]) -> Value:
    x = conv.activation(args[0], node)
    dim = args[1] if len(args) > 1 else node.kwargs.get("dim", -1)
    assert isinstance(dim, int)
    return conv.builder.softmax(x, dim, _location(node))


def _dropout(conv: _Converter, node: Node, args: list[Any]) -> Value:
    train = args[2] if len(args) > 2 else node.kwargs.get("train", False)
    if train:
        raise FrontendError("dropout in training mode: call model.eval() before exporting", _location(node))
    return conv.activation(args[0], node)


def _identity(conv: _Converter, node: Node, args: list[Any]) -> Value:
    return conv.activation(args[0], node)


def _getitem(conv: _Converter, node: Node, args: list[Any]) -> Value:
    """One result of a multi-result op (the output of batch norm, not its statistics)."""
    results, index = args[0], args[1]
    if not isinstance(results, tuple) or not isinstance(index, int) or not -len(results) <= index < len(results):
        raise FrontendError(f"indexing {type(results).__name__} with {index!r} is not supported", _location(node))
    return results[index]


def _int_list(value: Any, count: int, what: str, node: Node) -> tuple[int, ...]:
    """An int or a list of ints (one for every axis, or ``count`` of them) as ``count`` ints."""
    items = [value] * count if isinstance(value, int) else list(value) if isinstance(value, list) else [value]
    if len(items) == 1:
        items = items * count
    if len(items) != count or not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise FrontendError(f"{_op_name(node)}: {what} must be {count} integers, got {value!r}", _location(node))
    return tuple(items)


def _pair(value: Any, what: str, node: Node) -> tuple[int, int]:
    h, w = _int_list(value, 2, what, node)
    return h, w


def _option(node: Node, args: list[Any], index: int, name: str, default: Any) -> Any:
    """Argument ``index`` of the ATen schema, given positionally or as keyword ``name``."""
    return args[index] if len(args) > index else node.kwargs.get(name, default)


def _same_padding(weight: np.ndarray, dilation: tuple[int, int], node: Node) -> tuple[int, int]:
    """``padding="same"`` as symmetric padding; an even effective kernel would pad one side more."""
    extents = [d * (k - 1) for k, d in zip(weight.shape[2:], dilation, strict=True)]
    if any(e % 2 for e in extents):
        raise FrontendError(
            f"{_op_name(node)}{_layer_note(_module_path(node))}: padding='same' with a kernel of even extent "
            f"{list(weight.shape[2:])} (dilation {list(dilation)}) pads one side more than the other; "
            "SpikeCore convolutions pad both sides alike: use an odd kernel or explicit padding",
            _location(node),
        )
    return extents[0] // 2, extents[1] // 2


def _conv_layer(conv: _Converter, node: Node, args: list[Any], padding: Any, groups: Any) -> Value:
    """nn.conv2d (+ nn.bias_add on the channels) for conv2d / convolution with their geometry."""
    where = _location(node)
    weight = conv.constant(args[1], node, "weight")
    if weight.array.ndim != 4:
        raise FrontendError(
            f"{_op_name(node)}: only 2-D convolutions are supported, got a weight of shape {list(weight.array.shape)}",
            where,
        )
    stride = _pair(_option(node, args, 3, "stride", 1), "stride", node)
    dilation = _pair(_option(node, args, 5, "dilation", 1), "dilation", node)
    if padding == "valid":
        padding = 0
    pads = _same_padding(weight.array, dilation, node) if padding == "same" else _pair(padding, "padding", node)
    if not isinstance(groups, int):
        raise FrontendError(f"{_op_name(node)}: groups must be an integer, got {groups!r}", where)
    x = conv.activation(args[0], node)
    result = conv.builder.conv2d(x, weight.array, stride, pads, dilation, groups, _layer(weight, node), where)
    bias = args[2] if len(args) > 2 else conv.argument(node.kwargs.get("bias"))
    if bias is None:
        return result
    return conv.builder.channel_bias(result, conv.constant(bias, node, "bias").array, where)


def _conv2d(conv: _Converter, node: Node, args: list[Any]) -> Value:
    """``aten.conv2d(input, weight, bias, stride, padding, dilation, groups)``; padding may be a string."""
    return _conv_layer(conv, node, args, _option(node, args, 4, "padding", 0), _option(node, args, 6, "groups", 1))


def _convolution(conv: _Converter, node: Node, args: list[Any]) -> Value:
    """``aten.convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
    groups)``, what run_decompositions() leaves of conv2d."""
    if _option(node, args, 6, "transposed", False):
        raise FrontendError(
            f"{_op_name(node)}{_layer_note(_module_path(node))}: transposed convolutions are not supported",
            _location(node),
        )
    return _conv_layer(conv, node, args, _option(node, args, 4, "padding", 0), _option(node, args, 8, "groups", 1))


def _pool(conv: _Converter, node: Node, x: Value, kind: str, window: tuple[Any, Any, Any]) -> SSAValue:
    """nn.pool2d with (kernel, stride, padding) as ATen gives them (an empty stride is the kernel)."""
    kernel = _pair(window[0], "kernel_size", node)
    stride = kernel if window[1] in (None, []) else _pair(window[1], "stride", node)
    padding = _pair(window[2], "padding", node)
    return conv.builder.pool2d(
        conv.activation(x, node), kind, kernel, stride, padding, _module_path(node), _location(node)
    )


def _ceil_mode(conv: _Converter, node: Node, args: list[Any], index: int) -> None:
    """``ceil_mode=True`` is refused: nn.pool2d sizes its output by PyTorch's floor formula."""
    if _option(node, args, index, "ceil_mode", False):
        raise FrontendError(
            f"{_op_name(node)}{_layer_note(_module_path(node))}: ceil_mode=True is not supported (the window "
            "count is rounded down on SpikeCore)",
            _location(node),
        )


def _avg_pool2d(conv: _Converter, node: Node, args: list[Any]) -> Value:
    """``avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)``;
    ``divisor_override=1`` is sum pooling."""
    where = _location(node)
    window = (args[1], _option(node, args, 2, "stride", []), _option(node, args, 3, "padding", 0))
    _ceil_mode(conv, node, args, 4)
    padded = any(_pair(window[2], "padding", node))
    if padded and not _option(node, args, 5, "count_include_pad", True):
        raise FrontendError(
            f"{_op_name(node)}{_layer_note(_module_path(node))}: count_include_pad=False with padding is not "
            "supported (an average pool divides by the whole window, padding included)",
            where,
        )
    divisor = _option(node, args, 6, "divisor_override", None)
    area = prod(_pair(args[1], "kernel_size", node))
    if divisor not in (None, 1, area):
        raise FrontendError(
            f"{_op_name(node)}: divisor_override={divisor} is not supported (1 is sum pooling; none or "
            f"{area}, the window's size, is average pooling)",
            where,
        )
    return _pool(conv, node, args[0], "sum" if divisor == 1 and area != 1 else "avg", window)


def _max_pool2d(conv: _Converter, node: Node, args: list[Any]) -> Value:
    """``max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode)``: nn.pool2d max."""
    where = _location(node)
    window = (args[1], _option(node, args, 2, "stride", []), _option(node, args, 3, "padding", 0))
    if any(_pair(_option(node, args, 4, "dilation", 1), "dilation", node)[i] != 1 for i in (0, 1)):
        raise FrontendError(f"{_op_name(node)}: dilated max pooling is not supported", where)
    if any(_pair(window[2], "padding", node)):
        raise FrontendError(
            f"{_op_name(node)}{_layer_note(_module_path(node))}: max pooling with padding is not supported "
            "(PyTorch pads with -inf, nn.pool2d with zeros)",
            where,
        )
    _ceil_mode(conv, node, args, 5)
    pooled = _pool(conv, node, args[0], "max", window)
    return (pooled, None) if _op_name(node) == "aten.max_pool2d_with_indices" else pooled


def _adaptive_avg_pool2d(conv: _Converter, node: Node, args: list[Any]) -> Value:
    """An output size that divides the map evenly is average pooling with a fixed window (1x1: global)."""
    x = conv.activation(args[0], node)
    in_h, in_w = shape_of(x)[2:]
    out_h, out_w = (v if v is not None else s for v, s in zip(_size_pair(args[1]), (in_h, in_w), strict=True))
    if in_h % out_h or in_w % out_w:
        raise FrontendError(
            f"{_op_name(node)}{_layer_note(_module_path(node))}: output size {[out_h, out_w]} does not divide "
            f"the {in_h}x{in_w} map evenly (uneven adaptive windows are not supported)",
            _location(node),
        )
    kernel = (in_h // out_h, in_w // out_w)
    return _pool(conv, node, x, "avg", (list(kernel), list(kernel), 0))


def _size_pair(value: Any) -> tuple[int | None, int | None]:
    items = [value, value] if isinstance(value, int) else list(value)
    return (items[0], items[-1])


def _mean(conv: _Converter, node: Node, args: list[Any]) -> Value:
    """``mean(x, [2, 3] or [-1, -2], keepdim)`` of a feature map: global average pooling."""
    x = conv.activation(args[0], node)
    rank = len(shape_of(x))
    dims = sorted(int(d) % rank for d in _option(node, args, 1, "dim", []) or [])
    if rank != 4 or dims != [2, 3] or _option(node, args, 3, "dtype", None) is not None:
        raise FrontendError(
            f"{_op_name(node)}: only the mean over the two spatial axes of an NCHW map (global average "
            f"pooling) is supported, got dims {_option(node, args, 1, 'dim', None)} of a rank-{rank} tensor",
            _location(node),
        )
    pooled = conv.builder.global_avg_pool(x, _module_path(node), _location(node))
    if _option(node, args, 2, "keepdim", False):
        return pooled
    return conv.builder.reshape(pooled, [-1, shape_of(x)[1]], _op_name(node), _location(node))


def _norm_parameters(conv: _Converter, node: Node, args: list[Any], channels: int) -> list[np.ndarray]:
    """gamma, beta, mean, variance of a batch norm; no affine parameters are ones and zeros."""
    defaults = (np.ones(channels, np.float32), np.zeros(channels, np.float32))
    arrays: list[np.ndarray] = []
    for index, what in enumerate(("weight", "bias", "running_mean", "running_var")):
        value = args[index + 1]
        if value is None and index < 2:
            arrays.append(defaults[index])
        elif value is None:
            raise FrontendError(
                f"{_op_name(node)}{_layer_note(_module_path(node))}: batch norm without running statistics "
                "(track_running_stats=False) normalises with the batch's own statistics, which inference "
                "on SpikeCore cannot",
                _location(node),
            )
        else:
            arrays.append(conv.constant(value, node, what).array)
    return arrays


def _batch_norm_layer(conv: _Converter, node: Node, args: list[Any], eps: Any) -> SSAValue:
    x = conv.activation(args[0], node)
    gamma, beta, mean, variance = _norm_parameters(conv, node, args, shape_of(x)[1] if shape_of(x)[1:] else 0)
    return conv.builder.batch_norm(x, gamma, beta, mean, variance, float(eps), _module_path(node), _location(node))


def _batch_norm(conv: _Converter, node: Node, args: list[Any]) -> Value:
    """``batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn)``."""
    if args[3] is not None and args[4] is not None and _option(node, args, 5, "training", False):
        raise FrontendError(
            f"{_op_name(node)}{_layer_note(_module_path(node))}: batch norm in training mode: call model.eval() "
            "before exporting",
            _location(node),
        )
    return _batch_norm_layer(conv, node, args, _option(node, args, 7, "eps", 1e-5))


def _batch_norm_no_training(conv: _Converter, node: Node, args: list[Any]) -> Value:
    """``_native_batch_norm_legit_no_training(input, weight, bias, mean, var, momentum, eps)`` (the
    decomposed form): three results, of which the model uses the first."""
    return (_batch_norm_layer(conv, node, args, _option(node, args, 6, "eps", 1e-5)), None, None)


def _cat(conv: _Converter, node: Node, args: list[Any]) -> Value:
    tensors = args[0] if isinstance(args[0], list) else [args[0]]
    values = [conv.activation(t, node, "concatenated tensor") for t in tensors]
    dim = _option(node, args, 1, "dim", 0)
    return conv.builder.concat(values, int(dim), _location(node))


_IDENTITY = ("aten.clone", "aten.contiguous", "aten.detach", "aten.alias", "aten.lift_fresh_copy")

_HANDLERS: dict[str, Callable[[_Converter, Node, list[Any]], Value]] = {
    "aten.linear": _linear,
    "aten.addmm": _addmm,
    "aten.mm": _mm,
    "aten.matmul": _mm,
    "aten.add": _add,
    "aten.add_": _in_place(_add),
    "aten.conv2d": _conv2d,
    "aten.convolution": _convolution,
    "aten.avg_pool2d": _avg_pool2d,
    "aten.max_pool2d": _max_pool2d,
    "aten.max_pool2d_with_indices": _max_pool2d,
    "aten.adaptive_avg_pool2d": _adaptive_avg_pool2d,
    "aten.mean": _mean,
    "aten.batch_norm": _batch_norm,
    "aten._native_batch_norm_legit_no_training": _batch_norm_no_training,
    "aten.cat": _cat,
    "getitem": _getitem,
    "aten.relu": _relu,
    "aten.relu_": _in_place(_relu),
    "aten.view": _reshape,
    "aten.reshape": _reshape,
    "aten._unsafe_view": _reshape,
    "aten.flatten": _reshape,
    "aten.softmax": _softmax,
    "aten._softmax": _softmax,
    "aten.dropout": _dropout,
    "aten.dropout_": _dropout,
    **{name: _identity for name in _IDENTITY},
}

SUPPORTED_OPS = tuple(sorted(name for name in _HANDLERS if name.startswith("aten.")))
"""The ATen ops this frontend maps (unsupported-op errors list them)."""


def _op_name(node: Node) -> str:
    """``aten.linear`` for ``aten.linear.default`` (the overload does not matter to the mapping)."""
    target = node.target
    packet = getattr(target, "overloadpacket", None)
    if packet is not None:
        return str(packet)
    return getattr(target, "__name__", str(target))


def _hint(name: str) -> str:
    if name in ("aten.log_softmax", "aten._log_softmax"):
        return ": nn has no log_softmax; use softmax (the argmax is the same) or return the logits"
    if name in ("aten.t", "aten.numpy_T", "aten.permute", "aten.transpose"):
        return " on activations (only constant weights can be transposed)"
    return ""


def _location(node: Node) -> str | None:
    """``file:line`` of the innermost frame of the user's code that created ``node``."""
    trace = node.meta.get("stack_trace")
    if not isinstance(trace, str):
        return None
    frames = [(m["file"], m["line"]) for m in _FRAME.finditer(trace)]
    user = [f for f in frames if not os.path.abspath(f[0]).startswith(_TORCH_DIR)]
    chosen = (user or frames or [None])[-1]
    return f"{chosen[0]}:{chosen[1]}" if chosen else None
