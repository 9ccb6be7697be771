"""Heterogeneous execution of a compiled module: host ops in numpy, SpikeCore regions on the hardware model.

After the pipeline, ``@main`` holds the host's ops (flatten, softmax, ...) and one
`spikecore.launch` per SpikeCore region. :class:`HostExecutor` evaluates ``@main`` with the IR
interpreter (:mod:`spikeir.ir.interpreter`, on xDSL's interpreter framework) plus
:class:`SpikeCoreFunctions`, whose ``@impl`` of `spikecore.launch` runs the program the way the chip's
driver would: quantize the float input with the program's input scale, run it on `SpikeCoreCPU` for T
timesteps, and dequantize the declared outputs (``V * scale / T``). The TVM BYOC path calls the same
code, so both agree bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.interpreter import Interpreter as XDSLInterpreter
from xdsl.interpreter import InterpreterFunctions, PythonValues, impl, register_impls
from xdsl.traits import SymbolTable

from spikeir.chip.hardware_model import RunStats, SpikeCoreCPU, SpikeEvent
from spikeir.chip.isa import Program
from spikeir.dialects import spikecore
from spikeir.errors import ProgramError
from spikeir.ir.emit import program_from_ir
from spikeir.ir.interpreter import Interpreter, op_error
from spikeir.numerics.quantization import quantize_to_int8


def quantize_input(program: Program, x: np.ndarray) -> np.ndarray:
    """Float samples (batch first) -> the int8 payloads of the program's input port."""
    if program.input_scale <= 0:
        raise ProgramError("the program has no input scale: feed int8 payloads directly", "input")
    flat = np.asarray(x).reshape(len(x), -1)
    if flat.shape[1] != program.n_inputs:
        raise ProgramError(
            f"each sample has {flat.shape[1]} values but the program has {program.n_inputs} inputs", "input"
        )
    if not _all_finite(flat):
        raise ProgramError("the input contains NaN or infinite values", "input")
    return quantize_to_int8(flat, program.input_scale)


def _all_finite(flat: np.ndarray) -> bool:
    """Whether every value of the (batch, n) samples is finite. For float32 and float64 one BLAS
    product with a vector of ones settles it at memory speed: a NaN or an infinity makes its row's
    sum NaN or infinite; a sum that overflowed from finite values is settled by the full check."""
    if flat.dtype == np.float32 or flat.dtype == np.float64:
        with np.errstate(over="ignore", invalid="ignore"):
            sums = flat @ np.ones(flat.shape[1], flat.dtype)
        if bool(np.isfinite(sums).all()):
            return True
    return bool(np.isfinite(flat).all())


def dequantize_outputs(program: Program, v: np.ndarray, timesteps: int) -> np.ndarray:
    """Output potentials (B, n_out) -> float32 values, each range with its own scale."""
    scales = np.concatenate([np.full(out.count, out.scale) for out in program.outputs])
    return (v.astype(np.float64) * scales / timesteps).astype(np.float32)


def run_program(
    program: Program, x: np.ndarray, timesteps: int, cpu: SpikeCoreCPU | None = None, lane_to_log: int = 0
) -> tuple[np.ndarray, SpikeCoreCPU]:
    """Run float samples through one program on the hardware model; float outputs and the CPU used
    (its spike log holds sample ``lane_to_log``)."""
    if cpu is None:
        cpu = SpikeCoreCPU(target=program.target)
        cpu.load_program(program)
    cpu.run(quantize_input(program, x), timesteps=timesteps, lane_to_log=lane_to_log)
    return dequantize_outputs(program, cpu.outputs(), timesteps), cpu


@dataclass
class LaunchRecord:
    """What one `spikecore.launch` did in the last evaluation."""

    program: str
    stats: RunStats
    spike_log: list[SpikeEvent] = field(default_factory=list[SpikeEvent])
    spike_log_truncated: bool = False
    target: str = ""


@register_impls
@dataclass
class SpikeCoreFunctions(InterpreterFunctions):
    """`spikecore.launch` on the hardware model, as the chip's driver runs it: quantize the float input
    with the program's input scale, run ``timesteps`` steps, dequantize the declared outputs.

    Each program is emitted and loaded once per interpreter; every launch appends a
    :class:`LaunchRecord` (statistics and the spike log of sample ``lane_to_log``) to
    :meth:`launches`. Both live in the interpreter's data, as xDSL keeps interpreter state.
    """

    timesteps: int = 1
    lane_to_log: int = 0

    @staticmethod
    def launches(interpreter: XDSLInterpreter) -> list[LaunchRecord]:
        """The launches recorded by ``interpreter`` so far."""
        return interpreter.get_data(SpikeCoreFunctions, "launches", list)

    @staticmethod
    def program(interpreter: XDSLInterpreter, launch: spikecore.LaunchOp) -> tuple[Program, SpikeCoreCPU]:
        """The launched program, emitted and loaded on a `SpikeCoreCPU` on first use."""
        loaded: dict[str, tuple[Program, SpikeCoreCPU]] = interpreter.get_data(SpikeCoreFunctions, "loaded", dict)
        name = launch.program.root_reference.data
        if name not in loaded:
            program_op = SymbolTable.lookup_symbol(launch, launch.program)
            if not isinstance(program_op, spikecore.ProgramOp):
                raise op_error(launch, f"@{name} is not a spikecore.program")
            program = program_from_ir(program_op)
            cpu = SpikeCoreCPU(target=program.target)
            cpu.load_program(program)
            loaded[name] = (program, cpu)
        return loaded[name]

    @impl(spikecore.LaunchOp)
    def run_launch(self, interpreter: XDSLInterpreter, op: spikecore.LaunchOp, args: PythonValues) -> PythonValues:
        program, cpu = self.program(interpreter, op)
        outputs, _ = run_program(program, args[0], self.timesteps, cpu, lane_to_log=self.lane_to_log)
        record = LaunchRecord(
            op.program.root_reference.data, cpu.stats, cpu.get_spike_log(), cpu.spike_log_truncated, program.target.name
        )
        self.launches(interpreter).append(record)
        result_type = op.result.type
        assert isinstance(result_type, TensorType)
        return (outputs.reshape((len(outputs), *result_type.get_shape()[1:])),)


class HostExecutor(Interpreter):
    """The numpy interpreter with `spikecore.launch` executed on the hardware model (:class:`SpikeCoreFunctions`)."""

    evaluates = Interpreter.evaluates.replace(" and func.return", ", func.return and spikecore.launch")

    def __init__(self, module: ModuleOp, timesteps: int = 1, lane_to_log: int = 0) -> None:
        if timesteps < 1:
            raise ProgramError(f"timesteps must be at least 1, got {timesteps}", "run")
        if lane_to_log < 0:
            raise ProgramError(f"the logged lane must be a sample index, got {lane_to_log}", "run")
        self.spikecore = SpikeCoreFunctions(timesteps, lane_to_log)
        super().__init__(module)

    def interpreter_functions(self) -> list[InterpreterFunctions]:
        return [*super().interpreter_functions(), self.spikecore]

    @property
    def timesteps(self) -> int:
        return self.spikecore.timesteps

    @property
    def launches(self) -> list[LaunchRecord]:
        """What each `spikecore.launch` did, in order, since the last :meth:`run_main` (or ever, with :meth:`run`)."""
        return SpikeCoreFunctions.launches(self.xdsl)

    @launches.setter
    def launches(self, records: list[LaunchRecord]) -> None:
        self.xdsl.set_data(SpikeCoreFunctions, "launches", records)

    def program(self, launch: spikecore.LaunchOp) -> tuple[Program, SpikeCoreCPU]:
        return SpikeCoreFunctions.program(self.xdsl, launch)

    def run_main(self, x: np.ndarray) -> np.ndarray:
        self.launches = []
        (result,) = self.run("main", x)
        return result


def compilation_graph(module: ModuleOp) -> tuple[list[str], list[str], list[tuple[int, int]]]:
    """The partitioned graph of ``@main`` for `plot_compilation_graph`: one entry per host op and per
    SpikeCore layer (group), with (inputs, outputs) feature counts."""
    names: list[str] = []
    targets: list[str] = []
    shapes: list[tuple[int, int]] = []

    def features(value: object) -> int:
        typ = getattr(value, "type", None)
        return int(np.prod(typ.get_shape()[1:])) if isinstance(typ, TensorType) else 0

    main = SymbolTable.lookup_symbol(module, "main")
    if main is None:
        raise ProgramError("the module has no @main", "module")
    for op in main.walk():
        if op is main or op.name in ("func.return", "arith.constant"):
            continue
        if isinstance(op, spikecore.LaunchOp):
            program_op = SymbolTable.lookup_symbol(op, op.program)
            assert isinstance(program_op, spikecore.ProgramOp)
            for inner in program_op.body.ops:
                if isinstance(inner, spikecore.AccOp) and isinstance(inner.group.owner, spikecore.GroupOp):
                    group = inner.group.owner
                    spikes_type = inner.spikes.type
                    assert isinstance(spikes_type, spikecore.SpikesType)  # AccOp's operand constraint
                    fan_in = spikes_type.size.data
                    names.append(f"{group.layer.data}\n{fan_in}->{group.size}")
                    targets.append("spikecore")
                    shapes.append((fan_in, group.size))
            continue
        operand = op.operands[0] if op.operands else None
        names.append(op.name)
        targets.append("host")
        shapes.append((features(operand), features(op.results[0]) if op.results else 0))
    return names, targets, shapes
