"""Heterogeneous execution of a compiled module: host ops in numpy, SpikeCore regions on the hardware model.

After the pipeline, ``@main`` holds the host's ops (flatten, softmax, ...) and one
`spikecore.launch` per SpikeCore region. :class:`HostExecutor` evaluates ``@main`` with the nn
interpreter and runs each launch the way the chip's driver would: quantize the float input with the
program's input scale, run the program on `SpikeCoreCPU` for T timesteps, and dequantize the
declared outputs (``V * scale / T``). The TVM BYOC path calls the same code, so both agree bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Operation
from xdsl.traits import SymbolTable

from spikeir.chip.hardware_model import RunStats, SpikeCoreCPU, SpikeEvent
from spikeir.chip.isa import Program
from spikeir.dialects import spikecore
from spikeir.errors import ProgramError
from spikeir.ir.emit import program_from_ir
from spikeir.ir.interpreter import Array, Interpreter
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
    if not np.isfinite(flat).all():
        raise ProgramError("the input contains NaN or infinite values", "input")
    return quantize_to_int8(flat, program.input_scale)


def dequantize_outputs(program: Program, v: np.ndarray, timesteps: int) -> np.ndarray:
    """Output potentials (B, n_out) -> float32 values, each range with its own scale."""
    scales = np.concatenate([np.full(out.count, out.scale) for out in program.outputs])
    return (v.astype(np.float64) * scales / timesteps).astype(np.float32)


def run_program(
    program: Program, x: np.ndarray, timesteps: int, cpu: SpikeCoreCPU | None = None
) -> tuple[np.ndarray, SpikeCoreCPU]:
    """Run float samples through one program on the hardware model; float outputs and the CPU used."""
    if cpu is None:
        cpu = SpikeCoreCPU(target=program.target)
        cpu.load_program(program)
    cpu.run(quantize_input(program, x), timesteps=timesteps)
    return dequantize_outputs(program, cpu.outputs(), timesteps), cpu


@dataclass
class LaunchRecord:
    """What one `spikecore.launch` did in the last evaluation."""

    program: str
    stats: RunStats
    spike_log: list[SpikeEvent] = field(default_factory=list)


class HostExecutor(Interpreter):
    """The nn interpreter, extended with `spikecore.launch` executed on the hardware model."""

    def __init__(self, module: ModuleOp, timesteps: int = 1) -> None:
        super().__init__(module)
        if timesteps < 1:
            raise ProgramError(f"timesteps must be at least 1, got {timesteps}", "run")
        self.timesteps = timesteps
        self._loaded: dict[str, tuple[Program, SpikeCoreCPU]] = {}
        self.launches: list[LaunchRecord] = []

    def program(self, launch: spikecore.LaunchOp) -> tuple[Program, SpikeCoreCPU]:
        name = launch.program.root_reference.data
        if name not in self._loaded:
            program_op = SymbolTable.lookup_symbol(launch, launch.program)
            if not isinstance(program_op, spikecore.ProgramOp):
                raise ProgramError(f"@{name} is not a spikecore.program", "spikecore.launch")
            program = program_from_ir(program_op)
            cpu = SpikeCoreCPU(target=program.target)
            cpu.load_program(program)
            self._loaded[name] = (program, cpu)
        return self._loaded[name]

    def _apply(self, op: Operation, operands: list[Array]) -> Array:
        if not isinstance(op, spikecore.LaunchOp):
            return super()._apply(op, operands)
        program, cpu = self.program(op)
        outputs, _ = run_program(program, operands[0], self.timesteps, cpu)
        self.launches.append(LaunchRecord(op.program.root_reference.data, cpu.stats, cpu.get_spike_log()))
        result_type = op.result.type
        assert isinstance(result_type, TensorType)
        return outputs.reshape((len(outputs), *result_type.get_shape()[1:]))

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
                    fan_in = inner.spikes.type.size.data  # type: ignore[attr-defined]
                    names.append(f"{group.layer.data}\n{fan_in}->{group.size}")
                    targets.append("spikecore")
                    shapes.append((fan_in, group.size))
            continue
        operand = op.operands[0] if op.operands else None
        names.append(op.name)
        targets.append("host")
        shapes.append((features(operand), features(op.results[0]) if op.results else 0))
    return names, targets, shapes
