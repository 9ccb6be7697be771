// nn-fold-reshapes: chains of shape changes become one, shape changes to the same type disappear.
// RUN: spike-opt %s --split-input-file -p nn-fold-reshapes | filecheck %s
// The pass composes with nn-fuse-dense in one pipeline, and a round trip through --print-between-passes works.
// RUN: spike-opt %s --split-input-file -p 'nn-fold-reshapes,nn-fuse-dense' --print-between-passes | filecheck %s --check-prefix=PIPE

// reshape then batch_flatten of the original input: one batch_flatten.
func.func @reshape_flatten(%x: tensor<1x1x28x28xf32>) -> tensor<1x784xf32> {
  %0 = nn.reshape %x : tensor<1x1x28x28xf32> -> tensor<1x28x28xf32>
  %1 = nn.batch_flatten %0 : tensor<1x28x28xf32> -> tensor<1x784xf32>
  func.return %1 : tensor<1x784xf32>
}
// CHECK-LABEL: func.func @reshape_flatten
// CHECK-NEXT:    %0 = nn.batch_flatten %x : tensor<1x1x28x28xf32> -> tensor<1x784xf32>
// CHECK-NEXT:    func.return %0

// -----

// reshape of reshape of reshape: one reshape; identity reshapes vanish.
func.func @chain(%x: tensor<2x6xf32>) -> tensor<3x4xf32> {
  %0 = nn.reshape %x : tensor<2x6xf32> -> tensor<12xf32>
  %1 = nn.reshape %0 : tensor<12xf32> -> tensor<4x3xf32>
  %2 = nn.reshape %1 : tensor<4x3xf32> -> tensor<3x4xf32>
  %3 = nn.reshape %2 : tensor<3x4xf32> -> tensor<3x4xf32>
  func.return %3 : tensor<3x4xf32>
}
// CHECK-LABEL: func.func @chain
// CHECK-NEXT:    %0 = nn.reshape %x : tensor<2x6xf32> -> tensor<3x4xf32>
// CHECK-NEXT:    func.return %0

// -----

// A batch_flatten that no longer keeps the batch axis of the source becomes a reshape.
func.func @flatten_of_reshape(%x: tensor<4x3xf32>) -> tensor<2x6xf32> {
  %0 = nn.reshape %x : tensor<4x3xf32> -> tensor<2x2x3xf32>
  %1 = nn.batch_flatten %0 : tensor<2x2x3xf32> -> tensor<2x6xf32>
  func.return %1 : tensor<2x6xf32>
}
// CHECK-LABEL: func.func @flatten_of_reshape
// CHECK-NEXT:    %0 = nn.reshape %x : tensor<4x3xf32> -> tensor<2x6xf32>
// CHECK-NEXT:    func.return %0

// -----

// A shape change back to the original type folds away entirely; one still used elsewhere stays.
func.func @round_trip(%x: tensor<1x784xf32>) -> (tensor<1x784xf32>, tensor<1x28x28xf32>) {
  %0 = nn.reshape %x : tensor<1x784xf32> -> tensor<1x28x28xf32>
  %1 = nn.batch_flatten %0 : tensor<1x28x28xf32> -> tensor<1x784xf32>
  %2 = nn.relu %1 : tensor<1x784xf32>
  func.return %2, %0 : tensor<1x784xf32>, tensor<1x28x28xf32>
}
// CHECK-LABEL: func.func @round_trip
// CHECK-NEXT:    %0 = nn.reshape %x : tensor<1x784xf32> -> tensor<1x28x28xf32>
// CHECK-NEXT:    %1 = nn.relu %x : tensor<1x784xf32>
// CHECK-NEXT:    func.return %1, %0

// -----

// An identity batch_flatten between two layers disappears, so nn-fuse-dense sees them connected.
func.func @between_layers(%x: tensor<1x4xf32>, %w: tensor<3x4xf32>, %v: tensor<2x3xf32>) -> tensor<1x2xf32> {
  %0 = nn.dense %x, %w layer "a" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %1 = nn.batch_flatten %0 : tensor<1x3xf32> -> tensor<1x3xf32>
  %2 = nn.relu %1 : tensor<1x3xf32>
  %3 = nn.dense %2, %v layer "b" : (tensor<1x3xf32>, tensor<2x3xf32>) -> tensor<1x2xf32>
  func.return %3 : tensor<1x2xf32>
}
// CHECK-LABEL: func.func @between_layers
// CHECK-NEXT:    %0 = nn.dense %x, %w layer "a"
// CHECK-NEXT:    %1 = nn.relu %0
// CHECK-NEXT:    %2 = nn.dense %1, %v layer "b"
// CHECK-NEXT:    func.return %2

// PIPE:      IR after nn-fold-reshapes:
// PIPE:      func.func @between_layers
// PIPE-NEXT:   %0 = nn.dense %x, %w layer "a"
// PIPE-NEXT:   %1 = nn.relu %0
// PIPE:      func.func @between_layers
// PIPE-NEXT:   %0 = nn.fused_dense %x, %w activation relu layer "a"
// PIPE-NEXT:   %1 = nn.fused_dense %0, %v layer "b"
// PIPE-NEXT:   func.return %1
