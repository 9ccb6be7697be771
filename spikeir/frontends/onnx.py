"""ONNX -> nn, through TVM's Relax ONNX importer and then `import_relax`.

Going through Relax keeps one mapping (Relax ops -> nn) for TVM's and ONNX's worlds: Gemm, MatMul,
Add, Relu, Flatten, Reshape, Softmax, Conv, AveragePool, MaxPool, GlobalAveragePool,
BatchNormalization and Concat arrive as the Relax ops `spikeir.frontends.relax` knows.
Inputs with a symbolic batch axis are given batch 1 (spikeir's IR is batch-1; the batch is a
run-time matter).

External data (tensors whose bytes live in a file beside the model, as ONNX stores models over
2 GB) is read by this module, before onnx's checker and TVM see the model, and only from inside
the model's own folder: the location must be a relative path without ``..``, must resolve (after
symlinks) to a regular file inside that folder, and must hold exactly the tensor's bytes at the
given offset. A model given as bytes or a stream has no folder unless the caller names one
(spike-opt names the input file's folder); external data is then an error. Left to onnx and TVM,
a location was resolved against the current directory, so a model could copy any readable file
(``secret.txt``, ``.ssh/id_rsa``) into the IR as a weight.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from xdsl.dialects.builtin import ModuleOp

from spikeir.errors import FrontendError


def import_onnx(source: Any, filename: str | None = None, folder: str | os.PathLike[str] | None = None) -> ModuleOp:
    """Convert an ONNX model (a path, its bytes, a binary stream or a ModelProto) to the nn dialect.

    ``folder`` is where the model's external data may be (see the module docstring); for a path it
    is the path's folder, whatever ``folder`` says."""
    import onnx
    from google.protobuf.message import DecodeError
    from onnx.onnx_cpp2py_export.checker import ValidationError

    is_path = isinstance(source, (str, os.PathLike))
    where = filename or (os.fspath(source) if is_path else "onnx")
    try:
        if isinstance(source, onnx.ModelProto):
            model = onnx.ModelProto()
            model.CopyFrom(source)  # external data is inlined below: leave the caller's model as it was
        elif isinstance(source, bytes):
            model = onnx.load_model(io.BytesIO(source), load_external_data=False)
        else:
            model = onnx.load_model(source, load_external_data=False)
    except (OSError, ValueError, ValidationError, DecodeError) as err:
        raise FrontendError(f"not a valid ONNX model: {_one_line(err)}", str(where)) from None
    if is_path:
        folder = os.path.dirname(os.path.abspath(source))
    _inline_external_data(model, None if folder is None else Path(folder), str(where))
    try:
        onnx.checker.check_model(model)
    except (OSError, ValueError, ValidationError, DecodeError) as err:
        raise FrontendError(f"not a valid ONNX model: {_one_line(err)}", str(where)) from None
    from tvm.relax.frontend.onnx import from_onnx

    try:
        mod = from_onnx(model, shape_dict=_batch1_shapes(model))  # pyright: ignore[reportArgumentType] (takes a ModelProto)
    except Exception as err:  # TVM's importer raises many kinds (unsupported op, bad attribute)
        raise FrontendError(f"TVM's ONNX importer failed: {_one_line(err)}", str(where)) from None
    return _located(mod, str(where))


_MAX_EXTERNAL_BYTES = 1 << 34
"""16 GiB: more than any model spikeir can place; a declared size beyond it is refused unread."""


def _tensors(model: Any) -> Iterator[Any]:
    """Every TensorProto that may keep its data outside the model: initializers (dense and sparse)
    and tensor attributes, in the graph, its subgraphs and the model's functions (iteratively)."""
    from onnx import AttributeProto

    graphs: list[Any] = [model.graph]
    nodes: list[Any] = [node for function in model.functions for node in function.node]
    while graphs or nodes:
        if graphs:
            graph = graphs.pop()
            yield from graph.initializer
            for sparse in graph.sparse_initializer:
                yield sparse.values
                yield sparse.indices
            nodes.extend(graph.node)
            continue
        for attribute in nodes.pop().attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.type == AttributeProto.GRAPH:
                graphs.append(attribute.g)
            graphs.extend(attribute.graphs)


def _inline_external_data(model: Any, folder: Path | None, where: str) -> None:
    """Read every external tensor's bytes into the model (see the module docstring), so that
    neither onnx's checker nor TVM opens a file."""
    from onnx import TensorProto

    for tensor in _tensors(model):
        if tensor.data_location != TensorProto.EXTERNAL:
            continue
        entries = {entry.key: entry.value for entry in tensor.external_data}
        location = entries.get("location", "")
        name = f"ONNX tensor '{tensor.name}' keeps its data in '{location}'"
        if folder is None:
            raise FrontendError(
                f"{name}, but the model was not read from a file, so it has no folder to look in; "
                "give the model as a file path (external data is read only from the model's own folder)",
                where,
            )
        tensor.raw_data = _read_external(folder, location, entries, _byte_size(tensor, name, where), name, where)
        tensor.data_location = TensorProto.DEFAULT
        del tensor.external_data[:]


def _byte_size(tensor: Any, name: str, where: str) -> int:
    """The bytes a raw tensor of ``tensor``'s type and shape holds."""
    from onnx import TensorProto, helper

    if tensor.data_type in (TensorProto.UNDEFINED, TensorProto.STRING):
        raise FrontendError(f"{name}, but external data must be a numeric tensor", where)
    try:
        itemsize = helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    except (KeyError, ValueError, TypeError):
        raise FrontendError(f"{name}, but its element type {tensor.data_type} is unknown", where) from None
    count = 1
    for dim in tensor.dims:
        if dim < 0:
            raise FrontendError(f"{name}, but its shape {list(tensor.dims)} has a negative dimension", where)
        count *= dim
        if count * itemsize > _MAX_EXTERNAL_BYTES:
            raise FrontendError(f"{name}, but its shape {list(tensor.dims)} is over 16 GiB", where)
    return count * itemsize


def _inside(folder: Path, location: str, name: str, where: str) -> Path:
    """The regular file ``location`` names inside ``folder``, all symlinks resolved; else a FrontendError."""
    relative = Path(location)
    if not location or "\0" in location or relative.is_absolute() or relative.drive or ".." in relative.parts:
        raise FrontendError(
            f"{name}: external data must be a relative path inside the model's folder (no absolute path, no '..')",
            where,
        )
    base = Path(os.path.realpath(folder))
    resolved = Path(os.path.realpath(base / relative))
    if resolved != base and base not in resolved.parents:
        raise FrontendError(f"{name}, which leads outside the model's folder (through a symlink)", where)
    try:
        mode = os.stat(resolved).st_mode
    except OSError as err:
        raise FrontendError(f"{name}, which cannot be read: {err.strerror}", where) from None
    if not stat.S_ISREG(mode):
        raise FrontendError(f"{name}, which is not a regular file", where)
    return resolved


def _read_external(folder: Path, location: str, entries: dict[str, str], size: int, name: str, where: str) -> bytes:
    """Exactly ``size`` bytes at ``offset`` of the external file; length, when given, must be ``size``."""
    path = _inside(folder, location, name, where)
    try:
        offset = int(entries.get("offset", "0"))
        length = int(entries["length"]) if "length" in entries else size
    except ValueError:
        raise FrontendError(f"{name}, but its offset or length is not a whole number", where) from None
    if offset < 0 or length != size:
        raise FrontendError(f"{name}, with offset {offset} and length {length}; the tensor needs {size} bytes", where)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise FrontendError(f"{name}, which is not a regular file", where)
            available = os.fstat(handle.fileno()).st_size - offset
            if available < size:
                raise FrontendError(
                    f"{name}, which holds {max(available, 0)} bytes from offset {offset}; the tensor needs {size}",
                    where,
                )
            handle.seek(offset)
            return handle.read(size)
    except OSError as err:
        raise FrontendError(f"{name}, which cannot be read: {err.strerror}", where) from None


def _one_line(err: Exception) -> str:
    """The loader's message on one line: onnx's checker and TVM add context lines and notes
    (``==> Context: ...``, ``# Metadata omitted ...``), and a CLI error is one line."""
    lines = [line.strip() for line in str(err).splitlines()]
    return " ".join(line for line in lines if line and not line.startswith("# ")) or type(err).__name__


def _located(mod: Any, where: str) -> ModuleOp:
    from spikeir.frontends.relax import import_relax

    try:
        return import_relax(mod)
    except FrontendError as err:
        raise err.with_location(where) from None


def _batch1_shapes(model: Any) -> dict[str, list[int]]:
    """The graph inputs' shapes with a symbolic (or any) leading axis set to 1."""
    initializers = {init.name for init in model.graph.initializer}
    shapes: dict[str, list[int]] = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        dims = value.type.tensor_type.shape.dim
        shape = [d.dim_value if d.HasField("dim_value") else -1 for d in dims]
        if any(d < 0 for d in shape[1:]):
            raise FrontendError(f"ONNX input '{value.name}' has a symbolic non-batch axis: {shape}", "onnx")
        shapes[value.name] = [1, *shape[1:]] if shape else shape
    return shapes
