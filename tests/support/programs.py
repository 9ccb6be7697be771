"""The small two-layer program of docs/isa.md section 4, as text and as a Program: the shared fixture of
the assembler, image, spike-run and robustness tests; and SMALL_V2, a small program with every ISA v2
form (text and Program), the fixture of the v2 text and image tests."""

from __future__ import annotations

import numpy as np

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
    OutputSpec,
    ProbeSpec,
    Program,
    ResetMode,
)
from spikeir.chip.target import SPIKECORE_V1, TargetDescription

SMALL = """\
; a two-layer network
.target spikecore-v1 cores=128 neurons_per_core=1024 synapse_bytes=131072 max_fan_in=16384 bus_size=262144
.inputs 4 scale=0.0078125
.output c1[0:2] scale=0.000123
    ACC  c0[0:2], S0[0:2, 0:4], bus[0:4]   ; layer 1
    ACC  c0[0:2], P0[0:2]
    FIRE c0[0:2] -> bus[4:6], graded, P1[0:2], shift=24, clamp=[0,127]
    ACC  c1[0:2], S1[0:2, 0:2], bus[4:6]
    FIRE c1[0:2] -> bus[6:8], binary, P1[0:2], reset=subtract, init=half
    LEAK c1[0:2], shift=4
    HALT
.synapses S0 2x4
    00ff7f80
    01020304
.synapses S1 2x2
    0102
    0304
.params P0 2
    1 -2
.params P1 2
    16 5
"""


def small_program() -> Program:
    return Program(
        [
            Acc(0, 0, 2, src=0, src_len=4, table=0),
            AccBias(0, 0, 2, table=0),
            Fire(0, 0, 2, dst=4, table=1, shift=24, lo=0, hi=127),
            Acc(1, 0, 2, src=4, src_len=2, table=1),
            Fire(
                1,
                0,
                2,
                dst=6,
                table=1,
                mode=FireMode.BINARY,
                reset=ResetMode.SUBTRACT,
                shift=0,
                lo=0,
                hi=0,
                init_half=True,
            ),
            Leak(1, 0, 2, shift=4),
            Halt(),
        ],
        n_inputs=4,
        outputs=[OutputSpec(1, 0, 2, 0.000123)],
        synapse_tables={
            0: np.array([[0, -1, 127, -128], [1, 2, 3, 4]], np.int8),
            1: np.array([[1, 2], [3, 4]], np.int8),
        },
        param_tables={0: np.array([1, -2], np.int32), 1: np.array([16, 5], np.int32)},
        target=SPIKECORE_V1,
        input_scale=0.0078125,
    )


SMALL_V2 = """\
; every ISA v2 form: a recurrent LIF layer with refractory neurons on a streamed input, a grouped
; conv layer, a CUBA readout, and a delayed conv into I
.target test-v2 cores=4 neurons_per_core=32 synapse_bytes=4096 max_fan_in=64 bus_size=64
.inputs 8 scale=0.5 stream
.output c2[0:2] scale=0.25
.probe c0[0:3] spikes v
.probe c2[0:2] v i
    LEAK c0[0:3], decay=P2[0:3]
    ACC  c0[0:3], S0[0:3, 0:8], bus[0:8]
    ACC  c0[0:3], S1[0:3, 0:3], bus[8:11], delay=1   ; recurrence: last timestep's spikes
    ACC  c0[0:3], P0[0:3]
    FIRE c0[0:3] -> bus[8:11], binary, P1[0:3], reset=P3[0:3], refractory=2
    ACC  c1[0:4], S2[0:4, 0:4], bus[0:8], conv, in=2x2x2, out=4x1x1[0:4], kernel=2x2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=2
    FIRE c1[0:4] -> bus[11:15], graded, P4[0:4], shift=0, clamp=[-128,127]
    LEAK c2[0:2].i, decay=P5[0:2]
    ACC  c2[0:2].i, S3[0:2, 0:4], bus[11:15]
    ACC  c2[0:2].i, P0[0:2]
    LEAK c2[0:2], shift=3
    ACC  c2[0:2], i
    ACC  c3[0:4].i, S2[0:4, 0:4], bus[0:8], conv, in=2x2x2, out=4x1x1[0:4], kernel=2x2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=2, delay=2
    LEAK c3[0:4].i, shift=2
    HALT
.synapses S0 3x8
    0102030405060708
    f0f1f2f3f4f5f6f7
    7f80007f80007f80
.synapses S1 3x3
    000102
    030405
    060708
.synapses S2 4x4
    01010101
    01ff01ff
    02020202
    807f807f
.synapses S3 2x4
    01020304
    fffefdfc
.params P0 3
    5 -7 2147483647
.params P1 3
    16 1 100
.params P2 3
    410 0 4096
.params P3 3
    0 -3 7
.params P4 4
    1 2 -1 3
.params P5 2
    2048 1
"""


def small_v2_program() -> Program:
    """SMALL_V2 as a Program (every v2 form of docs/isa.md: the fixture of the v2 text and image tests)."""
    conv = ConvGeometry(2, 2, 2, 4, 1, 1, 2, 2, groups=2)
    return Program(
        [
            LeakDecay(0, 0, 3, table=2),
            Acc(0, 0, 3, src=0, src_len=8, table=0),
            Acc(0, 0, 3, src=8, src_len=3, table=1, delay=1),
            AccBias(0, 0, 3, table=0),
            Fire(
                0,
                0,
                3,
                dst=8,
                table=1,
                mode=FireMode.BINARY,
                reset=ResetMode.VALUE,
                shift=0,
                lo=0,
                hi=0,
                reset_table=3,
                refractory=2,
            ),  # fmt: skip
            AccConv(1, 0, 4, src=0, table=2, geometry=conv),
            Fire(1, 0, 4, dst=11, table=4, shift=0, lo=-128, hi=127),
            LeakDecay(2, 0, 2, table=5, compartment=Compartment.I),
            Acc(2, 0, 2, src=11, src_len=4, table=3, compartment=Compartment.I),
            AccBias(2, 0, 2, table=0, compartment=Compartment.I),
            Leak(2, 0, 2, shift=3),
            AccCurrent(2, 0, 2),
            AccConv(3, 0, 4, src=0, table=2, geometry=conv, compartment=Compartment.I, delay=2),
            Leak(3, 0, 4, shift=2, compartment=Compartment.I),
            Halt(),
        ],
        n_inputs=8,
        outputs=[OutputSpec(2, 0, 2, 0.25)],
        synapse_tables={
            0: np.array(
                [[1, 2, 3, 4, 5, 6, 7, 8], [-16, -15, -14, -13, -12, -11, -10, -9], [127, -128, 0] * 2 + [127, -128]],
                np.int8,
            ),
            1: np.arange(9, dtype=np.int8).reshape(3, 3),
            2: np.array([[1, 1, 1, 1], [1, -1, 1, -1], [2, 2, 2, 2], [-128, 127, -128, 127]], np.int8),
            3: np.array([[1, 2, 3, 4], [-1, -2, -3, -4]], np.int8),
        },
        param_tables={
            0: np.array([5, -7, 2147483647], np.int32),
            1: np.array([16, 1, 100], np.int32),
            2: np.array([410, 0, 4096], np.int32),
            3: np.array([0, -3, 7], np.int32),
            4: np.array([1, 2, -1, 3], np.int32),
            5: np.array([2048, 1], np.int32),
        },
        target=TargetDescription(
            "test-v2", cores=4, neurons_per_core=32, synapse_bytes=4096, max_fan_in=64, bus_size=64
        ),
        input_scale=0.5,
        streamed_input=True,
        probes=[ProbeSpec(0, 0, 3, spikes=True, v=True), ProbeSpec(2, 0, 2, v=True, i=True)],
    )
