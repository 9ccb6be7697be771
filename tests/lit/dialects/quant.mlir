// Every quant op and the !quant.uniform type (per tensor and per axis) round-trip, custom and generic.
// RUN: spike-opt %s | spike-opt | filecheck %s
// RUN: SPIKE_ROUNDTRIP
// RUN: SPIKE_GENERIC_ROUNDTRIP
// RUN: XDSL_ROUNDTRIP

func.func @main(%x: tensor<1x4xf32>) -> tensor<1x3xf32> {
  %q = quant.quantize %x : tensor<1x4xf32> -> tensor<1x4x!quant.uniform<i8:f32, 0.0078125>>
  %w = quant.constant dense<[[1, 2, 3, 4], [5, 5, 5, 5], [-1, 0, 1, 0]]> : tensor<3x4xi8> -> tensor<3x4x!quant.uniform<i8:f32:0, {0.01, 0.02, 1.0e-05}>>
  %b = quant.constant dense<[10, 20, -30]> : tensor<3xi32> -> tensor<3x!quant.uniform<i32:f32:0, {7.8125e-05, 0.00015625, 7.8125e-08}>>
  %acc = quant.dense %q, %w, %b layer "layers.0" : (tensor<1x4x!quant.uniform<i8:f32, 0.0078125>>, tensor<3x4x!quant.uniform<i8:f32:0, {0.01, 0.02, 1.0e-05}>>, tensor<3x!quant.uniform<i32:f32:0, {7.8125e-05, 0.00015625, 7.8125e-08}>>) -> tensor<1x3x!quant.uniform<i32:f32:0, {7.8125e-05, 0.00015625, 7.8125e-08}>>
  %y = quant.requantize %acc multiplier array<i32: 100, 200, 3> shift 16 : tensor<1x3x!quant.uniform<i32:f32:0, {7.8125e-05, 0.00015625, 7.8125e-08}>> -> tensor<1x3x!quant.uniform<i8:f32, 0.05>>
  %r = quant.relu %y : tensor<1x3x!quant.uniform<i8:f32, 0.05>>
  %f = quant.dequantize %r : tensor<1x3x!quant.uniform<i8:f32, 0.05>> -> tensor<1x3xf32>
  func.return %f : tensor<1x3xf32>
}

// CHECK: func.func @main(%x: tensor<1x4xf32>) -> tensor<1x3xf32> {
// CHECK-NEXT: %q = quant.quantize %x : tensor<1x4xf32> -> tensor<1x4x!quant.uniform<i8:f32, 0.0078125>>
// CHECK-NEXT: %w = quant.constant dense<[[1, 2, 3, 4], [5, 5, 5, 5], [-1, 0, 1, 0]]> : tensor<3x4xi8> -> tensor<3x4x!quant.uniform<i8:f32:0, {0.01, 0.02, 1.0e-05}>>
// CHECK-NEXT: %b = quant.constant dense<[10, 20, -30]> : tensor<3xi32> -> tensor<3x!quant.uniform<i32:f32:0, {7.8125e-05, 0.00015625, 7.8125e-08}>>
// CHECK-NEXT: %acc = quant.dense %q, %w, %b layer "layers.0" : (tensor<1x4x!quant.uniform<i8:f32, 0.0078125>>, tensor<3x4x!quant.uniform<i8:f32:0, {0.01, 0.02, 1.0e-05}>>, tensor<3x!quant.uniform<i32:f32:0, {7.8125e-05, 0.00015625, 7.8125e-08}>>) -> tensor<1x3x!quant.uniform<i32:f32:0, {7.8125e-05, 0.00015625, 7.8125e-08}>>
// CHECK-NEXT: %y = quant.requantize %acc multiplier array<i32: 100, 200, 3> shift 16 : tensor<1x3x!quant.uniform<i32:f32:0, {7.8125e-05, 0.00015625, 7.8125e-08}>> -> tensor<1x3x!quant.uniform<i8:f32, 0.05>>
// CHECK-NEXT: %r = quant.relu %y : tensor<1x3x!quant.uniform<i8:f32, 0.05>>
// CHECK-NEXT: %f = quant.dequantize %r : tensor<1x3x!quant.uniform<i8:f32, 0.05>> -> tensor<1x3xf32>
// CHECK-NEXT: func.return %f : tensor<1x3xf32>
// CHECK-GENERIC: %q = "quant.quantize"(%x) : (tensor<1x4xf32>) -> tensor<1x4x!quant.uniform<i8:f32, 0.0078125>>
// CHECK-GENERIC-NEXT: %w = "quant.constant"() <{value = dense<[[1, 2, 3, 4], [5, 5, 5, 5], [-1, 0, 1, 0]]> : tensor<3x4xi8>}> : () -> tensor<3x4x!quant.uniform<i8:f32:0, {0.01, 0.02, 1.0e-05}>>
// CHECK-GENERIC-NEXT: %b = "quant.constant"() <{value = dense<[10, 20, -30]> : tensor<3xi32>}> : () -> tensor<3x!quant.uniform<i32:f32:0, {7.8125e-05, 0.00015625, 7.8125e-08}>>
// CHECK-GENERIC-NEXT: %acc = "quant.dense"(%q, %w, %b) <{layer = "layers.0"}> : (tensor<1x4x!quant.uniform<i8:f32, 0.0078125>>, tensor<3x4x!quant.uniform<i8:f32:0, {0.01, 0.02, 1.0e-05}>>, tensor<3x!quant.uniform<i32:f32:0, {7.8125e-05, 0.00015625, 7.8125e-08}>>) -> tensor<1x3x!quant.uniform<i32:f32:0, {7.8125e-05, 0.00015625, 7.8125e-08}>>
// CHECK-GENERIC-NEXT: %y = "quant.requantize"(%acc) <{multiplier = array<i32: 100, 200, 3>, shift = 16 : i64}> : (tensor<1x3x!quant.uniform<i32:f32:0, {7.8125e-05, 0.00015625, 7.8125e-08}>>) -> tensor<1x3x!quant.uniform<i8:f32, 0.05>>
// CHECK-GENERIC-NEXT: %r = "quant.relu"(%y) : (tensor<1x3x!quant.uniform<i8:f32, 0.05>>) -> tensor<1x3x!quant.uniform<i8:f32, 0.05>>
// CHECK-GENERIC-NEXT: %f = "quant.dequantize"(%r) : (tensor<1x3x!quant.uniform<i8:f32, 0.05>>) -> tensor<1x3xf32>
