"""Seed notebook import path (`spikecore.quantize`): re-exports the quantization arithmetic of
spikeir.numerics.quantization.
"""

from spikeir.numerics.quantization import manual_quantize_activations, manual_quantize_weights

__all__ = ["manual_quantize_activations", "manual_quantize_weights"]
