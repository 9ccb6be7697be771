"""The small two-layer program of docs/isa.md section 4, as text and as a Program: the shared fixture of
the assembler, image, spike-run and robustness tests."""

from __future__ import annotations

import numpy as np

from spikeir.chip.isa import Acc, AccBias, Fire, FireMode, Halt, Leak, OutputSpec, Program, ResetMode
from spikeir.chip.target import SPIKECORE_V1

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
