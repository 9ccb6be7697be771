// -t spikecore-asm expands each ISA v2 form over the group's placement: a conv ACC per slice with its
// output span (p0) and the kernel rows of the channels it touches, a delayed recurrent ACC split into
// column blocks (max_fan_in = 4) reading the stream of a later FIRE, the current compartment (.i),
// the current ACC, LEAK by decay rows, FIRE reset=P rows with refractory, probes per slice, and
// `stream` on .inputs; -t spikecore-bin writes the version-2 image.
// RUN: spike-opt %s -t spikecore-asm | filecheck %s
// RUN: xdsl-opt %s -t spikecore-asm | filecheck %s
// RUN: spike-opt %s -t spikecore-bin -o %t.img

spikecore.program @cuba target <"small", cores = 4, neurons_per_core = 8, synapse_bytes = 4096, max_fan_in = 4, bus_size = 64> {
  spikecore.synapses @k dense<[[1, 2, 3, 4], [-1, -2, -3, -4]]> : tensor<2x4xi8>
  spikecore.synapses @r dense<1> : tensor<8x8xi8>
  spikecore.params @du dense<[0, 1, 2, 3, 4, 5, 6, 4096]> : tensor<8xi32>
  spikecore.params @dv dense<410> : tensor<8xi32>
  spikecore.params @t dense<64> : tensor<8xi32>
  spikecore.params @vr dense<[-8, -7, -6, -5, -4, -3, -2, -1]> : tensor<8xi32>
  %in = spikecore.input unit 0.5 stream : !spikecore.spikes<9>
  %g = spikecore.group "conv1" unit [0.25 : f64] placed [#spikecore.slice<core = 0, base = 0, count = 3>, #spikecore.slice<core = 1, base = 2, count = 5>] : !spikecore.group<8>
  spikecore.acc_conv %g, %in, @k conv <in = 1x3x3, out = 2x2x2, kernel = 2x2, stride = 1x1, pad = 0x0, dilation = 1x1, groups = 1> compartment i : !spikecore.group<8>, !spikecore.spikes<9>
  spikecore.acc %g, %s, @r compartment i delay 2 : !spikecore.group<8>, !spikecore.spikes<8>
  spikecore.leak %g compartment i decay @du : !spikecore.group<8>
  spikecore.acc_current %g : !spikecore.group<8>
  spikecore.leak %g decay @dv : !spikecore.group<8>
  %s = spikecore.fire %g binary @t reset value to @vr refractory 3 unit 1.0 : !spikecore.group<8> -> !spikecore.spikes<8>
  spikecore.probe %g spikes v : !spikecore.group<8>
  spikecore.output %g : !spikecore.group<8>
  spikecore.halt
}

// CHECK:      .target small cores=4 neurons_per_core=8 synapse_bytes=4096 max_fan_in=4 bus_size=64
// CHECK-NEXT: .inputs 9 scale=0.5 stream
// CHECK-NEXT: .output c0[0:3] scale=0.25
// CHECK-NEXT: .output c1[2:7] scale=0.25
// CHECK-NEXT: .probe c0[0:3] spikes v
// CHECK-NEXT: .probe c1[2:7] spikes v
// CHECK-NEXT:     ACC  c0[0:3].i, S0[0:1, 0:4], bus[0:9], conv, in=1x3x3, out=2x2x2[0:3], kernel=2x2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=1
// CHECK-NEXT:     ACC  c1[2:7].i, S0[0:2, 0:4], bus[0:9], conv, in=1x3x3, out=2x2x2[3:8], kernel=2x2, stride=[1,1], pad=[0,0], dilation=[1,1], groups=1
// CHECK-NEXT:     ACC  c0[0:3].i, S1[0:3, 0:4], bus[9:13], delay=2
// CHECK-NEXT:     ACC  c0[0:3].i, S1[0:3, 4:8], bus[13:17], delay=2
// CHECK-NEXT:     ACC  c1[2:7].i, S1[3:8, 0:4], bus[9:13], delay=2
// CHECK-NEXT:     ACC  c1[2:7].i, S1[3:8, 4:8], bus[13:17], delay=2
// CHECK-NEXT:     LEAK c0[0:3].i, decay=P0[0:3]
// CHECK-NEXT:     LEAK c1[2:7].i, decay=P0[3:8]
// CHECK-NEXT:     ACC  c0[0:3], i
// CHECK-NEXT:     ACC  c1[2:7], i
// CHECK-NEXT:     LEAK c0[0:3], decay=P1[0:3]
// CHECK-NEXT:     LEAK c1[2:7], decay=P1[3:8]
// CHECK-NEXT:     FIRE c0[0:3] -> bus[9:12], binary, P2[0:3], reset=P3[0:3], refractory=3
// CHECK-NEXT:     FIRE c1[2:7] -> bus[12:17], binary, P2[3:8], reset=P3[3:8], refractory=3
// CHECK-NEXT:     HALT
// CHECK-NEXT: .synapses S0 2x4
// CHECK-NEXT:     01020304
// CHECK-NEXT:     fffefdfc
// CHECK-NEXT: .synapses S1 8x8
// CHECK-NEXT:     0101010101010101
// CHECK-NEXT:     0101010101010101
// CHECK-NEXT:     0101010101010101
// CHECK-NEXT:     0101010101010101
// CHECK-NEXT:     0101010101010101
// CHECK-NEXT:     0101010101010101
// CHECK-NEXT:     0101010101010101
// CHECK-NEXT:     0101010101010101
// CHECK-NEXT: .params P0 8
// CHECK-NEXT:     0 1 2 3 4 5 6 4096
// CHECK-NEXT: .params P1 8
// CHECK-NEXT:     410 410 410 410 410 410 410 410
// CHECK-NEXT: .params P2 8
// CHECK-NEXT:     64 64 64 64 64 64 64 64
// CHECK-NEXT: .params P3 8
