"""The hardware model (spikeir.chip.hardware_model) against the independent reference (tests/reference_model.py).

Both implement docs/isa.md without sharing execution code; here they must agree bit for bit on
random programs and inputs: outputs, every membrane, spike counts, the spike log and every
statistic (energy to a tight float tolerance). Programs come from the shared strategy
``program_strategies.programs`` and from the local ``edge_programs``, which leans on the
corners of the ISA (int32 extremes, shift 0 and 62, init=half, FIRE/ACC ordering), and
``saturating_program`` drives the accumulator into both int32 ends on purpose.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.isa import Acc, AccBias, Fire, FireMode, Halt, Instruction, Leak, OutputSpec, Program, ResetMode
from spikeir.chip.target import SPIKECORE_V1, TARGETS
from support.program_strategies import inputs_for, programs
from support.reference_model import INT32_MAX, INT32_MIN, run_reference

INT32_EDGES = [INT32_MIN, INT32_MIN + 1, -(2**30), -1, 0, 1, 2**30, INT32_MAX - 1, INT32_MAX]
int32s = st.one_of(st.sampled_from(INT32_EDGES), st.integers(-300, 300), st.integers(INT32_MIN, INT32_MAX))
int8s = st.one_of(st.sampled_from([-128, -127, -1, 0, 1, 127]), st.integers(-128, 127))
thresholds = st.one_of(st.integers(1, 300), st.sampled_from([1, 2**30, INT32_MAX]), st.integers(1, INT32_MAX))

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@st.composite
def edge_programs(draw: st.DrawFn) -> Program:
    """Small valid programs on a small target, with extremes of every field over-represented."""
    cores = draw(st.integers(1, 3))
    npc = draw(st.integers(1, 6))
    n_inputs = draw(st.integers(0, 6))
    bus_size = n_inputs + draw(st.integers(1, 20))
    target = SPIKECORE_V1.with_options(name="edge", cores=cores, neurons_per_core=npc, bus_size=bus_size)
    synapses: dict[int, np.ndarray] = {}
    params: dict[int, np.ndarray] = {}
    instructions: list[Instruction] = []
    next_dst = n_inputs

    def neurons() -> tuple[int, int, int]:
        core = draw(st.integers(0, cores - 1))
        base = draw(st.integers(0, npc - 1))
        return core, base, draw(st.integers(1, npc - base))

    def param_table(values: st.SearchStrategy[int], count: int) -> tuple[int, int]:
        row = draw(st.integers(0, 2))
        tid = len(params)
        params[tid] = np.array(draw(st.lists(values, min_size=row + count, max_size=row + count)), dtype=np.int32)
        return tid, row

    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["acc", "acc", "bias", "graded", "binary", "leak"]))
        core, base, count = neurons()
        if kind == "acc":
            # Mostly read addresses that hold events: the input port and what earlier FIREs wrote.
            src = draw(st.one_of(st.integers(0, min(bus_size - 1, next_dst)), st.integers(0, bus_size - 1)))
            length = draw(st.integers(1, min(bus_size - src, 8)))
            row, col = draw(st.integers(0, 2)), draw(st.integers(0, 2))
            size = (row + count) * (col + length)
            tid = len(synapses)
            synapses[tid] = np.array(draw(st.lists(int8s, min_size=size, max_size=size)), dtype=np.int8).reshape(
                row + count, col + length
            )
            instructions.append(
                Acc(core=core, base=base, count=count, src=src, src_len=length, table=tid, row=row, col=col)
            )
        elif kind == "bias":
            tid, row = param_table(int32s, count)
            instructions.append(AccBias(core=core, base=base, count=count, table=tid, row=row))
        elif kind in ("graded", "binary"):
            dst = next_dst + draw(st.integers(0, 2))
            if dst + count > bus_size:
                continue
            next_dst = dst + count
            if kind == "graded":
                tid, row = param_table(int32s, count)
                shift = draw(st.one_of(st.sampled_from([0, 1, 2, 31, 62]), st.integers(0, 62)))
                lo, hi = sorted(draw(st.tuples(int8s, int8s)))
                instructions.append(
                    Fire(core=core, base=base, count=count, dst=dst, table=tid, row=row, shift=shift, lo=lo, hi=hi)
                )
            else:
                tid, row = param_table(thresholds, count)
                reset = draw(st.sampled_from([ResetMode.ZERO, ResetMode.SUBTRACT]))
                instructions.append(
                    Fire(
                        core=core,
                        base=base,
                        count=count,
                        dst=dst,
                        table=tid,
                        row=row,
                        mode=FireMode.BINARY,
                        reset=reset,
                        hi=0,
                        init_half=draw(st.booleans()),
                    )
                )
        else:
            instructions.append(
                Leak(
                    core=core,
                    base=base,
                    count=count,
                    shift=draw(st.one_of(st.sampled_from([1, 31]), st.integers(1, 31))),
                )
            )
    outputs = [OutputSpec(*neurons()) for _ in range(draw(st.integers(0, 2)))]
    program = Program([*instructions, Halt()], n_inputs, outputs, synapses, params, target)
    program.validate()
    return program


@st.composite
def inputs_for_program(draw: st.DrawFn, n_inputs: int) -> np.ndarray:
    """(n_inputs,) or (B, n_inputs) int8: all zeros, all 127, all -128, or random, per lane."""
    batch = draw(st.sampled_from([None, 1, 2, 3, 4]))
    lanes = []
    for _ in range(batch or 1):
        kind = draw(st.sampled_from(["zeros", "max", "min", "random"]))
        if kind == "random":
            lanes.append(draw(st.lists(int8s, min_size=n_inputs, max_size=n_inputs)))
        else:
            lanes.append([{"zeros": 0, "max": 127, "min": -128}[kind]] * n_inputs)
    x = np.array(lanes, dtype=np.int8).reshape(len(lanes), n_inputs)
    return x[0] if batch is None else x


def assert_agree(program: Program, x: np.ndarray, timesteps: int, log_lane: int = 0) -> None:
    """Run both models and compare everything docs/isa.md defines, exactly.

    The hardware model keeps full membranes only for lane 0 and the logged lane, so those two are
    compared neuron by neuron; every lane's outputs and spike counts are compared.
    """
    ref = run_reference(program, x, timesteps, log_lane=log_lane)
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    counts = np.asarray(cpu.run(x, timesteps=timesteps, lane_to_log=log_lane))
    single = x.ndim == 1
    np.testing.assert_array_equal(
        counts, ref.spike_counts[0] if single else ref.spike_counts, err_msg="spike counts per core"
    )
    np.testing.assert_array_equal(
        np.asarray(cpu.outputs()), ref.outputs[0] if single else ref.outputs, err_msg="outputs"
    )
    for core in range(program.target.cores):
        for lane in (0, log_lane):
            np.testing.assert_array_equal(
                np.asarray(cpu.membrane(core, lane=lane)),
                ref.membranes[lane, core],
                err_msg=f"membrane of core {core}, lane {lane}",
            )
        np.testing.assert_array_equal(
            np.asarray(cpu.membrane(core)),
            ref.membranes[log_lane, core],
            err_msg=f"membrane of core {core}, logged lane",
        )
    log = [(int(e.timestep), int(e.core), int(e.neuron), int(e.payload)) for e in cpu.get_spike_log()]
    assert log == [(e.timestep, e.core, e.neuron, e.payload) for e in ref.spike_log], "spike log"
    stats = cpu.stats
    for name in (
        "synaptic_ops",
        "spikes",
        "neuron_updates",
        "active_updates",
        "intra_core_deliveries",
        "inter_core_deliveries",
        "cycles",
    ):
        assert int(getattr(stats, name)) == getattr(ref.stats, name), name
    for name in ("core_synaptic_ops", "core_spikes", "core_neuron_updates", "core_cycles"):
        assert np.asarray(getattr(stats, name)).tolist() == getattr(ref.stats, name), name
    assert stats.energy_pj == pytest.approx(ref.stats.energy_pj, rel=1e-9, abs=1e-9), "energy_pj"


@SETTINGS
@given(data=st.data(), program=edge_programs(), timesteps=st.integers(1, 5))
def test_edge_programs_agree(data: st.DataObject, program: Program, timesteps: int) -> None:
    x = data.draw(inputs_for_program(program.n_inputs))
    log_lane = data.draw(st.integers(0, x.shape[0] - 1)) if x.ndim == 2 else 0
    assert_agree(program, x, timesteps, log_lane)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), timesteps=st.integers(1, 5), batch=st.sampled_from([None, 1, 2, 3, 4]))
def test_shared_strategy_programs_agree(data: st.DataObject, timesteps: int, batch: int | None) -> None:
    program = data.draw(programs())
    fill = data.draw(st.sampled_from([None, 0, 127, -128]))
    if fill is None:
        x = data.draw(inputs_for(program, batch))
    else:
        x = np.full((program.n_inputs,) if batch is None else (batch, program.n_inputs), fill, dtype=np.int8)
    log_lane = data.draw(st.integers(0, batch - 1)) if batch else 0
    assert_agree(program, x, timesteps, log_lane)


def saturating_program(sign: int, n_inputs: int = 8) -> Program:
    """Two neurons pushed toward the ``sign`` end by a bias at that end and a full-range ACC, then
    one pulled back (bias of the other sign) and leaked, one fired graded, one fired binary."""
    end, other = (INT32_MAX, INT32_MIN) if sign > 0 else (INT32_MIN, INT32_MAX)
    w = 127 if sign > 0 else -128
    return Program(
        [
            AccBias(core=0, base=0, count=3, table=0),
            Acc(core=0, base=0, count=3, src=0, src_len=n_inputs, table=0),
            AccBias(core=0, base=0, count=3, table=0),
            Acc(core=1, base=0, count=3, src=0, src_len=n_inputs, table=0),
            AccBias(core=0, base=1, count=1, table=1),
            Leak(core=0, base=1, count=1, shift=1),
            Fire(core=0, base=2, count=1, dst=n_inputs, table=2, shift=31, lo=-128, hi=127),
            Fire(
                core=1,
                base=2,
                count=1,
                dst=n_inputs + 1,
                table=3,
                mode=FireMode.BINARY,
                reset=ResetMode.SUBTRACT,
                hi=0,
                init_half=True,
            ),
            Acc(core=1, base=0, count=2, src=n_inputs, src_len=2, table=0),
            Halt(),
        ],
        n_inputs,
        [OutputSpec(core=0, base=0, count=3), OutputSpec(core=1, base=0, count=3)],
        {0: np.full((3, n_inputs), w, dtype=np.int8)},
        {
            0: np.array([end, end - sign, end // 2], dtype=np.int32),
            1: np.array([other], dtype=np.int32),
            2: np.array([INT32_MAX], dtype=np.int32),
            3: np.array([INT32_MAX], dtype=np.int32),
        },
        SPIKECORE_V1.with_options(name="sat", cores=2, neurons_per_core=3, bus_size=n_inputs + 2),
    )


@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("fill", [127, -128, 0])
@pytest.mark.parametrize("timesteps", [1, 2, 5])
def test_saturation_agrees(sign: int, fill: int, timesteps: int) -> None:
    program = saturating_program(sign)
    assert_agree(program, np.full((2, program.n_inputs), fill, dtype=np.int8), timesteps, log_lane=1)
    assert_agree(program, np.full(program.n_inputs, fill, dtype=np.int8), timesteps)


def test_saturating_program_reaches_both_ends() -> None:
    """Guards the test above: the program really does saturate in the reference."""
    up = run_reference(saturating_program(1), np.full(8, 127, dtype=np.int8), 2)
    down = run_reference(saturating_program(-1), np.full(8, 127, dtype=np.int8), 2)
    assert up.membranes[0, 0, 0] == INT32_MAX
    assert down.membranes[0, 0, 0] == INT32_MIN


@pytest.mark.parametrize("target_name", sorted(TARGETS))
def test_full_size_targets_agree(target_name: str) -> None:
    """The real targets (bus of 262,144 addresses, 128 cores) with a two-layer graded and binary program."""
    target = TARGETS[target_name]
    npc = target.neurons_per_core
    rng = np.random.default_rng(7)
    n_inputs = 20
    hidden = [(c, b) for c in range(4) for b in range(min(npc, 3))]  # (core, neuron) of 12 or 4 hidden neurons
    instructions: list[Instruction] = []
    for k, (core, neuron) in enumerate(hidden):
        instructions += [
            Acc(core=core, base=neuron, count=1, src=0, src_len=n_inputs, table=0, row=k),
            AccBias(core=core, base=neuron, count=1, table=0, row=k),
            Fire(core=core, base=neuron, count=1, dst=n_inputs + k, table=1, row=k, shift=12, lo=0, hi=127),
        ]
    out_core = 127
    instructions += [
        Acc(core=out_core, base=0, count=1, src=n_inputs, src_len=len(hidden), table=1),
        Fire(
            core=out_core,
            base=0,
            count=1,
            dst=100000,
            table=2,
            mode=FireMode.BINARY,
            reset=ResetMode.SUBTRACT,
            hi=0,
            init_half=True,
        ),
        Acc(core=out_core - 1, base=0, count=1, src=n_inputs, src_len=len(hidden), table=1),
        Acc(core=out_core - 1, base=0, count=1, src=100000, src_len=1, table=2),
        Leak(core=out_core - 1, base=0, count=1, shift=3),
        Halt(),
    ]
    program = Program(
        instructions,
        n_inputs,
        [OutputSpec(core=out_core - 1, base=0, count=1), OutputSpec(core=out_core, base=0, count=1)],
        {
            0: rng.integers(-128, 128, size=(len(hidden), n_inputs), dtype=np.int8),
            1: rng.integers(-128, 128, size=(1, len(hidden)), dtype=np.int8),
            2: np.array([[100]], dtype=np.int8),
        },
        {
            0: rng.integers(-5000, 5000, size=len(hidden), dtype=np.int32),
            1: rng.integers(1, 3000, size=len(hidden), dtype=np.int32),
            2: np.array([2000], dtype=np.int32),
        },
        target,
    )
    x = rng.integers(-128, 128, size=(3, n_inputs), dtype=np.int8)
    assert run_reference(program, x, 4).stats.spikes > 0  # the program is not trivially silent
    assert_agree(program, x, 4, log_lane=2)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), program=edge_programs(), timesteps=st.integers(1, 4))
def test_a_second_run_starts_afresh(data: st.DataObject, program: Program, timesteps: int) -> None:
    """docs/isa.md: "at the start of a run: V := 0 everywhere" (then init=half), so nothing carries over."""
    first = data.draw(inputs_for_program(program.n_inputs))
    second = data.draw(inputs_for_program(program.n_inputs))
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    cpu.run(first, timesteps=timesteps)
    counts = np.asarray(cpu.run(second, timesteps=timesteps))
    ref = run_reference(program, second, timesteps)
    single = second.ndim == 1
    np.testing.assert_array_equal(
        counts, ref.spike_counts[0] if single else ref.spike_counts, err_msg="spike counts per core"
    )
    np.testing.assert_array_equal(
        np.asarray(cpu.outputs()), ref.outputs[0] if single else ref.outputs, err_msg="outputs"
    )
    for core in range(program.target.cores):
        np.testing.assert_array_equal(
            np.asarray(cpu.membrane(core)), ref.membranes[0, core], err_msg=f"membrane of core {core}"
        )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), program=edge_programs(), timesteps=st.integers(1, 5), bound=st.integers(1, 6))
def test_bounded_spike_log_is_a_prefix_and_stats_still_count_everything(
    data: st.DataObject, program: Program, timesteps: int, bound: int
) -> None:
    """docs/isa.md: past the bound the hardware model stops recording; the counts are unaffected."""
    x = data.draw(inputs_for_program(program.n_inputs))
    ref = run_reference(program, x, timesteps)
    cpu = SpikeCoreCPU(target=program.target, max_spike_log=bound)
    cpu.load_program(program)
    cpu.run(x, timesteps=timesteps)
    log = [(int(e.timestep), int(e.core), int(e.neuron), int(e.payload)) for e in cpu.get_spike_log()]
    assert log == [(e.timestep, e.core, e.neuron, e.payload) for e in ref.spike_log[:bound]]
    assert (cpu.stats.spikes, cpu.stats.cycles) == (ref.stats.spikes, ref.stats.cycles)
