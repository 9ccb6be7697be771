"""Emission of placed spikecore programs into ISA programs (docs/pipeline.md, section 8)."""

from __future__ import annotations

import numpy as np
import pytest

from spikeir.chip.isa import Acc, AccBias, Fire, FireMode, Halt, Leak, OutputSpec, ResetMode
from spikeir.chip.target import SPIKECORE_V1
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
    with pytest.raises(PlacementError, match=r'group "layers.0" is not placed: run the spikecore-place pass first') as info:
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
