// xDSL's canonicalize applies the nn and quant ops' canonicalization patterns (and, as always, erases
// unused pure ops): shape-change chains fold, a ReLU of a ReLU is one ReLU, and a quantize of a
// dequantize back to the same int8 type is the int8 value. Plain xdsl-opt does the same.
// RUN: spike-opt %s --split-input-file -p canonicalize | filecheck %s
// RUN: xdsl-opt %s --split-input-file -p canonicalize | filecheck %s

// A reshape chain and a batch_flatten after it: one batch_flatten of the original input.
func.func @reshape_flatten(%x: tensor<1x1x28x28xf32>) -> tensor<1x784xf32> {
  %0 = nn.reshape %x : tensor<1x1x28x28xf32> -> tensor<1x28x28xf32>
  %1 = nn.reshape %0 : tensor<1x28x28xf32> -> tensor<1x784x1xf32>
  %2 = nn.batch_flatten %1 : tensor<1x784x1xf32> -> tensor<1x784xf32>
  func.return %2 : tensor<1x784xf32>
}
// CHECK-LABEL: func.func @reshape_flatten
// CHECK-NEXT:    %0 = nn.batch_flatten %x : tensor<1x1x28x28xf32> -> tensor<1x784xf32>
// CHECK-NEXT:    func.return %0

// -----

// Shape changes that end where they started vanish, including an identity batch_flatten.
func.func @identity(%x: tensor<2x6xf32>) -> tensor<2x6xf32> {
  %0 = nn.reshape %x : tensor<2x6xf32> -> tensor<12xf32>
  %1 = nn.reshape %0 : tensor<12xf32> -> tensor<2x6xf32>
  %2 = nn.batch_flatten %1 : tensor<2x6xf32> -> tensor<2x6xf32>
  func.return %2 : tensor<2x6xf32>
}
// CHECK-LABEL: func.func @identity
// CHECK-NEXT:    func.return %x

// -----

// A flatten whose intermediate reshape is still used elsewhere: the flatten reads the source, the
// used reshape stays.
func.func @shared_reshape(%x: tensor<4x3xf32>) -> (tensor<2x6xf32>, tensor<2x2x3xf32>) {
  %0 = nn.reshape %x : tensor<4x3xf32> -> tensor<2x2x3xf32>
  %1 = nn.batch_flatten %0 : tensor<2x2x3xf32> -> tensor<2x6xf32>
  func.return %1, %0 : tensor<2x6xf32>, tensor<2x2x3xf32>
}
// CHECK-LABEL: func.func @shared_reshape
// CHECK-NEXT:    %0 = nn.reshape %x : tensor<4x3xf32> -> tensor<2x2x3xf32>
// CHECK-NEXT:    %1 = nn.reshape %x : tensor<4x3xf32> -> tensor<2x6xf32>
// CHECK-NEXT:    func.return %1, %0

// -----

// relu(relu(x)) is relu(x).
func.func @relu_relu(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %0 = nn.relu %x : tensor<1x4xf32>
  %1 = nn.relu %0 : tensor<1x4xf32>
  %2 = nn.relu %1 : tensor<1x4xf32>
  func.return %2 : tensor<1x4xf32>
}
// CHECK-LABEL: func.func @relu_relu
// CHECK-NEXT:    %0 = nn.relu %x : tensor<1x4xf32>
// CHECK-NEXT:    func.return %0

// -----

// dequantize then quantize to the same type is exact: the int8 value goes straight on.
func.func @dequantize_quantize(%q: tensor<1x4x!quant.uniform<i8:f32, 0.5>>) -> tensor<1x4x!quant.uniform<i8:f32, 0.5>> {
  %f = quant.dequantize %q : tensor<1x4x!quant.uniform<i8:f32, 0.5>> -> tensor<1x4xf32>
  %r = quant.quantize %f : tensor<1x4xf32> -> tensor<1x4x!quant.uniform<i8:f32, 0.5>>
  func.return %r : tensor<1x4x!quant.uniform<i8:f32, 0.5>>
}
// CHECK-LABEL: func.func @dequantize_quantize
// CHECK-NEXT:    func.return %q

// -----

// To another scale the round trip rounds: it stays. So does quantize then dequantize, which is lossy.
func.func @not_folded(%q: tensor<1x4x!quant.uniform<i8:f32, 0.5>>, %x: tensor<1x4xf32>) -> (tensor<1x4x!quant.uniform<i8:f32, 0.25>>, tensor<1x4xf32>) {
  %f = quant.dequantize %q : tensor<1x4x!quant.uniform<i8:f32, 0.5>> -> tensor<1x4xf32>
  %r = quant.quantize %f : tensor<1x4xf32> -> tensor<1x4x!quant.uniform<i8:f32, 0.25>>
  %a = quant.quantize %x : tensor<1x4xf32> -> tensor<1x4x!quant.uniform<i8:f32, 0.5>>
  %b = quant.dequantize %a : tensor<1x4x!quant.uniform<i8:f32, 0.5>> -> tensor<1x4xf32>
  func.return %r, %b : tensor<1x4x!quant.uniform<i8:f32, 0.25>>, tensor<1x4xf32>
}
// CHECK-LABEL: func.func @not_folded
// CHECK-NEXT:    %f = quant.dequantize %q
// CHECK-NEXT:    %r = quant.quantize %f : tensor<1x4xf32> -> tensor<1x4x!quant.uniform<i8:f32, 0.25>>
// CHECK-NEXT:    %a = quant.quantize %x
// CHECK-NEXT:    %b = quant.dequantize %a
// CHECK-NEXT:    func.return %r, %b

// -----

// Between two quantized layers (as spikecore-quantize first writes them) the float detour disappears,
// and the dead dequantize with it.
func.func @between_layers(%a: tensor<1x3x!quant.uniform<i32:f32, 0.25>>) -> tensor<1x3x!quant.uniform<i8:f32, 0.5>> {
  %y = quant.requantize %a multiplier array<i32: 1> shift 1 : tensor<1x3x!quant.uniform<i32:f32, 0.25>> -> tensor<1x3x!quant.uniform<i8:f32, 0.5>>
  %f = quant.dequantize %y : tensor<1x3x!quant.uniform<i8:f32, 0.5>> -> tensor<1x3xf32>
  %q = quant.quantize %f : tensor<1x3xf32> -> tensor<1x3x!quant.uniform<i8:f32, 0.5>>
  %r = quant.relu %q : tensor<1x3x!quant.uniform<i8:f32, 0.5>>
  func.return %r : tensor<1x3x!quant.uniform<i8:f32, 0.5>>
}
// CHECK-LABEL: func.func @between_layers
// CHECK-NEXT:    %y = quant.requantize %a
// CHECK-NEXT:    %r = quant.relu %y
// CHECK-NEXT:    func.return %r
