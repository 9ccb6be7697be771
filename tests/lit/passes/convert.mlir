// RUN: spike-opt %s -p convert-to-snn | filecheck %s
// RUN: spike-opt %s -p 'convert-to-snn{leak-shift=4 init-half=false reset=zero}' | filecheck %s --check-prefix=OPTS

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

// CHECK:      spikecore.params @b0 dense<[10, 20, -30]> : tensor<3xi32>
// CHECK-NEXT: spikecore.params @t0 dense<[81280, 40640, 81280000]> : tensor<3xi32>
// CHECK-NEXT: spikecore.synapses @w1
// CHECK-NEXT: spikecore.params @b1 dense<[2, -2]> : tensor<2xi32>
// CHECK-NOT:  @m0
// CHECK:      %[[G0:.*]] = spikecore.group "layers.0" unit [7.812500e-05 : f64, 1.562500e-04 : f64, 7.812500e-08 : f64]
// CHECK:      spikecore.acc_bias %[[G0]], @b0
// CHECK-NEXT: %[[S0:.*]] = spikecore.fire %[[G0]] "binary" @t0 reset "subtract" init_half unit 6.35{{0*[0-9]*}} : !spikecore.group<3> -> !spikecore.spikes<3>
// CHECK-NEXT: %[[G1:.*]] = spikecore.group "layers.2" unit [3.175{{0*[0-9]*}} : f64]
// CHECK-NEXT: spikecore.acc %[[G1]], %[[S0]], @w1

// OPTS:      spikecore.acc_bias %[[G0:.*]], @b0
// OPTS-NEXT: spikecore.leak %[[G0]] shift 4 : !spikecore.group<3>
// OPTS-NEXT: spikecore.fire %[[G0]] "binary" @t0 reset "zero" unit
