// A #spikecore.conv geometry that breaks a rule of docs/isa.md "ACC (conv)" is rejected where it is parsed.
// RUN: spike-opt %s --split-input-file --parsing-diagnostics | filecheck %s

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 8, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  %in = spikecore.input unit 1.0 : !spikecore.spikes<4>
  %g = spikecore.group "conv" unit [1.0 : f64] : !spikecore.group<8>
  spikecore.acc_conv %g, %in, @k conv <in = 1x2x2, out = 2x2x2, kernel = 2x2, stride = 1x1, pad = 0x0, dilation = 1x1, groups = 1> : !spikecore.group<8>, !spikecore.spikes<4>
  spikecore.halt
}
// CHECK: #spikecore.conv: conv output shape 2x2x2 does not match 2x1x1 computed from in=1x2x2, kernel, stride, padding and dilation

// -----

spikecore.program @p target <"spikecore-v1", cores = 2, neurons_per_core = 8, synapse_bytes = 1024, max_fan_in = 64, bus_size = 256> {
  %in = spikecore.input unit 1.0 : !spikecore.spikes<3>
  %g = spikecore.group "conv" unit [1.0 : f64] : !spikecore.group<2>
  spikecore.acc_conv %g, %in, @k conv <in = 3x1x1, out = 2x1x1, kernel = 1x1, stride = 1x1, pad = 0x0, dilation = 1x1, groups = 2> : !spikecore.group<2>, !spikecore.spikes<3>
  spikecore.halt
}
// CHECK: #spikecore.conv: conv groups 2 must divide the input channels 3 and output channels 2
