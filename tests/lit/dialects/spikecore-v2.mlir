// Every ISA v2 form of the spikecore dialect round-trips, custom and generic: streamed input, ACC
// delay (a recurrent read of the group's own spikes) and the current compartment, the current ACC,
// the conv ACC with its #spikecore.conv geometry, LEAK by a decay table, FIRE reset to values with a
// refractory period, and probes.
// RUN: spike-opt %s | spike-opt | filecheck %s
// RUN: SPIKE_ROUNDTRIP
// RUN: SPIKE_GENERIC_ROUNDTRIP
// RUN: XDSL_ROUNDTRIP

spikecore.program @v2 target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @k dense<[[1, 0, -1, 2], [1, 1, 1, 1]]> : tensor<2x4xi8>
  spikecore.synapses @r dense<[[0, 1], [1, 0]]> : tensor<2x2xi8>
  spikecore.params @du dense<[512, 1024]> : tensor<2xi32>
  spikecore.params @dv dense<409> : tensor<2xi32>
  spikecore.params @t dense<[3, 4]> : tensor<2xi32>
  spikecore.params @vr dense<[-1, 0]> : tensor<2xi32>
  spikecore.params @b dense<1> : tensor<2xi32>
  %in = spikecore.input unit 1.0 stream : !spikecore.spikes<4>
  %g = spikecore.group "conv" unit [1.0 : f64] placed [#spikecore.slice<core = 0, base = 0, count = 2>] : !spikecore.group<2>
  spikecore.acc_conv %g, %in, @k conv <in = 1x2x2, out = 2x1x1, kernel = 2x2, stride = 1x1, pad = 0x0, dilation = 1x1, groups = 1> compartment i : !spikecore.group<2>, !spikecore.spikes<4>
  spikecore.acc %g, %s, @r compartment i delay 1 : !spikecore.group<2>, !spikecore.spikes<2>
  spikecore.acc_bias %g, @b compartment v : !spikecore.group<2>
  spikecore.leak %g compartment i decay @du : !spikecore.group<2>
  spikecore.leak %g decay @dv : !spikecore.group<2>
  spikecore.leak %g compartment i shift 3 : !spikecore.group<2>
  spikecore.acc_current %g : !spikecore.group<2>
  %s = spikecore.fire %g binary @t reset value to @vr refractory 2 unit 1.0 : !spikecore.group<2> -> !spikecore.spikes<2>
  spikecore.probe %g spikes v i : !spikecore.group<2>
  spikecore.probe %g v : !spikecore.group<2>
  spikecore.output %g : !spikecore.group<2>
  spikecore.halt
}

// CHECK:      %in = spikecore.input unit 1.000000e+00 stream : !spikecore.spikes<4>
// CHECK:      spikecore.acc_conv %g, %in, @k conv <in = 1x2x2, out = 2x1x1, kernel = 2x2, stride = 1x1, pad = 0x0, dilation = 1x1, groups = 1> compartment i : !spikecore.group<2>, !spikecore.spikes<4>
// CHECK-NEXT: spikecore.acc %g, %s, @r compartment i delay 1 : !spikecore.group<2>, !spikecore.spikes<2>
// CHECK-NEXT: spikecore.acc_bias %g, @b compartment v : !spikecore.group<2>
// CHECK-NEXT: spikecore.leak %g compartment i decay @du : !spikecore.group<2>
// CHECK-NEXT: spikecore.leak %g decay @dv : !spikecore.group<2>
// CHECK-NEXT: spikecore.leak %g compartment i shift 3 : !spikecore.group<2>
// CHECK-NEXT: spikecore.acc_current %g : !spikecore.group<2>
// CHECK-NEXT: %s = spikecore.fire %g binary @t reset value to @vr refractory 2 unit 1.000000e+00 : !spikecore.group<2> -> !spikecore.spikes<2>
// CHECK-NEXT: spikecore.probe %g spikes v i : !spikecore.group<2>
// CHECK-NEXT: spikecore.probe %g v : !spikecore.group<2>
// CHECK-NEXT: spikecore.output %g : !spikecore.group<2>

// CHECK-GENERIC:      %in = "spikecore.input"() <{unit = 1.000000e+00 : f64, stream}> : () -> !spikecore.spikes<4>
// CHECK-GENERIC:      "spikecore.acc_conv"(%g, %in) <{synapses = @k, conv = #spikecore.conv<in = 1x2x2, out = 2x1x1, kernel = 2x2, stride = 1x1, pad = 0x0, dilation = 1x1, groups = 1>, compartment = #spikecore<compartment i>}> : (!spikecore.group<2>, !spikecore.spikes<4>) -> ()
// CHECK-GENERIC-NEXT: "spikecore.acc"(%g, %s) <{synapses = @r, compartment = #spikecore<compartment i>, delay = 1 : i64}> : (!spikecore.group<2>, !spikecore.spikes<2>) -> ()
// CHECK-GENERIC-NEXT: "spikecore.acc_bias"(%g) <{params = @b, compartment = #spikecore<compartment v>}> : (!spikecore.group<2>) -> ()
// CHECK-GENERIC-NEXT: "spikecore.leak"(%g) <{compartment = #spikecore<compartment i>, decay = @du}> : (!spikecore.group<2>) -> ()
// CHECK-GENERIC-NEXT: "spikecore.leak"(%g) <{decay = @dv}> : (!spikecore.group<2>) -> ()
// CHECK-GENERIC-NEXT: "spikecore.leak"(%g) <{compartment = #spikecore<compartment i>, shift = 3 : i64}> : (!spikecore.group<2>) -> ()
// CHECK-GENERIC-NEXT: "spikecore.acc_current"(%g) : (!spikecore.group<2>) -> ()
// CHECK-GENERIC-NEXT: %s = "spikecore.fire"(%g) <{mode = #spikecore<fire_mode binary>, params = @t, reset = #spikecore<reset value>, reset_values = @vr, refractory = 2 : i64, unit = 1.000000e+00 : f64}> : (!spikecore.group<2>) -> !spikecore.spikes<2>
// CHECK-GENERIC-NEXT: "spikecore.probe"(%g) <{spikes, v, i}> : (!spikecore.group<2>) -> ()
// CHECK-GENERIC-NEXT: "spikecore.probe"(%g) <{v}> : (!spikecore.group<2>) -> ()
