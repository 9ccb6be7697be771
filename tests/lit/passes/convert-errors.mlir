// RUN: spike-opt %s --split-input-file -p convert-to-snn --verify-diagnostics | filecheck %s
// The CLI places a layer's error at the program that holds it:
// RUN: not spike-opt %s --split-input-file -p convert-to-snn 2>&1 | filecheck %s --check-prefix=CLI
// Options are checked while the pipeline is parsed, before any input is read: one line, exit status 1.
// RUN: not spike-opt %s -p 'convert-to-snn{reset=hold}' 2>&1 | filecheck %s --check-prefix=RESET
// RUN: not spike-opt %s -p 'convert-to-snn{init-half=maybe}' 2>&1 | filecheck %s --check-prefix=HALF
// A value the option's type allows but the pass does not is a pass diagnostic:
// RUN: spike-opt %s --split-input-file -p 'convert-to-snn{leak-shift=32}' --verify-diagnostics | filecheck %s --check-prefix=LEAK

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
// CLI: convert-errors.mlir:12:1: error: @net: layer "signed": rate mode needs ReLU layers
// CLI-NOT: Traceback
// RESET: spike-opt: error: invalid pass pipeline -p 'convert-to-snn{reset=hold}': {{.*}}'hold'{{.*}}'subtract', 'zero'
// RESET-NOT: Traceback
// HALF: spike-opt: error: invalid pass pipeline -p 'convert-to-snn{init-half=maybe}':
// LEAK: convert-to-snn: leak-shift must be 0 (no leak) or in 1..31, got 32

// -----

// A clamp of [0, 0] has no positive range: no threshold can represent it.
spikecore.program @flat target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<1> : tensor<1x2xi8>
  spikecore.params @m0 dense<1> : tensor<1xi32>
  %in = spikecore.input unit 0.5 : !spikecore.spikes<2>
  %g0 = spikecore.group "dead" unit [0.25 : f64] : !spikecore.group<1>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<1>, !spikecore.spikes<2>
  %s0 = spikecore.fire %g0 graded @m0 shift 1 clamp [0, 0] unit 0.5 : !spikecore.group<1> -> !spikecore.spikes<1>
  spikecore.halt
}
// CHECK: @flat: layer "dead": rate mode needs a clamp top of at least 1 to set a threshold, got clamp [0, 0]

// -----

// A threshold of lambda / unit_V = 127 * 1.0 / 1e-9 does not fit the int32 parameter table.
spikecore.program @huge target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<1> : tensor<1x2xi8>
  spikecore.params @m0 dense<1> : tensor<1xi32>
  %in = spikecore.input unit 0.5 : !spikecore.spikes<2>
  %g0 = spikecore.group "fine" unit [1.0e-09 : f64] : !spikecore.group<1>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<1>, !spikecore.spikes<2>
  %s0 = spikecore.fire %g0 graded @m0 shift 1 clamp [0, 127] unit 1.0 : !spikecore.group<1> -> !spikecore.spikes<1>
  spikecore.halt
}
// CHECK: @huge: layer "fine": its spike threshold 127000000000 does not fit int32

// -----

// A group that accumulates the converted spikes and the raw input: the two streams now have
// different units, so no single unit of V is right for both.
spikecore.program @mixed target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<1> : tensor<2x2xi8>
  spikecore.params @m0 dense<1> : tensor<2xi32>
  spikecore.synapses @w1 dense<1> : tensor<1x2xi8>
  spikecore.synapses @skip dense<1> : tensor<1x2xi8>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<2>
  %g0 = spikecore.group "hidden" unit [0.5 : f64] : !spikecore.group<2>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<2>, !spikecore.spikes<2>
  %s0 = spikecore.fire %g0 graded @m0 shift 0 clamp [0, 10] unit 1.0 : !spikecore.group<2> -> !spikecore.spikes<2>
  %g1 = spikecore.group "join" unit [0.25 : f64] : !spikecore.group<1>
  spikecore.acc %g1, %s0, @w1 : !spikecore.group<1>, !spikecore.spikes<2>
  spikecore.acc %g1, %in, @skip : !spikecore.group<1>, !spikecore.spikes<2>
  spikecore.output %g1 : !spikecore.group<1>
  spikecore.halt
}
// CHECK: @mixed: layer "join": accumulates spike streams of different units; cannot rescale it

// -----

// Two programs that @main launches with a host op between them: the first region's output is an
// accumulator the host reads, so its activation would not be spikes; rate mode refuses instead of
// silently running it in float. (Programs no function launches are independent and converted.)
spikecore.program @a target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<[[1, 2]]> : tensor<1x2xi8>
  %in = spikecore.input unit 0.5 : !spikecore.spikes<2>
  %g0 = spikecore.group "first" unit [0.25 : f64] : !spikecore.group<1>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<1>, !spikecore.spikes<2>
  spikecore.output %g0 : !spikecore.group<1>
  spikecore.halt
}
spikecore.program @b target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @w0 dense<[[3]]> : tensor<1x1xi8>
  %in = spikecore.input unit 0.5 : !spikecore.spikes<1>
  %g0 = spikecore.group "second" unit [0.25 : f64] : !spikecore.group<1>
  spikecore.acc %g0, %in, @w0 : !spikecore.group<1>, !spikecore.spikes<1>
  spikecore.output %g0 : !spikecore.group<1>
  spikecore.halt
}
func.func @main(%x: tensor<1x2xf32>) -> tensor<1x1xf32> {
  %0 = spikecore.launch @a(%x) : (tensor<1x2xf32>) -> tensor<1x1xf32>
  %1 = nn.relu %0 : tensor<1x1xf32>
  %2 = spikecore.launch @b(%1) : (tensor<1x1xf32>) -> tensor<1x1xf32>
  func.return %2 : tensor<1x1xf32>
}
// CHECK: @b: rate mode needs a model's SpikeCore layers in one region, but host ops (a max pooling, a softmax, ...) split them into 2 launched programs (@a, @b)

// -----

// A QCFS lambda for a layer whose group is the region's output (no FIRE): its clip cannot act.
builtin.module attributes {spikecore.thresholds = {last = 2.0 : f64}} {
  spikecore.program @net target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
    spikecore.synapses @w0 dense<[[1, 2]]> : tensor<1x2xi8>
    %in = spikecore.input unit 0.5 : !spikecore.spikes<2>
    %g0 = spikecore.group "last" unit [0.25 : f64] : !spikecore.group<1>
    spikecore.acc %g0, %in, @w0 : !spikecore.group<1>, !spikecore.spikes<2>
    spikecore.output %g0 : !spikecore.group<1>
    spikecore.halt
  }
}
// CHECK: spikecore.thresholds names layer "last", whose activation runs on the host (its group is a region's output accumulator, with no FIRE), so its QCFS clip cannot act
