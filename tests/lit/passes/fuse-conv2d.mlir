// nn-fuse-conv2d forms one nn.fused_conv2d per layer (conv2d + bias_add along axis 1 + relu), keeping the
// conv's geometry and layer name, and stops at an intermediate value with another use.
// RUN: spike-opt %s --split-input-file -p nn-fuse-conv2d | filecheck %s

func.func @conv_bias_relu(%x: tensor<1x2x6x6xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x3x3xf32> {
  %0 = nn.conv2d %x, %w strides [2, 2] padding [1, 1] layer "features.0" : (tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x3x3xf32>
  %1 = nn.bias_add %0, %b axis(1) : (tensor<1x4x3x3xf32>, tensor<4xf32>) -> tensor<1x4x3x3xf32>
  %2 = nn.relu %1 : tensor<1x4x3x3xf32>
  func.return %2 : tensor<1x4x3x3xf32>
}
// CHECK-LABEL: func.func @conv_bias_relu
// CHECK-NEXT:    %0 = nn.fused_conv2d %x, %w, %b activation relu strides [2, 2] padding [1, 1] layer "features.0" : (tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x3x3xf32>
// CHECK-NEXT:    func.return %0

// -----

// conv + relu without bias; a grouped conv alone.
func.func @no_bias(%x: tensor<1x2x6x6xf32>, %w: tensor<4x2x3x3xf32>, %g: tensor<4x2x1x1xf32>) -> tensor<1x4x4x4xf32> {
  %0 = nn.conv2d %x, %w : (tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x4x4xf32>
  %1 = nn.relu %0 : tensor<1x4x4x4xf32>
  %2 = nn.conv2d %1, %g groups 2 : (tensor<1x4x4x4xf32>, tensor<4x2x1x1xf32>) -> tensor<1x4x4x4xf32>
  func.return %2 : tensor<1x4x4x4xf32>
}
// CHECK-LABEL: func.func @no_bias
// CHECK-NEXT:    %0 = nn.fused_conv2d %x, %w activation relu : (tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x4x4xf32>
// CHECK-NEXT:    %1 = nn.fused_conv2d %0, %g groups 2 : (tensor<1x4x4x4xf32>, tensor<4x2x1x1xf32>) -> tensor<1x4x4x4xf32>
// CHECK-NEXT:    func.return %1

// -----

// A bias along the last axis is not a conv bias: the chain stops at the conv.
func.func @last_axis_bias(%x: tensor<1x2x6x6xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x4x4xf32> {
  %0 = nn.conv2d %x, %w : (tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x4x4xf32>
  %1 = nn.bias_add %0, %b : (tensor<1x4x4x4xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  func.return %1 : tensor<1x4x4x4xf32>
}
// CHECK-LABEL: func.func @last_axis_bias
// CHECK-NEXT:    %0 = nn.fused_conv2d %x, %w : (tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x4x4xf32>
// CHECK-NEXT:    %1 = nn.bias_add %0, %b : (tensor<1x4x4x4xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>

// -----

// The pre-activation is also returned (a skip connection reads it): the relu stays apart.
func.func @shared(%x: tensor<1x2x6x6xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<4xf32>) -> (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) {
  %0 = nn.conv2d %x, %w : (tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x4x4xf32>
  %1 = nn.bias_add %0, %b axis(1) : (tensor<1x4x4x4xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  %2 = nn.relu %1 : tensor<1x4x4x4xf32>
  func.return %1, %2 : tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>
}
// CHECK-LABEL: func.func @shared
// CHECK-NEXT:    %0 = nn.fused_conv2d %x, %w, %b : (tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
// CHECK-NEXT:    %1 = nn.relu %0 : tensor<1x4x4x4xf32>
