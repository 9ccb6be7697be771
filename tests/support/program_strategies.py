"""Hypothesis strategies for random *valid* SpikeCore programs and their inputs.

Entry points:

- ``programs(...)`` draws a :class:`~spikeir.chip.isa.Program` that passes ``Program.validate`` (docs/isa.md
  "Static validity"): several cores, synaptic and bias ACCs, graded and binary FIREs (both resets,
  with and without ``init=half``), LEAKs, a final HALT, the synapse and parameter tables they use
  (plus an occasional unused one), output ranges and scales. Sizes are small so that tests that run
  the hardware model on many examples stay fast.
- ``programs_v2(all_forms=False, streamed=None, ...)`` draws a valid program that also uses the ISA
  v2 forms (delays, ``.i``, current and conv ACCs, decay LEAKs, resets to values, refractory periods,
  probes, streamed input); ``all_forms=True`` puts every form of ``V2_FORMS`` in every program.
- ``inputs_for(program, batch=None, timesteps=None)`` draws an int8 input for it: shape ``(n_inputs,)`` when
  ``batch`` is None, ``(batch, n_inputs)`` otherwise; about half the entries are 0 (no event).

The programs are built to exercise the machine, not just the validator: ACC sources usually read
the input port or the bus range of an earlier FIRE (so layers feed layers within a timestep),
sometimes any bus range (reading zeros); neuron ranges of different instructions overlap freely;
parameter values mix small numbers with the int32 extremes (to reach saturation); a binary FIRE's
thresholds are positive, as validity requires. Example::

    from hypothesis import given
    from support.program_strategies import inputs_for, programs  # tests/ is on sys.path under pytest

    @given(st.data())
    def test_something(data):
        program = data.draw(programs())
        x = data.draw(inputs_for(program, batch=3))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from spikeir.chip.isa import (
    INT32_MAX,
    INT32_MIN,
    PROBE_KINDS,
    Acc,
    AccBias,
    AccConv,
    AccCurrent,
    Compartment,
    ConvGeometry,
    Fire,
    FireMode,
    Halt,
    Instruction,
    Leak,
    LeakDecay,
    OutputSpec,
    ProbeSpec,
    Program,
    ResetMode,
)
from spikeir.chip.target import SPIKECORE_V1, TARGETS, TargetDescription

__all__ = ["V2_FORMS", "assert_same_program", "inputs_for", "programs", "programs_v2", "small_targets"]

_PARAM_VALUES = st.one_of(
    st.integers(-64, 64),
    st.integers(-(2**16), 2**16),
    st.sampled_from([INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX - 1, INT32_MAX]),
    st.integers(INT32_MIN, INT32_MAX),
)
_THRESHOLDS = st.one_of(st.integers(1, 64), st.integers(1, 1000), st.integers(1, INT32_MAX))
_SCALES = st.one_of(st.just(0.0), st.floats(1e-6, 10.0, allow_nan=False, allow_infinity=False))


@st.composite
def small_targets(draw: st.DrawFn, max_cores: int = 4, max_neurons: int = 16) -> TargetDescription:
    """A small target (few cores and neurons, little synaptic memory), sometimes named like a known one.

    ``bus_size`` is a placeholder that :func:`programs` raises to what the program needs."""
    name = draw(st.sampled_from(["spikecore-v1", "spikecore-v1-seed", "test-chip"]))
    neurons = 1 if name == "spikecore-v1-seed" else draw(st.integers(1, max_neurons))
    return TARGETS.get(name, SPIKECORE_V1).with_options(
        name=name,
        cores=draw(st.integers(1, max_cores)),
        neurons_per_core=neurons,
        synapse_bytes=draw(st.integers(1, 256)),
        max_fan_in=draw(st.integers(1, 16)),
        bus_size=1,
    )


@dataclass
class _Needs:
    """What the instructions drawn so far require of the tables and the bus."""

    synapse_shape: dict[int, tuple[int, int]] = field(default_factory=dict)
    param_length: dict[int, int] = field(default_factory=dict)
    thresholds: list[tuple[int, int, int]] = field(default_factory=list)
    synapse_used: dict[int, int] = field(default_factory=dict)
    bus_end: int = 0

    def synapse(self, table: int, rows: int, cols: int) -> None:
        old_rows, old_cols = self.synapse_shape.get(table, (0, 0))
        self.synapse_shape[table] = (max(old_rows, rows), max(old_cols, cols))

    def params(self, table: int, length: int) -> None:
        self.param_length[table] = max(self.param_length.get(table, 0), length)


@st.composite
def programs(
    draw: st.DrawFn,
    *,
    target: TargetDescription | None = None,
    max_instructions: int = 10,
    max_neurons: int = 8,
    max_inputs: int = 12,
    min_inputs: int = 1,
    max_outputs: int = 3,
    binary: bool = True,
) -> Program:
    """A random valid program (see the module docstring).

    ``target``: run on this target (its limits are respected, its bus is not resized); by default a
    small random target from :func:`small_targets`, or now and then the full ``spikecore-v1``.
    ``max_instructions`` bounds the instructions before HALT, ``max_neurons`` the size of a neuron
    range, ``max_inputs``/``min_inputs`` the input port. ``binary=False`` draws graded FIREs only
    (a purely integer network, as the compiler emits for T = 1).
    """
    fixed_bus = target is not None
    if target is None:
        full_size = draw(st.integers(0, 4)) == 4  # shrinks toward a small target
        target = SPIKECORE_V1 if full_size else draw(small_targets())
        fixed_bus = full_size
    n_inputs = draw(st.integers(min_inputs, min(max_inputs, target.bus_size - 1 if fixed_bus else max_inputs)))
    needs = _Needs(bus_end=n_inputs)
    fired: list[tuple[int, int]] = []
    next_dst = n_inputs + draw(st.integers(0, 2))
    instructions: list[Instruction] = []
    kinds = ["acc", "acc", "bias", "graded", "leak"] + (["binary", "binary"] if binary else [])
    for _ in range(draw(st.integers(0, max_instructions))):
        kind = draw(st.sampled_from(kinds))
        core = draw(st.integers(0, target.cores - 1))
        count = draw(st.integers(1, min(max_neurons, target.neurons_per_core)))
        base = draw(st.integers(0, target.neurons_per_core - count))
        if kind == "acc":
            regions = [(0, n_inputs)] if n_inputs else []
            regions += fired
            regions.append((0, max(next_dst, n_inputs) + 2))
            if fixed_bus:
                regions = [(lo, min(hi, target.bus_size)) for lo, hi in regions if lo < min(hi, target.bus_size)]
            lo, hi = draw(st.sampled_from(regions))
            budget = (target.synapse_bytes - needs.synapse_used.get(core, 0)) // count
            longest = min(hi - lo, target.max_fan_in, 16, budget)
            if longest >= 1:
                length = draw(st.integers(1, longest))
                src = draw(st.integers(lo, hi - length))
                table, row, col = draw(st.integers(0, 2)), draw(st.integers(0, 2)), draw(st.integers(0, 2))
                needs.synapse(table, row + count, col + length)
                needs.synapse_used[core] = needs.synapse_used.get(core, 0) + count * length
                needs.bus_end = max(needs.bus_end, src + length)
                instructions.append(Acc(core, base, count, src=src, src_len=length, table=table, row=row, col=col))
                continue
            kind = "bias"  # no synaptic memory or bus left for this range: add a bias instead
        if kind in ("graded", "binary") and fixed_bus and next_dst + count > target.bus_size:
            kind = "bias"
        table, row = draw(st.integers(0, 2)), draw(st.integers(0, 2))
        if kind == "bias":
            needs.params(table, row + count)
            instructions.append(AccBias(core, base, count, table=table, row=row))
        elif kind == "leak":
            instructions.append(Leak(core, base, count, shift=draw(st.integers(1, 31))))
        else:
            dst = next_dst
            next_dst += count + draw(st.integers(0, 2))
            fired.append((dst, dst + count))
            needs.params(table, row + count)
            needs.bus_end = max(needs.bus_end, dst + count)
            if kind == "graded":
                lo = draw(st.integers(-128, 127))
                hi = draw(st.integers(lo, 127))
                shift = draw(st.one_of(st.integers(0, 8), st.integers(0, 62)))
                instructions.append(Fire(core, base, count, dst=dst, table=table, row=row, shift=shift, lo=lo, hi=hi))
            else:
                needs.thresholds.append((table, row, count))
                reset = draw(st.sampled_from([ResetMode.ZERO, ResetMode.SUBTRACT]))
                init_half = draw(st.booleans())
                instructions.append(
                    Fire(core, base, count, dst=dst, table=table, row=row, mode=FireMode.BINARY,
                         reset=reset, shift=0, lo=0, hi=0, init_half=init_half)
                )  # fmt: skip
    instructions.append(Halt())

    if not fixed_bus:
        target = target.with_options(bus_size=needs.bus_end + draw(st.integers(1, 4)))
    if draw(st.integers(0, 4)) == 0:  # an unused table now and then
        needs.synapse(draw(st.integers(3, 5)), draw(st.integers(0, 3)), draw(st.integers(0, 3)))
        needs.params(draw(st.integers(3, 5)), draw(st.integers(0, 3)))
    synapse_tables = {
        tid: draw(hnp.arrays(np.int8, (rows + draw(st.integers(0, 2)), cols + draw(st.integers(0, 2)))))
        for tid, (rows, cols) in sorted(needs.synapse_shape.items())
    }
    param_tables = {
        tid: np.array(draw(st.lists(_PARAM_VALUES, min_size=length + extra, max_size=length + extra)), dtype=np.int32)
        for tid, length in sorted(needs.param_length.items())
        for extra in [draw(st.integers(0, 2))]
    }
    for table, row, count in needs.thresholds:
        values = draw(st.lists(_THRESHOLDS, min_size=count, max_size=count))
        param_tables[table][row : row + count] = values

    outputs = []
    for _ in range(draw(st.integers(0, max_outputs))):
        count = draw(st.integers(1, min(max_neurons, target.neurons_per_core)))
        outputs.append(
            OutputSpec(
                core=draw(st.integers(0, target.cores - 1)),
                base=draw(st.integers(0, target.neurons_per_core - count)),
                count=count,
                scale=draw(_SCALES),
            )
        )
    program = Program(
        instructions, n_inputs, outputs, synapse_tables, param_tables, target=target, input_scale=draw(_SCALES)
    )
    program.validate()  # the strategy's own contract: a failure here is a bug in this module
    return program


def inputs_for(
    program: Program, batch: int | None = None, timesteps: int | None = None
) -> st.SearchStrategy[np.ndarray]:
    """Int8 inputs for ``program``: shape ``(n_inputs,)``, or ``(batch, n_inputs)`` when batch is given.

    For a program with streamed input (v2) the shape is ``(T, n_inputs)`` or ``(batch, T, n_inputs)``,
    with ``T = timesteps`` (drawn from 1..4 when None)."""
    elements = st.one_of(st.just(0), st.integers(-128, 127))
    if program.streamed_input:
        lanes = () if batch is None else (batch,)
        steps = st.just(timesteps) if timesteps is not None else st.integers(1, 4)
        return steps.flatmap(lambda t: hnp.arrays(np.int8, (*lanes, t, program.n_inputs), elements=elements))
    shape = (program.n_inputs,) if batch is None else (batch, program.n_inputs)
    return hnp.arrays(np.int8, shape, elements=elements)


def assert_same_program(actual: Program, expected: Program) -> None:
    """Assert two programs are equal field by field (tables compared with ``np.array_equal`` and dtype)."""
    assert actual.instructions == expected.instructions
    assert actual.n_inputs == expected.n_inputs
    assert actual.outputs == expected.outputs
    assert actual.target == expected.target
    assert actual.input_scale == expected.input_scale
    assert actual.streamed_input == expected.streamed_input
    assert actual.probes == expected.probes
    for mine, theirs in (
        (actual.synapse_tables, expected.synapse_tables),
        (actual.param_tables, expected.param_tables),
    ):
        assert sorted(mine) == sorted(theirs)
        for tid, table in mine.items():
            assert table.dtype == theirs[tid].dtype and np.array_equal(table, theirs[tid]), f"table {tid} differs"


# --- ISA v2 ------------------------------------------------------------------------------------------

V2_FORMS = (
    "acc_delay",
    "acc_i",
    "bias_i",
    "current",
    "conv",
    "conv_i_delay",
    "leak_i",
    "decay",
    "decay_i",
    "fire_reset_value",
    "fire_refractory",
)
"""The v2 instruction forms ``programs_v2(all_forms=True)`` puts in every program (plus a probe)."""

_DECAY_TABLES = (6, 7)  # decays (0..4096) get tables of their own, so no other constraint meets them
_DECAYS = st.one_of(st.sampled_from([0, 1, 410, 2048, 4095, 4096]), st.integers(0, 4096))
_DELAYS = st.one_of(st.integers(1, 2), st.integers(1, 5))


@dataclass
class _V2Draw:
    """State of one ``programs_v2`` draw."""

    target: TargetDescription
    n_inputs: int
    max_neurons: int
    needs: _Needs
    next_dst: int
    fired: list[tuple[int, int]] = field(default_factory=list)
    decays: list[tuple[int, int, int]] = field(default_factory=list)
    convs: list[AccConv] = field(default_factory=list)

    def neuron_range(self, draw: st.DrawFn, most: int | None = None) -> tuple[int, int, int]:
        count = draw(st.integers(1, min(self.max_neurons, self.target.neurons_per_core, most or self.max_neurons)))
        return (
            draw(st.integers(0, self.target.cores - 1)),
            draw(st.integers(0, self.target.neurons_per_core - count)),
            count,
        )

    def source(self, draw: st.DrawFn, length: int) -> int:
        """A bus address to read ``length`` addresses from: the input port, a fired range or anywhere."""
        starts = [0] + [lo for lo, _ in self.fired] + [draw(st.integers(0, self.next_dst + 2))]
        src = draw(st.sampled_from(starts))
        self.needs.bus_end = max(self.needs.bus_end, src + length)
        return src


def _draw_geometry(draw: st.DrawFn) -> ConvGeometry:
    """A small valid conv geometry: groups dividing both channel counts, a kernel that fits the padded map."""
    groups = draw(st.integers(1, 3))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    ph, pw = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kh = draw(st.integers(1, min(3, (h + 2 * ph - 1) // dh + 1)))
    kw = draw(st.integers(1, min(3, (w + 2 * pw - 1) // dw + 1)))
    sh, sw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    g = ConvGeometry(cin, h, w, cout, 1, 1, kh, kw, sh, sw, ph, pw, dh, dw, groups)
    out_h, out_w = g.expected_out_hw()
    return ConvGeometry(cin, h, w, cout, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw, groups)


def _draw_conv(draw: st.DrawFn, state: _V2Draw, compartment: Compartment, delay: int) -> AccConv:
    if state.convs and draw(st.integers(0, 3)) == 0:  # the same kernel block again: shared synaptic memory
        prev = state.convs[-1]
        base = draw(st.integers(0, state.target.neurons_per_core - prev.count))
        acc = AccConv(prev.core, base, prev.count, prev.src, prev.table, prev.geometry, prev.p0, prev.row, prev.col,
                      compartment, delay)  # fmt: skip
    else:
        geometry = _draw_geometry(draw)
        core, base, count = state.neuron_range(draw, most=geometry.out_size)
        p0 = draw(st.integers(0, geometry.out_size - count))
        table, row, col = draw(st.integers(0, 2)), draw(st.integers(0, 2)), draw(st.integers(0, 2))
        src = state.source(draw, geometry.src_len)
        acc = AccConv(core, base, count, src, table, geometry, p0, row, col, compartment, delay)
    state.needs.synapse(acc.table, acc.row + acc.kernel_rows, acc.col + acc.kernel_cols)
    state.convs.append(acc)
    return acc


def _draw_fire(draw: st.DrawFn, state: _V2Draw, kind: str) -> Fire:
    core, base, count = state.neuron_range(draw)
    table, row = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    dst = state.next_dst
    state.next_dst += count + draw(st.integers(0, 2))
    state.fired.append((dst, dst + count))
    state.needs.params(table, row + count)
    state.needs.bus_end = max(state.needs.bus_end, dst + count)
    if kind == "graded":
        lo = draw(st.integers(-128, 127))
        return Fire(core, base, count, dst=dst, table=table, row=row, shift=draw(st.integers(0, 30)), lo=lo,
                    hi=draw(st.integers(lo, 127)))  # fmt: skip
    state.needs.thresholds.append((table, row, count))
    if kind == "fire_reset_value":
        reset = ResetMode.VALUE
    elif kind == "fire_refractory":
        reset = draw(st.sampled_from([ResetMode.ZERO, ResetMode.VALUE]))
    else:
        reset = draw(st.sampled_from(ResetMode))
    reset_table = reset_row = 0
    if reset == ResetMode.VALUE:
        reset_table, reset_row = draw(st.integers(0, 2)), draw(st.integers(0, 2))
        state.needs.params(reset_table, reset_row + count)
    refractory = 0
    if reset != ResetMode.SUBTRACT and (kind == "fire_refractory" or draw(st.booleans())):
        refractory = draw(st.one_of(st.integers(1, 3), st.sampled_from([1, 255])))
    return Fire(core, base, count, dst=dst, table=table, row=row, mode=FireMode.BINARY, reset=reset, shift=0, lo=0,
                hi=0, init_half=draw(st.booleans()), reset_table=reset_table, reset_row=reset_row,
                refractory=refractory)  # fmt: skip


def _draw_v2_instruction(draw: st.DrawFn, state: _V2Draw, kind: str) -> Instruction:
    """One instruction of ``kind`` (a V2_FORMS name or a v1 kind); ACCs with a delay read any bus range."""
    comp = st.sampled_from(Compartment)
    if kind in ("acc", "acc_delay", "acc_i"):
        core, base, count = state.neuron_range(draw)
        length = draw(st.integers(1, 12))
        table, row, col = draw(st.integers(0, 2)), draw(st.integers(0, 2)), draw(st.integers(0, 2))
        state.needs.synapse(table, row + count, col + length)
        delay = draw(_DELAYS) if kind == "acc_delay" else draw(st.one_of(st.just(0), _DELAYS))
        compartment = Compartment.I if kind == "acc_i" else draw(comp)
        return Acc(core, base, count, state.source(draw, length), length, table, row, col, compartment, delay)
    if kind in ("conv", "conv_i_delay"):
        if kind == "conv":
            return _draw_conv(draw, state, draw(comp), draw(st.one_of(st.just(0), _DELAYS)))
        return _draw_conv(draw, state, Compartment.I, draw(_DELAYS))
    core, base, count = state.neuron_range(draw)
    if kind in ("bias", "bias_i"):
        table, row = draw(st.integers(0, 2)), draw(st.integers(0, 2))
        state.needs.params(table, row + count)
        return AccBias(core, base, count, table, row, Compartment.I if kind == "bias_i" else draw(comp))
    if kind == "current":
        return AccCurrent(core, base, count)
    if kind in ("leak", "leak_i"):
        return Leak(core, base, count, draw(st.integers(1, 31)), Compartment.I if kind == "leak_i" else draw(comp))
    if kind in ("decay", "decay_i"):
        table, row = draw(st.sampled_from(_DECAY_TABLES)), draw(st.integers(0, 2))
        state.needs.params(table, row + count)
        state.decays.append((table, row, count))
        return LeakDecay(core, base, count, table, row, Compartment.I if kind == "decay_i" else draw(comp))
    return _draw_fire(draw, state, kind)


def _draw_probes(draw: st.DrawFn, state: _V2Draw, instructions: list[Instruction], at_least: int) -> list[ProbeSpec]:
    """Probes on random ranges; a probe records spikes only where every neuron has exactly one FIRE."""
    target = state.target
    cover = np.zeros((target.cores, target.neurons_per_core), np.int64)
    for instr in instructions:
        if isinstance(instr, Fire):
            cover[instr.core, instr.base : instr.base + instr.count] += 1
    probes = []
    for _ in range(draw(st.integers(at_least, 3))):
        core, base, count = state.neuron_range(draw)
        kinds = draw(st.lists(st.sampled_from(PROBE_KINDS), min_size=1, max_size=3, unique=True))
        single = np.flatnonzero(cover[core] == 1)
        if "spikes" in kinds and single.size and draw(st.booleans()):
            base = int(draw(st.sampled_from(single.tolist())))  # grow a run of singly-covered neurons
            end = base + 1
            while end < target.neurons_per_core and cover[core, end] == 1 and end - base < state.max_neurons:
                end += 1
            count = draw(st.integers(1, end - base))
        elif "spikes" in kinds:
            kinds.remove("spikes")
            kinds = kinds or ["v"]
        probes.append(ProbeSpec(core, base, count, "spikes" in kinds, "v" in kinds, "i" in kinds))
    return probes


@st.composite
def programs_v2(
    draw: st.DrawFn,
    *,
    all_forms: bool = False,
    streamed: bool | None = None,
    max_instructions: int = 10,
    max_neurons: int = 8,
    max_inputs: int = 12,
    min_inputs: int = 1,
    max_outputs: int = 2,
) -> Program:
    """A random valid program that uses ISA v2 forms (docs/isa.md §0), mixed with the v1 forms.

    The instruction kinds are drawn from the v1 kinds and every name of :data:`V2_FORMS`: synaptic
    ACCs into V or ``.i`` with and without a delay (a delayed ACC may read a range a *later* FIRE
    writes: recurrence), bias ACCs into V or ``.i``, current ACCs, conv ACCs (random small geometry
    with groups, padding, stride, dilation; now and then a second ACC on the same kernel block, which
    shares synaptic memory; into V or ``.i``, with and without a delay), LEAK by shift or by decay on
    V or ``.i``, graded FIREs and binary FIREs with every reset (zero, subtract, to values) and
    refractory periods (1..3 or 255). Probes (0..3, or 1..3 with ``all_forms``) record random kinds;
    ``spikes`` only on ranges whose neurons each have exactly one FIRE (the validity rule).

    ``all_forms=True`` puts every form of :data:`V2_FORMS` (and at least one probe) in every program,
    in random order among the random instructions. ``streamed``: True or False fixes the input mode,
    None (the default) draws it. The target is small and random; its ``synapse_bytes``,
    ``max_fan_in`` and ``bus_size`` are raised to what the program needs (so validity never depends
    on luck). Parameter tables 6 and 7 hold decays (0..4096); thresholds are positive; other
    parameters mix small values with the int32 extremes. Draw inputs with :func:`inputs_for`.
    """
    target = draw(small_targets(max_neurons=16))
    if target.name == "spikecore-v1-seed" and draw(st.booleans()):
        target = target.with_options(name="test-chip", neurons_per_core=draw(st.integers(2, 16)))
    n_inputs = draw(st.integers(min_inputs, max_inputs))
    state = _V2Draw(target, n_inputs, max_neurons, _Needs(bus_end=n_inputs), n_inputs + draw(st.integers(0, 2)))
    v1_kinds = ["acc", "bias", "graded", "binary", "leak"]
    kinds = [draw(st.sampled_from(v1_kinds + list(V2_FORMS))) for _ in range(draw(st.integers(0, max_instructions)))]
    if all_forms:
        kinds = draw(st.permutations(kinds + list(V2_FORMS)))
    instructions = [_draw_v2_instruction(draw, state, kind) for kind in kinds]
    instructions.append(Halt())
    probes = _draw_probes(draw, state, instructions, 1 if all_forms else 0)

    needs = state.needs
    if draw(st.integers(0, 4)) == 0:  # an unused table now and then
        needs.synapse(draw(st.integers(3, 5)), draw(st.integers(0, 3)), draw(st.integers(0, 3)))
        needs.params(draw(st.integers(3, 5)), draw(st.integers(0, 3)))
    synapse_tables = {
        tid: draw(hnp.arrays(np.int8, (rows + draw(st.integers(0, 2)), cols + draw(st.integers(0, 2)))))
        for tid, (rows, cols) in sorted(needs.synapse_shape.items())
    }
    param_tables = {
        tid: np.array(draw(st.lists(_PARAM_VALUES, min_size=length + extra, max_size=length + extra)), dtype=np.int32)
        for tid, length in sorted(needs.param_length.items())
        for extra in [draw(st.integers(0, 2))]
    }
    for table, row, count in needs.thresholds:
        param_tables[table][row : row + count] = draw(st.lists(_THRESHOLDS, min_size=count, max_size=count))
    for table in _DECAY_TABLES:
        if table in param_tables:
            param_tables[table][:] = draw(
                st.lists(_DECAYS, min_size=param_tables[table].size, max_size=param_tables[table].size)
            )

    outputs = []
    for _ in range(draw(st.integers(0, max_outputs))):
        core, base, count = state.neuron_range(draw)
        outputs.append(OutputSpec(core, base, count, draw(_SCALES)))
    program = Program(
        instructions,
        n_inputs,
        outputs,
        synapse_tables,
        param_tables,
        target=target.with_options(bus_size=needs.bus_end + draw(st.integers(1, 4))),
        input_scale=draw(_SCALES),
        streamed_input=draw(st.booleans()) if streamed is None else streamed,
        probes=probes,
    )
    fan_in = max([target.max_fan_in] + [acc.kernel_cols for acc in state.convs])
    memory = max([target.synapse_bytes, *program.synapse_bytes_per_core().values()])
    program.target = program.target.with_options(max_fan_in=fan_in, synapse_bytes=memory)
    for instr in instructions:  # a synaptic ACC's length must also fit max_fan_in
        if isinstance(instr, Acc) and instr.src_len > program.target.max_fan_in:
            program.target = program.target.with_options(max_fan_in=instr.src_len)
    program.validate()  # the strategy's own contract: a failure here is a bug in this module
    return program
