"""spikecore-pipeline: the whole lowering from the float `nn` graph to placed SpikeCore programs.

One pass (for spike-opt) and one function (for Python, with an in-memory calibration array and the
IR after every stage for reports) run the same stages in the order of docs/pipeline.md:
nn-fold-reshapes, fuse-dense, partition-for-spikecore, quantize, lower-quant-to-spikecore,
convert-to-snn (rate mode only) and place. Stages are looked up by name in the pass registry, so
this file only decides order and options.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from numpy.typing import ArrayLike
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import PassFailedException

from spikeir.chip.isa import Program
from spikeir.errors import QuantizationError
from spikeir.passes import get_all_passes
from spikeir.passes.partition_for_spikecore import is_codegen_func

MODES = ("graded", "rate")


def _make(name: str, **options: Any) -> ModulePass:
    return get_all_passes()[name]()(**options)


def _stages(
    mode: str,
    target: str,
    placement: dict[str, int],
    leak_shift: int,
    quantize: Callable[[ModuleOp], None],
) -> list[tuple[str, Callable[[ModuleOp], None]]]:
    """(stage name, action) in pipeline order; ``quantize`` is the calibration step and
    ``placement`` the `place` options (neurons_per_core, cores, synapse_bytes; 0 = the target's)."""
    if mode not in MODES:
        raise PassFailedException(f"spikecore-pipeline: mode must be {' or '.join(MODES)}, got '{mode}'")
    ctx = Context()

    def run(name: str, **options: Any) -> tuple[str, Callable[[ModuleOp], None]]:
        return name, lambda module: _make(name, **options).apply(ctx, module)

    stages = [
        run("nn-fold-reshapes"),
        run("fuse-dense"),
        run("partition-for-spikecore"),
        ("quantize", quantize),
        run("lower-quant-to-spikecore", target=target),
    ]
    if mode == "rate":
        stages.append(run("convert-to-snn", leak_shift=leak_shift))
    stages.append(run("place", **placement))
    return stages


@dataclass(frozen=True)
class SpikeCorePipelinePass(ModulePass):
    """``spikecore-pipeline{mode=graded|rate target=... calibration="x.npy" per-channel=false
    method=max|percentile percentile=99.99 neurons-per-core=0 cores=0 synapse-bytes=0 leak-shift=0}``."""

    name = "spikecore-pipeline"

    mode: str = "graded"
    """graded: int8 payloads, exact at T = 1; rate: binary spikes (convert-to-snn)."""
    target: str = "spikecore-v1"
    calibration: str | None = None
    """A .npy file of @main inputs for calibration (see the quantize pass)."""
    per_channel: bool = False
    method: str = "max"
    percentile: int | float = 99.99
    neurons_per_core: int = 0
    """0: the target's value; 1 reproduces the seed's one-neuron-per-core mapping."""
    cores: int = 0
    """0: the target's value; more cores let a larger network fit (what place's errors suggest)."""
    synapse_bytes: int = 0
    """0: the target's synaptic memory per core."""
    leak_shift: int = 0
    """Rate mode only: 0 for no leak, k for ``V -= V >> k`` each step."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        quantize = _make(
            "quantize",
            calibration=self.calibration,
            per_channel=self.per_channel,
            method=self.method,
            percentile=self.percentile,
        )

        def calibrate(module: ModuleOp) -> None:
            if self.calibration is None and any(is_codegen_func(f) for f in module.ops):
                raise QuantizationError(
                    'no calibration inputs given: use spikecore-pipeline{calibration="inputs.npy"} (a .npy of @main inputs)',
                    self.name,
                )
            quantize.apply(ctx, module)

        placement = {
            "neurons_per_core": self.neurons_per_core,
            "cores": self.cores,
            "synapse_bytes": self.synapse_bytes,
        }
        for _, action in _stages(self.mode, self.target, placement, self.leak_shift, calibrate):
            action(op)


@dataclass
class PipelineResult:
    """The compiled module, the IR after each stage (when recorded) and what quantization chose."""

    module: ModuleOp
    stages: dict[str, str] = field(default_factory=dict)
    """Stage name -> printed IR after it ("input" is the IR before the first stage)."""
    quantization: list[Any] = field(default_factory=list)
    """spikeir.passes.quantize.LayerQuantization per layer, in order."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Stage name -> wall time of the stage, in order, then "verify": the total of the checks after each stage."""

    def program(self, name: str | None = None) -> Program:
        """The ISA program (of the single region, or the one named ``name``)."""
        from spikeir.ir.emit import program_from_module

        return program_from_module(self.module, name)


def run_pipeline(
    module: ModuleOp,
    calibration: ArrayLike,
    mode: str = "graded",
    target: str = "spikecore-v1",
    per_channel: bool = False,
    method: str = "max",
    percentile: float = 99.99,
    neurons_per_core: int = 0,
    leak_shift: int = 0,
    record: bool = False,
    cores: int = 0,
    synapse_bytes: int = 0,
) -> PipelineResult:
    """Compile ``module`` (rewritten in place) with calibration inputs of @main given as an array."""
    from spikeir.passes.quantize import quantize_module

    result = PipelineResult(module)

    def quantize(m: ModuleOp) -> None:
        result.quantization = list(
            quantize_module(m, calibration, per_channel=per_channel, method=method, percentile=percentile)
        )

    if record:
        result.stages["input"] = str(module)
    verify_seconds = 0.0
    placement = {"neurons_per_core": neurons_per_core, "cores": cores, "synapse_bytes": synapse_bytes}
    for name, action in _stages(mode, target, placement, leak_shift, quantize):
        start = time.perf_counter()
        action(module)
        checked = time.perf_counter()
        module.verify()
        result.seconds[name] = checked - start
        verify_seconds += time.perf_counter() - checked
        if record:
            result.stages[name] = str(module)
    result.seconds["verify"] = verify_seconds
    return result
