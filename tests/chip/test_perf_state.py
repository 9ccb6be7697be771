"""Float32 state (spikeir.chip.plan, "Float32 state") changes nothing but speed.

The hardware model keeps V in float32 in runs whose bounds prove every value stays below 2^24, and
in int64 otherwise. These tests run the same programs both ways (int64 forced by turning the plan's
float capability off) and require every result to be identical, and check when each is chosen.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikeir.benchmarks.hardware import make_network, make_program, mnist_like
from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.isa import Program
from support.program_strategies import inputs_for, programs, programs_v2

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def results(program: Program, x: np.ndarray, timesteps: int | None, float_capable: bool) -> dict[str, object]:
    """Everything a run reports, run twice (the second continues the first)."""
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    assert cpu._plan is not None
    cpu._plan.float_capable = cpu._plan.float_capable and float_capable
    out: dict[str, object] = {}
    for run in range(2):
        counts = cpu.run(x, timesteps, continue_state=run > 0)
        out[f"counts{run}"] = np.asarray(counts).tolist()
        out[f"outputs{run}"] = np.asarray(cpu.outputs()).tolist()
        out[f"stats{run}"] = repr(cpu.stats.as_dict())
        out[f"log{run}"] = cpu.get_spike_log()
        out[f"probes{run}"] = [{k: v.tolist() for k, v in p.items()} for p in cpu.get_probes()]
        out[f"membranes{run}"] = [cpu.membrane(core).tolist() for core in range(program.target.cores)]
    return out


@SETTINGS
@given(data=st.data(), timesteps=st.integers(1, 40), batch=st.sampled_from([None, 1, 3]))
def test_v1_float_state_equals_int64(data: st.DataObject, timesteps: int, batch: int | None) -> None:
    program = data.draw(programs())
    x = data.draw(inputs_for(program, batch))
    assert results(program, x, timesteps, True) == results(program, x, timesteps, False)


@SETTINGS
@given(data=st.data(), batch=st.sampled_from([None, 2]))
def test_v2_float_state_equals_int64(data: st.DataObject, batch: int | None) -> None:
    program = data.draw(programs_v2())
    timesteps = None if program.streamed_input else data.draw(st.integers(1, 12))
    x = data.draw(inputs_for(program, batch))
    assert results(program, x, timesteps, True) == results(program, x, timesteps, False)


def test_when_float_state_is_chosen() -> None:
    """The benchmark's rate MLP: its measured currents keep V far below 2^24 for T = 32, but not for
    a run of 2^24 timesteps; a continued run starts from the V it continues."""
    rng = np.random.default_rng(0)
    program = make_program(make_network(rng), "dense", rate=True)
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    plan = cpu._plan
    assert plan is not None and plan.float_capable
    peaks = np.zeros(plan.n_neurons)
    peaks[:64] = 2.0e5  # per-timestep currents of the hidden layer
    assert plan.float_state(32, peaks, None)
    assert not plan.float_state(2**24, peaks, None)
    assert not plan.float_state(32, peaks * 10, None)
    assert not plan.float_state(1, peaks, np.full(plan.n_neurons, 2.0**24))
    x = mnist_like(rng, 50)
    cpu.run(x, 32)
    reference = SpikeCoreCPU(target=program.target)
    reference.load_program(program)
    assert reference._plan is not None
    reference._plan.float_capable = False
    reference.run(x, 32)
    np.testing.assert_array_equal(cpu.outputs(), reference.outputs())
