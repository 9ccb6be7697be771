"""Emission: a placed `spikecore.program` -> an ISA :class:`spikeir.chip.isa.Program` (docs/pipeline.md, section 8).

The IR describes whole layers; the ISA addresses core slices. Emission expands each op over its
group's placement (one instruction per slice, row offset = the neurons of the earlier slices),
allocates the spike bus (the input port first, then each FIRE's result in program order) and
numbers the tables in declaration order, so synapse table ids are layer ids. Nothing is decided
here that a pass could have decided: an unplaced group is an error, not a default placement.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue

from spikeir.chip.isa import Acc, AccBias, Fire, FireMode, Halt, Instruction, Leak, OutputSpec, Program, ResetMode
from spikeir.chip.target import TARGETS, TargetDescription
from spikeir.dialects import spikecore
from spikeir.errors import PlacementError, ProgramError
from spikeir.ir.arrays import to_numpy


def _target(program_op: spikecore.ProgramOp) -> TargetDescription:
    """The program's target; a known target's clock and energy table are kept when its limits match."""
    described = program_op.target.description()
    known = TARGETS.get(described.name)
    if known is not None:
        return known.with_options(
            cores=described.cores,
            neurons_per_core=described.neurons_per_core,
            synapse_bytes=described.synapse_bytes,
            max_fan_in=described.max_fan_in,
            bus_size=described.bus_size,
        )
    return described


def _slices(group: SSAValue, program: str) -> Iterator[tuple[int, int, int, int]]:
    """(core, base, count, row offset) of each slice of a group, in row order."""
    owner = group.owner
    assert isinstance(owner, spikecore.GroupOp)
    if owner.placement is None:
        raise PlacementError(
            f'group "{owner.layer.data}" is not placed: run the spikecore-place pass first', f"@{program}"
        )
    row = 0
    for s in owner.slices:
        yield s.core.data, s.base.data, s.count.data, row
        row += s.count.data


def program_from_ir(program_op: spikecore.ProgramOp) -> Program:
    """The ISA program of a placed `spikecore.program`; it passes :meth:`Program.validate`."""
    emission = _Emission(program_op.sym_name.data, _target(program_op))
    for op in program_op.body.ops:
        emission.add(op)
    program = emission.program()
    try:
        program.validate()
    except ProgramError as err:
        raise ProgramError(err.message, f"@{emission.name}: {err.location}") from None
    return program


@dataclass
class _Emission:
    """The ISA program being emitted from a `spikecore.program`, op by op in program order (the
    order fixes the table ids and the bus addresses)."""

    name: str
    """The program's symbol name, for error locations."""
    target: TargetDescription
    synapse_ids: dict[str, int] = field(default_factory=dict[str, int])
    """Synapse table id of each `spikecore.synapses` symbol."""
    param_ids: dict[str, int] = field(default_factory=dict[str, int])
    """Param table id of each `spikecore.params` symbol."""
    synapse_tables: dict[int, np.ndarray] = field(default_factory=dict[int, np.ndarray])
    param_tables: dict[int, np.ndarray] = field(default_factory=dict[int, np.ndarray])
    bus: dict[SSAValue, int] = field(default_factory=dict[SSAValue, int])
    """First bus address of each spike stream (the input port, each FIRE's result)."""
    n_inputs: int = 0
    input_scale: float = 0.0
    next_address: int = 0
    """First bus address not yet allocated."""
    instructions: list[Instruction] = field(default_factory=list[Instruction])
    outputs: list[OutputSpec] = field(default_factory=list[OutputSpec])

    def add(self, op: Operation) -> None:
        """Emit one op of the program's body: a table, the input port, instructions or outputs."""
        if isinstance(op, spikecore.SynapsesOp):
            self.synapse_ids[op.sym_name.data] = len(self.synapse_tables)
            self.synapse_tables[len(self.synapse_tables)] = np.array(to_numpy(op.dense), dtype=np.int8)
        elif isinstance(op, spikecore.ParamsOp):
            self.param_ids[op.sym_name.data] = len(self.param_tables)
            self.param_tables[len(self.param_tables)] = np.array(to_numpy(op.dense), dtype=np.int32)
        elif isinstance(op, spikecore.InputOp):
            self._input(op)
        elif isinstance(op, spikecore.OutputOp):
            self._output(op)
        elif isinstance(op, spikecore.HaltOp):
            self.instructions.append(Halt())
        elif not isinstance(op, spikecore.GroupOp):
            self.instructions += self._instructions(op)

    def program(self) -> Program:
        """The program emitted so far (not yet validated)."""
        return Program(
            instructions=self.instructions,
            n_inputs=self.n_inputs,
            outputs=self.outputs,
            synapse_tables=self.synapse_tables,
            param_tables=self.param_tables,
            target=self.target,
            input_scale=self.input_scale,
        )

    def _input(self, op: spikecore.InputOp) -> None:
        """The input port takes the bus addresses from 0; FIRE results follow it."""
        self.n_inputs = op.result.type.size.data
        self.input_scale = op.unit.value.data
        self.bus[op.result] = 0
        self.next_address = self.n_inputs

    def _instructions(self, op: Operation) -> list[Instruction]:
        """The instructions of a neuron op: one per slice of its group (and, for an ACC, per
        column block)."""
        if isinstance(op, spikecore.AccOp):
            return self._accs(op)
        if isinstance(op, spikecore.AccBiasOp):
            table = self.param_ids[op.params.root_reference.data]
            return [AccBias(core, base, count, table, row) for core, base, count, row in _slices(op.group, self.name)]
        if isinstance(op, spikecore.FireOp):
            return self._fires(op)
        if isinstance(op, spikecore.LeakOp):
            shift = op.shift.value.data
            return [Leak(core, base, count, shift) for core, base, count, _ in _slices(op.group, self.name)]
        raise ProgramError(f"{op.name} has no ISA form", f"@{self.name}")

    def _accs(self, op: spikecore.AccOp) -> list[Instruction]:
        """One ACC reads at most max_fan_in addresses: a longer stream becomes consecutive ACCs over
        column blocks, whose exact sums add up to the same potential."""
        table = self.synapse_ids[op.synapses.root_reference.data]
        spikes_type = op.spikes.type
        assert isinstance(spikes_type, spikecore.SpikesType)  # AccOp's operand constraint
        src, length = self.bus[op.spikes], spikes_type.size.data
        fan_in = self.target.max_fan_in
        return [
            Acc(core, base, count, src + col, min(fan_in, length - col), table, row, col)
            for core, base, count, row in _slices(op.group, self.name)
            for col in range(0, length, fan_in)
        ]

    def _fires(self, op: spikecore.FireOp) -> list[Instruction]:
        """One FIRE per slice, each writing its rows of the result stream; the stream takes the next
        free bus addresses."""
        table, dst = self.param_ids[op.params.root_reference.data], self.next_address
        fires: list[Instruction] = [
            _fire(op, core, base, count, dst + row, table, row)
            for core, base, count, row in _slices(op.group, self.name)
        ]
        self.bus[op.result] = dst
        self.next_address += op.result.type.size.data
        return fires

    def _output(self, op: spikecore.OutputOp) -> None:
        """An output range per slice of the group, scaled by the group's unit."""
        group = op.group.owner
        assert isinstance(group, spikecore.GroupOp)
        scale = group.units[0]
        for core, base, count, _ in _slices(op.group, self.name):
            self.outputs.append(OutputSpec(core, base, count, scale))


def _fire(op: spikecore.FireOp, core: int, base: int, count: int, dst: int, table: int, row: int) -> Fire:
    """The FIRE of one slice: a graded FIRE takes the op's requantization shift and clamp, a binary
    one its reset mode and initial potential (and no shift or clamp)."""
    if op.mode.data == "graded":
        assert op.shift is not None and op.lo is not None and op.hi is not None
        return Fire(
            core,
            base,
            count,
            dst,
            table,
            row,
            mode=FireMode.GRADED,
            reset=ResetMode.ZERO,
            shift=op.shift.value.data,
            lo=op.lo.value.data,
            hi=op.hi.value.data,
        )
    reset = ResetMode.SUBTRACT if op.reset is not None and op.reset.data == "subtract" else ResetMode.ZERO
    return Fire(
        core,
        base,
        count,
        dst,
        table,
        row,
        mode=FireMode.BINARY,
        reset=reset,
        shift=0,
        lo=0,
        hi=0,
        init_half=op.init_half is not None,
    )


def programs_in(module: Operation) -> list[spikecore.ProgramOp]:
    """Every `spikecore.program` of a module, in order."""
    return [op for op in module.walk() if isinstance(op, spikecore.ProgramOp)]


def program_from_module(module: ModuleOp, name: str | None = None) -> Program:
    """The ISA program of the module's single `spikecore.program`, or of the one named ``name``."""
    programs = programs_in(module)
    if name is not None:
        named = [p for p in programs if p.sym_name.data == name.lstrip("@")]
        if not named:
            known = ", ".join(f"@{p.sym_name.data}" for p in programs) or "none"
            raise ProgramError(f"no spikecore.program named @{name.lstrip('@')} (programs: {known})", "module")
        return program_from_ir(named[0])
    if len(programs) != 1:
        if not programs:
            raise ProgramError(
                "the module has no spikecore.program: run the SpikeCore pipeline (spikecore-pipeline) first; "
                "a model without dense layers has nothing that runs on SpikeCore",
                "module",
            )
        names = ", ".join(f"@{p.sym_name.data}" for p in programs)
        raise ProgramError(
            f"the module has {len(programs)} spikecore.programs ({names}): name the one to emit", "module"
        )
    return program_from_ir(programs[0])
