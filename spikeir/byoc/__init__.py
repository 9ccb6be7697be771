"""SpikeCore as a TVM Relax BYOC target: the pattern table, region calibration and the `relax.ext.spikecore` codegen."""
