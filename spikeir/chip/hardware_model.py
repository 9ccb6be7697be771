"""The SpikeCore hardware model: what the chip computes, bit for bit, for a batch of inputs at once.

docs/isa.md sections 1-3 are the contract; :class:`SpikeCoreCPU` implements them for B independent
lanes with numpy, vectorised over the lanes, in three layers:

- spikeir.chip.plan builds, at load time, an execution plan from the program: its instructions
  levelled by dependency and fused into steps (its docstring says why, and why the steps are exact);
- spikeir.chip.steps holds those steps and the state of a chunk of lanes they execute on
  (spikeir.chip.conv the im2col of conv ACCs);
- spikeir.chip.accounting turns what the steps recorded into :class:`RunStats`, a block of
  timesteps at a time.

This module loads programs, runs the plan's steps timestep by timestep over chunks of lanes, keeps
the spike log, the probe records (v2) and every lane's final state (so that a run can continue the
previous one, v2), and answers questions about the results.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from spikeir.chip.accounting import Accounts, RunStats, SpikeEvent, run_stats
from spikeir.chip.isa import PROBE_KINDS, ProbeSpec, Program, validate_program
from spikeir.chip.plan import Plan, build_plan
from spikeir.chip.steps import AccStep, BiasStep, Chunk, ConvStep, FireStep, FormedAcc, Stage, Step
from spikeir.chip.target import SPIKECORE_V1, TargetDescription
from spikeir.errors import ProgramError

__all__ = ["RunStats", "SpikeCoreCPU", "SpikeEvent"]

_CHUNK_BYTES = 256 * 2**20
"""Lanes are processed in chunks whose working state stays below about this many bytes."""
_CACHE_CHUNK_BYTES = 16 * 2**20
"""... and, where that leaves at least _CACHE_CHUNK_LANES lanes, below about this many (a share of
the last-level cache): a timestep's elementwise steps then work on state still in cache (the
784-64-10 MLP, rate T = 32, batch 10,000, one run: 98 ms in one chunk, 80 ms in chunks of 2,048 to
4,096 lanes). Runs of one timestep use them too: the conv layer of `spikeir bench --only conv` at
batch 1,000 took 1.50x to 1.67x its limit in such chunks and 1.97x to 1.99x in one (two runs each),
graded MLPs were within noise."""
_CACHE_CHUNK_LANES = 256
_BLOCK_BYTES = 16 * 2**20
"""A chunk's per-timestep records (events, logged payloads) are flushed before they exceed this."""
_STAGE_BYTES = 2**19
"""A chunk runs staged when the buses of a block of at least _STAGE_BLOCK timesteps fit in about this
many bytes (a core's L2 cache), and its blocks are cut to fit: staging saves calls per timestep,
which is what small batches spend their time on; buses that spill to memory cost more than it saves
(the 784-64-10 MLP at T = 32 and 1,000 lanes, one run: 12.5 ms staged with 8 MiB of buses, 10.7 ms
in timestep order)."""
_STAGE_BLOCK = 8
_PROBE_BYTES = {"spikes": 1, "v": 4, "i": 4}
_PROBE_DTYPES = {"spikes": np.int8, "v": np.int32, "i": np.int32}


@dataclass
class _State:
    """Every lane's state at the end of a run (docs/isa.md §3 "State continuation")."""

    plan: Plan
    V: np.ndarray
    """int64, or float32 (integers below 2^24) after a run in float32 state."""
    I: np.ndarray  # noqa: E741
    R: np.ndarray
    ring: np.ndarray
    clock: int
    """Timesteps since the state was fresh."""

    @property
    def batch(self) -> int:
        return int(self.V.shape[0])


@dataclass
class _ProbeWriter:
    """Copies one probe kind's values from a chunk into its records at the end of a timestep."""

    records: np.ndarray
    """(lanes of the chunk, T, count): the chunk's rows of the records."""
    positions: slice | np.ndarray
    """Which neurons of the probe's range have a column (the others stay 0)."""
    array: str
    """The chunk's array to read: ``V``, ``I`` or ``bus``."""
    columns: slice | np.ndarray
    segment: int | None = None
    """For ``V`` and ``I``: the segment of the state the columns are in."""

    def write(self, chunk: Chunk, t: int) -> None:
        source = getattr(chunk, self.array)
        if self.segment is not None:
            source = source[self.segment]
        self.records[:, t, self.positions] = source[:, self.columns]


class SpikeCoreCPU:
    """Bit-exact model of a SpikeCore chip running a program on a batch of inputs.

    The chip is ``target`` (default: ``spikecore-v1`` with ``num_cores`` cores). A program runs when
    it is valid for its own target and fits this chip; membrane state is laid out as its target
    says (``membrane(core)`` has the program target's ``neurons_per_core`` entries).
    ``max_probe_bytes`` bounds the memory a run's probe records may take (docs/isa.md "Probes").
    """

    def __init__(
        self,
        num_cores: int = 128,
        target: TargetDescription | None = None,
        max_spike_log: int = 1_000_000,
        max_probe_bytes: int = 2**28,
    ) -> None:
        self.target = target if target is not None else SPIKECORE_V1.with_options(cores=num_cores)
        if max_spike_log < 0:
            raise ProgramError(f"max_spike_log must be non-negative, got {max_spike_log}", "SpikeCoreCPU")
        if not _is_int(max_probe_bytes) or max_probe_bytes < 0:
            raise ProgramError(
                f"max_probe_bytes must be a non-negative integer, got {max_probe_bytes!r}", "SpikeCoreCPU"
            )
        self.max_spike_log = max_spike_log
        self.max_probe_bytes = int(max_probe_bytes)
        self.stats = RunStats(clock_mhz=self.target.clock_mhz)
        self.spike_log_truncated = False
        self._weights: dict[int, np.ndarray] = {}
        self._program: Program | None = None
        self._plan: Plan | None = None
        self._outputs: np.ndarray | None = None
        self._state: _State | None = None
        self._batched = False
        self._logged_lane = 0
        self._log_parts: list[np.ndarray] = []
        self._log_cache: list[SpikeEvent] | None = None
        self._probes: list[dict[str, np.ndarray]] = []
        self._spikes = np.zeros((0, self.target.cores), np.int64)
        self._layouts: tuple[Plan | None, dict[tuple[ProbeSpec, ...], list[tuple[int, str, _ProbeWriter]]]] = (None, {})

    # -- loading --------------------------------------------------------------------------------

    def load_weights(self, layer_id: int, w_int8: np.ndarray) -> None:
        """Set synapse table ``layer_id``, overriding the program's table of that id (now and for
        every later load_program). The state of the last run is discarded."""
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
        self._state = None

    def load_program(self, program: Program) -> None:
        """Validate ``program`` (with the weights given to load_weights) and plan its execution."""
        self._plan = self._make_plan(program)
        self._program = program
        self._outputs = None
        self._state = None
        self._probes = []

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

    def run(
        self,
        input_int8: np.ndarray,
        timesteps: int | None = None,
        lane_to_log: int = 0,
        *,
        continue_state: bool = False,
        probes: list[ProbeSpec] | None = None,
    ) -> np.ndarray:
        """Run the loaded program on one input or a batch (docs/isa.md §3 "Interface").

        Direct input: a vector ``(n_inputs,)`` or a batch ``(B, n_inputs)``, for ``timesteps`` (1
        when omitted). Streamed input (a program with ``.inputs N stream``): ``(T, n_inputs)`` or
        ``(B, T, n_inputs)``; ``timesteps``, if given, must be T. ``continue_state`` starts from the
        state the previous run ended with instead of afresh; ``probes`` replaces the program's
        probes for this run. Returns the spikes each core emitted: shape (cores,) for one lane,
        (B, cores) for a batch.
        """
        plan = self._plan
        if plan is None:
            raise ProgramError("no program is loaded: call load_program first", "run")
        lanes, batched, timesteps = _check_input(input_int8, plan.program, timesteps)
        batch = lanes.shape[0]
        if not _is_int(lane_to_log) or not 0 <= lane_to_log < batch:
            raise ProgramError(f"lane_to_log must be a lane of the batch (0..{batch - 1}), got {lane_to_log!r}", "run")
        lane_to_log = int(lane_to_log)
        specs = plan.program.probes if probes is None else _check_probes(plan, probes)
        if specs:
            self._check_probe_bytes(specs, batch, timesteps)
        previous = self._continued(plan, batch) if continue_state else None
        self._run(plan, lanes, timesteps, lane_to_log, specs, previous)
        self._batched = batched
        self._logged_lane = lane_to_log
        spikes = self._spikes
        return spikes if batched else spikes[0]

    def _probe_layout(self, plan: Plan, specs: list[ProbeSpec]) -> list[tuple[int, str, _ProbeWriter]]:
        """:func:`_probe_layout`, computed once per loaded plan and probe list (not per run and chunk)."""
        if self._layouts[0] is not plan:
            self._layouts = (plan, {})
        key = tuple(specs)
        if key not in self._layouts[1]:
            self._layouts[1][key] = _probe_layout(plan, specs)
        return self._layouts[1][key]

    def _continued(self, plan: Plan, batch: int) -> _State:
        """The state a continued run starts from, if it may continue it."""
        state = self._state
        if state is None or state.plan is not plan:
            raise ProgramError(
                "continue_state=True but there is no previous run of this program and weights to continue "
                "(load_program and load_weights discard the state)",
                "run",
            )
        if state.batch != batch:
            raise ProgramError(
                f"continue_state=True needs the previous run's batch size: it ran {state.batch} lanes, this input has {batch}",
                "run",
            )
        return state

    def _check_probe_bytes(self, specs: list[ProbeSpec], batch: int, timesteps: int) -> None:
        per_step = sum(spec.count * _PROBE_BYTES[kind] for spec in specs for kind in spec.kinds)
        needed = batch * timesteps * per_step
        if needed > self.max_probe_bytes:
            raise ProgramError(
                f"the probe records would take {needed} bytes (B={batch} x T={timesteps} x {per_step} bytes per "
                f"timestep), over max_probe_bytes={self.max_probe_bytes}: probe fewer neurons or kinds, run fewer "
                "timesteps, continue shorter runs (continue_state=True), or raise max_probe_bytes",
                "run",
            )

    def _run(
        self,
        plan: Plan,
        lanes: np.ndarray,
        timesteps: int,
        lane_to_log: int,
        specs: list[ProbeSpec],
        previous: _State | None,
    ) -> None:
        batch = lanes.shape[0]
        cores = self.target.cores
        accounts = Accounts(0, 0, 0, 0, np.zeros(cores, np.int64), 0)
        spikes = np.zeros((batch, cores), np.int64)
        outputs = np.zeros((batch, plan.output_columns.size), np.int64)
        records = [
            {kind: np.zeros((batch, timesteps, spec.count), _PROBE_DTYPES[kind]) for kind in spec.kinds}
            for spec in specs
        ]
        self._log_parts = []
        self._log_cache = None
        self.spike_log_truncated = False
        clock = previous.clock if previous is not None else 0
        per_lane = _bytes_per_lane(plan, lanes)
        chunk_size = max(1, min(_CHUNK_BYTES // per_lane, max(_CACHE_CHUNK_LANES, _CACHE_CHUNK_BYTES // per_lane)))
        steps = _scheduled_steps(plan, clock + timesteps)
        # A stage at a time where the plan allows it (spikeir.chip.plan, "Stages") and no probe reads
        # the state between timesteps.
        staged = (
            plan.stages is not None
            and not specs
            and not plan.program.streamed_input
            and _STAGE_BYTES // max(1, 4 * min(batch, chunk_size) * plan.n_bus) >= min(timesteps, _STAGE_BLOCK)
        )
        final: _State | None = None
        nonzero = 0
        for start in range(0, batch, chunk_size):
            stop = min(batch, start + chunk_size)
            log_row = lane_to_log - start if start <= lane_to_log < stop else None
            chunk = _start_chunk(plan, lanes[start:stop], timesteps, clock, log_row, previous, start, staged)
            writers = (
                _probe_writers(
                    self._probe_layout(plan, specs), [{k: r[start:stop] for k, r in rec.items()} for rec in records]
                )
                if specs
                else []
            )
            self._run_chunk(plan, steps, chunk, lanes[start:stop], timesteps, clock, writers, accounts)
            nonzero += _nonzero_inputs(plan, chunk)
            for step, counts in zip(plan.fire_steps, chunk.fire_counts):
                spikes[start:stop, step.segment_cores] += step.core_spikes(counts)
            V, I, R = _joined(chunk.V), _joined(chunk.I), _joined(chunk.R)  # noqa: E741
            outputs[start:stop] = V[:, plan.output_index]
            final = _keep_state(plan, final, (V, I, R, chunk.ring), start, stop, batch, clock + timesteps)
        assert final is not None
        self._state = final
        self._outputs = outputs
        self._spikes = spikes
        self._probes = records
        streamed = plan.program.streamed_input
        input_events = nonzero * (1 if streamed else timesteps)
        self.stats = run_stats(plan, accounts, spikes, input_events, timesteps, batch, self.target)

    def _run_chunk(
        self,
        plan: Plan,
        steps: list[Step],
        chunk: Chunk,
        x: np.ndarray,
        timesteps: int,
        clock: int,
        writers: list[_ProbeWriter],
        accounts: Accounts,
    ) -> None:
        """Every timestep of one chunk of lanes, a block of timesteps at a time."""
        block = chunk.events.shape[0]
        plain = not plan.program.streamed_input and not writers and plan.ring_push is None
        stages = _scheduled_stages(plan, steps) if chunk.deferred else None
        for first in range(0, timesteps, block):
            filled = min(block, timesteps - first)
            if stages is not None:
                _run_block_staged(stages, chunk, filled)
            elif plain:
                _run_block(plan, steps, chunk, first, filled)
            else:
                _run_block_v2(plan, steps, chunk, x, first, filled, clock, writers)
            self._flush(plan, chunk, filled, first, accounts)

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

    def get_probes(self) -> list[dict[str, np.ndarray]]:
        """The last run's probe records: per probe, in probe order, ``kind -> array`` of shape
        (B, T, count), or (T, count) for an unbatched input (int8 spikes, int32 v and i)."""
        if self._outputs is None:
            raise ProgramError("no results yet: call run first", "get_probes")
        if self._batched:
            return self._probes
        return [{kind: values[0] for kind, values in record.items()} for record in self._probes]

    def outputs(self) -> np.ndarray:
        """V of the program's declared output ranges after the last run: (B, n_out) or (n_out,)."""
        if self._outputs is None:
            raise ProgramError("no results yet: call run first", "outputs")
        return self._outputs if self._batched else self._outputs[0]

    def get_output_activations(self, core_ids: list[int] | range | np.ndarray) -> np.ndarray:
        """V (lane 0) of the neurons any instruction targets on each of ``core_ids``, concatenated
        in that order."""
        plan, row = self._result_row(0, "v")
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
        return np.concatenate(values).astype(np.int64) if values else np.zeros(0, np.int64)

    def membrane(self, core: int, lane: int | None = None, compartment: str = "v") -> np.ndarray:
        """V (or, with ``compartment="i"``, I) of every neuron of ``core`` after the last run, for
        ``lane`` (default: the logged lane)."""
        if compartment not in ("v", "i"):
            raise ProgramError(f"compartment must be 'v' or 'i', got {compartment!r}", "membrane")
        lane = self._logged_lane if lane is None else lane
        plan, row = self._result_row(lane, compartment)
        self._check_core(plan, core)
        npc = plan.program.target.neurons_per_core
        values = np.zeros(npc, np.int64)
        first, last = np.searchsorted(plan.neuron_ids, [core * npc, (core + 1) * npc])
        values[plan.neuron_ids[first:last] - core * npc] = row[first:last]
        return values

    def _result_row(self, lane: int, compartment: str) -> tuple[Plan, np.ndarray]:
        state = self._state
        if self._plan is None or self._outputs is None or state is None:
            raise ProgramError("no results yet: call run first", "SpikeCoreCPU")
        if not _is_int(lane) or not 0 <= lane < state.batch:
            raise ProgramError(f"lane {lane!r} is not a lane of the last run (0..{state.batch - 1})", "SpikeCoreCPU")
        values = state.I if compartment == "i" else state.V
        if values.shape[1] == 0:  # the program never uses I: it stays 0
            return self._plan, np.zeros(self._plan.n_neurons, np.int64)
        return self._plan, values[int(lane)]

    @staticmethod
    def _check_core(plan: Plan, core: int) -> None:
        cores = plan.program.target.cores
        if not 0 <= core < cores:
            raise ProgramError(f"core {core} is out of range 0..{cores - 1}", "SpikeCoreCPU")


def _scheduled_steps(plan: Plan, timesteps: int) -> list[Step]:
    """The plan's steps for a run ending ``timesteps`` after a fresh state, without the bias steps
    that input-only ACC steps fold into their products in such a run."""
    folded = [id(step.bias) for step in plan.acc_steps if isinstance(step, AccStep) and step.folds_bias(timesteps)]
    return [step for step in plan.steps if id(step) not in folded]


def _run_block(plan: Plan, steps: list[Step], chunk: Chunk, first: int, filled: int) -> None:
    """``filled`` timesteps from ``first`` of a program with nothing to do between timesteps but
    the bus clear (v1's loop: direct input, no probes, no delays)."""
    clear_bus = plan.clear_bus
    for slot in range(filled):
        chunk.record = chunk.events[slot]
        chunk.log_record = chunk.log[slot]
        if clear_bus and first + slot:
            chunk.bus[:] = 0
        for step in steps:
            step.execute(chunk)


def _nonzero_inputs(plan: Plan, chunk: Chunk) -> int:
    """The nonzero payloads of a chunk's input (each timestep's, for a stream): a direct-input ACC
    step that reads the whole port has counted them per lane already (its events)."""
    port = slice(0, plan.program.n_inputs)
    if not plan.program.streamed_input:
        for step in plan.acc_steps:
            if isinstance(step, AccStep) and step.direct and step.source.input_cols == port:
                return int(chunk.events[0, :, step.key].sum())
    return int(np.count_nonzero(chunk.x))


def _scheduled_stages(plan: Plan, steps: list[Step]) -> list[Stage]:
    """The plan's stages with only the steps this run executes (``steps``: folded biases left out)."""
    assert plan.stages is not None
    kept = {id(step) for step in steps}
    return [
        Stage([step for step in stage.steps if id(step) in kept], stage.formed, stage.linear) for stage in plan.stages
    ]


def _run_block_staged(stages: list[Stage], chunk: Chunk, filled: int) -> None:
    """``filled`` timesteps of a plain program, a stage at a time (spikeir.chip.plan, "Stages"): the
    buses of the block are kept in ``chunk.history``, one row per timestep."""
    assert chunk.history is not None
    history = chunk.history[:filled]
    for stage in stages:
        formed = {id(step): FormedAcc(step, step.form_block(chunk, history)) for step in stage.formed}
        if stage.linear and not any(_may_saturate(step, chunk) for step in stage.steps):
            _add_block_sums(stage, chunk, formed, filled)
        else:
            steps = [formed.get(id(step), step) for step in stage.steps]
            for slot in range(filled):
                chunk.slot = slot
                chunk.bus = history[slot]
                chunk.record = chunk.events[slot]
                chunk.log_record = chunk.log[slot]
                for step in steps:
                    step.execute(chunk)
        for step in stage.steps:
            if isinstance(step, FireStep):
                step.account_block(chunk, history)


def _may_saturate(step: Step, chunk: Chunk) -> bool:
    """Whether the int32 clip of this ACC or bias step may act in the chunk's run."""
    return isinstance(step, AccStep | BiasStep) and chunk.timesteps > step.safe_timesteps


def _add_block_sums(stage: Stage, chunk: Chunk, formed: dict[int, FormedAcc], filled: int) -> None:
    """A linear stage over a block in which none of its steps can saturate: each step's sum over the
    block added once (exact integers, so the order of the additions does not matter)."""
    for step in stage.steps:
        assert isinstance(step, AccStep | BiasStep)
        if isinstance(step, BiasStep):
            total = (step.bias_f32 if chunk.float_state else step.bias) * filled
        elif id(step) in formed:
            total = formed[id(step)].dots.sum(axis=0)
        else:
            total = chunk.constant[step.key] * filled
        X = chunk.state[step.compartment][step.segment]
        if isinstance(step.neurons, slice):
            X[:, step.neurons] += total
        else:
            X[:, step.neurons] = X[:, step.neurons] + total


def _run_block_v2(
    plan: Plan,
    steps: list[Step],
    chunk: Chunk,
    x: np.ndarray,
    first: int,
    filled: int,
    clock: int,
    writers: list[_ProbeWriter],
) -> None:
    """As :func:`_run_block`, with a streamed input (the block's input-only products formed at
    once), probe records and the ring of past buses."""
    clear_bus, push = plan.clear_bus, plan.ring_push
    stream = None
    if plan.program.streamed_input:
        given = x[:, first : first + filled]
        stream = given.astype(np.float32)  # (lanes, block, n_inputs)
        for step in plan.acc_steps:
            step.prepare_block(chunk, stream, given)
    for slot in range(filled):
        t = first + slot
        chunk.record = chunk.events[slot]
        chunk.log_record = chunk.log[slot]
        chunk.slot = slot
        chunk.clock = clock + t
        if stream is not None:
            chunk.inputs = stream[:, slot]
        if clear_bus and t:
            chunk.bus[:] = 0
        for step in steps:
            step.execute(chunk)
        for writer in writers:
            writer.write(chunk, t)
        if push is not None:
            push.execute(chunk)


def _is_int(value: object) -> bool:
    """A Python or numpy integer, but not a bool (``True`` as a timestep count is a caller's slip)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_input(data: object, program: Program, timesteps: int | None) -> tuple[np.ndarray, bool, int]:
    """The input as a lane-major array ((B, n) direct, (B, T, n) streamed), whether it was batched,
    and T (docs/isa.md "Interface": the shapes, dtypes and values a run accepts)."""
    x = np.asarray(data)
    n_inputs = program.n_inputs
    if not np.issubdtype(x.dtype, np.integer):
        raise ProgramError(
            f"input must hold int8 payloads (integers in [-128, 127]), got dtype {x.dtype}: quantize it first", "input"
        )
    if timesteps is not None and (not _is_int(timesteps) or int(timesteps) < 1):
        raise ProgramError(f"timesteps must be a positive integer, got {timesteps!r}", "run")
    if program.streamed_input:
        if x.ndim not in (2, 3) or x.shape[-1] != n_inputs or 0 in x.shape[:-1]:
            raise ProgramError(
                f"streamed input must have shape (T, {n_inputs}) or (batch, T, {n_inputs}) with batch, T >= 1, "
                f"got {x.shape}",
                "input",
            )
        if timesteps is not None and int(timesteps) != x.shape[-2]:
            raise ProgramError(f"timesteps={timesteps} differs from the stream's length T={x.shape[-2]}", "run")
        steps = int(x.shape[-2])
    else:
        if x.ndim not in (1, 2) or x.shape[-1] != n_inputs or (x.ndim == 2 and x.shape[0] == 0):
            raise ProgramError(
                f"input must have shape ({n_inputs},) or (batch, {n_inputs}) with batch >= 1, got {x.shape}", "input"
            )
        steps = 1 if timesteps is None else int(timesteps)
    if x.dtype != np.int8 and x.size:
        low, high = int(x.min()), int(x.max())
        if low < -128 or high > 127:
            raise ProgramError(f"input payloads must lie in [-128, 127] (int8), got values in [{low}, {high}]", "input")
    batched = x.ndim == (3 if program.streamed_input else 2)
    return (x if batched else x[None]), batched, steps


def _check_probes(plan: Plan, probes: object) -> list[ProbeSpec]:
    """Probes given to run: the rules of docs/isa.md "Static validity" for probes."""
    if not isinstance(probes, list | tuple) or not all(isinstance(p, ProbeSpec) for p in probes):
        raise ProgramError("probes must be a list of ProbeSpec", "run")
    target = plan.program.target
    for index, probe in enumerate(probes):
        where = f"probe {index}"
        if not (0 <= probe.core < target.cores and probe.count >= 1 and 0 <= probe.base):
            raise ProgramError(f"c{probe.core}[{probe.base}:{probe.base + probe.count}] is not a neuron range", where)
        if probe.base + probe.count > target.neurons_per_core:
            raise ProgramError(
                f"neurons [{probe.base}:{probe.base + probe.count}] exceed core {probe.core}'s "
                f"{target.neurons_per_core} neurons",
                where,
            )
        if not probe.kinds:
            raise ProgramError(f"a probe must record at least one of {', '.join(PROBE_KINDS)}", where)
        if not probe.spikes:
            continue
        covered = _fire_cover(plan, probe)
        if bool((covered != 1).any()):
            bad = int(np.flatnonzero(covered != 1)[0])
            raise ProgramError(
                f"a spike probe needs every neuron covered by exactly one FIRE; neuron c{probe.core}[{probe.base + bad}] "
                f"is covered by {int(covered[bad])}",
                where,
            )
    return list(probes)


def _fire_cover(plan: Plan, probe: ProbeSpec) -> np.ndarray:
    """How many FIREs cover each neuron of ``probe``: sized by the probe, not the target (65535 x 65535 is 32 GiB)."""
    covered = np.zeros(probe.count, np.int64)
    end = probe.base + probe.count
    for fire in plan.fires:
        if fire.core == probe.core:
            low, high = max(fire.base, probe.base), min(fire.base + fire.count, end)
            if low < high:
                covered[low - probe.base : high - probe.base] += 1
    return covered


def _bytes_per_lane(plan: Plan, lanes: np.ndarray) -> int:
    """About what one lane of a chunk holds while it runs: its state, bus, input and scratch."""
    n, n_inputs = plan.n_neurons, plan.program.n_inputs
    state = 8 * (3 * n + plan.program.target.cores) + 4 * plan.n_bus + (4 + lanes.itemsize) * n_inputs
    state += 8 * n * (int(plan.uses_current) + int(plan.uses_refractory))
    return state + 4 * plan.max_delay * plan.ring_width + plan.scratch_per_lane


def _block_length(plan: Plan, lanes: int, timesteps: int, log_width: int, staged: bool) -> int:
    """Timesteps per block: the records of a block stay below _BLOCK_BYTES, the buses of a staged
    run's block below _STAGE_BYTES, and for a streamed input the block's inputs and precomputed
    products below _CHUNK_BYTES."""
    block = max(1, min(timesteps, _BLOCK_BYTES // max(1, 8 * lanes * plan.records + log_width)))
    if staged:
        block = max(1, min(block, _STAGE_BYTES // max(1, 4 * lanes * plan.n_bus)))
    if plan.program.streamed_input:
        rows = sum(step.neurons_count for step in plan.acc_steps if step.precomputed)
        per_input = lanes * (4 * plan.program.n_inputs + 8 * rows + plan.scratch_per_lane)
        block = max(1, min(block, _CHUNK_BYTES // max(1, per_input)))
    return block


def _start_chunk(
    plan: Plan,
    x: np.ndarray,
    timesteps: int,
    clock: int,
    log_row: int | None,
    previous: _State | None,
    start: int,
    staged: bool,
) -> Chunk:
    """A chunk's state: fresh (V at its initial values) or the previous run's rows of these lanes;
    a ``staged`` one keeps the buses of a block (:func:`_run_block_staged`)."""
    lanes = x.shape[0]
    n = plan.n_neurons
    n_log = plan.log_cores.size if log_row is not None else 0
    streamed = plan.program.streamed_input
    block = _block_length(plan, lanes, timesteps, n_log, staged)
    rows = slice(start, start + lanes)
    history = np.zeros((block, lanes, plan.n_bus), np.float32) if staged else None
    inputs = np.zeros((lanes, plan.program.n_inputs), np.float32) if streamed else x.astype(np.float32)
    direct = [step for step in plan.acc_steps if isinstance(step, AccStep) and step.direct]
    products = [step.direct_product(inputs) for step in direct]
    begin = np.abs(previous.V[rows]).max(axis=0, initial=0).astype(np.float64) if previous is not None else None
    float_state = plan.float_state(timesteps, _peaks(plan, direct, products), begin)
    state = np.float32 if float_state else np.int64
    if previous is not None:
        V = _segmented(plan, previous.V[rows].astype(state))
        current, R, ring = previous.I[rows], previous.R[rows], previous.ring[:, rows].copy()
    else:
        V = [np.repeat(plan.init_V[None, segment].astype(state), lanes, axis=0) for segment in plan.segments]
        unused = np.zeros((lanes, 0), np.int64)  # a state the program never touches has no columns
        current = np.zeros((lanes, n), np.int64) if plan.uses_current else unused
        R = np.zeros((lanes, n), np.int64) if plan.uses_refractory else unused
        ring = np.zeros((plan.max_delay, lanes, plan.ring_width), np.float32)
    chunk = Chunk(
        V=V,
        I=_segmented(plan, current),
        R=_segmented(plan, R),
        inputs=inputs,
        bus=history[0] if history is not None else np.zeros((lanes, plan.n_bus), np.float32),
        x=x,
        timesteps=clock + timesteps,
        fire_counts=[np.zeros((lanes, step.param.size), state) for step in plan.fire_steps],
        events=np.zeros((block, lanes, plan.records)),
        record=np.zeros(0),
        log_row=log_row,
        log=np.zeros((block, n_log), np.int8),
        log_record=np.zeros(0, np.int8),
        ring=ring,
        float_state=float_state,
        clock=clock,
        history=history,
        deferred=history is not None,
    )
    for step, product in zip(direct, products):
        step.prepare(chunk, product)
    if not streamed:
        for conv in plan.acc_steps:
            if isinstance(conv, ConvStep):
                conv.prepare(chunk)
    return chunk


def _peaks(plan: Plan, steps: list[AccStep], products: list[np.ndarray]) -> np.ndarray:
    """Per column of V, the largest ``|product|`` over the lanes that the direct steps add to it
    every timestep (:meth:`Plan.float_state` bounds V with it)."""
    peaks = np.zeros(plan.n_neurons, np.float64)
    for step, product in zip(steps, products):
        if product.size:
            peaks[plan.segments[step.segment].start :][step.neurons] += np.maximum(
                product.max(axis=0), -product.min(axis=0)
            )
    return peaks


def _segmented(plan: Plan, state: np.ndarray) -> list[np.ndarray]:
    """A (lanes, neurons) state (or an unused (lanes, 0) one) as one contiguous array per segment."""
    if state.shape[1] == 0:
        return [state] * len(plan.segments)
    return [state[:, segment].copy() for segment in plan.segments]


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """The segments of a state side by side again (V stays float32 after a float32 run: its values
    are integers, converted where they are read)."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


def _probe_layout(plan: Plan, specs: list[ProbeSpec]) -> list[tuple[int, str, _ProbeWriter]]:
    """Where the end of each timestep reads each probe kind's values: per writer its probe's index,
    its kind, and the writer with empty records (filled in per chunk by :func:`_probe_writers`)."""
    empty = np.zeros((0, 0, 0), np.int8)
    layout: list[tuple[int, str, _ProbeWriter]] = []
    for index, spec in enumerate(specs):
        positions, columns = plan.columns_of(spec.core, spec.base, spec.count)
        for kind in spec.kinds:
            if kind == "spikes":
                # Each neuron has exactly one FIRE (checked): its payload is at that FIRE's destination.
                neurons = np.arange(spec.base, spec.base + spec.count)
                addresses = np.zeros(spec.count, np.int64)
                for fire in plan.fires:
                    if fire.core == spec.core:
                        inside = (neurons >= fire.base) & (neurons < fire.base + fire.count)
                        addresses[inside] = fire.dst + neurons[inside] - fire.base
                bus = _as_index(plan.bus_columns(addresses))
                layout.append((index, kind, _ProbeWriter(empty, slice(None), "bus", bus)))
            elif kind == "i" and not plan.uses_current:
                continue  # I stays 0, as the records already are
            else:
                for segment, piece in enumerate(plan.segments):
                    inside = (columns >= piece.start) & (columns < piece.stop)
                    if inside.any():
                        where = _as_index(positions[inside])
                        cols = _as_index(columns[inside] - piece.start)
                        layout.append((index, kind, _ProbeWriter(empty, where, kind.upper(), cols, segment)))
    return layout


def _probe_writers(
    layout: list[tuple[int, str, _ProbeWriter]], records: list[dict[str, np.ndarray]]
) -> list[_ProbeWriter]:
    """What the end of each timestep copies into the probe records of one chunk."""
    return [dataclasses.replace(writer, records=records[index][kind]) for index, kind, writer in layout]


def _keep_state(
    plan: Plan,
    final: _State | None,
    chunk: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    start: int,
    stop: int,
    batch: int,
    clock: int,
) -> _State:
    """Every lane's final state from a chunk's (V, I, R, ring): its own arrays when one chunk holds
    the batch, else the chunks' rows copied into whole-batch arrays."""
    V, I, R, ring = chunk  # noqa: E741
    if start == 0 and stop == batch:
        return _State(plan, V, I, R, ring, clock)
    if final is None:
        final = _State(
            plan,
            np.zeros((batch, V.shape[1]), np.int64),
            np.zeros((batch, I.shape[1]), np.int64),
            np.zeros((batch, R.shape[1]), np.int64),
            np.zeros((ring.shape[0], batch, ring.shape[2]), np.float32),
            clock,
        )
    final.V[start:stop] = V
    final.I[start:stop] = I
    final.R[start:stop] = R
    final.ring[:, start:stop] = ring
    return final


def _as_index(values: np.ndarray) -> slice | np.ndarray:
    if values.size and np.array_equal(values, np.arange(values[0], values[0] + values.size)):
        return slice(int(values[0]), int(values[0]) + int(values.size))
    return values
