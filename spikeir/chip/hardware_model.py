"""The SpikeCore hardware model: what the chip computes, bit for bit, for a batch of inputs at once.

docs/isa.md sections 1-3 are the contract; :class:`SpikeCoreCPU` implements them for B independent
lanes with numpy, vectorised over the lanes, in three layers:

- spikeir.chip.plan builds, at load time, an execution plan from the program: its instructions
  levelled by dependency and fused into steps (its docstring says why, and why the steps are exact);
- spikeir.chip.steps holds those steps and the state of a chunk of lanes they execute on;
- spikeir.chip.accounting turns what the steps recorded into :class:`RunStats`, a block of
  timesteps at a time.

This module loads programs, runs the plan's steps timestep by timestep over chunks of lanes, keeps
the spike log and answers questions about the results.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from spikeir.chip.accounting import Accounts, RunStats, SpikeEvent, run_stats
from spikeir.chip.isa import Program, validate_program
from spikeir.chip.plan import Plan, build_plan
from spikeir.chip.steps import Chunk
from spikeir.chip.target import SPIKECORE_V1, TargetDescription
from spikeir.errors import ProgramError

__all__ = ["RunStats", "SpikeCoreCPU", "SpikeEvent"]

_CHUNK_BYTES = 256 * 2**20
"""Lanes are processed in chunks whose working state stays below about this many bytes."""
_BLOCK_BYTES = 16 * 2**20
"""A chunk's per-timestep records (events, logged payloads) are flushed before they exceed this."""


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
        self._plan: Plan | None = None
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

    def _make_plan(self, program: Program) -> Plan:
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
        return build_plan(program, tables, self.target)

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
        accounts = Accounts(0, 0, 0, 0, np.zeros(cores, np.int64), 0)
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
        self.stats = run_stats(
            plan, accounts, spikes, int(np.count_nonzero(lanes)) * timesteps, timesteps, batch, self.target
        )
        return spikes if batched else spikes[0]

    def _start_chunk(self, plan: Plan, x: np.ndarray, timesteps: int, log_row: int | None) -> Chunk:
        lanes = x.shape[0]
        n_log = plan.log_cores.size if log_row is not None else 0
        block = max(1, min(timesteps, _BLOCK_BYTES // max(1, 8 * lanes * plan.records + n_log)))
        chunk = Chunk(
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

    def _flush(self, plan: Plan, chunk: Chunk, filled: int, first: int, accounts: Accounts) -> None:
        """Fold ``filled`` recorded timesteps, starting at timestep ``first``, into the counters
        and the spike log."""
        accounts.add_block(plan, chunk.events[:filled])
        if chunk.log_row is None:
            return
        timesteps, positions = np.nonzero(chunk.log[:filled])
        room = self.max_spike_log - accounts.logged
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
        accounts.logged += int(positions.size)

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

    def _result_row(self, lane: int) -> tuple[Plan, np.ndarray]:
        if self._plan is None or self._outputs is None:
            raise ProgramError("no results yet: call run first", "SpikeCoreCPU")
        if lane not in self._final_rows:
            raise ProgramError(
                f"lane {lane} was not kept: only lane 0 and the logged lane ({self._logged_lane}) are", "SpikeCoreCPU"
            )
        return self._plan, self._final_rows[lane]

    @staticmethod
    def _check_core(plan: Plan, core: int) -> None:
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
