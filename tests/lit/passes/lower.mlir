// RUN: spike-opt %s -p lower-quant-to-spikecore | filecheck %s

// A two-layer quantized region: layer 0 (per-channel weights, ReLU) becomes a group, its ACCs and
// a graded FIRE with the requantization's multipliers, shift and clamp [0, 127]; the last layer's
// accumulator is the output. Tables come in layer order, units carry every scale.

func.func private @spikecore_0(%x: tensor<1x4xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %q = quant.quantize %x : tensor<1x4xf32> -> tensor<1x4x!quant.uniform<i8:f32, 0.0078125>>
  %w = quant.constant dense<[[1, 2, 3, 4], [5, 5, 5, 5], [-1, 0, 1, 0]]> : tensor<3x4xi8> -> tensor<3x4x!quant.uniform<i8:f32:0, {0.01, 0.02, 1.0e-05}>>
  %b = quant.constant dense<[10, 20, -30]> : tensor<3xi32> -> tensor<3x!quant.uniform<i32:f32:0, {7.8125e-05, 0.00015625, 7.8125e-08}>>
  %acc = quant.dense %q, %w, %b layer "layers.0" : (tensor<1x4x!quant.uniform<i8:f32, 0.0078125>>, tensor<3x4x!quant.uniform<i8:f32:0, {0.01, 0.02, 1.0e-05}>>, tensor<3x!quant.uniform<i32:f32:0, {7.8125e-05, 0.00015625, 7.8125e-08}>>) -> tensor<1x3x!quant.uniform<i32:f32:0, {7.8125e-05, 0.00015625, 7.8125e-08}>>
  %y = quant.requantize %acc multiplier array<i32: 100, 200, 3> shift 16 : tensor<1x3x!quant.uniform<i32:f32:0, {7.8125e-05, 0.00015625, 7.8125e-08}>> -> tensor<1x3x!quant.uniform<i8:f32, 0.05>>
  %r = quant.relu %y : tensor<1x3x!quant.uniform<i8:f32, 0.05>>
  %w1 = quant.constant dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi8> -> tensor<2x3x!quant.uniform<i8:f32, 0.5>>
  %b1 = quant.constant dense<[7, -8]> : tensor<2xi32> -> tensor<2x!quant.uniform<i32:f32, 0.025>>
  %a1 = quant.dense %r, %w1, %b1 layer "layers.2" : (tensor<1x3x!quant.uniform<i8:f32, 0.05>>, tensor<2x3x!quant.uniform<i8:f32, 0.5>>, tensor<2x!quant.uniform<i32:f32, 0.025>>) -> tensor<1x2x!quant.uniform<i32:f32, 0.025>>
  %f = quant.dequantize %a1 : tensor<1x2x!quant.uniform<i32:f32, 0.025>> -> tensor<1x2xf32>
  func.return %f : tensor<1x2xf32>
}
func.func @main(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %0 = func.call @spikecore_0(%x) : (tensor<1x4xf32>) -> tensor<1x2xf32>
  func.return %0 : tensor<1x2xf32>
}

// CHECK:      spikecore.program @spikecore_0 target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
// CHECK-NEXT:   spikecore.synapses @w0 dense<{{\[\[}}1, 2, 3, 4], [5, 5, 5, 5], [-1, 0, 1, 0]]> : tensor<3x4xi8>
// CHECK-NEXT:   spikecore.params @b0 dense<[10, 20, -30]> : tensor<3xi32>
// CHECK-NEXT:   spikecore.params @m0 dense<[100, 200, 3]> : tensor<3xi32>
// CHECK-NEXT:   spikecore.synapses @w1 dense<{{\[\[}}1, 2, 3], [4, 5, 6]]> : tensor<2x3xi8>
// CHECK-NEXT:   spikecore.params @b1 dense<[7, -8]> : tensor<2xi32>
// CHECK-NEXT:   %[[IN:.*]] = spikecore.input unit 7.812500e-03 : !spikecore.spikes<4>
// CHECK-NEXT:   %[[G0:.*]] = spikecore.group "layers.0" unit [7.812500e-05 : f64, 1.562500e-04 : f64, 7.812500e-08 : f64] : !spikecore.group<3>
// CHECK-NEXT:   spikecore.acc %[[G0]], %[[IN]], @w0 : !spikecore.group<3>, !spikecore.spikes<4>
// CHECK-NEXT:   spikecore.acc_bias %[[G0]], @b0 : !spikecore.group<3>
// CHECK-NEXT:   %[[S0:.*]] = spikecore.fire %[[G0]] graded @m0 shift 16 clamp[0, 127] unit 5.000000e-02 : !spikecore.group<3> -> !spikecore.spikes<3>
// CHECK-NEXT:   %[[G1:.*]] = spikecore.group "layers.2" unit [2.500000e-02 : f64] : !spikecore.group<2>
// CHECK-NEXT:   spikecore.acc %[[G1]], %[[S0]], @w1 : !spikecore.group<2>, !spikecore.spikes<3>
// CHECK-NEXT:   spikecore.acc_bias %[[G1]], @b1 : !spikecore.group<2>
// CHECK-NEXT:   spikecore.output %[[G1]] : !spikecore.group<2>
// CHECK-NEXT:   spikecore.halt
// CHECK-NEXT: }
// CHECK-NEXT: func.func @main(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
// CHECK-NEXT:   %[[R:.*]] = spikecore.launch @spikecore_0(%x) : (tensor<1x4xf32>) -> tensor<1x2xf32>
// CHECK-NEXT:   func.return %[[R]] : tensor<1x2xf32>
