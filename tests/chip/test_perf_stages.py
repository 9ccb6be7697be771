"""Staged execution (spikeir.chip.plan, "Stages") changes nothing but speed.

Where the plan orders the state's segments into stages, a run without probes executes one stage for
a whole block of timesteps before the next. These tests run the same programs staged and in
timestep order (stages turned off in the plan) and require every result to be identical, in int64
and float32 state, and check which programs are staged and how.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikeir.benchmarks.hardware import make_network, make_program, mnist_like
from spikeir.chip import hardware_model
from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.isa import Acc, AccBias, Fire, FireMode, Halt, OutputSpec, Program, ResetMode
from spikeir.chip.steps import BiasStep, FireStep
from spikeir.chip.target import TARGETS
from support.program_strategies import inputs_for, programs, programs_v2

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def results(program: Program, x: np.ndarray, timesteps: int | None, staged: bool, float_capable: bool = True) -> dict:
    """Everything a run reports, run twice (the second continues the first)."""
    cpu = SpikeCoreCPU(target=program.target, max_spike_log=40)
    cpu.load_program(program)
    assert cpu._plan is not None
    if not staged:
        cpu._plan.stages = None
    cpu._plan.float_capable = cpu._plan.float_capable and float_capable
    out: dict[str, object] = {}
    for run in range(2):
        counts = cpu.run(x, timesteps, continue_state=run > 0)
        out[f"counts{run}"] = np.asarray(counts).tolist()
        out[f"outputs{run}"] = np.asarray(cpu.outputs()).tolist()
        out[f"stats{run}"] = repr(cpu.stats.as_dict())
        out[f"log{run}"] = cpu.get_spike_log()
        out[f"truncated{run}"] = cpu.spike_log_truncated
        out[f"membranes{run}"] = [cpu.membrane(core).tolist() for core in range(program.target.cores)]
    return out


@SETTINGS
@given(data=st.data(), timesteps=st.integers(1, 40), batch=st.sampled_from([None, 1, 3]), f32=st.booleans())
def test_v1_staged_equals_timestep_order(data: st.DataObject, timesteps: int, batch: int | None, f32: bool) -> None:
    program = data.draw(programs())
    x = data.draw(inputs_for(program, batch))
    assert results(program, x, timesteps, True, f32) == results(program, x, timesteps, False, f32)


@SETTINGS
@given(data=st.data(), batch=st.sampled_from([None, 2]))
def test_v2_staged_equals_timestep_order(data: st.DataObject, batch: int | None) -> None:
    program = data.draw(programs_v2())
    timesteps = None if program.streamed_input else data.draw(st.integers(1, 12))
    x = data.draw(inputs_for(program, batch))
    assert results(program, x, timesteps, True) == results(program, x, timesteps, False)


def test_the_rate_mlp_is_staged() -> None:
    """The benchmark's MLP: the hidden layer (its ACC, bias folded, and FIRE) is one stage, the
    output layer (ACC of the hidden spikes and bias) a linear one whose products are formed per block."""
    program = make_program(make_network(np.random.default_rng(0)), "seed", rate=True)
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    plan = cpu._plan
    assert plan is not None and plan.stages is not None
    first, second = plan.stages
    assert not first.linear and not first.formed and any(isinstance(s, FireStep) for s in first.steps)
    assert second.linear and len(second.formed) == 1 and any(isinstance(s, BiasStep) for s in second.steps)


def test_saturating_and_long_runs_stay_exact() -> None:
    """An output layer that saturates (huge biases) runs its linear stage timestep by timestep,
    and a run longer than a block (records flushed several times) with a large batch agrees too."""
    target = TARGETS["spikecore-v1"]
    rng = np.random.default_rng(1)
    w1 = rng.integers(-127, 128, (8, 6)).astype(np.int8)
    w2 = rng.integers(-127, 128, (3, 8)).astype(np.int8)
    params = {0: np.full(8, 5, np.int32), 1: np.full(8, 300, np.int32), 2: np.full(3, 2**30, np.int32)}
    instructions = [
        Acc(0, 0, 8, 0, 6, 0),
        AccBias(0, 0, 8, 0),
        Fire(0, 0, 8, 6, 1, 0, FireMode.BINARY, ResetMode.SUBTRACT, 0, 0, 0),
        Acc(1, 0, 3, 6, 8, 1),
        AccBias(1, 0, 3, 2),
        Halt(),
    ]
    program = Program(instructions, 6, [OutputSpec(1, 0, 3)], {0: w1, 1: w2}, params, target)
    x = rng.integers(-128, 128, (5, 6)).astype(np.int8)
    staged, plain = results(program, x, 7, True), results(program, x, 7, False)
    assert staged == plain
    assert max(staged["outputs0"][0]) == 2**31 - 1  # the clip acted
    rate = make_program(make_network(rng), "dense", rate=True)
    batch = mnist_like(rng, 700)
    assert results(rate, batch, 300, True) == results(rate, batch, 300, False)


def test_cache_sized_chunks_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lanes run in cache-sized chunks (spikeir.chip.hardware_model, _CACHE_CHUNK_BYTES): chunks of
    a few lanes, staged or not, give what one chunk gives."""
    rng = np.random.default_rng(2)
    program = make_program(make_network(rng), "seed", rate=True)
    x = mnist_like(rng, 11)
    whole = results(program, x, 20, True)
    monkeypatch.setattr(hardware_model, "_CACHE_CHUNK_BYTES", 1)
    monkeypatch.setattr(hardware_model, "_CACHE_CHUNK_LANES", 3)
    assert results(program, x, 20, True) == whole
    assert results(program, x, 20, False) == whole
