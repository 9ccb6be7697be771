"""Hand-computed checks of the reference model (tests/reference_model.py), one or more per rule of
docs/isa.md. Every expected value here is worked out from the document, not from running code."""

from __future__ import annotations

import numpy as np
import pytest

from spikeir.chip.isa import Acc, AccBias, Fire, FireMode, Halt, Instruction, Leak, OutputSpec, Program, ResetMode
from spikeir.chip.target import SPIKECORE_V1
from spikeir.errors import ProgramError
from support.reference_model import INT32_MAX, INT32_MIN, ReferenceResult, SpikeEvent, run_reference

TINY = SPIKECORE_V1.with_options(name="tiny", cores=4, neurons_per_core=8, bus_size=64)


def make(
    instructions: list[Instruction],
    n_inputs: int = 4,
    synapses: dict[int, list[list[int]]] | None = None,
    params: dict[int, list[int]] | None = None,
    outputs: list[OutputSpec] | None = None,
) -> Program:
    return Program(
        instructions=[*instructions, Halt()],
        n_inputs=n_inputs,
        outputs=outputs or [],
        synapse_tables={tid: np.array(rows, dtype=np.int8) for tid, rows in (synapses or {}).items()},
        param_tables={tid: np.array(values, dtype=np.int32) for tid, values in (params or {}).items()},
        target=TINY,
    )


def run(program: Program, x: list[int] | list[list[int]], timesteps: int = 1) -> ReferenceResult:
    return run_reference(program, np.array(x, dtype=np.int8), timesteps)


def v_of(result: ReferenceResult, core: int, neuron: int, lane: int = 0) -> int:
    return int(result.membranes[lane, core, neuron])


def bias_program(values: list[int]) -> Program:
    """One neuron (c0[0]) that receives each value as a bias ACC, in order."""
    return make(
        [AccBias(core=0, base=0, count=1, table=i) for i in range(len(values))],
        params={i: [value] for i, value in enumerate(values)},
    )


# ---- ACC -----------------------------------------------------------------------------------


def test_synaptic_acc_is_a_dot_product_per_row() -> None:
    program = make(
        [Acc(core=1, base=2, count=2, src=0, src_len=3, table=0, row=1, col=1)],
        synapses={0: [[9, 9, 9, 9], [9, 1, 2, 3], [9, -4, 5, -6]]},
    )
    result = run(program, [10, -20, 30, 99])
    assert v_of(result, 1, 2) == 1 * 10 + 2 * -20 + 3 * 30  # 60
    assert v_of(result, 1, 3) == -4 * 10 + 5 * -20 + -6 * 30  # -320
    assert int(np.count_nonzero(result.membranes)) == 2


def test_acc_extreme_int8_products() -> None:
    program = make([Acc(core=0, base=0, count=2, src=0, src_len=2, table=0)], synapses={0: [[-128, -128], [127, -128]]})
    result = run(program, [-128, -128, 0, 0])
    assert v_of(result, 0, 0) == 2 * 16384
    assert v_of(result, 0, 1) == -127 * 128 + 16384


def test_bias_saturates_at_int32_max_and_is_not_sticky() -> None:
    result = run(bias_program([INT32_MAX, 5, -7]), [0, 0, 0, 0])
    assert v_of(result, 0, 0) == INT32_MAX - 7


def test_bias_saturates_at_int32_min_and_is_not_sticky() -> None:
    result = run(bias_program([INT32_MIN, -1, INT32_MIN, 3]), [0, 0, 0, 0])
    assert v_of(result, 0, 0) == INT32_MIN + 3


def test_synaptic_sum_is_exact_before_saturating_add() -> None:
    # V = MAX - 10; the ACC adds 127*127 - 127*127 = 0 exactly, so V is unchanged (an adder that
    # saturated term by term would end at MAX - 16129).
    program = make(
        [AccBias(core=0, base=0, count=1, table=0), Acc(core=0, base=0, count=1, src=0, src_len=2, table=0)],
        synapses={0: [[127, -127]]},
        params={0: [INT32_MAX - 10]},
    )
    assert v_of(run(program, [127, 127, 0, 0]), 0, 0) == INT32_MAX - 10


def test_synaptic_acc_saturates_both_ways_over_timesteps() -> None:
    # Each timestep adds 4 * 127 * 127 = 64516 on top of a bias near the ends; T = 3.
    program = make(
        [
            AccBias(core=0, base=0, count=2, table=0),
            Acc(core=0, base=0, count=2, src=0, src_len=4, table=0),
        ],
        synapses={0: [[127] * 4, [-127] * 4]},
        params={0: [INT32_MAX - 100000, INT32_MIN + 100000]},
    )
    result = run(program, [127, 127, 127, 127], timesteps=1)
    assert v_of(result, 0, 0) == INT32_MAX - 100000 + 64516
    assert v_of(result, 0, 1) == INT32_MIN + 100000 - 64516
    result = run(program, [127, 127, 127, 127], timesteps=3)
    assert v_of(result, 0, 0) == INT32_MAX
    assert v_of(result, 0, 1) == INT32_MIN


# ---- FIRE graded ---------------------------------------------------------------------------


def graded_program(v: int, multiplier: int, shift: int, lo: int = -128, hi: int = 127) -> Program:
    """c0[0] gets the bias v, then fires graded with one multiplier; c0[1] reads the payload back."""
    return make(
        [
            AccBias(core=0, base=0, count=1, table=0),
            Fire(core=0, base=0, count=1, dst=8, table=1, shift=shift, lo=lo, hi=hi),
            Acc(core=0, base=1, count=1, src=8, src_len=1, table=0),
        ],
        synapses={0: [[1]]},
        params={0: [v], 1: [multiplier]},
    )


def payload(v: int, multiplier: int, shift: int, lo: int = -128, hi: int = 127) -> int:
    result = run(graded_program(v, multiplier, shift, lo, hi), [0, 0, 0, 0])
    assert v_of(result, 0, 0) == 0  # graded FIRE always resets V
    return v_of(result, 0, 1)


@pytest.mark.parametrize(
    ("v", "shift", "expected"),
    [
        (3, 1, 2),  # 1.5 rounds up to 2
        (1, 1, 1),  # 0.5 -> 1
        (-1, 1, 0),  # -0.5 rounds half up to 0
        (-3, 1, -1),  # -1.5 -> -1
        (-5, 2, -1),  # -1.25 -> -1
        (-6, 2, -1),  # -1.5 -> -1
        (-7, 2, -2),  # -1.75 -> -2
        (-2, 2, 0),  # -0.5 -> 0
        (-10, 2, -2),  # -2.5 -> -2
        (10, 2, 3),  # 2.5 -> 3
    ],
)
def test_graded_rounding_is_half_up_including_negatives(v: int, shift: int, expected: int) -> None:
    assert payload(v, 1, shift) == expected


def test_graded_shift_zero_is_the_plain_product() -> None:
    assert payload(3, 2, 0) == 6
    assert payload(-3, 5, 0) == -15
    assert payload(100, 2, 0) == 127  # clamped


def test_graded_multiplier_scales_before_rounding() -> None:
    # (25 * 3 + 8) >> 4 = 83 >> 4 = 5 (4.6875 rounds to 5); (-25 * 3 + 8) >> 4 = -67 >> 4 = -5
    assert payload(25, 3, 4) == 5
    assert payload(-25, 3, 4) == -5
    assert payload(25, -3, 4) == -5


def test_graded_clamp() -> None:
    assert payload(-40, 1, 0, lo=0, hi=127) == 0
    assert payload(40, 1, 0, lo=-5, hi=20) == 20
    assert payload(-40, 1, 0, lo=-5, hi=20) == -5
    assert payload(5, 1, 0, lo=-128, hi=-10) == -10


def test_graded_product_is_exact_at_63_bits() -> None:
    # (2^31 - 1)^2 + 2^61 >> 62 = 1; (-2^31)^2 = 2^62 -> (2^62 + 2^61) >> 62 = 1
    assert payload(INT32_MAX, INT32_MAX, 62) == 1
    assert payload(INT32_MIN, INT32_MIN, 62) == 1
    assert payload(INT32_MIN, INT32_MAX, 62) == -1  # (-2^62 + 2^31 + 2^61) >> 62 = -1
    assert payload(INT32_MAX, INT32_MAX, 0) == 127
    assert payload(INT32_MIN, INT32_MAX, 0) == -128
    # 2^31 - 1 shifted by 31 rounds to 1; by 32, 0.4999... rounds to 0.
    assert payload(INT32_MAX, 1, 31) == 1
    assert payload(INT32_MAX, 1, 32) == 0


def test_negative_graded_payload_is_a_spike_and_zero_is_not() -> None:
    program = make(
        [
            AccBias(core=2, base=0, count=3, table=0),
            Fire(core=2, base=0, count=3, dst=10, table=1, shift=0, lo=-128, hi=127),
        ],
        params={0: [-4, 0, 9], 1: [1, 1, 1]},
    )
    result = run(program, [0, 0, 0, 0], timesteps=2)
    assert result.spike_log == [
        SpikeEvent(0, 2, 0, -4),
        SpikeEvent(0, 2, 2, 9),
        SpikeEvent(1, 2, 0, -4),
        SpikeEvent(1, 2, 2, 9),
    ]
    assert result.spike_counts.tolist() == [[0, 0, 4, 0]]
    s = result.stats
    assert (s.spikes, s.neuron_updates, s.active_updates, s.inactive_updates) == (4, 6, 4, 2)


# ---- FIRE binary ---------------------------------------------------------------------------


def binary_program(bias: int, theta: int, reset: ResetMode, init_half: bool = False) -> Program:
    return make(
        [
            AccBias(core=0, base=0, count=1, table=0),
            Fire(core=0, base=0, count=1, dst=4, table=1, mode=FireMode.BINARY, reset=reset, hi=0, init_half=init_half),
        ],
        params={0: [bias], 1: [theta]},
    )


def test_binary_reset_subtract_keeps_residue() -> None:
    # theta 10, bias 4: V 4, 8, 12 -> spike (2), 6, 10 -> spike (0), 4
    result = run(binary_program(4, 10, ResetMode.SUBTRACT), [0, 0, 0, 0], timesteps=6)
    assert [e.timestep for e in result.spike_log] == [2, 4]
    assert all(e.payload == 1 for e in result.spike_log)
    assert v_of(result, 0, 0) == 4


def test_binary_reset_zero_loses_residue() -> None:
    # theta 10, bias 4: 4, 8, 12 -> spike, 0 ; 4, 8, 12 -> spike, 0
    result = run(binary_program(4, 10, ResetMode.ZERO), [0, 0, 0, 0], timesteps=6)
    assert [e.timestep for e in result.spike_log] == [2, 5]
    assert v_of(result, 0, 0) == 0


def test_binary_fires_at_equality() -> None:
    result = run(binary_program(10, 10, ResetMode.SUBTRACT), [0, 0, 0, 0])
    assert len(result.spike_log) == 1 and v_of(result, 0, 0) == 0
    result = run(binary_program(9, 10, ResetMode.SUBTRACT), [0, 0, 0, 0])
    assert result.spike_log == [] and v_of(result, 0, 0) == 9


def test_binary_with_saturated_membrane() -> None:
    result = run(binary_program(INT32_MAX, 1, ResetMode.SUBTRACT), [0, 0, 0, 0], timesteps=2)
    assert len(result.spike_log) == 2
    assert v_of(result, 0, 0) == INT32_MAX - 1


def test_init_half_starts_at_theta_shift_one_once_per_run() -> None:
    # theta 7 -> V starts at 3; bias 2: 5, 7 -> spike (1) -> 0, 2, 4, 6, 8 -> spike (5) -> 1
    program = binary_program(2, 7, ResetMode.SUBTRACT, init_half=True)
    result = run(program, [0, 0, 0, 0], timesteps=6)
    assert [e.timestep for e in result.spike_log] == [1, 5]
    assert v_of(result, 0, 0) == 1
    # A second run starts afresh from theta >> 1 (no state carried over).
    again = run(program, [0, 0, 0, 0], timesteps=6)
    assert again.spike_log == result.spike_log
    # Without init=half: 2, 4, 6, 8 -> spike (3) -> 1, 3, 5
    plain = run(binary_program(2, 7, ResetMode.SUBTRACT), [0, 0, 0, 0], timesteps=6)
    assert [e.timestep for e in plain.spike_log] == [3]


def test_init_half_touches_only_its_range() -> None:
    program = make(
        [
            Fire(
                core=1,
                base=2,
                count=2,
                dst=4,
                table=0,
                mode=FireMode.BINARY,
                reset=ResetMode.ZERO,
                hi=0,
                init_half=True,
            )
        ],
        params={0: [9, 1000]},
    )
    result = run(program, [0, 0, 0, 0])
    assert result.membranes[0, 1].tolist() == [0, 0, 4, 500, 0, 0, 0, 0]
    assert int(np.count_nonzero(result.membranes)) == 2


# ---- LEAK ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("v", "shift", "expected"),
    [
        (100, 4, 94),  # 100 - 6
        (15, 4, 15),  # 15 >> 4 = 0
        (-1, 1, 0),  # the document's example: -1 - (-1) = 0
        (-3, 1, -1),  # -3 - (-2)
        (-5, 2, -3),  # -5 - (-2)
        (-16, 4, -15),  # -16 - (-1)
        (-15, 4, -14),  # -15 >> 4 = -1
        (INT32_MIN, 1, -(2**30)),
        (INT32_MAX, 31, INT32_MAX),  # MAX >> 31 = 0
        (INT32_MIN, 31, INT32_MIN + 1),  # MIN >> 31 = -1
    ],
)
def test_leak_is_arithmetic_shift_toward_zero(v: int, shift: int, expected: int) -> None:
    program = make(
        [AccBias(core=3, base=7, count=1, table=0), Leak(core=3, base=7, count=1, shift=shift)], params={0: [v]}
    )
    result = run(program, [0, 0, 0, 0])
    assert v_of(result, 3, 7) == expected
    assert (result.stats.neuron_updates, result.stats.inactive_updates, result.stats.active_updates) == (1, 1, 0)


# ---- execution order and the bus ----------------------------------------------------------


def relay_program(acc_before_fire: bool) -> Program:
    """c0[0] fires its bias gradedly to bus[5]; c1[0] reads bus[5] before or after that FIRE."""
    acc = Acc(core=1, base=0, count=1, src=5, src_len=1, table=0)
    body: list[Instruction] = [AccBias(core=0, base=0, count=1, table=0), Fire(core=0, base=0, count=1, dst=5, table=1)]
    return make([acc, *body] if acc_before_fire else [*body, acc], synapses={0: [[3]]}, params={0: [7], 1: [1]})


def test_fire_is_visible_to_later_acc_of_same_timestep() -> None:
    result = run(relay_program(acc_before_fire=False), [0, 0, 0, 0], timesteps=4)
    assert v_of(result, 1, 0) == 4 * 21


def test_acc_before_fire_reads_zeros_every_timestep() -> None:
    # The bus is cleared each timestep, so last timestep's payload is never seen.
    result = run(relay_program(acc_before_fire=True), [0, 0, 0, 0], timesteps=4)
    assert v_of(result, 1, 0) == 0
    assert result.stats.synaptic_ops == 0
    assert result.stats.inter_core_deliveries == 0


def test_same_input_every_timestep_and_graded_output_accumulates() -> None:
    # Hidden layer: c0[0:2] = relu(W x), fired to bus[4:6]; output c1[0] = sum of both, never fired.
    program = make(
        [
            Acc(core=0, base=0, count=2, src=0, src_len=2, table=0),
            Fire(core=0, base=0, count=2, dst=4, table=0, shift=0, lo=0, hi=127),
            Acc(core=1, base=0, count=1, src=4, src_len=2, table=1),
        ],
        synapses={0: [[1, 2], [-1, -1]], 1: [[1, 1]]},
        params={0: [1, 1]},
        outputs=[OutputSpec(core=1, base=0, count=1)],
    )
    # hidden = relu([5 + 6, -8]) = [11, 0]; output per step 11
    for timesteps in (1, 3):
        result = run(program, [5, 3, 0, 0], timesteps=timesteps)
        assert result.outputs.tolist() == [[11 * timesteps]]


# ---- accounting ----------------------------------------------------------------------------


def test_accounting_of_a_two_core_network() -> None:
    # Inputs [3, 0, -2, 0]: 2 input events.
    # instr 0: ACC c0[0:3] <- bus[0:4]: 2 events x 3 = 6 synaptic ops, 2 inter-core deliveries
    # instr 1: bias c0[0:3]: 3 cycles on core 0
    # instr 2: FIRE c0[0:3] -> bus[4:7], graded; payloads computed below
    # instr 3: ACC c0[3:5] <- bus[4:7] (same core: intra-core)
    # instr 4: ACC c1[0:1] <- bus[0:7] (inputs inter, core-0 events inter)
    # instr 5: LEAK c1[0:1]
    program = make(
        [
            Acc(core=0, base=0, count=3, src=0, src_len=4, table=0),
            AccBias(core=0, base=0, count=3, table=0),
            Fire(core=0, base=0, count=3, dst=4, table=1, shift=0, lo=0, hi=127),
            Acc(core=0, base=3, count=2, src=4, src_len=3, table=1),
            Acc(core=1, base=0, count=1, src=0, src_len=7, table=2),
            Leak(core=1, base=0, count=1, shift=1),
        ],
        synapses={0: [[1, 0, 0, 0], [0, 0, 1, 0], [1, 1, 1, 1]], 1: [[1, 1, 1], [1, 1, 1]], 2: [[1] * 7]},
        params={0: [0, 1, -5], 1: [1, 1, 1]},
    )
    # V before FIRE: [3, -2 + 1, 3 - 2 - 5] = [3, -1, -4] -> payloads [3, 0, 0]: 1 spike
    result = run(program, [3, 0, -2, 0], timesteps=2)
    per_step = {
        "synaptic_ops": 6 + 1 * 2 + 3 * 1,
        "spikes": 1,
        "neuron_updates": 3 + 1,
        "active_updates": 1,
        "inactive_updates": 2 + 1,
        "intra_core_deliveries": 1,
        "inter_core_deliveries": 2 + 3,
    }
    s = result.stats
    for name, value in per_step.items():
        assert getattr(s, name) == 2 * value, name
    # core 0: 6 + 3 + 3 + 2 = 14 cycles; core 1: 3 + 1 = 4; timestep = 14 + 1 barrier.
    assert s.core_cycles == [28, 8, 0, 0]
    assert s.cycles == 2 * 15
    assert s.core_synaptic_ops == [16, 6, 0, 0]
    assert s.core_intra_core_deliveries == [2, 0, 0, 0]
    assert s.core_inter_core_deliveries == [4, 6, 0, 0]
    expected_energy = 2 * (23.6 * 11 + 81 * 1 + 52 * 3 + 1.7 * 1 + 3.5 * 5)
    assert s.energy_pj == pytest.approx(expected_energy, rel=1e-12)
    # c1[0]: 3 - 2 + 3 = 4 per step; leak: 4 - 2 = 2; step 2: 2 + 4 = 6 -> 3
    assert v_of(result, 1, 0) == 3
    assert result.spike_log == [SpikeEvent(0, 0, 0, 3), SpikeEvent(1, 0, 0, 3)]


def test_zero_inputs_are_not_events_and_an_idle_step_costs_the_barrier() -> None:
    program = make([Acc(core=0, base=0, count=8, src=0, src_len=4, table=0)], synapses={0: [[1] * 4] * 8})
    result = run(program, [0, 0, 0, 0], timesteps=3)
    s = result.stats
    assert (s.synaptic_ops, s.inter_core_deliveries, s.cycles, s.energy_pj) == (0, 0, 3, 0.0)


def test_batch_lanes_are_independent_and_stats_are_sums() -> None:
    program = make(
        [
            Acc(core=0, base=0, count=1, src=0, src_len=4, table=0),
            Fire(core=0, base=0, count=1, dst=4, table=0, shift=0, lo=-128, hi=127),
            Acc(core=2, base=1, count=1, src=4, src_len=1, table=1),
        ],
        synapses={0: [[1, 1, 1, 1]], 1: [[2]]},
        params={0: [1]},
        outputs=[OutputSpec(core=2, base=1, count=1)],
    )
    lanes = [[1, 0, 0, 0], [0, 0, 0, 0], [-1, -1, 0, 5]]
    batch = run(program, lanes, timesteps=2)
    assert batch.outputs.tolist() == [[4], [0], [12]]
    assert batch.spike_counts.tolist() == [[2, 0, 0, 0], [0, 0, 0, 0], [2, 0, 0, 0]]
    assert batch.spike_log == [SpikeEvent(0, 0, 0, 1), SpikeEvent(1, 0, 0, 1)]
    for lane, x in enumerate(lanes):
        alone = run(program, x, timesteps=2)
        assert np.array_equal(alone.membranes[0], batch.membranes[lane])
        assert alone.stats == batch.lane_stats[lane]
    # lane cycles: [1 + 1 + 1 + 1, 0 + 1 + 0 + 1, 3 + 1 + 1 + 1] per step (core 0 vs core 2, + barrier)
    assert batch.stats.cycles == 2 * (3 + 2 + 5)
    assert batch.stats.synaptic_ops == 2 * ((1 + 1) + 0 + (3 + 1))
    log_lane_2 = run_reference(program, np.array(lanes, dtype=np.int8), 2, log_lane=2).spike_log
    assert log_lane_2 == [SpikeEvent(0, 0, 0, 3), SpikeEvent(1, 0, 0, 3)]


def test_outputs_concatenate_in_declaration_order() -> None:
    program = make(
        [AccBias(core=1, base=0, count=3, table=0), AccBias(core=0, base=5, count=2, table=1)],
        params={0: [1, 2, 3], 1: [-4, -5]},
        outputs=[OutputSpec(core=0, base=5, count=2), OutputSpec(core=1, base=1, count=2)],
    )
    assert run(program, [0, 0, 0, 0]).outputs.tolist() == [[-4, -5, 2, 3]]


def test_invalid_program_and_input_are_refused() -> None:
    with pytest.raises(ProgramError):
        run(make([Leak(core=9, base=0, count=1, shift=1)]), [0, 0, 0, 0])
    with pytest.raises(ValueError):
        run(make([]), [0, 0, 0])
