// spikecore-quantize on more shapes of region. Inputs/quantize_calibration.npy: 8 samples of 1x2x2.
// RUN: spike-opt %s --split-input-file -p 'spikecore-quantize{calibration="%S/Inputs/quantize_calibration.npy"}' | filecheck %s
// Run twice, the second run finds every region quantized and changes nothing (it needs no calibration):
// RUN: spike-opt %s --split-input-file -p 'spikecore-quantize{calibration="%S/Inputs/quantize_calibration.npy"},spikecore-quantize' | filecheck %s
// RUN: spike-opt %s --split-input-file -p 'spikecore-quantize{calibration="%S/Inputs/quantize_calibration.npy" per-channel=true}' | filecheck %s --check-prefix=PC

// Three layers, per channel: the two hidden layers get one weight scale per output channel (axis 0)
// and one multiplier per channel; the last layer stays per tensor. Between layers the float detour
// (dequantize, quantize to the same type) is folded away: one integer chain.
func.func private @spikecore_0(%arg0: tensor<1x4xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %w0 = arith.constant dense<[[0.5, -0.25, 1.0, 0.0], [0.2, 0.4, -0.6, 0.8], [-1.0, 0.5, 0.25, -0.125]]> : tensor<3x4xf32>
  %h0 = nn.fused_dense %arg0, %w0 activation relu layer "l0" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %w1 = arith.constant dense<[[1.0, -1.0, 0.5], [-0.5, 0.25, 1.0], [0.1, 0.2, 0.3]]> : tensor<3x3xf32>
  %h1 = nn.fused_dense %h0, %w1 activation relu layer "l1" : (tensor<1x3xf32>, tensor<3x3xf32>) -> tensor<1x3xf32>
  %w2 = arith.constant dense<[[1.0, 2.0, 3.0], [-1.0, 0.5, 0.25]]> : tensor<2x3xf32>
  %y = nn.fused_dense %h1, %w2 layer "l2" : (tensor<1x3xf32>, tensor<2x3xf32>) -> tensor<1x2xf32>
  func.return %y : tensor<1x2xf32>
}
func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x2xf32> {
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %1 = func.call @spikecore_0(%0) : (tensor<1x4xf32>) -> tensor<1x2xf32>
  func.return %1 : tensor<1x2xf32>
}
// CHECK-LABEL: func.func private @spikecore_0
// CHECK-NEXT:    quant.quantize %arg0
// CHECK-NOT:     quant.quantize
// CHECK:         quant.dense {{.*}} layer "l0"
// CHECK:         quant.dense {{.*}} layer "l1"
// CHECK:         quant.dense {{.*}} layer "l2"
// CHECK-NEXT:    quant.dequantize
// CHECK-NEXT:    func.return
// PC-LABEL:    func.func private @spikecore_0
// PC:            quant.constant {{.*}} : tensor<3x4xi8> -> tensor<3x4x!quant.uniform<i8:f32:0, {{{.*}}, {{.*}}, {{.*}}}>>
// PC:            quant.dense {{.*}} layer "l0" : ({{.*}}) -> tensor<1x3x!quant.uniform<i32:f32:1, {{{.*}}}>>
// PC-NEXT:       quant.requantize {{.*}} multiplier array<i32: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}>
// PC:            quant.constant {{.*}} : tensor<3x3xi8> -> tensor<3x3x!quant.uniform<i8:f32:0, {{{.*}}, {{.*}}, {{.*}}}>>
// PC:            quant.dense {{.*}} layer "l1" : ({{.*}}) -> tensor<1x3x!quant.uniform<i32:f32:1, {{{.*}}}>>
// PC-NEXT:       quant.requantize {{.*}} multiplier array<i32: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}>
// PC:            quant.constant {{.*}} : tensor<2x3xi8> -> tensor<2x3x!quant.uniform<i8:f32, {{[^{]*}}>>
// PC:            quant.dense {{.*}} layer "l2" : ({{.*}}) -> tensor<1x2x!quant.uniform<i32:f32, {{[^{]*}}>>
// PC-NEXT:       quant.dequantize

// -----

// One weight constant shared by two layers: each layer gets its own int8 copy (the two have
// different input scales, so their biases and multipliers differ), and the float constant is gone.
func.func private @spikecore_0(%arg0: tensor<1x4xf32>) -> tensor<1x4xf32> attributes {codegen = "spikecore"} {
  %w = arith.constant dense<[[1.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.5]]> : tensor<4x4xf32>
  %h = nn.fused_dense %arg0, %w activation relu layer "a" : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  %y = nn.fused_dense %h, %w layer "b" : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  func.return %y : tensor<1x4xf32>
}
func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x4xf32> {
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %1 = func.call @spikecore_0(%0) : (tensor<1x4xf32>) -> tensor<1x4xf32>
  func.return %1 : tensor<1x4xf32>
}
// CHECK-LABEL: func.func private @spikecore_0
// CHECK-NOT:     arith.constant
// CHECK:         %[[WA:.*]] = quant.constant dense<{{\[\[}}64, 0, 0, 0], [0, 127, 0, 0], [0, 0, 64, 0], [0, 0, 0, 32]]> : tensor<4x4xi8>
// CHECK:         quant.dense %{{.*}}, %[[WA]], %{{.*}} layer "a"
// CHECK:         %[[WB:.*]] = quant.constant dense<{{\[\[}}64, 0, 0, 0], [0, 127, 0, 0], [0, 0, 64, 0], [0, 0, 0, 32]]> : tensor<4x4xi8>
// CHECK:         quant.dense %{{.*}}, %[[WB]], %{{.*}} layer "b"
// CHECK-NOT:     arith.constant

// -----

// Two regions separated by a host op: both are calibrated on what @main feeds them (the second on
// the host softmax's output, whose range is at most 1).
func.func private @spikecore_0(%arg0: tensor<1x4xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %y = nn.fused_dense %arg0, %w layer "first" : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  func.return %y : tensor<1x2xf32>
}
func.func private @spikecore_1(%arg0: tensor<1x2xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %w = arith.constant dense<0.5> : tensor<2x2xf32>
  %y = nn.fused_dense %arg0, %w layer "second" : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  func.return %y : tensor<1x2xf32>
}
func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x2xf32> {
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %1 = func.call @spikecore_0(%0) : (tensor<1x4xf32>) -> tensor<1x2xf32>
  %2 = nn.softmax %1 axis(-1) : tensor<1x2xf32>
  %3 = func.call @spikecore_1(%2) : (tensor<1x2xf32>) -> tensor<1x2xf32>
  func.return %3 : tensor<1x2xf32>
}
// CHECK-LABEL: func.func private @spikecore_0
// CHECK:         quant.dense {{.*}} layer "first"
// CHECK-LABEL: func.func private @spikecore_1
// CHECK-NEXT:    quant.quantize %arg0 : tensor<1x2xf32> -> tensor<1x2x!quant.uniform<i8:f32, 0.00{{[0-9]+}}>>
// CHECK:         quant.dense {{.*}} layer "second"
// CHECK-LABEL: func.func @main
// CHECK-NEXT:    nn.batch_flatten
// CHECK-NEXT:    func.call @spikecore_0
// CHECK-NEXT:    nn.softmax
// CHECK-NEXT:    func.call @spikecore_1

// -----

// No region: nothing to calibrate, and no calibration is needed.
func.func @main(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %0 = nn.relu %x : tensor<1x4xf32>
  func.return %0 : tensor<1x4xf32>
}
// CHECK-LABEL: func.func @main
// CHECK-NEXT:    nn.relu %x
