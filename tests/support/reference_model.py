"""An independent integer reference of the SpikeCore machine, written from docs/isa.md alone.

It shares no execution code with ``spikeir.chip.hardware_model``: the point is two implementations of
the same document, so that a misreading in one shows up as a disagreement. It is written to be
obviously correct rather than fast: plain Python integers, one loop per timestep, per instruction
and per neuron, every rule a line or two that can be read side by side with docs/isa.md section 3.
Only the data model (``spikeir.chip.isa``) and the target description are imported.

Readings of docs/isa.md that the text does not spell out (the most literal one is taken):

- LEAK never emits an event, so every neuron update of a LEAK is *inactive*.
- A bias ACC has no source range, so it makes no synaptic operations and no deliveries (it costs
  one cycle per neuron).
- "All counts are exact and per lane; a batch reports their sums" is applied to cycles too: each
  lane's cycles are computed as if it ran alone, and a batch reports the sum over lanes.
- ``init=half`` is applied for each binary FIRE with ``init=half`` in program order, so when two
  such FIREs cover one neuron the later one's ``theta >> 1`` stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spikeir.chip.isa import Acc, AccBias, Fire, FireMode, Halt, Leak, Program, ResetMode

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def sat32(value: int) -> int:
    """``sat32(x) = min(max(x, -2^31), 2^31 - 1)`` of docs/isa.md section 2."""
    return min(max(value, INT32_MIN), INT32_MAX)


def graded_payload(v: int, multiplier: int, shift: int, lo: int, hi: int) -> int:
    """The payload of one neuron of a graded FIRE: round-half-up requantization, then the clamp."""
    if shift > 0:
        p = (v * multiplier + (1 << (shift - 1))) >> shift
    else:
        p = v * multiplier
    return min(max(p, lo), hi)


def leak(v: int, shift: int) -> int:
    """``V := V - (V >> k)`` with Python's ``>>``, which floors like an arithmetic shift."""
    return v - (v >> shift)


@dataclass
class ReferenceStats:
    """Every count of docs/isa.md "Events and accounting", for one lane or summed over a batch.

    The ``core_*`` lists are indexed by core: synaptic operations, deliveries and bias cycles
    belong to the core of the ACC that performs them; spikes and neuron updates to the core of the
    FIRE or LEAK; ``core_cycles`` is a core's own cycles summed over timesteps (no barrier cycle).
    """

    cores: int
    synaptic_ops: int = 0
    spikes: int = 0
    neuron_updates: int = 0
    active_updates: int = 0
    inactive_updates: int = 0
    intra_core_deliveries: int = 0
    inter_core_deliveries: int = 0
    cycles: int = 0
    energy_pj: float = 0.0
    core_synaptic_ops: list[int] = field(default_factory=list)
    core_spikes: list[int] = field(default_factory=list)
    core_neuron_updates: list[int] = field(default_factory=list)
    core_active_updates: list[int] = field(default_factory=list)
    core_intra_core_deliveries: list[int] = field(default_factory=list)
    core_inter_core_deliveries: list[int] = field(default_factory=list)
    core_cycles: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in self._per_core_names():
            if not getattr(self, name):
                setattr(self, name, [0] * self.cores)

    @staticmethod
    def _per_core_names() -> tuple[str, ...]:
        return (
            "core_synaptic_ops",
            "core_spikes",
            "core_neuron_updates",
            "core_active_updates",
            "core_intra_core_deliveries",
            "core_inter_core_deliveries",
            "core_cycles",
        )

    def add(self, other: ReferenceStats) -> None:
        """Add another lane's counts to these (a batch reports sums)."""
        for name in (
            "synaptic_ops",
            "spikes",
            "neuron_updates",
            "active_updates",
            "inactive_updates",
            "intra_core_deliveries",
            "inter_core_deliveries",
            "cycles",
            "energy_pj",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in self._per_core_names():
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(self, name, [a + b for a, b in zip(mine, theirs, strict=True)])


@dataclass(frozen=True)
class SpikeEvent:
    """One entry of the spike log: a FIRE event of the logged lane."""

    timestep: int
    core: int
    neuron: int
    payload: int


@dataclass
class ReferenceResult:
    """Everything a run produces. Arrays carry a leading lane axis even for a single input vector."""

    outputs: np.ndarray
    """(B, sum of output counts) int64: V of the declared outputs, concatenated in declaration order."""
    membranes: np.ndarray
    """(B, cores, neurons_per_core) int64: V of every neuron after the run."""
    spike_counts: np.ndarray
    """(B, cores) int64: FIRE events (nonzero payloads) per core over the run."""
    spike_log: list[SpikeEvent]
    """The FIRE events of lane ``log_lane``, in execution order."""
    stats: ReferenceStats
    """Counts summed over the lanes."""
    lane_stats: list[ReferenceStats]
    """Counts of each lane on its own."""


def run_reference(program: Program, x: np.ndarray, timesteps: int, log_lane: int = 0) -> ReferenceResult:
    """Run ``program`` for ``timesteps`` steps on the int8 input ``x`` of shape (n_inputs,) or (B, n_inputs)."""
    program.validate()
    lanes = np.asarray(x)
    if lanes.ndim == 1:
        lanes = lanes[None, :]
    if lanes.ndim != 2 or lanes.shape[1] != program.n_inputs:
        raise ValueError(
            f"input must have shape (n_inputs,) or (B, n_inputs) with n_inputs={program.n_inputs}, got {np.asarray(x).shape}"
        )
    if lanes.size and (lanes.min() < -128 or lanes.max() > 127):
        raise ValueError("input values must be int8")
    if timesteps < 1:
        raise ValueError(f"timesteps must be at least 1, got {timesteps}")
    target = program.target
    total = ReferenceStats(target.cores)
    lane_stats: list[ReferenceStats] = []
    outputs: list[list[int]] = []
    membranes: list[list[list[int]]] = []
    counts: list[list[int]] = []
    log: list[SpikeEvent] = []
    for lane_index in range(lanes.shape[0]):
        lane_log: list[SpikeEvent] = []
        v, stats = _run_lane(program, [int(value) for value in lanes[lane_index]], timesteps, lane_log)
        if lane_index == log_lane:
            log = lane_log
        lane_stats.append(stats)
        total.add(stats)
        outputs.append([v[out.core][out.base + n] for out in program.outputs for n in range(out.count)])
        membranes.append(v)
        counts.append(list(stats.core_spikes))
    return ReferenceResult(
        outputs=np.array(outputs, dtype=np.int64),
        membranes=np.array(membranes, dtype=np.int64),
        spike_counts=np.array(counts, dtype=np.int64),
        spike_log=log,
        stats=total,
        lane_stats=lane_stats,
    )


def _run_lane(
    program: Program, x: list[int], timesteps: int, log: list[SpikeEvent]
) -> tuple[list[list[int]], ReferenceStats]:
    """One lane: the loop of docs/isa.md section 3, accounting as it goes."""
    target = program.target
    stats = ReferenceStats(target.cores)
    params = {tid: [int(value) for value in table] for tid, table in program.param_tables.items()}

    # At the start of a run: V := 0 everywhere; then V[range] := theta >> 1 for each binary FIRE with init=half.
    v = [[0] * target.neurons_per_core for _ in range(target.cores)]
    for instr in program.instructions:
        if isinstance(instr, Fire) and instr.mode == FireMode.BINARY and instr.init_half:
            for n in range(instr.count):
                v[instr.core][instr.base + n] = params[instr.table][instr.row + n] >> 1

    for t in range(timesteps):
        # bus := 0; bus[0:n_inputs] := x. writer[a] is the core of the FIRE that wrote a this timestep.
        bus = [0] * target.bus_size
        writer: list[int | None] = [None] * target.bus_size
        for i, value in enumerate(x):
            bus[i] = value
        step_cycles = [0] * target.cores
        for instr in program.instructions:
            if isinstance(instr, Halt):
                break
            core = instr.core
            if isinstance(instr, Acc):
                weights = program.synapse_tables[instr.table]
                events = [a for a in range(instr.src, instr.src + instr.src_len) if bus[a] != 0]
                for a in events:
                    if writer[a] == core:
                        stats.intra_core_deliveries += 1
                        stats.core_intra_core_deliveries[core] += 1
                    else:
                        stats.inter_core_deliveries += 1
                        stats.core_inter_core_deliveries[core] += 1
                ops = len(events) * instr.count
                stats.synaptic_ops += ops
                stats.core_synaptic_ops[core] += ops
                step_cycles[core] += ops
                for n in range(instr.count):
                    dot = sum(
                        int(weights[instr.row + n, instr.col + i]) * bus[instr.src + i] for i in range(instr.src_len)
                    )
                    v[core][instr.base + n] = sat32(v[core][instr.base + n] + dot)
            elif isinstance(instr, AccBias):
                for n in range(instr.count):
                    v[core][instr.base + n] = sat32(v[core][instr.base + n] + params[instr.table][instr.row + n])
                step_cycles[core] += instr.count
            elif isinstance(instr, Fire):
                for n in range(instr.count):
                    neuron = instr.base + n
                    param = params[instr.table][instr.row + n]
                    if instr.mode == FireMode.GRADED:
                        payload = graded_payload(v[core][neuron], param, instr.shift, instr.lo, instr.hi)
                        v[core][neuron] = 0
                    else:
                        spike = v[core][neuron] >= param
                        payload = 1 if spike else 0
                        if spike:
                            if instr.reset == ResetMode.SUBTRACT:
                                v[core][neuron] = v[core][neuron] - param
                            else:
                                v[core][neuron] = 0
                    bus[instr.dst + n] = payload
                    writer[instr.dst + n] = core
                    stats.neuron_updates += 1
                    stats.core_neuron_updates[core] += 1
                    if payload != 0:
                        stats.spikes += 1
                        stats.core_spikes[core] += 1
                        stats.active_updates += 1
                        stats.core_active_updates[core] += 1
                        log.append(SpikeEvent(t, core, neuron, payload))
                    else:
                        stats.inactive_updates += 1
                step_cycles[core] += instr.count
            elif isinstance(instr, Leak):
                for n in range(instr.count):
                    v[core][instr.base + n] = leak(v[core][instr.base + n], instr.shift)
                stats.neuron_updates += instr.count
                stats.core_neuron_updates[core] += instr.count
                stats.inactive_updates += instr.count
                step_cycles[core] += instr.count
        stats.cycles += max(step_cycles) + 1
        for core in range(target.cores):
            stats.core_cycles[core] += step_cycles[core]

    energy = target.energy
    stats.energy_pj = (
        energy.synaptic_op_pj * stats.synaptic_ops
        + energy.neuron_update_active_pj * stats.active_updates
        + energy.neuron_update_inactive_pj * stats.inactive_updates
        + energy.spike_intra_core_pj * stats.intra_core_deliveries
        + energy.spike_inter_core_pj * stats.inter_core_deliveries
    )
    return v, stats
