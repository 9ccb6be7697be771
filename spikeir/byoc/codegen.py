"""SpikeCore as a TVM BYOC target (apache-tvm 0.27, Relax).

The flow (docs/frontends.md shows every step's printed IR):

1. `register_spikecore_target(calibration=..., mode=..., ...)` registers the pattern table
   (`spikeir.byoc.patterns`, with its check function) with TVM's pattern registry and the codegen
   hook ``relax.ext.spikecore``, and records default calibration data and `CompileOptions`.
2. `partition_for_spikecore(mod, params)` binds ``params``, fuses each dense(+bias)(+relu) into a
   composite (FuseOpsByPattern) and merges neighbouring composites into one function per chain
   with ``Codegen: "spikecore"`` (MergeCompositeFunctions): the layers of a chain talk on-chip,
   never through the host. Region symbols are made unique per call (``spikecore_<n>_<i>``),
   because TVM's global-function table is process-wide. Given calibration data (inputs of the
   *model*, as for `spikeir.compile`), it runs the host part in float to find what reaches each
   region (`spikeir.byoc.calibration`) and attaches that to the region.
3. ``relax.transform.RunCodegen()`` hands each region to the hook, which converts it to the nn
   dialect (`import_relax_function`), compiles it with the spikeir pipeline (`spikeir.compile`)
   and registers a packed function under the region's symbol. ``main`` then calls it through
   ``R.call_dps_packed``: the function quantizes its input, runs the program on the hardware model
   (`SpikeCoreCPU`), and writes the dequantized result into TVM's output tensor.
4. ``tvm.compile(mod, target="llvm")`` + ``relax.VirtualMachine`` run the rest (reshape, softmax)
   on the CPU: heterogeneous execution. `build_heterogeneous` does 2-4 in one call.

Options: TVM hands a codegen the options of its RunCodegen call as its second argument
(``RunCodegen({"spikecore": {"mode": "rate", ...}})``, which `build_heterogeneous` fills from its
``options``); they override the defaults `register_spikecore_target` recorded. TVM's PassContext
config, through which tensorrt.py passes ``relax.ext.tensorrt.options``, is closed to a codegen
written in Python: apache-tvm 0.27 accepts only config keys registered in C++
(``TVM_REGISTER_PASS_CONFIG_OPTION``) and exposes no way to register one to Python (only
``transform.ListConfigs``; ``PassContext(config={"relax.ext.spikecore.options": ...})`` raises
"Invalid config option"). So the defaults, for a plain ``RunCodegen()``, live in this module.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, cast

import numpy as np

from spikeir.byoc.calibration import CALIBRATION_ATTR, region_inputs
from spikeir.byoc.patterns import PATTERN_PREFIX, spikecore_patterns
from spikeir.errors import QuantizationError, SpikeIRError
from spikeir.options import CompileOptions

CODEGEN_NAME = "spikecore"


@dataclass(frozen=True)
class _Defaults:
    """What `register_spikecore_target` recorded, for partitions and codegen calls that name none."""

    calibration: np.ndarray | None = None
    options: CompileOptions = field(default_factory=CompileOptions)


_DEFAULTS = _Defaults()
_COMPILED: dict[str, Any] = {}
_PARTITIONS = itertools.count()


def register_spikecore_target(
    calibration: np.ndarray | None = None, *, options: CompileOptions | None = None, **overrides: Any
) -> None:
    """Register SpikeCore's patterns and codegen with TVM, and record the default calibration inputs
    (of the model) and compile options (``options`` with ``overrides`` by field name, as in
    `spikeir.compile`). Calling it again replaces the defaults (and re-registers, which TVM allows).
    """
    import tvm_ffi
    from tvm.relax.backend.pattern_registry import register_patterns

    global _DEFAULTS
    _DEFAULTS = _Defaults(
        None if calibration is None else np.asarray(calibration, dtype=np.float32),
        CompileOptions.of(options, **overrides),
    )
    register_patterns(cast(Any, spikecore_patterns()))
    tvm_ffi.register_global_func(f"relax.ext.{CODEGEN_NAME}", _codegen, override=True)


def partition_for_spikecore(
    mod: Any, params: Mapping[str, Any] | None = None, calibration: np.ndarray | None = None
) -> Any:
    """Outline every maximal chain of SpikeCore layers of ``mod`` into one ``Codegen: "spikecore"``
    function; the rest of ``main`` stays on the host.

    ``params`` are bound first: name -> array for parameters of ``main``, or function name -> list of
    arrays for its trailing parameters (what ``relax.frontend.detach_params`` returns). Each region
    gets its calibration inputs from ``calibration`` (model inputs; default: those registered).
    """
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
        mod = _bind_params(mod, params)
    mod = relax.transform.FuseOpsByPattern(cast(Any, patterns), bind_constants=True, annotate_codegen=False)(mod)
    mod = relax.transform.MergeCompositeFunctions()(mod)
    serial = next(_PARTITIONS)
    regions = sorted(
        (gv for gv, f in mod.functions_items() if f.attrs is not None and f.attrs.get("Codegen") == CODEGEN_NAME),
        key=lambda gv: gv.name_hint,
    )
    for index, gv in enumerate(regions):
        mod.update_func(gv, mod[gv].with_attr("global_symbol", f"{CODEGEN_NAME}_{serial}_{index}"))
    data = calibration if calibration is not None else _DEFAULTS.calibration
    if data is not None and regions:
        inputs = region_inputs(mod, regions, np.asarray(data, dtype=np.float32))
        for gv, array in zip(regions, inputs):
            mod.update_func(gv, mod[gv].with_attr(CALIBRATION_ATTR, tvm.runtime.tensor(array)))
    return mod


def _bind_params(mod: Any, params: Mapping[str, Any]) -> Any:
    """``mod`` with ``params`` bound as constants (see `partition_for_spikecore`)."""
    import tvm
    from tvm import relax

    by_name: dict[Any, Any] = {}
    for key, value in params.items():
        if isinstance(value, Sequence):
            function = mod[key]
            declared = function.attrs.get("num_input") if function.attrs is not None else None
            inputs = len(function.params) - len(value) if declared is None else int(declared)
            trailing = function.params[inputs:]
            if len(trailing) != len(value):
                raise SpikeIRError(
                    f"params['{key}'] holds {len(value)} arrays for the {len(trailing)} parameters after "
                    f"@{key}'s {inputs} input(s)",
                    "partition_for_spikecore",
                )
            bound = {var: tvm.runtime.tensor(_as_numpy(array)) for var, array in zip(trailing, value)}
            mod = relax.transform.BindParams(key, cast(Any, bound))(mod)
        else:
            by_name[key] = tvm.runtime.tensor(_as_numpy(value))
    return relax.transform.BindParams("main", cast(Any, by_name))(mod) if by_name else mod


def _as_numpy(value: Any) -> np.ndarray:
    """A parameter given as a numpy array, a torch tensor or a TVM tensor."""
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def build_heterogeneous(
    mod: Any,
    params: Mapping[str, Any] | None = None,
    target: str = "llvm",
    *,
    calibration: np.ndarray | None = None,
    options: CompileOptions | None = None,
) -> Any:
    """Partition, run the SpikeCore codegen (with ``options``, default: those registered) and
    compile the host part for ``target``: a `relax.VirtualMachine`."""
    import tvm
    from tvm import relax

    target_options = None if options is None else {CODEGEN_NAME: _as_target_options(options)}
    partitioned = partition_for_spikecore(mod, params, calibration)
    partitioned = relax.transform.RunCodegen(cast(Any, target_options))(partitioned)
    executable = tvm.compile(partitioned, target=cast(Any, target))
    return relax.VirtualMachine(executable, cast(Any, tvm.cpu()))


def _as_target_options(options: CompileOptions) -> dict[str, Any]:
    """``options`` as RunCodegen's target options for SpikeCore (a TVM map holds no None)."""
    values = {option.name: getattr(options, option.name) for option in fields(options)}
    return {name: value for name, value in values.items() if value is not None}


def compiled_regions() -> dict[str, Any]:
    """Region symbol -> its `spikeir.compiler.CompiledModel` (program, IR stages, stats), in
    compilation order, for every region the codegen has compiled in this process."""
    return dict(_COMPILED)


def _codegen(functions: Any, options: Any, constant_names: Any) -> list[Any]:
    """``relax.ext.spikecore``: compile each region and register its packed function. ``options`` are
    RunCodegen's target options for SpikeCore (a map, or None)."""
    import tvm_ffi

    try:
        compile_options = CompileOptions.of(_DEFAULTS.options, **dict(options or {}))
        for function in functions:
            symbol = str(function.attrs["global_symbol"])
            compiled = compile_region(function, compile_options)
            _COMPILED[symbol] = compiled
            tvm_ffi.register_global_func(symbol, _packed(compiled), override=True)
    except SpikeIRError as error:
        # The error crosses TVM's C++ boundary on its way to the caller: a kind registered with
        # tvm_ffi comes back as itself (with its message), any other as a RuntimeError.
        tvm_ffi.register_error(type(error).__name__, type(error))
        raise
    return []


def compile_region(function: Any, options: CompileOptions) -> Any:
    """One partitioned region (a Relax function with composites, constants and its calibration
    inputs) -> `CompiledModel`."""
    from spikeir.compiler import compile
    from spikeir.frontends.relax import import_relax_function

    symbol = str(function.attrs["global_symbol"])
    calibration = function.attrs.get(CALIBRATION_ATTR)
    if calibration is None:
        raise QuantizationError(
            "no calibration data for the SpikeCore codegen: give model inputs to register_spikecore_target"
            "(calibration=...), partition_for_spikecore or build_heterogeneous",
            symbol,
        )
    return compile(import_relax_function(function), calibration=calibration.numpy(), options=options)


def _packed(compiled: Any) -> Any:
    """The destination-passing function TVM calls: ``(input, output)``."""

    def run(data: Any, out: Any) -> None:
        result = compiled.run(data.numpy())
        out.copyfrom(np.ascontiguousarray(result, dtype=str(out.dtype)).reshape(tuple(int(d) for d in out.shape)))

    return run
