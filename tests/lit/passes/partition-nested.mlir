// Layers nested in another op's region (here scf.if) stay on the host with a remark saying why;
// partition outlines only ops directly in a function's body (no crash, no region formed).
// RUN: spike-opt %s -p nn-fuse-dense,partition-for-spikecore --remarks 2>&1 | filecheck %s

func.func @main(%x: tensor<1x4xf32>, %c: i1) -> tensor<1x3xf32> {
  %w = arith.constant dense<1.0> : tensor<3x4xf32>
  %r = scf.if %c -> (tensor<1x3xf32>) {
    %1 = nn.dense %x, %w layer "inner" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
    scf.yield %1 : tensor<1x3xf32>
  } else {
    %2 = nn.dense %x, %w layer "other" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
    scf.yield %2 : tensor<1x3xf32>
  }
  func.return %r : tensor<1x3xf32>
}

// CHECK: remark: nn.fused_dense "inner" stays on the host: it is nested in scf.if: only ops directly in a function's body are offloaded
// CHECK: remark: nn.fused_dense "other" stays on the host: it is nested in scf.if
// CHECK-NOT: codegen = "spikecore"
// CHECK: scf.if
