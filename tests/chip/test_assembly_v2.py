"""The ISA v2 assembly text of docs/isa.md §4: every new form parses, prints back exactly, and errors
point at line:col; scales that mean nothing (NaN, infinities, negatives) are refused (issue 19 item 8)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from spikeir.chip.assembly import assemble, disassemble
from spikeir.chip.isa import AccConv, Compartment, Program
from spikeir.errors import AssemblyError
from support.program_strategies import assert_same_program, programs_v2
from support.programs import SMALL, SMALL_V2, small_v2_program


def _canonical(text: str) -> str:
    """``text`` as the disassembler prints it: no comment lines, no trailing comments."""
    lines = [line.split(";")[0].rstrip() for line in text.splitlines() if not line.startswith(";")]
    return "\n".join(lines) + "\n"


def test_every_v2_form_assembles_to_the_documented_program() -> None:
    assert_same_program(assemble(SMALL_V2), small_v2_program())


def test_every_v2_form_disassembles_to_the_documented_text() -> None:
    assert disassemble(small_v2_program()) == _canonical(SMALL_V2)


def test_v1_text_is_unchanged() -> None:
    program = assemble(SMALL)
    assert not program.uses_v2()
    assert disassemble(program) == "\n".join(line.split(";")[0].rstrip() for line in SMALL.splitlines()[1:]) + "\n"


def test_the_documented_example_assembles() -> None:
    """docs/isa.md §4's recurrent LIF layer and CUBA readout, with tables; core 0 needs 54,336 bytes."""
    body = """.target spikecore-v1
.inputs 784 scale=1.0 stream
.output c1[0:10] scale=0.01
.probe c0[0:64] spikes v
    LEAK c0[0:64], decay=P2[0:64]
    ACC  c0[0:64], S0[0:64, 0:784], bus[0:784]
    ACC  c0[0:64], S1[0:64, 0:64], bus[784:848], delay=1
    ACC  c0[0:64], P0[0:64]
    FIRE c0[0:64] -> bus[784:848], binary, P1[0:64], reset=P3[0:64], refractory=1
    LEAK c1[0:10].i, decay=P4[0:10]
    ACC  c1[0:10].i, S2[0:10, 0:64], bus[784:848]
    LEAK c1[0:10], decay=P5[0:10]
    ACC  c1[0:10], i
    HALT
"""
    data = [(0, 64, 784), (1, 64, 64), (2, 10, 64)]
    body += "".join(f".synapses S{t} {r}x{c}\n" + ("01" * c + "\n") * r for t, r, c in data)
    body += "".join(f".params P{t} {n}\n" + " ".join(["7"] * n) + "\n" for t, n in [(0, 64), (1, 64), (2, 64), (3, 64)])
    body += "".join(f".params P{t} 10\n" + " ".join(["410"] * 10) + "\n" for t in (4, 5))
    program = assemble(body)
    assert program.streamed_input and program.probes[0].kinds == ("spikes", "v")
    assert program.synapse_bytes_per_core() == {0: 64 * 784 + 64 * 64 + 64, 1: 640}
    assert program.synapse_bytes_per_core()[0] == 54_336
    assert_same_program(assemble(disassemble(program)), program)


def test_the_documented_conv_and_pool_forms() -> None:
    conv = "ACC c0[0:900], S0[0:4, 0:50], bus[0:2312], conv, in=2x34x34, out=16x15x15[0:900], kernel=5x5, stride=[2,2], pad=[0,0], dilation=[1,1], groups=1"
    pool = "ACC c5[0:576], S3[0:16, 0:4], bus[3000:5704], conv, in=16x13x13, out=16x6x6[0:576], kernel=2x2, stride=[2,2], pad=[0,0], dilation=[1,1], groups=16"
    text = f""".target spikecore-v1
.inputs 5704
    {conv}
    {pool}
    HALT
.synapses S0 16x50
{("00" * 50 + chr(10)) * 16}.synapses S3 16x4
{("01" * 4 + chr(10)) * 16}"""
    program = assemble(text)
    first, second = program.instructions[0], program.instructions[1]
    assert isinstance(first, AccConv) and isinstance(second, AccConv)
    assert (first.kernel_rows, first.kernel_cols, first.oc_first) == (4, 50, 0)  # 900 positions = 4 of 16 channels
    assert program.synapse_bytes_per_core() == {0: 4 * 50 + 32, 5: 64 + 32}
    assert disassemble(program, data=False).splitlines()[2:4] == ["    ACC  " + conv[4:], "    ACC  " + pool[4:]]


def test_v2_keywords_are_case_insensitive() -> None:
    text = (
        SMALL_V2.replace("stream", "STREAM")
        .replace("spikes v", "V Spikes")
        .replace("c2[0:2].i, decay", "c2[0:2].I, DECAY")
        .replace("ACC  c2[0:2], i", "acc c2[0:2], I")
        .replace(
            ", conv, in=2x2x2, out=4x1x1[0:4], kernel=2x2, stride",
            ", CONV, IN=2X2X2, Out=4x1X1[0:4], Kernel=2X2, STRIDE",
        )
        .replace("dilation=[1,1], groups=2, delay=2", "DILATION=[1, 1], Groups=0x2, DELAY=0x2")
        .replace("reset=P3[0:3], refractory=2", "RESET=p3[0:3], REFRACTORY=2")
    )
    assert_same_program(assemble(text), small_v2_program())


def test_zero_delay_and_refractory_may_be_written() -> None:
    text = SMALL_V2.replace("bus[0:8]\n", "bus[0:8], delay=0\n", 1).replace("refractory=2", "refractory=0")
    program = assemble(text)
    expected = small_v2_program()
    fire = expected.instructions[4]
    expected.instructions[4] = type(fire)(**{**fire.__dict__, "refractory": 0})
    assert program == expected


def _error(text: str) -> str:
    with pytest.raises(AssemblyError) as info:
        assemble(text, "v2.s")
    return str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("ACC  c2[0:2], i", "ACC  c2[0:2].i, i", "19:17: the current form adds I to V: it takes no '.i'"),
        ("spikes v", "spikes v spikes", "6:25: duplicate probe kind 'spikes'"),
        ("spikes v", "", "6:16: unexpected end of line; expected 'spikes', 'v' or 'i'"),
        ("spikes v", "spikes volts", "6:23: unexpected 'volts'; expected 'spikes', 'v' or 'i', end of line"),
        ("in=2x2x2, out=4x1x1[0:4], kernel=2x2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=2\n",
         "in=2x2x2, out=4x1x1[0:4], kernel=2 x 2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=2\n",
         "13:82: unexpected '2'; expected <rows>x<cols>"),
        ("in=2x2x2, out=4x1x1[0:4], kernel=2x2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=2\n",
         "in=2x2, out=4x1x1[0:4], kernel=2x2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=2\n",
         "13:52: unexpected '2x2'; expected <channels>x<height>x<width>"),
        ("S2[0:4, 0:4], bus[0:8], conv, in=2x2x2, out=4x1x1[0:4], kernel=2x2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=2\n",
         "S2[0:3, 0:4], bus[0:8], conv, in=2x2x2, out=4x1x1[0:4], kernel=2x2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=2\n",
         "13:22: block rows [0:3] have 3 rows, the output channels it touches are 4"),
        ("S2[0:4, 0:4], bus[0:8], conv, in=2x2x2, out=4x1x1[0:4], kernel=2x2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=2\n",
         "S2[0:4, 0:8], bus[0:8], conv, in=2x2x2, out=4x1x1[0:4], kernel=2x2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=2\n",
         "13:22: block columns [0:8] have 8 columns, the fan-in (in/groups x kernel) is 4"),
        ("bus[0:8], conv, in=2x2x2, out=4x1x1[0:4], kernel=2x2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=2\n",
         "bus[0:7], conv, in=2x2x2, out=4x1x1[0:4], kernel=2x2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=2\n",
         "13:37: source bus [0:7] has 7 addresses, the input map 2x2x2 has 8"),
        ("out=4x1x1[0:4], kernel=2x2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=2\n",
         "out=4x1x1[0:3], kernel=2x2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=2\n",
         "13:69: output positions [0:3] has 3 entries, the neuron range has 4"),
        ("out=4x1x1[0:4], kernel=2x2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=2\n",
         "out=4x2x1[0:4], kernel=2x2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=2\n",
         "13:5: instr 5: conv output shape 4x2x1 does not match 4x1x1"),
        ("dilation=[1,1], groups=2\n", "dilation=[1,1], groups=3\n",
         "13:5: instr 5: conv groups 3 must divide the input channels 2 and output channels 4"),
        ("kernel=2x2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=2\n",
         "kernel=2x2, stride=[0,1], pad=[0,0], dilation=[1,1], groups=2\n",
         "13:5: instr 5: conv stride_h 0 is outside 1..255"),
        ("ACC  c0[0:3], P0[0:3]", "ACC  c0[0:3], P0[0:3], delay=1", "11:26: unexpected ','; expected end of line"),
        ("reset=P3[0:3], refractory=2", "reset=subtract, refractory=2",
         "12:5: instr 4: refractory requires reset=zero or reset=P"),
        ("reset=P3[0:3], refractory=2", "reset=P3[0:3], refractory=256", "12:5: instr 4: refractory period 256 is outside 0..255"),
        ("reset=P3[0:3], refractory=2", "reset=P3[0:2], refractory=2", "12:58: reset values [0:2] has 2 entries"),
        ("reset=P3[0:3], refractory=2", "reset=P9[0:3], refractory=2", "12:5: instr 4: param table 9 is not defined"),
        ("reset=P3[0:3], refractory=2", "refractory=2, reset=P3[0:3]", "12:49: unexpected 'refractory'; expected 'reset'"),
        ("bus[8:11], delay=1", "bus[8:11], delay=65536", "10:5: instr 2: delay 65536 is outside 0..65535"),
        ("    410 0 4096", "    410 0 4097", "8:5: instr 0: decays in param table 2 must lie in 0..4096"),
        ("LEAK c2[0:2].i, decay=P5[0:2]", "LEAK c2[0:2].i, decay=P5[0:3]", "15:30: decay rows [0:3] has 3 entries"),
        (".probe c0[0:3] spikes v", ".probe c3[0:4] spikes", "6:1: probe 0: a spike probe needs every neuron covered by exactly one FIRE; neuron c3[0] is covered by 0"),
        (".probe c0[0:3] spikes v", ".probe c0[0:33] v", "6:1: probe 0: neurons [0:33] exceed core 0's 32 neurons"),
        (".output c2[0:2] scale=0.25\n", "", "7:1: '.output' must come before the '.probe' lines"),
        ("    HALT\n", "    HALT\n.probe c0[0:1] v\n", "23:1: '.probe' must come before the instructions and data sections"),
    ],
)  # fmt: skip
def test_v2_errors_are_located(old: str, new: str, expected: str) -> None:
    assert old in SMALL_V2
    text = SMALL_V2.replace(old, new, 1)
    if old == ".output c2[0:2] scale=0.25\n":  # move the .output after the probes
        text = text.replace(".probe c2[0:2] v i\n", ".probe c2[0:2] v i\n.output c2[0:2] scale=0.25\n")
    message = _error(text)
    assert message.startswith("v2.s:" + expected), message


def test_synaptic_memory_errors_point_at_the_instruction_that_overflows() -> None:
    """Core 3 needs 32 (geometry record) + 16 (kernel) + 2 x 8 (delay buffer) = 64 bytes."""
    text = SMALL_V2.replace("synapse_bytes=4096", "synapse_bytes=63")
    assert _error(text).startswith("v2.s:20:5: core 3: needs 64 bytes of synaptic memory")


@pytest.mark.parametrize("scale", ["nan", "NaN", "inf", "-inf", "-1.5", "-1e-300", "+inf"])
def test_meaningless_scales_are_refused_at_their_token(scale: str) -> None:
    """Issue 19 item 8: NaN, infinite and negative scales gave NaN logits (and bare NaN in --json)."""
    text = SMALL.replace("scale=0.0078125", f"scale={scale}")
    assert _error(text) == f"v2.s:3:17: input scale must be finite and positive (or 0.0 for unknown), got '{scale}'"
    text = SMALL.replace("scale=0.000123", f"scale={scale}")
    assert _error(text) == f"v2.s:4:23: output scale must be finite and positive (or 0.0 for unknown), got '{scale}'"


@pytest.mark.parametrize("scale", ["0", "0.0", "-0", "-0.0", "+0.0", "5e-324", "1.7976931348623157e308"])
def test_zero_and_positive_scales_are_kept(scale: str) -> None:
    program = assemble(SMALL.replace("scale=0.0078125", f"scale={scale}"))
    assert program.input_scale == float(scale)
    assert repr(assemble(disassemble(program)).input_scale) == repr(float(scale))  # -0.0 stays -0.0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs_v2(all_forms=True))
def test_v2_round_trip_is_exact(program: Program) -> None:
    text = disassemble(program)
    again = assemble(text)
    assert_same_program(again, program)
    assert disassemble(again) == text
    assert any(getattr(i, "compartment", Compartment.V) == Compartment.I for i in again.instructions)
