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
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
from pathlib import Path

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
