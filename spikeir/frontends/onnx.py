"""ONNX -> nn, through TVM's Relax ONNX importer and then `import_relax`.

Going through Relax keeps one mapping (Relax ops -> nn) for TVM's and ONNX's worlds: Gemm, MatMul,
Add, Relu, Flatten, Reshape and Softmax arrive as the Relax ops `spikeir.frontends.relax` knows.
Inputs with a symbolic batch axis are given batch 1 (spikeir's IR is batch-1; the batch is a
run-time matter).
"""

from __future__ import annotations

import io
import os
from typing import Any

from xdsl.dialects.builtin import ModuleOp

from spikeir.errors import FrontendError


def import_onnx(source: Any, filename: str | None = None) -> ModuleOp:
    """Convert an ONNX model (a path, its bytes, a binary stream or a ModelProto) to the nn dialect."""
    import onnx
    from google.protobuf.message import DecodeError
    from onnx.onnx_cpp2py_export.checker import ValidationError

    where = filename or (os.fspath(source) if isinstance(source, (str, os.PathLike)) else "onnx")
    try:
        if isinstance(source, onnx.ModelProto):
            model = source
        elif isinstance(source, bytes):
            model = onnx.load_model(io.BytesIO(source))
        else:
            model = onnx.load_model(source)
        onnx.checker.check_model(model)
    except (OSError, ValueError, ValidationError, DecodeError) as err:
        raise FrontendError(f"not a valid ONNX model: {_one_line(err)}", str(where)) from None
    from tvm.relax.frontend.onnx import from_onnx

    try:
        mod = from_onnx(model, shape_dict=_batch1_shapes(model))  # pyright: ignore[reportArgumentType] (takes a ModelProto)
    except Exception as err:  # TVM's importer raises many kinds (unsupported op, bad attribute)
        raise FrontendError(f"TVM's ONNX importer failed: {_one_line(err)}", str(where)) from None
    return _located(mod, str(where))


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
