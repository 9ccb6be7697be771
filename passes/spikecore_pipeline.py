"""spikecore-pipeline: the whole lowering from the float `nn` graph to placed SpikeCore programs.

`lowering_passes` lists the stages as pass instances, in the order of docs/pipeline.md (fold reshapes,
fold batch norms, fuse dense and conv layers, partition, quantize, lower to spikecore, convert to rate coding in rate mode only,
place), each configured from one `PipelineOptions`. The pass runs them for spike-opt (calibration
from a .npy file); `run_pipeline` runs the same list for Python, with an in-memory calibration array,
and keeps the IR and the time of every stage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline

from spikeir.chip.isa import Program
from spikeir.errors import QuantizationError
from spikeir.ir.printer import print_ir
from spikeir.options import PipelineOptions
from spikeir.passes.convert_to_snn import ConvertToSnnPass
from spikeir.passes.diagnostics import nothing_to_do
from spikeir.passes.fold_batch_norm import NnFoldBatchNormPass
from spikeir.passes.fold_pool import NnFoldPoolPass
from spikeir.passes.fuse_conv2d import FuseConv2dPass
from spikeir.passes.fuse_dense import FuseDensePass
from spikeir.passes.lower_quant_to_spikecore import LowerQuantToSpikeCorePass
from spikeir.passes.nn_fold_reshapes import NnFoldReshapesPass
from spikeir.passes.partition_for_spikecore import PartitionForSpikeCorePass
from spikeir.passes.place import PlacePass
from spikeir.passes.quantize import (
    NOTHING_TO_QUANTIZE,
    LayerQuantization,
    QuantizePass,
    load_calibration,
    pending_regions,
    quantize_module,
)


@dataclass(frozen=True, eq=False)
class CalibratedQuantize(ModulePass):
    """The pipeline's quantize stage: the quantize pass with the pipeline's options, calibrated on a
    .npy file (spike-opt) or an array (Python), keeping what it chose for the caller's report."""

    name = QuantizePass.name

    calibration: str | ArrayLike | None
    options: PipelineOptions
    chosen: list[LayerQuantization] = field(default_factory=list[LayerQuantization])

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if not pending_regions(op):
            nothing_to_do(self.name, op, NOTHING_TO_QUANTIZE)
            return
        if self.calibration is None:
            raise QuantizationError(
                'no calibration inputs given: use spikecore-pipeline{calibration="inputs.npy"} (a .npy of @main inputs)',
                SpikeCorePipelinePass.name,
            )
        data = load_calibration(self.calibration) if isinstance(self.calibration, str) else self.calibration
        options = self.options
        self.chosen[:] = quantize_module(op, data, options.per_channel, options.method, float(options.percentile))


def lowering_passes(options: PipelineOptions, quantize: ModulePass) -> tuple[ModulePass, ...]:
    """The pipeline's stages in order, configured from ``options``; ``quantize`` is the calibration stage."""
    rate = ConvertToSnnPass(leak_shift=options.leak_shift, init_half=options.init_half, reset=options.reset)
    place = PlacePass(
        neurons_per_core=options.neurons_per_core, cores=options.cores, synapse_bytes=options.synapse_bytes
    )
    return (
        NnFoldReshapesPass(),
        NnFoldBatchNormPass(),
        *((NnFoldPoolPass(target=options.target, synapse_bytes=options.synapse_bytes),) if options.fold_pools else ()),
        FuseDensePass(),
        FuseConv2dPass(),
        PartitionForSpikeCorePass(),
        quantize,
        LowerQuantToSpikeCorePass(target=options.target),
        *((rate,) if options.mode == "rate" else ()),
        place,
    )


@dataclass(frozen=True)
class SpikeCorePipelinePass(PipelineOptions, ModulePass):
    """``spikecore-pipeline{mode=rate calibration="x.npy" per-channel=true ...}``: the options are
    ``calibration`` and the fields of `PipelineOptions` (dashes for underscores)."""

    name = "spikecore-pipeline"

    calibration: str | None = None
    """A .npy file of @main inputs for calibration (quote the path)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PassPipeline(lowering_passes(self, CalibratedQuantize(self.calibration, self))).apply(ctx, op)


@dataclass
class PipelineResult:
    """The compiled module, the IR after each stage (when recorded) and what quantization chose."""

    module: ModuleOp
    stages: dict[str, str] = field(default_factory=dict[str, str])
    """Stage name -> printed IR after it ("input" is the IR before the first stage)."""
    quantization: list[LayerQuantization] = field(default_factory=list[LayerQuantization])
    """What quantization chose per layer, in order."""
    seconds: dict[str, float] = field(default_factory=dict[str, float])
    """Stage name -> wall time of the stage, in order, then "verify": the total of the checks after each stage."""

    def program(self, name: str | None = None) -> Program:
        """The ISA program (of the single region, or the one named ``name``)."""
        from spikeir.ir.emit import program_from_module

        return program_from_module(self.module, name)


@dataclass
class _StageRecorder:
    """The pipeline's callback between stages: times each stage, verifies its output (timed apart) and
    keeps the printed IR when asked."""

    result: PipelineResult
    record: bool
    verify_seconds: float = 0.0
    start: float = field(default_factory=time.perf_counter)

    def __call__(self, done: ModulePass | None, module: ModuleOp, _next: ModulePass | None) -> None:
        if done is None:
            if self.record:
                self.result.stages["input"] = print_ir(module)
        else:
            checked = time.perf_counter()
            self.result.seconds[done.name] = checked - self.start
            module.verify()
            self.verify_seconds += time.perf_counter() - checked
            if self.record:
                self.result.stages[done.name] = print_ir(module)
        self.start = time.perf_counter()


def run_pipeline(
    module: ModuleOp,
    calibration: ArrayLike,
    options: PipelineOptions | None = None,
    *,
    record: bool = False,
    **overrides: Any,
) -> PipelineResult:
    """Compile ``module`` (rewritten in place) with calibration inputs of @main given as an array.

    ``overrides`` replace fields of ``options`` (default: `PipelineOptions()`) by name.
    """
    options = PipelineOptions.of(options, **overrides)
    quantize = CalibratedQuantize(np.asarray(calibration), options)
    result = PipelineResult(module)
    recorder = _StageRecorder(result, record)
    PassPipeline(lowering_passes(options, quantize), recorder).apply(Context(), module)
    result.seconds["verify"] = recorder.verify_seconds
    result.quantization = list(quantize.chosen)
    return result
