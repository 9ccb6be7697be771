// nn-fold-pool folds an average or sum pooling into the conv or dense layer that reads it.
// RUN: spike-opt %s --split-input-file -p nn-fold-pool | filecheck %s
// Folding leaves nothing to fold again:
// RUN: spike-opt %s --split-input-file -p nn-fold-pool,nn-fold-pool | filecheck %s

// A 2x2 average pool (stride 2) then a 2x2 conv: one 4x4 conv of stride 2 whose taps are the conv's,
// each repeated over its 2x2 window and divided by 4.
func.func @avg_then_conv(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x1x1xf32> {
  %w = arith.constant dense<[[[[1.0, 2.0], [3.0, 4.0]]]]> : tensor<1x1x2x2xf32>
  %0 = nn.pool2d avg %x kernel [2, 2] strides [2, 2] layer "pool" : tensor<1x1x4x4xf32> -> tensor<1x1x2x2xf32>
  %1 = nn.conv2d %0, %w layer "conv" : (tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>) -> tensor<1x1x1x1xf32>
  func.return %1 : tensor<1x1x1x1xf32>
}
// CHECK-LABEL: func.func @avg_then_conv
// CHECK-NEXT:    %w_pooled = arith.constant dense<{{\[\[\[\[}}2.500000e-01, 2.500000e-01, 5.000000e-01, 5.000000e-01], [2.500000e-01, 2.500000e-01, 5.000000e-01, 5.000000e-01], [7.500000e-01, 7.500000e-01, 1.000000e+00, 1.000000e+00], [7.500000e-01, 7.500000e-01, 1.000000e+00, 1.000000e+00]]]]> : tensor<1x1x4x4xf32>
// CHECK-NEXT:    %0 = nn.conv2d %x, %w_pooled strides [2, 2] layer "conv" : (tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x1x1x1xf32>
// CHECK-NEXT:    func.return %0
// CHECK-NOT:     nn.pool2d

// -----

// A sum pool into a fused conv (bias and ReLU kept) of two output channels over two input channels;
// the conv's padding of 1 becomes 2 on the unpooled map (the pooled map's padding is whole windows).
func.func @sum_then_fused(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x3x3xf32> {
  %w = arith.constant dense<1.0> : tensor<2x2x2x2xf32>
  %b = arith.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %0 = nn.pool2d sum %x kernel [2, 2] strides [2, 2] : tensor<1x2x4x4xf32> -> tensor<1x2x2x2xf32>
  %1 = nn.fused_conv2d %0, %w, %b activation relu padding [1, 1] layer "c" : (tensor<1x2x2x2xf32>, tensor<2x2x2x2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  func.return %1 : tensor<1x2x3x3xf32>
}
// CHECK-LABEL: func.func @sum_then_fused
// CHECK:         %w_pooled = arith.constant dense<1.000000e+00> : tensor<2x2x4x4xf32>
// CHECK:         %0 = nn.fused_conv2d %x, %w_pooled, %b activation relu strides [2, 2] padding [2, 2] layer "c" : (tensor<1x2x4x4xf32>, tensor<2x2x4x4xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
// CHECK-NOT:     nn.pool2d

// -----

// A pooled map flattened into a dense layer: one dense layer over the unpooled map, each pooled
// column spread over its window; the flatten now flattens the unpooled map.
func.func @avg_then_dense(%x: tensor<1x1x2x4xf32>) -> tensor<1x1xf32> {
  %w = arith.constant dense<[[4.0, 8.0]]> : tensor<1x2xf32>
  %0 = nn.pool2d avg %x kernel [2, 2] strides [2, 2] : tensor<1x1x2x4xf32> -> tensor<1x1x1x2xf32>
  %1 = nn.batch_flatten %0 : tensor<1x1x1x2xf32> -> tensor<1x2xf32>
  %2 = nn.dense %1, %w layer "fc" : (tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x1xf32>
  func.return %2 : tensor<1x1xf32>
}
// CHECK-LABEL: func.func @avg_then_dense
// CHECK-NEXT:    %w_pooled = arith.constant dense<{{\[\[}}1.000000e+00, 1.000000e+00, 2.000000e+00, 2.000000e+00, 1.000000e+00, 1.000000e+00, 2.000000e+00, 2.000000e+00]]> : tensor<1x8xf32>
// CHECK-NEXT:    %0 = nn.batch_flatten %x : tensor<1x1x2x4xf32> -> tensor<1x8xf32>
// CHECK-NEXT:    %1 = nn.dense %0, %w_pooled layer "fc" : (tensor<1x8xf32>, tensor<1x8xf32>) -> tensor<1x1xf32>
// CHECK-NEXT:    func.return %1

// -----

// The same into a fused dense through nn.reshape, with a dynamic batch; overlapping 2x2 windows of
// stride 1 sum where they meet (the middle column belongs to both).
func.func @overlap_then_fused_dense(%x: tensor<?x1x1x3xf32>) -> tensor<?x1xf32> {
  %w = arith.constant dense<[[1.0, 3.0]]> : tensor<1x2xf32>
  %b = arith.constant dense<[1.0]> : tensor<1xf32>
  %0 = nn.pool2d sum %x kernel [1, 2] strides [1, 1] : tensor<?x1x1x3xf32> -> tensor<?x1x1x2xf32>
  %1 = nn.reshape %0 : tensor<?x1x1x2xf32> -> tensor<?x2xf32>
  %2 = nn.fused_dense %1, %w, %b activation relu : (tensor<?x2xf32>, tensor<1x2xf32>, tensor<1xf32>) -> tensor<?x1xf32>
  func.return %2 : tensor<?x1xf32>
}
// CHECK-LABEL: func.func @overlap_then_fused_dense
// CHECK:         %w_pooled = arith.constant dense<{{\[\[}}1.000000e+00, 4.000000e+00, 3.000000e+00]]> : tensor<1x3xf32>
// CHECK-NEXT:    %0 = nn.reshape %x : tensor<?x1x1x3xf32> -> tensor<?x3xf32>
// CHECK-NEXT:    %1 = nn.fused_dense %0, %w_pooled, %b activation relu : (tensor<?x3xf32>, tensor<1x3xf32>, tensor<1xf32>) -> tensor<?x1xf32>

// -----

// Left alone: a max pool (not linear); a pool with a second use (it must stay computed); a padded
// conv after overlapping windows (its padding would read the input through the pool's edge windows);
// a conv whose weight is not a constant.
func.func @kept(%x: tensor<1x1x4x4xf32>, %v: tensor<1x1x2x2xf32>) -> (tensor<1x1x1x1xf32>, tensor<1x1x2x2xf32>, tensor<1x1x4x4xf32>, tensor<1x1x1x1xf32>) {
  %w = arith.constant dense<1.0> : tensor<1x1x2x2xf32>
  %0 = nn.pool2d max %x kernel [2, 2] strides [2, 2] : tensor<1x1x4x4xf32> -> tensor<1x1x2x2xf32>
  %1 = nn.conv2d %0, %w : (tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>) -> tensor<1x1x1x1xf32>
  %2 = nn.pool2d avg %x kernel [2, 2] strides [2, 2] : tensor<1x1x4x4xf32> -> tensor<1x1x2x2xf32>
  %3 = nn.conv2d %2, %w : (tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>) -> tensor<1x1x1x1xf32>
  %4 = nn.pool2d avg %x kernel [2, 2] strides [1, 1] : tensor<1x1x4x4xf32> -> tensor<1x1x3x3xf32>
  %5 = nn.conv2d %4, %w padding [1, 1] : (tensor<1x1x3x3xf32>, tensor<1x1x2x2xf32>) -> tensor<1x1x4x4xf32>
  %6 = nn.pool2d avg %x kernel [2, 2] strides [2, 2] : tensor<1x1x4x4xf32> -> tensor<1x1x2x2xf32>
  %7 = nn.conv2d %6, %v : (tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>) -> tensor<1x1x1x1xf32>
  func.return %1, %2, %5, %7 : tensor<1x1x1x1xf32>, tensor<1x1x2x2xf32>, tensor<1x1x4x4xf32>, tensor<1x1x1x1xf32>
}
// CHECK-LABEL: func.func @kept
// CHECK:         %0 = nn.pool2d max %x
// CHECK-NEXT:    %1 = nn.conv2d %0, %w
// CHECK-NEXT:    %2 = nn.pool2d avg %x
// CHECK-NEXT:    %3 = nn.conv2d %2, %w
// CHECK-NEXT:    %4 = nn.pool2d avg %x kernel [2, 2] strides [1, 1]
// CHECK-NEXT:    %5 = nn.conv2d %4, %w padding [1, 1]
// CHECK-NEXT:    %6 = nn.pool2d avg %x
// CHECK-NEXT:    %7 = nn.conv2d %6, %v
