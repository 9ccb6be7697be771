// spikecore-place counts delay buffers (d x len bytes per delayed ACC on a core, docs/isa.md section 1):
// a recurrent group of 4 neurons reading its own 4 spikes with delay 2 needs 4 x 4 weight bytes plus
// 2 x 4 buffer bytes, 24 in all: it fills a 24-byte core exactly and needs two cores at 23 bytes.
// RUN: spike-opt %s -p 'spikecore-place{synapse-bytes=24}' | filecheck %s --check-prefix=FITS
// RUN: spike-opt %s -p 'spikecore-place{synapse-bytes=23}' | filecheck %s --check-prefix=SPLIT
// RUN: spike-opt %s -p 'spikecore-place{synapse-bytes=24}' -t spikecore-asm | filecheck %s --check-prefix=ASM
// RUN: spike-opt %s -p 'spikecore-place{synapse-bytes=23}' -t spikecore-asm | filecheck %s --check-prefix=ASM

spikecore.program @rec target <"small", cores = 4, neurons_per_core = 4, synapse_bytes = 4096, max_fan_in = 16, bus_size = 64> {
  spikecore.synapses @r dense<1> : tensor<4x4xi8>
  spikecore.params @t dense<64> : tensor<4xi32>
  %in = spikecore.input unit 0.5 stream : !spikecore.spikes<4>
  %g = spikecore.group "rec" unit [0.25 : f64] : !spikecore.group<4>
  spikecore.acc %g, %s, @r delay 2 : !spikecore.group<4>, !spikecore.spikes<4>
  %s = spikecore.fire %g binary @t reset zero unit 1.0 : !spikecore.group<4> -> !spikecore.spikes<4>
  spikecore.output %g : !spikecore.group<4>
  spikecore.halt
}

// FITS: placed [#spikecore.slice<core = 0, base = 0, count = 4>]
// SPLIT: placed [#spikecore.slice<core = 0, base = 0, count = 2>, #spikecore.slice<core = 1, base = 0, count = 2>]
// ASM: ACC
