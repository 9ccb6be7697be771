"""Hypothesis strategies for random *valid* SpikeCore programs and their inputs.

Entry points:

- ``programs(...)`` draws a :class:`~spikeir.chip.isa.Program` that passes ``Program.validate`` (docs/isa.md
  "Static validity"): several cores, synaptic and bias ACCs, graded and binary FIREs (both resets,
  with and without ``init=half``), LEAKs, a final HALT, the synapse and parameter tables they use
  (plus an occasional unused one), output ranges and scales. Sizes are small so that tests that run
  the hardware model on many examples stay fast.
- ``inputs_for(program, batch=None)`` draws an int8 input for it: shape ``(n_inputs,)`` when
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
    Acc,
    AccBias,
    Fire,
    FireMode,
    Halt,
    Instruction,
    Leak,
    OutputSpec,
    Program,
    ResetMode,
)
from spikeir.chip.target import SPIKECORE_V1, TARGETS, TargetDescription

__all__ = ["assert_same_program", "inputs_for", "programs", "small_targets"]

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


def inputs_for(program: Program, batch: int | None = None) -> st.SearchStrategy[np.ndarray]:
    """Int8 inputs for ``program``: shape ``(n_inputs,)``, or ``(batch, n_inputs)`` when batch is given."""
    shape = (program.n_inputs,) if batch is None else (batch, program.n_inputs)
    return hnp.arrays(np.int8, shape, elements=st.one_of(st.just(0), st.integers(-128, 127)))


def assert_same_program(actual: Program, expected: Program) -> None:
    """Assert two programs are equal field by field (tables compared with ``np.array_equal`` and dtype)."""
    assert actual.instructions == expected.instructions
    assert actual.n_inputs == expected.n_inputs
    assert actual.outputs == expected.outputs
    assert actual.target == expected.target
    assert actual.input_scale == expected.input_scale
    for mine, theirs in (
        (actual.synapse_tables, expected.synapse_tables),
        (actual.param_tables, expected.param_tables),
    ):
        assert sorted(mine) == sorted(theirs)
        for tid, table in mine.items():
            assert table.dtype == theirs[tid].dtype and np.array_equal(table, theirs[tid]), f"table {tid} differs"
