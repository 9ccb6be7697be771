// RUN: spike-opt %s --split-input-file -p 'spikecore-place{neurons-per-core=1 cores=6}' --verify-diagnostics | filecheck %s --check-prefix=CORES
// RUN: spike-opt %s --split-input-file -p 'spikecore-place{synapse-bytes=3}' --verify-diagnostics | filecheck %s --check-prefix=BYTES
// RUN: not spike-opt %s --split-input-file -p 'spikecore-place{neurons-per-core=1 cores=6}' 2>&1 | filecheck %s --check-prefix=CLI
// RUN: not spike-opt %s --split-input-file -p 'spikecore-place{synapse-bytes=3}' 2>&1 | filecheck %s --check-prefix=CLI-LAYER
// Options the target cannot take, and an unknown target, are pass diagnostics too:
// RUN: spike-opt %s --split-input-file -p 'spikecore-place{cores=-1}' --verify-diagnostics | filecheck %s --check-prefix=NEGATIVE
// RUN: spike-opt %s --split-input-file -p 'spikecore-place{target=spikecore-v9}' --verify-diagnostics | filecheck %s --check-prefix=TARGET
// RUN: not spike-opt %s -p 'spikecore-place{cores=two}' 2>&1 | filecheck %s --check-prefix=TYPE
// RUN: spike-opt %s --split-input-file -p spikecore-place --verify-diagnostics | filecheck %s --check-prefix=LAYERS

// 5 + 2 neurons need 7 cores at one neuron per core; 4 synapses per neuron need 4 bytes.

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

// CORES: @net: the network needs 7 cores ("layers.0" 5, "layers.2" 2; each layer on its own cores, at most 1 neuron and 131072 synapse bytes per core) but target 'spikecore-v1' has 6; to fit, use a target with >= 7 cores (cores=7) or neurons-per-core=2 or reduce the layer width (the widest, "layers.0", has 5 neurons)
// BYTES: layers.0: one neuron needs 4 bytes of synaptic memory (fan-in 4) but target 'spikecore-v1' has 3 per core: use synapse-bytes=4 or more, or reduce the layer's input width
// The CLI places the error at the op that defines the program or layer it names.
// CLI: place-errors.mlir:13:1: error: @net: the network needs 7 cores
// CLI-LAYER: place-errors.mlir:20:3: error: layers.0: one neuron needs 4 bytes of synaptic memory
// NEGATIVE: spikecore-place: cores must be positive (or 0 for the target's value), got -1
// TARGET: spikecore-place: unknown target 'spikecore-v9'; known targets: spikecore-v1, spikecore-v1-seed
// TYPE: spike-opt: error: invalid pass pipeline -p 'spikecore-place{cores=two}':

// -----

// More layers than cores: no neuron count per core helps, each layer needs a core of its own.
spikecore.program @deep target <"spikecore-v1", cores = 2, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<1> : tensor<1x1xi8>
  spikecore.params @m0 dense<1> : tensor<1xi32>
  spikecore.synapses @w1 dense<1> : tensor<1x1xi8>
  spikecore.params @m1 dense<1> : tensor<1xi32>
  spikecore.synapses @w2 dense<1> : tensor<1x1xi8>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<1>
  %g0 = spikecore.group "l0" unit [1.0 : f64] : !spikecore.group<1>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<1>, !spikecore.spikes<1>
  %s0 = spikecore.fire %g0 graded @m0 shift 0 clamp [0, 127] unit 1.0 : !spikecore.group<1> -> !spikecore.spikes<1>
  %g1 = spikecore.group "l1" unit [1.0 : f64] : !spikecore.group<1>
  spikecore.acc %g1, %s0, @w1 : !spikecore.group<1>, !spikecore.spikes<1>
  %s1 = spikecore.fire %g1 graded @m1 shift 0 clamp [0, 127] unit 1.0 : !spikecore.group<1> -> !spikecore.spikes<1>
  %g2 = spikecore.group "l2" unit [1.0 : f64] : !spikecore.group<1>
  spikecore.acc %g2, %s1, @w2 : !spikecore.group<1>, !spikecore.spikes<1>
  spikecore.output %g2 : !spikecore.group<1>
  spikecore.halt
}
// LAYERS: @deep: the network needs 3 cores ("l0" 1, "l1" 1, "l2" 1; each layer on its own cores, at most 1024 neurons and 131072 synapse bytes per core) but target 'spikecore-v1' has 2; to fit, use a target with >= 3 cores (cores=3) or fewer layers (each of the 3 layers needs its own cores)
