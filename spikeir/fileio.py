"""Writing files so that an interrupted run never leaves a half-written program, image or report,
and so that writing never replaces what the path names when that is not a plain file.

`atomic_write` is the one writer for every path a user names (spike-opt ``-o``, spike-run
``--log-spikes``, `save_image`, `save_assembly`, the lab's outputs). What it does depends on what
the path is:

- a regular file, or nothing yet: a temporary file in the same folder, fsynced, then renamed over
  the path (readers see the old file or the complete new one). An existing file keeps its mode
  (a private 0600 file stays private) and, where the OS allows, its owner and group; a new file
  gets 0666 less the umask, as ``open(path, "w")`` would. Parent folders are created. The path
  gets a new inode, so other hard links to the old file keep the old content.
- a symbolic link: the link is followed to its final target, and the *target* is replaced as
  above, in the target's folder; the link stays a link.
- a character device (``/dev/null``, a terminal), a FIFO, or the process's own standard output
  (``/dev/stdout``, ``/proc/self/fd/1``), and the string ``"-"``: written through, never
  replaced (replacing ``/dev/null`` as root would turn the device into a regular file).
- anything else (a folder, a block device, a socket): refused with an `OSError` naming the path.

Reading has the mirror rule: `read_bounded`, `read_npy` and `read_npz` are the readers of every
file a user names that holds data (spike-run inputs, calibration sets, Relay params, gzipped IDX).
They refuse devices and folders unread, read at most `MAX_READ_BYTES` (decompressed, for gzip and
``.npz`` members), check a ``.npy`` header's shape against the bytes actually present before
anything is allocated, and load only plain numeric arrays (no pickle, no object, structured,
string, datetime or complex dtypes unless asked), each failure one `DataError` naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import math
import os
import re
import stat
import sys
import tempfile
import tokenize
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import numpy as np
import numpy.lib.format as npy_format

from spikeir.errors import DataError

STDOUT = "-"
"""The path that means standard output (as a ``str``; ``Path("-")`` is a file named ``-``)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _as_bytes(data: bytes | str) -> bytes:
    return data.encode() if isinstance(data, str) else data


def _is_stdout(info: os.stat_result) -> bool:
    """Whether ``info`` is the file this process's standard output is (``-o /dev/stdout``)."""
    try:
        out = os.fstat(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # stdout replaced (tests, embedding) or closed
        return False
    return (out.st_dev, out.st_ino) == (info.st_dev, info.st_ino)


def _write_stdout(data: bytes) -> None:
    sys.stdout.flush()
    binary = getattr(sys.stdout, "buffer", None)
    if binary is None:  # a text-only stream in place of stdout (tests, notebooks)
        sys.stdout.write(data.decode(errors="replace"))
        return
    binary.write(data)
    binary.flush()


def _write_through(path: Path, data: bytes) -> None:
    """Write into a character device or FIFO as it is (a FIFO waits for its reader, as the shell's ``>`` does)."""
    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY)
    with os.fdopen(fd, "wb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):  # replaced between the check and the open
            raise OSError(errno.EAGAIN, "the file changed while it was being opened; try again", str(path))
        handle.write(data)
        handle.flush()


def _refuse(path: str | os.PathLike[str], mode: int) -> OSError:
    if stat.S_ISDIR(mode):
        return IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
    kind = "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a regular file"
    return OSError(errno.EINVAL, f"refusing to write to {kind}", os.fspath(path))


def _keep_owner(tmp: str, info: os.stat_result) -> None:
    """Give the new file the old one's owner and group where allowed (root can; others may keep the group)."""
    if (info.st_uid, info.st_gid) == (os.geteuid(), os.getegid()):
        return
    for uid in (info.st_uid, -1):
        with contextlib.suppress(OSError):
            os.chown(tmp, uid, info.st_gid)
            return


def _replace(target: Path, data: bytes, existing: os.stat_result | None) -> None:
    """Temporary file beside ``target``, fsync, same mode (and owner) as ``existing``, rename over it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if existing is not None:
            _keep_owner(tmp, existing)  # before chmod: chown clears set-id bits
        os.chmod(tmp, stat.S_IMODE(existing.st_mode) if existing is not None else 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` to ``path`` as the module docstring says: atomically replace a regular file
    (or create a new one), keeping its mode; replace a symlink's target, not the link; write
    through to a character device, a FIFO, standard output and ``"-"``; refuse anything else.

    Raises `OSError` (with ``strerror`` and ``filename``) when the path cannot be written; a failure
    while replacing leaves the old file and no temporary file."""
    payload = _as_bytes(data)
    if isinstance(path, str) and path == STDOUT:
        _write_stdout(payload)
        return
    given = Path(path)
    try:
        info: os.stat_result | None = os.stat(given)  # follows symlinks: what the path names in the end
    except FileNotFoundError:
        info = None  # a new file, or a link to one that does not exist yet
    if info is not None and _is_stdout(info):
        _write_stdout(payload)
        return
    if info is not None and (stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
        _write_through(given, payload)
        return
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise _refuse(path, info.st_mode)
    _replace(Path(os.path.realpath(given)), payload, info)


# --- reading ------------------------------------------------------------------------------------

MAX_READ_BYTES = 1 << 30
"""The most bytes one data file may hold (1 GiB), after decompression: far more than any input,
calibration set or parameter file of a network that fits SpikeCore's 128 cores."""

NUMERIC_KINDS = "biuf"
"""numpy dtype kinds a data file may hold by default: bool, signed and unsigned integers, floats."""

_KIND_NAMES = {
    "c": "complex",
    "m": "timedelta",
    "M": "datetime",
    "O": "pickled objects",
    "S": "bytes",
    "U": "string",
    "V": "void",
}
_KIND_NAMES_ALLOWED = {"b": "bool", "i": "integer", "u": "integer", "f": "float", **_KIND_NAMES}


def _too_large(what: str, limit: int) -> str:
    return f"the {what} is more than {limit:,} bytes, the most spikeir reads"


_CHUNK = 1 << 20


def _read_limited(stream: IO[bytes] | gzip.GzipFile, limit: int, what: str, place: str) -> bytes:
    """At most ``limit`` bytes of ``stream``, read in chunks (``read(n)`` allocates ``n`` bytes at once)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(min(_CHUNK, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise DataError(_too_large(what, limit), place)
    return b"".join(chunks)


def read_bounded(path: str | os.PathLike[str], what: str = "file", limit: int = MAX_READ_BYTES) -> bytes:
    """The bytes of ``path``, gunzipped when it ends in ``.gz``: a device or folder is refused unread,
    and more than ``limit`` bytes (before or after decompression) is an error, never an allocation."""
    place = os.fspath(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) and not stat.S_ISFIFO(info.st_mode):
            why = "Is a directory" if stat.S_ISDIR(info.st_mode) else "it is a device or socket, not a file"
            raise DataError(f"cannot read the {what}: {why}", place)
        with open(path, "rb") as raw:
            if not place.endswith(".gz"):
                if info.st_size > limit:
                    raise DataError(f"the {what} is {info.st_size:,} bytes; spikeir reads at most {limit:,}", place)
                return _read_limited(raw, limit, what, place)
            with gzip.GzipFile(fileobj=raw) as stream:
                return _read_limited(stream, limit, f"{what} (decompressed)", place)
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DataError(f"corrupt gzip data: {error}", place) from None
    except OSError as error:
        raise DataError(f"cannot read the {what}: {error.strerror or error}", place) from None


def _check_dtype(dtype: np.dtype[np.generic], kinds: str, place: str) -> None:
    structured = dtype.fields is not None or dtype.subdtype is not None
    if structured or dtype.hasobject or dtype.kind not in kinds:
        kind = "structured" if structured else _KIND_NAMES_ALLOWED.get(dtype.kind, dtype.kind)
        *others, last = sorted({_KIND_NAMES_ALLOWED[k] for k in kinds})
        allowed = f"{', '.join(others)} or {last}" if others else last
        named = f"{dtype} ({kind})" if kind != str(dtype) else kind
        raise DataError(f"the array has dtype {named}; expected a plain {allowed} array", place)


def parse_npy(data: bytes, place: str, kinds: str = NUMERIC_KINDS) -> np.ndarray:
    """The array of ``.npy`` bytes, checked before anything is allocated: the magic bytes, a header
    numpy can read, a dtype of ``kinds``, and a shape whose size is exactly the bytes that follow."""
    if not data.startswith(npy_format.MAGIC_PREFIX):
        hint = " (it looks like text)" if data[:64].isascii() and data.strip() else ""
        raise DataError(f"not a .npy file: it does not start with the NumPy magic bytes{hint}", place)
    stream = io.BytesIO(data)
    try:
        version = npy_format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(stream)
        elif version in ((2, 0), (3, 0)):  # 3.0 differs only in the header's encoding (UTF-8 field names)
            shape, fortran, dtype = npy_format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unknown format version {version[0]}.{version[1]}")
    except (ValueError, SyntaxError, EOFError, TypeError, tokenize.TokenError, RecursionError, MemoryError) as error:
        # numpy reads the header with ast.literal_eval (fuzzing found TokenError on a cut header)
        detail = (str(error).splitlines() or [type(error).__name__])[0]
        raise DataError(f"not a valid .npy header: {detail}", place) from None
    if any(dim < 0 for dim in shape):
        raise DataError(f"not a valid .npy header: negative dimension in shape {tuple(shape)}", place)
    _check_dtype(dtype, kinds, place)
    count = math.prod(shape)
    present = len(data) - stream.tell()
    if count * dtype.itemsize != present:
        raise DataError(
            f"the header claims shape {tuple(shape)} of {dtype} ({count * dtype.itemsize:,} bytes), "
            f"but {present:,} bytes of data follow",
            place,
        )
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=stream.tell())
    return flat.reshape(shape, order="F" if fortran else "C").copy()


def read_npy(path: str | os.PathLike[str], what: str = "array", kinds: str = NUMERIC_KINDS) -> np.ndarray:
    """A ``.npy`` file as `parse_npy` checks it, read with `read_bounded`."""
    return parse_npy(read_bounded(path, what), os.fspath(path), kinds)


def _members(archive: zipfile.ZipFile, place: str, limit: int) -> Iterable[tuple[str, zipfile.ZipInfo]]:
    seen: set[str] = set()
    total = 0
    for info in archive.infolist():
        name = info.filename.removesuffix(".npy")
        if info.is_dir() or not info.filename.endswith(".npy"):
            raise DataError(f"entry {info.filename!r} is not a .npy array (an .npz holds only arrays)", place)
        if name in seen:
            raise DataError(f"duplicate array name {name!r}", place)
        seen.add(name)
        total += info.file_size
        if total > limit:
            raise DataError(_too_large("archive (decompressed)", limit), place)
        yield name, info


def read_npz(source: str | os.PathLike[str] | IO[bytes], kinds: str = NUMERIC_KINDS) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file or binary stream by name, each checked as `parse_npy` does, with
    the archive's decompressed size bounded by `MAX_READ_BYTES` (a zip bomb stops at the bound)."""
    if isinstance(source, (str, os.PathLike)):
        place, data = os.fspath(source), read_bounded(source, "archive")
    else:
        place = str(getattr(source, "name", "<stream>"))
        data = _read_limited(source, MAX_READ_BYTES, "archive", place)
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name, info in _members(archive, place, MAX_READ_BYTES):
                with archive.open(info) as member:
                    body = _read_limited(member, info.file_size, f"entry {info.filename!r}", place)
                arrays[name] = parse_npy(body, f"{place}[{name}]", kinds)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, zlib.error, ValueError) as error:
        # zipfile's ValueError: a corrupt directory ("negative seek value", found by scripts/fuzz.py)
        raise DataError(f"not a valid .npz archive: {error}", place) from None
    return arrays


MAX_NESTING = 64
"""The deepest nesting of brackets ``( [ {`` a text input may have. xDSL's MLIR parser and lark's
tree builders recurse once or more per level, so a few hundred levels end in Python's recursion
limit; real IR and Relay text nest well under 20 (a region inside an op is two levels)."""

_NESTING_TOKENS = re.compile(r'"(?:[^"\\\n]|\\.)*+"|//[^\n]*+|[(\[{]|[)\]}]')


def check_nesting(text: str, filename: str | None, limit: int = MAX_NESTING, line_offset: int = 0) -> None:
    """Refuse text whose brackets nest deeper than ``limit`` (string literals and ``//`` comments
    aside) with an error at the first bracket too deep, before a recursive parser meets it."""
    depth = 0
    for match in _NESTING_TOKENS.finditer(text):
        token = match.group()
        if token in ("(", "[", "{"):
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, match.start()) + 1 + line_offset
                column = match.start() - text.rfind("\n", 0, match.start())
                place = f"{filename}:{line}:{column}" if filename else f"{line}:{column}"
                raise DataError(f"brackets nest more than {limit} levels deep here, more than spikeir parses", place)
        elif token in (")", "]", "}"):
            depth = max(depth - 1, 0)
