"""Emission of placed spikecore programs into ISA programs (docs/pipeline.md, section 8)."""

from __future__ import annotations

import numpy as np
import pytest

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
    Leak,
    LeakDecay,
    OutputSpec,
    ProbeSpec,
    Program,
    ResetMode,
)
from spikeir.chip.target import SPIKECORE_V1, TargetDescription
from spikeir.dialects import spikecore
from spikeir.errors import PlacementError, ProgramError
from spikeir.ir.emit import program_from_ir, program_from_module
from support.spikecore_ir import parse

PROGRAM = """
spikecore.program @{name} target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {{
  spikecore.synapses @w0 dense<[[1, 2, 3, 4], [5, 5, 5, 5], [-1, 0, 1, 0]]> : tensor<3x4xi8>
  spikecore.params @b0 dense<[1, 2, 3]> : tensor<3xi32>
  spikecore.params @m0 dense<[100, 100, 100]> : tensor<3xi32>
  spikecore.synapses @w1 dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi8>
  spikecore.params @b1 dense<[0, 0]> : tensor<2xi32>
  spikecore.params @t1 dense<[50, 60]> : tensor<2xi32>
  spikecore.synapses @w2 dense<[[1, 1]]> : tensor<1x2xi8>
  spikecore.params @b2 dense<[9]> : tensor<1xi32>
  %in = spikecore.input unit 0.0078125 : !spikecore.spikes<4>
  %g0 = spikecore.group "layers.0" unit [0.001 : f64, 0.002 : f64, 0.003 : f64] {placed0} : !spikecore.group<3>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<3>, !spikecore.spikes<4>
  spikecore.acc_bias %g0, @b0 : !spikecore.group<3>
  %s0 = spikecore.fire %g0 "graded" @m0 shift 16 clamp [0, 127] unit 0.05 : !spikecore.group<3> -> !spikecore.spikes<3>
  %g1 = spikecore.group "layers.2" unit [0.002 : f64] placed [#spikecore.slice<core = 2, base = 0, count = 2>] : !spikecore.group<2>
  spikecore.acc %g1, %s0, @w1 : !spikecore.group<2>, !spikecore.spikes<3>
  spikecore.acc_bias %g1, @b1 : !spikecore.group<2>
  spikecore.leak %g1 shift 4 : !spikecore.group<2>
  %s1 = spikecore.fire %g1 "binary" @t1 reset "subtract" init_half unit 0.5 : !spikecore.group<2> -> !spikecore.spikes<2>
  %g2 = spikecore.group "layers.4" unit [0.25 : f64] placed [#spikecore.slice<core = 3, base = 0, count = 1>] : !spikecore.group<1>
  spikecore.acc %g2, %s1, @w2 : !spikecore.group<1>, !spikecore.spikes<2>
  spikecore.acc_bias %g2, @b2 : !spikecore.group<1>
  spikecore.output %g2 : !spikecore.group<1>
  spikecore.halt
}}
"""
PLACED0 = "placed [#spikecore.slice<core = 0, base = 0, count = 2>, #spikecore.slice<core = 1, base = 5, count = 1>]"


def program_text(name: str = "net", placed0: str = PLACED0) -> str:
    return PROGRAM.format(name=name, placed0=placed0)


def test_expansion_bus_tables_and_outputs() -> None:
    program = program_from_module(parse(program_text()))
    assert program.instructions == [
        Acc(0, 0, 2, src=0, src_len=4, table=0, row=0),
        Acc(1, 5, 1, src=0, src_len=4, table=0, row=2),
        AccBias(0, 0, 2, table=0, row=0),
        AccBias(1, 5, 1, table=0, row=2),
        Fire(0, 0, 2, dst=4, table=1, row=0, mode=FireMode.GRADED, shift=16, lo=0, hi=127),
        Fire(1, 5, 1, dst=6, table=1, row=2, mode=FireMode.GRADED, shift=16, lo=0, hi=127),
        Acc(2, 0, 2, src=4, src_len=3, table=1, row=0),
        AccBias(2, 0, 2, table=2, row=0),
        Leak(2, 0, 2, shift=4),
        Fire(
            2,
            0,
            2,
            dst=7,
            table=3,
            row=0,
            mode=FireMode.BINARY,
            reset=ResetMode.SUBTRACT,
            shift=0,
            lo=0,
            hi=0,
            init_half=True,
        ),
        Acc(3, 0, 1, src=7, src_len=2, table=2, row=0),
        AccBias(3, 0, 1, table=4, row=0),
        Halt(),
    ]
    assert program.n_inputs == 4 and program.input_scale == 0.0078125
    assert program.outputs == [OutputSpec(3, 0, 1, 0.25)]
    assert sorted(program.synapse_tables) == [0, 1, 2]
    assert program.synapse_tables[1].dtype == np.int8 and program.synapse_tables[1].tolist() == [[1, 2, 3], [4, 5, 6]]
    assert [program.param_tables[i].tolist() for i in range(5)] == [[1, 2, 3], [100, 100, 100], [0, 0], [50, 60], [9]]
    assert program.target.name == "spikecore-v1" and program.target.clock_mhz == 100.0
    program.validate()


def test_unplaced_group_is_an_error_that_says_to_place() -> None:
    module = parse(program_text(placed0=""))
    with pytest.raises(
        PlacementError, match=r'group "layers.0" is not placed: run the spikecore-place pass first'
    ) as info:
        program_from_module(module)
    assert info.value.location == "@net"


def test_isa_violations_name_the_program() -> None:
    """A placement the target cannot hold (set by hand, bypassing place) fails Program.validate."""
    module = parse(program_text())
    program_op = next(op for op in module.walk() if isinstance(op, spikecore.ProgramOp))
    program_op.target = spikecore.TargetAttr.from_description(SPIKECORE_V1.with_options(synapse_bytes=7))
    with pytest.raises(ProgramError, match=r"needs 8 bytes of synaptic memory; target 'spikecore-v1' has 7") as info:
        program_from_ir(program_op)
    assert info.value.location == "@net: core 0"


def test_module_with_zero_or_several_programs() -> None:
    with pytest.raises(ProgramError, match="no spikecore.program: run the SpikeCore pipeline"):
        program_from_module(parse("func.func @main() {\n  func.return\n}"))
    two = parse(program_text("a") + program_text("b"))
    with pytest.raises(ProgramError, match=r"2 spikecore.programs \(@a, @b\): name the one to emit"):
        program_from_module(two)
    assert program_from_module(two, "b").n_inputs == 4
    assert program_from_module(two, "@a").n_inputs == 4
    with pytest.raises(ProgramError, match=r"no spikecore.program named @c \(programs: @a, @b\)"):
        program_from_module(two, "c")


V2_PROGRAM = """
spikecore.program @cuba target <"small", cores = 4, neurons_per_core = 8, synapse_bytes = 4096, max_fan_in = 4, bus_size = 64> {
  spikecore.synapses @k dense<[[1, 2, 3, 4], [-1, -2, -3, -4]]> : tensor<2x4xi8>
  spikecore.synapses @r dense<[[1, -1, 2, 0, 1, 0, 3, -2], [0, 1, 0, 1, 0, 1, 0, 1], [2, 2, -1, -1, 0, 0, 1, 1], [1, 0, 0, 0, 0, 0, 0, 4], [-3, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 5, 0, 0, 0, 0], [1, 1, 1, 1, -1, -1, -1, -1], [2, 0, 2, 0, 2, 0, 2, 0]]> : tensor<8x8xi8>
  spikecore.params @du dense<[0, 1, 2, 300, 1024, 2048, 4000, 4096]> : tensor<8xi32>
  spikecore.params @dv dense<410> : tensor<8xi32>
  spikecore.params @t dense<[20, 24, 28, 32, 36, 40, 44, 48]> : tensor<8xi32>
  spikecore.params @vr dense<[-8, -7, -6, -5, -4, -3, -2, -1]> : tensor<8xi32>
  spikecore.params @b dense<[1, 0, 2, 0, 3, 0, 4, 0]> : tensor<8xi32>
  %in = spikecore.input unit 0.5 stream : !spikecore.spikes<9>
  %g = spikecore.group "conv1" unit [0.25 : f64] placed [#spikecore.slice<core = 0, base = 0, count = 3>, #spikecore.slice<core = 1, base = 2, count = 5>] : !spikecore.group<8>
  spikecore.acc_conv %g, %in, @k conv <in = 1x3x3, out = 2x2x2, kernel = 2x2, stride = 1x1, pad = 0x0, dilation = 1x1, groups = 1> compartment i : !spikecore.group<8>, !spikecore.spikes<9>
  spikecore.acc %g, %s, @r compartment i delay 2 : !spikecore.group<8>, !spikecore.spikes<8>
  spikecore.acc_bias %g, @b compartment i : !spikecore.group<8>
  spikecore.leak %g compartment i decay @du : !spikecore.group<8>
  spikecore.acc_current %g : !spikecore.group<8>
  spikecore.leak %g decay @dv : !spikecore.group<8>
  spikecore.leak %g compartment i shift 5 : !spikecore.group<8>
  %s = spikecore.fire %g binary @t reset value to @vr refractory 3 unit 1.0 : !spikecore.group<8> -> !spikecore.spikes<8>
  spikecore.probe %g spikes v i : !spikecore.group<8>
  spikecore.output %g : !spikecore.group<8>
  spikecore.halt
}
"""


def _v2_expected() -> Program:
    """The chip program of V2_PROGRAM, built by hand from docs/isa.md."""
    geometry = ConvGeometry(1, 3, 3, 2, 2, 2, 2, 2)
    slices = [(0, 0, 3, 0), (1, 2, 5, 3)]
    instructions: list[Instruction] = [
        AccConv(0, 0, 3, src=0, table=0, geometry=geometry, p0=0, row=0, compartment=Compartment.I),
        AccConv(1, 2, 5, src=0, table=0, geometry=geometry, p0=3, row=0, compartment=Compartment.I),
        *(
            Acc(c, b, n, src=9 + col, src_len=4, table=1, row=r, col=col, compartment=Compartment.I, delay=2)
            for c, b, n, r in slices
            for col in (0, 4)
        ),
        *(AccBias(c, b, n, table=4, row=r, compartment=Compartment.I) for c, b, n, r in slices),
        *(LeakDecay(c, b, n, table=0, row=r, compartment=Compartment.I) for c, b, n, r in slices),
        *(AccCurrent(c, b, n) for c, b, n, _ in slices),
        *(LeakDecay(c, b, n, table=1, row=r) for c, b, n, r in slices),
        *(Leak(c, b, n, shift=5, compartment=Compartment.I) for c, b, n, _ in slices),
        *(
            Fire(
                c,
                b,
                n,
                dst=9 + r,
                table=2,
                row=r,
                mode=FireMode.BINARY,
                reset=ResetMode.VALUE,
                shift=0,
                lo=0,
                hi=0,
                reset_table=3,
                reset_row=r,
                refractory=3,
            )
            for c, b, n, r in slices
        ),
        Halt(),
    ]
    module = parse(V2_PROGRAM)
    tables = program_from_module(module)
    return Program(
        instructions=instructions,
        n_inputs=9,
        outputs=[OutputSpec(0, 0, 3, 0.25), OutputSpec(1, 2, 5, 0.25)],
        synapse_tables={
            0: np.array([[1, 2, 3, 4], [-1, -2, -3, -4]], np.int8),
            1: tables.synapse_tables[1].copy(),
        },
        param_tables={
            0: np.array([0, 1, 2, 300, 1024, 2048, 4000, 4096], np.int32),
            1: np.full(8, 410, np.int32),
            2: np.array([20, 24, 28, 32, 36, 40, 44, 48], np.int32),
            3: np.arange(-8, 0, dtype=np.int32),
            4: np.array([1, 0, 2, 0, 3, 0, 4, 0], np.int32),
        },
        target=TargetDescription("small", cores=4, neurons_per_core=8, synapse_bytes=4096, max_fan_in=4, bus_size=64),
        input_scale=0.5,
        streamed_input=True,
        probes=[ProbeSpec(0, 0, 3, True, True, True), ProbeSpec(1, 2, 5, True, True, True)],
    )


def test_v2_forms_emit_exactly_the_chip_program_and_run_identically() -> None:
    """Every v2 form (streamed input, conv ACC, delayed recurrent ACC into I, bias into I, decay and
    shift leaks of I and V, the current ACC, FIRE reset to values with refractory, probes) emits the
    hand-built program, and both run identically on the hardware model."""
    emitted = program_from_module(parse(V2_PROGRAM))
    expected = _v2_expected()
    assert emitted.instructions == expected.instructions
    assert (emitted.n_inputs, emitted.input_scale, emitted.streamed_input) == (9, 0.5, True)
    assert emitted.outputs == expected.outputs and emitted.probes == expected.probes
    assert emitted.target == expected.target
    for got, want in ((emitted.synapse_tables, expected.synapse_tables), (emitted.param_tables, expected.param_tables)):
        assert sorted(got) == sorted(want)
        for tid in got:
            assert got[tid].dtype == want[tid].dtype and got[tid].tolist() == want[tid].tolist()
    assert emitted.uses_v2()
    stream = np.random.default_rng(7).integers(0, 3, size=(2, 12, 9)).astype(np.int8)
    runs = []
    for program in (emitted, expected):
        cpu = SpikeCoreCPU(target=program.target)
        cpu.load_program(program)
        spikes = cpu.run(stream)
        runs.append((spikes, cpu.outputs(), cpu.get_probes()))
    (spikes_a, out_a, probes_a), (spikes_b, out_b, probes_b) = runs
    assert spikes_a.tolist() == spikes_b.tolist() and out_a.tolist() == out_b.tolist()
    assert spikes_a.sum() > 0  # the program does spike
    assert len(probes_a) == len(probes_b) == 2
    for pa, pb in zip(probes_a, probes_b, strict=True):
        assert sorted(pa) == sorted(pb) == ["i", "spikes", "v"]
        for kind in pa:
            assert pa[kind].tolist() == pb[kind].tolist()


def test_v2_ops_build_from_python_and_emit() -> None:
    """The builders of the v2 ops make the same IR as the text."""
    module = parse(V2_PROGRAM)
    program_op = next(op for op in module.walk() if isinstance(op, spikecore.ProgramOp))
    ops = list(program_op.body.ops)
    group = next(op for op in ops if isinstance(op, spikecore.GroupOp))
    fire = next(op for op in ops if isinstance(op, spikecore.FireOp))
    inp = next(op for op in ops if isinstance(op, spikecore.InputOp))
    built = [
        spikecore.InputOp(9, 0.5, stream=True),
        spikecore.AccConvOp(group, inp, "k", ConvGeometry(1, 3, 3, 2, 2, 2, 2, 2), "i"),
        spikecore.AccOp(group, fire, "r", spikecore.Compartment.I, 2),
        spikecore.AccBiasOp(group, "b", "i"),
        spikecore.LeakOp.decaying(group, "du", "i"),
        spikecore.AccCurrentOp(group),
        spikecore.LeakOp.decaying(group, "dv"),
        spikecore.LeakOp(group, 5, "i"),
        spikecore.FireOp.binary(group, "t", "value", False, 1.0, reset_values="vr", refractory=3),
        spikecore.ProbeOp(group, ["v", "i", "spikes"]),
    ]
    originals = [
        inp,
        *(op for op in ops[ops.index(group) + 1 :] if not isinstance(op, spikecore.OutputOp | spikecore.HaltOp)),
    ]
    for made, parsed in zip(built, originals, strict=True):
        assert made.name == parsed.name and made.properties == parsed.properties
    assert spikecore.ConvAttr.from_geometry(ConvGeometry(1, 3, 3, 2, 2, 2, 2, 2)).geometry() == ConvGeometry(
        1, 3, 3, 2, 2, 2, 2, 2
    )
    with pytest.raises(ValueError, match="unknown probe kind 'x'"):
        spikecore.ProbeOp(group, ["x"])
