// f16 models compute in numpy's float16 and compile; bf16 (no numpy type) is a located error naming
// the layer and the type, not an internal TypeError.
// RUN: spike-opt %s -p 'spikecore-pipeline{calibration="%S/Inputs/pipeline_calibration.npy"}' 2>&1 | filecheck %s
// RUN: sed 's/f16/bf16/g' %s > %t.mlir
// RUN: not spike-opt %t.mlir -p 'spikecore-pipeline{calibration="%S/Inputs/pipeline_calibration.npy"}' 2>&1 | filecheck %s --check-prefix=BF16

func.func @main(%x: tensor<1x1x2x2xf16>) -> tensor<1x2xf16> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5], [-1.0, 0.0, 1.0, 0.0]]> : tensor<3x4xf16>
  %b = arith.constant dense<[0.1, 0.2, 0.3]> : tensor<3xf16>
  %w1 = arith.constant dense<[[1.0, 2.0, 3.0], [0.5, -0.5, 0.5]]> : tensor<2x3xf16>
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf16> -> tensor<1x4xf16>
  %1 = nn.dense %0, %w layer "fc1" : (tensor<1x4xf16>, tensor<3x4xf16>) -> tensor<1x3xf16>
  %2 = nn.bias_add %1, %b : (tensor<1x3xf16>, tensor<3xf16>) -> tensor<1x3xf16>
  %3 = nn.relu %2 : tensor<1x3xf16>
  %4 = nn.dense %3, %w1 layer "fc2" : (tensor<1x3xf16>, tensor<2x3xf16>) -> tensor<1x2xf16>
  func.return %4 : tensor<1x2xf16>
}

// CHECK: spikecore.launch
// CHECK-NOT: error
// BF16: element-types.mlir.tmp.mlir:12:3: error: fc1: the weight of nn.fused_dense: element type bf16 is not supported
// BF16-NOT: Traceback
