"""Probes given to `SpikeCoreCPU.run` are checked in memory bounded by the probes, not by the target:
a 65535 x 65535 target's neuron grid would be 32 GiB of int64 counts."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.isa import Acc, Fire, FireMode, Halt, OutputSpec, ProbeSpec, Program, ResetMode
from spikeir.chip.target import SPIKECORE_V1
from spikeir.errors import ProgramError

HUGE = SPIKECORE_V1.with_options(name="huge", cores=65535, neurons_per_core=65535)


def huge_program() -> Program:
    """Two neurons on the last core of a 65535 x 65535 target, at the top of its neuron range."""
    base = HUGE.neurons_per_core - 2
    instructions = [
        Acc(HUGE.cores - 1, base, 2, src=0, src_len=2, table=0),
        Fire(HUGE.cores - 1, base, 2, 2, 0, mode=FireMode.BINARY, reset=ResetMode.SUBTRACT, hi=0),
        Halt(),
    ]
    return Program(
        instructions,
        2,
        [OutputSpec(HUGE.cores - 1, base, 2)],
        {0: np.array([[50, 0], [0, 70]], np.int8)},
        {0: np.array([60, 60], np.int32)},
        HUGE,
    )


def test_run_probes_on_a_huge_target_use_little_memory() -> None:
    program = huge_program()
    cpu = SpikeCoreCPU(target=HUGE)
    cpu.load_program(program)
    x = np.array([[100, 100]], np.int8)
    core, base = HUGE.cores - 1, HUGE.neurons_per_core - 2
    tracemalloc.start()
    try:
        cpu.run(x, probes=[ProbeSpec(core, base, 2, spikes=True, v=True)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20
    record = cpu.get_probes()[0]
    assert set(record) == {"spikes", "v"} and record["v"].shape[-1] == 2


def test_a_spike_probe_beyond_the_fires_is_refused_by_neuron() -> None:
    cpu = SpikeCoreCPU(target=HUGE)
    cpu.load_program(huge_program())
    core = HUGE.cores - 1
    probe = ProbeSpec(core, HUGE.neurons_per_core - 3, 3, spikes=True)
    with pytest.raises(
        ProgramError, match=rf"^probe 0: .*neuron c{core}\[{HUGE.neurons_per_core - 3}\] is covered by 0"
    ):
        cpu.run(np.array([[1, 1]], np.int8), probes=[probe])
