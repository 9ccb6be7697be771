// spikecore-place on the cases that are easy to get wrong: no synapses at all, several spike streams,
// several programs, an exact fit, and running twice.
// RUN: spike-opt %s --split-input-file -p spikecore-place | filecheck %s
// Placing again with the target the first run recorded changes nothing, whatever the first run's options:
// RUN: spike-opt %s --split-input-file -p 'spikecore-place,spikecore-place' | filecheck %s
// RUN: spike-opt %s --split-input-file -p 'spikecore-place{neurons-per-core=2 synapse-bytes=12},spikecore-place' | filecheck %s --check-prefix=SMALL
// RUN: spike-opt %s --split-input-file -p 'spikecore-place{neurons-per-core=2 synapse-bytes=12}' | filecheck %s --check-prefix=SMALL

// Fan-in 0: a group that only accumulates its bias needs no synaptic memory, so only neurons per
// core bound it (5 neurons on 2-neuron cores: 2, 2, 1).
spikecore.program @bias_only target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.params @b0 dense<1> : tensor<5xi32>
  %g0 = spikecore.group "constant" unit [1.0 : f64] : !spikecore.group<5>
  spikecore.acc_bias %g0, @b0 : !spikecore.group<5>
  spikecore.output %g0 : !spikecore.group<5>
  spikecore.halt
}
// CHECK-LABEL: spikecore.program @bias_only
// CHECK:         spikecore.group "constant" {{.*}} placed [#spikecore.slice<core = 0, base = 0, count = 5>]
// SMALL-LABEL:   spikecore.program @bias_only target <"spikecore-v1", cores = 128, neurons_per_core = 2, synapse_bytes = 12,
// SMALL:         "constant" {{.*}} placed [#spikecore.slice<core = 0, base = 0, count = 2>, #spikecore.slice<core = 1, base = 0, count = 2>, #spikecore.slice<core = 2, base = 0, count = 1>]

// -----

// Two spike streams into one group: its fan-in is their sum (4 + 2 = 6 synapses per neuron), so
// 12 bytes hold 2 of its neurons per core.
spikecore.program @two_streams target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<1> : tensor<2x4xi8>
  spikecore.params @m0 dense<1> : tensor<2xi32>
  spikecore.synapses @w1 dense<1> : tensor<3x4xi8>
  spikecore.synapses @w2 dense<1> : tensor<3x2xi8>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<4>
  %g0 = spikecore.group "a" unit [1.0 : f64] : !spikecore.group<2>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<2>, !spikecore.spikes<4>
  %s0 = spikecore.fire %g0 graded @m0 shift 0 clamp [0, 127] unit 1.0 : !spikecore.group<2> -> !spikecore.spikes<2>
  %g1 = spikecore.group "join" unit [1.0 : f64] : !spikecore.group<3>
  spikecore.acc %g1, %in, @w1 : !spikecore.group<3>, !spikecore.spikes<4>
  spikecore.acc %g1, %s0, @w2 : !spikecore.group<3>, !spikecore.spikes<2>
  spikecore.output %g1 : !spikecore.group<3>
  spikecore.halt
}
// CHECK-LABEL: spikecore.program @two_streams
// CHECK:         spikecore.group "a" {{.*}} placed [#spikecore.slice<core = 0, base = 0, count = 2>]
// CHECK:         spikecore.group "join" {{.*}} placed [#spikecore.slice<core = 1, base = 0, count = 3>]
// SMALL-LABEL:   spikecore.program @two_streams
// SMALL:         "a" {{.*}} placed [#spikecore.slice<core = 0, base = 0, count = 2>]
// SMALL:         "join" {{.*}} placed [#spikecore.slice<core = 1, base = 0, count = 2>, #spikecore.slice<core = 2, base = 0, count = 1>]

// -----

// Two programs in one module (two SpikeCore regions): each is placed on its own chip from core 0,
// each on its own target.
spikecore.program @first target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<1> : tensor<3x2xi8>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<2>
  %g0 = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<3>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<3>, !spikecore.spikes<2>
  spikecore.output %g0 : !spikecore.group<3>
  spikecore.halt
}
spikecore.program @second target <"spikecore-v1-seed", cores = 128, neurons_per_core = 1, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<1> : tensor<2x3xi8>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<3>
  %g0 = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<2>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<2>, !spikecore.spikes<3>
  spikecore.output %g0 : !spikecore.group<2>
  spikecore.halt
}
// CHECK-LABEL: spikecore.program @first
// CHECK:         "fc" {{.*}} placed [#spikecore.slice<core = 0, base = 0, count = 3>]
// CHECK-LABEL: spikecore.program @second target <"spikecore-v1-seed", cores = 128, neurons_per_core = 1,
// CHECK:         "fc" {{.*}} placed [#spikecore.slice<core = 0, base = 0, count = 1>, #spikecore.slice<core = 1, base = 0, count = 1>]

// -----

// A layer that exactly fills its cores (4 neurons x 3 synapses = 12 bytes): no core is left half used.
spikecore.program @exact target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<1> : tensor<4x3xi8>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<3>
  %g0 = spikecore.group "fc" unit [1.0 : f64] : !spikecore.group<4>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<4>, !spikecore.spikes<3>
  spikecore.output %g0 : !spikecore.group<4>
  spikecore.halt
}
// CHECK-LABEL: spikecore.program @exact
// CHECK:         "fc" {{.*}} placed [#spikecore.slice<core = 0, base = 0, count = 4>]
// SMALL-LABEL:   spikecore.program @exact
// SMALL:         "fc" {{.*}} placed [#spikecore.slice<core = 0, base = 0, count = 2>, #spikecore.slice<core = 1, base = 0, count = 2>]

// -----

// An already placed group is placed again from scratch: a placement does not survive a new target.
spikecore.program @replace target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<1> : tensor<3x2xi8>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<2>
  %g0 = spikecore.group "fc" unit [1.0 : f64] placed [#spikecore.slice<core = 7, base = 0, count = 3>] : !spikecore.group<3>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<3>, !spikecore.spikes<2>
  spikecore.output %g0 : !spikecore.group<3>
  spikecore.halt
}
// CHECK-LABEL: spikecore.program @replace
// CHECK:         "fc" {{.*}} placed [#spikecore.slice<core = 0, base = 0, count = 3>]
// SMALL-LABEL:   spikecore.program @replace
// SMALL:         "fc" {{.*}} placed [#spikecore.slice<core = 0, base = 0, count = 2>, #spikecore.slice<core = 1, base = 0, count = 1>]
