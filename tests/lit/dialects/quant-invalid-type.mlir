// A malformed !quant.uniform is rejected while parsing, at the op that contains it.
// RUN: spike-opt %s --split-input-file --parsing-diagnostics | filecheck %s

func.func @negative_scale(%x: tensor<2x!quant.uniform<i8:f32, -0.5>>) {
  func.return
}
// CHECK: quant-invalid-type.mlir:4:1
// CHECK: quant.uniform scales must be finite and positive, got -0.5

// -----

func.func @storage(%x: tensor<2x!quant.uniform<i16:f32, 0.5>>) {
  func.return
}
// CHECK: quant-invalid-type.mlir:12:1
// CHECK: quant.uniform storage must be i8 or i32, got i16

// -----

func.func @per_tensor_two_scales() {
  %c = quant.constant dense<1> : tensor<2xi8> -> tensor<2x!quant.uniform<i8:f32, {0.5, 0.25}>>
  func.return
}
// CHECK: quant-invalid-type.mlir:21:82
// CHECK: Expected float literal
