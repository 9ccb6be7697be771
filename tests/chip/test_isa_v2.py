"""The ISA v2 data model (spikeir.chip.isa): defaults that leave v1 programs unchanged, which programs
use v2, synaptic memory with conv kernels and delay buffers, and every v2 static-validity rule."""

from __future__ import annotations

import dataclasses
import itertools
import re

import numpy as np
import pytest
import torch

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
    Leak,
    LeakDecay,
    ProbeSpec,
    Program,
    ResetMode,
)
from spikeir.chip.target import SPIKECORE_V1
from spikeir.errors import ProgramError
from support.programs import small_program, small_v2_program


def test_v1_constructors_keep_their_meaning() -> None:
    acc = Acc(0, 0, 2, src=0, src_len=4, table=0)
    assert (acc.compartment, acc.delay) == (Compartment.V, 0)
    assert AccBias(0, 0, 2, table=0).compartment == Compartment.V
    assert Leak(0, 0, 2, 4).compartment == Compartment.V
    fire = Fire(0, 0, 2, dst=4, table=1)
    assert (fire.reset, fire.reset_table, fire.reset_row, fire.refractory) == (ResetMode.ZERO, 0, 0, 0)
    program = small_program()
    assert (program.streamed_input, program.probes, program.uses_v2()) == (False, [], False)


def _with(program: Program, index: int, **changes: object) -> Program:
    program.instructions[index] = dataclasses.replace(program.instructions[index], **changes)  # type: ignore[arg-type]
    return program


@pytest.mark.parametrize(
    "change",
    [
        lambda p: setattr(p, "streamed_input", True),
        lambda p: p.probes.append(ProbeSpec(1, 0, 2, v=True)),
        lambda p: _with(p, 0, delay=1),
        lambda p: _with(p, 0, compartment=Compartment.I),
        lambda p: _with(p, 1, compartment=Compartment.I),
        lambda p: _with(p, 5, compartment=Compartment.I),
        lambda p: _with(p, 4, reset=ResetMode.ZERO, refractory=1),
        lambda p: p.instructions.insert(0, AccCurrent(0, 0, 1)),
        lambda p: p.instructions.insert(0, LeakDecay(0, 0, 1, table=1)),
    ],
)
def test_each_v2_feature_makes_a_v2_program(change) -> None:  # type: ignore[no-untyped-def]
    program = small_program()
    change(program)
    assert program.uses_v2()
    program.validate()


def test_programs_compare_streamed_input_and_probes() -> None:
    a, b = small_v2_program(), small_v2_program()
    assert a == b
    b.streamed_input = False
    assert a != b
    b = small_v2_program()
    b.probes[0] = ProbeSpec(0, 0, 3, spikes=True)
    assert a != b
    assert ProbeSpec(0, 0, 1, i=True, spikes=True).kinds == ("spikes", "i")


GEOMETRY = ConvGeometry(2, 4, 4, 4, 2, 2, 3, 3, pad_h=0, pad_w=0)  # 2x4x4 -> 4x2x2, KC = 18


def _conv_program(*instrs: AccConv | Acc, synapse_bytes: int = 4096) -> Program:
    return Program(
        [*instrs, Halt()],
        n_inputs=40,
        synapse_tables={0: np.ones((8, 40), np.int8)},
        target=SPIKECORE_V1.with_options(cores=2, synapse_bytes=synapse_bytes),
    )


def test_kernel_geometry_helpers() -> None:
    acc = AccConv(0, 0, 6, src=0, table=0, geometry=GEOMETRY, p0=3)  # positions 3..8: channels 0..2
    assert (GEOMETRY.src_len, GEOMETRY.fan_in, GEOMETRY.out_size, GEOMETRY.out_positions) == (32, 18, 16, 4)
    assert (acc.oc_first, acc.oc_last, acc.kernel_rows, acc.kernel_cols, acc.src_len) == (0, 2, 3, 18, 32)


def test_synaptic_memory_counts_kernels_once_per_core_plus_records_and_delay_buffers() -> None:
    a = AccConv(0, 0, 4, src=0, table=0, geometry=GEOMETRY, p0=0)
    same_block = AccConv(0, 8, 4, src=8, table=0, geometry=GEOMETRY, p0=0, delay=2)
    other_core = AccConv(1, 0, 4, src=0, table=0, geometry=GEOMETRY, p0=0)
    dense = Acc(0, 20, 3, src=0, src_len=10, table=0, delay=3)
    program = _conv_program(a, same_block, other_core, dense)
    program.validate()
    kernel = 1 * 18  # positions 0..3 are channel 0: one kernel row
    assert program.synapse_bytes_per_core() == {
        0: (kernel + 32) + (32 + 2 * 32) + (3 * 10 + 3 * 10),
        1: kernel + 32,
    }
    assert program.synapse_bytes_per_core()[0] == 206
    with pytest.raises(ProgramError, match=r"^core 0: needs 206 bytes of synaptic memory"):
        _conv_program(a, same_block, other_core, dense, synapse_bytes=205).validate()


def test_output_shape_formula_is_pytorchs() -> None:
    for h, k, s, p, d in itertools.product([1, 4, 7], [1, 2, 3], [1, 2, 3], [0, 1, 2], [1, 2]):
        geometry = ConvGeometry(1, h, h + 1, 1, 1, 1, k, k, s, s, p, p, d, d)
        out_h, out_w = geometry.expected_out_hw()
        if d * (k - 1) + 1 > h + 2 * p:
            assert out_h < 1
            continue
        x, w = torch.zeros(1, 1, h, h + 1), torch.zeros(1, 1, k, k)
        shape = torch.nn.functional.conv2d(x, w, stride=s, padding=p, dilation=d).shape
        assert (out_h, out_w) == tuple(shape[2:]), (h, k, s, p, d)


def _wide_bus(program: Program) -> Program:
    program.target = program.target.with_options(bus_size=256)
    return program


def _v2() -> Program:
    return small_v2_program()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda p: _with(p, 2, delay=65536), "instr 2: delay 65536 is outside 0..65535"),
        (lambda p: _with(p, 2, delay=-1), "instr 2: delay -1 is outside 0..65535"),
        (lambda p: _with(p, 1, compartment=2), "instr 1: compartment must be Compartment.V or Compartment.I"),
        (lambda p: _with(p, 5, geometry=dataclasses.replace(GEOMETRY, kernel_h=0)), "instr 5: conv kernel_h 0 is outside 1..255"),
        (lambda p: _with(p, 5, geometry=dataclasses.replace(GEOMETRY, pad_w=256)), "instr 5: conv pad_w 256 is outside 0..255"),
        (lambda p: _with(p, 5, geometry=dataclasses.replace(GEOMETRY, in_channels=70000)), "instr 5: conv in_channels 70000 is outside 1..65535"),
        (lambda p: _with(p, 5, geometry=ConvGeometry(2, 2, 2, 4, 1, 1, 3, 3, groups=2)), "instr 5: conv output would be 0x0"),
        (lambda p: _with(p, 5, p0=1), "instr 5: output positions [1:5] exceed the output map's 4 (4x1x1)"),
        (lambda p: _with(p, 5, src=60), "instr 5: source bus[60:68] exceeds the bus size 64"),
        (lambda p: _with(p, 5, table=9), "instr 5: synapse table 9 is not loaded"),
        (lambda p: _with(p, 5, col=1), "instr 5: block [0:4, 1:5] exceeds synapse table 2 of shape 4x4"),
        (lambda p: _with(_wide_bus(p), 5, geometry=ConvGeometry(2, 8, 8, 4, 1, 1, 8, 8)), "instr 5: conv fan-in 128 (in_channels/groups * kh * kw) exceeds max_fan_in 64"),
        (lambda p: p.param_tables[2].__setitem__(0, -1), "instr 0: decays in param table 2 must lie in 0..4096"),
        (lambda p: _with(p, 0, table=9), "instr 0: param table 9 is not defined"),
        (lambda p: _with(p, 4, reset_table=9), "instr 4: param table 9 is not defined"),
        (lambda p: _with(p, 4, reset_row=1), "instr 4: rows [1:4] exceed param table 3 of length 3"),
        (lambda p: _with(p, 4, reset=ResetMode.SUBTRACT, reset_table=0), "instr 4: refractory requires reset=zero or reset=P"),
        (lambda p: _with(p, 4, reset=ResetMode.ZERO, refractory=0), "instr 4: reset_table and reset_row apply to reset=P"),
        (lambda p: _with(p, 4, refractory=256), "instr 4: refractory period 256 is outside 0..255"),
        (lambda p: _with(p, 6, reset=ResetMode.VALUE, reset_table=3), "instr 6: graded FIRE always resets to zero"),
        (lambda p: _with(p, 6, refractory=1), "instr 6: refractory applies to binary mode only"),
        (lambda p: p.probes.append(ProbeSpec(0, 0, 1)), "probe 2: a probe must record at least one of spikes, v, i"),
        (lambda p: p.probes.append(ProbeSpec(4, 0, 1, v=True)), "probe 2: core 4 is out of range"),
        (lambda p: p.probes.append(ProbeSpec(0, 2, 2, spikes=True)), "probe 2: a spike probe needs every neuron covered by exactly one FIRE; neuron c0[3] is covered by 0"),
        (lambda p: p.instructions.insert(7, Fire(0, 2, 1, dst=20, table=1, mode=FireMode.BINARY, hi=0)), "probe 0: a spike probe needs every neuron covered by exactly one FIRE; neuron c0[2] is covered by 2"),
        (lambda p: p.probes.extend([ProbeSpec(0, 0, 1, v=True)] * 65534), "probe 65535: more than 65535 probes"),
    ],
)  # fmt: skip
def test_v2_rules_raise_located_program_errors(change, expected: str) -> None:  # type: ignore[no-untyped-def]
    program = _v2()
    change(program)
    with pytest.raises(ProgramError, match="^" + re.escape(expected)):
        program.validate()


def test_conv_acc_count_is_bounded_by_its_16_bit_image_field() -> None:
    conv = AccConv(0, 0, 1, src=0, table=0, geometry=ConvGeometry(1, 1, 1, 1, 1, 1, 1, 1))
    program = Program(
        [conv] * 65536 + [Halt()],
        n_inputs=1,
        synapse_tables={0: np.ones((1, 1), np.int8)},
        target=SPIKECORE_V1.with_options(synapse_bytes=1 << 30),
    )
    with pytest.raises(ProgramError, match=r"^instr 65535: more than 65535 conv ACCs"):
        program.validate()


def test_probes_are_checked_after_outputs_and_before_synaptic_memory() -> None:
    program = _v2()
    program.outputs[0] = dataclasses.replace(program.outputs[0], core=9)
    program.probes.append(ProbeSpec(0, 0, 1))
    with pytest.raises(ProgramError, match="^output 0"):
        program.validate()
    program = _v2()
    program.probes.append(ProbeSpec(0, 0, 1))
    program.target = program.target.with_options(synapse_bytes=8)
    with pytest.raises(ProgramError, match="^probe 2"):
        program.validate()


@pytest.mark.parametrize("scale", [float("nan"), float("inf"), -float("inf"), -1.0, -1e-300])
def test_scales_must_be_zero_or_finite_positive(scale: float) -> None:
    program = small_program()
    program.input_scale = scale
    with pytest.raises(ProgramError, match=r"^header: input scale must be finite and positive"):
        program.validate()
    program = small_program()
    program.outputs[0] = dataclasses.replace(program.outputs[0], scale=scale)
    with pytest.raises(ProgramError, match=r"^output 0: output scale must be finite and positive"):
        program.validate()


def test_the_current_acc_and_both_leaks_take_any_valid_range() -> None:
    program = Program(
        [AccCurrent(0, 0, 3), Leak(0, 0, 3, 31, Compartment.I), LeakDecay(0, 0, 3, 0, 0, Compartment.I), Halt()],
        n_inputs=0,
        param_tables={0: np.array([0, 4096, 1], np.int32)},
    )
    program.validate()
    assert program.synapse_bytes_per_core() == {}
    program.instructions[0] = AccCurrent(0, 1023, 2)
    with pytest.raises(ProgramError, match=r"^instr 0: neurons \[1023:1025\] exceed"):
        program.validate()
