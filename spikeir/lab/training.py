"""Train the lab's networks (MLPs and the LeNet-style CNN) reproducibly, and cache them so the lab does not retrain on every run.

Training is deterministic for a given seed, data and torch build: the initial weights come from
``torch.manual_seed(seed)`` and batches from a generator seeded with the same number, both inside
``torch.random.fork_rng`` so the caller's global random state is left alone.

:func:`train_or_load` stores each trained ``state_dict`` under the cache directory (``$SPIKEIR_CACHE``,
else ``$XDG_CACHE_HOME/spikeir``, else ``~/.cache/spikeir``), keyed by a hash of the architecture, the
data (source and a digest of the training arrays) and every hyper-parameter. Files are written
atomically and read with ``weights_only=True``; an unreadable file is retrained over, not a crash.

By default the networks train on raw pixels in [0, 1], not on the seed's standardised pixels: the
SpikeCore input port carries non-negative int8 payloads in which a zero pixel is "no event", and
standardisation would turn every background pixel into an event.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn
from tqdm import tqdm

from spikeir.fileio import atomic_write
from spikeir.lab.data import MNISTSplit, load_mnist, normalize

DEFAULT_HIDDEN: tuple[int, ...] = (64,)
DEFAULT_EPOCHS = 12
DEFAULT_BATCH_SIZE = 64
DEFAULT_LR = 1e-3
CNN_LR = 3e-3
"""The CNN's learning rate: at 1e-3 twelve epochs leave it at 93.0% on the held-out digits, at 3e-3 it
reaches 96.5% in the same 18 s (measured with train_or_load(kind="cnn", lr=...) on the lab split)."""
DEFAULT_SEED = 0
CACHE_FORMAT = 1
"""Bump when the cache file layout or the training procedure changes: old files are then ignored."""

ArrayLike = NDArray[np.floating] | NDArray[np.integer] | torch.Tensor

ModelKind = Literal["mlp", "cnn"]
"""The lab's trained architectures: the seed's MLP, and the LeNet-style CNN of issue 14."""
MODEL_KINDS: tuple[ModelKind, ...] = ("mlp", "cnn")

LENET_CHANNELS = (6, 16)
"""Output channels of the CNN's two 5x5 convolutions (LeNet-5's)."""
LENET_KERNEL = 5


class MLP(nn.Module):
    """A ReLU multi-layer perceptron: in_features -> hidden... -> num_classes (logits).

    Inputs of any shape (N, ...) are flattened to (N, in_features), so (N, 1, 28, 28) images work.
    The flatten is outside ``layers`` so parameter names match the seed: ``layers.0.weight``, ...
    """

    def __init__(self, hidden: Sequence[int] = DEFAULT_HIDDEN, num_classes: int = 10, in_features: int = 784) -> None:
        super().__init__()
        widths = [in_features, *hidden, num_classes]
        if any(not isinstance(w, int) or w <= 0 for w in widths):
            raise ValueError(f"layer widths must be positive integers, got {widths}")
        self.hidden = tuple(hidden)
        self.num_classes = num_classes
        self.in_features = in_features
        modules: list[nn.Module] = []
        for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
            modules.append(nn.Linear(fan_in, fan_out))
            if i < len(widths) - 2:
                modules.append(nn.ReLU())
        self.flatten = nn.Flatten()
        self.layers = nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.flatten(x))


class MNISTNet(MLP):
    """The seed notebook's network: 784 -> 64 (ReLU) -> 10."""

    def __init__(self) -> None:
        super().__init__(hidden=(64,), num_classes=10)


class LeNet(nn.Module):
    """A LeNet-style CNN for 1x28x28 digits: (conv 5x5 - ReLU - 2x2 average pool) x 2, then linear layers.

    The first convolution pads by 2 (28x28 stays 28x28, as LeNet-5's 32x32 input), the second does not
    (14x14 -> 10x10), so 16x5x5 = 400 features reach the linear part: ``hidden`` widths with ReLU, then
    ``num_classes`` logits (two linear layers with the default ``hidden=(64,)``). Pooling is average,
    not max: SpikeCore sums events, and an average is a sum with a fixed weight (issue 14).
    """

    def __init__(self, hidden: Sequence[int] = DEFAULT_HIDDEN, num_classes: int = 10) -> None:
        super().__init__()
        first, second = LENET_CHANNELS
        self.hidden = tuple(hidden)
        self.num_classes = num_classes
        self.features = nn.Sequential(
            nn.Conv2d(1, first, LENET_KERNEL, padding=2),
            nn.ReLU(),
            nn.AvgPool2d(2),
            nn.Conv2d(first, second, LENET_KERNEL),
            nn.ReLU(),
            nn.AvgPool2d(2),
        )
        self.flatten = nn.Flatten()
        self.classifier = MLP(hidden, num_classes, in_features=second * 5 * 5).layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.flatten(self.features(x)))


def build_model(kind: ModelKind, hidden: Sequence[int] = DEFAULT_HIDDEN) -> MLP | LeNet:
    """An untrained network of the lab: ``MLP(hidden)`` or ``LeNet(hidden)``."""
    if kind == "mlp":
        return MLP(hidden)
    if kind == "cnn":
        return LeNet(hidden)
    raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(MODEL_KINDS)}")


def architecture(kind: ModelKind, hidden: Sequence[int]) -> dict[str, object]:
    """What a network of ``kind`` is, as a JSON-able description (part of the cache key and of the
    lab's report)."""
    if kind == "mlp":
        return {"kind": "mlp", "in_features": 784, "hidden": list(hidden), "num_classes": 10}
    return {
        "kind": "cnn",
        "input": [1, 28, 28],
        "conv_channels": list(LENET_CHANNELS),
        "kernel": LENET_KERNEL,
        "pool": "avg2x2",
        "hidden": list(hidden),
        "num_classes": 10,
    }


def describe(kind: ModelKind, hidden: Sequence[int]) -> str:
    """One line naming the network, e.g. ``MLP 784-64-10`` or ``LeNet CNN conv6-pool-conv16-pool-400-64-10``."""
    if kind == "mlp":
        return "MLP " + "-".join(map(str, [784, *hidden, 10]))
    first, second = LENET_CHANNELS
    return f"LeNet CNN conv{first}-pool-conv{second}-pool-" + "-".join(map(str, [second * 25, *hidden, 10]))


def _as_tensors(x: ArrayLike, y: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32)) if not isinstance(x, torch.Tensor) else x.float()
    yt = torch.as_tensor(np.asarray(y, dtype=np.int64)) if not isinstance(y, torch.Tensor) else y.long()
    if xt.shape[0] != yt.shape[0]:
        raise ValueError(f"{xt.shape[0]} inputs but {yt.shape[0]} labels")
    if xt.shape[0] == 0:
        raise ValueError("no training data")
    return xt, yt


def _show_progress(progress: bool) -> bool:
    return progress and sys.stderr is not None and sys.stderr.isatty()


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread for the duration, then restore the previous count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train(
    model: nn.Module,
    x: ArrayLike,
    y: ArrayLike,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    lr: float = DEFAULT_LR,
    seed: int = DEFAULT_SEED,
    progress: bool = True,
) -> list[float]:
    """Train with Adam and cross-entropy; return the mean training loss of each epoch.

    Shuffling uses its own generator seeded with ``seed``; deterministic algorithms are switched on
    (warn-only, for models with ops that have no deterministic kernel) for the duration of the call
    and restored afterwards. The bar shows only when ``progress`` is set and stderr is a terminal.

    Training runs on one intra-op thread: these matrices are too small to gain from more, and on a
    shared machine OpenMP's spinning threads made the default MLP 7-10x slower (measured: 10.5 s on
    one thread against 78-110 s on two, with the load average at 10 on 2 cores).
    """
    if epochs < 0 or batch_size <= 0 or lr <= 0:
        raise ValueError(f"need epochs >= 0, batch_size > 0 and lr > 0, got {epochs}, {batch_size}, {lr}")
    xt, yt = _as_tensors(x, y)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    was_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    with torch.random.fork_rng(devices=[]), _one_thread():
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            optimizer = torch.optim.Adam(model.parameters(), lr=lr)
            model.train()
            losses = _train_epochs(model, optimizer, xt, yt, epochs, batch_size, seed, progress)
        finally:
            torch.use_deterministic_algorithms(was_deterministic, warn_only=was_warn_only)
    model.eval()
    return losses


def _train_epochs(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    xt: torch.Tensor,
    yt: torch.Tensor,
    epochs: int,
    batch_size: int,
    seed: int,
    progress: bool,
) -> list[float]:
    """The training loop proper, apart from :func:`train`'s set-up and restoring of torch's global
    state: shuffled mini-batches from a generator of its own (seeded, so runs repeat), one progress
    bar over every batch, and the mean loss of each epoch."""
    n = xt.shape[0]
    batches = (n + batch_size - 1) // batch_size
    generator = torch.Generator().manual_seed(seed)
    losses: list[float] = []
    with tqdm(total=epochs * batches, unit="batch", desc="training", disable=not _show_progress(progress)) as bar:
        for epoch in range(epochs):
            order = torch.randperm(n, generator=generator)
            total = 0.0
            for start in range(0, n, batch_size):
                index = order[start : start + batch_size]
                optimizer.zero_grad()
                loss = F.cross_entropy(model(xt[index]), yt[index])
                loss.backward()
                optimizer.step()
                total += loss.item() * len(index)
                bar.update()
            losses.append(total / n)
            bar.set_postfix(epoch=epoch + 1, loss=f"{losses[-1]:.4f}")
    return losses


def evaluate(model: nn.Module, x: ArrayLike, y: ArrayLike, batch_size: int = 1000) -> float:
    """Top-1 accuracy of ``model`` on (x, y), in [0, 1]."""
    xt, yt = _as_tensors(x, y)
    model.eval()
    correct = 0
    with torch.no_grad(), _one_thread():
        for start in range(0, xt.shape[0], batch_size):
            predictions = model(xt[start : start + batch_size]).argmax(dim=1)
            correct += int((predictions == yt[start : start + batch_size]).sum())
    return correct / xt.shape[0]


@dataclass
class TrainInfo:
    """How a model from :func:`train_or_load` came to be, and how good it is."""

    key: str
    """Hex digest of everything the trained weights depend on."""
    path: Path
    """The cache file (written, or read)."""
    cached: bool
    """True when the weights were loaded from the cache, False when trained now."""
    hidden: tuple[int, ...]
    epochs: int
    batch_size: int
    lr: float
    seed: int
    normalized: bool
    """True when trained on :func:`spikeir.lab.data.normalize`-d inputs (feed it those too)."""
    data_source: str
    train_seconds: float
    """Training time when the weights were trained (recorded in the cache, so also for hits)."""
    test_accuracy: float
    losses: list[float] = field(default_factory=list)
    cache_problem: str | None = None
    """Why the cache could not be used or written (the model is still good), else None."""


def default_cache_dir() -> Path:
    """``$SPIKEIR_CACHE``, else ``$XDG_CACHE_HOME/spikeir``, else ``~/.cache/spikeir``."""
    if os.environ.get("SPIKEIR_CACHE"):
        return Path(os.environ["SPIKEIR_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "spikeir"


def _data_digest(data: MNISTSplit) -> str:
    digest = hashlib.sha256()
    for array in (data.x_train, data.y_train):
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def cache_key(
    hidden: Sequence[int],
    data: MNISTSplit,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    normalized: bool,
    kind: ModelKind = "mlp",
) -> str:
    """The hex digest naming a trained model: architecture, data and every hyper-parameter."""
    description = {
        "format": CACHE_FORMAT,
        "architecture": architecture(kind, hidden),
        "data": {"source": data.source, "train_sha256": _data_digest(data)},
        "training": {
            "optimizer": "adam",
            "epochs": epochs,
            "batch_size": batch_size,
            "lr": lr,
            "seed": seed,
            "normalized": normalized,
        },
    }
    return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()


_LOAD_ERRORS = (OSError, EOFError, RuntimeError, ValueError, KeyError, TypeError, pickle.UnpicklingError)


def _load_cached(path: Path, model: nn.Module, key: str) -> tuple[list[float], float]:
    """Load a cache file into ``model``; raise one of ``_LOAD_ERRORS`` if it is not usable."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("key") != key:
        raise ValueError("not a spikeir model for this key")
    model.load_state_dict(payload["state_dict"])
    return [float(v) for v in payload["losses"]], float(payload["train_seconds"])


def save_atomically(path: Path, payload: dict[str, Any]) -> None:
    """The cache file appears whole or not at all (fileio.atomic_write, the project's one writer)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write(path, buffer.getvalue())


def fresh_model(kind: ModelKind, hidden: tuple[int, ...], seed: int) -> MLP | LeNet:
    """An untrained network whose initial weights depend only on ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(kind, hidden)


def train_or_load(
    hidden: Sequence[int] = DEFAULT_HIDDEN,
    data: MNISTSplit | None = None,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = DEFAULT_SEED,
    cache_dir: str | Path | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    lr: float | None = None,
    normalized: bool = False,
    progress: bool = False,
    kind: ModelKind = "mlp",
) -> tuple[MLP | LeNet, TrainInfo]:
    """Return a trained network (in eval mode) from the cache, or train it and cache it: the MLP
    784-``hidden``-10, or with ``kind="cnn"`` the `LeNet` whose linear part has ``hidden`` widths.

    ``lr`` defaults to ``DEFAULT_LR`` for the MLP and ``CNN_LR`` for the CNN. ``data`` defaults to
    :func:`spikeir.lab.data.load_mnist` (the bundled digits). Problems with the
    cache never fail the call: they are reported in ``info.cache_problem`` and as a warning.
    """
    data = load_mnist() if data is None else data
    hidden = tuple(hidden)
    lr = (CNN_LR if kind == "cnn" else DEFAULT_LR) if lr is None else lr
    key = cache_key(hidden, data, epochs, batch_size, lr, seed, normalized, kind)
    directory = default_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()
    path = directory / f"{kind}-{'x'.join(map(str, hidden)) or 'linear'}-{key[:20]}.pt"
    run = _TrainingRun(key, path, kind, hidden, data, epochs, batch_size, lr, seed, normalized)
    problem: str | None = None
    if path.exists():
        model = fresh_model(kind, hidden, seed)
        try:
            losses, seconds = _load_cached(path, model, key)
        except _LOAD_ERRORS as error:
            problem = f"{path}: unusable cache file ({type(error).__name__}: {error}); retrained"
        else:
            return model, run.info(model, True, seconds, losses, None)
    model, seconds, losses, save_problem = _train_and_save(run, progress)
    problem = save_problem or problem
    if problem is not None:
        warnings.warn(problem, stacklevel=2)
    return model, run.info(model, False, seconds, losses, problem)


@dataclass(frozen=True)
class _TrainingRun:
    """What one :func:`train_or_load` call trains, and where its cache file is."""

    key: str
    path: Path
    kind: ModelKind
    hidden: tuple[int, ...]
    data: MNISTSplit
    epochs: int
    batch_size: int
    lr: float
    seed: int
    normalized: bool

    def prepare(self, x: NDArray[np.float32]) -> NDArray[np.float32]:
        """Inputs as the model was trained on them (normalized or raw pixels)."""
        return normalize(x) if self.normalized else x

    def info(self, model: nn.Module, cached: bool, seconds: float, losses: list[float], problem: str | None) -> TrainInfo:
        """The `TrainInfo` of ``model``, with its accuracy on the test set measured now."""
        accuracy = evaluate(model, self.prepare(self.data.x_test), self.data.y_test)
        return TrainInfo(
            self.key,
            self.path,
            cached,
            self.hidden,
            self.epochs,
            self.batch_size,
            self.lr,
            self.seed,
            self.normalized,
            self.data.source,
            seconds,
            accuracy,
            losses,
            problem,
        )


def _train_and_save(run: _TrainingRun, progress: bool) -> tuple[MLP | LeNet, float, list[float], str | None]:
    """Train a fresh model and cache it: ``(model, seconds, losses, why it could not be cached)``.
    A cache that cannot be written costs only the next run's training, so it is no error."""
    model = fresh_model(run.kind, run.hidden, run.seed)
    start = time.perf_counter()
    losses = train(
        model, run.prepare(run.data.x_train), run.data.y_train, run.epochs, run.batch_size, run.lr, run.seed, progress
    )
    seconds = time.perf_counter() - start
    payload: dict[str, object] = {
        "key": run.key,
        "state_dict": model.state_dict(),
        "losses": losses,
        "train_seconds": seconds,
    }
    try:
        save_atomically(run.path, payload)
    except OSError as error:
        return (
            model,
            seconds,
            losses,
            f"{run.path}: cannot write the cache ({error.strerror or error}); the model was not saved",
        )
    return model, seconds, losses, None
