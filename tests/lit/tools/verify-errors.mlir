// A verification failure names the failing op's line and column; with --split-input-file the line
// counts from the start of the whole file.
// RUN: not spike-opt %s --split-input-file 2>&1 | filecheck %s

func.func @fine(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  func.return %x : tensor<1x4xf32>
}

// -----

func.func @bad(%x: tensor<1x4xf32>, %w: tensor<3x5xf32>) -> tensor<1x3xf32> {
  %0 = nn.relu %x : tensor<1x4xf32>
  %1 = nn.dense %0, %w : (tensor<1x4xf32>, tensor<3x5xf32>) -> tensor<1x3xf32>
  func.return %1 : tensor<1x3xf32>
}

// CHECK: verify-errors.mlir:13:3: error: 'nn.dense' input has 4 features but the weight expects 5 (weight shape [3, 5])
// CHECK-NOT: Traceback
