"""ISA v2: the hardware model (spikeir.chip.hardware_model) against the independent reference
(tests/support/reference_model.py), bit for bit, on random programs that use every v2 form.

Compared: outputs, V and I of every neuron of every lane, spike counts, the spike log, every probe
record and every statistic (energy exactly: both evaluate the formula once on the batch totals).
Programs come from the shared ``programs_v2`` strategy (with ``all_forms=True`` every v2 form is in
every program) and from the local ``edge_v2_programs``, which leans on the corners: int32 extremes
and negative membranes under decay (dv = 0, 1, 4095, 4096), current ACCs near saturation, conv
geometries with stride, padding, dilation, groups and depthwise kernels split across cores, long
delays and recurrence, refractory periods with resets to values. Continuation is checked too: T1
timesteps then T2 continued equal one run of T1 + T2 (outputs, state, probes, summed counts).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.isa import (
    INT32_MAX,
    INT32_MIN,
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
from spikeir.chip.target import SPIKECORE_V1
from spikeir.errors import ProgramError
from support.program_strategies import inputs_for, programs_v2
from support.reference_model import ReferenceResult, run_reference

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
COUNTS = (
    "input_events",
    "synaptic_ops",
    "spikes",
    "neuron_updates",
    "active_updates",
    "inactive_updates",
    "intra_core_deliveries",
    "inter_core_deliveries",
    "cycles",
)
PER_CORE = ("core_synaptic_ops", "core_spikes", "core_neuron_updates", "core_cycles")

int32s = st.one_of(
    st.sampled_from([INT32_MIN, INT32_MIN + 1, -(2**30), -1, 0, 1, 2**30, INT32_MAX - 1, INT32_MAX]),
    st.integers(-300, 300),
    st.integers(INT32_MIN, INT32_MAX),
)
int8s = st.one_of(st.sampled_from([-128, -127, -1, 0, 1, 127]), st.integers(-128, 127))
decays = st.one_of(st.sampled_from([0, 1, 2, 410, 2048, 4095, 4096]), st.integers(0, 4096))


def compare(cpu: SpikeCoreCPU, ref: ReferenceResult, program: Program, single: bool, log_lane: int) -> None:
    """Everything docs/isa.md defines, exactly; ``single``: the input had no lane axis."""

    def lanes(values: np.ndarray) -> np.ndarray:
        return values[0] if single else values

    batch = ref.membranes.shape[0]
    np.testing.assert_array_equal(np.asarray(cpu.outputs()), lanes(ref.outputs), err_msg="outputs")
    for core in range(program.target.cores):
        for lane in range(batch):
            np.testing.assert_array_equal(
                cpu.membrane(core, lane=lane), ref.membranes[lane, core], err_msg=f"V c{core}"
            )
            np.testing.assert_array_equal(
                cpu.membrane(core, lane=lane, compartment="i"), ref.currents[lane, core], err_msg=f"I c{core}"
            )
    log = [(int(e.timestep), int(e.core), int(e.neuron), int(e.payload)) for e in cpu.get_spike_log()]
    assert log == [(e.timestep, e.core, e.neuron, e.payload) for e in ref.spike_log], "spike log"
    got = cpu.get_probes()
    assert len(got) == len(ref.probes)
    for mine, theirs in zip(got, ref.probes):
        assert sorted(mine) == sorted(theirs)
        for kind, values in theirs.items():
            assert mine[kind].dtype == (np.int8 if kind == "spikes" else np.int32)
            np.testing.assert_array_equal(mine[kind], lanes(values), err_msg=f"probe {kind}")
    stats = cpu.stats
    for name in COUNTS:
        assert int(getattr(stats, name)) == getattr(ref.stats, name), name
    for name in PER_CORE:
        assert np.asarray(getattr(stats, name)).tolist() == getattr(ref.stats, name), name
    assert stats.energy_pj == ref.stats.energy_pj, "energy_pj"
    del log_lane


def assert_agree(program: Program, x: np.ndarray, timesteps: int | None, log_lane: int = 0) -> ReferenceResult:
    ref = run_reference(program, x, timesteps, log_lane=log_lane)
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    counts = cpu.run(x, timesteps, lane_to_log=log_lane)
    single = x.ndim == (2 if program.streamed_input else 1)
    np.testing.assert_array_equal(counts, ref.spike_counts[0] if single else ref.spike_counts, err_msg="spikes")
    compare(cpu, ref, program, single, log_lane)
    return ref


def draw_input(data: st.DataObject, program: Program, batch: int | None, timesteps: int) -> np.ndarray:
    fill = data.draw(st.sampled_from([None, None, 0, 127, -128, 1]))
    x = data.draw(inputs_for(program, batch, timesteps))
    return x if fill is None else np.full_like(x, fill)


@SETTINGS
@given(data=st.data(), timesteps=st.integers(1, 5), batch=st.sampled_from([None, 1, 3]))
def test_programs_with_every_v2_form_agree(data: st.DataObject, timesteps: int, batch: int | None) -> None:
    program = data.draw(programs_v2(all_forms=True))
    x = draw_input(data, program, batch, timesteps)
    log_lane = data.draw(st.integers(0, batch - 1)) if batch else 0
    assert_agree(program, x, None if program.streamed_input else timesteps, log_lane)


@SETTINGS
@given(data=st.data(), timesteps=st.integers(1, 4), batch=st.sampled_from([None, 2]))
def test_mixed_v1_v2_programs_agree(data: st.DataObject, timesteps: int, batch: int | None) -> None:
    program = data.draw(programs_v2())
    x = draw_input(data, program, batch, timesteps)
    assert_agree(program, x, None if program.streamed_input else timesteps)


# -- the local edge strategy ------------------------------------------------------------------------


@st.composite
def conv_geometries(draw: st.DrawFn) -> ConvGeometry:
    """Stride, padding, dilation, groups (depthwise included) over small maps."""
    depthwise = draw(st.booleans())
    groups = draw(st.integers(1, 3))
    cin = groups * (1 if depthwise else draw(st.integers(1, 2)))
    cout = groups * draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    ph, pw, dh, dw = (
        draw(st.integers(0, 2)),
        draw(st.integers(0, 2)),
        draw(st.integers(1, 3)),
        draw(st.integers(1, 3)),
    )
    kh = draw(st.integers(1, max(1, min(4, (h + 2 * ph - 1) // dh + 1))))
    kw = draw(st.integers(1, max(1, min(4, (w + 2 * pw - 1) // dw + 1))))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    g = ConvGeometry(cin, h, w, cout, 1, 1, kh, kw, sh, sw, ph, pw, dh, dw, groups)
    oh, ow = g.expected_out_hw()
    return ConvGeometry(cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, groups)


@st.composite
def edge_v2_programs(draw: st.DrawFn) -> Program:
    """A conv layer split across cores (pieces fused by the model), a recurrent CUBA layer with
    delays, refractory and reset values, extreme biases and decays; streamed or direct input."""
    geometry = draw(conv_geometries())
    n_inputs = geometry.src_len
    cores = draw(st.integers(2, 4))
    npc = max(geometry.out_size, 4)
    dst = n_inputs + draw(st.integers(0, 2))
    synapses: dict[int, np.ndarray] = {}
    params: dict[int, np.ndarray] = {}

    def table(values: st.SearchStrategy[int], n: int) -> int:
        params[len(params)] = np.array(draw(st.lists(values, min_size=n, max_size=n)), np.int32)
        return len(params) - 1

    # The conv layer: 1..3 contiguous pieces of the output map on different cores, same kernel rows.
    kernel_rows = geometry.out_channels
    synapses[0] = np.array(
        draw(st.lists(int8s, min_size=kernel_rows * geometry.fan_in, max_size=kernel_rows * geometry.fan_in)), np.int8
    ).reshape(kernel_rows, geometry.fan_in)
    cuts = (
        sorted(set(draw(st.lists(st.integers(1, geometry.out_size - 1), max_size=2)))) if geometry.out_size > 1 else []
    )
    bounds = [0, *cuts, geometry.out_size]
    compartment = draw(st.sampled_from(Compartment))
    conv_delay = draw(st.sampled_from([0, 0, 1, 3]))
    instructions: list[Instruction] = []
    for k, (p0, p1) in enumerate(zip(bounds, bounds[1:])):
        probe_acc = AccConv(k % cores, 0, p1 - p0, 0, 0, geometry, p0)
        instructions.append(
            AccConv(k % cores, 0, p1 - p0, src=0, table=0, geometry=geometry, p0=p0, row=probe_acc.oc_first,
                    compartment=compartment, delay=conv_delay)
        )  # fmt: skip
    # Decays first (they act on last timestep's state), then a current ACC, biases, FIRE.
    for core in range(min(cores, len(bounds) - 1)):
        count = bounds[core + 1] - bounds[core] if core + 1 < len(bounds) else 1
        instructions.insert(0, LeakDecay(core, 0, count, table(decays, count), compartment=Compartment.I))
        instructions.insert(1, LeakDecay(core, 0, count, table(decays, count)))
    hidden = min(4, npc)
    out_core = cores - 1
    instructions += [
        AccCurrent(0, 0, min(npc, geometry.out_size)),
        AccBias(0, 0, min(npc, geometry.out_size), table(int32s, min(npc, geometry.out_size))),
    ]
    fire_count = min(npc, geometry.out_size)
    reset = draw(st.sampled_from([ResetMode.ZERO, ResetMode.VALUE, ResetMode.SUBTRACT]))
    refractory = 0 if reset == ResetMode.SUBTRACT else draw(st.sampled_from([0, 1, 2, 255]))
    thresholds = st.one_of(st.integers(1, 300), st.sampled_from([1, INT32_MAX]))
    instructions.append(
        Fire(0, 0, fire_count, dst, table(thresholds, fire_count), mode=FireMode.BINARY, reset=reset, hi=0,
             init_half=draw(st.booleans()), reset_table=table(int32s, fire_count) if reset == ResetMode.VALUE else 0,
             refractory=refractory)
    )  # fmt: skip
    # A recurrent readout: reads the FIRE's spikes now and d steps ago, into V and I.
    delay = draw(st.sampled_from([1, 2, 5]))
    synapses[1] = np.array(draw(st.lists(int8s, min_size=hidden * fire_count, max_size=hidden * fire_count)), np.int8)
    synapses[1] = synapses[1].reshape(hidden, fire_count)
    synapses[2] = np.array(draw(st.lists(int8s, min_size=hidden * hidden, max_size=hidden * hidden)), np.int8)
    synapses[2] = synapses[2].reshape(hidden, hidden)
    instructions += [
        Leak(out_core, 0, hidden, draw(st.integers(1, 31)), compartment=Compartment.I),
        Acc(out_core, 0, hidden, dst, fire_count, 1, compartment=Compartment.I),
        Acc(out_core, 0, hidden, dst, fire_count, 1, delay=delay),
        AccCurrent(out_core, 0, hidden),
        Fire(out_core, 0, hidden, dst + fire_count, table(int32s, hidden), shift=draw(st.integers(0, 40)), lo=-128,
             hi=127),
        Acc(out_core, 0, hidden, dst + fire_count, hidden, 2, delay=1),  # graded recurrence onto itself
    ]  # fmt: skip
    target = SPIKECORE_V1.with_options(
        name="edge-v2",
        cores=cores,
        neurons_per_core=npc,
        bus_size=dst + fire_count + hidden + 1,
        max_fan_in=max(16, geometry.fan_in, fire_count),
        synapse_bytes=2**20,
    )
    probes = [
        ProbeSpec(0, 0, fire_count, spikes=True, v=True, i=True),
        ProbeSpec(out_core, 0, hidden, spikes=True, v=draw(st.booleans()), i=True),
    ]
    program = Program(
        [*instructions, Halt()],
        n_inputs,
        [OutputSpec(out_core, 0, hidden), OutputSpec(0, 0, fire_count)],
        synapses,
        params,
        target,
        streamed_input=draw(st.booleans()),
        probes=probes,
    )
    program.validate()
    return program


@SETTINGS
@given(data=st.data(), program=edge_v2_programs(), timesteps=st.integers(1, 6), batch=st.sampled_from([None, 1, 3]))
def test_edge_v2_programs_agree(data: st.DataObject, program: Program, timesteps: int, batch: int | None) -> None:
    x = draw_input(data, program, batch, timesteps)
    log_lane = data.draw(st.integers(0, batch - 1)) if batch else 0
    assert_agree(program, x, None if program.streamed_input else timesteps, log_lane)


# -- continuation --------------------------------------------------------------------------------


def continue_and_compare(program: Program, first: np.ndarray, second: np.ndarray, t1: int, t2: int) -> None:
    """T1 then T2 continued == one run of T1 + T2, in the hardware model and in the reference."""
    streamed = program.streamed_input
    whole_x = np.concatenate([first, second], axis=-2) if streamed else first
    whole = SpikeCoreCPU(target=program.target)
    whole.load_program(program)
    whole.run(whole_x, None if streamed else t1 + t2)
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    cpu.run(first, None if streamed else t1)
    part1 = cpu.stats
    probes1 = cpu.get_probes()
    cpu.run(second if streamed else first, None if streamed else t2, continue_state=True)
    np.testing.assert_array_equal(cpu.outputs(), whole.outputs())
    for core in range(program.target.cores):
        for comp in ("v", "i"):
            np.testing.assert_array_equal(cpu.membrane(core, 0, comp), whole.membrane(core, 0, comp))
    for a, b, w in zip(probes1, cpu.get_probes(), whole.get_probes()):
        for kind in w:
            np.testing.assert_array_equal(np.concatenate([a[kind], b[kind]], axis=-2), w[kind])
    for name in COUNTS:
        assert getattr(part1, name) + getattr(cpu.stats, name) == getattr(whole.stats, name), name
    assert part1.energy_pj + cpu.stats.energy_pj == pytest.approx(whole.stats.energy_pj, rel=1e-12)
    # and the continued run equals the reference's continued run
    ref1 = run_reference(program, first, None if streamed else t1)
    ref2 = run_reference(program, second if streamed else first, None if streamed else t2, state=ref1.states)
    single = first.ndim == (2 if streamed else 1)
    compare(cpu, ref2, program, single, 0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), t1=st.integers(1, 4), t2=st.integers(1, 4), batch=st.sampled_from([None, 2]))
def test_continued_runs_equal_one_long_run(data: st.DataObject, t1: int, t2: int, batch: int | None) -> None:
    program = data.draw(st.one_of(programs_v2(all_forms=True), edge_v2_programs()))
    first = data.draw(inputs_for(program, batch, t1))
    second = data.draw(inputs_for(program, batch, t2))
    continue_and_compare(program, first, second, t1, t2)


def test_continuation_needs_a_previous_run_of_the_same_program_and_batch() -> None:
    program = Program(
        [AccBias(0, 0, 1, 0), Halt()], 1, [OutputSpec(0, 0, 1)], {}, {0: np.array([3], np.int32)},
        SPIKECORE_V1.with_options(name="t", cores=1, neurons_per_core=1, bus_size=2),
    )  # fmt: skip
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    with pytest.raises(ProgramError, match="no previous run"):
        cpu.run(np.zeros(1, np.int8), 2, continue_state=True)
    cpu.run(np.zeros((2, 1), np.int8), 2)
    with pytest.raises(ProgramError, match="batch size: it ran 2 lanes, this input has 3"):
        cpu.run(np.zeros((3, 1), np.int8), 2, continue_state=True)
    cpu.run(np.zeros((2, 1), np.int8), 3, continue_state=True)
    assert cpu.outputs().tolist() == [[15], [15]]
    cpu.load_weights(0, np.zeros((1, 1), np.int8))
    with pytest.raises(ProgramError, match="no previous run"):
        cpu.run(np.zeros((2, 1), np.int8), 1, continue_state=True)
    cpu.load_program(program)
    with pytest.raises(ProgramError, match="no previous run"):
        cpu.run(np.zeros((2, 1), np.int8), 1, continue_state=True)


# -- saturation and rounding edges, deterministic ---------------------------------------------------


def saturating_v2_program(sign: int) -> Program:
    """I driven to an int32 end by a .i bias and a .i ACC, added to V by ACC i (each addition
    saturating on its own), decayed with dv = 1, 4095 and 4096; a reset to the other end."""
    end = INT32_MAX if sign > 0 else INT32_MIN
    w = 127 if sign > 0 else -128
    return Program(
        [
            LeakDecay(0, 0, 4, table=1, compartment=Compartment.I),
            AccBias(0, 0, 4, table=0, compartment=Compartment.I),
            Acc(0, 0, 4, src=0, src_len=4, table=0, compartment=Compartment.I),
            LeakDecay(0, 0, 4, table=2),
            AccCurrent(0, 0, 4),
            AccCurrent(0, 0, 4),
            Fire(0, 3, 1, 4, 3, mode=FireMode.BINARY, reset=ResetMode.VALUE, hi=0, reset_table=4, refractory=1),
            Halt(),
        ],
        4,
        [OutputSpec(0, 0, 4)],
        {0: np.full((4, 4), w, np.int8)},
        {
            0: np.array([end // 3, end // 2, end, -end // 5], np.int32),
            1: np.array([0, 1, 4095, 4096], np.int32),
            2: np.array([1, 4095, 4096, 0], np.int32),
            3: np.array([INT32_MAX], np.int32),
            4: np.array([-end if sign > 0 else INT32_MAX], np.int32),
        },
        SPIKECORE_V1.with_options(name="sat2", cores=1, neurons_per_core=4, bus_size=5),
        probes=[ProbeSpec(0, 0, 4, v=True, i=True), ProbeSpec(0, 3, 1, spikes=True)],
    )


@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("fill", [127, -128, 0])
def test_v2_saturation_agrees(sign: int, fill: int) -> None:
    program = saturating_v2_program(sign)
    ref = assert_agree(program, np.full((2, 4), fill, np.int8), 6, log_lane=1)
    if fill == 0:
        assert INT32_MAX in ref.currents or INT32_MIN in ref.currents  # it does saturate


def test_the_no_clip_bound_counts_the_timesteps_of_continued_runs() -> None:
    """A neuron that can reach int32's end only after S timesteps: S timesteps run unclipped, the
    continued run past S must clip (the bound counts from the fresh state, not from the run)."""
    bias = 2**29 + 12345
    program = Program(
        [AccBias(0, 0, 1, table=0), Halt()],
        1,
        [OutputSpec(0, 0, 1)],
        {},
        {0: np.array([bias], np.int32)},
        SPIKECORE_V1.with_options(name="grow", cores=1, neurons_per_core=1, bus_size=2),
    )
    safe = INT32_MAX // bias  # 3 timesteps without any possible saturation
    x = np.zeros(1, np.int8)
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    cpu.run(x, safe)
    assert cpu.outputs().tolist() == [safe * bias]
    cpu.run(x, 2, continue_state=True)
    assert cpu.outputs().tolist() == [INT32_MAX]
    np.testing.assert_array_equal(cpu.outputs(), run_reference(program, x, safe + 2).outputs[0])
