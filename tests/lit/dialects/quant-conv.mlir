// The quant forms of the conv ops round-trip and verify: quant.conv2d with per-output-channel weights
// (result scales along axis 1), quant.pool2d (avg carries 1/window in its scale), quant.add of two
// values of one scale, quant.reshape, and quant.requantize along the channel axis.
// RUN: spike-opt %s | spike-opt | filecheck %s
// RUN: SPIKE_ROUNDTRIP

func.func @main(%x: tensor<1x1x4x4x!quant.uniform<i8:f32, 0.5>>) -> tensor<1x8x!quant.uniform<i8:f32, 0.25>> {
  %w = quant.constant dense<1> : tensor<2x1x3x3xi8> -> tensor<2x1x3x3x!quant.uniform<i8:f32:0, {0.1, 0.2}>>
  %b = quant.constant dense<[3, -4]> : tensor<2xi32> -> tensor<2x!quant.uniform<i32:f32:0, {0.05, 0.1}>>
  %acc = quant.conv2d %x, %w, %b padding [1, 1] layer "c1" : (tensor<1x1x4x4x!quant.uniform<i8:f32, 0.5>>, tensor<2x1x3x3x!quant.uniform<i8:f32:0, {0.1, 0.2}>>, tensor<2x!quant.uniform<i32:f32:0, {0.05, 0.1}>>) -> tensor<1x2x4x4x!quant.uniform<i32:f32:1, {0.05, 0.1}>>
  %y = quant.requantize %acc multiplier array<i32: 1073741824, 2147483647> shift 33 : tensor<1x2x4x4x!quant.uniform<i32:f32:1, {0.05, 0.1}>> -> tensor<1x2x4x4x!quant.uniform<i8:f32, 0.5>>
  %p = quant.pool2d avg %y kernel [2, 2] strides [2, 2] : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.5>> -> tensor<1x2x2x2x!quant.uniform<i32:f32, 0.125>>
  %s = quant.pool2d sum %y kernel [2, 2] strides [2, 2] : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.5>> -> tensor<1x2x2x2x!quant.uniform<i32:f32, 0.5>>
  %q = quant.requantize %p multiplier array<i32: 1073741824> shift 30 : tensor<1x2x2x2x!quant.uniform<i32:f32, 0.125>> -> tensor<1x2x2x2x!quant.uniform<i8:f32, 0.25>>
  %a = quant.add %q, %q : tensor<1x2x2x2x!quant.uniform<i8:f32, 0.25>> -> tensor<1x2x2x2x!quant.uniform<i32:f32, 0.25>>
  %f = quant.reshape %q : tensor<1x2x2x2x!quant.uniform<i8:f32, 0.25>> -> tensor<1x8x!quant.uniform<i8:f32, 0.25>>
  func.return %f : tensor<1x8x!quant.uniform<i8:f32, 0.25>>
}

// CHECK:      %acc = quant.conv2d %x, %w, %b padding [1, 1] layer "c1"
// CHECK-NEXT: %y = quant.requantize %acc multiplier array<i32: 1073741824, 2147483647> shift 33
// CHECK-NEXT: %p = quant.pool2d avg %y kernel [2, 2] strides [2, 2] : tensor<1x2x4x4x!quant.uniform<i8:f32, 0.5>> -> tensor<1x2x2x2x!quant.uniform<i32:f32, 0.125>>
// CHECK-NEXT: %s = quant.pool2d sum %y kernel [2, 2] strides [2, 2]
// CHECK:      %a = quant.add %q, %q : tensor<1x2x2x2x!quant.uniform<i8:f32, 0.25>> -> tensor<1x2x2x2x!quant.uniform<i32:f32, 0.25>>
// CHECK-NEXT: %f = quant.reshape %q : tensor<1x2x2x2x!quant.uniform<i8:f32, 0.25>> -> tensor<1x8x!quant.uniform<i8:f32, 0.25>>
