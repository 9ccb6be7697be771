// The nn passes (nn-fuse-dense, nn-fold-reshapes, partition-for-spikecore) never see invalid IR: the
// input is verified first, the pass does not run, and the message names the op and the problem.
// RUN: spike-opt %s --split-input-file -p nn-fuse-dense --verify-diagnostics | filecheck %s
// RUN: spike-opt %s --split-input-file -p nn-fold-reshapes --verify-diagnostics | filecheck %s
// RUN: spike-opt %s --split-input-file -p partition-for-spikecore --verify-diagnostics | filecheck %s
// Without --verify-diagnostics the first invalid op is a located error with exit status 1:
// RUN: not spike-opt %s --split-input-file -p nn-fuse-dense 2>&1 | filecheck %s --check-prefix=CLI

// A dense whose weight does not match its input would fuse into an equally wrong fused_dense.
func.func @dense_features(%x: tensor<1x4xf32>, %w: tensor<3x5xf32>, %b: tensor<3xf32>) -> tensor<1x3xf32> {
  %0 = nn.dense %x, %w : (tensor<1x4xf32>, tensor<3x5xf32>) -> tensor<1x3xf32>
  %1 = nn.bias_add %0, %b : (tensor<1x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  func.return %1 : tensor<1x3xf32>
}
// CHECK:     'nn.dense' input has 4 features but the weight expects 5 (weight shape [3, 5])
// CHECK-NOT: nn.fused_dense
// CHECK:     "nn.bias_add"
// CLI:       nn-passes-invalid.mlir:11:3: error: 'nn.dense' input has 4 features but the weight expects 5

// -----

// A reshape that changes the element count cannot be composed with the flatten after it.
func.func @reshape_count(%x: tensor<1x2x2xf32>) -> tensor<1x5xf32> {
  %0 = nn.reshape %x : tensor<1x2x2xf32> -> tensor<1x5xf32>
  %1 = nn.batch_flatten %0 : tensor<1x5xf32> -> tensor<1x5xf32>
  func.return %1 : tensor<1x5xf32>
}
// CHECK:     'nn.reshape' cannot change the element count: [1, 2, 2] has 4 elements, [1, 5] has 5
// CHECK:     "nn.reshape"
// CHECK:     "nn.batch_flatten"
