"""The SpikeCore instruction set as Python objects: opcodes, instructions, and a whole program.

This module is the in-memory form shared by the assembler (text), the image codec (bytes), the
compiler's emitter and the hardware model. Semantics live in docs/isa.md; this file only describes
shapes and static validity (:meth:`Program.validate`), never execution.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar, overload

import numpy as np

from spikeir.chip.target import SPIKECORE_V1, TargetDescription
from spikeir.errors import ProgramError

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


class Opcode(enum.IntEnum):
    """The primary opcode byte of an instruction. 0x00 is deliberately invalid."""

    ACC = 0x01
    FIRE = 0x02
    LEAK = 0x03
    HALT = 0x0F


class FireMode(enum.IntEnum):
    GRADED = 0
    """Emit an int8 payload computed by integer requantization of V; V is reset to zero."""
    BINARY = 1
    """Emit a spike of payload 1 when V >= threshold; then reset (see ResetMode)."""


class ResetMode(enum.IntEnum):
    ZERO = 0
    """V := 0 after a spike (loses the residue)."""
    SUBTRACT = 1
    """V := V - threshold after a spike (keeps the residue: Rueckauer et al. 2017)."""


@dataclass(frozen=True)
class Acc:
    """Synaptic accumulate: ``V[n] = sat32(V[n] + sum_i S[table][row + n, col + i] * bus[src + i])``."""

    opcode: ClassVar[Opcode] = Opcode.ACC
    core: int
    base: int
    count: int
    src: int
    src_len: int
    table: int
    row: int = 0
    col: int = 0


@dataclass(frozen=True)
class AccBias:
    """Bias accumulate (an ACC whose source is a parameter table): ``V[n] = sat32(V[n] + P[table][row + n])``."""

    opcode: ClassVar[Opcode] = Opcode.ACC
    core: int
    base: int
    count: int
    table: int
    row: int = 0


@dataclass(frozen=True)
class Fire:
    """Fire the neurons of a range onto the spike bus at ``[dst, dst + count)``.

    ``table``/``row`` select one int32 parameter per neuron: the requantization multiplier in graded
    mode, the threshold in binary mode. ``shift``, ``lo`` and ``hi`` apply to graded mode only and
    must be 0 in binary mode; ``init_half`` applies to binary mode only (V starts at threshold >> 1).
    """

    opcode: ClassVar[Opcode] = Opcode.FIRE
    core: int
    base: int
    count: int
    dst: int
    table: int
    row: int = 0
    mode: FireMode = FireMode.GRADED
    reset: ResetMode = ResetMode.ZERO
    shift: int = 0
    lo: int = 0
    hi: int = 127
    init_half: bool = False


@dataclass(frozen=True)
class Leak:
    """Exponential leak toward zero: ``V[n] = V[n] - (V[n] >> shift)`` (arithmetic shift), 1 <= shift <= 31."""

    opcode: ClassVar[Opcode] = Opcode.LEAK
    core: int
    base: int
    count: int
    shift: int


@dataclass(frozen=True)
class Halt:
    """End of the per-timestep program."""

    opcode: ClassVar[Opcode] = Opcode.HALT


Instruction = Acc | AccBias | Fire | Leak | Halt


@dataclass(frozen=True)
class OutputSpec:
    """A range of neurons whose membrane potentials are the program's output.

    ``scale`` is the real value of one unit of V after one timestep (so a float logit is
    ``V * scale / timesteps``); 0.0 when unknown.
    """

    core: int
    base: int
    count: int
    scale: float = 0.0


@dataclass
class Program:
    """A complete SpikeCore program: instructions plus the data the loader distributes to cores.

    Behaves like a sequence of instructions (``len(program)``, iteration, indexing), as the seed
    notebook uses it. ``synapse_tables`` are int8 matrices (one per layer in compiled programs; the
    table id is the seed's ``layer_id``); ``param_tables`` are int32 vectors (biases, requantization
    multipliers, thresholds).
    """

    instructions: list[Instruction]
    n_inputs: int
    outputs: list[OutputSpec] = field(default_factory=list)
    synapse_tables: dict[int, np.ndarray] = field(default_factory=dict)
    param_tables: dict[int, np.ndarray] = field(default_factory=dict)
    target: TargetDescription = SPIKECORE_V1
    input_scale: float = 0.0
    """Real value of one unit of input payload (float input = int8 payload * input_scale); 0.0 when unknown."""

    def __len__(self) -> int:
        return len(self.instructions)

    def __eq__(self, other: object) -> bool:
        """Equal programs have the same instructions, header and table contents (compared by value)."""
        if not isinstance(other, Program):
            return NotImplemented

        def same_tables(a: dict[int, np.ndarray], b: dict[int, np.ndarray]) -> bool:
            return a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]) for k in a)

        return (
            self.instructions == other.instructions
            and self.n_inputs == other.n_inputs
            and self.outputs == other.outputs
            and self.target == other.target
            and self.input_scale == other.input_scale
            and same_tables(self.synapse_tables, other.synapse_tables)
            and same_tables(self.param_tables, other.param_tables)
        )

    def __iter__(self) -> Iterator[Instruction]:
        return iter(self.instructions)

    @overload
    def __getitem__(self, index: int) -> Instruction: ...
    @overload
    def __getitem__(self, index: slice) -> list[Instruction]: ...
    def __getitem__(self, index: int | slice) -> Instruction | list[Instruction]:
        return self.instructions[index]

    def count(self, opcode: Opcode) -> int:
        """Number of instructions with this opcode."""
        return sum(1 for instr in self.instructions if instr.opcode == opcode)

    def synapse_bytes_per_core(self) -> dict[int, int]:
        """Bytes of synaptic memory each core needs: one per weight of every ACC block it runs."""
        used: dict[int, int] = {}
        for instr in self.instructions:
            if isinstance(instr, Acc):
                used[instr.core] = used.get(instr.core, 0) + instr.count * instr.src_len
        return used

    def validate(self, synapse_tables: dict[int, np.ndarray] | None = None) -> None:
        """Check every static rule of docs/isa.md ("Static validity"); raise ProgramError naming the
        instruction index (``instr N``) and the rule broken. ``synapse_tables`` overrides the
        program's own tables (as ``SpikeCoreCPU.load_weights`` does)."""
        validate_program(self, synapse_tables)


def _check(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise ProgramError(message, where)


def _check_range(target: TargetDescription, where: str, core: int, base: int, count: int) -> None:
    _check(
        0 <= core < target.cores,
        where,
        f"core {core} is out of range: target '{target.name}' has cores 0-{target.cores - 1}",
    )
    _check(count >= 1, where, f"neuron count must be at least 1, got {count}")
    _check(
        base >= 0 and base + count <= target.neurons_per_core,
        where,
        f"neurons [{base}:{base + count}] exceed core {core}'s {target.neurons_per_core} neurons",
    )


def validate_program(program: Program, synapse_tables: dict[int, np.ndarray] | None = None) -> None:
    """See :meth:`Program.validate`. The checks run in a fixed order (header, tables, instructions
    in program order, outputs, synaptic memory): the first broken rule is the one reported."""
    tables = dict(program.synapse_tables)
    if synapse_tables:
        tables.update(synapse_tables)
    _check_header(program)
    _check_tables(program, tables)
    _check_instructions(program, tables)
    for out_index, out in enumerate(program.outputs):
        _check_range(program.target, f"output {out_index}", out.core, out.base, out.count)
    _check_synapse_memory(program)


def _check_header(program: Program) -> None:
    """The input port must fit the bus."""
    target = program.target
    _check(program.n_inputs >= 0, "header", f"input count must be non-negative, got {program.n_inputs}")
    _check(
        program.n_inputs <= target.bus_size,
        "header",
        f"{program.n_inputs} inputs exceed the bus size {target.bus_size}",
    )


def _check_tables(program: Program, tables: dict[int, np.ndarray]) -> None:
    """Tables must have the shape and type the instructions index them with."""
    for tid, table in tables.items():
        _check(
            table.dtype == np.int8 and table.ndim == 2,
            f"synapse table {tid}",
            f"must be a 2-D int8 matrix, got {table.dtype} with shape {table.shape}",
        )
    for tid, table in program.param_tables.items():
        _check(
            table.dtype == np.int32 and table.ndim == 1,
            f"param table {tid}",
            f"must be a 1-D int32 vector, got {table.dtype} with shape {table.shape}",
        )


def _check_instructions(program: Program, tables: dict[int, np.ndarray]) -> None:
    """Every instruction in program order; HALT ends the program and nothing follows it."""
    target = program.target
    if not program.instructions or not isinstance(program.instructions[-1], Halt):
        raise ProgramError("the program must end with HALT", f"instr {len(program.instructions)}")
    written: dict[int, int] = {}  # bus address -> instruction index of the FIRE that writes it
    for index, instr in enumerate(program.instructions):
        where = f"instr {index}"
        if isinstance(instr, Halt):
            _check(index == len(program.instructions) - 1, where, "HALT must be the last instruction")
            continue
        _check_range(target, where, instr.core, instr.base, instr.count)
        if isinstance(instr, Acc):
            _check_acc(target, tables, where, instr)
        elif isinstance(instr, AccBias):
            _check_param_rows(program, where, instr.table, instr.row, instr.count)
        elif isinstance(instr, Fire):
            _check_fire(program, where, index, instr, written)
        elif isinstance(instr, Leak):
            _check(1 <= instr.shift <= 31, where, f"leak shift {instr.shift} is outside 1..31")


def _check_acc(target: TargetDescription, tables: dict[int, np.ndarray], where: str, instr: Acc) -> None:
    """An ACC reads a bus range of at most max_fan_in addresses through a block of a loaded table."""
    _check(
        1 <= instr.src_len <= target.max_fan_in,
        where,
        f"source length {instr.src_len} is outside 1..{target.max_fan_in} (max_fan_in)",
    )
    _check(
        instr.src >= 0 and instr.src + instr.src_len <= target.bus_size,
        where,
        f"source bus[{instr.src}:{instr.src + instr.src_len}] exceeds the bus size {target.bus_size}",
    )
    _check(instr.table in tables, where, f"synapse table {instr.table} is not loaded")
    rows, cols = tables[instr.table].shape
    _check(
        instr.row >= 0 and instr.col >= 0 and instr.row + instr.count <= rows and instr.col + instr.src_len <= cols,
        where,
        f"block [{instr.row}:{instr.row + instr.count}, {instr.col}:{instr.col + instr.src_len}] "
        f"exceeds synapse table {instr.table} of shape {rows}x{cols}",
    )


def _check_fire(program: Program, where: str, index: int, instr: Fire, written: dict[int, int]) -> None:
    """A FIRE's parameters exist and its destination lies after the input port, written by no other
    FIRE; ``written`` maps the addresses earlier FIREs write to their instruction index, and gains
    this FIRE's."""
    target = program.target
    _check_param_rows(program, where, instr.table, instr.row, instr.count)
    _check(
        instr.dst >= program.n_inputs and instr.dst + instr.count <= target.bus_size,
        where,
        f"destination bus[{instr.dst}:{instr.dst + instr.count}] must lie in [{program.n_inputs}, {target.bus_size}) (after the input port)",
    )
    for address in range(instr.dst, instr.dst + instr.count):
        _check(
            address not in written,
            where,
            f"bus address {address} is already written by instr {written.get(address)}",
        )
        written[address] = index
    _check_fire_mode(program, where, instr)


def _check_fire_mode(program: Program, where: str, instr: Fire) -> None:
    """A FIRE sets only the fields its mode uses, within their ranges; binary thresholds are positive."""
    if instr.mode == FireMode.GRADED:
        _check(0 <= instr.shift <= 62, where, f"graded shift {instr.shift} is outside 0..62")
        _check(
            -128 <= instr.lo <= instr.hi <= 127,
            where,
            f"graded clamp [{instr.lo}, {instr.hi}] must satisfy -128 <= lo <= hi <= 127",
        )
        _check(not instr.init_half, where, "init_half applies to binary mode only")
        _check(instr.reset == ResetMode.ZERO, where, "graded FIRE always resets to zero")
    else:
        _check(
            instr.shift == 0 and instr.lo == 0 and instr.hi == 0,
            where,
            "binary FIRE takes no shift or clamp (they must be 0)",
        )
        thresholds = program.param_tables[instr.table][instr.row : instr.row + instr.count]
        _check(
            bool(np.all(thresholds > 0)),
            where,
            f"binary FIRE thresholds in param table {instr.table} must be positive",
        )


def _check_synapse_memory(program: Program) -> None:
    """Every core's ACC blocks must fit its synaptic memory."""
    target = program.target
    for core, nbytes in sorted(program.synapse_bytes_per_core().items()):
        _check(
            nbytes <= target.synapse_bytes,
            f"core {core}",
            f"needs {nbytes} bytes of synaptic memory; target '{target.name}' has {target.synapse_bytes} per core",
        )


def _check_param_rows(program: Program, where: str, table: int, row: int, count: int) -> None:
    """One int32 parameter per neuron: rows ``[row, row + count)`` of a defined param table."""
    _check(table in program.param_tables, where, f"param table {table} is not defined")
    length = program.param_tables[table].shape[0]
    _check(
        row >= 0 and row + count <= length,
        where,
        f"rows [{row}:{row + count}] exceed param table {table} of length {length}",
    )
