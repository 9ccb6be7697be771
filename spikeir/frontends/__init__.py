"""Frontends: read a trained model in some format and produce the `nn` dialect (docs/pipeline.md, 1).

`FRONTENDS` maps a file extension (without the dot: ``"pt2"``, ``"relay"``, ``"onnx"``, ``"nir"``) to the
function that imports such a file. `spike-opt model.pt2 -p ...` picks the frontend by the
extension (or ``-f EXT``), just as it parses ``.mlir`` text, so every pass and target works on
every input format.

A frontend is called as ``frontend(stream, options)``: ``stream`` is the file opened in binary
mode, ``options`` (:class:`FrontendOptions`) carries the input's name (for error locations), the
folder the input file is in (``None`` for standard input; ONNX external data is read only from
there) and ``--params FILE.npz`` (weights stored apart from the graph, as Relay text keeps them). It returns
a ``builtin.module`` holding ``func.func @main`` and raises `spikeir.errors.FrontendError` for a
model it cannot import. Import heavy libraries (torch, tvm, onnx) inside the function, not at
module level: this registry is read on every `spike-opt` start, `--help` included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from xdsl.dialects.builtin import ModuleOp

from spikeir.errors import FrontendError


@dataclass(frozen=True)
class FrontendOptions:
    """What a frontend may need besides the model's bytes."""

    filename: str
    """The input's name as the user gave it (``stdin`` for standard input), for error locations."""
    params: Path | None = None
    """``--params``: a ``.npz`` of named parameter arrays, for formats that keep weights apart."""
    folder: Path | None = None
    """The folder of the input file, the only place a model's side files (ONNX external data) are
    read from; ``None`` when the model comes from standard input or memory: it has no folder, and a
    model that names side files is refused."""


Frontend = Callable[[IO[bytes], FrontendOptions], ModuleOp]


def _pt2(stream: IO[bytes], options: FrontendOptions) -> ModuleOp:
    """A `torch.export.save` archive."""
    from spikeir.frontends.torch_export import import_pt2

    try:
        return import_pt2(stream)
    except FrontendError as err:
        if err.location is None:
            err.location = options.filename
        raise


def _relay(stream: IO[bytes], options: FrontendOptions) -> ModuleOp:
    """Relay text; weights from ``--params`` (see spikeir.frontends.relay_text for the keys)."""
    from spikeir.frontends.relay_text import import_relay, load_params

    params = load_params(options.params) if options.params is not None else {}
    try:
        text = stream.read().decode()
    except UnicodeDecodeError as err:
        raise FrontendError(f"Relay text must be UTF-8: {err}", options.filename) from None
    return import_relay(text, params, options.filename)


def _onnx(stream: IO[bytes], options: FrontendOptions) -> ModuleOp:
    """An ONNX model; external data only from ``options.folder`` (see spikeir.frontends.onnx)."""
    from spikeir.frontends.onnx import import_onnx

    return import_onnx(stream.read(), options.filename, options.folder)


def _nir(stream: IO[bytes], options: FrontendOptions) -> ModuleOp:
    """A NIR graph (HDF5), under NIR's own conventions (dt = 1, ``v > threshold``): an unplaced
    `spikecore.program` (see spikeir.frontends.nir; place it with ``-p spikecore-place``)."""
    from spikeir.frontends.nir import import_nir

    return import_nir(stream, name=options.filename)


FRONTENDS: dict[str, Frontend] = {"pt2": _pt2, "relay": _relay, "onnx": _onnx, "nir": _nir}
"""File extension -> frontend. Entries are written here, in this file, as functions that import
their implementing module (spikeir.frontends.torch_export, ...) when called."""


_IMPORTERS: dict[str, str] = {
    "import_torch": "spikeir.frontends.torch_export",
    "import_pt2": "spikeir.frontends.torch_export",
    "import_exported_program": "spikeir.frontends.torch_export",
    "import_onnx": "spikeir.frontends.onnx",
    "import_relax": "spikeir.frontends.relax",
    "import_relay": "spikeir.frontends.relay_text",
    "import_nir": "spikeir.frontends.nir",
}
"""The Python importers, by name: ``from spikeir.frontends import import_torch`` loads only torch's
frontend (lazily, like the `FRONTENDS` registry, so spike-opt's start stays light)."""


def __getattr__(name: str) -> Callable[..., ModuleOp]:
    from importlib import import_module

    module = _IMPORTERS.get(name)
    if module is None:
        raise AttributeError(f"module 'spikeir.frontends' has no attribute '{name}'")
    return getattr(import_module(module), name)
