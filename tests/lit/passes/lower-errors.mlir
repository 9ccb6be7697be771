// RUN: spike-opt %s -p lower-quant-to-spikecore --split-input-file --verify-diagnostics | filecheck %s

// A region whose output is requantized int8: SpikeCore outputs are accumulators, never payloads.
func.func private @spikecore_0(%x: tensor<1x2xf32>) -> tensor<1x1xf32> attributes {codegen = "spikecore"} {
  %q = quant.quantize %x : tensor<1x2xf32> -> tensor<1x2x!quant.uniform<i8:f32, 0.5>>
  %w = quant.constant dense<[[1, 2]]> : tensor<1x2xi8> -> tensor<1x2x!quant.uniform<i8:f32, 0.25>>
  %b = quant.constant dense<[3]> : tensor<1xi32> -> tensor<1x!quant.uniform<i32:f32, 0.125>>
  %a = quant.dense %q, %w, %b layer "fc" : (tensor<1x2x!quant.uniform<i8:f32, 0.5>>, tensor<1x2x!quant.uniform<i8:f32, 0.25>>, tensor<1x!quant.uniform<i32:f32, 0.125>>) -> tensor<1x1x!quant.uniform<i32:f32, 0.125>>
  %y = quant.requantize %a multiplier array<i32: 1> shift 1 : tensor<1x1x!quant.uniform<i32:f32, 0.125>> -> tensor<1x1x!quant.uniform<i8:f32, 0.25>>
  %f = quant.dequantize %y : tensor<1x1x!quant.uniform<i8:f32, 0.25>> -> tensor<1x1xf32>
  func.return %f : tensor<1x1xf32>
}
// CHECK: @spikecore_0: quant.dequantize: the region's output must be its last layer's int32 accumulator (never requantized)

// -----

// A ReLU on its own (not after a requantization) has no FIRE to live in.
func.func private @spikecore_1(%x: tensor<1x2xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %q = quant.quantize %x : tensor<1x2xf32> -> tensor<1x2x!quant.uniform<i8:f32, 0.5>>
  %r = quant.relu %q : tensor<1x2x!quant.uniform<i8:f32, 0.5>>
  %f = quant.dequantize %r : tensor<1x2x!quant.uniform<i8:f32, 0.5>> -> tensor<1x2xf32>
  func.return %f : tensor<1x2xf32>
}
// CHECK: @spikecore_1: quant.relu: SpikeCore applies ReLU only in the FIRE of a requantized layer

// -----

// Float ops left in a region (the quantize pass was not run) have no lowering.
func.func private @spikecore_2(%x: tensor<1x2xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %r = nn.relu %x : tensor<1x2xf32>
  func.return %r : tensor<1x2xf32>
}
// CHECK: @spikecore_2: nn.relu: the region is not quantized: run the quantize pass first
