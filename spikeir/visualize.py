"""Seed notebook import path (`spikecore.visualize`): re-exports the figures of
spikeir.lab.figures.
"""

from spikeir.lab.figures import (
    plot_accuracy_vs_timesteps,
    plot_comparison,
    plot_compilation_graph,
    plot_core_utilisation,
    plot_spike_raster,
    plot_weight_distribution,
)

__all__ = [
    "plot_accuracy_vs_timesteps",
    "plot_comparison",
    "plot_compilation_graph",
    "plot_core_utilisation",
    "plot_spike_raster",
    "plot_weight_distribution",
]
