"""SpikeCoreCPU against hand-computed results of small programs (docs/isa.md sections 1-3)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import spikeir.chip.hardware_model as hardware_model
from spikeir.chip.hardware_model import SpikeCoreCPU, SpikeEvent
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
from spikeir.chip.target import SPIKECORE_V1, TARGETS, EnergyTable
from spikeir.errors import ProgramError

SMALL = SPIKECORE_V1.with_options(name="small", cores=4, neurons_per_core=8, bus_size=2048)


def params(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int32)


def graded(core: int, base: int, count: int, dst: int, table: int, shift: int, lo: int = 0, hi: int = 127) -> Fire:
    return Fire(core, base, count, dst, table, 0, FireMode.GRADED, ResetMode.ZERO, shift, lo, hi)


def binary(core: int, base: int, count: int, dst: int, table: int, reset: ResetMode, init_half: bool = False) -> Fire:
    return Fire(core, base, count, dst, table, 0, FireMode.BINARY, reset, 0, 0, 0, init_half)


def program(
    instructions: list[Instruction],
    n_inputs: int = 0,
    outputs: list[OutputSpec] | None = None,
    synapses: dict[int, np.ndarray] | None = None,
    param_tables: dict[int, np.ndarray] | None = None,
) -> Program:
    return Program(instructions + [Halt()], n_inputs, outputs or [], synapses or {}, param_tables or {}, SMALL)


def run(prog: Program, x: np.ndarray | None = None, timesteps: int = 1, **options: int) -> SpikeCoreCPU:
    cpu = SpikeCoreCPU(target=SMALL, **options)
    cpu.load_program(prog)
    cpu.run(np.zeros(prog.n_inputs, np.int8) if x is None else x, timesteps)
    return cpu


def identity(n: int) -> np.ndarray:
    return np.eye(n, dtype=np.int8)


# -- FIRE graded ---------------------------------------------------------------------------------


def graded_payloads(values: tuple[int, ...], multiplier: int, shift: int, lo: int = -128, hi: int = 127) -> list[int]:
    """Set V by a bias, FIRE graded, and read the payloads back through an identity ACC."""
    n = len(values)
    prog = program(
        [
            AccBias(0, 0, n, 0),
            graded(0, 0, n, 0, 1, shift, lo, hi),
            Acc(1, 0, n, 0, n, 0),
        ],
        outputs=[OutputSpec(1, 0, n)],
        synapses={0: identity(n)},
        param_tables={0: params(*values), 1: params(*([multiplier] * n))},
    )
    cpu = run(prog)
    assert cpu.membrane(0)[:n].tolist() == [0] * n  # graded FIRE resets V to zero
    assert [e.payload for e in cpu.get_spike_log()] == [p for p in cpu.outputs().tolist() if p != 0]
    return cpu.outputs().tolist()


def test_graded_rounds_half_up_with_floor_shift() -> None:
    # (V * M + 2) >> 2 with M = 1: 2/4 -> 1, -2/4 -> 0, 6/4 -> 2, -6/4 -> -1, 5/4 -> 1, -5/4 -> -1
    assert graded_payloads((2, -2, 6, -6, 5, -5), 1, 2) == [1, 0, 2, -1, 1, -1]
    # M = 3, shift 2: -15 + 2 = -13 >> 2 = -4 (floor), 15 + 2 = 17 >> 2 = 4
    assert graded_payloads((-5, 5), 3, 2) == [-4, 4]


def test_graded_shift_zero_is_plain_product() -> None:
    assert graded_payloads((3, -4, 0), 7, 0) == [21, -28, 0]


def test_graded_clamps_to_lo_hi() -> None:
    assert graded_payloads((1000, -1000, 50, -50), 1, 0, lo=-20, hi=30) == [30, -20, 30, -20]
    assert graded_payloads((5, -5), 1, 0, lo=0, hi=127) == [5, 0]  # ReLU clamp: no event for -5


def test_graded_product_uses_full_64_bits() -> None:
    # V * M = (2^31 - 1) * (2^31 - 1) overflows int32 and float64's 53 bits, not int64
    assert graded_payloads((INT32_MAX,), INT32_MAX, 62) == [1]  # (2^62 - 2^32 + 1 + 2^61) >> 62 = 1
    assert graded_payloads((INT32_MIN,), INT32_MAX, 55, lo=-128, hi=127) == [-128]


# -- FIRE binary, init=half, LEAK ---------------------------------------------------------------


def binary_program(reset: ResetMode, init_half: bool = False) -> Program:
    """Bias 7 each timestep into a neuron with threshold 10."""
    return program(
        [AccBias(0, 0, 1, 0), binary(0, 0, 1, 0, 1, reset, init_half)],
        param_tables={0: params(7), 1: params(10)},
    )


def spike_times(cpu: SpikeCoreCPU) -> list[int]:
    return [event.timestep for event in cpu.get_spike_log()]


def test_binary_reset_subtract_keeps_residue() -> None:
    cpu = run(binary_program(ResetMode.SUBTRACT), timesteps=5)
    # V: 7, 14 -> 4, 11 -> 1, 8, 15 -> 5
    assert spike_times(cpu) == [1, 2, 4]
    assert cpu.membrane(0)[0] == 5
    assert cpu.get_spike_log()[0] == SpikeEvent(timestep=1, core=0, neuron=0, payload=1)


def test_binary_reset_zero_drops_residue() -> None:
    cpu = run(binary_program(ResetMode.ZERO), timesteps=5)
    # V: 7, 14 -> 0, 7, 14 -> 0, 7
    assert spike_times(cpu) == [1, 3]
    assert cpu.membrane(0)[0] == 7


def test_binary_init_half_starts_at_half_threshold() -> None:
    cpu = run(binary_program(ResetMode.SUBTRACT, init_half=True), timesteps=3)
    # V starts at 10 >> 1 = 5: 12 -> 2, 9, 16 -> 6
    assert spike_times(cpu) == [0, 2]
    assert cpu.membrane(0)[0] == 6


def test_binary_threshold_is_inclusive() -> None:
    prog = program(
        [AccBias(0, 0, 1, 0), binary(0, 0, 1, 0, 1, ResetMode.SUBTRACT)], param_tables={0: params(10), 1: params(10)}
    )
    cpu = run(prog)
    assert spike_times(cpu) == [0] and cpu.membrane(0)[0] == 0


def test_leak_floors_toward_minus_infinity() -> None:
    values = (-1, -7, 7, -8, 8, INT32_MIN, INT32_MAX)
    prog = program(
        [AccBias(0, 0, 7, 0), Leak(0, 0, 4, 1), Leak(0, 4, 3, 2)],
        param_tables={0: params(*values)},
    )
    cpu = run(prog)
    # k=1: -1 - (-1) = 0, -7 - (-4) = -3, 7 - 3 = 4, -8 - (-4) = -4; k=2: 8 - 2 = 6, ...
    expected = [0, -3, 4, -4, 6, INT32_MIN - (INT32_MIN >> 2), INT32_MAX - (INT32_MAX >> 2)]
    assert cpu.membrane(0)[:7].tolist() == expected


# -- saturation, bias, visibility, outputs ------------------------------------------------------


def test_int32_saturation_both_ends_and_per_instruction() -> None:
    prog = program(
        [AccBias(0, 0, 2, 0), AccBias(0, 0, 2, 1), AccBias(0, 0, 2, 2)],
        outputs=[OutputSpec(0, 0, 2)],
        param_tables={0: params(INT32_MAX, INT32_MIN), 1: params(5, -5), 2: params(-1, 1)},
    )
    # saturation happens at each addition: MAX + 5 -> MAX, then - 1 -> MAX - 1 (not MAX + 4)
    assert run(prog).outputs().tolist() == [INT32_MAX - 1, INT32_MIN + 1]


def test_synaptic_acc_saturates_over_timesteps() -> None:
    n = 200
    prog = program(
        [Acc(0, 0, 2, 0, n, 0)],
        n_inputs=n,
        outputs=[OutputSpec(0, 0, 2)],
        synapses={0: np.stack([np.full(n, 127), np.full(n, -128)]).astype(np.int8)},
    )
    # one timestep adds 200 * 127 * 127 = 3,225,800 (or -3,251,200); 700 timesteps pass 2^31
    cpu = run(prog, np.full(n, 127, np.int8), timesteps=700)
    assert cpu.outputs().tolist() == [INT32_MAX, INT32_MIN]
    cpu.run(np.full(n, 127, np.int8), timesteps=3)
    assert cpu.outputs().tolist() == [3 * 3_225_800, -3 * 3_251_200]


def test_bias_runs_every_timestep_and_outputs_accumulate() -> None:
    prog = program(
        [Acc(0, 0, 2, 0, 3, 0), AccBias(0, 0, 2, 0)],
        n_inputs=3,
        outputs=[OutputSpec(0, 0, 2)],
        synapses={0: np.array([[1, 2, 3], [-1, 0, 1]], np.int8)},
        param_tables={0: params(10, -10)},
    )
    x = np.array([1, 2, -3], np.int8)
    one = [1 + 4 - 9 + 10, -1 - 3 - 10]
    assert run(prog, x, timesteps=1).outputs().tolist() == one
    assert run(prog, x, timesteps=4).outputs().tolist() == [4 * v for v in one]


def test_fire_events_visible_to_later_accs_only_and_bus_cleared_each_timestep() -> None:
    prog = program(
        [
            AccBias(0, 0, 1, 0),
            Acc(1, 0, 1, 8, 1, 0),  # before the FIRE: reads 0
            graded(0, 0, 1, 8, 1, 0),
            Acc(2, 0, 1, 8, 1, 0),  # after the FIRE: reads 5
        ],
        outputs=[OutputSpec(1, 0, 1), OutputSpec(2, 0, 1)],
        synapses={0: identity(1)},
        param_tables={0: params(5), 1: params(1)},
    )
    assert run(prog, timesteps=3).outputs().tolist() == [0, 15]


def test_acc_reads_zero_from_unwritten_bus_addresses() -> None:
    prog = program(
        [Acc(0, 0, 1, 10, 4, 0)], n_inputs=2, outputs=[OutputSpec(0, 0, 1)], synapses={0: np.ones((1, 4), np.int8)}
    )
    cpu = run(prog, np.array([3, 4], np.int8))
    assert cpu.outputs().tolist() == [0] and cpu.stats.synaptic_ops == 0


def test_float64_path_is_exact_past_float32_precision() -> None:
    n = 1100
    prog = program(
        [Acc(0, 0, 1, 0, n, 0)], n_inputs=n, outputs=[OutputSpec(0, 0, 1)], synapses={0: np.full((1, n), 127, np.int8)}
    )
    x = np.full(n, 127, np.int8)
    x[0] = 126
    cpu = run(prog, x)
    # 1100 * 127 * 128 >= 2^24, so the block runs in float64; the odd sum would round in float32
    assert cpu.outputs().tolist() == [n * 127 * 127 - 127]
    assert (n * 127 * 127 - 127) % 2 == 1 and int(np.float32(n * 127 * 127 - 127)) != n * 127 * 127 - 127


# -- accounting ---------------------------------------------------------------------------------


def accounting_program() -> Program:
    """Input 3 -> c0 (2 neurons, graded) -> c0 and c1 read its events; c1 also leaks."""
    return program(
        [
            Acc(0, 0, 2, 0, 3, 0),
            graded(0, 0, 2, 8, 1, 0, lo=-128, hi=127),
            Acc(0, 2, 1, 8, 2, 1),  # intra-core: c0 reads c0's events
            Acc(1, 0, 3, 8, 2, 2),  # inter-core
            AccBias(1, 0, 3, 2),
            Leak(1, 0, 3, 1),
        ],
        n_inputs=3,
        outputs=[OutputSpec(0, 2, 1), OutputSpec(1, 0, 3)],
        synapses={
            0: np.array([[1, 1, 1], [0, 0, 0]], np.int8),
            1: np.ones((1, 2), np.int8),
            2: np.ones((3, 2), np.int8),
        },
        param_tables={0: params(0, 0, 0), 1: params(1, 1), 2: params(1, 1, 1)},
    )


def test_event_accounting_numbers() -> None:
    cpu = run(accounting_program(), np.array([2, 0, 3], np.int8), timesteps=2)
    s = cpu.stats
    # per timestep: input events 2; ACC c0[0:2] 2 events x 2 rows = 4 syn ops; FIRE payloads
    # [5, 0]: 1 spike; ACC c0[2:3] 1 event x 1 row; ACC c1[0:3] 1 event x 3 rows
    assert (s.timesteps, s.batch, s.input_events) == (2, 1, 4)
    assert s.synaptic_ops == 2 * (4 + 1 + 3)
    assert s.spikes == 2 and s.active_updates == 2
    assert s.neuron_updates == 2 * (2 + 3) and s.inactive_updates == 2 * 4  # LEAK updates are inactive
    assert s.intra_core_deliveries == 2 * 1 and s.inter_core_deliveries == 2 * (2 + 1)
    # cycles per timestep: c0 = 4 + 2 (FIRE) + 1 = 7, c1 = 3 + 3 (bias) + 3 (LEAK) = 9; + barrier
    assert s.cycles == 2 * (9 + 1)
    assert s.core_cycles.tolist() == [14, 18, 0, 0]
    assert s.core_synaptic_ops.tolist() == [10, 6, 0, 0]
    assert s.core_spikes.tolist() == [2, 0, 0, 0]
    assert s.core_neuron_updates.tolist() == [4, 6, 0, 0]
    energy = 23.6 * 16 + 81 * 2 + 52 * 8 + 1.7 * 2 + 3.5 * 6
    assert s.energy_pj == pytest.approx(energy)
    assert s.time_us == pytest.approx(20 / 100)
    per_sample = s.per_sample()
    assert per_sample["synaptic_ops"] == 16 and per_sample["energy_pj"] == pytest.approx(energy)
    as_dict = json.loads(json.dumps(s.as_dict()))
    assert as_dict["core_cycles"] == [14, 18, 0, 0] and as_dict["inactive_updates"] == 8


def test_cycles_take_the_busiest_core_per_lane() -> None:
    prog = accounting_program()
    cpu = SpikeCoreCPU(target=SMALL)
    cpu.load_program(prog)
    cpu.run(np.array([[2, 0, 3], [0, 0, 0]], np.int8))
    # lane 0: max(7, 9) + 1 = 10; lane 1 has no events: c0 = 2, c1 = 6 -> 7
    assert cpu.stats.cycles == 10 + 7
    assert cpu.stats.batch == 2 and cpu.stats.per_sample()["cycles"] == 8.5


def test_energy_uses_the_target_table() -> None:
    only_synapses = EnergyTable(
        1.0,
        neuron_update_active_pj=0.0,
        neuron_update_inactive_pj=0.0,
        spike_intra_core_pj=0.0,
        spike_inter_core_pj=0.0,
    )
    target = dataclasses.replace(SMALL, energy=only_synapses)
    cpu = SpikeCoreCPU(target=target)
    cpu.load_program(accounting_program())
    cpu.run(np.array([2, 0, 3], np.int8))
    assert cpu.stats.energy_pj == cpu.stats.synaptic_ops == 8


def test_run_returns_spikes_per_core() -> None:
    cpu = SpikeCoreCPU(target=SMALL)
    cpu.load_program(accounting_program())
    counts = cpu.run(np.array([2, 0, 3], np.int8), timesteps=3)
    assert counts.shape == (4,) and counts.tolist() == [3, 0, 0, 0]
    batch = cpu.run(np.array([[2, 0, 3], [0, 0, 0]], np.int8), timesteps=3)
    assert batch.shape == (2, 4) and batch.tolist() == [[3, 0, 0, 0], [0, 0, 0, 0]]


# -- spike log ----------------------------------------------------------------------------------


def test_spike_log_is_in_program_order_and_bounded() -> None:
    prog = program(
        [
            AccBias(1, 0, 3, 0),
            binary(1, 0, 3, 8, 1, ResetMode.ZERO),
            AccBias(0, 0, 1, 0),
            binary(0, 0, 1, 12, 1, ResetMode.ZERO),
        ],
        param_tables={0: params(1, 1, 1), 1: params(1, 1, 1)},
    )
    cpu = run(prog, timesteps=2)
    expected = [SpikeEvent(t, c, n, 1) for t in range(2) for c, n in ((1, 0), (1, 1), (1, 2), (0, 0))]
    assert cpu.get_spike_log() == expected and not cpu.spike_log_truncated
    bounded = run(prog, timesteps=2, max_spike_log=5)
    assert bounded.get_spike_log() == expected[:5] and bounded.spike_log_truncated
    exact = run(prog, timesteps=2, max_spike_log=8)
    assert exact.get_spike_log() == expected and not exact.spike_log_truncated


def test_spike_log_follows_the_chosen_lane() -> None:
    cpu = SpikeCoreCPU(target=SMALL)
    cpu.load_program(accounting_program())
    cpu.run(np.array([[0, 0, 0], [2, 0, 3]], np.int8), timesteps=1, lane_to_log=1)
    assert cpu.get_spike_log() == [SpikeEvent(0, 0, 0, 5)]
    assert cpu.membrane(0).tolist()[:3] == [0, 0, 5]  # the logged lane by default
    assert cpu.membrane(0, lane=0).tolist()[:3] == [0, 0, 0]
    # Every lane's final state is kept (v2: a run can continue from it).
    with pytest.raises(ProgramError, match="lane 2 is not a lane of the last run"):
        cpu.membrane(0, lane=2)


# -- batches ------------------------------------------------------------------------------------


def rate_program() -> Program:
    """Two layers, binary FIRE with init=half and both resets, a LEAK and a second graded layer."""
    rng = np.random.default_rng(3)
    return program(
        [
            Acc(0, 0, 6, 0, 16, 0),
            AccBias(0, 0, 6, 0),
            Fire(0, 0, 3, 16, 1, 0, FireMode.BINARY, ResetMode.SUBTRACT, hi=0, init_half=True),
            Fire(0, 3, 3, 19, 1, 3, FireMode.BINARY, ResetMode.ZERO, hi=0),
            Leak(0, 0, 6, 3),
            Acc(1, 0, 4, 16, 6, 1),
            graded(1, 0, 4, 24, 2, 4, lo=-100, hi=100),
            Acc(2, 0, 3, 16, 12, 2),
        ],
        n_inputs=16,
        outputs=[OutputSpec(2, 0, 3), OutputSpec(0, 0, 2)],
        synapses={
            0: rng.integers(-128, 128, (6, 16)).astype(np.int8),
            1: rng.integers(-128, 128, (4, 6)).astype(np.int8),
            2: rng.integers(-128, 128, (3, 12)).astype(np.int8),
        },
        param_tables={
            0: params(*rng.integers(-300, 300, 6)),
            1: params(*rng.integers(500, 3000, 6)),
            2: params(*rng.integers(1, 40, 4)),
        },
    )


def test_batch_equals_per_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, (9, 16)).astype(np.int8)
    x[rng.random(x.shape) < 0.4] = 0
    prog = rate_program()
    single = SpikeCoreCPU(target=SMALL)
    single.load_program(prog)
    per_sample = []
    for lane in x:
        counts = single.run(lane, timesteps=5)
        per_sample.append((counts, single.outputs(), single.get_spike_log(), single.stats))
    assert sum(len(log) for _, _, log, _ in per_sample) > 0
    for chunk_bytes in (hardware_model._CHUNK_BYTES, 1):  # one chunk, then one lane per chunk
        monkeypatch.setattr(hardware_model, "_CHUNK_BYTES", chunk_bytes)
        cpu = SpikeCoreCPU(target=SMALL)
        cpu.load_program(prog)
        counts = cpu.run(x, timesteps=5, lane_to_log=4)
        assert np.array_equal(counts, np.stack([c for c, _, _, _ in per_sample]))
        assert np.array_equal(cpu.outputs(), np.stack([o for _, o, _, _ in per_sample]))
        assert cpu.get_spike_log() == per_sample[4][2]
        for name in (
            "input_events",
            "synaptic_ops",
            "spikes",
            "neuron_updates",
            "active_updates",
            "intra_core_deliveries",
            "inter_core_deliveries",
            "cycles",
        ):
            assert getattr(cpu.stats, name) == sum(getattr(s, name) for _, _, _, s in per_sample), name
        for name in ("core_synaptic_ops", "core_spikes", "core_neuron_updates", "core_cycles"):
            assert np.array_equal(getattr(cpu.stats, name), sum(getattr(s, name) for _, _, _, s in per_sample)), name
        assert cpu.stats.energy_pj == pytest.approx(sum(s.energy_pj for _, _, _, s in per_sample))


# -- the seed notebook's API --------------------------------------------------------------------


def seed_program() -> Program:
    """A 4-3-2 MLP mapped as the seed does: one neuron per core, layer 2 on cores 3-4."""
    target = TARGETS["spikecore-v1-seed"]
    instructions: list[Instruction] = []
    for j in range(3):
        instructions += [Acc(j, 0, 1, 0, 4, 0, row=j), graded(j, 0, 1, 4 + j, 0, 0, lo=0, hi=127)]
    for k in range(2):
        instructions += [Acc(3 + k, 0, 1, 4, 3, 1, row=k)]
    placeholder = {0: np.zeros((3, 4), np.int8), 1: np.zeros((2, 3), np.int8)}
    return Program(
        instructions + [Halt()],
        4,
        [OutputSpec(3 + k, 0, 1) for k in range(2)],
        placeholder,
        {0: params(1, 1, 1)},
        target,
    )


def test_seed_api_load_weights_before_program() -> None:
    w1 = np.array([[1, 0, 0, 0], [0, -1, 0, 0], [1, 1, 1, 1]], np.int8)
    w2 = np.array([[1, 1, 1], [2, 0, -1]], np.int8)
    cpu = SpikeCoreCPU(num_cores=128)
    assert cpu.__class__.__name__ == "SpikeCoreCPU" and cpu.target.cores == 128
    for layer_id, w in enumerate((w1, w2)):
        cpu.load_weights(layer_id, w)
    cpu.load_program(seed_program())
    counts = cpu.run(np.array([3, 4, 5, 6], np.int8), timesteps=2)
    # hidden = relu([3, -4, 18]) = [3, 0, 18]; out = [21, -12] per timestep
    assert cpu.get_output_activations(list(range(3, 5))).tolist() == [42, -24]
    assert cpu.get_output_activations([4, 3]).tolist() == [-24, 42]
    assert cpu.outputs().tolist() == [42, -24]
    assert counts.shape == (128,) and counts[:3].tolist() == [2, 0, 2]
    assert len({event.core for event in cpu.get_spike_log()}) == 2


def test_load_weights_after_program_and_persisting_overrides() -> None:
    prog = seed_program()
    cpu = SpikeCoreCPU()
    cpu.load_program(prog)
    x = np.array([3, 4, 5, 6], np.int8)
    cpu.run(x)
    assert cpu.outputs().tolist() == [0, 0]  # the program's own (zero) tables
    cpu.load_weights(0, np.ones((3, 4), np.int8))
    cpu.load_weights(1, np.ones((2, 3), np.int8))
    cpu.run(x)
    assert cpu.outputs().tolist() == [54, 54]
    cpu.load_program(prog)  # overrides persist
    cpu.run(x)
    assert cpu.outputs().tolist() == [54, 54]
    with pytest.raises(ProgramError, match="block .* exceeds synapse table 1"):
        cpu.load_weights(1, np.ones((1, 3), np.int8))
    cpu.run(x)
    assert cpu.outputs().tolist() == [54, 54]  # the rejected table did not replace the good one


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        (np.ones((2, 3), np.float32), "2-D int8 matrix, got float32"),
        (np.ones(3, np.int8), "2-D int8 matrix, got int8 array of shape \\(3,\\)"),
        ([[1, 2]], "2-D int8 matrix, got list"),
    ],
)
def test_load_weights_rejects_non_int8_matrices(weights: object, match: str) -> None:
    with pytest.raises(ProgramError, match=match) as info:
        SpikeCoreCPU().load_weights(0, weights)  # type: ignore[arg-type]
    assert info.value.location == "synapse table 0"


def test_program_must_fit_the_chip() -> None:
    cpu = SpikeCoreCPU(num_cores=4)
    with pytest.raises(ProgramError, match="does not fit the simulated chip 'spikecore-v1' \\(4 cores\\)") as info:
        cpu.load_program(seed_program())
    assert info.value.location == "instr 7"  # the first instruction on core 4


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (np.zeros(3, np.float32), "int8 payloads .* got dtype float32"),
        (np.zeros(3, bool), "got dtype bool"),
        (np.zeros(4, np.int8), "shape \\(3,\\) or \\(batch, 3\\)"),
        (np.zeros((2, 2, 3), np.int8), "got \\(2, 2, 3\\)"),
        (np.zeros((0, 3), np.int8), "batch >= 1"),
        (np.array([0, 128, 0]), "in \\[0, 128\\]"),
        (np.array([[-129, 0, 0]], np.int16), "in \\[-129, 0\\]"),
    ],
)
def test_run_rejects_bad_input(x: np.ndarray, match: str) -> None:
    cpu = SpikeCoreCPU(target=SMALL)
    cpu.load_program(accounting_program())
    with pytest.raises(ProgramError, match=match) as info:
        cpu.run(x)
    assert info.value.location == "input"


def test_run_accepts_other_integer_dtypes_in_range() -> None:
    cpu = SpikeCoreCPU(target=SMALL)
    cpu.load_program(accounting_program())
    cpu.run(np.array([2, 0, 3], np.int64))
    int64_outputs = cpu.outputs().tolist()
    cpu.run([2, 0, 3])  # type: ignore[arg-type]
    assert cpu.outputs().tolist() == int64_outputs
    cpu.run(np.array([2, 0, 3], np.int8))
    assert cpu.outputs().tolist() == int64_outputs


def test_run_rejects_bad_arguments() -> None:
    cpu = SpikeCoreCPU(target=SMALL)
    with pytest.raises(ProgramError, match="no program is loaded"):
        cpu.run(np.zeros(3, np.int8))
    with pytest.raises(ProgramError, match="no results yet"):
        cpu.outputs()
    cpu.load_program(accounting_program())
    with pytest.raises(ProgramError, match="timesteps must be a positive integer, got 0"):
        cpu.run(np.zeros(3, np.int8), timesteps=0)
    with pytest.raises(ProgramError, match="lane_to_log must be a lane of the batch \\(0..1\\), got 2"):
        cpu.run(np.zeros((2, 3), np.int8), lane_to_log=2)
    cpu.run(np.zeros(3, np.int8))
    with pytest.raises(ProgramError, match="core 9 is out of range"):
        cpu.get_output_activations([9])


def test_output_activations_of_a_core_without_program_neurons_is_an_error() -> None:
    # The seed reads cores 64-73; under the default mapping the outputs live elsewhere, and an empty
    # array (whose argmax fails far away) would mislead.
    program = Program([AccBias(0, 0, 2, table=0), Halt()], n_inputs=1, param_tables={0: np.array([5, -3], np.int32)})
    cpu = SpikeCoreCPU()
    cpu.load_program(program)
    cpu.run(np.zeros(1, np.int8))
    assert list(cpu.get_output_activations([0])) == [5, -3]
    with pytest.raises(ProgramError, match="core 64 holds no neuron of this program \\(cores in use: 0\\)"):
        cpu.get_output_activations(range(64, 74))
