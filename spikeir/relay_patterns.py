"""Seed notebook import path (`spikecore.relay_patterns`): re-exports the Relax pattern table of
spikeir.byoc.patterns (the seed named it for Relay).
"""

from spikeir.byoc.patterns import spikecore_pattern_table

__all__ = ["spikecore_pattern_table"]
