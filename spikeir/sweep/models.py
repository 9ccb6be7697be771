"""What a sweep compiles and measures: the model (as nn IR, imported once) and the evaluation set.

By default the lab's seed MLP (784-64-10, trained once and cached by `spikeir.lab.training`) and the
lab's data split (`spikeir.lab.data`): the 1,000 held-out digits to evaluate, the first training digits
to calibrate (as many as the lab uses). Otherwise a model file that a spikeir frontend reads (by its
extension, `spikeir.frontends.FRONTENDS`), and ``.npy`` arrays of inputs, labels and calibration inputs.
Each has an *identity* (a digest of its content), written in the results file's header so that
``--resume`` refuses to mix the results of different models or data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from xdsl.dialects.builtin import ModuleOp

from spikeir.errors import DataError
from spikeir.frontends.nir import NIRDocument, read_nir
from spikeir.sweep.evaluate import EvalData, as_predictions
from spikeir.sweep.space import SweepError


@dataclass
class SweepModel:
    """A float model in the nn dialect, or a NIR graph (a spiking network: its points are
    `spikeir.sweep.nir_points`'), and what names it."""

    module: ModuleOp | NIRDocument
    name: str
    identity: str

    @property
    def spiking(self) -> bool:
        return isinstance(self.module, NIRDocument)


@dataclass
class EvalSet:
    """Inputs and labels to evaluate on, inputs to calibrate with, and what names them."""

    x: NDArray[np.float32]
    y: NDArray[np.int64]
    calibration: NDArray[np.float32]
    name: str
    identity: str


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()[:16]


def lab_model(hidden: tuple[int, ...] = (64,)) -> SweepModel:
    """The lab's MLP 784-``hidden``-10 (the seed's by default), trained or loaded from the lab's cache."""
    import torch

    from spikeir.frontends.torch_export import import_torch
    from spikeir.lab.data import load_mnist
    from spikeir.lab.training import train_or_load

    data = load_mnist()
    model, info = train_or_load(hidden, data)
    module = import_torch(model, torch.from_numpy(data.x_test[:1]))
    shape = "-".join(map(str, (784, *hidden, 10)))
    return SweepModel(module, f"lab MLP {shape}", f"lab-mlp-{shape}:{info.key[:16]}")


def load_model(path: str | Path) -> SweepModel:
    """A model file, through the frontend of its extension (``.pt2``, ``.onnx``, ...); a ``.nir`` file is
    read as a NIR graph (each point compiles it with `from_nir`)."""
    from spikeir.frontends import FRONTENDS, FrontendOptions

    path = Path(path)
    extension = path.suffix.lstrip(".")
    if extension == "nir":
        try:
            content = path.read_bytes()
        except OSError as error:
            raise SweepError(f"cannot read the model: {error.strerror or error}", str(path)) from None
        return SweepModel(read_nir(path), path.name, f"{path.name}:{_digest(content)}")
    frontend = FRONTENDS.get(extension)
    if frontend is None:
        known = ", ".join(f".{name}" for name in sorted(FRONTENDS))
        raise SweepError(f"unknown model format '.{extension}'; spikeir reads {known}", str(path))
    try:
        content = path.read_bytes()
    except OSError as error:
        raise SweepError(f"cannot read the model: {error.strerror or error}", str(path)) from None
    with path.open("rb") as stream:
        module = frontend(stream, FrontendOptions(str(path), folder=path.parent))
    return SweepModel(module, path.name, f"{path.name}:{_digest(content)}")


def lab_eval_set() -> EvalSet:
    """The lab's 1,000 held-out digits, calibrated on the lab's calibration digits."""
    from spikeir.lab.data import load_mnist
    from spikeir.lab.pipeline import LabOptions

    data = load_mnist()
    calibration = data.x_train[: LabOptions().calibration_samples]
    identity = _digest(data.source.encode(), data.x_test.tobytes(), calibration.tobytes())
    return EvalSet(data.x_test, data.y_test, calibration, f"{len(data.x_test)} held-out digits", identity)


def _load_npy(path: str | Path, what: str) -> NDArray[np.generic]:
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{what} file not found", str(path)) from None
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"not a .npy array of {what}: {error}", str(path)) from None
    if not isinstance(array, np.ndarray) or array.ndim == 0 or len(array) == 0:
        raise DataError(f"expected a non-empty array of {what} (batch first)", str(path))
    return array


def load_eval_set(inputs: str | Path, labels: str | Path, calibration: str | Path) -> EvalSet:
    """An evaluation set from ``.npy`` files: inputs (batch first), integer labels, calibration inputs."""
    x = _load_npy(inputs, "inputs")
    y = _load_npy(labels, "labels")
    cal = _load_npy(calibration, "calibration inputs")
    if not np.issubdtype(x.dtype, np.number) or not np.issubdtype(cal.dtype, np.number):
        raise DataError("inputs must be numbers", str(inputs if not np.issubdtype(x.dtype, np.number) else calibration))
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"labels must be a 1-D integer array, got {y.dtype} of shape {list(y.shape)}", str(labels))
    if len(y) != len(x):
        raise DataError(f"{len(y)} labels for {len(x)} inputs ({inputs})", str(labels))
    if cal.shape[1:] != x.shape[1:]:
        raise DataError(
            f"calibration inputs of shape {list(cal.shape[1:])}, inputs {list(x.shape[1:])}", str(calibration)
        )
    x32, cal32 = x.astype(np.float32), cal.astype(np.float32)
    identity = _digest(x32.tobytes(), y.astype(np.int64).tobytes(), cal32.tobytes())
    return EvalSet(x32, y.astype(np.int64), cal32, f"{len(x)} inputs from {Path(inputs).name}", identity)


def reference_data(model: SweepModel, data: EvalSet) -> EvalData:
    """The evaluation set with the float model's predictions (spikeir's nn interpreter runs the imported
    float graph: the model the chip's results are compared with). A NIR graph's float model depends on
    the point (conventions, streams): its shards compare with it themselves."""
    from spikeir.ir.interpreter import run_function

    if isinstance(model.module, NIRDocument):  # a NIR point compares with its own float SNN
        return EvalData(data.x, data.y)
    (logits,) = run_function(model.module, "main", data.x)
    return EvalData(data.x, data.y, as_predictions(logits))
