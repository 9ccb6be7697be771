// RUN: spike-opt %s -p convert-to-snn --verify-diagnostics | filecheck %s
// RUN: spike-opt %s -p 'convert-to-snn{reset=hold}' --verify-diagnostics | filecheck %s --check-prefix=RESET

// A graded layer without ReLU (clamp [-128, 127]) has negative activations, which binary spikes
// cannot carry.
spikecore.program @net target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<[[1, 2]]> : tensor<1x2xi8>
  spikecore.params @b0 dense<[0]> : tensor<1xi32>
  spikecore.params @m0 dense<[1]> : tensor<1xi32>
  %in = spikecore.input unit 0.5 : !spikecore.spikes<2>
  %g0 = spikecore.group "signed" unit [0.25 : f64] : !spikecore.group<1>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<1>, !spikecore.spikes<2>
  spikecore.acc_bias %g0, @b0 : !spikecore.group<1>
  %s0 = spikecore.fire %g0 "graded" @m0 shift 1 clamp [-128, 127] unit 0.5 : !spikecore.group<1> -> !spikecore.spikes<1>
  spikecore.halt
}
// CHECK: @net: layer "signed": rate mode needs ReLU layers (graded clamp [0, hi]), got clamp [-128, 127]: binary spikes cannot carry negative values; compile this network in graded mode
// RESET: convert-to-snn: reset must be subtract or zero, got 'hold'
