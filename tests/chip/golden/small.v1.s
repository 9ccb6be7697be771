.target spikecore-v1 cores=128 neurons_per_core=1024 synapse_bytes=131072 max_fan_in=16384 bus_size=262144
.inputs 4 scale=0.0078125
.output c1[0:2] scale=0.000123
    ACC  c0[0:2], S0[0:2, 0:4], bus[0:4]
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
