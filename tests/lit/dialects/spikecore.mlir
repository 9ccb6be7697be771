// Every spikecore op and attribute round-trips, custom and generic: tables, input, a placed and an
// unplaced group, ACC, bias ACC, graded and binary FIRE, LEAK, output, HALT, and the host's launch.
// FIRE's mode and reset are enum attributes (#spikecore<fire_mode graded>, #spikecore<reset subtract>),
// bare keywords in the custom form; the quoted spelling of earlier versions still parses.
// RUN: spike-opt %s | spike-opt | filecheck %s
// RUN: SPIKE_ROUNDTRIP
// RUN: SPIKE_GENERIC_ROUNDTRIP
// RUN: XDSL_ROUNDTRIP

spikecore.program @net target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<[[1, 2, 3, 4], [5, 5, 5, 5], [-1, 0, 1, 0]]> : tensor<3x4xi8>
  spikecore.params @b0 dense<[1, 2, 3]> : tensor<3xi32>
  spikecore.params @m0 dense<[100, 100, 100]> : tensor<3xi32>
  spikecore.synapses @w1 dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi8>
  spikecore.params @b1 dense<[0, 0]> : tensor<2xi32>
  spikecore.params @t1 dense<[50, 60]> : tensor<2xi32>
  %in = spikecore.input unit 0.0078125 : !spikecore.spikes<4>
  %g0 = spikecore.group "layers.0" unit [0.001 : f64, 0.002 : f64, 0.003 : f64] placed [#spikecore.slice<core = 0, base = 0, count = 2>, #spikecore.slice<core = 1, base = 0, count = 1>] : !spikecore.group<3>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<3>, !spikecore.spikes<4>
  spikecore.acc_bias %g0, @b0 : !spikecore.group<3>
  %s0 = spikecore.fire %g0 graded @m0 shift 16 clamp [0, 127] unit 0.05 : !spikecore.group<3> -> !spikecore.spikes<3>
  %g1 = spikecore.group "layers.2" unit [0.002 : f64] : !spikecore.group<2>
  spikecore.acc %g1, %s0, @w1 : !spikecore.group<2>, !spikecore.spikes<3>
  spikecore.acc_bias %g1, @b1 : !spikecore.group<2>
  spikecore.leak %g1 shift 4 : !spikecore.group<2>
  %s1 = spikecore.fire %g1 "binary" @t1 reset "subtract" init_half unit 0.5 : !spikecore.group<2> -> !spikecore.spikes<2>
  spikecore.output %g1 : !spikecore.group<2>
  spikecore.halt
}
func.func @main(%x: tensor<1x2x2xf32>) -> tensor<1x2xf32> {
  %0 = nn.batch_flatten %x : tensor<1x2x2xf32> -> tensor<1x4xf32>
  %1 = spikecore.launch @net(%0) : (tensor<1x4xf32>) -> tensor<1x2xf32>
  func.return %1 : tensor<1x2xf32>
}

// CHECK: spikecore.program @net target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
// CHECK-NEXT: spikecore.synapses @w0 dense<[[1, 2, 3, 4], [5, 5, 5, 5], [-1, 0, 1, 0]]> : tensor<3x4xi8>
// CHECK-NEXT: spikecore.params @b0 dense<[1, 2, 3]> : tensor<3xi32>
// CHECK-NEXT: spikecore.params @m0 dense<100> : tensor<3xi32>
// CHECK-NEXT: spikecore.synapses @w1 dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi8>
// CHECK-NEXT: spikecore.params @b1 dense<0> : tensor<2xi32>
// CHECK-NEXT: spikecore.params @t1 dense<[50, 60]> : tensor<2xi32>
// CHECK-NEXT: %in = spikecore.input unit 7.812500e-03 : !spikecore.spikes<4>
// CHECK-NEXT: %g0 = spikecore.group "layers.0" unit [1.000000e-03 : f64, 2.000000e-03 : f64, 3.000000e-03 : f64] placed [#spikecore.slice<core = 0, base = 0, count = 2>, #spikecore.slice<core = 1, base = 0, count = 1>] : !spikecore.group<3>
// CHECK-NEXT: spikecore.acc %g0, %in, @w0 : !spikecore.group<3>, !spikecore.spikes<4>
// CHECK-NEXT: spikecore.acc_bias %g0, @b0 : !spikecore.group<3>
// CHECK-NEXT: %s0 = spikecore.fire %g0 graded @m0 shift 16 clamp[0, 127] unit 5.000000e-02 : !spikecore.group<3> -> !spikecore.spikes<3>
// CHECK-NEXT: %g1 = spikecore.group "layers.2" unit [2.000000e-03 : f64] : !spikecore.group<2>
// CHECK-NEXT: spikecore.acc %g1, %s0, @w1 : !spikecore.group<2>, !spikecore.spikes<3>
// CHECK-NEXT: spikecore.acc_bias %g1, @b1 : !spikecore.group<2>
// CHECK-NEXT: spikecore.leak %g1 shift 4 : !spikecore.group<2>
// CHECK-NEXT: %s1 = spikecore.fire %g1 binary @t1 reset subtract init_half unit 5.000000e-01 : !spikecore.group<2> -> !spikecore.spikes<2>
// CHECK-NEXT: spikecore.output %g1 : !spikecore.group<2>
// CHECK-NEXT: spikecore.halt
// CHECK: func.func @main(%x: tensor<1x2x2xf32>) -> tensor<1x2xf32> {
// CHECK-NEXT: %0 = nn.batch_flatten %x : tensor<1x2x2xf32> -> tensor<1x4xf32>
// CHECK-NEXT: %1 = spikecore.launch @net(%0) : (tensor<1x4xf32>) -> tensor<1x2xf32>
// CHECK-NEXT: func.return %1 : tensor<1x2xf32>
// CHECK-GENERIC: "spikecore.program"() <{sym_name = "net", target = #spikecore.target<"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144>}> ({
// CHECK-GENERIC-NEXT: "spikecore.synapses"() <{sym_name = "w0", value = dense<[[1, 2, 3, 4], [5, 5, 5, 5], [-1, 0, 1, 0]]> : tensor<3x4xi8>}> : () -> ()
// CHECK-GENERIC-NEXT: "spikecore.params"() <{sym_name = "b0", value = dense<[1, 2, 3]> : tensor<3xi32>}> : () -> ()
// CHECK-GENERIC-NEXT: "spikecore.params"() <{sym_name = "m0", value = dense<100> : tensor<3xi32>}> : () -> ()
// CHECK-GENERIC-NEXT: "spikecore.synapses"() <{sym_name = "w1", value = dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi8>}> : () -> ()
// CHECK-GENERIC-NEXT: "spikecore.params"() <{sym_name = "b1", value = dense<0> : tensor<2xi32>}> : () -> ()
// CHECK-GENERIC-NEXT: "spikecore.params"() <{sym_name = "t1", value = dense<[50, 60]> : tensor<2xi32>}> : () -> ()
// CHECK-GENERIC-NEXT: %in = "spikecore.input"() <{unit = 7.812500e-03 : f64}> : () -> !spikecore.spikes<4>
// CHECK-GENERIC-NEXT: %g0 = "spikecore.group"() <{layer = "layers.0", unit = [1.000000e-03 : f64, 2.000000e-03 : f64, 3.000000e-03 : f64], placement = [#spikecore.slice<core = 0, base = 0, count = 2>, #spikecore.slice<core = 1, base = 0, count = 1>]}> : () -> !spikecore.group<3>
// CHECK-GENERIC-NEXT: "spikecore.acc"(%g0, %in) <{synapses = @w0}> : (!spikecore.group<3>, !spikecore.spikes<4>) -> ()
// CHECK-GENERIC-NEXT: "spikecore.acc_bias"(%g0) <{params = @b0}> : (!spikecore.group<3>) -> ()
// CHECK-GENERIC-NEXT: %s0 = "spikecore.fire"(%g0) <{mode = #spikecore<fire_mode graded>, params = @m0, shift = 16 : i64, lo = 0 : i64, hi = 127 : i64, unit = 5.000000e-02 : f64}> : (!spikecore.group<3>) -> !spikecore.spikes<3>
// CHECK-GENERIC-NEXT: %g1 = "spikecore.group"() <{layer = "layers.2", unit = [2.000000e-03 : f64]}> : () -> !spikecore.group<2>
// CHECK-GENERIC-NEXT: "spikecore.acc"(%g1, %s0) <{synapses = @w1}> : (!spikecore.group<2>, !spikecore.spikes<3>) -> ()
// CHECK-GENERIC-NEXT: "spikecore.acc_bias"(%g1) <{params = @b1}> : (!spikecore.group<2>) -> ()
// CHECK-GENERIC-NEXT: "spikecore.leak"(%g1) <{shift = 4 : i64}> : (!spikecore.group<2>) -> ()
// CHECK-GENERIC-NEXT: %s1 = "spikecore.fire"(%g1) <{mode = #spikecore<fire_mode binary>, params = @t1, reset = #spikecore<reset subtract>, init_half, unit = 5.000000e-01 : f64}> : (!spikecore.group<2>) -> !spikecore.spikes<2>
// CHECK-GENERIC-NEXT: "spikecore.output"(%g1) : (!spikecore.group<2>) -> ()
// CHECK-GENERIC-NEXT: "spikecore.halt"() : () -> ()
// CHECK-GENERIC: %1 = "spikecore.launch"(%0) <{program = @net}> : (tensor<1x4xf32>) -> tensor<1x2xf32>
