// RUN: spike-opt %s -p partition-for-spikecore 2>/dev/null | filecheck %s
// RUN: spike-opt %s -p partition-for-spikecore --remarks 2>&1 >/dev/null | filecheck %s --check-prefix=REMARK
// RUN: spike-opt %s -p partition-for-spikecore 2>&1 >/dev/null | filecheck %s --check-prefix=QUIET --allow-empty

// What cannot be offloaded stays on the host and says why: a layer whose weight is an unbound
// argument, and an unfused dense. A host op between two layers splits them into two regions, and a
// constant the host still uses stays on the host (the region gets its own copy).

func.func @main(%x: tensor<1x4xf32>, %wa: tensor<3x4xf32>) -> tensor<1x3xf32> {
  %w0 = arith.constant dense<1.0> : tensor<3x4xf32>
  %w1 = arith.constant dense<2.0> : tensor<3x3xf32>
  %0 = nn.fused_dense %x, %wa layer "unbound" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %1 = nn.dense %x, %w0 layer "plain" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %2 = nn.fused_dense %x, %w0 layer "a" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %3 = nn.softmax %2 axis(-1) : tensor<1x3xf32>
  %4 = nn.fused_dense %3, %w1 layer "b" : (tensor<1x3xf32>, tensor<3x3xf32>) -> tensor<1x3xf32>
  func.return %4 : tensor<1x3xf32>
}

// CHECK:      func.func private @spikecore_0({{.*}}) -> tensor<1x3xf32> attributes {codegen = "spikecore"} {
// CHECK:        nn.fused_dense {{.*}} layer "a"
// CHECK:      func.func private @spikecore_1({{.*}}) -> tensor<1x3xf32> attributes {codegen = "spikecore"} {
// CHECK:        nn.fused_dense {{.*}} layer "b"
// CHECK:      func.func @main
// CHECK-NEXT:   %[[W0:.*]] = arith.constant dense<1.000000e+00> : tensor<3x4xf32>
// CHECK-NEXT:   nn.fused_dense %x, %wa layer "unbound" {host_reason = "its weights are not constants: bind the parameters before compiling"}
// CHECK-NEXT:   nn.dense %x, %[[W0]] layer "plain" {host_reason = "not fused into nn.fused_dense
// CHECK-NEXT:   func.call @spikecore_0(%x)
// CHECK-NEXT:   nn.softmax
// CHECK-NEXT:   func.call @spikecore_1(

// REMARK:      remark: nn.fused_dense "unbound" stays on the host: its weights are not constants
// REMARK-NEXT: remark: nn.dense "plain" stays on the host: not fused into nn.fused_dense
// REMARK-NEXT: remark: nn.softmax stays on the host: needs exp
// QUIET-NOT: remark
