"""The SpikeCore hardware model: what the chip computes, bit for bit, for a batch of inputs at once.

docs/isa.md sections 1-3 are the contract; this module implements them for B independent lanes
with numpy, vectorised over the lanes.

Why an execution *plan*: a compiled program often holds one small instruction per core (the seed
mapping has one neuron per core, so a 784-64-10 MLP is 64 one-row ACCs, 64 one-neuron FIREs, ...).
Executing those one by one would cost a matrix-vector product per core. At load time the model
therefore orders the instructions by dependency level (two instructions depend on each other when
they share a neuron, or when one writes bus addresses the other reads), and fuses the independent
instructions of one level and kind into a single step: the ACCs of a level that read the same bus
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

Why accounting in *blocks* of timesteps: with small batches a run's time is the number of numpy
calls, not their size. So a timestep only records what it must (the events each ACC step read, per
lane, and the logged lane's payloads) into buffers, and the counters, the busiest core's cycles and
the spike log are derived from a whole block of timesteps at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from spikeir.chip.isa import (
    INT32_MAX,
    INT32_MIN,
    Acc,
    AccBias,
    Fire,
    FireMode,
    Halt,
    Leak,
    Program,
    ResetMode,
    validate_program,
)
from spikeir.chip.target import SPIKECORE_V1, TargetDescription
from spikeir.errors import ProgramError

_MAX_ABS_PAYLOAD = 128
"""Largest magnitude of a bus payload (int8), the bound behind the float exactness checks."""
_F32_EXACT = 2**24
_CHUNK_BYTES = 256 * 2**20
"""Lanes are processed in chunks whose working state stays below about this many bytes."""
_BLOCK_BYTES = 16 * 2**20
"""A chunk's per-timestep records (events, logged payloads) are flushed before they exceed this."""
_NEVER = 2**62
"""A number of timesteps no run reaches (a step whose neurons cannot saturate at all)."""

Index = slice | np.ndarray
"""Columns of a state array: a slice when they form one ascending run (a view), else an array."""


class SpikeEvent(NamedTuple):
    """One FIRE event of the logged lane."""

    timestep: int
    core: int
    neuron: int
    payload: int


@dataclass
class RunStats:
    """Accounting of one run (docs/isa.md "Events and accounting"); totals are summed over lanes.

    Energy is an *estimate* from the target's energy table (Loihi pre-silicon figures).
    """

    timesteps: int = 0
    batch: int = 0
    input_events: int = 0
    """Nonzero input payloads, counted once per timestep (inputs are events but not spikes)."""
    synaptic_ops: int = 0
    spikes: int = 0
    neuron_updates: int = 0
    active_updates: int = 0
    intra_core_deliveries: int = 0
    inter_core_deliveries: int = 0
    cycles: int = 0
    energy_pj: float = 0.0
    clock_mhz: float = SPIKECORE_V1.clock_mhz
    core_synaptic_ops: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    core_spikes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    core_neuron_updates: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    core_cycles: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def inactive_updates(self) -> int:
        return self.neuron_updates - self.active_updates

    @property
    def time_us(self) -> float:
        """Estimated chip time for all lanes run one after another, at the target's clock."""
        return self.cycles / self.clock_mhz

    def per_sample(self) -> dict[str, float]:
        """Means per lane (one input vector): what one inference costs."""
        lanes = max(self.batch, 1)
        totals = {
            "input_events": self.input_events,
            "synaptic_ops": self.synaptic_ops,
            "spikes": self.spikes,
            "neuron_updates": self.neuron_updates,
            "active_updates": self.active_updates,
            "inactive_updates": self.inactive_updates,
            "intra_core_deliveries": self.intra_core_deliveries,
            "inter_core_deliveries": self.inter_core_deliveries,
            "cycles": self.cycles,
            "energy_pj": self.energy_pj,
            "time_us": self.time_us,
        }
        return {name: float(value) / lanes for name, value in totals.items()}

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form: plain ints, floats and lists."""
        result: dict[str, object] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            result[f.name] = value.tolist() if isinstance(value, np.ndarray) else value
        result["inactive_updates"] = self.inactive_updates
        result["time_us"] = self.time_us
        result["per_sample"] = self.per_sample()
        return result


def _index(columns: np.ndarray) -> Index:
    if columns.size and np.array_equal(columns, np.arange(columns[0], columns[0] + columns.size)):
        return slice(int(columns[0]), int(columns[0]) + int(columns.size))
    return columns


_INT32_MIN = np.int64(INT32_MIN)
_INT32_MAX = np.int64(INT32_MAX)


def _add_saturating(V: np.ndarray, columns: Index, values: np.ndarray, saturate: bool) -> None:
    """``V[:, columns] = sat32(V[:, columns] + values)``, in place when the columns are a slice; the
    clip only where ``saturate`` says it can act (see the module docstring)."""
    if isinstance(columns, slice):
        view = V[:, columns]
        view += values
        if saturate:
            view.clip(_INT32_MIN, _INT32_MAX, out=view)
    elif saturate:
        V[:, columns] = np.clip(V[:, columns] + values, _INT32_MIN, _INT32_MAX)
    else:
        V[:, columns] += values


def _uniform(values: np.ndarray) -> np.ndarray | np.int64:
    """A scalar when every neuron has the same parameter: numpy's scalar paths are faster."""
    return np.int64(values[0]) if values.size and bool(np.all(values == values[0])) else values


def _uniform_flag(flags: np.ndarray) -> np.ndarray | bool:
    """A bool when every neuron has the same flag, so a step can pick its path without a reduction."""
    return bool(flags[0]) if bool(np.all(flags == flags[0])) else flags


@dataclass
class _Chunk:
    """The state of a chunk of lanes during a run."""

    V: np.ndarray
    """(lanes, neurons) int64: membrane potentials of the neurons the program touches."""
    inputs: np.ndarray
    """(lanes, n_inputs) float32: the input port (int8 values)."""
    bus: np.ndarray
    """(lanes, addresses) float32: payloads of the other bus addresses the program touches."""
    x: np.ndarray
    """(lanes, n_inputs): the input payloads as given (integers)."""
    timesteps: int
    """T of the run: whether a step must saturate depends on it."""
    fire_counts: list[np.ndarray]
    """Per FIRE step, (lanes, neurons of the step) int64: each neuron's spikes so far (summed per
    core at the end of the run, not every timestep)."""
    events: np.ndarray
    """(block, lanes, columns) float64: per timestep of the block, the events each ACC step read,
    then the intra-core deliveries of the steps that have some."""
    record: np.ndarray
    """``events[slot]``: the current timestep's row of ``events``."""
    log_row: int | None
    """Row of the logged lane in this chunk, while its events are still being logged."""
    log: np.ndarray
    """(block, FIRE neurons) int8: the logged lane's payloads per timestep, in program order."""
    log_record: np.ndarray
    """``log[slot]``: the current timestep's row of ``log``."""
    constant: dict[int, np.ndarray] = field(default_factory=dict)
    """Input-only ACC steps: their dot products, the same every timestep."""


@dataclass
class _Accounts:
    """Counters of a run that are not derived from per-lane arrays at its end."""

    synaptic_ops: int
    intra: int
    deliveries: int
    cycles: int
    core_synaptic_ops: np.ndarray
    logged: int
    """Events in the spike log so far."""


@dataclass
class _AccStep:
    """Fused synaptic ACCs of one level that read the same bus range."""

    key: int
    """This step's column in the chunk's event records, and its key in the chunk's constants."""
    intra_key: int
    """The column of its intra-core deliveries in the event records (-1: it has none)."""
    input_cols: slice | None
    """The source's columns in the input port, if any."""
    bus_cols: slice | None
    """The source's columns in the rest of the bus, if any."""
    neurons: Index
    weights: np.ndarray
    """(len, rows) contiguous, float32 when exact (see the module docstring), else float64."""
    cores: np.ndarray
    """Distinct cores of the members, and the rows each runs (a core spends a cycle per row and event)."""
    core_rows: np.ndarray
    rows: int
    members: int
    intra_weight: np.ndarray | None
    """Per source address (float64): how many members run on the core whose FIRE writes it (None: none)."""
    safe_timesteps: int
    """The longest run in which none of its neurons can saturate (see the module docstring)."""

    def prepare(self, chunk: _Chunk) -> None:
        """An input-only step reads the same payloads every timestep: form its products and record
        its events once per chunk, for every timestep slot of the block."""
        if self.bus_cols is None:
            chunk.constant[self.key] = self._dots(chunk.inputs[:, self.input_cols])
            chunk.events[:, :, self.key] = np.count_nonzero(chunk.x[:, self.input_cols], axis=1)

    def execute(self, chunk: _Chunk) -> None:
        if self.bus_cols is None:
            dots = chunk.constant[self.key]
        else:
            source = self._source(chunk)
            dots = self._dots(source)
            nonzero = source != 0
            chunk.record[:, self.key] = nonzero.sum(axis=1)
            if self.intra_weight is not None:
                chunk.record[:, self.intra_key] = nonzero @ self.intra_weight
        _add_saturating(chunk.V, self.neurons, dots, chunk.timesteps > self.safe_timesteps)

    def _dots(self, source: np.ndarray) -> np.ndarray:
        if self.weights.dtype == np.float32:
            return (source @ self.weights).astype(np.int64)
        return (source.astype(np.float64) @ self.weights).astype(np.int64)

    def _source(self, chunk: _Chunk) -> np.ndarray:
        if self.bus_cols is None:
            return chunk.inputs[:, self.input_cols]
        if self.input_cols is None:
            return chunk.bus[:, self.bus_cols]
        return np.concatenate([chunk.inputs[:, self.input_cols], chunk.bus[:, self.bus_cols]], axis=1)


@dataclass
class _BiasStep:
    """Fused bias ACCs of one level."""

    neurons: Index
    bias: np.ndarray
    safe_timesteps: int
    """The longest run in which none of its neurons can saturate (see the module docstring)."""

    def execute(self, chunk: _Chunk) -> None:
        _add_saturating(chunk.V, self.neurons, self.bias, chunk.timesteps > self.safe_timesteps)


@dataclass
class _LeakStep:
    """Fused LEAKs of one level."""

    neurons: Index
    shift: np.ndarray

    def execute(self, chunk: _Chunk) -> None:
        v = chunk.V[:, self.neurons]
        chunk.V[:, self.neurons] = v - (v >> self.shift)


@dataclass
class _FireStep:
    """Fused FIREs of one level and mode; per-neuron parameters are arrays."""

    neurons: Index
    dst: Index
    binary: bool
    slot: int
    """Index of this step's spike counters in the chunk."""
    param: np.ndarray
    """Graded: the multiplier M; binary: the threshold theta."""
    rounding: np.ndarray | np.int64
    shift: np.ndarray | np.int64
    lo: np.ndarray | np.int64
    hi: np.ndarray | np.int64
    subtract: np.ndarray | bool
    """Binary: whether each neuron resets by subtraction (a bool when they all agree)."""
    segment_starts: np.ndarray
    """Column where each core's neurons start; the columns are core-major."""
    segment_cores: np.ndarray
    one_per_core: bool
    log_positions: Index

    def execute(self, chunk: _Chunk) -> None:
        v = chunk.V[:, self.neurons]
        if self.binary:
            fired = v >= self.param
            if self.subtract is True:
                decrement = fired * self.param
            elif self.subtract is False:
                decrement = fired * v
            else:
                decrement = fired * np.where(self.subtract, self.param, v)
            if isinstance(self.neurons, slice):
                v -= decrement
            else:
                chunk.V[:, self.neurons] = v - decrement
            payload = fired.view(np.int8)
        else:
            payload = v * self.param
            payload += self.rounding
            payload >>= self.shift
            np.clip(payload, self.lo, self.hi, out=payload)
            chunk.V[:, self.neurons] = 0
            fired = payload != 0
        chunk.bus[:, self.dst] = payload
        chunk.fire_counts[self.slot] += fired
        if chunk.log_row is not None:
            chunk.log_record[self.log_positions] = payload[chunk.log_row]

    def core_spikes(self, counts: np.ndarray) -> np.ndarray:
        """Per-neuron spike counts summed per core of this step: (lanes, segment_cores.size)."""
        return counts if self.one_per_core else np.add.reduceat(counts, self.segment_starts, axis=1)


_Step = _AccStep | _BiasStep | _LeakStep | _FireStep


@dataclass
class _Plan:
    """Everything load_program precomputes for run."""

    program: Program
    n_neurons: int
    n_bus: int
    """Bus addresses the program touches outside the input port."""
    steps: list[_Step]
    acc_steps: list[_AccStep]
    fire_steps: list[_FireStep]
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


class SpikeCoreCPU:
    """Bit-exact model of a SpikeCore chip running a program on a batch of inputs.

    The chip is ``target`` (default: ``spikecore-v1`` with ``num_cores`` cores). A program runs when
    it is valid for its own target and fits this chip; membrane state is laid out as its target
    says (``membrane(core)`` has the program target's ``neurons_per_core`` entries).
    """

    def __init__(
        self, num_cores: int = 128, target: TargetDescription | None = None, max_spike_log: int = 1_000_000
    ) -> None:
        self.target = target if target is not None else SPIKECORE_V1.with_options(cores=num_cores)
        if max_spike_log < 0:
            raise ProgramError(f"max_spike_log must be non-negative, got {max_spike_log}", "SpikeCoreCPU")
        self.max_spike_log = max_spike_log
        self.stats = RunStats(clock_mhz=self.target.clock_mhz)
        self.spike_log_truncated = False
        self._weights: dict[int, np.ndarray] = {}
        self._program: Program | None = None
        self._plan: _Plan | None = None
        self._outputs: np.ndarray | None = None
        self._final_rows: dict[int, np.ndarray] = {}
        self._batched = False
        self._logged_lane = 0
        self._log_parts: list[np.ndarray] = []
        self._log_cache: list[SpikeEvent] | None = None

    # -- loading --------------------------------------------------------------------------------

    def load_weights(self, layer_id: int, w_int8: np.ndarray) -> None:
        """Set synapse table ``layer_id``, overriding the program's table of that id (now and for
        every later load_program)."""
        where = f"synapse table {layer_id}"
        if not _is_int(layer_id) or layer_id < 0:
            raise ProgramError(f"layer id must be a non-negative integer, got {layer_id!r}", "load_weights")
        if not isinstance(w_int8, np.ndarray) or w_int8.dtype != np.int8 or w_int8.ndim != 2:
            got = (
                f"{w_int8.dtype} array of shape {w_int8.shape}"
                if isinstance(w_int8, np.ndarray)
                else type(w_int8).__name__
            )
            raise ProgramError(f"weights must be a 2-D int8 matrix, got {got}", where)
        previous = self._weights.get(int(layer_id))
        self._weights[int(layer_id)] = w_int8.copy()
        if self._program is not None:
            try:
                self._plan = self._make_plan(self._program)
            except ProgramError:
                if previous is None:
                    del self._weights[int(layer_id)]
                else:
                    self._weights[int(layer_id)] = previous
                raise

    def load_program(self, program: Program) -> None:
        """Validate ``program`` (with the weights given to load_weights) and plan its execution."""
        self._plan = self._make_plan(program)
        self._program = program
        self._outputs = None
        self._final_rows = {}

    def _make_plan(self, program: Program) -> _Plan:
        validate_program(program, self._weights)
        if program.target != self.target:
            try:
                validate_program(dataclasses.replace(program, target=self.target), self._weights)
            except ProgramError as err:
                raise ProgramError(
                    f"does not fit the simulated chip '{self.target.name}' ({self.target.cores} cores): {err.message}",
                    err.location,
                ) from None
        tables = {**program.synapse_tables, **self._weights}
        return _build_plan(program, tables, self.target)

    # -- running --------------------------------------------------------------------------------

    def run(self, input_int8: np.ndarray, timesteps: int = 1, lane_to_log: int = 0) -> np.ndarray:
        """Run the loaded program for ``timesteps`` on one input vector or a batch (one per row).

        Returns the spikes each core emitted: shape (cores,) for a vector, (B, cores) for a batch.
        """
        plan = self._plan
        if plan is None:
            raise ProgramError("no program is loaded: call load_program first", "run")
        x = _check_input(input_int8, plan.program.n_inputs)
        batched = x.ndim == 2
        lanes = x if batched else x[None, :]
        batch = lanes.shape[0]
        if not _is_int(timesteps) or timesteps < 1:
            raise ProgramError(f"timesteps must be a positive integer, got {timesteps!r}", "run")
        if not _is_int(lane_to_log) or not 0 <= lane_to_log < batch:
            raise ProgramError(f"lane_to_log must be a lane of the batch (0..{batch - 1}), got {lane_to_log!r}", "run")
        timesteps, lane_to_log = int(timesteps), int(lane_to_log)

        cores = self.target.cores
        accounts = _Accounts(0, 0, 0, 0, np.zeros(cores, np.int64), 0)
        spikes = np.zeros((batch, cores), np.int64)
        outputs = np.zeros((batch, plan.output_columns.size), np.int64)
        self._final_rows = {}
        self._log_parts = []
        self._log_cache = None
        self.spike_log_truncated = False
        per_lane = 8 * (3 * plan.n_neurons + cores) + 4 * plan.n_bus + (4 + lanes.itemsize) * lanes.shape[1]
        chunk_size = max(1, _CHUNK_BYTES // per_lane)
        for start in range(0, batch, chunk_size):
            stop = min(batch, start + chunk_size)
            log_row = lane_to_log - start if start <= lane_to_log < stop else None
            chunk = self._start_chunk(plan, lanes[start:stop], timesteps, log_row)
            block = chunk.events.shape[0]
            for first in range(0, timesteps, block):
                filled = min(block, timesteps - first)
                for slot in range(filled):
                    chunk.record = chunk.events[slot]
                    chunk.log_record = chunk.log[slot]
                    if plan.clear_bus and first + slot:
                        chunk.bus[:] = 0
                    for step in plan.steps:
                        step.execute(chunk)
                self._flush(plan, chunk, filled, first, accounts)
            for step, counts in zip(plan.fire_steps, chunk.fire_counts):
                spikes[start:stop, step.segment_cores] += step.core_spikes(counts)
            outputs[start:stop] = chunk.V[:, plan.output_columns]
            for lane in {0, lane_to_log}:
                if start <= lane < stop:
                    self._final_rows[lane] = chunk.V[lane - start].copy()
        self._outputs = outputs
        self._batched = batched
        self._logged_lane = lane_to_log
        self.stats = self._stats(plan, accounts, spikes, int(np.count_nonzero(lanes)) * timesteps, timesteps, batch)
        return spikes if batched else spikes[0]

    def _start_chunk(self, plan: _Plan, x: np.ndarray, timesteps: int, log_row: int | None) -> _Chunk:
        lanes = x.shape[0]
        n_log = plan.log_cores.size if log_row is not None else 0
        block = max(1, min(timesteps, _BLOCK_BYTES // max(1, 8 * lanes * plan.records + n_log)))
        chunk = _Chunk(
            V=np.repeat(plan.init_V[None, :], lanes, axis=0),
            inputs=x.astype(np.float32),
            bus=np.zeros((lanes, plan.n_bus), np.float32),
            x=x,
            timesteps=timesteps,
            fire_counts=[np.zeros((lanes, step.param.size), np.int64) for step in plan.fire_steps],
            events=np.zeros((block, lanes, plan.records)),
            record=np.zeros(0),
            log_row=log_row,
            log=np.zeros((block, n_log), np.int8),
            log_record=np.zeros(0, np.int8),
        )
        for step in plan.acc_steps:
            step.prepare(chunk)
        return chunk

    def _flush(self, plan: _Plan, chunk: _Chunk, filled: int, first: int, acc: _Accounts) -> None:
        """Fold ``filled`` recorded timesteps, starting at timestep ``first``, into the counters
        and the spike log."""
        records = chunk.events[:filled]
        totals = records.sum(axis=(0, 1)).astype(np.int64)
        n_acc = len(plan.acc_steps)
        counts = totals[:n_acc] @ plan.acc_counts
        acc.synaptic_ops += int(counts[0])
        acc.deliveries += int(counts[1])
        acc.core_synaptic_ops += counts[2:]
        if plan.records > n_acc:
            acc.intra += int(totals[n_acc:].sum())
            records = records[:, :, :n_acc]
        # Cycle counts are integers far below 2^53: the float64 sums are exact.
        busiest = (records @ plan.cycle_rows + plan.cycle_base).max(axis=2, initial=0)
        acc.cycles += int(busiest.sum()) + filled * records.shape[1]
        if chunk.log_row is None:
            return
        timesteps, positions = np.nonzero(chunk.log[:filled])
        room = self.max_spike_log - acc.logged
        if positions.size > room:
            # The log is full: later timesteps need not be recorded at all.
            self.spike_log_truncated = True
            chunk.log_row = None
            timesteps, positions = timesteps[:room], positions[:room]
        if positions.size:
            payloads = chunk.log[:filled][timesteps, positions].astype(np.int64)
            self._log_parts.append(
                np.stack([timesteps + first, plan.log_cores[positions], plan.log_neurons[positions], payloads], axis=1)
            )
        acc.logged += int(positions.size)

    def _stats(
        self, plan: _Plan, acc: _Accounts, spikes: np.ndarray, input_events: int, timesteps: int, batch: int
    ) -> RunStats:
        core_spikes = spikes.sum(axis=0)
        core_updates = plan.core_updates * (timesteps * batch)
        total_spikes = int(core_spikes.sum())
        updates = int(core_updates.sum())
        energy = self.target.energy
        intra, inter = acc.intra, acc.deliveries - acc.intra
        return RunStats(
            timesteps=timesteps,
            batch=batch,
            input_events=input_events,
            synaptic_ops=acc.synaptic_ops,
            spikes=total_spikes,
            neuron_updates=updates,
            active_updates=total_spikes,
            intra_core_deliveries=intra,
            inter_core_deliveries=inter,
            cycles=acc.cycles,
            energy_pj=energy.synaptic_op_pj * acc.synaptic_ops
            + energy.neuron_update_active_pj * total_spikes
            + energy.neuron_update_inactive_pj * (updates - total_spikes)
            + energy.spike_intra_core_pj * intra
            + energy.spike_inter_core_pj * inter,
            clock_mhz=self.target.clock_mhz,
            core_synaptic_ops=acc.core_synaptic_ops,
            core_spikes=core_spikes,
            core_neuron_updates=core_updates,
            core_cycles=acc.core_synaptic_ops + plan.core_const_cycles * (timesteps * batch),
        )

    # -- reading results ------------------------------------------------------------------------

    def get_spike_log(self) -> list[SpikeEvent]:
        """FIRE events of the logged lane of the last run, in execution order (bounded)."""
        if self._log_cache is None:
            rows = np.concatenate(self._log_parts).tolist() if self._log_parts else []
            self._log_cache = [SpikeEvent(*row) for row in rows]
        return self._log_cache

    def outputs(self) -> np.ndarray:
        """V of the program's declared output ranges after the last run: (B, n_out) or (n_out,)."""
        if self._outputs is None:
            raise ProgramError("no results yet: call run first", "outputs")
        return self._outputs if self._batched else self._outputs[0]

    def get_output_activations(self, core_ids: list[int] | range | np.ndarray) -> np.ndarray:
        """V (lane 0) of the neurons any instruction targets on each of ``core_ids``, concatenated
        in that order."""
        plan, row = self._result_row(0)
        values: list[np.ndarray] = []
        for core in core_ids:
            self._check_core(plan, int(core))
            if int(core) not in plan.targeted:
                # An empty answer would silently mislead (argmax of nothing); say where the neurons are.
                used = ", ".join(str(c) for c in sorted(plan.targeted)) or "none"
                raise ProgramError(
                    f"core {int(core)} holds no neuron of this program (cores in use: {used}); "
                    "program.outputs says which neurons are outputs",
                    "get_output_activations",
                )
            values.append(row[plan.targeted[int(core)]])
        return np.concatenate(values) if values else np.zeros(0, np.int64)

    def membrane(self, core: int, lane: int | None = None) -> np.ndarray:
        """V of every neuron of ``core`` after the last run, for lane 0 or the logged lane
        (default: the logged lane); the model keeps only those two lanes' full state."""
        lane = self._logged_lane if lane is None else lane
        plan, row = self._result_row(lane)
        self._check_core(plan, core)
        npc = plan.program.target.neurons_per_core
        values = np.zeros(npc, np.int64)
        first, last = np.searchsorted(plan.neuron_ids, [core * npc, (core + 1) * npc])
        values[plan.neuron_ids[first:last] - core * npc] = row[first:last]
        return values

    def _result_row(self, lane: int) -> tuple[_Plan, np.ndarray]:
        if self._plan is None or self._outputs is None:
            raise ProgramError("no results yet: call run first", "SpikeCoreCPU")
        if lane not in self._final_rows:
            raise ProgramError(
                f"lane {lane} was not kept: only lane 0 and the logged lane ({self._logged_lane}) are", "SpikeCoreCPU"
            )
        return self._plan, self._final_rows[lane]

    @staticmethod
    def _check_core(plan: _Plan, core: int) -> None:
        cores = plan.program.target.cores
        if not 0 <= core < cores:
            raise ProgramError(f"core {core} is out of range 0..{cores - 1}", "SpikeCoreCPU")


def _is_int(value: object) -> bool:
    """A Python or numpy integer, but not a bool (``True`` as a timestep count is a caller's slip)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_input(data: object, n_inputs: int) -> np.ndarray:
    x = np.asarray(data)
    if not np.issubdtype(x.dtype, np.integer):
        raise ProgramError(
            f"input must hold int8 payloads (integers in [-128, 127]), got dtype {x.dtype}: quantize it first", "input"
        )
    if x.ndim not in (1, 2) or x.shape[-1] != n_inputs or (x.ndim == 2 and x.shape[0] == 0):
        raise ProgramError(
            f"input must have shape ({n_inputs},) or (batch, {n_inputs}) with batch >= 1, got {x.shape}", "input"
        )
    if x.dtype != np.int8:
        low, high = int(x.min()), int(x.max())
        if low < -128 or high > 127:
            raise ProgramError(f"input payloads must lie in [-128, 127] (int8), got values in [{low}, {high}]", "input")
    return x


def _build_plan(program: Program, tables: dict[int, np.ndarray], chip: TargetDescription) -> _Plan:
    """Lay out the touched neurons and bus addresses compactly, level the instructions by
    dependency, and fuse each level's independent instructions of one kind into a step."""
    npc = program.target.neurons_per_core
    body = [instr for instr in program.instructions if not isinstance(instr, Halt)]
    ranges = [np.arange(i.core * npc + i.base, i.core * npc + i.base + i.count) for i in body]
    ranges += [np.arange(o.core * npc + o.base, o.core * npc + o.base + o.count) for o in program.outputs]
    neuron_ids = np.unique(np.concatenate(ranges)) if ranges else np.zeros(0, np.int64)
    addresses = [np.arange(program.n_inputs)]
    addresses += [np.arange(i.dst, i.dst + i.count) for i in body if isinstance(i, Fire)]
    addresses += [np.arange(i.src, i.src + i.src_len) for i in body if isinstance(i, Acc)]
    bus_addrs = np.unique(np.concatenate(addresses))

    def neurons_of(core: int, base: int, count: int) -> np.ndarray:
        first = int(np.searchsorted(neuron_ids, core * npc + base))
        return np.arange(first, first + count)

    def bus_of(address: int, length: int) -> np.ndarray:
        first = int(np.searchsorted(bus_addrs, address))
        return np.arange(first, first + length)

    # Dependency levels: an instruction comes after every earlier one sharing a neuron, after the
    # FIREs that wrote what it reads, and (a FIRE) after the ACCs that read what it writes.
    neuron_level = np.full(neuron_ids.size, -1)
    bus_written = np.full(bus_addrs.size, -1)
    bus_read = np.full(bus_addrs.size, -1)
    writer_core = np.full(bus_addrs.size, -1)
    # growth: per neuron, the most its ACCs can change V in one timestep (payloads are int8).
    growth = np.zeros(neuron_ids.size, np.int64)
    clear_bus = False
    columns: list[np.ndarray] = []
    groups: dict[tuple[object, ...], list[int]] = {}
    for index, instr in enumerate(body):
        cols = neurons_of(instr.core, instr.base, instr.count)
        columns.append(cols)
        level = int(neuron_level[cols].max())
        if isinstance(instr, Acc):
            source = bus_of(instr.src, instr.src_len)
            level = max(level, int(bus_written[source].max())) + 1
            bus_read[source] = np.maximum(bus_read[source], level)
            key: tuple[object, ...] = (level, "acc", instr.src, instr.src_len)
            block = tables[instr.table][instr.row : instr.row + instr.count, instr.col : instr.col + instr.src_len]
            growth[cols] += np.abs(block.astype(np.int64)).sum(axis=1) * _MAX_ABS_PAYLOAD
        elif isinstance(instr, Fire):
            dst = bus_of(instr.dst, instr.count)
            clear_bus |= bool((bus_read[dst] >= 0).any())
            level = max(level, int(bus_read[dst].max())) + 1
            bus_written[dst] = level
            writer_core[dst] = instr.core
            key = (level, "fire", instr.mode)
        else:
            if isinstance(instr, AccBias):
                growth[cols] += np.abs(
                    program.param_tables[instr.table][instr.row : instr.row + instr.count].astype(np.int64)
                )
            level += 1
            key = (level, type(instr).__name__)
        neuron_level[cols] = level
        groups.setdefault(key, []).append(index)

    const_cycles = np.zeros(chip.cores, np.int64)
    core_updates = np.zeros(chip.cores, np.int64)
    for instr in body:
        if not isinstance(instr, Acc):
            const_cycles[instr.core] += instr.count
        if isinstance(instr, (Fire, Leak)):
            core_updates[instr.core] += instr.count

    fires = [index for index, instr in enumerate(body) if isinstance(instr, Fire)]
    log_offset = dict(zip(fires, np.cumsum([0] + [body[i].count for i in fires]).tolist()))
    log_cores = (
        np.concatenate([np.full(body[i].count, body[i].core) for i in fires]) if fires else np.zeros(0, np.int64)
    )
    log_neurons = (
        np.concatenate([np.arange(body[i].base, body[i].base + body[i].count) for i in fires])
        if fires
        else np.zeros(0, np.int64)
    )

    init_V = np.zeros(neuron_ids.size, np.int64)
    for index in fires:
        instr = body[index]
        assert isinstance(instr, Fire)
        if instr.init_half:
            init_V[columns[index]] = (
                program.param_tables[instr.table][instr.row : instr.row + instr.count].astype(np.int64) >> 1
            )

    # |V| <= |V_init| + t * growth after t timesteps (the module docstring says why): the longest
    # run in which a neuron stays within int32 without saturating.
    headroom = INT32_MAX - np.abs(init_V)
    safe = np.where(growth > 0, headroom // np.maximum(growth, 1), _NEVER)

    def safe_timesteps(cols: np.ndarray) -> int:
        return int(safe[cols].min())

    steps: list[_Step] = []
    acc_steps: list[_AccStep] = []
    fire_steps: list[_FireStep] = []
    acc_groups = sum(1 for key in groups if key[1] == "acc")
    intra_columns = 0
    for key in sorted(groups, key=lambda k: (k[0], groups[k][0])):
        members = sorted(groups[key], key=lambda i: int(columns[i][0]))
        cols = np.concatenate([columns[i] for i in members])
        instrs = [body[i] for i in members]
        if key[1] == "acc":
            intra_key = acc_groups + intra_columns
            step = _acc_step(
                len(acc_steps),
                intra_key,
                safe_timesteps(cols),
                instrs,
                cols,
                tables,
                bus_of,
                program.n_inputs,
                writer_core,
            )
            intra_columns += step.intra_weight is not None
            acc_steps.append(step)
            steps.append(step)
        elif key[1] == "fire":
            fire_steps.append(
                _fire_step(len(fire_steps), instrs, cols, program, bus_of, [log_offset[i] for i in members])
            )
            steps.append(fire_steps[-1])
        elif key[1] == "AccBias":
            bias = np.concatenate(
                [program.param_tables[i.table][i.row : i.row + i.count] for i in instrs if isinstance(i, AccBias)]
            )
            steps.append(_BiasStep(_index(cols), bias.astype(np.int64), safe_timesteps(cols)))
        else:
            shifts = np.concatenate([np.full(i.count, i.shift) for i in instrs if isinstance(i, Leak)])
            steps.append(_LeakStep(_index(cols), shifts.astype(np.int64)))

    active_cores = np.unique([instr.core for instr in body]).astype(np.int64)
    patterns = np.zeros((active_cores.size, 1 + len(acc_steps)), np.int64)
    patterns[:, 0] = const_cycles[active_cores]
    for column, step in enumerate(acc_steps, start=1):
        patterns[np.searchsorted(active_cores, step.cores), column] = step.core_rows
    patterns = np.unique(patterns, axis=0)

    output_columns = (
        np.concatenate([neurons_of(o.core, o.base, o.count) for o in program.outputs])
        if program.outputs
        else np.zeros(0, np.int64)
    )
    targeted: dict[int, list[np.ndarray]] = {}
    for instr, cols in zip(body, columns):
        targeted.setdefault(instr.core, []).append(cols)
    acc_counts = np.zeros((len(acc_steps), 2 + chip.cores), np.int64)
    for step in acc_steps:
        acc_counts[step.key, :2] = step.rows, step.members
        acc_counts[step.key, 2 + step.cores] = step.core_rows
    return _Plan(
        program=program,
        n_neurons=int(neuron_ids.size),
        n_bus=int(bus_addrs.size) - program.n_inputs,
        steps=steps,
        acc_steps=acc_steps,
        fire_steps=fire_steps,
        records=acc_groups + intra_columns,
        acc_counts=acc_counts,
        clear_bus=clear_bus,
        core_const_cycles=const_cycles,
        cycle_base=patterns[:, 0].astype(np.float64),
        cycle_rows=np.ascontiguousarray(patterns[:, 1:].T, dtype=np.float64),
        core_updates=core_updates,
        init_V=init_V,
        output_columns=output_columns,
        targeted={core: np.unique(np.concatenate(parts)) for core, parts in targeted.items()},
        neuron_ids=neuron_ids,
        log_cores=log_cores.astype(np.int64),
        log_neurons=log_neurons.astype(np.int64),
    )


def _acc_step(
    key: int,
    intra_key: int,
    safe_timesteps: int,
    instrs: list[Acc | AccBias | Fire | Leak],
    cols: np.ndarray,
    tables: dict[int, np.ndarray],
    bus_of: Callable[[int, int], np.ndarray],
    n_inputs: int,
    writer_core: np.ndarray,
) -> _AccStep:
    accs = [i for i in instrs if isinstance(i, Acc)]
    first = accs[0]
    source = bus_of(first.src, first.src_len)
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
    return _AccStep(
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
    instrs: list[Acc | AccBias | Fire | Leak],
    cols: np.ndarray,
    program: Program,
    bus_of: Callable[[int, int], np.ndarray],
    log_offsets: list[int],
) -> _FireStep:
    """Fused FIREs; their destinations are columns of the bus outside the input port."""
    fires = [i for i in instrs if isinstance(i, Fire)]

    def per_neuron(values: list[int]) -> np.ndarray:
        return np.concatenate([np.full(f.count, v, np.int64) for f, v in zip(fires, values)])

    shift = per_neuron([f.shift for f in fires])
    core_of_column = per_neuron([f.core for f in fires])
    starts = np.flatnonzero(np.r_[True, core_of_column[1:] != core_of_column[:-1]])
    return _FireStep(
        neurons=_index(cols),
        dst=_index(np.concatenate([bus_of(f.dst, f.count) for f in fires]) - program.n_inputs),
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
