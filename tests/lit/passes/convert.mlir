// RUN: spike-opt %s --split-input-file -p convert-to-snn | filecheck %s
// RUN: spike-opt %s --split-input-file -p 'convert-to-snn{leak-shift=4 init-half=false reset=zero}' | filecheck %s --check-prefix=OPTS
// Run twice, the pass changes nothing more: the program is rate-coded already.
// RUN: spike-opt %s --split-input-file -p convert-to-snn,convert-to-snn | filecheck %s

// Layer 0 fires graded payloads worth 0.05 each, clamp [0, 127]: a spike is now worth
// lambda = 127 * 0.05 = 6.35, and theta_n = round(6.35 / unit_V[n]): 6.35 / 7.8125e-05 = 81280,
// 6.35 / 1.5625e-04 = 40640, 6.35 / 7.8125e-08 = 81280000. Layer 1 reads those spikes, so its unit
// grows by 127 (0.025 -> 3.175) and its bias shrinks by 127: [300, -300] -> [2, -2].

spikecore.program @net target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<[[1, 2, 3, 4], [5, 5, 5, 5], [-1, 0, 1, 0]]> : tensor<3x4xi8>
  spikecore.params @b0 dense<[10, 20, -30]> : tensor<3xi32>
  spikecore.params @m0 dense<[100, 200, 3]> : tensor<3xi32>
  spikecore.synapses @w1 dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi8>
  spikecore.params @b1 dense<[300, -300]> : tensor<2xi32>
  %in = spikecore.input unit 0.0078125 : !spikecore.spikes<4>
  %g0 = spikecore.group "layers.0" unit [7.8125e-05 : f64, 1.5625e-04 : f64, 7.8125e-08 : f64] : !spikecore.group<3>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<3>, !spikecore.spikes<4>
  spikecore.acc_bias %g0, @b0 : !spikecore.group<3>
  %s0 = spikecore.fire %g0 "graded" @m0 shift 16 clamp [0, 127] unit 0.05 : !spikecore.group<3> -> !spikecore.spikes<3>
  %g1 = spikecore.group "layers.2" unit [0.025 : f64] : !spikecore.group<2>
  spikecore.acc %g1, %s0, @w1 : !spikecore.group<2>, !spikecore.spikes<3>
  spikecore.acc_bias %g1, @b1 : !spikecore.group<2>
  spikecore.output %g1 : !spikecore.group<2>
  spikecore.halt
}

// CHECK-LABEL: spikecore.program @net
// CHECK:      spikecore.params @b0 dense<[10, 20, -30]> : tensor<3xi32>
// CHECK-NEXT: spikecore.params @t0 dense<[81280, 40640, 81280000]> : tensor<3xi32>
// CHECK-NEXT: spikecore.synapses @w1
// CHECK-NEXT: spikecore.params @b1 dense<[2, -2]> : tensor<2xi32>
// CHECK-NOT:  @m0
// CHECK:      %[[G0:.*]] = spikecore.group "layers.0" unit [7.812500e-05 : f64, 1.562500e-04 : f64, 7.812500e-08 : f64]
// CHECK:      spikecore.acc_bias %[[G0]], @b0
// CHECK-NEXT: %[[S0:.*]] = spikecore.fire %[[G0]] binary @t0 reset subtract init_half unit 6.35{{0*[0-9]*}} : !spikecore.group<3> -> !spikecore.spikes<3>
// CHECK-NEXT: %[[G1:.*]] = spikecore.group "layers.2" unit [3.175{{0*[0-9]*}} : f64]
// CHECK-NEXT: spikecore.acc %[[G1]], %[[S0]], @w1

// OPTS:      spikecore.acc_bias %[[G0:.*]], @b0
// OPTS-NEXT: spikecore.leak %[[G0]] shift 4 : !spikecore.group<3>
// OPTS-NEXT: spikecore.fire %[[G0]] binary @t0 reset zero unit

// -----

// A program that already has a table named @t0: the threshold table gets a fresh name.
spikecore.program @clash target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.params @t0 dense<[7, 7]> : tensor<2xi32>
  spikecore.synapses @w0 dense<1> : tensor<2x2xi8>
  spikecore.params @m0 dense<1> : tensor<2xi32>
  spikecore.synapses @w1 dense<1> : tensor<1x2xi8>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<2>
  %g0 = spikecore.group "hidden" unit [0.5 : f64] : !spikecore.group<2>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<2>, !spikecore.spikes<2>
  spikecore.acc_bias %g0, @t0 : !spikecore.group<2>
  %s0 = spikecore.fire %g0 graded @m0 shift 0 clamp [0, 10] unit 1.0 : !spikecore.group<2> -> !spikecore.spikes<2>
  %g1 = spikecore.group "out" unit [0.25 : f64] : !spikecore.group<1>
  spikecore.acc %g1, %s0, @w1 : !spikecore.group<1>, !spikecore.spikes<2>
  spikecore.output %g1 : !spikecore.group<1>
  spikecore.halt
}
// CHECK-LABEL: spikecore.program @clash
// CHECK-NEXT:    spikecore.params @t0 dense<7> : tensor<2xi32>
// CHECK-NEXT:    spikecore.synapses @w0
// CHECK-NEXT:    spikecore.params @t0_1 dense<20> : tensor<2xi32>
// CHECK:         spikecore.acc_bias %g0, @t0 :
// CHECK-NEXT:    spikecore.fire %g0 binary @t0_1 reset subtract init_half unit 1.000000e+01
// CHECK-NEXT:    spikecore.group "out" unit [2.500000e+00 : f64]

// -----

// Three layers: both hidden FIREs become binary. lambda_0 = 10 * 1.0, theta_0 = 10 / 0.5 = 20; h1 reads
// those spikes, so its unit grows by 10 (0.25 -> 2.5) and its bias shrinks by 10. lambda_1 = 20 * 2.0,
// theta_1 = 40 / 2.5 = 16; the output's unit grows by 20 (0.125 -> 2.5), its bias 4000 -> 200.
spikecore.program @deep target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<1> : tensor<2x2xi8>
  spikecore.params @b0 dense<0> : tensor<2xi32>
  spikecore.params @m0 dense<1> : tensor<2xi32>
  spikecore.synapses @w1 dense<1> : tensor<2x2xi8>
  spikecore.params @b1 dense<[100, -100]> : tensor<2xi32>
  spikecore.params @m1 dense<1> : tensor<2xi32>
  spikecore.synapses @w2 dense<1> : tensor<1x2xi8>
  spikecore.params @b2 dense<[4000]> : tensor<1xi32>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<2>
  %g0 = spikecore.group "h0" unit [0.5 : f64] : !spikecore.group<2>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<2>, !spikecore.spikes<2>
  spikecore.acc_bias %g0, @b0 : !spikecore.group<2>
  %s0 = spikecore.fire %g0 graded @m0 shift 0 clamp [0, 10] unit 1.0 : !spikecore.group<2> -> !spikecore.spikes<2>
  %g1 = spikecore.group "h1" unit [0.25 : f64] : !spikecore.group<2>
  spikecore.acc %g1, %s0, @w1 : !spikecore.group<2>, !spikecore.spikes<2>
  spikecore.acc_bias %g1, @b1 : !spikecore.group<2>
  %s1 = spikecore.fire %g1 graded @m1 shift 0 clamp [0, 20] unit 2.0 : !spikecore.group<2> -> !spikecore.spikes<2>
  %g2 = spikecore.group "out" unit [0.125 : f64] : !spikecore.group<1>
  spikecore.acc %g2, %s1, @w2 : !spikecore.group<1>, !spikecore.spikes<2>
  spikecore.acc_bias %g2, @b2 : !spikecore.group<1>
  spikecore.output %g2 : !spikecore.group<1>
  spikecore.halt
}
// CHECK-LABEL: spikecore.program @deep
// CHECK:         spikecore.params @t0 dense<20> : tensor<2xi32>
// CHECK:         spikecore.params @b1 dense<[10, -10]> : tensor<2xi32>
// CHECK-NEXT:    spikecore.params @t1 dense<16> : tensor<2xi32>
// CHECK-NEXT:    spikecore.synapses @w2
// CHECK-NEXT:    spikecore.params @b2 dense<200> : tensor<1xi32>
// CHECK-NOT:     graded
// CHECK:         spikecore.fire %g0 binary @t0 reset subtract init_half unit 1.000000e+01
// CHECK-NEXT:    spikecore.group "h1" unit [2.500000e+00 : f64]
// CHECK:         spikecore.fire %g1 binary @t1 reset subtract init_half unit 4.000000e+01
// CHECK-NEXT:    spikecore.group "out" unit [2.500000e+00 : f64]
// OPTS-LABEL:    spikecore.program @deep
// OPTS:          spikecore.leak %g0 shift 4
// OPTS-NEXT:     spikecore.fire %g0 binary @t0 reset zero unit
// OPTS:          spikecore.leak %g1 shift 4
// OPTS-NEXT:     spikecore.fire %g1 binary @t1 reset zero unit

// -----

// A program with no graded FIRE (one layer, or already rate-coded) is left as it is.
spikecore.program @single target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<1> : tensor<1x2xi8>
  spikecore.params @b0 dense<3> : tensor<1xi32>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<2>
  %g0 = spikecore.group "only" unit [0.5 : f64] : !spikecore.group<1>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<1>, !spikecore.spikes<2>
  spikecore.acc_bias %g0, @b0 : !spikecore.group<1>
  spikecore.output %g0 : !spikecore.group<1>
  spikecore.halt
}
// CHECK-LABEL: spikecore.program @single
// CHECK:         spikecore.params @b0 dense<3> : tensor<1xi32>
// CHECK:         spikecore.group "only" unit [5.000000e-01 : f64]
// CHECK-NOT:     spikecore.leak
// CHECK-NOT:     spikecore.fire
// CHECK:         spikecore.halt
