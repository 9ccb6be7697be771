"""Sweeps in this process (the engine without Ray): every point once, failures recorded with their
reason, resume, the outputs, and exact agreement of sharded and whole evaluations."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from sweep_support import point_lines

import spikeir
from spikeir.sweep.engine import NO_RAY, LocalEngine, make_engine
from spikeir.sweep.evaluate import evaluate, evaluate_shard, merge_counts
from spikeir.sweep.models import EvalSet, SweepModel, reference_data
from spikeir.sweep.report import pareto_front
from spikeir.sweep.runner import run_sweep
from spikeir.sweep.space import space_from_mapping

SPACE = {"mode": "rate", "timesteps": [2, 8], "per_channel": [False, True], "leak_shift": [0, 40]}


def _sweep(
    model: SweepModel, data: EvalSet, out: Path, figures: bool = False, progress: bool = False, **kwargs: object
) -> list[str]:
    said: list[str] = []
    run_sweep(
        space_from_mapping(SPACE, "test"),
        model,
        data,
        out=out,
        engine="local",
        shard_size=64,
        figures=figures,
        progress=progress,
        say=said.append,
        **kwargs,
    )  # type: ignore[arg-type]
    return said


def test_every_point_once_and_invalid_points_recorded(model: SweepModel, data: EvalSet, tmp_path: Path) -> None:
    _sweep(model, data, tmp_path)
    records = point_lines(tmp_path / "results.jsonl")
    assert len(records) == 8 and len({r["key"] for r in records}) == 8
    ok = [r for r in records if r["status"] == "ok"]
    invalid = [r for r in records if r["status"] == "invalid"]
    assert len(ok) == 4 and all(r["options"]["leak_shift"] == 0 for r in ok)
    assert {r["reason"] for r in invalid} == {"leak_shift must be 0 (no leak) or in 1..31, got 40"}
    assert {r["failure"] for r in invalid} == {"bad option"}
    for r in ok:
        assert r["samples"] == 200 and r["shards"] == 4 and 0 <= r["accuracy"] <= 1 and 0 <= r["agreement"] <= 1
        assert r["energy_nj"] > 0 and r["cycles"] > 0 and r["cores"] >= 1 and r["synapse_bytes"] == 24 * 32 + 4 * 24


def test_a_point_that_does_not_fit_says_why(model: SweepModel, data: EvalSet, tmp_path: Path) -> None:
    space = space_from_mapping({"neurons_per_core": [1], "cores": [8, 64]}, "test")
    run_sweep(space, model, data, out=tmp_path, engine="local", figures=False, progress=False, say=lambda _: None)
    small, large = point_lines(tmp_path / "results.jsonl")
    assert small["status"] == "invalid" and small["failure"] == "does not fit" and small["fits"] is False
    assert "core" in small["reason"]
    assert large["status"] == "ok" and large["cores"] == 28


def test_the_outputs(model: SweepModel, data: EvalSet, tmp_path: Path) -> None:
    said = _sweep(model, data, tmp_path, figures=True, progress=True)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["summary"]["points"] == 8 and report["summary"]["measured"] == 4
    assert set(report["pareto"]) == {"energy_nj", "timesteps", "cores"} and len(report["points"]) == 8
    for name in ("pareto-energy-nj.png", "pareto-timesteps.png", "pareto-cores.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = "\n".join(said)
    assert "best 4 of 4 measured points:" in text and "4 point(s) not measured:" in text
    assert "leak_shift must be 0" in text
    assert "sweep: 8/8 points" in text  # no terminal here: progress as plain lines


def test_resume_runs_only_what_is_missing(model: SweepModel, data: EvalSet, tmp_path: Path) -> None:
    _sweep(model, data, tmp_path)
    path = tmp_path / "results.jsonl"
    whole = path.read_bytes()
    lines = whole.splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:4]) + lines[4][:20])  # a crash while the 4th point was written
    seen: list[str] = []
    _sweep(model, data, tmp_path, resume=True, on_point=lambda r: seen.append(r["key"]))
    records = point_lines(path)
    assert len(seen) == 5 and len(records) == 8 and len({r["key"] for r in records}) == 8
    assert [r["key"] for r in records] == [json.loads(line)["key"] for line in whole.splitlines()[1:]]


def test_without_ray_the_sweep_runs_in_this_process_and_says_so(
    model: SweepModel, data: EvalSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails
    engine = make_engine("auto")
    assert isinstance(engine, LocalEngine) and engine.note == NO_RAY
    said: list[str] = []
    space = space_from_mapping({"timesteps": [1]}, "test")
    run_sweep(space, model, data, out=tmp_path, figures=False, progress=False, say=said.append)
    assert NO_RAY in said[0] and point_lines(tmp_path / "results.jsonl")[0]["status"] == "ok"


def test_sharded_counts_equal_the_whole_run(model: SweepModel, data: EvalSet) -> None:
    compiled = spikeir.compile(model.module.clone(), calibration=data.calibration, mode="rate", timesteps=8)
    evaluation = reference_data(model, data)
    whole = evaluate_shard(compiled, evaluation, 0, 200)
    parts = merge_counts([evaluate_shard(compiled, evaluation, a, b) for a, b in ((0, 7), (7, 150), (150, 200))])
    for counts in (parts, whole):
        del counts["seconds"], counts["cpu_seconds"]
    del whole["start"]
    assert parts == pytest.approx(whole, rel=1e-12)  # integers exactly; time_us is a float sum
    result = evaluate(compiled, data.x, data.y, reference=evaluation.reference)
    logits = compiled.run(data.x)
    assert result["accuracy"] == float(np.mean(logits.argmax(1) == data.y))
    assert result["agreement"] == float(np.mean(logits.argmax(1) == evaluation.reference))
    assert result["energy_nj"] == pytest.approx(compiled.last_run.energy_pj / 200 / 1000)
    assert result["cycles"] == compiled.last_run.cycles / 200


def test_pareto_front() -> None:
    def point(key: str, accuracy: float, energy: float) -> dict[str, object]:
        return {"key": key, "status": "ok", "accuracy": accuracy, "energy_nj": energy}

    records = [point("a", 0.9, 10), point("b", 0.8, 5), point("c", 0.8, 6), point("d", 0.95, 30), point("e", 0.9, 10)]
    records.append({"key": "f", "status": "invalid"})
    assert [p["key"] for p in pareto_front(records, "energy_nj")] == ["b", "a", "e", "d"]
