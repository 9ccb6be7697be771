"""Quantization arithmetic shared by the passes, the interpreter and the host: scales, int8
rounding, int32 biases, multiplier+shift requantization (docs/quantization.md)."""
