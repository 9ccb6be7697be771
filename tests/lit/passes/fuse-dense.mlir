// nn-fuse-dense forms one nn.fused_dense per layer, and only where no intermediate value is used twice.
// RUN: spike-opt %s --split-input-file -p nn-fuse-dense | filecheck %s

// dense + bias_add + relu: one fused op that keeps the layer name.
func.func @dense_bias_relu(%x: tensor<1x4xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>) -> tensor<1x3xf32> {
  %0 = nn.dense %x, %w layer "layers.0" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %1 = nn.bias_add %0, %b : (tensor<1x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  %2 = nn.relu %1 : tensor<1x3xf32>
  func.return %2 : tensor<1x3xf32>
}
// CHECK-LABEL: func.func @dense_bias_relu
// CHECK-NEXT:    %0 = nn.fused_dense %x, %w, %b activation relu layer "layers.0" : (tensor<1x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<1x3xf32>
// CHECK-NEXT:    func.return %0 : tensor<1x3xf32>

// -----

// dense + bias_add:.
func.func @dense_bias(%x: tensor<1x4xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>) -> tensor<1x3xf32> {
  %0 = nn.dense %x, %w layer "out" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %1 = nn.bias_add %0, %b : (tensor<1x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  func.return %1 : tensor<1x3xf32>
}
// CHECK-LABEL: func.func @dense_bias
// CHECK-NEXT:    %0 = nn.fused_dense %x, %w, %b layer "out" : (tensor<1x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<1x3xf32>
// CHECK-NEXT:    func.return %0

// -----

// dense + relu without a bias, and a lone dense without a layer name.
func.func @no_bias(%x: tensor<1x4xf32>, %w: tensor<3x4xf32>, %v: tensor<2x3xf32>) -> tensor<1x2xf32> {
  %0 = nn.dense %x, %w : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %1 = nn.relu %0 : tensor<1x3xf32>
  %2 = nn.dense %1, %v : (tensor<1x3xf32>, tensor<2x3xf32>) -> tensor<1x2xf32>
  func.return %2 : tensor<1x2xf32>
}
// CHECK-LABEL: func.func @no_bias
// CHECK-NEXT:    %0 = nn.fused_dense %x, %w activation relu : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
// CHECK-NEXT:    %1 = nn.fused_dense %0, %v : (tensor<1x3xf32>, tensor<2x3xf32>) -> tensor<1x2xf32>
// CHECK-NEXT:    func.return %1

// -----

// The bias is defined after the dense: the fused op goes where the chain ends, after the bias.
func.func @late_bias(%x: tensor<1x4xf32>, %w: tensor<3x4xf32>) -> tensor<1x3xf32> {
  %0 = nn.dense %x, %w : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %b = arith.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %1 = nn.bias_add %0, %b : (tensor<1x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  func.return %1 : tensor<1x3xf32>
}
// CHECK-LABEL: func.func @late_bias
// CHECK-NEXT:    %b = arith.constant
// CHECK-NEXT:    %0 = nn.fused_dense %x, %w, %b :

// -----

// The dense result has a second use: it stays materialised, the bias_add and relu stay separate.
func.func @dense_used_twice(%x: tensor<1x4xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>) -> (tensor<1x3xf32>, tensor<1x3xf32>) {
  %0 = nn.dense %x, %w layer "fc" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %1 = nn.bias_add %0, %b : (tensor<1x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  %2 = nn.relu %1 : tensor<1x3xf32>
  func.return %0, %2 : tensor<1x3xf32>, tensor<1x3xf32>
}
// CHECK-LABEL: func.func @dense_used_twice
// CHECK-NEXT:    %0 = nn.fused_dense %x, %w layer "fc" :
// CHECK-NEXT:    %1 = nn.bias_add %0, %b
// CHECK-NEXT:    %2 = nn.relu %1
// CHECK-NEXT:    func.return %0, %2

// -----

// The bias_add result has a second use: dense and bias fuse, the relu stays.
func.func @bias_used_twice(%x: tensor<1x4xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>) -> (tensor<1x3xf32>, tensor<1x3xf32>) {
  %0 = nn.dense %x, %w : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %1 = nn.bias_add %0, %b : (tensor<1x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  %2 = nn.relu %1 : tensor<1x3xf32>
  func.return %1, %2 : tensor<1x3xf32>, tensor<1x3xf32>
}
// CHECK-LABEL: func.func @bias_used_twice
// CHECK-NEXT:    %0 = nn.fused_dense %x, %w, %b :
// CHECK-NEXT:    %1 = nn.relu %0
// CHECK-NEXT:    func.return %0, %1

// -----

// A bias_add whose input is not a dense result, and ops of other layers, are left alone.
func.func @untouched(%x: tensor<1x3xf32>, %b: tensor<3xf32>) -> tensor<1x3xf32> {
  %0 = nn.bias_add %x, %b : (tensor<1x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  %1 = nn.relu %0 : tensor<1x3xf32>
  %2 = nn.softmax %1 axis(-1) : tensor<1x3xf32>
  func.return %2 : tensor<1x3xf32>
}
// CHECK-LABEL: func.func @untouched
// CHECK-NEXT:    %0 = nn.bias_add %x, %b
// CHECK-NEXT:    %1 = nn.relu %0
// CHECK-NEXT:    %2 = nn.softmax %1
