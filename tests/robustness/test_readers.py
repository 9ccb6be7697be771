"""The bounded data readers (spikeir.fileio: read_bounded, read_npy, read_npz), issue 19 items 10, 11
and 13: a header claiming an enormous shape, a gzip or ``.npz`` bomb, a device, a folder, an exotic
dtype or a text file given as ``.npy`` is one DataError naming the file, found before any large
allocation; plain arrays load exactly as ``np.load`` loads them."""

from __future__ import annotations

import gzip
import io
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from spikeir import fileio
from spikeir.errors import DataError
from support.programs import SMALL

SPIKE_RUN = Path(sys.executable).parent / "spike-run"


def npy_header(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    """A version 1.0 ``.npy`` header claiming ``shape`` (what a hostile file writes)."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    text += " " * (118 - len(text)) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()


def test_a_header_claiming_terabytes_fails_before_allocating(tmp_path: Path) -> None:
    path = tmp_path / "huge.npy"
    path.write_bytes(npy_header((100_000_000_000, 4)) + bytes(16))
    tracemalloc.start()
    with pytest.raises(DataError, match=r"claims shape \(100000000000, 4\) of float32 .* but 16 bytes of data follow"):
        fileio.read_npy(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 << 20  # one read chunk, not 1.6 TB


def test_spike_run_reports_a_huge_header_in_one_line(tmp_path: Path) -> None:
    program, data = tmp_path / "net.s", tmp_path / "huge.npy"
    program.write_text(SMALL)
    data.write_bytes(npy_header((1 << 40,), "|i1"))
    done = subprocess.run([str(SPIKE_RUN), str(program), "--input", str(data)], capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr.startswith(f"{data}: error: the header claims shape"), done.stderr
    assert "MemoryError" not in done.stderr and len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("array", "kind"),
    [
        (np.array([{"a": 1}], dtype=object), "pickled objects"),
        (np.zeros(2, [("a", "i1"), ("b", "f4")]), "structured"),
        (np.zeros(2, "(3,)i4"), None),  # a sub-array dtype is stored as the expanded shape: loads
        (np.zeros(2, "M8[s]"), "datetime"),
        (np.zeros(2, "m8[s]"), "timedelta"),
        (np.zeros(2, np.complex128), "complex"),
        (np.array(["ab"]), "string"),
        (np.array([b"ab"]), "bytes"),
        (np.zeros(2, "V4"), "void"),
    ],
)
def test_exotic_dtypes_are_named(tmp_path: Path, array: np.ndarray, kind: str | None) -> None:
    path = tmp_path / "a.npy"
    np.save(path, array, allow_pickle=True)
    if kind is None:
        assert np.array_equal(fileio.read_npy(path), np.load(path))
        return
    with pytest.raises(DataError, match=rf"has dtype .* \({kind}\); expected a plain bool, float or integer array"):
        fileio.read_npy(path)


def test_kinds_narrow_what_is_read(tmp_path: Path) -> None:
    path = tmp_path / "b.npy"
    np.save(path, np.array([True, False]))
    assert fileio.read_npy(path).dtype == np.bool_
    with pytest.raises(DataError, match=r"dtype bool; expected a plain float or integer array"):
        fileio.read_npy(path, kinds="iuf")


@pytest.mark.parametrize(
    "array",
    [
        np.float32(3.5).reshape(()),  # 0-d
        np.zeros((0, 7), np.int8),
        np.asfortranarray(np.arange(12, dtype=np.int16).reshape(3, 4)),
        np.arange(6, dtype=">i4").reshape(2, 3),
        np.array([1e-300, -np.inf], np.longdouble),
        np.ones((2, 2), np.float16),
    ],
)
def test_plain_arrays_load_as_numpy_loads_them(tmp_path: Path, array: np.ndarray) -> None:
    path = tmp_path / "ok.npy"
    np.save(path, array)
    loaded = fileio.read_npy(path)
    expected = np.load(path)
    assert loaded.dtype == expected.dtype and loaded.shape == expected.shape
    assert np.array_equal(loaded, expected, equal_nan=True) and loaded.flags.writeable


def test_version_2_header_and_trailing_or_missing_bytes(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.arange(5, dtype=np.int32), version=(2, 0))
    assert np.array_equal(fileio.parse_npy(buffer.getvalue(), "v2"), np.arange(5))
    with pytest.raises(DataError, match="20 bytes\\), but 21 bytes of data follow"):
        fileio.parse_npy(buffer.getvalue() + b"\0", "v2")
    with pytest.raises(DataError, match="but 19 bytes"):
        fileio.parse_npy(buffer.getvalue()[:-1], "v2")


def test_a_text_file_is_not_called_a_pickle(tmp_path: Path) -> None:
    path = tmp_path / "notes.npy"
    path.write_text("0.1, 0.2, 0.3\n")
    with pytest.raises(DataError, match=r"does not start with the NumPy magic bytes \(it looks like text\)") as error:
        fileio.read_npy(path)
    assert "allow_pickle" not in str(error.value)
    with pytest.raises(DataError, match="not a valid .npy header: unknown format version"):
        fileio.parse_npy(b"\x93NUMPY garbage", "g")


def test_devices_and_folders_are_refused_unread(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="/dev/zero: cannot read the input: it is a device"):
        fileio.read_npy("/dev/zero", "input")
    with pytest.raises(DataError, match="cannot read the input: Is a directory"):
        fileio.read_npy(tmp_path, "input")
    with pytest.raises(DataError, match="cannot read the input: No such file"):
        fileio.read_npy(tmp_path / "missing.npy", "input")


def test_a_gzip_bomb_stops_at_the_bound(tmp_path: Path) -> None:
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(bytes(8 << 20)))  # 8 MiB of zeros in about 8 KiB
    tracemalloc.start()
    with pytest.raises(DataError, match=r"bomb.gz: the file \(decompressed\) is more than 1,048,576 bytes"):
        fileio.read_bounded(path, limit=1 << 20)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 6 << 20
    assert fileio.read_bounded(path, limit=8 << 20) == bytes(8 << 20)
    path.write_bytes(gzip.compress(b"abc")[:-3])
    with pytest.raises(DataError, match="corrupt gzip data"):
        fileio.read_bounded(path)


def test_a_plain_file_over_the_bound_is_refused_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.npy"
    with path.open("wb") as handle:
        handle.truncate((1 << 20) + 1)  # sparse
    with pytest.raises(DataError, match="is 1,048,577 bytes; spikeir reads at most 1,048,576"):
        fileio.read_bounded(path, limit=1 << 20)


def test_an_npz_bomb_stops_at_the_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, w=np.zeros(4 << 20, np.int8))
    monkeypatch.setattr(fileio, "MAX_READ_BYTES", 1 << 20)
    tracemalloc.start()
    with pytest.raises(DataError, match=r"bomb.npz: the archive \(decompressed\) is more than 1,048,576 bytes"):
        fileio.read_npz(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 6 << 20


def test_an_npz_entry_that_lies_about_its_size_stops_there(tmp_path: Path) -> None:
    body = io.BytesIO()
    np.save(body, np.zeros(1000, np.int8))
    path = tmp_path / "lie.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("w.npy", body.getvalue())
    data = bytearray(path.read_bytes())
    # the central directory's uncompressed size of the one entry, made 10 bytes
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = struct.pack("<I", 10)
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="lie.npz"):
        fileio.read_npz(path)


def test_npz_names_entries_and_dtypes(tmp_path: Path) -> None:
    path = tmp_path / "p.npz"
    np.savez(path, w=np.ones((2, 3), np.float32), b=np.arange(2))
    arrays = fileio.read_npz(path)
    assert sorted(arrays) == ["b", "w"] and np.array_equal(arrays["w"], np.ones((2, 3)))
    with path.open("rb") as stream:
        assert sorted(fileio.read_npz(stream)) == ["b", "w"]
    body = io.BytesIO()
    np.save(body, np.zeros(2))
    with zipfile.ZipFile(path, "w") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("w.npy", body.getvalue())
        archive.writestr("w.npy", body.getvalue())
    with pytest.raises(DataError, match="duplicate array name 'w'"):
        fileio.read_npz(path)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hi")
    with pytest.raises(DataError, match="entry 'notes.txt' is not a .npy array"):
        fileio.read_npz(path)
    np.savez(path, c=np.zeros(2, np.complex64))
    with pytest.raises(DataError, match=r"p.npz\[c\]: the array has dtype complex64 \(complex\)"):
        fileio.read_npz(path)
    path.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(DataError, match="not a valid .npz archive"):
        fileio.read_npz(path)


@pytest.mark.parametrize(
    ("header", "message"),
    [  # found by scripts/fuzz.py (seed 1): numpy's header parser raised tokenize.TokenError
        ("{'descr': '|i1', 'fortran_order': False, 'shape': (1,", "not a valid .npy header: ('EOF in multi-line"),
        ("{'descr': '|i1', 'fortran_order': False, 'shape': (-1,), }", "negative dimension in shape (-1,)"),
        ("{'descr': '|i1', 'fortran_order': False, 'shape': (1.5,), }", "shape is not valid: (1.5,)"),
        ("{'descr': " + "(" * 3000 + ")" * 3000 + "}", "not a valid .npy header"),
    ],
)
def test_hostile_headers_are_data_errors(header: str, message: str) -> None:
    text = header + " " * (-(len(header) + 11) % 64) + "\n"
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()
    with pytest.raises(DataError, match="^h.npy: ") as caught:
        fileio.parse_npy(data, "h.npy")
    assert message in caught.value.message
