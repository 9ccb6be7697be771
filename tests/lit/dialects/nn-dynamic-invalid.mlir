// Dynamic dimensions: only the batch axis may be `?`, and messages print it as `?` (not as
// -9223372036854775808 or a negative element count).
// RUN: spike-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @count(%x: tensor<?x1x2x2xf32>) -> tensor<?x5xf32> {
  %0 = nn.reshape %x : tensor<?x1x2x2xf32> -> tensor<?x5xf32>
  func.return %0 : tensor<?x5xf32>
}
// CHECK: 'nn.reshape' cannot change the element count: [?, 1, 2, 2] has 4 elements per sample, [?, 5] has 5

// -----

func.func @inner(%x: tensor<1x?x2x2xf32>) -> tensor<1x4xf32> {
  %0 = nn.reshape %x : tensor<1x?x2x2xf32> -> tensor<1x4xf32>
  func.return %0 : tensor<1x4xf32>
}
// CHECK: 'nn.reshape' supports a dynamic dimension only on the batch axis, got [1, ?, 2, 2] -> [1, 4]

// -----

func.func @batch(%x: tensor<?x1x2x2xf32>) -> tensor<1x4xf32> {
  %0 = nn.batch_flatten %x : tensor<?x1x2x2xf32> -> tensor<1x4xf32>
  func.return %0 : tensor<1x4xf32>
}
// CHECK: 'nn.batch_flatten' must keep a dynamic batch axis dynamic, got [?, 1, 2, 2] -> [1, 4]

// -----

func.func @dense(%x: tensor<?x4xf32>, %w: tensor<3x4xf32>) -> tensor<?x2xf32> {
  %0 = nn.dense %x, %w : (tensor<?x4xf32>, tensor<3x4xf32>) -> tensor<?x2xf32>
  func.return %0 : tensor<?x2xf32>
}
// CHECK: 'nn.dense' result must have shape [?, 3], got [?, 2]
// CHECK-NOT: 9223372036854775808
