"""SpikeCoreCPU's ISA v2 interface and execution paths (docs/isa.md §3 "Interface", "Probes",
"State continuation", "Implementation notes"): the run signature and its errors, probe records and
their memory bound, the current compartment, conv exactness on both float paths, chunked lanes and
blocked streams (the same results whatever the chunk and block sizes)."""

from __future__ import annotations

import numpy as np
import pytest

import spikeir.chip.hardware_model as hardware_model
from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.isa import (
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
    LeakDecay,
    OutputSpec,
    ProbeSpec,
    Program,
    ResetMode,
)
from spikeir.chip.target import SPIKECORE_V1
from spikeir.errors import ProgramError
from support.reference_model import run_reference

SMALL = SPIKECORE_V1.with_options(name="small", cores=4, neurons_per_core=32, bus_size=256)


def lif_program(streamed: bool = True, probes: list[ProbeSpec] | None = None) -> Program:
    """A recurrent LIF layer of 3 neurons on a 4-input stream, a CUBA readout of 2 (docs/isa.md's v2 example)."""
    instructions: list[Instruction] = [
        LeakDecay(0, 0, 3, table=2),
        Acc(0, 0, 3, src=0, src_len=4, table=0),
        Acc(0, 0, 3, src=4, src_len=3, table=1, delay=1),
        AccBias(0, 0, 3, table=0),
        Fire(0, 0, 3, 4, 1, mode=FireMode.BINARY, reset=ResetMode.VALUE, hi=0, reset_table=3, refractory=1),
        LeakDecay(1, 0, 2, table=4, compartment=Compartment.I),
        Acc(1, 0, 2, src=4, src_len=3, table=2, compartment=Compartment.I),
        LeakDecay(1, 0, 2, table=5),
        AccCurrent(1, 0, 2),
        Halt(),
    ]
    return Program(
        instructions,
        4,
        [OutputSpec(1, 0, 2)],
        {
            0: np.array([[40, -3, 20, 7], [5, 60, -10, 2], [30, 30, 30, -90]], np.int8),
            1: np.array([[0, -20, 10], [15, 0, -5], [-8, 25, 0]], np.int8),
            2: np.array([[9, -4, 3], [-6, 11, 2]], np.int8),
        },
        {
            0: np.array([3, -2, 1], np.int32),
            1: np.array([60, 45, 80], np.int32),
            2: np.array([410, 1024, 4096], np.int32),
            3: np.array([-5, 0, 7], np.int32),
            4: np.array([2048, 0], np.int32),
            5: np.array([100, 4095], np.int32),
        },
        SMALL,
        streamed_input=streamed,
        probes=probes if probes is not None else [ProbeSpec(0, 0, 3, spikes=True, v=True), ProbeSpec(1, 0, 2, i=True)],
    )


def stream(batch: int | None, timesteps: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (timesteps, 4) if batch is None else (batch, timesteps, 4)
    return np.where(rng.random(shape) < 0.5, rng.integers(-5, 6, shape), 0).astype(np.int8)


def loaded(program: Program, **options: int) -> SpikeCoreCPU:
    cpu = SpikeCoreCPU(target=program.target, **options)
    cpu.load_program(program)
    return cpu


# -- the run signature ------------------------------------------------------------------------------


def test_streamed_input_sets_t_and_probes_have_the_documented_shapes() -> None:
    program = lif_program()
    cpu = loaded(program)
    cpu.run(stream(3, 6))
    assert cpu.stats.timesteps == 6 and cpu.stats.batch == 3
    records = cpu.get_probes()
    assert [sorted(r) for r in records] == [["spikes", "v"], ["i"]]
    assert records[0]["spikes"].shape == (3, 6, 3) and records[0]["spikes"].dtype == np.int8
    assert records[0]["v"].dtype == np.int32 and records[1]["i"].shape == (3, 6, 2)
    counts = cpu.run(stream(None, 5))
    assert counts.shape == (SMALL.cores,)
    assert cpu.get_probes()[0]["v"].shape == (5, 3) and cpu.outputs().shape == (2,)
    ref = run_reference(program, stream(None, 5))
    np.testing.assert_array_equal(cpu.get_probes()[0]["v"], ref.probes[0]["v"][0])
    np.testing.assert_array_equal(cpu.membrane(1, compartment="i"), ref.currents[0, 1])


def test_direct_input_defaults_to_one_timestep() -> None:
    program = lif_program(streamed=False)
    cpu = loaded(program)
    cpu.run(np.ones(4, np.int8))
    assert cpu.stats.timesteps == 1
    cpu.run(np.ones((2, 4), np.int8), 3)
    assert cpu.stats.timesteps == 3 and cpu.get_probes()[1]["i"].shape == (2, 3, 2)


@pytest.mark.parametrize(
    ("x", "timesteps", "match"),
    [
        (np.zeros(4, np.int8), None, r"streamed input must have shape \(T, 4\) or \(batch, T, 4\)"),
        (np.zeros((2, 0, 4), np.int8), None, "batch, T >= 1"),
        (np.zeros((0, 3, 4), np.int8), None, "batch, T >= 1"),
        (np.zeros((3, 5), np.int8), None, "got"),
        (np.zeros((3, 4), np.int8), 4, "differs from the stream's length T=3"),
        (np.zeros((3, 4), np.int8), 0, "positive integer"),
        (np.zeros((3, 4), np.int8), True, "positive integer"),
        (np.full((3, 4), 300, np.int16), None, r"\[-128, 127\]"),
        (np.zeros((3, 4), np.float32), None, "dtype float32"),
    ],
)
def test_streamed_input_errors(x: np.ndarray, timesteps: object, match: str) -> None:
    with pytest.raises(ProgramError, match=match):
        loaded(lif_program()).run(x, timesteps)  # type: ignore[arg-type]


def test_membrane_compartment_argument() -> None:
    cpu = loaded(lif_program())
    with pytest.raises(ProgramError, match="no results yet"):
        cpu.membrane(0)
    cpu.run(stream(2, 3), lane_to_log=1)
    assert cpu.membrane(2, compartment="i").tolist() == [0] * 32  # untouched neurons
    with pytest.raises(ProgramError, match="compartment must be 'v' or 'i'"):
        cpu.membrane(0, compartment="V")
    with pytest.raises(ProgramError, match="lane 2 is not a lane"):
        cpu.membrane(0, lane=2)


# -- probes ---------------------------------------------------------------------------------------------


def test_run_time_probes_replace_the_programs() -> None:
    program = lif_program()
    cpu = loaded(program)
    x = stream(2, 4)
    cpu.run(x, probes=[ProbeSpec(1, 0, 2, v=True, i=True), ProbeSpec(3, 5, 2, v=True, i=True)])
    records = cpu.get_probes()
    ref = run_reference(program, x, probes=[ProbeSpec(1, 0, 2, v=True, i=True)])
    np.testing.assert_array_equal(records[0]["v"], ref.probes[0]["v"])
    np.testing.assert_array_equal(records[0]["i"], ref.probes[0]["i"])
    assert not records[1]["v"].any() and not records[1]["i"].any()  # neurons no instruction touches stay 0
    cpu.run(x, probes=[])
    assert cpu.get_probes() == []
    cpu.run(x)
    assert len(cpu.get_probes()) == 2  # the program's own probes again


@pytest.mark.parametrize(
    ("probe", "match"),
    [
        (ProbeSpec(1, 0, 2, spikes=True), "covered by exactly one FIRE; neuron c1\\[0\\] is covered by 0"),
        (ProbeSpec(0, 0, 3), "at least one of spikes, v, i"),
        (ProbeSpec(4, 0, 1, v=True), "not a neuron range"),
        (ProbeSpec(0, 30, 3, v=True), "exceed core 0's 32 neurons"),
    ],
)
def test_run_time_probes_follow_the_probe_rules(probe: ProbeSpec, match: str) -> None:
    with pytest.raises(ProgramError, match=match) as err:
        loaded(lif_program()).run(stream(1, 2), probes=[ProbeSpec(0, 0, 1, v=True), probe])
    assert err.value.location == "probe 1"


def test_probe_memory_is_bounded_before_the_run_starts() -> None:
    program = lif_program()
    # 3 spikes (1 byte) + 3 v (4 bytes) + 2 i (4 bytes) = 23 bytes per lane per timestep.
    cpu = loaded(program, max_probe_bytes=23 * 2 * 5)
    cpu.run(stream(2, 5))
    before = cpu.outputs().copy()
    with pytest.raises(ProgramError) as err:
        cpu.run(stream(2, 6, seed=1))
    message = str(err.value)
    for part in ("276 bytes", "B=2", "T=6", "23 bytes per timestep", "max_probe_bytes=230", "continue_state=True"):
        assert part in message
    np.testing.assert_array_equal(cpu.outputs(), before)  # nothing ran
    cpu.run(stream(2, 6, seed=1), probes=[])  # without probes it runs
    with pytest.raises(ProgramError, match="max_probe_bytes must be"):
        SpikeCoreCPU(max_probe_bytes=-1)


# -- chunks of lanes, blocks of timesteps ---------------------------------------------------------------


@pytest.mark.parametrize("streamed", [True, False])
def test_chunks_and_blocks_do_not_change_results(monkeypatch: pytest.MonkeyPatch, streamed: bool) -> None:
    program = lif_program(streamed)
    x = stream(5, 7) if streamed else stream(None, 5)[:5]
    timesteps = None if streamed else 7
    whole = loaded(program)
    whole.run(x, timesteps, lane_to_log=3)
    monkeypatch.setattr(hardware_model, "_CHUNK_BYTES", 1)  # one lane per chunk, one timestep per block
    monkeypatch.setattr(hardware_model, "_BLOCK_BYTES", 1)
    small = loaded(program)
    small.run(x, timesteps, lane_to_log=3)
    np.testing.assert_array_equal(small.outputs(), whole.outputs())
    assert small.get_spike_log() == whole.get_spike_log()
    for a, b in zip(small.get_probes(), whole.get_probes()):
        for kind in a:
            np.testing.assert_array_equal(a[kind], b[kind])
    assert small.stats.as_dict() == whole.stats.as_dict()
    for lane in range(5):
        np.testing.assert_array_equal(small.membrane(0, lane), whole.membrane(0, lane))
    # a continued run across chunks
    small.run(x, timesteps, continue_state=True)
    whole.run(x, timesteps, continue_state=True)
    np.testing.assert_array_equal(small.outputs(), whole.outputs())
    for lane in range(5):
        np.testing.assert_array_equal(small.membrane(1, lane, "i"), whole.membrane(1, lane, "i"))


# -- conv exactness --------------------------------------------------------------------------------------


def pointwise_program(weights: np.ndarray, channels: int, width: int) -> Program:
    """A 1x1 conv over ``channels`` input channels of a 1 x width map: fan-in ``channels``."""
    geometry = ConvGeometry(channels, 1, width, 1, 1, width, 1, 1)
    return Program(
        [AccConv(0, 0, width, 0, 0, geometry), Halt()],
        channels * width,
        [OutputSpec(0, 0, width)],
        {0: weights},
        {},
        SPIKECORE_V1.with_options(
            name="conv", cores=1, neurons_per_core=64, bus_size=channels * width + 1, max_fan_in=4096
        ),
    )


@pytest.mark.parametrize("channels", [1032, 1100])  # 128 * 127 * fan-in crosses 2^24 between them
def test_conv_is_exact_on_both_float_paths(channels: int) -> None:
    rng = np.random.default_rng(channels)
    weights = np.full((1, channels), -127, np.int8)  # odd products: float32 would round sums past 2^24
    width = 3
    x = np.where(rng.random((3, channels * width)) < 0.97, -128, rng.integers(-128, 128, (3, channels * width)))
    x = x.astype(np.int8)
    x[0, ::5] = -1
    program = pointwise_program(weights, channels, width)
    cpu = loaded(program)
    step = cpu._plan.acc_steps[0]  # white box: which path runs  # type: ignore[union-attr]
    assert step.kernel.weights.dtype == (np.float32 if channels == 1032 else np.float64)  # type: ignore[union-attr]
    cpu.run(x)
    maps = x.astype(np.int64).reshape(3, channels, width)
    expected = np.einsum("bcw,c->bw", maps, weights[0].astype(np.int64))
    assert int(np.abs(expected).max()) > 2**24 or channels == 1032
    np.testing.assert_array_equal(cpu.outputs(), expected)
    assert cpu.stats.synaptic_ops == int(np.count_nonzero(x))
    ref = run_reference(program, x[:1], 1)
    np.testing.assert_array_equal(cpu.outputs()[:1], ref.outputs)
