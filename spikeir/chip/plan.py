"""The execution plan of a program: what the hardware model precomputes at load time for every run.

Why a plan: a compiled program often holds one small instruction per core (the seed mapping has one
neuron per core, so a 784-64-10 MLP is 64 one-row ACCs, 64 one-neuron FIREs, ...). Executing those
one by one would cost a matrix-vector product per core. At load time the model therefore orders the
instructions by dependency level (two instructions depend on each other when they share a neuron,
or when one writes bus addresses the other reads), and fuses the independent instructions of one
level and kind into a single step (spikeir.chip.steps): the ACCs of a level that read the same bus
range become one matrix product, its FIREs one vectorised requantization. Any order that respects
those dependencies computes the same values as program order; the spike log is still written in
program order.

Exactness: bus payloads are int8, so an ACC row's dot product is bounded by
``sum_i |W[r, i]| * 128``. When that bound is below 2^24 for every row of a fused block, float32
BLAS forms every partial sum exactly; otherwise float64 does (the bound is below 2^53 for any block
that fits in memory).
Saturation adds in int64 and clips to int32. Membrane potentials are int64 arrays holding int32
values. The clip is skipped where it provably cannot act: no FIRE or LEAK ever increases ``|V|``, so
a neuron's ``|V|`` never exceeds ``|V_init| + t * growth``, with ``growth`` the largest change its
ACCs can make in one timestep; a step whose neurons all stay within int32 for the run's T needs no
clip.

:func:`build_plan` runs the phases in order: lay out the state compactly, level the instructions,
bound the growth of every neuron, fuse each group of a level into a step, and precompute what the
accounting (spikeir.chip.accounting) multiplies events by.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikeir.chip.isa import INT32_MAX, Acc, AccBias, Fire, FireMode, Halt, Leak, Program, ResetMode
from spikeir.chip.steps import AccStep, BiasStep, FireStep, Index, LeakStep, Step
from spikeir.chip.target import TargetDescription

_MAX_ABS_PAYLOAD = 128
"""Largest magnitude of a bus payload (int8), the bound behind the float exactness checks."""
_F32_EXACT = 2**24
"""Integers below this magnitude are exact in float32, and so is every partial sum that stays below it."""
_NEVER = 2**62
"""A number of timesteps no run reaches (a step whose neurons cannot saturate at all)."""

_RangeInstruction = Acc | AccBias | Fire | Leak
"""An instruction acting on a range of neurons: every instruction but HALT."""

_GroupKey = tuple[object, ...]
"""What fuses instructions into one step: their level, their kind, and for ACCs their source range,
for FIREs their mode."""


@dataclass
class Plan:
    """Everything load_program precomputes for run."""

    program: Program
    n_neurons: int
    n_bus: int
    """Bus addresses the program touches outside the input port."""
    steps: list[Step]
    acc_steps: list[AccStep]
    fire_steps: list[FireStep]
    records: int
    """Columns of a chunk's event records: one per ACC step, then one per step with intra-core deliveries."""
    acc_counts: np.ndarray
    """(ACC steps, 2 + cores): per step, the rows (synaptic ops per event), the members
    (deliveries per event) and, per core, the rows it runs; events times this give the counters."""
    clear_bus: bool
    """Whether some ACC reads an address before the FIRE that writes it in a timestep, so the bus
    must be cleared every timestep; otherwise every address read was written before, or never is."""
    core_const_cycles: np.ndarray
    """Per core per timestep: neuron updates plus bias neurons."""
    cycle_base: np.ndarray
    cycle_rows: np.ndarray
    """A core's cycles in a timestep are ``base + events @ rows`` (events: per ACC step); cores with
    the same base and rows are merged, so these have one column per distinct core pattern."""
    core_updates: np.ndarray
    """Per core (all cores) per timestep: neuron updates."""
    init_V: np.ndarray
    output_columns: np.ndarray
    targeted: dict[int, np.ndarray]
    """Per core: the columns of the neurons any instruction targets."""
    neuron_ids: np.ndarray
    """Global id (core * neurons_per_core + neuron) of each column of V."""
    log_cores: np.ndarray
    log_neurons: np.ndarray


@dataclass(frozen=True)
class _Layout:
    """The compact columns of a run's state: V holds only the neurons the program touches and the
    bus only the addresses it touches, both in ascending order (so a contiguous range stays one)."""

    neurons_per_core: int
    neuron_ids: np.ndarray
    """Global id (core * neurons_per_core + neuron) of each column of V."""
    bus_addrs: np.ndarray
    """Bus address of each bus column; the input port comes first."""

    def neurons_of(self, core: int, base: int, count: int) -> np.ndarray:
        """The columns of V of neurons ``[base, base + count)`` of ``core``."""
        first = int(np.searchsorted(self.neuron_ids, core * self.neurons_per_core + base))
        return np.arange(first, first + count)

    def bus_of(self, address: int, length: int) -> np.ndarray:
        """The bus columns of addresses ``[address, address + length)``."""
        first = int(np.searchsorted(self.bus_addrs, address))
        return np.arange(first, first + length)


@dataclass(frozen=True)
class _Levels:
    """The body's instructions grouped by dependency level and kind."""

    columns: list[np.ndarray]
    """Per instruction of the body, the columns of V it acts on."""
    groups: dict[_GroupKey, list[int]]
    """The indices (into the body) of the instructions fused into each step."""
    writer_core: np.ndarray
    """Per bus column, the core of the FIRE that writes it (-1: none does)."""
    clear_bus: bool
    """See :attr:`Plan.clear_bus`."""


def build_plan(program: Program, tables: dict[int, np.ndarray], chip: TargetDescription) -> Plan:
    """Lay out the touched neurons and bus addresses compactly, level the instructions by
    dependency, and fuse each level's independent instructions of one kind into a step."""
    body = [instr for instr in program.instructions if not isinstance(instr, Halt)]
    layout = _layout(program, body)
    levels = _level(body, layout)
    n_neurons = int(layout.neuron_ids.size)
    init_V = _initial_potentials(program, body, levels.columns, n_neurons)
    safe = _safe_timesteps(_growth(program, body, levels.columns, tables, n_neurons), init_V)
    log_offsets, log_cores, log_neurons = _log_layout(body)
    steps, acc_steps, fire_steps, records = _fuse(program, body, levels, layout, tables, safe, log_offsets)
    const_cycles, core_updates = _core_constants(body, chip.cores)
    cycle_base, cycle_rows = _cycle_patterns(body, acc_steps, const_cycles)
    return Plan(
        program=program,
        n_neurons=n_neurons,
        n_bus=int(layout.bus_addrs.size) - program.n_inputs,
        steps=steps,
        acc_steps=acc_steps,
        fire_steps=fire_steps,
        records=records,
        acc_counts=_acc_counts(acc_steps, chip.cores),
        clear_bus=levels.clear_bus,
        core_const_cycles=const_cycles,
        cycle_base=cycle_base,
        cycle_rows=cycle_rows,
        core_updates=core_updates,
        init_V=init_V,
        output_columns=_output_columns(program, layout),
        targeted=_targeted(body, levels.columns),
        neuron_ids=layout.neuron_ids,
        log_cores=log_cores,
        log_neurons=log_neurons,
    )


def _layout(program: Program, body: list[_RangeInstruction]) -> _Layout:
    """Only touched neurons and addresses get a column: a program on a few cores of a large chip
    then costs what its own neurons cost."""
    npc = program.target.neurons_per_core
    ranges = [np.arange(i.core * npc + i.base, i.core * npc + i.base + i.count) for i in body]
    ranges += [np.arange(o.core * npc + o.base, o.core * npc + o.base + o.count) for o in program.outputs]
    neuron_ids = np.unique(np.concatenate(ranges)) if ranges else np.zeros(0, np.int64)
    addresses = [np.arange(program.n_inputs)]
    addresses += [np.arange(i.dst, i.dst + i.count) for i in body if isinstance(i, Fire)]
    addresses += [np.arange(i.src, i.src + i.src_len) for i in body if isinstance(i, Acc)]
    return _Layout(npc, neuron_ids, np.unique(np.concatenate(addresses)))


def _level(body: list[_RangeInstruction], layout: _Layout) -> _Levels:
    """Dependency levels: an instruction comes after every earlier one sharing a neuron, after the
    FIREs that wrote what it reads, and (a FIRE) after the ACCs that read what it writes. The
    instructions of one level and kind do not depend on each other, so they fuse into one step."""
    neuron_level = np.full(layout.neuron_ids.size, -1)
    bus_written = np.full(layout.bus_addrs.size, -1)
    bus_read = np.full(layout.bus_addrs.size, -1)
    writer_core = np.full(layout.bus_addrs.size, -1)
    clear_bus = False
    columns: list[np.ndarray] = []
    groups: dict[_GroupKey, list[int]] = {}
    for index, instr in enumerate(body):
        cols = layout.neurons_of(instr.core, instr.base, instr.count)
        columns.append(cols)
        level = int(neuron_level[cols].max())
        if isinstance(instr, Acc):
            source = layout.bus_of(instr.src, instr.src_len)
            level = max(level, int(bus_written[source].max())) + 1
            bus_read[source] = np.maximum(bus_read[source], level)
            key: _GroupKey = (level, "acc", instr.src, instr.src_len)
        elif isinstance(instr, Fire):
            dst = layout.bus_of(instr.dst, instr.count)
            clear_bus |= bool((bus_read[dst] >= 0).any())
            level = max(level, int(bus_read[dst].max())) + 1
            bus_written[dst] = level
            writer_core[dst] = instr.core
            key = (level, "fire", instr.mode)
        else:
            level += 1
            key = (level, type(instr).__name__)
        neuron_level[cols] = level
        groups.setdefault(key, []).append(index)
    return _Levels(columns, groups, writer_core, clear_bus)


def _growth(
    program: Program,
    body: list[_RangeInstruction],
    columns: list[np.ndarray],
    tables: dict[int, np.ndarray],
    n_neurons: int,
) -> np.ndarray:
    """Per column of V, the most its ACCs can change V in one timestep (payloads are int8): the
    rate at which ``|V|`` can approach the int32 bounds."""
    growth = np.zeros(n_neurons, np.int64)
    for instr, cols in zip(body, columns):
        if isinstance(instr, Acc):
            block = tables[instr.table][instr.row : instr.row + instr.count, instr.col : instr.col + instr.src_len]
            growth[cols] += np.abs(block.astype(np.int64)).sum(axis=1) * _MAX_ABS_PAYLOAD
        elif isinstance(instr, AccBias):
            growth[cols] += np.abs(
                program.param_tables[instr.table][instr.row : instr.row + instr.count].astype(np.int64)
            )
    return growth


def _initial_potentials(
    program: Program, body: list[_RangeInstruction], columns: list[np.ndarray], n_neurons: int
) -> np.ndarray:
    """V at the start of a run: zero, except half the threshold for the neurons of an
    ``init_half`` FIRE."""
    init_V = np.zeros(n_neurons, np.int64)
    for instr, cols in zip(body, columns):
        if isinstance(instr, Fire) and instr.init_half:
            init_V[cols] = program.param_tables[instr.table][instr.row : instr.row + instr.count].astype(np.int64) >> 1
    return init_V


def _safe_timesteps(growth: np.ndarray, init_V: np.ndarray) -> np.ndarray:
    """Per column of V, the longest run in which the neuron stays within int32 without saturating:
    ``|V| <= |V_init| + t * growth`` after t timesteps (the module docstring says why)."""
    headroom = INT32_MAX - np.abs(init_V)
    return np.where(growth > 0, headroom // np.maximum(growth, 1), _NEVER)


def _log_layout(body: list[_RangeInstruction]) -> tuple[dict[int, int], np.ndarray, np.ndarray]:
    """Where each FIRE's payloads go in the logged lane's row of a timestep, in program order (the
    order of the spike log, whatever order the steps run in): per FIRE (by body index) its first
    position, and per position the core and neuron it logs."""
    fires = [instr for instr in body if isinstance(instr, Fire)]
    indices = [index for index, instr in enumerate(body) if isinstance(instr, Fire)]
    offsets = dict(zip(indices, np.cumsum([0] + [f.count for f in fires]).tolist()))
    if not fires:
        return offsets, np.zeros(0, np.int64), np.zeros(0, np.int64)
    cores = np.concatenate([np.full(f.count, f.core) for f in fires])
    neurons = np.concatenate([np.arange(f.base, f.base + f.count) for f in fires])
    return offsets, cores.astype(np.int64), neurons.astype(np.int64)


def _fuse(
    program: Program,
    body: list[_RangeInstruction],
    levels: _Levels,
    layout: _Layout,
    tables: dict[int, np.ndarray],
    safe: np.ndarray,
    log_offsets: dict[int, int],
) -> tuple[list[Step], list[AccStep], list[FireStep], int]:
    """One step per group, in level order (and by first member within a level), its members in
    column order; also the ACC and FIRE steps alone (the accounting and spike counts read them)
    and the number of event record columns: one per ACC step, then one per ACC step with
    intra-core deliveries."""
    steps: list[Step] = []
    acc_steps: list[AccStep] = []
    fire_steps: list[FireStep] = []
    groups, columns = levels.groups, levels.columns
    acc_groups = sum(1 for key in groups if key[1] == "acc")
    intra_columns = 0
    for key in sorted(groups, key=lambda k: (k[0], groups[k][0])):
        members = sorted(groups[key], key=lambda i: int(columns[i][0]))
        cols = np.concatenate([columns[i] for i in members])
        instrs = [body[i] for i in members]
        step: Step
        if key[1] == "acc":
            step = _acc_step(
                len(acc_steps),
                acc_groups + intra_columns,
                int(safe[cols].min()),
                instrs,
                cols,
                tables,
                layout,
                program.n_inputs,
                levels.writer_core,
            )
            intra_columns += step.intra_weight is not None
            acc_steps.append(step)
        elif key[1] == "fire":
            step = _fire_step(len(fire_steps), instrs, cols, program, layout, [log_offsets[i] for i in members])
            fire_steps.append(step)
        elif key[1] == "AccBias":
            step = _bias_step(program, instrs, cols, int(safe[cols].min()))
        else:
            step = _leak_step(instrs, cols)
        steps.append(step)
    return steps, acc_steps, fire_steps, acc_groups + intra_columns


def _acc_step(
    key: int,
    intra_key: int,
    safe_timesteps: int,
    instrs: list[_RangeInstruction],
    cols: np.ndarray,
    tables: dict[int, np.ndarray],
    layout: _Layout,
    n_inputs: int,
    writer_core: np.ndarray,
) -> AccStep:
    """Fused ACCs of one source range: their weight blocks stacked into one matrix, in the
    narrowest float type that forms every dot product exactly."""
    accs = [i for i in instrs if isinstance(i, Acc)]
    first = accs[0]
    source = layout.bus_of(first.src, first.src_len)
    rest = source[source >= n_inputs] - n_inputs
    block = np.concatenate([tables[i.table][i.row : i.row + i.count, i.col : i.col + i.src_len] for i in accs]).astype(
        np.int64
    )
    bound = int(np.abs(block).sum(axis=1).max()) * _MAX_ABS_PAYLOAD
    # The bound is at most len * 2^14, so float64 (exact below 2^53) always suffices: no block of
    # 2^39 weights fits in memory, let alone in synaptic memory.
    dtype = np.float32 if bound < _F32_EXACT else np.float64
    cores, inverse = np.unique([i.core for i in accs], return_inverse=True)
    core_rows = np.zeros(cores.size, np.int64)
    np.add.at(core_rows, inverse, [i.count for i in accs])
    writers = writer_core[source]
    intra = np.zeros(source.size, np.float64)
    for instr in accs:
        intra += writers == instr.core
    return AccStep(
        key=key,
        intra_key=intra_key if intra.any() else -1,
        input_cols=slice(first.src, min(first.src + first.src_len, n_inputs)) if first.src < n_inputs else None,
        bus_cols=slice(int(rest[0]), int(rest[-1]) + 1) if rest.size else None,
        neurons=_index(cols),
        weights=np.ascontiguousarray(block.T, dtype=dtype),
        cores=cores.astype(np.int64),
        core_rows=core_rows,
        rows=int(block.shape[0]),
        members=len(accs),
        intra_weight=intra if intra.any() else None,
        safe_timesteps=safe_timesteps,
    )


def _fire_step(
    slot: int,
    instrs: list[_RangeInstruction],
    cols: np.ndarray,
    program: Program,
    layout: _Layout,
    log_offsets: list[int],
) -> FireStep:
    """Fused FIREs; their destinations are columns of the bus outside the input port."""
    fires = [i for i in instrs if isinstance(i, Fire)]

    def per_neuron(values: list[int]) -> np.ndarray:
        return np.concatenate([np.full(f.count, v, np.int64) for f, v in zip(fires, values)])

    shift = per_neuron([f.shift for f in fires])
    core_of_column = per_neuron([f.core for f in fires])
    starts = np.flatnonzero(np.r_[True, core_of_column[1:] != core_of_column[:-1]])
    return FireStep(
        neurons=_index(cols),
        dst=_index(np.concatenate([layout.bus_of(f.dst, f.count) for f in fires]) - program.n_inputs),
        binary=fires[0].mode == FireMode.BINARY,
        slot=slot,
        param=np.concatenate([program.param_tables[f.table][f.row : f.row + f.count] for f in fires]).astype(np.int64),
        rounding=_uniform(np.where(shift > 0, np.left_shift(1, np.maximum(shift - 1, 0)), 0)),
        shift=_uniform(shift),
        lo=_uniform(per_neuron([f.lo for f in fires])),
        hi=_uniform(per_neuron([f.hi for f in fires])),
        subtract=_uniform_flag(per_neuron([int(f.reset == ResetMode.SUBTRACT) for f in fires]).astype(bool)),
        segment_starts=starts,
        segment_cores=core_of_column[starts],
        one_per_core=bool(starts.size == cols.size),
        log_positions=_index(np.concatenate([np.arange(o, o + f.count) for f, o in zip(fires, log_offsets)])),
    )


def _bias_step(program: Program, instrs: list[_RangeInstruction], cols: np.ndarray, safe_timesteps: int) -> BiasStep:
    """Fused bias ACCs: their parameter rows concatenated, one per neuron."""
    bias = np.concatenate(
        [program.param_tables[i.table][i.row : i.row + i.count] for i in instrs if isinstance(i, AccBias)]
    )
    return BiasStep(_index(cols), bias.astype(np.int64), safe_timesteps)


def _leak_step(instrs: list[_RangeInstruction], cols: np.ndarray) -> LeakStep:
    """Fused LEAKs: their shifts, one per neuron."""
    shifts = np.concatenate([np.full(i.count, i.shift) for i in instrs if isinstance(i, Leak)])
    return LeakStep(_index(cols), shifts.astype(np.int64))


def _core_constants(body: list[_RangeInstruction], cores: int) -> tuple[np.ndarray, np.ndarray]:
    """Per core per timestep, what does not depend on events: its cycles (one per neuron of every
    instruction but a synaptic ACC) and its neuron updates (the neurons of its FIREs and LEAKs)."""
    const_cycles = np.zeros(cores, np.int64)
    core_updates = np.zeros(cores, np.int64)
    for instr in body:
        if not isinstance(instr, Acc):
            const_cycles[instr.core] += instr.count
        if isinstance(instr, (Fire, Leak)):
            core_updates[instr.core] += instr.count
    return const_cycles, core_updates


def _cycle_patterns(
    body: list[_RangeInstruction], acc_steps: list[AccStep], const_cycles: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:attr:`Plan.cycle_base` and :attr:`Plan.cycle_rows`: each active core's constant cycles and
    rows per ACC step, with cores that share both merged (many cores run identical slices), so
    finding the busiest core costs one product per distinct pattern."""
    active_cores = np.unique([instr.core for instr in body]).astype(np.int64)
    patterns = np.zeros((active_cores.size, 1 + len(acc_steps)), np.int64)
    patterns[:, 0] = const_cycles[active_cores]
    for column, step in enumerate(acc_steps, start=1):
        patterns[np.searchsorted(active_cores, step.cores), column] = step.core_rows
    patterns = np.unique(patterns, axis=0)
    return patterns[:, 0].astype(np.float64), np.ascontiguousarray(patterns[:, 1:].T, dtype=np.float64)


def _acc_counts(acc_steps: list[AccStep], cores: int) -> np.ndarray:
    """:attr:`Plan.acc_counts`: what one event read by each ACC step adds to the counters."""
    acc_counts = np.zeros((len(acc_steps), 2 + cores), np.int64)
    for step in acc_steps:
        acc_counts[step.key, :2] = step.rows, step.members
        acc_counts[step.key, 2 + step.cores] = step.core_rows
    return acc_counts


def _output_columns(program: Program, layout: _Layout) -> np.ndarray:
    """The columns of V of the program's output ranges, in declaration order."""
    if not program.outputs:
        return np.zeros(0, np.int64)
    return np.concatenate([layout.neurons_of(o.core, o.base, o.count) for o in program.outputs])


def _targeted(body: list[_RangeInstruction], columns: list[np.ndarray]) -> dict[int, np.ndarray]:
    """:attr:`Plan.targeted`: per core, the columns of the neurons some instruction acts on."""
    parts: dict[int, list[np.ndarray]] = {}
    for instr, cols in zip(body, columns):
        parts.setdefault(instr.core, []).append(cols)
    return {core: np.unique(np.concatenate(cols)) for core, cols in parts.items()}


def _index(columns: np.ndarray) -> Index:
    """A slice when the columns form one ascending run, so a step reads and writes a view."""
    if columns.size and np.array_equal(columns, np.arange(columns[0], columns[0] + columns.size)):
        return slice(int(columns[0]), int(columns[0]) + int(columns.size))
    return columns


def _uniform(values: np.ndarray) -> np.ndarray | np.int64:
    """A scalar when every neuron has the same parameter: numpy's scalar paths are faster."""
    return np.int64(values[0]) if values.size and bool(np.all(values == values[0])) else values


def _uniform_flag(flags: np.ndarray) -> np.ndarray | bool:
    """A bool when every neuron has the same flag, so a step can pick its path without a reduction."""
    return bool(flags[0]) if bool(np.all(flags == flags[0])) else flags
