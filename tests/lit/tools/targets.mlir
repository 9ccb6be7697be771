// -t spikecore-asm prints the placed program as SpikeCore assembly, in spike-opt and in xdsl-opt;
// an unplaced program is an error, not a guess.
// RUN: spike-opt %s -t spikecore-asm | filecheck %s
// RUN: xdsl-opt %s -t spikecore-asm | filecheck %s
// RUN: spike-opt %s -t 'spikecore-asm{program=net}' | filecheck %s
// RUN: not spike-opt %s -t 'spikecore-asm{program=other}' 2>&1 | filecheck %s --check-prefix=NAMED
// RUN: spike-opt %s -t spikecore-bin -o %t.img
// RUN: not spike-opt %s --split-input-file -t spikecore-bin -o %t.img 2>&1 | filecheck %s --check-prefix=SPLIT

spikecore.program @net target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<[[1, 2, 3, 4], [5, 5, 5, 5], [-1, 0, 1, 0]]> : tensor<3x4xi8>
  spikecore.params @b0 dense<[1, 2, 3]> : tensor<3xi32>
  spikecore.params @m0 dense<[100, 100, 100]> : tensor<3xi32>
  spikecore.synapses @w1 dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi8>
  spikecore.params @b1 dense<[0, 0]> : tensor<2xi32>
  %in = spikecore.input unit 0.0078125 : !spikecore.spikes<4>
  %g0 = spikecore.group "layers.0" unit [0.001 : f64] placed [#spikecore.slice<core = 0, base = 0, count = 2>, #spikecore.slice<core = 1, base = 0, count = 1>] : !spikecore.group<3>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<3>, !spikecore.spikes<4>
  spikecore.acc_bias %g0, @b0 : !spikecore.group<3>
  %s0 = spikecore.fire %g0 "graded" @m0 shift 16 clamp [0, 127] unit 0.05 : !spikecore.group<3> -> !spikecore.spikes<3>
  %g1 = spikecore.group "layers.2" unit [0.002 : f64] placed [#spikecore.slice<core = 2, base = 0, count = 2>] : !spikecore.group<2>
  spikecore.acc %g1, %s0, @w1 : !spikecore.group<2>, !spikecore.spikes<3>
  spikecore.acc_bias %g1, @b1 : !spikecore.group<2>
  spikecore.output %g1 : !spikecore.group<2>
  spikecore.halt
}

// CHECK:      .target spikecore-v1 cores=128 neurons_per_core=1024 synapse_bytes=131072 max_fan_in=16384 bus_size=262144
// CHECK-NEXT: .inputs 4 scale=0.0078125
// CHECK-NEXT: .output c2[0:2] scale=0.002
// CHECK-NEXT:     ACC  c0[0:2], S0[0:2, 0:4], bus[0:4]
// CHECK-NEXT:     ACC  c1[0:1], S0[2:3, 0:4], bus[0:4]
// CHECK-NEXT:     ACC  c0[0:2], P0[0:2]
// CHECK-NEXT:     ACC  c1[0:1], P0[2:3]
// CHECK-NEXT:     FIRE c0[0:2] -> bus[4:6], graded, P1[0:2], shift=16, clamp=[0,127]
// CHECK-NEXT:     FIRE c1[0:1] -> bus[6:7], graded, P1[2:3], shift=16, clamp=[0,127]
// CHECK-NEXT:     ACC  c2[0:2], S1[0:2, 0:3], bus[4:7]
// CHECK-NEXT:     ACC  c2[0:2], P2[0:2]
// CHECK-NEXT:     HALT
// CHECK-NEXT: .synapses S0 3x4
// CHECK-NEXT:     01020304
// CHECK-NEXT:     05050505
// CHECK-NEXT:     ff000100

// NAMED: error: no spikecore.program named @other (programs: @net)
// SPLIT: spike-opt: error: spikecore-bin writes one image: it cannot be used with --split-input-file
