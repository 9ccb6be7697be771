// The verifiers of the ISA v2 forms name the problem.
// RUN: spike-opt %s --split-input-file --verify-diagnostics | filecheck %s

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 8, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.synapses @w dense<1> : tensor<2x2xi8>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<2>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<2>
  spikecore.acc %g, %in, @w delay 70000 : !spikecore.group<2>, !spikecore.spikes<2>
  spikecore.halt
}
// CHECK: 'spikecore.acc' delay must be in 0..65535, got 70000

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 8, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.synapses @w dense<1> : tensor<2x2xi8>
  spikecore.params @t dense<1> : tensor<2xi32>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<2>
  spikecore.acc %g, %s, @w : !spikecore.group<2>, !spikecore.spikes<2>
  %s = spikecore.fire %g binary @t reset zero unit 1.0 : !spikecore.group<2> -> !spikecore.spikes<2>
  spikecore.halt
}
// CHECK: 'spikecore.acc' reads a spike stream produced later in the program with delay 0 (it would read zeros): a recurrent read needs delay >= 1

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 8, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.synapses @k dense<1> : tensor<2x3xi8>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<4>
  %g = spikecore.group "conv" unit [1.0 : f64] : !spikecore.group<2>
  spikecore.acc_conv %g, %in, @k conv <in = 1x2x2, out = 2x1x1, kernel = 2x2, stride = 1x1, pad = 0x0, dilation = 1x1, groups = 1> : !spikecore.group<2>, !spikecore.spikes<4>
  spikecore.halt
}
// CHECK: 'spikecore.acc_conv' kernel @k has shape [2, 3], expected [2, 4] (out channels x in_channels/groups*kh*kw)

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 8, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.synapses @k dense<1> : tensor<2x4xi8>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<5>
  %g = spikecore.group "conv" unit [1.0 : f64] : !spikecore.group<2>
  spikecore.acc_conv %g, %in, @k conv <in = 1x2x2, out = 2x1x1, kernel = 2x2, stride = 1x1, pad = 0x0, dilation = 1x1, groups = 1> : !spikecore.group<2>, !spikecore.spikes<5>
  spikecore.halt
}
// CHECK: 'spikecore.acc_conv' reads !spikecore.spikes<5> but its input map 1x2x2 has 4 positions

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 8, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.synapses @k dense<1> : tensor<2x4xi8>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<4>
  %g = spikecore.group "conv" unit [1.0 : f64] : !spikecore.group<3>
  spikecore.acc_conv %g, %in, @k conv <in = 1x2x2, out = 2x1x1, kernel = 2x2, stride = 1x1, pad = 0x0, dilation = 1x1, groups = 1> : !spikecore.group<3>, !spikecore.spikes<4>
  spikecore.halt
}
// CHECK: 'spikecore.acc_conv' group has 3 neurons but its output map 2x1x1 has 2 positions

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 8, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.params @dv dense<1> : tensor<2xi32>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<2>
  spikecore.leak %g shift 2 decay @dv : !spikecore.group<2>
  spikecore.halt
}
// CHECK: 'spikecore.leak' needs exactly one of shift N or decay @table

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 8, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.params @dv dense<[1, 4097]> : tensor<2xi32>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<2>
  spikecore.leak %g compartment i decay @dv : !spikecore.group<2>
  spikecore.halt
}
// CHECK: 'spikecore.leak' decays @dv must lie in 0..4096 (12-bit fractions)

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 8, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.params @dv dense<1> : tensor<3xi32>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<2>
  spikecore.leak %g decay @dv : !spikecore.group<2>
  spikecore.halt
}
// CHECK: 'spikecore.leak' params @dv have 3 entries, expected 2

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 8, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.params @t dense<1> : tensor<2xi32>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<2>
  %s = spikecore.fire %g binary @t reset value unit 1.0 : !spikecore.group<2> -> !spikecore.spikes<2>
  spikecore.halt
}
// CHECK: 'spikecore.fire' reset value needs the params table of reset values: reset value to @table

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 8, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.params @t dense<1> : tensor<2xi32>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<2>
  %s = spikecore.fire %g binary @t reset zero to @t unit 1.0 : !spikecore.group<2> -> !spikecore.spikes<2>
  spikecore.halt
}
// CHECK: 'spikecore.fire' reset zero takes no reset values table (only reset value does)

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 8, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.params @t dense<1> : tensor<2xi32>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<2>
  %s = spikecore.fire %g binary @t reset subtract refractory 1 unit 1.0 : !spikecore.group<2> -> !spikecore.spikes<2>
  spikecore.halt
}
// CHECK: 'spikecore.fire' refractory needs reset zero or reset value, not subtract

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 8, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.params @t dense<1> : tensor<2xi32>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<2>
  %s = spikecore.fire %g binary @t reset zero refractory 256 unit 1.0 : !spikecore.group<2> -> !spikecore.spikes<2>
  spikecore.halt
}
// CHECK: 'spikecore.fire' refractory must be in 0..255, got 256

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 8, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.params @m dense<1> : tensor<2xi32>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<2>
  %s = spikecore.fire %g graded @m shift 1 clamp [0, 127] refractory 1 unit 1.0 : !spikecore.group<2> -> !spikecore.spikes<2>
  spikecore.halt
}
// CHECK: 'spikecore.fire' graded takes no reset values or refractory period

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 8, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  spikecore.params @t dense<1> : tensor<2xi32>
  spikecore.params @vr dense<0> : tensor<3xi32>
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<2>
  %s = spikecore.fire %g binary @t reset value to @vr unit 1.0 : !spikecore.group<2> -> !spikecore.spikes<2>
  spikecore.halt
}
// CHECK: 'spikecore.fire' params @vr have 3 entries, expected 2

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 8, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<2>
  spikecore.probe %g : !spikecore.group<2>
  spikecore.halt
}
// CHECK: 'spikecore.probe' must record at least one of spikes, v, i

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 8, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  %g = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<2>
  spikecore.probe %g spikes : !spikecore.group<2>
  spikecore.halt
}
// CHECK: 'spikecore.probe' spikes needs the group to have exactly one spikecore.fire, it has 0
