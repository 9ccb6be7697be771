"""The steps of an execution plan and the state of a chunk of lanes they execute on.

A step is a group of independent instructions of one kind that :mod:`spikeir.chip.plan` fused into
one numpy operation over every lane of a chunk: the ACCs of a dependency level that read the same
bus range become one matrix product, its FIREs one vectorised requantization. The choices made
when planning (float32 or float64 products, where the int32 clip can be skipped) are explained in
that module's docstring; here they are only obeyed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spikeir.chip.isa import INT32_MAX, INT32_MIN

Index = slice | np.ndarray
"""Columns of a state array: a slice when they form one ascending run (a view), else an array."""

_INT32_MIN = np.int64(INT32_MIN)
_INT32_MAX = np.int64(INT32_MAX)
"""The int32 bounds as numpy scalars, so a clip stays in int64 without converting them each call."""


def _add_saturating(V: np.ndarray, columns: Index, values: np.ndarray, saturate: bool) -> None:
    """``V[:, columns] = sat32(V[:, columns] + values)``, in place when the columns are a slice; the
    clip only where ``saturate`` says it can act (the plan decides where, see spikeir.chip.plan)."""
    if isinstance(columns, slice):
        view = V[:, columns]
        view += values
        if saturate:
            view.clip(_INT32_MIN, _INT32_MAX, out=view)
    elif saturate:
        V[:, columns] = np.clip(V[:, columns] + values, _INT32_MIN, _INT32_MAX)
    else:
        V[:, columns] += values


@dataclass
class Chunk:
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
class AccStep:
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
    """(len, rows) contiguous, float32 when exact (see spikeir.chip.plan), else float64."""
    cores: np.ndarray
    """Distinct cores of the members, and the rows each runs (a core spends a cycle per row and event)."""
    core_rows: np.ndarray
    rows: int
    members: int
    intra_weight: np.ndarray | None
    """Per source address (float64): how many members run on the core whose FIRE writes it (None: none)."""
    safe_timesteps: int
    """The longest run in which none of its neurons can saturate (see spikeir.chip.plan)."""

    def prepare(self, chunk: Chunk) -> None:
        """An input-only step reads the same payloads every timestep: form its products and record
        its events once per chunk, for every timestep slot of the block."""
        if self.bus_cols is None:
            chunk.constant[self.key] = self._dots(chunk.inputs[:, self.input_cols])
            chunk.events[:, :, self.key] = np.count_nonzero(chunk.x[:, self.input_cols], axis=1)

    def execute(self, chunk: Chunk) -> None:
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

    def _source(self, chunk: Chunk) -> np.ndarray:
        if self.bus_cols is None:
            return chunk.inputs[:, self.input_cols]
        if self.input_cols is None:
            return chunk.bus[:, self.bus_cols]
        return np.concatenate([chunk.inputs[:, self.input_cols], chunk.bus[:, self.bus_cols]], axis=1)


@dataclass
class BiasStep:
    """Fused bias ACCs of one level."""

    neurons: Index
    bias: np.ndarray
    safe_timesteps: int
    """The longest run in which none of its neurons can saturate (see spikeir.chip.plan)."""

    def execute(self, chunk: Chunk) -> None:
        _add_saturating(chunk.V, self.neurons, self.bias, chunk.timesteps > self.safe_timesteps)


@dataclass
class LeakStep:
    """Fused LEAKs of one level."""

    neurons: Index
    shift: np.ndarray

    def execute(self, chunk: Chunk) -> None:
        v = chunk.V[:, self.neurons]
        chunk.V[:, self.neurons] = v - (v >> self.shift)


@dataclass
class FireStep:
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

    def execute(self, chunk: Chunk) -> None:
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


Step = AccStep | BiasStep | LeakStep | FireStep
"""One step of a plan: every kind has ``execute(chunk)``, which runs it for one timestep."""
