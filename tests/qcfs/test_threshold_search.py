"""spikeir.compile(..., thresholds="search"): the calibration percentile chosen by rate-mode agreement."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import ModuleOp

import spikeir
from spikeir.compiler import SEARCH_PERCENTILES, build_mlp_module
from support.nn_models import parse

ROOT = Path(__file__).resolve().parents[2]


def _agreement(compiled: spikeir.CompiledModel, x: np.ndarray, reference: np.ndarray) -> float:
    return float(np.mean(compiled.run(x).argmax(1) == reference))


def test_search_keeps_the_percentile_that_agrees_best_on_the_calibration_inputs() -> None:
    rng = np.random.default_rng(3)
    w1, b1 = rng.normal(0, 0.3, (16, 20)), rng.normal(0, 0.1, 16)
    w2, b2 = rng.normal(0, 0.3, (5, 16)), rng.normal(0, 0.1, 5)
    calibration = rng.random((200, 20)).astype(np.float32)
    reference = (np.maximum(calibration @ w1.T + b1, 0) @ w2.T + b2).argmax(1)

    def model() -> ModuleOp:  # compile rewrites the module it is given: a fresh one each time
        return build_mlp_module([w1, w2], [b1, b2], ["relu", None])

    searched = spikeir.compile(model(), calibration=calibration, mode="rate", timesteps=2, thresholds="search")
    assert searched.options.method == "percentile" and searched.options.percentile in SEARCH_PERCENTILES
    assert searched.timesteps == 2 and "threshold search" in searched.compile_seconds
    best = _agreement(searched, calibration, reference)
    agreements = []
    for percentile in SEARCH_PERCENTILES:
        fixed = replace(searched.options, percentile=percentile, thresholds="calibration")
        agreements.append(
            _agreement(spikeir.compile(model(), calibration=calibration, options=fixed), calibration, reference)
        )
    assert best == max(agreements) and len(set(agreements)) > 1  # the choice mattered, and the best was kept


def test_search_works_on_nn_ir_and_leaves_graded_mode_alone() -> None:
    text = (ROOT / "examples" / "tiny_mlp.mlir").read_text()
    calibration = np.load(ROOT / "examples" / "tiny_calibration.npy")
    searched = spikeir.compile(parse(text), calibration=calibration, mode="rate", timesteps=4, thresholds="search")
    assert searched.options.percentile in SEARCH_PERCENTILES
    graded = spikeir.compile(parse(text), calibration=calibration, thresholds="search")
    assert graded.options.method == "max" and "threshold search" not in graded.compile_seconds
