"""Round-2 holes in the Relay frontend and the lab's MNIST reader (FE1-FE3, lab data in docs/robustness.md):
each input here ended in a traceback, a MemoryError or a silently wrong import before it was fixed."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import numpy.lib.format as npy_format
import pytest
from test_robustness_round2 import run_main

from spikeir import fileio
from spikeir.errors import DataError, FrontendError
from spikeir.fileio import MAX_NESTING
from spikeir.frontends.relay_text import import_relay, load_params
from spikeir.lab.data import read_idx_images
from spikeir.tools import spike_opt

RELAY = "fn (%x: Tensor[(1, 2), float32]) { nn.dense(%x, %w) }"


def _npz_with_member(name: str, member: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(f"{name}.npy", member)
    return out.getvalue()


def _huge_header_npy() -> bytes:
    """A ``.npy`` whose header claims (10^11, 4) float32 (1.46 TiB) over 16 bytes of data."""
    stream = io.BytesIO()
    npy_format.write_array_header_1_0(stream, {"descr": "<f4", "fortran_order": False, "shape": (10**11, 4)})
    return stream.getvalue() + bytes(16)


# -- FE1: the params file is read with read_npz (integers and floats only) --------------------------


@pytest.mark.parametrize(
    ("array", "dtype"),
    [
        (np.ones((1, 2), np.complex64), "complex64"),
        (np.ones((1, 2), bool), "bool"),
        (np.array([["2026-01-01", "2026-01-02"]], "datetime64[D]"), r"datetime64\[D\]"),
    ],
)
def test_params_of_a_non_numeric_dtype_are_refused_not_converted(tmp_path: Path, array: np.ndarray, dtype: str) -> None:
    """These were converted to float32 silently (``spike-opt r.relay --params pc.npz`` exited 0)."""
    path = tmp_path / "p.npz"
    np.savez(path, w=array)
    with pytest.raises(
        FrontendError,
        match=rf"cannot read the Relay params file: the array has dtype {dtype}[ ;].*expected a plain float or integer",
    ):
        load_params(path)
    relay = tmp_path / "r.relay"
    relay.write_text(RELAY)
    status, _, err = run_main(spike_opt.main, relay, "--params", path)
    assert status == 1 and err.startswith(f"{path}[w]: error: cannot read the Relay params file: ") and "\n" == err[-1]
    assert err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04 not really a zip", "not a valid .npz archive"),
        (b"\x00" * 64, "not a valid .npz archive"),
        (_npz_with_member("w", _huge_header_npy()), "the header claims shape (100000000000, 4)"),
        (_npz_with_member("w", b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortr"), "not a valid .npy header"),
    ],
    ids=["bad-zip", "zeros", "huge-header", "cut-header"],
)
def test_corrupt_params_are_one_frontend_error(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "p.npz"
    path.write_bytes(data)
    with pytest.raises(FrontendError, match="cannot read the Relay params file") as caught:
        load_params(path)
    assert message in caught.value.message and str(caught.value.location).startswith(str(path))
    with pytest.raises(FrontendError, match="cannot read the Relay params file"):
        load_params(io.BytesIO(data))  # a stream (FrontendOptions.params from Python) is read the same way


def test_integer_and_float_params_still_load(tmp_path: Path) -> None:
    path = tmp_path / "p.npz"
    np.savez(path, w=np.ones((3, 2), np.float32), b=np.arange(3, dtype=np.int16))
    params = load_params(path)
    assert sorted(params) == ["b", "w"] and params["b"].dtype == np.int16
    assert "nn.dense" in str(import_relay(RELAY, params))


# -- FE2: nesting is bounded before lark's recursive tree builders run ------------------------------


def test_relay_nested_2000_deep_is_a_located_error() -> None:
    text = "fn (%x: Tensor[(1, 2), float32]) {\n  " + "nn.relu(" * 2000 + "%x" + ")" * 2000 + "\n}"
    with pytest.raises(FrontendError, match=rf"^m\.relay:2:\d+: brackets nest more than {MAX_NESTING} levels"):
        import_relay(text, {}, "m.relay")


def test_relay_nesting_within_the_bound_imports() -> None:
    depth = MAX_NESTING - 4
    text = "fn (%x: Tensor[(1, 2), float32]) { " + "nn.relu(" * depth + "%x" + ")" * depth + " }"
    assert str(import_relay(text, {})).count("nn.relu") == depth


# -- FE3: parameter names are unique ----------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "fn (%x: Tensor[(1, 2), float32], %x: Tensor[(1, 3), float32])",
        "def @main(%x: Tensor[(1, 2), float32], %w: Tensor[(3, 2), float32], %x: Tensor[(1, 2), float32])",
    ],
)
def test_duplicate_parameter_names_are_a_located_error(header: str) -> None:
    text = header + " { nn.dense(%x, %w) }"
    column = header.rindex("%x") + 1
    with pytest.raises(FrontendError, match=rf"^m\.relay:1:{column}: parameter %x is declared twice \(first at 1:"):
        import_relay(text, {"w": np.ones((3, 2), np.float32)}, "m.relay")


# -- lab data: gzipped IDX files are read through read_bounded --------------------------------------


def test_a_gzipped_mnist_bomb_stops_at_the_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fileio, "MAX_READ_BYTES", 1 << 20)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    header = (0x803).to_bytes(4, "big") + (10**6).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    path.write_bytes(gzip.compress(header + bytes(4 << 20), compresslevel=1))
    with pytest.raises(DataError, match=r"the MNIST file \(decompressed\) is more than 1,048,576 bytes") as caught:
        read_idx_images(path)
    assert caught.value.location == str(path)


def test_a_folder_named_as_an_mnist_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "train-images-idx3-ubyte"
    path.mkdir()
    with pytest.raises(DataError, match="cannot read the MNIST file: Is a directory"):
        read_idx_images(path)
