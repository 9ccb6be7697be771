// RUN: spike-opt %s -p 'spikecore-quantize{calibration="%S/Inputs/quantize_calibration.npy"}' | filecheck %s

// Per-tensor scales, max calibration. Inputs/quantize_calibration.npy holds 8 samples of
// linspace(-1, 1): the input range is 1.0, so s_in = 1/127; max|w0| = 1.0, so s_w0 = 1/127 and
// w0 = rint(127 * w) (0.2 -> 25, 0.4 -> 51, -0.6 -> -76, 0.8 -> 102); b0 = rint(b / (s_in * s_w0)),
// 0.1 * 127^2 = 1612.9 -> 1613. The hidden range 1.22097 gives s_1 = 0.0096139...; the multiplier
// s_in * s_w0 / s_1 = 0.0064494 = 1772686407 / 2^38. The last layer stays int32 and is dequantized.

func.func private @spikecore_0(%arg0: tensor<1x4xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %w0 = arith.constant dense<[[0.5, -0.25, 1.0, 0.0], [0.2, 0.4, -0.6, 0.8], [-1.0, 0.5, 0.25, -0.125]]> : tensor<3x4xf32>
  %b0 = arith.constant dense<[0.1, -0.2, 0.05]> : tensor<3xf32>
  %h = nn.fused_dense %arg0, %w0, %b0 activation relu layer "layers.0" : (tensor<1x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  %w1 = arith.constant dense<[[1.0, -1.0, 0.5], [-0.5, 0.25, 1.0]]> : tensor<2x3xf32>
  %b1 = arith.constant dense<[0.0, 0.3]> : tensor<2xf32>
  %y = nn.fused_dense %h, %w1, %b1 layer "layers.2" : (tensor<1x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  func.return %y : tensor<1x2xf32>
}
func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x2xf32> {
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %1 = func.call @spikecore_0(%0) : (tensor<1x4xf32>) -> tensor<1x2xf32>
  %2 = nn.softmax %1 axis(-1) : tensor<1x2xf32>
  func.return %2 : tensor<1x2xf32>
}

// CHECK-LABEL: func.func private @spikecore_0(%arg0: tensor<1x4xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
// CHECK-NEXT:    %[[X:.+]] = quant.quantize %arg0 : tensor<1x4xf32> -> tensor<1x4x!quant.uniform<i8:f32, 0.007874015748031496>>
// CHECK-NEXT:    %[[W0:.+]] = quant.constant dense<{{\[}}[64, -32, 127, 0], [25, 51, -76, 102], [-127, 64, 32, -16]]> : tensor<3x4xi8> -> tensor<3x4x!quant.uniform<i8:f32, 0.007874015748031496>>
// CHECK-NEXT:    %[[B0:.+]] = quant.constant dense<[1613, -3226, 806]> : tensor<3xi32> -> tensor<3x!quant.uniform<i32:f32, 6.200012400024799e-05>>
// CHECK-NEXT:    %[[A0:.+]] = quant.dense %[[X]], %[[W0]], %[[B0]] layer "layers.0" : ({{.*}}) -> tensor<1x3x!quant.uniform<i32:f32, 6.200012400024799e-05>>
// CHECK-NEXT:    %[[R0:.+]] = quant.requantize %[[A0]] multiplier array<i32: 1772686407> shift 38 : tensor<1x3x!quant.uniform<i32:f32, 6.200012400024799e-05>> -> tensor<1x3x!quant.uniform<i8:f32, 0.00961391944584884>>
// CHECK-NEXT:    %[[H:.+]] = quant.relu %[[R0]] : tensor<1x3x!quant.uniform<i8:f32, 0.00961391944584884>>
// CHECK-NEXT:    %[[W1:.+]] = quant.constant dense<{{\[}}[127, -127, 64], [-64, 32, 127]]> : tensor<2x3xi8> -> tensor<2x3x!quant.uniform<i8:f32, 0.007874015748031496>>
// CHECK-NEXT:    %[[B1:.+]] = quant.constant dense<[0, 3963]> : tensor<2xi32> -> tensor<2x!quant.uniform<i32:f32, 7.570015311692e-05>>
// CHECK-NEXT:    %[[A1:.+]] = quant.dense %[[H]], %[[W1]], %[[B1]] layer "layers.2" : ({{.*}}) -> tensor<1x2x!quant.uniform<i32:f32, 7.570015311692e-05>>
// CHECK-NEXT:    %[[Y:.+]] = quant.dequantize %[[A1]] : tensor<1x2x!quant.uniform<i32:f32, 7.570015311692e-05>> -> tensor<1x2xf32>
// CHECK-NEXT:    func.return %[[Y]] : tensor<1x2xf32>
// CHECK-NEXT:  }

// The host is untouched.
// CHECK-LABEL: func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x2xf32> {
// CHECK-NEXT:    %0 = nn.batch_flatten %x
// CHECK-NEXT:    %1 = func.call @spikecore_0(%0)
// CHECK-NEXT:    %2 = nn.softmax %1 axis(-1)
// CHECK-NEXT:    func.return %2
