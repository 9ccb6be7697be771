"""spikeir: compile trained PyTorch networks to the SpikeCore neuromorphic processor."""
