// partition-for-spikecore on the cases that are easy to get wrong.
// RUN: spike-opt %s --split-input-file -p partition-for-spikecore | filecheck %s
// Run twice, the second run outlines nothing more and keeps every label:
// RUN: spike-opt %s --split-input-file -p partition-for-spikecore,partition-for-spikecore | filecheck %s

// The module already has a function named @spikecore_0: the region gets the next free name.
func.func @spikecore_0(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  func.return %x : tensor<1x2xf32>
}
func.func @main(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x2xf32>
  %0 = func.call @spikecore_0(%x) : (tensor<1x2xf32>) -> tensor<1x2xf32>
  %1 = nn.fused_dense %0, %w layer "fc" : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  func.return %1 : tensor<1x2xf32>
}
// CHECK-LABEL: func.func @spikecore_0(
// CHECK:       func.func private @spikecore_1(%{{.*}}: tensor<1x2xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
// CHECK:         nn.fused_dense {{.*}} layer "fc"
// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %0 = func.call @spikecore_0(%x) {host_reason = "a call of a host function"}
// CHECK-NEXT:    %1 = func.call @spikecore_1(%0) : (tensor<1x2xf32>) -> tensor<1x2xf32>
// CHECK-NEXT:    func.return %1

// -----

// One weight constant shared by the two layers of a chain: the region gets one copy, used twice,
// and the host's copy, now unused, is gone.
func.func @main(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[1.0, -1.0], [0.5, 2.0]]> : tensor<2x2xf32>
  %0 = nn.fused_dense %x, %w activation relu layer "a" : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %1 = nn.fused_dense %0, %w layer "b" : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  func.return %1 : tensor<1x2xf32>
}
// CHECK:       func.func private @spikecore_0(%[[ARG:.*]]: tensor<1x2xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
// CHECK-NEXT:    %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<2x2xf32>
// CHECK-NEXT:    %[[A:.*]] = nn.fused_dense %[[ARG]], %[[W]] activation relu layer "a"
// CHECK-NEXT:    %[[B:.*]] = nn.fused_dense %[[A]], %[[W]] layer "b"
// CHECK-NEXT:    func.return %[[B]]
// CHECK-LABEL: func.func @main
// CHECK-NOT:     arith.constant
// CHECK-NEXT:    %0 = func.call @spikecore_0(%x)
// CHECK-NEXT:    func.return %0

// -----

// A layer result with a second use (here returned too) ends its chain: two regions, and the first
// region's output feeds both the host and the second region.
func.func @main(%x: tensor<1x2xf32>) -> (tensor<1x2xf32>, tensor<1x2xf32>) {
  %w = arith.constant dense<1.0> : tensor<2x2xf32>
  %v = arith.constant dense<2.0> : tensor<2x2xf32>
  %0 = nn.fused_dense %x, %w layer "a" : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %1 = nn.fused_dense %0, %v layer "b" : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  func.return %0, %1 : tensor<1x2xf32>, tensor<1x2xf32>
}
// CHECK:       func.func private @spikecore_0({{.*}}) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
// CHECK:         nn.fused_dense {{.*}} layer "a"
// CHECK-NOT:     layer "b"
// CHECK:       func.func private @spikecore_1({{.*}}) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
// CHECK:         nn.fused_dense {{.*}} layer "b"
// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %0 = func.call @spikecore_0(%x)
// CHECK-NEXT:    %1 = func.call @spikecore_1(%0)
// CHECK-NEXT:    func.return %0, %1

// -----

// Layers in two host functions: each function's chain is a region of its own, called from where the
// layers were.
func.func @helper(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x2xf32>
  %0 = nn.fused_dense %x, %w layer "in_helper" : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  func.return %0 : tensor<1x2xf32>
}
func.func @main(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<3.0> : tensor<2x2xf32>
  %0 = func.call @helper(%x) : (tensor<1x2xf32>) -> tensor<1x2xf32>
  %1 = nn.fused_dense %0, %w layer "in_main" : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  func.return %1 : tensor<1x2xf32>
}
// CHECK:       func.func private @[[R0:spikecore_[01]]]({{.*}}) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
// CHECK:         nn.fused_dense {{.*}} layer "in_helper"
// CHECK-LABEL: func.func @helper
// CHECK-NEXT:    %0 = func.call @[[R0]](%x)
// CHECK:       func.func private @[[R1:spikecore_[01]]]({{.*}}) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
// CHECK:         nn.fused_dense {{.*}} layer "in_main"
// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %0 = func.call @helper(%x) {host_reason = "a call of a host function"}
// CHECK-NEXT:    %1 = func.call @[[R1]](%0)

// -----

// Nothing to offload: a softmax alone stays on the host, labelled, and no region appears.
func.func @main(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %0 = nn.softmax %x axis(-1) : tensor<1x2xf32>
  func.return %0 : tensor<1x2xf32>
}
// CHECK-NOT:   codegen
// CHECK-LABEL: func.func @main
// CHECK-NEXT:    nn.softmax %x axis(-1) {host_reason = "needs exp and a division, which SpikeCore does not have"}
