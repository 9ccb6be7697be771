"""Calibration inputs of each SpikeCore region, computed from inputs of the whole model.

`spikeir.compile` calibrates on the model's inputs: the pipeline runs the float model and records what
reaches each region. A BYOC codegen sees one region at a time, so partitioning does the same on the
partitioned Relax module before the codegen runs: TVM's VM runs ``main`` in float, with every region
as a plain Relax function, and returns what ``main`` passes to each region, one calibration sample
at a time. The regions then carry their inputs in the attribute ``spikecore.calibration``.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, cast

import numpy as np

from spikeir.errors import QuantizationError

CALIBRATION_ATTR = "spikecore.calibration"
"""The region function attribute that holds its calibration inputs (a tensor, samples first)."""

_WHERE = "partition_for_spikecore"


def _model_input_shape(main: Any, calibration: np.ndarray) -> list[int]:
    """The static shape of ``main``'s only input, checked against the calibration samples."""
    if len(main.params) != 1:
        raise QuantizationError(f"calibration inputs describe one model input; @main takes {len(main.params)}", _WHERE)
    try:
        shape = [int(v) for v in main.params[0].ty.shape.values]
    except TypeError:
        raise QuantizationError("calibration needs a model input of static shape", _WHERE) from None
    per_sample = prod(shape[1:])
    if calibration.ndim == 0 or prod(calibration.shape[1:]) != per_sample or len(calibration) % shape[0]:
        raise QuantizationError(
            f"calibration inputs of shape {list(calibration.shape)} do not fit the model's input {shape}: "
            f"each sample must have {per_sample} values",
            _WHERE,
        )
    return shape


def _probe(mod: Any, regions: Sequence[Any]) -> Any:
    """``mod`` with every region as a plain function and a ``main`` that returns each region's argument."""
    import tvm
    from tvm import relax

    mod = relax.transform.ToNonDataflow()(mod)
    main = mod["main"]
    arguments: dict[Any, Any] = {}
    for block in main.body.blocks:
        for binding in block.bindings:
            value = binding.value
            if isinstance(value, relax.Call) and value.op in regions:
                if len(value.args) != 1:
                    raise QuantizationError(
                        f"a SpikeCore region takes one input, this one takes {len(value.args)}", str(value.op)
                    )
                arguments[value.op] = value.args[0]
    missing = [gv.name_hint for gv in regions if gv not in arguments]
    if missing:
        raise QuantizationError(f"@main does not call {', '.join(missing)}, so it cannot be calibrated", _WHERE)
    probe = tvm.IRModule({gv: f.without_attr("Codegen") if gv in regions else f for gv, f in mod.functions_items()})
    results = relax.Tuple([arguments[gv] for gv in regions])
    body = relax.SeqExpr(main.body.blocks, results)
    probe["main"] = relax.Function(main.params, body, relax.TupleType([r.ty for r in results.fields]), attrs=main.attrs)
    return relax.transform.LambdaLift()(probe)


def region_inputs(mod: Any, regions: Sequence[Any], calibration: np.ndarray) -> list[np.ndarray]:
    """What ``main`` of the partitioned ``mod`` passes to each of ``regions`` (their GlobalVars), for
    the model inputs ``calibration`` (samples first), computed in float by TVM's VM."""
    import tvm
    from tvm import relax

    shape = _model_input_shape(mod["main"], calibration)
    vm = relax.VirtualMachine(tvm.compile(_probe(mod, regions), target=cast(Any, "llvm")), cast(Any, tvm.cpu()))
    batches = np.ascontiguousarray(calibration, dtype=np.float32).reshape(-1, *shape)
    outputs = [vm["main"](tvm.runtime.tensor(batch)) for batch in batches]
    return [np.concatenate([output[index].numpy() for output in outputs]) for index in range(len(regions))]
