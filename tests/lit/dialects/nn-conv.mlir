// The convolutional nn ops survive printing and parsing, custom and generic, with both tools: conv2d and
// fused_conv2d (stride, padding, dilation, groups; defaults are not printed), pool2d of every kind (and
// global average pooling as a window as large as the map), add, concat, batch_norm, bias_add along axis 1.
// RUN: spike-opt %s | spike-opt | filecheck %s
// RUN: SPIKE_ROUNDTRIP
// RUN: SPIKE_GENERIC_ROUNDTRIP
// RUN: XDSL_ROUNDTRIP

func.func @main(%x: tensor<1x2x8x8xf32>, %w: tensor<4x2x3x3xf32>, %wg: tensor<4x1x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x1x1xf32> {
  %0 = nn.conv2d %x, %w padding [1, 1] layer "c1" : (tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x8x8xf32>
  %1 = nn.bias_add %0, %b axis(1) : (tensor<1x4x8x8xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  %2 = nn.conv2d %x, %wg strides [2, 1] dilation [2, 2] groups 2 : (tensor<1x2x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x2x4xf32>
  %3 = nn.fused_conv2d %x, %w, %b activation relu strides [2, 2] layer "c2" : (tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x3x3xf32>
  %4 = nn.fused_conv2d %x, %w strides [1, 1] padding [0, 0] : (tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  %5 = nn.pool2d avg %1 kernel [2, 2] strides [2, 2] : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
  %6 = nn.pool2d sum %1 kernel [3, 3] strides [2, 2] padding [1, 1] layer "p" : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
  %7 = nn.pool2d max %1 kernel [2, 2] strides [1, 1] : tensor<1x4x8x8xf32> -> tensor<1x4x7x7xf32>
  %8 = nn.add %5, %6 : tensor<1x4x4x4xf32>
  %9 = nn.concat %8, %5, %6 axis(1) : (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) -> tensor<1x12x4x4xf32>
  %10 = nn.batch_norm %3, %b, %b, %b, %b epsilon(1.0e-05) layer "bn" : (tensor<1x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x3x3xf32>
  %11 = nn.pool2d avg %10 kernel [3, 3] strides [3, 3] : tensor<1x4x3x3xf32> -> tensor<1x4x1x1xf32>
  func.return %11 : tensor<1x4x1x1xf32>
}

// CHECK:      %0 = nn.conv2d %x, %w padding [1, 1] layer "c1" : (tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x8x8xf32>
// CHECK-NEXT: %1 = nn.bias_add %0, %b axis(1) : (tensor<1x4x8x8xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
// CHECK-NEXT: %2 = nn.conv2d %x, %wg strides [2, 1] dilation [2, 2] groups 2 : (tensor<1x2x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x2x4xf32>
// CHECK-NEXT: %3 = nn.fused_conv2d %x, %w, %b activation relu strides [2, 2] layer "c2" : (tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x3x3xf32>
// CHECK-NEXT: %4 = nn.fused_conv2d %x, %w : (tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32>
// CHECK-NEXT: %5 = nn.pool2d avg %1 kernel [2, 2] strides [2, 2] : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
// CHECK-NEXT: %6 = nn.pool2d sum %1 kernel [3, 3] strides [2, 2] padding [1, 1] layer "p" : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
// CHECK-NEXT: %7 = nn.pool2d max %1 kernel [2, 2] strides [1, 1] : tensor<1x4x8x8xf32> -> tensor<1x4x7x7xf32>
// CHECK-NEXT: %8 = nn.add %5, %6 : tensor<1x4x4x4xf32>
// CHECK-NEXT: %9 = nn.concat %8, %5, %6 axis(1) : (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) -> tensor<1x12x4x4xf32>
// CHECK-NEXT: %10 = nn.batch_norm %3, %b, %b, %b, %b epsilon(1.000000e-05) layer "bn" : (tensor<1x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x3x3xf32>
// CHECK-NEXT: %11 = nn.pool2d avg %10 kernel [3, 3] strides [3, 3] : tensor<1x4x3x3xf32> -> tensor<1x4x1x1xf32>

// CHECK-GENERIC:      %0 = "nn.conv2d"(%x, %w) <{padding = array<i64: 1, 1>, layer = "c1", strides = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64}>
// CHECK-GENERIC-NEXT: %1 = "nn.bias_add"(%0, %b) <{axis = 1 : i64}>
// CHECK-GENERIC:      "nn.pool2d"(%1) <{{.*}}kind = #nn<pool_kind avg>{{.*}}}>
// CHECK-GENERIC:      "nn.batch_norm"(%3, %b, %b, %b, %b) <{{.*}}epsilon = 1.000000e-05 : f64{{.*}}}>
