"""SpikeCore as a TVM Relax BYOC target: the pattern table and the `relax.ext.spikecore` codegen."""
