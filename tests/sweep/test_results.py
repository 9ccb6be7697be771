"""The results file: a header, whole durable lines, resume, and a crash's truncated last line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spikeir.sweep.results import ResultsFile
from spikeir.sweep.space import SweepError

HEADER = {"model": "m:1", "data": "d:1"}


def _point(key: str, status: str = "ok") -> dict[str, object]:
    return {"kind": "point", "key": key, "index": 0, "options": {}, "status": status}


def test_a_new_file_starts_with_its_header(tmp_path: Path) -> None:
    results, finished = ResultsFile.open(tmp_path / "r.jsonl", HEADER, resume=False)
    results.append(_point("a"))
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert finished == {} and json.loads(lines[0]) == {"kind": "sweep", "format": 1, **HEADER}
    assert json.loads(lines[1])["key"] == "a" and (tmp_path / "r.jsonl").read_text().endswith("\n")


def test_an_existing_file_needs_resume(tmp_path: Path) -> None:
    ResultsFile.open(tmp_path / "r.jsonl", HEADER, resume=False)[0].append(_point("a"))
    with pytest.raises(SweepError, match="results file exists: pass --resume"):
        ResultsFile.open(tmp_path / "r.jsonl", HEADER, resume=False)


def test_resume_keeps_final_points_and_reruns_errors(tmp_path: Path) -> None:
    results, _ = ResultsFile.open(tmp_path / "r.jsonl", HEADER, resume=False)
    for key, status in (("a", "ok"), ("b", "invalid"), ("c", "error")):
        results.append(_point(key, status))
    _, finished = ResultsFile.open(tmp_path / "r.jsonl", HEADER, resume=True)
    assert sorted(finished) == ["a", "b"]


def test_a_truncated_last_line_is_cut_off_on_resume(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    results, _ = ResultsFile.open(path, HEADER, resume=False)
    results.append(_point("a"))
    results.append(_point("b"))
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 10])  # a crash in the middle of writing b
    results, finished = ResultsFile.open(path, HEADER, resume=True)
    assert sorted(finished) == ["a"]
    assert path.read_bytes() == whole[: whole.rfind(b"\n", 0, len(whole) - 1) + 1]
    results.append(_point("b"))
    assert [r["key"] for r in results.records()] == ["a", "b"]


def test_a_corrupt_line_in_the_middle_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    ResultsFile.open(path, HEADER, resume=False)[0].append(_point("a"))
    path.write_text(path.read_text() + "{not json\n" + json.dumps(_point("b")) + "\n")
    with pytest.raises(SweepError, match="not a JSON record") as error:
        ResultsFile.open(path, HEADER, resume=True)
    assert error.value.location == f"{path}:3"


def test_resume_refuses_another_sweeps_file(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    ResultsFile.open(path, HEADER, resume=False)[0].append(_point("a"))
    with pytest.raises(SweepError, match="written for another sweep") as error:
        ResultsFile.open(path, {**HEADER, "model": "m:2"}, resume=True)
    assert error.value.location == f"{path}:1"
    (tmp_path / "other.jsonl").write_text('{"hello": 1}\n')
    with pytest.raises(SweepError, match="not a spikeir sweep results file"):
        ResultsFile.open(tmp_path / "other.jsonl", HEADER, resume=True)


def test_a_later_record_of_a_point_replaces_the_earlier(tmp_path: Path) -> None:
    results, _ = ResultsFile.open(tmp_path / "r.jsonl", HEADER, resume=False)
    results.append(_point("a", "error"))
    results.append(_point("a", "ok"))
    assert [r["status"] for r in results.records()] == ["ok"]
