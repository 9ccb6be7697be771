"""The conv ACC's im2col in cache-sized pieces of lanes, and the bound of a conv on binary spikes.

spikeir.chip.conv forms the patches of a few lanes at a time (``_PATCH_BYTES``) so that the matmul
reads them from cache; the result must be the whole batch's product exactly. A conv whose source
holds only binary spikes changes a neuron by at most ``sum |w|`` per timestep (not ``128 sum |w|``),
which lets the compiled LeNet's rate run keep float32 state.
"""

from __future__ import annotations

import numpy as np
import pytest

from spikeir.benchmarks.hardware import lenet_programs
from spikeir.chip import conv
from spikeir.chip.hardware_model import SpikeCoreCPU
from spikeir.chip.isa import AccConv, ConvGeometry
from spikeir.chip.plan import build_plan


def test_pieces_equal_the_whole_product(monkeypatch: pytest.MonkeyPatch) -> None:
    geometry = ConvGeometry(3, 9, 9, 4, 5, 5, 3, 3, stride_h=2, stride_w=2, pad_h=1, pad_w=1)
    instr = AccConv(0, 0, geometry.out_channels * geometry.out_positions, 0, 0, geometry)
    rng = np.random.default_rng(0)
    table = rng.integers(-127, 128, (geometry.out_channels, geometry.fan_in)).astype(np.int8)
    kernel = conv.conv_kernel([instr], table)
    source = rng.integers(-128, 128, (37, geometry.src_len)).astype(np.float32)
    whole = conv.convolve(kernel, source)
    per_lane = kernel.gather.size * kernel.weights.itemsize
    for lanes in (1, 5, 36):
        monkeypatch.setattr(conv, "_PATCH_BYTES", lanes * per_lane)
        np.testing.assert_array_equal(conv.convolve(kernel, source), whole)
        np.testing.assert_array_equal(conv.convolve(kernel, source, as_float=True), whole)


def test_binary_conv_sources_keep_the_lenet_in_float32() -> None:
    programs, digits = lenet_programs(8)
    program = programs["rate"]
    plan = build_plan(program, program.synapse_tables, program.target)
    convs = [instr for instr in program.instructions if isinstance(instr, AccConv)]
    assert len(convs) >= 2 and convs[-1].src >= program.n_inputs
    cpu = SpikeCoreCPU(target=program.target)
    cpu.load_program(program)
    x = digits[:20]
    cpu.run(x, 8)
    reference = SpikeCoreCPU(target=program.target)
    reference.load_program(program)
    assert reference._plan is not None
    reference._plan.float_capable = False
    reference.run(x, 8)
    np.testing.assert_array_equal(cpu.outputs(), reference.outputs())
    assert plan.float_state(8, np.zeros(plan.n_neurons), None)
