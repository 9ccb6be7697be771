// The spikecore verifiers check what the chip would otherwise reject or compute wrongly.
// RUN: spike-opt %s --split-input-file --verify-diagnostics | filecheck %s

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 4, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  %g = spikecore.group "fc" unit [1.0 : f64] placed [#spikecore.slice<core = 0, base = 0, count = 2>] : !spikecore.group<3>
  spikecore.halt
}
// CHECK: 'spikecore.group' "fc" has 3 neurons but its placement covers 2

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 4, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  %g = spikecore.group "fc" unit [1.0 : f64] placed [#spikecore.slice<core = 2, base = 0, count = 3>] : !spikecore.group<3>
  spikecore.halt
}
// CHECK: 'spikecore.group' "fc" slice core 2 neurons [0:3] is outside target 'spikecore-v1' (2 cores x 4 neurons)

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 4, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  %g = spikecore.group "fc" unit [1.0 : f64] placed [#spikecore.slice<core = 0, base = 2, count = 3>] : !spikecore.group<3>
  spikecore.halt
}
// CHECK: 'spikecore.group' "fc" slice core 0 neurons [2:5] is outside target 'spikecore-v1' (2 cores x 4 neurons)

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 4, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  %g = spikecore.group "fc" unit [1.0 : f64, 2.0 : f64] : !spikecore.group<3>
  spikecore.halt
}
// CHECK: 'spikecore.group' needs 1 or 3 units, got 2

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 4, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.synapses @w dense<1> : tensor<3x5xi8>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<4>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<3>
  spikecore.acc %g, %in, @w : !spikecore.group<3>, !spikecore.spikes<4>
  spikecore.halt
}
// CHECK: 'spikecore.acc' synapses @w have shape [3, 5], expected [3, 4] (group x spikes)

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 4, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.params @w dense<1> : tensor<3xi32>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<4>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<3>
  spikecore.acc %g, %in, @w : !spikecore.group<3>, !spikecore.spikes<4>
  spikecore.halt
}
// CHECK: 'spikecore.acc' refers to @w, which is not a spikecore.synapses in this program

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 4, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.synapses @w dense<1> : tensor<3x4xi32>
  spikecore.halt
}
// CHECK: 'spikecore.synapses' @w must hold a 2-D i8 tensor

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 4, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.params @b dense<1> : tensor<2xi32>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<3>
  spikecore.acc_bias %g, @b : !spikecore.group<3>
  spikecore.halt
}
// CHECK: 'spikecore.acc_bias' params @b have 2 entries, expected 3

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 4, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.params @t dense<[5, 0, 7]> : tensor<3xi32>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<3>
  %s = spikecore.fire %g "binary" @t reset "zero" unit 1.0 : !spikecore.group<3> -> !spikecore.spikes<3>
  spikecore.halt
}
// CHECK: 'spikecore.fire' binary thresholds @t must be positive

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 4, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.params @m dense<1> : tensor<3xi32>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<3>
  %s = spikecore.fire %g "graded" @m shift 8 clamp [-200, 127] unit 1.0 : !spikecore.group<3> -> !spikecore.spikes<3>
  spikecore.halt
}
// CHECK: 'spikecore.fire' clamp [-200, 127] must satisfy -128 <= lo <= hi <= 127

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 4, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.params @m dense<1> : tensor<3xi32>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<3>
  %s = spikecore.fire %g "graded" @m shift 8 clamp [0, 127] reset "zero" unit 1.0 : !spikecore.group<3> -> !spikecore.spikes<3>
  spikecore.halt
}
// CHECK: 'spikecore.fire' graded always resets to zero: no reset or init_half

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 4, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<3>
  spikecore.leak %g shift 0 : !spikecore.group<3>
  spikecore.halt
}
// CHECK: 'spikecore.leak' shift must be in 1..31, got 0

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 4, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  %g = spikecore.group "fc" unit [1.0 : f64, 2.0 : f64, 3.0 : f64] : !spikecore.group<3>
  spikecore.output %g : !spikecore.group<3>
  spikecore.halt
}
// CHECK: 'spikecore.output' group "fc" must have one unit for all neurons

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 4, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<3>
  spikecore.output %g : !spikecore.group<3>
}
// CHECK: Operation spikecore.output terminates block in single-block region but is not a terminator

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 4, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  %in = spikecore.input unit 1.0 : !spikecore.spikes<4>
  spikecore.halt
}
func.func @main(%x: tensor<1x5xf32>) -> tensor<1x3xf32> {
  %y = spikecore.launch @p(%x) : (tensor<1x5xf32>) -> tensor<1x3xf32>
  func.return %y : tensor<1x3xf32>
}
// CHECK: 'spikecore.launch' passes 5 features per sample but @p has 4 inputs

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 4, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.params @t dense<1> : tensor<3xi32>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<3>
  %s = spikecore.fire %g binary @t unit 1.0 : !spikecore.group<3> -> !spikecore.spikes<3>
  spikecore.halt
}
// CHECK: 'spikecore.fire' binary needs reset zero or subtract
