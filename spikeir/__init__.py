"""spikeir: compile trained PyTorch networks to the SpikeCore neuromorphic processor.

The names below are the public API (the seed notebook's, plus `compile`). They are imported
lazily, so ``import spikeir`` stays fast and TVM (2+ s to import) loads only when a TVM entry point
is used.

The code is grouped by layer: `spikeir.chip` (target, ISA, assembly, image, hardware model; no xDSL),
`spikeir.ir` (IR <-> numpy, emission, interpreter, host runtime), `spikeir.numerics`
(quantization arithmetic), `spikeir.frontends`, `spikeir.byoc` (TVM Relax), `spikeir.lab`;
`spikeir.dialects`, `spikeir.passes` and `spikeir.tools` come from the repository's top-level
dialects/, passes/ and tools/ folders.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Sequence
from importlib import import_module
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from importlib.util import spec_from_file_location
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any


class _CheckoutFinder(MetaPathFinder):
    """Finds ``spikeir.dialects`` & co. in a checkout, where they are top-level folders.

    Installed, setuptools maps them into the package (pyproject's ``package-dir``). From a clone's
    root, though, ``import spikeir`` finds the source folder first, which has no ``dialects/``: this
    finder maps exactly those subpackages to their folders, so scripts, notebooks and
    ``python -m pytest`` work there, and a new file in passes/ is seen without reinstalling.
    """

    def __init__(self, folders: dict[str, Path]) -> None:
        self._folders = folders

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        folder = self._folders.get(fullname)
        if folder is None:
            return None
        return spec_from_file_location(fullname, folder / "__init__.py", submodule_search_locations=[str(folder)])


def _checkout_folders() -> dict[str, Path]:
    """The subpackages pyproject.toml maps from folders outside spikeir/, when this is a checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}  # an installed copy: setuptools did the mapping
    if project.get("project", {}).get("name") != "spikeir":
        return {}
    package_dir: dict[str, str] = project.get("tool", {}).get("setuptools", {}).get("package-dir", {})
    return {
        name: root / folder
        for name, folder in package_dir.items()
        if name.startswith("spikeir.") and (root / folder / "__init__.py").is_file()
    }


if not any(isinstance(finder, _CheckoutFinder) for finder in sys.meta_path):
    # first: an editable install's finder would map these names to the installed checkout, not this one
    sys.meta_path.insert(0, _CheckoutFinder(_checkout_folders()))

_EXPORTS: dict[str, str] = {
    # compiler
    "compile": "spikeir.compiler",
    "CompiledModel": "spikeir.compiler",
    "compile_nn_to_spikecore": "spikeir.compiler",
    "CompileOptions": "spikeir.options",
    # machine
    "SpikeCoreCPU": "spikeir.chip.hardware_model",
    "assemble": "spikeir.chip.assembly",
    "disassemble": "spikeir.chip.assembly",
    "encode": "spikeir.chip.image",
    "decode": "spikeir.chip.image",
    "Opcode": "spikeir.chip.isa",
    "Program": "spikeir.chip.isa",
    "TargetDescription": "spikeir.chip.target",
    "get_target": "spikeir.chip.target",
    # quantization
    "manual_quantize_weights": "spikeir.numerics.quantization",
    "manual_quantize_activations": "spikeir.numerics.quantization",
    # native SNNs and NIR
    "from_nir": "spikeir.frontends.nir",
    "to_nir": "spikeir.frontends.nir_export",
    "CompiledSNN": "spikeir.snn",
    # design-space sweeps
    "run_sweep": "spikeir.sweep.runner",
    "evaluate": "spikeir.sweep.evaluate",
    # TVM Relax BYOC
    "register_spikecore_target": "spikeir.byoc.codegen",
    "partition_for_spikecore": "spikeir.byoc.codegen",
    "spikecore_pattern_table": "spikeir.byoc.patterns",
    # figures
    "plot_spike_raster": "spikeir.lab.figures",
    "plot_compilation_graph": "spikeir.lab.figures",
    "plot_weight_distribution": "spikeir.lab.figures",
    "plot_comparison": "spikeir.lab.figures",
    "plot_accuracy_vs_timesteps": "spikeir.lab.figures",
    "plot_core_utilisation": "spikeir.lab.figures",
    # errors
    "SpikeIRError": "spikeir.errors",
}

__all__ = sorted(_EXPORTS)  # pyright: ignore[reportUnsupportedDunderAll]

if TYPE_CHECKING:
    from spikeir.byoc.codegen import partition_for_spikecore, register_spikecore_target
    from spikeir.byoc.patterns import spikecore_pattern_table
    from spikeir.chip.assembly import assemble, disassemble
    from spikeir.chip.hardware_model import SpikeCoreCPU
    from spikeir.chip.image import decode, encode
    from spikeir.chip.isa import Opcode, Program
    from spikeir.chip.target import TargetDescription, get_target
    from spikeir.compiler import CompiledModel, compile, compile_nn_to_spikecore
    from spikeir.errors import SpikeIRError
    from spikeir.frontends.nir import from_nir
    from spikeir.frontends.nir_export import to_nir
    from spikeir.lab.figures import (
        plot_accuracy_vs_timesteps,
        plot_comparison,
        plot_compilation_graph,
        plot_core_utilisation,
        plot_spike_raster,
        plot_weight_distribution,
    )
    from spikeir.numerics.quantization import manual_quantize_activations, manual_quantize_weights
    from spikeir.options import CompileOptions
    from spikeir.snn import CompiledSNN
    from spikeir.sweep.evaluate import evaluate
    from spikeir.sweep.runner import run_sweep


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'spikeir' has no attribute '{name}'")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
