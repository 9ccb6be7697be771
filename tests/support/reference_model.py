"""An independent integer reference of the SpikeCore machine, written from docs/isa.md alone.

It shares no execution code with ``spikeir.chip.hardware_model``: the point is two implementations of
the same document, so that a misreading in one shows up as a disagreement. It is written to be
obviously correct rather than fast: plain Python integers, one loop per timestep, per instruction
and per neuron (and, for a conv ACC, per tap), every rule a line or two that can be read side by
side with docs/isa.md sections 2 and 3. Only the data model (``spikeir.chip.isa``) and the target
description are imported.

ISA v2 (docs/isa.md §0) is covered: streamed input, ACC delays (``bus_{t-d}`` kept as a list of
past buses), the current ``I`` (``.i`` ACCs and LEAKs, ``ACC ..., i``), the decay LEAK, FIRE resets
to a value and refractory periods, conv ACCs (direct nested loops over neurons and taps, no
unrolled matrix), probes and state continuation (``run_reference(..., state=result.states)``).

Readings of docs/isa.md that the text does not spell out (the most literal one is taken):

- LEAK never emits an event, so every neuron update of a LEAK is *inactive*.
- A bias ACC has no source range, so it makes no synaptic operations and no deliveries (it costs
  one cycle per neuron); the same holds for a current ACC.
- "All counts are exact and per lane; a batch reports their sums" is applied to cycles too: each
  lane's cycles are computed as if it ran alone, and a batch reports the sum over lanes.
- ``init=half`` is applied for each binary FIRE with ``init=half`` in program order, so when two
  such FIREs cover one neuron the later one's ``theta >> 1`` stands.
- A binary FIRE without ``refractory`` does not look at ``R``, and when it spikes it sets
  ``R := 0`` (the pseudo-code's ``R := k`` with ``k = 0``).
- The intra/inter-core split of a delivery is decided by the FIRE that wrote the event in the
  timestep it was written (for a delayed ACC, timestep t-d); input events are inter-core.
- The batch's ``energy_pj`` is the formula evaluated once on the summed counts (§3 "Statistics");
  each lane's own ``energy_pj`` is the formula on that lane's counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spikeir.chip.isa import (
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
    ProbeSpec,
    Program,
    ResetMode,
)
from spikeir.chip.target import TargetDescription

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
    """``X := X - (X >> k)`` with Python's ``>>``, which floors like an arithmetic shift."""
    return v - (v >> shift)


def decay(x: int, dv: int) -> int:
    """``X := X - ((X * dv) >> 12)``, the product exact, the shift flooring (docs/isa.md LEAK decay)."""
    return x - ((x * dv) >> 12)


def energy_of(target: TargetDescription, ops: int, active: int, inactive: int, intra: int, inter: int) -> float:
    """The energy formula of §3, in the order the document writes it (left to right, float64)."""
    e = target.energy
    return (
        e.synaptic_op_pj * ops
        + e.neuron_update_active_pj * active
        + e.neuron_update_inactive_pj * inactive
        + e.spike_intra_core_pj * intra
        + e.spike_inter_core_pj * inter
    )


@dataclass
class ReferenceStats:
    """Every count of docs/isa.md "Events and accounting", for one lane or summed over a batch.

    The ``core_*`` lists are indexed by core: synaptic operations, deliveries and bias cycles
    belong to the core of the ACC that performs them; spikes and neuron updates to the core of the
    FIRE or LEAK; ``core_cycles`` is a core's own cycles summed over timesteps (no barrier cycle).
    """

    cores: int
    input_events: int = 0
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
        """Add another lane's counts to these (a batch reports sums; energy is recomputed on them
        by :func:`run_reference`)."""
        for name in (
            "input_events",
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

    def deliver(self, core: int, writer: int | None) -> None:
        """One spike delivery to ``core`` of an event written by a FIRE on ``writer`` (None: input)."""
        if writer == core:
            self.intra_core_deliveries += 1
            self.core_intra_core_deliveries[core] += 1
        else:
            self.inter_core_deliveries += 1
            self.core_inter_core_deliveries[core] += 1


@dataclass(frozen=True)
class SpikeEvent:
    """One entry of the spike log: a FIRE event of the logged lane."""

    timestep: int
    core: int
    neuron: int
    payload: int


@dataclass
class LaneState:
    """Everything a lane carries from one timestep to the next (docs/isa.md §3 "State continuation")."""

    v: list[list[int]]
    """V[core][neuron]."""
    i: list[list[int]]
    """I[core][neuron]."""
    r: list[list[int]]
    """R[core][neuron], the refractory counters."""
    history: list[tuple[list[int], list[int | None]]]
    """The last (at most D) buses, oldest first: each the payload per address at the end of its
    timestep and the core of the FIRE that wrote it (None: the input port or nobody)."""


@dataclass
class ReferenceResult:
    """Everything a run produces. Arrays carry a leading lane axis even for a single input."""

    outputs: np.ndarray
    """(B, sum of output counts) int64: V of the declared outputs, concatenated in declaration order."""
    membranes: np.ndarray
    """(B, cores, neurons_per_core) int64: V of every neuron after the run."""
    currents: np.ndarray
    """(B, cores, neurons_per_core) int64: I of every neuron after the run."""
    refractory: np.ndarray
    """(B, cores, neurons_per_core) int64: R of every neuron after the run."""
    spike_counts: np.ndarray
    """(B, cores) int64: FIRE events (nonzero payloads) per core over the run."""
    spike_log: list[SpikeEvent]
    """The FIRE events of lane ``log_lane``, in execution order."""
    stats: ReferenceStats
    """Counts summed over the lanes (energy evaluated once on the sums)."""
    lane_stats: list[ReferenceStats]
    """Counts of each lane on its own."""
    probes: list[dict[str, np.ndarray]]
    """Per probe, kind -> (B, T, count) records (int8 spikes, int64 values of V and I)."""
    states: list[LaneState]
    """Every lane's final state: pass it as ``state=`` to continue the run."""


def _lanes_of(program: Program, x: np.ndarray, timesteps: int | None) -> tuple[list[list[list[int]]], int]:
    """Per lane, the input port's vector for every timestep (``X[t]``), and T."""
    data = np.asarray(x)
    n = program.n_inputs
    if program.streamed_input:
        if data.ndim == 2:
            data = data[None]
        if data.ndim != 3 or data.shape[2] != n or data.shape[0] < 1 or data.shape[1] < 1:
            raise ValueError(f"streamed input must have shape (T, {n}) or (B, T, {n}), got {np.asarray(x).shape}")
        if timesteps is not None and timesteps != data.shape[1]:
            raise ValueError(f"timesteps {timesteps} differ from the stream's length {data.shape[1]}")
        streams = [[[int(value) for value in row] for row in lane] for lane in data]
        total = int(data.shape[1])
    else:
        if data.ndim == 1:
            data = data[None, :]
        if data.ndim != 2 or data.shape[1] != n or data.shape[0] < 1:
            raise ValueError(f"input must have shape ({n},) or (B, {n}), got {np.asarray(x).shape}")
        total = 1 if timesteps is None else timesteps
        streams = [[[int(value) for value in lane]] * total for lane in data]
    if data.size and (data.min() < -128 or data.max() > 127):
        raise ValueError("input values must be int8")
    if total < 1:
        raise ValueError(f"timesteps must be at least 1, got {total}")
    return streams, total


def run_reference(
    program: Program,
    x: np.ndarray,
    timesteps: int | None = None,
    log_lane: int = 0,
    *,
    state: list[LaneState] | None = None,
    probes: list[ProbeSpec] | None = None,
) -> ReferenceResult:
    """Run ``program`` on the int8 input ``x``: direct input of shape (n_inputs,) or (B, n_inputs)
    for ``timesteps`` steps (1 when omitted), or for a streamed program a stream of shape
    (T, n_inputs) or (B, T, n_inputs). ``state`` (a previous result's ``states``) continues that
    run instead of starting afresh; ``probes`` replaces the program's probes."""
    program.validate()
    streams, total = _lanes_of(program, x, timesteps)
    if state is not None and len(state) != len(streams):
        raise ValueError(f"cannot continue {len(state)} lanes with {len(streams)}")
    probe_specs = program.probes if probes is None else probes
    target = program.target
    lanes: list[_Lane] = []
    for index, stream in enumerate(streams):
        lane = _Lane(program, state[index] if state is not None else None)
        lane.run(stream, probe_specs, index == log_lane)
        lanes.append(lane)
    total_stats = ReferenceStats(target.cores)
    for lane in lanes:
        total_stats.add(lane.stats)
    total_stats.energy_pj = energy_of(
        target,
        total_stats.synaptic_ops,
        total_stats.active_updates,
        total_stats.inactive_updates,
        total_stats.intra_core_deliveries,
        total_stats.inter_core_deliveries,
    )
    records = [
        {
            kind: np.array([lane.records[k][kind] for lane in lanes], dtype=np.int8 if kind == "spikes" else np.int64)
            for kind in spec.kinds
        }
        for k, spec in enumerate(probe_specs)
    ]
    for k, spec in enumerate(probe_specs):
        for kind in spec.kinds:
            records[k][kind] = records[k][kind].reshape(len(lanes), total, spec.count)
    log = next((lane.log for index, lane in enumerate(lanes) if index == log_lane), [])
    return ReferenceResult(
        outputs=np.array(
            [[lane.state.v[o.core][o.base + n] for o in program.outputs for n in range(o.count)] for lane in lanes],
            dtype=np.int64,
        ).reshape(len(lanes), -1),
        membranes=np.array([lane.state.v for lane in lanes], dtype=np.int64),
        currents=np.array([lane.state.i for lane in lanes], dtype=np.int64),
        refractory=np.array([lane.state.r for lane in lanes], dtype=np.int64),
        spike_counts=np.array([lane.stats.core_spikes for lane in lanes], dtype=np.int64),
        spike_log=log,
        stats=total_stats,
        lane_stats=[lane.stats for lane in lanes],
        probes=records,
        states=[lane.state for lane in lanes],
    )


def _fresh_state(program: Program) -> LaneState:
    """docs/isa.md §3: V := 0, I := 0, R := 0, no past; then init=half in program order."""
    target = program.target
    npc = target.neurons_per_core
    state = LaneState(
        v=[[0] * npc for _ in range(target.cores)],
        i=[[0] * npc for _ in range(target.cores)],
        r=[[0] * npc for _ in range(target.cores)],
        history=[],
    )
    for instr in program.instructions:
        if isinstance(instr, Fire) and instr.mode == FireMode.BINARY and instr.init_half:
            for n in range(instr.count):
                state.v[instr.core][instr.base + n] = int(program.param_tables[instr.table][instr.row + n]) >> 1
    return state


def _copy_state(state: LaneState) -> LaneState:
    return LaneState(
        v=[list(row) for row in state.v],
        i=[list(row) for row in state.i],
        r=[list(row) for row in state.r],
        history=[(list(bus), list(writer)) for bus, writer in state.history],
    )


class _Lane:
    """One lane of a run: its state, its counts, its spike log and its probe records."""

    def __init__(self, program: Program, state: LaneState | None) -> None:
        self.program = program
        self.target = program.target
        self.params = {tid: [int(value) for value in table] for tid, table in program.param_tables.items()}
        self.state = _fresh_state(program) if state is None else _copy_state(state)
        self.stats = ReferenceStats(self.target.cores)
        self.log: list[SpikeEvent] = []
        self.records: list[dict[str, list[list[int]]]] = []
        self.max_delay = max(
            [instr.delay for instr in program.instructions if isinstance(instr, Acc | AccConv)], default=0
        )
        # Per timestep: the bus, who wrote each address, and each core's cycles.
        self.bus: list[int] = []
        self.writer: list[int | None] = []
        self.step_cycles: list[int] = []

    def run(self, stream: list[list[int]], probes: list[ProbeSpec], logged: bool) -> None:
        self.records = [{kind: [] for kind in spec.kinds} for spec in probes]
        for t, x in enumerate(stream):
            # bus := 0; bus[0:n_inputs] := X[t]
            self.bus = [0] * self.target.bus_size
            self.writer = [None] * self.target.bus_size
            self.bus[: len(x)] = x
            self.stats.input_events += sum(1 for value in x if value != 0)
            self.step_cycles = [0] * self.target.cores
            for instr in self.program.instructions:
                if isinstance(instr, Halt):
                    break
                self.execute(instr, t, logged)
            self.stats.cycles += max(self.step_cycles) + 1
            for core in range(self.target.cores):
                self.stats.core_cycles[core] += self.step_cycles[core]
            self.record_probes(probes)
            # remember bus as bus_t (for delays): only the last D are ever read
            if self.max_delay:
                self.state.history.append((self.bus, self.writer))
                del self.state.history[: -self.max_delay]
        s = self.stats
        s.energy_pj = energy_of(
            self.target, s.synaptic_ops, s.active_updates, s.inactive_updates, s.intra_core_deliveries,
            s.inter_core_deliveries,
        )  # fmt: skip

    def execute(self, instr: object, t: int, logged: bool) -> None:
        if isinstance(instr, Acc):
            self.acc_synaptic(instr)
        elif isinstance(instr, AccConv):
            self.acc_conv(instr)
        elif isinstance(instr, AccBias):
            x = self.compartment(instr.compartment)[instr.core]
            for n in range(instr.count):
                x[instr.base + n] = sat32(x[instr.base + n] + self.params[instr.table][instr.row + n])
            self.step_cycles[instr.core] += instr.count
        elif isinstance(instr, AccCurrent):
            v, i = self.state.v[instr.core], self.state.i[instr.core]
            for n in range(instr.count):
                v[instr.base + n] = sat32(v[instr.base + n] + i[instr.base + n])
            self.step_cycles[instr.core] += instr.count
        elif isinstance(instr, Fire):
            self.fire(instr, t, logged)
        elif isinstance(instr, Leak | LeakDecay):
            x = self.compartment(instr.compartment)[instr.core]
            for n in range(instr.count):
                if isinstance(instr, Leak):
                    x[instr.base + n] = leak(x[instr.base + n], instr.shift)
                else:
                    x[instr.base + n] = decay(x[instr.base + n], self.params[instr.table][instr.row + n])
            self.update(instr.core, instr.count, active=0)
            self.step_cycles[instr.core] += instr.count
        else:
            raise TypeError(f"unknown instruction {instr!r}")

    def compartment(self, which: Compartment) -> list[list[int]]:
        return self.state.i if which == Compartment.I else self.state.v

    def source(self, delay: int) -> tuple[list[int], list[int | None]]:
        """The bus an ACC reads: the current one, or ``bus_{t-d}`` (zeros before the first timestep
        of a fresh run)."""
        if delay == 0:
            return self.bus, self.writer
        if delay <= len(self.state.history):
            return self.state.history[-delay]
        return [0] * self.target.bus_size, [None] * self.target.bus_size

    def acc_synaptic(self, instr: Acc) -> None:
        bus, writer = self.source(instr.delay)
        weights = self.program.synapse_tables[instr.table]
        core = instr.core
        events = [a for a in range(instr.src, instr.src + instr.src_len) if bus[a] != 0]
        for a in events:
            self.stats.deliver(core, writer[a])
        ops = len(events) * instr.count
        self.stats.synaptic_ops += ops
        self.stats.core_synaptic_ops[core] += ops
        self.step_cycles[core] += ops
        x = self.compartment(instr.compartment)[core]
        for n in range(instr.count):
            dot = sum(int(weights[instr.row + n, instr.col + i]) * bus[instr.src + i] for i in range(instr.src_len))
            x[instr.base + n] = sat32(x[instr.base + n] + dot)

    def acc_conv(self, instr: AccConv) -> None:
        """docs/isa.md "ACC (conv)": per neuron, the sum over its in-map taps, written as the
        document's nested loops; every (neuron, tap) pair that reads an event is one synaptic op."""
        bus, writer = self.source(instr.delay)
        weights = self.program.synapse_tables[instr.table]
        g = instr.geometry
        C, H, W = g.in_channels, g.in_height, g.in_width
        Ho, Wo = g.out_height, g.out_width
        Cg = C // g.groups
        Cog = g.out_channels // g.groups
        oc_first = instr.p0 // (Ho * Wo)
        core = instr.core
        x = self.compartment(instr.compartment)[core]
        delivered: set[int] = set()
        ops = 0
        for n in range(instr.count):
            p = instr.p0 + n
            oc, oy, ox = p // (Ho * Wo), (p // Wo) % Ho, p % Wo
            group = oc // Cog
            dot = 0
            for icl in range(Cg):
                ic = group * Cg + icl
                for ky in range(g.kernel_h):
                    iy = oy * g.stride_h - g.pad_h + ky * g.dilation_h
                    for kx in range(g.kernel_w):
                        ix = ox * g.stride_w - g.pad_w + kx * g.dilation_w
                        if not (0 <= iy < H and 0 <= ix < W):
                            continue  # padding: reads 0, no event, no operation
                        address = instr.src + (ic * H + iy) * W + ix
                        w = int(
                            weights[instr.row + oc - oc_first, instr.col + (icl * g.kernel_h + ky) * g.kernel_w + kx]
                        )
                        dot += w * bus[address]
                        if bus[address] != 0:
                            ops += 1
                            delivered.add(address)
            x[instr.base + n] = sat32(x[instr.base + n] + dot)
        for address in sorted(delivered):
            self.stats.deliver(core, writer[address])
        self.stats.synaptic_ops += ops
        self.stats.core_synaptic_ops[core] += ops
        self.step_cycles[core] += ops

    def fire(self, instr: Fire, t: int, logged: bool) -> None:
        core = instr.core
        v = self.state.v[core]
        active = 0
        for n in range(instr.count):
            neuron = instr.base + n
            param = self.params[instr.table][instr.row + n]
            if instr.mode == FireMode.GRADED:
                payload = graded_payload(v[neuron], param, instr.shift, instr.lo, instr.hi)
                v[neuron] = 0
            else:
                payload = self.fire_binary_neuron(instr, neuron, n, param)
            self.bus[instr.dst + n] = payload
            self.writer[instr.dst + n] = core
            if payload != 0:
                active += 1
                self.stats.spikes += 1
                self.stats.core_spikes[core] += 1
                if logged:
                    self.log.append(SpikeEvent(t, core, neuron, payload))
        self.update(core, instr.count, active)
        self.step_cycles[core] += instr.count

    def fire_binary_neuron(self, instr: Fire, neuron: int, n: int, theta: int) -> int:
        """The binary FIRE's pseudo-code of docs/isa.md for one neuron; returns its payload."""
        v, r = self.state.v[instr.core], self.state.r[instr.core]
        reset_value = self.params[instr.reset_table][instr.reset_row + n] if instr.reset == ResetMode.VALUE else 0
        if instr.refractory >= 1 and r[neuron] > 0:
            r[neuron] -= 1
            v[neuron] = reset_value  # 0 for reset=zero, vr for reset=P
            return 0
        if v[neuron] < theta:
            return 0
        if instr.reset == ResetMode.SUBTRACT:
            v[neuron] = v[neuron] - theta
        else:
            v[neuron] = reset_value
        r[neuron] = instr.refractory
        return 1

    def update(self, core: int, count: int, active: int) -> None:
        """``count`` neuron updates on ``core``, ``active`` of them active."""
        self.stats.neuron_updates += count
        self.stats.core_neuron_updates[core] += count
        self.stats.active_updates += active
        self.stats.core_active_updates[core] += active
        self.stats.inactive_updates += count - active

    def record_probes(self, probes: list[ProbeSpec]) -> None:
        """Probes at the end of the timestep: V, I as they are, and each neuron's FIRE's payload."""
        for spec, record in zip(probes, self.records):
            neurons = range(spec.base, spec.base + spec.count)
            if spec.spikes:
                record["spikes"].append([self.bus[self.fire_address(spec.core, n)] for n in neurons])
            if spec.v:
                record["v"].append([self.state.v[spec.core][n] for n in neurons])
            if spec.i:
                record["i"].append([self.state.i[spec.core][n] for n in neurons])

    def fire_address(self, core: int, neuron: int) -> int:
        """The bus address the one FIRE that covers (core, neuron) writes its payload to."""
        covering = [
            instr.dst + neuron - instr.base
            for instr in self.program.instructions
            if isinstance(instr, Fire) and instr.core == core and instr.base <= neuron < instr.base + instr.count
        ]
        if len(covering) != 1:
            raise ValueError(f"a spikes probe needs exactly one FIRE over c{core}[{neuron}], found {len(covering)}")
        return covering[0]
