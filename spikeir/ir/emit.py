"""Emission: a placed `spikecore.program` -> an ISA :class:`spikeir.chip.isa.Program` (docs/pipeline.md, section 8).

The IR describes whole layers; the ISA addresses core slices. Emission expands each op over its
group's placement (one instruction per slice, row offset = the neurons of the earlier slices),
allocates the spike bus (the input port first, then each FIRE's result in program order) and
numbers the tables in declaration order, so synapse table ids are layer ids. Nothing is decided
here that a pass could have decided: an unplaced group is an error, not a default placement.
"""

from __future__ import annotations

from collections.abc import Iterator

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
            f'group "{owner.layer.data}" is not placed: run the place pass first (spike-opt -p place)', f"@{program}"
        )
    row = 0
    for s in owner.slices:
        yield s.core.data, s.base.data, s.count.data, row
        row += s.count.data


def program_from_ir(program_op: spikecore.ProgramOp) -> Program:
    """The ISA program of a placed `spikecore.program`; it passes :meth:`Program.validate`."""
    name = program_op.sym_name.data
    synapse_ids: dict[str, int] = {}
    param_ids: dict[str, int] = {}
    synapse_tables: dict[int, np.ndarray] = {}
    param_tables: dict[int, np.ndarray] = {}
    bus: dict[SSAValue, int] = {}
    n_inputs, input_scale, next_address = 0, 0.0, 0
    instructions: list[Instruction] = []
    outputs: list[OutputSpec] = []
    target = _target(program_op)

    for op in program_op.body.ops:
        if isinstance(op, spikecore.SynapsesOp):
            synapse_ids[op.sym_name.data] = len(synapse_tables)
            synapse_tables[len(synapse_tables)] = np.array(to_numpy(op.dense), dtype=np.int8)
        elif isinstance(op, spikecore.ParamsOp):
            param_ids[op.sym_name.data] = len(param_tables)
            param_tables[len(param_tables)] = np.array(to_numpy(op.dense), dtype=np.int32)
        elif isinstance(op, spikecore.InputOp):
            n_inputs = op.result.type.size.data
            input_scale = op.unit.value.data
            bus[op.result] = 0
            next_address = n_inputs
        elif isinstance(op, spikecore.AccOp):
            table = synapse_ids[op.synapses.root_reference.data]
            src, length = bus[op.spikes], op.spikes.type.size.data  # pyright: ignore[reportAttributeAccessIssue]
            # One ACC reads at most max_fan_in addresses: a longer stream becomes consecutive ACCs over
            # column blocks, whose exact sums add up to the same potential.
            for core, base, count, row in _slices(op.group, name):
                for col in range(0, length, target.max_fan_in):
                    width = min(target.max_fan_in, length - col)
                    instructions.append(Acc(core, base, count, src + col, width, table, row, col))
        elif isinstance(op, spikecore.AccBiasOp):
            table = param_ids[op.params.root_reference.data]
            for core, base, count, row in _slices(op.group, name):
                instructions.append(AccBias(core, base, count, table, row))
        elif isinstance(op, spikecore.FireOp):
            instructions += _fire(op, param_ids[op.params.root_reference.data], next_address, name)
            bus[op.result] = next_address
            next_address += op.result.type.size.data
        elif isinstance(op, spikecore.LeakOp):
            for core, base, count, _ in _slices(op.group, name):
                instructions.append(Leak(core, base, count, op.shift.value.data))
        elif isinstance(op, spikecore.OutputOp):
            group = op.group.owner
            assert isinstance(group, spikecore.GroupOp)
            scale = group.units[0]
            for core, base, count, _ in _slices(op.group, name):
                outputs.append(OutputSpec(core, base, count, scale))
        elif isinstance(op, spikecore.HaltOp):
            instructions.append(Halt())
        elif not isinstance(op, spikecore.GroupOp):
            raise ProgramError(f"{op.name} has no ISA form", f"@{name}")

    program = Program(
        instructions=instructions,
        n_inputs=n_inputs,
        outputs=outputs,
        synapse_tables=synapse_tables,
        param_tables=param_tables,
        target=target,
        input_scale=input_scale,
    )
    try:
        program.validate()
    except ProgramError as err:
        raise ProgramError(err.message, f"@{name}: {err.location}") from None
    return program


def _fire(op: spikecore.FireOp, table: int, dst: int, program: str) -> list[Instruction]:
    fires: list[Instruction] = []
    for core, base, count, row in _slices(op.group, program):
        if op.mode.data == "graded":
            assert op.shift is not None and op.lo is not None and op.hi is not None
            fires.append(
                Fire(
                    core,
                    base,
                    count,
                    dst + row,
                    table,
                    row,
                    mode=FireMode.GRADED,
                    reset=ResetMode.ZERO,
                    shift=op.shift.value.data,
                    lo=op.lo.value.data,
                    hi=op.hi.value.data,
                )
            )
        else:
            reset = ResetMode.SUBTRACT if op.reset is not None and op.reset.data == "subtract" else ResetMode.ZERO
            fires.append(
                Fire(
                    core,
                    base,
                    count,
                    dst + row,
                    table,
                    row,
                    mode=FireMode.BINARY,
                    reset=reset,
                    shift=0,
                    lo=0,
                    hi=0,
                    init_half=op.init_half is not None,
                )
            )
    return fires


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
