"""Sweeps on a local Ray with 2 CPUs (started once for this module, no dashboard, shut down at the end):
the same numbers as in-process, data-parallel `evaluate`, and a worker killed mid-sweep."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sweep_support import point_lines, tiny_data, tiny_model

import spikeir
from spikeir.sweep.evaluate import evaluate
from spikeir.sweep.measure import kill_busy_worker
from spikeir.sweep.models import reference_data
from spikeir.sweep.runner import run_sweep
from spikeir.sweep.space import space_from_mapping

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

MEASURED = ("accuracy", "agreement", "energy_nj", "cycles", "spikes", "synaptic_ops", "cores", "synapse_bytes")


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    try:
        yield
    finally:
        ray.shutdown()


def _numbers(records: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {r["key"]: (r["status"], *(r.get(name) for name in MEASURED)) for r in records}


def test_ray_and_in_process_sweeps_agree(tmp_path: Path) -> None:
    space = space_from_mapping(
        {"mode": "rate", "timesteps": [4, 16], "per_channel": [False, True], "cores": [0, -1]}, "t"
    )
    model, data = tiny_model(), tiny_data()
    for engine in ("ray", "local"):
        run_sweep(
            space,
            model,
            data,
            out=tmp_path / engine,
            engine=engine,
            shard_size=50,
            figures=False,
            progress=False,
            say=lambda _: None,
        )  # type: ignore[arg-type]
    on_ray, local = point_lines(tmp_path / "ray" / "results.jsonl"), point_lines(tmp_path / "local" / "results.jsonl")
    assert len(on_ray) == 8 and _numbers(on_ray) == _numbers(local)
    assert sum(r["status"] == "invalid" for r in on_ray) == 4 and all(
        r["shards"] == 4 for r in on_ray if r["status"] == "ok"
    )


def test_evaluate_in_shards_on_ray_equals_one_run() -> None:
    model, data = tiny_model(), tiny_data()
    compiled = spikeir.compile(model.module.clone(), calibration=data.calibration, mode="rate", timesteps=8)
    reference = reference_data(model, data).reference
    sharded = evaluate(compiled, data.x, data.y, reference=reference, shards=3)
    whole = evaluate(compiled, data.x, data.y, reference=reference)
    assert ray.is_initialized()  # the Ray it found was left running
    assert {k: sharded[k] for k in MEASURED} == pytest.approx({k: whole[k] for k in MEASURED}, rel=1e-12)


def test_a_worker_killed_mid_sweep_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    space = space_from_mapping(
        {"mode": "rate", "timesteps": [64], "per_channel": [False, True], "leak_shift": [0, 2, 4]}, "t"
    )
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=kill_busy_worker, args=(stop, killed))
    finished_before_kill: list[str] = []

    def on_point(record: dict[str, Any]) -> None:
        if not killed:
            finished_before_kill.append(record["key"])
        if not killer.is_alive() and not killed:
            killer.start()

    try:
        run_sweep(
            space,
            tiny_model(),
            tiny_data(4000),
            out=tmp_path,
            engine="ray",
            shard_size=1000,
            figures=False,
            progress=False,
            on_point=on_point,
            say=lambda _: None,
        )
    finally:
        stop.set()
    assert killed, "no worker was seen evaluating, so none was killed"
    records = point_lines(tmp_path / "results.jsonl")
    assert len(records) == 6 and len({r["key"] for r in records}) == 6
    assert all(r["status"] == "ok" and r["samples"] == 4000 for r in records)
    assert [r["key"] for r in records][: len(finished_before_kill)] == finished_before_kill
