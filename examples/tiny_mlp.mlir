// A 4-3-2 MLP with a softmax, as a frontend would produce it (the tour in README.md).
func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5], [-1.0, 0.0, 1.0, 0.0]]> : tensor<3x4xf32>
  %b = arith.constant dense<[0.1, 0.2, 0.3]> : tensor<3xf32>
  %w1 = arith.constant dense<[[1.0, 2.0, 3.0], [0.5, -0.5, 0.5]]> : tensor<2x3xf32>
  %b1 = arith.constant dense<[0.1, -0.2]> : tensor<2xf32>
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %1 = nn.dense %0, %w layer "fc1" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %2 = nn.bias_add %1, %b : (tensor<1x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  %3 = nn.relu %2 : tensor<1x3xf32>
  %4 = nn.dense %3, %w1 layer "fc2" : (tensor<1x3xf32>, tensor<2x3xf32>) -> tensor<1x2xf32>
  %5 = nn.bias_add %4, %b1 : (tensor<1x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  %6 = nn.softmax %5 axis(-1) : tensor<1x2xf32>
  func.return %6 : tensor<1x2xf32>
}
