"""spikeir's passes, registered by name in one place.

Each pass lives in its own module (``passes/<pass_name>.py``, dashes become underscores) and is
loaded lazily, so `spike-opt --help` and `xdsl-opt` start fast. Modules that are not passes:
``diagnostics`` (errors and remarks of every pass).
"""

from collections.abc import Callable
from importlib import import_module

from xdsl.passes import ModulePass

# pass name -> (module in spikeir.passes, class name). Every name says whose it is (a spikeir dialect,
# spikecore or snn in it), so it cannot clash with a pass xDSL adds to the shared registry later.
_PASSES: dict[str, tuple[str, str]] = {
    "nn-fold-reshapes": ("nn_fold_reshapes", "NnFoldReshapesPass"),
    "nn-fuse-dense": ("fuse_dense", "FuseDensePass"),
    "partition-for-spikecore": ("partition_for_spikecore", "PartitionForSpikeCorePass"),
    "spikecore-quantize": ("quantize", "QuantizePass"),
    "lower-quant-to-spikecore": ("lower_quant_to_spikecore", "LowerQuantToSpikeCorePass"),
    "convert-to-snn": ("convert_to_snn", "ConvertToSnnPass"),
    "spikecore-place": ("place", "PlacePass"),
    "spikecore-pipeline": ("spikecore_pipeline", "SpikeCorePipelinePass"),
}

RENAMED: dict[str, str] = {"fuse-dense": "nn-fuse-dense", "quantize": "spikecore-quantize", "place": "spikecore-place"}
"""Old pass name -> new. Not registered (xdsl-opt and spike-opt do not know the old names); only a
lookup by an old name in :func:`get_all_passes`' dict still finds the pass, for code being migrated."""


class _Registry(dict[str, Callable[[], type[ModulePass]]]):
    """The registry dict; a lookup by a renamed pass's old name finds it (iteration does not list it)."""

    def __missing__(self, name: str) -> Callable[[], type[ModulePass]]:
        if name in RENAMED:
            return self[RENAMED[name]]
        raise KeyError(name)


def _loader(module: str, cls: str) -> Callable[[], type[ModulePass]]:
    def load() -> type[ModulePass]:
        return getattr(import_module(f"spikeir.passes.{module}"), cls)

    return load


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Lazy loaders by pass name, in the form xDSL's Universe expects."""
    return _Registry({name: _loader(module, cls) for name, (module, cls) in _PASSES.items()})
