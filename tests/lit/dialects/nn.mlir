// Every nn op survives printing and parsing, in the custom and in the generic form, with both tools.
// The activation of nn.fused_dense is an enum attribute (#nn<activation relu>), a bare keyword in the
// custom form; the quoted spelling of earlier versions still parses.
// RUN: spike-opt %s | spike-opt | filecheck %s
// RUN: SPIKE_ROUNDTRIP
// RUN: SPIKE_GENERIC_ROUNDTRIP
// RUN: XDSL_ROUNDTRIP

func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x3xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5], [-1.0, 0.0, 1.0, 0.0]]> : tensor<3x4xf32>
  %b = arith.constant dense<[0.1, 0.2, 0.3]> : tensor<3xf32>
  %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
  %1 = nn.dense %0, %w layer "fc1" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %2 = nn.dense %0, %w : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %3 = nn.bias_add %1, %b : (tensor<1x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  %4 = nn.relu %3 : tensor<1x3xf32>
  %5 = nn.softmax %4 axis(-1) : tensor<1x3xf32>
  %6 = nn.fused_dense %0, %w, %b activation relu layer "layers.0" : (tensor<1x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  %7 = nn.fused_dense %0, %w : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %8 = nn.reshape %7 : tensor<1x3xf32> -> tensor<3xf32>
  %9 = nn.fused_dense %0, %w activation "relu" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %10 = nn.fused_dense %0, %w activation none : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  func.return %5 : tensor<1x3xf32>
}

// CHECK:      func.func @main(%x: tensor<1x1x2x2xf32>) -> tensor<1x3xf32> {
// CHECK:        %0 = nn.batch_flatten %x : tensor<1x1x2x2xf32> -> tensor<1x4xf32>
// CHECK-NEXT:   %1 = nn.dense %0, %w layer "fc1" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
// CHECK-NEXT:   %2 = nn.dense %0, %w : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
// CHECK-NEXT:   %3 = nn.bias_add %1, %b : (tensor<1x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
// CHECK-NEXT:   %4 = nn.relu %3 : tensor<1x3xf32>
// CHECK-NEXT:   %5 = nn.softmax %4 axis(-1) : tensor<1x3xf32>
// CHECK-NEXT:   %6 = nn.fused_dense %0, %w, %b activation relu layer "layers.0" : (tensor<1x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<1x3xf32>
// CHECK-NEXT:   %7 = nn.fused_dense %0, %w : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
// CHECK-NEXT:   %8 = nn.reshape %7 : tensor<1x3xf32> -> tensor<3xf32>
// CHECK-NEXT:   %9 = nn.fused_dense %0, %w activation relu : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
// CHECK-NEXT:   %10 = nn.fused_dense %0, %w : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
// CHECK-NEXT:   func.return %5 : tensor<1x3xf32>

// CHECK-GENERIC:      %0 = "nn.batch_flatten"(%x) : (tensor<1x1x2x2xf32>) -> tensor<1x4xf32>
// CHECK-GENERIC-NEXT: %1 = "nn.dense"(%0, %w) <{layer = "fc1"}> : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
// CHECK-GENERIC-NEXT: %2 = "nn.dense"(%0, %w) : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
// CHECK-GENERIC-NEXT: %3 = "nn.bias_add"(%1, %b) : (tensor<1x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
// CHECK-GENERIC-NEXT: %4 = "nn.relu"(%3) : (tensor<1x3xf32>) -> tensor<1x3xf32>
// CHECK-GENERIC-NEXT: %5 = "nn.softmax"(%4) <{axis = -1 : i64}> : (tensor<1x3xf32>) -> tensor<1x3xf32>
// CHECK-GENERIC-NEXT: %6 = "nn.fused_dense"(%0, %w, %b) <{activation = #nn<activation relu>, layer = "layers.0"}> : (tensor<1x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<1x3xf32>
// CHECK-GENERIC-NEXT: %7 = "nn.fused_dense"(%0, %w) <{activation = #nn<activation none>}> : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
// CHECK-GENERIC-NEXT: %8 = "nn.reshape"(%7) : (tensor<1x3xf32>) -> tensor<3xf32>
// CHECK-GENERIC-NEXT: %9 = "nn.fused_dense"(%0, %w) <{activation = #nn<activation relu>}> : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
