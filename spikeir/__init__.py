"""spikeir: compile trained PyTorch networks to the SpikeCore neuromorphic processor.

The names below are the public API (the seed notebook's, plus `compile`). They are imported
lazily, so ``import spikeir`` stays fast and TVM (2+ s to import) loads only when a TVM entry point
is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    # compiler
    "compile": "spikeir.compiler",
    "CompiledModel": "spikeir.compiler",
    "compile_nn_to_spikecore": "spikeir.compiler",
    # machine
    "SpikeCoreCPU": "spikeir.hardware_model",
    "assemble": "spikeir.assembly",
    "disassemble": "spikeir.assembly",
    "encode": "spikeir.binary",
    "decode": "spikeir.binary",
    "Opcode": "spikeir.isa",
    "Program": "spikeir.isa",
    "TargetDescription": "spikeir.target",
    "get_target": "spikeir.target",
    # quantization
    "manual_quantize_weights": "spikeir.quantize",
    "manual_quantize_activations": "spikeir.quantize",
    # TVM Relax BYOC
    "register_spikecore_target": "spikeir.byoc_codegen",
    "partition_for_spikecore": "spikeir.byoc_codegen",
    "spikecore_pattern_table": "spikeir.relay_patterns",
    # figures
    "plot_spike_raster": "spikeir.visualize",
    "plot_compilation_graph": "spikeir.visualize",
    "plot_weight_distribution": "spikeir.visualize",
    "plot_comparison": "spikeir.visualize",
    "plot_accuracy_vs_timesteps": "spikeir.visualize",
    "plot_core_utilisation": "spikeir.visualize",
    # errors
    "SpikeIRError": "spikeir.errors",
}

__all__ = sorted(_EXPORTS)  # pyright: ignore[reportUnsupportedDunderAll]

if TYPE_CHECKING:
    from spikeir.assembly import assemble, disassemble
    from spikeir.binary import decode, encode
    from spikeir.byoc_codegen import partition_for_spikecore, register_spikecore_target
    from spikeir.compiler import CompiledModel, compile, compile_nn_to_spikecore
    from spikeir.errors import SpikeIRError
    from spikeir.hardware_model import SpikeCoreCPU
    from spikeir.isa import Opcode, Program
    from spikeir.quantize import manual_quantize_activations, manual_quantize_weights
    from spikeir.relay_patterns import spikecore_pattern_table
    from spikeir.target import TargetDescription, get_target
    from spikeir.visualize import (
        plot_accuracy_vs_timesteps,
        plot_comparison,
        plot_compilation_graph,
        plot_core_utilisation,
        plot_spike_raster,
        plot_weight_distribution,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'spikeir' has no attribute '{name}'")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
