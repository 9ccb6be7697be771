// nn-fold-batch-norm folds an inference batch norm into the conv or dense layer before it:
// W' = W * gamma / sqrt(var + eps) per output channel, b' = (b - mean) * gamma / sqrt(var + eps) + beta.
// Here gamma = [2, 1], var + eps = 1 (so the factor is gamma), mean = [1, 0], beta = [0.5, -1].
// RUN: spike-opt %s --split-input-file -p nn-fold-batch-norm | filecheck %s

func.func @conv_bn(%x: tensor<1x1x3x3xf32>) -> tensor<1x2x2x2xf32> {
  %w = arith.constant dense<[[[[1.0, 2.0], [3.0, 4.0]]], [[[1.0, 1.0], [1.0, 1.0]]]]> : tensor<2x1x2x2xf32>
  %g = arith.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %b = arith.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %m = arith.constant dense<[1.0, 0.0]> : tensor<2xf32>
  %v = arith.constant dense<[1.0, 1.0]> : tensor<2xf32>
  %0 = nn.conv2d %x, %w layer "conv1" : (tensor<1x1x3x3xf32>, tensor<2x1x2x2xf32>) -> tensor<1x2x2x2xf32>
  %1 = nn.batch_norm %0, %g, %b, %m, %v epsilon(0.0) layer "bn1" : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  func.return %1 : tensor<1x2x2x2xf32>
}
// CHECK-LABEL: func.func @conv_bn
// CHECK-NEXT:    %w_bn = arith.constant dense<{{\[\[\[\[}}2.000000e+00, 4.000000e+00], [6.000000e+00, 8.000000e+00]]], {{\[\[\[}}1.000000e+00, 1.000000e+00], [1.000000e+00, 1.000000e+00]]]]> : tensor<2x1x2x2xf32>
// CHECK-NEXT:    %g_bn = arith.constant dense<[-1.500000e+00, -1.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    %0 = nn.conv2d %x, %w_bn layer "conv1"
// CHECK-NEXT:    %1 = nn.bias_add %0, %g_bn axis(1)
// CHECK-NEXT:    func.return %1
// CHECK-NOT:     nn.batch_norm

// -----

// A conv bias before the norm is folded too: b' = ([3, 3] - mean) * gamma + beta = [4.5, 2].
func.func @conv_bias_bn(%x: tensor<1x1x3x3xf32>) -> tensor<1x2x2x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x1x2x2xf32>
  %c = arith.constant dense<3.0> : tensor<2xf32>
  %g = arith.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %b = arith.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %m = arith.constant dense<[1.0, 0.0]> : tensor<2xf32>
  %v = arith.constant dense<[1.0, 1.0]> : tensor<2xf32>
  %0 = nn.conv2d %x, %w : (tensor<1x1x3x3xf32>, tensor<2x1x2x2xf32>) -> tensor<1x2x2x2xf32>
  %1 = nn.bias_add %0, %c axis(1) : (tensor<1x2x2x2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  %2 = nn.batch_norm %1, %g, %b, %m, %v epsilon(0.0) : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  func.return %2 : tensor<1x2x2x2xf32>
}
// CHECK-LABEL: func.func @conv_bias_bn
// CHECK:         %c_bn = arith.constant dense<[4.500000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    %0 = nn.conv2d %x, %w_bn
// CHECK-NEXT:    %1 = nn.bias_add %0, %c_bn axis(1)
// CHECK-NEXT:    func.return %1

// -----

// BatchNorm1d after a dense layer folds into it; epsilon counts: var + eps = 4, so the factor is gamma / 2.
func.func @dense_bn(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[2.0, 4.0], [6.0, 8.0]]> : tensor<2x2xf32>
  %g = arith.constant dense<1.0> : tensor<2xf32>
  %z = arith.constant dense<0.0> : tensor<2xf32>
  %v = arith.constant dense<3.5> : tensor<2xf32>
  %0 = nn.dense %x, %w : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %1 = nn.batch_norm %0, %g, %z, %z, %v epsilon(0.5) : (tensor<1x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  func.return %1 : tensor<1x2xf32>
}
// CHECK-LABEL: func.func @dense_bn
// CHECK:         arith.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK:         nn.dense
// CHECK-NEXT:    nn.bias_add
// CHECK-NOT:     nn.batch_norm

// -----

// Not folded: a norm after a ReLU, and a norm of a layer whose weights are an argument.
func.func @kept(%x: tensor<1x1x3x3xf32>, %w: tensor<2x1x2x2xf32>, %s: tensor<2xf32>) -> (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) {
  %0 = nn.conv2d %x, %w : (tensor<1x1x3x3xf32>, tensor<2x1x2x2xf32>) -> tensor<1x2x2x2xf32>
  %1 = nn.batch_norm %0, %s, %s, %s, %s epsilon(1.0e-05) : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  %2 = nn.relu %1 : tensor<1x2x2x2xf32>
  %3 = nn.batch_norm %2, %s, %s, %s, %s epsilon(1.0e-05) : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  func.return %1, %3 : tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>
}
// CHECK-LABEL: func.func @kept
// CHECK:         nn.batch_norm %0
// CHECK:         nn.batch_norm %2
