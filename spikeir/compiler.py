"""The Python entry points of the compiler: `spikeir.compile` and the seed's `compile_nn_to_spikecore`.

Both run the very pipeline that `spike-opt -p spikecore-pipeline` runs (docs/pipeline.md); this
module only adapts inputs (a torch module, nn IR, or bare weight arrays) and wraps the result in a
`CompiledModel` that executes on the hardware model.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from os import PathLike
from typing import TYPE_CHECKING, Any, overload

import numpy as np
from xdsl.dialects.arith import ConstantOp
from xdsl.dialects.builtin import DictionaryAttr, FloatAttr, ModuleOp, StringAttr, TensorType, f32, f64
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Operation, Region, SSAValue

from spikeir.chip.accounting import RunStats
from spikeir.chip.isa import Halt, Opcode, Program
from spikeir.dialects import nn
from spikeir.errors import QuantizationError, SpikeIRError
from spikeir.ir.arrays import dense_attr
from spikeir.options import CompileOptions, Mode, OptionError

if TYPE_CHECKING:
    import nir

    from spikeir.snn import CompiledSNN


@dataclass
class CompiledModel:
    """A network compiled for SpikeCore: its program, the IR of every stage, and a way to run it.

    ``run`` executes the host parts of ``module`` (flatten, softmax, ...) in numpy and every
    SpikeCore region on the hardware model (`SpikeCoreCPU`), so its results are the chip's.
    """

    programs: dict[str, Program]
    """Every SpikeCore program by symbol, in the order ``@main`` launches them: one, unless host ops
    (a max pooling, a softmax, a concat) split the layers into several regions."""
    module: ModuleOp
    options: CompileOptions
    """What it was compiled with."""
    stages: dict[str, str] = field(default_factory=dict)
    """Printed IR after each pipeline stage, in order (when compiled with ``record=True``)."""
    compile_seconds: dict[str, float] = field(default_factory=dict)
    quantization: list[Any] = field(default_factory=list)
    """What quantization chose per layer (`spikeir.passes.quantize.LayerQuantization`)."""
    last_run: Any = None
    """`RunStats` of the most recent `run`: of its program, or of all of them chained
    (`RunStats.chained`: counters summed; `last_runs` has each launch's)."""
    last_runs: list[Any] = field(default_factory=list)
    """`RunStats` of every program launch of the most recent `run`, in launch order."""
    last_spike_log: list[Any] = field(default_factory=list)
    """Spike log (lane 0) of the most recent `run`."""
    _executor: Any = field(default=None, repr=False)

    @property
    def program(self) -> Program:
        """The model's program, when it has one (else a `SpikeIRError` naming them: use `programs`)."""
        if len(self.programs) == 1:
            return next(iter(self.programs.values()))
        names = ", ".join(repr(name) for name in self.programs)
        raise SpikeIRError(
            f"the model compiles to {len(self.programs)} programs ({names}), split by host ops "
            f"({', '.join(_host_ops_between(self.module))}); take one from CompiledModel.programs[name] "
            "(spikeir.chip.assembly.disassemble and spikeir.chip.image.encode give its listing and image)",
            "program",
        )

    @property
    def mode(self) -> Mode:
        return self.options.mode

    @property
    def timesteps(self) -> int:
        """Timesteps of a `run` that names none."""
        return self.options.run_timesteps

    @property
    def assembly(self) -> str:
        from spikeir.chip.assembly import disassemble

        return disassemble(self.program)

    def to_bytes(self) -> bytes:
        from spikeir.chip.image import encode

        return encode(self.program)

    @property
    def stats(self) -> dict[str, Any]:
        """Static facts about the programs (summed over them when there are several, as if all were
        resident on the chip at once), plus the statistics of the last run if there was one."""
        programs = list(self.programs.values())
        facts: dict[str, Any] = {
            "mode": self.mode,
            "timesteps": self.timesteps,
            "target": programs[0].target.name,
            "programs": len(programs),
            "instructions": sum(len(p) for p in programs),
            "acc": sum(p.count(Opcode.ACC) for p in programs),
            "fire": sum(p.count(Opcode.FIRE) for p in programs),
            "leak": sum(p.count(Opcode.LEAK) for p in programs),
            "cores_used": sum(len({i.core for i in p if not isinstance(i, Halt)}) for p in programs),
            "synapse_bytes": sum(sum(p.synapse_bytes_per_core().values()) for p in programs),
            "weights": int(sum(t.size for p in programs for t in p.synapse_tables.values())),
            "compile_seconds": dict(self.compile_seconds),
        }
        if self.last_run is not None:
            facts["last_run"] = self.last_run.as_dict()
        return facts

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the cached executor (its interpreter holds local functions); `run` remakes it."""
        return {**self.__dict__, "_executor": None}

    def run(self, x: np.ndarray, timesteps: int | None = None) -> np.ndarray:
        """Float inputs (batch first, any shape the model takes) -> float outputs.

        Host ops run in numpy; SpikeCore regions run on the hardware model for ``timesteps``
        (default: the compiled mode's). An empty batch gives an empty batch of outputs, as numpy does.
        """
        from spikeir.ir.host import HostExecutor

        steps = self.timesteps if timesteps is None else timesteps
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise OptionError(f"timesteps must be at least 1, got {steps!r}")
        batch = np.asarray(x, dtype=np.float32)
        if batch.ndim >= 1 and len(batch) == 0:
            self.last_run, self.last_runs, self.last_spike_log = None, [], []
            return np.zeros((0, *_main_output_shape(self.module)[1:]), np.float32)
        if self._executor is None or steps != self._executor.timesteps:
            self._executor = HostExecutor(self.module, steps)
        outputs = self._executor.run_main(batch)
        launches = self._executor.launches
        first = launches[0] if launches else None
        self.last_runs = [launch.stats for launch in launches]
        self.last_run = RunStats.chained(self.last_runs) if len(launches) > 1 else (first.stats if first else None)
        self.last_spike_log = first.spike_log if first else []
        return outputs


def _main(module: ModuleOp) -> FuncOp:
    """``@main``, the function `CompiledModel.run` evaluates."""
    main = next((op for op in module.ops if isinstance(op, FuncOp) and op.sym_name.data == "main"), None)
    if main is None:
        raise SpikeIRError("the module has no @main function to compile and run", "compile")
    return main


def _main_results(module: ModuleOp) -> list[TensorType[Any]]:
    """The result types of ``@main``: what `CompiledModel.run` returns."""
    return [t for t in _main(module).function_type.outputs.data if isinstance(t, TensorType)]


def _main_output_shape(module: ModuleOp) -> tuple[int, ...]:
    """The shape of ``@main``'s one result (batch first)."""
    return tuple(_main_results(module)[0].get_shape())


def _check_one_output(module: ModuleOp) -> None:
    """`CompiledModel.run` returns one array: a model with several outputs is refused by name, before any work."""
    results = _main_results(module)
    if len(results) != 1:
        named = ", ".join(f"output {i} ({t})" for i, t in enumerate(results))
        raise SpikeIRError(
            f"the model has {len(results)} outputs ({named}); spikeir.compile compiles a model with one output: "
            "return one tensor (torch.cat the heads) or compile each head as its own model",
            "compile",
        )


def _host_ops_between(module: ModuleOp) -> list[str]:
    """The kinds of host op between ``@main``'s first and last SpikeCore launch (what splits its regions)."""
    from spikeir.dialects import spikecore

    ops = list(_main(module).body.block.ops)
    launches = [index for index, op in enumerate(ops) if isinstance(op, spikecore.LaunchOp)]
    return sorted({op.name for op in ops[launches[0] : launches[-1]] if not isinstance(op, spikecore.LaunchOp)})


def _launched_programs(module: ModuleOp) -> dict[str, Program]:
    """The ISA program of every region, in the order ``@main`` launches them."""
    from spikeir.ir.emit import launched_programs, program_from_module

    return {name: program_from_module(module, name) for name in launched_programs(module)}


def _as_nn_module(model: Any, example_input: Any) -> ModuleOp:
    """Bring a torch module, a TVM Relax module or nn IR to the nn dialect."""
    if isinstance(model, ModuleOp):
        return model
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
    if torch is not None and isinstance(model, torch.nn.Module):
        from spikeir.frontends.torch_export import import_torch

        if example_input is None:
            raise SpikeIRError("compiling a torch.nn.Module needs an example input (for torch.export)", "compile")
        return import_torch(model, torch.as_tensor(np.asarray(example_input, dtype=np.float32)))
    if type(model).__module__.startswith("tvm"):
        from spikeir.frontends.relax import import_relax

        return import_relax(model)
    raise SpikeIRError(
        f"cannot compile a {type(model).__name__}: expected a torch.nn.Module, a TVM Relax IRModule or an nn-dialect ModuleOp",
        "compile",
    )


def _source_layer(relu: nn.ReluOp) -> str:
    """The name of the layer whose output ``relu`` takes (through its bias_add)."""
    op = relu.input.owner
    while isinstance(op, Operation):
        layer = op.properties.get("layer")
        if isinstance(layer, StringAttr):
            return layer.data
        op = op.operands[0].owner if op.operands else None
    raise SpikeIRError("this ReLU does not follow a named layer, so its QCFS lambda has no threshold to set", relu.name)


def _with_model_thresholds(model: Any, example_input: Any, options: CompileOptions) -> tuple[ModuleOp, CompileOptions]:
    """Import a torch model that carries QCFS activations: their staircase is what rate coding computes, so
    the import sees plain ReLUs, and (in rate mode) each lambda goes into the module's
    `THRESHOLDS_ATTR` under the name of the layer before it; the run's timesteps default to L."""
    from spikeir.numerics.qcfs import activation_order, relu_model
    from spikeir.passes.convert_to_snn import THRESHOLDS_ATTR

    plain, lambdas, levels = relu_model(model)
    module = _as_nn_module(plain, example_input)
    if options.mode != "rate" or options.thresholds in ("calibration", "search"):
        return module, options
    order = activation_order(plain, np.asarray(example_input, dtype=np.float32))
    relus = [op for op in module.walk() if isinstance(op, nn.ReluOp)]
    if len(relus) != len(order):
        raise SpikeIRError(
            f"the model calls {len(order)} ReLU/QCFS modules but its graph has {len(relus)} ReLUs (a functional "
            "F.relu?), so the QCFS lambdas cannot be matched to layers; use nn.ReLU modules, or thresholds='calibration'",
            type(model).__name__,
        )
    chosen = {_source_layer(relu): lambdas[name] for relu, name in zip(relus, order) if name in lambdas}
    module.attributes[THRESHOLDS_ATTR] = DictionaryAttr({layer: FloatAttr(lam, f64) for layer, lam in chosen.items()})
    return module, options if options.timesteps is not None else replace(options, timesteps=levels)


def _import(model: Any, example_input: Any, options: CompileOptions) -> tuple[ModuleOp, CompileOptions]:
    """The nn module of ``model`` and the options to compile it with (``thresholds`` applied)."""
    from spikeir.numerics.qcfs import qcfs_modules

    carries_qcfs = _is_torch_module(model) and bool(qcfs_modules(model))
    if options.mode == "rate" and options.thresholds == "model" and not carries_qcfs:
        raise SpikeIRError(
            "thresholds='model' needs a torch model with QCFS activations (spikeir.numerics.qcfs.to_qcfs); "
            "this one has none",
            "compile",
        )
    if carries_qcfs:
        return _with_model_thresholds(model, example_input, options)
    return _as_nn_module(model, example_input), options


def _is_torch_module(model: Any) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return isinstance(model, torch.nn.Module)


@overload
def compile(
    model: nir.NIRGraph,
    example_input: Any = None,
    calibration: np.ndarray | None = None,
    *,
    options: CompileOptions | None = None,
    record: bool = False,
    **overrides: Any,
) -> CompiledSNN: ...


@overload
def compile(
    model: Any,
    example_input: Any = None,
    calibration: np.ndarray | None = None,
    *,
    options: CompileOptions | None = None,
    record: bool = False,
    **overrides: Any,
) -> CompiledModel: ...


def compile(
    model: Any,
    example_input: Any = None,
    calibration: np.ndarray | None = None,
    *,
    options: CompileOptions | None = None,
    record: bool = False,
    **overrides: Any,
) -> CompiledModel | CompiledSNN:
    """Compile ``model`` for SpikeCore.

    ``calibration`` is a batch of real inputs used to choose activation scales (default: the
    example input, with a warning). ``options`` says how (default: `CompileOptions()`), and keyword
    arguments named like its fields (``mode="rate"``, ``timesteps=16``, ``neurons_per_core=1``,
    ``leak_shift=4``, ``reset="zero"``, ...) replace those fields. ``mode="graded"`` reproduces the
    int8 network exactly in one timestep; ``mode="rate"`` converts it to integrate-and-fire neurons
    whose accuracy grows with the timesteps. ``record=True`` keeps the IR after every stage.

    A torch model with QCFS activations (`spikeir.numerics.qcfs`) compiles as its ReLU network; in rate
    mode each QCFS lambda becomes its layer's spike threshold and a run defaults to L timesteps
    (``thresholds="calibration"`` ignores the lambdas). ``thresholds="search"`` (rate mode, classifiers)
    picks the calibration percentile whose program agrees best with the float model on the calibration
    inputs at the run's default timesteps, from `SEARCH_PERCENTILES`.

    A NIR graph (a ``nir.NIRGraph`` or the path of a ``.nir`` file) is a native spiking network: it
    compiles through `spikeir.from_nir` into a `CompiledSNN` that runs input streams ``(B, T, ...)``
    (docs/nir.md); of the options only ``target`` and ``per_channel`` apply to it, and ``conventions``
    (``"nir"``, ``"sinabs"``, ``"snntorch"``, ...) says whose discretization the graph follows.
    """
    if _is_nir(model):
        return _compile_nir(model, calibration, options, overrides)
    options = CompileOptions.of(options, **overrides)  # a bad option fails here, before any work
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    module, options = _import(model, example_input, options)
    seconds["import"] = time.perf_counter() - start
    if calibration is None:
        if example_input is None:
            raise QuantizationError("no calibration data: pass calibration=<a batch of real inputs>", "compile")
        warnings.warn(
            "spikeir.compile: no calibration data given; calibrating on the example input alone. "
            "Pass calibration=<a few hundred real inputs> for accurate activation scales.",
            stacklevel=2,
        )
        calibration = np.asarray(example_input, dtype=np.float32)
    calibration = np.asarray(calibration, dtype=np.float32)
    if options.mode == "rate" and options.thresholds == "search":
        start = time.perf_counter()
        options = _searched_percentile(module, calibration, options)
        seconds["threshold search"] = time.perf_counter() - start
    return _lower(module, calibration, options, record, seconds)


def _is_nir(model: Any) -> bool:
    """A ``.nir`` path, or a graph of the installed nir package (imported only if the caller did)."""
    if isinstance(model, str | PathLike):
        return str(model).endswith(".nir")
    nir = sys.modules.get("nir")
    return nir is not None and isinstance(model, nir.NIRGraph)


NIR_OPTIONS = frozenset({"target", "per_channel"})
"""The `CompileOptions` fields a NIR graph's compilation reads (the graph itself fixes the neurons)."""


def _compile_nir(
    model: Any, calibration: np.ndarray | None, options: CompileOptions | None, overrides: dict[str, Any]
) -> CompiledSNN:
    from spikeir.frontends.nir import from_nir

    conventions = overrides.pop("conventions", "nir")
    options = CompileOptions.of(options, **overrides)
    defaults = CompileOptions()
    ignored = sorted(
        f.name
        for f in fields(options)
        if f.name not in NIR_OPTIONS and getattr(options, f.name) != getattr(defaults, f.name)
    )
    if ignored:
        raise OptionError(
            f"option(s) {', '.join(ignored)} do not apply to a NIR graph (its nodes fix the neurons); "
            f"it takes {', '.join(sorted(NIR_OPTIONS))} and conventions"
        )
    return from_nir(model, conventions, calibration, per_channel=options.per_channel, target=options.target)


SEARCH_PERCENTILES: tuple[float, ...] = (100.0, 99.9, 99.0, 98.0, 95.0, 90.0)
"""The percentiles ``thresholds="search"`` tries, largest first (a tie keeps the larger: less clipping)."""


def _searched_percentile(module: ModuleOp, calibration: np.ndarray, options: CompileOptions) -> CompileOptions:
    """``options`` with the calibration percentile whose rate-mode program, run for the default timesteps on
    the calibration inputs, agrees best (top-1) with the float model on them: a low T wants a low lambda
    (more spikes per activation), a high T a high one (less clipping). docs/quantization.md, section 5."""
    from spikeir.ir.interpreter import Interpreter

    reference = Interpreter(module).run("main", calibration)[0].argmax(axis=-1)
    best: tuple[float, CompileOptions] | None = None
    for percentile in SEARCH_PERCENTILES:
        candidate = replace(options, method="percentile", percentile=percentile)
        compiled = _lower(module.clone(), calibration, candidate, False, {})
        agreement = float(np.mean(compiled.run(calibration).argmax(axis=-1) == reference))
        if best is None or agreement > best[0]:
            best = (agreement, candidate)
    assert best is not None
    return best[1]


def _lower(
    module: ModuleOp, calibration: np.ndarray, options: CompileOptions, record: bool, seconds: dict[str, float]
) -> CompiledModel:
    """Run the pipeline on ``module`` (in place) and emit its programs."""
    from spikeir.ir.emit import programs_in
    from spikeir.passes.spikecore_pipeline import run_pipeline

    _check_one_output(module)
    result = run_pipeline(module, calibration, options, record=record)
    seconds.update(result.seconds)
    if not programs_in(result.module):
        raise SpikeIRError(
            "the model has no layer that SpikeCore runs (a dense layer, with optional bias and ReLU), so there "
            "is no program to compile; the remarks say why each op stays on the host (spike-opt --remarks, or "
            "spikeir.passes.diagnostics.print_remarks() before compiling)",
            "compile",
        )
    start = time.perf_counter()
    programs = _launched_programs(result.module)
    seconds["emit"] = time.perf_counter() - start
    return CompiledModel(programs, result.module, options, dict(result.stages), seconds, list(result.quantization))


def build_mlp_module(
    weights: Sequence[np.ndarray], biases: Sequence[np.ndarray | None], activations: Sequence[str | None]
) -> ModuleOp:
    """nn IR for a plain MLP given as arrays (weights ``[out, in]``, as PyTorch stores them)."""
    if not (len(weights) == len(biases) == len(activations)) or not weights:
        raise SpikeIRError(
            f"weights, biases and activations must be non-empty lists of one length, got {len(weights)}, {len(biases)}, {len(activations)}",
            "compile_nn_to_spikecore",
        )
    in_features = int(np.asarray(weights[0]).shape[1])
    block = Block(arg_types=[TensorType(f32, [1, in_features])])
    value: SSAValue = block.args[0]
    for index, (w, b, act) in enumerate(zip(weights, biases, activations)):
        w = np.asarray(w, dtype=np.float32)
        layer = f"layers.{index}"
        width = TensorType.get_shape(value.type)[1]  # type: ignore[arg-type]
        if w.ndim != 2 or w.shape[1] != width:
            raise SpikeIRError(f"weight {index} has shape {list(w.shape)}; expected [out, {width}]", layer)
        if act not in (None, "none", "relu"):
            raise SpikeIRError(f"activation {index} must be 'relu' or None, got {act!r}", layer)
        out_type = TensorType(f32, [1, w.shape[0]])
        w_const = ConstantOp(dense_attr(w))
        block.add_op(w_const)
        dense = nn.DenseOp(value, w_const, out_type, layer=layer)
        block.add_op(dense)
        value = dense.result
        if b is not None:
            b_const = ConstantOp(dense_attr(np.asarray(b, dtype=np.float32)))
            bias_add = nn.BiasAddOp(value, b_const)
            block.add_ops([b_const, bias_add])
            value = bias_add.result
        if act == "relu":
            relu = nn.ReluOp(value)
            block.add_op(relu)
            value = relu.result
    block.add_op(ReturnOp(value))
    func = FuncOp("main", ([block.args[0].type], [value.type]), Region(block))
    return ModuleOp([func])


def compile_nn_to_spikecore(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray | None],
    activations: Sequence[str | None],
    calibration: np.ndarray | None = None,
    *,
    options: CompileOptions | None = None,
    **overrides: Any,
) -> tuple[Program, list[tuple[np.ndarray, float]], list[tuple[np.ndarray, float]]]:
    """The seed notebook's entry point: float weight/bias arrays -> ``(program, q_weights, q_biases)``.

    ``options`` and ``overrides`` are those of `compile` (the seed passes ``target``, ``mode`` and
    ``per_channel``).

    ``q_weights[i] = (int8 weights of layer i, weight scale)`` and ``q_biases[i] = (int32 bias,
    bias scale)``, taken from the compiled program itself (synapse table i is layer i). Without
    ``calibration`` the activation scales come from 256 standard-normal inputs — a documented
    data-free fallback; pass real inputs for real accuracy.
    """
    module = build_mlp_module(weights, biases, activations)
    if calibration is None:
        warnings.warn(
            "compile_nn_to_spikecore: no calibration data; using 256 standard-normal inputs. "
            "Pass calibration=<real inputs> for accurate activation scales.",
            stacklevel=2,
        )
        calibration = (
            np.random.default_rng(0).standard_normal((256, np.asarray(weights[0]).shape[1])).astype(np.float32)
        )
    compiled = compile(module, calibration=calibration, options=options, **overrides)
    program = compiled.program

    def scale(values: tuple[float, ...]) -> Any:
        return values[0] if len(values) == 1 else np.asarray(values)

    q_weights = [(program.synapse_tables[i], scale(q.weight_scales)) for i, q in enumerate(compiled.quantization)]
    q_biases = [(q.bias, scale(q.accumulator_scales)) for q in compiled.quantization]
    return program, q_weights, q_biases
