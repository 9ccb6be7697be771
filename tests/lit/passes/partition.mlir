// RUN: spike-opt %s -p partition-for-spikecore 2>/dev/null | filecheck %s
// RUN: spike-opt %s -p partition-for-spikecore --remarks 2>&1 >/dev/null | filecheck %s --check-prefix=REMARK
// RUN: spike-opt %s -p partition-for-spikecore 2>&1 >/dev/null | filecheck %s --check-prefix=QUIET --allow-empty

// A chain of two fused layers is outlined with its weights; the layout op and the softmax stay on
// the host, each with its reason. The chain's last layer has a ReLU: the region outputs the raw
// accumulator and the ReLU follows the call on the host.

func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x2xf32> {
  %w0 = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5], [-1.0, 0.0, 1.0, 0.0]]> : tensor<3x4xf32>
  %b0 = arith.constant dense<[0.1, 0.2, 0.3]> : tensor<3xf32>
  %w1 = arith.constant dense<[[1.0, 2.0, 3.0], [0.5, -0.5, 0.5]]> : tensor<2x3xf32>
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %1 = nn.fused_dense %0, %w0, %b0 activation relu layer "layers.0" : (tensor<1x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  %2 = nn.fused_dense %1, %w1 activation relu layer "layers.2" : (tensor<1x3xf32>, tensor<2x3xf32>) -> tensor<1x2xf32>
  %3 = nn.softmax %2 axis(-1) : tensor<1x2xf32>
  func.return %3 : tensor<1x2xf32>
}

// CHECK:      func.func private @spikecore_0(%[[ARG:.*]]: tensor<1x4xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
// CHECK-NEXT:   %[[W0:.*]] = arith.constant {{.*}} : tensor<3x4xf32>
// CHECK-NEXT:   %[[B0:.*]] = arith.constant {{.*}} : tensor<3xf32>
// CHECK-NEXT:   %[[W1:.*]] = arith.constant {{.*}} : tensor<2x3xf32>
// CHECK-NEXT:   %[[L0:.*]] = nn.fused_dense %[[ARG]], %[[W0]], %[[B0]] activation relu layer "layers.0"
// CHECK-NEXT:   %[[L1:.*]] = nn.fused_dense %[[L0]], %[[W1]] layer "layers.2"
// CHECK-NEXT:   func.return %[[L1]] : tensor<1x2xf32>
// CHECK-NEXT: }
// CHECK:      func.func @main
// CHECK-NOT:    arith.constant
// CHECK:        %[[F:.*]] = nn.batch_flatten %{{.*}} {host_reason = "layout only, no arithmetic"}
// CHECK-NEXT:   %[[C:.*]] = func.call @spikecore_0(%[[F]]) : (tensor<1x4xf32>) -> tensor<1x2xf32>
// CHECK-NEXT:   %[[R:.*]] = nn.relu %[[C]] {host_reason = "a region's output is its last layer's accumulator, before the ReLU"}
// CHECK-NEXT:   %[[S:.*]] = nn.softmax %[[R]] axis(-1) {host_reason = "needs exp and a division, which SpikeCore does not have"}
// CHECK-NEXT:   func.return %[[S]]

// REMARK:      remark: nn.batch_flatten stays on the host: layout only, no arithmetic
// REMARK-NEXT: remark: nn.relu stays on the host: a region's output is its last layer's accumulator, before the ReLU
// REMARK-NEXT: remark: nn.softmax stays on the host: needs exp and a division, which SpikeCore does not have
// QUIET-NOT: remark
