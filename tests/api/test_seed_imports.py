"""The seed notebook's imports, with its `spikecore.*` modules spelled `spikeir.*`, resolve to the real API."""

from __future__ import annotations

import importlib

import pytest

import spikeir

SEED_IMPORTS = {
    "spikeir.hardware_model": ["SpikeCoreCPU"],
    "spikeir.assembly": ["assemble", "disassemble", "Opcode"],
    "spikeir.byoc_codegen": ["compile_nn_to_spikecore", "register_spikecore_target", "partition_for_spikecore"],
    "spikeir.quantize": ["manual_quantize_weights", "manual_quantize_activations"],
    "spikeir.visualize": ["plot_spike_raster", "plot_compilation_graph", "plot_weight_distribution", "plot_comparison"],
    "spikeir.relay_patterns": ["spikecore_pattern_table"],
}


@pytest.mark.parametrize("module", sorted(SEED_IMPORTS))
def test_seed_module_exports_what_the_seed_imports(module: str) -> None:
    loaded = importlib.import_module(module)
    for name in SEED_IMPORTS[module]:
        assert getattr(loaded, name) is getattr(spikeir, name), f"{module}.{name}"
