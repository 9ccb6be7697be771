// RUN: spike-opt %s --split-input-file -p partition-for-spikecore 2>/dev/null | filecheck %s
// RUN: spike-opt %s --split-input-file -p partition-for-spikecore --remarks 2>&1 >/dev/null | filecheck %s --check-prefix=REMARK

// A CNN (fused conv, average pool, flatten, dense) is one region.
func.func @cnn(%x: tensor<1x1x6x6xf32>) -> tensor<1x2xf32> {
  %k = arith.constant dense<0.5> : tensor<2x1x3x3xf32>
  %w = arith.constant dense<0.25> : tensor<2x8xf32>
  %0 = nn.fused_conv2d %x, %k activation relu layer "c1" : (tensor<1x1x6x6xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x4x4xf32>
  %1 = nn.pool2d avg %0 kernel [2, 2] strides [2, 2] : tensor<1x2x4x4xf32> -> tensor<1x2x2x2xf32>
  %2 = nn.batch_flatten %1 : tensor<1x2x2x2xf32> -> tensor<1x8xf32>
  %3 = nn.fused_dense %2, %w layer "fc" : (tensor<1x8xf32>, tensor<2x8xf32>) -> tensor<1x2xf32>
  func.return %3 : tensor<1x2xf32>
}
// CHECK-LABEL: func.func private @spikecore_0(%{{.*}}: tensor<1x1x6x6xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"}
// CHECK:         nn.fused_conv2d {{.*}} activation relu layer "c1"
// CHECK-NEXT:    nn.pool2d avg
// CHECK-NEXT:    nn.batch_flatten
// CHECK-NEXT:    nn.fused_dense {{.*}} layer "fc"
// CHECK-LABEL: func.func @cnn
// CHECK-NEXT:    %0 = func.call @spikecore_0(%x)
// CHECK-NEXT:    func.return %0

// -----

// A ResNet basic block: its input feeds the first conv and the add; add + relu, then a conv ending in
// a ReLU that moves to the host.
func.func @block(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %k = arith.constant dense<0.1> : tensor<2x2x3x3xf32>
  %0 = nn.fused_conv2d %x, %k activation relu padding [1, 1] layer "conv1" : (tensor<1x2x4x4xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x4x4xf32>
  %1 = nn.fused_conv2d %0, %k padding [1, 1] layer "conv2" : (tensor<1x2x4x4xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x4x4xf32>
  %2 = nn.add %1, %x : tensor<1x2x4x4xf32>
  %3 = nn.relu %2 : tensor<1x2x4x4xf32>
  %4 = nn.fused_conv2d %3, %k activation relu padding [1, 1] layer "conv3" : (tensor<1x2x4x4xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x4x4xf32>
  func.return %4 : tensor<1x2x4x4xf32>
}
// CHECK-LABEL: func.func private @spikecore_0
// CHECK:         nn.fused_conv2d {{.*}} layer "conv1"
// CHECK-NEXT:    nn.fused_conv2d {{.*}} layer "conv2"
// CHECK-NEXT:    nn.add
// CHECK-NEXT:    nn.relu
// CHECK-NEXT:    nn.fused_conv2d {{.*}} padding [1, 1] layer "conv3"
// CHECK-LABEL: func.func @block
// CHECK-NEXT:    func.call @spikecore_0(%x)
// CHECK-NEXT:    nn.relu {{.*}} {host_reason = "a region's output is its last layer's accumulator, before the ReLU"}

// -----

// Max pooling and a concatenation stay on the host and split the network; the remarks say why.
func.func @host(%x: tensor<1x1x6x6xf32>) -> tensor<1x4x2x2xf32> {
  %k = arith.constant dense<0.5> : tensor<2x1x3x3xf32>
  %0 = nn.fused_conv2d %x, %k activation relu layer "c1" : (tensor<1x1x6x6xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x4x4xf32>
  %1 = nn.pool2d max %0 kernel [2, 2] strides [2, 2] : tensor<1x2x4x4xf32> -> tensor<1x2x2x2xf32>
  %2 = nn.concat %1, %1 axis(1) : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x4x2x2xf32>
  func.return %2 : tensor<1x4x2x2xf32>
}
// CHECK-LABEL: func.func @host
// CHECK:         func.call @spikecore_0(%x)
// CHECK:         nn.pool2d max {{.*}} {host_reason = "SpikeCore has no maximum
// CHECK:         nn.concat {{.*}} {host_reason = "a concatenation runs on the host

// REMARK: remark: nn.pool2d stays on the host: SpikeCore has no maximum (it accumulates sums): max pooling runs on the host, splitting the network; use average or sum pooling (nn.pool2d avg/sum) to keep it on the chip
// REMARK: remark: nn.concat stays on the host: a concatenation runs on the host
