// lower-quant-to-spikecore on shapes of input the two-layer test does not have.
// RUN: spike-opt %s --split-input-file -p lower-quant-to-spikecore | filecheck %s
// Run twice, the second run finds no region left and changes nothing:
// RUN: spike-opt %s --split-input-file -p lower-quant-to-spikecore,lower-quant-to-spikecore | filecheck %s
// The target option names the chip the programs are built for:
// RUN: spike-opt %s --split-input-file -p 'lower-quant-to-spikecore{target=spikecore-v1-seed}' | filecheck %s --check-prefix=SEED

// Two regions in one module: each becomes its own program, with its own symbol table, so both hold
// an @w0 without clashing; each call becomes a launch of its program.
func.func private @spikecore_0(%x: tensor<1x2xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %q = quant.quantize %x : tensor<1x2xf32> -> tensor<1x2x!quant.uniform<i8:f32, 0.5>>
  %w = quant.constant dense<1> : tensor<2x2xi8> -> tensor<2x2x!quant.uniform<i8:f32, 0.5>>
  %b = quant.constant dense<0> : tensor<2xi32> -> tensor<2x!quant.uniform<i32:f32, 0.25>>
  %a = quant.dense %q, %w, %b layer "first" : (tensor<1x2x!quant.uniform<i8:f32, 0.5>>, tensor<2x2x!quant.uniform<i8:f32, 0.5>>, tensor<2x!quant.uniform<i32:f32, 0.25>>) -> tensor<1x2x!quant.uniform<i32:f32, 0.25>>
  %f = quant.dequantize %a : tensor<1x2x!quant.uniform<i32:f32, 0.25>> -> tensor<1x2xf32>
  func.return %f : tensor<1x2xf32>
}
func.func private @spikecore_1(%x: tensor<1x2xf32>) -> tensor<1x1xf32> attributes {codegen = "spikecore"} {
  %q = quant.quantize %x : tensor<1x2xf32> -> tensor<1x2x!quant.uniform<i8:f32, 0.125>>
  %w = quant.constant dense<2> : tensor<1x2xi8> -> tensor<1x2x!quant.uniform<i8:f32, 0.5>>
  %b = quant.constant dense<3> : tensor<1xi32> -> tensor<1x!quant.uniform<i32:f32, 0.0625>>
  %a = quant.dense %q, %w, %b layer "second" : (tensor<1x2x!quant.uniform<i8:f32, 0.125>>, tensor<1x2x!quant.uniform<i8:f32, 0.5>>, tensor<1x!quant.uniform<i32:f32, 0.0625>>) -> tensor<1x1x!quant.uniform<i32:f32, 0.0625>>
  %f = quant.dequantize %a : tensor<1x1x!quant.uniform<i32:f32, 0.0625>> -> tensor<1x1xf32>
  func.return %f : tensor<1x1xf32>
}
func.func @main(%x: tensor<1x2xf32>) -> tensor<1x1xf32> {
  %0 = func.call @spikecore_0(%x) : (tensor<1x2xf32>) -> tensor<1x2xf32>
  %1 = nn.relu %0 : tensor<1x2xf32>
  %2 = func.call @spikecore_1(%1) : (tensor<1x2xf32>) -> tensor<1x1xf32>
  func.return %2 : tensor<1x1xf32>
}
// CHECK-LABEL: spikecore.program @spikecore_0 target <"spikecore-v1",
// CHECK-NEXT:    spikecore.synapses @w0 dense<1> : tensor<2x2xi8>
// CHECK-NEXT:    spikecore.params @b0 dense<0> : tensor<2xi32>
// CHECK:         spikecore.group "first" unit [2.500000e-01 : f64] : !spikecore.group<2>
// CHECK-LABEL: spikecore.program @spikecore_1 target <"spikecore-v1",
// CHECK-NEXT:    spikecore.synapses @w0 dense<2> : tensor<1x2xi8>
// CHECK-NEXT:    spikecore.params @b0 dense<3> : tensor<1xi32>
// CHECK-NEXT:    spikecore.input unit 1.250000e-01 : !spikecore.spikes<2>
// CHECK:         spikecore.group "second" unit [6.250000e-02 : f64] : !spikecore.group<1>
// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %0 = spikecore.launch @spikecore_0(%x) : (tensor<1x2xf32>) -> tensor<1x2xf32>
// CHECK-NEXT:    %1 = nn.relu %0
// CHECK-NEXT:    %2 = spikecore.launch @spikecore_1(%1) : (tensor<1x2xf32>) -> tensor<1x1xf32>
// SEED: spikecore.program @spikecore_0 target <"spikecore-v1-seed", cores = 128, neurons_per_core = 1,
// SEED: spikecore.program @spikecore_1 target <"spikecore-v1-seed", cores = 128, neurons_per_core = 1,

// -----

// One weight constant shared by two layers: each layer gets its own synapse table (tables are per
// layer, in layer order). A hidden layer without ReLU fires over the whole int8 range, clamp [-128, 127].
func.func private @spikecore_0(%x: tensor<1x2xf32>) -> tensor<1x2xf32> attributes {codegen = "spikecore"} {
  %q = quant.quantize %x : tensor<1x2xf32> -> tensor<1x2x!quant.uniform<i8:f32, 0.5>>
  %w = quant.constant dense<[[1, -1], [2, 3]]> : tensor<2x2xi8> -> tensor<2x2x!quant.uniform<i8:f32, 0.5>>
  %b = quant.constant dense<0> : tensor<2xi32> -> tensor<2x!quant.uniform<i32:f32, 0.25>>
  %a = quant.dense %q, %w, %b layer "l0" : (tensor<1x2x!quant.uniform<i8:f32, 0.5>>, tensor<2x2x!quant.uniform<i8:f32, 0.5>>, tensor<2x!quant.uniform<i32:f32, 0.25>>) -> tensor<1x2x!quant.uniform<i32:f32, 0.25>>
  %y = quant.requantize %a multiplier array<i32: 1> shift 1 : tensor<1x2x!quant.uniform<i32:f32, 0.25>> -> tensor<1x2x!quant.uniform<i8:f32, 0.5>>
  %a1 = quant.dense %y, %w, %b layer "l1" : (tensor<1x2x!quant.uniform<i8:f32, 0.5>>, tensor<2x2x!quant.uniform<i8:f32, 0.5>>, tensor<2x!quant.uniform<i32:f32, 0.25>>) -> tensor<1x2x!quant.uniform<i32:f32, 0.25>>
  %f = quant.dequantize %a1 : tensor<1x2x!quant.uniform<i32:f32, 0.25>> -> tensor<1x2xf32>
  func.return %f : tensor<1x2xf32>
}
func.func @main(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %0 = func.call @spikecore_0(%x) : (tensor<1x2xf32>) -> tensor<1x2xf32>
  func.return %0 : tensor<1x2xf32>
}
// CHECK-LABEL: spikecore.program @spikecore_0
// CHECK-NEXT:    spikecore.synapses @w0 dense<{{\[\[}}1, -1], [2, 3]]> : tensor<2x2xi8>
// CHECK-NEXT:    spikecore.params @b0 dense<0> : tensor<2xi32>
// CHECK-NEXT:    spikecore.params @m0 dense<1> : tensor<2xi32>
// CHECK-NEXT:    spikecore.synapses @w1 dense<{{\[\[}}1, -1], [2, 3]]> : tensor<2x2xi8>
// CHECK-NEXT:    spikecore.params @b1 dense<0> : tensor<2xi32>
// CHECK:         spikecore.fire %{{.*}} graded @m0 shift 1 clamp[-128, 127] unit 5.000000e-01
// CHECK:         spikecore.group "l1"
// CHECK-NEXT:    spikecore.acc %{{.*}}, %{{.*}}, @w1

// -----

// A layer without a name gets one from its position; a module without regions is left alone.
func.func private @spikecore_0(%x: tensor<1x2xf32>) -> tensor<1x1xf32> attributes {codegen = "spikecore"} {
  %q = quant.quantize %x : tensor<1x2xf32> -> tensor<1x2x!quant.uniform<i8:f32, 0.5>>
  %w = quant.constant dense<1> : tensor<1x2xi8> -> tensor<1x2x!quant.uniform<i8:f32, 0.5>>
  %b = quant.constant dense<0> : tensor<1xi32> -> tensor<1x!quant.uniform<i32:f32, 0.25>>
  %a = quant.dense %q, %w, %b : (tensor<1x2x!quant.uniform<i8:f32, 0.5>>, tensor<1x2x!quant.uniform<i8:f32, 0.5>>, tensor<1x!quant.uniform<i32:f32, 0.25>>) -> tensor<1x1x!quant.uniform<i32:f32, 0.25>>
  %f = quant.dequantize %a : tensor<1x1x!quant.uniform<i32:f32, 0.25>> -> tensor<1x1xf32>
  func.return %f : tensor<1x1xf32>
}
func.func @main(%x: tensor<1x2xf32>) -> tensor<1x1xf32> {
  %0 = func.call @spikecore_0(%x) : (tensor<1x2xf32>) -> tensor<1x1xf32>
  func.return %0 : tensor<1x1xf32>
}
// CHECK-LABEL: spikecore.program @spikecore_0
// CHECK:         spikecore.group "layer0" unit [2.500000e-01 : f64] : !spikecore.group<1>

// -----

func.func @host_only(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %0 = nn.relu %x : tensor<1x2xf32>
  func.return %0 : tensor<1x2xf32>
}
// CHECK-LABEL: func.func @host_only
// CHECK-NEXT:    %0 = nn.relu %x
// CHECK-NEXT:    func.return %0
