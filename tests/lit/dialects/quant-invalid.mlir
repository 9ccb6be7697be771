// The quant verifiers keep scales consistent: the ISA's integer arithmetic is only right if they are.
// RUN: spike-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @per_axis_activation(%x: tensor<1x2xf32>) -> tensor<1x2x!quant.uniform<i8:f32:1, {0.1, 0.2}>> {
  %q = quant.quantize %x : tensor<1x2xf32> -> tensor<1x2x!quant.uniform<i8:f32:1, {0.1, 0.2}>>
  func.return %q : tensor<1x2x!quant.uniform<i8:f32:1, {0.1, 0.2}>>
}
// CHECK: 'quant.quantize' activations use one scale per tensor

// -----

func.func @quantize_to_i32(%x: tensor<1x2xf32>) -> tensor<1x2x!quant.uniform<i32:f32, 0.1>> {
  %q = quant.quantize %x : tensor<1x2xf32> -> tensor<1x2x!quant.uniform<i32:f32, 0.1>>
  func.return %q : tensor<1x2x!quant.uniform<i32:f32, 0.1>>
}
// CHECK: 'quant.quantize' result must be stored as i8, got i32

// -----

func.func @constant_storage() -> tensor<2x!quant.uniform<i8:f32, 0.1>> {
  %c = quant.constant dense<[1, 2]> : tensor<2xi32> -> tensor<2x!quant.uniform<i8:f32, 0.1>>
  func.return %c : tensor<2x!quant.uniform<i8:f32, 0.1>>
}
// CHECK: 'quant.constant' value must be stored as i8, got i32

// -----

func.func @constant_scales() -> tensor<3x2x!quant.uniform<i8:f32:0, {0.1, 0.2}>> {
  %c = quant.constant dense<1> : tensor<3x2xi8> -> tensor<3x2x!quant.uniform<i8:f32:0, {0.1, 0.2}>>
  func.return %c : tensor<3x2x!quant.uniform<i8:f32:0, {0.1, 0.2}>>
}
// CHECK: 'quant.constant' result: 2 scales for axis 0 of size 3

// -----

func.func @dense_bias_scale(%q: tensor<1x2x!quant.uniform<i8:f32, 0.5>>) -> tensor<1x1x!quant.uniform<i32:f32, 0.25>> {
  %w = quant.constant dense<1> : tensor<1x2xi8> -> tensor<1x2x!quant.uniform<i8:f32, 0.5>>
  %b = quant.constant dense<0> : tensor<1xi32> -> tensor<1x!quant.uniform<i32:f32, 0.5>>
  %a = quant.dense %q, %w, %b : (tensor<1x2x!quant.uniform<i8:f32, 0.5>>, tensor<1x2x!quant.uniform<i8:f32, 0.5>>, tensor<1x!quant.uniform<i32:f32, 0.5>>) -> tensor<1x1x!quant.uniform<i32:f32, 0.25>>
  func.return %a : tensor<1x1x!quant.uniform<i32:f32, 0.25>>
}
// CHECK: 'quant.dense' bias scale must be input scale x weight scale (0.25), got 0.5

// -----

func.func @requantize_count(%a: tensor<1x3x!quant.uniform<i32:f32, 0.25>>) -> tensor<1x3x!quant.uniform<i8:f32, 0.5>> {
  %y = quant.requantize %a multiplier array<i32: 1, 2> shift 8 : tensor<1x3x!quant.uniform<i32:f32, 0.25>> -> tensor<1x3x!quant.uniform<i8:f32, 0.5>>
  func.return %y : tensor<1x3x!quant.uniform<i8:f32, 0.5>>
}
// CHECK: 'quant.requantize' needs 1 or 3 multipliers, got 2

// -----

func.func @requantize_shift(%a: tensor<1x3x!quant.uniform<i32:f32, 0.25>>) -> tensor<1x3x!quant.uniform<i8:f32, 0.5>> {
  %y = quant.requantize %a multiplier array<i32: 1> shift 63 : tensor<1x3x!quant.uniform<i32:f32, 0.25>> -> tensor<1x3x!quant.uniform<i8:f32, 0.5>>
  func.return %y : tensor<1x3x!quant.uniform<i8:f32, 0.5>>
}
// CHECK: 'quant.requantize' shift must be in 0..62, got 63

// -----

func.func @relu_of_accumulator(%a: tensor<1x3x!quant.uniform<i32:f32, 0.25>>) -> tensor<1x3x!quant.uniform<i32:f32, 0.25>> {
  %r = quant.relu %a : tensor<1x3x!quant.uniform<i32:f32, 0.25>>
  func.return %r : tensor<1x3x!quant.uniform<i32:f32, 0.25>>
}
// CHECK: 'quant.relu' input must be stored as i8, got i32
