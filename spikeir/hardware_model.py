"""Seed notebook import path (`spikecore.hardware_model`): re-exports the hardware model of
spikeir.chip.hardware_model.
"""

from spikeir.chip.hardware_model import RunStats, SpikeCoreCPU, SpikeEvent

__all__ = ["RunStats", "SpikeCoreCPU", "SpikeEvent"]
