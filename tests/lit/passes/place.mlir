// RUN: spike-opt %s -p spikecore-place | filecheck %s
// RUN: spike-opt %s -p 'spikecore-place{neurons-per-core=2}' | filecheck %s --check-prefix=NPC2
// RUN: spike-opt %s -p 'spikecore-place{synapse-bytes=8}' | filecheck %s --check-prefix=BYTES
// RUN: spike-opt %s -p 'spikecore-place{target=spikecore-v1-seed}' | filecheck %s --check-prefix=SEED

// Each layer on its own fresh cores, in program order, split evenly.

spikecore.program @net target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<1> : tensor<5x4xi8>
  spikecore.params @b0 dense<0> : tensor<5xi32>
  spikecore.params @m0 dense<1> : tensor<5xi32>
  spikecore.synapses @w1 dense<1> : tensor<2x5xi8>
  spikecore.params @b1 dense<0> : tensor<2xi32>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<4>
  %g0 = spikecore.group "layers.0" unit [1.0 : f64] : !spikecore.group<5>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<5>, !spikecore.spikes<4>
  spikecore.acc_bias %g0, @b0 : !spikecore.group<5>
  %s0 = spikecore.fire %g0 "graded" @m0 shift 0 clamp [0, 127] unit 1.0 : !spikecore.group<5> -> !spikecore.spikes<5>
  %g1 = spikecore.group "layers.2" unit [1.0 : f64] : !spikecore.group<2>
  spikecore.acc %g1, %s0, @w1 : !spikecore.group<2>, !spikecore.spikes<5>
  spikecore.acc_bias %g1, @b1 : !spikecore.group<2>
  spikecore.output %g1 : !spikecore.group<2>
  spikecore.halt
}

// CHECK: spikecore.program @net target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072,
// CHECK: spikecore.group "layers.0" unit [1.000000e+00 : f64] placed [#spikecore.slice<core = 0, base = 0, count = 5>]
// CHECK: spikecore.group "layers.2" unit [1.000000e+00 : f64] placed [#spikecore.slice<core = 1, base = 0, count = 2>]

// The override is recorded in the program's target. 5 neurons over ceil(5/2) = 3 cores: 2, 2, 1.
// NPC2: spikecore.program @net target <"spikecore-v1", cores = 128, neurons_per_core = 2, synapse_bytes = 131072,
// NPC2: "layers.0" {{.*}} placed [#spikecore.slice<core = 0, base = 0, count = 2>, #spikecore.slice<core = 1, base = 0, count = 2>, #spikecore.slice<core = 2, base = 0, count = 1>]
// NPC2: "layers.2" {{.*}} placed [#spikecore.slice<core = 3, base = 0, count = 2>]

// 8 bytes hold two 4-input neurons (capacity 2) but one 5-input neuron (capacity 1).
// BYTES: synapse_bytes = 8,
// BYTES: "layers.0" {{.*}} placed [#spikecore.slice<core = 0, base = 0, count = 2>, #spikecore.slice<core = 1, base = 0, count = 2>, #spikecore.slice<core = 2, base = 0, count = 1>]
// BYTES: "layers.2" {{.*}} placed [#spikecore.slice<core = 3, base = 0, count = 1>, #spikecore.slice<core = 4, base = 0, count = 1>]

// SEED: target <"spikecore-v1-seed", cores = 128, neurons_per_core = 1,
// SEED: "layers.0" {{.*}} placed [#spikecore.slice<core = 0, base = 0, count = 1>, #spikecore.slice<core = 1, {{.*}}, #spikecore.slice<core = 4, base = 0, count = 1>]
// SEED: "layers.2" {{.*}} placed [#spikecore.slice<core = 5, base = 0, count = 1>, #spikecore.slice<core = 6, base = 0, count = 1>]
