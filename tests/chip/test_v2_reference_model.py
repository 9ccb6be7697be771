"""Hand-computed checks of the reference model's ISA v2 forms (docs/isa.md §0-§3, the rules marked
v2). Every expected value here is worked out from the document, not from running code."""

from __future__ import annotations

import numpy as np
import pytest

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
    Leak,
    LeakDecay,
    OutputSpec,
    ProbeSpec,
    Program,
    ResetMode,
)
from spikeir.chip.target import SPIKECORE_V1
from support.reference_model import INT32_MAX, INT32_MIN, ReferenceResult, decay, run_reference

TINY = SPIKECORE_V1.with_options(name="tiny", cores=4, neurons_per_core=16, bus_size=128)
I = Compartment.I  # noqa: E741  (docs/isa.md's name)


def make(
    instructions: list[Instruction],
    n_inputs: int = 4,
    synapses: dict[int, list[list[int]]] | None = None,
    params: dict[int, list[int]] | None = None,
    outputs: list[OutputSpec] | None = None,
    probes: list[ProbeSpec] | None = None,
    streamed: bool = False,
) -> Program:
    return Program(
        instructions=[*instructions, Halt()],
        n_inputs=n_inputs,
        outputs=outputs or [],
        synapse_tables={tid: np.array(rows, dtype=np.int8) for tid, rows in (synapses or {}).items()},
        param_tables={tid: np.array(values, dtype=np.int32) for tid, values in (params or {}).items()},
        target=TINY,
        streamed_input=streamed,
        probes=probes or [],
    )


def binary(
    core: int,
    base: int,
    count: int,
    dst: int,
    table: int,
    reset: ResetMode = ResetMode.ZERO,
    reset_table: int = 0,
    refractory: int = 0,
    init_half: bool = False,
) -> Fire:
    return Fire(
        core, base, count, dst, table, mode=FireMode.BINARY, reset=reset, hi=0, init_half=init_half,
        reset_table=reset_table, refractory=refractory,
    )  # fmt: skip


def run(program: Program, x: list[int] | list[list[int]], timesteps: int | None = None) -> ReferenceResult:
    return run_reference(program, np.array(x, dtype=np.int8), timesteps)


# ---- LEAK decay ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "dv", "expected"),
    [
        (100, 410, 90),  # docs/isa.md: 100 - (41000 >> 12) = 100 - 10
        (-100, 410, -89),  # -100 - (-41000 >> 12) = -100 + 11
        (1, 4095, 1),  # 1 stays 1 for every dv < 4096
        (-1, 1, 0),  # -1 becomes 0 for every dv >= 1
        (12345, 0, 12345),  # dv = 0 keeps X
        (12345, 4096, 0),  # dv = 4096 clears it
        (INT32_MIN, 4096, 0),
        (INT32_MAX, 1, INT32_MAX - ((INT32_MAX * 1) >> 12)),
        (INT32_MIN, 2048, INT32_MIN // 2),
    ],
)
def test_decay_formula(x: int, dv: int, expected: int) -> None:
    assert decay(x, dv) == expected


@pytest.mark.parametrize("k", range(1, 13))
def test_leak_shift_equals_decay_of_4096_shifted(k: int) -> None:
    for x in (INT32_MIN, -12345, -1, 0, 1, 7, 12345, INT32_MAX):
        assert x - (x >> k) == decay(x, 4096 >> k)


def test_decay_leak_on_v_and_on_i_in_program_order() -> None:
    # V: bias 1000, then decay by 410 each timestep (decay first, as a LIF program orders it).
    program = make(
        [LeakDecay(0, 0, 1, table=1), AccBias(0, 0, 1, table=0), LeakDecay(0, 1, 1, table=1, compartment=I),
         AccBias(0, 1, 1, table=0, compartment=I)],
        params={0: [1000], 1: [410]},
    )  # fmt: skip
    result = run(program, [0, 0, 0, 0], 2)
    # t0: V = 0 - 0 + 1000; t1: V = 1000 - (410000 >> 12 = 100) + 1000 = 1900; same for I of neuron 1.
    assert result.membranes[0, 0, 0] == 1900 and result.currents[0, 0, 1] == 1900
    assert result.membranes[0, 0, 1] == 0 and result.currents[0, 0, 0] == 0
    assert result.stats.neuron_updates == 4 and result.stats.inactive_updates == 4
    assert result.stats.cycles == 2 * (4 + 1)


# ---- CUBA ---------------------------------------------------------------------------------------


def test_cuba_sequence_saturates_after_every_addition() -> None:
    # CUBA LIF: LEAK .i decay=du, ACC .i syn, LEAK decay=dv, ACC i, ACC bias.
    program = make(
        [
            LeakDecay(0, 0, 1, table=1, compartment=I),
            Acc(0, 0, 1, src=0, src_len=1, table=0, compartment=I),
            LeakDecay(0, 0, 1, table=2),
            AccCurrent(0, 0, 1),
            AccBias(0, 0, 1, table=3),
        ],
        n_inputs=1,
        synapses={0: [[10]]},
        params={1: [2048], 2: [1024], 3: [-5]},
    )
    result = run(program, [3], 3)
    # I: 30, 15 + 30 = 45, 22 + 30 (45 - (45*2048 >> 12) = 45 - 22 = 23) ... computed step by step:
    i, v = 0, 0
    for _ in range(3):
        i = i - ((i * 2048) >> 12) + 30
        v = v - ((v * 1024) >> 12) + i - 5
    assert result.currents[0, 0, 0] == i and result.membranes[0, 0, 0] == v
    # Current ACCs are not neuron updates; they cost a cycle per neuron (as bias ACCs do).
    assert result.stats.neuron_updates == 2 * 3
    assert result.stats.cycles == 3 * (1 + 1 + 1 + 1 + 1 + 1)  # 1 synaptic op (input 3 is an event)


def test_current_acc_saturates_at_both_ends() -> None:
    program = make(
        [AccBias(0, 0, 2, table=0), AccBias(0, 0, 2, table=1, compartment=I), AccCurrent(0, 0, 2)],
        params={0: [INT32_MAX - 5, INT32_MIN + 5], 1: [10, -10]},
    )
    result = run(program, [0, 0, 0, 0], 1)
    assert result.membranes[0, 0, :2].tolist() == [INT32_MAX, INT32_MIN]


# ---- FIRE: reset to a value, refractory ------------------------------------------------------


def test_reset_to_value_and_refractory_hold() -> None:
    # Bias 6 each timestep, threshold 10, reset to 3, refractory 2.
    program = make(
        [AccBias(0, 0, 1, table=0), binary(0, 0, 1, 4, 1, reset=ResetMode.VALUE, reset_table=2, refractory=2)],
        params={0: [6], 1: [10], 2: [3]},
        probes=[ProbeSpec(0, 0, 1, spikes=True, v=True)],
    )
    result = run(program, [0, 0, 0, 0], 8)
    # t0: V=6; t1: 12 -> spike, V=3, R=2; t2: held (R 2->1), V=3; t3: held (R 1->0), V=3;
    # t4: V=9; t5: 15 -> spike, V=3, R=2; t6, t7 held.
    assert result.probes[0]["spikes"][0, :, 0].tolist() == [0, 1, 0, 0, 0, 1, 0, 0]
    assert result.probes[0]["v"][0, :, 0].tolist() == [6, 3, 3, 3, 9, 3, 3, 3]
    assert result.refractory[0, 0, 0] == 0
    assert result.stats.spikes == 2 and result.stats.active_updates == 2 and result.stats.neuron_updates == 8


def test_refractory_with_reset_zero_discards_input_but_current_integrates() -> None:
    program = make(
        [
            AccBias(0, 0, 1, table=0, compartment=I),
            AccCurrent(0, 0, 1),
            binary(0, 0, 1, 4, 1, refractory=1),
        ],
        params={0: [4], 1: [8]},
        probes=[ProbeSpec(0, 0, 1, spikes=True, v=True, i=True)],
    )
    result = run(program, [0, 0, 0, 0], 4)
    # I: 4, 8, 12, 16; V: 4, 4+8=12 -> spike V=0 R=1, t2 held (V=0), t3: 0+16 -> spike.
    assert result.probes[0]["i"][0, :, 0].tolist() == [4, 8, 12, 16]
    assert result.probes[0]["spikes"][0, :, 0].tolist() == [0, 1, 0, 1]
    assert result.probes[0]["v"][0, :, 0].tolist() == [4, 0, 0, 0]


def test_snntorch_mem_rec_is_v_before_reset() -> None:
    """docs/isa.md: a probe's v is V after the reset; for reset=subtract, mem_rec = v + theta * spikes."""
    program = make(
        [AccBias(0, 0, 1, table=0), Fire(0, 0, 1, 4, 1, mode=FireMode.BINARY, reset=ResetMode.SUBTRACT, hi=0)],
        params={0: [7], 1: [10]},
        probes=[ProbeSpec(0, 0, 1, spikes=True, v=True)],
    )
    rec = run(program, [0, 0, 0, 0], 4).probes[0]
    before = rec["v"][0, :, 0] + 10 * rec["spikes"][0, :, 0].astype(np.int64)
    assert before.tolist() == [7, 14, 11, 8]


# ---- delays, recurrence, streamed input -------------------------------------------------------


def test_delayed_read_of_the_direct_input_sees_zero_first() -> None:
    program = make(
        [Acc(0, 0, 1, src=0, src_len=1, table=0, delay=2)],
        n_inputs=1,
        synapses={0: [[1]]},
        probes=[ProbeSpec(0, 0, 1, v=True)],
    )
    result = run(program, [5], 4)
    assert result.probes[0]["v"][0, :, 0].tolist() == [0, 0, 5, 10]
    assert result.stats.synaptic_ops == 2 and result.stats.inter_core_deliveries == 2
    assert result.stats.input_events == 4  # counted per timestep, whether read or not


def test_recurrence_reads_own_spikes_of_the_previous_timestep() -> None:
    # A neuron that spikes when driven, and feeds itself back with weight 10 and delay 1.
    program = make(
        [
            Acc(0, 0, 1, src=0, src_len=1, table=0),
            Acc(0, 0, 1, src=1, src_len=1, table=1, delay=1),
            binary(0, 0, 1, 1, 0),
        ],
        n_inputs=1,
        synapses={0: [[10]], 1: [[10]]},
        params={0: [10]},
        probes=[ProbeSpec(0, 0, 1, spikes=True)],
        streamed=True,
    )
    stream = [[1], [0], [0], [0]]
    result = run(program, stream)
    assert result.probes[0]["spikes"][0, :, 0].tolist() == [1, 1, 1, 1]  # self-sustained
    # Every delivery of the recurrent ACC is intra-core (core 0 wrote the spike on the previous step).
    assert result.stats.intra_core_deliveries == 3 and result.stats.inter_core_deliveries == 1
    assert result.stats.input_events == 1


def test_streamed_input_changes_every_timestep() -> None:
    program = make(
        [Acc(1, 0, 1, src=0, src_len=2, table=0)],
        n_inputs=2,
        synapses={0: [[1, 2]]},
        outputs=[OutputSpec(1, 0, 1)],
        streamed=True,
    )
    result = run(program, [[[1, 0], [0, 3], [2, 2]], [[0, 0], [0, 0], [1, 1]]])
    assert result.outputs.tolist() == [[1 + 6 + 6], [3]]
    assert result.stats.input_events == 4 + 2 and result.stats.synaptic_ops == 6
    with pytest.raises(ValueError, match="stream's length"):
        run(program, [[1, 0], [0, 3]], 3)


# ---- conv ---------------------------------------------------------------------------------------


def conv_program(geometry: ConvGeometry, kernel: list[list[int]], p0: int = 0, count: int | None = None) -> Program:
    count = geometry.out_size - p0 if count is None else count
    src_len = geometry.src_len
    return Program(
        [AccConv(0, 0, count, src=0, table=0, geometry=geometry, p0=p0), Halt()],
        src_len,
        [OutputSpec(0, 0, count)],
        {0: np.array(kernel, dtype=np.int8)},
        {},
        SPIKECORE_V1.with_options(name="conv", cores=1, neurons_per_core=64, bus_size=src_len + 1),
    )


def test_conv_event_accounting_example() -> None:
    """docs/isa.md: a 3x3 conv, pad 1, on a 1x4x4 map: an event at (1, 1) costs 9 operations, one at (0, 0) 4."""
    g = ConvGeometry(1, 4, 4, 1, 4, 4, 3, 3, pad_h=1, pad_w=1)
    program = conv_program(g, [[1] * 9])
    at_11 = np.zeros(16, np.int8)
    at_11[1 * 4 + 1] = 1
    at_00 = np.zeros(16, np.int8)
    at_00[0] = 1
    assert run_reference(program, at_11, 1).stats.synaptic_ops == 9
    assert run_reference(program, at_00, 1).stats.synaptic_ops == 4
    both = run_reference(program, at_11 + at_00, 1).stats
    assert both.synaptic_ops == 13 and both.inter_core_deliveries == 2 and both.cycles == 14


def test_conv_is_the_unrolled_dense_acc() -> None:
    """2 input channels 3x3, 2 groups, stride 2, pad 1, dilation 1: against a hand-unrolled dense matrix."""
    g = ConvGeometry(2, 3, 3, 2, 2, 2, 2, 2, stride_h=2, stride_w=2, pad_h=1, pad_w=1, groups=2)
    kernel = [[1, 2, 3, 4], [5, 6, 7, 8]]
    x = np.arange(1, 19, dtype=np.int8)
    out = run_reference(conv_program(g, kernel), x, 1).outputs[0].tolist()
    maps = x.astype(int).reshape(2, 3, 3)
    expected = []
    for oc in range(2):
        w = np.array(kernel[oc]).reshape(2, 2)
        padded = np.pad(maps[oc], 1)
        for oy in range(2):
            for ox in range(2):
                expected.append(int((padded[2 * oy : 2 * oy + 2, 2 * ox : 2 * ox + 2] * w).sum()))
    assert out == expected


def test_sum_pool_is_a_depthwise_ones_conv_and_a_piece_starts_mid_channel() -> None:
    g = ConvGeometry(2, 2, 2, 2, 1, 1, 2, 2, stride_h=2, stride_w=2, groups=2)
    x = np.array([1, 2, 3, 4, 10, 20, 30, 40], np.int8)
    assert run_reference(conv_program(g, [[1] * 4, [1] * 4]), x, 1).outputs[0].tolist() == [10, 100]
    # Only position 1 (channel 1): the block holds just that channel's row.
    assert run_reference(conv_program(g, [[1] * 4], p0=1), x, 1).outputs[0].tolist() == [100]


def test_conv_with_dilation_reads_spread_taps() -> None:
    g = ConvGeometry(1, 1, 5, 1, 1, 1, 1, 3, dilation_w=2)  # conv1d, taps at 0, 2, 4
    x = np.array([1, 10, 2, 20, 3], np.int8)
    assert run_reference(conv_program(g, [[1, 1, 1]]), x, 1).outputs[0].tolist() == [6]


# ---- continuation and energy --------------------------------------------------------------------


def test_continuation_equals_one_long_run() -> None:
    program = make(
        [
            LeakDecay(0, 0, 2, table=2),
            Acc(0, 0, 2, src=0, src_len=2, table=0),
            Acc(0, 0, 2, src=4, src_len=2, table=1, delay=2),
            binary(0, 0, 2, 4, 1, init_half=True, refractory=1),
        ],
        n_inputs=2,
        synapses={0: [[5, 1], [2, 7]], 1: [[3, -4], [-2, 6]]},
        params={1: [9, 11], 2: [500, 900]},
        probes=[ProbeSpec(0, 0, 2, spikes=True, v=True)],
        streamed=True,
    )
    rng = np.random.default_rng(3)
    stream = rng.integers(-3, 4, size=(2, 7, 2)).astype(np.int8)
    whole = run_reference(program, stream)
    first = run_reference(program, stream[:, :3])
    second = run_reference(program, stream[:, 3:], state=first.states)
    assert np.array_equal(second.membranes, whole.membranes)
    for kind in ("spikes", "v"):
        joined = np.concatenate([first.probes[0][kind], second.probes[0][kind]], axis=1)
        assert np.array_equal(joined, whole.probes[0][kind])
    for name in ("synaptic_ops", "spikes", "neuron_updates", "cycles", "intra_core_deliveries", "input_events"):
        assert getattr(first.stats, name) + getattr(second.stats, name) == getattr(whole.stats, name)
    assert [e.timestep for e in second.spike_log] == [e.timestep - 3 for e in whole.spike_log if e.timestep >= 3]


def test_batch_energy_is_the_formula_on_the_summed_counts() -> None:
    program = make(
        [Acc(0, 0, 1, src=0, src_len=2, table=0), binary(0, 0, 1, 4, 0), Leak(1, 0, 3, shift=1)],
        n_inputs=2,
        synapses={0: [[3, 4]]},
        params={0: [5]},
    )
    result = run(program, [[1, 1], [0, 1], [1, 0]], 3)
    s, e = result.stats, TINY.energy
    expected = (
        e.synaptic_op_pj * s.synaptic_ops
        + e.neuron_update_active_pj * s.active_updates
        + e.neuron_update_inactive_pj * s.inactive_updates
        + e.spike_intra_core_pj * s.intra_core_deliveries
        + e.spike_inter_core_pj * s.inter_core_deliveries
    )
    assert s.energy_pj == expected
    assert sum(lane.energy_pj for lane in result.lane_stats) == pytest.approx(expected, rel=1e-12)
