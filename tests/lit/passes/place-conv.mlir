// spikecore-place splits a conv group's 2x4x4 map by output channels, or by spatial tiles of each
// channel when one channel does not fit a core; a kernel row counts once per core that holds it.
// RUN: spike-opt %s -p spikecore-place | filecheck %s
// RUN: spike-opt %s -p 'spikecore-place{neurons-per-core=5}' | filecheck %s --check-prefix=TILES
// RUN: not spike-opt %s -p 'spikecore-place{synapse-bytes=40}' 2>&1 | filecheck %s --check-prefix=BYTES
// RUN: not spike-opt %s -p 'spikecore-place{neurons-per-core=5 cores=4}' 2>&1 | filecheck %s --check-prefix=CORES
// RUN: spike-opt %s -p 'spikecore-place{synapse-bytes=49}' | filecheck %s --check-prefix=ONE

spikecore.program @p target <"spikecore-v1", cores = 128, neurons_per_core = 1024, synapse_bytes = 131072, max_fan_in = 16384, bus_size = 262144> {
  spikecore.synapses @k dense<1> : tensor<2x9xi8>
  spikecore.params @m dense<1073741824> : tensor<32xi32>
  %in = spikecore.input unit 1.0 : !spikecore.spikes<36>
  %g = spikecore.group "conv1" unit [1.0 : f64] : !spikecore.group<32>
  spikecore.acc_conv %g, %in, @k conv <in = 1x6x6, out = 2x4x4, kernel = 3x3, stride = 1x1, pad = 0x0, dilation = 1x1, groups = 1> : !spikecore.group<32>, !spikecore.spikes<36>
  spikecore.output %g : !spikecore.group<32>
  spikecore.halt
}

// CHECK: spikecore.group "conv1" unit [1.000000e+00 : f64] placed [#spikecore.slice<core = 0, base = 0, count = 32>]

// 16 positions per channel over tiles of at most 5: 4 tiles of 4, per channel.
// TILES: placed [#spikecore.slice<core = 0, base = 0, count = 4>, #spikecore.slice<core = 1, base = 0, count = 4>, #spikecore.slice<core = 2, base = 0, count = 4>, #spikecore.slice<core = 3, base = 0, count = 4>, #spikecore.slice<core = 4, base = 0, count = 4>, #spikecore.slice<core = 5, base = 0, count = 4>, #spikecore.slice<core = 6, base = 0, count = 4>, #spikecore.slice<core = 7, base = 0, count = 4>]

// One kernel row (9 bytes) and the geometry record (32) do not fit 40 bytes.
// BYTES: place-conv.mlir:13:3: error: conv1: one neuron needs 41 bytes of synaptic memory (its kernel rows, geometry records and fan-in) but target 'spikecore-v1' has 40 per core: use synapse-bytes=41 or more, or reduce the layer's input width or kernel size

// CORES: place-conv.mlir:9:1: error: @p: the network needs 8 cores ("conv1" 8;
// CORES-SAME: but target 'spikecore-v1' has 4; to fit, use a target with >= 8 cores (cores=8) or neurons-per-core=8

// 49 bytes hold one channel (9 + 32 bytes) but not two (18 + 32): one channel per core.
// ONE: placed [#spikecore.slice<core = 0, base = 0, count = 16>, #spikecore.slice<core = 1, base = 0, count = 16>]
