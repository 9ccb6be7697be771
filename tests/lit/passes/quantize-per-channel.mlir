// RUN: spike-opt %s -p 'spikecore-quantize{calibration="%S/Inputs/quantize_calibration.npy" per-channel=true method=percentile percentile=90.0}' | filecheck %s

// Per-channel weight scales along axis 0 (row 1 has max|w| = 0.8, so its scale is 0.8/127) with
// one multiplier per channel and a common shift; the accumulator's scales vary along its axis 1.
// The percentile calibration (the 90th percentile of |x| is 0.929, against a max of 1.0) gives a smaller input scale than max.
// The region's last layer keeps one weight scale.

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

// CHECK:      %[[X:.+]] = quant.quantize %arg0 : tensor<1x4xf32> -> tensor<1x4x!quant.uniform<i8:f32, 0.0073{{[0-9]+}}>>
// CHECK-NEXT: %[[W0:.+]] = quant.constant dense<{{\[}}[64, -32, 127, 0], [32, 63, -95, 127], [-127, 64, 32, -16]]> : tensor<3x4xi8> -> tensor<3x4x!quant.uniform<i8:f32:0, {0.007874015748031496, 0.00629921269229078, 0.007874015748031496}>>
// CHECK-NEXT: %[[B0:.+]] = quant.constant dense<[{{.*}}]> : tensor<3xi32> -> tensor<3x!quant.uniform<i32:f32:0, {[[S0:.+]], [[S1:.+]], [[S0]]}>>
// CHECK-NEXT: %[[A0:.+]] = quant.dense %[[X]], %[[W0]], %[[B0]] layer "layers.0" : ({{.*}}) -> tensor<1x3x!quant.uniform<i32:f32:1, {[[S0]], [[S1]], [[S0]]}>>
// CHECK-NEXT: %[[R0:.+]] = quant.requantize %[[A0]] multiplier array<i32: [[M0:[0-9]+]], {{[0-9]+}}, [[M0]]> shift {{[0-9]+}}
// CHECK-NEXT: %[[H:.+]] = quant.relu %[[R0]]
// CHECK-NEXT: %[[W1:.+]] = quant.constant dense<{{\[}}[127, -127, 64], [-64, 32, 127]]> : tensor<2x3xi8> -> tensor<2x3x!quant.uniform<i8:f32, 0.007874015748031496>>
// CHECK-NEXT: %[[B1:.+]] = quant.constant
// CHECK-NEXT: %[[A1:.+]] = quant.dense %[[H]], %[[W1]], %[[B1]] layer "layers.2"
// CHECK-NEXT: %[[Y:.+]] = quant.dequantize %[[A1]]
// CHECK-NEXT: func.return %[[Y]]
