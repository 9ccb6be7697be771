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
from xdsl.dialects.builtin import IntegerAttr, IntegerType, ModuleOp
from xdsl.ir import Operation, SSAValue

from spikeir.chip.isa import (
    Acc,
    AccBias,
    AccConv,
    AccCurrent,
    Compartment,
    Fire,
    FireMode,
    Halt,
    Instruction,
    Leak,
    LeakDecay,
    OutputSpec,
    ProbeSpec,
    Program,
    ResetMode,
)
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
    emission.allocate_bus(program_op)
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
    streamed_input: bool = False
    next_address: int = 0
    """First bus address not yet allocated."""
    instructions: list[Instruction] = field(default_factory=list[Instruction])
    outputs: list[OutputSpec] = field(default_factory=list[OutputSpec])
    probes: list[ProbeSpec] = field(default_factory=list[ProbeSpec])

    def allocate_bus(self, program_op: spikecore.ProgramOp) -> None:
        """The bus address of every spike stream, before any instruction is emitted (a delayed ACC
        may read a stream whose FIRE comes later: recurrence): the input port from 0, then each
        FIRE's result in program order."""
        for op in program_op.body.ops:
            if isinstance(op, spikecore.InputOp):
                self.bus[op.result] = 0
                self.next_address = max(self.next_address, op.result.type.size.data)
        for op in program_op.body.ops:
            if isinstance(op, spikecore.FireOp):
                self.bus[op.result] = self.next_address
                self.next_address += op.result.type.size.data

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
        elif isinstance(op, spikecore.ProbeOp):
            self._probe(op)
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
            streamed_input=self.streamed_input,
            probes=self.probes,
        )

    def _input(self, op: spikecore.InputOp) -> None:
        """The input port takes the bus addresses from 0 (allocated with the FIRE results)."""
        self.n_inputs = op.result.type.size.data
        self.input_scale = op.unit.value.data
        self.streamed_input = op.stream is not None

    def _instructions(self, op: Operation) -> list[Instruction]:
        """The instructions of a neuron op: one per slice of its group (and, for an ACC, per
        column block)."""
        if isinstance(op, spikecore.AccOp):
            return self._accs(op)
        if isinstance(op, spikecore.AccBiasOp):
            table = self.param_ids[op.params.root_reference.data]
            compartment = _compartment(op.compartment)
            return [
                AccBias(core, base, count, table, row, compartment)
                for core, base, count, row in _slices(op.group, self.name)
            ]
        if isinstance(op, spikecore.AccCurrentOp):
            return [AccCurrent(core, base, count) for core, base, count, _ in _slices(op.group, self.name)]
        if isinstance(op, spikecore.AccConvOp):
            return self._conv_accs(op)
        if isinstance(op, spikecore.FireOp):
            return self._fires(op)
        if isinstance(op, spikecore.LeakOp):
            return self._leaks(op)
        raise ProgramError(f"{op.name} has no ISA form", f"@{self.name}")

    def _accs(self, op: spikecore.AccOp) -> list[Instruction]:
        """One ACC reads at most max_fan_in addresses: a longer stream becomes consecutive ACCs over
        column blocks, whose exact sums add up to the same potential."""
        table = self.synapse_ids[op.synapses.root_reference.data]
        spikes_type = op.spikes.type
        assert isinstance(spikes_type, spikecore.SpikesType)  # AccOp's operand constraint
        src, length = self.bus[op.spikes], spikes_type.size.data
        fan_in = self.target.max_fan_in
        compartment, delay = _compartment(op.compartment), _delay(op.delay)
        return [
            Acc(core, base, count, src + col, min(fan_in, length - col), table, row, col, compartment, delay)
            for core, base, count, row in _slices(op.group, self.name)
            for col in range(0, length, fan_in)
        ]

    def _conv_accs(self, op: spikecore.AccConvOp) -> list[Instruction]:
        """One conv ACC per slice: the slice computes output positions [row, row + count) of the map
        (``p0``), reading the kernel rows of the output channels it touches."""
        table = self.synapse_ids[op.synapses.root_reference.data]
        geometry = op.conv.geometry()
        src, positions = self.bus[op.spikes], geometry.out_positions
        compartment, delay = _compartment(op.compartment), _delay(op.delay)
        return [
            AccConv(
                core,
                base,
                count,
                src,
                table,
                geometry,
                p0=row,
                row=row // positions,
                col=0,
                compartment=compartment,
                delay=delay,
            )
            for core, base, count, row in _slices(op.group, self.name)
        ]

    def _leaks(self, op: spikecore.LeakOp) -> list[Instruction]:
        """A LEAK by shift, or (v2) by a decay table, per slice."""
        compartment = _compartment(op.compartment)
        slices = _slices(op.group, self.name)
        if op.decay is not None:
            table = self.param_ids[op.decay.root_reference.data]
            return [LeakDecay(core, base, count, table, row, compartment) for core, base, count, row in slices]
        assert op.shift is not None  # LeakOp's verifier: exactly one of shift and decay
        shift = op.shift.value.data
        return [Leak(core, base, count, shift, compartment) for core, base, count, _ in slices]

    def _fires(self, op: spikecore.FireOp) -> list[Instruction]:
        """One FIRE per slice, each writing its rows of the result stream; the stream takes the next
        free bus addresses."""
        table, dst = self.param_ids[op.params.root_reference.data], self.bus[op.result]
        reset_table = 0 if op.reset_values is None else self.param_ids[op.reset_values.root_reference.data]
        return [
            _fire(op, core, base, count, dst + row, table, row, reset_table)
            for core, base, count, row in _slices(op.group, self.name)
        ]

    def _output(self, op: spikecore.OutputOp) -> None:
        """An output range per slice of the group, scaled by the group's unit."""
        group = op.group.owner
        assert isinstance(group, spikecore.GroupOp)
        scale = group.units[0]
        for core, base, count, _ in _slices(op.group, self.name):
            self.outputs.append(OutputSpec(core, base, count, scale))

    def _probe(self, op: spikecore.ProbeOp) -> None:
        """A probe per slice of the group, recording the op's kinds."""
        kinds = set(op.kinds)
        for core, base, count, _ in _slices(op.group, self.name):
            self.probes.append(ProbeSpec(core, base, count, "spikes" in kinds, "v" in kinds, "i" in kinds))


def _compartment(attr: spikecore.CompartmentAttr | None) -> Compartment:
    """The ISA compartment of an op's optional ``compartment`` (V when absent)."""
    return Compartment.I if attr is not None and attr.data == spikecore.Compartment.I else Compartment.V


def _delay(attr: IntegerAttr[IntegerType] | None) -> int:
    return 0 if attr is None else attr.value.data


def _fire(
    op: spikecore.FireOp, core: int, base: int, count: int, dst: int, table: int, row: int, reset_table: int
) -> Fire:
    """The FIRE of one slice: a graded FIRE takes the op's requantization shift and clamp, a binary
    one its reset mode and initial potential (and no shift or clamp), and (v2) its reset values
    (the slice's rows of ``reset_table``) and refractory period."""
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
    reset = {"subtract": ResetMode.SUBTRACT, "value": ResetMode.VALUE}.get(
        "zero" if op.reset is None else op.reset.data, ResetMode.ZERO
    )
    by_value = reset == ResetMode.VALUE
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
        reset_table=reset_table if by_value else 0,
        reset_row=row if by_value else 0,
        refractory=0 if op.refractory is None else op.refractory.value.data,
    )


def programs_in(module: Operation) -> list[spikecore.ProgramOp]:
    """Every `spikecore.program` of a module, in order."""
    return [op for op in module.walk() if isinstance(op, spikecore.ProgramOp)]


def launched_programs(module: Operation) -> list[str]:
    """The names of the programs the module's `spikecore.launch` ops run, in launch order, each once."""
    return list(
        dict.fromkeys(op.program.root_reference.data for op in module.walk() if isinstance(op, spikecore.LaunchOp))
    )


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
            f"the module has {len(programs)} spikecore.programs ({names}): name the one to emit "
            f"(spike-opt: -t 'spikecore-asm{{program={programs[0].sym_name.data}}}')",
            "module",
        )
    return program_from_ir(programs[0])
