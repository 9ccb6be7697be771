"""The steps of an execution plan and the state of a chunk of lanes they execute on.

A step is a group of independent instructions of one kind that :mod:`spikeir.chip.plan` fused into
one numpy operation over every lane of a chunk: the ACCs of a dependency level that read the same
bus range become one matrix product, its FIREs one vectorised requantization, its conv ACCs of one
kernel one im2col product (:mod:`spikeir.chip.conv`). The choices made when planning (float32 or
float64 products, where the int32 clip can be skipped) are explained in that module's docstring;
here they are only obeyed. A chunk whose run keeps V in float32 (``Chunk.float_state``) gets the
float products as they are; otherwise they are converted to int64 first.

ISA v2 state: besides V, a chunk holds I (the current, only when the program uses it), R (the
refractory counters, only when some FIRE has a refractory period) and the ring of past buses that
delayed ACCs read (only when some ACC has a delay).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spikeir.chip.conv import ConvKernel, convolve
from spikeir.chip.isa import INT32_MAX, INT32_MIN

Index = slice | np.ndarray
"""Columns of a state array: a slice when they form one ascending run (a view), else an array."""

_INT32_MIN = np.int64(INT32_MIN)
_INT32_MAX = np.int64(INT32_MAX)
"""The int32 bounds as numpy scalars, so a clip stays in int64 without converting them each call."""

V = 0
"""Index of V in :attr:`Chunk.state` (I is 1)."""


def count_events(nonzero: np.ndarray, axis: int) -> np.ndarray:
    """How many entries are nonzero along ``axis``, summed in the narrowest unsigned integer that
    holds the count: half the time of numpy's int64 count on a 10,000 x 784 batch."""
    length = nonzero.shape[axis]
    dtype = np.uint8 if length < 2**8 else np.uint16 if length < 2**16 else np.int64
    return np.add.reduce(nonzero, axis=axis, dtype=dtype)


def _add_saturating(X: np.ndarray, columns: Index, values: np.ndarray, saturate: bool) -> None:
    """``X[:, columns] = sat32(X[:, columns] + values)``, in place when the columns are a slice; the
    clip only where ``saturate`` says it can act (the plan decides where, see spikeir.chip.plan)."""
    if isinstance(columns, slice):
        view = X[:, columns]
        view += values
        if saturate:
            view.clip(_INT32_MIN, _INT32_MAX, out=view)
    elif saturate:
        X[:, columns] = np.clip(X[:, columns] + values, _INT32_MIN, _INT32_MAX)
    else:
        X[:, columns] += values


@dataclass
class Chunk:
    """The state of a chunk of lanes during a run."""

    V: list[np.ndarray]
    """Per segment of the state (:attr:`spikeir.chip.plan.Plan.segments`), (lanes, its neurons):
    membrane potentials of the neurons the program touches, int64, or float32 when ``float_state``."""
    I: list[np.ndarray]  # noqa: E741  (docs/isa.md's name for the current)
    """Per segment, (lanes, its neurons) int64: their currents (v2; (lanes, 0) when the program
    never uses I)."""
    R: list[np.ndarray]
    """Per segment, (lanes, its neurons) int64: their refractory counters (v2; (lanes, 0) when no
    FIRE has one)."""
    inputs: np.ndarray
    """(lanes, n_inputs) float32: the input port (int8 values) at the current timestep."""
    bus: np.ndarray
    """(lanes, addresses) float32: payloads of the other bus addresses the program touches."""
    x: np.ndarray
    """(lanes, n_inputs): the direct input's payloads as given (integers); unused for a stream."""
    timesteps: int
    """Timesteps since the state was fresh at the end of this run: whether a step must saturate
    depends on it (a continued run counts the runs it continues)."""
    fire_counts: list[np.ndarray]
    """Per FIRE step, (lanes, neurons of the step), int64 (float32 with ``float_state``): each
    neuron's spikes so far (summed per core at the end of the run, not every timestep)."""
    events: np.ndarray
    """(block, lanes, columns) float64: per timestep of the block, what each ACC step read (see
    :attr:`spikeir.chip.plan.Plan.records`)."""
    record: np.ndarray
    """``events[slot]``: the current timestep's row of ``events``."""
    log_row: int | None
    """Row of the logged lane in this chunk, while its events are still being logged."""
    log: np.ndarray
    """(block, FIRE neurons) int8: the logged lane's payloads per timestep, in program order."""
    log_record: np.ndarray
    """``log[slot]``: the current timestep's row of ``log``."""
    ring: np.ndarray
    """(D, lanes, delayed addresses) float32: the bus of the last D timesteps at the addresses
    delayed ACCs read (v2; D = 0 without delays); timestep c is in row ``c % D``."""
    float_state: bool = False
    """Whether V is float32 in this run: it provably stays below 2^24 (spikeir.chip.plan)."""
    clock: int = 0
    """Timesteps since the state was fresh, at the current timestep (indexes the ring)."""
    slot: int = 0
    """The current timestep's row in the block (streamed inputs' precomputed products)."""
    constant: dict[int, np.ndarray] = field(default_factory=dict)
    """Input-only ACC steps: their dot products, the same every timestep (direct input, (lanes,
    neurons)), or per timestep of the block (streamed input, (lanes, block, neurons))."""
    history: np.ndarray | None = None
    """Staged runs (:class:`Stage`): (block, lanes, addresses) float32, the bus of every timestep of
    the block; ``bus`` is the current timestep's row."""
    deferred: bool = False
    """Whether FIREs leave their spike counts and log to :meth:`FireStep.account_block` (staged
    runs: the history holds every payload they wrote in the block)."""
    state: tuple[list[np.ndarray], list[np.ndarray]] = field(init=False)
    """(V, I): the compartment an ACC, bias or LEAK step acts on, by index."""

    def __post_init__(self) -> None:
        self.state = (self.V, self.I)


@dataclass(frozen=True)
class Source:
    """Where an ACC step's payloads come from: the current bus (input port and FIRE destinations)
    or, with a delay, the ring of past buses."""

    input_cols: slice | None
    """The source's columns in the input port, if any (delay 0)."""
    bus_cols: slice | None
    """The source's columns in the rest of the bus, if any (delay 0)."""
    delay: int = 0
    ring_cols: slice | None = None
    """With a delay: the source's columns in the ring."""

    @property
    def input_only(self) -> bool:
        """Whether it reads only the current input port: its products can be formed ahead of time."""
        return self.delay == 0 and self.bus_cols is None

    def read(self, chunk: Chunk) -> np.ndarray:
        if self.delay:
            return chunk.ring[(chunk.clock - self.delay) % chunk.ring.shape[0]][:, self.ring_cols]
        if self.bus_cols is None:
            return chunk.inputs[:, self.input_cols]
        if self.input_cols is None:
            return chunk.bus[:, self.bus_cols]
        return np.concatenate([chunk.inputs[:, self.input_cols], chunk.bus[:, self.bus_cols]], axis=1)


@dataclass
class AccStep:
    """Fused synaptic ACCs of one level that read the same bus range (with the same delay) into
    the same compartment."""

    key: int
    """This step's column in the chunk's event records, and its key in the chunk's constants."""
    intra_key: int
    """The column of its intra-core deliveries in the event records (-1: it has none)."""
    source: Source
    neurons: Index
    """Its columns within its segment of the state."""
    segment: int = field(default=0, kw_only=True)
    """The segment of the state it acts on (spikeir.chip.plan, :attr:`Plan.segments`)."""
    weights: np.ndarray
    """(len, rows) contiguous, float32 when exact (see spikeir.chip.plan), else float64; when
    ``counted``, followed by a column of ones and (with intra-core deliveries) ``intra_weight``."""
    cores: np.ndarray
    """Distinct cores of the members, and the rows each runs (a core spends a cycle per row and event)."""
    core_rows: np.ndarray
    rows: int
    members: int
    intra_weight: np.ndarray | None
    """Per source address (float64): how many members run on the core whose FIRE writes it (None: none)."""
    safe_timesteps: int
    """The longest run in which none of its neurons can saturate (see spikeir.chip.plan)."""
    compartment: int = V
    streamed: bool = False
    """Whether the input port changes every timestep (its precomputed products are per timestep)."""
    counted: bool = False
    """Whether its source holds only binary payloads, so that the product's extra columns count
    its events and intra-core deliveries (spikeir.chip.plan, "Counted products")."""
    bias: BiasStep | None = None
    """The bias step right after it on the same neurons, folded into its once-formed products in
    runs where neither saturates (input-only steps only)."""
    precomputed: bool = field(init=False)
    """Whether it reads only the current input port (its products are formed ahead of time)."""

    def __post_init__(self) -> None:
        self.precomputed = self.source.input_only

    @property
    def neurons_count(self) -> int:
        """The neurons it adds into (the width of its products)."""
        return self.rows

    def folds_bias(self, timesteps: int) -> bool:
        """Whether a run ending ``timesteps`` after a fresh state adds :attr:`bias` into the products."""
        bias = self.bias
        return bias is not None and timesteps <= min(self.safe_timesteps, bias.safe_timesteps)

    @property
    def direct(self) -> bool:
        """Whether it reads only a direct input: the same payloads every timestep of a run."""
        return self.precomputed and not self.streamed

    def direct_product(self, inputs: np.ndarray) -> np.ndarray:
        """A direct step's exact float products for the chunk's input port ``inputs`` (float32),
        formed before the chunk is: their size decides whether its state can be float32."""
        return self._dots(inputs[:, self.source.input_cols], True)

    def prepare(self, chunk: Chunk, product: np.ndarray) -> None:
        """A direct step reads the same payloads every timestep: keep its products (``product``
        from :meth:`direct_product`, plus a folded bias) and record its events once per chunk, for
        every timestep slot of the block."""
        dots = product if chunk.float_state else product.astype(np.int64)
        if self.bias is not None and self.folds_bias(chunk.timesteps):
            dots += self.bias.bias_f32 if chunk.float_state else self.bias.bias
        chunk.constant[self.key] = dots
        chunk.events[:, :, self.key] = count_events(chunk.x[:, self.source.input_cols] != 0, 1)

    def prepare_block(self, chunk: Chunk, inputs: np.ndarray, x: np.ndarray) -> None:
        """An input-only step on a streamed input: its products for a whole block of timesteps in
        one product, ``(lanes * block, len) @ W``; ``inputs`` and ``x`` are (lanes, block, n_inputs)."""
        if self.precomputed and self.streamed:
            cols = self.source.input_cols
            lanes, block = inputs.shape[:2]
            source = inputs[:, :, cols].reshape(lanes * block, -1)
            dots = self._dots(source, chunk.float_state)
            if self.bias is not None and self.folds_bias(chunk.timesteps):
                dots += self.bias.bias_f32 if chunk.float_state else self.bias.bias
            chunk.constant[self.key] = dots.reshape(lanes, block, self.rows)
            chunk.events[:block, :, self.key] = count_events(x[:, :, cols] != 0, 2).T

    def execute(self, chunk: Chunk) -> None:
        if self.precomputed:
            dots = chunk.constant[self.key]
            if self.streamed:
                dots = dots[:, chunk.slot]
        elif self.counted:
            product = self._dots(self.source.read(chunk), chunk.float_state)
            chunk.record[:, self.key] = product[:, self.rows]
            if self.intra_weight is not None:
                chunk.record[:, self.intra_key] = product[:, self.rows + 1]
            dots = product[:, : self.rows]
        else:
            source = self.source.read(chunk)
            dots = self._dots(source, chunk.float_state)
            nonzero = source != 0
            chunk.record[:, self.key] = count_events(nonzero, 1)
            if self.intra_weight is not None:
                chunk.record[:, self.intra_key] = nonzero @ self.intra_weight
        _add_saturating(
            chunk.state[self.compartment][self.segment], self.neurons, dots, chunk.timesteps > self.safe_timesteps
        )

    def form_block(self, chunk: Chunk, history: np.ndarray) -> np.ndarray:
        """Staged runs, a step whose source only earlier stages write: its products for a block of
        timesteps in one product, ``(block * lanes, len) @ W``, from ``history`` (the block's
        buses), as (block, lanes, rows); its events are recorded for the block at once."""
        filled, lanes = history.shape[:2]
        source = history[:, :, self.source.bus_cols].reshape(filled * lanes, -1)
        product = self._dots(source, chunk.float_state)
        records = chunk.events[:filled].reshape(filled * lanes, -1)
        if self.counted:
            records[:, self.key] = product[:, self.rows]
            if self.intra_weight is not None:
                records[:, self.intra_key] = product[:, self.rows + 1]
            product = product[:, : self.rows]
        else:
            nonzero = source != 0
            records[:, self.key] = count_events(nonzero, 1)
            if self.intra_weight is not None:
                records[:, self.intra_key] = nonzero @ self.intra_weight
        return product.reshape(filled, lanes, self.rows)

    def _dots(self, source: np.ndarray, float_state: bool) -> np.ndarray:
        """The exact dot products, as floats for float32 state, else int64."""
        if self.weights.dtype == np.float32:
            product = source @ self.weights
        else:
            product = source.astype(np.float64) @ self.weights
        return product if float_state else product.astype(np.int64)


@dataclass
class ConvStep:
    """Fused conv ACCs of one level that share a source, geometry and kernel (v2)."""

    key: int
    """Its first column in the event records; it has ``fan.shape[1]`` of them."""
    source: Source
    neurons: Index
    """Its columns within its segment of the state."""
    segment: int = field(default=0, kw_only=True)
    """The segment of the state it acts on (spikeir.chip.plan, :attr:`Plan.segments`)."""
    kernel: ConvKernel
    fan: np.ndarray
    """(C*H*W, columns) float32 when every lane's records stay below 2^24, else float64: per source
    address what one event there adds to each record column (per core of the members: synaptic
    ops; then deliveries; then intra-core deliveries)."""
    safe_timesteps: int
    compartment: int = V
    streamed: bool = False
    precomputed: bool = field(init=False)

    def __post_init__(self) -> None:
        self.precomputed = self.source.input_only

    @property
    def neurons_count(self) -> int:
        """The neurons it adds into (the width of its products)."""
        rows = self.kernel.rows
        return rows.stop - rows.start if isinstance(rows, slice) else int(rows.size)

    def prepare(self, chunk: Chunk) -> None:
        """As :meth:`AccStep.prepare`: an input-only conv on a direct input is computed once."""
        if self.precomputed and not self.streamed:
            x = chunk.x[:, self.source.input_cols]
            chunk.constant[self.key] = np.ascontiguousarray(
                convolve(self.kernel, chunk.inputs[:, self.source.input_cols], chunk.float_state).T
            )
            chunk.events[:, :, self.key : self.key + self.fan.shape[1]] = (x != 0) @ self.fan

    def prepare_block(self, chunk: Chunk, inputs: np.ndarray, x: np.ndarray) -> None:
        """As :meth:`AccStep.prepare_block`: a block of timesteps in one im2col product."""
        if self.precomputed and self.streamed:
            cols = self.source.input_cols
            lanes, block = inputs.shape[:2]
            dots = convolve(self.kernel, inputs[:, :, cols].reshape(lanes * block, -1), chunk.float_state)
            chunk.constant[self.key] = dots.T.reshape(lanes, block, -1)
            events = (x[:, :, cols] != 0) @ self.fan  # (lanes, block, columns)
            chunk.events[:block, :, self.key : self.key + self.fan.shape[1]] = events.transpose(1, 0, 2)

    def execute(self, chunk: Chunk) -> None:
        if self.precomputed:
            dots = chunk.constant[self.key]
            if self.streamed:
                dots = dots[:, chunk.slot]
        else:
            source = self.source.read(chunk)
            dots = convolve(self.kernel, source, chunk.float_state).T
            chunk.record[:, self.key : self.key + self.fan.shape[1]] = (source != 0) @ self.fan
        _add_saturating(
            chunk.state[self.compartment][self.segment], self.neurons, dots, chunk.timesteps > self.safe_timesteps
        )


@dataclass
class BiasStep:
    """Fused bias ACCs of one level into one compartment."""

    neurons: Index
    """Its columns within its segment of the state."""
    segment: int = field(default=0, kw_only=True)
    """The segment of the state it acts on (spikeir.chip.plan, :attr:`Plan.segments`)."""
    bias: np.ndarray
    bias_f32: np.ndarray
    """The same values in float32, for float32 state (exact there: each is below its neuron's bound)."""
    safe_timesteps: int
    """The longest run in which none of its neurons can saturate (see spikeir.chip.plan)."""
    compartment: int = V

    def execute(self, chunk: Chunk) -> None:
        bias = self.bias_f32 if chunk.float_state else self.bias
        _add_saturating(
            chunk.state[self.compartment][self.segment], self.neurons, bias, chunk.timesteps > self.safe_timesteps
        )


@dataclass
class CurrentStep:
    """Fused current ACCs (v2): ``V := sat32(V + I)``, always clipped (I can reach 2^31)."""

    neurons: Index
    """Its columns within its segment of the state."""
    segment: int = field(default=0, kw_only=True)
    """The segment of the state it acts on (spikeir.chip.plan, :attr:`Plan.segments`)."""

    def execute(self, chunk: Chunk) -> None:
        s = self.segment
        _add_saturating(chunk.V[s], self.neurons, chunk.I[s][:, self.neurons], True)


@dataclass
class LeakStep:
    """Fused LEAKs by shift of one level on one compartment."""

    neurons: Index
    """Its columns within its segment of the state."""
    segment: int = field(default=0, kw_only=True)
    """The segment of the state it acts on (spikeir.chip.plan, :attr:`Plan.segments`)."""
    shift: np.ndarray
    scale: np.ndarray
    """``2^-shift`` in float32: for float32 state ``X >> s`` is ``floor(X * 2^-s)``, exact."""
    compartment: int = V

    def execute(self, chunk: Chunk) -> None:
        X = chunk.state[self.compartment][self.segment]
        x = X[:, self.neurons]
        if chunk.float_state:  # only V exists then (a program with I keeps int64 state)
            X[:, self.neurons] = x - np.floor(x * self.scale)
        else:
            X[:, self.neurons] = x - (x >> self.shift)


@dataclass
class DecayStep:
    """Fused decay LEAKs (v2): ``X := X - ((X * dv) >> 12)``, exact in int64 (``|X * dv| <= 2^43``)."""

    neurons: Index
    """Its columns within its segment of the state."""
    segment: int = field(default=0, kw_only=True)
    """The segment of the state it acts on (spikeir.chip.plan, :attr:`Plan.segments`)."""
    dv: np.ndarray | np.int64
    compartment: int = V

    def execute(self, chunk: Chunk) -> None:
        X = chunk.state[self.compartment][self.segment]
        x = X[:, self.neurons]
        X[:, self.neurons] = x - ((x * self.dv) >> 12)


@dataclass
class FireStep:
    """Fused FIREs of one level and mode; per-neuron parameters are arrays."""

    neurons: Index
    """Its columns within its segment of the state."""
    segment: int = field(default=0, kw_only=True)
    """The segment of the state it acts on (spikeir.chip.plan, :attr:`Plan.segments`)."""
    dst: Index
    binary: bool
    slot: int
    """Index of this step's spike counters in the chunk."""
    param: np.ndarray
    """Graded: the multiplier M; binary: the threshold theta."""
    threshold_f32: np.ndarray
    """``param`` in float32, the threshold float32 state compares with: exact below 2^24, and
    a larger one rounds to at least 2^24, above every V of such a run, just as theta is."""
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
    reset_value: np.ndarray | np.int64 | None = None
    """Binary, v2: V after a spike or while refractory, for the neurons that do not subtract (0 for
    reset=zero, v_reset for reset=P); None when every neuron resets the v1 way."""
    refractory: np.ndarray | None = None
    """Binary, v2: per neuron its FIRE's refractory period k (0: none); None when no neuron of the
    step shares R with a refractory FIRE (R is then neither read nor written)."""

    def execute(self, chunk: Chunk) -> None:
        v = chunk.V[self.segment][:, self.neurons]
        if not self.binary:
            if chunk.float_state:
                v = v.astype(np.int64)  # M * V needs up to 55 bits
            payload = v * self.param
            payload += self.rounding
            payload >>= self.shift
            np.clip(payload, self.lo, self.hi, out=payload)
            chunk.V[self.segment][:, self.neurons] = 0
            if chunk.deferred:  # account_block counts the payloads
                chunk.bus[:, self.dst] = payload
                return
            fired = payload != 0
        elif self.reset_value is not None or self.refractory is not None:
            fired = self._fire_v2(chunk, v)
            payload = fired.view(np.int8)
        elif chunk.float_state and self.subtract is True and isinstance(self.dst, slice):
            self._fire_rate(chunk, v)
            return
        else:
            fired = self._fire_v1(chunk, v)
            payload = fired.view(np.int8)
        chunk.bus[:, self.dst] = payload
        if not chunk.deferred:
            chunk.fire_counts[self.slot] += fired
            if chunk.log_row is not None:
                chunk.log_record[self.log_positions] = payload[chunk.log_row]

    def account_block(self, chunk: Chunk, history: np.ndarray) -> None:
        """Staged runs: the spike counts and the logged lane's payloads of a block of timesteps at
        once, from ``history`` (the block's buses): a neuron fired where its payload is nonzero."""
        payloads = history[:, :, self.dst]
        chunk.fire_counts[self.slot] += count_events(payloads != 0, 0)
        if chunk.log_row is not None:
            chunk.log[: history.shape[0], self.log_positions] = payloads[:, chunk.log_row]

    def _fire_rate(self, chunk: Chunk, v: np.ndarray) -> None:
        """The common rate-coded case, all in float32 (reset by subtraction, one destination
        range): the payloads written to the bus are the spikes, and V loses theta where they are 1."""
        spikes = chunk.bus[:, self.dst]
        np.greater_equal(v, self.threshold_f32, out=spikes)
        v -= spikes * self.threshold_f32
        if isinstance(self.neurons, np.ndarray):
            chunk.V[self.segment][:, self.neurons] = v
        if not chunk.deferred:
            chunk.fire_counts[self.slot] += spikes
            if chunk.log_row is not None:
                chunk.log_record[self.log_positions] = spikes[chunk.log_row]

    def _fire_v1(self, chunk: Chunk, v: np.ndarray) -> np.ndarray:
        """docs/isa.md's binary FIRE, reset by subtraction or to zero; returns which neurons spiked."""
        theta = self.threshold_f32 if chunk.float_state else self.param
        fired = v >= theta
        if self.subtract is True:
            decrement = fired * theta
        elif self.subtract is False:
            decrement = fired * v
        else:
            decrement = fired * np.where(self.subtract, theta, v)
        if isinstance(self.neurons, slice):
            v -= decrement
        else:
            chunk.V[self.segment][:, self.neurons] = v - decrement
        return fired

    def _fire_v2(self, chunk: Chunk, v: np.ndarray) -> np.ndarray:
        """docs/isa.md's binary FIRE with resets to a value and refractory counters; returns which
        neurons spiked."""
        reset = np.int64(0) if self.reset_value is None else self.reset_value
        fired = v >= self.param
        held = None
        if self.refractory is not None:
            r = chunk.R[self.segment][:, self.neurons]
            held = (r > 0) & (self.refractory > 0)
            fired &= ~held
            chunk.R[self.segment][:, self.neurons] = np.where(held, r - 1, np.where(fired, self.refractory, r))
        after = np.where(self.subtract, v - self.param, reset)
        v_new = np.where(fired, after, v)
        if held is not None:
            v_new = np.where(held, reset, v_new)
        chunk.V[self.segment][:, self.neurons] = v_new
        return fired

    def core_spikes(self, counts: np.ndarray) -> np.ndarray:
        """Per-neuron spike counts summed per core of this step: (lanes, segment_cores.size)."""
        counts = counts.astype(np.int64, copy=False)
        return counts if self.one_per_core else np.add.reduceat(counts, self.segment_starts, axis=1)


@dataclass
class FormedAcc:
    """A staged run's :class:`AccStep` whose products :meth:`AccStep.form_block` formed for the
    block: each timestep only adds its row."""

    step: AccStep
    dots: np.ndarray
    """(block, lanes, rows): the products of every timestep of the block."""

    def execute(self, chunk: Chunk) -> None:
        step = self.step
        _add_saturating(
            chunk.state[step.compartment][step.segment],
            step.neurons,
            self.dots[chunk.slot],
            chunk.timesteps > step.safe_timesteps,
        )


@dataclass
class Stage:
    """The steps of one segment of the state, in plan order: a staged run executes a stage for a
    whole block of timesteps before the next one (spikeir.chip.plan, "Stages")."""

    steps: list[Step]
    formed: list[AccStep]
    """Its ACC steps whose source only earlier stages write: their products are formed per block."""
    linear: bool
    """Whether it holds only ACC steps (formed or direct-input) and bias steps: a block then adds
    their sums, in any order, wherever none of them can saturate."""


@dataclass
class RingPush:
    """End of a timestep with delays (v2): remember the bus at the addresses delayed ACCs read."""

    input_cols: Index | None
    """Input port columns of the ring's first addresses, in order."""
    bus_cols: Index | None
    """Bus columns of the rest."""
    split: int
    """How many ring columns come from the input port."""

    def execute(self, chunk: Chunk) -> None:
        row = chunk.ring[chunk.clock % chunk.ring.shape[0]]
        if self.input_cols is not None:
            row[:, : self.split] = chunk.inputs[:, self.input_cols]
        if self.bus_cols is not None:
            row[:, self.split :] = chunk.bus[:, self.bus_cols]


Step = AccStep | ConvStep | BiasStep | CurrentStep | LeakStep | DecayStep | FireStep
"""One step of a plan: every kind has ``execute(chunk)``, which runs it for one timestep."""
