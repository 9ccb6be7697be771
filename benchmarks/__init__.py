"""Benchmarks of spikeir, installed as `spikeir.benchmarks`: run them all with ``spikeir bench`` (``make bench``).

`compile_time` measures `spikeir.compile` per stage on MLPs up to 4M weights and its peak memory;
`hardware` measures the hardware model against the float32 BLAS limit and float PyTorch.
"""
