// RUN: spike-opt %s -p lower-quant-to-spikecore --split-input-file --verify-diagnostics | filecheck %s
// The CLI places an error at the region it names:
// RUN: not spike-opt %s -p lower-quant-to-spikecore 2>&1 | filecheck %s --check-prefix=CLI
// RUN: spike-opt %s -p 'lower-quant-to-spikecore{target=spikecore-v9}' --split-input-file --verify-diagnostics | filecheck %s --check-prefix=TARGET
// TARGET: lower-quant-to-spikecore: unknown target 'spikecore-v9'; known targets: spikecore-v1, spikecore-v1-seed

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
// CLI: lower-errors.mlir:8:1: error: @spikecore_0: quant.dequantize: the region's output must be

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
// CHECK: @spikecore_2: nn.relu: the region is not quantized: run spikecore-quantize first

// -----

// A region takes one input tensor: SpikeCore has one input port.
func.func private @spikecore_3(%x: tensor<1x2xf32>, %y: tensor<1x2xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  func.return %x : tensor<1x2xf32>
}
// CHECK: @spikecore_3: a SpikeCore region takes one input tensor and returns one

// -----

// A layer whose input is a constant, not spikes on the bus: nothing on the chip could feed it.
func.func private @spikecore_4(%x: tensor<1x2xf32>) -> tensor<1x1xf32> attributes {codegen = "spikecore"} {
  %q = quant.quantize %x : tensor<1x2xf32> -> tensor<1x2x!quant.uniform<i8:f32, 0.5>>
  %w = quant.constant dense<1> : tensor<1x2xi8> -> tensor<1x2x!quant.uniform<i8:f32, 0.5>>
  %b = quant.constant dense<0> : tensor<1xi32> -> tensor<1x!quant.uniform<i32:f32, 0.25>>
  %a = quant.dense %w, %w, %b layer "fc" : (tensor<1x2x!quant.uniform<i8:f32, 0.5>>, tensor<1x2x!quant.uniform<i8:f32, 0.5>>, tensor<1x!quant.uniform<i32:f32, 0.25>>) -> tensor<1x1x!quant.uniform<i32:f32, 0.25>>
  %f = quant.dequantize %a : tensor<1x1x!quant.uniform<i32:f32, 0.25>> -> tensor<1x1xf32>
  func.return %f : tensor<1x1xf32>
}
// CHECK: @spikecore_4: quant.dense "fc": its input must be the quantized region input or a requantized layer

// -----

// One requantized result used with and without ReLU would need two FIREs of one group.
func.func private @spikecore_5(%x: tensor<1x2xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %q = quant.quantize %x : tensor<1x2xf32> -> tensor<1x2x!quant.uniform<i8:f32, 0.5>>
  %w = quant.constant dense<1> : tensor<2x2xi8> -> tensor<2x2x!quant.uniform<i8:f32, 0.5>>
  %b = quant.constant dense<0> : tensor<2xi32> -> tensor<2x!quant.uniform<i32:f32, 0.25>>
  %a = quant.dense %q, %w, %b layer "l0" : (tensor<1x2x!quant.uniform<i8:f32, 0.5>>, tensor<2x2x!quant.uniform<i8:f32, 0.5>>, tensor<2x!quant.uniform<i32:f32, 0.25>>) -> tensor<1x2x!quant.uniform<i32:f32, 0.25>>
  %y = quant.requantize %a multiplier array<i32: 1> shift 1 : tensor<1x2x!quant.uniform<i32:f32, 0.25>> -> tensor<1x2x!quant.uniform<i8:f32, 0.5>>
  %r = quant.relu %y : tensor<1x2x!quant.uniform<i8:f32, 0.5>>
  %a1 = quant.dense %y, %w, %b layer "l1" : (tensor<1x2x!quant.uniform<i8:f32, 0.5>>, tensor<2x2x!quant.uniform<i8:f32, 0.5>>, tensor<2x!quant.uniform<i32:f32, 0.25>>) -> tensor<1x2x!quant.uniform<i32:f32, 0.25>>
  %f = quant.dequantize %a1 : tensor<1x2x!quant.uniform<i32:f32, 0.25>> -> tensor<1x2xf32>
  func.return %f : tensor<1x2xf32>
}
// CHECK: @spikecore_5: quant.requantize: a requantized result used both with and without ReLU cannot be one FIRE

// -----

// Only the region's argument enters the chip: a second quantize has no port to come in through.
func.func private @spikecore_6(%x: tensor<1x2xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %q = quant.quantize %x : tensor<1x2xf32> -> tensor<1x2x!quant.uniform<i8:f32, 0.5>>
  %q2 = quant.quantize %x : tensor<1x2xf32> -> tensor<1x2x!quant.uniform<i8:f32, 0.25>>
  %f = quant.dequantize %q : tensor<1x2x!quant.uniform<i8:f32, 0.5>> -> tensor<1x2xf32>
  func.return %f : tensor<1x2xf32>
}
// CHECK: @spikecore_6: quant.quantize: a SpikeCore program has one input port

// -----

// 140,000 inputs of weight 127: a synaptic sum can reach 140000 x 127 x 128 > 2^31 - 1 before the
// bias, where the chip (several ACCs, each adding with saturation) and quant.dense (one saturation)
// would disagree; the lowering refuses the layer by name.
func.func private @spikecore_9(%x: tensor<1x140000xf32>) -> tensor<1x1xf32> attributes {codegen = "spikecore"} {
  %q = quant.quantize %x : tensor<1x140000xf32> -> tensor<1x140000x!quant.uniform<i8:f32, 0.5>>
  %w = quant.constant dense<127> : tensor<1x140000xi8> -> tensor<1x140000x!quant.uniform<i8:f32, 0.25>>
  %b = quant.constant dense<0> : tensor<1xi32> -> tensor<1x!quant.uniform<i32:f32, 0.125>>
  %a = quant.dense %q, %w, %b layer "wide" : (tensor<1x140000x!quant.uniform<i8:f32, 0.5>>, tensor<1x140000x!quant.uniform<i8:f32, 0.25>>, tensor<1x!quant.uniform<i32:f32, 0.125>>) -> tensor<1x1x!quant.uniform<i32:f32, 0.125>>
  %f = quant.dequantize %a : tensor<1x1x!quant.uniform<i32:f32, 0.125>> -> tensor<1x1xf32>
  func.return %f : tensor<1x1xf32>
}
// CHECK: @spikecore_9: quant.dense "wide": its synaptic sum can leave int32 before the bias is added (neuron 0: sum |w| = 17780000 over 140000 inputs, x 128 = 2275840000 > 2147483647)

// -----

// The same for a conv: 9 x 9 kernel over 2,000 channels of weight 127 (one output channel).
func.func private @spikecore_10(%x: tensor<1x2000x9x9xf32>) -> tensor<1x1x1x1xf32> attributes {codegen = "spikecore"} {
  %q = quant.quantize %x : tensor<1x2000x9x9xf32> -> tensor<1x2000x9x9x!quant.uniform<i8:f32, 0.5>>
  %w = quant.constant dense<127> : tensor<1x2000x9x9xi8> -> tensor<1x2000x9x9x!quant.uniform<i8:f32, 0.25>>
  %b = quant.constant dense<0> : tensor<1xi32> -> tensor<1x!quant.uniform<i32:f32, 0.125>>
  %a = quant.conv2d %q, %w, %b layer "big" : (tensor<1x2000x9x9x!quant.uniform<i8:f32, 0.5>>, tensor<1x2000x9x9x!quant.uniform<i8:f32, 0.25>>, tensor<1x!quant.uniform<i32:f32, 0.125>>) -> tensor<1x1x1x1x!quant.uniform<i32:f32, 0.125>>
  %f = quant.dequantize %a : tensor<1x1x1x1x!quant.uniform<i32:f32, 0.125>> -> tensor<1x1x1x1xf32>
  func.return %f : tensor<1x1x1x1xf32>
}
// CHECK: @spikecore_10: quant.conv2d "big": its synaptic sum can leave int32 before the bias is added (output channel 0: sum |w| = 20574000 over 162000 inputs
