"""SpikeCore as a TVM BYOC target (apache-tvm 0.27, Relax).

The flow (docs/frontends.md shows every step's printed IR):

1. `register_spikecore_target(calibration=..., mode=..., target=...)` registers the pattern table
   (`spikeir.byoc.patterns`) with TVM's pattern registry and the codegen hook
   ``relax.ext.spikecore``, and records the compile settings the hook will use.
2. `partition_for_spikecore(mod, params)` binds ``params``, fuses each dense(+bias)(+relu) into a
   composite (FuseOpsByPattern) and merges neighbouring composites into one function per chain
   with ``Codegen: "spikecore"`` (MergeCompositeFunctions): the layers of a chain talk on-chip,
   never through the host. Region symbols are made unique per call (``spikecore_<n>_<i>``),
   because TVM's global-function table is process-wide.
3. ``relax.transform.RunCodegen()`` hands each region to the hook, which converts it to the nn
   dialect (`import_relax_function`), compiles it with the spikeir pipeline (`spikeir.compile`)
   and registers a packed function under the region's symbol. ``main`` then calls it through
   ``R.call_dps_packed``: the function quantizes its input, runs the program on the hardware model
   (`SpikeCoreCPU`), and writes the dequantized result into TVM's output tensor.
4. ``tvm.compile(mod, target="llvm")`` + ``relax.VirtualMachine`` run the rest (reshape, softmax)
   on the CPU: heterogeneous execution. `build_heterogeneous` does 2-4 in one call.

Calibration: the SpikeCore pipeline needs example inputs to choose activation scales. Pass a
batch of *model* inputs to `register_spikecore_target`; the hook reshapes it to each region's
input, which is right when the host code before a region only reshapes (flatten), as in MLPs.
For anything else, pass inputs of the region itself.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from math import prod
from typing import Any, cast

import numpy as np

from spikeir.byoc.patterns import PATTERN_PREFIX, spikecore_pattern_table
from spikeir.errors import FrontendError, PlacementError, QuantizationError, SpikeIRError, TargetError

CODEGEN_NAME = "spikecore"


@dataclass
class SpikeCoreOptions:
    """What the codegen hook passes to `spikeir.compile` for every region."""

    calibration: np.ndarray | None = None
    mode: str = "graded"
    target: str = "spikecore-v1"
    timesteps: int | None = None
    per_channel: bool = False
    compile_options: dict[str, Any] = field(default_factory=dict)
    """Further keyword arguments of `spikeir.compile` (method, percentile, neurons_per_core, ...)."""


_OPTIONS = SpikeCoreOptions()
_COMPILED: dict[str, Any] = {}
_PARTITIONS = itertools.count()


def register_spikecore_target(
    calibration: np.ndarray | None = None,
    mode: str = "graded",
    target: str = "spikecore-v1",
    timesteps: int | None = None,
    per_channel: bool = False,
    **compile_options: Any,
) -> None:
    """Register SpikeCore's patterns and codegen with TVM, and set what regions compile with.

    Calling it again replaces the settings (and re-registers, which TVM allows).
    """
    import tvm_ffi
    from tvm.relax.backend.pattern_registry import register_patterns

    global _OPTIONS
    _OPTIONS = SpikeCoreOptions(
        None if calibration is None else np.asarray(calibration, dtype=np.float32),
        mode,
        target,
        timesteps,
        per_channel,
        dict(compile_options),
    )
    register_patterns(cast(Any, spikecore_pattern_table()))
    tvm_ffi.register_global_func(f"relax.ext.{CODEGEN_NAME}", _codegen, override=True)
    # Errors raised in the codegen cross TVM's C++ boundary; registered kinds come back as themselves.
    for error in (SpikeIRError, FrontendError, QuantizationError, PlacementError, TargetError):
        tvm_ffi.register_error(error.__name__, error)


def partition_for_spikecore(mod: Any, params: dict[str, Any] | None = None) -> Any:
    """Outline every maximal chain of SpikeCore layers of ``mod`` into one ``Codegen: "spikecore"``
    function; the rest of ``main`` stays on the host. ``params`` (name -> array) are bound first."""
    import tvm
    from tvm import relax
    from tvm.relax.backend.pattern_registry import get_patterns_with_prefix

    patterns = get_patterns_with_prefix(PATTERN_PREFIX)
    if not patterns:
        raise SpikeIRError(
            "the SpikeCore patterns are not registered: call register_spikecore_target() first",
            "partition_for_spikecore",
        )
    if params:
        bound = {name: tvm.runtime.tensor(_as_numpy(value)) for name, value in params.items()}
        mod = relax.transform.BindParams("main", cast(Any, bound))(mod)
    mod = relax.transform.FuseOpsByPattern(cast(Any, patterns), bind_constants=True, annotate_codegen=False)(mod)
    mod = relax.transform.MergeCompositeFunctions()(mod)
    serial = next(_PARTITIONS)
    regions = [
        (gv, f) for gv, f in mod.functions_items() if f.attrs is not None and f.attrs.get("Codegen") == CODEGEN_NAME
    ]
    for index, (gv, function) in enumerate(sorted(regions, key=lambda item: item[0].name_hint)):
        mod.update_func(gv, function.with_attr("global_symbol", f"{CODEGEN_NAME}_{serial}_{index}"))
    return mod


def _as_numpy(value: Any) -> np.ndarray:
    """A parameter given as a numpy array, a torch tensor or a TVM tensor."""
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def build_heterogeneous(mod: Any, params: dict[str, Any] | None = None, target: str = "llvm") -> Any:
    """Partition, run the SpikeCore codegen and compile the host part: a `relax.VirtualMachine`."""
    import tvm
    from tvm import relax

    partitioned = relax.transform.RunCodegen()(partition_for_spikecore(mod, params))
    executable = tvm.compile(partitioned, target=cast(Any, target))
    return relax.VirtualMachine(executable, cast(Any, tvm.cpu()))


def compiled_regions() -> dict[str, Any]:
    """Region symbol -> its `spikeir.compiler.CompiledModel` (program, IR stages, stats), in
    compilation order, for every region the codegen has compiled in this process."""
    return dict(_COMPILED)


def _codegen(functions: Any, options: Any, constant_names: Any) -> list[Any]:
    """``relax.ext.spikecore``: compile each region and register its packed function."""
    import tvm_ffi

    for function in functions:
        symbol = str(function.attrs["global_symbol"])
        compiled = compile_region(function)
        _COMPILED[symbol] = compiled
        tvm_ffi.register_global_func(symbol, _packed(compiled), override=True)
    return []


def compile_region(function: Any) -> Any:
    """One region (a Relax function with composites and constants) -> `CompiledModel`."""
    from spikeir.compiler import compile
    from spikeir.frontends.relax import import_relax_function

    module = import_relax_function(function)
    symbol = str(function.attrs["global_symbol"])
    return compile(
        module,
        calibration=_region_calibration(function, symbol),
        target=_OPTIONS.target,
        mode=_OPTIONS.mode,
        timesteps=_OPTIONS.timesteps,
        per_channel=_OPTIONS.per_channel,
        **_OPTIONS.compile_options,
    )


def _region_calibration(function: Any, symbol: str) -> np.ndarray:
    calibration = _OPTIONS.calibration
    if calibration is None:
        raise QuantizationError(
            "no calibration data for the SpikeCore codegen: call register_spikecore_target(calibration=<inputs>)",
            symbol,
        )
    if len(function.params) != 1:
        raise SpikeIRError(f"a SpikeCore region takes one input, this one takes {len(function.params)}", symbol)
    shape = [int(v) for v in function.params[0].ty.shape.values]
    per_sample = prod(shape[1:])
    if calibration.ndim == 0 or prod(calibration.shape[1:]) != per_sample:
        raise QuantizationError(
            f"calibration inputs of shape {list(calibration.shape)} do not fit the region's input "
            f"{shape}: each sample must have {per_sample} values",
            symbol,
        )
    return calibration.reshape([calibration.shape[0], *shape[1:]])


def _packed(compiled: Any) -> Any:
    """The destination-passing function TVM calls: ``(input, output)``."""

    def run(data: Any, out: Any) -> None:
        result = compiled.run(data.numpy())
        out.copyfrom(np.ascontiguousarray(result, dtype=str(out.dtype)).reshape(tuple(int(d) for d in out.shape)))

    return run
