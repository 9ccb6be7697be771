// The enum attributes (nn.fused_dense's activation, spikecore.fire's mode and reset) accept only their
// values: anything else is a parse error at the value, naming the choices.
// RUN: spike-opt %s --split-input-file --parsing-diagnostics | filecheck %s
// RUN: not spike-opt %s 2>&1 | filecheck %s --check-prefix=CLI

func.func @fused_activation(%x: tensor<1x4xf32>, %w: tensor<3x4xf32>) -> tensor<1x3xf32> {
  %0 = nn.fused_dense %x, %w activation "sigmoid" : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  func.return %0 : tensor<1x3xf32>
}
// CHECK: enum-invalid.mlir:7:41
// CHECK: Expected `none`, or `relu`.
// CLI: enum-invalid.mlir:7:41: error: Expected `none`, or `relu`.

// -----

func.func @generic_activation(%x: tensor<1x4xf32>, %w: tensor<3x4xf32>) -> tensor<1x3xf32> {
  %0 = "nn.fused_dense"(%x, %w) <{activation = #nn<activation gelu>}> : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  func.return %0 : tensor<1x3xf32>
}
// CHECK: enum-invalid.mlir:17:63
// CHECK: Expected `none`, or `relu`.

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 4, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.params @m dense<1> : tensor<3xi32>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<3>
  %s = spikecore.fire %g spiking @m unit 1.0 : !spikecore.group<3> -> !spikecore.spikes<3>
  spikecore.halt
}
// CHECK: enum-invalid.mlir:28:26
// CHECK: Expected `graded`, or `binary`.

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 4, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.params @t dense<1> : tensor<3xi32>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<3>
  %s = spikecore.fire %g binary @t reset "hold" unit 1.0 : !spikecore.group<3> -> !spikecore.spikes<3>
  spikecore.halt
}
// CHECK: enum-invalid.mlir:39:42
// CHECK: Expected `zero`, `subtract`, or `value`.
