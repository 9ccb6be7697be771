// An outlined SpikeCore region inside a nested builtin.module is left alone by lower and place too
// (as partition and quantize leave nested modules), with the same remark; it is not lowered half-way.
// RUN: spike-opt %s -p lower-quant-to-spikecore,spikecore-place --remarks 2>&1 | filecheck %s

builtin.module {
  builtin.module {
    func.func private @spikecore_0(%x: tensor<1x2xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
      %q = quant.quantize %x : tensor<1x2xf32> -> tensor<1x2x!quant.uniform<i8:f32, 0.5>>
      %w = quant.constant dense<1> : tensor<2x2xi8> -> tensor<2x2x!quant.uniform<i8:f32, 0.5>>
      %b = quant.constant dense<0> : tensor<2xi32> -> tensor<2x!quant.uniform<i32:f32, 0.25>>
      %a = quant.dense %q, %w, %b : (tensor<1x2x!quant.uniform<i8:f32, 0.5>>, tensor<2x2x!quant.uniform<i8:f32, 0.5>>, tensor<2x!quant.uniform<i32:f32, 0.25>>) -> tensor<1x2x!quant.uniform<i32:f32, 0.25>>
      %f = quant.dequantize %a : tensor<1x2x!quant.uniform<i32:f32, 0.25>> -> tensor<1x2xf32>
      func.return %f : tensor<1x2xf32>
    }
    func.func @main(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
      %0 = func.call @spikecore_0(%x) : (tensor<1x2xf32>) -> tensor<1x2xf32>
      func.return %0 : tensor<1x2xf32>
    }
  }
}

// CHECK: remark: lower-quant-to-spikecore: nothing to lower: the module has no codegen = "spikecore" function; the functions of the 1 nested builtin.module(s) are not compiled
// CHECK: remark: spikecore-place: nothing to place: the module has no spikecore.program; the functions of the 1 nested
// CHECK: quant.dense
// CHECK: func.call @spikecore_0
// CHECK-NOT: spikecore.program
