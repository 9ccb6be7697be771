"""What the sweep tests share: a small model and data set that compile and run in milliseconds (the
lab's MLP is for the end-to-end tests), and the records of a results file read back. A module of its
own name, not conftest (tests/ has several conftest modules)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from spikeir.compiler import build_mlp_module
from spikeir.sweep.models import EvalSet, SweepModel

IN, HIDDEN, OUT = 32, 24, 4


def tiny_model(seed: int = 0) -> SweepModel:
    """A 32-24-4 ReLU MLP with random weights."""
    rng = np.random.default_rng(seed)
    weights = [
        rng.normal(0, 0.3, (HIDDEN, IN)).astype(np.float32),
        rng.normal(0, 0.3, (OUT, HIDDEN)).astype(np.float32),
    ]
    biases = [rng.normal(0, 0.05, HIDDEN).astype(np.float32), rng.normal(0, 0.05, OUT).astype(np.float32)]
    return SweepModel(build_mlp_module(weights, biases, ["relu", None]), "tiny MLP", f"tiny-mlp:{seed}")


def tiny_data(samples: int = 200, seed: int = 1) -> EvalSet:
    """Non-negative inputs (as pixels are) and random labels."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (samples, IN)).astype(np.float32) * (rng.uniform(0, 1, (samples, IN)) > 0.5)
    y = rng.integers(0, OUT, samples).astype(np.int64)
    calibration = rng.uniform(0, 1, (64, IN)).astype(np.float32)
    return EvalSet(x.astype(np.float32), y, calibration, f"{samples} random inputs", f"tiny-data:{samples}:{seed}")


def point_lines(path: Path) -> list[dict[str, Any]]:
    """The point records of a results file, every line (duplicates included)."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [record for record in lines if record["kind"] == "point"]
