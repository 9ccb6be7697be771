"""The execution plan of a program: what the hardware model precomputes at load time for every run.

Why a plan: a compiled program often holds one small instruction per core (the seed mapping has one
neuron per core, so a 784-64-10 MLP is 64 one-row ACCs, 64 one-neuron FIREs, ...). Executing those
one by one would cost a matrix-vector product per core. At load time the model therefore orders the
instructions by dependency level (two instructions depend on each other when they share a neuron,
or when one writes bus addresses the other reads), and fuses the independent instructions of one
level and kind into a single step (spikeir.chip.steps): the ACCs of a level that read the same bus
range become one matrix product, its FIREs one vectorised requantization, the conv ACCs of a level
that share a source and a kernel one im2col product (spikeir.chip.conv). Any order that respects
those dependencies computes the same values as program order; the spike log is still written in
program order. A delayed ACC (v2) reads the ring of past buses, not the current bus, so it depends
on no FIRE of the current timestep.

Exactness: bus payloads are int8, so an ACC row's dot product is bounded by
``sum_i |W[r, i]| * 128`` (a conv kernel row's likewise; its padding taps read 0). When that bound
is below 2^24 for every row of a fused block, float32 BLAS forms every partial sum exactly;
otherwise float64 does (the bound is below 2^53 for any block that fits in memory).
Saturation adds in int64 and clips to int32. Membrane potentials are int64 arrays holding int32
values, or float32 arrays for a run in which they provably stay below 2^24 (see "Float32 state"
below). The clip is skipped where it provably cannot act: no LEAK ever increases ``|X|`` and a FIRE
only sets V to 0, ``V - theta`` or a reset value ``vr``, so a neuron's ``|V|`` never exceeds
``max(|V_init|, |vr|) + t * growth``, with ``growth`` the largest change its ACCs can make in one
timestep (``|I| <= t * growth_I`` likewise); a step whose neurons all stay within int32 for the run
needs no clip. A current ACC adds I, which can reach 2^31 in one step: it always clips, and so does
every V step of a neuron that receives one. ``t`` counts timesteps since the state was fresh, so a
continued run counts the runs it continues.

Float32 state: the same bound, ``|V| <= max(|V_init|, |vr|) + t * growth``, below 2^24 for every
neuron over a whole run makes every V an integer that float32 holds exactly, and every sum the steps
form (V plus a dot product, a bias, minus a threshold) too, since each is bounded by the same
``growth``. Such a run keeps V in float32, so products add into it with no conversion
(:meth:`Plan.float_state` decides per run, with the products of the direct-input ACCs measured:
their per-lane currents are known once formed, and usually far below the worst case; programs with a
current, or a decay LEAK, keep int64). Graded FIRE still multiplies in int64; a LEAK's ``X >> s`` is ``floor(X * 2^-s)``, exact.

Counted products: when an ACC reads only payloads of binary FIREs (0 or 1), the events it reads
are the sum of its source row, and its intra-core deliveries the source times a fixed weight; both
become extra columns of its weight matrix (exact: at most the source length), so one product forms
the dot products and the counts. An input-only ACC followed directly by the bias step of the same
neurons folds the bias into its once-formed products in runs where neither saturates (no clip can
act between the two adds, so ``V + d + b == V + (d + b)``).

Stages: the state's segments share no neuron, so the steps of one segment interact with the others
only through the bus. When every address an ACC reads was written earlier in the same timestep (no
bus clear), by one FIRE, and the segments can be ordered so that each reads only what earlier ones
(or itself) wrote, a run without delays, probes or streamed input may execute one segment's steps
for a whole block of timesteps before the next segment's, keeping the block's buses: every step
sees exactly the values it sees in timestep order. An ACC whose source only earlier stages write
then forms the block's products in one product, and a stage of only ACCs and biases that cannot
saturate in the run adds their sums over the block at once (exact integer sums: the float32 ones
are bounded by the same ``t * growth`` as V).

:func:`build_plan` runs the phases in order: lay out the state compactly, level the instructions,
bound the growth of every neuron, fuse each group of a level into a step, and precompute what the
accounting (spikeir.chip.accounting) multiplies the recorded events by.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from spikeir.chip.conv import MAX_ABS_PAYLOAD, conv_kernel, fan_out, group_taps, neuron_bounds
from spikeir.chip.isa import (
    INT32_MAX,
    Acc,
    AccBias,
    AccConv,
    AccCurrent,
    Compartment,
    Fire,
    FireMode,
    Halt,
    Leak,
    LeakDecay,
    Program,
    ResetMode,
)
from spikeir.chip.steps import (
    AccStep,
    BiasStep,
    ConvStep,
    CurrentStep,
    DecayStep,
    FireStep,
    Index,
    LeakStep,
    RingPush,
    Source,
    Stage,
    Step,
)
from spikeir.chip.target import TargetDescription

_F32_EXACT = 2**24
"""Integers below this magnitude are exact in float32, and so is every partial sum that stays below it."""
_F32_STATE = 2**24 - 1
"""The largest integer (and run length) float32 state holds exactly, with every integer below it."""
_NEVER = 2**62
"""A number of timesteps no run reaches (a step whose neurons cannot saturate at all)."""

_RangeInstruction = Acc | AccBias | AccCurrent | AccConv | Fire | Leak | LeakDecay
"""An instruction acting on a range of neurons: every instruction but HALT."""

_GroupKey = tuple[object, ...]
"""What fuses instructions into one step: their level, their kind, and for ACCs their source range
(and delay, compartment, for a conv its geometry and kernel), for FIREs their mode."""

_COUNTERS = 3
"""Leading columns of :attr:`Plan.record_counts`: synaptic ops, deliveries, intra-core deliveries."""


@dataclass
class Plan:
    """Everything load_program precomputes for run."""

    program: Program
    n_neurons: int
    n_bus: int
    """Bus addresses the program touches outside the input port."""
    steps: list[Step]
    acc_steps: list[AccStep | ConvStep]
    fire_steps: list[FireStep]
    records: int
    """Columns of a chunk's event records: per dense ACC step the events it read (and, if it has
    some, its intra-core deliveries), per conv step its synaptic ops per core, its deliveries and
    its intra-core deliveries."""
    record_counts: np.ndarray
    """(records, 3 + cores) int64: what one unit of each record column adds to the synaptic ops,
    the deliveries, the intra-core deliveries and each core's synaptic ops."""
    clear_bus: bool
    """Whether some ACC reads an address before the FIRE that writes it in a timestep, so the bus
    must be cleared every timestep; otherwise every address read was written before, or never is."""
    core_const_cycles: np.ndarray
    """Per core per timestep: neuron updates plus bias and current neurons."""
    cycle_base: np.ndarray
    cycle_rows: np.ndarray
    """A core's cycles in a timestep are ``base + records @ rows``; cores with the same base and
    rows are merged, so these have one column per distinct core pattern."""
    core_updates: np.ndarray
    """Per core (all cores) per timestep: neuron updates."""
    init_V: np.ndarray
    output_columns: np.ndarray
    output_index: Index
    """``output_columns`` as a slice when they form one run (a cheaper read of V)."""
    targeted: dict[int, np.ndarray]
    """Per core: the columns of the neurons any instruction targets."""
    neuron_ids: np.ndarray
    """Global id (core * neurons_per_core + neuron) of each column of V."""
    bus_addrs: np.ndarray
    """Bus address of each bus column; the input port comes first."""
    log_cores: np.ndarray
    log_neurons: np.ndarray
    uses_current: bool
    """Whether some instruction reads or writes I (v2): the chunk then holds I."""
    uses_refractory: bool
    """Whether some FIRE has a refractory period (v2): the chunk then holds R."""
    max_delay: int
    """D, the largest ACC delay (v2): the ring holds the last D buses."""
    ring_width: int
    """Addresses the ring keeps: the union of the delayed ACCs' sources."""
    ring_push: RingPush | None
    segments: list[slice]
    """The columns of each segment of the state: a chunk holds V (and I, R) as one array per
    segment, and every step acts on one of them (``step.segment``, ``step.neurons`` within it)."""
    float_capable: bool
    """Whether the program's steps can run on float32 state at all (no current, no decay LEAK)."""
    f32_start: np.ndarray
    """Per column of V, the largest ``|V|`` a run starts or a reset restarts from (float64)."""
    f32_growth: np.ndarray
    """Per column of V, its growth per timestep from everything but the direct-input ACC steps,
    whose products a run measures (float64; see :meth:`float_state`)."""
    scratch_per_lane: int
    """Bytes per lane of the largest temporary a conv step makes (its im2col patches)."""
    fires: list[Fire]
    """The program's FIREs, in program order (probes of spikes read their destinations)."""
    stages: list[Stage] | None
    """The steps grouped by segment of the state, in an order in which every stage reads only what
    earlier stages (or itself) wrote: see "Stages" in the module docstring. None when no such order
    exists, the bus is cleared every timestep, or the program has delays."""

    def float_state(self, timesteps: int, peaks: np.ndarray, begin: np.ndarray | None) -> bool:
        """Whether a run of ``timesteps`` keeps every V below 2^24, so in float32 (module
        docstring), given ``peaks``: per column the largest ``|product|`` the direct-input ACC
        steps add in each timestep of this run, and ``begin``: per column the largest ``|V|`` the
        run continues from (None: a fresh state)."""
        if not self.float_capable or timesteps > _F32_STATE:
            return False
        start = self.f32_start if begin is None else np.maximum(self.f32_start, begin)
        bound = start + timesteps * (self.f32_growth + peaks)
        return bool(bound.max(initial=0.0) <= _F32_STATE)

    def columns_of(self, core: int, base: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Neurons ``[base, base + count)`` of ``core``: which of them (positions in the range) have
        a column of V, and those columns; a neuron no instruction touches has none (V stays 0)."""
        npc = self.program.target.neurons_per_core
        ids = core * npc + np.arange(base, base + count)
        cols = np.searchsorted(self.neuron_ids, ids)
        present = (cols < self.neuron_ids.size) & (self.neuron_ids[np.minimum(cols, self.neuron_ids.size - 1)] == ids)
        return np.flatnonzero(present), cols[present]

    def bus_columns(self, addresses: np.ndarray) -> np.ndarray:
        """The columns of these (touched) bus addresses outside the input port."""
        return np.searchsorted(self.bus_addrs, addresses) - self.program.n_inputs


@dataclass(frozen=True)
class _Layout:
    """The compact columns of a run's state: V holds only the neurons the program touches and the
    bus only the addresses it touches, both in ascending order (so a contiguous range stays one)."""

    neurons_per_core: int
    neuron_ids: np.ndarray
    """Global id (core * neurons_per_core + neuron) of each column of V."""
    bus_addrs: np.ndarray
    """Bus address of each bus column; the input port comes first."""
    ring_addrs: np.ndarray
    """Bus address of each ring column: what the delayed ACCs read."""
    n_inputs: int

    def neurons_of(self, core: int, base: int, count: int) -> np.ndarray:
        """The columns of V of neurons ``[base, base + count)`` of ``core``."""
        first = int(np.searchsorted(self.neuron_ids, core * self.neurons_per_core + base))
        return np.arange(first, first + count)

    def bus_of(self, address: int, length: int) -> np.ndarray:
        """The bus columns of addresses ``[address, address + length)``."""
        first = int(np.searchsorted(self.bus_addrs, address))
        return np.arange(first, first + length)

    def source(self, src: int, length: int, delay: int) -> Source:
        """Where an ACC reading ``[src, src + length)`` with this delay finds its payloads."""
        if delay:
            first = int(np.searchsorted(self.ring_addrs, src))
            return Source(None, None, delay, slice(first, first + length))
        rest = self.bus_of(src, length)
        rest = rest[rest >= self.n_inputs] - self.n_inputs
        return Source(
            input_cols=slice(src, min(src + length, self.n_inputs)) if src < self.n_inputs else None,
            bus_cols=slice(int(rest[0]), int(rest[-1]) + 1) if rest.size else None,
        )


@dataclass(frozen=True)
class _Levels:
    """The body's instructions grouped by dependency level and kind."""

    columns: list[np.ndarray]
    """Per instruction of the body, the columns of V it acts on."""
    groups: dict[_GroupKey, list[int]]
    """The indices (into the body) of the instructions fused into each step."""
    writer_core: np.ndarray
    """Per bus column, the core of the FIRE that writes it (-1: none does)."""
    graded_bus: np.ndarray
    """Per bus column, whether a graded FIRE writes it (its payloads are not just 0 or 1)."""
    clear_bus: bool
    """See :attr:`Plan.clear_bus`."""


@dataclass
class _Fusion:
    """What the fusing phase needs besides the group, and what it accumulates."""

    program: Program
    tables: dict[int, np.ndarray]
    layout: _Layout
    levels: _Levels
    safe: tuple[np.ndarray, np.ndarray]
    """Per compartment (V, I), per column: the longest run without saturation."""
    log_offsets: dict[int, int]
    refractory_columns: np.ndarray
    """Per column of V: whether some binary FIRE with a refractory period covers it."""
    steps: list[Step]
    acc_steps: list[AccStep | ConvStep]
    fire_steps: list[FireStep]
    record_counts: list[np.ndarray]
    """Per record column, its row of :attr:`Plan.record_counts`."""
    cycle_columns: list[np.ndarray]
    """Per record column, the cycles one unit of it costs each core."""
    segments: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    """Boundaries of the state's segments (see :func:`_segment_bounds`)."""
    scratch_per_lane: int = 0

    def segment_of(self, cols: np.ndarray) -> int:
        """The segment that holds these columns (the segments are cut so that one does)."""
        return int(np.searchsorted(self.segments, cols.min(), side="right")) - 1

    def local(self, cols: np.ndarray) -> Index:
        """These columns as an index into their segment."""
        return _index(cols - self.segments[self.segment_of(cols)])

    def add_record(self, counts: list[int], core_ops: np.ndarray, cycles: np.ndarray) -> int:
        """A new record column; returns its index."""
        self.record_counts.append(np.concatenate([np.array(counts, np.int64), core_ops]))
        self.cycle_columns.append(cycles)
        return len(self.record_counts) - 1


def build_plan(program: Program, tables: dict[int, np.ndarray], chip: TargetDescription) -> Plan:
    """Lay out the touched neurons and bus addresses compactly, level the instructions by
    dependency, and fuse each level's independent instructions of one kind into a step."""
    body: list[_RangeInstruction] = [instr for instr in program.instructions if not isinstance(instr, Halt)]
    layout = _layout(program, body)
    levels = _level(body, layout)
    n_neurons = int(layout.neuron_ids.size)
    init_V = _initial_potentials(program, body, levels.columns, n_neurons)
    growth, start, always, direct = _growth(program, body, layout, levels, tables, init_V)
    safe_v = np.where(always, 0, _headroom(growth[0], start, INT32_MAX))
    safe = (safe_v, _headroom(growth[1], np.zeros_like(start), INT32_MAX))
    log_offsets, log_cores, log_neurons = _log_layout(body)
    fusion = _Fusion(
        program, tables, layout, levels, safe, log_offsets, _refractory_columns(body, levels.columns, n_neurons),
        [], [], [], [], [],
    )  # fmt: skip
    fusion.segments = _segment_bounds(levels, n_neurons)
    _fuse(fusion, body, chip.cores)
    _fold_biases(fusion.steps)
    uses_current = any(_compartment(instr) == Compartment.I or isinstance(instr, AccCurrent) for instr in body)
    float_state = not uses_current and not any(isinstance(instr, LeakDecay) for instr in body)
    const_cycles, core_updates = _core_constants(body, chip.cores)
    cycle_base, cycle_rows = _cycle_patterns(body, fusion.cycle_columns, const_cycles, chip.cores)
    records = len(fusion.record_counts)
    output_columns = _output_columns(program, layout)
    n_bus = int(layout.bus_addrs.size) - program.n_inputs
    return Plan(
        program=program,
        n_neurons=n_neurons,
        n_bus=n_bus,
        steps=fusion.steps,
        acc_steps=fusion.acc_steps,
        fire_steps=fusion.fire_steps,
        records=records,
        record_counts=np.array(fusion.record_counts, np.int64).reshape(records, _COUNTERS + chip.cores),
        clear_bus=levels.clear_bus,
        core_const_cycles=const_cycles,
        cycle_base=cycle_base,
        cycle_rows=cycle_rows,
        core_updates=core_updates,
        init_V=init_V,
        output_columns=output_columns,
        output_index=_index(output_columns) if output_columns.size else output_columns,
        targeted=_targeted(body, levels.columns),
        neuron_ids=layout.neuron_ids,
        bus_addrs=layout.bus_addrs,
        log_cores=log_cores,
        log_neurons=log_neurons,
        uses_current=uses_current,
        uses_refractory=any(isinstance(instr, Fire) and instr.refractory > 0 for instr in body),
        max_delay=max((_delay(instr) for instr in body), default=0),
        ring_width=int(layout.ring_addrs.size),
        ring_push=_ring_push(layout),
        segments=[slice(int(a), int(b)) for a, b in zip(fusion.segments[:-1], fusion.segments[1:])],
        float_capable=float_state,
        f32_start=start.astype(np.float64),
        f32_growth=(growth[0] - direct).astype(np.float64),
        scratch_per_lane=fusion.scratch_per_lane,
        fires=[instr for instr in body if isinstance(instr, Fire)],
        stages=None if levels.clear_bus or layout.ring_addrs.size else _stages(fusion.steps, n_bus),
    )


def _compartment(instr: _RangeInstruction) -> Compartment:
    """The compartment an ACC, bias or LEAK acts on (V for everything else)."""
    return getattr(instr, "compartment", Compartment.V)


def _delay(instr: _RangeInstruction) -> int:
    return instr.delay if isinstance(instr, Acc | AccConv) else 0


def _layout(program: Program, body: list[_RangeInstruction]) -> _Layout:
    """Only touched neurons and addresses get a column: a program on a few cores of a large chip
    then costs what its own neurons cost."""
    npc = program.target.neurons_per_core
    spans = [(i.core, i.base, i.count) for i in body]
    spans += [(o.core, o.base, o.count) for o in program.outputs]
    spans += [(p.core, p.base, p.count) for p in program.probes]
    ranges = [np.arange(core * npc + base, core * npc + base + count) for core, base, count in spans]
    neuron_ids = np.unique(np.concatenate(ranges)) if ranges else np.zeros(0, np.int64)
    reads = [i for i in body if isinstance(i, Acc | AccConv)]
    addresses = [np.arange(program.n_inputs)]
    addresses += [np.arange(i.dst, i.dst + i.count) for i in body if isinstance(i, Fire)]
    addresses += [np.arange(i.src, i.src + i.src_len) for i in reads]
    delayed = [np.arange(i.src, i.src + i.src_len) for i in reads if i.delay]
    ring_addrs = np.unique(np.concatenate(delayed)) if delayed else np.zeros(0, np.int64)
    return _Layout(npc, neuron_ids, np.unique(np.concatenate(addresses)), ring_addrs, program.n_inputs)


def _level(body: list[_RangeInstruction], layout: _Layout) -> _Levels:
    """Dependency levels: an instruction comes after every earlier one sharing a neuron, after the
    FIREs that wrote what it reads (a zero-delay ACC), and (a FIRE) after the zero-delay ACCs that
    read what it writes. The instructions of one level and kind do not depend on each other, so they
    fuse into one step."""
    neuron_level = np.full(layout.neuron_ids.size, -1)
    bus_written = np.full(layout.bus_addrs.size, -1)
    bus_read = np.full(layout.bus_addrs.size, -1)
    writer_core = np.full(layout.bus_addrs.size, -1)
    graded_bus = np.zeros(layout.bus_addrs.size, bool)
    clear_bus = False
    columns: list[np.ndarray] = []
    groups: dict[_GroupKey, list[int]] = {}
    for index, instr in enumerate(body):
        cols = layout.neurons_of(instr.core, instr.base, instr.count)
        columns.append(cols)
        level = int(neuron_level[cols].max())
        if isinstance(instr, Acc | AccConv) and not instr.delay:
            source = layout.bus_of(instr.src, instr.src_len)
            level = max(level, int(bus_written[source].max())) + 1
            bus_read[source] = np.maximum(bus_read[source], level)
        elif isinstance(instr, Fire):
            dst = layout.bus_of(instr.dst, instr.count)
            clear_bus |= bool((bus_read[dst] >= 0).any())
            level = max(level, int(bus_read[dst].max())) + 1
            bus_written[dst] = level
            writer_core[dst] = instr.core
            graded_bus[dst] |= instr.mode == FireMode.GRADED
        else:
            level += 1
        neuron_level[cols] = level
        groups.setdefault((level, *_kind(instr)), []).append(index)
    return _Levels(columns, groups, writer_core, graded_bus, clear_bus)


def _kind(instr: _RangeInstruction) -> tuple[object, ...]:
    """What, besides the level, instructions must share to fuse into one step."""
    if isinstance(instr, Acc):
        return ("acc", instr.src, instr.src_len, instr.delay, instr.compartment)
    if isinstance(instr, AccConv):
        kernel = (instr.table, instr.row - instr.oc_first, instr.col)
        return ("conv", instr.src, instr.geometry, kernel, instr.delay, instr.compartment)
    if isinstance(instr, Fire):
        return ("fire", instr.mode)
    return (type(instr).__name__, _compartment(instr))


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


def _binary_source(program: Program, layout: _Layout, levels: _Levels, instr: Acc | AccConv) -> bool:
    """Whether an ACC reads only payloads of binary FIREs (0 or 1): no input port, no graded FIRE."""
    return instr.src >= program.n_inputs and not bool(levels.graded_bus[layout.bus_of(instr.src, instr.src_len)].any())


def _direct(program: Program, instr: _RangeInstruction) -> bool:
    """Whether it is an ACC whose products are formed once per run: it reads only a direct input."""
    return (
        isinstance(instr, Acc)
        and not program.streamed_input
        and not instr.delay
        and instr.src + instr.src_len <= program.n_inputs
    )


def _growth(
    program: Program,
    body: list[_RangeInstruction],
    layout: _Layout,
    levels: _Levels,
    tables: dict[int, np.ndarray],
    init_V: np.ndarray,
) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Per compartment (V, I), per column, the most its ACCs change it in one timestep (a source of
    binary payloads adds at most ``sum |w|``, any other ``128 * sum |w|``); per column the largest
    ``|V|`` a run starts or a reset restarts from; which columns receive a current (always
    clipped); and the part of V's growth that direct-input ACCs contribute (a run measures those
    products instead). The module docstring says why ``|X| <= start + t * growth`` holds."""
    n = init_V.size
    growth = (np.zeros(n, np.int64), np.zeros(n, np.int64))
    direct = np.zeros(n, np.int64)
    start = np.abs(init_V)
    always = np.zeros(n, bool)
    for instr, cols in zip(body, levels.columns):
        x = growth[int(_compartment(instr))]
        if isinstance(instr, Acc | AccConv):
            payload = 1 if _binary_source(program, layout, levels, instr) else MAX_ABS_PAYLOAD
        if isinstance(instr, Acc):
            block = tables[instr.table][instr.row : instr.row + instr.count, instr.col : instr.col + instr.src_len]
            bound = np.abs(block.astype(np.int64)).sum(axis=1) * payload
            x[cols] += bound
            if _direct(program, instr) and instr.compartment == Compartment.V:
                direct[cols] += bound
        elif isinstance(instr, AccConv):
            x[cols] += neuron_bounds(instr, tables[instr.table], payload)
        elif isinstance(instr, AccBias):
            x[cols] += np.abs(program.param_tables[instr.table][instr.row : instr.row + instr.count].astype(np.int64))
        elif isinstance(instr, AccCurrent):
            always[cols] = True
        elif isinstance(instr, Fire) and instr.reset == ResetMode.VALUE:
            reset = program.param_tables[instr.reset_table][instr.reset_row : instr.reset_row + instr.count]
            start[cols] = np.maximum(start[cols], np.abs(reset.astype(np.int64)))
    return growth, start, always, direct


def _headroom(growth: np.ndarray, start: np.ndarray, limit: int) -> np.ndarray:
    """``|X| <= start + t * growth`` stays within ``limit`` for t up to this (negative: not even at t = 0)."""
    return np.where(growth > 0, (limit - start) // np.maximum(growth, 1), np.where(start <= limit, _NEVER, -1))


def _refractory_columns(body: list[_RangeInstruction], columns: list[np.ndarray], n_neurons: int) -> np.ndarray:
    """Per column of V: whether some binary FIRE with a refractory period covers it (R lives there)."""
    covered = np.zeros(n_neurons, bool)
    for instr, cols in zip(body, columns):
        if isinstance(instr, Fire) and instr.refractory > 0:
            covered[cols] = True
    return covered


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


def _fuse(fusion: _Fusion, body: list[_RangeInstruction], cores: int) -> None:
    """One step per group, in level order (and by first member within a level), its members in
    column order; the ACC and FIRE steps are also kept apart (the accounting and spike counts read
    them), and every ACC step gets its record columns."""
    groups, columns = fusion.levels.groups, fusion.levels.columns
    builders: dict[object, Callable[[_Fusion, list, np.ndarray, int], Step]] = {
        "acc": _acc_step,
        "conv": _conv_step,
        "fire": _fire_step,
        "AccBias": _bias_step,
        "AccCurrent": _current_step,
        "Leak": _leak_step,
        "LeakDecay": _decay_step,
    }
    for key in sorted(groups, key=lambda k: (k[0], groups[k][0])):
        members = sorted(groups[key], key=lambda i: int(columns[i][0]))
        cols = np.concatenate([columns[i] for i in members])
        instrs = [body[i] for i in members]
        if key[1] == "fire":
            instrs = [(fusion.log_offsets[i], body[i]) for i in members]
        step = builders[key[1]](fusion, instrs, cols, cores)
        step.segment = fusion.segment_of(cols)
        fusion.steps.append(step)


def _segment_bounds(levels: _Levels, n_neurons: int) -> np.ndarray:
    """Where the state's columns are cut into segments, each a separate (lanes, width) array: at
    the first and last column of every step, except inside another step's span, so that every step
    lies within one segment. A step covering its whole segment then works on a contiguous array,
    which numpy handles several times faster than a column range of a wider one."""
    cuts = np.zeros(n_neurons + 1, bool)
    inside = np.zeros(n_neurons + 1, bool)
    cuts[[0, n_neurons]] = True
    for members in levels.groups.values():
        cols = np.concatenate([levels.columns[i] for i in members])
        lo, hi = int(cols.min()), int(cols.max()) + 1
        cuts[[lo, hi]] = True
        inside[lo + 1 : hi] = True
    bounds = np.flatnonzero(cuts & ~inside)
    return bounds if bounds.size > 1 else np.array([0, n_neurons])


def _stages(steps: list[Step], n_bus: int) -> list[Stage] | None:
    """The steps of each segment as one stage, the stages ordered so that each reads only bus
    addresses that earlier stages, itself, or no FIRE write (Kahn's order, ties in plan order);
    None when a cycle makes that impossible or two FIREs write one address."""
    writer = np.full(n_bus, -1)
    columns = np.arange(n_bus)
    for step in steps:
        if isinstance(step, FireStep):
            dst = columns[step.dst]
            if bool((writer[dst] >= 0).any()):
                return None
            writer[dst] = step.segment
    segments = list(dict.fromkeys(step.segment for step in steps))
    needs: dict[int, set[int]] = {segment: set() for segment in segments}
    for step in steps:
        if isinstance(step, AccStep | ConvStep) and step.source.bus_cols is not None:
            needs[step.segment].update(int(w) for w in np.unique(writer[step.source.bus_cols]) if w >= 0)
    order: list[int] = []
    while len(order) < len(segments):
        ready = [s for s in segments if s not in order and needs[s] <= {*order, s}]
        if not ready:
            return None
        order.append(ready[0])
    stages = []
    for segment in order:
        members = [step for step in steps if step.segment == segment]
        formed = [
            step
            for step in members
            if isinstance(step, AccStep)
            and step.source.input_cols is None
            and step.source.bus_cols is not None
            and not bool((writer[step.source.bus_cols] == segment).any())
        ]
        linear = all(
            isinstance(step, BiasStep)
            or (isinstance(step, AccStep) and (step.direct or any(step is f for f in formed)))
            for step in members
        )
        stages.append(Stage(members, formed, linear))
    return stages


def _fold_biases(steps: list[Step]) -> None:
    """Give each input-only ACC step the bias step that directly follows it on the same neurons and
    compartment: runs in which neither saturates add the bias into its once-formed products."""
    for acc, bias in zip(steps, steps[1:]):
        if (
            isinstance(acc, AccStep)
            and isinstance(bias, BiasStep)
            and acc.precomputed
            and acc.compartment == bias.compartment
            and acc.segment == bias.segment
            and _same_index(acc.neurons, bias.neurons)
        ):
            acc.bias = bias


def _same_index(a: Index, b: Index) -> bool:
    if isinstance(a, slice) and isinstance(b, slice):
        return a == b
    return not isinstance(a, slice) and not isinstance(b, slice) and bool(np.array_equal(a, b))


def _safe(fusion: _Fusion, compartment: Compartment, cols: np.ndarray) -> int:
    return int(fusion.safe[int(compartment)][cols].min())


def _acc_step(fusion: _Fusion, accs: list[Acc], cols: np.ndarray, n_cores: int) -> AccStep:
    """Fused ACCs of one source range: their weight blocks stacked into one matrix, in the
    narrowest float type that forms every dot product exactly."""
    first = accs[0]
    layout = fusion.layout
    block = np.concatenate(
        [fusion.tables[i.table][i.row : i.row + i.count, i.col : i.col + i.src_len] for i in accs]
    ).astype(np.int64)
    bound = int(np.abs(block).sum(axis=1).max()) * MAX_ABS_PAYLOAD
    # The bound is at most len * 2^14, so float64 (exact below 2^53) always suffices: no block of
    # 2^39 weights fits in memory, let alone in synaptic memory.
    dtype = np.float32 if bound < _F32_EXACT else np.float64
    cores, inverse = np.unique([i.core for i in accs], return_inverse=True)
    core_rows = np.zeros(cores.size, np.int64)
    np.add.at(core_rows, inverse, [i.count for i in accs])
    source_cols = layout.bus_of(first.src, first.src_len)
    writers = fusion.levels.writer_core[source_cols]
    intra = np.zeros(writers.size, np.float64)
    for instr in accs:
        intra += writers == instr.core
    per_core = np.zeros(n_cores, np.int64)
    per_core[cores] = core_rows
    key = fusion.add_record([int(block.shape[0]), len(accs), 0], per_core, per_core)
    intra_key = -1
    if intra.any():
        intra_key = fusion.add_record([0, 0, 1], np.zeros(n_cores, np.int64), np.zeros(n_cores, np.int64))
    source = layout.source(first.src, first.src_len, first.delay)
    # A source of binary payloads only: its events and intra-core deliveries come out of the product.
    counted = _binary_source(fusion.program, layout, fusion.levels, first)
    weights = block.T
    if counted:
        extra = [np.ones(first.src_len, np.int64)] + ([intra.astype(np.int64)] if intra.any() else [])
        weights = np.concatenate([weights, np.stack(extra, axis=1)], axis=1)
    step = AccStep(
        key=key,
        intra_key=intra_key,
        source=source,
        neurons=fusion.local(cols),
        weights=np.ascontiguousarray(weights, dtype=dtype),
        counted=counted,
        cores=cores.astype(np.int64),
        core_rows=core_rows,
        rows=int(block.shape[0]),
        members=len(accs),
        intra_weight=intra if intra.any() else None,
        safe_timesteps=_safe(fusion, first.compartment, cols),
        compartment=int(first.compartment),
        streamed=fusion.program.streamed_input,
    )
    fusion.acc_steps.append(step)
    return step


def _conv_step(fusion: _Fusion, convs: list[AccConv], cols: np.ndarray, n_cores: int) -> ConvStep:
    """Fused conv ACCs of one source and kernel: one im2col product, and per source address the
    fan-outs the accounting multiplies events by (per core: synaptic ops; deliveries; intra-core
    deliveries)."""
    first = convs[0]
    layout = fusion.layout
    kernel = conv_kernel(convs, fusion.tables[first.table])
    taps = group_taps(first.geometry)
    writers = fusion.levels.writer_core[layout.bus_of(first.src, first.src_len)]
    cores = sorted({c.core for c in convs})
    fan = np.zeros((first.src_len, len(cores) + 2), np.float64)
    for conv in convs:
        f = fan_out(conv, taps)
        fan[:, cores.index(conv.core)] += f
        fan[:, -2] += f > 0
        fan[:, -1] += (f > 0) & (writers == conv.core)
    key = -1
    for core in cores:
        one = np.zeros(n_cores, np.int64)
        one[core] = 1
        column = fusion.add_record([1, 0, 0], one, one)
        key = column if key < 0 else key
    fusion.add_record([0, 1, 0], np.zeros(n_cores, np.int64), np.zeros(n_cores, np.int64))
    fusion.add_record([0, 0, 1], np.zeros(n_cores, np.int64), np.zeros(n_cores, np.int64))
    itemsize = kernel.weights.itemsize
    groups, cog, taps_n = kernel.weights.shape
    positions = first.geometry.out_positions
    fusion.scratch_per_lane = max(fusion.scratch_per_lane, itemsize * groups * positions * (taps_n + cog))
    step = ConvStep(
        key=key,
        source=layout.source(first.src, first.src_len, first.delay),
        neurons=fusion.local(cols),
        kernel=kernel,
        # Float32 forms every record exactly while a lane's largest total stays below 2^24.
        fan=fan.astype(np.float32) if fan.sum(axis=0).max(initial=0) < _F32_EXACT else fan,
        safe_timesteps=_safe(fusion, first.compartment, cols),
        compartment=int(first.compartment),
        streamed=fusion.program.streamed_input,
    )
    fusion.acc_steps.append(step)
    return step


def _fire_step(fusion: _Fusion, members: list[tuple[int, Fire]], cols: np.ndarray, n_cores: int) -> FireStep:
    """Fused FIREs; their destinations are columns of the bus outside the input port."""
    del n_cores
    program = fusion.program
    fires = [f for _, f in members]

    def per_neuron(values: list[int]) -> np.ndarray:
        return np.concatenate([np.full(f.count, v, np.int64) for f, v in zip(fires, values)])

    def param(table: int, row: int, count: int) -> np.ndarray:
        return program.param_tables[table][row : row + count].astype(np.int64)

    shift = per_neuron([f.shift for f in fires])
    core_of_column = per_neuron([f.core for f in fires])
    starts = np.flatnonzero(np.r_[True, core_of_column[1:] != core_of_column[:-1]])
    reset_value = None
    if any(f.reset == ResetMode.VALUE for f in fires):
        reset_value = _uniform(
            np.concatenate(
                [
                    param(f.reset_table, f.reset_row, f.count)
                    if f.reset == ResetMode.VALUE
                    else np.zeros(f.count, np.int64)
                    for f in fires
                ]
            )
        )
    binary = fires[0].mode == FireMode.BINARY
    params = np.concatenate([param(f.table, f.row, f.count) for f in fires])
    step = FireStep(
        neurons=fusion.local(cols),
        dst=_index(np.concatenate([fusion.layout.bus_of(f.dst, f.count) for f in fires]) - program.n_inputs),
        binary=binary,
        slot=len(fusion.fire_steps),
        param=params,
        threshold_f32=params.astype(np.float32),
        rounding=_uniform(np.where(shift > 0, np.left_shift(1, np.maximum(shift - 1, 0)), 0)),
        shift=_uniform(shift),
        lo=_uniform(per_neuron([f.lo for f in fires])),
        hi=_uniform(per_neuron([f.hi for f in fires])),
        subtract=_uniform_flag(per_neuron([int(f.reset == ResetMode.SUBTRACT) for f in fires]).astype(bool)),
        segment_starts=starts,
        segment_cores=core_of_column[starts],
        one_per_core=bool(starts.size == cols.size),
        log_positions=_index(np.concatenate([np.arange(o, o + f.count) for o, f in members])),
        reset_value=reset_value,
        refractory=per_neuron([f.refractory for f in fires])
        if binary and bool(fusion.refractory_columns[cols].any())
        else None,
    )
    fusion.fire_steps.append(step)
    return step


def _bias_step(fusion: _Fusion, instrs: list[AccBias], cols: np.ndarray, n_cores: int) -> BiasStep:
    """Fused bias ACCs: their parameter rows concatenated, one per neuron."""
    del n_cores
    bias = np.concatenate([fusion.program.param_tables[i.table][i.row : i.row + i.count] for i in instrs])
    compartment = instrs[0].compartment
    bias = bias.astype(np.int64)
    return BiasStep(
        fusion.local(cols), bias, bias.astype(np.float32), _safe(fusion, compartment, cols), int(compartment)
    )


def _current_step(fusion: _Fusion, instrs: list[AccCurrent], cols: np.ndarray, n_cores: int) -> CurrentStep:
    del instrs, n_cores
    return CurrentStep(fusion.local(cols))


def _leak_step(fusion: _Fusion, instrs: list[Leak], cols: np.ndarray, n_cores: int) -> LeakStep:
    """Fused LEAKs: their shifts, one per neuron."""
    del n_cores
    shifts = np.concatenate([np.full(i.count, i.shift) for i in instrs]).astype(np.int64)
    return LeakStep(
        fusion.local(cols), shifts, np.ldexp(np.float32(1), -shifts).astype(np.float32), int(instrs[0].compartment)
    )


def _decay_step(fusion: _Fusion, instrs: list[LeakDecay], cols: np.ndarray, n_cores: int) -> DecayStep:
    """Fused decay LEAKs: their decay multipliers, one per neuron."""
    del n_cores
    dv = np.concatenate([fusion.program.param_tables[i.table][i.row : i.row + i.count] for i in instrs])
    return DecayStep(fusion.local(cols), _uniform(dv.astype(np.int64)), int(instrs[0].compartment))


def _core_constants(body: list[_RangeInstruction], cores: int) -> tuple[np.ndarray, np.ndarray]:
    """Per core per timestep, what does not depend on events: its cycles (one per neuron of every
    instruction but a synaptic or conv ACC) and its neuron updates (the neurons of its FIREs and
    LEAKs)."""
    const_cycles = np.zeros(cores, np.int64)
    core_updates = np.zeros(cores, np.int64)
    for instr in body:
        if not isinstance(instr, Acc | AccConv):
            const_cycles[instr.core] += instr.count
        if isinstance(instr, Fire | Leak | LeakDecay):
            core_updates[instr.core] += instr.count
    return const_cycles, core_updates


def _cycle_patterns(
    body: list[_RangeInstruction], cycle_columns: list[np.ndarray], const_cycles: np.ndarray, cores: int
) -> tuple[np.ndarray, np.ndarray]:
    """:attr:`Plan.cycle_base` and :attr:`Plan.cycle_rows`: each active core's constant cycles and
    cycles per unit of each record column, with cores that share both merged (many cores run
    identical slices), so finding the busiest core costs one product per distinct pattern."""
    active_cores = np.unique([instr.core for instr in body]).astype(np.int64)
    per_core = np.array(cycle_columns, np.int64).reshape(len(cycle_columns), cores)
    patterns = np.concatenate([const_cycles[active_cores, None], per_core[:, active_cores].T], axis=1)
    patterns = np.unique(patterns, axis=0)
    return patterns[:, 0].astype(np.float64), np.ascontiguousarray(patterns[:, 1:].T, dtype=np.float64)


def _ring_push(layout: _Layout) -> RingPush | None:
    """How the end of a timestep copies the delayed ACCs' addresses into the ring."""
    if not layout.ring_addrs.size:
        return None
    addrs = layout.ring_addrs
    split = int(np.searchsorted(addrs, layout.n_inputs))
    bus = np.searchsorted(layout.bus_addrs, addrs[split:]) - layout.n_inputs
    return RingPush(
        input_cols=_index(addrs[:split]) if split else None,
        bus_cols=_index(bus) if bus.size else None,
        split=split,
    )


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
