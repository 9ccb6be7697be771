"""The results file of a sweep: JSON lines, one per finished point, appended as each point finishes.

The first line is a header naming the sweep's model and evaluation set, so ``--resume`` never mixes the
results of two different sweeps. Every record is one ``write`` of a whole line, flushed and fsynced
before the next point is reported: a crash can leave at most a truncated *last* line, which a resume
detects (no newline at the end), cuts off and re-runs. A later record of a point replaces an earlier
one (a point that failed for a reason outside it, ``status = "error"``, is run again on resume).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spikeir.fileio import atomic_write
from spikeir.sweep.space import SweepError

FORMAT = 1
"""Version of the record layout (the header's ``format``)."""
FINAL = ("ok", "invalid")
"""Statuses that ``--resume`` keeps: measured, or invalid by its options (does not fit, bad value)."""

Record = dict[str, Any]


def _line(record: Mapping[str, Any]) -> bytes:
    """A record as one line of JSON (no NaN: every reader must be able to parse it)."""
    return (json.dumps(record, sort_keys=True, allow_nan=False) + "\n").encode()


def _parse_lines(path: Path, data: bytes) -> tuple[list[Record], int]:
    """The records of ``data`` and the length of its complete lines (a truncated tail is left out)."""
    end = data.rfind(b"\n") + 1
    records: list[Record] = []
    for number, line in enumerate(data[:end].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise SweepError(
                f"not a JSON record ({error.msg if isinstance(error, json.JSONDecodeError) else error})",
                f"{path}:{number}",
            ) from None
        if not isinstance(record, dict):
            raise SweepError("not a JSON object", f"{path}:{number}")
        records.append(record)  # pyright: ignore[reportUnknownArgumentType]
    return records, end


class ResultsFile:
    """An open results file that :meth:`append` adds records to (whole lines, flushed and fsynced).

    The header is written with `atomic_write`, the project's one writer; records are *appended* (a log
    must not be replaced at every point), each with one ``O_APPEND`` write."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def open(cls, path: str | Path, header: Mapping[str, Any], resume: bool) -> tuple[ResultsFile, dict[str, Record]]:
        """Start (or with ``resume``, continue) the results file at ``path``; returns it and the final
        records already there, by point key. Without ``resume`` an existing non-empty file is an error
        (finished work is never overwritten); with it, the header must name the same sweep."""
        path = Path(path)
        results = cls(path)
        data = path.read_bytes() if path.is_file() else b""
        if not data.strip():  # a new file: its header line appears whole or not at all
            atomic_write(path, _line({"kind": "sweep", "format": FORMAT, **header}))
            return results, {}
        if not resume:
            raise SweepError("results file exists: pass --resume to continue it, or choose another --out", str(path))
        records, complete = _parse_lines(path, data)
        if complete < len(data):  # a crash cut the last record: drop it (its point runs again)
            os.truncate(path, complete)
        _check_header(path, records, header)
        finished = {r["key"]: r for r in records[1:] if r.get("kind") == "point" and "key" in r}
        return results, {key: r for key, r in finished.items() if r.get("status") in FINAL}

    def append(self, record: Mapping[str, Any]) -> None:
        """Append one record as one line, durable before this returns."""
        line = _line(record)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)

    def records(self) -> list[Record]:
        """Every point record in the file, the latest of each point (in file order)."""
        records, _ = _parse_lines(self.path, self.path.read_bytes())
        latest = {r["key"]: r for r in records if r.get("kind") == "point" and "key" in r}
        return list(latest.values())


def _check_header(path: Path, records: list[Record], header: Mapping[str, Any]) -> None:
    first = records[0] if records else {}
    if first.get("kind") != "sweep" or first.get("format") != FORMAT:
        raise SweepError(f"not a spikeir sweep results file (format {FORMAT})", f"{path}:1")
    for name, value in header.items():
        if first.get(name) != value:
            raise SweepError(
                f"written for another sweep ({name} {first.get(name)!r}, now {value!r}); "
                "resume only with the same model and data, or choose another --out",
                f"{path}:1",
            )
