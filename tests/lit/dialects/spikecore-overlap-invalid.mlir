// Placed IR whose slices overlap, within a group or across two groups, is rejected by the verifier
// (it would emit and run wrong: two slices would share a neuron's state).
// RUN: spike-opt %s --split-input-file --verify-diagnostics | filecheck %s

spikecore.program @within target <"small", cores = 2, neurons_per_core = 8, synapse_bytes = 4096, max_fan_in = 16, bus_size = 64> {
  spikecore.synapses @w dense<1> : tensor<4x2xi8>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<2>
  %g = spikecore.group "a" unit [1.0 : f64] placed [#spikecore.slice<core = 0, base = 0, count = 2>, #spikecore.slice<core = 0, base = 1, count = 2>] : !spikecore.group<4>
  spikecore.acc %g, %in, @w : !spikecore.group<4>, !spikecore.spikes<2>
  spikecore.output %g : !spikecore.group<4>
  spikecore.halt
}
// CHECK: 'spikecore.program' core 0 neurons [0:2] of "a" overlap [1:3] of "a": a core's neuron belongs to one slice

// -----

spikecore.program @across target <"small", cores = 2, neurons_per_core = 8, synapse_bytes = 4096, max_fan_in = 16, bus_size = 64> {
  spikecore.synapses @w dense<1> : tensor<2x2xi8>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<2>
  %g = spikecore.group "a" unit [1.0 : f64] placed [#spikecore.slice<core = 1, base = 0, count = 2>] : !spikecore.group<2>
  spikecore.acc %g, %in, @w : !spikecore.group<2>, !spikecore.spikes<2>
  %h = spikecore.group "b" unit [1.0 : f64] placed [#spikecore.slice<core = 1, base = 1, count = 2>] : !spikecore.group<2>
  spikecore.acc %h, %in, @w : !spikecore.group<2>, !spikecore.spikes<2>
  spikecore.output %h : !spikecore.group<2>
  spikecore.halt
}
// CHECK: 'spikecore.program' core 1 neurons [0:2] of "a" overlap [1:3] of "b"
