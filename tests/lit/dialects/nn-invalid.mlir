// The nn verifiers reject malformed layers with messages that name the problem. (An unknown activation
// is rejected while parsing: enum-invalid.mlir.)
// RUN: spike-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @dense_features(%x: tensor<1x4xf32>, %w: tensor<3x5xf32>) -> tensor<1x3xf32> {
  %0 = nn.dense %x, %w : (tensor<1x4xf32>, tensor<3x5xf32>) -> tensor<1x3xf32>
  func.return %0 : tensor<1x3xf32>
}
// CHECK: 'nn.dense' input has 4 features but the weight expects 5 (weight shape [3, 5])

// -----

func.func @dense_result(%x: tensor<1x4xf32>, %w: tensor<3x4xf32>) -> tensor<1x2xf32> {
  %0 = nn.dense %x, %w : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x2xf32>
  func.return %0 : tensor<1x2xf32>
}
// CHECK: 'nn.dense' result must have shape [1, 3], got [1, 2]

// -----

func.func @dense_rank(%x: tensor<4xf32>, %w: tensor<3x4xf32>) -> tensor<1x3xf32> {
  %0 = nn.dense %x, %w : (tensor<4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  func.return %0 : tensor<1x3xf32>
}
// CHECK: 'nn.dense' expects a 2-D input [batch, features], got shape [4]

// -----

func.func @bias_shape(%x: tensor<1x3xf32>, %b: tensor<4xf32>) -> tensor<1x3xf32> {
  %0 = nn.bias_add %x, %b : (tensor<1x3xf32>, tensor<4xf32>) -> tensor<1x3xf32>
  func.return %0 : tensor<1x3xf32>
}
// CHECK: 'nn.bias_add' bias must have shape [3] to match the input's last axis, got [4]

// -----

func.func @bias_result_type(%x: tensor<1x3xf32>, %b: tensor<3xf32>) -> tensor<1x3xf64> {
  %0 = "nn.bias_add"(%x, %b) : (tensor<1x3xf32>, tensor<3xf32>) -> tensor<1x3xf64>
  func.return %0 : tensor<1x3xf64>
}
// CHECK: attribute tensor<1x3xf32> expected from variable 'T', but got tensor<1x3xf64>

// -----

func.func @fused_bias(%x: tensor<1x4xf32>, %w: tensor<3x4xf32>, %b: tensor<2xf32>) -> tensor<1x3xf32> {
  %0 = nn.fused_dense %x, %w, %b : (tensor<1x4xf32>, tensor<3x4xf32>, tensor<2xf32>) -> tensor<1x3xf32>
  func.return %0 : tensor<1x3xf32>
}
// CHECK: 'nn.fused_dense' bias must have shape [3], got [2]

// -----

func.func @flatten_batch(%x: tensor<2x3x4xf32>) -> tensor<1x24xf32> {
  %0 = nn.batch_flatten %x : tensor<2x3x4xf32> -> tensor<1x24xf32>
  func.return %0 : tensor<1x24xf32>
}
// CHECK: 'nn.batch_flatten' must produce [2, 12], got [1, 24]

// -----

func.func @reshape_count(%x: tensor<1x4xf32>) -> tensor<5xf32> {
  %0 = nn.reshape %x : tensor<1x4xf32> -> tensor<5xf32>
  func.return %0 : tensor<5xf32>
}
// CHECK: 'nn.reshape' cannot change the element count: [1, 4] has 4 elements, [5] has 5

// -----

func.func @reshape_element(%x: tensor<1x4xf32>) -> tensor<4xf64> {
  %0 = nn.reshape %x : tensor<1x4xf32> -> tensor<4xf64>
  func.return %0 : tensor<4xf64>
}
// CHECK: 'nn.reshape' must keep the element type

// -----

func.func @softmax_axis(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %0 = nn.softmax %x axis(2) : tensor<1x4xf32>
  func.return %0 : tensor<1x4xf32>
}
// CHECK: 'nn.softmax' axis 2 is out of range for a rank-2 input
